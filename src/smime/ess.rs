//! Enhanced Security Services for S/MIME: signed receipts (RFC 2634 sections 2 and 5) and the
//! signing-certificate attributes (RFC 2634 section 5.4, RFC 5035).
//!
//! A sender asks for a receipt with a ReceiptRequest signed attribute (a random signedContentIdentifier,
//! whom receipts are requested from, where they go). The recipient's software answers with a SignedData
//! whose content is a Receipt (content type id-ct-receipt) naming the original content type, the identifier
//! and the original signature value, and whose signer signs a msgSigDigest attribute: the digest of the
//! original signer's signed attributes (with the original's digest algorithm, as OpenSSL computes it). The
//! sender checks all of these against the message it sent.
//!
//! ESS signing-certificate-v2 binds a signature to its signer's certificate (by hash, and issuer and
//! serial): every signature sealpost makes carries it, and a signature whose attribute names another
//! certificate than the one that verifies it fails.

use std::time::SystemTime;

use cms::signed_data::SignerInfo;
use const_oid::ObjectIdentifier;
use der::asn1::{Ia5String, OctetString, SetOfVec};
use der::{Any, Choice, Decode, Encode, Sequence};
use spki::AlgorithmIdentifierOwned;
use x509_cert::Certificate;
use x509_cert::attr::Attribute;
use x509_cert::ext::pkix::name::{GeneralName, GeneralNames};
use x509_cert::serial_number::SerialNumber;

use super::signed::{self, SignOptions, SignedParts, Signer, VerifyOptions};
use super::{SmimeError, hash_from_oid};
use crate::core::digest::{HashAlgorithm, digest};
use crate::core::policy::Policy;
use crate::core::verdict::{ReceiptRequested, SignerStatus, Verdict};

/// id-aa-receiptRequest.
pub const ATTR_RECEIPT_REQUEST: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.2.1");
/// id-ct-receipt: the content type of a Receipt.
pub const ID_CT_RECEIPT: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.1.1");
/// id-aa-msgSigDigest.
pub const ATTR_MSG_SIG_DIGEST: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.2.5");
/// id-aa-signingCertificate (RFC 2634: ESSCertID with a SHA-1 hash).
pub const ATTR_SIGNING_CERTIFICATE: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.2.12");
/// id-aa-signingCertificateV2 (RFC 5035: ESSCertIDv2, any hash, SHA-256 by default).
pub const ATTR_SIGNING_CERTIFICATE_V2: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.2.47");
/// Length of the signedContentIdentifier we make (RFC 2634 asks for a unique value; OpenSSL uses 32 bytes).
const CONTENT_ID_LEN: usize = 32;
/// Most addresses receipts may be sent to (ub-receiptsTo, RFC 2634 section 2.7): also what keeps a
/// request from turning the SMTP hook's receipts into mail to a crowd.
const MAX_RECEIPTS_TO: usize = 16;
/// Most names a receiptList may hold (unbounded in the ASN.1).
const MAX_NAMES: usize = 256;

// ---- ASN.1 (RFC 2634 appendix A, IMPLICIT TAGS; RFC 5035 section 5) ----

#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
struct ReceiptRequestAsn1 {
    signed_content_identifier: OctetString,
    receipts_from: ReceiptsFromAsn1,
    receipts_to: Vec<GeneralNames>,
}

#[derive(Clone, Debug, Eq, PartialEq, Choice)]
enum ReceiptsFromAsn1 {
    /// allReceipts (0) or firstTierRecipients (1).
    #[asn1(context_specific = "0", tag_mode = "IMPLICIT")]
    AllOrFirstTier(u8),
    #[asn1(context_specific = "1", tag_mode = "IMPLICIT", constructed = "true")]
    ReceiptList(Vec<GeneralNames>),
}

/// Receipt ::= SEQUENCE { version ESSVersion, contentType, signedContentIdentifier, originatorSignatureValue }
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
struct ReceiptAsn1 {
    version: u8,
    content_type: ObjectIdentifier,
    signed_content_identifier: OctetString,
    originator_signature_value: OctetString,
}

#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
struct IssuerSerial {
    issuer: GeneralNames,
    serial_number: SerialNumber,
}

#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
struct EssCertIdV2 {
    /// DEFAULT id-sha256: absent means SHA-256 (and DER leaves it out then).
    #[asn1(optional = "true")]
    hash_algorithm: Option<AlgorithmIdentifierOwned>,
    cert_hash: OctetString,
    #[asn1(optional = "true")]
    issuer_serial: Option<IssuerSerial>,
}

#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
struct SigningCertificateV2 {
    certs: Vec<EssCertIdV2>,
    #[asn1(optional = "true")]
    policies: Option<Any>,
}

#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
struct EssCertId {
    cert_hash: OctetString,
    #[asn1(optional = "true")]
    issuer_serial: Option<IssuerSerial>,
}

#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
struct SigningCertificate {
    certs: Vec<EssCertId>,
    #[asn1(optional = "true")]
    policies: Option<Any>,
}

// ---- Receipt requests ----

/// Whom receipts are requested from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReceiptsFrom {
    /// Every recipient.
    All,
    /// Recipients who got the message from the sender, not through a mailing list.
    FirstTier,
    /// These addresses only.
    Only(Vec<String>),
}

/// A ReceiptRequest signed attribute, read or to be made.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReceiptRequest {
    /// signedContentIdentifier: what ties a receipt to the message.
    pub id: Vec<u8>,
    /// receiptsFrom.
    pub from: ReceiptsFrom,
    /// receiptsTo: the addresses receipts go to (e-mail addresses; other names are shown as `<other>`).
    pub to: Vec<String>,
}

impl ReceiptRequest {
    /// A new request with a fresh random identifier.
    pub fn new(
        from: ReceiptsFrom,
        to: Vec<String>,
        rng: &mut dyn crate::core::rand::Rng,
    ) -> Result<ReceiptRequest, SmimeError> {
        if to.is_empty() || to.len() > MAX_RECEIPTS_TO {
            return Err(SmimeError::UnusableKey(format!(
                "a receipt request sends receipts to 1 to {MAX_RECEIPTS_TO} addresses, not {}",
                to.len()
            )));
        }
        let mut id = vec![0u8; CONTENT_ID_LEN];
        rng.fill(&mut id)?;
        Ok(ReceiptRequest { id, from, to })
    }

    /// What the verdict reports.
    pub fn summary(&self) -> ReceiptRequested {
        let from = match &self.from {
            ReceiptsFrom::All => "all".to_string(),
            ReceiptsFrom::FirstTier => "first-tier".to_string(),
            ReceiptsFrom::Only(list) => list.join(", "),
        };
        ReceiptRequested { from, to: self.to.clone() }
    }

    /// Whether a recipient with these addresses is asked for a receipt (a first-tier recipient is anyone who
    /// got the message directly: sealpost is never a mailing list).
    pub fn asks(&self, addresses: &[String]) -> bool {
        match &self.from {
            ReceiptsFrom::All | ReceiptsFrom::FirstTier => true,
            ReceiptsFrom::Only(list) => list.iter().any(|l| addresses.iter().any(|a| a.eq_ignore_ascii_case(l))),
        }
    }

    /// The signed attribute.
    pub fn attribute(&self) -> Result<Attribute, SmimeError> {
        let names = |list: &[String]| -> Result<Vec<GeneralNames>, SmimeError> {
            list.iter()
                .map(|a| {
                    let name = Ia5String::new(a).map_err(|_| {
                        SmimeError::malformed("receipt request", format!("{a:?} is not an ASCII address"))
                    })?;
                    Ok(vec![GeneralName::Rfc822Name(name)])
                })
                .collect()
        };
        let asn1 = ReceiptRequestAsn1 {
            signed_content_identifier: OctetString::new(self.id.clone())?,
            receipts_from: match &self.from {
                ReceiptsFrom::All => ReceiptsFromAsn1::AllOrFirstTier(0),
                ReceiptsFrom::FirstTier => ReceiptsFromAsn1::AllOrFirstTier(1),
                ReceiptsFrom::Only(list) => ReceiptsFromAsn1::ReceiptList(names(list)?),
            },
            receipts_to: names(&self.to)?,
        };
        attribute(ATTR_RECEIPT_REQUEST, Any::encode_from(&asn1)?)
    }

    fn from_any(value: &Any) -> Result<ReceiptRequest, SmimeError> {
        let asn1: ReceiptRequestAsn1 = value.decode_as().map_err(|e| SmimeError::malformed("receipt request", e))?;
        let id = asn1.signed_content_identifier.as_bytes().to_vec();
        if id.is_empty() {
            return Err(SmimeError::malformed("receipt request", "an empty signedContentIdentifier"));
        }
        let addresses = |list: &[GeneralNames]| -> Result<Vec<String>, SmimeError> {
            if list.len() > MAX_NAMES {
                return Err(SmimeError::malformed("receipt request", format!("more than {MAX_NAMES} names")));
            }
            Ok(list
                .iter()
                .map(|names| {
                    names
                        .iter()
                        .find_map(|n| match n {
                            GeneralName::Rfc822Name(a) => Some(a.to_string()),
                            _ => None,
                        })
                        .unwrap_or_else(|| "<other>".to_string())
                })
                .collect())
        };
        let from = match &asn1.receipts_from {
            ReceiptsFromAsn1::AllOrFirstTier(0) => ReceiptsFrom::All,
            ReceiptsFromAsn1::AllOrFirstTier(1) => ReceiptsFrom::FirstTier,
            ReceiptsFromAsn1::AllOrFirstTier(n) => {
                return Err(SmimeError::malformed("receipt request", format!("receiptsFrom {n} is neither 0 nor 1")));
            }
            ReceiptsFromAsn1::ReceiptList(list) => ReceiptsFrom::Only(addresses(list)?),
        };
        let to = addresses(&asn1.receipts_to)?;
        if to.is_empty() || to.len() > MAX_RECEIPTS_TO {
            return Err(SmimeError::malformed(
                "receipt request",
                format!("{} receiptsTo names (1 to {MAX_RECEIPTS_TO})", to.len()),
            ));
        }
        Ok(ReceiptRequest { id, from, to })
    }

    /// The request in a SignerInfo's signed attributes, if any.
    pub fn of_signer(info: &SignerInfo) -> Result<Option<ReceiptRequest>, SmimeError> {
        let Some(attrs) = &info.signed_attrs else { return Ok(None) };
        signed::single_value(attrs, &ATTR_RECEIPT_REQUEST)?.map(ReceiptRequest::from_any).transpose()
    }
}

/// The receipt request of a SignedData message (the first signer's that has one), if any.
pub fn request_of(der: &[u8]) -> Result<Option<ReceiptRequest>, SmimeError> {
    let parts = SignedParts::parse(der)?;
    if parts.econtent_type == ID_CT_RECEIPT {
        return Ok(None);
    }
    for info in parts.signer_infos.0.iter() {
        if let Some(r) = ReceiptRequest::of_signer(info)? {
            return Ok(Some(r));
        }
    }
    Ok(None)
}

/// True when a SignedData's content is a Receipt (id-ct-receipt).
pub fn is_receipt(der: &[u8]) -> Result<bool, SmimeError> {
    Ok(SignedParts::parse(der)?.econtent_type == ID_CT_RECEIPT)
}

fn attribute(oid: ObjectIdentifier, value: Any) -> Result<Attribute, SmimeError> {
    let mut values = SetOfVec::new();
    values.insert(value)?;
    Ok(Attribute { oid, values })
}

// ---- Receipts ----

/// msgSigDigest: the digest of a SignerInfo's signed attributes (their DER as a SET OF, as signed), with
/// that SignerInfo's digest algorithm.
fn msg_sig_digest(info: &SignerInfo) -> Result<Vec<u8>, SmimeError> {
    let attrs = info
        .signed_attrs
        .as_ref()
        .ok_or_else(|| SmimeError::malformed("SignerInfo", "a receipt request without signed attributes"))?;
    let hash = hash_from_oid(&info.digest_alg.oid, "digest algorithm")?;
    Ok(digest(hash, &attrs.to_der()?).as_bytes().to_vec())
}

/// What a receipt is made for: the signer of the original that requested it.
pub struct Requested {
    /// The request.
    pub request: ReceiptRequest,
    /// The Receipt content (DER).
    receipt: Vec<u8>,
    /// msgSigDigest over the requesting signer's signed attributes.
    msg_sig_digest: Vec<u8>,
}

/// Finds the receipt request in `original` (a SignedData, verified by the caller) and checks that a receipt
/// may be made by a recipient with these addresses: the message is not itself a receipt (RFC 2634 section
/// 2.3: receipts are never requested for receipts) and receipts are requested from them.
pub fn requested(original: &[u8], addresses: &[String]) -> Result<Requested, SmimeError> {
    let parts = SignedParts::parse(original)?;
    if parts.econtent_type == ID_CT_RECEIPT {
        return Err(SmimeError::Receipt(
            "the message is itself a signed receipt; receipts are not made for receipts".into(),
        ));
    }
    let mut found = None;
    for info in parts.signer_infos.0.iter() {
        if let Some(r) = ReceiptRequest::of_signer(info)? {
            found = Some((info, r));
            break;
        }
    }
    let Some((info, request)) = found else {
        return Err(SmimeError::Receipt("the message does not request a signed receipt".into()));
    };
    if let ReceiptsFrom::Only(list) = &request.from
        && !request.asks(addresses)
    {
        return Err(SmimeError::Receipt(format!(
            "receipts are requested from {} only, not from {}",
            list.join(", "),
            if addresses.is_empty() {
                "a certificate without an e-mail address".to_string()
            } else {
                addresses.join(", ")
            }
        )));
    }
    let receipt = ReceiptAsn1 {
        version: 1,
        content_type: parts.econtent_type,
        signed_content_identifier: OctetString::new(request.id.clone())?,
        originator_signature_value: info.signature.clone(),
    }
    .to_der()?;
    Ok(Requested { msg_sig_digest: msg_sig_digest(info)?, request, receipt })
}

/// Makes the signed receipt (a SignedData, DER) for `requested`, signed by `signer`.
pub fn make_receipt(
    requested: &Requested,
    signer: &Signer<'_>,
    hash: HashAlgorithm,
    now: SystemTime,
    policy: &Policy,
) -> Result<Vec<u8>, SmimeError> {
    let opts = SignOptions {
        detached: false,
        hash,
        hash_named: false,
        pss: false,
        signing_time: now,
        content_type: ID_CT_RECEIPT,
        extra_attrs: vec![attribute(
            ATTR_MSG_SIG_DIGEST,
            Any::encode_from(&OctetString::new(requested.msg_sig_digest.clone())?)?,
        )?],
    };
    let mut out = Vec::new();
    signed::sign(&mut &requested.receipt[..], &mut out, std::slice::from_ref(signer), &opts, policy)?;
    Ok(super::input::cms_der(&out)?.into_owned())
}

/// Verifies a signed receipt against the original message: the receipt's signature (and certificate path,
/// through `opts`), then that it answers the original: its originatorSignatureValue is the signature of a
/// signer of the original that requested a receipt, with the same signedContentIdentifier and content
/// type, and its signer's msgSigDigest is the digest of that signer's signed attributes. Any mismatch makes
/// the receipt's signers `bad` with the reason (exit status 1 on the command line).
pub fn verify_receipt(receipt: &[u8], original: &[u8], opts: &VerifyOptions<'_>) -> Result<Verdict, SmimeError> {
    let rparts = SignedParts::parse(receipt)?;
    if rparts.econtent_type != ID_CT_RECEIPT {
        return Err(SmimeError::malformed(
            "signed receipt",
            format!("content type {} is not id-ct-receipt", super::input::oid_name(&rparts.econtent_type)),
        ));
    }
    let rinfos = rparts.signer_infos.clone();
    let mut content = Vec::new();
    let mut verdict = signed::verify(receipt, None, opts, &mut content)?;
    let problem = (|| -> Result<Option<String>, SmimeError> {
        let r = ReceiptAsn1::from_der(&content).map_err(|e| SmimeError::malformed("Receipt", e))?;
        if r.version != 1 {
            return Ok(Some(format!("Receipt version {} is not 1", r.version)));
        }
        let oparts = SignedParts::parse(original)?;
        let Some(osi) = oparts.signer_infos.0.iter().find(|si| si.signature == r.originator_signature_value) else {
            return Ok(Some(
                "the receipt is for another message: no signature of the original is its originatorSignatureValue"
                    .into(),
            ));
        };
        let Some(request) = ReceiptRequest::of_signer(osi)? else {
            return Ok(Some("the original message did not request a receipt".into()));
        };
        if request.id != r.signed_content_identifier.as_bytes() {
            return Ok(Some("the receipt's signedContentIdentifier is not the one the original requested".into()));
        }
        if r.content_type != oparts.econtent_type {
            return Ok(Some("the receipt names another content type than the original's".into()));
        }
        let expected = msg_sig_digest(osi)?;
        for info in rinfos.0.iter() {
            let attrs = info.signed_attrs.as_ref();
            let got = match attrs.map(|a| signed::single_value(a, &ATTR_MSG_SIG_DIGEST)).transpose()?.flatten() {
                Some(v) => v.decode_as::<OctetString>().map_err(|e| SmimeError::malformed("msgSigDigest", e))?,
                None => return Ok(Some("a receipt signer has no msgSigDigest attribute".into())),
            };
            if got.as_bytes() != expected {
                return Ok(Some("msgSigDigest does not match the original signer's signed attributes".into()));
            }
        }
        Ok(None)
    })()?;
    if let Some(why) = problem {
        for s in &mut verdict.signers {
            if s.status == SignerStatus::Good {
                s.status = SignerStatus::Bad;
                s.detail = Some(why.clone());
            }
        }
        verdict = verdict.finish();
    } else {
        verdict.notes.push("a signed receipt for the original message (RFC 2634)".into());
    }
    Ok(verdict)
}

// ---- Signing certificate ----

/// The ESS signing-certificate-v2 attribute for `cert` (SHA-256, with issuer and serial).
pub fn signing_certificate_v2(cert: &Certificate) -> Result<Attribute, SmimeError> {
    let tbs = cert.tbs_certificate();
    let id = EssCertIdV2 {
        hash_algorithm: None,
        cert_hash: OctetString::new(digest(HashAlgorithm::Sha256, &cert.to_der()?).as_bytes())?,
        issuer_serial: Some(IssuerSerial {
            issuer: vec![GeneralName::DirectoryName(tbs.issuer().clone())],
            serial_number: tbs.serial_number().clone(),
        }),
    };
    attribute(ATTR_SIGNING_CERTIFICATE_V2, Any::encode_from(&SigningCertificateV2 { certs: vec![id], policies: None })?)
}

/// Checks the signing-certificate(-v2) attributes of a signature verified with `cert`: when present, the
/// first certificate they identify must be `cert` (RFC 5035 section 3). `Err` names the mismatch.
pub fn check_signing_certificate(attrs: &SetOfVec<Attribute>, cert: &Certificate) -> Result<(), SmimeError> {
    let der = cert.to_der()?;
    let tbs = cert.tbs_certificate();
    let issuer_ok = |is: &Option<IssuerSerial>| match is {
        None => true,
        Some(is) => {
            is.serial_number == *tbs.serial_number()
                && is.issuer.iter().any(|n| matches!(n, GeneralName::DirectoryName(name) if name == tbs.issuer()))
        }
    };
    let mismatch = |v: &str| {
        SmimeError::Chain(format!("the {v} attribute identifies another certificate than the one that signed"))
    };
    if let Some(v) = signed::single_value(attrs, &ATTR_SIGNING_CERTIFICATE_V2)? {
        let sc: SigningCertificateV2 = v.decode_as().map_err(|e| SmimeError::malformed("signing-certificate-v2", e))?;
        let first =
            sc.certs.first().ok_or_else(|| SmimeError::malformed("signing-certificate-v2", "no certificate"))?;
        let hash = match &first.hash_algorithm {
            None => HashAlgorithm::Sha256,
            Some(alg) => hash_from_oid(&alg.oid, "signing-certificate-v2 hash")?,
        };
        if digest(hash, &der).as_bytes() != first.cert_hash.as_bytes() || !issuer_ok(&first.issuer_serial) {
            return Err(mismatch("signing-certificate-v2"));
        }
    }
    if let Some(v) = signed::single_value(attrs, &ATTR_SIGNING_CERTIFICATE)? {
        let sc: SigningCertificate = v.decode_as().map_err(|e| SmimeError::malformed("signing-certificate", e))?;
        let first = sc.certs.first().ok_or_else(|| SmimeError::malformed("signing-certificate", "no certificate"))?;
        if digest(HashAlgorithm::Sha1, &der).as_bytes() != first.cert_hash.as_bytes()
            || !issuer_ok(&first.issuer_serial)
        {
            return Err(mismatch("signing-certificate"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::rand::SeededRng;

    fn round_trip(r: &ReceiptRequest) -> Result<ReceiptRequest, SmimeError> {
        let attr = r.attribute()?;
        let value = attr.values.iter().next().cloned().ok_or(SmimeError::Unsupported("no value".into()))?;
        ReceiptRequest::from_any(&value)
    }

    #[test]
    fn receipt_requests_round_trip() {
        let mut rng = SeededRng::new(b"ess");
        for from in [ReceiptsFrom::All, ReceiptsFrom::FirstTier, ReceiptsFrom::Only(vec!["bob@example.org".into()])] {
            let r = ReceiptRequest::new(from, vec!["alice@example.org".into()], &mut rng).unwrap();
            assert_eq!(r.id.len(), CONTENT_ID_LEN);
            assert_eq!(round_trip(&r).unwrap(), r);
        }
        let only =
            ReceiptRequest::new(ReceiptsFrom::Only(vec!["Bob@Example.org".into()]), vec!["a@b".into()], &mut rng)
                .unwrap();
        assert!(only.asks(&["bob@example.org".into()]));
        assert!(!only.asks(&["carol@example.org".into()]));
        assert!(ReceiptRequest::new(ReceiptsFrom::All, vec![], &mut rng).is_err());
        let crowd: Vec<String> = (0..17).map(|i| format!("r{i}@example.org")).collect();
        assert!(ReceiptRequest::new(ReceiptsFrom::All, crowd.clone(), &mut rng).is_err());
        // Read from elsewhere: over 16 receiptsTo, an unknown allOrFirstTier value, an empty identifier.
        let mut r = ReceiptRequest::new(ReceiptsFrom::All, vec!["a@b".into()], &mut rng).unwrap();
        r.to = crowd;
        assert!(matches!(round_trip(&r), Err(SmimeError::Malformed { .. })));
        let bad = ReceiptRequestAsn1 {
            signed_content_identifier: OctetString::new(vec![1]).unwrap(),
            receipts_from: ReceiptsFromAsn1::AllOrFirstTier(2),
            receipts_to: vec![vec![GeneralName::Rfc822Name(Ia5String::new("a@b").unwrap())]],
        };
        assert!(ReceiptRequest::from_any(&Any::encode_from(&bad).unwrap()).is_err());
        let empty = ReceiptRequestAsn1 { signed_content_identifier: OctetString::new(vec![]).unwrap(), ..bad };
        assert!(ReceiptRequest::from_any(&Any::encode_from(&empty).unwrap()).is_err());
    }

    #[test]
    fn receipt_request_der_is_rfc_2634s() {
        // allReceipts: [0] IMPLICIT INTEGER 0 after the identifier; receiptsTo a SEQUENCE OF GeneralNames
        // holding an rfc822Name [1].
        let r = ReceiptRequest { id: vec![0xAA], from: ReceiptsFrom::All, to: vec!["a@b".into()] };
        let attr = r.attribute().unwrap();
        let der = attr.values.iter().next().unwrap().to_der().unwrap();
        assert_eq!(
            der,
            [0x30, 0x0f, 0x04, 0x01, 0xAA, 0x80, 0x01, 0x00, 0x30, 0x07, 0x30, 0x05, 0x81, 0x03, b'a', b'@', b'b']
        );
    }

    #[test]
    fn signing_certificate_v2_leaves_the_default_hash_out() {
        let id = EssCertIdV2 {
            hash_algorithm: None,
            cert_hash: OctetString::new(vec![7; 32]).unwrap(),
            issuer_serial: None,
        };
        let der = id.to_der().unwrap();
        assert_eq!(&der[..4], &[0x30, 0x22, 0x04, 0x20]);
        assert_eq!(EssCertIdV2::from_der(&der).unwrap(), id);
    }
}
