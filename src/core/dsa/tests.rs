//! DSA against RFC 6979 appendix A.2.1 and A.2.2 (every hash, both messages, both keys), and the checks on
//! keys and signatures.

use super::*;
use crate::core::digest::digest;

fn hex(s: &str) -> Vec<u8> {
    let s: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
}

/// RFC 6979 A.2.1: p, q, g, x, y.
pub(crate) const KEY_1024: [&str; 5] = [
    "86F5CA03DCFEB225063FF830A0C769B9DD9D6153AD91D7CE27F787C43278B447E6533B86B18BED6E8A48B784A14C252C5BE0DBF60B86D638\
     5BD2F12FB763ED8873ABFD3F5BA2E0A8C0A59082EAC056935E529DAF7C610467899C77ADEDFC846C881870B7B19B2B58F9BE0521A17002E3\
     BDD6B86685EE90B3D9A1B02B782B1779",
    "996F967F6C8E388D9E28D01E205FBA957A5698B1",
    "07B0F92546150B62514BB771E2A0C0CE387F03BDA6C56B505209FF25FD3C133D89BBCD97E904E09114D9A7DEFDEADFC9078EA544D2E401AE\
     ECC40BB9FBBF78FD87995A10A1C27CB7789B594BA7EFB5C4326A9FE59A070E136DB77175464ADCA417BE5DCE2F40D10A46A3A3943F26AB7F\
     D9C0398FF8C76EE0A56826A8A88F1DBD",
    "411602CB19A6CCC34494D79D98EF1E7ED5AF25F7",
    "5DF5E01DED31D0297E274E1691C192FE5868FEF9E19A84776454B100CF16F65392195A38B90523E2542EE61871C0440CB87C322FC4B4D2EC\
     5E1E7EC766E1BE8D4CE935437DC11C3C8FD426338933EBFE739CB3465F4D3668C5E473508253B1E682F65CBDC4FAE93C2EA212390E54905A\
     86E2223170B44EAA7DA5DD9FFCFB7F3B",
];

/// RFC 6979 A.2.2: p, q, g, x, y.
pub(crate) const KEY_2048: [&str; 5] = crate::core::known_keys::DSA_2048;

fn key(k: &[&str; 5]) -> DsaPrivateKey {
    DsaPrivateKey::from_components(&hex(k[0]), &hex(k[1]), &hex(k[2]), &hex(k[4]), &hex(k[3])).unwrap()
}

/// (key size, hash, message, r, s) from RFC 6979 A.2.1 and A.2.2.
const VECTORS: &[(usize, HashAlgorithm, &str, &str, &str)] = &[
    (
        1024,
        HashAlgorithm::Sha1,
        "sample",
        "2E1A0C2562B2912CAAF89186FB0F42001585DA55",
        "29EFB6B0AFF2D7A68EB70CA313022253B9A88DF5",
    ),
    (
        1024,
        HashAlgorithm::Sha224,
        "sample",
        "4BC3B686AEA70145856814A6F1BB53346F02101E",
        "410697B92295D994D21EDD2F4ADA85566F6F94C1",
    ),
    (
        1024,
        HashAlgorithm::Sha256,
        "sample",
        "81F2F5850BE5BC123C43F71A3033E9384611C545",
        "4CDD914B65EB6C66A8AAAD27299BEE6B035F5E89",
    ),
    (
        1024,
        HashAlgorithm::Sha384,
        "sample",
        "07F2108557EE0E3921BC1774F1CA9B410B4CE65A",
        "54DF70456C86FAC10FAB47C1949AB83F2C6F7595",
    ),
    (
        1024,
        HashAlgorithm::Sha512,
        "sample",
        "16C3491F9B8C3FBBDD5E7A7B667057F0D8EE8E1B",
        "02C36A127A7B89EDBB72E4FFBC71DABC7D4FC69C",
    ),
    (
        1024,
        HashAlgorithm::Sha1,
        "test",
        "42AB2052FD43E123F0607F115052A67DCD9C5C77",
        "183916B0230D45B9931491D4C6B0BD2FB4AAF088",
    ),
    (
        1024,
        HashAlgorithm::Sha224,
        "test",
        "6868E9964E36C1689F6037F91F28D5F2C30610F2",
        "49CEC3ACDC83018C5BD2674ECAAD35B8CD22940F",
    ),
    (
        1024,
        HashAlgorithm::Sha256,
        "test",
        "22518C127299B0F6FDC9872B282B9E70D0790812",
        "6837EC18F150D55DE95B5E29BE7AF5D01E4FE160",
    ),
    (
        1024,
        HashAlgorithm::Sha384,
        "test",
        "854CF929B58D73C3CBFDC421E8D5430CD6DB5E66",
        "91D0E0F53E22F898D158380676A871A157CDA622",
    ),
    (
        1024,
        HashAlgorithm::Sha512,
        "test",
        "8EA47E475BA8AC6F2D821DA3BD212D11A3DEB9A0",
        "7C670C7AD72B6C050C109E1790008097125433E8",
    ),
    (
        2048,
        HashAlgorithm::Sha1,
        "sample",
        "3A1B2DBD7489D6ED7E608FD036C83AF396E290DBD602408E8677DAABD6E7445A",
        "D26FCBA19FA3E3058FFC02CA1596CDBB6E0D20CB37B06054F7E36DED0CDBBCCF",
    ),
    (
        2048,
        HashAlgorithm::Sha224,
        "sample",
        "DC9F4DEADA8D8FF588E98FED0AB690FFCE858DC8C79376450EB6B76C24537E2C",
        "A65A9C3BC7BABE286B195D5DA68616DA8D47FA0097F36DD19F517327DC848CEC",
    ),
    (
        2048,
        HashAlgorithm::Sha256,
        "sample",
        "EACE8BDBBE353C432A795D9EC556C6D021F7A03F42C36E9BC87E4AC7932CC809",
        "7081E175455F9247B812B74583E9E94F9EA79BD640DC962533B0680793A38D53",
    ),
    (
        2048,
        HashAlgorithm::Sha384,
        "sample",
        "B2DA945E91858834FD9BF616EBAC151EDBC4B45D27D0DD4A7F6A22739F45C00B",
        "19048B63D9FD6BCA1D9BAE3664E1BCB97F7276C306130969F63F38FA8319021B",
    ),
    (
        2048,
        HashAlgorithm::Sha512,
        "sample",
        "2016ED092DC5FB669B8EFB3D1F31A91EECB199879BE0CF78F02BA062CB4C942E",
        "D0C76F84B5F091E141572A639A4FB8C230807EEA7D55C8A154A224400AFF2351",
    ),
    (
        2048,
        HashAlgorithm::Sha1,
        "test",
        "C18270A93CFC6063F57A4DFA86024F700D980E4CF4E2CB65A504397273D98EA0",
        "414F22E5F31A8B6D33295C7539C1C1BA3A6160D7D68D50AC0D3A5BEAC2884FAA",
    ),
    (
        2048,
        HashAlgorithm::Sha224,
        "test",
        "272ABA31572F6CC55E30BF616B7A265312018DD325BE031BE0CC82AA17870EA3",
        "E9CC286A52CCE201586722D36D1E917EB96A4EBDB47932F9576AC645B3A60806",
    ),
    (
        2048,
        HashAlgorithm::Sha256,
        "test",
        "8190012A1969F9957D56FCCAAD223186F423398D58EF5B3CEFD5A4146A4476F0",
        "7452A53F7075D417B4B013B278D1BB8BBD21863F5E7B1CEE679CF2188E1AB19E",
    ),
    (
        2048,
        HashAlgorithm::Sha384,
        "test",
        "239E66DDBE8F8C230A3D071D601B6FFBDFB5901F94D444C6AF56F732BEB954BE",
        "6BD737513D5E72FE85D1C750E0F73921FE299B945AAD1C802F15C26A43D34961",
    ),
    (
        2048,
        HashAlgorithm::Sha512,
        "test",
        "89EC4BB1400ECCFF8E7D9AA515CD1DE7803F2DAFF09693EE7FD1353E90A68307",
        "C9F0BDABCC0D880BB137A994CC7F3980CE91CC10FAF529FC46565B15CEA854E1",
    ),
];

#[test]
fn rfc_6979_vectors_sign_and_verify() {
    let (k1024, k2048) = (key(&KEY_1024), key(&KEY_2048));
    assert_eq!((k1024.bits(), k1024.public().q_bits()), (1024, 160));
    assert_eq!((k2048.bits(), k2048.public().q_bits()), (2048, 256));
    for &(bits, hash, msg, r, s) in VECTORS {
        let k = if bits == 1024 { &k1024 } else { &k2048 };
        let d = digest(hash, msg.as_bytes());
        let sig = k.sign(hash, d.as_bytes()).unwrap();
        let want = DsaSignature { r: hex(r), s: hex(s) };
        assert_eq!(sig, want, "{bits} {hash} {msg:?}");
        k.public().verify(d.as_bytes(), &sig.r, &sig.s).unwrap();
        // Another message, a flipped bit in r or s, r and s swapped: all bad.
        let other = digest(hash, b"other");
        assert!(matches!(k.public().verify(other.as_bytes(), &sig.r, &sig.s), Err(CoreError::BadSignature)));
        let mut r2 = sig.r.clone();
        r2[3] ^= 1;
        assert!(k.public().verify(d.as_bytes(), &r2, &sig.s).is_err());
        let mut s2 = sig.s.clone();
        s2[5] ^= 0x80;
        assert!(k.public().verify(d.as_bytes(), &sig.r, &s2).is_err());
        assert!(k.public().verify(d.as_bytes(), &sig.s, &sig.r).is_err());
    }
}

#[test]
fn out_of_range_signatures_are_bad_not_panics() {
    let k = key(&KEY_2048);
    let d = digest(HashAlgorithm::Sha256, b"x");
    let q = hex(KEY_2048[1]);
    let good = k.sign(HashAlgorithm::Sha256, d.as_bytes()).unwrap();
    for (r, s) in [
        (vec![], good.s.clone()),
        (good.r.clone(), vec![0]),
        (q.clone(), good.s.clone()),
        (good.r.clone(), q.clone()),
        (vec![0xff; 40], good.s.clone()),
        (vec![0xff; 5000], vec![0xff; 5000]),
    ] {
        assert!(matches!(k.public().verify(d.as_bytes(), &r, &s), Err(CoreError::BadSignature)));
    }
    // A leading zero in an MPI-style value is fine.
    let mut r0 = vec![0u8];
    r0.extend_from_slice(&good.r);
    k.public().verify(d.as_bytes(), &r0, &good.s).unwrap();
    // A wrong digest length is refused before signing.
    assert!(k.sign(HashAlgorithm::Sha256, &[0u8; 20]).is_err());
}

#[test]
fn hostile_keys_are_errors() {
    let [p, q, g, x, y] = KEY_2048.map(hex);
    let ok = DsaPublicKey::from_components(&p, &q, &g, &y).unwrap();
    assert_eq!(ok.bits(), 2048);
    let mut even_p = p.clone();
    *even_p.last_mut().unwrap() &= 0xfe;
    let mut p_minus_2 = p.clone();
    *p_minus_2.last_mut().unwrap() -= 2;
    let one = vec![1u8];
    let cases = [
        ("even p", even_p, q.clone(), g.clone(), y.clone()),
        ("q does not divide p - 1", p_minus_2, q.clone(), g.clone(), y.clone()),
        ("tiny p", vec![0x0b], q.clone(), g.clone(), y.clone()),
        ("huge p", vec![0xff; 2000], q.clone(), g.clone(), y.clone()),
        ("empty p", vec![], q.clone(), g.clone(), y.clone()),
        ("q of 200 bits", p.clone(), vec![0x8f; 25], g.clone(), y.clone()),
        ("q = 0", p.clone(), vec![0], g.clone(), y.clone()),
        ("g = 0", p.clone(), q.clone(), vec![0], y.clone()),
        ("g = 1", p.clone(), q.clone(), one.clone(), y.clone()),
        ("g = p", p.clone(), q.clone(), p.clone(), y.clone()),
        ("g not of order q", p.clone(), q.clone(), vec![2], y.clone()),
        ("y = 1", p.clone(), q.clone(), g.clone(), one.clone()),
        ("y = p", p.clone(), q.clone(), g.clone(), p.clone()),
        ("y not of order q", p.clone(), q.clone(), g.clone(), vec![3]),
    ];
    for (what, p, q, g, y) in cases {
        assert!(DsaPublicKey::from_components(&p, &q, &g, &y).is_err(), "{what}");
    }
    // Secret parts: zero, q, too long, or not matching y.
    for bad_x in
        [vec![0u8], q.clone(), vec![0xff; 40], hex("69C7548C21D0DFEA6B9A51C9EAD4E27C33D3B3F180316E5BCAB92C933F0E4DBD")]
    {
        assert!(DsaPrivateKey::from_components(&p, &q, &g, &y, &bad_x).is_err());
    }
    let k = DsaPrivateKey::from_components(&p, &q, &g, &y, &x).unwrap();
    assert!(format!("{k:?}").contains("redacted"));
}
