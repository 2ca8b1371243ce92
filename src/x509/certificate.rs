//! One X.509 certificate (RFC 5280 §4.1), kept with its exact DER so that signatures are checked over the
//! bytes that were signed, never over a re-encoding; and the facts CMS needs from it: names, serial, key
//! identifiers, e-mail addresses, the RSA public key, validity, constraints and usages.

use std::fmt;
use std::ops::Range;
use std::time::{Duration, SystemTime};

use cms::cert::IssuerAndSerialNumber;
use der::asn1::ObjectIdentifier;
use der::{Decode, DecodePem, Header, Reader, SliceReader};
use x509_cert::ext::pkix::KeyUsage;
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;

use super::X509Error;
use super::extensions::{self, ANY_EXTENDED_KEY_USAGE, EMAIL_PROTECTION, Parsed};
use super::{encoding, name, quoted};
use crate::core::digest::{Digest, HashAlgorithm, digest};
use crate::core::rsa::RsaPublicKey;

/// rsaEncryption (PKCS #1).
pub const RSA_ENCRYPTION: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
/// The X.500 `rsa` key identifier of 1990s certificates (RFC 1423 §4.1), still read.
const X500_RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.8.1.1");

/// Public-key algorithms recognised only to name them in an error.
const OTHER_KEYS: [(&str, &str); 8] = [
    ("1.2.840.10040.4.1", "DSA"),
    ("1.2.840.10045.2.1", "EC"),
    ("1.2.840.10046.2.1", "X9.42 Diffie-Hellman"),
    ("1.2.840.113549.1.3.1", "PKCS #3 Diffie-Hellman"),
    ("1.3.101.110", "X25519"),
    ("1.3.101.111", "X448"),
    ("1.3.101.112", "Ed25519"),
    ("1.3.101.113", "Ed448"),
];

/// A certificate's validity period (RFC 5280 §4.1.2.5), both ends inclusive.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ValidityPeriod {
    /// notBefore.
    pub not_before: SystemTime,
    /// notAfter.
    pub not_after: SystemTime,
}

impl ValidityPeriod {
    /// True when `time` lies within the period.
    pub fn contains(&self, time: SystemTime) -> bool {
        self.not_before <= time && time <= self.not_after
    }
}

/// A parsed certificate with its DER.
#[derive(Clone)]
pub struct Certificate {
    der: Vec<u8>,
    cert: x509_cert::Certificate,
    /// Where the TBSCertificate lies in `der`.
    tbs: Range<usize>,
    ext: Parsed,
}

impl PartialEq for Certificate {
    fn eq(&self, other: &Certificate) -> bool {
        self.der == other.der
    }
}

impl Eq for Certificate {}

impl fmt::Debug for Certificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Certificate")
            .field("subject", &self.subject())
            .field("issuer", &self.issuer())
            .field("serial", &self.serial())
            .finish()
    }
}

/// Where the first element of the outer SEQUENCE (the TBSCertificate, or a CRL's TBSCertList) lies, header
/// included: the bytes the signature covers, as they were received.
pub(crate) fn tbs_range(der: &[u8]) -> der::Result<Range<usize>> {
    let mut r = SliceReader::new(der)?;
    Header::decode(&mut r)?;
    let start = usize::try_from(r.position())?;
    let inner = Header::decode(&mut r)?;
    let body = usize::try_from(r.position())?;
    let end = body.checked_add(usize::try_from(inner.length())?).filter(|&e| e <= der.len());
    end.map(|end| start..end).ok_or_else(|| {
        der::ErrorKind::Incomplete { expected_len: inner.length(), actual_len: r.remaining_len() }.into()
    })
}

impl Certificate {
    /// Parses one DER certificate; trailing data is an error.
    pub fn from_der(der: &[u8]) -> Result<Certificate, X509Error> {
        let cert = x509_cert::Certificate::from_der(der).map_err(|e| X509Error::malformed("certificate", e))?;
        let tbs = tbs_range(der).map_err(|e| X509Error::malformed("certificate", e))?;
        let ext = extensions::parse(cert.tbs_certificate())?;
        Ok(Certificate { der: der.to_vec(), cert, tbs, ext })
    }

    /// Wraps a certificate decoded elsewhere (a CMS message's `certificates`). Its DER is re-encoded, which
    /// gives back the original bytes: `x509-cert` decodes DER only, and DER has one encoding.
    pub fn from_x509(cert: x509_cert::Certificate) -> Result<Certificate, X509Error> {
        let der = der::Encode::to_der(&cert)?;
        let tbs = tbs_range(&der).map_err(|e| X509Error::malformed("certificate", e))?;
        let ext = extensions::parse(cert.tbs_certificate())?;
        Ok(Certificate { der, cert, tbs, ext })
    }

    /// Every certificate of a file: PEM with one or more `CERTIFICATE` blocks (other blocks, such as a
    /// private key, skipped), or one DER certificate.
    pub fn read_all(bytes: &[u8]) -> Result<Vec<Certificate>, X509Error> {
        encoding::certificate_ders(bytes)?.iter().map(|der| Certificate::from_der(der)).collect()
    }

    /// Parses one PEM `CERTIFICATE` block, strictly (RFC 7468).
    pub fn from_pem(pem: &str) -> Result<Certificate, X509Error> {
        let cert = x509_cert::Certificate::from_pem(pem.trim()).map_err(|e| X509Error::malformed("certificate", e))?;
        Certificate::from_der(&der::Encode::to_der(&cert)?)
    }

    /// The certificate as PEM (`-----BEGIN CERTIFICATE-----`, 64-column lines, LF).
    pub fn to_pem(&self) -> Result<String, X509Error> {
        pem_rfc7468::encode_string("CERTIFICATE", pem_rfc7468::LineEnding::LF, &self.der)
            .map_err(|e| X509Error::malformed("certificate", e))
    }

    /// The DER encoding, exactly as read.
    pub fn der(&self) -> &[u8] {
        &self.der
    }

    /// The `x509-cert` structure.
    pub fn inner(&self) -> &x509_cert::Certificate {
        &self.cert
    }

    /// The DER of the TBSCertificate, exactly as read: what the issuer signed.
    pub fn tbs_der(&self) -> &[u8] {
        self.der.get(self.tbs.clone()).unwrap_or_default()
    }

    /// The subject as an RFC 4514 string (`CN=Bob,O=Example`).
    pub fn subject(&self) -> String {
        name::display(self.subject_name())
    }

    /// The issuer as an RFC 4514 string.
    pub fn issuer(&self) -> String {
        name::display(self.issuer_name())
    }

    /// The subject name.
    pub fn subject_name(&self) -> &Name {
        self.cert.tbs_certificate().subject()
    }

    /// The issuer name.
    pub fn issuer_name(&self) -> &Name {
        self.cert.tbs_certificate().issuer()
    }

    /// The serial number in upper-case hexadecimal, as `openssl x509 -serial` shows it.
    pub fn serial(&self) -> String {
        let bytes = self.serial_number().as_bytes();
        let bytes = match bytes {
            [0, rest @ ..] if !rest.is_empty() => rest,
            all => all,
        };
        bytes.iter().map(|b| format!("{b:02X}")).collect()
    }

    /// The serial number.
    pub fn serial_number(&self) -> &SerialNumber {
        self.cert.tbs_certificate().serial_number()
    }

    /// Issuer and serial number, the CMS identifier of this certificate (RFC 5652 §10.2.4).
    pub fn issuer_and_serial(&self) -> IssuerAndSerialNumber {
        IssuerAndSerialNumber { issuer: self.issuer_name().clone(), serial_number: self.serial_number().clone() }
    }

    /// The subjectKeyIdentifier extension, if present.
    pub fn subject_key_id(&self) -> Option<Vec<u8>> {
        self.ext.subject_key_id.clone()
    }

    /// The keyIdentifier of the authorityKeyIdentifier extension, if present.
    pub fn authority_key_id(&self) -> Option<Vec<u8>> {
        self.ext.authority_key_id.clone()
    }

    /// The SHA-1 of the subjectPublicKey bits (RFC 5280 §4.2.1.2, method 1): the key identifier sealpost
    /// puts in the certificates it makes, and the one to compare with when a certificate has no
    /// subjectKeyIdentifier.
    pub fn computed_key_id(&self) -> Vec<u8> {
        let spki = self.cert.tbs_certificate().subject_public_key_info();
        digest(HashAlgorithm::Sha1, spki.subject_public_key.raw_bytes()).as_bytes().to_vec()
    }

    /// True when `ski` identifies this certificate's key (CMS `subjectKeyIdentifier` recipient and signer
    /// identifiers, RFC 5652 §5.3, §6.2.1): the subjectKeyIdentifier extension, or, when the certificate has
    /// none, the SHA-1 of its key.
    pub fn matches_ski(&self, ski: &[u8]) -> bool {
        match &self.ext.subject_key_id {
            Some(own) => own.as_slice() == ski,
            None => self.computed_key_id() == ski,
        }
    }

    /// True when `ias` names this certificate: the same issuer (RFC 5280 §7.1 comparison) and serial.
    pub fn matches_issuer_serial(&self, ias: &IssuerAndSerialNumber) -> bool {
        ias.serial_number.as_bytes() == self.serial_number().as_bytes()
            && name::names_match(&ias.issuer, self.issuer_name())
    }

    /// The e-mail addresses: subjectAltName rfc822Name entries first, then the subject's emailAddress
    /// attributes; duplicates (ignoring case) dropped.
    pub fn emails(&self) -> Vec<String> {
        let from_subject = self
            .subject_name()
            .iter()
            .filter(|atv| atv.oid == name::EMAIL_ADDRESS)
            .filter_map(|atv| name::string_value(&atv.value));
        let mut out: Vec<String> = Vec::new();
        for address in self.ext.san_emails.iter().cloned().chain(from_subject) {
            if !out.iter().any(|a| a.eq_ignore_ascii_case(&address)) {
                out.push(address);
            }
        }
        out
    }

    /// The subjectPublicKeyInfo algorithm OID.
    pub fn public_key_oid(&self) -> ObjectIdentifier {
        self.cert.tbs_certificate().subject_public_key_info().algorithm.oid
    }

    /// A name for the key's algorithm: `RSA`, `RSASSA-PSS`, `DSA`, `EC (1.2.840.10045.3.1.7)`, ...
    pub fn public_key_algorithm(&self) -> String {
        let spki = self.cert.tbs_certificate().subject_public_key_info();
        let oid = spki.algorithm.oid;
        if oid == RSA_ENCRYPTION || oid == X500_RSA {
            return "RSA".into();
        }
        if oid == super::signature::RSASSA_PSS {
            return "RSASSA-PSS".into();
        }
        let dotted = oid.to_string();
        match OTHER_KEYS.iter().find(|(o, _)| *o == dotted) {
            Some((_, name)) => {
                match spki.algorithm.parameters.as_ref().and_then(|p| p.decode_as::<ObjectIdentifier>().ok()) {
                    // EC keys name their curve.
                    Some(curve) if *name == "EC" => format!("EC {}", super::signature::algorithm_name(&curve)),
                    _ => (*name).to_string(),
                }
            }
            None => super::signature::algorithm_name(&oid),
        }
    }

    /// The RSA public key, for rsaEncryption and RSASSA-PSS keys (and the X.500 `rsa` of old PEM
    /// certificates). Other keys are [`X509Error::Unsupported`], naming the algorithm.
    pub fn rsa_public_key(&self) -> Result<RsaPublicKey, X509Error> {
        let spki = self.cert.tbs_certificate().subject_public_key_info();
        let oid = spki.algorithm.oid;
        if oid != RSA_ENCRYPTION && oid != super::signature::RSASSA_PSS && oid != X500_RSA {
            return Err(X509Error::Unsupported(format!(
                "{} has a {} key; only RSA keys are supported",
                quoted(self),
                self.public_key_algorithm()
            )));
        }
        let bits = spki
            .subject_public_key
            .as_bytes()
            .ok_or_else(|| X509Error::malformed("certificate", "public key is not a whole number of bytes"))?;
        Ok(RsaPublicKey::from_der(bits)?)
    }

    /// The RSA modulus size in bits, for RSA keys.
    pub fn rsa_bits(&self) -> Option<usize> {
        self.rsa_public_key().ok().map(|k| k.bits())
    }

    /// The validity period.
    pub fn validity(&self) -> ValidityPeriod {
        let v = self.cert.tbs_certificate().validity();
        let at = |d: Duration| SystemTime::UNIX_EPOCH + d;
        ValidityPeriod {
            not_before: at(v.not_before.to_unix_duration()),
            not_after: at(v.not_after.to_unix_duration()),
        }
    }

    /// basicConstraints as `(cA, pathLenConstraint)`, if present.
    pub fn basic_constraints(&self) -> Option<(bool, Option<u8>)> {
        self.ext.basic_constraints
    }

    /// True when basicConstraints says cA (RFC 5280 §4.2.1.9).
    pub fn is_ca(&self) -> bool {
        matches!(self.ext.basic_constraints, Some((true, _)))
    }

    /// The keyUsage extension, if present.
    pub fn key_usage(&self) -> Option<KeyUsage> {
        self.ext.key_usage
    }

    /// The extendedKeyUsage purposes, if the extension is present.
    pub fn extended_key_usage(&self) -> Option<&[ObjectIdentifier]> {
        self.ext.ext_key_usage.as_deref()
    }

    /// True when the certificate may be used for e-mail: it has no extendedKeyUsage, or that lists
    /// emailProtection or anyExtendedKeyUsage (RFC 8550 §4.4.4).
    pub fn allows_email_protection(&self) -> bool {
        self.extended_key_usage()
            .is_none_or(|eku| eku.contains(&EMAIL_PROTECTION) || eku.contains(&ANY_EXTENDED_KEY_USAGE))
    }

    /// Critical extensions that sealpost does not process (path validation refuses them).
    pub fn unknown_critical_extensions(&self) -> &[ObjectIdentifier] {
        &self.ext.unknown_critical
    }

    /// True when subject and issuer are the same name (RFC 5280 §6.1: "self-issued").
    pub fn is_self_issued(&self) -> bool {
        name::names_match(self.subject_name(), self.issuer_name())
    }

    /// The X.509 version (1, 2 or 3).
    pub fn version(&self) -> u8 {
        self.cert.tbs_certificate().version() as u8 + 1
    }

    /// A fingerprint: the hash of the DER.
    pub fn fingerprint(&self, hash: HashAlgorithm) -> Digest {
        digest(hash, &self.der)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn garbage_is_malformed_not_a_panic() {
        for bytes in [&b""[..], b"\x30", b"\x30\x00", b"\x30\x03\x30\x01\x00", b"\x30\x84\xff\xff\xff\xff\x00"] {
            let err = Certificate::from_der(bytes).unwrap_err();
            assert!(matches!(err, X509Error::Malformed { .. }), "{err}");
        }
        assert!(Certificate::read_all(b"not a certificate").is_err());
    }
}
