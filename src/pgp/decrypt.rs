//! Decrypting: session keys from PKESK (our secret keys) or SKESK (passwords), the symmetric layer by the
//! core ([`super::seipd`]), then the inner message (compression, signatures, literal data) by sequoia.
//!
//! One streaming pass: ciphertext -> [`SeipdReader`] (core CFB, MDC held back and checked at the end) ->
//! sequoia's verifier (inner packets, decompression charged to the shared [`Budget`], signatures) -> the
//! caller's sink. What reaches the sink is unauthenticated until [`decrypt`] returns `Ok`: the sink must be a
//! holding place (a [`crate::core::pipeline::Spool`], or a private temporary file renamed into place only on
//! success), never the final destination. SED packets, which have no MDC, are refused unless
//! unauthenticated decryption is allowed. SEIPD v2 (AEAD) messages are handed to sequoia's decryptor, which
//! authenticates every chunk.

use std::io::{self, Cursor, Read, Write};
use std::sync::{Arc, Mutex};

use openpgp::crypto::{Password, SessionKey};
use openpgp::packet::{PKESK, Packet, SKESK, Tag};
use openpgp::parse::stream::{DecryptionHelper, DecryptorBuilder, MessageStructure, VerificationHelper};
use openpgp::parse::{PacketParserBuilder, PacketParserResult, Parse};
use openpgp::types::SymmetricAlgorithm as PgpSymmetric;
use openpgp::{Cert, KeyHandle};
use sequoia_openpgp as openpgp;
use zeroize::Zeroizing;

use super::keys::{KeyDecryptor, SecretKeys};
use super::policy::{self, sequoia_policy};
use super::seipd::{Candidate, Container, SeipdReader};
use super::verify::{self, Helper, SEQUOIA_BUFFER};
use super::{PgpError, from_sequoia};
use crate::core::compress::Budget;
use crate::core::policy::{Policy, Usage, Weakness};
use crate::core::verdict::{Format, Integrity, Verdict};

/// Options for [`decrypt`].
pub struct DecryptOptions {
    /// Certificates to verify inner signatures with.
    pub verify_with: Vec<Cert>,
    /// Passwords to try on SKESK packets.
    pub passwords: Vec<Password>,
    /// Decrypt SED packets (no integrity protection).
    pub allow_unauthenticated: bool,
    /// Shared decompression budget.
    pub budget: Budget,
}

/// Bytes of ESK packets we keep to hand a SEIPD v2 message to sequoia from its start.
const REWIND_LIMIT: usize = 4 << 20;

/// A reader shared between our packet parser and, if the message turns out to be SEIPD v2, sequoia's
/// decryptor: it records what it hands out until [`Rewind::stop`], so the message can be read again from
/// the start.
#[derive(Clone)]
struct Rewind(Arc<Mutex<RewindState>>);

struct RewindState {
    inner: Box<dyn Read + Send + Sync>,
    recorded: Vec<u8>,
    recording: bool,
}

impl Rewind {
    fn new(inner: Box<dyn Read + Send + Sync>) -> Rewind {
        Rewind(Arc::new(Mutex::new(RewindState { inner, recorded: Vec::new(), recording: true })))
    }

    fn stop(&self) {
        if let Ok(mut s) = self.0.lock() {
            s.recording = false;
            s.recorded = Vec::new();
        }
    }

    /// Everything from the start: what was recorded, then the rest of the input.
    fn replay(&self) -> Result<impl Read + Send + Sync + use<>, PgpError> {
        let mut s = self.0.lock().map_err(|_| PgpError::Malformed("internal lock poisoned".into()))?;
        if !s.recording {
            return Err(PgpError::Unsupported("a SEIPD v2 message after more than 4 MiB of key packets".into()));
        }
        s.recording = false;
        let head = std::mem::take(&mut s.recorded);
        drop(s);
        Ok(Cursor::new(head).chain(Passthrough(self.clone())))
    }
}

impl Read for Rewind {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let mut s = self.0.lock().map_err(|_| io::Error::other("lock poisoned"))?;
        let n = s.inner.read(buf)?;
        if s.recording {
            if s.recorded.len() + n > REWIND_LIMIT {
                s.recording = false;
                s.recorded = Vec::new();
            } else {
                s.recorded.extend_from_slice(&buf[..n]);
            }
        }
        Ok(n)
    }
}

/// The rest of a [`Rewind`]'s input, no longer recorded.
struct Passthrough(Rewind);

impl Read for Passthrough {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let mut s = (self.0).0.lock().map_err(|_| io::Error::other("lock poisoned"))?;
        s.inner.read(buf)
    }
}

/// What the ESK packets gave.
#[derive(Default)]
struct SessionKeys {
    /// Keys for ciphers the core implements.
    candidates: Vec<Candidate>,
    /// How each was obtained ("public-key", "password").
    how: Vec<&'static str>,
    /// A session key was recovered for a cipher only sequoia implements (Blowfish, Twofish, Camellia).
    foreign: bool,
    /// Weak labels of the keys that opened a PKESK (an ElGamal or RSA key under 2048 bits).
    weak: Vec<Weakness>,
}

/// Largest Argon2 memory tried, as RFC 9580's exponent (section 3.7.1.4): 2^21 KiB = 2 GiB, the first of its
/// recommended parameter sets.
const MAX_ARGON2_MEMORY_EXPONENT: u8 = 21;
/// Most Argon2 work tried: passes times KiB, four passes over 2 GiB (the recommended sets do one over 2 GiB,
/// or three over 64 MiB).
const MAX_ARGON2_WORK: u64 = 4 << 21;

/// Whether a SKESK's S2K is worth trying a password on. The message chooses the Argon2 parameters, and
/// sequoia allocates and fills whatever they ask for: 2^22 KiB takes 4 GiB and half a minute, 2^31 KiB is
/// 2 TiB, t = 255 multiplies the time by 255. A SKESK asking for more than [`MAX_ARGON2_MEMORY_EXPONENT`]
/// and [`MAX_ARGON2_WORK`] is not tried (tests/regressions/pgp-argon2-s2k-4gib.pgp).
fn s2k_affordable(skesk: &SKESK) -> bool {
    let s2k = match skesk {
        SKESK::V4(s) => s.s2k(),
        SKESK::V6(s) => s.s2k(),
        _ => return true,
    };
    match s2k {
        openpgp::crypto::S2K::Argon2 { t, m, .. } => {
            *m <= MAX_ARGON2_MEMORY_EXPONENT && u64::from(*t) << *m <= MAX_ARGON2_WORK
        }
        _ => true,
    }
}

/// Session keys we could recover, from every PKESK and SKESK we can open.
fn session_keys(
    pkesks: &[PKESK],
    skesks: &[SKESK],
    decryptors: &mut [KeyDecryptor],
    passwords: &[Password],
    policy: &Policy,
) -> SessionKeys {
    let mut found = SessionKeys::default();
    let push =
        |found: &mut SessionKeys, algo: PgpSymmetric, sk: &SessionKey, kind: &'static str| match policy::cipher(algo) {
            Some(alg) if sk.len() == alg.key_size() => {
                found.candidates.push(Candidate { alg, key: Zeroizing::new(sk.to_vec()) });
                found.how.push(kind);
            }
            Some(_) => {}
            None => found.foreign = true,
        };
    for pkesk in pkesks {
        let wildcard = pkesk.recipient().is_none_or(|r| matches!(r, KeyHandle::KeyID(id) if id.is_wildcard()));
        for (id, d) in decryptors.iter_mut() {
            let matches = wildcard || pkesk.recipient().is_some_and(|r| r.aliases(KeyHandle::from(id.clone())));
            if !matches {
                continue;
            }
            if let Some((Some(algo), sk)) = pkesk.decrypt(d.as_mut(), None) {
                let (pk, bits) = (d.public().pk_algo(), d.public().mpis().bits());
                if let Ok(a) = policy::check_key(policy, pk, bits, Usage::Decrypt) {
                    found.weak.extend(a.weak);
                }
                push(&mut found, algo, &sk, "public-key");
            }
        }
    }
    for skesk in skesks.iter().filter(|s| s2k_affordable(s)) {
        for pw in passwords {
            if let Ok((Some(algo), sk)) = skesk.decrypt(pw) {
                push(&mut found, algo, &sk, "password");
            }
        }
    }
    found
}

/// Decrypts a message read from `input` with `keys` (and/or passwords), verifying inner signatures, and
/// writes the literal data to `sink`, which holds it until the caller has seen the verdict (see the module
/// documentation).
///
/// Every way of not getting the plaintext out of a well-formed message (no key fits, a session key fails
/// its padding, length, algorithm or checksum check, a session key does not fit the encrypted data, an MDC
/// or AEAD tag does not match) is one [`PgpError::CannotDecrypt`] with one text: which check failed is
/// what a Bleichenbacher or Marvin attack needs to learn (SECURITY-CASES G1).
pub fn decrypt(
    input: Box<dyn Read + Send + Sync>,
    keys: Option<&SecretKeys>,
    opts: &DecryptOptions,
    policy: &Policy,
    sink: &mut (dyn Write + Send + Sync),
) -> Result<Verdict, PgpError> {
    let mut recipients = Vec::new();
    decrypt_message(input, keys, opts, policy, sink, &mut recipients).map_err(|e| match e {
        PgpError::CannotDecrypt(_) | PgpError::Integrity(_) => undecryptable(&recipients),
        other => other,
    })
}

/// The one error for a wrong key and a changed message (see [`decrypt`]): the same for every case, naming
/// only what the message itself says (the recipients' key IDs).
fn undecryptable(recipients: &[String]) -> PgpError {
    let to = if recipients.is_empty() { String::new() } else { format!("encrypted to {}; ", recipients.join(", ")) };
    PgpError::CannotDecrypt(format!(
        "{to}the given keys and passwords do not open it, or it failed its integrity check (which of the two is \
         not said)"
    ))
}

/// [`decrypt`], reporting each failure as it is found; the key IDs the PKESK packets name go to `recipients`.
fn decrypt_message(
    input: Box<dyn Read + Send + Sync>,
    keys: Option<&SecretKeys>,
    opts: &DecryptOptions,
    policy: &Policy,
    sink: &mut (dyn Write + Send + Sync),
    recipients: &mut Vec<String>,
) -> Result<Verdict, PgpError> {
    let rewind = Rewind::new(input);
    let mut decryptors = match keys {
        Some(k) => k.decryptors()?,
        None => Vec::new(),
    };
    let mut pkesks: Vec<PKESK> = Vec::new();
    let mut skesks: Vec<SKESK> = Vec::new();
    let mut ppr =
        PacketParserBuilder::from_reader(rewind.clone()).map_err(from_sequoia)?.build().map_err(from_sequoia)?;
    // Walk the ESK packets up to the encrypted container.
    let (pp, container) = loop {
        let pp = match ppr {
            PacketParserResult::Some(pp) => pp,
            PacketParserResult::EOF(_) => return Err(PgpError::Malformed("no encrypted data in the message".into())),
        };
        match &pp.packet {
            Packet::PKESK(p) => {
                recipients.extend(p.recipient().map(|r| r.to_string()));
                pkesks.push(p.clone());
            }
            Packet::SKESK(s) => skesks.push(s.clone()),
            Packet::Marker(_) | Packet::Padding(_) => {}
            Packet::SEIP(s) if s.version() == 1 => break (pp, Container::SeipdV1),
            Packet::SEIP(_) => {
                drop(pp);
                return decrypt_with_sequoia(rewind.replay()?, decryptors, opts, policy, sink, Integrity::Aead);
            }
            Packet::Unknown(u) if u.tag() == Tag::SED => break (pp, Container::Sed),
            Packet::Unknown(u) if u.tag() == Tag::AED => {
                return Err(PgpError::Unsupported(
                    "AEAD Encrypted Data packets (tag 20: the pre-standard OCB/EAX format of GnuPG 2.3+ and \
                     `rnp --aead`); RFC 9580 replaced them with SEIPD v2"
                        .into(),
                ));
            }
            Packet::Literal(_) | Packet::CompressedData(_) | Packet::OnePassSig(_) | Packet::Signature(_) => {
                return Err(PgpError::Malformed(
                    "the message is not encrypted (it is signed or literal data; use `pgp verify`)".into(),
                ));
            }
            other => {
                return Err(PgpError::Malformed(format!(
                    "unexpected {} packet before the encrypted data",
                    other.tag()
                )));
            }
        }
        ppr = pp.recurse().map_err(from_sequoia)?.1;
    };
    if container == Container::Sed && !opts.allow_unauthenticated {
        return Err(PgpError::Unauthenticated);
    }
    let found = session_keys(&pkesks, &skesks, &mut decryptors, &opts.passwords, policy);
    if found.candidates.is_empty() && found.foreign && container == Container::SeipdV1 {
        // Blowfish, Twofish, Camellia: sequoia decrypts those, from the start of the message.
        drop(pp);
        let mut verdict = decrypt_with_sequoia(rewind.replay()?, decryptors, opts, policy, sink, Integrity::Mdc)?;
        verdict.add_weak(found.weak);
        return Ok(verdict.finish());
    }
    rewind.stop();
    if found.candidates.is_empty() {
        return Err(if found.foreign {
            PgpError::Unsupported(
                "a SED packet (no MDC) under a cipher sealpost decrypts only in SEIPD packets (Twofish, Camellia)"
                    .into(),
            )
        } else {
            PgpError::CannotDecrypt("no key or password fits".into())
        });
    }
    let (cands, how, key_weak) = (found.candidates, found.how, found.weak);

    // The ciphertext length the header states, if it states one (SEIPD bodies start with a version octet).
    let expected = match pp.header().length() {
        openpgp::packet::header::BodyLength::Full(n) => {
            Some(u64::from(*n).saturating_sub(u64::from(container == Container::SeipdV1)))
        }
        _ => None,
    };
    let mut reader = SeipdReader::new(container, pp, &cands, expected)?;
    let used = reader.algorithm();
    let failure = reader.failure();

    let mut verdict = Verdict::new(Format::Pgp);
    verdict.encrypted = true;
    verdict.algorithms.cipher = Some(used.name().to_string());
    verdict.algorithms.key_transport =
        how.first().map(|h| if *h == "password" { "password".to_string() } else { "public-key".to_string() });
    if let Some(sym) = policy::pgp_cipher(used) {
        verdict.add_weak(verify::cipher_weakness(policy, sym));
    }
    verdict.add_weak(key_weak);
    match container {
        Container::SeipdV1 => verdict.integrity = Integrity::Mdc,
        Container::Sed => {
            verdict.integrity = Integrity::None;
            verdict.add_weak(policy.check_unauthenticated()?.weak);
        }
    }

    let helper = Helper::new(opts.verify_with.clone(), policy.clone());
    let streamed = verify::verify_stream(Box::new(&mut reader), helper, &opts.budget, sink);
    if streamed.is_err() && container == Container::SeipdV1 && failure.get().is_none() {
        // The inner packets failed before the MDC was reached: check it first, so that a changed message
        // says so whatever its changed plaintext looks like (a format oracle otherwise: "malformed" tells
        // that a change gave plaintext that does not parse). Nothing more is written to the sink.
        let _ = io::copy(&mut reader, &mut io::sink());
    }
    if let Some(why) = failure.get() {
        return Err(PgpError::Integrity(why));
    }
    let helper = streamed?;
    verify::apply(helper, &mut verdict);
    Ok(verdict.finish())
}

/// sequoia's helper for SEIPD v2 messages: our decryptors and passwords, our verification helper.
struct V2Helper {
    decryptors: Vec<KeyDecryptor>,
    passwords: Vec<Password>,
    verify: Helper,
    sym: Option<PgpSymmetric>,
}

impl VerificationHelper for V2Helper {
    fn get_certs(&mut self, ids: &[KeyHandle]) -> openpgp::Result<Vec<Cert>> {
        self.verify.get_certs(ids)
    }

    fn check(&mut self, structure: MessageStructure) -> openpgp::Result<()> {
        for layer in structure.iter() {
            if let openpgp::parse::stream::MessageLayer::Encryption { sym_algo, .. } = layer {
                self.sym = Some(*sym_algo);
            }
        }
        self.verify.check(structure)
    }
}

impl DecryptionHelper for V2Helper {
    fn decrypt(
        &mut self,
        pkesks: &[PKESK],
        skesks: &[SKESK],
        sym_algo: Option<PgpSymmetric>,
        decrypt: &mut dyn FnMut(Option<PgpSymmetric>, &SessionKey) -> bool,
    ) -> openpgp::Result<Option<Cert>> {
        for pkesk in pkesks {
            for (_, d) in self.decryptors.iter_mut() {
                if let Some((algo, sk)) = pkesk.decrypt(d.as_mut(), sym_algo)
                    && decrypt(algo, &sk)
                {
                    return Ok(None);
                }
            }
        }
        for skesk in skesks.iter().filter(|s| s2k_affordable(s)) {
            for pw in &self.passwords {
                if let Ok((algo, sk)) = skesk.decrypt(pw)
                    && decrypt(algo.or(sym_algo), &sk)
                {
                    return Ok(None);
                }
            }
        }
        Err(PgpError::CannotDecrypt("none of the given keys or passwords fits".into()).into())
    }
}

/// sequoia decrypts the whole message: SEIPD v2 (AEAD), and SEIPD v1 with a cipher the core lacks.
fn decrypt_with_sequoia(
    input: impl Read + Send + Sync,
    decryptors: Vec<KeyDecryptor>,
    opts: &DecryptOptions,
    policy: &Policy,
    sink: &mut (dyn Write + Send + Sync),
    integrity: Integrity,
) -> Result<Verdict, PgpError> {
    let sp = sequoia_policy();
    let helper = V2Helper {
        decryptors,
        passwords: opts.passwords.clone(),
        verify: Helper::new(opts.verify_with.clone(), policy.clone()),
        sym: None,
    };
    let mut d = DecryptorBuilder::from_reader(input)
        .map_err(from_sequoia)?
        .buffer_size(SEQUOIA_BUFFER)
        .with_policy(&sp, None, helper)
        .map_err(from_sequoia)?;
    let mut out = verify::budgeted(sink, opts.budget.clone());
    io::copy(&mut d, &mut out).map_err(PgpError::from)?;
    let helper = d.into_helper();
    let mut verdict = Verdict::new(Format::Pgp);
    verdict.encrypted = true;
    verdict.integrity = integrity;
    if let Some(sym) = helper.sym {
        verdict.algorithms.cipher = Some(policy::symmetric_name(sym));
        verdict.add_weak(verify::cipher_weakness(policy, sym));
    }
    verify::apply(helper.verify, &mut verdict);
    Ok(verdict.finish())
}
