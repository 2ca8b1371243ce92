//! AES in counter mode (NIST SP 800-38A section 6.5, 128-bit big-endian counter) as a streaming [`Crypter`],
//! over AWS-LC. Used where a keystream is all that is needed, such as the spool's private spill file: it
//! runs at the speed of AES itself in both directions, unlike CFB, whose encryption is one serial chain.

use aws_lc_rs::cipher::{AES_128, AES_192, AES_256, EncryptingKey, EncryptionContext, UnboundCipherKey};
use aws_lc_rs::iv::FixedLength;

use super::Crypter;
use crate::core::algorithm::Algorithm;
use crate::core::error::CoreError;

/// AES-CTR, the same operation both ways.
pub struct AesCtr {
    key: EncryptingKey,
    counter: u128,
    /// Keystream left from a partial block, and how much of it is used (16: none left).
    ks: [u8; 16],
    ks_pos: usize,
}

impl AesCtr {
    /// AES-128/192/256 (by key length) with the initial counter block `iv`.
    pub fn new(key: &[u8], iv: &[u8; 16]) -> Result<AesCtr, CoreError> {
        let alg = match key.len() {
            16 => &AES_128,
            24 => &AES_192,
            32 => &AES_256,
            n => return Err(CoreError::KeyLength { algorithm: Algorithm::Aes256, got: n }),
        };
        let unbound = UnboundCipherKey::new(alg, key).map_err(|_| CoreError::Bug("AES key"))?;
        let key = EncryptingKey::ctr(unbound).map_err(|_| CoreError::Bug("AES-CTR key"))?;
        Ok(AesCtr { key, counter: u128::from_be_bytes(*iv), ks: [0; 16], ks_pos: 16 })
    }

    fn block(&mut self) -> Result<[u8; 16], CoreError> {
        let mut b = [0u8; 16];
        let ctx = EncryptionContext::Iv128(FixedLength::from(self.counter.to_be_bytes()));
        self.key.less_safe_encrypt(&mut b, ctx).map_err(|_| CoreError::Bug("AES-CTR"))?;
        self.counter = self.counter.wrapping_add(1);
        Ok(b)
    }

    /// XORs the keystream into `data`.
    pub fn apply(&mut self, data: &mut [u8]) -> Result<(), CoreError> {
        let mut i = 0;
        while self.ks_pos < 16 && i < data.len() {
            data[i] ^= self.ks[self.ks_pos];
            self.ks_pos += 1;
            i += 1;
        }
        let rest = &mut data[i..];
        let whole = rest.len() / 16 * 16;
        if whole > 0 {
            let ctx = EncryptionContext::Iv128(FixedLength::from(self.counter.to_be_bytes()));
            self.key.less_safe_encrypt(&mut rest[..whole], ctx).map_err(|_| CoreError::Bug("AES-CTR"))?;
            self.counter = self.counter.wrapping_add((whole / 16) as u128);
        }
        let tail = &mut rest[whole..];
        if !tail.is_empty() {
            self.ks = self.block()?;
            for (j, b) in tail.iter_mut().enumerate() {
                *b ^= self.ks[j];
            }
            self.ks_pos = tail.len();
        }
        Ok(())
    }
}

impl Crypter for AesCtr {
    fn update(&mut self, input: &[u8], out: &mut Vec<u8>) -> Result<(), CoreError> {
        let start = out.len();
        out.extend_from_slice(input);
        self.apply(&mut out[start..])
    }

    fn finish(&mut self, _out: &mut Vec<u8>) -> Result<(), CoreError> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
    }

    /// SP 800-38A F.5.1 (CTR-AES128.Encrypt), fed in awkward pieces.
    #[test]
    fn sp800_38a_f51() {
        let key = hex("2b7e151628aed2a6abf7158809cf4f3c");
        let iv: [u8; 16] = hex("f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff").try_into().unwrap();
        let pt = hex(
            "6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e5130c81c46a35ce411e5fbc1191a0a52eff69f2445df4f9b17ad2b417be66c3710",
        );
        let ct = hex(
            "874d6191b620e3261bef6864990db6ce9806f66b7970fdff8617187bb9fffdff5ae4df3edbd5d35e5b4f09020db03eab1e031dda2fbe03d1792170a0f3009cee",
        );
        for split in [0, 1, 15, 16, 17, 40, 64] {
            let mut c = AesCtr::new(&key, &iv).unwrap();
            let mut out = Vec::new();
            c.update(&pt[..split], &mut out).unwrap();
            c.update(&pt[split..], &mut out).unwrap();
            assert_eq!(out, ct, "split {split}");
        }
    }
}
