//! Broken and hostile RFC 1421 messages through `pem verify` and `pem decrypt`: every truncation at a line
//! boundary, single-character changes all over each message, malformed header fields, a wrong or damaged
//! DEK, unknown Proc-Types. Each run ends with exit 0 and exactly the original text (a change the MIC does
//! not cover, such as a byte of the certificate's own signature), or exit 1 (the MIC fails, a wrong key) or
//! 2 (malformed, unsupported) with one `sealpost: error:` line, no panic, no output file, within 20 s.
//! Also: a RIPEM-style message (Proc-Type 2001, Originator-Key-Asymmetric) verifies.

#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use common::sandboxed::{self, Run};
use common::{run_ok, scratch};

const TIMEOUT: Duration = Duration::from_secs(20);
const TEXT: &str = "Dear Bob,\n- dashes\n\nThis is the end.\n";

struct Fixture {
    dir: PathBuf,
    messages: Vec<(&'static str, String)>,
}

fn keygen(dir: &Path, who: &str) {
    run_ok(
        Command::new(env!("CARGO_BIN_EXE_sealpost"))
            .args(["key", "generate", "--type", "x509", "--uid", &format!("{who} <{who}@example.org>")])
            .args(["--algo", "rsa2048", "--output"])
            .arg(dir.join(who)),
    );
}

fn fixture(test: &str) -> Fixture {
    let dir = scratch(test);
    for who in ["alice", "bob", "carol"] {
        keygen(&dir, who);
    }
    std::fs::write(dir.join("letter.txt"), TEXT).unwrap();
    let mut messages = Vec::new();
    for (name, args) in [
        ("mic-only", vec!["pem", "sign", "--mode", "mic-only"]),
        ("mic-clear", vec!["pem", "sign", "--mode", "mic-clear"]),
        ("encrypted", vec!["pem", "encrypt", "--recipient", "bob.cert"]),
    ] {
        let out = dir.join(format!("{name}.pem"));
        run_ok(
            Command::new(env!("CARGO_BIN_EXE_sealpost"))
                .current_dir(&dir)
                .args(&args)
                .args(["--key", "alice.key", "--cert", "alice.cert", "-o"])
                .arg(&out)
                .arg("letter.txt"),
        );
        messages.push((name, std::fs::read_to_string(&out).unwrap()));
    }
    Fixture { dir, messages }
}

/// Runs the reading command for a message kind on `text`.
fn read(f: &Fixture, kind: &str, text: &str, key: &str) -> Run {
    let input = f.dir.join("case.pem");
    std::fs::write(&input, text).unwrap();
    let out = f.dir.join("case.out");
    let _ = std::fs::remove_file(&out);
    let args: Vec<String> = if kind == "encrypted" {
        [
            "pem",
            "decrypt",
            "--key",
            &format!("{key}.key"),
            "--cert",
            &format!("{key}.cert"),
            "-o",
            "case.out",
            "case.pem",
        ]
        .map(String::from)
        .to_vec()
    } else {
        ["pem", "verify", "-o", "case.out", "case.pem"].map(String::from).to_vec()
    };
    let r = sandboxed::sealpost(&f.dir, &args, Some(&out), None, TIMEOUT);
    let leftovers = sandboxed::clean_output(&out);
    assert!(leftovers.is_empty() || r.code == Some(0), "{}: temporary files left: {leftovers:?}", r.line);
    r
}

/// What a run may end as; returns a problem description, if any.
fn judge(r: &Run, label: &str) -> Option<String> {
    let err = &r.stderr;
    if err.contains("internal error") || err.contains("panicked") {
        return Some(format!("{label}: a panic: {err}"));
    }
    match r.code {
        None => Some(format!("{label}: killed (signal or timeout): {err}")),
        Some(0) => {
            let text = r.output.as_deref().map(String::from_utf8_lossy);
            (text.as_deref() != Some(TEXT)).then(|| format!("{label}: exit 0 with other text: {text:?}"))
        }
        Some(1 | 2) => {
            let errors: Vec<&str> = err.lines().filter(|l| l.starts_with("sealpost: error:")).collect();
            if errors.len() != 1 || !err.trim_end().lines().last().is_some_and(|l| l.starts_with("sealpost: error:")) {
                return Some(format!("{label}: not one error line at the end: {err}"));
            }
            r.output_exists.then(|| format!("{label}: an output file after failing"))
        }
        Some(c) => Some(format!("{label}: exit {c}: {err}")),
    }
}

#[test]
fn truncations_and_character_changes_are_refused_or_harmless() {
    let f = fixture("pem-bad-mutations");
    let mut problems = Vec::new();
    let mut runs = 0;
    for (kind, msg) in &f.messages {
        let r = read(&f, kind, msg, "bob");
        assert_eq!(r.code, Some(0), "{kind}: the intact message: {}", r.stderr);
        // Every truncation at a line boundary.
        let mut cut = 0;
        while let Some(n) = msg[cut..].find('\n') {
            cut += n + 1;
            if cut >= msg.len() {
                break;
            }
            runs += 1;
            let r = read(&f, kind, &msg[..cut], "bob");
            if r.code == Some(0) {
                problems.push(format!("{kind}: truncated at {cut} and accepted"));
            }
            problems.extend(judge(&r, &format!("{kind} cut {cut}")));
        }
        // One character changed, every 7th position.
        for at in (0..msg.len()).step_by(7) {
            let mut b = msg.clone().into_bytes();
            b[at] = match b[at] {
                b'A' => b'B',
                b'\n' => b'x',
                b'-' => b'+',
                _ => b'A',
            };
            runs += 1;
            let r = read(&f, kind, &String::from_utf8(b).unwrap(), "bob");
            problems.extend(judge(&r, &format!("{kind} change at {at}")));
        }
    }
    eprintln!("{runs} runs");
    assert!(problems.is_empty(), "{} problems:\n{}", problems.len(), problems.join("\n"));
}

#[test]
fn malformed_fields_wrong_keys_and_unknown_types() {
    let f = fixture("pem-bad-fields");
    let get = |k: &str| f.messages.iter().find(|(n, _)| *n == k).unwrap().1.clone();
    let (mic, enc) = (get("mic-only"), get("encrypted"));
    let cases: Vec<(&str, &str, String, i32)> = vec![
        ("mic-only", "unknown Proc-Type version", mic.replace("Proc-Type: 4,", "Proc-Type: 3,"), 2),
        ("mic-only", "unknown Proc-Type kind", mic.replace("4,MIC-ONLY", "4,MIC-MAYBE"), 2),
        ("mic-only", "no Proc-Type", mic.replace("Proc-Type: 4,MIC-ONLY\n", ""), 2),
        ("mic-only", "header line without colon", mic.replace("Content-Domain: RFC822", "Content-Domain RFC822"), 2),
        ("mic-only", "other content domain", mic.replace("Content-Domain: RFC822", "Content-Domain: X400"), 2),
        ("mic-only", "no MIC-Info", mic.replace("MIC-Info:", "MIC-Inf0:"), 2),
        ("mic-only", "unknown MIC algorithm", mic.replace("RSA-MD5,RSA,", "RSA-SHA1,RSA,"), 2),
        ("mic-only", "bad base64 in the body", mic.replacen("\n\n", "\n\n*", 1), 2),
        ("mic-only", "no closing boundary", mic.replace("-----END PRIVACY-ENHANCED MESSAGE-----", ""), 2),
        ("mic-only", "not ASCII", mic.replace("Content-Domain: RFC822", "Content-Domain: RFC822é"), 2),
        ("encrypted", "unknown DEK cipher", enc.replace("DEK-Info: DES-EDE3-CBC", "DEK-Info: IDEA-CBC"), 2),
        (
            "encrypted",
            "IV not hex",
            {
                let i = enc.find("DEK-Info: DES-EDE3-CBC,").unwrap() + 23;
                let mut s = enc.clone();
                s.replace_range(i..i + 2, "ZZ");
                s
            },
            2,
        ),
        (
            "encrypted",
            "IV too short",
            {
                let i = enc.find("DEK-Info: DES-EDE3-CBC,").unwrap() + 23;
                let mut s = enc.clone();
                s.replace_range(i..i + 2, "");
                s
            },
            2,
        ),
        ("encrypted", "Key-Info not RSA", enc.replace("Key-Info: RSA,", "Key-Info: DES-ECB,"), 2),
        (
            "encrypted",
            "symmetric key management",
            enc.replace("Recipient-ID-Asymmetric:", "Recipient-ID-Symmetric:"),
            // A key the user did not give (the interchange key): a refusal, like a message for someone else.
            1,
        ),
    ];
    let mut problems = Vec::new();
    for (kind, label, text, want) in &cases {
        let r = read(&f, kind, text, "bob");
        problems.extend(judge(&r, label));
        if r.code != Some(*want) {
            problems.push(format!("{label}: exit {:?}, want {want}: {}", r.code, r.stderr));
        }
    }
    // Not a recipient: exit 1, the verdict-class refusal.
    let r = read(&f, "encrypted", &enc, "carol");
    problems.extend(judge(&r, "carol"));
    if r.code != Some(1) || !r.stderr.contains("not encrypted to this certificate") {
        problems.push(format!("carol: {:?} {}", r.code, r.stderr));
    }
    // Bob's Key-Info damaged: a random DEK (implicit rejection), then the padding or the MIC fails: exit 1.
    let bob_key_info = enc.rfind("Key-Info: RSA,").unwrap() + 16;
    let mut damaged = enc.clone().into_bytes();
    damaged[bob_key_info] = if damaged[bob_key_info] == b'A' { b'B' } else { b'A' };
    let r = read(&f, "encrypted", &String::from_utf8(damaged).unwrap(), "bob");
    problems.extend(judge(&r, "damaged DEK"));
    if r.code != Some(1) {
        problems.push(format!("damaged DEK: {:?} {}", r.code, r.stderr));
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn ripem_style_proc_type_2001_with_originator_key_asymmetric_verifies() {
    let f = fixture("pem-ripem");
    let out = f.dir.join("ripem.pem");
    run_ok(
        Command::new(env!("CARGO_BIN_EXE_sealpost"))
            .current_dir(&f.dir)
            .args(["pem", "sign", "--mode", "mic-clear", "--key", "alice.key", "-o"])
            .arg(&out)
            .arg("letter.txt"),
    );
    // RIPEM wrote Proc-Type 2001; the header is not covered by the MIC.
    let msg = std::fs::read_to_string(&out).unwrap().replace("Proc-Type: 4,", "Proc-Type: 2001,");
    assert!(msg.contains("Originator-Key-Asymmetric:"));
    let r = read(&f, "mic-clear", &msg, "bob");
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert!(r.stderr.contains("good signature from Originator-Key-Asymmetric"), "{}", r.stderr);
}

/// Malformed CRL messages, CRL-RETRIEVAL-REQUESTs and symmetric Key-Info fields: exit 2 with one line (or
/// exit 1 where the input is well formed and the key simply does not open it), nothing written, no panic.
#[test]
fn malformed_crl_messages_and_symmetric_key_info() {
    use std::os::unix::fs::PermissionsExt;
    let dir = scratch("pem-bad-crl-symmetric");
    let ik = dir.join("k.ik");
    std::fs::write(&ik, "0123456789ABCDEF").unwrap();
    std::fs::set_permissions(&ik, std::fs::Permissions::from_mode(0o600)).unwrap();
    let short_ik = dir.join("short.ik");
    std::fs::write(&short_ik, "0123456789ABCD").unwrap();
    std::fs::set_permissions(&short_ik, std::fs::Permissions::from_mode(0o600)).unwrap();
    let wrap = |fields: &str| {
        format!("-----BEGIN PRIVACY-ENHANCED MESSAGE-----\n{fields}-----END PRIVACY-ENHANCED MESSAGE-----\n")
    };
    let sym = |key_info: &str| {
        wrap(&format!(
            "Proc-Type: 4,ENCRYPTED\nContent-Domain: RFC822\nDEK-Info: DES-CBC,0011223344556677\n\
             Originator-ID-Symmetric: a@example.org,,\nRecipient-ID-Symmetric: b@example.org,kmc,1\n{key_info}\n\
             QUJDREVGR0hJSktMTU5PUA==\n"
        ))
    };
    let crl = "Proc-Type: 4,CRL\n";
    let cases: Vec<(&str, String, &str, i32)> = vec![
        ("CRL not base64", wrap(&format!("{crl}CRL: ***\n")), "verify", 2),
        ("CRL not DER", wrap(&format!("{crl}CRL: QUJDRA==\n")), "verify", 2),
        ("CRL message without CRL", wrap(crl), "verify", 2),
        ("certificate before any CRL", wrap(&format!("{crl}Originator-Certificate: QUJDRA==\n")), "verify", 2),
        ("unknown field in a CRL message", wrap(&format!("{crl}MIC-Info: RSA-MD5,RSA,QUJD\n")), "show", 2),
        ("request without issuer", wrap("Proc-Type: 4,CRL-RETRIEVAL-REQUEST\n"), "show", 2),
        ("request issuer not a Name", wrap("Proc-Type: 4,CRL-RETRIEVAL-REQUEST\nIssuer: QUJDRA==\n"), "show", 2),
        ("symmetric Key-Info of three items", sym("Key-Info: DES-ECB,RSA-MD5,0011223344556677\n"), "decrypt", 2),
        ("symmetric Key-Info not hex", sym("Key-Info: DES-ECB,RSA-MD5,00112233445566ZZ,00\n"), "decrypt", 2),
        ("MIC not whole blocks", sym("Key-Info: DES-ECB,RSA-MD5,0011223344556677,0011\n"), "decrypt", 2),
        ("unknown MIC algorithm", sym("Key-Info: DES-ECB,RSA-SHA9,0011223344556677,00\n"), "decrypt", 2),
        (
            "wrong key, well-formed",
            sym("Key-Info: DES-ECB,RSA-MD5,0011223344556677,00112233445566770011223344556677\n"),
            "decrypt",
            1,
        ),
        ("interchange key of 7 bytes", sym("Key-Info: DES-ECB,RSA-MD5,00,00\n"), "short", 2),
    ];
    let mut problems = Vec::new();
    for (label, text, how, want) in &cases {
        std::fs::write(dir.join("case.pem"), text).unwrap();
        let out = dir.join("case.out");
        let _ = std::fs::remove_file(&out);
        let args: Vec<&str> = match *how {
            "verify" => vec!["pem", "verify", "-o", "case.out", "case.pem"],
            "show" => vec!["pem", "show", "-o", "case.out", "case.pem"],
            "decrypt" => vec!["pem", "decrypt", "--interchange-key", "k.ik", "-o", "case.out", "case.pem"],
            _ => vec!["pem", "decrypt", "--interchange-key", "short.ik", "-o", "case.out", "case.pem"],
        };
        let r = sandboxed::sealpost(&dir, &args, Some(&out), None, TIMEOUT);
        problems.extend(judge(&r, label));
        if r.code != Some(*want) {
            problems.push(format!("{label}: exit {:?}, want {want}: {}", r.code, r.stderr));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
