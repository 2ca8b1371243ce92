//! `sealpost smime sign|verify|encrypt|decrypt`: argument checking and files; the work is in
//! [`crate::smime`].

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use anyhow::{Context, bail};
use cms::cert::IssuerAndSerialNumber;
use x509_cert::Certificate;

use super::VerdictFailure;
use super::args::smime::{SmimeDecrypt, SmimeEncrypt, SmimeReceipt, SmimeSign, SmimeVerify, SmimeVerifyReceipt};
use super::files::{self as io, Held, Output};
use crate::core::digest::HashAlgorithm;
use crate::core::policy::Policy;
use crate::core::rand::SystemRng;
use crate::core::rsa::RsaPrivateKey;
use crate::smime::enveloped::{self, Choice, ContentCipher, Identity, KeyTransport, Recipient};
use crate::smime::signed::{self, SignOptions, Signer, VerifyOptions};
use crate::x509;

/// Every certificate in a file (PEM blocks, or one DER certificate).
fn certs(path: &Path) -> anyhow::Result<Vec<Certificate>> {
    let bytes = io::read_small(path, "certificate")?;
    let found = x509::Certificate::read_all(&bytes).with_context(|| format!("reading {}", path.display()))?;
    if found.is_empty() {
        bail!("{} holds no certificate", path.display());
    }
    Ok(found.into_iter().map(|c| c.inner().clone()).collect())
}

fn certs_all(paths: &[PathBuf]) -> anyhow::Result<Vec<Certificate>> {
    let mut out = Vec::new();
    for p in paths {
        out.extend(certs(p)?);
    }
    Ok(out)
}

/// The first certificate of a file: the user's own.
fn own_cert(path: &Path) -> anyhow::Result<Certificate> {
    certs(path)?.into_iter().next().with_context(|| format!("{} holds no certificate", path.display()))
}

fn private_key(path: &Path, passphrase: Option<&PathBuf>) -> anyhow::Result<RsaPrivateKey> {
    io::rsa_private_key(path, "private key", passphrase.map(PathBuf::as_path))
}

fn write_cms(out: &mut Output, der: &[u8], pem: bool) -> anyhow::Result<()> {
    if pem {
        out.writer().write_all(crate::smime::input::to_pem(der, "CMS").as_bytes())?;
    } else {
        out.writer().write_all(der)?;
    }
    Ok(())
}

/// Reads a CMS message in DER, BER or PEM as DER.
fn read_cms(path: Option<&Path>) -> anyhow::Result<Vec<u8>> {
    let bytes = match path {
        // A file is read in one go into a buffer of its size (growing a buffer copies a big message
        // several times).
        Some(p) if p != Path::new("-") => {
            if p.is_dir() {
                bail!("{} is a directory", p.display());
            }
            std::fs::read(p).with_context(|| format!("cannot read {}", p.display()))?
        }
        _ => {
            let mut bytes = Vec::new();
            std::io::Read::read_to_end(&mut io::input(path)?, &mut bytes).context("reading the message")?;
            bytes
        }
    };
    let der = crate::smime::input::cms_der(&bytes)?;
    Ok(match der {
        // DER as it came: keep the buffer rather than copy it.
        std::borrow::Cow::Borrowed(d) if d.len() == bytes.len() => bytes,
        other => other.into_owned(),
    })
}

pub(super) fn sign_cmd(args: &SmimeSign) -> anyhow::Result<()> {
    if args.cert.len() != args.key.len() {
        bail!("give one --key for each --cert ({} certificates, {} keys)", args.cert.len(), args.key.len());
    }
    let hash = match &args.digest {
        None => HashAlgorithm::Sha256,
        Some(n) => HashAlgorithm::from_name(n)
            .filter(|h| !matches!(h, HashAlgorithm::Md2))
            .with_context(|| format!("unknown digest {n:?} (sha256, sha384, sha512)"))?,
    };
    if matches!(hash, HashAlgorithm::Sha1 | HashAlgorithm::Md5) {
        // Issue #4 and RFC 8551 section 2.1: SHA-1 and MD5 are for reading old mail, never for new signatures.
        return Err(VerdictFailure(format!(
            "policy refuses {hash} for new S/MIME signatures (collisions are practical; it is accepted for \
             verification only); use sha256, sha384 or sha512"
        ))
        .into());
    }
    let named = args.digest.is_some();
    let cert_list: Vec<Certificate> = args.cert.iter().map(|c| own_cert(c)).collect::<Result<_, _>>()?;
    // A DSA, EC or DH certificate is "unsupported", said before its key is misread as a malformed RSA key.
    for (cert, path) in cert_list.iter().zip(&args.cert) {
        signed::cert_rsa_key(cert).with_context(|| format!("the signer certificate {}", path.display()))?;
    }
    let keys: Vec<RsaPrivateKey> =
        args.key.iter().map(|k| private_key(k, args.passphrase_file.as_ref())).collect::<Result<_, _>>()?;
    let chain = certs_all(&args.include)?;
    let signers: Vec<Signer<'_>> =
        cert_list.iter().zip(&keys).map(|(cert, key)| Signer { cert, key, chain: &chain }).collect();
    let opts = SignOptions {
        detached: args.detached,
        hash,
        hash_named: named,
        // A certificate whose key is id-RSASSA-PSS allows nothing else (RFC 4055 section 1.2), as OpenSSL does.
        pss: args.pss
            || cert_list
                .iter()
                .any(|c| c.tbs_certificate().subject_public_key_info().algorithm.oid == x509::signature::RSASSA_PSS),
        signing_time: SystemTime::now(),
        content_type: crate::smime::enveloped::ID_DATA,
        extra_attrs: receipt_request(args, &cert_list)?.into_iter().collect(),
    };
    let mut input = io::input(args.io.input.as_deref())?;
    let mut out = Output::open(args.io.output.as_deref(), false)?;
    if args.pem {
        // PEM needs the whole DER first; signing output is as big as the input only when attached.
        let mut der = Vec::new();
        signed::sign(&mut input, &mut der, &signers, &opts, &Policy::default())?;
        let der = crate::smime::input::cms_der(&der)?;
        write_cms(&mut out, &der, true)?;
    } else {
        let mut w = std::io::BufWriter::with_capacity(1 << 20, out.writer());
        signed::sign(&mut input, &mut w, &signers, &opts, &Policy::default())?;
        std::io::Write::flush(&mut w)?;
    }
    out.commit()
}

/// The ReceiptRequest attribute `--receipt-request` and `--receipt-to` ask for, if any.
fn receipt_request(args: &SmimeSign, certs: &[Certificate]) -> anyhow::Result<Option<x509_cert::attr::Attribute>> {
    use crate::smime::ess::{ReceiptRequest, ReceiptsFrom};
    let from = match args.receipt_request.as_slice() {
        [] => return Ok(None),
        [one] if one.eq_ignore_ascii_case("all") => ReceiptsFrom::All,
        [one] if one.eq_ignore_ascii_case("first") => ReceiptsFrom::FirstTier,
        list => {
            if let Some(bad) = list.iter().find(|a| !a.contains('@') || a.eq_ignore_ascii_case("all")) {
                bail!("--receipt-request takes all, first, or e-mail addresses, not {bad:?}");
            }
            ReceiptsFrom::Only(list.to_vec())
        }
    };
    let to = if args.receipt_to.is_empty() {
        let emails = certs.first().map(|c| x509::Certificate::from_x509(c.clone())).transpose()?.map(|c| c.emails());
        match emails.and_then(|e| e.into_iter().next()) {
            Some(e) => vec![e],
            None => bail!("the signer certificate has no e-mail address: give --receipt-to ADDR"),
        }
    } else {
        args.receipt_to.clone()
    };
    Ok(Some(ReceiptRequest::new(from, to, &mut SystemRng)?.attribute()?))
}

pub(super) fn receipt_cmd(args: &SmimeReceipt) -> anyhow::Result<()> {
    use crate::smime::ess;
    let cert = own_cert(&args.cert)?;
    let key = key_of(&cert, &args.cert, &args.key, args.passphrase_file.as_ref())?;
    let original = read_cms(Some(&args.signed))?;
    // RFC 2634 section 2.3: the original's signature is verified before its receipt request is acted on.
    let verdict = verifying(&[], &args.ca, args.ca.is_empty(), |opts| {
        Ok(match &args.content {
            Some(path) => signed::verify(&original, Some(&mut io::input(Some(path))?), opts, &mut std::io::sink())?,
            None => signed::verify(&original, None, opts, &mut std::io::sink())?,
        })
    })?;
    let policy = Policy::default();
    if !verdict.signature_ok() {
        return Err(VerdictFailure(format!(
            "the original does not verify ({}: {}); no receipt is made",
            verdict.status,
            verdict.summary()
        ))
        .into());
    }
    let emails = x509::Certificate::from_x509(cert.clone())?.emails();
    let requested = ess::requested(&original, &emails)?;
    let signer = Signer { cert: &cert, key: &key, chain: &[] };
    let der = ess::make_receipt(&requested, &signer, HashAlgorithm::Sha256, SystemTime::now(), &policy)?;
    let mut out = Output::open(args.output.as_deref(), false)?;
    write_cms(&mut out, &der, args.pem)?;
    out.commit()?;
    eprintln!(
        "smime: signed receipt made by {} for the message signed by {}; send it to {}",
        signed::describe(&cert),
        verdict
            .signers
            .iter()
            .find(|s| s.status == crate::core::verdict::SignerStatus::Good)
            .map_or("?", |s| s.id.as_str()),
        requested.request.to.join(", ")
    );
    Ok(())
}

/// Runs `f` with verification options: `certs` besides the message's own, and the signer's path to the
/// anchors in `ca` checked unless `no_chain`.
fn verifying<R>(
    certs: &[PathBuf],
    ca: &[PathBuf],
    no_chain: bool,
    f: impl FnOnce(&VerifyOptions<'_>) -> anyhow::Result<R>,
) -> anyhow::Result<R> {
    let extra = certs_all(certs)?;
    let anchors = certs_all(ca)?;
    let policy = Policy::default();
    let check = |leaf: &Certificate, pool: &[Certificate], at: Option<SystemTime>| {
        x509::check_chain(leaf, pool, &anchors, at, x509::Purpose::Sign, &policy)
            .map_err(crate::smime::SmimeError::from)
    };
    f(&VerifyOptions { certs: &extra, policy: &policy, chain: if no_chain { None } else { Some(&check) } })
}

/// The private key in `path`, refused unless it is the key of `cert`.
fn key_of(
    cert: &Certificate,
    cert_path: &Path,
    path: &Path,
    passphrase: Option<&PathBuf>,
) -> anyhow::Result<RsaPrivateKey> {
    let key = private_key(path, passphrase)?;
    let cert_key = signed::cert_rsa_key(cert).with_context(|| format!("the certificate {}", cert_path.display()))?;
    if cert_key.n() != key.public().n() {
        return Err(crate::smime::SmimeError::UnusableKey(format!(
            "the key {} does not belong to the certificate \"{}\"",
            path.display(),
            signed::describe(cert)
        ))
        .into());
    }
    Ok(key)
}

pub(super) fn verify_receipt_cmd(args: &SmimeVerifyReceipt) -> anyhow::Result<()> {
    if args.ca.is_empty() && !args.no_chain {
        bail!("give the trusted CA certificates with --ca, or --no-chain to check the signature only");
    }
    let original = read_cms(Some(&args.original))?;
    let receipt = read_cms(args.receipt.as_deref())?;
    let verdict = verifying(&args.cert, &args.ca, args.no_chain, |opts| {
        Ok(crate::smime::ess::verify_receipt(&receipt, &original, opts)?)
    })?;
    io::report_verdict(&verdict, args.verdict.verdict_json.as_deref())?;
    if !verdict.signature_ok() {
        return Err(VerdictFailure(format!("receipt verification failed: {}", verdict.status)).into());
    }
    eprintln!(
        "smime: the receipt answers {}: originatorSignatureValue, signedContentIdentifier, content type and \
         msgSigDigest match",
        args.original.display()
    );
    Ok(())
}

pub(super) fn verify_cmd(args: &SmimeVerify) -> anyhow::Result<()> {
    if args.ca.is_empty() && !args.no_chain {
        bail!("give the trusted CA certificates with --ca, or --no-chain to check the signature only");
    }
    verifying(&args.cert, &args.ca, args.no_chain, |opts| verify_with(args, opts))
}

fn verify_with(args: &SmimeVerify, opts: &VerifyOptions<'_>) -> anyhow::Result<()> {
    let verdict = match &args.signature {
        Some(sig) => {
            let der = read_cms(Some(sig))?;
            let mut content = io::input(args.io.input.as_deref())?;
            let verdict = signed::verify(&der, Some(&mut content), opts, &mut std::io::sink())?;
            io::report_verdict(&verdict, args.verdict.verdict_json.as_deref())?;
            verdict
        }
        None => {
            let der = read_cms(args.io.input.as_deref())?;
            let mut held = Held::open(args.io.output.as_deref())?;
            let verdict = signed::verify(&der, None, opts, held.writer())?;
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

fn issuer_serial(cert: &Certificate) -> IssuerAndSerialNumber {
    let tbs = cert.tbs_certificate();
    IssuerAndSerialNumber { issuer: tbs.issuer().clone(), serial_number: tbs.serial_number().clone() }
}

pub(super) fn encrypt_cmd(args: &SmimeEncrypt) -> anyhow::Result<()> {
    let (cipher, named) = match &args.cipher {
        None => (ContentCipher::from_name("aes256").context("aes256")?, false),
        Some(n) => (
            ContentCipher::from_name(n).with_context(|| {
                format!("unknown cipher {n:?} (aes256, aes192, aes128, aes256-gcm, aes128-gcm, 3des, des)")
            })?,
            true,
        ),
    };
    let mut recipients = Vec::new();
    for path in &args.recipient {
        let cert = own_cert(path)?;
        // An id-RSASSA-PSS key is for PSS signatures only (RFC 4055 section 1.2); OpenSSL refuses it too.
        if cert.tbs_certificate().subject_public_key_info().algorithm.oid == x509::signature::RSASSA_PSS {
            return Err(crate::smime::SmimeError::UnusableKey(format!(
                "\"{}\" has an RSASSA-PSS key, which may only sign (RFC 4055 section 1.2), not receive encrypted mail",
                signed::describe(&cert)
            )))
            .with_context(|| format!("the recipient certificate {}", path.display()));
        }
        let key =
            signed::cert_rsa_key(&cert).with_context(|| format!("the recipient certificate {}", path.display()))?;
        recipients.push(Recipient { id: issuer_serial(&cert), key });
    }
    let transport = if args.oaep { KeyTransport::Oaep(HashAlgorithm::Sha256) } else { KeyTransport::Pkcs1v15 };
    let policy = Policy { allow_broken: args.allow_broken, ..Policy::default() };
    let choice = Choice { policy: &policy, cipher_named: named };
    let mut input = io::input(args.io.input.as_deref())?;
    let mut out = Output::open(args.io.output.as_deref(), false)?;
    if args.pem {
        let mut ber = Vec::new();
        enveloped::encrypt(&mut input, &mut ber, &recipients, cipher, transport, &choice, &mut SystemRng)?;
        let der = crate::smime::input::cms_der(&ber)?;
        write_cms(&mut out, &der, true)?;
    } else {
        let mut w = std::io::BufWriter::with_capacity(1 << 20, out.writer());
        enveloped::encrypt(&mut input, &mut w, &recipients, cipher, transport, &choice, &mut SystemRng)?;
        std::io::Write::flush(&mut w)?;
    }
    out.commit()
}

pub(super) fn decrypt_cmd(args: &SmimeDecrypt) -> anyhow::Result<()> {
    let cert = own_cert(&args.cert)?;
    // With a key that is not the certificate's, implicit rejection gives a random content key, and CBC then
    // "decrypts" to garbage with valid padding about once in 256 tries: refuse the pair first.
    let key = key_of(&cert, &args.cert, &args.key, args.passphrase_file.as_ref())?;
    let ski = x509::Certificate::from_x509(cert.clone())?.subject_key_id();
    let me = Identity { id: issuer_serial(&cert), ski, key: &key };
    let der = read_cms(args.io.input.as_deref())?;
    let mut held = Held::open(args.io.output.as_deref())?;
    let verdict = enveloped::decrypt(&der, &me, &Policy::default(), held.writer())?;
    io::report_verdict(&verdict, args.verdict.verdict_json.as_deref())?;
    held.release()
}
