//! A server's FETCH response with its content items taken from the processed (decrypted, verified)
//! message: `BODY[<section>]<<partial>>`, `RFC822`, `RFC822.HEADER`, `RFC822.TEXT` recomputed from it, their
//! literal lengths with them, `RFC822.SIZE` its size, and BODYSTRUCTURE, BODY and ENVELOPE built from it, so
//! that every item of the response describes the same message. Other items (FLAGS, UID, INTERNALDATE, ...)
//! are kept as the server sent them.

use imap_codec::ResponseCodec;
use imap_codec::decode::Decoder;
use imap_codec::encode::Encoder;
use imap_codec::imap_types::core::{IString, Literal, NString};
use imap_codec::imap_types::fetch::{MessageDataItem, MessageDataItemName, Section};
use imap_codec::imap_types::response::{Data, Response};

use super::ImapError;
use super::{section, structure};

/// The `<origin.length>` a client asked for with a section, from its FETCH command (a server's response
/// gives the origin only, and the processed message has other lengths than the server's).
pub type Partials<'a> = [(Option<Section<'a>>, u32, u32)];

/// Partials requested by FETCH items (`BODY[...]<o.n>`, `BODY.PEEK[...]<o.n>`).
pub fn partials<'a>(items: &[MessageDataItemName<'a>]) -> Vec<(Option<Section<'a>>, u32, u32)> {
    items
        .iter()
        .filter_map(|i| match i {
            MessageDataItemName::BodyExt { section, partial: Some((o, n)), .. } => Some((section.clone(), *o, n.get())),
            _ => None,
        })
        .collect()
}

/// The UID item of a FETCH response, if it has one.
pub fn uid(response: &[u8]) -> Option<u32> {
    let Ok((_, Response::Data(Data::Fetch { items, .. }))) = ResponseCodec::default().decode(response) else {
        return None;
    };
    items.as_ref().iter().find_map(|i| match i {
        MessageDataItem::Uid(u) => Some(u.get()),
        _ => None,
    })
}

/// Rewrites one complete FETCH response (`* n FETCH (...)` with its literals) for `message`. Returns the
/// response's bytes to send to the client. With `drop_whole`, a `BODY[]` item (the one the proxy added, when
/// the server sent it as a quoted string) is left out.
pub fn rewrite(
    response: &[u8],
    message: &[u8],
    partials: &Partials<'_>,
    drop_whole: bool,
) -> Result<Vec<u8>, ImapError> {
    let (rest, parsed) =
        ResponseCodec::default().decode(response).map_err(|e| ImapError::Malformed(format!("{e:?}")))?;
    if !rest.is_empty() {
        return Err(ImapError::Malformed("bytes after the FETCH response".into()));
    }
    let Response::Data(Data::Fetch { seq, items }) = parsed else {
        return Err(ImapError::Malformed("not a FETCH response".into()));
    };
    let literal = |data: Vec<u8>| -> Result<NString<'static>, ImapError> {
        // Literals cannot hold NUL (RFC 3501 CHAR8); a message with one is answered from the server's copy.
        let l = Literal::try_from(data).map_err(|e| ImapError::Malformed(format!("literal: {e:?}")))?;
        Ok(NString(Some(IString::Literal(l))))
    };
    let mut out = Vec::with_capacity(items.as_ref().len());
    for item in items.into_iter() {
        if drop_whole && matches!(item, MessageDataItem::BodyExt { section: None, origin: None, .. }) {
            continue;
        }
        out.push(match item {
            MessageDataItem::BodyExt { section, origin, .. } => {
                let whole = section::bytes(message, section.as_ref())?;
                let data = match origin {
                    None => whole.into_owned(),
                    Some(o) => {
                        let length = partials
                            .iter()
                            .find(|(s, po, _)| s == &section && *po == o)
                            .map_or(u32::MAX, |(_, _, n)| *n);
                        section::partial(&whole, o, length).to_vec()
                    }
                };
                MessageDataItem::BodyExt { section, origin, data: literal(data)? }
            }
            MessageDataItem::Rfc822(_) => MessageDataItem::Rfc822(literal(message.to_vec())?),
            MessageDataItem::Rfc822Header(_) => MessageDataItem::Rfc822Header(literal(
                section::bytes(message, Some(&Section::Header(None)))?.into_owned(),
            )?),
            MessageDataItem::Rfc822Text(_) => {
                MessageDataItem::Rfc822Text(literal(section::bytes(message, Some(&Section::Text(None)))?.into_owned())?)
            }
            MessageDataItem::Rfc822Size(_) => MessageDataItem::Rfc822Size(
                u32::try_from(message.len()).map_err(|_| ImapError::Malformed("message over 4 GiB".into()))?,
            ),
            MessageDataItem::BodyStructure(_) => {
                MessageDataItem::BodyStructure(structure::body_structure(message, true)?)
            }
            MessageDataItem::Body(_) => MessageDataItem::Body(structure::body_structure(message, false)?),
            MessageDataItem::Envelope(_) => MessageDataItem::Envelope(structure::envelope(message)?),
            other => other,
        });
    }
    let items = out.try_into().map_err(|_| ImapError::Malformed("empty FETCH".into()))?;
    Ok(ResponseCodec::default().encode(&Response::Data(Data::Fetch { seq, items })).dump())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)] // A panic in a test is a failed test.

    use std::num::NonZeroU32;

    use super::*;

    const PROCESSED: &[u8] = b"Sealpost-Verification: mx.example.org; format=pgp; status=pass\r\nSubject: secret\r\n\r\nThe plaintext.\r\n{5}\r\nA1 LOGOUT\r\n* BYE\r\n";

    #[test]
    fn content_items_come_from_the_processed_message_with_their_lengths() {
        let server =
            b"* 3 FETCH (UID 7 FLAGS (\\Seen) RFC822.SIZE 26 BODY[] {26}\r\nSubject: ...\r\n\r\nciphertext)\r\n";
        let out = rewrite(server, PROCESSED, &[], false).unwrap();
        let text = String::from_utf8(out.clone()).unwrap();
        let expected = format!(
            "* 3 FETCH (UID 7 FLAGS (\\Seen) RFC822.SIZE {n} BODY[] {{{n}}}\r\n{})\r\n",
            String::from_utf8_lossy(PROCESSED),
            n = PROCESSED.len()
        );
        assert_eq!(text, expected);
        // The literal is data: the lines inside it that look like IMAP stay inside it.
        let (rest, parsed) = ResponseCodec::default().decode(&out).unwrap();
        assert!(rest.is_empty());
        let Response::Data(Data::Fetch { items, .. }) = parsed else { panic!("{parsed:?}") };
        let body = items.as_ref().iter().find_map(|i| match i {
            MessageDataItem::BodyExt { data: NString(Some(s)), .. } => Some(s.as_ref().to_vec()),
            _ => None,
        });
        assert_eq!(body.unwrap(), PROCESSED);
    }

    #[test]
    fn header_text_and_partials() {
        let server =
            b"* 1 FETCH (RFC822.HEADER {14}\r\nSubject: ...\r\n RFC822.TEXT {4}\r\nabcd BODY[TEXT]<2> {2}\r\ncd)\r\n";
        let requested = [MessageDataItemName::BodyExt {
            section: Some(Section::Text(None)),
            partial: Some((2, NonZeroU32::new(5).unwrap())),
            peek: true,
        }];
        let out = String::from_utf8(rewrite(server, PROCESSED, &partials(&requested), false).unwrap()).unwrap();
        let header = "Sealpost-Verification: mx.example.org; format=pgp; status=pass\r\nSubject: secret\r\n\r\n";
        let text = "The plaintext.\r\n{5}\r\nA1 LOGOUT\r\n* BYE\r\n";
        assert_eq!(
            out,
            format!(
                "* 1 FETCH (RFC822.HEADER {{{}}}\r\n{header} RFC822.TEXT {{{}}}\r\n{text} BODY[TEXT]<2> {{5}}\r\ne pla)\r\n",
                header.len(),
                text.len()
            )
        );
    }

    #[test]
    fn structure_items_describe_the_processed_message() {
        let server = b"* 2 FETCH (UID 9 BODYSTRUCTURE (\"APPLICATION\" \"PKCS7-MIME\" NIL NIL NIL \"BASE64\" 10 NIL NIL NIL NIL) ENVELOPE (NIL \"...\" NIL NIL NIL NIL NIL NIL NIL NIL))\r\n";
        let out = String::from_utf8(rewrite(server, PROCESSED, &[], false).unwrap()).unwrap();
        let n = PROCESSED.len() - PROCESSED.windows(4).position(|w| w == b"\r\n\r\n").unwrap() - 4;
        assert!(
            out.starts_with(&format!("* 2 FETCH (UID 9 BODYSTRUCTURE (\"TEXT\" \"PLAIN\" NIL NIL NIL \"7BIT\" {n} 4 ")),
            "{out}"
        );
        assert!(out.contains("ENVELOPE (NIL \"secret\" NIL NIL NIL NIL NIL NIL NIL NIL)"), "{out}");
    }

    #[test]
    fn what_is_not_a_fetch_response_is_an_error() {
        assert!(rewrite(b"* OK hello\r\n", PROCESSED, &[], false).is_err());
        assert!(rewrite(b"* 1 FETCH (BODY[] {99999999999}\r\n", PROCESSED, &[], false).is_err());
        assert!(rewrite(b"* 1 FETCH (BODY[] {3}\r\nabc)\r\n* 2 FETCH (UID 1)\r\n", PROCESSED, &[], false).is_err());
        assert!(rewrite(b"* 1 FETCH (BODY[9] {3}\r\nabc)\r\n", PROCESSED, &[], false).is_err(), "no part 9");
    }
}
