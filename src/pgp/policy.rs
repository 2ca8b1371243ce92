//! Policy for OpenPGP: the sequoia policy we parse with, and the translation of OpenPGP algorithm
//! identifiers into the core's registry so that [`crate::core::policy`] decides what is weak.
//!
//! sequoia's `StandardPolicy` refuses SHA-1 data signatures, MD5, and SED packets outright. sealpost must
//! still *report* on such messages ("the mathematical result still reported", labelled weak), so the
//! sequoia policy here accepts every algorithm sequoia implements, and the core policy labels or refuses.
//! SED packets never reach sequoia's decryptor at all: [`super::decrypt`] handles them, and only when
//! unauthenticated decryption is allowed.

// sequoia marks IDEA, 3DES, CAST5, ElGamal and the split RSA identifiers deprecated; reading them is this
// module's job.
#![allow(deprecated)]

use sequoia_openpgp::packet::Tag;
use sequoia_openpgp::policy::{AsymmetricAlgorithm, HashAlgoSecurity, StandardPolicy};
use sequoia_openpgp::types::{
    CompressionAlgorithm as PgpCompression, HashAlgorithm as PgpHash, PublicKeyAlgorithm,
    SymmetricAlgorithm as PgpSymmetric,
};

use crate::core::CoreError;
use crate::core::algorithm::Algorithm;
use crate::core::cipher::CipherAlgorithm;
use crate::core::compress::CompressionAlgorithm;
use crate::core::digest::HashAlgorithm;
use crate::core::policy::{Acceptance, Policy, Usage};

/// The sequoia policy sealpost parses and verifies with: everything sequoia implements is accepted, so that
/// results on legacy messages can be reported and labelled by the core policy.
pub fn sequoia_policy() -> StandardPolicy<'static> {
    let mut p = StandardPolicy::new();
    for h in [
        PgpHash::MD5,
        PgpHash::SHA1,
        PgpHash::RipeMD,
        PgpHash::SHA224,
        PgpHash::SHA256,
        PgpHash::SHA384,
        PgpHash::SHA512,
    ] {
        p.accept_hash(h);
        p.accept_hash_property(h, HashAlgoSecurity::CollisionResistance);
        p.accept_hash_property(h, HashAlgoSecurity::SecondPreImageResistance);
    }
    for s in [
        PgpSymmetric::IDEA,
        PgpSymmetric::TripleDES,
        PgpSymmetric::CAST5,
        PgpSymmetric::Blowfish,
        PgpSymmetric::AES128,
        PgpSymmetric::AES192,
        PgpSymmetric::AES256,
        PgpSymmetric::Twofish,
        PgpSymmetric::Camellia128,
        PgpSymmetric::Camellia192,
        PgpSymmetric::Camellia256,
    ] {
        p.accept_symmetric_algo(s);
    }
    for a in AsymmetricAlgorithm::variants() {
        p.accept_asymmetric_algo(a);
    }
    p.accept_packet_tag(Tag::SED);
    // PGP 2.x to 6.x made version 3 signatures.
    p.accept_packet_tag_version(Tag::Signature, 3);
    p
}

/// The core's identity of an OpenPGP hash, where the core knows it.
pub fn hash(h: PgpHash) -> Option<HashAlgorithm> {
    Some(match h {
        PgpHash::MD5 => HashAlgorithm::Md5,
        PgpHash::SHA1 => HashAlgorithm::Sha1,
        PgpHash::SHA224 => HashAlgorithm::Sha224,
        PgpHash::SHA256 => HashAlgorithm::Sha256,
        PgpHash::SHA384 => HashAlgorithm::Sha384,
        PgpHash::SHA512 => HashAlgorithm::Sha512,
        _ => return None,
    })
}

/// The OpenPGP identity of a core hash.
pub fn pgp_hash(h: HashAlgorithm) -> Option<PgpHash> {
    Some(match h {
        HashAlgorithm::Md5 => PgpHash::MD5,
        HashAlgorithm::Sha1 => PgpHash::SHA1,
        HashAlgorithm::Sha224 => PgpHash::SHA224,
        HashAlgorithm::Sha256 => PgpHash::SHA256,
        HashAlgorithm::Sha384 => PgpHash::SHA384,
        HashAlgorithm::Sha512 => PgpHash::SHA512,
        HashAlgorithm::Md2 => return None,
    })
}

/// The core's cipher for an OpenPGP symmetric algorithm, where the core implements it.
pub fn cipher(s: PgpSymmetric) -> Option<CipherAlgorithm> {
    Some(match s {
        PgpSymmetric::IDEA => CipherAlgorithm::Idea,
        PgpSymmetric::TripleDES => CipherAlgorithm::TripleDes,
        PgpSymmetric::CAST5 => CipherAlgorithm::Cast5,
        PgpSymmetric::Blowfish => CipherAlgorithm::Blowfish,
        PgpSymmetric::AES128 => CipherAlgorithm::Aes128,
        PgpSymmetric::AES192 => CipherAlgorithm::Aes192,
        PgpSymmetric::AES256 => CipherAlgorithm::Aes256,
        _ => return None,
    })
}

/// The OpenPGP identity of a core cipher (DES has none).
pub fn pgp_cipher(c: CipherAlgorithm) -> Option<PgpSymmetric> {
    Some(match c {
        CipherAlgorithm::Idea => PgpSymmetric::IDEA,
        CipherAlgorithm::TripleDes => PgpSymmetric::TripleDES,
        CipherAlgorithm::Cast5 => PgpSymmetric::CAST5,
        CipherAlgorithm::Blowfish => PgpSymmetric::Blowfish,
        CipherAlgorithm::Aes128 => PgpSymmetric::AES128,
        CipherAlgorithm::Aes192 => PgpSymmetric::AES192,
        CipherAlgorithm::Aes256 => PgpSymmetric::AES256,
        CipherAlgorithm::Des => return None,
    })
}

/// The core's identity of an OpenPGP compression algorithm (`None` for "uncompressed" and unknown ones).
pub fn compression(c: PgpCompression) -> Option<CompressionAlgorithm> {
    Some(match c {
        PgpCompression::Zip => CompressionAlgorithm::Deflate,
        PgpCompression::Zlib => CompressionAlgorithm::Zlib,
        PgpCompression::BZip2 => CompressionAlgorithm::Bzip2,
        _ => return None,
    })
}

/// The registry identity used for weak labels of a symmetric algorithm the core does not implement but
/// sequoia may still read (Blowfish, Twofish, Camellia are not labelled).
pub fn cipher_identity(s: PgpSymmetric) -> Option<Algorithm> {
    cipher(s).map(CipherAlgorithm::algorithm)
}

/// True for the RSA public-key algorithms (1, 2 and 3).
pub fn is_rsa(pk: PublicKeyAlgorithm) -> bool {
    matches!(pk, PublicKeyAlgorithm::RSAEncryptSign | PublicKeyAlgorithm::RSAEncrypt | PublicKeyAlgorithm::RSASign)
}

/// True for the ElGamal public-key algorithms (16, and 20: the encrypt-or-sign form, decrypted only).
pub fn is_elgamal(pk: PublicKeyAlgorithm) -> bool {
    matches!(pk, PublicKeyAlgorithm::ElGamalEncrypt | PublicKeyAlgorithm::ElGamalEncryptSign)
}

/// The registry identity whose key-size limits apply to an OpenPGP public-key algorithm (RSA, DSA,
/// ElGamal); `None` for the elliptic-curve algorithms, whose sizes are fixed by the curve.
pub fn key_algorithm(pk: PublicKeyAlgorithm) -> Option<Algorithm> {
    if is_rsa(pk) {
        Some(Algorithm::Rsa)
    } else if pk == PublicKeyAlgorithm::DSA {
        Some(Algorithm::Dsa)
    } else if is_elgamal(pk) {
        Some(Algorithm::ElGamal)
    } else {
        None
    }
}

/// The core policy's verdict on a key's size for a use (RSA, DSA, ElGamal; other keys pass unlabelled).
pub fn check_key(
    policy: &Policy,
    pk: PublicKeyAlgorithm,
    bits: Option<usize>,
    usage: Usage,
) -> Result<Acceptance, CoreError> {
    match (key_algorithm(pk), bits) {
        (Some(alg), Some(bits)) => policy.check_key(alg, bits, usage),
        _ => Ok(Acceptance::default()),
    }
}

/// Short lower-case name for the verdict.
pub fn symmetric_name(s: PgpSymmetric) -> String {
    match cipher(s) {
        Some(c) => c.name().to_string(),
        None => s.to_string().to_lowercase(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identities_round_trip() {
        for c in CipherAlgorithm::ALL {
            if let Some(p) = pgp_cipher(c) {
                assert_eq!(cipher(p), Some(c));
                assert_eq!(u8::from(p), c.algorithm().info().openpgp_id.unwrap(), "{}", c.name());
            }
        }
        for h in HashAlgorithm::ALL {
            if let Some(p) = pgp_hash(h) {
                assert_eq!(hash(p), Some(h));
                assert_eq!(u8::from(p), h.algorithm().info().openpgp_id.unwrap(), "{h}");
            }
        }
        for c in CompressionAlgorithm::ALL {
            let id = c.algorithm().info().openpgp_id.unwrap();
            assert_eq!(compression(PgpCompression::from(id)), Some(c));
        }
    }
}
