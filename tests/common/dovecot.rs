//! A private Dovecot (IMAP and POP3) for a test: the upstream server of `sealpost filter imap` / `pop3`.
//!
//! Everything lives in one directory, `/tmp/sp-dc-<pid>-<n>` (every parent must be searchable by the mail
//! user and Dovecot's own users, hence /tmp rather than the target directory):
//!
//! - `dovecot.conf`: the whole configuration, nothing included from /etc/dovecot; started with
//!   `dovecot -c FILE`, so a system Dovecot (if any) is neither read nor disturbed;
//! - `run/` (`base_dir`: sockets, `master.pid`), `state/` (`state_dir`), `dovecot.log` (every log line);
//! - `users`: the passwd-file (`user:{PLAIN}password`), users `bob@example.org` and `carol@example.org`
//!   with password [`PASSWORD`] unless [`Dovecot::start_with_users`] says otherwise;
//! - `mail/<user>/Maildir/`: each user's INBOX (`mail_location = maildir:~/Maildir`, home `mail/<user>`).
//!
//! It listens on two free ports of 127.0.0.1 and nothing else: `imap` and `pop3` (the `imaps` and `pop3s`
//! listeners have port 0, `ssl = no`; every other service has unix sockets in `run/` only).
//! [`Dovecot::start_tls`] adds TLS: `tls/` holds a CA made for the instance (`ca.pem`) and the server's
//! certificate it signed (`server.pem`, `server.key`: EC P-256, SAN `IP:127.0.0.1` and `DNS:localhost`), made
//! with `openssl`; `ssl = yes` with them, so the plain ports offer STARTTLS / STLS, and the `imaps` and
//! `pop3s` listeners get two more free ports ([`Dovecot::imaps_addr`], [`Dovecot::pop3s_addr`]). Plaintext
//! LOGIN / USER+PASS / AUTH PLAIN are allowed (`disable_plaintext_auth = no`; Dovecot also counts loopback
//! as secured). The auth failure delay and the anvil auth penalty are off, so tests of wrong passwords
//! answer at once, and the per-user connection limit is raised for proxy tests with many sessions.
//!
//! As root (the CI container), the processes run as the package's design has it: the master as root,
//! `auth`/`stats`/... as `dovecot`, the login processes as `dovenull` chrooted in `run/login`, and the
//! mail processes as `nobody:nogroup` (the static userdb's uid and gid; Dovecot refuses uid 0 as a mail
//! user, and `nobody` exists on every Debian system and is above `first_valid_uid = 500`). The Maildirs are
//! created owned by that user, and [`Dovecot::deliver`] gives it each message file. As another user, the
//! whole instance runs as that user (internal and login users set to it, no chroot), which Dovecot
//! supports without privileges; the ports are above 1024 anyway.
//!
//! [`Dovecot::deliver`] writes a message straight into the Maildir, as a local delivery agent would:
//! written in `tmp/`, then renamed into `new/` with a standard unique name,
//! `<secs>.M<usecs>P<pid>Q<n>.sealpost-test,S=<size>`. The bytes are stored as given, CRLF or LF: Dovecot
//! serves a CRLF file byte for byte, and turns each bare LF into CRLF on output (its RFC822.SIZE and POP3
//! sizes count CRLF line ends). Dovecot assigns UIDs to new files in the order of the time stamp in their
//! names, and the stamps of one instance strictly increase, so message numbers follow delivery order.
//!
//! [`imap_fetch_all`] and [`pop3_retr_all`] read a mailbox with Python's imaplib and poplib
//! (`/usr/bin/python3`), an independent client, through Dovecot or through a proxy in front of it.
//!
//! What Dovecot (2.3.19, Debian 12) does with unusual stored bytes, for tests that compare them: a NUL is
//! served as 0x80 in `BODY[]` (as NUL in `BINARY[]`, a `~{n}` literal, and in POP3 RETR); a bare CR stays;
//! a message without a final line end is served so by IMAP, and POP3 RETR adds a CRLF before the closing
//! dot that its LIST size does not count. POP3 RETR sets `\Seen`. The daemon keeps the stdout and stderr it
//! was started with, so `dovecot -c FILE` writes to a file here, not to a pipe read to its end (that waits
//! until the instance stops).

use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use super::smtp::{SYSTEM_PYTHON, free_port, unavailable};

/// The password of the default users.
pub const PASSWORD: &str = "secret";

/// The default users, each with [`PASSWORD`].
pub const USERS: [&str; 2] = ["bob@example.org", "carol@example.org"];

/// The host part of the Maildir file names [`Dovecot::deliver`] writes.
const MAILDIR_HOST: &str = "sealpost-test";

/// How long the instance may take to greet on both ports, and to stop.
const START_TIMEOUT: Duration = Duration::from_secs(20);
const STOP_TIMEOUT: Duration = Duration::from_secs(5);

/// A `/etc/passwd` or `/etc/group` entry: (name, id, primary gid) of the first line `pick` accepts.
fn db_entry(file: &str, pick: impl Fn(&str, u32) -> bool) -> Option<(String, u32, u32)> {
    fs::read_to_string(file).ok()?.lines().find_map(|l| {
        let f: Vec<&str> = l.split(':').collect();
        let id: u32 = f.get(2)?.parse().ok()?;
        let gid: u32 = f.get(3).and_then(|g| g.parse().ok()).unwrap_or(id);
        pick(f[0], id).then(|| (f[0].to_string(), id, gid))
    })
}

/// `dovecot`, on PATH or in /usr/sbin (not on a normal user's PATH).
fn dovecot_bin() -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/sbin"), PathBuf::from("/usr/local/sbin")])
        .map(|d| d.join("dovecot"))
        .find(|p| p.is_file())
}

/// Why the IMAP and POP3 servers cannot run, if they cannot: their programs are in Dovecot's libexec
/// directory (Debian: /usr/lib/dovecot, from dovecot-imapd and dovecot-pop3d; dovecot-core has neither).
fn protocols_missing() -> Option<String> {
    let dirs = ["/usr/lib/dovecot", "/usr/libexec/dovecot"];
    let Some(dir) = dirs.iter().map(Path::new).find(|d| d.join("anvil").is_file()) else {
        return Some(format!("Dovecot's programs are not in {}", dirs.join(" or ")));
    };
    let missing: Vec<String> = [("imap", "dovecot-imapd"), ("pop3", "dovecot-pop3d")]
        .iter()
        .filter(|(prog, _)| !dir.join(prog).is_file() || !dir.join(format!("{prog}-login")).is_file())
        .map(|(prog, pkg)| format!("{} (Debian: {pkg})", dir.join(prog).display()))
        .collect();
    (!missing.is_empty()).then(|| format!("Dovecot is installed without {}", missing.join(" and ")))
}

/// Who runs what, by the user the tests run as.
struct Identity {
    /// Extra settings for a master that is not root (empty for root).
    settings: String,
    /// The mail user: owns the Maildirs, and the static userdb gives it to every user.
    uid: u32,
    gid: u32,
}

impl Identity {
    fn find() -> Result<Identity, String> {
        let euid = rustix::process::geteuid().as_raw();
        if euid == 0 {
            // The package's dovecot and dovenull run auth and the login processes (Dovecot's defaults).
            for user in ["dovecot", "dovenull"] {
                if db_entry("/etc/passwd", |n, _| n == user).is_none() {
                    return Err(format!("there is no `{user}` user (the dovecot-core package creates it)"));
                }
            }
            let (_, uid, gid) =
                db_entry("/etc/passwd", |n, _| n == "nobody").unwrap_or(("nobody".into(), 65534, 65534));
            return Ok(Identity { settings: String::new(), uid, gid });
        }
        let (user, uid, gid) = db_entry("/etc/passwd", |_, id| id == euid)
            .ok_or_else(|| format!("uid {euid} has no /etc/passwd entry (Dovecot needs user names)"))?;
        let (group, _, _) = db_entry("/etc/group", |_, id| id == gid)
            .ok_or_else(|| format!("gid {gid} has no /etc/group entry (Dovecot needs group names)"))?;
        // Everything as this user; chroot needs root, so the services that chroot by default do not.
        let settings = format!(
            "# Not root: every process runs as {user}, nothing chroots.\n\
             default_internal_user = {user}\n\
             default_internal_group = {group}\n\
             default_login_user = {user}\n\
             service anvil {{\n  chroot =\n}}\n\
             service imap-login {{\n  chroot =\n}}\n\
             service pop3-login {{\n  chroot =\n}}\n"
        );
        Ok(Identity { settings, uid, gid })
    }
}

/// A running private Dovecot; stopped (and its directory removed, unless the test failed) on drop.
pub struct Dovecot {
    bin: PathBuf,
    dir: PathBuf,
    instance: String,
    imap_port: u16,
    pop3_port: u16,
    /// With TLS ([`Dovecot::start_tls`]): the `openssl` program and the imaps and pop3s ports.
    tls: Option<(PathBuf, u16, u16)>,
    users: Vec<(String, String)>,
    uid: u32,
    gid: u32,
    /// The master's pid, once it started.
    master: Option<i32>,
    /// The (seconds, microseconds) of the last Maildir name, so the next one is later.
    last_stamp: Mutex<(u64, u32)>,
    deliveries: AtomicUsize,
}

impl Dovecot {
    /// Starts an instance with users [`USERS`], password [`PASSWORD`]. `None` (with a printed reason) when
    /// Dovecot's IMAP or POP3 server is not installed; under `SEALPOST_REQUIRE_PEERS=1` that panics. A
    /// Dovecot that is there but does not start panics, with its log.
    pub fn start(test: &str) -> Option<Dovecot> {
        let users: Vec<(&str, &str)> = USERS.iter().map(|u| (*u, PASSWORD)).collect();
        Dovecot::start_with_users(test, &users)
    }

    /// [`Dovecot::start`] with these users and passwords (no `:` or line ends in either; a user name is
    /// also a directory name).
    pub fn start_with_users(test: &str, users: &[(&str, &str)]) -> Option<Dovecot> {
        Dovecot::start_inner(test, users, None)
    }

    /// [`Dovecot::start`] with TLS: STARTTLS on the IMAP port and STLS on the POP3 port, and IMAPS and
    /// POP3S listeners, with a server certificate for 127.0.0.1 and localhost signed by
    /// [`Dovecot::ca_file`]. `None` (with a printed reason) also when `openssl` is not installed.
    pub fn start_tls(test: &str) -> Option<Dovecot> {
        let openssl = super::peer(test, "openssl")?;
        let users: Vec<(&str, &str)> = USERS.iter().map(|u| (*u, PASSWORD)).collect();
        Dovecot::start_inner(test, &users, Some(openssl))
    }

    fn start_inner(test: &str, users: &[(&str, &str)], openssl: Option<PathBuf>) -> Option<Dovecot> {
        let Some(bin) = dovecot_bin() else {
            return unavailable(test, "Dovecot is not installed (Debian: dovecot-imapd and dovecot-pop3d)");
        };
        if let Some(reason) = protocols_missing() {
            return unavailable(test, &reason);
        }
        let who = match Identity::find() {
            Ok(who) => who,
            Err(reason) => return unavailable(test, &format!("cannot run a private Dovecot: {reason}")),
        };
        for (user, password) in users {
            assert!(
                !user.is_empty() && !user.contains([':', '/', '\n', '\r']) && !password.contains([':', '\n', '\r']),
                "unusable Dovecot user or password: {user:?} / {password:?}"
            );
        }
        static INSTANCES: AtomicUsize = AtomicUsize::new(0);
        let instance = format!("sp-dc-{}-{}", std::process::id(), INSTANCES.fetch_add(1, Ordering::Relaxed));
        let dir = Path::new("/tmp").join(&instance);
        // Free ports are picked, not fixed; if another process takes one in the meantime, the master
        // cannot bind it (it binds before it forks, and says "Address already in use") and the start is
        // retried with new ones.
        let mut last = String::new();
        for _ in 0..4 {
            let mut dc = Dovecot {
                bin: bin.clone(),
                dir: dir.clone(),
                instance: instance.clone(),
                imap_port: free_port(),
                pop3_port: free_port(),
                tls: openssl.as_ref().map(|o| (o.clone(), free_port(), free_port())),
                users: users.iter().map(|(u, p)| (u.to_string(), p.to_string())).collect(),
                uid: who.uid,
                gid: who.gid,
                master: None,
                last_stamp: Mutex::new((0, 0)),
                deliveries: AtomicUsize::new(0),
            };
            let mut ports = vec![dc.imap_port, dc.pop3_port];
            ports.extend(dc.tls.iter().flat_map(|(_, imaps, pop3s)| [*imaps, *pop3s]));
            ports.sort_unstable();
            ports.dedup();
            if ports.len() != 2 + 2 * usize::from(dc.tls.is_some()) {
                continue;
            }
            dc.configure(&who.settings);
            // Its output goes to a file, not a pipe: the daemon keeps the descriptors it was started with,
            // so reading a pipe to its end would wait until the instance stops.
            let start_log = dc.dir.join("start.log");
            let out = fs::File::create(&start_log).unwrap();
            let status = Command::new(&dc.bin)
                .arg("-c")
                .arg(dc.conf())
                .stdin(Stdio::null())
                .stdout(out.try_clone().unwrap())
                .stderr(out)
                .status()
                .unwrap();
            if status.success() {
                match dc.wait_ready() {
                    Ok(()) => return Some(dc),
                    Err(e) => panic!("{test}: Dovecot started but is not ready: {e}\ndovecot.log:\n{}", dc.log()),
                }
            }
            last = format!(
                "dovecot -c {}: {status}\n{}\ndovecot.log:\n{}",
                dc.conf().display(),
                fs::read_to_string(&start_log).unwrap_or_default(),
                dc.log()
            );
            let in_use = last.contains("in use");
            dc.shut_down();
            if !in_use {
                break;
            }
        }
        panic!("{test}: Dovecot did not start: {last}");
    }

    /// Writes dovecot.conf, the passwd-file and the (empty) Maildirs into a fresh directory.
    fn configure(&self, extra: &str) {
        let d = &self.dir;
        let _ = fs::remove_dir_all(d);
        fs::create_dir_all(d.join("mail")).unwrap();
        fs::set_permissions(d, fs::Permissions::from_mode(0o755)).unwrap();
        self.chown(&d.join("mail"));
        // Read by the auth process (user `dovecot` under root): world-readable, test passwords only.
        let users: String = self.users.iter().map(|(u, p)| format!("{u}:{{PLAIN}}{p}\n")).collect();
        fs::write(d.join("users"), users).unwrap();
        fs::set_permissions(d.join("users"), fs::Permissions::from_mode(0o644)).unwrap();
        for (user, _) in &self.users {
            let home = d.join("mail").join(user);
            let maildir = home.join("Maildir");
            for sub in ["cur", "new", "tmp"] {
                fs::create_dir_all(maildir.join(sub)).unwrap();
                self.chown(&maildir.join(sub));
            }
            self.chown(&maildir);
            self.chown(&home);
        }
        let dir = d.display();
        let (ssl, imaps, pop3s) = match &self.tls {
            None => ("ssl = no\n".to_string(), 0, 0),
            Some((openssl, imaps, pop3s)) => {
                make_server_certificate(openssl, &d.join("tls"), &self.instance);
                let ssl = format!(
                    "ssl = yes\nssl_cert = <{dir}/tls/server.pem\nssl_key = <{dir}/tls/server.key\n\
                     ssl_min_protocol = TLSv1.2\n"
                );
                (ssl, *imaps, *pop3s)
            }
        };
        let conf = format!(
            "# A private Dovecot for sealpost's tests (tests/common/dovecot.rs); nothing from /etc/dovecot.\n\
             instance_name = {instance}\n\
             base_dir = {dir}/run\n\
             state_dir = {dir}/state\n\
             log_path = {dir}/dovecot.log\n\
             protocols = imap pop3\n\
             listen = 127.0.0.1\n\
             {ssl}\
             disable_plaintext_auth = no\n\
             auth_mechanisms = plain login\n\
             auth_verbose = yes\n\
             auth_failure_delay = 0\n\
             mail_location = maildir:~/Maildir\n\
             namespace inbox {{\n  inbox = yes\n}}\n\
             passdb {{\n  driver = passwd-file\n  args = scheme=PLAIN username_format=%u {dir}/users\n}}\n\
             userdb {{\n  driver = static\n  args = uid={uid} gid={gid} home={dir}/mail/%u\n}}\n\
             protocol imap {{\n  mail_max_userip_connections = 1000\n}}\n\
             protocol pop3 {{\n  mail_max_userip_connections = 1000\n}}\n\
             service imap-login {{\n  inet_listener imap {{\n    port = {imap}\n  }}\n  \
               inet_listener imaps {{\n    port = {imaps}\n    ssl = yes\n  }}\n}}\n\
             service pop3-login {{\n  inet_listener pop3 {{\n    port = {pop3}\n  }}\n  \
               inet_listener pop3s {{\n    port = {pop3s}\n    ssl = yes\n  }}\n}}\n\
             # No delays after failed logins from 127.0.0.1 (the documented way to turn the penalty off).\n\
             service anvil {{\n  unix_listener anvil-auth-penalty {{\n    mode = 0\n  }}\n}}\n\
             {extra}",
            instance = self.instance,
            uid = self.uid,
            gid = self.gid,
            imap = self.imap_port,
            pop3 = self.pop3_port,
        );
        fs::write(self.conf(), conf).unwrap();
    }

    /// Gives a path to the mail user (a no-op when that is us).
    fn chown(&self, path: &Path) {
        if rustix::process::geteuid().as_raw() != self.uid {
            std::os::unix::fs::chown(path, Some(self.uid), Some(self.gid))
                .unwrap_or_else(|e| panic!("chown {} {}:{}: {e}", path.display(), self.uid, self.gid));
        }
    }

    /// Waits for the master's pid file, then for the IMAP and POP3 greetings.
    fn wait_ready(&mut self) -> Result<(), String> {
        let end = Instant::now() + START_TIMEOUT;
        let pid_file = self.dir.join("run/master.pid");
        loop {
            if let Some(pid) = fs::read_to_string(&pid_file).ok().and_then(|s| s.trim().parse().ok()) {
                self.master = Some(pid);
                break;
            }
            if Instant::now() >= end {
                return Err(format!("no pid in {}", pid_file.display()));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        for (addr, want) in [(self.imap_addr(), "* OK"), (self.pop3_addr(), "+OK")] {
            let line = greeting(addr, end.saturating_duration_since(Instant::now()))?;
            if !line.starts_with(want) {
                return Err(format!("{addr} greeted {line:?}"));
            }
        }
        // The TLS listeners greet only after a handshake: that they accept is enough here.
        for addr in [self.imaps_addr(), self.pop3s_addr()].into_iter().flatten() {
            let left = end.saturating_duration_since(Instant::now()).max(Duration::from_millis(100));
            TcpStream::connect_timeout(&addr, left).map_err(|e| format!("connect {addr}: {e}"))?;
        }
        Ok(())
    }

    /// The configuration file.
    pub fn conf(&self) -> PathBuf {
        self.dir.join("dovecot.conf")
    }

    /// The instance's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The instance's log so far (logins, disconnects with byte counts, errors).
    pub fn log(&self) -> String {
        fs::read_to_string(self.dir.join("dovecot.log")).unwrap_or_default()
    }

    /// The IMAP port (plain IMAP; STARTTLS only with [`Dovecot::start_tls`]).
    pub fn imap_port(&self) -> u16 {
        self.imap_port
    }

    /// 127.0.0.1:[`Dovecot::imap_port`].
    pub fn imap_addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.imap_port))
    }

    /// The POP3 port (plain POP3; STLS only with [`Dovecot::start_tls`]).
    pub fn pop3_port(&self) -> u16 {
        self.pop3_port
    }

    /// 127.0.0.1:[`Dovecot::pop3_port`].
    pub fn pop3_addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.pop3_port))
    }

    /// With TLS: 127.0.0.1 and the IMAPS port (TLS from the first byte).
    pub fn imaps_addr(&self) -> Option<SocketAddr> {
        self.tls.as_ref().map(|(_, imaps, _)| SocketAddr::from(([127, 0, 0, 1], *imaps)))
    }

    /// With TLS: 127.0.0.1 and the POP3S port (TLS from the first byte).
    pub fn pop3s_addr(&self) -> Option<SocketAddr> {
        self.tls.as_ref().map(|(_, _, pop3s)| SocketAddr::from(([127, 0, 0, 1], *pop3s)))
    }

    /// With TLS: the PEM file of the CA that signed the server's certificate.
    pub fn ca_file(&self) -> Option<PathBuf> {
        self.tls.as_ref().map(|_| self.dir.join("tls/ca.pem"))
    }

    /// The users and their passwords.
    pub fn users(&self) -> &[(String, String)] {
        &self.users
    }

    /// The master's pid.
    pub fn master_pid(&self) -> Option<i32> {
        self.master
    }

    /// The user's INBOX, a Maildir (`cur/`, `new/`, `tmp/`, and Dovecot's index files once it was opened).
    pub fn maildir(&self, user: &str) -> PathBuf {
        assert!(self.users.iter().any(|(u, _)| u == user), "{user:?} is not a user of this Dovecot");
        self.dir.join("mail").join(user).join("Maildir")
    }

    /// Puts `message` (stored byte for byte, CRLF or LF line ends as given) into the user's INBOX: written
    /// to `tmp/`, owned by the mail user, then renamed into `new/`. IMAP and POP3 see it from their next
    /// command that looks (a new session, SELECT, NOOP, STAT); it becomes the last message. Returns its
    /// path in `new/` (Dovecot moves it to `cur/` when a session sees it).
    pub fn deliver(&self, user: &str, message: &[u8]) -> PathBuf {
        let maildir = self.maildir(user);
        let (secs, usecs) = self.next_stamp();
        let q = self.deliveries.fetch_add(1, Ordering::Relaxed);
        let name = format!("{secs}.M{usecs}P{}Q{q}.{MAILDIR_HOST},S={}", std::process::id(), message.len());
        let tmp = maildir.join("tmp").join(&name);
        let mut file = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)
            .unwrap_or_else(|e| panic!("cannot create {}: {e}", tmp.display()));
        file.write_all(message).unwrap();
        file.sync_all().unwrap();
        drop(file);
        self.chown(&tmp);
        let new = maildir.join("new").join(&name);
        fs::rename(&tmp, &new).unwrap();
        new
    }

    /// A Maildir time stamp later than every earlier one of this instance (Dovecot numbers the new files
    /// it finds by these).
    fn next_stamp(&self) -> (u64, u32) {
        let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
        let mut last = self.last_stamp.lock().unwrap();
        let mut stamp = (now.as_secs(), now.subsec_micros());
        if stamp <= *last {
            stamp = if last.1 >= 999_999 { (last.0 + 1, 0) } else { (last.0, last.1 + 1) };
        }
        *last = stamp;
        stamp
    }

    /// The pids of this instance's live processes, by their command lines: the master
    /// (`dovecot -c <this conf>`) and every process titled `dovecot-<instance>/...` (its children, even
    /// once it is gone). Command lines rather than pids, which may be reused once a process is reaped.
    pub fn pids(&self) -> Vec<i32> {
        let title = format!("dovecot-{}/", self.instance);
        let master = format!("-c\0{}\0", self.conf().display());
        let mut pids: Vec<i32> = fs::read_dir("/proc")
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| {
                let pid = e.file_name().to_str()?.parse::<i32>().ok()?;
                let cmdline = fs::read(e.path().join("cmdline")).ok()?;
                let ours = cmdline.starts_with(title.as_bytes())
                    || cmdline.windows(master.len()).any(|w| w == master.as_bytes());
                ours.then_some(pid)
            })
            .collect();
        pids.sort_unstable();
        pids
    }

    /// SIGTERM to every process of the instance at once, then SIGKILL to what is left after 5 s. Not
    /// SIGTERM to the master alone: it then takes a second to stop its children, and a login process with
    /// a client connected (a proxy's session, say) outlives it, keeping anvil, log and the ports.
    fn shut_down(&self) {
        for pid in self.pids().into_iter().filter_map(rustix::process::Pid::from_raw) {
            let _ = rustix::process::kill_process(pid, rustix::process::Signal::TERM);
        }
        let end = Instant::now() + STOP_TIMEOUT;
        while Instant::now() < end && !self.pids().is_empty() {
            std::thread::sleep(Duration::from_millis(20));
        }
        for pid in self.pids().into_iter().filter_map(rustix::process::Pid::from_raw) {
            let _ = rustix::process::kill_process(pid, rustix::process::Signal::KILL);
        }
    }
}

impl Drop for Dovecot {
    fn drop(&mut self) {
        self.shut_down();
        if std::thread::panicking() {
            eprintln!("Dovecot instance kept in {} (log: dovecot.log)", self.dir.display());
        } else {
            let _ = fs::remove_dir_all(&self.dir);
        }
    }
}

/// The `openssl` configuration of [`make_ca`] and [`make_server_certificate`]: nothing from the system's.
const OPENSSL_CNF: &str = "\
[req]
distinguished_name = dn
prompt = no
[dn]
CN = unused
[ca_ext]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[server_ext]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = IP:127.0.0.1,DNS:localhost
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
";

/// Runs `openssl` in `dir` with the words of `args`, then `more` (arguments with spaces); panics with its
/// output when it fails.
fn openssl_in(openssl: &Path, dir: &Path, args: &str, more: &[&str]) {
    let out = super::run(Command::new(openssl).current_dir(dir).args(args.split_whitespace()).args(more));
    assert!(out.status.success(), "openssl failed (details above)");
}

/// Makes a CA in `dir` (created if needed): `ca.pem` (returned) and `ca.key`, EC P-256, valid for a week,
/// named `CN=<name>`. A CA of its own is also what a test needs to show an untrusted server.
pub fn make_ca(openssl: &Path, dir: &Path, name: &str) -> PathBuf {
    fs::create_dir_all(dir).unwrap();
    fs::write(dir.join("openssl.cnf"), OPENSSL_CNF).unwrap();
    openssl_in(
        openssl,
        dir,
        "req -x509 -config openssl.cnf -extensions ca_ext -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
         -keyout ca.key -days 7 -out ca.pem -subj",
        &[&format!("/CN={name}")],
    );
    dir.join("ca.pem")
}

/// A CA and a server certificate it signed, for 127.0.0.1 and localhost, in `dir`: `ca.pem`, `ca.key`,
/// `server.pem`, `server.key` (mode 0600: Dovecot's config process reads it, as root or as the user the
/// whole instance runs as).
fn make_server_certificate(openssl: &Path, dir: &Path, instance: &str) {
    make_ca(openssl, dir, &format!("sealpost test CA {instance}"));
    openssl_in(
        openssl,
        dir,
        "req -new -config openssl.cnf -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout server.key \
         -subj /CN=localhost -out server.csr",
        &[],
    );
    openssl_in(
        openssl,
        dir,
        "x509 -req -in server.csr -CA ca.pem -CAkey ca.key -set_serial 2 -days 7 -extfile openssl.cnf \
         -extensions server_ext -out server.pem",
        &[],
    );
    fs::set_permissions(dir.join("server.key"), fs::Permissions::from_mode(0o600)).unwrap();
}

/// The first line a server sends (CRLF removed).
pub fn greeting(addr: SocketAddr, timeout: Duration) -> Result<String, String> {
    let stream = TcpStream::connect_timeout(&addr, timeout.max(Duration::from_millis(100)))
        .map_err(|e| format!("connect {addr}: {e}"))?;
    stream.set_read_timeout(Some(timeout.max(Duration::from_millis(100)))).map_err(|e| e.to_string())?;
    let mut line = String::new();
    BufReader::new(stream).read_line(&mut line).map_err(|e| format!("{addr}: no greeting: {e}"))?;
    Ok(line.trim_end().to_string())
}

/// One message as an IMAP client fetched it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImapMessage {
    /// The sequence number.
    pub seq: u32,
    pub uid: u32,
    /// RFC822.SIZE.
    pub size: u64,
    /// `BODY[]` (fetched with BODY.PEEK[]).
    pub body: Vec<u8>,
}

/// What [`imap_fetch_all`] saw.
#[derive(Clone, Debug)]
pub struct ImapMailbox {
    /// The capabilities imaplib saw when it connected (upper case), e.g. `IMAP4REV1`, `AUTH=PLAIN`.
    pub capabilities: Vec<String>,
    /// The EXISTS count of SELECT INBOX.
    pub exists: u32,
    pub messages: Vec<ImapMessage>,
}

/// One message as a POP3 client retrieved it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pop3Message {
    /// The message number.
    pub number: u32,
    /// Its size in the LIST answer.
    pub size: u64,
    /// Its UIDL.
    pub uidl: String,
    /// RETR's lines, dot-stuffing undone, each ended with CRLF.
    pub body: Vec<u8>,
}

/// What [`pop3_retr_all`] saw.
#[derive(Clone, Debug)]
pub struct Pop3Mailbox {
    /// STAT: the number of messages and their total size.
    pub stat: (u32, u64),
    pub messages: Vec<Pop3Message>,
}

/// The client of [`imap_fetch_all`] and [`pop3_retr_all`]: prints JSON, bytes in hex; a refused login or
/// any protocol error is `{"error": ...}` (exit 0), a crash is a traceback (exit 1).
const CLIENT: &str = r#"
import imaplib, json, poplib, re, sys
mode, host, port, user, password = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5]
poplib._MAXLINE = 1 << 20
out = {}
try:
    if mode == "imap":
        c = imaplib.IMAP4(host, port, timeout=60)
        c.login(user, password)
        out["capabilities"] = list(c.capabilities)
        typ, data = c.select("INBOX")
        if typ != "OK":
            raise imaplib.IMAP4.error("SELECT INBOX: %r" % data)
        out["exists"] = exists = int(data[0])
        msgs = []
        if exists:
            typ, data = c.fetch("1:*", "(UID RFC822.SIZE BODY.PEEK[])")
            if typ != "OK":
                raise imaplib.IMAP4.error("FETCH: %r" % data)
            for item in data:
                if not isinstance(item, tuple):
                    continue
                head = item[0].decode("ascii", "replace")
                m = re.match(r"(\d+) \(", head)
                uid = re.search(r"UID (\d+)", head)
                size = re.search(r"RFC822\.SIZE (\d+)", head)
                if not (m and uid and size and "BODY[]" in head):
                    raise imaplib.IMAP4.error("unexpected FETCH item %r" % head)
                msgs.append({"seq": int(m.group(1)), "uid": int(uid.group(1)), "size": int(size.group(1)),
                             "body": item[1].hex()})
        out["messages"] = msgs
        c.logout()
    else:
        p = poplib.POP3(host, port, timeout=60)
        p.user(user)
        p.pass_(password)
        count, total = p.stat()
        out["stat"] = [count, total]
        sizes = {int(n): int(s) for n, s in (l.split() for l in p.list()[1])}
        uidls = {int(n): u.decode() for n, u in (l.split() for l in p.uidl()[1])}
        msgs = []
        for n in sorted(sizes):
            lines = p.retr(n)[1]
            msgs.append({"number": n, "size": sizes[n], "uidl": uidls.get(n, ""),
                         "body": b"".join(l + b"\r\n" for l in lines).hex()})
        out["messages"] = msgs
        p.quit()
except (imaplib.IMAP4.error, poplib.error_proto, OSError) as e:
    out = {"error": "%s: %s" % (type(e).__name__, e)}
print(json.dumps(out))
"#;

/// Runs [`CLIENT`]; `Err` with its error, or with its output if it crashed.
fn run_client(mode: &str, addr: SocketAddr, user: &str, password: &str) -> Result<serde_json::Value, String> {
    let out = Command::new(SYSTEM_PYTHON)
        .args(["-c", CLIENT, mode, &addr.ip().to_string(), &addr.port().to_string(), user, password])
        .output()
        .map_err(|e| format!("cannot run {SYSTEM_PYTHON}: {e}"))?;
    let text = String::from_utf8_lossy(&out.stdout);
    let value: serde_json::Value = serde_json::from_str(text.trim()).map_err(|_| {
        format!("the {mode} client failed ({}):\n{text}{}", out.status, String::from_utf8_lossy(&out.stderr))
    })?;
    match value.get("error").and_then(|e| e.as_str()) {
        Some(e) => Err(e.to_string()),
        None => Ok(value),
    }
}

fn num(v: &serde_json::Value, key: &str) -> u64 {
    v[key].as_u64().unwrap_or_else(|| panic!("no number {key:?} in {v}"))
}

fn hex_bytes(v: &serde_json::Value, key: &str) -> Vec<u8> {
    super::hex(v[key].as_str().unwrap_or_else(|| panic!("no {key:?} in {v}")))
}

/// Python imaplib: LOGIN, SELECT INBOX, `FETCH 1:* (UID RFC822.SIZE BODY.PEEK[])`, LOGOUT. `Err` with the
/// client's error (e.g. `error: b'[AUTHENTICATIONFAILED] Authentication failed.'`).
pub fn imap_fetch_all(addr: SocketAddr, user: &str, password: &str) -> Result<ImapMailbox, String> {
    let v = run_client("imap", addr, user, password)?;
    let capabilities =
        v["capabilities"].as_array().unwrap().iter().map(|c| c.as_str().unwrap_or_default().to_string()).collect();
    let messages = v["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| ImapMessage {
            seq: num(m, "seq") as u32,
            uid: num(m, "uid") as u32,
            size: num(m, "size"),
            body: hex_bytes(m, "body"),
        })
        .collect();
    Ok(ImapMailbox { capabilities, exists: num(&v, "exists") as u32, messages })
}

/// Python poplib: USER, PASS, STAT, LIST, UIDL, RETR each, QUIT. `Err` with the client's error.
pub fn pop3_retr_all(addr: SocketAddr, user: &str, password: &str) -> Result<Pop3Mailbox, String> {
    let v = run_client("pop3", addr, user, password)?;
    let stat = (v["stat"][0].as_u64().unwrap() as u32, v["stat"][1].as_u64().unwrap());
    let messages = v["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| Pop3Message {
            number: num(m, "number") as u32,
            size: num(m, "size"),
            uidl: m["uidl"].as_str().unwrap_or_default().to_string(),
            body: hex_bytes(m, "body"),
        })
        .collect();
    Ok(Pop3Mailbox { stat, messages })
}

/// Whether `/usr/bin/python3` (with imaplib and poplib, in its standard library) can run; a skip reason
/// (or a panic under `SEALPOST_REQUIRE_PEERS=1`) when not.
pub fn python_clients(test: &str) -> Option<()> {
    match Command::new(SYSTEM_PYTHON).args(["-c", "import imaplib, poplib"]).output() {
        Ok(o) if o.status.success() => Some(()),
        Ok(o) => unavailable(test, &format!("{SYSTEM_PYTHON}: {}", String::from_utf8_lossy(&o.stderr).trim())),
        Err(e) => unavailable(test, &format!("cannot run {SYSTEM_PYTHON}: {e}")),
    }
}

/// The CRLF form of a message: every bare LF made CRLF, as Dovecot serves files with LF line ends.
pub fn crlf(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() + data.len() / 40);
    let mut i = 0;
    while i < data.len() {
        match data[i] {
            b'\r' if data.get(i + 1) == Some(&b'\n') => {
                out.extend_from_slice(b"\r\n");
                i += 1;
            }
            b'\n' => out.extend_from_slice(b"\r\n"),
            b => out.push(b),
        }
        i += 1;
    }
    out
}
