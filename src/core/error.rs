//! The core's error type.
//!
//! Variants are grouped the way the CLI maps them to exit codes (CONTRACT.md): bad input and I/O are exit 2,
//! cryptographic failures and policy refusals are exit 1, and [`CoreError::Bug`] is kept apart from both so
//! that an internal inconsistency is never reported as an attack or as the user's mistake.

use std::io;

use super::algorithm::Algorithm;

/// Everything that can go wrong in the crypto core.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CoreError {
    /// A key of the wrong length for its algorithm.
    #[error("{algorithm}: a key of {got} bytes is the wrong length")]
    KeyLength {
        /// The algorithm the key was for.
        algorithm: Algorithm,
        /// The length that was given.
        got: usize,
    },
    /// An IV or nonce of the wrong length.
    #[error("{algorithm}: an IV of {got} bytes is the wrong length (need {want})")]
    IvLength {
        /// The algorithm the IV was for.
        algorithm: Algorithm,
        /// The length that was given.
        got: usize,
        /// The length the algorithm needs.
        want: usize,
    },
    /// Input that cannot be what it claims to be: truncated ciphertext, bad padding framing, a malformed key.
    #[error("malformed {what}: {detail}")]
    Malformed {
        /// What was being read ("RSA private key", "CBC ciphertext", ...).
        what: &'static str,
        /// What is wrong with it.
        detail: String,
    },
    /// An algorithm the core does not implement.
    #[error("unsupported algorithm: {0}")]
    Unsupported(String),
    /// The policy refuses this use of an algorithm.
    #[error("policy refuses {algorithm} for {usage}: {reason}")]
    PolicyRefused {
        /// The algorithm refused.
        algorithm: String,
        /// What it was to be used for.
        usage: &'static str,
        /// Why.
        reason: String,
    },
    /// A signature that does not verify.
    #[error("bad signature")]
    BadSignature,
    /// Decryption failed: wrong key, bad padding, or an integrity check (tag, MDC) that failed. One variant
    /// for all of these on purpose, so callers cannot build a padding oracle by accident.
    #[error("decryption failed")]
    DecryptionFailed,
    /// A decompression bomb or an over-long output: the shared budget is exhausted.
    #[error("decompression budget exceeded: {0}")]
    BudgetExceeded(String),
    /// An I/O error from the underlying reader or writer.
    #[error("I/O error: {0}")]
    Io(#[from] io::Error),
    /// The backing library reported a failure it should not have; this is a bug, please report it.
    #[error("internal error in {0} (this is a bug, please report it)")]
    Bug(&'static str),
}

impl CoreError {
    /// Shorthand for [`CoreError::Malformed`].
    pub fn malformed(what: &'static str, detail: impl Into<String>) -> CoreError {
        CoreError::Malformed { what, detail: detail.into() }
    }

    /// A policy refusal with what it concerns (a recipient, a key) added to its reason; other errors as
    /// they are.
    pub fn concerning(self, what: impl std::fmt::Display) -> CoreError {
        match self {
            CoreError::PolicyRefused { algorithm, usage, reason } => {
                CoreError::PolicyRefused { algorithm, usage, reason: format!("{reason} ({what})") }
            }
            other => other,
        }
    }

    /// True for failures that are a cryptographic verdict or a policy refusal (exit status 1), false for bad
    /// input, I/O and bugs (exit status 2).
    pub fn is_verdict(&self) -> bool {
        matches!(self, CoreError::PolicyRefused { .. } | CoreError::BadSignature | CoreError::DecryptionFailed)
    }
}

impl From<CoreError> for io::Error {
    fn from(err: CoreError) -> io::Error {
        match err {
            CoreError::Io(inner) => inner,
            other => io::Error::other(other),
        }
    }
}
