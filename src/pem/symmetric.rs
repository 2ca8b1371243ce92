//! Symmetric key management (RFC 1421 section 4.6.4.2.1, RFC 1423 section 3): the originator and each
//! recipient share an interchange key (IK), named by `Originator-ID-Symmetric` / `Recipient-ID-Symmetric:
//! <entity>,<IK issuer>,<IK version>`. The `Key-Info` after such a field carries four items: the IK use
//! (`DES-ECB` with a DES IK, or `DES-EDE` with a pair of DES keys, two-key triple DES), the MIC algorithm
//! (`RSA-MD2`, `RSA-MD5`: here just the hash), the DEK encrypted under the IK in ECB mode, and the MIC (the
//! 16-byte hash) encrypted under the IK in ECB mode, both in hex. MIC-CLEAR and MIC-ONLY messages leave the
//! DEK item empty.
//!
//! Read-only: sealpost opens such messages when the user gives the IK, and does not make them (a key shared
//! by two parties proves nothing about which of them wrote the text; RFC 1422's certificates replaced it).
//!
//! Which Key-Info the IK belongs to is found by trying each one whose IK use fits the key's size: the
//! right one decrypts a DEK and a MIC that match the text. A mismatch everywhere is either a wrong key or a
//! changed text, and the error says both.

use zeroize::Zeroizing;

use super::PemError;
use super::encrypted::{dek_info, dek_name, unhex};
use super::message::{Kind, Message};
use crate::core::cipher::CipherAlgorithm;
use crate::core::digest::{HashAlgorithm, digest};
use crate::core::mode::{Direction, Mode, Padding, process};
use crate::core::policy::{Policy, Usage};
use crate::core::verdict::{Format, Integrity, SignerResult, SignerStatus, Verdict};

fn bad(detail: impl Into<String>) -> PemError {
    PemError::Malformed(detail.into())
}

/// A shared interchange key: 8 bytes (DES, for `DES-ECB`) or 16 (two DES keys, for `DES-EDE`).
pub struct InterchangeKey {
    /// As the core's triple DES takes it: K1 K2 K3 (K3 = K1 for DES-EDE), or the one DES key.
    key: Zeroizing<Vec<u8>>,
}

impl std::fmt::Debug for InterchangeKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "InterchangeKey({})", self.use_name())
    }
}

impl InterchangeKey {
    /// Reads an IK written in hex (16 or 32 digits; white space ignored), as RFC 1423 writes keys.
    pub fn from_hex(text: &[u8]) -> Result<InterchangeKey, PemError> {
        let digits: Zeroizing<String> =
            Zeroizing::new(text.iter().filter(|b| !b.is_ascii_whitespace()).map(|b| *b as char).collect());
        let raw = Zeroizing::new(unhex(&digits).map_err(|_| {
            PemError::KeyFile("the interchange key file must hold the key in hex (16 or 32 digits)".into())
        })?);
        match raw.len() {
            8 => Ok(InterchangeKey { key: raw }),
            16 => {
                let mut key = Zeroizing::new(Vec::with_capacity(24));
                key.extend_from_slice(&raw);
                key.extend_from_slice(&raw[..8]);
                Ok(InterchangeKey { key })
            }
            n => Err(PemError::KeyFile(format!("an interchange key of {n} bytes (DES-ECB takes 8, DES-EDE 16)"))),
        }
    }

    /// The `Key-Info` IK use this key serves.
    pub fn use_name(&self) -> &'static str {
        if self.key.len() == 8 { "DES-ECB" } else { "DES-EDE" }
    }

    fn cipher(&self) -> CipherAlgorithm {
        if self.key.len() == 8 { CipherAlgorithm::Des } else { CipherAlgorithm::TripleDes }
    }

    /// ECB decryption of whole blocks under the IK.
    fn decrypt(&self, data: &[u8]) -> Result<Zeroizing<Vec<u8>>, PemError> {
        if data.is_empty() || !data.len().is_multiple_of(8) {
            return Err(bad(format!("a Key-Info item of {} bytes (whole 8-byte blocks expected)", data.len())));
        }
        Ok(Zeroizing::new(process(self.cipher(), Mode::Ecb, Direction::Decrypt, &self.key, &[], Padding::None, data)?))
    }
}

/// One symmetric `Key-Info` and the IK it is under.
struct Entry {
    /// The `Recipient-ID-Symmetric` (or `Originator-ID-Symmetric`) value before it.
    id: String,
    ik_use: String,
    hash: HashAlgorithm,
    dek: Vec<u8>,
    mic: Vec<u8>,
}

/// The symmetric `Key-Info` fields, each with the ID field it follows.
fn entries(msg: &Message) -> Result<Vec<Entry>, PemError> {
    let mut out = Vec::new();
    let mut current: Option<&str> = None;
    for (name, value) in &msg.fields {
        if name.eq_ignore_ascii_case("Recipient-ID-Symmetric") || name.eq_ignore_ascii_case("Originator-ID-Symmetric") {
            current = Some(value);
        } else if name.eq_ignore_ascii_case("Recipient-ID-Asymmetric")
            || name.eq_ignore_ascii_case("Originator-Certificate")
            || name.eq_ignore_ascii_case("Originator-ID-Asymmetric")
        {
            current = None;
        } else if name.eq_ignore_ascii_case("Key-Info") {
            let items: Vec<&str> = value.split(',').map(str::trim).collect();
            let ik_use = items.first().copied().unwrap_or("");
            if ik_use != "DES-ECB" && ik_use != "DES-EDE" {
                continue; // Asymmetric (RSA,...), handled elsewhere; unknown uses are named below if nothing fits.
            }
            let [_, mic_alg, dek, mic] = items[..] else {
                return Err(bad(format!("Key-Info {value:?}: symmetric Key-Info has four items")));
            };
            let id = current.ok_or_else(|| bad("a symmetric Key-Info before any Recipient-ID-Symmetric"))?;
            let hash = match mic_alg {
                "RSA-MD5" => HashAlgorithm::Md5,
                "RSA-MD2" => HashAlgorithm::Md2,
                other => return Err(PemError::Unsupported(format!("MIC algorithm {other:?} (RSA-MD5, RSA-MD2)"))),
            };
            let dek = if dek.is_empty() { Vec::new() } else { unhex(dek)? };
            out.push(Entry { id: id.to_string(), ik_use: ik_use.to_string(), hash, dek, mic: unhex(mic)? });
        }
    }
    Ok(out)
}

/// True when the message uses symmetric key management.
pub fn is_symmetric(msg: &Message) -> bool {
    msg.fields.iter().any(|(n, _)| {
        n.eq_ignore_ascii_case("Recipient-ID-Symmetric") || n.eq_ignore_ascii_case("Originator-ID-Symmetric")
    })
}

/// Opens an ENCRYPTED, MIC-CLEAR or MIC-ONLY message with symmetric key management: finds the Key-Info the
/// interchange key opens, decrypts the text (ENCRYPTED) and checks the MIC. Returns the verdict and the
/// canonical text; the text is returned only when the MIC matched.
pub fn open(text: &[u8], ik: &InterchangeKey, policy: &Policy) -> Result<(Verdict, Vec<u8>), PemError> {
    let msg = Message::parse(text)?;
    if !matches!(msg.kind, Kind::Encrypted | Kind::MicClear | Kind::MicOnly) {
        return Err(PemError::Unsupported(format!("{} messages carry no Key-Info", msg.kind.name())));
    }
    let all = entries(&msg)?;
    if all.is_empty() {
        return Err(PemError::UnusableKey(
            "the message has no symmetric Key-Info (asymmetric key management: give --key or --cert)".into(),
        ));
    }
    let dek = if msg.kind == Kind::Encrypted { Some(dek_info(&msg)?) } else { None };
    let clear = if dek.is_none() { Some(msg.canonical_text()?) } else { None };
    for e in all.iter().filter(|e| e.ik_use == ik.use_name()) {
        let mic = ik.decrypt(&e.mic)?;
        let canonical = match (&dek, &clear) {
            (Some((cipher, iv)), _) => {
                let key = ik.decrypt(&e.dek)?;
                if key.len() != cipher.key_size() {
                    return Err(bad(format!("{}: a DEK of {} bytes for {}", e.id, key.len(), dek_name(*cipher))));
                }
                let body = super::message::decode_base64(&msg.body.concat())?;
                // A wrong IK gives a random DEK: bad padding here, or a MIC mismatch below.
                match process(*cipher, Mode::Cbc, Direction::Decrypt, &key, iv, Padding::Pkcs7, &body) {
                    Ok(t) => t,
                    Err(_) => continue,
                }
            }
            (None, Some(t)) => t.clone(),
            (None, None) => continue,
        };
        // The MIC is the 16-byte hash itself: two whole DES blocks, no padding (RFC 1423 section 2).
        if !digest(e.hash, &canonical).matches(&mic) {
            continue;
        }
        return Ok((verdict(&msg, e, ik, dek.as_ref().map(|d| d.0), policy)?, canonical));
    }
    let ids: Vec<String> = all.iter().map(|e| format!("{} ({})", e.id, e.ik_use)).collect();
    Err(PemError::UnusableKey(format!(
        "the {} interchange key opens none of the message's Key-Info fields: it is not the key shared with {}, \
         or the text was changed",
        ik.use_name(),
        ids.join("; ")
    )))
}

fn verdict(
    msg: &Message,
    e: &Entry,
    ik: &InterchangeKey,
    cipher: Option<CipherAlgorithm>,
    policy: &Policy,
) -> Result<Verdict, PemError> {
    let originator = msg.field("Originator-ID-Symmetric").unwrap_or("(no Originator-ID-Symmetric)");
    let mut r = SignerResult::new(originator, SignerStatus::Good);
    r.hash = Some(e.hash.to_string());
    r.key_algorithm = Some(ik.use_name().to_ascii_lowercase());
    r.weak.extend(policy.check(e.hash.algorithm(), Usage::Verify, false)?.weak);
    r.weak.extend(policy.check(ik.cipher().algorithm(), Usage::Decrypt, false)?.weak);
    let mut v = Verdict::new(Format::Pem);
    v.signers.push(r);
    v.notes.push(format!(
        "symmetric MIC under the interchange key of {}: any holder of that key could have written it",
        e.id
    ));
    if let Some(c) = cipher {
        v.encrypted = true;
        v.integrity = Integrity::None;
        v.algorithms.cipher = Some(dek_name(c).to_ascii_lowercase());
        v.algorithms.key_transport = Some(ik.use_name().to_ascii_lowercase());
        v.weak.extend(policy.check(c.algorithm(), Usage::Decrypt, false)?.weak);
    }
    Ok(v.finish())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // A panic in a test is a failed test.

    use super::*;

    #[test]
    fn interchange_keys_are_hex_of_8_or_16_bytes() {
        assert_eq!(InterchangeKey::from_hex(b"0123456789abcdef\n").unwrap().use_name(), "DES-ECB");
        assert_eq!(InterchangeKey::from_hex(b"0123456789abcdef FEDCBA9876543210").unwrap().use_name(), "DES-EDE");
        for bad in [&b""[..], b"0123", b"0123456789abcdeg", b"0123456789abcdef01"] {
            assert!(InterchangeKey::from_hex(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn the_rfc_symmetric_example_names_both_keys_it_needs() {
        let msg = "-----BEGIN PRIVACY-ENHANCED MESSAGE-----\nProc-Type: 4,ENCRYPTED\nContent-Domain: RFC822\n\
                   DEK-Info: DES-CBC,F8143EDE5960C597\nOriginator-ID-Symmetric: linn@zendia.enet.dec.com,,\n\
                   Recipient-ID-Symmetric: linn@zendia.enet.dec.com,ptf-kmc,3\nKey-Info: DES-ECB,RSA-MD2,\
                   9FD3AAD2F2691B9A,\n B70665BB9BF7CBCDA60195DB94F727D3\nRecipient-ID-Symmetric: \
                   pem-dev@tis.com,ptf-kmc,4\nKey-Info: DES-ECB,RSA-MD2,161A3F75DC82EF26,\n \
                   E2EF532C65CBCFF79F83A2658132DB47\n\nLLrHB0eJzyhP+/fSStdW8okeEnv47jxe7SJ/iN72ohNcUk2jHEUSoH1n\n\
                   -----END PRIVACY-ENHANCED MESSAGE-----\n";
        let ik = InterchangeKey::from_hex(b"0123456789abcdef").unwrap();
        let err = open(msg.as_bytes(), &ik, &Policy::default()).unwrap_err().to_string();
        assert!(err.contains("linn@zendia.enet.dec.com,ptf-kmc,3 (DES-ECB)"), "{err}");
        assert!(err.contains("pem-dev@tis.com,ptf-kmc,4 (DES-ECB)"), "{err}");
    }

    #[test]
    fn an_rsa_md2_mic_only_message_opens_and_a_changed_one_does_not() {
        // The RFC's own symmetric example uses RSA-MD2; openssl cannot make MD2, so this one is built here.
        let ik = InterchangeKey::from_hex(b"0123456789ABCDEF").unwrap();
        let text = b"Hello,\r\nworld.\r\n";
        let mic = digest(HashAlgorithm::Md2, text);
        let enc =
            process(CipherAlgorithm::Des, Mode::Ecb, Direction::Encrypt, &ik.key, &[], Padding::None, mic.as_bytes())
                .unwrap();
        let hexed: String = enc.iter().map(|b| format!("{b:02X}")).collect();
        let body = super::super::message::encode_base64_lines(text).join("\n");
        let msg = format!(
            "-----BEGIN PRIVACY-ENHANCED MESSAGE-----\nProc-Type: 4,MIC-ONLY\nContent-Domain: RFC822\n\
             Originator-ID-Symmetric: a@example.org,,\nRecipient-ID-Symmetric: b@example.org,kmc,1\n\
             Key-Info: DES-ECB,RSA-MD2,,{hexed}\n\n{body}\n-----END PRIVACY-ENHANCED MESSAGE-----\n"
        );
        let (v, canonical) = open(msg.as_bytes(), &ik, &Policy::default()).unwrap();
        assert_eq!(canonical, text);
        assert_eq!(v.signers[0].hash.as_deref(), Some("md2"));
        assert!(v.weak.iter().any(|w| w.to_string() == "md2"), "{v:?}");
        let other = msg.replace(&body, &super::super::message::encode_base64_lines(b"Hello,\r\nWorld.\r\n").join("\n"));
        assert!(open(other.as_bytes(), &ik, &Policy::default()).is_err());
    }
}
