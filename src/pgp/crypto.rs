//! sequoia's `crypto::Signer` and `crypto::Decryptor` over the core's RSA, so that every RSA private-key
//! operation of the OpenPGP front end runs in [`crate::core::rsa`] (AWS-LC, or RustCrypto's constant-time
//! arithmetic with blinding; implicit rejection for session keys). Other algorithms (EdDSA, ECDH, DSA) use
//! sequoia's own key pairs.

use std::sync::Arc;

use openpgp::crypto::mpi::{self, MPI};
use openpgp::crypto::{Decryptor, SessionKey, Signer};
use openpgp::packet::Key;
use openpgp::packet::key::{PublicParts, SecretParts, UnspecifiedRole};
use openpgp::types::HashAlgorithm as PgpHash;
use sequoia_openpgp as openpgp;

use super::PgpError;
use super::policy;
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
        let secret = match key.optional_secret() {
            Some(openpgp::packet::key::SecretKeyMaterial::Unencrypted(u)) => u,
            _ => return Err(PgpError::Passphrase(format!("the secret key {} is locked", key.keyid()))),
        };
        let core = secret.map(|m| match m {
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

/// A signer for any unlocked secret key: the core for RSA, sequoia's key pair otherwise.
pub fn signer_for(key: &Key<SecretParts, UnspecifiedRole>) -> Result<Box<dyn Signer + Send + Sync>, PgpError> {
    if let Some(core) = CoreRsaKey::from_secret(key)? {
        return Ok(Box::new(core));
    }
    Ok(Box::new(key.clone().into_keypair().map_err(super::from_sequoia)?))
}

/// A decryptor for any unlocked secret key: the core for RSA, sequoia's key pair otherwise.
pub fn decryptor_for(key: &Key<SecretParts, UnspecifiedRole>) -> Result<Box<dyn Decryptor + Send + Sync>, PgpError> {
    if let Some(core) = CoreRsaKey::from_secret(key)? {
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
