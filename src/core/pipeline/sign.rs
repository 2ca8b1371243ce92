//! Signing and verification as pass-through writers that hash what flows through them.

use std::io::{self, Write};
use std::sync::Arc;

use super::keys::{SigningKey, VerifyingKey};
use crate::core::digest::{Digest, HashAlgorithm, Hasher};
use crate::core::error::CoreError;
use crate::core::policy::{Policy, Usage};
use crate::core::verdict::{SignerResult, SignerStatus};

/// Passes bytes to an inner writer while hashing them with one or more hash functions (one per signature
/// to check, when signers used different hashes).
pub struct DigestWriter<W: Write> {
    inner: W,
    hashers: Vec<Hasher>,
}

impl<W: Write> DigestWriter<W> {
    /// Hashes with each of `algorithms` (duplicates are hashed once).
    pub fn new(inner: W, algorithms: &[HashAlgorithm]) -> DigestWriter<W> {
        let mut hashers: Vec<Hasher> = Vec::new();
        for &alg in algorithms {
            if !hashers.iter().any(|h| h.algorithm() == alg) {
                hashers.push(Hasher::new(alg));
            }
        }
        DigestWriter { inner, hashers }
    }

    /// Feeds bytes to the hashes only (a format's trailer that is signed but not part of the content).
    pub fn hash_only(&mut self, data: &[u8]) {
        for h in &mut self.hashers {
            h.update(data);
        }
    }

    /// Ends hashing; returns the inner writer and a digest per algorithm.
    pub fn finalize(self) -> (W, Vec<Digest>) {
        (self.inner, self.hashers.into_iter().map(Hasher::finish).collect())
    }
}

impl<W: Write> Write for DigestWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        for h in &mut self.hashers {
            h.update(&buf[..n]);
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// A finished signature.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Signature {
    /// The hash that was signed.
    pub hash: HashAlgorithm,
    /// The digest that was signed.
    pub digest: Digest,
    /// The signature value.
    pub value: Vec<u8>,
}

/// Passes content through to an inner writer and signs it at [`finalize`](SignWriter::finalize).
pub struct SignWriter<W: Write> {
    digest: DigestWriter<W>,
    hash: HashAlgorithm,
    key: Arc<dyn SigningKey>,
}

impl<W: Write> SignWriter<W> {
    /// Signs with `key` over `hash`, after checking both against `policy` (`named_hash`: the user chose the
    /// hash by name).
    pub fn new(
        inner: W,
        key: Arc<dyn SigningKey>,
        hash: HashAlgorithm,
        policy: &Policy,
        named_hash: bool,
    ) -> Result<SignWriter<W>, CoreError> {
        policy.check(hash.algorithm(), Usage::Sign, named_hash)?;
        policy.check_rsa(key.bits(), Usage::Sign)?;
        Ok(SignWriter { digest: DigestWriter::new(inner, &[hash]), hash, key })
    }

    /// Hashes `trailer` without writing it (OpenPGP's signature trailer, CMS signed attributes are built
    /// by the front end from the content digest instead).
    pub fn hash_only(&mut self, trailer: &[u8]) {
        self.digest.hash_only(trailer);
    }

    /// Signs; returns the inner writer and the signature.
    pub fn finalize(self) -> Result<(W, Signature), CoreError> {
        let (inner, digests) = self.digest.finalize();
        let digest = *digests.first().ok_or(CoreError::Bug("no digest"))?;
        let value = self.key.sign_digest(self.hash, digest.as_bytes())?;
        Ok((inner, Signature { hash: self.hash, digest, value }))
    }
}

impl<W: Write> Write for SignWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.digest.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.digest.flush()
    }
}

/// Checks one signature and returns the signer's entry for the verdict, weak labels included. `key` is
/// `None` when no key for the signer is known.
pub fn verify_signature(
    policy: &Policy,
    id: &str,
    key: Option<&dyn VerifyingKey>,
    digest: &Digest,
    signature: &[u8],
) -> SignerResult {
    let hash = digest.algorithm();
    let mut result = SignerResult::new(id, SignerStatus::Error);
    result.hash = Some(hash.name().to_string());
    let Some(key) = key else {
        result.status = SignerStatus::UnknownKey;
        result.detail = Some("no certificate or key for this signer".into());
        return result;
    };
    result.key_algorithm = Some(key.algorithm().name().to_string());
    result.key_bits = Some(key.bits());
    let accept = policy
        .check(hash.algorithm(), Usage::Verify, false)
        .and_then(|a| Ok((a, policy.check_rsa(key.bits(), Usage::Verify)?)));
    match accept {
        Ok((a, b)) => {
            result.weak = a.weak;
            result.weak.extend(b.weak);
        }
        Err(err) => {
            result.detail = Some(err.to_string());
            return result;
        }
    }
    match key.verify_digest(hash, digest.as_bytes(), signature) {
        Ok(()) => result.status = SignerStatus::Good,
        Err(CoreError::BadSignature) => {
            result.status = SignerStatus::Bad;
            result.detail = Some("the signature does not match the content".into());
        }
        Err(err) => result.detail = Some(err.to_string()),
    }
    result
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, OnceLock};

    use super::*;
    use crate::core::algorithm::Algorithm;
    use crate::core::pipeline::keys::{RsaSigner, RsaVerifier};
    use crate::core::policy::Weakness;
    use crate::core::rsa::{RsaPrivateKey, SignaturePadding};

    fn key() -> Arc<RsaPrivateKey> {
        static KEY: OnceLock<Arc<RsaPrivateKey>> = OnceLock::new();
        Arc::clone(KEY.get_or_init(|| Arc::new(RsaPrivateKey::generate(2048).unwrap())))
    }

    fn signer() -> Arc<dyn SigningKey> {
        Arc::new(RsaSigner { key: key(), padding: SignaturePadding::Pkcs1v15 })
    }

    fn verifier() -> RsaVerifier {
        RsaVerifier { key: Arc::new(key().public().clone()), padding: SignaturePadding::Pkcs1v15 }
    }

    #[test]
    fn sign_writer_passes_content_through_and_signs_it() {
        let mut w = SignWriter::new(Vec::new(), signer(), HashAlgorithm::Sha256, &Policy::default(), false).unwrap();
        for piece in [&b"hello "[..], b"", b"world"] {
            w.write_all(piece).unwrap();
        }
        let (out, sig) = w.finalize().unwrap();
        assert_eq!(out, b"hello world");
        assert_eq!(sig.digest, crate::core::digest::digest(HashAlgorithm::Sha256, b"hello world"));
        let mut check = DigestWriter::new(std::io::sink(), &[HashAlgorithm::Sha256, HashAlgorithm::Sha256]);
        check.write_all(b"hello world").unwrap();
        let (_, digests) = check.finalize();
        assert_eq!(digests.len(), 1, "duplicate hashes are computed once");
        let v = verifier();
        let good = verify_signature(&Policy::default(), "a", Some(&v), &digests[0], &sig.value);
        assert_eq!(good.status, SignerStatus::Good);
        assert!(good.weak.is_empty());
        let mut bad_value = sig.value.clone();
        bad_value[0] ^= 1;
        assert_eq!(
            verify_signature(&Policy::default(), "a", Some(&v), &digests[0], &bad_value).status,
            SignerStatus::Bad
        );
        let unknown = verify_signature(&Policy::default(), "a", None, &digests[0], &sig.value);
        assert_eq!(unknown.status, SignerStatus::UnknownKey);
    }

    #[test]
    fn trailer_bytes_are_signed_but_not_written() {
        let mut w = SignWriter::new(Vec::new(), signer(), HashAlgorithm::Sha512, &Policy::default(), false).unwrap();
        w.write_all(b"content").unwrap();
        w.hash_only(b"trailer");
        let (out, sig) = w.finalize().unwrap();
        assert_eq!(out, b"content");
        assert_eq!(sig.digest, crate::core::digest::digest(HashAlgorithm::Sha512, b"contenttrailer"));
    }

    #[test]
    fn policy_governs_hashes_both_ways() {
        // Producing: SHA-1 only by name, MD5 not even by name under the default policy.
        assert!(SignWriter::new(Vec::new(), signer(), HashAlgorithm::Sha1, &Policy::default(), false).is_err());
        assert!(SignWriter::new(Vec::new(), signer(), HashAlgorithm::Sha1, &Policy::default(), true).is_ok());
        assert!(SignWriter::new(Vec::new(), signer(), HashAlgorithm::Md5, &Policy::default(), true).is_err());
        let lax = Policy { allow_broken: true, ..Policy::default() };
        let mut w = SignWriter::new(Vec::new(), signer(), HashAlgorithm::Md5, &lax, true).unwrap();
        w.write_all(b"old").unwrap();
        let (_, sig) = w.finalize().unwrap();
        // Consuming: accepted, labelled weak.
        let r = verify_signature(&Policy::default(), "a", Some(&verifier()), &sig.digest, &sig.value);
        assert_eq!(r.status, SignerStatus::Good);
        assert_eq!(r.weak, vec![Weakness::Algorithm(Algorithm::Md5)]);
    }
}
