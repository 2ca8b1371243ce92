//! Bad OpenPGP input (issue #3 item 7) through the real `sealpost pgp decrypt` and `pgp verify`: truncated
//! and garbled packets, a wrong key, modified ciphertext, a bad or missing MDC, SED packets without
//! `--allow-unauthenticated`, compression bombs (one budget across nested layers), deep packet nesting,
//! indeterminate and huge lengths, and many tiny partial-body chunks.
//!
//! Every run must end within [`TIMEOUT`] with exit status 1 (a cryptographic verdict) or 2 (malformed input),
//! never a panic (101, or the "internal error" line of sealpost's panic hook) or a signal; stderr must hold
//! exactly one `sealpost: error: ` line, the last (a verdict summary line `pgp: ...` may precede it, as
//! CONTRACT.md has verify and decrypt print one); no `-o` file, nor its temporary `.OUT.sealpost-*`, may be
//! left; and the peak resident memory (VmHWM, sampled from `/proc`) must stay under [`MEMORY_LIMIT_KIB`].
//! Where a garbled message may still be valid (a flip in an unhashed field, RFC-valid tiny partial chunks),
//! exit 0 is accepted only with the original plaintext, byte for byte.
//!
//! Messages are made with `sealpost key generate` / `pgp encrypt` / `pgp sign`, and the shapes those cannot
//! make (SED packets, bad MDCs, bombs, nesting, odd lengths) are built here packet by packet (RFC 9580
//! sections 4.2 and 5), encrypted under a password SKESK whose session key the test knows, with the core's
//! CFB modes. A well-formed message from the same builder must decrypt, so a refusal is never an artefact of
//! the builder.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // A panic in a test is a failed test.

mod common;

use std::fs;
use std::io::Write as _;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use common::openpgp::new_len;
use sealpost::core::cipher::CipherAlgorithm;
use sealpost::core::digest::{HashAlgorithm, digest};
use sealpost::core::mode::{Direction, Mode, Padding, process};

/// A run that takes longer has hung (or is being made to work far too hard).
const TIMEOUT: Duration = Duration::from_secs(30);
/// Peak resident memory any run may reach.
const MEMORY_LIMIT_KIB: u64 = 256 * 1024;
/// The password of the hand-built messages.
const PASSWORD: &[u8] = b"bad input password";
/// The bombs expand to 1 GiB, and the big one to [`BIG_BOMB_GIB`] GiB (over the 4 GiB default budget).
const GIB: u64 = 1 << 30;
const BIG_BOMB_GIB: u64 = 8;

/// The tests take turns: each spawns many processes, and the time bound is only fair on an unshared machine.
static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

// ------------------------------------------------------------------------------------------------------------
// Running sealpost

/// What one run did.
struct Run {
    line: String,
    /// `None`: killed (by a signal, or by us after [`TIMEOUT`]).
    code: Option<i32>,
    stderr: String,
    output: Option<Vec<u8>>,
    /// Whether the `-o` file exists (checked without reading a huge one).
    output_exists: bool,
    peak_kib: u64,
    elapsed: Duration,
    /// Temporary `.OUT.sealpost-*` files left beside the `-o` path (removed once recorded).
    leftovers: Vec<PathBuf>,
}

/// Runs `sealpost args` in `dir` through [`common::sandboxed::sealpost`], then removes the `-o` file and any
/// temporary files beside it, recording those.
fn sealpost(dir: &Path, args: &[&str], output: Option<&Path>) -> Run {
    let r = common::sandboxed::sealpost(dir, args, output, None, TIMEOUT);
    let leftovers = output.map(common::sandboxed::clean_output).unwrap_or_default();
    Run {
        line: r.line,
        code: r.code,
        stderr: r.stderr,
        output: r.output,
        output_exists: r.output_exists,
        peak_kib: r.peak_kib,
        elapsed: r.elapsed,
        leftovers,
    }
}

/// What a case accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Accept {
    /// Exit 1 (a verdict: integrity, wrong key, refusal).
    Verdict,
    /// Exit 1 or 2.
    Refused,
    /// Exit 0 with exactly this plaintext, or a refusal (1 or 2).
    SameOrRefused,
    /// Exit 0 with exactly the plaintext.
    Decrypts,
}

/// Checks a run against the contract and what the case accepts; returns the problems.
fn judge(r: &Run, accept: Accept, plaintext: &[u8], stderr_has: &[&str]) -> Vec<String> {
    let mut bad = Vec::new();
    match r.code {
        None => bad.push(format!("killed: no exit within {TIMEOUT:?} (or a signal)")),
        Some(101) => bad.push("exit 101: a panic".into()),
        Some(c) if !(0..=2).contains(&c) => bad.push(format!("exit {c}")),
        _ => {}
    }
    let err = &r.stderr;
    if err.contains("panicked") || err.contains("RUST_BACKTRACE") || err.contains("stack backtrace") {
        bad.push("panic or backtrace on stderr".into());
    }
    // sealpost's panic hook turns a panic into this line and exit 2 (without unwinding).
    if err.contains("internal error") || err.contains("this is a bug") {
        bad.push("a panic, reported by sealpost's panic hook as an internal error".into());
    }
    // A killed run cannot clean up; any other must not leave its temporary output behind.
    if r.code.is_some() && !r.leftovers.is_empty() {
        bad.push(format!("temporary output file left behind: {:?}", r.leftovers));
    }
    if r.peak_kib > MEMORY_LIMIT_KIB {
        bad.push(format!("peak memory {} MiB over {} MiB", r.peak_kib >> 10, MEMORY_LIMIT_KIB >> 10));
    }
    match r.code {
        Some(0) => {
            let same = r.output.as_deref() == Some(plaintext);
            match accept {
                Accept::Decrypts | Accept::SameOrRefused if same => {}
                Accept::Decrypts | Accept::SameOrRefused => bad.push(format!(
                    "exit 0 but the output is not the plaintext ({} bytes{})",
                    r.output.as_ref().map_or(0, Vec::len),
                    if r.output_exists && r.output.is_none() { ", a huge file" } else { "" }
                )),
                _ => bad.push(format!(
                    "exit 0: accepted and released {}",
                    if r.output_exists { "an output file" } else { "nothing" }
                )),
            }
        }
        Some(code) => {
            if accept == Accept::Decrypts {
                bad.push(format!("exit {code}, want 0 (a valid message)"));
            }
            if accept == Accept::Verdict && code != 1 {
                bad.push(format!("exit {code}, want 1 (a cryptographic verdict)"));
            }
            let lines: Vec<&str> = err.lines().filter(|l| !l.trim().is_empty()).collect();
            let errors = lines.iter().filter(|l| l.starts_with("sealpost: error: ")).count();
            if errors != 1 || !lines.last().is_some_and(|l| l.starts_with("sealpost: error: ")) {
                bad.push("stderr is not one `sealpost: error: ` line (last)".into());
            }
            if lines.iter().any(|l| !l.starts_with("sealpost: error: ") && !l.starts_with("pgp: ")) {
                bad.push("stderr has other lines than the verdict summary and the error".into());
            }
            if r.output_exists {
                bad.push("an -o output file appeared although the command failed".into());
            }
            for s in stderr_has {
                if !err.to_lowercase().contains(&s.to_lowercase()) {
                    bad.push(format!("stderr lacks {s:?}"));
                }
            }
        }
        None => {}
    }
    bad
}

/// The first `n` characters of `s`, marked when cut.
fn clip(s: &str, n: usize) -> String {
    match s.char_indices().nth(n) {
        Some((i, _)) => format!("{} [... {} more bytes]", &s[..i], s.len() - i),
        None => s.to_string(),
    }
}

/// Collects the problems of one test function and reports them all at the end.
struct Report {
    name: &'static str,
    runs: usize,
    problems: Vec<String>,
    slowest: (Duration, String),
    peak: (u64, String),
}

impl Report {
    fn new(name: &'static str) -> Report {
        Report {
            name,
            runs: 0,
            problems: Vec::new(),
            slowest: (Duration::ZERO, String::new()),
            peak: (0, String::new()),
        }
    }

    fn check(&mut self, label: &str, r: &Run, accept: Accept, plaintext: &[u8], stderr_has: &[&str]) {
        self.runs += 1;
        if r.elapsed > self.slowest.0 {
            self.slowest = (r.elapsed, label.to_string());
        }
        if r.peak_kib > self.peak.0 {
            self.peak = (r.peak_kib, label.to_string());
        }
        let bad = judge(r, accept, plaintext, stderr_has);
        if !bad.is_empty() {
            self.problems.push(format!(
                "{label}: {}\n    {}\n    exit {:?} in {:.1} s, peak {} MiB; stderr: {}",
                bad.join("; "),
                r.line,
                r.code,
                r.elapsed.as_secs_f64(),
                r.peak_kib >> 10,
                clip(&r.stderr.trim().replace('\n', " | "), 400)
            ));
        }
    }

    /// Prints the summary and fails with every problem.
    fn finish(self) {
        println!(
            "{}: {} runs, {} problems; slowest {:.2} s ({}), peak {} MiB ({})",
            self.name,
            self.runs,
            self.problems.len(),
            self.slowest.0.as_secs_f64(),
            self.slowest.1,
            self.peak.0 >> 10,
            self.peak.1
        );
        assert!(self.problems.is_empty(), "{} problems:\n{}", self.problems.len(), self.problems.join("\n"));
    }
}

// ------------------------------------------------------------------------------------------------------------
// Fixtures: keys and messages made by sealpost

struct Fixture {
    dir: PathBuf,
    /// Secret key and certificate of the recipient and signer; a second, unrelated secret key.
    key: String,
    cert: String,
    wrong_key: String,
    password_file: String,
    plaintext: Vec<u8>,
    /// Text for the cleartext signature.
    text: Vec<u8>,
    /// `pgp encrypt` to `cert` (binary), with zlib compression, armored, signed and compressed.
    encrypted: Vec<u8>,
    encrypted_zlib: Vec<u8>,
    encrypted_armored: Vec<u8>,
    signed_encrypted: Vec<u8>,
    /// `pgp encrypt --password-file`.
    password_encrypted: Vec<u8>,
    /// `pgp sign` (binary) and `pgp sign --cleartext`.
    signed: Vec<u8>,
    cleartext: Vec<u8>,
    /// A message over several 1 MiB partial-body chunks.
    large_plaintext: Vec<u8>,
    large_encrypted: Vec<u8>,
    /// gpg's encryption of the plaintext to `cert` from a pipe (partial body lengths, zlib), if gpg is here.
    gpg_encrypted: Option<Vec<u8>>,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let dir = common::scratch("pgp-bad-input");
        let run_ok = |args: &[&str]| {
            let out = Command::new(env!("CARGO_BIN_EXE_sealpost")).args(args).current_dir(&dir).output().unwrap();
            assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
        };
        for name in ["t", "w"] {
            let uid = format!("{} <{name}@example.org>", name.to_uppercase());
            let prefix = dir.join(name).to_string_lossy().into_owned();
            run_ok(&["key", "generate", "--type", "pgp", "--uid", &uid, "--algo", "rsa2048", "--output", &prefix]);
        }
        let path = |n: &str| dir.join(n).to_string_lossy().into_owned();
        let pw = dir.join("password");
        fs::write(&pw, PASSWORD).unwrap();
        fs::set_permissions(&pw, fs::Permissions::from_mode(0o600)).unwrap();
        let mut plaintext = b"A letter for the bad-input tests.\n".to_vec();
        plaintext.extend(common::pseudo_random(20_000, 7));
        fs::write(dir.join("plain"), &plaintext).unwrap();
        let text = b"Dear T,\n\n- a dash-escaped line\nFrom the cleartext test.\n".to_vec();
        fs::write(dir.join("text"), &text).unwrap();
        let large_plaintext = common::pseudo_random(3 * (1 << 20) + 12_345, 11);
        fs::write(dir.join("large"), &large_plaintext).unwrap();
        let (cert, key) = (path("t.cert"), path("t.key"));
        let enc = |extra: &[&str], input: &str, out: &str| {
            let mut args = vec!["pgp", "encrypt", "--recipient", &cert];
            args.extend_from_slice(extra);
            let o = path(out);
            let i = path(input);
            args.extend(["-o", &o, &i]);
            run_ok(&args);
            fs::read(&o).unwrap()
        };
        let encrypted = enc(&[], "plain", "enc.pgp");
        let encrypted_zlib = enc(&["--compress", "zlib"], "plain", "enc-zlib.pgp");
        let encrypted_armored = enc(&["--armor"], "plain", "enc.asc");
        let signed_encrypted = enc(&["--sign-with", &key, "--compress", "zip"], "plain", "signenc.pgp");
        let large_encrypted = enc(&[], "large", "large.pgp");
        let pwfile = pw.to_string_lossy().into_owned();
        run_ok(&["pgp", "encrypt", "--password-file", &pwfile, "-o", &path("pw.pgp"), &path("plain")]);
        run_ok(&["pgp", "sign", "--key", &key, "-o", &path("signed.pgp"), &path("plain")]);
        run_ok(&["pgp", "sign", "--key", &key, "--cleartext", "-o", &path("clear.asc"), &path("text")]);
        let gpg_encrypted = common::peer("pgp_bad_input (a gpg-made message)", "gpg").map(|gpg| {
            let home = dir.join("gnupg");
            fs::create_dir_all(&home).unwrap();
            fs::set_permissions(&home, fs::Permissions::from_mode(0o700)).unwrap();
            let gpg = |args: &[&str], stdin: Stdio| {
                let out = Command::new(&gpg)
                    .env("GNUPGHOME", &home)
                    .args(["--batch", "--quiet", "--no-tty"])
                    .args(args)
                    .stdin(stdin)
                    .output()
                    .unwrap();
                assert!(out.status.success(), "gpg {args:?}: {}", String::from_utf8_lossy(&out.stderr));
                out.stdout
            };
            gpg(&["--import", &cert], Stdio::null());
            let plain = fs::File::open(dir.join("plain")).unwrap();
            gpg(&["--trust-model", "always", "--compress-algo", "zlib", "-e", "-r", "t@example.org"], plain.into())
        });
        Fixture {
            key,
            cert,
            wrong_key: path("w.key"),
            password_file: pwfile,
            plaintext,
            text,
            encrypted,
            encrypted_zlib,
            encrypted_armored,
            signed_encrypted,
            password_encrypted: fs::read(dir.join("pw.pgp")).unwrap(),
            signed: fs::read(dir.join("signed.pgp")).unwrap(),
            cleartext: fs::read(dir.join("clear.asc")).unwrap(),
            large_plaintext,
            large_encrypted,
            gpg_encrypted,
            dir,
        }
    })
}

impl Fixture {
    /// Writes `bytes` as a new input file in a subdirectory of the scratch directory.
    fn input(&self, sub: &str, name: &str, bytes: &[u8]) -> (PathBuf, PathBuf) {
        let d = self.dir.join(sub);
        fs::create_dir_all(&d).unwrap();
        let p = d.join(name);
        fs::write(&p, bytes).unwrap();
        (d.clone(), p)
    }

    /// `pgp decrypt` with the recipient's key (and the password), writing to `-o`.
    fn decrypt(&self, sub: &str, name: &str, bytes: &[u8], extra: &[&str]) -> Run {
        self.decrypt_with(&self.key, sub, name, bytes, extra)
    }

    fn decrypt_with(&self, key: &str, sub: &str, name: &str, bytes: &[u8], extra: &[&str]) -> Run {
        let (d, p) = self.input(sub, name, bytes);
        let out = d.join(format!("{name}.out"));
        let mut args = vec!["pgp", "decrypt", "--key", key, "--password-file", &self.password_file];
        args.extend_from_slice(extra);
        let (o, i) = (out.to_string_lossy().into_owned(), p.to_string_lossy().into_owned());
        args.extend(["-o", &o, &i]);
        sealpost(&d, &args, Some(&out))
    }

    /// `pgp verify` with the signer's certificate.
    fn verify(&self, sub: &str, name: &str, bytes: &[u8]) -> Run {
        let (d, p) = self.input(sub, name, bytes);
        let out = d.join(format!("{name}.out"));
        let (o, i) = (out.to_string_lossy().into_owned(), p.to_string_lossy().into_owned());
        sealpost(&d, &["pgp", "verify", "--cert", &self.cert, "-o", &o, &i], Some(&out))
    }
}

// ------------------------------------------------------------------------------------------------------------
// Packets by hand (RFC 9580 section 4.2: headers; 5.1 ff.: bodies)

/// How a packet's length is written.
#[derive(Clone, Copy, Debug)]
enum Len {
    /// New format, the shortest definite length.
    New,
    /// New format, partial bodies of `2^p` bytes (the last part definite); the first may differ.
    Partial {
        first: u8,
        rest: u8,
    },
    /// Old format with length type 0..=2 (as needed), or 3 (indeterminate: to the end of the input).
    Old,
    OldIndeterminate,
    /// New format five-octet length claiming this many bytes, whatever follows.
    Claim(u32),
    /// Old format four-octet length claiming this many bytes.
    OldClaim(u32),
}

fn packet(tag: u8, body: &[u8], len: Len) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len() + 16);
    match len {
        Len::New => {
            out.push(0xc0 | tag);
            new_len(body.len(), &mut out);
            out.extend_from_slice(body);
        }
        Len::Partial { first, rest } => {
            out.push(0xc0 | tag);
            let mut rest_body = body;
            let mut p = first;
            while rest_body.len() > (1usize << p) {
                out.push(0xe0 | p);
                out.extend_from_slice(&rest_body[..1 << p]);
                rest_body = &rest_body[1 << p..];
                p = rest;
            }
            new_len(rest_body.len(), &mut out);
            out.extend_from_slice(rest_body);
        }
        Len::Old => {
            assert!(tag < 16);
            let n = body.len();
            if n < 256 {
                out.extend_from_slice(&[0x80 | (tag << 2), n as u8]);
            } else if n < 65536 {
                out.push(0x80 | (tag << 2) | 1);
                out.extend_from_slice(&(n as u16).to_be_bytes());
            } else {
                out.push(0x80 | (tag << 2) | 2);
                out.extend_from_slice(&(n as u32).to_be_bytes());
            }
            out.extend_from_slice(body);
        }
        Len::OldIndeterminate => {
            assert!(tag < 16);
            out.push(0x80 | (tag << 2) | 3);
            out.extend_from_slice(body);
        }
        Len::Claim(n) => {
            out.push(0xc0 | tag);
            out.push(0xff);
            out.extend_from_slice(&n.to_be_bytes());
            out.extend_from_slice(body);
        }
        Len::OldClaim(n) => {
            assert!(tag < 16);
            out.push(0x80 | (tag << 2) | 2);
            out.extend_from_slice(&n.to_be_bytes());
            out.extend_from_slice(body);
        }
    }
    out
}

const TAG_PKESK: u8 = 1;
const TAG_SIGNATURE: u8 = 2;
const TAG_SKESK: u8 = 3;
const TAG_OPS: u8 = 4;
const TAG_COMPRESSED: u8 = 8;
const TAG_SED: u8 = 9;
const TAG_LITERAL: u8 = 11;
const TAG_SEIPD: u8 = 18;

/// A literal data packet body: binary, no file name, date 0.
fn literal_body(data: &[u8]) -> Vec<u8> {
    let mut b = vec![b'b', 0, 0, 0, 0, 0];
    b.extend_from_slice(data);
    b
}

fn literal(data: &[u8]) -> Vec<u8> {
    packet(TAG_LITERAL, &literal_body(data), Len::New)
}

fn deflate(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

/// A compressed data packet: algorithm 0 (uncompressed) or 1 (ZIP, raw deflate).
fn compressed(algo: u8, inner: &[u8]) -> Vec<u8> {
    let mut body = vec![algo];
    match algo {
        0 => body.extend_from_slice(inner),
        1 => body.extend(deflate(inner)),
        _ => unreachable!(),
    }
    packet(TAG_COMPRESSED, &body, Len::New)
}

/// The salt of the hand-built SKESKs; the session key is SHA-256(salt || password) (salted S2K, RFC 9580
/// section 3.7.1.2), for AES-256.
const SALT: [u8; 8] = *b"saltsalt";

fn session_key() -> Vec<u8> {
    let mut input = SALT.to_vec();
    input.extend_from_slice(PASSWORD);
    digest(HashAlgorithm::Sha256, &input).as_bytes().to_vec()
}

/// SKESK v4: AES-256, salted S2K with SHA-256, no encrypted session key.
fn skesk() -> Vec<u8> {
    let mut body = vec![4, 9, 1, 8];
    body.extend_from_slice(&SALT);
    packet(TAG_SKESK, &body, Len::New)
}

/// The random prefix: one block, its last two octets repeated.
fn prefix() -> Vec<u8> {
    let mut p = common::pseudo_random(16, 99);
    p.extend([p[14], p[15]]);
    p
}

/// What the MDC at the end of a SEIPD v1 body looks like.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mdc {
    Good,
    /// The SHA-1 with one bit flipped.
    WrongHash,
    /// No MDC packet at all.
    Missing,
    /// Only the first `n` of its 22 octets.
    Cut(usize),
    /// Tag 19 with a wrong length octet.
    BadHeader,
}

/// A SEIPD v1 body (version octet, then CFB with a zero IV over prefix, `inner`, MDC).
fn seipd_body(inner: &[u8], mdc: Mdc) -> Vec<u8> {
    let mut plain = prefix();
    plain.extend_from_slice(inner);
    let mut trailer = vec![0xd3, 0x14];
    let mut hashed = plain.clone();
    hashed.extend_from_slice(&trailer);
    let mut hash = digest(HashAlgorithm::Sha1, &hashed).as_bytes().to_vec();
    if mdc == Mdc::WrongHash {
        hash[7] ^= 0x10;
    }
    trailer.extend(hash);
    match mdc {
        Mdc::Good | Mdc::WrongHash => plain.extend(trailer),
        Mdc::Missing => {}
        Mdc::Cut(n) => plain.extend_from_slice(&trailer[..n]),
        Mdc::BadHeader => {
            trailer[1] = 0x13;
            plain.extend(trailer);
        }
    }
    let mut body = vec![1];
    body.extend(
        process(
            CipherAlgorithm::Aes256,
            Mode::Cfb,
            Direction::Encrypt,
            &session_key(),
            &[0; 16],
            Padding::None,
            &plain,
        )
        .unwrap(),
    );
    body
}

/// A password-encrypted message: SKESK, then SEIPD v1 around `inner`.
fn seipd_message(inner: &[u8], mdc: Mdc, len: Len) -> Vec<u8> {
    let mut m = skesk();
    m.extend(packet(TAG_SEIPD, &seipd_body(inner, mdc), len));
    m
}

/// A password-encrypted message with a SED packet (tag 9): OpenPGP CFB with resynchronisation, no MDC.
fn sed_message(inner: &[u8]) -> Vec<u8> {
    let mut plain = prefix();
    plain.extend_from_slice(inner);
    let body = process(
        CipherAlgorithm::Aes256,
        Mode::OpenPgpCfbResync,
        Direction::Encrypt,
        &session_key(),
        &[0; 16],
        Padding::None,
        &plain,
    )
    .unwrap();
    let mut m = skesk();
    m.extend(packet(TAG_SED, &body, Len::New));
    m
}

/// Splits binary OpenPGP data into (offset, header length, tag, body length) for its top-level packets with
/// definite lengths (enough for what sealpost writes for small messages).
fn top_packets(data: &[u8]) -> Vec<(usize, usize, u8, usize)> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < data.len() {
        let ctb = data[i];
        assert!(ctb & 0xc0 == 0xc0, "new-format packets expected at {i}");
        let b = data[i + 1] as usize;
        let (len, hl) = match b {
            0..=191 => (b, 2),
            192..=223 => (((b - 192) << 8) + data[i + 2] as usize + 192, 3),
            255 => (u32::from_be_bytes(data[i + 2..i + 6].try_into().unwrap()) as usize, 6),
            _ => panic!("partial length at {i}"),
        };
        out.push((i, hl, ctb & 0x3f, len));
        i += hl + len;
    }
    out
}

/// A password-encrypted message whose SEIPD packet is four 512-octet partial-body chunks and then ends: no
/// final length (each chunk repeats the first 512 octets of a good SEIPD body, padded with zeros).
fn seipd_partial_unended() -> Vec<u8> {
    let mut m = skesk();
    m.push(0xc0 | TAG_SEIPD);
    let mut body = seipd_body(&literal(b"length games\n"), Mdc::Good);
    body.resize(512, 0);
    for _ in 0..4 {
        m.push(0xe0 | 9);
        m.extend_from_slice(&body);
    }
    m
}

// ------------------------------------------------------------------------------------------------------------
// Bombs

/// Raw deflate of `data` from a fresh compressor, ended with a sync flush (byte-aligned, not final): such
/// segments can be concatenated, and a final empty block closes the stream.
fn deflate_segment(data_len: u64, head: &[u8], level: u32) -> Vec<u8> {
    let mut e = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::new(level));
    e.write_all(head).unwrap();
    let zeros = vec![0u8; 1 << 20];
    let mut left = data_len;
    while left > 0 {
        let n = left.min(zeros.len() as u64) as usize;
        e.write_all(&zeros[..n]).unwrap();
        left -= n as u64;
    }
    e.flush().unwrap();
    let out = std::mem::take(e.get_mut());
    drop(e); // writes its final block into the (now empty) vector we threw away
    out
}

fn deflate_final(tail: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(tail).unwrap();
    e.finish().unwrap()
}

/// A compressed data packet (ZIP) whose content is a literal packet of `gib` GiB of zeros, written with
/// 1 GiB partial-body chunks (so it can exceed 4 GiB). One GiB of zeros is compressed once and repeated.
fn zeros_bomb_layer(gib: u64) -> Vec<u8> {
    // Literal: new-format tag 11, partial chunk 2^30, then the body "b", no name, date 0, zeros...
    let mut head = vec![0xc0 | TAG_LITERAL, 0xe0 | 30];
    head.extend_from_slice(&literal_body(&[]));
    let mut stream = deflate_segment(GIB - 6, &head, 6);
    if gib > 1 {
        let next = deflate_segment(GIB, &[0xe0 | 30], 6);
        for _ in 1..gib {
            stream.extend_from_slice(&next);
        }
    }
    stream.extend(deflate_final(&[0])); // the last part: length 0
    let mut body = vec![1];
    body.extend(stream);
    packet(TAG_COMPRESSED, &body, Len::New)
}

// ------------------------------------------------------------------------------------------------------------
// The tests

#[test]
fn truncated_messages_are_refused_at_every_length() {
    let _turn = serial();
    let fx = fixture();
    let mut rep = Report::new("truncation");
    let mut inputs: Vec<(&str, &[u8], bool)> = vec![
        ("enc", &fx.encrypted, true),
        ("enc-zlib", &fx.encrypted_zlib, true),
        ("enc-armored", &fx.encrypted_armored, true),
        ("signed-encrypted", &fx.signed_encrypted, true),
        ("password", &fx.password_encrypted, true),
        ("signed", &fx.signed, false),
        ("cleartext", &fx.cleartext, false),
    ];
    if let Some(g) = &fx.gpg_encrypted {
        inputs.push(("gpg", g, true));
    }
    for (name, msg, encrypted) in inputs {
        let want = if name == "cleartext" { &fx.text } else { &fx.plaintext };
        // Armored input cut after its END line has lost only the line end: it may still be read, as long as
        // exactly the plaintext comes out.
        let end = msg.windows(8).rposition(|w| w == b"-----END");
        // Every 1/16 of the message, and inside the first packet's header.
        let mut cuts: Vec<usize> = (0..16).map(|k| k * msg.len() / 16).collect();
        cuts.extend([1, 2, 3, 5, msg.len() - 1]);
        cuts.sort_unstable();
        cuts.dedup();
        for cut in cuts {
            let label = format!("{name} cut to {cut} of {} bytes", msg.len());
            let file = format!("{name}-cut{cut}");
            let r = if encrypted {
                fx.decrypt("trunc", &file, &msg[..cut], &[])
            } else {
                fx.verify("trunc", &file, &msg[..cut])
            };
            let accept = if end.is_some_and(|e| cut > e + 8) { Accept::SameOrRefused } else { Accept::Refused };
            rep.check(&label, &r, accept, want, &[]);
            if encrypted && end.is_none() && cut > 0 {
                // The same bytes through `verify`: not a signed message.
                let r = fx.verify("trunc", &file, &msg[..cut]);
                rep.check(&format!("{label} (verify)"), &r, Accept::Refused, want, &[]);
            }
        }
    }
    rep.finish();
}

#[test]
fn garbled_headers_and_bodies_never_release_other_plaintext() {
    let _turn = serial();
    let fx = fixture();
    let mut rep = Report::new("byte flips");
    let mut inputs: Vec<(&str, &[u8], bool)> = vec![
        ("enc", &fx.encrypted, true),
        ("signed-encrypted", &fx.signed_encrypted, true),
        ("password", &fx.password_encrypted, true),
        ("signed", &fx.signed, false),
        ("cleartext", &fx.cleartext, false),
    ];
    if let Some(g) = &fx.gpg_encrypted {
        inputs.push(("gpg", g, true));
    }
    let mut rng = 0x9e37_79b9_7f4a_7c15_u64;
    let mut next = || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    for (name, msg, encrypted) in inputs {
        // The unmodified message first: what it gives is the only output a garbled copy may give.
        let r = if encrypted { fx.decrypt("flip", name, msg, &[]) } else { fx.verify("flip", name, msg) };
        let want = if name == "cleartext" { fx.text.clone() } else { fx.plaintext.clone() };
        rep.check(&format!("{name}: unmodified"), &r, Accept::Decrypts, &want, &[]);
        let want = &want;
        // Every octet of the first 24 (packet headers, versions, key ids, algorithms) and 24 random ones.
        let mut positions: Vec<usize> = (0..24.min(msg.len())).collect();
        positions.extend((0..24).map(|_| next() as usize % msg.len()));
        for pos in positions {
            let mut bad = msg.to_vec();
            let x = (next() % 255 + 1) as u8;
            bad[pos] ^= x;
            let label = format!("{name}: byte {pos} ^= {x:#04x}");
            let file = format!("{name}-flip{pos}");
            let r = if encrypted { fx.decrypt("flip", &file, &bad, &[]) } else { fx.verify("flip", &file, &bad) };
            rep.check(&label, &r, Accept::SameOrRefused, want, &[]);
        }
    }
    rep.finish();
}

#[test]
fn modified_ciphertext_and_bad_mdc_are_integrity_failures() {
    let _turn = serial();
    let fx = fixture();
    let mut rep = Report::new("integrity");
    // sealpost's own message: flip octets inside the SEIPD ciphertext (past the prefix, mid-body, in the MDC).
    let pk = top_packets(&fx.encrypted);
    let (off, hl, tag, len) = pk[1];
    assert_eq!(tag, TAG_SEIPD);
    let body_start = off + hl;
    for rel in [1 + 18 + 5, len / 2, len - 10, len - 1] {
        let mut bad = fx.encrypted.clone();
        bad[body_start + rel] ^= 0x01;
        let r = fx.decrypt("mdc", &format!("seipd-flip{rel}"), &bad, &[]);
        rep.check(
            &format!("SEIPD ciphertext octet {rel} of {len} flipped"),
            &r,
            Accept::Verdict,
            &fx.plaintext,
            &["integrity"],
        );
    }
    // The MDC packet cut off: the body without its last 22 (or 1, or 21) octets, the length rewritten.
    for cut in [22, 1, 21, 23] {
        let mut m = fx.encrypted[..off].to_vec();
        let body = &fx.encrypted[body_start..body_start + len - cut];
        m.extend(packet(TAG_SEIPD, body, Len::New));
        let r = fx.decrypt("mdc", &format!("mdc-cut{cut}"), &m, &[]);
        rep.check(
            &format!("SEIPD body shortened by {cut} (MDC cut off)"),
            &r,
            Accept::Verdict,
            &fx.plaintext,
            &["integrity"],
        );
    }
    // A 3 MiB message over 1 MiB partial chunks, flipped near its end: nothing of the first chunks may leak.
    let mut big = fx.large_encrypted.clone();
    let at = big.len() - 100;
    big[at] ^= 0x80;
    let r = fx.decrypt("mdc", "large-flip", &big, &[]);
    rep.check(
        "3 MiB message flipped 100 octets before its end",
        &r,
        Accept::Verdict,
        &fx.large_plaintext,
        &["integrity"],
    );

    // Hand-built: the builder itself is right (a good MDC decrypts) ...
    let content = b"hand-built content\n".repeat(50);
    let inner = literal(&content);
    let r = fx.decrypt("mdc", "built-good", &seipd_message(&inner, Mdc::Good, Len::New), &[]);
    rep.check("hand-built SEIPD with a good MDC (builder check)", &r, Accept::Decrypts, &content, &[]);
    // ... and every bad MDC is refused.
    for mdc in [Mdc::WrongHash, Mdc::Missing, Mdc::Cut(2), Mdc::Cut(21), Mdc::BadHeader] {
        let r = fx.decrypt("mdc", &format!("built-{mdc:?}"), &seipd_message(&inner, mdc, Len::New), &[]);
        rep.check(&format!("hand-built SEIPD, MDC {mdc:?}"), &r, Accept::Verdict, &content, &["integrity"]);
    }
    // A wrong key, a wrong password.
    let r = fx.decrypt_with(&fx.wrong_key, "mdc", "wrong-key", &fx.encrypted, &[]);
    rep.check("encrypted to T, decrypted with W's key", &r, Accept::Verdict, &fx.plaintext, &[]);
    let (d, p) = fx.input("mdc", "wrong-password", &fx.password_encrypted);
    let wrong_pw = d.join("wrong-pw");
    fs::write(&wrong_pw, b"not the password").unwrap();
    fs::set_permissions(&wrong_pw, fs::Permissions::from_mode(0o600)).unwrap();
    let out = d.join("wrong-password.out");
    let r = sealpost(
        &d,
        &[
            "pgp",
            "decrypt",
            "--password-file",
            wrong_pw.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
            p.to_str().unwrap(),
        ],
        Some(&out),
    );
    rep.check("password message, wrong password", &r, Accept::Verdict, &fx.plaintext, &[]);
    rep.finish();
}

#[test]
fn sed_packets_need_allow_unauthenticated() {
    let _turn = serial();
    let fx = fixture();
    let mut rep = Report::new("SED");
    let content = b"an old message without integrity protection\n".to_vec();
    let msg = sed_message(&literal(&content));
    let r = fx.decrypt("sed", "sed", &msg, &[]);
    rep.check("SED without --allow-unauthenticated", &r, Accept::Verdict, &content, &["--allow-unauthenticated"]);
    let r = fx.decrypt("sed", "sed-allowed", &msg, &["--allow-unauthenticated"]);
    rep.check("SED with --allow-unauthenticated (builder check)", &r, Accept::Decrypts, &content, &[]);
    // Old-format header, as PGP 2.x wrote it; and with an indeterminate length.
    let mut body_only = msg.clone();
    let pk = top_packets(&msg);
    let (off, hl, _, _) = pk[1];
    let sed_body = body_only.split_off(off + hl);
    for (what, len) in [("old-format", Len::Old), ("old-format indeterminate", Len::OldIndeterminate)] {
        let mut m = msg[..off].to_vec();
        m.extend(packet(TAG_SED, &sed_body, len));
        let r = fx.decrypt("sed", &format!("sed-{what}"), &m, &[]);
        rep.check(&format!("SED, {what} length, no flag"), &r, Accept::Verdict, &content, &["--allow-unauthenticated"]);
    }
    rep.finish();
}

#[test]
fn compression_bombs_are_stopped_by_one_budget() {
    let _turn = serial();
    let fx = fixture();
    let mut rep = Report::new("compression bombs");
    // 1 GiB of zeros in a literal, compressed (about 1 MiB), compressed again (1.7 KB): a 600 000:1 bomb. The
    // README promises one budget of total bytes *and* expansion ratio (1000:1 per layer by default) across
    // nested layers; the inner layer alone is past that ratio, so this must be refused, not released.
    let one = zeros_bomb_layer(1);
    let nested = compressed(1, &one);
    println!("1 GiB bomb: inner layer {} bytes, nested {} bytes", one.len(), nested.len());
    let r = fx.decrypt("bomb", "bomb-1g", &seipd_message(&nested, Mdc::Good, Len::New), &[]);
    rep.check("1 GiB of zeros, two nested ZIP layers, encrypted", &r, Accept::Refused, b"", &[]);
    let r = fx.verify("bomb", "bomb-1g-plain", &nested);
    rep.check("1 GiB of zeros, two nested ZIP layers, unencrypted (verify)", &r, Accept::Refused, b"", &[]);
    // The same with a good signature: T signs 1 GiB of zeros (sealpost pgp sign), and the signed message is
    // put in two nested ZIP layers (the signature covers the literal data, not the compression).
    let d = fx.dir.join("bomb");
    let zeros = d.join("zeros");
    {
        let mut f = fs::File::create(&zeros).unwrap();
        let mb = vec![0u8; 1 << 20];
        for _ in 0..1024 {
            f.write_all(&mb).unwrap();
        }
    }
    let signed_zeros = d.join("zeros.pgp");
    let out = Command::new(env!("CARGO_BIN_EXE_sealpost"))
        .args(["pgp", "sign", "--key", &fx.key, "-o", signed_zeros.to_str().unwrap(), zeros.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    fs::remove_file(&zeros).unwrap();
    let mut e = flate2::write::DeflateEncoder::new(vec![1u8], flate2::Compression::new(6));
    std::io::copy(&mut fs::File::open(&signed_zeros).unwrap(), &mut e).unwrap();
    fs::remove_file(&signed_zeros).unwrap();
    let signed_bomb = compressed(1, &packet(TAG_COMPRESSED, &e.finish().unwrap(), Len::New));
    println!("signed 1 GiB bomb: {} bytes", signed_bomb.len());
    let r = fx.verify("bomb", "bomb-1g-signed", &signed_bomb);
    rep.check("1 GiB of zeros signed by T, two nested ZIP layers (verify)", &r, Accept::Refused, b"", &[]);
    // Over the 4 GiB budget: 8 GiB behind three layers.
    let big = compressed(1, &compressed(1, &zeros_bomb_layer(BIG_BOMB_GIB)));
    println!("{BIG_BOMB_GIB} GiB bomb: {} bytes", big.len());
    let r = fx.decrypt("bomb", "bomb-8g", &seipd_message(&big, Mdc::Good, Len::New), &[]);
    rep.check("8 GiB of zeros, three nested ZIP layers, encrypted", &r, Accept::Refused, b"", &[]);
    let r = fx.verify("bomb", "bomb-8g-plain", &big);
    rep.check("8 GiB of zeros, three nested ZIP layers, unencrypted (verify)", &r, Accept::Refused, b"", &[]);
    // The spool must not leave its temporary files behind.
    let leftovers: Vec<_> = fs::read_dir(fx.dir.join("bomb"))
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| e.metadata().map(|m| m.len() > (1 << 20)).unwrap_or(false))
        .map(|e| e.file_name())
        .collect();
    if !leftovers.is_empty() {
        rep.problems.push(format!("large files left in TMPDIR after the bombs: {leftovers:?}"));
    }
    rep.finish();
}

#[test]
fn deep_nesting_is_a_bounded_error() {
    let _turn = serial();
    let fx = fixture();
    let mut rep = Report::new("nesting");
    let content = b"deep inside\n".to_vec();
    // Compressed packets inside compressed packets: algorithm 0 (uncompressed) and 1 (ZIP).
    for (algo, depth) in [(0u8, 32usize), (0, 1000), (0, 20_000), (1, 32), (1, 300)] {
        let mut m = literal(&content);
        for _ in 0..depth {
            m = compressed(algo, &m);
        }
        let label = format!("{depth} nested compressed packets (algorithm {algo})");
        let r = fx.verify("nest", &format!("nest-{algo}-{depth}"), &m);
        rep.check(&format!("{label}, unencrypted (verify)"), &r, Accept::Refused, &content, &[]);
        let r = fx.decrypt("nest", &format!("nest-{algo}-{depth}-enc"), &seipd_message(&m, Mdc::Good, Len::New), &[]);
        rep.check(&format!("{label}, encrypted"), &r, Accept::Refused, &content, &[]);
    }
    // One-pass signatures: many in a row over one literal, and nested ones (each opening a signed message).
    let keyid = [0x11u8; 8];
    let ops = |last: bool| {
        let mut b = vec![3, 0x00, 8, 1];
        b.extend_from_slice(&keyid);
        b.push(u8::from(last));
        packet(TAG_OPS, &b, Len::New)
    };
    // A syntactically valid v4 signature by an unknown key, with a one-octet MPI.
    let sig = {
        let mut b = vec![4, 0x00, 1, 8, 0, 6, 5, 2, 0, 0, 0, 1, 0, 10, 9, 16];
        b.extend_from_slice(&keyid);
        b.extend_from_slice(&[0xab, 0xcd, 0, 8, 0xff]);
        packet(TAG_SIGNATURE, &b, Len::New)
    };
    // Sibling signatures are valid grammar (many signers of one text); decrypting without --verify-with may
    // release the literal. Nested ones past any sane depth must end in a bounded error. In both cases the
    // work must stay bounded: the last case is a 2.3 MB message.
    let literal_256k = common::pseudo_random(256 * 1024, 5);
    let cases: [(usize, bool, &[u8]); 5] = [
        (1000, false, &literal_256k),
        (20_000, false, &literal_256k),
        (1000, true, &literal_256k),
        (20_000, true, &literal_256k),
        (50_000, true, b"x"),
    ];
    for (n, nested, content) in cases {
        let mut m = Vec::new();
        for i in 0..n {
            m.extend(ops(nested || i == n - 1));
        }
        m.extend(literal(content));
        for _ in 0..n {
            m.extend_from_slice(&sig);
        }
        let label = format!(
            "{n} {} one-pass signatures over {} bytes",
            if nested { "nested" } else { "sibling" },
            content.len()
        );
        let r = fx.verify("nest", &format!("ops-{n}-{nested}"), &m);
        rep.check(&format!("{label} (verify)"), &r, Accept::Refused, content, &[]);
        let r = fx.decrypt("nest", &format!("ops-{n}-{nested}-enc"), &seipd_message(&m, Mdc::Good, Len::New), &[]);
        rep.check(&format!("{label}, encrypted"), &r, Accept::SameOrRefused, content, &[]);
    }
    rep.finish();
}

#[test]
fn indeterminate_and_huge_lengths_are_bounded() {
    let _turn = serial();
    let fx = fixture();
    let mut rep = Report::new("lengths");
    let content = b"length games\n".to_vec();
    let lit_body = literal_body(&content);
    let pk = top_packets(&fx.encrypted);
    let pkesk_body = &fx.encrypted[pk[0].0 + pk[0].1..pk[0].0 + pk[0].1 + pk[0].3];
    let seipd = &fx.encrypted[pk[1].0..];

    // PKESK with an indeterminate old-format length: it swallows the SEIPD packet.
    let mut m = packet(TAG_PKESK, pkesk_body, Len::OldIndeterminate);
    m.extend_from_slice(seipd);
    let r = fx.decrypt("len", "pkesk-indeterminate", &m, &[]);
    rep.check("PKESK with an indeterminate length", &r, Accept::Refused, &fx.plaintext, &[]);
    // PKESK and literal claiming 2^32-1 octets (new format), and 2^32-1 (old format, four octets).
    for (what, len) in [("new-format 2^32-1", Len::Claim(u32::MAX)), ("old-format 2^32-1", Len::OldClaim(u32::MAX))] {
        let mut m = packet(TAG_PKESK, pkesk_body, len);
        m.extend_from_slice(seipd);
        let r = fx.decrypt("len", &format!("pkesk-{what}"), &m, &[]);
        rep.check(&format!("PKESK claiming {what} octets"), &r, Accept::Refused, &fx.plaintext, &[]);
        let lit = packet(TAG_LITERAL, &lit_body, len);
        let r = fx.verify("len", &format!("literal-{what}"), &lit);
        rep.check(&format!("literal claiming {what} octets (verify)"), &r, Accept::Refused, &content, &[]);
        let r = fx.decrypt("len", &format!("literal-{what}-enc"), &seipd_message(&lit, Mdc::Good, Len::New), &[]);
        rep.check(&format!("literal claiming {what} octets, encrypted"), &r, Accept::Refused, &content, &[]);
        let comp = packet(TAG_COMPRESSED, &[&[1u8][..], &deflate(&literal(&content))].concat(), len);
        let r = fx.verify("len", &format!("compressed-{what}"), &comp);
        rep.check(&format!("compressed packet claiming {what} octets (verify)"), &r, Accept::Refused, &content, &[]);
    }
    // The SEIPD packet itself claiming 2^32-1 octets, and an SKESK claiming 2^32-1.
    let inner = literal(&content);
    let r = fx.decrypt("len", "seipd-claim", &seipd_message(&inner, Mdc::Good, Len::Claim(u32::MAX)), &[]);
    rep.check("SEIPD claiming 2^32-1 octets", &r, Accept::Refused, &content, &[]);
    let mut m = packet(TAG_SKESK, &[&[4u8, 9, 1, 8][..], &SALT].concat(), Len::Claim(u32::MAX));
    m.extend(packet(TAG_SEIPD, &seipd_body(&inner, Mdc::Good), Len::New));
    let r = fx.decrypt("len", "skesk-claim", &m, &[]);
    rep.check("SKESK claiming 2^32-1 octets", &r, Accept::Refused, &content, &[]);
    // Partial lengths where RFC 9580 forbids them (a PKESK), and a SEIPD whose partial chunks never end.
    let mut m = packet(TAG_PKESK, &[pkesk_body, &[0u8; 600]].concat(), Len::Partial { first: 9, rest: 9 });
    m.extend_from_slice(seipd);
    let r = fx.decrypt("len", "pkesk-partial", &m, &[]);
    rep.check("PKESK with partial body lengths", &r, Accept::Refused, &fx.plaintext, &[]);
    let m = seipd_partial_unended();
    let r = fx.decrypt("len", "seipd-partial-unended", &m, &[]);
    rep.check("SEIPD whose partial chunks run off the end", &r, Accept::Refused, &content, &[]);
    // An old-format indeterminate literal inside the encryption (valid: it runs to the end of the data).
    let r = fx.decrypt(
        "len",
        "literal-indeterminate-enc",
        &seipd_message(&packet(TAG_LITERAL, &lit_body, Len::OldIndeterminate), Mdc::Good, Len::New),
        &[],
    );
    rep.check("old-format indeterminate literal inside SEIPD", &r, Accept::SameOrRefused, &content, &[]);
    rep.finish();
}

#[test]
fn many_tiny_partial_chunks_are_handled() {
    let _turn = serial();
    let fx = fixture();
    let mut rep = Report::new("partial chunks");
    let content = common::pseudo_random(100_000, 3);
    let inner = packet(TAG_LITERAL, &literal_body(&content), Len::New);
    // RFC-valid: the first chunk 512 octets, then 1-octet chunks (about 100 000 of them).
    let valid = seipd_message(&inner, Mdc::Good, Len::Partial { first: 9, rest: 0 });
    let r = fx.decrypt("partial", "seipd-1-octet-chunks", &valid, &[]);
    rep.check("SEIPD in 1-octet partial chunks after a 512-octet one", &r, Accept::Decrypts, &content, &[]);
    // Not RFC-valid: 1-octet chunks from the start.
    let invalid = seipd_message(&inner, Mdc::Good, Len::Partial { first: 0, rest: 0 });
    let r = fx.decrypt("partial", "seipd-1-octet-chunks-from-start", &invalid, &[]);
    rep.check("SEIPD in 1-octet partial chunks from the first", &r, Accept::SameOrRefused, &content, &[]);
    // The literal inside in 1-octet chunks (encrypted), and unencrypted for verify.
    let tiny_literal = packet(TAG_LITERAL, &literal_body(&content), Len::Partial { first: 9, rest: 0 });
    let r = fx.decrypt("partial", "literal-1-octet-chunks", &seipd_message(&tiny_literal, Mdc::Good, Len::New), &[]);
    rep.check("literal in 1-octet partial chunks inside SEIPD", &r, Accept::Decrypts, &content, &[]);
    let r = fx.verify("partial", "literal-1-octet-chunks-plain", &tiny_literal);
    rep.check("literal in 1-octet partial chunks (verify: not signed)", &r, Accept::Verdict, &content, &[]);
    rep.finish();
}

// ------------------------------------------------------------------------------------------------------------
// Regression files: inputs that caught a bug, kept in `vectors/openpgp/` (see its README) so that the bug can
// be reproduced with one command. They are made by `write_regression_files` with the builders above.

/// Each regression file, what sealpost must do with it (decrypted with the password [`PASSWORD`]), and how it
/// is made.
fn regressions() -> Vec<(&'static str, Accept, Vec<u8>)> {
    vec![
        // Two nested ZIP layers around 1 GiB of zeros (1.9 KB in all), in a password-encrypted SEIPD packet.
        (
            "nested-zip-bomb-1gib.pgp",
            Accept::Refused,
            seipd_message(&compressed(1, &zeros_bomb_layer(1)), Mdc::Good, Len::New),
        ),
        // A SEIPD packet whose five-octet length claims 2^32-1 octets but holds 110: a truncated packet.
        (
            "seipd-length-claims-4gib.pgp",
            Accept::Refused,
            seipd_message(&literal(b"length games\n"), Mdc::Good, Len::Claim(u32::MAX)),
        ),
        // A SEIPD packet of partial-body chunks that stops without a final length: sequoia panicked.
        ("seipd-partial-body-unended-panic.pgp", Accept::Refused, seipd_partial_unended()),
    ]
}

#[test]
fn regression_files() {
    let _turn = serial();
    let fx = fixture();
    let mut rep = Report::new("regression files");
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("vectors/openpgp");
    let table = regressions();
    let mut names: Vec<String> = fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n != "README.md")
        .collect();
    names.sort();
    for name in &names {
        // The file as committed is the regression input (a newer compressor may make different bytes).
        let Some((_, accept, _)) = table.iter().find(|(n, _, _)| n == name) else {
            rep.problems.push(format!("vectors/openpgp/{name}: not in the regression table"));
            continue;
        };
        let bytes = fs::read(dir.join(name)).unwrap();
        let r = fx.decrypt("regressions", name, &bytes, &[]);
        rep.check(&format!("vectors/openpgp/{name}"), &r, *accept, b"", &[]);
    }
    for (n, _, _) in &table {
        if !names.iter().any(|m| m == n) {
            rep.problems.push(format!("vectors/openpgp/{n}: missing (run write_regression_files)"));
        }
    }
    rep.finish();
}

/// The committed regression files are exactly what this file's builders make (set
/// `SEALPOST_WRITE_REGRESSIONS=1` to rewrite them after changing a builder).
#[test]
fn regression_files_match_their_builders() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("vectors/openpgp");
    let write = std::env::var("SEALPOST_WRITE_REGRESSIONS").as_deref() == Ok("1");
    for (name, _, bytes) in regressions() {
        let path = dir.join(name);
        if write {
            fs::create_dir_all(&dir).unwrap();
            fs::write(&path, &bytes).unwrap();
        }
        let on_disk = fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert!(on_disk == bytes, "{name} differs from what its builder makes now");
    }
}
