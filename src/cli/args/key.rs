//! `sealpost key ...`

use std::path::PathBuf;

use clap::{Args, Subcommand, ValueEnum};

/// Key and certificate management.
#[derive(Debug, Subcommand)]
pub enum KeyCommand {
    /// Generate a key pair: PREFIX.key (mode 0600) and PREFIX.cert (OpenPGP, or X.509 for S/MIME).
    Generate(KeyGenerate),
    /// Import certificates and secret keys into the keystore (not implemented yet: issue #6).
    Import(KeyImport),
    /// List the keystore (not implemented yet: issue #6).
    List(KeyList),
    /// Export a certificate or secret key by address or fingerprint (not implemented yet: issue #6).
    Export(KeyExport),
}

/// Kind of key to generate.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum KeyType {
    /// An OpenPGP certificate and secret key.
    Pgp,
    /// An X.509 certificate (self-signed or issued by --issuer-cert) and PKCS #8 key.
    X509,
}

/// Key algorithm to generate.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum KeyAlgo {
    /// RSA, 2048 bits.
    Rsa2048,
    /// RSA, 3072 bits.
    Rsa3072,
    /// RSA, 4096 bits.
    Rsa4096,
    /// Ed25519 signing with a Cv25519 encryption subkey (OpenPGP only).
    Ed25519,
}

/// `key generate`.
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  sealpost key generate --type pgp --uid 'Alice <alice@example.org>' --output alice\n  sealpost key generate --type pgp --uid 'Bob <bob@example.net>' --algo ed25519 --passphrase-file pass.txt --output bob\n  sealpost key generate --type x509 --ca --uid 'Example CA' --algo rsa3072 --output ca\n  sealpost key generate --type x509 --uid 'Alice <alice@example.org>' --issuer-cert ca.cert --issuer-key ca.key --output alice"
)]
pub struct KeyGenerate {
    /// OpenPGP or X.509.
    #[arg(long = "type", value_enum)]
    pub key_type: KeyType,
    /// User id: "Name <address>".
    #[arg(long)]
    pub uid: String,
    /// Key algorithm.
    #[arg(long, value_enum, default_value = "rsa3072")]
    pub algo: KeyAlgo,
    /// Certificate of the issuing CA (X.509).
    #[arg(long, value_name = "CERT", requires = "issuer_key")]
    pub issuer_cert: Option<PathBuf>,
    /// Key of the issuing CA (X.509).
    #[arg(long, value_name = "KEY", requires = "issuer_cert")]
    pub issuer_key: Option<PathBuf>,
    /// Output prefix: writes PREFIX.key and PREFIX.cert (neither may exist yet).
    #[arg(long, value_name = "PREFIX")]
    pub output: PathBuf,
    /// Protect the secret key with the passphrase in this file (never on the command line).
    #[arg(long, value_name = "FILE")]
    pub passphrase_file: Option<PathBuf>,
    /// Make a CA certificate (X.509): basicConstraints cA, keyUsage keyCertSign and cRLSign.
    #[arg(long)]
    pub ca: bool,
    /// Validity in days (X.509; default 365, 3650 with --ca).
    #[arg(long, value_name = "DAYS")]
    pub days: Option<u32>,
    /// Passphrase file for an encrypted --issuer-key (X.509).
    #[arg(long, value_name = "FILE", requires = "issuer_key")]
    pub issuer_passphrase_file: Option<PathBuf>,
}

/// `key import`.
#[derive(Debug, Args)]
pub struct KeyImport {
    /// Certificate and key files (OpenPGP, X.509, PKCS #8, PKCS #1).
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Passphrase file for encrypted secret keys.
    #[arg(long, value_name = "FILE")]
    pub passphrase_file: Option<PathBuf>,
}

/// `key list`.
#[derive(Debug, Args)]
pub struct KeyList {
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// `key export`.
#[derive(Debug, Args)]
pub struct KeyExport {
    /// E-mail address or fingerprint.
    #[arg(value_name = "ADDR|FINGERPRINT")]
    pub which: String,
    /// Export the secret key instead of the certificate.
    #[arg(long)]
    pub secret: bool,
    /// Write here instead of standard output.
    #[arg(short, long, value_name = "OUT")]
    pub output: Option<PathBuf>,
}
