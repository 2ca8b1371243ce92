//! The filters' configuration (TOML, CONTRACT.md "Filters"): where the keystore is, which domains are
//! local, and what to do with outbound and inbound mail.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::FilterError;
use crate::mail::outgoing::Format;

/// Largest configuration file read.
const MAX_CONFIG: u64 = 1 << 20;

/// When outbound mail is encrypted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Encrypt {
    /// Never.
    Never,
    /// When every recipient has a key (else signed only).
    #[default]
    Opportunistic,
    /// Always: a recipient without a key is a permanent failure.
    Required,
}

/// `[outbound]`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Outbound {
    /// Sign with the sender's key when the keystore has one.
    #[serde(default = "yes")]
    pub sign: bool,
    /// When to encrypt.
    #[serde(default)]
    pub encrypt: Encrypt,
    /// The format.
    #[serde(default = "pgp")]
    pub format: Format,
    /// Format per recipient domain or address (`"example.net" = "smime"`), overriding `format`.
    #[serde(default)]
    pub formats: BTreeMap<String, Format>,
}

/// `[inbound]`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Inbound {
    /// Verify signatures and add the verification header.
    #[serde(default = "yes")]
    pub verify: bool,
    /// Decrypt with the recipients' keys.
    #[serde(default = "yes")]
    pub decrypt: bool,
    /// Answer S/MIME signed-receipt requests (RFC 2634) for local recipients with an S/MIME key in the
    /// keystore, for mail that verified (SMTP hook only). Off by default: a receipt tells the sender that
    /// the mail arrived and was processed.
    #[serde(default)]
    pub receipts: bool,
    /// Trusted CA certificates (PEM, one or more) for S/MIME and PEM signers' certificate paths. Without
    /// it only the signature and the From are checked, and the verdict notes that the path was not.
    #[serde(default)]
    pub ca_file: Option<std::path::PathBuf>,
    /// The certificates of `ca_file`, read by [`Config::parse`].
    #[serde(skip)]
    pub anchors: Vec<x509_cert::Certificate>,
}

fn yes() -> bool {
    true
}

fn pgp() -> Format {
    Format::Pgp
}

impl Default for Outbound {
    fn default() -> Outbound {
        Outbound { sign: true, encrypt: Encrypt::default(), format: Format::Pgp, formats: BTreeMap::new() }
    }
}

impl Default for Inbound {
    fn default() -> Inbound {
        Inbound { verify: true, decrypt: true, receipts: false, ca_file: None, anchors: Vec::new() }
    }
}

/// How the proxy reaches its upstream server.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum UpstreamTls {
    /// Plain TCP (an upstream on loopback or a trusted network).
    #[default]
    None,
    /// TLS from the first byte (IMAPS 993, POP3S 995).
    Implicit,
    /// STARTTLS (IMAP, RFC 3501) or STLS (POP3, RFC 2595) before anything else; no plaintext fallback, and a
    /// PREAUTH greeting is refused.
    Starttls,
}

/// A listen/upstream section (`[imap]`, `[pop3]`): the proxies of issues #8 and #11.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Endpoint {
    /// Where to listen.
    pub listen: Option<String>,
    /// Server behind the proxy (IMAP, POP3).
    pub upstream: Option<String>,
    /// TLS to the upstream: "none" (default), "implicit" or "starttls".
    #[serde(default)]
    pub tls: UpstreamTls,
    /// PEM file of the certificates that may sign the upstream's certificate (default: the system's roots).
    pub ca_file: Option<PathBuf>,
    /// The name the upstream's certificate must carry (default: the host part of `upstream`).
    pub tls_server_name: Option<String>,
    /// Most client connections at once; more get a BYE / -ERR and are closed.
    #[serde(default = "endpoint_max_connections")]
    pub max_connections: usize,
    /// Seconds either side may stay silent before the session is closed (RFC 3501 section 5.4: at least 30
    /// minutes for IMAP, which IDLE relies on).
    #[serde(default = "endpoint_timeout")]
    pub timeout_seconds: u64,
    /// Seconds to reach the upstream and finish its greeting (and TLS).
    #[serde(default = "endpoint_connect_timeout")]
    pub connect_timeout_seconds: u64,
    /// Largest message a proxy holds in memory to open; a larger one is streamed to the client as the server
    /// has it (bounded memory).
    #[serde(default = "endpoint_max_message")]
    pub max_message_bytes: usize,
    /// Bytes of processed (decrypted) messages kept in memory, per proxy; 0 turns the cache off.
    #[serde(default = "endpoint_cache_bytes")]
    pub cache_bytes: usize,
    /// Seconds a processed message is kept (verdicts follow key changes after at most this long).
    #[serde(default = "endpoint_cache_seconds")]
    pub cache_seconds: u64,
    /// Seconds to let sessions end after SIGTERM before they are cut.
    #[serde(default = "shutdown_seconds")]
    pub shutdown_seconds: u64,
}

fn endpoint_max_connections() -> usize {
    200
}
fn endpoint_timeout() -> u64 {
    31 * 60
}
fn endpoint_connect_timeout() -> u64 {
    30
}
fn endpoint_max_message() -> usize {
    64 << 20
}
fn endpoint_cache_bytes() -> usize {
    256 << 20
}
fn endpoint_cache_seconds() -> u64 {
    600
}

impl Default for Endpoint {
    fn default() -> Endpoint {
        Endpoint {
            listen: None,
            upstream: None,
            tls: UpstreamTls::None,
            ca_file: None,
            tls_server_name: None,
            max_connections: endpoint_max_connections(),
            timeout_seconds: endpoint_timeout(),
            connect_timeout_seconds: endpoint_connect_timeout(),
            max_message_bytes: endpoint_max_message(),
            cache_bytes: endpoint_cache_bytes(),
            cache_seconds: endpoint_cache_seconds(),
            shutdown_seconds: shutdown_seconds(),
        }
    }
}

/// `[smtp]`: the content-filter proxy (`sealpost filter smtp`).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Smtp {
    /// Where to listen.
    #[serde(default = "smtp_listen")]
    pub listen: String,
    /// The next hop (Postfix's re-injection smtpd).
    #[serde(default = "smtp_relay")]
    pub relay: String,
    /// The name in the greeting and EHLO reply (default: the authserv-id).
    pub hostname: Option<String>,
    /// Largest message accepted, in bytes (advertised as SIZE).
    #[serde(default = "max_message_size")]
    pub max_message_size: usize,
    /// Largest line, CRLF included (RFC 5321 section 4.5.3.1.6: 1000).
    #[serde(default = "max_line_length")]
    pub max_line_length: usize,
    /// Largest header section of a message, in bytes (Postfix's header_size_limit).
    #[serde(default = "max_header_size")]
    pub max_header_size: usize,
    /// Most header fields in a message.
    #[serde(default = "max_header_fields")]
    pub max_header_fields: usize,
    /// Most recipients per transaction (more are answered 452 and sent again by the client later).
    #[serde(default = "max_recipients")]
    pub max_recipients: usize,
    /// Most connections at once (more are answered 421).
    #[serde(default = "max_connections")]
    pub max_connections: usize,
    /// Messages processed at once (signing, encryption); default: twice the number of cores.
    pub workers: Option<usize>,
    /// Seconds to wait for a command or a piece of data from the client (RFC 5321 section 4.5.3.2: 5 minutes).
    #[serde(default = "timeout_seconds")]
    pub timeout_seconds: u64,
    /// Seconds for each step of the next-hop transaction.
    #[serde(default = "relay_timeout_seconds")]
    pub relay_timeout_seconds: u64,
    /// Seconds a key loaded from the keystore is kept (0: loaded for every message).
    #[serde(default = "key_cache_seconds")]
    pub key_cache_seconds: u64,
    /// On SIGTERM, seconds to let messages in flight finish before exiting.
    #[serde(default = "shutdown_seconds")]
    pub shutdown_seconds: u64,
}

fn smtp_listen() -> String {
    "127.0.0.1:10025".into()
}
fn smtp_relay() -> String {
    "127.0.0.1:10026".into()
}
fn max_message_size() -> usize {
    64 << 20
}
fn max_line_length() -> usize {
    1000
}
fn max_header_size() -> usize {
    100 << 10
}
fn max_header_fields() -> usize {
    1000
}
fn max_recipients() -> usize {
    1000
}
fn max_connections() -> usize {
    100
}
fn timeout_seconds() -> u64 {
    300
}
fn relay_timeout_seconds() -> u64 {
    120
}
fn key_cache_seconds() -> u64 {
    60
}
fn shutdown_seconds() -> u64 {
    60
}

impl Default for Smtp {
    fn default() -> Smtp {
        Smtp {
            listen: smtp_listen(),
            relay: smtp_relay(),
            hostname: None,
            max_message_size: max_message_size(),
            max_line_length: max_line_length(),
            max_header_size: max_header_size(),
            max_header_fields: max_header_fields(),
            max_recipients: max_recipients(),
            max_connections: max_connections(),
            workers: None,
            timeout_seconds: timeout_seconds(),
            relay_timeout_seconds: relay_timeout_seconds(),
            key_cache_seconds: key_cache_seconds(),
            shutdown_seconds: shutdown_seconds(),
        }
    }
}

/// The whole file.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Keystore directory.
    pub keystore: Option<PathBuf>,
    /// Domains whose senders are ours: mail from them to elsewhere is outbound.
    #[serde(default)]
    pub local_domains: Vec<String>,
    /// The authserv-id in the verification header (default: this host's name).
    pub authserv_id: Option<String>,
    /// A passphrase file for encrypted keys in the keystore.
    pub passphrase_file: Option<PathBuf>,
    /// Outbound policy.
    #[serde(default)]
    pub outbound: Outbound,
    /// Inbound policy.
    #[serde(default)]
    pub inbound: Inbound,
    /// `[smtp]`.
    #[serde(default)]
    pub smtp: Smtp,
    /// `[imap]`.
    #[serde(default)]
    pub imap: Endpoint,
    /// `[pop3]`.
    #[serde(default)]
    pub pop3: Endpoint,
}

impl Config {
    /// Reads and checks a configuration file.
    pub fn read(path: &Path) -> Result<Config, FilterError> {
        use std::io::Read;
        let mut text = String::new();
        std::fs::File::open(path)
            .and_then(|f| f.take(MAX_CONFIG).read_to_string(&mut text))
            .map_err(|e| FilterError::Config(format!("cannot read {}: {e}", path.display())))?;
        Config::parse(&text).map_err(|e| FilterError::Config(format!("{}: {e}", path.display())))
    }

    /// Parses configuration text.
    pub fn parse(text: &str) -> Result<Config, String> {
        let mut c: Config = toml::from_str(text).map_err(|e| e.message().to_string())?;
        let s = &c.smtp;
        if s.max_message_size == 0 || s.max_message_size > crate::mime::entity::MAX_MESSAGE {
            return Err(format!("smtp.max_message_size: from 1 to {}", crate::mime::entity::MAX_MESSAGE));
        }
        if s.max_line_length < 512 || s.max_recipients == 0 || s.max_connections == 0 || s.workers == Some(0) {
            return Err(
                "smtp: max_line_length is at least 512; max_recipients, max_connections, workers at least 1".into()
            );
        }
        if s.timeout_seconds == 0 || s.relay_timeout_seconds == 0 {
            return Err("smtp: timeouts are at least 1 second".into());
        }
        for (name, e) in [("imap", &c.imap), ("pop3", &c.pop3)] {
            if e.max_connections == 0 || e.timeout_seconds == 0 || e.connect_timeout_seconds == 0 {
                return Err(format!("{name}: max_connections and the timeouts are at least 1"));
            }
            if e.max_message_bytes == 0 || e.max_message_bytes > crate::mime::entity::MAX_MESSAGE {
                return Err(format!("{name}.max_message_bytes: from 1 to {}", crate::mime::entity::MAX_MESSAGE));
            }
        }
        if let Some(path) = &c.inbound.ca_file {
            c.inbound.anchors = read_anchors(path)?;
        }
        for d in &mut c.local_domains {
            *d = crate::keystore::address::normalize(&format!("x@{d}"))
                .and_then(|a| a.split_once('@').map(|(_, d)| d.to_string()))
                .ok_or_else(|| format!("local_domains: {d:?} is not a domain"))?;
        }
        Ok(c)
    }

    /// True for an address in a local domain.
    pub fn is_local(&self, addr: &str) -> bool {
        addr.rsplit_once('@').is_some_and(|(_, d)| self.local_domains.iter().any(|l| l == d))
    }

    /// The format for a recipient: by address, then by domain, then the default.
    pub fn format_for(&self, addr: &str) -> Format {
        let domain = addr.rsplit_once('@').map(|(_, d)| d).unwrap_or("");
        self.outbound
            .formats
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(addr))
            .or_else(|| self.outbound.formats.iter().find(|(k, _)| k.eq_ignore_ascii_case(domain)))
            .map(|(_, f)| *f)
            .unwrap_or(self.outbound.format)
    }
}

/// The CA certificates of `[inbound] ca_file` (PEM or DER, at least one).
fn read_anchors(path: &std::path::Path) -> Result<Vec<x509_cert::Certificate>, String> {
    use der::Decode;
    let what = format!("inbound.ca_file {}", path.display());
    let bytes = std::fs::read(path).map_err(|e| format!("{what}: {e}"))?;
    let ders = crate::x509::encoding::certificate_ders(&bytes).map_err(|e| format!("{what}: {e}"))?;
    let certs: Vec<x509_cert::Certificate> = ders
        .iter()
        .map(|d| x509_cert::Certificate::from_der(d).map_err(|e| format!("{what}: {e}")))
        .collect::<Result<_, _>>()?;
    if certs.is_empty() {
        return Err(format!("{what} holds no certificate"));
    }
    Ok(certs)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // A panic in a test is a failed test.

    use super::*;

    #[test]
    fn inbound_ca_file_is_read_when_parsed() {
        let e = Config::parse("[inbound]\nca_file = \"/nonexistent/ca.pem\"\n").unwrap_err();
        assert!(e.starts_with("inbound.ca_file /nonexistent/ca.pem: "), "{e}");
        let dir = std::env::temp_dir().join(format!("sealpost-config-ca-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let empty = dir.join("empty.pem");
        std::fs::write(&empty, b"no certificate here\n").unwrap();
        let e = Config::parse(&format!("[inbound]\nca_file = \"{}\"\n", empty.display())).unwrap_err();
        assert!(e.contains("neither DER nor PEM") || e.contains("holds no certificate"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(Config::parse("[inbound]\nreceipts = true\n").unwrap().inbound.anchors.is_empty());
    }

    #[test]
    fn the_contract_example_parses() {
        let c = Config::parse(
            "keystore = \"/var/lib/sealpost\"\nlocal_domains = [\"Example.org\"]\n[smtp]\nlisten = \"127.0.0.1:10025\"\nrelay = \"127.0.0.1:10026\"\n[imap]\nlisten = \"127.0.0.1:1143\"\nupstream = \"127.0.0.1:143\"\n[pop3]\nlisten = \"127.0.0.1:1110\"\nupstream = \"127.0.0.1:110\"\n[outbound]\nsign = true\nencrypt = \"opportunistic\"\nformat = \"pgp\"\n[outbound.formats]\n\"example.net\" = \"smime\"\n[inbound]\nverify = true\ndecrypt = true\n",
        )
        .unwrap();
        assert!(c.is_local("a@example.org") && !c.is_local("a@example.net"));
        assert_eq!(c.format_for("b@EXAMPLE.net"), Format::Smime);
        assert_eq!(c.format_for("b@elsewhere.example"), Format::Pgp);
        assert_eq!(c.outbound.encrypt, Encrypt::Opportunistic);
        assert_eq!((c.smtp.relay.as_str(), c.smtp.max_line_length), ("127.0.0.1:10026", 1000));
        assert!(Config::parse("[smtp]\nmax_line_length = 10").is_err());
        assert!(Config::parse("[smtp]\nrelais = \"x\"").is_err());
        assert!(Config::parse("encrypt = 1").is_err());
        assert!(Config::parse("[outbound]\nencrypt = \"sometimes\"").is_err());
    }
}
