//! Policy: for every algorithm and use, whether it is allowed, and whether the result is weak.
//!
//! This is the only place that decides. Front ends ask [`Policy::check`] before they produce anything and
//! after they consume anything, and copy the [`Weakness`] labels it returns into the verdict.
//!
//! Defaults, following the registry's [`Strength`]:
//!
//! | strength | produce | consume |
//! |---|---|---|
//! | modern | yes | yes |
//! | legacy (3DES, IDEA, CAST5, SHA-1) | only when named by the user; labelled weak | yes, labelled weak |
//! | broken (DES, MD2, MD5) | only when named *and* broken algorithms are explicitly allowed; weak | yes, weak |
//!
//! RSA, DSA and ElGamal keys: below 2048 bits are weak; below 1024 bits, encryption to them and signing
//! with them are refused unless broken algorithms are explicitly allowed; keys under 2048 bits are never
//! generated (sealpost generates RSA of 2048 bits and more, and no DSA or ElGamal keys at all). RSA keys
//! under 2048 bits are not encrypted to unless broken algorithms are explicitly allowed (SECURITY-CASES G4:
//! what is encrypted today must stay secret for years; `smime encrypt --allow-broken` for a correspondent
//! who has nothing better, and PEM, a legacy format asked for by name); decrypting and verifying with them
//! stay allowed, labelled weak.
//! Encryption without integrity protection (OpenPGP without MDC, CBC without a signature) is refused on
//! consumption unless explicitly allowed, and labelled weak when it is.

use std::fmt;

use serde::Serialize;

use super::algorithm::{Algorithm, Strength};
use super::error::CoreError;

/// What an algorithm is being used for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Usage {
    /// Making a signature.
    Sign,
    /// Checking a signature.
    Verify,
    /// Encrypting.
    Encrypt,
    /// Decrypting.
    Decrypt,
    /// Compressing.
    Compress,
    /// Decompressing.
    Decompress,
}

impl Usage {
    /// True for the uses that make something new.
    pub fn produces(self) -> bool {
        matches!(self, Usage::Sign | Usage::Encrypt | Usage::Compress)
    }

    /// Lower-case name.
    pub fn name(self) -> &'static str {
        match self {
            Usage::Sign => "signing",
            Usage::Verify => "verification",
            Usage::Encrypt => "encryption",
            Usage::Decrypt => "decryption",
            Usage::Compress => "compression",
            Usage::Decompress => "decompression",
        }
    }
}

/// Why a result is weak. Serialised as a short string: the algorithm name (`md5`, `3des`), `rsa-<bits>`,
/// `dsa-<bits>` or `elgamal-<bits>` for a short key, `no-integrity` for unauthenticated encryption.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum Weakness {
    /// A legacy or broken algorithm.
    Algorithm(Algorithm),
    /// An RSA key shorter than 2048 bits.
    ShortRsaKey(usize),
    /// A DSA or ElGamal key (its p) shorter than 2048 bits: `dsa-1024`, `elgamal-1024`.
    ShortKey(Algorithm, usize),
    /// Encryption without integrity protection.
    NoIntegrity,
}

impl fmt::Display for Weakness {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Weakness::Algorithm(alg) => f.write_str(alg.name()),
            Weakness::ShortRsaKey(bits) => write!(f, "rsa-{bits}"),
            Weakness::ShortKey(alg, bits) => write!(f, "{}-{bits}", alg.name()),
            Weakness::NoIntegrity => f.write_str("no-integrity"),
        }
    }
}

impl Serialize for Weakness {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// A use the policy allows, with the weaknesses to report.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Acceptance {
    /// Empty when the use is not weak.
    pub weak: Vec<Weakness>,
}

impl Acceptance {
    /// True when nothing is weak.
    pub fn is_strong(&self) -> bool {
        self.weak.is_empty()
    }
}

/// The policy. `Policy::default()` is the safe one described in the module documentation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Policy {
    /// Allow producing with broken algorithms (DES, MD5, MD2, RSA under 1024 bits) when they are named.
    pub allow_broken: bool,
    /// Accept encrypted data that has no integrity protection (reported weak).
    pub allow_unauthenticated: bool,
    /// Keys below this many bits are labelled weak.
    pub weak_rsa_below: usize,
    /// Keys below this many bits are refused for producing unless `allow_broken`.
    pub refuse_rsa_below: usize,
    /// RSA keys below this many bits are not encrypted to unless `allow_broken`.
    pub encrypt_rsa_below: usize,
}

impl Default for Policy {
    fn default() -> Policy {
        Policy {
            allow_broken: false,
            allow_unauthenticated: false,
            weak_rsa_below: 2048,
            refuse_rsa_below: 1024,
            encrypt_rsa_below: 2048,
        }
    }
}

impl Policy {
    /// Checks one use of one algorithm. `named` says whether the user asked for this algorithm by name
    /// (a flag on the command line, a per-recipient setting), as opposed to it being a default.
    pub fn check(&self, alg: Algorithm, usage: Usage, named: bool) -> Result<Acceptance, CoreError> {
        let weak = match alg.strength() {
            Strength::Modern => return Ok(Acceptance::default()),
            Strength::Legacy | Strength::Broken => vec![Weakness::Algorithm(alg)],
        };
        if !usage.produces() {
            return Ok(Acceptance { weak });
        }
        let refuse =
            |reason: String| CoreError::PolicyRefused { algorithm: alg.name().into(), usage: usage.name(), reason };
        match alg.strength() {
            Strength::Legacy if !named => {
                Err(refuse(format!("{} is legacy and is only used when asked for by name", alg.info().display)))
            }
            Strength::Broken if !named || !self.allow_broken => Err(refuse(format!(
                "{} is broken; name it and allow broken algorithms explicitly to use it anyway",
                alg.info().display
            ))),
            _ => Ok(Acceptance { weak }),
        }
    }

    /// Checks an RSA key size for a use.
    pub fn check_rsa(&self, bits: usize, usage: Usage) -> Result<Acceptance, CoreError> {
        if bits >= self.weak_rsa_below {
            return Ok(Acceptance::default());
        }
        let weak = vec![Weakness::ShortRsaKey(bits)];
        if usage == Usage::Encrypt && bits < self.encrypt_rsa_below && !self.allow_broken {
            return Err(CoreError::PolicyRefused {
                algorithm: format!("rsa-{bits}"),
                usage: usage.name(),
                reason: format!(
                    "RSA keys under {} bits are not encrypted to (S/MIME: unless --allow-broken)",
                    self.encrypt_rsa_below
                ),
            });
        }
        if usage.produces() && bits < self.refuse_rsa_below && !self.allow_broken {
            return Err(CoreError::PolicyRefused {
                algorithm: format!("rsa-{bits}"),
                usage: usage.name(),
                reason: format!("RSA keys under {} bits can be factored", self.refuse_rsa_below),
            });
        }
        Ok(Acceptance { weak })
    }

    /// Checks the size of a public key for a use: RSA as [`check_rsa`](Self::check_rsa); DSA and ElGamal
    /// (the size of p) with the same limits, labelled `dsa-<bits>` / `elgamal-<bits>`. Other algorithms
    /// (elliptic curves) have no size limit here.
    pub fn check_key(&self, alg: Algorithm, bits: usize, usage: Usage) -> Result<Acceptance, CoreError> {
        match alg {
            Algorithm::Rsa | Algorithm::RsaPss | Algorithm::RsaOaep => self.check_rsa(bits, usage),
            Algorithm::Dsa | Algorithm::ElGamal => {
                if bits >= self.weak_rsa_below {
                    return Ok(Acceptance::default());
                }
                if usage.produces() && bits < self.refuse_rsa_below && !self.allow_broken {
                    return Err(CoreError::PolicyRefused {
                        algorithm: format!("{}-{bits}", alg.name()),
                        usage: usage.name(),
                        reason: format!(
                            "{} keys under {} bits are within reach of discrete-logarithm computations",
                            alg.info().display,
                            self.refuse_rsa_below
                        ),
                    });
                }
                Ok(Acceptance { weak: vec![Weakness::ShortKey(alg, bits)] })
            }
            _ => Ok(Acceptance::default()),
        }
    }

    /// Checks decrypted data that had no integrity protection.
    pub fn check_unauthenticated(&self) -> Result<Acceptance, CoreError> {
        if self.allow_unauthenticated {
            Ok(Acceptance { weak: vec![Weakness::NoIntegrity] })
        } else {
            Err(CoreError::PolicyRefused {
                algorithm: "no-integrity".into(),
                usage: Usage::Decrypt.name(),
                reason: "the message has no integrity protection and could have been modified; \
                         allow unauthenticated decryption explicitly to read it anyway"
                    .into(),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_follow_the_table() {
        let p = Policy::default();
        // Modern: everything allowed, nothing weak.
        for usage in [Usage::Sign, Usage::Verify, Usage::Encrypt, Usage::Decrypt] {
            assert!(p.check(Algorithm::Aes256, usage, false).unwrap().is_strong());
        }
        // Legacy: consumed weak, produced only by name.
        assert_eq!(
            p.check(Algorithm::TripleDes, Usage::Decrypt, false).unwrap().weak,
            vec![Weakness::Algorithm(Algorithm::TripleDes)]
        );
        assert!(p.check(Algorithm::TripleDes, Usage::Encrypt, false).is_err());
        assert!(!p.check(Algorithm::TripleDes, Usage::Encrypt, true).unwrap().is_strong());
        // Broken: consumed weak, never produced by default, even by name.
        assert!(!p.check(Algorithm::Md5, Usage::Verify, false).unwrap().is_strong());
        let err = p.check(Algorithm::Md5, Usage::Sign, true).unwrap_err();
        assert!(err.is_verdict(), "a policy refusal is exit status 1");
        let lax = Policy { allow_broken: true, ..Policy::default() };
        assert!(lax.check(Algorithm::Md5, Usage::Sign, true).is_ok());
        assert!(lax.check(Algorithm::Md5, Usage::Sign, false).is_err(), "still only by name");
    }

    #[test]
    fn rsa_sizes() {
        let p = Policy::default();
        assert!(p.check_rsa(2048, Usage::Encrypt).unwrap().is_strong());
        assert_eq!(p.check_rsa(1024, Usage::Verify).unwrap().weak, vec![Weakness::ShortRsaKey(1024)]);
        assert!(p.check_rsa(1024, Usage::Sign).is_ok());
        assert!(p.check_rsa(512, Usage::Sign).is_err());
        assert!(p.check_rsa(1024, Usage::Decrypt).is_ok());
        let lax = Policy { allow_broken: true, ..Policy::default() };
        for bits in [512, 1024, 2047] {
            assert!(p.check_rsa(bits, Usage::Encrypt).unwrap_err().is_verdict(), "rsa-{bits}");
            assert!(lax.check_rsa(bits, Usage::Encrypt).is_ok(), "rsa-{bits}, broken algorithms allowed");
        }
        assert!(p.check_rsa(512, Usage::Decrypt).is_ok());
        assert_eq!(Weakness::ShortRsaKey(512).to_string(), "rsa-512");
    }

    #[test]
    fn dsa_and_elgamal_sizes() {
        let p = Policy::default();
        for alg in [Algorithm::Dsa, Algorithm::ElGamal] {
            assert!(p.check_key(alg, 2048, Usage::Sign).unwrap().is_strong());
            assert!(p.check_key(alg, 3072, Usage::Decrypt).unwrap().is_strong());
            for usage in [Usage::Verify, Usage::Decrypt, Usage::Sign, Usage::Encrypt] {
                assert_eq!(p.check_key(alg, 1024, usage).unwrap().weak, vec![Weakness::ShortKey(alg, 1024)]);
            }
            assert!(p.check_key(alg, 768, Usage::Decrypt).is_ok());
            let err = p.check_key(alg, 768, Usage::Encrypt).unwrap_err();
            assert!(err.is_verdict());
        }
        assert_eq!(Weakness::ShortKey(Algorithm::Dsa, 1024).to_string(), "dsa-1024");
        assert_eq!(Weakness::ShortKey(Algorithm::ElGamal, 1024).to_string(), "elgamal-1024");
        assert_eq!(p.check_key(Algorithm::Rsa, 1024, Usage::Verify).unwrap().weak, vec![Weakness::ShortRsaKey(1024)]);
    }

    #[test]
    fn unauthenticated_needs_permission() {
        assert!(Policy::default().check_unauthenticated().is_err());
        let p = Policy { allow_unauthenticated: true, ..Policy::default() };
        assert_eq!(p.check_unauthenticated().unwrap().weak, vec![Weakness::NoIntegrity]);
        assert_eq!(serde_json::to_string(&Weakness::NoIntegrity).unwrap(), "\"no-integrity\"");
    }
}
