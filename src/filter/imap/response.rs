//! A server's untagged FETCH response, read whole (lines and literals, by length) so that it can be
//! answered for the opened message. While reading, the `BODY[]` item the proxy added to the command
//! ([`super::state`]) is taken out: its message is kept aside and the rest of the response is left byte for
//! byte as the server sent it. A response whose literals exceed the memory bound is streamed to the client
//! as it comes (the added item still taken out), and shown as the server has it.

use std::ops::Range;

use tokio::io::{AsyncBufRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use super::wire::{self, Literal};

/// The message a FETCH response carried.
#[derive(Debug)]
pub enum Message {
    /// From the item the proxy added (taken out of the response).
    Added(Vec<u8>),
    /// From the client's own `BODY[]` or `RFC822` item, at this range of the response.
    Within(Range<usize>),
}

/// A FETCH response held in memory.
#[derive(Debug)]
pub struct Held {
    /// The response as the client would get it unchanged (without the added item).
    pub bytes: Vec<u8>,
    /// The whole message, when the response carried it.
    pub message: Option<Message>,
}

impl Held {
    /// The message's bytes.
    pub fn message(&self) -> Option<&[u8]> {
        match self.message.as_ref()? {
            Message::Added(m) => Some(m),
            Message::Within(r) => self.bytes.get(r.clone()),
        }
    }
}

/// Reads the rest of a FETCH response that began with `first`. With `added`, an item `BODY[] {n}` is the
/// one the proxy added. Returns the held response, or `None` when it was too large and has been written
/// to `w` as it came.
pub async fn read<R, W>(
    r: &mut R,
    w: &mut W,
    first: &[u8],
    added: bool,
    max_line: usize,
    max_held: usize,
) -> std::io::Result<Option<Held>>
where
    R: AsyncBufRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let mut line = first.to_vec();
    let mut held = Vec::new();
    let mut message = None;
    let mut streaming = false;
    let mut strip_space = false;
    loop {
        if strip_space {
            if line.first() == Some(&b' ') {
                line.remove(0);
            }
            strip_space = false;
        }
        let literal = wire::announcement(&line).map_err(std::io::Error::other)?;
        let item = literal.and_then(|_| whole_item(&line));
        let is_added = added
            && item.is_some()
            && line.iter().rposition(|b| *b == b'{').is_some_and(|i| line[..i].ends_with(b"BODY[] "));
        if let (Some(Literal { len, .. }), Some((start, paren)), true) = (literal, item, is_added) {
            // The added item: keep its message aside (or drop it when over the bound), leave it out.
            line.truncate(start);
            strip_space = paren;
            emit(w, &mut held, streaming, &line).await?;
            if len as usize <= max_held && message.is_none() {
                let mut m = vec![0; len as usize];
                r.read_exact(&mut m).await?;
                message = Some(Message::Added(m));
            } else {
                skip(r, len).await?;
            }
        } else {
            emit(w, &mut held, streaming, &line).await?;
            let Some(Literal { len, .. }) = literal else { break };
            if !streaming && held.len() + len as usize > max_held {
                w.write_all(&held).await?;
                held = Vec::new();
                message = None;
                streaming = true;
            }
            if streaming {
                copy_exact(r, w, len).await?;
            } else {
                let start = held.len();
                held.resize(start + len as usize, 0);
                r.read_exact(&mut held[start..]).await?;
                if item.is_some() && message.is_none() {
                    message = Some(Message::Within(start..held.len()));
                }
            }
        }
        if !wire::read_line(r, &mut line, max_line).await? {
            return Err(std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "the server ended inside a response"));
        }
    }
    Ok((!streaming).then_some(Held { bytes: held, message }))
}

async fn emit<W: AsyncWrite + Unpin>(
    w: &mut W,
    held: &mut Vec<u8>,
    streaming: bool,
    bytes: &[u8],
) -> std::io::Result<()> {
    if streaming {
        w.write_all(bytes).await
    } else {
        held.extend_from_slice(bytes);
        Ok(())
    }
}

/// Copies exactly `n` octets.
pub async fn copy_exact<R: AsyncBufRead + Unpin, W: AsyncWrite + Unpin>(
    r: &mut R,
    w: &mut W,
    n: u32,
) -> std::io::Result<()> {
    let copied = tokio::io::copy_buf(&mut r.take(u64::from(n)), w).await?;
    if copied < u64::from(n) {
        return Err(std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "the connection ended inside a literal"));
    }
    Ok(())
}

async fn skip<R: AsyncBufRead + Unpin>(r: &mut R, n: u32) -> std::io::Result<()> {
    copy_exact(r, &mut tokio::io::sink(), n).await
}

/// When a line ends with a whole-message item announcing its literal (`BODY[] {n}` or `RFC822 {n}`):
/// where the item begins (with the space before it), and whether it follows the opening parenthesis
/// (then the space after it must go when it is taken out).
fn whole_item(line: &[u8]) -> Option<(usize, bool)> {
    let brace = line.iter().rposition(|b| *b == b'{')?;
    let before = line[..brace].strip_suffix(b" ")?;
    let name_len = [&b"BODY[]"[..], b"RFC822"].iter().find(|n| before.ends_with(n))?.len();
    let start = before.len() - name_len;
    match start.checked_sub(1).map(|i| line[i]) {
        Some(b' ') => Some((start - 1, false)),
        Some(b'(') => Some((start, true)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // A panic in a test is a failed test.

    use super::*;

    async fn held(input: &[u8], added: bool, max: usize) -> (Option<Held>, Vec<u8>) {
        let mut r = tokio::io::BufReader::new(input);
        let mut first = Vec::new();
        wire::read_line(&mut r, &mut first, 1000).await.unwrap();
        let mut out = Vec::new();
        let h = read(&mut r, &mut out, &first, added, 1000, max).await.unwrap();
        (h, out)
    }

    #[tokio::test]
    async fn the_added_item_is_taken_out_and_kept_aside() {
        let (h, _) =
            held(b"* 1 FETCH (UID 7 BODYSTRUCTURE (\"TEXT\" \"PLAIN\") BODY[] {5}\r\nhello)\r\n", true, 100).await;
        let h = h.unwrap();
        assert_eq!(h.bytes, b"* 1 FETCH (UID 7 BODYSTRUCTURE (\"TEXT\" \"PLAIN\"))\r\n");
        assert_eq!(h.message(), Some(&b"hello"[..]));
        // First in the list: the space after it goes with it.
        let (h, _) = held(b"* 1 FETCH (BODY[] {5}\r\nhello UID 7)\r\n", true, 100).await;
        let h = h.unwrap();
        assert_eq!(h.bytes, b"* 1 FETCH (UID 7)\r\n");
        assert_eq!(h.message(), Some(&b"hello"[..]));
    }

    #[tokio::test]
    async fn the_clients_own_item_stays() {
        let input = b"* 1 FETCH (UID 7 BODY[] {5}\r\nhello)\r\n";
        let h = held(input, false, 100).await.0.unwrap();
        assert_eq!(h.bytes, input);
        assert_eq!(h.message(), Some(&b"hello"[..]));
        let h = held(b"* 1 FETCH (RFC822.HEADER {5}\r\nhello)\r\n", false, 100).await.0.unwrap();
        assert!(h.message.is_none());
        let h = held(b"* 1 FETCH (BODY[]<0> {5}\r\nhello)\r\n", false, 100).await.0.unwrap();
        assert!(h.message.is_none(), "a partial is not the whole message");
    }

    #[tokio::test]
    async fn over_the_bound_the_response_is_streamed_without_the_added_item() {
        let input = b"* 1 FETCH (BODY[TEXT] {20}\r\n0123456789abcdefghij BODY[] {10}\r\n0123456789)\r\n";
        let (h, out) = held(input, true, 8).await;
        assert!(h.is_none());
        assert_eq!(out, b"* 1 FETCH (BODY[TEXT] {20}\r\n0123456789abcdefghij)\r\n");
    }

    #[tokio::test]
    async fn a_response_cut_short_is_an_error() {
        let mut r = tokio::io::BufReader::new(&b"hel"[..]);
        let mut out = Vec::new();
        assert!(read(&mut r, &mut out, b"* 1 FETCH (BODY[] {5}\r\n", false, 1000, 100).await.is_err());
        let mut r = tokio::io::BufReader::new(&b"hello"[..]);
        assert!(read(&mut r, &mut out, b"* 1 FETCH (BODY[] {5}\r\n", false, 1000, 100).await.is_err());
    }
}
