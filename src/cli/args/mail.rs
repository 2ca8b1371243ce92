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
    /// Answer an S/MIME message that requests an RFC 2634 signed receipt with a message carrying it.
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
#[command(
    after_help = "Examples:\n  sealpost mail sign --format pgp --key alice.key -o signed.eml letter.eml\n  sealpost mail sign --format smime --key alice.key --cert alice.cert letter.eml > signed.eml\n  sealpost --keystore ~/.sealpost mail sign --format pgp letter.eml"
)]
pub struct MailSign {
    /// Format to produce.
    #[arg(long, value_enum)]
    pub format: MailFormat,
    /// S/MIME: opaque signed-data (application/pkcs7-mime) instead of multipart/signed.
    #[arg(long)]
    pub opaque: bool,
    #[command(flatten)]
    #[allow(missing_docs)] // Documented on the struct.
    pub signing: SigningKeyArgs,
    #[command(flatten)]
    #[allow(missing_docs)] // Documented on the struct.
    pub io: Io,
}

/// `mail encrypt`.
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  sealpost mail encrypt --format pgp --recipient bob.cert -o sealed.eml letter.eml\n  sealpost mail encrypt --format smime --recipient bob.cert letter.eml > sealed.eml\n  sealpost mail encrypt --format pgp letter.eml"
)]
pub struct MailEncrypt {
    /// Format to produce.
    #[arg(long, value_enum)]
    pub format: MailFormat,
    /// Content cipher: aes256 (default), aes192, aes128; S/MIME also aes256-gcm, aes128-gcm
    /// (AuthEnvelopedData); legacy 3des, des (S/MIME), cast5, idea (OpenPGP) only by name, labelled weak.
    #[arg(long, value_name = "CIPHER")]
    pub cipher: Option<String>,
    /// Recipient certificates (else looked up in the keystore).
    #[arg(long, value_name = "CERT")]
    pub recipient: Vec<PathBuf>,
    #[command(flatten)]
    #[allow(missing_docs)] // Documented on the struct.
    pub io: Io,
}

/// `mail sign-encrypt`.
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  sealpost mail sign-encrypt --format pgp --key alice.key --recipient bob.cert -o sealed.eml letter.eml\n  sealpost mail sign-encrypt --format smime --key alice.key --cert alice.cert --recipient bob.cert letter.eml\n  sealpost mail sign-encrypt --format pem --key alice.key --cert alice.cert --recipient bob.cert letter.eml"
)]
pub struct MailSignEncrypt {
    /// Format to produce.
    #[arg(long, value_enum)]
    pub format: MailFormat,
    /// Content cipher: aes256 (default), aes192, aes128; S/MIME also aes256-gcm, aes128-gcm
    /// (AuthEnvelopedData); legacy 3des, des (S/MIME), cast5, idea (OpenPGP) only by name, labelled weak.
    #[arg(long, value_name = "CIPHER")]
    pub cipher: Option<String>,
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
#[command(
    after_help = "An S/MIME signature that asks for a signed receipt is reported (`signed receipt requested`, and \
receipt_request in the JSON verdict); answer it with `mail receipt`. A received receipt is verified as a \
signature; with --original it is also checked against the message it answers.\n\nExamples:\n  sealpost mail verify --cert alice.cert -o checked.eml signed.eml\n  sealpost mail verify --ca ca.cert --verdict-json v.json signed.eml\n  sealpost mail verify --authserv-id mx.example.org signed.eml\n  sealpost mail verify --ca ca.cert --original sent.eml receipt.eml"
)]
pub struct MailVerify {
    #[command(flatten)]
    #[allow(missing_docs)] // Documented on the struct.
    pub certs: CertArgs,
    /// When the message is a signed receipt: the message it answers (as sent), to check that it does.
    #[arg(long, value_name = "SENT")]
    pub original: Option<PathBuf>,
    #[command(flatten)]
    #[allow(missing_docs)] // Documented on the struct.
    pub verdict: VerdictOut,
    #[command(flatten)]
    #[allow(missing_docs)] // Documented on the struct.
    pub io: Io,
}

/// `mail decrypt`.
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  sealpost mail decrypt --key bob.key --cert alice.cert -o letter.eml sealed.eml\n  sealpost mail decrypt --key bob.key --own-cert bob.cert --ca ca.cert sealed.eml\n  sealpost mail decrypt --verdict-json v.json sealed.eml"
)]
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
#[command(after_help = "The message is opened first (decrypted with the key when it is encrypted) and must verify \
as a whole, signed by its sender; then the receipt request of its S/MIME signature is answered, if it asks \
one of the key's certificate addresses. The output is a message from that address to the addresses the \
request names (application/pkcs7-mime; smime-type=signed-receipt), ready for sendmail -t. A receipt proves \
that software holding the key processed the message, not that a person read it.\n\nExamples:\n  \
sealpost mail receipt --key bob.key --cert bob.cert --ca ca.pem -o receipt.eml signed.eml\n  \
sealpost --keystore ~/.sealpost mail receipt --ca ca.pem signed.eml | sendmail -t")]
pub struct MailReceipt {
    #[command(flatten)]
    #[allow(missing_docs)] // Documented on the struct.
    pub signing: SigningKeyArgs,
    /// The original signer's certificates (else those in the message and the keystore's for its From).
    #[arg(long, value_name = "CERT")]
    pub sender_cert: Vec<PathBuf>,
    /// Trusted CA certificates for the original signer's path (without them only the signature is checked).
    #[arg(long, value_name = "CA")]
    pub ca: Vec<PathBuf>,
    #[command(flatten)]
    #[allow(missing_docs)] // Documented on the struct.
    pub io: Io,
}
