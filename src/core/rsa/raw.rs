//! The raw RSA private-key operation, `c^d mod n` without padding, in AWS-LC: for the session-key paths,
//! which decode PKCS #1 v1.5 padding themselves without data-dependent branches (implicit rejection,
//! `core::eme`).
//!
//! Why `unsafe`: aws-lc-rs offers RSA decryption only together with its own padding check, whose success or
//! failure the caller would then branch on; the raw operation is reachable only through `aws-lc-sys`.
//! Measured on RSA-3072 (`sealpost pgp decrypt` of a 1 KB message, `perf stat -r 20`): 8.5 ms when
//! RustCrypto's `crypto-bigint` did this operation (about 3 ms of it) and AWS-LC parsed the key twice up
//! front; 4.6 ms with this, the AWS-LC forms made on first use, and AWS-LC's jitter entropy collector off
//! (`.cargo/config.toml`). AWS-LC blinds the operation and checks its result with the public exponent, as
//! it does for its own padded decryption.

use std::os::raw::c_int;
use std::ptr::NonNull;

use aws_lc_sys as sys;
use zeroize::Zeroizing;

/// An AWS-LC `RSA` object holding a private key.
pub struct RawRsa(NonNull<sys::RSA>);

// SAFETY: an AWS-LC `RSA` object may be shared between threads: its private-key operations take the key's
// own lock for the state they initialise lazily (Montgomery contexts, blinding), as for aws-lc-rs's
// `RsaKeyPair`, which is `Send + Sync` over the same object. `RawRsa` owns its reference exclusively.
#[allow(unsafe_code)]
unsafe impl Send for RawRsa {}
// SAFETY: as above; `&RawRsa` only allows the thread-safe private operation and `RSA_size`.
#[allow(unsafe_code)]
unsafe impl Sync for RawRsa {}

impl RawRsa {
    /// Parses a PKCS #1 `RSAPrivateKey` (DER); `None` when AWS-LC refuses it (it checks the key).
    pub fn from_pkcs1_der(der: &[u8]) -> Option<RawRsa> {
        // SAFETY: `der` is valid for `der.len()` bytes for the duration of the call; AWS-LC copies what it
        // keeps and returns a new object we own, or NULL.
        #[allow(unsafe_code)]
        let ptr = unsafe { sys::RSA_private_key_from_bytes(der.as_ptr(), der.len()) };
        let key = NonNull::new(ptr).map(RawRsa);
        if key.is_none() {
            clear_errors();
        }
        key
    }

    /// Modulus size in bytes.
    pub fn size(&self) -> usize {
        // SAFETY: `self.0` is a live `RSA` object owned by `self`.
        #[allow(unsafe_code)]
        let size = unsafe { sys::RSA_size(self.0.as_ptr()) };
        size as usize
    }

    /// `input^d mod n`, left-padded to the modulus size. `None` when `input` is not exactly the modulus size
    /// or not below the modulus.
    pub fn private(&self, input: &[u8]) -> Option<Zeroizing<Vec<u8>>> {
        let k = self.size();
        if input.len() != k {
            return None;
        }
        let mut out = Zeroizing::new(vec![0u8; k]);
        // SAFETY: `input` is valid for `k` bytes; `out` has room for `k` = `RSA_size` bytes, the most
        // `RSA_NO_PADDING` writes; `self.0` is live, and AWS-LC's private operation is thread-safe.
        #[allow(unsafe_code)]
        let n = unsafe {
            sys::RSA_private_decrypt(k, input.as_ptr(), out.as_mut_ptr(), self.0.as_ptr(), sys::RSA_NO_PADDING as c_int)
        };
        if usize::try_from(n).ok() != Some(k) {
            clear_errors();
            return None;
        }
        Some(out)
    }
}

impl Drop for RawRsa {
    fn drop(&mut self) {
        // SAFETY: `self.0` came from `RSA_private_key_from_bytes`, is owned by `self`, and is freed once.
        // AWS-LC zeroes the key's numbers when it frees them.
        #[allow(unsafe_code)]
        unsafe {
            sys::RSA_free(self.0.as_ptr())
        }
    }
}

/// Empties AWS-LC's per-thread error queue after a failure we report our own way.
fn clear_errors() {
    // SAFETY: no arguments; touches only the calling thread's error queue.
    #[allow(unsafe_code)]
    unsafe {
        sys::ERR_clear_error()
    }
}
