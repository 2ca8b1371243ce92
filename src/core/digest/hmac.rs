//! HMAC (RFC 2104) over any [`HashAlgorithm`], built on [`Hasher`] so that the legacy hashes are covered too.

use zeroize::Zeroizing;

use super::{Digest, HashAlgorithm, Hasher};

/// A streaming HMAC.
#[derive(Clone)]
pub struct Hmac {
    inner: Hasher,
    outer: Hasher,
}

impl Hmac {
    /// Starts an HMAC with `key`.
    pub fn new(algorithm: HashAlgorithm, key: &[u8]) -> Hmac {
        let block = algorithm.block_len();
        let mut k = Zeroizing::new(vec![0u8; block]);
        if key.len() > block {
            let d = super::digest(algorithm, key);
            k[..d.as_bytes().len()].copy_from_slice(d.as_bytes());
        } else {
            k[..key.len()].copy_from_slice(key);
        }
        let mut inner = Hasher::new(algorithm);
        let mut outer = Hasher::new(algorithm);
        let ipad: Zeroizing<Vec<u8>> = Zeroizing::new(k.iter().map(|b| b ^ 0x36).collect());
        let opad: Zeroizing<Vec<u8>> = Zeroizing::new(k.iter().map(|b| b ^ 0x5c).collect());
        inner.update(&ipad);
        outer.update(&opad);
        Hmac { inner, outer }
    }

    /// Feeds message bytes.
    pub fn update(&mut self, data: &[u8]) {
        self.inner.update(data);
    }

    /// Finishes the MAC.
    pub fn finish(self) -> Digest {
        let inner = self.inner.finish();
        let mut outer = self.outer;
        outer.update(inner.as_bytes());
        outer.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 2202 test cases 1 and 6 (MD5 and SHA-1), RFC 4231 case 2 (SHA-256).
    #[test]
    fn rfc_2202_and_4231() {
        let mut m = Hmac::new(HashAlgorithm::Md5, &[0x0b; 16]);
        m.update(b"Hi There");
        assert_eq!(m.finish().to_hex(), "9294727a3638bb1c13f48ef8158bfc9d");
        let mut m = Hmac::new(HashAlgorithm::Sha1, &[0xaa; 80]);
        m.update(b"Test Using Larger Than Block-Size Key - Hash Key First");
        assert_eq!(m.finish().to_hex(), "aa4ae5e15272d00e95705637ce8a3b55ed402112");
        let mut m = Hmac::new(HashAlgorithm::Sha256, b"Jefe");
        m.update(b"what do ya want ");
        m.update(b"for nothing?");
        assert_eq!(m.finish().to_hex(), "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    }
}
