//! Writing MIME: header fields folded at 76 columns, base64 and quoted-printable bodies, multiparts with
//! boundaries that cannot occur in their parts. Everything written here uses CRLF line ends.

use crate::core::rand::Rng;

/// Longest line written (RFC 5322 section 2.1.1 recommends 78).
pub const LINE: usize = 76;

/// A boundary: 24 random bytes in hex behind a fixed prefix, checked not to occur in any part.
pub fn boundary(rng: &mut dyn Rng, parts: &[&[u8]]) -> Result<String, crate::core::CoreError> {
    loop {
        let bytes = rng.bytes(24)?;
        let b: String = bytes.iter().map(|x| format!("{x:02x}")).collect();
        let b = format!("=_sealpost_{b}");
        if !parts.iter().any(|p| p.windows(b.len()).any(|w| w == b.as_bytes())) {
            return Ok(b);
        }
    }
}

/// Writes `--boundary` separated parts and the closing delimiter: each part is an entity (header, blank
/// line, body) in CRLF form.
pub fn multipart_body(boundary: &str, parts: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::with_capacity(parts.iter().map(|p| p.len() + boundary.len() + 8).sum::<usize>() + 64);
    for p in parts {
        out.extend_from_slice(b"--");
        out.extend_from_slice(boundary.as_bytes());
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(p);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"--");
    out.extend_from_slice(boundary.as_bytes());
    out.extend_from_slice(b"--\r\n");
    out
}

/// A header field `Name: value`, folded at white space to lines of at most [`LINE`] columns where it can
/// be, ending in CRLF.
pub fn field(name: &str, value: &str) -> Vec<u8> {
    let mut out = String::with_capacity(name.len() + value.len() + 8);
    out.push_str(name);
    out.push(':');
    let mut col = out.len();
    for (i, word) in value.split(' ').filter(|w| !w.is_empty()).enumerate() {
        if i > 0 && col + 1 + word.len() > LINE {
            out.push_str("\r\n");
            col = 0;
        }
        out.push(' ');
        out.push_str(word);
        col += 1 + word.len();
    }
    out.push_str("\r\n");
    out.into_bytes()
}

/// Base64 in lines of 76 characters, CRLF after each.
pub fn base64(data: &[u8]) -> Vec<u8> {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = Vec::with_capacity(data.len() * 4 / 3 + data.len() / 38 + 8);
    let mut col = 0;
    for chunk in data.chunks(3) {
        let b = [chunk[0], chunk.get(1).copied().unwrap_or(0), chunk.get(2).copied().unwrap_or(0)];
        let v = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        out.push(T[(v >> 18) as usize & 63]);
        out.push(T[(v >> 12) as usize & 63]);
        out.push(if chunk.len() > 1 { T[(v >> 6) as usize & 63] } else { b'=' });
        out.push(if chunk.len() > 2 { T[v as usize & 63] } else { b'=' });
        col += 4;
        if col == LINE {
            out.extend_from_slice(b"\r\n");
            col = 0;
        }
    }
    if col > 0 {
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// Quoted-printable (RFC 2045 section 6.7) of text whose lines end in LF or CRLF: line ends become CRLF,
/// everything outside printable ASCII, `=`, white space before a line end, a leading `From ` and a leading
/// `-` (so no line can look like a boundary or be changed by mbox or dash-escaping) are encoded, and lines
/// are broken with soft line breaks before 76 columns.
pub fn quoted_printable(text: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len() + text.len() / 8);
    let lines: Vec<&[u8]> = text.split(|b| *b == b'\n').collect();
    let last = lines.len() - 1;
    for (i, line) in lines.iter().enumerate() {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if i == last && line.is_empty() {
            break;
        }
        let mut col = 0;
        for (j, &c) in line.iter().enumerate() {
            let at_end = j + 1 == line.len();
            let encode = !(0x21..=0x7e).contains(&c) && c != b' ' && c != b'\t'
                || c == b'='
                || ((c == b' ' || c == b'\t') && at_end)
                || (j == 0 && (c == b'-' || (c == b'F' && line.starts_with(b"From "))))
                || (c == b'.' && j == 0 && line.len() == 1);
            let width = if encode { 3 } else { 1 };
            if col + width > LINE - 1 {
                out.extend_from_slice(b"=\r\n");
                col = 0;
            }
            if encode {
                out.extend_from_slice(format!("={c:02X}").as_bytes());
            } else {
                out.push(c);
            }
            col += width;
        }
        if i < last {
            out.extend_from_slice(b"\r\n");
        } else {
            // The text ends without a line break: a soft break keeps it so.
            out.extend_from_slice(b"=\r\n");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // A panic in a test is a failed test.

    use super::*;

    #[test]
    fn quoted_printable_is_7bit_and_keeps_lines_short() {
        let text = "From here\n-- sig\ntrailing space \ncaf\u{e9} = 1\n".to_string() + &"x".repeat(200) + "\n";
        let qp = quoted_printable(text.as_bytes());
        assert!(qp.is_ascii());
        assert!(qp.split(|b| *b == b'\n').all(|l| l.len() <= LINE + 1), "{}", String::from_utf8_lossy(&qp));
        let s = String::from_utf8(qp).unwrap();
        assert!(s.starts_with("=46rom here\r\n=2D- sig\r\ntrailing space=20\r\ncaf=C3=A9 =3D 1\r\n"), "{s}");
        assert!(!s.ends_with("=\r\n"));
        assert!(quoted_printable(b"no newline").ends_with(b"=\r\n"));
    }

    #[test]
    fn base64_lines_and_fields_fold() {
        let b = base64(&[0u8; 100]);
        assert!(b.split(|c| *c == b'\n').all(|l| l.len() <= LINE + 1));
        let f = field("Subject", &"word ".repeat(40));
        assert!(f.split(|c| *c == b'\n').all(|l| l.len() <= LINE + 1));
        assert!(f.ends_with(b"\r\n"));
    }
}
