//! `sealpost filter imap`, first version, between Python's imaplib and a private Dovecot: through the
//! proxy the client sees the decrypted text with the verification header (and RFC822.SIZE agreeing with
//! what it got), direct to Dovecot it sees the ciphertext; a plaintext message, whose body holds lines that
//! look like IMAP (`A1 LOGOUT`, `{5}`, `* BYE`), passes byte for byte and the session goes on.

#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::dovecot::{Dovecot, PASSWORD, imap_fetch_all, python_clients};
use common::gpg::Gpg;
use common::smtp::{free_port, wait_for_port};
use common::{peer, run_ok, scratch};

fn sealpost() -> Command {
    Command::new(env!("CARGO_BIN_EXE_sealpost"))
}

struct Proxy(Child);

impl Drop for Proxy {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn fetch_through_the_proxy_is_decrypted_and_plaintext_passes_unchanged() {
    const TEST: &str = "imap_proxy_first_version";
    let Some(gpg_bin) = peer(TEST, "gpg") else { return };
    python_clients(TEST);
    let Some(dovecot) = Dovecot::start(TEST) else { return };
    let dir = scratch(TEST);
    for (who, uid) in [("bob", "Bob <bob@example.org>"), ("carol", "Carol <carol@example.com>")] {
        run_ok(sealpost().args(["key", "generate", "--type", "pgp", "--uid", uid, "--output"]).arg(dir.join(who)));
    }
    let ks = dir.join("ks");
    run_ok(
        sealpost()
            .arg("--keystore")
            .arg(&ks)
            .args(["key", "import"])
            .arg(dir.join("bob.key"))
            .arg(dir.join("carol.cert")),
    );

    // Carol signs and encrypts to Bob with gpg; a plaintext message with IMAP-looking lines beside it.
    let gpg = Gpg::new(&gpg_bin);
    gpg.import(&[&dir.join("carol.key"), &dir.join("bob.cert")]);
    std::fs::write(dir.join("inner.eml"), "Content-Type: text/plain\r\n\r\nThe secret plan.\r\n").unwrap();
    let armored = run_ok(
        gpg.cmd()
            .args(["--trust-model", "always", "--armor", "--sign", "--local-user", "carol@example.com"])
            .args(["--recipient", "bob@example.org", "--encrypt", "--output", "-"])
            .arg(dir.join("inner.eml")),
    )
    .stdout;
    let mut encrypted = b"From: Carol <carol@example.com>\r\nTo: Bob <bob@example.org>\r\nSubject: plan\r\nMIME-Version: 1.0\r\nContent-Type: multipart/encrypted; protocol=\"application/pgp-encrypted\"; boundary=\"b1\"\r\n\r\n--b1\r\nContent-Type: application/pgp-encrypted\r\n\r\nVersion: 1\r\n\r\n--b1\r\nContent-Type: application/octet-stream\r\n\r\n".to_vec();
    encrypted.extend(String::from_utf8(armored).unwrap().replace('\n', "\r\n").into_bytes());
    encrypted.extend_from_slice(b"\r\n--b1--\r\n");
    let plain = b"From: Dan <dan@example.net>\r\nTo: bob@example.org\r\nSubject: lines\r\n\r\nA1 LOGOUT\r\n{5}\r\n* BYE going away\r\n.\r\n".to_vec();
    dovecot.deliver("bob@example.org", &encrypted);
    dovecot.deliver("bob@example.org", &plain);

    let port = free_port();
    let config = dir.join("imap.toml");
    std::fs::write(
        &config,
        format!(
            "keystore = \"{}\"\nlocal_domains = [\"example.org\"]\nauthserv_id = \"imap.example.org\"\n[imap]\nlisten = \"127.0.0.1:{port}\"\nupstream = \"{}\"\n",
            ks.display(),
            dovecot.imap_addr()
        ),
    )
    .unwrap();
    let log = std::fs::File::create(dir.join("proxy.log")).unwrap();
    let _proxy = Proxy(
        sealpost().args(["filter", "imap", "--config"]).arg(&config).stderr(log).stdout(Stdio::null()).spawn().unwrap(),
    );
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    assert!(wait_for_port(addr, Duration::from_secs(20)), "the proxy did not listen");

    // Direct: ciphertext.
    let direct = imap_fetch_all(dovecot.imap_addr(), "bob@example.org", PASSWORD).unwrap();
    assert_eq!(direct.messages.len(), 2);
    assert!(String::from_utf8_lossy(&direct.messages[0].body).contains("BEGIN PGP MESSAGE"));

    // Through the proxy: the decrypted message with our header; the size agrees; the plaintext is unchanged.
    let proxied = imap_fetch_all(addr, "bob@example.org", PASSWORD)
        .unwrap_or_else(|e| panic!("{e}\n{}", std::fs::read_to_string(dir.join("proxy.log")).unwrap_or_default()));
    assert_eq!(proxied.messages.len(), 2);
    let opened = String::from_utf8_lossy(&proxied.messages[0].body).into_owned();
    assert!(opened.starts_with("Sealpost-Verification: imap.example.org; format=pgp; status=pass;"), "{opened}");
    assert!(opened.contains("The secret plan.") && !opened.contains("BEGIN PGP MESSAGE"), "{opened}");
    assert_eq!(proxied.messages[0].size, proxied.messages[0].body.len() as u64, "RFC822.SIZE disagrees with BODY[]");
    assert_eq!(proxied.messages[1].body, direct.messages[1].body);
    assert_eq!(proxied.messages[1].body, plain);
    assert_eq!(proxied.messages[1].size, direct.messages[1].size);
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
