//! The one registry of algorithm identities.
//!
//! Every algorithm sealpost knows has exactly one row in [`REGISTRY`]: its short name (the name the CLI, the
//! bench rows and the verdict JSON use), its OpenPGP number, its ASN.1 object identifier, its sizes and its
//! [`Strength`]. Front ends translate their wire identifiers through this table and nowhere else; the
//! [`policy`](super::policy) module decides from `Strength` what may be produced or consumed.

use std::fmt;

/// How much an algorithm can still be trusted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Strength {
    /// Fine for new messages.
    Modern,
    /// Read and verified, labelled weak, produced only when asked for by name (3DES, IDEA, CAST5, SHA-1).
    Legacy,
    /// Practically broken (single DES, MD2, MD5): read with a weak label, never produced unless explicitly
    /// allowed.
    Broken,
}

/// What kind of primitive an algorithm is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Family {
    /// A block cipher, used in CBC, CFB and the other modes of [`crate::core::mode`].
    BlockCipher,
    /// An authenticated cipher (AES-GCM).
    Aead,
    /// A hash function.
    Digest,
    /// A public-key algorithm.
    PublicKey,
    /// A compression algorithm.
    Compression,
}

/// One row of the registry.
#[derive(Clone, Copy, Debug)]
pub struct AlgorithmInfo {
    /// Short lower-case name: `aes256`, `3des`, `sha256`, `rsa`, `zlib`.
    pub name: &'static str,
    /// Human name as the standards spell it.
    pub display: &'static str,
    /// What kind of primitive this is.
    pub family: Family,
    /// OpenPGP algorithm number (RFC 9580 section 9), if OpenPGP defines one.
    pub openpgp_id: Option<u8>,
    /// Dotted object identifier of the algorithm (for ciphers: the CBC mode OID used by CMS).
    pub oid: Option<&'static str>,
    /// Smallest and largest key size in bits (`(0, 0)` where there is no key).
    pub key_bits: (u32, u32),
    /// Block size in bytes, for block ciphers.
    pub block_bytes: Option<usize>,
    /// Output size in bytes, for digests.
    pub digest_bytes: Option<usize>,
    /// How far it can be trusted.
    pub strength: Strength,
}

macro_rules! registry {
    ($( $variant:ident => { $name:literal, $display:literal, $family:ident, $pgp:expr, $oid:expr,
        ($kmin:literal, $kmax:literal), $block:expr, $digest:expr, $strength:ident } ),* $(,)?) => {
        /// Every algorithm sealpost knows, as a typed identity.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        #[non_exhaustive]
        pub enum Algorithm {
            $(
                #[doc = $display]
                $variant,
            )*
        }

        /// The registry: one row per [`Algorithm`], in declaration order.
        pub static REGISTRY: &[(Algorithm, AlgorithmInfo)] = &[
            $( (Algorithm::$variant, AlgorithmInfo {
                name: $name,
                display: $display,
                family: Family::$family,
                openpgp_id: $pgp,
                oid: $oid,
                key_bits: ($kmin, $kmax),
                block_bytes: $block,
                digest_bytes: $digest,
                strength: Strength::$strength,
            }), )*
        ];

        impl Algorithm {
            /// This algorithm's row in the registry.
            pub fn info(self) -> &'static AlgorithmInfo {
                match self {
                    $( Algorithm::$variant => &REGISTRY[Algorithm::$variant as usize].1, )*
                }
            }
        }
    };
}

registry! {
    Idea => { "idea", "IDEA", BlockCipher, Some(1), Some("1.3.6.1.4.1.188.7.1.1.2"), (128, 128), Some(8), None, Legacy },
    Des => { "des", "DES", BlockCipher, None, Some("1.3.14.3.2.7"), (64, 64), Some(8), None, Broken },
    TripleDes => { "3des", "TripleDES (DES-EDE3)", BlockCipher, Some(2), Some("1.2.840.113549.3.7"), (192, 192), Some(8), None, Legacy },
    Cast5 => { "cast5", "CAST5 (CAST-128)", BlockCipher, Some(3), Some("1.2.840.113533.7.66.10"), (40, 128), Some(8), None, Legacy },
    Blowfish => { "blowfish", "Blowfish", BlockCipher, Some(4), None, (128, 128), Some(8), None, Legacy },
    Aes128 => { "aes128", "AES-128", BlockCipher, Some(7), Some("2.16.840.1.101.3.4.1.2"), (128, 128), Some(16), None, Modern },
    Aes192 => { "aes192", "AES-192", BlockCipher, Some(8), Some("2.16.840.1.101.3.4.1.22"), (192, 192), Some(16), None, Modern },
    Aes256 => { "aes256", "AES-256", BlockCipher, Some(9), Some("2.16.840.1.101.3.4.1.42"), (256, 256), Some(16), None, Modern },
    Aes128Gcm => { "aes128-gcm", "AES-128-GCM", Aead, None, Some("2.16.840.1.101.3.4.1.6"), (128, 128), Some(16), None, Modern },
    Aes256Gcm => { "aes256-gcm", "AES-256-GCM", Aead, None, Some("2.16.840.1.101.3.4.1.46"), (256, 256), Some(16), None, Modern },
    Md2 => { "md2", "MD2", Digest, None, Some("1.2.840.113549.2.2"), (0, 0), None, Some(16), Broken },
    Md5 => { "md5", "MD5", Digest, Some(1), Some("1.2.840.113549.2.5"), (0, 0), None, Some(16), Broken },
    Sha1 => { "sha1", "SHA-1", Digest, Some(2), Some("1.3.14.3.2.26"), (0, 0), None, Some(20), Legacy },
    Sha224 => { "sha224", "SHA-224", Digest, Some(11), Some("2.16.840.1.101.3.4.2.4"), (0, 0), None, Some(28), Modern },
    Sha256 => { "sha256", "SHA-256", Digest, Some(8), Some("2.16.840.1.101.3.4.2.1"), (0, 0), None, Some(32), Modern },
    Sha384 => { "sha384", "SHA-384", Digest, Some(9), Some("2.16.840.1.101.3.4.2.2"), (0, 0), None, Some(48), Modern },
    Sha512 => { "sha512", "SHA-512", Digest, Some(10), Some("2.16.840.1.101.3.4.2.3"), (0, 0), None, Some(64), Modern },
    Rsa => { "rsa", "RSA (PKCS #1 v1.5)", PublicKey, Some(1), Some("1.2.840.113549.1.1.1"), (512, 8192), None, None, Modern },
    RsaPss => { "rsa-pss", "RSASSA-PSS", PublicKey, None, Some("1.2.840.113549.1.1.10"), (1024, 8192), None, None, Modern },
    RsaOaep => { "rsa-oaep", "RSAES-OAEP", PublicKey, None, Some("1.2.840.113549.1.1.7"), (1024, 8192), None, None, Modern },
    Dsa => { "dsa", "DSA (FIPS 186)", PublicKey, Some(17), Some("1.2.840.10040.4.1"), (512, 8192), None, None, Modern },
    ElGamal => { "elgamal", "ElGamal (encrypt only)", PublicKey, Some(16), None, (512, 8192), None, None, Modern },
    Deflate => { "deflate", "ZIP (raw deflate, RFC 1951)", Compression, Some(1), None, (0, 0), None, None, Modern },
    Zlib => { "zlib", "ZLIB (RFC 1950)", Compression, Some(2), Some("1.2.840.113549.1.9.16.3.8"), (0, 0), None, None, Modern },
    Bzip2 => { "bzip2", "BZip2", Compression, Some(3), None, (0, 0), None, None, Modern },
}

impl Algorithm {
    /// The short name (`aes256`, `sha1`, ...).
    pub fn name(self) -> &'static str {
        self.info().name
    }

    /// The registry's strength rating.
    pub fn strength(self) -> Strength {
        self.info().strength
    }

    /// Looks an algorithm up by its short name, case-insensitively; a few common aliases are accepted
    /// (`tripledes`, `des-ede3`, `cast128`, `aes-256`, `sha-256`, `zip`).
    pub fn from_name(name: &str) -> Option<Algorithm> {
        let lower = name.to_ascii_lowercase();
        let canonical = match lower.as_str() {
            "tripledes" | "des-ede3" | "des3" | "tdes" => "3des",
            "cast128" | "cast-128" | "cast5-128" => "cast5",
            "aes-128" => "aes128",
            "aes-192" => "aes192",
            "aes-256" => "aes256",
            "sha-1" => "sha1",
            "sha-224" => "sha224",
            "sha-256" => "sha256",
            "sha-384" => "sha384",
            "sha-512" => "sha512",
            "zip" => "deflate",
            other => other,
        };
        REGISTRY.iter().find(|(_, info)| info.name == canonical).map(|(alg, _)| *alg)
    }

    /// Looks an algorithm up by dotted OID.
    pub fn from_oid(oid: &str) -> Option<Algorithm> {
        REGISTRY.iter().find(|(_, info)| info.oid == Some(oid)).map(|(alg, _)| *alg)
    }

    /// Looks an algorithm up by its OpenPGP number within one family (the numbers overlap across families).
    pub fn from_openpgp_id(family: Family, id: u8) -> Option<Algorithm> {
        REGISTRY.iter().find(|(_, info)| info.family == family && info.openpgp_id == Some(id)).map(|(alg, _)| *alg)
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_rows_match_their_variants() {
        for (index, (alg, info)) in REGISTRY.iter().enumerate() {
            assert_eq!(*alg as usize, index, "{} is out of order", info.name);
            assert_eq!(alg.info().name, info.name);
            assert_eq!(Algorithm::from_name(info.name), Some(*alg));
        }
    }

    #[test]
    fn names_and_numbers_are_unique_within_a_family() {
        for (i, (_, a)) in REGISTRY.iter().enumerate() {
            for (_, b) in &REGISTRY[i + 1..] {
                assert_ne!(a.name, b.name);
                if a.family == b.family && a.openpgp_id.is_some() {
                    assert_ne!(a.openpgp_id, b.openpgp_id, "{} and {}", a.name, b.name);
                }
                if a.oid.is_some() {
                    assert_ne!(a.oid, b.oid, "{} and {}", a.name, b.name);
                }
            }
        }
    }

    #[test]
    fn lookups() {
        assert_eq!(Algorithm::from_openpgp_id(Family::BlockCipher, 2), Some(Algorithm::TripleDes));
        assert_eq!(Algorithm::from_openpgp_id(Family::Digest, 8), Some(Algorithm::Sha256));
        assert_eq!(Algorithm::from_openpgp_id(Family::Compression, 2), Some(Algorithm::Zlib));
        assert_eq!(Algorithm::from_oid("1.2.840.113549.3.7"), Some(Algorithm::TripleDes));
        assert_eq!(Algorithm::from_name("TripleDES"), Some(Algorithm::TripleDes));
        assert_eq!(Algorithm::from_name("rc4"), None);
        assert_eq!(Algorithm::Md5.strength(), Strength::Broken);
        assert_eq!(Algorithm::Sha1.strength(), Strength::Legacy);
    }
}
