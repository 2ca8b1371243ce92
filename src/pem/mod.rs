//! Privacy-Enhanced Mail (RFC 1421-1424) over the core's primitives.
//!
//! Empty until issue #5 lands; `sealpost pem ...` says "not implemented yet" and exits 2.
