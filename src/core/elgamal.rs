//! ElGamal encryption (OpenPGP public-key algorithm 16, and 20 read-only; RFC 4880 section 5.1 and
//! section 13.1 for the padding) of PKCS #1 v1.5 padded session keys.
//!
//! sequoia's RustCrypto back end can neither encrypt nor decrypt ElGamal, and no maintained crate does it
//! with constant-time arithmetic, so this is ours, over `crypto-bigint` (see [`super::modp`]):
//!
//! - decryption: `m = c2 * (c1^x)^-1 mod p`, with the secret exponent in `BoxedMontyForm::pow_bounded_exp`
//!   (constant time; the bound is the public length of x, which gpg chooses from the size of p) and the
//!   inverse by constant-time safegcd; the padding is decoded by the same branch-free decoder as RSA's
//!   ([`super::eme`]) with implicit rejection: a bad block gives a random key, never an error, so the
//!   caller fails later at the integrity check exactly as with a wrong key (no padding oracle);
//! - encryption: `c1 = g^k`, `c2 = m * y^k mod p` with a fresh k below 2^(bits(p)-1), full length rather
//!   than gpg's short exponents, because a recipient's p need not have the structure short exponents rely
//!   on.
//!
//! Keys are checked when read: p odd and of 512 to 8192 bits, 1 < g < p - 1, 1 < y < p - 1, and for
//! secret keys 0 < x < p - 1 with g^x = y. Hostile numbers are errors (or, in decryption, the random key),
//! never panics.

use std::fmt;

use crypto_bigint::modular::BoxedMontyForm;
use crypto_bigint::{BoxedUint, CtEq, CtLt};
use zeroize::{Zeroize, Zeroizing};

use super::eme;
use super::error::CoreError;
use super::modp::{Modulus, minimal};
use super::rand::Rng;

/// Smallest p accepted (read and decrypted, labelled weak; the policy refuses to encrypt to it).
pub const MIN_BITS: usize = 512;
/// Largest p accepted.
pub const MAX_BITS: usize = 8192;

fn malformed(detail: impl Into<String>) -> CoreError {
    CoreError::malformed("ElGamal key", detail)
}

/// An ElGamal ciphertext: `c1 = g^k mod p` and `c2 = m * y^k mod p`, big-endian without leading zeros.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ElGamalCiphertext {
    /// The ephemeral value `g^k mod p`.
    pub c1: Vec<u8>,
    /// The masked message `m * y^k mod p`.
    pub c2: Vec<u8>,
}

/// An ElGamal public key.
#[derive(Clone)]
pub struct ElGamalPublicKey {
    p: Modulus,
    g: BoxedMontyForm,
    y: BoxedMontyForm,
    y_value: BoxedUint,
}

impl ElGamalPublicKey {
    /// A public key from its numbers (big-endian, leading zeros allowed).
    pub fn from_components(p: &[u8], g: &[u8], y: &[u8]) -> Result<ElGamalPublicKey, CoreError> {
        let p = Modulus::new(p, MIN_BITS, MAX_BITS, "ElGamal key")?;
        let p_minus_1 = p.value().as_ref().wrapping_sub(BoxedUint::one_with_precision(p.precision()));
        let one = BoxedUint::one_with_precision(p.precision());
        let inside = |v: &BoxedUint| {
            v.cmp_vartime(&one) == std::cmp::Ordering::Greater && v.cmp_vartime(&p_minus_1) == std::cmp::Ordering::Less
        };
        let g_value = p.public_value(g).filter(inside).ok_or_else(|| malformed("g is not between 1 and p - 1"))?;
        let y_value = p.public_value(y).filter(inside).ok_or_else(|| malformed("y is not between 1 and p - 1"))?;
        let g = p.monty(&g_value);
        let y = p.monty(&y_value);
        Ok(ElGamalPublicKey { p, g, y, y_value })
    }

    /// Size of p in bits (the key size).
    pub fn bits(&self) -> usize {
        self.p.bits()
    }

    /// Size of p in bytes: the longest message block.
    pub fn size(&self) -> usize {
        self.p.len()
    }

    /// Encrypts a short message (an OpenPGP session key with its cipher octet and checksum), padded with
    /// EME-PKCS1-v1_5, with a fresh random exponent from `rng`.
    pub fn encrypt(&self, message: &[u8], rng: &mut dyn Rng) -> Result<ElGamalCiphertext, CoreError> {
        let em = eme::encode(message, self.size(), rng)?;
        let m = self.p.secret_value(&em).ok_or(CoreError::Bug("ElGamal message block"))?;
        let k_bits = self.bits() - 1;
        let mut k_bytes = Zeroizing::new(vec![0u8; k_bits.div_ceil(8)]);
        let mut k = loop {
            rng.fill(&mut k_bytes)?;
            // Keep k below 2^(bits(p) - 1) < p - 1.
            let spare = k_bytes.len() * 8 - k_bits;
            if let Some(first) = k_bytes.first_mut() {
                *first &= 0xff >> spare;
            }
            let k = self.p.secret_value(&k_bytes).ok_or(CoreError::Bug("ElGamal exponent"))?;
            if !bool::from(k.is_zero()) {
                break k;
            }
        };
        let prec = self.p.precision();
        let c1 = self.g.pow_bounded_exp(&k, prec).retrieve();
        let mut mask = self.y.pow_bounded_exp(&k, prec);
        let c2 = self.p.monty(&m).mul(&mask).retrieve();
        k.zeroize();
        mask.zeroize();
        Ok(ElGamalCiphertext { c1: minimal(&c1), c2: minimal(&c2) })
    }
}

impl PartialEq for ElGamalPublicKey {
    fn eq(&self, other: &ElGamalPublicKey) -> bool {
        self.p.bytes() == other.p.bytes() && self.g.retrieve() == other.g.retrieve() && self.y_value == other.y_value
    }
}

impl fmt::Debug for ElGamalPublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ElGamalPublicKey({} bits)", self.bits())
    }
}

/// An ElGamal private key. The secret is zeroized on drop; `Debug` shows only the size.
pub struct ElGamalPrivateKey {
    public: ElGamalPublicKey,
    x: BoxedUint,
    /// The exponent bound for `pow_bounded_exp`: the stored length of x rounded up to whole limbs (public:
    /// it follows from the size of p in every implementation that makes these keys).
    x_bits: u32,
}

impl ElGamalPrivateKey {
    /// A private key from its numbers (big-endian), checked: 0 < x < p - 1 and g^x = y.
    pub fn from_components(p: &[u8], g: &[u8], y: &[u8], x: &[u8]) -> Result<ElGamalPrivateKey, CoreError> {
        let public = ElGamalPublicKey::from_components(p, g, y)?;
        let x_len = super::modp::strip_zeros(x).len();
        let x = public.p.secret_value(x).ok_or_else(|| malformed("x is longer than p"))?;
        let x_bits = u32::try_from((x_len * 8).div_ceil(64) * 64)
            .map_err(|_| CoreError::Bug("ElGamal exponent size"))?
            .clamp(64, public.p.precision());
        let key = ElGamalPrivateKey { public, x, x_bits };
        let p_minus_1 =
            key.public.p.value().as_ref().wrapping_sub(BoxedUint::one_with_precision(key.public.p.precision()));
        let in_range = !key.x.is_zero() & key.x.ct_lt(&p_minus_1);
        let matches = key.public.g.pow_bounded_exp(&key.x, key.x_bits).retrieve().ct_eq(&key.public.y_value);
        if !(in_range & matches).to_bool() {
            return Err(malformed("the secret x does not belong to the public key"));
        }
        Ok(key)
    }

    /// The public half.
    pub fn public(&self) -> &ElGamalPublicKey {
        &self.public
    }

    /// Size of p in bits.
    pub fn bits(&self) -> usize {
        self.public.bits()
    }

    /// The padded block `c2 * (c1^x)^-1 mod p`, as many bytes as p; `None` when c1 or c2 is not a number
    /// between 0 and p (public values: refusing them early reveals nothing about the key).
    fn raw_private(&self, c1: &[u8], c2: &[u8]) -> Option<Zeroizing<Vec<u8>>> {
        let p = &self.public.p;
        let c1 = p.public_value(c1).filter(|v| !bool::from(v.is_zero()))?;
        let c2 = p.public_value(c2)?;
        let mut shared = p.monty(&c1).pow_bounded_exp(&self.x, self.x_bits);
        // For a prime p and 0 < c1 < p the inverse always exists; the check branches on no secret.
        let inverse = shared.invert().into_option();
        shared.zeroize();
        let mut inverse = inverse?;
        let mut m = p.monty(&c2).mul(&inverse).retrieve();
        inverse.zeroize();
        let em = p.to_bytes(&m);
        m.zeroize();
        Some(em)
    }

    /// Decrypts a ciphertext; any failure (out-of-range values, bad padding, wrong key) is the single
    /// [`CoreError::DecryptionFailed`]. Session keys go through
    /// [`decrypt_session_key`](Self::decrypt_session_key) instead, which does not reveal even that.
    pub fn decrypt(&self, c1: &[u8], c2: &[u8]) -> Result<Zeroizing<Vec<u8>>, CoreError> {
        let em = self.raw_private(c1, c2).ok_or(CoreError::DecryptionFailed)?;
        eme::decode(&em).ok_or(CoreError::DecryptionFailed)
    }

    /// Decrypts a session key with implicit rejection: when the padding is bad, or the result is not
    /// `expected_len` bytes, a random value of `expected_len` bytes is returned instead, chosen without a
    /// data-dependent branch (as [`crate::core::rsa::RsaPrivateKey::decrypt_session_key`]).
    pub fn decrypt_session_key(
        &self,
        c1: &[u8],
        c2: &[u8],
        expected_len: usize,
    ) -> Result<Zeroizing<Vec<u8>>, CoreError> {
        let mut fallback = Zeroizing::new(vec![0u8; expected_len]);
        getrandom::fill(&mut fallback).map_err(|_| CoreError::Bug("getrandom"))?;
        Ok(match self.raw_private(c1, c2) {
            Some(em) => eme::decode_or(&em, expected_len, &fallback),
            None => fallback,
        })
    }

    /// Decrypts a session key whose length the protocol does not fix in advance (OpenPGP's v3 PKESK
    /// carries the cipher inside): on bad padding `fallback_len` random bytes instead of an error, as
    /// [`crate::core::rsa::RsaPrivateKey::decrypt_session_key_unsized`].
    pub fn decrypt_session_key_unsized(
        &self,
        c1: &[u8],
        c2: &[u8],
        fallback_len: usize,
    ) -> Result<Zeroizing<Vec<u8>>, CoreError> {
        let mut fallback = Zeroizing::new(vec![0u8; fallback_len]);
        getrandom::fill(&mut fallback).map_err(|_| CoreError::Bug("getrandom"))?;
        Ok(match self.raw_private(c1, c2) {
            Some(em) => eme::decode(&em).unwrap_or(fallback),
            None => fallback,
        })
    }
}

impl Drop for ElGamalPrivateKey {
    fn drop(&mut self) {
        self.x.zeroize();
    }
}

impl fmt::Debug for ElGamalPrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ElGamalPrivateKey({} bits, secret redacted)", self.bits())
    }
}

// The test keys are shared with the OpenPGP adapters' tests (`crate::pgp::crypto`, `crate::pgp::encrypt`).
#[cfg(test)]
pub(crate) mod tests;
