//! `sealpost filter ...`

use std::path::PathBuf;

use clap::{Args, Subcommand, ValueEnum};

/// Mail-path filters.
#[derive(Debug, Subcommand)]
pub enum FilterCommand {
    /// SMTP content filter (Postfix after-queue pattern) (not implemented yet: issue #7).
    Smtp(FilterServer),
    /// IMAP proxy that decrypts and verifies as clients fetch (not implemented yet: issue #8).
    Imap(FilterUpstream),
    /// POP3 proxy that decrypts and verifies as clients retrieve (not implemented yet: issue #11).
    Pop3(FilterUpstream),
    /// Filter one message from standard input to standard output; exit 75 on temporary failure, 69 when refused.
    Pipe(FilterPipe),
    /// Show what the policy would do with a message, and why, without sending anything.
    Explain(FilterExplain),
}

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

/// `filter explain`.
#[derive(Debug, Args)]
pub struct FilterExplain {
    /// TOML configuration.
    #[arg(long, value_name = "FILE")]
    pub config: PathBuf,
    /// The message ("-" or absent: standard input).
    #[arg(value_name = "INPUT")]
    pub input: Option<PathBuf>,
}
