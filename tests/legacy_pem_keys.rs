//! OpenSSL's traditional encrypted PEM keys (`Proc-Type: 4,ENCRYPTED`, `DEK-Info`), issue #5 item 7:
//! OpenSSL writes them with every cipher and we read them; we write them with every cipher and OpenSSL reads
//! them; the pycryptodome files in `../shared/vectors/pem/openssl-legacy-encrypted-keys/` decrypt to the DER
//! of their unencrypted twins; and the commands that take a key file use them (S/MIME signing, X.509
//! issuing), with a one-line error for a wrong or missing passphrase. Every failing command is printed.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // A panic in a test is a failed test.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::{peer, run, run_ok, scratch, vectors};
use sealpost::core::CoreError;
use sealpost::core::cipher::CipherAlgorithm;
use sealpost::core::rand::SystemRng;
use sealpost::core::rsa::{RsaPrivateKey, TraditionalPem};

const PASS: &str = "Tr0ub4dor&3 horse";

fn sealpost() -> Command {
    Command::new(env!("CARGO_BIN_EXE_sealpost"))
}

/// Writes a secret file (mode 0600: sealpost refuses secrets others can read).
fn write_secret(dir: &Path, name: &str, data: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, data).unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).unwrap();
    p
}

fn hex_upper(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02X}")).collect()
}

/// `openssl rsa -noout -modulus` of a key file, as the hex digits after `Modulus=`.
fn openssl_modulus(ossl: &Path, key: &Path, passin: Option<&Path>, legacy: bool) -> String {
    let mut cmd = Command::new(ossl);
    cmd.args(["rsa", "-noout", "-modulus", "-in"]).arg(key);
    if let Some(pw) = passin {
        cmd.arg("-passin").arg(format!("file:{}", pw.display()));
    }
    if legacy {
        cmd.args(["-provider", "legacy", "-provider", "default"]);
    }
    let out = run_ok(&mut cmd);
    let text = String::from_utf8(out.stdout).unwrap();
    text.trim().strip_prefix("Modulus=").unwrap_or_else(|| panic!("no modulus in {text:?}")).to_string()
}

/// OpenSSL's option for each cipher, the `DEK-Info` name, and whether OpenSSL 3 needs its legacy provider.
const CIPHERS: [(CipherAlgorithm, &str, &str, bool); 5] = [
    (CipherAlgorithm::TripleDes, "-des3", "DES-EDE3-CBC", false),
    (CipherAlgorithm::Des, "-des", "DES-CBC", true),
    (CipherAlgorithm::Aes128, "-aes128", "AES-128-CBC", false),
    (CipherAlgorithm::Aes192, "-aes192", "AES-192-CBC", false),
    (CipherAlgorithm::Aes256, "-aes256", "AES-256-CBC", false),
];

#[test]
fn openssl_writes_every_cipher_and_sealpost_reads() {
    let Some(ossl) = peer("openssl_writes_every_cipher_and_sealpost_reads", "openssl") else { return };
    let dir = scratch("legacy-pem-openssl-writes");
    let pw = write_secret(&dir, "pw", format!("{PASS}\n").as_bytes());
    let mut checked = 0;

    // `genrsa -des3 -traditional`: the key is made and encrypted in one step.
    let gen_key = dir.join("genrsa-des3.pem");
    run_ok(
        Command::new(&ossl)
            .args(["genrsa", "-traditional", "-des3", "-passout"])
            .arg(format!("file:{}", pw.display()))
            .arg("-out")
            .arg(&gen_key)
            .arg("2048"),
    );
    let text = std::fs::read_to_string(&gen_key).unwrap();
    assert!(text.contains("DEK-Info: DES-EDE3-CBC,"), "{text}");
    let key = RsaPrivateKey::from_pem(&text, Some(PASS.as_bytes())).unwrap();
    assert_eq!(hex_upper(key.public().n()), openssl_modulus(&ossl, &gen_key, Some(&pw), false));
    checked += 1;

    // `rsa -<cipher> -traditional` over one plain key, for each cipher (and two key sizes).
    for bits in ["2048", "1024"] {
        let plain = dir.join(format!("plain-{bits}.pem"));
        run_ok(
            Command::new(&ossl)
                .args(["genpkey", "-algorithm", "RSA", "-pkeyopt"])
                .arg(format!("rsa_keygen_bits:{bits}"))
                .arg("-out")
                .arg(&plain),
        );
        let modulus = openssl_modulus(&ossl, &plain, None, false);
        for (cipher, option, dek_name, legacy) in CIPHERS {
            let enc = dir.join(format!("{bits}{option}.pem"));
            let mut cmd = Command::new(&ossl);
            cmd.args(["rsa", "-traditional", option, "-in"]).arg(&plain).arg("-out").arg(&enc);
            cmd.arg("-passout").arg(format!("file:{}", pw.display()));
            if legacy {
                cmd.args(["-provider", "legacy", "-provider", "default"]);
            }
            run_ok(&mut cmd);
            let text = std::fs::read_to_string(&enc).unwrap();
            assert!(text.contains(&format!("DEK-Info: {dek_name},")), "{option}: {text}");
            assert_eq!(TraditionalPem::parse(&text).unwrap().cipher(), Some(cipher));
            let key = RsaPrivateKey::from_pem(&text, Some(PASS.as_bytes()))
                .unwrap_or_else(|e| panic!("{bits} {option}: {e}"));
            assert_eq!(hex_upper(key.public().n()), modulus, "{bits} {option}");
            assert!(
                matches!(RsaPrivateKey::from_pem(&text, Some(b"not the passphrase")), Err(CoreError::DecryptionFailed)),
                "{bits} {option}"
            );
            checked += 1;
        }
    }
    eprintln!("read {checked} keys written by openssl");
    assert_eq!(checked, 11);
}

#[test]
fn sealpost_writes_every_cipher_and_openssl_reads() {
    let Some(ossl) = peer("sealpost_writes_every_cipher_and_openssl_reads", "openssl") else { return };
    let dir = scratch("legacy-pem-sealpost-writes");
    let pw = write_secret(&dir, "pw", PASS.as_bytes());
    let wrong = write_secret(&dir, "wrong", b"not the passphrase");
    let key = RsaPrivateKey::generate(2048).unwrap();
    let modulus = hex_upper(key.public().n());
    for (cipher, option, dek_name, legacy) in CIPHERS {
        let pem = key.to_traditional_pem(cipher, PASS.as_bytes(), &mut SystemRng).unwrap();
        assert!(pem.contains(&format!("DEK-Info: {dek_name},")), "{}", *pem);
        let file = write_secret(&dir, &format!("ours{option}.pem"), pem.as_bytes());
        assert_eq!(openssl_modulus(&ossl, &file, Some(&pw), legacy), modulus, "{option}");
        // OpenSSL's own consistency check of the key it decrypted.
        let mut check = Command::new(&ossl);
        check.args(["rsa", "-check", "-noout", "-in"]).arg(&file).arg("-passin").arg(format!("file:{}", pw.display()));
        if legacy {
            check.args(["-provider", "legacy", "-provider", "default"]);
        }
        let out = run_ok(&mut check);
        assert!(String::from_utf8_lossy(&out.stdout).contains("RSA key ok"), "{option}");
        // And the file is really protected: OpenSSL refuses it under another passphrase.
        let mut bad = Command::new(&ossl);
        bad.args(["rsa", "-noout", "-modulus", "-in"])
            .arg(&file)
            .arg("-passin")
            .arg(format!("file:{}", wrong.display()));
        if legacy {
            bad.args(["-provider", "legacy", "-provider", "default"]);
        }
        assert!(!run(&mut bad).status.success(), "{option}: openssl read the key with a wrong passphrase");
    }
}

/// Every file of `pem/openssl-legacy-encrypted-keys/`: each `*_enc_des3.pem` (passphrase `secret`, SOURCES.md)
/// decrypts to the DER of the unencrypted file beside it. They are EC keys: the RSA reader names the label.
#[test]
fn pycryptodome_vectors_decrypt_to_their_unencrypted_twins() {
    let Some(vectors) = vectors("pycryptodome_vectors_decrypt_to_their_unencrypted_twins") else { return };
    let dir = vectors.join("pem/openssl-legacy-encrypted-keys");
    let mut names: Vec<String> =
        std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    names.sort();
    let (mut encrypted, mut twins) = (0, 0);
    for name in &names {
        let path = dir.join(name);
        if name.starts_with("LICENSE") {
            continue;
        }
        let Some(stem) = name.strip_suffix("_enc_des3.pem") else {
            let enc = name.strip_suffix(".pem").map(|s| format!("{s}_enc_des3.pem"));
            assert!(enc.is_some_and(|e| names.contains(&e)), "{name}: no checker for this file");
            twins += 1;
            continue;
        };
        let text = std::fs::read_to_string(&path).unwrap();
        let plain = std::fs::read_to_string(dir.join(format!("{stem}.pem"))).unwrap();
        let block = TraditionalPem::parse(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(block.label(), "EC PRIVATE KEY", "{name}");
        assert_eq!(block.cipher(), Some(CipherAlgorithm::TripleDes), "{name}");
        let want = TraditionalPem::parse(&plain).unwrap().decrypt(None).unwrap();
        assert_eq!(*block.decrypt(Some(b"secret")).unwrap(), *want, "{name}");
        assert!(matches!(block.decrypt(Some(b"Secret")), Err(CoreError::DecryptionFailed)), "{name}");
        assert!(block.decrypt(None).unwrap_err().to_string().contains("no passphrase was given"), "{name}");
        let err = RsaPrivateKey::from_pem(&text, Some(b"secret")).unwrap_err().to_string();
        assert!(err.contains("\"EC PRIVATE KEY\" is not an RSA private key"), "{name}: {err}");
        encrypted += 1;
    }
    eprintln!("checked {encrypted} encrypted files against {twins} unencrypted twins in {}", dir.display());
    assert_eq!((encrypted, twins), (2, 2), "files in {}: {names:?}", dir.display());
}

/// asn1crypto's `test-aes128.key` (cms vectors; its passphrase is unknown, SOURCES.md): parsed, and refused
/// with the one answer for a wrong passphrase.
#[test]
fn asn1crypto_aes128_key_parses_and_refuses_a_wrong_passphrase() {
    let Some(vectors) = vectors("asn1crypto_aes128_key_parses_and_refuses_a_wrong_passphrase") else { return };
    let text = std::fs::read_to_string(vectors.join("cms/asn1crypto/keys/test-aes128.key")).unwrap();
    let block = TraditionalPem::parse(&text).unwrap();
    assert_eq!((block.label(), block.cipher()), ("RSA PRIVATE KEY", Some(CipherAlgorithm::Aes128)));
    for wrong in ["", "password", "test"] {
        assert!(matches!(RsaPrivateKey::from_pem(&text, Some(wrong.as_bytes())), Err(CoreError::DecryptionFailed)));
    }
    let err = RsaPrivateKey::from_pem(&text, None).unwrap_err().to_string();
    assert!(err.contains("no passphrase was given"), "{err}");
}

/// A key and its self-signed certificate made by openssl, the key in traditional form under `option`.
fn openssl_key_and_cert(ossl: &Path, dir: &Path, option: &str, pw: &Path) -> (PathBuf, PathBuf) {
    let key = dir.join(format!("key{option}.pem"));
    let passout = format!("file:{}", pw.display());
    run_ok(
        Command::new(ossl).args(["genrsa", "-traditional", option, "-passout", &passout, "-out"]).arg(&key).arg("2048"),
    );
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
    let cert = dir.join(format!("cert{option}.pem"));
    run_ok(
        Command::new(ossl)
            .args(["req", "-x509", "-new", "-key"])
            .arg(&key)
            .args(["-passin", &passout, "-subj", "/CN=Legacy Key/emailAddress=legacy@example.org", "-days", "2"])
            .args([
                "-addext",
                "basicConstraints=critical,CA:TRUE",
                "-addext",
                "keyUsage=critical,digitalSignature,keyCertSign",
            ])
            .arg("-out")
            .arg(&cert),
    );
    (key, cert)
}

/// The only line of a failed command's stderr, checked to be a `sealpost: error:` line.
fn one_line_error(out: &std::process::Output) -> String {
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(err.trim_end().lines().count(), 1, "not one line: {err:?}");
    assert!(err.starts_with("sealpost: error: "), "{err:?}");
    err
}

#[test]
fn smime_sign_with_a_traditional_key_verifies_in_openssl() {
    let Some(ossl) = peer("smime_sign_with_a_traditional_key_verifies_in_openssl", "openssl") else { return };
    let dir = scratch("legacy-pem-smime-sign");
    let pw = write_secret(&dir, "pw", format!("{PASS}\n").as_bytes());
    let wrong = write_secret(&dir, "wrong", b"not the passphrase\n");
    let input = dir.join("message.txt");
    std::fs::write(&input, "Signed with a key from 2005.\r\n").unwrap();
    for option in ["-aes256", "-des3"] {
        let (key, cert) = openssl_key_and_cert(&ossl, &dir, option, &pw);
        let sig = dir.join(format!("signed{option}.der"));
        run_ok(
            sealpost()
                .args(["smime", "sign", "--cert"])
                .arg(&cert)
                .arg("--key")
                .arg(&key)
                .arg("--passphrase-file")
                .arg(&pw)
                .arg("-o")
                .arg(&sig)
                .arg(&input),
        );
        let content = dir.join(format!("content{option}.txt"));
        run_ok(
            Command::new(&ossl)
                .args(["cms", "-verify", "-noverify", "-binary", "-inform", "DER", "-in"])
                .arg(&sig)
                .arg("-out")
                .arg(&content),
        );
        assert_eq!(std::fs::read(&content).unwrap(), std::fs::read(&input).unwrap(), "{option}");

        // A wrong passphrase: one line, exit 1 (a decryption failure, as for encrypted PKCS #8), no output.
        let bad_out = dir.join(format!("bad{option}.der"));
        let out = run(sealpost()
            .args(["smime", "sign", "--cert"])
            .arg(&cert)
            .arg("--key")
            .arg(&key)
            .arg("--passphrase-file")
            .arg(&wrong)
            .arg("-o")
            .arg(&bad_out)
            .arg(&input));
        let err = one_line_error(&out);
        assert_eq!(out.status.code(), Some(1), "{option}: {err}");
        assert!(err.contains("decryption failed") && err.contains(&key.display().to_string()), "{option}: {err}");
        assert!(!bad_out.exists(), "{option}: output written despite the error");

        // No passphrase at all: one line saying one is needed, exit 2.
        let out = run(sealpost().args(["smime", "sign", "--cert"]).arg(&cert).arg("--key").arg(&key).arg(&input));
        let err = one_line_error(&out);
        assert_eq!(out.status.code(), Some(2), "{option}: {err}");
        assert!(err.contains("no passphrase was given"), "{option}: {err}");
    }
}

#[test]
fn x509_issuer_key_in_traditional_form_issues_a_certificate() {
    let Some(ossl) = peer("x509_issuer_key_in_traditional_form_issues_a_certificate", "openssl") else { return };
    let dir = scratch("legacy-pem-x509-issuer");
    let pw = write_secret(&dir, "pw", format!("{PASS}\n").as_bytes());
    let (ca_key, ca_cert) = openssl_key_and_cert(&ossl, &dir, "-aes128", &pw);
    let prefix = dir.join("alice");
    run_ok(
        sealpost()
            .args(["key", "generate", "--type", "x509", "--uid", "Alice <alice@example.org>", "--algo", "rsa2048"])
            .arg("--issuer-cert")
            .arg(&ca_cert)
            .arg("--issuer-key")
            .arg(&ca_key)
            .arg("--issuer-passphrase-file")
            .arg(&pw)
            .arg("--output")
            .arg(&prefix),
    );
    let alice = dir.join("alice.cert");
    let out = run_ok(Command::new(&ossl).args(["verify", "-CAfile"]).arg(&ca_cert).arg(&alice));
    assert!(String::from_utf8_lossy(&out.stdout).contains(": OK"));

    // A wrong passphrase (exit 1) and none at all (exit 2): one line each, and nothing written.
    let wrong = write_secret(&dir, "wrong", b"not the passphrase\n");
    for (name, pass, code, want) in
        [("bob", Some(&wrong), 1, "decryption failed"), ("carol", None, 2, "no passphrase was given")]
    {
        let prefix = dir.join(name);
        let mut cmd = sealpost();
        cmd.args(["key", "generate", "--type", "x509", "--uid", "Bob <bob@example.org>", "--algo", "rsa2048"])
            .arg("--issuer-cert")
            .arg(&ca_cert)
            .arg("--issuer-key")
            .arg(&ca_key)
            .arg("--output")
            .arg(&prefix);
        if let Some(pass) = pass {
            cmd.arg("--issuer-passphrase-file").arg(pass);
        }
        let out = run(&mut cmd);
        let err = one_line_error(&out);
        assert_eq!(out.status.code(), Some(code), "{name}: {err}");
        assert!(err.contains(want) && err.contains(&ca_key.display().to_string()), "{name}: {err}");
        assert!(!dir.join(format!("{name}.key")).exists() && !dir.join(format!("{name}.cert")).exists());
    }
}
