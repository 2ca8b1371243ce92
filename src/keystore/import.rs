//! What `key import` reads: a file is recognised by its content, not its name (CONTRACT.md: key files are
//! auto-detected), and may hold several things.
//!
//! - OpenPGP, binary (the first byte has bit 7 set, as every OpenPGP packet header does) or armored
//!   (`-----BEGIN PGP ...`): every certificate and transferable secret key in it, as `gpg --export` and
//!   `gpg --export-secret-keys` write keyrings;
//! - DER (a SEQUENCE, 0x30): one X.509 certificate, else an RSA private key (PKCS #1 or PKCS #8; an
//!   encrypted PKCS #8 key with the passphrase);
//! - PEM text: every `CERTIFICATE` block, and every `PRIVATE KEY`, `RSA PRIVATE KEY` (also OpenSSL's
//!   traditional encrypted form) and `ENCRYPTED PRIVATE KEY` block; other blocks are skipped, and a file with
//!   none of these is malformed.
//!
//! A file that holds a secret must be one only we can read and not a symbolic link (SECURITY-CASES H), the
//! same rule as `--key` files. RSA keys are stored as they were given (an encrypted key stays encrypted), but
//! are decrypted once here with the passphrase, to learn the public key that names them and pairs them with
//! their certificate.

use std::fmt;
use std::path::Path;

use openpgp::Cert;
use sequoia_openpgp as openpgp;
use zeroize::Zeroizing;

use super::{Entry, KeystoreError, files};
use crate::core::CoreError;
use crate::core::rsa::RsaPrivateKey;
use crate::x509::Certificate;
use crate::x509::encoding::pem_blocks;

/// One thing found in an imported file.
pub enum Item {
    /// An OpenPGP certificate without secret parts.
    PgpCert(Box<Cert>),
    /// An OpenPGP certificate with secret parts (a transferable secret key).
    PgpSecret(Box<Cert>),
    /// An X.509 certificate.
    X509(Box<Certificate>),
    /// An RSA private key file's content.
    RsaKey(RsaKeyFile),
}

impl fmt::Debug for Item {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Item::PgpCert(c) => write!(f, "PgpCert({})", c.fingerprint()),
            Item::PgpSecret(c) => write!(f, "PgpSecret({}, [redacted])", c.fingerprint()),
            Item::X509(c) => write!(f, "X509({})", c.subject()),
            Item::RsaKey(k) => write!(f, "{k:?}"),
        }
    }
}

impl Item {
    /// True for secret keys.
    pub fn is_secret(&self) -> bool {
        matches!(self, Item::PgpSecret(_) | Item::RsaKey(_))
    }
}

/// An RSA private key as given (PEM block or DER), with the name its public key gives it.
pub struct RsaKeyFile {
    key_id: String,
    bits: usize,
    der: bool,
    bytes: Zeroizing<Vec<u8>>,
}

impl fmt::Debug for RsaKeyFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RsaKeyFile({}, {} bits, [redacted])", self.key_id, self.bits)
    }
}

impl RsaKeyFile {
    /// SHA-256 of the SubjectPublicKeyInfo, lower-case hex.
    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    /// Modulus size.
    pub fn bits(&self) -> usize {
        self.bits
    }

    /// The bytes to store.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// `pem` or `der`.
    pub fn extension(&self) -> &'static str {
        if self.der { "der" } else { "pem" }
    }
}

/// What happened to an imported item.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ImportStatus {
    /// It was not in the keystore.
    New,
    /// It was, and gained something (user IDs, signatures, subkeys, secret parts).
    Updated,
    /// It was, exactly.
    Unchanged,
}

impl ImportStatus {
    /// `new`, `updated`, `unchanged`.
    pub fn name(self) -> &'static str {
        match self {
            ImportStatus::New => "new",
            ImportStatus::Updated => "updated",
            ImportStatus::Unchanged => "unchanged",
        }
    }

    /// The status of an item stored in two places.
    pub(super) fn combine(self, other: ImportStatus) -> ImportStatus {
        match (self, other) {
            (ImportStatus::New, _) => ImportStatus::New,
            (ImportStatus::Unchanged, ImportStatus::Unchanged) => ImportStatus::Unchanged,
            _ => ImportStatus::Updated,
        }
    }
}

/// The report of one stored item.
#[derive(Clone, Debug)]
pub struct Imported {
    /// `pgp`, `pgp-secret`, `x509`, `rsa-secret`.
    pub what: &'static str,
    /// As in [`Entry::fingerprint`].
    pub fingerprint: String,
    /// Its addresses (for an RSA key, those of its certificates).
    pub addresses: Vec<String>,
    /// New, updated or unchanged.
    pub status: ImportStatus,
    /// Anything else worth saying.
    pub note: Option<String>,
}

impl Imported {
    pub(super) fn new(what: &'static str, e: &Entry, status: ImportStatus, note: Option<String>) -> Imported {
        Imported { what, fingerprint: e.fingerprint.clone(), addresses: e.addresses.clone(), status, note }
    }
}

fn malformed(path: &Path, detail: impl fmt::Display) -> KeystoreError {
    KeystoreError::Malformed { file: path.display().to_string(), detail: detail.to_string() }
}

/// Reads `path` and everything in it. Nothing is written: a caller reads every file first, so that one bad
/// file leaves the keystore untouched. A file holding a secret key is refused when it is a symbolic link,
/// others can read it or it is someone else's.
pub fn read_file(path: &Path, passphrase: Option<&[u8]>) -> Result<Vec<Item>, KeystoreError> {
    let (file, is_symlink) = match files::open_nofollow(path).map_err(|e| KeystoreError::io("cannot open", path, e))? {
        Some(f) => (f, false),
        None => (std::fs::File::open(path).map_err(|e| KeystoreError::io("cannot open", path, e))?, true),
    };
    let meta = file.metadata().map_err(|e| KeystoreError::io("cannot read", path, e))?;
    let bytes = files::read_bounded(file, path)?;
    let items = parse(&bytes, path, passphrase)?;
    if items.iter().any(Item::is_secret)
        && let Some(why) = files::secret_refusal(path, is_symlink, &meta)
    {
        return Err(KeystoreError::Unsafe(format!("{why}; it holds a secret key")));
    }
    Ok(items)
}

/// Recognises and reads the content of a file (`path` only names it in errors).
pub fn parse(bytes: &[u8], path: &Path, passphrase: Option<&[u8]>) -> Result<Vec<Item>, KeystoreError> {
    let start = bytes.iter().position(|b| !b.is_ascii_whitespace());
    let Some(first) = start.and_then(|s| bytes.get(s)) else {
        return Err(malformed(path, "empty file"));
    };
    if first & 0x80 != 0 {
        return pgp_items(bytes, path);
    }
    if *first == 0x30 {
        return der_items(bytes, path, passphrase);
    }
    let text = std::str::from_utf8(bytes)
        .map_err(|_| malformed(path, "neither OpenPGP, X.509 (PEM or DER) nor an RSA key"))?;
    if text.contains("-----BEGIN PGP ") {
        return pgp_items(bytes, path);
    }
    pem_items(text, path, passphrase)
}

fn pgp_items(bytes: &[u8], path: &Path) -> Result<Vec<Item>, KeystoreError> {
    let certs = crate::pgp::keys::read_certs(bytes).map_err(|e| match e {
        crate::pgp::PgpError::Malformed(m) => malformed(path, format!("malformed OpenPGP data: {m}")),
        crate::pgp::PgpError::Unsupported(m) => KeystoreError::Unsupported(format!("{}: {m}", path.display())),
        other => KeystoreError::Pgp(other),
    })?;
    Ok(certs
        .into_iter()
        .map(|c| if c.is_tsk() { Item::PgpSecret(Box::new(c)) } else { Item::PgpCert(Box::new(c)) })
        .collect())
}

fn der_items(bytes: &[u8], path: &Path, passphrase: Option<&[u8]>) -> Result<Vec<Item>, KeystoreError> {
    let cert_err = match Certificate::read_all(bytes) {
        Ok(certs) => return Ok(certs.into_iter().map(|c| Item::X509(Box::new(c))).collect()),
        Err(e) => e,
    };
    let der = Zeroizing::new(bytes.to_vec());
    match RsaPrivateKey::from_der(bytes) {
        Ok(key) => return Ok(vec![Item::RsaKey(key_file(&key, der, true))]),
        Err(CoreError::Unsupported(m)) => return Err(KeystoreError::Unsupported(format!("{}: {m}", path.display()))),
        Err(_) => {}
    }
    // An encrypted PKCS #8 key: an EncryptedPrivateKeyInfo has no marker a reader could see without the
    // passphrase, so only a passphrase tells it from a damaged file.
    if let Some(pass) = passphrase {
        match RsaPrivateKey::from_encrypted_pkcs8_der(bytes, pass) {
            Ok(key) => return Ok(vec![Item::RsaKey(key_file(&key, der, true))]),
            Err(CoreError::DecryptionFailed) => {
                return Err(KeystoreError::Passphrase(format!("wrong passphrase for the key in {}", path.display())));
            }
            Err(_) => {}
        }
    }
    Err(malformed(
        path,
        format!(
            "DER that is neither an X.509 certificate ({cert_err}) nor an RSA private key (PKCS #1, PKCS #8; an \
             encrypted PKCS #8 key needs --passphrase-file)"
        ),
    ))
}

fn pem_items(text: &str, path: &Path, passphrase: Option<&[u8]>) -> Result<Vec<Item>, KeystoreError> {
    let blocks = pem_blocks(text).map_err(|e| malformed(path, e))?;
    let mut items = Vec::new();
    for block in &blocks {
        match block.label {
            "CERTIFICATE" | "X509 CERTIFICATE" | "TRUSTED CERTIFICATE" => {
                for c in Certificate::read_all(block.text.as_bytes()).map_err(|e| malformed(path, e))? {
                    items.push(Item::X509(Box::new(c)));
                }
            }
            "PRIVATE KEY" | "RSA PRIVATE KEY" | "ENCRYPTED PRIVATE KEY" => {
                let encrypted = block.label == "ENCRYPTED PRIVATE KEY" || block.body.contains("Proc-Type:");
                if encrypted && passphrase.is_none() {
                    return Err(KeystoreError::Passphrase(format!(
                        "the key in {} is encrypted; give its passphrase with --passphrase-file (it stays \
                         encrypted in the keystore)",
                        path.display()
                    )));
                }
                let key = rsa_from_pem(block.text, path, passphrase)?;
                let mut stored = Zeroizing::new(block.text.as_bytes().to_vec());
                if !stored.ends_with(b"\n") {
                    stored.push(b'\n');
                }
                items.push(Item::RsaKey(key_file(&key, stored, false)));
            }
            _ => {}
        }
    }
    if items.is_empty() {
        let what = if blocks.is_empty() {
            "neither OpenPGP, X.509 (PEM or DER) nor an RSA key".to_string()
        } else {
            let labels: Vec<&str> = blocks.iter().map(|b| b.label).collect();
            format!("no certificate or private key (found {})", labels.join(", "))
        };
        return Err(malformed(path, what));
    }
    Ok(items)
}

fn rsa_from_pem(pem: &str, path: &Path, passphrase: Option<&[u8]>) -> Result<RsaPrivateKey, KeystoreError> {
    RsaPrivateKey::from_pem(pem, passphrase).map_err(|e| match e {
        CoreError::DecryptionFailed => {
            KeystoreError::Passphrase(format!("wrong passphrase for the key in {}", path.display()))
        }
        CoreError::Unsupported(m) => KeystoreError::Unsupported(format!("{}: {m}", path.display())),
        other => malformed(path, other),
    })
}

fn key_file(key: &RsaPrivateKey, bytes: Zeroizing<Vec<u8>>, der: bool) -> RsaKeyFile {
    RsaKeyFile { key_id: super::rsa_key_id(key.public()), bits: key.bits(), der, bytes }
}

/// Reads a stored RSA key file (PEM or DER, perhaps encrypted).
pub(super) fn rsa_from_stored(
    bytes: &[u8],
    path: &Path,
    passphrase: Option<&[u8]>,
) -> Result<RsaPrivateKey, KeystoreError> {
    match std::str::from_utf8(bytes) {
        Ok(text) if text.contains("-----BEGIN") => rsa_from_pem(text, path, passphrase),
        _ => match passphrase {
            Some(p) => RsaPrivateKey::from_der(bytes).or_else(|_| RsaPrivateKey::from_encrypted_pkcs8_der(bytes, p)),
            None => RsaPrivateKey::from_der(bytes),
        }
        .map_err(|e| match e {
            CoreError::DecryptionFailed => {
                KeystoreError::Passphrase(format!("wrong passphrase for the key in {}", path.display()))
            }
            other => malformed(path, other),
        }),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)] // A panic in a test is a failed test.

    use super::*;

    #[test]
    fn garbage_is_malformed() {
        let p = Path::new("f");
        for bytes in [&b""[..], b"  \n", b"hello world\n", b"\xff\xfe\x00", b"0\x03\x02\x01\x01"] {
            let err = parse(bytes, p, None).unwrap_err();
            assert!(!err.is_verdict(), "{err}");
            assert!(matches!(err, KeystoreError::Malformed { .. }), "{bytes:?}: {err:?}");
        }
        let err = parse(b"-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n", p, None).unwrap_err();
        assert!(err.to_string().contains("found PUBLIC KEY"), "{err}");
    }

    #[test]
    fn encrypted_keys_need_a_passphrase() {
        let key = RsaPrivateKey::generate(2048).unwrap();
        let pem = key
            .to_traditional_pem(
                crate::core::cipher::CipherAlgorithm::Aes128,
                b"secret",
                &mut crate::core::rand::SystemRng,
            )
            .unwrap();
        let err = parse(pem.as_bytes(), Path::new("k.pem"), None).unwrap_err();
        assert!(matches!(err, KeystoreError::Passphrase(_)), "{err:?}");
        let err = parse(pem.as_bytes(), Path::new("k.pem"), Some(b"wrong")).unwrap_err();
        assert!(matches!(err, KeystoreError::Passphrase(_)), "{err:?}");
        let items = parse(pem.as_bytes(), Path::new("k.pem"), Some(b"secret")).unwrap();
        let [Item::RsaKey(k)] = &items[..] else { panic!("{items:?}") };
        assert_eq!(k.key_id(), super::super::rsa_key_id(key.public()));
        // Stored as given: still encrypted.
        assert!(String::from_utf8_lossy(k.bytes()).contains("Proc-Type: 4,ENCRYPTED"));
        assert!(!format!("{items:?}").contains("Proc-Type"), "Debug must not show the key");
    }
}
