//! `sealpost pgp ...`

use std::path::PathBuf;

use clap::{Args, Subcommand};

use super::{Io, VerdictOut};

/// OpenPGP (RFC 9580, RFC 4880, PGP 2.x).
#[derive(Debug, Subcommand)]
pub enum PgpCommand {
    /// Sign: a signed message (default), a detached signature, or a cleartext signature.
    Sign(PgpSign),
    /// Verify a signed message, a cleartext signature, or (with --signature) a detached signature.
    Verify(PgpVerify),
    /// Encrypt to recipients and/or a password, optionally signing in the same pass.
    Encrypt(PgpEncrypt),
    /// Decrypt, verifying inner signatures; no plaintext is written before the integrity check passes.
    Decrypt(PgpDecrypt),
    /// List the keys, user ids and fingerprints in certificate or key files.
    ListKeys(PgpListKeys),
}

/// `pgp list-keys`.
#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  sealpost pgp list-keys alice.cert\n  sealpost pgp list-keys --json keyring.asc")]
pub struct PgpListKeys {
    /// Certificate or key files (armored or binary, single keys or keyrings).
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// `pgp sign`.
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  sealpost pgp sign --key alice.key --armor -o letter.asc letter.txt\n  sealpost pgp sign --key alice.key --detached -o letter.sig letter.txt\n  sealpost pgp sign --key alice.key --cleartext --hash sha512 letter.txt"
)]
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
#[command(
    long_about = "Verify a signed message or a cleartext-signed text (the signed content is written to OUT, only when \
the verification passes), or, with --signature, a detached signature over INPUT. Exit 0 for pass and pass-weak, \
1 otherwise. SHA-1 and MD5 signatures are checked and reported weak.",
    after_help = "Examples:\n  sealpost pgp verify --cert alice.cert -o letter.txt letter.asc\n  sealpost pgp verify --cert alice.cert --signature letter.sig letter.txt\n  sealpost pgp verify --cert alice.cert --cert bob.cert --verdict-json v.json letter.asc"
)]
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
#[command(
    long_about = "Encrypt to recipients and/or a password. Writes SEIPD v1 with an MDC (readable by gpg, sq and rnp); \
SEIPD v2 (AEAD) only when every recipient announces support for it and the cipher is AES. Not compressed unless \
--compress is given.",
    after_help = "Examples:\n  sealpost pgp encrypt --recipient bob.cert --armor -o letter.asc letter.txt\n  sealpost pgp encrypt --recipient bob.cert --sign-with alice.key --compress zlib letter.txt > letter.pgp\n  sealpost pgp encrypt --password-file pw.txt --cipher cast5 letter.txt > letter.pgp"
)]
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
#[command(
    long_about = "Decrypt with one or more secret keys (or a password), verifying inner signatures. Nothing is written \
before the MDC or AEAD tag has been checked. Messages without integrity protection (SED packets, PGP 2.x to 6.x) \
are refused unless --allow-unauthenticated is given. With --verify-with, a missing or bad signature is a failure \
(exit 1) and no plaintext is written.",
    after_help = "Examples:\n  sealpost pgp decrypt --key bob.key -o letter.txt letter.asc\n  sealpost pgp decrypt --key bob.key --verify-with alice.cert --verdict-json v.json letter.pgp\n  sealpost pgp decrypt --password-file pw.txt letter.pgp"
)]
pub struct PgpDecrypt {
    /// Secret keys to try.
    #[arg(long, value_name = "KEY")]
    pub key: Vec<PathBuf>,
    /// Password for messages encrypted to a password (SKESK).
    #[arg(long, value_name = "FILE")]
    pub password_file: Option<PathBuf>,
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
