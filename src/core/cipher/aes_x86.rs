//! AES-128/192/256 on x86-64: our own AES-NI key schedule and chaining loops, with VAES on 512-bit registers
//! for the modes that can run blocks in parallel.
//!
//! What this module owns: the round keys (expanded with `AESKEYGENASSIST`, decryption keys by `AESIMC`,
//! zeroized on drop), the run-time CPU check (cached), and the ECB, CBC and CFB128 loops over whole blocks.
//! [`super::aes`] picks this implementation when the CPU has AES-NI and keeps AWS-LC for the others.
//!
//! Why: through AWS-LC our AES ran at 0.98x-1.02x of OpenSSL 3.0 (`sealpost bench --compare`, 16 KiB, Zen 5).
//! CBC decryption is parallel, and both libraries run it 8 blocks wide on 128-bit AES-NI; CFB they run one
//! block at a time through a block-function pointer, decryption included. With VAES, one instruction runs a
//! round on the 4 blocks of a 512-bit register, and the loops below keep 16 blocks in flight: CBC decryption
//! went to 3.4x-3.9x of OpenSSL and CFB decryption to 34x-49x. CBC and CFB encryption are serial chains bound
//! by the latency of the AES rounds; there the loop keeps the round keys in registers, pays no per-call
//! context set-up, and folds the chaining XOR into the key of the last round, so that the loop-carried chain is
//! nothing but AES rounds: CBC encryption runs at 1.02x-1.06x of OpenSSL (2-6% ahead of AWS-LC, which is
//! the hardware's limit: OpenSSL's chain has one XOR more per block), CFB encryption at 1.46x-1.67x.
//!
//! The route: the CPU features are checked once ([`Support::detect`]); the kernels are `#[target_feature]`
//! functions, called only through the tokens [`AesNi`] and [`Vaes512`], which nothing but `detect` makes, and
//! generic over the number of round keys so that each key size gets its own fully unrolled loop. Blocks are
//! loaded through `u128` and `_mm_set_epi64x` (or four of those inserted into a 512-bit register) and stored
//! through `_mm_cvtsi128_si64`; LLVM turns both into plain unaligned vector loads and stores, so no pointer is
//! handled and the only `unsafe` is the call into a `#[target_feature]` function.

use core::arch::x86_64::{
    __m128i, __m512i, _mm_aesdec_si128, _mm_aesdeclast_si128, _mm_aesenc_si128, _mm_aesenclast_si128, _mm_aesimc_si128,
    _mm_aeskeygenassist_si128, _mm_cvtsi32_si128, _mm_cvtsi128_si32, _mm_cvtsi128_si64, _mm_set_epi32, _mm_set_epi64x,
    _mm_setzero_si128, _mm_slli_si128, _mm_srli_si128, _mm_unpackhi_epi64, _mm_xor_si128, _mm512_aesdec_epi128,
    _mm512_aesdeclast_epi128, _mm512_aesenc_epi128, _mm512_aesenclast_epi128, _mm512_alignr_epi64,
    _mm512_broadcast_i32x4, _mm512_castsi128_si512, _mm512_castsi512_si128, _mm512_extracti32x4_epi32,
    _mm512_inserti32x4, _mm512_setzero_si512, _mm512_xor_si512,
};
use std::sync::OnceLock;

use zeroize::{Zeroize, ZeroizeOnDrop};

/// One AES block.
type Block = [u8; 16];

/// Four consecutive blocks: one 512-bit register.
type Quad = [Block; 4];

/// Blocks per group in the AES-NI loop (the `AESDEC` latency times its throughput, with room to spare).
const NI_WIDTH: usize = 8;

/// 512-bit registers per group in the VAES loop (4 blocks each: 16 blocks in flight). 6 or 8 registers measured
/// no faster (the loop is bound by the throughput of `VAESDEC`, and out-of-order execution overlaps groups), and
/// 8 spills some of the registers in the CBC and CFB loops of AES-256.
const VAES_WIDTH: usize = 4;

/// What the parallel loop computes for each block `X[i]` (with `X[-1]` the chaining value).
mod kind {
    /// ECB encryption: `E(X[i])`.
    pub const ECB_ENC: u8 = 0;
    /// ECB decryption: `D(X[i])`.
    pub const ECB_DEC: u8 = 1;
    /// CBC decryption: `D(X[i]) ^ X[i-1]`.
    pub const CBC_DEC: u8 = 2;
    /// CFB128 decryption: `E(X[i-1]) ^ X[i]`.
    pub const CFB_DEC: u8 = 3;

    /// Whether the kind runs the inverse cipher.
    pub const fn decrypts(kind: u8) -> bool {
        kind == ECB_DEC || kind == CBC_DEC
    }
}

/// The CPU features this module can use, examined once per process.
#[derive(Clone, Copy, Debug)]
pub(super) struct Support {
    /// AES-NI.
    pub aesni: Option<AesNi>,
    /// VAES on 512-bit registers (VAES + AVX-512F), besides AES-NI.
    pub vaes512: Option<Vaes512>,
}

impl Support {
    /// What the running CPU (and OS, for the AVX-512 state) supports; the CPU is examined on the first call.
    pub(super) fn detect() -> Support {
        static FOUND: OnceLock<(bool, bool)> = OnceLock::new();
        let (aesni, vaes512) = *FOUND.get_or_init(|| {
            let aesni = std::is_x86_feature_detected!("aes");
            let vaes512 = aesni && std::is_x86_feature_detected!("vaes") && std::is_x86_feature_detected!("avx512f");
            (aesni, vaes512)
        });
        Support { aesni: aesni.then_some(AesNi(())), vaes512: vaes512.then_some(Vaes512(())) }
    }
}

/// Proof that the running CPU has AES-NI: only [`Support::detect`] makes one, after checking.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct AesNi(());

/// Proof that the running CPU has VAES, AVX-512F and AES-NI: only [`Support::detect`] makes one, after
/// checking.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Vaes512(());

/// The number of rounds, which fixes the kernels' unrolling.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Rounds {
    /// AES-128.
    R10,
    /// AES-192.
    R12,
    /// AES-256.
    R14,
}

/// The expanded key: round keys for the cipher and, in the order `AESDEC` takes them, for the inverse cipher.
#[derive(Zeroize, ZeroizeOnDrop)]
struct RoundKeys {
    enc: [__m128i; 15],
    dec: [__m128i; 15],
}

/// Which parallel kernel a key runs (the serial chains always run on AES-NI).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Path {
    /// 128-bit AES-NI, 8 blocks in flight.
    AesNi,
    /// VAES on 512-bit registers, 16 blocks in flight.
    Vaes512,
}

/// A keyed AES cipher on AES-NI (and VAES where present).
pub(super) struct AesX86 {
    keys: RoundKeys,
    rounds: Rounds,
    aesni: AesNi,
    vaes512: Option<Vaes512>,
}

impl AesX86 {
    /// The cipher for a 16, 24 or 32-byte key, on the fastest path the CPU has; `None` without AES-NI or for
    /// another key length.
    pub(super) fn new(key: &[u8]) -> Option<AesX86> {
        let support = Support::detect();
        let aesni = support.aesni?;
        AesX86::build(aesni, support.vaes512, key)
    }

    /// The cipher on a given path, if the CPU has it (tests force each path with this).
    #[cfg(test)]
    pub(super) fn with_path(key: &[u8], path: Path) -> Option<AesX86> {
        let support = Support::detect();
        let aesni = support.aesni?;
        let vaes512 = match path {
            Path::AesNi => None,
            Path::Vaes512 => Some(support.vaes512?),
        };
        AesX86::build(aesni, vaes512, key)
    }

    fn build(aesni: AesNi, vaes512: Option<Vaes512>, key: &[u8]) -> Option<AesX86> {
        let rounds = match key.len() {
            16 => Rounds::R10,
            24 => Rounds::R12,
            32 => Rounds::R14,
            _ => return None,
        };
        Some(AesX86 { keys: aesni.expand(key), rounds, aesni, vaes512 })
    }

    /// The parallel kernel in use.
    pub(super) fn path(&self) -> Path {
        if self.vaes512.is_some() { Path::Vaes512 } else { Path::AesNi }
    }

    fn parallel<const KIND: u8>(&self, iv: &mut Block, blocks: &mut [Block]) {
        let keys = if kind::decrypts(KIND) { &self.keys.dec } else { &self.keys.enc };
        match self.vaes512 {
            Some(vaes) => vaes.parallel::<KIND>(self.rounds, keys, iv, blocks),
            None => self.aesni.parallel::<KIND>(self.rounds, keys, iv, blocks),
        }
    }

    /// ECB-encrypts whole blocks in place.
    pub(super) fn encrypt_blocks(&self, blocks: &mut [Block]) {
        self.parallel::<{ kind::ECB_ENC }>(&mut [0; 16], blocks);
    }

    /// ECB-decrypts whole blocks in place.
    pub(super) fn decrypt_blocks(&self, blocks: &mut [Block]) {
        self.parallel::<{ kind::ECB_DEC }>(&mut [0; 16], blocks);
    }

    /// CBC-encrypts whole blocks in place; `iv` continues the chain.
    pub(super) fn cbc_encrypt(&self, iv: &mut Block, blocks: &mut [Block]) {
        self.aesni.chain::<false>(self.rounds, &self.keys.enc, iv, blocks);
    }

    /// CBC-decrypts whole blocks in place; `iv` continues the chain.
    pub(super) fn cbc_decrypt(&self, iv: &mut Block, blocks: &mut [Block]) {
        self.parallel::<{ kind::CBC_DEC }>(iv, blocks);
    }

    /// CFB128-encrypts whole blocks in place; `iv` continues the chain.
    pub(super) fn cfb_encrypt(&self, iv: &mut Block, blocks: &mut [Block]) {
        self.aesni.chain::<true>(self.rounds, &self.keys.enc, iv, blocks);
    }

    /// CFB128-decrypts whole blocks in place; `iv` continues the chain.
    pub(super) fn cfb_decrypt(&self, iv: &mut Block, blocks: &mut [Block]) {
        self.parallel::<{ kind::CFB_DEC }>(iv, blocks);
    }
}

impl AesNi {
    /// Expands a 16, 24 or 32-byte key (callers check the length).
    #[allow(unsafe_code)]
    fn expand(self, key: &[u8]) -> RoundKeys {
        // SAFETY: `expand_key` only requires the CPU features it is compiled for (AES-NI) and takes no
        // pointers. `self` exists, so `Support::detect` found it on this CPU at run time: the token's field is
        // private to this module and nothing else constructs one.
        unsafe { expand_key(key) }
    }

    /// A serial chain: CBC encryption, or CFB128 encryption when `CFB`.
    #[allow(unsafe_code)]
    #[inline]
    fn chain<const CFB: bool>(self, rounds: Rounds, keys: &[__m128i; 15], iv: &mut Block, blocks: &mut [Block]) {
        // SAFETY: `chain_ni` only requires the CPU features it is compiled for (AES-NI) and takes no
        // pointers. `self` exists, so `Support::detect` found it on this CPU at run time: the token's field is
        // private to this module and nothing else constructs one.
        unsafe {
            match rounds {
                Rounds::R10 => chain_ni::<CFB, 11>(keys, iv, blocks),
                Rounds::R12 => chain_ni::<CFB, 13>(keys, iv, blocks),
                Rounds::R14 => chain_ni::<CFB, 15>(keys, iv, blocks),
            }
        }
    }

    /// The parallel kernel `KIND` on 128-bit registers.
    #[allow(unsafe_code)]
    #[inline]
    fn parallel<const KIND: u8>(self, rounds: Rounds, keys: &[__m128i; 15], iv: &mut Block, blocks: &mut [Block]) {
        // SAFETY: `parallel_ni` only requires the CPU features it is compiled for (AES-NI) and takes no
        // pointers. `self` exists, so `Support::detect` found it on this CPU at run time: the token's field is
        // private to this module and nothing else constructs one.
        unsafe {
            match rounds {
                Rounds::R10 => parallel_ni::<KIND, 11>(keys, iv, blocks),
                Rounds::R12 => parallel_ni::<KIND, 13>(keys, iv, blocks),
                Rounds::R14 => parallel_ni::<KIND, 15>(keys, iv, blocks),
            }
        }
    }
}

impl Vaes512 {
    /// The parallel kernel `KIND` on 512-bit registers.
    #[allow(unsafe_code)]
    #[inline]
    fn parallel<const KIND: u8>(self, rounds: Rounds, keys: &[__m128i; 15], iv: &mut Block, blocks: &mut [Block]) {
        // SAFETY: `parallel_vaes` only requires the CPU features it is compiled for (VAES, AVX-512F, AES-NI)
        // and takes no pointers. `self` exists, so `Support::detect` found all three on this CPU at run
        // time: the token's field is private to this module and nothing else constructs one.
        unsafe {
            match rounds {
                Rounds::R10 => parallel_vaes::<KIND, 11>(keys, iv, blocks),
                Rounds::R12 => parallel_vaes::<KIND, 13>(keys, iv, blocks),
                Rounds::R14 => parallel_vaes::<KIND, 15>(keys, iv, blocks),
            }
        }
    }
}

/// A block into a register (LLVM emits one unaligned vector load).
#[inline]
#[target_feature(enable = "sse2")]
fn load(b: &Block) -> __m128i {
    let v = u128::from_le_bytes(*b);
    _mm_set_epi64x((v >> 64) as i64, v as i64)
}

/// A register into a block (LLVM emits one unaligned vector store).
#[inline]
#[target_feature(enable = "sse2")]
fn store(b: &mut Block, v: __m128i) {
    let lo = _mm_cvtsi128_si64(v) as u64;
    let hi = _mm_cvtsi128_si64(_mm_unpackhi_epi64(v, v)) as u64;
    *b = (u128::from(hi) << 64 | u128::from(lo)).to_le_bytes();
}

/// Four blocks into a register, the first in the lowest lane (LLVM emits one unaligned 512-bit load, or folds
/// it into the instruction that uses it; `_mm512_set_epi64` on eight words ends in a shuffle cascade instead).
#[inline]
#[target_feature(enable = "avx512f")]
fn load4(q: &Quad) -> __m512i {
    let v = _mm512_castsi128_si512(load(&q[0]));
    let v = _mm512_inserti32x4::<1>(v, load(&q[1]));
    let v = _mm512_inserti32x4::<2>(v, load(&q[2]));
    _mm512_inserti32x4::<3>(v, load(&q[3]))
}

/// A register into four blocks (one unaligned 512-bit store).
#[inline]
#[target_feature(enable = "avx512f")]
fn store4(q: &mut Quad, v: __m512i) {
    store(&mut q[0], _mm512_castsi512_si128(v));
    store(&mut q[1], _mm512_extracti32x4_epi32::<1>(v));
    store(&mut q[2], _mm512_extracti32x4_epi32::<2>(v));
    store(&mut q[3], _mm512_extracti32x4_epi32::<3>(v));
}

/// `a ^ b`.
#[inline]
#[target_feature(enable = "sse2")]
fn xor(a: __m128i, b: __m128i) -> __m128i {
    _mm_xor_si128(a, b)
}

/// One middle round of the cipher, or of the inverse cipher if `KIND` decrypts.
#[inline]
#[target_feature(enable = "aes")]
fn round<const KIND: u8>(x: __m128i, k: __m128i) -> __m128i {
    if kind::decrypts(KIND) { _mm_aesdec_si128(x, k) } else { _mm_aesenc_si128(x, k) }
}

/// The last round, whose final step is the XOR with `k`.
#[inline]
#[target_feature(enable = "aes")]
fn last_round<const KIND: u8>(x: __m128i, k: __m128i) -> __m128i {
    if kind::decrypts(KIND) { _mm_aesdeclast_si128(x, k) } else { _mm_aesenclast_si128(x, k) }
}

/// [`round`] on four blocks at once.
#[inline]
#[target_feature(enable = "vaes,avx512f")]
fn round4<const KIND: u8>(x: __m512i, k: __m512i) -> __m512i {
    if kind::decrypts(KIND) { _mm512_aesdec_epi128(x, k) } else { _mm512_aesenc_epi128(x, k) }
}

/// [`last_round`] on four blocks at once.
#[inline]
#[target_feature(enable = "vaes,avx512f")]
fn last_round4<const KIND: u8>(x: __m512i, k: __m512i) -> __m512i {
    if kind::decrypts(KIND) { _mm512_aesdeclast_epi128(x, k) } else { _mm512_aesenclast_epi128(x, k) }
}

/// `SubWord` and `RotWord(SubWord)` of a key-schedule word, through `AESKEYGENASSIST` (which applies them to
/// the word in lane 1).
#[inline]
#[target_feature(enable = "aes")]
fn sub_word(w: u32) -> (u32, u32) {
    let a = _mm_aeskeygenassist_si128::<0>(_mm_slli_si128::<4>(_mm_cvtsi32_si128(w as i32)));
    (_mm_cvtsi128_si32(a) as u32, _mm_cvtsi128_si32(_mm_srli_si128::<4>(a)) as u32)
}

/// FIPS-197 `KeyExpansion` for any key length, on little-endian words (the byte order of the round keys in a
/// register), then the inverse cipher's keys for `AESDEC` (the equivalent inverse cipher: `InvMixColumns` of
/// the middle round keys, in reverse order).
#[target_feature(enable = "aes")]
fn expand_key(key: &[u8]) -> RoundKeys {
    const RCON: [u32; 10] = [0x01, 0x02, 0x04, 0x08, 0x10, 0x20, 0x40, 0x80, 0x1b, 0x36];
    let (words, _) = key.as_chunks::<4>();
    debug_assert!(matches!(words.len(), 4 | 6 | 8), "callers check the key length");
    let nk = words.len().clamp(4, 8);
    let nr = nk + 6;
    let mut w = [0u32; 60];
    for (slot, bytes) in w.iter_mut().zip(words) {
        *slot = u32::from_le_bytes(*bytes);
    }
    for i in nk..4 * (nr + 1) {
        let mut t = w[i - 1];
        if i % nk == 0 {
            t = sub_word(t).1 ^ RCON[i / nk - 1];
        } else if nk > 6 && i % nk == 4 {
            t = sub_word(t).0;
        }
        w[i] = w[i - nk] ^ t;
    }
    let mut keys = RoundKeys { enc: [_mm_setzero_si128(); 15], dec: [_mm_setzero_si128(); 15] };
    let (quads, _) = w.as_chunks::<4>();
    for (k, q) in keys.enc.iter_mut().zip(&quads[..=nr]) {
        *k = _mm_set_epi32(q[3] as i32, q[2] as i32, q[1] as i32, q[0] as i32);
    }
    keys.dec[0] = keys.enc[nr];
    for r in 1..nr {
        keys.dec[r] = _mm_aesimc_si128(keys.enc[nr - r]);
    }
    keys.dec[nr] = keys.enc[0];
    w.zeroize();
    keys
}

/// CBC encryption (`CFB`: CFB128 encryption), one block after the other: `NK` round keys.
///
/// The chain is `x[i] = E(x[i-1]) ^ p[i]` in CFB and `x[i] = E(x[i-1] ^ p[i])` in CBC. Both XORs are folded
/// into the last round's key (`AESENCLAST` ends with an XOR), with the first round key: the register carried
/// from block to block is the next block's whitened input, and the ciphertext is taken off the chain with one
/// more XOR. The loop-carried dependency is then the `NK - 1` AES rounds and nothing else.
#[target_feature(enable = "aes")]
fn chain_ni<const CFB: bool, const NK: usize>(keys: &[__m128i; 15], iv: &mut Block, blocks: &mut [Block]) {
    let mut k = [_mm_setzero_si128(); NK];
    k.copy_from_slice(&keys[..NK]);
    let (k0, kl) = (k[0], k[NK - 1]);
    let n = blocks.len();
    let Some(first) = blocks.first() else {
        return;
    };
    // CFB: the state is the chaining value (the previous ciphertext), whitened. CBC: the first plaintext block
    // XOR the chaining value, whitened; `mask` below is then the next plaintext block, whitened.
    let mut s = if CFB { xor(load(iv), k0) } else { xor(xor(load(iv), load(first)), k0) };
    for i in 0..n {
        let mask = if CFB {
            xor(load(&blocks[i]), k0)
        } else if i + 1 < n {
            xor(load(&blocks[i + 1]), k0)
        } else {
            _mm_setzero_si128()
        };
        for &rk in &k[1..NK - 1] {
            s = _mm_aesenc_si128(s, rk);
        }
        // CFB: c ^ k0. CBC: c ^ p[i+1] ^ k0, which is the next state (the last block: c).
        s = _mm_aesenclast_si128(s, xor(kl, mask));
        let c = if CFB { xor(s, k0) } else { xor(s, mask) };
        store(&mut blocks[i], c);
    }
    *iv = blocks[n - 1];
}

/// The parallel modes on 128-bit registers: `NI_WIDTH` blocks in flight, then one at a time.
#[target_feature(enable = "aes")]
fn parallel_ni<const KIND: u8, const NK: usize>(keys: &[__m128i; 15], iv: &mut Block, blocks: &mut [Block]) {
    let mut k = [_mm_setzero_si128(); NK];
    k.copy_from_slice(&keys[..NK]);
    let next_iv = blocks.last().copied();
    let mut carry = load(iv);
    let (groups, tail) = blocks.as_chunks_mut::<NI_WIDTH>();
    for g in groups {
        group_ni::<KIND, NK, NI_WIDTH>(&k, &mut carry, g);
    }
    one_by_one::<KIND, NK>(&k, &mut carry, tail);
    if let Some(v) = next_iv {
        *iv = v;
    }
}

/// The parallel kernel `KIND` one block at a time (the tails of the wide loops). `carry` is `X[-1]` on entry and
/// the last input block on return.
#[inline]
#[target_feature(enable = "aes")]
fn one_by_one<const KIND: u8, const NK: usize>(k: &[__m128i; NK], carry: &mut __m128i, blocks: &mut [Block]) {
    for b in blocks {
        let x = load(b);
        let (input, mask) = match KIND {
            kind::CBC_DEC => (x, *carry),
            kind::CFB_DEC => (*carry, x),
            _ => (x, _mm_setzero_si128()),
        };
        let mut s = xor(input, k[0]);
        for &rk in &k[1..NK - 1] {
            s = round::<KIND>(s, rk);
        }
        store(b, last_round::<KIND>(s, xor(k[NK - 1], mask)));
        *carry = x;
    }
}

/// `W` blocks through the parallel kernel `KIND` side by side. `carry` is `X[-1]` on entry and the last input
/// block on return.
#[inline]
#[target_feature(enable = "aes")]
fn group_ni<const KIND: u8, const NK: usize, const W: usize>(
    k: &[__m128i; NK],
    carry: &mut __m128i,
    g: &mut [Block; W],
) {
    let mut x = [_mm_setzero_si128(); W];
    for (r, b) in x.iter_mut().zip(g.iter()) {
        *r = load(b);
    }
    let mut s = [_mm_setzero_si128(); W];
    for j in 0..W {
        let prev = if j == 0 { *carry } else { x[j - 1] };
        let input = if KIND == kind::CFB_DEC { prev } else { x[j] };
        s[j] = xor(input, k[0]);
    }
    for &rk in &k[1..NK - 1] {
        for v in &mut s {
            *v = round::<KIND>(*v, rk);
        }
    }
    for j in 0..W {
        let prev = if j == 0 { *carry } else { x[j - 1] };
        let mask = match KIND {
            kind::CBC_DEC => prev,
            kind::CFB_DEC => x[j],
            _ => _mm_setzero_si128(),
        };
        s[j] = last_round::<KIND>(s[j], xor(k[NK - 1], mask));
    }
    for (b, v) in g.iter_mut().zip(s) {
        store(b, v);
    }
    *carry = x[W - 1];
}

/// The parallel modes on 512-bit registers: `VAES_WIDTH` registers of 4 blocks in flight, then 4 blocks at a
/// time, then the last 1 to 3 blocks on 128-bit registers.
#[target_feature(enable = "vaes,avx512f,aes")]
fn parallel_vaes<const KIND: u8, const NK: usize>(keys: &[__m128i; 15], iv: &mut Block, blocks: &mut [Block]) {
    let mut k = [_mm512_setzero_si512(); NK];
    for (wide, &key) in k.iter_mut().zip(keys) {
        *wide = _mm512_broadcast_i32x4(key);
    }
    let next_iv = blocks.last().copied();
    // `X[-1]` sits in the top lane, where the next group's first block looks for its predecessor.
    let mut carry = _mm512_broadcast_i32x4(load(iv));
    let (quads, tail) = blocks.as_chunks_mut::<4>();
    let (groups, rest) = quads.as_chunks_mut::<VAES_WIDTH>();
    for g in groups {
        group_vaes::<KIND, NK, VAES_WIDTH>(&k, &mut carry, g);
    }
    for q in rest {
        group_vaes::<KIND, NK, 1>(&k, &mut carry, core::array::from_mut(q));
    }
    if !tail.is_empty() {
        let mut k128 = [_mm_setzero_si128(); NK];
        k128.copy_from_slice(&keys[..NK]);
        let mut carry = _mm512_extracti32x4_epi32::<3>(carry);
        one_by_one::<KIND, NK>(&k128, &mut carry, tail);
    }
    if let Some(v) = next_iv {
        *iv = v;
    }
}

/// `W` registers of 4 blocks through the parallel kernel `KIND`. `carry` holds `X[-1]` in its top lane on
/// entry and the last input block there on return.
#[inline]
#[target_feature(enable = "vaes,avx512f")]
fn group_vaes<const KIND: u8, const NK: usize, const W: usize>(
    k: &[__m512i; NK],
    carry: &mut __m512i,
    g: &mut [Quad; W],
) {
    let mut x = [_mm512_setzero_si512(); W];
    for (r, q) in x.iter_mut().zip(g.iter()) {
        *r = load4(q);
    }
    // The blocks before each of the register's four: the previous register's top lane, then its own lanes 0-2.
    let mut prev = [_mm512_setzero_si512(); W];
    for j in 0..W {
        let before = if j == 0 { *carry } else { x[j - 1] };
        prev[j] = _mm512_alignr_epi64::<6>(x[j], before);
    }
    let mut s = [_mm512_setzero_si512(); W];
    for j in 0..W {
        let input = if KIND == kind::CFB_DEC { prev[j] } else { x[j] };
        s[j] = _mm512_xor_si512(input, k[0]);
    }
    for &rk in &k[1..NK - 1] {
        for v in &mut s {
            *v = round4::<KIND>(*v, rk);
        }
    }
    for j in 0..W {
        let last = match KIND {
            kind::CBC_DEC => _mm512_xor_si512(k[NK - 1], prev[j]),
            kind::CFB_DEC => _mm512_xor_si512(k[NK - 1], x[j]),
            _ => k[NK - 1],
        };
        s[j] = last_round4::<KIND>(s[j], last);
    }
    for (q, v) in g.iter_mut().zip(s) {
        store4(q, v);
    }
    *carry = x[W - 1];
}

#[cfg(test)]
mod tests {
    use super::*;

    /// FIPS-197 appendix A: the key expansion of the three example keys, checked at the last round key (and
    /// the inverse cipher's keys end where the cipher's begin).
    #[test]
    fn key_expansion_matches_fips_197_appendix_a() {
        let Some(aesni) = Support::detect().aesni else {
            return;
        };
        let hex = |s: &str| (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect();
        let cases: [(&str, usize, &str); 3] = [
            ("2b7e151628aed2a6abf7158809cf4f3c", 10, "d014f9a8c9ee2589e13f0cc8b6630ca6"),
            ("8e73b0f7da0e6452c810f32b809079e562f8ead2522c6b7b", 12, "e98ba06f448c773c8ecc720401002202"),
            (
                "603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4",
                14,
                "fe4890d1e6188d0b046df344706c631e",
            ),
        ];
        for (key, nr, last) in cases {
            let key: Vec<u8> = hex(key);
            let keys = aesni.expand(&key);
            let bytes = |v: __m128i| {
                let mut b = [0u8; 16];
                #[allow(unsafe_code)]
                // SAFETY: `store` only requires SSE2, which every x86-64 CPU has, and takes no pointers.
                unsafe {
                    store(&mut b, v)
                };
                b.to_vec()
            };
            let last: Vec<u8> = hex(last);
            assert_eq!(bytes(keys.enc[nr]), last, "AES-{}", key.len() * 8);
            assert_eq!(bytes(keys.enc[0]), key[..16], "AES-{}", key.len() * 8);
            assert_eq!(bytes(keys.dec[0]), last, "AES-{}", key.len() * 8);
            assert_eq!(bytes(keys.dec[nr]), key[..16], "AES-{}", key.len() * 8);
        }
    }
}
