//! Whole RFC 5322 messages: PGP/MIME (RFC 3156), S/MIME (RFC 8551), PEM in a text body (RFC 1421), header
//! protection (RFC 9788), and the verification header. This is what the command line's `mail` verbs and both
//! mail hooks call for every message.
//!
//! Who does what:
//! - [`compose`]: a message split into its outer header and its content entity (canonical, ready to be
//!   signed), header protection, and the message put back together;
//! - [`pgp_mime`], [`smime_mime`], [`pem_mail`]: each format's signed and encrypted structures, made and read;
//! - [`outgoing`]: signing and encrypting in any format with the keys at hand;
//! - [`open`]: finds the cryptographic envelope of a received message (only the outermost contiguous
//!   signed/encrypted layers count: SECURITY-CASES B3), verifies and decrypts it, and writes the result;
//! - [`receipt`]: S/MIME signed receipts (RFC 2634): answering a request, checking a receipt;
//! - [`result_header`]: the `Sealpost-Verification` header (grammar in docs/verdict.md), and the removal of
//!   every copy of it, or look-alike, that arrived from outside.
//!
//! Decrypted content is never merged with parts that were not encrypted: an encrypted part inside an
//! unencrypted message is left as it is and reported (SECURITY-CASES A2).

pub mod compose;
pub mod keys;
pub mod open;
pub mod outgoing;
pub mod pem_mail;
pub mod pgp_mime;
pub mod receipt;
pub mod result_header;
pub mod smime_mime;

pub use keys::MailKeys;

use crate::core::CoreError;

/// Errors of the mail layer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MailError {
    /// The message or one of its parts is malformed.
    #[error(transparent)]
    Mime(#[from] crate::mime::MimeError),
    /// A structure the mail layer does not handle.
    #[error("unsupported: {0}")]
    Unsupported(String),
    /// No key or certificate to do what was asked.
    #[error("{0}")]
    NoKey(String),
    /// An OpenPGP error.
    #[error(transparent)]
    Pgp(#[from] crate::pgp::PgpError),
    /// An S/MIME error.
    #[error(transparent)]
    Smime(#[from] crate::smime::SmimeError),
    /// A PEM error.
    #[error(transparent)]
    Pem(#[from] crate::pem::PemError),
    /// A certificate error.
    #[error(transparent)]
    X509(#[from] crate::x509::X509Error),
    /// An error of the core.
    #[error(transparent)]
    Core(#[from] CoreError),
}

impl MailError {
    /// True for cryptographic verdicts and refusals (exit status 1).
    pub fn is_verdict(&self) -> bool {
        match self {
            MailError::NoKey(_) => true,
            MailError::Pgp(e) => e.is_verdict(),
            MailError::Smime(e) => e.is_verdict(),
            MailError::Pem(e) => e.is_verdict(),
            MailError::X509(e) => e.is_verdict(),
            MailError::Core(e) => e.is_verdict(),
            MailError::Mime(_) | MailError::Unsupported(_) => false,
        }
    }
}

impl From<std::io::Error> for MailError {
    fn from(err: std::io::Error) -> MailError {
        MailError::Core(CoreError::Io(err))
    }
}
