//! The bytes of a `BODY[<section>]<<partial>>` of a message (RFC 3501 section 6.4.5), computed from our
//! MIME tree over the message's own bytes, so a section is byte for byte what a server would return for the
//! same message.

use imap_codec::imap_types::fetch::{Part, Section};

use super::ImapError;
use crate::mime::entity::{Node, parse};

/// The bytes of `section` (`None`: the whole message) of `message`.
pub fn bytes<'a>(message: &'a [u8], section: Option<&Section<'_>>) -> Result<std::borrow::Cow<'a, [u8]>, ImapError> {
    use std::borrow::Cow;
    let Some(section) = section else { return Ok(Cow::Borrowed(message)) };
    let root = parse(message)?;
    // The node whose header/text a HEADER/TEXT specifier means: the message itself, or the message
    // encapsulated in the message/rfc822 part named.
    let message_node = |part: &Option<Part>| -> Result<Node, ImapError> {
        match part {
            None => Ok(root.clone()),
            Some(p) => {
                let node = resolve(&root, p)?;
                node.message
                    .as_deref()
                    .cloned()
                    .ok_or_else(|| ImapError::NoSection(format!("{} is not a message/rfc822 part", name(p))))
            }
        }
    };
    let header = |n: &Node| &message[n.header.start..n.body.start];
    Ok(match section {
        Section::Part(p) => Cow::Borrowed(&message[resolve(&root, p)?.body.clone()]),
        Section::Mime(p) => Cow::Borrowed(header(resolve(&root, p)?)),
        Section::Header(p) => {
            let n = message_node(p)?;
            Cow::Owned(header(&n).to_vec())
        }
        Section::Text(p) => {
            let n = message_node(p)?;
            Cow::Owned(message[n.body.clone()].to_vec())
        }
        Section::HeaderFields(p, names) | Section::HeaderFieldsNot(p, names) => {
            let keep = matches!(section, Section::HeaderFields(..));
            let n = message_node(p)?;
            let names: Vec<&[u8]> = names.as_ref().iter().map(|a| a.as_ref()).collect();
            let mut out = Vec::new();
            for (field, range) in &n.headers {
                let listed = names.iter().any(|w| w.eq_ignore_ascii_case(field.as_bytes()));
                if listed == keep {
                    out.extend_from_slice(&message[range.clone()]);
                    if !out.ends_with(b"\n") {
                        out.extend_from_slice(b"\r\n");
                    }
                }
            }
            out.extend_from_slice(b"\r\n");
            Cow::Owned(out)
        }
    })
}

/// `<origin.length>` of `data`: from `origin`, at most `length` octets; empty past the end.
pub fn partial(data: &[u8], origin: u32, length: u32) -> &[u8] {
    let start = (origin as usize).min(data.len());
    let end = start.saturating_add(length as usize).min(data.len());
    &data[start..end]
}

fn name(p: &Part) -> String {
    p.0.as_ref().iter().map(|n| n.to_string()).collect::<Vec<_>>().join(".")
}

/// The node a part number names: every message has a part 1 (itself when not multipart); the parts of a
/// multipart are numbered from 1; a message/rfc822 part's numbers continue into the encapsulated message.
fn resolve<'n>(root: &'n Node, part: &Part) -> Result<&'n Node, ImapError> {
    let missing = || ImapError::NoSection(name(part));
    let mut cur = root;
    for (i, k) in part.0.as_ref().iter().enumerate() {
        let k = k.get() as usize;
        let container =
            if i > 0 && cur.is("message/rfc822") { cur.message.as_deref().ok_or_else(missing)? } else { cur };
        cur = if container.content_type.starts_with("multipart/") {
            container.children.get(k - 1).ok_or_else(missing)?
        } else if k == 1 && (i == 0 || !std::ptr::eq(container, cur)) {
            container
        } else {
            return Err(missing());
        };
    }
    Ok(cur)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // A panic in a test is a failed test.

    use std::num::NonZeroU32;

    use imap_codec::imap_types::core::{AString, Vec1};

    use super::*;

    const MSG: &[u8] = b"From: a@example.org\r\nSubject: s\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\npre\r\n--b\r\nContent-Type: text/plain\r\n\r\nfirst\r\n--b\r\nContent-Type: message/rfc822\r\n\r\nFrom: c@example.net\r\nSubject: inner\r\n\r\ninner text\r\n--b--\r\n";

    fn part(p: &[u32]) -> Part {
        Part(Vec1::try_from(p.iter().map(|n| NonZeroU32::new(*n).unwrap()).collect::<Vec<_>>()).unwrap())
    }

    fn get(s: Option<Section<'_>>) -> String {
        String::from_utf8(bytes(MSG, s.as_ref()).unwrap().into_owned()).unwrap()
    }

    #[test]
    fn sections_are_what_rfc_3501_names() {
        assert_eq!(get(None).as_bytes(), MSG);
        assert_eq!(
            get(Some(Section::Header(None))),
            "From: a@example.org\r\nSubject: s\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n"
        );
        assert!(get(Some(Section::Text(None))).starts_with("pre\r\n--b\r\n"));
        assert_eq!(get(Some(Section::Part(part(&[1])))), "first");
        assert_eq!(get(Some(Section::Mime(part(&[1])))), "Content-Type: text/plain\r\n\r\n");
        assert_eq!(get(Some(Section::Part(part(&[2])))), "From: c@example.net\r\nSubject: inner\r\n\r\ninner text");
        assert_eq!(get(Some(Section::Header(Some(part(&[2]))))), "From: c@example.net\r\nSubject: inner\r\n\r\n");
        assert_eq!(get(Some(Section::Text(Some(part(&[2]))))), "inner text");
        assert_eq!(get(Some(Section::Part(part(&[2, 1])))), "inner text");
        let names = Vec1::from(AString::try_from("SUBJECT").unwrap());
        assert_eq!(get(Some(Section::HeaderFields(None, names.clone()))), "Subject: s\r\n\r\n");
        assert_eq!(
            get(Some(Section::HeaderFieldsNot(None, names))),
            "From: a@example.org\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n"
        );
        for missing in [&[3][..], &[1, 1], &[2, 2]] {
            assert!(bytes(MSG, Some(&Section::Part(part(missing)))).is_err(), "{missing:?}");
        }
        assert!(bytes(MSG, Some(&Section::Header(Some(part(&[1]))))).is_err(), "part 1 is not a message");
        // A message that is not multipart has a part 1: its body.
        let plain = b"Subject: x\r\n\r\nbody\r\n";
        assert_eq!(&*bytes(plain, Some(&Section::Part(part(&[1])))).unwrap(), b"body\r\n");
        assert_eq!(partial(b"abcdef", 2, 3), b"cde");
        assert_eq!(partial(b"abcdef", 4, 10), b"ef");
        assert_eq!(partial(b"abcdef", 9, 1), b"");
    }
}
