//! `sealpost mail sign|encrypt|sign-encrypt|verify|decrypt`: key and certificate files read and sorted by
//! kind (OpenPGP or X.509), then [`crate::mail`] does the work.

use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use der::Decode;

use super::VerdictFailure;
use super::args::mail::{
    CertArgs, MailDecrypt, MailEncrypt, MailFormat, MailReceipt, MailSign, MailSignEncrypt, MailVerify,
};
use super::files::{self as io, Output};
use crate::core::policy::Policy;
use crate::core::rand::SystemRng;
use crate::keystore::Keystore;
use crate::mail::MailKeys;
use crate::mail::keys::X509Identity;
use crate::mail::keys::addresses;
use crate::mail::open::{OpenOptions, open};
use crate::mail::outgoing::{self, Format};
use crate::pgp::keys::{SecretKeys, read_certs};
use crate::x509::encoding::certificate_ders;

fn format_of(f: MailFormat) -> Format {
    match f {
        MailFormat::Pgp => Format::Pgp,
        MailFormat::Smime => Format::Smime,
        MailFormat::Pem => Format::Pem,
    }
}

/// The sender's secret key from the keystore, for `format`.
fn keystore_signer(
    ks: &Keystore,
    from: &str,
    format: MailFormat,
    pass: Option<&Path>,
    keys: &mut MailKeys,
) -> anyhow::Result<()> {
    let passphrase = pass.map(io::read_passphrase).transpose()?;
    if !keys.add_keystore_secret(ks, from, format_of(format), passphrase.as_deref().map(|p| &p[..]))? {
        return Err(crate::mail::MailError::NoKey(format!(
            "the keystore has no {} secret key for {from}",
            format_of(format).name()
        ))
        .into());
    }
    Ok(())
}

/// Every recipient's certificate from the keystore; a recipient without one is an error naming them.
fn keystore_recipients(ks: &Keystore, to: &[String], format: MailFormat, keys: &mut MailKeys) -> anyhow::Result<()> {
    if to.is_empty() {
        bail!("the message has no To or Cc address, and no --recipient was given");
    }
    let mut missing = Vec::new();
    for addr in to {
        if keys.add_keystore_certs(ks, addr, format_of(format))? == 0 {
            missing.push(addr.clone());
        }
    }
    if !missing.is_empty() {
        return Err(crate::mail::MailError::NoKey(format!(
            "no certificate in the keystore for {} (import one with `sealpost key import`)",
            missing.join(", ")
        ))
        .into());
    }
    Ok(())
}

/// True when a file holds OpenPGP data (armored, or a binary packet with the new or old format bit).
fn is_openpgp(bytes: &[u8]) -> bool {
    let text = String::from_utf8_lossy(&bytes[..bytes.len().min(4096)]);
    if text.contains("-----BEGIN PGP ") {
        return true;
    }
    !text.contains("-----BEGIN") && bytes.first().is_some_and(|b| b & 0x80 != 0 && *b != 0x30)
}

/// Certificates of either kind from files.
fn add_certs(paths: &[PathBuf], keys: &mut MailKeys) -> anyhow::Result<()> {
    for p in paths {
        let bytes = io::read_small(p, "certificate")?;
        if is_openpgp(&bytes) {
            keys.pgp_certs.extend(read_certs(&bytes).with_context(|| format!("reading {}", p.display()))?);
        } else {
            for der in certificate_ders(&bytes).with_context(|| format!("reading {}", p.display()))? {
                keys.x509_certs
                    .push(x509_cert::Certificate::from_der(&der).with_context(|| format!("reading {}", p.display()))?);
            }
        }
    }
    Ok(())
}

fn x509_file(path: &Path) -> anyhow::Result<Vec<x509_cert::Certificate>> {
    let bytes = io::read_small(path, "certificate")?;
    certificate_ders(&bytes)
        .with_context(|| format!("reading {}", path.display()))?
        .iter()
        .map(|d| x509_cert::Certificate::from_der(d).with_context(|| format!("reading {}", path.display())))
        .collect()
}

/// A secret key of either kind; an RSA key needs its certificate (`cert`).
fn add_secret(path: &Path, cert: Option<&Path>, pass: Option<&Path>, keys: &mut MailKeys) -> anyhow::Result<()> {
    let bytes = io::read_secret(path, "secret key file")?;
    if is_openpgp(&bytes) {
        let pw = match pass {
            Some(p) => Some(sequoia_openpgp::crypto::Password::from(&io::read_passphrase(p)?[..])),
            None => None,
        };
        let sk = SecretKeys::read(&[&bytes[..]], pw).context("reading the secret key")?;
        keys.pgp_certs.extend(sk.certs().iter().cloned());
        keys.pgp_secret = Some(sk);
        return Ok(());
    }
    let cert = cert.with_context(|| format!("{} is an RSA key: give its certificate with --cert", path.display()))?;
    let key = io::rsa_private_key(path, "private key", pass)?;
    let cert = x509_file(cert)?.into_iter().next().context("no certificate in the --cert file")?;
    keys.x509_identities.push(X509Identity { cert, key });
    Ok(())
}

fn read_message(path: Option<&Path>) -> anyhow::Result<Vec<u8>> {
    let mut raw = Vec::new();
    io::input(path)?
        .take(crate::mime::entity::MAX_MESSAGE as u64 + 1)
        .read_to_end(&mut raw)
        .context("reading the message")?;
    Ok(raw)
}

fn write(out: Option<&Path>, bytes: &[u8]) -> anyhow::Result<()> {
    let mut o = Output::open(out, false)?;
    o.writer().write_all(bytes)?;
    o.commit()
}

fn signing_keys(
    args: &super::args::mail::SigningKeyArgs,
    keystore: Option<&Path>,
    raw: &[u8],
    format: MailFormat,
) -> anyhow::Result<MailKeys> {
    let mut keys = MailKeys::default();
    match args.key.as_deref() {
        Some(key) => add_secret(key, args.cert.as_deref(), args.passphrase_file.as_deref(), &mut keys)?,
        None => {
            let from = addresses(raw, &["from"])?;
            let from = from.first().context("no --key, and the message has no From address to look one up by")?;
            let ks = Keystore::open(keystore)?;
            keystore_signer(&ks, from, format, args.passphrase_file.as_deref(), &mut keys)?;
        }
    }
    Ok(keys)
}

fn recipients(
    paths: &[PathBuf],
    keystore: Option<&Path>,
    raw: &[u8],
    format: MailFormat,
    keys: &mut MailKeys,
) -> anyhow::Result<()> {
    if paths.is_empty() {
        let ks = Keystore::open(keystore)?;
        let to = addresses(raw, &["to", "cc"])?;
        return keystore_recipients(&ks, &to, format, keys);
    }
    add_certs(paths, keys)
}

pub(super) fn sign_cmd(keystore: Option<&Path>, args: &MailSign) -> anyhow::Result<()> {
    if args.opaque && !matches!(args.format, MailFormat::Smime) {
        bail!("--opaque is for S/MIME (application/pkcs7-mime signed-data)");
    }
    let raw = read_message(args.io.input.as_deref())?;
    let keys = signing_keys(&args.signing, keystore, &raw, args.format)?;
    let out = outgoing::sign(format_of(args.format), &raw, &keys, args.opaque, &mut SystemRng)?;
    write(args.io.output.as_deref(), &out)
}

pub(super) fn encrypt_cmd(keystore: Option<&Path>, args: &MailEncrypt) -> anyhow::Result<()> {
    if matches!(args.format, MailFormat::Pem) {
        bail!("PEM messages are always signed (RFC 1421): use `mail sign-encrypt --format pem`");
    }
    let raw = read_message(args.io.input.as_deref())?;
    let mut to = MailKeys::default();
    recipients(&args.recipient, keystore, &raw, args.format, &mut to)?;
    write(
        args.io.output.as_deref(),
        &outgoing::seal(
            format_of(args.format),
            &raw,
            &MailKeys::default(),
            &to,
            false,
            args.cipher.as_deref(),
            &mut SystemRng,
        )?,
    )
}

pub(super) fn sign_encrypt_cmd(keystore: Option<&Path>, args: &MailSignEncrypt) -> anyhow::Result<()> {
    let raw = read_message(args.io.input.as_deref())?;
    let keys = signing_keys(&args.signing, keystore, &raw, args.format)?;
    let mut to = MailKeys::default();
    recipients(&args.recipient, keystore, &raw, args.format, &mut to)?;
    write(
        args.io.output.as_deref(),
        &outgoing::seal(format_of(args.format), &raw, &keys, &to, true, args.cipher.as_deref(), &mut SystemRng)?,
    )
}

/// The authserv-id of the verification header: the one given, else this host's name, else `sealpost`.
pub(super) fn authserv_id(given: Option<&str>) -> String {
    crate::mail::result_header::authserv_id(given)
}

/// Reads, opens and writes the message with the verification header, whatever the verdict (the header says
/// what it is; decrypted content is released only after its integrity held, which decryption enforces).
/// `verify` fails (exit 1) unless the whole message is signed and the signature good; `decrypt` fails on a
/// bad or unknown signature, and accepts an encrypted message that is not signed.
/// Opens and writes the message with the verification header, whatever the verdict (the header says what
/// it is; decrypted content is released only after its integrity held, which decryption enforces). `verify`
/// fails (exit 1) unless the whole message is signed and the signature good; `decrypt` fails on a bad or
/// unknown signature, and accepts an encrypted message that is not signed.
fn read_and_report(
    keys: &MailKeys,
    certs: &CertArgs,
    verdict_json: Option<&Path>,
    raw: &[u8],
    out: Option<&Path>,
    need_signature: bool,
) -> anyhow::Result<()> {
    let id = authserv_id(certs.authserv_id.as_deref());
    let opened = open(raw, keys, &OpenOptions { authserv_id: &id, policy: &Policy::default() })?;
    io::report_verdict(&opened.verdict, verdict_json)?;
    write(out, &opened.message)?;
    use crate::core::verdict::Status;
    let failed = match opened.verdict.status {
        Status::Pass | Status::PassWeak => false,
        Status::NoSignature | Status::PartiallySigned => need_signature,
        _ => true,
    };
    if failed {
        return Err(VerdictFailure(format!("the message is {}", opened.verdict.status)).into());
    }
    Ok(())
}

/// Certificates and CAs given; without `--cert`, the sender's certificates from the keystore (when there is
/// one: verifying needs no keystore).
fn verify_keys(certs: &CertArgs, keystore: Option<&Path>, raw: &[u8]) -> anyhow::Result<MailKeys> {
    let mut keys = MailKeys::default();
    add_certs(&certs.certs, &mut keys)?;
    for p in &certs.ca {
        keys.anchors.extend(x509_file(p)?);
    }
    // Only a keystore that exists: verifying creates nothing.
    let dir = keystore.map(Path::to_path_buf).or_else(|| Keystore::default_dir().ok());
    if certs.certs.is_empty()
        && dir.as_deref().is_some_and(Path::is_dir)
        && let Ok(ks) = Keystore::open(dir.as_deref())
    {
        for from in addresses(raw, &["from"]).unwrap_or_default() {
            keys.pgp_certs.extend(ks.pgp_certs_for(&from).unwrap_or_default());
            keys.x509_certs.extend(ks.x509_certs_for(&from).unwrap_or_default().into_iter().map(|c| c.inner().clone()));
        }
    }
    Ok(keys)
}

pub(super) fn verify_cmd(keystore: Option<&Path>, args: &MailVerify) -> anyhow::Result<()> {
    let raw = read_message(args.io.input.as_deref())?;
    let mut keys = verify_keys(&args.certs, keystore, &raw)?;
    let Some(original) = &args.original else {
        return read_and_report(
            &keys,
            &args.certs,
            args.verdict.verdict_json.as_deref(),
            &raw,
            args.io.output.as_deref(),
            true,
        );
    };
    // A receipt checked against the message it answers. The original is the receiver's own sent copy: when
    // it was encrypted, the keystore's secret keys for the receipt's To (the original's sender) open it.
    let original = read_message(Some(original))?;
    if crate::mail::receipt::receipt_of(&raw)?.is_none() {
        bail!("--original is for signed receipts, and the message is not one (no smime-type=signed-receipt)");
    }
    let dir = keystore.map(Path::to_path_buf).or_else(|| Keystore::default_dir().ok());
    if dir.as_deref().is_some_and(Path::is_dir)
        && let Ok(ks) = Keystore::open(dir.as_deref())
    {
        for addr in addresses(&raw, &["to"]).unwrap_or_default() {
            let _ = keystore_signer(&ks, &addr, MailFormat::Smime, None, &mut keys);
        }
    }
    let policy = Policy::default();
    let verdict = crate::mail::receipt::verify(&raw, &original, &keys, &policy)?;
    io::report_verdict(&verdict, args.verdict.verdict_json.as_deref())?;
    if !verdict.signature_ok() {
        return Err(VerdictFailure(format!("the receipt does not answer the original: {}", verdict.status)).into());
    }
    let id = authserv_id(args.certs.authserv_id.as_deref());
    let opened = open(&raw, &keys, &OpenOptions { authserv_id: &id, policy: &policy })?;
    write(args.io.output.as_deref(), &opened.message)
}

pub(super) fn receipt_cmd(keystore: Option<&Path>, args: &MailReceipt) -> anyhow::Result<()> {
    let raw = read_message(args.io.input.as_deref())?;
    let mut keys = MailKeys::default();
    match args.signing.key.as_deref() {
        Some(key) => add_secret(key, args.signing.cert.as_deref(), args.signing.passphrase_file.as_deref(), &mut keys)?,
        None => {
            // Our S/MIME key: the keystore's for the first of the message's To or Cc addresses that has one.
            let ks = Keystore::open(keystore)?;
            let pass = args.signing.passphrase_file.as_deref();
            for addr in addresses(&raw, &["to", "cc"])? {
                if keystore_signer(&ks, &addr, MailFormat::Smime, pass, &mut keys).is_ok() {
                    break;
                }
            }
        }
    }
    if keys.x509_identities.is_empty() {
        return Err(crate::mail::MailError::NoKey(
            "no S/MIME key to sign the receipt: give --key and --cert, or keep one in the keystore for the \
             message's To address"
                .into(),
        )
        .into());
    }
    let certs = CertArgs { certs: args.sender_cert.clone(), ca: args.ca.clone(), authserv_id: None };
    let given = verify_keys(&certs, keystore, &raw)?;
    keys.x509_certs.extend(given.x509_certs);
    keys.anchors.extend(given.anchors);
    let policy = Policy::default();
    let id = authserv_id(None);
    let opened = open(&raw, &keys, &OpenOptions { authserv_id: &id, policy: &policy })?;
    io::report_verdict(&opened.verdict, None)?;
    let me = &keys.x509_identities[0];
    let answer = crate::mail::receipt::answer(&raw, &opened.verdict, &keys, me, &policy, &mut SystemRng)?;
    write(args.io.output.as_deref(), &answer.message)?;
    eprintln!("mail: signed receipt from {} to {}", answer.from, answer.to.join(", "));
    Ok(())
}

pub(super) fn decrypt_cmd(keystore: Option<&Path>, args: &MailDecrypt) -> anyhow::Result<()> {
    let raw = read_message(args.io.input.as_deref())?;
    let mut keys = verify_keys(&args.certs, keystore, &raw)?;
    if args.key.is_empty() {
        // The recipients' own secret keys from the keystore, of both kinds.
        let ks = Keystore::open(keystore)?;
        let pass = args.passphrase_file.as_deref();
        for addr in addresses(&raw, &["to", "cc"])? {
            let _ = keystore_signer(&ks, &addr, MailFormat::Pgp, pass, &mut keys);
            let _ = keystore_signer(&ks, &addr, MailFormat::Smime, pass, &mut keys);
        }
        if keys.pgp_secret.is_none() && keys.x509_identities.is_empty() {
            return Err(crate::mail::MailError::NoKey(
                "no --key, and the keystore has no secret key for the message's To or Cc addresses".into(),
            )
            .into());
        }
    }
    for k in &args.key {
        add_secret(k, args.own_cert.as_deref(), args.passphrase_file.as_deref(), &mut keys)?;
    }
    read_and_report(&keys, &args.certs, args.verdict.verdict_json.as_deref(), &raw, args.io.output.as_deref(), false)
}
