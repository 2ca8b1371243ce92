//! `sealpost key generate --type x509`: a new RSA key and an X.509 certificate for it, self-signed or issued
//! by `--issuer-cert`/`--issuer-key`, written as PREFIX.key (PKCS #8 PEM, mode 0600) and PREFIX.cert (PEM).
//! The work is [`crate::x509::generate`]'s; this module reads the files and flags and writes the
//! results.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use zeroize::Zeroizing;

use super::args::key::{KeyAlgo, KeyGenerate};
use super::files as io;
use crate::core::rsa::RsaPrivateKey;
use crate::x509::{self, CertSpec, Certificate};

/// Default validity of an e-mail certificate, in days.
const LEAF_DAYS: u32 = 365;
/// Default validity of a CA certificate, in days.
const CA_DAYS: u32 = 3650;

pub(super) fn generate_cmd(args: &KeyGenerate) -> anyhow::Result<()> {
    let bits = match args.algo {
        KeyAlgo::Rsa2048 => 2048,
        KeyAlgo::Rsa3072 => 3072,
        KeyAlgo::Rsa4096 => 4096,
        KeyAlgo::Ed25519 => bail!("--algo ed25519 is for OpenPGP only; X.509 keys are rsa2048, rsa3072 or rsa4096"),
    };
    if args.passphrase_file.is_some() {
        bail!(
            "--passphrase-file: X.509 keys are written as unencrypted PKCS #8 (protected by mode 0600); \
             encrypted key files are not written yet"
        );
    }
    let (name, email) = parse_uid(&args.uid)?;
    if email.is_none() && !args.ca {
        bail!("an e-mail certificate needs an address: --uid 'Name <address>' (or --ca for a CA certificate)");
    }
    let issuer = match (&args.issuer_cert, &args.issuer_key) {
        (Some(cert), Some(key)) => Some(read_issuer(cert, key, args.issuer_passphrase_file.as_deref())?),
        _ => None,
    };
    let spec = CertSpec {
        subject_name: name,
        email,
        bits,
        days: args.days.unwrap_or(if args.ca { CA_DAYS } else { LEAF_DAYS }),
        ca: args.ca,
        issuer: issuer.as_ref().map(|(c, k)| (c, k)),
        not_before: None,
    };
    let (cert, key) = x509::generate(&spec)?;

    let key_path = with_suffix(&args.output, "key");
    let cert_path = with_suffix(&args.output, "cert");
    io::create_secret_file(&key_path, &pkcs8_pem(&key)?)?;
    if let Err(e) = io::create_public_file(&cert_path, cert.to_pem()?.as_bytes()) {
        let _ = std::fs::remove_file(&key_path);
        return Err(e);
    }
    let who = match cert.emails().first() {
        Some(address) => format!("\"{}\" <{address}>", cert.subject()),
        None => format!("\"{}\"", cert.subject()),
    };
    let by = match &issuer {
        Some((c, _)) => format!("issued by \"{}\"", c.subject()),
        None => "self-signed".into(),
    };
    eprintln!(
        "sealpost: generated X.509 {} certificate {who}, RSA-{bits}, serial {}, valid until {}, {by} -> {} (secret, \
         0600), {}",
        if args.ca { "CA" } else { "e-mail" },
        cert.serial(),
        x509::date(cert.validity().not_after),
        key_path.display(),
        cert_path.display()
    );
    Ok(())
}

/// `Name <address>` -> (name, address); a bare address is its own name; text without `@` is a name only.
fn parse_uid(uid: &str) -> anyhow::Result<(String, Option<String>)> {
    let uid = uid.trim();
    if let Some(open) = uid.rfind('<') {
        let Some(address) = uid.get(open + 1..).and_then(|rest| rest.strip_suffix('>')) else {
            bail!("--uid {uid:?}: expected \"Name <address>\"");
        };
        let name = uid.get(..open).unwrap_or_default().trim().trim_matches('"').trim();
        let address = address.trim().to_string();
        let name = if name.is_empty() { address.clone() } else { name.to_string() };
        return Ok((name, Some(address)));
    }
    if uid.contains('@') { Ok((uid.to_string(), Some(uid.to_string()))) } else { Ok((uid.to_string(), None)) }
}

/// The issuer's key (a PEM file that may also hold certificates, or DER) and its certificate: the one in
/// `cert_path` whose public key is the key's.
fn read_issuer(cert_path: &Path, key_path: &Path, pass: Option<&Path>) -> anyhow::Result<(Certificate, RsaPrivateKey)> {
    let key = io::rsa_private_key(key_path, "issuer key", pass)?;
    let certs = Certificate::read_all(&io::read_small(cert_path, "issuer certificate")?)
        .with_context(|| format!("reading issuer certificate {}", cert_path.display()))?;
    let Some(cert) = certs.into_iter().find(|c| c.rsa_public_key().is_ok_and(|k| k == *key.public())) else {
        bail!("no certificate in {} belongs to the issuer key {}", cert_path.display(), key_path.display());
    };
    Ok((cert, key))
}

/// PKCS #8 PEM (`-----BEGIN PRIVATE KEY-----`) in a zeroizing buffer.
fn pkcs8_pem(key: &RsaPrivateKey) -> anyhow::Result<Zeroizing<Vec<u8>>> {
    use pem_rfc7468::{LineEnding, encode, encoded_len};
    let der = key.to_pkcs8_der()?;
    let len = encoded_len("PRIVATE KEY", LineEnding::LF, &der).map_err(|e| anyhow::anyhow!("PEM: {e}"))?;
    let mut buf = Zeroizing::new(vec![0u8; len]);
    let written = encode("PRIVATE KEY", LineEnding::LF, &der, &mut buf).map_err(|e| anyhow::anyhow!("PEM: {e}"))?.len();
    buf.truncate(written);
    Ok(buf)
}

fn with_suffix(prefix: &Path, suffix: &str) -> PathBuf {
    let mut s = prefix.as_os_str().to_owned();
    s.push(".");
    s.push(suffix);
    PathBuf::from(s)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn uids() {
        assert_eq!(
            parse_uid("Alice Example <alice@example.org>").unwrap(),
            ("Alice Example".into(), Some("alice@example.org".into()))
        );
        assert_eq!(parse_uid("\"Bob\" <bob@b.example>").unwrap(), ("Bob".into(), Some("bob@b.example".into())));
        assert_eq!(parse_uid("<c@c.example>").unwrap(), ("c@c.example".into(), Some("c@c.example".into())));
        assert_eq!(parse_uid("d@d.example").unwrap(), ("d@d.example".into(), Some("d@d.example".into())));
        assert_eq!(parse_uid("Example Root CA").unwrap(), ("Example Root CA".into(), None));
        assert!(parse_uid("Eve <eve@e.example").is_err());
    }
}
