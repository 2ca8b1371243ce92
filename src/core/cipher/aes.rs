//! AES-128/192/256: our own AES-NI / VAES code on x86-64 ([`super::aes_x86`]), AWS-LC elsewhere.
//!
//! What this module owns: the [`Aes`] cipher the registry hands out, the choice of implementation per key, and
//! the known-answer and differential tests of every implementation.
//!
//! Why: wrapped around AWS-LC, `sealpost bench --compare` (16 KiB, chain continued across calls, median of 3)
//! put our AES at 0.98x-1.02x of OpenSSL 3.0 on a Zen 5. Both libraries decrypt CBC 8 blocks wide on 128-bit
//! AES-NI and run CFB one block at a time through a block-function pointer; AWS-LC adds a context and checks
//! per call (measured: 2-6 ns per encryption call, about 10 ns per decryption call). Our loops
//! ([`super::aes_x86`]) win on every row: VAES on 512-bit registers for the parallel modes and a chain of
//! nothing but AES rounds for the serial ones. Medians of 3 runs, 16 KiB and 1 KiB
//! (every single run of the final code at or above 1.0x):
//!
//! | rows (128/192/256)  | before (AWS-LC, both sizes) | after, 16 KiB | after, 1 KiB |
//! |---------------------|-----------------------------|---------------|--------------|
//! | CBC encrypt         | 0.90x-1.10x                 | 1.03x-1.06x   | 1.02x-1.04x  |
//! | CBC decrypt         | 1.00x-1.06x                 | 3.66x-3.87x   | 3.37x-3.45x  |
//! | CFB128 encrypt      | 0.93x-1.07x                 | 1.48x-1.67x   | 1.46x-1.62x  |
//! | CFB128 decrypt      | 0.97x-1.12x                 | 40.8x-49.4x   | 34.0x-36.8x  |
//!
//! The route: [`Aes::new`] builds the x86-64 cipher when the CPU has AES-NI (the CPU is examined once per
//! process) and keeps AWS-LC, in ECB, CBC and CFB128, for CPUs without it and for other architectures. On
//! AES-NI without VAES, AWS-LC's CBC decryption stays in use from [`AWS_LC_CBC_DECRYPT_FROM`] bytes up, the one
//! place where our code measured slower.

use aws_lc_rs::cipher::{
    AES_128, AES_192, AES_256, DecryptingKey, DecryptionContext, EncryptingKey, EncryptionContext, UnboundCipherKey,
};
use aws_lc_rs::iv::FixedLength;

#[cfg(target_arch = "x86_64")]
use super::aes_x86::AesX86;
use super::{BlockCipher, CipherAlgorithm};

/// A keyed AES cipher.
pub struct Aes {
    alg: CipherAlgorithm,
    imp: Imp,
}

/// The implementation a key runs on.
#[allow(
    clippy::large_enum_variant,
    reason = "the hot variant stays inline (no indirection per call); the fallback's 3 KB of AWS-LC keys are boxed"
)]
enum Imp {
    /// AES-NI, with VAES for the parallel modes where the CPU has it; without VAES, AWS-LC's CBC decryption for
    /// inputs of [`AWS_LC_CBC_DECRYPT_FROM`] bytes or more.
    #[cfg(target_arch = "x86_64")]
    X86 { aes: AesX86, cbc_dec: Option<Box<DecryptingKey>> },
    /// AWS-LC (boxed: its six keys are 3 KB).
    AwsLc(Box<AwsLcAes>),
}

/// Where the CPU lacks VAES, CBC decryption of this many bytes or more runs on AWS-LC: its 8-way AES-NI loop
/// (hand-scheduled assembly, round keys as memory operands) beat our 128-bit loop by 5-12% for AES-192 and
/// AES-256 from 512 bytes up (AES-128: a tie), while ours wins below, where AWS-LC's per-call set-up dominates.
/// Measured on Zen 5 with the VAES kernel switched off (`timing::compare_paths`).
#[cfg(target_arch = "x86_64")]
const AWS_LC_CBC_DECRYPT_FROM: usize = 512;

/// The implementations, for tests to force each one.
#[cfg(test)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Path {
    /// AWS-LC's assembly.
    AwsLc,
    /// Our AES-NI code, 128-bit registers only.
    AesNi,
    /// Our AES-NI code with VAES on 512-bit registers for the parallel modes.
    Vaes512,
}

impl Aes {
    /// An AES cipher from a 16, 24 or 32-byte key, on the fastest implementation this CPU has.
    pub fn new(key: &[u8]) -> Option<Aes> {
        let alg = algorithm(key)?;
        #[cfg(target_arch = "x86_64")]
        if let Some(aes) = AesX86::new(key) {
            return Aes::x86(alg, aes, key);
        }
        Some(Aes { alg, imp: Imp::AwsLc(Box::new(AwsLcAes::new(key)?)) })
    }

    /// Our x86-64 cipher, with AWS-LC's CBC decryption alongside where the CPU lacks VAES.
    #[cfg(target_arch = "x86_64")]
    fn x86(alg: CipherAlgorithm, aes: AesX86, key: &[u8]) -> Option<Aes> {
        let cbc_dec = match aes.path() {
            super::aes_x86::Path::Vaes512 => None,
            super::aes_x86::Path::AesNi => {
                Some(Box::new(DecryptingKey::cbc(UnboundCipherKey::new(lc_algorithm(key)?, key).ok()?).ok()?))
            }
        };
        Some(Aes { alg, imp: Imp::X86 { aes, cbc_dec } })
    }

    /// An AES cipher on the given implementation, or `None` if this CPU lacks it.
    #[cfg(test)]
    pub(super) fn with_path(key: &[u8], path: Path) -> Option<Aes> {
        let alg = algorithm(key)?;
        let imp = match path {
            Path::AwsLc => Imp::AwsLc(Box::new(AwsLcAes::new(key)?)),
            #[cfg(target_arch = "x86_64")]
            Path::AesNi => return Aes::x86(alg, AesX86::with_path(key, super::aes_x86::Path::AesNi)?, key),
            #[cfg(target_arch = "x86_64")]
            Path::Vaes512 => return Aes::x86(alg, AesX86::with_path(key, super::aes_x86::Path::Vaes512)?, key),
            #[cfg(not(target_arch = "x86_64"))]
            Path::AesNi | Path::Vaes512 => return None,
        };
        Some(Aes { alg, imp })
    }

    /// The implementation in use.
    #[cfg(test)]
    pub(super) fn path(&self) -> Path {
        match &self.imp {
            #[cfg(target_arch = "x86_64")]
            Imp::X86 { aes, .. } => match aes.path() {
                super::aes_x86::Path::AesNi => Path::AesNi,
                super::aes_x86::Path::Vaes512 => Path::Vaes512,
            },
            Imp::AwsLc(_) => Path::AwsLc,
        }
    }
}

/// The cipher for a key length.
fn algorithm(key: &[u8]) -> Option<CipherAlgorithm> {
    match key.len() {
        16 => Some(CipherAlgorithm::Aes128),
        24 => Some(CipherAlgorithm::Aes192),
        32 => Some(CipherAlgorithm::Aes256),
        _ => None,
    }
}

/// AWS-LC's identity of the cipher for a key length.
fn lc_algorithm(key: &[u8]) -> Option<&'static aws_lc_rs::cipher::Algorithm> {
    match key.len() {
        16 => Some(&AES_128),
        24 => Some(&AES_192),
        32 => Some(&AES_256),
        _ => None,
    }
}

/// The 16-byte chaining value. The trait guarantees 16 bytes; a short `iv` from a broken caller reads as
/// zero-padded rather than panicking.
#[inline]
fn iv16(iv: &[u8]) -> [u8; 16] {
    debug_assert_eq!(iv.len(), 16, "the AES chaining value must be one block");
    let mut b = [0u8; 16];
    for (d, s) in b.iter_mut().zip(iv) {
        *d = *s;
    }
    b
}

/// Writes the chaining value back (over at most `iv.len()` bytes).
#[inline]
fn set_iv16(iv: &mut [u8], v: [u8; 16]) {
    for (d, s) in iv.iter_mut().zip(v) {
        *d = s;
    }
}

/// The whole blocks of `data` (the trait guarantees there is no remainder).
#[cfg(target_arch = "x86_64")]
#[inline]
fn blocks16(data: &mut [u8]) -> &mut [[u8; 16]] {
    let (blocks, rest) = data.as_chunks_mut::<16>();
    debug_assert!(rest.is_empty(), "AES data must be whole blocks");
    blocks
}

/// Runs a chaining loop of the x86-64 cipher over the trait's `iv` and `data`.
#[cfg(target_arch = "x86_64")]
#[inline]
fn chained(iv: &mut [u8], data: &mut [u8], f: impl FnOnce(&mut [u8; 16], &mut [[u8; 16]])) {
    let mut v = iv16(iv);
    f(&mut v, blocks16(data));
    set_iv16(iv, v);
}

impl BlockCipher for Aes {
    fn algorithm(&self) -> CipherAlgorithm {
        self.alg
    }

    fn encrypt_blocks(&self, data: &mut [u8]) {
        match &self.imp {
            #[cfg(target_arch = "x86_64")]
            Imp::X86 { aes, .. } => aes.encrypt_blocks(blocks16(data)),
            Imp::AwsLc(lc) => lc.encrypt_blocks(data),
        }
    }

    fn decrypt_blocks(&self, data: &mut [u8]) {
        match &self.imp {
            #[cfg(target_arch = "x86_64")]
            Imp::X86 { aes, .. } => aes.decrypt_blocks(blocks16(data)),
            Imp::AwsLc(lc) => lc.decrypt_blocks(data),
        }
    }

    fn cbc_encrypt(&self, iv: &mut [u8], data: &mut [u8]) {
        match &self.imp {
            #[cfg(target_arch = "x86_64")]
            Imp::X86 { aes, .. } => chained(iv, data, |v, b| aes.cbc_encrypt(v, b)),
            Imp::AwsLc(lc) => lc.cbc_encrypt(iv, data),
        }
    }

    fn cbc_decrypt(&self, iv: &mut [u8], data: &mut [u8]) {
        match &self.imp {
            #[cfg(target_arch = "x86_64")]
            Imp::X86 { cbc_dec: Some(lc), .. } if data.len() >= AWS_LC_CBC_DECRYPT_FROM => lc_cbc_decrypt(lc, iv, data),
            #[cfg(target_arch = "x86_64")]
            Imp::X86 { aes, .. } => chained(iv, data, |v, b| aes.cbc_decrypt(v, b)),
            Imp::AwsLc(lc) => lc.cbc_decrypt(iv, data),
        }
    }

    fn cfb_encrypt(&self, iv: &mut [u8], data: &mut [u8]) {
        match &self.imp {
            #[cfg(target_arch = "x86_64")]
            Imp::X86 { aes, .. } => chained(iv, data, |v, b| aes.cfb_encrypt(v, b)),
            Imp::AwsLc(lc) => lc.cfb_encrypt(iv, data),
        }
    }

    fn cfb_decrypt(&self, iv: &mut [u8], data: &mut [u8]) {
        match &self.imp {
            #[cfg(target_arch = "x86_64")]
            Imp::X86 { aes, .. } => chained(iv, data, |v, b| aes.cfb_decrypt(v, b)),
            Imp::AwsLc(lc) => lc.cfb_decrypt(iv, data),
        }
    }
}

/// AES over AWS-LC, with one key per mode it serves (AWS-LC keys are bound to a mode); the chaining loops run
/// inside AWS-LC and this wrapper only carries the chaining value across calls. AWS-LC zeroizes its key
/// schedules on drop.
struct AwsLcAes {
    ecb_enc: EncryptingKey,
    ecb_dec: DecryptingKey,
    cbc_enc: EncryptingKey,
    cbc_dec: DecryptingKey,
    cfb_enc: EncryptingKey,
    cfb_dec: DecryptingKey,
}

/// AWS-LC only fails here when a length is not a whole number of blocks, which the trait's contract
/// (enforced by `core::mode`) rules out; the debug assertion catches a broken caller in tests.
fn checked<T, E>(result: Result<T, E>) {
    debug_assert!(result.is_ok(), "AWS-LC rejected a whole-block AES operation");
}

impl AwsLcAes {
    fn new(key: &[u8]) -> Option<AwsLcAes> {
        let lc_alg = lc_algorithm(key)?;
        let unbound = || UnboundCipherKey::new(lc_alg, key).ok();
        Some(AwsLcAes {
            ecb_enc: EncryptingKey::ecb(unbound()?).ok()?,
            ecb_dec: DecryptingKey::ecb(unbound()?).ok()?,
            cbc_enc: EncryptingKey::cbc(unbound()?).ok()?,
            cbc_dec: DecryptingKey::cbc(unbound()?).ok()?,
            cfb_enc: EncryptingKey::cfb128(unbound()?).ok()?,
            cfb_dec: DecryptingKey::cfb128(unbound()?).ok()?,
        })
    }

    fn encrypt_blocks(&self, data: &mut [u8]) {
        checked(self.ecb_enc.less_safe_encrypt(data, EncryptionContext::None));
    }

    fn decrypt_blocks(&self, data: &mut [u8]) {
        checked(self.ecb_dec.decrypt(data, DecryptionContext::None));
    }

    fn cbc_encrypt(&self, iv: &mut [u8], data: &mut [u8]) {
        if data.is_empty() {
            return;
        }
        let ctx = EncryptionContext::Iv128(FixedLength::from(iv16(iv)));
        checked(self.cbc_enc.less_safe_encrypt(data, ctx));
        if let Some(next) = last_block(data) {
            set_iv16(iv, next);
        }
    }

    fn cbc_decrypt(&self, iv: &mut [u8], data: &mut [u8]) {
        lc_cbc_decrypt(&self.cbc_dec, iv, data);
    }

    fn cfb_encrypt(&self, iv: &mut [u8], data: &mut [u8]) {
        if data.is_empty() {
            return;
        }
        let ctx = EncryptionContext::Iv128(FixedLength::from(iv16(iv)));
        checked(self.cfb_enc.less_safe_encrypt(data, ctx));
        if let Some(next) = last_block(data) {
            set_iv16(iv, next);
        }
    }

    fn cfb_decrypt(&self, iv: &mut [u8], data: &mut [u8]) {
        let Some(next) = last_block(data) else {
            return;
        };
        let ctx = DecryptionContext::Iv128(FixedLength::from(iv16(iv)));
        checked(self.cfb_dec.decrypt(data, ctx));
        set_iv16(iv, next);
    }
}

/// The last whole block of `data`: the chaining value an encryption leaves, or a decryption starts from.
fn last_block(data: &[u8]) -> Option<[u8; 16]> {
    data.len().checked_sub(16).map(|start| iv16(&data[start..]))
}

/// CBC decryption with an AWS-LC key, carrying the chaining value.
fn lc_cbc_decrypt(key: &DecryptingKey, iv: &mut [u8], data: &mut [u8]) {
    let Some(next) = last_block(data) else {
        return;
    };
    let ctx = DecryptionContext::Iv128(FixedLength::from(iv16(iv)));
    checked(key.decrypt(data, ctx));
    set_iv16(iv, next);
}

#[cfg(test)]
mod tests {
    use cipher_api::{BlockCipherDecrypt, BlockCipherEncrypt, KeyInit};

    use super::super::testing::Rng;
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        let s: String = s.split_whitespace().collect();
        (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
    }

    /// Every implementation this CPU can run, the default one's included.
    fn paths() -> Vec<Path> {
        let key = [0u8; 16];
        let paths: Vec<Path> = [Path::AwsLc, Path::AesNi, Path::Vaes512]
            .into_iter()
            .filter(|&p| Aes::with_path(&key, p).is_some())
            .collect();
        assert!(paths.contains(&Aes::new(&key).unwrap().path()));
        paths
    }

    fn aes(key: &[u8], path: Path) -> Aes {
        let aes = Aes::with_path(key, path).unwrap();
        assert_eq!(aes.path(), path);
        aes
    }

    /// On x86-64 with AES-NI, the default is our code, with VAES where the CPU has it.
    #[test]
    #[cfg(target_arch = "x86_64")]
    fn the_default_is_the_fastest_path() {
        let want = if std::is_x86_feature_detected!("vaes") && std::is_x86_feature_detected!("avx512f") {
            Path::Vaes512
        } else if std::is_x86_feature_detected!("aes") {
            Path::AesNi
        } else {
            Path::AwsLc
        };
        assert_eq!(Aes::new(&[7; 32]).unwrap().path(), want);
        eprintln!("AES paths on this CPU: {:?}", paths());
    }

    #[test]
    fn other_key_lengths_are_refused() {
        for len in [0, 1, 15, 17, 20, 23, 25, 31, 33, 64] {
            assert!(Aes::new(&vec![1; len]).is_none(), "{len}-byte key");
            for path in paths() {
                assert!(Aes::with_path(&vec![1; len], path).is_none(), "{len}-byte key on {path:?}");
            }
        }
    }

    /// FIPS-197 appendix C: the example vectors of AES-128, AES-192 and AES-256, both ways.
    #[test]
    fn fips_197_appendix_c_known_answers() {
        let plain = hex("00112233445566778899aabbccddeeff");
        let cases = [
            ("000102030405060708090a0b0c0d0e0f", "69c4e0d86a7b0430d8cdb78070b4c55a"),
            ("000102030405060708090a0b0c0d0e0f1011121314151617", "dda97ca4864cdfe06eaf70a0ec0d7191"),
            ("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f", "8ea2b7ca516745bfeafc49904b496089"),
        ];
        for path in paths() {
            for (key, want) in cases {
                let aes = aes(&hex(key), path);
                let mut b = plain.clone();
                aes.encrypt_blocks(&mut b);
                assert_eq!(b, hex(want), "{path:?} AES-{} encrypt", key.len() * 4);
                aes.decrypt_blocks(&mut b);
                assert_eq!(b, plain, "{path:?} AES-{} decrypt", key.len() * 4);
            }
        }
    }

    const SP800_38A_PLAIN: &str = "6bc1bee22e409f96e93d7e117393172a ae2d8a571e03ac9c9eb76fac45af8e51
        30c81c46a35ce411e5fbc1191a0a52ef f69f2445df4f9b17ad2b417be66c3710";
    const SP800_38A_IV: &str = "000102030405060708090a0b0c0d0e0f";
    const SP800_38A_KEYS: [&str; 3] = [
        "2b7e151628aed2a6abf7158809cf4f3c",
        "8e73b0f7da0e6452c810f32b809079e562f8ead2522c6b7b",
        "603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4",
    ];

    /// Checks one SP 800-38A example both ways, in one call and block by block (the chain carried in `iv`).
    fn check_sp800_38a(
        name: &str,
        key: &str,
        want: &str,
        enc: fn(&Aes, &mut [u8], &mut [u8]),
        dec: fn(&Aes, &mut [u8], &mut [u8]),
    ) {
        let (plain, want) = (hex(SP800_38A_PLAIN), hex(want));
        for path in paths() {
            let aes = aes(&hex(key), path);
            for step in [16, 64] {
                let mut data = plain.clone();
                let mut iv = hex(SP800_38A_IV);
                for block in data.chunks_mut(step) {
                    enc(&aes, &mut iv, block);
                }
                assert_eq!(data, want, "{name} encrypt, {path:?}, {step}-byte calls");
                assert_eq!(iv, want[48..], "{name} encrypt chaining value, {path:?}");
                let mut iv = hex(SP800_38A_IV);
                for block in data.chunks_mut(step) {
                    dec(&aes, &mut iv, block);
                }
                assert_eq!(data, plain, "{name} decrypt, {path:?}, {step}-byte calls");
                assert_eq!(iv, want[48..], "{name} decrypt chaining value, {path:?}");
            }
        }
    }

    /// NIST SP 800-38A F.2.1-F.2.6: CBC-AES128, CBC-AES192 and CBC-AES256.
    #[test]
    fn sp800_38a_f2_cbc() {
        let want = [
            "7649abac8119b246cee98e9b12e9197d 5086cb9b507219ee95db113a917678b2
             73bed6b8e3c1743b7116e69e22229516 3ff1caa1681fac09120eca307586e1a7",
            "4f021db243bc633d7178183a9fa071e8 b4d9ada9ad7dedf4e5e738763f69145a
             571b242012fb7ae07fa9baac3df102e0 08b0e27988598881d920a9e64f5615cd",
            "f58c4c04d6e5f1ba779eabfb5f7bfbd6 9cfc4e967edb808d679f777bc6702c7d
             39f23369a9d9bacfa530e26304231461 b2eb05e2c39be9fcda6c19078c6a9d1b",
        ];
        for (key, want) in SP800_38A_KEYS.into_iter().zip(want) {
            check_sp800_38a("CBC", key, want, |a, iv, d| a.cbc_encrypt(iv, d), |a, iv, d| a.cbc_decrypt(iv, d));
        }
    }

    /// NIST SP 800-38A F.3.13-F.3.18: CFB128-AES128, CFB128-AES192 and CFB128-AES256.
    #[test]
    fn sp800_38a_f3_cfb128() {
        let want = [
            "3b3fd92eb72dad20333449f8e83cfb4a c8a64537a0b3a93fcde3cdad9f1ce58b
             26751f67a3cbb140b1808cf187a4f4df c04b05357c5d1c0eeac4c66f9ff7f2e6",
            "cdc80d6fddf18cab34c25909c99a4174 67ce7f7f81173621961a2b70171d3d7a
             2e1e8a1dd59b88b1c8e60fed1efac4c9 c05f9f9ca9834fa042ae8fba584b09ff",
            "dc7e84bfda79164b7ecd8486985d3860 39ffed143b28b1c832113c6331e5407b
             df10132415e54b92a13ed0a8267ae2f9 75a385741ab9cef82031623d55b1e471",
        ];
        for (key, want) in SP800_38A_KEYS.into_iter().zip(want) {
            check_sp800_38a("CFB128", key, want, |a, iv, d| a.cfb_encrypt(iv, d), |a, iv, d| a.cfb_decrypt(iv, d));
        }
    }

    /// The RustCrypto `aes` crate, one block at a time: the reference.
    enum Reference {
        Aes128(::aes::Aes128),
        Aes192(::aes::Aes192),
        Aes256(::aes::Aes256),
    }

    impl Reference {
        fn new(key: &[u8]) -> Reference {
            match key.len() {
                16 => Reference::Aes128(::aes::Aes128::new_from_slice(key).unwrap()),
                24 => Reference::Aes192(::aes::Aes192::new_from_slice(key).unwrap()),
                _ => Reference::Aes256(::aes::Aes256::new_from_slice(key).unwrap()),
            }
        }

        fn block(&self, b: &mut [u8], encrypt: bool) {
            let b = b.try_into().unwrap();
            match (self, encrypt) {
                (Reference::Aes128(c), true) => c.encrypt_block(b),
                (Reference::Aes128(c), false) => c.decrypt_block(b),
                (Reference::Aes192(c), true) => c.encrypt_block(b),
                (Reference::Aes192(c), false) => c.decrypt_block(b),
                (Reference::Aes256(c), true) => c.encrypt_block(b),
                (Reference::Aes256(c), false) => c.decrypt_block(b),
            }
        }

        /// ECB encryption and decryption, textbook CBC and CFB128 encryption.
        fn all(&self, iv: &[u8], data: &[u8]) -> [Vec<u8>; 4] {
            let (mut ecb_e, mut ecb_d, mut cbc, mut cfb) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
            let (mut cv, mut fv) = (iv.to_vec(), iv.to_vec());
            for p in data.chunks_exact(16) {
                let mut b = p.to_vec();
                self.block(&mut b, true);
                ecb_e.extend_from_slice(&b);
                let mut b = p.to_vec();
                self.block(&mut b, false);
                ecb_d.extend_from_slice(&b);
                let mut b: Vec<u8> = p.iter().zip(&cv).map(|(a, b)| a ^ b).collect();
                self.block(&mut b, true);
                cv = b;
                cbc.extend_from_slice(&cv);
                self.block(&mut fv, true);
                fv = p.iter().zip(&fv).map(|(a, b)| a ^ b).collect();
                cfb.extend_from_slice(&fv);
            }
            [ecb_e, ecb_d, cbc, cfb]
        }
    }

    /// Every implementation against the `aes` crate: random keys of the three lengths, random IVs, every
    /// length from 1 to 300 blocks (so that each tail of the 8-block and 16-block loops runs, after zero or
    /// more whole groups), the chain split across two calls at a random block.
    #[test]
    fn matches_the_aes_crate_on_random_input() {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        for path in paths() {
            for key_len in [16, 24, 32] {
                for blocks in 1..=300usize {
                    let key = rng.bytes(key_len);
                    let (ours, theirs) = (aes(&key, path), Reference::new(&key));
                    let iv = rng.bytes(16);
                    let data = rng.bytes(16 * blocks);
                    let split = 16 * (rng.next() as usize % (blocks + 1));
                    let [ecb_e, ecb_d, cbc, cfb] = theirs.all(&iv, &data);
                    let what = format!("{path:?}, AES-{}, {blocks} blocks, split at {}", key_len * 8, split / 16);

                    let mut buf = data.clone();
                    ours.encrypt_blocks(&mut buf[..split]);
                    ours.encrypt_blocks(&mut buf[split..]);
                    assert_eq!(buf, ecb_e, "ECB encrypt, {what}");
                    let mut buf = data.clone();
                    ours.decrypt_blocks(&mut buf[..split]);
                    ours.decrypt_blocks(&mut buf[split..]);
                    assert_eq!(buf, ecb_d, "ECB decrypt, {what}");

                    type Op = fn(&Aes, &mut [u8], &mut [u8]);
                    let modes: [(&str, &Vec<u8>, Op, Op); 2] = [
                        ("CBC", &cbc, |a, iv, d| a.cbc_encrypt(iv, d), |a, iv, d| a.cbc_decrypt(iv, d)),
                        ("CFB", &cfb, |a, iv, d| a.cfb_encrypt(iv, d), |a, iv, d| a.cfb_decrypt(iv, d)),
                    ];
                    for (name, want, enc, dec) in modes {
                        let mut buf = data.clone();
                        let mut v = iv.clone();
                        let (a, b) = buf.split_at_mut(split);
                        enc(&ours, &mut v, a);
                        enc(&ours, &mut v, b);
                        assert_eq!(&buf, want, "{name} encrypt, {what}");
                        assert_eq!(v, want[want.len() - 16..], "{name} encrypt chaining value, {what}");
                        let mut v = iv.clone();
                        let (a, b) = buf.split_at_mut(split);
                        dec(&ours, &mut v, a);
                        dec(&ours, &mut v, b);
                        assert_eq!(buf, data, "{name} decrypt, {what}");
                        assert_eq!(v, want[want.len() - 16..], "{name} decrypt chaining value, {what}");
                    }
                }
            }
        }
    }

    /// Empty input leaves the chaining value alone, on every implementation.
    #[test]
    fn empty_input_is_a_no_op() {
        for path in paths() {
            let aes = aes(&[3; 24], path);
            type Op = fn(&Aes, &mut [u8], &mut [u8]);
            let ops: [Op; 4] = [
                |a, iv, d| a.cbc_encrypt(iv, d),
                |a, iv, d| a.cbc_decrypt(iv, d),
                |a, iv, d| a.cfb_encrypt(iv, d),
                |a, iv, d| a.cfb_decrypt(iv, d),
            ];
            for op in ops {
                let mut iv = [9u8; 16];
                op(&aes, &mut iv, &mut []);
                assert_eq!(iv, [9; 16], "{path:?}");
            }
            aes.encrypt_blocks(&mut []);
            aes.decrypt_blocks(&mut []);
        }
    }
}
