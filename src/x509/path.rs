//! Certificate path validation (RFC 5280 §6, reduced to what S/MIME needs; RFC 8550 §4): from a leaf
//! certificate through intermediates found among the certificates at hand (the message's and `--cert`'s)
//! to one of the trust anchors the user named (`--ca`).
//!
//! Building and checking are separate steps. [`validate`] first lists the candidate paths by names alone
//! (subject = issuer, RFC 5280 §7.1 comparison; candidates whose subjectKeyIdentifier matches the
//! authorityKeyIdentifier are tried first), without loops and at most [`MAX_PATH_LEN`] certificates long;
//! then checks each path until one passes:
//!
//! - every signature, by the next certificate's key, through the core;
//! - every certificate's validity at every given time (the signing time when known, and now);
//! - every issuer: basicConstraints cA (a version 1 trust anchor is accepted without it, as old roots
//!   have no extensions, and for [`Purpose::PemSign`] any version 1 CA), pathLenConstraint, keyUsage keyCertSign when keyUsage is present;
//! - the leaf: keyUsage digitalSignature or nonRepudiation for signing, keyEncipherment for encryption,
//!   when keyUsage is present;
//! - every certificate: extendedKeyUsage, when present, lists emailProtection or anyExtendedKeyUsage
//!   (as OpenSSL's `smimesign`/`smimeencrypt` purposes ask of CAs too); no critical extension sealpost does
//!   not process (nameConstraints and the policy constraints are among them: refused, never half-checked).
//!
//! Trust anchors are trusted by configuration: their own self-signatures are not checked (RFC 5280 §6.1.1
//! (d) takes the anchor's key and name only). Revocation is not checked.
//!
//! Weak results are not refused here: a path signed with SHA-1 or MD5, or through an RSA key under the
//! policy's limit, passes with the core policy's [`Weakness`] labels in the report, for the verdict.

use std::time::SystemTime;

use super::X509Error;
use super::{Certificate, date, quoted};
use crate::core::policy::{Policy, Usage, Weakness};

/// Longest path built: leaf, intermediates and trust anchor together.
pub const MAX_PATH_LEN: usize = 8;
/// Most candidate paths checked, so that a message stuffed with cross-certificates cannot make the search
/// explode.
const MAX_CANDIDATE_PATHS: usize = 16;
/// Most certificates visited while building paths.
const MAX_VISITS: usize = 4096;

/// What the leaf certificate is to be used for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Purpose {
    /// Checking a signature made with its key (keyUsage digitalSignature or nonRepudiation).
    Sign,
    /// Encrypting to its key (keyUsage keyEncipherment, for RSA key transport).
    Encrypt,
    /// Checking an RFC 1421 MIC with an RFC 1422 certificate: as [`Purpose::Sign`], except that version 1
    /// certificates are accepted as intermediate CAs, as the RFC 1422 hierarchy (IPRA, PCAs, CAs) issued
    /// nothing else. RFC 1422's name subordination is a PCA policy and not enforced here.
    PemSign,
    /// Checking a CRL's signature (RFC 1424 CRL messages): keyUsage cRLSign when keyUsage is present;
    /// version 1 CAs accepted as for [`Purpose::PemSign`].
    CrlSign,
}

/// A validated path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChainReport {
    /// Subjects, the leaf first, the trust anchor last (a single entry when the leaf is itself an anchor).
    pub path: Vec<String>,
    /// Weaknesses along the path, sorted, without duplicates: the hash of every signature checked (MD2,
    /// MD5, SHA-1), and every RSA key below the policy's limit (the leaf's and each issuer's).
    pub weak: Vec<Weakness>,
    /// Where each weakness is, for people: `"CN=Bob" is signed with sha1`.
    pub notes: Vec<String>,
}

impl ChainReport {
    /// True when nothing along the path is weak.
    pub fn is_strong(&self) -> bool {
        self.weak.is_empty()
    }
}

/// Validates `leaf` for `purpose` to one of `anchors`, with intermediates from `pool`, at each of
/// `times` (an empty slice means now). The first failure is a [`X509Error::Chain`] naming the
/// certificate and the check; an algorithm that cannot be checked is [`X509Error::Unsupported`].
pub fn validate(
    leaf: &Certificate,
    pool: &[Certificate],
    anchors: &[Certificate],
    times: &[SystemTime],
    purpose: Purpose,
    policy: &Policy,
) -> Result<ChainReport, X509Error> {
    let now = [SystemTime::now()];
    let times = if times.is_empty() { &now[..] } else { times };
    let (paths, dead_end) = build(leaf, pool, anchors);
    let mut first_error = None;
    for path in &paths {
        match check(path, times, purpose, policy) {
            Ok(report) => return Ok(report),
            Err(err) => {
                first_error.get_or_insert(err);
            }
        }
    }
    Err(first_error.unwrap_or_else(|| X509Error::Chain(no_path_message(leaf, dead_end, anchors.is_empty()))))
}

/// [`validate`] for certificates decoded elsewhere (`x509-cert` structures, as a CMS message carries them),
/// at the signing time when known and now, giving the weaknesses found: the shape the SignedData verifier
/// takes for its chain check.
pub fn check_chain(
    leaf: &x509_cert::Certificate,
    pool: &[x509_cert::Certificate],
    anchors: &[x509_cert::Certificate],
    signing_time: Option<SystemTime>,
    purpose: Purpose,
    policy: &Policy,
) -> Result<Vec<Weakness>, X509Error> {
    let wrap = |certs: &[x509_cert::Certificate]| -> Result<Vec<Certificate>, X509Error> {
        certs.iter().map(|c| Certificate::from_x509(c.clone())).collect()
    };
    let leaf = Certificate::from_x509(leaf.clone())?;
    let times: Vec<SystemTime> = signing_time.into_iter().chain([SystemTime::now()]).collect();
    Ok(validate(&leaf, &wrap(pool)?, &wrap(anchors)?, &times, purpose, policy)?.weak)
}

fn no_path_message(leaf: &Certificate, dead_end: Option<&Certificate>, no_anchors: bool) -> String {
    let mut msg = format!("no path to a trusted CA from {}", quoted(leaf));
    if no_anchors {
        msg.push_str(" (no trusted CA certificates were given)");
        return msg;
    }
    match dead_end {
        Some(c) if c.is_self_issued() => msg.push_str(&format!(": {} is not a trusted CA", quoted(c))),
        Some(c) if std::ptr::eq(c, leaf) => {
            msg.push_str(&format!(": no certificate of its issuer \"{}\" was found", c.issuer()));
        }
        Some(c) => {
            msg.push_str(&format!(": no certificate of \"{}\", the issuer of {}, was found", c.issuer(), quoted(c)))
        }
        None => {}
    }
    msg
}

/// One certificate of a candidate path.
#[derive(Clone, Copy)]
struct Link<'a> {
    cert: &'a Certificate,
    anchor: bool,
}

/// Candidate paths from `leaf` to an anchor, by names only, best first; and, when there are none, the
/// certificate where the longest search stopped.
fn build<'a>(
    leaf: &'a Certificate,
    pool: &'a [Certificate],
    anchors: &'a [Certificate],
) -> (Vec<Vec<Link<'a>>>, Option<&'a Certificate>) {
    if anchors.contains(leaf) {
        return (vec![vec![Link { cert: leaf, anchor: true }]], None);
    }
    let mut search = Search { pool, anchors, paths: Vec::new(), visits: 0, dead_end: None };
    let mut path = vec![Link { cert: leaf, anchor: false }];
    search.extend(&mut path);
    (search.paths, search.dead_end.map(|(c, _)| c))
}

struct Search<'a> {
    pool: &'a [Certificate],
    anchors: &'a [Certificate],
    paths: Vec<Vec<Link<'a>>>,
    visits: usize,
    /// The certificate without a known issuer at the greatest depth, and that depth.
    dead_end: Option<(&'a Certificate, usize)>,
}

impl<'a> Search<'a> {
    fn extend(&mut self, path: &mut Vec<Link<'a>>) {
        let Some(last) = path.last().map(|l| l.cert) else { return };
        let mut candidates: Vec<Link<'a>> = self
            .anchors
            .iter()
            .map(|cert| Link { cert, anchor: true })
            .chain(self.pool.iter().filter(|c| !self.anchors.contains(c)).map(|cert| Link { cert, anchor: false }))
            .filter(|l| super::name::names_match(l.cert.subject_name(), last.issuer_name()))
            .filter(|l| !path.iter().any(|p| p.cert == l.cert))
            .collect();
        // Key identifiers order the candidates, they do not exclude any: a mismatch then shows as a
        // signature that does not verify, which says more than "no issuer found".
        let aki = last.authority_key_id();
        candidates.sort_by_cached_key(|l| match (&aki, l.cert.subject_key_id()) {
            (Some(aki), Some(ski)) if *aki == ski => 0,
            (Some(_), Some(_)) => 2,
            _ => 1,
        });
        if candidates.is_empty() && self.dead_end.is_none_or(|(_, depth)| depth < path.len()) {
            self.dead_end = Some((last, path.len()));
        }
        for link in candidates {
            if self.paths.len() >= MAX_CANDIDATE_PATHS || self.visits >= MAX_VISITS {
                return;
            }
            self.visits += 1;
            path.push(link);
            if link.anchor {
                self.paths.push(path.clone());
            } else if path.len() < MAX_PATH_LEN {
                self.extend(path);
            }
            path.pop();
        }
    }
}

/// Checks one candidate path (leaf first, anchor last).
fn check(path: &[Link<'_>], times: &[SystemTime], purpose: Purpose, policy: &Policy) -> Result<ChainReport, X509Error> {
    let mut weak = Vec::new();
    let mut notes = Vec::new();
    let note_key = |cert: &Certificate, weak: &mut Vec<Weakness>, notes: &mut Vec<String>| {
        if let Some(bits) = cert.rsa_bits()
            && let Ok(acceptance) = policy.check_rsa(bits, Usage::Verify)
            && !acceptance.is_strong()
        {
            notes.push(format!("{} has a {bits}-bit RSA key", quoted(cert)));
            weak.extend(acceptance.weak);
        }
    };
    let Some(leaf) = path.first().map(|l| l.cert) else {
        return Err(X509Error::Chain("empty certificate path".into()));
    };
    note_key(leaf, &mut weak, &mut notes);
    // Intermediates below the current certificate that count against pathLenConstraint.
    let mut below = 0usize;
    for (i, link) in path.iter().enumerate() {
        let cert = link.cert;
        if let Some(issuer) = path.get(i + 1).map(|l| l.cert) {
            let hash = cert.verify_signed_by(issuer)?;
            let acceptance = policy.check(hash.algorithm(), Usage::Verify, false)?;
            if !acceptance.is_strong() {
                notes.push(format!("{} is signed with {hash}", quoted(cert)));
                weak.extend(acceptance.weak);
            }
            note_key(issuer, &mut weak, &mut notes);
        }
        check_time(cert, times)?;
        if let Some(oid) = cert.unknown_critical_extensions().first() {
            return Err(X509Error::Chain(format!(
                "{} has a critical extension sealpost does not process ({})",
                quoted(cert),
                super::signature::algorithm_name(oid)
            )));
        }
        if !cert.allows_email_protection() {
            return Err(X509Error::Chain(format!(
                "{} is not for e-mail (its extendedKeyUsage lacks emailProtection)",
                quoted(cert)
            )));
        }
        if i == 0 {
            check_leaf_usage(cert, purpose)?;
        } else {
            check_issuer(cert, link.anchor || matches!(purpose, Purpose::PemSign | Purpose::CrlSign), below)?;
            if !cert.is_self_issued() {
                below += 1;
            }
        }
    }
    weak.sort();
    weak.dedup();
    Ok(ChainReport { path: path.iter().map(|l| l.cert.subject()).collect(), weak, notes })
}

fn check_time(cert: &Certificate, times: &[SystemTime]) -> Result<(), X509Error> {
    let validity = cert.validity();
    for &t in times {
        if t < validity.not_before {
            return Err(X509Error::Chain(format!(
                "certificate {} is not valid before {} (checked at {})",
                quoted(cert),
                date(validity.not_before),
                date(t)
            )));
        }
        if t > validity.not_after {
            return Err(X509Error::Chain(format!(
                "certificate {} expired on {} (checked at {})",
                quoted(cert),
                date(validity.not_after),
                date(t)
            )));
        }
    }
    Ok(())
}

fn check_leaf_usage(cert: &Certificate, purpose: Purpose) -> Result<(), X509Error> {
    let Some(ku) = cert.key_usage() else { return Ok(()) };
    let (ok, wanted) = match purpose {
        Purpose::Sign | Purpose::PemSign => {
            (ku.digital_signature() || ku.non_repudiation(), "digitalSignature or nonRepudiation")
        }
        Purpose::Encrypt => (ku.key_encipherment(), "keyEncipherment"),
        Purpose::CrlSign => (ku.crl_sign(), "cRLSign"),
    };
    if ok {
        Ok(())
    } else {
        Err(X509Error::Chain(format!("{} may not be used for this: its keyUsage lacks {wanted}", quoted(cert))))
    }
}

fn check_issuer(cert: &Certificate, v1_ca_ok: bool, below: usize) -> Result<(), X509Error> {
    match cert.basic_constraints() {
        Some((true, path_len)) => {
            if let Some(limit) = path_len
                && below > usize::from(limit)
            {
                return Err(X509Error::Chain(format!(
                    "{} allows {limit} intermediate CA certificate(s) below it (pathLenConstraint), the path has {below}",
                    quoted(cert)
                )));
            }
        }
        Some((false, _)) => {
            return Err(X509Error::Chain(format!("{} is not a CA (basicConstraints cA is false)", quoted(cert))));
        }
        // Version 1 certificates cannot carry extensions; old roots are such.
        None if v1_ca_ok && cert.version() == 1 => {}
        None => return Err(X509Error::Chain(format!("{} is not a CA (no basicConstraints cA)", quoted(cert)))),
    }
    if let Some(ku) = cert.key_usage()
        && !ku.key_cert_sign()
    {
        return Err(X509Error::Chain(format!(
            "{} may not sign certificates (its keyUsage lacks keyCertSign)",
            quoted(cert)
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]

    use std::sync::OnceLock;
    use std::time::Duration;

    use super::*;
    use crate::core::rsa::RsaPrivateKey;
    use crate::x509::{CertSpec, certify};

    const DAY: Duration = Duration::from_secs(86_400);

    /// Three 2048-bit keys, made once for all tests.
    fn keys() -> &'static [RsaPrivateKey; 4] {
        static KEYS: OnceLock<[RsaPrivateKey; 4]> = OnceLock::new();
        KEYS.get_or_init(|| std::array::from_fn(|_| RsaPrivateKey::generate(2048).unwrap()))
    }

    fn ca<'a>(name: &str, key: &RsaPrivateKey, issuer: Option<(&'a Certificate, &'a RsaPrivateKey)>) -> Certificate {
        let spec = CertSpec { ca: true, days: 3650, issuer, ..CertSpec::new(name, None) };
        certify(&spec, key).unwrap()
    }

    fn leaf(name: &str, key: &RsaPrivateKey, issuer: (&Certificate, &RsaPrivateKey)) -> Certificate {
        let spec = CertSpec { issuer: Some(issuer), ..CertSpec::new(name, Some("bob@example.org".into())) };
        certify(&spec, key).unwrap()
    }

    fn chain_err(r: Result<ChainReport, X509Error>) -> String {
        match r {
            Err(X509Error::Chain(msg)) => msg,
            other => panic!("expected a chain error, got {other:?}"),
        }
    }

    #[test]
    fn root_intermediate_leaf() {
        let [k_root, k_int, k_leaf, _] = keys();
        let root = ca("Test Root", k_root, None);
        let int = ca("Test Intermediate", k_int, Some((&root, k_root)));
        let bob = leaf("Bob", k_leaf, (&int, k_int));
        let policy = Policy::default();
        let report =
            validate(&bob, std::slice::from_ref(&int), std::slice::from_ref(&root), &[], Purpose::Sign, &policy)
                .unwrap();
        assert_eq!(report.path, ["CN=Bob", "CN=Test Intermediate", "CN=Test Root"]);
        assert!(report.is_strong(), "{report:?}");
        validate(&bob, std::slice::from_ref(&int), std::slice::from_ref(&root), &[], Purpose::Encrypt, &policy)
            .unwrap();

        // Without the intermediate, or without anchors: no path, saying where it stopped.
        let msg = chain_err(validate(&bob, &[], std::slice::from_ref(&root), &[], Purpose::Sign, &policy));
        assert_eq!(
            msg,
            "no path to a trusted CA from \"CN=Bob\": no certificate of its issuer \"CN=Test Intermediate\" was found"
        );
        let msg = chain_err(validate(&bob, std::slice::from_ref(&int), &[], &[], Purpose::Sign, &policy));
        assert!(msg.contains("no trusted CA certificates were given"), "{msg}");
        // The root given only as a pool certificate is not trusted.
        let other = ca("Other Root", k_leaf, None);
        let pool = [int.clone(), root.clone()];
        let msg = chain_err(validate(&bob, &pool, std::slice::from_ref(&other), &[], Purpose::Sign, &policy));
        assert!(msg.contains("\"CN=Test Root\" is not a trusted CA"), "{msg}");
        // The intermediate as anchor is enough.
        let report = validate(&bob, &[], std::slice::from_ref(&int), &[], Purpose::Sign, &policy).unwrap();
        assert_eq!(report.path.len(), 2);
    }

    #[test]
    fn expiry_and_times() {
        let [k_root, _, k_leaf, _] = keys();
        let root = ca("Time Root", k_root, None);
        let start = SystemTime::now() - 100 * DAY;
        let spec = CertSpec {
            issuer: Some((&root, k_root)),
            not_before: Some(start),
            days: 30,
            ..CertSpec::new("Old Bob", Some("bob@example.org".into()))
        };
        let old = certify(&spec, k_leaf).unwrap();
        let anchors = std::slice::from_ref(&root);
        let policy = Policy::default();
        // Valid at a time within its period (the root was made now, so it is not valid then: use a leaf
        // signed by a root valid then).
        let msg = chain_err(validate(&old, &[], anchors, &[], Purpose::Sign, &policy));
        assert!(msg.starts_with("certificate \"CN=Old Bob\" expired on "), "{msg}");
        let msg = chain_err(validate(&old, &[], anchors, &[start + DAY], Purpose::Sign, &policy));
        assert!(msg.starts_with("certificate \"CN=Time Root\" is not valid before "), "{msg}");
        let old_root = certify(
            &CertSpec { ca: true, not_before: Some(start - DAY), days: 3650, ..CertSpec::new("Time Root", None) },
            k_root,
        )
        .unwrap();
        let report =
            validate(&old, &[], std::slice::from_ref(&old_root), &[start + DAY], Purpose::Sign, &policy).unwrap();
        assert_eq!(report.path.len(), 2);
        // Every time given must be inside: signing time fine, now not.
        let msg = chain_err(validate(
            &old,
            &[],
            std::slice::from_ref(&old_root),
            &[start + DAY, SystemTime::now()],
            Purpose::Sign,
            &policy,
        ));
        assert!(msg.contains("expired on"), "{msg}");
    }

    #[test]
    fn wrong_key_wrong_use_and_self_signed() {
        let [k_root, k_other, k_leaf, _] = keys();
        let root = ca("Real Root", k_root, None);
        // Same name, different key.
        let fake = ca("Real Root", k_other, None);
        let bob = leaf("Bob", k_leaf, (&fake, k_other));
        let policy = Policy::default();
        let msg = chain_err(validate(&bob, &[], std::slice::from_ref(&root), &[], Purpose::Sign, &policy));
        assert_eq!(msg, "the signature on \"CN=Bob\" does not verify with the key of \"CN=Real Root\"");

        // A CA certificate as a leaf: no keyEncipherment, no digitalSignature.
        let sub = ca("Sub CA", k_leaf, Some((&root, k_root)));
        let msg = chain_err(validate(&sub, &[], std::slice::from_ref(&root), &[], Purpose::Encrypt, &policy));
        assert!(msg.contains("keyUsage lacks keyEncipherment"), "{msg}");
        let msg = chain_err(validate(&sub, &[], std::slice::from_ref(&root), &[], Purpose::Sign, &policy));
        assert!(msg.contains("keyUsage lacks digitalSignature or nonRepudiation"), "{msg}");

        // A self-signed user certificate given as a trust anchor.
        let me = certify(&CertSpec::new("Self Signer", Some("me@example.org".into())), k_leaf).unwrap();
        let report = validate(&me, &[], std::slice::from_ref(&me), &[], Purpose::Sign, &policy).unwrap();
        assert_eq!(report.path, ["CN=Self Signer"]);
        // ... and not given: untrusted.
        let msg = chain_err(validate(&me, &[], std::slice::from_ref(&root), &[], Purpose::Sign, &policy));
        assert!(msg.contains("\"CN=Self Signer\" is not a trusted CA"), "{msg}");
    }

    #[test]
    fn cross_signed_loops_end() {
        let [k_a, k_b, k_leaf, k_trust] = keys();
        let a0 = ca("Loop A", k_a, None);
        let b0 = ca("Loop B", k_b, None);
        // A signed by B and B signed by A: a loop in the pool.
        let a_by_b = ca("Loop A", k_a, Some((&b0, k_b)));
        let b_by_a = ca("Loop B", k_b, Some((&a0, k_a)));
        let bob = leaf("Bob", k_leaf, (&a0, k_a));
        let trust = ca("Unrelated", k_trust, None);
        let pool = [a_by_b.clone(), b_by_a.clone(), a0.clone(), b0.clone(), bob.clone()];
        let msg =
            chain_err(validate(&bob, &pool, std::slice::from_ref(&trust), &[], Purpose::Sign, &Policy::default()));
        assert!(msg.starts_with("no path to a trusted CA from \"CN=Bob\""), "{msg}");
        // With B trusted, the path goes through the cross-certificate.
        let report = validate(&bob, &pool, std::slice::from_ref(&b0), &[], Purpose::Sign, &Policy::default()).unwrap();
        assert_eq!(report.path, ["CN=Bob", "CN=Loop A", "CN=Loop B"]);
    }
}
