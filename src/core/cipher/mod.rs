//! Block ciphers: IDEA, DES, TripleDES (EDE3), CAST5 and AES-128/192/256.
//!
//! Each cipher implements [`BlockCipher`], which works on whole blocks in place and carries the chaining
//! loops of CBC and full-block CFB. The loops have default bodies written against `encrypt_blocks` /
//! `decrypt_blocks`; because default methods are compiled once per implementing type, the block function is
//! called directly (and inlined), not through the vtable. Implementations override them where a faster route
//! exists (AES: AES-NI and VAES code of ours; the 64-bit ciphers: chaining on `u64` words).
//!
//! Padding, partial blocks and streaming live in [`crate::core::mode`]; this module only knows blocks.
//!
//! Where the implementation comes from, and why:
//! - AES: our own AES-NI/VAES code (`aes_x86.rs`: 16 blocks in flight for the parallel modes, a bare chain of
//!   rounds for the serial ones; 1.0x-1.1x OpenSSL for CBC/CFB encryption, 3.4x-49x for decryption), with
//!   AWS-LC as the fallback on CPUs without AES-NI.
//! - DES, TripleDES, CAST5, IDEA: our own table-driven code (`des.rs`, `cast5.rs`, `idea.rs`), because the
//!   RustCrypto crates run at 0.43x-0.77x of OpenSSL here; ours run at 1.0x-4.3x of OpenSSL (IDEA, which
//!   Debian's OpenSSL lacks: 1.3x-4.6x the RustCrypto crate). The RustCrypto crates stay as the reference our
//!   differential tests compare against; figures in docs/performance.md.

mod aes;
#[cfg(target_arch = "x86_64")]
mod aes_x86;
mod blowfish;
mod cast5;
mod des;
mod idea;
#[cfg(test)]
mod testing;

pub use self::aes::Aes;
pub use self::blowfish::Blowfish;
pub use self::cast5::Cast5;
pub use self::des::{Des, TripleDes};
pub use self::idea::Idea;

use super::algorithm::Algorithm;
use super::error::CoreError;

/// The block ciphers of the registry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CipherAlgorithm {
    /// IDEA, 128-bit key (PGP 2.x).
    Idea,
    /// Single DES, 56-bit key (PEM, old S/MIME).
    Des,
    /// TripleDES EDE3, 168-bit key.
    TripleDes,
    /// CAST5, 40 to 128-bit key.
    Cast5,
    /// Blowfish, 128-bit key (reading old OpenPGP messages only).
    Blowfish,
    /// AES with a 128-bit key.
    Aes128,
    /// AES with a 192-bit key.
    Aes192,
    /// AES with a 256-bit key.
    Aes256,
}

impl CipherAlgorithm {
    /// Every block cipher, in registry order.
    pub const ALL: [CipherAlgorithm; 8] = [
        CipherAlgorithm::Idea,
        CipherAlgorithm::Des,
        CipherAlgorithm::TripleDes,
        CipherAlgorithm::Cast5,
        CipherAlgorithm::Blowfish,
        CipherAlgorithm::Aes128,
        CipherAlgorithm::Aes192,
        CipherAlgorithm::Aes256,
    ];

    /// The registry identity.
    pub fn algorithm(self) -> Algorithm {
        match self {
            CipherAlgorithm::Idea => Algorithm::Idea,
            CipherAlgorithm::Des => Algorithm::Des,
            CipherAlgorithm::TripleDes => Algorithm::TripleDes,
            CipherAlgorithm::Cast5 => Algorithm::Cast5,
            CipherAlgorithm::Blowfish => Algorithm::Blowfish,
            CipherAlgorithm::Aes128 => Algorithm::Aes128,
            CipherAlgorithm::Aes192 => Algorithm::Aes192,
            CipherAlgorithm::Aes256 => Algorithm::Aes256,
        }
    }

    /// The block cipher for a registry identity, if it is one.
    pub fn from_algorithm(alg: Algorithm) -> Option<CipherAlgorithm> {
        CipherAlgorithm::ALL.into_iter().find(|c| c.algorithm() == alg)
    }

    /// Looks a cipher up by short name (`aes256`, `3des`, ...).
    pub fn from_name(name: &str) -> Option<CipherAlgorithm> {
        Algorithm::from_name(name).and_then(CipherAlgorithm::from_algorithm)
    }

    /// Short name.
    pub fn name(self) -> &'static str {
        self.algorithm().name()
    }

    /// Block size in bytes (8 or 16).
    pub fn block_size(self) -> usize {
        match self {
            CipherAlgorithm::Aes128 | CipherAlgorithm::Aes192 | CipherAlgorithm::Aes256 => 16,
            _ => 8,
        }
    }

    /// The key length, in bytes, that [`new_cipher`] expects. CAST5 takes 5 to 16 bytes (this is the OpenPGP
    /// and CMS length, 16); DES takes the 8-byte key with parity bits; TripleDES 24 bytes (K1 K2 K3).
    pub fn key_size(self) -> usize {
        match self {
            CipherAlgorithm::Idea | CipherAlgorithm::Cast5 | CipherAlgorithm::Blowfish | CipherAlgorithm::Aes128 => 16,
            CipherAlgorithm::Des => 8,
            CipherAlgorithm::TripleDes | CipherAlgorithm::Aes192 => 24,
            CipherAlgorithm::Aes256 => 32,
        }
    }

    /// Builds a keyed cipher.
    pub fn new_cipher(self, key: &[u8]) -> Result<Box<dyn BlockCipher>, CoreError> {
        new_cipher(self, key)
    }
}

/// Builds a keyed block cipher. The key is checked for length; the caller's copy stays the caller's to
/// zeroize, and every implementation zeroizes its key schedule on drop.
pub fn new_cipher(alg: CipherAlgorithm, key: &[u8]) -> Result<Box<dyn BlockCipher>, CoreError> {
    let bad_key = || CoreError::KeyLength { algorithm: alg.algorithm(), got: key.len() };
    Ok(match alg {
        CipherAlgorithm::Idea => Box::new(Idea::new(key).ok_or_else(bad_key)?),
        CipherAlgorithm::Des => Box::new(Des::new(key).ok_or_else(bad_key)?),
        CipherAlgorithm::TripleDes => Box::new(TripleDes::new(key).ok_or_else(bad_key)?),
        CipherAlgorithm::Cast5 => Box::new(Cast5::new(key).ok_or_else(bad_key)?),
        CipherAlgorithm::Blowfish => Box::new(Blowfish::new(key).ok_or_else(bad_key)?),
        CipherAlgorithm::Aes128 | CipherAlgorithm::Aes192 | CipherAlgorithm::Aes256 => {
            if key.len() != alg.key_size() {
                return Err(bad_key());
            }
            Box::new(Aes::new(key).ok_or_else(bad_key)?)
        }
    })
}

/// A keyed block cipher working on whole blocks in place.
///
/// Every `data` argument must be a whole number of blocks and every `iv` exactly one block; the
/// implementations check this with `debug_assert!` only, because [`crate::core::mode`] is the one caller and
/// guarantees it. `iv` is the chaining value: on return it holds the value that continues the chain, so a long
/// message can be processed in any number of calls.
pub trait BlockCipher: Send + Sync {
    /// Which cipher this is.
    fn algorithm(&self) -> CipherAlgorithm;

    /// Block size in bytes.
    fn block_size(&self) -> usize {
        self.algorithm().block_size()
    }

    /// ECB-encrypts whole blocks in place.
    fn encrypt_blocks(&self, data: &mut [u8]);

    /// ECB-decrypts whole blocks in place.
    fn decrypt_blocks(&self, data: &mut [u8]);

    /// CBC-encrypts whole blocks in place.
    fn cbc_encrypt(&self, iv: &mut [u8], data: &mut [u8]) {
        let bs = iv.len();
        for block in data.chunks_exact_mut(bs) {
            xor_in_place(block, iv);
            self.encrypt_blocks(block);
            iv.copy_from_slice(block);
        }
    }

    /// CBC-decrypts whole blocks in place.
    fn cbc_decrypt(&self, iv: &mut [u8], data: &mut [u8]) {
        let bs = iv.len();
        let mut saved = [0u8; 16];
        for block in data.chunks_exact_mut(bs) {
            saved[..bs].copy_from_slice(block);
            self.decrypt_blocks(block);
            xor_in_place(block, iv);
            iv.copy_from_slice(&saved[..bs]);
        }
    }

    /// Full-block CFB (CFB64 for 8-byte ciphers, CFB128 for AES: the feedback OpenPGP uses) encryption of
    /// whole blocks in place.
    fn cfb_encrypt(&self, iv: &mut [u8], data: &mut [u8]) {
        let bs = iv.len();
        for block in data.chunks_exact_mut(bs) {
            self.encrypt_blocks(iv);
            xor_in_place(block, iv);
            iv.copy_from_slice(block);
        }
    }

    /// Full-block CFB decryption of whole blocks in place.
    fn cfb_decrypt(&self, iv: &mut [u8], data: &mut [u8]) {
        let bs = iv.len();
        let mut keystream = [0u8; 16];
        for block in data.chunks_exact_mut(bs) {
            keystream[..bs].copy_from_slice(iv);
            self.encrypt_blocks(&mut keystream[..bs]);
            iv.copy_from_slice(block);
            xor_in_place(block, &keystream[..bs]);
        }
    }
}

/// The 8-byte chaining value of a 64-bit cipher. The trait guarantees 8 bytes; a short `iv` from a broken
/// caller reads as zero-padded rather than panicking.
#[inline]
pub(crate) fn iv8(iv: &[u8]) -> [u8; 8] {
    debug_assert_eq!(iv.len(), 8, "the chaining value of a 64-bit cipher must be one block");
    let mut b = [0u8; 8];
    for (d, s) in b.iter_mut().zip(iv) {
        *d = *s;
    }
    b
}

/// Writes a 64-bit cipher's chaining value back (over at most `iv.len()` bytes).
#[inline]
pub(crate) fn set_iv8(iv: &mut [u8], v: [u8; 8]) {
    for (d, s) in iv.iter_mut().zip(v) {
        *d = s;
    }
}

/// The whole 8-byte blocks of `data` (the trait guarantees there is no remainder).
#[inline]
pub(crate) fn blocks8(data: &mut [u8]) -> &mut [[u8; 8]] {
    let (blocks, rest) = data.as_chunks_mut::<8>();
    debug_assert!(rest.is_empty(), "64-bit cipher data must be whole blocks");
    blocks
}

/// `dst ^= src`, over the shorter of the two.
#[inline]
pub(crate) fn xor_in_place(dst: &mut [u8], src: &[u8]) {
    for (d, s) in dst.iter_mut().zip(src) {
        *d ^= s;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_lengths_are_checked() {
        for alg in CipherAlgorithm::ALL {
            let good = vec![0x5a; alg.key_size()];
            assert!(new_cipher(alg, &good).is_ok(), "{}", alg.name());
            let bad = vec![0x5a; alg.key_size() + 1];
            assert!(new_cipher(alg, &bad).is_err(), "{} accepted a long key", alg.name());
            assert!(new_cipher(alg, &[]).is_err(), "{} accepted an empty key", alg.name());
        }
    }

    /// The chaining loops, whatever implementation a cipher chose, agree with the textbook definition
    /// written here block by block over `encrypt_blocks`/`decrypt_blocks`, for every cipher and for chains
    /// split across calls.
    #[test]
    fn chaining_matches_the_textbook_definition() {
        for alg in CipherAlgorithm::ALL {
            let key: Vec<u8> = (0..alg.key_size() as u8).map(|b| b.wrapping_mul(37) ^ 0xa5).collect();
            let cipher = new_cipher(alg, &key).unwrap();
            let bs = alg.block_size();
            let iv0: Vec<u8> = (0..bs as u8).collect();
            let plain: Vec<u8> = (0..bs * 37).map(|i| (i * 7 + 3) as u8).collect();

            // Textbook CBC and CFB.
            let mut cbc = Vec::new();
            let mut cfb = Vec::new();
            let (mut c_iv, mut f_iv) = (iv0.clone(), iv0.clone());
            for block in plain.chunks(bs) {
                let mut b: Vec<u8> = block.iter().zip(&c_iv).map(|(p, v)| p ^ v).collect();
                cipher.encrypt_blocks(&mut b);
                c_iv = b.clone();
                cbc.extend_from_slice(&b);
                let mut k = f_iv.clone();
                cipher.encrypt_blocks(&mut k);
                let c: Vec<u8> = block.iter().zip(&k).map(|(p, k)| p ^ k).collect();
                f_iv = c.clone();
                cfb.extend_from_slice(&c);
            }

            for split in [0, bs, bs * 5, plain.len()] {
                let mut data = plain.clone();
                let mut iv = iv0.clone();
                let (a, b) = data.split_at_mut(split);
                cipher.cbc_encrypt(&mut iv, a);
                cipher.cbc_encrypt(&mut iv, b);
                assert_eq!(data, cbc, "{} cbc encrypt, split {split}", alg.name());
                let mut iv = iv0.clone();
                let (a, b) = data.split_at_mut(split);
                cipher.cbc_decrypt(&mut iv, a);
                cipher.cbc_decrypt(&mut iv, b);
                assert_eq!(data, plain, "{} cbc decrypt, split {split}", alg.name());

                let mut data = plain.clone();
                let mut iv = iv0.clone();
                let (a, b) = data.split_at_mut(split);
                cipher.cfb_encrypt(&mut iv, a);
                cipher.cfb_encrypt(&mut iv, b);
                assert_eq!(data, cfb, "{} cfb encrypt, split {split}", alg.name());
                let mut iv = iv0.clone();
                let (a, b) = data.split_at_mut(split);
                cipher.cfb_decrypt(&mut iv, a);
                cipher.cfb_decrypt(&mut iv, b);
                assert_eq!(data, plain, "{} cfb decrypt, split {split}", alg.name());
            }
        }
    }
}
