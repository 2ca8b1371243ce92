//! The IMAP hook (issue #8, in progress): a proxy between an IMAP client and any IMAP server that answers
//! FETCH of encrypted or signed messages from the decrypted and verified message. What is here so far: the
//! pieces that do not depend on the session, each tested on its own:
//! [`section`] (the bytes of a `BODY[<section>]` of a message, RFC 3501 section 6.4.5) and [`fetch`]
//! (a server's FETCH response rewritten so that its content items come from the processed message, literal
//! lengths recomputed, `RFC822.SIZE` consistent) and [`structure`] (BODYSTRUCTURE, BODY and ENVELOPE of the
//! processed message). The session and the cache are to come.

pub mod fetch;
pub mod proxy;
pub mod section;
pub mod structure;
pub mod wire;

/// Errors of the IMAP hook.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ImapError {
    /// A response or command that is not IMAP, or not what was expected.
    #[error("malformed IMAP: {0}")]
    Malformed(String),
    /// A section that the message does not have.
    #[error("no such section: {0}")]
    NoSection(String),
    /// The message could not be parsed.
    #[error(transparent)]
    Mime(#[from] crate::mime::MimeError),
}
