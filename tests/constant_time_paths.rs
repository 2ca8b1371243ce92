//! Issue #9 item 5, as a check on the source: every RSA private-key operation runs in the core
//! (src/core/rsa: AWS-LC's constant-time RSA, or RustCrypto's blinded one for keys AWS-LC refuses, with the
//! branch-free PKCS #1 decoding and implicit rejection of src/core/eme.rs), and every front end reaches
//! it: OpenPGP through `CoreRsaKey` (sequoia's own key pair, whose RSA is RustCrypto's variable-time code,
//! is used only for algorithms the core does not hold), S/MIME and PEM through `RsaPrivateKey` directly.
//! A new path that decrypts or signs with the `rsa` crate, or hands an RSA key to sequoia, fails here.
//! docs/threat-model.md ("Timing") says what is still variable-time and why it is off attacker-timed paths.

#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            sources(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

fn all() -> Vec<(String, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    sources(&root.join("src"), &mut files);
    assert!(files.len() > 50, "found only {} source files", files.len());
    files
        .into_iter()
        .map(|p| (p.strip_prefix(root).unwrap().display().to_string(), std::fs::read_to_string(&p).unwrap()))
        .collect()
}

/// The `rsa` crate's private-key operations appear only in the core's RSA module.
#[test]
fn rsa_private_operations_are_in_the_core_only() {
    let private_ops = ["Pkcs1v15Encrypt", "decrypt_blinded", "rsa_decrypt_and_check", "rsa_decrypt(", "sign_with_rng("];
    let mut found = Vec::new();
    for (path, text) in all() {
        if path.starts_with("src/core/rsa/") {
            continue;
        }
        for (n, line) in text.lines().enumerate() {
            if line.trim_start().starts_with("//") {
                continue;
            }
            for op in private_ops {
                if line.contains(op) {
                    found.push(format!("{path}:{}: {}", n + 1, line.trim()));
                }
            }
        }
    }
    assert!(found.is_empty(), "RSA private-key operations outside src/core/rsa:\n{}", found.join("\n"));
}

/// Sequoia's key pair (its own, variable-time RSA) is made only after the core was offered the key.
#[test]
fn sequoia_key_pairs_only_for_what_the_core_does_not_hold() {
    let mut found = Vec::new();
    for (path, text) in all() {
        let lines: Vec<&str> = text.lines().collect();
        for (n, line) in lines.iter().enumerate() {
            if !line.contains("into_keypair()") || line.trim_start().starts_with("//") {
                continue;
            }
            let before = lines[n.saturating_sub(8)..n].join("\n");
            if path != "src/pgp/crypto.rs" || !before.contains("CoreRsaKey::from_secret(key)") {
                found.push(format!("{path}:{}: {}", n + 1, line.trim()));
            }
        }
    }
    assert!(
        found.is_empty(),
        "sequoia key pairs made without offering the key to the core first:\n{}",
        found.join("\n")
    );
}

/// The decryptors and signers handed to sequoia for RSA are the core's.
#[test]
fn the_decryptors_given_to_sequoia_are_the_cores() {
    let mut impls = Vec::new();
    for (path, text) in all() {
        for line in text.lines() {
            let t = line.trim();
            if (t.starts_with("impl Decryptor for") || t.starts_with("impl Signer for")) && !t.contains("Core") {
                impls.push(format!("{path}: {t}"));
            }
        }
    }
    assert!(impls.is_empty(), "a Decryptor or Signer that is not the core's:\n{}", impls.join("\n"));
}
