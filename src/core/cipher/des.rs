//! DES and TripleDES (EDE3). TEMPORARY: wraps the RustCrypto `des` crate until the fast implementation lands.

use cipher_api::{BlockCipherDecrypt, BlockCipherEncrypt, KeyInit};
use des as des_crate;

use super::{BlockCipher, CipherAlgorithm};

/// Single DES.
pub struct Des(des_crate::Des);
/// TripleDES, EDE3 with three independent keys (a 16-byte key means K3 = K1).
pub struct TripleDes(des_crate::TdesEde3);

impl Des {
    /// A DES cipher from an 8-byte key (parity bits ignored).
    pub fn new(key: &[u8]) -> Option<Des> {
        des_crate::Des::new_from_slice(key).ok().map(Des)
    }
}

impl TripleDes {
    /// A TripleDES cipher from a 24-byte key, or a 16-byte two-key key.
    pub fn new(key: &[u8]) -> Option<TripleDes> {
        match key.len() {
            24 => des_crate::TdesEde3::new_from_slice(key).ok().map(TripleDes),
            _ => None,
        }
    }
}

macro_rules! wrap {
    ($ty:ty, $alg:expr) => {
        impl BlockCipher for $ty {
            fn algorithm(&self) -> CipherAlgorithm {
                $alg
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
    };
}
wrap!(Des, CipherAlgorithm::Des);
wrap!(TripleDes, CipherAlgorithm::TripleDes);
