//! Compression: raw deflate (OpenPGP "ZIP", RFC 1951), zlib (RFC 1950; OpenPGP "ZLIB", CMS
//! CompressedData) and bzip2, as streaming writers and readers, with a decompression [`Budget`].
//!
//! A `Budget` is shared by every decompressing layer of one message: nested layers (an OpenPGP compressed
//! packet inside a CMS CompressedData inside a MIME part) all charge their output to the same counter, so a
//! bomb built from nesting is stopped as surely as a flat one. Each layer's own expansion ratio is checked as
//! well, once it has produced more than [`Budget::RATIO_GRACE`] bytes.
//!
//! Back ends: `flate2` over `zlib-rs` (pure Rust, the fastest deflate available to us) and `bzip2` over
//! `libbz2-rs-sys` (pure Rust port of libbzip2).

use std::io::{self, Read, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use super::algorithm::Algorithm;
use super::error::CoreError;

/// The compression algorithms of the registry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CompressionAlgorithm {
    /// Raw deflate (RFC 1951): OpenPGP algorithm 1, "ZIP".
    Deflate,
    /// zlib (RFC 1950): OpenPGP algorithm 2, CMS CompressedData.
    Zlib,
    /// bzip2: OpenPGP algorithm 3.
    Bzip2,
}

impl CompressionAlgorithm {
    /// All of them.
    pub const ALL: [CompressionAlgorithm; 3] =
        [CompressionAlgorithm::Deflate, CompressionAlgorithm::Zlib, CompressionAlgorithm::Bzip2];

    /// The registry identity.
    pub fn algorithm(self) -> Algorithm {
        match self {
            CompressionAlgorithm::Deflate => Algorithm::Deflate,
            CompressionAlgorithm::Zlib => Algorithm::Zlib,
            CompressionAlgorithm::Bzip2 => Algorithm::Bzip2,
        }
    }

    /// Short name.
    pub fn name(self) -> &'static str {
        self.algorithm().name()
    }

    /// Looks one up by short name (`zip` is accepted for `deflate`).
    pub fn from_name(name: &str) -> Option<CompressionAlgorithm> {
        let alg = Algorithm::from_name(name)?;
        CompressionAlgorithm::ALL.into_iter().find(|c| c.algorithm() == alg)
    }
}

#[derive(Debug)]
struct BudgetInner {
    max_output: u64,
    max_ratio: u64,
    used: AtomicU64,
}

/// How much decompressed output one message may produce, shared by all its layers. Cloning shares it.
#[derive(Clone, Debug)]
pub struct Budget(Arc<BudgetInner>);

impl Budget {
    /// Output a layer may produce before its expansion ratio is checked (so small, very compressible
    /// inputs, such as a page of blank lines, are never refused).
    pub const RATIO_GRACE: u64 = 1 << 20;

    /// A budget of at most `max_output` bytes in total and `max_ratio` expansion per layer.
    pub fn new(max_output: u64, max_ratio: u64) -> Budget {
        Budget(Arc::new(BudgetInner { max_output, max_ratio: max_ratio.max(1), used: AtomicU64::new(0) }))
    }

    /// Bytes charged so far.
    pub fn used(&self) -> u64 {
        self.0.used.load(Ordering::Relaxed)
    }

    /// The total limit.
    pub fn max_output(&self) -> u64 {
        self.0.max_output
    }

    /// Charges `n` bytes produced by a decompressor the core does not run itself (sequoia's, for OpenPGP's
    /// compressed packets). Only the total is checked: the layer's own ratio is not visible from outside.
    pub fn charge_output(&self, n: u64) -> Result<(), CoreError> {
        self.charge(n, 1, 0)
    }

    /// Charges `n` output bytes of a layer that has now read `layer_in` and produced `layer_out` bytes.
    pub fn charge(&self, n: u64, layer_in: u64, layer_out: u64) -> Result<(), CoreError> {
        let total = self.0.used.fetch_add(n, Ordering::Relaxed).saturating_add(n);
        if total > self.0.max_output {
            return Err(CoreError::BudgetExceeded(format!(
                "decompressed output exceeds the limit of {} bytes",
                self.0.max_output
            )));
        }
        if layer_out > Budget::RATIO_GRACE && layer_out / layer_in.max(1) > self.0.max_ratio {
            return Err(CoreError::BudgetExceeded(format!(
                "expansion ratio over {}:1 ({layer_in} bytes became more than {layer_out})",
                self.0.max_ratio
            )));
        }
        Ok(())
    }
}

impl Default for Budget {
    /// 4 GiB of output in total, at most 1000:1 per layer (deflate cannot exceed 1032:1 on honest data).
    fn default() -> Budget {
        Budget::new(4 << 30, 1000)
    }
}

fn budget_error(err: CoreError) -> io::Error {
    io::Error::other(err)
}

/// A compressing `io::Write` adapter. Call [`finalize`](CompressWriter::finalize) to flush the trailer.
pub struct CompressWriter<W: Write> {
    inner: CompressInner<W>,
}

enum CompressInner<W: Write> {
    Deflate(flate2::write::DeflateEncoder<W>),
    Zlib(flate2::write::ZlibEncoder<W>),
    Bzip2(bzip2::write::BzEncoder<W>),
}

impl<W: Write> CompressWriter<W> {
    /// Compresses into `inner` at `level` (0-9; 6 is the zlib default, bzip2 maps it to its block size).
    pub fn new(alg: CompressionAlgorithm, inner: W, level: u32) -> CompressWriter<W> {
        let level = level.min(9);
        let inner = match alg {
            CompressionAlgorithm::Deflate => {
                CompressInner::Deflate(flate2::write::DeflateEncoder::new(inner, flate2::Compression::new(level)))
            }
            CompressionAlgorithm::Zlib => {
                CompressInner::Zlib(flate2::write::ZlibEncoder::new(inner, flate2::Compression::new(level)))
            }
            CompressionAlgorithm::Bzip2 => {
                CompressInner::Bzip2(bzip2::write::BzEncoder::new(inner, bzip2::Compression::new(level.max(1))))
            }
        };
        CompressWriter { inner }
    }

    /// Writes the end of the compressed stream and returns the inner writer.
    pub fn finalize(self) -> io::Result<W> {
        match self.inner {
            CompressInner::Deflate(e) => e.finish(),
            CompressInner::Zlib(e) => e.finish(),
            CompressInner::Bzip2(e) => e.finish(),
        }
    }
}

impl<W: Write> Write for CompressWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match &mut self.inner {
            CompressInner::Deflate(e) => e.write(buf),
            CompressInner::Zlib(e) => e.write(buf),
            CompressInner::Bzip2(e) => e.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match &mut self.inner {
            CompressInner::Deflate(e) => e.flush(),
            CompressInner::Zlib(e) => e.flush(),
            CompressInner::Bzip2(e) => e.flush(),
        }
    }
}

/// Counts one layer's input, shared between the adapter that sees the input and the one that sees output.
#[derive(Clone, Default)]
struct LayerCounter(Arc<AtomicU64>);

/// Passes decompressed output on, charging it to the budget first.
struct BudgetedWriter<W: Write> {
    inner: W,
    budget: Budget,
    layer_in: LayerCounter,
    layer_out: u64,
}

impl<W: Write> Write for BudgetedWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.layer_out += buf.len() as u64;
        self.budget
            .charge(buf.len() as u64, self.layer_in.0.load(Ordering::Relaxed), self.layer_out)
            .map_err(budget_error)?;
        self.inner.write_all(buf)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

enum DecompressInner<W: Write> {
    Deflate(flate2::write::DeflateDecoder<BudgetedWriter<W>>),
    Zlib(flate2::write::ZlibDecoder<BudgetedWriter<W>>),
    Bzip2(bzip2::write::BzDecoder<BudgetedWriter<W>>),
}

/// A decompressing `io::Write` adapter (compressed bytes in, plaintext out to the inner writer), bounded
/// by a [`Budget`]. [`finalize`](DecompressWriter::finalize) checks that the stream ended properly.
pub struct DecompressWriter<W: Write> {
    inner: DecompressInner<W>,
    layer_in: LayerCounter,
}

impl<W: Write> DecompressWriter<W> {
    /// Decompresses into `inner`, charging `budget`.
    pub fn new(alg: CompressionAlgorithm, inner: W, budget: Budget) -> DecompressWriter<W> {
        let layer_in = LayerCounter::default();
        let sink = BudgetedWriter { inner, budget, layer_in: layer_in.clone(), layer_out: 0 };
        let inner = match alg {
            CompressionAlgorithm::Deflate => DecompressInner::Deflate(flate2::write::DeflateDecoder::new(sink)),
            CompressionAlgorithm::Zlib => DecompressInner::Zlib(flate2::write::ZlibDecoder::new(sink)),
            CompressionAlgorithm::Bzip2 => DecompressInner::Bzip2(bzip2::write::BzDecoder::new(sink)),
        };
        DecompressWriter { inner, layer_in }
    }

    /// Ends the stream and returns the inner writer. A stream cut short is an error.
    pub fn finalize(self) -> Result<W, CoreError> {
        let sink = match self.inner {
            DecompressInner::Deflate(d) => d.finish().map_err(map_decode_error)?,
            DecompressInner::Zlib(d) => d.finish().map_err(map_decode_error)?,
            DecompressInner::Bzip2(mut d) => {
                // `try_finish` fails when the input ends before the end-of-stream marker.
                d.try_finish().map_err(map_decode_error)?;
                d.finish().map_err(map_decode_error)?
            }
        };
        Ok(sink.inner)
    }
}

fn map_decode_error(err: io::Error) -> CoreError {
    match err.into_inner() {
        Some(inner) => match inner.downcast::<CoreError>() {
            Ok(core) => *core,
            Err(other) => CoreError::malformed("compressed data", other.to_string()),
        },
        None => CoreError::malformed("compressed data", "corrupt or truncated stream"),
    }
}

impl<W: Write> Write for DecompressWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.layer_in.0.fetch_add(buf.len() as u64, Ordering::Relaxed);
        match &mut self.inner {
            DecompressInner::Deflate(d) => d.write_all(buf)?,
            DecompressInner::Zlib(d) => d.write_all(buf)?,
            DecompressInner::Bzip2(d) => d.write_all(buf)?,
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        match &mut self.inner {
            DecompressInner::Deflate(d) => d.flush(),
            DecompressInner::Zlib(d) => d.flush(),
            DecompressInner::Bzip2(d) => d.flush(),
        }
    }
}

/// Counts bytes read through it.
struct CountingReader<R: Read> {
    inner: R,
    count: LayerCounter,
}

impl<R: Read> Read for CountingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.0.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

enum ReadInner<R: Read> {
    Deflate(flate2::read::DeflateDecoder<CountingReader<R>>),
    Zlib(flate2::read::ZlibDecoder<CountingReader<R>>),
    Bzip2(bzip2::read::BzDecoder<CountingReader<R>>),
}

/// A decompressing `io::Read` adapter bounded by a [`Budget`]. Reading past the budget, or a corrupt or
/// truncated stream, is an `io::Error` wrapping the [`CoreError`].
pub struct DecompressReader<R: Read> {
    inner: ReadInner<R>,
    budget: Budget,
    layer_in: LayerCounter,
    layer_out: u64,
}

impl<R: Read> DecompressReader<R> {
    /// Decompresses what `inner` yields.
    pub fn new(alg: CompressionAlgorithm, inner: R, budget: Budget) -> DecompressReader<R> {
        let layer_in = LayerCounter::default();
        let src = CountingReader { inner, count: layer_in.clone() };
        let inner = match alg {
            CompressionAlgorithm::Deflate => ReadInner::Deflate(flate2::read::DeflateDecoder::new(src)),
            CompressionAlgorithm::Zlib => ReadInner::Zlib(flate2::read::ZlibDecoder::new(src)),
            CompressionAlgorithm::Bzip2 => ReadInner::Bzip2(bzip2::read::BzDecoder::new(src)),
        };
        DecompressReader { inner, budget, layer_in, layer_out: 0 }
    }
}

impl<R: Read> Read for DecompressReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        // Never ask the decoder for more than the budget has left, so a bomb cannot even fill `buf`.
        let left = self.budget.max_output().saturating_sub(self.budget.used());
        let want = buf.len().min(usize::try_from(left.saturating_add(1)).unwrap_or(usize::MAX));
        let n = match &mut self.inner {
            ReadInner::Deflate(d) => d.read(&mut buf[..want]),
            ReadInner::Zlib(d) => d.read(&mut buf[..want]),
            ReadInner::Bzip2(d) => d.read(&mut buf[..want]),
        }
        .map_err(|e| match e.kind() {
            io::ErrorKind::UnexpectedEof => {
                io::Error::other(CoreError::malformed("compressed data", "the stream ends before its end marker"))
            }
            _ => io::Error::other(CoreError::malformed("compressed data", e.to_string())),
        })?;
        if n > 0 {
            self.layer_out += n as u64;
            self.budget
                .charge(n as u64, self.layer_in.0.load(Ordering::Relaxed), self.layer_out)
                .map_err(budget_error)?;
        }
        Ok(n)
    }
}

/// Compresses a whole buffer.
pub fn compress(alg: CompressionAlgorithm, data: &[u8], level: u32) -> Result<Vec<u8>, CoreError> {
    let mut w = CompressWriter::new(alg, Vec::new(), level);
    w.write_all(data)?;
    Ok(w.finalize()?)
}

/// Decompresses a whole buffer within `budget`.
pub fn decompress(alg: CompressionAlgorithm, data: &[u8], budget: &Budget) -> Result<Vec<u8>, CoreError> {
    let mut r = DecompressReader::new(alg, data, budget.clone());
    let mut out = Vec::new();
    r.read_to_end(&mut out).map_err(map_decode_error)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(n: usize) -> Vec<u8> {
        // Compressible but not trivial: words from a small vocabulary chosen by an LCG.
        let words = [&b"alpha "[..], b"beta ", b"gamma\n", b"delta ", b"epsilon "];
        let mut out = Vec::with_capacity(n);
        let mut x: u32 = 12345;
        while out.len() < n {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
            out.extend_from_slice(words[(x >> 16) as usize % words.len()]);
        }
        out.truncate(n);
        out
    }

    #[test]
    fn round_trip_every_algorithm_both_directions() {
        for alg in CompressionAlgorithm::ALL {
            for n in [0usize, 1, 100, 70_000] {
                let data = sample(n);
                let packed = compress(alg, &data, 6).unwrap();
                assert_eq!(decompress(alg, &packed, &Budget::default()).unwrap(), data, "{} {n}", alg.name());
                let mut w = DecompressWriter::new(alg, Vec::new(), Budget::default());
                for piece in packed.chunks(17) {
                    w.write_all(piece).unwrap();
                }
                assert_eq!(w.finalize().unwrap(), data, "{} {n} writer", alg.name());
            }
        }
    }

    /// The zlib stream really is RFC 1950 (header 0x78) and deflate has no header, bzip2 starts "BZh".
    #[test]
    fn stream_formats() {
        assert_eq!(compress(CompressionAlgorithm::Zlib, b"x", 6).unwrap()[0], 0x78);
        assert_eq!(&compress(CompressionAlgorithm::Bzip2, b"x", 9).unwrap()[..3], b"BZh");
        let raw = compress(CompressionAlgorithm::Deflate, b"x", 6).unwrap();
        assert!(decompress(CompressionAlgorithm::Zlib, &raw, &Budget::default()).is_err());
    }

    #[test]
    fn bombs_are_refused_quickly() {
        // 64 MiB of zeros compress to about 64 KiB: a ratio of ~1000:1.
        for alg in CompressionAlgorithm::ALL {
            let zeros = vec![0u8; 64 << 20];
            let bomb = compress(alg, &zeros, 9).unwrap();
            let budget = Budget::new(16 << 20, 100_000);
            let err = decompress(alg, &bomb, &budget).unwrap_err();
            assert!(matches!(err, CoreError::BudgetExceeded(_)), "{}: {err}", alg.name());
            assert!(budget.used() <= (16 << 20) + (1 << 20), "{} overran: {}", alg.name(), budget.used());
            let ratio_budget = Budget::new(1 << 40, 50);
            let err = decompress(alg, &bomb, &ratio_budget).unwrap_err();
            assert!(err.to_string().contains("ratio"), "{}: {err}", alg.name());
            let mut w = DecompressWriter::new(alg, std::io::sink(), Budget::new(16 << 20, 100_000));
            assert!(w.write_all(&bomb).is_err(), "{} writer", alg.name());
        }
    }

    /// Nested layers share one budget: two layers of 10 MiB each exceed a 15 MiB budget together.
    #[test]
    fn nested_layers_share_the_budget() {
        let inner_plain = sample(10 << 20);
        let inner = compress(CompressionAlgorithm::Zlib, &inner_plain, 6).unwrap();
        let mut padded = inner.clone();
        padded.resize(10 << 20, b' ');
        let outer = compress(CompressionAlgorithm::Deflate, &padded, 6).unwrap();
        let budget = Budget::new(15 << 20, 100_000);
        let layer1 = decompress(CompressionAlgorithm::Deflate, &outer, &budget).unwrap();
        let err = decompress(CompressionAlgorithm::Zlib, &layer1[..inner.len()], &budget).unwrap_err();
        assert!(matches!(err, CoreError::BudgetExceeded(_)));
    }

    #[test]
    fn truncated_and_corrupt_streams_fail() {
        for alg in CompressionAlgorithm::ALL {
            let packed = compress(alg, &sample(5000), 6).unwrap();
            let cut = &packed[..packed.len() / 2];
            assert!(decompress(alg, cut, &Budget::default()).is_err(), "{} truncated", alg.name());
            let mut garbage = packed.clone();
            for b in garbage.iter_mut().skip(4).step_by(3) {
                *b ^= 0x5a;
            }
            assert!(decompress(alg, &garbage, &Budget::default()).is_err(), "{} corrupt", alg.name());
        }
    }
}
