//! The POP3 proxy: a listener ([`crate::filter::listener`]) and per client a session with one upstream
//! connection (plain, POP3S or STLS: [`crate::filter::tls::Connector::pop3`]). Commands are read one at a
//! time and passed on; their replies come back as they came, except:
//!
//! - RETR of a message that is OpenPGP, S/MIME or PEM (or carries a verification header posing as ours) is
//!   answered with the message opened with the logged-in user's keys ([`crate::filter::opened`]), dot-stuffed
//!   again, its size in the status line; any other message passes byte for byte;
//! - TOP is asked of the server as RETR and answered from the message the client would get from RETR;
//! - LIST and STAT give the sizes of the messages as RETR returns them: at the first of them in a session
//!   the proxy reads every message once (the opened ones are kept, see the cache) to know their sizes;
//! - STLS from the client is refused (the proxy would be blind after it) and not offered in CAPA.
//!
//! The user is the name of USER (after PASS was accepted), APOP, or AUTH PLAIN (its authorization identity
//! when given, else its authentication identity), counted once the server said +OK.

use std::collections::HashMap;
use std::sync::Arc;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, ReadHalf, WriteHalf};
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use zeroize::Zeroizing;

use super::wire::{self, Reply};
use crate::filter::FilterError;
use crate::filter::config::Config;
use crate::filter::imap::wire::read_line;
use crate::filter::listener::{Proxy, ProxyKind, serve_proxy};
use crate::filter::opened::{Opener, Shown};
use crate::filter::tls::BoxStream;
use crate::keystore::Keystore;

/// Longest line read from either side (RFC 2449 allows 512 octets for responses; be generous).
const MAX_LINE: usize = 64 << 10;

/// Runs the proxy until SIGTERM or SIGINT; then lets sessions end for `shutdown_seconds`.
pub fn run(config: Config, ks: Keystore, listen: Option<&str>, upstream: Option<&str>) -> Result<(), FilterError> {
    let kind = ProxyKind {
        name: "pop3",
        default_listen: "127.0.0.1:1110",
        default_upstream: "127.0.0.1:110",
        refusal: b"-ERR [SYS/TEMP] too many connections, try again later\r\n",
    };
    serve_proxy(kind, &config, &config.pop3, ks, listen, upstream, |client, shared| async move {
        session(client, &shared).await
    })
}

async fn session(client: TcpStream, shared: &Proxy) -> std::io::Result<()> {
    let (server, greeting) = match shared.connector.pop3().await {
        Ok(v) => v,
        Err(e) => {
            let mut client = client;
            let _ = client.write_all(b"-ERR [SYS/TEMP] the upstream server cannot be reached\r\n").await;
            return Err(std::io::Error::other(e.to_string()));
        }
    };
    let (cr, cw) = client.into_split();
    let (sr, sw) = tokio::io::split(server);
    let mut s = Session {
        shared,
        cr: BufReader::new(cr),
        cw,
        sr: BufReader::with_capacity(MAX_LINE, sr),
        sw,
        user: None,
        pending: None,
        sizes: HashMap::new(),
        scanned: None,
        ahead: None,
        last_retr: None,
    };
    s.cw.write_all(&greeting).await?;
    s.run().await
}

struct Session<'a> {
    shared: &'a Proxy,
    cr: BufReader<OwnedReadHalf>,
    cw: OwnedWriteHalf,
    sr: BufReader<ReadHalf<BoxStream>>,
    sw: WriteHalf<BoxStream>,
    /// The logged-in user, once the server accepted the login.
    user: Option<String>,
    /// The user of a login the server has not answered yet.
    pending: Option<String>,
    /// Sizes of opened messages (message number to octets), as RETR returns them.
    sizes: HashMap<u32, usize>,
    /// Every message has been read once for its size: the server's LIST then (number to stored size).
    scanned: Option<HashMap<u32, usize>>,
    /// The next message, read ahead after a RETR (see [`Session::read_ahead`]).
    ahead: Option<(u32, Prepared)>,
    /// The message the last RETR asked for.
    last_retr: Option<u32>,
}

/// A message read whole from the server and made ready for the client.
enum Prepared {
    /// To be shown as stored: the server's reply, status line and terminating line included.
    AsStored(Vec<u8>),
    /// Opened: the message the client is shown, with CRLF line ends (its size is what LIST gives).
    Opened(Zeroizing<Vec<u8>>),
}

/// A multi-line response read: held whole (after its status line), or too large (then already written to
/// the client).
enum Lines {
    Held(Vec<u8>),
    Streamed,
}

impl Session<'_> {
    async fn run(&mut self) -> std::io::Result<()> {
        loop {
            let Some(line) = self.client_line().await? else { return Ok(()) };
            let text = String::from_utf8_lossy(&line).into_owned();
            let words: Vec<&str> = text.split_ascii_whitespace().collect();
            let Some(first) = words.first() else {
                self.cw.write_all(b"-ERR empty command\r\n").await?;
                continue;
            };
            let cmd = first.to_ascii_uppercase();
            let args = &words[1..];
            if cmd != "RETR" && cmd != "TOP" {
                // Whatever the command does (DELE, RSET), a message read ahead is not what it would now read.
                self.ahead = None;
            }
            let number = |i: usize| args.get(i).and_then(|a| a.parse::<u32>().ok());
            match cmd.as_str() {
                "STLS" => self.cw.write_all(b"-ERR STLS is not offered by this proxy\r\n").await?,
                "USER" | "APOP" => {
                    self.pending = args.first().map(|u| u.to_ascii_lowercase());
                    let status = self.single(&line).await?;
                    if cmd == "APOP" && status.starts_with(b"+OK") {
                        self.user = self.pending.take();
                    }
                }
                "PASS" => {
                    let status = self.single(&line).await?;
                    if status.starts_with(b"+OK") {
                        self.user = self.pending.take();
                    }
                }
                "AUTH" if !args.is_empty() => self.sasl(&line, args).await?,
                "RETR" if args.len() == 1 && number(0).is_some() => {
                    self.retr(number(0).unwrap_or_default(), None).await?;
                }
                "TOP" if args.len() == 2 && number(0).is_some() && number(1).is_some() => {
                    self.retr(number(0).unwrap_or_default(), number(1).map(|k| k as usize)).await?;
                }
                "STAT" if args.is_empty() => self.stat().await?,
                "LIST" => self.list(args.first().and_then(|a| a.parse().ok()), &line).await?,
                "QUIT" => {
                    self.single(&line).await?;
                    return Ok(());
                }
                _ => match wire::reply_of(&cmd, args.len()) {
                    Reply::Single => {
                        self.single(&line).await?;
                    }
                    Reply::Multi => {
                        self.sw.write_all(&line).await?;
                        self.sw.flush().await?;
                        let status = self.status_line().await?;
                        let hide_stls = cmd == "CAPA";
                        self.cw.write_all(&status).await?;
                        if status.starts_with(b"+OK") {
                            self.relay_lines(hide_stls).await?;
                        }
                    }
                    Reply::Sasl => self.sasl(&line, args).await?,
                },
            }
            self.cw.flush().await?;
        }
    }

    /// The client's next line. Meanwhile the server has nothing to say: when it closes the connection (or
    /// speaks out of turn) the session ends at once, not at the client's next command.
    async fn client_line(&mut self) -> std::io::Result<Option<Vec<u8>>> {
        let mut line = Vec::new();
        let read = async {
            tokio::select! {
                read = read_line(&mut self.cr, &mut line, MAX_LINE) => read,
                server = self.sr.fill_buf() => Err(match server {
                    Ok([]) => std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "the server closed the connection"),
                    Ok(_) => std::io::Error::other("the server sent a reply to no command"),
                    Err(e) => e,
                }),
            }
        };
        let read = tokio::time::timeout(self.shared.idle, read).await;
        match read {
            Ok(Ok(true)) => Ok(Some(line)),
            Ok(Ok(false)) => Ok(None),
            Ok(Err(e)) => Err(e),
            Err(_) => {
                let _ = self.cw.write_all(b"-ERR idle for too long\r\n").await;
                Err(std::io::Error::new(std::io::ErrorKind::TimedOut, "the client was idle for too long"))
            }
        }
    }

    async fn server_line(&mut self) -> std::io::Result<Vec<u8>> {
        let mut line = Vec::new();
        match tokio::time::timeout(self.shared.idle, read_line(&mut self.sr, &mut line, MAX_LINE)).await {
            Ok(Ok(true)) if line.ends_with(b"\n") => Ok(line),
            Ok(Ok(_)) => {
                Err(std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "the server closed the connection"))
            }
            Ok(Err(e)) => Err(e),
            Err(_) => Err(std::io::Error::new(std::io::ErrorKind::TimedOut, "the server stopped answering")),
        }
    }

    /// The server's status line: `+OK` or `-ERR`. Anything else ends the session: what follows it (lines
    /// of a message or not) cannot be known, and must not reach the client as the answer to a command.
    async fn status_line(&mut self) -> std::io::Result<Vec<u8>> {
        let status = self.server_line().await?;
        if !(status.starts_with(b"+OK") || status.starts_with(b"-ERR")) {
            return Err(std::io::Error::other("the server's reply is not +OK or -ERR"));
        }
        Ok(status)
    }

    /// Sends a command, relays its one status line; returns it.
    async fn single(&mut self, command: &[u8]) -> std::io::Result<Vec<u8>> {
        self.sw.write_all(command).await?;
        self.sw.flush().await?;
        let status = self.status_line().await?;
        self.cw.write_all(&status).await?;
        Ok(status)
    }

    /// Relays the lines of a multi-line response up to and including its terminating line.
    async fn relay_lines(&mut self, hide_stls: bool) -> std::io::Result<()> {
        loop {
            let line = self.server_line().await?;
            let end = line == b".\r\n" || line == b".\n";
            if !(hide_stls && line.trim_ascii().eq_ignore_ascii_case(b"STLS")) {
                self.cw.write_all(&line).await?;
            }
            if end {
                return Ok(());
            }
        }
    }

    /// Reads the lines of a multi-line response after its status line, held (the status line first) while
    /// they stay within the bound; beyond it, what was held and the rest go to the client as they come.
    async fn read_lines(&mut self, status: &[u8]) -> std::io::Result<Lines> {
        let mut held = Vec::with_capacity(MAX_LINE);
        held.extend_from_slice(status);
        if self.append_reply(&mut held, status.len()).await? {
            return Ok(Lines::Held(held));
        }
        self.cw.write_all(&held).await?;
        loop {
            let line = self.server_line().await?;
            self.cw.write_all(&line).await?;
            if line == b".\r\n" || line == b".\n" {
                return Ok(Lines::Streamed);
            }
        }
    }

    /// Reads the lines of a multi-line response into `held` after its first `skip` octets, under one
    /// deadline: `true` with the terminating line read (and nothing after it), `false` once they are over
    /// the bound (the rest still to be read).
    ///
    /// The reply is taken as it arrives, in the reader's chunks, and only lines beginning with a dot are
    /// looked at ([`wire::reply_end`]): a step per line (and a timer and buffer per line before that) was
    /// most of the proxy's time per message.
    async fn append_reply(&mut self, held: &mut Vec<u8>, skip: usize) -> std::io::Result<bool> {
        let (max, idle) = (self.shared.max_message, self.shared.idle);
        let sr = &mut self.sr;
        let read = async {
            let mut resume = 0;
            // Where the last line end seen is (just past it): no line may be longer than MAX_LINE. The
            // reader's chunks are at most MAX_LINE long, so only a line that ends in a chunk (or does not)
            // after the one it began in can be too long: one memchr each way per chunk, not per line.
            let mut line_start = held.len();
            loop {
                let avail = sr.fill_buf().await?;
                if avail.is_empty() {
                    return Err(std::io::Error::new(
                        std::io::ErrorKind::UnexpectedEof,
                        "the server closed the connection inside a reply",
                    ));
                }
                let before = held.len();
                held.extend_from_slice(avail);
                let first_end = memchr::memchr(b'\n', &held[before..]).map(|i| before + i + 1);
                if first_end.unwrap_or(held.len()) - line_start > MAX_LINE {
                    return Err(std::io::Error::other(format!("a POP3 line longer than {MAX_LINE} octets")));
                }
                if let Some(i) = memchr::memrchr(b'\n', &held[before..]) {
                    line_start = before + i + 1;
                }
                match wire::reply_end(&held[skip..], resume) {
                    Ok(end) => {
                        held.truncate(skip + end);
                        sr.consume((skip + end).saturating_sub(before));
                        return Ok(true);
                    }
                    Err(next) => {
                        resume = next;
                        let n = held.len() - before;
                        sr.consume(n);
                        if held.len() - skip > max {
                            return Ok(false);
                        }
                    }
                }
            }
        };
        match tokio::time::timeout(idle, read).await {
            Ok(r) => r,
            Err(_) => Err(std::io::Error::new(std::io::ErrorKind::TimedOut, "the server stopped answering")),
        }
    }

    /// Reads past the rest of a multi-line response.
    async fn skip_lines(&mut self) -> std::io::Result<()> {
        loop {
            let line = self.server_line().await?;
            if line == b".\r\n" || line == b".\n" {
                return Ok(());
            }
        }
    }

    /// What the client is shown for `message`.
    async fn show(&mut self, message: &[u8]) -> std::io::Result<Arc<Shown>> {
        if !self.shared.opener.needs_opening(message) {
            return Ok(Arc::new(Shown::AsStored));
        }
        let key = self.user.as_ref().map(|u| {
            use sha2::Digest;
            let digest = sha2::Sha256::digest(message);
            let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
            format!("pop3|{u}|{hex}")
        });
        let user = self.user.clone();
        let message = message.to_vec();
        let opener: &Opener = &self.shared.opener;
        // Opening decrypts (RSA, AES): on this task's thread, as the IMAP proxy's spawn_blocking would need
        // 'static data; a POP3 session does one thing at a time.
        Ok(tokio::task::block_in_place(|| opener.open(user.as_deref(), key.as_deref(), &message)))
    }

    /// Asks the server for message `n` and makes it ready: `None` when the server refused (its status line
    /// already relayed to the client when `relay`), or when the message was over the bound and streamed
    /// as stored to the client (`relay`) or read past.
    async fn prepare(&mut self, n: u32, relay: bool) -> std::io::Result<Option<Prepared>> {
        self.sw.write_all(format!("RETR {n}\r\n").as_bytes()).await?;
        self.sw.flush().await?;
        let status = self.status_line().await?;
        if !status.starts_with(b"+OK") {
            if relay {
                self.cw.write_all(&status).await?;
            }
            return Ok(None);
        }
        let held = if relay {
            match self.read_lines(&status).await? {
                Lines::Held(held) => held,
                // Too large to open: streamed as stored (for TOP too: the whole message, a superset of its top).
                Lines::Streamed => return Ok(None),
            }
        } else {
            let mut held = Vec::with_capacity(64 << 10);
            held.extend_from_slice(&status);
            if !self.append_reply(&mut held, status.len()).await? {
                self.skip_lines().await?;
                return Ok(None);
            }
            held
        };
        // A plaintext message goes back as it came. Stuffing only doubles a leading dot, which neither the
        // header nor an armor line begins with, so the stuffed lines tell as well as the message would.
        let lines = &held[status.len()..];
        if !self.shared.opener.needs_opening(lines) {
            return Ok(Some(Prepared::AsStored(held)));
        }
        let message = wire::unstuff(lines);
        let shown = self.show(&message).await?;
        Ok(Some(match &*shown {
            Shown::AsStored => Prepared::AsStored(held),
            Shown::Opened(o) => {
                let canonical = Zeroizing::new(crate::mime::canon::crlf(o));
                self.sizes.insert(n, canonical.len());
                Prepared::Opened(canonical)
            }
        }))
    }

    /// RETR n, or TOP n k (asked of the server as RETR); after a RETR, the next message is read ahead.
    async fn retr(&mut self, n: u32, top: Option<usize>) -> std::io::Result<()> {
        let prepared = match self.ahead.take() {
            Some((m, prepared)) if m == n => prepared,
            _ => match self.prepare(n, true).await? {
                Some(p) => p,
                None => return Ok(()),
            },
        };
        match (top, &prepared) {
            (None, Prepared::AsStored(held)) => self.cw.write_all(held).await?,
            (None, Prepared::Opened(canonical)) => {
                let mut out = format!("+OK {} octets\r\n", canonical.len()).into_bytes();
                out.extend_from_slice(&wire::stuff(canonical));
                self.cw.write_all(&out).await?;
            }
            (Some(k), Prepared::AsStored(held)) => {
                let status_end = memchr::memchr(b'\n', held).map_or(0, |i| i + 1);
                let message = crate::mime::canon::crlf(&wire::unstuff(&held[status_end..]));
                let mut out = b"+OK top of message follows\r\n".to_vec();
                out.extend_from_slice(&wire::stuff(wire::top(&message, k)));
                self.cw.write_all(&out).await?;
            }
            (Some(k), Prepared::Opened(canonical)) => {
                let mut out = b"+OK top of message follows\r\n".to_vec();
                out.extend_from_slice(&wire::stuff(wire::top(canonical, k)));
                self.cw.write_all(&out).await?;
            }
        }
        if top.is_none() {
            let sequential = n == 1 || self.last_retr == Some(n - 1);
            self.last_retr = Some(n);
            if sequential {
                self.read_ahead(n + 1).await?;
            }
        }
        Ok(())
    }

    /// Reads message `n` ahead (when the server listed it within `max_message_bytes`), while the client is
    /// busy with the one it just got: POP3 clients retrieve
    /// messages one after another, each a round trip to the server, and through the proxy each waited for
    /// two (30% longer than direct to Dovecot, docs/performance.md). Only in a session whose LIST or STAT
    /// already had the proxy read every message (so reading one more time changes nothing on the server,
    /// such as a \Seen flag), only for a message that exists, and only after RETR of the first message or of
    /// the one after the last RETR (a client that takes messages in another order, or sessions sharing the
    /// work, would have the server send each message twice). The next command uses it when it is RETR
    /// or TOP of `n`; any other command drops it.
    async fn read_ahead(&mut self, n: u32) -> std::io::Result<()> {
        // A message the server does not list, or one over the bound (streamed when asked for: reading it
        // ahead would only read it twice).
        match self.scanned.as_ref().and_then(|list| list.get(&n)) {
            Some(size) if *size <= self.shared.max_message => {}
            _ => return Ok(()),
        }
        if let Some(prepared) = self.prepare(n, false).await? {
            self.ahead = Some((n, prepared));
        }
        Ok(())
    }

    /// Reads every message once, so that LIST and STAT can give the sizes RETR returns.
    async fn scan(&mut self) -> std::io::Result<()> {
        if self.scanned.is_some() {
            return Ok(());
        }
        let list = self.server_list().await?;
        for &(n, _) in &list {
            if self.sizes.contains_key(&n) {
                continue;
            }
            // An opened message's size is noted by prepare (and the message kept in the cache, if any).
            self.prepare(n, false).await?;
        }
        self.scanned = Some(list.into_iter().collect());
        Ok(())
    }

    /// The server's LIST, as (number, size) pairs; empty when it refuses.
    async fn server_list(&mut self) -> std::io::Result<Vec<(u32, usize)>> {
        self.sw.write_all(b"LIST\r\n").await?;
        self.sw.flush().await?;
        let status = self.status_line().await?;
        let mut out = Vec::new();
        if !status.starts_with(b"+OK") {
            return Ok(out);
        }
        loop {
            let line = self.server_line().await?;
            if line == b".\r\n" || line == b".\n" {
                return Ok(out);
            }
            let text = String::from_utf8_lossy(&line);
            let mut w = text.split_ascii_whitespace();
            if let (Some(Ok(n)), Some(Ok(size))) = (w.next().map(str::parse), w.next().map(str::parse)) {
                out.push((n, size));
            }
        }
    }

    async fn stat(&mut self) -> std::io::Result<()> {
        if self.user.is_none() {
            return self.single(b"STAT\r\n").await.map(|_| ());
        }
        self.scan().await?;
        let list = self.server_list().await?;
        let total: usize = list.iter().map(|(n, size)| self.sizes.get(n).copied().unwrap_or(*size)).sum();
        self.cw.write_all(format!("+OK {} {total}\r\n", list.len()).as_bytes()).await
    }

    async fn list(&mut self, n: Option<u32>, command: &[u8]) -> std::io::Result<()> {
        if self.user.is_none() {
            return self.single(command).await.map(|_| ());
        }
        self.scan().await?;
        match n {
            Some(n) => {
                self.sw.write_all(command).await?;
                self.sw.flush().await?;
                let status = self.status_line().await?;
                match (status.starts_with(b"+OK "), self.sizes.get(&n)) {
                    (true, Some(size)) => self.cw.write_all(format!("+OK {n} {size}\r\n").as_bytes()).await,
                    _ => self.cw.write_all(&status).await,
                }
            }
            None => {
                let list = self.server_list().await?;
                let total: usize = list.iter().map(|(n, size)| self.sizes.get(n).copied().unwrap_or(*size)).sum();
                let mut out = format!("+OK {} messages ({total} octets)\r\n", list.len());
                for (n, size) in &list {
                    out.push_str(&format!("{n} {}\r\n", self.sizes.get(n).copied().unwrap_or(*size)));
                }
                out.push_str(".\r\n");
                self.cw.write_all(out.as_bytes()).await
            }
        }
    }

    /// AUTH with a mechanism: continuations relayed both ways until the server's status line.
    async fn sasl(&mut self, command: &[u8], args: &[&str]) -> std::io::Result<()> {
        let plain = args.first().is_some_and(|m| m.eq_ignore_ascii_case("PLAIN"));
        if plain && let Some(initial) = args.get(1) {
            self.pending = plain_user(initial.as_bytes());
        }
        self.sw.write_all(command).await?;
        self.sw.flush().await?;
        loop {
            let reply = self.server_line().await?;
            if !(reply.starts_with(b"+") || reply.starts_with(b"-ERR")) {
                return Err(std::io::Error::other("the server's reply to AUTH is not +OK, -ERR or a continuation"));
            }
            self.cw.write_all(&reply).await?;
            self.cw.flush().await?;
            if reply.starts_with(b"+OK") {
                self.user = self.pending.take();
                return Ok(());
            }
            if !reply.starts_with(b"+") {
                self.pending = None;
                return Ok(());
            }
            let Some(answer) = self.client_line().await? else {
                return Err(std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "the client left during AUTH"));
            };
            if plain && self.pending.is_none() {
                self.pending = plain_user(answer.trim_ascii());
            }
            self.sw.write_all(&answer).await?;
            self.sw.flush().await?;
        }
    }
}

/// The user of a SASL PLAIN response in base64 (see [`crate::filter::imap::state::plain_user`]).
fn plain_user(b64: &[u8]) -> Option<String> {
    crate::filter::imap::state::plain_user(&crate::mime::body::base64(b64).ok()?)
}
