//! Received messages opened for the user of a proxy session (the IMAP hook, and the POP3 hook of issue
//! #11): a message whose envelope is OpenPGP, S/MIME or PEM is verified and decrypted with the user's
//! keystore keys and shown with the verification header; any other message is shown as it is.
//!
//! What was opened is kept, within `cache_bytes` and for `cache_seconds`, under a key the caller makes
//! from the user and the message's identity on its server (for IMAP: user, mailbox, UIDVALIDITY and UID,
//! which RFC 3501 section 2.3.1.1 guarantees never to name two different messages). The user is always
//! part of the key, so one user's decrypted mail is never shown in another user's session.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use zeroize::Zeroizing;

use super::cache::Cache;
use crate::core::policy::Policy;
use crate::keystore::Keystore;
use crate::mail::keys::MailKeys;
use crate::mail::open::{OpenOptions, is_sealed, open, without_forged_verification};

/// How a message is shown to the proxy's client. Its `Debug` gives the length only: decrypted text is never
/// logged.
pub enum Shown {
    /// As the server has it (nothing signed or encrypted, or too large to open).
    AsStored,
    /// Opened: decrypted and/or verified, with the verification header.
    Opened(Zeroizing<Vec<u8>>),
}

impl std::fmt::Debug for Shown {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Shown::AsStored => f.write_str("AsStored"),
            Shown::Opened(m) => write!(f, "Opened({} bytes, redacted)", m.len()),
        }
    }
}

/// Size charged to the cache for an entry beside its bytes.
const ENTRY_OVERHEAD: usize = 128;

struct Entry {
    at: Instant,
    size: usize,
    shown: Arc<Shown>,
}

#[derive(Default)]
struct Store {
    map: HashMap<String, Entry>,
    /// Keys in insertion order, oldest first (evicted first).
    order: VecDeque<String>,
    bytes: usize,
}

/// Opens messages for proxy sessions; one per proxy, shared by its sessions.
pub struct Opener {
    ks: Keystore,
    authserv_id: String,
    passphrase: Option<Zeroizing<Vec<u8>>>,
    /// Trust anchors for S/MIME and PEM signers (`[inbound] ca_file`).
    anchors: Vec<x509_cert::Certificate>,
    policy: Policy,
    keys: Cache<MailKeys>,
    max_bytes: usize,
    ttl: Duration,
    store: Mutex<Store>,
}

impl Opener {
    /// An opener over `ks`, keeping at most `max_bytes` of opened messages for `ttl` (0 bytes: none kept).
    pub fn new(
        ks: Keystore,
        authserv_id: String,
        passphrase: Option<Zeroizing<Vec<u8>>>,
        max_bytes: usize,
        ttl: Duration,
    ) -> Opener {
        Opener {
            ks,
            authserv_id,
            passphrase,
            anchors: Vec::new(),
            policy: Policy::default(),
            keys: Cache::new(ttl.min(Duration::from_secs(60))),
            max_bytes,
            ttl,
            store: Mutex::new(Store::default()),
        }
    }

    /// The opener of a proxy: the configuration's authserv-id, passphrase file and `[inbound] ca_file`, the
    /// endpoint's cache.
    pub fn for_proxy(
        config: &super::config::Config,
        endpoint: &super::config::Endpoint,
        ks: Keystore,
    ) -> Result<Opener, super::FilterError> {
        let authserv_id = crate::mail::result_header::authserv_id(config.authserv_id.as_deref());
        let passphrase = super::plan::passphrase(config)?;
        let ttl = Duration::from_secs(endpoint.cache_seconds);
        let mut opener = Opener::new(ks, authserv_id, passphrase, endpoint.cache_bytes, ttl);
        opener.anchors = config.inbound.anchors.clone();
        Ok(opener)
    }

    /// What is kept under `key`, if anything.
    pub fn cached(&self, key: &str) -> Option<Arc<Shown>> {
        let store = self.store.lock().ok()?;
        let e = store.map.get(key)?;
        (e.at.elapsed() < self.ttl).then(|| e.shown.clone())
    }

    /// Opens `message` for `user` (whose secret keys decrypt it), keeping the result under `key` when given.
    /// Without a user nothing is decrypted; signatures are still verified.
    pub fn open(&self, user: Option<&str>, key: Option<&str>, message: &[u8]) -> Arc<Shown> {
        if let Some(k) = key
            && let Some(s) = self.cached(k)
        {
            return s;
        }
        let shown = Arc::new(self.open_now(user, message));
        if let Some(k) = key {
            self.keep(k, shown.clone());
        }
        shown
    }

    /// True when the proxy must not show `message` as stored: it is sealed, or it carries a verification
    /// header that poses as ours.
    pub fn needs_opening(&self, message: &[u8]) -> bool {
        crate::mail::open::needs_opening(message, &self.authserv_id)
    }

    fn open_now(&self, user: Option<&str>, message: &[u8]) -> Shown {
        if !is_sealed(message) {
            // Shown as stored, less any header that poses as ours (SECURITY-CASES C); ours is not added.
            return match without_forged_verification(message, &self.authserv_id) {
                Some(cleaned) if cleaned != message => Shown::Opened(Zeroizing::new(cleaned)),
                _ => Shown::AsStored,
            };
        }
        let from = crate::mail::keys::addresses(message, &["from"]).unwrap_or_default();
        let users: Vec<String> = user.map(str::to_ascii_lowercase).into_iter().collect();
        let cache_key = format!("in|{}|{}", from.join(","), users.join(","));
        let keys = self.keys.get(&cache_key, || {
            let mut reasons = Vec::new();
            Ok::<_, ()>(super::plan::inbound_keys(
                &self.ks,
                &self.anchors,
                &from,
                &users,
                self.passphrase.as_deref().map(|p| &p[..]),
                &mut reasons,
            ))
        });
        let Ok(keys) = keys else { return Shown::AsStored };
        match open(message, &keys, &OpenOptions { authserv_id: &self.authserv_id, policy: &self.policy }) {
            Ok(o) => Shown::Opened(Zeroizing::new(o.message)),
            Err(e) => {
                tracing::info!(error = %e, "a message could not be opened; shown as stored");
                Shown::AsStored
            }
        }
    }

    fn keep(&self, key: &str, shown: Arc<Shown>) {
        let size = key.len()
            + ENTRY_OVERHEAD
            + match &*shown {
                Shown::AsStored => 0,
                Shown::Opened(m) => m.len(),
            };
        if self.max_bytes == 0 || size > self.max_bytes / 4 {
            return;
        }
        let Ok(mut store) = self.store.lock() else { return };
        if let Some(old) = store.map.remove(key) {
            store.bytes -= old.size;
            store.order.retain(|k| k != key);
        }
        while store.bytes + size > self.max_bytes {
            let Some(oldest) = store.order.pop_front() else { break };
            if let Some(e) = store.map.remove(&oldest) {
                store.bytes -= e.size;
            }
        }
        store.bytes += size;
        store.order.push_back(key.to_string());
        store.map.insert(key.to_string(), Entry { at: Instant::now(), size, shown });
    }

    /// Bytes held by the cache (for tests and logs).
    pub fn cached_bytes(&self) -> usize {
        self.store.lock().map(|s| s.bytes).unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)] // A panic in a test is a failed test.

    use super::*;

    fn opener(max: usize) -> Opener {
        let dir = std::env::temp_dir().join(format!("sealpost-opened-{}-{max}", std::process::id()));
        let ks = Keystore::open(Some(&dir)).unwrap();
        Opener::new(ks, "test.example".into(), None, max, Duration::from_secs(60))
    }

    #[test]
    fn plaintext_is_shown_as_stored_and_remembered() {
        let o = opener(1 << 20);
        let m = b"From: a@example.org\r\nSubject: hi\r\n\r\nplain\r\n";
        assert!(matches!(*o.open(Some("bob@example.org"), Some("bob|INBOX|1|7"), m), Shown::AsStored));
        assert!(o.cached("bob|INBOX|1|7").is_some());
        assert!(o.cached("carol|INBOX|1|7").is_none(), "another user's key is another entry");
    }

    #[test]
    fn only_sealed_messages_are_opened() {
        let o = opener(0);
        let inline = b"From: a@example.org\r\n\r\nhello\r\n-----BEGIN PGP MESSAGE-----\r\n\r\nhQEMA\r\n-----END PGP MESSAGE-----\r\n";
        assert!(matches!(*o.open(None, None, inline), Shown::Opened(_)), "inline PGP in a text body");
        let html = b"From: a@example.org\r\nContent-Type: text/html\r\n\r\n-----BEGIN PGP MESSAGE-----\r\n";
        assert!(matches!(*o.open(None, None, html), Shown::AsStored));
        let quoted = b"From: a@example.org\r\n\r\n> -----BEGIN PGP MESSAGE-----\r\n";
        assert!(matches!(*o.open(None, None, quoted), Shown::AsStored), "armor must begin a line");
        let smime =
            b"From: a@example.org\r\nContent-Type: application/pkcs7-mime; smime-type=enveloped-data\r\n\r\nMIAG\r\n";
        assert!(matches!(*o.open(None, None, smime), Shown::Opened(_)));
    }

    #[test]
    fn a_forged_verification_header_is_taken_out_of_a_plaintext_message() {
        let o = opener(0);
        let m = b"Sealpost-Verification: test.example; status=pass\r\nsealpost-VERIFICATION: x\r\nAuthentication-Results: test.example; dkim=pass\r\nAuthentication-Results: other.example; dkim=pass\r\nFrom: a@example.org\r\n\r\nhello\r\n";
        assert!(o.needs_opening(m));
        let Shown::Opened(out) = &*o.open(None, None, m) else { panic!("kept as stored") };
        assert_eq!(
            &out[..],
            b"Authentication-Results: other.example; dkim=pass\r\nFrom: a@example.org\r\n\r\nhello\r\n"
        );
        let clean = b"From: a@example.org\r\n\r\nhello\r\n";
        assert!(!o.needs_opening(clean));
        let attached = b"From: a@example.org\r\nContent-Type: message/rfc822\r\n\r\nSealpost-Verification: test.example; status=pass\r\nFrom: b@example.org\r\n\r\ninner\r\n";
        assert!(o.needs_opening(attached), "in an attached message's header");
    }

    #[test]
    fn the_cache_stays_within_its_bound() {
        let o = opener(4096);
        for i in 0..1000 {
            o.keep(&format!("k{i}"), Arc::new(Shown::Opened(Zeroizing::new(vec![b'x'; 500]))));
            assert!(o.cached_bytes() <= 4096);
        }
        assert!(o.cached("k999").is_some() && o.cached("k0").is_none());
        // An entry over a quarter of the bound is not kept at all.
        o.keep("big", Arc::new(Shown::Opened(Zeroizing::new(vec![0; 2000]))));
        assert!(o.cached("big").is_none());
    }

    #[test]
    fn a_signed_message_without_keys_is_opened_with_a_failing_verdict() {
        let o = opener(0);
        let m = b"From: a@example.org\r\nContent-Type: multipart/signed; protocol=\"application/pgp-signature\"; micalg=pgp-sha256; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nhi\r\n--b\r\nContent-Type: application/pgp-signature\r\n\r\nnot a signature\r\n--b--\r\n";
        let shown = o.open(None, None, m);
        let Shown::Opened(out) = &*shown else { panic!("not opened") };
        assert!(!format!("{shown:?}").contains("Sealpost"), "Debug shows the opened text");
        assert!(out.starts_with(b"Sealpost-Verification: test.example;"), "{}", String::from_utf8_lossy(out));
    }
}
