//! sequoia's `crypto::Signer` and `crypto::Decryptor` over the core, so that every RSA, DSA and ElGamal
//! private-key operation of the OpenPGP front end runs in [`crate::core`]: RSA in [`crate::core::rsa`]
//! (AWS-LC, or RustCrypto's constant-time arithmetic with blinding), DSA signatures in
//! [`crate::core::dsa`] (constant time, RFC 6979 nonces), ElGamal decryption in [`crate::core::elgamal`]
//! (constant time; sequoia's RustCrypto back end has no ElGamal at all); session keys with implicit
//! rejection. The elliptic-curve algorithms (EdDSA, ECDSA, ECDH) use sequoia's own key pairs.

use std::sync::Arc;

use openpgp::crypto::mpi::{self, MPI};
use openpgp::crypto::{Decryptor, SessionKey, Signer};
use openpgp::packet::Key;
use openpgp::packet::key::{PublicParts, SecretParts, UnspecifiedRole};
use openpgp::types::HashAlgorithm as PgpHash;
use sequoia_openpgp as openpgp;

use super::PgpError;
use super::policy;
use crate::core::dsa::DsaPrivateKey;
use crate::core::elgamal::ElGamalPrivateKey;
use crate::core::rsa::{RsaPrivateKey, SignaturePadding};

/// The longest v3 PKESK plaintext: cipher octet, a 256-bit key, checksum.
const LONGEST_SESSION_KEY: usize = 1 + 32 + 2;

/// An RSA secret key held by the core, with the OpenPGP public key it belongs to.
#[derive(Clone)]
pub struct CoreRsaKey {
    key: Arc<RsaPrivateKey>,
    public: Key<PublicParts, UnspecifiedRole>,
}

impl std::fmt::Debug for CoreRsaKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "CoreRsaKey({}, {:?})", self.public.fingerprint(), self.key)
    }
}

impl CoreRsaKey {
    /// Takes an unlocked OpenPGP RSA secret key into the core. `None` when the key is not RSA.
    pub fn from_secret(key: &Key<SecretParts, UnspecifiedRole>) -> Result<Option<CoreRsaKey>, PgpError> {
        let mpi::PublicKey::RSA { e, n } = key.mpis() else { return Ok(None) };
        let core = unlocked(key)?.map(|m| match m {
            mpi::SecretKeyMaterial::RSA { d, p, q, .. } => {
                RsaPrivateKey::from_components(n.value(), e.value(), d.value(), p.value(), q.value()).map(Some)
            }
            _ => Ok(None),
        })?;
        Ok(core.map(|k| CoreRsaKey { key: Arc::new(k), public: key.clone().take_secret().0 }))
    }

    /// A core key with the given OpenPGP public key packet (used by key generation and v3 keys).
    pub fn new(key: Arc<RsaPrivateKey>, public: Key<PublicParts, UnspecifiedRole>) -> CoreRsaKey {
        CoreRsaKey { key, public }
    }

    /// The core key.
    pub fn core(&self) -> &Arc<RsaPrivateKey> {
        &self.key
    }
}

impl Signer for CoreRsaKey {
    fn public(&self) -> &Key<PublicParts, UnspecifiedRole> {
        &self.public
    }

    fn acceptable_hashes(&self) -> &[PgpHash] {
        &[PgpHash::SHA512, PgpHash::SHA384, PgpHash::SHA256, PgpHash::SHA224, PgpHash::SHA1, PgpHash::MD5]
    }

    fn sign(&mut self, hash_algo: PgpHash, digest: &[u8]) -> openpgp::Result<mpi::Signature> {
        let hash = policy::hash(hash_algo).ok_or_else(|| PgpError::Unsupported(format!("signing with {hash_algo}")))?;
        let s = self.key.sign(SignaturePadding::Pkcs1v15, hash, digest)?;
        Ok(mpi::Signature::RSA { s: MPI::new(&s) })
    }
}

impl Decryptor for CoreRsaKey {
    fn public(&self) -> &Key<PublicParts, UnspecifiedRole> {
        &self.public
    }

    fn decrypt(&mut self, ciphertext: &mpi::Ciphertext, plaintext_len: Option<usize>) -> openpgp::Result<SessionKey> {
        let mpi::Ciphertext::RSA { c } = ciphertext else {
            return Err(PgpError::Malformed("an RSA key was asked to decrypt a non-RSA ciphertext".into()).into());
        };
        // MPIs lose their leading zeros; a value longer than the modulus is as invalid as bad padding and
        // takes the same path (a random key that fails later).
        let padded = self.key.public().pad_to_size(c.value()).unwrap_or_default();
        let plain = match plaintext_len {
            Some(n) => self.key.decrypt_session_key(&padded, n)?,
            None => self.key.decrypt_session_key_unsized(&padded, LONGEST_SESSION_KEY)?,
        };
        Ok(SessionKey::from(&plain[..]))
    }
}

/// The unencrypted secret numbers of a key; an error when they are still locked.
fn unlocked(key: &Key<SecretParts, UnspecifiedRole>) -> Result<&openpgp::packet::key::Unencrypted, PgpError> {
    match key.optional_secret() {
        Some(openpgp::packet::key::SecretKeyMaterial::Unencrypted(u)) => Ok(u),
        _ => Err(PgpError::Passphrase(format!("the secret key {} is locked", key.keyid()))),
    }
}

/// Hashes a DSA signer offers, longest first: those at least as long as q (FIPS 186-4 section 4.2; gpg
/// refuses a DSA signature over a shorter hash).
const DSA_HASHES: [PgpHash; 5] = [PgpHash::SHA512, PgpHash::SHA384, PgpHash::SHA256, PgpHash::SHA224, PgpHash::SHA1];

/// A DSA secret key held by the core, with the OpenPGP public key it belongs to.
#[derive(Clone)]
pub struct CoreDsaKey {
    key: Arc<DsaPrivateKey>,
    public: Key<PublicParts, UnspecifiedRole>,
    hashes: &'static [PgpHash],
}

impl std::fmt::Debug for CoreDsaKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "CoreDsaKey({}, {:?})", self.public.fingerprint(), self.key)
    }
}

impl CoreDsaKey {
    /// Takes an unlocked OpenPGP DSA secret key into the core. `None` when the key is not DSA.
    pub fn from_secret(key: &Key<SecretParts, UnspecifiedRole>) -> Result<Option<CoreDsaKey>, PgpError> {
        let mpi::PublicKey::DSA { p, q, g, y } = key.mpis() else { return Ok(None) };
        let core = unlocked(key)?.map(|m| match m {
            mpi::SecretKeyMaterial::DSA { x } => {
                DsaPrivateKey::from_components(p.value(), q.value(), g.value(), y.value(), x.value()).map(Some)
            }
            _ => Ok(None),
        })?;
        Ok(core.map(|k| {
            // Hashes of at least q's length: 160 bits takes all five, 224 drops SHA-1, 256 also SHA-224.
            let hashes = match k.public().q_bits() {
                0..=160 => &DSA_HASHES[..],
                161..=224 => &DSA_HASHES[..4],
                _ => &DSA_HASHES[..3],
            };
            CoreDsaKey { key: Arc::new(k), public: key.clone().take_secret().0, hashes }
        }))
    }

    /// The core key.
    pub fn core(&self) -> &Arc<DsaPrivateKey> {
        &self.key
    }
}

impl Signer for CoreDsaKey {
    fn public(&self) -> &Key<PublicParts, UnspecifiedRole> {
        &self.public
    }

    fn acceptable_hashes(&self) -> &[PgpHash] {
        self.hashes
    }

    fn sign(&mut self, hash_algo: PgpHash, digest: &[u8]) -> openpgp::Result<mpi::Signature> {
        let hash = policy::hash(hash_algo)
            .filter(|_| self.hashes.contains(&hash_algo))
            .ok_or_else(|| PgpError::Unsupported(format!("DSA signatures over {hash_algo} with this key")))?;
        let sig = self.key.sign(hash, digest)?;
        Ok(mpi::Signature::DSA { r: MPI::new(&sig.r), s: MPI::new(&sig.s) })
    }
}

/// An ElGamal secret key (algorithm 16, or 20 for decryption only) held by the core, with the OpenPGP
/// public key it belongs to.
#[derive(Clone)]
pub struct CoreElGamalKey {
    key: Arc<ElGamalPrivateKey>,
    public: Key<PublicParts, UnspecifiedRole>,
}

impl std::fmt::Debug for CoreElGamalKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "CoreElGamalKey({}, {:?})", self.public.fingerprint(), self.key)
    }
}

impl CoreElGamalKey {
    /// Takes an unlocked OpenPGP ElGamal secret key into the core. `None` when the key is not ElGamal.
    pub fn from_secret(key: &Key<SecretParts, UnspecifiedRole>) -> Result<Option<CoreElGamalKey>, PgpError> {
        let mpi::PublicKey::ElGamal { p, g, y } = key.mpis() else { return Ok(None) };
        let core = unlocked(key)?.map(|m| match m {
            mpi::SecretKeyMaterial::ElGamal { x } => {
                ElGamalPrivateKey::from_components(p.value(), g.value(), y.value(), x.value()).map(Some)
            }
            _ => Ok(None),
        })?;
        Ok(core.map(|k| CoreElGamalKey { key: Arc::new(k), public: key.clone().take_secret().0 }))
    }

    /// The core key.
    pub fn core(&self) -> &Arc<ElGamalPrivateKey> {
        &self.key
    }
}

impl Decryptor for CoreElGamalKey {
    fn public(&self) -> &Key<PublicParts, UnspecifiedRole> {
        &self.public
    }

    fn decrypt(&mut self, ciphertext: &mpi::Ciphertext, plaintext_len: Option<usize>) -> openpgp::Result<SessionKey> {
        let mpi::Ciphertext::ElGamal { e, c } = ciphertext else {
            return Err(
                PgpError::Malformed("an ElGamal key was asked to decrypt a non-ElGamal ciphertext".into()).into()
            );
        };
        // Out-of-range values take the same path as bad padding (a random key that fails later).
        let plain = match plaintext_len {
            Some(n) => self.key.decrypt_session_key(e.value(), c.value(), n)?,
            None => self.key.decrypt_session_key_unsized(e.value(), c.value(), LONGEST_SESSION_KEY)?,
        };
        Ok(SessionKey::from(&plain[..]))
    }
}

/// Checks a signer before anything is written: its key size against the policy, and that it can sign
/// with `hash` (a DSA key takes only hashes at least as long as its q).
pub fn check_signer(signer: &dyn Signer, hash: PgpHash, policy: &crate::core::policy::Policy) -> Result<(), PgpError> {
    let key = signer.public();
    policy::check_key(policy, key.pk_algo(), key.mpis().bits(), crate::core::policy::Usage::Sign)?;
    let hashes = signer.acceptable_hashes();
    if !hashes.is_empty() && !hashes.contains(&hash) {
        let names: Vec<String> = hashes.iter().filter_map(|h| policy::hash(*h)).map(|h| h.name().to_string()).collect();
        return Err(PgpError::Unsupported(format!(
            "{} signatures with the {} key {} (it takes {})",
            policy::hash(hash).map_or_else(|| hash.to_string(), |h| h.name().to_string()),
            key.pk_algo(),
            key.keyid(),
            names.join(", ")
        )));
    }
    Ok(())
}

/// A signer for any unlocked secret key: the core for RSA and DSA, sequoia's key pair otherwise.
pub fn signer_for(key: &Key<SecretParts, UnspecifiedRole>) -> Result<Box<dyn Signer + Send + Sync>, PgpError> {
    if let Some(core) = CoreRsaKey::from_secret(key)? {
        return Ok(Box::new(core));
    }
    if let Some(core) = CoreDsaKey::from_secret(key)? {
        return Ok(Box::new(core));
    }
    Ok(Box::new(key.clone().into_keypair().map_err(super::from_sequoia)?))
}

/// A decryptor for any unlocked secret key: the core for RSA and ElGamal, sequoia's key pair otherwise.
pub fn decryptor_for(key: &Key<SecretParts, UnspecifiedRole>) -> Result<Box<dyn Decryptor + Send + Sync>, PgpError> {
    if let Some(core) = CoreRsaKey::from_secret(key)? {
        return Ok(Box::new(core));
    }
    if let Some(core) = CoreElGamalKey::from_secret(key)? {
        return Ok(Box::new(core));
    }
    Ok(Box::new(key.clone().into_keypair().map_err(super::from_sequoia)?))
}

/// Unlocks a secret key whose encrypted secret numbers sequoia refuses to parse because they are not
/// minimally encoded (GnuPG 2.1.5 wrote MPIs with leading zero octets): the same S2K and CFB decryption and
/// the same checksum as RFC 9580 section 5.5.3, with a parser that tolerates the leading zeros. Only the
/// CFB-protected form (not AEAD) exists in keys of that age. Returns the key with its secret in the clear.
#[allow(deprecated)] // ElGamal's identifiers are deprecated in sequoia; old keys use them.
pub fn unlock_leniently(
    key: &Key<SecretParts, UnspecifiedRole>,
    password: &openpgp::crypto::Password,
) -> Result<Key<SecretParts, UnspecifiedRole>, PgpError> {
    use openpgp::crypto::mpi::ProtectedMPI;
    use openpgp::types::PublicKeyAlgorithm as Pk;

    use crate::core::digest::{HashAlgorithm, digest};
    use crate::core::mode::{Direction, Mode, Padding, process};

    let Some(openpgp::packet::key::SecretKeyMaterial::Encrypted(enc)) = key.optional_secret() else {
        return Err(PgpError::Malformed("the secret key is not encrypted".into()));
    };
    if enc.aead_algo().is_some() {
        return Err(PgpError::Unsupported("lenient unlocking of AEAD-protected keys".into()));
    }
    let alg = super::policy::cipher(enc.algo())
        .ok_or_else(|| PgpError::Unsupported(format!("secret keys protected with {}", enc.algo())))?;
    let kek = enc.s2k().derive_key(password, alg.key_size()).map_err(super::from_sequoia)?;
    let ct = enc.ciphertext().map_err(super::from_sequoia)?;
    let bs = alg.block_size();
    if ct.len() < bs {
        return Err(PgpError::Malformed("the encrypted secret key is truncated".into()));
    }
    let plain = zeroize::Zeroizing::new(
        process(alg, Mode::Cfb, Direction::Decrypt, &kek, &ct[..bs], Padding::None, &ct[bs..])
            .map_err(PgpError::Core)?,
    );
    let (secret, ok) = match enc.checksum().unwrap_or(mpi::SecretKeyChecksum::SHA1) {
        mpi::SecretKeyChecksum::SHA1 => {
            let cut = plain.len().saturating_sub(20);
            (&plain[..cut], digest(HashAlgorithm::Sha1, &plain[..cut]).as_bytes() == &plain[cut..])
        }
        mpi::SecretKeyChecksum::Sum16 => {
            let cut = plain.len().saturating_sub(2);
            let sum = plain[..cut].iter().fold(0u16, |s, &b| s.wrapping_add(u16::from(b)));
            (&plain[..cut], plain[cut..] == sum.to_be_bytes())
        }
    };
    if !ok {
        return Err(PgpError::Passphrase(format!("wrong passphrase for the secret key {}", key.keyid())));
    }
    // MPIs: a two-octet bit count, then the octets; leading zero octets tolerated (and dropped).
    let mut rest = secret;
    let mut next = || -> Result<ProtectedMPI, PgpError> {
        let [hi, lo, tail @ ..] = rest else {
            return Err(PgpError::Malformed("the secret key's numbers are truncated".into()));
        };
        let len = (usize::from(*hi) << 8 | usize::from(*lo)).div_ceil(8);
        if tail.len() < len {
            return Err(PgpError::Malformed("the secret key's numbers are truncated".into()));
        }
        let v = &tail[..len];
        rest = &tail[len..];
        let first = v.iter().position(|&b| b != 0).unwrap_or(v.len());
        Ok(ProtectedMPI::from(&v[first..]))
    };
    let material = match key.pk_algo() {
        Pk::RSAEncryptSign | Pk::RSAEncrypt | Pk::RSASign => {
            mpi::SecretKeyMaterial::RSA { d: next()?, p: next()?, q: next()?, u: next()? }
        }
        Pk::DSA => mpi::SecretKeyMaterial::DSA { x: next()? },
        Pk::ElGamalEncrypt | Pk::ElGamalEncryptSign => mpi::SecretKeyMaterial::ElGamal { x: next()? },
        Pk::EdDSA => mpi::SecretKeyMaterial::EdDSA { scalar: next()? },
        Pk::ECDSA => mpi::SecretKeyMaterial::ECDSA { scalar: next()? },
        Pk::ECDH => mpi::SecretKeyMaterial::ECDH { scalar: next()? },
        other => return Err(PgpError::Unsupported(format!("lenient unlocking of {other} keys"))),
    };
    Ok(key.clone().add_secret(material.into()).0)
}

#[cfg(test)]
#[allow(deprecated)] // DSA, ElGamal and 3DES identifiers are deprecated in sequoia; testing them is the point.
mod tests {
    use std::time::SystemTime;

    use openpgp::packet::key::Key4;
    use openpgp::types::PublicKeyAlgorithm;

    use super::*;
    use crate::core::digest::digest;
    use crate::core::dsa::tests::{KEY_1024, KEY_2048};

    fn hex(s: &str) -> Vec<u8> {
        let s: String = s.chars().filter(|c| !c.is_whitespace()).collect();
        (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
    }

    /// An OpenPGP DSA key from RFC 6979's numbers (p, q, g, x, y).
    fn dsa_key(k: &[&str; 5]) -> Key<SecretParts, UnspecifiedRole> {
        let [p, q, g, x, y] = k.map(hex);
        let public = mpi::PublicKey::DSA { p: MPI::new(&p), q: MPI::new(&q), g: MPI::new(&g), y: MPI::new(&y) };
        let secret = mpi::SecretKeyMaterial::DSA { x: mpi::ProtectedMPI::from(&x[..]) };
        Key4::with_secret(SystemTime::UNIX_EPOCH, PublicKeyAlgorithm::DSA, public, secret.into()).unwrap().into()
    }

    /// The core's DSA signatures, checked by sequoia's own DSA verification (RustCrypto `dsa` 0.6, an
    /// independent implementation), for every hash the key offers; q decides which hashes those are.
    #[test]
    fn core_dsa_signatures_verify_in_rustcrypto_dsa() {
        for (k, hashes) in [(KEY_1024, 5), (KEY_2048, 3)] {
            let key = dsa_key(&k);
            let mut signer = CoreDsaKey::from_secret(&key).unwrap().unwrap();
            assert_eq!(signer.acceptable_hashes().len(), hashes);
            for h in signer.acceptable_hashes().to_vec() {
                for msg in [&b"sample"[..], b"", &[0xa5; 1000]] {
                    let d = digest(policy::hash(h).unwrap(), msg);
                    let sig = Signer::sign(&mut signer, h, d.as_bytes()).unwrap();
                    key.verify(&sig, h, d.as_bytes()).unwrap();
                    let other = digest(policy::hash(h).unwrap(), b"other");
                    assert!(key.verify(&sig, h, other.as_bytes()).is_err());
                }
            }
            // A hash shorter than q (or one DSA never takes) is refused, not signed.
            assert!(Signer::sign(&mut signer, PgpHash::MD5, &[0u8; 16]).is_err());
            assert!(format!("{signer:?}").contains("redacted"));
        }
    }

    #[test]
    fn locked_or_foreign_keys() {
        let key = dsa_key(&KEY_2048);
        assert!(CoreElGamalKey::from_secret(&key).unwrap().is_none(), "a DSA key is not ElGamal");
        assert!(CoreRsaKey::from_secret(&key).unwrap().is_none(), "a DSA key is not RSA");
        let locked = key.clone().encrypt_secret(&"pw".into()).unwrap();
        assert!(matches!(CoreDsaKey::from_secret(&locked), Err(PgpError::Passphrase(_))));
        // A secret that does not belong to the public key is refused when it is taken in.
        let mut bad = KEY_2048;
        bad[3] = "69C7548C21D0DFEA6B9A51C9EAD4E27C33D3B3F180316E5BCAB92C933F0E4DBD";
        assert!(CoreDsaKey::from_secret(&dsa_key(&bad)).is_err());
    }
}
