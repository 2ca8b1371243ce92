//! BER → DER normalisation (X.690 sections 8 and 10), and a bounds-checked reader over DER elements.
//!
//! `openssl cms -stream`, S/MIME output of OpenSSL, Thunderbird and gpgsm write CMS in BER: indefinite
//! lengths closed by end-of-contents octets, and OCTET STRINGs cut into segments (a constructed string).
//! The `der` crate, and so `cms`, decodes DER only, hence this module: [`to_der`] re-emits every element with
//! a minimal definite length, flattens constructed strings into the primitive form, and keeps everything else
//! byte for byte (SETs are not re-sorted: a signature over signed attributes covers their bytes as sent).
//!
//! One rule knows CMS rather than X.690 alone: `EncryptedContentInfo.encryptedContent` is
//! `[0] IMPLICIT OCTET STRING` (RFC 5652 section 6.1), which streaming encoders write as a constructed `[0]`
//! holding OCTET STRING segments. Without a schema that is indistinguishable from an explicit tag, so the
//! converter recognises the place by its shape: the third element of a SEQUENCE that starts with an OBJECT
//! IDENTIFIER and an AlgorithmIdentifier SEQUENCE, whose first segment is an OCTET STRING.
//!
//! Untrusted input: every read is bounds-checked; a declared length longer than what remains is an error
//! before anything is allocated; nesting is limited ([`Limits::max_depth`]) and walked iteratively, never by
//! recursion. Conversion is two linear passes: the first validates and measures (it keeps one 4-byte record
//! per constructed element that changes, so a dozen bytes for a real message and at most twice the input
//! for a hostile one), the second writes the output into one buffer of the exact size, which is the input
//! size minus what was dropped plus at most a few bytes per indefinite-length element of 64 KiB or more.

use std::borrow::Cow;
use std::collections::HashMap;

use const_oid::ObjectIdentifier;

use super::SmimeError;

const WHAT: &str = "BER";

/// Limits on what [`to_der`] accepts.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Limits {
    /// Deepest nesting of constructed elements (the outer element is depth 1). The `der` crate refuses more
    /// than 64 as well, so a deeper message could not be decoded anyway.
    pub max_depth: usize,
}

impl Default for Limits {
    /// Depth 64.
    fn default() -> Limits {
        Limits { max_depth: 64 }
    }
}

impl Limits {
    /// These limits with another maximum depth.
    pub fn with_max_depth(mut self, max_depth: usize) -> Limits {
        self.max_depth = max_depth;
        self
    }
}

/// The class of a tag (X.690 section 8.1.2.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Class {
    /// Universal (SEQUENCE, OCTET STRING, ...).
    Universal,
    /// Application.
    Application,
    /// Context-specific (`[0]`, `[1]`, ...).
    Context,
    /// Private.
    Private,
}

/// The identifier and length octets of one element.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    /// Offset of the first identifier octet in the input.
    pub offset: usize,
    /// Number of identifier octets (more than one for tag numbers of 31 and up).
    pub tag_len: usize,
    /// The tag class.
    pub class: Class,
    /// Constructed (true) or primitive encoding.
    pub constructed: bool,
    /// The tag number.
    pub number: u32,
    /// The content length; `None` for the indefinite form.
    pub length: Option<usize>,
    /// True when the length is in its shortest (DER) form. False for the indefinite form.
    pub minimal: bool,
    /// Identifier plus length octets.
    pub header_len: usize,
}

impl Header {
    /// Offset of the first content octet.
    pub fn content_start(&self) -> usize {
        self.offset + self.header_len
    }

    /// True for a universal tag with this number.
    pub fn is_universal(&self, number: u32) -> bool {
        self.class == Class::Universal && self.number == number
    }
}

/// Reads the header of the element at `pos`, reading nothing at or beyond `limit` (at most `input.len()`).
/// A definite length must fit before `limit`. Errors name the offset.
pub fn read_header(input: &[u8], pos: usize, limit: usize) -> Result<Header, SmimeError> {
    let limit = limit.min(input.len());
    let byte = |at: usize| -> Option<u8> { if at < limit { input.get(at).copied() } else { None } };
    let first = byte(pos).ok_or_else(|| err(format!("truncated element at offset {pos}")))?;
    let class = match first >> 6 {
        0 => Class::Universal,
        1 => Class::Application,
        2 => Class::Context,
        _ => Class::Private,
    };
    let constructed = first & 0x20 != 0;
    let mut at = pos + 1;
    let number = if first & 0x1f != 0x1f {
        u32::from(first & 0x1f)
    } else {
        // High-tag-number form: base-128 digits, the last one with bit 8 clear (X.690 8.1.2.4).
        let mut number: u32 = 0;
        loop {
            let b = byte(at).ok_or_else(|| err(format!("truncated tag at offset {pos}")))?;
            if at == pos + 1 && b == 0x80 {
                return Err(err(format!("tag number with a leading zero digit at offset {pos}")));
            }
            if number > u32::MAX >> 7 {
                return Err(err(format!("tag number too large at offset {pos}")));
            }
            number = (number << 7) | u32::from(b & 0x7f);
            at += 1;
            if b & 0x80 == 0 {
                break;
            }
        }
        if number < 31 {
            return Err(err(format!("tag number {number} in the high-tag-number form at offset {pos}")));
        }
        number
    };
    let tag_len = at - pos;
    let l0 = byte(at).ok_or_else(|| err(format!("truncated length at offset {at}")))?;
    at += 1;
    let (length, minimal) = match l0 {
        0..=0x7f => (Some(usize::from(l0)), true),
        0x80 => (None, false),
        0xff => return Err(err(format!("reserved length octet 0xff at offset {}", at - 1))),
        _ => {
            let n = usize::from(l0 & 0x7f);
            if n > 8 {
                return Err(err(format!("length of {n} octets at offset {}", at - 1)));
            }
            let mut value: u64 = 0;
            for i in 0..n {
                let b = byte(at + i).ok_or_else(|| err(format!("truncated length at offset {}", at - 1)))?;
                value = (value << 8) | u64::from(b);
            }
            let leading = byte(at).unwrap_or(0);
            at += n;
            let remaining = (limit - at.min(limit)) as u64;
            if value > remaining {
                return Err(err(format!("length {value} at offset {pos} exceeds the {remaining} bytes that remain")));
            }
            // Shortest form: the long form only for 128 and up, without leading zero octets.
            let minimal = value >= 0x80 && leading != 0;
            (Some(value as usize), minimal)
        }
    };
    if let Some(len) = length {
        let remaining = limit - at.min(limit);
        if len > remaining {
            return Err(err(format!("length {len} at offset {pos} exceeds the {remaining} bytes that remain")));
        }
    }
    Ok(Header { offset: pos, tag_len, class, constructed, number, length, minimal, header_len: at - pos })
}

fn err(detail: String) -> SmimeError {
    SmimeError::malformed(WHAT, detail)
}

fn bug(detail: &str) -> SmimeError {
    SmimeError::malformed(WHAT, format!("internal error: {detail} (this is a bug, please report it)"))
}

/// Universal types whose BER encoding may be constructed (X.690 8.6, 8.7, 8.23): BIT STRING, OCTET STRING,
/// ObjectDescriptor, UTF8String, the restricted character strings and the two time types.
fn is_string_type(number: u32) -> bool {
    matches!(number, 3 | 4 | 7 | 12 | 18..=28 | 30)
}

const BIT_STRING: u32 = 3;
const OCTET_STRING: u32 = 4;
const SEQUENCE: u32 = 16;

/// What a constructed element becomes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// Kept as a constructed element (its length re-encoded).
    Normal,
    /// A constructed string, flattened into one primitive element. `tag` is the universal tag number its
    /// segments carry (BIT STRING for BIT STRING, else OCTET STRING); `own` is the string's own tag number,
    /// accepted for segments as well.
    Flat { bit: bool, tag: u32, own: u32 },
    /// A segment inside a constructed string (itself constructed).
    Segment,
}

#[derive(Clone, Debug)]
struct Frame {
    kind: Kind,
    /// Offset of the element (for messages).
    offset: usize,
    /// Number of identifier octets.
    tag_len: u64,
    /// End of the content for the definite form.
    end: Option<usize>,
    /// How far the children may reach: `end`, or the enclosing limit for the indefinite form.
    limit: usize,
    /// A universal SEQUENCE (to recognise EncryptedContentInfo).
    is_sequence: bool,
    children: u32,
    first_tags: [u8; 2],
    /// For `Flat` and `Segment`: the stack index of the flattened string.
    root: usize,
    /// Pass 1: the record slot of this element.
    slot: usize,
    /// Pass 1: output content length so far (`Flat` and `Segment`: data bytes).
    out_len: u64,
    /// Pass 1: the encoding differs from the input.
    changed: bool,
    /// Pass 1, `Flat` BIT STRING: unused bits of the last segment so far.
    unused: u8,
}

impl Frame {
    fn new(kind: Kind, hdr: &Header, limit: usize, root: usize, slot: usize) -> Frame {
        let end = hdr.length.map(|n| hdr.content_start() + n);
        Frame {
            kind,
            offset: hdr.offset,
            tag_len: hdr.tag_len as u64,
            end,
            limit: end.unwrap_or(limit),
            is_sequence: hdr.constructed && hdr.is_universal(SEQUENCE),
            children: 0,
            first_tags: [0; 2],
            root,
            slot,
            out_len: 0,
            changed: hdr.length.is_none() || !hdr.minimal,
            unused: 0,
        }
    }

    /// The bottom of the stack: the input as a whole, which holds exactly one element.
    fn document(len: usize) -> Frame {
        Frame {
            kind: Kind::Normal,
            offset: 0,
            tag_len: 0,
            end: None,
            limit: len,
            is_sequence: false,
            children: 0,
            first_tags: [0; 2],
            root: 0,
            slot: 0,
            out_len: 0,
            changed: false,
            unused: 0,
        }
    }

    fn note_child(&mut self, first_octet: u8) {
        if let Some(t) = self.first_tags.get_mut(self.children as usize) {
            *t = first_octet;
        }
        self.children = self.children.saturating_add(1);
    }
}

/// Decides what a constructed element in a `Normal` parent becomes (the same decision in both passes).
fn classify(parent: &Frame, hdr: &Header, input: &[u8]) -> Kind {
    if hdr.class == Class::Universal && is_string_type(hdr.number) {
        let bit = hdr.number == BIT_STRING;
        return Kind::Flat { bit, tag: if bit { BIT_STRING } else { OCTET_STRING }, own: hdr.number };
    }
    // EncryptedContentInfo ::= SEQUENCE { contentType OID, contentEncryptionAlgorithm AlgorithmIdentifier,
    //     encryptedContent [0] IMPLICIT OCTET STRING OPTIONAL }
    if parent.is_sequence
        && parent.children == 2
        && parent.first_tags == [0x06, 0x30]
        && hdr.class == Class::Context
        && hdr.number == 0
        && hdr.tag_len == 1
    {
        let cs = hdr.content_start();
        // `00`: an end-of-contents at once, an empty string.
        let first_segment = cs < parent.limit && matches!(input.get(cs), Some(0x04 | 0x24 | 0x00));
        if hdr.length == Some(0) || first_segment {
            return Kind::Flat { bit: false, tag: OCTET_STRING, own: OCTET_STRING };
        }
    }
    Kind::Normal
}

/// Number of length octets for a content of `n` bytes in DER.
fn len_octets(n: u64) -> u64 {
    if n < 0x80 { 1 } else { 1 + u64::from((64 - n.leading_zeros()).div_ceil(8)) }
}

/// End-of-contents octets: close an indefinite-length element.
pub const EOC: [u8; 2] = [0, 0];

/// Writes a one-octet identifier and a length: definite in its shortest form, or (`None`) indefinite.
pub fn write_header(out: &mut dyn std::io::Write, tag: u8, len: Option<usize>) -> std::io::Result<()> {
    let mut h = Vec::with_capacity(10);
    h.push(tag);
    match len {
        None => h.push(0x80),
        Some(n) => write_len(&mut h, n as u64),
    }
    out.write_all(&h)
}

/// Appends the DER length octets for a content of `n` bytes.
pub(crate) fn write_len(out: &mut Vec<u8>, n: u64) {
    if n < 0x80 {
        out.push(n as u8);
    } else {
        let bytes = n.to_be_bytes();
        let skip = (n.leading_zeros() / 8) as usize;
        out.push(0x80 | (8 - skip) as u8);
        out.extend_from_slice(bytes.get(skip..).unwrap_or(&[]));
    }
}

/// True at an end-of-contents (`00 00`) before `limit`; an error for `00` followed by anything else.
fn at_eoc(input: &[u8], pos: usize, limit: usize) -> Result<bool, SmimeError> {
    if pos >= limit || input.get(pos) != Some(&0) {
        return Ok(false);
    }
    match input.get(pos + 1) {
        Some(0) if pos + 1 < limit => Ok(true),
        Some(_) if pos + 1 < limit => Err(err(format!("end-of-contents with a non-zero length at offset {pos}"))),
        _ => Err(err(format!("truncated end-of-contents at offset {pos}"))),
    }
}

/// Per-element records from pass 1 to pass 2, in the order the elements start.
#[derive(Default)]
struct Records {
    small: Vec<u32>,
    big: HashMap<usize, u64>,
}

/// The constructed element is copied as it is.
const COPY: u32 = u32::MAX;
/// The length is in `big`.
const BIG: u32 = u32::MAX - 1;

impl Records {
    fn reserve(&mut self, n: usize) -> usize {
        let slot = self.small.len();
        self.small.resize(slot + n, 0);
        slot
    }

    fn set(&mut self, slot: usize, value: u64) {
        let small = if value >= u64::from(BIG) {
            self.big.insert(slot, value);
            BIG
        } else {
            value as u32
        };
        if let Some(s) = self.small.get_mut(slot) {
            *s = small;
        }
    }

    /// An unchanged element: its descendants are unchanged too, so their records (all after its slot) go.
    fn copy(&mut self, slot: usize) {
        self.small.truncate(slot);
        self.small.push(COPY);
    }

    fn get(&self, slot: usize) -> Result<Option<u64>, SmimeError> {
        match self.small.get(slot).copied() {
            None => Err(bug("record missing")),
            Some(COPY) => Ok(None),
            Some(BIG) => self.big.get(&slot).copied().map(Some).ok_or_else(|| bug("long record missing")),
            Some(v) => Ok(Some(u64::from(v))),
        }
    }
}

/// The outcome of pass 1.
struct Measured {
    /// Size of the DER output.
    total: u64,
    /// Whether the output differs from the input.
    changed: bool,
}

/// Pass 1: validates the whole input and measures the output; fills `records` when given.
fn measure(input: &[u8], limits: &Limits, mut records: Option<&mut Records>) -> Result<Measured, SmimeError> {
    if input.is_empty() {
        return Err(err("empty input".into()));
    }
    let mut stack = vec![Frame::document(input.len())];
    let mut pos = 0usize;
    loop {
        let top = stack.len() - 1;
        let Some(frame) = stack.last() else { return Err(bug("empty stack")) };
        if top == 0 && frame.children == 1 {
            break;
        }
        if top > 0 {
            let closes = match frame.end {
                Some(end) => pos == end,
                None => at_eoc(input, pos, frame.limit)?,
            };
            if closes {
                if frame.end.is_none() {
                    pos += 2;
                }
                let Some(done) = stack.pop() else { return Err(bug("empty stack")) };
                let Some(parent) = stack.last_mut() else { return Err(bug("empty stack")) };
                match done.kind {
                    Kind::Normal => {
                        let tag_len = done.tag_len;
                        if done.changed {
                            if let Some(r) = records.as_deref_mut() {
                                r.set(done.slot, done.out_len);
                            }
                            parent.changed = true;
                        } else if let Some(r) = records.as_deref_mut() {
                            r.copy(done.slot);
                        }
                        parent.out_len += tag_len + len_octets(done.out_len) + done.out_len;
                    }
                    Kind::Flat { bit, .. } => {
                        let tag_len = done.tag_len;
                        let data = done.out_len + u64::from(bit);
                        if let Some(r) = records.as_deref_mut() {
                            r.set(done.slot, data);
                            if bit {
                                r.set(done.slot + 1, u64::from(done.unused));
                            }
                        }
                        parent.out_len += tag_len + len_octets(data) + data;
                        parent.changed = true;
                    }
                    Kind::Segment => parent.out_len += done.out_len,
                }
                continue;
            }
            if pos >= frame.limit {
                return Err(err(format!(
                    "end-of-contents missing for the indefinite-length element at offset {}",
                    frame.offset
                )));
            }
        }
        let limit = frame.limit;
        let hdr = read_header(input, pos, limit)?;
        if hdr.class == Class::Universal && hdr.number == 0 {
            return Err(err(format!("unexpected end-of-contents at offset {pos}")));
        }
        if !hdr.constructed && hdr.length.is_none() {
            return Err(err(format!("indefinite length inside a primitive element at offset {pos}")));
        }
        let cs = hdr.content_start();
        let parent_kind = frame.kind;
        if parent_kind != Kind::Normal {
            // A segment of a constructed string.
            let root = if parent_kind == Kind::Segment { frame.root } else { top };
            let Some(&Frame { kind: Kind::Flat { bit, tag, own }, offset: root_offset, .. }) = stack.get(root) else {
                return Err(bug("segment without its string"));
            };
            if hdr.class != Class::Universal || (hdr.number != tag && hdr.number != own) {
                return Err(err(format!(
                    "segment at offset {pos} of the constructed {} at offset {root_offset} is not {}",
                    if bit { "BIT STRING" } else { "string" },
                    if bit { "a BIT STRING" } else { "an OCTET STRING" }
                )));
            }
            if hdr.constructed {
                if stack.len() > limits.max_depth {
                    return Err(err(format!("nesting deeper than {} at offset {pos}", limits.max_depth)));
                }
                stack.push(Frame::new(Kind::Segment, &hdr, limit, root, 0));
                pos = cs;
                continue;
            }
            let n = hdr.length.unwrap_or(0);
            let mut data = n as u64;
            if bit {
                let unused =
                    input.get(cs).copied().filter(|_| n > 0).ok_or_else(|| {
                        err(format!("BIT STRING segment without its unused-bits octet at offset {pos}"))
                    })?;
                if unused > 7 || (n == 1 && unused != 0) {
                    return Err(err(format!("BIT STRING segment with {unused} unused bits at offset {pos}")));
                }
                let Some(root_frame) = stack.get_mut(root) else { return Err(bug("lost string")) };
                if root_frame.unused != 0 {
                    return Err(err(format!(
                        "BIT STRING segment at offset {pos} follows a segment with unused bits (only the last \
                         may have them)"
                    )));
                }
                root_frame.unused = unused;
                data -= 1;
            }
            if let Some(f) = stack.last_mut() {
                f.out_len += data;
            }
            pos = cs + n;
            continue;
        }
        // An element of a constructed (or the outer) element.
        let kind = if hdr.constructed { classify(frame, &hdr, input) } else { Kind::Normal };
        let first_octet = input.get(pos).copied().unwrap_or(0);
        let Some(parent) = stack.last_mut() else { return Err(bug("empty stack")) };
        parent.note_child(first_octet);
        match (hdr.constructed, kind, hdr.length) {
            (false, _, Some(n)) => {
                parent.out_len += hdr.tag_len as u64 + len_octets(n as u64) + n as u64;
                parent.changed |= !hdr.minimal;
                pos = cs + n;
            }
            (true, Kind::Normal, Some(0)) if hdr.minimal => {
                // `30 00`: nothing inside can change; no record needed.
                parent.out_len += hdr.header_len as u64;
                pos = cs;
            }
            (true, _, _) => {
                if stack.len() > limits.max_depth {
                    return Err(err(format!("nesting deeper than {} at offset {pos}", limits.max_depth)));
                }
                let slots = if matches!(kind, Kind::Flat { bit: true, .. }) { 2 } else { 1 };
                let slot = records.as_deref_mut().map_or(0, |r| r.reserve(slots));
                let root = stack.len();
                stack.push(Frame::new(kind, &hdr, limit, root, slot));
                pos = cs;
            }
            (false, _, None) => return Err(bug("primitive without a length")),
        }
    }
    if pos != input.len() {
        return Err(err(format!(
            "trailing data at offset {pos} after the outer element ({} bytes)",
            input.len() - pos
        )));
    }
    let Some(document) = stack.first() else { return Err(bug("empty stack")) };
    Ok(Measured { total: document.out_len, changed: document.changed })
}

/// Pass 2: writes the DER encoding, following the records of pass 1.
fn emit(input: &[u8], records: &Records, total: usize) -> Result<Vec<u8>, SmimeError> {
    let mut out = Vec::with_capacity(total);
    let mut next = 0usize;
    let mut stack = vec![Frame::document(input.len())];
    let mut pos = 0usize;
    loop {
        let top = stack.len() - 1;
        let Some(frame) = stack.last() else { return Err(bug("empty stack")) };
        if top == 0 {
            if frame.children == 1 {
                break;
            }
        } else {
            let closes = match frame.end {
                Some(end) => pos == end,
                None => at_eoc(input, pos, frame.limit)?,
            };
            if closes {
                if frame.end.is_none() {
                    pos += 2;
                }
                stack.pop();
                continue;
            }
        }
        let limit = frame.limit;
        let hdr = read_header(input, pos, limit)?;
        let cs = hdr.content_start();
        let tag = input.get(pos..pos + hdr.tag_len).ok_or_else(|| bug("tag vanished"))?;
        if frame.kind != Kind::Normal {
            let root = if frame.kind == Kind::Segment { frame.root } else { top };
            if hdr.constructed {
                stack.push(Frame::new(Kind::Segment, &hdr, limit, root, 0));
                pos = cs;
                continue;
            }
            let bit = matches!(stack.get(root), Some(Frame { kind: Kind::Flat { bit: true, .. }, .. }));
            let n = hdr.length.ok_or_else(|| bug("primitive without a length"))?;
            let skip = usize::from(bit);
            let data = input.get(cs + skip.min(n)..cs + n).ok_or_else(|| bug("segment vanished"))?;
            out.extend_from_slice(data);
            pos = cs + n;
            continue;
        }
        let kind = if hdr.constructed { classify(frame, &hdr, input) } else { Kind::Normal };
        let Some(parent) = stack.last_mut() else { return Err(bug("empty stack")) };
        parent.note_child(tag.first().copied().unwrap_or(0));
        match (hdr.constructed, kind, hdr.length) {
            (false, _, Some(n)) => {
                out.extend_from_slice(tag);
                write_len(&mut out, n as u64);
                out.extend_from_slice(input.get(cs..cs + n).ok_or_else(|| bug("value vanished"))?);
                pos = cs + n;
            }
            (true, Kind::Normal, Some(0)) if hdr.minimal => {
                out.extend_from_slice(input.get(pos..cs).ok_or_else(|| bug("header vanished"))?);
                pos = cs;
            }
            (true, Kind::Flat { bit, .. }, _) => {
                let data = records.get(next)?.ok_or_else(|| bug("string marked as unchanged"))?;
                out.push(tag.first().copied().unwrap_or(0) & !0x20);
                out.extend_from_slice(tag.get(1..).unwrap_or(&[]));
                write_len(&mut out, data);
                if bit {
                    let unused = records.get(next + 1)?.ok_or_else(|| bug("unused bits missing"))?;
                    out.push(unused as u8);
                }
                next += if bit { 2 } else { 1 };
                let root = stack.len();
                stack.push(Frame::new(kind, &hdr, limit, root, 0));
                pos = cs;
            }
            (true, _, _) => {
                let record = records.get(next)?;
                next += 1;
                match (record, hdr.length) {
                    (None, Some(n)) => {
                        out.extend_from_slice(input.get(pos..cs + n).ok_or_else(|| bug("element vanished"))?);
                        pos = cs + n;
                    }
                    (None, None) => return Err(bug("indefinite element marked as unchanged")),
                    (Some(len), _) => {
                        out.extend_from_slice(tag);
                        write_len(&mut out, len);
                        stack.push(Frame::new(Kind::Normal, &hdr, limit, 0, 0));
                        pos = cs;
                    }
                }
            }
            (false, _, None) => return Err(bug("primitive without a length")),
        }
    }
    if out.len() != total {
        return Err(bug("output size differs from the measured size"));
    }
    Ok(out)
}

/// Converts one BER element (the whole input) to DER. See the module documentation for what changes.
pub fn to_der(input: &[u8], limits: &Limits) -> Result<Vec<u8>, SmimeError> {
    Ok(to_der_cow(input, limits)?.into_owned())
}

/// Like [`to_der`], but returns the input itself, without copying, when it is DER already.
pub fn to_der_cow<'a>(input: &'a [u8], limits: &Limits) -> Result<Cow<'a, [u8]>, SmimeError> {
    let mut records = Records::default();
    let measured = measure(input, limits, Some(&mut records))?;
    if !measured.changed {
        return Ok(Cow::Borrowed(input));
    }
    let total = usize::try_from(measured.total).map_err(|_| err("too large for this machine".into()))?;
    Ok(Cow::Owned(emit(input, &records, total)?))
}

/// Quick check: true when the input is one well-formed element with definite, minimal lengths and no
/// constructed strings, so it can be used as it is. (Other DER rules, such as the order of SET OF, are the
/// decoder's to check.)
pub fn is_der(input: &[u8]) -> bool {
    matches!(measure(input, &Limits::default(), None), Ok(Measured { changed: false, .. }))
}

/// A bounds-checked reader over a sequence of DER elements (definite lengths only), returning borrowed
/// content octets. Errors name `what` and the offset in the buffer the first reader was made over.
#[derive(Clone, Debug)]
pub struct DerReader<'a> {
    /// The whole buffer; this reader reads `buf[pos..end]`.
    buf: &'a [u8],
    pos: usize,
    end: usize,
    what: &'static str,
}

impl<'a> DerReader<'a> {
    /// Reads the elements of `input`; errors say `what` is malformed.
    pub fn new(input: &'a [u8], what: &'static str) -> DerReader<'a> {
        DerReader { buf: input, pos: 0, end: input.len(), what }
    }

    /// True when every element has been read.
    pub fn is_empty(&self) -> bool {
        self.pos >= self.end
    }

    /// The first identifier octet of the next element.
    pub fn peek_tag(&self) -> Option<u8> {
        if self.is_empty() { None } else { self.buf.get(self.pos).copied() }
    }

    /// Offset of the next element.
    pub fn offset(&self) -> usize {
        self.pos
    }

    /// Reads the next element, whatever its tag: its header and its content octets.
    pub fn read_any(&mut self) -> Result<(Header, &'a [u8]), SmimeError> {
        let hdr = read_header(self.buf, self.pos, self.end).map_err(|e| match e {
            SmimeError::Malformed { detail, .. } => SmimeError::malformed(self.what, detail),
            other => other,
        })?;
        let Some(len) = hdr.length else {
            return Err(SmimeError::malformed(self.what, format!("indefinite length in DER at offset {}", self.pos)));
        };
        let cs = hdr.content_start();
        let content = self.buf.get(cs..cs + len).ok_or_else(|| bug("length checked but out of range"))?;
        self.pos = cs + len;
        Ok((hdr, content))
    }

    /// Reads the next element, whatever its tag: its header, its whole encoding (identifier, length and
    /// content octets, to hand to a decoder of that type), and its content octets.
    pub fn read_tlv(&mut self) -> Result<(Header, &'a [u8], &'a [u8]), SmimeError> {
        let (hdr, content) = self.read_any()?;
        let whole =
            self.buf.get(hdr.offset..hdr.content_start() + content.len()).ok_or_else(|| bug("element out of range"))?;
        Ok((hdr, whole, content))
    }

    /// Reads the next element, which must have the one-octet tag `tag` (e.g. `0x30` for SEQUENCE).
    pub fn read(&mut self, tag: u8, name: &str) -> Result<&'a [u8], SmimeError> {
        self.read_element(tag, name).map(|(_, content)| content)
    }

    fn read_element(&mut self, tag: u8, name: &str) -> Result<(Header, &'a [u8]), SmimeError> {
        let at = self.pos;
        match self.peek_tag() {
            Some(t) if t == tag => self.read_any(),
            Some(t) => Err(SmimeError::malformed(
                self.what,
                format!("expected {name} (tag 0x{tag:02x}) at offset {at}, found tag 0x{t:02x}"),
            )),
            None => Err(SmimeError::malformed(self.what, format!("{name} missing at offset {at}"))),
        }
    }

    /// Reads the next element with tag `tag` and returns a reader over its content.
    pub fn read_nested(&mut self, tag: u8, name: &str) -> Result<DerReader<'a>, SmimeError> {
        let (hdr, content) = self.read_element(tag, name)?;
        let start = hdr.content_start();
        Ok(DerReader { buf: self.buf, pos: start, end: start + content.len(), what: self.what })
    }

    /// Reads an OBJECT IDENTIFIER.
    pub fn read_oid(&mut self, name: &str) -> Result<ObjectIdentifier, SmimeError> {
        let at = self.pos;
        let bytes = self.read(0x06, name)?;
        ObjectIdentifier::from_bytes(bytes)
            .map_err(|e| SmimeError::malformed(self.what, format!("bad {name} at offset {at}: {e}")))
    }

    /// Checks that nothing is left.
    pub fn finish(&self, name: &str) -> Result<(), SmimeError> {
        if self.is_empty() {
            Ok(())
        } else {
            Err(SmimeError::malformed(self.what, format!("unexpected data at offset {} in {name}", self.pos)))
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)] // A panic in a test is a failed test.

    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        let s: String = s.chars().filter(|c| !c.is_whitespace()).collect();
        (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
    }

    fn conv(s: &str) -> Result<Vec<u8>, SmimeError> {
        to_der(&hex(s), &Limits::default())
    }

    #[test]
    fn der_is_kept_without_copying() {
        let der = hex("30 06 02 01 05 04 01 aa");
        assert!(is_der(&der));
        assert!(matches!(to_der_cow(&der, &Limits::default()).unwrap(), Cow::Borrowed(_)));
    }

    #[test]
    fn indefinite_lengths_become_definite() {
        assert_eq!(conv("30 80 02 01 05 30 80 05 00 00 00 00 00").unwrap(), hex("30 07 02 01 05 30 02 05 00"));
        assert!(!is_der(&hex("30 80 02 01 05 00 00")));
    }

    #[test]
    fn non_minimal_lengths_are_shortened() {
        assert_eq!(conv("30 81 04 04 81 01 aa").unwrap(), hex("30 03 04 01 aa"));
        assert_eq!(conv("30 84 00 00 00 00").unwrap(), hex("30 00"));
    }

    #[test]
    fn constructed_strings_are_flattened() {
        assert_eq!(conv("24 80 04 02 aa bb 24 03 04 01 cc 00 00").unwrap(), hex("04 03 aa bb cc"));
        assert_eq!(conv("24 00").unwrap(), hex("04 00"));
        assert_eq!(conv("23 80 03 02 00 aa 03 02 04 b0 00 00").unwrap(), hex("03 03 04 aa b0"));
        assert_eq!(conv("23 80 00 00").unwrap(), hex("03 01 00"));
        // A character string whose segments carry its own tag.
        assert_eq!(conv("36 80 04 01 41 16 01 42 00 00").unwrap(), hex("16 02 41 42"));
        // Unused bits before the last segment, too many unused bits, a foreign segment.
        assert!(conv("23 80 03 02 04 b0 03 02 00 aa 00 00").is_err());
        assert!(conv("23 80 03 02 08 aa 00 00").is_err());
        assert!(conv("24 80 02 01 00 00 00").is_err());
    }

    #[test]
    fn high_tag_numbers_are_kept() {
        assert_eq!(conv("bf 81 00 80 5f 21 01 aa 00 00").unwrap(), hex("bf 81 00 04 5f 21 01 aa"));
        assert!(conv("1f 05 00").is_err(), "high-tag form for a low number");
        assert!(conv("1f 80 01 00").is_err(), "leading zero digit");
        assert!(conv("1f 90 80 80 80 00 00").is_err(), "tag number overflow");
    }

    #[test]
    fn encrypted_content_info_is_flattened() {
        // SEQUENCE { OID, SEQUENCE { OID }, [0] constructed { OCTET STRING, OCTET STRING } }
        let ber = "30 80 06 01 2a 30 03 06 01 2b a0 80 04 02 aa bb 04 01 cc 00 00 00 00";
        assert_eq!(conv(ber).unwrap(), hex("30 0d 06 01 2a 30 03 06 01 2b 80 03 aa bb cc"));
        let empty = "30 80 06 01 2a 30 03 06 01 2b a0 80 00 00 00 00";
        assert_eq!(conv(empty).unwrap(), hex("30 0a 06 01 2a 30 03 06 01 2b 80 00"));
        // EncapsulatedContentInfo: [0] EXPLICIT, kept.
        let ber = "30 80 06 01 2a a0 80 24 80 04 01 aa 00 00 00 00 00 00";
        assert_eq!(conv(ber).unwrap(), hex("30 08 06 01 2a a0 03 04 01 aa"));
    }

    #[test]
    fn bad_structures_are_errors() {
        for bad in [
            "",
            "30",
            "30 80",
            "30 80 00",
            "30 80 00 01",
            "30 03 02 01",
            "30 02 02 01 05",
            "04 80 00 00",
            "30 ff",
            "30 89 00 00 00 00 00 00 00 00 00",
            "30 84 ff ff ff ff 00",
            "30 00 00",
            "00 00",
            "30 80 02 01 05",
            "30 04 30 80 00 00 00",
        ] {
            assert!(conv(bad).is_err(), "{bad:?} was accepted");
            assert!(!is_der(&hex(bad)), "{bad:?} passed as DER");
        }
        let e = conv("30 80 04 80 00 00 00 00").unwrap_err().to_string();
        assert_eq!(e, "malformed BER: indefinite length inside a primitive element at offset 2");
    }

    #[test]
    fn depth_is_limited() {
        let mut ber = Vec::new();
        for _ in 0..64 {
            ber.extend_from_slice(&[0x30, 0x80]);
        }
        ber.extend(std::iter::repeat_n(0u8, 128));
        assert!(to_der(&ber, &Limits::default()).is_ok());
        assert!(to_der(&ber, &Limits::default().with_max_depth(63)).is_err());
    }

    #[test]
    fn long_lengths_round_trip() {
        let body = vec![7u8; 70_000];
        let mut ber = hex("24 80 04 83 00 88 b8");
        ber.extend_from_slice(&body[..35_000]);
        ber.extend_from_slice(&hex("04 82 88 b8"));
        ber.extend_from_slice(&body[35_000..]);
        ber.extend_from_slice(&[0, 0]);
        let der = to_der(&ber, &Limits::default()).unwrap();
        assert_eq!(&der[..5], &hex("04 83 01 11 70")[..]);
        assert_eq!(&der[5..], &body[..]);
        assert!(is_der(&der));
    }

    #[test]
    fn lengths_encode_minimally() {
        for n in [0u64, 1, 127, 128, 255, 256, 65_535, 65_536, 1 << 24, 1 << 32, u64::MAX] {
            let mut v = Vec::new();
            write_len(&mut v, n);
            assert_eq!(v.len() as u64, len_octets(n), "{n}");
        }
    }

    #[test]
    fn der_reader() {
        let der = hex("30 08 06 03 2a 03 04 04 01 aa");
        let mut r = DerReader::new(&der, "test");
        let mut seq = r.read_nested(0x30, "SEQUENCE").unwrap();
        r.finish("outer").unwrap();
        assert_eq!(seq.read_oid("OID").unwrap().to_string(), "1.2.3.4");
        assert!(seq.read(0x30, "SEQUENCE").is_err());
        assert_eq!(seq.read(0x04, "OCTET STRING").unwrap(), &[0xaa]);
        seq.finish("SEQUENCE").unwrap();
        assert!(DerReader::new(&hex("30 80 00 00"), "t").read_any().is_err());
        let mut r = DerReader::new(&der, "test");
        let mut seq = r.read_nested(0x30, "SEQUENCE").unwrap();
        seq.read_oid("OID").unwrap();
        let e = seq.read(0x30, "SEQUENCE").unwrap_err().to_string();
        assert_eq!(e, "malformed test: expected SEQUENCE (tag 0x30) at offset 7, found tag 0x04");
        let e = DerReader::new(&hex("30 03 04 05 00"), "test").read_nested(0x30, "S").unwrap().read_any().unwrap_err();
        assert_eq!(e.to_string(), "malformed test: length 5 at offset 2 exceeds the 1 bytes that remain");
    }
}
