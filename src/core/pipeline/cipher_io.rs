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
