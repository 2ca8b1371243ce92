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

/// Every group and verb named in CONTRACT.md (all implemented).
const VERBS: &[&[&str]] = &[
    &["key", "generate"],
    &["key", "import"],
    &["key", "list"],
    &["key", "export"],
    &["pgp", "sign"],
    &["pgp", "verify"],
    &["pgp", "encrypt"],
    &["pgp", "decrypt"],
    &["pgp", "list-keys"],
    &["smime", "sign"],
    &["smime", "verify"],
    &["smime", "encrypt"],
    &["smime", "decrypt"],
    &["smime", "receipt"],
    &["smime", "verify-receipt"],
    &["smime", "compress"],
    &["smime", "decompress"],
    &["pem", "sign"],
    &["pem", "encrypt"],
    &["pem", "verify"],
    &["pem", "decrypt"],
    &["mail", "sign"],
    &["mail", "encrypt"],
    &["mail", "sign-encrypt"],
    &["mail", "verify"],
    &["mail", "decrypt"],
    &["mail", "receipt"],
    &["filter", "smtp"],
    &["filter", "imap"],
    &["filter", "pop3"],
    &["filter", "pipe"],
    &["filter", "explain"],
    &["bench"],
    &["demo"],
];

#[test]
fn every_contract_verb_has_help() {
    for verb in VERBS {
        let mut args = verb.to_vec();
        args.push("--help");
        let out = sealpost(&args);
        assert!(out.status.success(), "{verb:?} --help failed: {}", stderr(&out));
        // Help is wrapped to the terminal width; compare with the line breaks taken out.
        let help = String::from_utf8_lossy(&out.stdout).split_whitespace().collect::<Vec<_>>().join(" ");
        assert!(help.contains("Usage: sealpost"), "{verb:?}: {help}");
        assert!(!help.contains("not implemented yet"), "{verb:?} is implemented");
    }
}

/// A broken configuration is one line and exit 2, before anything listens.
#[test]
fn a_broken_filter_configuration_exits_2_with_one_line() {
    let dir = scratch("cli-broken-config");
    let f = dir.join("f");
    std::fs::write(&f, b"x").unwrap();
    let f = f.to_str().unwrap();
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
