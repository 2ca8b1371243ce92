//! Privacy-Enhanced Mail (RFC 1421-1424) over the core's primitives. No maintained tool implements it any
//! more, so this module works from the RFCs themselves.
//!
//! - [`message`]: the encapsulated message: boundaries, header fields with continuation lines, the body in
//!   printable encoding (MIC-ONLY, ENCRYPTED) or as text with RFC 934 dash-stuffing (MIC-CLEAR), and the
//!   canonical form (CRLF line ends) the MIC covers;
//! - [`mic`]: MIC-CLEAR and MIC-ONLY messages made and verified (RSA-MD5; RSA-MD2 verify-only), with the
//!   originator's key from `Originator-Certificate`, `Originator-Key-Asymmetric`, or the caller.
//!
//! - [`encrypted`]: ENCRYPTED messages with asymmetric key management (DEK-Info, Key-Info: RSA,
//!   Recipient-ID-Asymmetric), made and read;
//! - [`symmetric`]: messages with symmetric key management (Recipient-ID-Symmetric, Key-Info: DES-ECB or
//!   DES-EDE under a shared interchange key), opened when the key is given;
//! - [`crl`]: CRL and CRL-RETRIEVAL-REQUEST messages (RFC 1424), read, checked and shown.
//!
//! Certificates, RFC 1422 certification paths (version 1 CAs accepted) and CRL signatures are
//! [`crate::x509`]'s, shared with S/MIME; [`Trust`] says what the user vouches for.

pub mod crl;
pub mod encrypted;
pub mod message;
pub mod mic;
pub mod symmetric;

use crate::core::CoreError;
use crate::x509::{Certificate, X509Error};

/// What the user vouches for: certificates taken as the originator's (`--cert`), and CAs (`--ca`) to
/// check the originator's certificate path to (RFC 1422).
#[derive(Clone, Debug, Default)]
pub struct Trust {
    /// Certificates the user gave as the originator's (and extra intermediates).
    pub certs: Vec<Certificate>,
    /// Trust anchors for RFC 1422 certificate paths.
    pub anchors: Vec<Certificate>,
}

/// Errors of the PEM front end.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PemError {
    /// Input that is not a well-formed RFC 1421 message.
    #[error("malformed PEM message: {0}")]
    Malformed(String),
    /// Something RFC 1421-1424 allows that is not implemented (yet), or an unknown Proc-Type.
    #[error("unsupported: {0}")]
    Unsupported(String),
    /// A key or certificate that cannot serve (no RSA key, not the originator).
    #[error("{0}")]
    UnusableKey(String),
    /// A key file that is not what it must be (an interchange key that is not 8 or 16 bytes of hex).
    #[error("{0}")]
    KeyFile(String),
    /// An error of the core (policy, bad signature, I/O).
    #[error(transparent)]
    Core(#[from] CoreError),
}

impl PemError {
    /// True for cryptographic verdicts and refusals (exit status 1).
    pub fn is_verdict(&self) -> bool {
        match self {
            PemError::UnusableKey(_) => true,
            PemError::Core(c) => c.is_verdict(),
            PemError::Malformed(_) | PemError::Unsupported(_) | PemError::KeyFile(_) => false,
        }
    }
}

impl From<X509Error> for PemError {
    fn from(err: X509Error) -> PemError {
        match err {
            X509Error::Malformed { what, detail } => PemError::Malformed(format!("{what}: {detail}")),
            X509Error::Unsupported(s) => PemError::Unsupported(s),
            X509Error::UnusableKey(s) | X509Error::Chain(s) => PemError::UnusableKey(s),
            X509Error::Core(c) => PemError::Core(c),
        }
    }
}

impl From<std::io::Error> for PemError {
    fn from(err: std::io::Error) -> PemError {
        PemError::Core(CoreError::Io(err))
    }
}
