//! Arithmetic modulo a public number for the discrete-logarithm algorithms ([`super::dsa`] and
//! [`super::elgamal`]): big-endian numbers read into fixed-precision `crypto-bigint` integers, Montgomery
//! forms, and results written back.
//!
//! The precision of every integer is fixed by the modulus (its bit length rounded up to 64), never by the
//! value, so that the time of an operation on a secret depends only on public sizes. Secret values are
//! only ever used through `crypto-bigint`'s constant-time operations (`BoxedMontyForm::pow_bounded_exp`,
//! `mul`, `invert`); the variable-time helpers here ([`Modulus::public_value`]) take public input only.

use crypto_bigint::modular::{BoxedMontyForm, BoxedMontyParams};
use crypto_bigint::{BoxedUint, NonZero, Odd, Resize};
use zeroize::Zeroizing;

use super::error::CoreError;

/// `bytes` without its leading zero octets.
pub(super) fn strip_zeros(bytes: &[u8]) -> &[u8] {
    let first = bytes.iter().position(|&b| b != 0).unwrap_or(bytes.len());
    &bytes[first..]
}

/// The bit length of a big-endian number (0 for zero).
pub(super) fn bit_len(bytes: &[u8]) -> usize {
    let v = strip_zeros(bytes);
    v.first().map_or(0, |&b| v.len() * 8 - b.leading_zeros() as usize)
}

/// A precision in bits for `bits`: rounded up to whole 64-bit limbs.
fn precision(bits: usize) -> Result<u32, CoreError> {
    u32::try_from(bits.max(1).div_ceil(64) * 64).map_err(|_| CoreError::Bug("integer precision"))
}

/// A public odd modulus (a prime in every use here) with its Montgomery parameters.
#[derive(Clone)]
pub(super) struct Modulus {
    value: NonZero<BoxedUint>,
    bytes: Vec<u8>,
    params: BoxedMontyParams,
    bits: usize,
}

impl Modulus {
    /// Reads an odd modulus of `min_bits..=max_bits` bits; `what` names it in errors ("DSA key").
    pub(super) fn new(
        bytes: &[u8],
        min_bits: usize,
        max_bits: usize,
        what: &'static str,
    ) -> Result<Modulus, CoreError> {
        let bytes = strip_zeros(bytes);
        let bits = bit_len(bytes);
        if !(min_bits..=max_bits).contains(&bits) {
            return Err(CoreError::Unsupported(format!(
                "{what} with a modulus of {bits} bits (supported: {min_bits} to {max_bits})"
            )));
        }
        let prec = precision(bits)?;
        let value =
            BoxedUint::from_be_slice(bytes, prec).map_err(|_| CoreError::malformed(what, "modulus too long"))?;
        let odd = Odd::new(value.clone())
            .into_option()
            .ok_or_else(|| CoreError::malformed(what, "the modulus is even, so it is not a prime"))?;
        let value = NonZero::new(value).into_option().ok_or(CoreError::Bug("non-zero modulus"))?;
        Ok(Modulus { value, bytes: bytes.to_vec(), params: BoxedMontyParams::new_vartime(odd), bits })
    }

    /// Size in bits.
    pub(super) fn bits(&self) -> usize {
        self.bits
    }

    /// Size in bytes.
    pub(super) fn len(&self) -> usize {
        self.bytes.len()
    }

    /// Big-endian, no leading zeros.
    pub(super) fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The precision of every integer modulo this one.
    pub(super) fn precision(&self) -> u32 {
        self.params.bits_precision()
    }

    /// The modulus as a non-zero integer (for reductions).
    pub(super) fn value(&self) -> &NonZero<BoxedUint> {
        &self.value
    }

    /// A public number below the modulus; `None` when it is not (variable time: public input only).
    pub(super) fn public_value(&self, bytes: &[u8]) -> Option<BoxedUint> {
        let bytes = strip_zeros(bytes);
        if bytes.len() > self.bytes.len() {
            return None;
        }
        let v = BoxedUint::from_be_slice(bytes, self.precision()).ok()?;
        (v.cmp_vartime(self.value.as_ref()) == std::cmp::Ordering::Less).then_some(v)
    }

    /// A secret number at this modulus's precision. Only its length is looked at (the caller checks its
    /// range in constant time); `None` when it is longer than the modulus.
    pub(super) fn secret_value(&self, bytes: &[u8]) -> Option<BoxedUint> {
        let bytes = strip_zeros(bytes);
        if bytes.len() > self.bytes.len() {
            return None;
        }
        BoxedUint::from_be_slice(bytes, self.precision()).ok()
    }

    /// The Montgomery form of `v` (any precision; a value wider than the modulus must be below it).
    pub(super) fn monty(&self, v: &BoxedUint) -> BoxedMontyForm {
        BoxedMontyForm::new(v.resize_unchecked(self.precision()), &self.params)
    }

    /// `v` (below the modulus) as big-endian bytes, left-padded to the modulus's length.
    pub(super) fn to_bytes(&self, v: &BoxedUint) -> Zeroizing<Vec<u8>> {
        let all = Zeroizing::new(v.to_be_bytes().to_vec());
        let k = self.len();
        let mut out = Zeroizing::new(vec![0u8; k]);
        let src = if all.len() > k { &all[all.len() - k..] } else { &all[..] };
        out[k - src.len()..].copy_from_slice(src);
        out
    }
}

/// A public result (signature value, ciphertext) as a minimal big-endian number, as OpenPGP MPIs store it.
pub(super) fn minimal(v: &BoxedUint) -> Vec<u8> {
    strip_zeros(&v.to_be_bytes()).to_vec()
}
