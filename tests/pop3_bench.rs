//! RETR throughput through `sealpost filter pop3` against the same RETR straight to Dovecot, in one run
//! (issue #11). Ignored: a benchmark, run on demand with a release build by `benches/pop3_vs_direct.sh`,
//! that is `cargo test --release --test pop3_bench -- --ignored --nocapture`. It follows
//! tests/imap_bench.rs (the messages, the keys and the machine figures are made the same way).
//!
//! A private Dovecot (tests/common/dovecot.rs) holds P plaintext messages for bob@example.org (~30 KiB of
//! text each, all different; every fourth one multipart/alternative) and E signed+encrypted PGP/MIME
//! messages for carol@example.org (RSA-3072 keys made by `sealpost key generate`, encrypted and signed by
//! gpg a few times, then delivered as copies, each with its own Message-ID: the proxy, with
//! `cache_bytes = 0`, opens every one each time). Through the proxy carol's messages come out decrypted,
//! with `Sealpost-Verification: ...; status=pass`.
//!
//! A blocking POP3 client written here (USER, PASS, LIST, RETR with the dot-stuffing undone, QUIT) opens C
//! sessions of the same user (Dovecot's `pop3_lock_session` is off by default: sessions of one user do not
//! lock each other out; a refused login would fail the run). A round: the C sessions log in and LIST at
//! once (that time is the "session setup" column: through the proxy the first LIST of a session reads
//! every message once, to give the sizes RETR will return), then, from the start of the clock, take message
//! numbers from one queue until the mailbox was retrieved `passes` times (POP3 RETR marks a message seen
//! but does not delete it, so a mailbox can be retrieved again and again), then QUIT. A fast scenario's
//! round retrieves the mailbox several times, so that it lasts about POP3_BENCH_MIN_SECONDS (the number of
//! passes is set per scenario and side by an uncounted round; rates are compared, not times). Two
//! scenarios, each direct and through the proxy, alternating (which goes first alternates too), R rounds
//! each, after waiting for the machine to be quiet; medians reported:
//!
//! - plaintext RETR (bob): the proxy relays these byte for byte; the overhead is how much longer its rounds
//!   take (target: at most 10%);
//! - encrypted RETR (carol): ciphertext direct, decrypted and verified through the proxy (messages/s).
//!
//! A first round of each (not counted) warms Dovecot's indexes and the page cache and checks everything in
//! full: each plaintext message byte for byte as delivered (direct and through the proxy), each encrypted
//! message as delivered direct and, through the proxy, decrypted (`Sealpost-Verification:` first,
//! `status=pass`, the inner text's marker, no armour). Every round checks every message cheaply: the
//! number of messages LIST gives, each RETR as long as LIST said, plaintext as long as delivered with the
//! same first and last octets, the verification header on the decrypted ones.
//!
//! Settings (environment): POP3_BENCH_PLAIN (1000), POP3_BENCH_ENCRYPTED (200), POP3_BENCH_CLIENTS (4),
//! POP3_BENCH_ROUNDS (5), POP3_BENCH_MIN_SECONDS (1.0), POP3_BENCH_JSON (a file for the results as JSON).
//! The client, Dovecot and the proxy share the machine's cores: "cores busy" says how many were busy
//! (everything on the machine) during the rounds, "proxy CPU" is the proxy's own CPU time per message and
//! "client CPU" this client's.

#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Barrier;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use common::Killed as Proxy;
use common::dovecot::{Dovecot, PASSWORD};
use common::gpg::Gpg;
use common::smtp::{free_port, wait_for_port};
use common::{peer, run_ok, scratch};

const TEST: &str = "pop3_bench";
const PLAIN_USER: &str = "bob@example.org";

/// Distinct messages gpg encrypts; the E encrypted deliveries are copies of these.
const DISTINCT_ENCRYPTED: usize = 4;
/// How long one response may take to arrive.
const READ_TIMEOUT: Duration = Duration::from_secs(300);

fn sealpost() -> Command {
    Command::new(env!("CARGO_BIN_EXE_sealpost"))
}

// ---- The messages.

use common::bench_mail::{
    ENCRYPTED_USER, Rng, clock_ticks, encrypted_message, env_usize, fmt_rate, keys, machine_ticks, median, memfind,
    plain_message, process_ticks, prose, wait_quiet,
};

/// The marker line inside distinct encrypted message `k`.
fn inner_marker(k: usize) -> String {
    format!("Inner message {k} of the POP3 benchmark.")
}

/// Everything the rounds check against: the messages as delivered, message `n` at index `n - 1`.
struct Corpus {
    plain: Vec<Vec<u8>>,
    encrypted: Vec<Vec<u8>>,
}

impl Corpus {
    fn of(&self, kind: Kind) -> &[Vec<u8>] {
        if kind == Kind::Encrypted { &self.encrypted } else { &self.plain }
    }
}

// ---- The client.

struct Pop {
    r: BufReader<TcpStream>,
    w: TcpStream,
    line: Vec<u8>,
}

impl Pop {
    fn connect(addr: SocketAddr) -> Result<Pop, String> {
        let s = TcpStream::connect(addr).map_err(|e| format!("connect {addr}: {e}"))?;
        s.set_nodelay(true).map_err(|e| e.to_string())?;
        s.set_read_timeout(Some(READ_TIMEOUT)).map_err(|e| e.to_string())?;
        let w = s.try_clone().map_err(|e| e.to_string())?;
        let mut c = Pop { r: BufReader::with_capacity(256 << 10, s), w, line: Vec::new() };
        c.status("the greeting")?;
        Ok(c)
    }

    /// USER and PASS.
    fn login(addr: SocketAddr, user: &str) -> Result<Pop, String> {
        let mut c = Pop::connect(addr)?;
        c.command(&format!("USER {user}"))?;
        c.command(&format!("PASS {PASSWORD}"))?;
        Ok(c)
    }

    fn read_line(&mut self) -> Result<(), String> {
        self.line.clear();
        match self.r.read_until(b'\n', &mut self.line) {
            Ok(0) => Err("the server closed the connection".into()),
            Ok(_) => Ok(()),
            Err(e) => Err(format!("reading a response: {e}")),
        }
    }

    /// A status line that must be `+OK`.
    fn status(&mut self, what: &str) -> Result<(), String> {
        self.read_line()?;
        if self.line.starts_with(b"+OK") {
            return Ok(());
        }
        Err(format!("{what}: {}", String::from_utf8_lossy(&self.line).trim_end()))
    }

    fn command(&mut self, cmd: &str) -> Result<(), String> {
        self.w.write_all(format!("{cmd}\r\n").as_bytes()).map_err(|e| format!("sending {cmd}: {e}"))?;
        self.status(cmd)
    }

    /// The lines of a multi-line response up to its terminating line, dot-stuffing undone, into `out`.
    fn lines(&mut self, out: &mut Vec<u8>) -> Result<(), String> {
        out.clear();
        loop {
            self.read_line()?;
            if self.line == b".\r\n" {
                return Ok(());
            }
            out.extend_from_slice(self.line.strip_prefix(b".").unwrap_or(&self.line));
        }
    }

    /// LIST: the size of each message, message `n` at index `n - 1`.
    fn list(&mut self) -> Result<Vec<u64>, String> {
        self.command("LIST")?;
        let mut text = Vec::new();
        self.lines(&mut text)?;
        let mut sizes = Vec::new();
        for (i, line) in String::from_utf8_lossy(&text).lines().enumerate() {
            let mut words = line.split_whitespace();
            let n: Option<usize> = words.next().and_then(|w| w.parse().ok());
            match (n, words.next().and_then(|w| w.parse().ok())) {
                (Some(n), Some(size)) if n == i + 1 => sizes.push(size),
                _ => return Err(format!("LIST: unexpected line {line:?}")),
            }
        }
        Ok(sizes)
    }

    fn retr(&mut self, n: u32, body: &mut Vec<u8>) -> Result<(), String> {
        self.command(&format!("RETR {n}"))?;
        self.lines(body)
    }

    fn quit(mut self) {
        let _ = self.command("QUIT");
    }
}

// ---- The scenarios.

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Kind {
    Plain,
    Encrypted,
}

impl Kind {
    const ALL: [Kind; 2] = [Kind::Plain, Kind::Encrypted];

    fn label(self) -> &'static str {
        match self {
            Kind::Plain => "plaintext RETR",
            Kind::Encrypted => "encrypted RETR",
        }
    }

    fn key(self) -> &'static str {
        match self {
            Kind::Plain => "plaintext_retr",
            Kind::Encrypted => "encrypted_retr",
        }
    }

    fn user(self) -> &'static str {
        if self == Kind::Encrypted { ENCRYPTED_USER } else { PLAIN_USER }
    }
}

/// One round's figures.
#[derive(Clone, Copy, Debug, Default)]
struct Sample {
    seconds: f64,
    messages: usize,
    /// Message octets (dot-stuffing undone).
    bytes: u64,
    /// The sessions' login and first LIST, all at once, before the clock started.
    setup_seconds: f64,
    /// The proxy's CPU seconds during the round (through the proxy only).
    proxy_cpu: Option<f64>,
    /// Cores busy on the whole machine during the round.
    busy_cores: f64,
    /// How many times the mailbox was retrieved.
    passes: usize,
    /// This process's CPU seconds (the client's threads).
    client_cpu: f64,
}

impl Sample {
    fn rate(&self) -> f64 {
        self.messages as f64 / self.seconds
    }
}

/// Checks message `n` as RETR gave it (`body`), LIST having said `listed` octets.
fn check(
    corpus: &Corpus,
    kind: Kind,
    proxied: bool,
    full: bool,
    n: u32,
    body: &[u8],
    listed: u64,
) -> Result<(), String> {
    let whence = if proxied { "through the proxy" } else { "direct" };
    if body.len() as u64 != listed {
        return Err(format!("message {n} {whence}: LIST said {listed} octets, RETR gave {}", body.len()));
    }
    let stored = &corpus.of(kind)[n as usize - 1];
    if kind == Kind::Encrypted && proxied {
        let header_end = memfind(body, b"\r\n\r\n").unwrap_or(body.len());
        if !body.starts_with(b"Sealpost-Verification:") || memfind(&body[..header_end], b"status=pass").is_none() {
            let shown = String::from_utf8_lossy(&body[..body.len().min(600)]);
            return Err(format!("message {n} through the proxy: not decrypted and verified:\n{shown}"));
        }
        if full {
            let marker = inner_marker((n as usize - 1) % DISTINCT_ENCRYPTED);
            if memfind(body, marker.as_bytes()).is_none() || memfind(body, b"BEGIN PGP MESSAGE").is_some() {
                return Err(format!("message {n} through the proxy: not the inner text of the message delivered"));
            }
        }
    } else if full {
        if body != stored.as_slice() {
            return Err(format!("message {n} {whence}: not the message as delivered ({} octets)", body.len()));
        }
    } else if body.len() != stored.len()
        || body[..64] != stored[..64]
        || body[body.len() - 64..] != stored[stored.len() - 64..]
    {
        return Err(format!("message {n} {whence}: not the message as delivered ({} octets)", body.len()));
    }
    Ok(())
}

struct Bench<'a> {
    corpus: &'a Corpus,
    direct: SocketAddr,
    proxy: SocketAddr,
    proxy_pid: u32,
    clients: usize,
    tck: f64,
}

impl Bench<'_> {
    /// One round: the C sessions log in and LIST, then retrieve the mailbox of `kind` `passes` times
    /// together.
    fn round(&self, kind: Kind, proxied: bool, full: bool, passes: usize) -> Result<Sample, String> {
        let addr = if proxied { self.proxy } else { self.direct };
        let count = self.corpus.of(kind).len();
        let setup_start = Instant::now();
        let sessions: Vec<Result<(Pop, Vec<u64>), String>> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..self.clients)
                .map(|_| {
                    s.spawn(move || {
                        let mut c = Pop::login(addr, kind.user())?;
                        let sizes = c.list()?;
                        Ok((c, sizes))
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let setup_seconds = setup_start.elapsed().as_secs_f64();
        let mut conns = Vec::new();
        for session in sessions {
            let (c, sizes) = session?;
            if sizes.len() != count {
                return Err(format!("{} has {} messages, not {count}", kind.user(), sizes.len()));
            }
            conns.push((c, sizes));
        }
        let numbers: Vec<u32> = (0..passes).flat_map(|_| 1..=count as u32).collect();
        let next = AtomicUsize::new(0);
        let barrier = Barrier::new(self.clients + 1);
        let (m0, p0, c0) = (machine_ticks(), process_ticks(self.proxy_pid), process_ticks(std::process::id()));
        let (start, results) = std::thread::scope(|s| {
            let handles: Vec<_> = conns
                .into_iter()
                .map(|(mut conn, sizes)| {
                    let (next, barrier, numbers) = (&next, &barrier, &numbers);
                    s.spawn(move || -> Result<(Instant, usize, u64), String> {
                        barrier.wait();
                        let (mut msgs, mut bytes) = (0, 0);
                        let mut body = Vec::with_capacity(256 << 10);
                        loop {
                            let i = next.fetch_add(1, Ordering::Relaxed);
                            let Some(&n) = numbers.get(i) else { break };
                            conn.retr(n, &mut body)?;
                            check(self.corpus, kind, proxied, full, n, &body, sizes[n as usize - 1])?;
                            msgs += 1;
                            bytes += body.len() as u64;
                        }
                        let done = Instant::now();
                        conn.quit();
                        Ok((done, msgs, bytes))
                    })
                })
                .collect();
            barrier.wait();
            let start = Instant::now();
            (start, handles.into_iter().map(|h| h.join().unwrap()).collect::<Vec<_>>())
        });
        let (m1, p1, c1) = (machine_ticks(), process_ticks(self.proxy_pid), process_ticks(std::process::id()));
        let mut sample = Sample { setup_seconds, passes, ..Sample::default() };
        let mut end = start;
        for r in results {
            let (done, msgs, bytes) = r?;
            end = end.max(done);
            sample.messages += msgs;
            sample.bytes += bytes;
        }
        sample.seconds = end.duration_since(start).as_secs_f64();
        if sample.messages != count * passes {
            return Err(format!("{} messages retrieved, not {}", sample.messages, count * passes));
        }
        sample.client_cpu = (c1 - c0) as f64 / self.tck;
        if proxied {
            sample.proxy_cpu = Some((p1 - p0) as f64 / self.tck);
        }
        let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1) as f64;
        sample.busy_cores = (m1.0 - m0.0) as f64 / (m1.1 - m0.1).max(1) as f64 * cores;
        Ok(sample)
    }
}

/// The median round (by rate) of a list of samples.
fn median_sample(samples: &[Sample]) -> Sample {
    let mut s = samples.to_vec();
    s.sort_by(|a, b| a.rate().total_cmp(&b.rate()));
    let mut m = s[s.len() / 2];
    // With an even count, the rate is the mean of the two middle ones: seconds from it, the rest as is.
    m.seconds = m.messages as f64 / median(samples.iter().map(Sample::rate).collect());
    m
}

// ---- Setup.

/// `DISTINCT_ENCRYPTED` messages signed by dan and encrypted to carol by gpg (PGP/MIME, RFC 3156 6.2), as
/// the bodies after the outer header.
fn encrypted_bodies(dir: &Path, gpg: &Gpg) -> Vec<Vec<u8>> {
    (0..DISTINCT_ENCRYPTED)
        .map(|k| {
            let mut rng = Rng(0xD1B5_4A32_D192_ED03 ^ (k as u64 + 1));
            let inner = format!(
                "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n{}\r\n\r\n{}",
                inner_marker(k),
                prose(&mut rng, 28 * 1024)
            );
            let file = dir.join(format!("inner-{k}.eml"));
            std::fs::write(&file, inner).unwrap();
            let armored = run_ok(
                gpg.cmd()
                    .args(["--armor", "--sign", "--local-user", "dan@example.net"])
                    .args(["--recipient", ENCRYPTED_USER, "--encrypt", "--output", "-"])
                    .arg(&file),
            )
            .stdout;
            let mut body = b"--b1\r\nContent-Type: application/pgp-encrypted\r\n\r\nVersion: 1\r\n\r\n--b1\r\n\
                Content-Type: application/octet-stream; name=\"encrypted.asc\"\r\n\r\n"
                .to_vec();
            body.extend(String::from_utf8(armored).unwrap().replace('\n', "\r\n").into_bytes());
            body.extend_from_slice(b"\r\n--b1--\r\n");
            body
        })
        .collect()
}

#[test]
#[ignore = "a benchmark: run by benches/pop3_vs_direct.sh (cargo test --release --test pop3_bench -- --ignored)"]
fn pop3_retr_throughput_proxy_vs_direct() {
    let n_plain = env_usize("POP3_BENCH_PLAIN", 1000);
    let n_encrypted = env_usize("POP3_BENCH_ENCRYPTED", 200);
    let clients = env_usize("POP3_BENCH_CLIENTS", 4).max(1);
    let rounds = env_usize("POP3_BENCH_ROUNDS", 5).max(1);
    let min_seconds: f64 = std::env::var("POP3_BENCH_MIN_SECONDS").ok().and_then(|v| v.parse().ok()).unwrap_or(1.0);
    assert!(n_plain > 0 && n_encrypted > 0, "POP3_BENCH_PLAIN and POP3_BENCH_ENCRYPTED must be at least 1");
    let Some(gpg_bin) = peer(TEST, "gpg") else { return };
    let Some(dovecot) = Dovecot::start(TEST) else { return };
    let dir = scratch(TEST);
    let t0 = Instant::now();

    let gpg = Gpg::new(&gpg_bin);
    let ks = keys(&dir, &gpg);
    let bodies = encrypted_bodies(&dir, &gpg);
    let corpus = Corpus {
        plain: (0..n_plain).map(plain_message).collect(),
        encrypted: (0..n_encrypted).map(|i| encrypted_message(i, &bodies[i % DISTINCT_ENCRYPTED])).collect(),
    };
    // Delivered in order: message n is the n-th delivery (tests/common/dovecot.rs).
    for m in &corpus.plain {
        dovecot.deliver(PLAIN_USER, m);
    }
    for m in &corpus.encrypted {
        dovecot.deliver(ENCRYPTED_USER, m);
    }

    let port = free_port();
    let config = dir.join("pop3.toml");
    std::fs::write(
        &config,
        format!(
            "keystore = \"{}\"\nlocal_domains = [\"example.org\"]\nauthserv_id = \"pop.example.org\"\n\
             [pop3]\nlisten = \"127.0.0.1:{port}\"\nupstream = \"{}\"\ncache_bytes = 0\n",
            ks.display(),
            dovecot.pop3_addr()
        ),
    )
    .unwrap();
    let log_path = dir.join("proxy.log");
    let log = std::fs::File::create(&log_path).unwrap();
    let proxy = Proxy(
        sealpost().args(["filter", "pop3", "--config"]).arg(&config).stderr(log).stdout(Stdio::null()).spawn().unwrap(),
    );
    let proxy_addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    assert!(
        wait_for_port(proxy_addr, Duration::from_secs(20)),
        "the proxy did not listen:\n{}",
        std::fs::read_to_string(&log_path).unwrap_or_default()
    );
    let plain_bytes: usize = corpus.plain.iter().map(Vec::len).sum();
    let enc_bytes: usize = corpus.encrypted.iter().map(Vec::len).sum();
    eprintln!(
        "{TEST}: {n_plain} plaintext messages ({:.1} MB) for {PLAIN_USER}, {n_encrypted} encrypted ({:.1} MB) for \
         {ENCRYPTED_USER}, ready after {:.1} s",
        plain_bytes as f64 / 1e6,
        enc_bytes as f64 / 1e6,
        t0.elapsed().as_secs_f64()
    );

    let bench = Bench {
        corpus: &corpus,
        direct: dovecot.pop3_addr(),
        proxy: proxy_addr,
        proxy_pid: proxy.0.id(),
        clients,
        tck: clock_ticks(),
    };
    let side = |proxied: bool| if proxied { "proxy" } else { "direct" };
    let fail = |what: String| -> ! {
        panic!("{what}\nproxy log (last 40 lines):\n{}", {
            let log = std::fs::read_to_string(&log_path).unwrap_or_default();
            let lines: Vec<&str> = log.lines().collect();
            lines[lines.len().saturating_sub(40)..].join("\n")
        })
    };
    // The full checks and the warm-up.
    for kind in Kind::ALL {
        for proxied in [false, true] {
            let s = bench
                .round(kind, proxied, true, 1)
                .unwrap_or_else(|e| fail(format!("warm-up {} {}: {e}", kind.label(), side(proxied))));
            eprintln!(
                "{TEST}: warm-up {:<16} {:<6} {:>8} msg/s  (checked in full)",
                kind.label(),
                side(proxied),
                fmt_rate(s.rate())
            );
        }
    }
    // Passes per round, from one more round each, so that a round lasts about POP3_BENCH_MIN_SECONDS.
    let mut passes: HashMap<(Kind, bool), usize> = HashMap::new();
    for kind in Kind::ALL {
        for proxied in [false, true] {
            let s = bench
                .round(kind, proxied, false, 1)
                .unwrap_or_else(|e| fail(format!("calibration {} {}: {e}", kind.label(), side(proxied))));
            let n = (min_seconds * s.rate() / s.messages as f64).ceil().clamp(1.0, 1000.0) as usize;
            passes.insert((kind, proxied), n);
        }
    }
    wait_quiet(TEST);
    let mut samples: HashMap<(Kind, bool), Vec<Sample>> = HashMap::new();
    for round in 0..rounds {
        for kind in Kind::ALL {
            let order = if round % 2 == 0 { [false, true] } else { [true, false] };
            for proxied in order {
                let s = bench
                    .round(kind, proxied, false, passes[&(kind, proxied)])
                    .unwrap_or_else(|e| fail(format!("round {round} {} {}: {e}", kind.label(), side(proxied))));
                eprintln!(
                    "{TEST}: round {round} {:<16} {:<6} {:>8} msg/s  {:>3} passes in {:.2} s (setup {:.2} s), \
                     {:.2} cores busy",
                    kind.label(),
                    side(proxied),
                    fmt_rate(s.rate()),
                    s.passes,
                    s.seconds,
                    s.setup_seconds,
                    s.busy_cores
                );
                samples.entry((kind, proxied)).or_default().push(s);
            }
        }
    }
    drop(proxy);

    // The table.
    let mut out = String::new();
    out.push_str(&format!(
        "\nPOP3 RETR, direct to Dovecot vs through `sealpost filter pop3` (cache_bytes = 0), in one run:\n\
         {n_plain} plaintext messages ({:.1} MB) and {n_encrypted} signed+encrypted PGP/MIME (RSA-3072, {:.1} MB), \
         {clients} sessions,\nmedian of {rounds} alternating rounds (each retrieving the mailbox as many times as it \
         takes to last about {min_seconds} s);\nMB = 10^6 message octets; {} cores.\n\n",
        plain_bytes as f64 / 1e6,
        enc_bytes as f64 / 1e6,
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
    ));
    out.push_str(&format!(
        "{:<16} {:>9} {:>7} {:>9} {:>7} {:>9} {:>9} {:>11} {:>11} {:>13}\n",
        "scenario", "direct", "MB/s", "proxy", "MB/s", "overhead", "proxy CPU", "client CPU", "cores busy", "setup s"
    ));
    out.push_str(&format!(
        "{:<16} {:>9} {:>7} {:>9} {:>7} {:>9} {:>9} {:>11} {:>11} {:>13}\n",
        "", "msgs/s", "", "msgs/s", "", "(time)", "µs/msg", "µs/msg d/p", "d/p", "d/p"
    ));
    let mut rows = Vec::new();
    for kind in Kind::ALL {
        let d = &samples[&(kind, false)];
        let p = &samples[&(kind, true)];
        let (dm, pm) = (median_sample(d), median_sample(p));
        let overhead = (dm.rate() / pm.rate() - 1.0) * 100.0;
        let cpu_us = median(p.iter().map(|s| s.proxy_cpu.unwrap_or(0.0) / s.messages as f64 * 1e6).collect());
        let client_us = |v: &[Sample]| median(v.iter().map(|s| s.client_cpu / s.messages as f64 * 1e6).collect());
        let (dc, pc) = (client_us(d), client_us(p));
        let busy = |v: &[Sample]| median(v.iter().map(|s| s.busy_cores).collect());
        let setup = |v: &[Sample]| median(v.iter().map(|s| s.setup_seconds).collect());
        out.push_str(&format!(
            "{:<16} {:>9} {:>7.1} {:>9} {:>7.1} {:>8.1}% {:>9.0} {:>11} {:>11} {:>13}\n",
            kind.label(),
            fmt_rate(dm.rate()),
            dm.bytes as f64 / dm.seconds / 1e6,
            fmt_rate(pm.rate()),
            pm.bytes as f64 / pm.seconds / 1e6,
            overhead,
            cpu_us,
            format!("{dc:.1}/{pc:.1}"),
            format!("{:.2}/{:.2}", busy(d), busy(p)),
            format!("{:.2}/{:.2}", setup(d), setup(p)),
        ));
        let list = |v: &[Sample]| -> Vec<serde_json::Value> {
            v.iter()
                .map(|s| {
                    serde_json::json!({
                        "seconds": s.seconds, "messages": s.messages, "bytes": s.bytes,
                        "messages_per_s": s.rate(), "passes": s.passes, "setup_seconds": s.setup_seconds,
                        "proxy_cpu_s": s.proxy_cpu, "client_cpu_s": s.client_cpu, "busy_cores": s.busy_cores,
                    })
                })
                .collect()
        };
        rows.push(serde_json::json!({
            "scenario": kind.key(),
            "label": kind.label(),
            "user": kind.user(),
            "direct": { "messages_per_s": dm.rate(), "mb_per_s": dm.bytes as f64 / dm.seconds / 1e6,
                        "busy_cores": busy(d), "client_cpu_us_per_message": dc, "setup_seconds": setup(d),
                        "passes": passes[&(kind, false)], "rounds": list(d) },
            "proxy": { "messages_per_s": pm.rate(), "mb_per_s": pm.bytes as f64 / pm.seconds / 1e6,
                       "cpu_us_per_message": cpu_us, "busy_cores": busy(p), "client_cpu_us_per_message": pc,
                       "setup_seconds": setup(p), "passes": passes[&(kind, true)], "rounds": list(p) },
            "overhead_percent": overhead,
        }));
    }
    out.push_str(
        "\noverhead: how much longer the proxy's rounds took than the direct ones (median rates); for the encrypted\n\
         messages the proxy decrypts and verifies each one, so that row is its throughput, not an overhead.\n\
         proxy CPU: the proxy's user+system time per message; client CPU: this benchmark's client's, direct/proxy;\n\
         cores busy: the whole machine during the rounds (client, Dovecot, proxy and anything else), direct/proxy;\n\
         setup s: the sessions' USER, PASS and first LIST, all at once, before the clock (not in the rates): through\n\
         the proxy that LIST reads (and opens) every message once, for sizes that agree with RETR.\n",
    );
    println!("{out}");
    if let Ok(path) = std::env::var("POP3_BENCH_JSON")
        && !path.is_empty()
    {
        let json = serde_json::json!({
            "benchmark": "pop3_vs_direct",
            "plaintext_messages": n_plain, "plaintext_bytes": plain_bytes,
            "encrypted_messages": n_encrypted, "encrypted_bytes": enc_bytes,
            "sessions": clients, "rounds": rounds, "min_round_seconds": min_seconds, "cache_bytes": 0,
            "cores": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
            "results": rows,
        });
        std::fs::write(&path, serde_json::to_string_pretty(&json).unwrap() + "\n")
            .unwrap_or_else(|e| panic!("cannot write {path}: {e}"));
        eprintln!("{TEST}: results written to {path}");
    }
}
