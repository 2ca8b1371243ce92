//! Broken and hostile whole messages through `sealpost mail verify` and `mail decrypt`: every truncation at
//! a line boundary and single-byte changes all over PGP/MIME and S/MIME signed and encrypted messages,
//! deep nesting, many parts, headers without bodies. Each run ends within 20 s with exit 0 or 1 and the
//! message written behind our header (a verdict, never silence), or exit 2 with one `sealpost: error:`
//! line; never a panic; and decrypted text never appears unless the verdict says the message was decrypted.

#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::sandboxed::{self, Run};
use common::{run_ok, scratch};

const TIMEOUT: Duration = Duration::from_secs(20);
const SECRET: &str = "the vault code is 4711";

fn sealpost() -> Command {
    Command::new(env!("CARGO_BIN_EXE_sealpost"))
}

/// `encrypted`: the input was encrypted, so its text may appear only with a decryption verdict.
fn judge(r: &Run, label: &str, encrypted: bool) -> Option<String> {
    let err = &r.stderr;
    if err.contains("internal error") || err.contains("panicked") {
        return Some(format!("{label}: a panic: {err}"));
    }
    match r.code {
        None => Some(format!("{label}: killed or timed out")),
        Some(0 | 1) => {
            let out = r.output.as_deref().map(String::from_utf8_lossy).unwrap_or_default();
            if !out.starts_with("Sealpost-Verification: mx.test;") {
                return Some(format!(
                    "{label}: exit {:?} without our header first: {}",
                    r.code,
                    &out[..out.len().min(200)]
                ));
            }
            let header = &out[..out.find("\r\n\r\n").unwrap_or(out.len())];
            let decrypted = header.contains("encrypted=yes");
            (encrypted && out.contains(SECRET) && !decrypted)
                .then(|| format!("{label}: plaintext without a decryption verdict"))
        }
        Some(2) => {
            let lines: Vec<&str> = err.lines().filter(|l| l.starts_with("sealpost: error:")).collect();
            (lines.len() != 1).then(|| format!("{label}: exit 2 without one error line: {err}"))
        }
        Some(c) => Some(format!("{label}: exit {c}: {err}")),
    }
}

fn mutations(msg: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    // Every truncation at a line boundary.
    for (i, _) in msg.match_indices('\n') {
        out.push((format!("cut at {i}"), msg[..i].to_string()));
    }
    // A changed byte every 97 bytes (ASCII stays ASCII).
    let bytes = msg.as_bytes();
    for i in (0..bytes.len()).step_by(97) {
        let mut b = bytes.to_vec();
        b[i] = match b[i] {
            b'\r' | b'\n' => b'X',
            b'A' => b'B',
            _ => b'A',
        };
        out.push((format!("byte {i}"), String::from_utf8_lossy(&b).into_owned()));
    }
    out
}

fn run_case(dir: &Path, args: &[&str], text: &str) -> Run {
    std::fs::write(dir.join("case.eml"), text).unwrap();
    let out = dir.join("case.out");
    let _ = std::fs::remove_file(&out);
    let mut all: Vec<&str> = args.to_vec();
    all.extend(["--authserv-id", "mx.test", "-o", "case.out", "case.eml"]);
    sandboxed::sealpost(dir, &all, Some(&out), None, TIMEOUT)
}

#[test]
fn truncations_and_changed_bytes_never_panic_or_leak() {
    let dir = scratch("mail-bad-mutations");
    let p = |n: &str| dir.join(n);
    run_ok(
        sealpost()
            .args(["key", "generate", "--type", "pgp", "--uid", "Alice <alice@example.org>", "--output"])
            .arg(p("alice")),
    );
    run_ok(
        sealpost()
            .args(["key", "generate", "--type", "x509", "--uid", "Bob <bob@example.org>", "--output"])
            .arg(p("bob")),
    );
    std::fs::write(
        p("letter.eml"),
        format!("From: Alice <alice@example.org>\nTo: bob@example.org\nSubject: s\n\n{SECRET}\nbye\n"),
    )
    .unwrap();
    let make = |args: &[&str], out: &str| {
        run_ok(sealpost().args(args).arg("-o").arg(p(out)).arg(p("letter.eml")));
        std::fs::read_to_string(p(out)).unwrap()
    };
    let alice_key = p("alice.key").display().to_string();
    let alice_cert = p("alice.cert").display().to_string();
    let (bob_key, bob_cert) = (p("bob.key").display().to_string(), p("bob.cert").display().to_string());
    let cases = [
        (
            make(&["mail", "sign", "--format", "pgp", "--key", &alice_key], "pgp-signed.eml"),
            vec!["mail", "verify", "--cert", alice_cert.as_str()],
        ),
        (
            make(
                &["mail", "sign-encrypt", "--format", "pgp", "--key", &alice_key, "--recipient", &alice_cert],
                "pgp-enc.eml",
            ),
            vec!["mail", "decrypt", "--key", alice_key.as_str()],
        ),
        (
            make(&["mail", "sign", "--format", "smime", "--key", &bob_key, "--cert", &bob_cert], "smime-signed.eml"),
            vec!["mail", "verify"],
        ),
        (
            make(&["mail", "encrypt", "--format", "smime", "--recipient", &bob_cert], "smime-enc.eml"),
            vec!["mail", "decrypt", "--key", bob_key.as_str(), "--own-cert", bob_cert.as_str()],
        ),
    ];
    let mut problems = Vec::new();
    let mut runs = 0;
    for (msg, args) in &cases {
        // The message itself first: it opens.
        let r = run_case(&dir, args, msg);
        assert!(matches!(r.code, Some(0)), "{}: {}", r.line, r.stderr);
        for (label, text) in mutations(msg) {
            let r = run_case(&dir, args, &text);
            runs += 1;
            problems.extend(judge(&r, &format!("{} {label}", args[1]), args[1] == "decrypt"));
        }
    }
    assert!(runs > 100, "{runs}");
    assert!(problems.is_empty(), "{} problems:\n{}", problems.len(), problems.join("\n"));
}

#[test]
fn hostile_structures() {
    let dir = scratch("mail-bad-structures");
    let mut deep = String::from("From: a@example.org\r\n");
    for i in 0..200 {
        deep.push_str(&format!("Content-Type: multipart/mixed; boundary=\"b{i}\"\r\n\r\n--b{i}\r\n"));
    }
    deep.push_str("Content-Type: text/plain\r\n\r\nx\r\n");
    let mut many = String::from("From: a@example.org\r\nContent-Type: multipart/mixed; boundary=\"m\"\r\n\r\n");
    for _ in 0..20_000 {
        many.push_str("--m\r\nContent-Type: text/plain\r\n\r\nx\r\n");
    }
    many.push_str("--m--\r\n");
    let cases = [
        ("deep nesting", deep),
        ("20000 parts", many),
        ("header only", "From: a@example.org\r\nSubject: nothing".to_string()),
        ("empty", String::new()),
        ("binary", String::from_utf8_lossy(&[0u8, 159, 146, 150, 255, 10, 13]).into_owned()),
        (
            "signed with one part",
            "From: a@example.org\r\nContent-Type: multipart/signed; protocol=\"application/pgp-signature\"; boundary=s\r\n\r\n--s\r\nContent-Type: text/plain\r\n\r\nx\r\n--s--\r\n".into(),
        ),
        (
            "encrypted without parts",
            "From: a@example.org\r\nContent-Type: multipart/encrypted; protocol=\"application/pgp-encrypted\"; boundary=e\r\n\r\n--e--\r\n".into(),
        ),
        (
            "pkcs7 garbage",
            "From: a@example.org\r\nContent-Type: application/pkcs7-mime; smime-type=enveloped-data\r\nContent-Transfer-Encoding: base64\r\n\r\nMIIB////\r\n".into(),
        ),
    ];
    let mut problems = Vec::new();
    for (label, text) in &cases {
        let r = run_case(&dir, &["mail", "verify"], text);
        problems.extend(judge(&r, label, false));
        assert!(r.elapsed < TIMEOUT, "{label}");
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
