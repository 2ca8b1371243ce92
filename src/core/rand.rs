//! Randomness as a parameter: the operating system's generator for real use, a seeded one for tests and
//! benchmarks, so that nothing random is hidden inside the core.

use zeroize::Zeroizing;

use super::digest::{HashAlgorithm, Hasher};
use super::error::CoreError;

/// A source of random bytes.
pub trait Rng: Send {
    /// Fills `buf` with random bytes.
    fn fill(&mut self, buf: &mut [u8]) -> Result<(), CoreError>;

    /// `n` random bytes in a zeroizing buffer.
    fn bytes(&mut self, n: usize) -> Result<Zeroizing<Vec<u8>>, CoreError> {
        let mut v = Zeroizing::new(vec![0u8; n]);
        self.fill(&mut v)?;
        Ok(v)
    }
}

/// The operating system's generator (`getrandom(2)`).
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemRng;

impl Rng for SystemRng {
    fn fill(&mut self, buf: &mut [u8]) -> Result<(), CoreError> {
        getrandom::fill(buf).map_err(|e| CoreError::Io(std::io::Error::other(format!("getrandom: {e}"))))
    }
}

/// A deterministic generator (SHA-256 of seed and counter) for reproducible tests, demos and benchmarks.
/// Never use it for real keys.
#[derive(Clone)]
pub struct SeededRng {
    seed: [u8; 32],
    counter: u64,
}

impl SeededRng {
    /// A generator from a seed.
    pub fn new(seed: &[u8]) -> SeededRng {
        let d = super::digest::digest(HashAlgorithm::Sha256, seed);
        let mut s = [0u8; 32];
        s.copy_from_slice(d.as_bytes());
        SeededRng { seed: s, counter: 0 }
    }
}

impl Rng for SeededRng {
    fn fill(&mut self, buf: &mut [u8]) -> Result<(), CoreError> {
        for chunk in buf.chunks_mut(32) {
            let mut h = Hasher::new(HashAlgorithm::Sha256);
            h.update(&self.seed);
            h.update(&self.counter.to_be_bytes());
            self.counter += 1;
            chunk.copy_from_slice(&h.finish().as_bytes()[..chunk.len()]);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeded_is_reproducible_and_system_is_not_constant() {
        let a = SeededRng::new(b"x").bytes(100).unwrap();
        let b = SeededRng::new(b"x").bytes(100).unwrap();
        let c = SeededRng::new(b"y").bytes(100).unwrap();
        assert_eq!(*a, *b);
        assert_ne!(*a, *c);
        let s1 = SystemRng.bytes(32).unwrap();
        let s2 = SystemRng.bytes(32).unwrap();
        assert_ne!(*s1, *s2);
    }
}
