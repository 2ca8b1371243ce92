//! `sealpost mail ...`

use std::path::PathBuf;

use clap::{Args, Subcommand, ValueEnum};

use super::{Io, VerdictOut};

/// Whole RFC 5322 messages.
#[derive(Debug, Subcommand)]
pub enum MailCommand {
    /// Sign a message: PGP/MIME, S/MIME multipart/signed, or PEM.
    Sign(MailSign),
    /// Encrypt a message (the Subject obscured, the real one inside, RFC 9788).
    Encrypt(MailEncrypt),
    /// Sign, then encrypt a message.
    SignEncrypt(MailSignEncrypt),
    /// Verify a message and add the verification header.
    Verify(MailVerify),
    /// Decrypt and verify a message and add the verification header.
    Decrypt(MailDecrypt),
    /// Answer a message that requests an RFC 2634 signed receipt (not implemented yet: issue #12).
    Receipt(MailReceipt),
}

/// Mail security format.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum MailFormat {
    /// PGP/MIME (RFC 3156).
    Pgp,
    /// S/MIME (RFC 8551).
    Smime,
    /// Privacy-Enhanced Mail (RFC 1421) in a text body.
    Pem,
}

/// Signing key options, as the format's own `sign` takes them.
#[derive(Debug, Args)]
pub struct SigningKeyArgs {
    /// Signing key (else the sender's key from the keystore).
    #[arg(long, value_name = "KEY")]
    pub key: Option<PathBuf>,
    /// Signer certificate (S/MIME, PEM).
    #[arg(long, value_name = "CERT")]
    pub cert: Option<PathBuf>,
    /// Passphrase file for an encrypted key.
    #[arg(long, value_name = "FILE")]
    pub passphrase_file: Option<PathBuf>,
}

/// Certificates and trust anchors for verification.
#[derive(Debug, Args)]
pub struct CertArgs {
    /// Signer certificates (else looked up in the keystore).
    #[arg(long = "cert", value_name = "CERT")]
    pub certs: Vec<PathBuf>,
    /// Trusted CA certificates (S/MIME, PEM).
    #[arg(long, value_name = "CA")]
    pub ca: Vec<PathBuf>,
    /// The authserv-id written in the verification header (default: this host's name).
    #[arg(long, value_name = "NAME")]
    pub authserv_id: Option<String>,
}

/// `mail sign`.
#[derive(Debug, Args)]
pub struct MailSign {
    /// Format to produce.
    #[arg(long, value_enum)]
    pub format: MailFormat,
    #[command(flatten)]
    #[allow(missing_docs)] // Documented on the struct.
    pub signing: SigningKeyArgs,
    #[command(flatten)]
    #[allow(missing_docs)] // Documented on the struct.
    pub io: Io,
}

/// `mail encrypt`.
#[derive(Debug, Args)]
pub struct MailEncrypt {
    /// Format to produce.
    #[arg(long, value_enum)]
    pub format: MailFormat,
    /// Recipient certificates (else looked up in the keystore).
    #[arg(long, value_name = "CERT")]
    pub recipient: Vec<PathBuf>,
    #[command(flatten)]
    #[allow(missing_docs)] // Documented on the struct.
    pub io: Io,
}

/// `mail sign-encrypt`.
#[derive(Debug, Args)]
pub struct MailSignEncrypt {
    /// Format to produce.
    #[arg(long, value_enum)]
    pub format: MailFormat,
    #[command(flatten)]
    #[allow(missing_docs)] // Documented on the struct.
    pub signing: SigningKeyArgs,
    /// Recipient certificates (else looked up in the keystore).
    #[arg(long, value_name = "CERT")]
    pub recipient: Vec<PathBuf>,
    #[command(flatten)]
    #[allow(missing_docs)] // Documented on the struct.
    pub io: Io,
}

/// `mail verify`.
#[derive(Debug, Args)]
pub struct MailVerify {
    #[command(flatten)]
    #[allow(missing_docs)] // Documented on the struct.
    pub certs: CertArgs,
    #[command(flatten)]
    #[allow(missing_docs)] // Documented on the struct.
    pub verdict: VerdictOut,
    #[command(flatten)]
    #[allow(missing_docs)] // Documented on the struct.
    pub io: Io,
}

/// `mail decrypt`.
#[derive(Debug, Args)]
pub struct MailDecrypt {
    /// Secret keys (else looked up in the keystore).
    #[arg(long, value_name = "KEY")]
    pub key: Vec<PathBuf>,
    /// Passphrase file for encrypted keys.
    #[arg(long, value_name = "FILE")]
    pub passphrase_file: Option<PathBuf>,
    /// The certificate of an RSA --key (S/MIME, PEM).
    #[arg(long, value_name = "CERT")]
    pub own_cert: Option<PathBuf>,
    #[command(flatten)]
    #[allow(missing_docs)] // Documented on the struct.
    pub certs: CertArgs,
    #[command(flatten)]
    #[allow(missing_docs)] // Documented on the struct.
    pub verdict: VerdictOut,
    #[command(flatten)]
    #[allow(missing_docs)] // Documented on the struct.
    pub io: Io,
}

/// `mail receipt`.
#[derive(Debug, Args)]
pub struct MailReceipt {
    #[command(flatten)]
    #[allow(missing_docs)] // Documented on the struct.
    pub signing: SigningKeyArgs,
    #[command(flatten)]
    #[allow(missing_docs)] // Documented on the struct.
    pub io: Io,
}
