//! Reading SMTP lines with a bound, and telling CRLF from the bare LF and bare CR that SMTP smuggling
//! relies on (SECURITY-CASES D1; postfix.org/smtp-smuggling.html): only CRLF ends a line, and a line with a
//! bare LF or CR anywhere is reported so the session can refuse it instead of guessing.

use tokio::io::{AsyncBufRead, AsyncBufReadExt};

/// What was read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Line {
    /// A line ending in CRLF, now in the buffer (CRLF included).
    Complete,
    /// The line was longer than the bound; it was read to its end and dropped.
    TooLong,
    /// A line holding a bare LF (ending in LF without CR) or a CR not followed by LF.
    BareNewline,
    /// The connection ended (a partial line, if any, is dropped).
    Eof,
}

/// Reads one line into `buf` (cleared first), keeping at most `max` bytes.
pub async fn read<R: AsyncBufRead + Unpin>(r: &mut R, buf: &mut Vec<u8>, max: usize) -> std::io::Result<Line> {
    buf.clear();
    let mut too_long = false;
    let mut last = None::<u8>;
    let mut bare = false;
    loop {
        let avail = r.fill_buf().await?;
        if avail.is_empty() {
            return Ok(Line::Eof);
        }
        let (chunk, done) = match memchr(b'\n', avail) {
            Some(i) => (&avail[..=i], true),
            None => (avail, false),
        };
        // A CR must be followed by LF: look at each CR's successor (the next chunk's first byte for the last).
        for (i, &b) in chunk.iter().enumerate() {
            let prev = if i == 0 { last } else { Some(chunk[i - 1]) };
            if prev == Some(b'\r') && b != b'\n' {
                bare = true;
            }
            if b == b'\n' && prev != Some(b'\r') {
                bare = true;
            }
        }
        last = chunk.last().copied().or(last);
        if !too_long && buf.len() + chunk.len() > max {
            too_long = true;
            buf.clear();
        }
        if !too_long {
            buf.extend_from_slice(chunk);
        }
        let n = chunk.len();
        r.consume(n);
        if done {
            return Ok(if bare {
                Line::BareNewline
            } else if too_long {
                Line::TooLong
            } else {
                Line::Complete
            });
        }
    }
}

fn memchr(needle: u8, hay: &[u8]) -> Option<usize> {
    hay.iter().position(|b| *b == needle)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // A panic in a test is a failed test.

    use super::*;

    async fn lines(input: &[u8], max: usize) -> Vec<(Line, Vec<u8>)> {
        // A one-byte buffer splits every CR from its LF, the hardest case for the look-behind.
        let mut r = tokio::io::BufReader::with_capacity(1, input);
        let mut out = Vec::new();
        let mut buf = Vec::new();
        loop {
            let l = read(&mut r, &mut buf, max).await.unwrap();
            out.push((l, buf.clone()));
            if l == Line::Eof {
                return out;
            }
        }
    }

    #[tokio::test]
    async fn only_crlf_ends_a_clean_line() {
        let got = lines(b"MAIL FROM:<a@b>\r\n.\r\nx", 100).await;
        assert_eq!(got[0], (Line::Complete, b"MAIL FROM:<a@b>\r\n".to_vec()));
        assert_eq!(got[1], (Line::Complete, b".\r\n".to_vec()));
        assert_eq!(got[2].0, Line::Eof);
        for smuggled in [&b"a\n.\n"[..], b"a\r\n.\nb\r\n", b"a\r.\r\n", b"\r.\rQUIT\r\n", b"x\rMAIL FROM:<a@b>\r\n"] {
            let got = lines(smuggled, 100).await;
            assert!(got.iter().any(|(l, _)| *l == Line::BareNewline), "{smuggled:?}: {got:?}");
        }
    }

    #[tokio::test]
    async fn long_lines_are_dropped_whole() {
        let mut input = vec![b'a'; 5000];
        input.extend_from_slice(b"\r\nshort\r\n");
        let got = lines(&input, 1000).await;
        assert_eq!(got[0].0, Line::TooLong);
        assert!(got[0].1.is_empty());
        assert_eq!(got[1], (Line::Complete, b"short\r\n".to_vec()));
    }
}
