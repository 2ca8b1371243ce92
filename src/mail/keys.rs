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

/// The addresses in the message's header fields `names` (e.g. From; To, Cc), normalised, sorted, once each.
pub fn addresses(raw: &[u8], names: &[&str]) -> Result<Vec<String>, super::MailError> {
    // Only the header is parsed: the body can be large and holds no addresses that count here.
    let end = raw.windows(4).position(|w| w == b"\r\n\r\n").map(|i| i + 4);
    let end = end.or_else(|| raw.windows(2).position(|w| w == b"\n\n").map(|i| i + 2));
    let raw = &raw[..end.unwrap_or(raw.len())];
    let root = crate::mime::parse(raw)?;
    let mut out = Vec::new();
    for name in names {
        for field in root.fields(raw, name) {
            let text = String::from_utf8_lossy(field).replace(['\r', '\n'], " ");
            out.extend(super::result_header::addresses(text.split_once(':').map(|(_, v)| v).unwrap_or("")));
        }
    }
    out.sort();
    out.dedup();
    Ok(out)
}

impl MailKeys {
    /// Adds the keystore's secret key for `addr` in `format` (an encrypted one needs `passphrase`). Returns
    /// false when the keystore has none.
    pub fn add_keystore_secret(
        &mut self,
        ks: &crate::keystore::Keystore,
        addr: &str,
        format: super::outgoing::Format,
        passphrase: Option<&[u8]>,
    ) -> Result<bool, super::MailError> {
        use super::outgoing::Format;
        match format {
            Format::Pgp => {
                let found = ks.pgp_secret_for(addr).map_err(|e| super::MailError::NoKey(e.to_string()))?;
                let Some(first) = found.first() else { return Ok(false) };
                let pw = passphrase.map(sequoia_openpgp::crypto::Password::from);
                let sk = SecretKeys::read(&[first.bytes()], pw)?;
                self.pgp_certs.extend(sk.certs().iter().cloned());
                self.pgp_secret = Some(sk);
            }
            Format::Smime | Format::Pem => {
                let found = ks.x509_secret_for(addr).map_err(|e| super::MailError::NoKey(e.to_string()))?;
                let Some((cert, secret)) = found.into_iter().next() else { return Ok(false) };
                let key = secret.rsa_key(passphrase).map_err(|e| super::MailError::NoKey(e.to_string()))?;
                self.x509_identities.push(X509Identity { cert: cert.inner().clone(), key });
            }
        }
        Ok(true)
    }

    /// Adds the keystore's certificates for `addr` in `format`; returns how many.
    pub fn add_keystore_certs(
        &mut self,
        ks: &crate::keystore::Keystore,
        addr: &str,
        format: super::outgoing::Format,
    ) -> Result<usize, super::MailError> {
        use super::outgoing::Format;
        let err = |e: crate::keystore::KeystoreError| super::MailError::NoKey(e.to_string());
        Ok(match format {
            Format::Pgp => {
                let c = ks.pgp_certs_for(addr).map_err(err)?;
                let n = c.len();
                self.pgp_certs.extend(c);
                n
            }
            Format::Smime | Format::Pem => {
                let c = ks.x509_certs_for(addr).map_err(err)?;
                let n = c.len();
                self.x509_certs.extend(c.into_iter().map(|c| c.inner().clone()));
                n
            }
        })
    }
}
