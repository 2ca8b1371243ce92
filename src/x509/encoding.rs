//! Certificate files as users hand them over: PEM text holding one or more `CERTIFICATE` blocks (with any
//! other blocks, such as the private key OpenSSL's test files keep in the same file, and any text
//! around them, skipped), or a single DER certificate.
//!
//! PEM here is RFC 7468's textual encoding, read leniently (any line width, CRLF or LF, RFC 1421 style
//! headers inside a block ignored): certificates are public, and the DER inside is checked strictly
//! afterwards. Nothing is indexed blindly; every size is checked against the limits below first.

use super::X509Error;

/// Largest certificate file read.
pub const MAX_INPUT: usize = 16 << 20;
/// Most certificates taken from one file.
pub const MAX_CERTIFICATES: usize = 1000;

/// One PEM block of a text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PemBlock<'a> {
    /// The label between `-----BEGIN ` and `-----`.
    pub label: &'a str,
    /// The whole block, from its BEGIN line to the end of its END line: what a strict PEM parser
    /// (`RsaPrivateKey::from_pem`) takes.
    pub text: &'a str,
    /// The lines between BEGIN and END (base64, perhaps preceded by `Name: value` headers).
    pub body: &'a str,
}

/// PEM labels that hold a certificate.
const CERTIFICATE_LABELS: [&str; 3] = ["CERTIFICATE", "X509 CERTIFICATE", "TRUSTED CERTIFICATE"];

/// The PEM blocks of `text`, in order. A BEGIN line without its END line is an error; text outside the
/// blocks is ignored.
pub fn pem_blocks(text: &str) -> Result<Vec<PemBlock<'_>>, X509Error> {
    let mut blocks = Vec::new();
    let mut pos = 0;
    // (label, offset of the BEGIN line, offset of the body)
    let mut open: Option<(&str, usize, usize)> = None;
    for line in text.split_inclusive('\n') {
        let start = pos;
        pos += line.len();
        let trimmed = line.trim();
        match open {
            None => {
                if let Some(label) = trimmed.strip_prefix("-----BEGIN ").and_then(|l| l.strip_suffix("-----")) {
                    open = Some((label, start, pos));
                }
            }
            Some((label, begin, body)) => {
                if let Some(end) = trimmed.strip_prefix("-----END ").and_then(|l| l.strip_suffix("-----")) {
                    if end != label {
                        return Err(X509Error::malformed("PEM", format!("BEGIN {label} closed by END {end}")));
                    }
                    blocks.push(PemBlock { label, text: &text[begin..pos], body: &text[body..start] });
                    open = None;
                } else if trimmed.starts_with("-----BEGIN ") {
                    return Err(X509Error::malformed("PEM", format!("BEGIN {label} has no END line")));
                }
            }
        }
    }
    match open {
        Some((label, _, _)) => Err(X509Error::malformed("PEM", format!("BEGIN {label} has no END line"))),
        None => Ok(blocks),
    }
}

/// The base64 content of a PEM block body: `Name: value` header lines are skipped, whitespace ignored,
/// anything else that is not base64 is an error.
pub fn decode_body(body: &str) -> Result<Vec<u8>, X509Error> {
    let mut out = Vec::with_capacity(body.len() / 4 * 3);
    let mut acc: u32 = 0;
    let mut bits = 0u32;
    let mut padding = false;
    for line in body.lines() {
        if line.contains(':') {
            continue;
        }
        for c in line.bytes() {
            let v = match c {
                b'A'..=b'Z' => c - b'A',
                b'a'..=b'z' => c - b'a' + 26,
                b'0'..=b'9' => c - b'0' + 52,
                b'+' => 62,
                b'/' => 63,
                b'=' => {
                    padding = true;
                    continue;
                }
                b' ' | b'\t' | b'\r' => continue,
                other => {
                    return Err(X509Error::malformed("PEM", format!("byte 0x{other:02x} in base64 text")));
                }
            };
            if padding {
                return Err(X509Error::malformed("PEM", "base64 text continues after '='"));
            }
            acc = (acc << 6) | u32::from(v);
            bits += 6;
            if bits >= 8 {
                bits -= 8;
                out.push((acc >> bits) as u8);
                acc &= (1 << bits) - 1;
            }
        }
    }
    Ok(out)
}

/// The DER certificates in a file: every certificate block of PEM text, or the file itself when it is DER.
pub fn certificate_ders(bytes: &[u8]) -> Result<Vec<Vec<u8>>, X509Error> {
    if bytes.len() > MAX_INPUT {
        return Err(X509Error::malformed("certificate file", format!("{} bytes is too large", bytes.len())));
    }
    let start = bytes.iter().position(|b| !b.is_ascii_whitespace()).unwrap_or(bytes.len());
    let rest = bytes.get(start..).unwrap_or_default();
    if rest.first() == Some(&0x30) {
        // A DER SEQUENCE: one certificate. Whitespace after it (a newline added by an editor) is tolerated;
        // a length that does not fit is left to the DER decoder to report.
        return match first_tlv(rest) {
            Some(der) if rest.get(der.len()..).unwrap_or_default().iter().all(u8::is_ascii_whitespace) => {
                Ok(vec![der.to_vec()])
            }
            Some(_) => Err(X509Error::malformed("certificate", "data after the DER certificate")),
            None => Ok(vec![rest.to_vec()]),
        };
    }
    let text = String::from_utf8_lossy(bytes);
    let blocks = pem_blocks(&text)?;
    let mut ders = Vec::new();
    for block in blocks.iter().filter(|b| CERTIFICATE_LABELS.contains(&b.label)) {
        if ders.len() == MAX_CERTIFICATES {
            return Err(X509Error::malformed("certificate file", format!("more than {MAX_CERTIFICATES} certificates")));
        }
        let der = decode_body(block.body)?;
        // OpenSSL's TRUSTED CERTIFICATE is the certificate followed by its trust settings.
        let der = match block.label {
            "TRUSTED CERTIFICATE" => first_tlv(&der).map(<[u8]>::to_vec).unwrap_or(der),
            _ => der,
        };
        ders.push(der);
    }
    if ders.is_empty() {
        let what = if blocks.is_empty() {
            "neither DER nor PEM".to_string()
        } else {
            let labels: Vec<&str> = blocks.iter().map(|b| b.label).collect();
            format!("no CERTIFICATE block (found {})", labels.join(", "))
        };
        return Err(X509Error::malformed("certificate file", what));
    }
    Ok(ders)
}

/// The first DER TLV of `der` (its tag, length and contents), if the length fits.
fn first_tlv(der: &[u8]) -> Option<&[u8]> {
    let len_byte = *der.get(1)?;
    let (header, len) = if len_byte < 0x80 {
        (2usize, usize::from(len_byte))
    } else {
        let n = usize::from(len_byte & 0x7f);
        if n == 0 || n > 4 {
            return None;
        }
        let len = der.get(2..2 + n)?.iter().fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
        (2 + n, len)
    };
    der.get(..header.checked_add(len)?)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn blocks_are_found_among_text_and_other_blocks() {
        let text = "Bag Attributes\n-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\r\n\
                    subject=CN=x\n-----BEGIN CERTIFICATE-----\r\nMAMCAQE=\r\n-----END CERTIFICATE-----\n";
        let blocks = pem_blocks(text).unwrap();
        assert_eq!(blocks.len(), 2);
        assert_eq!(blocks[0].label, "PRIVATE KEY");
        assert!(blocks[0].text.starts_with("-----BEGIN PRIVATE KEY-----"));
        assert!(blocks[0].text.ends_with("-----END PRIVATE KEY-----\r\n"));
        assert_eq!(blocks[1].label, "CERTIFICATE");
        assert_eq!(decode_body(blocks[1].body).unwrap(), [0x30, 0x03, 0x02, 0x01, 0x01]);
        assert_eq!(certificate_ders(text.as_bytes()).unwrap(), vec![vec![0x30, 0x03, 0x02, 0x01, 0x01]]);
    }

    #[test]
    fn bad_pem_is_refused() {
        assert!(pem_blocks("-----BEGIN CERTIFICATE-----\nAAAA\n").is_err());
        assert!(pem_blocks("-----BEGIN CERTIFICATE-----\nAAAA\n-----END X-----\n").is_err());
        assert!(decode_body("AA*A").is_err());
        assert!(decode_body("AA==AA").is_err());
        let err = certificate_ders(b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n").unwrap_err();
        assert!(err.to_string().contains("no CERTIFICATE block (found PRIVATE KEY)"), "{err}");
        assert!(certificate_ders(b"hello").is_err());
    }

    #[test]
    fn der_input_is_one_certificate() {
        assert_eq!(certificate_ders(&[0x30, 0x00, b'\n']).unwrap(), vec![vec![0x30, 0x00]]);
        assert!(certificate_ders(&[0x30, 0x00, 0x30, 0x00]).is_err());
        // A length beyond the data is left to the DER decoder, which refuses it.
        assert_eq!(certificate_ders(&[0x30, 0x84, 0xff, 0xff, 0xff, 0xff]).unwrap().len(), 1);
    }
}
