//! Shared test helpers: where the external vectors are, and how a test that needs a peer tool or the vectors
//! skips (with a printed reason) or fails (when `SEALPOST_REQUIRE_PEERS=1` / `SEALPOST_REQUIRE_VECTORS=1`).

#![allow(dead_code)] // Each test binary uses a different subset of these helpers.
#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)] // Test helpers fail tests by panicking.

pub mod bench_mail;
pub mod dovecot;
pub mod gpg;
pub mod openpgp;
pub mod pki;
pub mod postfix;
pub mod sandboxed;
pub mod sealed;
pub mod smtp;
pub mod smtp_load;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output};

/// A child process (a proxy or filter a test started) killed and reaped when dropped.
pub struct Killed(pub Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `../shared/vectors` (or `$SEALPOST_VECTORS`), if it exists. When it does not and
/// `SEALPOST_REQUIRE_VECTORS=1`, the test fails; otherwise it prints why it skips.
pub fn vectors(test: &str) -> Option<PathBuf> {
    let dir = std::env::var_os("SEALPOST_VECTORS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/vectors"));
    if dir.join("SOURCES.md").is_file() {
        return Some(dir);
    }
    let reason = format!("{test}: external vectors not found at {} (set SEALPOST_VECTORS)", dir.display());
    if std::env::var("SEALPOST_REQUIRE_VECTORS").as_deref() == Ok("1") {
        panic!("{reason}, and SEALPOST_REQUIRE_VECTORS=1");
    }
    eprintln!("SKIP {reason}");
    None
}

/// The path of a peer tool on PATH. Missing: fails under `SEALPOST_REQUIRE_PEERS=1`, else prints a skip reason.
pub fn peer(test: &str, tool: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    if let Some(found) = std::env::split_paths(&path).map(|d| d.join(tool)).find(|p| p.is_file()) {
        return Some(found);
    }
    let reason = format!("{test}: peer tool `{tool}` is not installed");
    if std::env::var("SEALPOST_REQUIRE_PEERS").as_deref() == Ok("1") {
        panic!("{reason}, and SEALPOST_REQUIRE_PEERS=1");
    }
    eprintln!("SKIP {reason}");
    None
}

/// Runs a command and returns its output, printing the command line, status, stdout and stderr when it
/// fails, so a failing interop test shows exactly what was run.
pub fn run(cmd: &mut Command) -> Output {
    let shown = format!("{cmd:?}");
    let out = cmd.output().unwrap_or_else(|e| panic!("cannot run {shown}: {e}"));
    if !out.status.success() {
        eprintln!(
            "command failed: {shown}\nstatus: {}\nstdout:\n{}\nstderr:\n{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    out
}

/// Runs a command that must succeed.
pub fn run_ok(cmd: &mut Command) -> Output {
    let out = run(cmd);
    assert!(out.status.success(), "command failed (details above)");
    out
}

/// Hex decoding for test files; panics with the offending text. An odd number of digits is an integer
/// written without its leading zero (NIST files do this) and is padded.
pub fn hex(s: &str) -> Vec<u8> {
    let s = s.trim();
    let padded;
    let s = if s.len() % 2 == 1 {
        padded = format!("0{s}");
        padded.as_str()
    } else {
        s
    };
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap_or_else(|_| panic!("bad hex {s:?}")))
        .collect()
}

/// A fresh scratch directory under the target directory, unique per test.
pub fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Deterministic pseudo-random bytes (xorshift), for inputs of any size.
pub fn pseudo_random(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(&x.to_le_bytes());
    }
    out.truncate(len);
    out
}
