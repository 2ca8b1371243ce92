//! SECURITY-CASES (/work/shared/SECURITY-CASES.md) F2, F3 and F4, where the other test files leave a case open
//! (docs/security.md maps every case to its tests; tests/pgp_bad_input.rs, tests/smime_bad_input.rs and
//! tests/smime_ber.rs hold the rest):
//!
//! - F2: explicit EC parameters (openssl-made certificate and signature) are refused; an RSA modulus of
//!   65 536 bits (X.509) or 65 535 bits (the largest an OpenPGP MPI holds) is refused before any arithmetic;
//!   an indefinite length inside a certificate, where DER is required, is refused;
//! - F3: a signature with 64 000 subpackets is a bounded error;
//! - F4: a compressed packet that decompresses to itself (a deflate quine, CVE-2013-4402's shape, built here
//!   after Russ Cox, "Zip Files All The Way Down") is an error; a certificate carrying 100 000 signatures is
//!   read, or refused, in bounded time.
//!
//! Every run goes through the real binary ([`common::sandboxed::sealpost`]: a time limit, peak memory) and
//! must end with exit 1 or 2 and one `sealpost: error:` line, never a panic or a signal.

#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)] // A panic in a test is a failed test.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use common::openpgp::{mpi, packet};
use common::sandboxed::Run;
use common::{peer, run_ok, scratch};

fn sealpost() -> Command {
    Command::new(env!("CARGO_BIN_EXE_sealpost"))
}

/// Peak resident memory any run may reach.
const MEMORY_LIMIT_KIB: u64 = 256 * 1024;

/// Keys for the tests: Alice (OpenPGP RSA), Ed (OpenPGP Ed25519), Sam (X.509 RSA).
fn keys() -> &'static PathBuf {
    static D: OnceLock<PathBuf> = OnceLock::new();
    D.get_or_init(|| {
        let dir = scratch("security-parsers-keys");
        for (who, uid, kind, algo) in [
            ("alice", "Alice <alice@example.org>", "pgp", "rsa2048"),
            ("ed", "Ed <ed@example.org>", "pgp", "ed25519"),
            ("sam", "Sam <sam@example.org>", "x509", "rsa2048"),
        ] {
            run_ok(
                sealpost()
                    .args(["key", "generate", "--type", kind, "--algo", algo, "--uid", uid, "--output"])
                    .arg(dir.join(who)),
            );
        }
        std::fs::write(dir.join("text"), "a text\n").unwrap();
        dir
    })
}

/// Runs sealpost in `dir` (its working and temporary directory) with a time limit.
fn run_case(dir: &Path, args: &[&str], timeout: Duration) -> Run {
    common::sandboxed::sealpost(dir, args, None, None, timeout)
}

/// A refusal as CONTRACT.md has it: exit 1 or 2, one `sealpost: error:` line (the last), no panic, within the
/// memory limit. Returns the problems.
fn refused(label: &str, r: &Run) -> Vec<String> {
    let mut bad = Vec::new();
    match r.code {
        Some(1 | 2) => {}
        other => bad.push(format!("{label}: exit {other:?} (want 1 or 2), after {:?}", r.elapsed)),
    }
    if r.stderr.contains("panicked") || r.stderr.contains("internal error") {
        bad.push(format!("{label}: a panic: {}", r.stderr));
    }
    let lines: Vec<&str> = r.stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    if lines.iter().filter(|l| l.starts_with("sealpost: error: ")).count() != 1 {
        bad.push(format!("{label}: not one error line: {:?}", r.stderr));
    }
    if r.peak_kib > MEMORY_LIMIT_KIB {
        bad.push(format!("{label}: peak memory {} MiB", r.peak_kib >> 10));
    }
    bad
}

fn assert_none(problems: Vec<String>) {
    assert!(problems.is_empty(), "{} problems:\n{}", problems.len(), problems.join("\n"));
}

// ------------------------------------------------------------------------------------------------------------
// DER by hand (X.690, definite lengths only)

fn der_len(n: usize, out: &mut Vec<u8>) {
    if n < 0x80 {
        out.push(n as u8);
    } else {
        let bytes: Vec<u8> = n.to_be_bytes().iter().copied().skip_while(|b| *b == 0).collect();
        out.push(0x80 | bytes.len() as u8);
        out.extend(bytes);
    }
}

fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    der_len(content.len(), &mut out);
    out.extend_from_slice(content);
    out
}

/// The elements of a DER SEQUENCE's content: (tag, whole element).
fn elements(mut content: &[u8]) -> Vec<(u8, Vec<u8>)> {
    let mut out = Vec::new();
    while !content.is_empty() {
        let tag = content[0];
        let (len, hl) = match content[1] {
            n if n < 0x80 => (n as usize, 2),
            n => {
                let k = (n & 0x7f) as usize;
                (content[2..2 + k].iter().fold(0usize, |a, b| (a << 8) | *b as usize), 2 + k)
            }
        };
        out.push((tag, content[..hl + len].to_vec()));
        content = &content[hl + len..];
    }
    out
}

/// The content of a DER element.
fn content_of(element: &[u8]) -> &[u8] {
    let hl = if element[1] < 0x80 { 2 } else { 2 + (element[1] & 0x7f) as usize };
    &element[hl..]
}

fn pem_to_der(pem: &str) -> Vec<u8> {
    pem_rfc7468::decode_vec(pem.as_bytes()).unwrap().1
}

/// An rsaEncryption SubjectPublicKeyInfo for this modulus and e = 65537.
fn rsa_spki(n: &[u8]) -> Vec<u8> {
    let mut modulus = vec![0u8];
    modulus.extend_from_slice(n);
    let key = tlv(0x30, &[tlv(0x02, &modulus), tlv(0x02, &[1, 0, 1])].concat());
    let mut bits = vec![0u8];
    bits.extend(key);
    let alg =
        tlv(0x30, &[tlv(0x06, &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01]), vec![0x05, 0x00]].concat());
    tlv(0x30, &[alg, tlv(0x03, &bits)].concat())
}

/// An odd modulus of `bits` bits (pseudo-random, top bit set): nothing needs to factor it.
fn big_modulus(bits: usize) -> Vec<u8> {
    let mut n = common::pseudo_random(bits.div_ceil(8), 65_536);
    let top = bits % 8;
    n[0] = if top == 0 { n[0] | 0x80 } else { (n[0] | (1 << (top - 1))) & ((1u16 << top) - 1) as u8 };
    *n.last_mut().unwrap() |= 1;
    n
}

// ------------------------------------------------------------------------------------------------------------
// F2

/// A certificate and a signature whose EC key carries explicit curve parameters (`openssl ecparam
/// -param_enc explicit`, the shape behind OpenSSL's BN_mod_sqrt loop): S/MIME refuses to encrypt to it and
/// does not pass a signature by it.
#[test]
fn f2_explicit_ec_parameters_are_refused() {
    const TEST: &str = "f2_explicit_ec_parameters_are_refused";
    let Some(openssl) = peer(TEST, "openssl") else { return };
    let k = keys();
    let d = scratch("security-f2-ec");
    let ossl = |args: &[&str]| {
        run_ok(Command::new(&openssl).args(args).current_dir(&d));
    };
    ossl(&["ecparam", "-name", "prime256v1", "-param_enc", "explicit", "-genkey", "-noout", "-out", "ec.key"]);
    ossl(&[
        "req",
        "-x509",
        "-new",
        "-key",
        "ec.key",
        "-subj",
        "/CN=Explicit",
        "-days",
        "30",
        "-addext",
        "subjectAltName=email:ec@example.org",
        "-addext",
        "extendedKeyUsage=emailProtection",
        "-out",
        "ec.pem",
    ]);
    let text = k.join("text");
    let text = text.to_str().unwrap();
    ossl(&[
        "cms",
        "-sign",
        "-signer",
        "ec.pem",
        "-inkey",
        "ec.key",
        "-in",
        text,
        "-nodetach",
        "-outform",
        "DER",
        "-out",
        "ec.p7m",
    ]);
    let der = std::fs::read(d.join("ec.pem")).map(|p| pem_to_der(&String::from_utf8(p).unwrap())).unwrap();
    assert!(
        der.windows(9).any(|w| w == [0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x01, 0x01]),
        "explicit parameters (prime-field OID) in the certificate"
    );
    let t = Duration::from_secs(20);
    let mut problems = Vec::new();
    let r = run_case(&d, &["smime", "encrypt", "--recipient", "ec.pem", "-o", "out.p7m", text], t);
    problems.extend(refused("encrypt to an explicit-parameters EC certificate", &r));
    for args in [
        &["smime", "verify", "--no-chain", "-o", "out.txt", "ec.p7m"][..],
        &["smime", "verify", "--no-chain", "--cert", "ec.pem", "-o", "out.txt", "ec.p7m"],
    ] {
        let r = run_case(&d, args, t);
        problems.extend(refused("a signature by an explicit-parameters EC key", &r));
        if d.join("out.txt").exists() {
            problems.push("content written for a signature that did not pass".into());
        }
    }
    assert_none(problems);
}

/// A 65 536-bit RSA modulus: the core refuses it before any arithmetic (the size is checked first, so it is
/// as fast as a 2048-bit one); a certificate with such a key is refused as a recipient; an OpenPGP
/// certificate with a 65 535-bit key (the largest MPI) is refused as a recipient, in bounded time.
#[test]
fn f2_a_65536_bit_rsa_modulus_is_refused_before_any_arithmetic() {
    use sealpost::core::rsa::RsaPublicKey;
    let n = big_modulus(65_536);
    let start = Instant::now();
    let err = RsaPublicKey::from_components(&n, &[1, 0, 1]).expect_err("a 65 536-bit key accepted");
    assert!(start.elapsed() < Duration::from_millis(200), "{:?}", start.elapsed());
    assert!(err.to_string().contains("65536 bits"), "{err}");
    let err = RsaPublicKey::from_der(&rsa_spki(&n)).expect_err("a 65 536-bit SubjectPublicKeyInfo accepted");
    assert!(err.to_string().contains("bits"), "{err}");

    let k = keys();
    let d = scratch("security-f2-rsa");
    let t = Duration::from_secs(20);
    let mut problems = Vec::new();
    // Sam's certificate with the big key in place of his (the signature no longer matches: a recipient's
    // certificate is not checked against an issuer, so the size is what must stop it).
    let cert = pem_to_der(&std::fs::read_to_string(k.join("sam.cert")).unwrap());
    let top = elements(content_of(&cert));
    let mut tbs = elements(content_of(&top[0].1));
    let spki_at = if tbs[0].0 == 0xa0 { 6 } else { 5 };
    tbs[spki_at].1 = rsa_spki(&n);
    let tbs = tlv(0x30, &tbs.iter().flat_map(|(_, e)| e.clone()).collect::<Vec<u8>>());
    let big = tlv(0x30, &[tbs, top[1].1.clone(), top[2].1.clone()].concat());
    std::fs::write(d.join("big.der"), &big).unwrap();
    let text = k.join("text");
    let text = text.to_str().unwrap();
    let r = run_case(&d, &["smime", "encrypt", "--recipient", "big.der", "-o", "out.p7m", text], t);
    problems.extend(refused("S/MIME recipient with a 65 536-bit key", &r));
    if !r.stderr.contains("bits") {
        problems.push(format!("the refusal does not name the key size: {}", r.stderr));
    }
    // OpenPGP: public key packet v4 (RSA, 65 535-bit n), a user ID, a positive certification with a
    // 65 535-bit signature of no value.
    let n = big_modulus(65_535);
    let mut key = vec![4, 0x60, 0, 0, 0, 1];
    key.extend(mpi(&n));
    key.extend(mpi(&[1, 0, 1]));
    let mut cert = packet(6, &key);
    cert.extend(packet(13, b"Big <big@example.org>"));
    let mut sig = vec![4, 0x13, 1, 8, 0, 6, 5, 2, 0x60, 0, 0, 1, 0, 0, 0xab, 0xcd];
    sig.extend(mpi(&big_modulus(65_535)));
    cert.extend(packet(2, &sig));
    std::fs::write(d.join("big.pgp"), &cert).unwrap();
    let r = run_case(&d, &["pgp", "encrypt", "--recipient", "big.pgp", "-o", "out.pgp", text], t);
    problems.extend(refused("OpenPGP recipient with a 65 535-bit key", &r));
    assert_none(problems);
}

/// A certificate whose outer SEQUENCE, or whose TBSCertificate, has an indefinite length: X.509 is DER
/// (RFC 5280 section 4.1), so it is refused, as a recipient and on import.
#[test]
fn f2_an_indefinite_length_in_a_certificate_is_refused() {
    let k = keys();
    let d = scratch("security-f2-indefinite");
    let cert = pem_to_der(&std::fs::read_to_string(k.join("sam.cert")).unwrap());
    let top = elements(content_of(&cert));
    let outer: Vec<u8> = [&[0x30, 0x80][..], content_of(&cert), &[0, 0]].concat();
    let tbs_indefinite = [&[0x30, 0x80][..], content_of(&top[0].1), &[0, 0]].concat();
    let inner = tlv(0x30, &[tbs_indefinite, top[1].1.clone(), top[2].1.clone()].concat());
    let text = k.join("text");
    let text = text.to_str().unwrap();
    let mut problems = Vec::new();
    for (name, der) in [("outer.der", outer), ("tbs.der", inner)] {
        std::fs::write(d.join(name), &der).unwrap();
        let r =
            run_case(&d, &["smime", "encrypt", "--recipient", name, "-o", "out.p7m", text], Duration::from_secs(20));
        problems.extend(refused(&format!("{name} as a recipient"), &r));
        let ks = d.join(format!("ks-{name}"));
        let ks = ks.to_str().unwrap();
        let r = run_case(&d, &["--keystore", ks, "key", "import", name], Duration::from_secs(20));
        problems.extend(refused(&format!("{name} imported"), &r));
        if r.code != Some(2) {
            problems.push(format!("{name} imported: exit {:?}, want 2 (malformed)", r.code));
        }
    }
    assert_none(problems);
}

// ------------------------------------------------------------------------------------------------------------
// OpenPGP packets by hand (RFC 9580 section 4.2)

/// A literal data packet (binary, no name, date 0).
fn literal(data: &[u8]) -> Vec<u8> {
    packet(11, &[&[b'b', 0, 0, 0, 0, 0][..], data].concat())
}

// ------------------------------------------------------------------------------------------------------------
// F3

/// A one-pass signed message whose signature has 32 000 one-octet subpackets in its hashed area and 32 000
/// in its unhashed area (each area holds at most 65 535 octets): `pgp verify` ends within the time limit
/// with a verdict or an error, and writes nothing.
#[test]
fn f3_sixty_four_thousand_subpackets_are_a_bounded_error() {
    let k = keys();
    let d = scratch("security-f3-subpackets");
    // Subpacket: length 1, type 101 (private or experimental use, not critical), no body.
    let area = [1u8, 101].repeat(32_000);
    let mut sig = vec![4, 0x00, 1, 8];
    sig.extend((area.len() as u16).to_be_bytes());
    sig.extend_from_slice(&area);
    sig.extend((area.len() as u16).to_be_bytes());
    sig.extend_from_slice(&area);
    sig.extend([0xab, 0xcd]);
    sig.extend(mpi(&common::pseudo_random(256, 3)));
    let mut ops = vec![3, 0x00, 8, 1];
    ops.extend([0x11; 8]);
    ops.push(1);
    let mut msg = packet(4, &ops);
    msg.extend(literal(b"signed?\n"));
    msg.extend(packet(2, &sig));
    std::fs::write(d.join("many.pgp"), &msg).unwrap();
    // And the same signature as a detached one.
    std::fs::write(d.join("many.sig"), packet(2, &sig)).unwrap();
    let cert = k.join("alice.cert");
    let cert = cert.to_str().unwrap();
    let text = k.join("text");
    let text = text.to_str().unwrap();
    let t = Duration::from_secs(30);
    let mut problems = Vec::new();
    let r = run_case(&d, &["pgp", "verify", "--cert", cert, "-o", "out", "many.pgp"], t);
    problems.extend(refused("64 000 subpackets (one-pass signed)", &r));
    if d.join("out").exists() {
        problems.push("content written for an unverifiable signature".into());
    }
    let r = run_case(&d, &["pgp", "verify", "--cert", cert, "--signature", "many.sig", text], t);
    problems.extend(refused("64 000 subpackets (detached)", &r));
    assert_none(problems);
}

// ------------------------------------------------------------------------------------------------------------
// F4: a deflate quine

/// Bits written least significant first (RFC 1951 section 3.1.1).
#[derive(Default)]
struct Bits {
    out: Vec<u8>,
    acc: u32,
    n: u32,
}

impl Bits {
    fn put(&mut self, value: u32, bits: u32) {
        for i in 0..bits {
            self.acc |= ((value >> i) & 1) << self.n;
            self.n += 1;
            if self.n == 8 {
                self.out.push(self.acc as u8);
                (self.acc, self.n) = (0, 0);
            }
        }
    }

    /// A Huffman code, most significant bit first.
    fn code(&mut self, code: u32, bits: u32) {
        for i in (0..bits).rev() {
            self.put((code >> i) & 1, 1);
        }
    }

    /// A literal/length symbol of the fixed code (RFC 1951 section 3.2.6).
    fn symbol(&mut self, s: u32) {
        match s {
            0..=143 => self.code(0x30 + s, 8),
            144..=255 => self.code(0x190 + s - 144, 9),
            256..=279 => self.code(s - 256, 7),
            _ => self.code(0xc0 + s - 280, 8),
        }
    }

    /// A copy of `len` (3..=10) octets from `dist` (5 or 20) back.
    fn copy(&mut self, len: u32, dist: u32) {
        assert!((3..=10).contains(&len));
        self.symbol(254 + len);
        let (code, extra_bits, extra) = match dist {
            5 => (4, 1, 0),
            20 => (8, 3, 3),
            _ => unreachable!(),
        };
        self.code(code, 5);
        self.put(extra, extra_bits);
    }
}

/// One fixed-Huffman block of `items` (`Ok(len)`: a copy from `dist` back; `Err(byte)`: a literal) and
/// its end, which must fill exactly five octets (40 bits).
fn fixed_block(items: &[Result<u32, u8>], dist: u32, last: bool) -> Option<Vec<u8>> {
    let mut w = Bits::default();
    w.put(u32::from(last), 1);
    w.put(1, 2);
    for item in items {
        match item {
            Ok(len) => w.copy(*len, dist),
            Err(b) => w.symbol(u32::from(*b)),
        }
    }
    w.symbol(256);
    (w.n == 0 && w.out.len() == 5).then_some(w.out)
}

/// A stored block (RFC 1951 section 3.2.4) announcing `units` five-octet units, written at an octet boundary.
fn stored(units: u16) -> Vec<u8> {
    let len = units * 5;
    [&[0u8][..], &len.to_le_bytes(), &(!len).to_le_bytes()].concat()
}

/// A compressed data packet (old format, indeterminate length: `a3 01`, ZIP) that decompresses to a marker
/// packet, another marker packet and itself, for ever. The deflate stream is Russ Cox's program of "literal"
/// opcodes (stored blocks: print the next n units) and "repeat" opcodes (fixed blocks: copy the last n units),
/// every opcode five octets; the prefix it prints first is the 13 octets of markers and `a3 01`.
fn compressed_quine() -> Vec<u8> {
    let prefix = compressed_quine_prefix();
    assert_eq!(prefix.len(), 15);
    let (p, l) = (3u16, stored);
    // Repeat 4 units (20 octets) from 20 back: two copies of 10, exactly 40 bits.
    let r4 = fixed_block(&[Ok(10), Ok(10)], 20, false).unwrap();
    // The last opcode, repeat 1 unit, marks the end of the stream: a copy of 3 and two literals, which must
    // be this opcode's own octets at those places (it copies itself), found by trying every pair.
    let r1 = (0..=255u8)
        .flat_map(|a| (0..=255u8).map(move |b| (a, b)))
        .find_map(|(a, b)| {
            [
                (vec![Ok(3), Err(a), Err(b)], 3, 4),
                (vec![Err(a), Err(b), Ok(3)], 0, 1),
                (vec![Err(a), Ok(3), Err(b)], 0, 4),
            ]
            .into_iter()
            .find_map(|(items, i, j)| fixed_block(&items, 5, true).filter(|o| o[i] == a && o[j] == b))
        })
        .unwrap();
    let mut prog = Program::default();
    prog.lit(p + 1, &[&prefix[..], &l(p + 1)].concat());
    prog.op(&r4);
    prog.lit(1, &r4);
    prog.lit(1, &l(1));
    prog.lit(4, &[&r4[..], &l(1), &l(1), &l(4)].concat());
    prog.op(&r4);
    prog.lit(4, &[&r4[..], &l(4), &r4, &l(4)].concat());
    prog.op(&r4);
    prog.lit(4, &[&r4[..], &l(0), &l(0), &l(1)].concat());
    prog.op(&r4);
    prog.op(&l(0));
    prog.op(&l(0));
    prog.lit(1, &r1);
    prog.op(&r1);
    let code = prog.0;
    // The builder is right: the stream inflates to the prefix and then itself.
    let mut out = Vec::new();
    std::io::Read::read_to_end(&mut flate2::read::DeflateDecoder::new(&code[..]), &mut out).unwrap();
    assert_eq!(out, [&prefix[..], &code].concat(), "not a quine");
    [&[0xa3, 0x01][..], &code].concat()
}

/// What the quine prints before its own deflate stream: a marker packet (old format), a marker packet with a
/// four-octet length (so that the prefix is whole five-octet units), and the compressed packet's `a3 01`.
fn compressed_quine_prefix() -> Vec<u8> {
    [&[0xa8, 3, b'P', b'G', b'P'][..], &[0xaa, 0, 0, 0, 3, b'P', b'G', b'P'], &[0xa3, 0x01]].concat()
}

/// A deflate stream being written as opcodes.
#[derive(Default)]
struct Program(Vec<u8>);

impl Program {
    /// A literal opcode: print the `units` five-octet units that follow it.
    fn lit(&mut self, units: u16, data: &[u8]) {
        assert_eq!(data.len(), usize::from(units) * 5);
        self.0.extend(stored(units));
        self.0.extend_from_slice(data);
    }

    /// Any other opcode, as its octets.
    fn op(&mut self, bytes: &[u8]) {
        self.0.extend_from_slice(bytes);
    }
}

/// The quine, unencrypted (`pgp verify`) and inside a password-encrypted message (`pgp decrypt`): an error,
/// at once, not a loop or a stack overflow.
#[test]
fn f4_a_compressed_packet_that_decompresses_to_itself_is_an_error() {
    let d = scratch("security-f4-quine");
    let quine = compressed_quine();
    std::fs::write(d.join("quine.pgp"), &quine).unwrap();
    let k = keys();
    let cert = k.join("alice.cert");
    let t = Duration::from_secs(20);
    let mut problems = Vec::new();
    let r = run_case(&d, &["pgp", "verify", "--cert", cert.to_str().unwrap(), "-o", "out", "quine.pgp"], t);
    problems.extend(refused("the quine (verify)", &r));
    std::fs::write(d.join("quine-enc.pgp"), seipd_message(&quine)).unwrap();
    let r = run_case(&d, &["pgp", "decrypt", "--password-file", &password_file(&d), "-o", "out", "quine-enc.pgp"], t);
    problems.extend(refused("the quine inside a SEIPD packet (decrypt)", &r));
    // The builder of the encrypted message is right: a literal inside it decrypts.
    std::fs::write(d.join("control.pgp"), seipd_message(&literal(b"control\n"))).unwrap();
    let r =
        run_case(&d, &["pgp", "decrypt", "--password-file", &password_file(&d), "-o", "control.out", "control.pgp"], t);
    assert_eq!(r.code, Some(0), "the control message: {}", r.stderr);
    assert_eq!(std::fs::read(d.join("control.out")).unwrap(), b"control\n");
    // And the quine's shape without the self-reference is fine: the same two marker packets and a literal in
    // an `a3 01` compressed packet decrypt, so the refusal above is the endless nesting, not the markers.
    let mut deflate = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
    let inner = [&compressed_quine_prefix()[..13], &literal(b"control\n")].concat();
    std::io::Write::write_all(&mut deflate, &inner).unwrap();
    let shape = [&[0xa3, 0x01][..], &deflate.finish().unwrap()].concat();
    std::fs::write(d.join("shape.pgp"), seipd_message(&shape)).unwrap();
    let r = run_case(&d, &["pgp", "decrypt", "--password-file", &password_file(&d), "-o", "shape.out", "shape.pgp"], t);
    assert_eq!(r.code, Some(0), "markers and a literal in a compressed packet: {}", r.stderr);
    assert_eq!(std::fs::read(d.join("shape.out")).unwrap(), b"control\n");
    assert_none(problems);
}

// ------------------------------------------------------------------------------------------------------------
// A password-encrypted message around hand-built packets (SKESK v4 without an encrypted session key, SEIPD v1
// with an MDC; RFC 9580 sections 5.3, 5.13), as tests/pgp_bad_input.rs builds them.

const PASSWORD: &[u8] = b"security parsers password";
const SALT: [u8; 8] = *b"saltsalt";

/// The password file in `dir` (mode 0600), its path.
fn password_file(dir: &Path) -> String {
    let p = dir.join("password");
    std::fs::write(&p, PASSWORD).unwrap();
    std::fs::set_permissions(&p, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    p.to_string_lossy().into_owned()
}

/// SKESK (AES-256, salted S2K with SHA-256, no encrypted session key: the key is SHA-256(salt || password)),
/// then a SEIPD v1 packet over `inner` with a good MDC.
fn seipd_message(inner: &[u8]) -> Vec<u8> {
    use sealpost::core::cipher::CipherAlgorithm;
    use sealpost::core::digest::{HashAlgorithm, digest};
    use sealpost::core::mode::{Direction, Mode, Padding, process};
    let key = digest(HashAlgorithm::Sha256, &[&SALT[..], PASSWORD].concat()).as_bytes().to_vec();
    let mut plain = common::pseudo_random(16, 99);
    plain.extend([plain[14], plain[15]]);
    plain.extend_from_slice(inner);
    plain.extend([0xd3, 0x14]);
    let mdc = digest(HashAlgorithm::Sha1, &plain).as_bytes().to_vec();
    plain.extend(mdc);
    let mut body = vec![1];
    body.extend(
        process(CipherAlgorithm::Aes256, Mode::Cfb, Direction::Encrypt, &key, &[0; 16], Padding::None, &plain).unwrap(),
    );
    let mut m = packet(3, &[&[4u8, 9, 1, 8][..], &SALT].concat());
    m.extend(packet(18, &body));
    m
}

// ------------------------------------------------------------------------------------------------------------
// F4: a certificate with 100 000 signatures

/// How long reading a certificate with 100 000 signatures may take, in any of the commands below (a debug
/// build; rnp caps a key at 32 768 packets, GnuPG's CVE-2022-3219 was a key of this shape).
const MANY_SIGNATURES_LIMIT: Duration = Duration::from_secs(30);

/// Ed's certificate with 100 000 more certifications of his user ID, each claiming to be his own (issuer
/// fingerprint and key id his) with its own creation time, none valid (a reader that checks them all does
/// 100 000 signature verifications), written to `dir/many.pgp`; and `dir/signed.pgp`, signed by Ed.
fn many_signatures(d: &Path) {
    use openpgp::Packet;
    use openpgp::parse::Parse;
    use openpgp::serialize::Serialize;
    use sequoia_openpgp as openpgp;

    let k = keys();
    let cert = openpgp::Cert::from_file(k.join("ed.cert")).unwrap();
    let fpr = cert.fingerprint().as_bytes().to_vec();
    let keyid = cert.keyid().as_bytes().to_vec();
    let algo = u8::from(cert.primary_key().key().pk_algo());
    let version = cert.primary_key().key().version();
    assert_eq!((version, fpr.len()), (4, 20), "a v4 key");
    let mut sig_tail = vec![0xab, 0xcd];
    match algo {
        22 => {
            sig_tail.extend(mpi(&common::pseudo_random(32, 1)));
            sig_tail.extend(mpi(&common::pseudo_random(32, 2)));
        }
        27 => sig_tail.extend(common::pseudo_random(64, 1)),
        other => panic!("Ed's key algorithm {other}"),
    }
    let mut many = Vec::with_capacity(100_000 * 120);
    for i in 0..100_000u32 {
        let mut hashed = vec![5, 2];
        hashed.extend((0x6000_0000 + i).to_be_bytes());
        hashed.extend([22, 33, 4]);
        hashed.extend_from_slice(&fpr);
        let mut body = vec![4, 0x13, algo, 8];
        body.extend((hashed.len() as u16).to_be_bytes());
        body.extend(hashed);
        body.extend([0, 10, 9, 16]);
        body.extend_from_slice(&keyid);
        body.extend_from_slice(&sig_tail);
        many.extend(packet(2, &body));
    }
    let mut out = Vec::new();
    let mut added = false;
    for p in cert.into_packets() {
        let is_uid = matches!(p, Packet::UserID(_));
        p.serialize(&mut out).unwrap();
        if is_uid && !added {
            out.extend_from_slice(&many);
            added = true;
        }
    }
    assert!(added);
    std::fs::write(d.join("many.pgp"), &out).unwrap();
    println!("certificate with 100 000 signatures: {} bytes", out.len());
    std::fs::write(d.join("signed-by-ed.txt"), "x\n").unwrap();
    run_ok(
        sealpost()
            .args(["pgp", "sign", "--key"])
            .arg(k.join("ed.key"))
            .arg("-o")
            .arg(d.join("signed.pgp"))
            .arg(d.join("signed-by-ed.txt")),
    );
}

/// The three commands that read a certificate given as a file, on `dir/many.pgp`.
fn read_many(d: &Path) -> Vec<(&'static str, Run)> {
    let text = keys().join("text");
    let text = text.to_str().unwrap();
    [
        ("key import", vec!["--keystore", "ks", "key", "import", "many.pgp"]),
        ("pgp encrypt --recipient", vec!["pgp", "encrypt", "--recipient", "many.pgp", "-o", "enc.pgp", text]),
        ("pgp verify --cert", vec!["pgp", "verify", "--cert", "many.pgp", "-o", "verified", "signed.pgp"]),
    ]
    .into_iter()
    .map(|(label, args)| {
        let _ = std::fs::remove_dir_all(d.join("ks"));
        let r = run_case(d, &args, MANY_SIGNATURES_LIMIT + Duration::from_secs(5));
        println!("{label}: exit {:?} in {:.1} s, peak {} MiB", r.code, r.elapsed.as_secs_f64(), r.peak_kib >> 10);
        (label, r)
    })
    .collect()
}

/// A certificate with 100 000 signatures: `key import`, `pgp encrypt --recipient` and `pgp verify --cert`
/// each finish (or refuse) within [`MANY_SIGNATURES_LIMIT`].
#[test]
fn f4_a_certificate_with_100000_signatures_is_read_in_bounded_time() {
    let d = scratch("security-f4-many-signatures");
    many_signatures(&d);
    let mut problems = Vec::new();
    for (label, r) in read_many(&d) {
        if r.code.is_none() || r.elapsed > MANY_SIGNATURES_LIMIT {
            problems.push(format!("{label}: not done within {MANY_SIGNATURES_LIMIT:?} ({:?})", r.elapsed));
        }
        if !matches!(r.code, Some(0..=2)) || r.stderr.contains("panicked") {
            problems.push(format!("{label}: exit {:?}: {}", r.code, r.stderr));
        }
    }
    assert_none(problems);
}

/// The same certificate (12 MB) read within [`MEMORY_LIMIT_KIB`] (256 MiB): each signature must not cost
/// forty times its size, or a 120 MB certificate takes 4.6 GB.
#[test]
fn f4_a_certificate_with_100000_signatures_is_read_in_bounded_memory() {
    let d = scratch("security-f4-many-signatures-memory");
    many_signatures(&d);
    let problems: Vec<String> = read_many(&d)
        .into_iter()
        .filter(|(_, r)| r.peak_kib > MEMORY_LIMIT_KIB)
        .map(|(label, r)| format!("{label}: peak memory {} MiB", r.peak_kib >> 10))
        .collect();
    assert_none(problems);
}
