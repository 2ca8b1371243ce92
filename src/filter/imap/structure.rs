//! BODYSTRUCTURE, BODY and ENVELOPE of a message (RFC 3501 section 7.4.2) built from our MIME tree, so that
//! what the proxy says about a processed message describes the message it returns, not the server's copy.

use imap_codec::imap_types::body::{
    BasicFields, Body, BodyStructure, Disposition, Language, Location, MultiPartExtensionData, SinglePartExtensionData,
    SpecificFields,
};
use imap_codec::imap_types::core::{IString, NString, Vec1};
use imap_codec::imap_types::envelope::{Address, Envelope};

use super::ImapError;
use crate::mime::entity::{Node, parse};

/// The BODYSTRUCTURE (`extended`) or BODY of `message`.
pub fn body_structure(message: &[u8], extended: bool) -> Result<BodyStructure<'static>, ImapError> {
    let root = parse(message)?;
    node(message, &root, extended)
}

/// The ENVELOPE of `message`.
pub fn envelope(message: &[u8]) -> Result<Envelope<'static>, ImapError> {
    let root = parse(message)?;
    envelope_of(message, &root)
}

fn istring(s: &str) -> Result<IString<'static>, ImapError> {
    IString::try_from(s.to_string()).map_err(|e| ImapError::Malformed(format!("{s:?}: {e:?}")))
}

fn nstring(s: Option<String>) -> Result<NString<'static>, ImapError> {
    Ok(NString(s.map(|s| istring(&s)).transpose()?))
}

fn params(p: &[(String, String)]) -> Result<Vec<(IString<'static>, IString<'static>)>, ImapError> {
    p.iter().map(|(k, v)| Ok((istring(&k.to_ascii_uppercase())?, istring(v)?))).collect()
}

fn lines(data: &[u8]) -> u32 {
    let n = data.iter().filter(|b| **b == b'\n').count() + usize::from(!data.is_empty() && !data.ends_with(b"\n"));
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// `value; a=b; c="d"` split into the value and its parameters (names lower case).
fn with_params(text: &str) -> (String, Vec<(String, String)>) {
    let mut parts = text.split(';');
    let value = parts.next().unwrap_or("").trim().to_ascii_lowercase();
    let ps = parts
        .filter_map(|p| p.split_once('='))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().trim_matches('"').to_string()))
        .collect();
    (value, ps)
}

fn node(raw: &[u8], n: &Node, extended: bool) -> Result<BodyStructure<'static>, ImapError> {
    let (ty, subtype) = n.content_type.split_once('/').unwrap_or(("text", "plain"));
    let field = |name: &str| n.field_value(raw, name);
    let disposition = field("content-disposition")
        .map(|d| {
            let (v, ps) = with_params(&d);
            Ok::<_, ImapError>((istring(&v.to_ascii_uppercase())?, params(&ps)?))
        })
        .transpose()?;
    let language: Vec<IString<'static>> = field("content-language")
        .map(|l| l.split(',').map(|x| istring(x.trim())).collect::<Result<_, _>>())
        .transpose()?
        .unwrap_or_default();
    let tail = Disposition {
        disposition,
        tail: Some(Language {
            language,
            tail: Some(Location { location: nstring(field("content-location"))?, extensions: Vec::new() }),
        }),
    };
    if ty == "multipart" && !n.children.is_empty() {
        let bodies = n.children.iter().map(|c| node(raw, c, extended)).collect::<Result<Vec<_>, _>>()?;
        let bodies = Vec1::try_from(bodies).map_err(|_| ImapError::Malformed("multipart without parts".into()))?;
        return Ok(BodyStructure::Multi {
            bodies,
            subtype: istring(&subtype.to_ascii_uppercase())?,
            extension_data: extended
                .then(|| {
                    Ok::<_, ImapError>(MultiPartExtensionData {
                        parameter_list: params(&n.params)?,
                        tail: Some(tail.clone()),
                    })
                })
                .transpose()?,
        });
    }
    let body = &raw[n.body.clone()];
    let basic = BasicFields {
        parameter_list: params(&n.params)?,
        id: nstring(field("content-id"))?,
        description: nstring(field("content-description"))?,
        content_transfer_encoding: istring(
            &field("content-transfer-encoding").unwrap_or_else(|| "7bit".into()).to_ascii_uppercase(),
        )?,
        size: u32::try_from(body.len()).unwrap_or(u32::MAX),
    };
    let specific = match (ty, n.message.as_deref()) {
        ("text", _) => {
            SpecificFields::Text { subtype: istring(&subtype.to_ascii_uppercase())?, number_of_lines: lines(body) }
        }
        ("message", Some(inner)) if subtype == "rfc822" => SpecificFields::Message {
            envelope: Box::new(envelope_of(raw, inner)?),
            body_structure: Box::new(node(raw, inner, extended)?),
            number_of_lines: lines(body),
        },
        _ => SpecificFields::Basic {
            r#type: istring(&ty.to_ascii_uppercase())?,
            subtype: istring(&subtype.to_ascii_uppercase())?,
        },
    };
    Ok(BodyStructure::Single {
        body: Body { basic, specific },
        extension_data: extended
            .then(|| {
                Ok::<_, ImapError>(SinglePartExtensionData { md5: nstring(field("content-md5"))?, tail: Some(tail) })
            })
            .transpose()?,
    })
}

fn envelope_of(raw: &[u8], n: &Node) -> Result<Envelope<'static>, ImapError> {
    let field = |name: &str| n.field_value(raw, name);
    let header = &raw[n.header.start..n.body.start.max(n.header.start)];
    let parsed = mail_parser::MessageParser::default().parse(header);
    let list = |name: &str| -> Result<Vec<Address<'static>>, ImapError> {
        let Some(m) = &parsed else { return Ok(Vec::new()) };
        let addr = match name {
            "from" => m.from(),
            "sender" => m.sender(),
            "reply-to" => m.reply_to(),
            "to" => m.to(),
            "cc" => m.cc(),
            _ => m.bcc(),
        };
        addr.into_iter()
            .flat_map(|a| a.iter())
            .map(|a| {
                let email = a.address.as_deref().unwrap_or("");
                let (mailbox, host) = email.rsplit_once('@').unwrap_or((email, ""));
                Ok(Address {
                    name: nstring(a.name.as_deref().map(String::from))?,
                    adl: NString(None),
                    mailbox: nstring(Some(mailbox.to_string()))?,
                    host: nstring(Some(host.to_string()))?,
                })
            })
            .collect()
    };
    let from = list("from")?;
    // RFC 3501: a missing Sender or Reply-To is given as From.
    let sender = if field("sender").is_some() { list("sender")? } else { from.clone() };
    let reply_to = if field("reply-to").is_some() { list("reply-to")? } else { from.clone() };
    Ok(Envelope {
        date: nstring(field("date"))?,
        subject: nstring(field("subject"))?,
        from,
        sender,
        reply_to,
        to: list("to")?,
        cc: list("cc")?,
        bcc: list("bcc")?,
        in_reply_to: nstring(field("in-reply-to"))?,
        message_id: nstring(field("message-id"))?,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // A panic in a test is a failed test.

    use imap_codec::ResponseCodec;
    use imap_codec::encode::Encoder;
    use imap_codec::imap_types::fetch::MessageDataItem;
    use imap_codec::imap_types::response::{Data, Response};

    use super::*;

    fn encoded(item: MessageDataItem<'static>) -> String {
        let r = Response::Data(Data::Fetch { seq: std::num::NonZeroU32::new(1).unwrap(), items: Vec1::from(item) });
        String::from_utf8(ResponseCodec::default().encode(&r).dump()).unwrap()
    }

    #[test]
    fn structure_and_envelope_describe_the_message() {
        let msg = b"Date: Mon, 30 Nov 2026 10:00:00 +0000\r\nFrom: Carol <carol@example.com>\r\nTo: bob@example.org\r\nSubject: hi\r\nMessage-ID: <m1@example.com>\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nline one\r\nline two\r\n--b\r\nContent-Type: application/pdf\r\nContent-Transfer-Encoding: base64\r\nContent-Disposition: attachment; filename=\"a.pdf\"\r\n\r\nAAAA\r\n--b--\r\n";
        let s = encoded(MessageDataItem::BodyStructure(body_structure(msg, true).unwrap()));
        assert_eq!(
            s,
            "* 1 FETCH (BODYSTRUCTURE ((\"TEXT\" \"PLAIN\" (\"CHARSET\" \"utf-8\") NIL NIL \"7BIT\" 18 2 NIL NIL NIL NIL)(\"APPLICATION\" \"PDF\" NIL NIL NIL \"BASE64\" 4 NIL (\"ATTACHMENT\" (\"FILENAME\" \"a.pdf\")) NIL NIL) \"MIXED\" (\"BOUNDARY\" \"b\") NIL NIL NIL))\r\n"
        );
        let s = encoded(MessageDataItem::Body(body_structure(msg, false).unwrap()));
        assert!(
            s.starts_with("* 1 FETCH (BODY ((\"TEXT\" \"PLAIN\" (\"CHARSET\" \"utf-8\") NIL NIL \"7BIT\" 18 2)"),
            "{s}"
        );
        let s = encoded(MessageDataItem::Envelope(envelope(msg).unwrap()));
        assert_eq!(
            s,
            "* 1 FETCH (ENVELOPE (\"Mon, 30 Nov 2026 10:00:00 +0000\" \"hi\" ((\"Carol\" NIL \"carol\" \"example.com\")) ((\"Carol\" NIL \"carol\" \"example.com\")) ((\"Carol\" NIL \"carol\" \"example.com\")) ((NIL NIL \"bob\" \"example.org\")) NIL NIL NIL \"<m1@example.com>\"))\r\n"
        );
    }
}
