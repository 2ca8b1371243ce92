//! `sealpost smime ...`

use std::path::PathBuf;

use clap::{Args, Subcommand};

use super::{Io, VerdictOut};

/// S/MIME and CMS (RFC 5652, RFC 8551).
#[derive(Debug, Subcommand)]
pub enum SmimeCommand {
    /// Make SignedData, attached or detached.
    Sign(SmimeSign),
    /// Verify SignedData and the signer's certificate chain.
    Verify(SmimeVerify),
    /// Make EnvelopedData (CBC) or AuthEnvelopedData (GCM).
    Encrypt(SmimeEncrypt),
    /// Decrypt EnvelopedData or AuthEnvelopedData.
    Decrypt(SmimeDecrypt),
    /// Make an RFC 2634 signed receipt for a message that asked for one (not implemented yet: issue #12).
    Receipt(SmimeReceipt),
    /// Check a signed receipt against the original message (not implemented yet: issue #12).
    VerifyReceipt(SmimeVerifyReceipt),
    /// Make CompressedData (RFC 3274, zlib).
    Compress(SmimeCompress),
    /// Unpack CompressedData.
    Decompress(SmimeDecompress),
}

/// `smime sign`.
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  sealpost smime sign --cert alice.cert --key alice.key -o letter.p7m letter.txt\n  sealpost smime sign --cert alice.cert --key alice.key --detached --pem -o letter.p7s letter.txt\n  sealpost smime sign --cert alice.cert --key alice.key --cert bob.cert --key bob.key --digest sha512 letter.txt"
)]
pub struct SmimeSign {
    /// Signer certificate; repeat with --key for several signers (the n-th --cert goes with the n-th --key).
    #[arg(long, value_name = "CERT", required = true)]
    pub cert: Vec<PathBuf>,
    /// Signer key (PKCS #8 or PKCS #1, PEM or DER; encrypted PKCS #8 with --passphrase-file).
    #[arg(long, value_name = "KEY", required = true)]
    pub key: Vec<PathBuf>,
    /// Intermediate CA certificates to include in the message.
    #[arg(long, value_name = "CERT")]
    pub include: Vec<PathBuf>,
    /// Sign with RSASSA-PSS instead of PKCS #1 v1.5.
    #[arg(long)]
    pub pss: bool,
    /// Leave the content out of the SignedData.
    #[arg(long)]
    pub detached: bool,
    /// Digest: sha256 (default), sha384, sha512. sha1 and md5 are refused: verify-only by policy.
    #[arg(long, value_name = "sha256|sha384|sha512|sha1|md5")]
    pub digest: Option<String>,
    /// PEM output instead of DER.
    #[arg(long)]
    pub pem: bool,
    /// Request a signed receipt (RFC 2634): all, first, or addresses.
    #[arg(long, value_name = "all|first|ADDR", num_args = 1..)]
    pub receipt_request: Vec<String>,
    /// Where receipts should be sent.
    #[arg(long, value_name = "ADDR", num_args = 1..)]
    pub receipt_to: Vec<String>,
    /// Passphrase file for an encrypted key.
    #[arg(long, value_name = "FILE")]
    pub passphrase_file: Option<PathBuf>,
    #[command(flatten)]
    #[allow(missing_docs)] // Documented on the struct.
    pub io: Io,
}

/// `smime verify`.
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  sealpost smime verify --ca root.pem -o letter.txt letter.p7m\n  sealpost smime verify --ca root.pem --signature letter.p7s letter.txt\n  sealpost smime verify --cert alice.cert --no-chain --verdict-json v.json letter.p7m"
)]
pub struct SmimeVerify {
    /// Trusted CA certificates.
    #[arg(long, value_name = "CA")]
    pub ca: Vec<PathBuf>,
    /// Signer certificates not carried in the message.
    #[arg(long, value_name = "CERT")]
    pub cert: Vec<PathBuf>,
    /// Detached signature over INPUT.
    #[arg(long, value_name = "SIG")]
    pub signature: Option<PathBuf>,
    /// Check the signature only, not the certificate chain.
    #[arg(long)]
    pub no_chain: bool,
    #[command(flatten)]
    #[allow(missing_docs)] // Documented on the struct.
    pub verdict: VerdictOut,
    #[command(flatten)]
    #[allow(missing_docs)] // Documented on the struct.
    pub io: Io,
}

/// `smime encrypt`.
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  sealpost smime encrypt --recipient bob.cert -o letter.p7m letter.txt\n  sealpost smime encrypt --recipient bob.cert --recipient carol.cert --cipher aes256-gcm --pem letter.txt\n  sealpost smime encrypt --recipient bob.cert --oaep --cipher aes128 -o letter.p7m letter.txt"
)]
pub struct SmimeEncrypt {
    /// Recipient certificates.
    #[arg(long, value_name = "CERT", required = true)]
    pub recipient: Vec<PathBuf>,
    /// Cipher: aes256 (default), aes192, aes128, aes256-gcm, aes128-gcm (AuthEnvelopedData); 3des only when
    /// named (labelled weak); des only with --allow-broken.
    #[arg(long, value_name = "aes256|aes192|aes128|aes256-gcm|aes128-gcm|3des|des")]
    pub cipher: Option<String>,
    /// Wrap the content key with RSAES-OAEP (SHA-256) instead of PKCS #1 v1.5.
    #[arg(long)]
    pub oaep: bool,
    /// Allow broken algorithms (DES) when named.
    #[arg(long)]
    pub allow_broken: bool,
    /// PEM output instead of DER.
    #[arg(long)]
    pub pem: bool,
    #[command(flatten)]
    #[allow(missing_docs)] // Documented on the struct.
    pub io: Io,
}

/// `smime decrypt`.
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  sealpost smime decrypt --cert bob.cert --key bob.key -o letter.txt letter.p7m\n  sealpost smime decrypt --cert bob.cert --key bob.key --verdict-json v.json letter.p7m"
)]
pub struct SmimeDecrypt {
    /// Recipient certificate.
    #[arg(long, value_name = "CERT")]
    pub cert: PathBuf,
    /// Recipient key.
    #[arg(long, value_name = "KEY")]
    pub key: PathBuf,
    /// Passphrase file for an encrypted key.
    #[arg(long, value_name = "FILE")]
    pub passphrase_file: Option<PathBuf>,
    #[command(flatten)]
    #[allow(missing_docs)] // Documented on the struct.
    pub verdict: VerdictOut,
    #[command(flatten)]
    #[allow(missing_docs)] // Documented on the struct.
    pub io: Io,
}

/// `smime receipt`.
#[derive(Debug, Args)]
pub struct SmimeReceipt {
    /// Our certificate.
    #[arg(long, value_name = "CERT")]
    pub cert: PathBuf,
    /// Our key.
    #[arg(long, value_name = "KEY")]
    pub key: PathBuf,
    /// Write here instead of standard output.
    #[arg(short, long, value_name = "OUT")]
    pub output: Option<PathBuf>,
    /// The signed message that requested a receipt.
    #[arg(value_name = "SIGNED")]
    pub signed: PathBuf,
}

/// `smime verify-receipt`.
#[derive(Debug, Args)]
pub struct SmimeVerifyReceipt {
    /// Trusted CA certificates.
    #[arg(long, value_name = "CA")]
    pub ca: Vec<PathBuf>,
    /// The original signed message.
    #[arg(long, value_name = "SIGNED")]
    pub original: PathBuf,
    /// The receipt ("-" or absent: standard input).
    #[arg(value_name = "RECEIPT")]
    pub receipt: Option<PathBuf>,
}

/// `smime compress`.
#[derive(Debug, Args)]
pub struct SmimeCompress {
    /// PEM output instead of DER.
    #[arg(long)]
    pub pem: bool,
    #[command(flatten)]
    #[allow(missing_docs)] // Documented on the struct.
    pub io: Io,
}

/// `smime decompress`.
#[derive(Debug, Args)]
pub struct SmimeDecompress {
    #[command(flatten)]
    #[allow(missing_docs)] // Documented on the struct.
    pub io: Io,
}
