//! Inputs the fuzz targets (issue #9, `fuzz/`, `scripts/fuzz`) found crashing, hanging or exhausting memory,
//! each kept in `tests/regressions/` under the name of the bug it caught and replayed here through the very
//! code its fuzz target runs (`fuzz/src/harness.rs`, included below).
//!
//! One table: file, target, expected outcome. Every input must end within [`TIMEOUT`] (in a test build,
//! unoptimised) with the outcome the table says, never a panic; every file in the directory must be in the
//! table and every entry must have its file, so nothing is skipped unseen.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // A panic in a test is a failed test.

#[path = "../fuzz/src/harness.rs"]
#[allow(dead_code)] // `TARGETS` is all this test uses of some functions.
mod harness;

use std::path::Path;
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// What the target's main entry point must say.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Expect {
    /// Refused as malformed (an error, not a panic).
    Error,
    /// Accepted.
    Ok,
}

/// A run that takes longer has hung (the fuzzers' limit is 10 s in an optimised build).
const TIMEOUT: Duration = Duration::from_secs(60);

/// File in `tests/regressions/`, the fuzz target that found it, and the expected outcome.
const CASES: &[(&str, &str, Expect)] = &[
    // mail-parser 0.11.9's debug_assert! "Invalid part ID, could not find multipart" (message.rs:485): nested
    // message/rfc822 parts after a delimiter line that runs on into text. Release builds recover; ours now
    // parse as release does in every profile (Cargo.toml, [profile.dev.package.mail-parser]).
    ("mime-nested-rfc822-after-unended-delimiter.eml", "mime_parse", Expect::Ok),
    // sequoia-openpgp 2.4.2 panicked "body_hash is None" (parse.rs:6051) when the packet parser went on after
    // an error reading a literal packet's body (bad armor); src/pgp/verify.rs now stops at that error.
    ("pgp-read-error-then-recurse-panics.asc", "openpgp_message", Expect::Error),
    // Found by reading, not by a fuzzer: an Argon2 S2K (RFC 9580 section 3.7.1.4) asking for 2^22 KiB and 255
    // passes made `pgp decrypt --password-file` allocate 4 GiB and run for hours (sequoia derives whatever the
    // message asks for); src/pgp/decrypt.rs no longer tries a password on more than 2 GiB or 4 passes' work.
    ("pgp-argon2-s2k-4gib.pgp", "openpgp_password", Expect::Error),
];

#[test]
fn every_kept_crash_input_is_now_refused_in_bounded_time() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/regressions");
    let mut on_disk: Vec<String> = match std::fs::read_dir(&dir) {
        Ok(entries) => entries.map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect(),
        Err(_) => Vec::new(),
    };
    on_disk.sort();
    let mut listed: Vec<String> = CASES.iter().map(|(f, _, _)| f.to_string()).collect();
    listed.sort();
    assert_eq!(on_disk, listed, "tests/regressions/ and the table in tests/regressions.rs must list the same files");

    let mut checked = 0;
    for (file, target, expect) in CASES {
        let data = std::fs::read(dir.join(file)).unwrap();
        let run = harness::TARGETS.iter().find(|(name, _)| name == target).map(|(_, f)| *f);
        let run = run.unwrap_or_else(|| panic!("{file}: no fuzz target {target}"));
        let (tx, rx) = mpsc::channel();
        let start = Instant::now();
        let name = file.to_string();
        std::thread::Builder::new()
            .name(name)
            .spawn(move || {
                // A panic drops `tx` without a send: reported below as a panic, not as a hang.
                let _ = tx.send(run(&data));
            })
            .unwrap();
        match rx.recv_timeout(TIMEOUT) {
            Ok(accepted) => {
                let got = if accepted { Expect::Ok } else { Expect::Error };
                assert_eq!(got, *expect, "{file} through {target}");
                println!("{file}: {target}: {got:?} in {:?}", start.elapsed());
            }
            Err(mpsc::RecvTimeoutError::Timeout) => panic!("{file} through {target}: still running after {TIMEOUT:?}"),
            Err(mpsc::RecvTimeoutError::Disconnected) => panic!("{file} through {target}: panicked"),
        }
        checked += 1;
    }
    assert_eq!(checked, CASES.len());
    println!("{checked} regression inputs checked");
}
