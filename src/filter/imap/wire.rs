//! IMAP on the wire, as the proxy reads it in both directions: a line, and the literal it announces at its
//! end (`{n}`, `{n+}`, `~{n}`: RFC 3501, 7888, 3516). The proxy never splits on line ends inside a literal:
//! it reads exactly n octets of it, so a literal holding `A1 LOGOUT` or `* BYE` lines stays data
//! (SECURITY-CASES E). A length that cannot be a literal's (more than 10 digits, over 4 GiB) is refused
//! before anything is allocated.

use tokio::io::{AsyncBufRead, AsyncBufReadExt};

/// A literal announced at the end of a line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Literal {
    /// Its length in octets.
    pub len: u32,
    /// `{n+}`: the sender does not wait for a continuation request.
    pub non_sync: bool,
}

/// What a line announces: nothing, a literal, or a length that cannot be one.
pub fn announcement(line: &[u8]) -> Result<Option<Literal>, String> {
    let line = line.strip_suffix(b"\r\n").or_else(|| line.strip_suffix(b"\n")).unwrap_or(line);
    let Some(inner) = line.strip_suffix(b"}") else { return Ok(None) };
    let Some(open) = inner.iter().rposition(|b| *b == b'{') else { return Ok(None) };
    let mut digits = &inner[open + 1..];
    let non_sync = digits.ends_with(b"+") || digits.ends_with(b"-");
    if non_sync {
        digits = &digits[..digits.len() - 1];
    }
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return Ok(None);
    }
    if digits.len() > 10 {
        return Err(format!("a literal of {} digits", digits.len()));
    }
    let len: u64 = std::str::from_utf8(digits).ok().and_then(|d| d.parse().ok()).unwrap_or(u64::MAX);
    let len = u32::try_from(len).map_err(|_| format!("a literal of {len} octets"))?;
    Ok(Some(Literal { len, non_sync }))
}

/// Reads one line (up to and including LF) into `buf`, at most `max` octets; `Ok(false)` at the end of
/// the stream, an error for a longer line.
pub async fn read_line<R: AsyncBufRead + Unpin>(r: &mut R, buf: &mut Vec<u8>, max: usize) -> std::io::Result<bool> {
    buf.clear();
    loop {
        let avail = r.fill_buf().await?;
        if avail.is_empty() {
            return Ok(!buf.is_empty());
        }
        let (chunk, done) = match memchr::memchr(b'\n', avail) {
            Some(i) => (&avail[..=i], true),
            None => (avail, false),
        };
        if buf.len() + chunk.len() > max {
            return Err(std::io::Error::other(format!("an IMAP line longer than {max} octets")));
        }
        buf.extend_from_slice(chunk);
        let n = chunk.len();
        r.consume(n);
        if done {
            return Ok(true);
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // A panic in a test is a failed test.

    use super::*;

    #[test]
    fn literal_announcements() {
        assert_eq!(announcement(b"* 1 FETCH (BODY[] {12}\r\n").unwrap(), Some(Literal { len: 12, non_sync: false }));
        assert_eq!(announcement(b"A1 LOGIN {3+}\r\n").unwrap(), Some(Literal { len: 3, non_sync: true }));
        assert_eq!(announcement(b"A1 APPEND x ~{0}\r\n").unwrap(), Some(Literal { len: 0, non_sync: false }));
        assert_eq!(announcement(b"* OK [UIDVALIDITY 3] {x}\r\n").unwrap(), None);
        assert_eq!(announcement(b"* 1 FETCH (FLAGS ())\r\n").unwrap(), None);
        assert!(announcement(b"* 1 FETCH (BODY[] {99999999999}\r\n").is_err());
        assert!(announcement(b"* 1 FETCH (BODY[] {4294967296}\r\n").is_err());
    }

    #[tokio::test]
    async fn lines_are_bounded() {
        let mut r = tokio::io::BufReader::new(&b"a1 NOOP\r\nxxxxxxxxxx\r\n"[..]);
        let mut buf = Vec::new();
        assert!(read_line(&mut r, &mut buf, 100).await.unwrap());
        assert_eq!(buf, b"a1 NOOP\r\n");
        assert!(read_line(&mut r, &mut buf, 5).await.is_err());
    }
}
