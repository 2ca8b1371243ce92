//! Encrypting: to recipients and/or passwords, optionally compressed and signed in the same pass.
//!
//! SEIPD v1 with an MDC is what we write unless every recipient announces SEIPD v2 and the cipher is AES
//! (RFC 9580 section 5.13.2): then sequoia writes an AEAD message. PKESKs are sequoia's, except for ElGamal
//! recipients (gpg's DSA/ElGamal keys), whose PKESK the core encrypts ([`elgamal_pkesk`]). For v1 the layers are
//! `PKESK/SKESK packets` then [`write_seipd`] (core CFB and MDC) around sequoia's inner stack
//! `Compressor -> Signer -> LiteralWriter`.

use std::io::{self, Read, Write};

use openpgp::Cert;
use openpgp::armor::{self, Kind};
use openpgp::cert::Preferences;
use openpgp::crypto::mpi::{self, MPI};
use openpgp::crypto::{Password, SessionKey, Signer};
use openpgp::packet::key::{PublicParts, UnspecifiedRole};
use openpgp::packet::skesk::SKESK4;
use openpgp::packet::{Key, PKESK, Packet, SKESK, pkesk::PKESK3};
use openpgp::serialize::Serialize;
use openpgp::serialize::stream::{
    Armorer, Compressor, Encryptor, LiteralWriter, Message, Recipient, Signer as SignerStack,
};
use openpgp::types::CompressionAlgorithm as PgpCompression;
use openpgp::types::{Features, PublicKeyAlgorithm};
use sequoia_openpgp as openpgp;
use zeroize::Zeroizing;

use super::keys::describe;
use super::policy::{pgp_cipher, pgp_hash, sequoia_policy};
use super::seipd::write_seipd;
use super::{PgpError, from_sequoia};
use crate::core::cipher::CipherAlgorithm;
use crate::core::compress::CompressionAlgorithm;
use crate::core::digest::HashAlgorithm;
use crate::core::elgamal::ElGamalPublicKey;
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
        // sequoia's RustCrypto back end does not support ElGamal; we encrypt to ElGamal keys ourselves
        // (algorithm 16 only: 20, "encrypt or sign", is read but never written, RFC 4880 section 9.1).
        let usable = |pk: PublicKeyAlgorithm| pk.is_supported() || is_elgamal_encrypt(pk);
        let mut keys: Vec<_> = vc
            .keys()
            .alive()
            .revoked(false)
            .for_transport_encryption()
            .for_storage_encryption()
            .filter(|ka| usable(ka.key().pk_algo()))
            .map(|ka| ka.key().clone().role_into_unspecified())
            .collect();
        if keys.is_empty() {
            // Keys from before key flags (PGP 5/6, RFC 2440 implementations) carry none: like GnuPG, take
            // a subkey's capability from its algorithm (a DSA primary with an ElGamal subkey, for one).
            keys = vc
                .keys()
                .subkeys()
                .alive()
                .revoked(false)
                .filter(|ka| ka.key_flags().is_none() && ka.key().pk_algo().for_encryption())
                .filter(|ka| usable(ka.key().pk_algo()))
                .map(|ka| ka.key().clone().role_into_unspecified())
                .collect();
        }
        if keys.is_empty() {
            return Err(PgpError::NoUsableKey(format!("{} has no valid encryption key", describe(cert))));
        }
        for k in keys {
            super::policy::check_key(policy, k.pk_algo(), k.mpis().bits(), Usage::Encrypt)
                .map_err(|e| e.concerning(format_args!("the key {} of {}", k.fingerprint(), describe(cert))))?;
            out.push((k, features.clone()));
        }
    }
    Ok(out)
}

/// ElGamal "encrypt only" (16), the one ElGamal form we write.
#[allow(deprecated)] // sequoia deprecates ElGamal; old certificates still carry it.
fn is_elgamal_encrypt(pk: PublicKeyAlgorithm) -> bool {
    pk == PublicKeyAlgorithm::ElGamalEncrypt
}

/// A v3 PKESK to an ElGamal key (RFC 4880 section 5.1): the session key with its cipher octet and
/// checksum, EME-PKCS1-v1_5 padded, encrypted by the core (sequoia cannot).
#[allow(deprecated)] // sequoia deprecates ElGamal; old certificates still carry it.
fn elgamal_pkesk(
    sym: openpgp::types::SymmetricAlgorithm,
    session_key: &[u8],
    key: &Key<PublicParts, UnspecifiedRole>,
    rng: &mut dyn Rng,
) -> Result<PKESK3, PgpError> {
    let mpi::PublicKey::ElGamal { p, g, y } = key.mpis() else {
        return Err(PgpError::Unsupported(format!("encrypting to {} keys", key.pk_algo())));
    };
    let public = ElGamalPublicKey::from_components(p.value(), g.value(), y.value())?;
    let block = session_key_block(sym, session_key);
    let ct = public.encrypt(&block, rng)?;
    let esk = mpi::Ciphertext::ElGamal { e: MPI::new(&ct.c1), c: MPI::new(&ct.c2) };
    PKESK3::new(Some(key.keyid()), PublicKeyAlgorithm::ElGamalEncrypt, esk).map_err(from_sequoia)
}

/// A v3 PKESK to an RSA key, encrypted by the core (AWS-LC for 2048 bits and more: about ten times
/// sequoia's RustCrypto path, which was a seventh of the SMTP filter's time per message). `None` for other
/// algorithms.
fn rsa_pkesk(
    sym: openpgp::types::SymmetricAlgorithm,
    session_key: &[u8],
    key: &Key<PublicParts, UnspecifiedRole>,
) -> Result<Option<PKESK3>, PgpError> {
    let mpi::PublicKey::RSA { e, n } = key.mpis() else { return Ok(None) };
    let public = crate::core::rsa::RsaPublicKey::from_components(n.value(), e.value())?;
    let block = session_key_block(sym, session_key);
    let c = public.encrypt(crate::core::rsa::EncryptionPadding::Pkcs1v15, &block)?;
    let esk = mpi::Ciphertext::RSA { c: MPI::new(&c) };
    PKESK3::new(Some(key.keyid()), key.pk_algo(), esk).map(Some).map_err(from_sequoia)
}

/// The v3 PKESK plaintext (RFC 4880 section 5.1): cipher octet, session key, two-octet checksum.
fn session_key_block(sym: openpgp::types::SymmetricAlgorithm, session_key: &[u8]) -> Zeroizing<Vec<u8>> {
    let checksum = session_key.iter().fold(0u16, |sum, &b| sum.wrapping_add(u16::from(b)));
    let mut block = Zeroizing::new(Vec::with_capacity(session_key.len() + 3));
    block.push(u8::from(sym));
    block.extend_from_slice(session_key);
    block.extend_from_slice(&checksum.to_be_bytes());
    block
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
        let hash = pgp_hash(opts.hash).ok_or_else(|| PgpError::Unsupported(format!("{} signatures", opts.hash)))?;
        for s in &opts.signers {
            super::crypto::check_signer(s.as_ref(), hash, policy)?;
        }
    }
    let sym = pgp_cipher(opts.cipher)
        .ok_or_else(|| PgpError::Unsupported(format!("{} has no OpenPGP identifier", opts.cipher.name())))?;
    let keys = recipient_keys(&opts.recipients, policy)?;

    let aes = matches!(opts.cipher, CipherAlgorithm::Aes128 | CipherAlgorithm::Aes192 | CipherAlgorithm::Aes256);
    // sequoia writes SEIPD v2 messages with its own PKESKs, which it cannot make for ElGamal.
    let v2_keys = keys.iter().all(|(k, f)| f.supports_seipdv2() && !is_elgamal_encrypt(k.pk_algo()));
    if !keys.is_empty() && v2_keys && aes {
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
        let pkesk = if is_elgamal_encrypt(key.pk_algo()) {
            elgamal_pkesk(sym, session_key, key, rng)?
        } else if let Some(p) = rsa_pkesk(sym, session_key, key)? {
            p
        } else {
            PKESK3::for_recipient(sym, &sk, key).map_err(from_sequoia)?
        };
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

#[cfg(test)]
#[allow(deprecated)] // DSA, ElGamal and 3DES identifiers are deprecated in sequoia; testing them is the point.
mod tests {
    use std::time::SystemTime;

    use openpgp::KeyHandle;
    use openpgp::crypto::Decryptor;
    use openpgp::packet::key::{Key4, SecretParts};
    use openpgp::types::SymmetricAlgorithm;

    use super::*;
    use crate::core::elgamal::tests::GPG_ELG2048;
    use crate::core::rand::SeededRng;
    use crate::pgp::crypto::CoreElGamalKey;

    fn hex(s: &str) -> Vec<u8> {
        let s: String = s.chars().filter(|c| !c.is_whitespace()).collect();
        (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
    }

    fn elgamal_key() -> Key<SecretParts, UnspecifiedRole> {
        let [p, g, y, x] = GPG_ELG2048.map(hex);
        let public = mpi::PublicKey::ElGamal { p: MPI::new(&p), g: MPI::new(&g), y: MPI::new(&y) };
        let secret = mpi::SecretKeyMaterial::ElGamal { x: mpi::ProtectedMPI::from(&x[..]) };
        Key4::with_secret(SystemTime::UNIX_EPOCH, PublicKeyAlgorithm::ElGamalEncrypt, public, secret.into())
            .unwrap()
            .into()
    }

    /// Our ElGamal PKESK, opened by sequoia's PKESK parser over the core's decryptor: with and without the
    /// cipher known in advance; a damaged one gives no key (sequoia's checksum catches the random key).
    #[test]
    fn elgamal_pkesk_round_trip() {
        let key = elgamal_key();
        let public = key.clone().take_secret().0;
        let mut rng = SeededRng::new(b"pkesk");
        let mut decryptor = CoreElGamalKey::from_secret(&key).unwrap().unwrap();
        for sym in [SymmetricAlgorithm::AES256, SymmetricAlgorithm::AES128, SymmetricAlgorithm::TripleDES] {
            let sk = rng.bytes(sym.key_size().unwrap()).unwrap();
            let pkesk = PKESK::from(elgamal_pkesk(sym, &sk, &public, &mut rng).unwrap());
            assert_eq!(pkesk.recipient(), Some(KeyHandle::from(public.keyid())));
            let (got_sym, got) = pkesk.decrypt(&mut decryptor, None).unwrap();
            assert_eq!((got_sym, &got[..]), (Some(sym), &sk[..]));
            let (_, got) = pkesk.decrypt(&mut decryptor, Some(sym)).unwrap();
            assert_eq!(&got[..], &sk[..]);
        }
        // Damage c2: the padding check fails inside the core, which answers with a random block; sequoia
        // then finds no valid key in it.
        let sk = rng.bytes(32).unwrap();
        let good = elgamal_pkesk(SymmetricAlgorithm::AES256, &sk, &public, &mut rng).unwrap();
        let damaged = match good.esk() {
            mpi::Ciphertext::ElGamal { e, c } => {
                let mut c = c.value().to_vec();
                c[100] ^= 1;
                mpi::Ciphertext::ElGamal { e: e.clone(), c: MPI::new(&c) }
            }
            other => other.clone(),
        };
        assert!(matches!(damaged, mpi::Ciphertext::ElGamal { .. }), "not an ElGamal PKESK: {damaged:?}");
        let got = decryptor.decrypt(&damaged, Some(35)).unwrap();
        assert_eq!(got.len(), 35);
        assert_ne!(&got[1..33], &sk[..]);
        assert!(
            PKESK::from(PKESK3::new(None, PublicKeyAlgorithm::ElGamalEncrypt, damaged).unwrap())
                .decrypt(&mut decryptor, Some(SymmetricAlgorithm::AES256))
                .is_none_or(|(_, k)| k[..] != sk[..])
        );
        // A key that is not ElGamal gets no ElGamal PKESK.
        let rsa = Key4::generate_rsa(2048).unwrap().parts_into_public().into();
        assert!(elgamal_pkesk(SymmetricAlgorithm::AES256, &sk, &rsa, &mut rng).is_err());
    }
}
