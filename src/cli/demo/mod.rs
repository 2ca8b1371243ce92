//! `sealpost demo`: the core pipelines end to end on built-in sample data.
//!
//! Three runs, each sealing a sample letter and opening it again through the streaming writer stacks of
//! [`crate::core::pipeline`], printing the verdict of each. Opening is two stages: decrypt into a spool and
//! check the tag or padding; only then decompress and hash into a second spool, released when the signature
//! verifies.
//! 1. modern: SHA-256 + RSA-2048 signature, zlib, AES-256-GCM, session key wrapped with RSA-OAEP;
//! 2. legacy, every algorithm named explicitly: SHA-1 + RSA-1024 signature, bzip2, 3DES-CBC (no
//!    integrity protection of its own), PKCS #1 v1.5 key transport: the verdict passes, labelled weak;
//! 3. the modern message with one ciphertext byte flipped: the tag check fails and no plaintext is released.
//!
//! The envelope (wrapped key, IV, ciphertext, signature) is the demo's own framing, not a mail standard.
//! The demo checks its own outcomes and fails (exit 2) if any run does not end as described.

use std::io::Write;
use std::sync::Arc;

use anyhow::{Context, bail};

use crate::core::CoreError;
use crate::core::cipher::CipherAlgorithm;
use crate::core::compress::{Budget, CompressionAlgorithm};
use crate::core::digest::HashAlgorithm;
use crate::core::mode::{Crypter, Direction, GcmDecryptor, GcmEncryptor, Mode, Padding, crypter};
use crate::core::pipeline::{
    CipherWriter, CompressWriter, DecompressWriter, DigestWriter, KeyTransport, RsaKeyTransport, RsaSigner,
    RsaVerifier, SessionKeyUnwrapper, SignWriter, Spool, verify_signature,
};
use crate::core::policy::{Policy, Usage};
use crate::core::rand::{Rng, SystemRng};
use crate::core::rsa::{EncryptionPadding, RsaPrivateKey, SignaturePadding};
use crate::core::verdict::{Format, Integrity, Status, Verdict};

/// The sample letter.
const LETTER: &str = "From: Alice <alice@example.org>\r\n\
To: Bob <bob@example.net>\r\n\
Subject: The quarterly figures\r\n\
\r\n\
Bob,\r\n\
\r\n\
here are the figures we spoke about. Revenue is up 4%, costs are flat, and the\r\n\
new office opens in March. Please keep this between us until the board meets.\r\n\
\r\n\
-- Alice\r\n";

/// A 1024-bit key made once with `openssl genrsa -traditional 1024`, for the legacy run only: sealpost
/// never generates keys under 2048 bits.
const LEGACY_KEY: &str = include_str!("legacy-rsa-1024.pem");

/// What each run uses.
struct Recipe {
    title: &'static str,
    hash: HashAlgorithm,
    cipher: CipherAlgorithm,
    gcm: bool,
    compression: CompressionAlgorithm,
    transport: EncryptionPadding,
}

/// The demo's envelope.
struct Envelope {
    wrapped_key: Vec<u8>,
    iv: Vec<u8>,
    ciphertext: Vec<u8>,
    signature: Vec<u8>,
}

/// Runs the demo, writing its report to `out`.
pub(super) fn run(out: &mut dyn Write) -> anyhow::Result<()> {
    writeln!(out, "sealpost demo: the core pipelines on a sample letter ({} bytes)\n", LETTER.len())?;
    let signer = Arc::new(RsaPrivateKey::generate(2048).context("generating the signer's key")?);
    let recipient = Arc::new(RsaPrivateKey::generate(2048).context("generating the recipient's key")?);
    let legacy_signer = Arc::new(RsaPrivateKey::from_pem(LEGACY_KEY, None).context("reading the legacy key")?);

    let modern = Recipe {
        title: "1. modern defaults",
        hash: HashAlgorithm::Sha256,
        cipher: CipherAlgorithm::Aes256,
        gcm: true,
        compression: CompressionAlgorithm::Zlib,
        transport: EncryptionPadding::Oaep(HashAlgorithm::Sha256),
    };
    let env = seal(&modern, &signer, &recipient, &Policy::default())?;
    let (verdict, plain) = open(&modern, &env, &signer, &recipient, &Policy::default())?;
    report(out, &modern, &env, &verdict, plain.as_deref())?;
    writeln!(out, "   verdict JSON:\n{}\n", indent(&verdict.to_json(), 6))?;
    if verdict.status != Status::Pass || plain.as_deref() != Some(LETTER.as_bytes()) {
        bail!("demo run 1 did not pass: {}", verdict.summary());
    }

    // Legacy algorithms are produced only when named, and read with a weak label.
    let legacy = Recipe {
        title: "2. legacy algorithms, each named explicitly",
        hash: HashAlgorithm::Sha1,
        cipher: CipherAlgorithm::TripleDes,
        gcm: false,
        compression: CompressionAlgorithm::Bzip2,
        transport: EncryptionPadding::Pkcs1v15,
    };
    let lax = Policy { allow_unauthenticated: true, ..Policy::default() };
    let env = seal(&legacy, &legacy_signer, &recipient, &lax)?;
    let (verdict, plain) = open(&legacy, &env, &legacy_signer, &recipient, &lax)?;
    report(out, &legacy, &env, &verdict, plain.as_deref())?;
    if verdict.status != Status::PassWeak || plain.as_deref() != Some(LETTER.as_bytes()) {
        bail!("demo run 2 did not pass with a weak label: {}", verdict.summary());
    }
    match Policy::default().check(legacy.cipher.algorithm(), Usage::Encrypt, false) {
        Err(err) => writeln!(out, "   (without naming it, the default policy refuses: {err})\n")?,
        Ok(_) => bail!("the default policy produced 3DES without it being named"),
    }

    let mut env = seal(&modern, &signer, &recipient, &Policy::default())?;
    let middle = env.ciphertext.len() / 2;
    env.ciphertext[middle] ^= 0x01;
    let tampered = Recipe { title: "3. modern message, one ciphertext bit flipped in transit", ..modern };
    let (verdict, plain) = open(&tampered, &env, &signer, &recipient, &Policy::default())?;
    report(out, &tampered, &env, &verdict, plain.as_deref())?;
    if verdict.status != Status::Fail || plain.is_some() {
        bail!("demo run 3: tampering was not detected");
    }
    writeln!(out, "all three runs ended as expected.")?;
    Ok(())
}

fn indent(text: &str, n: usize) -> String {
    text.lines().map(|l| format!("{}{l}", " ".repeat(n))).collect::<Vec<_>>().join("\n")
}

fn report(
    out: &mut dyn Write,
    r: &Recipe,
    env: &Envelope,
    verdict: &Verdict,
    plain: Option<&[u8]>,
) -> anyhow::Result<()> {
    let cipher = if r.gcm { format!("{}-gcm", r.cipher.name()) } else { format!("{}-cbc", r.cipher.name()) };
    writeln!(out, "{}", r.title)?;
    writeln!(
        out,
        "   sign {} -> compress {} -> encrypt {} (key wrapped with {}): {} bytes of ciphertext",
        r.hash,
        r.compression.name(),
        cipher,
        match r.transport {
            EncryptionPadding::Pkcs1v15 => "RSA PKCS #1 v1.5".to_string(),
            EncryptionPadding::Oaep(h) => format!("RSA-OAEP-{h}"),
        },
        env.ciphertext.len()
    )?;
    writeln!(out, "   {}", verdict.summary())?;
    match plain {
        Some(p) => {
            let first =
                String::from_utf8_lossy(p).lines().find(|l| l.starts_with("Subject:")).unwrap_or("").to_string();
            writeln!(out, "   plaintext released ({} bytes): {first}\n", p.len())?;
        }
        None => writeln!(out, "   plaintext withheld\n")?,
    }
    Ok(())
}

fn content_crypter(r: &Recipe, direction: Direction, key: &[u8], iv: &[u8]) -> anyhow::Result<Box<dyn Crypter>> {
    Ok(match (r.gcm, direction) {
        (true, Direction::Encrypt) => Box::new(GcmEncryptor::new(key, iv, b"", true)?),
        (true, Direction::Decrypt) => Box::new(GcmDecryptor::new(key, iv, b"", None)?),
        (false, _) => Box::new(crypter(r.cipher, Mode::Cbc, direction, key, iv, Padding::Pkcs7)?),
    })
}

/// Producer stack: SignWriter -> CompressWriter -> CipherWriter -> Vec.
fn seal(
    r: &Recipe,
    signer: &Arc<RsaPrivateKey>,
    recipient: &RsaPrivateKey,
    policy: &Policy,
) -> anyhow::Result<Envelope> {
    policy.check(r.cipher.algorithm(), Usage::Encrypt, true)?;
    let mut rng = SystemRng;
    let session_key = rng.bytes(r.cipher.key_size())?;
    let iv = if r.gcm { rng.bytes(12)?.to_vec() } else { rng.bytes(r.cipher.block_size())?.to_vec() };
    let transport = RsaKeyTransport::to(Arc::new(recipient.public().clone()), r.transport);
    policy.check_rsa(transport.bits(), Usage::Encrypt)?;
    let wrapped_key = transport.wrap(&session_key)?;

    let cipher = CipherWriter::new(Vec::new(), content_crypter(r, Direction::Encrypt, &session_key, &iv)?);
    let compressor = CompressWriter::new(r.compression, cipher, 6);
    let key = Arc::new(RsaSigner { key: Arc::clone(signer), padding: SignaturePadding::Pkcs1v15 });
    let mut sign = SignWriter::new(compressor, key, r.hash, policy, true)?;
    sign.write_all(LETTER.as_bytes())?;
    let (compressor, signature) = sign.finalize()?;
    let ciphertext = compressor.finalize()?.finalize()?;
    Ok(Envelope { wrapped_key, iv, ciphertext, signature: signature.value })
}

/// Consumer stacks: CipherWriter(decrypt) -> Spool, then DecompressWriter -> DigestWriter -> Spool; each spool is
/// released only when its check passes.
fn open(
    r: &Recipe,
    env: &Envelope,
    signer: &RsaPrivateKey,
    recipient: &Arc<RsaPrivateKey>,
    policy: &Policy,
) -> anyhow::Result<(Verdict, Option<Vec<u8>>)> {
    let mut verdict = Verdict::new(Format::Core);
    verdict.encrypted = true;
    verdict.integrity = if r.gcm { Integrity::Aead } else { Integrity::None };
    verdict.algorithms.cipher =
        Some(if r.gcm { format!("{}-gcm", r.cipher.name()) } else { format!("{}-cbc", r.cipher.name()) });
    verdict.algorithms.compression = Some(r.compression.name().into());
    verdict.add_weak(policy.check(r.cipher.algorithm(), Usage::Decrypt, false)?.weak);
    if !r.gcm {
        verdict.add_weak(policy.check_unauthenticated()?.weak);
    }

    let unwrapper = RsaKeyTransport::with_private(Arc::clone(recipient), r.transport);
    let session_key = unwrapper.unwrap_key(&env.wrapped_key, r.cipher.key_size())?;

    // Stage 1: decrypt into a spool. Nothing downstream sees a byte until the tag (or padding) checks out:
    // unauthenticated plaintext is not even decompressed.
    let mut decrypt = CipherWriter::new(
        Spool::new(Spool::DEFAULT_MEMORY),
        content_crypter(r, Direction::Decrypt, &session_key, &env.iv)?,
    );
    let decrypted = decrypt.write_all(&env.ciphertext).map_err(CoreError::from).and_then(|()| decrypt.finalize());
    let decrypted = match decrypted {
        Ok(spool) => spool,
        Err(err) => {
            verdict.failure = Some(format!("{err}; nothing was released"));
            return Ok((verdict.finish(), None));
        }
    };

    // Stage 2: decompress and hash into a second spool, released only if the signature verifies.
    let digest = DigestWriter::new(Spool::new(Spool::DEFAULT_MEMORY), &[r.hash]);
    let mut decompress = DecompressWriter::new(r.compression, digest, Budget::default());
    let digest = match decrypted.release(&mut decompress).and_then(|_| decompress.finalize()) {
        Ok(d) => d,
        Err(err) => {
            verdict.failure = Some(format!("{err}; nothing was released"));
            return Ok((verdict.finish(), None));
        }
    };
    let (spool, digests) = digest.finalize();
    let verifier = RsaVerifier { key: Arc::new(signer.public().clone()), padding: SignaturePadding::Pkcs1v15 };
    let d = digests.first().context("no digest")?;
    verdict.signers.push(verify_signature(policy, "Alice <alice@example.org>", Some(&verifier), d, &env.signature));
    let verdict = verdict.finish();
    if !verdict.signature_ok() {
        return Ok((verdict, None));
    }
    let mut plain = Vec::new();
    spool.release(&mut plain)?;
    Ok((verdict, Some(plain)))
}

#[cfg(test)]
mod tests {
    #[test]
    fn demo_runs_and_reports_three_outcomes() {
        let mut out = Vec::new();
        super::run(&mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains("core: pass: good signature from Alice"), "{text}");
        assert!(text.contains("core: pass-weak:"), "{text}");
        assert!(text.contains("[weak: 3des, sha1, rsa-1024, no-integrity]"), "{text}");
        assert!(text.contains("core: fail:"), "{text}");
        assert!(text.contains("plaintext withheld"), "{text}");
        assert!(
            text.contains("FAILED: decryption failed"),
            "the tag check, not the decompressor, must catch it: {text}"
        );
        assert!(text.contains("\"integrity\": \"aead\""), "{text}");
    }
}
