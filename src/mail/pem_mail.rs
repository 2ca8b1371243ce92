//! PEM mail: an RFC 1421 message in a `text/plain` body. What the PEM message protects is the canonical
//! MIME entity (its content fields and body), so decryption restores the structure; a historic message
//! whose text is not an entity comes back as `text/plain`.

use der::Encode;

use super::MailError;
use super::compose::{Split, assemble};
use super::keys::X509Identity;
use crate::core::cipher::CipherAlgorithm;
use crate::core::policy::Policy;
use crate::core::rand::Rng;
use crate::core::verdict::Verdict;
use crate::mime::build;
use crate::pem::Trust;
use crate::pem::encrypted::{self, Recipient};
use crate::pem::message::Kind;
use crate::pem::mic::{self, SignOptions};

fn text_entity(pem: &str) -> Vec<u8> {
    let mut e = build::field("Content-Type", "text/plain; charset=us-ascii");
    e.extend_from_slice(&build::field("Content-Transfer-Encoding", "7bit"));
    e.extend_from_slice(b"\r\n");
    e.extend_from_slice(&crate::mime::canon::crlf(pem.as_bytes()));
    e
}

/// Signs a message as PEM MIC-CLEAR in a text body.
pub fn sign(raw: &[u8], me: &X509Identity) -> Result<Vec<u8>, MailError> {
    let split = Split::new(raw)?;
    let cert = me.cert.to_der().map_err(|e| MailError::Unsupported(format!("certificate: {e}")))?;
    let payload = split.protected_entity("clear");
    let pem = mic::sign(&payload, &me.key, &SignOptions { kind: Kind::MicClear, cert: Some(&cert), issuers: &[] })?;
    Ok(assemble(&split.outer_for(false), &text_entity(&pem)))
}

/// Encrypts a message as PEM ENCRYPTED (DES-EDE3-CBC) in a text body, signed by `me` as RFC 1421 requires.
pub fn encrypt(
    raw: &[u8],
    me: &X509Identity,
    recipients: &[x509_cert::Certificate],
    rng: &mut dyn Rng,
) -> Result<Vec<u8>, MailError> {
    let split = Split::new(raw)?;
    let cert = me.cert.to_der().map_err(|e| MailError::Unsupported(format!("certificate: {e}")))?;
    let ders: Vec<Vec<u8>> = recipients
        .iter()
        .map(|c| c.to_der().map_err(|e| MailError::Unsupported(format!("certificate: {e}"))))
        .collect::<Result<_, _>>()?;
    let rs: Vec<Recipient<'_>> = ders.iter().map(|d| Recipient { cert: d }).collect();
    let payload = split.protected_entity("cipher");
    let pem = encrypted::encrypt(&payload, &me.key, Some(&cert), &rs, CipherAlgorithm::TripleDes, rng)?;
    Ok(assemble(&split.outer_for(true), &text_entity(&pem)))
}

/// True when a text body carries a PEM message.
pub fn is_pem(text: &[u8]) -> bool {
    memchr::memmem::find(text, crate::pem::message::BEGIN.as_bytes()).is_some()
}

/// Verifies or decrypts a PEM message in a text body; returns the verdict and the entity it protected.
pub fn read(
    text: &[u8],
    identities: &[X509Identity],
    trust: &Trust,
    policy: &Policy,
) -> Result<(Verdict, Vec<u8>), MailError> {
    let msg = crate::pem::message::Message::parse(text)?;
    let (verdict, canonical) = if msg.kind == Kind::Encrypted {
        let me = identities.first().ok_or_else(|| {
            MailError::NoKey("the message is encrypted: give a key and certificate to decrypt it".into())
        })?;
        let cert = me.cert.to_der().map_err(|e| MailError::Unsupported(format!("certificate: {e}")))?;
        encrypted::decrypt(text, &me.key, Some(&cert), trust, policy)?
    } else {
        mic::verify(text, trust, policy)?
    };
    let looks_like_entity = canonical.len() > 13 && canonical[..13].eq_ignore_ascii_case(b"content-type:");
    let entity = if looks_like_entity {
        canonical
    } else {
        let mut e = build::field("Content-Type", "text/plain; charset=us-ascii");
        e.extend_from_slice(b"\r\n");
        e.extend_from_slice(&canonical);
        e
    };
    Ok((verdict, entity))
}
