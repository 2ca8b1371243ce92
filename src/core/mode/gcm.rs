//! AES-GCM (NIST SP 800-38D) with 96-bit nonces: one-shot over AWS-LC, and streaming.
//!
//! The one-shot functions use AWS-LC's stitched AES-GCM assembly (the fastest path; used by chunked formats
//! such as OpenPGP AEAD and by the benchmarks). AWS-LC has no incremental GCM API, so the streaming
//! [`GcmEncryptor`]/[`GcmDecryptor`] pair, which CMS AuthEnvelopedData of any size needs, runs AWS-LC's AES-CTR
//! and the `ghash` crate's carry-less-multiply GHASH side by side. The two paths are checked against each
//! other in the tests.
//!
//! The streaming decryptor releases plaintext before the tag is checked (it cannot do otherwise and stream);
//! callers must hold that plaintext back until `finish` succeeds — the pipelines do so with
//! [`crate::core::pipeline::Spool`].

use aws_lc_rs::aead::{AES_128_GCM, AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
use aws_lc_rs::cipher::{AES_128, AES_192, AES_256, EncryptingKey, EncryptionContext, UnboundCipherKey};
use aws_lc_rs::iv::FixedLength;
use ghash::GHash;
use ghash::universal_hash::UniversalHash;

use super::Crypter;
use crate::core::algorithm::Algorithm;
use crate::core::cipher::{Aes, BlockCipher};
use crate::core::error::CoreError;

/// GCM nonce length (only 96-bit nonces are supported: CMS and OpenPGP both use them).
pub const GCM_NONCE_LEN: usize = 12;
/// GCM tag length.
pub const GCM_TAG_LEN: usize = 16;

/// Most plaintext one nonce may cover: 2^32 - 2 blocks (SP 800-38D section 5.2.1.1).
const MAX_BYTES: u64 = ((1u64 << 32) - 2) * 16;

fn gcm_algorithm(key: &[u8]) -> Result<&'static aws_lc_rs::aead::Algorithm, CoreError> {
    match key.len() {
        16 => Ok(&AES_128_GCM),
        32 => Ok(&AES_256_GCM),
        n => Err(CoreError::KeyLength { algorithm: Algorithm::Aes256Gcm, got: n }),
    }
}

fn nonce(n: &[u8]) -> Result<[u8; GCM_NONCE_LEN], CoreError> {
    n.try_into().map_err(|_| CoreError::IvLength { algorithm: Algorithm::Aes256Gcm, got: n.len(), want: GCM_NONCE_LEN })
}

/// A keyed one-shot AES-GCM (AES-128 or AES-256 by key length) over AWS-LC.
pub struct GcmKey(LessSafeKey);

impl GcmKey {
    /// Keys AES-128-GCM (16-byte key) or AES-256-GCM (32-byte key).
    pub fn new(key: &[u8]) -> Result<GcmKey, CoreError> {
        let unbound = UnboundKey::new(gcm_algorithm(key)?, key).map_err(|_| CoreError::Bug("GCM key"))?;
        Ok(GcmKey(LessSafeKey::new(unbound)))
    }

    /// Encrypts `in_out` in place and returns the tag.
    pub fn seal(&self, nonce_bytes: &[u8], aad: &[u8], in_out: &mut [u8]) -> Result<[u8; GCM_TAG_LEN], CoreError> {
        let n = Nonce::assume_unique_for_key(nonce(nonce_bytes)?);
        let tag = self
            .0
            .seal_in_place_separate_tag(n, Aad::from(aad), in_out)
            .map_err(|_| CoreError::malformed("GCM plaintext", "longer than one nonce may cover"))?;
        let mut out = [0u8; GCM_TAG_LEN];
        out.copy_from_slice(tag.as_ref());
        Ok(out)
    }

    /// Checks `tag` and decrypts `ciphertext` into `out` (same length). On failure `out` is zeroed.
    pub fn open(
        &self,
        nonce_bytes: &[u8],
        aad: &[u8],
        ciphertext: &[u8],
        tag: &[u8],
        out: &mut [u8],
    ) -> Result<(), CoreError> {
        if out.len() != ciphertext.len() {
            return Err(CoreError::Bug("GCM output length"));
        }
        let n = Nonce::assume_unique_for_key(nonce(nonce_bytes)?);
        self.0.open_separate_gather(n, Aad::from(aad), ciphertext, tag, out).map_err(|_| {
            out.fill(0);
            CoreError::DecryptionFailed
        })
    }
}

/// One-shot: encrypts `in_out` in place and returns the tag.
pub fn gcm_seal(key: &[u8], nonce: &[u8], aad: &[u8], in_out: &mut [u8]) -> Result<[u8; GCM_TAG_LEN], CoreError> {
    GcmKey::new(key)?.seal(nonce, aad, in_out)
}

/// One-shot: checks the tag and returns the plaintext.
pub fn gcm_open(key: &[u8], nonce: &[u8], aad: &[u8], ciphertext: &[u8], tag: &[u8]) -> Result<Vec<u8>, CoreError> {
    let mut out = vec![0u8; ciphertext.len()];
    GcmKey::new(key)?.open(nonce, aad, ciphertext, tag, &mut out)?;
    Ok(out)
}

/// The state both streaming directions share: CTR keystream and GHASH over AAD and ciphertext.
struct GcmCore {
    ctr: EncryptingKey,
    ecb: Aes,
    ghash: GHash,
    j0: [u8; 16],
    /// Blocks of keystream used so far (counter = 2 + blocks).
    blocks: u64,
    /// Keystream left over from a partial block, and how much of it is used.
    ks: [u8; 16],
    ks_pos: usize,
    /// Ciphertext waiting for a whole GHASH block.
    gbuf: [u8; 16],
    gbuf_len: usize,
    aad_len: u64,
    text_len: u64,
}

impl GcmCore {
    fn new(key: &[u8], nonce_bytes: &[u8], aad: &[u8]) -> Result<GcmCore, CoreError> {
        let lc_alg = match key.len() {
            16 => &AES_128,
            24 => &AES_192,
            32 => &AES_256,
            n => return Err(CoreError::KeyLength { algorithm: Algorithm::Aes256Gcm, got: n }),
        };
        let n = nonce(nonce_bytes)?;
        let ecb = Aes::new(key).ok_or(CoreError::Bug("AES key"))?;
        let mut h = [0u8; 16];
        ecb.encrypt_blocks(&mut h);
        let mut ghash = GHash::new(&h.into());
        ghash.update_padded(aad);
        let mut j0 = [0u8; 16];
        j0[..12].copy_from_slice(&n);
        j0[15] = 1;
        let ctr = EncryptingKey::ctr(UnboundCipherKey::new(lc_alg, key).map_err(|_| CoreError::Bug("AES key"))?)
            .map_err(|_| CoreError::Bug("AES-CTR key"))?;
        Ok(GcmCore {
            ctr,
            ecb,
            ghash,
            j0,
            blocks: 0,
            ks: [0; 16],
            ks_pos: 16,
            gbuf: [0; 16],
            gbuf_len: 0,
            aad_len: aad.len() as u64,
            text_len: 0,
        })
    }

    fn counter_block(&self) -> [u8; 16] {
        let mut cb = self.j0;
        let ctr = 2u32.wrapping_add(self.blocks as u32);
        cb[12..].copy_from_slice(&ctr.to_be_bytes());
        cb
    }

    /// XORs the keystream into `data` in place.
    fn apply_keystream(&mut self, data: &mut [u8]) -> Result<(), CoreError> {
        self.text_len += data.len() as u64;
        if self.text_len > MAX_BYTES {
            return Err(CoreError::malformed("GCM stream", "longer than one nonce may cover"));
        }
        let mut i = 0;
        while self.ks_pos < 16 && i < data.len() {
            data[i] ^= self.ks[self.ks_pos];
            self.ks_pos += 1;
            i += 1;
        }
        let rest = &mut data[i..];
        let whole = rest.len() / 16 * 16;
        if whole > 0 {
            let ctx = EncryptionContext::Iv128(FixedLength::from(self.counter_block()));
            self.ctr.less_safe_encrypt(&mut rest[..whole], ctx).map_err(|_| CoreError::Bug("AES-CTR"))?;
            self.blocks += (whole / 16) as u64;
        }
        let tail = &mut rest[whole..];
        if !tail.is_empty() {
            self.ks = self.counter_block();
            self.ecb.encrypt_blocks(&mut self.ks);
            self.blocks += 1;
            for (j, b) in tail.iter_mut().enumerate() {
                *b ^= self.ks[j];
            }
            self.ks_pos = tail.len();
        }
        Ok(())
    }

    fn hash_ciphertext(&mut self, ct: &[u8]) {
        let mut ct = ct;
        if self.gbuf_len > 0 {
            let n = (16 - self.gbuf_len).min(ct.len());
            self.gbuf[self.gbuf_len..self.gbuf_len + n].copy_from_slice(&ct[..n]);
            self.gbuf_len += n;
            ct = &ct[n..];
            if self.gbuf_len < 16 {
                return;
            }
            let block = self.gbuf;
            self.ghash.update_padded(&block);
            self.gbuf_len = 0;
        }
        let whole = ct.len() / 16 * 16;
        self.ghash.update_padded(&ct[..whole]);
        let tail = &ct[whole..];
        self.gbuf[..tail.len()].copy_from_slice(tail);
        self.gbuf_len = tail.len();
    }

    fn tag(mut self) -> [u8; 16] {
        let rest = self.gbuf;
        self.ghash.update_padded(&rest[..self.gbuf_len]);
        let mut lens = [0u8; 16];
        lens[..8].copy_from_slice(&(self.aad_len * 8).to_be_bytes());
        lens[8..].copy_from_slice(&(self.text_len * 8).to_be_bytes());
        self.ghash.update_padded(&lens);
        let s = self.ghash.finalize();
        let mut ekj0 = self.j0;
        self.ecb.encrypt_blocks(&mut ekj0);
        let mut tag = [0u8; 16];
        for (t, (a, b)) in tag.iter_mut().zip(s.iter().zip(ekj0.iter())) {
            *t = a ^ b;
        }
        tag
    }
}

/// Streaming AES-GCM encryption; `finish` appends the 16-byte tag unless it was asked to keep it apart.
pub struct GcmEncryptor {
    core: Option<GcmCore>,
    tag: Option<[u8; 16]>,
    append_tag: bool,
}

impl GcmEncryptor {
    /// Starts encryption under a 16, 24 or 32-byte key and a 12-byte nonce, authenticating `aad`.
    /// With `append_tag`, `finish` writes the tag after the ciphertext (OpenPGP, RFC 5116 style); without, it is
    /// kept for [`GcmEncryptor::tag`] (CMS AuthEnvelopedData carries it in its own field).
    pub fn new(key: &[u8], nonce: &[u8], aad: &[u8], append_tag: bool) -> Result<GcmEncryptor, CoreError> {
        Ok(GcmEncryptor { core: Some(GcmCore::new(key, nonce, aad)?), tag: None, append_tag })
    }

    /// The tag, once `finish` has run.
    pub fn tag(&self) -> Option<[u8; 16]> {
        self.tag
    }
}

impl Crypter for GcmEncryptor {
    fn update(&mut self, input: &[u8], out: &mut Vec<u8>) -> Result<(), CoreError> {
        let core = self.core.as_mut().ok_or(CoreError::Bug("GCM used after finish"))?;
        let start = out.len();
        out.extend_from_slice(input);
        core.apply_keystream(&mut out[start..])?;
        core.hash_ciphertext(&out[start..]);
        Ok(())
    }

    fn finish(&mut self, out: &mut Vec<u8>) -> Result<(), CoreError> {
        let core = self.core.take().ok_or(CoreError::Bug("GCM finished twice"))?;
        let tag = core.tag();
        if self.append_tag {
            out.extend_from_slice(&tag);
        }
        self.tag = Some(tag);
        Ok(())
    }
}

/// Streaming AES-GCM decryption. The tag is either given up front (CMS) or taken from the last 16 bytes of
/// the stream (held back as they arrive). Output is unauthenticated until `finish` returns `Ok`.
pub struct GcmDecryptor {
    core: Option<GcmCore>,
    expected: Option<[u8; 16]>,
    /// The last 16 bytes seen, when the tag trails the ciphertext.
    held: Vec<u8>,
}

impl GcmDecryptor {
    /// Starts decryption. `tag` is `Some` when it travels apart from the ciphertext, `None` when it is the
    /// last 16 bytes of the stream.
    pub fn new(key: &[u8], nonce: &[u8], aad: &[u8], tag: Option<&[u8]>) -> Result<GcmDecryptor, CoreError> {
        let expected = match tag {
            Some(t) => Some(<[u8; 16]>::try_from(t).map_err(|_| CoreError::malformed("GCM tag", "not 16 bytes"))?),
            None => None,
        };
        Ok(GcmDecryptor { core: Some(GcmCore::new(key, nonce, aad)?), expected, held: Vec::new() })
    }

    fn decrypt_into(core: &mut GcmCore, ct: &[u8], out: &mut Vec<u8>) -> Result<(), CoreError> {
        core.hash_ciphertext(ct);
        let start = out.len();
        out.extend_from_slice(ct);
        core.apply_keystream(&mut out[start..])
    }
}

impl Crypter for GcmDecryptor {
    fn update(&mut self, input: &[u8], out: &mut Vec<u8>) -> Result<(), CoreError> {
        let core = self.core.as_mut().ok_or(CoreError::Bug("GCM used after finish"))?;
        if self.expected.is_some() {
            return GcmDecryptor::decrypt_into(core, input, out);
        }
        // Keep the last 16 bytes back: they may be the tag.
        self.held.extend_from_slice(input);
        if self.held.len() > GCM_TAG_LEN {
            let ready = self.held.len() - GCM_TAG_LEN;
            let ct: Vec<u8> = self.held.drain(..ready).collect();
            GcmDecryptor::decrypt_into(core, &ct, out)?;
        }
        Ok(())
    }

    fn finish(&mut self, _out: &mut Vec<u8>) -> Result<(), CoreError> {
        let core = self.core.take().ok_or(CoreError::Bug("GCM finished twice"))?;
        let expected = match self.expected {
            Some(t) => t,
            None => <[u8; 16]>::try_from(&self.held[..]).map_err(|_| CoreError::DecryptionFailed)?,
        };
        let got = core.tag();
        if aws_lc_rs::constant_time::verify_slices_are_equal(&got, &expected).is_ok() {
            Ok(())
        } else {
            Err(CoreError::DecryptionFailed)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
    }

    /// The GCM specification's test case 4 (AES-128, 60-byte plaintext, 20-byte AAD).
    #[test]
    fn gcm_spec_test_case_4() {
        let key = hex("feffe9928665731c6d6a8f9467308308");
        let iv = hex("cafebabefacedbaddecaf888");
        let pt = hex(
            "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39",
        );
        let aad = hex("feedfacedeadbeeffeedfacedeadbeefabaddad2");
        let ct = hex(
            "42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091",
        );
        let tag = hex("5bc94fbc3221a5db94fae95ae7121a47");

        let mut buf = pt.clone();
        assert_eq!(gcm_seal(&key, &iv, &aad, &mut buf).unwrap().to_vec(), tag);
        assert_eq!(buf, ct);
        assert_eq!(gcm_open(&key, &iv, &aad, &buf, &tag).unwrap(), pt);

        let mut e = GcmEncryptor::new(&key, &iv, &aad, true).unwrap();
        let mut out = Vec::new();
        for piece in pt.chunks(7) {
            e.update(piece, &mut out).unwrap();
        }
        e.finish(&mut out).unwrap();
        assert_eq!(&out[..ct.len()], &ct[..]);
        assert_eq!(&out[ct.len()..], &tag[..]);
    }

    /// Streaming and one-shot agree at every length around block and chunk boundaries, both key sizes, and
    /// a flipped bit anywhere is caught by both.
    #[test]
    fn streaming_matches_one_shot() {
        for key_len in [16, 32] {
            let key: Vec<u8> = (0..key_len as u8).collect();
            let nonce = [7u8; 12];
            for len in [0usize, 1, 15, 16, 17, 31, 32, 33, 100, 4096, 5000] {
                let pt: Vec<u8> = (0..len).map(|i| (i * 13) as u8).collect();
                let mut one = pt.clone();
                let tag = gcm_seal(&key, &nonce, b"hdr", &mut one).unwrap();

                let mut e = GcmEncryptor::new(&key, &nonce, b"hdr", false).unwrap();
                let mut ct = Vec::new();
                for piece in pt.chunks(33) {
                    e.update(piece, &mut ct).unwrap();
                }
                e.finish(&mut ct).unwrap();
                assert_eq!(ct, one, "ciphertext, len {len}");
                assert_eq!(e.tag(), Some(tag), "tag, len {len}");

                let mut joined = ct.clone();
                joined.extend_from_slice(&tag);
                let mut d = GcmDecryptor::new(&key, &nonce, b"hdr", None).unwrap();
                let mut back = Vec::new();
                for piece in joined.chunks(10) {
                    d.update(piece, &mut back).unwrap();
                }
                d.finish(&mut back).unwrap();
                assert_eq!(back, pt);

                if len > 0 {
                    let mut bad = joined.clone();
                    bad[len / 2] ^= 0x80;
                    let mut d = GcmDecryptor::new(&key, &nonce, b"hdr", None).unwrap();
                    let mut sink = Vec::new();
                    d.update(&bad, &mut sink).unwrap();
                    assert!(matches!(d.finish(&mut sink), Err(CoreError::DecryptionFailed)));
                    assert!(gcm_open(&key, &nonce, b"hdr", &bad[..len], &bad[len..]).is_err());
                }
            }
        }
    }

    #[test]
    fn short_stream_without_tag_fails() {
        let mut d = GcmDecryptor::new(&[0; 16], &[0; 12], b"", None).unwrap();
        let mut out = Vec::new();
        d.update(&[1, 2, 3], &mut out).unwrap();
        assert!(matches!(d.finish(&mut out), Err(CoreError::DecryptionFailed)));
    }
}
