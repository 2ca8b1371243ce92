//! Test helpers shared by the cipher tests: a deterministic PRNG, the RustCrypto reference in ECB, and a
//! differential check of every chaining override against textbook chaining over the reference.

use cipher_api::{BlockCipherDecrypt, BlockCipherEncrypt, BlockSizeUser};
use hybrid_array::{Array, sizes::U8};

use super::BlockCipher;

/// xorshift64*: deterministic pseudo-random test material without a dependency.
pub(in crate::core::cipher) struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    pub fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| (self.next() >> 56) as u8).collect()
    }
}

/// A RustCrypto 64-bit block cipher: the reference implementations.
pub(in crate::core::cipher) trait Reference:
    BlockCipherEncrypt + BlockCipherDecrypt + BlockSizeUser<BlockSize = U8>
{
}

impl<C: BlockCipherEncrypt + BlockCipherDecrypt + BlockSizeUser<BlockSize = U8>> Reference for C {}

/// The reference's ECB, one block at a time.
pub(in crate::core::cipher) fn reference_ecb(c: &impl Reference, data: &[u8], encrypt: bool) -> Vec<u8> {
    let mut out = data.to_vec();
    for b in out.chunks_exact_mut(8) {
        let b: &mut Array<u8, U8> = b.try_into().unwrap();
        if encrypt {
            c.encrypt_block(b);
        } else {
            c.decrypt_block(b);
        }
    }
    out
}

/// Textbook CBC and CFB over the reference's ECB, for the chaining overrides to be compared with.
fn reference_chains(c: &impl Reference, iv: &[u8], data: &[u8]) -> (Vec<u8>, Vec<u8>) {
    let (mut cbc, mut cfb) = (Vec::new(), Vec::new());
    let (mut cv, mut fv) = (iv.to_vec(), iv.to_vec());
    for p in data.chunks_exact(8) {
        let x: Vec<u8> = p.iter().zip(&cv).map(|(a, b)| a ^ b).collect();
        cv = reference_ecb(c, &x, true);
        cbc.extend_from_slice(&cv);
        let k = reference_ecb(c, &fv, true);
        fv = p.iter().zip(&k).map(|(a, b)| a ^ b).collect();
        cfb.extend_from_slice(&fv);
    }
    (cbc, cfb)
}

/// Checks ECB both ways and every chaining override of `ours` against the reference, on block counts
/// below, at and above the interleaved loops' group sizes (so that groups and tails both run), with the
/// chain split across two calls at a point that leaves both calls a tail.
pub(in crate::core::cipher) fn check_against(ours: &dyn BlockCipher, theirs: &impl Reference, rng: &mut Rng) {
    for blocks in [1usize, 2, 3, 7, 16, 17, 37] {
        let data = rng.bytes(8 * blocks);
        let iv = rng.bytes(8);

        let mut ecb = data.clone();
        ours.encrypt_blocks(&mut ecb);
        assert_eq!(ecb, reference_ecb(theirs, &data, true), "ECB encrypt, {blocks} blocks");
        let mut ecb = data.clone();
        ours.decrypt_blocks(&mut ecb);
        assert_eq!(ecb, reference_ecb(theirs, &data, false), "ECB decrypt, {blocks} blocks");

        let (cbc, cfb) = reference_chains(theirs, &iv, &data);
        let split = 8 * (blocks / 2);
        for (name, want) in [("CBC", &cbc), ("CFB", &cfb)] {
            let enc = |iv: &mut [u8], d: &mut [u8]| match name {
                "CBC" => ours.cbc_encrypt(iv, d),
                _ => ours.cfb_encrypt(iv, d),
            };
            let dec = |iv: &mut [u8], d: &mut [u8]| match name {
                "CBC" => ours.cbc_decrypt(iv, d),
                _ => ours.cfb_decrypt(iv, d),
            };
            let mut buf = data.clone();
            let mut v = iv.clone();
            let (a, b) = buf.split_at_mut(split);
            enc(&mut v, a);
            enc(&mut v, b);
            assert_eq!(&buf, want, "{name} encrypt, {blocks} blocks");
            assert_eq!(v, want[want.len() - 8..], "{name} encrypt chaining value");
            let mut v = iv.clone();
            let (a, b) = buf.split_at_mut(split);
            dec(&mut v, a);
            dec(&mut v, b);
            assert_eq!(buf, data, "{name} decrypt, {blocks} blocks");
            assert_eq!(v, want[want.len() - 8..], "{name} decrypt chaining value");
        }
    }
}
