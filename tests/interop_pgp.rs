//! OpenPGP interop (issue #3, items 4 and 6): `sealpost pgp ...` against the real peer tools mail users run,
//! GnuPG 2.2 (`gpg`), Sequoia (`sq`, 0.27 command line) and RNP (`rnp`/`rnpkeys`), in both directions, on
//! fresh keys (made by sealpost and imported into the peer, and made by the peer and read by sealpost) and
//! on random content of several MiB as well as empty, one-byte and text inputs.
//!
//! Each peer gets: they encrypt with each cipher and compression, we decrypt; we encrypt with each cipher and
//! compression, they decrypt; they sign (binary, cleartext, detached), we verify; we sign, they verify;
//! sign+encrypt both ways; password messages both ways where the peer can take a password non-interactively;
//! tampered messages and wrong keys in both directions.
//!
//! Every command is printed with its status and output when it does not end as expected. The matrix tests
//! run all their cases and then list every failing one, so one run shows the whole picture. Keys are made
//! once per test binary (`OnceLock`) and each test imports them into its own peer home directory, so the
//! tests do not depend on their order and never share a gpg/rnp home.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // A panic in a test is a failed test.

mod common;

use std::fs::{self, File, Permissions};
use std::os::unix::fs::PermissionsExt;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use common::gpg::Gpg;
use common::{peer, pseudo_random, run_ok, scratch};
use serde_json::Value;

const MIB: usize = 1 << 20;
/// "Several MiB", and a size that is a multiple of no block, chunk or partial-body length.
const BIG: usize = 3 * MIB + 4099;

// ---------------------------------------------------------------------------------------------------------
// Algorithms as each tool names them.

/// A symmetric cipher: sealpost's `--cipher` name (also the verdict's), gpg's `--cipher-algo`, rnp's
/// `--cipher`, the RFC 9580 id (gpg's `DECRYPTION_INFO` status), and whether the verdict must call it weak.
struct Cipher {
    ours: &'static str,
    gpg: &'static str,
    rnp: &'static str,
    id: u8,
    weak: bool,
}

const CIPHERS: [Cipher; 6] = [
    Cipher { ours: "aes256", gpg: "AES256", rnp: "AES256", id: 9, weak: false },
    Cipher { ours: "aes192", gpg: "AES192", rnp: "AES192", id: 8, weak: false },
    Cipher { ours: "aes128", gpg: "AES128", rnp: "AES128", id: 7, weak: false },
    Cipher { ours: "3des", gpg: "3DES", rnp: "TRIPLEDES", id: 2, weak: true },
    Cipher { ours: "cast5", gpg: "CAST5", rnp: "CAST5", id: 3, weak: true },
    Cipher { ours: "idea", gpg: "IDEA", rnp: "IDEA", id: 1, weak: true },
];

/// A compression algorithm: sealpost's `--compress` name, the arguments that select it in gpg and rnp,
/// the RFC 9580 id (gpg's `compressed packet: algo=N`), and the verdict's `algorithms.compression` (none:
/// absent).
struct Compression {
    ours: &'static str,
    gpg: &'static [&'static str],
    rnp: &'static [&'static str],
    id: u8,
    verdict: Option<&'static str>,
}

const COMPRESSIONS: [Compression; 4] = [
    Compression { ours: "none", gpg: &["-z", "0"], rnp: &["-z", "0"], id: 0, verdict: None },
    Compression { ours: "zip", gpg: &["--compress-algo", "zip"], rnp: &["--zip"], id: 1, verdict: Some("deflate") },
    Compression { ours: "zlib", gpg: &["--compress-algo", "zlib"], rnp: &["--zlib"], id: 2, verdict: Some("zlib") },
    Compression { ours: "bzip2", gpg: &["--compress-algo", "bzip2"], rnp: &["--bzip2"], id: 3, verdict: Some("bzip2") },
];

// ---------------------------------------------------------------------------------------------------------
// Running commands.

fn sealpost() -> Command {
    Command::new(env!("CARGO_BIN_EXE_sealpost"))
}

fn lossy(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(&bytes[..bytes.len().min(4000)]).into_owned();
    if bytes.len() > 4000 { format!("{text}... ({} bytes in all)", bytes.len()) } else { text }
}

fn describe(shown: &str, out: &Output) -> String {
    format!(
        "command: {shown}\nstatus: {}\nstdout:\n{}\nstderr:\n{}",
        out.status,
        lossy(&out.stdout),
        lossy(&out.stderr)
    )
}

/// Runs a command that must exit with `code`; on any other status prints the command and its output.
fn expect_exit(cmd: &mut Command, code: i32) -> Output {
    let shown = format!("{cmd:?}");
    let out = cmd.output().unwrap_or_else(|e| panic!("cannot run {shown}: {e}"));
    if out.status.code() != Some(code) {
        panic!("expected exit status {code}\n{}", describe(&shown, &out));
    }
    out
}

/// Runs a peer command that must fail (any non-zero status); returns its stdout and stderr together.
fn expect_failure(cmd: &mut Command) -> String {
    let shown = format!("{cmd:?}");
    let out = cmd.output().unwrap_or_else(|e| panic!("cannot run {shown}: {e}"));
    if out.status.success() {
        panic!("expected this command to fail\n{}", describe(&shown, &out));
    }
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

/// Standard input from `input` and standard output to `output`: the streaming path of a tool (gpg, for one,
/// then writes partial body lengths because it does not know the size).
fn piped<'a>(cmd: &'a mut Command, input: &Path, output: &Path) -> &'a mut Command {
    cmd.stdin(File::open(input).unwrap()).stdout(File::create(output).unwrap())
}

fn both(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

/// Runs every case of a matrix even when some fail, then fails the test listing the failing cases (each
/// case's details are printed where it failed).
struct Matrix {
    test: &'static str,
    cases: usize,
    failures: Vec<String>,
}

impl Matrix {
    fn new(test: &'static str) -> Matrix {
        Matrix { test, cases: 0, failures: Vec::new() }
    }

    fn case(&mut self, label: &str, f: impl FnOnce()) {
        self.cases += 1;
        if catch_unwind(AssertUnwindSafe(f)).is_err() {
            eprintln!("^^^ {}: case {label} FAILED", self.test);
            self.failures.push(label.to_string());
        }
    }

    /// Fails the test if a case failed; otherwise removes the test's scratch directory (megabytes of random
    /// content), which a failing run keeps for inspection.
    fn finish(self, dir: &Path) {
        eprintln!("{}: {} cases, {} failed", self.test, self.cases, self.failures.len());
        assert!(
            self.failures.is_empty(),
            "{}: failing cases: {:#?} (files kept in {})",
            self.test,
            self.failures,
            dir.display()
        );
        let _ = fs::remove_dir_all(dir);
    }
}

// ---------------------------------------------------------------------------------------------------------
// Files and content.

fn write(dir: &Path, name: &str, data: &[u8]) -> PathBuf {
    let path = dir.join(name);
    fs::write(&path, data).unwrap();
    path
}

/// sealpost refuses secret key and password files that group or others can read.
fn private(path: &Path) {
    fs::set_permissions(path, Permissions::from_mode(0o600)).unwrap();
}

fn assert_same_file(got: &Path, want: &Path, what: &str) {
    let got_bytes = fs::read(got).unwrap_or_else(|e| panic!("{what}: cannot read {}: {e}", got.display()));
    let want_bytes = fs::read(want).unwrap();
    if got_bytes != want_bytes {
        let at = got_bytes
            .iter()
            .zip(&want_bytes)
            .position(|(a, b)| a != b)
            .unwrap_or(got_bytes.len().min(want_bytes.len()));
        panic!(
            "{what}: {} ({} bytes) differs from {} ({} bytes), first at byte {at}",
            got.display(),
            got_bytes.len(),
            want.display(),
            want_bytes.len()
        );
    }
}

/// A letter with everything cleartext signatures must get right: trailing spaces and tabs, lines starting
/// with "-" (dash-escaped) and "From " (mangled by mailers), an armor-looking line, empty lines, a long line,
/// UTF-8, and no final line break.
fn letter() -> Vec<u8> {
    let mut text = String::from(
        "Dear Bob,   \n\
         - a line starting with a dash\n\
         -----BEGIN PGP SIGNATURE-----\n\
         --\n\
         From the desk of Alice\n\
         From: not a header\n\
         \tan indented line with a trailing tab\t\n\
         \n\
         \n\
         Gr\u{fc}\u{df}e, \u{65e5}\u{672c}\u{8a9e}, \u{e9}t\u{e9}.\n\
         .\n",
    );
    text.push_str(&"0123456789".repeat(250));
    text.push_str("\nlast line, no line break   ");
    text.into_bytes()
}

/// Several MiB of text for cleartext signatures at size: every line kind of [`letter`], varied lengths.
fn big_text() -> Vec<u8> {
    let kinds = [
        "- dash",
        "From the start",
        "trailing spaces   ",
        "trailing tab\t",
        "",
        "-----BEGIN PGP MESSAGE-----",
        "plain",
    ];
    let mut out = Vec::with_capacity(2 * MIB + 200);
    let mut i = 0usize;
    while out.len() < 2 * MIB + 100 {
        let filler = "x".repeat(i * 7 % 90);
        out.extend_from_slice(format!("{} {filler} {i}\n", kinds[i % kinds.len()]).as_bytes());
        if i.is_multiple_of(11) {
            out.extend_from_slice(kinds[i % kinds.len()].as_bytes());
            out.push(b'\n');
        }
        i += 1;
    }
    out
}

/// Text compared the way a cleartext signature defines it: line ends are CRLF or LF, trailing spaces and
/// tabs are not signed, and the line break before the signature belongs to the framing.
fn cleartext_lines(bytes: &[u8]) -> Vec<String> {
    let text = String::from_utf8_lossy(bytes);
    let mut lines: Vec<String> = text.split('\n').map(|l| l.trim_end_matches([' ', '\t', '\r']).to_string()).collect();
    while lines.last().is_some_and(|l| l.is_empty()) {
        lines.pop();
    }
    lines
}

/// Text-mode literal data (`t`, made by `gpg --textmode`) is stored with CRLF line ends (RFC 9580 section
/// 5.9), which readers SHOULD turn into local ones: gpg writes LF, sq writes the stored CRLF. Either is
/// accepted; nothing else may change.
fn assert_same_text(got: &Path, want: &Path, what: &str) {
    let unify = |b: Vec<u8>| String::from_utf8_lossy(&b).replace("\r\n", "\n");
    let got_text = unify(fs::read(got).unwrap_or_else(|e| panic!("{what}: {}: {e}", got.display())));
    let want_text = unify(fs::read(want).unwrap());
    assert_eq!(got_text, want_text, "{what}: the text in {} differs from {}", got.display(), want.display());
}

fn assert_same_cleartext(got: &Path, want: &Path, what: &str) {
    let got_lines = cleartext_lines(&fs::read(got).unwrap_or_else(|e| panic!("{what}: {}: {e}", got.display())));
    let want_lines = cleartext_lines(&fs::read(want).unwrap());
    assert_eq!(got_lines, want_lines, "{what}: the text in {} differs from {}", got.display(), want.display());
}

/// Flips one bit of the byte at `at` (from the start; negative: from the end).
fn tamper(path: &Path, at: isize) {
    let mut bytes = fs::read(path).unwrap();
    let i = if at < 0 { bytes.len() - at.unsigned_abs() } else { at.unsigned_abs() };
    bytes[i] ^= 0x10;
    fs::write(path, bytes).unwrap();
}

/// Changes a byte in the middle of the file.
fn tamper_middle(path: &Path) {
    let len = fs::metadata(path).unwrap().len();
    tamper(path, isize::try_from(len / 2).unwrap());
}

/// One way of signing in a table: label, the signing tool's arguments, input, whether the content travels
/// inside (inline), whether it is a cleartext signature, and one more expectation `T`.
type SignCase<'a, T> = (&'a str, &'a [&'a str], &'a Path, bool, bool, T);

// ---------------------------------------------------------------------------------------------------------
// Verdicts.

fn verdict(path: &Path) -> Value {
    let text = fs::read_to_string(path).unwrap_or_else(|e| panic!("no verdict JSON at {}: {e}", path.display()));
    serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("verdict JSON {} does not parse: {e}\n{text}", path.display()))
}

fn weak_list(v: &Value) -> Vec<String> {
    v["weak"].as_array().map(|a| a.iter().filter_map(|w| w.as_str().map(str::to_string)).collect()).unwrap_or_default()
}

/// An encrypted message with an MDC under `cipher`, labelled weak exactly when the cipher is.
fn assert_encrypted(v: &Value, cipher: &str, weak: bool) {
    assert_eq!(v["format"], "pgp", "verdict {v:#}");
    assert_eq!(v["encrypted"], true, "verdict {v:#}");
    assert_eq!(v["integrity"], "mdc", "verdict {v:#}");
    assert_eq!(v["algorithms"]["cipher"], cipher, "verdict {v:#}");
    assert_eq!(weak_list(v).iter().any(|w| w == cipher), weak, "weak list of verdict {v:#}");
}

/// The verdict names the compression layer (`None`: there is none).
fn assert_compression(v: &Value, want: Option<&str>) {
    let got = &v["algorithms"]["compression"];
    match want {
        None => assert!(got.is_null() || *got == "none", "expected no compression, verdict {v:#}"),
        // "zip" is raw deflate (RFC 1951); accept either name for it.
        Some("deflate") => assert!(*got == "deflate" || *got == "zip", "expected deflate, verdict {v:#}"),
        Some(name) => assert_eq!(*got, name, "verdict {v:#}"),
    }
}

fn assert_unsigned(v: &Value) {
    assert_eq!(v["status"], "no-signature", "verdict {v:#}");
    assert_eq!(v["signers"].as_array().map(Vec::len), Some(0), "verdict {v:#}");
}

/// One good signature by `key`; the message status is `status` (pass, or pass-weak).
fn assert_signed_by(v: &Value, key: &Key, status: &str) {
    assert_eq!(v["format"], "pgp", "verdict {v:#}");
    assert_eq!(v["status"], status, "verdict {v:#}");
    let signers = v["signers"].as_array().unwrap_or_else(|| panic!("no signers in verdict {v:#}"));
    assert_eq!(signers.len(), 1, "verdict {v:#}");
    assert_eq!(signers[0]["status"], "good", "verdict {v:#}");
    let id = signers[0]["id"].as_str().unwrap_or_default();
    assert!(id.contains(&key.email), "signer id {id:?} does not name {}; verdict {v:#}", key.email);
}

// ---------------------------------------------------------------------------------------------------------
// sealpost commands.

/// `sealpost pgp decrypt` of `msg` into `plain`, verdict into `json`; the caller adds keys and certs.
fn our_decrypt(msg: &Path, plain: &Path, json: &Path) -> Command {
    let mut cmd = sealpost();
    cmd.args(["pgp", "decrypt", "--verdict-json"]).arg(json).arg("-o").arg(plain).arg(msg);
    cmd
}

/// `sealpost pgp verify --cert CERT` of `msg` (writing the content to `plain` when given), verdict to `json`.
fn our_verify(cert: &Path, msg: &Path, plain: Option<&Path>, json: &Path) -> Command {
    let mut cmd = sealpost();
    cmd.args(["pgp", "verify", "--cert"]).arg(cert).arg("--verdict-json").arg(json);
    if let Some(plain) = plain {
        cmd.arg("-o").arg(plain);
    }
    cmd.arg(msg);
    cmd
}

/// Decrypts with `key` (verifying with `signer` when given), checks exit 0, the content and the verdict's
/// encryption part; returns the verdict for further checks.
fn decrypt_and_check(dir: &Path, label: &str, msg: &Path, want: &Path, key: &Key, signer: Option<&Key>) -> Value {
    let plain = dir.join(format!("{label}.ours.out"));
    let json = dir.join(format!("{label}.ours.json"));
    let mut cmd = our_decrypt(msg, &plain, &json);
    cmd.arg("--key").arg(&key.key);
    if let Some(signer) = signer {
        cmd.arg("--verify-with").arg(&signer.cert);
    }
    expect_exit(&mut cmd, 0);
    assert_same_file(&plain, want, label);
    let v = verdict(&json);
    let _ = fs::remove_file(&plain);
    v
}

// ---------------------------------------------------------------------------------------------------------
// Keys.

/// A key pair in files: the certificate and the (unprotected, mode 0600) secret key, with its user id.
struct Key {
    name: &'static str,
    email: String,
    cert: PathBuf,
    key: PathBuf,
}

/// Keys sealpost makes: RSA 3072 (Alice) and Ed25519 with a Cv25519 subkey (Carol).
fn our_keys() -> &'static [Key] {
    static KEYS: OnceLock<Vec<Key>> = OnceLock::new();
    KEYS.get_or_init(|| {
        let dir = scratch("interop-pgp-our-keys");
        [("alice", "Alice", "alice@example.org", "rsa3072"), ("carol", "Carol", "carol@example.org", "ed25519")]
            .into_iter()
            .map(|(name, display, email, algo)| {
                let prefix = dir.join(name);
                expect_exit(
                    sealpost()
                        .args(["key", "generate", "--type", "pgp", "--uid", &format!("{display} <{email}>")])
                        .args(["--algo", algo, "--output"])
                        .arg(&prefix),
                    0,
                );
                let key = prefix.with_extension("key");
                let mode = fs::metadata(&key).unwrap().permissions().mode() & 0o777;
                assert_eq!(mode, 0o600, "sealpost key generate must write {} with mode 0600", key.display());
                Key { name, email: email.to_string(), cert: prefix.with_extension("cert"), key }
            })
            .collect()
    })
}

// ---------------------------------------------------------------------------------------------------------
// GnuPG.

/// `gpg -d` with the status lines and a packet trace (`-vv`) in the returned text; checks that gpg
/// decrypted, with an MDC, under `cipher_id` when given.
fn gpg_decrypt(gpg: &Gpg, msg: &Path, plain: &Path, cipher_id: Option<u8>) -> String {
    let out = run_ok(gpg.cmd().args(["--status-fd", "2", "-vv", "-d", "-o"]).arg(plain).arg(msg));
    let text = both(&out);
    assert!(text.contains("[GNUPG:] DECRYPTION_OKAY"), "gpg did not report DECRYPTION_OKAY:\n{text}");
    assert!(text.contains("[GNUPG:] GOODMDC"), "gpg did not report GOODMDC:\n{text}");
    if let Some(id) = cipher_id {
        let info = text.lines().find(|l| l.starts_with("[GNUPG:] DECRYPTION_INFO")).unwrap_or_default();
        let algo = info.split_whitespace().nth(3);
        assert_eq!(algo, Some(id.to_string().as_str()), "gpg's DECRYPTION_INFO {info:?}: cipher id");
    }
    text
}

/// In gpg's status lines, the `VALIDSIG` hash algorithm id (RFC 9580: 2 SHA-1, 8 SHA-256, 10 SHA-512).
fn gpg_validsig_hash(status: &str) -> Option<String> {
    let line = status.lines().find(|l| l.starts_with("[GNUPG:] VALIDSIG "))?;
    line.split_whitespace().nth(9).map(str::to_string)
}

/// Keys gpg makes: RSA 3072 with an RSA 3072 encryption subkey (Bob), Ed25519 with Cv25519 (Dave).
fn gpg_keys(bin: &Path) -> &'static [Key] {
    static KEYS: OnceLock<Vec<Key>> = OnceLock::new();
    KEYS.get_or_init(|| {
        let dir = scratch("interop-pgp-gpg-keys");
        let gpg = Gpg::new(bin);
        [
            ("bob", "Bob", "bob@example.net", "rsa3072", "rsa3072"),
            ("dave", "Dave", "dave@example.net", "ed25519", "cv25519"),
        ]
        .into_iter()
        .map(|(name, display, email, primary, sub)| {
            let uid = format!("{display} <{email}>");
            run_ok(gpg.cmd().args(["--quick-gen-key", &uid, primary, "sign,cert", "never"]));
            let fpr = gpg.fingerprint(email);
            run_ok(gpg.cmd().args(["--quick-add-key", &fpr, sub, "encr", "never"]));
            let cert = dir.join(format!("{name}.cert"));
            let key = dir.join(format!("{name}.key"));
            run_ok(gpg.cmd().args(["--armor", "--output"]).arg(&cert).args(["--export", email]));
            run_ok(gpg.cmd().args(["--armor", "--output"]).arg(&key).args(["--export-secret-keys", email]));
            private(&key);
            Key { name, email: email.to_string(), cert, key }
        })
        .collect()
    })
}

/// A gpg home for one test, holding the certificates of all keys and the secret keys of `secret`.
fn gpg_home(bin: &Path, secret: &[&Key]) -> Gpg {
    let gpg = Gpg::new(bin);
    let mut files: Vec<&Path> = our_keys().iter().chain(gpg_keys(bin)).map(|k| k.cert.as_path()).collect();
    files.extend(secret.iter().map(|k| k.key.as_path()));
    gpg.import(&files);
    gpg
}

fn gpg_or_skip(test: &str) -> Option<PathBuf> {
    peer(test, "gpg")
}

#[test]
fn gpg_encrypts_every_cipher_and_compression_we_decrypt() {
    const TEST: &str = "gpg_encrypts_every_cipher_and_compression_we_decrypt";
    let Some(bin) = gpg_or_skip(TEST) else { return };
    let dir = scratch(TEST);
    let gpg = gpg_home(&bin, &[]);
    // Recipients alternate between gpg's keys (RSA, Cv25519) and ours imported into gpg.
    let recipients: Vec<&Key> = gpg_keys(&bin).iter().chain(our_keys()).collect();
    let mut m = Matrix::new(TEST);
    for (i, c) in CIPHERS.iter().enumerate() {
        for (j, z) in COMPRESSIONS.iter().enumerate() {
            let to = recipients[(i + j) % recipients.len()];
            let label = format!("gpg-{}-{}-to-{}", c.ours, z.ours, to.name);
            m.case(&label, || {
                let plain = write(&dir, &label, &pseudo_random(BIG + 13 * i + j, 0x5eed + (i * 8 + j) as u64));
                let msg = dir.join(format!("{label}.gpg"));
                run_ok(
                    gpg.cmd()
                        .args(["--cipher-algo", c.gpg])
                        .args(z.gpg)
                        .args(["--recipient", &to.email, "--output"])
                        .arg(&msg)
                        .arg("--encrypt")
                        .arg(&plain),
                );
                let v = decrypt_and_check(&dir, &label, &msg, &plain, to, None);
                assert_encrypted(&v, c.ours, c.weak);
                assert_compression(&v, z.verdict);
                assert_unsigned(&v);
                let _ = fs::remove_file(&plain);
                let _ = fs::remove_file(&msg);
            });
        }
    }
    m.finish(&dir);
}

#[test]
fn we_encrypt_every_cipher_and_compression_gpg_decrypts() {
    const TEST: &str = "we_encrypt_every_cipher_and_compression_gpg_decrypts";
    let Some(bin) = gpg_or_skip(TEST) else { return };
    let dir = scratch(TEST);
    let all: Vec<&Key> = gpg_keys(&bin).iter().chain(our_keys()).collect();
    let gpg = gpg_home(&bin, &all);
    let mut m = Matrix::new(TEST);
    for (i, c) in CIPHERS.iter().enumerate() {
        for (j, z) in COMPRESSIONS.iter().enumerate() {
            let to = all[(i + j) % all.len()];
            let armor = (i + j) % 2 == 1;
            let label = format!("ours-{}-{}-to-{}{}", c.ours, z.ours, to.name, if armor { "-armor" } else { "" });
            m.case(&label, || {
                let plain = write(&dir, &label, &pseudo_random(BIG + 7 * i + j, 0xfeed + (i * 8 + j) as u64));
                let msg = dir.join(format!("{label}.pgp"));
                let mut cmd = sealpost();
                cmd.args(["pgp", "encrypt", "--recipient"])
                    .arg(&to.cert)
                    .args(["--cipher", c.ours, "--compress", z.ours, "-o"])
                    .arg(&msg)
                    .arg(&plain);
                if armor {
                    cmd.arg("--armor");
                }
                expect_exit(&mut cmd, 0);
                if armor {
                    let head = fs::read(&msg).unwrap();
                    assert!(head.starts_with(b"-----BEGIN PGP MESSAGE-----"), "{label}: --armor output is not armored");
                }
                let out = dir.join(format!("{label}.gpg.out"));
                let trace = gpg_decrypt(&gpg, &msg, &out, Some(c.id));
                if z.id == 0 {
                    assert!(!trace.contains(":compressed packet:"), "{label}: gpg saw a compressed packet:\n{trace}");
                } else {
                    let want = format!(":compressed packet: algo={}", z.id);
                    assert!(trace.contains(&want), "{label}: gpg's trace lacks {want:?}:\n{trace}");
                }
                assert_same_file(&out, &plain, &label);
                for f in [&plain, &msg, &out] {
                    let _ = fs::remove_file(f);
                }
            });
        }
    }
    m.finish(&dir);
}

#[test]
fn gpg_sizes_and_streams_both_ways() {
    const TEST: &str = "gpg_sizes_and_streams_both_ways";
    let Some(bin) = gpg_or_skip(TEST) else { return };
    let dir = scratch(TEST);
    let all: Vec<&Key> = gpg_keys(&bin).iter().chain(our_keys()).collect();
    let gpg = gpg_home(&bin, &all);
    let contents: Vec<(&str, Vec<u8>)> = vec![
        ("empty", Vec::new()),
        ("one-byte", vec![0x42]),
        ("letter", letter()),
        ("8191", pseudo_random(8191, 1)),
        ("8193", pseudo_random(8193, 2)),
        ("1mib-plus-1", pseudo_random(MIB + 1, 3)),
        ("big", pseudo_random(BIG, 4)),
    ];
    let mut m = Matrix::new(TEST);
    for (i, (name, data)) in contents.iter().enumerate() {
        let plain = write(&dir, name, data);
        let to = all[i % all.len()];
        // gpg reading a pipe writes partial body lengths; from a file, a definite length. Alternate them,
        // with the armor.
        let stream = i % 2 == 0;
        let label = format!("gpg-to-ours-{name}-to-{}", to.name);
        m.case(&label, || {
            let msg = dir.join(format!("{label}.asc"));
            let mut cmd = gpg.cmd();
            cmd.args(["--armor", "--recipient", &to.email, "--encrypt"]);
            if stream {
                expect_exit(piped(&mut cmd, &plain, &msg), 0);
            } else {
                expect_exit(cmd.arg("--output").arg(&msg).arg(&plain), 0);
            }
            let v = decrypt_and_check(&dir, &label, &msg, &plain, to, None);
            assert_encrypted(&v, "aes256", false);
            assert_unsigned(&v);
        });
        // And ours: sealpost reading standard input and writing standard output, or files.
        let label = format!("ours-to-gpg-{name}-to-{}", to.name);
        m.case(&label, || {
            let msg = dir.join(format!("{label}.pgp"));
            let mut cmd = sealpost();
            cmd.args(["pgp", "encrypt", "--recipient"]).arg(&to.cert);
            if stream {
                expect_exit(piped(&mut cmd, &plain, &msg), 0);
            } else {
                expect_exit(cmd.args(["--armor", "-o"]).arg(&msg).arg(&plain), 0);
            }
            let out = dir.join(format!("{label}.out"));
            gpg_decrypt(&gpg, &msg, &out, Some(9));
            assert_same_file(&out, &plain, &label);
        });
    }
    // A hidden recipient (`--throw-keyids`: a wildcard key id): we try the key we have.
    m.case("hidden-recipient", || {
        let carol = &our_keys()[1];
        let plain = write(&dir, "hidden", &pseudo_random(MIB + 5, 6));
        let msg = dir.join("hidden.gpg");
        run_ok(
            gpg.cmd()
                .args(["--throw-keyids", "--recipient", &carol.email, "--output"])
                .arg(&msg)
                .arg("--encrypt")
                .arg(&plain),
        );
        decrypt_and_check(&dir, "hidden", &msg, &plain, carol, None);
    });
    // Two recipients, one of each maker: both can read it, in both directions.
    m.case("two-recipients", || {
        let (bob, alice) = (&gpg_keys(&bin)[0], &our_keys()[0]);
        let plain = write(&dir, "two", &pseudo_random(MIB + 3, 5));
        let theirs = dir.join("two.gpg");
        run_ok(
            gpg.cmd()
                .args(["--recipient", &bob.email, "--recipient", &alice.email, "--output"])
                .arg(&theirs)
                .arg("--encrypt")
                .arg(&plain),
        );
        decrypt_and_check(&dir, "two-theirs-bob", &theirs, &plain, bob, None);
        decrypt_and_check(&dir, "two-theirs-alice", &theirs, &plain, alice, None);
        let ours = dir.join("two.pgp");
        expect_exit(
            sealpost()
                .args(["pgp", "encrypt", "--recipient"])
                .arg(&bob.cert)
                .arg("--recipient")
                .arg(&alice.cert)
                .arg("-o")
                .arg(&ours)
                .arg(&plain),
            0,
        );
        let out = dir.join("two.gpg.out");
        let trace = gpg_decrypt(&gpg, &ours, &out, None);
        assert_eq!(trace.matches("[GNUPG:] ENC_TO ").count(), 2, "gpg should see two recipients:\n{trace}");
        assert_same_file(&out, &plain, "two recipients");
        decrypt_and_check(&dir, "two-ours-alice", &ours, &plain, alice, None);
    });
    m.finish(&dir);
}

#[test]
fn gpg_signs_we_verify() {
    const TEST: &str = "gpg_signs_we_verify";
    let Some(bin) = gpg_or_skip(TEST) else { return };
    let dir = scratch(TEST);
    let theirs: Vec<&Key> = gpg_keys(&bin).iter().collect();
    let gpg = gpg_home(&bin, &theirs);
    let big = write(&dir, "big", &pseudo_random(BIG, 11));
    let text = write(&dir, "letter.txt", &letter());
    let big_text_file = write(&dir, "big.txt", &big_text());
    let empty = write(&dir, "empty", b"");
    let mut m = Matrix::new(TEST);
    for signer in &theirs {
        let who = signer.name;
        // (label, gpg arguments, input, inline?, textual?)
        let kinds: [(&str, &[&str], &Path, bool, bool); 9] = [
            ("binary", &["--sign"], &big, true, false),
            ("binary-armor-sha512", &["--sign", "--armor", "--digest-algo", "SHA512"], &big, true, false),
            ("binary-empty", &["--sign"], &empty, true, false),
            ("textmode", &["--sign", "--textmode"], &text, true, false),
            ("cleartext", &["--clearsign"], &text, true, true),
            ("cleartext-big", &["--clearsign"], &big_text_file, true, true),
            ("detached", &["--detach-sign"], &big, false, false),
            ("detached-armor", &["--detach-sign", "--armor"], &text, false, false),
            ("detached-textmode", &["--detach-sign", "--textmode"], &text, false, false),
        ];
        for (kind, args, input, inline, clear) in kinds {
            let label = format!("{who}-{kind}");
            m.case(&label, || {
                let sig = dir.join(format!("{label}.sig"));
                run_ok(gpg.cmd().args(["--local-user", &signer.email]).args(args).arg("--output").arg(&sig).arg(input));
                let json = dir.join(format!("{label}.json"));
                if inline {
                    let plain = dir.join(format!("{label}.out"));
                    expect_exit(&mut our_verify(&signer.cert, &sig, Some(&plain), &json), 0);
                    if clear {
                        assert_same_cleartext(&plain, input, &label);
                    } else if kind == "textmode" {
                        assert_same_text(&plain, input, &label);
                    } else {
                        assert_same_file(&plain, input, &label);
                    }
                } else {
                    expect_exit(our_verify(&signer.cert, input, None, &json).arg("--signature").arg(&sig), 0);
                }
                let v = verdict(&json);
                assert_signed_by(&v, signer, "pass");
                assert_eq!(v["encrypted"], false, "verdict {v:#}");
            });
        }
    }
    // Two signers in one message: both good with both certificates.
    m.case("two-signers", || {
        let sig = dir.join("two.gpg");
        run_ok(
            gpg.cmd()
                .args(["--local-user", &theirs[0].email, "--local-user", &theirs[1].email, "--output"])
                .arg(&sig)
                .arg("--sign")
                .arg(&big),
        );
        let (plain, json) = (dir.join("two.out"), dir.join("two.json"));
        expect_exit(our_verify(&theirs[0].cert, &sig, Some(&plain), &json).arg("--cert").arg(&theirs[1].cert), 0);
        assert_same_file(&plain, &big, "two signers");
        let v = verdict(&json);
        assert_eq!(v["status"], "pass", "verdict {v:#}");
        let signers = v["signers"].as_array().unwrap();
        assert_eq!(signers.len(), 2, "verdict {v:#}");
        assert!(signers.iter().all(|s| s["status"] == "good"), "verdict {v:#}");
    });
    // SHA-1 is read, and labelled weak.
    let bob = theirs[0];
    for (kind, args) in [("sha1-binary", &["--sign"][..]), ("sha1-detached", &["--detach-sign"][..])] {
        m.case(kind, || {
            let sig = dir.join(format!("{kind}.sig"));
            run_ok(
                gpg.cmd()
                    .args(["--local-user", &bob.email, "--digest-algo", "SHA1"])
                    .args(args)
                    .arg("--output")
                    .arg(&sig)
                    .arg(&text),
            );
            let json = dir.join(format!("{kind}.json"));
            if kind == "sha1-binary" {
                let plain = dir.join(format!("{kind}.out"));
                expect_exit(&mut our_verify(&bob.cert, &sig, Some(&plain), &json), 0);
                assert_same_file(&plain, &text, kind);
            } else {
                expect_exit(our_verify(&bob.cert, &text, None, &json).arg("--signature").arg(&sig), 0);
            }
            let v = verdict(&json);
            assert_signed_by(&v, bob, "pass-weak");
            let signer_weak: Vec<&str> =
                v["signers"][0]["weak"].as_array().unwrap().iter().filter_map(Value::as_str).collect();
            assert!(
                weak_list(&v).iter().any(|w| w == "sha1") || signer_weak.contains(&"sha1"),
                "sha1 is not in the weak list: {v:#}"
            );
        });
    }
    m.finish(&dir);
}

#[test]
fn we_sign_gpg_verifies() {
    const TEST: &str = "we_sign_gpg_verifies";
    let Some(bin) = gpg_or_skip(TEST) else { return };
    let dir = scratch(TEST);
    let gpg = gpg_home(&bin, &[]);
    let big = write(&dir, "big", &pseudo_random(BIG, 21));
    let text = write(&dir, "letter.txt", &letter());
    let big_text_file = write(&dir, "big.txt", &big_text());
    let empty = write(&dir, "empty", b"");
    let mut m = Matrix::new(TEST);
    for signer in our_keys() {
        // (label, our arguments, input, inline?, cleartext?, hash id gpg must report)
        let kinds: [SignCase<'_, &str>; 10] = [
            ("default", &[], &big, true, false, "8"),
            ("armor", &["--armor"], &big, true, false, "8"),
            ("sha512", &["--hash", "sha512"], &big, true, false, "10"),
            ("empty", &[], &empty, true, false, "8"),
            ("detached", &["--detached"], &big, false, false, "8"),
            ("detached-armor-text", &["--detached", "--armor"], &text, false, false, "8"),
            ("cleartext", &["--cleartext"], &text, true, true, "8"),
            ("cleartext-sha512", &["--cleartext", "--hash", "sha512"], &text, true, true, "10"),
            ("cleartext-big", &["--cleartext"], &big_text_file, true, true, "8"),
            ("sha1", &["--hash", "sha1"], &text, true, false, "2"),
        ];
        for (kind, args, input, inline, clear, hash) in kinds {
            let label = format!("{}-{kind}", signer.name);
            m.case(&label, || {
                let sig = dir.join(format!("{label}.sig"));
                expect_exit(
                    sealpost()
                        .args(["pgp", "sign", "--key"])
                        .arg(&signer.key)
                        .args(args)
                        .arg("-o")
                        .arg(&sig)
                        .arg(input),
                    0,
                );
                let mut verify = gpg.cmd();
                verify.args(["--status-fd", "2", "--verify"]).arg(&sig);
                if !inline {
                    verify.arg(input);
                }
                let out = run_ok(&mut verify);
                let said = String::from_utf8_lossy(&out.stderr).into_owned();
                assert!(said.contains("Good signature"), "{label}: gpg did not say Good signature:\n{said}");
                assert!(said.contains("[GNUPG:] GOODSIG "), "{label}: no GOODSIG:\n{said}");
                assert_eq!(gpg_validsig_hash(&said).as_deref(), Some(hash), "{label}: hash algorithm in\n{said}");
                if inline {
                    let plain = dir.join(format!("{label}.out"));
                    run_ok(gpg.cmd().arg("--output").arg(&plain).arg("--decrypt").arg(&sig));
                    if clear {
                        assert_same_cleartext(&plain, input, &label);
                    } else {
                        assert_same_file(&plain, input, &label);
                    }
                }
            });
        }
    }
    m.finish(&dir);
}

#[test]
fn sign_and_encrypt_with_gpg_both_ways() {
    const TEST: &str = "sign_and_encrypt_with_gpg_both_ways";
    let Some(bin) = gpg_or_skip(TEST) else { return };
    let dir = scratch(TEST);
    let theirs: Vec<&Key> = gpg_keys(&bin).iter().collect();
    let ours: Vec<&Key> = our_keys().iter().collect();
    let all: Vec<&Key> = theirs.iter().chain(&ours).copied().collect();
    let gpg = gpg_home(&bin, &all);
    let mut m = Matrix::new(TEST);
    for (i, (&them, &us)) in theirs.iter().zip(&ours).enumerate() {
        let plain = write(&dir, &format!("plain-{i}"), &pseudo_random(BIG + i, 31 + i as u64));
        // gpg signs with its key and encrypts to ours: `gpg -s -e`.
        let c = &CIPHERS[i * 2]; // aes256, then aes128
        let label = format!("gpg-{}-signs-for-{}-{}", them.name, us.name, c.ours);
        m.case(&label, || {
            let msg = dir.join(format!("{label}.gpg"));
            run_ok(
                gpg.cmd()
                    .args(["--local-user", &them.email, "--recipient", &us.email, "--cipher-algo", c.gpg, "--output"])
                    .arg(&msg)
                    .args(["--sign", "--encrypt"])
                    .arg(&plain),
            );
            let v = decrypt_and_check(&dir, &label, &msg, &plain, us, Some(them));
            assert_encrypted(&v, c.ours, false);
            assert_signed_by(&v, them, "pass");
        });
        // A weak cipher under a good signature: still readable, and labelled.
        let label = format!("gpg-{}-signs-for-{}-cast5", them.name, us.name);
        m.case(&label, || {
            let msg = dir.join(format!("{label}.gpg"));
            run_ok(
                gpg.cmd()
                    .args(["--local-user", &them.email, "--recipient", &us.email, "--cipher-algo", "CAST5"])
                    .args(["--armor", "--output"])
                    .arg(&msg)
                    .args(["--sign", "--encrypt"])
                    .arg(&plain),
            );
            let v = decrypt_and_check(&dir, &label, &msg, &plain, us, Some(them));
            assert_encrypted(&v, "cast5", true);
            assert_eq!(v["signers"][0]["status"], "good", "verdict {v:#}");
            assert!(v["status"] == "pass-weak" || v["status"] == "pass", "verdict {v:#}");
        });
        // We sign with ours and encrypt to gpg's: `sealpost pgp encrypt --sign-with`.
        for z in [&COMPRESSIONS[0], &COMPRESSIONS[2]] {
            let label = format!("{}-signs-for-gpg-{}-{}", us.name, them.name, z.ours);
            m.case(&label, || {
                let msg = dir.join(format!("{label}.pgp"));
                expect_exit(
                    sealpost()
                        .args(["pgp", "encrypt", "--recipient"])
                        .arg(&them.cert)
                        .arg("--sign-with")
                        .arg(&us.key)
                        .args(["--compress", z.ours, "-o"])
                        .arg(&msg)
                        .arg(&plain),
                    0,
                );
                let out = dir.join(format!("{label}.out"));
                let trace = gpg_decrypt(&gpg, &msg, &out, Some(9));
                assert!(trace.contains("Good signature"), "{label}: gpg did not say Good signature:\n{trace}");
                assert!(trace.contains("[GNUPG:] GOODSIG "), "{label}: no GOODSIG:\n{trace}");
                assert_same_file(&out, &plain, &label);
            });
        }
    }
    m.finish(&dir);
}

#[test]
fn password_messages_with_gpg_both_ways() {
    const TEST: &str = "password_messages_with_gpg_both_ways";
    let Some(bin) = gpg_or_skip(TEST) else { return };
    let dir = scratch(TEST);
    let gpg = Gpg::new(&bin);
    let password = write(&dir, "password", b"correct horse battery staple");
    private(&password);
    let wrong = write(&dir, "wrong-password", b"incorrect horse battery staple");
    private(&wrong);
    let plain = write(&dir, "plain", &pseudo_random(BIG, 41));
    let mut m = Matrix::new(TEST);
    for c in [&CIPHERS[0], &CIPHERS[2], &CIPHERS[4]] {
        let label = format!("gpg-symmetric-{}", c.ours);
        m.case(&label, || {
            let msg = dir.join(format!("{label}.gpg"));
            run_ok(
                gpg.cmd_without_passphrase()
                    .arg("--passphrase-file")
                    .arg(&password)
                    .args(["--cipher-algo", c.gpg, "--output"])
                    .arg(&msg)
                    .arg("--symmetric")
                    .arg(&plain),
            );
            let out = dir.join(format!("{label}.out"));
            let json = dir.join(format!("{label}.json"));
            expect_exit(our_decrypt(&msg, &out, &json).arg("--password-file").arg(&password), 0);
            assert_same_file(&out, &plain, &label);
            let v = verdict(&json);
            assert_encrypted(&v, c.ours, c.weak);
            // The wrong password is a cryptographic failure, and writes nothing.
            let out2 = dir.join(format!("{label}.wrong.out"));
            expect_exit(our_decrypt(&msg, &out2, &json).arg("--password-file").arg(&wrong), 1);
            assert!(!out2.exists(), "{label}: a wrong password left {}", out2.display());
        });
        let label = format!("ours-password-{}", c.ours);
        m.case(&label, || {
            let msg = dir.join(format!("{label}.pgp"));
            expect_exit(
                sealpost()
                    .args(["pgp", "encrypt", "--password-file"])
                    .arg(&password)
                    .args(["--cipher", c.ours, "-o"])
                    .arg(&msg)
                    .arg(&plain),
                0,
            );
            let out = dir.join(format!("{label}.out"));
            let shown = run_ok(
                gpg.cmd_without_passphrase()
                    .arg("--passphrase-file")
                    .arg(&password)
                    .args(["--status-fd", "2", "--output"])
                    .arg(&out)
                    .arg("--decrypt")
                    .arg(&msg),
            );
            let said = both(&shown);
            assert!(said.contains("[GNUPG:] GOODMDC"), "{label}: no GOODMDC:\n{said}");
            assert_same_file(&out, &plain, &label);
            let out2 = dir.join(format!("{label}.wrong.out"));
            expect_failure(
                gpg.cmd_without_passphrase()
                    .arg("--passphrase-file")
                    .arg(&wrong)
                    .arg("--output")
                    .arg(&out2)
                    .arg("--decrypt")
                    .arg(&msg),
            );
        });
    }
    // The S2K variants gpg can be told to use: simple (0), salted (1), iterated and salted (3), with SHA-1,
    // SHA-256 and SHA-512.
    let text = write(&dir, "letter.txt", &letter());
    for (mode, digest) in [("0", "SHA1"), ("1", "SHA256"), ("1", "SHA512"), ("3", "SHA1"), ("3", "SHA512")] {
        let label = format!("gpg-s2k-mode-{mode}-{digest}");
        m.case(&label, || {
            let msg = dir.join(format!("{label}.gpg"));
            run_ok(
                gpg.cmd_without_passphrase()
                    .arg("--passphrase-file")
                    .arg(&password)
                    .args(["--s2k-mode", mode, "--s2k-digest-algo", digest, "--output"])
                    .arg(&msg)
                    .arg("--symmetric")
                    .arg(&text),
            );
            let out = dir.join(format!("{label}.out"));
            let json = dir.join(format!("{label}.json"));
            expect_exit(our_decrypt(&msg, &out, &json).arg("--password-file").arg(&password), 0);
            assert_same_file(&out, &text, &label);
        });
    }
    // A message to a password and a key: either opens it.
    m.case("ours-password-and-key", || {
        let bob = &gpg_keys(&bin)[0];
        gpg.import(&[&bob.key]);
        let msg = dir.join("both.pgp");
        expect_exit(
            sealpost()
                .args(["pgp", "encrypt", "--recipient"])
                .arg(&bob.cert)
                .arg("--password-file")
                .arg(&password)
                .arg("-o")
                .arg(&msg)
                .arg(&plain),
            0,
        );
        let out = dir.join("both.key.out");
        gpg_decrypt(&gpg, &msg, &out, Some(9));
        assert_same_file(&out, &plain, "password and key, by key");
        let out = dir.join("both.password.out");
        let json = dir.join("both.json");
        expect_exit(our_decrypt(&msg, &out, &json).arg("--password-file").arg(&password), 0);
        assert_same_file(&out, &plain, "password and key, by password");
    });
    m.finish(&dir);
}

#[test]
fn tampering_and_wrong_keys_with_gpg() {
    const TEST: &str = "tampering_and_wrong_keys_with_gpg";
    let Some(bin) = gpg_or_skip(TEST) else { return };
    let dir = scratch(TEST);
    let (bob, dave) = (&gpg_keys(&bin)[0], &gpg_keys(&bin)[1]);
    let alice = &our_keys()[0];
    let gpg = gpg_home(&bin, &[bob, dave]);
    let plain = write(&dir, "plain", &pseudo_random(BIG, 51));
    let text = write(&dir, "letter.txt", &letter());
    let mut m = Matrix::new(TEST);

    // They encrypt, someone changes a byte, we refuse (exit 1) and write nothing.
    for z in [&COMPRESSIONS[0], &COMPRESSIONS[2]] {
        let label = format!("tampered-gpg-ciphertext-{}", z.ours);
        m.case(&label, || {
            let msg = dir.join(format!("{label}.gpg"));
            run_ok(
                gpg.cmd()
                    .args(z.gpg)
                    .args(["--recipient", &alice.email, "--output"])
                    .arg(&msg)
                    .arg("--encrypt")
                    .arg(&plain),
            );
            tamper_middle(&msg);
            let out = dir.join(format!("{label}.out"));
            let json = dir.join(format!("{label}.json"));
            expect_exit(our_decrypt(&msg, &out, &json).arg("--key").arg(&alice.key), 1);
            assert!(!out.exists(), "{label}: plaintext written despite the integrity failure");
        });
    }
    // The last byte (inside the MDC).
    m.case("tampered-gpg-mdc", || {
        let msg = dir.join("mdc.gpg");
        run_ok(
            gpg.cmd().args(["-z", "0", "--recipient", &alice.email, "--output"]).arg(&msg).arg("--encrypt").arg(&text),
        );
        tamper(&msg, -1);
        let out = dir.join("mdc.out");
        expect_exit(our_decrypt(&msg, &out, &dir.join("mdc.json")).arg("--key").arg(&alice.key), 1);
        assert!(!out.exists(), "plaintext written despite a bad MDC");
    });
    // Encrypted to Bob; we hold only Alice's key.
    m.case("wrong-key", || {
        let msg = dir.join("wrong-key.gpg");
        run_ok(gpg.cmd().args(["--recipient", &bob.email, "--output"]).arg(&msg).arg("--encrypt").arg(&text));
        let out = dir.join("wrong-key.out");
        expect_exit(our_decrypt(&msg, &out, &dir.join("wrong-key.json")).arg("--key").arg(&alice.key), 1);
        assert!(!out.exists(), "wrong key: output written");
    });
    // They sign; the content is changed; we say bad (exit 1) and write nothing.
    m.case("tampered-gpg-signed-message", || {
        let msg = dir.join("signed.gpg");
        run_ok(gpg.cmd().args(["-z", "0", "--local-user", &bob.email, "--output"]).arg(&msg).arg("--sign").arg(&plain));
        tamper_middle(&msg);
        let out = dir.join("signed.out");
        let json = dir.join("signed.json");
        expect_exit(&mut our_verify(&bob.cert, &msg, Some(&out), &json), 1);
        assert!(!out.exists(), "a bad signature released the content");
        assert_eq!(verdict(&json)["status"], "fail", "verdict");
    });
    m.case("tampered-gpg-cleartext", || {
        let msg = dir.join("clear.asc");
        run_ok(gpg.cmd().args(["--local-user", &dave.email, "--output"]).arg(&msg).arg("--clearsign").arg(&text));
        let changed = fs::read_to_string(&msg).unwrap().replacen("Dear Bob", "Dear Rob", 1);
        fs::write(&msg, changed).unwrap();
        let out = dir.join("clear.out");
        expect_exit(&mut our_verify(&dave.cert, &msg, Some(&out), &dir.join("clear.json")), 1);
        assert!(!out.exists(), "a bad cleartext signature released the content");
    });
    m.case("tampered-content-under-gpg-detached-signature", || {
        let sig = dir.join("detached.sig");
        run_ok(gpg.cmd().args(["--local-user", &bob.email, "--output"]).arg(&sig).arg("--detach-sign").arg(&plain));
        let copy = write(&dir, "plain-changed", &fs::read(&plain).unwrap());
        tamper_middle(&copy);
        expect_exit(our_verify(&bob.cert, &copy, None, &dir.join("detached.json")).arg("--signature").arg(&sig), 1);
    });
    // A good signature checked against the wrong certificate: unknown signer, exit 1.
    m.case("gpg-signature-unknown-signer", || {
        let msg = dir.join("unknown.gpg");
        run_ok(gpg.cmd().args(["--local-user", &bob.email, "--output"]).arg(&msg).arg("--sign").arg(&text));
        let out = dir.join("unknown.out");
        let json = dir.join("unknown.json");
        expect_exit(&mut our_verify(&dave.cert, &msg, Some(&out), &json), 1);
        assert_eq!(verdict(&json)["status"], "unknown-signer", "verdict");
        assert!(!out.exists(), "an unknown signer released the content");
    });
    // No integrity protection (a SED packet, which `gpg --rfc2440` still writes): refused with exit 1 and no
    // output, unless --allow-unauthenticated, which decrypts and labels it.
    m.case("gpg-sed-without-mdc", || {
        let msg = dir.join("sed.gpg");
        run_ok(
            gpg.cmd()
                .args(["--rfc2440", "--cipher-algo", "CAST5", "--recipient", &alice.email, "--output"])
                .arg(&msg)
                .arg("--encrypt")
                .arg(&text),
        );
        let (out, json) = (dir.join("sed.out"), dir.join("sed.json"));
        expect_exit(our_decrypt(&msg, &out, &json).arg("--key").arg(&alice.key), 1);
        assert!(!out.exists(), "an unauthenticated message was released without --allow-unauthenticated");
        expect_exit(our_decrypt(&msg, &out, &json).arg("--key").arg(&alice.key).arg("--allow-unauthenticated"), 0);
        assert_same_file(&out, &text, "SED with --allow-unauthenticated");
        let v = verdict(&json);
        assert_eq!(v["integrity"], "none", "verdict {v:#}");
        assert_eq!(v["encrypted"], true, "verdict {v:#}");
        assert!(weak_list(&v).len() >= 2, "no integrity and CAST5 must both be labelled weak: {v:#}");
    });
    // Not OpenPGP at all: malformed input, exit 2.
    m.case("garbage", || {
        let junk = write(&dir, "junk", &pseudo_random(4096, 52));
        let out = dir.join("junk.out");
        expect_exit(our_decrypt(&junk, &out, &dir.join("junk.json")).arg("--key").arg(&alice.key), 2);
        assert!(!out.exists(), "garbage: output written");
    });

    // We encrypt, a byte changes, gpg refuses.
    m.case("tampered-ciphertext-to-gpg", || {
        let msg = dir.join("ours.pgp");
        expect_exit(
            sealpost().args(["pgp", "encrypt", "--recipient"]).arg(&bob.cert).arg("-o").arg(&msg).arg(&plain),
            0,
        );
        tamper_middle(&msg);
        let said = expect_failure(
            gpg.cmd().args(["--status-fd", "2", "--output"]).arg(dir.join("ours.out")).arg("--decrypt").arg(&msg),
        );
        assert!(!said.contains("[GNUPG:] DECRYPTION_OKAY"), "gpg accepted a tampered message:\n{said}");
    });
    // We sign, a byte changes, gpg says BAD.
    m.case("tampered-signature-to-gpg", || {
        let sig = dir.join("ours.sig");
        expect_exit(
            sealpost().args(["pgp", "sign", "--key"]).arg(&alice.key).args(["--detached", "-o"]).arg(&sig).arg(&plain),
            0,
        );
        let copy = write(&dir, "plain-changed-2", &fs::read(&plain).unwrap());
        tamper(&copy, 12345);
        let said = expect_failure(gpg.cmd().args(["--status-fd", "2", "--verify"]).arg(&sig).arg(&copy));
        assert!(said.contains("[GNUPG:] BADSIG "), "gpg did not report BADSIG:\n{said}");
    });
    m.case("tampered-cleartext-to-gpg", || {
        let msg = dir.join("ours-clear.asc");
        expect_exit(
            sealpost().args(["pgp", "sign", "--key"]).arg(&alice.key).args(["--cleartext", "-o"]).arg(&msg).arg(&text),
            0,
        );
        let changed = fs::read_to_string(&msg).unwrap().replacen("Dear Bob", "Dear Rob", 1);
        fs::write(&msg, changed).unwrap();
        let said = expect_failure(gpg.cmd().args(["--status-fd", "2", "--verify"]).arg(&msg));
        assert!(said.contains("[GNUPG:] BADSIG "), "gpg did not report BADSIG:\n{said}");
    });
    m.finish(&dir);
}

/// Passphrase-protected secret keys both ways: sealpost's (made with --passphrase-file) imported into gpg, and
/// gpg's (exported in binary, not armored) read by sealpost with --passphrase-file.
#[test]
fn protected_keys_with_gpg_both_ways() {
    const TEST: &str = "protected_keys_with_gpg_both_ways";
    let Some(bin) = gpg_or_skip(TEST) else { return };
    let dir = scratch(TEST);
    let gpg = Gpg::new(&bin);
    let secret = "key passphrase";
    let passphrase = write(&dir, "passphrase", secret.as_bytes());
    private(&passphrase);
    let wrong = write(&dir, "wrong", b"not the passphrase");
    private(&wrong);
    let with_passphrase = || {
        let mut cmd = gpg.cmd_without_passphrase();
        cmd.args(["--passphrase", secret]);
        cmd
    };
    let plain = write(&dir, "plain", &pseudo_random(MIB + 17, 161));
    let mut m = Matrix::new(TEST);
    for algo in ["rsa3072", "ed25519"] {
        let label = format!("ours-protected-{algo}-in-gpg");
        m.case(&label, || {
            let prefix = dir.join(&label);
            let email = format!("{algo}@example.org");
            expect_exit(
                sealpost()
                    .args(["key", "generate", "--type", "pgp", "--uid", &format!("P {algo} <{email}>"), "--algo", algo])
                    .arg("--passphrase-file")
                    .arg(&passphrase)
                    .arg("--output")
                    .arg(&prefix),
                0,
            );
            let (key, cert) = (prefix.with_extension("key"), prefix.with_extension("cert"));
            run_ok(with_passphrase().arg("--import").arg(&key));
            // gpg decrypts what we encrypt to it.
            let msg = dir.join(format!("{label}.pgp"));
            expect_exit(
                sealpost().args(["pgp", "encrypt", "--recipient"]).arg(&cert).arg("-o").arg(&msg).arg(&plain),
                0,
            );
            let out = dir.join(format!("{label}.gpg.out"));
            run_ok(with_passphrase().arg("--output").arg(&out).arg("--decrypt").arg(&msg));
            assert_same_file(&out, &plain, &label);
            // We sign with the protected key; without the passphrase we refuse.
            let sig = dir.join(format!("{label}.sig"));
            expect_exit(
                sealpost()
                    .args(["pgp", "sign", "--detached", "--key"])
                    .arg(&key)
                    .arg("--passphrase-file")
                    .arg(&passphrase)
                    .arg("-o")
                    .arg(&sig)
                    .arg(&plain),
                0,
            );
            let said = both(&run_ok(gpg.cmd().args(["--verify"]).arg(&sig).arg(&plain)));
            assert!(said.contains("Good signature"), "{label}: gpg did not say Good signature:\n{said}");
            let sig2 = dir.join(format!("{label}.nopass.sig"));
            expect_exit(
                sealpost().args(["pgp", "sign", "--detached", "--key"]).arg(&key).arg("-o").arg(&sig2).arg(&plain),
                1,
            );
            expect_exit(
                sealpost()
                    .args(["pgp", "sign", "--detached", "--key"])
                    .arg(&key)
                    .arg("--passphrase-file")
                    .arg(&wrong)
                    .arg("-o")
                    .arg(&sig2)
                    .arg(&plain),
                1,
            );
        });
    }
    for (name, primary, sub) in [("rsa", "rsa3072", "rsa3072"), ("ecc", "ed25519", "cv25519")] {
        let label = format!("gpg-protected-{name}-in-sealpost");
        m.case(&label, || {
            let email = format!("{name}@example.net");
            run_ok(with_passphrase().args([
                "--quick-gen-key",
                &format!("Q {name} <{email}>"),
                primary,
                "sign,cert",
                "never",
            ]));
            let fpr = gpg.fingerprint(&email);
            run_ok(with_passphrase().args(["--quick-add-key", &fpr, sub, "encr", "never"]));
            // Binary key files this time (no --armor).
            let (key, cert) = (dir.join(format!("{name}.key.gpg")), dir.join(format!("{name}.cert.gpg")));
            run_ok(with_passphrase().arg("--output").arg(&key).args(["--export-secret-keys", &email]));
            private(&key);
            run_ok(gpg.cmd().arg("--output").arg(&cert).args(["--export", &email]));
            let msg = dir.join(format!("{label}.gpg"));
            run_ok(gpg.cmd().args(["--recipient", &email, "--output"]).arg(&msg).arg("--encrypt").arg(&plain));
            let (out, json) = (dir.join(format!("{label}.out")), dir.join(format!("{label}.json")));
            expect_exit(
                our_decrypt(&msg, &out, &json).arg("--key").arg(&key).arg("--passphrase-file").arg(&passphrase),
                0,
            );
            assert_same_file(&out, &plain, &label);
            fs::remove_file(&out).unwrap();
            // Without the passphrase, or with a wrong one, the key is unusable: exit 1, nothing written.
            expect_exit(our_decrypt(&msg, &out, &json).arg("--key").arg(&key), 1);
            assert!(!out.exists(), "{label}: output written without the key's passphrase");
            expect_exit(our_decrypt(&msg, &out, &json).arg("--key").arg(&key).arg("--passphrase-file").arg(&wrong), 1);
            assert!(!out.exists(), "{label}: output written with a wrong passphrase");
            // We sign with gpg's protected key; gpg verifies; we verify against the binary certificate.
            let sig = dir.join(format!("{label}.sig"));
            expect_exit(
                sealpost()
                    .args(["pgp", "sign", "--key"])
                    .arg(&key)
                    .arg("--passphrase-file")
                    .arg(&passphrase)
                    .arg("-o")
                    .arg(&sig)
                    .arg(&plain),
                0,
            );
            let said = both(&run_ok(gpg.cmd().arg("--verify").arg(&sig)));
            assert!(said.contains("Good signature"), "{label}: gpg did not say Good signature:\n{said}");
            let out2 = dir.join(format!("{label}.verified"));
            expect_exit(&mut our_verify(&cert, &sig, Some(&out2), &json), 0);
            assert_same_file(&out2, &plain, &label);
        });
    }
    m.finish(&dir);
}

// ---------------------------------------------------------------------------------------------------------
// Sequoia (sq 0.27: stateless, keys and certificates as files).

/// Keys sq makes: its default Cv25519 suite (Sam) and RSA 3072 (Sara).
fn sq_keys(bin: &Path) -> &'static [Key] {
    static KEYS: OnceLock<Vec<Key>> = OnceLock::new();
    KEYS.get_or_init(|| {
        let dir = scratch("interop-pgp-sq-keys");
        [("sam", "Sam", "sam@example.com", "cv25519"), ("sara", "Sara", "sara@example.com", "rsa3k")]
            .into_iter()
            .map(|(name, display, email, suite)| {
                let key = dir.join(format!("{name}.key"));
                let cert = dir.join(format!("{name}.cert"));
                run_ok(
                    Command::new(bin)
                        .args(["key", "generate", "--cipher-suite", suite, "--userid", &format!("{display} <{email}>")])
                        .arg("--export")
                        .arg(&key),
                );
                private(&key);
                run_ok(Command::new(bin).args(["key", "extract-cert", "--output"]).arg(&cert).arg(&key));
                Key { name, email: email.to_string(), cert, key }
            })
            .collect()
    })
}

fn sq_or_skip(test: &str) -> Option<PathBuf> {
    peer(test, "sq")
}

/// `sq decrypt` with `key`, verifying with `signer` when given; checks the content.
fn sq_decrypt(sq: &Path, msg: &Path, out: &Path, key: &Key, signer: Option<&Key>, want: &Path, label: &str) {
    let mut cmd = Command::new(sq);
    cmd.args(["decrypt", "--recipient-key"]).arg(&key.key);
    if let Some(signer) = signer {
        cmd.arg("--signer-cert").arg(&signer.cert);
    }
    run_ok(cmd.arg("--output").arg(out).arg(msg));
    assert_same_file(out, want, label);
}

#[test]
fn sq_encrypts_every_compression_we_decrypt() {
    const TEST: &str = "sq_encrypts_every_compression_we_decrypt";
    let Some(sq) = sq_or_skip(TEST) else { return };
    let dir = scratch(TEST);
    let recipients: Vec<&Key> = sq_keys(&sq).iter().chain(our_keys()).collect();
    let mut m = Matrix::new(TEST);
    // sq 0.27 has no cipher option (it uses AES-256); it does choose the compression, and "pad" (its default)
    // is padding inside a deflate packet.
    let kinds: [(&str, Option<&str>); 5] = [
        ("none", None),
        ("pad", Some("deflate")),
        ("zip", Some("deflate")),
        ("zlib", Some("zlib")),
        ("bzip2", Some("bzip2")),
    ];
    for (j, (z, want)) in kinds.into_iter().enumerate() {
        for (k, binary) in [(0, false), (1, true)] {
            let to = recipients[(j + 2 * k) % recipients.len()];
            let label = format!("sq-{z}-to-{}{}", to.name, if binary { "-binary" } else { "" });
            m.case(&label, || {
                let plain = write(&dir, &label, &pseudo_random(BIG + j + k, 0x5a5a + j as u64));
                let msg = dir.join(format!("{label}.pgp"));
                let mut cmd = Command::new(&sq);
                cmd.args(["encrypt", "--recipient-cert"]).arg(&to.cert).args(["--compression", z]);
                if binary {
                    cmd.arg("--binary");
                }
                run_ok(cmd.arg("--output").arg(&msg).arg(&plain));
                let v = decrypt_and_check(&dir, &label, &msg, &plain, to, None);
                assert_encrypted(&v, "aes256", false);
                assert_compression(&v, want);
                assert_unsigned(&v);
                let _ = fs::remove_file(&plain);
            });
        }
    }
    for (i, (name, data)) in [
        ("empty", Vec::new()),
        ("one-byte", vec![7u8]),
        ("letter", letter()),
        ("1mib-plus-1", pseudo_random(MIB + 1, 9)),
    ]
    .into_iter()
    .enumerate()
    {
        let to = recipients[i % recipients.len()];
        let label = format!("sq-{name}-to-{}", to.name);
        m.case(&label, || {
            let plain = write(&dir, &label, &data);
            let msg = dir.join(format!("{label}.pgp"));
            // Through a pipe: sq streams.
            expect_exit(piped(Command::new(&sq).args(["encrypt", "--recipient-cert"]).arg(&to.cert), &plain, &msg), 0);
            let v = decrypt_and_check(&dir, &label, &msg, &plain, to, None);
            assert_encrypted(&v, "aes256", false);
        });
    }
    m.finish(&dir);
}

#[test]
fn we_encrypt_every_cipher_and_compression_sq_decrypts() {
    const TEST: &str = "we_encrypt_every_cipher_and_compression_sq_decrypts";
    let Some(sq) = sq_or_skip(TEST) else { return };
    let dir = scratch(TEST);
    let recipients: Vec<&Key> = sq_keys(&sq).iter().chain(our_keys()).collect();
    let mut m = Matrix::new(TEST);
    for (i, c) in CIPHERS.iter().enumerate() {
        for (j, z) in COMPRESSIONS.iter().enumerate() {
            let to = recipients[(i + j) % recipients.len()];
            let armor = (i + j) % 2 == 0;
            let label = format!("ours-{}-{}-to-{}{}", c.ours, z.ours, to.name, if armor { "-armor" } else { "" });
            m.case(&label, || {
                let plain = write(&dir, &label, &pseudo_random(BIG + 3 * i + j, 0xabc + (i * 8 + j) as u64));
                let msg = dir.join(format!("{label}.pgp"));
                let mut cmd = sealpost();
                cmd.args(["pgp", "encrypt", "--recipient"])
                    .arg(&to.cert)
                    .args(["--cipher", c.ours, "--compress", z.ours, "-o"])
                    .arg(&msg)
                    .arg(&plain);
                if armor {
                    cmd.arg("--armor");
                }
                expect_exit(&mut cmd, 0);
                let out = dir.join(format!("{label}.out"));
                match c.ours {
                    // Peer limitations, not ours: sq 0.27's StandardPolicy rejects 3DES ("not considered secure
                    // since 2017-02-01"), and its Nettle backend has no IDEA. sq must refuse rather than
                    // produce wrong output; gpg and rnp read these same messages (see their tests).
                    "3des" => {
                        let said = expect_failure(
                            Command::new(&sq)
                                .args(["decrypt", "--recipient-key"])
                                .arg(&to.key)
                                .arg("--output")
                                .arg(&out)
                                .arg(&msg),
                        );
                        assert!(said.contains("3DES"), "{label}: sq should name its 3DES policy:\n{said}");
                    }
                    "idea" => {
                        expect_failure(
                            Command::new(&sq)
                                .args(["decrypt", "--recipient-key"])
                                .arg(&to.key)
                                .arg("--output")
                                .arg(&out)
                                .arg(&msg),
                        );
                    }
                    _ => sq_decrypt(&sq, &msg, &out, to, None, &plain, &label),
                }
                for f in [&plain, &msg, &out] {
                    let _ = fs::remove_file(f);
                }
            });
        }
    }
    for (i, (name, data)) in [
        ("empty", Vec::new()),
        ("one-byte", vec![7u8]),
        ("letter", letter()),
        ("1mib-plus-1", pseudo_random(MIB + 1, 19)),
    ]
    .into_iter()
    .enumerate()
    {
        let to = recipients[i % recipients.len()];
        let label = format!("ours-{name}-to-{}", to.name);
        m.case(&label, || {
            let plain = write(&dir, &label, &data);
            let msg = dir.join(format!("{label}.pgp"));
            expect_exit(piped(sealpost().args(["pgp", "encrypt", "--recipient"]).arg(&to.cert), &plain, &msg), 0);
            sq_decrypt(&sq, &msg, &dir.join(format!("{label}.out")), to, None, &plain, &label);
        });
    }
    m.finish(&dir);
}

#[test]
fn sq_signs_we_verify() {
    const TEST: &str = "sq_signs_we_verify";
    let Some(sq) = sq_or_skip(TEST) else { return };
    let dir = scratch(TEST);
    let big = write(&dir, "big", &pseudo_random(BIG, 61));
    let text = write(&dir, "letter.txt", &letter());
    let big_text_file = write(&dir, "big.txt", &big_text());
    let empty = write(&dir, "empty", b"");
    let mut m = Matrix::new(TEST);
    for signer in sq_keys(&sq) {
        // (label, sq arguments, input, inline?, cleartext?)
        let kinds: [(&str, &[&str], &Path, bool, bool); 7] = [
            ("armored", &[], &big, true, false),
            ("binary", &["--binary"], &big, true, false),
            ("empty", &[], &empty, true, false),
            ("detached", &["--detached"], &big, false, false),
            ("detached-binary", &["--detached", "--binary"], &text, false, false),
            ("cleartext", &["--cleartext-signature"], &text, true, true),
            ("cleartext-big", &["--cleartext-signature"], &big_text_file, true, true),
        ];
        for (kind, args, input, inline, clear) in kinds {
            let label = format!("{}-{kind}", signer.name);
            m.case(&label, || {
                let sig = dir.join(format!("{label}.sig"));
                run_ok(
                    Command::new(&sq)
                        .args(["sign", "--signer-key"])
                        .arg(&signer.key)
                        .args(args)
                        .arg("--output")
                        .arg(&sig)
                        .arg(input),
                );
                let json = dir.join(format!("{label}.json"));
                if inline {
                    let plain = dir.join(format!("{label}.out"));
                    expect_exit(&mut our_verify(&signer.cert, &sig, Some(&plain), &json), 0);
                    if clear {
                        assert_same_cleartext(&plain, input, &label);
                    } else {
                        assert_same_file(&plain, input, &label);
                    }
                } else {
                    expect_exit(our_verify(&signer.cert, input, None, &json).arg("--signature").arg(&sig), 0);
                }
                assert_signed_by(&verdict(&json), signer, "pass");
            });
        }
    }
    m.finish(&dir);
}

#[test]
fn we_sign_sq_verifies() {
    const TEST: &str = "we_sign_sq_verifies";
    let Some(sq) = sq_or_skip(TEST) else { return };
    let dir = scratch(TEST);
    let big = write(&dir, "big", &pseudo_random(BIG, 71));
    let text = write(&dir, "letter.txt", &letter());
    let big_text_file = write(&dir, "big.txt", &big_text());
    let mut m = Matrix::new(TEST);
    for signer in our_keys() {
        let kinds: [(&str, &[&str], &Path, bool, bool); 7] = [
            ("default", &[], &big, true, false),
            ("armor", &["--armor"], &big, true, false),
            ("sha512", &["--hash", "sha512"], &text, true, false),
            ("detached", &["--detached"], &big, false, false),
            ("detached-armor", &["--detached", "--armor"], &text, false, false),
            ("cleartext", &["--cleartext"], &text, true, true),
            ("cleartext-big", &["--cleartext"], &big_text_file, true, true),
        ];
        for (kind, args, input, inline, clear) in kinds {
            let label = format!("{}-{kind}", signer.name);
            m.case(&label, || {
                let sig = dir.join(format!("{label}.sig"));
                expect_exit(
                    sealpost()
                        .args(["pgp", "sign", "--key"])
                        .arg(&signer.key)
                        .args(args)
                        .arg("-o")
                        .arg(&sig)
                        .arg(input),
                    0,
                );
                let mut verify = Command::new(&sq);
                verify.args(["verify", "--signer-cert"]).arg(&signer.cert);
                if inline {
                    let plain = dir.join(format!("{label}.out"));
                    run_ok(verify.arg("--output").arg(&plain).arg(&sig));
                    if clear {
                        assert_same_cleartext(&plain, input, &label);
                    } else {
                        assert_same_file(&plain, input, &label);
                    }
                } else {
                    run_ok(verify.arg("--detached").arg(&sig).arg(input));
                }
            });
        }
        // sq's StandardPolicy rejects SHA-1 data signatures (since 2023-02-01): a peer policy, asserted so
        // that a change shows up here. gpg and rnp verify our SHA-1 signatures (their tests).
        let label = format!("{}-sha1-refused-by-sq-policy", signer.name);
        m.case(&label, || {
            let sig = dir.join(format!("{label}.sig"));
            expect_exit(
                sealpost()
                    .args(["pgp", "sign", "--key"])
                    .arg(&signer.key)
                    .args(["--hash", "sha1", "--detached", "-o"])
                    .arg(&sig)
                    .arg(&text),
                0,
            );
            expect_failure(
                Command::new(&sq)
                    .args(["verify", "--signer-cert"])
                    .arg(&signer.cert)
                    .arg("--detached")
                    .arg(&sig)
                    .arg(&text),
            );
        });
    }
    m.finish(&dir);
}

#[test]
fn sign_and_encrypt_with_sq_both_ways() {
    const TEST: &str = "sign_and_encrypt_with_sq_both_ways";
    let Some(sq) = sq_or_skip(TEST) else { return };
    let dir = scratch(TEST);
    let mut m = Matrix::new(TEST);
    for (i, (them, us)) in sq_keys(&sq).iter().zip(our_keys()).enumerate() {
        let plain = write(&dir, &format!("plain-{i}"), &pseudo_random(BIG + 2 * i, 81 + i as u64));
        let label = format!("sq-{}-signs-for-{}", them.name, us.name);
        m.case(&label, || {
            let msg = dir.join(format!("{label}.pgp"));
            run_ok(
                Command::new(&sq)
                    .args(["encrypt", "--recipient-cert"])
                    .arg(&us.cert)
                    .arg("--signer-key")
                    .arg(&them.key)
                    .arg("--output")
                    .arg(&msg)
                    .arg(&plain),
            );
            let v = decrypt_and_check(&dir, &label, &msg, &plain, us, Some(them));
            assert_encrypted(&v, "aes256", false);
            assert_signed_by(&v, them, "pass");
        });
        for (z, cipher) in [("none", "aes128"), ("bzip2", "aes256")] {
            let label = format!("{}-signs-for-sq-{}-{z}-{cipher}", us.name, them.name);
            m.case(&label, || {
                let msg = dir.join(format!("{label}.pgp"));
                expect_exit(
                    sealpost()
                        .args(["pgp", "encrypt", "--recipient"])
                        .arg(&them.cert)
                        .arg("--sign-with")
                        .arg(&us.key)
                        .args(["--compress", z, "--cipher", cipher, "-o"])
                        .arg(&msg)
                        .arg(&plain),
                    0,
                );
                // sq exits non-zero unless the signature verifies (threshold 1 with --signer-cert).
                sq_decrypt(&sq, &msg, &dir.join(format!("{label}.out")), them, Some(us), &plain, &label);
            });
        }
    }
    m.finish(&dir);
}

#[test]
fn tampering_and_wrong_keys_with_sq() {
    const TEST: &str = "tampering_and_wrong_keys_with_sq";
    let Some(sq) = sq_or_skip(TEST) else { return };
    let dir = scratch(TEST);
    let (sam, sara) = (&sq_keys(&sq)[0], &sq_keys(&sq)[1]);
    let carol = &our_keys()[1];
    let plain = write(&dir, "plain", &pseudo_random(BIG, 91));
    let mut m = Matrix::new(TEST);
    m.case("tampered-sq-ciphertext", || {
        let msg = dir.join("sq.pgp");
        run_ok(
            Command::new(&sq)
                .args(["encrypt", "--binary", "--compression", "none", "--recipient-cert"])
                .arg(&carol.cert)
                .arg("--output")
                .arg(&msg)
                .arg(&plain),
        );
        tamper_middle(&msg);
        let out = dir.join("sq.out");
        expect_exit(our_decrypt(&msg, &out, &dir.join("sq.json")).arg("--key").arg(&carol.key), 1);
        assert!(!out.exists(), "plaintext written despite the integrity failure");
    });
    m.case("wrong-key", || {
        let msg = dir.join("to-sam.pgp");
        run_ok(
            Command::new(&sq)
                .args(["encrypt", "--recipient-cert"])
                .arg(&sam.cert)
                .arg("--output")
                .arg(&msg)
                .arg(&plain),
        );
        let out = dir.join("to-sam.out");
        expect_exit(our_decrypt(&msg, &out, &dir.join("to-sam.json")).arg("--key").arg(&carol.key), 1);
        assert!(!out.exists(), "wrong key: output written");
    });
    m.case("tampered-sq-signed-message", || {
        let msg = dir.join("signed.pgp");
        run_ok(
            Command::new(&sq)
                .args(["sign", "--binary", "--signer-key"])
                .arg(&sara.key)
                .arg("--output")
                .arg(&msg)
                .arg(&plain),
        );
        tamper_middle(&msg);
        let out = dir.join("signed.out");
        expect_exit(&mut our_verify(&sara.cert, &msg, Some(&out), &dir.join("signed.json")), 1);
        assert!(!out.exists(), "a bad signature released the content");
    });
    m.case("tampered-ciphertext-to-sq", || {
        let msg = dir.join("ours.pgp");
        expect_exit(
            sealpost()
                .args(["pgp", "encrypt", "--compress", "none", "--recipient"])
                .arg(&sam.cert)
                .arg("-o")
                .arg(&msg)
                .arg(&plain),
            0,
        );
        tamper_middle(&msg);
        let out = dir.join("ours.out");
        expect_failure(
            Command::new(&sq).args(["decrypt", "--recipient-key"]).arg(&sam.key).arg("--output").arg(&out).arg(&msg),
        );
    });
    m.case("tampered-signed-message-to-sq", || {
        let msg = dir.join("ours-signed.pgp");
        expect_exit(sealpost().args(["pgp", "sign", "--key"]).arg(&carol.key).arg("-o").arg(&msg).arg(&plain), 0);
        tamper_middle(&msg);
        expect_failure(
            Command::new(&sq)
                .args(["verify", "--signer-cert"])
                .arg(&carol.cert)
                .arg("--output")
                .arg(dir.join("ours-signed.out"))
                .arg(&msg),
        );
    });
    m.finish(&dir);
}

// ---------------------------------------------------------------------------------------------------------
// RNP.

/// An rnp home directory of its own.
struct Rnp {
    rnp: PathBuf,
    rnpkeys: PathBuf,
    home: PathBuf,
}

impl Rnp {
    fn new(rnp: &Path, rnpkeys: &Path, dir: &Path) -> Rnp {
        let home = dir.join("rnp");
        fs::create_dir_all(&home).unwrap();
        fs::set_permissions(&home, Permissions::from_mode(0o700)).unwrap();
        Rnp { rnp: rnp.to_path_buf(), rnpkeys: rnpkeys.to_path_buf(), home }
    }

    /// rnp with the empty password that opens the unprotected test keys, overwriting outputs.
    fn cmd(&self) -> Command {
        let mut cmd = Command::new(&self.rnp);
        cmd.arg("--homedir").arg(&self.home).args(["--notty", "--overwrite", "--password", ""]);
        cmd
    }

    fn keys(&self) -> Command {
        let mut cmd = Command::new(&self.rnpkeys);
        cmd.arg("--homedir").arg(&self.home).args(["--notty", "--password", ""]);
        cmd
    }

    fn import(&self, files: &[&Path]) {
        for file in files {
            run_ok(self.keys().arg("--import").arg(file));
        }
    }
}

fn rnp_or_skip(test: &str) -> Option<(PathBuf, PathBuf)> {
    Some((peer(test, "rnp")?, peer(test, "rnpkeys")?))
}

/// Keys rnp makes: RSA 3072 with an RSA subkey (Rita) and EdDSA with an X25519 subkey (Rena; rnpkeys'
/// expert menu entry 22).
fn rnp_keys(rnp: &Path, rnpkeys: &Path) -> &'static [Key] {
    static KEYS: OnceLock<Vec<Key>> = OnceLock::new();
    KEYS.get_or_init(|| {
        let dir = scratch("interop-pgp-rnp-keys");
        let r = Rnp::new(rnp, rnpkeys, &dir);
        run_ok(r.keys().args(["--generate-key", "--numbits", "3072", "--userid", "Rita <rita@example.com>"]));
        let menu = write(&dir, "expert-answers", b"22\n");
        let mut expert = r.keys();
        expert
            .args(["--generate-key", "--expert", "--userid", "Rena <rena@example.com>"])
            .stdin(File::open(&menu).unwrap());
        run_ok(&mut expert);
        [("rita", "rita@example.com"), ("rena", "rena@example.com")]
            .into_iter()
            .map(|(name, email)| {
                let cert = dir.join(format!("{name}.cert"));
                let key = dir.join(format!("{name}.key"));
                run_ok(r.keys().args(["--export-key", email, "--output"]).arg(&cert));
                run_ok(r.keys().args(["--export-key", "--secret", email, "--output"]).arg(&key));
                private(&key);
                Key { name, email: email.to_string(), cert, key }
            })
            .collect()
    })
}

/// An rnp home for one test, holding the certificates of all keys and the secret keys of `secret`.
fn rnp_home(rnp: &Path, rnpkeys: &Path, dir: &Path, secret: &[&Key]) -> Rnp {
    let r = Rnp::new(rnp, rnpkeys, dir);
    let mut files: Vec<&Path> = our_keys().iter().chain(rnp_keys(rnp, rnpkeys)).map(|k| k.cert.as_path()).collect();
    files.extend(secret.iter().map(|k| k.key.as_path()));
    r.import(&files);
    r
}

#[test]
fn rnp_encrypts_every_cipher_and_compression_we_decrypt() {
    const TEST: &str = "rnp_encrypts_every_cipher_and_compression_we_decrypt";
    let Some((rnp, rnpkeys)) = rnp_or_skip(TEST) else { return };
    let dir = scratch(TEST);
    let r = rnp_home(&rnp, &rnpkeys, &dir, &[]);
    let recipients: Vec<&Key> = rnp_keys(&rnp, &rnpkeys).iter().chain(our_keys()).collect();
    let mut m = Matrix::new(TEST);
    for (i, c) in CIPHERS.iter().enumerate() {
        for (j, z) in COMPRESSIONS.iter().enumerate() {
            let to = recipients[(i + j) % recipients.len()];
            let label = format!("rnp-{}-{}-to-{}", c.ours, z.ours, to.name);
            m.case(&label, || {
                let plain = write(&dir, &label, &pseudo_random(BIG + 5 * i + j, 0x7777 + (i * 8 + j) as u64));
                let msg = dir.join(format!("{label}.pgp"));
                run_ok(
                    r.cmd()
                        .args(["--encrypt", "--recipient", &to.email, "--cipher", c.rnp])
                        .args(z.rnp)
                        .arg("--output")
                        .arg(&msg)
                        .arg(&plain),
                );
                let v = decrypt_and_check(&dir, &label, &msg, &plain, to, None);
                assert_encrypted(&v, c.ours, c.weak);
                assert_compression(&v, z.verdict);
                assert_unsigned(&v);
                let _ = fs::remove_file(&plain);
                let _ = fs::remove_file(&msg);
            });
        }
    }
    m.finish(&dir);
}

#[test]
fn we_encrypt_every_cipher_and_compression_rnp_decrypts() {
    const TEST: &str = "we_encrypt_every_cipher_and_compression_rnp_decrypts";
    let Some((rnp, rnpkeys)) = rnp_or_skip(TEST) else { return };
    let dir = scratch(TEST);
    let all: Vec<&Key> = rnp_keys(&rnp, &rnpkeys).iter().chain(our_keys()).collect();
    let r = rnp_home(&rnp, &rnpkeys, &dir, &all);
    let mut m = Matrix::new(TEST);
    for (i, c) in CIPHERS.iter().enumerate() {
        for (j, z) in COMPRESSIONS.iter().enumerate() {
            let to = all[(i + j) % all.len()];
            let armor = (i + j) % 2 == 1;
            let label = format!("ours-{}-{}-to-{}{}", c.ours, z.ours, to.name, if armor { "-armor" } else { "" });
            m.case(&label, || {
                let plain = write(&dir, &label, &pseudo_random(BIG + 11 * i + j, 0x3333 + (i * 8 + j) as u64));
                let msg = dir.join(format!("{label}.pgp"));
                let mut cmd = sealpost();
                cmd.args(["pgp", "encrypt", "--recipient"])
                    .arg(&to.cert)
                    .args(["--cipher", c.ours, "--compress", z.ours, "-o"])
                    .arg(&msg)
                    .arg(&plain);
                if armor {
                    cmd.arg("--armor");
                }
                expect_exit(&mut cmd, 0);
                let out = dir.join(format!("{label}.out"));
                run_ok(r.cmd().arg("--decrypt").arg(&msg).arg("--output").arg(&out));
                assert_same_file(&out, &plain, &label);
                for f in [&plain, &msg, &out] {
                    let _ = fs::remove_file(f);
                }
            });
        }
    }
    m.finish(&dir);
}

#[test]
fn rnp_sizes_both_ways() {
    const TEST: &str = "rnp_sizes_both_ways";
    let Some((rnp, rnpkeys)) = rnp_or_skip(TEST) else { return };
    let dir = scratch(TEST);
    let all: Vec<&Key> = rnp_keys(&rnp, &rnpkeys).iter().chain(our_keys()).collect();
    let r = rnp_home(&rnp, &rnpkeys, &dir, &all);
    let contents: Vec<(&str, Vec<u8>)> = vec![
        ("empty", Vec::new()),
        ("one-byte", vec![0x42]),
        ("letter", letter()),
        ("8193", pseudo_random(8193, 102)),
        ("1mib-plus-1", pseudo_random(MIB + 1, 103)),
    ];
    let mut m = Matrix::new(TEST);
    for (i, (name, data)) in contents.iter().enumerate() {
        let plain = write(&dir, name, data);
        let to = all[i % all.len()];
        let stream = i % 2 == 0;
        let label = format!("rnp-to-ours-{name}-to-{}", to.name);
        m.case(&label, || {
            let msg = dir.join(format!("{label}.pgp"));
            let mut cmd = r.cmd();
            cmd.args(["--encrypt", "--armor", "--recipient", &to.email]);
            if stream {
                expect_exit(piped(cmd.args(["--output", "-"]), &plain, &msg), 0);
            } else {
                expect_exit(cmd.arg("--output").arg(&msg).arg(&plain), 0);
            }
            let v = decrypt_and_check(&dir, &label, &msg, &plain, to, None);
            assert_unsigned(&v);
        });
        let label = format!("ours-to-rnp-{name}-to-{}", to.name);
        m.case(&label, || {
            let msg = dir.join(format!("{label}.pgp"));
            let mut cmd = sealpost();
            cmd.args(["pgp", "encrypt", "--recipient"]).arg(&to.cert);
            if stream {
                expect_exit(piped(&mut cmd, &plain, &msg), 0);
            } else {
                expect_exit(cmd.args(["--armor", "-o"]).arg(&msg).arg(&plain), 0);
            }
            let out = dir.join(format!("{label}.out"));
            run_ok(r.cmd().arg("--decrypt").arg(&msg).arg("--output").arg(&out));
            assert_same_file(&out, &plain, &label);
        });
    }
    m.finish(&dir);
}

#[test]
fn rnp_signs_we_verify() {
    const TEST: &str = "rnp_signs_we_verify";
    let Some((rnp, rnpkeys)) = rnp_or_skip(TEST) else { return };
    let dir = scratch(TEST);
    let theirs: Vec<&Key> = rnp_keys(&rnp, &rnpkeys).iter().collect();
    let r = rnp_home(&rnp, &rnpkeys, &dir, &theirs);
    let big = write(&dir, "big", &pseudo_random(BIG, 111));
    let text = write(&dir, "letter.txt", &letter());
    let big_text_file = write(&dir, "big.txt", &big_text());
    let mut m = Matrix::new(TEST);
    for signer in &theirs {
        // (label, rnp arguments, input, inline?, cleartext?, status)
        let kinds: [SignCase<'_, &str>; 8] = [
            ("binary", &["--sign"], &big, true, false, "pass"),
            ("binary-uncompressed", &["--sign", "-z", "0"], &big, true, false, "pass"),
            ("armor-sha512", &["--sign", "--armor", "--hash", "SHA512"], &big, true, false, "pass"),
            ("cleartext", &["--clearsign"], &text, true, true, "pass"),
            ("cleartext-big", &["--clearsign"], &big_text_file, true, true, "pass"),
            ("detached", &["--sign", "--detach"], &big, false, false, "pass"),
            ("detached-armor", &["--sign", "--detach", "--armor"], &text, false, false, "pass"),
            ("sha1", &["--sign", "--hash", "SHA1"], &text, true, false, "pass-weak"),
        ];
        for (kind, args, input, inline, clear, status) in kinds {
            let label = format!("{}-{kind}", signer.name);
            m.case(&label, || {
                let sig = dir.join(format!("{label}.sig"));
                run_ok(r.cmd().args(args).args(["--userid", &signer.email, "--output"]).arg(&sig).arg(input));
                let json = dir.join(format!("{label}.json"));
                if inline {
                    let plain = dir.join(format!("{label}.out"));
                    expect_exit(&mut our_verify(&signer.cert, &sig, Some(&plain), &json), 0);
                    if clear {
                        assert_same_cleartext(&plain, input, &label);
                    } else {
                        assert_same_file(&plain, input, &label);
                    }
                } else {
                    expect_exit(our_verify(&signer.cert, input, None, &json).arg("--signature").arg(&sig), 0);
                }
                let v = verdict(&json);
                assert_signed_by(&v, signer, status);
                if status == "pass-weak" {
                    let signer_weak = v["signers"][0]["weak"].to_string();
                    assert!(weak_list(&v).iter().any(|w| w == "sha1") || signer_weak.contains("sha1"), "verdict {v:#}");
                }
            });
        }
    }
    m.finish(&dir);
}

#[test]
fn we_sign_rnp_verifies() {
    const TEST: &str = "we_sign_rnp_verifies";
    let Some((rnp, rnpkeys)) = rnp_or_skip(TEST) else { return };
    let dir = scratch(TEST);
    let r = rnp_home(&rnp, &rnpkeys, &dir, &[]);
    let big = write(&dir, "big", &pseudo_random(BIG, 121));
    let text = write(&dir, "letter.txt", &letter());
    let big_text_file = write(&dir, "big.txt", &big_text());
    let mut m = Matrix::new(TEST);
    for signer in our_keys() {
        let kinds: [(&str, &[&str], &Path, bool, bool); 8] = [
            ("default", &[], &big, true, false),
            ("armor", &["--armor"], &big, true, false),
            ("sha512", &["--hash", "sha512"], &big, true, false),
            ("detached", &["--detached"], &big, false, false),
            ("detached-armor", &["--detached", "--armor"], &text, false, false),
            ("cleartext", &["--cleartext"], &text, true, true),
            ("cleartext-big", &["--cleartext"], &big_text_file, true, true),
            ("sha1", &["--hash", "sha1"], &text, true, false),
        ];
        for (kind, args, input, inline, clear) in kinds {
            let label = format!("{}-{kind}", signer.name);
            m.case(&label, || {
                let sig = dir.join(format!("{label}.sig"));
                expect_exit(
                    sealpost()
                        .args(["pgp", "sign", "--key"])
                        .arg(&signer.key)
                        .args(args)
                        .arg("-o")
                        .arg(&sig)
                        .arg(input),
                    0,
                );
                let mut verify = r.cmd();
                verify.arg("--verify").arg(&sig);
                if !inline {
                    verify.arg("--source").arg(input);
                }
                if kind == "sha1" {
                    // Peer policy, not ours: rnp 0.16 treats SHA-1 data signatures made after 2019-01-19 as
                    // invalid, its own included. Asserted so that a change shows up here; gpg verifies our
                    // SHA-1 signatures (we_sign_gpg_verifies).
                    expect_failure(&mut verify);
                    return;
                }
                let said = both(&run_ok(&mut verify));
                assert!(said.contains("Good signature"), "{label}: rnp did not say Good signature:\n{said}");
                if inline {
                    let plain = dir.join(format!("{label}.out"));
                    let said = both(&run_ok(r.cmd().arg("--decrypt").arg(&sig).arg("--output").arg(&plain)));
                    assert!(said.contains("Good signature"), "{label}: rnp -d did not say Good signature:\n{said}");
                    if clear {
                        assert_same_cleartext(&plain, input, &label);
                    } else {
                        assert_same_file(&plain, input, &label);
                    }
                }
            });
        }
    }
    m.finish(&dir);
}

#[test]
fn sign_and_encrypt_with_rnp_both_ways() {
    const TEST: &str = "sign_and_encrypt_with_rnp_both_ways";
    let Some((rnp, rnpkeys)) = rnp_or_skip(TEST) else { return };
    let dir = scratch(TEST);
    let theirs: Vec<&Key> = rnp_keys(&rnp, &rnpkeys).iter().collect();
    let all: Vec<&Key> = theirs.iter().copied().chain(our_keys()).collect();
    let r = rnp_home(&rnp, &rnpkeys, &dir, &all);
    let mut m = Matrix::new(TEST);
    for (i, (&them, us)) in theirs.iter().zip(our_keys()).enumerate() {
        let plain = write(&dir, &format!("plain-{i}"), &pseudo_random(BIG + 3 * i, 131 + i as u64));
        for (c, z) in [(&CIPHERS[0], &COMPRESSIONS[2]), (&CIPHERS[2], &COMPRESSIONS[0])] {
            let label = format!("rnp-{}-signs-for-{}-{}-{}", them.name, us.name, c.ours, z.ours);
            m.case(&label, || {
                let msg = dir.join(format!("{label}.pgp"));
                run_ok(
                    r.cmd()
                        .args([
                            "--encrypt",
                            "--sign",
                            "--recipient",
                            &us.email,
                            "--userid",
                            &them.email,
                            "--cipher",
                            c.rnp,
                        ])
                        .args(z.rnp)
                        .arg("--output")
                        .arg(&msg)
                        .arg(&plain),
                );
                let v = decrypt_and_check(&dir, &label, &msg, &plain, us, Some(them));
                assert_encrypted(&v, c.ours, false);
                assert_compression(&v, z.verdict);
                assert_signed_by(&v, them, "pass");
            });
            let label = format!("{}-signs-for-rnp-{}-{}-{}", us.name, them.name, c.ours, z.ours);
            m.case(&label, || {
                let msg = dir.join(format!("{label}.pgp"));
                expect_exit(
                    sealpost()
                        .args(["pgp", "encrypt", "--recipient"])
                        .arg(&them.cert)
                        .arg("--sign-with")
                        .arg(&us.key)
                        .args(["--cipher", c.ours, "--compress", z.ours, "-o"])
                        .arg(&msg)
                        .arg(&plain),
                    0,
                );
                let out = dir.join(format!("{label}.out"));
                let said = both(&run_ok(r.cmd().arg("--decrypt").arg(&msg).arg("--output").arg(&out)));
                assert!(said.contains("Good signature"), "{label}: rnp did not say Good signature:\n{said}");
                assert_same_file(&out, &plain, &label);
            });
        }
    }
    m.finish(&dir);
}

#[test]
fn password_messages_with_rnp_both_ways() {
    const TEST: &str = "password_messages_with_rnp_both_ways";
    let Some((rnp, rnpkeys)) = rnp_or_skip(TEST) else { return };
    let dir = scratch(TEST);
    let r = Rnp::new(&rnp, &rnpkeys, &dir);
    let secret = "correct horse battery staple";
    let password = write(&dir, "password", secret.as_bytes());
    private(&password);
    let wrong = write(&dir, "wrong-password", b"incorrect horse");
    private(&wrong);
    let plain = write(&dir, "plain", &pseudo_random(BIG, 141));
    // rnp's `--password` on the command line is fine for a test password.
    let rnp_pw = |pw: &str| {
        let mut cmd = Command::new(&rnp);
        cmd.arg("--homedir").arg(&r.home).args(["--notty", "--overwrite", "--password", pw]);
        cmd
    };
    let mut m = Matrix::new(TEST);
    for c in [&CIPHERS[0], &CIPHERS[2], &CIPHERS[3]] {
        let label = format!("rnp-symmetric-{}", c.ours);
        m.case(&label, || {
            let msg = dir.join(format!("{label}.pgp"));
            run_ok(rnp_pw(secret).args(["--symmetric", "--cipher", c.rnp, "--output"]).arg(&msg).arg(&plain));
            let out = dir.join(format!("{label}.out"));
            let json = dir.join(format!("{label}.json"));
            expect_exit(our_decrypt(&msg, &out, &json).arg("--password-file").arg(&password), 0);
            assert_same_file(&out, &plain, &label);
            assert_encrypted(&verdict(&json), c.ours, c.weak);
            let out2 = dir.join(format!("{label}.wrong.out"));
            expect_exit(our_decrypt(&msg, &out2, &json).arg("--password-file").arg(&wrong), 1);
            assert!(!out2.exists(), "{label}: a wrong password left output");
        });
        let label = format!("ours-password-{}", c.ours);
        m.case(&label, || {
            let msg = dir.join(format!("{label}.pgp"));
            expect_exit(
                sealpost()
                    .args(["pgp", "encrypt", "--password-file"])
                    .arg(&password)
                    .args(["--cipher", c.ours, "-o"])
                    .arg(&msg)
                    .arg(&plain),
                0,
            );
            let out = dir.join(format!("{label}.out"));
            run_ok(rnp_pw(secret).arg("--decrypt").arg(&msg).arg("--output").arg(&out));
            assert_same_file(&out, &plain, &label);
            expect_failure(
                rnp_pw("incorrect horse")
                    .arg("--decrypt")
                    .arg(&msg)
                    .arg("--output")
                    .arg(dir.join(format!("{label}.wrong.out"))),
            );
        });
    }
    m.finish(&dir);
}

#[test]
fn tampering_and_wrong_keys_with_rnp() {
    const TEST: &str = "tampering_and_wrong_keys_with_rnp";
    let Some((rnp, rnpkeys)) = rnp_or_skip(TEST) else { return };
    let dir = scratch(TEST);
    let (rita, rena) = (&rnp_keys(&rnp, &rnpkeys)[0], &rnp_keys(&rnp, &rnpkeys)[1]);
    let (alice, carol) = (&our_keys()[0], &our_keys()[1]);
    let r = rnp_home(&rnp, &rnpkeys, &dir, &[rita, rena]);
    let plain = write(&dir, "plain", &pseudo_random(BIG, 151));
    let text = write(&dir, "letter.txt", &letter());
    let mut m = Matrix::new(TEST);
    m.case("tampered-rnp-ciphertext", || {
        let msg = dir.join("rnp.pgp");
        run_ok(r.cmd().args(["--encrypt", "-z", "0", "--recipient", &carol.email, "--output"]).arg(&msg).arg(&plain));
        tamper_middle(&msg);
        let out = dir.join("rnp.out");
        expect_exit(our_decrypt(&msg, &out, &dir.join("rnp.json")).arg("--key").arg(&carol.key), 1);
        assert!(!out.exists(), "plaintext written despite the integrity failure");
    });
    m.case("wrong-key", || {
        let msg = dir.join("to-rita.pgp");
        run_ok(r.cmd().args(["--encrypt", "--recipient", &rita.email, "--output"]).arg(&msg).arg(&text));
        let out = dir.join("to-rita.out");
        expect_exit(our_decrypt(&msg, &out, &dir.join("to-rita.json")).arg("--key").arg(&alice.key), 1);
        assert!(!out.exists(), "wrong key: output written");
    });
    m.case("tampered-rnp-signed-message", || {
        let msg = dir.join("signed.pgp");
        run_ok(r.cmd().args(["--sign", "-z", "0", "--userid", &rena.email, "--output"]).arg(&msg).arg(&plain));
        tamper_middle(&msg);
        let out = dir.join("signed.out");
        expect_exit(&mut our_verify(&rena.cert, &msg, Some(&out), &dir.join("signed.json")), 1);
        assert!(!out.exists(), "a bad signature released the content");
    });
    m.case("tampered-content-under-rnp-detached-signature", || {
        let sig = dir.join("detached.sig");
        run_ok(r.cmd().args(["--sign", "--detach", "--userid", &rita.email, "--output"]).arg(&sig).arg(&text));
        let copy = write(&dir, "letter-changed.txt", &fs::read(&text).unwrap());
        tamper(&copy, 3);
        expect_exit(our_verify(&rita.cert, &copy, None, &dir.join("detached.json")).arg("--signature").arg(&sig), 1);
    });
    m.case("tampered-ciphertext-to-rnp", || {
        let msg = dir.join("ours.pgp");
        expect_exit(
            sealpost().args(["pgp", "encrypt", "--recipient"]).arg(&rena.cert).arg("-o").arg(&msg).arg(&plain),
            0,
        );
        tamper_middle(&msg);
        expect_failure(r.cmd().arg("--decrypt").arg(&msg).arg("--output").arg(dir.join("ours.out")));
    });
    // rnp's --aead writes the pre-RFC 9580 AEAD Encrypted Data packet (tag 20, draft/LibrePGP), which
    // sealpost does not read (it reads SEIPD v1 and v2). It must refuse cleanly: a usage/malformed or
    // cryptographic exit status, an error line, and no output.
    m.case("rnp-draft-aead-refused-cleanly", || {
        let msg = dir.join("aead.pgp");
        run_ok(r.cmd().args(["--encrypt", "--aead=OCB", "--recipient", &alice.email, "--output"]).arg(&msg).arg(&text));
        let out = dir.join("aead.out");
        let shown = our_decrypt(&msg, &out, &dir.join("aead.json")).arg("--key").arg(&alice.key).output().unwrap();
        assert!(matches!(shown.status.code(), Some(1 | 2)), "{}", describe("sealpost pgp decrypt (rnp AEAD)", &shown));
        assert!(String::from_utf8_lossy(&shown.stderr).contains("sealpost: error: "), "no error line");
        assert!(!out.exists(), "output written for a message that was not decrypted");
    });
    m.case("tampered-signature-to-rnp", || {
        let sig = dir.join("ours.sig");
        expect_exit(
            sealpost().args(["pgp", "sign", "--key"]).arg(&alice.key).args(["--detached", "-o"]).arg(&sig).arg(&plain),
            0,
        );
        let copy = write(&dir, "plain-changed", &fs::read(&plain).unwrap());
        tamper_middle(&copy);
        expect_failure(r.cmd().arg("--verify").arg(&sig).arg("--source").arg(&copy));
    });
    m.finish(&dir);
}

/// Passphrase-protected secret keys both ways with rnp.
#[test]
fn protected_keys_with_rnp_both_ways() {
    const TEST: &str = "protected_keys_with_rnp_both_ways";
    let Some((rnp, rnpkeys)) = rnp_or_skip(TEST) else { return };
    let dir = scratch(TEST);
    let r = Rnp::new(&rnp, &rnpkeys, &dir);
    let secret = "key passphrase";
    let passphrase = write(&dir, "passphrase", secret.as_bytes());
    private(&passphrase);
    let with_password = |tool: &Path| {
        let mut cmd = Command::new(tool);
        cmd.arg("--homedir").arg(&r.home).args(["--notty", "--overwrite", "--password", secret]);
        cmd
    };
    let plain = write(&dir, "plain", &pseudo_random(MIB + 19, 171));
    let mut m = Matrix::new(TEST);
    m.case("ours-protected-in-rnp", || {
        let prefix = dir.join("ours");
        expect_exit(
            sealpost()
                .args(["key", "generate", "--type", "pgp", "--uid", "P <p@example.org>", "--algo", "ed25519"])
                .arg("--passphrase-file")
                .arg(&passphrase)
                .arg("--output")
                .arg(&prefix),
            0,
        );
        let (key, cert) = (prefix.with_extension("key"), prefix.with_extension("cert"));
        run_ok(r.keys().arg("--import").arg(&key));
        let msg = dir.join("ours.pgp");
        expect_exit(sealpost().args(["pgp", "encrypt", "--recipient"]).arg(&cert).arg("-o").arg(&msg).arg(&plain), 0);
        let out = dir.join("ours.rnp.out");
        run_ok(with_password(&rnp).arg("--decrypt").arg(&msg).arg("--output").arg(&out));
        assert_same_file(&out, &plain, "our protected key in rnp");
        let sig = dir.join("ours.sig");
        expect_exit(
            sealpost()
                .args(["pgp", "sign", "--key"])
                .arg(&key)
                .arg("--passphrase-file")
                .arg(&passphrase)
                .arg("-o")
                .arg(&sig)
                .arg(&plain),
            0,
        );
        let said = both(&run_ok(r.cmd().arg("--verify").arg(&sig)));
        assert!(said.contains("Good signature"), "rnp did not say Good signature:\n{said}");
    });
    m.case("rnp-protected-in-sealpost", || {
        run_ok(with_password(&rnpkeys).args(["--generate-key", "--numbits", "3072", "--userid", "Q <q@example.com>"]));
        let (key, cert) = (dir.join("q.key"), dir.join("q.cert"));
        run_ok(with_password(&rnpkeys).args(["--export-key", "--secret", "q@example.com", "--output"]).arg(&key));
        private(&key);
        run_ok(r.keys().args(["--export-key", "q@example.com", "--output"]).arg(&cert));
        let msg = dir.join("q.pgp");
        run_ok(r.cmd().args(["--encrypt", "--recipient", "q@example.com", "--output"]).arg(&msg).arg(&plain));
        let (out, json) = (dir.join("q.out"), dir.join("q.json"));
        expect_exit(our_decrypt(&msg, &out, &json).arg("--key").arg(&key).arg("--passphrase-file").arg(&passphrase), 0);
        assert_same_file(&out, &plain, "rnp's protected key in sealpost");
        fs::remove_file(&out).unwrap();
        expect_exit(our_decrypt(&msg, &out, &json).arg("--key").arg(&key), 1);
        assert!(!out.exists(), "output written without the key's passphrase");
        let sig = dir.join("q.sig");
        expect_exit(
            sealpost()
                .args(["pgp", "sign", "--detached", "--key"])
                .arg(&key)
                .arg("--passphrase-file")
                .arg(&passphrase)
                .arg("-o")
                .arg(&sig)
                .arg(&plain),
            0,
        );
        let said = both(&run_ok(r.cmd().arg("--verify").arg(&sig).arg("--source").arg(&plain)));
        assert!(said.contains("Good signature"), "rnp did not say Good signature:\n{said}");
    });
    m.finish(&dir);
}
