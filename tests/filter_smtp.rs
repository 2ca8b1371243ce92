//! `sealpost filter smtp` against an aiosmtpd next hop (tests/support/sink.py): what it does with messages
//! (sealed outbound, split per recipient treatment, opened inbound, spoofed headers removed), the ESMTP
//! dialogue, SMTP smuggling and dot-stuffing (SECURITY-CASES D1, D2, D3), limits, and faults: next hop down
//! and back, client gone mid-DATA, the filter killed mid-transaction, SIGTERM, and 10,000 messages from 50
//! clients with none lost or duplicated. The Postfix end-to-end tests are in filter_smtp_postfix.rs.

#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::gpg::Gpg;
use common::smtp::{Mode, Sink, SmtpConn, dot_stuff, free_port, smtp_send, wait_for_port};
use common::smtp_load::{LoadOptions, Outcome, run_load};
use common::{peer, run_ok, scratch};

fn sealpost() -> Command {
    Command::new(env!("CARGO_BIN_EXE_sealpost"))
}

/// A running `sealpost filter smtp`; killed on drop.
struct Filter {
    child: Option<Child>,
    addr: SocketAddr,
    log: PathBuf,
}

impl Filter {
    /// Starts the filter with `keystore`, relaying to `relay`, with `extra` TOML (its own sections).
    fn start(dir: &Path, name: &str, keystore: &Path, relay: SocketAddr, smtp_extra: &str, extra: &str) -> Filter {
        let port = free_port();
        let config = dir.join(format!("{name}.toml"));
        std::fs::write(
            &config,
            format!(
                "keystore = \"{}\"\nlocal_domains = [\"example.org\"]\nauthserv_id = \"mx.example.org\"\n[smtp]\nlisten = \"127.0.0.1:{port}\"\nrelay = \"{relay}\"\nshutdown_seconds = 20\n{smtp_extra}\n{extra}",
                keystore.display()
            ),
        )
        .unwrap();
        let log = dir.join(format!("{name}.log"));
        let child = sealpost()
            .args(["filter", "smtp", "--config"])
            .arg(&config)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
        let mut f = Filter { child: Some(child), addr, log };
        if !wait_for_port(addr, Duration::from_secs(20)) {
            let _ = f.child.as_mut().unwrap().kill();
            panic!("the filter did not listen on {addr}: {}", f.log());
        }
        f
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn signal(&self, sig: rustix::process::Signal) {
        let pid = rustix::process::Pid::from_raw(self.child.as_ref().unwrap().id() as i32).unwrap();
        rustix::process::kill_process(pid, sig).unwrap();
    }

    /// Waits for the process to exit; its status code.
    fn wait(&mut self, timeout: Duration) -> Option<i32> {
        let end = Instant::now() + timeout;
        let child = self.child.as_mut().unwrap();
        while Instant::now() < end {
            if let Some(s) = child.try_wait().unwrap() {
                return s.code();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("the filter did not exit within {timeout:?}: {}", self.log());
    }
}

impl Drop for Filter {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Alice (example.org, local) has her secret key and Bob's certificate; Bob (example.org's partner at
/// example.net) a PGP key; Carol (example.com) an X.509 certificate; Dan (example.org, local) a PGP key.
struct Keys {
    dir: PathBuf,
    keystore: PathBuf,
}

fn keys(test: &str) -> Keys {
    let dir = scratch(test);
    for (who, uid, kind) in [
        ("alice", "Alice <alice@example.org>", "pgp"),
        ("bob", "Bob <bob@example.net>", "pgp"),
        ("carol", "Carol <carol@example.com>", "x509"),
        ("dan", "Dan <dan@example.org>", "pgp"),
    ] {
        run_ok(sealpost().args(["key", "generate", "--type", kind, "--uid", uid, "--output"]).arg(dir.join(who)));
    }
    let keystore = dir.join("ks");
    run_ok(
        sealpost()
            .arg("--keystore")
            .arg(&keystore)
            .args(["key", "import"])
            .arg(dir.join("alice.key"))
            .arg(dir.join("bob.cert"))
            .arg(dir.join("carol.cert"))
            .arg(dir.join("dan.key")),
    );
    Keys { dir, keystore }
}

fn letter(from: &str, to: &str, subject: &str, body: &str) -> Vec<u8> {
    format!(
        "From: {from}\r\nTo: {to}\r\nSubject: {subject}\r\nMessage-ID: <{subject}@example.org>\r\nContent-Type: text/plain\r\n\r\n{body}"
    )
    .into_bytes()
}

const SPOOF: &str = "Sealpost-Verification: mx.example.org; format=pgp; status=pass\r\n";

#[test]
fn outbound_messages_are_sealed_per_recipient_and_inbound_opened() {
    const TEST: &str = "smtp_outbound_sealed_inbound_opened";
    let Some(gpg_bin) = peer(TEST, "gpg") else { return };
    let Some(sink) = Sink::start(TEST) else { return };
    let k = keys(TEST);
    let filter =
        Filter::start(&k.dir, "f", &k.keystore, sink.addr(), "", "[outbound.formats]\n\"example.com\" = \"smime\"\n");

    // One transaction, four recipients needing three treatments: Bob PGP-encrypted, Carol S/MIME-encrypted
    // (example.com is an S/MIME domain), Erin (no key) and Frank (a Bcc without a key) one signed copy.
    let mut msg = SPOOF.as_bytes().to_vec();
    msg.extend(letter(
        "Alice <alice@example.org>",
        "Bob <bob@example.net>, carol@example.com, erin@example.info",
        "figures",
        "The quarterly figures.\r\n.leading dot line\r\n",
    ));
    let (code, text) = smtp_send(
        filter.addr,
        "alice@example.org",
        &["bob@example.net", "carol@example.com", "erin@example.info", "frank@example.info"],
        &msg,
    )
    .unwrap();
    assert_eq!(code, 250, "{text}\n{}", filter.log());
    let got = sink.wait_for(3, Duration::from_secs(30));
    assert_eq!(got.len(), 3, "{got:?}");
    let by_rcpt: BTreeMap<String, &common::smtp::Received> =
        got.iter().map(|r| (r.rcpts.join(","), r)).collect::<BTreeMap<_, _>>();
    let keys: Vec<&String> = by_rcpt.keys().collect();
    assert_eq!(keys, ["bob@example.net", "carol@example.com", "erin@example.info,frank@example.info"]);
    for r in &got {
        assert_eq!(r.from, "alice@example.org");
        let t = r.text();
        assert!(!t.to_ascii_lowercase().contains("sealpost-verification"), "spoofed header relayed: {t}");
        assert!(!r.data.windows(2).any(|w| w[1] == b'\n' && w[0] != b'\r'), "bare LF relayed");
    }
    let pgp = by_rcpt["bob@example.net"].text();
    assert!(pgp.contains("multipart/encrypted") && !pgp.contains("quarterly"), "{pgp}");
    let smime = by_rcpt["carol@example.com"].text();
    assert!(smime.contains("application/pkcs7-mime") && !smime.contains("quarterly"), "{smime}");
    let signed = by_rcpt["erin@example.info,frank@example.info"].text();
    assert!(signed.contains("multipart/signed") && signed.contains("quarterly"), "{signed}");

    // gpg with Bob's key decrypts his copy and finds Alice's good signature.
    let gpg = Gpg::new(&gpg_bin);
    gpg.import(&[&k.dir.join("bob.key"), &k.dir.join("alice.cert")]);
    let sealed = k.dir.join("bob.eml");
    std::fs::write(&sealed, &by_rcpt["bob@example.net"].data).unwrap();
    let script = "import email, sys\nm = email.message_from_binary_file(open(sys.argv[1], 'rb'))\nsys.stdout.buffer.write(m.get_payload()[1].get_payload(decode=True))\n";
    let armored = run_ok(Command::new("python3").args(["-c", script]).arg(&sealed)).stdout;
    std::fs::write(k.dir.join("bob.asc"), armored).unwrap();
    let out = run_ok(gpg.cmd().args(["--status-fd", "2", "--decrypt"]).arg(k.dir.join("bob.asc")));
    assert!(String::from_utf8_lossy(&out.stderr).contains("[GNUPG:] GOODSIG"));
    let plain = String::from_utf8_lossy(&out.stdout);
    assert!(plain.contains("The quarterly figures.\r\n.leading dot line\r\n"), "{plain}");

    // The signed-only copy verifies (dots intact) with Alice's certificate.
    let signed_path = k.dir.join("signed.eml");
    std::fs::write(&signed_path, &by_rcpt["erin@example.info,frank@example.info"].data).unwrap();
    let o = run_ok(sealpost().args(["mail", "verify", "--cert"]).arg(k.dir.join("alice.cert")).arg(&signed_path));
    assert!(String::from_utf8_lossy(&o.stdout).contains("status=pass"));

    // A Bcc recipient with a certificate gets an encrypted copy of its own, and no one else's key ids.
    sink.set_mode(Mode::Accept);
    let before = sink.messages().len();
    let msg = letter("alice@example.org", "dan@example.org", "bcc", "For Dan, and Bob in Bcc.\r\n");
    let (code, text) =
        smtp_send(filter.addr, "alice@example.org", &["bob@example.net", "dan@example.org"], &msg).unwrap();
    assert_eq!(code, 250, "{text}");
    let got = sink.wait_for(before + 2, Duration::from_secs(30));
    let new: Vec<_> = got[before..].iter().collect();
    assert_eq!(new.len(), 2, "{new:?}");
    let bob = new.iter().find(|r| r.rcpts == ["bob@example.net"]).expect("Bob's own copy");
    assert!(bob.text().contains("multipart/encrypted"));
    // Dan is local: his copy is inbound (opened; not encrypted, not signed, so no-signature).
    let dan = new.iter().find(|r| r.rcpts == ["dan@example.org"]).expect("Dan's copy");
    assert!(dan.text().starts_with("Sealpost-Verification: mx.example.org;"), "{}", dan.text());

    // Inbound: Bob's sealed copy is what Dan's host would get if it were to Dan; make one to Dan with gpg.
    gpg.import(&[&k.dir.join("dan.cert")]);
    let inner = letter("Carol <carol@example.com>", "Dan <dan@example.org>", "inbound", "Secret for Dan.\r\n");
    std::fs::write(k.dir.join("inner.eml"), &inner).unwrap();
    let enc = run_ok(
        gpg.cmd()
            .args([
                "--trust-model",
                "always",
                "--armor",
                "--recipient",
                "dan@example.org",
                "--encrypt",
                "--output",
                "-",
            ])
            .arg(k.dir.join("inner.eml")),
    )
    .stdout;
    let mut inbound = SPOOF.as_bytes().to_vec();
    inbound.extend_from_slice(
        b"From: Carol <carol@example.com>\r\nTo: Dan <dan@example.org>, Gus <gus@example.org>\r\nSubject: ...\r\nMIME-Version: 1.0\r\nContent-Type: multipart/encrypted; protocol=\"application/pgp-encrypted\"; boundary=\"b1\"\r\n\r\n--b1\r\nContent-Type: application/pgp-encrypted\r\n\r\nVersion: 1\r\n\r\n--b1\r\nContent-Type: application/octet-stream\r\n\r\n",
    );
    inbound.extend(String::from_utf8(enc).unwrap().replace('\n', "\r\n").into_bytes());
    inbound.extend_from_slice(b"\r\n--b1--\r\n");
    let before = sink.messages().len();
    let (code, text) =
        smtp_send(filter.addr, "carol@example.com", &["dan@example.org", "gus@example.org"], &inbound).unwrap();
    assert_eq!(code, 250, "{text}\n{}", filter.log());
    let got = sink.wait_for(before + 2, Duration::from_secs(30));
    let new: Vec<_> = got[before..].iter().collect();
    let dan = new.iter().find(|r| r.rcpts == ["dan@example.org"]).expect("Dan's copy").text();
    assert!(dan.starts_with("Sealpost-Verification: mx.example.org; format=pgp;"), "{dan}");
    assert!(dan.contains("Secret for Dan.") && dan.contains("encrypted=yes"), "{dan}");
    assert_eq!(dan.to_ascii_lowercase().matches("sealpost-verification").count(), 1, "{dan}");
    // Gus has no key: he never sees what Dan's key decrypted, only the ciphertext with a failing verdict.
    let gus = new.iter().find(|r| r.rcpts == ["gus@example.org"]).expect("Gus's copy").text();
    assert!(!gus.contains("Secret for Dan.") && gus.contains("BEGIN PGP MESSAGE"), "{gus}");
    assert_eq!(gus.to_ascii_lowercase().matches("sealpost-verification").count(), 1, "{gus}");
    assert!(!gus.contains("status=pass"), "{gus}");

    // The log has one line per copy with id, direction, action and verdict.
    let log = filter.log();
    assert!(
        log.contains("direction=\"outbound\" action=sign+encrypt:pgp")
            && log.contains("action=sign:pgp")
            && log.contains("direction=\"inbound\" action=verify+decrypt"),
        "{log}"
    );
}

#[test]
fn required_encryption_refuses_only_the_recipient_without_a_key() {
    const TEST: &str = "smtp_required_encryption";
    let Some(sink) = Sink::start(TEST) else { return };
    let k = keys(TEST);
    let filter = Filter::start(&k.dir, "f", &k.keystore, sink.addr(), "", "[outbound]\nencrypt = \"required\"\n");
    // explain with the envelope says what the hook will do, per recipient, before anything is sent.
    let eml = k.dir.join("req.eml");
    std::fs::write(&eml, letter("alice@example.org", "bob@example.net", "req", "x\r\n")).unwrap();
    let o = run_ok(
        sealpost()
            .args(["filter", "explain", "--config"])
            .arg(k.dir.join("f.toml"))
            .args(["--sender", "alice@example.org", "--rcpt", "erin@example.info", "--rcpt", "bob@example.net"])
            .args(["--rcpt", "dan@example.org"])
            .arg(&eml),
    );
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains("RCPT erin@example.info: refused with 550: encryption is required"), "{text}");
    assert!(text.contains("2 next-hop transaction(s)"), "{text}");
    assert!(text.contains("to bob@example.net: outbound: sign and encrypt as pgp"), "{text}");
    assert!(text.contains("to dan@example.org: inbound: verify and decrypt"), "{text}");
    let mut c = SmtpConn::connect(filter.addr).unwrap();
    c.reply().unwrap();
    c.expect("EHLO client.test", 250..251).unwrap();
    c.expect("MAIL FROM:<alice@example.org>", 250..251).unwrap();
    let (code, text) = c.command("RCPT TO:<erin@example.info>").unwrap();
    assert_eq!(code, 550, "{text}");
    assert!(text.starts_with("5.7.1") && text.contains("no pgp certificate for erin@example.info"), "{text}");
    c.expect("RCPT TO:<bob@example.net>", 250..251).unwrap();
    c.expect("DATA", 354..355).unwrap();
    c.send(&dot_stuff(&letter("alice@example.org", "bob@example.net", "req", "x\r\n"))).unwrap();
    assert_eq!(c.reply().unwrap().0, 250);
    let got = sink.wait_for(1, Duration::from_secs(30));
    assert_eq!(got[0].rcpts, ["bob@example.net"]);
    assert!(got[0].text().contains("multipart/encrypted"));
}

#[test]
fn the_esmtp_dialogue_is_what_rfc_5321_asks() {
    const TEST: &str = "smtp_dialogue";
    let Some(sink) = Sink::start(TEST) else { return };
    let k = keys(TEST);
    let filter = Filter::start(&k.dir, "f", &k.keystore, sink.addr(), "max_message_size = 200000", "");
    let mut c = SmtpConn::connect(filter.addr).unwrap();
    let (code, greeting) = c.reply().unwrap();
    assert_eq!((code, greeting.as_str()), (220, "mx.example.org ESMTP sealpost"));
    assert_eq!(c.command("MAIL FROM:<a@example.org>").unwrap().0, 503, "MAIL before EHLO");
    let (code, ehlo) = c.command("EHLO client.test").unwrap();
    assert_eq!(code, 250);
    let caps: Vec<&str> = ehlo.lines().skip(1).collect();
    assert_eq!(caps, ["PIPELINING", "SIZE 200000", "8BITMIME", "SMTPUTF8", "ENHANCEDSTATUSCODES"]);
    for (cmd, want) in [
        ("VRFY postmaster", 502),
        ("EXPN staff", 502),
        ("STARTTLS", 502),
        ("BDAT 10 LAST", 502),
        ("RCPT TO:<b@example.net>", 503),
        ("DATA", 503),
        ("FROB", 500),
        ("NOOP", 250),
        ("MAIL FROM:<a@example.org> BODY=BINARYMIME", 555),
        ("MAIL FROM:<a@example.org> SIZE=300000", 552),
        ("MAIL FROM:a@example.org", 501),
        ("MAIL FROM:<a@example.org> SIZE=1000 BODY=8BITMIME", 250),
        ("MAIL FROM:<b@example.org>", 503),
        ("RCPT TO:<postmaster>", 501),
        ("RCPT TO:<b@example.net> NOTIFY=NEVER", 555),
        ("DATA", 554),
        ("RSET", 250),
        ("RCPT TO:<b@example.net>", 503),
    ] {
        let (code, text) = c.command(cmd).unwrap();
        assert_eq!(code, want, "{cmd}: {code} {text}");
        if code >= 400 {
            assert!(text.starts_with(&format!("{}.", code / 100)), "{cmd}: no enhanced status code: {text}");
        }
    }
    // PIPELINING: a whole transaction in one write; the replies come in order.
    let msg = letter("Alice <alice@example.org>", "Bob <bob@example.net>", "pipelined", "one\r\n");
    let mut batch =
        b"RSET\r\nMAIL FROM:<x@example.info>\r\nRCPT TO:<bob@example.org>\r\nRCPT TO:<gus@example.org>\r\nDATA\r\n"
            .to_vec();
    c.send(&batch).unwrap();
    let codes: Vec<u16> = (0..5).map(|_| c.reply().unwrap().0).collect();
    assert_eq!(codes, [250, 250, 250, 250, 354]);
    batch = dot_stuff(&msg);
    batch.extend_from_slice(b"NOOP\r\nQUIT\r\n");
    c.send(&batch).unwrap();
    let codes: Vec<u16> = (0..3).map(|_| c.reply().unwrap().0).collect();
    assert_eq!(codes, [250, 250, 221]);
    let got = sink.wait_for(1, Duration::from_secs(30));
    assert_eq!(got[0].rcpts, ["bob@example.org", "gus@example.org"]);
    assert!(got[0].text().contains("Subject: pipelined"));
}

/// SECURITY-CASES D1: every smuggling variant closes the connection with 521 and nothing reaches the next
/// hop; a bare LF before MAIL FROM too. D2: lines of dots round-trip byte for byte.
#[test]
fn smuggling_is_refused_and_dots_round_trip() {
    const TEST: &str = "smtp_smuggling";
    let Some(sink) = Sink::start(TEST) else { return };
    let k = keys(TEST);
    // Outbound, nothing to do (no signing, no encryption): the message passes byte for byte.
    let filter =
        Filter::start(&k.dir, "f", &k.keystore, sink.addr(), "", "[outbound]\nsign = false\nencrypt = \"never\"\n");
    for ending in ["\n.\n", "\n.\r\n", "\r\n.\n", "\r.\r", "\r.\r\n", "\n"] {
        let mut c = SmtpConn::connect(filter.addr).unwrap();
        c.reply().unwrap();
        c.expect("EHLO client.test", 250..251).unwrap();
        c.expect("MAIL FROM:<alice@example.org>", 250..251).unwrap();
        c.expect("RCPT TO:<bob@example.net>", 250..251).unwrap();
        c.expect("DATA", 354..355).unwrap();
        let body = format!(
            "Subject: first\r\n\r\nhello{ending}MAIL FROM:<evil@example.org>\r\nRCPT TO:<victim@example.net>\r\nDATA\r\nSubject: smuggled\r\n\r\nsmuggled\r\n.\r\n"
        );
        c.send(body.as_bytes()).unwrap();
        let (code, text) = c.reply().unwrap();
        assert_eq!(code, 521, "{ending:?}: {text}");
        assert!(c.reply().is_err(), "{ending:?}: the connection stays open after 521");
    }
    let mut c = SmtpConn::connect(filter.addr).unwrap();
    c.reply().unwrap();
    c.send(b"EHLO client.test\nMAIL FROM:<alice@example.org>\r\n").unwrap();
    assert_eq!(c.reply().unwrap().0, 521);

    let body =
        b"From: alice@example.org\r\nTo: bob@example.net\r\nSubject: dots\r\n\r\n.\r\n..\r\n.x\r\n...\r\n. \r\nend\r\n";
    let (code, text) = smtp_send(filter.addr, "alice@example.org", &["bob@example.net"], body).unwrap();
    assert_eq!(code, 250, "{text}");
    let got = sink.wait_for(1, Duration::from_secs(30));
    assert_eq!(got.len(), 1, "a smuggled message reached the next hop: {got:?}");
    assert_eq!(got[0].data, body.to_vec());
    // 8-bit content under 8BITMIME passes untouched too.
    let body8 = "From: alice@example.org\r\nTo: bob@example.net\r\nSubject: 8bit\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\nGrüße\r\n";
    let (code, _) = smtp_send(filter.addr, "alice@example.org", &["bob@example.net"], body8.as_bytes()).unwrap();
    assert_eq!(code, 250);
    let got = sink.wait_for(2, Duration::from_secs(30));
    assert_eq!(got[1].data, body8.as_bytes());
}

#[test]
fn limits_are_enforced_and_named() {
    const TEST: &str = "smtp_limits";
    let Some(sink) = Sink::start(TEST) else { return };
    let k = keys(TEST);
    let filter = Filter::start(
        &k.dir,
        "f",
        &k.keystore,
        sink.addr(),
        "max_message_size = 100000\nmax_header_fields = 50\nmax_recipients = 3\nmax_connections = 3",
        "",
    );
    let send = |data: &[u8]| smtp_send(filter.addr, "x@example.info", &["gus@example.org"], data).unwrap();
    // A 10 kB line: refused whole, never truncated or passed on.
    let long = format!("Subject: long\r\n\r\n{}\r\n", "a".repeat(10_000));
    let (code, text) = send(long.as_bytes());
    assert_eq!(code, 552, "{text}");
    assert!(text.contains("longer than 1000 bytes"), "{text}");
    let big = format!("Subject: big\r\n\r\n{}", format!("{}\r\n", "b".repeat(900)).repeat(120));
    let (code, text) = send(big.as_bytes());
    assert_eq!(code, 552, "{text}");
    let fields: String = (0..60).map(|i| format!("X-F{i}: v\r\n")).collect();
    let (code, text) = send(format!("{fields}\r\nbody\r\n").as_bytes());
    assert_eq!(code, 552, "{text}");
    // Deep MIME nesting: the message cannot be read, refused for good.
    let mut nested = String::from("Subject: nest\r\nMIME-Version: 1.0\r\n");
    for i in 0..40 {
        nested.push_str(&format!("Content-Type: multipart/mixed; boundary=\"b{i}\"\r\n\r\n--b{i}\r\n"));
    }
    nested.push_str("Content-Type: text/plain\r\n\r\ndeep\r\n");
    let (code, text) = send(nested.as_bytes());
    assert_eq!(code, 554, "{text}");
    assert!(text.starts_with("5.6.0") && text.contains("nesting"), "{text}");
    // Recipients over the limit: 452 (the client sends them later).
    let mut c = SmtpConn::connect(filter.addr).unwrap();
    c.reply().unwrap();
    c.expect("EHLO client.test", 250..251).unwrap();
    c.expect("MAIL FROM:<x@example.info>", 250..251).unwrap();
    for i in 0..3 {
        c.expect(&format!("RCPT TO:<r{i}@example.org>"), 250..251).unwrap();
    }
    assert_eq!(c.command("RCPT TO:<r4@example.org>").unwrap().0, 452);
    // Connections over the limit: 421 at once. (c is one; two more fill the limit.)
    // The sessions of the earlier messages end a moment after their clients quit: until they have, a new
    // connection may still be over the limit, so each held one is tried until it is greeted.
    let mut held: Vec<SmtpConn> = (0..2)
        .map(|_| {
            for _ in 0..100 {
                let mut h = SmtpConn::connect(filter.addr).unwrap();
                match h.reply().unwrap().0 {
                    220 => return h,
                    421 => std::thread::sleep(Duration::from_millis(50)),
                    other => panic!("greeting {other}"),
                }
            }
            panic!("the earlier sessions never ended");
        })
        .collect();
    let mut over = SmtpConn::connect(filter.addr).unwrap();
    assert_eq!(over.reply().unwrap().0, 421);
    held.clear();
    drop(c);
    // A client that says nothing is closed after timeout_seconds with 421; one that stops in the middle of
    // DATA too, and nothing is forwarded.
    let slow = Filter::start(&k.dir, "slow", &k.keystore, sink.addr(), "timeout_seconds = 1", "");
    let mut idle = SmtpConn::connect(slow.addr).unwrap();
    idle.reply().unwrap();
    let t = Instant::now();
    let (code, text) = idle.reply().unwrap();
    assert_eq!(code, 421, "{text}");
    assert!(text.starts_with("4.4.2") && t.elapsed() < Duration::from_secs(5), "{text} after {:?}", t.elapsed());
    let mut stalled = SmtpConn::connect(slow.addr).unwrap();
    stalled.reply().unwrap();
    stalled.expect("EHLO client.test", 250..251).unwrap();
    stalled.expect("MAIL FROM:<x@example.info>", 250..251).unwrap();
    stalled.expect("RCPT TO:<gus@example.org>", 250..251).unwrap();
    stalled.expect("DATA", 354..355).unwrap();
    stalled.send(b"Subject: stalled\r\n\r\npart").unwrap();
    assert_eq!(stalled.reply().unwrap().0, 421);
    assert!(sink.messages().iter().all(|m| m.data.len() < 100_000), "an oversized message was relayed");
    assert!(sink.messages().iter().all(|m| !m.text().contains("Subject: long") && !m.text().contains("stalled")));
}

#[test]
fn next_hop_failures_answer_4xx_and_mail_flows_again() {
    const TEST: &str = "smtp_next_hop_faults";
    let Some(mut sink) = Sink::start(TEST) else { return };
    let k = keys(TEST);
    let filter = Filter::start(&k.dir, "f", &k.keystore, sink.addr(), "relay_timeout_seconds = 5", "");
    let msg = |n: u32| letter("x@example.info", "gus@example.org", &format!("m{n}"), "hello\r\n");
    let send = |n: u32| smtp_send(filter.addr, "x@example.info", &["gus@example.org"], &msg(n)).unwrap();
    assert_eq!(send(0).0, 250);
    // Next hop says 451, then 554: the client hears a 4xx, then a 5xx.
    sink.set_mode(Mode::TempFail);
    let (code, text) = send(1);
    assert!((400..500).contains(&code), "{code} {text}");
    sink.set_mode(Mode::PermFail);
    let (code, text) = send(2);
    assert!((500..600).contains(&code), "{code} {text}");
    // The next hop takes the message but its 250 is lost: the client must not hear 250 (it retries; the
    // duplicate window of docs/deploy/postfix.md).
    sink.set_mode(Mode::AcceptThenDrop);
    let (code, text) = send(3);
    assert!((400..500).contains(&code), "{code} {text}");
    // Next hop down: every message 4xx.
    sink.set_mode(Mode::Accept);
    sink.stop();
    for n in 10..20 {
        let (code, text) = send(n);
        assert!((400..500).contains(&code), "next hop down, message {n}: {code} {text}");
    }
    // Back: mail flows.
    sink.restart();
    for n in 20..25 {
        let (code, text) = send(n);
        assert_eq!(code, 250, "next hop back, message {n}: {text}\n{}", filter.log());
    }
    let subjects: Vec<String> = sink
        .wait_for(7, Duration::from_secs(30))
        .iter()
        .map(|m| m.text().lines().find(|l| l.starts_with("Subject:")).unwrap_or("").to_string())
        .collect();
    assert_eq!(
        subjects,
        ["Subject: m0", "Subject: m3", "Subject: m20", "Subject: m21", "Subject: m22", "Subject: m23", "Subject: m24"]
    );

    // A client gone in the middle of DATA: nothing is forwarded.
    let mut c = SmtpConn::connect(filter.addr).unwrap();
    c.reply().unwrap();
    c.expect("EHLO client.test", 250..251).unwrap();
    c.expect("MAIL FROM:<x@example.info>", 250..251).unwrap();
    c.expect("RCPT TO:<gus@example.org>", 250..251).unwrap();
    c.expect("DATA", 354..355).unwrap();
    c.send(b"Subject: half\r\n\r\nhalf a message\r\n").unwrap();
    drop(c);
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(sink.messages().len(), 7);
    assert!(filter.log().contains("client gone during DATA"));
}

#[test]
fn sigterm_finishes_messages_in_flight_and_refuses_new_ones() {
    const TEST: &str = "smtp_sigterm";
    let Some(sink) = Sink::start(TEST) else { return };
    let k = keys(TEST);
    let mut filter = Filter::start(&k.dir, "f", &k.keystore, sink.addr(), "", "");
    let mut idle = SmtpConn::connect(filter.addr).unwrap();
    idle.reply().unwrap();
    idle.expect("EHLO idle.test", 250..251).unwrap();
    let mut busy = SmtpConn::connect(filter.addr).unwrap();
    busy.reply().unwrap();
    busy.expect("EHLO busy.test", 250..251).unwrap();
    busy.expect("MAIL FROM:<x@example.info>", 250..251).unwrap();
    busy.expect("RCPT TO:<gus@example.org>", 250..251).unwrap();
    busy.expect("DATA", 354..355).unwrap();
    busy.send(b"Subject: in flight\r\n\r\nfirst half\r\n").unwrap();
    filter.signal(rustix::process::Signal::TERM);
    // The idle client hears 421; a new connection is refused.
    assert_eq!(idle.reply().unwrap().0, 421);
    let end = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(filter.addr).is_ok() {
        assert!(Instant::now() < end, "still accepting connections after SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    }
    // The message in flight is finished and handed on.
    busy.send(b"second half\r\n.\r\n").unwrap();
    let (code, text) = busy.reply().unwrap();
    assert_eq!(code, 250, "{text}");
    assert_eq!(busy.reply().unwrap().0, 421, "after the message, the session closes");
    assert_eq!(filter.wait(Duration::from_secs(20)), Some(0), "{}", filter.log());
    let got = sink.wait_for(1, Duration::from_secs(10));
    assert!(got[0].text().contains("first half\r\nsecond half\r\n"));
}

/// Issue item 6: 10,000 messages from 50 concurrent clients, none lost or duplicated; then the filter is
/// killed in the middle of a load and no client got 250 for a message the next hop does not have.
#[test]
fn ten_thousand_messages_from_fifty_clients_and_a_kill() {
    const TEST: &str = "smtp_load";
    let Some(sink) = Sink::start(TEST) else { return };
    let k = keys(TEST);
    // Inbound (the recipient is local): each message is parsed, checked and gets the verification header.
    let filter = Filter::start(&k.dir, "f", &k.keystore, sink.addr(), "", "");
    let mut opts = LoadOptions::new(filter.addr);
    opts.from = "x@example.info".into();
    opts.to = vec!["gus@example.org".into()];
    opts.size = 2048;
    let report = run_load(&opts);
    assert!(
        report.all_accepted(),
        "{}\n{}",
        report.summary(),
        filter.log().lines().rev().take(20).collect::<Vec<_>>().join("\n")
    );
    let got = sink.wait_for(10_000, Duration::from_secs(120));
    let seqs = load_seqs(&got);
    assert_eq!(seqs.len(), 10_000, "lost or duplicated: {} unique of {}", seqs.len(), got.len());
    assert_eq!(got.len(), 10_000, "duplicates at the sink");
    assert!(got.iter().all(|m| m.text().starts_with("Sealpost-Verification: mx.example.org;")));
    eprintln!("{TEST}: {}", report.summary());

    // Killed mid-load: every message a client heard 250 for is at the sink.
    let before = got.len();
    let mut opts = LoadOptions::new(filter.addr);
    opts.from = "x@example.info".into();
    opts.to = vec!["gus@example.org".into()];
    opts.size = 2048;
    opts.messages = 3000;
    opts.first_seq = 100_000;
    opts.reply_timeout = Duration::from_secs(10);
    let load = std::thread::spawn(move || run_load(&opts));
    std::thread::sleep(Duration::from_millis(700));
    filter.signal(rustix::process::Signal::KILL);
    let report = load.join().unwrap();
    std::thread::sleep(Duration::from_millis(500));
    let at_sink = load_seqs(&sink.messages()[before..]);
    let accepted = report.seqs(Outcome::Accepted);
    assert!(!accepted.is_empty() && accepted.len() < 3000, "the kill did not land mid-load: {}", report.summary());
    for s in accepted {
        assert!(at_sink.contains_key(s), "message {s} was acknowledged with 250 but never reached the next hop");
    }
    eprintln!("{TEST}: killed mid-load: {}; {} at the sink", report.summary(), at_sink.len());
}

/// X-Load-Seq of each message, with how often it arrived.
fn load_seqs(msgs: &[common::smtp::Received]) -> BTreeMap<u64, usize> {
    let mut out = BTreeMap::new();
    for m in msgs {
        let t = m.text();
        if let Some(v) = t.lines().find_map(|l| l.strip_prefix("X-Load-Seq: ")) {
            *out.entry(v.trim().parse::<u64>().unwrap()).or_insert(0) += 1;
        }
    }
    out
}
