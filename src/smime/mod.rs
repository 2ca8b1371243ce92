//! S/MIME front end: CMS (RFC 5652) SignedData, EnvelopedData, AuthEnvelopedData (RFC 5083/5084) and
//! CompressedData (RFC 3274), with X.509 certificates and path validation (RFC 5280), over `cms` 0.3 and
//! `x509-cert` 0.3 for the ASN.1 structures and the core for every algorithm (digests, RSA, ciphers,
//! compression, policy, verdict).
//!
//! Who does what:
//! - [`input`] and [`ber`]: what users hand us (DER, BER with indefinite lengths, PEM) becomes DER that the
//!   `cms` crate can decode, within limits on size and nesting;
//! - [`crate::x509`] (shared with the PEM front end): certificates, path validation to `--ca` anchors, and
//!   making certificates;
//! - [`signed`], [`enveloped`], [`compressed`]: the content types, produced and consumed.

pub mod ber;
pub mod compressed;
pub mod enveloped;
pub mod ess;
pub mod input;
pub mod signed;

use crate::core::CoreError;
use crate::x509::X509Error;
pub(crate) use crate::x509::{hash_from_oid, oid_of};

/// Errors of the S/MIME front end.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SmimeError {
    /// Input that is not well-formed CMS, X.509 or PEM.
    #[error("malformed {what}: {detail}")]
    Malformed {
        /// What was being read ("CMS message", "certificate", ...).
        what: &'static str,
        /// What is wrong with it.
        detail: String,
    },
    /// An algorithm or structure we do not implement.
    #[error("unsupported: {0}")]
    Unsupported(String),
    /// A certificate or key that cannot be used for the operation (wrong type, no e-mail protection).
    #[error("{0}")]
    UnusableKey(String),
    /// No recipient info matches the given certificate and key, or the key could not unwrap the content key.
    #[error("cannot decrypt: {0}")]
    CannotDecrypt(String),
    /// The content failed its integrity check (GCM tag) or was modified.
    #[error("integrity check failed: {0}")]
    Integrity(String),
    /// A certificate path that does not validate (signature, validity, constraints, usage).
    #[error("certificate path invalid: {0}")]
    Chain(String),
    /// A signed receipt that cannot or must not be made (RFC 2634): none requested, not from us, a receipt.
    #[error("no receipt: {0}")]
    Receipt(String),
    /// An error of the core (policy refusal, budget, I/O, a bad signature).
    #[error(transparent)]
    Core(#[from] CoreError),
}

impl SmimeError {
    /// Shorthand for [`SmimeError::Malformed`].
    pub fn malformed(what: &'static str, detail: impl std::fmt::Display) -> SmimeError {
        SmimeError::Malformed { what, detail: detail.to_string() }
    }

    /// True for cryptographic verdicts and refusals (exit status 1), false for malformed input, unsupported
    /// algorithms and I/O (exit status 2).
    pub fn is_verdict(&self) -> bool {
        match self {
            SmimeError::UnusableKey(_)
            | SmimeError::CannotDecrypt(_)
            | SmimeError::Integrity(_)
            | SmimeError::Chain(_)
            | SmimeError::Receipt(_) => true,
            SmimeError::Core(c) => c.is_verdict(),
            SmimeError::Malformed { .. } | SmimeError::Unsupported(_) => false,
        }
    }
}

impl From<std::io::Error> for SmimeError {
    fn from(err: std::io::Error) -> SmimeError {
        // Errors raised by our own layers travel through io::Error; unwrap them again.
        match err.get_ref().and_then(|e| e.downcast_ref::<CoreError>()) {
            Some(_) => match err.into_inner().map(|e| e.downcast::<CoreError>()) {
                Some(Ok(core)) => SmimeError::Core(*core),
                _ => SmimeError::malformed("input", "I/O error"),
            },
            None => SmimeError::Core(CoreError::Io(err)),
        }
    }
}

impl From<der::Error> for SmimeError {
    fn from(err: der::Error) -> SmimeError {
        SmimeError::malformed("DER", err)
    }
}

impl From<X509Error> for SmimeError {
    fn from(err: X509Error) -> SmimeError {
        match err {
            X509Error::Malformed { what, detail } => SmimeError::Malformed { what, detail },
            X509Error::Unsupported(s) => SmimeError::Unsupported(s),
            X509Error::UnusableKey(s) => SmimeError::UnusableKey(s),
            X509Error::Chain(s) => SmimeError::Chain(s),
            X509Error::Core(c) => SmimeError::Core(c),
        }
    }
}
