//! `sealpost pgp ...`

use std::path::PathBuf;

use clap::{Args, Subcommand};

use super::{Io, VerdictOut};

/// OpenPGP (RFC 9580, RFC 4880, PGP 2.x).
#[derive(Debug, Subcommand)]
pub enum PgpCommand {
    /// Sign: one-pass, detached or cleartext (not implemented yet: issue #3).
    Sign(PgpSign),
    /// Verify a signed message, a cleartext signature, or a detached signature (not implemented yet: issue #3).
    Verify(PgpVerify),
    /// Encrypt to recipients and/or a password, optionally signing (not implemented yet: issue #3).
    Encrypt(PgpEncrypt),
    /// Decrypt, optionally verifying signatures (not implemented yet: issue #3).
    Decrypt(PgpDecrypt),
}

/// `pgp sign`.
#[derive(Debug, Args)]
pub struct PgpSign {
    /// Secret key file.
    #[arg(long, value_name = "KEY")]
    pub key: PathBuf,
    /// Make a detached signature.
    #[arg(long, conflicts_with = "cleartext")]
    pub detached: bool,
    /// Make a cleartext signature (RFC 9580 section 7).
    #[arg(long)]
    pub cleartext: bool,
    /// ASCII-armor the output.
    #[arg(long)]
    pub armor: bool,
    /// Hash algorithm: sha256 (default), sha512; sha1 and md5 only when named (labelled weak).
    #[arg(long, value_name = "sha256|sha512|sha1|md5")]
    pub hash: Option<String>,
    /// Passphrase file for an encrypted secret key (never on the command line).
    #[arg(long, value_name = "FILE")]
    pub passphrase_file: Option<PathBuf>,
    #[command(flatten)]
    #[allow(missing_docs)] // Documented on the struct.
    pub io: Io,
}

/// `pgp verify`.
#[derive(Debug, Args)]
pub struct PgpVerify {
    /// Signer certificates.
    #[arg(long, value_name = "CERT", required = true)]
    pub cert: Vec<PathBuf>,
    /// Detached signature over INPUT.
    #[arg(long, value_name = "SIG")]
    pub signature: Option<PathBuf>,
    #[command(flatten)]
    #[allow(missing_docs)] // Documented on the struct.
    pub verdict: VerdictOut,
    #[command(flatten)]
    #[allow(missing_docs)] // Documented on the struct.
    pub io: Io,
}

/// `pgp encrypt`.
#[derive(Debug, Args)]
pub struct PgpEncrypt {
    /// Recipient certificates.
    #[arg(long, value_name = "CERT")]
    pub recipient: Vec<PathBuf>,
    /// Also encrypt to the password in this file.
    #[arg(long, value_name = "F")]
    pub password_file: Option<PathBuf>,
    /// Sign with this secret key in the same pass.
    #[arg(long, value_name = "KEY")]
    pub sign_with: Option<PathBuf>,
    /// Cipher: aes256 (default), aes192, aes128; 3des, cast5, idea only when named (labelled weak).
    #[arg(long, value_name = "aes256|aes192|aes128|3des|cast5|idea")]
    pub cipher: Option<String>,
    /// Compression: none, zip, zlib, bzip2.
    #[arg(long, value_name = "none|zip|zlib|bzip2")]
    pub compress: Option<String>,
    /// ASCII-armor the output.
    #[arg(long)]
    pub armor: bool,
    /// Passphrase file for the --sign-with key.
    #[arg(long, value_name = "FILE")]
    pub passphrase_file: Option<PathBuf>,
    #[command(flatten)]
    #[allow(missing_docs)] // Documented on the struct.
    pub io: Io,
}

/// `pgp decrypt`.
#[derive(Debug, Args)]
pub struct PgpDecrypt {
    /// Secret keys to try.
    #[arg(long, value_name = "KEY", required = true)]
    pub key: Vec<PathBuf>,
    /// Verify signatures against these certificates.
    #[arg(long, value_name = "CERT")]
    pub verify_with: Vec<PathBuf>,
    /// Decrypt messages without integrity protection (no MDC); the verdict labels them weak.
    #[arg(long)]
    pub allow_unauthenticated: bool,
    /// Passphrase file for encrypted secret keys.
    #[arg(long, value_name = "FILE")]
    pub passphrase_file: Option<PathBuf>,
    #[command(flatten)]
    #[allow(missing_docs)] // Documented on the struct.
    pub verdict: VerdictOut,
    #[command(flatten)]
    #[allow(missing_docs)] // Documented on the struct.
    pub io: Io,
}
