//! Certificates and secret keys, looked up by e-mail address: the keystore behind `sealpost key
//! import|list|export` and the `mail` commands that are given no explicit keys.
//!
//! A keystore is a directory (`--keystore DIR`, `$SEALPOST_HOME`, else `~/.local/share/sealpost`), mode
//! 0700, refused when group or others may write it:
//!
//! ```text
//! DIR/pgp.cert.d/ab/cdef0123...      OpenPGP certificates, public parts only, in the shared pgp.cert.d
//!                                    layout (draft-nwjw-openpgp-cert-d) that sq reads and writes too
//! DIR/x509/<sha-256>.pem             X.509 certificates, named by the SHA-256 of their DER
//! DIR/secret/pgp-<fingerprint>.pgp   OpenPGP transferable secret keys (binary), mode 0600
//! DIR/secret/rsa-<sha-256>.pem|.der  RSA private keys as they were given (PKCS #8, encrypted PKCS #8,
//!                                    PKCS #1, OpenSSL's traditional encrypted PEM), named by the SHA-256 of
//!                                    their public key (SubjectPublicKeyInfo DER), mode 0600
//! ```
//!
//! An RSA key belongs to every X.509 certificate in the store with the same public key, so
//! [`Keystore::x509_secret_for`] finds it by the certificate's addresses. Addresses compare as
//! [`address::normalize`] makes them: case-insensitive, Unicode domains as their A-labels.
//!
//! Who does what: [`import`] recognises what a file holds and reads it ([`crate::pgp::keys`] for OpenPGP,
//! [`crate::x509`] for certificates, [`crate::core::rsa`] for RSA keys); [`files`] checks directories and
//! secret files and writes every file under a temporary name first; this module places things and finds
//! them. It does not decide trust: a certificate found by address is a candidate, and whether it is valid,
//! unexpired or fit for a purpose is the caller's question.
//!
//! Secrets are read only through [`files::read_secret`] (no symbolic links, our own files, mode 0600 or
//! stricter), held in [`Zeroizing`] buffers, and never shown by `{:?}`.

pub mod address;
pub mod files;
pub mod import;

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use openpgp::Cert;
use openpgp::parse::Parse;
use openpgp::serialize::Serialize;
use openpgp_cert_d::{CertD, MergeResult};
use sequoia_openpgp as openpgp;
use zeroize::Zeroizing;

use crate::core::CoreError;
use crate::core::digest::{HashAlgorithm, digest};
use crate::core::rsa::RsaPrivateKey;
use crate::pgp::PgpError;
use crate::x509::{Certificate, X509Error};

use self::files::Replace;
pub use self::import::{ImportStatus, Imported, Item};

/// Where OpenPGP certificates live, inside the keystore.
pub const PGP_DIR: &str = "pgp.cert.d";
/// Where X.509 certificates live.
pub const X509_DIR: &str = "x509";
/// Where secret keys live.
pub const SECRET_DIR: &str = "secret";

/// Errors of the keystore.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeystoreError {
    /// A file that is neither an OpenPGP certificate or key, an X.509 certificate nor an RSA key, or is
    /// damaged.
    #[error("{file}: {detail}")]
    Malformed {
        /// The file.
        file: String,
        /// What is wrong with it.
        detail: String,
    },
    /// Something the keystore does not hold (a PGP 2.x key, a non-RSA private key).
    #[error("unsupported: {0}")]
    Unsupported(String),
    /// A file or directory whose permissions, owner or type make it unsafe to use: a secret others can
    /// read, a directory others can write, a symbolic link where a secret should be.
    #[error("{0}")]
    Unsafe(String),
    /// An encrypted key whose passphrase is missing or wrong.
    #[error("{0}")]
    Passphrase(String),
    /// Nothing in the keystore matches the address or fingerprint.
    #[error("{0}")]
    NotFound(String),
    /// An address that matches several certificates where one was asked for; the message lists them.
    #[error("{0}")]
    Ambiguous(String),
    /// The keystore's home could not be determined (no `--keystore`, `$SEALPOST_HOME` nor `$HOME`).
    #[error("{0}")]
    NoHome(String),
    /// Reading or writing a file failed.
    #[error("{what} {path}: {source}")]
    Io {
        /// What was being done.
        what: &'static str,
        /// The file or directory.
        path: String,
        /// The error.
        source: std::io::Error,
    },
    /// The pgp.cert.d store refused an operation.
    #[error("pgp.cert.d: {0}")]
    CertD(String),
    /// An error of the OpenPGP front end.
    #[error(transparent)]
    Pgp(#[from] PgpError),
    /// An error of certificate handling.
    #[error(transparent)]
    X509(#[from] X509Error),
    /// An error of the core.
    #[error(transparent)]
    Core(#[from] CoreError),
}

impl KeystoreError {
    /// True for refusals that are verdicts (exit status 1): nothing found, a wrong or missing passphrase;
    /// false for malformed input, unsafe files, I/O and usage (exit status 2).
    pub fn is_verdict(&self) -> bool {
        match self {
            KeystoreError::NotFound(_) | KeystoreError::Passphrase(_) => true,
            KeystoreError::Pgp(p) => p.is_verdict(),
            KeystoreError::X509(x) => x.is_verdict(),
            KeystoreError::Core(c) => c.is_verdict(),
            KeystoreError::Malformed { .. }
            | KeystoreError::Unsupported(_)
            | KeystoreError::Unsafe(_)
            | KeystoreError::Ambiguous(_)
            | KeystoreError::NoHome(_)
            | KeystoreError::Io { .. }
            | KeystoreError::CertD(_) => false,
        }
    }

    pub(crate) fn io(what: &'static str, path: &Path, source: std::io::Error) -> KeystoreError {
        KeystoreError::Io { what, path: path.display().to_string(), source }
    }

    fn certd(err: openpgp_cert_d::Error) -> KeystoreError {
        KeystoreError::CertD(format!("{err:#}"))
    }
}

/// What kind of thing an [`Entry`] is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum EntryKind {
    /// An OpenPGP certificate (perhaps with its secret key).
    Pgp,
    /// An X.509 certificate (perhaps with an RSA key for it).
    X509,
    /// An RSA private key whose certificate is not in the keystore (yet).
    Key,
}

impl EntryKind {
    /// The name `key list` shows: `pgp`, `x509`, `key`.
    pub fn name(self) -> &'static str {
        match self {
            EntryKind::Pgp => "pgp",
            EntryKind::X509 => "x509",
            EntryKind::Key => "key",
        }
    }
}

/// A certificate as stored.
#[derive(Clone, Debug)]
pub enum StoredCert {
    /// OpenPGP, public parts.
    Pgp(Box<Cert>),
    /// X.509.
    X509(Box<Certificate>),
}

/// One thing in the keystore: a certificate (with or without its secret key), or a lone RSA key.
#[derive(Clone, Debug)]
pub struct Entry {
    /// What it is.
    pub kind: EntryKind,
    /// Upper-case hex: the OpenPGP fingerprint; the SHA-256 of an X.509 certificate's DER; the SHA-256 of a
    /// lone key's SubjectPublicKeyInfo.
    pub fingerprint: String,
    /// E-mail addresses, as the certificate writes them: valid, unrevoked user IDs; subjectAltName
    /// rfc822Name and emailAddress.
    pub addresses: Vec<String>,
    /// The file of the secret key, if the keystore has one.
    pub secret: Option<PathBuf>,
    /// When the certificate (the OpenPGP primary key) expires; `None`: never, or unknown.
    pub expires: Option<SystemTime>,
    /// The certificate (`None` for a lone key).
    pub cert: Option<StoredCert>,
    normalized: Vec<String>,
    /// Other fingerprints that name this entry: OpenPGP subkeys.
    aliases: Vec<String>,
}

impl Entry {
    fn new(kind: EntryKind, fingerprint: String, addresses: Vec<String>, cert: Option<StoredCert>) -> Entry {
        let mut kept: Vec<String> = Vec::new();
        let mut normalized: Vec<String> = Vec::new();
        for a in addresses {
            let n = address::normalize(&a).unwrap_or_else(|| a.to_lowercase());
            if !normalized.contains(&n) {
                normalized.push(n);
                kept.push(a);
            }
        }
        Entry { kind, fingerprint, addresses: kept, secret: None, expires: None, cert, normalized, aliases: Vec::new() }
    }

    /// True when one of the entry's addresses is `addr` (compared normalised).
    pub fn has_address(&self, addr: &str) -> bool {
        address::normalize(addr).is_some_and(|n| self.normalized.contains(&n))
    }

    /// True when `fpr` (any case, spaces and colons ignored) names this entry or, for OpenPGP, one of its
    /// subkeys.
    pub fn has_fingerprint(&self, fpr: &str) -> bool {
        normalize_fingerprint(fpr).is_some_and(|f| self.fingerprint == f || self.aliases.contains(&f))
    }
}

/// A fingerprint as the keystore writes it (upper-case hex), from any case with optional `0x`, spaces or
/// colons; `None` when it is not 40 or 64 hex digits.
pub fn normalize_fingerprint(text: &str) -> Option<String> {
    let t = text.trim();
    let t = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")).unwrap_or(t);
    let hex: String = t.chars().filter(|c| !matches!(c, ' ' | ':')).collect::<String>().to_ascii_uppercase();
    (matches!(hex.len(), 40 | 64) && hex.chars().all(|c| c.is_ascii_hexdigit())).then_some(hex)
}

/// What kind of secret key a [`SecretKey`] holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SecretKind {
    /// An OpenPGP transferable secret key (binary).
    Pgp,
    /// An RSA private key file as it was imported: PEM (`.pem`) or DER (`.der`).
    Rsa,
}

/// A secret key read from the keystore, in a zeroizing buffer; `{:?}` shows only its kind and file.
pub struct SecretKey {
    kind: SecretKind,
    path: PathBuf,
    bytes: Zeroizing<Vec<u8>>,
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SecretKey")
            .field("kind", &self.kind)
            .field("path", &self.path)
            .field("bytes", &format_args!("[redacted; {} bytes]", self.bytes.len()))
            .finish()
    }
}

impl SecretKey {
    /// Its kind.
    pub fn kind(&self) -> SecretKind {
        self.kind
    }

    /// The file it was read from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The file's bytes: what `pgp`'s `SecretKeys::read` or [`RsaPrivateKey`]'s readers take.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The OpenPGP secret key as a certificate with secret parts.
    pub fn pgp_cert(&self) -> Result<Cert, KeystoreError> {
        match self.kind {
            SecretKind::Pgp => Cert::from_bytes(&self.bytes[..]).map_err(|e| KeystoreError::Malformed {
                file: self.path.display().to_string(),
                detail: format!("{e:#}"),
            }),
            SecretKind::Rsa => Err(KeystoreError::Unsupported("an RSA key file is not an OpenPGP key".into())),
        }
    }

    /// The RSA private key, unlocked with `passphrase` when it is encrypted.
    pub fn rsa_key(&self, passphrase: Option<&[u8]>) -> Result<RsaPrivateKey, KeystoreError> {
        match self.kind {
            SecretKind::Rsa => import::rsa_from_stored(&self.bytes, &self.path, passphrase),
            SecretKind::Pgp => Err(KeystoreError::Unsupported("an OpenPGP key is not an RSA key file".into())),
        }
    }
}

/// The entries of a keystore and the stored files that could not be read (named, with the reason).
#[derive(Debug, Default)]
pub struct Listing {
    /// Everything readable, sorted by first address, kind and fingerprint.
    pub entries: Vec<Entry>,
    /// Files skipped, each `path: reason`.
    pub skipped: Vec<String>,
}

/// A keystore directory.
pub struct Keystore {
    root: PathBuf,
    certd: CertD,
}

impl fmt::Debug for Keystore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Keystore").field("root", &self.root).finish()
    }
}

impl Keystore {
    /// The keystore directory when none is given: `$SEALPOST_HOME`, else `~/.local/share/sealpost`.
    pub fn default_dir() -> Result<PathBuf, KeystoreError> {
        if let Some(home) = std::env::var_os("SEALPOST_HOME").filter(|h| !h.is_empty()) {
            return Ok(PathBuf::from(home));
        }
        match std::env::var_os("HOME").filter(|h| !h.is_empty()) {
            Some(home) => Ok(PathBuf::from(home).join(".local/share/sealpost")),
            None => Err(KeystoreError::NoHome(
                "no keystore: give --keystore DIR or set SEALPOST_HOME (HOME is not set either)".into(),
            )),
        }
    }

    /// Opens the keystore at `dir` (`None`: [`Keystore::default_dir`]), creating it and its
    /// subdirectories with mode 0700 when missing. Refused when a directory is writable by group or
    /// others, or the secret directory is a symbolic link, someone else's, or open to group or others.
    pub fn open(dir: Option<&Path>) -> Result<Keystore, KeystoreError> {
        let root = match dir {
            Some(d) => d.to_path_buf(),
            None => Keystore::default_dir()?,
        };
        files::ensure_dir(&root, false)?;
        files::ensure_dir(&root.join(PGP_DIR), false)?;
        files::ensure_dir(&root.join(X509_DIR), false)?;
        files::ensure_dir(&root.join(SECRET_DIR), true)?;
        let certd = CertD::with_base_dir(root.join(PGP_DIR)).map_err(KeystoreError::certd)?;
        Ok(Keystore { root, certd })
    }

    /// The directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    fn secret_dir(&self) -> PathBuf {
        self.root.join(SECRET_DIR)
    }

    fn pgp_secret_path(&self, fpr_upper: &str) -> PathBuf {
        self.secret_dir().join(format!("pgp-{}.pgp", fpr_upper.to_ascii_lowercase()))
    }

    /// The stored RSA key with this SubjectPublicKeyInfo hash (lower-case hex), if any.
    fn rsa_secret_path(&self, key_id: &str) -> Option<PathBuf> {
        ["pem", "der"]
            .iter()
            .map(|ext| self.secret_dir().join(format!("rsa-{key_id}.{ext}")))
            .find(|p| files::exists(p))
    }

    /// Everything in the keystore. Stored files that cannot be read are reported in
    /// [`Listing::skipped`], not errors: one damaged file must not hide every other key.
    pub fn list(&self) -> Result<Listing, KeystoreError> {
        let mut listing = Listing::default();
        // OpenPGP: the cert-d's own walk, which knows which names are fingerprints.
        for item in self.certd.iter() {
            match item {
                Ok((fpr, _tag, data)) => match Cert::from_bytes(&data) {
                    Ok(cert) => {
                        let mut e = pgp_entry(cert);
                        let secret = self.pgp_secret_path(&e.fingerprint);
                        e.secret = files::exists(&secret).then_some(secret);
                        listing.entries.push(e);
                    }
                    Err(err) => listing.skipped.push(format!("{PGP_DIR}/{fpr}: {err}")),
                },
                Err(err) => listing.skipped.push(format!("{PGP_DIR}: {err}")),
            }
        }
        // X.509.
        let mut paired: Vec<String> = Vec::new();
        for path in self.dir_files(X509_DIR)? {
            let Some(name) = path.file_name().and_then(|n| n.to_str()) else { continue };
            if name.starts_with('.') || !name.ends_with(".pem") {
                continue;
            }
            let read = std::fs::read(&path)
                .map_err(|e| e.to_string())
                .and_then(|b| Certificate::read_all(&b).map_err(|e| e.to_string()));
            match read {
                Ok(certs) => {
                    for cert in certs {
                        let mut e = x509_entry(cert);
                        if let Some(id) = e.cert.as_ref().and_then(spki_id) {
                            e.secret = self.rsa_secret_path(&id);
                            if e.secret.is_some() {
                                paired.push(id);
                            }
                        }
                        listing.entries.push(e);
                    }
                }
                Err(err) => listing.skipped.push(format!("{}: {err}", path.display())),
            }
        }
        // RSA keys whose certificate is not here.
        for path in self.dir_files(SECRET_DIR)? {
            let Some(name) = path.file_name().and_then(|n| n.to_str()) else { continue };
            let Some(id) = name.strip_prefix("rsa-").and_then(|n| n.split('.').next()) else { continue };
            if name.starts_with('.') || paired.iter().any(|p| p == id) || normalize_fingerprint(id).is_none() {
                continue;
            }
            let mut e = Entry::new(EntryKind::Key, id.to_ascii_uppercase(), Vec::new(), None);
            e.secret = Some(path.clone());
            listing.entries.push(e);
        }
        listing.entries.sort_by(|a, b| {
            let first = |e: &Entry| e.normalized.first().cloned().unwrap_or_else(|| "\u{10ffff}".into());
            (first(a), a.kind, &a.fingerprint).cmp(&(first(b), b.kind, &b.fingerprint))
        });
        Ok(listing)
    }

    fn dir_files(&self, sub: &str) -> Result<Vec<PathBuf>, KeystoreError> {
        let dir = self.root.join(sub);
        let rd = std::fs::read_dir(&dir).map_err(|e| KeystoreError::io("cannot read", &dir, e))?;
        let mut out: Vec<PathBuf> = rd.filter_map(|e| e.ok().map(|e| e.path())).collect();
        out.sort();
        Ok(out)
    }

    /// Entries with this address, or naming this fingerprint (see [`Entry::has_fingerprint`]).
    pub fn lookup(&self, query: &str) -> Result<Vec<Entry>, KeystoreError> {
        let entries = self.list()?.entries;
        if address::is_address(query) {
            Ok(entries.into_iter().filter(|e| e.has_address(query)).collect())
        } else if normalize_fingerprint(query).is_some() {
            Ok(entries.into_iter().filter(|e| e.has_fingerprint(query)).collect())
        } else {
            Err(KeystoreError::Malformed {
                file: query.to_string(),
                detail: "neither an e-mail address nor a fingerprint (40 or 64 hex digits)".into(),
            })
        }
    }

    /// The entry whose fingerprint (or OpenPGP subkey fingerprint) is `fpr`.
    pub fn by_fingerprint(&self, fpr: &str) -> Result<Option<Entry>, KeystoreError> {
        Ok(self.list()?.entries.into_iter().find(|e| e.has_fingerprint(fpr)))
    }

    /// OpenPGP certificates with the address `addr`.
    pub fn pgp_certs_for(&self, addr: &str) -> Result<Vec<Cert>, KeystoreError> {
        Ok(self
            .list()?
            .entries
            .into_iter()
            .filter(|e| e.has_address(addr))
            .filter_map(|e| match e.cert {
                Some(StoredCert::Pgp(c)) => Some(*c),
                _ => None,
            })
            .collect())
    }

    /// X.509 certificates with the address `addr`.
    pub fn x509_certs_for(&self, addr: &str) -> Result<Vec<Certificate>, KeystoreError> {
        Ok(self
            .list()?
            .entries
            .into_iter()
            .filter(|e| e.has_address(addr))
            .filter_map(|e| match e.cert {
                Some(StoredCert::X509(c)) => Some(*c),
                _ => None,
            })
            .collect())
    }

    /// OpenPGP secret keys whose certificate has the address `addr`.
    pub fn pgp_secret_for(&self, addr: &str) -> Result<Vec<SecretKey>, KeystoreError> {
        let entries = self.list()?.entries;
        let wanted = entries.iter().filter(|e| e.kind == EntryKind::Pgp && e.has_address(addr));
        wanted.filter_map(|e| self.secret(e).transpose()).collect()
    }

    /// X.509 certificates with the address `addr` for which the keystore has the RSA key, with that key.
    pub fn x509_secret_for(&self, addr: &str) -> Result<Vec<(Certificate, SecretKey)>, KeystoreError> {
        let mut out = Vec::new();
        for e in self.list()?.entries.into_iter().filter(|e| e.kind == EntryKind::X509 && e.has_address(addr)) {
            if let (Some(key), Some(StoredCert::X509(cert))) = (self.secret(&e)?, e.cert) {
                out.push((*cert, key));
            }
        }
        Ok(out)
    }

    /// The secret key of an entry, if the keystore has one (read with the checks of
    /// [`files::read_secret`]).
    pub fn secret(&self, entry: &Entry) -> Result<Option<SecretKey>, KeystoreError> {
        let Some(path) = &entry.secret else { return Ok(None) };
        let bytes = files::read_secret(path)?;
        let kind = if entry.kind == EntryKind::Pgp { SecretKind::Pgp } else { SecretKind::Rsa };
        Ok(Some(SecretKey { kind, path: path.clone(), bytes }))
    }

    /// Stores one imported item: merges an OpenPGP certificate into the one stored (the public part always
    /// goes to pgp.cert.d; a secret key also to `secret/`); an X.509 certificate or RSA key already stored
    /// is left as it is.
    pub fn store(&self, item: &Item) -> Result<Imported, KeystoreError> {
        match item {
            Item::PgpCert(cert) => {
                let status = self.store_pgp_public(cert)?;
                let e = pgp_entry((**cert).clone());
                Ok(Imported::new("pgp", &e, status, None))
            }
            Item::PgpSecret(cert) => {
                let public = self.store_pgp_public(cert)?;
                let secret = self.store_pgp_secret(cert)?;
                let e = pgp_entry((**cert).clone());
                Ok(Imported::new("pgp-secret", &e, secret.combine(public), None))
            }
            Item::X509(cert) => {
                let status = self.store_x509(cert)?;
                let e = x509_entry((**cert).clone());
                let note = e
                    .cert
                    .as_ref()
                    .and_then(spki_id)
                    .and_then(|id| self.rsa_secret_path(&id))
                    .map(|_| "its secret key is in the keystore".to_string());
                Ok(Imported::new("x509", &e, status, note))
            }
            Item::RsaKey(key) => {
                let status = if self.rsa_secret_path(key.key_id()).is_some() {
                    ImportStatus::Unchanged
                } else {
                    let name = format!("rsa-{}.{}", key.key_id(), key.extension());
                    files::write_file(&self.secret_dir(), &name, key.bytes(), 0o600, Replace::No)?;
                    ImportStatus::New
                };
                let certs: Vec<Entry> = self
                    .list()?
                    .entries
                    .into_iter()
                    .filter(|e| {
                        e.kind == EntryKind::X509 && e.cert.as_ref().and_then(spki_id).as_deref() == Some(key.key_id())
                    })
                    .collect();
                let mut e = Entry::new(EntryKind::Key, key.key_id().to_ascii_uppercase(), Vec::new(), None);
                let note = if certs.is_empty() {
                    format!("RSA {} bits; no certificate for it in the keystore yet", key.bits())
                } else {
                    let fprs: Vec<&str> = certs.iter().map(|c| c.fingerprint.as_str()).collect();
                    e.addresses = certs.iter().flat_map(|c| c.addresses.iter().cloned()).collect();
                    format!("RSA {} bits; the key of x509 {}", key.bits(), fprs.join(", "))
                };
                Ok(Imported::new("rsa-secret", &e, status, Some(note)))
            }
        }
    }

    fn store_pgp_public(&self, cert: &Cert) -> Result<ImportStatus, KeystoreError> {
        let fpr = cert_d_name(cert)?;
        let public = cert.clone().strip_secret_key_material();
        let mut data = Vec::new();
        public.serialize(&mut data).map_err(crate::pgp::PgpError::malformed)?;
        let status = std::cell::Cell::new(ImportStatus::New);
        self.certd
            .insert(&fpr, data, false, |new, old| {
                let Some(old) = old else { return Ok(MergeResult::Data(new)) };
                let stored = Cert::from_bytes(old)?;
                let merged = stored.merge_public(public.clone())?;
                let mut bytes = Vec::new();
                merged.serialize(&mut bytes)?;
                if bytes == old {
                    status.set(ImportStatus::Unchanged);
                    Ok(MergeResult::Keep)
                } else {
                    status.set(ImportStatus::Updated);
                    Ok(MergeResult::Data(bytes))
                }
            })
            .map_err(KeystoreError::certd)?;
        Ok(status.get())
    }

    fn store_pgp_secret(&self, cert: &Cert) -> Result<ImportStatus, KeystoreError> {
        let path = self.pgp_secret_path(&cert.fingerprint().to_hex());
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_string();
        let tsk = |c: &Cert| -> Result<Zeroizing<Vec<u8>>, KeystoreError> {
            let mut out = Zeroizing::new(Vec::new());
            c.as_tsk().serialize(&mut *out).map_err(crate::pgp::PgpError::malformed)?;
            Ok(out)
        };
        if !files::exists(&path) {
            files::write_file(&self.secret_dir(), &name, &tsk(cert)?, 0o600, Replace::No)?;
            return Ok(ImportStatus::New);
        }
        let old = files::read_secret(&path)?;
        let stored = Cert::from_bytes(&old[..])
            .map_err(|e| KeystoreError::Malformed { file: path.display().to_string(), detail: format!("{e:#}") })?;
        let merged = stored.merge_public_and_secret(cert.clone()).map_err(crate::pgp::PgpError::malformed)?;
        let bytes = tsk(&merged)?;
        if bytes == old {
            return Ok(ImportStatus::Unchanged);
        }
        files::write_file(&self.secret_dir(), &name, &bytes, 0o600, Replace::Yes)?;
        Ok(ImportStatus::Updated)
    }

    fn store_x509(&self, cert: &Certificate) -> Result<ImportStatus, KeystoreError> {
        let name = format!("{}.pem", x509_fingerprint(cert).to_ascii_lowercase());
        let dir = self.root.join(X509_DIR);
        let pem = cert.to_pem()?;
        let path = dir.join(&name);
        match std::fs::read(&path) {
            Ok(old) if old == pem.as_bytes() => Ok(ImportStatus::Unchanged),
            Ok(_) => {
                files::write_file(&dir, &name, pem.as_bytes(), 0o644, Replace::Yes)?;
                Ok(ImportStatus::Updated)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                files::write_file(&dir, &name, pem.as_bytes(), 0o644, Replace::No)?;
                Ok(ImportStatus::New)
            }
            Err(e) => Err(KeystoreError::io("cannot read", &path, e)),
        }
    }
}

/// The cert-d name of a certificate: its lower-case fingerprint, for v4 and v6 certificates.
fn cert_d_name(cert: &Cert) -> Result<String, KeystoreError> {
    match cert.fingerprint() {
        openpgp::Fingerprint::V4(_) | openpgp::Fingerprint::V6(_) => Ok(cert.fingerprint().to_hex().to_lowercase()),
        other => Err(KeystoreError::Unsupported(format!("an OpenPGP certificate with the fingerprint {other}"))),
    }
}

/// The SHA-256 of an X.509 certificate's DER, upper-case hex.
pub fn x509_fingerprint(cert: &Certificate) -> String {
    cert.fingerprint(HashAlgorithm::Sha256).to_hex().to_ascii_uppercase()
}

/// The name of an RSA key in `secret/`: the SHA-256 of its SubjectPublicKeyInfo DER (as the core encodes
/// it, so a certificate's key and a private key's public half give the same name), lower-case hex.
pub fn rsa_key_id(public: &crate::core::rsa::RsaPublicKey) -> String {
    digest(HashAlgorithm::Sha256, public.to_spki_der()).to_hex()
}

fn spki_id(cert: &StoredCert) -> Option<String> {
    match cert {
        StoredCert::X509(c) => c.rsa_public_key().ok().map(|k| rsa_key_id(&k)),
        StoredCert::Pgp(_) => None,
    }
}

/// An OpenPGP certificate's entry: the addresses of its valid, unrevoked user IDs (under the project's
/// sequoia policy), its primary key's expiry.
fn pgp_entry(cert: Cert) -> Entry {
    use openpgp::cert::amalgamation::ValidAmalgamation;
    use openpgp::types::RevocationStatus;
    let p = crate::pgp::policy::sequoia_policy();
    let (addresses, expires) = match cert.with_policy(&p, None) {
        Ok(vc) => {
            let addresses = vc
                .userids()
                .filter(|u| !matches!(u.revocation_status(), RevocationStatus::Revoked(_)))
                .filter_map(|u| u.userid().email().ok().flatten().map(str::to_string))
                .collect();
            (addresses, vc.primary_key().key_expiration_time())
        }
        Err(_) => (Vec::new(), None),
    };
    let aliases = cert.keys().subkeys().map(|k| k.key().fingerprint().to_hex()).collect();
    let mut e =
        Entry::new(EntryKind::Pgp, cert.fingerprint().to_hex(), addresses, Some(StoredCert::Pgp(Box::new(cert))));
    e.expires = expires;
    e.aliases = aliases;
    e
}

fn x509_entry(cert: Certificate) -> Entry {
    let expires = Some(cert.validity().not_after);
    let mut e =
        Entry::new(EntryKind::X509, x509_fingerprint(&cert), cert.emails(), Some(StoredCert::X509(Box::new(cert))));
    e.expires = expires;
    e
}
