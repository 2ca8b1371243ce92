//! Verifying OpenPGP signatures: inline signed messages (one-pass and old-style), cleartext signatures
//! and detached signatures, each signer reported in the core's verdict with weak labels from the core policy.
//!
//! sequoia does the parsing and the mathematics; our [`Helper`] hands it the certificates the user gave and
//! turns its per-signature results into [`SignerResult`]s. Signed content goes into a
//! [`Spool`] and is released by the caller only when the verdict allows it.

use std::io::{self, Read, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use openpgp::packet::{Packet, Signature};
use openpgp::parse::stream::{
    DetachedVerifierBuilder, MessageLayer, MessageStructure, VerificationError, VerificationHelper, VerifierBuilder,
};
use openpgp::parse::{PacketParserBuilder, PacketParserResult, Parse};
use openpgp::serialize::Serialize;
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
                // Keys from before key flags existed (RFC 2440) carry none: like GnuPG, infer signing
                // capability from the algorithm, and check the signature over the digest sequoia computed.
                let flagless = ka.key_flags().is_none() && ka.key().pk_algo().for_signing();
                let checked = flagless && sig.computed_digest().is_some_and(|d| sig.verify_digest(ka.key(), d).is_ok());
                if checked {
                    r.status = SignerStatus::Good;
                    r.detail = Some("the key has no key flags; its algorithm allows signing".into());
                } else {
                    r.detail = Some(sanitize(&format!("the signing key is not valid for this signature: {error}")));
                }
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
        if let Ok(a) = policy::check_key(&self.policy, pk, bits, Usage::Verify) {
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

/// Most signatures (one-pass or plain) an inner message may carry. Real mail has one or two; sequoia's
/// handling of many nested one-pass signatures grows quadratically (50 000 take minutes).
pub const MAX_SIGNATURES: usize = 64;
/// Deepest nesting of containers (compressed packets) accepted.
pub const MAX_DEPTH: u8 = 8;
/// How much of the start of a message is looked at to tell its layout.
const PEEK: usize = 256 * 1024;

/// Counts the bytes read through it, for the budget's expansion ratio.
struct Counted<R: Read> {
    inner: R,
    count: Arc<AtomicU64>,
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// Charges everything written through it to a decompression budget: sequoia decompresses the inner layers,
/// so what comes out, against what went in, is what the budget limits (total size and expansion ratio).
pub struct Budgeted<W: Write> {
    inner: W,
    budget: Budget,
    input: Arc<AtomicU64>,
    written: u64,
}

impl<W: Write> Budgeted<W> {
    /// Wraps `inner`; `input` counts the bytes the producer has read.
    fn new(inner: W, budget: Budget, input: Arc<AtomicU64>) -> Budgeted<W> {
        Budgeted { inner, budget, input, written: 0 }
    }
}

impl<W: Write> Write for Budgeted<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.written += buf.len() as u64;
        self.budget
            .charge(buf.len() as u64, self.input.load(Ordering::Relaxed), self.written)
            .map_err(io::Error::other)?;
        self.inner.write_all(buf)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// A budgeted sink for a stream whose input is not counted (sequoia's AEAD decryptor): the total is checked.
pub fn budgeted(sink: &mut (dyn Write + Send + Sync), budget: Budget) -> Budgeted<&mut (dyn Write + Send + Sync)> {
    Budgeted::new(sink, budget, Arc::new(AtomicU64::new(u64::MAX / 2)))
}

/// Copies a literal packet's body to a sink while a detached verifier reads it, and remembers the first
/// error reading it.
struct Tee<'r, 'w, R: Read> {
    inner: &'r mut R,
    sink: &'w mut (dyn Write + Send + Sync),
    /// The first read error: the packet parser must not be used after one (see `verify_signatures_first`).
    failed: Option<String>,
}

impl<R: Read> Read for Tee<'_, '_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf).inspect_err(|e| {
            self.failed.get_or_insert_with(|| e.to_string());
        })?;
        self.sink.write_all(&buf[..n])?;
        Ok(n)
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

/// How an inner message is laid out.
#[derive(Debug, PartialEq, Eq)]
enum Layout {
    /// One-pass signatures (or none) before the literal data: sequoia's verifier reads it.
    OnePass,
    /// Signatures before the literal data without one-pass packets (PGP 2.x, 5.x, 6.x): sequoia's
    /// streaming verifier does not hash for these, so they are checked as detached signatures.
    SignaturesFirst,
    /// One literal data packet and nothing else (no signatures, no compression): read by
    /// [`super::literal`], without sequoia's buffering layers.
    Literal,
}

/// Looks at the start of a message: its layout, and the limits on signatures and nesting.
fn scan(prefix: &[u8]) -> Result<Layout, PgpError> {
    // Cleartext signatures (RFC 9580 section 7) are sequoia's verifier's to read.
    let text_start = prefix.iter().position(|b| !b.is_ascii_whitespace()).unwrap_or(prefix.len());
    if prefix[text_start..].starts_with(b"-----BEGIN PGP SIGNED MESSAGE-----") {
        return Ok(Layout::OnePass);
    }
    if super::literal::starts_with_literal(prefix) {
        return Ok(Layout::Literal);
    }
    let builder = PacketParserBuilder::from_bytes(prefix).map(|b| b.max_recursion_depth(MAX_DEPTH));
    let Ok(Ok(mut ppr)) = builder.map(|b| b.build()) else {
        // Not even the start parses: let the real parse report it.
        return Ok(Layout::OnePass);
    };
    let (mut ops, mut sigs) = (0usize, 0usize);
    while let PacketParserResult::Some(pp) = ppr {
        match &pp.packet {
            Packet::OnePassSig(_) => ops += 1,
            Packet::Signature(_) => sigs += 1,
            Packet::Literal(_) => break,
            _ => {}
        }
        if ops + sigs > MAX_SIGNATURES {
            return Err(PgpError::Malformed(format!("more than {MAX_SIGNATURES} signatures in one message")));
        }
        ppr = match pp.recurse() {
            Ok((_, next)) => next,
            // The prefix ends mid-packet: what was seen decides.
            Err(_) => break,
        };
    }
    Ok(if sigs > 0 && ops == 0 { Layout::SignaturesFirst } else { Layout::OnePass })
}

/// Reads an inner message (literal data, perhaps compressed, perhaps signed in either layout, or a
/// cleartext-signed text), writes the literal data to `sink` and checks the signatures. What reaches `sink`
/// must be held until the caller has the verdict.
pub fn verify_stream(
    input: Box<dyn Read + Send + Sync + '_>,
    helper: Helper,
    budget: &Budget,
    sink: &mut (dyn Write + Send + Sync),
) -> Result<Helper, PgpError> {
    let count = Arc::new(AtomicU64::new(0));
    let mut input = Counted { inner: input, count: Arc::clone(&count) };
    let mut prefix = Vec::with_capacity(PEEK);
    (&mut input).take(PEEK as u64).read_to_end(&mut prefix)?;
    let layout = scan(&prefix)?;
    let full = io::Cursor::new(prefix).chain(input);
    let mut out = Budgeted::new(sink, budget.clone(), count);
    let sp = sequoia_policy();
    match layout {
        Layout::OnePass => {
            let mut v = VerifierBuilder::from_reader(full)
                .map_err(from_sequoia)?
                .buffer_size(SEQUOIA_BUFFER)
                .with_policy(&sp, None, helper)
                .map_err(from_sequoia)?;
            io::copy(&mut v, &mut out).map_err(PgpError::from)?;
            Ok(v.into_helper())
        }
        Layout::SignaturesFirst => verify_signatures_first(full, helper, &mut out),
        Layout::Literal => {
            let mut full = full;
            super::literal::copy_literal(&mut full, &mut out)?;
            Ok(helper)
        }
    }
}

fn verify_signatures_first(
    input: impl Read + Send + Sync,
    mut helper: Helper,
    sink: &mut (dyn Write + Send + Sync),
) -> Result<Helper, PgpError> {
    let sp = sequoia_policy();
    let mut sigs: Vec<Signature> = Vec::new();
    let mut literals = 0;
    let mut ppr = PacketParserBuilder::from_reader(input)
        .map_err(from_sequoia)?
        .max_recursion_depth(MAX_DEPTH)
        .build()
        .map_err(from_sequoia)?;
    while let PacketParserResult::Some(mut pp) = ppr {
        match &pp.packet {
            Packet::Signature(s) => {
                if sigs.len() >= MAX_SIGNATURES {
                    return Err(PgpError::Malformed(format!("more than {MAX_SIGNATURES} signatures in one message")));
                }
                sigs.push(s.clone());
            }
            Packet::CompressedData(c) => helper.compression.push(c.algo()),
            Packet::Marker(_) | Packet::Padding(_) => {}
            Packet::Literal(_) if literals == 0 => {
                literals += 1;
                let mut bytes = Vec::new();
                for s in &sigs {
                    Packet::from(s.clone()).serialize(&mut bytes).map_err(from_sequoia)?;
                }
                let mut v = DetachedVerifierBuilder::from_bytes(&bytes)
                    .map_err(from_sequoia)?
                    .with_policy(&sp, None, helper)
                    .map_err(from_sequoia)?;
                let mut tee = Tee { inner: &mut pp, sink: &mut *sink, failed: None };
                let verified = v.verify_reader(&mut tee);
                // After an error reading a packet's body (bad armor, say), sequoia 2.4's packet parser has
                // lost its body hash and panics on the next step (`PacketParser::data_consume` returns early
                // without putting it back): stop here. Found by fuzzing (tests/regressions/
                // pgp-read-error-then-recurse-panics.asc).
                if let Some(e) = tee.failed {
                    return Err(PgpError::Malformed(format!("the literal data cannot be read: {e}")));
                }
                verified.map_err(from_sequoia)?;
                helper = v.into_helper();
            }
            Packet::Literal(_) => return Err(PgpError::Malformed("more than one literal data packet".into())),
            other => return Err(PgpError::Malformed(format!("unexpected {} in a signed message", other.tag()))),
        }
        ppr = pp.recurse().map_err(from_sequoia)?.1;
    }
    if literals == 0 {
        return Err(PgpError::Malformed("no literal data in the message".into()));
    }
    Ok(helper)
}

/// Verifies an inline-signed message or a cleartext-signed text read from `input`; the signed content goes
/// to `sink`, a holding place (a [`crate::core::pipeline::Spool`] or a private temporary file) that the caller
/// releases only when the verdict allows.
pub fn verify_inline(
    input: impl Read + Send + Sync,
    certs: Vec<Cert>,
    policy: &Policy,
    budget: &Budget,
    sink: &mut (dyn Write + Send + Sync),
) -> Result<Verdict, PgpError> {
    let helper = verify_stream(Box::new(input), Helper::new(certs, policy.clone()), budget, sink)?;
    let mut verdict = Verdict::new(Format::Pgp);
    apply(helper, &mut verdict);
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
