//! `sealpost filter imap` with TLS to a real upstream (a private Dovecot with its own CA,
//! `Dovecot::start_tls`), between Python's imaplib and Dovecot:
//!
//! - `tls = "starttls"` to Dovecot's IMAP port with `ca_file`: the client gets the decrypted message; the
//!   proxy's greeting is its own `* OK [CAPABILITY ...]` without STARTTLS; Dovecot saw the login over TLS;
//! - `tls = "implicit"` to the IMAPS port (server name `localhost`): the same;
//! - `tls = "starttls"` with the `ca_file` of another CA: the client gets `* BYE` and no session, the proxy
//!   logs why, and Dovecot saw no login (nothing was sent in clear after STARTTLS);
//! - the connector itself against Dovecot's POP3 STLS and POP3S;
//! - `sealpost filter pop3` with `tls = "starttls"` (STLS) and `tls = "implicit"` (POP3S), poplib through
//!   it: the decrypted message, LIST agreeing, Dovecot's POP3 login over TLS; with another CA's `ca_file`
//!   the client gets `-ERR` and Dovecot saw no login.
//!
//! Needs Dovecot's IMAP and POP3 servers, openssl, gpg and /usr/bin/python3; each test skips with a
//! printed reason when one is missing, and fails under `SEALPOST_REQUIRE_PEERS=1`.

#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::dovecot::{self, Dovecot, PASSWORD, imap_fetch_all, python_clients};
use common::smtp::{free_port, wait_for_port};
use common::{peer, scratch};

fn sealpost() -> Command {
    Command::new(env!("CARGO_BIN_EXE_sealpost"))
}

/// A Dovecot with TLS, a keystore with Bob's key, and a message from Carol encrypted to Bob in his INBOX.
struct Setup {
    dovecot: Dovecot,
    dir: PathBuf,
    ks: PathBuf,
    openssl: PathBuf,
}

fn setup(test: &str) -> Option<Setup> {
    let gpg_bin = peer(test, "gpg")?;
    let openssl = peer(test, "openssl")?;
    python_clients(test)?;
    let dovecot = Dovecot::start_tls(test)?;
    let dir = scratch(test);
    let common::sealed::BobAndCarol { ks, encrypted } = common::sealed::bob_and_carol(&gpg_bin, &dir);
    dovecot.deliver("bob@example.org", &encrypted);
    Some(Setup { dovecot, dir, ks, openssl })
}

/// A running `sealpost filter imap` (or `pop3`), killed on drop.
struct Proxy {
    child: Child,
    addr: SocketAddr,
    log: PathBuf,
}

impl Proxy {
    /// Starts the IMAP proxy in front of `upstream` with these extra `[imap]` lines (the TLS settings).
    fn start(s: &Setup, upstream: SocketAddr, tls: &str) -> Proxy {
        Proxy::start_kind(s, "imap", upstream, tls)
    }

    /// Starts `sealpost filter KIND` (imap, pop3) in front of `upstream` with these extra `[KIND]` lines.
    fn start_kind(s: &Setup, kind: &str, upstream: SocketAddr, tls: &str) -> Proxy {
        let port = free_port();
        let config = s.dir.join(format!("{kind}-{port}.toml"));
        std::fs::write(
            &config,
            format!(
                "keystore = \"{}\"\nlocal_domains = [\"example.org\"]\nauthserv_id = \"imap.example.org\"\n\
                 [{kind}]\nlisten = \"127.0.0.1:{port}\"\nupstream = \"{upstream}\"\nconnect_timeout_seconds = 20\n{tls}",
                s.ks.display()
            ),
        )
        .unwrap();
        let log = s.dir.join(format!("proxy-{port}.log"));
        let child = sealpost()
            .args(["filter", kind, "--config"])
            .arg(&config)
            .stderr(std::fs::File::create(&log).unwrap())
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        let mut proxy = Proxy { child, addr: SocketAddr::from(([127, 0, 0, 1], port)), log };
        if !wait_for_port(proxy.addr, Duration::from_secs(20)) {
            let status = proxy.child.try_wait().unwrap();
            panic!("the proxy did not listen ({status:?}); config:\n{tls}\nlog:\n{}", proxy.log());
        }
        proxy
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn toml_path(p: &Path) -> String {
    p.display().to_string().replace('\\', "\\\\").replace('"', "\\\"")
}

/// Through the proxy: the greeting has no STARTTLS, the message comes decrypted, and Dovecot logged the
/// login as made over TLS.
fn check_decrypted_over_tls(s: &Setup, proxy: &Proxy, greeting_is_ours: bool) {
    let greeting = dovecot::greeting(proxy.addr, Duration::from_secs(20)).unwrap();
    assert!(greeting.starts_with("* OK [CAPABILITY IMAP4rev1 "), "{greeting}\n{}", proxy.log());
    assert!(!greeting.to_ascii_uppercase().contains("STARTTLS"), "{greeting}");
    assert_eq!(greeting.ends_with("sealpost proxy: upstream TLS established"), greeting_is_ours, "{greeting}");
    let logins_before = tls_logins(&s.dovecot);
    let mailbox = imap_fetch_all(proxy.addr, "bob@example.org", PASSWORD)
        .unwrap_or_else(|e| panic!("{e}\nproxy log:\n{}\ndovecot log:\n{}", proxy.log(), s.dovecot.log()));
    assert!(!mailbox.capabilities.iter().any(|c| c == "STARTTLS"), "{:?}", mailbox.capabilities);
    assert_eq!(mailbox.messages.len(), 1);
    let opened = String::from_utf8_lossy(&mailbox.messages[0].body).into_owned();
    assert!(opened.starts_with("Sealpost-Verification: imap.example.org; format=pgp; status=pass;"), "{opened}");
    assert!(opened.contains("The secret plan.") && !opened.contains("BEGIN PGP MESSAGE"), "{opened}");
    assert_eq!(tls_logins(&s.dovecot), logins_before + 1, "no login over TLS in:\n{}", s.dovecot.log());
}

/// The proxy says why it refused the upstream (the log line may follow the client's refusal by a moment),
/// and Dovecot saw connections end in the handshake with no login: nothing went on in clear.
fn refused_in_the_handshake(s: &Setup, proxy: &Proxy) {
    let end = Instant::now() + Duration::from_secs(10);
    while !proxy.log().contains("certificate is not trusted") && Instant::now() < end {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(proxy.log().contains("certificate is not trusted"), "proxy log:\n{}", proxy.log());
    let log = s.dovecot.log();
    assert!(log.contains("alert unknown ca"), "the proxy did not refuse in the handshake:\n{log}");
    assert!(!log.contains("Login: user="), "a login reached Dovecot:\n{log}");
    assert!(!log.contains("auth failed"), "credentials reached Dovecot:\n{log}");
}

/// Dovecot's successful logins of Bob made over TLS (its login lines say `TLS` then; plain ones from
/// loopback say `secured`).
fn tls_logins(dovecot: &Dovecot) -> usize {
    dovecot.log().lines().filter(|l| l.contains("Login: user=<bob@example.org>") && l.contains(", TLS")).count()
}

#[test]
fn starttls_to_dovecot_with_its_ca() {
    const TEST: &str = "imap_tls_starttls";
    let Some(s) = setup(TEST) else { return };
    let ca = s.dovecot.ca_file().unwrap();
    let tls = format!("tls = \"starttls\"\nca_file = \"{}\"\n", toml_path(&ca));
    // The upstream by IP address: the certificate's IP:127.0.0.1 is what is checked.
    let proxy = Proxy::start(&s, s.dovecot.imap_addr(), &tls);
    check_decrypted_over_tls(&s, &proxy, true);
}

#[test]
fn implicit_tls_to_dovecots_imaps_port() {
    const TEST: &str = "imap_tls_implicit";
    let Some(s) = setup(TEST) else { return };
    let ca = s.dovecot.ca_file().unwrap();
    let tls = format!("tls = \"implicit\"\nca_file = \"{}\"\ntls_server_name = \"localhost\"\n", toml_path(&ca));
    let proxy = Proxy::start(&s, s.dovecot.imaps_addr().unwrap(), &tls);
    // Dovecot's own greeting, passed on: on IMAPS it offers no STARTTLS.
    check_decrypted_over_tls(&s, &proxy, false);
}

#[test]
fn starttls_with_another_ca_gives_bye_and_sends_nothing_in_clear() {
    const TEST: &str = "imap_tls_untrusted";
    let Some(s) = setup(TEST) else { return };
    let other = dovecot::make_ca(&s.openssl, &s.dir.join("other-ca"), "another CA");
    let tls = format!("tls = \"starttls\"\nca_file = \"{}\"\n", toml_path(&other));
    let proxy = Proxy::start(&s, s.dovecot.imap_addr(), &tls);
    let greeting = dovecot::greeting(proxy.addr, Duration::from_secs(20)).unwrap();
    assert!(greeting.starts_with("* BYE [UNAVAILABLE]"), "{greeting}");
    let refused = imap_fetch_all(proxy.addr, "bob@example.org", PASSWORD);
    assert!(refused.is_err(), "a session through an untrusted upstream: {refused:?}");
    refused_in_the_handshake(&s, &proxy);
}

/// The connector alone against Dovecot's POP3: STLS on the plain port and TLS from the first byte on the
/// POP3S port; a login and STAT over the connection it returns, which Dovecot logs as made over TLS.
#[test]
fn pop3_connector_against_dovecot() {
    use sealpost::filter::config::{Endpoint, UpstreamTls};
    use sealpost::filter::tls::Connector;
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
    const TEST: &str = "pop3_tls_connector";
    if peer(TEST, "openssl").is_none() {
        return;
    }
    let Some(dovecot) = Dovecot::start_tls(TEST) else { return };
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    for (tls, addr) in
        [(UpstreamTls::Starttls, dovecot.pop3_addr()), (UpstreamTls::Implicit, dovecot.pop3s_addr().unwrap())]
    {
        let endpoint = Endpoint { tls, ca_file: dovecot.ca_file(), connect_timeout_seconds: 20, ..Endpoint::default() };
        let connector = Connector::new(&endpoint, &addr.to_string()).unwrap();
        let stat = runtime.block_on(async {
            let (stream, greeting) = connector.pop3().await.unwrap();
            assert!(greeting.starts_with(b"+OK"), "{}", String::from_utf8_lossy(&greeting));
            let mut r = BufReader::new(stream);
            let mut answer = String::new();
            for command in ["USER bob@example.org\r\n", &format!("PASS {PASSWORD}\r\n"), "STAT\r\n"] {
                r.get_mut().write_all(command.as_bytes()).await.unwrap();
                r.get_mut().flush().await.unwrap();
                answer.clear();
                r.read_line(&mut answer).await.unwrap();
                assert!(answer.starts_with("+OK"), "{command:?}: {answer:?}");
            }
            answer
        });
        assert_eq!(stat.trim_end(), "+OK 0 0", "{tls:?}");
    }
    let log = dovecot.log();
    let pop3_tls =
        log.lines().filter(|l| l.contains("pop3-login: Info: Login: user=<bob@example.org>") && l.contains(", TLS"));
    assert_eq!(pop3_tls.count(), 2, "{log}");
}

/// Through the POP3 proxy with TLS to Dovecot (STLS on the plain port, then POP3S): poplib gets the message
/// decrypted, LIST agrees with RETR, and Dovecot logged a POP3 login over TLS each time.
#[test]
fn pop3_proxy_over_stls_and_pop3s() {
    const TEST: &str = "pop3_tls_proxy";
    let Some(s) = setup(TEST) else { return };
    let ca = toml_path(&s.dovecot.ca_file().unwrap());
    let runs = [
        (s.dovecot.pop3_addr(), format!("tls = \"starttls\"\nca_file = \"{ca}\"\n")),
        (s.dovecot.pop3s_addr().unwrap(), format!("tls = \"implicit\"\nca_file = \"{ca}\"\n")),
    ];
    for (n, (upstream, tls)) in runs.iter().enumerate() {
        let proxy = Proxy::start_kind(&s, "pop3", *upstream, tls);
        let mailbox = dovecot::pop3_retr_all(proxy.addr, "bob@example.org", PASSWORD)
            .unwrap_or_else(|e| panic!("{tls}: {e}\nproxy log:\n{}\ndovecot log:\n{}", proxy.log(), s.dovecot.log()));
        assert_eq!(mailbox.messages.len(), 1, "{tls}");
        let m = &mailbox.messages[0];
        let opened = String::from_utf8_lossy(&m.body).into_owned();
        assert!(opened.starts_with("Sealpost-Verification: imap.example.org; format=pgp; status=pass;"), "{opened}");
        assert!(opened.contains("The secret plan.") && !opened.contains("BEGIN PGP MESSAGE"), "{opened}");
        assert_eq!(m.size, m.body.len() as u64, "{tls}: LIST size vs RETR");
        let log = s.dovecot.log();
        let logins = log
            .lines()
            .filter(|l| l.contains("pop3-login: Info: Login: user=<bob@example.org>") && l.contains(", TLS"));
        assert_eq!(logins.count(), n + 1, "{tls}: no POP3 login over TLS in:\n{log}");
    }
}

/// The POP3 proxy with STLS required and the `ca_file` of another CA: the client gets `-ERR`, nothing
/// reaches Dovecot in clear (no USER, no login).
#[test]
fn pop3_proxy_with_another_ca_refuses_and_sends_nothing_in_clear() {
    const TEST: &str = "pop3_tls_untrusted";
    let Some(s) = setup(TEST) else { return };
    let other = dovecot::make_ca(&s.openssl, &s.dir.join("other-ca"), "another CA");
    let tls = format!("tls = \"starttls\"\nca_file = \"{}\"\n", toml_path(&other));
    let proxy = Proxy::start_kind(&s, "pop3", s.dovecot.pop3_addr(), &tls);
    let greeting = dovecot::greeting(proxy.addr, Duration::from_secs(20)).unwrap();
    assert!(greeting.starts_with("-ERR"), "{greeting}");
    let refused = dovecot::pop3_retr_all(proxy.addr, "bob@example.org", PASSWORD);
    assert!(refused.is_err(), "a session through an untrusted upstream: {refused:?}");
    refused_in_the_handshake(&s, &proxy);
}
