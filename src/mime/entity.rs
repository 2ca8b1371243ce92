//! A parsed message as a tree of byte ranges into the bytes as received. `mail-parser` does the parsing
//! (RFC 5322 headers, MIME boundaries, encodings); this module keeps, for every part, where its header, body
//! and whole entity lie, so that signatures are checked over exactly the bytes that were signed and
//! decrypted content can be put back without re-encoding anything else.
//!
//! The range of a part inside a multipart ends before the CRLF that precedes the next boundary (RFC 2046
//! section 5.1.1: that line break belongs to the boundary), which is what RFC 3156 and RFC 8551 sign.

use std::ops::Range;

use mail_parser::{MessageParser, MimeHeaders, PartType};

use super::MimeError;

/// Largest message parsed, in bytes.
pub const MAX_MESSAGE: usize = 256 << 20;
/// Most parts in one message.
pub const MAX_PARTS: usize = 10_000;
/// Deepest multipart nesting.
pub const MAX_DEPTH: usize = 32;
/// Most attached messages (`message/rfc822`, `message/global`, and the parts of `multipart/digest`, whose
/// default type is `message/rfc822`) in one message. mail-parser keeps each as a `Message` nested inside
/// its parent's, and dropping deeply nested values recurses: 20,000 of them (a 1 MB message) overflow a
/// thread's stack and abort the process (SECURITY-CASES F1). Nesting cannot be deeper than this count,
/// which is checked with a scan before mail-parser sees the message.
pub const MAX_ATTACHED_MESSAGES: usize = 1_000;

/// One MIME entity: its content type, its header fields, and where it lies.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Node {
    /// `type/subtype`, lower case (`text/plain` when absent, as RFC 2045 says).
    pub content_type: String,
    /// Content-Type parameters, names lower case, values as given (unquoted).
    pub params: Vec<(String, String)>,
    /// Header fields: name as written, and the range of the whole field (name to the end of its last line).
    pub headers: Vec<(String, Range<usize>)>,
    /// The header block (from the first field to the blank line, exclusive).
    pub header: Range<usize>,
    /// The body (after the blank line).
    pub body: Range<usize>,
    /// The children of a multipart (empty otherwise).
    pub children: Vec<Node>,
    /// A `message/rfc822` inside, parsed.
    pub message: Option<Box<Node>>,
}

impl Node {
    /// The whole entity: header, blank line and body.
    pub fn entity(&self) -> Range<usize> {
        self.header.start..self.body.end
    }

    /// A Content-Type parameter (name compared without case).
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// True for `type/subtype` (compared without case).
    pub fn is(&self, content_type: &str) -> bool {
        self.content_type.eq_ignore_ascii_case(content_type)
    }

    /// True for any `multipart/*`.
    pub fn is_multipart(&self) -> bool {
        self.content_type.starts_with("multipart/")
    }

    /// Header fields with this name (compared without case), as raw bytes of the whole field.
    pub fn fields<'a>(&'a self, raw: &'a [u8], name: &'a str) -> impl Iterator<Item = &'a [u8]> + 'a {
        self.headers.iter().filter(move |(n, _)| n.eq_ignore_ascii_case(name)).map(move |(_, r)| &raw[r.clone()])
    }

    /// The unfolded value of the first field with this name, trimmed.
    pub fn field_value(&self, raw: &[u8], name: &str) -> Option<String> {
        let field = self.fields(raw, name).next()?;
        let text = String::from_utf8_lossy(field);
        let (_, value) = text.split_once(':')?;
        Some(value.replace("\r\n", "").replace('\n', "").trim().to_string())
    }

    /// For a multipart: whether its body has the closing delimiter `--boundary--` (a message cut short, or
    /// one an attacker appended to, has none; RFC 2046 section 5.1.1).
    pub fn is_closed(&self, raw: &[u8]) -> bool {
        let Some(b) = self.param("boundary") else { return false };
        let closing = format!("--{b}--");
        raw.get(self.body.clone()).is_some_and(|body| body.windows(closing.len()).any(|w| w == closing.as_bytes()))
    }

    /// Every node in document order, this one first.
    pub fn walk(&self) -> Vec<&Node> {
        let mut out = vec![self];
        for c in &self.children {
            out.extend(c.walk());
        }
        if let Some(m) = &self.message {
            out.extend(m.walk());
        }
        out
    }
}

/// Parses a message (RFC 5322 header and MIME body).
pub fn parse(raw: &[u8]) -> Result<Node, MimeError> {
    if raw.len() > MAX_MESSAGE {
        return Err(MimeError::TooLarge(raw.len()));
    }
    let attached = attached_messages(raw);
    if attached > MAX_ATTACHED_MESSAGES {
        return Err(MimeError::Malformed(format!(
            "more than {MAX_ATTACHED_MESSAGES} attached messages (message/rfc822 or multipart/digest parts)"
        )));
    }
    let msg = MessageParser::default().parse(raw).ok_or(MimeError::Malformed("not an RFC 5322 message".into()))?;
    if msg.parts.len() > MAX_PARTS {
        return Err(MimeError::Malformed(format!("more than {MAX_PARTS} MIME parts")));
    }
    let mut visits = 0;
    node(&msg, 0, raw, raw.len(), 0, &mut visits)
}

/// Refuses a multipart that parsers read differently (SECURITY-CASES F1): a parameter given twice (which
/// `boundary=` counts is not said by the RFCs), or a Content-Transfer-Encoding other than 7bit, 8bit or
/// binary (RFC 2045 section 6.4 forbids it; a client that decodes it shows something else than was verified).
fn ambiguous_multipart(n: &Node, raw: &[u8]) -> Result<(), MimeError> {
    for (i, (name, _)) in n.params.iter().enumerate() {
        if n.params[..i].iter().any(|(other, _)| other == name) {
            return Err(MimeError::Malformed(format!("a {} with two {name}= parameters", n.content_type)));
        }
    }
    if let Some(cte) = n.field_value(raw, "content-transfer-encoding") {
        let cte = cte.trim().to_ascii_lowercase();
        if !matches!(cte.as_str(), "7bit" | "8bit" | "binary" | "") {
            return Err(MimeError::Malformed(format!(
                "a {} with Content-Transfer-Encoding {cte} (RFC 2045 section 6.4: 7bit, 8bit or binary)",
                n.content_type
            )));
        }
    }
    Ok(())
}

/// How many Content-Type fields (at the start of a line, any case, the value possibly folded onto the next
/// line, white space allowed before the colon) declare `message/...` or `multipart/digest`: an upper bound on
/// how deeply messages can nest inside `raw`, counted without parsing it.
pub fn attached_messages(raw: &[u8]) -> usize {
    const NAME: &[u8] = b"content-type";
    let mut count = 0;
    let mut at = 0;
    while at < raw.len() {
        let line = &raw[at..];
        if line.len() > NAME.len() && line[..NAME.len()].eq_ignore_ascii_case(NAME) {
            let mut rest = &line[NAME.len()..];
            while let [b' ' | b'\t', tail @ ..] = rest {
                rest = tail;
            }
            if let [b':', tail @ ..] = rest {
                let mut value = tail;
                while let [b' ' | b'\t' | b'\r' | b'\n', tail @ ..] = value {
                    value = tail;
                }
                let starts = |p: &[u8]| value.len() >= p.len() && value[..p.len()].eq_ignore_ascii_case(p);
                if starts(b"message/") || starts(b"multipart/digest") {
                    count += 1;
                }
            }
        }
        at += memchr::memchr(b'\n', line).map_or(line.len(), |i| i + 1);
    }
    count
}

/// The root of a message with its header read and its body not: content type, parameters, header fields
/// and the body's range, no children. For telling what a message is without parsing all of it.
pub fn parse_header(raw: &[u8]) -> Result<Node, MimeError> {
    if raw.len() > MAX_MESSAGE {
        return Err(MimeError::TooLarge(raw.len()));
    }
    let msg =
        MessageParser::default().parse_headers(raw).ok_or(MimeError::Malformed("not an RFC 5322 message".into()))?;
    // Without its body the parser puts the body at the end: it starts after the blank line that follows the
    // last field.
    let fields_end = msg.parts.first().and_then(|p| p.headers.iter().map(|h| h.offset_end as usize).max()).unwrap_or(0);
    let fields_end = fields_end.min(raw.len());
    let rest = &raw[fields_end..];
    let body = fields_end + if rest.starts_with(b"\r\n") { 2 } else { usize::from(rest.starts_with(b"\n")) };
    let mut visits = 0;
    let mut n = node(&msg, 0, raw, raw.len(), 0, &mut visits)?;
    n.children.clear();
    n.message = None;
    n.header = n.header.start.min(fields_end)..fields_end;
    n.body = body..raw.len();
    Ok(n)
}

/// Part `id` of `msg`; a root part (id 0) runs to `root_end`, the end of the bytes holding that message.
fn node(
    msg: &mail_parser::Message<'_>,
    id: usize,
    raw: &[u8],
    root_end: usize,
    depth: usize,
    visits: &mut usize,
) -> Result<Node, MimeError> {
    *visits += 1;
    if depth > MAX_DEPTH || *visits > MAX_PARTS {
        return Err(MimeError::Malformed(format!("MIME nesting deeper than {MAX_DEPTH} or too many parts")));
    }
    let part = msg.parts.get(id).ok_or_else(|| MimeError::Malformed("a MIME part that does not exist".into()))?;
    let (h, b, mut e) = (part.offset_header as usize, part.offset_body as usize, part.offset_end as usize);
    if id == 0 {
        // The root runs to the end of the message (mail-parser ends an encoded root body where its decoder
        // stopped, which can be before the last line break).
        e = root_end.min(raw.len());
    }
    // mail-parser gives an empty body an end before its start, and some malformed parts odd offsets: clamp
    // them into order, so that every range is valid (and empty where the parser found nothing).
    let b = b.min(raw.len());
    let h = h.min(b);
    let e = e.clamp(b, raw.len());
    let (content_type, params) = match part.content_type() {
        Some(ct) => {
            let t = ct.ctype().to_ascii_lowercase();
            let s = ct.subtype().map(|s| s.to_ascii_lowercase()).unwrap_or_default();
            let params = ct
                .attributes()
                .map(|a| a.iter().map(|a| (a.name.to_ascii_lowercase(), a.value.to_string())).collect())
                .unwrap_or_default();
            (if s.is_empty() { t } else { format!("{t}/{s}") }, params)
        }
        None => ("text/plain".to_string(), Vec::new()),
    };
    let header_end = header_end(raw, h, b);
    let headers = part
        .headers
        .iter()
        .map(|hd| {
            let name = hd.name.as_str().to_string();
            // offset_field: start of the name; offset_end: end of the value (with its line break).
            let start = (hd.offset_field as usize).min(header_end);
            let end = (hd.offset_end as usize).clamp(start, header_end);
            (name, start..end)
        })
        .collect();
    let mut n =
        Node { content_type, params, headers, header: h..header_end, body: b..e, children: Vec::new(), message: None };
    if n.is_multipart() {
        ambiguous_multipart(&n, raw)?;
    }
    match &part.body {
        PartType::Multipart(ids) => {
            for &child in ids {
                n.children.push(node(msg, child as usize, raw, root_end, depth + 1, visits)?);
            }
        }
        PartType::Message(inner) => {
            // A message/rfc822 body as it stands shares our bytes: its offsets are ours, and its root runs
            // to the end of this body. A transfer-encoded one (not allowed by RFC 2046, but seen) was
            // decoded into bytes of its own, has no ranges in ours, and is left unparsed.
            let inner_raw: &[u8] = inner.raw_message.as_ref();
            if std::ptr::eq(inner_raw.as_ptr(), raw.as_ptr()) || inner_raw == raw {
                n.message = Some(Box::new(node(inner, 0, raw, e, depth + 1, visits)?));
            }
        }
        _ => {}
    }
    Ok(n)
}

/// Where the header block ends: before the blank line that precedes `body`.
fn header_end(raw: &[u8], start: usize, body: usize) -> usize {
    let mut end = body;
    for sep in [&b"\r\n"[..], b"\n"] {
        if end >= start + sep.len() && raw[..end].ends_with(sep) {
            end -= sep.len();
            break;
        }
    }
    end.max(start)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // A panic in a test is a failed test.

    use super::*;

    const SIGNED: &[u8] = b"From: a@example.org\r\nSubject: hi\r\nContent-Type: multipart/signed; boundary=\"XX\";\r\n protocol=\"application/pgp-signature\"; micalg=pgp-sha256\r\n\r\npreamble\r\n--XX\r\nContent-Type: text/plain\r\n\r\nHello\r\n\r\n--XX\r\nContent-Type: application/pgp-signature\r\n\r\nSIG\r\n--XX--\r\nepilogue\r\n";

    #[test]
    fn ambiguous_multiparts_are_refused() {
        let two = b"Content-Type: multipart/mixed; boundary=a; boundary=b\r\n\r\n--a\r\n\r\nx\r\n--a--\r\n";
        assert!(parse(two).unwrap_err().to_string().contains("two boundary="));
        let b64 = b"Content-Type: multipart/mixed; boundary=a\r\nContent-Transfer-Encoding: base64\r\n\r\n--a\r\n\r\nx\r\n--a--\r\n";
        assert!(parse(b64).unwrap_err().to_string().contains("Content-Transfer-Encoding base64"));
        let seven = b"Content-Type: multipart/mixed; boundary=a\r\nContent-Transfer-Encoding: 7BIT\r\n\r\n--a\r\n\r\nx\r\n--a--\r\n";
        assert!(parse(seven).is_ok());
    }

    #[test]
    fn attached_messages_are_counted_before_parsing() {
        let plain = b"Content-Type: message/rfc822\r\ncontent-type :\r\n\tMessage/Global\r\nCONTENT-TYPE: multipart/DIGEST; boundary=x\r\nX-Content-Type: message/rfc822\r\nContent-Type: text/plain\r\n";
        assert_eq!(attached_messages(plain), 3);
        let mut deep = Vec::new();
        for _ in 0..=MAX_ATTACHED_MESSAGES {
            deep.extend_from_slice(b"From: a@example.org\r\nContent-Type: message/rfc822\r\n\r\n");
        }
        deep.extend_from_slice(b"From: a@example.org\r\n\r\nx\r\n");
        let err = parse(&deep).unwrap_err().to_string();
        assert!(err.contains("attached messages"), "{err}");
    }

    #[test]
    fn the_header_alone_tells_the_type() {
        let n = parse_header(SIGNED).unwrap();
        assert!(n.is("multipart/signed") && n.children.is_empty());
        assert_eq!(n.param("protocol"), Some("application/pgp-signature"));
        assert!(SIGNED[n.body.clone()].starts_with(b"preamble"));
        let n = parse_header(b"Subject: x\r\n\r\nbody\r\n").unwrap();
        assert!(n.is("text/plain"));
        assert_eq!(&b"Subject: x\r\n\r\nbody\r\n"[n.body.clone()], b"body\r\n");
    }

    #[test]
    fn signed_part_ranges_end_before_the_boundary_line_break() {
        let n = parse(SIGNED).unwrap();
        assert!(n.is("multipart/signed"));
        assert_eq!(n.param("micalg"), Some("pgp-sha256"));
        assert_eq!(n.param("PROTOCOL"), Some("application/pgp-signature"));
        assert_eq!(n.children.len(), 2);
        assert_eq!(&SIGNED[n.children[0].entity()], b"Content-Type: text/plain\r\n\r\nHello\r\n");
        assert_eq!(&SIGNED[n.children[1].body.clone()], b"SIG");
        assert_eq!(n.field_value(SIGNED, "subject").as_deref(), Some("hi"));
        assert_eq!(n.field_value(SIGNED, "Content-Type").unwrap().matches("micalg").count(), 1);
        let fields: Vec<&[u8]> = n.fields(SIGNED, "from").collect();
        assert_eq!(fields, vec![&b"From: a@example.org\r\n"[..]]);
        assert_eq!(&SIGNED[n.header.clone()], &SIGNED[..SIGNED.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 2]);
    }

    #[test]
    fn an_encoded_root_body_runs_to_the_end() {
        let raw =
            b"Content-Type: text/plain\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nHello=20\r\nthere\r\n";
        let n = parse(raw).unwrap();
        assert_eq!(&raw[n.body.clone()], b"Hello=20\r\nthere\r\n");
    }

    #[test]
    fn attached_messages_are_parsed_in_place() {
        let raw = b"Content-Type: multipart/mixed; boundary=f\r\n\r\n--f\r\nContent-Type: message/rfc822\r\n\r\nSubject: inner\r\nContent-Type: text/plain\r\n\r\nbody\r\n--f--\r\n";
        let n = parse(raw).unwrap();
        let m = n.children[0].message.as_ref().unwrap();
        assert_eq!(m.field_value(raw, "subject").as_deref(), Some("inner"));
        assert_eq!(&raw[m.body.clone()], b"body");
        assert_eq!(n.walk().len(), 3);
    }

    #[test]
    fn defaults_and_limits() {
        let n = parse(b"Subject: x\n\nbody\n").unwrap();
        assert!(n.is("text/plain") && n.children.is_empty());
        let mut deep = Vec::new();
        for i in 0..40 {
            deep.extend_from_slice(
                format!("Content-Type: multipart/mixed; boundary=b{i}\r\n\r\n--b{i}\r\n").as_bytes(),
            );
        }
        deep.extend_from_slice(b"Content-Type: text/plain\r\n\r\nx\r\n");
        // Either mail-parser stops nesting itself or we refuse: never a stack overflow.
        let _ = parse(&deep);
    }
}
