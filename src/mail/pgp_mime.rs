//! PGP/MIME (RFC 3156): `multipart/signed` with an `application/pgp-signature` part over the canonical
//! entity, `multipart/encrypted` with the `application/pgp-encrypted` version part and the armored message,
//! and signed-and-encrypted as one OpenPGP message (RFC 3156 section 6.2). Read back the same way, plus
//! inline PGP (armored messages and cleartext signatures in a text/plain body).

use std::io::Cursor;

use sequoia_openpgp::Cert;

use super::MailError;
use super::compose::{Split, assemble};
use crate::core::cipher::CipherAlgorithm;
use crate::core::compress::Budget;
use crate::core::digest::HashAlgorithm;
use crate::core::policy::Policy;
use crate::core::rand::Rng;
use crate::core::verdict::Verdict;
use crate::mime::{Node, body, build};
use crate::pgp::decrypt::{DecryptOptions, decrypt};
use crate::pgp::encrypt::{EncryptOptions, encrypt as pgp_encrypt};
use crate::pgp::keys::SecretKeys;
use crate::pgp::sign::{SignMode, SignOptions, sign as pgp_sign};
use crate::pgp::verify::{verify_detached, verify_inline};

/// RFC 3156 section 5 `micalg` names.
pub fn micalg(hash: HashAlgorithm) -> String {
    format!("pgp-{}", hash.name().to_ascii_lowercase().replace('-', ""))
}

/// Signs a message: `multipart/signed` around the entity (with the protected header fields inside).
pub fn sign(raw: &[u8], keys: &SecretKeys, policy: &Policy, rng: &mut dyn Rng) -> Result<Vec<u8>, MailError> {
    let split = Split::new(raw)?;
    let payload = split.protected_entity("clear");
    let hash = HashAlgorithm::Sha256;
    let mut sig = Vec::new();
    let opts = SignOptions { mode: SignMode::Detached, hash, hash_named: false, armor: true };
    pgp_sign(&mut Cursor::new(&payload), &mut sig, keys.signers()?, &opts, policy)?;
    let mut sig_part = Vec::new();
    sig_part.extend_from_slice(&build::field("Content-Type", "application/pgp-signature; name=\"signature.asc\""));
    sig_part.extend_from_slice(&build::field("Content-Description", "OpenPGP digital signature"));
    sig_part.extend_from_slice(&build::field("Content-Disposition", "attachment; filename=\"signature.asc\""));
    sig_part.extend_from_slice(b"\r\n");
    sig_part.extend_from_slice(&crate::mime::canon::crlf(&sig));
    let boundary = build::boundary(rng, &[&payload, &sig_part])?;
    let mut entity = build::field(
        "Content-Type",
        &format!(
            "multipart/signed; micalg={}; protocol=\"application/pgp-signature\"; boundary=\"{boundary}\"",
            micalg(hash)
        ),
    );
    entity.extend_from_slice(b"\r\n");
    entity.extend_from_slice(&build::multipart_body(&boundary, &[&payload, &sig_part]));
    Ok(assemble(&split.outer_for(false), &entity))
}

/// Encrypts a message to `recipients` (signed too when `signer` is given; AES-256 unless `cipher` names
/// another), the protected header fields inside and the Subject obscured outside.
pub fn encrypt(
    raw: &[u8],
    recipients: Vec<Cert>,
    signer: Option<&SecretKeys>,
    cipher: Option<&str>,
    policy: &Policy,
    rng: &mut dyn Rng,
) -> Result<Vec<u8>, MailError> {
    let (cipher, cipher_named) = match cipher {
        None => (CipherAlgorithm::Aes256, false),
        Some(n) => (
            CipherAlgorithm::from_name(n).ok_or_else(|| {
                MailError::Unsupported(format!("OpenPGP cipher {n:?} (aes256, aes192, aes128, 3des, cast5, idea)"))
            })?,
            true,
        ),
    };
    let split = Split::new(raw)?;
    let payload = split.protected_entity("cipher");
    let opts = EncryptOptions {
        recipients,
        passwords: Vec::new(),
        signers: match signer {
            Some(k) => k.signers()?,
            None => Vec::new(),
        },
        hash: HashAlgorithm::Sha256,
        cipher,
        cipher_named,
        compression: None,
        armor: true,
    };
    let mut armored = Vec::new();
    pgp_encrypt(&mut Cursor::new(&payload), &mut armored, opts, policy, rng)?;
    let version = [
        build::field("Content-Type", "application/pgp-encrypted"),
        build::field("Content-Description", "PGP/MIME version identification"),
        b"\r\nVersion: 1\r\n".to_vec(),
    ]
    .concat();
    let data = [
        build::field("Content-Type", "application/octet-stream; name=\"encrypted.asc\""),
        build::field("Content-Description", "OpenPGP encrypted message"),
        build::field("Content-Disposition", "inline; filename=\"encrypted.asc\""),
        b"\r\n".to_vec(),
        crate::mime::canon::crlf(&armored),
    ]
    .concat();
    let boundary = build::boundary(rng, &[&version, &data])?;
    let mut entity = build::field(
        "Content-Type",
        &format!("multipart/encrypted; protocol=\"application/pgp-encrypted\"; boundary=\"{boundary}\""),
    );
    entity.extend_from_slice(b"\r\n");
    entity.extend_from_slice(&build::multipart_body(&boundary, &[&version, &data]));
    Ok(assemble(&split.outer_for(true), &entity))
}

/// True for a `multipart/signed` whose protocol is OpenPGP.
pub fn is_signed(node: &Node) -> bool {
    node.is("multipart/signed")
        && node.param("protocol").is_some_and(|p| p.eq_ignore_ascii_case("application/pgp-signature"))
}

/// True for a `multipart/encrypted` whose protocol is OpenPGP.
pub fn is_encrypted(node: &Node) -> bool {
    node.is("multipart/encrypted")
        && node.param("protocol").is_some_and(|p| p.eq_ignore_ascii_case("application/pgp-encrypted"))
}

/// Verifies a PGP/MIME `multipart/signed`: the signature part over the first part's bytes as received.
pub fn verify_signed(raw: &[u8], node: &Node, certs: Vec<Cert>, policy: &Policy) -> Result<Verdict, MailError> {
    if !node.is_closed(raw) {
        return Err(MailError::Mime(crate::mime::MimeError::Malformed(
            "the multipart/signed has no closing boundary: the message was cut short or added to".into(),
        )));
    }
    let [content, signature] = node.children.as_slice() else {
        return Err(MailError::Unsupported(format!(
            "a multipart/signed with {} parts (RFC 3156: exactly 2)",
            node.children.len()
        )));
    };
    if !signature.is("application/pgp-signature") {
        return Err(MailError::Unsupported(format!(
            "the second part of a PGP/MIME signed message is {}, not application/pgp-signature",
            signature.content_type
        )));
    }
    let sig = body::decoded(raw, signature)?;
    // Mail stored with LF line ends was signed with CRLF ones (RFC 3156 section 5).
    let signed = crate::mime::canon::crlf(&raw[content.entity()]);
    Ok(verify_detached(&sig, Cursor::new(signed), certs, policy)?)
}

/// Decrypts a PGP/MIME `multipart/encrypted`; returns the verdict (with any inner signatures) and the
/// decrypted entity. Decompression is charged to `budget`.
pub fn decrypt_encrypted(
    raw: &[u8],
    node: &Node,
    keys: &SecretKeys,
    certs: Vec<Cert>,
    policy: &Policy,
    budget: &Budget,
) -> Result<(Verdict, Vec<u8>), MailError> {
    let [version, data] = node.children.as_slice() else {
        return Err(MailError::Unsupported(format!(
            "a multipart/encrypted with {} parts (RFC 3156: exactly 2)",
            node.children.len()
        )));
    };
    if !version.is("application/pgp-encrypted") {
        return Err(MailError::Unsupported(format!(
            "the first part of a PGP/MIME encrypted message is {}, not application/pgp-encrypted",
            version.content_type
        )));
    }
    let message = body::decoded(raw, data)?;
    decrypt_bytes(message, keys, certs, policy, budget)
}

fn decrypt_bytes(
    message: Vec<u8>,
    keys: &SecretKeys,
    certs: Vec<Cert>,
    policy: &Policy,
    budget: &Budget,
) -> Result<(Verdict, Vec<u8>), MailError> {
    let opts = DecryptOptions {
        verify_with: certs,
        passwords: Vec::new(),
        allow_unauthenticated: false,
        budget: budget.clone(),
    };
    let mut out = Vec::new();
    let verdict = decrypt(Box::new(Cursor::new(message)), Some(keys), &opts, policy, &mut out)?;
    Ok((verdict, out))
}

/// What a text/plain body holds, if it is inline PGP.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Inline {
    /// `-----BEGIN PGP SIGNED MESSAGE-----`: a cleartext signature.
    Cleartext,
    /// `-----BEGIN PGP MESSAGE-----`: signed or encrypted.
    Message,
}

/// Finds inline PGP in a text body: its kind and where the armored block lies (from its BEGIN line to the
/// end of its END line).
pub fn inline_block(text: &[u8]) -> Option<(Inline, std::ops::Range<usize>)> {
    let find = |needle: &[u8], from: usize| -> Option<usize> {
        let mut at = from;
        while let Some(i) = memchr::memmem::find(text.get(at..)?, needle) {
            let pos = at + i;
            if pos == 0 || text[pos - 1] == b'\n' {
                return Some(pos);
            }
            at = pos + 1;
        }
        None
    };
    let (kind, start, end_marker): (Inline, usize, &[u8]) =
        match (find(b"-----BEGIN PGP SIGNED MESSAGE-----", 0), find(b"-----BEGIN PGP MESSAGE-----", 0)) {
            (Some(c), Some(m)) if m < c => (Inline::Message, m, b"-----END PGP MESSAGE-----"),
            (Some(c), _) => (Inline::Cleartext, c, b"-----END PGP SIGNATURE-----"),
            (None, Some(m)) => (Inline::Message, m, b"-----END PGP MESSAGE-----"),
            (None, None) => return None,
        };
    let end = find(end_marker, start)?;
    let line_end = text[end..].iter().position(|b| *b == b'\n').map(|i| end + i + 1).unwrap_or(text.len());
    Some((kind, start..line_end))
}

/// Reads inline PGP in a text body: verifies a cleartext signature or a signed message, or decrypts (when
/// keys are given). Returns the verdict and the recovered text. Only the text between the armor lines is
/// signed: text around it is not (SECURITY-CASES B5), so a body with anything else is reported partial.
/// Decompression is charged to `budget`.
pub fn read_inline(
    text: &[u8],
    keys: Option<&SecretKeys>,
    certs: Vec<Cert>,
    policy: &Policy,
    budget: &Budget,
) -> Result<(Verdict, Vec<u8>), MailError> {
    let mut sink = Vec::new();
    if starts_encrypted(text) {
        let keys = keys.ok_or_else(|| MailError::NoKey("the message is encrypted: give a key to decrypt it".into()))?;
        return decrypt_bytes(text.to_vec(), keys, certs, policy, budget);
    }
    let verdict = verify_inline(Cursor::new(text.to_vec()), certs, policy, budget, &mut sink)?;
    Ok((verdict, sink))
}

/// True when an (armored or binary) OpenPGP message starts with an encryption packet.
fn starts_encrypted(text: &[u8]) -> bool {
    use sequoia_openpgp::Packet;
    use sequoia_openpgp::parse::{PacketParser, PacketParserResult, Parse};
    match PacketParser::from_bytes(text) {
        Ok(PacketParserResult::Some(pp)) => {
            matches!(pp.packet, Packet::PKESK(_) | Packet::SKESK(_) | Packet::SEIP(_) | Packet::Unknown(_))
        }
        _ => false,
    }
}
