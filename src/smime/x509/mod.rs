//! X.509 certificates for S/MIME (RFC 5280, RFC 8550): reading them, the facts CMS needs from them
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
//! - [`extensions`]: the extensions this module acts on, parsed once, strictly;
//! - [`name`]: distinguished names: display (RFC 4514), comparison (RFC 5280 §7.1), construction;
//! - [`signature`]: certificate signature algorithms and checking a certificate against its issuer;
//! - [`path`]: path building and validation (RFC 5280 §6, reduced: see there what is not processed);
//! - [`issue`]: making keys and certificates.
//!
//! Not here: revocation (CRL, OCSP), name constraints and certificate policies (a path whose certificates
//! mark those extensions critical is refused rather than half-checked), DSA/ECDSA/EdDSA keys (read, and
//! reported as unsupported when their key is needed).

pub mod certificate;
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
