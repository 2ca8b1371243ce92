//! The SMTP hook's decisions, taken on the envelope rather than the header: each recipient's treatment is
//! known at RCPT time (so a recipient that cannot be served is refused there, alone), and at the end of DATA
//! the recipients are split into groups that each get their own message and next-hop transaction.
//!
//! - Outbound (the envelope sender is local, the recipient is not): the recipient's format, and whether
//!   it is encrypted to (its certificate is in the keystore, or encryption is required). The message is
//!   signed only when its From is the envelope sender, so a local user cannot have mail signed in someone
//!   else's name unless the MTA let them use that envelope sender.
//! - Inbound (everything else): each recipient with a secret key gets the message opened with its own keys
//!   alone, so no one receives plaintext decrypted with another recipient's key; the others share one copy,
//!   verified only.
//!
//! Recipients of one encrypted copy see each other's key ids in it, so a recipient missing from To and Cc
//! (a Bcc) gets an encrypted copy of its own.

use std::collections::BTreeMap;

use std::sync::Arc;
use std::time::Duration;

use super::FilterError;
use super::cache::Cache;
use super::config::{Config, Encrypt};
use super::plan::{Action, Direction, Plan, inbound_keys, signer_keys};
use crate::keystore::Keystore;
use crate::mail::MailKeys;
use crate::mail::keys::addresses;
use crate::mail::outgoing::Format;

/// What one recipient gets.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Treatment {
    /// Sealed for a recipient outside.
    Outbound {
        /// The format.
        format: Format,
        /// Encrypted to the recipient.
        encrypt: bool,
    },
    /// Opened for a local recipient (or anything not outbound).
    Inbound,
}

/// Keys loaded from the keystore, shared by every message (see [`super::cache`]).
pub struct Keys {
    loaded: Cache<MailKeys>,
    found: Cache<bool>,
}

impl Keys {
    /// Keeps what is loaded for `ttl`.
    pub fn new(ttl: Duration) -> Keys {
        Keys { loaded: Cache::new(ttl), found: Cache::new(ttl) }
    }
}

/// A recipient's treatment, from the envelope sender (`None` for the null sender `<>`) and the keystore.
/// A recipient that can never be served (encryption required and no certificate) is
/// [`FilterError::Refused`].
pub fn treatment(
    config: &Config,
    ks: &Keystore,
    cache: &Keys,
    sender: Option<&str>,
    rcpt: &str,
) -> Result<Treatment, FilterError> {
    let local_sender = sender.is_some_and(|s| config.is_local(s));
    if !local_sender || config.is_local(rcpt) {
        return Ok(Treatment::Inbound);
    }
    let format = config.format_for(rcpt);
    let has_cert = || {
        let key = format!("cert?{}|{rcpt}", format.name());
        cache
            .found
            .get(&key, || {
                Ok::<bool, FilterError>(
                    certs(ks, &[rcpt], format).is_ok_and(|k| k.pgp_certs.len() + k.x509_certs.len() > 0),
                )
            })
            .is_ok_and(|b| *b)
    };
    let encrypt = match config.outbound.encrypt {
        Encrypt::Never => false,
        Encrypt::Opportunistic => has_cert(),
        Encrypt::Required if has_cert() => true,
        Encrypt::Required => {
            return Err(FilterError::Refused(format!(
                "encryption is required and there is no {} certificate for {rcpt}",
                format.name()
            )));
        }
    };
    Ok(Treatment::Outbound { format, encrypt })
}

/// An accepted envelope recipient.
#[derive(Clone, Debug)]
pub struct Rcpt {
    /// As the client gave it (relayed so).
    pub address: String,
    /// Normalised (keystore lookups, comparison with header addresses).
    pub normalized: String,
    /// Its treatment.
    pub treatment: Treatment,
}

/// An envelope address as the decisions compare it: normalised as the keystore does, else lower case.
pub fn normalize(addr: &str) -> String {
    crate::keystore::address::normalize(addr).unwrap_or_else(|| addr.to_ascii_lowercase())
}

/// One next-hop transaction: its recipients and what to do with the message for them.
pub struct Group {
    /// Envelope recipients, as given.
    pub rcpts: Vec<String>,
    /// The plan.
    pub plan: Plan,
}

/// Splits the recipients (with their treatments from [`treatment`]) into groups and plans each. `sender` is
/// the normalised envelope sender.
pub fn groups(
    config: &Config,
    ks: &Keystore,
    cache: &Keys,
    pass: Option<&[u8]>,
    raw: &[u8],
    sender: Option<&str>,
    rcpts: &[Rcpt],
) -> Result<Vec<Group>, FilterError> {
    let from = addresses(raw, &["from"])?;
    let visible = addresses(raw, &["to", "cc"])?;
    let mut by_treatment: BTreeMap<(Treatment, Option<String>), Vec<&Rcpt>> = BTreeMap::new();
    for r in rcpts {
        let n = &r.normalized;
        let key = match r.treatment {
            Treatment::Outbound { encrypt: true, .. } if !visible.contains(n) => Some(n.clone()),
            Treatment::Inbound if config.inbound.decrypt && has_secret(ks, cache, n) => Some(n.clone()),
            _ => None,
        };
        by_treatment.entry((r.treatment, key)).or_default().push(r);
    }
    let mut out = Vec::new();
    for ((t, alone), members) in by_treatment {
        let rcpts: Vec<String> = members.iter().map(|r| r.normalized.clone()).collect();
        let mut reasons = Vec::new();
        let plan = match t {
            Treatment::Inbound => {
                let (verify, decrypt) = (config.inbound.verify, config.inbound.decrypt);
                reasons.push(format!("inbound for {}", rcpts.join(", ")));
                if !verify && !decrypt {
                    reasons.push("[inbound] verify and decrypt are both off".into());
                    Plan {
                        direction: Direction::Inbound,
                        action: Action::PassThrough,
                        reasons,
                        keys: Arc::default(),
                        to: Arc::default(),
                    }
                } else {
                    let decrypt_for = if alone.is_some() { &rcpts[..] } else { &[] };
                    let key = format!("in|{}|{}", from.join(","), decrypt_for.join(","));
                    let keys = cache.loaded.get(&key, || {
                        let anchors = &config.inbound.anchors;
                        Ok::<_, FilterError>(inbound_keys(ks, anchors, &from, decrypt_for, pass, &mut reasons))
                    })?;
                    Plan {
                        direction: Direction::Inbound,
                        action: Action::Open { decrypt },
                        reasons,
                        keys,
                        to: Arc::default(),
                    }
                }
            }
            Treatment::Outbound { format, encrypt } => {
                reasons.push(format!("outbound as {} for {}", format.name(), rcpts.join(", ")));
                let mut keys = Arc::default();
                let mut sign = false;
                if config.outbound.sign {
                    match (sender, from.as_slice()) {
                        (Some(s), [f]) if s == f => {
                            let key = format!("sign|{}|{s}", format.name());
                            keys = cache.loaded.get(&key, || {
                                let mut k = MailKeys::default();
                                signer_keys(&mut k, ks, s, format, pass, &mut reasons);
                                Ok::<_, FilterError>(k)
                            })?;
                            sign = keys.pgp_secret.is_some() || !keys.x509_identities.is_empty();
                        }
                        _ => reasons.push(format!(
                            "not signed: the From field ({}) is not the envelope sender ({})",
                            from.join(", "),
                            sender.unwrap_or("<>")
                        )),
                    }
                }
                let mut to = Arc::default();
                if encrypt {
                    let names: Vec<&str> = rcpts.iter().map(String::as_str).collect();
                    let key = format!("to|{}|{}", format.name(), names.join(","));
                    to = cache.loaded.get(&key, || certs(ks, &names, format))?;
                    reasons.push(format!("encrypted to {}", rcpts.join(", ")));
                }
                let action = if format == Format::Pem && encrypt && !sign {
                    Action::Refuse("PEM encryption needs the sender's key".into())
                } else if sign || encrypt {
                    Action::Seal { format, sign, encrypt }
                } else {
                    Action::PassThrough
                };
                Plan { direction: Direction::Outbound, action, reasons, keys, to }
            }
        };
        out.push(Group { rcpts: members.iter().map(|r| r.address.clone()).collect(), plan });
    }
    Ok(out)
}

fn has_secret(ks: &Keystore, cache: &Keys, rcpt: &str) -> bool {
    let found = || {
        Ok::<bool, FilterError>(
            ks.pgp_secret_for(rcpt).is_ok_and(|v| !v.is_empty())
                || ks.x509_secret_for(rcpt).is_ok_and(|v| !v.is_empty()),
        )
    };
    cache.found.get(&format!("secret?{rcpt}"), found).is_ok_and(|b| *b)
}

/// The certificates of `rcpts` in `format`.
fn certs(ks: &Keystore, rcpts: &[&str], format: Format) -> Result<MailKeys, FilterError> {
    let mut k = MailKeys::default();
    for r in rcpts {
        k.add_keystore_certs(ks, r, format)?;
    }
    Ok(k)
}
