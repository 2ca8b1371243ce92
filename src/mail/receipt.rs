//! Signed receipts in whole messages (RFC 2634 section 2.4, RFC 8551 section 3.2.2): the receipt request of
//! a received S/MIME message, the message that answers it (`application/pkcs7-mime;
//! smime-type=signed-receipt`), and a received receipt checked against the message it answers.
//!
//! A receipt is made only for a message whose whole envelope verified (`pass` or `pass-weak`) and whose
//! signer is its sender: the command line and the SMTP hook both call [`answer`] with the verdict of
//! [`super::open::open`], and it refuses anything else (a receipt must never vouch for mail that failed).

use std::time::SystemTime;

use super::keys::{MailKeys, X509Identity};
use super::{MailError, smime_mime};
use crate::core::digest::HashAlgorithm;
use crate::core::policy::Policy;
use crate::core::rand::Rng;
use crate::core::verdict::{Status, Verdict};
use crate::mime::{body, build, parse};
use crate::smime::signed::{self, Signer, VerifyOptions};
use crate::smime::{ess, input};

/// Most encryption or compression layers looked through for the SignedData.
const MAX_LAYERS: usize = 4;

/// The SignedData (DER) of a message's S/MIME envelope: the signature of a root `multipart/signed`, or a
/// root `application/pkcs7-mime` signed-data, found inside up to [`MAX_LAYERS`] encryption or compression
/// layers opened with `keys`. `None` when the envelope is not S/MIME signed.
pub fn signed_data(raw: &[u8], keys: &MailKeys, policy: &Policy) -> Result<Option<Vec<u8>>, MailError> {
    let mut current = raw.to_vec();
    for _ in 0..MAX_LAYERS {
        let root = parse(&current)?;
        if smime_mime::is_signed(&root) {
            let Some(signature) = root.children.get(1) else { return Ok(None) };
            return Ok(Some(input::cms_der(&body::decoded(&current, signature)?)?.into_owned()));
        }
        if !smime_mime::is_pkcs7_mime(&root) {
            return Ok(None);
        }
        let der = input::cms_der(&body::decoded(&current, &root)?)?.into_owned();
        if input::content_type(&der)? == signed::ID_SIGNED_DATA {
            return Ok(Some(der));
        }
        let budget = crate::core::compress::Budget::new(crate::mime::entity::MAX_MESSAGE as u64, 1000);
        let opened = smime_mime::open_pkcs7(
            &current,
            &root,
            &keys.x509_identities,
            &keys.x509_certs,
            &keys.anchors,
            policy,
            &budget,
        )?;
        current = opened.entity;
    }
    Ok(None)
}

/// A message carrying a signed receipt, and where it goes.
#[derive(Debug)]
pub struct ReceiptMessage {
    /// The RFC 5322 message (CRLF line ends).
    pub message: Vec<u8>,
    /// The envelope sender: our address.
    pub from: String,
    /// The addresses the request asked receipts to be sent to.
    pub to: Vec<String>,
}

/// Answers `raw`, whose verdict (from [`super::open::open`] with `keys`) is `verdict`, with a message
/// carrying the signed receipt `me` makes. Refused: a message that did not verify as a whole, whose signer
/// is not its sender, that asks for no receipt (or not from `me`'s addresses), or that is itself a receipt.
pub fn answer(
    raw: &[u8],
    verdict: &Verdict,
    keys: &MailKeys,
    me: &X509Identity,
    policy: &Policy,
    rng: &mut dyn Rng,
) -> Result<ReceiptMessage, MailError> {
    let refuse = |why: String| MailError::Smime(crate::smime::SmimeError::Receipt(why));
    if !matches!(verdict.status, Status::Pass | Status::PassWeak) || verdict.part.as_deref() != Some("whole") {
        return Err(refuse(format!(
            "the message is {}: receipts are made only for mail that verified",
            verdict.status
        )));
    }
    if verdict.from.as_deref() == Some("mismatch") {
        return Err(refuse("the signer is not the sender: no receipt".into()));
    }
    let der = signed_data(raw, keys, policy)?
        .ok_or_else(|| refuse("the message is not S/MIME signed: only S/MIME has signed receipts".into()))?;
    let emails = crate::x509::Certificate::from_x509(me.cert.clone())?.emails();
    let requested = ess::requested(&der, &emails)?;
    let receipt = ess::make_receipt(
        &requested,
        &Signer { cert: &me.cert, key: &me.key, chain: &[] },
        HashAlgorithm::Sha256,
        SystemTime::now(),
        policy,
    )?;
    let from = emails.first().cloned().ok_or_else(|| refuse("our certificate has no e-mail address".into()))?;
    let root = parse(raw)?;
    let subject = root.field_value(raw, "subject").unwrap_or_default();
    let subject = subject.split_whitespace().collect::<Vec<_>>().join(" ");
    let original_id = root.field_value(raw, "message-id").map(|v| v.trim().to_string());
    let mut id = [0u8; 16];
    rng.fill(&mut id)?;
    let id: String = id.iter().map(|b| format!("{b:02x}")).collect();
    let domain = from.rsplit_once('@').map_or("localhost", |(_, d)| d);
    let to = requested.request.to.clone();
    let mut m = Vec::new();
    m.extend(build::field("From", &from));
    m.extend(build::field("To", &to.join(", ")));
    m.extend(build::field("Subject", &format!("Signed receipt: {subject}")));
    m.extend(build::field("Date", &rfc5322_date(SystemTime::now())));
    m.extend(build::field("Message-ID", &format!("<receipt.{id}@{domain}>")));
    if let Some(orig) = original_id.filter(|v| v.starts_with('<') && v.ends_with('>') && !v.contains(['\r', '\n'])) {
        m.extend(build::field("In-Reply-To", &orig));
        m.extend(build::field("References", &orig));
    }
    // RFC 3834: an automatic response to a message.
    m.extend(build::field("Auto-Submitted", "auto-replied"));
    m.extend(build::field("MIME-Version", "1.0"));
    m.extend(build::field("Content-Type", "application/pkcs7-mime; smime-type=signed-receipt; name=smime.p7r"));
    m.extend(build::field("Content-Disposition", "attachment; filename=smime.p7r"));
    m.extend(build::field("Content-Transfer-Encoding", "base64"));
    m.extend(b"\r\n");
    m.extend(build::base64(&receipt));
    Ok(ReceiptMessage { message: m, from, to })
}

/// The SignedData of a received receipt message (`smime-type=signed-receipt`, or any signed-data whose
/// content is a Receipt), if `raw` is one.
pub fn receipt_of(raw: &[u8]) -> Result<Option<Vec<u8>>, MailError> {
    let root = parse(raw)?;
    if !smime_mime::is_pkcs7_mime(&root) {
        return Ok(None);
    }
    let der = input::cms_der(&body::decoded(raw, &root)?)?.into_owned();
    if input::content_type(&der)? != signed::ID_SIGNED_DATA {
        return Ok(None);
    }
    Ok(ess::is_receipt(&der)?.then_some(der))
}

/// Checks the receipt carried by `raw` against `original` (the message as sent, with its receipt request,
/// opened with `keys` when it was encrypted): the receipt's signature and path (to `keys.anchors`, or the
/// signature alone without anchors), and that it answers the original ([`ess::verify_receipt`]).
pub fn verify(raw: &[u8], original: &[u8], keys: &MailKeys, policy: &Policy) -> Result<Verdict, MailError> {
    let receipt = receipt_of(raw)?.ok_or_else(|| {
        MailError::Unsupported("the message carries no signed receipt (application/pkcs7-mime signed-receipt)".into())
    })?;
    let original = signed_data(original, keys, policy)?
        .ok_or_else(|| MailError::Unsupported("the original message is not S/MIME signed".into()))?;
    let anchors = &keys.anchors;
    let check = |leaf: &x509_cert::Certificate, pool: &[x509_cert::Certificate], at: Option<SystemTime>| {
        crate::x509::check_chain(leaf, pool, anchors, at, crate::x509::Purpose::Sign, policy)
            .map_err(crate::smime::SmimeError::from)
    };
    let opts =
        VerifyOptions { certs: &keys.x509_certs, policy, chain: if anchors.is_empty() { None } else { Some(&check) } };
    let mut v = ess::verify_receipt(&receipt, &original, &opts)?;
    if anchors.is_empty() {
        v.notes.push("no trusted CA given: the receipt signer's certificate path was not checked".into());
    }
    v.part = Some("whole".into());
    Ok(v)
}

/// A time as an RFC 5322 date in UTC: `Mon, 30 Nov 2026 09:55:00 +0000`.
pub fn rfc5322_date(t: SystemTime) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    let secs = t.duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    let weekday = DAYS[((secs / 86_400) % 7) as usize];
    match der::DateTime::from_system_time(t) {
        Ok(d) => format!(
            "{weekday}, {:02} {} {:04} {:02}:{:02}:{:02} +0000",
            d.day(),
            MONTHS[usize::from(d.month().clamp(1, 12)) - 1],
            d.year(),
            d.hour(),
            d.minutes(),
            d.seconds()
        ),
        Err(_) => "Thu, 01 Jan 1970 00:00:00 +0000".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        let t = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_796_032_500);
        assert_eq!(rfc5322_date(t), "Mon, 30 Nov 2026 09:55:00 +0000");
        assert_eq!(rfc5322_date(std::time::UNIX_EPOCH), "Thu, 01 Jan 1970 00:00:00 +0000");
    }
}
