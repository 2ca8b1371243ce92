//! RSA: PKCS #1 v1.5 and PSS signatures, PKCS #1 v1.5 and OAEP encryption (RFC 8017), for keys of 512 to
//! 8192 bits with any odd public exponent (historic keys use e = 3, 17, 0x80000087).
//!
//! This is the one implementation of RSA private-key operations in sealpost; every front end signs and
//! decrypts through [`RsaPrivateKey`]. Which library does the arithmetic, and why:
//!
//! | operation | AWS-LC (`aws-lc-rs`) | RustCrypto `rsa` 0.10 |
//! |---|---|---|
//! | sign, decrypt | keys of 2048-8192 bits AWS-LC accepts; SHA-256/384/512 signatures | smaller keys, odd exponents AWS-LC rejects, MD2/MD5/SHA-1/SHA-224 signatures |
//! | verify | SHA-1/256/512 from 1024 bits, SHA-384 and PSS from 2048 bits | everything else |
//! | encrypt | 2048-8192 bits | smaller keys |
//!
//! AWS-LC is about 5x faster for private-key operations and constant-time. The `rsa` 0.10 path uses
//! constant-time Montgomery exponentiation (`crypto-bigint`) with base blinding, which is the fix for the
//! Marvin attack (RUSTSEC-2023-0071) in that crate; its PKCS #1 v1.5 *unpadding* is replaced here by our own
//! branch-free decoder ([`super::eme`]). Both routes give the same answers; the tests check that on every
//! operation.
//!
//! Padding randomness (PSS salts, PKCS #1 v1.5 and OAEP padding, blinding) always comes from the operating
//! system: AWS-LC does not take an external generator.

mod digest_info;
mod legacy_pem;
mod raw;

use std::fmt;
use std::sync::OnceLock;

use aws_lc_rs::digest as lc_digest;
use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rsa::{
    KeySize, OAEP_SHA1_MGF1SHA1, OAEP_SHA256_MGF1SHA256, OAEP_SHA384_MGF1SHA384, OAEP_SHA512_MGF1SHA512,
    OaepPrivateDecryptingKey, OaepPublicEncryptingKey, Pkcs1PrivateDecryptingKey, Pkcs1PublicEncryptingKey,
    PrivateDecryptingKey, PublicEncryptingKey,
};
use aws_lc_rs::signature::{self as lc_sig, ParsedPublicKey, RsaKeyPair};
use getrandom::SysRng;
use rsa::pkcs1::{DecodeRsaPrivateKey, EncodeRsaPrivateKey};
use rsa::pkcs8::{DecodePrivateKey, EncodePrivateKey, EncodePublicKey};
use rsa::traits::{PrivateKeyParts, PublicKeyParts};
use rsa::{BoxedUint, Pkcs1v15Sign};
use zeroize::Zeroizing;

pub use digest_info::prefix as digest_info_prefix;
pub use legacy_pem::TraditionalPem;

use super::digest::HashAlgorithm;
use super::eme;
use super::error::CoreError;

/// Runs `$body` with `$d` bound to the RustCrypto digest type of `$hash`.
macro_rules! with_digest {
    ($hash:expr, $d:ident => $body:expr) => {
        match $hash {
            HashAlgorithm::Md2 => {
                type $d = md2::Md2;
                $body
            }
            HashAlgorithm::Md5 => {
                type $d = md5::Md5;
                $body
            }
            HashAlgorithm::Sha1 => {
                type $d = sha1::Sha1;
                $body
            }
            HashAlgorithm::Sha224 => {
                type $d = sha2::Sha224;
                $body
            }
            HashAlgorithm::Sha256 => {
                type $d = sha2::Sha256;
                $body
            }
            HashAlgorithm::Sha384 => {
                type $d = sha2::Sha384;
                $body
            }
            HashAlgorithm::Sha512 => {
                type $d = sha2::Sha512;
                $body
            }
        }
    };
}

/// Smallest modulus accepted at all (PEM's 1993 examples use 508-512 bit keys).
pub const MIN_BITS: usize = 500;
/// Largest modulus accepted.
pub const MAX_BITS: usize = 8192;

/// Signature padding schemes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SignaturePadding {
    /// RSASSA-PKCS1-v1_5 with the DigestInfo of the hash.
    Pkcs1v15,
    /// RSASSA-PSS with MGF1 of the same hash and a salt as long as the hash.
    Pss,
}

/// Encryption padding schemes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EncryptionPadding {
    /// RSAES-PKCS1-v1_5.
    Pkcs1v15,
    /// RSAES-OAEP with MGF1, the same hash for both, and an empty label.
    Oaep(HashAlgorithm),
}

fn malformed(detail: impl fmt::Display) -> CoreError {
    CoreError::malformed("RSA key", detail.to_string())
}

fn uint(bytes: &[u8]) -> Result<BoxedUint, CoreError> {
    let bits = u32::try_from(bytes.len().max(1) * 8).map_err(|_| malformed("integer too long"))?;
    BoxedUint::from_be_slice(bytes, bits).map_err(|_| malformed("bad integer"))
}

fn strip_zeros(bytes: &[u8]) -> &[u8] {
    let first = bytes.iter().position(|&b| b != 0).unwrap_or(bytes.len());
    &bytes[first..]
}

/// An RSA public key.
pub struct RsaPublicKey {
    n: Vec<u8>,
    e: Vec<u8>,
    bits: usize,
    rc: rsa::PublicKey,
    /// SubjectPublicKeyInfo DER, for AWS-LC.
    spki: Vec<u8>,
    /// AWS-LC verification keys, parsed on first use, one per (padding, hash).
    lc_verify: [OnceLock<Option<ParsedPublicKey>>; 8],
    lc_encrypt: OnceLock<Option<PublicEncryptingKey>>,
}

impl RsaPublicKey {
    /// A public key from its modulus and exponent (big-endian, leading zeros allowed).
    pub fn from_components(n: &[u8], e: &[u8]) -> Result<RsaPublicKey, CoreError> {
        let n = strip_zeros(n);
        let e = strip_zeros(e);
        let bits = n.len() * 8 - n.first().map_or(8, |b| b.leading_zeros() as usize);
        if !(MIN_BITS..=MAX_BITS).contains(&bits) {
            return Err(CoreError::Unsupported(format!(
                "RSA key of {bits} bits (supported: {MIN_BITS} to {MAX_BITS})"
            )));
        }
        if e.is_empty() || e.last().is_some_and(|b| b & 1 == 0) || n.last().is_some_and(|b| b & 1 == 0) {
            return Err(malformed("even modulus or exponent"));
        }
        if e.len() > 5 {
            return Err(CoreError::Unsupported("RSA public exponent over 33 bits".into()));
        }
        let rc = rsa::PublicKey::new_with_size_limits(uint(n)?, uint(e)?, MIN_BITS..=MAX_BITS).map_err(malformed)?;
        let spki = rc.to_public_key_der().map_err(malformed)?.as_bytes().to_vec();
        Ok(RsaPublicKey {
            n: n.to_vec(),
            e: e.to_vec(),
            bits,
            rc,
            spki,
            lc_verify: Default::default(),
            lc_encrypt: OnceLock::new(),
        })
    }

    /// Parses a PKCS #1 `RSAPublicKey` or an X.509 `SubjectPublicKeyInfo`, DER.
    pub fn from_der(der: &[u8]) -> Result<RsaPublicKey, CoreError> {
        use rsa::pkcs1::der::Decode;
        if let Ok(k) = rsa::pkcs1::RsaPublicKeyRef::from_der(der) {
            return RsaPublicKey::from_components(k.modulus.as_bytes(), k.public_exponent.as_bytes());
        }
        let spki = rsa::pkcs8::spki::SubjectPublicKeyInfoRef::from_der(der)
            .map_err(|err| malformed(format!("neither PKCS #1 nor SubjectPublicKeyInfo: {err}")))?;
        let bits = spki.subject_public_key.as_bytes().ok_or_else(|| malformed("unaligned key bits"))?;
        let k = rsa::pkcs1::RsaPublicKeyRef::from_der(bits).map_err(malformed)?;
        RsaPublicKey::from_components(k.modulus.as_bytes(), k.public_exponent.as_bytes())
    }

    /// Parses a PEM `RSA PUBLIC KEY` or `PUBLIC KEY`.
    pub fn from_pem(pem: &str) -> Result<RsaPublicKey, CoreError> {
        let (label, der) = pem_decode(pem)?;
        match label.as_str() {
            "RSA PUBLIC KEY" | "PUBLIC KEY" => RsaPublicKey::from_der(&der),
            other => Err(malformed(format!("PEM label {other:?} is not an RSA public key"))),
        }
    }

    /// Modulus, big-endian, no leading zeros.
    pub fn n(&self) -> &[u8] {
        &self.n
    }

    /// Public exponent, big-endian, no leading zeros.
    pub fn e(&self) -> &[u8] {
        &self.e
    }

    /// Modulus size in bits.
    pub fn bits(&self) -> usize {
        self.bits
    }

    /// Modulus size in bytes (the length of every signature and ciphertext).
    pub fn size(&self) -> usize {
        self.bits.div_ceil(8)
    }

    /// The key as X.509 `SubjectPublicKeyInfo` DER.
    pub fn to_spki_der(&self) -> &[u8] {
        &self.spki
    }

    fn lc_verifier(&self, padding: SignaturePadding, hash: HashAlgorithm) -> Option<&ParsedPublicKey> {
        let (slot, params): (usize, &'static lc_sig::RsaParameters) = match (padding, hash, self.bits) {
            (SignaturePadding::Pkcs1v15, HashAlgorithm::Sha1, 1024..) => {
                (0, &lc_sig::RSA_PKCS1_1024_8192_SHA1_FOR_LEGACY_USE_ONLY)
            }
            (SignaturePadding::Pkcs1v15, HashAlgorithm::Sha256, 1024..) => {
                (1, &lc_sig::RSA_PKCS1_1024_8192_SHA256_FOR_LEGACY_USE_ONLY)
            }
            (SignaturePadding::Pkcs1v15, HashAlgorithm::Sha384, 2048..) => (2, &lc_sig::RSA_PKCS1_2048_8192_SHA384),
            (SignaturePadding::Pkcs1v15, HashAlgorithm::Sha512, 1024..) => {
                (3, &lc_sig::RSA_PKCS1_1024_8192_SHA512_FOR_LEGACY_USE_ONLY)
            }
            (SignaturePadding::Pss, HashAlgorithm::Sha256, 2048..) => (4, &lc_sig::RSA_PSS_2048_8192_SHA256),
            (SignaturePadding::Pss, HashAlgorithm::Sha384, 2048..) => (5, &lc_sig::RSA_PSS_2048_8192_SHA384),
            (SignaturePadding::Pss, HashAlgorithm::Sha512, 2048..) => (6, &lc_sig::RSA_PSS_2048_8192_SHA512),
            _ => return None,
        };
        self.lc_verify[slot].get_or_init(|| ParsedPublicKey::new(params, &self.spki).ok()).as_ref()
    }

    /// Verifies a signature over a digest. The signature must be exactly [`size`](Self::size) bytes; front
    /// ends whose formats strip leading zeros (OpenPGP MPIs) pad first with [`pad_to_size`](Self::pad_to_size).
    pub fn verify(
        &self,
        padding: SignaturePadding,
        hash: HashAlgorithm,
        digest: &[u8],
        signature: &[u8],
    ) -> Result<(), CoreError> {
        if digest.len() != hash.output_len() {
            return Err(CoreError::malformed("digest", format!("{} bytes for {hash}", digest.len())));
        }
        if signature.len() != self.size() {
            return Err(CoreError::BadSignature);
        }
        if let (Some(key), Some(lc_alg)) = (self.lc_verifier(padding, hash), hash.aws_lc()) {
            let d = lc_digest::Digest::import_less_safe(digest, lc_alg).map_err(|_| CoreError::Bug("digest import"))?;
            return key.verify_digest_sig(&d, signature).map_err(|_| CoreError::BadSignature);
        }
        let result = match padding {
            SignaturePadding::Pkcs1v15 => self.rc.verify(pkcs1v15_scheme(hash), digest, signature),
            SignaturePadding::Pss => {
                with_digest!(hash, D => self.rc.verify(rsa::pss::Pss::<D>::new(), digest, signature))
            }
        };
        result.map_err(|_| CoreError::BadSignature)
    }

    /// Left-pads a signature or ciphertext that lost its leading zero bytes to the modulus size.
    pub fn pad_to_size(&self, value: &[u8]) -> Result<Vec<u8>, CoreError> {
        let k = self.size();
        let v = strip_zeros(value);
        if v.len() > k {
            return Err(CoreError::malformed("RSA value", "longer than the modulus"));
        }
        let mut out = vec![0u8; k - v.len()];
        out.extend_from_slice(v);
        Ok(out)
    }

    /// Encrypts a short message (a session key).
    pub fn encrypt(&self, padding: EncryptionPadding, message: &[u8]) -> Result<Vec<u8>, CoreError> {
        let lc = self
            .lc_encrypt
            .get_or_init(|| if self.bits >= 2048 { PublicEncryptingKey::from_der(&self.spki).ok() } else { None })
            .as_ref();
        let too_long =
            || CoreError::malformed("RSA plaintext", format!("{} bytes is too long for the key", message.len()));
        match (padding, lc) {
            (EncryptionPadding::Pkcs1v15, Some(key)) => {
                let key = Pkcs1PublicEncryptingKey::new(key.clone()).map_err(|_| CoreError::Bug("PKCS1 key"))?;
                let mut out = vec![0u8; key.ciphertext_size()];
                let n = key.encrypt(message, &mut out).map_err(|_| too_long())?.len();
                out.truncate(n);
                Ok(out)
            }
            (EncryptionPadding::Oaep(hash), Some(key)) if oaep_algorithm(hash).is_some() => {
                let alg = oaep_algorithm(hash).ok_or(CoreError::Bug("OAEP algorithm"))?;
                let key = OaepPublicEncryptingKey::new(key.clone()).map_err(|_| CoreError::Bug("OAEP key"))?;
                let mut out = vec![0u8; key.ciphertext_size()];
                let n = key.encrypt(alg, message, &mut out, None).map_err(|_| too_long())?.len();
                out.truncate(n);
                Ok(out)
            }
            (EncryptionPadding::Pkcs1v15, _) => {
                self.rc.encrypt(&mut SysRng, rsa::Pkcs1v15Encrypt, message).map_err(|_| too_long())
            }
            (EncryptionPadding::Oaep(hash), _) => {
                with_digest!(hash, D => self.rc.encrypt(&mut SysRng, rsa::Oaep::<D>::new(), message))
                    .map_err(|_| too_long())
            }
        }
    }
}

impl Clone for RsaPublicKey {
    fn clone(&self) -> RsaPublicKey {
        RsaPublicKey {
            n: self.n.clone(),
            e: self.e.clone(),
            bits: self.bits,
            rc: self.rc.clone(),
            spki: self.spki.clone(),
            lc_verify: Default::default(),
            lc_encrypt: OnceLock::new(),
        }
    }
}

impl PartialEq for RsaPublicKey {
    fn eq(&self, other: &RsaPublicKey) -> bool {
        self.n == other.n && self.e == other.e
    }
}

impl fmt::Debug for RsaPublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let e = self.e.iter().fold(0u64, |acc, &b| (acc << 8) | u64::from(b));
        write!(f, "RsaPublicKey({} bits, e = {e})", self.bits)
    }
}

fn pkcs1v15_scheme(hash: HashAlgorithm) -> Pkcs1v15Sign {
    Pkcs1v15Sign { hash_len: Some(hash.output_len()), prefix: digest_info::prefix(hash).into() }
}

fn oaep_algorithm(hash: HashAlgorithm) -> Option<&'static aws_lc_rs::rsa::OaepAlgorithm> {
    match hash {
        HashAlgorithm::Sha1 => Some(&OAEP_SHA1_MGF1SHA1),
        HashAlgorithm::Sha256 => Some(&OAEP_SHA256_MGF1SHA256),
        HashAlgorithm::Sha384 => Some(&OAEP_SHA384_MGF1SHA384),
        HashAlgorithm::Sha512 => Some(&OAEP_SHA512_MGF1SHA512),
        _ => None,
    }
}

/// The private components `(d, p, q)` of an RSA key, big-endian, each in a zeroizing buffer.
pub type SecretComponents = (Zeroizing<Vec<u8>>, Zeroizing<Vec<u8>>, Zeroizing<Vec<u8>>);

/// An RSA private key. Key material is zeroized on drop (both libraries do so for their own copies, and
/// every intermediate encoding here is held in a `Zeroizing` buffer). `Debug` shows only the size.
pub struct RsaPrivateKey {
    public: RsaPublicKey,
    rc: rsa::PrivateKey,
    // AWS-LC forms of the key, each made on first use (every parse checks the key, about 1 ms at 3072 bits,
    // and a decryption needs only one of them); `None` inside when AWS-LC refuses the key.
    lc_sign: OnceLock<Option<RsaKeyPair>>,
    lc_decrypt: OnceLock<Option<PrivateDecryptingKey>>,
    lc_raw: OnceLock<Option<raw::RawRsa>>,
}

impl RsaPrivateKey {
    fn from_rc(rc: rsa::PrivateKey) -> Result<RsaPrivateKey, CoreError> {
        let public = RsaPublicKey::from_components(&rc.n_bytes(), &rc.e_bytes())?;
        Ok(RsaPrivateKey { public, rc, lc_sign: OnceLock::new(), lc_decrypt: OnceLock::new(), lc_raw: OnceLock::new() })
    }

    /// Whether AWS-LC should be asked to take this key: it takes 2048-8192 bits; anything else (and anything
    /// it refuses) stays on the RustCrypto path.
    fn lc_size(&self) -> bool {
        (2048..=8192).contains(&self.bits())
    }

    fn lc_sign(&self) -> Option<&RsaKeyPair> {
        self.lc_sign
            .get_or_init(|| {
                let der = self.to_pkcs8_der().ok().filter(|_| self.lc_size())?;
                RsaKeyPair::from_pkcs8(&der).ok()
            })
            .as_ref()
    }

    fn lc_decrypt(&self) -> Option<&PrivateDecryptingKey> {
        self.lc_decrypt
            .get_or_init(|| {
                let der = self.to_pkcs8_der().ok().filter(|_| self.lc_size())?;
                PrivateDecryptingKey::from_pkcs8(&der).ok()
            })
            .as_ref()
    }

    fn lc_raw(&self) -> Option<&raw::RawRsa> {
        self.lc_raw
            .get_or_init(|| {
                let der = self.to_pkcs1_der().ok().filter(|_| self.lc_size())?;
                raw::RawRsa::from_pkcs1_der(&der).filter(|k| k.size() == self.public.size())
            })
            .as_ref()
    }

    /// A private key from its components (big-endian): modulus, public and private exponent, and the two
    /// primes. This is how OpenPGP carries keys.
    pub fn from_components(n: &[u8], e: &[u8], d: &[u8], p: &[u8], q: &[u8]) -> Result<RsaPrivateKey, CoreError> {
        let n_u = uint(strip_zeros(n))?;
        let bits = n_u.bits_precision();
        let widen = |bytes: &[u8]| -> Result<BoxedUint, CoreError> {
            BoxedUint::from_be_slice(strip_zeros(bytes), bits).map_err(|_| malformed("component longer than modulus"))
        };
        let rc =
            rsa::PrivateKey::from_components(n_u.clone(), uint(strip_zeros(e))?, widen(d)?, vec![widen(p)?, widen(q)?])
                .map_err(malformed)?;
        RsaPrivateKey::from_rc(rc)
    }

    /// A private key from modulus, public and private exponent only; the primes are recovered (NIST SP
    /// 800-56B appendix C.2, which needs 2^16 < e < 2^256). Test-vector files carry keys this way.
    pub fn from_private_exponent(n: &[u8], e: &[u8], d: &[u8]) -> Result<RsaPrivateKey, CoreError> {
        let n_u = uint(strip_zeros(n))?;
        let d_u = BoxedUint::from_be_slice(strip_zeros(d), n_u.bits_precision())
            .map_err(|_| malformed("private exponent longer than modulus"))?;
        let rc = rsa::PrivateKey::from_components(n_u, uint(strip_zeros(e))?, d_u, Vec::new())
            .map_err(|err| malformed(format!("cannot recover the primes: {err}")))?;
        RsaPrivateKey::from_rc(rc)
    }

    /// Parses PKCS #1 `RSAPrivateKey` or unencrypted PKCS #8 `PrivateKeyInfo`, DER.
    pub fn from_der(der: &[u8]) -> Result<RsaPrivateKey, CoreError> {
        let rc = match rsa::PrivateKey::from_pkcs1_der(der) {
            Ok(k) => k,
            Err(pkcs1_err) => match rsa::PrivateKey::from_pkcs8_der(der) {
                Ok(k) => k,
                // Keys whose primes differ in size (some test keys, a few old tools) are refused by the
                // RustCrypto decoders; read the components and import them with full-width primes.
                Err(pkcs8_err) => unbalanced_key(der)
                    .map_err(|_| malformed(format!("neither PKCS #1 ({pkcs1_err}) nor PKCS #8 ({pkcs8_err})")))?,
            },
        };
        RsaPrivateKey::from_rc(rc)
    }

    /// Parses an encrypted PKCS #8 `EncryptedPrivateKeyInfo` (PBES2), DER.
    pub fn from_encrypted_pkcs8_der(der: &[u8], passphrase: &[u8]) -> Result<RsaPrivateKey, CoreError> {
        let rc = rsa::PrivateKey::from_pkcs8_encrypted_der(der, passphrase).map_err(|err| match err {
            rsa::pkcs8::Error::EncryptedPrivateKey(_) => CoreError::DecryptionFailed,
            other => malformed(other),
        })?;
        RsaPrivateKey::from_rc(rc)
    }

    /// Parses a PEM `RSA PRIVATE KEY` (PKCS #1), `PRIVATE KEY` (PKCS #8) or `ENCRYPTED PRIVATE KEY` (with
    /// `passphrase`), or OpenSSL's traditional encrypted `RSA PRIVATE KEY` (`Proc-Type: 4,ENCRYPTED` and
    /// `DEK-Info` headers, with `passphrase`; see [`TraditionalPem`]).
    pub fn from_pem(pem: &str, passphrase: Option<&[u8]>) -> Result<RsaPrivateKey, CoreError> {
        // RFC 7468 decoders refuse header lines: blocks that have them are read in legacy_pem.rs.
        if legacy_pem::has_headers(pem) {
            return RsaPrivateKey::from_traditional_pem(pem, passphrase);
        }
        let (label, der) = pem_decode(pem)?;
        match label.as_str() {
            "RSA PRIVATE KEY" | "PRIVATE KEY" => RsaPrivateKey::from_der(&der),
            "ENCRYPTED PRIVATE KEY" => match passphrase {
                Some(p) => RsaPrivateKey::from_encrypted_pkcs8_der(&der, p),
                None => Err(CoreError::malformed("RSA key", "the key is encrypted and no passphrase was given")),
            },
            other => Err(malformed(format!("PEM label {other:?} is not an RSA private key"))),
        }
    }

    /// Generates a key of 2048, 3072, 4096 or 8192 bits with e = 65537 (AWS-LC's generator). Smaller keys
    /// are never generated.
    pub fn generate(bits: usize) -> Result<RsaPrivateKey, CoreError> {
        let size = match bits {
            2048 => KeySize::Rsa2048,
            3072 => KeySize::Rsa3072,
            4096 => KeySize::Rsa4096,
            8192 => KeySize::Rsa8192,
            other => {
                return Err(CoreError::Unsupported(format!(
                    "generating {other}-bit RSA keys (2048, 3072, 4096, 8192)"
                )));
            }
        };
        let kp = RsaKeyPair::generate(size).map_err(|_| CoreError::Bug("RSA key generation"))?;
        let der = kp.as_der().map_err(|_| CoreError::Bug("RSA key encoding"))?;
        RsaPrivateKey::from_der(der.as_ref())
    }

    /// The public half.
    pub fn public(&self) -> &RsaPublicKey {
        &self.public
    }

    /// Modulus size in bits.
    pub fn bits(&self) -> usize {
        self.public.bits
    }

    /// True when private-key operations run in AWS-LC (false for the shapes only RustCrypto takes).
    pub fn uses_aws_lc(&self) -> bool {
        self.lc_sign().is_some() && self.lc_decrypt().is_some() && self.lc_raw().is_some()
    }

    /// PKCS #8 DER, in a zeroizing buffer.
    pub fn to_pkcs8_der(&self) -> Result<Zeroizing<Vec<u8>>, CoreError> {
        let doc = self.rc.to_pkcs8_der().map_err(malformed)?;
        Ok(Zeroizing::new(doc.as_bytes().to_vec()))
    }

    /// PKCS #1 DER, in a zeroizing buffer.
    pub fn to_pkcs1_der(&self) -> Result<Zeroizing<Vec<u8>>, CoreError> {
        let doc = self.rc.to_pkcs1_der().map_err(malformed)?;
        Ok(Zeroizing::new(doc.as_bytes().to_vec()))
    }

    /// The private components `(d, p, q)`, big-endian, for formats that store them (OpenPGP).
    pub fn secret_components(&self) -> SecretComponents {
        let primes = self.rc.primes();
        let get = |i: usize| {
            Zeroizing::new(primes.get(i).map(|p| strip_zeros(&p.to_be_bytes()).to_vec()).unwrap_or_default())
        };
        let d = Zeroizing::new(strip_zeros(&self.rc.d().to_be_bytes()).to_vec());
        (d, get(0), get(1))
    }

    /// Signs a digest.
    pub fn sign(&self, padding: SignaturePadding, hash: HashAlgorithm, digest: &[u8]) -> Result<Vec<u8>, CoreError> {
        if digest.len() != hash.output_len() {
            return Err(CoreError::malformed("digest", format!("{} bytes for {hash}", digest.len())));
        }
        let lc_encoding: Option<&'static dyn lc_sig::RsaEncoding> = match (padding, hash) {
            (SignaturePadding::Pkcs1v15, HashAlgorithm::Sha256) => Some(&lc_sig::RSA_PKCS1_SHA256),
            (SignaturePadding::Pkcs1v15, HashAlgorithm::Sha384) => Some(&lc_sig::RSA_PKCS1_SHA384),
            (SignaturePadding::Pkcs1v15, HashAlgorithm::Sha512) => Some(&lc_sig::RSA_PKCS1_SHA512),
            (SignaturePadding::Pss, HashAlgorithm::Sha256) => Some(&lc_sig::RSA_PSS_SHA256),
            (SignaturePadding::Pss, HashAlgorithm::Sha384) => Some(&lc_sig::RSA_PSS_SHA384),
            (SignaturePadding::Pss, HashAlgorithm::Sha512) => Some(&lc_sig::RSA_PSS_SHA512),
            _ => None,
        };
        if let (Some(encoding), Some(lc_alg), Some(kp)) = (lc_encoding, hash.aws_lc(), self.lc_sign()) {
            let d = lc_digest::Digest::import_less_safe(digest, lc_alg).map_err(|_| CoreError::Bug("digest import"))?;
            let mut sig = vec![0u8; kp.public_modulus_len()];
            kp.sign_digest(encoding, &d, &mut sig).map_err(|_| CoreError::Bug("AWS-LC RSA signing"))?;
            return Ok(sig);
        }
        let result = match padding {
            SignaturePadding::Pkcs1v15 => self.rc.sign_with_rng(&mut SysRng, pkcs1v15_scheme(hash), digest),
            SignaturePadding::Pss => {
                with_digest!(hash, D => self.rc.sign_with_rng(&mut SysRng, rsa::pss::Pss::<D>::new(), digest))
            }
        };
        result.map_err(|err| match err {
            rsa::Error::MessageTooLong => {
                CoreError::Unsupported(format!("a {hash} signature does not fit a {}-bit key", self.bits()))
            }
            _ => CoreError::Bug("RSA signing"),
        })
    }

    /// Decrypts a ciphertext. Any failure (wrong key, bad padding, wrong length) is the single
    /// [`CoreError::DecryptionFailed`]. Protocols that must not reveal even that (OpenPGP and CMS session
    /// keys) use [`decrypt_session_key`](Self::decrypt_session_key).
    pub fn decrypt(&self, padding: EncryptionPadding, ciphertext: &[u8]) -> Result<Zeroizing<Vec<u8>>, CoreError> {
        if ciphertext.len() != self.public.size() {
            return Err(CoreError::DecryptionFailed);
        }
        match (padding, self.lc_decrypt()) {
            (EncryptionPadding::Pkcs1v15, Some(key)) => {
                let key = Pkcs1PrivateDecryptingKey::new(key.clone()).map_err(|_| CoreError::Bug("PKCS1 key"))?;
                let mut out = Zeroizing::new(vec![0u8; key.min_output_size()]);
                let n = key.decrypt(ciphertext, &mut out).map_err(|_| CoreError::DecryptionFailed)?.len();
                out.truncate(n);
                Ok(out)
            }
            (EncryptionPadding::Oaep(hash), Some(key)) if oaep_algorithm(hash).is_some() => {
                let alg = oaep_algorithm(hash).ok_or(CoreError::Bug("OAEP algorithm"))?;
                let key = OaepPrivateDecryptingKey::new(key.clone()).map_err(|_| CoreError::Bug("OAEP key"))?;
                let mut out = Zeroizing::new(vec![0u8; key.min_output_size()]);
                let n = key.decrypt(alg, ciphertext, &mut out, None).map_err(|_| CoreError::DecryptionFailed)?.len();
                out.truncate(n);
                Ok(out)
            }
            (EncryptionPadding::Pkcs1v15, None) => {
                let em = self.raw_private(ciphertext)?;
                eme::decode(&em).ok_or(CoreError::DecryptionFailed)
            }
            (EncryptionPadding::Oaep(hash), _) => {
                with_digest!(hash, D => self.rc.decrypt_blinded(&mut SysRng, rsa::Oaep::<D>::new(), ciphertext))
                    .map(Zeroizing::new)
                    .map_err(|_| CoreError::DecryptionFailed)
            }
        }
    }

    /// Decrypts a PKCS #1 v1.5 encrypted session key with implicit rejection: when the padding is bad, or the
    /// result is not `expected_len` bytes, a random value of `expected_len` bytes is returned instead, chosen
    /// without a data-dependent branch. The caller then fails later, at the integrity check, exactly as it
    /// would with a wrong key, so the time and the error reveal nothing about the padding (Bleichenbacher,
    /// Marvin). `expected_len` is the length the protocol fixes before decrypting (OpenPGP: 1 + key + 2).
    pub fn decrypt_session_key(&self, ciphertext: &[u8], expected_len: usize) -> Result<Zeroizing<Vec<u8>>, CoreError> {
        let mut fallback = Zeroizing::new(vec![0u8; expected_len]);
        getrandom::fill(&mut fallback).map_err(|_| CoreError::Bug("getrandom"))?;
        if ciphertext.len() != self.public.size() {
            return Ok(fallback);
        }
        // A ciphertext not below the modulus fails here; it is as invalid as bad padding and must look the same.
        match self.raw_private(ciphertext) {
            Ok(em) => Ok(eme::decode_or(&em, expected_len, &fallback)),
            Err(_) => Ok(fallback),
        }
    }

    /// Decrypts a PKCS #1 v1.5 encrypted session key whose length the protocol does not fix in advance
    /// (OpenPGP's v3 PKESK carries the cipher inside the encrypted block). On bad padding it returns
    /// `fallback_len` random bytes instead of an error, like [`decrypt_session_key`](Self::decrypt_session_key);
    /// the padding is scanned without data-dependent branches, and only the choice between the two results
    /// (whose lengths differ) branches. Callers should prefer the fixed-length form whenever they can.
    pub fn decrypt_session_key_unsized(
        &self,
        ciphertext: &[u8],
        fallback_len: usize,
    ) -> Result<Zeroizing<Vec<u8>>, CoreError> {
        let mut fallback = Zeroizing::new(vec![0u8; fallback_len]);
        getrandom::fill(&mut fallback).map_err(|_| CoreError::Bug("getrandom"))?;
        if ciphertext.len() != self.public.size() {
            return Ok(fallback);
        }
        match self.raw_private(ciphertext) {
            Ok(em) => Ok(eme::decode(&em).unwrap_or(fallback)),
            Err(_) => Ok(fallback),
        }
    }

    /// The raw RSA private operation `c^d mod n`, blinded, left-padded to the modulus size: AWS-LC where it
    /// takes the key, RustCrypto otherwise.
    fn raw_private(&self, ciphertext: &[u8]) -> Result<Zeroizing<Vec<u8>>, CoreError> {
        if let Some(key) = self.lc_raw() {
            return key.private(ciphertext).ok_or(CoreError::DecryptionFailed);
        }
        let c = BoxedUint::from_be_slice(ciphertext, self.rc.n().bits_precision())
            .map_err(|_| CoreError::DecryptionFailed)?;
        let m = rsa::hazmat::rsa_decrypt_and_check(&self.rc, Some(&mut SysRng), &c)
            .map_err(|_| CoreError::DecryptionFailed)?;
        let bytes = Zeroizing::new(m.to_be_bytes().to_vec());
        let k = self.public.size();
        let mut em = Zeroizing::new(vec![0u8; k]);
        let src = if bytes.len() > k { &bytes[bytes.len() - k..] } else { &bytes[..] };
        em[k - src.len()..].copy_from_slice(src);
        Ok(em)
    }
}

impl fmt::Debug for RsaPrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RsaPrivateKey({} bits, secret parts redacted)", self.bits())
    }
}

/// Reads a PKCS #1 key (bare or inside PKCS #8) component by component and imports it with full-width
/// primes, which tolerates primes of unequal size.
fn unbalanced_key(der: &[u8]) -> Result<rsa::PrivateKey, CoreError> {
    use rsa::pkcs1::der::Decode;
    let inner = match rsa::pkcs8::PrivateKeyInfoRef::from_der(der) {
        Ok(info) => info.private_key.as_bytes().to_vec(),
        Err(_) => der.to_vec(),
    };
    let k = rsa::pkcs1::RsaPrivateKeyRef::from_der(&inner).map_err(malformed)?;
    let n = uint(k.modulus.as_bytes())?;
    let bits = n.bits_precision();
    let wide = |b: &[u8]| BoxedUint::from_be_slice(strip_zeros(b), bits).map_err(|_| malformed("component too long"));
    rsa::PrivateKey::from_components_with_wide_primes(
        n.clone(),
        uint(k.public_exponent.as_bytes())?,
        wide(k.private_exponent.as_bytes())?,
        vec![wide(k.prime1.as_bytes())?, wide(k.prime2.as_bytes())?],
    )
    .map_err(malformed)
}

/// Decodes one PEM block (RFC 7468), returning its label and DER. Headers (RFC 1421 style) are refused here.
fn pem_decode(pem: &str) -> Result<(String, Zeroizing<Vec<u8>>), CoreError> {
    let (label, der) =
        pem_rfc7468::decode_vec(pem.trim().as_bytes()).map_err(|err| CoreError::malformed("PEM", format!("{err}")))?;
    Ok((label.to_string(), Zeroizing::new(der)))
}

#[cfg(test)]
mod tests;
