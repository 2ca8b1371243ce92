//! The private Dovecot of tests/common/dovecot.rs, checked with independent clients (Python's imaplib and
//! poplib) before the IMAP and POP3 filters are tested against it:
//!
//! - LOGIN works for the configured users and fails (at once, without Dovecot's failure delay) for a wrong
//!   password or an unknown user; plain IMAP without STARTTLS;
//! - a delivered message comes back byte for byte with `FETCH n BODY.PEEK[]` and with `RETR n`, in delivery
//!   order, only to its own user; `RFC822.SIZE` and the POP3 sizes equal the delivered size (CRLF line
//!   ends); a message delivered with LF line ends is served with CRLF and sized so;
//! - it listens on its two loopback ports and nothing else, and is gone (processes, ports, directory) once
//!   dropped;
//! - two instances started in parallel do not collide.
//!
//! Needs Dovecot's IMAP and POP3 servers (Debian: dovecot-imapd, dovecot-pop3d) and /usr/bin/python3;
//! each test skips with a printed reason when one is missing, and fails under `SEALPOST_REQUIRE_PEERS=1`.

#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeSet;
use std::fs;
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::time::{Duration, Instant};

use common::dovecot::{self, Dovecot, PASSWORD, crlf, imap_fetch_all, pop3_retr_all};

/// A Dovecot and the Python clients, or `None` (skip).
fn start(test: &str) -> Option<Dovecot> {
    dovecot::python_clients(test)?;
    Dovecot::start(test)
}

/// A message with CRLF line ends and the things a byte-for-byte check should see survive: a line that is a
/// lone dot and one that starts with dots (POP3 dot-stuffs them), 8-bit UTF-8 in a header and the body,
/// trailing spaces, a tab, an empty last body line, and a 2,000-byte line.
fn crlf_message(n: usize) -> Vec<u8> {
    let mut m = format!(
        "Return-Path: <alice@example.org>\r\n\
         From: Alice <alice@example.org>\r\n\
         To: Bob <bob@example.org>\r\n\
         Subject: =?utf-8?q?Gr=C3=BC=C3=9Fe?= {n}\r\n\
         Message-ID: <harness-{n}@example.org>\r\n\
         X-Raw: Grüße aus Köln\r\n\
         MIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\
         Content-Transfer-Encoding: 8bit\r\n\
         \r\n\
         Message {n}.\r\n\
         .\r\n\
         ..two dots\r\n\
         trailing spaces   \r\n\
         \ttab\r\n\
         Grüße, ½ €\r\n"
    )
    .into_bytes();
    m.extend(std::iter::repeat_n(b'x', 2000));
    m.extend_from_slice(b"\r\n\r\n");
    m
}

#[test]
fn imap_login_and_fetch_byte_for_byte() {
    let Some(dc) = start("imap_login_and_fetch_byte_for_byte") else { return };
    let bob = [crlf_message(1), crlf_message(2)];
    let carol = crlf_message(3);
    for m in &bob {
        dc.deliver("bob@example.org", m);
    }
    dc.deliver("carol@example.org", &carol);

    let mb = imap_fetch_all(dc.imap_addr(), "bob@example.org", PASSWORD)
        .unwrap_or_else(|e| panic!("bob's login or fetch failed: {e}\n{}", dc.log()));
    assert!(mb.capabilities.iter().any(|c| c == "IMAP4REV1"), "{:?}", mb.capabilities);
    assert!(!mb.capabilities.iter().any(|c| c == "STARTTLS"), "ssl = no, yet {:?}", mb.capabilities);
    assert_eq!(mb.exists, 2);
    assert_eq!(mb.messages.len(), 2);
    for (i, (got, want)) in mb.messages.iter().zip(&bob).enumerate() {
        assert_eq!(got.seq as usize, i + 1);
        assert_eq!(got.uid as usize, i + 1, "UIDs follow delivery order");
        assert!(got.body == *want, "message {}: BODY[] differs:\n{}", i + 1, String::from_utf8_lossy(&got.body));
        assert_eq!(got.size, want.len() as u64, "message {}: RFC822.SIZE", i + 1);
    }
    // BODY.PEEK[] left them unseen; a second session fetches the same bytes.
    let again = imap_fetch_all(dc.imap_addr(), "bob@example.org", PASSWORD).unwrap();
    assert_eq!(again.messages, mb.messages);

    let mb = imap_fetch_all(dc.imap_addr(), "carol@example.org", PASSWORD).unwrap();
    assert_eq!(mb.messages.len(), 1, "carol sees her message only");
    assert!(mb.messages[0].body == carol);

    let began = Instant::now();
    for (user, password) in [("bob@example.org", "wrong"), ("nobody@example.org", PASSWORD), ("bob@example.org", "")] {
        let err = imap_fetch_all(dc.imap_addr(), user, password).map(|_| ()).unwrap_err();
        assert!(err.contains("AUTHENTICATIONFAILED") || err.contains("failed"), "{user}/{password}: {err}");
    }
    // Dovecot's default is a 2 s delay per failure (and a growing penalty per IP); both are off here.
    assert!(began.elapsed() < Duration::from_secs(5), "three failed logins took {:?}", began.elapsed());
    assert!(dc.log().contains("Login: user=<bob@example.org>, method=PLAIN"), "{}", dc.log());
}

#[test]
fn pop3_retr_byte_for_byte() {
    let Some(dc) = start("pop3_retr_byte_for_byte") else { return };
    let bob = [crlf_message(1), crlf_message(2), b"Subject: short\r\n\r\n.\r\n".to_vec()];
    for m in &bob {
        dc.deliver("bob@example.org", m);
    }
    let mb = pop3_retr_all(dc.pop3_addr(), "bob@example.org", PASSWORD)
        .unwrap_or_else(|e| panic!("bob's POP3 session failed: {e}\n{}", dc.log()));
    let total: usize = bob.iter().map(Vec::len).sum();
    assert_eq!(mb.stat, (3, total as u64));
    assert_eq!(mb.messages.len(), 3);
    for (i, (got, want)) in mb.messages.iter().zip(&bob).enumerate() {
        assert_eq!(got.number as usize, i + 1);
        assert_eq!(got.size, want.len() as u64, "message {}: LIST size", i + 1);
        assert!(got.body == *want, "message {}: RETR differs:\n{}", i + 1, String::from_utf8_lossy(&got.body));
    }
    let uidls: BTreeSet<&str> = mb.messages.iter().map(|m| m.uidl.as_str()).collect();
    assert_eq!(uidls.len(), 3, "distinct UIDLs: {:?}", mb.messages.iter().map(|m| &m.uidl).collect::<Vec<_>>());

    // Carol's mailbox is empty; a wrong password is refused.
    let mb = pop3_retr_all(dc.pop3_addr(), "carol@example.org", PASSWORD).unwrap();
    assert_eq!(mb.stat, (0, 0));
    let err = pop3_retr_all(dc.pop3_addr(), "carol@example.org", "wrong").map(|_| ()).unwrap_err();
    assert!(err.contains("-ERR"), "{err}");

    // IMAP sees the same messages (POP3 RETR only set \Seen).
    let imap = imap_fetch_all(dc.imap_addr(), "bob@example.org", PASSWORD).unwrap();
    let bodies: Vec<&Vec<u8>> = imap.messages.iter().map(|m| &m.body).collect();
    assert_eq!(bodies, bob.iter().collect::<Vec<_>>());
}

#[test]
fn lf_line_ends_are_served_as_crlf() {
    let Some(dc) = start("lf_line_ends_are_served_as_crlf") else { return };
    let lf: Vec<u8> = crlf_message(1).into_iter().filter(|&b| b != b'\r').collect();
    let path = dc.deliver("bob@example.org", &lf);
    assert!(path.starts_with(dc.maildir("bob@example.org").join("new")), "{}", path.display());
    let want = crlf(&lf);
    assert!(want == crlf_message(1));

    let imap = imap_fetch_all(dc.imap_addr(), "bob@example.org", PASSWORD).unwrap();
    assert_eq!(imap.messages.len(), 1);
    assert!(imap.messages[0].body == want, "{}", String::from_utf8_lossy(&imap.messages[0].body));
    assert_eq!(imap.messages[0].size, want.len() as u64, "RFC822.SIZE counts CRLF line ends");
    let pop = pop3_retr_all(dc.pop3_addr(), "bob@example.org", PASSWORD).unwrap();
    assert_eq!(pop.messages[0].size, want.len() as u64, "the LIST size counts CRLF line ends");
    assert!(pop.messages[0].body == want);

    // The file itself is unchanged: Dovecot moved it to cur/ (adding flags to its name), nothing more.
    assert!(!path.exists());
    let cur: Vec<_> = fs::read_dir(dc.maildir("bob@example.org").join("cur")).unwrap().flatten().collect();
    assert_eq!(cur.len(), 1);
    let name = cur[0].file_name().into_string().unwrap();
    assert!(name.starts_with(path.file_name().unwrap().to_str().unwrap()), "{name}");
    assert!(fs::read(cur[0].path()).unwrap() == lf);
}

/// The listening TCP sockets and the UDP sockets that the processes `pids` have, as
/// "tcp-listen 127.0.0.1:143" or "udp 0.0.0.0:53".
fn sockets_of(pids: &[i32]) -> BTreeSet<String> {
    let inodes: BTreeSet<String> = pids
        .iter()
        .flat_map(|pid| fs::read_dir(format!("/proc/{pid}/fd")).into_iter().flatten().flatten())
        .filter_map(|fd| {
            let link = fs::read_link(fd.path()).ok()?;
            Some(link.to_str()?.strip_prefix("socket:[")?.strip_suffix(']')?.to_string())
        })
        .collect();
    let mut found = BTreeSet::new();
    for table in ["tcp", "tcp6", "udp", "udp6"] {
        let text = fs::read_to_string(format!("/proc/net/{table}")).unwrap_or_default();
        for line in text.lines().skip(1) {
            let f: Vec<&str> = line.split_whitespace().collect();
            if f.len() < 10 || !inodes.contains(f[9]) {
                continue;
            }
            let (ip, port) = f[1].split_once(':').unwrap();
            let ip = if ip.len() == 8 {
                let v = u32::from_str_radix(ip, 16).unwrap();
                std::net::Ipv4Addr::from(v.to_le_bytes()).to_string()
            } else {
                format!("[{ip}]")
            };
            let port = u16::from_str_radix(port, 16).unwrap();
            // Connected TCP sockets are sessions (or the start's readiness check, closing); state 0A is LISTEN.
            if table.starts_with("tcp") && f[3] != "0A" {
                continue;
            }
            found.insert(format!(
                "{}{} {ip}:{port}",
                table.trim_end_matches('6'),
                if table.starts_with("tcp") { "-listen" } else { "" }
            ));
        }
    }
    found
}

#[test]
fn listens_on_its_two_ports_only_and_leaves_nothing() {
    let Some(dc) = start("listens_on_its_two_ports_only_and_leaves_nothing") else { return };
    let pids = dc.pids();
    assert!(pids.len() >= 3, "master, log, config, ...: {pids:?}");
    assert!(dc.master_pid().is_some_and(|m| pids.contains(&m)));
    let want: BTreeSet<String> =
        [dc.imap_port(), dc.pop3_port()].iter().map(|p| format!("tcp-listen 127.0.0.1:{p}")).collect();
    assert_eq!(sockets_of(&pids), want);

    // A session (imap and imap-login processes come and go) changes nothing.
    dc.deliver("bob@example.org", b"Subject: x\r\n\r\nx\r\n");
    imap_fetch_all(dc.imap_addr(), "bob@example.org", PASSWORD).unwrap();

    // Stopped with a session open: its processes are gone too.
    let mut open = TcpStream::connect(dc.imap_addr()).unwrap();
    open.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut greeting = [0u8; 4];
    std::io::Read::read_exact(&mut open, &mut greeting).unwrap();
    assert_eq!(&greeting, b"* OK");
    let (dir, imap, pop3) = (dc.dir().to_path_buf(), dc.imap_addr(), dc.pop3_addr());
    let still = || {
        let title = format!("dovecot-{}/", dir.file_name().unwrap().to_str().unwrap());
        fs::read_dir("/proc")
            .unwrap()
            .flatten()
            .filter(|e| fs::read(e.path().join("cmdline")).is_ok_and(|c| c.starts_with(title.as_bytes())))
            .count()
    };
    assert!(still() > 0);
    drop(dc);
    assert_eq!(still(), 0, "processes of the instance survived its drop");
    assert!(!dir.exists(), "{} was not removed", dir.display());
    for addr in [imap, pop3] {
        assert!(TcpStream::connect_timeout(&addr, Duration::from_secs(2)).is_err(), "{addr} still accepts");
    }
}

#[test]
fn two_instances_in_parallel_do_not_collide() {
    if dovecot::python_clients("two_instances_in_parallel_do_not_collide").is_none() {
        return;
    }
    let started = std::thread::scope(|s| {
        let a = s.spawn(|| Dovecot::start("two_instances_in_parallel_do_not_collide"));
        let b = s.spawn(|| Dovecot::start("two_instances_in_parallel_do_not_collide"));
        (a.join().unwrap(), b.join().unwrap())
    });
    let (Some(a), Some(b)) = started else { return };
    let ports: BTreeSet<u16> = [a.imap_port(), a.pop3_port(), b.imap_port(), b.pop3_port()].into();
    assert_eq!(ports.len(), 4);
    assert_ne!(a.dir(), b.dir());
    let (ma, mb) = (crlf_message(1), crlf_message(2));
    a.deliver("bob@example.org", &ma);
    b.deliver("bob@example.org", &mb);

    // Both at once, each serving its own mailbox.
    let (ra, rb) = std::thread::scope(|s| {
        let ra = s.spawn(|| imap_fetch_all(a.imap_addr(), "bob@example.org", PASSWORD));
        let rb = s.spawn(|| pop3_retr_all(b.pop3_addr(), "bob@example.org", PASSWORD));
        (ra.join().unwrap().unwrap(), rb.join().unwrap().unwrap())
    });
    assert_eq!(ra.messages.len(), 1);
    assert!(ra.messages[0].body == ma);
    assert_eq!(rb.messages.len(), 1);
    assert!(rb.messages[0].body == mb);

    // Stopping one leaves the other running.
    let a_imap: SocketAddr = a.imap_addr();
    drop(a);
    assert!(TcpStream::connect_timeout(&a_imap, Duration::from_secs(2)).is_err());
    let rb = imap_fetch_all(b.imap_addr(), "bob@example.org", PASSWORD).unwrap();
    assert!(rb.messages[0].body == mb);
    assert!(Path::new(b.dir()).join("dovecot.log").is_file());
}
