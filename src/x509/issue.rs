//! Making certificates: an RSA key from the core and an X.509 v3 certificate for it (RFC 5280), either
//! self-signed or issued by a CA certificate and key, signed with sha256WithRSAEncryption by the core.
//!
//! Two profiles, following RFC 8550 §4.4 and what OpenSSL's `smimesign`/`smimeencrypt` purposes check:
//!
//! | | end entity (e-mail) | CA |
//! |---|---|---|
//! | basicConstraints (critical) | cA false | cA true |
//! | keyUsage (critical) | digitalSignature, nonRepudiation, keyEncipherment | keyCertSign, cRLSign |
//! | extendedKeyUsage | emailProtection | (none) |
//! | subjectAltName | rfc822Name, when an address is given | rfc822Name, when given |
//! | key identifiers | subjectKeyIdentifier (SHA-1 of the key, §4.2.1.2), authorityKeyIdentifier | same |
//!
//! The TBSCertificate is encoded here and signed through [`RsaPrivateKey::sign`] (two phases, as
//! `x509-cert`'s own builder does, but without its `signature`-crate signer traits, which would route the
//! private-key operation around the core). The result is parsed back and its signature checked before it
//! is returned.

use std::time::{Duration, SystemTime};

use der::asn1::{Any, AnyRef, BitString, GeneralizedTime, Ia5String, OctetString, UtcTime};
use der::flagset::FlagSet;
use der::{Decode, Encode, Sequence};
use spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};
use x509_cert::ext::Extension;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::{
    AuthorityKeyIdentifier, BasicConstraints, ExtendedKeyUsage, KeyUsage, KeyUsages, SubjectAltName,
    SubjectKeyIdentifier,
};
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;
use x509_cert::time::{Time, Validity};

use super::X509Error;
use super::extensions::{
    AUTHORITY_KEY_IDENTIFIER, BASIC_CONSTRAINTS, EMAIL_PROTECTION, EXT_KEY_USAGE, KEY_USAGE, SUBJECT_ALT_NAME,
    SUBJECT_KEY_IDENTIFIER,
};
use super::signature::SHA256_WITH_RSA;
use super::{Certificate, name, quoted};
use crate::core::digest::{HashAlgorithm, digest};
use crate::core::rand::{Rng, SystemRng};
use crate::core::rsa::{RsaPrivateKey, SignaturePadding};

/// RSA key sizes `generate` makes.
pub const KEY_SIZES: [usize; 3] = [2048, 3072, 4096];
/// Longest validity accepted, in days (100 years).
pub const MAX_DAYS: u32 = 36_500;
/// Serial number length in bytes (RFC 5280 §4.1.2.2 allows up to 20; 16 random bytes carry 126 bits).
const SERIAL_LEN: usize = 16;

/// What to put in a new certificate.
#[derive(Clone, Debug)]
pub struct CertSpec<'a> {
    /// The subject's common name (`CN=`).
    pub subject_name: String,
    /// The e-mail address, put in subjectAltName.
    pub email: Option<String>,
    /// RSA key size for [`generate`]: 2048, 3072 or 4096.
    pub bits: usize,
    /// Validity in days from `not_before`.
    pub days: u32,
    /// A CA certificate instead of an e-mail one.
    pub ca: bool,
    /// The issuing CA's certificate and key; `None` makes a self-signed certificate.
    pub issuer: Option<(&'a Certificate, &'a RsaPrivateKey)>,
    /// Start of validity; `None` is now. (A parameter so that tests can make expired certificates.)
    pub not_before: Option<SystemTime>,
}

impl<'a> CertSpec<'a> {
    /// An e-mail certificate for `subject_name <email>`: RSA 3072, one year, self-signed, from now.
    pub fn new(subject_name: impl Into<String>, email: Option<String>) -> CertSpec<'a> {
        CertSpec {
            subject_name: subject_name.into(),
            email,
            bits: 3072,
            days: 365,
            ca: false,
            issuer: None,
            not_before: None,
        }
    }
}

/// Makes a new RSA key (in the core) and a certificate for it.
pub fn generate(spec: &CertSpec<'_>) -> Result<(Certificate, RsaPrivateKey), X509Error> {
    if !KEY_SIZES.contains(&spec.bits) {
        return Err(X509Error::Unsupported(format!("{}-bit RSA keys (2048, 3072 or 4096)", spec.bits)));
    }
    check_spec(spec)?;
    let key = RsaPrivateKey::generate(spec.bits)?;
    let cert = certify(spec, &key)?;
    Ok((cert, key))
}

/// Makes a certificate for an existing key (`spec.bits` is ignored). `key`'s private half is used only
/// for a self-signed certificate.
pub fn certify(spec: &CertSpec<'_>, key: &RsaPrivateKey) -> Result<Certificate, X509Error> {
    check_spec(spec)?;
    let subject = name::common_name(&spec.subject_name)?;
    let spki = SubjectPublicKeyInfoOwned::from_der(key.public().to_spki_der())?;
    let ski = digest(HashAlgorithm::Sha1, spki.subject_public_key.raw_bytes()).as_bytes().to_vec();
    let (issuer_name, aki, signer) = match spec.issuer {
        Some((cert, issuer_key)) => {
            check_issuer(cert, issuer_key)?;
            let aki = cert.subject_key_id().unwrap_or_else(|| cert.computed_key_id());
            (cert.subject_name().clone(), aki, issuer_key)
        }
        None => (subject.clone(), ski.clone(), key),
    };
    let not_before = spec.not_before.unwrap_or_else(SystemTime::now);
    let not_after = not_before + Duration::from_secs(u64::from(spec.days) * 86_400);
    let tbs = Tbs {
        version: Some(2),
        serial_number: random_serial()?,
        signature: sha256_with_rsa()?,
        issuer: issuer_name,
        validity: Validity::new(time(not_before)?, time(not_after)?),
        subject,
        spki,
        extensions: Some(extensions(spec, ski, aki)?),
    }
    .to_der()?;
    let signature = signer.sign(
        SignaturePadding::Pkcs1v15,
        HashAlgorithm::Sha256,
        digest(HashAlgorithm::Sha256, &tbs).as_bytes(),
    )?;
    let der = CertificateOut {
        tbs: AnyRef::from_der(&tbs)?,
        signature_algorithm: sha256_with_rsa()?,
        signature: BitString::from_bytes(&signature)?,
    }
    .to_der()?;
    let cert = Certificate::from_der(&der)?;
    // Sign, then check: a fault in signing must not leave the building as a certificate.
    let issuer_cert = spec.issuer.map_or(&cert, |(c, _)| c);
    cert.verify_signed_by(issuer_cert)
        .map_err(|e| X509Error::UnusableKey(format!("the certificate just made does not verify: {e}")))?;
    Ok(cert)
}

fn check_spec(spec: &CertSpec<'_>) -> Result<(), X509Error> {
    if spec.days == 0 || spec.days > MAX_DAYS {
        return Err(X509Error::malformed("validity", format!("{} days (1 to {MAX_DAYS})", spec.days)));
    }
    if let Some(address) = &spec.email {
        check_address(address)?;
    }
    Ok(())
}

/// A plain ASCII `local@domain` (internationalised addresses need RFC 8398's SmtpUTF8Mailbox, not made
/// here).
pub fn check_address(address: &str) -> Result<(), X509Error> {
    if !address.is_ascii() {
        return Err(X509Error::Unsupported(format!(
            "the non-ASCII address {address:?} (certificates for internationalised addresses)"
        )));
    }
    let ok = match address.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && !domain.is_empty()
                && !domain.contains('@')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && address.bytes().all(|b| b.is_ascii_graphic() && !b"<>,;\"()[]\\".contains(&b))
        }
        None => false,
    };
    if ok { Ok(()) } else { Err(X509Error::malformed("e-mail address", format!("{address:?} is not local@domain"))) }
}

fn check_issuer(cert: &Certificate, key: &RsaPrivateKey) -> Result<(), X509Error> {
    if !cert.is_ca() {
        return Err(X509Error::UnusableKey(format!(
            "the issuer certificate {} is not a CA (no basicConstraints cA)",
            quoted(cert)
        )));
    }
    if cert.key_usage().is_some_and(|ku| !ku.key_cert_sign()) {
        return Err(X509Error::UnusableKey(format!(
            "the issuer certificate {} may not sign certificates (keyUsage lacks keyCertSign)",
            quoted(cert)
        )));
    }
    if cert.rsa_public_key()? != *key.public() {
        return Err(X509Error::UnusableKey(format!("the issuer key does not belong to {}", quoted(cert))));
    }
    let validity = cert.validity();
    let now = SystemTime::now();
    if now > validity.not_after {
        return Err(X509Error::UnusableKey(format!(
            "the issuer certificate {} expired on {}",
            quoted(cert),
            super::date(validity.not_after)
        )));
    }
    if now < validity.not_before {
        return Err(X509Error::UnusableKey(format!(
            "the issuer certificate {} is not valid before {}",
            quoted(cert),
            super::date(validity.not_before)
        )));
    }
    Ok(())
}

/// A positive 16-byte serial with its top bits `01`, so it is always exactly 16 bytes long.
fn random_serial() -> Result<SerialNumber, X509Error> {
    let mut bytes = [0u8; SERIAL_LEN];
    SystemRng.fill(&mut bytes)?;
    bytes[0] = (bytes[0] & 0x3f) | 0x40;
    Ok(SerialNumber::new(&bytes)?)
}

fn sha256_with_rsa() -> Result<AlgorithmIdentifierOwned, X509Error> {
    Ok(AlgorithmIdentifierOwned { oid: SHA256_WITH_RSA, parameters: Some(Any::new(der::Tag::Null, [0u8; 0])?) })
}

/// RFC 5280 §4.1.2.5: UTCTime through 2049, GeneralizedTime from 2050.
fn time(t: SystemTime) -> Result<Time, X509Error> {
    let dt = der::DateTime::from_system_time(t)?;
    Ok(if dt.year() < 2050 {
        Time::UtcTime(UtcTime::from_date_time(dt)?)
    } else {
        Time::GeneralTime(GeneralizedTime::from_date_time(dt))
    })
}

fn extension(oid: der::asn1::ObjectIdentifier, critical: bool, value: &impl Encode) -> Result<Extension, X509Error> {
    Ok(Extension { extn_id: oid, critical, extn_value: OctetString::new(value.to_der()?)? })
}

fn extensions(spec: &CertSpec<'_>, ski: Vec<u8>, aki: Vec<u8>) -> Result<Vec<Extension>, X509Error> {
    let usages: FlagSet<KeyUsages> = if spec.ca {
        KeyUsages::KeyCertSign | KeyUsages::CRLSign
    } else {
        KeyUsages::DigitalSignature | KeyUsages::NonRepudiation | KeyUsages::KeyEncipherment
    };
    let mut exts = vec![
        extension(BASIC_CONSTRAINTS, true, &BasicConstraints { ca: spec.ca, path_len_constraint: None })?,
        extension(KEY_USAGE, true, &KeyUsage(usages))?,
    ];
    if !spec.ca {
        exts.push(extension(EXT_KEY_USAGE, false, &ExtendedKeyUsage(vec![EMAIL_PROTECTION]))?);
    }
    if let Some(address) = &spec.email {
        let san = SubjectAltName(vec![GeneralName::Rfc822Name(Ia5String::new(address)?)]);
        exts.push(extension(SUBJECT_ALT_NAME, false, &san)?);
    }
    exts.push(extension(SUBJECT_KEY_IDENTIFIER, false, &SubjectKeyIdentifier(OctetString::new(ski)?))?);
    let aki = AuthorityKeyIdentifier { key_identifier: Some(OctetString::new(aki)?), ..Default::default() };
    exts.push(extension(AUTHORITY_KEY_IDENTIFIER, false, &aki)?);
    Ok(exts)
}

/// TBSCertificate (RFC 5280 §4.1), as written here: always version 3 with extensions.
#[derive(Sequence)]
struct Tbs {
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT", optional = "true")]
    version: Option<u8>,
    serial_number: SerialNumber,
    signature: AlgorithmIdentifierOwned,
    issuer: Name,
    validity: Validity,
    subject: Name,
    spki: SubjectPublicKeyInfoOwned,
    #[asn1(context_specific = "3", tag_mode = "EXPLICIT", optional = "true")]
    extensions: Option<Vec<Extension>>,
}

/// Certificate (RFC 5280 §4.1) around an already encoded TBSCertificate.
#[derive(Sequence)]
struct CertificateOut<'a> {
    tbs: AnyRef<'a>,
    signature_algorithm: AlgorithmIdentifierOwned,
    signature: BitString,
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn profiles_and_round_trip() {
        let key = RsaPrivateKey::generate(2048).unwrap();
        let ca = certify(&CertSpec { ca: true, ..CertSpec::new("Unit CA", None) }, &key).unwrap();
        assert!(ca.is_ca() && ca.is_self_issued());
        assert_eq!(ca.basic_constraints(), Some((true, None)));
        let ku = ca.key_usage().unwrap();
        assert!(ku.key_cert_sign() && ku.crl_sign() && !ku.digital_signature());
        assert_eq!(ca.extended_key_usage(), None);
        assert_eq!(ca.subject_key_id(), Some(ca.computed_key_id()));
        assert_eq!(ca.authority_key_id(), ca.subject_key_id());
        assert_eq!(ca.verify_signed_by(&ca).unwrap(), HashAlgorithm::Sha256);

        let leaf_key = RsaPrivateKey::generate(2048).unwrap();
        let spec =
            CertSpec { issuer: Some((&ca, &key)), ..CertSpec::new("Unit Leaf", Some("leaf@example.org".into())) };
        let leaf = certify(&spec, &leaf_key).unwrap();
        assert_eq!(leaf.subject(), "CN=Unit Leaf");
        assert_eq!(leaf.issuer(), "CN=Unit CA");
        assert_eq!(leaf.emails(), ["leaf@example.org"]);
        assert_eq!(leaf.extended_key_usage(), Some(&[EMAIL_PROTECTION][..]));
        assert!(leaf.allows_email_protection());
        let ku = leaf.key_usage().unwrap();
        assert!(ku.digital_signature() && ku.non_repudiation() && ku.key_encipherment() && !ku.key_cert_sign());
        assert_eq!(leaf.basic_constraints(), Some((false, None)));
        assert_eq!(leaf.authority_key_id(), ca.subject_key_id());
        assert!(leaf.matches_ski(&leaf.computed_key_id()));
        assert!(leaf.matches_issuer_serial(&leaf.issuer_and_serial()));
        assert_eq!(leaf.version(), 3);
        assert_eq!(leaf.rsa_public_key().unwrap(), *leaf_key.public());
        assert!(leaf.unknown_critical_extensions().is_empty());
        let days = leaf.validity().not_after.duration_since(leaf.validity().not_before).unwrap().as_secs() / 86_400;
        assert_eq!(days, 365);
        // Serials: 16 bytes, positive, different each time.
        assert_eq!(leaf.serial().len(), 32);
        assert_ne!(leaf.serial(), ca.serial());

        // PEM and DER round trips.
        let pem = leaf.to_pem().unwrap();
        assert_eq!(Certificate::from_pem(&pem).unwrap(), leaf);
        assert_eq!(Certificate::read_all(pem.as_bytes()).unwrap(), std::slice::from_ref(&leaf));
        assert_eq!(Certificate::read_all(leaf.der()).unwrap(), std::slice::from_ref(&leaf));
        assert_eq!(Certificate::from_x509(leaf.inner().clone()).unwrap(), leaf);
        let both = ca.to_pem().unwrap() + &pem;
        assert_eq!(Certificate::read_all(both.as_bytes()).unwrap(), [ca.clone(), leaf.clone()]);

        // A tampered certificate no longer verifies.
        let mut der = leaf.der().to_vec();
        let i = leaf.tbs_der().len() / 2;
        der[i] ^= 1;
        if let Ok(bad) = Certificate::from_der(&der) {
            assert!(matches!(bad.verify_signed_by(&ca), Err(X509Error::Chain(_))));
        }
    }

    #[test]
    fn truncations_and_flips_never_panic() {
        let key = RsaPrivateKey::generate(2048).unwrap();
        let cert = certify(&CertSpec::new("Fuzz", Some("f@example.org".into())), &key).unwrap();
        let der = cert.der();
        let exercise = |c: &Certificate| {
            let _ = (c.subject(), c.issuer(), c.serial(), c.emails(), c.validity(), c.public_key_algorithm());
            let _ = (c.rsa_public_key(), c.verify_signed_by(&cert), c.matches_ski(b"x"), c.to_pem());
        };
        let mut parsed = 0;
        for len in 0..der.len() {
            assert!(Certificate::from_der(&der[..len]).is_err(), "a {len}-byte prefix parsed");
        }
        for i in 0..der.len() {
            for bit in [0x01u8, 0x80] {
                let mut bad = der.to_vec();
                bad[i] ^= bit;
                if let Ok(c) = Certificate::from_der(&bad) {
                    parsed += 1;
                    exercise(&c);
                    // Whatever changed, the certificate no longer verifies.
                    assert!(c.verify_signed_by(&cert).is_err(), "flip at {i}");
                }
            }
        }
        assert!(parsed > 0);
    }

    #[test]
    fn addresses() {
        for ok in ["a@example.org", "first.last+tag@sub.example.co.uk"] {
            check_address(ok).unwrap();
        }
        for bad in ["", "a", "@example.org", "a@", "a@b@c", "a b@example.org", "<a@example.org>", "a@.example"] {
            assert!(check_address(bad).is_err(), "{bad:?}");
        }
        assert!(matches!(check_address("ü@example.org"), Err(X509Error::Unsupported(_))));
    }
}
