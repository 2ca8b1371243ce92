//! Encryption and decryption as stream adapters over any [`Crypter`].

use std::io::{self, Read, Write};

use crate::core::error::CoreError;
use crate::core::mode::Crypter;

/// Runs everything written to it through a [`Crypter`] into an inner writer. Works for both directions;
/// [`finalize`](CipherWriter::finalize) writes the last block or tag (encryption) or checks padding and tag
/// (decryption).
pub struct CipherWriter<W: Write> {
    inner: W,
    crypter: Box<dyn Crypter>,
    buf: Vec<u8>,
}

impl<W: Write> CipherWriter<W> {
    /// Wraps `inner`.
    pub fn new(inner: W, crypter: Box<dyn Crypter>) -> CipherWriter<W> {
        CipherWriter { inner, crypter, buf: Vec::with_capacity(64 * 1024) }
    }

    /// Ends the stream and returns the inner writer.
    pub fn finalize(mut self) -> Result<W, CoreError> {
        self.buf.clear();
        self.crypter.finish(&mut self.buf)?;
        self.inner.write_all(&self.buf)?;
        Ok(self.inner)
    }
}

impl<W: Write> Write for CipherWriter<W> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.buf.clear();
        self.crypter.update(data, &mut self.buf)?;
        self.inner.write_all(&self.buf)?;
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Reads from an inner reader through a [`Crypter`]. At the inner reader's end it finishes the crypter;
/// a padding or tag failure then surfaces as an `io::Error` wrapping [`CoreError::DecryptionFailed`].
pub struct CipherReader<R: Read> {
    inner: R,
    crypter: Box<dyn Crypter>,
    out: Vec<u8>,
    pos: usize,
    chunk: Vec<u8>,
    done: bool,
}

impl<R: Read> CipherReader<R> {
    /// Wraps `inner`.
    pub fn new(inner: R, crypter: Box<dyn Crypter>) -> CipherReader<R> {
        CipherReader { inner, crypter, out: Vec::new(), pos: 0, chunk: vec![0u8; 64 * 1024], done: false }
    }
}

impl<R: Read> Read for CipherReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.pos == self.out.len() {
            if self.done {
                return Ok(0);
            }
            self.out.clear();
            self.pos = 0;
            let n = self.inner.read(&mut self.chunk)?;
            if n == 0 {
                self.done = true;
                self.crypter.finish(&mut self.out)?;
            } else {
                self.crypter.update(&self.chunk[..n], &mut self.out)?;
            }
        }
        let n = buf.len().min(self.out.len() - self.pos);
        buf[..n].copy_from_slice(&self.out[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};

    use super::*;
    use crate::core::cipher::CipherAlgorithm;
    use crate::core::mode::{Direction, GcmDecryptor, GcmEncryptor, Mode, Padding, crypter};

    fn data(n: usize) -> Vec<u8> {
        (0..n).map(|i| (i * 7 % 251) as u8).collect()
    }

    /// Writer and reader forms agree with each other in both directions, for a padded and an AEAD mode.
    #[test]
    fn writer_and_reader_round_trip() {
        let key = [9u8; 32];
        let iv = [3u8; 16];
        let plain = data(200_003);
        let cbc = |d| Box::new(crypter(CipherAlgorithm::Aes256, Mode::Cbc, d, &key, &iv, Padding::Pkcs7).unwrap());
        let mut w = CipherWriter::new(Vec::new(), cbc(Direction::Encrypt));
        for piece in plain.chunks(4097) {
            w.write_all(piece).unwrap();
        }
        let ct = w.finalize().unwrap();
        let mut r = CipherReader::new(&ct[..], cbc(Direction::Decrypt));
        let mut back = Vec::new();
        r.read_to_end(&mut back).unwrap();
        assert_eq!(back, plain);
        let mut r = CipherReader::new(&plain[..], cbc(Direction::Encrypt));
        let mut ct2 = Vec::new();
        r.read_to_end(&mut ct2).unwrap();
        assert_eq!(ct2, ct);

        let mut w = CipherWriter::new(Vec::new(), Box::new(GcmEncryptor::new(&key, &[1; 12], b"", true).unwrap()));
        w.write_all(&plain).unwrap();
        let mut sealed = w.finalize().unwrap();
        let mut r = CipherReader::new(&sealed[..], Box::new(GcmDecryptor::new(&key, &[1; 12], b"", None).unwrap()));
        let mut back = Vec::new();
        r.read_to_end(&mut back).unwrap();
        assert_eq!(back, plain);
        // A flipped bit surfaces as an error at the end of the stream, never as a clean EOF.
        sealed[1000] ^= 1;
        let mut r = CipherReader::new(&sealed[..], Box::new(GcmDecryptor::new(&key, &[1; 12], b"", None).unwrap()));
        let err = r.read_to_end(&mut Vec::new()).unwrap_err();
        assert!(err.to_string().contains("decryption failed"), "{err}");
    }
}
