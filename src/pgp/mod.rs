//! OpenPGP front end over `sequoia-openpgp`, wired to the core's pipelines, policy, verdict and RSA.
//!
//! Empty until issue #3 lands; `sealpost pgp ...` says "not implemented yet" and exits 2.
