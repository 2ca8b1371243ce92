//! What users hand us as a CMS message, made into DER: PEM (RFC 7468 `CMS`, and `PKCS7` as OpenSSL writes
//! it), BER (indefinite lengths, constructed strings: see [`super::ber`]) or DER, which is used as it is.
//! Also the way out: PEM armour ([`to_pem`], [`PemWriter`]), a ContentInfo around inner content
//! ([`wrap_content_info`]), and the outer content type without decoding the rest ([`content_type`]).
//!
//! The PEM decoder is our own, and lax where real files are: whitespace around the block, CRLF or LF, any
//! line width, missing `=` padding. It refuses headers inside the block and anything but whitespace after it.
//! A MIME message (an `.eml`, or a part with its headers) is recognised and refused with a hint, since
//! unwrapping MIME is the `mail` layer's job, not this one's.

use std::borrow::Cow;
use std::io::{self, Write};

use const_oid::ObjectIdentifier;

use super::SmimeError;
use super::ber::{self, Limits};

const WHAT: &str = "CMS message";

/// The PEM label we write (RFC 7468 section 9). `openssl cms -inform PEM` reads it, and `PKCS7` as well.
pub const PEM_LABEL: &str = "CMS";

/// PEM labels accepted for a CMS ContentInfo.
/// gpgsm writes `ENCRYPTED MESSAGE` and `SIGNED MESSAGE` (and `PKCS7` for certificate bundles).
const LABELS: [&str; 5] = ["CMS", "PKCS7", "PKCS #7 SIGNED DATA", "ENCRYPTED MESSAGE", "SIGNED MESSAGE"];

/// Turns a CMS message as a user may give it (DER, BER or PEM) into DER. DER input is returned as it is.
pub fn cms_der(bytes: &[u8]) -> Result<Cow<'_, [u8]>, SmimeError> {
    let start = bytes.iter().position(|b| !b.is_ascii_whitespace()).unwrap_or(bytes.len());
    let Some(&first) = bytes.first() else {
        return Err(SmimeError::malformed(WHAT, "empty input"));
    };
    if first != 0x30 {
        let text = bytes.get(start..).unwrap_or(&[]);
        if text.starts_with(b"-----BEGIN ") {
            let decoded = decode_pem(text)?;
            check_sequence(&decoded)?;
            return Ok(match ber::to_der_cow(&decoded, &Limits::default())? {
                Cow::Borrowed(_) => Cow::Owned(decoded),
                Cow::Owned(der) => Cow::Owned(der),
            });
        }
        if looks_like_mime(text) {
            return Err(SmimeError::malformed(
                WHAT,
                "this is a MIME message; use `sealpost mail ...` or extract the application/pkcs7-mime part",
            ));
        }
    }
    check_sequence(bytes)?;
    ber::to_der_cow(bytes, &Limits::default())
}

fn check_sequence(der: &[u8]) -> Result<(), SmimeError> {
    match der.first() {
        Some(0x30) => Ok(()),
        Some(b) => Err(SmimeError::malformed(
            WHAT,
            format!(
                "expected DER or BER (starting with a SEQUENCE, 0x30) or PEM (-----BEGIN CMS-----), found 0x{b:02x} \
                 at offset 0"
            ),
        )),
        None => Err(SmimeError::malformed(WHAT, "empty input")),
    }
}

/// A first line such as `Content-Type: ...` or `MIME-Version: 1.0` (an RFC 5322 field name and a colon), or
/// an mbox `From ` line.
fn looks_like_mime(text: &[u8]) -> bool {
    let line = text.split(|&b| b == b'\n').next().unwrap_or(&[]);
    if line.starts_with(b"From ") {
        return true;
    }
    let Some(colon) = line.iter().position(|&b| b == b':') else { return false };
    let name = line.get(..colon).unwrap_or(&[]);
    !name.is_empty()
        && name.first().is_some_and(u8::is_ascii_alphabetic)
        && name.iter().all(|&b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Decodes one PEM block with a CMS label; `text` starts with `-----BEGIN `.
fn decode_pem(text: &[u8]) -> Result<Vec<u8>, SmimeError> {
    let pem = |detail: String| SmimeError::malformed("PEM", detail);
    let rest = text.get(b"-----BEGIN ".len()..).unwrap_or(&[]);
    let line_end = rest.iter().position(|&b| b == b'\n').unwrap_or(rest.len());
    let line = trim_ascii(rest.get(..line_end).unwrap_or(&[]));
    let label = line.strip_suffix(b"-----").ok_or_else(|| pem("BEGIN line without its closing dashes".into()))?;
    let label = std::str::from_utf8(label).map_err(|_| pem("label is not text".into()))?;
    if !LABELS.contains(&label) {
        return Err(pem(format!(
            "the label {label:?} is not a CMS message (expected CMS, PKCS7, or gpgsm's ENCRYPTED MESSAGE / SIGNED MESSAGE)"
        )));
    }
    let body_and_end = rest.get(line_end..).unwrap_or(&[]);
    let end_marker = format!("-----END {label}-----");
    let end = find(body_and_end, end_marker.as_bytes()).ok_or_else(|| pem(format!("{end_marker} missing")))?;
    let body = body_and_end.get(..end).unwrap_or(&[]);
    let after = body_and_end.get(end + end_marker.len()..).unwrap_or(&[]);
    if !after.iter().all(u8::is_ascii_whitespace) {
        return Err(pem(format!("data after {end_marker}")));
    }
    if body.contains(&b':') {
        return Err(pem("headers inside a CMS PEM block are not expected".into()));
    }
    decode_base64(body).map_err(pem)
}

fn trim_ascii(s: &[u8]) -> &[u8] {
    let start = s.iter().position(|b| !b.is_ascii_whitespace()).unwrap_or(s.len());
    let end = s.iter().rposition(|b| !b.is_ascii_whitespace()).map_or(start, |e| e + 1);
    s.get(start..end).unwrap_or(&[])
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

fn b64_value(c: u8) -> Option<u32> {
    match c {
        b'A'..=b'Z' => Some(u32::from(c - b'A')),
        b'a'..=b'z' => Some(u32::from(c - b'a') + 26),
        b'0'..=b'9' => Some(u32::from(c - b'0') + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    }
}

/// Base64 (RFC 4648, standard alphabet), whitespace ignored, padding optional but only at the end.
fn decode_base64(text: &[u8]) -> Result<Vec<u8>, String> {
    let mut out = Vec::with_capacity(text.len() / 4 * 3 + 3);
    let (mut acc, mut bits, mut digits, mut padding) = (0u32, 0u32, 0usize, 0usize);
    for (i, &c) in text.iter().enumerate() {
        if c.is_ascii_whitespace() {
            continue;
        }
        if c == b'=' {
            padding += 1;
            continue;
        }
        let v = b64_value(c).ok_or_else(|| format!("invalid base64 character 0x{c:02x} at offset {i} of the body"))?;
        if padding > 0 {
            return Err(format!("base64 data after padding at offset {i} of the body"));
        }
        acc = (acc << 6) | v;
        bits += 6;
        digits += 1;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    if digits % 4 == 1 || padding > 2 || (padding > 0 && (digits + padding) % 4 != 0) {
        return Err("base64 ends in the middle of a group".into());
    }
    Ok(out)
}

/// PEM armour around `der`: lines of 64 characters, LF line ends (`label`: usually [`PEM_LABEL`]).
pub fn to_pem(der: &[u8], label: &str) -> String {
    let mut w = PemWriter::new(Vec::with_capacity(der.len() / 3 * 4 + der.len() / 48 + 64), label);
    // Writing into a Vec cannot fail.
    let _ = w.write_all(der);
    let out = w.finalize().unwrap_or_default();
    String::from_utf8(out).unwrap_or_default()
}

/// A streaming PEM encoder: bytes in, a `-----BEGIN label-----` block out. Call
/// [`finalize`](PemWriter::finalize) to write the last line and the END line.
pub struct PemWriter<W: Write> {
    inner: W,
    label: String,
    /// Bytes waiting to make up a full line (48 bytes = 64 characters).
    pending: Vec<u8>,
    started: bool,
}

impl<W: Write> PemWriter<W> {
    /// Armours what is written into `inner`.
    pub fn new(inner: W, label: &str) -> PemWriter<W> {
        PemWriter { inner, label: label.to_string(), pending: Vec::with_capacity(48), started: false }
    }

    fn begin(&mut self) -> io::Result<()> {
        if !self.started {
            self.started = true;
            writeln!(self.inner, "-----BEGIN {}-----", self.label)?;
        }
        Ok(())
    }

    fn line(&mut self, bytes: &[u8]) -> io::Result<()> {
        let mut line = Vec::with_capacity(66);
        for group in bytes.chunks(3) {
            let b = [group.first().copied(), group.get(1).copied(), group.get(2).copied()];
            let n = (u32::from(b[0].unwrap_or(0)) << 16)
                | (u32::from(b[1].unwrap_or(0)) << 8)
                | u32::from(b[2].unwrap_or(0));
            for (i, shift) in [18u32, 12, 6, 0].into_iter().enumerate() {
                if i <= group.len() {
                    line.push(B64[((n >> shift) & 63) as usize]);
                } else {
                    line.push(b'=');
                }
            }
        }
        line.push(b'\n');
        self.inner.write_all(&line)
    }

    /// Writes the last line and the END line, and returns the inner writer.
    pub fn finalize(mut self) -> io::Result<W> {
        self.begin()?;
        let pending = std::mem::take(&mut self.pending);
        if !pending.is_empty() {
            self.line(&pending)?;
        }
        writeln!(self.inner, "-----END {}-----", self.label)?;
        self.inner.flush()?;
        Ok(self.inner)
    }
}

impl<W: Write> Write for PemWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.begin()?;
        let mut rest = buf;
        while !rest.is_empty() {
            let take = (48 - self.pending.len()).min(rest.len());
            let (now, later) = rest.split_at(take);
            self.pending.extend_from_slice(now);
            rest = later;
            if self.pending.len() == 48 {
                let full = std::mem::take(&mut self.pending);
                self.line(&full)?;
                self.pending = full;
                self.pending.clear();
            }
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// The contentType of a ContentInfo (RFC 5652 section 3), read without decoding the rest. The outer
/// SEQUENCE may have an indefinite length (BER).
pub fn content_type(der: &[u8]) -> Result<ObjectIdentifier, SmimeError> {
    let outer = ber::read_header(der, 0, der.len())?;
    if !(outer.constructed && outer.is_universal(16)) {
        return Err(SmimeError::malformed(WHAT, "a ContentInfo must be a SEQUENCE"));
    }
    let limit = outer.length.map_or(der.len(), |n| outer.content_start() + n);
    let oid = ber::read_header(der, outer.content_start(), limit)?;
    let (true, false, Some(len)) = (oid.is_universal(6), oid.constructed, oid.length) else {
        return Err(SmimeError::malformed(WHAT, "ContentInfo does not start with its contentType OID"));
    };
    let start = oid.content_start();
    let bytes = der.get(start..start + len).unwrap_or(&[]);
    ObjectIdentifier::from_bytes(bytes).map_err(|e| SmimeError::malformed(WHAT, format!("bad contentType: {e}")))
}

/// An OID with its name where the OID database knows it: `id-signedData (1.2.840.113549.1.7.2)`.
pub fn oid_name(oid: &ObjectIdentifier) -> String {
    match const_oid::db::DB.by_oid(oid) {
        Some(name) => format!("{name} ({oid})"),
        None => oid.to_string(),
    }
}

/// A DER ContentInfo holding `content` (one encoded element, such as a SignedData SEQUENCE) as content type
/// `content_type`: what an inner layer needs to be handed on as a message of its own. BER content is
/// normalised to DER.
pub fn wrap_content_info(content_type: ObjectIdentifier, content: &[u8]) -> Result<Vec<u8>, SmimeError> {
    let content = ber::to_der_cow(content, &Limits::default())?;
    let oid = content_type.as_bytes();
    let mut explicit = Vec::with_capacity(content.len() + 8);
    push_tlv(&mut explicit, 0xa0, &content);
    let mut body = Vec::with_capacity(explicit.len() + oid.len() + 4);
    push_tlv(&mut body, 0x06, oid);
    body.extend_from_slice(&explicit);
    let mut out = Vec::with_capacity(body.len() + 6);
    push_tlv(&mut out, 0x30, &body);
    Ok(out)
}

/// Appends one DER element with a one-octet tag.
pub(crate) fn push_tlv(out: &mut Vec<u8>, tag: u8, value: &[u8]) {
    out.push(tag);
    ber::write_len(out, value.len() as u64);
    out.extend_from_slice(value);
}

/// Reads into `buf`, retrying when interrupted; 0 only at the end of the input.
pub fn read_some(input: &mut dyn std::io::Read, buf: &mut [u8]) -> std::io::Result<usize> {
    loop {
        match input.read(buf) {
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            other => return other,
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)] // A panic in a test is a failed test.

    use super::*;

    const DER: &[u8] = &[0x30, 0x07, 0x06, 0x03, 0x2a, 0x03, 0x04, 0xa0, 0x00];

    #[test]
    fn der_is_borrowed() {
        assert!(matches!(cms_der(DER).unwrap(), Cow::Borrowed(_)));
        assert_eq!(content_type(DER).unwrap().to_string(), "1.2.3.4");
    }

    #[test]
    fn pem_round_trip_and_lax_forms() {
        let pem = to_pem(DER, PEM_LABEL);
        assert_eq!(pem, "-----BEGIN CMS-----\nMAcGAyoDBKAA\n-----END CMS-----\n");
        assert_eq!(&*cms_der(pem.as_bytes()).unwrap(), DER);
        let crlf = format!("\r\n  {}\r\n\r\n", pem.replace('\n', "\r\n").replace("CMS", "PKCS7"));
        assert_eq!(&*cms_der(crlf.as_bytes()).unwrap(), DER);
        let unpadded = "-----BEGIN CMS-----\nMAcGA\nyoDBKAA\n-----END CMS-----";
        assert_eq!(&*cms_der(unpadded.as_bytes()).unwrap(), DER);
        for bad in [
            "-----BEGIN CERTIFICATE-----\nMAcGAyoDBKAA\n-----END CERTIFICATE-----\n",
            "-----BEGIN CMS-----\nMAcGAyoDBKAA\n",
            "-----BEGIN CMS-----\nMAcG*yoDBKAA\n-----END CMS-----\n",
            "-----BEGIN CMS-----\nMA==cGAyoDBKAA\n-----END CMS-----\n",
            "-----BEGIN CMS-----\nProc-Type: 4,ENCRYPTED\n\nMAcGAyoDBKAA\n-----END CMS-----\n",
            "-----BEGIN CMS-----\nMAcGAyoDBKAA\n-----END CMS-----\ntrailing",
            "-----BEGIN CMS-----\nBAA=\n-----END CMS-----\n",
        ] {
            assert!(cms_der(bad.as_bytes()).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn long_pem_lines_wrap_at_64() {
        let data: Vec<u8> = (0..=255u8).cycle().take(1000).collect();
        let pem = to_pem(&data, "CMS");
        assert!(pem.lines().all(|l| l.len() <= 64));
        let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
        assert_eq!(decode_base64(body.as_bytes()).unwrap(), data);
        for n in 0..100 {
            let d = &data[..n];
            let pem = to_pem(d, "X");
            let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
            assert_eq!(decode_base64(body.as_bytes()).unwrap(), d, "{n}");
        }
    }

    #[test]
    fn mime_and_garbage_are_refused_with_a_reason() {
        let e = cms_der(b"MIME-Version: 1.0\r\nContent-Type: application/pkcs7-mime\r\n\r\nMIAG").unwrap_err();
        assert!(e.to_string().contains("this is a MIME message"), "{e}");
        let e = cms_der(b"content-type: application/pkcs7-mime\n").unwrap_err();
        assert!(e.to_string().contains("MIME message"), "{e}");
        let e = cms_der(b"From alice@example.org Mon Jan  1 00:00:00 2024\nFrom: alice\n").unwrap_err();
        assert!(e.to_string().contains("MIME message"), "{e}");
        let e = cms_der(b"\x04\x01a").unwrap_err();
        assert!(e.to_string().contains("0x04"), "{e}");
        assert!(cms_der(b"").is_err());
        assert!(content_type(b"\x30\x03\x02\x01\x00").is_err());
    }

    #[test]
    fn ber_becomes_der_and_content_type_reads_ber() {
        let ber = [0x30, 0x80, 0x06, 0x03, 0x2a, 0x03, 0x04, 0xa0, 0x80, 0x00, 0x00, 0x00, 0x00];
        assert_eq!(content_type(&ber).unwrap().to_string(), "1.2.3.4");
        assert_eq!(&*cms_der(&ber).unwrap(), DER);
    }

    #[test]
    fn wrapping() {
        let oid = ObjectIdentifier::new_unwrap("1.2.3.4");
        let inner = [0x30, 0x80, 0x02, 0x01, 0x00, 0x00, 0x00];
        let ci = wrap_content_info(oid, &inner).unwrap();
        assert_eq!(ci, [0x30, 0x0c, 0x06, 0x03, 0x2a, 0x03, 0x04, 0xa0, 0x05, 0x30, 0x03, 0x02, 0x01, 0x00]);
        assert_eq!(content_type(&ci).unwrap(), oid);
    }
}
