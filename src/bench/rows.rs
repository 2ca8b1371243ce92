//! The benchmark rows: names, how each is measured, and the matching `openssl speed` query.

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

use super::openssl::Query;
use crate::core::CoreError;
use crate::core::cipher::{BlockCipher, CipherAlgorithm, new_cipher};
use crate::core::compress::{Budget, CompressWriter, CompressionAlgorithm, DecompressWriter, compress};
use crate::core::digest::{HashAlgorithm, Hasher, digest};
use crate::core::dsa::DsaPrivateKey;
use crate::core::elgamal::ElGamalPrivateKey;
use crate::core::mode::GcmKey;
use crate::core::rand::{Rng, SeededRng};
use crate::core::rsa::{EncryptionPadding, RsaPrivateKey, SignaturePadding};

/// Cipher modes measured.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CipherRowMode {
    /// CBC.
    Cbc,
    /// Full-block CFB (OpenPGP's).
    Cfb,
    /// GCM (AES only).
    Gcm,
}

/// RSA operations measured.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RsaOp {
    /// PKCS #1 v1.5 signature over a SHA-256 digest.
    Sign,
    /// Its verification.
    Verify,
    /// PKCS #1 v1.5 encryption of a 32-byte key.
    Encrypt,
    /// Its decryption.
    Decrypt,
}

/// DSA and ElGamal operations measured (2048-bit keys, as gpg makes them).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LegacyOp {
    /// ElGamal encryption of a 35-byte OpenPGP session-key block (cipher octet, AES-256 key, checksum).
    ElGamalEncrypt,
    /// Its decryption (the session-key path: implicit rejection included).
    ElGamalDecrypt,
    /// A DSA signature over a SHA-256 digest (RFC 6979 nonce).
    DsaSign,
    /// Its verification.
    DsaVerify,
}

/// What a row measures.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A block cipher in a mode.
    Cipher {
        /// Which cipher.
        alg: CipherAlgorithm,
        /// Which mode.
        mode: CipherRowMode,
        /// Decrypt rather than encrypt.
        decrypt: bool,
    },
    /// A digest.
    Digest(HashAlgorithm),
    /// An RSA operation.
    Rsa {
        /// Key size.
        bits: usize,
        /// Operation.
        op: RsaOp,
    },
    /// A DSA or ElGamal operation.
    Legacy(LegacyOp),
    /// A compressor.
    Compression {
        /// Which one.
        alg: CompressionAlgorithm,
        /// Decompress rather than compress.
        decompress: bool,
    },
}

/// One row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RowSpec {
    /// What it measures.
    pub kind: Kind,
}

/// Every row, in table order.
pub fn all_rows() -> Vec<RowSpec> {
    let mut rows = Vec::new();
    for alg in CipherAlgorithm::ALL {
        for mode in [CipherRowMode::Cbc, CipherRowMode::Cfb] {
            for decrypt in [false, true] {
                rows.push(RowSpec { kind: Kind::Cipher { alg, mode, decrypt } });
            }
        }
    }
    for alg in [CipherAlgorithm::Aes128, CipherAlgorithm::Aes256] {
        for decrypt in [false, true] {
            rows.push(RowSpec { kind: Kind::Cipher { alg, mode: CipherRowMode::Gcm, decrypt } });
        }
    }
    for h in [
        HashAlgorithm::Md5,
        HashAlgorithm::Sha1,
        HashAlgorithm::Sha224,
        HashAlgorithm::Sha256,
        HashAlgorithm::Sha384,
        HashAlgorithm::Sha512,
    ] {
        rows.push(RowSpec { kind: Kind::Digest(h) });
    }
    for bits in [2048, 3072, 4096] {
        for op in [RsaOp::Sign, RsaOp::Verify, RsaOp::Encrypt, RsaOp::Decrypt] {
            rows.push(RowSpec { kind: Kind::Rsa { bits, op } });
        }
    }
    for op in [LegacyOp::ElGamalEncrypt, LegacyOp::ElGamalDecrypt, LegacyOp::DsaSign, LegacyOp::DsaVerify] {
        rows.push(RowSpec { kind: Kind::Legacy(op) });
    }
    for alg in CompressionAlgorithm::ALL {
        for decompress in [false, true] {
            rows.push(RowSpec { kind: Kind::Compression { alg, decompress } });
        }
    }
    rows
}

/// A measured operation: one call processes one buffer.
pub type Op = Box<dyn FnMut() -> Result<(), CoreError>>;

/// Keys are generated once per size and shared by the rows (RSA-4096 generation takes a while).
fn rsa_key(bits: usize) -> Result<Arc<RsaPrivateKey>, CoreError> {
    static KEYS: OnceLock<Mutex<Vec<Arc<RsaPrivateKey>>>> = OnceLock::new();
    let keys = KEYS.get_or_init(|| Mutex::new(Vec::new()));
    let mut keys = keys.lock().map_err(|_| CoreError::Bug("bench key cache poisoned"))?;
    if let Some(k) = keys.iter().find(|k| k.bits() == bits) {
        return Ok(Arc::clone(k));
    }
    let k = Arc::new(RsaPrivateKey::generate(bits)?);
    keys.push(Arc::clone(&k));
    Ok(k)
}

/// The operation of a DSA or ElGamal row, on the fixed keys of [`crate::core::known_keys`].
fn legacy_op(op: LegacyOp, mut rng: SeededRng) -> Result<Op, CoreError> {
    use crate::core::known_keys::{DSA_2048, ELGAMAL_2048, bytes};
    Ok(match op {
        LegacyOp::ElGamalEncrypt | LegacyOp::ElGamalDecrypt => {
            let [p, g, y, x] = ELGAMAL_2048.map(bytes);
            let key = ElGamalPrivateKey::from_components(&p, &g, &y, &x)?;
            let block = rng.bytes(35)?;
            let ct = key.public().encrypt(&block, &mut rng)?;
            if op == LegacyOp::ElGamalEncrypt {
                Box::new(move || key.public().encrypt(&block, &mut rng).map(|_| ()))
            } else {
                Box::new(move || key.decrypt_session_key(&ct.c1, &ct.c2, 35).map(|_| ()))
            }
        }
        LegacyOp::DsaSign | LegacyOp::DsaVerify => {
            let [p, q, g, x, y] = DSA_2048.map(bytes);
            let key = DsaPrivateKey::from_components(&p, &q, &g, &y, &x)?;
            // A different digest each time, as real signing has (RFC 6979 makes the nonce from it).
            let mut counter = 0u64;
            let d = digest(HashAlgorithm::Sha256, b"bench");
            let sig = key.sign(HashAlgorithm::Sha256, d.as_bytes())?;
            if op == LegacyOp::DsaSign {
                Box::new(move || {
                    counter += 1;
                    let d = digest(HashAlgorithm::Sha256, &counter.to_le_bytes());
                    key.sign(HashAlgorithm::Sha256, d.as_bytes()).map(|_| ())
                })
            } else {
                Box::new(move || key.public().verify(d.as_bytes(), &sig.r, &sig.s))
            }
        }
    })
}

/// Mail-like text for the compressors (they are meaningless on random bytes).
fn text(size: usize) -> Vec<u8> {
    let words: [&[u8]; 12] = [
        b"the ",
        b"message ",
        b"is ",
        b"signed ",
        b"and ",
        b"encrypted ",
        b"for ",
        b"every ",
        b"recipient ",
        b"with ",
        b"care. ",
        b"\r\n",
    ];
    let mut rng = SeededRng::new(b"bench text");
    let mut pick = [0u8; 1];
    let mut out = Vec::with_capacity(size + 16);
    while out.len() < size {
        if rng.fill(&mut pick).is_err() {
            break;
        }
        out.extend_from_slice(words[pick[0] as usize % words.len()]);
    }
    out.truncate(size);
    out
}

impl RowSpec {
    /// The row's name, as CONTRACT.md spells it.
    pub fn name(&self) -> String {
        match &self.kind {
            Kind::Cipher { alg, mode, decrypt } => {
                let m = match mode {
                    CipherRowMode::Cbc => "cbc",
                    CipherRowMode::Cfb => "cfb",
                    CipherRowMode::Gcm => "gcm",
                };
                format!("{}-{m}-{}", alg.name(), if *decrypt { "decrypt" } else { "encrypt" })
            }
            Kind::Digest(h) => h.name().to_string(),
            Kind::Rsa { bits, op } => {
                let o = match op {
                    RsaOp::Sign => "sign",
                    RsaOp::Verify => "verify",
                    RsaOp::Encrypt => "encrypt",
                    RsaOp::Decrypt => "decrypt",
                };
                format!("rsa{bits}-{o}")
            }
            Kind::Legacy(op) => match op {
                LegacyOp::ElGamalEncrypt => "elg2048-encrypt",
                LegacyOp::ElGamalDecrypt => "elg2048-decrypt",
                LegacyOp::DsaSign => "dsa2048-sign",
                LegacyOp::DsaVerify => "dsa2048-verify",
            }
            .to_string(),
            Kind::Compression { alg, decompress } => {
                format!("{}-{}", alg.name(), if *decompress { "decompress" } else { "compress" })
            }
        }
    }

    /// True for the public-key rows, measured in operations per second on one small input (a digest or a
    /// session key) rather than in bytes per second at each buffer size.
    pub fn per_operation(&self) -> bool {
        matches!(self.kind, Kind::Rsa { .. } | Kind::Legacy(_))
    }

    /// The `openssl speed` query for the same work, where OpenSSL has one.
    pub fn openssl_query(&self) -> Option<Query> {
        match &self.kind {
            Kind::Cipher { alg, mode, decrypt } => {
                let base = match alg {
                    CipherAlgorithm::Idea => "idea",
                    CipherAlgorithm::Des => "des",
                    CipherAlgorithm::TripleDes => "des-ede3",
                    CipherAlgorithm::Cast5 => "cast5",
                    CipherAlgorithm::Blowfish => "bf",
                    CipherAlgorithm::Aes128 => "aes-128",
                    CipherAlgorithm::Aes192 => "aes-192",
                    CipherAlgorithm::Aes256 => "aes-256",
                };
                let m = match mode {
                    CipherRowMode::Cbc => "cbc",
                    CipherRowMode::Cfb => "cfb",
                    CipherRowMode::Gcm => "gcm",
                };
                Some(Query::Cipher { evp: format!("{base}-{m}"), decrypt: *decrypt })
            }
            Kind::Digest(h) => Some(Query::Digest { evp: h.name().to_string() }),
            Kind::Rsa { bits, op: RsaOp::Sign | RsaOp::Verify } => Some(Query::Rsa { bits: *bits as u32 }),
            Kind::Rsa { .. } | Kind::Legacy(_) | Kind::Compression { .. } => None,
        }
    }

    /// Sets up keys and buffers and returns the operation to time.
    pub fn prepare(&self, size: usize) -> Result<Op, CoreError> {
        let mut rng = SeededRng::new(self.name().as_bytes());
        Ok(match self.kind.clone() {
            Kind::Cipher { alg, mode: CipherRowMode::Gcm, decrypt } => {
                let key = rng.bytes(alg.key_size())?;
                let gcm = GcmKey::new(&key)?;
                let nonce = [7u8; 12];
                let mut buf = rng.bytes(size)?.to_vec();
                if decrypt {
                    let ct = buf.clone();
                    let mut sealed = ct.clone();
                    let tag = gcm.seal(&nonce, b"", &mut sealed)?;
                    Box::new(move || gcm.open(&nonce, b"", &sealed, &tag, &mut buf))
                } else {
                    Box::new(move || gcm.seal(&nonce, b"", &mut buf).map(|_| ()))
                }
            }
            Kind::Cipher { alg, mode, decrypt } => {
                let key = rng.bytes(alg.key_size())?;
                let cipher: Box<dyn BlockCipher> = new_cipher(alg, &key)?;
                let bs = alg.block_size();
                // Whole blocks, as OpenSSL's EVP loop processes them.
                let mut buf = rng.bytes(size.div_ceil(bs) * bs)?.to_vec();
                let mut iv = rng.bytes(bs)?.to_vec();
                Box::new(move || {
                    match (mode, decrypt) {
                        (CipherRowMode::Cbc, false) => cipher.cbc_encrypt(&mut iv, &mut buf),
                        (CipherRowMode::Cbc, true) => cipher.cbc_decrypt(&mut iv, &mut buf),
                        (CipherRowMode::Cfb, false) => cipher.cfb_encrypt(&mut iv, &mut buf),
                        (_, true) | (CipherRowMode::Gcm, false) => cipher.cfb_decrypt(&mut iv, &mut buf),
                    }
                    Ok(())
                })
            }
            Kind::Digest(h) => {
                let buf = rng.bytes(size)?.to_vec();
                Box::new(move || {
                    let mut hasher = Hasher::new(h);
                    hasher.update(&buf);
                    std::hint::black_box(hasher.finish());
                    Ok(())
                })
            }
            Kind::Rsa { bits, op } => {
                let key = rsa_key(bits)?;
                let d = digest(HashAlgorithm::Sha256, b"bench");
                let session = [0x42u8; 32];
                let sig = key.sign(SignaturePadding::Pkcs1v15, HashAlgorithm::Sha256, d.as_bytes())?;
                let ct = key.public().encrypt(EncryptionPadding::Pkcs1v15, &session)?;
                match op {
                    RsaOp::Sign => Box::new(move || {
                        key.sign(SignaturePadding::Pkcs1v15, HashAlgorithm::Sha256, d.as_bytes()).map(|_| ())
                    }),
                    RsaOp::Verify => Box::new(move || {
                        key.public().verify(SignaturePadding::Pkcs1v15, HashAlgorithm::Sha256, d.as_bytes(), &sig)
                    }),
                    RsaOp::Encrypt => {
                        Box::new(move || key.public().encrypt(EncryptionPadding::Pkcs1v15, &session).map(|_| ()))
                    }
                    RsaOp::Decrypt => Box::new(move || key.decrypt(EncryptionPadding::Pkcs1v15, &ct).map(|_| ())),
                }
            }
            Kind::Legacy(op) => legacy_op(op, rng)?,
            Kind::Compression { alg, decompress: false } => {
                let data = text(size);
                let mut out = Vec::with_capacity(size + 1024);
                Box::new(move || {
                    out.clear();
                    let mut w = CompressWriter::new(alg, &mut out, 6);
                    w.write_all(&data)?;
                    w.finalize()?;
                    Ok(())
                })
            }
            Kind::Compression { alg, decompress: true } => {
                let packed = compress(alg, &text(size), 6)?;
                let mut out = Vec::with_capacity(size);
                Box::new(move || {
                    out.clear();
                    let mut w = DecompressWriter::new(alg, &mut out, Budget::default());
                    w.write_all(&packed)?;
                    w.finalize()?;
                    Ok(())
                })
            }
        })
    }
}
