//! ElGamal: round trips on a key gpg 2.2 made (`elg2048`), implicit rejection, and hostile numbers.

use super::*;
use crate::core::rand::SeededRng;

fn hex(s: &str) -> Vec<u8> {
    let s: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
}

/// p, g, y, x of an ElGamal subkey made by `gpg --quick-add-key FPR elg2048 encr` (gpg 2.2.40).
pub(crate) const GPG_ELG2048: [&str; 4] = crate::core::known_keys::ELGAMAL_2048;

fn key() -> ElGamalPrivateKey {
    let [p, g, y, x] = GPG_ELG2048.map(hex);
    ElGamalPrivateKey::from_components(&p, &g, &y, &x).unwrap()
}

#[test]
fn round_trips_with_a_gpg_key() {
    let k = key();
    assert_eq!(k.bits(), 2048);
    let mut rng = SeededRng::new(b"elgamal");
    for len in [1usize, 19, 35, 200, 245] {
        let msg: Vec<u8> = (0..len).map(|i| (i * 7 + 1) as u8).collect();
        let ct = k.public().encrypt(&msg, &mut rng).unwrap();
        assert!(ct.c1.len() <= 256 && ct.c2.len() <= 256);
        assert_eq!(&k.decrypt(&ct.c1, &ct.c2).unwrap()[..], &msg[..]);
        assert_eq!(&k.decrypt_session_key(&ct.c1, &ct.c2, len).unwrap()[..], &msg[..]);
        assert_eq!(&k.decrypt_session_key_unsized(&ct.c1, &ct.c2, 35).unwrap()[..], &msg[..]);
        // Fresh randomness each time: the same message encrypts differently.
        let again = k.public().encrypt(&msg, &mut rng).unwrap();
        assert_ne!(ct, again);
    }
    assert!(k.public().encrypt(&[0u8; 246], &mut rng).is_err(), "no room for the padding");
}

#[test]
fn bad_ciphertexts_give_a_random_key_not_an_error() {
    let k = key();
    let mut rng = SeededRng::new(b"elgamal bad");
    let msg = [0x42u8; 35];
    let ct = k.public().encrypt(&msg, &mut rng).unwrap();
    let p = hex(GPG_ELG2048[0]);
    let mut c2 = ct.c2.clone();
    c2[10] ^= 1;
    let cases: Vec<(Vec<u8>, Vec<u8>)> = vec![
        (ct.c1.clone(), c2),
        (vec![], ct.c2.clone()),
        (vec![0], ct.c2.clone()),
        (p.clone(), ct.c2.clone()),
        (ct.c1.clone(), p.clone()),
        (vec![0xff; 257], ct.c2.clone()),
        (vec![0xff; 100_000], vec![0xff; 100_000]),
        (vec![1], vec![1]),
    ];
    for (c1, c2) in cases {
        assert!(matches!(k.decrypt(&c1, &c2), Err(CoreError::DecryptionFailed)));
        let a = k.decrypt_session_key(&c1, &c2, 35).unwrap();
        let b = k.decrypt_session_key(&c1, &c2, 35).unwrap();
        assert_eq!(a.len(), 35);
        assert_ne!(a, b, "the fallback is random");
        assert_ne!(&a[..], &msg[..]);
        assert_eq!(k.decrypt_session_key_unsized(&c1, &c2, 35).unwrap().len(), 35);
    }
    // The right ciphertext but the wrong expected length: the fallback.
    assert_ne!(&k.decrypt_session_key(&ct.c1, &ct.c2, 34).unwrap()[..], &msg[..34]);
}

#[test]
fn hostile_keys_are_errors() {
    let [p, g, y, x] = GPG_ELG2048.map(hex);
    let mut even = p.clone();
    *even.last_mut().unwrap() &= 0xfe;
    let mut p_minus_1 = p.clone();
    *p_minus_1.last_mut().unwrap() -= 1;
    for (what, p, g, y) in [
        ("even p", even, g.clone(), y.clone()),
        ("tiny p", vec![0x17], g.clone(), y.clone()),
        ("huge p", vec![0xfb; 1100], g.clone(), y.clone()),
        ("empty p", vec![], g.clone(), y.clone()),
        ("g = 0", p.clone(), vec![0], y.clone()),
        ("g = 1", p.clone(), vec![1], y.clone()),
        ("g = p - 1", p.clone(), p_minus_1.clone(), y.clone()),
        ("g = p", p.clone(), p.clone(), y.clone()),
        ("y = 1", p.clone(), g.clone(), vec![1]),
        ("y = p - 1", p.clone(), g.clone(), p_minus_1.clone()),
        ("y above p", p.clone(), g.clone(), vec![0xff; 256]),
    ] {
        assert!(ElGamalPublicKey::from_components(&p, &g, &y).is_err(), "{what}");
    }
    let mut other_x = x.clone();
    *other_x.last_mut().unwrap() ^= 1;
    for bad_x in [vec![0u8], other_x, vec![0xff; 300], p_minus_1] {
        assert!(ElGamalPrivateKey::from_components(&p, &g, &y, &bad_x).is_err());
    }
    assert!(format!("{:?}", key()).contains("redacted"));
}
