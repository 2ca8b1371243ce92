//! `sealpost pgp ...` and `sealpost key generate --type pgp`: argument checking and files; the work is in
//! [`crate::pgp`].

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use sequoia_openpgp::crypto::Password;

use super::VerdictFailure;
use super::args::key::{KeyAlgo, KeyGenerate};
use super::args::pgp::{PgpDecrypt, PgpEncrypt, PgpListKeys, PgpSign, PgpVerify};
use super::files::{self as io, Held, Output};
use crate::core::cipher::CipherAlgorithm;
use crate::core::compress::{Budget, CompressionAlgorithm};
use crate::core::digest::HashAlgorithm;
use crate::core::policy::Policy;
use crate::core::rand::SystemRng;
use crate::pgp::decrypt::{DecryptOptions, decrypt};
use crate::pgp::encrypt::{EncryptOptions, encrypt};
use crate::pgp::keys::{self, GenerateAlgorithm, SecretKeys, read_certs};
use crate::pgp::sign::{SignMode, SignOptions, sign};
use crate::pgp::verify::{verify_detached, verify_inline};

fn passphrase(path: Option<&PathBuf>) -> anyhow::Result<Option<Password>> {
    match path {
        None => Ok(None),
        Some(p) => Ok(Some(Password::from(&io::read_passphrase(p)?[..]))),
    }
}

fn secret_keys(paths: &[PathBuf], pass: Option<&PathBuf>) -> anyhow::Result<SecretKeys> {
    let blobs: Vec<_> = paths.iter().map(|p| io::read_secret(p, "secret key file")).collect::<Result<_, _>>()?;
    let refs: Vec<&[u8]> = blobs.iter().map(|b| &b[..]).collect();
    SecretKeys::read(&refs, passphrase(pass)?).context("reading the secret keys")
}

fn certs(paths: &[PathBuf]) -> anyhow::Result<Vec<sequoia_openpgp::Cert>> {
    let mut out = Vec::new();
    for p in paths {
        let bytes = io::read_small(p, "certificate")?;
        out.extend(read_certs(&bytes).with_context(|| format!("reading the certificate {}", p.display()))?);
    }
    Ok(out)
}

/// `--hash`: the hash, and the policy that goes with naming it (naming MD5 is the explicit permission it
/// needs; it is still labelled weak wherever it is verified).
fn hash_choice(name: Option<&String>) -> anyhow::Result<(HashAlgorithm, bool, Policy)> {
    match name {
        None => Ok((HashAlgorithm::Sha256, false, Policy::default())),
        Some(n) => {
            let h = HashAlgorithm::from_name(n)
                .filter(|h| *h != HashAlgorithm::Md2)
                .with_context(|| format!("unknown hash {n:?} (sha256, sha384, sha512, sha224, sha1, md5)"))?;
            if matches!(h, HashAlgorithm::Md5 | HashAlgorithm::Sha1) {
                eprintln!("sealpost: warning: {h} signatures can be forged; use it only where a reader needs it");
            }
            Ok((h, true, Policy { allow_broken: true, ..Policy::default() }))
        }
    }
}

pub(super) fn sign_cmd(args: &PgpSign) -> anyhow::Result<()> {
    let keys = secret_keys(std::slice::from_ref(&args.key), args.passphrase_file.as_ref())?;
    let signers = keys.signers().context("choosing the signing key")?;
    let (hash, named, policy) = hash_choice(args.hash.as_ref())?;
    let mode = if args.detached {
        SignMode::Detached
    } else if args.cleartext {
        SignMode::Cleartext
    } else {
        SignMode::Inline
    };
    let mut input = io::input(args.io.input.as_deref())?;
    let mut out = Output::open(args.io.output.as_deref(), false)?;
    let opts = SignOptions { mode, hash, hash_named: named, armor: args.armor };
    sign(&mut input, out.writer(), signers, &opts, &policy)?;
    out.commit()
}

pub(super) fn verify_cmd(args: &PgpVerify) -> anyhow::Result<()> {
    let certs = certs(&args.cert)?;
    let policy = Policy::default();
    let input = io::input(args.io.input.as_deref())?;
    let verdict = match &args.signature {
        Some(sig) => {
            let sig = io::read_small(sig, "signature")?;
            let verdict = verify_detached(&sig, input, certs, &policy)?;
            io::report_verdict(&verdict, args.verdict.verdict_json.as_deref())?;
            verdict
        }
        None => {
            let mut held = Held::open(args.io.output.as_deref())?;
            let verdict = verify_inline(input, certs, &policy, &Budget::default(), held.writer())?;
            io::report_verdict(&verdict, args.verdict.verdict_json.as_deref())?;
            if verdict.signature_ok() {
                held.release()?;
            }
            verdict
        }
    };
    if !verdict.signature_ok() {
        return Err(VerdictFailure(format!("verification failed: {}", verdict.status)).into());
    }
    Ok(())
}

fn cipher_choice(name: Option<&String>) -> anyhow::Result<(CipherAlgorithm, bool)> {
    match name {
        None => Ok((CipherAlgorithm::Aes256, false)),
        Some(n) => {
            let c = CipherAlgorithm::from_name(n)
                .filter(|c| !matches!(c, CipherAlgorithm::Des | CipherAlgorithm::Blowfish))
                .with_context(|| format!("unknown cipher {n:?} (aes256, aes192, aes128, 3des, cast5, idea)"))?;
            Ok((c, true))
        }
    }
}

fn compression_choice(name: Option<&String>) -> anyhow::Result<Option<CompressionAlgorithm>> {
    match name.map(String::as_str) {
        None | Some("none") => Ok(None),
        Some(n) => CompressionAlgorithm::from_name(n)
            .map(Some)
            .with_context(|| format!("unknown compression {n:?} (none, zip, zlib, bzip2)")),
    }
}

pub(super) fn encrypt_cmd(args: &PgpEncrypt) -> anyhow::Result<()> {
    let recipients = certs(&args.recipient)?;
    let passwords = match &args.password_file {
        Some(p) => vec![Password::from(&io::read_passphrase(p)?[..])],
        None => Vec::new(),
    };
    if recipients.is_empty() && passwords.is_empty() {
        bail!("give at least one --recipient or a --password-file");
    }
    let signers = match &args.sign_with {
        Some(k) => secret_keys(std::slice::from_ref(k), args.passphrase_file.as_ref())?.signers()?,
        None => Vec::new(),
    };
    let (cipher, cipher_named) = cipher_choice(args.cipher.as_ref())?;
    let compression = compression_choice(args.compress.as_ref())?;
    let mut input = io::input(args.io.input.as_deref())?;
    let mut out = Output::open(args.io.output.as_deref(), false)?;
    let opts = EncryptOptions {
        recipients,
        passwords,
        signers,
        hash: HashAlgorithm::Sha256,
        cipher,
        cipher_named,
        compression,
        armor: args.armor,
    };
    encrypt(&mut input, out.writer(), opts, &Policy::default(), &mut SystemRng)?;
    out.commit()
}

pub(super) fn decrypt_cmd(args: &PgpDecrypt) -> anyhow::Result<()> {
    let keys = if args.key.is_empty() { None } else { Some(secret_keys(&args.key, args.passphrase_file.as_ref())?) };
    let passwords = match &args.password_file {
        Some(p) => vec![Password::from(&io::read_passphrase(p)?[..])],
        None => Vec::new(),
    };
    if keys.is_none() && passwords.is_empty() {
        bail!("give at least one --key or a --password-file");
    }
    let opts = DecryptOptions {
        verify_with: certs(&args.verify_with)?,
        passwords,
        allow_unauthenticated: args.allow_unauthenticated,
        budget: Budget::default(),
    };
    let policy = Policy { allow_unauthenticated: args.allow_unauthenticated, ..Policy::default() };
    let input = io::input(args.io.input.as_deref())?;
    let mut held = Held::open(args.io.output.as_deref())?;
    let verdict = decrypt(input, keys.as_ref(), &opts, &policy, held.writer())?;
    io::report_verdict(&verdict, args.verdict.verdict_json.as_deref())?;
    if !args.verify_with.is_empty() && !verdict.signature_ok() {
        return Err(VerdictFailure(format!(
            "decrypted, but the signature check asked for with --verify-with failed ({}); no plaintext written",
            verdict.status
        ))
        .into());
    }
    held.release()
}

pub(super) fn generate_cmd(args: &KeyGenerate) -> anyhow::Result<()> {
    let algo = match args.algo {
        KeyAlgo::Rsa2048 => GenerateAlgorithm::Rsa(2048),
        KeyAlgo::Rsa3072 => GenerateAlgorithm::Rsa(3072),
        KeyAlgo::Rsa4096 => GenerateAlgorithm::Rsa(4096),
        KeyAlgo::Ed25519 => GenerateAlgorithm::Ed25519,
    };
    let pass = passphrase(args.passphrase_file.as_ref())?;
    let cert = keys::generate(&args.uid, algo, pass.as_ref())?;
    let key_path = with_suffix(&args.output, "key");
    let cert_path = with_suffix(&args.output, "cert");
    io::create_secret_file(&key_path, &keys::armored_tsk(&cert)?)?;
    if let Err(e) = io::create_public_file(&cert_path, &keys::armored_cert(&cert)?) {
        let _ = std::fs::remove_file(&key_path);
        return Err(e);
    }
    eprintln!(
        "sealpost: generated {} -> {} (secret, 0600), {}",
        keys::describe(&cert),
        key_path.display(),
        cert_path.display()
    );
    Ok(())
}

pub(super) fn list_keys_cmd(args: &PgpListKeys) -> anyhow::Result<()> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let mut all = Vec::new();
    for p in &args.files {
        // Secret key files are read as such (and refused when others can read them); certificates as usual.
        let bytes = io::read_small(p, "key file")?;
        let certs = read_certs(&bytes).with_context(|| format!("reading {}", p.display()))?;
        for c in certs {
            if args.json {
                all.push(keys::json(&c));
            } else {
                for line in keys::list(&c) {
                    writeln!(out, "{line}")?;
                }
            }
        }
    }
    if args.json {
        writeln!(out, "{}", serde_json::to_string_pretty(&all)?)?;
    }
    Ok(())
}

fn with_suffix(prefix: &Path, suffix: &str) -> PathBuf {
    let mut s = prefix.as_os_str().to_owned();
    s.push(".");
    s.push(suffix);
    PathBuf::from(s)
}
