//! A holding area for plaintext that may not be released yet.
//!
//! Decryption produces plaintext before it can know whether the message is intact (the MDC, the GCM tag
//! and the signature all come at the end). CONTRACT.md requires that nothing is written until integrity is
//! established, so decrypting pipelines write into a `Spool` and call [`Spool::release`] only after the
//! checks pass; otherwise the spool is dropped and its contents wiped.
//!
//! Small messages stay in memory (zeroized when dropped, including on growth). Beyond the memory limit the
//! spool spills to an unlinked temporary file, encrypted (AES-256-CTR) under a fresh key that lives only in
//! this process, so plaintext never reaches the disk and nothing is left behind if the process dies.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::PathBuf;

use zeroize::Zeroizing;

use super::cipher_io::{CipherReader, CipherWriter};
use crate::core::error::CoreError;
use crate::core::mode::AesCtr;
use crate::core::rand::{Rng, SystemRng};

/// Plaintext held back until its integrity is known.
pub struct Spool {
    mem: Zeroizing<Vec<u8>>,
    mem_limit: usize,
    spill: Option<Spill>,
    len: u64,
    dir: PathBuf,
}

struct Spill {
    writer: CipherWriter<File>,
    key: Zeroizing<Vec<u8>>,
    iv: [u8; 16],
}

impl Spool {
    /// Default memory limit before spilling to disk.
    pub const DEFAULT_MEMORY: usize = 32 << 20;

    /// A spool that keeps up to `mem_limit` bytes in memory and spills the rest to `std::env::temp_dir()`.
    pub fn new(mem_limit: usize) -> Spool {
        Spool::in_dir(mem_limit, std::env::temp_dir())
    }

    /// As [`Spool::new`], spilling into `dir`.
    pub fn in_dir(mem_limit: usize, dir: PathBuf) -> Spool {
        Spool { mem: Zeroizing::new(Vec::new()), mem_limit, spill: None, len: 0, dir }
    }

    /// Bytes held.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// True when nothing is held.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// True once the spool has spilled to disk.
    pub fn spilled(&self) -> bool {
        self.spill.is_some()
    }

    fn start_spill(&mut self) -> Result<(), CoreError> {
        let mut rng = SystemRng;
        let name: String = rng.bytes(12)?.iter().map(|b| format!("{b:02x}")).collect();
        let path = self.dir.join(format!(".sealpost-spool-{name}"));
        let file = OpenOptions::new().read(true).write(true).create_new(true).mode(0o600).open(&path)?;
        // Unlinked at once: the data lives only as long as this handle.
        std::fs::remove_file(&path)?;
        let key = rng.bytes(32)?;
        let mut iv = [0u8; 16];
        rng.fill(&mut iv)?;
        let enc = AesCtr::new(&key, &iv)?;
        let mut writer = CipherWriter::new(file, Box::new(enc));
        writer.write_all(&self.mem)?;
        self.mem = Zeroizing::new(Vec::new());
        self.spill = Some(Spill { writer, key, iv });
        Ok(())
    }

    /// Writes everything held to `out`, in order, and empties the spool. Returns the byte count.
    pub fn release(mut self, out: &mut dyn Write) -> Result<u64, CoreError> {
        match self.spill.take() {
            None => out.write_all(&self.mem)?,
            Some(spill) => {
                let mut file = spill.writer.finalize()?;
                file.seek(SeekFrom::Start(0))?;
                let dec = AesCtr::new(&spill.key, &spill.iv)?;
                let mut reader = CipherReader::new(file, Box::new(dec));
                let copied = io::copy(&mut reader, out)?;
                if copied != self.len {
                    return Err(CoreError::Io(io::Error::other("spool file shorter than what was written")));
                }
            }
        }
        Ok(self.len)
    }

    /// Everything held, as a reader (memory, or the spill file decrypted on the fly). For a stage that must
    /// parse what an earlier stage authenticated.
    pub fn into_reader(mut self) -> Result<Box<dyn Read + Send + Sync>, CoreError> {
        match self.spill.take() {
            None => Ok(Box::new(io::Cursor::new(std::mem::replace(&mut self.mem, Zeroizing::new(Vec::new()))))),
            Some(spill) => {
                let mut file = spill.writer.finalize()?;
                file.seek(SeekFrom::Start(0))?;
                let dec = AesCtr::new(&spill.key, &spill.iv)?;
                Ok(Box::new(CipherReader::new(file, Box::new(dec))))
            }
        }
    }

    /// Everything held, as one buffer (for callers that need the whole plaintext, e.g. to parse it).
    pub fn into_vec(self) -> Result<Zeroizing<Vec<u8>>, CoreError> {
        let mut v = Zeroizing::new(Vec::with_capacity(usize::try_from(self.len).unwrap_or(0)));
        self.release(&mut *v)?;
        Ok(v)
    }
}

impl Write for Spool {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.spill.is_none() && self.mem.len() + buf.len() > self.mem_limit {
            self.start_spill()?;
        }
        match &mut self.spill {
            Some(spill) => spill.writer.write_all(buf)?,
            None => {
                if self.mem.len() + buf.len() > self.mem.capacity() {
                    // Grow by hand so the old buffer is wiped rather than freed with plaintext in it.
                    let cap = (self.mem.len() + buf.len()).max(self.mem.capacity() * 2).min(self.mem_limit.max(1));
                    let mut bigger = Zeroizing::new(Vec::with_capacity(cap));
                    bigger.extend_from_slice(&self.mem);
                    self.mem = bigger;
                }
                self.mem.extend_from_slice(buf);
            }
        }
        self.len += buf.len() as u64;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Read for Spool {
    /// Not supported: plaintext leaves a spool only through [`Spool::release`].
    fn read(&mut self, _buf: &mut [u8]) -> io::Result<usize> {
        Err(io::Error::other("read a Spool with release()"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_and_spilled_spools_give_back_what_went_in() {
        let data: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
        for limit in [usize::MAX, 1000, 0] {
            let mut s = Spool::new(limit);
            for piece in data.chunks(4097) {
                s.write_all(piece).unwrap();
            }
            assert_eq!(s.len(), data.len() as u64);
            assert_eq!(s.spilled(), limit < data.len());
            let mut out = Vec::new();
            assert_eq!(s.release(&mut out).unwrap(), data.len() as u64);
            assert_eq!(out, data, "limit {limit}");
        }
    }

    /// What reaches the disk is not the plaintext, and no file is left in the directory.
    #[test]
    fn spilled_data_is_encrypted_and_unlinked() {
        let dir = std::env::temp_dir().join(format!("sealpost-spool-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut s = Spool::in_dir(10, dir.clone());
        s.write_all(&[b'A'; 100_000]).unwrap();
        assert!(s.spilled());
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 0, "the spill file must be unlinked");
        let spill = s.spill.as_mut().unwrap();
        spill.writer.flush().unwrap();
        let v = s.into_vec().unwrap();
        assert_eq!(&v[..], &[b'A'; 100_000][..]);
        std::fs::remove_dir(&dir).unwrap();
    }
}
