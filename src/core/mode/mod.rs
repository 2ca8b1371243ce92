//! Modes of operation as streaming [`Crypter`]s: ECB, CBC (with or without PKCS #5/#7 padding), full-block
//! CFB, OpenPGP's resynchronising CFB, CFB-8, OFB and AES-GCM.
//!
//! A `Crypter` takes input in pieces of any size and appends output to a `Vec`; `finish` ends the stream
//! (padding, authentication tag). Whole blocks go to the cipher's own chaining loops
//! ([`crate::core::cipher::BlockCipher`]), so the per-call overhead here is one copy of the data.
//!
//! Decryption failures of every kind (bad padding, bad tag, truncated input) are the one error
//! [`CoreError::DecryptionFailed`], so that no caller can turn the difference into a padding oracle.

mod block;
mod ctr;
mod gcm;

pub use block::BlockModeCrypter;
pub use ctr::AesCtr;
pub use gcm::{GCM_NONCE_LEN, GCM_TAG_LEN, GcmDecryptor, GcmEncryptor, GcmKey, gcm_open, gcm_seal};

use super::cipher::{CipherAlgorithm, new_cipher};
use super::error::CoreError;

/// A streaming encryptor or decryptor.
pub trait Crypter: Send + Sync {
    /// Processes `input`, appending whatever output is ready to `out`.
    fn update(&mut self, input: &[u8], out: &mut Vec<u8>) -> Result<(), CoreError>;

    /// Ends the stream, appending the rest (final padded block, tag) to `out`. Decryptors check padding and
    /// tags here and fail with [`CoreError::DecryptionFailed`].
    fn finish(&mut self, out: &mut Vec<u8>) -> Result<(), CoreError>;
}

/// Which way a crypter works.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// Plaintext in, ciphertext out.
    Encrypt,
    /// Ciphertext in, plaintext out.
    Decrypt,
}

/// The block-cipher modes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Mode {
    /// Electronic codebook, whole blocks (padding optional). Only for known-answer tests and key wrapping.
    Ecb,
    /// Cipher block chaining (RFC 1423, CMS, OpenSSL).
    Cbc,
    /// Full-block cipher feedback: CFB-64 for 8-byte ciphers, CFB-128 for AES. OpenPGP's SEIPD packets use
    /// this with a zero IV.
    Cfb,
    /// OpenPGP's CFB with resynchronisation after the `block + 2` byte prefix (RFC 4880 section 13.9), used by
    /// Symmetrically Encrypted Data packets (tag 9, no MDC) and PGP 2.x.
    OpenPgpCfbResync,
    /// 8-bit cipher feedback (NIST SP 800-38A); only for known-answer tests.
    Cfb8,
    /// Output feedback; only for known-answer tests.
    Ofb,
}

impl Mode {
    /// Short name used in bench rows and messages.
    pub fn name(self) -> &'static str {
        match self {
            Mode::Ecb => "ecb",
            Mode::Cbc => "cbc",
            Mode::Cfb => "cfb",
            Mode::OpenPgpCfbResync => "openpgp-cfb",
            Mode::Cfb8 => "cfb8",
            Mode::Ofb => "ofb",
        }
    }
}

/// Block padding for ECB and CBC.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Padding {
    /// Input must be whole blocks.
    None,
    /// PKCS #5 / PKCS #7 / RFC 1423 padding: 1 to `block` bytes each holding the pad length.
    Pkcs7,
}

/// Builds a streaming crypter for a block cipher in a mode. `iv` must be one block (ignored for ECB, where
/// it must be empty). `padding` only applies to ECB and CBC.
pub fn crypter(
    alg: CipherAlgorithm,
    mode: Mode,
    direction: Direction,
    key: &[u8],
    iv: &[u8],
    padding: Padding,
) -> Result<BlockModeCrypter, CoreError> {
    let cipher = new_cipher(alg, key)?;
    BlockModeCrypter::new(cipher, mode, direction, iv, padding)
}

/// One-shot helper: runs a fresh crypter over `input`.
pub fn process(
    alg: CipherAlgorithm,
    mode: Mode,
    direction: Direction,
    key: &[u8],
    iv: &[u8],
    padding: Padding,
    input: &[u8],
) -> Result<Vec<u8>, CoreError> {
    let mut c = crypter(alg, mode, direction, key, iv, padding)?;
    let mut out = Vec::with_capacity(input.len() + alg.block_size());
    c.update(input, &mut out)?;
    c.finish(&mut out)?;
    Ok(out)
}
