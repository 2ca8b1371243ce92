//! SMTP for tests: an aiosmtpd sink to stand in for the next hop (`tests/support/sink.py`), a blocking client
//! ([`smtp_send`]) and a raw connection ([`SmtpConn`]) for protocol tests that send exact bytes.

use std::fs;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// The Python that has aiosmtpd (Debian's python3-aiosmtpd), whatever `python3` is first on PATH.
pub const SYSTEM_PYTHON: &str = "/usr/bin/python3";

/// The sink script.
pub const SINK_SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/support/sink.py");

/// How long a reply may take: sealpost signs and encrypts before it answers the end of DATA.
const REPLY_TIMEOUT: Duration = Duration::from_secs(120);

/// A missing prerequisite: fails under `SEALPOST_REQUIRE_PEERS=1`, else prints why the test skips.
pub fn unavailable<T>(test: &str, reason: &str) -> Option<T> {
    let reason = format!("{test}: {reason}");
    if std::env::var("SEALPOST_REQUIRE_PEERS").as_deref() == Ok("1") {
        panic!("{reason}, and SEALPOST_REQUIRE_PEERS=1");
    }
    eprintln!("SKIP {reason}");
    None
}

/// Why aiosmtpd cannot be used, if it cannot (checked once per test binary).
fn aiosmtpd_missing() -> Option<String> {
    static MISSING: OnceLock<Option<String>> = OnceLock::new();
    MISSING
        .get_or_init(|| match Command::new(SYSTEM_PYTHON).args(["-c", "import aiosmtpd"]).output() {
            Ok(o) if o.status.success() => None,
            Ok(o) => Some(format!(
                "{SYSTEM_PYTHON} cannot import aiosmtpd (install python3-aiosmtpd): {}",
                String::from_utf8_lossy(&o.stderr).trim()
            )),
            Err(e) => Some(format!("cannot run {SYSTEM_PYTHON}: {e}")),
        })
        .clone()
}

/// A port on 127.0.0.1 that was free a moment ago.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Waits until something accepts connections on `addr`; false on timeout.
pub fn wait_for_port(addr: SocketAddr, timeout: Duration) -> bool {
    let end = Instant::now() + timeout;
    while Instant::now() < end {
        if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

/// What the sink answers at the end of DATA (written to its `mode` file, read for every message).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Store the message, 250.
    Accept,
    /// 451, nothing stored.
    TempFail,
    /// 554, nothing stored.
    PermFail,
    /// Store the message, then close the connection without a reply: the next hop has the message but the
    /// client never hears so (the window where a retry duplicates).
    AcceptThenDrop,
    /// This reply (`"452 4.2.2 mailbox full"`); a 2xx stores the message.
    Reply(String),
}

/// A message the sink accepted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Received {
    /// The envelope sender (MAIL FROM), without the angle brackets.
    pub from: String,
    /// The envelope recipients (RCPT TO), in order.
    pub rcpts: Vec<String>,
    /// The data as received: CRLF line ends, dot-stuffing removed.
    pub data: Vec<u8>,
}

impl Received {
    /// The data as (lossy) text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.data).into_owned()
    }
}

/// `tests/support/sink.py` listening on 127.0.0.1; killed on drop, its directory removed unless the test
/// failed (then its path is printed).
pub struct Sink {
    dir: PathBuf,
    port: u16,
    child: Option<Child>,
}

impl Sink {
    /// Starts a sink on a free port; `None` (with a printed reason) when `/usr/bin/python3` lacks aiosmtpd,
    /// a panic then under `SEALPOST_REQUIRE_PEERS=1`.
    pub fn start(test: &str) -> Option<Sink> {
        if let Some(reason) = aiosmtpd_missing() {
            return unavailable(test, &reason);
        }
        static SINKS: AtomicUsize = AtomicUsize::new(0);
        let dir = super::scratch(&format!("{test}-sink{}", SINKS.fetch_add(1, Ordering::Relaxed)));
        let mut sink = Sink { dir, port: 0, child: None };
        // Port 0: the sink binds any free port and says which, so parallel tests never race for one.
        sink.spawn(0).unwrap_or_else(|e| panic!("{test}: {e}"));
        Some(sink)
    }

    fn spawn(&mut self, port: u16) -> Result<(), String> {
        let log = fs::OpenOptions::new().create(true).append(true).open(self.dir.join("sink.log")).unwrap();
        let mut child = Command::new(SYSTEM_PYTHON)
            .arg(SINK_SCRIPT)
            .arg("--port")
            .arg(port.to_string())
            .arg("--dir")
            .arg(&self.dir)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .map_err(|e| format!("cannot run {SYSTEM_PYTHON} {SINK_SCRIPT}: {e}"))?;
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let line = rx.recv_timeout(Duration::from_secs(20)).unwrap_or_default();
        match line.strip_prefix("ready ").and_then(|p| p.trim().parse::<u16>().ok()) {
            Some(p) => {
                self.port = p;
                self.child = Some(child);
                Ok(())
            }
            None => {
                let _ = child.kill();
                let _ = child.wait();
                Err(format!(
                    "the sink did not start (said {line:?}); {}:\n{}",
                    self.dir.join("sink.log").display(),
                    fs::read_to_string(self.dir.join("sink.log")).unwrap_or_default()
                ))
            }
        }
    }

    /// 127.0.0.1:port.
    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port))
    }

    /// The port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Where the messages are.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// True while the sink process runs.
    pub fn is_running(&mut self) -> bool {
        self.child.as_mut().is_some_and(|c| c.try_wait().ok().flatten().is_none())
    }

    /// Every message accepted so far, in the order it arrived (across restarts).
    pub fn messages(&self) -> Vec<Received> {
        let mut names: Vec<(u64, PathBuf)> = fs::read_dir(&self.dir)
            .unwrap()
            .filter_map(|e| {
                let path = e.ok()?.path();
                let stem = path.file_name()?.to_str()?.strip_suffix(".eml")?;
                let n = stem.parse().ok().filter(|_| stem.len() >= 6 && stem.bytes().all(|b| b.is_ascii_digit()))?;
                Some((n, path))
            })
            .collect();
        names.sort();
        names
            .into_iter()
            .map(|(_, eml)| {
                let data = fs::read(&eml).unwrap();
                let json = fs::read_to_string(eml.with_extension("json")).unwrap();
                let meta: serde_json::Value = serde_json::from_str(&json).unwrap();
                Received {
                    from: meta["from"].as_str().unwrap_or_default().to_string(),
                    rcpts: meta["rcpts"].as_array().unwrap().iter().map(|r| r.as_str().unwrap().to_string()).collect(),
                    data,
                }
            })
            .collect()
    }

    /// Waits until at least `n` messages arrived and returns them all; panics on timeout, with what did.
    pub fn wait_for(&self, n: usize, timeout: Duration) -> Vec<Received> {
        let end = Instant::now() + timeout;
        loop {
            let got = self.messages();
            if got.len() >= n {
                return got;
            }
            if Instant::now() >= end {
                panic!(
                    "the sink on port {} got {} of {n} messages in {timeout:?}; refused: {:?}",
                    self.port,
                    got.len(),
                    self.refused()
                );
            }
            std::thread::sleep(Duration::from_millis(25));
        }
    }

    /// The replies to the messages the sink refused (tempfail, permfail, or a non-2xx [`Mode::Reply`]).
    pub fn refused(&self) -> Vec<String> {
        fs::read_to_string(self.dir.join("refused.log"))
            .unwrap_or_default()
            .lines()
            .map(|l| {
                let v: serde_json::Value = serde_json::from_str(l).unwrap();
                v["reply"].as_str().unwrap_or_default().to_string()
            })
            .collect()
    }

    /// What to answer from the next message on.
    pub fn set_mode(&self, mode: Mode) {
        let text = match mode {
            Mode::Accept => "accept".to_string(),
            Mode::TempFail => "tempfail".to_string(),
            Mode::PermFail => "permfail".to_string(),
            Mode::AcceptThenDrop => "drop".to_string(),
            Mode::Reply(r) => {
                assert!(r.len() >= 3 && r.as_bytes()[..3].iter().all(u8::is_ascii_digit), "not a reply: {r:?}");
                r
            }
        };
        let tmp = self.dir.join("mode.tmp");
        fs::write(&tmp, text + "\n").unwrap();
        fs::rename(tmp, self.dir.join("mode")).unwrap();
    }

    /// Stops the sink (SIGTERM, then SIGKILL after 5 s): the next hop is down, its port refuses connections.
    pub fn stop(&mut self) {
        let Some(mut child) = self.child.take() else { return };
        if let Some(pid) = rustix::process::Pid::from_raw(child.id() as i32) {
            let _ = rustix::process::kill_process(pid, rustix::process::Signal::TERM);
        }
        let end = Instant::now() + Duration::from_secs(5);
        while Instant::now() < end {
            if let Ok(Some(status)) = child.try_wait() {
                assert!(status.success(), "the sink exited with {status} on SIGTERM; see {}", self.dir.display());
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = child.kill();
        let _ = child.wait();
        panic!("the sink on port {} ignored SIGTERM for 5 s", self.port);
    }

    /// Starts the sink again on the same port and directory (stopping it first if it runs); numbering
    /// continues, so [`Sink::messages`] keeps the order of arrival.
    pub fn restart(&mut self) {
        self.stop();
        let port = self.port;
        // The port was ours a moment ago; SO_REUSEADDR makes it bindable at once, but retry briefly in case.
        let end = Instant::now() + Duration::from_secs(10);
        loop {
            match self.spawn(port) {
                Ok(()) => return,
                Err(e) if Instant::now() >= end => panic!("cannot restart the sink on port {port}: {e}"),
                Err(_) => std::thread::sleep(Duration::from_millis(200)),
            }
        }
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        if std::thread::panicking() {
            eprintln!("sink files kept in {}", self.dir.display());
        } else {
            let _ = fs::remove_dir_all(&self.dir);
        }
    }
}

/// A blocking SMTP connection that sends exactly the bytes given; [`SmtpConn::connect`] does not read the
/// greeting (call [`SmtpConn::reply`]).
pub struct SmtpConn {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

impl SmtpConn {
    /// Connects (within 10 s); replies may then take up to two minutes each.
    pub fn connect(addr: impl ToSocketAddrs) -> Result<SmtpConn, String> {
        let addr = addr.to_socket_addrs().map_err(|e| e.to_string())?.next().ok_or("no address")?;
        let stream =
            TcpStream::connect_timeout(&addr, Duration::from_secs(10)).map_err(|e| format!("connect {addr}: {e}"))?;
        stream.set_read_timeout(Some(REPLY_TIMEOUT)).map_err(|e| e.to_string())?;
        stream.set_write_timeout(Some(REPLY_TIMEOUT)).map_err(|e| e.to_string())?;
        let writer = stream.try_clone().map_err(|e| e.to_string())?;
        Ok(SmtpConn { reader: BufReader::new(stream), writer })
    }

    /// Sets how long [`SmtpConn::reply`] waits.
    pub fn set_timeout(&self, timeout: Duration) {
        self.writer.set_read_timeout(Some(timeout)).unwrap();
    }

    /// Reads one reply, all its lines: the code and the texts joined by `\n`. Errors: the connection
    /// closed, a timeout, or a line that is not a reply.
    pub fn reply(&mut self) -> Result<(u16, String), String> {
        let mut texts = Vec::new();
        loop {
            let mut line = Vec::new();
            let n = (&mut self.reader).take(4096).read_until(b'\n', &mut line).map_err(|e| format!("read: {e}"))?;
            if n == 0 {
                return Err(if texts.is_empty() {
                    "connection closed without a reply".to_string()
                } else {
                    format!("connection closed inside a reply: {texts:?}")
                });
            }
            let line = String::from_utf8_lossy(&line);
            let line = line.trim_end_matches(['\r', '\n']);
            let code = line.get(..3).and_then(|c| c.parse::<u16>().ok()).filter(|c| (200..600).contains(c));
            let (Some(code), sep) = (code, line.as_bytes().get(3).copied()) else {
                return Err(format!("not an SMTP reply: {line:?}"));
            };
            texts.push(line.get(4..).unwrap_or("").to_string());
            match sep {
                Some(b'-') => continue,
                None | Some(b' ') => return Ok((code, texts.join("\n"))),
                _ => return Err(format!("not an SMTP reply: {line:?}")),
            }
        }
    }

    /// Sends these bytes as they are.
    pub fn send(&mut self, bytes: &[u8]) -> Result<(), String> {
        self.writer.write_all(bytes).and_then(|()| self.writer.flush()).map_err(|e| format!("write: {e}"))
    }

    /// Sends `line` and CRLF, then reads the reply.
    pub fn command(&mut self, line: &str) -> Result<(u16, String), String> {
        self.send(format!("{line}\r\n").as_bytes())?;
        self.reply()
    }

    /// Sends `line` and CRLF and wants a reply in `want` (e.g. `200..400`); else an error naming both.
    pub fn expect(&mut self, line: &str, want: std::ops::Range<u16>) -> Result<(u16, String), String> {
        let (code, text) = self.command(line)?;
        if want.contains(&code) { Ok((code, text)) } else { Err(format!("{line:?} was answered {code} {text}")) }
    }

    /// Closes the sending half (the server then sees end of file).
    pub fn shutdown_write(&self) {
        let _ = self.writer.shutdown(Shutdown::Write);
    }
}

/// The DATA payload for `data`: bare LF and bare CR line ends made CRLF, a final CRLF added if missing,
/// lines starting with `.` doubled (RFC 5321 4.5.2), and the terminating `.` line.
pub fn dot_stuff(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() + data.len() / 50 + 5);
    let mut at_line_start = true;
    let mut i = 0;
    while i < data.len() {
        let b = data[i];
        if at_line_start && b == b'.' {
            out.push(b'.');
        }
        match b {
            b'\r' | b'\n' => {
                out.extend_from_slice(b"\r\n");
                if b == b'\r' && data.get(i + 1) == Some(&b'\n') {
                    i += 1;
                }
                at_line_start = true;
            }
            _ => {
                out.push(b);
                at_line_start = false;
            }
        }
        i += 1;
    }
    if !at_line_start {
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b".\r\n");
    out
}

/// Sends one message: EHLO, MAIL FROM, RCPT TO each, DATA, the message (see [`dot_stuff`]), QUIT. Returns
/// the reply to the end of DATA, whatever it is; an error when anything before that is refused (any
/// reply other than 2xx, or 354 to DATA) or the connection fails.
pub fn smtp_send(addr: impl ToSocketAddrs, from: &str, rcpts: &[&str], data: &[u8]) -> Result<(u16, String), String> {
    let mut c = SmtpConn::connect(addr)?;
    let (code, text) = c.reply()?;
    if code != 220 {
        return Err(format!("greeting {code} {text}"));
    }
    c.expect("EHLO client.test", 250..251)?;
    c.expect(&format!("MAIL FROM:<{from}>"), 200..300)?;
    for r in rcpts {
        c.expect(&format!("RCPT TO:<{r}>"), 200..300)?;
    }
    c.expect("DATA", 354..355)?;
    c.send(&dot_stuff(data))?;
    let result = c.reply()?;
    let _ = c.command("QUIT");
    Ok(result)
}
