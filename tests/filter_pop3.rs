//! `sealpost filter pop3` between Python's poplib and a private Dovecot (POP3): directly the client gets
//! the ciphertext gpg made; through the proxy the decrypted message with the verification header, and LIST,
//! STAT and RETR agree on its size; a plaintext message whose body has lines `.`, `..`, `+OK` and `-ERR`
//! passes byte for byte; TOP is answered from the opened message; STLS is refused and not offered.

#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Command, Stdio};
use std::time::Duration;

use common::Killed as Proxy;
use common::dovecot::{Dovecot, PASSWORD, pop3_retr_all, python_clients};
use common::smtp::{free_port, wait_for_port};
use common::{peer, scratch};

struct World {
    dovecot: Dovecot,
    dir: std::path::PathBuf,
    encrypted: Vec<u8>,
    plain: Vec<u8>,
    addr: SocketAddr,
    _proxy: Proxy,
}

fn world(test: &str, extra: &str) -> Option<World> {
    let gpg_bin = peer(test, "gpg")?;
    python_clients(test)?;
    let dovecot = Dovecot::start(test)?;
    let dir = scratch(test);
    let common::sealed::BobAndCarol { ks, encrypted } = common::sealed::bob_and_carol(&gpg_bin, &dir);
    let plain = b"From: Dan <dan@example.net>\r\nTo: bob@example.org\r\nSubject: lines\r\n\r\n.\r\n..\r\n+OK\r\n-ERR\r\n.x\r\nend\r\n".to_vec();
    dovecot.deliver("bob@example.org", &encrypted);
    dovecot.deliver("bob@example.org", &plain);
    let port = free_port();
    let config = dir.join("pop3.toml");
    std::fs::write(
        &config,
        format!(
            "keystore = \"{}\"\nlocal_domains = [\"example.org\"]\nauthserv_id = \"pop.example.org\"\n[pop3]\nlisten = \"127.0.0.1:{port}\"\nupstream = \"{}\"\n{extra}",
            ks.display(),
            dovecot.pop3_addr()
        ),
    )
    .unwrap();
    let log = std::fs::File::create(dir.join("proxy.log")).unwrap();
    let proxy = Proxy(
        Command::new(env!("CARGO_BIN_EXE_sealpost"))
            .args(["filter", "pop3", "--config"])
            .arg(&config)
            .stderr(log)
            .stdout(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    assert!(wait_for_port(addr, Duration::from_secs(20)), "the proxy did not listen");
    Some(World { dovecot, dir, encrypted, plain, addr, _proxy: proxy })
}

impl World {
    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("proxy.log")).unwrap_or_default()
    }
}

#[test]
fn retr_through_the_proxy_is_decrypted_and_sizes_agree() {
    let Some(w) = world("pop3_proxy", "") else { return };
    let direct = pop3_retr_all(w.dovecot.pop3_addr(), "bob@example.org", PASSWORD).unwrap();
    assert_eq!(direct.messages.len(), 2);
    assert_eq!(direct.messages[0].body, w.encrypted);
    assert_eq!(direct.messages[1].body, w.plain);

    let proxied = pop3_retr_all(w.addr, "bob@example.org", PASSWORD).unwrap_or_else(|e| panic!("{e}\n{}", w.log()));
    assert_eq!(proxied.messages.len(), 2);
    let opened = String::from_utf8_lossy(&proxied.messages[0].body).into_owned();
    assert!(opened.starts_with("Sealpost-Verification: pop.example.org; format=pgp; status=pass;"), "{opened}");
    assert!(opened.contains("The secret plan.") && !opened.contains("BEGIN PGP MESSAGE"), "{opened}");
    // The plaintext message, with its `.`, `..`, `+OK`, `-ERR` lines, byte for byte.
    assert_eq!(proxied.messages[1].body, w.plain);
    // LIST, STAT and RETR agree.
    for m in &proxied.messages {
        assert_eq!(m.size, m.body.len() as u64, "LIST size of message {} vs RETR", m.number);
    }
    let total: u64 = proxied.messages.iter().map(|m| m.size).sum();
    assert_eq!(proxied.stat, (2, total));
    assert_eq!(proxied.messages[1].size, direct.messages[1].size);
    assert_eq!(proxied.messages[0].uidl, direct.messages[0].uidl);
}

/// A raw session: CAPA without STLS, STLS refused, AUTH PLAIN, TOP from the opened message, a bad command.
#[test]
fn a_raw_session_capa_stls_auth_plain_and_top() {
    let Some(w) = world("pop3_proxy_raw", "") else { return };
    let s = TcpStream::connect(w.addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let mut r = BufReader::new(s.try_clone().unwrap());
    let mut s = s;
    let mut line = String::new();
    r.read_line(&mut line).unwrap();
    assert!(line.starts_with("+OK"), "{line}");
    let single = |s: &mut TcpStream, r: &mut BufReader<TcpStream>, cmd: &str| -> String {
        s.write_all(cmd.as_bytes()).unwrap();
        let mut l = String::new();
        r.read_line(&mut l).unwrap();
        l
    };
    let multi = |r: &mut BufReader<TcpStream>| -> Vec<u8> {
        let mut all = Vec::new();
        loop {
            let mut l = Vec::new();
            assert!(r.read_until(b'\n', &mut l).unwrap() > 0, "closed: {}", String::from_utf8_lossy(&all));
            if l == b".\r\n" {
                return all;
            }
            all.extend_from_slice(&l);
        }
    };
    assert!(single(&mut s, &mut r, "CAPA\r\n").starts_with("+OK"));
    let capa = String::from_utf8_lossy(&multi(&mut r)).to_ascii_uppercase();
    assert!(capa.contains("USER") && !capa.contains("STLS"), "{capa}");
    assert!(single(&mut s, &mut r, "STLS\r\n").starts_with("-ERR"));
    // AUTH PLAIN with the response on its own line: "\0bob@example.org\0secret".
    assert!(single(&mut s, &mut r, "AUTH PLAIN\r\n").starts_with('+'));
    let status = single(&mut s, &mut r, "AGJvYkBleGFtcGxlLm9yZwBzZWNyZXQ=\r\n");
    assert!(status.starts_with("+OK"), "{status}");
    let status = single(&mut s, &mut r, "TOP 1 0\r\n");
    assert!(status.starts_with("+OK"), "{status}");
    let top = String::from_utf8_lossy(&multi(&mut r)).into_owned();
    assert!(top.starts_with("Sealpost-Verification: pop.example.org;") && top.ends_with("\r\n\r\n"), "{top}");
    assert!(!top.contains("The secret plan."), "TOP 1 0 has no body lines: {top}");
    let status = single(&mut s, &mut r, "TOP 1 1\r\n");
    assert!(status.starts_with("+OK"), "{status}");
    assert!(String::from_utf8_lossy(&multi(&mut r)).ends_with("\r\n\r\nThe secret plan.\r\n"));
    let status = single(&mut s, &mut r, "RETR 9\r\n");
    assert!(status.starts_with("-ERR"), "{status}");
    // After LIST (every message read once) a RETR has the next message read ahead; what the client does
    // next decides whether it is used: DELE of it makes RETR of it fail as the server says, RSET brings it
    // back, and RETR after RETR gives the next message whole.
    assert!(single(&mut s, &mut r, "LIST\r\n").starts_with("+OK"));
    let list = String::from_utf8_lossy(&multi(&mut r)).into_owned();
    assert_eq!(list.lines().count(), 2, "{list}");
    let retr = |s: &mut TcpStream, r: &mut BufReader<TcpStream>, n: u32| -> Vec<u8> {
        let status = single(s, r, &format!("RETR {n}\r\n"));
        assert!(status.starts_with("+OK"), "RETR {n}: {status}");
        multi(r)
    };
    let first = retr(&mut s, &mut r, 1);
    assert!(String::from_utf8_lossy(&first).contains("The secret plan."));
    assert!(single(&mut s, &mut r, "DELE 2\r\n").starts_with("+OK"));
    let status = single(&mut s, &mut r, "RETR 2\r\n");
    assert!(status.starts_with("-ERR"), "RETR of a deleted message read ahead: {status}");
    assert!(single(&mut s, &mut r, "RSET\r\n").starts_with("+OK"));
    assert_eq!(retr(&mut s, &mut r, 1), first);
    assert!(single(&mut s, &mut r, "NOOP\r\n").starts_with("+OK"), "a command between RETRs");
    let second = retr(&mut s, &mut r, 2);
    assert_eq!(retr(&mut s, &mut r, 1), first);
    assert_eq!(retr(&mut s, &mut r, 2), second, "read ahead or not, the same message");
    let text = String::from_utf8_lossy(&second);
    assert!(text.contains("\r\n..\r\n...\r\n+OK\r\n-ERR\r\n"), "the stuffed data lines: {text}");
    let status = single(&mut s, &mut r, "TOP 2 0\r\n");
    assert!(status.starts_with("+OK"), "{status}");
    let top = multi(&mut r);
    assert!(second.starts_with(&top) && top.ends_with(b"\r\n\r\n"), "{}", String::from_utf8_lossy(&top));
    assert!(single(&mut s, &mut r, "QUIT\r\n").starts_with("+OK"));
    let mut rest = Vec::new();
    let _ = r.read_to_end(&mut rest);
    assert!(rest.is_empty(), "{}", String::from_utf8_lossy(&rest));
}

/// An S/MIME message openssl encrypted to Bob's X.509 certificate: RETR through the proxy gives it
/// decrypted, and LIST agrees with it.
#[test]
fn smime_from_openssl_through_the_proxy() {
    const TEST: &str = "pop3_proxy_smime";
    let Some(openssl) = peer(TEST, "openssl") else { return };
    let Some(w) = world(TEST, "") else { return };
    let sealpost = || Command::new(env!("CARGO_BIN_EXE_sealpost"));
    let ks = w.dir.join("ks");
    let run_ok = |c: &mut Command| common::run_ok(c);
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
    w.dovecot.deliver("bob@example.org", &common::dovecot::crlf(&smime));
    let direct = pop3_retr_all(w.dovecot.pop3_addr(), "bob@example.org", PASSWORD).unwrap();
    assert!(String::from_utf8_lossy(&direct.messages[2].body).contains("pkcs7-mime"));
    let proxied = pop3_retr_all(w.addr, "bob@example.org", PASSWORD).unwrap_or_else(|e| panic!("{e}\n{}", w.log()));
    let opened = String::from_utf8_lossy(&proxied.messages[2].body).into_owned();
    assert!(opened.contains("format=smime; status=") && opened.contains("The S/MIME secret."), "{opened}");
    assert_eq!(proxied.messages[2].size, proxied.messages[2].body.len() as u64);
}
