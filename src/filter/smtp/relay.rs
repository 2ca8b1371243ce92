//! The next hop: each processed message handed to Postfix's re-injection smtpd (or any SMTP server) with
//! `lettre`, over pooled connections. The proxy answers its client only with what happened here.

use std::time::Duration;

use lettre::address::Envelope;
use lettre::transport::smtp::extension::ClientId;
use lettre::transport::smtp::{AsyncSmtpTransport, PoolConfig};
use lettre::{Address, AsyncTransport, Tokio1Executor};

/// How the next hop failed.
#[derive(Debug)]
pub struct RelayError {
    /// It refused for good (5xx): the client should not retry.
    pub permanent: bool,
    /// The reply code, when there was a reply.
    pub code: Option<u16>,
    /// What happened, one line.
    pub text: String,
}

/// The next hop.
pub struct Relay {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    addr: String,
}

impl Relay {
    /// A pooled client for `addr` (`host:port`), at most `connections` open.
    pub fn new(addr: &str, hostname: &str, timeout: Duration, connections: u32) -> Result<Relay, String> {
        let (host, port) = addr.rsplit_once(':').ok_or_else(|| format!("relay {addr:?}: host:port expected"))?;
        let port: u16 = port.parse().map_err(|_| format!("relay {addr:?}: the port is not a number"))?;
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let transport = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host)
            .port(port)
            .timeout(Some(timeout))
            .hello_name(ClientId::Domain(hostname.to_string()))
            .pool_config(PoolConfig::new().max_size(connections.max(1)).idle_timeout(Duration::from_secs(30)))
            .build();
        Ok(Relay { transport, addr: addr.to_string() })
    }

    /// Hands `data` (CRLF lines) to the next hop for `rcpts`; the next hop's reply text on success.
    pub async fn send(&self, from: Option<&str>, rcpts: &[String], data: &[u8]) -> Result<String, RelayError> {
        let fail = |text: String| RelayError { permanent: false, code: None, text };
        let addr = |a: &str| {
            a.rsplit_once('@')
                .map(|(u, d)| Address::new_dangerous(u, d))
                .ok_or_else(|| fail(format!("{a:?} is not user@domain")))
        };
        let from = from.map(addr).transpose()?;
        let to = rcpts.iter().map(|r| addr(r)).collect::<Result<Vec<_>, _>>()?;
        let envelope = Envelope::new(from, to).map_err(|e| fail(format!("envelope: {e}")))?;
        // lettre ends the data with CRLF . CRLF itself: one final CRLF of ours would become an empty line.
        let body = data.strip_suffix(b"\r\n").unwrap_or(data);
        match self.transport.send_raw(&envelope, body).await {
            Ok(r) => Ok(one_line(&r.message().collect::<Vec<_>>().join(" "))),
            Err(e) => Err(RelayError {
                permanent: e.is_permanent(),
                code: e.status().map(u16::from),
                text: one_line(&format!("next hop {}: {e}", self.addr)),
            }),
        }
    }

    /// Closes the pooled connections.
    pub async fn shutdown(&self) {
        self.transport.shutdown().await;
    }
}

/// Text safe to put in a reply or a log line: one line, printable, bounded.
pub fn one_line(s: &str) -> String {
    let mut out: String = s.chars().map(|c| if c.is_control() { ' ' } else { c }).take(300).collect();
    out.truncate(out.trim_end().len());
    out
}
