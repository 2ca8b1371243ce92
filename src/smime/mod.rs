//! S/MIME (CMS) front end over `cms` and `x509-cert`, wired to the core.
//!
//! Empty until issue #4 lands; `sealpost smime ...` says "not implemented yet" and exits 2.
