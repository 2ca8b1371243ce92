//! OpenPGP certificates and secret keys: reading them as gpg, sq and rnp write them (armored or binary,
//! single or keyrings, passphrase-protected), choosing the key for an operation, and generating new ones.
//!
//! Generated RSA keys are made by the core (AWS-LC's generator, e = 65537) and signed into a certificate
//! with the core's RSA; Ed25519/Cv25519 keys are made by sequoia. Generated certificates announce SEIPD v1
//! only (not v2/AEAD), so that gpg 2.2 and every other peer can send to them.

use std::sync::Arc;
use std::time::SystemTime;

use openpgp::cert::prelude::*;
use openpgp::crypto::{Decryptor, Password, Signer};
use openpgp::packet::key::{Key4, SecretParts, UnspecifiedRole};
use openpgp::packet::signature::SignatureBuilder;
use openpgp::packet::{Key, Packet, Tag, UserID};
use openpgp::parse::{PacketParser, PacketParserResult, Parse};
use openpgp::serialize::Serialize;
use openpgp::types::{
    CompressionAlgorithm as PgpCompression, Features, HashAlgorithm as PgpHash, KeyFlags, SignatureType,
    SymmetricAlgorithm as PgpSymmetric,
};
use openpgp::{Cert, KeyID};
use sequoia_openpgp as openpgp;
use zeroize::Zeroizing;

use super::crypto::{CoreRsaKey, decryptor_for, signer_for};
use super::policy::sequoia_policy;
use super::v3::V3Key;
use super::{PgpError, from_sequoia};
use crate::core::rsa::RsaPrivateKey;

/// Key algorithms `sealpost key generate --type pgp` offers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GenerateAlgorithm {
    /// RSA primary (sign, certify) and RSA encryption subkey, of the given size (2048, 3072, 4096).
    Rsa(usize),
    /// Ed25519 primary (certify), Ed25519 signing subkey, Cv25519 encryption subkey.
    Ed25519,
}

/// Most signatures one certificate may carry. Real certificates carry a handful, a well-connected one a
/// few thousand certifications; more is a flooding attack (the SKS keyserver poisoning of 2019 put 150 000
/// on some keys; GnuPG's CVE-2022-3219 is the denial of service such a key causes). sequoia keeps about
/// 4 KiB per signature while it builds a `Cert`: 100 000 signatures (12 MB) took 465 MiB, and 10 000 take
/// a tenth of that.
pub const MAX_CERT_SIGNATURES: usize = 10_000;

/// Most user IDs, user attributes and subkeys one certificate may carry, for the same reason (real
/// certificates have a few; rnp caps a key at 32 768 packets).
pub const MAX_CERT_COMPONENTS: usize = 10_000;

/// Refuses `bytes` if a certificate in it carries more than [`MAX_CERT_SIGNATURES`] signatures or
/// [`MAX_CERT_COMPONENTS`] components, before sequoia builds any `Cert`: the packets are read one at a time
/// and counted, nothing kept, in the order `CertParser` reads them (a key packet starts a certificate; the
/// armored blocks one after the other). Input the packet parser cannot read is left to `CertParser`, which
/// stops at the same place and says why.
fn check_cert_sizes(bytes: &[u8]) -> Result<(), PgpError> {
    let Ok(mut ppr) = PacketParser::from_bytes(bytes) else { return Ok(()) };
    let (mut cert, mut signatures, mut components) = (None, 0usize, 0usize);
    loop {
        let pp = match ppr {
            PacketParserResult::Some(pp) => pp,
            PacketParserResult::EOF(eof) => {
                // `CertParser` goes on with what follows the end of an armored block, once.
                match PacketParser::from_buffered_reader(eof.into_reader()) {
                    Ok(PacketParserResult::Some(pp)) => pp,
                    _ => return Ok(()),
                }
            }
        };
        match &pp.packet {
            Packet::PublicKey(k) => (cert, signatures, components) = (Some(k.fingerprint()), 0, 0),
            Packet::SecretKey(k) => (cert, signatures, components) = (Some(k.fingerprint()), 0, 0),
            p if matches!(p.tag(), Tag::PublicKey | Tag::SecretKey) => (cert, signatures, components) = (None, 0, 0),
            p if p.tag() == Tag::Signature => signatures += 1,
            p if matches!(p.tag(), Tag::UserID | Tag::UserAttribute | Tag::PublicSubkey | Tag::SecretSubkey) => {
                components += 1
            }
            _ => {}
        }
        if signatures > MAX_CERT_SIGNATURES || components > MAX_CERT_COMPONENTS {
            let who = cert.map_or_else(|| "a certificate".to_string(), |f| format!("the certificate {f}"));
            let what = if signatures > MAX_CERT_SIGNATURES {
                format!("{MAX_CERT_SIGNATURES} signatures")
            } else {
                format!("{MAX_CERT_COMPONENTS} user IDs and subkeys")
            };
            return Err(PgpError::Malformed(format!(
                "{who} carries more than {what}, far more than any real one (a flooded certificate); not read"
            )));
        }
        ppr = match pp.next() {
            Ok((_, next)) => next,
            Err(_) => return Ok(()),
        };
    }
}

/// Reads every certificate (or secret key) in `bytes`: armored or binary, one or a keyring. PGP 2.x/6.x
/// v3 RSA keys, which sequoia does not parse, are read by [`super::v3`]. A certificate with more than
/// [`MAX_CERT_SIGNATURES`] signatures is refused before it is parsed ([`check_cert_sizes`]).
pub fn read_certs(bytes: &[u8]) -> Result<Vec<Cert>, PgpError> {
    check_cert_sizes(bytes)?;
    let mut certs = Vec::new();
    let mut errors = Vec::new();
    match CertParser::from_bytes(bytes) {
        Ok(parser) => {
            for c in parser {
                match c {
                    Ok(c) => certs.push(c),
                    Err(e) => errors.push(format!("{e:#}")),
                }
            }
        }
        Err(e) => errors.push(format!("{e:#}")),
    }
    if certs.is_empty() {
        if let Ok(v3) = super::v3::read_v3_certs(bytes)
            && !v3.is_empty()
        {
            return Ok(v3);
        }
        let why = errors.first().cloned().unwrap_or_else(|| "no OpenPGP key or certificate found".into());
        return Err(PgpError::Malformed(why));
    }
    Ok(certs)
}

/// How a certificate is named in messages and verdicts: fingerprint and primary user id.
pub fn describe(cert: &Cert) -> String {
    let p = sequoia_policy();
    let uid = cert
        .with_policy(&p, None)
        .ok()
        .and_then(|vc| vc.primary_userid().ok().map(|u| String::from_utf8_lossy(u.userid().value()).into_owned()))
        .or_else(|| cert.userids().next().map(|u| String::from_utf8_lossy(u.userid().value()).into_owned()));
    sanitize(&match uid {
        Some(u) => format!("{} {u}", cert.fingerprint()),
        None => cert.fingerprint().to_string(),
    })
}

/// Removes control characters (CR, LF, escape sequences) from text taken from a key, so that a user id can
/// never forge a header line or a terminal status (SECURITY-CASES B2).
pub fn sanitize(s: &str) -> String {
    s.chars().map(|c| if c.is_control() { '?' } else { c }).collect()
}

/// A secret key's id and a decryptor for it.
pub type KeyDecryptor = (KeyID, Box<dyn Decryptor + Send + Sync>);

/// Secret keys, with the passphrase that unlocks them (if any).
pub struct SecretKeys {
    certs: Vec<Cert>,
    v3: Vec<V3Key>,
    passphrase: Option<Password>,
    /// RSA keys already unlocked and taken into the core, by fingerprint: unlocking (the passphrase's S2K)
    /// and preparing a key cost more than a signature, and a filter signs many messages with one key.
    unlocked: std::sync::Mutex<std::collections::HashMap<openpgp::Fingerprint, CoreRsaKey>>,
}

impl SecretKeys {
    /// Secret keys from already parsed certificates.
    pub fn new(certs: Vec<Cert>, passphrase: Option<Password>) -> Result<SecretKeys, PgpError> {
        if let Some(c) = certs.iter().find(|c| !c.is_tsk()) {
            return Err(PgpError::NoUsableKey(format!(
                "{} holds no secret key material (a certificate was given where a secret key is needed)",
                describe(c)
            )));
        }
        Ok(SecretKeys { certs, v3: Vec::new(), passphrase, unlocked: Default::default() })
    }

    /// Reads secret keys from the contents of key files: OpenPGP transferable secret keys (armored or
    /// binary, as `gpg --export-secret-keys` writes them) or PGP 2.x/6.x v3 secret keys.
    pub fn read(files: &[&[u8]], passphrase: Option<Password>) -> Result<SecretKeys, PgpError> {
        let mut certs = Vec::new();
        let mut v3 = Vec::new();
        for bytes in files {
            match read_certs(bytes) {
                Ok(c) => certs.extend(c),
                Err(err) => {
                    let keys = super::v3::read_v3_secret_keys(bytes).unwrap_or_default();
                    if keys.is_empty() {
                        return Err(err);
                    }
                    v3.extend(keys);
                }
            }
        }
        let mut keys = SecretKeys::new(certs, passphrase)?;
        keys.v3 = v3;
        Ok(keys)
    }

    /// The certificates.
    pub fn certs(&self) -> &[Cert] {
        &self.certs
    }

    /// Unlocks a secret key and makes it a signer or decryptor (through the core for RSA).
    fn unlock<T>(
        &self,
        key: &Key<SecretParts, UnspecifiedRole>,
        make: impl Fn(&Key<SecretParts, UnspecifiedRole>) -> Result<T, PgpError>,
    ) -> Result<T, PgpError> {
        if key.has_unencrypted_secret() {
            return make(key);
        }
        let Some(pw) = &self.passphrase else {
            return Err(PgpError::Passphrase(format!(
                "the secret key {} is protected by a passphrase; give it with --passphrase-file",
                key.keyid()
            )));
        };
        match key.clone().decrypt_secret(pw) {
            Ok(k) => make(&k),
            // sequoia refuses secret numbers that are not minimally encoded (GnuPG 2.1.5 wrote such keys);
            // keys of that kind are unlocked by our own, tolerant reader.
            Err(e) if matches!(e.downcast_ref::<openpgp::Error>(), Some(openpgp::Error::MalformedMPI(_))) => {
                make(&super::crypto::unlock_leniently(key, pw)?)
            }
            Err(_) => Err(PgpError::Passphrase(format!("wrong passphrase for the secret key {}", key.keyid()))),
        }
    }

    /// The RSA key `key` unlocked into the core, once per [`SecretKeys`]; `None` for other algorithms.
    fn core_rsa(&self, key: &Key<SecretParts, UnspecifiedRole>) -> Result<Option<CoreRsaKey>, PgpError> {
        if !matches!(key.mpis(), openpgp::crypto::mpi::PublicKey::RSA { .. }) {
            return Ok(None);
        }
        let fp = key.fingerprint();
        if let Some(k) = self.unlocked.lock().ok().and_then(|m| m.get(&fp).cloned()) {
            return Ok(Some(k));
        }
        let core = self.unlock(key, CoreRsaKey::from_secret)?;
        if let (Some(c), Ok(mut m)) = (&core, self.unlocked.lock()) {
            m.insert(fp, c.clone());
        }
        Ok(core)
    }

    /// One signer per certificate: its valid, unexpired, unrevoked signing-capable secret key.
    pub fn signers(&self) -> Result<Vec<Box<dyn Signer + Send + Sync>>, PgpError> {
        let p = sequoia_policy();
        let mut out = Vec::new();
        for cert in &self.certs {
            let vc = cert
                .with_policy(&p, None)
                .map_err(|e| PgpError::NoUsableKey(format!("{} is not valid: {e}", describe(cert))))?;
            if let openpgp::types::RevocationStatus::Revoked(_) = vc.revocation_status() {
                return Err(PgpError::NoUsableKey(format!("{} is revoked", describe(cert))));
            }
            let ka = vc
                .keys()
                .supported()
                .alive()
                .revoked(false)
                .for_signing()
                .secret()
                .next()
                .ok_or_else(|| PgpError::NoUsableKey(format!("{} has no usable signing key", describe(cert))))?;
            let key = ka.key().clone().role_into_unspecified();
            match self.core_rsa(&key)? {
                Some(core) => out.push(Box::new(core) as Box<dyn Signer + Send + Sync>),
                None => out.push(self.unlock(&key, signer_for)?),
            }
        }
        Ok(out)
    }

    /// Every secret key that can decrypt, unlocked, with its key id. Expired and revoked keys are included:
    /// old mail must stay readable.
    pub fn decryptors(&self) -> Result<Vec<KeyDecryptor>, PgpError> {
        let mut out = Vec::new();
        let mut locked = None;
        for cert in &self.certs {
            for ka in cert.keys().secret() {
                if !ka.key().pk_algo().for_encryption() {
                    continue;
                }
                let key = ka.key().clone().role_into_unspecified();
                let made = match self.core_rsa(&key) {
                    Ok(Some(core)) => Ok(Box::new(core) as Box<dyn Decryptor + Send + Sync>),
                    Ok(None) => self.unlock(&key, decryptor_for),
                    Err(e) => Err(e),
                };
                match made {
                    Ok(d) => out.push((key.keyid(), d)),
                    Err(e) => locked = Some(e),
                }
            }
        }
        for k in &self.v3 {
            out.push((k.keyid.clone(), Box::new(k.key.clone())));
        }
        if out.is_empty() {
            return Err(locked.unwrap_or_else(|| PgpError::NoUsableKey("no secret key that can decrypt".into())));
        }
        Ok(out)
    }
}

/// Preferences written into generated certificates.
fn with_preferences(b: SignatureBuilder) -> Result<SignatureBuilder, PgpError> {
    b.set_features(Features::empty().set_seipdv1())
        .and_then(|b| {
            b.set_preferred_symmetric_algorithms(vec![PgpSymmetric::AES256, PgpSymmetric::AES192, PgpSymmetric::AES128])
        })
        .and_then(|b| b.set_preferred_hash_algorithms(vec![PgpHash::SHA512, PgpHash::SHA384, PgpHash::SHA256]))
        .and_then(|b| {
            b.set_preferred_compression_algorithms(vec![
                PgpCompression::Zlib,
                PgpCompression::BZip2,
                PgpCompression::Zip,
                PgpCompression::Uncompressed,
            ])
        })
        .map_err(from_sequoia)
}

/// Generates a certificate with secret keys for `uid`, optionally protected by `passphrase`.
pub fn generate(uid: &str, algo: GenerateAlgorithm, passphrase: Option<&Password>) -> Result<Cert, PgpError> {
    if uid.trim().is_empty() || uid.chars().any(char::is_control) {
        return Err(PgpError::Malformed("the user id must be non-empty text without control characters".into()));
    }
    let cert = match algo {
        GenerateAlgorithm::Rsa(bits) => generate_rsa(uid, bits)?,
        GenerateAlgorithm::Ed25519 => {
            let (cert, _) = CertBuilder::new()
                .set_cipher_suite(CipherSuite::Cv25519)
                .add_userid(uid)
                .add_signing_subkey()
                .add_transport_encryption_subkey()
                .set_features(Features::empty().set_seipdv1())
                .map_err(from_sequoia)?
                .generate()
                .map_err(from_sequoia)?;
            cert
        }
    };
    match passphrase {
        None => Ok(cert),
        Some(pw) => {
            let mut packets: Vec<Packet> = Vec::new();
            for ka in cert.keys().secret() {
                let locked = ka.key().clone().encrypt_secret(pw).map_err(from_sequoia)?;
                packets.push(if ka.primary() {
                    Packet::from(locked.role_into_primary())
                } else {
                    Packet::from(locked.role_into_subordinate())
                });
            }
            Ok(cert.insert_packets(packets).map_err(from_sequoia)?.0)
        }
    }
}

fn generate_rsa(uid: &str, bits: usize) -> Result<Cert, PgpError> {
    if !matches!(bits, 2048 | 3072 | 4096) {
        return Err(PgpError::Unsupported(format!("RSA keys of {bits} bits (2048, 3072 or 4096)")));
    }
    let now = SystemTime::now();
    let make = || -> Result<(Arc<RsaPrivateKey>, Key<SecretParts, UnspecifiedRole>), PgpError> {
        let core = Arc::new(RsaPrivateKey::generate(bits)?);
        let (d, p, q) = core.secret_components();
        let key: Key<SecretParts, UnspecifiedRole> =
            Key4::import_secret_rsa(&d, &p, &q, now).map_err(from_sequoia)?.into();
        Ok((core, key))
    };
    let (primary_core, primary) = make()?;
    let (_, subkey) = make()?;
    let primary_public = primary.clone().take_secret().0;
    let mut signer = CoreRsaKey::new(primary_core, primary_public.clone());

    let uid = UserID::from(uid);
    let uid_sig = with_preferences(
        SignatureBuilder::new(SignatureType::PositiveCertification)
            .set_signature_creation_time(now)
            .map_err(from_sequoia)?
            .set_key_flags(KeyFlags::empty().set_certification().set_signing())
            .map_err(from_sequoia)?
            .set_primary_userid(true)
            .map_err(from_sequoia)?,
    )?
    .set_hash_algo(PgpHash::SHA512)
    .sign_userid_binding(&mut signer, Some(&primary_public.clone().role_into_primary()), &uid)
    .map_err(from_sequoia)?;

    let sub = subkey.role_into_subordinate();
    let sub_sig = SignatureBuilder::new(SignatureType::SubkeyBinding)
        .set_signature_creation_time(now)
        .map_err(from_sequoia)?
        .set_key_flags(KeyFlags::empty().set_transport_encryption().set_storage_encryption())
        .map_err(from_sequoia)?
        .set_hash_algo(PgpHash::SHA512)
        .sign_subkey_binding(&mut signer, Some(&primary_public.role_into_primary()), &sub)
        .map_err(from_sequoia)?;

    let packets: Vec<Packet> =
        vec![Packet::from(primary.role_into_primary()), uid.into(), uid_sig.into(), Packet::from(sub), sub_sig.into()];
    let cert = Cert::from_packets(packets.into_iter()).map_err(from_sequoia)?;
    // Our own output must be valid under our own policy.
    let p = sequoia_policy();
    cert.with_policy(&p, None).map_err(|e| PgpError::Malformed(format!("generated certificate is invalid: {e}")))?;
    Ok(cert)
}

/// The certificate (public parts), ASCII-armored.
pub fn armored_cert(cert: &Cert) -> Result<Vec<u8>, PgpError> {
    let mut out = Vec::new();
    cert.armored().serialize(&mut out).map_err(from_sequoia)?;
    Ok(out)
}

/// The secret key (transferable secret key), ASCII-armored, in a zeroizing buffer.
pub fn armored_tsk(cert: &Cert) -> Result<Zeroizing<Vec<u8>>, PgpError> {
    let mut out = Zeroizing::new(Vec::new());
    cert.as_tsk().armored().serialize(&mut *out).map_err(from_sequoia)?;
    Ok(out)
}

/// One line per key of a certificate, for listing: fingerprint, algorithm, size, capabilities, user ids.
pub fn list(cert: &Cert) -> Vec<String> {
    let p = sequoia_policy();
    let mut out = vec![describe(cert)];
    for ka in cert.keys() {
        let bits = ka.key().mpis().bits().map(|b| format!("{b}")).unwrap_or_default();
        let flags = ka
            .with_policy(&p, None)
            .ok()
            .and_then(|v| v.key_flags())
            .map(|f| {
                let mut s = String::new();
                if f.for_certification() {
                    s.push('C');
                }
                if f.for_signing() {
                    s.push('S');
                }
                if f.for_transport_encryption() || f.for_storage_encryption() {
                    s.push('E');
                }
                s
            })
            .unwrap_or_default();
        let secret = if ka.key().has_secret() { " (secret)" } else { "" };
        out.push(format!(
            "  {} {} {}{bits} [{flags}]{secret}",
            if ka.primary() { "pub" } else { "sub" },
            ka.key().fingerprint(),
            ka.key().pk_algo(),
        ));
    }
    for u in cert.userids() {
        out.push(format!("  uid {}", sanitize(&String::from_utf8_lossy(u.userid().value()))));
    }
    out
}

/// A certificate as JSON for `pgp list-keys --json`: fingerprint, user ids, and each key's fingerprint,
/// algorithm, size, capabilities and whether its secret is present.
pub fn json(cert: &Cert) -> serde_json::Value {
    let p = sequoia_policy();
    let keys: Vec<serde_json::Value> = cert
        .keys()
        .map(|ka| {
            let flags = ka.with_policy(&p, None).ok().and_then(|v| v.key_flags());
            serde_json::json!({
                "fingerprint": ka.key().fingerprint().to_hex(),
                "keyid": ka.key().keyid().to_hex(),
                "primary": ka.primary(),
                "algorithm": ka.key().pk_algo().to_string(),
                "bits": ka.key().mpis().bits(),
                "sign": flags.as_ref().is_some_and(|f| f.for_signing()),
                "certify": flags.as_ref().is_some_and(|f| f.for_certification()),
                "encrypt": flags.as_ref().is_some_and(|f| f.for_transport_encryption() || f.for_storage_encryption()),
                "secret": ka.key().has_secret(),
            })
        })
        .collect();
    let uids: Vec<String> = cert.userids().map(|u| sanitize(&String::from_utf8_lossy(u.userid().value()))).collect();
    serde_json::json!({ "fingerprint": cert.fingerprint().to_hex(), "userids": uids, "keys": keys })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ed25519(uid: &str) -> Cert {
        generate(uid, GenerateAlgorithm::Ed25519, None).unwrap()
    }

    /// `cert`, binary, followed by `extra` copies of its first self-signature.
    fn with_signatures(cert: &Cert, extra: usize) -> Vec<u8> {
        let mut out = Vec::new();
        cert.serialize(&mut out).unwrap();
        let sig = cert.userids().next().unwrap().self_signatures().next().unwrap().clone();
        let mut one = Vec::new();
        Packet::from(sig).serialize(&mut one).unwrap();
        out.extend(one.repeat(extra));
        out
    }

    #[test]
    fn a_keyring_of_armored_blocks_is_read_whole() {
        let mut ring = armored_cert(&ed25519("A <a@example.org>")).unwrap();
        ring.extend(armored_cert(&ed25519("B <b@example.org>")).unwrap());
        assert_eq!(read_certs(&ring).unwrap().len(), 2);
    }

    #[test]
    fn a_flooded_certificate_is_refused_unread() {
        let (a, b) = (ed25519("A <a@example.org>"), ed25519("B <b@example.org>"));
        let flooded = with_signatures(&a, MAX_CERT_SIGNATURES);
        let err = read_certs(&flooded).unwrap_err().to_string();
        assert!(err.contains(&a.fingerprint().to_string()) && err.contains("10000 signatures"), "{err}");
        // The count is per certificate: two certificates of more than half the limit each are read.
        let half = MAX_CERT_SIGNATURES / 2 + 1;
        let ring = [with_signatures(&a, half), with_signatures(&b, half)].concat();
        assert_eq!(read_certs(&ring).unwrap().len(), 2);
    }
}
