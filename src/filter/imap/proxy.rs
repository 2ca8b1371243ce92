//! The IMAP proxy: a listener, and per client a session with one upstream connection. Commands pass to the
//! server as they came, read as lines and literals by length ([`super::wire`]); what the proxy needs from
//! them (the user, the selected mailbox, FETCH commands) is read by [`super::state`], which may add
//! `BODY.PEEK[]` to a FETCH. Responses pass to the client as they came, except untagged FETCH responses:
//! those are held whole ([`super::response`]) and, when they carry a message whose envelope is OpenPGP,
//! S/MIME or PEM, answered from the message opened with the user's keys ([`crate::filter::opened`],
//! [`super::fetch`]). Plaintext messages pass byte for byte. STARTTLS and COMPRESS from the client are
//! refused (the proxy would be blind after them); they, BINARY and the server-made previews are taken out of
//! the server's capabilities ([`HIDDEN`]).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncBufRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

use super::response::{self, Held};
use super::state::{Action, State};
use super::wire::{self, Literal};
use crate::filter::FilterError;
use crate::filter::config::Config;
use crate::filter::listener::{Proxy, ProxyKind, serve_proxy};
use crate::filter::opened::Shown;
use crate::filter::tls::BoxStream;
use crate::keystore::Keystore;

/// Longest line read from either side.
const MAX_LINE: usize = 64 << 10;
/// Largest command (with its literals) read whole to see what it asks; longer ones (APPEND) pass unread.
const MAX_COMMAND: usize = 64 << 10;

/// What every session shares.
type ClientWriter = Arc<tokio::sync::Mutex<tokio::net::tcp::OwnedWriteHalf>>;

/// Runs the proxy until SIGTERM or SIGINT; then lets sessions end for `shutdown_seconds`.
pub fn run(config: Config, ks: Keystore, listen: Option<&str>, upstream: Option<&str>) -> Result<(), FilterError> {
    let kind = ProxyKind {
        name: "imap",
        default_listen: "127.0.0.1:1143",
        default_upstream: "127.0.0.1:143",
        refusal: b"* BYE [UNAVAILABLE] too many connections, try again later\r\n",
    };
    serve_proxy(kind, &config, &config.imap, ks, listen, upstream, |client, shared| async move {
        session(client, &shared).await
    })
}

async fn session(client: TcpStream, shared: &Arc<Proxy>) -> std::io::Result<()> {
    let (server, greeting) = match shared.connector.imap().await {
        Ok(v) => v,
        Err(e) => {
            let mut client = client;
            let _ = client.write_all(b"* BYE [UNAVAILABLE] the upstream server cannot be reached\r\n").await;
            return Err(std::io::Error::other(e.to_string()));
        }
    };
    let (cr, cw) = client.into_split();
    let cw: ClientWriter = Arc::new(tokio::sync::Mutex::new(cw));
    cw.lock().await.write_all(&without_hidden(&greeting)).await?;
    let (sr, sw) = tokio::io::split(server);
    let state = Arc::new(Mutex::new(State::default()));
    let up = client_to_server(BufReader::new(cr), sw, cw.clone(), state.clone(), shared.idle);
    let down = server_to_client(BufReader::with_capacity(64 << 10, sr), cw, state, shared.clone());
    // Either side ending ends the session: the other connection is closed with it.
    tokio::select! {
        r = up => r,
        r = down => r,
    }
}

/// Reads a line within the idle time; `Ok(false)` at the end of the stream.
async fn line_in_time<R: AsyncBufRead + Unpin>(r: &mut R, line: &mut Vec<u8>, idle: Duration) -> std::io::Result<bool> {
    match tokio::time::timeout(idle, wire::read_line(r, line, MAX_LINE)).await {
        Ok(v) => v,
        Err(_) => Err(std::io::Error::new(std::io::ErrorKind::TimedOut, "idle for too long")),
    }
}

async fn client_to_server(
    mut r: BufReader<tokio::net::tcp::OwnedReadHalf>,
    mut w: tokio::io::WriteHalf<BoxStream>,
    client: ClientWriter,
    state: Arc<Mutex<State>>,
    idle: Duration,
) -> std::io::Result<()> {
    let mut line = Vec::new();
    let mut command = Vec::new();
    loop {
        if !line_in_time(&mut r, &mut line, idle).await? {
            return Ok(());
        }
        let literal = wire::announcement(&line).map_err(std::io::Error::other)?;
        if literal.is_none() {
            // A command on one line (or a line of an AUTHENTICATE exchange): read before it is sent on.
            let action = state.lock().map(|mut s| s.command(&line)).unwrap_or(Action::Forward);
            match action {
                Action::Forward => w.write_all(&line).await?,
                Action::Replace(b) => w.write_all(&b).await?,
                Action::Answer(b) => {
                    client.lock().await.write_all(&b).await?;
                    continue;
                }
            }
            w.flush().await?;
            continue;
        }
        // A command with literals: sent on as it comes (a synchronising literal waits for the server's "+",
        // which the other direction relays), kept to be read at its end when it is small.
        command.clear();
        let mut whole = true;
        let mut literal = literal;
        loop {
            w.write_all(&line).await?;
            if whole && command.len() + line.len() <= MAX_COMMAND {
                command.extend_from_slice(&line);
            } else {
                whole = false;
            }
            let Some(Literal { len, .. }) = literal else { break };
            w.flush().await?;
            if whole && command.len() + len as usize <= MAX_COMMAND {
                let start = command.len();
                command.resize(start + len as usize, 0);
                r.read_exact(&mut command[start..]).await?;
                w.write_all(&command[start..]).await?;
            } else {
                whole = false;
                response::copy_exact(&mut r, &mut w, len).await?;
            }
            if !line_in_time(&mut r, &mut line, idle).await? {
                return Ok(());
            }
            literal = wire::announcement(&line).map_err(std::io::Error::other)?;
        }
        w.flush().await?;
        if whole && let Ok(mut s) = state.lock() {
            // LOGIN with literals, SELECT of a mailbox named by a literal: noted, never rewritten.
            let _ = s.command(&command);
        }
    }
}

async fn server_to_client(
    mut r: BufReader<tokio::io::ReadHalf<BoxStream>>,
    client: ClientWriter,
    state: Arc<Mutex<State>>,
    shared: Arc<Proxy>,
) -> std::io::Result<()> {
    let mut line = Vec::new();
    loop {
        if !line_in_time(&mut r, &mut line, shared.idle).await? {
            return Ok(());
        }
        let fetch = line.starts_with(b"* ") && memchr::memmem::find(&line, b" FETCH (").is_some();
        let mut w = client.lock().await;
        if !fetch {
            if let Ok(mut s) = state.lock() {
                s.response(&line);
            }
            if line.starts_with(b"* CAPABILITY") || memchr::memmem::find(&line, b"[CAPABILITY ").is_some() {
                let stripped = without_hidden(&line);
                relay_response(&mut r, &mut *w, &stripped).await?;
            } else {
                relay_response(&mut r, &mut *w, &line).await?;
            }
            w.flush().await?;
            continue;
        }
        let in_flight = state.lock().map(|s| s.in_flight()).unwrap_or_default();
        let Some(held) =
            response::read(&mut r, &mut *w, &line, in_flight.injected, MAX_LINE, shared.max_message).await?
        else {
            w.flush().await?;
            continue;
        };
        let out = if held.message().is_some_and(|m| shared.opener.needs_opening(m)) {
            let (user, prefix) = state.lock().map(|s| (s.user.clone(), s.cache_prefix())).unwrap_or_default();
            let shared = shared.clone();
            tokio::task::spawn_blocking(move || answer(&shared, user.as_deref(), prefix, &in_flight, held))
                .await
                .map_err(std::io::Error::other)?
        } else {
            held.bytes
        };
        w.write_all(&out).await?;
        w.flush().await?;
    }
}

/// Relays a response that is not rewritten: its line, then each literal it announces and the line after.
async fn relay_response<R: AsyncBufRead + Unpin, W: AsyncWrite + Unpin>(
    r: &mut R,
    w: &mut W,
    first: &[u8],
) -> std::io::Result<()> {
    let mut line = first.to_vec();
    loop {
        w.write_all(&line).await?;
        let Some(Literal { len, .. }) = wire::announcement(&line).map_err(std::io::Error::other)? else {
            return Ok(());
        };
        response::copy_exact(r, w, len).await?;
        if !wire::read_line(r, &mut line, MAX_LINE).await? {
            return Err(std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "the server ended inside a response"));
        }
    }
}

/// The FETCH response for a held one whose message is sealed: every item answered from the opened message
/// (kept under the message's UID in the selected mailbox), or the response as the server sent it when the
/// message cannot be opened.
fn answer(
    shared: &Proxy,
    user: Option<&str>,
    prefix: Option<String>,
    in_flight: &super::state::Fetch,
    held: Held,
) -> Vec<u8> {
    let Some(message) = held.message() else { return held.bytes };
    let key = prefix.zip(super::fetch::uid(&held.bytes)).map(|(p, uid)| format!("{p}{uid}"));
    let shown = shared.opener.open(user, key.as_deref(), message);
    match &*shown {
        Shown::AsStored => held.bytes,
        Shown::Opened(opened) => {
            super::fetch::rewrite(&held.bytes, opened, &in_flight.partials, in_flight.injected).unwrap_or(held.bytes)
        }
    }
}

/// Capabilities the proxy does not pass on: STARTTLS and COMPRESS=DEFLATE (the proxy could no longer read the
/// session after them), BINARY (FETCH BINARY[...] would give the server's parts of a sealed message, not the
/// opened one's), PREVIEW and SNIPPET=FUZZY (previews made by the server from the ciphertext).
const HIDDEN: [&str; 5] = ["STARTTLS", "COMPRESS=DEFLATE", "BINARY", "PREVIEW", "SNIPPET=FUZZY"];

/// A CAPABILITY list (a response or a response code) without the [`HIDDEN`] capabilities.
fn without_hidden(line: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(line.len());
    let mut i = 0;
    while i < line.len() {
        if line[i] != b' ' {
            out.push(line[i]);
            i += 1;
            continue;
        }
        let start = i + 1;
        let end = line[start..]
            .iter()
            .position(|b| matches!(b, b' ' | b']' | b'\r' | b'\n'))
            .map_or(line.len(), |n| start + n);
        if !HIDDEN.iter().any(|h| line[start..end].eq_ignore_ascii_case(h.as_bytes())) {
            out.extend_from_slice(&line[i..end]);
        }
        i = end;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn starttls_leaves_the_capability_lists() {
        assert_eq!(
            without_hidden(b"* OK [CAPABILITY IMAP4rev1 SASL-IR STARTTLS AUTH=PLAIN] ready\r\n"),
            b"* OK [CAPABILITY IMAP4rev1 SASL-IR AUTH=PLAIN] ready\r\n"
        );
        assert_eq!(without_hidden(b"* CAPABILITY IMAP4rev1 STARTTLS\r\n"), b"* CAPABILITY IMAP4rev1\r\n");
        assert_eq!(without_hidden(b"* CAPABILITY IMAP4rev1 STARTTLSX\r\n"), b"* CAPABILITY IMAP4rev1 STARTTLSX\r\n");
        assert_eq!(
            without_hidden(b"* CAPABILITY IMAP4rev1 COMPRESS=DEFLATE BINARY PREVIEW SNIPPET=FUZZY IDLE\r\n"),
            b"* CAPABILITY IMAP4rev1 IDLE\r\n"
        );
    }
}
