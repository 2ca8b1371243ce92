//! The format-independent pipelines: sign, encrypt, compress, and their inverses, as streaming
//! `io::Write`/`io::Read` adapters that stack like Sequoia's writer stack, each ended by an explicit
//! `finalize` so that no error is lost on drop.
//!
//! Producing a message is a stack such as
//! `SignWriter -> CompressWriter -> CipherWriter -> output`: plaintext goes in at the top, each layer passes
//! its output down. Consuming is the mirror image, `CipherWriter(decrypt) -> DecompressWriter -> DigestWriter
//! -> Spool`, where the [`Spool`] holds the plaintext back until the integrity check and the signature
//! verdict allow it out. Front ends put their framing (packets, DER, RFC 1421 headers) between the layers;
//! they do not re-implement the layers.
//!
//! Key operations go through the small traits of [`keys`], so a front end never touches RSA directly.

mod cipher_io;
pub mod keys;
mod sign;
mod spool;

pub use cipher_io::{CipherReader, CipherWriter};
pub use keys::{KeyTransport, RsaKeyTransport, RsaSigner, RsaVerifier, SessionKeyUnwrapper, SigningKey, VerifyingKey};
pub use sign::{DigestWriter, SignWriter, Signature, verify_signature};
pub use spool::Spool;

pub use super::compress::{CompressWriter, DecompressReader, DecompressWriter};
