//! The keys and certificates a mail operation may use, whichever format it turns out to need: given on the
//! command line, or looked up in the keystore by the caller.

use sequoia_openpgp::Cert;

use crate::core::rsa::RsaPrivateKey;
use crate::pgp::keys::SecretKeys;

/// An X.509 certificate with its private key (S/MIME signing and decryption, PEM).
pub struct X509Identity {
    /// The certificate.
    pub cert: x509_cert::Certificate,
    /// Its private key.
    pub key: RsaPrivateKey,
}

/// What a mail operation may use.
#[derive(Default)]
pub struct MailKeys {
    /// OpenPGP secret keys (signing, decryption).
    pub pgp_secret: Option<SecretKeys>,
    /// OpenPGP certificates (recipients; signers to verify).
    pub pgp_certs: Vec<Cert>,
    /// Our X.509 identities (S/MIME signing and decryption, PEM signing and decryption).
    pub x509_identities: Vec<X509Identity>,
    /// X.509 certificates (recipients; signers and intermediates to verify).
    pub x509_certs: Vec<x509_cert::Certificate>,
    /// Trust anchors for S/MIME and PEM certificate paths.
    pub anchors: Vec<x509_cert::Certificate>,
}

impl std::fmt::Debug for MailKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MailKeys")
            .field("pgp_secret", &self.pgp_secret.is_some())
            .field("pgp_certs", &self.pgp_certs.len())
            .field("x509_identities", &self.x509_identities.len())
            .field("x509_certs", &self.x509_certs.len())
            .field("anchors", &self.anchors.len())
            .finish()
    }
}
