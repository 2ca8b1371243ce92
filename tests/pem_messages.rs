//! RFC 1421 messages through the CLI: the RFC's own MIC-ONLY example verifies against its Originator-Certificate
//! (a 1991 certificate with the X.500 RSA OID and an MD2 signature, a 512-bit key: pass-weak); messages we sign
//! (MIC-CLEAR and MIC-ONLY, with a certificate or Originator-Key-Asymmetric) verify, and their MIC is checked
//! without sealpost (`openssl pkeyutl -verifyrecover` gives the PKCS #1 DigestInfo holding MD5 of the
//! canonical text); tampering is caught with exit 1; the RFC's ENCRYPTED examples say which keys they need.

#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;
use std::process::Command;

use common::{peer, run, run_ok, scratch, vectors};

fn sealpost() -> Command {
    Command::new(env!("CARGO_BIN_EXE_sealpost"))
}

fn verdict(path: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

#[test]
fn rfc1421_mic_only_example_verifies() {
    const TEST: &str = "rfc1421_mic_only_example_verifies";
    let Some(vec_dir) = vectors(TEST) else { return };
    let dir = scratch(TEST);
    let msg = vec_dir.join("pem/rfc1421/rfc1421-asymmetric-mic-only.pem");
    let (out, json) = (dir.join("out"), dir.join("v.json"));
    let o = run_ok(sealpost().args(["pem", "verify", "--verdict-json"]).arg(&json).arg("-o").arg(&out).arg(&msg));
    assert!(String::from_utf8_lossy(&o.stderr).contains("pass-weak"));
    assert_eq!(
        std::fs::read(&out).unwrap(),
        b"- A message for use in testing.\n- Following is a blank line:\n\nThis is the end.\n"
    );
    let v = verdict(&json);
    assert_eq!(v["format"], "pem");
    assert_eq!(v["status"], "pass-weak", "{v}");
    assert_eq!(v["signers"][0]["status"], "good");
    assert_eq!(v["signers"][0]["hash"], "md5");
    assert_eq!(v["signers"][0]["key_bits"], 512);
    let weak: Vec<&str> = v["signers"][0]["weak"].as_array().unwrap().iter().map(|w| w.as_str().unwrap()).collect();
    assert!(weak.contains(&"md5") && weak.contains(&"rsa-512"), "{v}");
    assert!(v["notes"].to_string().contains("taken from the message"), "{v}");
    // One flipped character of the text: the MIC no longer matches.
    let text = std::fs::read_to_string(&msg).unwrap().replace("LSBBIG1lc3Nh", "LSBBIG1lc3Ni");
    let bad = dir.join("bad.pem");
    std::fs::write(&bad, text).unwrap();
    let o = run(sealpost().args(["pem", "verify", "-o"]).arg(dir.join("bad.out")).arg(&bad));
    assert_eq!(o.status.code(), Some(1));
    assert!(!dir.join("bad.out").exists());
    // The ENCRYPTED examples parse and say what is missing.
    for f in ["rfc1421-asymmetric-encrypted.pem", "rfc1421-symmetric-encrypted.pem"] {
        let o = run(sealpost().args(["pem", "verify"]).arg(vec_dir.join("pem/rfc1421").join(f)));
        assert_eq!(o.status.code(), Some(2), "{f}");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains("ENCRYPTED") && err.lines().count() == 1, "{f}: {err}");
    }
    // Decrypting them says what they need: the asymmetric one names its recipients, the symmetric one the
    // shared interchange keys (no keys were ever published for either).
    run_ok(
        sealpost()
            .args([
                "key",
                "generate",
                "--type",
                "x509",
                "--uid",
                "Someone <s@example.org>",
                "--algo",
                "rsa2048",
                "--output",
            ])
            .arg(dir.join("someone")),
    );
    let decrypt = |f: &str| {
        run(sealpost()
            .args(["pem", "decrypt", "--key"])
            .arg(dir.join("someone.key"))
            .arg("--cert")
            .arg(dir.join("someone.cert"))
            .arg(vec_dir.join("pem/rfc1421").join(f)))
    };
    let o = decrypt("rfc1421-asymmetric-encrypted.pem");
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("OU=NOTARY") && err.contains("serial 66") && err.contains("Test User 1"), "{err}");
    let o = decrypt("rfc1421-symmetric-encrypted.pem");
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("interchange key shared with linn@zendia.enet.dec.com,ptf-kmc,3"), "{err}");
    // With an interchange key that is not theirs: both Key-Infos are tried and named.
    let ik = dir.join("guess.ik");
    std::fs::write(&ik, "0123456789ABCDEF\n").unwrap();
    std::fs::set_permissions(&ik, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    let o = run(sealpost()
        .args(["pem", "decrypt", "--interchange-key"])
        .arg(&ik)
        .arg(vec_dir.join("pem/rfc1421/rfc1421-symmetric-encrypted.pem")));
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("pem-dev@tis.com,ptf-kmc,4 (DES-ECB)") && err.lines().count() == 1, "{err}");
}

#[test]
fn we_sign_and_openssl_checks_the_mic() {
    const TEST: &str = "we_sign_and_openssl_checks_the_mic";
    let Some(openssl) = peer(TEST, "openssl") else { return };
    let dir = scratch(TEST);
    run_ok(
        sealpost()
            .args(["key", "generate", "--type", "x509", "--uid", "Alice <alice@example.org>", "--algo", "rsa2048"])
            .arg("--output")
            .arg(dir.join("alice")),
    );
    let (key, cert) = (dir.join("alice.key"), dir.join("alice.cert"));
    let text = "Dear Bob,\n-- a line with dashes\n\n-----BEGIN PRIVACY-ENHANCED MESSAGE-----\nnot a boundary\nEnd.\n";
    let input = dir.join("letter.txt");
    std::fs::write(&input, text).unwrap();
    let canonical = dir.join("canonical");
    std::fs::write(&canonical, text.replace('\n', "\r\n")).unwrap();
    let pubkey = dir.join("alice.pub");
    run_ok(Command::new(&openssl).args(["x509", "-noout", "-pubkey", "-in"]).arg(&cert).arg("-out").arg(&pubkey));
    let md5 = run_ok(Command::new(&openssl).args(["dgst", "-md5", "-binary"]).arg(&canonical)).stdout;
    for (mode, with_cert) in [("mic-clear", true), ("mic-only", true), ("mic-clear", false), ("mic-only", false)] {
        let msg = dir.join(format!("{mode}-{with_cert}.pem"));
        let mut cmd = sealpost();
        cmd.args(["pem", "sign", "--mode", mode, "--key"]).arg(&key);
        if with_cert {
            cmd.arg("--cert").arg(&cert);
        }
        run_ok(cmd.arg("-o").arg(&msg).arg(&input));
        let body = std::fs::read_to_string(&msg).unwrap();
        assert!(body.contains(&format!("Proc-Type: 4,{}", mode.to_uppercase())));
        assert!(body.lines().all(|l| l.len() <= 76), "line lengths");
        if mode == "mic-clear" {
            assert!(body.contains("\n- -- a line with dashes\n"), "dash-stuffed: {body}");
            assert!(body.contains("\n- -----BEGIN PRIVACY-ENHANCED MESSAGE-----\n"), "{body}");
        }
        // Our own verification, with the certificate given (no note) or the key from the message.
        let (out, json) = (dir.join(format!("{mode}-{with_cert}.out")), dir.join(format!("{mode}-{with_cert}.json")));
        let mut v = sealpost();
        v.args(["pem", "verify", "--verdict-json"]).arg(&json);
        if with_cert {
            v.arg("--cert").arg(&cert);
        }
        run_ok(v.arg("-o").arg(&out).arg(&msg));
        assert_eq!(std::fs::read_to_string(&out).unwrap(), text);
        let verdict = verdict(&json);
        assert_eq!(verdict["status"], "pass-weak", "{verdict}");
        assert_eq!(verdict["notes"].is_null(), with_cert, "{verdict}");
        // Without sealpost: the MIC is an RSA signature whose recovered block is DigestInfo(MD5, md5).
        let mic_b64: String = body
            .split("MIC-Info: RSA-MD5,RSA,")
            .nth(1)
            .unwrap()
            .lines()
            .skip(1)
            .take_while(|l| l.starts_with(' '))
            .map(str::trim)
            .collect();
        let sig = dir.join(format!("{mode}-{with_cert}.sig"));
        std::fs::write(&sig, decode(&mic_b64)).unwrap();
        let recovered = run_ok(
            Command::new(&openssl)
                .args(["pkeyutl", "-verifyrecover", "-pubin", "-inkey"])
                .arg(&pubkey)
                .arg("-in")
                .arg(&sig),
        )
        .stdout;
        let mut want = vec![
            0x30, 0x20, 0x30, 0x0c, 0x06, 0x08, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x02, 0x05, 0x05, 0x00, 0x04, 0x10,
        ];
        want.extend_from_slice(&md5);
        assert_eq!(recovered, want, "{mode}: DigestInfo(MD5) of the canonical text");
    }
}

fn decode(b64: &str) -> Vec<u8> {
    let out = Command::new("python3")
        .args(["-c", "import base64,sys; sys.stdout.buffer.write(base64.b64decode(sys.argv[1]))", b64])
        .output()
        .unwrap();
    assert!(out.status.success());
    out.stdout
}

/// The printable-encoded value of a folded field: the lines after `header` that start with a space.
fn folded_after(msg: &str, header: &str) -> String {
    msg.split(header).nth(1).unwrap().lines().skip(1).take_while(|l| l.starts_with(' ')).map(str::trim).collect()
}

#[test]
fn we_encrypt_and_openssl_decrypts_dek_text_and_mic() {
    const TEST: &str = "we_encrypt_and_openssl_decrypts_dek_text_and_mic";
    let Some(openssl) = peer(TEST, "openssl") else { return };
    let dir = scratch(TEST);
    for who in ["alice", "bob"] {
        run_ok(
            sealpost()
                .args(["key", "generate", "--type", "x509", "--uid", &format!("{who} <{who}@example.org>")])
                .args(["--algo", "rsa2048", "--output"])
                .arg(dir.join(who)),
        );
    }
    let text = "Dear Bob,\n- dashes\n\nthe key is under the mat.\n";
    let input = dir.join("letter.txt");
    std::fs::write(&input, text).unwrap();
    let canonical = text.replace('\n', "\r\n");
    let alice_pub = dir.join("alice.pub");
    run_ok(
        Command::new(&openssl)
            .args(["x509", "-noout", "-pubkey", "-in"])
            .arg(dir.join("alice.cert"))
            .arg("-out")
            .arg(&alice_pub),
    );
    let md5 = {
        let c = dir.join("canonical");
        std::fs::write(&c, &canonical).unwrap();
        run_ok(Command::new(&openssl).args(["dgst", "-md5", "-binary"]).arg(&c)).stdout
    };
    for (cipher, enc) in [("des-ede3-cbc", "-des-ede3-cbc"), ("des-cbc", "-des-cbc")] {
        let msg_path = dir.join(format!("{cipher}.pem"));
        run_ok(
            sealpost()
                .args(["pem", "encrypt", "--cipher", cipher, "--key"])
                .arg(dir.join("alice.key"))
                .arg("--cert")
                .arg(dir.join("alice.cert"))
                .arg("--recipient")
                .arg(dir.join("bob.cert"))
                .arg("-o")
                .arg(&msg_path)
                .arg(&input),
        );
        let msg = std::fs::read_to_string(&msg_path).unwrap();
        assert!(
            msg.contains("Proc-Type: 4,ENCRYPTED") && msg.contains(&format!("DEK-Info: {},", cipher.to_uppercase()))
        );
        // Bob's DEK, with openssl.
        let bob_part = msg.split("Recipient-ID-Asymmetric:").nth(1).unwrap();
        let wrapped = dir.join(format!("{cipher}.dek.enc"));
        std::fs::write(&wrapped, decode(&folded_after(bob_part, "Key-Info: RSA,"))).unwrap();
        let dek = run_ok(
            Command::new(&openssl)
                .args(["pkeyutl", "-decrypt", "-inkey"])
                .arg(dir.join("bob.key"))
                .arg("-in")
                .arg(&wrapped),
        )
        .stdout;
        let dek_hex: String = dek.iter().map(|b| format!("{b:02x}")).collect();
        let iv = msg.split("DEK-Info: ").nth(1).unwrap().lines().next().unwrap().split(',').nth(1).unwrap().to_string();
        let body_b64: String =
            msg.split("\n\n").nth(1).unwrap().lines().take_while(|l| !l.starts_with("-----END")).collect();
        let body = dir.join(format!("{cipher}.body"));
        std::fs::write(&body, decode(&body_b64)).unwrap();
        let dec = |input: &Path| {
            run_ok(
                Command::new(&openssl)
                    .args([
                        "enc",
                        "-d",
                        enc,
                        "-provider",
                        "legacy",
                        "-provider",
                        "default",
                        "-K",
                        &dek_hex,
                        "-iv",
                        &iv,
                        "-in",
                    ])
                    .arg(input),
            )
            .stdout
        };
        assert_eq!(dec(&body), canonical.as_bytes(), "{cipher}: the text, decrypted by openssl");
        let mic = dir.join(format!("{cipher}.mic"));
        std::fs::write(&mic, decode(&folded_after(&msg, "MIC-Info: RSA-MD5,RSA,"))).unwrap();
        let sig = dir.join(format!("{cipher}.sig"));
        std::fs::write(&sig, dec(&mic)).unwrap();
        let recovered = run_ok(
            Command::new(&openssl)
                .args(["pkeyutl", "-verifyrecover", "-pubin", "-inkey"])
                .arg(&alice_pub)
                .arg("-in")
                .arg(&sig),
        )
        .stdout;
        assert_eq!(&recovered[recovered.len() - 16..], &md5[..], "{cipher}: the MIC is RSA-MD5 of the canonical text");
        // And sealpost reads it back, for Bob and for Alice (the originator's own Key-Info).
        for who in ["bob", "alice"] {
            let (out, json) = (dir.join(format!("{cipher}-{who}.out")), dir.join(format!("{cipher}-{who}.json")));
            run_ok(
                sealpost()
                    .args(["pem", "decrypt", "--key"])
                    .arg(dir.join(format!("{who}.key")))
                    .arg("--cert")
                    .arg(dir.join(format!("{who}.cert")))
                    .arg("--verdict-json")
                    .arg(&json)
                    .arg("-o")
                    .arg(&out)
                    .arg(&msg_path),
            );
            assert_eq!(std::fs::read_to_string(&out).unwrap(), text);
            let v = verdict(&json);
            assert!(v["encrypted"].as_bool().unwrap());
            assert_eq!(v["signers"][0]["status"], "good", "{v}");
        }
        // A changed body byte: the MIC fails (or the padding does), nothing is written.
        let mut bad = msg.clone().into_bytes();
        let at = msg.find("\n\n").unwrap() + 5;
        bad[at] = if bad[at] == b'A' { b'B' } else { b'A' };
        let bad_path = dir.join(format!("{cipher}-bad.pem"));
        std::fs::write(&bad_path, bad).unwrap();
        let out = dir.join(format!("{cipher}-bad.out"));
        let o = run(sealpost()
            .args(["pem", "decrypt", "--key"])
            .arg(dir.join("bob.key"))
            .arg("--cert")
            .arg(dir.join("bob.cert"))
            .arg("-o")
            .arg(&out)
            .arg(&bad_path));
        assert_eq!(o.status.code(), Some(1), "{cipher}");
        assert!(!out.exists());
    }
}
