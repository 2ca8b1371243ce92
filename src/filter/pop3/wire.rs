//! POP3 on the wire (RFC 1939, RFC 2449): which commands are answered with several lines, and the
//! dot-stuffing of those lines. A multi-line response ends at a line holding a single `.`; a line of the
//! response that begins with `.` has a second one put before it. A body line that reads `.`, `..`, `+OK`
//! or `-ERR` is data: the proxy reads a message to its terminating line, never by what a line looks like.

/// How the server answers a command.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reply {
    /// One status line.
    Single,
    /// A status line, and when it is `+OK`, lines up to the terminating `.`.
    Multi,
    /// A SASL exchange (AUTH with a mechanism): `+ ` continuations until a status line.
    Sasl,
}

/// The reply a command gets: CAPA, LIST and UIDL without an argument, RETR, TOP and AUTH without a
/// mechanism are multi-line (RFC 1939, 2449, 5034).
pub fn reply_of(command: &str, args: usize) -> Reply {
    match (command, args) {
        ("CAPA" | "RETR" | "TOP", _) | ("LIST" | "UIDL" | "AUTH", 0) => Reply::Multi,
        ("AUTH", _) => Reply::Sasl,
        _ => Reply::Single,
    }
}

/// The lines of a multi-line response (without its status line), dot-unstuffed, the terminating line left
/// out: the message as the server stores it.
pub fn unstuff(raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(raw.len());
    let mut at = 0;
    while at < raw.len() {
        let end = memchr::memchr(b'\n', &raw[at..]).map_or(raw.len(), |i| at + i + 1);
        let line = &raw[at..end];
        if line == b".\r\n" || line == b".\n" {
            break;
        }
        out.extend_from_slice(line.strip_prefix(b".").unwrap_or(line));
        at = end;
    }
    out
}

/// A message as the lines of a multi-line response: CRLF line ends, a `.` put before each line that begins
/// with one, and the terminating line.
pub fn stuff(message: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(message.len() + message.len() / 40 + 8);
    let mut at = 0;
    while at < message.len() {
        let end = memchr::memchr(b'\n', &message[at..]).map_or(message.len(), |i| at + i + 1);
        let mut line = &message[at..end];
        if line.first() == Some(&b'.') {
            out.push(b'.');
        }
        line = line.strip_suffix(b"\n").unwrap_or(line);
        line = line.strip_suffix(b"\r").unwrap_or(line);
        out.extend_from_slice(line);
        out.extend_from_slice(b"\r\n");
        at = end;
    }
    out.extend_from_slice(b".\r\n");
    out
}

/// Where a multi-line response ends: `data` holds its lines from the first (a line start) on, as far as
/// they have arrived. `Ok(end)`: the terminating line ends at `end`. `Err(resume)`: not there yet; search
/// again from `resume` once more has arrived (every line start before it has been looked at).
///
/// Only lines that begin with `.` are looked at (found with one `memmem` pass for LF-dot), so a 30 KiB
/// reply costs a few hundred nanoseconds, not a step per line. The terminating line is `.` CRLF, or `.` LF
/// from a server that ends lines with LF alone.
pub fn reply_end(data: &[u8], resume: usize) -> Result<usize, usize> {
    // What the line starting with a dot at `at` is: Some(end) the terminator, Some(0) another line, None
    // undecided (the bytes after the dot have not all arrived).
    let dot_line = |at: usize| -> Option<usize> {
        match &data[at + 1..] {
            [] | [b'\r'] => None,
            [b'\n', ..] => Some(at + 2),
            [b'\r', b'\n', ..] => Some(at + 3),
            _ => Some(0),
        }
    };
    if resume == 0 && data.first() == Some(&b'.') {
        match dot_line(0) {
            None => return Err(0),
            Some(0) => {}
            Some(end) => return Ok(end),
        }
    }
    let from = resume.saturating_sub(1);
    for i in memchr::memmem::find_iter(&data[from..], b"\n.") {
        let at = from + i + 1;
        match dot_line(at) {
            None => return Err(at),
            Some(0) => {}
            Some(end) => return Ok(end),
        }
    }
    Err(data.len().max(resume))
}

/// What TOP n k answers (RFC 1939 section 7): the header, the blank line, and the first `k` lines of the
/// body.
pub fn top(message: &[u8], k: usize) -> &[u8] {
    let Some(blank) = memchr::memmem::find(message, b"\r\n\r\n")
        .map(|i| i + 4)
        .or_else(|| memchr::memmem::find(message, b"\n\n").map(|i| i + 2))
    else {
        return message;
    };
    let mut end = blank;
    for _ in 0..k {
        match memchr::memchr(b'\n', &message[end..]) {
            Some(i) => end += i + 1,
            None => return message,
        }
    }
    &message[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies() {
        assert_eq!(reply_of("RETR", 1), Reply::Multi);
        assert_eq!(reply_of("LIST", 0), Reply::Multi);
        assert_eq!(reply_of("LIST", 1), Reply::Single);
        assert_eq!(reply_of("AUTH", 1), Reply::Sasl);
        assert_eq!(reply_of("STAT", 0), Reply::Single);
    }

    #[test]
    fn stuffing_round_trips_and_data_lines_stay_data() {
        let message = b"Subject: x\r\n\r\n.\r\n..\r\n+OK\r\n-ERR\r\n.x\r\n";
        let wire = stuff(message);
        assert_eq!(wire, b"Subject: x\r\n\r\n..\r\n...\r\n+OK\r\n-ERR\r\n..x\r\n.\r\n");
        assert_eq!(unstuff(&wire), message);
        // Bare LF becomes CRLF on the wire; a last line without an end gets one.
        assert_eq!(stuff(b"a\nb"), b"a\r\nb\r\n.\r\n");
    }

    #[test]
    fn reply_end_finds_only_the_terminating_line() {
        let reply = b"a\r\n..\r\n.x\r\n+OK\r\n.\r\nNEXT";
        assert_eq!(reply_end(reply, 0), Ok(reply.len() - 4));
        assert_eq!(reply_end(b".\r\n", 0), Ok(3));
        assert_eq!(reply_end(b".\n", 0), Ok(2));
        assert_eq!(reply_end(b"a\n.\n", 0), Ok(4));
        assert_eq!(reply_end(b"..\r\n", 0), Err(4));
        // Arriving a byte at a time, resumed where it said: the same end, found once it is all there.
        for reply in [&reply[..], b".\r\n", b"x\r\n.\r\n", b"..\r\n\r\n.\r\n"] {
            let whole = reply_end(reply, 0);
            let mut resume = 0;
            let mut found = None;
            for n in 0..=reply.len() {
                match reply_end(&reply[..n], resume) {
                    Ok(end) => {
                        found = Some((end, n));
                        break;
                    }
                    Err(r) => {
                        assert!(r <= n && r >= resume, "resume {r} within 0..={n}");
                        resume = r;
                    }
                }
            }
            let (end, n) = found.expect("found");
            assert_eq!(Ok(end), whole);
            assert_eq!(end, n, "found as soon as the terminator arrived");
        }
    }

    #[test]
    fn top_lines() {
        let m = b"A: 1\r\nB: 2\r\n\r\none\r\ntwo\r\nthree\r\n";
        assert_eq!(top(m, 0), b"A: 1\r\nB: 2\r\n\r\n");
        assert_eq!(top(m, 2), b"A: 1\r\nB: 2\r\n\r\none\r\ntwo\r\n");
        assert_eq!(top(m, 9), m);
    }
}
