//! OpenSSL's "traditional" PEM private keys: a PEM block whose body starts with RFC 1421 header lines
//!
//! ```text
//! -----BEGIN RSA PRIVATE KEY-----
//! Proc-Type: 4,ENCRYPTED
//! DEK-Info: AES-256-CBC,<IV in hex>
//!
//! <base64 of the CBC-encrypted, PKCS #7-padded PKCS #1 RSAPrivateKey DER>
//! -----END RSA PRIVATE KEY-----
//! ```
//!
//! The headers are those of RFC 1421 section 4.6.1.1 (`Proc-Type`, first) and 4.6.1.3 (`DEK-Info`, with the
//! IV in hex as RFC 1423 section 1.1 defines it for DES-CBC); OpenSSL extended `DEK-Info` to 3DES and AES
//! and derives the key as `EVP_BytesToKey(cipher, MD5, salt = first 8 bytes of the IV, passphrase,
//! count = 1)` (`PEM_do_header` in OpenSSL's `crypto/pem/pem_lib.c`). That KDF is one MD5 per 16 bytes of
//! key: it is fast to brute-force, which is why new keys should be encrypted PKCS #8 (PBES2) instead.
//!
//! This module owns reading such blocks (header lines, base64, the KDF, CBC decryption) and writing them.
//! It reads all five ciphers OpenSSL writes (DES-CBC is broken, but reading an old key is the point);
//! which cipher to *write* is the caller's choice, and callers default to AES-256-CBC. It must not parse
//! the key inside: the caller does that from the DER (for RSA, [`RsaPrivateKey::from_der`]).
//!
//! A wrong passphrase and a damaged ciphertext give the one error [`CoreError::DecryptionFailed`], whether
//! the padding was bad or the padding passed (about one time in 256 for a wrong passphrase) and what came
//! out is not DER: the same error as a wrong PKCS #8 passphrase, and no padding oracle.

use zeroize::Zeroizing;

use super::RsaPrivateKey;
use crate::core::cipher::CipherAlgorithm;
use crate::core::digest::md5::Md5;
use crate::core::error::CoreError;
use crate::core::mode::{Crypter, Direction, Mode, Padding, crypter};
use crate::core::rand::Rng;

/// What [`CoreError::Malformed`] names for errors in the block itself.
const WHAT: &str = "PEM key";

/// Largest PEM text read (an 8192-bit RSA key in this form is about 6.5 KB).
const MAX_PEM_LEN: usize = 256 * 1024;
/// Largest label (`RSA PRIVATE KEY` and its kin are 15-20 characters).
const MAX_LABEL_LEN: usize = 64;
/// Most header lines (continuations included); a key has two.
const MAX_HEADER_LINES: usize = 16;
/// Longest header value after unfolding continuation lines.
const MAX_HEADER_LEN: usize = 512;
/// Characters of a bad value quoted in an error message.
const SHOWN: usize = 40;

/// The `DEK-Info` cipher names, as OpenSSL writes them, and the core's ciphers (all in CBC mode).
const DEK_CIPHERS: [(&str, CipherAlgorithm); 5] = [
    ("DES-EDE3-CBC", CipherAlgorithm::TripleDes),
    ("DES-CBC", CipherAlgorithm::Des),
    ("AES-128-CBC", CipherAlgorithm::Aes128),
    ("AES-192-CBC", CipherAlgorithm::Aes192),
    ("AES-256-CBC", CipherAlgorithm::Aes256),
];

fn malformed(detail: impl Into<String>) -> CoreError {
    CoreError::malformed(WHAT, detail)
}

/// `value` quoted for an error message: escaped, and cut to [`SHOWN`] characters.
fn shown(value: &str) -> String {
    match value.char_indices().nth(SHOWN) {
        Some((cut, _)) => format!("{:?}...", value.get(..cut).unwrap_or_default()),
        None => format!("{value:?}"),
    }
}

fn dek_name(cipher: CipherAlgorithm) -> Option<&'static str> {
    DEK_CIPHERS.iter().find(|(_, c)| *c == cipher).map(|(name, _)| *name)
}

/// The cipher and IV named by `DEK-Info`.
#[derive(Clone, Debug, PartialEq, Eq)]
struct DekInfo {
    cipher: CipherAlgorithm,
    iv: Vec<u8>,
}

/// One PEM block in OpenSSL's traditional form, parsed but not decrypted: its label, the cipher and IV of
/// its `DEK-Info` header (none when the block has no headers), and the base64-decoded body. The body is held
/// in a zeroizing buffer because an unencrypted block's body is the key itself. `Debug` shows no body.
pub struct TraditionalPem {
    label: String,
    dek: Option<DekInfo>,
    body: Zeroizing<Vec<u8>>,
}

impl std::fmt::Debug for TraditionalPem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.dek.as_ref().and_then(|d| dek_name(d.cipher)) {
            Some(name) => write!(f, "TraditionalPem({:?}, {name}, {} bytes)", self.label, self.body.len()),
            None => write!(f, "TraditionalPem({:?}, unencrypted, {} bytes)", self.label, self.body.len()),
        }
    }
}

/// True when the first line after a `-----BEGIN` line is a header (`Name: value`): the block is in the
/// traditional form and [`TraditionalPem`] must read it (RFC 7468 decoders refuse headers). Base64 never
/// contains a colon.
pub(super) fn has_headers(pem: &str) -> bool {
    pem.lines()
        .map(str::trim)
        .skip_while(|line| !line.starts_with("-----BEGIN "))
        .nth(1)
        .is_some_and(|line| line.contains(':'))
}

impl TraditionalPem {
    /// Parses one PEM block: the `-----BEGIN label-----` line, optional RFC 1421 headers ended by a blank
    /// line (continuation lines start with a space or a tab), the base64 body and the matching END line.
    /// Only blank lines may come before and after. When there are headers they must be `Proc-Type:
    /// 4,ENCRYPTED` (first) and `DEK-Info: CIPHER,IV` with one of DES-EDE3-CBC, DES-CBC, AES-128-CBC,
    /// AES-192-CBC, AES-256-CBC and an IV of one block in hex. Every error is a one-line
    /// [`CoreError::Malformed`] naming the line.
    pub fn parse(pem: &str) -> Result<TraditionalPem, CoreError> {
        if pem.len() > MAX_PEM_LEN {
            return Err(malformed(format!("{} bytes of text is over the limit of {MAX_PEM_LEN}", pem.len())));
        }
        let mut lines = pem.lines().enumerate().map(|(i, line)| (i + 1, line.trim_end()));

        let (begin_no, begin) =
            lines.by_ref().find(|(_, line)| !line.is_empty()).ok_or_else(|| malformed("no -----BEGIN line"))?;
        let label =
            begin.trim_start().strip_prefix("-----BEGIN ").and_then(|rest| rest.strip_suffix("-----")).ok_or_else(
                || malformed(format!("line {begin_no}: expected -----BEGIN ...-----, found {}", shown(begin))),
            )?;
        if label.is_empty() || label.len() > MAX_LABEL_LEN || !label.bytes().all(|b| (0x20..=0x7e).contains(&b)) {
            return Err(malformed(format!("line {begin_no}: bad label {}", shown(label))));
        }

        // Header lines, until the blank line that ends them. The first line that is neither a header nor a
        // continuation, when no header came before it, is the first line of the body.
        let mut headers: Vec<(usize, &str, String)> = Vec::new();
        let mut header_lines = 0usize;
        let mut first_body: Option<(usize, &str)> = None;
        for (no, line) in lines.by_ref() {
            if line.trim_start().is_empty() {
                if headers.is_empty() {
                    continue;
                }
                break;
            }
            if line.trim_start().starts_with("-----") {
                if headers.is_empty() {
                    first_body = Some((no, line));
                    break;
                }
                return Err(malformed(format!("line {no}: the headers are not followed by a blank line and a body")));
            }
            header_lines += 1;
            if header_lines > MAX_HEADER_LINES {
                return Err(malformed(format!("line {no}: more than {MAX_HEADER_LINES} header lines")));
            }
            if line.starts_with([' ', '\t']) {
                let Some((_, _, value)) = headers.last_mut() else {
                    return Err(malformed(format!("line {no}: a continuation line with no header before it")));
                };
                value.push(' ');
                value.push_str(line.trim());
            } else if let Some((name, value)) = line.split_once(':')
                && !name.is_empty()
                && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            {
                headers.push((no, name, value.trim().to_string()));
            } else if headers.is_empty() {
                first_body = Some((no, line));
                break;
            } else {
                return Err(malformed(format!(
                    "line {no}: expected a `Name: value` header or the blank line that ends the headers, found {}",
                    shown(line)
                )));
            }
            if headers.last().is_some_and(|(_, _, value)| value.len() > MAX_HEADER_LEN) {
                return Err(malformed(format!("line {no}: a header longer than {MAX_HEADER_LEN} characters")));
            }
        }
        let dek = dek_info(&headers)?;

        // The body: base64 lines up to the END line, then nothing but blank lines.
        let mut base64 = Base64::new(pem.len() / 4 * 3 + 3);
        let mut end_no = None;
        for (no, line) in first_body.into_iter().chain(lines.by_ref()) {
            let line = line.trim_start();
            if let Some(rest) = line.strip_prefix("-----END ") {
                if rest.strip_suffix("-----") != Some(label) {
                    return Err(malformed(format!("line {no}: BEGIN {label} closed by {}", shown(line))));
                }
                end_no = Some(no);
                break;
            }
            if line.starts_with("-----") {
                return Err(malformed(format!("line {no}: {} inside the {label} block", shown(line))));
            }
            base64.line(no, line)?;
        }
        let Some(end_no) = end_no else {
            return Err(malformed(format!("BEGIN {label} has no END line")));
        };
        if let Some((no, _)) = lines.find(|(_, line)| !line.trim_start().is_empty()) {
            return Err(malformed(format!("line {no}: text after the END line (line {end_no})")));
        }
        let body = base64.finish()?;
        if body.is_empty() {
            return Err(malformed(format!("the {label} block has no body")));
        }
        if let Some(dek) = &dek {
            let bs = dek.cipher.block_size();
            if !body.len().is_multiple_of(bs) {
                return Err(malformed(format!(
                    "the encrypted body of {} bytes is not a whole number of {bs}-byte blocks (truncated?)",
                    body.len()
                )));
            }
        }
        Ok(TraditionalPem { label: label.to_string(), dek, body })
    }

    /// The label of the BEGIN and END lines (`RSA PRIVATE KEY`, `EC PRIVATE KEY`, ...).
    pub fn label(&self) -> &str {
        &self.label
    }

    /// The cipher of the `DEK-Info` header, or `None` for a block without headers (not encrypted).
    pub fn cipher(&self) -> Option<CipherAlgorithm> {
        self.dek.as_ref().map(|d| d.cipher)
    }

    /// The DER inside: the body itself when the block is not encrypted (`passphrase` is then ignored), else
    /// the body decrypted with the key OpenSSL derives from `passphrase`. Errors: no passphrase for an
    /// encrypted block ([`CoreError::Malformed`], as for encrypted PKCS #8); a wrong passphrase or a damaged
    /// body ([`CoreError::DecryptionFailed`], whether the padding or the DER framing of the result is wrong).
    pub fn decrypt(&self, passphrase: Option<&[u8]>) -> Result<Zeroizing<Vec<u8>>, CoreError> {
        let Some(dek) = &self.dek else {
            return Ok(self.body.clone());
        };
        let passphrase = passphrase.ok_or_else(|| malformed("the key is encrypted and no passphrase was given"))?;
        let der = cbc(Direction::Decrypt, dek, passphrase, &self.body)?;
        // A wrong passphrase gets through the padding check when the last byte comes out as 01 (or 02 02...);
        // what it yields is noise, and must fail exactly as bad padding does.
        if !is_one_der_sequence(&der) {
            return Err(CoreError::DecryptionFailed);
        }
        Ok(der)
    }
}

/// Checks the headers (RFC 1421 section 4.6.1: `Proc-Type` first, then `DEK-Info`) and returns the cipher
/// and IV, or `None` when there are no headers.
fn dek_info(headers: &[(usize, &str, String)]) -> Result<Option<DekInfo>, CoreError> {
    let Some((first_no, first_name, _)) = headers.first() else {
        return Ok(None);
    };
    if !first_name.eq_ignore_ascii_case("Proc-Type") {
        return Err(malformed(format!(
            "line {first_no}: the first header must be Proc-Type, found {}",
            shown(first_name)
        )));
    }
    let mut dek = None;
    for (i, (no, name, value)) in headers.iter().enumerate() {
        if name.eq_ignore_ascii_case("Proc-Type") {
            if i != 0 {
                return Err(malformed(format!("line {no}: a second Proc-Type header")));
            }
            let (version, kind) = value.split_once(',').map(|(v, k)| (v.trim(), k.trim())).unwrap_or((value, ""));
            if version != "4" {
                return Err(malformed(format!("line {no}: Proc-Type version {} (only 4 exists)", shown(version))));
            }
            if kind != "ENCRYPTED" {
                return Err(malformed(format!(
                    "line {no}: Proc-Type 4,{} is not an encrypted key (only 4,ENCRYPTED is read here)",
                    shown(kind)
                )));
            }
        } else if name.eq_ignore_ascii_case("DEK-Info") {
            if dek.is_some() {
                return Err(malformed(format!("line {no}: a second DEK-Info header")));
            }
            dek = Some(parse_dek_info(*no, value)?);
        } else {
            return Err(malformed(format!(
                "line {no}: unexpected header {} (a key has only Proc-Type and DEK-Info)",
                shown(name)
            )));
        }
    }
    dek.map(Some).ok_or_else(|| malformed(format!("line {first_no}: Proc-Type: 4,ENCRYPTED without a DEK-Info header")))
}

/// `DEK-Info: CIPHER,IV`.
fn parse_dek_info(no: usize, value: &str) -> Result<DekInfo, CoreError> {
    let Some((name, iv_hex)) = value.split_once(',').map(|(n, iv)| (n.trim(), iv.trim())) else {
        return Err(malformed(format!("line {no}: DEK-Info {} has no IV (expected CIPHER,IV-IN-HEX)", shown(value))));
    };
    let Some(&(canonical, cipher)) = DEK_CIPHERS.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)) else {
        let known: Vec<&str> = DEK_CIPHERS.iter().map(|(n, _)| *n).collect();
        return Err(malformed(format!(
            "line {no}: unknown DEK-Info cipher {} (known: {})",
            shown(name),
            known.join(", ")
        )));
    };
    let want = 2 * cipher.block_size();
    if iv_hex.len() != want {
        return Err(malformed(format!(
            "line {no}: the {canonical} IV must be {want} hex digits, found {} characters",
            iv_hex.chars().count()
        )));
    }
    let iv = hex_decode(iv_hex)
        .ok_or_else(|| malformed(format!("line {no}: the {canonical} IV {} is not hex", shown(iv_hex))))?;
    Ok(DekInfo { cipher, iv })
}

fn hex_decode(text: &str) -> Option<Vec<u8>> {
    let digit = |c: u8| (c as char).to_digit(16);
    let (pairs, rest) = text.as_bytes().as_chunks::<2>();
    if !rest.is_empty() {
        return None;
    }
    pairs.iter().map(|&[hi, lo]| Some((digit(hi)? * 16 + digit(lo)?) as u8)).collect()
}

fn hex_upper(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect()
}

/// OpenSSL's `EVP_BytesToKey` with MD5 and one iteration: `D_1 = MD5(passphrase || salt)`,
/// `D_i = MD5(D_(i-1) || passphrase || salt)`, the key being the first `key_len` bytes of `D_1 || D_2 ...`.
fn bytes_to_key(passphrase: &[u8], salt: &[u8], key_len: usize) -> Zeroizing<Vec<u8>> {
    // Room for the last whole digest, so the buffer never reallocates (and leaves no unzeroized copy).
    let mut key = Zeroizing::new(Vec::with_capacity(key_len + 16));
    let mut previous = Zeroizing::new([0u8; 16]);
    while key.len() < key_len {
        let mut md5 = Md5::new();
        if !key.is_empty() {
            md5.update(&previous[..]);
        }
        md5.update(passphrase);
        md5.update(salt);
        *previous = md5.finalize();
        key.extend_from_slice(&previous[..]);
    }
    key.truncate(key_len);
    key
}

/// CBC with PKCS #7 padding under the key derived from `passphrase` and the first 8 bytes of the IV.
fn cbc(direction: Direction, dek: &DekInfo, passphrase: &[u8], input: &[u8]) -> Result<Zeroizing<Vec<u8>>, CoreError> {
    let salt = dek.iv.get(..8).ok_or(CoreError::Bug("traditional PEM IV shorter than 8 bytes"))?;
    let key = bytes_to_key(passphrase, salt, dek.cipher.key_size());
    let mut c = crypter(dek.cipher, Mode::Cbc, direction, &key, &dek.iv, Padding::Pkcs7)?;
    // Output is at most one block longer than the input: with this capacity it never reallocates.
    let mut out = Zeroizing::new(Vec::with_capacity(input.len() + dek.cipher.block_size()));
    c.update(input, &mut out)?;
    c.finish(&mut out)?;
    Ok(out)
}

/// True when `der` is exactly one DER SEQUENCE (tag, a definite length, and that many bytes): every
/// private-key structure OpenSSL writes this way is one.
fn is_one_der_sequence(der: &[u8]) -> bool {
    let Some((&0x30, rest)) = der.split_first() else {
        return false;
    };
    let Some((&first, rest)) = rest.split_first() else {
        return false;
    };
    let (len, rest) = match first {
        0..=0x7f => (usize::from(first), rest),
        0x81..=0x84 => {
            let n = usize::from(first & 0x7f);
            let Some((len_bytes, rest)) = rest.split_at_checked(n) else {
                return false;
            };
            (len_bytes.iter().fold(0usize, |acc, &b| (acc << 8) | usize::from(b)), rest)
        }
        _ => return false,
    };
    rest.len() == len
}

/// A base64 decoder over the body's lines: spaces and tabs are ignored, `=` padding (at most two) may only
/// end the text, and the text must be whole groups of four. Bits beyond the last byte are ignored, as
/// OpenSSL does.
struct Base64 {
    out: Zeroizing<Vec<u8>>,
    acc: u32,
    bits: u32,
    symbols: usize,
    pad: usize,
}

impl Base64 {
    fn new(capacity: usize) -> Base64 {
        Base64 { out: Zeroizing::new(Vec::with_capacity(capacity)), acc: 0, bits: 0, symbols: 0, pad: 0 }
    }

    fn line(&mut self, no: usize, line: &str) -> Result<(), CoreError> {
        for (col, c) in line.bytes().enumerate() {
            let v = match c {
                b'A'..=b'Z' => c - b'A',
                b'a'..=b'z' => c - b'a' + 26,
                b'0'..=b'9' => c - b'0' + 52,
                b'+' => 62,
                b'/' => 63,
                b' ' | b'\t' => continue,
                b'=' => {
                    self.pad += 1;
                    if self.pad > 2 {
                        return Err(malformed(format!("line {no}, column {}: more than two '=' in base64", col + 1)));
                    }
                    continue;
                }
                other => {
                    return Err(malformed(format!("line {no}, column {}: byte 0x{other:02x} is not base64", col + 1)));
                }
            };
            if self.pad > 0 {
                return Err(malformed(format!("line {no}, column {}: base64 after the '=' padding", col + 1)));
            }
            self.symbols += 1;
            self.acc = (self.acc << 6) | u32::from(v);
            self.bits += 6;
            if self.bits >= 8 {
                self.bits -= 8;
                self.out.push((self.acc >> self.bits) as u8);
                self.acc &= (1 << self.bits) - 1;
            }
        }
        Ok(())
    }

    fn finish(mut self) -> Result<Zeroizing<Vec<u8>>, CoreError> {
        self.acc = 0;
        if !(self.symbols + self.pad).is_multiple_of(4) {
            return Err(malformed(format!(
                "the base64 body ends inside a group ({} characters, not a multiple of 4; truncated?)",
                self.symbols + self.pad
            )));
        }
        Ok(std::mem::take(&mut self.out))
    }
}

fn base64_lines(data: &[u8], out: &mut String) {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let symbol = |v: u32| char::from(ALPHABET.get((v & 63) as usize).copied().unwrap_or(b'A'));
    // 48 bytes make one line of 64 characters, as OpenSSL writes them.
    for line in data.chunks(48) {
        for group in line.chunks(3) {
            let b = |i: usize| u32::from(group.get(i).copied().unwrap_or(0));
            let v = (b(0) << 16) | (b(1) << 8) | b(2);
            out.push(symbol(v >> 18));
            out.push(symbol(v >> 12));
            out.push(if group.len() > 1 { symbol(v >> 6) } else { '=' });
            out.push(if group.len() > 2 { symbol(v) } else { '=' });
        }
        out.push('\n');
    }
}

/// Writes `der` as a traditional encrypted PEM block: a random IV, `EVP_BytesToKey` with MD5, CBC.
fn write_encrypted(
    label: &str,
    der: &[u8],
    cipher: CipherAlgorithm,
    passphrase: &[u8],
    rng: &mut dyn Rng,
) -> Result<Zeroizing<String>, CoreError> {
    let Some(name) = dek_name(cipher) else {
        return Err(CoreError::Unsupported(format!(
            "{} for a traditional PEM key (DES-EDE3-CBC, DES-CBC, AES-128-CBC, AES-192-CBC, AES-256-CBC)",
            cipher.name()
        )));
    };
    if passphrase.is_empty() {
        return Err(CoreError::PolicyRefused {
            algorithm: name.to_string(),
            usage: "encrypting a key file",
            reason: "the passphrase is empty, which protects nothing".into(),
        });
    }
    let mut iv = vec![0u8; cipher.block_size()];
    rng.fill(&mut iv)?;
    let dek = DekInfo { cipher, iv };
    let body = cbc(Direction::Encrypt, &dek, passphrase, der)?;
    let mut pem = Zeroizing::new(String::with_capacity(body.len() / 48 * 66 + 200));
    pem.push_str("-----BEGIN ");
    pem.push_str(label);
    pem.push_str("-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: ");
    pem.push_str(name);
    pem.push(',');
    pem.push_str(&hex_upper(&dek.iv));
    pem.push_str("\n\n");
    base64_lines(&body, &mut pem);
    pem.push_str("-----END ");
    pem.push_str(label);
    pem.push_str("-----\n");
    Ok(pem)
}

impl RsaPrivateKey {
    /// Reads OpenSSL's traditional `RSA PRIVATE KEY` block with `Proc-Type`/`DEK-Info` headers
    /// ([`RsaPrivateKey::from_pem`] sends such blocks here).
    pub(super) fn from_traditional_pem(pem: &str, passphrase: Option<&[u8]>) -> Result<RsaPrivateKey, CoreError> {
        let block = TraditionalPem::parse(pem)?;
        match block.label() {
            "RSA PRIVATE KEY" => {}
            label @ ("PRIVATE KEY" | "ENCRYPTED PRIVATE KEY") => {
                return Err(super::malformed(format!(
                    "a {label} block (PKCS #8) has no Proc-Type/DEK-Info headers; only OpenSSL's traditional \
                     RSA PRIVATE KEY form carries them"
                )));
            }
            other => return Err(super::malformed(format!("PEM label {other:?} is not an RSA private key"))),
        }
        if block.cipher().is_some() && passphrase.is_none() {
            // Word for word what an encrypted PKCS #8 key without a passphrase gives.
            return Err(CoreError::malformed("RSA key", "the key is encrypted and no passphrase was given"));
        }
        let der = block.decrypt(passphrase)?;
        RsaPrivateKey::from_der(&der)
    }

    /// The key in OpenSSL's traditional encrypted PEM form (`-----BEGIN RSA PRIVATE KEY-----` with
    /// `Proc-Type: 4,ENCRYPTED` and `DEK-Info`), PKCS #1 inside, for tools that read nothing newer. The IV
    /// comes from `rng`; the key from `EVP_BytesToKey` with MD5, a single iteration, which makes a weak
    /// passphrase cheap to guess: prefer encrypted PKCS #8 where the reader takes it.
    ///
    /// `cipher` is one of [`CipherAlgorithm::Aes256`] (what callers should default to), `Aes192`, `Aes128`,
    /// `TripleDes` or `Des`; the last two only when the caller names them (DES is broken). Others are
    /// [`CoreError::Unsupported`]; an empty passphrase is [`CoreError::PolicyRefused`].
    pub fn to_traditional_pem(
        &self,
        cipher: CipherAlgorithm,
        passphrase: &[u8],
        rng: &mut dyn Rng,
    ) -> Result<Zeroizing<String>, CoreError> {
        let der = self.to_pkcs1_der()?;
        write_encrypted("RSA PRIVATE KEY", &der, cipher, passphrase, rng)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::rand::SeededRng;

    const PASS: &[u8] = b"sealpost-test";

    /// A 512-bit key (small, so the exhaustive tests below stay quick), made with
    /// `openssl genrsa -traditional -out k512.pem 512`.
    const PLAIN: &str = "-----BEGIN RSA PRIVATE KEY-----
MIIBOgIBAAJBAKg0KVkrovncaRb5OB1X4yksueXFL4m2tENYNI2NvjUh2pNcLfmn
y+koyrw/Qpx5s/a8TRc96utQ17jZh64kbysCAwEAAQJBAICMTMVvSgC26EG8eZxD
XMJNAk2N44TV8vI86Pz9xM4JMjkELUYBbCo4E7o8oQOfsGM6J81HZQYa1AyosLO4
aXECIQDQ9nSHEWQ+QRnHtK57whiIfl4jrYnq4hZKegPUyDZchwIhAM4Q9Txwm1+O
IiNkYh2B1vE1PAN9mZ1SGucAOpjrwEU9AiB49TCevsJ4BtcVctFNch0hZYS4wkuD
WzvsAJUXJo3RIQIgMyHWGGdAxpc4NVwFVJkRQs0Y1SznXzguYL+XyrZFAWkCIAUH
1QIyou6WCPxem1KIHVEPUWXvkQ8/c6eLgirAShwj
-----END RSA PRIVATE KEY-----
";

    /// `openssl rsa -in k512.pem -noout -modulus`
    const MODULUS: &str = "A83429592BA2F9DC6916F9381D57E3292CB9E5C52F89B6B44358348D8DBE3521\
                           DA935C2DF9A7CBE928CABC3F429C79B3F6BC4D173DEAEB50D7B8D987AE246F2B";

    /// The same key as OpenSSL 3.0 writes it with each cipher:
    /// `openssl rsa -in k512.pem -traditional -<des3|des|aes128|aes192|aes256> -passout pass:sealpost-test
    /// -provider legacy -provider default`.
    const OPENSSL: [(CipherAlgorithm, &str); 5] = [
        (
            CipherAlgorithm::TripleDes,
            "-----BEGIN RSA PRIVATE KEY-----
Proc-Type: 4,ENCRYPTED
DEK-Info: DES-EDE3-CBC,4E372379EBA6C8BC

8rWi6BfzfzkTBXkES/nSYSsONi1HW2Q+7lEUbj8dwA96bquStzQdCk69h0IGy02r
OkIwBQ6VUsc58KEf/q6wJ023BM6RoVUFu/GgsfhYK/qc9xqc/Cj3XHF9GFMYoYav
INR54Vllf9HlA1eeRDwxM21wJn8UEPOFSP0CXtLUDjJSPySQW2kjgpBteOv6SdiI
0iEDaTHFLJt7mHuT7n2w0p4nbihyPxSAO8RrGg67Mg/XLLLKDrf5Yqp/GjTLTxsA
vZPTl1Je7cMuHTJ/InY43Idmu5Uf3wCfv/KTwTCQriZFnrzNusnLPVV+03EsRbj2
XuYoFV/8aEV5WPULz9eWQ7HzgnGwl8+K/jgSoDyabSC9+wp8KTulrvp4gJlCttD5
Ls5t4aDr99DoMlwR30UEO6L+MC4OEbUhAZBRN/ejmHs=
-----END RSA PRIVATE KEY-----
",
        ),
        (
            CipherAlgorithm::Des,
            "-----BEGIN RSA PRIVATE KEY-----
Proc-Type: 4,ENCRYPTED
DEK-Info: DES-CBC,0C9DD289E3ED5ADB

sDfeNINZu0moDp9mfijF8NrolsABXGfN+9K6hOOTxK7zaodajqL3ZdlaoVrleyPN
YYyZ9MAd3uSBXU1d3m8PsBeajqxuy0YY7FIfd++i4G8Z9DL9ur0UaQws4Iidckn/
kJdVz+RLP67on4xvuFk67mZZkP/nXaqj/DjMo2AYbDNG7vVm6U1IPivweESTs1ZU
RF5tBb6JyAFZZS3PCFg5X9afbZkYkNeLw1IQs1EL19eccEvvt+sbLMpVSU9AL3jV
gqNREGNQLAhmjY6PGmJb9N/vf2eGE01tyfND1KMEPS+tb18H4MDVHG6xuBa0zc7B
d2XcRsIyoMBE4lBlIbMjVGj3DPbNwztz/0/dv83OwhnCruJMKNxMT7T6wbRoxMtN
aPVozytbhQplYwriBKH7hmTrCEC7mxrz3+fO2fUEfDM=
-----END RSA PRIVATE KEY-----
",
        ),
        (
            CipherAlgorithm::Aes128,
            "-----BEGIN RSA PRIVATE KEY-----
Proc-Type: 4,ENCRYPTED
DEK-Info: AES-128-CBC,95FC6B637C27CBF0B66066B52952C578

o960PrxjZbKKFzqWhYVqWqztXQ8wgn6+AuKwt7wKD9/QeIQy8jOznLJ/0Ta/AeKi
b5UAoHTt9DvfngMR/rRC7qG/BA5oiOxYjkYGUSoQBSgcqgKBeTe+CqTR7I1jCynX
O5mpm29ejrY9WsZiU9/jknfaLYOfDsTI6iBdIhe+RqxzIoo8c/Wt+PLLX1TMWWgA
lV4H29eXrxPkzqN9j3bdvLKRy6fxOINjXP2xee6/wJb1+ZwvZ3+jPaj02GH85F6P
iZ/xNvocI0DbmNOKziophoEWybFSNoEmao+D61WVuGAijaOJDgXnz4a/TBlBzH1M
b8OcrMsRftCU9B3F03B+08QE3rQCHsmclm56E3uw3QtPG7QFE79pLoZbPLMZOkas
dyTg9GA6NetJtRTU2iTS3g7Gs/VF57lwBifqXDrZrCc=
-----END RSA PRIVATE KEY-----
",
        ),
        (
            CipherAlgorithm::Aes192,
            "-----BEGIN RSA PRIVATE KEY-----
Proc-Type: 4,ENCRYPTED
DEK-Info: AES-192-CBC,B4CD1C3ACEDE43E37386D8146DC511F1

9BV8iBM19jk3qaUBFsbQN8Rl4tbxDD/G/CGpp59cJAu4AQQKMCizVF/AA6cd1YxR
v9bWM96CIkZKDppPEpUVnzRUWtOLrc/iemE59PQ5/54bBYiGtmbXu3I/HyXJOcfV
7IPb/tHRhmq6kJZWWYpYRLqQ/5z93SGAQIW8j+t/JxVEX0MKdS37mqf55MXXzBZO
K5x8RuEs9aL9e0mOr7zfYNE9j/7AvOadf8w0bLiR2DtPh5sjxkodTdiUoaMjExrA
HJiiURioP16n/cbjXUgWse8/G8M7SgXIOXdGK3VaEyUdNmUU+ZqU9FDpYACeAFte
ml47Uw4zZhvYOz7z+rgTLVvSR1lj/CcDKZt8ncCpWMN8GrmKORc1RxMToKvvkj8O
+AdtXHsznwg6TKSBVutmKxnHVJGIU9sAVHFsLpjDcEw=
-----END RSA PRIVATE KEY-----
",
        ),
        (
            CipherAlgorithm::Aes256,
            "-----BEGIN RSA PRIVATE KEY-----
Proc-Type: 4,ENCRYPTED
DEK-Info: AES-256-CBC,AB3FC556444A04D8F2F7A1FB95A7E7FE

Ce/XselESzQ8aa4KVTNW0JQySCZ67AzbkFBFYcoYxhY67D9SzEnHOnw2U9aXv2g0
whRMG3AxCYVuYSkeypClEmSunZNnsWPAVrOjENm4qqZTre5kW0qXzVsvAj6LUPE+
v3ejWDBuXFmFOaCNAtVb5onxiipHsRXF5gN43RN7Wle/6r8LTs8a9TpplRIKLFVB
EPmzFiA9FBH1YYs/U2QUEetERXzhB1Vu30YSkynFoJZVoSZfCEvguStUL/fCAMkO
9YsrabYVva3XS8Ix+oVJ3s80fzbhh6MUPEd78bG4CXord1LbG+9vNiBnrkO8j8tx
Vulk3MMeN/mUgc/8Np7P3jWw+aTeU+vIrOflzqnWhf83KcAA37fxXriHQMUonaB3
bd1/Sj5OdOaiUGZFs6JIgB0LKiuYwWcsmqiwFsV+uoE=
-----END RSA PRIVATE KEY-----
",
        ),
    ];

    /// The same key as encrypted PKCS #8, for comparing errors:
    /// `openssl pkcs8 -topk8 -v2 aes-256-cbc -in k512.pem -passout pass:sealpost-test`.
    const PKCS8: &str = "-----BEGIN ENCRYPTED PRIVATE KEY-----
MIIBvTBXBgkqhkiG9w0BBQ0wSjApBgkqhkiG9w0BBQwwHAQIwYJjJTrSgcwCAggA
MAwGCCqGSIb3DQIJBQAwHQYJYIZIAWUDBAEqBBDS8tkZjCgI7YmuapZugLCaBIIB
YOMZ9J6bUsRu4qHG3tMfLc36f7LQ3Y5jf0BRvpSY3/8Fs8YiNb2LVo7df2bJWsNc
haiWKZK0hQk86xmJ+mwwtjEww/1gyo0gj+tmGb1CvVasrW4qEANYRnyoIp2MrAwx
gn5I0asrBiEhjZ/tK55/DGj/pGLcsHIw1FiQeTDZaC7eC0W2UoSkk+2bz3OR1T9H
z8l9Oqv5d5c3IigrOHFHUtktXYvVJaYb+QRGYHjSr/YLBArMTCa7pueBuVf94ift
1vng2AvanaH6MFxluTCKCFhlkkUhOYjTfwRvm1rI5RmPCB9De8U1YFh+jF9C0FEt
XZl1tMov5mkEZLwSNHaDlAl5tDOwF6cTlmRhVt9EnDDkn0xg1q0FMap8AO/0HoM6
2DOezF1WWny7HnUAluJdygaNbQdOVG7nCLrLX0CkS6OHyvQaiqV5UW/8WZt94X7o
4MVYoFrAsqwf8OcoNb6ScXA=
-----END ENCRYPTED PRIVATE KEY-----
";

    fn hex(s: &str) -> Vec<u8> {
        hex_decode(&s.replace(char::is_whitespace, "")).unwrap()
    }

    fn plain_der() -> Zeroizing<Vec<u8>> {
        RsaPrivateKey::from_pem(PLAIN, None).unwrap().to_pkcs1_der().unwrap()
    }

    fn openssl(cipher: CipherAlgorithm) -> &'static str {
        OPENSSL.iter().find(|(c, _)| *c == cipher).unwrap().1
    }

    /// The error of reading `pem`, as text, checked to be one line.
    fn error(pem: &str, passphrase: Option<&[u8]>) -> String {
        let err = RsaPrivateKey::from_pem(pem, passphrase).unwrap_err().to_string();
        assert!(!err.contains('\n'), "error is more than one line: {err:?}");
        err
    }

    #[test]
    fn bytes_to_key_matches_openssl_enc() {
        // Each expected key is the `key=` line of `openssl enc -P -md md5 -<cipher> -S <salt> -pass pass:<pass>`
        // (OpenSSL 3.0.19; add `-provider legacy -provider default` for des-cbc): the same EVP_BytesToKey
        // (MD5, one iteration) that PEM_do_header uses, the salt there being the first 8 bytes of the IV.
        let long = "correct horse battery staple ".repeat(3);
        let cases: [(&[u8], &str, usize, &str); 8] = [
            // openssl enc -P -md md5 -des-ede3-cbc -S 0102030405060708 -pass pass:password
            (b"password", "0102030405060708", 24, "E7B0971E52CA5CC8D0539FB3412F6316F7BA2E6EE293D9F3"),
            // openssl enc -P -md md5 -des-cbc -S 0102030405060708 -pass pass:password
            (b"password", "0102030405060708", 8, "E7B0971E52CA5CC8"),
            // openssl enc -P -md md5 -aes-128-cbc -S 0102030405060708 -pass pass:password
            (b"password", "0102030405060708", 16, "E7B0971E52CA5CC8D0539FB3412F6316"),
            // openssl enc -P -md md5 -aes-256-cbc -S 0102030405060708 -pass pass:password
            (b"password", "0102030405060708", 32, "E7B0971E52CA5CC8D0539FB3412F6316F7BA2E6EE293D9F3457B99436B51CE02"),
            // openssl enc -P -md md5 -des-ede3-cbc -S 7E383189A0521324 -pass pass:secret
            (b"secret", "7E383189A0521324", 24, "740032EDB879A9AE339627165BDFD678736AF56184AD176A"),
            // openssl enc -P -md md5 -aes-256-cbc -S a0a1a2a3a4a5a6a7 -pass pass:   (empty passphrase)
            (b"", "A0A1A2A3A4A5A6A7", 32, "EA4D33E414E7E25C5B01E178F955C5C652A2607A2E618F5534CDFC255F212586"),
            // openssl enc -P -md md5 -aes-256-cbc -S fedcba9876543210 \
            //     -pass "pass:correct horse battery staple correct horse battery staple correct horse battery staple "
            // (87 bytes: the MD5 input spans two blocks)
            (
                long.as_bytes(),
                "FEDCBA9876543210",
                32,
                "18E5CD9695B20046FB33E27741CB159CBB747D30F304280C37CFDF58F26DCE5F",
            ),
            // openssl enc -P -md md5 -aes-192-cbc -S 0102030405060708 -pass pass:password
            (b"password", "0102030405060708", 24, "E7B0971E52CA5CC8D0539FB3412F6316F7BA2E6EE293D9F3"),
        ];
        for (pass, salt, len, want) in cases {
            let got = bytes_to_key(pass, &hex(salt), len);
            assert_eq!(hex_upper(&got), want, "pass {:?} salt {salt} length {len}", String::from_utf8_lossy(pass));
        }
    }

    #[test]
    fn reads_what_openssl_wrote_with_every_cipher() {
        let want = plain_der();
        for (cipher, pem) in OPENSSL {
            assert!(has_headers(pem));
            let block = TraditionalPem::parse(pem).unwrap();
            assert_eq!(block.label(), "RSA PRIVATE KEY");
            assert_eq!(block.cipher(), Some(cipher));
            assert_eq!(*block.decrypt(Some(PASS)).unwrap(), *want, "{cipher:?}");
            let key = RsaPrivateKey::from_pem(pem, Some(PASS)).unwrap();
            assert_eq!(hex_upper(key.public().n()), MODULUS, "{cipher:?}");
            assert_eq!(*key.to_pkcs1_der().unwrap(), *want);
        }
        // Without headers the block is read by the RFC 7468 path, as before.
        assert!(!has_headers(PLAIN));
        assert_eq!(hex_upper(RsaPrivateKey::from_pem(PLAIN, None).unwrap().public().n()), MODULUS);
        // The parser also reads a block without headers (its body is then the DER as it stands).
        let plain = TraditionalPem::parse(PLAIN).unwrap();
        assert_eq!(plain.cipher(), None);
        assert_eq!(*plain.decrypt(None).unwrap(), *want);
    }

    #[test]
    fn writes_every_cipher_and_reads_it_back() {
        let key = RsaPrivateKey::from_pem(PLAIN, None).unwrap();
        let want = plain_der();
        for (name, cipher) in DEK_CIPHERS {
            let pem = key.to_traditional_pem(cipher, PASS, &mut SeededRng::new(name.as_bytes())).unwrap();
            let mut lines = pem.lines();
            assert_eq!(lines.next(), Some("-----BEGIN RSA PRIVATE KEY-----"));
            assert_eq!(lines.next(), Some("Proc-Type: 4,ENCRYPTED"));
            let dek = lines.next().unwrap();
            let iv = dek.strip_prefix(&format!("DEK-Info: {name},")).unwrap();
            assert_eq!(iv.len(), 2 * cipher.block_size());
            assert!(iv.bytes().all(|b| b.is_ascii_digit() || (b'A'..=b'F').contains(&b)), "{iv}");
            assert_eq!(lines.next(), Some(""));
            assert!(lines.clone().all(|l| l.len() <= 64));
            assert_eq!(pem.lines().last(), Some("-----END RSA PRIVATE KEY-----"));
            assert!(pem.ends_with('\n'));

            let back = RsaPrivateKey::from_pem(&pem, Some(PASS)).unwrap();
            assert_eq!(*back.to_pkcs1_der().unwrap(), *want, "{name}");
            assert_eq!(TraditionalPem::parse(&pem).unwrap().cipher(), Some(cipher));
            assert!(matches!(RsaPrivateKey::from_pem(&pem, Some(b"sealpost-tesT")), Err(CoreError::DecryptionFailed)));
            // The body is really encrypted: the DER does not show through.
            let body = TraditionalPem::parse(&pem).unwrap().body.clone();
            assert_ne!(body.get(..16), want.get(..16));

            // The IV comes from the RNG: the same seed gives the same file, another seed another IV.
            let again = key.to_traditional_pem(cipher, PASS, &mut SeededRng::new(name.as_bytes())).unwrap();
            assert_eq!(*again, *pem);
            let other = key.to_traditional_pem(cipher, PASS, &mut SeededRng::new(b"other")).unwrap();
            assert_ne!(other.lines().nth(2), pem.lines().nth(2));
        }
    }

    #[test]
    fn writer_refuses_other_ciphers_and_empty_passphrases() {
        let key = RsaPrivateKey::from_pem(PLAIN, None).unwrap();
        let mut rng = SeededRng::new(b"w");
        for cipher in [CipherAlgorithm::Cast5, CipherAlgorithm::Idea, CipherAlgorithm::Blowfish] {
            assert!(matches!(key.to_traditional_pem(cipher, PASS, &mut rng), Err(CoreError::Unsupported(_))));
        }
        assert!(matches!(
            key.to_traditional_pem(CipherAlgorithm::Aes256, b"", &mut rng),
            Err(CoreError::PolicyRefused { .. })
        ));
    }

    #[test]
    fn missing_and_wrong_passphrases_fail_as_pkcs8_does() {
        let pkcs8_missing = error(PKCS8, None);
        let pkcs8_wrong = RsaPrivateKey::from_pem(PKCS8, Some(b"wrong")).unwrap_err();
        assert!(matches!(pkcs8_wrong, CoreError::DecryptionFailed), "{pkcs8_wrong}");
        for (cipher, pem) in OPENSSL {
            assert_eq!(error(pem, None), pkcs8_missing, "{cipher:?}");
            assert!(error(pem, None).contains("no passphrase was given"));
            let wrong = RsaPrivateKey::from_pem(pem, Some(b"wrong")).unwrap_err();
            assert!(matches!(wrong, CoreError::DecryptionFailed), "{cipher:?}: {wrong}");
            assert_eq!(wrong.to_string(), pkcs8_wrong.to_string());
            assert!(matches!(RsaPrivateKey::from_pem(pem, Some(b"")), Err(CoreError::DecryptionFailed)));
        }
    }

    /// About one wrong passphrase in 256 passes the padding check; those must fail exactly like the rest.
    #[test]
    fn wrong_passphrases_that_pass_the_padding_check_fail_the_same_way() {
        let block = TraditionalPem::parse(openssl(CipherAlgorithm::Aes128)).unwrap();
        let dek = block.dek.clone().unwrap();
        let mut padding_passed = 0;
        for i in 0..3000u32 {
            let pass = format!("wrong-{i}");
            if cbc(Direction::Decrypt, &dek, pass.as_bytes(), &block.body).is_ok() {
                padding_passed += 1;
            }
            let err = RsaPrivateKey::from_pem(openssl(CipherAlgorithm::Aes128), Some(pass.as_bytes())).unwrap_err();
            assert!(matches!(err, CoreError::DecryptionFailed), "{pass}: {err}");
        }
        assert!(padding_passed > 0, "no wrong passphrase got through the padding check; the test proves nothing");
    }

    #[test]
    fn lenient_where_openssl_is() {
        let want = plain_der();
        let base = openssl(CipherAlgorithm::TripleDes);
        let variants = [
            ("CRLF line ends", base.replace('\n', "\r\n")),
            ("blank lines around", format!("\n\n{base}\n\n")),
            ("lower-case names and IV", base.replace("DES-EDE3-CBC,4E372379EBA6C8BC", "des-ede3-cbc,4e372379eba6c8bc")),
            ("header names in other case", base.replace("Proc-Type:", "PROC-TYPE:").replace("DEK-Info:", "dek-info:")),
            ("continuation line", base.replace("DES-EDE3-CBC,", "DES-EDE3-CBC,\n    ")),
            ("spaces around the comma", base.replace("4,ENCRYPTED", "4 , ENCRYPTED")),
            ("trailing spaces", base.replace('\n', "  \n")),
            ("base64 in 76-character lines", {
                let (head, body) = base.split_once("\n\n").unwrap();
                let body = body.strip_suffix("-----END RSA PRIVATE KEY-----\n").unwrap().replace('\n', "");
                let lines: Vec<String> =
                    body.as_bytes().chunks(76).map(|c| String::from_utf8_lossy(c).into()).collect();
                format!("{head}\n\n{}\n-----END RSA PRIVATE KEY-----\n", lines.join("\n"))
            }),
        ];
        for (what, pem) in variants {
            assert!(has_headers(&pem), "{what}");
            let key = RsaPrivateKey::from_pem(&pem, Some(PASS)).map_err(|e| format!("{what}: {e}")).unwrap();
            assert_eq!(*key.to_pkcs1_der().unwrap(), *want, "{what}");
        }
    }

    #[test]
    fn malformed_blocks_are_named_in_one_line() {
        let des3 = openssl(CipherAlgorithm::TripleDes);
        let aes = openssl(CipherAlgorithm::Aes256);
        let dek = "DEK-Info: DES-EDE3-CBC,4E372379EBA6C8BC";
        let no_end = des3.replace("-----END RSA PRIVATE KEY-----\n", "");
        let short_body = des3.replace("N/ejmHs=", "");
        let mid_group = des3.replace("N/ejmHs=", "N/ejmH");
        let cases: Vec<(&str, String, &str)> = vec![
            ("unknown cipher", des3.replace("DES-EDE3-CBC", "RC2-CBC"), "unknown DEK-Info cipher \"RC2-CBC\""),
            ("CBC missing", des3.replace("DES-EDE3-CBC", "DES-EDE3"), "unknown DEK-Info cipher"),
            ("IV too short", des3.replace("4E372379EBA6C8BC", "4E372379EBA6C8"), "must be 16 hex digits"),
            (
                "IV of AES length for DES",
                des3.replace("4E372379EBA6C8BC", "4E372379EBA6C8BC4E372379EBA6C8BC"),
                "must be 16 hex digits",
            ),
            (
                "IV of DES length for AES",
                aes.replace("AB3FC556444A04D8F2F7A1FB95A7E7FE", "AB3FC556444A04D8"),
                "must be 32 hex digits",
            ),
            ("IV not hex", des3.replace("4E372379EBA6C8BC", "4E372379EBA6C8BG"), "is not hex"),
            ("IV with a sign", des3.replace("4E372379EBA6C8BC", "+E372379EBA6C8BC"), "is not hex"),
            ("no IV", des3.replace(",4E372379EBA6C8BC", ""), "has no IV"),
            (
                "Proc-Type second",
                des3.replace(&format!("Proc-Type: 4,ENCRYPTED\n{dek}"), &format!("{dek}\nProc-Type: 4,ENCRYPTED")),
                "first header must be Proc-Type",
            ),
            ("MIC-ONLY", des3.replace("4,ENCRYPTED", "4,MIC-ONLY"), "not an encrypted key"),
            ("Proc-Type version", des3.replace("4,ENCRYPTED", "3,ENCRYPTED"), "Proc-Type version \"3\""),
            ("no DEK-Info", des3.replace(&format!("{dek}\n"), ""), "without a DEK-Info header"),
            ("two DEK-Info", des3.replace(dek, &format!("{dek}\n{dek}")), "a second DEK-Info"),
            ("two Proc-Type", des3.replace(dek, &format!("Proc-Type: 4,ENCRYPTED\n{dek}")), "a second Proc-Type"),
            ("unknown header", des3.replace(dek, &format!("{dek}\nComment: hello")), "unexpected header \"Comment\""),
            (
                "no blank line",
                des3.replace(&format!("{dek}\n\n"), &format!("{dek}\n")),
                "blank line that ends the headers",
            ),
            (
                "headers then END",
                "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\n-----END RSA PRIVATE KEY-----\n".into(),
                "not followed by a blank line",
            ),
            ("continuation first", des3.replace("Proc-Type", " Proc-Type"), "continuation line with no header"),
            ("bad base64", des3.replace("8rWi6Bfz", "8rWi!Bfz"), "line 5, column 5: byte 0x21 is not base64"),
            ("base64 after padding", des3.replace("N/ejmHs=", "N/ejmH=s"), "base64 after the '=' padding"),
            ("three pads", des3.replace("N/ejmHs=", "N/ejm==="), "more than two '='"),
            ("body cut in a group", mid_group, "ends inside a group"),
            ("body cut in a block", short_body, "not a whole number of 8-byte blocks"),
            (
                "no body",
                format!(
                    "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\n{dek}\n\n-----END RSA PRIVATE KEY-----\n"
                ),
                "has no body",
            ),
            ("END mismatch", des3.replace("END RSA PRIVATE KEY", "END PRIVATE KEY"), "closed by"),
            ("no END", no_end, "has no END line"),
            (
                "second BEGIN",
                des3.replace("Ls5t4aDr", "-----BEGIN X-----\nLs5t4aDr"),
                "inside the RSA PRIVATE KEY block",
            ),
            ("text after END", format!("{des3}trailing text\n"), "text after the END line"),
            ("text before BEGIN", format!("Bag Attributes\n{des3}"), "line 1: expected -----BEGIN"),
            ("too large", format!("{des3}{}", "\n".repeat(MAX_PEM_LEN)), "over the limit"),
            ("PKCS #8 label", des3.replace("RSA PRIVATE KEY", "PRIVATE KEY"), "(PKCS #8) has no Proc-Type/DEK-Info"),
            (
                "EC label",
                des3.replace("RSA PRIVATE KEY", "EC PRIVATE KEY"),
                "\"EC PRIVATE KEY\" is not an RSA private key",
            ),
            ("empty label", des3.replace("RSA PRIVATE KEY", ""), "bad label"),
            (
                "long header",
                des3.replace("4,ENCRYPTED", &format!("4,ENCRYPTED{}", " x".repeat(300))),
                "longer than 512",
            ),
            ("many headers", des3.replace(dek, &format!("{dek}{}", "\n x".repeat(20))), "more than 16 header lines"),
        ];
        for (what, pem, want) in cases {
            let err = error(&pem, Some(PASS));
            assert!(err.contains(want), "{what}: {err:?} does not contain {want:?}");
            assert!(err.starts_with("malformed "), "{what}: {err}");
        }
    }

    /// Every prefix of every file is an error (until the END line is complete), and so is every
    /// ciphertext cut short; none panics.
    #[test]
    fn every_truncation_is_an_error() {
        for (cipher, pem) in OPENSSL {
            let complete = pem.trim_end().len();
            for cut in 0..pem.len() {
                let prefix = pem.get(..cut).unwrap();
                let result = RsaPrivateKey::from_pem(prefix, Some(PASS));
                assert_eq!(result.is_ok(), cut >= complete, "{cipher:?} cut at {cut}: {:?}", result.err());
            }
            // Whole blocks removed from the end or the start of the ciphertext, re-encoded.
            let block = TraditionalPem::parse(pem).unwrap();
            let bs = cipher.block_size();
            let dek = block.dek.clone().unwrap();
            for cut in (bs..block.body.len()).step_by(bs) {
                for body in [block.body.get(..cut).unwrap(), block.body.get(cut..).unwrap()] {
                    let shorter = TraditionalPem {
                        label: block.label.clone(),
                        dek: Some(dek.clone()),
                        body: Zeroizing::new(body.to_vec()),
                    };
                    assert!(
                        matches!(shorter.decrypt(Some(PASS)), Err(CoreError::DecryptionFailed)),
                        "{cipher:?} {cut}"
                    );
                }
            }
        }
    }

    /// One bit flipped anywhere in the IV or the ciphertext: an error, or (when the bit lies in a CRT value
    /// the RSA library recomputes anyway) the very same key; never a panic, never a different key.
    #[test]
    fn bit_flips_in_iv_and_ciphertext_never_yield_another_key() {
        let want = plain_der();
        for (cipher, pem) in OPENSSL {
            let block = TraditionalPem::parse(pem).unwrap();
            let dek = block.dek.clone().unwrap();
            let (mut errors, mut same) = (0, 0);
            let iv_bits = dek.iv.len() * 8;
            for bit in 0..iv_bits + block.body.len() * 8 {
                let (mut iv, mut body) = (dek.iv.clone(), block.body.clone());
                let target = if bit < iv_bits { &mut iv[bit / 8] } else { &mut body[(bit - iv_bits) / 8] };
                *target ^= 1 << (bit % 8);
                let pem = write_raw(&block.label, &DekInfo { cipher, iv }, &body);
                match RsaPrivateKey::from_pem(&pem, Some(PASS)) {
                    Err(err) => {
                        assert!(!matches!(err, CoreError::Bug(_)), "{cipher:?} bit {bit}: {err}");
                        errors += 1;
                    }
                    Ok(key) => {
                        assert_eq!(*key.to_pkcs1_der().unwrap(), *want, "{cipher:?} bit {bit}: another key");
                        same += 1;
                    }
                }
            }
            // The CRT values are the last three of the nine integers: at most about a third of the bits.
            assert!(errors > 2 * same, "{cipher:?}: {errors} errors, {same} flips gave the same key");
        }
    }

    /// One bit flipped in any byte of the text: never a panic, never a different key.
    #[test]
    fn bit_flips_in_the_text_never_yield_another_key() {
        let want = plain_der();
        for (cipher, pem) in [OPENSSL[0], OPENSSL[4]] {
            let mut errors = 0;
            for i in 0..pem.len() {
                for bit in 0..8 {
                    let mut bytes = pem.as_bytes().to_vec();
                    bytes[i] ^= 1 << bit;
                    let text = String::from_utf8_lossy(&bytes);
                    match RsaPrivateKey::from_pem(&text, Some(PASS)) {
                        Err(err) => {
                            assert!(!matches!(err, CoreError::Bug(_)), "{cipher:?} byte {i} bit {bit}: {err}");
                            assert!(!err.to_string().contains('\n'));
                            errors += 1;
                        }
                        Ok(key) => assert_eq!(*key.to_pkcs1_der().unwrap(), *want, "{cipher:?} byte {i} bit {bit}"),
                    }
                }
            }
            assert!(errors > pem.len() * 8 / 2, "{cipher:?}: only {errors} errors");
        }
    }

    /// A block from its parts, without encrypting: for tampering in tests.
    fn write_raw(label: &str, dek: &DekInfo, body: &[u8]) -> String {
        let mut pem = format!(
            "-----BEGIN {label}-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: {},{}\n\n",
            dek_name(dek.cipher).unwrap(),
            hex_upper(&dek.iv)
        );
        base64_lines(body, &mut pem);
        pem.push_str(&format!("-----END {label}-----\n"));
        pem
    }

    #[test]
    fn base64_writer_and_reader_agree() {
        for len in 0..200 {
            let data: Vec<u8> = (0..len).map(|i| (i * 37 + 11) as u8).collect();
            let mut text = String::new();
            base64_lines(&data, &mut text);
            assert!(text.lines().all(|l| l.len() <= 64 && l.len() % 4 == 0));
            let mut reader = Base64::new(len);
            for (no, line) in text.lines().enumerate() {
                reader.line(no + 1, line).unwrap();
            }
            assert_eq!(*reader.finish().unwrap(), data, "length {len}");
        }
        let mut reader = Base64::new(8);
        reader.line(1, "TWFu TWE=").unwrap();
        assert_eq!(*reader.finish().unwrap(), *b"ManMa");
    }

    #[test]
    fn der_sequence_framing() {
        assert!(is_one_der_sequence(&[0x30, 0x00]));
        assert!(is_one_der_sequence(&[0x30, 0x02, 0x05, 0x00]));
        assert!(is_one_der_sequence(&[0x30, 0x81, 0x01, 0x00]));
        assert!(!is_one_der_sequence(&[]));
        assert!(!is_one_der_sequence(&[0x30]));
        assert!(!is_one_der_sequence(&[0x31, 0x00]));
        assert!(!is_one_der_sequence(&[0x30, 0x01]));
        assert!(!is_one_der_sequence(&[0x30, 0x00, 0x00]));
        assert!(!is_one_der_sequence(&[0x30, 0x80, 0x00, 0x00]));
        assert!(!is_one_der_sequence(&[0x30, 0x82, 0x01]));
        assert!(!is_one_der_sequence(&[0x30, 0x85, 0, 0, 0, 0, 0]));
        assert!(is_one_der_sequence(&plain_der()));
    }

    #[test]
    fn header_detection_and_debug() {
        assert!(has_headers(openssl(CipherAlgorithm::Aes256)));
        assert!(!has_headers(PLAIN));
        assert!(!has_headers(PKCS8));
        assert!(!has_headers(""));
        assert!(!has_headers("-----BEGIN RSA PRIVATE KEY-----"));
        let shown = format!("{:?}", TraditionalPem::parse(PLAIN).unwrap());
        assert_eq!(shown, "TraditionalPem(\"RSA PRIVATE KEY\", unencrypted, 318 bytes)");
        let shown = format!("{:?}", TraditionalPem::parse(openssl(CipherAlgorithm::Des)).unwrap());
        assert_eq!(shown, "TraditionalPem(\"RSA PRIVATE KEY\", DES-CBC, 320 bytes)");
    }
}
