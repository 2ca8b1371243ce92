//! A part's body with its Content-Transfer-Encoding undone (base64, quoted-printable; 7bit, 8bit and binary
//! as they are).

use super::MimeError;
use super::entity::Node;

/// The decoded body of a leaf part.
pub fn decoded(raw: &[u8], node: &Node) -> Result<Vec<u8>, MimeError> {
    let body = &raw[node.body.clone()];
    let cte = node.field_value(raw, "content-transfer-encoding").unwrap_or_default().to_ascii_lowercase();
    match cte.as_str() {
        "" | "7bit" | "8bit" | "binary" => Ok(body.to_vec()),
        "base64" => base64(body),
        "quoted-printable" => Ok(quoted_printable(body)),
        other => Err(MimeError::Malformed(format!("Content-Transfer-Encoding {other:?}"))),
    }
}

/// Decodes base64 text (line breaks and whitespace skipped).
pub fn base64(body: &[u8]) -> Result<Vec<u8>, MimeError> {
    let mut out = Vec::with_capacity(body.len() / 4 * 3);
    let (mut acc, mut n) = (0u32, 0);
    let mut pad = body.len();
    for (i, &c) in body.iter().enumerate() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            b'=' => {
                pad = i;
                break;
            }
            b' ' | b'\t' | b'\r' | b'\n' => continue,
            other => return Err(MimeError::Malformed(format!("byte 0x{other:02x} in a base64 body"))),
        };
        acc = (acc << 6) | u32::from(v);
        n += 1;
        if n == 4 {
            out.extend_from_slice(&[(acc >> 16) as u8, (acc >> 8) as u8, acc as u8]);
            (acc, n) = (0, 0);
        }
    }
    // After the padding only padding and line breaks: data there would be read by some decoders and not by
    // others, so what one client shows would not be what was verified (SECURITY-CASES F1).
    if body[pad..].iter().any(|b| !matches!(b, b'=' | b' ' | b'\t' | b'\r' | b'\n')) {
        return Err(MimeError::Malformed("data after the padding of a base64 body".into()));
    }
    match n {
        0 => {}
        2 => out.push((acc >> 4) as u8),
        3 => out.extend_from_slice(&[(acc >> 10) as u8, (acc >> 2) as u8]),
        _ => return Err(MimeError::Malformed("truncated base64 body".into())),
    }
    Ok(out)
}

fn quoted_printable(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len());
    let mut i = 0;
    while i < body.len() {
        let c = body[i];
        if c == b'=' {
            let rest = &body[i + 1..];
            if rest.starts_with(b"\r\n") {
                i += 3;
                continue;
            }
            if rest.starts_with(b"\n") {
                i += 2;
                continue;
            }
            let hex = |b: u8| (b as char).to_digit(16);
            if let (Some(h), Some(l)) = (rest.first().and_then(|b| hex(*b)), rest.get(1).and_then(|b| hex(*b))) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(c);
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // A panic in a test is a failed test.

    use super::*;
    use crate::mime::build;

    #[test]
    fn encodings_round_trip() {
        let data: Vec<u8> = (0..=255u8).cycle().take(1000).collect();
        assert_eq!(base64(&build::base64(&data)).unwrap(), data);
        let text = b"caf\xc3\xa9 = 1 \nFrom x\n-- y\n".to_vec();
        let qp = build::quoted_printable(&text);
        assert_eq!(quoted_printable(&qp), b"caf\xc3\xa9 = 1 \r\nFrom x\r\n-- y\r\n");
        assert!(base64(b"QUJD*").is_err());
        assert_eq!(base64(b"QUI=\r\n").unwrap(), b"AB");
        assert!(base64(b"QUI=QUJD\r\n").is_err(), "data after the padding");
    }
}
