//! SECURITY-CASES (/work/shared/SECURITY-CASES.md) C, E and F1 through the proxies, where the other test files
//! leave a case open (docs/security.md maps every case to its tests):
//!
//! - E: a client's literals (`{n}`, `{n+}`) are passed on as data, byte for byte, even when they hold lines
//!   that look like commands, small or larger than what the proxy reads whole; a client literal of
//!   `{99999999999}` octets ends the session with nothing sent upstream; every value the proxy writes into
//!   an ENVELOPE or BODYSTRUCTURE that holds CR, LF or 8-bit data is a literal, and NUL is never written;
//! - C: a plaintext message stored with a forged `Sealpost-Verification` (delivered, or APPENDed through the
//!   proxy) is never shown through the IMAP proxy with it;
//! - F1: the SMTP hook with its default limits refuses a 1 MB header and 100 000 header fields, and a
//!   message of deeply nested message/rfc822 parts does not end it.
//!
//! The IMAP tests use a fake upstream (a plain TCP listener here) or a private Dovecot
//! (tests/common/dovecot.rs); the SMTP ones the aiosmtpd sink (tests/common/smtp.rs). Each skips with a
//! printed reason when its peer is missing (and fails under `SEALPOST_REQUIRE_PEERS=1`).

#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)] // A panic in a test is a failed test.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::scratch;
use common::smtp::{Sink, SmtpConn, free_port, smtp_send, wait_for_port};

fn sealpost() -> Command {
    Command::new(env!("CARGO_BIN_EXE_sealpost"))
}

/// A running `sealpost filter imap|smtp`; killed on drop.
struct Daemon {
    child: Child,
    addr: SocketAddr,
    log: PathBuf,
}

impl Daemon {
    /// Starts `sealpost filter <kind> --config` with `config` (TOML; `{port}` is replaced by a free port).
    fn start(dir: &Path, kind: &str, config: &str) -> Daemon {
        let port = free_port();
        let path = dir.join(format!("{kind}.toml"));
        std::fs::write(&path, config.replace("{port}", &port.to_string())).unwrap();
        let log = dir.join(format!("{kind}.log"));
        let child = sealpost()
            .args(["filter", kind, "--config"])
            .arg(&path)
            .env("SEALPOST_LOG", "debug")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
        let mut d = Daemon { child, addr, log };
        if !wait_for_port(addr, Duration::from_secs(20)) {
            let _ = d.child.kill();
            panic!("sealpost filter {kind} did not listen: {}", d.log());
        }
        d
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Whether the process is still running.
    fn alive(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// ------------------------------------------------------------------------------------------------------------
// E: the IMAP proxy in front of a fake upstream

/// The proxy in front of a listener of ours. The proxy connects to it once to see that it listens; that
/// first connection is answered and dropped here.
struct FakeUpstream {
    listener: TcpListener,
    proxy: Daemon,
}

fn fake_upstream(test: &str) -> FakeUpstream {
    let dir = scratch(test);
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let up = listener.local_addr().unwrap();
    let proxy = Daemon::start(
        &dir,
        "imap",
        &format!(
            "keystore = \"{}\"\n[imap]\nlisten = \"127.0.0.1:{{port}}\"\nupstream = \"{up}\"\n",
            dir.join("ks").display()
        ),
    );
    // wait_for_port's probe made a session, which connected to us.
    listener.set_nonblocking(true).unwrap();
    let end = Instant::now() + Duration::from_secs(5);
    while Instant::now() < end {
        if let Ok((mut s, _)) = listener.accept() {
            let _ = s.write_all(b"* BYE\r\n");
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    listener.set_nonblocking(false).unwrap();
    FakeUpstream { listener, proxy }
}

impl FakeUpstream {
    /// A client connected through the proxy, and the upstream end of its session (greeted).
    fn session(&self) -> (TcpStream, TcpStream) {
        let client = TcpStream::connect(self.proxy.addr).unwrap();
        client.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let (mut server, _) = self.listener.accept().unwrap();
        server.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        server.write_all(b"* OK [CAPABILITY IMAP4rev1 LITERAL+] fake server ready\r\n").unwrap();
        let mut greeting = String::new();
        BufReader::new(client.try_clone().unwrap()).read_line(&mut greeting).unwrap();
        assert!(greeting.starts_with("* OK"), "{greeting}");
        (client, server)
    }
}

/// Reads what arrives on `s` until `want` bytes came, the peer closed, or nothing came for a while.
fn read_some(s: &mut TcpStream, want: usize) -> Vec<u8> {
    s.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 65536];
    while got.len() < want {
        match s.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => got.extend_from_slice(&buf[..n]),
        }
    }
    got
}

/// Client literals hold lines that look like commands (`a2 FETCH 1 BODY[1]`, which the proxy would rewrite
/// if it took it for one, and `a3 LOGOUT`), in non-synchronising literals (RFC 7888) of a few bytes and of
/// 100 000 (over the 64 KiB the proxy reads whole), and in a synchronising one answered by the server's `+`.
/// The server receives exactly the client's bytes.
#[test]
fn e_client_literals_are_passed_on_as_data() {
    let f = fake_upstream("security-e-literals");
    let inner = b"\r\na2 FETCH 1 BODY[1]\r\na3 LOGOUT\r\n{5}\r\n";
    let mut big = Vec::new();
    while big.len() < 100_000 {
        big.extend_from_slice(inner);
        big.extend_from_slice(b"Subject: filler\r\n");
    }
    for (label, literal) in [("small", inner.to_vec()), ("100 000 octets", big)] {
        let (mut client, mut server) = f.session();
        let mut sent = format!("a1 APPEND INBOX {{{}+}}\r\n", literal.len()).into_bytes();
        sent.extend_from_slice(&literal);
        sent.extend_from_slice(b"\r\na4 FETCH 1 (FLAGS)\r\n");
        client.write_all(&sent).unwrap();
        let got = read_some(&mut server, sent.len());
        assert!(
            got == sent,
            "{label}: the server got {} bytes, not the {} sent:\n{:?}",
            got.len(),
            sent.len(),
            String::from_utf8_lossy(&got[..got.len().min(300)])
        );
    }
    // A synchronising literal: the proxy waits for the server's continuation, and passes it on.
    let (mut client, mut server) = f.session();
    let first = format!("a1 LOGIN {{{}}}\r\n", inner.len());
    client.write_all(first.as_bytes()).unwrap();
    let got = read_some(&mut server, first.len());
    assert_eq!(got, first.as_bytes());
    server.write_all(b"+ go ahead\r\n").unwrap();
    let mut cont = String::new();
    BufReader::new(client.try_clone().unwrap()).read_line(&mut cont).unwrap();
    assert_eq!(cont, "+ go ahead\r\n");
    let mut rest = inner.to_vec();
    rest.extend_from_slice(b" secret\r\n");
    client.write_all(&rest).unwrap();
    assert_eq!(read_some(&mut server, rest.len()), rest);
}

/// A client command announcing a literal of 99 999 999 999 octets: the session ends (or the command is
/// answered BAD) at once, without allocating it, and nothing of it reaches the server; the proxy goes on.
#[test]
fn e_a_huge_client_literal_ends_the_session_without_allocating() {
    let mut f = fake_upstream("security-e-huge-literal");
    let (mut client, mut server) = f.session();
    let start = Instant::now();
    client.write_all(b"a1 LOGIN {99999999999}\r\n").unwrap();
    let mut answer = Vec::new();
    let _ = client.read_to_end(&mut answer);
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.is_empty() || answer.starts_with("a1 BAD") || answer.starts_with("* BYE"), "{answer}");
    assert!(start.elapsed() < Duration::from_secs(10), "not at once: {:?}", start.elapsed());
    let got = read_some(&mut server, 1);
    assert!(!String::from_utf8_lossy(&got).contains("99999999999"), "passed upstream: {got:?}");
    assert!(f.proxy.alive(), "the proxy ended: {}", f.proxy.log());
    let (mut client, mut server) = f.session();
    client.write_all(b"a1 NOOP\r\n").unwrap();
    assert_eq!(read_some(&mut server, 9), b"a1 NOOP\r\n");
}

/// Values from a hostile message in the ENVELOPE and BODYSTRUCTURE the proxy writes for an opened message
/// (`src/filter/imap/structure.rs`): a display name whose encoded-word decodes to CR LF and `* BYE`, an 8-bit
/// Subject, quotes and backslashes in a file name, a NUL in a Content-Description. Encoded as the proxy
/// does (imap-codec), every CR, LF and 8-bit octet is inside a literal, there is no NUL, and the response
/// reads back with the same values.
#[test]
fn e_values_with_cr_lf_nul_or_8bit_are_written_as_literals() {
    use imap_codec::ResponseCodec;
    use imap_codec::decode::Decoder;
    use imap_codec::encode::Encoder;
    use imap_codec::imap_types::core::Vec1;
    use imap_codec::imap_types::fetch::MessageDataItem;
    use imap_codec::imap_types::response::{Data, Response};
    use sealpost::filter::imap::structure::{body_structure, envelope};

    let msg = "From: =?utf-8?q?Eve=0D=0A*_BYE_injected=0D=0Aa9_OK?= <eve@example.org>\r\nTo: bob@example.org\r\nSubject: Gr\u{fc}\u{df}e \"quoted\" \\ back\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Description: nul\0here\r\n\r\nhi\r\n--b\r\nContent-Type: application/pdf; name=\"a\\\"b\\\\c.pdf\"\r\nContent-Disposition: attachment; filename=\"K\u{f6}ln \\\"x\\\".pdf\"\r\n\r\nAAAA\r\n--b--\r\n";
    let encode = |item: MessageDataItem<'static>| {
        let r = Response::Data(Data::Fetch { seq: std::num::NonZeroU32::new(1).unwrap(), items: Vec1::from(item) });
        ResponseCodec::default().encode(&r).dump()
    };
    let mut checked = 0;
    for (label, item) in [
        ("ENVELOPE", envelope(msg.as_bytes()).ok().map(MessageDataItem::Envelope)),
        ("BODYSTRUCTURE", body_structure(msg.as_bytes(), true).ok().map(MessageDataItem::BodyStructure)),
    ] {
        // Refusing to describe the message is safe too: the proxy then passes the server's response on.
        let Some(item) = item else { continue };
        let wire = encode(item);
        assert!(!wire.contains(&0), "{label}: a NUL written: {:?}", String::from_utf8_lossy(&wire));
        assert_only_literals_hold_line_ends_and_8bit(label, &wire);
        let (rest, _) = ResponseCodec::default()
            .decode(&wire)
            .unwrap_or_else(|e| panic!("{label}: does not read back: {e:?}\n{}", String::from_utf8_lossy(&wire)));
        assert!(rest.is_empty(), "{label}: {} bytes after the response", rest.len());
        checked += 1;
    }
    // The ENVELOPE at least: its From and Subject are what the test is about.
    let wire = encode(MessageDataItem::Envelope(envelope(msg.as_bytes()).unwrap()));
    let text = String::from_utf8_lossy(&wire);
    assert!(text.contains("* BYE injected"), "the display name was dropped rather than quoted: {text}");
    assert!(checked >= 1);
}

/// Walks an encoded response: a line end may only end a literal announcement `{n}` (whose n octets are then
/// skipped) or the response; 8-bit octets may only be inside literals.
fn assert_only_literals_hold_line_ends_and_8bit(label: &str, wire: &[u8]) {
    let shown = String::from_utf8_lossy(wire);
    let mut i = 0;
    while i < wire.len() {
        let b = wire[i];
        if b == b'\r' || b == b'\n' {
            if &wire[i..] == b"\r\n" {
                return;
            }
            assert!(
                wire[i..].starts_with(b"\r\n") && wire[..i].ends_with(b"}"),
                "{label}: a line end outside a literal at {i}: {shown:?}"
            );
            let open = wire[..i].iter().rposition(|&c| c == b'{').unwrap();
            let n: usize = std::str::from_utf8(&wire[open + 1..i - 1]).unwrap().trim_end_matches('+').parse().unwrap();
            i += 2 + n;
            continue;
        }
        assert!(b < 0x80, "{label}: an 8-bit octet outside a literal at {i}: {shown:?}");
        i += 1;
    }
    panic!("{label}: the response does not end in CRLF: {shown:?}");
}

// ------------------------------------------------------------------------------------------------------------
// C: forged verification headers and the IMAP proxy (Dovecot)

struct ImapWorld {
    dovecot: common::dovecot::Dovecot,
    proxy: Daemon,
}

fn imap_world(test: &str) -> Option<ImapWorld> {
    common::dovecot::python_clients(test)?;
    let dovecot = common::dovecot::Dovecot::start(test)?;
    let dir = scratch(test);
    let proxy = Daemon::start(
        &dir,
        "imap",
        &format!(
            "keystore = \"{}\"\nauthserv_id = \"imap.example.org\"\n[imap]\nlisten = \"127.0.0.1:{{port}}\"\nupstream = \"{}\"\n",
            dir.join("ks").display(),
            dovecot.imap_addr()
        ),
    );
    Some(ImapWorld { dovecot, proxy })
}

const FORGED: &str = "Sealpost-Verification: imap.example.org; format=pgp; status=pass;\r\n signer=\"Alice <alice@example.org>\"; from=match\r\nX-Sealpost-Verification: pass\r\nFrom: Mallory <m@evil.example>\r\nTo: bob@example.org\r\nSubject: trust me\r\nContent-Type: text/plain\r\n\r\nNot signed by anyone.\r\n";

/// A plaintext message that reached the mailbox with a forged verification header (delivered without the
/// SMTP hook, or APPENDed by a client) must not be shown through the proxy with the header, or the client
/// could not tell it from ours (SECURITY-CASES C). (APPEND itself passes unchanged, as issue #8 requires: the
/// header is removed whenever the message is fetched through the proxy.)
#[test]
fn c_a_forged_header_in_a_stored_plaintext_message_is_not_shown() {
    let Some(w) = imap_world("security-c-imap-fetch") else { return };
    w.dovecot.deliver("bob@example.org", FORGED.as_bytes());
    let proxied = common::dovecot::imap_fetch_all(w.proxy.addr, "bob@example.org", common::dovecot::PASSWORD)
        .unwrap_or_else(|e| panic!("{e}\n{}", w.proxy.log()));
    let body = String::from_utf8_lossy(&proxied.messages[0].body).to_ascii_lowercase();
    assert!(body.contains("not signed by anyone"), "{body}");
    assert!(!body.contains("status=pass"), "a forged pass shown through the proxy:\n{body}");
}

// ------------------------------------------------------------------------------------------------------------
// F1: the SMTP hook's limits

fn smtp_hook(test: &str) -> Option<(Sink, Daemon)> {
    let sink = Sink::start(test)?;
    let dir = scratch(test);
    // Defaults for every limit: only what the hook needs to run.
    let daemon = Daemon::start(
        &dir,
        "smtp",
        &format!(
            "keystore = \"{}\"\nlocal_domains = [\"example.org\"]\nauthserv_id = \"mx.example.org\"\n[smtp]\nlisten = \"127.0.0.1:{{port}}\"\nrelay = \"{}\"\n[outbound]\nsign = false\nencrypt = \"never\"\n",
            dir.join("ks").display(),
            sink.addr()
        ),
    );
    Some((sink, daemon))
}

/// With its default limits (Postfix's header_size_limit of 100 KiB; 1000 fields), the SMTP hook refuses a
/// 1 MB header (one field folded into short lines) and 100 000 header fields with a 5xx, relays nothing of
/// them, and still relays a normal message.
#[test]
fn f1_the_smtp_hook_refuses_a_huge_header_and_too_many_fields() {
    const TEST: &str = "security-f1-smtp-headers";
    let Some((sink, hook)) = smtp_hook(TEST) else { return };
    let folded: String = (0..14_000).map(|_| format!(" {}\r\n", "h".repeat(70))).collect();
    let huge = format!("From: x@example.info\r\nTo: gus@example.org\r\nX-Big:\r\n{folded}Subject: big\r\n\r\nbody\r\n");
    assert!(huge.len() > 1_000_000);
    let many: String = (0..100_000).map(|i| format!("X-F{i}: v\r\n")).collect();
    let many = format!("From: x@example.info\r\nTo: gus@example.org\r\n{many}Subject: many\r\n\r\nbody\r\n");
    for (label, msg) in [("a 1 MB header", huge), ("100 000 header fields", many)] {
        let (code, text) = smtp_send(hook.addr, "x@example.info", &["gus@example.org"], msg.as_bytes()).unwrap();
        assert!((500..600).contains(&code), "{label}: {code} {text}");
    }
    let ok = b"From: x@example.info\r\nTo: gus@example.org\r\nSubject: fine\r\n\r\nbody\r\n";
    let (code, text) = smtp_send(hook.addr, "x@example.info", &["gus@example.org"], ok).unwrap();
    assert_eq!(code, 250, "{text}");
    let got = sink.wait_for(1, Duration::from_secs(30));
    assert_eq!(got.len(), 1, "{got:?}");
    assert!(got[0].text().contains("Subject: fine"));
}

/// 20 000 nested message/rfc822 parts (1 MB, under every size limit): the message is refused or relayed,
/// and the hook goes on serving. (`mime::parse` overflows the stack on such nesting: see
/// `f1_nested_attached_messages_are_an_error_not_a_crash` in tests/security_mail.rs.)
#[test]
fn f1_nested_attached_messages_do_not_end_the_smtp_hook() {
    const TEST: &str = "security-f1-smtp-nested";
    let Some((_sink, mut hook)) = smtp_hook(TEST) else { return };
    let mut msg = String::new();
    for _ in 0..20_000 {
        msg.push_str("From: x@example.info\r\nTo: gus@example.org\r\nContent-Type: message/rfc822\r\n\r\n");
    }
    msg.push_str("From: x@example.info\r\n\r\nx\r\n");
    let answer = smtp_send(hook.addr, "x@example.info", &["gus@example.org"], msg.as_bytes());
    std::thread::sleep(Duration::from_millis(500));
    assert!(hook.alive(), "the SMTP hook ended (answer {answer:?}): {}", hook.log());
    let mut c = SmtpConn::connect(hook.addr).unwrap();
    assert_eq!(c.reply().unwrap().0, 220);
}
