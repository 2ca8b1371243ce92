//! Hash functions: MD2 (verify-only, for 1993 PEM certificates), MD5, SHA-1 and SHA-224/256/384/512.
//!
//! One [`Hasher`] type streams any of them. Where each comes from, and why:
//! - SHA-1, SHA-224, SHA-256: AWS-LC (SHA-NI assembly; at OpenSSL's speed).
//! - SHA-384, SHA-512: our own ([`sha512`]): AWS-LC takes its vector path only on Intel CPUs and runs at
//!   0.74x OpenSSL on AMD; ours uses AVX2/BMI2 where present (1.04x OpenSSL at 16 KiB).
//! - MD5: our own ([`md5`]; AWS-LC does not expose MD5, and the `md-5` crate is 0.83x OpenSSL here).
//! - MD2: the `md2` crate; verify-only by policy, speed does not matter.

use std::fmt;
use std::io;

use aws_lc_rs::digest as lc;

use super::algorithm::Algorithm;

mod hmac;
pub mod md5;
pub mod sha512;
pub use hmac::Hmac;

/// The hash functions of the registry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum HashAlgorithm {
    /// MD2 (RFC 1319). Verify-only.
    Md2,
    /// MD5 (RFC 1321). Broken for signatures; read with a weak label.
    Md5,
    /// SHA-1. Legacy.
    Sha1,
    /// SHA-224.
    Sha224,
    /// SHA-256.
    Sha256,
    /// SHA-384.
    Sha384,
    /// SHA-512.
    Sha512,
}

impl HashAlgorithm {
    /// Every hash function, in registry order.
    pub const ALL: [HashAlgorithm; 7] = [
        HashAlgorithm::Md2,
        HashAlgorithm::Md5,
        HashAlgorithm::Sha1,
        HashAlgorithm::Sha224,
        HashAlgorithm::Sha256,
        HashAlgorithm::Sha384,
        HashAlgorithm::Sha512,
    ];

    /// The registry identity.
    pub fn algorithm(self) -> Algorithm {
        match self {
            HashAlgorithm::Md2 => Algorithm::Md2,
            HashAlgorithm::Md5 => Algorithm::Md5,
            HashAlgorithm::Sha1 => Algorithm::Sha1,
            HashAlgorithm::Sha224 => Algorithm::Sha224,
            HashAlgorithm::Sha256 => Algorithm::Sha256,
            HashAlgorithm::Sha384 => Algorithm::Sha384,
            HashAlgorithm::Sha512 => Algorithm::Sha512,
        }
    }

    /// The hash for a registry identity, if it is one.
    pub fn from_algorithm(alg: Algorithm) -> Option<HashAlgorithm> {
        HashAlgorithm::ALL.into_iter().find(|h| h.algorithm() == alg)
    }

    /// Looks a hash up by short name (`sha256`, `md5`, ...).
    pub fn from_name(name: &str) -> Option<HashAlgorithm> {
        Algorithm::from_name(name).and_then(HashAlgorithm::from_algorithm)
    }

    /// Short name.
    pub fn name(self) -> &'static str {
        self.algorithm().name()
    }

    /// Output length in bytes.
    pub fn output_len(self) -> usize {
        match self {
            HashAlgorithm::Md2 | HashAlgorithm::Md5 => 16,
            HashAlgorithm::Sha1 => 20,
            HashAlgorithm::Sha224 => 28,
            HashAlgorithm::Sha256 => 32,
            HashAlgorithm::Sha384 => 48,
            HashAlgorithm::Sha512 => 64,
        }
    }

    /// Internal block length in bytes (for HMAC).
    pub fn block_len(self) -> usize {
        match self {
            HashAlgorithm::Md2 => 16,
            HashAlgorithm::Md5 | HashAlgorithm::Sha1 | HashAlgorithm::Sha224 | HashAlgorithm::Sha256 => 64,
            HashAlgorithm::Sha384 | HashAlgorithm::Sha512 => 128,
        }
    }

    /// The AWS-LC algorithm, for the hashes AWS-LC serves.
    pub(crate) fn aws_lc(self) -> Option<&'static lc::Algorithm> {
        match self {
            HashAlgorithm::Sha1 => Some(&lc::SHA1_FOR_LEGACY_USE_ONLY),
            HashAlgorithm::Sha224 => Some(&lc::SHA224),
            HashAlgorithm::Sha256 => Some(&lc::SHA256),
            HashAlgorithm::Sha384 => Some(&lc::SHA384),
            HashAlgorithm::Sha512 => Some(&lc::SHA512),
            HashAlgorithm::Md2 | HashAlgorithm::Md5 => None,
        }
    }
}

impl fmt::Display for HashAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A finished digest (at most 64 bytes, kept inline).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Digest {
    algorithm: HashAlgorithm,
    bytes: [u8; 64],
}

impl Digest {
    /// Which function produced it.
    pub fn algorithm(&self) -> HashAlgorithm {
        self.algorithm
    }

    /// The digest bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.algorithm.output_len()]
    }

    /// Compares with an expected value in time independent of where they differ (for MICs and MACs a
    /// forger could probe byte by byte). A different length is simply unequal.
    pub fn matches(&self, expected: &[u8]) -> bool {
        let mine = self.as_bytes();
        mine.len() == expected.len() && mine.iter().zip(expected).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0
    }

    /// Lower-case hex.
    pub fn to_hex(&self) -> String {
        self.as_bytes().iter().map(|b| format!("{b:02x}")).collect()
    }

    fn from_slice(algorithm: HashAlgorithm, out: &[u8]) -> Digest {
        let mut bytes = [0u8; 64];
        let n = out.len().min(64);
        bytes[..n].copy_from_slice(&out[..n]);
        Digest { algorithm, bytes }
    }
}

impl AsRef<[u8]> for Digest {
    fn as_ref(&self) -> &[u8] {
        self.as_bytes()
    }
}

impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.algorithm, self.to_hex())
    }
}

#[derive(Clone)]
enum Inner {
    Md2(md2::Md2),
    Md5(self::md5::Md5),
    Sha512(self::sha512::Sha512),
    AwsLc(lc::Context),
}

/// A streaming hash of any [`HashAlgorithm`]. Also an `io::Write` sink.
#[derive(Clone)]
pub struct Hasher {
    algorithm: HashAlgorithm,
    inner: Inner,
}

impl Hasher {
    /// A fresh hasher.
    pub fn new(algorithm: HashAlgorithm) -> Hasher {
        use md2::Digest as _;
        let inner = match algorithm {
            HashAlgorithm::Md2 => Inner::Md2(md2::Md2::new()),
            HashAlgorithm::Md5 => Inner::Md5(self::md5::Md5::new()),
            HashAlgorithm::Sha384 => Inner::Sha512(self::sha512::Sha512::new_384()),
            HashAlgorithm::Sha512 => Inner::Sha512(self::sha512::Sha512::new_512()),
            HashAlgorithm::Sha1 => Inner::AwsLc(lc::Context::new(&lc::SHA1_FOR_LEGACY_USE_ONLY)),
            HashAlgorithm::Sha224 => Inner::AwsLc(lc::Context::new(&lc::SHA224)),
            HashAlgorithm::Sha256 => Inner::AwsLc(lc::Context::new(&lc::SHA256)),
        };
        Hasher { algorithm, inner }
    }

    /// Which function this is.
    pub fn algorithm(&self) -> HashAlgorithm {
        self.algorithm
    }

    /// Feeds bytes.
    pub fn update(&mut self, data: &[u8]) {
        use md2::Digest as _;
        match &mut self.inner {
            Inner::Md2(h) => h.update(data),
            Inner::Md5(h) => h.update(data),
            Inner::Sha512(h) => h.update(data),
            Inner::AwsLc(h) => h.update(data),
        }
    }

    /// Finishes the hash.
    pub fn finish(self) -> Digest {
        use md2::Digest as _;
        match self.inner {
            Inner::Md2(h) => Digest::from_slice(self.algorithm, &h.finalize()),
            Inner::Md5(h) => Digest::from_slice(self.algorithm, &h.finalize()),
            Inner::Sha512(h) => {
                let (out, len) = h.finalize();
                Digest::from_slice(self.algorithm, &out[..len])
            }
            Inner::AwsLc(h) => Digest::from_slice(self.algorithm, h.finish().as_ref()),
        }
    }
}

impl io::Write for Hasher {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.update(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Hashes a whole buffer.
pub fn digest(algorithm: HashAlgorithm, data: &[u8]) -> Digest {
    let mut h = Hasher::new(algorithm);
    h.update(data);
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_and_abc_digests() {
        let cases: [(HashAlgorithm, &str, &str); 7] = [
            (HashAlgorithm::Md2, "8350e5a3e24c153df2275c9f80692773", "da853b0d3f88d99b30283a69e6ded6bb"),
            (HashAlgorithm::Md5, "d41d8cd98f00b204e9800998ecf8427e", "900150983cd24fb0d6963f7d28e17f72"),
            (
                HashAlgorithm::Sha1,
                "da39a3ee5e6b4b0d3255bfef95601890afd80709",
                "a9993e364706816aba3e25717850c26c9cd0d89d",
            ),
            (
                HashAlgorithm::Sha224,
                "d14a028c2a3a2bc9476102bb288234c415a2b01f828ea62ac5b3e42f",
                "23097d223405d8228642a477bda255b32aadbce4bda0b3f7e36c9da7",
            ),
            (
                HashAlgorithm::Sha256,
                "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
                "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
            ),
            (
                HashAlgorithm::Sha384,
                "38b060a751ac96384cd9327eb1b1e36a21fdb71114be07434c0cc7bf63f6e1da274edebfe76f65fbd51ad2f14898b95b",
                "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed8086072ba1e7cc2358baeca134c825a7",
            ),
            (
                HashAlgorithm::Sha512,
                "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e",
                "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f",
            ),
        ];
        for (alg, empty, abc) in cases {
            assert_eq!(digest(alg, b"").to_hex(), empty, "{alg} of the empty string");
            let mut h = Hasher::new(alg);
            h.update(b"a");
            h.update(b"");
            h.update(b"bc");
            assert_eq!(h.finish().to_hex(), abc, "{alg} of abc in pieces");
            assert_eq!(digest(alg, b"").as_bytes().len(), alg.output_len());
        }
    }
}
