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
    /// Make an RFC 2634 signed receipt for a signed message that asks for one.
    Receipt(SmimeReceipt),
    /// Check a signed receipt against the original message it answers.
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
    /// Ask for a signed receipt (RFC 2634) from every recipient (all), from those who got the message
    /// directly rather than through a list (first), or from these addresses only.
    #[arg(long, value_name = "all|first|ADDR", num_args = 1..)]
    pub receipt_request: Vec<String>,
    /// Where receipts are to be sent (default: the signer certificate's e-mail address).
    #[arg(long, value_name = "ADDR", num_args = 1.., requires = "receipt_request")]
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
#[command(after_help = "The original's signature is checked first (and its certificate path when --ca is given); \
no receipt is made for a message that does not verify, that does not ask for one, that asks for one from \
other addresses than the certificate's, or that is itself a receipt. The receipt is a SignedData (DER, or \
PEM with --pem) whose content is a Receipt (id-ct-receipt); send it to the addresses `smime verify` \
reports as receiptsTo. A receipt proves that software holding this key processed the message, not that a \
person read it.\n\nExamples:\n  sealpost smime receipt --cert bob.cert --key bob.key -o receipt.p7s letter.p7m\n  \
sealpost smime receipt --cert bob.cert --key bob.key --ca root.pem --pem letter.p7m")]
pub struct SmimeReceipt {
    /// Our certificate (the receipt's signer).
    #[arg(long, value_name = "CERT")]
    pub cert: PathBuf,
    /// Our key.
    #[arg(long, value_name = "KEY")]
    pub key: PathBuf,
    /// Passphrase file for an encrypted key.
    #[arg(long, value_name = "FILE")]
    pub passphrase_file: Option<PathBuf>,
    /// Trusted CA certificates: also check the original signer's certificate path.
    #[arg(long, value_name = "CA")]
    pub ca: Vec<PathBuf>,
    /// The content of a detached original (SIGNED is then the signature).
    #[arg(long, value_name = "FILE")]
    pub content: Option<PathBuf>,
    /// PEM output instead of DER.
    #[arg(long)]
    pub pem: bool,
    /// Write here instead of standard output.
    #[arg(short, long, value_name = "OUT")]
    pub output: Option<PathBuf>,
    /// The signed message that requested a receipt (DER, BER or PEM).
    #[arg(value_name = "SIGNED")]
    pub signed: PathBuf,
}

/// `smime verify-receipt`.
#[derive(Debug, Args)]
#[command(after_help = "Checks the receipt's signature and certificate path, then that it answers ORIGINAL: its \
originatorSignatureValue is the signature of a signer of the original that asked for a receipt, with the \
same signedContentIdentifier and content type, and its msgSigDigest is the digest of that signer's signed \
attributes. Exit status 0 when all hold, 1 when any does not.\n\nExamples:\n  \
sealpost smime verify-receipt --ca root.pem --original letter.p7m receipt.p7s\n  \
sealpost smime verify-receipt --no-chain --cert bob.cert --original letter.p7m receipt.p7s")]
pub struct SmimeVerifyReceipt {
    /// Trusted CA certificates.
    #[arg(long, value_name = "CA")]
    pub ca: Vec<PathBuf>,
    /// Signer certificates not carried in the receipt.
    #[arg(long, value_name = "CERT")]
    pub cert: Vec<PathBuf>,
    /// Check the receipt's signature only, not its certificate chain.
    #[arg(long)]
    pub no_chain: bool,
    /// The original signed message (as sent, with its receipt request).
    #[arg(long, value_name = "SIGNED")]
    pub original: PathBuf,
    #[command(flatten)]
    #[allow(missing_docs)] // Documented on the struct.
    pub verdict: VerdictOut,
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
