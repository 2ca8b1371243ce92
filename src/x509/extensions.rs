//! The certificate extensions (RFC 5280 §4.2) this module acts on, parsed once when a certificate is read.
//!
//! Parsing is strict where a lenient reading would widen what a certificate may do: a malformed or
//! repeated basicConstraints, keyUsage or extendedKeyUsage makes the certificate malformed, never "absent".
//! subjectAltName is read tolerantly (only its rfc822Name entries matter here, and other name forms such as
//! x400Address must not make a certificate unreadable). Critical extensions this module does not process
//! are listed, so that path validation can refuse them (§4.2: "A certificate-using system MUST reject the
//! certificate if it encounters a critical extension it does not recognize").

use der::asn1::ObjectIdentifier;
use der::{Decode, Header, Reader, SliceReader, Tag, TagNumber};
use x509_cert::TbsCertificate;
use x509_cert::ext::pkix::{
    AuthorityKeyIdentifier, BasicConstraints, ExtendedKeyUsage, KeyUsage, SubjectKeyIdentifier,
};

use super::X509Error;

/// id-ce-subjectKeyIdentifier.
pub const SUBJECT_KEY_IDENTIFIER: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.14");
/// id-ce-keyUsage.
pub const KEY_USAGE: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.15");
/// id-ce-subjectAltName.
pub const SUBJECT_ALT_NAME: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.17");
/// id-ce-issuerAltName.
pub const ISSUER_ALT_NAME: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.18");
/// id-ce-basicConstraints.
pub const BASIC_CONSTRAINTS: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.19");
/// id-ce-authorityKeyIdentifier.
pub const AUTHORITY_KEY_IDENTIFIER: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.35");
/// id-ce-extKeyUsage.
pub const EXT_KEY_USAGE: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.37");
/// id-kp-emailProtection.
pub const EMAIL_PROTECTION: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.4");
/// anyExtendedKeyUsage.
pub const ANY_EXTENDED_KEY_USAGE: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.37.0");

/// Extensions that are understood (processed, or safe to ignore for S/MIME) even when critical:
/// the ones parsed here, certificatePolicies (no policy is required by sealpost, so with the initial
/// policy set any-policy they constrain nothing), and the revocation pointers (revocation is not checked;
/// their criticality does not change that).
const UNDERSTOOD: [&str; 11] = [
    "2.5.29.14",         // subjectKeyIdentifier
    "2.5.29.15",         // keyUsage
    "2.5.29.17",         // subjectAltName
    "2.5.29.18",         // issuerAltName
    "2.5.29.19",         // basicConstraints
    "2.5.29.31",         // cRLDistributionPoints
    "2.5.29.32",         // certificatePolicies
    "2.5.29.35",         // authorityKeyIdentifier
    "2.5.29.37",         // extKeyUsage
    "2.5.29.46",         // freshestCRL
    "1.3.6.1.5.5.7.1.1", // authorityInfoAccess
];

/// The extensions of one certificate, as far as this module uses them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Parsed {
    /// basicConstraints: `(cA, pathLenConstraint)`.
    pub basic_constraints: Option<(bool, Option<u8>)>,
    /// keyUsage.
    pub key_usage: Option<KeyUsage>,
    /// extendedKeyUsage purposes.
    pub ext_key_usage: Option<Vec<ObjectIdentifier>>,
    /// subjectKeyIdentifier.
    pub subject_key_id: Option<Vec<u8>>,
    /// The keyIdentifier of authorityKeyIdentifier.
    pub authority_key_id: Option<Vec<u8>>,
    /// rfc822Name entries of subjectAltName, in order.
    pub san_emails: Vec<String>,
    /// Critical extensions not in the understood set (nameConstraints, policyConstraints, private ones).
    pub unknown_critical: Vec<ObjectIdentifier>,
}

fn bad(what: &str, err: impl std::fmt::Display) -> X509Error {
    X509Error::malformed("certificate", format!("bad {what} extension: {err}"))
}

/// Parses the extensions of a TBSCertificate.
pub fn parse(tbs: &TbsCertificate) -> Result<Parsed, X509Error> {
    let mut parsed = Parsed::default();
    let exts = tbs.extensions().map(Vec::as_slice).unwrap_or_default();
    for (i, ext) in exts.iter().enumerate() {
        if exts.get(..i).unwrap_or_default().iter().any(|e| e.extn_id == ext.extn_id) {
            return Err(X509Error::malformed(
                "certificate",
                format!("extension {} appears more than once", ext.extn_id),
            ));
        }
        let value = ext.extn_value.as_bytes();
        match ext.extn_id {
            BASIC_CONSTRAINTS => {
                let bc = BasicConstraints::from_der(value).map_err(|e| bad("basicConstraints", e))?;
                parsed.basic_constraints = Some((bc.ca, bc.path_len_constraint));
            }
            KEY_USAGE => parsed.key_usage = Some(KeyUsage::from_der(value).map_err(|e| bad("keyUsage", e))?),
            EXT_KEY_USAGE => {
                let eku = ExtendedKeyUsage::from_der(value).map_err(|e| bad("extendedKeyUsage", e))?;
                parsed.ext_key_usage = Some(eku.0);
            }
            SUBJECT_KEY_IDENTIFIER => {
                let ski = SubjectKeyIdentifier::from_der(value).map_err(|e| bad("subjectKeyIdentifier", e))?;
                parsed.subject_key_id = Some(ski.0.as_bytes().to_vec());
            }
            AUTHORITY_KEY_IDENTIFIER => {
                let aki = AuthorityKeyIdentifier::from_der(value).map_err(|e| bad("authorityKeyIdentifier", e))?;
                parsed.authority_key_id = aki.key_identifier.map(|k| k.as_bytes().to_vec());
            }
            SUBJECT_ALT_NAME => parsed.san_emails = rfc822_names(value).map_err(|e| bad("subjectAltName", e))?,
            _ => {}
        }
        let oid = ext.extn_id.to_string();
        if ext.critical && !UNDERSTOOD.contains(&oid.as_str()) {
            parsed.unknown_critical.push(ext.extn_id);
        }
    }
    Ok(parsed)
}

/// The rfc822Name (`[1] IMPLICIT IA5String`) entries of a GeneralNames SEQUENCE; other forms are skipped
/// without being decoded.
fn rfc822_names(der: &[u8]) -> der::Result<Vec<String>> {
    let mut reader = SliceReader::new(der)?;
    let names = reader.sequence(|r| -> der::Result<Vec<String>> {
        let mut names = Vec::new();
        while !r.is_finished() {
            let header = Header::decode(r)?;
            let body = r.read_slice(header.length())?;
            if header.tag() == (Tag::ContextSpecific { constructed: false, number: TagNumber(1) }) {
                if !body.is_ascii() {
                    return Err(der::Error::from(Tag::Ia5String.value_error()));
                }
                names.push(String::from_utf8_lossy(body).into_owned());
            }
        }
        Ok(names)
    })?;
    reader.finish()?;
    Ok(names)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn rfc822_names_skip_other_forms() {
        // SEQUENCE { [2] "a.example", [1] "bob@example.org", [4] { SEQUENCE {} } }
        let mut der = vec![0x30, 0x00, 0x82, 0x09];
        der.extend_from_slice(b"a.example");
        der.extend_from_slice(&[0x81, 0x0f]);
        der.extend_from_slice(b"bob@example.org");
        der.extend_from_slice(&[0xa4, 0x02, 0x30, 0x00]);
        der[1] = (der.len() - 2) as u8;
        assert_eq!(rfc822_names(&der).unwrap(), vec!["bob@example.org".to_string()]);
        // A length past the end, and trailing data, are errors.
        assert!(rfc822_names(&[0x30, 0x03, 0x81, 0x05, b'a']).is_err());
        assert!(rfc822_names(&[0x30, 0x00, 0x00]).is_err());
        assert!(rfc822_names(&[0x30, 0x03, 0x81, 0x01, 0xff]).is_err());
    }
}
