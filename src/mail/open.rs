//! Reading a received message: find its cryptographic envelope, verify and decrypt it, and write the
//! message with the verification header.
//!
//! Only the envelope counts (SECURITY-CASES B3): the contiguous signed and encrypted layers from the root of
//! the message down (PGP/MIME, S/MIME, inline PGP or PEM in a single text body). A message whose root is not
//! such a layer is unsigned as a whole; a signed part found inside it is verified and reported as covering
//! only that part (`partially-signed`, with the part's number), and an encrypted part inside it is not
//! decrypted, so that decrypted text is never shown merged with parts an attacker could have added around
//! it (SECURITY-CASES A2, EFAIL direct exfiltration).

use super::compose::{outer_fields, restore};
use super::keys::MailKeys;
use super::result_header::{self, FromMatch};
use super::{MailError, pem_mail, pgp_mime, smime_mime};
use crate::core::compress::Budget;
use crate::core::policy::Policy;
use crate::core::verdict::{Format, SignerStatus, Verdict};
use crate::mime::{Node, body, build, parse};
use crate::pem::Trust;

/// Most nested envelopes (e.g. signed inside encrypted inside signed) opened.
const MAX_LAYERS: usize = 4;

/// Decompressed output one message may produce, all its layers together (OpenPGP compressed packets, CMS
/// CompressedData, at any depth): what a whole message may be ([`crate::mime::entity::MAX_MESSAGE`]), since
/// the mail layer holds it in memory.
fn message_budget() -> Budget {
    Budget::new(crate::mime::entity::MAX_MESSAGE as u64, 1000)
}

/// How to open.
pub struct OpenOptions<'a> {
    /// The authserv-id in our header (the host's name).
    pub authserv_id: &'a str,
    /// The policy.
    pub policy: &'a Policy,
}

/// The result: the verdict and the message to hand on.
#[derive(Debug)]
pub struct Opened {
    /// The verdict (with `part` and `from` set).
    pub verdict: Verdict,
    /// The message: decrypted if it was encrypted, spoofed verification headers removed, ours first.
    pub message: Vec<u8>,
}

/// One layer opened: its verdict, and the entity inside when the layer wraps one (encryption, signed-data,
/// inline PGP, PEM); `None` for `multipart/signed`, whose content is left where it is.
struct Layer {
    verdict: Verdict,
    inner: Option<Vec<u8>>,
}

/// Opens `raw`: verifies and decrypts its envelope with `keys`.
pub fn open(raw: &[u8], keys: &MailKeys, opts: &OpenOptions<'_>) -> Result<Opened, MailError> {
    open_within(raw, keys, opts, &message_budget())
}

/// [`open`], with every layer's decompression charged to `budget`.
fn open_within(raw: &[u8], keys: &MailKeys, opts: &OpenOptions<'_>, budget: &Budget) -> Result<Opened, MailError> {
    let root = parse(raw)?;
    let outer = outer_fields(raw, &root);
    let (mut verdict, message) = match envelope(raw, &root, keys, opts.policy, budget, 0) {
        // The envelope could not be opened (a malformed signature, no key, a failed integrity check): the
        // message goes on as it came, with a failing verdict that says why.
        Err(e) => {
            let mut v = Verdict::new(format_of(raw, &root));
            v.failure = Some(e.to_string());
            v.part = Some("whole".into());
            (v.finish(), raw.to_vec())
        }
        Ok(Some(layer)) => {
            let mut v = layer.verdict;
            v.part = Some("whole".into());
            let message = match layer.inner {
                Some(entity) => restore(&outer, &entity)?,
                None => raw.to_vec(),
            };
            (v, message)
        }
        Ok(None) => (inner_parts(raw, &root, keys, opts.policy)?, raw.to_vec()),
    };
    // From as the reader sees it: after decryption, the protected one; for a signed message whose signed
    // part carries a From of its own (RFC 9788 header protection), that one, and an outer From that differs
    // from it is reported.
    let shown = parse(&message)?;
    let outer_from = shown.field_value(&message, "from");
    let inner_from = signed_from(&message, &shown);
    let from = inner_from.clone().or(outer_from.clone());
    let mut matched = from_match(&verdict, from.as_deref(), keys);
    if let (Some(inner), Some(outer)) = (&inner_from, &outer_from)
        && result_header::addresses(inner) != result_header::addresses(outer)
    {
        verdict.notes.push(format!("the From inside the signature ({inner}) differs from the outer From ({outer})"));
        matched = FromMatch::Mismatch;
    }
    verdict.from = Some(matched.name().to_string());
    if matched == FromMatch::Mismatch {
        verdict.notes.push(format!(
            "the signer is not the sender: no good signer has the From address {}",
            from.as_deref().and_then(result_header::address).unwrap_or_default()
        ));
    }
    let message = result_header::stamp(&message, opts.authserv_id, &verdict, matched)?;
    Ok(Opened { verdict, message })
}

/// True when `raw` has an envelope that [`open`] opens: a PGP/MIME or S/MIME signed or encrypted root, or a
/// text body holding inline PGP or a PEM message. The proxies show any other message as it is. Reads the
/// header only, and for a text body looks for the armor lines (every message a proxy relays comes here).
pub fn is_sealed(raw: &[u8]) -> bool {
    crate::mime::parse_header(raw).is_ok_and(|root| sealed(raw, &root))
}

fn sealed(raw: &[u8], root: &crate::mime::Node) -> bool {
    if pgp_mime::is_signed(root)
        || pgp_mime::is_encrypted(root)
        || smime_mime::is_signed(root)
        || smime_mime::is_pkcs7_mime(root)
    {
        return true;
    }
    let Some(body) = raw.get(root.body.clone()) else { return false };
    root.is("text/plain") && has_armor(body)
}

/// True when `raw` carries a verification header that poses as ours (any spelling of `Sealpost-...`, an
/// Authentication-Results claiming `authserv_id`) in its own header or in the header of a message attached
/// to it: what a proxy must take out even of a message it otherwise shows as stored (SECURITY-CASES C).
/// Reads the root header only unless the message has attached messages.
pub fn has_forged_verification(raw: &[u8], authserv_id: &str) -> bool {
    crate::mime::parse_header(raw).is_ok_and(|root| forged(raw, &root, authserv_id))
}

fn forged(raw: &[u8], root: &crate::mime::Node, authserv_id: &str) -> bool {
    if !result_header::spoofed_fields(raw, root, authserv_id).is_empty() {
        return true;
    }
    // Inner headers exist only below a multipart or message/... root.
    (root.is_multipart() || root.content_type.starts_with("message/"))
        && crate::mime::entity::attached_messages(raw) > 0
        && parse(raw).is_ok_and(|full| !result_header::spoofed_fields(raw, &full, authserv_id).is_empty())
}

/// [`is_sealed`] or [`has_forged_verification`], the root header parsed once: what the proxies ask of
/// every message they relay (two parses were 5% of the POP3 proxy's time).
pub fn needs_opening(raw: &[u8], authserv_id: &str) -> bool {
    crate::mime::parse_header(raw).is_ok_and(|root| sealed(raw, &root) || forged(raw, &root, authserv_id))
}

/// `raw` without the verification headers that pose as ours, anywhere in it (see
/// [`has_forged_verification`]); `None` when it cannot be parsed.
pub fn without_forged_verification(raw: &[u8], authserv_id: &str) -> Option<Vec<u8>> {
    let root = parse(raw).ok()?;
    Some(result_header::cut(raw, &result_header::spoofed_fields(raw, &root, authserv_id)))
}

/// True when a text body has a line that begins inline PGP (`-----BEGIN PGP MESSAGE-----`, `-----BEGIN PGP
/// SIGNED MESSAGE-----`) or holds a PEM message (`-----BEGIN PRIVACY-ENHANCED MESSAGE-----`): one pass
/// over the body for the common prefix, then a look at each (rare) hit.
fn has_armor(body: &[u8]) -> bool {
    static BEGIN: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
        std::sync::LazyLock::new(|| memchr::memmem::Finder::new(b"-----BEGIN P"));
    BEGIN.find_iter(body).any(|at| {
        let rest = &body[at..];
        let line_start = at == 0 || body[at - 1] == b'\n';
        (line_start
            && (rest.starts_with(b"-----BEGIN PGP MESSAGE-----")
                || rest.starts_with(b"-----BEGIN PGP SIGNED MESSAGE-----")))
            || rest.starts_with(crate::pem::message::BEGIN.as_bytes())
    })
}

/// The From field inside the signed part of a `multipart/signed` root (RFC 9788 header protection).
fn signed_from(raw: &[u8], root: &Node) -> Option<String> {
    if !(pgp_mime::is_signed(root) || smime_mime::is_signed(root)) {
        return None;
    }
    root.children.first()?.field_value(raw, "from")
}

/// The format a root part would be in, for the verdict of an envelope that could not be opened.
fn format_of(raw: &[u8], root: &Node) -> Format {
    if smime_mime::is_signed(root) || smime_mime::is_pkcs7_mime(root) {
        Format::Smime
    } else if root.is("text/plain") && pem_mail::is_pem(&raw[root.body.clone()]) {
        Format::Pem
    } else {
        Format::Pgp
    }
}

/// The good signers' addresses against From: S/MIME and PEM signers carry theirs; for OpenPGP signers
/// every user ID of the certificate with the signer's fingerprint counts.
fn from_match(v: &Verdict, from: Option<&str>, keys: &MailKeys) -> FromMatch {
    let addresses: Vec<Vec<String>> = v
        .signers
        .iter()
        .filter(|s| s.status == SignerStatus::Good)
        .map(|s| {
            let mut a: Vec<String> = s.email.iter().map(|e| e.to_ascii_lowercase()).collect();
            if v.format == Format::Pgp {
                let fpr = s.id.split_whitespace().next().unwrap_or("");
                for cert in keys.pgp_certs.iter().filter(|c| !fpr.is_empty() && c.fingerprint().to_hex() == fpr) {
                    for uid in cert.userids() {
                        if let Ok(Some(e)) = uid.userid().email_normalized() {
                            a.push(e);
                        }
                    }
                }
            }
            if a.is_empty()
                && let Some(e) = result_header::address(&s.id)
            {
                a.push(e);
            }
            a
        })
        .collect();
    result_header::from_match(from, &addresses)
}

/// Opens the envelope at `node`, if it is one, and the envelopes directly inside it.
fn envelope(
    raw: &[u8],
    node: &Node,
    keys: &MailKeys,
    policy: &Policy,
    budget: &Budget,
    depth: usize,
) -> Result<Option<Layer>, MailError> {
    if depth >= MAX_LAYERS {
        return Ok(None);
    }
    let layer = if pgp_mime::is_signed(node) {
        Layer { verdict: pgp_mime::verify_signed(raw, node, keys.pgp_certs.clone(), policy)?, inner: None }
    } else if smime_mime::is_signed(node) {
        let v = smime_mime::verify_signed(raw, node, &keys.x509_certs, &keys.anchors, policy)?;
        Layer { verdict: v, inner: None }
    } else if pgp_mime::is_encrypted(node) {
        let secret = keys.pgp_secret.as_ref().ok_or_else(|| {
            MailError::NoKey("the message is OpenPGP-encrypted: give a secret key to decrypt it".into())
        })?;
        let (v, inner) = pgp_mime::decrypt_encrypted(raw, node, secret, keys.pgp_certs.clone(), policy, budget)?;
        Layer { verdict: v, inner: Some(inner) }
    } else if smime_mime::is_pkcs7_mime(node) {
        let o =
            smime_mime::open_pkcs7(raw, node, &keys.x509_identities, &keys.x509_certs, &keys.anchors, policy, budget)?;
        // A receipt's content is a Receipt, not a message: the receipt message is shown as it is.
        Layer { verdict: o.verdict, inner: if o.receipt { None } else { Some(o.entity) } }
    } else if node.is("text/plain") && node.children.is_empty() {
        let text = body::decoded(raw, node)?;
        if let Some((_, block)) = pgp_mime::inline_block(&text) {
            let (mut v, recovered) = pgp_mime::read_inline(
                &text[block.clone()],
                keys.pgp_secret.as_ref(),
                keys.pgp_certs.clone(),
                policy,
                budget,
            )?;
            let outside = text[..block.start].iter().chain(&text[block.end..]).any(|b| !b.is_ascii_whitespace());
            if outside {
                v.partial = true;
                v.notes.push("text outside the OpenPGP armor is not covered by the signature".into());
            }
            let mut entity = build::field("Content-Type", "text/plain; charset=utf-8");
            entity.extend_from_slice(b"\r\n");
            entity.extend_from_slice(&recovered);
            Layer { verdict: v.finish(), inner: Some(entity) }
        } else if pem_mail::is_pem(&text) {
            let trust = Trust {
                certs: keys
                    .x509_certs
                    .iter()
                    .map(|c| crate::x509::Certificate::from_x509(c.clone()))
                    .collect::<Result<_, _>>()?,
                anchors: keys
                    .anchors
                    .iter()
                    .map(|c| crate::x509::Certificate::from_x509(c.clone()))
                    .collect::<Result<_, _>>()?,
            };
            let (v, entity) = pem_mail::read(&text, &keys.x509_identities, &trust, policy)?;
            Layer { verdict: v, inner: Some(entity) }
        } else {
            return Ok(None);
        }
    } else {
        return Ok(None);
    };
    // An envelope inside this one (signed inside encrypted, or the reverse).
    let inner_node = match &layer.inner {
        Some(entity) => Some((parse(entity)?, entity.clone())),
        None => None,
    };
    if let Some((n, entity)) = inner_node
        && let Some(deeper) = envelope(&entity, &n, keys, policy, budget, depth + 1)?
    {
        let mut v = layer.verdict;
        v.signers.extend(deeper.verdict.signers);
        v.notes.extend(deeper.verdict.notes);
        v.add_weak(deeper.verdict.weak);
        v.partial |= deeper.verdict.partial;
        if deeper.verdict.failure.is_some() {
            v.failure = deeper.verdict.failure;
        }
        v.encrypted |= deeper.verdict.encrypted;
        if v.receipt_request.is_none() {
            v.receipt_request = deeper.verdict.receipt_request;
        }
        if v.format != deeper.verdict.format {
            v.notes.push("the inner layer is in another format".into());
        }
        let inner = Some(deeper.inner.unwrap_or(entity));
        return Ok(Some(Layer { verdict: v.finish(), inner }));
    }
    Ok(Some(layer))
}

/// No envelope at the root: the first signed part inside is verified and reported as partial; encrypted
/// parts are left alone and noted.
fn inner_parts(raw: &[u8], root: &Node, keys: &MailKeys, policy: &Policy) -> Result<Verdict, MailError> {
    let mut verdict: Option<Verdict> = None;
    let mut notes = Vec::new();
    let mut partially_encrypted = false;
    for (path, node, in_message) in numbered(root) {
        if path.is_empty() {
            continue;
        }
        let encrypted = pgp_mime::is_encrypted(node) || smime_mime::is_pkcs7_mime(node);
        if encrypted {
            partially_encrypted = true;
            notes.push(format!(
                "part {path} is encrypted inside a message that is not: it was not decrypted, so that its text is \
                 never shown together with parts anyone could have added"
            ));
            continue;
        }
        // A signed message attached (message/rfc822) is that message's signature, not this one's.
        if in_message {
            continue;
        }
        if verdict.is_none() && (pgp_mime::is_signed(node) || smime_mime::is_signed(node)) {
            let mut v = if pgp_mime::is_signed(node) {
                pgp_mime::verify_signed(raw, node, keys.pgp_certs.clone(), policy)?
            } else {
                smime_mime::verify_signed(raw, node, &keys.x509_certs, &keys.anchors, policy)?
            };
            v.partial = true;
            v.part = Some(path.clone());
            v.notes.push(format!("only part {path} is signed; the rest of the message is not"));
            verdict = Some(v.finish());
        }
    }
    let mut v = verdict.unwrap_or_else(|| {
        let mut v = Verdict::new(Format::None);
        v.part = Some("none".into());
        v
    });
    v.notes.extend(notes);
    v.partially_encrypted = partially_encrypted;
    Ok(v.finish())
}

/// Every node with its part number (IMAP style: `1`, `2.1`; the root is the empty string; the parts of an
/// attached message continue its number) and whether it is inside an attached `message/rfc822`.
fn numbered(root: &Node) -> Vec<(String, &Node, bool)> {
    let mut out = vec![(String::new(), root, false)];
    let mut i = 0;
    while i < out.len() {
        let (path, node, in_message) = (out[i].0.clone(), out[i].1, out[i].2);
        let child = |k: usize| if path.is_empty() { format!("{k}") } else { format!("{path}.{k}") };
        for (k, c) in node.children.iter().enumerate() {
            out.push((child(k + 1), c, in_message));
        }
        if let Some(m) = &node.message {
            out.push((child(1), m, true));
        }
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // A panic in a test is a failed test.

    use super::*;

    /// `n` bytes that do not compress.
    fn noise(n: usize) -> Vec<u8> {
        let mut x = 0x9e37_79b9_7f4a_7c15_u64;
        (0..n)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect()
    }

    fn compressed_entity(content: &[u8], header: &str) -> Vec<u8> {
        let der = crate::smime::compressed::compress_der(content).unwrap();
        let mut e = format!("{header}Content-Type: application/pkcs7-mime; smime-type=compressed-data\r\nContent-Transfer-Encoding: base64\r\n\r\n").into_bytes();
        e.extend_from_slice(&build::base64(&der));
        e
    }

    /// Two nested CMS CompressedData layers, 0.8 MiB and 0.6 MiB of output: each alone is under a 1 MiB
    /// budget, together they are not, and the budget is one for the whole message.
    #[test]
    fn nested_layers_share_one_decompression_budget() {
        let mut inner = b"Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n".to_vec();
        inner.extend_from_slice(&build::base64(&noise(450 << 10)));
        let middle = compressed_entity(&inner, "");
        let message = compressed_entity(&middle, "From: a@example.org\r\nSubject: nested\r\n");
        let policy = Policy::default();
        let opts = OpenOptions { authserv_id: "test.example", policy: &policy };
        let keys = MailKeys::default();
        let small = open_within(&message, &keys, &opts, &Budget::new(1 << 20, 1000)).unwrap();
        let failure = small.verdict.failure.unwrap_or_default();
        assert!(failure.contains("exceeds the limit of 1048576 bytes"), "{failure}");
        let roomy = open_within(&message, &keys, &opts, &Budget::new(4 << 20, 1000)).unwrap();
        assert_eq!(roomy.verdict.failure, None);
        assert!(roomy.message.windows(inner.len().min(64)).any(|w| w == &inner[inner.len() - 64..]));
    }
}
