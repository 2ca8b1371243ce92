//! The IMAP hook (issue #8): a proxy between an IMAP client and any IMAP server that answers FETCH of
//! encrypted or signed messages from the decrypted and verified message, and passes everything else as it
//! came. [`proxy`] runs the sessions; [`wire`] reads lines and literals; [`state`] follows the session
//! (login, selected mailbox, FETCH commands in flight); [`response`] holds FETCH responses; [`fetch`]
//! answers their items from the opened message, with [`section`] (the bytes of a `BODY[<section>]`, RFC
//! 3501 section 6.4.5) and [`structure`] (BODYSTRUCTURE, BODY and ENVELOPE).

pub mod fetch;
pub mod proxy;
pub mod response;
pub mod section;
pub mod state;
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
