//! The IMAP proxy session, first version: every command and response passes through as it came, except
//! untagged FETCH responses that carry a whole message (`BODY[]`, `BODY.PEEK[]`, `RFC822`) which is
//! encrypted or signed: that message is opened with the logged-in user's keys and the response rewritten
//! for the opened message ([`super::fetch`]). Literals are read by length ([`super::wire`]), never by line;
//! a response whose literals exceed the memory bound is streamed through unchanged. After STARTTLS the
//! proxy can no longer read the session and relays bytes only.
//!
//! Not yet: partial sections answered from the whole processed message, the (mailbox, UIDVALIDITY, UID)
//! cache, TLS to the upstream, AUTHENTICATE's user name.

use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

use super::wire::{self, Literal};
use crate::filter::FilterError;
use crate::filter::config::Config;
use crate::keystore::Keystore;
use crate::mail::open::{OpenOptions, open};

/// Longest line read from either side.
const MAX_LINE: usize = 64 << 10;
/// Largest FETCH response held in memory to be rewritten; larger ones pass through as they are.
const MAX_HELD: usize = 64 << 20;

/// What both directions of a session share.
#[derive(Default)]
struct State {
    /// The user of the last LOGIN.
    user: Option<String>,
    /// STARTTLS was sent: relay only.
    raw: bool,
    /// The items of the last FETCH command (for partial lengths).
    fetch_partials: Vec<(Option<imap_codec::imap_types::fetch::Section<'static>>, u32, u32)>,
}

/// What every session shares.
pub struct Shared {
    ks: Keystore,
    authserv_id: String,
    connector: crate::filter::tls::Connector,
}

/// Runs the proxy until SIGTERM or SIGINT.
pub fn run(config: Config, ks: Keystore, listen: Option<&str>, upstream: Option<&str>) -> Result<(), FilterError> {
    let listen = listen.map(String::from).or(config.imap.listen.clone()).unwrap_or_else(|| "127.0.0.1:1143".into());
    let upstream =
        upstream.map(String::from).or(config.imap.upstream.clone()).unwrap_or_else(|| "127.0.0.1:143".into());
    let authserv_id = crate::mail::result_header::authserv_id(config.authserv_id.as_deref());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| FilterError::Temporary(format!("cannot start the runtime: {e}")))?;
    runtime.block_on(async move {
        let listener = TcpListener::bind(&listen)
            .await
            .map_err(|e| FilterError::Config(format!("cannot listen on {listen}: {e}")))?;
        tracing::info!(listen = %listen, upstream = %upstream, "sealpost filter imap ready");
        let connector = crate::filter::tls::Connector::new(&config.imap, &upstream)?;
        let shared = Arc::new(Shared { ks, authserv_id, connector });
        let stop = async {
            use tokio::signal::unix::{SignalKind, signal};
            match (signal(SignalKind::terminate()), signal(SignalKind::interrupt())) {
                (Ok(mut t), Ok(mut i)) => tokio::select! { _ = t.recv() => {}, _ = i.recv() => {} },
                _ => std::future::pending::<()>().await,
            }
        };
        tokio::pin!(stop);
        loop {
            tokio::select! {
                _ = &mut stop => break,
                accepted = listener.accept() => {
                    let Ok((client, peer)) = accepted else { continue };
                    let shared = shared.clone();
                    tokio::spawn(async move {
                        if let Err(e) = session(client, &shared).await {
                            tracing::info!(client = %peer, error = %e, "session ended");
                        }
                    });
                }
            }
        }
        Ok(())
    })
}

async fn session(client: TcpStream, shared: &Arc<Shared>) -> std::io::Result<()> {
    let _ = client.set_nodelay(true);
    let (server, greeting) = match shared.connector.imap().await {
        Ok(v) => v,
        Err(e) => {
            let mut client = client;
            let _ = client.write_all(b"* BYE [UNAVAILABLE] the upstream server cannot be reached\r\n").await;
            return Err(std::io::Error::other(e.to_string()));
        }
    };
    let (cr, mut cw) = client.into_split();
    cw.write_all(&greeting).await?;
    let (sr, sw) = tokio::io::split(server);
    let state = Arc::new(Mutex::new(State::default()));
    let up = client_to_server(BufReader::new(cr), sw, state.clone());
    let down = server_to_client(BufReader::new(sr), cw, state, shared.clone());
    // Either side ending ends the session: the other connection is closed with it.
    tokio::select! {
        r = up => r,
        r = down => r,
    }
}

async fn copy_exact<R: tokio::io::AsyncRead + Unpin, W: AsyncWrite + Unpin>(
    r: &mut R,
    w: &mut W,
    n: u32,
) -> std::io::Result<()> {
    let copied = tokio::io::copy(&mut r.take(u64::from(n)), w).await?;
    if copied < u64::from(n) {
        return Err(std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "the connection ended inside a literal"));
    }
    Ok(())
}

async fn client_to_server(
    mut r: BufReader<tokio::net::tcp::OwnedReadHalf>,
    mut w: tokio::io::WriteHalf<crate::filter::tls::BoxStream>,
    state: Arc<Mutex<State>>,
) -> std::io::Result<()> {
    let mut line = Vec::new();
    loop {
        if state.lock().map(|s| s.raw).unwrap_or(true) {
            tokio::io::copy(&mut r, &mut w).await?;
            return Ok(());
        }
        if !wire::read_line(&mut r, &mut line, MAX_LINE).await? {
            return Ok(());
        }
        observe_command(&line, &state);
        w.write_all(&line).await?;
        let literal = wire::announcement(&line).map_err(std::io::Error::other)?;
        if let Some(Literal { len, .. }) = literal {
            // A synchronising literal waits for the server's "+", which the other direction relays.
            w.flush().await?;
            copy_exact(&mut r, &mut w, len).await?;
        }
        w.flush().await?;
    }
}

/// Notes what the proxy needs from a command line: LOGIN's user, STARTTLS, FETCH's partials.
fn observe_command(line: &[u8], state: &Mutex<State>) {
    let text = String::from_utf8_lossy(line);
    let mut words = text.split_whitespace();
    let (Some(_tag), Some(cmd)) = (words.next(), words.next()) else { return };
    let Ok(mut s) = state.lock() else { return };
    match cmd.to_ascii_uppercase().as_str() {
        "LOGIN" => {
            if let Some(user) = words.next() {
                s.user = Some(user.trim_matches('"').to_ascii_lowercase());
            }
        }
        "STARTTLS" => s.raw = true,
        "FETCH" | "UID" => {
            use imap_codec::CommandCodec;
            use imap_codec::decode::Decoder;
            use imap_codec::imap_types::command::CommandBody;
            use imap_codec::imap_types::fetch::MacroOrMessageDataItemNames;
            if let Ok((_, c)) = CommandCodec::default().decode(line)
                && let CommandBody::Fetch {
                    macro_or_item_names: MacroOrMessageDataItemNames::MessageDataItemNames(items),
                    ..
                } = c.body
            {
                s.fetch_partials = super::fetch::partials(&items)
                    .into_iter()
                    .map(|(sec, o, n)| (sec.map(imap_codec::imap_types::IntoStatic::into_static), o, n))
                    .collect();
            }
        }
        _ => {}
    }
}

async fn server_to_client(
    mut r: BufReader<tokio::io::ReadHalf<crate::filter::tls::BoxStream>>,
    mut w: tokio::net::tcp::OwnedWriteHalf,
    state: Arc<Mutex<State>>,
    shared: Arc<Shared>,
) -> std::io::Result<()> {
    let mut line = Vec::new();
    loop {
        if state.lock().map(|s| s.raw).unwrap_or(true) {
            tokio::io::copy(&mut r, &mut w).await?;
            return Ok(());
        }
        if !wire::read_line(&mut r, &mut line, MAX_LINE).await? {
            return Ok(());
        }
        let fetch = line.starts_with(b"* ") && line.windows(8).any(|x| x == b" FETCH (");
        if !fetch {
            relay_response(&mut r, &mut w, &line).await?;
            w.flush().await?;
            continue;
        }
        // Hold the whole FETCH response (lines and literals) while it stays under the bound.
        let mut held = Vec::new();
        let mut streaming = false;
        loop {
            let literal = wire::announcement(&line).map_err(std::io::Error::other)?;
            if streaming {
                w.write_all(&line).await?;
            } else {
                held.extend_from_slice(&line);
            }
            let Some(Literal { len, .. }) = literal else { break };
            if !streaming && held.len() + len as usize > MAX_HELD {
                w.write_all(&held).await?;
                held.clear();
                streaming = true;
            }
            if streaming {
                copy_exact(&mut r, &mut w, len).await?;
            } else {
                let start = held.len();
                held.resize(start + len as usize, 0);
                r.read_exact(&mut held[start..]).await?;
            }
            if !wire::read_line(&mut r, &mut line, MAX_LINE).await? {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    "the server ended inside a response",
                ));
            }
        }
        if !streaming {
            let (user, partials) = state.lock().map(|s| (s.user.clone(), s.fetch_partials.clone())).unwrap_or_default();
            let shared = shared.clone();
            let out = tokio::task::spawn_blocking(move || rewrite(&shared, user.as_deref(), &partials, held))
                .await
                .map_err(std::io::Error::other)?;
            w.write_all(&out).await?;
        }
        w.flush().await?;
    }
}

/// Relays a response that is not rewritten: its line, then each literal it announces and the line after.
async fn relay_response<R: tokio::io::AsyncBufRead + Unpin, W: AsyncWrite + Unpin>(
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
        copy_exact(r, w, len).await?;
        if !wire::read_line(r, &mut line, MAX_LINE).await? {
            return Ok(());
        }
    }
}

/// The FETCH response to send: rewritten when it carries a whole message that is encrypted or signed,
/// else as the server sent it.
fn rewrite(shared: &Shared, user: Option<&str>, partials: &super::fetch::Partials<'_>, held: Vec<u8>) -> Vec<u8> {
    use imap_codec::ResponseCodec;
    use imap_codec::decode::Decoder;
    use imap_codec::imap_types::core::NString;
    use imap_codec::imap_types::fetch::MessageDataItem;
    use imap_codec::imap_types::response::{Data, Response};
    let message = match ResponseCodec::default().decode(&held) {
        Ok((_, Response::Data(Data::Fetch { items, .. }))) => items.into_iter().find_map(|i| match i {
            MessageDataItem::BodyExt { section: None, origin: None, data: NString(Some(s)) }
            | MessageDataItem::Rfc822(NString(Some(s))) => Some(s.as_ref().to_vec()),
            _ => None,
        }),
        _ => None,
    };
    let Some(message) = message else { return held };
    if !secured(&message) {
        return held;
    }
    let from = crate::mail::keys::addresses(&message, &["from"]).unwrap_or_default();
    let users: Vec<String> = user.map(String::from).into_iter().collect();
    let mut reasons = Vec::new();
    let keys = crate::filter::plan::inbound_keys(&shared.ks, &from, &users, None, &mut reasons);
    let policy = crate::core::policy::Policy::default();
    let Ok(opened) = open(&message, &keys, &OpenOptions { authserv_id: &shared.authserv_id, policy: &policy }) else {
        return held;
    };
    super::fetch::rewrite(&held, &opened.message, partials).unwrap_or(held)
}

/// True for a message whose envelope is OpenPGP, S/MIME or PEM (what the proxy opens).
fn secured(message: &[u8]) -> bool {
    let Ok(root) = crate::mime::parse(message) else { return false };
    let ct = root.content_type.as_str();
    if matches!(ct, "multipart/encrypted" | "multipart/signed" | "application/pkcs7-mime" | "application/x-pkcs7-mime")
    {
        return true;
    }
    let body = &message[root.body.clone()];
    ct == "text/plain"
        && [
            &b"-----BEGIN PGP MESSAGE-----"[..],
            b"-----BEGIN PGP SIGNED MESSAGE-----",
            b"-----BEGIN PRIVACY-ENHANCED MESSAGE-----",
        ]
        .iter()
        .any(|m| memchr::memmem::find(body, m).is_some())
}
