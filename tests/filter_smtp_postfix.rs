//! `sealpost filter smtp` behind a real Postfix, configured as docs/deploy/postfix.md says (the instance of
//! tests/common/postfix.rs takes its content-filter blocks verbatim from that file):
//!
//! - outbound PGP/MIME: alice@example.org to bob@example.net arrives in Bob's mailbox signed and encrypted,
//!   gpg (with Bob's key) decrypts it and reports Alice's good signature; erin@example.net, without a
//!   certificate while encryption is required, is refused at RCPT (550) and Postfix bounces her copy;
//! - outbound S/MIME by domain (`"example.net" = "smime"`), and one message to two recipients that need
//!   different formats: Postfix's recipient limit of 1 gives each its own transaction; `openssl cms`
//!   decrypts and verifies Bob's copy, gpg Dave's;
//! - inbound: a message gpg signed and encrypted for bob@example.org (local) arrives decrypted with
//!   `Sealpost-Verification: mx.example.org; format=pgp; status=pass; ...`;
//! - a forged `Sealpost-Verification` header never arrives, inbound or outbound;
//! - failures keep the mail in Postfix's queue: the filter down (connection refused), the next hop failing
//!   temporarily (sealpost answers 4xx) each defer the message and it goes through once when they recover;
//!   the next hop refusing it for good bounces it to the sender.
//!
//! The aiosmtpd sink (`tests/support/sink.py`, tests/common/smtp.rs) and the SMTP client helpers are
//! checked here too: modes, restarts, dot-stuffing, and (ignored, `--ignored`) 10,000 messages from 50
//! connections.
//!
//! Needs root (a Postfix master starts as root), postfix, gpg, openssl, python3, and Debian's python3 with
//! aiosmtpd; each test skips with a printed reason when one is missing, and fails under
//! `SEALPOST_REQUIRE_PEERS=1`.

#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::gpg::Gpg;
use common::postfix::{Delivery, Postfix};
use common::smtp::{Mode, Sink, SmtpConn, dot_stuff, free_port, smtp_send, wait_for_port};
use common::{peer, run_ok, scratch};

/// How long a message may take through Postfix, sealpost and Postfix again.
const DELIVERY: Duration = Duration::from_secs(60);

fn sealpost() -> Command {
    Command::new(env!("CARGO_BIN_EXE_sealpost"))
}

/// `sealpost key generate`: `dir/name.key` and `dir/name.cert`.
fn generate(dir: &Path, kind: &str, uid: &str, name: &str) -> (PathBuf, PathBuf) {
    run_ok(sealpost().args(["key", "generate", "--type", kind, "--uid", uid, "--output"]).arg(dir.join(name)));
    (dir.join(format!("{name}.key")), dir.join(format!("{name}.cert")))
}

/// A keystore with these files imported.
fn keystore(dir: &Path, files: &[&Path]) -> PathBuf {
    let ks = dir.join("keystore");
    run_ok(sealpost().arg("--keystore").arg(&ks).args(["key", "import"]).args(files));
    ks
}

/// `sealpost filter smtp` as a child process; killed on drop.
struct Filter {
    child: Option<Child>,
    addr: SocketAddr,
    log: PathBuf,
}

impl Filter {
    /// Writes the configuration (local domain example.org, authserv-id mx.example.org, then `policy`),
    /// starts the filter on 127.0.0.1:`port` with `relay` as its next hop, and waits until it accepts
    /// connections.
    fn start(dir: &Path, keystore: &Path, port: u16, relay: u16, policy: &str) -> Filter {
        let config = dir.join("filter.toml");
        std::fs::write(
            &config,
            format!(
                "keystore = \"{}\"\nlocal_domains = [\"example.org\"]\nauthserv_id = \"mx.example.org\"\n\n\
                 [smtp]\nlisten = \"127.0.0.1:{port}\"\nrelay = \"127.0.0.1:{relay}\"\ntimeout_seconds = 60\n\n{policy}",
                keystore.display()
            ),
        )
        .unwrap();
        let log = dir.join("filter.log");
        let child = sealpost()
            .args(["filter", "smtp", "--config"])
            .arg(&config)
            .env("SEALPOST_LOG", "debug")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        let mut filter = Filter { child: Some(child), addr: SocketAddr::from(([127, 0, 0, 1], port)), log };
        let end = Instant::now() + Duration::from_secs(30);
        while !wait_for_port(filter.addr, Duration::from_millis(200)) {
            let exited = filter.child.as_mut().unwrap().try_wait().unwrap();
            if exited.is_some() || Instant::now() >= end {
                panic!("sealpost filter smtp did not listen on {} ({exited:?}):\n{}", filter.addr, filter.log());
            }
        }
        filter
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// SIGTERM: the filter must exit, successfully, within 30 s.
    fn stop(&mut self) {
        let mut child = self.child.take().unwrap();
        let pid = rustix::process::Pid::from_child(&child);
        rustix::process::kill_process(pid, rustix::process::Signal::TERM).unwrap();
        let end = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                assert!(status.success(), "sealpost filter smtp exited with {status} on SIGTERM:\n{}", self.log());
                return;
            }
            if Instant::now() >= end {
                let _ = child.kill();
                panic!("sealpost filter smtp still runs 30 s after SIGTERM:\n{}", self.log());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Filter {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        if std::thread::panicking() {
            eprintln!("sealpost filter smtp log ({}):\n{}", self.log.display(), self.log());
        }
    }
}

/// A Postfix whose content filter is sealpost, and the filter, configured with `policy`.
struct Site {
    postfix: Postfix,
    filter: Filter,
}

impl Site {
    fn start(test: &str, dir: &Path, keystore: &Path, policy: &str) -> Option<Site> {
        let port = free_port();
        let postfix = Postfix::start(test, port)?;
        let filter = Filter::start(dir, keystore, port, postfix.reinject_port(), policy);
        Some(Site { postfix, filter })
    }

    /// Sends through Postfix's client-facing smtpd; Postfix must queue it (250).
    fn send(&self, from: &str, rcpts: &[&str], message: &str) {
        let (code, text) = smtp_send(self.postfix.smtp_addr(), from, rcpts, message.as_bytes()).unwrap();
        assert_eq!(code, 250, "Postfix did not queue the message: {code} {text}");
    }

    /// Waits for `n` deliveries (on timeout, the panic shows Postfix's log, and the filter's on drop).
    fn deliveries(&self, n: usize) -> Vec<Delivery> {
        self.postfix.wait_for_deliveries(n, DELIVERY)
    }
}

/// The top-level header fields of a delivered message, unfolded: (name, value).
fn header_fields(message: &str) -> Vec<(String, String)> {
    let mut fields: Vec<(String, String)> = Vec::new();
    for line in message.lines().map(|l| l.trim_end_matches('\r')) {
        if line.is_empty() {
            break;
        }
        if line.starts_with([' ', '\t']) {
            if let Some(last) = fields.last_mut() {
                last.1.push(' ');
                last.1.push_str(line.trim());
            }
        } else if let Some((name, value)) = line.split_once(':') {
            fields.push((name.to_string(), value.trim().to_string()));
        }
    }
    fields
}

/// Every value of the header fields named `name` (case-insensitive).
fn header(message: &str, name: &str) -> Vec<String> {
    header_fields(message).into_iter().filter(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v).collect()
}

/// The one delivery to `rcpt`.
fn delivered_to<'a>(deliveries: &'a [Delivery], rcpt: &str) -> &'a Delivery {
    let found: Vec<&Delivery> = deliveries.iter().filter(|d| d.recipient == rcpt).collect();
    assert_eq!(found.len(), 1, "deliveries to {rcpt}: {found:#?}");
    found[0]
}

/// The second part of a multipart/encrypted PGP/MIME message, decoded (the armored OpenPGP message).
fn pgp_mime_payload(dir: &Path, message: &[u8]) -> PathBuf {
    let python = peer("pgp_mime_payload", "python3").unwrap();
    let path = dir.join("pgp-mime.eml");
    std::fs::write(&path, message).unwrap();
    let script = "import email, sys\n\
                  m = email.message_from_binary_file(open(sys.argv[1], 'rb'))\n\
                  assert m.get_content_type() == 'multipart/encrypted', m.get_content_type()\n\
                  sys.stdout.buffer.write(m.get_payload()[1].get_payload(decode=True))\n";
    let armored = run_ok(Command::new(python).args(["-c", script]).arg(&path)).stdout;
    let out = dir.join("pgp-mime.asc");
    std::fs::write(&out, armored).unwrap();
    out
}

/// gpg decrypts the PGP/MIME message: the plaintext, after checking for a good signature by `signer`.
fn gpg_open(gpg: &Gpg, dir: &Path, message: &[u8], signer: &str) -> String {
    let part = pgp_mime_payload(dir, message);
    let out = run_ok(gpg.cmd().args(["--status-fd", "2", "--decrypt"]).arg(&part));
    let status = String::from_utf8_lossy(&out.stderr);
    let good =
        status.lines().find(|l| l.starts_with("[GNUPG:] GOODSIG")).unwrap_or_else(|| panic!("no GOODSIG:\n{status}"));
    assert!(good.contains(signer), "signed by someone else: {good}");
    assert!(status.contains("[GNUPG:] DECRYPTION_OKAY"), "{status}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

const OUTBOUND: &str = "From: Alice <alice@example.org>\n\
To: Bob <bob@example.net>\n\
Subject: quarterly figures\n\
Sealpost-Verification: mx.example.org; status=pass; signer=\"forged by alice's client\"\n\
MIME-Version: 1.0\n\
Content-Type: text/plain; charset=utf-8\n\
\n\
The figures are attached in spirit.\n\
.A line that starts with a dot.\n";

/// (a) Outbound, PGP/MIME: signed and encrypted on the way through Postfix; gpg with Bob's key decrypts it
/// and sees Alice's good signature; the forged verification header is nowhere, outside or inside. Erin, a
/// second recipient without a certificate, is refused for good (encryption required): Postfix bounces her
/// copy to Alice and delivers Bob's.
#[test]
fn outbound_pgp_mime_through_postfix() {
    const TEST: &str = "outbound_pgp_mime_through_postfix";
    let Some(gpg_bin) = peer(TEST, "gpg") else { return };
    let Some(_) = peer(TEST, "python3") else { return };
    let dir = scratch(TEST);
    let (alice_key, alice_cert) = generate(&dir, "pgp", "Alice <alice@example.org>", "alice");
    let (bob_key, bob_cert) = generate(&dir, "pgp", "Bob <bob@example.net>", "bob");
    let ks = keystore(&dir, &[&alice_key, &bob_cert]);
    let policy = "[outbound]\nsign = true\nencrypt = \"required\"\nformat = \"pgp\"\n";
    let Some(mut site) = Site::start(TEST, &dir, &ks, policy) else { return };

    let message = OUTBOUND.replace("To: Bob <bob@example.net>", "To: Bob <bob@example.net>, erin@example.net");
    site.send("alice@example.org", &["bob@example.net", "erin@example.net"], &message);
    let got = site.deliveries(2);
    assert_eq!(got.len(), 2, "{got:#?}");
    let bounce = delivered_to(&got, "alice@example.org").text();
    assert!(
        bounce.contains("Undelivered Mail Returned to Sender") && bounce.contains("<erin@example.net>"),
        "{bounce}"
    );
    assert!(bounce.contains("said: 550 5.7.1") && bounce.contains("encryption is required"), "{bounce}");
    let bob = delivered_to(&got, "bob@example.net");
    let text = bob.text();
    assert!(text.contains("multipart/encrypted") && text.contains("application/pgp-encrypted"), "{text}");
    assert!(!text.contains("in spirit") && !text.to_ascii_lowercase().contains("sealpost-verification"), "{text}");
    // Postfix handed it to sealpost, and took it back from sealpost's next-hop transaction.
    let log = site.postfix.log();
    assert!(log.contains(&format!("relay=127.0.0.1[127.0.0.1]:{}", site.filter.addr.port())), "{log}");

    let gpg = Gpg::new(&gpg_bin);
    gpg.import(&[&bob_key, &alice_cert]);
    let plain = gpg_open(&gpg, &dir, &bob.data, "alice@example.org");
    assert!(
        plain.contains("The figures are attached in spirit.") && plain.contains("\n.A line that starts"),
        "{plain}"
    );
    assert!(!plain.to_ascii_lowercase().contains("sealpost-verification") && !plain.contains("forged"), "{plain}");
    site.filter.stop();
}

/// (a) Outbound S/MIME for example.net (`[outbound.formats]`), PGP/MIME for everyone else, in one message to
/// both: Postfix hands each recipient to sealpost alone (the documented recipient limit of 1), so each copy
/// gets its own format. openssl decrypts Bob's and verifies Alice's signature; gpg opens Dave's.
#[test]
fn outbound_smime_by_domain_through_postfix() {
    const TEST: &str = "outbound_smime_by_domain_through_postfix";
    let Some(openssl) = peer(TEST, "openssl") else { return };
    let Some(gpg_bin) = peer(TEST, "gpg") else { return };
    let Some(_) = peer(TEST, "python3") else { return };
    let dir = scratch(TEST);
    let (alice_x509_key, alice_x509_cert) = generate(&dir, "x509", "Alice <alice@example.org>", "alice-x509");
    let (alice_pgp_key, alice_pgp_cert) = generate(&dir, "pgp", "Alice <alice@example.org>", "alice-pgp");
    let (bob_key, bob_cert) = generate(&dir, "x509", "Bob <bob@example.net>", "bob");
    let (dave_key, dave_cert) = generate(&dir, "pgp", "Dave <dave@example.com>", "dave");
    let ks = keystore(&dir, &[&alice_x509_key, &alice_x509_cert, &alice_pgp_key, &bob_cert, &dave_cert]);
    let policy =
        "[outbound]\nencrypt = \"required\"\nformat = \"pgp\"\n\n[outbound.formats]\n\"example.net\" = \"smime\"\n";
    let Some(mut site) = Site::start(TEST, &dir, &ks, policy) else { return };

    let message = OUTBOUND.replace("To: Bob <bob@example.net>", "To: Bob <bob@example.net>, Dave <dave@example.com>");
    site.send("alice@example.org", &["bob@example.net", "dave@example.com"], &message);
    let got = site.deliveries(2);
    assert_eq!(got.len(), 2, "{got:#?}");

    let bob = delivered_to(&got, "bob@example.net");
    let text = bob.text();
    assert!(text.contains("application/pkcs7-mime") && text.contains("enveloped-data"), "{text}");
    assert!(!text.contains("in spirit") && !text.to_ascii_lowercase().contains("sealpost-verification"), "{text}");
    let (sealed, inner, content) = (dir.join("bob.eml"), dir.join("bob-inner.eml"), dir.join("bob-content.txt"));
    std::fs::write(&sealed, &bob.data).unwrap();
    run_ok(
        Command::new(&openssl)
            .args(["cms", "-decrypt", "-in"])
            .arg(&sealed)
            .arg("-recip")
            .arg(&bob_cert)
            .arg("-inkey")
            .arg(&bob_key)
            .arg("-out")
            .arg(&inner),
    );
    let out = run_ok(
        Command::new(&openssl)
            .args(["cms", "-verify", "-in"])
            .arg(&inner)
            .arg("-CAfile")
            .arg(&alice_x509_cert)
            .arg("-out")
            .arg(&content),
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("Verification successful"), "{out:?}");
    let content = std::fs::read_to_string(&content).unwrap();
    assert!(content.contains("The figures are attached in spirit."), "{content}");
    assert!(!content.to_ascii_lowercase().contains("sealpost-verification"), "{content}");

    let dave = delivered_to(&got, "dave@example.com");
    assert!(dave.text().contains("multipart/encrypted"), "{}", dave.text());
    let gpg = Gpg::new(&gpg_bin);
    gpg.import(&[&dave_key, &alice_pgp_cert]);
    let plain = gpg_open(&gpg, &dir, &dave.data, "alice@example.org");
    assert!(plain.contains("The figures are attached in spirit."), "{plain}");
    site.filter.stop();
}

/// (b) and (c) inbound: carol@example.com's message, signed and encrypted by gpg for bob@example.org (a
/// local recipient), arrives decrypted with sealpost's verification header, status=pass; the forged
/// copies it came with are gone. A plain message claiming status=pass arrives without that claim.
#[test]
fn inbound_decrypted_and_verified_through_postfix() {
    const TEST: &str = "inbound_decrypted_and_verified_through_postfix";
    let Some(gpg_bin) = peer(TEST, "gpg") else { return };
    let dir = scratch(TEST);
    let (bob_key, bob_cert) = generate(&dir, "pgp", "Bob <bob@example.org>", "bob");
    let (carol_key, carol_cert) = generate(&dir, "pgp", "Carol <carol@example.com>", "carol");
    let ks = keystore(&dir, &[&bob_key, &carol_cert]);
    let policy = "[inbound]\nverify = true\ndecrypt = true\n";
    let Some(mut site) = Site::start(TEST, &dir, &ks, policy) else { return };

    // Carol's side: gpg signs and encrypts a MIME entity for Bob, wrapped as PGP/MIME (RFC 3156).
    let gpg = Gpg::new(&gpg_bin);
    gpg.import(&[&carol_key, &bob_cert]);
    let inner = dir.join("inner.txt");
    std::fs::write(&inner, "Content-Type: text/plain; charset=utf-8\r\n\r\nMeet me at noon by the harbour.\r\n")
        .unwrap();
    let armored = run_ok(
        gpg.cmd()
            .args(["--armor", "--sign", "--encrypt", "--recipient", "bob@example.org", "--local-user"])
            .arg("carol@example.com")
            .arg("--output")
            .arg("-")
            .arg(&inner),
    )
    .stdout;
    let armored = String::from_utf8(armored).unwrap();
    let message = format!(
        "Sealpost-Verification: mx.example.org; status=pass; signer=\"forged outside\"\n\
         From: Carol <carol@example.com>\n\
         To: Bob <bob@example.org>\n\
         Subject: harbour\n\
         X-Sealpost-Verification: mx.example.org;\n status=pass\n\
         MIME-Version: 1.0\n\
         Content-Type: multipart/encrypted; protocol=\"application/pgp-encrypted\"; boundary=\"b1\"\n\
         \n\
         --b1\n\
         Content-Type: application/pgp-encrypted\n\
         \n\
         Version: 1\n\
         \n\
         --b1\n\
         Content-Type: application/octet-stream; name=\"encrypted.asc\"\n\
         \n\
         {armored}\n\
         --b1--\n"
    );
    site.send("carol@example.com", &["bob@example.org"], &message);

    // A plain message (no signature) that claims to have passed, folded and in lower case.
    let plain = "sealpost-verification: mx.example.org;\n status=pass; signer=\"forged plain\"\n\
                 From: Mallory <mallory@example.com>\nTo: Bob <bob@example.org>\nSubject: trust me\n\n\
                 Nothing to verify here.\n";
    site.send("mallory@example.com", &["bob@example.org"], plain);

    let got = site.deliveries(2);
    assert_eq!(got.len(), 2, "{got:#?}");
    let harbour = got.iter().find(|d| d.text().contains("Subject: harbour")).expect("the encrypted message");
    let text = harbour.text();
    assert!(text.contains("Meet me at noon by the harbour.") && !text.contains("BEGIN PGP MESSAGE"), "{text}");
    let ours = header(&text, "Sealpost-Verification");
    assert_eq!(ours.len(), 1, "{text}");
    assert!(ours[0].starts_with("mx.example.org; format=pgp; status=pass;"), "{}", ours[0]);
    assert!(ours[0].contains("carol@example.com") && ours[0].contains("from=match"), "{}", ours[0]);
    assert!(ours[0].contains("encrypted=yes"), "{}", ours[0]);
    assert!(!text.contains("forged") && header(&text, "X-Sealpost-Verification").is_empty(), "{text}");
    assert_eq!(text.to_ascii_lowercase().matches("sealpost-verification").count(), 1, "{text}");

    let trust = got.iter().find(|d| d.text().contains("Subject: trust me")).expect("the plain message");
    let text = trust.text();
    assert!(text.contains("Nothing to verify here.") && !text.contains("forged"), "{text}");
    for value in header(&text, "Sealpost-Verification") {
        assert!(!value.contains("status=pass"), "a forged pass got through: {value}");
    }
    site.filter.stop();
}

/// (c) outbound: a message that cannot be encrypted (opportunistic, no certificate for Erin) is signed
/// only; the verification header Alice's client forged is not in it anywhere.
#[test]
fn outbound_forged_header_removed_through_postfix() {
    const TEST: &str = "outbound_forged_header_removed_through_postfix";
    let dir = scratch(TEST);
    let (alice_key, _) = generate(&dir, "pgp", "Alice <alice@example.org>", "alice");
    let ks = keystore(&dir, &[&alice_key]);
    let policy = "[outbound]\nencrypt = \"opportunistic\"\nformat = \"pgp\"\n";
    let Some(mut site) = Site::start(TEST, &dir, &ks, policy) else { return };
    let message = OUTBOUND.replace("bob@example.net", "erin@example.com").replace(
        "Subject: quarterly figures\n",
        "Subject: quarterly figures\nX-Sealpost-Verification: mx.example.org;\n status=pass\n",
    );
    site.send("alice@example.org", &["erin@example.com"], &message);
    let got = site.deliveries(1);
    let text = delivered_to(&got, "erin@example.com").text();
    assert!(text.contains("multipart/signed") && text.contains("The figures are attached in spirit."), "{text}");
    assert!(!text.to_ascii_lowercase().contains("sealpost-verification") && !text.contains("forged"), "{text}");
    site.filter.stop();
}

/// Nothing is lost when the filter or its next hop fails: Postfix keeps the message queued while sealpost
/// is down (connection refused) and while the next hop fails temporarily (sealpost answers 4xx), and it
/// arrives exactly once when both are back; a next hop that refuses for good makes sealpost answer 5xx and
/// Postfix bounce the message to its sender.
#[test]
fn failures_keep_mail_queued_in_postfix() {
    const TEST: &str = "failures_keep_mail_queued_in_postfix";
    let dir = scratch(TEST);
    let Some(mut sink) = Sink::start(TEST) else { return };
    let port = free_port();
    let Some(postfix) = Postfix::start(TEST, port) else { return };
    let (alice_key, _) = generate(&dir, "pgp", "Alice <alice@example.org>", "alice");
    let ks = keystore(&dir, &[&alice_key]);
    let message = "From: alice@example.org\nTo: erin@example.com\nSubject: patience\n\nStill there?\n";
    let (code, _) =
        smtp_send(postfix.smtp_addr(), "alice@example.org", &["erin@example.com"], message.as_bytes()).unwrap();
    assert_eq!(code, 250);

    // 1. sealpost is not running: deferred, connection refused.
    wait_for_log(&postfix, &format!("connect to 127.0.0.1[127.0.0.1]:{port}: Connection refused"));
    assert!(postfix.deliveries().is_empty() && sink.messages().is_empty());

    // 2. sealpost runs, its next hop (the sink) answers 451: sealpost answers 4xx, Postfix defers again.
    sink.set_mode(Mode::TempFail);
    let policy = "[outbound]\nencrypt = \"opportunistic\"\n";
    let mut filter = Filter::start(&dir, &ks, port, sink.port(), policy);
    postfix.flush();
    let deferred = wait_for_log(&postfix, "status=deferred (host 127.0.0.1[127.0.0.1] said: 4");
    assert!(!sink.refused().is_empty(), "the next hop never saw the message; {deferred}");
    assert!(sink.messages().is_empty());

    // 3. The next hop is down altogether: still 4xx, still queued.
    sink.stop();
    let before = postfix.log().matches("status=deferred").count();
    postfix.flush();
    let end = Instant::now() + DELIVERY;
    while postfix.log().matches("status=deferred").count() == before {
        assert!(Instant::now() < end, "no new deferral:\n{}\n{}", postfix.log(), filter.log());
        std::thread::sleep(Duration::from_millis(50));
    }

    // 4. Everything back: the message arrives once, signed, and Postfix's queue is empty.
    sink.restart();
    sink.set_mode(Mode::Accept);
    postfix.flush();
    let got = sink.wait_for(1, DELIVERY);
    wait_for_log(&postfix, "status=sent (250");
    std::thread::sleep(Duration::from_secs(2));
    let got_later = sink.messages();
    assert_eq!(got_later.len(), 1, "delivered more than once: {got_later:#?}");
    assert_eq!(
        (got[0].from.as_str(), got[0].rcpts.as_slice()),
        ("alice@example.org", &["erin@example.com".to_string()][..])
    );
    assert!(got[0].text().contains("multipart/signed") && got[0].text().contains("Still there?"), "{}", got[0].text());
    assert!(postfix.queue().contains("Mail queue is empty"), "{}", postfix.queue());

    // 5. The next hop refuses for good: sealpost answers 5xx and Postfix bounces to Alice (whose mailbox is
    //    the test Maildir), without retrying.
    sink.set_mode(Mode::PermFail);
    let (code, _) =
        smtp_send(postfix.smtp_addr(), "alice@example.org", &["erin@example.com"], b"Subject: doomed\n\nno\n").unwrap();
    assert_eq!(code, 250);
    let bounce = postfix.wait_for_deliveries(1, DELIVERY);
    assert_eq!(bounce[0].recipient, "alice@example.org");
    let text = bounce[0].text();
    assert!(text.contains("Undelivered Mail Returned to Sender") && text.contains("said: 5"), "{text}");
    assert_eq!(sink.refused().iter().filter(|r| r.starts_with("554")).count(), 1, "{:?}", sink.refused());
    filter.stop();
}

/// Waits until Postfix's log has `needle`; returns the line.
fn wait_for_log(postfix: &Postfix, needle: &str) -> String {
    let end = Instant::now() + DELIVERY;
    loop {
        if let Some(line) = postfix.log().lines().find(|l| l.contains(needle)) {
            return line.to_string();
        }
        assert!(Instant::now() < end, "Postfix never logged {needle:?}:\n{}", postfix.log());
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The sink stores what it got exactly (CRLF, dot-stuffing undone), answers by its mode, and a restart
/// keeps its port and numbering; the client helpers stuff dots and report refusals.
#[test]
fn sink_modes_restart_and_client() {
    const TEST: &str = "sink_modes_restart_and_client";
    let Some(mut sink) = Sink::start(TEST) else { return };
    let r = smtp_send(sink.addr(), "a@example.org", &["b@example.net"], b"Subject: one\n\n.dot\n..two\nend").unwrap();
    assert_eq!(r.0, 250, "{r:?}");
    sink.set_mode(Mode::TempFail);
    assert_eq!(smtp_send(sink.addr(), "a@example.org", &["b@example.net"], b"Subject: x\n\n").unwrap().0, 451);
    sink.set_mode(Mode::PermFail);
    assert_eq!(smtp_send(sink.addr(), "a@example.org", &["b@example.net"], b"Subject: x\n\n").unwrap().0, 554);
    sink.set_mode(Mode::Reply("452 4.2.2 mailbox full".into()));
    let r = smtp_send(sink.addr(), "a@example.org", &["b@example.net"], b"Subject: x\n\n").unwrap();
    assert_eq!(r, (452, "4.2.2 mailbox full".to_string()));
    // Stored, but the connection closes before the reply: the client sees an error.
    sink.set_mode(Mode::AcceptThenDrop);
    let r = smtp_send(sink.addr(), "a@example.org", &["b@example.net"], b"Subject: two\r\n\r\nbody\r\n");
    assert!(r.is_err(), "{r:?}");
    assert_eq!(sink.refused().len(), 3, "{:?}", sink.refused());

    let port = sink.port();
    sink.stop();
    assert!(!sink.is_running());
    assert!(SmtpConn::connect(sink.addr()).is_err(), "the stopped sink still accepts connections");
    sink.restart();
    assert_eq!(sink.port(), port);
    sink.set_mode(Mode::Accept);
    // Exact bytes on a raw connection: pipelined commands, a line of a single dot stuffed by hand.
    let mut c = SmtpConn::connect(sink.addr()).unwrap();
    assert_eq!(c.reply().unwrap().0, 220);
    assert_eq!(c.command("EHLO raw.test").unwrap().0, 250);
    c.send(b"MAIL FROM:<c@example.org>\r\nRCPT TO:<d@example.net>\r\nRCPT TO:<e@example.com>\r\nDATA\r\n").unwrap();
    assert_eq!(
        [c.reply().unwrap().0, c.reply().unwrap().0, c.reply().unwrap().0, c.reply().unwrap().0],
        [250, 250, 250, 354]
    );
    c.send(b"Subject: three\r\n\r\n..\r\n.\r\n").unwrap();
    assert_eq!(c.reply().unwrap().0, 250);
    assert_eq!(c.command("QUIT").unwrap().0, 221);

    let m = sink.messages();
    assert_eq!(m.len(), 3, "{m:#?}");
    assert_eq!(m[0].data, b"Subject: one\r\n\r\n.dot\r\n..two\r\nend\r\n");
    assert_eq!((m[0].from.as_str(), m[0].rcpts.as_slice()), ("a@example.org", &["b@example.net".to_string()][..]));
    assert_eq!(m[1].data, b"Subject: two\r\n\r\nbody\r\n");
    assert_eq!(m[2].data, b"Subject: three\r\n\r\n.\r\n");
    assert_eq!(m[2].rcpts, ["d@example.net", "e@example.com"]);
    assert_eq!(dot_stuff(b".\r\nx\r.y\n"), b"..\r\nx\r\n..y\r\n.\r\n");
}
