//! X.509 certificates for S/MIME (RFC 5280, RFC 8550) and PEM (RFC 1422): reading them, the facts CMS needs from them
//! (names, serial, key identifiers, e-mail addresses, the RSA public key), checking a certificate path to
//! the trust anchors the user gave (`--ca`), and making certificates (`sealpost key generate --type x509`).
//!
//! The ASN.1 structures come from `x509-cert`; every algorithm (digests, RSA signatures, key generation)
//! runs in [`crate::core`], and what counts as weak is the core [`Policy`](crate::core::policy::Policy)'s
//! decision, copied into [`ChainReport::weak`].
//!
//! Who does what:
//! - [`encoding`]: PEM text or DER bytes in, certificate DER blobs out (other PEM blocks skipped);
//! - [`certificate`]: [`Certificate`], one parsed certificate and its accessors;
//! - [`crl`]: certificate revocation lists, read, checked against their issuer and listed (for RFC 1424);
//! - [`extensions`]: the extensions this module acts on, parsed once, strictly;
//! - [`name`]: distinguished names: display (RFC 4514), comparison (RFC 5280 §7.1), construction;
//! - [`signature`]: certificate signature algorithms and checking a certificate against its issuer;
//! - [`path`]: path building and validation (RFC 5280 §6, reduced: see there what is not processed);
//! - [`issue`]: making keys and certificates.
//!
//! This module sits between the core and the two front ends that use certificates (`smime`, `pem`), which
//! must not depend on each other; its errors ([`X509Error`]) convert into theirs.
//!
//! Not here: revocation checking (CRLs are read and shown, not applied to paths; no OCSP), name
//! constraints and certificate policies (a path whose certificates mark those extensions critical is
//! refused rather than half-checked), DSA/ECDSA/EdDSA keys (read, and reported as unsupported when their
//! key is needed).

pub mod certificate;
pub mod crl;
pub mod encoding;
pub mod extensions;
pub mod issue;
pub mod name;
pub mod path;
pub mod signature;

pub use certificate::{Certificate, ValidityPeriod};
pub use issue::{CertSpec, certify, generate};
pub use path::{ChainReport, MAX_PATH_LEN, Purpose, check_chain, validate};
pub use signature::SignatureAlgorithm;

use const_oid::ObjectIdentifier;

use crate::core::CoreError;
use crate::core::algorithm::Algorithm;
use crate::core::digest::HashAlgorithm;

/// Errors of certificate handling.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum X509Error {
    /// Input that is not a well-formed certificate, name or PEM block.
    #[error("malformed {what}: {detail}")]
    Malformed {
        /// What was being read ("certificate", "PEM", ...).
        what: &'static str,
        /// What is wrong with it.
        detail: String,
    },
    /// An algorithm or structure we do not implement.
    #[error("unsupported: {0}")]
    Unsupported(String),
    /// A certificate or key that cannot be used for the operation.
    #[error("{0}")]
    UnusableKey(String),
    /// A certificate path that does not validate (signature, validity, constraints, usage).
    #[error("certificate path invalid: {0}")]
    Chain(String),
    /// An error of the core (policy refusal, a bad signature, I/O).
    #[error(transparent)]
    Core(#[from] CoreError),
}

impl X509Error {
    /// Shorthand for [`X509Error::Malformed`].
    pub fn malformed(what: &'static str, detail: impl std::fmt::Display) -> X509Error {
        X509Error::Malformed { what, detail: detail.to_string() }
    }

    /// True for refusals of a key or path (exit status 1), false for malformed input and unsupported
    /// algorithms (exit status 2).
    pub fn is_verdict(&self) -> bool {
        match self {
            X509Error::UnusableKey(_) | X509Error::Chain(_) => true,
            X509Error::Core(c) => c.is_verdict(),
            X509Error::Malformed { .. } | X509Error::Unsupported(_) => false,
        }
    }
}

impl From<der::Error> for X509Error {
    fn from(err: der::Error) -> X509Error {
        X509Error::malformed("DER", err)
    }
}

/// The OID of an algorithm in the core's registry, for the structures we write.
pub(crate) fn oid_of(alg: Algorithm) -> Result<ObjectIdentifier, X509Error> {
    let oid = alg.info().oid.ok_or_else(|| X509Error::Unsupported(format!("{} has no OID here", alg.name())))?;
    ObjectIdentifier::new(oid).map_err(|e| X509Error::malformed("OID", e))
}

/// The hash an algorithm identifier names; `what` says where it stood, for the error.
pub(crate) fn hash_from_oid(oid: &ObjectIdentifier, what: &str) -> Result<HashAlgorithm, X509Error> {
    Algorithm::from_oid(&oid.to_string())
        .and_then(HashAlgorithm::from_algorithm)
        .ok_or_else(|| X509Error::Unsupported(format!("{what} {}", signature::algorithm_name(oid))))
}

/// Quotes a certificate's subject for an error message: `"CN=Bob"`.
pub(crate) fn quoted(cert: &Certificate) -> String {
    format!("\"{}\"", cert.subject())
}

/// A time as a UTC date, `2023-01-01`, for messages.
pub fn date(t: std::time::SystemTime) -> String {
    match der::DateTime::from_system_time(t) {
        Ok(d) => format!("{:04}-{:02}-{:02}", d.year(), d.month(), d.day()),
        Err(_) => format!("{t:?}"),
    }
}
