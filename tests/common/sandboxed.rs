//! Running the `sealpost` binary on hostile or unusual input, as the bad-input and vector tests do: stdout
//! and stderr in files (nothing can block on a pipe), killed after a timeout, peak memory sampled, and what it
//! left behind (the `-o` file, temporary files, the verdict JSON) collected.

use std::ffi::OsStr;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// What one run did.
pub struct Run {
    /// The command line, for messages.
    pub line: String,
    /// `None`: killed by a signal (or by the timeout).
    pub code: Option<i32>,
    pub stderr: String,
    /// The `-o` file, if it exists and is under 64 MiB.
    pub output: Option<Vec<u8>>,
    /// Whether the `-o` file exists (checked without reading a huge one).
    pub output_exists: bool,
    /// The `--verdict-json` file, parsed, if there is one.
    pub verdict: Option<serde_json::Value>,
    /// Peak resident memory, KiB.
    pub peak_kib: u64,
    pub elapsed: Duration,
}

/// The peak resident memory of `pid`, once it runs sealpost: between spawn and exec the child shares the
/// test process's memory, and its VmHWM would be the test's own.
fn vm_hwm_kib(pid: u32) -> Option<u64> {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    if status.lines().next()? != "Name:\tsealpost" {
        return None;
    }
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Runs `sealpost args` in `dir` (also its TMPDIR), killing it after `timeout`. `output` is the `-o` path the
/// arguments name and `verdict` the `--verdict-json` path, if any; both are read, and left in place.
pub fn sealpost<S: AsRef<OsStr>>(
    dir: &Path,
    args: &[S],
    output: Option<&Path>,
    verdict: Option<&Path>,
    timeout: Duration,
) -> Run {
    static SEQ: AtomicUsize = AtomicUsize::new(0);
    let n = SEQ.fetch_add(1, Ordering::Relaxed);
    let err_path = dir.join(format!("run{n}.stderr"));
    let shown: Vec<String> = args.iter().map(|a| a.as_ref().to_string_lossy().into_owned()).collect();
    let line = format!("sealpost {}", shown.join(" "));
    let start = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_sealpost"))
        .args(args)
        .current_dir(dir)
        .env("TMPDIR", dir)
        .env_remove("RUST_BACKTRACE")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(fs::File::create(&err_path).unwrap())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {line}: {e}"));
    let mut peak = 0;
    let mut nap = Duration::from_micros(200);
    let status = loop {
        if let Some(kib) = vm_hwm_kib(child.id()) {
            peak = peak.max(kib);
        }
        if let Some(st) = child.try_wait().unwrap() {
            break Some(st);
        }
        if start.elapsed() > timeout {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(nap);
        nap = (nap * 2).min(Duration::from_millis(2));
    };
    let elapsed = start.elapsed();
    let mut stderr = fs::read_to_string(&err_path).unwrap_or_default();
    let _ = fs::remove_file(&err_path);
    if status.is_none() {
        stderr.push_str(&format!("\n[killed after {timeout:?}]"));
    }
    let output_exists = output.is_some_and(|p| p.exists());
    let small = output.and_then(|p| fs::metadata(p).ok()).is_some_and(|m| m.len() < (64 << 20));
    Run {
        line,
        code: status.and_then(|s| s.code()),
        stderr,
        output: if small { output.and_then(|p| fs::read(p).ok()) } else { None },
        output_exists,
        verdict: verdict.and_then(|p| fs::read(p).ok()).and_then(|b| serde_json::from_slice(&b).ok()),
        peak_kib: peak,
        elapsed,
    }
}

/// Removes the `-o` file and returns the temporary `.OUT.sealpost-*` files left beside it (removing them too):
/// a failed command must leave none.
pub fn clean_output(output: &Path) -> Vec<PathBuf> {
    let _ = fs::remove_file(output);
    let temp = format!(".{}.sealpost-", output.file_name().unwrap().to_string_lossy());
    let mut leftovers = Vec::new();
    for e in fs::read_dir(output.parent().unwrap()).unwrap().flatten() {
        if e.file_name().to_string_lossy().starts_with(&temp) {
            let _ = fs::remove_file(e.path());
            leftovers.push(e.path());
        }
    }
    leftovers
}
