//! Encrypting: to recipients and/or passwords, optionally compressed and signed in the same pass.
//!
//! SEIPD v1 with an MDC is what we write unless every recipient announces SEIPD v2 and the cipher is AES
//! (RFC 9580 section 5.13.2): then sequoia writes an AEAD message. For v1 the layers are
//! `PKESK/SKESK packets` then [`write_seipd`] (core CFB and MDC) around sequoia's inner stack
//! `Compressor -> Signer -> LiteralWriter`.

use std::io::{self, Read, Write};

use openpgp::Cert;
use openpgp::armor::{self, Kind};
use openpgp::cert::Preferences;
use openpgp::crypto::{Password, SessionKey, Signer};
use openpgp::packet::key::{PublicParts, UnspecifiedRole};
use openpgp::packet::skesk::SKESK4;
use openpgp::packet::{Key, PKESK, Packet, SKESK, pkesk::PKESK3};
use openpgp::serialize::Serialize;
use openpgp::serialize::stream::{
    Armorer, Compressor, Encryptor, LiteralWriter, Message, Recipient, Signer as SignerStack,
};
use openpgp::types::CompressionAlgorithm as PgpCompression;
use openpgp::types::Features;
use sequoia_openpgp as openpgp;

use super::keys::describe;
use super::policy::{pgp_cipher, pgp_hash, sequoia_policy};
use super::seipd::write_seipd;
use super::{PgpError, from_sequoia};
use crate::core::cipher::CipherAlgorithm;
use crate::core::compress::CompressionAlgorithm;
use crate::core::digest::HashAlgorithm;
use crate::core::policy::{Policy, Usage};
use crate::core::rand::Rng;

/// Options for [`encrypt`].
pub struct EncryptOptions {
    /// Recipient certificates.
    pub recipients: Vec<Cert>,
    /// Passwords (SKESK).
    pub passwords: Vec<Password>,
    /// Signers, for sign-and-encrypt.
    pub signers: Vec<Box<dyn Signer + Send + Sync>>,
    /// Hash for the signatures.
    pub hash: HashAlgorithm,
    /// Content cipher.
    pub cipher: CipherAlgorithm,
    /// Whether the user named the cipher (legacy ciphers need it).
    pub cipher_named: bool,
    /// Compression, if any.
    pub compression: Option<CompressionAlgorithm>,
    /// ASCII armor.
    pub armor: bool,
}

/// A recipient's encryption key and the features its certificate announces.
type RecipientKey = (Key<PublicParts, UnspecifiedRole>, Features);

/// The encryption-capable keys of the recipients, checked against the policy.
fn recipient_keys(certs: &[Cert], policy: &Policy) -> Result<Vec<RecipientKey>, PgpError> {
    let sp = sequoia_policy();
    let mut out = Vec::new();
    for cert in certs {
        let vc = cert
            .with_policy(&sp, None)
            .map_err(|e| PgpError::NoUsableKey(format!("{} is not a valid certificate: {e}", describe(cert))))?;
        if let openpgp::types::RevocationStatus::Revoked(_) = vc.revocation_status() {
            return Err(PgpError::NoUsableKey(format!("{} is revoked", describe(cert))));
        }
        let features = vc.features().unwrap_or_else(Features::empty);
        let keys: Vec<_> = vc
            .keys()
            .supported()
            .alive()
            .revoked(false)
            .for_transport_encryption()
            .for_storage_encryption()
            .map(|ka| ka.key().clone().role_into_unspecified())
            .collect();
        if keys.is_empty() {
            return Err(PgpError::NoUsableKey(format!("{} has no valid encryption key", describe(cert))));
        }
        for k in keys {
            if super::policy::is_rsa(k.pk_algo())
                && let Some(bits) = k.mpis().bits()
            {
                policy.check_rsa(bits, Usage::Encrypt)?;
            }
            out.push((k, features.clone()));
        }
    }
    Ok(out)
}

fn pgp_compression(c: CompressionAlgorithm) -> PgpCompression {
    match c {
        CompressionAlgorithm::Deflate => PgpCompression::Zip,
        CompressionAlgorithm::Zlib => PgpCompression::Zlib,
        CompressionAlgorithm::Bzip2 => PgpCompression::BZip2,
    }
}

/// Pushes the inner layers (compression, signing, literal data) onto `message`, copies `input` through
/// them, and finalizes them.
fn inner_layers(message: Message<'_>, input: &mut dyn Read, opts: EncryptOptions) -> Result<(), PgpError> {
    let mut message = message;
    if let Some(c) = opts.compression {
        message = Compressor::new(message).algo(pgp_compression(c)).build().map_err(from_sequoia)?;
    }
    let mut signers = opts.signers.into_iter();
    if let Some(first) = signers.next() {
        let hash = pgp_hash(opts.hash).ok_or_else(|| PgpError::Unsupported(format!("{} signatures", opts.hash)))?;
        let mut s = SignerStack::new(message, first).map_err(from_sequoia)?.hash_algo(hash).map_err(from_sequoia)?;
        for other in signers {
            s = s.add_signer(other).map_err(from_sequoia)?;
        }
        message = s.build().map_err(from_sequoia)?;
    }
    let mut literal = LiteralWriter::new(message).build().map_err(from_sequoia)?;
    copy_big(input, &mut literal)?;
    literal.finalize().map_err(from_sequoia)
}

/// Copies like `io::copy`, in pieces of 256 KiB instead of 8 KiB: fewer system calls and fewer passes
/// through the writer stack for big inputs.
fn copy_big(input: &mut dyn Read, out: &mut dyn Write) -> io::Result<u64> {
    let mut buf = vec![0u8; 256 * 1024];
    let mut total = 0u64;
    loop {
        let n = match input.read(&mut buf) {
            Ok(0) => return Ok(total),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        out.write_all(&buf[..n])?;
        total += n as u64;
    }
}

/// Encrypts `input` to `output`.
pub fn encrypt(
    input: &mut dyn Read,
    output: &mut (dyn Write + Send + Sync),
    opts: EncryptOptions,
    policy: &Policy,
    rng: &mut dyn Rng,
) -> Result<(), PgpError> {
    if opts.recipients.is_empty() && opts.passwords.is_empty() {
        return Err(PgpError::NoUsableKey("no recipient and no password: nobody could decrypt this".into()));
    }
    policy.check(opts.cipher.algorithm(), Usage::Encrypt, opts.cipher_named)?;
    if !opts.signers.is_empty() {
        policy.check(opts.hash.algorithm(), Usage::Sign, false)?;
    }
    let sym = pgp_cipher(opts.cipher)
        .ok_or_else(|| PgpError::Unsupported(format!("{} has no OpenPGP identifier", opts.cipher.name())))?;
    let keys = recipient_keys(&opts.recipients, policy)?;

    let aes = matches!(opts.cipher, CipherAlgorithm::Aes128 | CipherAlgorithm::Aes192 | CipherAlgorithm::Aes256);
    if !keys.is_empty() && keys.iter().all(|(_, f)| f.supports_seipdv2()) && aes {
        return encrypt_seipdv2(input, output, keys, opts, sym);
    }

    let session_key = rng.bytes(opts.cipher.key_size())?;
    if opts.armor {
        let mut armored = armor::Writer::new(output, Kind::Message)?;
        write_v1(&mut armored, &keys, sym, &session_key, input, opts, rng)?;
        armored.finalize()?;
        Ok(())
    } else {
        write_v1(output, &keys, sym, &session_key, input, opts, rng)
    }
}

/// ESK packets, then the SEIPD v1 packet around the inner layers.
fn write_v1(
    base: &mut (dyn Write + Send + Sync),
    keys: &[RecipientKey],
    sym: openpgp::types::SymmetricAlgorithm,
    session_key: &[u8],
    input: &mut dyn Read,
    opts: EncryptOptions,
    rng: &mut dyn Rng,
) -> Result<(), PgpError> {
    let sk = SessionKey::from(session_key);
    for (key, _) in keys {
        let pkesk = PKESK3::for_recipient(sym, &sk, key).map_err(from_sequoia)?;
        Packet::PKESK(PKESK::from(pkesk)).serialize(base).map_err(from_sequoia)?;
    }
    for pw in &opts.passwords {
        let skesk = SKESK4::with_password(sym, sym, Default::default(), &sk, pw).map_err(from_sequoia)?;
        Packet::SKESK(SKESK::from(skesk)).serialize(base).map_err(from_sequoia)?;
    }
    let cipher = opts.cipher;
    write_seipd(&mut *base, cipher, session_key, rng, |w| inner_layers(Message::new(w), input, opts))?;
    Ok(())
}

/// Every recipient announced SEIPD v2: sequoia writes the AEAD message.
fn encrypt_seipdv2(
    input: &mut dyn Read,
    output: &mut (dyn Write + Send + Sync),
    keys: Vec<RecipientKey>,
    opts: EncryptOptions,
    sym: openpgp::types::SymmetricAlgorithm,
) -> Result<(), PgpError> {
    let recipients: Vec<Recipient> = keys.iter().map(|(k, f)| Recipient::new(f.clone(), k.key_handle(), k)).collect();
    let mut message = Message::new(output);
    if opts.armor {
        message = Armorer::new(message).build().map_err(from_sequoia)?;
    }
    let message = Encryptor::for_recipients(message, recipients)
        .add_passwords(opts.passwords.clone())
        .symmetric_algo(sym)
        .build()
        .map_err(from_sequoia)?;
    inner_layers(message, input, opts)
}
