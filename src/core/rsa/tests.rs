//! RSA round trips across both back ends, every hash and padding, odd shapes, and the session-key path.

use std::sync::OnceLock;

use super::*;
use crate::core::digest::digest;

fn key_2048() -> &'static RsaPrivateKey {
    static KEY: OnceLock<RsaPrivateKey> = OnceLock::new();
    KEY.get_or_init(|| RsaPrivateKey::generate(2048).unwrap())
}

/// The same key, forced onto the RustCrypto path.
fn rustcrypto_only(k: &RsaPrivateKey) -> RsaPrivateKey {
    let der = k.to_pkcs1_der().unwrap();
    let mut copy = RsaPrivateKey::from_der(&der).unwrap();
    copy.lc_sign = OnceLock::from(None);
    copy.lc_decrypt = OnceLock::from(None);
    copy.lc_raw = OnceLock::from(None);
    copy
}

fn small_key(bits: usize, e: u64) -> RsaPrivateKey {
    let rc = rsa::PrivateKey::new_with_exp_unchecked(&mut SysRng, bits, BoxedUint::from(e)).unwrap();
    RsaPrivateKey::from_rc(rc).unwrap()
}

#[test]
fn aws_lc_takes_standard_keys() {
    assert!(key_2048().uses_aws_lc());
    assert_eq!(key_2048().bits(), 2048);
    assert!(!small_key(1024, 65537).uses_aws_lc());
}

/// Signatures made by either back end verify under both, for every hash and padding that fits the key.
#[test]
fn signatures_cross_verify_between_back_ends() {
    let aws = key_2048();
    let rc = rustcrypto_only(aws);
    for padding in [SignaturePadding::Pkcs1v15, SignaturePadding::Pss] {
        for hash in HashAlgorithm::ALL {
            let d = digest(hash, b"message");
            for signer in [aws, &rc] {
                let sig = signer.sign(padding, hash, d.as_bytes()).unwrap();
                assert_eq!(sig.len(), 256);
                for verifier in [aws.public(), rc.public()] {
                    verifier.verify(padding, hash, d.as_bytes(), &sig).unwrap();
                }
                let other = digest(hash, b"massage");
                assert!(matches!(
                    aws.public().verify(padding, hash, other.as_bytes(), &sig),
                    Err(CoreError::BadSignature)
                ));
                let mut bent = sig.clone();
                bent[100] ^= 4;
                assert!(aws.public().verify(padding, hash, d.as_bytes(), &bent).is_err());
            }
            if padding == SignaturePadding::Pkcs1v15 {
                // PKCS #1 v1.5 is deterministic: both back ends must produce the very same bytes.
                assert_eq!(
                    aws.sign(padding, hash, d.as_bytes()).unwrap(),
                    rc.sign(padding, hash, d.as_bytes()).unwrap(),
                    "{hash}"
                );
            }
        }
    }
}

#[test]
fn encryption_round_trips_across_back_ends() {
    let aws = key_2048();
    let rc = rustcrypto_only(aws);
    let paddings = [
        EncryptionPadding::Pkcs1v15,
        EncryptionPadding::Oaep(HashAlgorithm::Sha1),
        EncryptionPadding::Oaep(HashAlgorithm::Sha256),
        EncryptionPadding::Oaep(HashAlgorithm::Sha512),
    ];
    for padding in paddings {
        let ct = aws.public().encrypt(padding, b"session key bytes").unwrap();
        assert_eq!(ct.len(), 256);
        assert_eq!(&aws.decrypt(padding, &ct).unwrap()[..], b"session key bytes");
        assert_eq!(&rc.decrypt(padding, &ct).unwrap()[..], b"session key bytes");
        let mut bad = ct.clone();
        bad[5] ^= 1;
        assert!(matches!(aws.decrypt(padding, &bad), Err(CoreError::DecryptionFailed)));
        assert!(matches!(rc.decrypt(padding, &bad), Err(CoreError::DecryptionFailed)));
        assert!(matches!(aws.decrypt(padding, &ct[1..]), Err(CoreError::DecryptionFailed)));
    }
}

/// Historic shapes: 512 bits with e = 3, 1024 bits with e = 17 and e = 0x80000087.
#[test]
fn odd_shapes_sign_verify_and_decrypt() {
    for (bits, e) in [(512, 3u64), (1024, 17), (1024, 0x8000_0087)] {
        let key = small_key(bits, e);
        assert_eq!(key.bits(), bits);
        let d = digest(HashAlgorithm::Md5, b"legacy");
        let sig = key.sign(SignaturePadding::Pkcs1v15, HashAlgorithm::Md5, d.as_bytes()).unwrap();
        key.public().verify(SignaturePadding::Pkcs1v15, HashAlgorithm::Md5, d.as_bytes(), &sig).unwrap();
        let ct = key.public().encrypt(EncryptionPadding::Pkcs1v15, &[7u8; 24]).unwrap();
        assert_eq!(&key.decrypt(EncryptionPadding::Pkcs1v15, &ct).unwrap()[..], &[7u8; 24]);
        // Re-reading the key from its own encodings gives the same public key.
        let again = RsaPrivateKey::from_der(&key.to_pkcs8_der().unwrap()).unwrap();
        assert_eq!(again.public(), key.public());
        let (d_, p, q) = key.secret_components();
        let rebuilt = RsaPrivateKey::from_components(key.public().n(), key.public().e(), &d_, &p, &q).unwrap();
        assert_eq!(rebuilt.public(), key.public());
    }
    // A SHA-512 DigestInfo does not fit a 512-bit key: a clear error, not a panic.
    let key = small_key(512, 65537);
    let d = digest(HashAlgorithm::Sha512, b"x");
    assert!(matches!(
        key.sign(SignaturePadding::Pkcs1v15, HashAlgorithm::Sha512, d.as_bytes()),
        Err(CoreError::Unsupported(_))
    ));
}

#[test]
fn session_key_decryption_never_reveals_bad_padding() {
    for key in [key_2048(), &rustcrypto_only(key_2048())] {
        let ct = key.public().encrypt(EncryptionPadding::Pkcs1v15, &[0x42; 19]).unwrap();
        assert_eq!(&key.decrypt_session_key(&ct, 19).unwrap()[..], &[0x42; 19]);
        // Wrong length expected: random bytes of the expected length, never the real value, never an error.
        let wrong = key.decrypt_session_key(&ct, 18).unwrap();
        assert_eq!(wrong.len(), 18);
        assert_ne!(&wrong[..], &[0x42; 18]);
        let mut bad = ct.clone();
        bad[0] ^= 0x80;
        let r1 = key.decrypt_session_key(&bad, 19).unwrap();
        let r2 = key.decrypt_session_key(&bad, 19).unwrap();
        assert_eq!(r1.len(), 19);
        assert_ne!(r1, r2, "fallback must be fresh randomness");
    }
}

#[test]
fn public_key_encodings_round_trip() {
    let pk = key_2048().public();
    let again = RsaPublicKey::from_der(pk.to_spki_der()).unwrap();
    assert_eq!(&again, pk);
    assert_eq!(pk.e(), &[1, 0, 1]);
    assert!(RsaPublicKey::from_components(&[0xff; 32], &[3]).is_err(), "256-bit keys are refused");
    assert!(RsaPublicKey::from_components(&[0xff; 64], &[4]).is_err(), "even exponent");
    assert!(RsaPublicKey::from_der(b"\x30\x03\x02\x01\x01").is_err());
    let padded = pk.pad_to_size(&[1, 2, 3]).unwrap();
    assert_eq!(padded.len(), 256);
    assert_eq!(&padded[253..], &[1, 2, 3]);
}

#[test]
fn debug_output_hides_secrets() {
    let shown = format!("{:?}", key_2048());
    assert_eq!(shown, "RsaPrivateKey(2048 bits, secret parts redacted)");
}

#[test]
fn key_generation_refuses_small_sizes() {
    assert!(matches!(RsaPrivateKey::generate(1024), Err(CoreError::Unsupported(_))));
}
