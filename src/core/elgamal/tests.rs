//! ElGamal: round trips on a key gpg 2.2 made (`elg2048`), implicit rejection, and hostile numbers.

use super::*;
use crate::core::rand::SeededRng;

fn hex(s: &str) -> Vec<u8> {
    let s: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
}

/// p, g, y, x of an ElGamal subkey made by `gpg --quick-add-key FPR elg2048 encr` (gpg 2.2.40): a Lim-Lee
/// prime, g = 11, and a 337-bit x as gpg chooses it.
pub(crate) const GPG_ELG2048: [&str; 4] = [
    "B34BA02BBFD5894945A4C45F9EEDCB834C9E56A8C5C95FC2141DF5AAB35F41021F724F9694CD2F8DBBE91152316EAD7E9C46CB92D0CB8AEF\
     3153882506329F420032B8BAB4AA94C00A4A54CB3CE94D135EA8A21F1B0648633BD080AE628D78D714B25D62DBF5732727FDB7E327E25D17\
     07A975A16E6A46AAEC97B8833345A3A5A8D599AA4330BC255A0A3E98894BA87534F359447501723576E9260C80AA6D3EE9DF45243B455D03\
     52D5F3E4FC69E399CC01C293DAD09C6DAEAA0FD157834E57E8231291AF9C62D4064E75D98C777979862659876F3A6431E1A8CB20B2F414CA\
     33CFC42D7988B4685633B6C1C78CD9BE1D43A0C73B4EECB3CC5D9131CB160F2F",
    "0B",
    "383AAFF38B19A86DC5001FE260ADAABB187195F7A6C0CC93F6AC9C34FD638E138814B591FFDF3D9D07B7DB40B8757121FD6D11023C898225\
     92DB0E6D42D2890F384D6EB019C9940E3D941722F8ECC8FA46F4CFC5208C1A31D5438DF83617CAC7791006665AF38A3E2EC4642E70B5D6C2\
     90065995FCA27E60561FC4BEC5C9B5BF3AE97B58B4B173FD4CEF47043FFC561A153820A6E686E5F71CA42A9F4FF88BA40BCC1219D643A19E\
     081395D82CD13B97B31BC800890EBFB5445BF2A1601BA66FE8CD7BF397879123120899C1C90BC0FFCDDE17CB207F38D9157126C0EB4D79AA\
     D8C17064B56A39AD6DDD7D8605BC70441BDD680CEE46EBF9BD4D8786C3F3CCAC",
    "015CCF6AEDC6ECFFDBB16956F987CA89BC17E5C99CD8C1BDC4A982829A1BAD11E73CD540A2DE46AE45F58B",
];

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
