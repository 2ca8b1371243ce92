//! `sealpost pem sign|verify|encrypt|decrypt`: argument checking and files; the work is in [`crate::pem`].

use std::path::Path;

use anyhow::{Context, bail};

use super::VerdictFailure;
use super::args::pem::{PemDecrypt, PemEncrypt, PemMode, PemShow, PemSign, PemVerify};
use super::files::{self as io, Held, Output};
use crate::core::cipher::CipherAlgorithm;
use crate::core::policy::Policy;
use crate::core::rand::SystemRng;
use crate::core::verdict::Verdict;
use crate::pem::encrypted::{self, Recipient};
use crate::pem::message::{Kind, Message};
use crate::pem::mic::{self, SignOptions};
use crate::pem::symmetric::{self, InterchangeKey};
use crate::pem::{Trust, crl};
use crate::x509::Certificate;
use crate::x509::encoding::certificate_ders;

/// DER of every certificate in a file (PEM blocks, or one DER certificate).
fn cert_ders(path: &Path) -> anyhow::Result<Vec<Vec<u8>>> {
    let bytes = io::read_small(path, "certificate")?;
    certificate_ders(&bytes).with_context(|| format!("reading {}", path.display()))
}

/// Every certificate in every file.
fn certificates(paths: &[std::path::PathBuf]) -> anyhow::Result<Vec<Certificate>> {
    let mut out = Vec::new();
    for p in paths {
        for der in cert_ders(p)? {
            out.push(Certificate::from_der(&der).with_context(|| format!("reading {}", p.display()))?);
        }
    }
    Ok(out)
}

fn interchange_key(path: &Path) -> anyhow::Result<InterchangeKey> {
    let bytes = io::read_secret(path, "interchange key")?;
    InterchangeKey::from_hex(&bytes).with_context(|| format!("reading {}", path.display()))
}

/// Reports the verdict; releases the text (canonical form turned back to local LF line ends) only when the
/// MIC verified.
fn release(
    verdict: &Verdict,
    canonical: &[u8],
    args: &super::args::VerdictOut,
    out: Option<&Path>,
) -> anyhow::Result<()> {
    io::report_verdict(verdict, args.verdict_json.as_deref())?;
    if !verdict.signature_ok() {
        return Err(VerdictFailure(format!("the MIC does not verify: {}", verdict.status)).into());
    }
    let local = String::from_utf8_lossy(canonical).replace("\r\n", "\n");
    let mut held = Held::open(out)?;
    held.writer().write_all(local.as_bytes())?;
    held.release()
}

fn read_text(path: Option<&Path>) -> anyhow::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    std::io::Read::read_to_end(&mut io::input(path)?, &mut bytes).context("reading the input")?;
    Ok(bytes)
}

pub(super) fn encrypt_cmd(args: &PemEncrypt) -> anyhow::Result<()> {
    let cipher = match args.cipher.as_deref() {
        None | Some("des-ede3-cbc") => CipherAlgorithm::TripleDes,
        Some("des-cbc") => CipherAlgorithm::Des,
        Some(other) => bail!("unknown DEK cipher {other:?} (des-ede3-cbc, des-cbc)"),
    };
    let key = io::rsa_private_key(&args.key, "private key", args.passphrase_file.as_deref())?;
    let cert = match &args.cert {
        Some(p) => Some(cert_ders(p)?.into_iter().next().context("no certificate")?),
        None => None,
    };
    let mut recipients = Vec::new();
    for p in &args.recipient {
        recipients.push(cert_ders(p)?.into_iter().next().context("no certificate")?);
    }
    let recipients: Vec<Recipient<'_>> = recipients.iter().map(|c| Recipient { cert: c }).collect();
    let text = read_text(args.io.input.as_deref())?;
    let msg = encrypted::encrypt(&text, &key, cert.as_deref(), &recipients, cipher, &mut SystemRng)?;
    let mut out = Output::open(args.io.output.as_deref(), false)?;
    out.writer().write_all(msg.as_bytes())?;
    out.commit()
}

pub(super) fn decrypt_cmd(args: &PemDecrypt) -> anyhow::Result<()> {
    let text = read_text(args.io.input.as_deref())?;
    let trust = Trust { certs: certificates(&args.originator_cert)?, anchors: certificates(&args.ca)? };
    let (verdict, canonical) = match (&args.interchange_key, &args.key) {
        (Some(ik), _) => symmetric::open(&text, &interchange_key(ik)?, &Policy::default())?,
        (None, Some(key)) => {
            let key = io::rsa_private_key(key, "private key", args.passphrase_file.as_deref())?;
            let cert = match &args.cert {
                Some(p) => Some(cert_ders(p)?.into_iter().next().context("no certificate")?),
                None => None,
            };
            encrypted::decrypt(&text, &key, cert.as_deref(), &trust, &Policy::default())?
        }
        (None, None) => bail!("give --key (asymmetric key management) or --interchange-key (symmetric)"),
    };
    release(&verdict, &canonical, &args.verdict, args.io.output.as_deref())
}

pub(super) fn sign_cmd(args: &PemSign) -> anyhow::Result<()> {
    if let Some(h) = &args.hash
        && !h.eq_ignore_ascii_case("md5")
    {
        bail!("MIC hash {h:?}: only md5 is produced (RSA-MD2 is verify-only; RFC 1423 offers nothing stronger)");
    }
    let key = io::rsa_private_key(&args.key, "private key", args.passphrase_file.as_deref())?;
    let cert = match &args.cert {
        Some(p) => Some(cert_ders(p)?.into_iter().next().context("no certificate")?),
        None => None,
    };
    let mut issuers = Vec::new();
    for p in &args.issuer_cert {
        issuers.extend(cert_ders(p)?);
    }
    let kind = match args.mode {
        PemMode::MicClear => Kind::MicClear,
        PemMode::MicOnly => Kind::MicOnly,
    };
    let text = read_text(args.io.input.as_deref())?;
    let msg = mic::sign(&text, &key, &SignOptions { kind, cert: cert.as_deref(), issuers: &issuers })?;
    let mut out = Output::open(args.io.output.as_deref(), false)?;
    out.writer().write_all(msg.as_bytes())?;
    out.commit()
}

pub(super) fn verify_cmd(args: &PemVerify) -> anyhow::Result<()> {
    let trust = Trust { certs: certificates(&args.cert)?, anchors: certificates(&args.ca)? };
    let text = read_text(args.io.input.as_deref())?;
    let kind = Message::parse(&text)?.kind;
    if matches!(kind, Kind::Crl | Kind::CrlRetrievalRequest) {
        let (verdict, listing) = crl::check(&text, &trust, &Policy::default())?;
        io::report_verdict(&verdict, args.verdict.verdict_json.as_deref())?;
        let mut out = Output::open(args.io.output.as_deref(), false)?;
        out.writer().write_all(listing.as_bytes())?;
        out.commit()?;
        if !verdict.signature_ok() {
            return Err(VerdictFailure(format!("CRL verification failed: {}", verdict.status)).into());
        }
        return Ok(());
    }
    let (verdict, canonical) = match &args.interchange_key {
        Some(ik) => symmetric::open(&text, &interchange_key(ik)?, &Policy::default())?,
        None => mic::verify(&text, &trust, &Policy::default())?,
    };
    release(&verdict, &canonical, &args.verdict, args.io.output.as_deref())
}

pub(super) fn show_cmd(args: &PemShow) -> anyhow::Result<()> {
    let text = read_text(args.io.input.as_deref())?;
    let description = crl::describe(&text)?;
    let mut out = Output::open(args.io.output.as_deref(), false)?;
    out.writer().write_all(description.as_bytes())?;
    out.commit()
}
