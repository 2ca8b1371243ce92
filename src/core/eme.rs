//! EME-PKCS1-v1_5 (RFC 8017 section 7.2, RFC 9580 section 5.1.3 for OpenPGP session keys): encoding, and
//! decoding without branches on secret data.
//!
//! One decoder for every public-key algorithm whose session keys are PKCS #1 v1.5 padded: RSA
//! ([`super::rsa`], on its RustCrypto path and for the implicit-rejection session-key decryption of every
//! front end) and ElGamal ([`super::elgamal`], OpenPGP algorithm 16). The encoder is used where no library
//! pads for us (ElGamal); RSA encryption pads inside AWS-LC or RustCrypto.

use zeroize::Zeroizing;

use super::error::CoreError;
use super::rand::Rng;

/// All ones when `a == b`, else zero.
#[inline]
fn ct_eq(a: usize, b: usize) -> usize {
    let x = a ^ b;
    // (x | -x) has its top bit set iff x != 0.
    let nonzero = (x | x.wrapping_neg()) >> (usize::BITS - 1);
    nonzero.wrapping_sub(1)
}

/// All ones when `a < b`, else zero (both below 2^(bits-1)).
#[inline]
fn ct_lt(a: usize, b: usize) -> usize {
    (a.wrapping_sub(b) >> (usize::BITS - 1)).wrapping_neg()
}

/// Scans `em` once, whatever its content; returns (all-ones if the framing is valid, index of the zero
/// separator).
fn scan(em: &[u8]) -> (usize, usize) {
    let k = em.len();
    if k < 11 {
        return (0, 0);
    }
    let mut good = ct_eq(em[0] as usize, 0) & ct_eq(em[1] as usize, 2);
    let mut found = 0usize;
    let mut sep = 0usize;
    for (i, &b) in em.iter().enumerate().skip(2) {
        let is_zero = ct_eq(b as usize, 0);
        let first = is_zero & !found;
        sep |= first & i;
        found |= is_zero;
    }
    // At least 8 bytes of non-zero padding: the separator is at index 10 or later.
    good &= found & !ct_lt(sep, 10);
    (good, sep)
}

/// Decodes `em`; `None` when the framing is invalid. Only the final result branches.
pub(super) fn decode(em: &[u8]) -> Option<Zeroizing<Vec<u8>>> {
    let (good, sep) = scan(em);
    if good == 0 {
        return None;
    }
    Some(Zeroizing::new(em[sep + 1..].to_vec()))
}

/// Decodes `em` expecting a message of exactly `len` bytes; returns `fallback` (which must be `len` bytes)
/// instead when the framing is invalid or the length differs, selecting byte by byte without a branch.
pub(super) fn decode_or(em: &[u8], len: usize, fallback: &[u8]) -> Zeroizing<Vec<u8>> {
    let k = em.len();
    let mut out = Zeroizing::new(vec![0u8; len]);
    if len > k || fallback.len() != len {
        out.copy_from_slice(&fallback[..len.min(fallback.len())]);
        return out;
    }
    let (good, sep) = scan(em);
    let good = good & ct_eq(k - sep - 1, len);
    let mask = (good & 0xff) as u8;
    for (i, o) in out.iter_mut().enumerate() {
        let m = em[k - len + i];
        *o = (m & mask) | (fallback[i] & !mask);
    }
    out
}

/// Encodes `msg` into a block of `k` bytes: `00 02 PS 00 msg`, where PS is at least 8 non-zero random
/// bytes. Fails when `msg` does not fit.
pub(super) fn encode(msg: &[u8], k: usize, rng: &mut dyn Rng) -> Result<Zeroizing<Vec<u8>>, CoreError> {
    if msg.len() + 11 > k {
        return Err(CoreError::malformed("PKCS #1 v1.5 message", format!("{} bytes do not fit {k}", msg.len())));
    }
    let ps_len = k - msg.len() - 3;
    let mut em = Zeroizing::new(vec![0u8; k]);
    em[1] = 2;
    let mut ps = Zeroizing::new(vec![0u8; ps_len]);
    rng.fill(&mut ps)?;
    // Replace zero bytes with fresh random ones until none is left (each byte is zero with probability
    // 1/256, so this takes a round or two).
    let mut spare = [0u8; 64];
    while ps.contains(&0) {
        rng.fill(&mut spare)?;
        let mut fresh = spare.iter().copied().filter(|&b| b != 0);
        for b in ps.iter_mut().filter(|b| **b == 0) {
            match fresh.next() {
                Some(f) => *b = f,
                None => break,
            }
        }
    }
    em[2..2 + ps_len].copy_from_slice(&ps);
    em[k - msg.len()..].copy_from_slice(msg);
    Ok(em)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn em(ps_len: usize, msg: &[u8], k: usize) -> Vec<u8> {
        let mut v = vec![0u8, 2];
        v.extend(std::iter::repeat_n(0x77, ps_len));
        v.push(0);
        v.extend_from_slice(msg);
        assert_eq!(v.len(), k);
        v
    }

    #[test]
    fn valid_and_invalid_framing() {
        let good = em(45, b"sixteen byte key", 64);
        assert_eq!(&decode(&good).unwrap()[..], b"sixteen byte key");
        let fb = [0xaa; 16];
        assert_eq!(&decode_or(&good, 16, &fb)[..], b"sixteen byte key");
        // Wrong expected length: the fallback, not an error.
        assert_eq!(&decode_or(&good, 15, &fb[..15])[..], &fb[..15]);

        let mut bad_type = good.clone();
        bad_type[1] = 1;
        let mut lead = good.clone();
        lead[0] = 1;
        let short_ps = em(7, &[1u8; 54], 64);
        let mut no_sep = good.clone();
        no_sep[47] = 0x55;
        for bad in [&bad_type, &lead, &short_ps, &no_sep] {
            assert!(decode(bad).is_none());
            assert_eq!(&decode_or(bad, 16, &fb)[..], &fb[..]);
        }
        // The smallest padding allowed (8 bytes) and an empty message are fine.
        let min = em(8, &[9u8; 53], 64);
        assert_eq!(decode(&min).unwrap().len(), 53);
        let empty = em(61, b"", 64);
        assert_eq!(decode(&empty).unwrap().len(), 0);
        assert!(decode(&[0, 2, 1]).is_none());
    }

    #[test]
    fn encode_round_trips_and_pads_without_zeros() {
        let mut rng = crate::core::rand::SeededRng::new(b"eme");
        for len in [0usize, 1, 19, 35, 53] {
            let msg: Vec<u8> = (0..len).map(|i| i as u8).collect();
            let em = encode(&msg, 64, &mut rng).unwrap();
            assert_eq!(em.len(), 64);
            assert_eq!(&em[..2], &[0, 2]);
            assert!(em[2..64 - len - 1].iter().all(|&b| b != 0), "padding holds a zero");
            assert_eq!(em[64 - len - 1], 0);
            assert_eq!(&decode(&em).unwrap()[..], &msg[..]);
        }
        assert!(encode(&[1u8; 54], 64, &mut rng).is_err(), "no room for 8 bytes of padding");
    }
}
