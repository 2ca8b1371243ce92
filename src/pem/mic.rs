//! MIC-CLEAR and MIC-ONLY messages (RFC 1421 section 4.6.3-4.6.4, RFC 1423 section 4.2): the MIC is an RSA
//! signature (PKCS #1 v1.5 DigestInfo) over MD5 or MD2 of the canonical text, carried in `MIC-Info:
//! RSA-MD5,RSA,<printable encoding>`. The originator's key comes from `Originator-Certificate` (X.509 with
//! rsaEncryption or the 1988 X.500 OID 2.5.8.1.1), `Originator-Key-Asymmetric` (a SubjectPublicKeyInfo, as
//! RIPEM and EDGAR filings carry it), or the caller's certificates.
//!
//! RFC 1423 offers nothing but MD2 and MD5, so signing uses MD5 (MD2 is verify-only) and every result is
//! labelled weak by the core policy; 512-bit keys, common in 1993, are labelled too.

use super::message::{BEGIN, END, Kind, Message, decode_base64, encode_base64_lines, folded_field};
use super::{PemError, Trust};
use crate::core::digest::{HashAlgorithm, digest};
use crate::core::policy::{Policy, Usage};
use crate::core::rsa::{RsaPrivateKey, RsaPublicKey, SignaturePadding};
use crate::core::verdict::{Format, SignerResult, SignerStatus, Verdict};
use crate::x509::{self, Certificate, Purpose};

/// The originator's public key and how the message named it.
struct Originator {
    key: RsaPublicKey,
    id: String,
    /// The certificate the key came from, for the path check.
    cert: Option<Certificate>,
    from_message: bool,
}

fn given_key(trust: &Trust, key: &RsaPublicKey) -> bool {
    trust.certs.iter().any(|g| g.rsa_public_key().is_ok_and(|k| k.n() == key.n() && k.e() == key.e()))
}

fn originator(msg: &Message, trust: &Trust) -> Result<Originator, PemError> {
    if let Some(b64) = msg.field("Originator-Certificate") {
        let cert = Certificate::from_der(&decode_base64(b64)?)?;
        let key = cert.rsa_public_key()?;
        let from_message = !given_key(trust, &key);
        return Ok(Originator { key, id: cert.subject(), cert: Some(cert), from_message });
    }
    if let Some(b64) = msg.field("Originator-Key-Asymmetric") {
        let key = RsaPublicKey::from_der(&decode_base64(b64)?)?;
        let from_message = !given_key(trust, &key);
        // A given certificate with this key names the originator and lets the path be checked.
        let cert = trust.certs.iter().find(|g| g.rsa_public_key().is_ok_and(|k| k.n() == key.n())).cloned();
        let id = match &cert {
            Some(c) => c.subject(),
            None => format!("Originator-Key-Asymmetric ({} bits)", key.bits()),
        };
        return Ok(Originator { key, id, cert, from_message });
    }
    // Originator-ID-Asymmetric names the key without carrying it: the caller must give the certificate.
    match trust.certs.first() {
        Some(cert) => Ok(Originator {
            key: cert.rsa_public_key()?,
            id: cert.subject(),
            cert: Some(cert.clone()),
            from_message: false,
        }),
        None => Err(PemError::UnusableKey(
            "the message names its originator (Originator-ID-Asymmetric) without the key: give the originator's \
             certificate with --cert"
                .into(),
        )),
    }
}

/// The certificates a message carries in `Issuer-Certificate` fields, for path building.
pub(super) fn issuer_certificates(msg: &Message) -> Result<Vec<Certificate>, PemError> {
    msg.fields_named("Issuer-Certificate").map(|b64| Ok(Certificate::from_der(&decode_base64(b64)?)?)).collect()
}

/// Verifies a MIC-CLEAR or MIC-ONLY message and returns the verdict and the text in canonical form (CRLF).
/// `trust` holds the certificates the user trusts to be the originator's and the CAs (`--ca`) to check the
/// originator's certificate path to (RFC 1422); when the key comes from the message itself and neither
/// vouches for it, the verdict says so (a note), since anyone can put a key there.
pub fn verify(text: &[u8], trust: &Trust, policy: &Policy) -> Result<(Verdict, Vec<u8>), PemError> {
    let msg = Message::parse(text)?;
    match msg.kind {
        Kind::MicClear | Kind::MicOnly => {}
        other => {
            return Err(PemError::Unsupported(match other {
                Kind::Encrypted => "ENCRYPTED messages are verified as they are decrypted: use `pem decrypt`".into(),
                _ => format!("{} messages carry no MIC to verify: use `pem show` to list them", other.name()),
            }));
        }
    }
    if let Some(domain) = msg.field("Content-Domain")
        && !domain.eq_ignore_ascii_case("RFC822")
    {
        return Err(PemError::Unsupported(format!("Content-Domain {domain}")));
    }
    let canonical = msg.canonical_text()?;
    let verdict = check_mic(&msg, &canonical, trust, policy, Ok, "the MIC does not match the text")?;
    Ok((verdict.finish(), canonical))
}

/// Checks the MIC of `msg` over `canonical`, the text in canonical form: reads `MIC-Info` (RSA-MD5 or
/// RSA-MD2, RSA), turns its decoded value into the signature with `open` (nothing to do for MIC-CLEAR and
/// MIC-ONLY; decryption under the DEK for ENCRYPTED), and verifies it with the originator's key. The verdict
/// has the one signer (`mismatch` is its detail when the MIC fails) and a note when the key came from the
/// message itself; the caller adds what it knows (encryption) and finishes it.
pub(super) fn check_mic(
    msg: &Message,
    canonical: &[u8],
    trust: &Trust,
    policy: &Policy,
    open: impl FnOnce(Vec<u8>) -> Result<Vec<u8>, PemError>,
    mismatch: &str,
) -> Result<Verdict, PemError> {
    let mic = msg.field("MIC-Info").ok_or_else(|| PemError::Malformed("no MIC-Info field".into()))?;
    let mut parts = mic.splitn(3, ',');
    let (alg, enc, sig) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let hash = match alg.trim() {
        "RSA-MD5" => HashAlgorithm::Md5,
        "RSA-MD2" => HashAlgorithm::Md2,
        other => return Err(PemError::Unsupported(format!("MIC algorithm {other:?} (RFC 1423: RSA-MD5, RSA-MD2)"))),
    };
    if enc.trim() != "RSA" {
        return Err(PemError::Unsupported(format!("MIC encryption {enc:?} (RFC 1423: RSA)")));
    }
    let sig = open(decode_base64(sig)?)?;
    let who = originator(msg, trust)?;
    let mut r = SignerResult::new(who.id.clone(), SignerStatus::Good);
    r.hash = Some(hash.to_string());
    r.key_algorithm = Some("rsa".into());
    r.key_bits = Some(who.key.bits());
    r.weak.extend(policy.check(hash.algorithm(), Usage::Verify, false)?.weak);
    r.weak.extend(policy.check_rsa(who.key.bits(), Usage::Verify)?.weak);
    let d = digest(hash, canonical);
    let padded = who.key.pad_to_size(&sig);
    if padded.and_then(|s| who.key.verify(SignaturePadding::Pkcs1v15, hash, d.as_bytes(), &s)).is_err() {
        r.status = SignerStatus::Bad;
        r.detail = Some(mismatch.to_string());
    }
    let mut verdict = Verdict::new(Format::Pem);
    let mut vouched = !who.from_message;
    if !trust.anchors.is_empty() && r.status == SignerStatus::Good {
        match &who.cert {
            Some(cert) => {
                let mut pool = issuer_certificates(msg)?;
                pool.extend(trust.certs.iter().cloned());
                match x509::validate(cert, &pool, &trust.anchors, &[], Purpose::PemSign, policy) {
                    Ok(report) => {
                        r.weak.extend(report.weak);
                        r.weak.sort();
                        r.weak.dedup();
                        verdict.notes.extend(report.notes);
                        verdict.notes.push(format!("certificate path: {}", report.path.join(" <- ")));
                        vouched = true;
                    }
                    Err(e) => {
                        r.status = SignerStatus::Bad;
                        r.detail = Some(e.to_string());
                    }
                }
            }
            None => {
                r.status = SignerStatus::Bad;
                r.detail = Some(
                    "no certificate for the originator's key, so no path to the given CAs (give it with --cert)".into(),
                );
            }
        }
    }
    if !vouched {
        verdict.notes.push(
            "originator key taken from the message itself: it proves the text is unchanged since that key \
             signed it, not who holds the key (give the originator's certificate with --cert)"
                .into(),
        );
    }
    verdict.signers.push(r);
    Ok(verdict)
}

/// How to sign.
pub struct SignOptions<'a> {
    /// MIC-CLEAR (text readable) or MIC-ONLY (printable encoding).
    pub kind: Kind,
    /// The originator's certificate (DER); `None` puts the key in `Originator-Key-Asymmetric`.
    pub cert: Option<&'a [u8]>,
    /// Issuer certificates (DER) to include.
    pub issuers: &'a [Vec<u8>],
}

/// Canonical form (RFC 1421 section 4.3.2.2): lines end in CRLF, a final line without a line end gets one.
pub fn canonicalize(text: &[u8]) -> Result<Vec<u8>, PemError> {
    if !text.is_ascii() {
        return Err(PemError::Unsupported("text that is not 7-bit ASCII (RFC 1421 carries RFC 822 text)".into()));
    }
    let mut out = Vec::with_capacity(text.len() + text.len() / 32);
    for line in text.split(|b| *b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        out.extend_from_slice(line);
        out.extend_from_slice(b"\r\n");
    }
    // `split` yields an empty last piece after a final LF: drop the CRLF it added.
    if text.ends_with(b"\n") || text.is_empty() {
        out.truncate(out.len() - 2);
    }
    Ok(out)
}

/// Makes a MIC-CLEAR or MIC-ONLY message over `text` (local form), signed with RSA-MD5.
pub fn sign(text: &[u8], key: &RsaPrivateKey, opts: &SignOptions<'_>) -> Result<String, PemError> {
    if !matches!(opts.kind, Kind::MicClear | Kind::MicOnly) {
        return Err(PemError::Unsupported(format!("{} is not a signing mode", opts.kind.name())));
    }
    // RFC 1423 has no hash but MD2 and MD5: MD5 is produced because the format allows nothing better, named
    // by the choice of this format; the verdict on the other side labels it weak.
    let policy = Policy { allow_broken: true, ..Policy::default() };
    policy.check(HashAlgorithm::Md5.algorithm(), Usage::Sign, true)?;
    policy.check_rsa(key.bits(), Usage::Sign)?;
    let canonical = canonicalize(text)?;
    let d = digest(HashAlgorithm::Md5, &canonical);
    let sig = key.sign(SignaturePadding::Pkcs1v15, HashAlgorithm::Md5, d.as_bytes())?;
    let mut out = format!("{BEGIN}\nProc-Type: 4,{}\nContent-Domain: RFC822\n", opts.kind.name());
    match opts.cert {
        Some(der) => {
            let k = Certificate::from_der(der)?.rsa_public_key()?;
            if k.n() != key.public().n() {
                return Err(PemError::UnusableKey("the key does not belong to the certificate".into()));
            }
            out.push_str(&folded_field("Originator-Certificate", "", der).replace(": \n", ":\n"));
        }
        None => {
            let spki = key.public().to_spki_der();
            out.push_str(&folded_field("Originator-Key-Asymmetric", "", spki).replace(": \n", ":\n"));
        }
    }
    for issuer in opts.issuers {
        Certificate::from_der(issuer)?;
        out.push_str(&folded_field("Issuer-Certificate", "", issuer).replace(": \n", ":\n"));
    }
    out.push_str(&folded_field("MIC-Info", "RSA-MD5,RSA,", &sig));
    out.push('\n');
    match opts.kind {
        Kind::MicOnly => {
            for line in encode_base64_lines(&canonical) {
                out.push_str(&line);
                out.push('\n');
            }
        }
        _ => {
            let local = String::from_utf8_lossy(&canonical).replace("\r\n", "\n");
            for line in local.lines() {
                // RFC 934 dash-stuffing, and no line may look like a boundary.
                if line.starts_with('-') {
                    out.push_str("- ");
                }
                out.push_str(line);
                out.push('\n');
            }
        }
    }
    out.push_str(END);
    out.push('\n');
    Ok(out)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // A panic in a test is a failed test.

    use super::*;

    #[test]
    fn canonical_form_has_crlf_line_ends() {
        assert_eq!(canonicalize(b"a\nb\n").unwrap(), b"a\r\nb\r\n");
        assert_eq!(canonicalize(b"a\r\nb").unwrap(), b"a\r\nb\r\n");
        assert_eq!(canonicalize(b"").unwrap(), b"");
        assert!(canonicalize("é".as_bytes()).is_err());
    }

    #[test]
    fn signed_messages_verify_and_tampering_is_caught() {
        let key = RsaPrivateKey::generate(2048).unwrap();
        let text = b"-----BEGIN fake boundary\nHello,\n\n- dash\nend\n";
        for kind in [Kind::MicClear, Kind::MicOnly] {
            let msg = sign(text, &key, &SignOptions { kind, cert: None, issuers: &[] }).unwrap();
            let (v, canonical) = verify(msg.as_bytes(), &Trust::default(), &Policy::default()).unwrap();
            assert_eq!(canonical, canonicalize(text).unwrap());
            assert_eq!(v.signers[0].status, SignerStatus::Good, "{msg}");
            assert!(!v.notes.is_empty(), "the key came from the message");
            let tampered = match kind {
                Kind::MicClear => msg.replace("Hello", "Jello"),
                _ => {
                    // Change the first character of the printable encoding after the blank line.
                    let at = msg.find("\n\n").unwrap() + 2;
                    let mut b = msg.clone().into_bytes();
                    b[at] = if b[at] == b'A' { b'B' } else { b'A' };
                    String::from_utf8(b).unwrap()
                }
            };
            assert_ne!(tampered, msg);
            let (v, _) = verify(tampered.as_bytes(), &Trust::default(), &Policy::default()).unwrap();
            assert_eq!(v.signers[0].status, SignerStatus::Bad, "{kind:?}");
        }
    }
}
