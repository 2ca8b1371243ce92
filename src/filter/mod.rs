//! The SMTP, IMAP and POP3 hooks and the pipe filter.
//!
//! Empty until issues #7, #8 and #11 land; `sealpost filter ...` says "not implemented yet" and exits 2.
