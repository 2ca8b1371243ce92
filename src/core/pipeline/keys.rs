//! The key traits every front end signs, verifies and wraps session keys through, and their RSA
//! implementations over [`crate::core::rsa`].

use std::sync::Arc;

use zeroize::Zeroizing;

use crate::core::algorithm::Algorithm;
use crate::core::digest::HashAlgorithm;
use crate::core::error::CoreError;
use crate::core::rsa::{EncryptionPadding, RsaPrivateKey, RsaPublicKey, SignaturePadding};

/// Something that signs digests.
pub trait SigningKey: Send + Sync {
    /// Signs `digest`, which is the output of `hash`.
    fn sign_digest(&self, hash: HashAlgorithm, digest: &[u8]) -> Result<Vec<u8>, CoreError>;
    /// The public-key algorithm (for the policy and the verdict).
    fn algorithm(&self) -> Algorithm;
    /// Key size in bits.
    fn bits(&self) -> usize;
}

/// Something that checks signatures over digests.
pub trait VerifyingKey: Send + Sync {
    /// Checks `signature` over `digest`; [`CoreError::BadSignature`] when it does not verify.
    fn verify_digest(&self, hash: HashAlgorithm, digest: &[u8], signature: &[u8]) -> Result<(), CoreError>;
    /// The public-key algorithm.
    fn algorithm(&self) -> Algorithm;
    /// Key size in bits.
    fn bits(&self) -> usize;
}

/// Encrypts session keys to a recipient.
pub trait KeyTransport: Send + Sync {
    /// Wraps `session_key` for the recipient.
    fn wrap(&self, session_key: &[u8]) -> Result<Vec<u8>, CoreError>;
    /// The algorithm (`rsa`, `rsa-oaep`).
    fn algorithm(&self) -> Algorithm;
    /// Key size in bits.
    fn bits(&self) -> usize;
}

/// Decrypts session keys addressed to us.
pub trait SessionKeyUnwrapper: Send + Sync {
    /// Unwraps a session key of `expected_len` bytes. With PKCS #1 v1.5 a wrong key or bad padding yields a
    /// random key, not an error (implicit rejection): the caller's integrity check fails later instead.
    fn unwrap_key(&self, wrapped: &[u8], expected_len: usize) -> Result<Zeroizing<Vec<u8>>, CoreError>;
}

/// An RSA private key as a [`SigningKey`] with a fixed padding.
#[derive(Clone, Debug)]
pub struct RsaSigner {
    /// The key.
    pub key: Arc<RsaPrivateKey>,
    /// PKCS #1 v1.5 or PSS.
    pub padding: SignaturePadding,
}

impl SigningKey for RsaSigner {
    fn sign_digest(&self, hash: HashAlgorithm, digest: &[u8]) -> Result<Vec<u8>, CoreError> {
        self.key.sign(self.padding, hash, digest)
    }

    fn algorithm(&self) -> Algorithm {
        match self.padding {
            SignaturePadding::Pkcs1v15 => Algorithm::Rsa,
            SignaturePadding::Pss => Algorithm::RsaPss,
        }
    }

    fn bits(&self) -> usize {
        self.key.bits()
    }
}

/// An RSA public key as a [`VerifyingKey`] with a fixed padding.
#[derive(Clone, Debug)]
pub struct RsaVerifier {
    /// The key.
    pub key: Arc<RsaPublicKey>,
    /// PKCS #1 v1.5 or PSS.
    pub padding: SignaturePadding,
}

impl VerifyingKey for RsaVerifier {
    fn verify_digest(&self, hash: HashAlgorithm, digest: &[u8], signature: &[u8]) -> Result<(), CoreError> {
        self.key.verify(self.padding, hash, digest, signature)
    }

    fn algorithm(&self) -> Algorithm {
        match self.padding {
            SignaturePadding::Pkcs1v15 => Algorithm::Rsa,
            SignaturePadding::Pss => Algorithm::RsaPss,
        }
    }

    fn bits(&self) -> usize {
        self.key.bits()
    }
}

/// RSA session-key transport, either direction: wrap with the public key, unwrap with the private key.
#[derive(Clone, Debug)]
pub struct RsaKeyTransport {
    /// The recipient's public key.
    pub public: Arc<RsaPublicKey>,
    /// The private key, when we are the recipient.
    pub private: Option<Arc<RsaPrivateKey>>,
    /// PKCS #1 v1.5 or OAEP.
    pub padding: EncryptionPadding,
}

impl RsaKeyTransport {
    /// For sending to `public`.
    pub fn to(public: Arc<RsaPublicKey>, padding: EncryptionPadding) -> RsaKeyTransport {
        RsaKeyTransport { public, private: None, padding }
    }

    /// For receiving with `private`.
    pub fn with_private(private: Arc<RsaPrivateKey>, padding: EncryptionPadding) -> RsaKeyTransport {
        RsaKeyTransport { public: Arc::new(private.public().clone()), private: Some(private), padding }
    }
}

impl KeyTransport for RsaKeyTransport {
    fn wrap(&self, session_key: &[u8]) -> Result<Vec<u8>, CoreError> {
        self.public.encrypt(self.padding, session_key)
    }

    fn algorithm(&self) -> Algorithm {
        match self.padding {
            EncryptionPadding::Pkcs1v15 => Algorithm::Rsa,
            EncryptionPadding::Oaep(_) => Algorithm::RsaOaep,
        }
    }

    fn bits(&self) -> usize {
        self.public.bits()
    }
}

impl SessionKeyUnwrapper for RsaKeyTransport {
    fn unwrap_key(&self, wrapped: &[u8], expected_len: usize) -> Result<Zeroizing<Vec<u8>>, CoreError> {
        let key = self.private.as_ref().ok_or(CoreError::Bug("unwrap without a private key"))?;
        match self.padding {
            EncryptionPadding::Pkcs1v15 => key.decrypt_session_key(wrapped, expected_len),
            // OAEP's decoding is itself free of a padding oracle in AWS-LC; a wrong length is still an error.
            EncryptionPadding::Oaep(_) => {
                let k = key.decrypt(self.padding, wrapped)?;
                if k.len() == expected_len { Ok(k) } else { Err(CoreError::DecryptionFailed) }
            }
        }
    }
}
