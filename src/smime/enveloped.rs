//! EnvelopedData (RFC 5652 section 6) and AuthEnvelopedData (RFC 5083, AES-GCM per RFC 5084): the content
//! encrypted under a fresh key, that key wrapped for each recipient with RSA (KeyTransRecipientInfo,
//! PKCS #1 v1.5 or RSAES-OAEP).
//!
//! Encryption streams: the outer structure is written with indefinite lengths (BER, as RFC 5652 allows and
//! `openssl cms -stream` does), the recipient infos and algorithm identifiers as DER, and the ciphertext as a
//! constructed OCTET STRING of pieces, so memory stays flat whatever the input size. Decryption reads DER
//! (BER input is normalised first by [`super::input`]) through the `cms` crate's structures; the content key
//! is unwrapped with implicit rejection for PKCS #1 v1.5 (a bad padding gives a random key, and the failure
//! shows only as a padding or tag error after decryption, like a wrong key), and nothing decrypted is worth
//! anything to the caller until [`decrypt`] returns `Ok`: GCM's tag and CBC's padding are checked at the end.

use std::io::{Read, Write};

use cms::cert::IssuerAndSerialNumber;
use cms::content_info::CmsVersion;
use cms::enveloped_data::{KeyTransRecipientInfo, RecipientIdentifier, RecipientInfo, RecipientInfos};
use const_oid::ObjectIdentifier;
use der::asn1::{Null, OctetString};
use der::{Any, Decode, Encode, Sequence};
use spki::AlgorithmIdentifierOwned;
use zeroize::Zeroizing;

use super::ber::{EOC, write_header};
use super::input::read_some;
use super::{SmimeError, hash_from_oid, oid_of};
use crate::core::algorithm::Algorithm;
use crate::core::cipher::CipherAlgorithm;
use crate::core::digest::HashAlgorithm;
use crate::core::mode::{Crypter, Direction, Mode, Padding, crypter};
use crate::core::mode::{GcmDecryptor, GcmEncryptor};
use crate::core::policy::{Policy, Usage, Weakness};
use crate::core::rand::Rng;
use crate::core::rsa::{EncryptionPadding, RsaPrivateKey, RsaPublicKey};
use crate::core::verdict::{Format, Integrity, Verdict};
use crate::x509::certificate::RSA_ENCRYPTION;
use crate::x509::signature::MGF1;

/// id-data.
pub const ID_DATA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.1");
/// id-envelopedData.
pub const ID_ENVELOPED_DATA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.3");
/// id-ct-authEnvelopedData.
pub const ID_AUTH_ENVELOPED_DATA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.1.23");
/// id-RSAES-OAEP.
const RSAES_OAEP: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.7");
/// id-pSpecified (OAEP label source).
const P_SPECIFIED: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.9");
/// RC2-CBC: read in old messages, but no implementation here.
const RC2_CBC: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.3.2");
/// Largest piece of ciphertext in one primitive OCTET STRING of the streamed output.
const PIECE: usize = 256 * 1024;
/// GCM tag length we produce (RFC 5084 allows 12-16; 16 is what everyone writes).
const GCM_TAG: usize = 16;

/// The content-encryption algorithm.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ContentCipher {
    /// A block cipher in CBC mode with PKCS #7 padding: AES, TripleDES, DES.
    Cbc(CipherAlgorithm),
    /// AES-GCM with a 16-byte key (false) or a 32-byte key (true), in AuthEnvelopedData.
    Gcm {
        /// AES-256 rather than AES-128.
        aes256: bool,
    },
}

impl ContentCipher {
    /// By the names of `--cipher`: aes256, aes192, aes128, aes256-gcm, aes128-gcm, 3des, des.
    pub fn from_name(name: &str) -> Option<ContentCipher> {
        Some(match name {
            "aes256" | "aes256-cbc" => ContentCipher::Cbc(CipherAlgorithm::Aes256),
            "aes192" | "aes192-cbc" => ContentCipher::Cbc(CipherAlgorithm::Aes192),
            "aes128" | "aes128-cbc" => ContentCipher::Cbc(CipherAlgorithm::Aes128),
            "3des" | "des-ede3-cbc" => ContentCipher::Cbc(CipherAlgorithm::TripleDes),
            "des" | "des-cbc" => ContentCipher::Cbc(CipherAlgorithm::Des),
            "aes256-gcm" => ContentCipher::Gcm { aes256: true },
            "aes128-gcm" => ContentCipher::Gcm { aes256: false },
            _ => return None,
        })
    }

    /// The registry entry (for the policy and OIDs).
    pub fn algorithm(self) -> Algorithm {
        match self {
            ContentCipher::Cbc(c) => c.algorithm(),
            ContentCipher::Gcm { aes256: true } => Algorithm::Aes256Gcm,
            ContentCipher::Gcm { aes256: false } => Algorithm::Aes128Gcm,
        }
    }

    /// The name shown in verdicts: `aes256-cbc`, `3des-cbc`, `aes128-gcm`.
    pub fn name(self) -> String {
        match self {
            ContentCipher::Cbc(c) => format!("{}-cbc", c.name()),
            ContentCipher::Gcm { .. } => self.algorithm().name().to_string(),
        }
    }

    fn key_len(self) -> usize {
        match self {
            ContentCipher::Cbc(c) => c.key_size(),
            ContentCipher::Gcm { aes256 } => {
                if aes256 {
                    32
                } else {
                    16
                }
            }
        }
    }

    fn oid(self) -> Result<ObjectIdentifier, SmimeError> {
        Ok(oid_of(self.algorithm())?)
    }

    fn from_oid(oid: &ObjectIdentifier) -> Result<ContentCipher, SmimeError> {
        if *oid == RC2_CBC {
            return Err(SmimeError::Unsupported(
                "content encryption with RC2-CBC (export-grade, from the 1990s); sealpost has no RC2".into(),
            ));
        }
        match Algorithm::from_oid(&oid.to_string()) {
            Some(Algorithm::Aes128Gcm) => Ok(ContentCipher::Gcm { aes256: false }),
            Some(Algorithm::Aes256Gcm) => Ok(ContentCipher::Gcm { aes256: true }),
            Some(alg) => CipherAlgorithm::ALL
                .into_iter()
                .find(|c| c.algorithm() == alg)
                .map(ContentCipher::Cbc)
                .ok_or_else(|| SmimeError::Unsupported(format!("content encryption algorithm {oid}"))),
            None => Err(SmimeError::Unsupported(format!("content encryption algorithm {oid}"))),
        }
    }
}

/// How the content key is wrapped for a recipient.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyTransport {
    /// RSAES-PKCS1-v1_5 (rsaEncryption): what every S/MIME client reads.
    Pkcs1v15,
    /// RSAES-OAEP with MGF1 over the same hash and an empty label.
    Oaep(HashAlgorithm),
}

impl KeyTransport {
    fn name(self) -> &'static str {
        match self {
            KeyTransport::Pkcs1v15 => "rsa",
            KeyTransport::Oaep(_) => "rsa-oaep",
        }
    }
}

/// One recipient: who (as the certificate names it) and the RSA key to wrap for.
pub struct Recipient {
    /// The certificate's issuer and serial number.
    pub id: IssuerAndSerialNumber,
    /// The certificate's RSA public key.
    pub key: RsaPublicKey,
}

/// GCMParameters (RFC 5084 section 3.2).
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
struct GcmParameters {
    nonce: OctetString,
    #[asn1(default = "default_icv_len")]
    icv_len: u8,
}

fn default_icv_len() -> u8 {
    12
}

/// RSAES-OAEP-params (RFC 8017 appendix A.2.1), as far as we produce and accept it.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
struct OaepParams {
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT", optional = "true")]
    hash: Option<AlgorithmIdentifierOwned>,
    #[asn1(context_specific = "1", tag_mode = "EXPLICIT", optional = "true")]
    mgf: Option<AlgorithmIdentifierOwned>,
    #[asn1(context_specific = "2", tag_mode = "EXPLICIT", optional = "true")]
    label: Option<AlgorithmIdentifierOwned>,
}

fn any<T: der::EncodeValue + der::Tagged>(value: &T) -> Result<Any, SmimeError> {
    Ok(Any::encode_from(value)?)
}

fn key_transport_alg(t: KeyTransport) -> Result<AlgorithmIdentifierOwned, SmimeError> {
    match t {
        KeyTransport::Pkcs1v15 => Ok(AlgorithmIdentifierOwned { oid: RSA_ENCRYPTION, parameters: Some(any(&Null)?) }),
        KeyTransport::Oaep(HashAlgorithm::Sha1) => {
            // Every field at its default (SHA-1, MGF1 with SHA-1, empty label): an empty SEQUENCE.
            let params = OaepParams { hash: None, mgf: None, label: None };
            Ok(AlgorithmIdentifierOwned { oid: RSAES_OAEP, parameters: Some(any(&params)?) })
        }
        KeyTransport::Oaep(h) => {
            let hash = AlgorithmIdentifierOwned { oid: oid_of(h.algorithm())?, parameters: None };
            let mgf = AlgorithmIdentifierOwned { oid: MGF1, parameters: Some(any(&hash)?) };
            let params = OaepParams { hash: Some(hash), mgf: Some(mgf), label: None };
            Ok(AlgorithmIdentifierOwned { oid: RSAES_OAEP, parameters: Some(any(&params)?) })
        }
    }
}

/// Reads a KeyTransRecipientInfo's algorithm: PKCS #1 v1.5, or OAEP with one hash for both uses and no label.
fn key_transport_from(alg: &AlgorithmIdentifierOwned) -> Result<KeyTransport, SmimeError> {
    if alg.oid == RSA_ENCRYPTION {
        return Ok(KeyTransport::Pkcs1v15);
    }
    if alg.oid != RSAES_OAEP {
        return Err(SmimeError::Unsupported(format!("key transport algorithm {}", alg.oid)));
    }
    let params = match &alg.parameters {
        None => OaepParams { hash: None, mgf: None, label: None },
        Some(p) => p.decode_as::<OaepParams>().map_err(|e| SmimeError::malformed("RSAES-OAEP parameters", e))?,
    };
    let hash = match &params.hash {
        None => HashAlgorithm::Sha1,
        Some(h) => hash_from_oid(&h.oid, "OAEP hash")?,
    };
    let mgf_hash = match &params.mgf {
        None => HashAlgorithm::Sha1,
        Some(m) if m.oid == MGF1 => {
            let inner = m
                .parameters
                .as_ref()
                .ok_or_else(|| SmimeError::malformed("RSAES-OAEP parameters", "MGF1 without a hash"))?
                .decode_as::<AlgorithmIdentifierOwned>()
                .map_err(|e| SmimeError::malformed("RSAES-OAEP parameters", e))?;
            hash_from_oid(&inner.oid, "OAEP MGF1 hash")?
        }
        Some(m) => return Err(SmimeError::Unsupported(format!("OAEP mask generation function {}", m.oid))),
    };
    if mgf_hash != hash {
        return Err(SmimeError::Unsupported(format!("OAEP with {hash} and MGF1 over {mgf_hash}")));
    }
    if let Some(label) = &params.label {
        let empty = label.oid == P_SPECIFIED
            && label.parameters.as_ref().and_then(|p| p.decode_as::<OctetString>().ok()).is_none_or(|o| o.is_empty());
        if !empty {
            return Err(SmimeError::Unsupported("OAEP with a label".into()));
        }
    }
    Ok(KeyTransport::Oaep(hash))
}

/// What the policy is asked about when encrypting.
pub struct Choice<'a> {
    /// The policy.
    pub policy: &'a Policy,
    /// Whether the user named the cipher (legacy ciphers are produced only then).
    pub cipher_named: bool,
}

/// The content encryptor: CBC, or GCM whose tag goes into the `mac` field.
enum Sealer {
    Cbc(crate::core::mode::BlockModeCrypter),
    Gcm(Box<GcmEncryptor>),
}

impl Sealer {
    fn crypter(&mut self) -> &mut dyn Crypter {
        match self {
            Sealer::Cbc(c) => c,
            Sealer::Gcm(g) => g.as_mut(),
        }
    }
}

/// Encrypts `input` for `recipients`, writing a ContentInfo with EnvelopedData (CBC ciphers) or
/// AuthEnvelopedData (GCM) to `out`, streaming.
pub fn encrypt(
    input: &mut dyn Read,
    out: &mut dyn Write,
    recipients: &[Recipient],
    cipher: ContentCipher,
    transport: KeyTransport,
    choice: &Choice<'_>,
    rng: &mut dyn Rng,
) -> Result<(), SmimeError> {
    if recipients.is_empty() {
        return Err(SmimeError::UnusableKey("no recipient: nobody could decrypt this".into()));
    }
    choice.policy.check(cipher.algorithm(), Usage::Encrypt, choice.cipher_named)?;
    for r in recipients {
        choice.policy.check_rsa(r.key.bits(), Usage::Encrypt).map_err(|e| {
            e.concerning(format_args!("the recipient with issuer \"{}\" serial {}", r.id.issuer, r.id.serial_number))
        })?;
    }
    let mut key = Zeroizing::new(vec![0u8; cipher.key_len()]);
    rng.fill(&mut key)?;
    let mut infos = Vec::with_capacity(recipients.len());
    for r in recipients {
        let padding = match transport {
            KeyTransport::Pkcs1v15 => EncryptionPadding::Pkcs1v15,
            KeyTransport::Oaep(h) => EncryptionPadding::Oaep(h),
        };
        let wrapped = r.key.encrypt(padding, &key)?;
        infos.push(RecipientInfo::Ktri(KeyTransRecipientInfo {
            version: CmsVersion::V0,
            rid: RecipientIdentifier::IssuerAndSerialNumber(r.id.clone()),
            key_enc_alg: key_transport_alg(transport)?,
            enc_key: OctetString::new(wrapped)?,
        }));
    }
    let infos = RecipientInfos::try_from(infos)?.to_der()?;
    let (alg_id, mut sealer) = match cipher {
        ContentCipher::Cbc(c) => {
            let mut iv = vec![0u8; c.block_size()];
            rng.fill(&mut iv)?;
            let enc = crypter(c, Mode::Cbc, Direction::Encrypt, &key, &iv, Padding::Pkcs7)?;
            let id = AlgorithmIdentifierOwned { oid: cipher.oid()?, parameters: Some(any(&OctetString::new(iv)?)?) };
            (id, Sealer::Cbc(enc))
        }
        ContentCipher::Gcm { .. } => {
            let mut nonce = vec![0u8; 12];
            rng.fill(&mut nonce)?;
            let enc = GcmEncryptor::new(&key, &nonce, &[], false)?;
            let params = GcmParameters { nonce: OctetString::new(nonce)?, icv_len: GCM_TAG as u8 };
            (
                AlgorithmIdentifierOwned { oid: cipher.oid()?, parameters: Some(any(&params)?) },
                Sealer::Gcm(Box::new(enc)),
            )
        }
    };
    let gcm = matches!(cipher, ContentCipher::Gcm { .. });
    let outer = if gcm { ID_AUTH_ENVELOPED_DATA } else { ID_ENVELOPED_DATA };

    // ContentInfo ::= SEQUENCE { contentType, [0] EXPLICIT content }, indefinite.
    write_header(out, 0x30, None)?;
    out.write_all(&outer.to_der()?)?;
    write_header(out, 0xa0, None)?;
    write_header(out, 0x30, None)?;
    // version: EnvelopedData with only issuerAndSerialNumber KTRIs is v0; AuthEnvelopedData is always v0.
    out.write_all(&CmsVersion::V0.to_der()?)?;
    out.write_all(&infos)?;
    // EncryptedContentInfo ::= SEQUENCE { contentType, contentEncryptionAlgorithm, [0] IMPLICIT OCTET STRING }
    write_header(out, 0x30, None)?;
    out.write_all(&ID_DATA.to_der()?)?;
    out.write_all(&alg_id.to_der()?)?;
    write_header(out, 0xa0, None)?;
    let mut buf = vec![0u8; PIECE];
    let mut sealed = Vec::with_capacity(PIECE + 32);
    loop {
        let n = match read_some(input, &mut buf)? {
            0 => break,
            n => n,
        };
        sealed.clear();
        sealer.crypter().update(&buf[..n], &mut sealed)?;
        if !sealed.is_empty() {
            write_header(out, 0x04, Some(sealed.len()))?;
            out.write_all(&sealed)?;
        }
    }
    sealed.clear();
    sealer.crypter().finish(&mut sealed)?;
    if !sealed.is_empty() {
        write_header(out, 0x04, Some(sealed.len()))?;
        out.write_all(&sealed)?;
    }
    out.write_all(&EOC)?; // [0] encryptedContent
    out.write_all(&EOC)?; // EncryptedContentInfo
    if let Sealer::Gcm(g) = &sealer {
        // The tag travels in the mac field; a GcmEncryptor made without append_tag keeps it.
        let tag = g.tag().ok_or(crate::core::CoreError::Bug("GCM tag missing"))?;
        out.write_all(&OctetString::new(tag.to_vec())?.to_der()?)?;
    }
    out.write_all(&EOC)?; // EnvelopedData / AuthEnvelopedData
    out.write_all(&EOC)?; // [0]
    out.write_all(&EOC)?; // ContentInfo
    out.flush()?;
    Ok(())
}

/// Who we are when decrypting: the certificate's identifiers and the private key.
pub struct Identity<'a> {
    /// Issuer and serial number of our certificate.
    pub id: IssuerAndSerialNumber,
    /// Our certificate's subject key identifier, if it has one.
    pub ski: Option<Vec<u8>>,
    /// Our private key.
    pub key: &'a RsaPrivateKey,
}

/// The parts of EnvelopedData and AuthEnvelopedData decryption needs, found without copying the
/// ciphertext (the `cms` crate's owned structures would copy it three times); only the small parts are
/// decoded with the `cms` crate.
struct Envelope<'a> {
    recipients: RecipientInfos,
    content_alg: AlgorithmIdentifierOwned,
    ciphertext: Option<&'a [u8]>,
    mac: Option<&'a [u8]>,
    auth_attrs_der: Option<Vec<u8>>,
}

fn envelope(der: &[u8]) -> Result<Envelope<'_>, SmimeError> {
    use super::ber::DerReader;
    let mut top = DerReader::new(der, "CMS message");
    let mut ci = top.read_nested(0x30, "ContentInfo")?;
    top.finish("the message")?;
    let ct = ci.read_oid("contentType")?;
    let auth = if ct == ID_ENVELOPED_DATA {
        false
    } else if ct == ID_AUTH_ENVELOPED_DATA {
        true
    } else {
        return Err(SmimeError::malformed(
            "CMS message",
            format!("content type {} is not EnvelopedData or AuthEnvelopedData", super::input::oid_name(&ct)),
        ));
    };
    let what = if auth { "AuthEnvelopedData" } else { "EnvelopedData" };
    let mut explicit = ci.read_nested(0xa0, "content")?;
    let mut env = explicit.read_nested(0x30, what)?;
    env.read(0x02, "version")?;
    if env.peek_tag() == Some(0xa0) {
        env.read_tlv()?; // originatorInfo: certificates we do not need.
    }
    let (_, infos, _) = env.read_tlv()?;
    let recipients = RecipientInfos::from_der(infos).map_err(|e| SmimeError::malformed("RecipientInfos", e))?;
    let mut eci = env.read_nested(0x30, "EncryptedContentInfo")?;
    eci.read_oid("contentType")?;
    let (_, alg, _) = eci.read_tlv()?;
    let content_alg = AlgorithmIdentifierOwned::from_der(alg)
        .map_err(|e| SmimeError::malformed("content encryption algorithm", e))?;
    // [0] IMPLICIT OCTET STRING: primitive in DER (BER segments were joined by the input layer).
    let ciphertext = if eci.is_empty() { None } else { Some(eci.read(0x80, "encryptedContent")?) };
    eci.finish("EncryptedContentInfo")?;
    let (mut mac, mut auth_attrs_der) = (None, None);
    if auth {
        if env.peek_tag() == Some(0xa1) {
            let (_, whole, _) = env.read_tlv()?;
            // The AAD is the DER of the attributes with the SET OF tag (RFC 5083 section 2.2).
            let mut set = whole.to_vec();
            if let Some(first) = set.first_mut() {
                *first = 0x31;
            }
            auth_attrs_der = Some(set);
        }
        mac = Some(env.read(0x04, "mac")?);
        if env.peek_tag() == Some(0xa2) {
            env.read_tlv()?;
        }
    } else if env.peek_tag() == Some(0xa1) {
        env.read_tlv()?; // unprotectedAttrs
    }
    env.finish(what)?;
    Ok(Envelope { recipients, content_alg, ciphertext, mac, auth_attrs_der })
}

fn describe_rid(rid: &RecipientIdentifier) -> String {
    match rid {
        RecipientIdentifier::IssuerAndSerialNumber(ias) => {
            format!("issuer \"{}\" serial {}", ias.issuer, ias.serial_number)
        }
        RecipientIdentifier::SubjectKeyIdentifier(ski) => {
            format!("subject key id {}", ski.0.as_bytes().iter().map(|b| format!("{b:02x}")).collect::<String>())
        }
    }
}

/// Decrypts EnvelopedData or AuthEnvelopedData (DER) for `me`, writing the content to `out`. What reaches
/// `out` is unauthenticated until this returns `Ok`: the caller must hold it (a spool or a private
/// temporary file) and release it only then. CBC content has no integrity protection at all; the verdict
/// says so (`integrity: none`, weak `no-integrity`).
pub fn decrypt(der: &[u8], me: &Identity<'_>, policy: &Policy, out: &mut dyn Write) -> Result<Verdict, SmimeError> {
    let env = envelope(der)?;
    let mut verdict = Verdict::new(Format::Smime);
    verdict.encrypted = true;
    let cipher = ContentCipher::from_oid(&env.content_alg.oid)?;
    let acceptance = policy.check(cipher.algorithm(), Usage::Decrypt, false)?;
    verdict.weak.extend(acceptance.weak);
    verdict.algorithms.cipher = Some(cipher.name());

    let mut seen = Vec::new();
    let mut found = None;
    for info in env.recipients.0.iter() {
        match info {
            RecipientInfo::Ktri(k) => {
                let mine = match &k.rid {
                    RecipientIdentifier::IssuerAndSerialNumber(ias) => *ias == me.id,
                    RecipientIdentifier::SubjectKeyIdentifier(ski) => {
                        me.ski.as_deref().is_some_and(|s| s == ski.0.as_bytes())
                    }
                };
                if mine {
                    found = Some(k);
                    break;
                }
                seen.push(describe_rid(&k.rid));
            }
            RecipientInfo::Kari(_) => seen.push("a key agreement recipient (EC/DH, not supported)".into()),
            RecipientInfo::Kekri(_) => seen.push("a key-encryption-key recipient".into()),
            RecipientInfo::Pwri(_) => seen.push("a password recipient".into()),
            RecipientInfo::Ori(_) => seen.push("another kind of recipient".into()),
        }
    }
    let ktri = found.ok_or_else(|| {
        SmimeError::CannotDecrypt(format!(
            "the message is not encrypted to this certificate (recipients: {})",
            seen.join("; ")
        ))
    })?;
    let transport = key_transport_from(&ktri.key_enc_alg)?;
    verdict.algorithms.key_transport = Some(transport.name().to_string());
    verdict.weak.extend(policy.check_rsa(me.key.bits(), Usage::Decrypt)?.weak);
    let wrapped = ktri.enc_key.as_bytes();
    let key = match transport {
        // Implicit rejection: a bad padding yields a random key of the right length, no error here.
        KeyTransport::Pkcs1v15 => me.key.decrypt_session_key(wrapped, cipher.key_len())?,
        KeyTransport::Oaep(h) => me
            .key
            .decrypt(EncryptionPadding::Oaep(h), wrapped)
            .map_err(|_| SmimeError::CannotDecrypt("the content key does not unwrap with this key".into()))?,
    };
    if key.len() != cipher.key_len() {
        return Err(SmimeError::CannotDecrypt("the content key does not unwrap with this key".into()));
    }
    let ciphertext = env
        .ciphertext
        .ok_or_else(|| SmimeError::Unsupported("detached encrypted content (no encryptedContent)".into()))?;
    let params = env
        .content_alg
        .parameters
        .as_ref()
        .ok_or_else(|| SmimeError::malformed("content encryption algorithm", "no parameters (IV or nonce)"))?;
    let mut crypt: Box<dyn Crypter> = match cipher {
        ContentCipher::Cbc(c) => {
            if env.mac.is_some() {
                return Err(SmimeError::malformed("AuthEnvelopedData", "a CBC cipher in authenticated enveloped data"));
            }
            let iv = params.decode_as::<OctetString>().map_err(|e| SmimeError::malformed("CBC parameters", e))?;
            if iv.as_bytes().len() != c.block_size() {
                return Err(SmimeError::malformed("CBC parameters", format!("an IV of {} bytes", iv.as_bytes().len())));
            }
            verdict.integrity = Integrity::None;
            verdict.weak.push(Weakness::NoIntegrity);
            Box::new(crypter(c, Mode::Cbc, Direction::Decrypt, &key, iv.as_bytes(), Padding::Pkcs7)?)
        }
        ContentCipher::Gcm { .. } => {
            let mac = env
                .mac
                .ok_or_else(|| SmimeError::malformed("EnvelopedData", "GCM outside AuthEnvelopedData has no tag"))?;
            let p = params.decode_as::<GcmParameters>().map_err(|e| SmimeError::malformed("GCM parameters", e))?;
            if p.nonce.as_bytes().len() != 12 {
                return Err(SmimeError::Unsupported(format!("a GCM nonce of {} bytes", p.nonce.as_bytes().len())));
            }
            if usize::from(p.icv_len) != mac.len() || mac.len() != GCM_TAG {
                return Err(SmimeError::Unsupported(format!(
                    "a GCM tag of {} bytes (parameters say {})",
                    mac.len(),
                    p.icv_len
                )));
            }
            verdict.integrity = Integrity::Aead;
            let aad = env.auth_attrs_der.as_deref().unwrap_or(&[]);
            Box::new(GcmDecryptor::new(&key, p.nonce.as_bytes(), aad, Some(mac))?)
        }
    };
    let mut plain = Vec::with_capacity(PIECE + 32);
    for piece in ciphertext.chunks(PIECE) {
        plain.clear();
        crypt.update(piece, &mut plain)?;
        out.write_all(&plain)?;
    }
    plain.clear();
    crypt.finish(&mut plain).map_err(|e| match e {
        crate::core::CoreError::DecryptionFailed if verdict.integrity == Integrity::Aead => SmimeError::Integrity(
            "the GCM tag does not match: the message was modified, or the content key is wrong".into(),
        ),
        crate::core::CoreError::DecryptionFailed => {
            SmimeError::CannotDecrypt("bad padding after decryption: wrong key, or a modified message".into())
        }
        other => SmimeError::Core(other),
    })?;
    out.write_all(&plain)?;
    Ok(verdict.finish())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)] // A panic in a test is a failed test.

    use std::sync::OnceLock;

    use super::*;
    use crate::core::rand::SeededRng;
    use crate::x509::{CertSpec, Certificate, generate};

    fn bob() -> &'static (Certificate, RsaPrivateKey) {
        static BOB: OnceLock<(Certificate, RsaPrivateKey)> = OnceLock::new();
        BOB.get_or_init(|| {
            let mut spec = CertSpec::new("Bob", Some("bob@example.org".into()));
            spec.bits = 2048;
            generate(&spec).unwrap()
        })
    }

    fn seal(data: &[u8], cipher: ContentCipher, transport: KeyTransport) -> Vec<u8> {
        let (cert, _) = bob();
        let recipients = [Recipient { id: cert.issuer_and_serial(), key: cert.rsa_public_key().unwrap() }];
        let policy = Policy::default();
        let choice = Choice { policy: &policy, cipher_named: true };
        let mut ber = Vec::new();
        encrypt(&mut &data[..], &mut ber, &recipients, cipher, transport, &choice, &mut SeededRng::new(b"t")).unwrap();
        crate::smime::input::cms_der(&ber).unwrap().into_owned()
    }

    fn open(der: &[u8]) -> Result<(Verdict, Vec<u8>), SmimeError> {
        let (cert, key) = bob();
        let me = Identity { id: cert.issuer_and_serial(), ski: cert.subject_key_id(), key };
        let mut out = Vec::new();
        let v = decrypt(der, &me, &Policy::default(), &mut out)?;
        Ok((v, out))
    }

    #[test]
    fn round_trips_every_cipher_and_key_transport() {
        let data: Vec<u8> = (0..300_000u32).map(|i| (i * 7) as u8).collect();
        for name in ["aes256", "aes192", "aes128", "aes256-gcm", "aes128-gcm", "3des"] {
            let cipher = ContentCipher::from_name(name).unwrap();
            for transport in [
                KeyTransport::Pkcs1v15,
                KeyTransport::Oaep(HashAlgorithm::Sha256),
                KeyTransport::Oaep(HashAlgorithm::Sha1),
            ] {
                for len in [0, 1, 16, data.len()] {
                    let der = seal(&data[..len], cipher, transport);
                    let (v, out) = open(&der).unwrap();
                    assert!(out == data[..len], "{name} {transport:?} {len}");
                    assert_eq!(v.algorithms.cipher.as_deref(), Some(cipher.name().as_str()));
                    let gcm = matches!(cipher, ContentCipher::Gcm { .. });
                    assert_eq!(v.integrity, if gcm { Integrity::Aead } else { Integrity::None });
                }
            }
        }
    }

    #[test]
    fn a_modified_gcm_message_fails_its_tag_and_cbc_padding_damage_is_caught() {
        let data = vec![0x5a; 1000];
        let der = seal(&data, ContentCipher::Gcm { aes256: true }, KeyTransport::Pkcs1v15);
        // The ciphertext sits before the 16-byte tag at the end (18 bytes with its header).
        let mut bad = der.clone();
        let at = bad.len() - 40;
        bad[at] ^= 1;
        assert!(matches!(open(&bad), Err(SmimeError::Integrity(_))));
        let der = seal(&data, ContentCipher::Cbc(CipherAlgorithm::Aes256), KeyTransport::Pkcs1v15);
        let mut bad = der.clone();
        let last = bad.len() - 1;
        bad[last] ^= 0x80;
        assert!(matches!(open(&bad), Err(SmimeError::CannotDecrypt(_))));
    }

    #[test]
    fn legacy_ciphers_need_naming_and_rc2_is_named_unsupported() {
        let (cert, _) = bob();
        let recipients = [Recipient { id: cert.issuer_and_serial(), key: cert.rsa_public_key().unwrap() }];
        let policy = Policy::default();
        let unnamed = Choice { policy: &policy, cipher_named: false };
        let r = encrypt(
            &mut &b"x"[..],
            &mut Vec::new(),
            &recipients,
            ContentCipher::Cbc(CipherAlgorithm::TripleDes),
            KeyTransport::Pkcs1v15,
            &unnamed,
            &mut SeededRng::new(b"t"),
        );
        assert!(matches!(r, Err(SmimeError::Core(crate::core::CoreError::PolicyRefused { .. }))));
        let named = Choice { policy: &policy, cipher_named: true };
        let r = encrypt(
            &mut &b"x"[..],
            &mut Vec::new(),
            &recipients,
            ContentCipher::Cbc(CipherAlgorithm::Des),
            KeyTransport::Pkcs1v15,
            &named,
            &mut SeededRng::new(b"t"),
        );
        assert!(r.is_err(), "DES is broken: named is not enough without allow_broken");
        match ContentCipher::from_oid(&RC2_CBC) {
            Err(SmimeError::Unsupported(m)) => assert!(m.contains("RC2")),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn oaep_parameters_round_trip() {
        for t in
            [KeyTransport::Pkcs1v15, KeyTransport::Oaep(HashAlgorithm::Sha1), KeyTransport::Oaep(HashAlgorithm::Sha256)]
        {
            assert_eq!(key_transport_from(&key_transport_alg(t).unwrap()).unwrap(), t);
        }
    }
}
