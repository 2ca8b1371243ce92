//! SignedData (RFC 5652 section 5; S/MIME profile RFC 8551): made and checked.
//!
//! Signing streams: the content is hashed as it is copied into an indefinite-length constructed OCTET STRING
//! (or not copied at all, for a detached signature), and the certificates and SignerInfos, which need the
//! digest, follow it. Every signer signs the same hash algorithm's digest over signed attributes
//! (content-type, message-digest, signing-time, SMIMECapabilities), with RSA PKCS #1 v1.5 or RSASSA-PSS in
//! the core.
//!
//! Verifying reads DER (BER normalised by [`super::input`]) through the `cms` crate. Each SignerInfo is
//! checked on its own and reported as one signer in the verdict: the message digest attribute against the
//! content, the content-type attribute, the signature over the DER of the signed attributes, the hash and key
//! size against the policy, and (through the caller's [`ChainCheck`]) the signer's certificate path.

use std::io::{Read, Write};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use cms::cert::{CertificateChoices, IssuerAndSerialNumber};
use cms::content_info::CmsVersion;
use cms::signed_data::{CertificateSet, SignerIdentifier, SignerInfo, SignerInfos};
use const_oid::ObjectIdentifier;
use der::asn1::{OctetString, SetOfVec, UtcTime};
use der::{Any, Decode, Encode, Sequence};
use spki::AlgorithmIdentifierOwned;
use x509_cert::Certificate;
use x509_cert::attr::Attribute;
use x509_cert::time::Time;

use super::enveloped::ID_DATA;
use crate::x509::SignatureAlgorithm;
// rsaEncryption is also the signature algorithm OpenSSL and most clients write for PKCS #1 v1.5.
use super::ber::{EOC, write_header};
use super::input::read_some;
use super::{SmimeError, hash_from_oid, oid_of};
use crate::core::algorithm::Algorithm;
use crate::core::digest::{HashAlgorithm, Hasher};
use crate::core::policy::{Policy, Usage, Weakness};
use crate::core::rsa::{RsaPrivateKey, RsaPublicKey, SignaturePadding};
use crate::core::verdict::{Format, SignerResult, SignerStatus, Verdict};
use crate::x509::certificate::RSA_ENCRYPTION;
use crate::x509::signature::{MGF1, RSASSA_PSS};

/// id-signedData.
pub const ID_SIGNED_DATA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.2");
/// Signed attribute: content-type.
const ATTR_CONTENT_TYPE: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.3");
/// Signed attribute: message-digest.
const ATTR_MESSAGE_DIGEST: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.4");
/// Signed attribute: signing-time.
const ATTR_SIGNING_TIME: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.5");
/// Signed attribute: SMIMECapabilities (RFC 8551 section 2.5.2).
const ATTR_SMIME_CAPABILITIES: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.15");
/// Most signers one message may carry.
const MAX_SIGNERS: usize = 64;
/// Piece of content per primitive OCTET STRING in the streamed output.
const PIECE: usize = 256 * 1024;

/// RSASSA-PSS-params (RFC 4055 section 3.1).
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
struct PssParams {
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT", optional = "true")]
    hash: Option<AlgorithmIdentifierOwned>,
    #[asn1(context_specific = "1", tag_mode = "EXPLICIT", optional = "true")]
    mgf: Option<AlgorithmIdentifierOwned>,
    #[asn1(context_specific = "2", tag_mode = "EXPLICIT", optional = "true")]
    salt_len: Option<u32>,
    #[asn1(context_specific = "3", tag_mode = "EXPLICIT", optional = "true")]
    trailer: Option<u32>,
}

fn attribute(oid: ObjectIdentifier, value: Any) -> Result<Attribute, SmimeError> {
    let mut values = SetOfVec::new();
    values.insert(value)?;
    Ok(Attribute { oid, values })
}

/// The single value of a signed attribute, if the attribute is there.
pub(crate) fn single_value<'a>(
    attrs: &'a SetOfVec<Attribute>,
    oid: &ObjectIdentifier,
) -> Result<Option<&'a Any>, SmimeError> {
    let mut found = attrs.iter().filter(|a| a.oid == *oid);
    let Some(attr) = found.next() else { return Ok(None) };
    if found.next().is_some() || attr.values.len() != 1 {
        return Err(SmimeError::malformed(
            "signed attributes",
            format!("attribute {oid} must appear once with one value"),
        ));
    }
    Ok(attr.values.iter().next())
}

/// An RSA public key from a certificate (rsaEncryption or RSASSA-PSS key; others are unsupported).
pub fn cert_rsa_key(cert: &Certificate) -> Result<RsaPublicKey, SmimeError> {
    Ok(crate::x509::Certificate::from_x509(cert.clone())?.rsa_public_key()?)
}

/// Checks a signature scheme against a certificate whose key is id-RSASSA-PSS: RFC 4055 section 1.2 allows
/// such a key RSASSA-PSS signatures only, and only with the hash and at least the salt its parameters name.
/// The core's PSS uses MGF1 over the message hash and a salt as long as the hash. Other keys pass.
pub fn check_pss_key(cert: &Certificate, padding: SignaturePadding, hash: HashAlgorithm) -> Result<(), SmimeError> {
    let alg = &cert.tbs_certificate().subject_public_key_info().algorithm;
    if alg.oid != RSASSA_PSS {
        return Ok(());
    }
    if padding != SignaturePadding::Pss {
        return Err(SmimeError::UnusableKey(format!(
            "\"{}\" has an RSASSA-PSS key, which may only make RSASSA-PSS signatures (RFC 4055 section 1.2), not \
             PKCS #1 v1.5 ones",
            describe(cert)
        )));
    }
    if alg.parameters.is_none() {
        return Ok(());
    }
    match crate::x509::SignatureAlgorithm::from_identifier(alg)? {
        crate::x509::SignatureAlgorithm::RsaPss { hash: h, mgf1_hash, salt_len }
            if h == hash && mgf1_hash == hash && usize::try_from(salt_len).is_ok_and(|s| s <= hash.output_len()) =>
        {
            Ok(())
        }
        restricted => Err(SmimeError::Unsupported(format!(
            "the RSASSA-PSS key of \"{}\" is restricted to {}; sealpost signs and verifies with {hash}, MGF1 over \
             {hash} and a salt of {} bytes",
            describe(cert),
            restricted.name(),
            hash.output_len()
        ))),
    }
}

/// The subject of a certificate as a string, and its e-mail address when it has one.
pub fn describe(cert: &Certificate) -> String {
    cert.tbs_certificate().subject().to_string()
}

/// One signer for [`sign`]: certificate, key, and any intermediate certificates to include.
pub struct Signer<'a> {
    /// The signer's certificate.
    pub cert: &'a Certificate,
    /// The matching private key.
    pub key: &'a RsaPrivateKey,
    /// Intermediate certificates to carry in the message.
    pub chain: &'a [Certificate],
}

/// How to sign.
pub struct SignOptions {
    /// Leave the content out (detached signature).
    pub detached: bool,
    /// Hash for every signer.
    pub hash: HashAlgorithm,
    /// Whether the hash was named by the user (legacy hashes are produced only then).
    pub hash_named: bool,
    /// RSASSA-PSS instead of PKCS #1 v1.5.
    pub pss: bool,
    /// Time for the signing-time attribute.
    pub signing_time: SystemTime,
    /// The content's type: id-data, or id-ct-receipt for a signed receipt ([`super::ess`]).
    pub content_type: ObjectIdentifier,
    /// Further signed attributes for every signer (a receipt request, a receipt's msgSigDigest).
    pub extra_attrs: Vec<Attribute>,
}

impl SignOptions {
    /// Signing data with `hash` now: attached, PKCS #1 v1.5, no further attributes.
    pub fn new(hash: HashAlgorithm) -> SignOptions {
        SignOptions {
            detached: false,
            hash,
            hash_named: false,
            pss: false,
            signing_time: SystemTime::now(),
            content_type: ID_DATA,
            extra_attrs: Vec::new(),
        }
    }
}

fn smime_capabilities() -> Result<Any, SmimeError> {
    // SMIMECapabilities ::= SEQUENCE OF SEQUENCE { capabilityID OID, parameters ANY OPTIONAL }: what we
    // decrypt, strongest first (RFC 8551 section 2.5.2).
    #[derive(Sequence)]
    struct Capability {
        id: ObjectIdentifier,
    }
    let ids = [Algorithm::Aes256Gcm, Algorithm::Aes128Gcm, Algorithm::Aes256, Algorithm::Aes192, Algorithm::Aes128];
    let caps: Vec<Capability> =
        ids.into_iter().map(|a| oid_of(a).map(|id| Capability { id })).collect::<Result<_, _>>()?;
    Ok(Any::encode_from(&caps)?)
}

fn signature_algorithm(pss: bool, hash: HashAlgorithm) -> Result<AlgorithmIdentifierOwned, SmimeError> {
    if !pss {
        return Ok(AlgorithmIdentifierOwned {
            oid: RSA_ENCRYPTION,
            parameters: Some(Any::encode_from(&der::asn1::Null)?),
        });
    }
    let h = AlgorithmIdentifierOwned { oid: oid_of(hash.algorithm())?, parameters: None };
    let mgf = AlgorithmIdentifierOwned { oid: MGF1, parameters: Some(Any::encode_from(&h)?) };
    let params = PssParams { hash: Some(h), mgf: Some(mgf), salt_len: Some(hash.output_len() as u32), trailer: None };
    Ok(AlgorithmIdentifierOwned { oid: RSASSA_PSS, parameters: Some(Any::encode_from(&params)?) })
}

/// Signs `input` as SignedData, streaming: attached (content inside) or detached.
pub fn sign(
    input: &mut dyn Read,
    out: &mut dyn Write,
    signers: &[Signer<'_>],
    opts: &SignOptions,
    policy: &Policy,
) -> Result<(), SmimeError> {
    if signers.is_empty() {
        return Err(SmimeError::UnusableKey("no signer".into()));
    }
    policy.check(opts.hash.algorithm(), Usage::Sign, opts.hash_named)?;
    for s in signers {
        policy.check_rsa(s.key.bits(), Usage::Sign)?;
        let cert_key = cert_rsa_key(s.cert)?;
        if cert_key.n() != s.key.public().n() {
            return Err(SmimeError::UnusableKey(format!(
                "the key does not belong to the certificate \"{}\"",
                describe(s.cert)
            )));
        }
        let padding = if opts.pss { SignaturePadding::Pss } else { SignaturePadding::Pkcs1v15 };
        check_pss_key(s.cert, padding, opts.hash)?;
    }
    let digest_alg = AlgorithmIdentifierOwned { oid: oid_of(opts.hash.algorithm())?, parameters: None };
    let mut digest_algs = SetOfVec::new();
    digest_algs.insert(digest_alg.clone())?;

    write_header(out, 0x30, None)?;
    out.write_all(&ID_SIGNED_DATA.to_der()?)?;
    write_header(out, 0xa0, None)?;
    write_header(out, 0x30, None)?;
    out.write_all(&CmsVersion::V1.to_der()?)?;
    out.write_all(&digest_algs.to_der()?)?;
    // EncapsulatedContentInfo
    write_header(out, 0x30, None)?;
    out.write_all(&opts.content_type.to_der()?)?;
    let mut hasher = Hasher::new(opts.hash);
    let mut buf = vec![0u8; PIECE];
    if !opts.detached {
        write_header(out, 0xa0, None)?;
        write_header(out, 0x24, None)?;
    }
    loop {
        let n = match read_some(input, &mut buf)? {
            0 => break,
            n => n,
        };
        hasher.update(&buf[..n]);
        if !opts.detached {
            write_header(out, 0x04, Some(n))?;
            out.write_all(&buf[..n])?;
        }
    }
    if !opts.detached {
        out.write_all(&EOC)?; // OCTET STRING
        out.write_all(&EOC)?; // [0]
    }
    out.write_all(&EOC)?; // EncapsulatedContentInfo
    let digest = hasher.finish();

    let mut certs = Vec::new();
    for s in signers {
        certs.push(CertificateChoices::Certificate(s.cert.clone()));
        certs.extend(s.chain.iter().cloned().map(CertificateChoices::Certificate));
    }
    let mut unique: Vec<CertificateChoices> = Vec::new();
    for c in certs {
        if !unique.contains(&c) {
            unique.push(c);
        }
    }
    let certs = CertificateSet::try_from(unique)?;
    // certificates [0] IMPLICIT CertificateSet: the SET's encoding with its tag replaced.
    let mut set = certs.to_der()?;
    if let Some(first) = set.first_mut() {
        *first = 0xa0;
    }
    out.write_all(&set)?;

    let secs = opts
        .signing_time
        .duration_since(UNIX_EPOCH)
        .map_err(|_| SmimeError::malformed("signing time", "before 1970"))?;
    let time = UtcTime::from_unix_duration(Duration::from_secs(secs.as_secs()))
        .map_err(|e| SmimeError::malformed("signing time", e))?;
    let mut infos = Vec::new();
    for s in signers {
        let mut attrs = SetOfVec::new();
        attrs.insert(attribute(ATTR_CONTENT_TYPE, Any::encode_from(&opts.content_type)?)?)?;
        attrs.insert(attribute(ATTR_SIGNING_TIME, Any::encode_from(&time)?)?)?;
        attrs.insert(attribute(ATTR_MESSAGE_DIGEST, Any::encode_from(&OctetString::new(digest.as_bytes())?)?)?)?;
        attrs.insert(attribute(ATTR_SMIME_CAPABILITIES, smime_capabilities()?)?)?;
        attrs.insert(super::ess::signing_certificate_v2(s.cert)?)?;
        for a in &opts.extra_attrs {
            attrs.insert(a.clone())?;
        }
        let signed = attrs.to_der()?;
        let attr_digest = crate::core::digest::digest(opts.hash, &signed);
        let padding = if opts.pss { SignaturePadding::Pss } else { SignaturePadding::Pkcs1v15 };
        let signature = s.key.sign(padding, opts.hash, attr_digest.as_bytes())?;
        let tbs = s.cert.tbs_certificate();
        infos.push(SignerInfo {
            version: CmsVersion::V1,
            sid: SignerIdentifier::IssuerAndSerialNumber(IssuerAndSerialNumber {
                issuer: tbs.issuer().clone(),
                serial_number: tbs.serial_number().clone(),
            }),
            digest_alg: digest_alg.clone(),
            signed_attrs: Some(attrs),
            signature_algorithm: signature_algorithm(opts.pss, opts.hash)?,
            signature: OctetString::new(signature)?,
            unsigned_attrs: None,
        });
    }
    out.write_all(&SignerInfos::try_from(infos)?.to_der()?)?;
    out.write_all(&EOC)?; // SignedData
    out.write_all(&EOC)?; // [0]
    out.write_all(&EOC)?; // ContentInfo
    out.flush()?;
    Ok(())
}

/// Checks a signer's certificate path; returns the weaknesses found on the path. Given by the caller, who
/// knows the trust anchors; `None` in [`VerifyOptions`] checks the signature only (`--no-chain`).
pub type ChainCheck<'a> =
    dyn Fn(&Certificate, &[Certificate], Option<SystemTime>) -> Result<Vec<Weakness>, SmimeError> + 'a;

/// How to verify.
pub struct VerifyOptions<'a> {
    /// Certificates given by the user, besides those in the message.
    pub certs: &'a [Certificate],
    /// The policy for weak labels.
    pub policy: &'a Policy,
    /// The certificate path check, or `None` for the signature alone.
    pub chain: Option<&'a ChainCheck<'a>>,
}

fn sid_matches(sid: &SignerIdentifier, cert: &Certificate) -> bool {
    let tbs = cert.tbs_certificate();
    match sid {
        SignerIdentifier::IssuerAndSerialNumber(ias) => {
            ias.issuer == *tbs.issuer() && ias.serial_number == *tbs.serial_number()
        }
        SignerIdentifier::SubjectKeyIdentifier(ski) => matches!(
            tbs.get_extension::<x509_cert::ext::pkix::SubjectKeyIdentifier>(),
            Ok(Some((_, own))) if own == *ski
        ),
    }
}

/// The signature padding and hash of a SignerInfo's signature algorithm.
fn signature_scheme(
    info: &SignerInfo,
    digest_hash: HashAlgorithm,
) -> Result<(SignaturePadding, HashAlgorithm), SmimeError> {
    let alg = &info.signature_algorithm;
    if alg.oid == RSA_ENCRYPTION {
        return Ok((SignaturePadding::Pkcs1v15, digest_hash));
    }
    // Other algorithms: what certificates are signed with too (`<hash>WithRSAEncryption`, RSASSA-PSS).
    match SignatureAlgorithm::from_identifier(alg)? {
        SignatureAlgorithm::RsaPkcs1v15(h) => {
            if h != digest_hash {
                return Err(SmimeError::malformed(
                    "SignerInfo",
                    format!("signature algorithm over {h}, digest algorithm {digest_hash}"),
                ));
            }
            Ok((SignaturePadding::Pkcs1v15, h))
        }
        SignatureAlgorithm::RsaPss { hash, mgf1_hash, salt_len } => {
            // The core's PSS: MGF1 over the message hash, a salt as long as the hash.
            if mgf1_hash != hash || usize::try_from(salt_len).ok() != Some(hash.output_len()) {
                return Err(SmimeError::Unsupported(format!(
                    "RSASSA-PSS with a salt of {salt_len} bytes over {hash}, MGF1 over {mgf1_hash}"
                )));
            }
            Ok((SignaturePadding::Pss, hash))
        }
    }
}

fn signing_time(attrs: &SetOfVec<Attribute>) -> Result<Option<SystemTime>, SmimeError> {
    match single_value(attrs, &ATTR_SIGNING_TIME)? {
        None => Ok(None),
        Some(v) => {
            let t: Time = v.decode_as().map_err(|e| SmimeError::malformed("signing-time attribute", e))?;
            Ok(Some(t.to_system_time()))
        }
    }
}

/// Checks one SignerInfo against the content digests; the result for the verdict.
fn check_signer(
    info: &SignerInfo,
    econtent_type: &ObjectIdentifier,
    digests: &[(HashAlgorithm, Vec<u8>)],
    pool: &[Certificate],
    opts: &VerifyOptions<'_>,
) -> SignerResult {
    let Some(cert) = pool.iter().find(|c| sid_matches(&info.sid, c)) else {
        let who = match &info.sid {
            SignerIdentifier::IssuerAndSerialNumber(ias) => {
                format!("issuer \"{}\" serial {}", ias.issuer, ias.serial_number)
            }
            SignerIdentifier::SubjectKeyIdentifier(ski) => {
                format!("subject key id {}", ski.0.as_bytes().iter().map(|b| format!("{b:02x}")).collect::<String>())
            }
        };
        let mut r = SignerResult::new(who, SignerStatus::UnknownKey);
        r.detail = Some("no certificate for this signer in the message or given with --cert".into());
        return r;
    };
    let mut r = SignerResult::new(describe(cert), SignerStatus::Good);
    // One wrapped copy of the certificate serves the e-mail address and the key.
    let wrapped = crate::x509::Certificate::from_x509(cert.clone());
    r.email = wrapped.as_ref().ok().and_then(|c| c.emails().into_iter().next());
    // Ok((signing time, why the signer is bad despite a valid signature)).
    let outcome = (|| -> Result<(Option<SystemTime>, Option<String>), SmimeError> {
        let hash = hash_from_oid(&info.digest_alg.oid, "digest algorithm")?;
        r.hash = Some(hash.to_string());
        let (padding, sig_hash) = signature_scheme(info, hash)?;
        check_pss_key(cert, padding, sig_hash)?;
        let key = match &wrapped {
            Ok(c) => c.rsa_public_key()?,
            // The same failure again, with its own error.
            Err(_) => cert_rsa_key(cert)?,
        };
        r.key_algorithm = Some(if padding == SignaturePadding::Pss { "rsa-pss" } else { "rsa" }.to_string());
        r.key_bits = Some(key.bits());
        r.weak.extend(opts.policy.check(hash.algorithm(), Usage::Verify, false)?.weak);
        r.weak.extend(opts.policy.check_rsa(key.bits(), Usage::Verify)?.weak);
        let content_digest = digests
            .iter()
            .find(|(h, _)| *h == hash)
            .map(|(_, d)| d.as_slice())
            .ok_or(SmimeError::Core(crate::core::CoreError::Bug("digest not computed")))?;
        let mut time = None;
        let to_verify = match &info.signed_attrs {
            Some(attrs) => {
                let md = single_value(attrs, &ATTR_MESSAGE_DIGEST)?
                    .ok_or_else(|| SmimeError::malformed("signed attributes", "no message-digest attribute"))?
                    .decode_as::<OctetString>()
                    .map_err(|e| SmimeError::malformed("message-digest attribute", e))?;
                if md.as_bytes() != content_digest {
                    return Err(SmimeError::Core(crate::core::CoreError::BadSignature));
                }
                let ct = single_value(attrs, &ATTR_CONTENT_TYPE)?
                    .ok_or_else(|| SmimeError::malformed("signed attributes", "no content-type attribute"))?
                    .decode_as::<ObjectIdentifier>()
                    .map_err(|e| SmimeError::malformed("content-type attribute", e))?;
                if ct != *econtent_type {
                    return Err(SmimeError::malformed("signed attributes", "content-type does not match the content"));
                }
                time = signing_time(attrs)?;
                crate::core::digest::digest(sig_hash, &attrs.to_der()?).as_bytes().to_vec()
            }
            None => content_digest.to_vec(),
        };
        let sig = key.pad_to_size(info.signature.as_bytes())?;
        key.verify(padding, sig_hash, &to_verify, &sig)?;
        // A good signature by a key whose signing-certificate attribute names another certificate: a
        // certificate substitution (RFC 5035 section 3), so the signer is bad, not merely uncheckable.
        let substituted = match &info.signed_attrs {
            Some(attrs) => match super::ess::check_signing_certificate(attrs, cert) {
                Ok(()) => None,
                Err(SmimeError::Chain(why)) => Some(why),
                Err(e) => return Err(e),
            },
            None => None,
        };
        Ok((time, substituted))
    })();
    match outcome {
        Ok((_, Some(why))) => {
            r.status = SignerStatus::Bad;
            r.detail = Some(why);
        }
        Ok((time, None)) => {
            if let Some(check) = opts.chain {
                match check(cert, pool, time) {
                    Ok(weak) => r.weak.extend(weak),
                    Err(e) => {
                        r.status = SignerStatus::Bad;
                        r.detail = Some(e.to_string());
                    }
                }
            }
        }
        Err(SmimeError::Core(crate::core::CoreError::BadSignature)) => {
            r.status = SignerStatus::Bad;
            r.detail = Some("the signature does not match the content".into());
        }
        Err(e) => {
            r.status = SignerStatus::Error;
            r.detail = Some(e.to_string());
        }
    }
    r.weak.sort();
    r.weak.dedup();
    r
}

/// The parts of a SignedData message verification needs, found without copying the content: the `cms`
/// crate's owned structures would copy a large content three times (ContentInfo, SignedData, eContent), so
/// only the small parts (certificates, SignerInfos) are decoded with it.
pub(crate) struct SignedParts<'a> {
    pub(crate) econtent_type: ObjectIdentifier,
    /// The content octets (CMS: the OCTET STRING's value; PKCS #7 may carry another type: its value octets).
    pub(crate) econtent: Option<&'a [u8]>,
    pub(crate) certificates: Vec<Certificate>,
    pub(crate) signer_infos: SignerInfos,
}

impl<'a> SignedParts<'a> {
    pub(crate) fn parse(der: &'a [u8]) -> Result<SignedParts<'a>, SmimeError> {
        use super::ber::DerReader;
        let mut top = DerReader::new(der, "CMS message");
        let mut ci = top.read_nested(0x30, "ContentInfo")?;
        top.finish("the message")?;
        let ct = ci.read_oid("contentType")?;
        if ct != ID_SIGNED_DATA {
            return Err(SmimeError::malformed(
                "CMS message",
                format!("content type {} is not SignedData", super::input::oid_name(&ct)),
            ));
        }
        let mut explicit = ci.read_nested(0xa0, "content")?;
        let mut sd = explicit.read_nested(0x30, "SignedData")?;
        sd.read(0x02, "version")?;
        sd.read(0x31, "digestAlgorithms")?;
        let mut eci = sd.read_nested(0x30, "encapContentInfo")?;
        let econtent_type = eci.read_oid("eContentType")?;
        let econtent = if eci.peek_tag() == Some(0xa0) {
            let mut e = eci.read_nested(0xa0, "eContent")?;
            let (_, _, value) = e.read_tlv()?;
            e.finish("eContent")?;
            Some(value)
        } else {
            None
        };
        eci.finish("encapContentInfo")?;
        let mut certificates = Vec::new();
        if sd.peek_tag() == Some(0xa0) {
            let (_, _, content) = sd.read_tlv()?;
            let mut set = DerReader::new(content, "certificates");
            while !set.is_empty() {
                let (hdr, whole, _) = set.read_tlv()?;
                // Other certificate formats (attribute certificates, [0]-[3]) are skipped.
                if hdr.is_universal(16) {
                    certificates
                        .push(Certificate::from_der(whole).map_err(|e| SmimeError::malformed("certificate", e))?);
                }
            }
        }
        if sd.peek_tag() == Some(0xa1) {
            sd.read_tlv()?; // CRLs: not used.
        }
        let (_, infos, _) = sd.read_tlv()?;
        let signer_infos = SignerInfos::from_der(infos).map_err(|e| SmimeError::malformed("SignerInfos", e))?;
        sd.finish("SignedData")?;
        Ok(SignedParts { econtent_type, econtent, certificates, signer_infos })
    }
}

/// Verifies SignedData (DER). Attached content is written to `out`; for a detached signature pass the
/// content as `detached` (nothing is written then). What reaches `out` must be held until the caller has the
/// verdict.
pub fn verify(
    der: &[u8],
    detached: Option<&mut dyn Read>,
    opts: &VerifyOptions<'_>,
    out: &mut (dyn Write + Send),
) -> Result<Verdict, SmimeError> {
    let sd = SignedParts::parse(der)?;
    if sd.signer_infos.0.len() > MAX_SIGNERS {
        return Err(SmimeError::malformed("SignedData", format!("more than {MAX_SIGNERS} signers")));
    }
    let mut hashes: Vec<HashAlgorithm> = Vec::new();
    for info in sd.signer_infos.0.iter() {
        if let Ok(h) = hash_from_oid(&info.digest_alg.oid, "digest algorithm")
            && !hashes.contains(&h)
        {
            hashes.push(h);
        }
    }
    let mut hashers: Vec<Hasher> = hashes.iter().map(|h| Hasher::new(*h)).collect();
    match (sd.econtent, detached) {
        (Some(_), Some(_)) => {
            return Err(SmimeError::malformed(
                "SignedData",
                "the content is inside the message and --signature was given",
            ));
        }
        (None, None) => {
            return Err(SmimeError::malformed(
                "SignedData",
                "a detached signature (no content inside): give the content as INPUT and the signature with --signature",
            ));
        }
        (Some(bytes), None) => {
            // Writing the content out and hashing it take about as long each: do them side by side.
            std::thread::scope(|scope| -> Result<(), SmimeError> {
                let writer = scope.spawn(move || out.write_all(bytes));
                for h in &mut hashers {
                    h.update(bytes);
                }
                writer
                    .join()
                    .map_err(|_| SmimeError::Core(crate::core::CoreError::Bug("writer thread panicked")))??;
                Ok(())
            })?;
        }
        (None, Some(reader)) => {
            let mut buf = vec![0u8; PIECE];
            loop {
                let n = match read_some(reader, &mut buf)? {
                    0 => break,
                    n => n,
                };
                for h in &mut hashers {
                    h.update(&buf[..n]);
                }
            }
        }
    }
    let digests: Vec<(HashAlgorithm, Vec<u8>)> =
        hashes.iter().copied().zip(hashers.into_iter().map(|h| h.finish().as_bytes().to_vec())).collect();
    let mut pool = sd.certificates;
    pool.extend(opts.certs.iter().cloned());
    let mut verdict = Verdict::new(Format::Smime);
    for info in sd.signer_infos.0.iter() {
        verdict.signers.push(check_signer(info, &sd.econtent_type, &digests, &pool, opts));
        if verdict.receipt_request.is_none()
            && sd.econtent_type != super::ess::ID_CT_RECEIPT
            && let Ok(Some(r)) = super::ess::ReceiptRequest::of_signer(info)
        {
            verdict.receipt_request = Some(r.summary());
        }
    }
    Ok(verdict.finish())
}
