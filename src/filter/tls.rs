//! The proxies' connection to their upstream server: plain TCP, implicit TLS or STARTTLS/STLS (rustls),
//! chosen by `[imap]`/`[pop3]` `tls` (SECURITY-CASES D4, E). First version: plain TCP only; the TLS modes
//! are refused as not built yet.

use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, BufReader};
use tokio::net::TcpStream;

use super::FilterError;
use super::config::{Endpoint, UpstreamTls};

/// A connection in either direction, plain or TLS.
pub trait Stream: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Stream for T {}

/// A boxed [`Stream`].
pub type BoxStream = Box<dyn Stream>;

/// How to reach one upstream server; built once per proxy.
pub struct Connector {
    upstream: String,
    mode: UpstreamTls,
    timeout: Duration,
}

impl Connector {
    /// The connector for `endpoint`, whose upstream is `upstream` (the command line's or the config's).
    pub fn new(endpoint: &Endpoint, upstream: &str) -> Result<Connector, FilterError> {
        if endpoint.tls != UpstreamTls::None {
            return Err(FilterError::Config("tls to the upstream is not built yet".into()));
        }
        Ok(Connector {
            upstream: upstream.to_string(),
            mode: endpoint.tls,
            timeout: Duration::from_secs(endpoint.connect_timeout_seconds),
        })
    }

    /// The upstream's address.
    pub fn upstream(&self) -> &str {
        &self.upstream
    }

    /// Connects to the IMAP upstream and reads its greeting. Returns the connection, positioned after the
    /// greeting (no byte that followed it is lost), and the greeting line to give the client (CRLF-ended).
    pub async fn imap(&self) -> Result<(BoxStream, Vec<u8>), FilterError> {
        let _ = self.mode;
        let connect = async {
            let tcp = TcpStream::connect(&self.upstream).await?;
            let _ = tcp.set_nodelay(true);
            let mut r = BufReader::new(tcp);
            let mut greeting = Vec::new();
            if !super::imap::wire::read_line(&mut r, &mut greeting, 64 << 10).await? {
                return Err(std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "no greeting"));
            }
            Ok((Box::new(r) as BoxStream, greeting))
        };
        match tokio::time::timeout(self.timeout, connect).await {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) => Err(FilterError::Temporary(format!("upstream {}: {e}", self.upstream))),
            Err(_) => Err(FilterError::Temporary(format!("upstream {}: no greeting in time", self.upstream))),
        }
    }
}
