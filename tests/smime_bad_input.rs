//! Hostile and broken input to `sealpost smime verify`, `smime decrypt` and `smime decompress`, through the real
//! binary: truncations at every offset, bit flips at every offset, BER bombs (100 000 nested indefinite
//! SEQUENCEs, lengths claiming gigabytes, indefinite lengths in primitives, a million OCTET STRING segments),
//! a wrong recipient, modified ciphertext (CBC and GCM), modified signatures and signed attributes, missing,
//! expired and serverAuth-only signer certificates, and compression bombs in CompressedData.
//!
//! Every run must end within [`TIMEOUT`] with exit status 1 (a cryptographic verdict) or 2 (malformed input),
//! as CONTRACT.md assigns them, never a panic (101, or the "internal error" line of sealpost's panic hook) or
//! a signal; stderr must hold exactly one `sealpost: error: ` line, the last (the `smime: ` verdict summary
//! may precede it); no `-o` file may exist afterwards, nor its temporary `.OUT.sealpost-*`; and the peak
//! resident memory (VmHWM, sampled from `/proc`) must stay under [`MEMORY_LIMIT_KIB`]. Where a changed
//! message may still be valid (a flip in a field no signature covers, BER that only re-encodes the same
//! content), exit 0 is accepted only with the original content, byte for byte; CBC content, which has no
//! integrity protection, may decrypt to other bytes, but then the verdict must say so (`NO integrity`).
//!
//! The PKI is made with `sealpost key generate --type x509` (a CA, Alice, Bob, and a second CA), the odd
//! certificates (expired, serverAuth only) with `openssl` from the same CA; messages with `sealpost smime
//! sign|encrypt|compress`. Changed messages are re-encoded here from the DER (a small TLV tree, X.690), and
//! the shapes sealpost never writes (bombs, segments, lengths) are built by hand. Regression inputs live in
//! `vectors/cms/` (see its README), with their builders below.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // A panic in a test is a failed test.

mod common;

use std::fs;
use std::io::Write as _;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use const_oid::db::rfc6268::{ID_ALG_ZLIB_COMPRESS, ID_CT_COMPRESSED_DATA, ID_DATA};
use serde_json::Value;

/// A run that takes longer has hung (or is being made to work far too hard).
const TIMEOUT: Duration = Duration::from_secs(20);
/// Peak resident memory any run may reach.
const MEMORY_LIMIT_KIB: u64 = 512 * 1024;
const GIB: u64 = 1 << 30;
/// Runs at a time in the sweeps (the machine has two cores).
const WORKERS: usize = 2;

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
    verdict: Option<Value>,
    peak_kib: u64,
    elapsed: Duration,
    /// Temporary `.OUT.sealpost-*` files left beside the `-o` path (removed once recorded).
    leftovers: Vec<PathBuf>,
}

/// Runs `sealpost args` in `dir` through [`common::sandboxed::sealpost`], then removes the `-o` file, the
/// verdict file, and any temporary files beside the output, recording those.
fn sealpost(dir: &Path, args: &[String], output: Option<&Path>, verdict: Option<&Path>) -> Run {
    let r = common::sandboxed::sealpost(dir, args, output, verdict, TIMEOUT);
    if let Some(v) = verdict {
        let _ = fs::remove_file(v);
    }
    let leftovers = output.map(common::sandboxed::clean_output).unwrap_or_default();
    Run {
        line: r.line,
        code: r.code,
        stderr: r.stderr,
        output: r.output,
        output_exists: r.output_exists,
        verdict: r.verdict,
        peak_kib: r.peak_kib,
        elapsed: r.elapsed,
        leftovers,
    }
}

/// What a case accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Accept {
    /// Exit 1 (a verdict: bad signature, unknown signer, integrity, wrong key, chain).
    Verdict,
    /// Exit 2 (malformed input, unsupported).
    Malformed,
    /// Exit 1 or 2.
    Refused,
    /// Exit 0 with exactly the original content, or a refusal (1 or 2).
    SameOrRefused,
    /// Exit 0 with exactly the original content: valid input.
    Same,
    /// CBC without integrity: a refusal, or exit 0 with any content as long as the verdict says it is not
    /// integrity-protected.
    Malleable,
}

/// Checks a run against the contract and what the case accepts; returns the problems.
fn judge(r: &Run, accept: Accept, content: &[u8], stderr_has: &[&str]) -> Vec<String> {
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
            let same = r.output.as_deref() == Some(content);
            match accept {
                Accept::Same | Accept::SameOrRefused if same => {}
                Accept::Malleable if err.contains("NO integrity") && r.output_exists => {}
                Accept::Malleable => bad.push("exit 0 without the verdict saying NO integrity".into()),
                Accept::Same | Accept::SameOrRefused => bad.push(format!(
                    "exit 0 but the output is not the original content ({} bytes{})",
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
            if accept == Accept::Same {
                bad.push(format!("exit {code}, want 0 (a valid message)"));
            }
            if accept == Accept::Verdict && code != 1 {
                bad.push(format!("exit {code}, want 1 (a cryptographic verdict)"));
            }
            if accept == Accept::Malformed && code != 2 {
                bad.push(format!("exit {code}, want 2 (malformed input)"));
            }
            let lines: Vec<&str> = err.lines().filter(|l| !l.trim().is_empty()).collect();
            let errors = lines.iter().filter(|l| l.starts_with("sealpost: error: ")).count();
            if errors != 1 || !lines.last().is_some_and(|l| l.starts_with("sealpost: error: ")) {
                bad.push("stderr is not one `sealpost: error: ` line (last)".into());
            }
            if lines.iter().any(|l| !l.starts_with("sealpost: error: ") && !l.starts_with("smime: ")) {
                bad.push("stderr has other lines than the verdict summary and the error".into());
            }
            if r.output_exists {
                bad.push("an -o output file appeared although the command failed".into());
            }
        }
        None => {}
    }
    for s in stderr_has {
        if !err.to_lowercase().contains(&s.to_lowercase()) {
            bad.push(format!("stderr lacks {s:?}"));
        }
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
    start: Instant,
}

impl Report {
    fn new(name: &'static str) -> Report {
        Report {
            name,
            runs: 0,
            problems: Vec::new(),
            slowest: (Duration::ZERO, String::new()),
            peak: (0, String::new()),
            start: Instant::now(),
        }
    }

    fn check(&mut self, label: &str, r: &Run, accept: Accept, content: &[u8], stderr_has: &[&str]) {
        self.runs += 1;
        if r.elapsed > self.slowest.0 {
            self.slowest = (r.elapsed, label.to_string());
        }
        if r.peak_kib > self.peak.0 {
            self.peak = (r.peak_kib, label.to_string());
        }
        let bad = judge(r, accept, content, stderr_has);
        if std::env::var_os("SEALPOST_TEST_VERBOSE").is_some() {
            println!("{label}: exit {:?}: {}", r.code, r.stderr.trim().replace('\n', " | "));
        }
        self.problem(label, r, bad);
    }

    /// Records `bad` (if any) for the run `r`.
    fn problem(&mut self, label: &str, r: &Run, bad: Vec<String>) {
        if !bad.is_empty() {
            self.problems.push(format!(
                "{label}: {}\n    {}\n    exit {:?} in {:.2} s, peak {} MiB; stderr: {}",
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
            "{}: {} runs in {:.1} s, {} problems; slowest {:.2} s ({}), peak {} MiB ({})",
            self.name,
            self.runs,
            self.start.elapsed().as_secs_f64(),
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
// Fixtures: a PKI and messages made by sealpost

/// Which command reads the input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Cmd {
    /// `smime verify --ca <the CA>`.
    Verify,
    /// `smime verify --no-chain` (the signer's certificate from the message).
    VerifyNoChain,
    /// `smime decrypt` as Alice.
    Decrypt,
    /// `smime decrypt` as Bob.
    DecryptAsBob,
    /// `smime decrypt` with Alice's certificate and Bob's key.
    DecryptMismatched,
    /// `smime decompress`.
    Decompress,
}

struct Fixture {
    dir: PathBuf,
    ca: String,
    /// Carol's certificate and key, issued by another CA (never given as --ca).
    carol: (String, String),
    alice_cert: String,
    alice_key: String,
    bob_cert: String,
    bob_key: String,
    /// Issued by the CA but expired in 2021, and (made by openssl; `None` without it) with extendedKeyUsage
    /// serverAuth only: (certificate, key).
    expired: (String, String),
    server_only: Option<(String, String)>,
    plaintext: Vec<u8>,
    /// `smime sign` by Alice, as written (BER), and as DER.
    signed: Vec<u8>,
    signed_der: Vec<u8>,
    /// `smime sign --pem`.
    signed_pem: Vec<u8>,
    /// Signed by Alice and Bob (DER).
    signed_two: Vec<u8>,
    /// `smime sign --detached` by Alice (DER).
    detached: Vec<u8>,
    /// `smime encrypt` to Alice: AES-256-CBC and AES-256-GCM, as written and as DER.
    cbc: Vec<u8>,
    cbc_der: Vec<u8>,
    gcm: Vec<u8>,
    gcm_der: Vec<u8>,
    /// `smime compress`, as written and as DER.
    compressed: Vec<u8>,
    compressed_der: Vec<u8>,
    /// A 1 MiB content signed by Alice (DER).
    large: Vec<u8>,
    large_signed_der: Vec<u8>,
}

/// An OpenSSL configuration for the serverAuth-only certificate.
const OPENSSL_CNF: &str = "\
[req]
distinguished_name = dn
[dn]
[server]
basicConstraints = CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
";

fn der(ber: &[u8]) -> Vec<u8> {
    sealpost::smime::input::cms_der(ber).unwrap().into_owned()
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let dir = common::scratch("smime-bad-input");
        let path = |n: &str| dir.join(n).to_string_lossy().into_owned();
        let run_ok = |args: &[&str]| {
            let out = Command::new(env!("CARGO_BIN_EXE_sealpost")).args(args).current_dir(&dir).output().unwrap();
            assert!(out.status.success(), "sealpost {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        };
        let generate = |name: &str, uid: &str, issuer: Option<&str>| {
            let mut args: Vec<String> = ["key", "generate", "--type", "x509", "--uid", uid, "--algo", "rsa2048"]
                .into_iter()
                .map(String::from)
                .collect();
            match issuer {
                None => args.push("--ca".into()),
                Some(i) => args.extend([
                    "--issuer-cert".into(),
                    format!("{i}.cert"),
                    "--issuer-key".into(),
                    format!("{i}.key"),
                ]),
            }
            args.extend(["--output".into(), name.into()]);
            run_ok(&args.iter().map(String::as_str).collect::<Vec<_>>());
        };
        generate("ca", "Bad Input CA", None);
        generate("other-ca", "Another CA", None);
        generate("alice", "Alice <alice@example.org>", Some("ca"));
        generate("bob", "Bob <bob@example.org>", Some("ca"));
        generate("carol", "Carol <carol@example.org>", Some("other-ca"));

        // 64 bytes: four AES blocks of content, so a CBC flip can garble one block and leave the padding.
        let plaintext = b"A letter for the S/MIME bad-input tests, four AES blocks long.\r\n".to_vec();
        assert_eq!(plaintext.len(), 64);
        fs::write(dir.join("plain"), &plaintext).unwrap();
        let large = common::pseudo_random(1 << 20, 17);
        fs::write(dir.join("large"), &large).unwrap();
        let (alice_cert, alice_key) = (path("alice.cert"), path("alice.key"));
        let (bob_cert, bob_key) = (path("bob.cert"), path("bob.key"));
        let make = |args: &[&str], out: &str, input: &str| -> Vec<u8> {
            let mut a = args.to_vec();
            let (o, i) = (path(out), path(input));
            a.extend(["-o", o.as_str(), i.as_str()]);
            run_ok(&a);
            fs::read(&o).unwrap()
        };
        let sign = ["smime", "sign", "--cert", &alice_cert, "--key", &alice_key];
        let signed = make(&sign, "signed.p7m", "plain");
        let signed_pem = make(&[&sign[..], &["--pem"]].concat(), "signed.pem", "plain");
        let detached = der(&make(&[&sign[..], &["--detached"]].concat(), "detached.p7s", "plain"));
        let two = [&sign[..], &["--cert", &bob_cert, "--key", &bob_key]].concat();
        let signed_two = der(&make(&two, "signed-two.p7m", "plain"));
        let large_signed_der = der(&make(&sign, "large.p7m", "large"));
        let cbc = make(&["smime", "encrypt", "--recipient", &alice_cert], "cbc.p7m", "plain");
        let gcm = make(&["smime", "encrypt", "--cipher", "aes256-gcm", "--recipient", &alice_cert], "gcm.p7m", "plain");
        let compressed = make(&["smime", "compress"], "compressed.p7z", "plain");

        // The odd certificates, made by openssl with the same CA.
        // Expired: issued by the CA through the library, valid in 2020 only (`key generate` always starts now).
        let expired = {
            use sealpost::core::rsa::RsaPrivateKey;
            use sealpost::x509::{CertSpec, Certificate, generate};
            let ca_key = RsaPrivateKey::from_pem(&fs::read_to_string(dir.join("ca.key")).unwrap(), None).unwrap();
            let ca_cert = Certificate::read_all(&fs::read(dir.join("ca.cert")).unwrap()).unwrap().remove(0);
            let mut spec = CertSpec::new("Expired Signer", Some("expired@example.org".into()));
            spec.bits = 2048;
            spec.days = 366;
            spec.issuer = Some((&ca_cert, &ca_key));
            spec.not_before = Some(std::time::UNIX_EPOCH + Duration::from_secs(1_577_836_800)); // 2020-01-01
            let (cert, key) = generate(&spec).unwrap();
            fs::write(dir.join("expired.cert"), cert.to_pem().unwrap()).unwrap();
            fs::write(dir.join("expired.key"), pem("PRIVATE KEY", &key.to_pkcs8_der().unwrap())).unwrap();
            fs::set_permissions(dir.join("expired.key"), fs::Permissions::from_mode(0o600)).unwrap();
            (path("expired.cert"), path("expired.key"))
        };
        // extendedKeyUsage serverAuth only: made by openssl with the same CA (sealpost makes e-mail certificates).
        let mut server_only = None;
        if let Some(ossl) = common::peer("smime_bad_input (a serverAuth-only certificate)", "openssl") {
            fs::write(dir.join("cnf"), OPENSSL_CNF).unwrap();
            let ossl_ok = |args: &[&str]| {
                let out = Command::new(&ossl).args(args).current_dir(&dir).output().unwrap();
                assert!(out.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
            };
            ossl_ok(&[
                "req",
                "-new",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-config",
                "cnf",
                "-subj",
                "/CN=Server Only",
                "-keyout",
                "server.key",
                "-out",
                "server.csr",
            ]);
            fs::set_permissions(dir.join("server.key"), fs::Permissions::from_mode(0o600)).unwrap();
            ossl_ok(&[
                "x509",
                "-req",
                "-in",
                "server.csr",
                "-CA",
                "ca.cert",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-days",
                "365",
                "-extfile",
                "cnf",
                "-extensions",
                "server",
                "-out",
                "server.cert",
            ]);
            server_only = Some((path("server.cert"), path("server.key")));
        }
        Fixture {
            ca: path("ca.cert"),
            carol: (path("carol.cert"), path("carol.key")),
            alice_cert,
            alice_key,
            bob_cert,
            bob_key,
            expired,
            server_only,
            signed_der: der(&signed),
            signed,
            signed_pem,
            signed_two,
            detached,
            cbc_der: der(&cbc),
            cbc,
            gcm_der: der(&gcm),
            gcm,
            compressed_der: der(&compressed),
            compressed,
            large,
            large_signed_der,
            plaintext,
            dir,
        }
    })
}

impl Fixture {
    fn args(&self, cmd: Cmd) -> Vec<String> {
        let s = |x: &str| x.to_string();
        match cmd {
            Cmd::Verify => vec![s("smime"), s("verify"), s("--ca"), self.ca.clone()],
            Cmd::VerifyNoChain => vec![s("smime"), s("verify"), s("--no-chain")],
            Cmd::Decrypt => {
                vec![s("smime"), s("decrypt"), s("--cert"), self.alice_cert.clone(), s("--key"), self.alice_key.clone()]
            }
            Cmd::DecryptAsBob => {
                vec![s("smime"), s("decrypt"), s("--cert"), self.bob_cert.clone(), s("--key"), self.bob_key.clone()]
            }
            Cmd::DecryptMismatched => {
                vec![s("smime"), s("decrypt"), s("--cert"), self.alice_cert.clone(), s("--key"), self.bob_key.clone()]
            }
            Cmd::Decompress => vec![s("smime"), s("decompress")],
        }
    }

    /// Runs `cmd` (with `extra` arguments) on `bytes`, written as `sub/name`, with `-o` (and `--verdict-json`
    /// for verify and decrypt).
    fn run(&self, cmd: Cmd, extra: &[&str], sub: &str, name: &str, bytes: &[u8]) -> Run {
        let d = self.dir.join(sub);
        fs::create_dir_all(&d).unwrap();
        let input = d.join(name);
        fs::write(&input, bytes).unwrap();
        let out = d.join(format!("{name}.out"));
        let json = d.join(format!("{name}.json"));
        let mut args = self.args(cmd);
        args.extend(extra.iter().map(|s| s.to_string()));
        let verdict = (cmd != Cmd::Decompress).then_some(json.as_path());
        if let Some(v) = verdict {
            args.extend(["--verdict-json".into(), v.to_string_lossy().into_owned()]);
        }
        args.extend(["-o".into(), out.to_string_lossy().into_owned(), input.to_string_lossy().into_owned()]);
        let r = sealpost(&d, &args, Some(&out), verdict);
        let _ = fs::remove_file(&input);
        r
    }

    /// Runs every input through `cmd`, [`WORKERS`] at a time, and checks each against its acceptance.
    fn sweep(&self, rep: &mut Report, cmd: Cmd, sub: &str, inputs: &[(String, Vec<u8>, Accept)], content: &[u8]) {
        let next = AtomicUsize::new(0);
        let results: Mutex<Vec<(usize, Run)>> = Mutex::new(Vec::new());
        std::thread::scope(|s| {
            for _ in 0..WORKERS {
                s.spawn(|| {
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some((_, bytes, _)) = inputs.get(i) else { break };
                        let r = self.run(cmd, &[], sub, &format!("in{i}"), bytes);
                        results.lock().unwrap().push((i, r));
                    }
                });
            }
        });
        let mut results = results.into_inner().unwrap();
        results.sort_by_key(|(i, _)| *i);
        let (mut same, mut other) = (0, 0);
        for (i, r) in results {
            let (label, _, accept) = &inputs[i];
            if r.code == Some(0) {
                if r.output.as_deref() == Some(content) { same += 1 } else { other += 1 }
            }
            rep.check(label, &r, *accept, content, &[]);
        }
        println!(
            "  {sub}: {} inputs through {cmd:?}: {} refused, {same} accepted with the content unchanged, {other} with \
             other content",
            inputs.len(),
            inputs.len() - same - other
        );
    }
}

/// Checks the verdict JSON of a run: its status and its signers' statuses.
fn check_verdict(rep: &mut Report, label: &str, r: &Run, status: &str, signers: &[&str]) {
    let mut bad = Vec::new();
    match &r.verdict {
        None => bad.push("no verdict JSON".to_string()),
        Some(v) => {
            if v["status"] != status {
                bad.push(format!("verdict status {}, want {status}", v["status"]));
            }
            let got: Vec<&str> = v["signers"]
                .as_array()
                .map(|a| a.iter().map(|s| s["status"].as_str().unwrap_or("?")).collect())
                .unwrap_or_default();
            if got != signers {
                bad.push(format!("signers {got:?}, want {signers:?}"));
            }
        }
    }
    rep.problem(label, r, bad);
}

// ------------------------------------------------------------------------------------------------------------
// DER, taken apart and put together again (X.690 section 8, one-octet tags: all CMS needs)

#[derive(Clone, Debug, PartialEq, Eq)]
enum Node {
    Prim(u8, Vec<u8>),
    Cons(u8, Vec<Node>),
    /// Bytes written as they are (BER shapes the tree cannot hold).
    Raw(Vec<u8>),
}

fn read_len(b: &[u8]) -> (usize, usize) {
    match b[0] {
        n if n < 0x80 => (usize::from(n), 1),
        n => {
            let k = usize::from(n & 0x7f);
            (b[1..=k].iter().fold(0, |a, &x| (a << 8) | usize::from(x)), 1 + k)
        }
    }
}

fn parse(b: &[u8]) -> Vec<Node> {
    let mut out = Vec::new();
    let mut at = 0;
    while at < b.len() {
        let tag = b[at];
        assert_ne!(tag & 0x1f, 0x1f, "high tag numbers are not used here");
        let (len, n) = read_len(&b[at + 1..]);
        let v = &b[at + 1 + n..at + 1 + n + len];
        out.push(if tag & 0x20 != 0 { Node::Cons(tag, parse(v)) } else { Node::Prim(tag, v.to_vec()) });
        at += 1 + n + len;
    }
    out
}

fn tree(der: &[u8]) -> Node {
    let mut nodes = parse(der);
    assert_eq!(nodes.len(), 1, "one element");
    nodes.remove(0)
}

fn len_octets(n: usize) -> Vec<u8> {
    if n < 0x80 {
        return vec![n as u8];
    }
    let b = (n as u64).to_be_bytes();
    let skip = b.iter().take_while(|x| **x == 0).count();
    let mut v = vec![0x80 | (8 - skip) as u8];
    v.extend_from_slice(&b[skip..]);
    v
}

fn tlv(tag: u8, value: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    out.extend(len_octets(value.len()));
    out.extend_from_slice(value);
    out
}

impl Node {
    fn encode(&self) -> Vec<u8> {
        match self {
            Node::Prim(t, v) => tlv(*t, v),
            Node::Cons(t, c) => tlv(*t, &c.iter().flat_map(Node::encode).collect::<Vec<u8>>()),
            Node::Raw(b) => b.clone(),
        }
    }

    fn at(&mut self, path: &[usize]) -> &mut Node {
        let mut n = self;
        for &i in path {
            n = match n {
                Node::Cons(_, c) => &mut c[i],
                other => panic!("no child {i} in {other:?}"),
            };
        }
        n
    }

    fn children(&mut self) -> &mut Vec<Node> {
        match self {
            Node::Cons(_, c) => c,
            other => panic!("not constructed: {other:?}"),
        }
    }

    fn value(&mut self) -> &mut Vec<u8> {
        match self {
            Node::Prim(_, v) => v,
            other => panic!("not primitive: {other:?}"),
        }
    }
}

/// `der` with the node at `path` changed by `f`.
fn edit(der: &[u8], path: &[usize], f: impl FnOnce(&mut Node)) -> Vec<u8> {
    let mut t = tree(der);
    f(t.at(path));
    t.encode()
}

fn flip(v: &mut [u8], at: usize) {
    v[at] ^= 0x01;
}

// Paths in the DER sealpost writes (after BER -> DER).
/// ContentInfo -> [0] -> SignedData / EnvelopedData / CompressedData.
const BODY: [usize; 2] = [1, 0];
/// SignedData: version, digestAlgorithms, encapContentInfo, certificates, signerInfos.
const SD_ECI: [usize; 3] = [1, 0, 2];
const SD_CONTENT: [usize; 5] = [1, 0, 2, 1, 0];
const SD_CERTS: [usize; 3] = [1, 0, 3];
const SD_INFOS: [usize; 3] = [1, 0, 4];
/// SignerInfo: version, sid, digestAlgorithm, [0] signedAttrs, signatureAlgorithm, signature.
const SI_DIGEST_ALG: usize = 2;
const SI_ATTRS: usize = 3;
const SI_SIG_ALG: usize = 4;
const SI_SIG: usize = 5;
/// EnvelopedData / AuthEnvelopedData: version, recipientInfos, encryptedContentInfo (type, algorithm,
/// [0] content), and (AuthEnvelopedData) mac.
const ENV_RECIPIENTS: [usize; 3] = [1, 0, 1];
const ENV_ALG: [usize; 4] = [1, 0, 2, 1];
const ENV_CONTENT: [usize; 4] = [1, 0, 2, 2];
const ENV_MAC: [usize; 3] = [1, 0, 3];
/// CompressedData: version, algorithm, encapContentInfo (type, [0] OCTET STRING).
const CD_ALG: [usize; 3] = [1, 0, 1];
const CD_ECI: [usize; 3] = [1, 0, 2];
const CD_CONTENT: [usize; 5] = [1, 0, 2, 1, 0];

/// The signed attribute of the first SignerInfo whose OID is 1.2.840.113549.1.9.`last`.
fn attribute_index(der: &[u8], last: u8) -> usize {
    let mut t = tree(der);
    let attrs = t.at(&[1, 0, 4, 0, SI_ATTRS]).children();
    let oid = [0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, last];
    attrs
        .iter()
        .position(|a| matches!(a, Node::Cons(_, c) if c.first() == Some(&Node::Prim(0x06, oid.to_vec()))))
        .unwrap_or_else(|| panic!("no attribute 1.2.840.113549.1.9.{last}"))
}

/// A constructed OCTET STRING (`tag` 0x24, or 0xa0 for an implicit [0]) of indefinite length: `data` in
/// `piece`-byte segments, with `empty` empty segments after the first.
fn segmented(tag: u8, data: &[u8], piece: usize, empty: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() / piece * (piece + 2) + 2 * empty + 8);
    out.extend_from_slice(&[tag, 0x80]);
    for (i, chunk) in data.chunks(piece).enumerate() {
        out.extend(tlv(0x04, chunk));
        if i == 0 {
            for _ in 0..empty {
                out.extend_from_slice(&[0x04, 0x00]);
            }
        }
    }
    out.extend_from_slice(&[0, 0]);
    out
}

/// `depth` nested SEQUENCEs with definite lengths around `inner`, built from the inside out without copying.
fn nested_definite(depth: usize, inner: &[u8]) -> Vec<u8> {
    let mut lens = Vec::with_capacity(depth);
    let mut len = inner.len();
    for _ in 0..depth {
        lens.push(len);
        len += 1 + len_octets(len).len();
    }
    let mut out = Vec::with_capacity(len);
    for l in lens.iter().rev() {
        out.push(0x30);
        out.extend(len_octets(*l));
    }
    out.extend_from_slice(inner);
    out
}

// ------------------------------------------------------------------------------------------------------------
// CompressedData and zlib built by hand (RFC 3274, RFC 1950)

/// Raw deflate of `len` zeros from a fresh compressor, ended with a sync flush (byte-aligned, not final):
/// such segments can be concatenated, and a final empty block closes the stream.
fn deflate_zeros_segment(len: usize) -> Vec<u8> {
    let mut e = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
    let zeros = vec![0u8; 1 << 20];
    let mut left = len;
    while left > 0 {
        let n = left.min(zeros.len());
        e.write_all(&zeros[..n]).unwrap();
        left -= n;
    }
    e.flush().unwrap();
    let out = std::mem::take(e.get_mut());
    drop(e); // writes its final block into the (now empty) vector we threw away
    out
}

/// A zlib stream of `total` zeros (a multiple of 64 MiB): one 64 MiB deflate segment repeated, a final empty
/// block, and the Adler-32 of the zeros (a = 1, b = total mod 65521).
fn zlib_zeros(total: u64) -> Vec<u8> {
    const SEGMENT: u64 = 64 << 20;
    assert_eq!(total % SEGMENT, 0);
    let segment = deflate_zeros_segment(SEGMENT as usize);
    let mut out = vec![0x78, 0xda];
    for _ in 0..total / SEGMENT {
        out.extend_from_slice(&segment);
    }
    out.extend_from_slice(&[0x03, 0x00]); // a final, empty block with fixed codes
    let adler = (((total % 65521) as u32) << 16) | 1;
    out.extend_from_slice(&adler.to_be_bytes());
    out
}

fn zlib(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

/// A CompressedData SEQUENCE (DER): version 0, zlib, eContentType `inner`, the zlib bytes as eContent.
fn compressed_data(inner: &[u8], zlib: &[u8]) -> Vec<u8> {
    let alg = tlv(0x30, &tlv(0x06, ID_ALG_ZLIB_COMPRESS.as_bytes()));
    let eci = tlv(0x30, &[tlv(0x06, inner), tlv(0xa0, &tlv(0x04, zlib))].concat());
    tlv(0x30, &[tlv(0x02, &[0]), alg, eci].concat())
}

/// A ContentInfo holding CompressedData.
fn compressed_content_info(cd: &[u8]) -> Vec<u8> {
    tlv(0x30, &[tlv(0x06, ID_CT_COMPRESSED_DATA.as_bytes()), tlv(0xa0, cd)].concat())
}

/// `layers` CompressedData layers around `content`, each eContent the next layer's CompressedData SEQUENCE.
fn layered(layers: usize, content: &[u8]) -> Vec<u8> {
    let mut cd = compressed_data(ID_DATA.as_bytes(), &zlib(content));
    for _ in 1..layers {
        cd = compressed_data(ID_CT_COMPRESSED_DATA.as_bytes(), &zlib(&cd));
    }
    compressed_content_info(&cd)
}

/// CompressedData of 1 GiB of zeros, inside another CompressedData layer (a few KB in all).
fn nested_zeros_bomb() -> Vec<u8> {
    let inner = compressed_data(ID_DATA.as_bytes(), &zlib_zeros(GIB));
    compressed_content_info(&compressed_data(ID_CT_COMPRESSED_DATA.as_bytes(), &zlib(&inner)))
}

// ------------------------------------------------------------------------------------------------------------
// The tests

/// Every prefix of `msg` (stepping by `step`), labelled.
fn prefixes(name: &str, msg: &[u8], step: usize, accept: Accept) -> Vec<(String, Vec<u8>, Accept)> {
    (0..msg.len())
        .step_by(step)
        .map(|n| (format!("{name} cut to {n} of {} bytes", msg.len()), msg[..n].to_vec(), accept))
        .collect()
}

#[test]
fn truncated_messages_are_refused_at_every_offset() {
    let _turn = serial();
    let fx = fixture();
    let mut rep = Report::new("truncation");
    let p = &fx.plaintext;
    // As sealpost wrote them (BER, indefinite lengths) at every offset, as DER at every third.
    fx.sweep(&mut rep, Cmd::Verify, "cut-signed", &prefixes("signed (BER)", &fx.signed, 1, Accept::Refused), p);
    fx.sweep(&mut rep, Cmd::Verify, "cut-signed-der", &prefixes("signed (DER)", &fx.signed_der, 3, Accept::Refused), p);
    fx.sweep(&mut rep, Cmd::Decrypt, "cut-cbc", &prefixes("AES-CBC (BER)", &fx.cbc, 1, Accept::Refused), p);
    fx.sweep(&mut rep, Cmd::Decrypt, "cut-cbc-der", &prefixes("AES-CBC (DER)", &fx.cbc_der, 3, Accept::Refused), p);
    fx.sweep(&mut rep, Cmd::Decrypt, "cut-gcm", &prefixes("AES-GCM (BER)", &fx.gcm, 1, Accept::Refused), p);
    fx.sweep(&mut rep, Cmd::Decrypt, "cut-gcm-der", &prefixes("AES-GCM (DER)", &fx.gcm_der, 3, Accept::Refused), p);
    fx.sweep(&mut rep, Cmd::Decompress, "cut-z", &prefixes("compressed (BER)", &fx.compressed, 1, Accept::Refused), p);
    let z = &fx.compressed_der;
    fx.sweep(&mut rep, Cmd::Decompress, "cut-z-der", &prefixes("compressed (DER)", z, 1, Accept::Refused), p);
    // PEM: cut after the END line's dashes, only the line end is lost, and the message may still be read.
    fx.sweep(&mut rep, Cmd::Verify, "cut-pem", &prefixes("signed (PEM)", &fx.signed_pem, 5, Accept::SameOrRefused), p);
    rep.finish();
}

#[test]
fn flipped_bits_are_caught_or_harmless() {
    let _turn = serial();
    let fx = fixture();
    let mut rep = Report::new("bit flips");
    let p = &fx.plaintext;
    let flips = |name: &str, msg: &[u8], accept: Accept| -> Vec<(String, Vec<u8>, Accept)> {
        (0..msg.len())
            .map(|i| {
                let mut m = msg.to_vec();
                m[i] ^= 1 << (i % 8);
                (format!("{name} with bit {} of byte {i} flipped", i % 8), m, accept)
            })
            .collect()
    };
    // A flip may hit a field no signature or tag covers (a version number, the certificate's own signature
    // with --no-chain, the unprotected content type): then the content must come out unchanged.
    fx.sweep(&mut rep, Cmd::Verify, "flip-signed", &flips("signed", &fx.signed_der, Accept::SameOrRefused), p);
    let nochain = flips("signed", &fx.signed_der, Accept::SameOrRefused);
    fx.sweep(&mut rep, Cmd::VerifyNoChain, "flip-signed-nochain", &nochain[..nochain.len() / 2], p);
    fx.sweep(&mut rep, Cmd::Decrypt, "flip-gcm", &flips("AES-GCM", &fx.gcm_der, Accept::SameOrRefused), p);
    // CBC has no integrity: a flip in the IV or the ciphertext may give other content, labelled so.
    fx.sweep(&mut rep, Cmd::Decrypt, "flip-cbc", &flips("AES-CBC", &fx.cbc_der, Accept::Malleable), p);
    fx.sweep(&mut rep, Cmd::Decompress, "flip-z", &flips("compressed", &fx.compressed_der, Accept::SameOrRefused), p);
    rep.finish();
}

#[test]
fn ber_bombs_and_length_claims_are_bounded_errors() {
    let _turn = serial();
    let fx = fixture();
    let mut rep = Report::new("BER bombs");
    let signed_data = const_oid::db::rfc5911::ID_SIGNED_DATA.as_bytes();
    let mut cases: Vec<(String, Vec<u8>)> = Vec::new();
    let mut add = |label: &str, bytes: Vec<u8>| cases.push((label.to_string(), bytes));
    let deep = 100_000;
    add("100 000 nested indefinite SEQUENCEs", [[0x30, 0x80].repeat(deep), [0, 0].repeat(deep)].concat());
    add("100 000 nested definite SEQUENCEs", nested_definite(deep, &[0x05, 0x00]));
    add(
        "100 000 nested indefinite SEQUENCEs inside a SignedData ContentInfo",
        [
            vec![0x30, 0x80],
            tlv(0x06, signed_data),
            vec![0xa0, 0x80],
            [0x30, 0x80].repeat(deep),
            [0, 0].repeat(deep + 2),
        ]
        .concat(),
    );
    add("100 000 unclosed indefinite SEQUENCEs", [0x30, 0x80].repeat(deep));
    add("a SEQUENCE claiming 4 GiB over 10 bytes", [&[0x30, 0x84, 0xff, 0xff, 0xff, 0xff][..], &[0; 10]].concat());
    add("a SEQUENCE claiming 2^64-1 bytes", [&[0x30, 0x88][..], &[0xff; 8], &[0; 10]].concat());
    add("a length of 9 octets", [&[0x30, 0x89, 0x01][..], &[0xff; 8], &[0; 10]].concat());
    add("a length of 127 octets", [&[0x30, 0xff][..], &[0x01; 127], &[0; 10]].concat());
    add(
        "ContentInfo whose [0] claims 2 GiB",
        [
            vec![0x30, 0x80],
            tlv(0x06, signed_data),
            vec![0xa0, 0x84, 0x7f, 0xff, 0xff, 0xff],
            tlv(0x30, &[2, 1, 1]),
            vec![0, 0],
        ]
        .concat(),
    );
    add("an indefinite-length OBJECT IDENTIFIER", vec![0x30, 0x80, 0x06, 0x80, 0x2a, 0x03, 0x00, 0x00, 0x00, 0x00]);
    add("an indefinite-length INTEGER", vec![0x30, 0x80, 0x02, 0x80, 0x01, 0x00, 0x00, 0x00, 0x00]);
    add("end-of-contents at the top", vec![0x00, 0x00]);
    add("an indefinite length at the top, never closed", [&[0x30, 0x80][..], &tlv(0x06, signed_data)].concat());
    // The same inside real messages.
    let octets = |tag: u8, len: &[u8], v: &[u8]| Node::Raw([&[tag][..], len, v].concat());
    for (name, der, path) in
        [("signed", &fx.signed_der, &SD_CONTENT[..]), ("compressed", &fx.compressed_der, &CD_CONTENT[..])]
    {
        let v = tree(der).at(path).clone();
        let Node::Prim(_, value) = v else { panic!("primitive eContent") };
        add(
            &format!("{name}: eContent OCTET STRING with an indefinite length"),
            edit(der, path, |n| *n = octets(0x04, &[0x80], &[&value[..], &[0, 0]].concat())),
        );
        add(
            &format!("{name}: eContent OCTET STRING claiming 2 GiB"),
            edit(der, path, |n| *n = octets(0x04, &[0x84, 0x7f, 0xff, 0xff, 0xff], &value)),
        );
        let mut nest = [0x24, 0x80].repeat(10_000);
        nest.extend(tlv(0x04, &value));
        nest.extend([0, 0].repeat(10_000));
        add(
            &format!("{name}: eContent in 10 000 nested constructed OCTET STRINGs"),
            edit(der, path, |n| *n = Node::Raw(nest)),
        );
        add(
            &format!("{name}: end-of-contents inside a definite length"),
            edit(der, &BODY, |n| n.children().push(Node::Raw(vec![0, 0]))),
        );
        add(&format!("{name}: trailing data after the message"), [&der[..], &[0x05, 0x00]].concat());
        add(
            &format!("{name}: version INTEGER with an indefinite length"),
            edit(der, &[1, 0, 0], |n| *n = Node::Raw(vec![0x02, 0x80, 0x01, 0, 0])),
        );
    }
    add(
        "AES-CBC: ciphertext [0] claiming 2 GiB",
        edit(&fx.cbc_der, &ENV_CONTENT, |n| {
            let v = n.value().clone();
            *n = octets(0x80, &[0x84, 0x7f, 0xff, 0xff, 0xff], &v);
        }),
    );
    add(
        "AES-CBC: ciphertext [0] primitive with an indefinite length",
        edit(&fx.cbc_der, &ENV_CONTENT, |n| {
            let v = n.value().clone();
            *n = octets(0x80, &[0x80], &[&v[..], &[0, 0]].concat());
        }),
    );
    for (label, bytes) in &cases {
        for cmd in [Cmd::Verify, Cmd::Decrypt, Cmd::Decompress] {
            let r = fx.run(cmd, &[], "ber", "bomb", bytes);
            rep.check(&format!("{label} ({cmd:?})"), &r, Accept::Malformed, b"", &[]);
        }
    }
    rep.finish();
}

#[test]
fn a_million_octet_string_segments_are_read_in_bounded_time() {
    let _turn = serial();
    let fx = fixture();
    let mut rep = Report::new("segments");
    let p = &fx.plaintext;
    const MANY: usize = 1_000_000;
    // Valid BER: the content is the same, only cut up; each must be read, quickly, and give the content.
    let signed = edit(&fx.signed_der, &SD_CONTENT, |n| {
        let v = n.value().clone();
        *n = Node::Raw(segmented(0x24, &v, 1, MANY));
    });
    let r = fx.run(Cmd::Verify, &[], "seg", "signed", &signed);
    rep.check("signed: eContent in 1-byte segments and a million empty ones", &r, Accept::Same, p, &[]);
    let large = edit(&fx.large_signed_der, &SD_CONTENT, |n| {
        let v = n.value().clone();
        *n = Node::Raw(segmented(0x24, &v, 1, 0));
    });
    let r = fx.run(Cmd::Verify, &[], "seg", "large", &large);
    rep.check("signed 1 MiB: eContent in a million 1-byte segments", &r, Accept::Same, &fx.large, &[]);
    for (name, der) in [("AES-CBC", &fx.cbc_der), ("AES-GCM", &fx.gcm_der)] {
        let m = edit(der, &ENV_CONTENT, |n| {
            let v = n.value().clone();
            *n = Node::Raw(segmented(0xa0, &v, 1, MANY));
        });
        let r = fx.run(Cmd::Decrypt, &[], "seg", name, &m);
        rep.check(&format!("{name}: ciphertext in 1-byte segments and a million empty ones"), &r, Accept::Same, p, &[]);
    }
    let z = edit(&fx.compressed_der, &CD_CONTENT, |n| {
        let v = n.value().clone();
        *n = Node::Raw(segmented(0x24, &v, 1, MANY));
    });
    let r = fx.run(Cmd::Decompress, &[], "seg", "compressed", &z);
    rep.check("compressed: eContent in 1-byte segments and a million empty ones", &r, Accept::Same, p, &[]);
    rep.finish();
}

#[test]
fn wrong_keys_and_modified_ciphertext() {
    let _turn = serial();
    let fx = fixture();
    let mut rep = Report::new("ciphertext");
    let p = &fx.plaintext;
    for (name, der) in [("AES-CBC", &fx.cbc_der), ("AES-GCM", &fx.gcm_der)] {
        let r = fx.run(Cmd::DecryptAsBob, &[], "ct", name, der);
        rep.check(
            &format!("{name} to Alice, opened as Bob"),
            &r,
            Accept::Verdict,
            p,
            &["not encrypted to this certificate"],
        );
        let r = fx.run(Cmd::DecryptMismatched, &[], "ct", name, der);
        rep.check(&format!("{name}: Alice's certificate with Bob's key"), &r, Accept::Verdict, p, &["does not belong"]);
        let no_recipients = edit(der, &ENV_RECIPIENTS, |n| n.children().clear());
        let r = fx.run(Cmd::Decrypt, &[], "ct", name, &no_recipients);
        rep.check(&format!("{name} with no RecipientInfo"), &r, Accept::Refused, p, &[]);
        let no_content = edit(der, &[1, 0, 2], |n| {
            n.children().pop();
        });
        let r = fx.run(Cmd::Decrypt, &[], "ct", name, &no_content);
        rep.check(&format!("{name} without its encryptedContent"), &r, Accept::Malformed, p, &[]);
    }

    // CBC is malleable (SECURITY-CASES A1): it decrypts, and the verdict says it is not protected. A flip in
    // the IV flips the same bit of the first plaintext block; one in ciphertext block 1 garbles plaintext
    // block 1 and flips that bit of block 2, leaving the padding intact.
    let cbc = &fx.cbc_der;
    let iv_flipped = edit(cbc, &ENV_ALG, |n| flip(n.at(&[1]).value(), 0));
    let r = fx.run(Cmd::Decrypt, &[], "ct", "cbc-iv", &iv_flipped);
    let mut want = p.clone();
    want[0] ^= 1;
    rep.check("AES-CBC with its IV changed: other content, labelled", &r, Accept::Malleable, p, &["NO integrity"]);
    if r.code == Some(0) && r.output.as_deref() != Some(&want[..]) {
        rep.problem("AES-CBC with its IV changed", &r, vec!["not the plaintext with its first bit flipped".into()]);
    }
    check_integrity(&mut rep, "AES-CBC with its IV changed", &r, "none");
    let ct_flipped = edit(cbc, &ENV_CONTENT, |n| flip(n.value(), 0));
    let r = fx.run(Cmd::Decrypt, &[], "ct", "cbc-block1", &ct_flipped);
    rep.check("AES-CBC with ciphertext block 1 changed", &r, Accept::Malleable, p, &["NO integrity"]);
    match &r.output {
        Some(out) if r.code == Some(0) && out.len() == p.len() && out[32..] == p[32..] && out[16] == p[16] ^ 1 => {}
        _ => rep.problem("AES-CBC with ciphertext block 1 changed", &r, vec!["not the malleable CBC result".into()]),
    }
    for (label, f) in [
        (
            "last ciphertext byte changed",
            Box::new(|v: &mut Vec<u8>| {
                let last = v.len() - 1;
                flip(v, last)
            }) as Box<dyn Fn(&mut Vec<u8>)>,
        ),
        ("last block removed", Box::new(|v: &mut Vec<u8>| v.truncate(v.len() - 16))),
        ("one byte removed", Box::new(|v: &mut Vec<u8>| v.truncate(v.len() - 1))),
        ("ciphertext empty", Box::new(|v: &mut Vec<u8>| v.clear())),
    ] {
        let m = edit(cbc, &ENV_CONTENT, |n| f(n.value()));
        let r = fx.run(Cmd::Decrypt, &[], "ct", "cbc-mod", &m);
        rep.check(&format!("AES-CBC, {label}"), &r, Accept::Malleable, p, &[]);
    }
    let m = edit(cbc, &ENV_ALG, |n| n.at(&[1]).value().truncate(8));
    let r = fx.run(Cmd::Decrypt, &[], "ct", "cbc-iv8", &m);
    rep.check("AES-CBC with an 8-byte IV", &r, Accept::Malformed, p, &[]);
    let m = edit(cbc, &ENV_RECIPIENTS, |n| flip(n.at(&[0, 3]).value(), 100));
    let r = fx.run(Cmd::Decrypt, &[], "ct", "cbc-key", &m);
    rep.check("AES-CBC with the wrapped key changed", &r, Accept::Malleable, p, &[]);

    // GCM: every change is caught by the tag, and nothing is released.
    let gcm = &fx.gcm_der;
    let gcm_cases: Vec<(&str, Vec<u8>, Accept)> = vec![
        ("ciphertext byte changed", edit(gcm, &ENV_CONTENT, |n| flip(n.value(), 5)), Accept::Verdict),
        (
            "last ciphertext byte changed",
            edit(gcm, &ENV_CONTENT, |n| {
                let v = n.value();
                let last = v.len() - 1;
                flip(v, last);
            }),
            Accept::Verdict,
        ),
        (
            "ciphertext one byte short",
            edit(gcm, &ENV_CONTENT, |n| {
                n.value().pop();
            }),
            Accept::Verdict,
        ),
        ("ciphertext empty", edit(gcm, &ENV_CONTENT, |n| n.value().clear()), Accept::Verdict),
        ("tag changed", edit(gcm, &ENV_MAC, |n| flip(n.value(), 15)), Accept::Verdict),
        ("nonce changed", edit(gcm, &ENV_ALG, |n| flip(n.at(&[1, 0]).value(), 0)), Accept::Verdict),
        ("wrapped key changed", edit(gcm, &ENV_RECIPIENTS, |n| flip(n.at(&[0, 3]).value(), 100)), Accept::Verdict),
        ("tag cut to 12 bytes", edit(gcm, &ENV_MAC, |n| n.value().truncate(12)), Accept::Refused),
        (
            "tag missing",
            edit(gcm, &BODY, |n| {
                n.children().pop();
            }),
            Accept::Malformed,
        ),
        (
            "AES-256-CBC named in AuthEnvelopedData",
            edit(gcm, &ENV_ALG, |n| {
                *n.at(&[0]).value() = const_oid::db::rfc5911::ID_AES_256_CBC.as_bytes().to_vec();
                *n.at(&[1]) = Node::Prim(0x04, vec![0; 16]);
            }),
            Accept::Refused,
        ),
    ];
    for (label, m, accept) in gcm_cases {
        let r = fx.run(Cmd::Decrypt, &[], "ct", "gcm-mod", &m);
        rep.check(&format!("AES-GCM, {label}"), &r, accept, p, &[]);
    }
    rep.finish();
}

fn check_integrity(rep: &mut Report, label: &str, r: &Run, want: &str) {
    if r.code == Some(0) && r.verdict.as_ref().is_none_or(|v| v["integrity"] != want) {
        rep.problem(label, r, vec![format!("verdict integrity is not {want}")]);
    }
}

#[test]
fn modified_signatures_and_signer_certificates() {
    let _turn = serial();
    let fx = fixture();
    let mut rep = Report::new("signatures");
    let p = &fx.plaintext;
    let sd = &fx.signed_der;
    let si = |i: usize| -> Vec<usize> { [&SD_INFOS[..], &[0, i]].concat() };
    let attrs = si(SI_ATTRS);
    let attr = |last: u8| -> Vec<usize> { [&attrs[..], &[attribute_index(sd, last)]].concat() };
    let sha1_with_rsa = const_oid::ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.5");
    let sha512 = const_oid::db::rfc5912::ID_SHA_512;
    let cases: Vec<(&str, Vec<u8>, Accept)> = vec![
        ("signature byte changed", edit(sd, &si(SI_SIG), |n| flip(n.value(), 10)), Accept::Verdict),
        (
            "signature one byte short",
            edit(sd, &si(SI_SIG), |n| {
                n.value().pop();
            }),
            Accept::Verdict,
        ),
        ("signature empty", edit(sd, &si(SI_SIG), |n| n.value().clear()), Accept::Verdict),
        ("content byte changed", edit(sd, &SD_CONTENT, |n| flip(n.value(), 3)), Accept::Verdict),
        ("content one byte longer", edit(sd, &SD_CONTENT, |n| n.value().push(b'\n')), Accept::Verdict),
        (
            "signing time changed",
            edit(sd, &attr(5), |n| {
                let v = n.at(&[1, 0]).value();
                v[11] = if v[11] == b'0' { b'1' } else { b'0' };
            }),
            Accept::Verdict,
        ),
        ("message digest changed", edit(sd, &attr(4), |n| flip(n.at(&[1, 0]).value(), 0)), Accept::Verdict),
        (
            "message-digest attribute removed",
            edit(sd, &attrs, |n| {
                n.children().remove(attribute_index(sd, 4));
            }),
            Accept::Verdict,
        ),
        (
            "content-type attribute removed",
            edit(sd, &attrs, |n| {
                n.children().remove(attribute_index(sd, 3));
            }),
            Accept::Verdict,
        ),
        (
            "message-digest attribute twice",
            edit(sd, &attrs, |n| {
                let a = n.children()[attribute_index(sd, 4)].clone();
                n.children().push(a);
            }),
            Accept::Verdict,
        ),
        (
            "signed attributes removed",
            edit(sd, &[&SD_INFOS[..], &[0]].concat(), |n| {
                n.children().remove(SI_ATTRS);
            }),
            Accept::Verdict,
        ),
        (
            "signature algorithm sha1WithRSAEncryption over a SHA-256 digest",
            edit(sd, &si(SI_SIG_ALG), |n| {
                *n.at(&[0]).value() = sha1_with_rsa.as_bytes().to_vec();
            }),
            Accept::Verdict,
        ),
        (
            "digest algorithm SHA-512 instead of SHA-256",
            edit(sd, &si(SI_DIGEST_ALG), |n| {
                *n.at(&[0]).value() = sha512.as_bytes().to_vec();
            }),
            Accept::Verdict,
        ),
        (
            "digest algorithm an unknown OID",
            edit(sd, &si(SI_DIGEST_ALG), |n| {
                *n.at(&[0]).value() = vec![0x2a, 0x03, 0x04];
            }),
            Accept::Verdict,
        ),
        (
            "the signer's certificate changed",
            edit(sd, &SD_CERTS, |n| {
                let Node::Cons(_, c) = n.at(&[0]) else { panic!() };
                flip(c[2].value(), 20); // its signature BIT STRING
            }),
            Accept::Verdict,
        ),
        (
            "65 SignerInfos",
            edit(sd, &SD_INFOS, |n| {
                let one = n.children()[0].clone();
                n.children().extend(std::iter::repeat_n(one, 64));
            }),
            Accept::Refused,
        ),
        (
            "eContent removed (a detached signature without its content)",
            edit(sd, &SD_ECI, |n| {
                n.children().truncate(1);
            }),
            Accept::Malformed,
        ),
    ];
    for (label, m, accept) in cases {
        let r = fx.run(Cmd::Verify, &[], "sig", "mod", &m);
        rep.check(&format!("signed, {label}"), &r, accept, p, &[]);
    }

    // No SignerInfo at all: not signed (SECURITY-CASES B1).
    let none = edit(sd, &SD_INFOS, |n| n.children().clear());
    let r = fx.run(Cmd::Verify, &[], "sig", "none", &none);
    rep.check("signed, no SignerInfo", &r, Accept::Verdict, p, &[]);
    check_verdict(&mut rep, "signed, no SignerInfo", &r, "no-signature", &[]);

    // The signer's certificate missing: unknown signer, with and without a chain check.
    let no_certs = edit(sd, &BODY, |n| {
        n.children().remove(3);
    });
    for cmd in [Cmd::Verify, Cmd::VerifyNoChain] {
        let r = fx.run(cmd, &[], "sig", "nocert", &no_certs);
        rep.check(&format!("signed, no certificates ({cmd:?})"), &r, Accept::Verdict, p, &[]);
        check_verdict(&mut rep, &format!("signed, no certificates ({cmd:?})"), &r, "unknown-signer", &["unknown-key"]);
    }
    // Only Bob's certificate given: still unknown.
    let r = fx.run(Cmd::VerifyNoChain, &["--cert", fx.bob_cert.as_str()], "sig", "bobcert", &no_certs);
    rep.check("signed, no certificates, Bob's given", &r, Accept::Verdict, p, &[]);
    check_verdict(&mut rep, "signed, no certificates, Bob's given", &r, "unknown-signer", &["unknown-key"]);
    // ... and Alice's given: good.
    let r = fx.run(Cmd::Verify, &["--cert", fx.alice_cert.as_str()], "sig", "alicecert", &no_certs);
    rep.check("signed, no certificates, Alice's given", &r, Accept::Same, p, &[]);

    // Two signers (SECURITY-CASES B1): both good; one bad -> not valid, each reported.
    let two = &fx.signed_two;
    let r = fx.run(Cmd::Verify, &[], "sig", "two", two);
    rep.check("two signers", &r, Accept::Same, p, &[]);
    check_verdict(&mut rep, "two signers", &r, "pass", &["good", "good"]);
    for bad in 0..2 {
        let m = edit(two, &[&SD_INFOS[..], &[bad, SI_SIG]].concat(), |n| flip(n.value(), 7));
        let r = fx.run(Cmd::Verify, &[], "sig", "two-bad", &m);
        let label = format!("two signers, signature {} of 2 changed", bad + 1);
        rep.check(&label, &r, Accept::Verdict, p, &[]);
        let mut want = ["good", "good"];
        want[bad] = "bad";
        check_verdict(&mut rep, &label, &r, "fail", &want);
    }

    // Two signers, Bob's certificate missing: Alice's signature is good and Bob's unknown. sealpost passes
    // this with both listed (core verdict policy); OpenSSL's CMS_verify refuses any missing signer
    // certificate. Either is accepted here, with the signers reported.
    let alice_only = fs::read(&fx.alice_cert).unwrap();
    let alice_only = sealpost::x509::Certificate::read_all(&alice_only).unwrap().remove(0);
    let m = edit(two, &SD_CERTS, |n| *n.children() = vec![tree(alice_only.der())]);
    let r = fx.run(Cmd::Verify, &[], "sig", "two-unknown", &m);
    rep.check("two signers, Bob's certificate missing", &r, Accept::SameOrRefused, p, &[]);
    let mut got: Vec<&str> = r
        .verdict
        .as_ref()
        .and_then(|v| v["signers"].as_array())
        .map_or(vec![], |a| a.iter().map(|s| s["status"].as_str().unwrap_or("?")).collect());
    got.sort_unstable();
    if got != ["good", "unknown-key"] {
        rep.problem("two signers, Bob's certificate missing", &r, vec![format!("signers {got:?}")]);
    }

    // Detached: the content given separately.
    let sig = fx.dir.join("detached.der");
    fs::write(&sig, &fx.detached).unwrap();
    let sig_arg = sig.to_string_lossy().into_owned();
    // A detached check writes nothing: the verdict says whether it passed.
    let r = fx.run(Cmd::Verify, &["--signature", sig_arg.as_str()], "sig", "detached", p);
    rep.runs += 1;
    if r.code != Some(0) {
        rep.problem("detached, right content", &r, vec![format!("exit {:?}, want 0", r.code)]);
    }
    check_verdict(&mut rep, "detached, right content", &r, "pass", &["good"]);
    let mut changed = p.clone();
    changed[0] ^= 0x20;
    let r = fx.run(Cmd::Verify, &["--signature", sig_arg.as_str()], "sig", "detached", &changed);
    rep.check("detached, changed content", &r, Accept::Verdict, p, &[]);
    check_verdict(&mut rep, "detached, changed content", &r, "fail", &["bad"]);

    // Signer certificates that do not validate: expired, serverAuth only, from a CA not trusted. With
    // --no-chain the signature alone is good.
    let mut signers =
        vec![("issued by a CA not given", fx.carol.clone(), "no path"), ("expired", fx.expired.clone(), "expired")];
    if let Some(c) = &fx.server_only {
        signers.push(("serverAuth only", c.clone(), "emailProtection"));
    }
    for (label, (cert, key), why) in signers {
        let out = fx.dir.join(format!("signed-{}.p7m", label.replace(' ', "-")));
        let plain = fx.dir.join("plain");
        let st = Command::new(env!("CARGO_BIN_EXE_sealpost"))
            .args(["smime", "sign", "--cert", &cert, "--key", &key, "-o"])
            .args([&out, &plain])
            .output()
            .unwrap();
        assert!(st.status.success(), "signing as {label}: {}", String::from_utf8_lossy(&st.stderr));
        let m = fs::read(&out).unwrap();
        let r = fx.run(Cmd::Verify, &[], "chain", "chain", &m);
        rep.check(&format!("signer certificate {label}"), &r, Accept::Verdict, p, &[why]);
        let r = fx.run(Cmd::VerifyNoChain, &[], "chain", "nochain", &m);
        rep.check(&format!("signer certificate {label}, --no-chain"), &r, Accept::Same, p, &[]);
    }
    rep.finish();
}

#[test]
fn compression_bombs_and_deep_layers_are_refused() {
    let _turn = serial();
    let fx = fixture();
    let mut rep = Report::new("compression");
    let p = &fx.plaintext;
    let one = compressed_content_info(&compressed_data(ID_DATA.as_bytes(), &zlib_zeros(GIB)));
    println!("1 GiB of zeros: CompressedData of {} bytes; nested: {} bytes", one.len(), nested_zeros_bomb().len());
    let r = fx.run(Cmd::Decompress, &[], "bomb", "one", &one);
    rep.check("CompressedData of 1 GiB of zeros", &r, Accept::Refused, b"", &[]);
    let r = fx.run(Cmd::Decompress, &[], "bomb", "nested", &nested_zeros_bomb());
    rep.check("CompressedData of CompressedData of 1 GiB of zeros", &r, Accept::Refused, b"", &[]);
    // Layers: a few are fine, a hundred are not.
    for n in [2, 8] {
        let r = fx.run(Cmd::Decompress, &[], "bomb", "layers", &layered(n, p));
        rep.check(&format!("{n} CompressedData layers"), &r, Accept::SameOrRefused, p, &[]);
    }
    let r = fx.run(Cmd::Decompress, &[], "bomb", "layers", &layered(100, p));
    rep.check("100 CompressedData layers", &r, Accept::Refused, p, &[]);
    // Broken zlib streams and structure.
    let good = zlib(p);
    let with = |z: Vec<u8>| compressed_content_info(&compressed_data(ID_DATA.as_bytes(), &z));
    let mut bad_adler = good.clone();
    let n = bad_adler.len();
    bad_adler[n - 1] ^= 1;
    let cases: Vec<(&str, Vec<u8>, Accept)> = vec![
        ("control: hand-built CompressedData", with(good.clone()), Accept::Same),
        ("zlib with data after its end", with([&good[..], b"more"].concat()), Accept::Refused),
        ("zlib without its Adler-32", with(good[..good.len() - 4].to_vec()), Accept::Refused),
        ("zlib with a wrong Adler-32", with(bad_adler), Accept::Refused),
        ("raw deflate instead of zlib", with(good[2..good.len() - 4].to_vec()), Accept::Refused),
        ("empty eContent", with(Vec::new()), Accept::Refused),
        (
            "an unknown compression algorithm",
            edit(&with(good.clone()), &CD_ALG, |n| *n.at(&[0]).value() = vec![0x2a, 0x03, 0x04]),
            Accept::Malformed,
        ),
        ("version 1", edit(&with(good.clone()), &[1, 0, 0], |n| *n.value() = vec![1]), Accept::Malformed),
        (
            "eContentType id-signedData over plain text",
            edit(&with(good.clone()), &CD_ECI, |n| {
                *n.at(&[0]).value() = const_oid::db::rfc5911::ID_SIGNED_DATA.as_bytes().to_vec();
            }),
            Accept::Refused,
        ),
    ];
    for (label, m, accept) in cases {
        let r = fx.run(Cmd::Decompress, &[], "bomb", "zlib", &m);
        rep.check(label, &r, accept, p, &[]);
    }
    rep.finish();
}

// ------------------------------------------------------------------------------------------------------------
// Regression files: inputs that caught a bug or show a case, kept in `vectors/cms/` (see its README) so that
// each can be reproduced with one command. They are made by the builders here, deterministically: the
// certificates from the fixed [`REGRESSION_KEY`], with a fixed serial number and dates.

/// The regression files' RSA-2048 key (made once with `openssl genpkey`; a published test key, never to
/// protect anything).
const REGRESSION_KEY: &str = "-----BEGIN PRIVATE KEY-----
MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQDc4D+OzDGX1kpt
CA4vGaDIp/uUINhuVivaPS7FDO95sxekxKQYli2QpJSnxHbFYeM0UFRfF253aw3f
pbPfJiP0JuCvLujhJrErNpPi4NTkkYEbyblE8hCRcjrc0YIQMwcqp9/j9Y0RA1pI
6oi8ZbsZHeOjdw2tD1gb5tj8BGw95M9ITVBZy0WXS/T9PotJVHqX4WggJCI21+K7
vtGhozuIaBYnQt7fGMBcTeyGpT8JIEiMWlmnNU07skNjiUx4isOc2hf1xhkLn0L1
2508hF124y+m1fodgINw6PtfwP7r27HzPxUD90jwNi0h1AqNsBfdnBFKcLfSMR5w
CLXJOx4lAgMBAAECggEAW2xMkngtfNobg0bGzDMQ7I0vYlA4FW+Ahjw13CUvCFIb
Ur176Jtcr9aXm1uEB84tI42uZo/FzxMWMoCdU5uvXRMshAZoKS2BPtA/5TRHmnYp
mQ1lrMZ/GhzMhXMIoVjluf+zeeE86xJWsAC36Tc4erx26UXReNT1lNL39FSGUxVZ
hn1GUtEjqatv7U7U5B17q45TgLkHCPhuZ4ti4RtnMPsJB7Nha+R5MCDxjGJvd14v
hIQWR0AYzEdimz7kvQQSRU/2u6NYQBEbD5NO5DsraO/rE8JC01nGE25hmj7vAqwt
V2EUN4gu2DmUL6jWtZushYLh0HTCm1t7PyYYVIrlHwKBgQD89/rvcIRGMdquQr65
kSTK6mr3kaKRWmQZfnlcZvENDPbqiS0ULhhTlsi1QdXAsBpU9JPsPL8An98F3fiy
ze17lboIxLelC4vLVJKgzKy4RDm5OTD5VXYiqMxun5GvqzTFLz/WwzzHW3aFKCCX
xK0AM3El9euhOmwbMUQj0cAGswKBgQDfhdGeRrTlEW5V7fyQV+O8tcgZi2t68Dp4
VERm0/zSo8su1CSDQ0yVNskC9HY36iEUfUFh/SbEKAwLV7HsY8Gnk5eNt1HYf6Le
vWjN29/47J/6X68CrpUjvBuT09U1pyhp2LtBln7P2ZIVnYR8LQBCkcrHXI4U1Oms
69lLa/7zxwKBgFoGelQZ68j7VwKrGCr7/2cDU7v1JTCrRXJZMyFyNRja40iGNve2
i8u7noP7APII+eYAAGCTIbo8KudwnmArrvdLSqByOZTP7hkXaPM2w8Tz6sMDGm2x
P1CIV/CKcxNcT3RZI1PvuUKNRzmOFUNNp++pXvwOb6O6IdzvhHtm2vrHAoGAbqoz
WRiKsSrLJNIaDGDnSOP7OOJ1CT3sxOx7nSlxb9xWWU4A8dgdD3c7WDIuYYqSbDGD
cH9EdTOamvcFCRNuqogBLdHIPNccjQjb3afxoK2OmwhKfppvDm0wfiUP12t2L8l1
FIjtKfz/PaJqGIyzJ0JFUiT510h+lPWD9Lp4VLsCgYEA8wEWhekSdZUbBwiKj3ne
vYudV50hUwm/aqk+rtfoNLVE9NvGScwdO5xzErWYc1NcKGeMstNrwrhGsnd70FSg
YpIkRRrlM+kyLrpr/OKYaYZ5H0qlwtXj9hbGfhnnlCb6Inv0bYSrz+M40agoV4DB
u7zDbtbkgWeKveSGjca7b9w=
-----END PRIVATE KEY-----
";

/// 2025-01-01T00:00:00Z: the regression files' notBefore and signing time.
const REGRESSION_TIME: u64 = 1_735_689_600;

/// What the regression messages say.
const REGRESSION_TEXT: &[u8] = b"sealpost regression input\r\n";

/// id-RSASSA-PSS (RFC 4055 section 3.1).
const RSASSA_PSS: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0a];

fn regression_key() -> sealpost::core::rsa::RsaPrivateKey {
    sealpost::core::rsa::RsaPrivateKey::from_pem(REGRESSION_KEY, None).unwrap()
}

/// A certificate (DER) with its TBSCertificate changed by `f`, signed again by `key` with
/// sha256WithRSAEncryption.
fn resign(cert: &[u8], key: &sealpost::core::rsa::RsaPrivateKey, f: impl FnOnce(&mut Node)) -> Vec<u8> {
    use sealpost::core::digest::{HashAlgorithm, digest};
    let mut t = tree(cert);
    f(t.at(&[0]));
    let tbs = t.at(&[0]).encode();
    let d = digest(HashAlgorithm::Sha256, &tbs);
    let sig = key.sign(sealpost::core::rsa::SignaturePadding::Pkcs1v15, HashAlgorithm::Sha256, d.as_bytes()).unwrap();
    *t.at(&[2]) = Node::Prim(0x03, [&[0u8][..], &sig].concat());
    t.encode()
}

/// "CN=Regression <regression@example.org>", self-signed by [`REGRESSION_KEY`], serial 0x5EA1, valid from
/// [`REGRESSION_TIME`] for 100 years: sealpost's own e-mail certificate profile with the random serial replaced.
fn regression_cert() -> Vec<u8> {
    let key = regression_key();
    let mut spec = sealpost::x509::CertSpec::new("Regression", Some("regression@example.org".into()));
    spec.days = 36_500;
    spec.not_before = Some(std::time::UNIX_EPOCH + Duration::from_secs(REGRESSION_TIME));
    let cert = sealpost::x509::certify(&spec, &key).unwrap();
    resign(cert.der(), &key, |tbs| *tbs.at(&[1]) = Node::Prim(0x02, vec![0x5e, 0xa1]))
}

/// The same certificate with its key marked id-RSASSA-PSS (no parameters): for PSS signatures only.
fn regression_pss_cert() -> Vec<u8> {
    resign(&regression_cert(), &regression_key(), |tbs| {
        *tbs.at(&[6, 0]) = Node::Cons(0x30, vec![Node::Prim(0x06, RSASSA_PSS.to_vec())]);
    })
}

fn pem(label: &str, der: &[u8]) -> String {
    pem_rfc7468::encode_string(label, pem_rfc7468::LineEnding::LF, der).unwrap()
}

/// SignedData over [`REGRESSION_TEXT`] with a PKCS #1 v1.5 signature, made with the rsaEncryption certificate,
/// then carrying the RSASSA-PSS one (same key, name and serial) instead.
fn pkcs1v15_signature_by_pss_key() -> Vec<u8> {
    use sealpost::smime::signed::{SignOptions, Signer, sign};
    let key = regression_key();
    let cert = sealpost::x509::Certificate::from_der(&regression_cert()).unwrap();
    let signers = [Signer { cert: cert.inner(), key: &key, chain: &[] }];
    let opts = SignOptions {
        signing_time: std::time::UNIX_EPOCH + Duration::from_secs(REGRESSION_TIME),
        ..SignOptions::new(sealpost::core::digest::HashAlgorithm::Sha256)
    };
    let mut ber = Vec::new();
    sign(&mut &REGRESSION_TEXT[..], &mut ber, &signers, &opts, &sealpost::core::policy::Policy::default()).unwrap();
    edit(&der(&ber), &[&SD_CERTS[..], &[0]].concat(), |n| *n = tree(&regression_pss_cert()))
}

/// What is done with a regression file.
#[derive(Clone, Copy, Debug)]
enum Use {
    /// `smime verify --no-chain FILE`.
    VerifyNoChain,
    /// `smime decompress FILE`.
    Decompress,
    /// `smime encrypt --recipient FILE`.
    EncryptTo,
    /// `smime sign --cert FILE --key FILE` (a copy with mode 0600), then `smime verify --no-chain` of that.
    SignWithKeyAndCert,
}

/// Each regression file, how it is used, what sealpost must do, and its bytes.
fn regressions() -> Vec<(&'static str, Use, Accept, &'static str, Vec<u8>)> {
    let key_and_cert = format!("{}{}", REGRESSION_KEY, pem("CERTIFICATE", &regression_cert()));
    vec![
        // Key and certificate in one PEM file (as OpenSSL's test files are): `smime sign` read only the first
        // PEM block as the key and failed with "PEM error in post-encapsulation boundary".
        ("key-and-certificate-in-one-file.pem", Use::SignWithKeyAndCert, Accept::Same, "", key_and_cert.into_bytes()),
        // An id-RSASSA-PSS certificate as a recipient: encrypted to with RSAES-PKCS1-v1_5 (RFC 4055 section 1.2
        // restricts the key to PSS signatures; openssl refuses it).
        (
            "rsassa-pss-certificate-as-recipient.pem",
            Use::EncryptTo,
            Accept::Verdict,
            "RSASSA-PSS",
            pem("CERTIFICATE", &regression_pss_cert()).into_bytes(),
        ),
        // A PKCS #1 v1.5 signature by a key its certificate restricts to RSASSA-PSS: verified as good.
        (
            "pkcs1v15-signature-by-rsassa-pss-key.p7m",
            Use::VerifyNoChain,
            Accept::Verdict,
            "RSASSA-PSS",
            pkcs1v15_signature_by_pss_key(),
        ),
        // Two CompressedData layers around 1 GiB of zeros (2.3 KB): refused by the expansion ratio at the
        // inner layer, after a few MiB, nothing written.
        ("compressed-nested-zeros-bomb-1gib.p7z", Use::Decompress, Accept::Malformed, "budget", nested_zeros_bomb()),
        // 100 CompressedData layers: refused past the 8 sealpost follows.
        ("compressed-100-layers.p7z", Use::Decompress, Accept::Malformed, "nested", layered(100, REGRESSION_TEXT)),
    ]
}

impl Fixture {
    /// Uses a regression file as the table says.
    fn regression(&self, how: Use, name: &str, bytes: &[u8]) -> Run {
        let d = self.dir.join("regressions");
        fs::create_dir_all(&d).unwrap();
        let file = d.join(name);
        fs::write(&file, bytes).unwrap();
        let f = file.to_string_lossy().into_owned();
        let out = d.join(format!("{name}.out"));
        let o = out.to_string_lossy().into_owned();
        let s = |x: &str| x.to_string();
        let args: Vec<String> = match how {
            Use::VerifyNoChain => vec![s("smime"), s("verify"), s("--no-chain"), s("-o"), o, f],
            Use::Decompress => vec![s("smime"), s("decompress"), s("-o"), o, f],
            Use::EncryptTo => {
                let plain = self.dir.join("plain").to_string_lossy().into_owned();
                vec![s("smime"), s("encrypt"), s("--recipient"), f, s("-o"), o, plain]
            }
            Use::SignWithKeyAndCert => {
                fs::set_permissions(&file, fs::Permissions::from_mode(0o600)).unwrap();
                let text = d.join("text");
                fs::write(&text, REGRESSION_TEXT).unwrap();
                let signed = d.join(format!("{name}.p7m"));
                let sign = [s("smime"), s("sign"), s("--cert"), f.clone(), s("--key"), f, s("-o")];
                let mut sign = sign.to_vec();
                sign.extend([signed.to_string_lossy().into_owned(), text.to_string_lossy().into_owned()]);
                // No `-o` path for the runner: it would remove the signed file after the run.
                let r = sealpost(&d, &sign, None, None);
                if r.code != Some(0) {
                    return r;
                }
                vec![s("smime"), s("verify"), s("--no-chain"), s("-o"), o, signed.to_string_lossy().into_owned()]
            }
        };
        sealpost(&d, &args, Some(&out), None)
    }
}

#[test]
fn regression_files() {
    let _turn = serial();
    let fx = fixture();
    let mut rep = Report::new("regression files");
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("vectors/cms");
    let table = regressions();
    let mut names: Vec<String> = fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n != "README.md")
        .collect();
    names.sort();
    for name in &names {
        // The file as committed is the regression input (a newer compressor may make different bytes).
        let Some((_, how, accept, why, _)) = table.iter().find(|(n, ..)| n == name) else {
            rep.problems.push(format!("vectors/cms/{name}: not in the regression table"));
            continue;
        };
        let bytes = fs::read(dir.join(name)).unwrap();
        let r = fx.regression(*how, name, &bytes);
        let why: &[&str] = if why.is_empty() { &[] } else { &[why] };
        rep.check(&format!("vectors/cms/{name}"), &r, *accept, REGRESSION_TEXT, why);
    }
    for (n, ..) in &table {
        if !names.iter().any(|m| m == n) {
            rep.problems.push(format!("vectors/cms/{n}: missing (see regression_files_match_their_builders)"));
        }
    }
    rep.finish();
}

/// The committed regression files are exactly what this file's builders make (set
/// `SEALPOST_WRITE_REGRESSIONS=1` to rewrite them after changing a builder).
#[test]
fn regression_files_match_their_builders() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("vectors/cms");
    let write = std::env::var("SEALPOST_WRITE_REGRESSIONS").as_deref() == Ok("1");
    for (name, _, _, _, bytes) in regressions() {
        let path = dir.join(name);
        if write {
            fs::create_dir_all(&dir).unwrap();
            fs::write(&path, &bytes).unwrap();
        }
        let on_disk = fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert!(on_disk == bytes, "{name} differs from what its builder makes now");
    }
}
