//! The symmetric layer of OpenPGP messages, done by the core: Symmetrically Encrypted Integrity Protected
//! Data packets, version 1 (RFC 9580 section 5.13.1; tag 18, CFB with a zero IV over a random prefix, the
//! data and a SHA-1 modification detection code) and legacy Symmetrically Encrypted Data packets (tag 9,
//! section 5.7: OpenPGP's resynchronising CFB, no MDC).
//!
//! sequoia parses and writes everything around this layer; the bytes inside go through the core's ciphers
//! (AES with AES-NI, else AWS-LC; our own DES, CAST5, IDEA) and SHA-1 (AWS-LC), which is where the time of encrypting and
//! decrypting a large message goes.

use std::io::{self, Read, Write};
use std::sync::{Arc, Mutex};

use zeroize::Zeroizing;

use super::PgpError;
use crate::core::cipher::CipherAlgorithm;
use crate::core::digest::{HashAlgorithm, Hasher};
use crate::core::mode::{BlockModeCrypter, Crypter, Direction, Mode, Padding, crypter};
use crate::core::rand::Rng;

/// Packet tag of SEIPD.
pub const TAG_SEIPD: u8 = 18;
/// Packet tag of SED.
pub const TAG_SED: u8 = 9;
/// The MDC packet's header: new-format tag 19, length 20.
const MDC_HEADER: [u8; 2] = [0xd3, 0x14];
/// Length of the MDC packet (header and SHA-1).
const MDC_LEN: usize = 22;
/// Size of each partial body chunk we write: 2^18 bytes (the first must be at least 512).
const CHUNK_LOG2: u8 = 18;
const CHUNK: usize = 1 << CHUNK_LOG2;
/// How much ciphertext a [`SeipdReader`] decrypts at a time.
const READ_CHUNK: usize = 256 * 1024;

/// Writes a new-format packet length that ends the packet (RFC 9580 section 4.2.1.1-3).
fn final_length(len: usize, out: &mut Vec<u8>) -> Result<(), PgpError> {
    if len < 192 {
        out.push(len as u8);
    } else if len < 8384 {
        let v = len - 192;
        out.push(((v >> 8) + 192) as u8);
        out.push((v & 0xff) as u8);
    } else {
        let v = u32::try_from(len).map_err(|_| PgpError::Unsupported("a packet chunk over 4 GiB".into()))?;
        out.push(0xff);
        out.extend_from_slice(&v.to_be_bytes());
    }
    Ok(())
}

/// Plaintext handed from the hashing side to the encrypting side at a time.
const PIPE_CHUNK: usize = 1024 * 1024;

/// One piece of the packet for the writing thread: bytes, and the partial-body length headers to put before
/// the bytes at the given offsets (an offset equal to the length puts a header after them).
struct Piece {
    data: Vec<u8>,
    headers: Vec<(usize, Header)>,
}

/// A body length header: up to five octets.
#[derive(Clone, Copy)]
struct Header {
    bytes: [u8; 5],
    len: u8,
}

impl Header {
    fn partial() -> Header {
        Header { bytes: [0xe0 | CHUNK_LOG2, 0, 0, 0, 0], len: 1 }
    }

    fn last(len: usize) -> Result<Header, PgpError> {
        let mut v = Vec::with_capacity(5);
        final_length(len, &mut v)?;
        let mut bytes = [0u8; 5];
        bytes[..v.len()].copy_from_slice(&v);
        Ok(Header { bytes, len: v.len() as u8 })
    }
}

/// The encrypting side of [`write_seipd`]: CFB over every plaintext piece received, in place, and the
/// partial-body framing, decided as soon as it can be: a chunk gets a partial-length header once a whole
/// chunk of data is there, the last one its exact length when the input ends. Pieces go on to the writing
/// thread as soon as every header inside them is decided, so the data is copied by nobody.
fn encrypt_and_frame(
    mut crypter: BlockModeCrypter,
    rx: std::sync::mpsc::Receiver<Vec<u8>>,
    out: std::sync::mpsc::SyncSender<Piece>,
) -> Result<(), PgpError> {
    let send = |piece: Piece| out.send(piece).map_err(|_| PgpError::from(io::Error::other("the writing side stopped")));
    send(Piece { data: vec![0xc0 | TAG_SEIPD], headers: Vec::new() })?;
    // Encrypted pieces whose headers are not all decided, the first starting where the packet body starts
    // or after the last piece sent; positions below are offsets into their concatenation.
    let mut pending: std::collections::VecDeque<Vec<u8>> = std::collections::VecDeque::new();
    let mut pending_len = 0usize;
    let mut headers: Vec<(usize, Header)> = Vec::new();
    // Where the next chunk starts: its header is the next to decide.
    let mut next = 0usize;
    pending.push_back(vec![1]); // version octet
    pending_len += 1;
    for mut chunk in rx {
        crypter.update_cfb_in_place(&mut chunk)?;
        pending_len += chunk.len();
        pending.push_back(chunk);
        while next + CHUNK <= pending_len {
            headers.push((next, Header::partial()));
            next += CHUNK;
        }
        // Send every piece that lies wholly before the next undecided header.
        while let Some(front) = pending.front() {
            let len = front.len();
            if len > next {
                break;
            }
            let data = pending.pop_front().unwrap_or_default();
            let mine: Vec<(usize, Header)> = headers.iter().filter(|(at, _)| *at < len).copied().collect();
            headers.retain(|(at, _)| *at >= len);
            for h in &mut headers {
                h.0 -= len;
            }
            next -= len;
            pending_len -= len;
            send(Piece { data, headers: mine })?;
        }
    }
    let mut tail = Vec::new();
    crypter.finish(&mut tail)?;
    if !tail.is_empty() {
        pending_len += tail.len();
        pending.push_back(tail);
    }
    headers.push((next, Header::last(pending_len - next)?));
    if pending.is_empty() {
        pending.push_back(Vec::new());
    }
    let count = pending.len();
    for (i, data) in pending.into_iter().enumerate() {
        let len = data.len();
        // The last piece also takes a header at its very end (a final chunk of length 0).
        let mine: Vec<(usize, Header)> =
            headers.iter().filter(|(at, _)| *at < len || (i + 1 == count && *at == len)).copied().collect();
        headers.retain(|(at, _)| *at >= len && !(i + 1 == count && *at == len));
        for h in &mut headers {
            h.0 -= len;
        }
        send(Piece { data, headers: mine })?;
    }
    Ok(())
}

/// The writing side of [`write_seipd`]: each piece with its headers, then the buffer back to the hashing
/// side for reuse, so memory stays flat.
fn write_pieces<W: Write>(
    mut inner: W,
    rx: std::sync::mpsc::Receiver<Piece>,
    back: std::sync::mpsc::SyncSender<Vec<u8>>,
) -> Result<W, PgpError> {
    for mut piece in rx {
        let mut done = 0;
        for (at, h) in &piece.headers {
            inner.write_all(&piece.data[done..*at])?;
            inner.write_all(&h.bytes[..usize::from(h.len)])?;
            done = *at;
        }
        inner.write_all(&piece.data[done..])?;
        if piece.data.capacity() >= PIPE_CHUNK {
            piece.data.clear();
            let _ = back.try_send(piece.data);
        }
    }
    Ok(inner)
}

/// The hashing side of [`write_seipd`]: what the inner layers write is hashed into the MDC and passed on in
/// chunks to the encrypting thread. The two other threads start with the first full chunk: a message
/// shorter than one chunk (most mail) is encrypted and written on the calling thread, with no thread
/// started (two thread starts per message were a tenth of the SMTP filter's time).
struct MdcFront<'scope, 'env, W: Write + Send> {
    mdc: Hasher,
    buf: Vec<u8>,
    scope: &'scope std::thread::Scope<'scope, 'env>,
    /// The writer and the cipher until the threads take them.
    idle: Mutex<Option<(W, BlockModeCrypter)>>,
    tx: Option<std::sync::mpsc::SyncSender<Vec<u8>>>,
    /// Behind mutexes only because sequoia wants its sink `Sync`; one thread uses them.
    back: Mutex<Option<std::sync::mpsc::Receiver<Vec<u8>>>>,
    threads: Mutex<Option<Threads<'scope, W>>>,
}

type Threads<'scope, W> = (
    std::thread::ScopedJoinHandle<'scope, Result<W, PgpError>>,
    std::thread::ScopedJoinHandle<'scope, Result<(), PgpError>>,
);

impl<'scope, W: Write + Send + 'scope> MdcFront<'scope, '_, W> {
    fn start(&mut self) -> io::Result<()> {
        let Some((inner, crypter)) = self.idle.get_mut().map_err(|_| io::Error::other("poisoned"))?.take() else {
            return Ok(());
        };
        let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<u8>>(4);
        let (out_tx, out_rx) = std::sync::mpsc::sync_channel::<Piece>(2);
        let (back_tx, back_rx) = std::sync::mpsc::sync_channel::<Vec<u8>>(4);
        let writer = self.scope.spawn(move || write_pieces(inner, out_rx, back_tx));
        let encryptor = self.scope.spawn(move || encrypt_and_frame(crypter, rx, out_tx));
        self.tx = Some(tx);
        *self.back.get_mut().map_err(|_| io::Error::other("poisoned"))? = Some(back_rx);
        *self.threads.get_mut().map_err(|_| io::Error::other("poisoned"))? = Some((writer, encryptor));
        Ok(())
    }

    fn send(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        if self.tx.is_none() {
            self.start()?;
        }
        let reused = self.back.get_mut().ok().and_then(|rx| rx.as_ref().and_then(|rx| rx.try_recv().ok()));
        let fresh = reused.unwrap_or_else(|| Vec::with_capacity(PIPE_CHUNK));
        let chunk = std::mem::replace(&mut self.buf, fresh);
        let tx = self.tx.as_ref().ok_or_else(|| io::Error::other("the encrypting side has finished"))?;
        // A send fails only when the encrypting thread stopped on an error; `write_seipd` reports that error.
        tx.send(chunk).map_err(|_| io::Error::other("the encrypting side stopped"))
    }
}

impl<'scope, W: Write + Send + 'scope> Write for MdcFront<'scope, '_, W> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.mdc.update(data);
        // Writes can be large (sequoia passes on whole partial-body chunks): cut them so that no buffer
        // grows beyond one pipe chunk.
        let mut rest = data;
        while !rest.is_empty() {
            let n = (PIPE_CHUNK - self.buf.len()).min(rest.len());
            self.buf.extend_from_slice(&rest[..n]);
            rest = &rest[n..];
            if self.buf.len() >= PIPE_CHUNK {
                self.send()?;
            }
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Writes one SEIPD v1 packet to `inner`: header with partial body lengths, version octet, and the CFB
/// encryption under `session_key` of a random prefix, everything `body` writes, and the MDC.
///
/// Past the first megabyte, three threads share the work, because CFB encryption is one serial chain: this
/// thread runs `body` (the inner layers) and the SHA-1 of the MDC, a second encrypts in place and frames, a
/// third writes. Pieces of 1 MiB travel between them (smaller ones made the threads wait on each other's
/// wake-ups), a few at a time; the buffers go round and come back. A shorter body is done on this thread.
pub fn write_seipd<W: Write + Send>(
    inner: W,
    alg: CipherAlgorithm,
    session_key: &[u8],
    rng: &mut dyn Rng,
    body: impl FnOnce(&mut (dyn Write + Send + Sync)) -> Result<(), PgpError>,
) -> Result<W, PgpError> {
    let bs = alg.block_size();
    let crypter = crypter(alg, Mode::Cfb, Direction::Encrypt, session_key, &vec![0u8; bs], Padding::None)?;
    let mut prefix = Zeroizing::new(vec![0u8; bs + 2]);
    rng.fill(&mut prefix[..bs])?;
    prefix[bs] = prefix[bs - 2];
    prefix[bs + 1] = prefix[bs - 1];
    std::thread::scope(|scope| {
        let mut front = MdcFront {
            mdc: Hasher::new(HashAlgorithm::Sha1),
            buf: Vec::with_capacity(64 << 10),
            scope,
            idle: Mutex::new(Some((inner, crypter))),
            tx: None,
            back: Mutex::new(None),
            threads: Mutex::new(None),
        };
        let produced = front.write_all(&prefix).map_err(PgpError::from).and_then(|()| body(&mut front)).map(|()| {
            front.mdc.update(&MDC_HEADER);
            let digest = front.mdc.clone().finish();
            front.buf.extend_from_slice(&MDC_HEADER);
            front.buf.extend_from_slice(digest.as_bytes());
        });
        let idle = front.idle.get_mut().ok().and_then(Option::take);
        if let Some((inner, crypter)) = idle {
            // Never got past one chunk: encrypt, frame and write here. The channels hold everything: one
            // chunk in, at most a handful of pieces out (the packet tag, the version octet, the chunk, the
            // cipher's tail).
            produced?;
            let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<u8>>(1);
            let (out_tx, out_rx) = std::sync::mpsc::sync_channel::<Piece>(16);
            let (back_tx, _back_rx) = std::sync::mpsc::sync_channel::<Vec<u8>>(1);
            tx.send(std::mem::take(&mut front.buf)).map_err(|_| PgpError::Malformed("internal channel".into()))?;
            drop(tx);
            encrypt_and_frame(crypter, rx, out_tx)?;
            return write_pieces(inner, out_rx, back_tx);
        }
        let produced = produced.and_then(|()| front.send().map_err(PgpError::from));
        // Closing the channel ends the encrypting side, whatever happened here; its end closes the writer's.
        front.tx = None;
        let Some((writer, encryptor)) = front.threads.get_mut().ok().and_then(Option::take) else {
            return Err(PgpError::Malformed("the encrypting threads did not start".into()));
        };
        let encrypted = encryptor.join().map_err(|_| PgpError::Malformed("the encrypting thread panicked".into()))?;
        let written = writer.join().map_err(|_| PgpError::Malformed("the writing thread panicked".into()))?;
        // A later stage's error explains an earlier stage's failed send better than the send does.
        let inner = written?;
        encrypted?;
        produced.map(|()| inner)
    })
}

/// Which symmetric packet a ciphertext came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Container {
    /// SEIPD v1: plain CFB, MDC checked.
    SeipdV1,
    /// SED: resynchronising CFB, nothing to check.
    Sed,
}

/// A candidate session key: the cipher and the key.
pub struct Candidate {
    /// Cipher.
    pub alg: CipherAlgorithm,
    /// Key bytes.
    pub key: Zeroizing<Vec<u8>>,
}

/// Reads exactly `buf.len()` bytes unless the input ends first; returns how many were read.
fn read_full(r: &mut dyn Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// Shared record of why a [`SeipdReader`] failed, for callers whose own reader stack (sequoia's) turns our
/// error into its own on the way up.
#[derive(Clone, Default)]
pub struct Failure(Arc<Mutex<Option<String>>>);

impl Failure {
    fn set(&self, why: &str) {
        if let Ok(mut f) = self.0.lock() {
            f.get_or_insert_with(|| why.to_string());
        }
    }

    /// Why the integrity check failed, if it did.
    pub fn get(&self) -> Option<String> {
        self.0.lock().ok().and_then(|f| f.clone())
    }
}

/// SHA-1 of the MDC on a thread of its own, so that hashing overlaps decryption and the parsing of what
/// was decrypted. Chunks are copied to it through a bounded channel.
struct MdcThread {
    tx: Option<std::sync::mpsc::SyncSender<Vec<u8>>>,
    handle: Option<std::thread::JoinHandle<Hasher>>,
}

impl MdcThread {
    fn start(mut hasher: Hasher) -> MdcThread {
        let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<u8>>(4);
        let handle = std::thread::spawn(move || {
            for chunk in rx {
                hasher.update(&chunk);
            }
            hasher
        });
        MdcThread { tx: Some(tx), handle: Some(handle) }
    }

    fn update(&mut self, data: &[u8]) -> io::Result<()> {
        let tx = self.tx.as_ref().ok_or_else(|| io::Error::other("the MDC has been finished"))?;
        tx.send(data.to_vec()).map_err(|_| io::Error::other("the MDC thread stopped"))
    }

    fn finish(mut self) -> io::Result<Hasher> {
        self.tx = None;
        let handle = self.handle.take().ok_or_else(|| io::Error::other("the MDC has been finished"))?;
        handle.join().map_err(|_| io::Error::other("the MDC thread panicked"))
    }
}

impl Drop for MdcThread {
    fn drop(&mut self) {
        // Closing the channel ends the thread; joining keeps no thread behind an abandoned reader.
        self.tx = None;
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

/// Decrypts the body of a SEIPD v1 packet (after its version octet) or of a SED packet as an `io::Read`.
///
/// The candidate session key whose prefix passes the quick check (the repeated two octets) is used; when
/// none does, construction fails with [`PgpError::CannotDecrypt`], exactly as for a wrong key. For SEIPD the
/// last 22 plaintext bytes (the MDC packet) are held back and checked at the end of the input: a mismatch is
/// an error from `read` (and recorded in [`SeipdReader::failure`]). Everything read before that is
/// unauthenticated and must not be released until the reader has reached its end without error.
pub struct SeipdReader<R: Read> {
    inner: R,
    crypter: BlockModeCrypter,
    mdc: Option<MdcThread>,
    held: Vec<u8>,
    out: Vec<u8>,
    pos: usize,
    inbuf: Vec<u8>,
    done: bool,
    alg: CipherAlgorithm,
    failure: Failure,
    /// Ciphertext bytes read so far, and how many the packet header promised (when it gave a length).
    consumed: u64,
    expected: Option<u64>,
    /// Set once the input has failed: the input is never read again (sequoia's parser panics if it is).
    poisoned: bool,
}

impl<R: Read> SeipdReader<R> {
    /// Reads the random prefix from `inner` and picks the session key. `expected` is the ciphertext length
    /// the packet header states, when it states one: a shorter body is an error.
    pub fn new(
        container: Container,
        mut inner: R,
        candidates: &[Candidate],
        expected: Option<u64>,
    ) -> Result<SeipdReader<R>, PgpError> {
        let mut first = [0u8; 18];
        let Some(bs) = candidates.first().map(|c| c.alg.block_size()) else {
            return Err(PgpError::CannotDecrypt("no session key".into()));
        };
        let head_len = read_full(&mut inner, &mut first[..bs + 2])?;
        if head_len < bs + 2 {
            return Err(PgpError::Malformed("the encrypted data is shorter than its random prefix".into()));
        }
        let mode = match container {
            Container::SeipdV1 => Mode::Cfb,
            Container::Sed => Mode::OpenPgpCfbResync,
        };
        // Every candidate gets the same treatment, so the choice reveals nothing beyond "this key fits", and
        // a wrong key fails exactly like a missing one. (All candidates of one message name one cipher in
        // practice; any of another block size would need another prefix and is skipped.)
        for c in candidates.iter().filter(|c| c.alg.block_size() == bs) {
            let mut d = crypter(c.alg, mode, Direction::Decrypt, &c.key, &vec![0u8; bs], Padding::None)?;
            let mut prefix = Zeroizing::new(Vec::with_capacity(bs + 2));
            d.update(&first[..bs + 2], &mut prefix)?;
            if prefix[bs - 2..bs] == prefix[bs..bs + 2] {
                let mdc = match container {
                    Container::SeipdV1 => {
                        let mut h = Hasher::new(HashAlgorithm::Sha1);
                        h.update(&prefix);
                        Some(MdcThread::start(h))
                    }
                    Container::Sed => None,
                };
                return Ok(SeipdReader {
                    inner,
                    crypter: d,
                    mdc,
                    held: Vec::with_capacity(READ_CHUNK + MDC_LEN),
                    out: Vec::with_capacity(READ_CHUNK + MDC_LEN),
                    pos: 0,
                    inbuf: vec![0u8; READ_CHUNK],
                    done: false,
                    alg: c.alg,
                    failure: Failure::default(),
                    consumed: (bs + 2) as u64,
                    expected,
                    poisoned: false,
                });
            }
        }
        Err(PgpError::CannotDecrypt("the session key does not fit the encrypted data (wrong key)".into()))
    }

    /// The cipher in use.
    pub fn algorithm(&self) -> CipherAlgorithm {
        self.alg
    }

    /// A handle on the failure record.
    pub fn failure(&self) -> Failure {
        self.failure.clone()
    }

    fn fail(&self, why: &str) -> io::Error {
        self.failure.set(why);
        io::Error::other(PgpError::Integrity(why.to_string()))
    }

    /// Decrypts the next chunk of input into `out`.
    fn fill(&mut self) -> io::Result<()> {
        self.out.clear();
        self.pos = 0;
        if self.poisoned {
            return Err(io::Error::other(PgpError::Malformed("the encrypted data could not be read".into())));
        }
        let n = loop {
            match self.inner.read(&mut self.inbuf) {
                Ok(n) => break n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    self.poisoned = true;
                    return Err(e);
                }
            }
        };
        self.consumed += n as u64;
        let hold = if self.mdc.is_some() { MDC_LEN } else { 0 };
        if n > 0 {
            self.crypter.update(&self.inbuf[..n], &mut self.held)?;
            if self.held.len() > hold {
                let ready = self.held.len() - hold;
                if let Some(h) = &mut self.mdc {
                    h.update(&self.held[..ready])?;
                }
                self.out.extend_from_slice(&self.held[..ready]);
                self.held.drain(..ready);
            }
            return Ok(());
        }
        self.done = true;
        if let Some(want) = self.expected.filter(|&w| w != self.consumed) {
            self.poisoned = true;
            return Err(io::Error::other(PgpError::Malformed(format!(
                "the encrypted data packet is truncated: it states {want} bytes and holds {}",
                self.consumed
            ))));
        }
        self.crypter.finish(&mut self.held)?;
        if let Some(h) = self.mdc.take() {
            let mut h = h.finish()?;
            if self.held.len() != MDC_LEN || self.held[..2] != MDC_HEADER {
                return Err(self.fail("the modification detection code is missing or truncated"));
            }
            h.update(&MDC_HEADER);
            let want = h.finish();
            if aws_lc_rs::constant_time::verify_slices_are_equal(want.as_bytes(), &self.held[2..]).is_err() {
                return Err(self.fail("the modification detection code does not match: the message was modified"));
            }
        } else {
            self.out.append(&mut self.held);
        }
        Ok(())
    }
}

impl<R: Read> Read for SeipdReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.pos == self.out.len() {
            if self.done {
                return Ok(0);
            }
            self.fill()?;
        }
        let n = buf.len().min(self.out.len() - self.pos);
        buf[..n].copy_from_slice(&self.out[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

/// Decrypts a whole SEIPD v1 or SED body into `out` (see [`SeipdReader`]); returns the cipher used.
pub fn decrypt(
    container: Container,
    ciphertext: &mut dyn Read,
    candidates: &[Candidate],
    out: &mut dyn Write,
) -> Result<CipherAlgorithm, PgpError> {
    let mut r = SeipdReader::new(container, ciphertext, candidates, None)?;
    io::copy(&mut r, out)?;
    Ok(r.algorithm())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::rand::SeededRng;

    fn seal(alg: CipherAlgorithm, key: &[u8], data: &[u8]) -> Vec<u8> {
        write_seipd(Vec::new(), alg, key, &mut SeededRng::new(b"prefix"), |w| {
            for piece in data.chunks(100_003) {
                w.write_all(piece)?;
            }
            Ok(())
        })
        .unwrap()
    }

    /// Parses our own framing back: header, partial chunks, final length; returns the body.
    fn unframe(packet: &[u8]) -> Vec<u8> {
        assert_eq!(packet[0], 0xc0 | TAG_SEIPD);
        let mut i = 1;
        let mut body = Vec::new();
        loop {
            let b = packet[i] as usize;
            if (224..255).contains(&b) {
                let n = 1usize << (b & 0x1f);
                body.extend_from_slice(&packet[i + 1..i + 1 + n]);
                i += 1 + n;
                continue;
            }
            let (n, hl) = if b < 192 {
                (b, 1)
            } else if b < 224 {
                (((b - 192) << 8) + packet[i + 1] as usize + 192, 2)
            } else {
                (u32::from_be_bytes([packet[i + 1], packet[i + 2], packet[i + 3], packet[i + 4]]) as usize, 5)
            };
            body.extend_from_slice(&packet[i + hl..i + hl + n]);
            assert_eq!(i + hl + n, packet.len());
            return body;
        }
    }

    #[test]
    fn round_trip_at_chunk_boundaries_for_every_cipher() {
        for alg in [CipherAlgorithm::Aes256, CipherAlgorithm::Cast5, CipherAlgorithm::TripleDes, CipherAlgorithm::Idea]
        {
            let key = vec![0x42; alg.key_size()];
            let overhead = 1 + alg.block_size() + 2 + MDC_LEN;
            // Bodies that end exactly on a chunk or piece boundary end with a final chunk of length 0.
            for len in [
                0usize,
                1,
                200,
                CHUNK - overhead,
                CHUNK,
                3 * CHUNK + 7,
                PIPE_CHUNK - overhead,
                PIPE_CHUNK - overhead + 1,
                2 * PIPE_CHUNK + CHUNK - overhead,
                2 * PIPE_CHUNK + 5,
            ] {
                let data: Vec<u8> = (0..len).map(|i| (i % 253) as u8).collect();
                let packet = seal(alg, &key, &data);
                let body = unframe(&packet);
                assert_eq!(body[0], 1, "version");
                let cand = [Candidate { alg, key: Zeroizing::new(key.clone()) }];
                let mut out = Vec::new();
                let used = decrypt(Container::SeipdV1, &mut &body[1..], &cand, &mut out).unwrap();
                assert_eq!(used, alg);
                assert!(out == data, "{} {len}", alg.name());
            }
        }
    }

    #[test]
    fn tampering_wrong_keys_and_truncation_are_caught() {
        let alg = CipherAlgorithm::Aes128;
        let key = vec![7u8; 16];
        let data = vec![9u8; 5000];
        let body = unframe(&seal(alg, &key, &data));
        let good = [Candidate { alg, key: Zeroizing::new(key.clone()) }];
        let wrong = [Candidate { alg, key: Zeroizing::new(vec![8u8; 16]) }];
        let mut sink = Vec::new();
        assert!(matches!(
            decrypt(Container::SeipdV1, &mut &body[1..], &wrong, &mut sink),
            Err(PgpError::CannotDecrypt(_))
        ));
        for pos in [40, 2500, body.len() - 1] {
            let mut bad = body.clone();
            bad[pos] ^= 1;
            let r = decrypt(Container::SeipdV1, &mut &bad[1..], &good, &mut Vec::new());
            assert!(matches!(r, Err(PgpError::Integrity(_))), "flip at {pos}: {r:?}");
        }
        let cut = &body[1..body.len() - 10];
        assert!(matches!(
            decrypt(Container::SeipdV1, &mut &cut[..], &good, &mut Vec::new()),
            Err(PgpError::Integrity(_))
        ));
        assert!(matches!(
            decrypt(Container::SeipdV1, &mut &body[1..10], &good, &mut Vec::new()),
            Err(PgpError::Malformed(_))
        ));
        // With two candidates the right one is found whatever the order.
        let both = [
            Candidate { alg, key: Zeroizing::new(vec![8u8; 16]) },
            Candidate { alg, key: Zeroizing::new(key.clone()) },
        ];
        let mut out = Vec::new();
        decrypt(Container::SeipdV1, &mut &body[1..], &both, &mut out).unwrap();
        assert_eq!(out, data);
    }

    #[test]
    fn final_lengths() {
        for (len, enc) in [
            (0usize, vec![0u8]),
            (191, vec![191]),
            (192, vec![192, 0]),
            (8383, vec![223, 255]),
            (8384, vec![255, 0, 0, 0x20, 0xc0]),
        ] {
            let mut out = Vec::new();
            final_length(len, &mut out).unwrap();
            assert_eq!(out, enc, "{len}");
        }
    }
}
