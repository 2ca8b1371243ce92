//! AES-128/192/256 over AWS-LC (AES-NI assembly where the CPU has it).
//!
//! The chaining loops run inside AWS-LC; this wrapper only carries the chaining value across calls.

use aws_lc_rs::cipher::{
    AES_128, AES_192, AES_256, DecryptingKey, DecryptionContext, EncryptingKey, EncryptionContext, UnboundCipherKey,
};
use aws_lc_rs::iv::FixedLength;

use super::{BlockCipher, CipherAlgorithm};

/// A keyed AES cipher, with one AWS-LC key per mode it serves (AWS-LC keys are bound to a mode).
pub struct Aes {
    alg: CipherAlgorithm,
    ecb_enc: EncryptingKey,
    ecb_dec: DecryptingKey,
    cbc_enc: EncryptingKey,
    cbc_dec: DecryptingKey,
    cfb_enc: EncryptingKey,
    cfb_dec: DecryptingKey,
}

impl Aes {
    /// An AES cipher from a 16, 24 or 32-byte key.
    pub fn new(key: &[u8]) -> Option<Aes> {
        let (alg, lc_alg) = match key.len() {
            16 => (CipherAlgorithm::Aes128, &AES_128),
            24 => (CipherAlgorithm::Aes192, &AES_192),
            32 => (CipherAlgorithm::Aes256, &AES_256),
            _ => return None,
        };
        let unbound = || UnboundCipherKey::new(lc_alg, key).ok();
        Some(Aes {
            alg,
            ecb_enc: EncryptingKey::ecb(unbound()?).ok()?,
            ecb_dec: DecryptingKey::ecb(unbound()?).ok()?,
            cbc_enc: EncryptingKey::cbc(unbound()?).ok()?,
            cbc_dec: DecryptingKey::cbc(unbound()?).ok()?,
            cfb_enc: EncryptingKey::cfb128(unbound()?).ok()?,
            cfb_dec: DecryptingKey::cfb128(unbound()?).ok()?,
        })
    }
}

fn iv16(iv: &[u8]) -> [u8; 16] {
    let mut out = [0u8; 16];
    out.copy_from_slice(&iv[..16]);
    out
}

/// AWS-LC only fails here when a length is not a whole number of blocks, which the trait's contract
/// (enforced by `core::mode`) rules out; the debug assertion catches a broken caller in tests.
fn checked<T, E>(result: Result<T, E>) {
    debug_assert!(result.is_ok(), "AWS-LC rejected a whole-block AES operation");
}

impl BlockCipher for Aes {
    fn algorithm(&self) -> CipherAlgorithm {
        self.alg
    }

    fn encrypt_blocks(&self, data: &mut [u8]) {
        checked(self.ecb_enc.less_safe_encrypt(data, EncryptionContext::None));
    }

    fn decrypt_blocks(&self, data: &mut [u8]) {
        checked(self.ecb_dec.decrypt(data, DecryptionContext::None));
    }

    fn cbc_encrypt(&self, iv: &mut [u8], data: &mut [u8]) {
        if data.is_empty() {
            return;
        }
        let ctx = EncryptionContext::Iv128(FixedLength::from(iv16(iv)));
        checked(self.cbc_enc.less_safe_encrypt(data, ctx));
        iv.copy_from_slice(&data[data.len() - 16..]);
    }

    fn cbc_decrypt(&self, iv: &mut [u8], data: &mut [u8]) {
        if data.is_empty() {
            return;
        }
        let next = iv16(&data[data.len() - 16..]);
        let ctx = DecryptionContext::Iv128(FixedLength::from(iv16(iv)));
        checked(self.cbc_dec.decrypt(data, ctx));
        iv.copy_from_slice(&next);
    }

    fn cfb_encrypt(&self, iv: &mut [u8], data: &mut [u8]) {
        if data.is_empty() {
            return;
        }
        let ctx = EncryptionContext::Iv128(FixedLength::from(iv16(iv)));
        checked(self.cfb_enc.less_safe_encrypt(data, ctx));
        iv.copy_from_slice(&data[data.len() - 16..]);
    }

    fn cfb_decrypt(&self, iv: &mut [u8], data: &mut [u8]) {
        if data.is_empty() {
            return;
        }
        let next = iv16(&data[data.len() - 16..]);
        let ctx = DecryptionContext::Iv128(FixedLength::from(iv16(iv)));
        checked(self.cfb_dec.decrypt(data, ctx));
        iv.copy_from_slice(&next);
    }
}
