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
