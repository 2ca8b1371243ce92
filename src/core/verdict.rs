//! The verdict: what verification and decryption found, in one shape for every format.
//!
//! Serialised as the JSON of CONTRACT.md (`format`, `status`, `signers[]` with `id`/`status`/`weak`,
//! `encrypted`, `integrity`, `weak`), plus details (`algorithms`, `notes`) that consumers may ignore.

use std::fmt;

use serde::Serialize;

use super::policy::Weakness;

/// Which front end produced the verdict.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Format {
    /// OpenPGP.
    Pgp,
    /// S/MIME (CMS).
    Smime,
    /// Privacy-Enhanced Mail (RFC 1421).
    Pem,
    /// The core's own demonstration envelope (`sealpost demo`); not a standard format.
    Core,
    /// A whole message with no signature or encryption in any format (`mail verify` of plain mail).
    None,
}

/// The overall result.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    /// At least one good signature, nothing weak, no bad signature.
    Pass,
    /// As `Pass`, but something is weak (an algorithm, a key size, missing integrity protection).
    PassWeak,
    /// A bad signature, or an integrity failure.
    Fail,
    /// No signature at all.
    NoSignature,
    /// Signatures present, but no key to check any of them.
    UnknownSigner,
    /// Good signatures that cover only part of the message (MIME).
    PartiallySigned,
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Status::Pass => "pass",
            Status::PassWeak => "pass-weak",
            Status::Fail => "fail",
            Status::NoSignature => "no-signature",
            Status::UnknownSigner => "unknown-signer",
            Status::PartiallySigned => "partially-signed",
        })
    }
}

/// One signer's result.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SignerStatus {
    /// The signature verifies.
    Good,
    /// The signature does not verify.
    Bad,
    /// No key to check it with.
    UnknownKey,
    /// The signature could not be checked (unsupported algorithm, malformed).
    Error,
}

/// Integrity protection of encrypted content.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub enum Integrity {
    /// OpenPGP modification detection code.
    #[serde(rename = "mdc")]
    Mdc,
    /// Authenticated encryption (GCM, OCB, EAX).
    #[serde(rename = "aead")]
    Aead,
    /// Encrypted without integrity protection.
    #[serde(rename = "none")]
    None,
    /// Not encrypted.
    #[serde(rename = "n/a")]
    NotApplicable,
}

/// One signer, as the verdict reports it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SignerResult {
    /// Who: an OpenPGP fingerprint and user id, a certificate subject, an RFC 1421 originator.
    pub id: String,
    /// The result.
    pub status: SignerStatus,
    /// Weaknesses of this signature (hash, key size).
    pub weak: Vec<Weakness>,
    /// Hash algorithm name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hash: Option<String>,
    /// Public-key algorithm name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_algorithm: Option<String>,
    /// Key size in bits.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_bits: Option<usize>,
    /// A human explanation for anything but `good`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// The signer's e-mail address as the certificate states it (S/MIME: subjectAltName rfc822Name, else
    /// the subject's emailAddress), for the mail layer to compare with the From address.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
}

impl SignerResult {
    /// A result with only an id and a status.
    pub fn new(id: impl Into<String>, status: SignerStatus) -> SignerResult {
        SignerResult {
            id: id.into(),
            status,
            weak: Vec::new(),
            hash: None,
            key_algorithm: None,
            key_bits: None,
            detail: None,
            email: None,
        }
    }
}

/// Algorithms the message used, for the record.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Algorithms {
    /// Content cipher (and mode).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cipher: Option<String>,
    /// Compression.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub compression: Option<String>,
    /// Key transport (`rsa`, `rsa-oaep`, `password`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_transport: Option<String>,
}

/// The verdict.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Verdict {
    /// Which format.
    pub format: Format,
    /// The overall result, derived by [`Verdict::finish`].
    pub status: Status,
    /// Every signature found, in message order.
    pub signers: Vec<SignerResult>,
    /// Whether the content was encrypted.
    pub encrypted: bool,
    /// Integrity protection of the encryption.
    pub integrity: Integrity,
    /// Every weakness found: the message's own (cipher, integrity) and all signers'.
    pub weak: Vec<Weakness>,
    /// Algorithms used.
    pub algorithms: Algorithms,
    /// Why the message as a whole failed (integrity), when it did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure: Option<String>,
    /// Only part of the message is covered by the signatures (set by the MIME layer).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub partial: bool,
    /// Remarks worth showing (e.g. "originator key taken from the message itself").
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// Which MIME part the signatures cover (set by the mail layer): `whole`, or a part path like `2.1`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub part: Option<String>,
    /// How the good signers' addresses compare with From (set by the mail layer): `match`, `mismatch`,
    /// `unknown`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// Part of the message is encrypted and was left so (set by the mail layer: an encrypted part inside an
    /// unencrypted message is not decrypted).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub partially_encrypted: bool,
    /// The signer asks for a signed receipt (S/MIME, RFC 2634).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub receipt_request: Option<ReceiptRequested>,
}

/// A signed receipt request as the verdict reports it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ReceiptRequested {
    /// Whom receipts are requested from: `all`, `first-tier`, or a list of addresses.
    pub from: String,
    /// Where receipts are to be sent.
    pub to: Vec<String>,
}

impl Verdict {
    /// An empty verdict for a format: no signers, not encrypted.
    pub fn new(format: Format) -> Verdict {
        Verdict {
            format,
            status: Status::NoSignature,
            signers: Vec::new(),
            encrypted: false,
            integrity: Integrity::NotApplicable,
            weak: Vec::new(),
            algorithms: Algorithms::default(),
            failure: None,
            partial: false,
            notes: Vec::new(),
            part: None,
            from: None,
            partially_encrypted: false,
            receipt_request: None,
        }
    }

    /// Adds message-level weaknesses.
    pub fn add_weak(&mut self, weak: impl IntoIterator<Item = Weakness>) {
        for w in weak {
            if !self.weak.contains(&w) {
                self.weak.push(w);
            }
        }
    }

    /// Computes `status` (and folds signer weaknesses into `weak`). Call after the last change.
    pub fn finish(mut self) -> Verdict {
        let signer_weak: Vec<Weakness> =
            self.signers.iter().filter(|s| s.status == SignerStatus::Good).flat_map(|s| s.weak.clone()).collect();
        self.add_weak(signer_weak);
        self.weak.sort();
        let good = self.signers.iter().filter(|s| s.status == SignerStatus::Good).count();
        let bad = self.signers.iter().any(|s| matches!(s.status, SignerStatus::Bad));
        self.status = if self.failure.is_some() || bad {
            Status::Fail
        } else if self.signers.is_empty() {
            Status::NoSignature
        } else if good == 0 {
            if self.signers.iter().all(|s| s.status == SignerStatus::UnknownKey) {
                Status::UnknownSigner
            } else {
                Status::Fail
            }
        } else if self.partial {
            Status::PartiallySigned
        } else if self.weak.is_empty() {
            Status::Pass
        } else {
            Status::PassWeak
        };
        self
    }

    /// True for `pass` and `pass-weak`.
    pub fn signature_ok(&self) -> bool {
        matches!(self.status, Status::Pass | Status::PassWeak)
    }

    /// The JSON of CONTRACT.md.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
    }

    /// The one-line human summary printed on stderr.
    pub fn summary(&self) -> String {
        let mut parts = Vec::new();
        for s in &self.signers {
            let what = match s.status {
                SignerStatus::Good => "good signature",
                SignerStatus::Bad => "BAD signature",
                SignerStatus::UnknownKey => "signature by unknown key",
                SignerStatus::Error => "uncheckable signature",
            };
            let mut part = format!("{what} from {}", s.id);
            if let Some(h) = &s.hash {
                part.push_str(&format!(" ({h}"));
                if let Some(bits) = s.key_bits {
                    part.push_str(&format!(", {}-{bits}", s.key_algorithm.as_deref().unwrap_or("key")));
                }
                part.push(')');
            }
            if let Some(d) = &s.detail {
                part.push_str(&format!(": {d}"));
            }
            parts.push(part);
        }
        if self.signers.is_empty() && self.failure.is_none() {
            parts.push("not signed".into());
        }
        if self.encrypted {
            let cipher = self.algorithms.cipher.as_deref().unwrap_or("unknown cipher");
            let integrity = match self.integrity {
                Integrity::Mdc => "MDC",
                Integrity::Aead => "AEAD",
                Integrity::None => "NO integrity protection",
                Integrity::NotApplicable => "n/a",
            };
            parts.push(format!("encrypted with {cipher}, {integrity}"));
        }
        if let Some(r) = &self.receipt_request {
            parts.push(format!("signed receipt requested (from {}; to {})", r.from, r.to.join(", ")));
        }
        if let Some(f) = &self.failure {
            parts.push(format!("FAILED: {f}"));
        }
        let weak = if self.weak.is_empty() {
            String::new()
        } else {
            let names: Vec<String> = self.weak.iter().map(|w| w.to_string()).collect();
            format!(" [weak: {}]", names.join(", "))
        };
        let format =
            serde_json::to_value(self.format).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default();
        format!("{format}: {}: {}{weak}", self.status, parts.join("; "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::algorithm::Algorithm;

    fn signer(status: SignerStatus, weak: Vec<Weakness>) -> SignerResult {
        SignerResult { weak, ..SignerResult::new("Alice <alice@example.org>", status) }
    }

    #[test]
    fn status_rules() {
        let v = |signers: Vec<SignerResult>| {
            let mut v = Verdict::new(Format::Pgp);
            v.signers = signers;
            v.finish().status
        };
        assert_eq!(v(vec![]), Status::NoSignature);
        assert_eq!(v(vec![signer(SignerStatus::Good, vec![])]), Status::Pass);
        assert_eq!(v(vec![signer(SignerStatus::Good, vec![Weakness::Algorithm(Algorithm::Sha1)])]), Status::PassWeak);
        assert_eq!(v(vec![signer(SignerStatus::Good, vec![]), signer(SignerStatus::Bad, vec![])]), Status::Fail);
        assert_eq!(v(vec![signer(SignerStatus::UnknownKey, vec![])]), Status::UnknownSigner);
        assert_eq!(v(vec![signer(SignerStatus::Good, vec![]), signer(SignerStatus::UnknownKey, vec![])]), Status::Pass);
        assert_eq!(v(vec![signer(SignerStatus::Error, vec![])]), Status::Fail);

        let mut weak_cipher = Verdict::new(Format::Smime);
        weak_cipher.signers = vec![signer(SignerStatus::Good, vec![])];
        weak_cipher.add_weak([Weakness::Algorithm(Algorithm::TripleDes)]);
        assert_eq!(weak_cipher.finish().status, Status::PassWeak);

        let mut failed = Verdict::new(Format::Pgp);
        failed.signers = vec![signer(SignerStatus::Good, vec![])];
        failed.failure = Some("MDC mismatch".into());
        assert_eq!(failed.finish().status, Status::Fail);
    }

    /// The JSON has exactly the fields and spellings CONTRACT.md names.
    #[test]
    fn json_matches_the_contract() {
        let mut v = Verdict::new(Format::Pgp);
        v.signers = vec![SignerResult {
            hash: Some("sha1".into()),
            ..signer(SignerStatus::Good, vec![Weakness::Algorithm(Algorithm::Sha1), Weakness::ShortRsaKey(1024)])
        }];
        v.encrypted = true;
        v.integrity = Integrity::Mdc;
        let v = v.finish();
        let json: serde_json::Value = serde_json::from_str(&v.to_json()).unwrap();
        assert_eq!(json["format"], "pgp");
        assert_eq!(json["status"], "pass-weak");
        assert_eq!(json["signers"][0]["id"], "Alice <alice@example.org>");
        assert_eq!(json["signers"][0]["status"], "good");
        assert_eq!(json["signers"][0]["weak"], serde_json::json!(["sha1", "rsa-1024"]));
        assert_eq!(json["encrypted"], true);
        assert_eq!(json["integrity"], "mdc");
        assert_eq!(json["weak"], serde_json::json!(["sha1", "rsa-1024"]));
        let plain = Verdict::new(Format::Pem).finish();
        let json: serde_json::Value = serde_json::from_str(&plain.to_json()).unwrap();
        assert_eq!(json["integrity"], "n/a");
        assert_eq!(json["status"], "no-signature");
        assert!(v.summary().starts_with("pgp: pass-weak: good signature from Alice"), "{}", v.summary());
    }
}
