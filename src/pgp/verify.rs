//! Verifying OpenPGP signatures: inline signed messages (one-pass and old-style), cleartext signatures
//! and detached signatures, each signer reported in the core's verdict with weak labels from the core policy.
//!
//! sequoia does the parsing and the mathematics; our [`Helper`] hands it the certificates the user gave and
//! turns its per-signature results into [`SignerResult`]s. Signed content goes into a
//! [`Spool`] and is released by the caller only when the verdict allows it.

use std::io::{self, Read, Write};

use openpgp::parse::Parse;
use openpgp::parse::stream::{
    DetachedVerifierBuilder, MessageLayer, MessageStructure, VerificationError, VerificationHelper, VerifierBuilder,
};
use openpgp::types::CompressionAlgorithm as PgpCompression;
use openpgp::{Cert, KeyHandle};
use sequoia_openpgp as openpgp;

use super::keys::{describe, sanitize};
use super::policy::{self, sequoia_policy};
use super::{PgpError, from_sequoia};
use crate::core::compress::Budget;
use crate::core::policy::{Policy, Usage, Weakness};
use crate::core::verdict::{Format, SignerResult, SignerStatus, Verdict};

/// How much signed data sequoia may hold back while it waits for the signatures at the end of a message.
/// Our own [`Spool`] holds back everything anyway, so sequoia's buffer is kept small (RSS).
pub const SEQUOIA_BUFFER: usize = 256 * 1024;

/// The verification helper: certificates in, signer results out.
pub struct Helper {
    certs: Vec<Cert>,
    policy: Policy,
    /// One entry per signature, in message order.
    pub signers: Vec<SignerResult>,
    /// Compression layers seen.
    pub compression: Vec<PgpCompression>,
}

impl Helper {
    /// A helper that checks signatures against `certs` and labels them by `policy`.
    pub fn new(certs: Vec<Cert>, policy: Policy) -> Helper {
        Helper { certs, policy, signers: Vec::new(), compression: Vec::new() }
    }

    fn signer_from(&self, result: &openpgp::parse::stream::VerificationResult<'_>) -> SignerResult {
        match result {
            Ok(good) => {
                let mut r = SignerResult::new(describe(good.ka.cert()), SignerStatus::Good);
                self.label(&mut r, good.sig.hash_algo(), good.ka.key().mpis().bits(), good.ka.key().pk_algo());
                r
            }
            Err(VerificationError::MissingKey { sig }) => {
                let issuers: Vec<String> = sig.get_issuers().iter().map(|h| h.to_string()).collect();
                let mut r = SignerResult::new(format!("unknown key {}", issuers.join(" ")), SignerStatus::UnknownKey);
                r.hash = Some(hash_name(sig.hash_algo()));
                r.detail = Some("no certificate for this signer was given".into());
                r
            }
            Err(VerificationError::BadSignature { sig, ka, error }) => {
                let mut r = SignerResult::new(describe(ka.cert()), SignerStatus::Bad);
                self.label(&mut r, sig.hash_algo(), ka.key().mpis().bits(), ka.key().pk_algo());
                r.detail = Some(sanitize(&format!("{error}")));
                r
            }
            Err(VerificationError::BadKey { sig, ka, error }) => {
                let mut r = SignerResult::new(describe(ka.cert()), SignerStatus::Error);
                self.label(&mut r, sig.hash_algo(), ka.key().mpis().bits(), ka.key().pk_algo());
                r.detail = Some(sanitize(&format!("the signing key is not valid for this signature: {error}")));
                r
            }
            Err(VerificationError::UnboundKey { sig, cert, error }) => {
                let mut r = SignerResult::new(describe(cert), SignerStatus::Error);
                r.hash = Some(hash_name(sig.hash_algo()));
                r.detail = Some(sanitize(&format!("the signing key is not bound to its certificate: {error}")));
                r
            }
            Err(VerificationError::MalformedSignature { sig, error }) => {
                let mut r = SignerResult::new("malformed signature", SignerStatus::Error);
                r.hash = Some(hash_name(sig.hash_algo()));
                r.detail = Some(sanitize(&format!("{error}")));
                r
            }
            Err(VerificationError::UnknownSignature { .. }) => {
                let mut r = SignerResult::new("unknown signature", SignerStatus::Error);
                r.detail = Some("a signature packet of an unknown version or algorithm".into());
                r
            }
            Err(other) => {
                let mut r = SignerResult::new("signature", SignerStatus::Error);
                r.detail = Some(sanitize(&format!("{other}")));
                r
            }
        }
    }

    fn label(
        &self,
        r: &mut SignerResult,
        hash: openpgp::types::HashAlgorithm,
        bits: Option<usize>,
        pk: openpgp::types::PublicKeyAlgorithm,
    ) {
        r.hash = Some(hash_name(hash));
        r.key_bits = bits;
        r.key_algorithm = Some(pk.to_string().to_lowercase());
        if let Some(h) = policy::hash(hash)
            && let Ok(a) = self.policy.check(h.algorithm(), Usage::Verify, false)
        {
            r.weak.extend(a.weak);
        }
        if let (true, Some(b)) = (policy::is_rsa(pk), bits)
            && let Ok(a) = self.policy.check_rsa(b, Usage::Verify)
        {
            r.weak.extend(a.weak);
        }
    }
}

fn hash_name(h: openpgp::types::HashAlgorithm) -> String {
    policy::hash(h).map(|h| h.name().to_string()).unwrap_or_else(|| h.to_string().to_lowercase())
}

impl VerificationHelper for Helper {
    fn get_certs(&mut self, _ids: &[KeyHandle]) -> openpgp::Result<Vec<Cert>> {
        Ok(self.certs.clone())
    }

    fn check(&mut self, structure: MessageStructure) -> openpgp::Result<()> {
        for layer in structure.iter() {
            match layer {
                MessageLayer::Compression { algo } => self.compression.push(*algo),
                MessageLayer::Encryption { .. } => {}
                MessageLayer::SignatureGroup { results } => {
                    for r in results {
                        let s = self.signer_from(r);
                        self.signers.push(s);
                    }
                }
            }
        }
        // The verdict decides; sequoia must not abort the stream on a bad signature.
        Ok(())
    }
}

/// Charges everything written through it to a decompression budget: sequoia decompresses inner layers, and
/// what comes out of them is what the budget limits.
pub struct Budgeted<W: Write> {
    inner: W,
    budget: Budget,
}

impl<W: Write> Budgeted<W> {
    /// Wraps `inner`.
    pub fn new(inner: W, budget: Budget) -> Budgeted<W> {
        Budgeted { inner, budget }
    }

    /// The inner writer.
    pub fn into_inner(self) -> W {
        self.inner
    }
}

impl<W: Write> Write for Budgeted<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.budget.charge_output(buf.len() as u64).map_err(io::Error::other)?;
        self.inner.write_all(buf)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Fills in a verdict's signers and compression from a finished helper.
pub fn apply(helper: Helper, verdict: &mut Verdict) {
    if let Some(c) = helper.compression.first() {
        // OpenPGP's own names, as `--compress` takes them.
        verdict.algorithms.compression = Some(match c {
            PgpCompression::Zip => "zip".to_string(),
            PgpCompression::Zlib => "zlib".to_string(),
            PgpCompression::BZip2 => "bzip2".to_string(),
            other => other.to_string().to_lowercase(),
        });
    }
    verdict.signers = helper.signers;
}

/// Verifies an inline-signed message or a cleartext-signed text read from `input`; the signed content goes
/// to `sink`, a holding place (a [`Spool`] or a private temporary file) that the caller releases only when
/// the verdict allows.
///
/// [`Spool`]: crate::core::pipeline::Spool
pub fn verify_inline(
    input: impl Read + Send + Sync,
    certs: Vec<Cert>,
    policy: &Policy,
    budget: &Budget,
    sink: &mut (dyn Write + Send + Sync),
) -> Result<Verdict, PgpError> {
    let sp = sequoia_policy();
    let helper = Helper::new(certs, policy.clone());
    let mut v = VerifierBuilder::from_reader(input)
        .map_err(from_sequoia)?
        .buffer_size(SEQUOIA_BUFFER)
        .with_policy(&sp, None, helper)
        .map_err(from_sequoia)?;
    let mut out = Budgeted::new(sink, budget.clone());
    io::copy(&mut v, &mut out).map_err(PgpError::from)?;
    let mut verdict = Verdict::new(Format::Pgp);
    apply(v.into_helper(), &mut verdict);
    Ok(verdict.finish())
}

/// Verifies a detached signature over `data`.
pub fn verify_detached(
    signature: &[u8],
    data: impl Read + Send + Sync,
    certs: Vec<Cert>,
    policy: &Policy,
) -> Result<Verdict, PgpError> {
    let sp = sequoia_policy();
    let helper = Helper::new(certs, policy.clone());
    let mut v = DetachedVerifierBuilder::from_bytes(signature)
        .map_err(from_sequoia)?
        .with_policy(&sp, None, helper)
        .map_err(from_sequoia)?;
    v.verify_reader(data).map_err(from_sequoia)?;
    let mut verdict = Verdict::new(Format::Pgp);
    apply(v.into_helper(), &mut verdict);
    Ok(verdict.finish())
}

/// Weak labels the core policy gives a symmetric algorithm read from a message.
pub fn cipher_weakness(policy: &Policy, alg: openpgp::types::SymmetricAlgorithm) -> Vec<Weakness> {
    policy::cipher_identity(alg)
        .and_then(|a| policy.check(a, Usage::Decrypt, false).ok())
        .map(|a| a.weak)
        .unwrap_or_default()
}
