//! Outgoing mail in any format: signing, and encrypting (signed or not) for recipients, with the keys in
//! [`MailKeys`]. What the command line's `mail sign|encrypt|sign-encrypt` and the filters call.

use super::keys::MailKeys;
use super::{MailError, pem_mail, pgp_mime, smime_mime};
use crate::core::policy::Policy;
use crate::core::rand::Rng;

/// A mail security format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// PGP/MIME (RFC 3156).
    Pgp,
    /// S/MIME (RFC 8551).
    Smime,
    /// Privacy-Enhanced Mail (RFC 1421) in a text body.
    Pem,
}

impl Format {
    /// As written in configuration and output.
    pub fn name(self) -> &'static str {
        match self {
            Format::Pgp => "pgp",
            Format::Smime => "smime",
            Format::Pem => "pem",
        }
    }
}

/// Signs `raw` with the signing key in `keys` for `format` (S/MIME: `opaque` makes signed-data).
pub fn sign(
    format: Format,
    raw: &[u8],
    keys: &MailKeys,
    opaque: bool,
    rng: &mut dyn Rng,
) -> Result<Vec<u8>, MailError> {
    let policy = Policy::default();
    match format {
        Format::Pgp => {
            let sk = keys
                .pgp_secret
                .as_ref()
                .ok_or_else(|| MailError::NoKey("PGP/MIME signing needs an OpenPGP secret key".into()))?;
            pgp_mime::sign(raw, sk, &policy, rng)
        }
        Format::Smime => {
            let me = keys
                .x509_identities
                .first()
                .ok_or_else(|| MailError::NoKey("S/MIME signing needs an RSA key and its certificate".into()))?;
            if opaque { smime_mime::sign_opaque(raw, me, &policy) } else { smime_mime::sign(raw, me, &policy, rng) }
        }
        Format::Pem => {
            let me = keys
                .x509_identities
                .first()
                .ok_or_else(|| MailError::NoKey("PEM signing needs an RSA key and its certificate".into()))?;
            pem_mail::sign(raw, me)
        }
    }
}

/// Encrypts `raw` for the certificates in `to` (the recipients only: the signer's own certificate is a
/// recipient only when it is in `to`), signing with `keys` when `sign`; `cipher` names a content cipher.
pub fn seal(
    format: Format,
    raw: &[u8],
    keys: &MailKeys,
    to: &MailKeys,
    sign: bool,
    cipher: Option<&str>,
    rng: &mut dyn Rng,
) -> Result<Vec<u8>, MailError> {
    let policy = Policy::default();
    match format {
        Format::Pgp => {
            let signer = if sign { keys.pgp_secret.as_ref() } else { None };
            if sign && signer.is_none() {
                return Err(MailError::NoKey("PGP/MIME signing needs an OpenPGP secret key".into()));
            }
            pgp_mime::encrypt(raw, to.pgp_certs.clone(), signer, cipher, &policy, rng)
        }
        Format::Smime => {
            let signer = if sign { keys.x509_identities.first() } else { None };
            if sign && signer.is_none() {
                return Err(MailError::NoKey("S/MIME signing needs an RSA key and its certificate".into()));
            }
            smime_mime::encrypt(raw, &to.x509_certs, signer, cipher, &policy, rng)
        }
        Format::Pem => {
            if cipher.is_some_and(|c| c != "3des" && c != "des-ede3-cbc") {
                return Err(MailError::Unsupported(
                    "PEM mail is encrypted with DES-EDE3-CBC (`pem encrypt --cipher des-cbc` makes single-DES messages)"
                        .into(),
                ));
            }
            let me = keys.x509_identities.first().ok_or_else(|| {
                MailError::NoKey("PEM messages are always signed: a key and certificate are needed".into())
            })?;
            pem_mail::encrypt(raw, me, &to.x509_certs, rng)
        }
    }
}
