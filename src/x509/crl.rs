//! Certificate revocation lists (X.509 v1 and v2 CRLs, RFC 5280 section 5): read, their signature checked
//! by the issuer's certificate, and listed for people. Used by the PEM front end for RFC 1424 CRL
//! messages; S/MIME does not check revocation (see the module documentation).

use std::ops::Range;
use std::time::SystemTime;

use der::Decode;
use x509_cert::crl::CertificateList;

use super::certificate::tbs_range;
use super::signature::SignatureAlgorithm;
use super::{Certificate, X509Error, date, name};
use crate::core::CoreError;
use crate::core::digest::HashAlgorithm;

/// Most revoked certificates listed from one CRL; the count is always given.
pub const MAX_LISTED: usize = 1000;

/// One parsed CRL.
#[derive(Clone, Debug)]
pub struct Crl {
    der: Vec<u8>,
    crl: CertificateList,
    tbs: Range<usize>,
}

/// One revoked certificate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Revoked {
    /// Serial number, upper-case hex.
    pub serial: String,
    /// When it was revoked.
    pub date: SystemTime,
}

impl Crl {
    /// Parses one DER CRL; trailing data is an error.
    pub fn from_der(der: &[u8]) -> Result<Crl, X509Error> {
        let crl = CertificateList::from_der(der).map_err(|e| X509Error::malformed("CRL", e))?;
        let tbs = tbs_range(der).map_err(|e| X509Error::malformed("CRL", e))?;
        Ok(Crl { der: der.to_vec(), crl, tbs })
    }

    /// The DER it was read from.
    pub fn der(&self) -> &[u8] {
        &self.der
    }

    /// The issuer's name (RFC 4514 form).
    pub fn issuer(&self) -> String {
        name::display(&self.crl.tbs_cert_list.issuer)
    }

    /// When it was issued.
    pub fn this_update(&self) -> SystemTime {
        self.crl.tbs_cert_list.this_update.to_system_time()
    }

    /// When the next one is due, if it says.
    pub fn next_update(&self) -> Option<SystemTime> {
        self.crl.tbs_cert_list.next_update.map(|t| t.to_system_time())
    }

    /// The revoked certificates, in order.
    pub fn revoked(&self) -> Vec<Revoked> {
        let list = self.crl.tbs_cert_list.revoked_certificates.as_deref().unwrap_or(&[]);
        list.iter()
            .map(|r| Revoked {
                serial: r.serial_number.as_bytes().iter().map(|b| format!("{b:02X}")).collect(),
                date: r.revocation_date.to_system_time(),
            })
            .collect()
    }

    /// True when `cert` could be the issuer: its subject is the CRL's issuer name.
    pub fn is_issued_by(&self, cert: &Certificate) -> bool {
        name::names_match(cert.subject_name(), &self.crl.tbs_cert_list.issuer)
    }

    /// Checks that `issuer`'s key signed this CRL and returns the hash of the signature (for weak labels).
    /// A signature that does not verify is [`X509Error::Chain`].
    pub fn verify_signed_by(&self, issuer: &Certificate) -> Result<HashAlgorithm, X509Error> {
        if self.crl.signature_algorithm != self.crl.tbs_cert_list.signature {
            return Err(X509Error::malformed("CRL", "signatureAlgorithm differs from the signature field it signs"));
        }
        let alg = SignatureAlgorithm::from_identifier(&self.crl.signature_algorithm)?;
        let key = issuer.rsa_public_key()?;
        let signature = self
            .crl
            .signature
            .as_bytes()
            .ok_or_else(|| X509Error::malformed("CRL", "signature is not a whole number of bytes"))?;
        match alg.verify(&key, &self.der[self.tbs.clone()], signature) {
            Ok(()) => Ok(alg.hash()),
            Err(X509Error::Core(CoreError::BadSignature)) => Err(X509Error::Chain(format!(
                "the signature on the CRL of \"{}\" does not verify with the key of \"{}\"",
                self.issuer(),
                issuer.subject()
            ))),
            Err(other) => Err(other),
        }
    }

    /// The CRL for people: issuer, dates, and the revoked serial numbers (at most [`MAX_LISTED`]).
    pub fn describe(&self) -> String {
        let revoked = self.revoked();
        let mut out = format!("CRL issued by \"{}\"\n  this update: {}\n", self.issuer(), date(self.this_update()));
        match self.next_update() {
            Some(t) => out.push_str(&format!("  next update: {}\n", date(t))),
            None => out.push_str("  next update: (not given)\n"),
        }
        out.push_str(&format!("  revoked certificates: {}\n", revoked.len()));
        for r in revoked.iter().take(MAX_LISTED) {
            out.push_str(&format!("    serial {} revoked {}\n", r.serial, date(r.date)));
        }
        if revoked.len() > MAX_LISTED {
            out.push_str(&format!("    ... and {} more\n", revoked.len() - MAX_LISTED));
        }
        out
    }
}
