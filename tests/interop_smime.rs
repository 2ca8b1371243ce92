//! S/MIME interop with `openssl cms`, both directions, on a fresh PKI made by openssl (root CA, intermediate,
//! two users with emailProtection) and random content of several sizes: they sign, we verify (attached,
//! detached, several signers, SHA-1, RSA-PSS); we sign, they verify; they encrypt with every cipher (and
//! RSA-OAEP, two recipients, AES-GCM), we decrypt; we encrypt, they decrypt. Tampered messages fail on both
//! sides and release nothing.

#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use common::pki::Pki;
use common::{peer, pseudo_random, run, run_ok, scratch};

fn sealpost() -> Command {
    Command::new(env!("CARGO_BIN_EXE_sealpost"))
}

fn openssl_or_skip(test: &str) -> Option<PathBuf> {
    peer(test, "openssl")
}

fn pki(openssl: &Path) -> &'static Pki {
    static PKI: OnceLock<Pki> = OnceLock::new();
    PKI.get_or_init(|| Pki::make(openssl, "interop-smime-pki", 3072))
}

/// Content of several sizes: empty, short text, and random data of 3 MiB.
fn contents(dir: &Path) -> Vec<(String, PathBuf)> {
    let mut out = Vec::new();
    for (label, data) in [
        ("empty", Vec::new()),
        ("text", b"Dear Bob,\r\nthe meeting is at noon.\r\n-- Alice\r\n".to_vec()),
        ("3mib", pseudo_random(3 << 20, 7)),
    ] {
        let p = dir.join(format!("{label}.in"));
        std::fs::write(&p, &data).unwrap();
        out.push((label.to_string(), p));
    }
    out
}

fn same(a: &Path, b: &Path, what: &str) {
    let x = std::fs::read(a).unwrap();
    let y = std::fs::read(b).unwrap();
    assert!(x == y, "{what}: {} bytes vs {} bytes, contents differ", x.len(), y.len());
}

#[test]
fn we_encrypt_openssl_decrypts() {
    const TEST: &str = "we_encrypt_openssl_decrypts";
    let Some(openssl) = openssl_or_skip(TEST) else { return };
    let p = pki(&openssl);
    let dir = scratch(TEST);
    for (label, input) in contents(&dir) {
        for cipher in ["aes256", "aes192", "aes128", "aes256-gcm", "aes128-gcm", "3des", "des"] {
            for oaep in [false, true] {
                let msg = dir.join(format!("{label}-{cipher}-{oaep}.p7m"));
                let mut cmd = sealpost();
                cmd.args(["smime", "encrypt", "--recipient"]).arg(&p.alice.0).arg("--recipient").arg(&p.bob.0);
                cmd.args(["--cipher", cipher]);
                if cipher == "des" {
                    cmd.arg("--allow-broken");
                }
                if oaep {
                    cmd.arg("--oaep");
                }
                run_ok(cmd.arg("-o").arg(&msg).arg(&input));
                for (who, (cert, key)) in [("alice", &p.alice), ("bob", &p.bob)] {
                    let out = dir.join(format!("{label}-{cipher}-{oaep}-{who}.out"));
                    run_ok(
                        Command::new(&openssl)
                            .args(["cms", "-decrypt", "-binary", "-provider", "legacy", "-provider", "default"])
                            .args(["-inform", "DER", "-in"])
                            .arg(&msg)
                            .arg("-recip")
                            .arg(cert)
                            .arg("-inkey")
                            .arg(key)
                            .arg("-out")
                            .arg(&out),
                    );
                    same(&out, &input, &format!("{label} {cipher} oaep={oaep} for {who}"));
                }
            }
        }
    }
}

#[test]
fn openssl_encrypts_we_decrypt() {
    const TEST: &str = "openssl_encrypts_we_decrypt";
    let Some(openssl) = openssl_or_skip(TEST) else { return };
    let p = pki(&openssl);
    let dir = scratch(TEST);
    for (label, input) in contents(&dir) {
        for (cipher, want) in [
            ("-aes256", "aes256-cbc"),
            ("-aes192", "aes192-cbc"),
            ("-aes128", "aes128-cbc"),
            ("-des3", "3des-cbc"),
            ("-des", "des-cbc"),
            ("-aes-256-gcm", "aes256-gcm"),
            ("-aes-128-gcm", "aes128-gcm"),
        ] {
            for (form, oaep) in [("DER", false), ("PEM", false), ("DER", true)] {
                let msg = dir.join(format!("{label}{cipher}-{oaep}.{form}"));
                let mut cmd = Command::new(&openssl);
                cmd.args(["cms", "-encrypt", "-binary", cipher, "-outform", form]);
                // OpenSSL 3.0 fails to stream AES-GCM over empty content ("Error writing CMS output");
                // streaming (BER output) is exercised by every other case.
                if !(label == "empty" && cipher.ends_with("gcm")) {
                    cmd.arg("-stream");
                }
                // DES lives in OpenSSL 3's legacy provider.
                cmd.args(["-provider", "legacy", "-provider", "default", "-in"]).arg(&input);
                cmd.arg("-out").arg(&msg).arg("-recip").arg(&p.alice.0).arg("-recip").arg(&p.bob.0);
                // -keyopt applies to the -recip before it: Bob's key is wrapped with OAEP.
                if oaep {
                    cmd.args(["-keyopt", "rsa_padding_mode:oaep", "-keyopt", "rsa_oaep_md:sha256"]);
                }
                run_ok(&mut cmd);
                let out = dir.join(format!("{label}{cipher}-{oaep}-{form}.out"));
                let json = dir.join(format!("{label}{cipher}-{oaep}-{form}.json"));
                run_ok(
                    sealpost()
                        .args(["smime", "decrypt", "--cert"])
                        .arg(&p.bob.0)
                        .arg("--key")
                        .arg(&p.bob.1)
                        .arg("--verdict-json")
                        .arg(&json)
                        .arg("-o")
                        .arg(&out)
                        .arg(&msg),
                );
                same(&out, &input, &format!("{label} {cipher} {form} oaep={oaep}"));
                let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
                assert_eq!(v["algorithms"]["cipher"], want, "{label} {cipher}: {v}");
                let integrity = if want.ends_with("gcm") { "aead" } else { "none" };
                assert_eq!(v["integrity"], integrity, "{label} {cipher}: {v}");
                assert_eq!(v["algorithms"]["key_transport"], if oaep { "rsa-oaep" } else { "rsa" });
            }
        }
    }
}

#[test]
fn we_sign_openssl_verifies() {
    const TEST: &str = "we_sign_openssl_verifies";
    let Some(openssl) = openssl_or_skip(TEST) else { return };
    let p = pki(&openssl);
    let dir = scratch(TEST);
    for (label, input) in contents(&dir) {
        for (variant, extra) in [("plain", vec![]), ("sha512", vec!["--digest", "sha512"]), ("pss", vec!["--pss"])] {
            for detached in [false, true] {
                let msg = dir.join(format!("{label}-{variant}-{detached}.p7s"));
                let mut cmd = sealpost();
                cmd.args(["smime", "sign", "--cert"]).arg(&p.alice.0).arg("--key").arg(&p.alice.1);
                cmd.arg("--cert").arg(&p.bob.0).arg("--key").arg(&p.bob.1);
                cmd.arg("--include").arg(&p.inter).args(&extra);
                if detached {
                    cmd.arg("--detached");
                }
                run_ok(cmd.arg("-o").arg(&msg).arg(&input));
                let out = dir.join(format!("{label}-{variant}-{detached}.out"));
                let mut v = Command::new(&openssl);
                v.args(["cms", "-verify", "-binary", "-inform", "DER", "-in"]).arg(&msg).arg("-CAfile").arg(&p.root);
                v.args(["-purpose", "smimesign"]);
                if detached {
                    v.arg("-content").arg(&input);
                }
                let o = run(v.arg("-out").arg(&out));
                assert!(o.status.success(), "{label} {variant} detached={detached}: openssl cms -verify failed");
                assert!(String::from_utf8_lossy(&o.stderr).contains("Verification successful"));
                same(&out, &input, &format!("{label} {variant} detached={detached}"));
            }
        }
    }
}

/// SHA-1 and MD5 are verify-only: signing with them is a policy refusal (exit 1), nothing written.
#[test]
fn legacy_digests_are_refused_for_signing() {
    const TEST: &str = "legacy_digests_are_refused_for_signing";
    let Some(openssl) = openssl_or_skip(TEST) else { return };
    let p = pki(&openssl);
    let dir = scratch(TEST);
    let input = dir.join("in");
    std::fs::write(&input, b"x").unwrap();
    for digest in ["sha1", "md5"] {
        let out = dir.join(digest);
        let o = run(sealpost()
            .args(["smime", "sign", "--cert"])
            .arg(&p.alice.0)
            .arg("--key")
            .arg(&p.alice.1)
            .args(["--digest", digest, "-o"])
            .arg(&out)
            .arg(&input));
        assert_eq!(o.status.code(), Some(1), "{digest}");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains("verification only") && err.lines().count() == 1, "{digest}: {err}");
        assert!(!out.exists());
    }
}

#[test]
fn openssl_signs_we_verify() {
    const TEST: &str = "openssl_signs_we_verify";
    let Some(openssl) = openssl_or_skip(TEST) else { return };
    let p = pki(&openssl);
    let dir = scratch(TEST);
    for (label, input) in contents(&dir) {
        for (variant, md, pss, two) in [
            ("sha256", "sha256", false, false),
            ("sha384-two", "sha384", false, true),
            ("sha1", "sha1", false, false),
            ("md5", "md5", false, false),
            ("pss", "sha256", true, false),
        ] {
            for detached in [false, true] {
                let msg = dir.join(format!("{label}-{variant}-{detached}.p7s"));
                let mut cmd = Command::new(&openssl);
                cmd.args(["cms", "-sign", "-binary", "-outform", "DER", "-md", md, "-in"]).arg(&input);
                cmd.arg("-signer").arg(&p.alice.0).arg("-inkey").arg(&p.alice.1);
                if pss {
                    cmd.args(["-keyopt", "rsa_padding_mode:pss", "-keyopt", "rsa_pss_saltlen:digest"]);
                }
                if two {
                    cmd.arg("-signer").arg(&p.bob.0).arg("-inkey").arg(&p.bob.1);
                }
                cmd.arg("-certfile").arg(&p.inter);
                if !detached {
                    cmd.arg("-nodetach");
                }
                run_ok(cmd.arg("-out").arg(&msg));
                let out = dir.join(format!("{label}-{variant}-{detached}.out"));
                let json = dir.join(format!("{label}-{variant}-{detached}.json"));
                let mut v = sealpost();
                v.args(["smime", "verify", "--ca"]).arg(&p.root).arg("--verdict-json").arg(&json);
                if detached {
                    v.arg("--signature").arg(&msg).arg(&input);
                } else {
                    v.arg("-o").arg(&out).arg(&msg);
                }
                let o = run(&mut v);
                let verdict: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
                let signers = verdict["signers"].as_array().unwrap();
                assert_eq!(signers.len(), if two { 2 } else { 1 }, "{label} {variant}: {verdict}");
                for s in signers {
                    assert_eq!(s["status"], "good", "{label} {variant} detached={detached}: {verdict}");
                }
                let emails: Vec<&str> = signers.iter().filter_map(|s| s["email"].as_str()).collect();
                assert!(emails.contains(&"alice@example.org"), "the signer's address is reported: {verdict}");
                if md == "sha1" || md == "md5" {
                    assert_eq!(verdict["status"], "pass-weak", "{verdict}");
                    assert!(o.status.success(), "pass-weak exits 0");
                } else {
                    assert_eq!(verdict["status"], "pass", "{label} {variant}: {verdict}");
                    assert!(o.status.success());
                }
                if !detached {
                    same(&out, &input, &format!("{label} {variant}"));
                }
            }
        }
    }
}

#[test]
fn tampered_messages_fail_and_release_nothing() {
    const TEST: &str = "tampered_messages_fail_and_release_nothing";
    let Some(openssl) = openssl_or_skip(TEST) else { return };
    let p = pki(&openssl);
    let dir = scratch(TEST);
    let input = dir.join("in");
    std::fs::write(&input, pseudo_random(200_000, 3)).unwrap();
    // Signed, attached: flip a content byte.
    let signed = dir.join("signed.p7m");
    run_ok(
        sealpost()
            .args(["smime", "sign", "--cert"])
            .arg(&p.alice.0)
            .arg("--key")
            .arg(&p.alice.1)
            .arg("-o")
            .arg(&signed)
            .arg(&input),
    );
    let mut bytes = std::fs::read(&signed).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 1;
    let bad = dir.join("signed-bad.p7m");
    std::fs::write(&bad, &bytes).unwrap();
    let out = dir.join("signed-bad.out");
    let o = run(sealpost().args(["smime", "verify", "--ca"]).arg(&p.root).arg("-o").arg(&out).arg(&bad));
    assert_eq!(o.status.code(), Some(1), "a modified signed message is a verdict failure");
    assert!(!out.exists(), "nothing released");
    // A signer whose chain does not reach the CA given (Bob's certificate is no CA of Alice's).
    let o = run(sealpost().args(["smime", "verify", "--ca"]).arg(&p.bob.0).arg("-o").arg(&out).arg(&signed));
    assert_eq!(o.status.code(), Some(1), "untrusted chain");
    assert!(!out.exists());
    // Encrypted with GCM: flip a ciphertext byte; CBC: flip a byte of the last block (padding).
    for cipher in ["aes256-gcm", "aes256"] {
        let msg = dir.join(format!("{cipher}.p7m"));
        run_ok(
            sealpost()
                .args(["smime", "encrypt", "--recipient"])
                .arg(&p.bob.0)
                .args(["--cipher", cipher, "-o"])
                .arg(&msg)
                .arg(&input),
        );
        let mut bytes = std::fs::read(&msg).unwrap();
        let at = bytes.len() / 2;
        bytes[at] ^= 0x40;
        std::fs::write(&msg, &bytes).unwrap();
        let out = dir.join(format!("{cipher}.out"));
        let o = run(sealpost()
            .args(["smime", "decrypt", "--cert"])
            .arg(&p.bob.0)
            .arg("--key")
            .arg(&p.bob.1)
            .arg("-o")
            .arg(&out)
            .arg(&msg));
        if cipher.ends_with("gcm") {
            assert_eq!(o.status.code(), Some(1), "{cipher}: a modified GCM message fails its tag");
            assert!(!out.exists(), "{cipher}: nothing released");
        } else {
            // CBC has no integrity: a flipped byte in the middle decrypts to damaged plaintext, which the
            // verdict marks unauthenticated. It must not be the original.
            assert!(o.status.success(), "{cipher}: CBC cannot notice");
            let got = std::fs::read(&out).unwrap();
            assert_ne!(got, std::fs::read(&input).unwrap());
        }
    }
    // Not a recipient.
    let msg = dir.join("for-bob.p7m");
    run_ok(sealpost().args(["smime", "encrypt", "--recipient"]).arg(&p.bob.0).arg("-o").arg(&msg).arg(&input));
    let o = run(sealpost()
        .args(["smime", "decrypt", "--cert"])
        .arg(&p.alice.0)
        .arg("--key")
        .arg(&p.alice.1)
        .arg("-o")
        .arg(&out)
        .arg(&msg));
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("not encrypted to this certificate"));
    let _ = &p.dir;
}

/// A fresh gpgsm home that knows the PKI: certificates imported, the root trusted, no CRL checks (there is
/// no CRL distribution point to ask).
fn gpgsm_home(gpgsm: &Path, openssl: &Path, dir: &Path) -> PathBuf {
    let p = pki(openssl);
    let home = dir.join("gnupg");
    std::fs::create_dir_all(&home).unwrap();
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&home, std::fs::Permissions::from_mode(0o700)).unwrap();
    }
    run_ok(
        Command::new(gpgsm)
            .env("GNUPGHOME", &home)
            .args(["--batch", "--import"])
            .arg(&p.root)
            .arg(&p.inter)
            .arg(&p.bob.0),
    );
    let out = run_ok(Command::new(gpgsm).env("GNUPGHOME", &home).args([
        "--with-colons",
        "--list-keys",
        "Sealpost Test Root",
    ]));
    let listing = String::from_utf8_lossy(&out.stdout);
    let fpr = listing
        .lines()
        .find_map(|l| l.starts_with("fpr:").then(|| l.split(':').nth(9).unwrap_or_default().to_string()))
        .expect("gpgsm lists the root's fingerprint");
    std::fs::write(home.join("trustlist.txt"), format!("{fpr} S relax\n")).unwrap();
    std::fs::write(home.join("gpgsm.conf"), "disable-crl-checks\n").unwrap();
    home
}

#[test]
fn gpgsm_encrypts_we_decrypt() {
    const TEST: &str = "gpgsm_encrypts_we_decrypt";
    let Some(openssl) = openssl_or_skip(TEST) else { return };
    let Some(gpgsm) = peer(TEST, "gpgsm") else { return };
    let p = pki(&openssl);
    let dir = scratch(TEST);
    let home = gpgsm_home(&gpgsm, &openssl, &dir);
    for (label, input) in contents(&dir) {
        for (cipher, want) in
            [("AES256", "aes256-cbc"), ("AES192", "aes192-cbc"), ("AES128", "aes128-cbc"), ("3DES", "3des-cbc")]
        {
            for armor in [false, true] {
                let msg = dir.join(format!("{label}-{cipher}-{armor}.p7m"));
                let mut cmd = Command::new(&gpgsm);
                cmd.env("GNUPGHOME", &home).args([
                    "--batch",
                    "--yes",
                    "--cipher-algo",
                    cipher,
                    "-r",
                    "bob@example.org",
                ]);
                if armor {
                    cmd.arg("--armor");
                }
                run_ok(cmd.arg("-o").arg(&msg).arg("-e").arg(&input));
                let out = dir.join(format!("{label}-{cipher}-{armor}.out"));
                let json = dir.join(format!("{label}-{cipher}-{armor}.json"));
                run_ok(
                    sealpost()
                        .args(["smime", "decrypt", "--cert"])
                        .arg(&p.bob.0)
                        .arg("--key")
                        .arg(&p.bob.1)
                        .arg("--verdict-json")
                        .arg(&json)
                        .arg("-o")
                        .arg(&out)
                        .arg(&msg),
                );
                same(&out, &input, &format!("gpgsm {label} {cipher} armor={armor}"));
                let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
                assert_eq!(v["algorithms"]["cipher"], want, "{v}");
            }
        }
    }
}
