//! The core's writer stacks on large inputs: tens of MiB through sign -> compress -> encrypt and back,
//! with the spool spilling to disk, in pieces of awkward sizes.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // A panic in a test is a failed test.

mod common;

use std::io::Write;
use std::sync::Arc;

use common::pseudo_random;
use sealpost::core::cipher::CipherAlgorithm;
use sealpost::core::compress::{Budget, CompressionAlgorithm};
use sealpost::core::digest::HashAlgorithm;
use sealpost::core::mode::{Crypter, Direction, GcmDecryptor, GcmEncryptor, Mode, Padding, crypter};
use sealpost::core::pipeline::{
    CipherWriter, CompressWriter, DecompressWriter, DigestWriter, RsaSigner, RsaVerifier, SignWriter, Spool,
    verify_signature,
};
use sealpost::core::policy::Policy;
use sealpost::core::rsa::{RsaPrivateKey, SignaturePadding};
use sealpost::core::verdict::SignerStatus;

/// Half random, half text: compressible enough to exercise the compressors, random enough to stay large.
fn payload(len: usize) -> Vec<u8> {
    let mut v = Vec::with_capacity(len);
    let mut seed = 1;
    while v.len() < len {
        v.extend_from_slice(b"Dear Bob, the attached figures are confidential. Regards, Alice.\r\n");
        v.extend_from_slice(&pseudo_random(64, seed));
        seed += 1;
    }
    v.truncate(len);
    v
}

fn round_trip(len: usize, cipher: CipherAlgorithm, mode: Option<Mode>, compression: CompressionAlgorithm) {
    let key = Arc::new(RsaPrivateKey::generate(2048).unwrap());
    let plain = payload(len);
    let session = pseudo_random(cipher.key_size(), 99);
    let iv = pseudo_random(if mode.is_none() { 12 } else { cipher.block_size() }, 98);
    let make = |dir: Direction| -> Box<dyn Crypter> {
        match (mode, dir) {
            (None, Direction::Encrypt) => Box::new(GcmEncryptor::new(&session, &iv, b"aad", true).unwrap()),
            (None, Direction::Decrypt) => Box::new(GcmDecryptor::new(&session, &iv, b"aad", None).unwrap()),
            (Some(m), d) => {
                let padding = if m == Mode::Cbc { Padding::Pkcs7 } else { Padding::None };
                Box::new(crypter(cipher, m, d, &session, &iv, padding).unwrap())
            }
        }
    };

    let signer = Arc::new(RsaSigner { key: Arc::clone(&key), padding: SignaturePadding::Pkcs1v15 });
    let stack = CompressWriter::new(compression, CipherWriter::new(Vec::new(), make(Direction::Encrypt)), 6);
    let mut sign = SignWriter::new(stack, signer, HashAlgorithm::Sha256, &Policy::default(), false).unwrap();
    for piece in plain.chunks(65_537) {
        sign.write_all(piece).unwrap();
    }
    let (stack, signature) = sign.finalize().unwrap();
    let ciphertext = stack.finalize().unwrap().finalize().unwrap();
    assert!(ciphertext.len() < plain.len(), "compression did something");

    // Stage 1: decrypt into a spool that spills after 1 MiB.
    let mut dec = CipherWriter::new(Spool::new(1 << 20), make(Direction::Decrypt));
    for piece in ciphertext.chunks(100_003) {
        dec.write_all(piece).unwrap();
    }
    let spool = dec.finalize().unwrap();
    assert!(spool.spilled());
    // Stage 2: decompress and hash into a second spool.
    let mut inflate = DecompressWriter::new(
        compression,
        DigestWriter::new(Spool::new(1 << 20), &[HashAlgorithm::Sha256]),
        Budget::default(),
    );
    spool.release(&mut inflate).unwrap();
    let (out, digests) = inflate.finalize().unwrap().finalize();
    let verifier = RsaVerifier { key: Arc::new(key.public().clone()), padding: SignaturePadding::Pkcs1v15 };
    let r = verify_signature(&Policy::default(), "test", Some(&verifier), &digests[0], &signature.value);
    assert_eq!(r.status, SignerStatus::Good);
    assert_eq!(out.len(), plain.len() as u64);
    let back = out.into_vec().unwrap();
    assert!(back[..] == plain[..], "round trip differs");
}

#[test]
fn forty_mib_through_aes_gcm_and_zlib() {
    round_trip(40 << 20, CipherAlgorithm::Aes256, None, CompressionAlgorithm::Zlib);
}

#[test]
fn sixteen_mib_through_3des_openpgp_cfb_and_bzip2() {
    round_trip(16 << 20, CipherAlgorithm::TripleDes, Some(Mode::OpenPgpCfbResync), CompressionAlgorithm::Bzip2);
}

#[test]
fn sixteen_mib_through_cast5_cbc_and_deflate() {
    round_trip(16 << 20, CipherAlgorithm::Cast5, Some(Mode::Cbc), CompressionAlgorithm::Deflate);
}
