//! SHA-384 and SHA-512 (FIPS 180-4), our own implementation: the hashes of RSA and ECDSA signatures over SHA-384
//! and SHA-512, of S/MIME's `sha-384`/`sha-512` micalgs and of OpenPGP's hash algorithms 9 and 10.
//!
//! This module owns the SHA-512 compression function, the streaming hasher [`Sha512`] (which also computes
//! SHA-384: same function, other initial value, output truncated to 48 bytes) and the one-shot [`digest_512`] and
//! [`digest_384`].
//!
//! Why our own: on the AMD EPYC (Zen 5) we build and test on, with one full hash per 16 KiB buffer, AWS-LC runs
//! SHA-512 and SHA-384 at 0.74x of OpenSSL 3.0's assembly (`openssl speed -evp sha512 -bytes 16384`; AWS-LC takes
//! its AVX paths on Intel only) and the RustCrypto `sha2` crate, whose AVX2 backend has the same structure as the
//! code below, at 0.73x. This code runs at 1.04x there (1236 against 1186 MB/s), 0.94x on 1 KiB buffers and 1.45x
//! on 64-byte ones; its portable fallback at 0.51x.
//! The `sha2` crate stays as the reference the differential tests below compare against.
//!
//! The route, on x86-64 CPUs with AVX2, BMI1 and BMI2 (detected at run time, once):
//! - the message schedule is computed two words at a time in 128-bit vectors (`σ0`/`σ1` from shifts and
//!   XORs, `W[t-15]` and `W[t-7]` pairs from `palignr`), interleaved with the rounds, and `W[t] + K[t]` moves
//!   to the scalar side with `vmovq`/`vpextrq`: no stack buffer, so no store-to-load round trip;
//! - the 80 rounds are scalar, fully unrolled, with `rorx` (BMI2: rotates that neither destroy their source nor
//!   write the flags) and `andn` (BMI1);
//! - each round is arranged so that its two dependency chains are four operations long (see `round!`): `Ch`
//!   and `Maj` are sums of disjoint halves, `d` is added to `h + W + K` before the new `e` is known, and `Maj`
//!   takes `b ^ c` and `b & c` from the previous round;
//! - one 128-byte block per loop iteration. Hashing two blocks per iteration (the schedule of both in one 256-bit
//!   vector, as OpenSSL's `sha512_block_data_order_avx2` does, `W + K` through a stack buffer) was at best 2% faster
//!   but its 21 KB loop fell to 0.3x-0.7x in some builds; rolled 16-round loops spilled registers (0.85x); an
//!   AVX-512 schedule (`vprolq`/`vpternlogq`) gained nothing, the schedule being hidden behind the rounds.
//!
//! The speed depends on LLVM computing each schedule pair a few rounds before its round needs it: when it sinks the
//! vector code to just before the use, the whole path runs about 20% slower. Three details keep the good schedule,
//! each measured (see their comments): the feed-forward written word by word, the message words read as two
//! `u64` per vector, and `black_box` on the block slice where the SIMD code is called.
//!
//! Elsewhere (other x86-64 CPUs, other architectures) a portable version of the same rounds runs, with the
//! schedule computed ahead in an 80-word array.
//!
//! Whole blocks are hashed straight from the caller's slice, never copied, and the chaining value stays in
//! locals across all the blocks of one `update` call.

/// Bytes in one SHA-512 block.
const BLOCK_LEN: usize = 128;

/// The 80 round constants: the first 64 bits of the fractional parts of the cube roots of the first 80 primes
/// (FIPS 180-4 section 4.2.3).
const K: [u64; 80] = [
    0x428a2f98d728ae22,
    0x7137449123ef65cd,
    0xb5c0fbcfec4d3b2f,
    0xe9b5dba58189dbbc,
    0x3956c25bf348b538,
    0x59f111f1b605d019,
    0x923f82a4af194f9b,
    0xab1c5ed5da6d8118,
    0xd807aa98a3030242,
    0x12835b0145706fbe,
    0x243185be4ee4b28c,
    0x550c7dc3d5ffb4e2,
    0x72be5d74f27b896f,
    0x80deb1fe3b1696b1,
    0x9bdc06a725c71235,
    0xc19bf174cf692694,
    0xe49b69c19ef14ad2,
    0xefbe4786384f25e3,
    0x0fc19dc68b8cd5b5,
    0x240ca1cc77ac9c65,
    0x2de92c6f592b0275,
    0x4a7484aa6ea6e483,
    0x5cb0a9dcbd41fbd4,
    0x76f988da831153b5,
    0x983e5152ee66dfab,
    0xa831c66d2db43210,
    0xb00327c898fb213f,
    0xbf597fc7beef0ee4,
    0xc6e00bf33da88fc2,
    0xd5a79147930aa725,
    0x06ca6351e003826f,
    0x142929670a0e6e70,
    0x27b70a8546d22ffc,
    0x2e1b21385c26c926,
    0x4d2c6dfc5ac42aed,
    0x53380d139d95b3df,
    0x650a73548baf63de,
    0x766a0abb3c77b2a8,
    0x81c2c92e47edaee6,
    0x92722c851482353b,
    0xa2bfe8a14cf10364,
    0xa81a664bbc423001,
    0xc24b8b70d0f89791,
    0xc76c51a30654be30,
    0xd192e819d6ef5218,
    0xd69906245565a910,
    0xf40e35855771202a,
    0x106aa07032bbd1b8,
    0x19a4c116b8d2d0c8,
    0x1e376c085141ab53,
    0x2748774cdf8eeb99,
    0x34b0bcb5e19b48a8,
    0x391c0cb3c5c95a63,
    0x4ed8aa4ae3418acb,
    0x5b9cca4f7763e373,
    0x682e6ff3d6b2b8a3,
    0x748f82ee5defb2fc,
    0x78a5636f43172f60,
    0x84c87814a1f0ab72,
    0x8cc702081a6439ec,
    0x90befffa23631e28,
    0xa4506cebde82bde9,
    0xbef9a3f7b2c67915,
    0xc67178f2e372532b,
    0xca273eceea26619c,
    0xd186b8c721c0c207,
    0xeada7dd6cde0eb1e,
    0xf57d4f7fee6ed178,
    0x06f067aa72176fba,
    0x0a637dc5a2c898a6,
    0x113f9804bef90dae,
    0x1b710b35131c471b,
    0x28db77f523047d84,
    0x32caab7b40c72493,
    0x3c9ebe0a15c9bebc,
    0x431d67c49c100d4c,
    0x4cc5d4becb3e42b6,
    0x597f299cfc657e2a,
    0x5fcb6fab3ad6faec,
    0x6c44198c4a475817,
];

/// The initial hash value of SHA-512 (FIPS 180-4 section 5.3.5).
const IV_512: [u64; 8] = [
    0x6a09e667f3bcc908,
    0xbb67ae8584caa73b,
    0x3c6ef372fe94f82b,
    0xa54ff53a5f1d36f1,
    0x510e527fade682d1,
    0x9b05688c2b3e6c1f,
    0x1f83d9abfb41bd6b,
    0x5be0cd19137e2179,
];

/// The initial hash value of SHA-384 (FIPS 180-4 section 5.3.4).
const IV_384: [u64; 8] = [
    0xcbbb9d5dc1059ed8,
    0x629a292a367cd507,
    0x9159015a3070dd17,
    0x152fecd8f70e5939,
    0x67332667ffc00b31,
    0x8eb44a8768581511,
    0xdb0c2e0d64f98fa7,
    0x47b5481dbefa4fa4,
];

/// A streaming SHA-512 or SHA-384 hasher: feed it with [`Sha512::update`], read the digest with
/// [`Sha512::finalize`].
#[derive(Clone)]
pub struct Sha512 {
    /// The chaining value H0..H7.
    state: [u64; 8],
    /// A partial block waiting for more input; only `buffer[..buffered]` is meaningful.
    buffer: [u8; BLOCK_LEN],
    /// How many bytes of `buffer` are filled, always below `BLOCK_LEN` between calls.
    buffered: usize,
    /// Bytes hashed so far, modulo 2^128 (the padding carries the length in bits, modulo 2^128).
    length: u128,
    /// Digest length in bytes: 64 for SHA-512, 48 for SHA-384.
    output_len: usize,
    /// The compression function this hasher runs, chosen when it was created.
    backend: Backend,
}

impl Sha512 {
    /// A SHA-512 hasher that has seen no input yet.
    pub fn new_512() -> Sha512 {
        Sha512::with_iv(IV_512, 64)
    }

    /// A SHA-384 hasher that has seen no input yet.
    pub fn new_384() -> Sha512 {
        Sha512::with_iv(IV_384, 48)
    }

    /// A hasher starting from `iv` with the fastest compression function this CPU supports.
    fn with_iv(iv: [u64; 8], output_len: usize) -> Sha512 {
        Sha512 { state: iv, buffer: [0; BLOCK_LEN], buffered: 0, length: 0, output_len, backend: Backend::detect() }
    }

    /// Feeds `data` to the hasher; pieces of any size may be fed, the digest depends only on their concatenation.
    pub fn update(&mut self, data: &[u8]) {
        // usize is at most 64 bits wide on every target Rust supports, so this never truncates.
        self.length = self.length.wrapping_add(data.len() as u128);
        let mut data = data;
        if self.buffered > 0 {
            let free = &mut self.buffer[self.buffered..];
            let take = free.len().min(data.len());
            let (head, tail) = data.split_at(take);
            free[..take].copy_from_slice(head);
            self.buffered += take;
            data = tail;
            if self.buffered < BLOCK_LEN {
                return;
            }
            self.backend.compress(&mut self.state, std::slice::from_ref(&self.buffer));
            self.buffered = 0;
        }
        let (blocks, rest) = data.as_chunks::<BLOCK_LEN>();
        if !blocks.is_empty() {
            self.backend.compress(&mut self.state, blocks);
        }
        self.buffer[..rest.len()].copy_from_slice(rest);
        self.buffered = rest.len();
    }

    /// Pads the message (FIPS 180-4 section 5.1.2) and returns the digest in the first 64 (SHA-512) or 48
    /// (SHA-384) bytes of the array, with that length. For SHA-384 the last 16 bytes are zero: the two chaining
    /// words that SHA-384 drops are not revealed.
    pub fn finalize(self) -> ([u8; 64], usize) {
        let Sha512 { mut state, buffer, buffered, length, output_len, backend } = self;
        // The tail: the buffered bytes, 0x80, zeros, then the length in bits (big-endian), in one or two blocks.
        let mut tail = [[0u8; BLOCK_LEN]; 2];
        let blocks = if buffered < BLOCK_LEN - 16 { 1 } else { 2 };
        let bits = length.wrapping_mul(8).to_be_bytes();
        {
            let flat = tail.as_flattened_mut();
            flat[..buffered].copy_from_slice(&buffer[..buffered]);
            flat[buffered] = 0x80;
            flat[blocks * BLOCK_LEN - 16..blocks * BLOCK_LEN].copy_from_slice(&bits);
        }
        backend.compress(&mut state, &tail[..blocks]);
        let mut out = [0u8; 64];
        for (bytes, word) in out.chunks_exact_mut(8).zip(state).take(output_len / 8) {
            bytes.copy_from_slice(&word.to_be_bytes());
        }
        (out, output_len)
    }

    /// The same hasher, but running `backend` (the tests force the portable code with it).
    #[cfg(test)]
    fn with_backend(self, backend: Backend) -> Sha512 {
        Sha512 { backend, ..self }
    }
}

/// The SHA-512 digest of `data` in one call.
pub fn digest_512(data: &[u8]) -> [u8; 64] {
    let mut hasher = Sha512::new_512();
    hasher.update(data);
    hasher.finalize().0
}

/// The SHA-384 digest of `data` in one call.
pub fn digest_384(data: &[u8]) -> [u8; 48] {
    let mut hasher = Sha512::new_384();
    hasher.update(data);
    let (full, _) = hasher.finalize();
    let mut out = [0u8; 48];
    out.copy_from_slice(&full[..48]);
    out
}

/// Which compression function a hasher runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Backend {
    /// Portable Rust, for any CPU.
    Portable,
    /// AVX2 message schedule and BMI1/BMI2 rounds; the token proves the CPU has them.
    #[cfg(target_arch = "x86_64")]
    Avx2Bmi2(x86::Avx2Bmi2),
}

impl Backend {
    /// The fastest compression function this CPU supports (the CPU is examined once per process).
    fn detect() -> Backend {
        #[cfg(target_arch = "x86_64")]
        {
            if let Some(token) = x86::Avx2Bmi2::detect() {
                return Backend::Avx2Bmi2(token);
            }
        }
        Backend::Portable
    }

    /// Runs the compression function over whole blocks.
    #[inline]
    fn compress(self, state: &mut [u64; 8], blocks: &[[u8; BLOCK_LEN]]) {
        match self {
            Backend::Portable => compress_portable(state, blocks),
            #[cfg(target_arch = "x86_64")]
            Backend::Avx2Bmi2(token) => token.compress(state, blocks),
        }
    }
}

/// `Σ0` of FIPS 180-4 (4.10).
#[inline(always)]
fn big_sigma0(x: u64) -> u64 {
    x.rotate_right(28) ^ x.rotate_right(34) ^ x.rotate_right(39)
}

/// `Σ1` of FIPS 180-4 (4.11).
#[inline(always)]
fn big_sigma1(x: u64) -> u64 {
    x.rotate_right(14) ^ x.rotate_right(18) ^ x.rotate_right(41)
}

/// `σ0` of FIPS 180-4 (4.12).
#[inline(always)]
fn small_sigma0(x: u64) -> u64 {
    x.rotate_right(1) ^ x.rotate_right(8) ^ (x >> 7)
}

/// `σ1` of FIPS 180-4 (4.13).
#[inline(always)]
fn small_sigma1(x: u64) -> u64 {
    x.rotate_right(19) ^ x.rotate_right(61) ^ (x >> 6)
}

/// One round (FIPS 180-4 section 6.4.2, step 3) on the working variables named `$a`..`$h`: it writes the new `e`
/// into `$d` and the new `a` into `$h`, and the next round is called with the names rotated by one (`$h` first)
/// instead of moving eight values. `$kw` is `W[t] + K[t]`. `$bxc` and `$band` hold `b ^ c` and `b & c` on entry
/// and the next round's (`a ^ b`, `a & b`) on exit.
///
/// The arithmetic is FIPS 180-4's, rearranged so that both recurrences are four operations long:
/// - `Ch(e,f,g) = (e & f) + (!e & g)` and `Maj(a,b,c) = (a & (b ^ c)) + (b & c)`: the two halves of each
///   never share a set bit, so `+` equals the standard's `^`, and the halves join the sums separately;
/// - the new `e` is `d + T1 = (h + W + K + d) + (e & f) + (!e & g) + Σ1(e)`: the first sum depends only on older
///   values, so after `e` come one AND, two additions and `Σ1` in parallel, then one addition;
/// - the new `a` is `T1 + Σ0(a) + Maj = new_e + ((b & c) - d) + (a & (b ^ c)) + Σ0(a)`: after `a` come one
///   AND and one addition in parallel with `Σ0` (three operations), then one addition.
///
/// The standard's order (`T1` first, then `d + T1` and `T1 + T2`) has five-operation recurrences, and runs about
/// 15% slower here.
macro_rules! round {
    ($a:ident, $b:ident, $c:ident, $d:ident, $e:ident, $f:ident, $g:ident, $h:ident,
     $bxc:ident, $band:ident, $kw:expr) => {
        let early = $h.wrapping_add($kw).wrapping_add($d);
        let new_e = early.wrapping_add($e & $f).wrapping_add(!$e & $g).wrapping_add(big_sigma1($e));
        let new_a = new_e.wrapping_add($band.wrapping_sub($d)).wrapping_add($a & $bxc).wrapping_add(big_sigma0($a));
        $band = $a & $b;
        $bxc = $a ^ $b;
        $d = new_e;
        $h = new_a;
    };
}

/// Eight rounds `$t..$t + 8`, taking `W[t] + K[t]` from `$kw[t]`; the names end where they started.
macro_rules! rounds8 {
    ($kw:ident, $t:expr, $a:ident, $b:ident, $c:ident, $d:ident, $e:ident, $f:ident, $g:ident, $h:ident,
     $bxc:ident, $band:ident) => {
        round!($a, $b, $c, $d, $e, $f, $g, $h, $bxc, $band, $kw[$t]);
        round!($h, $a, $b, $c, $d, $e, $f, $g, $bxc, $band, $kw[$t + 1]);
        round!($g, $h, $a, $b, $c, $d, $e, $f, $bxc, $band, $kw[$t + 2]);
        round!($f, $g, $h, $a, $b, $c, $d, $e, $bxc, $band, $kw[$t + 3]);
        round!($e, $f, $g, $h, $a, $b, $c, $d, $bxc, $band, $kw[$t + 4]);
        round!($d, $e, $f, $g, $h, $a, $b, $c, $bxc, $band, $kw[$t + 5]);
        round!($c, $d, $e, $f, $g, $h, $a, $b, $bxc, $band, $kw[$t + 6]);
        round!($b, $c, $d, $e, $f, $g, $h, $a, $bxc, $band, $kw[$t + 7]);
    };
}

/// The feed-forward at the end of each block: adds the chaining value the block started from to the working
/// variables, modulo 2^64.
///
/// Written out word by word on purpose: with the same addition as a loop over arrays, LLVM schedules the AVX2
/// code's message words just before their rounds instead of ahead of them, which costs 20% (measured).
macro_rules! feed_forward {
    ($start:ident, $a:ident, $b:ident, $c:ident, $d:ident, $e:ident, $f:ident, $g:ident, $h:ident) => {
        $a = $a.wrapping_add($start[0]);
        $b = $b.wrapping_add($start[1]);
        $c = $c.wrapping_add($start[2]);
        $d = $d.wrapping_add($start[3]);
        $e = $e.wrapping_add($start[4]);
        $f = $f.wrapping_add($start[5]);
        $g = $g.wrapping_add($start[6]);
        $h = $h.wrapping_add($start[7]);
    };
}

/// The compression function in portable Rust: the whole schedule first, then 80 unrolled rounds.
fn compress_portable(state: &mut [u64; 8], blocks: &[[u8; BLOCK_LEN]]) {
    let [mut a, mut b, mut c, mut d, mut e, mut f, mut g, mut h] = *state;
    for block in blocks {
        let mut w = [0u64; 80];
        let (words, _) = block.as_chunks::<8>();
        for (slot, bytes) in w.iter_mut().zip(words) {
            *slot = u64::from_be_bytes(*bytes);
        }
        for t in 16..80 {
            w[t] = small_sigma1(w[t - 2])
                .wrapping_add(w[t - 7])
                .wrapping_add(small_sigma0(w[t - 15]))
                .wrapping_add(w[t - 16]);
        }
        for (slot, k) in w.iter_mut().zip(K) {
            *slot = slot.wrapping_add(k);
        }
        let start = [a, b, c, d, e, f, g, h];
        let mut bxc = b ^ c;
        let mut band = b & c;
        rounds8!(w, 0, a, b, c, d, e, f, g, h, bxc, band);
        rounds8!(w, 8, a, b, c, d, e, f, g, h, bxc, band);
        rounds8!(w, 16, a, b, c, d, e, f, g, h, bxc, band);
        rounds8!(w, 24, a, b, c, d, e, f, g, h, bxc, band);
        rounds8!(w, 32, a, b, c, d, e, f, g, h, bxc, band);
        rounds8!(w, 40, a, b, c, d, e, f, g, h, bxc, band);
        rounds8!(w, 48, a, b, c, d, e, f, g, h, bxc, band);
        rounds8!(w, 56, a, b, c, d, e, f, g, h, bxc, band);
        rounds8!(w, 64, a, b, c, d, e, f, g, h, bxc, band);
        rounds8!(w, 72, a, b, c, d, e, f, g, h, bxc, band);
        let _ = (bxc, band);
        feed_forward!(start, a, b, c, d, e, f, g, h);
    }
    *state = [a, b, c, d, e, f, g, h];
}

/// The AVX2 + BMI1/BMI2 compression function (x86-64 only).
#[cfg(target_arch = "x86_64")]
mod x86 {
    use core::arch::x86_64::{
        __m128i, _mm_add_epi64, _mm_alignr_epi8, _mm_extract_epi64, _mm_or_si128, _mm_set_epi64x, _mm_setr_epi8,
        _mm_setzero_si128, _mm_shuffle_epi8, _mm_slli_epi64, _mm_srli_epi64, _mm_xor_si128,
    };
    use std::sync::OnceLock;

    use super::{BLOCK_LEN, K, big_sigma0, big_sigma1};

    /// Proof that the running CPU has AVX2, BMI1 and BMI2: only [`Avx2Bmi2::detect`] makes one, after checking.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub(super) struct Avx2Bmi2(());

    impl Avx2Bmi2 {
        /// The token if the CPU (and the OS, for the AVX state) supports AVX2, BMI1 and BMI2; the CPU is
        /// examined on the first call only.
        pub(super) fn detect() -> Option<Avx2Bmi2> {
            static SUPPORTED: OnceLock<bool> = OnceLock::new();
            let supported = *SUPPORTED.get_or_init(|| {
                std::is_x86_feature_detected!("avx2")
                    && std::is_x86_feature_detected!("bmi1")
                    && std::is_x86_feature_detected!("bmi2")
            });
            supported.then_some(Avx2Bmi2(()))
        }

        /// Runs the compression function over whole blocks.
        #[allow(unsafe_code)]
        #[inline]
        pub(super) fn compress(self, state: &mut [u64; 8], blocks: &[[u8; BLOCK_LEN]]) {
            // `black_box` hides the slice's length from the optimiser: knowing that both callers pass at least one
            // block, LLVM otherwise schedules the message words just in time (about 20% slower, measured).
            let blocks = std::hint::black_box(blocks);
            // SAFETY: `compress_avx2` only requires the CPU features it is compiled for (AVX2, BMI1, BMI2; it
            // takes no pointers). `self` exists, so `detect` found all three on this CPU at run time: the token's
            // field is private to this module and nothing else here constructs one.
            unsafe { compress_avx2(state, blocks) }
        }
    }

    /// `σ0` of two message words at once (rotations by 1 and 8, shift by 7).
    #[inline]
    #[target_feature(enable = "avx2")]
    fn small_sigma0_x2(x: __m128i) -> __m128i {
        let rot1 = _mm_or_si128(_mm_srli_epi64::<1>(x), _mm_slli_epi64::<63>(x));
        let rot8 = _mm_or_si128(_mm_srli_epi64::<8>(x), _mm_slli_epi64::<56>(x));
        _mm_xor_si128(_mm_xor_si128(rot1, rot8), _mm_srli_epi64::<7>(x))
    }

    /// `σ1` of two message words at once (rotations by 19 and 61, shift by 6).
    #[inline]
    #[target_feature(enable = "avx2")]
    fn small_sigma1_x2(x: __m128i) -> __m128i {
        let rot19 = _mm_or_si128(_mm_srli_epi64::<19>(x), _mm_slli_epi64::<45>(x));
        let rot61 = _mm_or_si128(_mm_srli_epi64::<61>(x), _mm_slli_epi64::<3>(x));
        _mm_xor_si128(_mm_xor_si128(rot19, rot61), _mm_srli_epi64::<6>(x))
    }

    /// `K[2j]` and `K[2j + 1]` as one vector.
    #[inline]
    #[target_feature(enable = "avx2")]
    fn k_pair(j: usize) -> __m128i {
        // The constants are below 2^64: the casts only reinterpret the bits.
        _mm_set_epi64x(K[2 * j + 1] as i64, K[2 * j] as i64)
    }

    /// Message word `i` of `block`, read little-endian (the caller swaps the bytes in vectors). Reading the two
    /// words of a vector as one `u128` instead makes LLVM schedule the message words just in time (20% slower).
    #[inline(always)]
    fn word_le(block: &[u8; BLOCK_LEN], i: usize) -> i64 {
        let mut word = [0u8; 8];
        word.copy_from_slice(&block[8 * i..8 * i + 8]);
        i64::from_le_bytes(word)
    }

    /// The compression function: the schedule in 128-bit vectors, interleaved with scalar rounds.
    #[target_feature(enable = "avx2,bmi1,bmi2")]
    fn compress_avx2(state: &mut [u64; 8], blocks: &[[u8; BLOCK_LEN]]) {
        // Reverses the bytes of each 64-bit lane: the message words are big-endian.
        let bswap = _mm_setr_epi8(7, 6, 5, 4, 3, 2, 1, 0, 15, 14, 13, 12, 11, 10, 9, 8);
        let [mut a, mut b, mut c, mut d, mut e, mut f, mut g, mut h] = *state;
        for block in blocks {
            // `w[j % 8]` holds the message words 2j and 2j + 1 of the last 16 computed; `kw[t]` is W[t] + K[t].
            // Every index below is a constant once the macros are expanded, so `kw` lives in registers: each
            // entry moves from its vector to a general register shortly before its round (no stack round trip).
            let mut w = [_mm_setzero_si128(); 8];
            let mut kw = [0u64; 80];
            for j in 0..8 {
                let v = _mm_set_epi64x(word_le(block, 2 * j + 1), word_le(block, 2 * j));
                w[j] = _mm_shuffle_epi8(v, bswap);
                let sum = _mm_add_epi64(w[j], k_pair(j));
                kw[2 * j] = _mm_extract_epi64::<0>(sum) as u64;
                kw[2 * j + 1] = _mm_extract_epi64::<1>(sum) as u64;
            }
            let start = [a, b, c, d, e, f, g, h];
            let mut bxc = b ^ c;
            let mut band = b & c;
            // Message words 2j and 2j + 1 (8 <= j < 40), into `w[j % 8]` and `kw`.
            macro_rules! schedule {
                ($j:expr) => {{
                    let j: usize = $j;
                    let p = j % 8;
                    let w15 = _mm_alignr_epi8::<8>(w[(p + 1) % 8], w[p]);
                    let w7 = _mm_alignr_epi8::<8>(w[(p + 5) % 8], w[(p + 4) % 8]);
                    let sum = _mm_add_epi64(
                        _mm_add_epi64(w[p], small_sigma0_x2(w15)),
                        _mm_add_epi64(w7, small_sigma1_x2(w[(p + 7) % 8])),
                    );
                    w[p] = sum;
                    let sum = _mm_add_epi64(sum, k_pair(j));
                    kw[2 * j] = _mm_extract_epi64::<0>(sum) as u64;
                    kw[2 * j + 1] = _mm_extract_epi64::<1>(sum) as u64;
                }};
            }
            // Rounds `$t..$t + 8`, computing the message words `$t + 16..$t + 24` in between.
            macro_rules! rounds8_scheduling {
                ($t:expr) => {
                    round!(a, b, c, d, e, f, g, h, bxc, band, kw[$t]);
                    round!(h, a, b, c, d, e, f, g, bxc, band, kw[$t + 1]);
                    schedule!($t / 2 + 8);
                    round!(g, h, a, b, c, d, e, f, bxc, band, kw[$t + 2]);
                    round!(f, g, h, a, b, c, d, e, bxc, band, kw[$t + 3]);
                    schedule!($t / 2 + 9);
                    round!(e, f, g, h, a, b, c, d, bxc, band, kw[$t + 4]);
                    round!(d, e, f, g, h, a, b, c, bxc, band, kw[$t + 5]);
                    schedule!($t / 2 + 10);
                    round!(c, d, e, f, g, h, a, b, bxc, band, kw[$t + 6]);
                    round!(b, c, d, e, f, g, h, a, bxc, band, kw[$t + 7]);
                    schedule!($t / 2 + 11);
                };
            }
            rounds8_scheduling!(0);
            rounds8_scheduling!(8);
            rounds8_scheduling!(16);
            rounds8_scheduling!(24);
            rounds8_scheduling!(32);
            rounds8_scheduling!(40);
            rounds8_scheduling!(48);
            rounds8_scheduling!(56);
            rounds8!(kw, 64, a, b, c, d, e, f, g, h, bxc, band);
            rounds8!(kw, 72, a, b, c, d, e, f, g, h, bxc, band);
            // The last round's carries and the last schedule step's words are not needed.
            let _ = (bxc, band, w);
            feed_forward!(start, a, b, c, d, e, f, g, h);
        }
        *state = [a, b, c, d, e, f, g, h];
    }
}

#[cfg(test)]
mod tests {
    use super::{Backend, Sha512, digest_384, digest_512};
    use sha2::Digest as _;

    /// The two-block message of FIPS 180-4's examples (896 bits).
    const TWO_BLOCKS: &str = "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu";

    /// Every compression function this machine can run: the portable one, and the SIMD one when the CPU has it.
    fn backends() -> Vec<Backend> {
        let detected = Backend::detect();
        if detected == Backend::Portable {
            eprintln!("note: this CPU lacks AVX2/BMI1/BMI2, only the portable code is tested");
            vec![Backend::Portable]
        } else {
            vec![Backend::Portable, detected]
        }
    }

    /// The digest of `data` by our code on `backend`, as SHA-384 or SHA-512, fed in one piece.
    fn ours(data: &[u8], is_384: bool, backend: Backend) -> Vec<u8> {
        let hasher = if is_384 { Sha512::new_384() } else { Sha512::new_512() };
        let mut hasher = hasher.with_backend(backend);
        hasher.update(data);
        let (out, len) = hasher.finalize();
        out[..len].to_vec()
    }

    /// The reference digest, from the RustCrypto `sha2` crate.
    fn reference(data: &[u8], is_384: bool) -> Vec<u8> {
        if is_384 { sha2::Sha384::digest(data).to_vec() } else { sha2::Sha512::digest(data).to_vec() }
    }

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// A tiny deterministic PRNG (xorshift64) for the differential tests.
    struct XorShift(u64);

    impl XorShift {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }

        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }

        fn bytes(&mut self, len: usize) -> Vec<u8> {
            (0..len).map(|_| self.next() as u8).collect()
        }
    }

    /// Checks the FIPS 180-4 example messages against `expected` (empty, "abc", two blocks, a million 'a') on
    /// every backend, fed whole and, except the million, byte by byte.
    fn check_fips_examples(is_384: bool, expected: [&str; 4]) {
        let million = vec![b'a'; 1_000_000];
        let messages: [&[u8]; 4] = [b"", b"abc", TWO_BLOCKS.as_bytes(), &million];
        for backend in backends() {
            for (message, expected) in messages.into_iter().zip(expected) {
                let what = format!("{backend:?}, {} bytes", message.len());
                assert_eq!(hex(&ours(message, is_384, backend)), expected, "{what}");
                if message.len() < 1000 {
                    let hasher = if is_384 { Sha512::new_384() } else { Sha512::new_512() };
                    let mut hasher = hasher.with_backend(backend);
                    for byte in message {
                        hasher.update(std::slice::from_ref(byte));
                    }
                    let (out, len) = hasher.finalize();
                    assert_eq!(hex(&out[..len]), expected, "{what}, byte by byte");
                }
            }
        }
    }

    #[test]
    fn fips_180_4_sha512_examples() {
        check_fips_examples(
            false,
            [
                "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce\
                 47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e",
                "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a\
                 2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f",
                "8e959b75dae313da8cf4f72814fc143f8f7779c6eb9f7fa17299aeadb6889018\
                 501d289e4900f7e4331b99dec4b5433ac7d329eeb6dd26545e96e55b874be909",
                "e718483d0ce769644e2e42c7bc15b4638e1f98b13b2044285632a803afa973eb\
                 de0ff244877ea60a4cb0432ce577c31beb009c5c2c49aa2e4eadb217ad8cc09b",
            ],
        );
    }

    #[test]
    fn fips_180_4_sha384_examples() {
        check_fips_examples(
            true,
            [
                "38b060a751ac96384cd9327eb1b1e36a21fdb71114be0743\
                 4c0cc7bf63f6e1da274edebfe76f65fbd51ad2f14898b95b",
                "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded163\
                 1a8b605a43ff5bed8086072ba1e7cc2358baeca134c825a7",
                "09330c33f71147e83d192fc782cd1b4753111b173b3b05d2\
                 2fa08086e3b0f712fcc7c71a557e2db966c3e9fa91746039",
                "9d0e1809716474cb086e834e310a4a1ced149e9c00f24852\
                 7972cec5704c2a5b07b8b3dc38ecc4ebae97ddd87f3d8985",
            ],
        );
    }

    #[test]
    fn one_shot_functions_match_the_hasher() {
        let data = XorShift(0x5eed).bytes(1000);
        for len in [0, 1, 111, 112, 127, 128, 129, 1000] {
            assert_eq!(digest_512(&data[..len]).to_vec(), reference(&data[..len], false), "SHA-512, {len} bytes");
            assert_eq!(digest_384(&data[..len]).to_vec(), reference(&data[..len], true), "SHA-384, {len} bytes");
        }
    }

    #[test]
    fn matches_sha2_crate_for_every_length_up_to_600() {
        let data = XorShift(0x9e37_79b9_7f4a_7c15).bytes(600);
        for backend in backends() {
            for is_384 in [false, true] {
                for len in 0..=600 {
                    let message = &data[..len];
                    assert_eq!(
                        ours(message, is_384, backend),
                        reference(message, is_384),
                        "{backend:?}, SHA-{}, length {len}",
                        if is_384 { 384 } else { 512 }
                    );
                }
            }
        }
    }

    #[test]
    fn matches_sha2_crate_for_random_lengths_fed_in_random_pieces() {
        let mut rng = XorShift(0x0123_4567_89ab_cdef);
        for backend in backends() {
            for round in 0..24 {
                let is_384 = round % 2 == 1;
                let len = rng.below(200_001);
                let data = rng.bytes(len);
                let hasher = if is_384 { Sha512::new_384() } else { Sha512::new_512() };
                let mut hasher = hasher.with_backend(backend);
                let mut rest = &data[..];
                while !rest.is_empty() {
                    // Mostly small pieces (around block boundaries), sometimes large ones.
                    let limit = if rng.below(4) == 0 { 20_000 } else { 300 };
                    let take = rng.below(limit + 1).min(rest.len());
                    let (piece, tail) = rest.split_at(take);
                    hasher.update(piece);
                    rest = tail;
                }
                let (out, out_len) = hasher.finalize();
                assert_eq!(
                    out[..out_len].to_vec(),
                    reference(&data, is_384),
                    "{backend:?}, round {round}, length {len}"
                );
            }
        }
    }

    #[test]
    fn clone_forks_the_stream() {
        let mut hasher = Sha512::new_512();
        hasher.update(b"ab");
        let fork = hasher.clone();
        hasher.update(b"c");
        assert_eq!(hex(&hasher.finalize().0), hex(&digest_512(b"abc")));
        assert_eq!(fork.finalize().0.to_vec(), reference(b"ab", false));
    }

    #[test]
    fn sha384_leaves_the_dropped_words_out() {
        let (out, len) = Sha512::new_384().finalize();
        assert_eq!(len, 48);
        assert_eq!(out[48..], [0u8; 16]);
        assert_eq!(Sha512::new_512().finalize().1, 64);
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn simd_code_runs_exactly_when_the_cpu_has_avx2_bmi1_and_bmi2() {
        let has_all = std::is_x86_feature_detected!("avx2")
            && std::is_x86_feature_detected!("bmi1")
            && std::is_x86_feature_detected!("bmi2");
        assert_eq!(Backend::detect() != Backend::Portable, has_all);
        assert_eq!(Backend::detect(), Backend::detect(), "the decision is cached and stable");
    }
}
