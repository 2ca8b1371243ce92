//! Keys loaded from the keystore, kept for a while: loading a key means parsing it and checking its
//! self-signatures (and, for a secret RSA key, the key itself), which costs more than signing a message.
//! The SMTP hook keeps what it loaded for `key_cache_seconds` (a key imported meanwhile takes effect
//! after at most that long; 0 turns the cache off), and forgets everything when the cache is full.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Most entries before the cache is emptied.
const MAX_ENTRIES: usize = 4096;

/// A time-bounded cache of loaded values.
pub struct Cache<T> {
    ttl: Duration,
    map: Mutex<HashMap<String, (Instant, Arc<T>)>>,
}

impl<T> Cache<T> {
    /// Entries live `ttl` (zero: nothing is kept).
    pub fn new(ttl: Duration) -> Cache<T> {
        Cache { ttl, map: Mutex::new(HashMap::new()) }
    }

    /// The value for `key`, loaded with `load` when absent or expired. Errors are not kept.
    pub fn get<E>(&self, key: &str, load: impl FnOnce() -> Result<T, E>) -> Result<Arc<T>, E> {
        if self.ttl.is_zero() {
            return load().map(Arc::new);
        }
        if let Ok(map) = self.map.lock()
            && let Some((at, v)) = map.get(key)
            && at.elapsed() < self.ttl
        {
            return Ok(v.clone());
        }
        // Loaded outside the lock: two sessions may load the same key at once, which is harmless.
        let v = Arc::new(load()?);
        if let Ok(mut map) = self.map.lock() {
            if map.len() >= MAX_ENTRIES {
                map.clear();
            }
            map.insert(key.to_string(), (Instant::now(), v.clone()));
        }
        Ok(v)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // A panic in a test is a failed test.

    use super::*;

    #[test]
    fn values_are_kept_for_their_time_only() {
        let c: Cache<u32> = Cache::new(Duration::from_millis(200));
        let mut loads = 0;
        for _ in 0..3 {
            let v = c.get("k", || -> Result<u32, ()> {
                loads += 1;
                Ok(7)
            });
            assert_eq!(*v.unwrap(), 7);
        }
        assert_eq!(loads, 1);
        assert!(c.get("e", || Err::<u32, &str>("no")).is_err());
        assert_eq!(*c.get("e", || Ok::<u32, &str>(1)).unwrap(), 1, "an error is not kept");
        std::thread::sleep(Duration::from_millis(250));
        c.get("k", || -> Result<u32, ()> {
            loads += 1;
            Ok(8)
        })
        .unwrap();
        assert_eq!(loads, 2);
        let off: Cache<u32> = Cache::new(Duration::ZERO);
        off.get("k", || Ok::<u32, ()>(1)).unwrap();
        assert_eq!(*off.get("k", || Ok::<u32, ()>(2)).unwrap(), 2);
    }
}
