//! IDEA. TEMPORARY: wraps the RustCrypto `idea` crate until the fast implementation lands.

use cipher_api::{BlockCipherDecrypt, BlockCipherEncrypt, KeyInit};

use super::{BlockCipher, CipherAlgorithm};

/// IDEA, 128-bit keys.
pub struct Idea(idea::Idea);

impl Idea {
    /// An IDEA cipher from a 16-byte key.
    pub fn new(key: &[u8]) -> Option<Idea> {
        if !(16..=16).contains(&key.len()) {
            return None;
        }
        idea::Idea::new_from_slice(key).ok().map(Idea)
    }
}

impl BlockCipher for Idea {
    fn algorithm(&self) -> CipherAlgorithm {
        CipherAlgorithm::Idea
    }
    fn encrypt_blocks(&self, data: &mut [u8]) {
        for b in data.chunks_exact_mut(8) {
            self.0.encrypt_block(hybrid_array::Array::from_mut_slice(b));
        }
    }
    fn decrypt_blocks(&self, data: &mut [u8]) {
        for b in data.chunks_exact_mut(8) {
            self.0.decrypt_block(hybrid_array::Array::from_mut_slice(b));
        }
    }
}
