//! The mail hooks: the SMTP content filter ([`smtp`], per-recipient decisions in [`route`]), the pipe
//! filter and `filter explain` (issue #7), and later the
//! IMAP and POP3 proxies (issues #8, #11). Every message goes through [`plan`]: the configuration
//! ([`config`]) and the keystore decide, the mail layer does the work.

pub mod cache;
pub mod config;
pub mod imap;
pub mod listener;
pub mod opened;
pub mod plan;
pub mod pop3;
pub mod route;
pub mod smtp;
pub mod tls;

/// Errors of the filters. The pipe filter maps them to exit statuses a mail system understands.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FilterError {
    /// The configuration file is wrong.
    #[error("configuration: {0}")]
    Config(String),
    /// Try again later (a key that cannot be read, a message that cannot be sealed now).
    #[error("temporary failure: {0}")]
    Temporary(String),
    /// Refused for good (encryption required and a key missing).
    #[error("refused: {0}")]
    Refused(String),
    /// The message could not be parsed.
    #[error(transparent)]
    Mime(#[from] crate::mime::MimeError),
    /// The mail layer failed.
    #[error(transparent)]
    Mail(#[from] crate::mail::MailError),
    /// The keystore failed.
    #[error(transparent)]
    Keystore(#[from] crate::keystore::KeystoreError),
}

impl FilterError {
    /// The sysexits(3) status for a pipe: 75 (EX_TEMPFAIL) to retry, 69 (EX_UNAVAILABLE) to bounce, 78
    /// (EX_CONFIG) for a broken configuration.
    pub fn exit_status(&self) -> u8 {
        match self {
            FilterError::Refused(_) => 69,
            FilterError::Config(_) => 78,
            _ => 75,
        }
    }
}
