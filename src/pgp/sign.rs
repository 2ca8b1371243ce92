//! Signing: one-pass signed messages (binary or armored), detached signatures, and cleartext signatures
//! (RFC 9580 section 7), with one or more signers. Hash selection goes through the core policy: SHA-256 by
//! default, SHA-512/384/224 freely, SHA-1 and MD5 only when named.

use std::io::{self, Read, Write};

use openpgp::armor::Kind;
use openpgp::crypto::Signer;
use openpgp::serialize::stream::{Armorer, LiteralWriter, Message, Signer as SignerStack};
use sequoia_openpgp as openpgp;

use super::policy::pgp_hash;
use super::{PgpError, from_sequoia};
use crate::core::digest::HashAlgorithm;
use crate::core::policy::{Policy, Usage};

/// What kind of signature to make.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SignMode {
    /// A signed message: one-pass signature packets, literal data, signature packets.
    Inline,
    /// A signature packet alone, over the input as binary data.
    Detached,
    /// A cleartext signature: the text, dash-escaped, followed by an armored signature.
    Cleartext,
}

/// Options for [`sign`].
pub struct SignOptions {
    /// Kind of signature.
    pub mode: SignMode,
    /// Hash algorithm.
    pub hash: HashAlgorithm,
    /// Whether the user named the hash (legacy hashes need it).
    pub hash_named: bool,
    /// ASCII armor (always for cleartext).
    pub armor: bool,
}

/// Signs everything `input` yields with every signer, writing the result to `output`.
pub fn sign(
    input: &mut dyn Read,
    output: &mut (dyn Write + Send + Sync),
    signers: Vec<Box<dyn Signer + Send + Sync>>,
    opts: &SignOptions,
    policy: &Policy,
) -> Result<(), PgpError> {
    policy.check(opts.hash.algorithm(), Usage::Sign, opts.hash_named)?;
    let hash = pgp_hash(opts.hash).ok_or_else(|| PgpError::Unsupported(format!("{} signatures", opts.hash)))?;
    for s in &signers {
        super::crypto::check_signer(s.as_ref(), hash, policy)?;
    }
    let mut signers = signers.into_iter();
    let first = signers.next().ok_or_else(|| PgpError::NoUsableKey("no signing key".into()))?;

    let mut message = Message::new(output);
    if opts.armor && opts.mode != SignMode::Cleartext {
        let kind = if opts.mode == SignMode::Detached { Kind::Signature } else { Kind::Message };
        message = Armorer::new(message).kind(kind).build().map_err(from_sequoia)?;
    }
    let mut stack = SignerStack::new(message, first).map_err(from_sequoia)?.hash_algo(hash).map_err(from_sequoia)?;
    for s in signers {
        stack = stack.add_signer(s).map_err(from_sequoia)?;
    }
    match opts.mode {
        SignMode::Inline => {
            let stack = stack.build().map_err(from_sequoia)?;
            let mut literal = LiteralWriter::new(stack).build().map_err(from_sequoia)?;
            io::copy(input, &mut literal)?;
            literal.finalize().map_err(from_sequoia)?;
        }
        SignMode::Detached => {
            let mut w = stack.detached().build().map_err(from_sequoia)?;
            io::copy(input, &mut w)?;
            w.finalize().map_err(from_sequoia)?;
        }
        SignMode::Cleartext => {
            let mut w = stack.cleartext().build().map_err(from_sequoia)?;
            io::copy(input, &mut w)?;
            w.finalize().map_err(from_sequoia)?;
        }
    }
    Ok(())
}
