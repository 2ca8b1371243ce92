//! A message split into its outer header (everything but the content fields) and its content entity in
//! canonical form, header protection (RFC 9788), and messages put back together.

use super::MailError;
use crate::mime::canon::{self, is_content_field};
use crate::mime::{Node, build};

/// Header fields RFC 9788 protects (copied into the cryptographic payload), in the order written.
pub const PROTECTED: &[&str] =
    &["From", "To", "Cc", "Reply-To", "Subject", "Date", "Message-ID", "In-Reply-To", "References"];

/// The Subject an encrypted message shows outside (RFC 9788 section 4.2.4: the real one travels inside).
pub const OBSCURED_SUBJECT: &str = "[...]";

/// A message as the sending side handles it.
#[derive(Clone, Debug)]
pub struct Split {
    /// Outer header fields (all but the content fields and MIME-Version), raw with CRLF line ends.
    pub outer: Vec<(String, Vec<u8>)>,
    /// The content entity in canonical form (see [`crate::mime::canon`]).
    pub entity: Vec<u8>,
}

impl Split {
    /// Splits a message.
    pub fn new(raw: &[u8]) -> Result<Split, MailError> {
        let root = crate::mime::parse(raw)?;
        Ok(Split { outer: outer_fields(raw, &root), entity: canon::entity(raw, &root)? })
    }

    /// The raw field with this name, if any.
    pub fn field(&self, name: &str) -> Option<&[u8]> {
        self.outer.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_slice())
    }

    /// The entity with the protected header fields inside (RFC 9788 section 2): they go into the entity's
    /// header, and its Content-Type gets `hp="clear"` (signed only) or `hp="cipher"` (encrypted).
    pub fn protected_entity(&self, hp: &str) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.entity.len() + 512);
        for name in PROTECTED {
            if let Some(f) = self.field(name) {
                out.extend_from_slice(f);
            }
        }
        let mut rest = &self.entity[..];
        // The entity starts with its Content-Type field (canon writes content fields first, in order).
        while !rest.starts_with(b"\r\n") && !rest.is_empty() {
            let end = field_end(rest);
            let field = &rest[..end];
            if field.len() > 13 && field[..13].eq_ignore_ascii_case(b"content-type:") {
                let trimmed = field.strip_suffix(b"\r\n").unwrap_or(field);
                out.extend_from_slice(trimmed);
                out.extend_from_slice(format!(";\r\n hp=\"{hp}\"\r\n").as_bytes());
            } else {
                out.extend_from_slice(field);
            }
            rest = &rest[end..];
        }
        out.extend_from_slice(rest);
        out
    }

    /// The outer header for a message whose payload carries the protected fields: the Subject obscured when
    /// the payload is encrypted.
    pub fn outer_for(&self, encrypted: bool) -> Vec<u8> {
        let mut out = Vec::new();
        for (name, raw) in &self.outer {
            if encrypted && name.eq_ignore_ascii_case("Subject") {
                out.extend_from_slice(&build::field("Subject", OBSCURED_SUBJECT));
            } else {
                out.extend_from_slice(raw);
            }
        }
        out
    }
}

/// Where the field starting `data` ends (after its last continuation line's CRLF).
fn field_end(data: &[u8]) -> usize {
    let mut i = 0;
    while let Some(nl) = data[i..].iter().position(|b| *b == b'\n') {
        i += nl + 1;
        if !matches!(data.get(i), Some(b' ' | b'\t')) {
            return i;
        }
    }
    data.len()
}

/// The outer header fields of a parsed message, CRLF line ends.
pub fn outer_fields(raw: &[u8], root: &Node) -> Vec<(String, Vec<u8>)> {
    root.headers
        .iter()
        .filter(|(n, _)| !is_content_field(n) && !n.eq_ignore_ascii_case("mime-version"))
        .map(|(n, r)| (n.clone(), canon::crlf(&raw[r.clone()])))
        .collect()
}

/// A message: outer header, `MIME-Version`, then the entity (which brings its own content fields).
pub fn assemble(outer: &[u8], entity: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(outer.len() + entity.len() + 32);
    out.extend_from_slice(outer);
    out.extend_from_slice(b"MIME-Version: 1.0\r\n");
    out.extend_from_slice(entity);
    out
}

/// After decryption: the outer fields, with those the payload protects (RFC 9788) taken from inside, and
/// the payload entity without them. Returns the message.
pub fn restore(outer: &[(String, Vec<u8>)], inner: &[u8]) -> Result<Vec<u8>, MailError> {
    let node = crate::mime::parse(inner)?;
    let protected_of = |n: &crate::mime::Node| -> Vec<(String, Vec<u8>)> {
        n.headers
            .iter()
            .filter(|(name, _)| PROTECTED.iter().any(|p| p.eq_ignore_ascii_case(name)))
            .map(|(name, r)| (name.clone(), canon::crlf(&inner[r.clone()])))
            .collect()
    };
    let mut inner_protected = protected_of(&node);
    // Signed, then encrypted: the protected fields are in the signed part, which stays as it is.
    if inner_protected.is_empty()
        && node.is("multipart/signed")
        && let Some(first) = node.children.first()
    {
        inner_protected = protected_of(first);
    }
    let mut header = Vec::new();
    for (name, raw) in outer {
        match inner_protected.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)) {
            Some(_) => {}
            None => header.extend_from_slice(raw),
        }
    }
    for (_, raw) in &inner_protected {
        header.extend_from_slice(raw);
    }
    // The entity: its own fields but the protected ones, then its body as it is.
    let mut entity = Vec::with_capacity(inner.len());
    for (name, r) in &node.headers {
        if !PROTECTED.iter().any(|p| p.eq_ignore_ascii_case(name)) {
            entity.extend_from_slice(&canon::crlf(&inner[r.clone()]));
        }
    }
    entity.extend_from_slice(b"\r\n");
    entity.extend_from_slice(&inner[node.body.clone()]);
    Ok(assemble(&header, &entity))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // A panic in a test is a failed test.

    use super::*;

    #[test]
    fn protected_headers_go_inside_and_come_back() {
        let raw = b"From: Alice <a@example.org>\nTo: b@example.net\nSubject: the plan\nX-Other: 1\nContent-Type: text/plain\n\nhello\n";
        let s = Split::new(raw).unwrap();
        let inner = s.protected_entity("cipher");
        let text = String::from_utf8(inner.clone()).unwrap();
        assert!(text.starts_with("From: Alice <a@example.org>\r\nTo: b@example.net\r\nSubject: the plan\r\nContent-Type: text/plain;\r\n hp=\"cipher\"\r\n\r\nhello\r\n"), "{text}");
        let outer = String::from_utf8(s.outer_for(true)).unwrap();
        assert!(
            outer.contains("Subject: [...]\r\n") && outer.contains("X-Other: 1\r\n") && !outer.contains("the plan")
        );
        let outer_fields: Vec<(String, Vec<u8>)> =
            vec![("Subject".into(), b"Subject: [...]\r\n".to_vec()), ("X-Other".into(), b"X-Other: 1\r\n".to_vec())];
        let restored = String::from_utf8(restore(&outer_fields, &inner).unwrap()).unwrap();
        assert!(restored.contains("Subject: the plan\r\n") && !restored.contains("[...]"), "{restored}");
        assert!(restored.ends_with("Content-Type: text/plain;\r\n hp=\"cipher\"\r\n\r\nhello\r\n"), "{restored}");
    }
}
