//! The throughput measurement behind `sealpost bench`: every cipher and mode (encrypt and decrypt apart),
//! every digest, RSA at 2048/3072/4096 bits, every compressor, at several buffer sizes, optionally beside
//! `openssl speed` in the same run.
//!
//! What is timed matches what `openssl speed -evp` times, so the ratios are fair:
//! - ciphers: one keyed context, the buffer encrypted (or decrypted) in place again and again, the chain
//!   continuing across calls (OpenSSL: `EVP_EncryptUpdate` on the same context); AES-GCM: a whole
//!   seal or open per buffer, tag included (slightly more work than OpenSSL's update-only loop);
//! - digests: a whole hash (init, update, final) per buffer, as `EVP_Digest`;
//! - RSA: one PKCS #1 v1.5 operation on a SHA-256 digest or a 32-byte session key; OpenSSL 3.0's
//!   `speed rsaN` reports sign and verify only;
//! - DSA and ElGamal (2048 bits, fixed keys): one signature or verification over a SHA-256 digest, one
//!   encryption or session-key decryption of a 35-byte OpenPGP session-key block; no OpenSSL row
//!   (`benches/legacy_pgp_vs_gpg.sh` compares them with gpg);
//! - compression: our own only (OpenSSL has no row), in uncompressed bytes per second.
//!
//! MB means 10^6 bytes.

pub mod openssl;
pub mod plot;
mod rows;

use std::time::{Duration, Instant};

use serde::Serialize;

pub use rows::{CipherRowMode, Kind, RowSpec, all_rows};

use crate::core::CoreError;

/// Settings for one run.
#[derive(Clone, Debug)]
pub struct Settings {
    /// Row names or `prefix*` patterns; empty means all rows.
    pub only: Vec<String>,
    /// Seconds of measurement per row and size.
    pub seconds: f64,
    /// Buffer sizes (ignored by the public-key rows: RSA, DSA, ElGamal).
    pub sizes: Vec<usize>,
    /// Run `openssl speed` beside each row.
    pub compare: bool,
}

/// One measured row, as `--json` writes it.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Row {
    /// Row name (`aes128-cbc-encrypt`, `sha256`, `rsa2048-sign`, `zlib-compress`).
    pub name: String,
    /// Buffer size in bytes (RSA rows: the size of the digest or session key processed).
    pub bytes: usize,
    /// Our throughput, 10^6 bytes per second (not for RSA rows).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mb_per_s: Option<f64>,
    /// Our operations per second (RSA, DSA and ElGamal rows).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ops_per_s: Option<f64>,
    /// OpenSSL's throughput, with `--compare`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub openssl_mb_per_s: Option<f64>,
    /// OpenSSL's operations per second, with `--compare` (RSA sign and verify).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub openssl_ops_per_s: Option<f64>,
    /// Why there is no OpenSSL figure, when `--compare` was asked for and none could be had.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub openssl_note: Option<String>,
}

impl Row {
    /// Our figure (MB/s or ops/s).
    pub fn ours(&self) -> f64 {
        self.mb_per_s.or(self.ops_per_s).unwrap_or(0.0)
    }

    /// OpenSSL's figure, if any.
    pub fn theirs(&self) -> Option<f64> {
        self.openssl_mb_per_s.or(self.openssl_ops_per_s)
    }

    /// Ours divided by OpenSSL's.
    pub fn ratio(&self) -> Option<f64> {
        self.theirs().filter(|t| *t > 0.0).map(|t| self.ours() / t)
    }
}

/// What went wrong with a run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BenchError {
    /// `--only` named no row.
    #[error("no benchmark row matches {0:?} (see `sealpost bench --help` for the names)")]
    NoRows(Vec<String>),
    /// A setting is out of range.
    #[error("{0}")]
    Settings(String),
    /// A primitive failed while being measured (a bug).
    #[error(transparent)]
    Core(#[from] CoreError),
}

/// The rows and sizes a run will measure, in order: `(row, size)`.
pub fn plan(settings: &Settings) -> Result<Vec<(RowSpec, usize)>, BenchError> {
    if !(settings.seconds > 0.0 && settings.seconds <= 600.0) {
        return Err(BenchError::Settings(format!("--seconds {} is not between 0 and 600", settings.seconds)));
    }
    if settings.sizes.is_empty() || settings.sizes.iter().any(|&s| s == 0 || s > 256 << 20) {
        return Err(BenchError::Settings("--sizes must be between 1 byte and 256 MiB".into()));
    }
    let rows: Vec<RowSpec> = all_rows().into_iter().filter(|r| selected(&settings.only, &r.name())).collect();
    if rows.is_empty() {
        return Err(BenchError::NoRows(settings.only.clone()));
    }
    let mut plan = Vec::new();
    for row in rows {
        if row.per_operation() {
            plan.push((row, 32));
        } else {
            for &size in &settings.sizes {
                plan.push((row.clone(), size));
            }
        }
    }
    Ok(plan)
}

fn selected(only: &[String], name: &str) -> bool {
    only.is_empty()
        || only.iter().any(|pat| match pat.strip_suffix('*') {
            Some(prefix) => name.starts_with(prefix),
            None => pat == name,
        })
}

/// Measures one planned row at one size (and OpenSSL's figure when asked).
pub fn measure(row: &RowSpec, size: usize, settings: &Settings) -> Result<Row, BenchError> {
    let budget = Duration::from_secs_f64(settings.seconds);
    let mut op = row.prepare(size)?;
    let per_second = time(budget, &mut *op)?;
    let per_op = row.per_operation();
    let mut out = Row {
        name: row.name(),
        bytes: size,
        mb_per_s: (!per_op).then(|| per_second * size as f64 / 1e6),
        ops_per_s: per_op.then_some(per_second),
        openssl_mb_per_s: None,
        openssl_ops_per_s: None,
        openssl_note: None,
    };
    if settings.compare {
        match row.openssl_query() {
            None => out.openssl_note = Some("OpenSSL has no such row".into()),
            Some(query) => {
                let secs = settings.seconds.ceil().max(1.0) as u32;
                match openssl_cached(&query, size, secs) {
                    Ok(openssl::Figure::BytesPerSecond(b)) => out.openssl_mb_per_s = Some(b / 1e6),
                    Ok(openssl::Figure::Rsa { sign_per_s, verify_per_s }) => {
                        out.openssl_ops_per_s = match row.kind {
                            Kind::Rsa { op: rows::RsaOp::Sign, .. } => Some(sign_per_s),
                            Kind::Rsa { op: rows::RsaOp::Verify, .. } => Some(verify_per_s),
                            _ => None,
                        }
                    }
                    Err(err) => out.openssl_note = Some(err.to_string()),
                }
            }
        }
    }
    Ok(out)
}

/// `openssl speed rsaN` measures signing and verification in one run; the sign and verify rows share it.
fn openssl_cached(query: &openssl::Query, size: usize, secs: u32) -> Result<openssl::Figure, openssl::OpensslError> {
    use std::collections::HashMap;
    use std::sync::{Mutex, OnceLock};
    type Key = (String, usize, u32);
    static CACHE: OnceLock<Mutex<HashMap<Key, openssl::Figure>>> = OnceLock::new();
    let key = (format!("{query:?}"), size, secs);
    let cache = CACHE.get_or_init(|| Mutex::new(HashMap::new()));
    if let Some(f) = cache.lock().ok().and_then(|c| c.get(&key).copied()) {
        return Ok(f);
    }
    let figure = openssl::measure(query, size, secs)?;
    if let Ok(mut c) = cache.lock() {
        c.insert(key, figure);
    }
    Ok(figure)
}

/// Runs `op` repeatedly for about `budget` and returns operations per second. Calls are batched so the
/// clock is read rarely; the batch grows until one batch takes a few milliseconds.
fn time(budget: Duration, op: &mut dyn FnMut() -> Result<(), CoreError>) -> Result<f64, CoreError> {
    // Warm-up: caches, branch predictors, lazily parsed keys.
    let warm = Instant::now();
    while warm.elapsed() < budget / 20 {
        op()?;
    }
    let mut batch: u64 = 1;
    let mut done: u64 = 0;
    let start = Instant::now();
    loop {
        let t = Instant::now();
        for _ in 0..batch {
            op()?;
        }
        done += batch;
        if t.elapsed() < Duration::from_millis(5) {
            batch = batch.saturating_mul(2);
        }
        let elapsed = start.elapsed();
        if elapsed >= budget {
            return Ok(done as f64 / elapsed.as_secs_f64());
        }
    }
}

/// Formats rows as the table `sealpost bench` prints.
pub fn table(rows: &[Row], compare: bool) -> String {
    let mut out = String::new();
    let header = if compare {
        format!("{:<24} {:>9} {:>14} {:>14} {:>8}\n", "row", "bytes", "sealpost", "openssl", "ratio")
    } else {
        format!("{:<24} {:>9} {:>14}\n", "row", "bytes", "sealpost")
    };
    out.push_str(&header);
    out.push_str(&"-".repeat(header.len().saturating_sub(1)));
    out.push('\n');
    for r in rows {
        let unit = if r.ops_per_s.is_some() { "op/s" } else { "MB/s" };
        let ours = format!("{:.1} {unit}", r.ours());
        if compare {
            let theirs = r.theirs().map(|t| format!("{t:.1} {unit}")).unwrap_or_else(|| "-".into());
            let ratio = r.ratio().map(|x| format!("{x:.2}x")).unwrap_or_else(|| "-".into());
            out.push_str(&format!("{:<24} {:>9} {:>14} {:>14} {:>8}\n", r.name, r.bytes, ours, theirs, ratio));
        } else {
            out.push_str(&format!("{:<24} {:>9} {:>14}\n", r.name, r.bytes, ours));
        }
    }
    let notes: Vec<String> = rows
        .iter()
        .filter_map(|r| r.openssl_note.as_ref().map(|n| format!("{} ({} B): {n}", r.name, r.bytes)))
        .collect();
    if compare && !notes.is_empty() {
        out.push_str("\nno OpenSSL figure:\n");
        let mut seen = std::collections::BTreeSet::new();
        for n in notes {
            let key = n.split_once(':').map(|(a, _)| a.split(' ').next().unwrap_or("").to_string()).unwrap_or_default();
            if seen.insert(key) {
                out.push_str(&format!("  {n}\n"));
            }
        }
    }
    out
}

/// The bars for `--plot`: MB/s rows at 16 KiB when measured, else at the largest size measured.
pub fn bars(rows: &[Row]) -> Vec<plot::Bar> {
    let sizes: Vec<usize> = rows.iter().filter(|r| r.mb_per_s.is_some()).map(|r| r.bytes).collect();
    let size = if sizes.contains(&16384) { 16384 } else { sizes.iter().copied().max().unwrap_or(0) };
    rows.iter()
        .filter(|r| r.mb_per_s.is_some() && r.bytes == size)
        .map(|r| plot::Bar { label: r.name.clone(), ours: r.ours(), openssl: r.theirs() })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(only: &[&str]) -> Settings {
        Settings {
            only: only.iter().map(|s| s.to_string()).collect(),
            seconds: 0.05,
            sizes: vec![64, 1024],
            compare: false,
        }
    }

    /// The row names are exactly the ones CONTRACT.md lists.
    #[test]
    fn row_names_follow_the_contract() {
        let names: Vec<String> = all_rows().iter().map(RowSpec::name).collect();
        for cipher in ["idea", "des", "3des", "cast5", "aes128", "aes192", "aes256"] {
            for mode in ["cbc", "cfb"] {
                for dir in ["encrypt", "decrypt"] {
                    assert!(names.contains(&format!("{cipher}-{mode}-{dir}")), "{cipher}-{mode}-{dir}");
                }
            }
        }
        for n in [
            "aes128-gcm-encrypt",
            "aes256-gcm-decrypt",
            "md5",
            "sha1",
            "sha224",
            "sha256",
            "sha384",
            "sha512",
            "rsa2048-sign",
            "rsa3072-verify",
            "rsa4096-encrypt",
            "rsa2048-decrypt",
            "elg2048-encrypt",
            "elg2048-decrypt",
            "dsa2048-sign",
            "dsa2048-verify",
            "deflate-compress",
            "zlib-decompress",
            "bzip2-compress",
        ] {
            assert!(names.contains(&n.to_string()), "{n}");
        }
        let mut sorted = names.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted.len(), names.len(), "duplicate row names");
    }

    #[test]
    fn selection_and_plan() {
        let p = plan(&settings(&["aes*"])).unwrap();
        assert!(p.iter().all(|(r, _)| r.name().starts_with("aes")));
        assert_eq!(p.len(), (6 * 2 + 4) * 2);
        assert!(matches!(plan(&settings(&["nonesuch"])), Err(BenchError::NoRows(_))));
        let bad = Settings { seconds: 0.0, ..settings(&[]) };
        assert!(plan(&bad).is_err());
    }

    /// Every row runs and gives a positive figure (a short measurement of each, at 64 bytes).
    #[test]
    fn every_row_measures() {
        let s = Settings { seconds: 0.01, sizes: vec![64], ..settings(&[]) };
        for (row, size) in plan(&s).unwrap() {
            if matches!(row.kind, Kind::Rsa { bits: 3072 | 4096, .. }) {
                continue; // key generation is slow in debug builds; 2048 covers the code path
            }
            let r = measure(&row, size, &s).unwrap();
            assert!(r.ours() > 0.0, "{}", r.name);
        }
    }

    #[test]
    fn table_and_bars() {
        let rows = vec![
            Row {
                name: "md5".into(),
                bytes: 16384,
                mb_per_s: Some(700.0),
                ops_per_s: None,
                openssl_mb_per_s: Some(680.0),
                openssl_ops_per_s: None,
                openssl_note: None,
            },
            Row {
                name: "rsa2048-sign".into(),
                bytes: 32,
                mb_per_s: None,
                ops_per_s: Some(1500.0),
                openssl_mb_per_s: None,
                openssl_ops_per_s: Some(1400.0),
                openssl_note: None,
            },
        ];
        let t = table(&rows, true);
        assert!(t.contains("1.03x"), "{t}");
        assert!(t.contains("1500.0 op/s"), "{t}");
        let b = bars(&rows);
        assert_eq!(b.len(), 1);
        assert_eq!(b[0].label, "md5");
        let json = serde_json::to_value(&rows).unwrap();
        assert_eq!(json[0]["mb_per_s"], 700.0);
        assert!(json[0].get("ops_per_s").is_none());
        assert_eq!(json[1]["ops_per_s"], 1500.0);
    }
}
