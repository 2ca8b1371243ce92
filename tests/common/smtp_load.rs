//! SMTP load generator and sink, for the filter's load and fault tests (issue #7, item 6) and its benchmark
//! (item 7, `benches/smtp_vs_gpg.sh` through `examples/smtp_load.rs`).
//!
//! [`run_load`] sends numbered messages over plain SMTP (no PIPELINING, no TLS) from `clients` concurrent
//! connections and records what became of each one: accepted (2xx), temporary failure (4xx), permanent
//! failure (5xx) or connection error (refused, closed, timed out, unreadable reply). It never retries: a
//! message that failed is reported as failed, and the client goes on with the next sequence number (on a
//! fresh connection when the old one is gone). Latency runs from writing MAIL to reading the reply to the
//! end of data, so it covers the whole transaction as the server paces it.
//!
//! [`Sink`] is the fast next hop: it accepts everything (or fails every Nth message on purpose), counts
//! messages and bytes and notes which sequence numbers arrived, so that a test can check that each
//! accepted message got through exactly once.
//!
//! Every message is `From: alice@example.org` to `bob@example.net` by default, with `Message-ID:
//! <load-N@example.org>` and `X-Load-Seq: N`, and a body of `size` bytes of printable text in lines of at
//! most 76 characters, some of which start with a dot (so dot-stuffing is exercised on both sides).

#![allow(dead_code)] // The tests and the example each use part of this module.
#![allow(clippy::unwrap_used, clippy::expect_used)] // Test helper: a broken runtime or lock is a failed run.

use std::collections::BTreeMap;
use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

/// Longest reply or command line read (RFC 5321 4.5.3.1.4 allows 512; a little slack for odd peers).
const MAX_LINE: u64 = 4096;

/// Number of distinct bodies built up front; message N uses body N mod this.
const BODY_VARIANTS: u64 = 16;

/// What to send, where, and how.
#[derive(Clone, Debug)]
pub struct LoadOptions {
    /// The SMTP server under test.
    pub target: SocketAddr,
    /// Concurrent connections.
    pub clients: usize,
    /// Messages to send in all.
    pub messages: u64,
    /// Sequence number of the first message (the others follow without gaps).
    pub first_seq: u64,
    /// Body size in bytes (before dot-stuffing); the headers add about 300 bytes.
    pub size: usize,
    /// Messages sent on one connection before QUIT and a new connection (RSET between them); 0 = no limit.
    pub per_connection: u64,
    /// Envelope sender and `From:`.
    pub from: String,
    /// Envelope recipients and `To:`.
    pub to: Vec<String>,
    /// Name given in EHLO.
    pub helo: String,
    /// Connect timeout and timeout of every reply but the one to the end of data.
    pub reply_timeout: Duration,
    /// Timeout of the reply to the end of data (RFC 5321 4.5.3.2.6 suggests 10 minutes).
    pub data_timeout: Duration,
    /// Runtime threads: 1 runs every client on one thread (the least CPU taken from the server under test).
    pub threads: usize,
    /// Start no message after this long (messages not started are left out of the report, not failed).
    pub max_duration: Option<Duration>,
}

impl LoadOptions {
    /// The defaults of the issue: 50 clients, 10,000 messages of 36 KiB, 100 per connection.
    pub fn new(target: SocketAddr) -> LoadOptions {
        LoadOptions {
            target,
            clients: 50,
            messages: 10_000,
            first_seq: 1,
            size: 36 * 1024,
            per_connection: 100,
            from: "alice@example.org".into(),
            to: vec!["bob@example.net".into()],
            helo: "load.example.org".into(),
            reply_timeout: Duration::from_secs(60),
            data_timeout: Duration::from_secs(600),
            threads: 1,
            max_duration: None,
        }
    }
}

/// What became of one message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Outcome {
    /// 2xx to the end of data.
    Accepted,
    /// A 4xx reply at some step.
    TempFail,
    /// A 5xx reply at some step.
    PermFail,
    /// No reply: connection refused, closed or reset, a timeout, or a reply that is not SMTP.
    ConnectionError,
}

impl Outcome {
    /// All outcomes, in report order.
    pub const ALL: [Outcome; 4] = [Outcome::Accepted, Outcome::TempFail, Outcome::PermFail, Outcome::ConnectionError];

    /// Name used in reports and JSON.
    pub fn name(self) -> &'static str {
        match self {
            Outcome::Accepted => "accepted",
            Outcome::TempFail => "tempfail",
            Outcome::PermFail => "permfail",
            Outcome::ConnectionError => "connection_error",
        }
    }
}

/// The step of the SMTP dialogue at which a message's fate was decided.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stage {
    /// Opening the TCP connection.
    Connect,
    /// The server's 220 greeting.
    Greeting,
    /// EHLO (and the HELO fallback).
    Ehlo,
    /// RSET before a message on a reused connection.
    Rset,
    /// MAIL FROM.
    Mail,
    /// RCPT TO.
    Rcpt,
    /// DATA (the 354).
    Data,
    /// The message and the reply to its end.
    EndOfData,
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = match self {
            Stage::Connect => "connect",
            Stage::Greeting => "greeting",
            Stage::Ehlo => "EHLO",
            Stage::Rset => "RSET",
            Stage::Mail => "MAIL",
            Stage::Rcpt => "RCPT",
            Stage::Data => "DATA",
            Stage::EndOfData => "end of data",
        };
        f.write_str(s)
    }
}

/// One message's result.
#[derive(Clone, Debug)]
pub struct MessageResult {
    /// Its sequence number (`X-Load-Seq`).
    pub seq: u64,
    /// What became of it.
    pub outcome: Outcome,
    /// Where that was decided.
    pub stage: Stage,
    /// The deciding reply (`250 2.0.0 Ok ...`), or what went wrong with the connection.
    pub reply: String,
    /// From writing MAIL to the reply to the end of data; `None` when it did not get that far.
    pub latency: Option<Duration>,
    /// Which connection carried it (numbered from 1 in order of opening, over all clients).
    pub connection: u64,
}

/// The result of a run.
#[derive(Clone, Debug)]
pub struct LoadReport {
    /// Every message, in sequence order.
    pub results: Vec<MessageResult>,
    /// Sequence numbers accepted (2xx).
    pub accepted: Vec<u64>,
    /// Sequence numbers temporarily refused (4xx).
    pub tempfail: Vec<u64>,
    /// Sequence numbers permanently refused (5xx).
    pub permfail: Vec<u64>,
    /// Sequence numbers lost to a connection error.
    pub connection_error: Vec<u64>,
    /// From the first connection to the last reply.
    pub wall: Duration,
    /// Accepted messages per second of wall time.
    pub messages_per_sec: f64,
    /// Median latency of the accepted messages.
    pub p50: Option<Duration>,
    /// 99th percentile latency of the accepted messages.
    pub p99: Option<Duration>,
    /// Connections opened (or tried).
    pub connections: u64,
}

impl LoadReport {
    fn new(mut results: Vec<MessageResult>, wall: Duration, connections: u64) -> LoadReport {
        results.sort_by_key(|r| r.seq);
        let seqs = |o: Outcome| results.iter().filter(|r| r.outcome == o).map(|r| r.seq).collect::<Vec<_>>();
        let (accepted, tempfail, permfail, connection_error) =
            (seqs(Outcome::Accepted), seqs(Outcome::TempFail), seqs(Outcome::PermFail), seqs(Outcome::ConnectionError));
        let mut lat: Vec<Duration> =
            results.iter().filter(|r| r.outcome == Outcome::Accepted).filter_map(|r| r.latency).collect();
        lat.sort();
        let secs = wall.as_secs_f64();
        LoadReport {
            messages_per_sec: if secs > 0.0 { accepted.len() as f64 / secs } else { 0.0 },
            p50: percentile(&lat, 50.0),
            p99: percentile(&lat, 99.0),
            accepted,
            tempfail,
            permfail,
            connection_error,
            results,
            wall,
            connections,
        }
    }

    /// Sequence numbers with this outcome.
    pub fn seqs(&self, outcome: Outcome) -> &[u64] {
        match outcome {
            Outcome::Accepted => &self.accepted,
            Outcome::TempFail => &self.tempfail,
            Outcome::PermFail => &self.permfail,
            Outcome::ConnectionError => &self.connection_error,
        }
    }

    /// Latency percentile (nearest rank, 0 < p <= 100) of the accepted messages.
    pub fn latency(&self, p: f64) -> Option<Duration> {
        let mut lat: Vec<Duration> =
            self.results.iter().filter(|r| r.outcome == Outcome::Accepted).filter_map(|r| r.latency).collect();
        lat.sort();
        percentile(&lat, p)
    }

    /// True when every message was accepted.
    pub fn all_accepted(&self) -> bool {
        self.accepted.len() == self.results.len()
    }

    /// The messages that were not accepted.
    pub fn failures(&self) -> impl Iterator<Item = &MessageResult> {
        self.results.iter().filter(|r| r.outcome != Outcome::Accepted)
    }

    /// A few lines for people: counts, rate, latency and the first failures.
    pub fn summary(&self) -> String {
        let ms = |d: Option<Duration>| d.map_or("-".to_string(), |d| format!("{:.1} ms", d.as_secs_f64() * 1e3));
        let mut s = format!(
            "{} messages in {:.2} s over {} connections: {} accepted, {} tempfail, {} permfail, {} connection error; \
             {:.1} msgs/s; latency p50 {}, p99 {}\n",
            self.results.len(),
            self.wall.as_secs_f64(),
            self.connections,
            self.accepted.len(),
            self.tempfail.len(),
            self.permfail.len(),
            self.connection_error.len(),
            self.messages_per_sec,
            ms(self.p50),
            ms(self.p99),
        );
        for r in self.failures().take(10) {
            s += &format!("  seq {}: {} at {}: {}\n", r.seq, r.outcome.name(), r.stage, r.reply);
        }
        let more = self.failures().count().saturating_sub(10);
        if more > 0 {
            s += &format!("  ... and {more} more failures\n");
        }
        s
    }

    /// The report as JSON: counts, rate, latency in ms, the sequence numbers of each outcome and every failure.
    pub fn to_json(&self) -> serde_json::Value {
        let ms = |d: Option<Duration>| d.map(|d| d.as_secs_f64() * 1e3);
        let failures: Vec<serde_json::Value> = self
            .failures()
            .map(|r| {
                serde_json::json!({
                    "seq": r.seq, "outcome": r.outcome.name(), "stage": r.stage.to_string(),
                    "reply": r.reply, "connection": r.connection,
                })
            })
            .collect();
        serde_json::json!({
            "messages": self.results.len(),
            "accepted": self.accepted.len(),
            "tempfail": self.tempfail.len(),
            "permfail": self.permfail.len(),
            "connection_error": self.connection_error.len(),
            "connections": self.connections,
            "wall_s": self.wall.as_secs_f64(),
            "messages_per_s": self.messages_per_sec,
            "p50_ms": ms(self.p50),
            "p99_ms": ms(self.p99),
            "seqs": {
                "accepted": self.accepted, "tempfail": self.tempfail,
                "permfail": self.permfail, "connection_error": self.connection_error,
            },
            "failures": failures,
        })
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Option<Duration> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted.get(rank.clamp(1, sorted.len()) - 1).copied()
}

/// Runs a load on a runtime of its own (for synchronous tests and the CLI); see [`load`].
pub fn run_load(opts: &LoadOptions) -> LoadReport {
    let rt = if opts.threads <= 1 {
        tokio::runtime::Builder::new_current_thread().enable_all().build()
    } else {
        tokio::runtime::Builder::new_multi_thread().worker_threads(opts.threads).enable_all().build()
    }
    .expect("cannot build a tokio runtime");
    rt.block_on(load(opts))
}

/// Runs a load on the current runtime: `clients` tasks take the next sequence number until `messages` are
/// used up (or `max_duration` is over). Every sequence number from `first_seq` on that was taken appears
/// exactly once in the report, without gaps.
pub async fn load(opts: &LoadOptions) -> LoadReport {
    let shared = Arc::new(Shared {
        opts: opts.clone(),
        bodies: (0..BODY_VARIANTS).map(|v| stuffed_body(opts.size, v)).collect(),
        next: AtomicU64::new(opts.first_seq),
        end: opts.first_seq + opts.messages,
        connections: AtomicU64::new(0),
        deadline: opts.max_duration.map(|d| Instant::now() + d),
    });
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..opts.clients.max(1) {
        tasks.push(tokio::spawn(client(shared.clone())));
    }
    let mut results = Vec::with_capacity(opts.messages as usize);
    for t in tasks {
        results.extend(t.await.expect("a load client panicked"));
    }
    LoadReport::new(results, start.elapsed(), shared.connections.load(Ordering::Relaxed))
}

struct Shared {
    opts: LoadOptions,
    bodies: Vec<Vec<u8>>,
    next: AtomicU64,
    end: u64,
    connections: AtomicU64,
    deadline: Option<Instant>,
}

impl Shared {
    fn take(&self) -> Option<u64> {
        if self.deadline.is_some_and(|d| Instant::now() >= d) {
            // Nothing more is taken by anyone: the numbers handed out so far stay contiguous.
            self.next.fetch_max(self.end, Ordering::Relaxed);
            return None;
        }
        let seq = self.next.fetch_add(1, Ordering::Relaxed);
        (seq < self.end).then_some(seq)
    }
}

/// A reply: its code and its lines, joined with " / ".
struct Reply {
    code: u16,
    text: String,
}

impl Reply {
    /// The outcome of a refusal (4xx or 5xx; [`Conn::expect`] lets no other through as a refusal).
    fn outcome(&self) -> Outcome {
        if self.code / 100 == 4 { Outcome::TempFail } else { Outcome::PermFail }
    }
}

/// What a step of the dialogue gave.
enum Step {
    /// The expected reply class.
    Ok(Reply),
    /// A refusal: 4xx or 5xx.
    Refused(Reply),
    /// The connection is unusable (or the reply was of an unexpected class, such as 2xx where 354 was due).
    Broken(String),
}

struct Conn {
    stream: BufReader<TcpStream>,
    id: u64,
    line: Vec<u8>,
}

impl Conn {
    async fn read_reply(&mut self) -> Result<Reply, String> {
        let mut text = String::new();
        loop {
            self.line.clear();
            let n = (&mut self.stream)
                .take(MAX_LINE)
                .read_until(b'\n', &mut self.line)
                .await
                .map_err(|e| format!("read: {e}"))?;
            if n == 0 {
                return Err(if text.is_empty() { "connection closed".into() } else { format!("closed after {text}") });
            }
            let line = String::from_utf8_lossy(&self.line);
            let line = line.trim_end_matches(['\r', '\n']);
            let b = line.as_bytes();
            let code = match b.get(..3) {
                Some(d) if d.iter().all(u8::is_ascii_digit) && matches!(b.get(3), None | Some(b' ' | b'-')) => {
                    line[..3].parse::<u16>().map_err(|e| format!("bad reply {line:?}: {e}"))?
                }
                _ => return Err(format!("not an SMTP reply: {line:?}")),
            };
            if !text.is_empty() {
                text.push_str(" / ");
            }
            text.push_str(line);
            if b.get(3) != Some(&b'-') {
                if !(200..600).contains(&code) {
                    return Err(format!("not an SMTP reply code: {text}"));
                }
                return Ok(Reply { code, text });
            }
        }
    }

    /// Reads a reply within `limit`; `want` is the expected first digit.
    async fn expect(&mut self, want: u16, limit: Duration) -> Step {
        match tokio::time::timeout(limit, self.read_reply()).await {
            Err(_) => Step::Broken(format!("no reply within {} s", limit.as_secs_f64())),
            Ok(Err(e)) => Step::Broken(e),
            Ok(Ok(r)) if r.code / 100 == want => Step::Ok(r),
            Ok(Ok(r)) if r.code >= 400 => Step::Refused(r),
            Ok(Ok(r)) => Step::Broken(format!("unexpected reply: {}", r.text)),
        }
    }

    async fn send(&mut self, bytes: &[u8]) -> Result<(), String> {
        self.stream.get_mut().write_all(bytes).await.map_err(|e| format!("write: {e}"))
    }

    async fn command(&mut self, cmd: &str, want: u16, limit: Duration) -> Step {
        if let Err(e) = self.send(format!("{cmd}\r\n").as_bytes()).await {
            return Step::Broken(e);
        }
        self.expect(want, limit).await
    }

    async fn quit(mut self, limit: Duration) {
        let _ = tokio::time::timeout(limit.min(Duration::from_secs(5)), async {
            if self.send(b"QUIT\r\n").await.is_ok() {
                let _ = self.read_reply().await;
            }
        })
        .await;
    }
}

/// Opens a connection and says EHLO (HELO if EHLO is refused). On failure: the stage and the outcome.
async fn connect(sh: &Shared) -> Result<Conn, (Stage, Outcome, String, u64)> {
    let id = sh.connections.fetch_add(1, Ordering::Relaxed) + 1;
    let o = &sh.opts;
    let broken = |stage, e| (stage, Outcome::ConnectionError, e, id);
    let stream = match tokio::time::timeout(o.reply_timeout, TcpStream::connect(o.target)).await {
        Err(_) => return Err(broken(Stage::Connect, "connect timed out".into())),
        Ok(Err(e)) => return Err(broken(Stage::Connect, format!("connect: {e}"))),
        Ok(Ok(s)) => s,
    };
    let _ = stream.set_nodelay(true);
    let mut c = Conn { stream: BufReader::with_capacity(16 * 1024, stream), id, line: Vec::with_capacity(512) };
    match c.expect(2, o.reply_timeout).await {
        Step::Ok(_) => {}
        Step::Refused(r) => return Err((Stage::Greeting, r.outcome(), r.text, id)),
        Step::Broken(e) => return Err(broken(Stage::Greeting, e)),
    }
    match c.command(&format!("EHLO {}", o.helo), 2, o.reply_timeout).await {
        Step::Ok(_) => Ok(c),
        Step::Refused(r) if r.code / 100 == 5 => match c.command(&format!("HELO {}", o.helo), 2, o.reply_timeout).await
        {
            Step::Ok(_) => Ok(c),
            Step::Refused(r) => Err((Stage::Ehlo, r.outcome(), r.text, id)),
            Step::Broken(e) => Err(broken(Stage::Ehlo, e)),
        },
        Step::Refused(r) => Err((Stage::Ehlo, r.outcome(), r.text, id)),
        Step::Broken(e) => Err(broken(Stage::Ehlo, e)),
    }
}

/// One client: takes sequence numbers until none are left. Each goes out once, whatever happens to it.
async fn client(sh: Arc<Shared>) -> Vec<MessageResult> {
    let o = &sh.opts;
    let mut results = Vec::new();
    let mut conn: Option<Conn> = None;
    let mut sent_here = 0u64;
    let mut wire = Vec::with_capacity(o.size + o.size / 32 + 1024);
    while let Some(seq) = sh.take() {
        if o.per_connection > 0
            && sent_here >= o.per_connection
            && let Some(c) = conn.take()
        {
            c.quit(o.reply_timeout).await;
        }
        let mut c = match conn.take() {
            Some(c) => c,
            None => match connect(&sh).await {
                Ok(c) => {
                    sent_here = 0;
                    c
                }
                Err((stage, outcome, reply, connection)) => {
                    results.push(MessageResult { seq, outcome, stage, reply, latency: None, connection });
                    continue;
                }
            },
        };
        let done = |outcome, stage, reply: String, latency, c: &Conn| MessageResult {
            seq,
            outcome,
            stage,
            reply,
            latency,
            connection: c.id,
        };
        if sent_here > 0 {
            match c.command("RSET", 2, o.reply_timeout).await {
                Step::Ok(_) => {}
                Step::Refused(r) => {
                    results.push(done(r.outcome(), Stage::Rset, r.text, None, &c));
                    continue; // A server that refuses RSET gets a new connection for the next message.
                }
                Step::Broken(e) => {
                    results.push(done(Outcome::ConnectionError, Stage::Rset, e, None, &c));
                    continue;
                }
            }
        }
        sent_here += 1;
        let (result, usable) = transaction(&sh, &mut c, seq, &mut wire).await;
        results.push(result);
        if usable {
            conn = Some(c);
        }
    }
    if let Some(c) = conn {
        c.quit(o.reply_timeout).await;
    }
    results
}

/// MAIL, RCPT, DATA, the message. Returns the result and whether the connection can carry another message.
async fn transaction(sh: &Shared, c: &mut Conn, seq: u64, wire: &mut Vec<u8>) -> (MessageResult, bool) {
    let o = &sh.opts;
    let start = Instant::now();
    let result = |outcome, stage, reply: String, latency, c: &Conn| MessageResult {
        seq,
        outcome,
        stage,
        reply,
        latency,
        connection: c.id,
    };
    // 421 means the server is closing the connection (RFC 5321 3.8).
    let refused = |stage, r: Reply, c: &Conn| {
        let usable = r.code != 421;
        (result(r.outcome(), stage, r.text, None, c), usable)
    };
    match c.command(&format!("MAIL FROM:<{}>", o.from), 2, o.reply_timeout).await {
        Step::Ok(_) => {}
        Step::Refused(r) => return refused(Stage::Mail, r, c),
        Step::Broken(e) => return (result(Outcome::ConnectionError, Stage::Mail, e, None, c), false),
    }
    for rcpt in &o.to {
        match c.command(&format!("RCPT TO:<{rcpt}>"), 2, o.reply_timeout).await {
            Step::Ok(_) => {}
            Step::Refused(r) => return refused(Stage::Rcpt, r, c),
            Step::Broken(e) => return (result(Outcome::ConnectionError, Stage::Rcpt, e, None, c), false),
        }
    }
    match c.command("DATA", 3, o.reply_timeout).await {
        Step::Ok(_) => {}
        Step::Refused(r) => return refused(Stage::Data, r, c),
        Step::Broken(e) => return (result(Outcome::ConnectionError, Stage::Data, e, None, c), false),
    }
    wire.clear();
    headers(wire, o, seq);
    wire.extend_from_slice(&sh.bodies[(seq % BODY_VARIANTS) as usize]);
    wire.extend_from_slice(b".\r\n");
    if let Err(e) = c.send(wire).await {
        return (result(Outcome::ConnectionError, Stage::EndOfData, e, None, c), false);
    }
    match c.expect(2, o.data_timeout).await {
        Step::Ok(r) => (result(Outcome::Accepted, Stage::EndOfData, r.text, Some(start.elapsed()), c), true),
        Step::Refused(r) => {
            let usable = r.code != 421;
            (result(r.outcome(), Stage::EndOfData, r.text, Some(start.elapsed()), c), usable)
        }
        Step::Broken(e) => (result(Outcome::ConnectionError, Stage::EndOfData, e, None, c), false),
    }
}

/// The header section of message `seq`, ending with the empty line.
fn headers(out: &mut Vec<u8>, o: &LoadOptions, seq: u64) {
    let domain = o.from.rsplit_once('@').map_or("example.org", |(_, d)| d);
    let h = format!(
        "From: <{from}>\r\nTo: {to}\r\nSubject: load test message {seq}\r\nDate: Thu, 01 Jan 2026 00:00:00 +0000\r\n\
         Message-ID: <load-{seq}@{domain}>\r\nX-Load-Seq: {seq}\r\nMIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=us-ascii\r\nContent-Transfer-Encoding: 7bit\r\n\r\n",
        from = o.from,
        to = o.to.iter().map(|t| format!("<{t}>")).collect::<Vec<_>>().join(", "),
    );
    out.extend_from_slice(h.as_bytes());
}

/// The words of the bodies: text that compresses as ordinary mail does (gpg compresses before it encrypts).
const WORDS: &str = "the of and to in a is that for it as was with be by on not he this are or his from at which \
     but have an had they you were their one all we can her has there been if more when will would who so no \
     message report quarterly meeting schedule attached please review budget figures thanks regards \
     tomorrow project delivery invoice customer update numbers 12 2026 3.5% EUR (draft) -- re: fw:";

/// A body of exactly `size` bytes (rounded so that it ends with CRLF), in lines of at most 76 characters,
/// every 40th of them starting with a dot, already dot-stuffed for the wire (RFC 5321 4.5.2).
pub fn stuffed_body(size: usize, variant: u64) -> Vec<u8> {
    let mut rng = 0x9E37_79B9_7F4A_7C15u64 ^ (variant + 1).wrapping_mul(0xD1B5_4A32_D192_ED03);
    let mut next = move || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    let words: Vec<&str> = WORDS.split(' ').collect();
    let mut out = Vec::with_capacity(size + size / 32 + 2);
    let mut left = if size == 1 { 2 } else { size }; // an empty line stands for a single byte
    let mut n = 0u64;
    while left > 0 {
        let mut len = left.min(78); // with CRLF
        if left - len == 1 {
            len -= 1; // never leave a single byte: every line ends with CRLF
        }
        let text = len.saturating_sub(2);
        let mut line = String::with_capacity(text + 1);
        if n % 40 == 7 && text > 0 {
            line.push('.');
        }
        while line.len() < text {
            if !line.is_empty() && !line.ends_with('.') {
                line.push(' ');
            }
            line.push_str(words[(next() % words.len() as u64) as usize]);
        }
        line.truncate(text);
        if line.ends_with(' ') {
            line.pop();
            line.push('x');
        }
        if line.starts_with('.') {
            out.push(b'.');
        }
        out.extend_from_slice(line.as_bytes());
        out.extend_from_slice(b"\r\n");
        left -= text + 2;
        n += 1;
    }
    out
}

/// How the sink behaves.
#[derive(Clone, Debug)]
pub struct SinkOptions {
    /// Name in the greeting and EHLO reply.
    pub hostname: String,
    /// Largest message accepted (552 above it).
    pub max_size: usize,
    /// Answer every Nth message's end of data with 451 (0 = never): a flaky next hop.
    pub tempfail_every: u64,
    /// Wait this long before answering the end of data: a slow next hop.
    pub data_delay: Duration,
    /// Keep the first N messages received (unstuffed) for inspection.
    pub keep: usize,
}

impl Default for SinkOptions {
    fn default() -> SinkOptions {
        SinkOptions {
            hostname: "sink.example.net".into(),
            max_size: 64 << 20,
            tempfail_every: 0,
            data_delay: Duration::ZERO,
            keep: 0,
        }
    }
}

/// Counters of a running sink.
#[derive(Debug, Default)]
pub struct SinkStats {
    messages: AtomicU64,
    bytes: AtomicU64,
    connections: AtomicU64,
    tempfailed: AtomicU64,
    aborted: AtomicU64,
    without_seq: AtomicU64,
    encrypted: AtomicU64,
    seqs: Mutex<BTreeMap<u64, u32>>,
    kept: Mutex<Vec<Vec<u8>>>,
}

/// What a sink has received so far.
#[derive(Clone, Debug)]
pub struct SinkSnapshot {
    /// Messages accepted (250 to the end of data).
    pub messages: u64,
    /// Their bytes, unstuffed, headers included.
    pub bytes: u64,
    /// Connections accepted.
    pub connections: u64,
    /// Messages answered with the deliberate 451.
    pub tempfailed: u64,
    /// Transactions cut off inside DATA.
    pub aborted: u64,
    /// Accepted messages without `X-Load-Seq` or a `<load-N@` Message-ID.
    pub without_seq: u64,
    /// Accepted messages whose top-level type is multipart/encrypted (PGP/MIME) or application/pkcs7-mime
    /// (S/MIME, enveloped or signed): what a sealing filter should have made of every load message.
    pub encrypted: u64,
    /// Sequence numbers of the accepted messages, each once, in order.
    pub seqs: Vec<u64>,
    /// Sequence numbers accepted more than once.
    pub duplicates: Vec<u64>,
    /// The first messages, as kept by [`SinkOptions::keep`].
    pub kept: Vec<Vec<u8>>,
}

impl SinkStats {
    /// A copy of the counters.
    pub fn snapshot(&self) -> SinkSnapshot {
        let seqs = self.seqs.lock().unwrap();
        SinkSnapshot {
            messages: self.messages.load(Ordering::Relaxed),
            bytes: self.bytes.load(Ordering::Relaxed),
            connections: self.connections.load(Ordering::Relaxed),
            tempfailed: self.tempfailed.load(Ordering::Relaxed),
            aborted: self.aborted.load(Ordering::Relaxed),
            without_seq: self.without_seq.load(Ordering::Relaxed),
            encrypted: self.encrypted.load(Ordering::Relaxed),
            seqs: seqs.keys().copied().collect(),
            duplicates: seqs.iter().filter(|(_, n)| **n > 1).map(|(s, _)| *s).collect(),
            kept: self.kept.lock().unwrap().clone(),
        }
    }
}

impl SinkSnapshot {
    /// One line for people.
    pub fn summary(&self) -> String {
        format!(
            "sink: {} messages ({} encrypted), {} bytes, {} connections, {} distinct seqs, {} duplicated, \
             {} without seq, {} tempfailed on purpose, {} aborted",
            self.messages,
            self.encrypted,
            self.bytes,
            self.connections,
            self.seqs.len(),
            self.duplicates.len(),
            self.without_seq,
            self.tempfailed,
            self.aborted
        )
    }

    /// As JSON (without the kept messages).
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "messages": self.messages, "encrypted": self.encrypted, "bytes": self.bytes,
            "connections": self.connections,
            "tempfailed": self.tempfailed, "aborted": self.aborted, "without_seq": self.without_seq,
            "distinct_seqs": self.seqs.len(), "duplicates": self.duplicates, "seqs": self.seqs,
        })
    }
}

/// A sink on a thread of its own (one-thread runtime), for tests. Stops when dropped.
pub struct Sink {
    addr: SocketAddr,
    stats: Arc<SinkStats>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Sink {
    /// Listens on `addr` (`127.0.0.1:0` for any free port) and serves until stopped.
    pub fn start(addr: &str, opts: SinkOptions) -> io::Result<Sink> {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        let listener = rt.block_on(TcpListener::bind(addr))?;
        let addr = listener.local_addr()?;
        let stats = Arc::new(SinkStats::default());
        let (tx, rx) = tokio::sync::oneshot::channel();
        let st = stats.clone();
        let thread = std::thread::spawn(move || {
            rt.block_on(async move {
                tokio::select! {
                    _ = serve_sink(listener, Arc::new(opts), st) => {}
                    _ = rx => {}
                }
            })
        });
        Ok(Sink { addr, stats, stop: Some(tx), thread: Some(thread) })
    }

    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// What it has received so far.
    pub fn snapshot(&self) -> SinkSnapshot {
        self.stats.snapshot()
    }

    /// Stops it (open connections are dropped) and returns what it received.
    pub fn stop(mut self) -> SinkSnapshot {
        self.shutdown();
        self.stats.snapshot()
    }

    fn shutdown(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// Accepts connections forever, one task each.
pub async fn serve_sink(listener: TcpListener, opts: Arc<SinkOptions>, stats: Arc<SinkStats>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            // Out of descriptors and the like: wait a moment rather than spin.
            tokio::time::sleep(Duration::from_millis(10)).await;
            continue;
        };
        stats.connections.fetch_add(1, Ordering::Relaxed);
        let (opts, stats) = (opts.clone(), stats.clone());
        tokio::spawn(async move {
            let _ = sink_session(stream, &opts, &stats).await;
        });
    }
}

async fn sink_session(stream: TcpStream, opts: &SinkOptions, stats: &SinkStats) -> io::Result<()> {
    let _ = stream.set_nodelay(true);
    let mut s = BufReader::with_capacity(64 * 1024, stream);
    let host = &opts.hostname;
    s.get_mut().write_all(format!("220 {host} ESMTP sink\r\n").as_bytes()).await?;
    let (mut mail, mut rcpts) = (false, 0usize);
    let mut line = Vec::with_capacity(512);
    let mut msg = Vec::with_capacity(64 * 1024);
    loop {
        line.clear();
        if (&mut s).take(MAX_LINE).read_until(b'\n', &mut line).await? == 0 {
            return Ok(());
        }
        if !line.ends_with(b"\n") {
            // Longer than MAX_LINE: refuse and drop the connection rather than guess where the command ends.
            s.get_mut().write_all(b"500 5.5.2 line too long\r\n").await?;
            return Ok(());
        }
        let verb = line.get(..4).map(|v| v.to_ascii_uppercase()).unwrap_or_default();
        let reply: Vec<u8> = match &verb[..] {
            b"EHLO" => format!(
                "250-{host}\r\n250-PIPELINING\r\n250-8BITMIME\r\n250-SIZE {}\r\n250 SMTPUTF8\r\n",
                opts.max_size
            )
            .into_bytes(),
            b"HELO" => format!("250 {host}\r\n").into_bytes(),
            b"MAIL" if mail => b"503 5.5.1 nested MAIL command\r\n".to_vec(),
            b"MAIL" => {
                mail = true;
                b"250 2.1.0 Ok\r\n".to_vec()
            }
            b"RCPT" if !mail => b"503 5.5.1 need MAIL first\r\n".to_vec(),
            b"RCPT" => {
                rcpts += 1;
                b"250 2.1.5 Ok\r\n".to_vec()
            }
            b"DATA" if rcpts == 0 => b"503 5.5.1 need RCPT first\r\n".to_vec(),
            b"DATA" => {
                s.get_mut().write_all(b"354 End data with <CR><LF>.<CR><LF>\r\n").await?;
                let (complete, too_big) = read_data(&mut s, &mut msg, opts.max_size).await?;
                (mail, rcpts) = (false, 0);
                if !complete {
                    stats.aborted.fetch_add(1, Ordering::Relaxed);
                    return Ok(());
                }
                if !opts.data_delay.is_zero() {
                    tokio::time::sleep(opts.data_delay).await;
                }
                if too_big { b"552 5.3.4 message too big\r\n".to_vec() } else { deliver(&msg, opts, stats) }
            }
            b"RSET" => {
                (mail, rcpts) = (false, 0);
                b"250 2.0.0 Ok\r\n".to_vec()
            }
            b"NOOP" => b"250 2.0.0 Ok\r\n".to_vec(),
            b"VRFY" => b"252 2.5.0 cannot verify\r\n".to_vec(),
            b"QUIT" => {
                s.get_mut().write_all(b"221 2.0.0 Bye\r\n").await?;
                return Ok(());
            }
            _ => b"502 5.5.2 command not recognized\r\n".to_vec(),
        };
        s.get_mut().write_all(&reply).await?;
    }
}

/// Reads DATA up to the lone dot, unstuffing into `msg`. Returns (ended properly, exceeded `max`).
async fn read_data(s: &mut BufReader<TcpStream>, msg: &mut Vec<u8>, max: usize) -> io::Result<(bool, bool)> {
    msg.clear();
    let mut too_big = false;
    let mut line = Vec::with_capacity(1024);
    loop {
        line.clear();
        // No line limit here: a long line is still the message's (it costs memory only up to `max`).
        if s.read_until(b'\n', &mut line).await? == 0 {
            return Ok((false, too_big));
        }
        if line == b".\r\n" || line == b".\n" {
            return Ok((true, too_big));
        }
        let l = if line.first() == Some(&b'.') { &line[1..] } else { &line[..] };
        if msg.len() + l.len() > max {
            too_big = true;
        } else {
            msg.extend_from_slice(l);
        }
    }
}

/// Counts a complete message and picks the reply to its end of data.
fn deliver(msg: &[u8], opts: &SinkOptions, stats: &SinkStats) -> Vec<u8> {
    let n = stats.messages.load(Ordering::Relaxed) + stats.tempfailed.load(Ordering::Relaxed) + 1;
    if opts.tempfail_every > 0 && n.is_multiple_of(opts.tempfail_every) {
        stats.tempfailed.fetch_add(1, Ordering::Relaxed);
        return b"451 4.3.0 sink: deliberate temporary failure\r\n".to_vec();
    }
    let id = stats.messages.fetch_add(1, Ordering::Relaxed) + 1;
    stats.bytes.fetch_add(msg.len() as u64, Ordering::Relaxed);
    let (seq, encrypted) = header_facts(msg);
    if encrypted {
        stats.encrypted.fetch_add(1, Ordering::Relaxed);
    }
    match seq {
        Some(seq) => *stats.seqs.lock().unwrap().entry(seq).or_insert(0) += 1,
        None => {
            stats.without_seq.fetch_add(1, Ordering::Relaxed);
        }
    }
    if opts.keep > 0 {
        let mut kept = stats.kept.lock().unwrap();
        if kept.len() < opts.keep {
            kept.push(msg.to_vec());
        }
    }
    format!("250 2.0.0 Ok: queued as S{id}\r\n").into_bytes()
}

/// The sequence number of a load message, from its header section: `X-Load-Seq: N`, else the `load-N@` of
/// its Message-ID (a filter may move other headers into the encrypted part).
pub fn load_seq(msg: &[u8]) -> Option<u64> {
    header_facts(msg).0
}

/// The sequence number (see [`load_seq`]) and whether the top-level Content-Type is an encrypted one.
fn header_facts(msg: &[u8]) -> (Option<u64>, bool) {
    let end = msg.windows(4).position(|w| w == b"\r\n\r\n").or_else(|| msg.windows(2).position(|w| w == b"\n\n"));
    let head = String::from_utf8_lossy(&msg[..end.unwrap_or(msg.len())]);
    let (mut seq, mut from_id, mut encrypted) = (None, None, false);
    for line in head.lines() {
        let Some((name, value)) = line.split_once(':') else { continue };
        let value = value.trim();
        if name.eq_ignore_ascii_case("X-Load-Seq") {
            seq = seq.or(value.parse().ok());
        } else if name.eq_ignore_ascii_case("Message-ID") {
            from_id = value.strip_prefix("<load-").and_then(|v| v.split_once('@')).and_then(|(n, _)| n.parse().ok());
        } else if name.eq_ignore_ascii_case("Content-Type") {
            let t = value.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
            encrypted = t == "multipart/encrypted" || t == "application/pkcs7-mime" || t == "application/x-pkcs7-mime";
        }
    }
    (seq.or(from_id), encrypted)
}
