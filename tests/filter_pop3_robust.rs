//! `sealpost filter pop3` when things go wrong (issue #11, item 4): an upstream that answers with something
//! that is not POP3, cuts a message off, sends a line longer than 64 KiB, or goes away; a client that goes
//! away; a 40 MiB message over `max_message_bytes`; the connection limit, the idle timeout and SIGTERM.
//! Each broken session ends within seconds on both sides, and nothing of a broken message reaches the
//! client as a complete message (a terminating `.` line after partial content).

#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::Killed as Proxy;
use common::dovecot::{Dovecot, PASSWORD};
use common::smtp::{free_port, wait_for_port};
use common::{peer, scratch};

/// How long a broken session may take to end.
const ENDS_WITHIN: Duration = Duration::from_secs(5);

fn sealpost() -> Command {
    Command::new(env!("CARGO_BIN_EXE_sealpost"))
}

/// Starts the proxy with `config` (the `[pop3]` table's `listen` is added), its log in `dir/proxy.log`.
fn start_proxy(dir: &std::path::Path, top: &str, pop3: &str) -> (Proxy, SocketAddr) {
    let port = free_port();
    let config = dir.join("pop3.toml");
    std::fs::write(&config, format!("{top}[pop3]\nlisten = \"127.0.0.1:{port}\"\n{pop3}")).unwrap();
    let log = std::fs::File::create(dir.join("proxy.log")).unwrap();
    let proxy = Proxy(
        sealpost()
            .args(["filter", "pop3", "--config"])
            .arg(&config)
            .env("SEALPOST_LOG", "debug")
            .stderr(log)
            .stdout(Stdio::null())
            .spawn()
            .unwrap(),
    );
    (proxy, format!("127.0.0.1:{port}").parse().unwrap())
}

fn log_of(dir: &std::path::Path) -> String {
    std::fs::read_to_string(dir.join("proxy.log")).unwrap_or_default()
}

// ---- A fake upstream.

/// The next connection to `listener` within 10 s.
fn accept_within(listener: &TcpListener) -> TcpStream {
    listener.set_nonblocking(true).unwrap();
    let start = Instant::now();
    loop {
        match listener.accept() {
            Ok((s, _)) => {
                s.set_nonblocking(false).unwrap();
                return s;
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock && start.elapsed() < Duration::from_secs(10) => {
                std::thread::sleep(Duration::from_millis(10));
            }
            Err(e) => panic!("the proxy did not connect to the upstream: {e}"),
        }
    }
}

/// Reads until the peer closes (or resets) the connection; how long that took, `None` if it did not within
/// `within`.
fn closed_within(s: &mut TcpStream, within: Duration) -> Option<Duration> {
    let start = Instant::now();
    s.set_read_timeout(Some(within)).unwrap();
    let mut buf = [0u8; 64 << 10];
    loop {
        match s.read(&mut buf) {
            Ok(0) => return Some(start.elapsed()),
            Ok(_) => {}
            Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {
                return None;
            }
            Err(_) => return Some(start.elapsed()),
        }
        if start.elapsed() > within {
            return None;
        }
    }
}

/// What the fake upstream does after its `+OK ready` greeting.
struct Misbehaviour {
    what: &'static str,
    /// What the client sends at once (empty: nothing, it waits).
    command: &'static [u8],
    /// Whether the upstream reads the proxy's command before it answers.
    reads_command: bool,
    /// What it then sends.
    reply: Vec<u8>,
    /// Then: close the connection (else keep it open until the proxy closes it).
    closes: bool,
    /// Text of `reply` that must not reach the client.
    withheld: &'static [&'static str],
    /// Text of `reply` that must reach it (the lines of a message over the bound, streamed as they come).
    relayed: &'static [&'static str],
}

/// Message lines that do not begin with `.`, about `len` octets.
fn lines(len: usize) -> Vec<u8> {
    let line = b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789abcdefghijklmnopq\r\n";
    line.iter().copied().cycle().take(len / line.len() * line.len()).collect()
}

fn misbehaviours() -> Vec<Misbehaviour> {
    let long_line = {
        let mut v = b"+OK message follows\r\nSubject: long\r\n\r\nLONGLINE".to_vec();
        v.extend(std::iter::repeat_n(b'x', 100 << 10));
        v.extend_from_slice(b"\r\nend\r\n.\r\n");
        v
    };
    let long_status = {
        let mut v = b"+OK LONGSTATUS".to_vec();
        v.extend(std::iter::repeat_n(b'y', 100 << 10));
        v.extend_from_slice(b"\r\nSubject: long\r\n\r\nbody\r\n.\r\n");
        v
    };
    let cut_streamed = {
        // Over max_message_bytes (1 MiB here): streamed as it comes, then the connection ends.
        let mut v = b"+OK 3000000 octets\r\nSubject: streamed\r\n\r\n".to_vec();
        v.extend(lines(2 << 20));
        v.extend_from_slice(b"the last line is cut o");
        v
    };
    vec![
        Misbehaviour {
            what: "RETR answered with neither +OK nor -ERR, then a whole message",
            command: b"RETR 1\r\n",
            reads_command: true,
            reply: b"HTTP/1.1 200 OK\r\nSubject: NOTPOP3\r\n\r\nbody\r\n.\r\n".to_vec(),
            closes: false,
            withheld: &["HTTP", "NOTPOP3"],
            relayed: &[],
        },
        Misbehaviour {
            what: "USER answered with neither +OK nor -ERR",
            command: b"USER bob\r\n",
            reads_command: true,
            reply: b"* OK NOTPOP3\r\n".to_vec(),
            closes: false,
            withheld: &["NOTPOP3"],
            relayed: &[],
        },
        Misbehaviour {
            what: "CAPA answered with neither +OK nor -ERR, then lines",
            command: b"CAPA\r\n",
            reads_command: true,
            reply: b"OK NOTPOP3\r\nUSER\r\n.\r\n".to_vec(),
            closes: false,
            withheld: &["NOTPOP3", "USER"],
            relayed: &[],
        },
        Misbehaviour {
            what: "LIST answered with neither +OK nor -ERR, then lines",
            command: b"LIST 1\r\n",
            reads_command: true,
            reply: b"1 NOTPOP3\r\n.\r\n".to_vec(),
            closes: false,
            withheld: &["NOTPOP3"],
            relayed: &[],
        },
        Misbehaviour {
            what: "RETR cut off in the middle of a line, then closed",
            command: b"RETR 1\r\n",
            reads_command: true,
            reply: b"+OK 120 octets\r\nSubject: CUTOFF\r\n\r\nfirst line\r\nsecond li".to_vec(),
            closes: true,
            withheld: &["CUTOFF", "first line"],
            relayed: &[],
        },
        Misbehaviour {
            what: "RETR cut off after whole lines, then closed",
            command: b"RETR 1\r\n",
            reads_command: true,
            reply: b"+OK 120 octets\r\nSubject: CUTOFF\r\n\r\nfirst line\r\n".to_vec(),
            closes: true,
            withheld: &["CUTOFF", "first line"],
            relayed: &[],
        },
        Misbehaviour {
            what: "RETR over max_message_bytes (streamed) cut off, then closed",
            command: b"RETR 1\r\n",
            reads_command: true,
            reply: cut_streamed,
            closes: true,
            withheld: &["the last line is cut"],
            relayed: &["Subject: streamed"],
        },
        Misbehaviour {
            what: "RETR with a line longer than 64 KiB",
            command: b"RETR 1\r\n",
            reads_command: true,
            reply: long_line,
            closes: false,
            withheld: &["LONGLINE", "Subject: long"],
            relayed: &[],
        },
        Misbehaviour {
            what: "a status line longer than 64 KiB",
            command: b"RETR 1\r\n",
            reads_command: true,
            reply: long_status,
            closes: false,
            withheld: &["LONGSTATUS", "Subject: long"],
            relayed: &[],
        },
        Misbehaviour {
            what: "the upstream disconnects right after the greeting (the client sends USER)",
            command: b"USER bob\r\n",
            reads_command: false,
            reply: Vec::new(),
            closes: true,
            withheld: &[],
            relayed: &[],
        },
        Misbehaviour {
            what: "the upstream disconnects right after the greeting (the client waits)",
            command: b"",
            reads_command: false,
            reply: Vec::new(),
            closes: true,
            withheld: &[],
            relayed: &[],
        },
        Misbehaviour {
            what: "the upstream speaks when nobody asked",
            command: b"",
            reads_command: false,
            reply: b"+OK NOTASKED\r\n".to_vec(),
            closes: false,
            withheld: &["NOTASKED"],
            relayed: &[],
        },
    ]
}

/// What the client saw after the greeting: every line must not be a terminating `.` line.
fn assert_no_terminator(what: &str, seen: &[u8]) {
    for line in seen.split_inclusive(|b| *b == b'\n') {
        assert!(line != b".\r\n" && line != b".\n", "{what}: a terminating line reached the client");
    }
}

/// A broken or hostile upstream (a std listener playing POP3 server, one misbehaviour per connection):
/// the client's session ends within seconds (EOF or reset, no hang), the proxy closes the upstream
/// connection it kept open, and nothing of what was broken is relayed as a complete message. Also a
/// client that leaves with its command sent: the proxy closes the upstream connection.
#[test]
fn hostile_upstream_and_disconnects_end_the_session_cleanly() {
    const TEST: &str = "pop3_proxy_hostile_upstream";
    let dir = scratch(TEST);
    let upstream = TcpListener::bind("127.0.0.1:0").unwrap();
    let up_addr = upstream.local_addr().unwrap();
    let (_proxy, addr) = start_proxy(
        &dir,
        &format!("keystore = \"{}\"\n", dir.join("ks").display()),
        &format!("upstream = \"{up_addr}\"\nmax_message_bytes = 1048576\n"),
    );
    // The connection that sees the proxy listen gets a session, and so an upstream connection: a polite one.
    assert!(wait_for_port(addr, Duration::from_secs(20)), "the proxy did not listen\n{}", log_of(&dir));
    let mut polite = accept_within(&upstream);
    polite.write_all(b"+OK ready\r\n").unwrap();
    assert!(closed_within(&mut polite, ENDS_WITHIN).is_some(), "the probe's session did not end");

    for m in misbehaviours() {
        let what = m.what;
        let mut client = TcpStream::connect(addr).unwrap();
        client.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        client.write_all(m.command).unwrap();
        let mut up = accept_within(&upstream);
        let server = std::thread::spawn(move || {
            up.write_all(b"+OK ready\r\n").unwrap();
            if m.reads_command {
                let mut command = Vec::new();
                up.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
                BufReader::new(&up).read_until(b'\n', &mut command).unwrap();
                assert_eq!(command, m.command, "{what}: the proxy sent another command");
            }
            let _ = up.write_all(&m.reply);
            if m.closes {
                return Some(Duration::ZERO);
            }
            closed_within(&mut up, Duration::from_secs(10))
        });
        let start = Instant::now();
        let mut seen = Vec::new();
        loop {
            let mut buf = [0u8; 64 << 10];
            match client.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => seen.extend_from_slice(&buf[..n]),
                Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {
                    panic!(
                        "{what}: the session did not end ({e} after {:?}); the client got {:?}\n{}",
                        start.elapsed(),
                        String::from_utf8_lossy(&seen[..seen.len().min(300)]),
                        log_of(&dir)
                    );
                }
                Err(_) => break, // reset: ended too
            }
        }
        let took = start.elapsed();
        assert!(took < ENDS_WITHIN, "{what}: the session took {took:?} to end");
        let closed = server.join().unwrap();
        assert!(closed.is_some(), "{what}: the proxy kept the upstream connection open\n{}", log_of(&dir));
        let after_greeting =
            seen.strip_prefix(&b"+OK ready\r\n"[..]).unwrap_or_else(|| panic!("{what}: no greeting: {seen:?}"));
        assert_no_terminator(what, after_greeting);
        let text = String::from_utf8_lossy(after_greeting);
        let shown: String = text.chars().take(300).collect();
        for w in m.withheld {
            assert!(!text.contains(w), "{what}: relayed {shown:?}");
        }
        for r in m.relayed {
            assert!(text.contains(r), "{what}: {r:?} not relayed: {shown:?}");
        }
    }

    // A client that sends RETR and goes away before the answer: the proxy relays into nothing, finds the
    // client gone and closes the upstream connection.
    let mut client = TcpStream::connect(addr).unwrap();
    client.write_all(b"RETR 1\r\n").unwrap();
    let mut up = accept_within(&upstream);
    up.write_all(b"+OK ready\r\n").unwrap();
    let mut command = Vec::new();
    up.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    BufReader::new(&up).read_until(b'\n', &mut command).unwrap();
    drop(client);
    std::thread::sleep(Duration::from_millis(200));
    let _ = up.write_all(b"+OK\r\nSubject: gone\r\n\r\nbody\r\n.\r\n");
    let closed = closed_within(&mut up, Duration::from_secs(10));
    assert!(closed.is_some_and(|t| t < ENDS_WITHIN), "a client that left kept its upstream open\n{}", log_of(&dir));
}

// ---- With Dovecot.

struct World {
    dovecot: Dovecot,
    dir: std::path::PathBuf,
    addr: SocketAddr,
    proxy: Proxy,
}

/// A private Dovecot where Bob has a message Carol signed and encrypted to him (1) and a plaintext one
/// (2); the proxy in front of it with Bob's key and `extra` in its `[pop3]` table.
fn world(test: &str, extra: &str) -> Option<World> {
    let gpg_bin = peer(test, "gpg")?;
    let dovecot = Dovecot::start(test)?;
    let dir = scratch(test);
    let common::sealed::BobAndCarol { ks, encrypted } = common::sealed::bob_and_carol(&gpg_bin, &dir);
    dovecot.deliver("bob@example.org", &encrypted);
    dovecot.deliver("bob@example.org", b"From: Dan <dan@example.net>\r\nSubject: small\r\n\r\nsmall\r\n");
    let (proxy, addr) = start_proxy(
        &dir,
        &format!(
            "keystore = \"{}\"\nlocal_domains = [\"example.org\"]\nauthserv_id = \"pop.example.org\"\n",
            ks.display()
        ),
        &format!("upstream = \"{}\"\n{extra}", dovecot.pop3_addr()),
    );
    assert!(wait_for_port(addr, Duration::from_secs(20)), "the proxy did not listen\n{}", log_of(&dir));
    Some(World { dovecot, dir, addr, proxy })
}

/// A raw POP3 client.
struct Pop {
    r: BufReader<TcpStream>,
    w: TcpStream,
    greeting: String,
}

impl Pop {
    fn connect(addr: SocketAddr) -> Pop {
        let w = TcpStream::connect(addr).unwrap();
        w.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
        let mut r = BufReader::with_capacity(256 << 10, w.try_clone().unwrap());
        let mut greeting = String::new();
        r.read_line(&mut greeting).unwrap();
        Pop { r, w, greeting }
    }

    fn login(addr: SocketAddr, user: &str) -> Pop {
        let mut p = Pop::connect(addr);
        assert!(p.greeting.starts_with("+OK"), "{}", p.greeting);
        assert!(p.single(&format!("USER {user}")).starts_with("+OK"));
        let status = p.single(&format!("PASS {PASSWORD}"));
        assert!(status.starts_with("+OK"), "{status}");
        p
    }

    /// Sends a command; its status line.
    fn single(&mut self, cmd: &str) -> String {
        self.w.write_all(format!("{cmd}\r\n").as_bytes()).unwrap();
        let mut l = String::new();
        assert!(self.r.read_line(&mut l).unwrap() > 0, "{cmd}: the connection closed");
        l
    }

    /// The lines of a multi-line response as they came (dot-stuffed), its terminating line included.
    fn lines(&mut self) -> Vec<u8> {
        let mut all = Vec::new();
        loop {
            let start = all.len();
            assert!(self.r.read_until(b'\n', &mut all).unwrap() > 0, "closed inside a multi-line response");
            if &all[start..] == b".\r\n" {
                return all;
            }
        }
    }

    /// A multi-line command: its status line and lines.
    fn multi(&mut self, cmd: &str) -> (String, Vec<u8>) {
        let status = self.single(cmd);
        assert!(status.starts_with("+OK"), "{cmd}: {status}");
        (status, self.lines())
    }
}

/// The peak resident memory of a process, in bytes.
fn peak_memory(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let kb = status.lines().find_map(|l| l.strip_prefix("VmHWM:")).unwrap().trim().trim_end_matches(" kB");
    kb.trim().parse::<u64>().unwrap() * 1024
}

/// A 40 MiB message over `max_message_bytes` (4 MiB) is read past at LIST (its size stays Dovecot's) and
/// streams through RETR (and TOP) byte for byte as Dovecot sends it, while the proxy's peak memory grows by
/// less than 16 MiB (measured after a first session warmed the proxy up); a client that leaves in the middle of it ends its own session only: a new session (and the
/// first) still gets the encrypted message decrypted.
#[test]
fn huge_messages_stream_in_bounded_memory_and_a_client_leaving_ends_only_its_session() {
    let Some(w) = world("pop3_proxy_huge", "max_message_bytes = 4194304\n") else { return };
    let pid = w.proxy.0.id();
    // The memory a first session takes (the keys loaded, message 1 opened) is not the big message's.
    let mut warm = Pop::login(w.addr, "bob@example.org");
    warm.multi("LIST");
    warm.multi("RETR 1");
    assert!(warm.single("QUIT").starts_with("+OK"));
    let mut big = b"From: Dan <dan@example.net>\r\nTo: bob@example.org\r\nSubject: big\r\n\r\n".to_vec();
    // Some lines begin with `.`: stuffed by Dovecot, passed as they are by the proxy.
    big.extend_from_slice(b".starts with a dot\r\n.\r\n");
    big.extend(lines(40 << 20));
    w.dovecot.deliver("bob@example.org", &big);
    let before = peak_memory(pid);

    let mut direct = Pop::login(w.dovecot.pop3_addr(), "bob@example.org");
    let mut proxied = Pop::login(w.addr, "bob@example.org");
    // LIST reads every message once (the big one read past, not held); its size stays Dovecot's.
    let (_, list) = proxied.multi("LIST");
    let list = String::from_utf8_lossy(&list).into_owned();
    assert_eq!(list.lines().count(), 4, "{list}");
    assert_eq!(proxied.single("LIST 3"), direct.single("LIST 3"));
    let (ds, d) = direct.multi("RETR 3");
    let (ps, p) = proxied.multi("RETR 3");
    assert!(p.len() > 40 << 20);
    assert_eq!(ps, ds);
    assert!(p == d, "the big message changed on its way through the proxy");
    let (_, top) = proxied.multi("TOP 3 0");
    assert!(top.len() > 40 << 20, "TOP of a message over the bound is the whole message, as stored");
    let grown = peak_memory(pid).saturating_sub(before);
    assert!(grown < 16 << 20, "the proxy's peak memory grew by {} MiB for a 40 MiB message", grown >> 20);

    // A client that leaves in the middle of the big message.
    {
        let mut leaving = Pop::login(w.addr, "bob@example.org");
        leaving.w.write_all(b"RETR 3\r\n").unwrap();
        let mut buf = vec![0; 1 << 20];
        leaving.r.read_exact(&mut buf).unwrap();
    }
    let mut next = Pop::login(w.addr, "bob@example.org");
    let (_, opened) = next.multi("RETR 1");
    let opened = String::from_utf8_lossy(&opened).into_owned();
    assert!(opened.contains("The secret plan.") && opened.contains("status=pass"), "{opened}\n{}", log_of(&w.dir));
    let (_, again) = proxied.multi("RETR 1");
    assert!(String::from_utf8_lossy(&again).contains("The secret plan."));
    assert!(next.single("QUIT").starts_with("+OK"));
}

/// `max_connections = 1`: the second client gets `-ERR` and is closed; `timeout_seconds = 2`: an idle client
/// is closed; SIGTERM: the proxy stops listening and exits 0 once its sessions ended.
#[test]
fn limits_timeouts_and_sigterm() {
    let Some(mut w) = world("pop3_proxy_limits", "max_connections = 1\ntimeout_seconds = 2\nshutdown_seconds = 3\n")
    else {
        return;
    };
    // The connection that saw the proxy listen may hold the one slot for a moment.
    let first_ok = |addr| {
        let start = Instant::now();
        loop {
            let c = Pop::connect(addr);
            if c.greeting.starts_with("+OK") || start.elapsed() > Duration::from_secs(10) {
                break c;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    };
    let first = first_ok(w.addr);
    assert!(first.greeting.starts_with("+OK"), "{}", first.greeting);
    let mut second = Pop::connect(w.addr);
    assert!(second.greeting.starts_with("-ERR [SYS/TEMP]"), "{}", second.greeting);
    let mut rest = Vec::new();
    let _ = second.r.read_to_end(&mut rest);
    assert!(rest.is_empty(), "{}", String::from_utf8_lossy(&rest));
    // The idle first client is closed after about 2 s.
    let start = Instant::now();
    let mut r = first.r;
    let mut rest = String::new();
    let _ = r.read_to_string(&mut rest);
    assert!(start.elapsed() < Duration::from_secs(10), "an idle client was kept {:?}", start.elapsed());
    assert!(rest.starts_with("-ERR"), "{rest}");
    // Its slot is free again.
    let mut third = first_ok(w.addr);
    assert!(third.single("USER bob@example.org").starts_with("+OK"));
    assert!(third.single(&format!("PASS {PASSWORD}")).starts_with("+OK"));
    let stat = third.single("STAT");
    assert!(stat.starts_with("+OK 2 "), "{stat}\n{}", log_of(&w.dir));
    let pid = rustix::process::Pid::from_raw(w.proxy.0.id() as i32).unwrap();
    rustix::process::kill_process(pid, rustix::process::Signal::TERM).unwrap();
    let start = Instant::now();
    let status = loop {
        if let Some(s) = w.proxy.0.try_wait().unwrap() {
            break s;
        }
        assert!(start.elapsed() < Duration::from_secs(10), "still running after SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "{status:?}\n{}", log_of(&w.dir));
    assert!(TcpStream::connect(w.addr).is_err(), "still listening after SIGTERM");
}
