//! The proxies' listener (IMAP, POP3): a tokio runtime, at most `max_connections` sessions at once (the
//! next client gets the protocol's refusal and is closed), and on SIGTERM or SIGINT no new connections,
//! then up to `shutdown_seconds` for the sessions to end.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;

use super::FilterError;
use super::config::{Config, Endpoint};
use super::opened::Opener;
use super::tls::Connector;
use crate::keystore::Keystore;

/// What every session of a proxy shares, built from its `[imap]` or `[pop3]` section.
pub struct Proxy {
    /// Opens sealed messages with the logged-in user's keys, and keeps them.
    pub opener: Opener,
    /// The connection to the upstream server (plain, TLS, STARTTLS/STLS).
    pub connector: Connector,
    /// How long either side may stay silent.
    pub idle: Duration,
    /// Largest message held to be opened (or response held to be rewritten); larger ones pass through as
    /// they are.
    pub max_message: usize,
}

/// What tells the proxies apart here: the name, the default addresses, the refusal of a client over the
/// connection limit.
pub struct ProxyKind {
    /// The name in logs (`imap`, `pop3`).
    pub name: &'static str,
    /// Where it listens unless told.
    pub default_listen: &'static str,
    /// Where it connects unless told.
    pub default_upstream: &'static str,
    /// What a client over the limit is told before it is closed (`* BYE ...`, `-ERR ...`).
    pub refusal: &'static [u8],
}

/// Runs a proxy until SIGTERM or SIGINT: the addresses from the command line, else `endpoint`, else the
/// kind's defaults; every client gets `session` with the shared [`Proxy`].
pub fn serve_proxy<F, Fut>(
    kind: ProxyKind,
    config: &Config,
    endpoint: &Endpoint,
    ks: Keystore,
    listen: Option<&str>,
    upstream: Option<&str>,
    session: F,
) -> Result<(), FilterError>
where
    F: Fn(TcpStream, Arc<Proxy>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = std::io::Result<()>> + Send + 'static,
{
    let listen = listen.map(String::from).or(endpoint.listen.clone()).unwrap_or_else(|| kind.default_listen.into());
    let upstream =
        upstream.map(String::from).or(endpoint.upstream.clone()).unwrap_or_else(|| kind.default_upstream.into());
    let shared = Arc::new(Proxy {
        opener: Opener::for_proxy(config, endpoint, ks)?,
        connector: Connector::new(endpoint, &upstream)?,
        idle: Duration::from_secs(endpoint.timeout_seconds),
        max_message: endpoint.max_message_bytes,
    });
    let how = Listen {
        name: kind.name,
        addr: &listen,
        upstream: &upstream,
        max_connections: endpoint.max_connections,
        refusal: kind.refusal,
        shutdown: Duration::from_secs(endpoint.shutdown_seconds),
    };
    serve(how, move |client| session(client, shared.clone()))
}

/// How a proxy listens.
pub struct Listen<'a> {
    /// The proxy's name in logs (`imap`, `pop3`).
    pub name: &'static str,
    /// The address to listen on.
    pub addr: &'a str,
    /// The upstream, for the log line at start.
    pub upstream: &'a str,
    /// Most sessions at once.
    pub max_connections: usize,
    /// What a client over the limit is told before it is closed (`* BYE ...`, `-ERR ...`).
    pub refusal: &'static [u8],
    /// How long sessions may go on after SIGTERM.
    pub shutdown: Duration,
}

/// Serves `session` for every client until SIGTERM or SIGINT.
pub fn serve<F, Fut>(how: Listen<'_>, session: F) -> Result<(), FilterError>
where
    F: Fn(TcpStream) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = std::io::Result<()>> + Send + 'static,
{
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| FilterError::Temporary(format!("cannot start the runtime: {e}")))?;
    runtime.block_on(async move {
        let listener = TcpListener::bind(how.addr)
            .await
            .map_err(|e| FilterError::Config(format!("cannot listen on {}: {e}", how.addr)))?;
        tracing::info!(listen = %how.addr, upstream = %how.upstream, "sealpost filter {} ready", how.name);
        let slots = Arc::new(Semaphore::new(how.max_connections));
        let session = Arc::new(session);
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
                    let Ok((mut client, peer)) = accepted else { continue };
                    let Ok(permit) = slots.clone().try_acquire_owned() else {
                        tracing::warn!(client = %peer, "too many connections");
                        let _ = client.write_all(how.refusal).await;
                        continue;
                    };
                    let _ = client.set_nodelay(true);
                    let session = session.clone();
                    tokio::spawn(async move {
                        ended(peer, session(client).await);
                        drop(permit);
                    });
                }
            }
        }
        drop(listener);
        tracing::info!("stopping: no new connections; waiting for sessions to end");
        let all = u32::try_from(how.max_connections).unwrap_or(u32::MAX);
        if tokio::time::timeout(how.shutdown, slots.acquire_many(all)).await.is_err() {
            tracing::info!("sessions still open after shutdown_seconds are closed");
        }
        Ok(())
    })
}

fn ended(peer: SocketAddr, result: std::io::Result<()>) {
    match result {
        Ok(()) => tracing::debug!(client = %peer, "session ended"),
        Err(e) => tracing::info!(client = %peer, error = %e, "session ended"),
    }
}
