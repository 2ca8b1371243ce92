//! The POP3 hook (issue #11): a proxy between a POP3 client and any POP3 server that answers RETR and TOP
//! of encrypted or signed messages from the decrypted and verified message, with LIST and STAT sizes to
//! match, and passes everything else as it came. [`proxy`] runs the sessions; [`wire`] knows which replies
//! are multi-line and how they are dot-stuffed. Opening and the cache are the IMAP hook's
//! ([`crate::filter::opened`]).

pub mod proxy;
pub mod wire;
