//! Blowfish, for reading old OpenPGP messages (algorithm 4; GnuPG 1.x offered it). Decryption only matters,
//! and speed does not: this wraps the RustCrypto `blowfish` crate. Only the 128-bit keys OpenPGP uses are
//! accepted.

use cipher04::{BlockDecrypt, BlockEncrypt, KeyInit, generic_array::GenericArray};

use super::{BlockCipher, CipherAlgorithm};

/// Blowfish with a 128-bit key.
pub struct Blowfish(blowfish::Blowfish);

impl Blowfish {
    /// A Blowfish cipher from a 16-byte key.
    pub fn new(key: &[u8]) -> Option<Blowfish> {
        if key.len() != 16 {
            return None;
        }
        blowfish::Blowfish::new_from_slice(key).ok().map(Blowfish)
    }
}

impl BlockCipher for Blowfish {
    fn algorithm(&self) -> CipherAlgorithm {
        CipherAlgorithm::Blowfish
    }

    fn encrypt_blocks(&self, data: &mut [u8]) {
        for b in data.chunks_exact_mut(8) {
            self.0.encrypt_block(GenericArray::from_mut_slice(b));
        }
    }

    fn decrypt_blocks(&self, data: &mut [u8]) {
        for b in data.chunks_exact_mut(8) {
            self.0.decrypt_block(GenericArray::from_mut_slice(b));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Eric Young's variable-key test set, 16-byte key (also checked with `openssl enc -bf-ecb` here).
    #[test]
    fn known_answer() {
        let key = [0xf0, 0xe1, 0xd2, 0xc3, 0xb4, 0xa5, 0x96, 0x87, 0x78, 0x69, 0x5a, 0x4b, 0x3c, 0x2d, 0x1e, 0x0f];
        let c = Blowfish::new(&key).unwrap();
        let mut b = [0xfe, 0xdc, 0xba, 0x98, 0x76, 0x54, 0x32, 0x10];
        c.encrypt_blocks(&mut b);
        assert_eq!(b, [0x93, 0x14, 0x28, 0x87, 0xee, 0x3b, 0xe1, 0x5c]);
        c.decrypt_blocks(&mut b);
        assert_eq!(b, [0xfe, 0xdc, 0xba, 0x98, 0x76, 0x54, 0x32, 0x10]);
        assert!(Blowfish::new(&key[..8]).is_none());
    }
}
