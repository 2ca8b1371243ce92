//! What the proxy benchmarks (tests/imap_bench.rs, tests/pop3_bench.rs) share: the plaintext messages
//! (deterministic, varied prose of 24-36 KiB, every fourth message multipart/alternative with an HTML copy),
//! the keys, and the measuring (CPU ticks of the machine and of a process, medians, waiting for quiet).

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use super::gpg::Gpg;

/// The user who receives the encrypted messages (the keystore holds its secret key).
pub const ENCRYPTED_USER: &str = "carol@example.org";

/// The user the plaintext messages are delivered to (in their Received field).
const PLAIN_USER: &str = "bob@example.org";

/// xorshift64: deterministic text.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

pub const WORDS: &[&str] = &[
    "the",
    "of",
    "and",
    "to",
    "in",
    "a",
    "is",
    "that",
    "for",
    "it",
    "as",
    "was",
    "with",
    "be",
    "by",
    "on",
    "not",
    "he",
    "this",
    "are",
    "or",
    "his",
    "from",
    "at",
    "which",
    "but",
    "have",
    "an",
    "had",
    "they",
    "you",
    "were",
    "their",
    "one",
    "all",
    "we",
    "can",
    "her",
    "has",
    "there",
    "been",
    "if",
    "more",
    "when",
    "will",
    "would",
    "who",
    "so",
    "no",
    "meeting",
    "report",
    "budget",
    "quarter",
    "server",
    "release",
    "customer",
    "invoice",
    "schedule",
    "project",
    "team",
    "review",
    "deadline",
    "draft",
    "contract",
    "update",
    "agenda",
    "minutes",
    "proposal",
    "estimate",
    "office",
    "travel",
    "network",
    "backup",
    "migration",
    "mailbox",
    "certificate",
    "password",
    "attachment",
    "tomorrow",
    "yesterday",
    "Monday",
    "Friday",
    "please",
    "thanks",
    "regards",
    "question",
    "answer",
    "figures",
    "summary",
    "appendix",
    "section",
    "paragraph",
    "version",
    "changes",
    "approved",
    "pending",
    "rejected",
    "deployment",
    "database",
    "latency",
    "throughput",
    "capacity",
    "storage",
    "license",
    "support",
    "ticket",
    "incident",
    "outage",
    "maintenance",
    "window",
    "weekend",
    "holiday",
    "colleague",
    "manager",
    "director",
    "finance",
    "legal",
    "marketing",
    "engineering",
    "shipment",
    "warehouse",
    "supplier",
];

/// About `len` octets of wrapped prose (lines under 78 columns, CRLF, blank lines between paragraphs).
pub fn prose(rng: &mut Rng, len: usize) -> String {
    let mut out = String::with_capacity(len + 200);
    let mut line = String::new();
    let mut sentence_start = true;
    let mut lines_in_paragraph = 0;
    while out.len() < len {
        let w = WORDS[rng.below(WORDS.len())];
        let word = if sentence_start {
            let mut c = w.chars();
            c.next().map(|f| f.to_uppercase().collect::<String>() + c.as_str()).unwrap_or_default()
        } else {
            w.to_string()
        };
        sentence_start = false;
        let mut word = word;
        match rng.below(14) {
            0 => {
                word.push('.');
                sentence_start = true;
            }
            1 => word.push(','),
            2 => word = format!("{word} {}", rng.below(10_000)),
            _ => {}
        }
        if line.len() + 1 + word.len() > 72 {
            out.push_str(&line);
            out.push_str("\r\n");
            line.clear();
            lines_in_paragraph += 1;
            if lines_in_paragraph > 3 + rng.below(6) {
                out.push_str("\r\n");
                lines_in_paragraph = 0;
            }
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(&word);
    }
    out.push_str(&line);
    out.push_str(".\r\n");
    out
}

pub fn date(i: usize) -> String {
    format!("Mon, 2 Jun 2025 {:02}:{:02}:{:02} +0000", 8 + i / 3600 % 12, i / 60 % 60, i % 60)
}

/// Plaintext message `i`: 24-36 KiB, text/plain, or (every fourth) multipart/alternative with an HTML copy.
pub fn plain_message(i: usize) -> Vec<u8> {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ (i as u64 + 1).wrapping_mul(0x2545_F491_4F6C_DD1D));
    let size = 24 * 1024 + rng.below(12 * 1024);
    let sender = format!("user{}@example.net", rng.below(50));
    let subject: Vec<&str> = (0..4 + rng.below(5)).map(|_| WORDS[rng.below(WORDS.len())]).collect();
    let mut m = format!(
        "Return-Path: <{sender}>\r\n\
         Received: from mx{n}.example.net (mx{n}.example.net [192.0.2.{n}])\r\n\tby mail.example.org with ESMTPS \
         id {id:016x}\r\n\tfor <{PLAIN_USER}>; {date}\r\n\
         From: Sender {n} <{sender}>\r\nTo: Bob <{PLAIN_USER}>\r\nSubject: {subject} ({i})\r\nDate: {date}\r\n\
         Message-ID: <plain-{i}@example.net>\r\nMIME-Version: 1.0\r\n",
        n = 1 + rng.below(200),
        id = rng.next(),
        date = date(i),
        subject = subject.join(" "),
    );
    if i % 4 == 3 {
        let text = prose(&mut rng, size / 2);
        let html: String = text
            .split("\r\n\r\n")
            .map(|p| format!("<p>{}</p>\r\n", p.replace('&', "&amp;").replace('<', "&lt;")))
            .collect();
        m.push_str(&format!(
            "Content-Type: multipart/alternative; boundary=\"alt-{i}\"\r\n\r\n\
             --alt-{i}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n{text}\
             --alt-{i}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n\
             <html><body>\r\n{html}</body></html>\r\n--alt-{i}--\r\n"
        ));
    } else {
        m.push_str("Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n");
        m.push_str(&prose(&mut rng, size));
    }
    m.into_bytes()
}

pub fn env_usize(name: &str, default: usize) -> usize {
    match std::env::var(name) {
        Ok(v) => v.trim().parse().unwrap_or_else(|_| panic!("{name}={v:?} is not a number")),
        Err(_) => default,
    }
}

pub fn memfind(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Busy and total jiffies of the whole machine.
pub fn machine_ticks() -> (u64, u64) {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let f: Vec<u64> =
        stat.lines().next().unwrap_or_default().split_whitespace().skip(1).filter_map(|v| v.parse().ok()).collect();
    let total: u64 = f.iter().take(8).sum();
    let idle = f.get(3).copied().unwrap_or(0) + f.get(4).copied().unwrap_or(0);
    (total - idle, total)
}

/// utime + stime of a process, in jiffies.
pub fn process_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let after = stat.rsplit_once(')').map(|(_, a)| a).unwrap_or_default();
    let f: Vec<&str> = after.split_whitespace().collect();
    // After the command: state is field 3, utime 14 and stime 15.
    f.get(11).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0)
        + f.get(12).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0)
}

pub fn clock_ticks() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
        .unwrap_or(100.0)
}

/// Waits (up to 2 minutes) for the machine to be quiet: under 15% of a core busy over 2 s.
pub fn wait_quiet(test: &str) {
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1) as f64;
    let mut busy = 0.0;
    for _ in 0..60 {
        let a = machine_ticks();
        std::thread::sleep(Duration::from_secs(2));
        let b = machine_ticks();
        busy = (b.0 - a.0) as f64 / (b.1 - a.1).max(1) as f64 * cores;
        if busy < 0.15 {
            return;
        }
    }
    eprintln!("{test}: WARNING: the machine is busy ({busy:.2} cores) before the rounds: the figures are disturbed");
}

pub fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n == 0 {
        f64::NAN
    } else if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// Keys (RSA-3072, by `sealpost key generate`): carol@example.org receives, dan@example.net sends. The
/// keystore has carol's secret key and dan's certificate; gpg has dan's secret key and carol's certificate.
pub fn keys(dir: &Path, gpg: &Gpg) -> std::path::PathBuf {
    super::sealed::receiver_and_sender(
        dir,
        gpg,
        ("carol", "Carol <carol@example.org>"),
        ("dan", "Dan <dan@example.net>"),
    )
}

pub fn encrypted_message(i: usize, body: &[u8]) -> Vec<u8> {
    let mut m = format!(
        "Return-Path: <dan@example.net>\r\nFrom: Dan <dan@example.net>\r\nTo: Carol <{ENCRYPTED_USER}>\r\n\
         Subject: encrypted {i}\r\nDate: {}\r\nMessage-ID: <enc-{i}@example.net>\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/encrypted; protocol=\"application/pgp-encrypted\"; boundary=\"b1\"\r\n\r\n",
        date(i)
    )
    .into_bytes();
    m.extend_from_slice(body);
    m
}

pub fn fmt_rate(v: f64) -> String {
    if v >= 100.0 { format!("{v:.0}") } else { format!("{v:.1}") }
}
