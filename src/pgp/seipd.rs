//! The symmetric layer of OpenPGP messages, done by the core: Symmetrically Encrypted Integrity Protected
//! Data packets, version 1 (RFC 9580 section 5.13.1; tag 18, CFB with a zero IV over a random prefix, the
//! data and a SHA-1 modification detection code) and legacy Symmetrically Encrypted Data packets (tag 9,
//! section 5.7: OpenPGP's resynchronising CFB, no MDC).
//!
//! sequoia parses and writes everything around this layer; the bytes inside go through the core's ciphers
//! (AES over AWS-LC, our own DES/CAST5/IDEA) and SHA-1 (AWS-LC), which is where the time of encrypting and
//! decrypting a large message goes.

use std::io::{self, Read, Write};

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
/// Size of each partial body chunk we write: 2^20 bytes (the first must be at least 512).
const CHUNK_LOG2: u8 = 20;
const CHUNK: usize = 1 << CHUNK_LOG2;

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

/// An `io::Write` that turns what is written into one SEIPD v1 packet: header with partial body lengths,
/// version octet, and the CFB encryption of prefix, data and MDC. [`finalize`](SeipdWriter::finalize)
/// writes the MDC and the last chunk.
pub struct SeipdWriter<W: Write> {
    inner: W,
    crypter: BlockModeCrypter,
    mdc: Hasher,
    /// Body bytes (version octet, then ciphertext) not yet framed.
    pending: Vec<u8>,
    /// Ciphertext of one `write` call.
    scratch: Vec<u8>,
    header_written: bool,
}

impl<W: Write> SeipdWriter<W> {
    /// Starts a SEIPD v1 packet encrypted with `alg` under `session_key`.
    pub fn new(
        inner: W,
        alg: CipherAlgorithm,
        session_key: &[u8],
        rng: &mut dyn Rng,
    ) -> Result<SeipdWriter<W>, PgpError> {
        let bs = alg.block_size();
        let mut crypter = crypter(alg, Mode::Cfb, Direction::Encrypt, session_key, &vec![0u8; bs], Padding::None)?;
        let mut prefix = Zeroizing::new(vec![0u8; bs + 2]);
        rng.fill(&mut prefix[..bs])?;
        prefix[bs] = prefix[bs - 2];
        prefix[bs + 1] = prefix[bs - 1];
        let mut mdc = Hasher::new(HashAlgorithm::Sha1);
        mdc.update(&prefix);
        let mut pending = Vec::with_capacity(CHUNK + 64 * 1024);
        pending.push(1); // version
        crypter.update(&prefix, &mut pending)?;
        Ok(SeipdWriter { inner, crypter, mdc, pending, scratch: Vec::with_capacity(64 * 1024), header_written: false })
    }

    fn write_header(&mut self) -> io::Result<()> {
        if !self.header_written {
            self.inner.write_all(&[0xc0 | TAG_SEIPD])?;
            self.header_written = true;
        }
        Ok(())
    }

    /// Emits every whole partial-body chunk that is ready.
    fn flush_chunks(&mut self) -> io::Result<()> {
        if self.pending.len() < CHUNK {
            return Ok(());
        }
        self.write_header()?;
        let mut start = 0;
        while self.pending.len() - start >= CHUNK {
            self.inner.write_all(&[0xe0 | CHUNK_LOG2])?;
            self.inner.write_all(&self.pending[start..start + CHUNK])?;
            start += CHUNK;
        }
        self.pending.drain(..start);
        Ok(())
    }

    /// Appends the MDC, writes the last chunk with a definite length, and returns the inner writer.
    pub fn finalize(mut self) -> Result<W, PgpError> {
        self.mdc.update(&MDC_HEADER);
        let digest = self.mdc.clone().finish();
        let mut trailer = Vec::with_capacity(MDC_LEN);
        trailer.extend_from_slice(&MDC_HEADER);
        trailer.extend_from_slice(digest.as_bytes());
        let mut tail = Vec::with_capacity(MDC_LEN);
        self.crypter.update(&trailer, &mut tail)?;
        self.crypter.finish(&mut tail)?;
        self.pending.extend_from_slice(&tail);
        self.flush_chunks()?;
        self.write_header()?;
        let mut len = Vec::with_capacity(5);
        final_length(self.pending.len(), &mut len)?;
        self.inner.write_all(&len)?;
        self.inner.write_all(&self.pending)?;
        Ok(self.inner)
    }
}

impl<W: Write> Write for SeipdWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.mdc.update(buf);
        self.scratch.clear();
        self.crypter.update(buf, &mut self.scratch)?;
        self.pending.extend_from_slice(&self.scratch);
        self.flush_chunks()?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
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

/// Decrypts the body of a SEIPD v1 packet (after its version octet) or of a SED packet into `out`.
///
/// The candidate whose prefix passes the quick check (the repeated two octets) is used; when none does,
/// the result is [`PgpError::CannotDecrypt`], exactly as for a wrong key. For SEIPD the MDC is checked at the
/// end: until this returns `Ok`, what was written to `out` is unauthenticated and must not be released
/// ([`crate::core::pipeline::Spool`]). Returns the cipher that was used.
pub fn decrypt(
    container: Container,
    ciphertext: &mut dyn Read,
    candidates: &[Candidate],
    out: &mut dyn Write,
) -> Result<CipherAlgorithm, PgpError> {
    let mut first = [0u8; 18];
    let Some(bs) = candidates.first().map(|c| c.alg.block_size()) else {
        return Err(PgpError::CannotDecrypt("no session key".into()));
    };
    let head_len = read_full(ciphertext, &mut first[..bs + 2])?;
    if head_len < bs + 2 {
        return Err(PgpError::Malformed("the encrypted data is shorter than its random prefix".into()));
    }
    let mode = match container {
        Container::SeipdV1 => Mode::Cfb,
        Container::Sed => Mode::OpenPgpCfbResync,
    };
    // Pick the candidate by the quick check; all candidates get the same treatment, so the choice reveals
    // nothing beyond "this key decrypts", and a wrong key fails like a missing one.
    let mut chosen = None;
    for c in candidates {
        let cbs = c.alg.block_size();
        if cbs + 2 > first.len() {
            continue;
        }
        let mut probe = Vec::with_capacity(cbs + 2);
        let mut d = crypter(c.alg, mode, Direction::Decrypt, &c.key, &vec![0u8; cbs], Padding::None)?;
        if cbs != bs {
            continue;
        }
        d.update(&first[..cbs + 2], &mut probe)?;
        if probe[cbs - 2..cbs] == probe[cbs..cbs + 2] {
            chosen = Some((c, d, Zeroizing::new(probe)));
            break;
        }
    }
    let Some((candidate, mut d, prefix)) = chosen else {
        return Err(PgpError::CannotDecrypt("the session key does not fit the encrypted data (wrong key)".into()));
    };
    let mut mdc = Hasher::new(HashAlgorithm::Sha1);
    mdc.update(&prefix);
    let check_mdc = container == Container::SeipdV1;
    // The last 22 plaintext bytes of SEIPD are the MDC packet: always hold them back.
    let hold = if check_mdc { MDC_LEN } else { 0 };
    let mut held: Vec<u8> = Vec::with_capacity(hold + 256 * 1024);
    let mut inbuf = vec![0u8; 256 * 1024];
    let mut plain = Vec::with_capacity(256 * 1024);
    loop {
        let n = match ciphertext.read(&mut inbuf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e.into()),
        };
        plain.clear();
        d.update(&inbuf[..n], &mut plain)?;
        held.extend_from_slice(&plain);
        if held.len() > hold {
            let ready = held.len() - hold;
            if check_mdc {
                mdc.update(&held[..ready]);
            }
            out.write_all(&held[..ready])?;
            held.drain(..ready);
        }
    }
    d.finish(&mut held)?;
    if check_mdc {
        if held.len() != MDC_LEN || held[..2] != MDC_HEADER {
            return Err(PgpError::Integrity("the modification detection code is missing or truncated".into()));
        }
        mdc.update(&MDC_HEADER);
        let want = mdc.finish();
        if aws_lc_rs::constant_time::verify_slices_are_equal(want.as_bytes(), &held[2..]).is_err() {
            return Err(PgpError::Integrity(
                "the modification detection code does not match: the message was modified".into(),
            ));
        }
    } else {
        out.write_all(&held)?;
    }
    Ok(candidate.alg)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::rand::SeededRng;

    fn seal(alg: CipherAlgorithm, key: &[u8], data: &[u8]) -> Vec<u8> {
        let mut w = SeipdWriter::new(Vec::new(), alg, key, &mut SeededRng::new(b"prefix")).unwrap();
        for piece in data.chunks(100_003) {
            w.write_all(piece).unwrap();
        }
        w.finalize().unwrap()
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
            for len in [0usize, 1, 200, CHUNK - 1 - alg.block_size() - 2 - MDC_LEN, CHUNK, 3 * CHUNK + 7] {
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
