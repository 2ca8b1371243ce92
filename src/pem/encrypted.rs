//! ENCRYPTED messages with asymmetric key management (RFC 1421 section 4.6.2, RFC 1423): the canonical text
//! is encrypted under a fresh DEK (`DEK-Info: DES-CBC,<IV>` or `DES-EDE3-CBC,<IV>`, PKCS #5 padding), the DEK
//! is encrypted for each recipient with RSA PKCS #1 v1.5 (`Recipient-ID-Asymmetric` + `Key-Info: RSA,...`),
//! and the signed MIC is itself encrypted under the DEK with the same cipher and IV (RFC 1423 section 4.2).
//!
//! Decryption releases the text only when the MIC verifies: the MIC is the message's only integrity check.

use der::{Decode, Encode};
use zeroize::Zeroizing;

use super::message::{BEGIN, END, Kind, Message, decode_base64, encode_base64_lines, folded_field};
use super::mic::{canonicalize, check_mic};
use super::{PemError, Trust};
use crate::core::cipher::CipherAlgorithm;
use crate::core::digest::{HashAlgorithm, digest};
use crate::core::mode::{Direction, Mode, Padding, process};
use crate::core::policy::{Policy, Usage};
use crate::core::rand::Rng;
use crate::core::rsa::{EncryptionPadding, RsaPrivateKey, SignaturePadding};
use crate::core::verdict::{Integrity, Verdict};
use crate::x509::Certificate;

fn bad(detail: impl Into<String>) -> PemError {
    PemError::Malformed(detail.into())
}

/// DEK-Info ciphers.
fn dek_cipher(name: &str) -> Result<CipherAlgorithm, PemError> {
    match name {
        "DES-CBC" => Ok(CipherAlgorithm::Des),
        "DES-EDE3-CBC" => Ok(CipherAlgorithm::TripleDes),
        other => Err(PemError::Unsupported(format!("DEK-Info {other} (DES-CBC, DES-EDE3-CBC)"))),
    }
}

pub(super) fn dek_name(c: CipherAlgorithm) -> &'static str {
    if c == CipherAlgorithm::Des { "DES-CBC" } else { "DES-EDE3-CBC" }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect()
}

pub(super) fn unhex(s: &str) -> Result<Vec<u8>, PemError> {
    let s = s.trim();
    if !s.len().is_multiple_of(2) || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(bad(format!("{s:?} is not hex")));
    }
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).map_err(|_| bad("hex"))).collect()
}

/// `Recipient-ID-Asymmetric` of a certificate: the printable encoding of its issuer's DER name, and its
/// serial number in hex.
fn recipient_id(cert: &Certificate) -> Result<(Vec<u8>, Vec<u8>), PemError> {
    let tbs = cert.inner().tbs_certificate();
    let issuer = tbs.issuer().to_der().map_err(|e| bad(format!("issuer name: {e}")))?;
    Ok((issuer, tbs.serial_number().as_bytes().to_vec()))
}

/// The message's `DEK-Info`: the cipher and its 8-byte IV.
pub(super) fn dek_info(msg: &Message) -> Result<(CipherAlgorithm, Vec<u8>), PemError> {
    let dek_info = msg.field("DEK-Info").ok_or_else(|| bad("no DEK-Info field"))?;
    let (alg, iv) = dek_info.split_once(',').ok_or_else(|| bad(format!("DEK-Info {dek_info:?}")))?;
    let cipher = dek_cipher(alg.trim())?;
    let iv = unhex(iv)?;
    if iv.len() != 8 {
        return Err(bad(format!("a DEK-Info IV of {} bytes", iv.len())));
    }
    Ok((cipher, iv))
}

/// Who the message is for, as the DEK is wrapped for them.
pub struct Recipient<'a> {
    /// The recipient's certificate (DER).
    pub cert: &'a [u8],
}

/// Makes an ENCRYPTED message: the text encrypted under a fresh DEK for `recipients`, signed by `key`
/// (whose certificate, if given, is carried as `Originator-Certificate`; the originator gets a Key-Info of
/// its own so it can read what it sent).
pub fn encrypt(
    text: &[u8],
    key: &RsaPrivateKey,
    cert: Option<&[u8]>,
    recipients: &[Recipient<'_>],
    cipher: CipherAlgorithm,
    rng: &mut dyn Rng,
) -> Result<String, PemError> {
    if recipients.is_empty() {
        return Err(PemError::UnusableKey("no recipient".into()));
    }
    // RFC 1423 has nothing stronger than DES-EDE3 and MD5: producing them is what choosing PEM means.
    let policy = Policy { allow_broken: true, ..Policy::default() };
    policy.check(cipher.algorithm(), Usage::Encrypt, true)?;
    policy.check_rsa(key.bits(), Usage::Sign)?;
    let canonical = canonicalize(text)?;
    let sig =
        key.sign(SignaturePadding::Pkcs1v15, HashAlgorithm::Md5, digest(HashAlgorithm::Md5, &canonical).as_bytes())?;
    let mut dek = Zeroizing::new(vec![0u8; cipher.key_size()]);
    rng.fill(&mut dek)?;
    let mut iv = [0u8; 8];
    rng.fill(&mut iv)?;
    let body = process(cipher, Mode::Cbc, Direction::Encrypt, &dek, &iv, Padding::Pkcs7, &canonical)?;
    let mic = process(cipher, Mode::Cbc, Direction::Encrypt, &dek, &iv, Padding::Pkcs7, &sig)?;
    let mut out = format!(
        "{BEGIN}\nProc-Type: 4,ENCRYPTED\nContent-Domain: RFC822\nDEK-Info: {},{}\n",
        dek_name(cipher),
        hex(&iv)
    );
    let wrap = |der: &[u8]| -> Result<(Certificate, Vec<u8>), PemError> {
        let c = Certificate::from_der(der)?;
        let k = c.rsa_public_key()?;
        policy
            .check_rsa(k.bits(), Usage::Encrypt)
            .map_err(|e| e.concerning(format_args!("the certificate \"{}\"", c.subject())))?;
        Ok((c, k.encrypt(EncryptionPadding::Pkcs1v15, &dek)?))
    };
    match cert {
        Some(der) => {
            let (c, wrapped) = wrap(der)?;
            if c.rsa_public_key()?.n() != key.public().n() {
                return Err(PemError::UnusableKey("the key does not belong to the certificate".into()));
            }
            out.push_str(&folded_field("Originator-Certificate", "", der).replace(": \n", ":\n"));
            out.push_str(&folded_field("Key-Info", "RSA,", &wrapped));
        }
        None => out.push_str(
            &folded_field("Originator-Key-Asymmetric", "", key.public().to_spki_der()).replace(": \n", ":\n"),
        ),
    }
    out.push_str(&folded_field("MIC-Info", "RSA-MD5,RSA,", &mic));
    for r in recipients {
        let (c, wrapped) = wrap(r.cert)?;
        let (issuer, serial) = recipient_id(&c)?;
        let mut id = encode_base64_lines(&issuer).concat();
        id.push(',');
        id.push_str(&hex(&serial));
        out.push_str(&format!("Recipient-ID-Asymmetric:\n {}\n", id));
        out.push_str(&folded_field("Key-Info", "RSA,", &wrapped));
    }
    out.push('\n');
    for line in encode_base64_lines(&body) {
        out.push_str(&line);
        out.push('\n');
    }
    out.push_str(END);
    out.push('\n');
    Ok(out)
}

/// Decrypts an ENCRYPTED message for the holder of `key` and `cert` (DER), verifying the MIC with the
/// originator's key (`trust`: certificates the user vouches for, and CAs for the originator's path). Returns the verdict and
/// the canonical text; the caller releases the text only when the verdict's signature is good.
pub fn decrypt(
    text: &[u8],
    key: &RsaPrivateKey,
    cert: Option<&[u8]>,
    trust: &Trust,
    policy: &Policy,
) -> Result<(Verdict, Vec<u8>), PemError> {
    let msg = Message::parse(text)?;
    if msg.kind != Kind::Encrypted {
        return Err(PemError::Unsupported(format!("{} messages are not encrypted: use `pem verify`", msg.kind.name())));
    }
    let (cipher, iv) = dek_info(&msg)?;
    let symmetric: Vec<&str> = msg.fields_named("Recipient-ID-Symmetric").collect();
    if !symmetric.is_empty() {
        return Err(PemError::UnusableKey(format!(
            "the message uses symmetric key management: give the interchange key shared with {} \
             (--interchange-key)",
            symmetric.join("; ")
        )));
    }
    let own = match cert {
        Some(der) => Some(Certificate::from_der(der)?),
        None => None,
    };
    let own_id = match &own {
        Some(c) => Some(recipient_id(c)?),
        None => None,
    };
    // Walk the fields in order: a Key-Info belongs to the Recipient-ID before it, or, right after the
    // originator's fields, to the originator.
    let mut current: Option<(Vec<u8>, Vec<u8>)> = None;
    let mut originator_is_me = false;
    let mut wrapped = None;
    for (name, value) in &msg.fields {
        if name.eq_ignore_ascii_case("Originator-Certificate") {
            let der = decode_base64(value)?;
            originator_is_me = own.as_ref().is_some_and(|c| c.der() == der);
            current = None;
        } else if name.eq_ignore_ascii_case("Recipient-ID-Asymmetric") {
            let (issuer, serial) =
                value.split_once(',').ok_or_else(|| bad(format!("Recipient-ID-Asymmetric {value:?}")))?;
            current = Some((decode_base64(issuer)?, unhex(serial)?));
            originator_is_me = false;
        } else if name.eq_ignore_ascii_case("Key-Info") {
            let (alg, b64) = value.split_once(',').ok_or_else(|| bad(format!("Key-Info {value:?}")))?;
            if alg.trim() != "RSA" {
                return Err(PemError::Unsupported(format!("Key-Info {alg}")));
            }
            let mine = match (&current, &own_id) {
                (Some(id), Some(me)) => id.0 == me.0 && strip_zeros(&id.1) == strip_zeros(&me.1),
                (None, _) => originator_is_me,
                _ => false,
            };
            if mine {
                wrapped = Some(decode_base64(b64)?);
                break;
            }
        }
    }
    let wrapped = wrapped.ok_or_else(|| {
        let needed = recipients_named(&msg);
        PemError::UnusableKey(if own.is_none() {
            format!("give your certificate with --cert: the message is encrypted for {needed}")
        } else {
            format!("the message is not encrypted to this certificate (it is for {needed})")
        })
    })?;
    let dek = key.decrypt_session_key(&wrapped, cipher.key_size())?;
    let body = decode_base64(&msg.body.concat())?;
    let wrong = || PemError::Core(crate::core::CoreError::DecryptionFailed);
    let canonical =
        process(cipher, Mode::Cbc, Direction::Decrypt, &dek, &iv, Padding::Pkcs7, &body).map_err(|_| wrong())?;
    let open = |mic: Vec<u8>| {
        process(cipher, Mode::Cbc, Direction::Decrypt, &dek, &iv, Padding::Pkcs7, &mic).map_err(|_| wrong())
    };
    let mismatch = "the MIC does not match the text (modified, or the wrong DEK)";
    let mut verdict = check_mic(&msg, &canonical, trust, policy, open, mismatch)?;
    verdict.encrypted = true;
    verdict.integrity = Integrity::None;
    verdict.algorithms.cipher = Some(dek_name(cipher).to_ascii_lowercase());
    verdict.algorithms.key_transport = Some("rsa".into());
    verdict.weak.extend(policy.check(cipher.algorithm(), Usage::Decrypt, false)?.weak);
    Ok((verdict.finish(), canonical))
}

/// The recipients an ENCRYPTED message names, for error messages: "issuer <DN> serial <hex>", and the
/// originator when it has a Key-Info of its own.
fn recipients_named(msg: &Message) -> String {
    let mut out = Vec::new();
    for (name, value) in &msg.fields {
        if name.eq_ignore_ascii_case("Recipient-ID-Asymmetric") {
            let (issuer, serial) = value.split_once(',').unwrap_or((value.as_str(), "?"));
            let dn = decode_base64(issuer)
                .ok()
                .and_then(|der| x509_cert::name::Name::from_der(&der).ok())
                .map(|n| n.to_string())
                .unwrap_or_else(|| "(unreadable name)".into());
            out.push(format!("issuer \"{dn}\" serial {}", serial.trim()));
        } else if name.eq_ignore_ascii_case("Originator-Certificate") {
            let subject = decode_base64(value)
                .ok()
                .and_then(|der| Certificate::from_der(&der).ok())
                .map(|c| c.subject())
                .unwrap_or_else(|| "(unreadable certificate)".into());
            out.push(format!("the originator \"{subject}\""));
        }
    }
    if out.is_empty() { "no recipient it names".into() } else { out.join("; ") }
}

fn strip_zeros(b: &[u8]) -> &[u8] {
    let n = b.iter().take_while(|x| **x == 0).count();
    &b[n..]
}
