//! MIME parsing, building and canonicalisation for signed and encrypted mail.
//!
//! Empty until issue #6 lands.
