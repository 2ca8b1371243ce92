//! `sealpost pem ...`

use std::path::PathBuf;

use clap::{Args, Subcommand, ValueEnum};

use super::{Io, VerdictOut};

/// Privacy-Enhanced Mail (RFC 1421-1424).
#[derive(Debug, Subcommand)]
pub enum PemCommand {
    /// Make a MIC-CLEAR or MIC-ONLY message (RSA-MD5).
    Sign(PemSign),
    /// Make an ENCRYPTED message (always signed, as RFC 1421 requires).
    Encrypt(PemEncrypt),
    /// Verify a MIC-CLEAR or MIC-ONLY message's MIC (ENCRYPTED messages: with `pem decrypt`, issue #5).
    Verify(PemVerify),
    /// Decrypt an ENCRYPTED message and verify its MIC.
    Decrypt(PemDecrypt),
}

/// RFC 1421 message types that carry no encryption.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum PemMode {
    /// Text readable without PEM software.
    MicClear,
    /// Text in printable encoding.
    MicOnly,
}

/// `pem sign`.
#[derive(Debug, Args)]
pub struct PemSign {
    /// Originator key.
    #[arg(long, value_name = "KEY")]
    pub key: PathBuf,
    /// Passphrase file for an encrypted key.
    #[arg(long, value_name = "FILE")]
    pub passphrase_file: Option<PathBuf>,
    /// Originator certificate (else Originator-Key-Asymmetric is used).
    #[arg(long, value_name = "CERT")]
    pub cert: Option<PathBuf>,
    /// Issuer certificates to include.
    #[arg(long, value_name = "CERT")]
    pub issuer_cert: Vec<PathBuf>,
    /// Message type.
    #[arg(long, value_enum, default_value = "mic-clear")]
    pub mode: PemMode,
    /// MIC hash: md5 (RSA-MD5, the RFC 1423 default); md2 is verify-only.
    #[arg(long, value_name = "md5|md2")]
    pub hash: Option<String>,
    #[command(flatten)]
    #[allow(missing_docs)] // Documented on the struct.
    pub io: Io,
}

/// `pem encrypt`.
#[derive(Debug, Args)]
pub struct PemEncrypt {
    /// Originator key (ENCRYPTED messages are signed too).
    #[arg(long, value_name = "KEY")]
    pub key: PathBuf,
    /// Passphrase file for an encrypted key.
    #[arg(long, value_name = "FILE")]
    pub passphrase_file: Option<PathBuf>,
    /// Originator certificate.
    #[arg(long, value_name = "CERT")]
    pub cert: Option<PathBuf>,
    /// Recipient certificates.
    #[arg(long, value_name = "CERT", required = true)]
    pub recipient: Vec<PathBuf>,
    /// DEK cipher: des-ede3-cbc (default: single DES's 56-bit key is searchable in hours) or des-cbc.
    #[arg(long, value_name = "des-cbc|des-ede3-cbc")]
    pub cipher: Option<String>,
    #[command(flatten)]
    #[allow(missing_docs)] // Documented on the struct.
    pub io: Io,
}

/// `pem verify`.
#[derive(Debug, Args)]
pub struct PemVerify {
    /// Originator certificates (else the one in the message is used, and the verdict says so).
    #[arg(long, value_name = "CERT")]
    pub cert: Vec<PathBuf>,
    /// Trusted CA certificates.
    #[arg(long, value_name = "CA")]
    pub ca: Vec<PathBuf>,
    #[command(flatten)]
    #[allow(missing_docs)] // Documented on the struct.
    pub verdict: VerdictOut,
    #[command(flatten)]
    #[allow(missing_docs)] // Documented on the struct.
    pub io: Io,
}

/// `pem decrypt`.
#[derive(Debug, Args)]
pub struct PemDecrypt {
    /// Recipient key.
    #[arg(long, value_name = "KEY")]
    pub key: PathBuf,
    /// Passphrase file for an encrypted key.
    #[arg(long, value_name = "FILE")]
    pub passphrase_file: Option<PathBuf>,
    /// Recipient certificate.
    #[arg(long, value_name = "CERT")]
    pub cert: Option<PathBuf>,
    #[command(flatten)]
    #[allow(missing_docs)] // Documented on the struct.
    pub verdict: VerdictOut,
    #[command(flatten)]
    #[allow(missing_docs)] // Documented on the struct.
    pub io: Io,
}
