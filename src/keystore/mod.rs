//! Certificates and secret keys, looked up by e-mail address.
//!
//! Empty until issue #6 lands; `sealpost key import|list|export` say "not implemented yet" and exit 2.
