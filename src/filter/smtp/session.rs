//! One client connection: the ESMTP dialogue (RFC 5321; PIPELINING RFC 2920, SIZE RFC 1870, 8BITMIME RFC
//! 6152, SMTPUTF8 RFC 6531, ENHANCEDSTATUSCODES RFC 2034), the DATA phase with its limits, and the hand-over
//! to the next hop. The reply to the end of DATA is written only after every next-hop transaction for the
//! message ended: 250 when all were accepted, 4xx or 5xx otherwise.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use tokio::io::{AsyncWrite, AsyncWriteExt, BufReader, BufWriter};
use tokio::net::TcpStream;
use tokio::net::tcp::OwnedReadHalf;
use tokio::sync::watch;

use super::Shared;
use super::command::{self, Command, ParseError};
use super::line::{self, Line};
use super::relay::one_line;
use crate::filter::FilterError;
use crate::filter::plan::{Action, Direction};
use crate::filter::route::{self, Rcpt};

/// Longest command line accepted (RFC 5321 section 4.5.3.1.4 says 512; extensions make lines longer).
const MAX_COMMAND: usize = 2048;
/// Wrong commands tolerated before the connection is closed.
const MAX_ERRORS: usize = 20;

type Reader = BufReader<OwnedReadHalf>;

/// Answers a connection over the limit and closes it.
pub(super) async fn too_busy(mut stream: TcpStream, peer: SocketAddr) {
    tracing::warn!(client = %peer, "connection refused: too many connections");
    let _ = stream.write_all(b"421 4.7.0 Too many connections, try again later\r\n").await;
    let _ = stream.shutdown().await;
}

/// Runs a session to its end.
pub(super) async fn run(stream: TcpStream, peer: SocketAddr, shared: Arc<Shared>, shutdown: watch::Receiver<bool>) {
    let (r, w) = stream.into_split();
    let mut s = Session {
        r: BufReader::with_capacity(64 << 10, r),
        w: BufWriter::with_capacity(16 << 10, w),
        shared,
        peer,
        shutdown,
        helo: false,
        tx: None,
        errors: 0,
        line: Vec::new(),
    };
    match s.dialogue().await {
        Ok(()) => {}
        Err(e) => tracing::debug!(client = %peer, error = %e, "connection ended"),
    }
    let _ = s.w.flush().await;
    let _ = s.w.shutdown().await;
}

struct Transaction {
    /// The reverse path as given; `None` for `<>`.
    from: Option<String>,
    /// Normalised.
    from_norm: Option<String>,
    smtputf8: bool,
    rcpts: Vec<Rcpt>,
}

struct Session {
    r: Reader,
    w: BufWriter<tokio::net::tcp::OwnedWriteHalf>,
    shared: Arc<Shared>,
    peer: SocketAddr,
    shutdown: watch::Receiver<bool>,
    helo: bool,
    tx: Option<Transaction>,
    errors: usize,
    line: Vec<u8>,
}

/// How a session goes on after a command.
enum Next {
    Continue,
    Close,
}

async fn reply<W: AsyncWrite + Unpin>(w: &mut W, text: &str) -> std::io::Result<()> {
    w.write_all(text.as_bytes()).await?;
    w.write_all(b"\r\n").await
}

impl Session {
    async fn dialogue(&mut self) -> std::io::Result<()> {
        let greeting = format!("220 {} ESMTP sealpost", self.shared.hostname);
        reply(&mut self.w, &greeting).await?;
        let timeout = Duration::from_secs(self.shared.config.smtp.timeout_seconds);
        loop {
            // PIPELINING: replies are written out when the client has nothing more queued.
            if self.r.buffer().is_empty() {
                self.w.flush().await?;
            }
            if *self.shutdown.borrow() {
                return self.close("421 4.3.2 Service shutting down, try again later").await;
            }
            let got = tokio::select! {
                biased;
                _ = self.shutdown.changed() => {
                    return self.close("421 4.3.2 Service shutting down, try again later").await;
                }
                got = tokio::time::timeout(timeout, line::read(&mut self.r, &mut self.line, MAX_COMMAND)) => got,
            };
            let got = match got {
                Err(_) => return self.close("421 4.4.2 Timeout waiting for a command, closing").await,
                Ok(got) => got?,
            };
            let next = match got {
                Line::Eof => return Ok(()),
                Line::BareNewline => return self.bare_newline().await,
                Line::TooLong => self.error("500 5.5.2 Line too long").await?,
                Line::Complete => {
                    let text = self.line[..self.line.len() - 2].to_vec();
                    self.command(&text).await?
                }
            };
            if let Next::Close = next {
                return Ok(());
            }
        }
    }

    async fn close(&mut self, text: &str) -> std::io::Result<()> {
        reply(&mut self.w, text).await?;
        self.w.flush().await
    }

    /// A bare LF or CR: the client and we could disagree about where a command or the message ends, so
    /// nothing more is read from it (what Postfix's smtpd_forbid_bare_newline does).
    async fn bare_newline(&mut self) -> std::io::Result<()> {
        tracing::warn!(client = %self.peer, "bare LF or CR received: connection closed (SMTP smuggling defence)");
        self.close("521 5.5.2 Bare <LF> or <CR> received: lines must end in <CR><LF>, closing").await
    }

    async fn error(&mut self, text: &str) -> std::io::Result<Next> {
        self.errors += 1;
        if self.errors >= MAX_ERRORS {
            self.close("421 4.7.0 Too many errors, closing").await?;
            return Ok(Next::Close);
        }
        reply(&mut self.w, text).await?;
        Ok(Next::Continue)
    }

    async fn command(&mut self, text: &[u8]) -> std::io::Result<Next> {
        let cmd = match command::parse(text) {
            Ok(c) => c,
            Err(ParseError::Unknown) => return self.error("500 5.5.2 Command unrecognised").await,
            Err(ParseError::Syntax(what)) => return self.error(&format!("501 5.5.4 Syntax: {what}")).await,
            Err(ParseError::Parameter(p)) => {
                return self.error(&format!("555 5.5.4 Parameter not supported: {}", one_line(&p))).await;
            }
        };
        let s = &self.shared;
        match cmd {
            Command::Ehlo(_) => {
                self.helo = true;
                self.tx = None;
                let text = format!(
                    "250-{}\r\n250-PIPELINING\r\n250-SIZE {}\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n250 ENHANCEDSTATUSCODES",
                    s.hostname, s.config.smtp.max_message_size
                );
                reply(&mut self.w, &text).await?;
            }
            Command::Helo(_) => {
                self.helo = true;
                self.tx = None;
                let text = format!("250 {}", s.hostname);
                reply(&mut self.w, &text).await?;
            }
            Command::Mail { .. } if !self.helo => return self.error("503 5.5.1 Send EHLO or HELO first").await,
            Command::Mail { .. } if self.tx.is_some() => return self.error("503 5.5.1 Nested MAIL command").await,
            Command::Mail { size: Some(n), .. } if n > s.config.smtp.max_message_size as u64 => {
                reply(&mut self.w, "552 5.3.4 Message size exceeds the fixed limit").await?;
            }
            Command::Mail { from, smtputf8, .. } => {
                if !smtputf8 && from.as_deref().is_some_and(|f| !f.is_ascii()) {
                    return self.error("553 5.6.7 Non-ASCII address without SMTPUTF8").await;
                }
                let from_norm = from.as_deref().map(route::normalize);
                self.tx = Some(Transaction { from, from_norm, smtputf8, rcpts: Vec::new() });
                reply(&mut self.w, "250 2.1.0 Ok").await?;
            }
            Command::Rcpt(to) => return self.rcpt(to).await,
            Command::Data => return self.data().await,
            Command::Rset => {
                self.tx = None;
                reply(&mut self.w, "250 2.0.0 Ok").await?;
            }
            Command::Noop => reply(&mut self.w, "250 2.0.0 Ok").await?,
            Command::Help => {
                reply(
                    &mut self.w,
                    "214 2.0.0 EHLO HELO MAIL RCPT DATA RSET NOOP QUIT; see sealpost filter smtp --help",
                )
                .await?;
            }
            Command::Quit => {
                self.close("221 2.0.0 Bye").await?;
                return Ok(Next::Close);
            }
            Command::Refused(name) => return self.error(&format!("502 5.5.1 {name} is not offered here")).await,
        }
        Ok(Next::Continue)
    }

    async fn rcpt(&mut self, to: String) -> std::io::Result<Next> {
        let max = self.shared.config.smtp.max_recipients;
        let Some(tx) = &self.tx else { return self.error("503 5.5.1 Need MAIL before RCPT").await };
        if tx.rcpts.len() >= max {
            reply(&mut self.w, "452 4.5.3 Too many recipients").await?;
            return Ok(Next::Continue);
        }
        if !tx.smtputf8 && !to.is_ascii() {
            return self.error("553 5.6.7 Non-ASCII address without SMTPUTF8").await;
        }
        let normalized = route::normalize(&to);
        let (shared, sender, rcpt) = (self.shared.clone(), tx.from_norm.clone(), normalized.clone());
        let decided = tokio::task::spawn_blocking(move || {
            route::treatment(&shared.config, &shared.ks, &shared.keys, sender.as_deref(), &rcpt)
        })
        .await;
        let text = match decided {
            Ok(Ok(treatment)) => {
                if let Some(tx) = &mut self.tx {
                    tx.rcpts.push(Rcpt { address: to, normalized, treatment });
                }
                "250 2.1.5 Ok".to_string()
            }
            Ok(Err(FilterError::Refused(why))) => format!("550 5.7.1 <{}>: {}", one_line(&to), one_line(&why)),
            Ok(Err(e)) => format!("451 4.3.0 <{}>: {}", one_line(&to), one_line(&e.to_string())),
            Err(e) => format!("451 4.3.0 Internal error: {}", one_line(&e.to_string())),
        };
        reply(&mut self.w, &text).await?;
        Ok(Next::Continue)
    }

    async fn data(&mut self) -> std::io::Result<Next> {
        match &self.tx {
            None => return self.error("503 5.5.1 Need MAIL before DATA").await,
            Some(tx) if tx.rcpts.is_empty() => return self.error("554 5.5.1 No valid recipients").await,
            Some(_) => {}
        }
        reply(&mut self.w, "354 End data with <CR><LF>.<CR><LF>").await?;
        self.w.flush().await?;
        let started = Instant::now();
        let limits = self.shared.config.smtp.clone();
        let timeout = Duration::from_secs(limits.timeout_seconds);
        let mut data = Vec::new();
        let mut problem: Option<String> = None;
        let (mut in_header, mut header_bytes, mut header_fields) = (true, 0usize, 0usize);
        loop {
            // A dot-stuffed line may be one byte longer on the wire than in the message.
            let got =
                tokio::time::timeout(timeout, line::read(&mut self.r, &mut self.line, limits.max_line_length + 1))
                    .await;
            let got = match got {
                Err(_) => {
                    self.close("421 4.4.2 Timeout while receiving the message, closing").await?;
                    return Ok(Next::Close);
                }
                Ok(got) => got?,
            };
            match got {
                // The client went away: nothing was acknowledged, nothing is handed on.
                Line::Eof => {
                    tracing::info!(client = %self.peer, "client gone during DATA: message dropped, nothing forwarded");
                    return Ok(Next::Close);
                }
                Line::BareNewline => {
                    self.bare_newline().await?;
                    return Ok(Next::Close);
                }
                Line::TooLong => {
                    problem.get_or_insert_with(|| {
                        format!("552 5.3.4 A line is longer than {} bytes (RFC 5321 4.5.3.1.6)", limits.max_line_length)
                    });
                    continue;
                }
                Line::Complete => {}
            }
            if self.line == b".\r\n" {
                break;
            }
            let content = if self.line.first() == Some(&b'.') { &self.line[1..] } else { &self.line[..] };
            if content.len() > limits.max_line_length {
                problem.get_or_insert_with(|| {
                    format!("552 5.3.4 A line is longer than {} bytes (RFC 5321 4.5.3.1.6)", limits.max_line_length)
                });
                continue;
            }
            if in_header {
                if content == b"\r\n" {
                    in_header = false;
                } else {
                    header_bytes += content.len();
                    if !content.starts_with(b" ") && !content.starts_with(b"\t") {
                        header_fields += 1;
                    }
                    if header_bytes > limits.max_header_size || header_fields > limits.max_header_fields {
                        problem.get_or_insert_with(|| {
                            format!(
                                "552 5.3.4 The header is larger than {} bytes or {} fields",
                                limits.max_header_size, limits.max_header_fields
                            )
                        });
                    }
                }
            }
            if data.len() + content.len() > limits.max_message_size {
                problem.get_or_insert_with(|| "552 5.3.4 Message size exceeds the fixed limit".into());
            }
            if problem.is_none() {
                data.extend_from_slice(content);
            }
        }
        let Some(tx) = self.tx.take() else { return Ok(Next::Continue) };
        if let Some(p) = problem {
            tracing::info!(client = %self.peer, reply = %p, "message refused");
            reply(&mut self.w, &p).await?;
            return Ok(Next::Continue);
        }
        let text = self.deliver(tx, data, started).await;
        reply(&mut self.w, &text).await?;
        Ok(Next::Continue)
    }

    /// Processes the message and hands every copy to the next hop; the reply to the end of DATA.
    async fn deliver(&mut self, tx: Transaction, data: Vec<u8>, started: Instant) -> String {
        let shared = self.shared.clone();
        let n = shared.next_id.fetch_add(1, Ordering::Relaxed);
        let id = format!("{:08X}{n:06X}", shared.id_prefix);
        let rcpt_count = tx.rcpts.len();
        let prepared = {
            let Ok(_permit) = shared.workers.acquire().await else {
                return "451 4.3.0 Shutting down, try again later".into();
            };
            let (shared, from_norm, rcpts) = (shared.clone(), tx.from_norm.clone(), tx.rcpts.clone());
            tokio::task::spawn_blocking(move || prepare(&shared, from_norm.as_deref(), &rcpts, &data)).await
        };
        let (copies, receipts) = match prepared {
            Ok(Ok(c)) => c,
            Ok(Err(e)) => {
                let (text, level_warn) = failure_reply(&e);
                if level_warn {
                    tracing::warn!(id, client = %self.peer, rcpts = rcpt_count, error = %e, ms = started.elapsed().as_millis() as u64, "message not processed");
                } else {
                    tracing::info!(id, client = %self.peer, rcpts = rcpt_count, error = %e, ms = started.elapsed().as_millis() as u64, "message refused");
                }
                return text;
            }
            Err(e) => {
                tracing::error!(id, error = %e, "processing panicked or was cancelled");
                return "451 4.3.0 Internal error, try again later".into();
            }
        };
        let (mut delivered, mut failed) = (Vec::new(), Vec::new());
        for copy in &copies {
            match shared.relay.send(tx.from.as_deref(), &copy.rcpts, &copy.message).await {
                Ok(text) => delivered.push((copy, text)),
                Err(e) => failed.push((copy, e)),
            }
        }
        let ms = started.elapsed().as_millis() as u64;
        for (copy, result) in
            delivered.iter().map(|(c, t)| (c, t.clone())).chain(failed.iter().map(|(c, e)| (c, e.text.clone())))
        {
            tracing::info!(
                id,
                client = %self.peer,
                from = tx.from.as_deref().unwrap_or("<>"),
                rcpts = %copy.rcpts.join(","),
                direction = copy.direction,
                action = %copy.action,
                verdict = %copy.verdict,
                ms,
                result = %result,
                "message"
            );
        }
        if failed.is_empty() {
            // Receipts go once the message went on (a retried message would answer twice otherwise), from
            // the null sender (RFC 3834: no replies to replies); a receipt that cannot be sent is logged,
            // and the message it answers is not held back for it.
            for r in &receipts {
                let result = shared.relay.send(None, &r.to, &crlf(r.message.clone())).await;
                match result {
                    Ok(text) => {
                        tracing::info!(id, from = %r.from, to = %r.to.join(","), result = %text, "signed receipt sent")
                    }
                    Err(e) => {
                        tracing::warn!(id, from = %r.from, to = %r.to.join(","), error = %e.text, "signed receipt not sent")
                    }
                }
            }
            return format!("250 2.0.0 Ok: queued as {id}");
        }
        let first = &failed[0].1;
        let all_permanent = failed.iter().all(|(_, e)| e.permanent);
        if delivered.is_empty() && all_permanent {
            let code = first.code.filter(|c| (500..600).contains(c)).unwrap_or(554);
            format!("{code} 5.0.0 Refused by the next hop: {}", first.text)
        } else if all_permanent {
            // Some copies went on and the others were refused for good: a retry would only duplicate the
            // delivered ones, so the sender hears of the refusal (the text names who got the message).
            let got: Vec<String> = delivered.iter().flat_map(|(c, _)| c.rcpts.clone()).collect();
            format!("554 5.0.0 Refused by the next hop ({}); delivered to {}", first.text, got.join(", "))
        } else {
            // Temporary: the MTA keeps the message and retries (a copy already delivered is then delivered
            // again: the duplicate window in docs/deploy/postfix.md).
            format!("451 4.4.0 Next hop failed, try again later: {}", first.text)
        }
    }
}

/// One copy of the message for some of its recipients.
struct Copy {
    rcpts: Vec<String>,
    message: Vec<u8>,
    direction: &'static str,
    action: String,
    verdict: String,
}

/// Signed receipts (RFC 2634) for the recipients `rcpts` of an inbound message that asked for them, each
/// signed with the recipient's own S/MIME key among `keys`; [`crate::mail::receipt::answer`] refuses mail
/// that did not verify, whose signer is not its sender, or that asks other addresses.
fn answer_receipts(
    keys: &crate::mail::MailKeys,
    rcpts: &[String],
    data: &[u8],
    verdict: &crate::core::verdict::Verdict,
) -> Vec<crate::mail::receipt::ReceiptMessage> {
    let policy = crate::core::policy::Policy::default();
    let mut out = Vec::new();
    for rcpt in rcpts {
        let me = keys.x509_identities.iter().find(|id| {
            crate::x509::Certificate::from_x509(id.cert.clone())
                .is_ok_and(|c| c.emails().iter().any(|e| e.eq_ignore_ascii_case(rcpt)))
        });
        let Some(me) = me else { continue };
        match crate::mail::receipt::answer(data, verdict, keys, me, &policy, &mut crate::core::rand::SystemRng) {
            Ok(r) => out.push(r),
            Err(e) => tracing::info!(rcpt = %rcpt, error = %e, "no signed receipt"),
        }
    }
    out
}

/// Plans and carries out every group; copies with the same bytes are merged into one transaction. Also the
/// signed receipts to send once the copies went on.
fn prepare(
    shared: &Shared,
    from: Option<&str>,
    rcpts: &[Rcpt],
    data: &[u8],
) -> Result<(Vec<Copy>, Vec<crate::mail::receipt::ReceiptMessage>), FilterError> {
    let pass = shared.pass.as_deref().map(|p| &p[..]);
    let groups = route::groups(&shared.config, &shared.ks, &shared.keys, pass, data, from, rcpts)?;
    let mut copies: Vec<Copy> = Vec::new();
    let mut receipts = Vec::new();
    for g in groups {
        let action = match &g.plan.action {
            Action::PassThrough => "pass".to_string(),
            Action::Seal { format, sign, encrypt } => {
                let what = match (sign, encrypt) {
                    (true, true) => "sign+encrypt",
                    (false, true) => "encrypt",
                    _ => "sign",
                };
                format!("{what}:{}", format.name())
            }
            Action::Open { decrypt: true } => "verify+decrypt".into(),
            Action::Open { decrypt: false } => "verify".into(),
            Action::Refuse(_) => "refuse".into(),
        };
        tracing::debug!(rcpts = %g.rcpts.join(","), reasons = %g.plan.reasons.join("; "), "plan");
        let outcome = crate::filter::plan::apply(&g.plan, data, &shared.authserv_id)?;
        if shared.config.inbound.receipts
            && let Some(v) = &outcome.verdict
            && v.receipt_request.is_some()
        {
            receipts.extend(answer_receipts(&g.plan.keys, &g.rcpts, data, v));
        }
        let message = crlf(outcome.message);
        let verdict = outcome.verdict.map(|v| v.status.to_string()).unwrap_or_else(|| "-".into());
        let direction = if g.plan.direction == Direction::Outbound { "outbound" } else { "inbound" };
        if let Some(same) = copies.iter_mut().find(|c| c.message == message) {
            same.rcpts.extend(g.rcpts);
            continue;
        }
        copies.push(Copy { rcpts: g.rcpts, message, direction, action, verdict });
    }
    Ok((copies, receipts))
}

/// The reply for a message that could not be processed, and whether it is worth a warning.
fn failure_reply(e: &FilterError) -> (String, bool) {
    match e {
        FilterError::Refused(why) => (format!("550 5.7.1 {}", one_line(why)), false),
        FilterError::Mime(m) | FilterError::Mail(crate::mail::MailError::Mime(m)) => {
            (format!("554 5.6.0 The message cannot be read: {}", one_line(&m.to_string())), false)
        }
        e => (format!("451 4.3.0 Cannot process the message now: {}", one_line(&e.to_string())), true),
    }
}

/// Lines end in CRLF on the wire; a bare LF or CR the mail layer may have written becomes CRLF.
fn crlf(message: Vec<u8>) -> Vec<u8> {
    let clean = message.iter().enumerate().all(|(i, &b)| match b {
        b'\n' => i > 0 && message[i - 1] == b'\r',
        b'\r' => message.get(i + 1) == Some(&b'\n'),
        _ => true,
    });
    if clean {
        return message;
    }
    let mut out = Vec::with_capacity(message.len() + message.len() / 32);
    let mut i = 0;
    while i < message.len() {
        match message[i] {
            b'\r' if message.get(i + 1) == Some(&b'\n') => {
                out.extend_from_slice(b"\r\n");
                i += 1;
            }
            b'\r' | b'\n' => out.extend_from_slice(b"\r\n"),
            b => out.push(b),
        }
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_lines_end_in_crlf() {
        assert_eq!(crlf(b"a\r\nb\nc\rd\r\n".to_vec()), b"a\r\nb\r\nc\r\nd\r\n");
        assert_eq!(crlf(b"\na".to_vec()), b"\r\na");
        assert_eq!(crlf(b"clean\r\n".to_vec()), b"clean\r\n");
    }
}
