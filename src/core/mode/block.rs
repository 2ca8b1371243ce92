//! ECB, CBC, CFB (plain and OpenPGP-resync), CFB-8 and OFB over any [`BlockCipher`], streaming.

use zeroize::Zeroize;

use super::{Crypter, Direction, Mode, Padding};
use crate::core::cipher::BlockCipher;
use crate::core::error::CoreError;

/// A block-cipher mode as a streaming [`Crypter`].
pub struct BlockModeCrypter {
    cipher: Box<dyn BlockCipher>,
    mode: Mode,
    direction: Direction,
    padding: Padding,
    bs: usize,
    /// Chaining value: the IV, then the last ciphertext block (CBC, CFB) or the last keystream block (OFB).
    reg: [u8; 16],
    /// Keystream of the block in progress (CFB, OFB).
    ks: [u8; 16],
    /// Bytes of the block in progress already used (CFB, OFB), 0 when on a block boundary.
    pos: usize,
    /// Input held back until a whole block (ECB, CBC) is there; for CBC decryption with padding, the last
    /// whole block too, so `finish` can strip the padding.
    pending: Vec<u8>,
    /// Bytes processed so far, counted only up to the OpenPGP resync point.
    processed: u64,
    finished: bool,
}

impl BlockModeCrypter {
    /// Wraps a keyed cipher.
    pub fn new(
        cipher: Box<dyn BlockCipher>,
        mode: Mode,
        direction: Direction,
        iv: &[u8],
        padding: Padding,
    ) -> Result<BlockModeCrypter, CoreError> {
        let bs = cipher.block_size();
        let want = if mode == Mode::Ecb { 0 } else { bs };
        if iv.len() != want {
            return Err(CoreError::IvLength { algorithm: cipher.algorithm().algorithm(), got: iv.len(), want });
        }
        let mut reg = [0u8; 16];
        reg[..iv.len()].copy_from_slice(iv);
        Ok(BlockModeCrypter {
            cipher,
            mode,
            direction,
            padding,
            bs,
            reg,
            ks: [0u8; 16],
            pos: 0,
            pending: Vec::new(),
            processed: 0,
            finished: false,
        })
    }

    fn blockwise(&mut self, input: &[u8], out: &mut Vec<u8>) {
        let bs = self.bs;
        // With padding on decryption, the final block must stay pending until `finish`.
        let hold_back = self.direction == Direction::Decrypt && self.padding == Padding::Pkcs7;
        let mut input = input;
        if !self.pending.is_empty() {
            let need = bs - self.pending.len() % bs;
            let take = if self.pending.len().is_multiple_of(bs) { 0 } else { need.min(input.len()) };
            self.pending.extend_from_slice(&input[..take]);
            input = &input[take..];
            if !self.pending.len().is_multiple_of(bs) {
                return;
            }
            // `pending` holds exactly one whole block now.
            if hold_back && input.is_empty() {
                return;
            }
            let mut block = std::mem::take(&mut self.pending);
            self.run(&mut block);
            out.extend_from_slice(&block);
        }
        let mut whole = input.len() / bs * bs;
        if hold_back && whole == input.len() && whole > 0 {
            whole -= bs;
        }
        let start = out.len();
        out.extend_from_slice(&input[..whole]);
        self.run(&mut out[start..]);
        self.pending.extend_from_slice(&input[whole..]);
    }

    fn run(&mut self, data: &mut [u8]) {
        let bs = self.bs;
        let iv = &mut self.reg[..bs];
        match (self.mode, self.direction) {
            (Mode::Ecb, Direction::Encrypt) => self.cipher.encrypt_blocks(data),
            (Mode::Ecb, Direction::Decrypt) => self.cipher.decrypt_blocks(data),
            (Mode::Cbc, Direction::Encrypt) => self.cipher.cbc_encrypt(iv, data),
            (Mode::Cbc, Direction::Decrypt) => {
                let cipher = &*self.cipher;
                split_decrypt(cipher, iv, data, |c, iv, d| c.cbc_decrypt(iv, d));
            }
            _ => debug_assert!(false, "not a block mode"),
        }
    }

    /// CFB with block feedback, from any position within a block.
    fn cfb(&mut self, input: &[u8], out: &mut Vec<u8>) {
        let start = out.len();
        out.extend_from_slice(input);
        self.cfb_in_place(&mut out[start..]);
    }

    /// CFB with block feedback, from any position within a block, over `data` in place.
    fn cfb_in_place(&mut self, data: &mut [u8]) {
        let bs = self.bs;
        let encrypt = self.direction == Direction::Encrypt;
        let mut i = 0;
        // Finish a block in progress.
        while self.pos != 0 && i < data.len() {
            let c_in = data[i];
            let o = c_in ^ self.ks[self.pos];
            self.reg[self.pos] = if encrypt { o } else { c_in };
            data[i] = o;
            i += 1;
            self.pos = (self.pos + 1) % bs;
        }
        let rest = &mut data[i..];
        let whole = rest.len() / bs * bs;
        let (body, tail) = rest.split_at_mut(whole);
        if encrypt {
            self.cipher.cfb_encrypt(&mut self.reg[..bs], body);
        } else {
            let cipher = &*self.cipher;
            split_decrypt(cipher, &mut self.reg[..bs], body, |c, iv, d| c.cfb_decrypt(iv, d));
        }
        if !tail.is_empty() {
            self.ks[..bs].copy_from_slice(&self.reg[..bs]);
            self.cipher.encrypt_blocks(&mut self.ks[..bs]);
            for (j, b) in tail.iter_mut().enumerate() {
                let o = *b ^ self.ks[j];
                self.reg[j] = if encrypt { o } else { *b };
                *b = o;
            }
            self.pos = tail.len();
        }
    }

    /// Encrypts or decrypts `data` in place, for plain CFB (the stream modes whose output is exactly their
    /// input's length, at once): what the OpenPGP SEIPD writer uses to avoid copying each chunk.
    pub fn update_cfb_in_place(&mut self, data: &mut [u8]) -> Result<(), CoreError> {
        if self.finished {
            return Err(CoreError::Bug("crypter used after finish"));
        }
        if self.mode != Mode::Cfb {
            return Err(CoreError::Bug("in-place update is for plain CFB"));
        }
        self.cfb_in_place(data);
        Ok(())
    }

    fn cfb8(&mut self, input: &[u8], out: &mut Vec<u8>) {
        let bs = self.bs;
        let encrypt = self.direction == Direction::Encrypt;
        for &b in input {
            self.ks[..bs].copy_from_slice(&self.reg[..bs]);
            self.cipher.encrypt_blocks(&mut self.ks[..bs]);
            let o = b ^ self.ks[0];
            self.reg.copy_within(1..bs, 0);
            self.reg[bs - 1] = if encrypt { o } else { b };
            out.push(o);
        }
    }

    fn ofb(&mut self, input: &[u8], out: &mut Vec<u8>) {
        let bs = self.bs;
        for &b in input {
            if self.pos == 0 {
                self.cipher.encrypt_blocks(&mut self.reg[..bs]);
                self.ks[..bs].copy_from_slice(&self.reg[..bs]);
            }
            out.push(b ^ self.ks[self.pos]);
            self.pos = (self.pos + 1) % bs;
        }
    }
}

impl Crypter for BlockModeCrypter {
    fn update(&mut self, input: &[u8], out: &mut Vec<u8>) -> Result<(), CoreError> {
        if self.finished {
            return Err(CoreError::Bug("crypter used after finish"));
        }
        match self.mode {
            Mode::Ecb | Mode::Cbc => self.blockwise(input, out),
            Mode::Cfb => self.cfb(input, out),
            Mode::OpenPgpCfbResync => {
                // RFC 4880 13.9: after the first block + 2 bytes, the register is reloaded with the last
                // `block` bytes of ciphertext (bytes 2 .. block + 2) and a new block begins.
                let boundary = self.bs as u64 + 2;
                let mut input = input;
                if self.processed < boundary {
                    let n = ((boundary - self.processed) as usize).min(input.len());
                    self.cfb(&input[..n], out);
                    self.processed += n as u64;
                    input = &input[n..];
                    if self.processed == boundary {
                        self.reg[..self.bs].rotate_left(2);
                        self.pos = 0;
                    }
                }
                self.cfb(input, out);
            }
            Mode::Cfb8 => self.cfb8(input, out),
            Mode::Ofb => self.ofb(input, out),
        }
        Ok(())
    }

    fn finish(&mut self, out: &mut Vec<u8>) -> Result<(), CoreError> {
        if self.finished {
            return Err(CoreError::Bug("crypter finished twice"));
        }
        self.finished = true;
        if !matches!(self.mode, Mode::Ecb | Mode::Cbc) {
            return Ok(());
        }
        let bs = self.bs;
        match (self.direction, self.padding) {
            (Direction::Encrypt, Padding::Pkcs7) => {
                let n = bs - self.pending.len();
                let mut block = std::mem::take(&mut self.pending);
                block.resize(bs, n as u8);
                self.run(&mut block);
                out.extend_from_slice(&block);
                Ok(())
            }
            (_, Padding::None) => {
                if self.pending.is_empty() {
                    Ok(())
                } else if self.direction == Direction::Encrypt {
                    Err(CoreError::malformed("plaintext", "not a whole number of blocks and no padding"))
                } else {
                    Err(CoreError::DecryptionFailed)
                }
            }
            (Direction::Decrypt, Padding::Pkcs7) => {
                if self.pending.len() != bs {
                    return Err(CoreError::DecryptionFailed);
                }
                let mut block = std::mem::take(&mut self.pending);
                self.run(&mut block);
                let n = strip_pkcs7(&block, bs).ok_or(CoreError::DecryptionFailed);
                if let Ok(n) = n {
                    out.extend_from_slice(&block[..bs - n]);
                }
                block.zeroize();
                n.map(|_| ())
            }
        }
    }
}

impl Drop for BlockModeCrypter {
    fn drop(&mut self) {
        self.reg.zeroize();
        self.ks.zeroize();
        self.pending.zeroize();
    }
}

/// Below this, decryption runs on the calling thread alone.
const PARALLEL_MIN: usize = 128 * 1024;

/// CBC and CFB *decryption* need only the ciphertext block before each block, so a long buffer splits into
/// two halves decrypted at once on two threads: the second half's chaining value is the last ciphertext
/// block of the first half. Only the 64-bit ciphers take this path: AES decrypts faster than a thread
/// starts. `iv` ends as the last ciphertext block, as the serial loop leaves it.
fn split_decrypt(
    cipher: &dyn BlockCipher,
    iv: &mut [u8],
    data: &mut [u8],
    decrypt: impl Fn(&dyn BlockCipher, &mut [u8], &mut [u8]) + Sync,
) {
    let bs = iv.len();
    if data.len() < PARALLEL_MIN || bs != 8 || std::thread::available_parallelism().map_or(1, |n| n.get()) < 2 {
        decrypt(cipher, iv, data);
        return;
    }
    let mid = data.len() / bs / 2 * bs;
    let mut iv2 = [0u8; 16];
    iv2[..bs].copy_from_slice(&data[mid - bs..mid]);
    let mut last = [0u8; 16];
    last[..bs].copy_from_slice(&data[data.len() - bs..]);
    let (first, second) = data.split_at_mut(mid);
    let decrypt = &decrypt;
    std::thread::scope(|scope| {
        let iv1 = &mut *iv;
        scope.spawn(move || decrypt(cipher, iv1, first));
        decrypt(cipher, &mut iv2[..bs], second);
    });
    iv.copy_from_slice(&last[..bs]);
}

/// Checks PKCS #7 padding on the final block without branching on the padding bytes; returns the pad length.
fn strip_pkcs7(block: &[u8], bs: usize) -> Option<usize> {
    let n = *block.last()? as usize;
    let mut bad = (n == 0) as u8 | (n > bs) as u8;
    for (i, &b) in block.iter().rev().enumerate() {
        // Every byte within the pad must equal n; `in_pad` is 1 for those positions.
        let in_pad = (i < n) as u8;
        bad |= in_pad & (b != n as u8) as u8;
    }
    if bad == 0 { Some(n) } else { None }
}

#[cfg(test)]
mod tests {
    use super::super::{Crypter, Direction, Mode, Padding, crypter, process};
    use crate::core::cipher::CipherAlgorithm;
    use crate::core::error::CoreError;

    fn pattern(n: usize, seed: u8) -> Vec<u8> {
        (0..n).map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed)).collect()
    }

    /// Every mode round-trips, and feeding input in odd-sized pieces gives the same bytes as one piece.
    #[test]
    fn streaming_equals_one_shot_and_round_trips() {
        for alg in CipherAlgorithm::ALL {
            let key = pattern(alg.key_size(), 1);
            let bs = alg.block_size();
            for mode in [Mode::Ecb, Mode::Cbc, Mode::Cfb, Mode::OpenPgpCfbResync, Mode::Cfb8, Mode::Ofb] {
                let iv = if mode == Mode::Ecb { vec![] } else { pattern(bs, 9) };
                let paddings: &[Padding] = match mode {
                    Mode::Ecb | Mode::Cbc => &[Padding::Pkcs7, Padding::None],
                    _ => &[Padding::None],
                };
                for &padding in paddings {
                    for len in [0, 1, bs - 1, bs, bs + 1, bs + 2, 3 * bs, 1000] {
                        if padding == Padding::None && matches!(mode, Mode::Ecb | Mode::Cbc) && len % bs != 0 {
                            continue;
                        }
                        let plain = pattern(len, 3);
                        let ct = process(alg, mode, Direction::Encrypt, &key, &iv, padding, &plain).unwrap();
                        let mut pieces = Vec::new();
                        let mut c = crypter(alg, mode, Direction::Encrypt, &key, &iv, padding).unwrap();
                        for chunk in plain.chunks(7) {
                            c.update(chunk, &mut pieces).unwrap();
                        }
                        c.finish(&mut pieces).unwrap();
                        assert_eq!(pieces, ct, "{} {:?} {padding:?} len {len}", alg.name(), mode);
                        if padding == Padding::Pkcs7 {
                            assert_eq!(ct.len(), (len / bs + 1) * bs);
                        } else {
                            assert_eq!(ct.len(), len);
                        }
                        let mut back = Vec::new();
                        let mut d = crypter(alg, mode, Direction::Decrypt, &key, &iv, padding).unwrap();
                        for chunk in ct.chunks(5) {
                            d.update(chunk, &mut back).unwrap();
                        }
                        d.finish(&mut back).unwrap();
                        assert_eq!(back, plain, "{} {:?} {padding:?} len {len}", alg.name(), mode);
                    }
                }
            }
        }
    }

    #[test]
    fn bad_padding_and_truncation_fail_the_same_way() {
        let key = pattern(16, 1);
        let iv = pattern(16, 2);
        let alg = CipherAlgorithm::Aes128;
        let ct = process(alg, Mode::Cbc, Direction::Encrypt, &key, &iv, Padding::Pkcs7, b"hello").unwrap();
        let mut flipped = ct.clone();
        *flipped.last_mut().unwrap() ^= 1;
        for bad in [&flipped[..], &ct[..15], &[][..]] {
            let err = process(alg, Mode::Cbc, Direction::Decrypt, &key, &iv, Padding::Pkcs7, bad).unwrap_err();
            assert!(matches!(err, CoreError::DecryptionFailed), "{err}");
        }
    }

    /// RFC 4880 13.9: the resync variant equals plain CFB for the first block + 2 bytes, and afterwards
    /// equals plain CFB started with IV = ciphertext bytes 2 .. block + 2.
    #[test]
    fn openpgp_resync_matches_its_definition() {
        for alg in [CipherAlgorithm::Cast5, CipherAlgorithm::Aes256] {
            let key = pattern(alg.key_size(), 5);
            let bs = alg.block_size();
            let zero = vec![0u8; bs];
            let plain = pattern(100, 11);
            let ct =
                process(alg, Mode::OpenPgpCfbResync, Direction::Encrypt, &key, &zero, Padding::None, &plain).unwrap();
            let head =
                process(alg, Mode::Cfb, Direction::Encrypt, &key, &zero, Padding::None, &plain[..bs + 2]).unwrap();
            assert_eq!(&ct[..bs + 2], &head[..]);
            let tail =
                process(alg, Mode::Cfb, Direction::Encrypt, &key, &ct[2..bs + 2], Padding::None, &plain[bs + 2..])
                    .unwrap();
            assert_eq!(&ct[bs + 2..], &tail[..]);
        }
    }

    /// Large buffers take the two-thread path for CBC and CFB decryption; it must agree with the serial loop
    /// and leave the chain where the serial loop would, so a stream split across calls still decrypts.
    #[test]
    fn parallel_decryption_matches_the_serial_loop() {
        for alg in [CipherAlgorithm::TripleDes, CipherAlgorithm::Cast5, CipherAlgorithm::Idea, CipherAlgorithm::Des] {
            let key = pattern(alg.key_size(), 4);
            let iv = pattern(8, 5);
            let plain = pattern(3 * super::PARALLEL_MIN + 13, 6);
            for (mode, padding) in [(Mode::Cbc, Padding::Pkcs7), (Mode::Cfb, Padding::None)] {
                let ct = process(alg, mode, Direction::Encrypt, &key, &iv, padding, &plain).unwrap();
                // Pieces of several sizes, each large enough for the parallel path, then a serial tail.
                let mut d = crypter(alg, mode, Direction::Decrypt, &key, &iv, padding).unwrap();
                let mut back = Vec::new();
                let cut1 = super::PARALLEL_MIN * 2 + 3;
                d.update(&ct[..cut1], &mut back).unwrap();
                d.update(&ct[cut1..ct.len() - 5], &mut back).unwrap();
                d.update(&ct[ct.len() - 5..], &mut back).unwrap();
                d.finish(&mut back).unwrap();
                assert!(back == plain, "{} {mode:?}", alg.name());
                // And against a single serial call on the whole buffer.
                let cipher = crate::core::cipher::new_cipher(alg, &key).unwrap();
                let whole = ct.len() / 8 * 8;
                let mut serial = ct[..whole].to_vec();
                let mut ser_iv = iv.clone();
                match mode {
                    Mode::Cbc => cipher.cbc_decrypt(&mut ser_iv, &mut serial),
                    _ => cipher.cfb_decrypt(&mut ser_iv, &mut serial),
                }
                let mut par = ct[..whole].to_vec();
                let mut par_iv = iv.clone();
                super::split_decrypt(&*cipher, &mut par_iv, &mut par, |c, iv, d| match mode {
                    Mode::Cbc => c.cbc_decrypt(iv, d),
                    _ => c.cfb_decrypt(iv, d),
                });
                assert!(par == serial, "{} {mode:?} split", alg.name());
                assert_eq!(par_iv, ser_iv, "{} {mode:?} chain value", alg.name());
            }
        }
    }

    #[test]
    fn wrong_iv_length_is_an_error() {
        let err = crypter(CipherAlgorithm::Des, Mode::Cbc, Direction::Encrypt, &[1; 8], &[0; 16], Padding::Pkcs7);
        assert!(matches!(err, Err(CoreError::IvLength { got: 16, want: 8, .. })));
    }
}
