//! MIME for signed and encrypted mail: [`entity`] parses a message into a tree of byte ranges over the bytes
//! as received (via `mail-parser`); [`build`] writes header fields, transfer encodings and multiparts;
//! [`canon`] turns an entity into the 7-bit, CRLF form that RFC 3156 section 3 and RFC 8551 section 3.1
//! require before it is signed.

pub mod body;
pub mod build;
pub mod canon;
pub mod entity;

pub use entity::{Node, parse, parse_header};

/// Errors of the MIME layer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MimeError {
    /// Input that is not a well-formed message or MIME structure.
    #[error("malformed message: {0}")]
    Malformed(String),
    /// A message larger than [`entity::MAX_MESSAGE`].
    #[error("message of {0} bytes is larger than the {max} bytes accepted", max = entity::MAX_MESSAGE)]
    TooLarge(usize),
}
