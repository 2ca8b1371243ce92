//! Certificate signatures (RFC 5280 §4.1.1.2): the RSA signature algorithms of RFC 8017 as RFC 4055 and
//! RFC 3279 identify them (PKCS #1 v1.5 with MD2, MD5, SHA-1, SHA-2; RSASSA-PSS with its parameters), and
//! checking a certificate against its issuer's key. The digest and the RSA operation run in the core;
//! this module only maps identifiers and bytes onto it.
//!
//! DSA, ECDSA and EdDSA signatures are recognised by name and reported as unsupported.

use der::Sequence;
use der::asn1::ObjectIdentifier;
use spki::AlgorithmIdentifierOwned;

use super::X509Error;
use super::{Certificate, quoted};
use crate::core::CoreError;
use crate::core::digest::{HashAlgorithm, digest};
use crate::core::rsa::{RsaPublicKey, SignaturePadding};

/// id-RSASSA-PSS (RFC 4055 §3.1).
pub const RSASSA_PSS: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.10");
/// id-mgf1 (RFC 4055 §2.2).
pub const MGF1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.8");
/// sha256WithRSAEncryption, what sealpost signs certificates with.
pub const SHA256_WITH_RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.11");

/// PKCS #1 v1.5 signature algorithms and their hashes.
const PKCS1_V15: [(&str, HashAlgorithm); 8] = [
    ("1.2.840.113549.1.1.2", HashAlgorithm::Md2),
    ("1.2.840.113549.1.1.4", HashAlgorithm::Md5),
    ("1.2.840.113549.1.1.5", HashAlgorithm::Sha1),
    ("1.3.14.3.2.29", HashAlgorithm::Sha1), // OIW sha1WithRSASignature, in old certificates
    ("1.2.840.113549.1.1.14", HashAlgorithm::Sha224),
    ("1.2.840.113549.1.1.11", HashAlgorithm::Sha256),
    ("1.2.840.113549.1.1.12", HashAlgorithm::Sha384),
    ("1.2.840.113549.1.1.13", HashAlgorithm::Sha512),
];

/// Signature algorithms recognised only to name them in an error.
const OTHER: [(&str, &str); 12] = [
    ("1.2.840.10040.4.3", "DSA with SHA-1"),
    ("2.16.840.1.101.3.4.3.1", "DSA with SHA-224"),
    ("2.16.840.1.101.3.4.3.2", "DSA with SHA-256"),
    ("1.2.840.10045.4.1", "ECDSA with SHA-1"),
    ("1.2.840.10045.4.3.1", "ECDSA with SHA-224"),
    ("1.2.840.10045.4.3.2", "ECDSA with SHA-256"),
    ("1.2.840.10045.4.3.3", "ECDSA with SHA-384"),
    ("1.2.840.10045.4.3.4", "ECDSA with SHA-512"),
    ("1.3.101.112", "Ed25519"),
    ("1.3.101.113", "Ed448"),
    ("1.2.840.113549.1.1.3", "MD4 with RSA"),
    ("1.2.156.10197.1.501", "SM2 with SM3"),
];

/// A name for an algorithm identifier we do not implement: a known name, or the dotted OID.
pub(crate) fn algorithm_name(oid: &ObjectIdentifier) -> String {
    let dotted = oid.to_string();
    if let Some((_, name)) = OTHER.iter().find(|(o, _)| *o == dotted) {
        return format!("{name} ({dotted})");
    }
    match const_oid::db::DB.by_oid(oid) {
        Some(name) => format!("{name} ({dotted})"),
        None => dotted,
    }
}

/// A signature algorithm sealpost can check.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SignatureAlgorithm {
    /// RSASSA-PKCS1-v1_5 with a hash.
    RsaPkcs1v15(HashAlgorithm),
    /// RSASSA-PSS (RFC 4055 §3.1).
    RsaPss {
        /// The message hash.
        hash: HashAlgorithm,
        /// The hash MGF1 uses.
        mgf1_hash: HashAlgorithm,
        /// Salt length in bytes.
        salt_len: u32,
    },
}

/// RSASSA-PSS-params (RFC 4055 §3.1); absent fields take the DEFAULTs (SHA-1, MGF1 with SHA-1, 20, 1).
#[derive(Sequence)]
struct PssParams {
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT", optional = "true")]
    hash: Option<AlgorithmIdentifierOwned>,
    #[asn1(context_specific = "1", tag_mode = "EXPLICIT", optional = "true")]
    mask_gen: Option<AlgorithmIdentifierOwned>,
    #[asn1(context_specific = "2", tag_mode = "EXPLICIT", optional = "true")]
    salt_len: Option<u32>,
    #[asn1(context_specific = "3", tag_mode = "EXPLICIT", optional = "true")]
    trailer: Option<u32>,
}

fn hash_of(alg: &AlgorithmIdentifierOwned, what: &str) -> Result<HashAlgorithm, X509Error> {
    super::hash_from_oid(&alg.oid, what)
}

impl SignatureAlgorithm {
    /// Reads a signature AlgorithmIdentifier.
    pub fn from_identifier(alg: &AlgorithmIdentifierOwned) -> Result<SignatureAlgorithm, X509Error> {
        let dotted = alg.oid.to_string();
        if let Some((_, hash)) = PKCS1_V15.iter().find(|(o, _)| *o == dotted) {
            return Ok(SignatureAlgorithm::RsaPkcs1v15(*hash));
        }
        if alg.oid != RSASSA_PSS {
            return Err(X509Error::Unsupported(format!("signature algorithm {}", algorithm_name(&alg.oid))));
        }
        let params = match &alg.parameters {
            Some(any) => any.decode_as::<PssParams>().map_err(|e| X509Error::malformed("RSASSA-PSS parameters", e))?,
            None => return Err(X509Error::malformed("RSASSA-PSS parameters", "missing")),
        };
        let hash = match &params.hash {
            Some(h) => hash_of(h, "RSASSA-PSS hash")?,
            None => HashAlgorithm::Sha1,
        };
        let mgf1_hash = match &params.mask_gen {
            None => HashAlgorithm::Sha1,
            Some(mgf) if mgf.oid == MGF1 => {
                let inner = mgf
                    .parameters
                    .as_ref()
                    .ok_or_else(|| X509Error::malformed("RSASSA-PSS parameters", "MGF1 without a hash"))?
                    .decode_as::<AlgorithmIdentifierOwned>()
                    .map_err(|e| X509Error::malformed("RSASSA-PSS parameters", e))?;
                hash_of(&inner, "RSASSA-PSS MGF1 hash")?
            }
            Some(mgf) => {
                return Err(X509Error::Unsupported(format!("RSASSA-PSS mask generation {}", algorithm_name(&mgf.oid))));
            }
        };
        if params.trailer.unwrap_or(1) != 1 {
            return Err(X509Error::malformed("RSASSA-PSS parameters", "trailer field other than 1"));
        }
        if matches!(hash, HashAlgorithm::Md2 | HashAlgorithm::Md5) {
            return Err(X509Error::Unsupported(format!("RSASSA-PSS with {hash}")));
        }
        Ok(SignatureAlgorithm::RsaPss { hash, mgf1_hash, salt_len: params.salt_len.unwrap_or(20) })
    }

    /// The message hash.
    pub fn hash(&self) -> HashAlgorithm {
        match *self {
            SignatureAlgorithm::RsaPkcs1v15(hash) | SignatureAlgorithm::RsaPss { hash, .. } => hash,
        }
    }

    /// Short name, for reports: `sha256WithRSAEncryption`, `RSASSA-PSS(sha256, salt 32)`.
    pub fn name(&self) -> String {
        match *self {
            SignatureAlgorithm::RsaPkcs1v15(hash) => format!("{hash}WithRSAEncryption"),
            SignatureAlgorithm::RsaPss { hash, mgf1_hash, salt_len } => {
                format!("RSASSA-PSS({hash}, MGF1 {mgf1_hash}, salt {salt_len})")
            }
        }
    }

    /// Checks `signature` over `signed` with `key`. A signature that does not verify is
    /// [`CoreError::BadSignature`].
    ///
    /// The core's PSS takes MGF1 with the message hash and a salt as long as the hash (RFC 8017's
    /// recommendation, what every current signer uses); other PSS parameters are reported unsupported.
    pub fn verify(&self, key: &RsaPublicKey, signed: &[u8], signature: &[u8]) -> Result<(), X509Error> {
        let padding = match *self {
            SignatureAlgorithm::RsaPkcs1v15(_) => SignaturePadding::Pkcs1v15,
            SignatureAlgorithm::RsaPss { hash, mgf1_hash, salt_len } => {
                if mgf1_hash != hash {
                    return Err(X509Error::Unsupported(format!(
                        "RSASSA-PSS with MGF1 over {mgf1_hash} and a {hash} message hash"
                    )));
                }
                if usize::try_from(salt_len).ok() != Some(hash.output_len()) {
                    return Err(X509Error::Unsupported(format!(
                        "RSASSA-PSS with a {salt_len}-byte salt (only a salt as long as the hash, {} bytes for \
                         {hash}, is supported)",
                        hash.output_len()
                    )));
                }
                SignaturePadding::Pss
            }
        };
        let hash = self.hash();
        let d = digest(hash, signed);
        key.verify(padding, hash, d.as_bytes(), signature).map_err(X509Error::Core)
    }
}

impl Certificate {
    /// Checks that `issuer`'s key signed this certificate, and returns the hash of the signature so that the
    /// caller can label MD5 and SHA-1 weak. It checks the signature only: names, validity and constraints
    /// are [`validate`](super::validate)'s.
    pub fn verify_signed_by(&self, issuer: &Certificate) -> Result<HashAlgorithm, X509Error> {
        let cert = self.inner();
        if cert.signature_algorithm() != cert.tbs_certificate().signature() {
            return Err(X509Error::malformed(
                "certificate",
                format!("{}: signatureAlgorithm differs from the signature field it signs", quoted(self)),
            ));
        }
        let alg = SignatureAlgorithm::from_identifier(cert.signature_algorithm())?;
        let key = issuer.rsa_public_key()?;
        let signature = cert
            .signature()
            .as_bytes()
            .ok_or_else(|| X509Error::malformed("certificate", "signature is not a whole number of bytes"))?;
        match alg.verify(&key, self.tbs_der(), signature) {
            Ok(()) => Ok(alg.hash()),
            Err(X509Error::Core(CoreError::BadSignature)) => Err(X509Error::Chain(format!(
                "the signature on {} does not verify with the key of {}",
                quoted(self),
                quoted(issuer)
            ))),
            Err(other) => Err(other),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use der::asn1::Any;
    use der::{Decode, Encode};

    use super::*;

    fn ident(oid: &str, params: Option<Any>) -> AlgorithmIdentifierOwned {
        AlgorithmIdentifierOwned { oid: ObjectIdentifier::new(oid).unwrap(), parameters: params }
    }

    #[test]
    fn pkcs1_identifiers() {
        let alg = SignatureAlgorithm::from_identifier(&ident("1.2.840.113549.1.1.5", None)).unwrap();
        assert_eq!(alg, SignatureAlgorithm::RsaPkcs1v15(HashAlgorithm::Sha1));
        assert_eq!(alg.name(), "sha1WithRSAEncryption");
        let err = SignatureAlgorithm::from_identifier(&ident("1.2.840.10045.4.3.2", None)).unwrap_err();
        assert!(matches!(err, X509Error::Unsupported(_)));
        assert!(err.to_string().contains("ECDSA with SHA-256"), "{err}");
    }

    #[test]
    fn pss_parameters_and_defaults() {
        // Empty parameters: every DEFAULT.
        let empty = Any::from_der(&[0x30, 0x00]).unwrap();
        let alg = SignatureAlgorithm::from_identifier(&ident("1.2.840.113549.1.1.10", Some(empty))).unwrap();
        assert_eq!(
            alg,
            SignatureAlgorithm::RsaPss { hash: HashAlgorithm::Sha1, mgf1_hash: HashAlgorithm::Sha1, salt_len: 20 }
        );
        // SHA-256, MGF1-SHA-256, salt 32, as encoded by OpenSSL.
        let sha256 = ident("2.16.840.1.101.3.4.2.1", Some(Any::from_der(&[0x05, 0x00]).unwrap()));
        let mgf = ident("1.2.840.113549.1.1.8", Some(Any::from_der(&sha256.to_der().unwrap()).unwrap()));
        let params = PssParams { hash: Some(sha256), mask_gen: Some(mgf), salt_len: Some(32), trailer: None };
        let any = Any::from_der(&params.to_der().unwrap()).unwrap();
        let alg = SignatureAlgorithm::from_identifier(&ident("1.2.840.113549.1.1.10", Some(any))).unwrap();
        assert_eq!(
            alg,
            SignatureAlgorithm::RsaPss { hash: HashAlgorithm::Sha256, mgf1_hash: HashAlgorithm::Sha256, salt_len: 32 }
        );
        // Missing parameters are malformed.
        assert!(SignatureAlgorithm::from_identifier(&ident("1.2.840.113549.1.1.10", None)).is_err());
    }
}
