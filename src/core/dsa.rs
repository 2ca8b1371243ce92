//! DSA (FIPS 186-4 section 4; OpenPGP public-key algorithm 17): signatures with deterministic nonces
//! (RFC 6979 section 3.2) and their verification, for keys as gpg and PGP write them: p of 512 to 8192 bits
//! (1024 to 3072 in practice), q of 160, 224 or 256 bits.
//!
//! Why our own rather than RustCrypto's `dsa` 0.6 (which sequoia uses to verify): that crate computes
//! `g^k mod p` and `k^-1 mod q` with `num-bigint-dig`, whose exponentiation and inversion take time that
//! depends on the secret nonce; a few bits of many nonces are enough for a lattice attack to recover the
//! key. Here every operation on the secret `x` and the nonce `k` is `crypto-bigint`'s constant-time
//! Montgomery arithmetic (exponentiation bounded by the public size of q, safegcd inversion), as for RSA on
//! the RustCrypto path. The nonce generator is RFC 6979's HMAC-DRBG over the core's HMAC, with the
//! message's own hash, checked against the RFC's test vectors for both key sizes and all five hashes.
//! Verification uses the same arithmetic (on public values only).
//!
//! What is checked when a key is read: p odd and of a supported size, q of 160/224/256 bits dividing
//! p - 1, g and y of order q, and for secret keys 0 < x < q with g^x = y. Hostile numbers (zero, out of
//! range, over-long) are errors, never panics.

use std::fmt;

use crypto_bigint::modular::BoxedMontyForm;
use crypto_bigint::{BoxedUint, CtEq, CtLt};
use zeroize::{Zeroize, Zeroizing};

use super::digest::{HashAlgorithm, Hmac};
use super::error::CoreError;
use super::modp::{Modulus, bit_len, minimal};

/// Smallest p accepted (PGP 5 made DSS keys of 512 bits and up; they are read, and labelled weak).
pub const MIN_BITS: usize = 512;
/// Largest p accepted.
pub const MAX_BITS: usize = 8192;
/// The sizes of q FIPS 186-4 defines (and gpg makes).
pub const Q_BITS: [usize; 3] = [160, 224, 256];

fn malformed(detail: impl Into<String>) -> CoreError {
    CoreError::malformed("DSA key", detail)
}

/// A DSA signature: `r` and `s`, big-endian without leading zeros (as OpenPGP MPIs hold them).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DsaSignature {
    /// `(g^k mod p) mod q`.
    pub r: Vec<u8>,
    /// `k^-1 (z + x r) mod q`.
    pub s: Vec<u8>,
}

/// A DSA public key.
#[derive(Clone)]
pub struct DsaPublicKey {
    p: Modulus,
    q: Modulus,
    g: BoxedMontyForm,
    y: BoxedMontyForm,
    y_value: BoxedUint,
}

impl DsaPublicKey {
    /// A public key from its numbers (big-endian, leading zeros allowed), checked as the module describes.
    pub fn from_components(p: &[u8], q: &[u8], g: &[u8], y: &[u8]) -> Result<DsaPublicKey, CoreError> {
        DsaPublicKey::parse(p, q, g, y, true)
    }

    /// As [`from_components`](Self::from_components); `check_y` false skips the order of y, for secret
    /// keys, where g^x = y (checked by the caller) implies it.
    fn parse(p: &[u8], q: &[u8], g: &[u8], y: &[u8], check_y: bool) -> Result<DsaPublicKey, CoreError> {
        let p = Modulus::new(p, MIN_BITS, MAX_BITS, "DSA key")?;
        let q_bits = bit_len(q);
        if !Q_BITS.contains(&q_bits) {
            return Err(CoreError::Unsupported(format!("DSA with a q of {q_bits} bits (160, 224 or 256)")));
        }
        let q = Modulus::new(q, q_bits, q_bits, "DSA key")?;
        // q | p - 1 (q < p as it is far shorter).
        let p_minus_1 = p.value().as_ref().wrapping_sub(BoxedUint::one_with_precision(p.precision()));
        if !bool::from(p_minus_1.rem_vartime(q.value()).is_zero()) {
            return Err(malformed("q does not divide p - 1"));
        }
        let in_group = |v: &BoxedUint| -> bool {
            // 1 < v < p and v^q = 1 (mod p): v is in the subgroup of order q.
            let one = BoxedUint::one_with_precision(p.precision());
            let above_one = v.cmp_vartime(&one) == std::cmp::Ordering::Greater;
            above_one && p.monty(v).pow_bounded_exp(q.value(), q.precision()).retrieve() == one
        };
        let g_value = p.public_value(g).ok_or_else(|| malformed("g is not below p"))?;
        if !in_group(&g_value) {
            return Err(malformed("g does not generate a subgroup of order q"));
        }
        let y_value = p.public_value(y).ok_or_else(|| malformed("y is not below p"))?;
        if check_y && !in_group(&y_value) {
            return Err(malformed("y is not in the subgroup of order q"));
        }
        let g = p.monty(&g_value);
        let y = p.monty(&y_value);
        Ok(DsaPublicKey { p, q, g, y, y_value })
    }

    /// Size of p in bits (the key size).
    pub fn bits(&self) -> usize {
        self.p.bits()
    }

    /// Size of q in bits.
    pub fn q_bits(&self) -> usize {
        self.q.bits()
    }

    /// Bytes of q (of r, s and the nonce).
    fn q_len(&self) -> usize {
        self.q.len()
    }

    /// `bits2int` of RFC 6979 section 2.3.2 (FIPS 186-4's z): the leftmost q-bits of the digest, at q's
    /// precision. q's size is a whole number of bytes, so that is the first `q_len` bytes.
    fn bits2int(&self, digest: &[u8]) -> Result<BoxedUint, CoreError> {
        let take = digest.len().min(self.q_len());
        BoxedUint::from_be_slice(&digest[..take], self.q.precision()).map_err(|_| CoreError::Bug("DSA bits2int"))
    }

    /// Verifies a signature (`r`, `s` as big-endian numbers) over a digest. Anything that is not a valid
    /// signature, including values out of range, is [`CoreError::BadSignature`].
    pub fn verify(&self, digest: &[u8], r: &[u8], s: &[u8]) -> Result<(), CoreError> {
        let nonzero = |v: &BoxedUint| !bool::from(v.is_zero());
        let r = self.q.public_value(r).filter(nonzero).ok_or(CoreError::BadSignature)?;
        let s = self.q.public_value(s).filter(nonzero).ok_or(CoreError::BadSignature)?;
        let z = self.q.monty(&self.bits2int(digest)?);
        let w = self.q.monty(&s).invert_vartime().into_option().ok_or(CoreError::BadSignature)?;
        let u1 = z.mul(&w).retrieve();
        let u2 = self.q.monty(&r).mul(&w).retrieve();
        let prec = self.q.precision();
        let v = self.g.pow_bounded_exp(&u1, prec).mul(&self.y.pow_bounded_exp(&u2, prec)).retrieve();
        let v = v.rem_vartime(self.q.value());
        if v == r { Ok(()) } else { Err(CoreError::BadSignature) }
    }
}

impl PartialEq for DsaPublicKey {
    fn eq(&self, other: &DsaPublicKey) -> bool {
        self.p.bytes() == other.p.bytes()
            && self.q.bytes() == other.q.bytes()
            && self.g.retrieve() == other.g.retrieve()
            && self.y_value == other.y_value
    }
}

impl fmt::Debug for DsaPublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DsaPublicKey({}/{} bits)", self.bits(), self.q_bits())
    }
}

/// A DSA private key. The secret is zeroized on drop; `Debug` shows only the sizes.
pub struct DsaPrivateKey {
    public: DsaPublicKey,
    x: BoxedUint,
}

/// Most nonces tried for one signature. RFC 6979 needs a second one with probability about 2^-128.
const MAX_NONCES: usize = 64;

impl DsaPrivateKey {
    /// A private key from its numbers (big-endian), checked: 0 < x < q and g^x = y.
    pub fn from_components(p: &[u8], q: &[u8], g: &[u8], y: &[u8], x: &[u8]) -> Result<DsaPrivateKey, CoreError> {
        let public = DsaPublicKey::parse(p, q, g, y, false)?;
        let x = public.q.secret_value(x).ok_or_else(|| malformed("x is longer than q"))?;
        let key = DsaPrivateKey { public, x };
        let in_range = !key.x.is_zero() & key.x.ct_lt(key.public.q.value().as_ref());
        let matches =
            key.public.g.pow_bounded_exp(&key.x, key.public.q.precision()).retrieve().ct_eq(&key.public.y_value);
        if !(in_range & matches).to_bool() {
            return Err(malformed("the secret x does not belong to the public key"));
        }
        Ok(key)
    }

    /// The public half.
    pub fn public(&self) -> &DsaPublicKey {
        &self.public
    }

    /// Size of p in bits.
    pub fn bits(&self) -> usize {
        self.public.bits()
    }

    /// Signs a digest made with `hash`; the nonce is derived from the key and the digest (RFC 6979), so
    /// the same digest always gives the same signature. A digest longer than q is truncated to its
    /// leftmost bits (FIPS 186-4 section 4.6); one shorter than q is allowed too (OpenPGP front ends offer
    /// only hashes at least as long as q).
    pub fn sign(&self, hash: HashAlgorithm, digest: &[u8]) -> Result<DsaSignature, CoreError> {
        if digest.len() != hash.output_len() {
            return Err(CoreError::malformed("digest", format!("{} bytes for {hash}", digest.len())));
        }
        let key = &self.public;
        let q = key.q.value();
        let rlen = key.q_len();
        let z = key.bits2int(digest)?;
        // RFC 6979 section 3.2 steps a-f: int2octets(x) and bits2octets(h1) = int2octets(z mod q).
        let x_octets = Zeroizing::new(key.q.to_bytes(&self.x).to_vec());
        let h_octets = key.q.to_bytes(&z.rem(q));
        let hlen = hash.output_len();
        let mut v = Zeroizing::new(vec![0x01u8; hlen]);
        let mut k_mac = Zeroizing::new(vec![0x00u8; hlen]);
        for round in [0x00u8, 0x01] {
            let mut m = Hmac::new(hash, &k_mac);
            m.update(&v);
            m.update(&[round]);
            m.update(&x_octets);
            m.update(&h_octets);
            k_mac.copy_from_slice(m.finish().as_bytes());
            update_v(hash, &k_mac, &mut v);
        }
        let z_m = key.q.monty(&z);
        let x_m = key.q.monty(&self.x);
        for _ in 0..MAX_NONCES {
            // Step h: T = V || V' || ... until it holds q's bits; k = bits2int(T).
            let mut t = Zeroizing::new(Vec::with_capacity(rlen + hlen));
            while t.len() < rlen {
                update_v(hash, &k_mac, &mut v);
                t.extend_from_slice(&v);
            }
            let mut k =
                BoxedUint::from_be_slice(&t[..rlen], key.q.precision()).map_err(|_| CoreError::Bug("DSA nonce"))?;
            let usable = !k.is_zero() & k.ct_lt(q.as_ref());
            if usable.to_bool() {
                let signature = self.sign_with(&k, &z_m, &x_m);
                k.zeroize();
                if let Some(sig) = signature {
                    return Ok(sig);
                }
            }
            k.zeroize();
            let mut m = Hmac::new(hash, &k_mac);
            m.update(&v);
            m.update(&[0x00]);
            k_mac.copy_from_slice(m.finish().as_bytes());
            update_v(hash, &k_mac, &mut v);
        }
        Err(CoreError::Bug("DSA: no usable nonce"))
    }

    /// One signature with nonce `k` (0 < k < q); `None` when r or s comes out zero (the caller takes the
    /// next nonce).
    fn sign_with(&self, k: &BoxedUint, z: &BoxedMontyForm, x: &BoxedMontyForm) -> Option<DsaSignature> {
        let key = &self.public;
        let gk = key.g.pow_bounded_exp(k, key.q.precision()).retrieve();
        let r = gk.rem(key.q.value());
        let k_inv = key.q.monty(k).invert().into_option()?;
        let s = k_inv.mul(&z.add(&x.mul(&key.q.monty(&r)))).retrieve();
        if bool::from(r.is_zero()) || bool::from(s.is_zero()) {
            return None;
        }
        Some(DsaSignature { r: minimal(&r), s: minimal(&s) })
    }
}

/// RFC 6979's `V = HMAC_K(V)`.
fn update_v(hash: HashAlgorithm, k: &[u8], v: &mut [u8]) {
    let mut m = Hmac::new(hash, k);
    m.update(v);
    let next = m.finish();
    v.copy_from_slice(next.as_bytes());
}

impl Drop for DsaPrivateKey {
    fn drop(&mut self) {
        self.x.zeroize();
    }
}

impl fmt::Debug for DsaPrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DsaPrivateKey({}/{} bits, secret redacted)", self.bits(), self.public.q_bits())
    }
}

// The test keys are shared with the OpenPGP adapters' tests (`crate::pgp::crypto`, `crate::pgp::encrypt`).
#[cfg(test)]
pub(crate) mod tests;
