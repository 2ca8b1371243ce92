//! Literal Data packets (RFC 9580 section 5.9) read directly when one is the whole inner message: no
//! signatures, no compression, the shape of every message `pgp encrypt` and `gpg -z 0 -e` write.
//!
//! Why not sequoia here: its verifier hands each plaintext byte through a generic buffered reader, the packet
//! parser, a partial-body filter and the verifier's own buffer before the caller sees it; for a 64 MiB
//! message those copies were a third of the decrypting thread's time (`perf`, issue #3). This reader copies
//! the body once, from the decrypted stream to the sink. Everything else (signed, compressed, cleartext or
//! malformed starts) stays with sequoia.

use std::io::{self, Read, Write};

use super::PgpError;

/// Literal Data packet tag.
const TAG_LITERAL: u8 = 11;
/// Marker packet tag (ignored when read, RFC 9580 section 5.8).
const TAG_MARKER: u8 = 10;
/// Padding packet tag (ignored when read, RFC 9580 section 5.14).
const TAG_PADDING: u8 = 21;
/// Largest copy at a time.
const COPY_CHUNK: usize = 256 * 1024;

/// Whether `prefix` starts with a Literal Data packet header (new or old format).
pub fn starts_with_literal(prefix: &[u8]) -> bool {
    match prefix.first() {
        Some(&b) if b & 0xc0 == 0xc0 => b & 0x3f == TAG_LITERAL,
        Some(&b) if b & 0xc0 == 0x80 => (b >> 2) & 0x0f == TAG_LITERAL,
        _ => false,
    }
}

/// How a packet body's length is given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Length {
    /// Exactly this many bytes.
    Full(u64),
    /// A partial chunk of this many bytes, more chunks follow (new format only).
    Partial(u64),
    /// To the end of the stream (old format, length type 3).
    Indeterminate,
}

fn truncated() -> PgpError {
    PgpError::Malformed("the literal data packet is truncated".into())
}

/// Reads one byte; `None` at a clean end of the stream.
fn read_byte<R: Read + ?Sized>(r: &mut R) -> Result<Option<u8>, PgpError> {
    let mut b = [0u8; 1];
    loop {
        match r.read(&mut b) {
            Ok(0) => return Ok(None),
            Ok(_) => return Ok(Some(b[0])),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e.into()),
        }
    }
}

fn read_array<const N: usize, R: Read + ?Sized>(r: &mut R) -> Result<[u8; N], PgpError> {
    let mut a = [0u8; N];
    r.read_exact(&mut a).map_err(|e| if e.kind() == io::ErrorKind::UnexpectedEof { truncated() } else { e.into() })?;
    Ok(a)
}

/// A new-format length (RFC 9580 section 4.2.1), after its first octet `o`.
fn new_length<R: Read + ?Sized>(o: u8, r: &mut R) -> Result<Length, PgpError> {
    Ok(match o {
        0..=191 => Length::Full(u64::from(o)),
        192..=223 => {
            let [b] = read_array::<1, _>(r)?;
            Length::Full(((u64::from(o) - 192) << 8) + u64::from(b) + 192)
        }
        224..=254 => Length::Partial(1 << (o & 0x1f)),
        255 => Length::Full(u64::from(u32::from_be_bytes(read_array::<4, _>(r)?))),
    })
}

/// A packet header: tag and length; `None` at a clean end of the stream.
fn header<R: Read + ?Sized>(r: &mut R) -> Result<Option<(u8, Length)>, PgpError> {
    let Some(b) = read_byte(r)? else { return Ok(None) };
    if b & 0x80 == 0 {
        return Err(PgpError::Malformed(format!("invalid packet header octet {b:#04x} after the literal data")));
    }
    if b & 0x40 != 0 {
        let o = read_byte(r)?.ok_or_else(truncated)?;
        return Ok(Some((b & 0x3f, new_length(o, r)?)));
    }
    let len = match b & 0x03 {
        0 => Length::Full(u64::from(read_array::<1, _>(r)?[0])),
        1 => Length::Full(u64::from(u16::from_be_bytes(read_array::<2, _>(r)?))),
        2 => Length::Full(u64::from(u32::from_be_bytes(read_array::<4, _>(r)?))),
        _ => Length::Indeterminate,
    };
    Ok(Some(((b >> 2) & 0x0f, len)))
}

/// The body of one packet, its partial-body framing removed.
struct Body<'r, R: Read + ?Sized> {
    inner: &'r mut R,
    /// Bytes left in the current chunk (unused when indeterminate).
    left: u64,
    /// Whether more chunks follow the current one.
    more: bool,
    indeterminate: bool,
}

impl<'r, R: Read + ?Sized> Body<'r, R> {
    fn new(inner: &'r mut R, len: Length) -> Body<'r, R> {
        match len {
            Length::Full(n) => Body { inner, left: n, more: false, indeterminate: false },
            Length::Partial(n) => Body { inner, left: n, more: true, indeterminate: false },
            Length::Indeterminate => Body { inner, left: 0, more: false, indeterminate: true },
        }
    }

    /// Reads up to `buf.len()` body bytes; 0 only at the end of the body.
    fn read_some(&mut self, buf: &mut [u8]) -> Result<usize, PgpError> {
        if self.indeterminate {
            loop {
                match self.inner.read(buf) {
                    Ok(n) => return Ok(n),
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(e.into()),
                }
            }
        }
        while self.left == 0 {
            if !self.more {
                return Ok(0);
            }
            let o = read_byte(self.inner)?.ok_or_else(truncated)?;
            match new_length(o, self.inner)? {
                Length::Partial(n) => self.left = n,
                Length::Full(n) => {
                    self.left = n;
                    self.more = false;
                }
                Length::Indeterminate => return Err(truncated()),
            }
        }
        let want = usize::try_from(self.left).unwrap_or(usize::MAX).min(buf.len());
        let n = loop {
            match self.inner.read(&mut buf[..want]) {
                Ok(0) => return Err(truncated()),
                Ok(n) => break n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e.into()),
            }
        };
        self.left -= n as u64;
        Ok(n)
    }

    fn read_exact_body(&mut self, buf: &mut [u8]) -> Result<(), PgpError> {
        let mut done = 0;
        while done < buf.len() {
            match self.read_some(&mut buf[done..])? {
                0 => return Err(truncated()),
                n => done += n,
            }
        }
        Ok(())
    }

    /// Reads the rest of the body into `sink` (or discards it); returns how many bytes.
    fn copy_to(&mut self, sink: Option<&mut (dyn Write + Send + Sync)>) -> Result<u64, PgpError> {
        let mut buf = vec![0u8; COPY_CHUNK];
        let mut total = 0u64;
        let mut sink = sink;
        loop {
            let n = self.read_some(&mut buf)?;
            if n == 0 {
                return Ok(total);
            }
            if let Some(s) = sink.as_deref_mut() {
                s.write_all(&buf[..n])?;
            }
            total += n as u64;
        }
    }
}

/// What the literal packet said about its data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiteralInfo {
    /// The format octet: `b` binary, `t` text, `u` UTF-8 text (others kept as they are).
    pub format: u8,
    /// The file name the sender recorded (untrusted, may be empty).
    pub filename: Vec<u8>,
    /// Bytes of data written to the sink.
    pub len: u64,
}

/// Reads a message that is one Literal Data packet (optionally followed by Marker or Padding packets) and
/// writes its data to `sink`. Anything else after the literal data is an error: such a message is not one
/// RFC 9580 section 10.3 allows.
pub fn copy_literal<R: Read + ?Sized>(
    input: &mut R,
    sink: &mut (dyn Write + Send + Sync),
) -> Result<LiteralInfo, PgpError> {
    let (tag, len) = header(input)?.ok_or_else(truncated)?;
    if tag != TAG_LITERAL {
        return Err(PgpError::Malformed(format!("expected a literal data packet, found tag {tag}")));
    }
    let mut body = Body::new(input, len);
    let [format, name_len] = {
        let mut h = [0u8; 2];
        body.read_exact_body(&mut h)?;
        h
    };
    let mut filename = vec![0u8; usize::from(name_len)];
    body.read_exact_body(&mut filename)?;
    let mut date = [0u8; 4];
    body.read_exact_body(&mut date)?;
    let written = body.copy_to(Some(sink))?;
    let indeterminate = body.indeterminate;
    if !indeterminate {
        while let Some((tag, len)) = header(input)? {
            if tag != TAG_MARKER && tag != TAG_PADDING {
                return Err(PgpError::Malformed(format!(
                    "a packet with tag {tag} after the literal data: not a valid OpenPGP message"
                )));
            }
            let indeterminate = len == Length::Indeterminate;
            Body::new(input, len).copy_to(None)?;
            if indeterminate {
                break;
            }
        }
    }
    Ok(LiteralInfo { format, filename, len: written })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn literal(new_format: bool, data: &[u8]) -> Vec<u8> {
        let mut body = vec![b'b', 4];
        body.extend_from_slice(b"name");
        body.extend_from_slice(&[0, 0, 0, 0]);
        body.extend_from_slice(data);
        let mut p = Vec::new();
        if new_format {
            p.push(0xc0 | TAG_LITERAL);
            p.push(0xff);
            p.extend_from_slice(&(body.len() as u32).to_be_bytes());
        } else {
            p.push(0x80 | (TAG_LITERAL << 2) | 2);
            p.extend_from_slice(&(body.len() as u32).to_be_bytes());
        }
        p.extend_from_slice(&body);
        p
    }

    fn run(msg: &[u8]) -> Result<(LiteralInfo, Vec<u8>), PgpError> {
        let mut out = Vec::new();
        let info = copy_literal(&mut &msg[..], &mut out)?;
        Ok((info, out))
    }

    #[test]
    fn reads_new_and_old_format_packets() {
        for new_format in [true, false] {
            let msg = literal(new_format, b"hello");
            assert!(starts_with_literal(&msg));
            let (info, out) = run(&msg).expect("reads");
            assert_eq!(out, b"hello");
            assert_eq!(info.filename, b"name");
            assert_eq!(info.len, 5);
        }
    }

    #[test]
    fn reads_partial_body_chunks() {
        // 512-byte first chunk (2^9), then a final chunk of 100 bytes.
        let data: Vec<u8> = (0..600u32).map(|i| i as u8).collect();
        let mut body = vec![b'b', 0, 0, 0, 0, 0];
        body.extend_from_slice(&data);
        let mut msg = vec![0xc0 | TAG_LITERAL, 0xe0 | 9];
        msg.extend_from_slice(&body[..512]);
        msg.push((body.len() - 512) as u8);
        msg.extend_from_slice(&body[512..]);
        let (_, out) = run(&msg).expect("reads");
        assert_eq!(out, data);
    }

    #[test]
    fn skips_padding_and_refuses_other_trailing_packets() {
        let mut msg = literal(true, b"x");
        msg.extend_from_slice(&[0xc0 | TAG_PADDING, 3, 1, 2, 3]);
        assert_eq!(run(&msg).expect("padding is ignored").1, b"x");
        let mut msg = literal(true, b"x");
        msg.extend_from_slice(&[0xc0 | 2, 1, 0]);
        assert!(matches!(run(&msg), Err(PgpError::Malformed(m)) if m.contains("tag 2")));
    }

    #[test]
    fn every_truncation_is_an_error() {
        let msg = literal(true, b"hello world");
        for cut in 0..msg.len() {
            assert!(run(&msg[..cut]).is_err(), "cut at {cut}");
        }
        let msg = literal(false, b"hello world");
        for cut in 0..msg.len() {
            assert!(run(&msg[..cut]).is_err(), "cut at {cut}");
        }
    }
}
