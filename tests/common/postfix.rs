//! A private Postfix instance for a test, in front of `sealpost filter smtp` as docs/deploy/postfix.md says.
//!
//! Everything lives in one directory, `/tmp/sp-pf-<pid>-<n>`: its own
//! config_directory (`conf/`), queue_directory (`spool/`), data_directory (`data/`), log (`maillog`) and
//! mailbox (`mail/maildir/`). `postfix -c DIR start` runs it as root beside any system Postfix: the
//! `postfix` command, run by root, needs no `alternate_config_directories` entry in /etc/postfix/main.cf
//! (only the set-gid `postdrop` and `postqueue` do, for other users), and nothing is shared with the
//! default instance but the read-only programs and `/etc/postfix/postfix-files`. It listens on 127.0.0.1
//! only, on free ports:
//!
//! - `smtp_port`: the client-facing smtpd; main.cf's `content_filter` sends every message to sealpost at
//!   `filter_port` (the `sealpost` transport of the doc);
//! - `reinject_port`: the doc's re-injection smtpd, sealpost's next hop.
//!
//! Re-injected mail, for any domain, is delivered by virtual(8) into a single Maildir, as user `nobody`
//! (virtual refuses root; `nobody` exists on every Debian system), read back by [`Postfix::deliveries`]
//! with the recipient from the `Delivered-To` field virtual(8) adds. A local Maildir rather than a relay
//! to the aiosmtpd sink: Postfix alone (no Python), a real final delivery, and a mailbox the test reads
//! without races (virtual writes to `tmp/` and renames into `new/`).
//!
//! The two blocks of docs/deploy/postfix.md marked `<!-- test-config: main.cf ... -->` and
//! `<!-- test-config: master.cf ... -->` are used verbatim, with the ports 10025 and 10026 replaced: the
//! tested configuration is the documented one.

use std::fs;
use std::net::SocketAddr;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use super::smtp::{free_port, unavailable};

/// The deployment guide, whose marked blocks configure the instance (read when an instance starts, so the
/// other test binaries that share this module do not depend on it).
const DOC: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/deploy/postfix.md");

/// A fenced block of the deployment guide: the one after the `<!-- test-config: NAME` marker.
pub fn doc_block(name: &str) -> String {
    let doc = fs::read_to_string(DOC).unwrap_or_else(|e| panic!("cannot read {DOC}: {e}"));
    let marker = format!("<!-- test-config: {name}");
    let at = doc.find(&marker).unwrap_or_else(|| panic!("docs/deploy/postfix.md has no {marker:?} marker"));
    let mut lines = doc[at..].lines().skip(1);
    let fence = lines.next().unwrap_or_default();
    assert!(fence.starts_with("```"), "docs/deploy/postfix.md: {marker:?} is not followed by a ``` block");
    let mut block = String::new();
    for line in lines {
        if line.starts_with("```") {
            return block;
        }
        block.push_str(line);
        block.push('\n');
    }
    panic!("docs/deploy/postfix.md: the block after {marker:?} is not closed");
}

/// Replaces `from` (which must occur) with `to`.
fn replace_port(text: &str, from: &str, to: &str) -> String {
    assert!(text.contains(from), "the documented block no longer contains {from}:\n{text}");
    text.replace(from, to)
}

/// The user virtual(8) delivers as: `nobody`'s uid and gid.
fn nobody() -> (u32, u32) {
    fs::read_to_string("/etc/passwd")
        .unwrap_or_default()
        .lines()
        .find_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            (f.len() > 3 && f[0] == "nobody").then(|| Some((f[2].parse().ok()?, f[3].parse().ok()?))).flatten()
        })
        .unwrap_or((65534, 65534))
}

/// `postfix`, on PATH or in /usr/sbin (not on a normal user's PATH).
fn postfix_bin() -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/sbin"), PathBuf::from("/usr/local/sbin")])
        .map(|d| d.join("postfix"))
        .find(|p| p.is_file())
}

/// A message delivered to the test mailbox.
#[derive(Clone, Debug)]
pub struct Delivery {
    /// The recipient, from the `Delivered-To` field.
    pub recipient: String,
    /// The message as stored (LF line ends: Postfix stores and delivers lines without CR), starting with
    /// the `Return-Path`, `X-Original-To` and `Delivered-To` fields virtual(8) adds.
    pub data: Vec<u8>,
}

impl Delivery {
    /// The message as (lossy) text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.data).into_owned()
    }
}

/// A running private Postfix; stopped (and its directory removed, unless the test failed) on drop.
pub struct Postfix {
    bin: PathBuf,
    dir: PathBuf,
    smtp_port: u16,
    reinject_port: u16,
    filter_port: u16,
}

impl Postfix {
    /// Starts an instance whose content filter is 127.0.0.1:`filter_port`. `None` (with a printed reason)
    /// when Postfix is not installed or this is not root (the master must start as root); under
    /// `SEALPOST_REQUIRE_PEERS=1` those panic. A Postfix that is there but does not start panics, with its log.
    pub fn start(test: &str, filter_port: u16) -> Option<Postfix> {
        let Some(bin) = postfix_bin() else {
            return unavailable(test, "Postfix is not installed (Debian: postfix)");
        };
        if !rustix::process::geteuid().is_root() {
            return unavailable(test, "a Postfix instance needs root (its master starts as root)");
        }
        static INSTANCES: AtomicUsize = AtomicUsize::new(0);
        let n = INSTANCES.fetch_add(1, Ordering::Relaxed);
        // /tmp, not $TMPDIR: every parent directory must be searchable by `postfix` and `nobody`.
        let dir = Path::new("/tmp").join(format!("sp-pf-{}-{n}", std::process::id()));
        // Free ports are picked, not fixed; if another process takes one in the meantime, the master
        // cannot bind it and the start is retried with new ones.
        let mut last = String::new();
        for _ in 0..4 {
            let pf = Postfix {
                bin: bin.clone(),
                dir: dir.clone(),
                smtp_port: free_port(),
                reinject_port: free_port(),
                filter_port,
            };
            if pf.smtp_port == pf.reinject_port || pf.smtp_port == filter_port || pf.reinject_port == filter_port {
                continue;
            }
            pf.configure();
            let out = Command::new(&pf.bin).arg("-c").arg(pf.conf()).arg("start").output().unwrap();
            if out.status.success() {
                return Some(pf);
            }
            last = format!(
                "postfix -c {} start: {}\n{}{}\nmaillog:\n{}",
                pf.conf().display(),
                out.status,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr),
                pf.log()
            );
            let in_use = last.contains("in use");
            pf.shut_down();
            if !in_use {
                break;
            }
        }
        panic!("{test}: Postfix did not start: {last}");
    }

    fn conf(&self) -> PathBuf {
        self.dir.join("conf")
    }

    /// Writes main.cf and master.cf (the instance's own settings, then the documented blocks) into a fresh
    /// directory. The data directory is left to `postfix start` (post-install creates it owned by postfix).
    fn configure(&self) {
        let d = &self.dir;
        let _ = fs::remove_dir_all(d);
        for sub in ["conf", "spool", "mail"] {
            fs::create_dir_all(d.join(sub)).unwrap();
        }
        fs::set_permissions(d, fs::Permissions::from_mode(0o755)).unwrap();
        let (uid, gid) = nobody();
        std::os::unix::fs::chown(d.join("mail"), Some(uid), Some(gid)).unwrap();
        let dir = d.display();
        let main = format!(
            "# This instance: its own directories, loopback only, no DNS, quick retries, one Maildir for all.\n\
             compatibility_level = 3.6\n\
             queue_directory = {dir}/spool\n\
             data_directory = {dir}/data\n\
             syslog_name = postfix-sealpost-test\n\
             maillog_file = {dir}/maillog\n\
             maillog_file_prefixes = {dir}\n\
             inet_interfaces = 127.0.0.1\n\
             inet_protocols = ipv4\n\
             myhostname = mx.example.org\n\
             mydomain = example.org\n\
             mydestination =\n\
             local_recipient_maps =\n\
             alias_maps =\n\
             alias_database =\n\
             relay_domains =\n\
             mynetworks = 127.0.0.0/8\n\
             smtpd_relay_restrictions = permit_mynetworks, reject\n\
             virtual_mailbox_domains = static:all\n\
             virtual_mailbox_base = {dir}/mail\n\
             virtual_mailbox_maps = static:maildir/\n\
             virtual_uid_maps = static:{uid}\n\
             virtual_gid_maps = static:{gid}\n\
             smtp_dns_support_level = disabled\n\
             smtpd_tls_security_level = none\n\
             smtp_tls_security_level = none\n\
             queue_run_delay = 1s\n\
             minimal_backoff_time = 1s\n\
             maximal_backoff_time = 2s\n\
             biff = no\n\
             \n# docs/deploy/postfix.md\n{}",
            replace_port(&doc_block("main.cf"), "127.0.0.1]:10025", &format!("127.0.0.1]:{}", self.filter_port))
        );
        fs::write(d.join("conf/main.cf"), main).unwrap();
        // Debian's master.cf services, none chrooted (a chroot would need copies of /etc files).
        let master = format!(
            "127.0.0.1:{} inet n - n - - smtpd\n\
             pickup    unix  n       -       n       60      1       pickup\n\
             cleanup   unix  n       -       n       -       0       cleanup\n\
             qmgr      unix  n       -       n       300     1       qmgr\n\
             rewrite   unix  -       -       n       -       -       trivial-rewrite\n\
             bounce    unix  -       -       n       -       0       bounce\n\
             defer     unix  -       -       n       -       0       bounce\n\
             trace     unix  -       -       n       -       0       bounce\n\
             verify    unix  -       -       n       -       1       verify\n\
             flush     unix  n       -       n       1000?   0       flush\n\
             proxymap  unix  -       -       n       -       -       proxymap\n\
             proxywrite unix -       -       n       -       1       proxymap\n\
             smtp      unix  -       -       n       -       -       smtp\n\
             relay     unix  -       -       n       -       -       smtp\n\
             showq     unix  n       -       n       -       -       showq\n\
             error     unix  -       -       n       -       -       error\n\
             retry     unix  -       -       n       -       -       error\n\
             discard   unix  -       -       n       -       -       discard\n\
             local     unix  -       n       n       -       -       local\n\
             virtual   unix  -       n       n       -       -       virtual\n\
             anvil     unix  -       -       n       -       1       anvil\n\
             scache    unix  -       -       n       -       1       scache\n\
             postlog   unix-dgram n  -       n       -       1       postlogd\n\
             \n# docs/deploy/postfix.md\n{}",
            self.smtp_port,
            replace_port(&doc_block("master.cf"), "127.0.0.1:10026 ", &format!("127.0.0.1:{} ", self.reinject_port))
        );
        fs::write(d.join("conf/master.cf"), master).unwrap();
    }

    /// The client-facing smtpd's port.
    pub fn smtp_port(&self) -> u16 {
        self.smtp_port
    }

    /// 127.0.0.1:[`Postfix::smtp_port`].
    pub fn smtp_addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.smtp_port))
    }

    /// The re-injection smtpd's port: sealpost's relay.
    pub fn reinject_port(&self) -> u16 {
        self.reinject_port
    }

    /// The instance's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The instance's log so far.
    pub fn log(&self) -> String {
        fs::read_to_string(self.dir.join("maillog")).unwrap_or_default()
    }

    /// Makes the queue manager retry deferred mail now (`postqueue -f`).
    pub fn flush(&self) {
        let out = Command::new(self.bin.with_file_name("postqueue")).arg("-c").arg(self.conf()).arg("-f").output();
        assert!(out.as_ref().is_ok_and(|o| o.status.success()), "postqueue -f: {out:?}");
    }

    /// The queue listing (`postqueue -p`), for failure messages.
    pub fn queue(&self) -> String {
        Command::new(self.bin.with_file_name("postqueue"))
            .arg("-c")
            .arg(self.conf())
            .arg("-p")
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default()
    }

    /// Every message delivered so far, in delivery order.
    pub fn deliveries(&self) -> Vec<Delivery> {
        let new = self.dir.join("mail/maildir/new");
        let mut files: Vec<((u64, u64), PathBuf)> = fs::read_dir(&new)
            .map(|rd| {
                rd.filter_map(|e| {
                    let path = e.ok()?.path();
                    // Maildir names are "<seconds>.V<dev>I<inode>M<microseconds>.<host>".
                    let name = path.file_name()?.to_str()?.to_string();
                    let mut parts = name.split('.');
                    let secs = parts.next()?.parse().ok()?;
                    let micros = parts.next()?.rsplit_once('M')?.1.parse().ok()?;
                    Some(((secs, micros), path))
                })
                .collect()
            })
            .unwrap_or_default();
        files.sort();
        files
            .into_iter()
            .map(|(_, path)| {
                let data = fs::read(&path).unwrap();
                let text = String::from_utf8_lossy(&data);
                let recipient = text
                    .lines()
                    .take_while(|l| !l.is_empty())
                    .find_map(|l| l.strip_prefix("Delivered-To: "))
                    .unwrap_or_default()
                    .to_string();
                Delivery { recipient, data }
            })
            .collect()
    }

    /// Waits until at least `n` messages were delivered and returns them all, in delivery order; panics
    /// on timeout with the queue and the log.
    pub fn wait_for_delivery(&self, n: usize, timeout: Duration) -> Vec<Vec<u8>> {
        self.wait_for_deliveries(n, timeout).into_iter().map(|d| d.data).collect()
    }

    /// [`Postfix::wait_for_delivery`] with the recipients.
    pub fn wait_for_deliveries(&self, n: usize, timeout: Duration) -> Vec<Delivery> {
        let end = Instant::now() + timeout;
        loop {
            let got = self.deliveries();
            if got.len() >= n {
                return got;
            }
            if Instant::now() >= end {
                panic!(
                    "Postfix delivered {} of {n} messages in {timeout:?}\nqueue:\n{}\nmaillog ({}):\n{}",
                    got.len(),
                    self.queue(),
                    self.dir.join("maillog").display(),
                    self.log()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The master's pid, from its pid file.
    fn master_pid(&self) -> Option<i32> {
        fs::read_to_string(self.dir.join("spool/pid/master.pid")).ok()?.trim().parse().ok()
    }

    /// `postfix stop`, then waits for the master to go, then kills whatever of this instance is left (the
    /// processes whose MAIL_CONFIG is this instance's conf directory, the master passes it to each child).
    fn shut_down(&self) {
        let master = self.master_pid();
        let _ = Command::new(&self.bin).arg("-c").arg(self.conf()).arg("stop").output();
        let end = Instant::now() + Duration::from_secs(5);
        while let Some(pid) = master {
            if !Path::new(&format!("/proc/{pid}")).exists() || is_zombie(pid) || Instant::now() >= end {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let ours = format!("MAIL_CONFIG={}", self.conf().display());
        for entry in fs::read_dir("/proc").into_iter().flatten().flatten() {
            let Some(pid) = entry.file_name().to_str().and_then(|s| s.parse::<i32>().ok()) else { continue };
            let env = fs::read(entry.path().join("environ")).unwrap_or_default();
            if env.split(|&b| b == 0).any(|v| v == ours.as_bytes())
                && let Some(pid) = rustix::process::Pid::from_raw(pid)
            {
                let _ = rustix::process::kill_process(pid, rustix::process::Signal::KILL);
            }
        }
    }
}

/// True when the process has exited but not been reaped (its parent is init, which may reap late).
fn is_zombie(pid: i32) -> bool {
    fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| s.rsplit_once(')').map(|(_, rest)| rest.trim_start().starts_with('Z')))
        .unwrap_or(true)
}

impl Drop for Postfix {
    fn drop(&mut self) {
        self.shut_down();
        if std::thread::panicking() {
            eprintln!("Postfix instance kept in {} (log: maillog)", self.dir.display());
        } else {
            let _ = fs::remove_dir_all(&self.dir);
        }
    }
}
