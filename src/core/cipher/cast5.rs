//! CAST5. TEMPORARY: wraps the RustCrypto `cast5` crate until the fast implementation lands.

use cipher_api::{BlockCipherDecrypt, BlockCipherEncrypt, KeyInit};

use super::{BlockCipher, CipherAlgorithm};

/// CAST5 (CAST-128), 40 to 128-bit keys.
pub struct Cast5(cast5::Cast5);

impl Cast5 {
    /// A CAST5 cipher from a 5 to 16-byte key.
    pub fn new(key: &[u8]) -> Option<Cast5> {
        if !(5..=16).contains(&key.len()) {
            return None;
        }
        cast5::Cast5::new_from_slice(key).ok().map(Cast5)
    }
}

impl BlockCipher for Cast5 {
    fn algorithm(&self) -> CipherAlgorithm {
        CipherAlgorithm::Cast5
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
