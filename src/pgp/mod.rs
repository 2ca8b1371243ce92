//! OpenPGP front end (RFC 9580, RFC 4880, PGP 2.x), over `sequoia-openpgp` for packets, keys and message
//! structure, with the bulk work and every RSA, DSA and ElGamal private-key operation in [`crate::core`].
//!
//! Who does what:
//! - sequoia parses and serializes packets, certificates, armor, signatures and the inner message grammar
//!   (one-pass signatures, literal data, compressed data), and checks signatures over what it hashes;
//! - the core signs and decrypts with RSA, signs with DSA and decrypts ElGamal ([`crypto`] adapts
//!   `core::rsa`, `core::dsa` and `core::elgamal` to sequoia's `Signer` and `Decryptor`; ElGamal PKESKs are
//!   encrypted by the core in [`encrypt`], which sequoia's RustCrypto back end cannot do), and does the symmetric layer of SEIPD v1 and SED packets ([`seipd`]): CFB encryption with
//!   the core's ciphers (AES-NI AES, our own DES/CAST5/IDEA) and the MDC, which is where the time goes;
//! - plaintext is collected in a [`crate::core::pipeline::Spool`] and released only after the MDC and the
//!   signatures have been checked.
//!
//! Legacy formats: SED packets (tag 9, no MDC; PGP 2.x to 6.x) are decrypted only with
//! `allow_unauthenticated`, and v3 RSA keys (PGP 2.x, 6.x), which sequoia no longer parses, are read by
//! [`v3`].

pub mod crypto;
pub mod decrypt;
pub mod encrypt;
pub mod keys;
pub mod literal;
pub mod policy;
pub mod seipd;
pub mod sign;
pub mod v3;
pub mod verify;

use crate::core::CoreError;

/// Errors of the OpenPGP front end.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PgpError {
    /// Input that is not well-formed OpenPGP.
    #[error("malformed OpenPGP data: {0}")]
    Malformed(String),
    /// A key file that holds no usable key for the operation.
    #[error("{0}")]
    NoUsableKey(String),
    /// A secret key is protected and the passphrase is missing or wrong.
    #[error("{0}")]
    Passphrase(String),
    /// No key could decrypt the message, or it was changed. [`decrypt::decrypt`] gives this one error, with
    /// one text, for a missing or wrong key, a session key that fails a check (padding, length, algorithm,
    /// checksum) and a failed MDC or AEAD tag: telling them apart would be a padding oracle (Bleichenbacher,
    /// Marvin; SECURITY-CASES G1), whatever the core's implicit rejection does.
    #[error("no key could decrypt the message, or it was changed: {0}")]
    CannotDecrypt(String),
    /// The message failed its integrity check (MDC or AEAD tag) or was modified. Inside decryption it
    /// becomes [`PgpError::CannotDecrypt`] before it reaches the caller.
    #[error("integrity check failed: {0}")]
    Integrity(String),
    /// The message has no integrity protection and unauthenticated decryption was not allowed.
    #[error(
        "the message is encrypted without integrity protection (a SED packet, no MDC) and could have been \
         modified; pass --allow-unauthenticated to decrypt it anyway"
    )]
    Unauthenticated,
    /// Something sequoia does not support, or we do not.
    #[error("unsupported: {0}")]
    Unsupported(String),
    /// An error of the core (policy refusal, budget, I/O).
    #[error(transparent)]
    Core(#[from] CoreError),
}

impl PgpError {
    /// True for cryptographic verdicts and refusals (exit status 1), false for malformed input and I/O
    /// (exit status 2).
    pub fn is_verdict(&self) -> bool {
        match self {
            PgpError::NoUsableKey(_)
            | PgpError::Passphrase(_)
            | PgpError::CannotDecrypt(_)
            | PgpError::Integrity(_)
            | PgpError::Unauthenticated => true,
            PgpError::Core(c) => c.is_verdict(),
            PgpError::Malformed(_) | PgpError::Unsupported(_) => false,
        }
    }

    /// A copy of this error's kind and message (errors travel through sequoia by reference).
    pub fn same_kind(&self) -> PgpError {
        match self {
            PgpError::Malformed(m) => PgpError::Malformed(m.clone()),
            PgpError::NoUsableKey(m) => PgpError::NoUsableKey(m.clone()),
            PgpError::Passphrase(m) => PgpError::Passphrase(m.clone()),
            PgpError::CannotDecrypt(m) => PgpError::CannotDecrypt(m.clone()),
            PgpError::Integrity(m) => PgpError::Integrity(m.clone()),
            PgpError::Unauthenticated => PgpError::Unauthenticated,
            PgpError::Unsupported(m) => PgpError::Unsupported(m.clone()),
            PgpError::Core(c) if c.is_verdict() => PgpError::Integrity(c.to_string()),
            PgpError::Core(c) => PgpError::Malformed(c.to_string()),
        }
    }

    /// Wraps a sequoia error as malformed input, keeping its message.
    pub fn malformed(err: impl std::fmt::Display) -> PgpError {
        PgpError::Malformed(err.to_string())
    }
}

impl From<std::io::Error> for PgpError {
    fn from(err: std::io::Error) -> PgpError {
        // Errors raised by our own layers travel through io::Error; unwrap them again.
        match err.get_ref().and_then(|e| e.downcast_ref::<CoreError>()) {
            Some(_) => match err.into_inner().map(|e| e.downcast::<CoreError>()) {
                Some(Ok(core)) => PgpError::Core(*core),
                _ => PgpError::Malformed("I/O error".into()),
            },
            None => match err.get_ref().and_then(|e| e.downcast_ref::<PgpError>()) {
                Some(_) => match err.into_inner().map(|e| e.downcast::<PgpError>()) {
                    Some(Ok(p)) => *p,
                    _ => PgpError::Malformed("I/O error".into()),
                },
                None if is_authentication_failure(&err) => PgpError::Integrity(MODIFIED.into()),
                None => PgpError::Core(CoreError::Io(err)),
            },
        }
    }
}

/// Converts sequoia's `anyhow` errors, classifying them as well as their type allows.
pub(crate) fn from_sequoia(err: anyhow::Error) -> PgpError {
    if let Some(inner) = err.downcast_ref::<std::io::Error>().and_then(|e| e.get_ref()) {
        if let Some(p) = inner.downcast_ref::<PgpError>() {
            return p.same_kind();
        }
        if let Some(c) = inner.downcast_ref::<CoreError>() {
            return PgpError::Malformed(c.to_string());
        }
    }
    match err.downcast::<PgpError>() {
        Ok(p) => p,
        Err(err) => match err.downcast::<CoreError>() {
            Ok(c) => PgpError::Core(c),
            Err(err) => match err.downcast_ref::<sequoia_openpgp::Error>() {
                Some(sequoia_openpgp::Error::PolicyViolation(..)) => PgpError::Unsupported(format!("{err:#}")),
                _ if err.chain().any(is_authentication_failure) => PgpError::Integrity(MODIFIED.into()),
                _ => PgpError::Malformed(format!("{err:#}")),
            },
        },
    }
}

/// What a failed MDC or AEAD tag found by sequoia says.
const MODIFIED: &str = "the message was modified (an MDC or AEAD tag does not match)";

/// True when `err`, or an error it wraps, says that encrypted data failed its authentication: sequoia's
/// `ManipulatedMessage` (a SEIPD v2 message cut short, a bad EAX tag) or the RustCrypto `aead` error its OCB
/// and GCM back ends return when a chunk's tag does not match. Both reach us inside `io::Error`s that wrap
/// `anyhow` errors, whose inner types cannot be downcast to (anyhow boxes them in a private type), so they
/// are also recognised by their text: `aead::Error` is the whole `Display` of `aead` 0.5's error.
fn is_authentication_failure(err: &(dyn std::error::Error + 'static)) -> bool {
    let manipulated = sequoia_openpgp::Error::ManipulatedMessage.to_string();
    let mut next = Some(err);
    while let Some(e) = next {
        if matches!(e.downcast_ref::<sequoia_openpgp::Error>(), Some(sequoia_openpgp::Error::ManipulatedMessage)) {
            return true;
        }
        let text = e.to_string();
        if text == "aead::Error" || text == manipulated {
            return true;
        }
        if let Some(inner) = e.downcast_ref::<std::io::Error>().and_then(std::io::Error::get_ref)
            && is_authentication_failure(inner)
        {
            return true;
        }
        next = e.source();
    }
    false
}
