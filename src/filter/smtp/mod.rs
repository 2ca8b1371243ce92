//! `sealpost filter smtp`: an SMTP content filter in Postfix's after-queue pattern (as amavisd runs). The
//! MTA hands each message to [`serve`]'s listener; the message is processed with the filter policy
//! ([`super::route`], [`super::plan`]) and handed to the next hop ([`relay`]); the MTA hears 250 only after
//! the next hop accepted every copy, and a 4xx whenever anything failed, so it keeps the message queued and
//! retries: mail is never acknowledged before it has been handed on. docs/deploy/postfix.md has the
//! deployment and the one window where a duplicate is possible.
//!
//! Sessions ([`session`]) run on tokio; the signing and encryption run on blocking threads, at most
//! `workers` at once. SIGTERM stops the listener, lets messages in flight finish (up to `shutdown_seconds`)
//! and answers idle clients 421.

pub mod command;
pub mod line;
pub mod relay;
mod session;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;

use super::FilterError;
use super::config::Config;
use crate::keystore::Keystore;

/// What every session shares.
pub struct Shared {
    config: Config,
    ks: Keystore,
    pass: Option<zeroize::Zeroizing<Vec<u8>>>,
    authserv_id: String,
    hostname: String,
    relay: relay::Relay,
    keys: super::route::Keys,
    workers: Semaphore,
    next_id: AtomicU64,
    id_prefix: u32,
}

impl Shared {
    /// Reads what the sessions need once: the passphrase file, names, the next hop.
    pub fn new(config: Config, ks: Keystore) -> Result<Shared, FilterError> {
        let pass = super::plan::passphrase(&config)?;
        let authserv_id = crate::mail::result_header::authserv_id(config.authserv_id.as_deref());
        let s = &config.smtp;
        let hostname = s.hostname.clone().unwrap_or_else(|| authserv_id.clone());
        // Twice the cores by default: a message's processing is handed to a blocking thread and back, and
        // with one permit per core those hand-overs left a fifth of the CPU idle at full load (measured:
        // 2 cores, workers 2/3/4 = 881/1081/1129 messages/s; benches/smtp_vs_gpg.sh).
        let workers = s.workers.unwrap_or_else(|| 2 * std::thread::available_parallelism().map_or(1, |n| n.get()));
        let relay =
            relay::Relay::new(&s.relay, &hostname, Duration::from_secs(s.relay_timeout_seconds), s.max_connections)
                .map_err(FilterError::Config)?;
        let mut seed = [0u8; 4];
        crate::core::rand::Rng::fill(&mut crate::core::rand::SystemRng, &mut seed)
            .map_err(|e| FilterError::Temporary(e.to_string()))?;
        let keys = super::route::Keys::new(Duration::from_secs(s.key_cache_seconds));
        Ok(Shared {
            keys,
            authserv_id,
            hostname,
            relay,
            pass,
            workers: Semaphore::new(workers),
            next_id: AtomicU64::new(1),
            id_prefix: u32::from_be_bytes(seed),
            config,
            ks,
        })
    }
}

/// Runs the filter until SIGTERM or SIGINT: binds `config.smtp.listen` (or `listen`), relays to
/// `config.smtp.relay`.
pub fn run(mut config: Config, ks: Keystore, listen: Option<&str>, relay: Option<&str>) -> Result<(), FilterError> {
    if let Some(l) = listen {
        config.smtp.listen = l.to_string();
    }
    if let Some(r) = relay {
        config.smtp.relay = r.to_string();
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| FilterError::Temporary(format!("cannot start the runtime: {e}")))?;
    runtime.block_on(async move {
        let addr = config.smtp.listen.clone();
        let listener =
            TcpListener::bind(&addr).await.map_err(|e| FilterError::Config(format!("cannot listen on {addr}: {e}")))?;
        let shared = Arc::new(Shared::new(config, ks)?);
        let (tx, rx) = watch::channel(false);
        tokio::spawn(async move {
            use tokio::signal::unix::{SignalKind, signal};
            let (Ok(mut term), Ok(mut int)) = (signal(SignalKind::terminate()), signal(SignalKind::interrupt())) else {
                tracing::error!("cannot install the SIGTERM handler");
                return;
            };
            tokio::select! {
                _ = term.recv() => {}
                _ = int.recv() => {}
            }
            tracing::info!("shutting down: refusing new connections, finishing messages in flight");
            let _ = tx.send(true);
        });
        tracing::info!(listen = %addr, relay = %shared.config.smtp.relay, "sealpost filter smtp ready");
        serve(listener, shared, rx).await;
        Ok(())
    })
}

/// Accepts connections until `shutdown` turns true, then waits for the sessions (at most
/// `shutdown_seconds`) and closes the next hop's connections.
pub async fn serve(listener: TcpListener, shared: Arc<Shared>, mut shutdown: watch::Receiver<bool>) {
    let limit = Arc::new(Semaphore::new(shared.config.smtp.max_connections));
    let mut sessions = JoinSet::new();
    loop {
        while sessions.try_join_next().is_some() {}
        let accepted = tokio::select! {
            a = listener.accept() => a,
            _ = shutdown.changed() => break,
        };
        let (stream, peer): (_, SocketAddr) = match accepted {
            Ok(a) => a,
            Err(e) => {
                // Out of descriptors and the like: wait a little rather than spin.
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let permit = limit.clone().try_acquire_owned().ok();
        let (shared, rx) = (shared.clone(), shutdown.clone());
        sessions.spawn(async move {
            match permit {
                Some(_permit) => session::run(stream, peer, shared, rx).await,
                None => session::too_busy(stream, peer).await,
            }
        });
    }
    drop(listener);
    let grace = Duration::from_secs(shared.config.smtp.shutdown_seconds);
    let drained = tokio::time::timeout(grace, async { while sessions.join_next().await.is_some() {} }).await;
    if drained.is_err() {
        tracing::warn!(left = sessions.len(), "sessions still running after the grace period: closed");
        sessions.shutdown().await;
    }
    shared.relay.shutdown().await;
    tracing::info!("stopped");
}
