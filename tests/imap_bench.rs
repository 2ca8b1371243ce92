//! FETCH throughput through `sealpost filter imap` against the same FETCH straight to Dovecot, in one run
//! (issue #8, item 6). Ignored: a benchmark, run on demand with a release build by `benches/imap_vs_direct.sh`,
//! that is `cargo test --release --test imap_bench -- --ignored --nocapture`.
//!
//! A private Dovecot (tests/common/dovecot.rs) holds P plaintext messages for bob@example.org (~30 KiB of
//! text each, all different; every fourth one multipart/alternative, text and HTML) and E signed+encrypted
//! PGP/MIME messages for carol@example.org (RSA-3072 keys made by `sealpost key generate`, encrypted and
//! signed by gpg a few times, then delivered as copies, each with its own Message-ID and so its own UID:
//! the proxy, with `cache_bytes = 0`, opens every one). The proxy's keystore has carol's secret key and the
//! sender's certificate, so through the proxy carol's messages come out decrypted with
//! `Sealpost-Verification: ...; status=pass`.
//!
//! A blocking IMAP client written here (literals read by their `{n}`, exactly n octets) logs in with C
//! connections (all logged in and SELECTed before the clock starts), which take batches of B UIDs from one
//! queue until the mailbox is fetched once; a round's time runs from their start to the last batch's
//! tagged OK; a fast scenario's round fetches the mailbox several times over, so that it lasts about
//! IMAP_BENCH_MIN_SECONDS (the number of passes is set per scenario and side by an uncounted round; rates are
//! compared, not times). Three scenarios, each direct and through the proxy, alternating (which one goes
//! first alternates too), R rounds each, after waiting for the machine to be quiet; medians reported:
//!
//! - plaintext `UID FETCH <batch> (UID RFC822.SIZE BODY.PEEK[])` (bob): the proxy must relay these byte for
//!   byte; the overhead is how much longer the proxy's rounds take (target: at most 10%);
//! - plaintext `UID FETCH <batch> (UID FLAGS BODYSTRUCTURE RFC822.SIZE)` (bob), a header-list style FETCH
//!   whose items the proxy has to look into (an encrypted message's structure is that of its plaintext);
//! - encrypted `UID FETCH <batch> (UID RFC822.SIZE BODY.PEEK[])` (carol): ciphertext direct, decrypted and
//!   verified through the proxy (messages/s).
//!
//! A first round of each (not counted) warms Dovecot's indexes and the page cache and checks everything in
//! full: each plaintext message byte for byte as delivered (direct and through the proxy), the header-list
//! responses identical direct and through the proxy, each encrypted message as delivered direct and, through
//! the proxy, decrypted (`Sealpost-Verification:` first, `status=pass`, the inner text's marker, no
//! armour). Counted rounds check each message cheaply: every UID of the batch once, the literal as long as
//! RFC822.SIZE says, plaintext as long as delivered with the same first and last octets, the verification
//! header on the decrypted ones.
//!
//! Settings (environment): IMAP_BENCH_PLAIN (2000), IMAP_BENCH_ENCRYPTED (300), IMAP_BENCH_CLIENTS (4),
//! IMAP_BENCH_ROUNDS (5), IMAP_BENCH_BATCH (100 UIDs a command), IMAP_BENCH_MIN_SECONDS (1.0),
//! IMAP_BENCH_JSON (a file for the results as JSON). The client, Dovecot and the proxy share the machine's
//! cores: the "cores busy" column says how many were busy (everything on the machine) during the rounds,
//! "proxy CPU" is the proxy's own CPU time per message and "client CPU" this client's.

#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Barrier, Mutex};
use std::time::{Duration, Instant};

use common::Killed as Proxy;
use common::dovecot::{Dovecot, PASSWORD};
use common::gpg::Gpg;
use common::smtp::{free_port, wait_for_port};
use common::{peer, run_ok, scratch};

const TEST: &str = "imap_bench";
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
    format!("Inner message {k} of the IMAP benchmark.")
}

/// Everything the rounds check against.
struct Corpus {
    plain: Vec<Vec<u8>>,
    plain_uids: Vec<u32>,
    encrypted: Vec<Vec<u8>>,
    encrypted_uids: Vec<u32>,
}

impl Corpus {
    /// (message index) of a UID of the mailbox of `kind`.
    fn index(&self, kind: Kind, uid: u32) -> Option<usize> {
        let uids = if kind == Kind::Encrypted { &self.encrypted_uids } else { &self.plain_uids };
        uids.binary_search(&uid).ok()
    }
}

// ---- The client.

/// One response: its lines with the literals left out (each line kept up to and including its `{n}`), the
/// literals, and how many octets it took on the wire.
struct Response {
    text: Vec<u8>,
    literals: Vec<Vec<u8>>,
    wire: usize,
}

/// The length a line announces at its end (`{n}`, `{n+}`, `~{n}`).
fn literal_len(line: &[u8]) -> Option<usize> {
    let line = line.strip_suffix(b"\r\n").unwrap_or(line);
    let inner = line.strip_suffix(b"}")?;
    let open = inner.iter().rposition(|b| *b == b'{')?;
    let digits = inner[open + 1..].strip_suffix(b"+").unwrap_or(&inner[open + 1..]);
    std::str::from_utf8(digits).ok()?.parse().ok()
}

/// The number after `name ` (an item of a FETCH response: `UID`, `RFC822.SIZE`).
fn item_number(text: &[u8], name: &[u8]) -> Option<u64> {
    let mut from = 0;
    while let Some(at) = memfind(&text[from..], name).map(|p| p + from) {
        let after = at + name.len();
        if at > 0 && matches!(text[at - 1], b'(' | b' ') && text.get(after) == Some(&b' ') {
            let digits: Vec<u8> = text[after + 1..].iter().take_while(|b| b.is_ascii_digit()).copied().collect();
            return std::str::from_utf8(&digits).ok()?.parse().ok();
        }
        from = after;
    }
    None
}

struct Conn {
    r: BufReader<TcpStream>,
    w: TcpStream,
    next_tag: u32,
    line: Vec<u8>,
}

impl Conn {
    fn connect(addr: SocketAddr) -> Result<Conn, String> {
        let s = TcpStream::connect(addr).map_err(|e| format!("connect {addr}: {e}"))?;
        s.set_nodelay(true).map_err(|e| e.to_string())?;
        s.set_read_timeout(Some(READ_TIMEOUT)).map_err(|e| e.to_string())?;
        let w = s.try_clone().map_err(|e| e.to_string())?;
        let mut c = Conn { r: BufReader::with_capacity(256 << 10, s), w, next_tag: 1, line: Vec::new() };
        let greeting = c.response()?;
        if !greeting.text.starts_with(b"* OK") {
            return Err(format!("{addr} greeted {}", String::from_utf8_lossy(&greeting.text)));
        }
        Ok(c)
    }

    /// Connects, logs in and selects `mailbox`; returns the connection and EXISTS.
    fn open(addr: SocketAddr, user: &str, mailbox: &str) -> Result<(Conn, u32), String> {
        let mut c = Conn::connect(addr)?;
        c.command(&format!("LOGIN \"{user}\" \"{PASSWORD}\""), |_| Ok(()))?;
        let mut exists = None;
        c.command(&format!("SELECT {mailbox}"), |r| {
            let t = String::from_utf8_lossy(&r.text);
            if let Some(n) = t.strip_prefix("* ").and_then(|t| t.strip_suffix(" EXISTS")) {
                exists = n.parse().ok();
            }
            Ok(())
        })?;
        Ok((c, exists.ok_or("no EXISTS in SELECT's answer")?))
    }

    fn read_line(&mut self) -> Result<(), String> {
        self.line.clear();
        match self.r.read_until(b'\n', &mut self.line) {
            Ok(0) => Err("the server closed the connection".into()),
            Ok(_) => Ok(()),
            Err(e) => Err(format!("reading a response: {e}")),
        }
    }

    /// Reads one whole response: its lines and literals.
    fn response(&mut self) -> Result<Response, String> {
        let mut r = Response { text: Vec::new(), literals: Vec::new(), wire: 0 };
        loop {
            self.read_line()?;
            r.wire += self.line.len();
            match literal_len(&self.line) {
                Some(n) => {
                    r.text.extend_from_slice(self.line.strip_suffix(b"\r\n").unwrap_or(&self.line));
                    let mut lit = vec![0u8; n];
                    std::io::Read::read_exact(&mut self.r, &mut lit)
                        .map_err(|e| format!("reading a literal of {n} octets: {e}"))?;
                    r.wire += n;
                    r.literals.push(lit);
                }
                None => {
                    r.text.extend_from_slice(self.line.strip_suffix(b"\r\n").unwrap_or(&self.line));
                    return Ok(r);
                }
            }
        }
    }

    /// Sends a command; every untagged response goes to `each`; `Err` unless it ends in a tagged OK.
    fn command(&mut self, cmd: &str, mut each: impl FnMut(Response) -> Result<(), String>) -> Result<(), String> {
        let tag = format!("b{}", self.next_tag);
        self.next_tag += 1;
        self.w.write_all(format!("{tag} {cmd}\r\n").as_bytes()).map_err(|e| format!("sending {cmd}: {e}"))?;
        loop {
            let r = self.response()?;
            if r.text.starts_with(tag.as_bytes()) && r.text.get(tag.len()) == Some(&b' ') {
                if r.text[tag.len() + 1..].starts_with(b"OK") {
                    return Ok(());
                }
                let shown: String = cmd.chars().take(60).collect();
                return Err(format!("{shown}: {}", String::from_utf8_lossy(&r.text)));
            }
            if r.text.starts_with(b"+") {
                return Err(format!("unexpected continuation request: {}", String::from_utf8_lossy(&r.text)));
            }
            each(r)?;
        }
    }

    fn logout(mut self) {
        let _ = self.command("LOGOUT", |_| Ok(()));
    }
}

/// A UID set for a sorted list of UIDs (`1:100`, or ranges joined by commas).
fn uid_set(uids: &[u32]) -> String {
    let mut parts = Vec::new();
    let mut i = 0;
    while i < uids.len() {
        let mut j = i;
        while j + 1 < uids.len() && uids[j + 1] == uids[j] + 1 {
            j += 1;
        }
        parts.push(if i == j { uids[i].to_string() } else { format!("{}:{}", uids[i], uids[j]) });
        i = j + 1;
    }
    parts.join(",")
}

// ---- The scenarios.

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Kind {
    PlainBody,
    PlainHeaders,
    Encrypted,
}

impl Kind {
    const ALL: [Kind; 3] = [Kind::PlainBody, Kind::PlainHeaders, Kind::Encrypted];

    fn label(self) -> &'static str {
        match self {
            Kind::PlainBody => "plaintext BODY.PEEK[]",
            Kind::PlainHeaders => "plaintext FLAGS BODYSTRUCTURE",
            Kind::Encrypted => "encrypted BODY.PEEK[]",
        }
    }

    fn key(self) -> &'static str {
        match self {
            Kind::PlainBody => "plaintext_body",
            Kind::PlainHeaders => "plaintext_bodystructure",
            Kind::Encrypted => "encrypted_body",
        }
    }

    fn user(self) -> &'static str {
        if self == Kind::Encrypted { ENCRYPTED_USER } else { PLAIN_USER }
    }

    fn items(self) -> &'static str {
        match self {
            Kind::PlainBody | Kind::Encrypted => "(UID RFC822.SIZE BODY.PEEK[])",
            Kind::PlainHeaders => "(UID FLAGS BODYSTRUCTURE RFC822.SIZE)",
        }
    }
}

/// One round's figures.
#[derive(Clone, Copy, Debug, Default)]
struct Sample {
    seconds: f64,
    messages: usize,
    /// Message octets (BODY[] literals), or for the header-list FETCH the responses' octets.
    bytes: u64,
    /// The proxy's CPU seconds during the round (through the proxy only).
    proxy_cpu: Option<f64>,
    /// Cores busy on the whole machine during the round.
    busy_cores: f64,
    /// How many times the mailbox was fetched.
    passes: usize,
    /// This process's CPU seconds (the client's threads).
    client_cpu: f64,
}

impl Sample {
    fn rate(&self) -> f64 {
        self.messages as f64 / self.seconds
    }
}

/// Checks one FETCH response of scenario `kind`; returns its UID and the octets it counts for.
fn check(
    corpus: &Corpus,
    kind: Kind,
    proxied: bool,
    full: bool,
    r: &Response,
    seen_headers: &Mutex<HashMap<u32, Vec<u8>>>,
) -> Result<(u32, u64), String> {
    let head = String::from_utf8_lossy(&r.text[..r.text.len().min(200)]).into_owned();
    let uid = item_number(&r.text, b"UID").ok_or_else(|| format!("no UID in {head}"))? as u32;
    let size = item_number(&r.text, b"RFC822.SIZE").ok_or_else(|| format!("no RFC822.SIZE in {head}"))?;
    let index = corpus.index(kind, uid).ok_or_else(|| format!("UID {uid} is not in the mailbox"))?;
    let whence = if proxied { "through the proxy" } else { "direct" };
    if kind == Kind::PlainHeaders {
        if memfind(&r.text, b"BODYSTRUCTURE (").is_none() {
            return Err(format!("UID {uid} {whence}: no BODYSTRUCTURE in {head}"));
        }
        if full {
            let mut all = r.text.clone();
            for l in &r.literals {
                all.extend_from_slice(l);
            }
            let mut seen = seen_headers.lock().unwrap();
            if !proxied {
                seen.insert(uid, all);
            } else if seen.get(&uid) != Some(&all) {
                return Err(format!(
                    "UID {uid}: the proxy answered\n{}\nDovecot answered\n{}",
                    String::from_utf8_lossy(&all),
                    String::from_utf8_lossy(seen.get(&uid).map(Vec::as_slice).unwrap_or(b"(not seen)"))
                ));
            }
        }
        return Ok((uid, r.wire as u64));
    }
    if memfind(&r.text, b"BODY[] {").is_none() || r.literals.len() != 1 {
        return Err(format!("UID {uid} {whence}: not one BODY[] literal: {head}"));
    }
    let body = &r.literals[0];
    if body.len() as u64 != size {
        return Err(format!("UID {uid} {whence}: RFC822.SIZE {size} but BODY[] has {} octets", body.len()));
    }
    let stored = if kind == Kind::Encrypted { &corpus.encrypted[index] } else { &corpus.plain[index] };
    if kind == Kind::Encrypted && proxied {
        let header_end = memfind(body, b"\r\n\r\n").unwrap_or(body.len());
        if !body.starts_with(b"Sealpost-Verification:") || memfind(&body[..header_end], b"status=pass").is_none() {
            let shown = String::from_utf8_lossy(&body[..body.len().min(600)]);
            return Err(format!("UID {uid} through the proxy: not decrypted and verified:\n{shown}"));
        }
        if full {
            let marker = inner_marker(index % DISTINCT_ENCRYPTED);
            if memfind(body, marker.as_bytes()).is_none() || memfind(body, b"BEGIN PGP MESSAGE").is_some() {
                return Err(format!("UID {uid} through the proxy: not the inner text of message {index}"));
            }
        }
    } else if full {
        if body != stored {
            return Err(format!("UID {uid} {whence}: not the message as delivered ({} octets)", body.len()));
        }
    } else if body.len() != stored.len()
        || body[..64] != stored[..64]
        || body[body.len() - 64..] != stored[stored.len() - 64..]
    {
        return Err(format!("UID {uid} {whence}: not the message as delivered ({} octets)", body.len()));
    }
    Ok((uid, body.len() as u64))
}

struct Bench<'a> {
    corpus: &'a Corpus,
    direct: SocketAddr,
    proxy: SocketAddr,
    proxy_pid: u32,
    clients: usize,
    batch: usize,
    tck: f64,
    seen_headers: Mutex<HashMap<u32, Vec<u8>>>,
}

impl Bench<'_> {
    /// One round: the whole mailbox of `kind` fetched `passes` times by the clients together.
    fn round(&self, kind: Kind, proxied: bool, full: bool, passes: usize) -> Result<Sample, String> {
        let addr = if proxied { self.proxy } else { self.direct };
        let uids = if kind == Kind::Encrypted { &self.corpus.encrypted_uids } else { &self.corpus.plain_uids };
        let one_pass: Vec<&[u32]> = uids.chunks(self.batch).collect();
        let batches: Vec<&[u32]> = (0..passes).flat_map(|_| one_pass.iter().copied()).collect();
        let mut conns = Vec::new();
        for _ in 0..self.clients {
            let (c, exists) = Conn::open(addr, kind.user(), "INBOX")?;
            if exists as usize != uids.len() {
                return Err(format!("{} has {exists} messages, not {}", kind.user(), uids.len()));
            }
            conns.push(c);
        }
        let next = AtomicUsize::new(0);
        let barrier = Barrier::new(self.clients + 1);
        let (m0, p0, c0) = (machine_ticks(), process_ticks(self.proxy_pid), process_ticks(std::process::id()));
        let (start, results) = std::thread::scope(|s| {
            let handles: Vec<_> = conns
                .into_iter()
                .map(|mut conn| {
                    let (next, barrier, batches) = (&next, &barrier, &batches);
                    s.spawn(move || -> Result<(Instant, usize, u64), String> {
                        barrier.wait();
                        let (mut msgs, mut bytes) = (0, 0);
                        loop {
                            let i = next.fetch_add(1, Ordering::Relaxed);
                            let Some(batch) = batches.get(i) else { break };
                            let mut got = Vec::with_capacity(batch.len());
                            conn.command(&format!("UID FETCH {} {}", uid_set(batch), kind.items()), |r| {
                                if memfind(&r.text[..r.text.len().min(40)], b" FETCH (").is_none() {
                                    return Ok(()); // EXISTS, RECENT, ...
                                }
                                let (uid, n) = check(self.corpus, kind, proxied, full, &r, &self.seen_headers)?;
                                got.push(uid);
                                bytes += n;
                                Ok(())
                            })?;
                            got.sort_unstable();
                            if got != *batch {
                                return Err(format!(
                                    "UID FETCH {}: {} responses for {} UIDs (UIDs {:?}...)",
                                    uid_set(batch),
                                    got.len(),
                                    batch.len(),
                                    &got[..got.len().min(5)]
                                ));
                            }
                            msgs += got.len();
                        }
                        let done = Instant::now();
                        conn.logout();
                        Ok((done, msgs, bytes))
                    })
                })
                .collect();
            barrier.wait();
            let start = Instant::now();
            (start, handles.into_iter().map(|h| h.join().unwrap()).collect::<Vec<_>>())
        });
        let (m1, p1, c1) = (machine_ticks(), process_ticks(self.proxy_pid), process_ticks(std::process::id()));
        let mut sample = Sample::default();
        let mut end = start;
        for r in results {
            let (done, msgs, bytes) = r?;
            end = end.max(done);
            sample.messages += msgs;
            sample.bytes += bytes;
        }
        sample.seconds = end.duration_since(start).as_secs_f64();
        if sample.messages != uids.len() * passes {
            return Err(format!("{} messages fetched, not {}", sample.messages, uids.len() * passes));
        }
        sample.passes = passes;
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

/// The UIDs of a user's INBOX (UID SEARCH ALL), sorted.
fn mailbox_uids(addr: SocketAddr, user: &str) -> Vec<u32> {
    let (mut c, _) = Conn::open(addr, user, "INBOX").unwrap();
    let mut uids = Vec::new();
    c.command("UID SEARCH ALL", |r| {
        let t = String::from_utf8_lossy(&r.text).into_owned();
        if let Some(list) = t.strip_prefix("* SEARCH") {
            uids.extend(list.split_whitespace().map(|u| u.parse::<u32>().unwrap()));
        }
        Ok(())
    })
    .unwrap();
    c.logout();
    uids.sort_unstable();
    uids
}

#[test]
#[ignore = "a benchmark: run by benches/imap_vs_direct.sh (cargo test --release --test imap_bench -- --ignored)"]
fn imap_fetch_throughput_proxy_vs_direct() {
    let n_plain = env_usize("IMAP_BENCH_PLAIN", 2000);
    let n_encrypted = env_usize("IMAP_BENCH_ENCRYPTED", 300);
    let clients = env_usize("IMAP_BENCH_CLIENTS", 4).max(1);
    let rounds = env_usize("IMAP_BENCH_ROUNDS", 5).max(1);
    let batch = env_usize("IMAP_BENCH_BATCH", 100).max(1);
    let min_seconds: f64 = std::env::var("IMAP_BENCH_MIN_SECONDS").ok().and_then(|v| v.parse().ok()).unwrap_or(1.0);
    assert!(n_plain > 0 && n_encrypted > 0, "IMAP_BENCH_PLAIN and IMAP_BENCH_ENCRYPTED must be at least 1");
    let Some(gpg_bin) = peer(TEST, "gpg") else { return };
    let Some(dovecot) = Dovecot::start(TEST) else { return };
    let dir = scratch(TEST);
    let t0 = Instant::now();

    let gpg = Gpg::new(&gpg_bin);
    let ks = keys(&dir, &gpg);
    let bodies = encrypted_bodies(&dir, &gpg);
    let plain: Vec<Vec<u8>> = (0..n_plain).map(plain_message).collect();
    let encrypted: Vec<Vec<u8>> =
        (0..n_encrypted).map(|i| encrypted_message(i, &bodies[i % DISTINCT_ENCRYPTED])).collect();
    for m in &plain {
        dovecot.deliver(PLAIN_USER, m);
    }
    for m in &encrypted {
        dovecot.deliver(ENCRYPTED_USER, m);
    }
    let corpus = Corpus {
        plain_uids: mailbox_uids(dovecot.imap_addr(), PLAIN_USER),
        encrypted_uids: mailbox_uids(dovecot.imap_addr(), ENCRYPTED_USER),
        plain,
        encrypted,
    };
    assert_eq!(corpus.plain_uids.len(), n_plain, "{PLAIN_USER}'s INBOX");
    assert_eq!(corpus.encrypted_uids.len(), n_encrypted, "{ENCRYPTED_USER}'s INBOX");

    let port = free_port();
    let config = dir.join("imap.toml");
    std::fs::write(
        &config,
        format!(
            "keystore = \"{}\"\nlocal_domains = [\"example.org\"]\nauthserv_id = \"imap.example.org\"\n\
             [imap]\nlisten = \"127.0.0.1:{port}\"\nupstream = \"{}\"\ncache_bytes = 0\n",
            ks.display(),
            dovecot.imap_addr()
        ),
    )
    .unwrap();
    let log_path = dir.join("proxy.log");
    let log = std::fs::File::create(&log_path).unwrap();
    let proxy = Proxy(
        sealpost().args(["filter", "imap", "--config"]).arg(&config).stderr(log).stdout(Stdio::null()).spawn().unwrap(),
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
        direct: dovecot.imap_addr(),
        proxy: proxy_addr,
        proxy_pid: proxy.0.id(),
        clients,
        batch,
        tck: clock_ticks(),
        seen_headers: Mutex::new(HashMap::new()),
    };
    let fail = |what: String| -> ! {
        panic!("{what}\nproxy log (last 40 lines):\n{}", {
            let log = std::fs::read_to_string(&log_path).unwrap_or_default();
            let lines: Vec<&str> = log.lines().collect();
            lines[lines.len().saturating_sub(40)..].join("\n")
        })
    };
    // The full checks and the warm-up: direct first (the header-list answers are compared against it).
    for kind in Kind::ALL {
        for proxied in [false, true] {
            let s = bench.round(kind, proxied, true, 1).unwrap_or_else(|e| {
                fail(format!("warm-up {} {}: {e}", kind.label(), if proxied { "proxy" } else { "direct" }))
            });
            eprintln!(
                "{TEST}: warm-up {:<30} {:<6} {:>8} msg/s  (checked in full)",
                kind.label(),
                if proxied { "proxy" } else { "direct" },
                fmt_rate(s.rate())
            );
        }
    }
    // Passes per round, from one more round each: a round of a fast scenario fetches the mailbox several
    // times, so that it lasts about IMAP_BENCH_MIN_SECONDS (the rates, not the times, are compared).
    let mut passes: HashMap<(Kind, bool), usize> = HashMap::new();
    for kind in Kind::ALL {
        for proxied in [false, true] {
            let s = bench.round(kind, proxied, false, 1).unwrap_or_else(|e| {
                fail(format!("calibration {} {}: {e}", kind.label(), if proxied { "proxy" } else { "direct" }))
            });
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
                let s = bench.round(kind, proxied, false, passes[&(kind, proxied)]).unwrap_or_else(|e| {
                    fail(format!("round {round} {} {}: {e}", kind.label(), if proxied { "proxy" } else { "direct" }))
                });
                eprintln!(
                    "{TEST}: round {round} {:<30} {:<6} {:>8} msg/s  {:>3} passes in {:.2} s, {:.2} cores busy",
                    kind.label(),
                    if proxied { "proxy" } else { "direct" },
                    fmt_rate(s.rate()),
                    s.passes,
                    s.seconds,
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
        "\nIMAP FETCH, direct to Dovecot vs through `sealpost filter imap` (cache_bytes = 0), in one run:\n\
         {n_plain} plaintext messages ({:.1} MB) and {n_encrypted} signed+encrypted PGP/MIME (RSA-3072, {:.1} MB), \
         {clients} clients, {batch} UIDs a command,\nmedian of {rounds} alternating rounds (each fetching the mailbox \
         as many times as it takes to last about {min_seconds} s); MB = 10^6 octets\n(message octets; for the \
         BODYSTRUCTURE FETCH, response octets); {} cores.\n\n",
        plain_bytes as f64 / 1e6,
        enc_bytes as f64 / 1e6,
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
    ));
    out.push_str(&format!(
        "{:<29} {:>9} {:>7} {:>9} {:>7} {:>9} {:>9} {:>13} {:>11}\n",
        "scenario", "direct", "MB/s", "proxy", "MB/s", "overhead", "proxy CPU", "client CPU", "cores busy"
    ));
    out.push_str(&format!(
        "{:<29} {:>9} {:>7} {:>9} {:>7} {:>9} {:>9} {:>13} {:>11}\n",
        "", "msgs/s", "", "msgs/s", "", "(time)", "µs/msg", "µs/msg d/p", "d/p"
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
        let (db, pb) =
            (median(d.iter().map(|s| s.busy_cores).collect()), median(p.iter().map(|s| s.busy_cores).collect()));
        out.push_str(&format!(
            "{:<29} {:>9} {:>7.1} {:>9} {:>7.1} {:>8.1}% {:>9.0} {:>13} {:>11}\n",
            kind.label(),
            fmt_rate(dm.rate()),
            dm.bytes as f64 / dm.seconds / 1e6,
            fmt_rate(pm.rate()),
            pm.bytes as f64 / pm.seconds / 1e6,
            overhead,
            cpu_us,
            format!("{dc:.1}/{pc:.1}"),
            format!("{db:.2}/{pb:.2}"),
        ));
        let list = |v: &[Sample]| -> Vec<serde_json::Value> {
            v.iter()
                .map(|s| {
                    serde_json::json!({
                        "seconds": s.seconds, "messages": s.messages, "bytes": s.bytes,
                        "messages_per_s": s.rate(), "passes": s.passes, "proxy_cpu_s": s.proxy_cpu,
                        "client_cpu_s": s.client_cpu, "busy_cores": s.busy_cores,
                    })
                })
                .collect()
        };
        rows.push(serde_json::json!({
            "scenario": kind.key(),
            "label": kind.label(),
            "user": kind.user(),
            "fetch_items": kind.items(),
            "direct": { "messages_per_s": dm.rate(), "mb_per_s": dm.bytes as f64 / dm.seconds / 1e6,
                        "busy_cores": db, "client_cpu_us_per_message": dc,
                        "passes": passes[&(kind, false)], "rounds": list(d) },
            "proxy": { "messages_per_s": pm.rate(), "mb_per_s": pm.bytes as f64 / pm.seconds / 1e6,
                       "cpu_us_per_message": cpu_us, "busy_cores": pb, "client_cpu_us_per_message": pc,
                       "passes": passes[&(kind, true)], "rounds": list(p) },
            "overhead_percent": overhead,
        }));
    }
    out.push_str(
        "\noverhead: how much longer the proxy's rounds took than the direct ones (median rates); for the encrypted\n\
         messages the proxy decrypts and verifies each one, so that row is its throughput, not an overhead.\n\
         proxy CPU: the proxy's user+system time per message; client CPU: this benchmark's client's, direct/proxy;\n\
         cores busy: the whole machine during the rounds (client, Dovecot, proxy and anything else), direct/proxy.\n",
    );
    println!("{out}");
    if let Ok(path) = std::env::var("IMAP_BENCH_JSON")
        && !path.is_empty()
    {
        let json = serde_json::json!({
            "benchmark": "imap_vs_direct",
            "plaintext_messages": n_plain, "plaintext_bytes": plain_bytes,
            "encrypted_messages": n_encrypted, "encrypted_bytes": enc_bytes,
            "clients": clients, "rounds": rounds, "min_round_seconds": min_seconds, "uids_per_command": batch, "cache_bytes": 0,
            "cores": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
            "results": rows,
        });
        std::fs::write(&path, serde_json::to_string_pretty(&json).unwrap() + "\n")
            .unwrap_or_else(|e| panic!("cannot write {path}: {e}"));
        eprintln!("{TEST}: results written to {path}");
    }
}
