//! CompressedData (RFC 3274): zlib-compressed content inside a CMS ContentInfo, produced as a stream and
//! consumed within the message's shared decompression [`Budget`].
//!
//! ```text
//! ContentInfo { id-ct-compressedData (1.2.840.113549.1.9.16.1.9),
//!   [0] CompressedData { version 0,
//!                        compressionAlgorithm { id-alg-zlibCompress (1.2.840.113549.1.9.16.3.8) },
//!                        encapContentInfo { eContentType, [0] eContent OCTET STRING (the zlib stream) } } }
//! ```
//!
//! Producing ([`compress`]) writes BER as `openssl cms -compress -stream` does (RFC 5652 section 5.2 and
//! X.690 allow it): indefinite lengths and the eContent as a constructed OCTET STRING of 64 KiB segments,
//! so memory stays flat whatever the input size. [`compress_der`] is the same stream normalised to DER.
//!
//! Consuming: [`CompressedContent`] parses the structure without copying (DER; BER goes through
//! [`super::input::cms_der`] first) and checks the algorithm; [`CompressedContent::decompress`] inflates
//! through the core's [`DecompressWriter`], charging every output byte to the shared budget before it is
//! written, so a bomb fails with the core's budget error and nothing beyond the budget reaches the writer.
//!
//! Nesting: the eContent of a CompressedData may itself be another CMS content type (RFC 3274 section 1.1);
//! it then holds that type's own encoding (a SignedData SEQUENCE, another CompressedData SEQUENCE), not a
//! ContentInfo. [`CompressedContent::content_type`] says which, before anything is inflated, so the caller
//! can recurse with the same budget: [`CompressedContent::from_compressed_data`] for an inner
//! CompressedData, [`super::input::wrap_content_info`] for anything else. [`decompress_all`] does exactly
//! that, for the CLI.
//!
//! This module does not decide what to do with the content: it neither verifies nor decrypts inner layers.

use std::io::{self, Read, Write};

use const_oid::ObjectIdentifier;
use const_oid::db::rfc6268::{ID_ALG_ZLIB_COMPRESS, ID_CT_COMPRESSED_DATA, ID_DATA};

use super::SmimeError;
use super::ber::{self, DerReader, Limits};
use super::input::{self, push_tlv};
use crate::core::CoreError;
use crate::core::compress::{Budget, CompressWriter, CompressionAlgorithm, DecompressWriter};

const WHAT: &str = "CompressedData";

/// Size of the eContent segments [`compress`] writes.
pub const SEGMENT: usize = 64 * 1024;

/// zlib level: the zlib default, as `openssl cms -compress` uses.
const LEVEL: u32 = 6;

/// Compressed bytes handed to the decompressor at a time: small, so the core's per-layer expansion ratio is
/// checked against what has really been read, and a bomb stops after a few MiB of output.
const FEED: usize = 4 * 1024;

/// Nested CompressedData layers [`decompress_all`] follows.
pub const MAX_LAYERS: usize = 8;

/// Everything before the eContent segments: the outer structure with indefinite lengths, up to the
/// constructed OCTET STRING `24 80`.
fn stream_prefix() -> Vec<u8> {
    let mut p = vec![0x30, 0x80];
    push_tlv(&mut p, 0x06, ID_CT_COMPRESSED_DATA.as_bytes());
    p.extend_from_slice(&[0xa0, 0x80, 0x30, 0x80, 0x02, 0x01, 0x00]);
    let mut alg = Vec::new();
    push_tlv(&mut alg, 0x06, ID_ALG_ZLIB_COMPRESS.as_bytes());
    push_tlv(&mut p, 0x30, &alg);
    p.extend_from_slice(&[0x30, 0x80]);
    push_tlv(&mut p, 0x06, ID_DATA.as_bytes());
    p.extend_from_slice(&[0xa0, 0x80, 0x24, 0x80]);
    p
}

/// End-of-contents for the six indefinite lengths of [`stream_prefix`].
const STREAM_SUFFIX: [u8; 12] = [0; 12];

/// Cuts what is written into primitive OCTET STRING segments of [`SEGMENT`] bytes.
struct Segments<W: Write> {
    out: W,
    buf: Vec<u8>,
}

impl<W: Write> Segments<W> {
    fn new(out: W) -> Segments<W> {
        Segments { out, buf: Vec::with_capacity(SEGMENT) }
    }

    fn emit(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let mut header = Vec::with_capacity(6);
        header.push(0x04);
        ber::write_len(&mut header, self.buf.len() as u64);
        self.out.write_all(&header)?;
        self.out.write_all(&self.buf)?;
        self.buf.clear();
        Ok(())
    }

    fn finish(mut self) -> io::Result<W> {
        self.emit()?;
        Ok(self.out)
    }
}

impl<W: Write> Write for Segments<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let take = (SEGMENT - self.buf.len()).min(buf.len());
        self.buf.extend_from_slice(buf.get(..take).unwrap_or(&[]));
        if self.buf.len() == SEGMENT {
            self.emit()?;
        }
        Ok(take)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

/// Compresses everything `input` yields into a CompressedData ContentInfo (BER, indefinite lengths,
/// eContentType id-data) written to `out`. Memory use does not depend on the input size.
pub fn compress(input: &mut dyn Read, out: &mut dyn Write) -> Result<(), SmimeError> {
    out.write_all(&stream_prefix())?;
    let mut zlib = CompressWriter::new(CompressionAlgorithm::Zlib, Segments::new(&mut *out), LEVEL);
    let mut buf = vec![0u8; SEGMENT];
    loop {
        let n = match super::input::read_some(input, &mut buf)? {
            0 => break,
            n => n,
        };
        let read = buf.get(..n).ok_or(SmimeError::Core(CoreError::Bug("a reader returned more than it was asked")))?;
        zlib.write_all(read)?;
    }
    zlib.finalize()?.finish()?;
    out.write_all(&STREAM_SUFFIX)?;
    out.flush()?;
    Ok(())
}

/// [`compress`] of a buffer, normalised to DER.
pub fn compress_der(data: &[u8]) -> Result<Vec<u8>, SmimeError> {
    let mut ber = Vec::with_capacity(data.len() / 2 + 64);
    compress(&mut &data[..], &mut ber)?;
    ber::to_der(&ber, &Limits::default())
}

/// A parsed CompressedData whose algorithm is zlib, borrowing the compressed bytes from the message.
#[derive(Clone, Debug)]
pub struct CompressedContent<'a> {
    content_type: ObjectIdentifier,
    compressed: &'a [u8],
}

impl<'a> CompressedContent<'a> {
    /// Parses a DER ContentInfo holding CompressedData (use [`super::input::cms_der`] for BER or PEM).
    /// Another content type is an error that names it; another algorithm is [`SmimeError::Unsupported`].
    pub fn from_content_info(der: &'a [u8]) -> Result<CompressedContent<'a>, SmimeError> {
        let mut outer = DerReader::new(der, WHAT);
        let mut ci = outer.read_nested(0x30, "ContentInfo")?;
        outer.finish("the message")?;
        let content_type = ci.read_oid("contentType")?;
        if content_type != ID_CT_COMPRESSED_DATA {
            return Err(SmimeError::malformed(
                "CMS message",
                format!("not CompressedData: the content type is {}", input::oid_name(&content_type)),
            ));
        }
        let content = ci.read_nested(0xa0, "content [0]")?;
        ci.finish("ContentInfo")?;
        CompressedContent::parse(content)
    }

    /// Parses a DER CompressedData SEQUENCE on its own: the eContent of an outer CompressedData layer
    /// whose [`content_type`](CompressedContent::content_type) is id-ct-compressedData.
    pub fn from_compressed_data(der: &'a [u8]) -> Result<CompressedContent<'a>, SmimeError> {
        CompressedContent::parse(DerReader::new(der, WHAT))
    }

    fn parse(mut r: DerReader<'a>) -> Result<CompressedContent<'a>, SmimeError> {
        let mut cd = r.read_nested(0x30, "CompressedData")?;
        r.finish("CompressedData")?;
        let at = cd.offset();
        let version = cd.read(0x02, "version")?;
        if version != [0] {
            return Err(SmimeError::malformed(WHAT, format!("version at offset {at} is not 0 (RFC 3274)")));
        }
        let mut alg = cd.read_nested(0x30, "compressionAlgorithm")?;
        let alg_oid = alg.read_oid("compression algorithm")?;
        if alg_oid != ID_ALG_ZLIB_COMPRESS {
            return Err(SmimeError::Unsupported(format!(
                "compression algorithm {} (only zlib, RFC 3274, is implemented)",
                input::oid_name(&alg_oid)
            )));
        }
        // RFC 3274: parameters absent. A NULL is tolerated, as for other algorithms without parameters.
        if alg.peek_tag() == Some(0x05) && alg.read(0x05, "NULL")?.is_empty() {
            alg.finish("compressionAlgorithm")?;
        } else {
            alg.finish("compressionAlgorithm (zlib takes no parameters)")?;
        }
        let mut eci = cd.read_nested(0x30, "encapContentInfo")?;
        cd.finish("CompressedData")?;
        let content_type = eci.read_oid("eContentType")?;
        if eci.is_empty() {
            return Err(SmimeError::Unsupported("CompressedData without its content (detached)".into()));
        }
        let mut explicit = eci.read_nested(0xa0, "eContent [0]")?;
        eci.finish("encapContentInfo")?;
        let compressed = explicit.read(0x04, "eContent OCTET STRING")?;
        explicit.finish("eContent")?;
        Ok(CompressedContent { content_type, compressed })
    }

    /// The type of the compressed content: id-data for plain content, or a CMS content type whose own
    /// encoding (not a ContentInfo) is what [`decompress`](CompressedContent::decompress) writes.
    pub fn content_type(&self) -> ObjectIdentifier {
        self.content_type
    }

    /// Size of the zlib stream.
    pub fn compressed_len(&self) -> usize {
        self.compressed.len()
    }

    /// Inflates the content into `out`, charging `budget`, and returns the number of bytes written. On an
    /// error `out` may hold part of the content (never more than the budget allows): discard it.
    pub fn decompress(&self, budget: &Budget, out: &mut dyn Write) -> Result<u64, SmimeError> {
        let mut inflate =
            DecompressWriter::new(CompressionAlgorithm::Zlib, Counting { inner: out, n: 0 }, budget.clone());
        for piece in self.compressed.chunks(FEED) {
            inflate.write_all(piece).map_err(inflate_error)?;
        }
        Ok(inflate.finalize()?.n)
    }
}

/// The zlib decoder refuses input after the end of its stream by writing nothing.
fn inflate_error(err: io::Error) -> SmimeError {
    if err.kind() == io::ErrorKind::WriteZero {
        return SmimeError::malformed(WHAT, "data after the end of the zlib stream");
    }
    SmimeError::from(err)
}

struct Counting<'w> {
    inner: &'w mut dyn Write,
    n: u64,
}

impl Write for Counting<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.n += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Decompresses a CompressedData message (DER, BER or PEM) into `out` within `budget`, and returns the
/// inner content type. For id-data `out` receives the content; for any other type, that type's encoding,
/// which [`super::input::wrap_content_info`] (or, for id-ct-compressedData,
/// [`CompressedContent::from_compressed_data`]) turns into something to hand on, with the same budget.
pub fn decompress(der: &[u8], budget: &Budget, out: &mut dyn Write) -> Result<ObjectIdentifier, SmimeError> {
    let der = input::cms_der(der)?;
    let content = CompressedContent::from_content_info(&der)?;
    content.decompress(budget, out)?;
    Ok(content.content_type())
}

/// Decompresses a CompressedData message (DER, BER or PEM) and every CompressedData nested in it (at most
/// [`MAX_LAYERS`], all charged to `budget`), and writes the innermost content to `out`: as it is for
/// id-data, else as a DER ContentInfo of its type (a SignedData message, say). Returns that type.
pub fn decompress_all(der: &[u8], budget: &Budget, out: &mut dyn Write) -> Result<ObjectIdentifier, SmimeError> {
    let der = input::cms_der(der)?;
    unpack(&CompressedContent::from_content_info(&der)?, budget, out, 1)
}

fn unpack(
    layer: &CompressedContent<'_>,
    budget: &Budget,
    out: &mut dyn Write,
    depth: usize,
) -> Result<ObjectIdentifier, SmimeError> {
    let content_type = layer.content_type();
    if content_type == ID_DATA {
        layer.decompress(budget, out)?;
        return Ok(content_type);
    }
    // Inner layers are held in memory: the budget bounds them.
    let mut inner = Vec::new();
    layer.decompress(budget, &mut inner)?;
    if content_type == ID_CT_COMPRESSED_DATA {
        if depth >= MAX_LAYERS {
            return Err(SmimeError::malformed(WHAT, format!("more than {MAX_LAYERS} nested CompressedData layers")));
        }
        let der = ber::to_der_cow(&inner, &Limits::default())?;
        return unpack(&CompressedContent::from_compressed_data(&der)?, budget, out, depth + 1);
    }
    out.write_all(&input::wrap_content_info(content_type, &inner)?)?;
    Ok(content_type)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)] // A panic in a test is a failed test.

    use super::*;

    fn sample(n: usize) -> Vec<u8> {
        let mut x: u32 = 7;
        (0..n)
            .map(|_| {
                x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
                b"abcdefgh \n"[(x >> 16) as usize % 10]
            })
            .collect()
    }

    #[test]
    fn round_trip_ber_and_der() {
        for n in [0usize, 1, 1000, SEGMENT * 3 + 17] {
            let data = sample(n);
            let mut ber = Vec::new();
            compress(&mut &data[..], &mut ber).unwrap();
            assert!(!ber::is_der(&ber));
            let mut out = Vec::new();
            assert_eq!(decompress(&ber, &Budget::default(), &mut out).unwrap(), ID_DATA);
            assert_eq!(out, data, "{n}");
            let der = compress_der(&data).unwrap();
            assert!(ber::is_der(&der));
            let c = CompressedContent::from_content_info(&der).unwrap();
            let mut out = Vec::new();
            assert_eq!(c.decompress(&Budget::default(), &mut out).unwrap(), n as u64);
            assert_eq!(out, data);
        }
    }

    #[test]
    fn der_output_decodes_with_the_cms_crate() {
        use der::Decode;
        let der = compress_der(b"hello").unwrap();
        let ci = cms::content_info::ContentInfo::from_der(&der).unwrap();
        assert_eq!(ci.content_type, ID_CT_COMPRESSED_DATA);
        let cd: cms::compressed_data::CompressedData = ci.content.decode_as().unwrap();
        assert_eq!(cd.compression_alg.oid, ID_ALG_ZLIB_COMPRESS);
        assert!(cd.compression_alg.parameters.is_none());
        assert_eq!(cd.encap_content_info.econtent_type, ID_DATA);
    }

    #[test]
    fn bombs_stop_at_the_budget() {
        let zeros = vec![0u8; 32 << 20];
        let der = compress_der(&zeros).unwrap();
        let budget = Budget::new(4 << 20, 1_000_000);
        let mut out = Vec::new();
        let err = decompress(&der, &budget, &mut out).unwrap_err();
        assert!(matches!(err, SmimeError::Core(CoreError::BudgetExceeded(_))), "{err}");
        assert!(out.len() <= 4 << 20, "{} bytes written", out.len());
        // The default budget's ratio check stops it early too.
        let mut out = Vec::new();
        let err = decompress(&der, &Budget::default(), &mut out).unwrap_err();
        assert!(err.to_string().contains("ratio"), "{err}");
        assert!(out.len() < 8 << 20, "{} bytes written", out.len());
    }

    #[test]
    fn nested_layers_share_the_budget() {
        let data = sample(3 << 20);
        let inner = compress_der(&data).unwrap();
        // The inner CompressedData SEQUENCE as the eContent of an outer layer.
        let inner_cd = CompressedContent::from_content_info(&inner).unwrap();
        let mut r = DerReader::new(&inner, "t");
        let mut ci = r.read_nested(0x30, "ci").unwrap();
        ci.read_oid("oid").unwrap();
        let cd = ci.read(0xa0, "[0]").unwrap();
        assert_eq!(inner_cd.content_type(), ID_DATA);
        let packed = crate::core::compress::compress(CompressionAlgorithm::Zlib, cd, 6).unwrap();
        let mut octets = Vec::new();
        push_tlv(&mut octets, 0x04, &packed);
        let mut explicit = Vec::new();
        push_tlv(&mut explicit, 0xa0, &octets);
        let mut eci = Vec::new();
        push_tlv(&mut eci, 0x06, ID_CT_COMPRESSED_DATA.as_bytes());
        eci.extend_from_slice(&explicit);
        let mut alg = Vec::new();
        push_tlv(&mut alg, 0x06, ID_ALG_ZLIB_COMPRESS.as_bytes());
        let mut body = vec![0x02, 0x01, 0x00];
        push_tlv(&mut body, 0x30, &alg);
        push_tlv(&mut body, 0x30, &eci);
        let outer = input::wrap_content_info(ID_CT_COMPRESSED_DATA, &{
            let mut v = Vec::new();
            push_tlv(&mut v, 0x30, &body);
            v
        })
        .unwrap();
        let mut out = Vec::new();
        assert_eq!(decompress_all(&outer, &Budget::default(), &mut out).unwrap(), ID_DATA);
        assert_eq!(out, data);
        assert_eq!(decompress(&outer, &Budget::default(), &mut Vec::new()).unwrap(), ID_CT_COMPRESSED_DATA);
        // 3 MiB inside plus the inner layer's bytes: over a 3 MiB budget only because the layers share it.
        let err = decompress_all(&outer, &Budget::new(3 << 20, 1_000_000), &mut Vec::new()).unwrap_err();
        assert!(matches!(err, SmimeError::Core(CoreError::BudgetExceeded(_))), "{err}");
    }

    #[test]
    fn bad_structures_are_refused() {
        let good = compress_der(b"x").unwrap();
        assert!(CompressedContent::from_content_info(&good).is_ok());
        let zlib = ID_ALG_ZLIB_COMPRESS.as_bytes();
        let pos = good.windows(zlib.len()).position(|w| w == zlib).unwrap();
        let mut other = good.clone();
        other[pos + zlib.len() - 1] = 9;
        assert!(matches!(CompressedContent::from_content_info(&other), Err(SmimeError::Unsupported(_))));
        let mut version = good.clone();
        let v = version.windows(3).position(|w| w == [0x02, 0x01, 0x00]).unwrap();
        version[v + 2] = 1;
        assert!(CompressedContent::from_content_info(&version).is_err());
        for cut in 0..good.len() {
            assert!(CompressedContent::from_content_info(&good[..cut]).is_err(), "cut at {cut}");
        }
        let mut trailing = good.clone();
        trailing.push(0);
        assert!(CompressedContent::from_content_info(&trailing).is_err());
        // Garbage after the zlib stream, and a truncated stream.
        let mut extra = Vec::new();
        let mut packed = crate::core::compress::compress(CompressionAlgorithm::Zlib, b"hello", 6).unwrap();
        packed.extend_from_slice(b"junk");
        let c = CompressedContent { content_type: ID_DATA, compressed: &packed };
        let err = c.decompress(&Budget::default(), &mut extra).unwrap_err();
        assert!(err.to_string().contains("after the end"), "{err}");
        let cut = &packed[..packed.len() - 8];
        let c = CompressedContent { content_type: ID_DATA, compressed: cut };
        assert!(c.decompress(&Budget::default(), &mut Vec::new()).is_err());
    }
}
