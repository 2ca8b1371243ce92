//! CRL and CRL-RETRIEVAL-REQUEST messages (RFC 1424 section 5 and 6). A CRL message is all header: each
//! `CRL:` field (a DER CertificateList in printable encoding) may be followed by the `Originator-Certificate`
//! of its issuer and `Issuer-Certificate` fields for that certificate's path. A CRL-RETRIEVAL-REQUEST asks
//! a certification authority for the current CRLs of the issuers named in its `Issuer:` fields (DER names).
//!
//! [`check`] verifies every CRL's signature with its issuer's certificate (from the message, `--cert`, or
//! `--ca`) and lists the CRL; [`describe`] explains any PEM message's header for people (`pem show`).

use der::Decode;
use x509_cert::name::Name;

use super::message::{Kind, Message, decode_base64};
use super::{PemError, Trust};
use crate::core::policy::{Policy, Usage};
use crate::core::verdict::{Format, SignerResult, SignerStatus, Verdict};
use crate::x509::crl::Crl;
use crate::x509::{self, Certificate, Purpose};

/// One `CRL:` field and the certificates that follow it.
struct CrlItem {
    crl: Crl,
    issuer: Option<Certificate>,
    path: Vec<Certificate>,
}

fn items(msg: &Message) -> Result<Vec<CrlItem>, PemError> {
    let mut out: Vec<CrlItem> = Vec::new();
    for (name, value) in &msg.fields {
        if name.eq_ignore_ascii_case("CRL") {
            out.push(CrlItem { crl: Crl::from_der(&decode_base64(value)?)?, issuer: None, path: Vec::new() });
        } else if name.eq_ignore_ascii_case("Originator-Certificate") {
            let item =
                out.last_mut().ok_or_else(|| PemError::Malformed("Originator-Certificate before any CRL".into()))?;
            item.issuer = Some(Certificate::from_der(&decode_base64(value)?)?);
        } else if name.eq_ignore_ascii_case("Issuer-Certificate") {
            let item = out.last_mut().ok_or_else(|| PemError::Malformed("Issuer-Certificate before any CRL".into()))?;
            item.path.push(Certificate::from_der(&decode_base64(value)?)?);
        } else {
            return Err(PemError::Malformed(format!(
                "a {name} field in a CRL message (RFC 1424: CRL, Originator-Certificate, Issuer-Certificate)"
            )));
        }
    }
    if out.is_empty() {
        return Err(PemError::Malformed("a CRL message without a CRL field".into()));
    }
    Ok(out)
}

/// The issuers a CRL-RETRIEVAL-REQUEST names.
fn requested(msg: &Message) -> Result<Vec<String>, PemError> {
    let mut out = Vec::new();
    for (name, value) in &msg.fields {
        if !name.eq_ignore_ascii_case("Issuer") {
            return Err(PemError::Malformed(format!("a {name} field in a CRL-RETRIEVAL-REQUEST (RFC 1424: Issuer)")));
        }
        let dn = Name::from_der(&decode_base64(value)?).map_err(|e| PemError::Malformed(format!("Issuer: {e}")))?;
        out.push(x509::name::display(&dn));
    }
    if out.is_empty() {
        return Err(PemError::Malformed("a CRL-RETRIEVAL-REQUEST without an Issuer field".into()));
    }
    Ok(out)
}

/// Checks every CRL of a CRL message: its signature by its issuer's certificate (the one following it in
/// the message, else one of `trust`'s with the CRL's issuer as subject), and, when `trust` has CAs, that
/// certificate's path to them. Returns the verdict (one signer per CRL) and the CRLs listed for people.
pub fn check(text: &[u8], trust: &Trust, policy: &Policy) -> Result<(Verdict, String), PemError> {
    let msg = Message::parse(text)?;
    match msg.kind {
        Kind::Crl => {}
        Kind::CrlRetrievalRequest => {
            return Err(PemError::Unsupported(format!(
                "a CRL-RETRIEVAL-REQUEST carries no signature to verify; it asks for the CRLs of {} (`pem show` \
                 lists it)",
                requested(&msg)?.join("; ")
            )));
        }
        other => return Err(PemError::Unsupported(format!("{} is not a CRL message", other.name()))),
    }
    let mut verdict = Verdict::new(Format::Pem);
    let mut listing = String::new();
    for item in items(&msg)? {
        let mut r = SignerResult::new(item.crl.issuer(), SignerStatus::Good);
        r.key_algorithm = Some("rsa".into());
        let from_message = item.issuer.is_some();
        let known = trust.certs.iter().chain(&trust.anchors).find(|c| item.crl.is_issued_by(c));
        let issuer = item.issuer.as_ref().or(known);
        let state = match issuer {
            None => {
                r.status = SignerStatus::UnknownKey;
                r.detail = Some("no certificate of the CRL's issuer (in the message, --cert or --ca)".into());
                "issuer certificate unknown".to_string()
            }
            Some(cert) => match check_one(&item, cert, trust, policy, &mut r) {
                Ok(path) => {
                    if from_message && path.is_none() && known.is_none_or(|k| k.der() != cert.der()) {
                        verdict.notes.push(format!(
                            "the certificate of \"{}\" was taken from the message itself (give --ca to check its \
                             path)",
                            item.crl.issuer()
                        ));
                    }
                    match path {
                        Some(p) => format!("signature good; certificate path {}", p.join(" <- ")),
                        None => "signature good".to_string(),
                    }
                }
                Err(detail) => {
                    r.status = SignerStatus::Bad;
                    r.detail = Some(detail.clone());
                    format!("BAD: {detail}")
                }
            },
        };
        listing.push_str(&item.crl.describe());
        listing.push_str(&format!("  {state}\n"));
        verdict.signers.push(r);
    }
    Ok((verdict.finish(), listing))
}

/// Checks one CRL's signature (and the issuer's path when there are CAs); `Err` is the failure detail.
fn check_one(
    item: &CrlItem,
    cert: &Certificate,
    trust: &Trust,
    policy: &Policy,
    r: &mut SignerResult,
) -> Result<Option<Vec<String>>, String> {
    if !item.crl.is_issued_by(cert) {
        return Err(format!("the certificate after the CRL is \"{}\", not its issuer", cert.subject()));
    }
    let hash = item.crl.verify_signed_by(cert).map_err(|e| e.to_string())?;
    r.hash = Some(hash.to_string());
    r.key_bits = cert.rsa_bits();
    r.weak.extend(policy.check(hash.algorithm(), Usage::Verify, false).map_err(|e| e.to_string())?.weak);
    if let Some(bits) = r.key_bits {
        r.weak.extend(policy.check_rsa(bits, Usage::Verify).map_err(|e| e.to_string())?.weak);
    }
    if trust.anchors.is_empty() {
        return Ok(None);
    }
    let mut pool = item.path.clone();
    pool.extend(trust.certs.iter().cloned());
    let report =
        x509::validate(cert, &pool, &trust.anchors, &[], Purpose::CrlSign, policy).map_err(|e| e.to_string())?;
    r.weak.extend(report.weak);
    Ok(Some(report.path))
}

/// Explains a PEM message's header for people: the Proc-Type, and what each field names (certificates by
/// subject, Recipient-IDs by issuer and serial, CRLs listed, requested issuers).
pub fn describe(text: &[u8]) -> Result<String, PemError> {
    let msg = Message::parse(text)?;
    let mut out = format!("Proc-Type: {},{}\n", msg.version, msg.kind.name());
    match msg.kind {
        Kind::Crl => {
            for item in items(&msg)? {
                out.push_str(&item.crl.describe());
                if let Some(c) = &item.issuer {
                    out.push_str(&format!("  issuer certificate: \"{}\"\n", c.subject()));
                }
                for c in &item.path {
                    out.push_str(&format!(
                        "  Issuer-Certificate: \"{}\" (issued by \"{}\")\n",
                        c.subject(),
                        c.issuer()
                    ));
                }
            }
        }
        Kind::CrlRetrievalRequest => {
            for issuer in requested(&msg)? {
                out.push_str(&format!("asks for the CRL of \"{issuer}\"\n"));
            }
        }
        _ => {
            for (name, value) in &msg.fields {
                out.push_str(&describe_field(name, value));
            }
            out.push_str(&format!("body: {} lines\n", msg.body.len()));
        }
    }
    Ok(out)
}

fn describe_field(name: &str, value: &str) -> String {
    let cert = || decode_base64(value).ok().and_then(|d| Certificate::from_der(&d).ok());
    let lower = name.to_ascii_lowercase();
    match lower.as_str() {
        "originator-certificate" | "issuer-certificate" => match cert() {
            Some(c) => format!("{name}: \"{}\" (issued by \"{}\", serial {})\n", c.subject(), c.issuer(), c.serial()),
            None => format!("{name}: (unreadable certificate)\n"),
        },
        "recipient-id-asymmetric" | "originator-id-asymmetric" => {
            let (issuer, serial) = value.split_once(',').unwrap_or((value, "?"));
            let dn = decode_base64(issuer)
                .ok()
                .and_then(|d| Name::from_der(&d).ok())
                .map(|n| x509::name::display(&n))
                .unwrap_or_else(|| "(unreadable name)".into());
            format!("{name}: issuer \"{dn}\" serial {}\n", serial.trim())
        }
        "mic-info" | "key-info" | "originator-key-asymmetric" => {
            let shown: String = value.chars().take(40).collect();
            format!("{name}: {shown}{}\n", if value.len() > 40 { "..." } else { "" })
        }
        _ => format!("{name}: {value}\n"),
    }
}
