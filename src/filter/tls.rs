//! The proxies' connection to their upstream server: plain TCP, implicit TLS, or STARTTLS (IMAP, RFC 3501
//! section 6.2.1) / STLS (POP3, RFC 2595 section 4), chosen by `[imap]`/`[pop3]` `tls` (SECURITY-CASES D4,
//! E). It owns the steps up to the greeting the client gets, and nothing after it.
//!
//! What it refuses, so that nothing the proxy relays was sent in clear when TLS is configured:
//! - any TLS failure (untrusted certificate, wrong name, not TLS at all): no plaintext fallback;
//! - a `* PREAUTH` greeting before STARTTLS (the session would be authenticated and unencrypted), or a
//!   `* BYE`, or a POP3 `-ERR`;
//! - any byte after STARTTLS's tagged `OK` (or STLS's `+OK`) before the handshake, already received or
//!   arriving: the injection of CVE-2011-0411, where those plaintext bytes would be read as if they came
//!   over TLS.
//!
//! Trust comes from the configuration: `ca_file` (PEM) when given, else the system's roots; it is loaded
//! once, when the [`Connector`] is built. Every line read is bounded ([`MAX_LINE`]) and the whole connect,
//! handshake included, by `connect_timeout_seconds`.

use std::future::Future;
use std::io::Read;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncBufRead, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::time::Instant;
use tokio_rustls::TlsConnector;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName};
use tokio_rustls::rustls::{self, ClientConfig, RootCertStore};

use super::FilterError;
use super::config::{Endpoint, UpstreamTls};

/// A connection in either direction, plain or TLS.
pub trait Stream: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Stream for T {}

/// A boxed [`Stream`].
pub type BoxStream = Box<dyn Stream>;

/// Longest line read from the upstream while connecting, CRLF included.
const MAX_LINE: usize = 64 << 10;

/// Most untagged lines accepted before STARTTLS's or CAPABILITY's tagged answer.
const MAX_UNTAGGED: usize = 1000;

/// Largest `ca_file` read (a full system bundle is about 200 KiB).
const MAX_CA_FILE: u64 = 16 << 20;

/// The greeting given to the client once STLS succeeded (RFC 2595 section 4: the client must forget what
/// it knew, so nothing from the plaintext greeting is kept).
const POP3_TLS_GREETING: &[u8] = b"+OK sealpost proxy: upstream TLS established\r\n";

/// The TLS side of a connector: the client configuration and the name the certificate must carry.
struct Tls {
    connector: TlsConnector,
    name: ServerName<'static>,
}

/// How the upstream is reached.
enum Mode {
    Plain,
    Implicit(Tls),
    Starttls(Tls),
}

/// How to reach one upstream server; built once per proxy.
pub struct Connector {
    upstream: String,
    mode: Mode,
    timeout: Duration,
}

/// The protocol spoken upstream.
#[derive(Clone, Copy)]
enum Protocol {
    Imap,
    Pop3,
}

/// A failed step, as a one-line reason (the upstream's address is added by [`Connector`]).
type Step<T> = Result<T, String>;

impl Connector {
    /// The connector for `endpoint`, whose upstream is `upstream` (the command line's or the config's).
    /// With TLS, the trust roots are loaded here: a `ca_file` that cannot be read or holds no certificate,
    /// or a server name that cannot be one, is a [`FilterError::Config`].
    pub fn new(endpoint: &Endpoint, upstream: &str) -> Result<Connector, FilterError> {
        let mode = match endpoint.tls {
            // TLS settings without TLS are a mistake that would leave the upstream connection in clear.
            UpstreamTls::None if endpoint.ca_file.is_some() || endpoint.tls_server_name.is_some() => {
                return Err(FilterError::Config(
                    "ca_file and tls_server_name need tls = \"implicit\" or \"starttls\"".into(),
                ));
            }
            UpstreamTls::None => Mode::Plain,
            UpstreamTls::Implicit => Mode::Implicit(Tls::new(endpoint, upstream)?),
            UpstreamTls::Starttls => Mode::Starttls(Tls::new(endpoint, upstream)?),
        };
        Ok(Connector {
            upstream: upstream.to_string(),
            mode,
            timeout: Duration::from_secs(endpoint.connect_timeout_seconds),
        })
    }

    /// The upstream's address.
    pub fn upstream(&self) -> &str {
        &self.upstream
    }

    /// Connects to the IMAP upstream and reads its greeting. Returns the connection, positioned after the
    /// greeting (no byte that followed it is lost), and the greeting line to give the client (CRLF-ended):
    /// the server's own without TLS or with implicit TLS; after STARTTLS, a `* OK [CAPABILITY ...]` of
    /// ours with the server's capabilities over TLS, less `STARTTLS` and `LOGINDISABLED`.
    pub async fn imap(&self) -> Result<(BoxStream, Vec<u8>), FilterError> {
        self.connect(Protocol::Imap).await
    }

    /// Connects to the POP3 upstream and reads its greeting, as [`Connector::imap`]; after STLS the
    /// greeting is `+OK sealpost proxy: upstream TLS established`.
    pub async fn pop3(&self) -> Result<(BoxStream, Vec<u8>), FilterError> {
        self.connect(Protocol::Pop3).await
    }

    async fn connect(&self, protocol: Protocol) -> Result<(BoxStream, Vec<u8>), FilterError> {
        let deadline = Instant::now() + self.timeout;
        self.steps(protocol, deadline)
            .await
            .map_err(|reason| FilterError::Temporary(format!("upstream {}: {reason}", self.upstream)))
    }

    async fn steps(&self, protocol: Protocol, deadline: Instant) -> Step<(BoxStream, Vec<u8>)> {
        let tcp = self.tcp(deadline).await?;
        let tls = match &self.mode {
            Mode::Plain => return greeted(BufReader::new(tcp), deadline).await,
            Mode::Implicit(tls) => return greeted(BufReader::new(tls.handshake(tcp, deadline).await?), deadline).await,
            Mode::Starttls(tls) => tls,
        };
        let mut r = BufReader::new(tcp);
        match protocol {
            Protocol::Imap => {
                within(deadline, "STARTTLS", imap_starttls(&mut r)).await?;
                let tcp = nothing_pending(r, "STARTTLS's OK").await?;
                let mut r = BufReader::new(tls.handshake(tcp, deadline).await?);
                let capabilities = within(deadline, "CAPABILITY over TLS", imap_capability(&mut r)).await?;
                let greeting = format!("* OK [CAPABILITY {capabilities}] sealpost proxy: upstream TLS established\r\n");
                Ok((Box::new(r), greeting.into_bytes()))
            }
            Protocol::Pop3 => {
                within(deadline, "STLS", pop3_stls(&mut r)).await?;
                let tcp = nothing_pending(r, "STLS's +OK").await?;
                let r = BufReader::new(tls.handshake(tcp, deadline).await?);
                Ok((Box::new(r), POP3_TLS_GREETING.to_vec()))
            }
        }
    }

    async fn tcp(&self, deadline: Instant) -> Step<TcpStream> {
        let tcp = within(deadline, "connecting", async {
            TcpStream::connect(&self.upstream).await.map_err(|e| format!("cannot connect: {e}"))
        })
        .await?;
        let _ = tcp.set_nodelay(true);
        Ok(tcp)
    }
}

impl Tls {
    fn new(endpoint: &Endpoint, upstream: &str) -> Result<Tls, FilterError> {
        let roots = match &endpoint.ca_file {
            Some(file) => roots_from_file(file)?,
            None => system_roots()?,
        };
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let config = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| FilterError::Config(format!("TLS to the upstream: {e}")))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        let name = endpoint.tls_server_name.clone().unwrap_or_else(|| host_part(upstream).to_string());
        let name = ServerName::try_from(name.clone()).map_err(|_| {
            FilterError::Config(format!("{name:?} cannot be the upstream's TLS server name (set tls_server_name)"))
        })?;
        Ok(Tls { connector: TlsConnector::from(Arc::new(config)), name })
    }

    /// The TLS handshake over `tcp`; any failure ends the connection (no fallback).
    async fn handshake(&self, tcp: TcpStream, deadline: Instant) -> Step<tokio_rustls::client::TlsStream<TcpStream>> {
        within(deadline, "the TLS handshake", async {
            self.connector.connect(self.name.clone(), tcp).await.map_err(|e| handshake_failure(&e, &self.name))
        })
        .await
    }
}

/// The certificates of a PEM file, as trust anchors.
fn roots_from_file(file: &Path) -> Result<RootCertStore, FilterError> {
    let bad = |why: String| FilterError::Config(format!("ca_file {}: {why}", file.display()));
    let mut pem = Vec::new();
    std::fs::File::open(file)
        .and_then(|f| f.take(MAX_CA_FILE + 1).read_to_end(&mut pem))
        .map_err(|e| bad(e.to_string()))?;
    if pem.len() as u64 > MAX_CA_FILE {
        return Err(bad(format!("larger than {MAX_CA_FILE} bytes")));
    }
    let mut roots = RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(&pem) {
        let cert = cert.map_err(|e| bad(format!("not PEM: {e}")))?;
        roots.add(cert).map_err(|e| bad(format!("a certificate that cannot be a trust anchor: {e}")))?;
    }
    if roots.is_empty() {
        return Err(bad("no CERTIFICATE in it".into()));
    }
    Ok(roots)
}

/// The system's trust store (on Debian /etc/ssl/certs; `SSL_CERT_FILE`/`SSL_CERT_DIR` override it).
fn system_roots() -> Result<RootCertStore, FilterError> {
    let found = rustls_native_certs::load_native_certs();
    let mut roots = RootCertStore::empty();
    let (added, _unusable) = roots.add_parsable_certificates(found.certs);
    if added == 0 {
        let why = found.errors.first().map(|e| format!(" ({e})")).unwrap_or_default();
        return Err(FilterError::Config(format!(
            "TLS to the upstream: no system root certificate could be loaded{why}; set ca_file"
        )));
    }
    Ok(roots)
}

/// The host of `host:port`, `[v6]:port`, or a bare host.
fn host_part(upstream: &str) -> &str {
    if let Some(rest) = upstream.strip_prefix('[') {
        return rest.split_once(']').map_or(rest, |(host, _)| host);
    }
    match upstream.rsplit_once(':') {
        Some((host, port)) if !host.contains(':') && port.bytes().all(|b| b.is_ascii_digit()) => host,
        _ => upstream,
    }
}

/// The connection and its greeting line, passed on unchanged.
async fn greeted<S: Stream + 'static>(mut r: BufReader<S>, deadline: Instant) -> Step<(BoxStream, Vec<u8>)> {
    let greeting = within(deadline, "the greeting", line(&mut r, "the greeting")).await?;
    Ok((Box::new(r), greeting))
}

/// `step` bounded by `deadline`; running out of time names `what` was going on.
async fn within<T>(deadline: Instant, what: &str, step: impl Future<Output = Step<T>>) -> Step<T> {
    match tokio::time::timeout_at(deadline, step).await {
        Ok(done) => done,
        Err(_) => Err(format!("timed out during {what} (connect_timeout_seconds)")),
    }
}

/// One whole line (CRLF included) of at most [`MAX_LINE`] octets; the end of the connection before its
/// line end is an error.
async fn line<R: AsyncBufRead + Unpin>(r: &mut R, what: &str) -> Step<Vec<u8>> {
    let mut buf = Vec::new();
    match super::imap::wire::read_line(r, &mut buf, MAX_LINE).await {
        Ok(true) if buf.ends_with(b"\n") => Ok(buf),
        Ok(_) => Err(format!("the connection ended before {what} was complete")),
        Err(e) => Err(format!("reading {what}: {}", io_reason(&e))),
    }
}

async fn send<W: AsyncWrite + Unpin>(w: &mut W, command: &[u8]) -> Step<()> {
    let sent = async {
        w.write_all(command).await?;
        w.flush().await
    };
    sent.await.map_err(|e| format!("sending {}: {}", shown(command), io_reason(&e)))
}

/// The plain TCP stream under `r`, once sure that the server sent nothing after `answer`: neither bytes
/// already read into `r` nor bytes waiting in the socket. (Bytes arriving later reach the TLS handshake as
/// garbage and make it fail.)
async fn nothing_pending(r: BufReader<TcpStream>, answer: &str) -> Step<TcpStream> {
    let injected = |n: String| {
        format!("{n} followed {answer} before the TLS handshake (STARTTLS injection, CVE-2011-0411): refused")
    };
    if !r.buffer().is_empty() {
        return Err(injected(format!("{} bytes", r.buffer().len())));
    }
    let tcp = r.into_inner();
    let mut probe = [0u8; 1];
    let waiting = std::future::poll_fn(|cx| {
        let mut buf = tokio::io::ReadBuf::new(&mut probe);
        std::task::Poll::Ready(match tcp.poll_peek(cx, &mut buf) {
            std::task::Poll::Ready(peeked) => Some(peeked),
            std::task::Poll::Pending => None,
        })
    })
    .await;
    match waiting {
        None => Ok(tcp),
        Some(Ok(0)) => Err(format!("the connection ended after {answer}")),
        Some(Ok(_)) => Err(injected("bytes".into())),
        Some(Err(e)) => Err(format!("after {answer}: {e}")),
    }
}

/// IMAP before TLS: the greeting must be `* OK`; `S1 STARTTLS`, answered by a tagged `OK` (untagged lines
/// before it are ignored).
async fn imap_starttls<R: AsyncBufRead + AsyncWrite + Unpin>(r: &mut R) -> Step<()> {
    let greeting = line(r, "the greeting").await?;
    match response_words(&greeting) {
        (b"*", status) if status.eq_ignore_ascii_case(b"OK") => {}
        (b"*", status) if status.eq_ignore_ascii_case(b"PREAUTH") => {
            return Err(format!(
                "PREAUTH greeting refused: TLS is required and the session would stay unencrypted ({})",
                shown(&greeting)
            ));
        }
        (b"*", status) if status.eq_ignore_ascii_case(b"BYE") => {
            return Err(format!("the server refused the connection: {}", shown(&greeting)));
        }
        _ => return Err(format!("not an IMAP greeting: {}", shown(&greeting))),
    }
    send(r, b"S1 STARTTLS\r\n").await?;
    tagged_ok(r, b"S1", "STARTTLS", |_| ()).await
}

/// IMAP over TLS: `S2 CAPABILITY`; the server's list, filtered for the client.
async fn imap_capability<R: AsyncBufRead + AsyncWrite + Unpin>(r: &mut R) -> Step<String> {
    send(r, b"S2 CAPABILITY\r\n").await?;
    let mut list = None;
    tagged_ok(r, b"S2", "CAPABILITY", |l| {
        if let Some(rest) = capability_data(l) {
            list = Some(rest.to_vec());
        }
    })
    .await?;
    let list = list.ok_or("no CAPABILITY response to CAPABILITY")?;
    client_capabilities(&list)
}

/// Reads up to the tagged answer to `command`: `Ok` for `tag OK`; untagged lines go to `untagged` (a
/// `* BYE` is an error); `NO`, `BAD`, a continuation or another tag are errors.
async fn tagged_ok<R: AsyncBufRead + Unpin>(
    r: &mut R,
    tag: &[u8],
    command: &str,
    mut untagged: impl FnMut(&[u8]),
) -> Step<()> {
    let what = format!("the answer to {command}");
    for _ in 0..=MAX_UNTAGGED {
        let l = line(r, &what).await?;
        match response_words(&l) {
            (b"*", status) if status.eq_ignore_ascii_case(b"BYE") => {
                return Err(format!("the server closed the session instead of {what}: {}", shown(&l)));
            }
            (b"*", _) => untagged(&l),
            (t, status) if t == tag && status.eq_ignore_ascii_case(b"OK") => return Ok(()),
            (t, _) if t == tag => return Err(format!("the server refused {command}: {}", shown(&l))),
            _ => return Err(format!("unexpected {what}: {}", shown(&l))),
        }
    }
    Err(format!("more than {MAX_UNTAGGED} untagged lines before {what}"))
}

/// POP3 before TLS: the greeting must be `+OK`; `STLS`, answered `+OK`.
async fn pop3_stls<R: AsyncBufRead + AsyncWrite + Unpin>(r: &mut R) -> Step<()> {
    let greeting = line(r, "the greeting").await?;
    if !greeting.starts_with(b"+OK") {
        return Err(format!("the server refused the connection or is not POP3: {}", shown(&greeting)));
    }
    send(r, b"STLS\r\n").await?;
    let answer = line(r, "the answer to STLS").await?;
    if !answer.starts_with(b"+OK") {
        return Err(format!("the server refused STLS: {}", shown(&answer)));
    }
    Ok(())
}

/// The first two words of an IMAP response line: (`*`, `OK`) for `* OK [ALERT] text\r\n`.
fn response_words(line: &[u8]) -> (&[u8], &[u8]) {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let mut words = line.splitn(3, |&b| b == b' ');
    (words.next().unwrap_or_default(), words.next().unwrap_or_default())
}

/// The list of a `* CAPABILITY ...` line, `None` for any other line.
fn capability_data(line: &[u8]) -> Option<&[u8]> {
    let (star, word) = response_words(line);
    if star != b"*" || !word.eq_ignore_ascii_case(b"CAPABILITY") {
        return None;
    }
    let rest = line.get(3 + word.len()..).unwrap_or_default();
    let rest = rest.strip_suffix(b"\n").unwrap_or(rest);
    Some(rest.strip_suffix(b"\r").unwrap_or(rest))
}

/// The server's capabilities as the client may see them: `STARTTLS` (done) and `LOGINDISABLED` (which
/// held for the plaintext connection) removed. Each capability must be an atom (RFC 3501 section 9), so
/// that it cannot end the response code of the greeting it goes into.
fn client_capabilities(list: &[u8]) -> Step<String> {
    let mut kept = Vec::new();
    for word in list.split(|&b| b == b' ').filter(|w| !w.is_empty()) {
        let atom = word.iter().all(|&b| (0x21..0x7f).contains(&b) && !b"(){%*\"\\]".contains(&b));
        let Some(word) = std::str::from_utf8(word).ok().filter(|_| atom) else {
            return Err(format!("a capability that is not an atom: {}", shown(word)));
        };
        if !word.eq_ignore_ascii_case("STARTTLS") && !word.eq_ignore_ascii_case("LOGINDISABLED") {
            kept.push(word);
        }
    }
    if kept.is_empty() {
        return Err("an empty CAPABILITY response".into());
    }
    Ok(kept.join(" "))
}

/// Why a handshake failed, in the configuration's terms.
fn handshake_failure(e: &std::io::Error, name: &ServerName<'_>) -> String {
    use rustls::CertificateError as C;
    let Some(tls) = e.get_ref().and_then(|inner| inner.downcast_ref::<rustls::Error>()) else {
        return format!("TLS handshake failed: {}", io_reason(e));
    };
    match tls {
        rustls::Error::InvalidCertificate(C::UnknownIssuer) => {
            "TLS handshake failed: the server's certificate is not trusted (no CA of ca_file or of the system \
             signed it)"
                .into()
        }
        rustls::Error::InvalidCertificate(C::BadSignature) => {
            "TLS handshake failed: the server's certificate is not trusted (its signature does not verify with \
             the CA of that name)"
                .into()
        }
        rustls::Error::InvalidCertificate(c @ (C::NotValidForName | C::NotValidForNameContext { .. })) => {
            format!(
                "TLS handshake failed: the server's certificate is not valid for {} (set tls_server_name): {c}",
                name.to_str()
            )
        }
        rustls::Error::InvalidCertificate(c) => format!("TLS handshake failed: the server's certificate: {c}"),
        rustls::Error::InvalidMessage(_) | rustls::Error::InappropriateMessage { .. } => {
            format!("TLS handshake failed: the server did not answer with TLS ({tls})")
        }
        other => format!("TLS handshake failed: {other}"),
    }
}

/// An I/O error in one line, with the TLS error inside when there is one.
fn io_reason(e: &std::io::Error) -> String {
    match e.get_ref().and_then(|inner| inner.downcast_ref::<rustls::Error>()) {
        Some(tls) => format!("TLS: {tls}"),
        None => e.to_string(),
    }
}

/// A line from the server, for a message: control characters escaped, at most 200 characters.
fn shown(line: &[u8]) -> String {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let text: String = String::from_utf8_lossy(line).chars().flat_map(char::escape_default).take(200).collect();
    format!("\"{text}\"")
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // A panic in a test is a failed test.

    use std::path::PathBuf;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use tokio::io::{AsyncBufReadExt, AsyncReadExt};
    use tokio::net::TcpListener;
    use tokio_rustls::TlsAcceptor;
    use tokio_rustls::rustls::ServerConfig;
    use tokio_rustls::rustls::pki_types::PrivateKeyDer;

    use super::*;

    #[test]
    fn capabilities_lose_starttls_and_logindisabled_only() {
        let caps = capability_data(b"* CAPABILITY IMAP4rev1 SASL-IR starttls AUTH=PLAIN LOGINDISABLED ID\r\n");
        assert_eq!(caps, Some(&b"IMAP4rev1 SASL-IR starttls AUTH=PLAIN LOGINDISABLED ID"[..]));
        assert_eq!(client_capabilities(caps.unwrap()).unwrap(), "IMAP4rev1 SASL-IR AUTH=PLAIN ID");
        assert_eq!(client_capabilities(b"IMAP4rev1  STARTTLSX").unwrap(), "IMAP4rev1 STARTTLSX");
        assert_eq!(capability_data(b"* OK [CAPABILITY IMAP4rev1] hi\r\n"), None);
        assert_eq!(capability_data(b"S2 CAPABILITY x\r\n"), None);
        // What could end the greeting's response code, or is not text, is refused.
        for bad in [&b"IMAP4rev1 X]"[..], b"IMAP4rev1 A\x01", b"(X)", b"caf\xc3\xa9", b"STARTTLS", b""] {
            assert!(client_capabilities(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn response_words_and_shown_lines() {
        assert_eq!(response_words(b"* OK ready\r\n"), (&b"*"[..], &b"OK"[..]));
        assert_eq!(response_words(b"S1 ok\r\n"), (&b"S1"[..], &b"ok"[..]));
        assert_eq!(response_words(b"+\r\n"), (&b"+"[..], &b""[..]));
        assert_eq!(response_words(b""), (&b""[..], &b""[..]));
        assert_eq!(shown(b"* BYE \x1b[1m\r\n"), "\"* BYE \\u{1b}[1m\"");
        assert_eq!(shown(&[b'x'; 500]).len(), 202);
    }

    #[test]
    fn server_names_come_from_the_upstream_or_the_config() {
        assert_eq!(host_part("imap.example.org:993"), "imap.example.org");
        assert_eq!(host_part("127.0.0.1:143"), "127.0.0.1");
        assert_eq!(host_part("[::1]:143"), "::1");
        assert_eq!(host_part("imap.example.org"), "imap.example.org");
        assert_eq!(host_part("::1"), "::1");
        let pki = Pki::new();
        let tls = Tls::new(&pki.endpoint(UpstreamTls::Implicit, None), "127.0.0.1:993").ok().unwrap();
        assert!(matches!(tls.name, ServerName::IpAddress(_)));
        let tls = Tls::new(&pki.endpoint(UpstreamTls::Implicit, Some("localhost")), "127.0.0.1:993").ok().unwrap();
        assert_eq!(tls.name.to_str(), "localhost");
        let err = Tls::new(&pki.endpoint(UpstreamTls::Implicit, Some("not a name")), "x:1").err().unwrap();
        assert!(matches!(err, FilterError::Config(ref m) if m.contains("tls_server_name")), "{err}");
    }

    #[test]
    fn a_bad_ca_file_is_a_configuration_error_naming_it() {
        let missing = temp_file("missing", None);
        let empty = temp_file("empty", Some(b"no certificate here\n"));
        let key = temp_file("key", Some(rcgen::KeyPair::generate().unwrap().serialize_pem().as_bytes()));
        let broken = temp_file("broken", Some(b"-----BEGIN CERTIFICATE-----\nAAAA\n"));
        for file in [&missing, &empty, &key, &broken] {
            let endpoint = Endpoint { tls: UpstreamTls::Starttls, ca_file: Some(file.clone()), ..Endpoint::default() };
            match Connector::new(&endpoint, "127.0.0.1:143") {
                Err(FilterError::Config(m)) => assert!(m.contains(&file.display().to_string()), "{m}"),
                Err(e) => panic!("{}: {e}", file.display()),
                Ok(_) => panic!("{}: accepted", file.display()),
            }
            let _ = std::fs::remove_file(file);
        }
    }

    #[test]
    fn tls_settings_without_tls_are_refused() {
        let endpoint = Endpoint { ca_file: Some("/etc/ssl/certs/ca-certificates.crt".into()), ..Endpoint::default() };
        let err = Connector::new(&endpoint, "127.0.0.1:143").err().unwrap();
        assert!(matches!(err, FilterError::Config(ref m) if m.contains("need tls")), "{err}");
    }

    #[tokio::test]
    async fn plain_imap_greeting_is_passed_on() {
        let server = fake(None, |mut s| async move {
            s.write_all(b"* OK [CAPABILITY IMAP4rev1 STARTTLS] plain\r\n* 1 EXISTS\r\n").await.unwrap();
            read_rest(s).await
        })
        .await;
        let pki = Pki::new();
        let (stream, greeting) = connect_imap(&pki.endpoint(UpstreamTls::None, None), &server).await.unwrap();
        assert_eq!(greeting, b"* OK [CAPABILITY IMAP4rev1 STARTTLS] plain\r\n");
        // The byte after the greeting is not lost.
        let mut rest = String::new();
        BufReader::new(stream).read_line(&mut rest).await.unwrap();
        assert_eq!(rest, "* 1 EXISTS\r\n");
    }

    #[tokio::test]
    async fn implicit_tls_reads_the_greeting_over_tls() {
        let pki = Pki::new();
        let server = fake(Some(pki.acceptor()), |mut s| async move {
            s.write_all(b"* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] imaps ready\r\n").await.unwrap();
            let mut command = String::new();
            let mut r = BufReader::new(s);
            r.read_line(&mut command).await.unwrap();
            r.get_mut().write_all(b"a1 OK noop done\r\n").await.unwrap();
            command.into_bytes()
        })
        .await;
        let (mut stream, greeting) = connect_imap(&pki.endpoint(UpstreamTls::Implicit, None), &server).await.unwrap();
        assert_eq!(greeting, b"* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] imaps ready\r\n");
        stream.write_all(b"a1 NOOP\r\n").await.unwrap();
        stream.flush().await.unwrap();
        let mut answer = String::new();
        BufReader::new(stream).read_line(&mut answer).await.unwrap();
        assert_eq!(answer, "a1 OK noop done\r\n");
        assert_eq!(server.seen().await, b"a1 NOOP\r\n");
    }

    #[tokio::test]
    async fn starttls_gives_the_capabilities_over_tls_without_starttls() {
        let pki = Pki::new();
        let acceptor = pki.acceptor();
        let server = fake(None, move |mut s| async move {
            s.write_all(b"* OK [CAPABILITY IMAP4rev1 STARTTLS LOGINDISABLED] ready\r\n").await.unwrap();
            let mut r = BufReader::new(s);
            assert_eq!(read_line_of(&mut r).await, "S1 STARTTLS\r\n");
            r.get_mut().write_all(b"* OK still plain\r\nS1 OK Begin TLS negotiation now\r\n").await.unwrap();
            assert!(r.buffer().is_empty());
            let tls = acceptor.accept(r.into_inner()).await.unwrap();
            let mut r = BufReader::new(tls);
            assert_eq!(read_line_of(&mut r).await, "S2 CAPABILITY\r\n");
            r.get_mut()
                .write_all(b"* CAPABILITY IMAP4rev1 SASL-IR STARTTLS AUTH=PLAIN\r\nS2 OK done\r\n")
                .await
                .unwrap();
            read_rest(r).await
        })
        .await;
        let endpoint = pki.endpoint(UpstreamTls::Starttls, None);
        let (mut stream, greeting) = connect_imap(&endpoint, &server).await.unwrap();
        assert_eq!(
            String::from_utf8(greeting).unwrap(),
            "* OK [CAPABILITY IMAP4rev1 SASL-IR AUTH=PLAIN] sealpost proxy: upstream TLS established\r\n"
        );
        stream.write_all(b"a1 LOGIN bob secret\r\n").await.unwrap();
        stream.flush().await.unwrap();
        drop(stream);
        assert_eq!(server.seen().await, b"a1 LOGIN bob secret\r\n", "what the client sent went over TLS");
    }

    #[tokio::test]
    async fn starttls_refusals() {
        let pki = Pki::new();
        let endpoint = pki.endpoint(UpstreamTls::Starttls, None);
        let cases: [(&'static [u8], &str); 5] = [
            (b"* PREAUTH [CAPABILITY IMAP4rev1] logged in as bob\r\n", "PREAUTH greeting refused"),
            (b"* BYE too many connections\r\n", "refused the connection"),
            (b"* OK ready\r\nS1 NO [ALERT] no TLS today\r\n", "refused STARTTLS"),
            (b"* OK ready\r\nS1 OK\r\n* OK injected\r\n", "before the TLS handshake (STARTTLS injection"),
            (b"* OK ready\r\nS1 OK", "the connection ended before the answer to STARTTLS"),
        ];
        for (script, why) in cases {
            let server = fake(None, move |mut s| async move {
                // Everything at once, before reading anything: the injected line is in one segment with the OK.
                s.write_all(script).await.unwrap();
                if script.ends_with(b"S1 OK") {
                    s.shutdown().await.unwrap();
                }
                read_rest(s).await
            })
            .await;
            let err = connect_imap(&endpoint, &server).await.err().unwrap();
            assert!(matches!(err, FilterError::Temporary(_)), "{err}");
            assert!(err.to_string().contains(why), "{script:?}: {err}");
            assert!(!err.to_string().contains('\n'), "{err}");
            let seen = server.seen().await;
            let sent_starttls = !script.starts_with(b"* PREAUTH") && !script.starts_with(b"* BYE");
            assert_eq!(seen.as_slice(), if sent_starttls { &b"S1 STARTTLS\r\n"[..] } else { b"" }, "{script:?}");
        }
    }

    #[tokio::test]
    async fn injected_bytes_arriving_after_the_ok_are_refused() {
        let pki = Pki::new();
        let server = fake(None, |mut s| async move {
            s.write_all(b"* OK ready\r\n").await.unwrap();
            let mut r = BufReader::new(s);
            read_line_of(&mut r).await;
            r.get_mut().write_all(b"S1 OK\r\n").await.unwrap();
            tokio::time::sleep(Duration::from_millis(50)).await;
            r.get_mut().write_all(b"* OK injected later\r\n").await.unwrap();
            read_rest(r).await
        })
        .await;
        let err = connect_imap(&pki.endpoint(UpstreamTls::Starttls, None), &server).await.err().unwrap();
        // Either seen waiting in the socket, or read by the handshake as something other than TLS.
        let m = err.to_string();
        assert!(m.contains("STARTTLS injection") || m.contains("did not answer with TLS"), "{m}");
        let seen = server.seen().await;
        assert!(
            !seen.windows(13).any(|w| w == b"S2 CAPABILITY"),
            "a command was sent: {:?}",
            String::from_utf8_lossy(&seen)
        );
    }

    #[tokio::test]
    async fn bytes_waiting_in_the_socket_are_seen_before_the_handshake() {
        for (sent, want) in
            [(&b"* OK injected\r\n"[..], Some("STARTTLS injection")), (b"", Some("ended")), (b"-", None)]
        {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let client = TcpStream::connect(listener.local_addr().unwrap()).await.unwrap();
            let (mut server, _) = listener.accept().await.unwrap();
            if sent == b"-" {
                // Nothing sent, the connection open: the handshake may go on.
                assert!(nothing_pending(BufReader::new(client), "OK").await.is_ok());
                continue;
            }
            server.write_all(sent).await.unwrap();
            server.shutdown().await.unwrap();
            // Arrived in the socket, not read into the BufReader.
            tokio::time::sleep(Duration::from_millis(50)).await;
            let err = nothing_pending(BufReader::new(client), "OK").await.err().unwrap();
            assert!(err.contains(want.unwrap()), "{sent:?}: {err}");
        }
    }

    #[tokio::test]
    async fn an_untrusted_certificate_ends_the_connection_with_nothing_sent_in_clear() {
        let pki = Pki::new();
        let other = Pki::new();
        let acceptor = pki.acceptor();
        for mode in [UpstreamTls::Starttls, UpstreamTls::Implicit] {
            let acceptor = acceptor.clone();
            let server = fake(None, move |mut s| async move {
                if mode == UpstreamTls::Starttls {
                    s.write_all(b"* OK ready\r\n").await.unwrap();
                    let mut r = BufReader::new(&mut s);
                    assert_eq!(read_line_of(&mut r).await, "S1 STARTTLS\r\n");
                    r.get_mut().write_all(b"S1 OK go\r\n").await.unwrap();
                }
                assert!(acceptor.accept(&mut s).await.is_err(), "the client went on with an untrusted certificate");
                read_rest(s).await
            })
            .await;
            let err = connect_imap(&other.endpoint(mode, None), &server).await.err().unwrap();
            assert!(err.to_string().contains("certificate is not trusted"), "{mode:?}: {err}");
            let seen = server.seen().await;
            for clear in [&b"S2 CAPABILITY"[..], b"LOGIN"] {
                assert!(!seen.windows(clear.len()).any(|w| w == clear), "{mode:?}: {seen:?}");
            }
        }
    }

    #[tokio::test]
    async fn without_ca_file_the_system_roots_decide() {
        let pki = Pki::new();
        let server = fake(Some(pki.acceptor()), |s| async move { read_rest(s).await }).await;
        let endpoint = Endpoint { tls: UpstreamTls::Implicit, connect_timeout_seconds: 10, ..Endpoint::default() };
        let connector = match Connector::new(&endpoint, &server.addr) {
            Ok(c) => c,
            // A machine without a trust store: the configuration says so.
            Err(FilterError::Config(m)) if m.contains("no system root certificate") => return,
            Err(e) => panic!("{e}"),
        };
        let err = connector.imap().await.err().unwrap();
        assert!(err.to_string().contains("certificate is not trusted"), "{err}");
    }

    #[tokio::test]
    async fn a_certificate_for_another_name_is_refused() {
        let pki = Pki::new();
        let server = fake(Some(pki.acceptor()), |s| async move { read_rest(s).await }).await;
        let endpoint = pki.endpoint(UpstreamTls::Implicit, Some("imap.example.net"));
        let err = connect_imap(&endpoint, &server).await.err().unwrap();
        assert!(err.to_string().contains("not valid for imap.example.net"), "{err}");
        // The certificate names localhost: by that name the same server is accepted.
        let server = fake(Some(pki.acceptor()), |mut s| async move {
            s.write_all(b"* OK hi\r\n").await.unwrap();
            read_rest(s).await
        })
        .await;
        connect_imap(&pki.endpoint(UpstreamTls::Implicit, Some("localhost")), &server).await.unwrap();
    }

    #[tokio::test]
    async fn the_whole_connect_is_bounded_in_time() {
        let pki = Pki::new();
        let server = fake(None, |s| async move {
            tokio::time::sleep(Duration::from_secs(5)).await;
            drop(s);
            Vec::new()
        })
        .await;
        let mut endpoint = pki.endpoint(UpstreamTls::Starttls, None);
        endpoint.connect_timeout_seconds = 1;
        let start = std::time::Instant::now();
        let err = connect_imap(&endpoint, &server).await.err().unwrap();
        assert!(err.to_string().contains("timed out during STARTTLS"), "{err}");
        assert!(start.elapsed() < Duration::from_secs(3));
    }

    #[tokio::test]
    async fn pop3_stls_success() {
        let pki = Pki::new();
        let acceptor = pki.acceptor();
        let server = fake(None, move |mut s| async move {
            s.write_all(b"+OK Dovecot ready. <1.2@example.org>\r\n").await.unwrap();
            let mut r = BufReader::new(s);
            assert_eq!(read_line_of(&mut r).await, "STLS\r\n");
            r.get_mut().write_all(b"+OK Begin TLS negotiation now.\r\n").await.unwrap();
            let tls = acceptor.accept(r.into_inner()).await.unwrap();
            let mut r = BufReader::new(tls);
            assert_eq!(read_line_of(&mut r).await, "CAPA\r\n");
            r.get_mut().write_all(b"+OK\r\nUSER\r\n.\r\n").await.unwrap();
            read_rest(r).await
        })
        .await;
        let connector = Connector::new(&pki.endpoint(UpstreamTls::Starttls, None), &server.addr).ok().unwrap();
        let (mut stream, greeting) = connector.pop3().await.unwrap();
        assert_eq!(greeting, POP3_TLS_GREETING);
        stream.write_all(b"CAPA\r\n").await.unwrap();
        stream.flush().await.unwrap();
        let mut r = BufReader::new(stream);
        assert_eq!(read_line_of(&mut r).await, "+OK\r\n");
        drop(r);
        assert_eq!(server.seen().await, b"");
    }

    #[tokio::test]
    async fn pop3_stls_refusals_and_implicit_tls() {
        let pki = Pki::new();
        let endpoint = pki.endpoint(UpstreamTls::Starttls, None);
        let cases: [(&'static [u8], &str); 3] = [
            (b"-ERR go away\r\n", "refused the connection or is not POP3"),
            (b"+OK ready\r\n-ERR not now\r\n", "refused STLS"),
            (b"+OK ready\r\n+OK\r\n+OK injected\r\n", "STARTTLS injection"),
        ];
        for (script, why) in cases {
            let server = fake(None, move |mut s| async move {
                s.write_all(script).await.unwrap();
                read_rest(s).await
            })
            .await;
            let connector = Connector::new(&endpoint, &server.addr).ok().unwrap();
            let err = connector.pop3().await.err().unwrap();
            assert!(err.to_string().contains(why), "{script:?}: {err}");
            let seen = server.seen().await;
            let sent = if script.starts_with(b"-ERR") { &b""[..] } else { b"STLS\r\n" };
            assert_eq!(seen.as_slice(), sent, "{script:?}");
        }
        let server = fake(Some(pki.acceptor()), |mut s| async move {
            s.write_all(b"+OK pop3s ready\r\n").await.unwrap();
            read_rest(s).await
        })
        .await;
        let connector = Connector::new(&pki.endpoint(UpstreamTls::Implicit, None), &server.addr).ok().unwrap();
        let (_stream, greeting) = connector.pop3().await.unwrap();
        assert_eq!(greeting, b"+OK pop3s ready\r\n");
    }

    /// A CA and a server certificate it signed, for localhost and 127.0.0.1; the CA in a PEM file.
    struct Pki {
        ca_file: PathBuf,
        cert: CertificateDer<'static>,
        key: Vec<u8>,
    }

    impl Pki {
        fn new() -> Pki {
            let ca_key = rcgen::KeyPair::generate().unwrap();
            let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
            ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
            // A name of its own: another Pki's CA is then an unknown issuer, not one whose signature fails.
            static N: AtomicUsize = AtomicUsize::new(0);
            let name = format!("sealpost test CA {}", N.fetch_add(1, Ordering::Relaxed));
            ca_params.distinguished_name.push(rcgen::DnType::CommonName, name);
            let ca = rcgen::CertifiedIssuer::self_signed(ca_params, ca_key).unwrap();
            let key = rcgen::KeyPair::generate().unwrap();
            let params = rcgen::CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()]).unwrap();
            let cert = params.signed_by(&key, &ca).unwrap();
            let ca_file = temp_file("ca", Some(ca.pem().as_bytes()));
            Pki { ca_file, cert: cert.der().clone(), key: key.serialize_der() }
        }

        fn endpoint(&self, tls: UpstreamTls, name: Option<&str>) -> Endpoint {
            Endpoint {
                tls,
                ca_file: (tls != UpstreamTls::None).then(|| self.ca_file.clone()),
                tls_server_name: name.map(str::to_string),
                connect_timeout_seconds: 10,
                ..Endpoint::default()
            }
        }

        fn acceptor(&self) -> TlsAcceptor {
            let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
            let key = PrivateKeyDer::Pkcs8(self.key.clone().into());
            let config = ServerConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .unwrap()
                .with_no_client_auth()
                .with_single_cert(vec![self.cert.clone()], key)
                .unwrap();
            TlsAcceptor::from(Arc::new(config))
        }
    }

    impl Drop for Pki {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.ca_file);
        }
    }

    fn temp_file(what: &str, contents: Option<&[u8]>) -> PathBuf {
        static N: AtomicUsize = AtomicUsize::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!("sealpost-tls-{}-{n}-{what}.pem", std::process::id()));
        if let Some(contents) = contents {
            std::fs::write(&path, contents).unwrap();
        }
        path
    }

    /// A fake upstream on 127.0.0.1 serving one connection with `script` (over TLS from the first byte
    /// with an acceptor); `seen` is what the script returns, usually what the client sent after it.
    struct Fake {
        addr: String,
        task: tokio::task::JoinHandle<Vec<u8>>,
    }

    impl Fake {
        async fn seen(self) -> Vec<u8> {
            tokio::time::timeout(Duration::from_secs(10), self.task).await.expect("the fake server hung").unwrap()
        }
    }

    async fn fake<F, Fut>(acceptor: Option<TlsAcceptor>, script: F) -> Fake
    where
        F: FnOnce(BoxStream) -> Fut + Send + 'static,
        Fut: Future<Output = Vec<u8>> + Send,
    {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let task = tokio::spawn(async move {
            let (tcp, _) = listener.accept().await.unwrap();
            let stream: BoxStream = match acceptor {
                Some(a) => match a.accept(tcp).await {
                    Ok(tls) => Box::new(tls),
                    Err(_) => return Vec::new(),
                },
                None => Box::new(tcp),
            };
            script(stream).await
        });
        Fake { addr, task }
    }

    async fn connect_imap(endpoint: &Endpoint, server: &Fake) -> Result<(BoxStream, Vec<u8>), FilterError> {
        Connector::new(endpoint, &server.addr)?.imap().await
    }

    async fn read_line_of<R: AsyncBufRead + Unpin>(r: &mut R) -> String {
        let mut l = String::new();
        r.read_line(&mut l).await.unwrap();
        l
    }

    /// Everything the peer sends until it closes (an error, such as a TLS alert, ends it too).
    async fn read_rest<R: AsyncRead + Unpin>(mut r: R) -> Vec<u8> {
        let mut rest = Vec::new();
        let mut buf = [0u8; 4096];
        while let Ok(n) = r.read(&mut buf).await {
            if n == 0 {
                break;
            }
            rest.extend_from_slice(&buf[..n]);
        }
        rest
    }
}
