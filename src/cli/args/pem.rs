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
    /// Verify a MIC-CLEAR or MIC-ONLY message's MIC, or a CRL message's CRLs (ENCRYPTED: `pem decrypt`).
    Verify(PemVerify),
    /// Decrypt an ENCRYPTED message and verify its MIC.
    Decrypt(PemDecrypt),
    /// Explain a PEM message: Proc-Type, originator and recipients, CRLs listed, CRL requests.
    Show(PemShow),
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
#[command(
    after_help = "Examples:\n  sealpost pem sign --key alice.key --cert alice.cert -o letter.pem letter.txt\n  sealpost pem sign --key alice.key --cert alice.cert --issuer-cert ca.cert --mode mic-only letter.txt\n  sealpost pem sign --key old.key --passphrase-file pass.txt letter.txt > letter.pem"
)]
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
#[command(
    after_help = "Examples:\n  sealpost pem encrypt --key alice.key --cert alice.cert --recipient bob.cert -o letter.pem letter.txt\n  sealpost pem encrypt --key alice.key --cert alice.cert --recipient bob.cert --cipher des-cbc letter.txt"
)]
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
#[command(
    after_help = "Examples:\n  sealpost pem verify -o letter.txt letter.pem\n  sealpost pem verify --cert alice.cert --ca ca.cert letter.pem\n  sealpost pem verify --interchange-key shared.ik letter.pem\n  sealpost pem verify --ca ca.cert crl.pem"
)]
pub struct PemVerify {
    /// Originator certificates, or intermediates for the path (else the one in the message is used, and
    /// the verdict says so).
    #[arg(long, value_name = "CERT")]
    pub cert: Vec<PathBuf>,
    /// Trusted CA certificates: the originator's certificate must have an RFC 1422 path to one of them
    /// (through the message's Issuer-Certificate fields and --cert).
    #[arg(long, value_name = "CA")]
    pub ca: Vec<PathBuf>,
    /// For symmetric key management: a file (mode 0600) holding the interchange key shared with the
    /// originator, in hex (16 digits: DES-ECB, 32: DES-EDE).
    #[arg(long, value_name = "FILE")]
    pub interchange_key: Option<PathBuf>,
    #[command(flatten)]
    #[allow(missing_docs)] // Documented on the struct.
    pub verdict: VerdictOut,
    #[command(flatten)]
    #[allow(missing_docs)] // Documented on the struct.
    pub io: Io,
}

/// `pem decrypt`.
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  sealpost pem decrypt --key bob.key --cert bob.cert -o letter.txt letter.pem\n  sealpost pem decrypt --key bob.key --cert bob.cert --ca ca.cert --verdict-json v.json letter.pem\n  sealpost pem decrypt --interchange-key shared.ik letter.pem"
)]
pub struct PemDecrypt {
    /// Recipient key (asymmetric key management).
    #[arg(long, value_name = "KEY", required_unless_present = "interchange_key")]
    pub key: Option<PathBuf>,
    /// Passphrase file for an encrypted key.
    #[arg(long, value_name = "FILE")]
    pub passphrase_file: Option<PathBuf>,
    /// Recipient certificate (names which Key-Info is yours).
    #[arg(long, value_name = "CERT")]
    pub cert: Option<PathBuf>,
    /// Originator certificates, or intermediates for the path.
    #[arg(long, value_name = "CERT")]
    pub originator_cert: Vec<PathBuf>,
    /// Trusted CA certificates for the originator's RFC 1422 certificate path.
    #[arg(long, value_name = "CA")]
    pub ca: Vec<PathBuf>,
    /// For symmetric key management: a file (mode 0600) holding the interchange key, in hex (16 digits:
    /// DES-ECB, 32: DES-EDE).
    #[arg(long, value_name = "FILE", conflicts_with = "key")]
    pub interchange_key: Option<PathBuf>,
    #[command(flatten)]
    #[allow(missing_docs)] // Documented on the struct.
    pub verdict: VerdictOut,
    #[command(flatten)]
    #[allow(missing_docs)] // Documented on the struct.
    pub io: Io,
}

/// `pem show`.
#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  sealpost pem show letter.pem\n  sealpost pem show crl-request.pem")]
pub struct PemShow {
    #[command(flatten)]
    #[allow(missing_docs)] // Documented on the struct.
    pub io: Io,
}
