//! SMTP load generator and sink for the SMTP filter's load tests and benchmark (`benches/smtp_vs_gpg.sh`).
//!
//! ```text
//! smtp_load load --to 127.0.0.1:10025 --clients 50 --messages 10000 --size 36864 [--json]
//! smtp_load sink --listen 127.0.0.1:10026 [--json] [--keep 3 --keep-dir DIR]
//! ```
//!
//! `load` exits 0 when every message was accepted, 1 when some were not (the report says which), 2 on bad
//! arguments. `sink` serves until SIGTERM, SIGINT or (when standard input is a terminal, pipe or socket)
//! the end of standard input, then prints what it received.

#![allow(clippy::unwrap_used, clippy::expect_used)] // A benchmark tool: a broken runtime ends the run.

#[path = "../tests/common/smtp_load.rs"]
mod smtp_load;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::{Parser, Subcommand};

use smtp_load::{LoadOptions, SinkOptions, SinkStats};

#[derive(Parser)]
#[command(about = "SMTP load generator and sink")]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Send numbered messages to an SMTP server and report what became of each.
    Load {
        /// The server (host:port).
        #[arg(long)]
        to: SocketAddr,
        /// Concurrent connections.
        #[arg(long, default_value_t = 50)]
        clients: usize,
        /// Messages in all.
        #[arg(long, default_value_t = 10_000)]
        messages: u64,
        /// Body size in bytes.
        #[arg(long, default_value_t = 36 * 1024)]
        size: usize,
        /// Messages per connection, RSET between them (0: no limit).
        #[arg(long, default_value_t = 100)]
        per_connection: u64,
        /// Sequence number of the first message.
        #[arg(long, default_value_t = 1)]
        first_seq: u64,
        /// Envelope sender.
        #[arg(long, default_value = "alice@example.org")]
        from: String,
        /// Envelope recipient (repeat for several).
        #[arg(long = "rcpt", default_value = "bob@example.net")]
        rcpt: Vec<String>,
        /// Runtime threads of the generator.
        #[arg(long, default_value_t = 1)]
        threads: usize,
        /// Seconds to wait for the reply to the end of data.
        #[arg(long, default_value_t = 600)]
        data_timeout: u64,
        /// Start no message after this many seconds (0: no limit).
        #[arg(long, default_value_t = 0.0)]
        duration: f64,
        /// Print the report as JSON (with the sequence numbers of every outcome).
        #[arg(long)]
        json: bool,
    },
    /// Accept every message, count them, and print the counts when stopped.
    Sink {
        /// Where to listen (host:port).
        #[arg(long)]
        listen: String,
        /// Answer every Nth end of data with 451 (0: never).
        #[arg(long, default_value_t = 0)]
        tempfail_every: u64,
        /// Milliseconds to wait before answering the end of data.
        #[arg(long, default_value_t = 0)]
        delay_ms: u64,
        /// Write the first N messages received to --keep-dir as msg-K.eml.
        #[arg(long, default_value_t = 0)]
        keep: usize,
        /// Directory for --keep.
        #[arg(long, default_value = ".")]
        keep_dir: PathBuf,
        /// Print the counts as JSON (with the sequence numbers received).
        #[arg(long)]
        json: bool,
    },
}

fn main() -> ExitCode {
    match Cli::parse().cmd {
        Cmd::Load {
            to,
            clients,
            messages,
            size,
            per_connection,
            first_seq,
            from,
            rcpt,
            threads,
            data_timeout,
            duration,
            json,
        } => {
            let opts = LoadOptions {
                clients,
                messages,
                size,
                per_connection,
                first_seq,
                from,
                to: rcpt,
                threads,
                data_timeout: Duration::from_secs(data_timeout),
                max_duration: (duration > 0.0).then(|| Duration::from_secs_f64(duration)),
                ..LoadOptions::new(to)
            };
            let report = smtp_load::run_load(&opts);
            if json {
                println!("{}", report.to_json());
            } else {
                print!("{}", report.summary());
            }
            if report.all_accepted() { ExitCode::SUCCESS } else { ExitCode::FAILURE }
        }
        Cmd::Sink { listen, tempfail_every, delay_ms, keep, keep_dir, json } => {
            let opts =
                SinkOptions { tempfail_every, data_delay: Duration::from_millis(delay_ms), keep, ..Default::default() };
            match sink(&listen, opts, json, &keep_dir) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("smtp_load sink: {e}");
                    ExitCode::from(2)
                }
            }
        }
    }
}

fn sink(listen: &str, opts: SinkOptions, json: bool, keep_dir: &std::path::Path) -> std::io::Result<()> {
    // One thread: the sink must stay cheap next to the filter it measures, and one core keeps up easily.
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let stats = Arc::new(SinkStats::default());
    rt.block_on(async {
        let listener = tokio::net::TcpListener::bind(listen).await?;
        eprintln!("smtp_load sink: listening on {}", listener.local_addr()?);
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        let stdin_closed = watch_stdin();
        tokio::select! {
            _ = smtp_load::serve_sink(listener, Arc::new(opts), stats.clone()) => {}
            _ = term.recv() => {}
            _ = tokio::signal::ctrl_c() => {}
            _ = stdin_closed => {}
        }
        Ok::<(), std::io::Error>(())
    })?;
    let snap = stats.snapshot();
    for (i, m) in snap.kept.iter().enumerate() {
        std::fs::write(keep_dir.join(format!("msg-{}.eml", i + 1)), m)?;
    }
    if json {
        println!("{}", snap.to_json());
    } else {
        println!("{}", snap.summary());
    }
    Ok(())
}

/// Resolves when standard input ends, if it is a terminal, a pipe or a socket; never otherwise (a script's
/// background job reads /dev/null, which would end at once).
fn watch_stdin() -> tokio::sync::oneshot::Receiver<()> {
    use std::io::{IsTerminal, Read};
    use std::os::unix::fs::FileTypeExt;
    let (tx, rx) = tokio::sync::oneshot::channel();
    let watch = std::io::stdin().is_terminal()
        || std::fs::metadata("/proc/self/fd/0").is_ok_and(|m| m.file_type().is_fifo() || m.file_type().is_socket());
    if watch {
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            let mut stdin = std::io::stdin();
            while matches!(stdin.read(&mut buf), Ok(n) if n > 0) {}
            let _ = tx.send(());
        });
    } else {
        std::mem::forget(tx); // Keep the channel open for good.
    }
    rx
}

#[cfg(test)]
mod tests {
    use super::smtp_load::*;

    #[test]
    fn bodies_have_the_size_asked_and_are_stuffed() {
        for size in [0, 1, 2, 3, 77, 78, 79, 80, 1000, 36 * 1024] {
            let b = stuffed_body(size, 3);
            let unstuffed: Vec<u8> = b
                .split_inclusive(|&c| c == b'\n')
                .flat_map(|l| if l.first() == Some(&b'.') { &l[1..] } else { l })
                .copied()
                .collect();
            assert!(unstuffed.len() == size || (size == 1 && unstuffed.len() == 2), "{size}: {}", unstuffed.len());
            assert!(b.is_empty() || b.ends_with(b"\r\n"));
            assert!(b.split(|&c| c == b'\n').all(|l| l.len() <= 79));
        }
    }

    #[test]
    fn every_message_reaches_the_sink_once_and_failures_are_reported_without_retry() {
        let sink =
            Sink::start("127.0.0.1:0", SinkOptions { tempfail_every: 7, keep: 1, ..Default::default() }).unwrap();
        let opts =
            LoadOptions { clients: 5, messages: 200, size: 5000, per_connection: 9, ..LoadOptions::new(sink.addr()) };
        let report = run_load(&opts);
        let snap = sink.stop();
        assert_eq!(report.results.len(), 200);
        assert_eq!(report.accepted.len() + report.tempfail.len(), 200, "{}", report.summary());
        assert_eq!(report.tempfail.len() as u64, snap.tempfailed);
        assert_eq!(report.accepted, snap.seqs);
        assert!(snap.duplicates.is_empty() && snap.without_seq == 0 && snap.encrypted == 0);
        let kept = String::from_utf8(snap.kept[0].clone()).unwrap();
        assert!(kept.contains("\r\n.") && !kept.contains("\r\n.."), "dot-stuffing undone");
        assert!(report.p50.is_some() && report.p99 >= report.p50);

        // Nobody listening: every message is a connection error, none is retried.
        let gone = LoadOptions { clients: 3, messages: 10, ..LoadOptions::new(opts.target) };
        let report = run_load(&gone);
        assert_eq!(report.connection_error, (1..=10).collect::<Vec<_>>());
    }

    #[test]
    fn a_refusing_greeting_is_a_permanent_failure_of_each_message_without_retry() {
        use std::io::Write;
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        std::thread::spawn(move || {
            for mut s in listener.incoming().flatten() {
                let _ = s.write_all(b"554 5.3.2 go away\r\n");
            }
        });
        let report = run_load(&LoadOptions { clients: 2, messages: 6, ..LoadOptions::new(addr) });
        assert_eq!(report.permfail, (1..=6).collect::<Vec<_>>(), "{}", report.summary());
        assert_eq!(report.connections, 6);
        assert!(report.results.iter().all(|r| r.stage == Stage::Greeting && r.reply.contains("go away")));
    }
}
