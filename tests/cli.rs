//! The `sealpost` binary as users and the acceptance checks drive it: every verb of CONTRACT.md exists and
//! has `--help`; unfinished verbs exit 2 saying so; errors are one line; `demo` and `bench` work.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // A panic in a test is a failed test.

mod common;

use std::process::{Command, Output};

use common::{peer, scratch};

fn sealpost(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sealpost")).args(args).output().unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Every group and verb named in CONTRACT.md, with the issue that implements it (0: implemented here).
const VERBS: &[(&[&str], u32)] = &[
    (&["key", "generate"], 0),
    (&["key", "import"], 0),
    (&["key", "list"], 0),
    (&["key", "export"], 0),
    (&["pgp", "sign"], 0),
    (&["pgp", "verify"], 0),
    (&["pgp", "encrypt"], 0),
    (&["pgp", "decrypt"], 0),
    (&["pgp", "list-keys"], 0),
    (&["smime", "sign"], 0),
    (&["smime", "verify"], 0),
    (&["smime", "encrypt"], 0),
    (&["smime", "decrypt"], 0),
    (&["smime", "receipt"], 0),
    (&["smime", "verify-receipt"], 0),
    (&["smime", "compress"], 0),
    (&["smime", "decompress"], 0),
    (&["pem", "sign"], 0),
    (&["pem", "encrypt"], 0),
    (&["pem", "verify"], 0),
    (&["pem", "decrypt"], 0),
    (&["mail", "sign"], 0),
    (&["mail", "encrypt"], 0),
    (&["mail", "sign-encrypt"], 0),
    (&["mail", "verify"], 0),
    (&["mail", "decrypt"], 0),
    (&["filter", "smtp"], 0),
    (&["filter", "imap"], 0),
    (&["filter", "pop3"], 0),
    (&["filter", "pipe"], 0),
    (&["filter", "explain"], 0),
    (&["bench"], 0),
    (&["demo"], 0),
];

#[test]
fn every_contract_verb_has_help() {
    for (verb, issue) in VERBS {
        let mut args = verb.to_vec();
        args.push("--help");
        let out = sealpost(&args);
        assert!(out.status.success(), "{verb:?} --help failed: {}", stderr(&out));
        // Help is wrapped to the terminal width; compare with the line breaks taken out.
        let help = String::from_utf8_lossy(&out.stdout).split_whitespace().collect::<Vec<_>>().join(" ");
        assert!(help.contains("Usage: sealpost"), "{verb:?}: {help}");
        if *issue > 0 {
            assert!(help.contains("not implemented yet"), "{verb:?} --help must say it is not implemented yet");
        } else {
            assert!(!help.contains("not implemented yet"), "{verb:?} is implemented");
        }
    }
}

/// Minimal valid arguments for each unfinished verb: they must parse, then refuse with exit 2 and one line.
#[test]
fn unfinished_verbs_exit_2_with_one_line() {
    let dir = scratch("cli-unfinished");
    let f = dir.join("f");
    std::fs::write(&f, b"x").unwrap();
    let f = f.to_str().unwrap();
    let cases: &[(&[&str], u32)] = &[
        (&["mail", "receipt", f], 12),
    ];
    for (args, issue) in cases {
        let out = sealpost(args);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{args:?}: not one line: {err}");
        assert!(err.starts_with("sealpost: error: "), "{args:?}: {err}");
        assert!(err.contains("not implemented yet") && err.contains(&format!("issue #{issue}")), "{args:?}: {err}");
        assert!(out.stdout.is_empty());
    }
    // filter smtp is done: a broken configuration is one line and exit 2, before anything listens.
    let out = sealpost(&["filter", "smtp", "--config", f]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.lines().count() == 1 && err.starts_with("sealpost: error: configuration: "), "{err}");
}

#[test]
fn usage_errors_are_one_line_with_exit_2() {
    for args in [
        &["frobnicate"][..],
        &["pgp", "sign"],
        &["bench", "--seconds", "abc"],
        &["bench", "--only", "nonesuch"],
        &["bench", "--seconds", "0"],
    ] {
        let out = sealpost(args);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        assert!(err.starts_with("sealpost: error: "), "{args:?}: {err}");
        assert!(!err.contains("panicked") && !err.contains("RUST_BACKTRACE"), "{args:?}: {err}");
    }
    let out = sealpost(&["pgp", "sign"]);
    assert!(stderr(&out).contains("--key"), "the message names what is missing");
}

#[test]
fn demo_runs_end_to_end() {
    let out = sealpost(&["demo"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("core: pass: good signature"), "{text}");
    assert!(text.contains("core: pass-weak:"), "{text}");
    assert!(text.contains("core: fail:"), "{text}");
    assert!(text.contains("all three runs ended as expected"), "{text}");
}

#[test]
fn bench_writes_table_json_and_plot() {
    let dir = scratch("cli-bench");
    let json = dir.join("b.json");
    let svg = dir.join("b.svg");
    let out = sealpost(&[
        "bench",
        "--only",
        "aes128-cbc-encrypt,md5,sha256,zlib-compress,rsa2048-sign",
        "--sizes",
        "1024,16384",
        "--seconds",
        "0.1",
        "--quiet",
        "--json",
        json.to_str().unwrap(),
        "--plot",
        svg.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(table.contains("aes128-cbc-encrypt") && table.contains("MB/s") && table.contains("op/s"), "{table}");
    let rows: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    let rows = rows.as_array().unwrap();
    assert_eq!(rows.len(), 4 * 2 + 1, "four rows at two sizes, RSA once");
    for r in rows {
        let name = r["name"].as_str().unwrap();
        assert!(r["bytes"].as_u64().unwrap() > 0);
        if name.starts_with("rsa") {
            assert!(r["ops_per_s"].as_f64().unwrap() > 0.0, "{r}");
        } else {
            assert!(r["mb_per_s"].as_f64().unwrap() > 0.0, "{r}");
        }
        assert!(r.get("openssl_mb_per_s").is_none(), "no OpenSSL figures without --compare");
    }
    let svg = std::fs::read_to_string(&svg).unwrap();
    assert!(svg.starts_with("<svg") || svg.starts_with("<?xml"), "{}", &svg[..svg.len().min(100)]);
    assert!(svg.contains("aes128-cbc-encrypt") && svg.trim_end().ends_with("</svg>"));
}

#[test]
fn bench_compare_reports_openssl_and_ratios() {
    if peer("bench_compare_reports_openssl_and_ratios", "openssl").is_none() {
        return;
    }
    let dir = scratch("cli-bench-compare");
    let json = dir.join("c.json");
    let out = sealpost(&[
        "bench",
        "--only",
        "3des-cbc-encrypt,sha1,rsa2048-verify,idea-cbc-decrypt",
        "--sizes",
        "16384",
        "--seconds",
        "0.2",
        "--compare",
        "--quiet",
        "--json",
        json.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(table.contains("openssl") && table.contains("ratio"), "{table}");
    let rows: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    for r in rows.as_array().unwrap() {
        let name = r["name"].as_str().unwrap();
        match name {
            "idea-cbc-decrypt" => assert!(r["openssl_note"].as_str().unwrap().contains("idea"), "{r}"),
            "rsa2048-verify" => assert!(r["openssl_ops_per_s"].as_f64().unwrap() > 0.0, "{r}"),
            _ => assert!(r["openssl_mb_per_s"].as_f64().unwrap() > 0.0, "{r}"),
        }
    }
    assert!(table.contains('x'), "ratios are printed: {table}");
}
