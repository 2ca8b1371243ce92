//! S/MIME messages (RFC 8551): `multipart/signed` with an `application/pkcs7-signature` part over the
//! canonical entity, `application/pkcs7-mime` with `smime-type` enveloped-data, authEnveloped-data,
//! signed-data or compressed-data, and sign-then-encrypt (the signed entity inside the envelope).

use std::io::Cursor;
use std::time::SystemTime;

use cms::cert::IssuerAndSerialNumber;

use super::MailError;
use super::compose::{Split, assemble};
use super::keys::X509Identity;
use crate::core::compress::Budget;
use crate::core::digest::HashAlgorithm;
use crate::core::policy::Policy;
use crate::core::rand::Rng;
use crate::core::verdict::Verdict;
use crate::mime::{Node, body, build};
use crate::smime::compressed::CompressedContent;
use crate::smime::enveloped::{self, Choice, ContentCipher, Identity, KeyTransport, Recipient};
use crate::smime::signed::{self, SignOptions, Signer, VerifyOptions};
use crate::smime::{SmimeError, input};
use crate::x509;

/// RFC 8551 section 3.5.3 `micalg` names.
pub fn micalg(hash: HashAlgorithm) -> &'static str {
    match hash {
        HashAlgorithm::Md5 => "md5",
        HashAlgorithm::Sha1 => "sha-1",
        HashAlgorithm::Sha224 => "sha-224",
        HashAlgorithm::Sha384 => "sha-384",
        HashAlgorithm::Sha512 => "sha-512",
        _ => "sha-256",
    }
}

fn issuer_serial(cert: &x509_cert::Certificate) -> IssuerAndSerialNumber {
    let tbs = cert.tbs_certificate();
    IssuerAndSerialNumber { issuer: tbs.issuer().clone(), serial_number: tbs.serial_number().clone() }
}

/// The `multipart/signed` entity around `payload`.
fn signed_entity(payload: &[u8], me: &X509Identity, policy: &Policy, rng: &mut dyn Rng) -> Result<Vec<u8>, MailError> {
    let hash = HashAlgorithm::Sha256;
    let opts = SignOptions { detached: true, ..SignOptions::new(hash) };
    let mut der = Vec::new();
    signed::sign(
        &mut Cursor::new(payload),
        &mut der,
        &[Signer { cert: &me.cert, key: &me.key, chain: &[] }],
        &opts,
        policy,
    )?;
    let der = input::cms_der(&der)?;
    let sig_part = [
        build::field("Content-Type", "application/pkcs7-signature; name=\"smime.p7s\""),
        build::field("Content-Transfer-Encoding", "base64"),
        build::field("Content-Disposition", "attachment; filename=\"smime.p7s\""),
        build::field("Content-Description", "S/MIME Cryptographic Signature"),
        b"\r\n".to_vec(),
        build::base64(&der),
    ]
    .concat();
    let boundary = build::boundary(rng, &[payload, &sig_part])?;
    let mut entity = build::field(
        "Content-Type",
        &format!(
            "multipart/signed; protocol=\"application/pkcs7-signature\"; micalg={}; boundary=\"{boundary}\"",
            micalg(hash)
        ),
    );
    entity.extend_from_slice(b"\r\n");
    entity.extend_from_slice(&build::multipart_body(&boundary, &[payload, &sig_part]));
    Ok(entity)
}

/// Signs a message (`multipart/signed`, the protected header fields inside).
pub fn sign(raw: &[u8], me: &X509Identity, policy: &Policy, rng: &mut dyn Rng) -> Result<Vec<u8>, MailError> {
    let split = Split::new(raw)?;
    let entity = signed_entity(&split.protected_entity("clear"), me, policy, rng)?;
    Ok(assemble(&split.outer_for(false), &entity))
}

/// Encrypts a message for `recipients` (by default AES-256-CBC with RSA PKCS #1 v1.5 key transport, what
/// every client reads; `cipher` names another, AES-GCM making AuthEnvelopedData), signing it first when
/// `signer` is given; the protected header fields inside, the Subject obscured outside.
pub fn encrypt(
    raw: &[u8],
    recipients: &[x509_cert::Certificate],
    signer: Option<&X509Identity>,
    cipher: Option<&str>,
    policy: &Policy,
    rng: &mut dyn Rng,
) -> Result<Vec<u8>, MailError> {
    let split = Split::new(raw)?;
    let mut payload = split.protected_entity("cipher");
    if let Some(me) = signer {
        payload = signed_entity(&payload, me, policy, rng)?;
    }
    let mut rs = Vec::new();
    for cert in recipients {
        rs.push(Recipient { id: issuer_serial(cert), key: signed::cert_rsa_key(cert)? });
    }
    let named = cipher.is_some();
    let name = cipher.unwrap_or("aes256");
    let cipher = ContentCipher::from_name(name).ok_or_else(|| {
        MailError::Unsupported(format!(
            "S/MIME cipher {name:?} (aes256, aes192, aes128, aes256-gcm, aes128-gcm, 3des, des)"
        ))
    })?;
    let choice = Choice { policy, cipher_named: named };
    // AES-GCM goes into AuthEnvelopedData (RFC 5083), which has its own smime-type.
    let smime_type = if matches!(cipher, ContentCipher::Gcm { .. }) { "authEnveloped-data" } else { "enveloped-data" };
    let mut ber = Vec::new();
    enveloped::encrypt(&mut Cursor::new(&payload), &mut ber, &rs, cipher, KeyTransport::Pkcs1v15, &choice, rng)?;
    let der = input::cms_der(&ber)?;
    let mut entity = [
        build::field("Content-Type", &format!("application/pkcs7-mime; smime-type={smime_type}; name=\"smime.p7m\"")),
        build::field("Content-Transfer-Encoding", "base64"),
        build::field("Content-Disposition", "attachment; filename=\"smime.p7m\""),
        build::field("Content-Description", "S/MIME Encrypted Message"),
        b"\r\n".to_vec(),
    ]
    .concat();
    entity.extend_from_slice(&build::base64(&der));
    Ok(assemble(&split.outer_for(true), &entity))
}

/// Signs a message as opaque `application/pkcs7-mime; smime-type=signed-data` (the entity inside the
/// SignedData: readable only by S/MIME clients, but immune to MTAs that rewrite text).
pub fn sign_opaque(raw: &[u8], me: &X509Identity, policy: &Policy) -> Result<Vec<u8>, MailError> {
    let split = Split::new(raw)?;
    let payload = split.protected_entity("clear");
    let opts = SignOptions::new(HashAlgorithm::Sha256);
    let mut der = Vec::new();
    let signer = Signer { cert: &me.cert, key: &me.key, chain: &[] };
    signed::sign(&mut Cursor::new(&payload), &mut der, &[signer], &opts, policy)?;
    let der = input::cms_der(&der)?;
    let mut entity = [
        build::field("Content-Type", "application/pkcs7-mime; smime-type=signed-data; name=\"smime.p7m\""),
        build::field("Content-Transfer-Encoding", "base64"),
        build::field("Content-Disposition", "attachment; filename=\"smime.p7m\""),
        b"\r\n".to_vec(),
    ]
    .concat();
    entity.extend_from_slice(&build::base64(&der));
    Ok(assemble(&split.outer_for(false), &entity))
}

/// True for a `multipart/signed` whose protocol is CMS.
pub fn is_signed(node: &Node) -> bool {
    node.is("multipart/signed")
        && node.param("protocol").is_some_and(|p| {
            p.eq_ignore_ascii_case("application/pkcs7-signature")
                || p.eq_ignore_ascii_case("application/x-pkcs7-signature")
        })
}

/// True for `application/pkcs7-mime` (or the old `x-` form).
pub fn is_pkcs7_mime(node: &Node) -> bool {
    node.is("application/pkcs7-mime") || node.is("application/x-pkcs7-mime")
}

/// Verifies a signature, with the path to `anchors` when there are any (else the signature only, and the
/// verdict says so).
fn verify_options<'a>(
    certs: &'a [x509_cert::Certificate],
    policy: &'a Policy,
    check: &'a signed::ChainCheck<'a>,
    anchors: bool,
) -> VerifyOptions<'a> {
    VerifyOptions { certs, policy, chain: if anchors { Some(check) } else { None } }
}

fn no_anchor_note(v: &mut Verdict, anchors: bool) {
    if !anchors {
        v.notes.push("no trusted CA given: the signer's certificate path was not checked".into());
    }
}

/// Verifies an S/MIME `multipart/signed` over the first part's bytes as received.
pub fn verify_signed(
    raw: &[u8],
    node: &Node,
    certs: &[x509_cert::Certificate],
    anchors: &[x509_cert::Certificate],
    policy: &Policy,
) -> Result<Verdict, MailError> {
    if !node.is_closed(raw) {
        return Err(MailError::Mime(crate::mime::MimeError::Malformed(
            "the multipart/signed has no closing boundary: the message was cut short or added to".into(),
        )));
    }
    let [content, signature] = node.children.as_slice() else {
        return Err(MailError::Unsupported(format!(
            "a multipart/signed with {} parts (RFC 8551: exactly 2)",
            node.children.len()
        )));
    };
    let der = body::decoded(raw, signature)?;
    let der = input::cms_der(&der)?;
    let check = |leaf: &x509_cert::Certificate, pool: &[x509_cert::Certificate], at: Option<SystemTime>| {
        x509::check_chain(leaf, pool, anchors, at, x509::Purpose::Sign, policy).map_err(SmimeError::from)
    };
    let opts = verify_options(certs, policy, &check, !anchors.is_empty());
    // Mail stored with LF line ends was signed with CRLF ones (RFC 8551 section 3.1.1).
    let canonical = crate::mime::canon::crlf(&raw[content.entity()]);
    let mut signed = Cursor::new(&canonical);
    let mut v = signed::verify(&der, Some(&mut signed), &opts, &mut std::io::sink())?;
    no_anchor_note(&mut v, !anchors.is_empty());
    Ok(v.finish())
}

/// What an `application/pkcs7-mime` part held.
pub struct Opened {
    /// The verdict of this layer.
    pub verdict: Verdict,
    /// The entity inside.
    pub entity: Vec<u8>,
    /// The content is a signed receipt (RFC 2634 Receipt, not a MIME entity): `entity` holds its DER.
    pub receipt: bool,
}

/// Opens an `application/pkcs7-mime` part: verifies signed-data, decrypts enveloped-data and
/// authEnveloped-data with one of `identities`, inflates compressed-data.
pub fn open_pkcs7(
    raw: &[u8],
    node: &Node,
    identities: &[X509Identity],
    certs: &[x509_cert::Certificate],
    anchors: &[x509_cert::Certificate],
    policy: &Policy,
    budget: &Budget,
) -> Result<Opened, MailError> {
    let der = body::decoded(raw, node)?;
    let der = input::cms_der(&der)?;
    let ct = input::content_type(&der)?.to_string();
    let mut entity = Vec::new();
    let mut receipt = false;
    let verdict = match ct.as_str() {
        // signed-data
        "1.2.840.113549.1.7.2" => {
            let check = |leaf: &x509_cert::Certificate, pool: &[x509_cert::Certificate], at: Option<SystemTime>| {
                x509::check_chain(leaf, pool, anchors, at, x509::Purpose::Sign, policy).map_err(SmimeError::from)
            };
            let opts = verify_options(certs, policy, &check, !anchors.is_empty());
            let mut v = signed::verify(&der, None, &opts, &mut entity)?;
            no_anchor_note(&mut v, !anchors.is_empty());
            receipt = crate::smime::ess::is_receipt(&der)?;
            if receipt {
                v.notes.push(
                    "a signed receipt (RFC 2634): its signature is checked here; check that it answers your \
                     message with `mail verify --original SENT`"
                        .into(),
                );
            }
            v.finish()
        }
        // enveloped-data, authEnveloped-data
        "1.2.840.113549.1.7.3" | "1.2.840.113549.1.9.16.1.23" => {
            if identities.is_empty() {
                return Err(MailError::NoKey(
                    "the message is encrypted: give a key and certificate to decrypt it".into(),
                ));
            }
            let mut last = None;
            let mut found = None;
            for me in identities {
                let ski = x509::Certificate::from_x509(me.cert.clone())?.subject_key_id();
                let id = Identity { id: issuer_serial(&me.cert), ski, key: &me.key };
                let mut out = Vec::new();
                match enveloped::decrypt(&der, &id, policy, &mut out) {
                    Ok(v) => {
                        found = Some(v);
                        entity = out;
                        break;
                    }
                    Err(e) => last = Some(e),
                }
            }
            match (found, last) {
                (Some(v), _) => v,
                (None, Some(e)) => return Err(e.into()),
                (None, None) => return Err(MailError::NoKey("no key to decrypt with".into())),
            }
        }
        // compressed-data
        "1.2.840.113549.1.9.16.1.9" => {
            let c = CompressedContent::from_content_info(&der)?;
            c.decompress(budget, &mut entity)?;
            let mut v = Verdict::new(crate::core::verdict::Format::Smime);
            v.algorithms.compression = Some("zlib".into());
            v.finish()
        }
        other => {
            return Err(MailError::Unsupported(format!(
                "application/pkcs7-mime holding {}",
                input::oid_name(&other.parse().map_err(|_| MailError::Unsupported(other.to_string()))?)
            )));
        }
    };
    Ok(Opened { verdict, entity, receipt })
}
