//! What the filters do with one message, decided from the configuration, the message's addresses and the
//! keystore ([`plan`]), explained for people (`sealpost filter explain`), and carried out ([`apply`]).
//!
//! Direction: a sender in a local domain writing to anyone outside is outbound; everything else is inbound.
//! Outbound: verification headers that pose as ours are removed; signed with the sender's key when
//! `[outbound] sign` and the keystore has one; encrypted when every recipient has a certificate
//! (`opportunistic`), never, or always (`required`: a recipient without one is a permanent refusal).
//! Inbound: verified and decrypted with the recipients' keys (the message is passed through with a failing
//! verdict when that fails), spoofed headers removed, our header added.

use super::FilterError;
use super::config::{Config, Encrypt};
use crate::core::rand::SystemRng;
use crate::keystore::Keystore;
use crate::mail::keys::addresses;
use crate::mail::open::{OpenOptions, open};
use crate::mail::outgoing::{self, Format};
use crate::mail::{MailKeys, result_header};

/// Which way the message goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// From a local sender to someone outside.
    Outbound,
    /// Everything else.
    Inbound,
}

/// What will be done.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// Nothing applies: the message goes on unchanged (spoofed headers removed).
    PassThrough,
    /// Sign and/or encrypt in a format.
    Seal {
        /// The format.
        format: Format,
        /// Sign with the sender's key.
        sign: bool,
        /// Encrypt for the recipients.
        encrypt: bool,
    },
    /// Verify and/or decrypt, and add the verification header.
    Open {
        /// Decrypt with the recipients' keys.
        decrypt: bool,
    },
    /// Refused for good (a required key is missing): the message must not go on.
    Refuse(String),
}

/// The decision, with its reasons.
pub struct Plan {
    /// The direction.
    pub direction: Direction,
    /// The action.
    pub action: Action,
    /// Why, one line each.
    pub reasons: Vec<String>,
    /// The signer's keys (outbound) or the recipients' keys and senders' certificates (inbound).
    pub keys: std::sync::Arc<MailKeys>,
    /// The recipients' certificates (outbound).
    pub to: std::sync::Arc<MailKeys>,
}

/// The passphrase for the keystore's encrypted secret keys, from `passphrase_file` (final newline removed).
pub fn passphrase(config: &Config) -> Result<Option<zeroize::Zeroizing<Vec<u8>>>, FilterError> {
    config
        .passphrase_file
        .as_deref()
        .map(crate::keystore::files::read_passphrase)
        .transpose()
        .map_err(FilterError::from)
}

/// Decides what to do with `raw`. `forced` overrides the direction.
pub fn plan(config: &Config, ks: &Keystore, raw: &[u8], forced: Option<Direction>) -> Result<Plan, FilterError> {
    let from = addresses(raw, &["from"])?;
    let to = addresses(raw, &["to", "cc"])?;
    let mut reasons = Vec::new();
    let local_sender = from.first().is_some_and(|f| config.is_local(f));
    let outside: Vec<&String> = to.iter().filter(|t| !config.is_local(t)).collect();
    let direction = match forced {
        Some(d) => {
            reasons.push(format!("direction {d:?} as given"));
            d
        }
        None if local_sender && !outside.is_empty() => {
            reasons.push(format!(
                "outbound: the sender {} is in a local domain and {} recipient(s) are not",
                from[0],
                outside.len()
            ));
            Direction::Outbound
        }
        None => {
            reasons.push(match from.first() {
                Some(f) if local_sender => format!("inbound: the sender {f} is local and so is every recipient"),
                Some(f) => format!("inbound: the sender {f} is not in a local domain"),
                None => "inbound: the message has no From address".to_string(),
            });
            Direction::Inbound
        }
    };
    let pass = passphrase(config)?;
    let pass = pass.as_deref().map(|p| &p[..]);
    let mut keys = MailKeys::default();
    let mut to_keys = MailKeys::default();
    if direction == Direction::Outbound && is_signed_receipt(raw) {
        // Ours (made by the inbound side) or a client's: signing it again would hide the receipt from the
        // sender's software, which looks for application/pkcs7-mime at the root.
        reasons.push("a signed receipt (RFC 2634) goes on as it is".into());
        return Ok(Plan { direction, action: Action::PassThrough, reasons, keys: keys.into(), to: to_keys.into() });
    }
    let action = match direction {
        Direction::Inbound => {
            let (verify, decrypt) = (config.inbound.verify, config.inbound.decrypt);
            if !verify && !decrypt {
                reasons.push("[inbound] verify and decrypt are both off".into());
                Action::PassThrough
            } else {
                let anchors = &config.inbound.anchors;
                keys = inbound_keys(ks, anchors, &from, if decrypt { &to } else { &[] }, pass, &mut reasons);
                if config.inbound.receipts {
                    reasons.push(
                        "S/MIME signed-receipt requests answered for recipients with an S/MIME key, when the \
                         message verifies ([inbound] receipts; SMTP hook)"
                            .into(),
                    );
                }
                Action::Open { decrypt }
            }
        }
        Direction::Outbound => {
            let formats: Vec<Format> = outside.iter().map(|t| config.format_for(t)).collect();
            let format = formats.first().copied().unwrap_or(config.outbound.format);
            if formats.iter().any(|f| *f != format) {
                reasons.push(format!(
                    "recipients need different formats; this message is handled as {} (the SMTP hook sends each \
                     format in its own transaction)",
                    format.name()
                ));
            }
            reasons.push(format!("format {}", format.name()));
            let mut sign = false;
            if config.outbound.sign {
                let sender = from.first().map(String::as_str).unwrap_or("");
                sign = signer_keys(&mut keys, ks, sender, format, pass, &mut reasons);
            }
            let mut missing = Vec::new();
            if config.outbound.encrypt != Encrypt::Never {
                for t in &to {
                    if to_keys.add_keystore_certs(ks, t, format).unwrap_or(0) == 0 {
                        missing.push(t.clone());
                    }
                }
            }
            let encrypt = match config.outbound.encrypt {
                Encrypt::Never => {
                    reasons.push("not encrypted: [outbound] encrypt = \"never\"".into());
                    false
                }
                Encrypt::Opportunistic if missing.is_empty() => {
                    reasons.push(format!("encrypted: every recipient has a {} certificate", format.name()));
                    true
                }
                Encrypt::Opportunistic => {
                    reasons.push(format!("not encrypted: no {} certificate for {}", format.name(), missing.join(", ")));
                    false
                }
                Encrypt::Required if missing.is_empty() => {
                    reasons.push(format!("encrypted (required): every recipient has a {} certificate", format.name()));
                    true
                }
                Encrypt::Required => {
                    let why = format!(
                        "encryption is required and there is no {} certificate for {}",
                        format.name(),
                        missing.join(", ")
                    );
                    reasons.push(format!("refused: {why}"));
                    return Ok(Plan {
                        direction,
                        action: Action::Refuse(why),
                        reasons,
                        keys: keys.into(),
                        to: to_keys.into(),
                    });
                }
            };
            if format == Format::Pem && encrypt && !sign {
                reasons.push(
                    "refused: PEM encryption needs the sender's key (RFC 1421 messages are always signed)".into(),
                );
                return Ok(Plan {
                    direction,
                    action: Action::Refuse("PEM encryption needs the sender's key".into()),
                    reasons,
                    keys: keys.into(),
                    to: to_keys.into(),
                });
            }
            if sign || encrypt { Action::Seal { format, sign, encrypt } } else { Action::PassThrough }
        }
    };
    Ok(Plan { direction, action, reasons, keys: keys.into(), to: to_keys.into() })
}

/// True for a message whose root is `application/pkcs7-mime; smime-type=signed-receipt`.
fn is_signed_receipt(raw: &[u8]) -> bool {
    crate::mime::parse_header(raw).is_ok_and(|root| {
        crate::mail::smime_mime::is_pkcs7_mime(&root)
            && root.param("smime-type").is_some_and(|t| t.eq_ignore_ascii_case("signed-receipt"))
    })
}

/// The keys to open an inbound message: the secret keys of `recipients` (to decrypt), the certificates of
/// `senders` (to verify), each found one named in `reasons`, and the configured trust `anchors`.
pub(crate) fn inbound_keys(
    ks: &Keystore,
    anchors: &[x509_cert::Certificate],
    senders: &[String],
    recipients: &[String],
    pass: Option<&[u8]>,
    reasons: &mut Vec<String>,
) -> MailKeys {
    let mut keys = MailKeys { anchors: anchors.to_vec(), ..MailKeys::default() };
    if !anchors.is_empty() {
        reasons
            .push(format!("{} trusted CA certificate(s) for S/MIME and PEM paths ([inbound] ca_file)", anchors.len()));
    }
    for addr in recipients {
        for f in [Format::Pgp, Format::Smime] {
            if keys.add_keystore_secret(ks, addr, f, pass).unwrap_or(false) {
                reasons.push(format!("a {} secret key for {addr} to decrypt with", f.name()));
            }
        }
    }
    for addr in senders {
        for f in [Format::Pgp, Format::Smime] {
            let n = keys.add_keystore_certs(ks, addr, f).unwrap_or(0);
            if n > 0 {
                reasons.push(format!("{n} {} certificate(s) of the sender {addr} to verify with", f.name()));
            }
        }
    }
    keys
}

/// Adds the signer's secret key in `format` to `keys`; false (with the reason) when the keystore has none.
pub(crate) fn signer_keys(
    keys: &mut MailKeys,
    ks: &Keystore,
    sender: &str,
    format: Format,
    pass: Option<&[u8]>,
    reasons: &mut Vec<String>,
) -> bool {
    let sign = keys.add_keystore_secret(ks, sender, format, pass).unwrap_or(false);
    reasons.push(if sign {
        format!("signed with the {} key of {sender}", format.name())
    } else {
        format!("not signed: the keystore has no {} secret key for {sender}", format.name())
    });
    sign
}

/// What [`apply`] made: the message to hand on, and the verdict when the message was opened.
pub struct Outcome {
    /// The message to hand on.
    pub message: Vec<u8>,
    /// The verification verdict (inbound).
    pub verdict: Option<crate::core::verdict::Verdict>,
}

/// Carries a plan out: the message to hand on.
pub fn apply(plan: &Plan, raw: &[u8], authserv_id: &str) -> Result<Outcome, FilterError> {
    // Copies of our header never travel on, in either direction.
    let root = crate::mime::parse(raw)?;
    let cleaned = result_header::cut(raw, &result_header::spoofed_fields(raw, &root, authserv_id));
    let policy = crate::core::policy::Policy::default();
    match &plan.action {
        Action::PassThrough => Ok(Outcome { message: cleaned, verdict: None }),
        Action::Refuse(why) => Err(FilterError::Refused(why.clone())),
        Action::Seal { format, sign, encrypt } => {
            let mut rng = SystemRng;
            let out = if *encrypt {
                outgoing::seal(*format, &cleaned, &plan.keys, &plan.to, *sign, None, &mut rng)
            } else {
                outgoing::sign(*format, &cleaned, &plan.keys, false, &mut rng)
            };
            // A message that should have been sealed and could not be goes nowhere yet: retry later.
            let message = out.map_err(|e| FilterError::Temporary(format!("cannot seal the message: {e}")))?;
            Ok(Outcome { message, verdict: None })
        }
        Action::Open { .. } => {
            let opened = open(&cleaned, &plan.keys, &OpenOptions { authserv_id, policy: &policy })
                .map_err(|e| FilterError::Temporary(format!("cannot read the message: {e}")))?;
            Ok(Outcome { message: opened.message, verdict: Some(opened.verdict) })
        }
    }
}

/// The plan for people.
pub fn explain(plan: &Plan) -> String {
    let action = match &plan.action {
        Action::PassThrough => "pass the message on unchanged (spoofed verification headers removed)".to_string(),
        Action::Seal { format, sign, encrypt } => format!(
            "{} as {}",
            match (sign, encrypt) {
                (true, true) => "sign and encrypt",
                (false, true) => "encrypt",
                _ => "sign",
            },
            format.name()
        ),
        Action::Open { decrypt: true } => "verify and decrypt, and add the verification header".into(),
        Action::Open { decrypt: false } => "verify, and add the verification header".into(),
        Action::Refuse(why) => format!("refuse the message: {why}"),
    };
    let mut out = format!("{}: {action}\n", if plan.direction == Direction::Outbound { "outbound" } else { "inbound" });
    for r in &plan.reasons {
        out.push_str(&format!("  - {r}\n"));
    }
    out
}
