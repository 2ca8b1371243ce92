//! `sealpost filter imap`, first version, between Python's imaplib and a private Dovecot: through the
//! proxy the client sees the decrypted text with the verification header (and RFC822.SIZE agreeing with
//! what it got), direct to Dovecot it sees the ciphertext; a plaintext message, whose body holds lines that
//! look like IMAP (`A1 LOGOUT`, `{5}`, `* BYE`), passes byte for byte and the session goes on.

#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::Killed as Proxy;
use common::dovecot::{Dovecot, PASSWORD, imap_fetch_all, python_clients};
use common::smtp::{free_port, wait_for_port};
use common::{peer, run_ok, scratch};

fn sealpost() -> Command {
    Command::new(env!("CARGO_BIN_EXE_sealpost"))
}

/// A private Dovecot where Bob has, in INBOX, a message Carol signed and encrypted to him with gpg (UID 1)
/// and a plaintext message whose body holds lines that look like IMAP (UID 2); and the proxy in front of it
/// with a keystore holding Bob's secret key and Carol's certificate.
struct World {
    dovecot: Dovecot,
    dir: std::path::PathBuf,
    encrypted: Vec<u8>,
    plain: Vec<u8>,
    addr: SocketAddr,
    proxy: Proxy,
}

fn world(test: &str, extra_config: &str) -> Option<World> {
    let gpg_bin = peer(test, "gpg")?;
    python_clients(test)?;
    let dovecot = Dovecot::start(test)?;
    let dir = scratch(test);
    let common::sealed::BobAndCarol { ks, encrypted } = common::sealed::bob_and_carol(&gpg_bin, &dir);
    let plain = b"From: Dan <dan@example.net>\r\nTo: bob@example.org\r\nSubject: lines\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=p\r\n\r\n--p\r\nContent-Type: text/plain\r\n\r\nA1 LOGOUT\r\n{5}\r\n* BYE going away\r\n.\r\n--p--\r\n".to_vec();
    dovecot.deliver("bob@example.org", &encrypted);
    dovecot.deliver("bob@example.org", &plain);

    let port = free_port();
    let config = dir.join("imap.toml");
    std::fs::write(
        &config,
        format!(
            "keystore = \"{}\"\nlocal_domains = [\"example.org\"]\nauthserv_id = \"imap.example.org\"\n[imap]\nlisten = \"127.0.0.1:{port}\"\nupstream = \"{}\"\n{extra_config}",
            ks.display(),
            dovecot.imap_addr()
        ),
    )
    .unwrap();
    let log = std::fs::File::create(dir.join("proxy.log")).unwrap();
    let proxy = Proxy(
        sealpost()
            .args(["filter", "imap", "--config"])
            .arg(&config)
            .env("SEALPOST_LOG", "debug")
            .stderr(log)
            .stdout(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    assert!(wait_for_port(addr, Duration::from_secs(20)), "the proxy did not listen");
    Some(World { dovecot, dir, encrypted, plain, addr, proxy })
}

impl World {
    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("proxy.log")).unwrap_or_default()
    }
}

#[test]
fn fetch_through_the_proxy_is_decrypted_and_plaintext_passes_unchanged() {
    let Some(w) = world("imap_proxy_first_version", "") else { return };
    // Direct: ciphertext.
    let direct = imap_fetch_all(w.dovecot.imap_addr(), "bob@example.org", PASSWORD).unwrap();
    assert_eq!(direct.messages.len(), 2);
    assert!(String::from_utf8_lossy(&direct.messages[0].body).contains("BEGIN PGP MESSAGE"));
    assert_eq!(direct.messages[0].body, w.encrypted);

    // Through the proxy: the decrypted message with our header; the size agrees; the plaintext is unchanged.
    let proxied = imap_fetch_all(w.addr, "bob@example.org", PASSWORD).unwrap_or_else(|e| panic!("{e}\n{}", w.log()));
    assert_eq!(proxied.messages.len(), 2);
    let opened = String::from_utf8_lossy(&proxied.messages[0].body).into_owned();
    assert!(opened.starts_with("Sealpost-Verification: imap.example.org; format=pgp; status=pass;"), "{opened}");
    assert!(opened.contains("The secret plan.") && !opened.contains("BEGIN PGP MESSAGE"), "{opened}");
    assert_eq!(proxied.messages[0].size, proxied.messages[0].body.len() as u64, "RFC822.SIZE disagrees with BODY[]");
    assert_eq!(proxied.messages[1].body, direct.messages[1].body);
    assert_eq!(proxied.messages[1].body, w.plain);
    assert_eq!(proxied.messages[1].size, direct.messages[1].size);
}

/// What `tests/support/imap_items.py` got: per message, per item, the raw response and its literals.
struct Items {
    json: serde_json::Value,
}

impl Items {
    fn fetch(addr: SocketAddr, mode: &str) -> Items {
        let out = run_ok(
            Command::new(common::smtp::SYSTEM_PYTHON)
                .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/support/imap_items.py"))
                .args(["127.0.0.1", &addr.port().to_string(), "bob@example.org", PASSWORD, mode]),
        );
        Items { json: serde_json::from_slice(&out.stdout).unwrap() }
    }

    fn item(&self, uid: u64, index: usize) -> (String, Vec<u8>, Vec<Vec<u8>>) {
        let b64 = |v: &serde_json::Value| common::hex(v.as_str().unwrap());
        let m = self.json["messages"].as_array().unwrap().iter().find(|m| m["uid"] == uid).unwrap();
        let i = &m["items"][index];
        (
            i["item"].as_str().unwrap().to_string(),
            b64(&i["raw"]),
            i["literals"].as_array().unwrap().iter().map(b64).collect(),
        )
    }

    fn raw(&self, uid: u64, index: usize) -> String {
        String::from_utf8_lossy(&self.item(uid, index).1).into_owned()
    }

    fn literal(&self, uid: u64, index: usize) -> Vec<u8> {
        let (name, _, mut lits) = self.item(uid, index);
        assert_eq!(lits.len(), 1, "{name}: {lits:?}");
        lits.remove(0)
    }
}

/// Every FETCH item of the encrypted message, asked for alone, describes the same opened message: its
/// header and text make the whole, its size is the whole's length, its structure and envelope are the
/// decrypted ones, partials are slices of it; and none of this set \Seen (the proxy adds BODY.PEEK[]).
/// Every item of the plaintext message is byte for byte what Dovecot answers directly. The same with
/// AUTHENTICATE PLAIN. STARTTLS is refused by the proxy and not offered.
#[test]
fn every_fetch_item_agrees_with_the_opened_message() {
    let Some(w) = world("imap_proxy_items", "") else { return };
    let direct = Items::fetch(w.dovecot.imap_addr(), "login");
    for mode in ["login", "plain"] {
        let p = Items::fetch(w.addr, mode);
        assert!(!p.json["capabilities"].as_array().unwrap().iter().any(|c| c == "STARTTLS"), "{}", p.json);
        assert!(p.json["starttls"].as_str().unwrap().starts_with("refused"), "{}", p.json["starttls"]);
        let n = |name: &str| -> usize { (0..).find(|i| p.item(1, *i).0 == name).unwrap() };
        let whole = p.literal(1, n("BODY.PEEK[]"));
        let text = String::from_utf8_lossy(&whole).into_owned();
        assert!(
            text.starts_with("Sealpost-Verification: imap.example.org; format=pgp; status=pass;"),
            "{mode}: {text}\n{}",
            w.log()
        );
        let split = whole.windows(4).position(|x| x == b"\r\n\r\n").unwrap() + 4;
        assert_eq!(p.literal(1, n("BODY.PEEK[HEADER]")), &whole[..split]);
        assert_eq!(p.literal(1, n("RFC822.HEADER")), &whole[..split]);
        assert_eq!(p.literal(1, n("BODY.PEEK[TEXT]")), &whole[split..]);
        assert_eq!(p.literal(1, n("BODY.PEEK[TEXT]")), b"The secret plan.\r\n");
        assert_eq!(p.literal(1, n("BODY.PEEK[1]")), b"The secret plan.\r\n", "part 1 of a single-part message");
        assert_eq!(p.literal(1, n("BODY.PEEK[]<0.100>")), &whole[..100]);
        assert_eq!(p.literal(1, n("BODY.PEEK[]<100.50>")), &whole[100..150]);
        let fields = String::from_utf8(p.literal(1, n("BODY.PEEK[HEADER.FIELDS (SUBJECT FROM)]"))).unwrap();
        assert_eq!(fields, "From: Carol <carol@example.com>\r\nSubject: plan\r\n\r\n");
        let size = p.raw(1, n("RFC822.SIZE"));
        assert!(size.contains(&format!("RFC822.SIZE {}", whole.len())), "{size} vs {}", whole.len());
        let both = p.raw(1, n("(RFC822.SIZE BODY.PEEK[TEXT])"));
        assert!(
            both.contains(&format!("RFC822.SIZE {}", whole.len())) && both.ends_with("The secret plan.\r\n)"),
            "{both}"
        );
        let bs = p.raw(1, n("BODYSTRUCTURE"));
        assert!(bs.contains("BODYSTRUCTURE (\"TEXT\" \"PLAIN\""), "{bs}");
        assert!(!bs.contains("BODY[]") && !bs.to_ascii_uppercase().contains("ENCRYPTED"), "{bs}");
        let body = p.raw(1, n("BODY"));
        assert!(body.contains("BODY (\"TEXT\" \"PLAIN\""), "{body}");
        let env = p.raw(1, n("ENVELOPE"));
        assert!(env.contains("\"plan\"") && env.contains("\"carol\" \"example.com\""), "{env}");
        for i in 0..16 {
            let (name, raw, _) = p.item(1, i);
            if name == "FLAGS" {
                assert!(!String::from_utf8_lossy(&raw).contains("\\Seen"), "{mode}: {}", String::from_utf8_lossy(&raw));
            }
            // The plaintext message: every response byte for byte as Dovecot's.
            let (dname, draw, _) = direct.item(2, i);
            let (pname, praw, _) = p.item(2, i);
            assert_eq!(dname, pname);
            // (\Recent goes to the first session that sees a message: here the direct one.)
            let unrecent = |r: &[u8]| String::from_utf8_lossy(r).replace("\\Recent", "");
            assert_eq!(unrecent(&praw), unrecent(&draw), "{mode}: {name}");
        }
    }
    // Direct, the encrypted message is what was delivered.
    assert_eq!(direct.literal(1, 14), w.encrypted);
    assert!(direct.raw(1, 0).to_ascii_uppercase().contains("\"ENCRYPTED\""), "{}", direct.raw(1, 0));
}

/// A hostile or broken upstream: a literal length no literal can have, an upstream that disconnects in the
/// middle of a literal, and one that disconnects at once. The client's session ends cleanly each time
/// (the connection closes within seconds; nothing hangs).
#[test]
fn hostile_upstream_responses_close_the_session_cleanly() {
    use std::io::{Read, Write};
    const TEST: &str = "imap_proxy_hostile_upstream";
    let dir = scratch(TEST);
    let upstream = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let up_addr = upstream.local_addr().unwrap();
    let port = free_port();
    let config = dir.join("imap.toml");
    std::fs::write(
        &config,
        format!(
            "keystore = \"{}\"\n[imap]\nlisten = \"127.0.0.1:{port}\"\nupstream = \"{up_addr}\"\n",
            dir.join("ks").display()
        ),
    )
    .unwrap();
    let _proxy = Proxy(
        sealpost()
            .args(["filter", "imap", "--config"])
            .arg(&config)
            .stderr(Stdio::null())
            .stdout(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let accept_one = |upstream: &std::net::TcpListener, script: &'static [u8]| {
        let (mut s, _) = upstream.accept().unwrap();
        s.write_all(b"* OK fake server ready\r\n").unwrap();
        let mut buf = [0u8; 256];
        let _ = s.read(&mut buf); // the client's command
        let _ = s.write_all(script);
        // Dropped: the upstream goes away after its script.
    };
    // Wait for the proxy (a connection it accepts will reach our listener: serve a polite one).
    assert!(wait_for_port(addr, Duration::from_secs(20)), "the proxy did not listen");
    let (mut s, _) = upstream.accept().unwrap();
    drop(s.write_all(b"* BYE\r\n"));
    for script in [&b"* 1 FETCH (BODY[] {99999999999}\r\n"[..], b"* 1 FETCH (BODY[] {100}\r\nonly part of it", b""] {
        let mut client = std::net::TcpStream::connect(addr).unwrap();
        client.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        client.write_all(b"a1 FETCH 1 BODY[]\r\n").unwrap();
        accept_one(&upstream, script);
        let mut seen = Vec::new();
        let start = std::time::Instant::now();
        loop {
            let mut buf = [0u8; 4096];
            match client.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => seen.extend_from_slice(&buf[..n]),
                Err(e) => panic!("{script:?}: the session did not end: {e} after {:?}", start.elapsed()),
            }
        }
        let seen = String::from_utf8_lossy(&seen);
        assert!(seen.starts_with("* OK fake server ready\r\n"), "{script:?}: {seen}");
        assert!(!seen.contains("99999999999") && !seen.contains("only part"), "{script:?}: relayed {seen}");
    }
}

/// A raw IMAP client: commands tagged `tN`, responses read as lines and literals by length.
struct Raw {
    r: std::io::BufReader<std::net::TcpStream>,
    w: std::net::TcpStream,
    n: u32,
    greeting: String,
}

impl Raw {
    fn connect(addr: SocketAddr) -> Raw {
        use std::io::BufRead;
        let w = std::net::TcpStream::connect(addr).unwrap();
        w.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        let mut r = std::io::BufReader::new(w.try_clone().unwrap());
        let mut greeting = String::new();
        r.read_line(&mut greeting).unwrap();
        Raw { r, w, n: 0, greeting }
    }

    /// Sends a command; everything up to and including its tagged response.
    fn cmd(&mut self, text: &str) -> Vec<u8> {
        use std::io::{BufRead, Read, Write};
        self.n += 1;
        let tag = format!("t{}", self.n);
        self.w.write_all(format!("{tag} {text}\r\n").as_bytes()).unwrap();
        let mut out = Vec::new();
        loop {
            let mut line = Vec::new();
            let n = self.r.read_until(b'\n', &mut line).unwrap();
            assert!(n > 0, "the connection closed; got {}", String::from_utf8_lossy(&out));
            out.extend_from_slice(&line);
            if let Some(len) = line
                .strip_suffix(b"}\r\n")
                .and_then(|l| l.iter().rposition(|b| *b == b'{').map(|i| &l[i + 1..]))
                .and_then(|d| std::str::from_utf8(d).ok()?.parse::<usize>().ok())
            {
                let start = out.len();
                out.resize(start + len, 0);
                self.r.read_exact(&mut out[start..]).unwrap();
                continue;
            }
            if line.starts_with(format!("{tag} ").as_bytes()) {
                assert!(line.starts_with(format!("{tag} OK").as_bytes()), "{}", String::from_utf8_lossy(&line));
                return out;
            }
        }
    }

    fn login(addr: SocketAddr, user: &str) -> Raw {
        let mut c = Raw::connect(addr);
        c.cmd(&format!("LOGIN {user} {PASSWORD}"));
        c.cmd("SELECT INBOX");
        c
    }
}

/// A response without its last (tagged) line.
fn untagged(response: &[u8]) -> &[u8] {
    let body = &response[..response.len() - 2];
    &response[..body.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1)]
}

/// The peak resident memory of a process, in bytes.
fn peak_memory(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let kb = status.lines().find_map(|l| l.strip_prefix("VmHWM:")).unwrap().trim().trim_end_matches(" kB");
    kb.trim().parse::<u64>().unwrap() * 1024
}

/// A message over `max_message_bytes` (40 MiB here, the bound set at 4 MiB) streams through the proxy byte
/// for byte while the proxy's memory stays bounded, also when the client asked only for its structure (the
/// added BODY.PEEK[] is read past, not held); a client that goes away in the middle of it ends its own
/// session only: the next one gets its mail.
#[test]
fn huge_messages_stream_in_bounded_memory_and_a_client_leaving_ends_only_its_session() {
    let Some(w) = world("imap_proxy_huge", "max_message_bytes = 4194304\n") else { return };
    let mut big = b"From: Dan <dan@example.net>\r\nTo: bob@example.org\r\nSubject: big\r\n\r\n".to_vec();
    let line = b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789abcdefghijklmnopq\r\n";
    while big.len() < 40 << 20 {
        big.extend_from_slice(line);
    }
    w.dovecot.deliver("bob@example.org", &big);
    let pid = w.proxy.0.id();
    let before = peak_memory(pid);

    let mut direct = Raw::login(w.dovecot.imap_addr(), "bob@example.org");
    let mut proxied = Raw::login(w.addr, "bob@example.org");
    let d = direct.cmd("UID FETCH 3 BODY.PEEK[]");
    let p = proxied.cmd("UID FETCH 3 BODY.PEEK[]");
    assert!(p.len() > 40 << 20);
    // (The tagged completions differ: Dovecot says how long each took.)
    assert!(untagged(&p) == untagged(&d), "the big message changed on its way through the proxy");
    let d = direct.cmd("UID FETCH 3 (BODYSTRUCTURE RFC822.SIZE)");
    let p = proxied.cmd("UID FETCH 3 (BODYSTRUCTURE RFC822.SIZE)");
    assert_eq!(String::from_utf8_lossy(untagged(&p)), String::from_utf8_lossy(untagged(&d)));
    let grown = peak_memory(pid).saturating_sub(before);
    assert!(grown < 16 << 20, "the proxy's peak memory grew by {} MiB for a 40 MiB message", grown >> 20);

    // A client that leaves in the middle of the big message.
    {
        use std::io::{Read, Write};
        let mut leaving = Raw::login(w.addr, "bob@example.org");
        leaving.w.write_all(b"x1 UID FETCH 3 BODY.PEEK[]\r\n").unwrap();
        let mut buf = vec![0; 1 << 20];
        leaving.r.read_exact(&mut buf).unwrap();
    }
    let mut next = Raw::login(w.addr, "bob@example.org");
    let opened = String::from_utf8_lossy(&next.cmd("UID FETCH 1 BODY.PEEK[TEXT]")).into_owned();
    assert!(opened.contains("The secret plan."), "{opened}\n{}", w.log());
    let again = String::from_utf8_lossy(&proxied.cmd("UID FETCH 1 BODY.PEEK[TEXT]")).into_owned();
    assert!(again.contains("The secret plan."), "{again}");
}

/// Bob's decrypted message is kept by the proxy; Carol, with a copy of the same message under the same
/// UID in her own INBOX and no key for it, gets the ciphertext and a failing verdict, never Bob's plaintext.
#[test]
fn one_users_opened_mail_is_never_shown_to_another() {
    let Some(w) = world("imap_proxy_users", "") else { return };
    w.dovecot.deliver("carol@example.org", &w.encrypted);
    let mut bob = Raw::login(w.addr, "bob@example.org");
    let mine = String::from_utf8_lossy(&bob.cmd("UID FETCH 1 (UID BODY.PEEK[])")).into_owned();
    assert!(mine.contains("The secret plan.") && mine.contains("status=pass"), "{mine}");
    let mut carol = Raw::login(w.addr, "carol@example.org");
    for items in ["(UID BODY.PEEK[])", "(UID BODY.PEEK[TEXT])", "(UID BODYSTRUCTURE)"] {
        let hers = String::from_utf8_lossy(&carol.cmd(&format!("UID FETCH 1 {items}"))).into_owned();
        assert!(!hers.contains("The secret plan.") && !hers.contains("\"TEXT\" \"PLAIN\""), "{items}: {hers}");
    }
    let hers = String::from_utf8_lossy(&carol.cmd("UID FETCH 1 BODY.PEEK[]")).into_owned();
    assert!(hers.contains("BEGIN PGP MESSAGE") && hers.contains("status=fail"), "{hers}");
}

/// `max_connections`: the client over it gets BYE; `timeout_seconds`: an idle client is closed; SIGTERM:
/// the proxy stops listening and exits once its sessions ended (within `shutdown_seconds`).
#[test]
fn limits_timeouts_and_sigterm() {
    use std::io::Read;
    let Some(mut w) = world("imap_proxy_limits", "max_connections = 1\ntimeout_seconds = 2\nshutdown_seconds = 3\n")
    else {
        return;
    };
    // The connection that saw the proxy listen may hold the one slot for a moment.
    let start = std::time::Instant::now();
    let first = loop {
        let c = Raw::connect(w.addr);
        if c.greeting.starts_with("* OK") || start.elapsed() > Duration::from_secs(10) {
            break c;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(first.greeting.starts_with("* OK"), "{}", first.greeting);
    let second = Raw::connect(w.addr);
    assert!(second.greeting.starts_with("* BYE [UNAVAILABLE]"), "{}", second.greeting);
    // The idle first client is closed after about 2 s.
    let start = std::time::Instant::now();
    let mut r = first.r;
    let mut rest = Vec::new();
    let _ = r.read_to_end(&mut rest);
    assert!(start.elapsed() < Duration::from_secs(10), "an idle client was kept {:?}", start.elapsed());
    // Its slot is free again.
    let mut third = Raw::login(w.addr, "bob@example.org");
    assert!(String::from_utf8_lossy(&third.cmd("UID FETCH 2 FLAGS")).contains("FLAGS"));
    let pid = rustix::process::Pid::from_raw(w.proxy.0.id() as i32).unwrap();
    rustix::process::kill_process(pid, rustix::process::Signal::TERM).unwrap();
    let start = std::time::Instant::now();
    let status = loop {
        if let Some(s) = w.proxy.0.try_wait().unwrap() {
            break s;
        }
        assert!(start.elapsed() < Duration::from_secs(10), "still running after SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "{status:?}\n{}", w.log());
    assert!(std::net::TcpStream::connect(w.addr).is_err(), "still listening after SIGTERM");
}

/// Messages made by other tools and by sealpost itself: an S/MIME message openssl encrypted to Bob's X.509
/// certificate, and a PGP/MIME message sealpost signed and encrypted with header protection (RFC 9788: the
/// outer Subject is `[...]`). Through the proxy the first is decrypted; the second shows its real Subject,
/// in the header and in ENVELOPE; directly, Dovecot shows ciphertext and `[...]`.
#[test]
fn smime_from_openssl_and_protected_headers_through_the_proxy() {
    const TEST: &str = "imap_proxy_smime";
    let Some(openssl) = peer(TEST, "openssl") else { return };
    let Some(w) = world(TEST, "") else { return };
    let ks = w.dir.join("ks");
    run_ok(
        sealpost()
            .args(["key", "generate", "--type", "x509", "--uid", "Bob <bob@example.org>", "--output"])
            .arg(w.dir.join("bobx")),
    );
    run_ok(
        sealpost()
            .arg("--keystore")
            .arg(&ks)
            .args(["key", "import"])
            .arg(w.dir.join("bobx.key"))
            .arg(w.dir.join("bobx.cert")),
    );
    std::fs::write(w.dir.join("smime-inner.eml"), "Content-Type: text/plain\r\n\r\nThe S/MIME secret.\r\n").unwrap();
    let smime = run_ok(
        Command::new(&openssl)
            .args(["smime", "-encrypt", "-aes256", "-from", "carol@example.com", "-to", "bob@example.org"])
            .args(["-subject", "smime plan", "-in"])
            .arg(w.dir.join("smime-inner.eml"))
            .arg(w.dir.join("bobx.cert")),
    )
    .stdout;
    let smime = common::dovecot::crlf(&smime);
    w.dovecot.deliver("bob@example.org", &smime); // UID 3

    std::fs::write(
        w.dir.join("protected.eml"),
        "From: Carol <carol@example.com>\r\nTo: Bob <bob@example.org>\r\nSubject: The real subject\r\nMIME-Version: 1.0\r\nContent-Type: text/plain\r\n\r\nProtected text.\r\n",
    )
    .unwrap();
    let sealed = run_ok(
        sealpost()
            .args(["mail", "sign-encrypt", "--format", "pgp", "--key"])
            .arg(w.dir.join("carol.key"))
            .arg("--recipient")
            .arg(w.dir.join("bob.cert"))
            .arg(w.dir.join("protected.eml")),
    )
    .stdout;
    assert!(String::from_utf8_lossy(&sealed).contains("Subject: [...]"), "{}", String::from_utf8_lossy(&sealed));
    w.dovecot.deliver("bob@example.org", &sealed); // UID 4

    let mut direct = Raw::login(w.dovecot.imap_addr(), "bob@example.org");
    let mut proxied = Raw::login(w.addr, "bob@example.org");
    let d = String::from_utf8_lossy(&direct.cmd("UID FETCH 3 BODY.PEEK[]")).into_owned();
    assert!(d.contains("application/pkcs7-mime") || d.contains("application/x-pkcs7-mime"), "{d}");
    let p = String::from_utf8_lossy(&proxied.cmd("UID FETCH 3 BODY.PEEK[]")).into_owned();
    assert!(p.contains("format=smime; status=") && p.contains("The S/MIME secret."), "{p}\n{}", w.log());
    let bs = String::from_utf8_lossy(&proxied.cmd("UID FETCH 3 BODYSTRUCTURE")).into_owned();
    assert!(bs.contains("(\"TEXT\" \"PLAIN\""), "{bs}");

    let d = String::from_utf8_lossy(&direct.cmd("UID FETCH 4 ENVELOPE")).into_owned();
    assert!(d.contains("\"[...]\""), "{d}");
    let p = String::from_utf8_lossy(&proxied.cmd("UID FETCH 4 ENVELOPE")).into_owned();
    assert!(p.contains("\"The real subject\""), "{p}");
    let p = String::from_utf8_lossy(&proxied.cmd("UID FETCH 4 (BODY.PEEK[HEADER.FIELDS (SUBJECT)] BODY.PEEK[TEXT])"))
        .into_owned();
    assert!(p.contains("Subject: The real subject\r\n") && p.contains("Protected text."), "{p}");
    let p = String::from_utf8_lossy(&proxied.cmd("UID FETCH 4 BODY.PEEK[HEADER]")).into_owned();
    assert!(p.contains("format=pgp; status=pass"), "{p}");
}
