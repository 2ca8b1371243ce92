//! `sealpost filter ...`

use std::path::PathBuf;

use clap::{Args, Subcommand, ValueEnum};

/// Mail-path filters.
#[derive(Debug, Subcommand)]
pub enum FilterCommand {
    /// SMTP content filter (Postfix after-queue pattern): sign/encrypt outbound, verify/decrypt inbound.
    #[command(after_help = SMTP_HELP)]
    Smtp(FilterServer),
    /// IMAP proxy that decrypts and verifies as clients fetch, for any IMAP server.
    #[command(after_help = IMAP_HELP)]
    Imap(FilterUpstream),
    /// POP3 proxy that decrypts and verifies as clients retrieve, for any POP3 server.
    #[command(after_help = POP3_HELP)]
    Pop3(FilterUpstream),
    /// Filter one message from standard input to standard output; exit 75 on temporary failure, 69 when refused.
    Pipe(FilterPipe),
    /// Show what the policy would do with a message, and why, without sending anything.
    Explain(FilterExplain),
}

const IMAP_HELP: &str = "\
The mail client connects to the proxy instead of the server. Every command and
response passes through; a message that is OpenPGP, S/MIME or PEM is shown
opened with the logged-in user's keystore keys (decrypted, verified, with the
Sealpost-Verification header), and every FETCH item (BODY[...] sections,
partials, RFC822.*, RFC822.SIZE, BODYSTRUCTURE, ENVELOPE) describes the opened
message. Plaintext passes byte for byte. APPEND passes unchanged (drafts are
stored as the client sends them); server-side SEARCH sees only ciphertext.

The client side is plain IMAP (listen on loopback); the proxy refuses STARTTLS
and COMPRESS. The upstream side, in [imap]: tls = none | implicit | starttls,
ca_file, tls_server_name; no plaintext fallback, PREAUTH refused under
starttls.

Limits, in [imap]: max_connections, timeout_seconds, connect_timeout_seconds,
max_message_bytes (larger messages stream unopened), cache_bytes and
cache_seconds (opened messages kept per user, mailbox, UIDVALIDITY, UID),
shutdown_seconds. docs/deploy/imap.md has the details.

Example:
  sealpost filter imap --config filter.toml --upstream imap.example.org:993";

const POP3_HELP: &str = "\
The mail client downloads through the proxy instead of from the server. RETR of
a message that is OpenPGP, S/MIME or PEM gives it opened with the logged-in
user's keystore keys (decrypted, verified, with the Sealpost-Verification
header); TOP is answered from the same message; LIST and STAT give the sizes
RETR returns (the first of them in a session reads every message once).
Plaintext passes byte for byte. STLS from the client is refused.

The upstream side, in [pop3]: tls = none | implicit | starttls (STLS),
ca_file, tls_server_name; limits as in [imap]. docs/deploy/pop3.md has the
details.

Example:
  sealpost filter pop3 --config filter.toml --upstream pop.example.org:995";

const SMTP_HELP: &str = "\
The MTA hands each message to the filter over SMTP; the filter processes it
with the policy in the configuration and hands it to the next hop. It answers
250 only after the next hop accepted the message; 4xx when anything failed
(the MTA keeps the message and retries); 5xx when it is refused for good
(encryption required and no certificate). docs/deploy/postfix.md has the
Postfix configuration.

Offered: EHLO HELO MAIL RCPT DATA RSET NOOP QUIT HELP; PIPELINING SIZE
8BITMIME SMTPUTF8 ENHANCEDSTATUSCODES. Refused: VRFY EXPN STARTTLS AUTH BDAT.
A bare LF or CR closes the connection (SMTP smuggling defence).

Limits and timeouts, in [smtp]: max_message_size, max_line_length (1000),
max_header_size, max_header_fields, max_recipients, max_connections,
workers, timeout_seconds, relay_timeout_seconds, key_cache_seconds,
shutdown_seconds.

SIGTERM: new connections are refused, messages in flight finish (up to
shutdown_seconds), idle clients hear 421. Logs go to standard error, one
line per message (id, direction, action, verdict, time); SEALPOST_LOG=debug
for more.

Examples:
  sealpost filter smtp --config /etc/sealpost/filter.toml
  sealpost filter smtp --config filter.toml --relay 127.0.0.1:10026";

/// `filter smtp`.
#[derive(Debug, Args)]
pub struct FilterServer {
    /// TOML configuration.
    #[arg(long, value_name = "FILE")]
    pub config: PathBuf,
    /// Listen address (default 127.0.0.1:10025).
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<String>,
    /// Next hop (default 127.0.0.1:10026).
    #[arg(long, value_name = "ADDR")]
    pub relay: Option<String>,
}

/// `filter imap` and `filter pop3`.
#[derive(Debug, Args)]
pub struct FilterUpstream {
    /// TOML configuration.
    #[arg(long, value_name = "FILE")]
    pub config: PathBuf,
    /// Listen address.
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<String>,
    /// Upstream server.
    #[arg(long, value_name = "ADDR")]
    pub upstream: Option<String>,
}

/// Which way mail is flowing.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Direction {
    /// Incoming: verify and decrypt.
    In,
    /// Outgoing: sign and encrypt.
    Out,
    /// Decide from local_domains.
    Auto,
}

/// `filter pipe`.
#[derive(Debug, Args)]
pub struct FilterPipe {
    /// TOML configuration.
    #[arg(long, value_name = "FILE")]
    pub config: PathBuf,
    /// Direction.
    #[arg(long, value_enum, default_value = "auto")]
    pub direction: Direction,
}

const EXPLAIN_HELP: &str = "\
Without --sender/--rcpt: what `filter pipe` would do, deciding from the
message's From, To and Cc. With them: what `filter smtp` would do, deciding
per envelope recipient, and which next-hop transactions the recipients would
be split into (formats, Bcc recipients, inbound recipients with their own
keys). Nothing is sent or changed.

Examples:
  sealpost filter explain --config filter.toml message.eml
  sealpost filter explain --config filter.toml --sender alice@example.org --rcpt bob@example.net --rcpt carol@example.com message.eml";

/// `filter explain`.
#[derive(Debug, Args)]
#[command(after_help = EXPLAIN_HELP)]
pub struct FilterExplain {
    /// TOML configuration.
    #[arg(long, value_name = "FILE")]
    pub config: PathBuf,
    /// Explain as the SMTP hook would: the envelope sender ("<>" for none); needs --rcpt.
    #[arg(long, value_name = "ADDR", requires = "rcpt")]
    pub sender: Option<String>,
    /// Envelope recipient, as the SMTP hook would see it (repeat for several); needs --sender.
    #[arg(long, value_name = "ADDR", requires = "sender")]
    pub rcpt: Vec<String>,
    /// The message ("-" or absent: standard input).
    #[arg(value_name = "INPUT")]
    pub input: Option<PathBuf>,
}
