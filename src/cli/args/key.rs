//! `sealpost key ...`

use std::path::PathBuf;

use clap::{Args, Subcommand, ValueEnum};

/// Key and certificate management.
#[derive(Debug, Subcommand)]
pub enum KeyCommand {
    /// Generate a key pair: PREFIX.key (mode 0600) and PREFIX.cert (OpenPGP, or X.509 for S/MIME).
    Generate(KeyGenerate),
    /// Import certificates and secret keys into the keystore (OpenPGP, X.509, PKCS #8, PKCS #1; several files).
    Import(KeyImport),
    /// List the keystore: type, fingerprint, secret key, expiry, addresses.
    List(KeyList),
    /// Export a certificate or secret key by address or fingerprint.
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
#[command(
    long_about = "Import certificates and secret keys into the keystore (--keystore DIR, $SEALPOST_HOME, else \
~/.local/share/sealpost). Each file is recognised by its content: OpenPGP certificates and secret keys, armored or \
binary, one or a keyring (gpg --export, gpg --export-secret-keys); X.509 certificates, PEM (several) or DER; RSA \
private keys as PKCS #8, encrypted PKCS #8, PKCS #1 or OpenSSL's traditional encrypted PEM. OpenPGP certificates go \
to DIR/pgp.cert.d (the layout sq shares), X.509 certificates to DIR/x509, secret keys to DIR/secret (mode 0600; \
encrypted keys stay encrypted). Importing again merges OpenPGP certificates and leaves everything else as it is. A \
file holding a secret key must not be readable by others nor a symbolic link. One line is printed per item: what, \
fingerprint, addresses, new/updated/unchanged.",
    after_help = "Examples:\n  sealpost key import alice.cert bob.asc ca.pem\n  sealpost --keystore ~/mail-keys key import alice.key alice.cert\n  sealpost key import --passphrase-file pass.txt smime-key.pem smime-cert.pem"
)]
pub struct KeyImport {
    /// Certificate and key files (OpenPGP, X.509 PEM or DER, PKCS #8, PKCS #1, traditional PEM).
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Passphrase file for encrypted RSA keys: read once to learn the public key (the key is stored as given).
    #[arg(long, value_name = "FILE")]
    pub passphrase_file: Option<PathBuf>,
}

/// `key list`.
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  sealpost key list\n  sealpost key list --json > keys.json\n  sealpost --keystore ~/mail-keys key list"
)]
pub struct KeyList {
    /// Print a JSON array of {type, fingerprint, addresses, secret, expires}.
    #[arg(long)]
    pub json: bool,
}

/// `key export`.
#[derive(Debug, Args)]
#[command(
    long_about = "Export a certificate (OpenPGP armored, X.509 PEM) or, with --secret, a secret key (OpenPGP armored; \
an RSA key as it was imported) from the keystore, found by e-mail address (case-insensitive; Unicode domains match \
their punycode form) or fingerprint. An address with several certificates is an error that lists their \
fingerprints; nothing found exits with status 1.",
    after_help = "Examples:\n  sealpost key export alice@example.org > alice.asc\n  sealpost key export --secret -o alice.key alice@example.org\n  sealpost key export 0123456789ABCDEF0123456789ABCDEF01234567 -o alice.cert"
)]
pub struct KeyExport {
    /// E-mail address or fingerprint (OpenPGP; SHA-256 of an X.509 certificate).
    #[arg(value_name = "ADDR|FINGERPRINT")]
    pub which: String,
    /// Export the secret key instead of the certificate (an output file is created with mode 0600).
    #[arg(long)]
    pub secret: bool,
    /// Write here instead of standard output.
    #[arg(short, long, value_name = "OUT")]
    pub output: Option<PathBuf>,
}
