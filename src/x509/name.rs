//! Distinguished names (RFC 5280 §4.1.2.4): shown as RFC 4514 strings, compared as RFC 5280 §7.1 asks
//! (string values case-insensitively, with runs of spaces collapsed), and built for new certificates.
//!
//! Names come from certificates an attacker may have made, so their display escapes every control
//! character and Unicode direction override: a subject can never forge a line of output or reorder it.

use der::asn1::Any;
use der::{Decode, Encode, Tag, Tagged};
use x509_cert::attr::AttributeTypeAndValue;
use x509_cert::name::{Name, RdnSequence, RelativeDistinguishedName};

use super::X509Error;

/// `commonName` (2.5.4.3).
pub const COMMON_NAME: der::asn1::ObjectIdentifier = der::asn1::ObjectIdentifier::new_unwrap("2.5.4.3");
/// PKCS #9 `emailAddress` (1.2.840.113549.1.9.1), the legacy place for an address in a subject.
pub const EMAIL_ADDRESS: der::asn1::ObjectIdentifier = der::asn1::ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.1");

/// The short names RFC 4514 §3 lists, and a few more that S/MIME certificates carry.
const SHORT_NAMES: [(&str, &str); 17] = [
    ("2.5.4.3", "CN"),
    ("2.5.4.4", "SN"),
    ("2.5.4.5", "serialNumber"),
    ("2.5.4.6", "C"),
    ("2.5.4.7", "L"),
    ("2.5.4.8", "ST"),
    ("2.5.4.9", "STREET"),
    ("2.5.4.10", "O"),
    ("2.5.4.11", "OU"),
    ("2.5.4.12", "title"),
    ("2.5.4.42", "GN"),
    ("2.5.4.43", "initials"),
    ("2.5.4.46", "dnQualifier"),
    ("2.5.4.65", "pseudonym"),
    ("0.9.2342.19200300.100.1.1", "UID"),
    ("0.9.2342.19200300.100.1.25", "DC"),
    ("1.2.840.113549.1.9.1", "emailAddress"),
];

/// The RFC 4514 string of a name: most specific RDN first, `CN=Bob,O=Example,C=UK`.
pub fn display(name: &Name) -> String {
    let mut rdns: Vec<String> =
        name.iter_rdn().map(|rdn| rdn.iter().map(display_atv).collect::<Vec<_>>().join("+")).collect();
    rdns.reverse();
    rdns.join(",")
}

fn display_atv(atv: &AttributeTypeAndValue) -> String {
    let oid = atv.oid.to_string();
    let key = SHORT_NAMES.iter().find(|(o, _)| *o == oid).map_or(oid.as_str(), |(_, n)| n);
    match string_value(&atv.value) {
        Some(value) => format!("{key}={}", escape(&value)),
        None => {
            let der = atv.value.to_der().unwrap_or_default();
            let hex: String = der.iter().map(|b| format!("{b:02x}")).collect();
            format!("{key}=#{hex}")
        }
    }
}

/// The text of a directory string value, for the string types certificates use.
pub fn string_value(value: &Any) -> Option<String> {
    let bytes = value.value();
    match value.tag() {
        Tag::Utf8String
        | Tag::PrintableString
        | Tag::Ia5String
        | Tag::VisibleString
        | Tag::NumericString
        | Tag::GeneralString => Some(String::from_utf8_lossy(bytes).into_owned()),
        // T.61 in theory; Latin-1 in practice.
        Tag::TeletexString => Some(bytes.iter().map(|&b| char::from(b)).collect()),
        Tag::BmpString => {
            let units: Vec<u16> = bytes
                .chunks(2)
                .map(|c| match c {
                    [high, low] => u16::from_be_bytes([*high, *low]),
                    _ => u16::from(b'?'),
                })
                .collect();
            Some(String::from_utf16_lossy(&units))
        }
        _ => None,
    }
}

/// RFC 4514 §2.4 escaping, plus every control and direction-changing character as `\XX` bytes.
fn escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let last = value.chars().count().saturating_sub(1);
    for (i, c) in value.chars().enumerate() {
        match c {
            '#' if i == 0 => out.push_str("\\#"),
            ' ' if i == 0 || i == last => out.push_str("\\ "),
            '"' | '+' | ',' | ';' | '<' | '>' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            c if c.is_control() || is_bidi_control(c) => {
                let mut buf = [0u8; 4];
                for b in c.encode_utf8(&mut buf).bytes() {
                    out.push_str(&format!("\\{b:02X}"));
                }
            }
            c => out.push(c),
        }
    }
    out
}

fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{200E}' | '\u{200F}' | '\u{061C}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// RFC 5280 §7.1 name matching: the same RDNs in the same order, each with the same attributes; string
/// values compared after trimming, collapsing inner runs of spaces and lowercasing; other values byte for
/// byte.
pub fn names_match(a: &Name, b: &Name) -> bool {
    if a == b {
        return true;
    }
    if a.len() != b.len() {
        return false;
    }
    a.iter_rdn().zip(b.iter_rdn()).all(|(x, y)| {
        let mut x: Vec<(String, String)> = x.iter().map(normalized).collect();
        let mut y: Vec<(String, String)> = y.iter().map(normalized).collect();
        x.sort();
        y.sort();
        x == y
    })
}

fn normalized(atv: &AttributeTypeAndValue) -> (String, String) {
    let value = match string_value(&atv.value) {
        Some(s) => s.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase(),
        None => format!("#{:?}", atv.value.to_der().unwrap_or_default()),
    };
    (atv.oid.to_string(), value)
}

/// The value of the first attribute of type `oid`, as text.
pub fn attribute(name: &Name, oid: der::asn1::ObjectIdentifier) -> Option<String> {
    name.iter().find(|atv| atv.oid == oid).and_then(|atv| string_value(&atv.value))
}

/// Longest common name RFC 5280's `ub-common-name` allows.
pub const MAX_COMMON_NAME: usize = 64;

/// A name of one RDN, `CN=<common_name>` (UTF8String, as RFC 5280 §4.1.2.6 asks of new certificates).
pub fn common_name(common_name: &str) -> Result<Name, X509Error> {
    let chars = common_name.chars().count();
    if chars == 0 || chars > MAX_COMMON_NAME {
        return Err(X509Error::malformed(
            "subject name",
            format!("a common name must have 1 to {MAX_COMMON_NAME} characters, not {chars}"),
        ));
    }
    if common_name.chars().any(|c| c.is_control() || is_bidi_control(c)) {
        return Err(X509Error::malformed("subject name", "control characters in the common name"));
    }
    let value = Any::new(Tag::Utf8String, common_name.as_bytes())?;
    let rdn = RelativeDistinguishedName::try_from(vec![AttributeTypeAndValue { oid: COMMON_NAME, value }])?;
    let mut seq = RdnSequence::default();
    seq.push(rdn);
    Ok(Name::from_der(&seq.to_der()?)?)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::str::FromStr;

    use super::*;

    #[test]
    fn display_is_rfc4514_and_escapes_controls() {
        let n = Name::from_str("CN=Bob,O=Example\\, Inc.,C=UK").unwrap();
        assert_eq!(display(&n), "CN=Bob,O=Example\\, Inc.,C=UK");
        let evil = common_name("x").unwrap();
        assert_eq!(display(&evil), "CN=x");
        let value = Any::new(Tag::Utf8String, "a\r\nX-Verified: pass\u{202E}".as_bytes()).unwrap();
        let rdn = RelativeDistinguishedName::try_from(vec![AttributeTypeAndValue { oid: COMMON_NAME, value }]).unwrap();
        let mut seq = RdnSequence::default();
        seq.push(rdn);
        let n = Name::from_der(&seq.to_der().unwrap()).unwrap();
        let shown = display(&n);
        assert_eq!(shown, "CN=a\\0D\\0AX-Verified: pass\\E2\\80\\AE");
        assert!(!shown.contains('\n'));
    }

    #[test]
    fn matching_ignores_case_and_spaces() {
        let a = Name::from_str("CN=Test  CA,O=Example").unwrap();
        let b = Name::from_str("CN=test ca,O=EXAMPLE").unwrap();
        let c = Name::from_str("CN=test ca2,O=EXAMPLE").unwrap();
        let d = Name::from_str("CN=test ca").unwrap();
        assert!(names_match(&a, &b));
        assert!(!names_match(&a, &c));
        assert!(!names_match(&a, &d));
    }

    #[test]
    fn common_names_are_checked() {
        assert_eq!(attribute(&common_name("Alice Example").unwrap(), COMMON_NAME).unwrap(), "Alice Example");
        assert!(common_name("").is_err());
        assert!(common_name(&"x".repeat(65)).is_err());
        assert!(common_name("a\nb").is_err());
    }
}
