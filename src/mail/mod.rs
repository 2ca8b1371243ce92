//! Whole RFC 5322 messages: PGP/MIME, S/MIME and PEM mail, header protection, the verification header.
//!
//! Empty until issue #6 lands; `sealpost mail ...` says "not implemented yet" and exits 2.
