//! What each fuzz target runs on one input: every public entry point of one parser, called the way sealpost
//! itself calls it. The fuzz targets (`fuzz/fuzz_targets/`) and the regression test (`tests/regressions.rs`,
//! which includes this file) run the same code, so a kept crashing input replays exactly what crashed.
//!
//! Each function returns whether the target's main entry point accepted the input (`Ok`); the fuzzer only
//! looks for panics, aborts, hangs and memory growth, and the regression table checks the outcome.

use std::io::{self, Cursor};

use sealpost::core::compress::Budget;
use sealpost::core::policy::Policy;

/// A fixed RSA key (2048 bits, PKCS #8 DER, made for the fuzz targets only): the one S/MIME and PEM decrypt
/// with, so that the fuzzer can reach the decryption code behind a matching recipient identifier.
const RSA_KEY: &[u8] = include_bytes!("../keys/rsa2048.der");

/// Runs `f` on a single-threaded runtime (the async line readers), one per thread, made once.
fn block_on<F: std::future::Future>(f: F) -> Option<F::Output> {
    thread_local! {
        static RT: Option<tokio::runtime::Runtime> = tokio::runtime::Builder::new_current_thread().build().ok();
    }
    RT.with(|rt| rt.as_ref().map(|rt| rt.block_on(f)))
}

fn rsa_key() -> Option<&'static sealpost::core::rsa::RsaPrivateKey> {
    use std::sync::OnceLock;
    static KEY: OnceLock<Option<sealpost::core::rsa::RsaPrivateKey>> = OnceLock::new();
    KEY.get_or_init(|| sealpost::core::rsa::RsaPrivateKey::from_der(RSA_KEY).ok()).as_ref()
}

/// MIME: the message tree and header-only parse, every part's decoded body and canonical form, and the mail
/// layer's opening of the message without keys (which verifies what it can and runs every front end's
/// parser on what the envelope holds).
pub fn mime_parse(data: &[u8]) -> bool {
    use sealpost::mime::{body, canon};
    let _ = sealpost::mime::parse_header(data);
    let _ = sealpost::mail::open::is_sealed(data);
    let _ = sealpost::mail::keys::addresses(data, &["from", "to", "cc"]);
    let parsed = sealpost::mime::parse(data);
    if let Ok(root) = &parsed {
        for node in root.walk() {
            let _ = body::decoded(data, node);
            let _ = canon::entity(data, node);
            let _ = node.field_value(data, "subject");
            let _ = node.is_closed(data);
        }
    }
    let policy = Policy::default();
    let opts = sealpost::mail::open::OpenOptions { authserv_id: "fuzz.example", policy: &policy };
    let _ = sealpost::mail::open::open(data, &sealpost::mail::MailKeys::default(), &opts);
    parsed.is_ok()
}

/// PEM (RFC 1421-1424): the message parser and canonical text, MIC verification, decryption with the fixed
/// key, symmetric key management with a fixed interchange key, CRL messages, and the mail layer's reading.
pub fn pem_message(data: &[u8]) -> bool {
    use sealpost::pem::{Trust, crl, encrypted, message::Message, mic, symmetric};
    let policy = Policy::default();
    let trust = Trust::default();
    let parsed = Message::parse(data);
    if let Ok(m) = &parsed {
        let _ = m.canonical_text();
        let _ = symmetric::is_symmetric(m);
    }
    let _ = mic::verify(data, &trust, &policy);
    let _ = crl::describe(data);
    let _ = crl::check(data, &trust, &policy);
    if let Ok(ik) = symmetric::InterchangeKey::from_hex(b"0123456789abcdeffedcba9876543210") {
        let _ = symmetric::open(data, &ik, &policy);
    }
    if let Some(key) = rsa_key() {
        let _ = encrypted::decrypt(data, key, None, &trust, &policy);
    }
    let _ = sealpost::mail::pem_mail::read(data, &[], &trust, &policy);
    parsed.is_ok()
}

/// CMS: DER, BER or PEM input made DER, then read as SignedData (attached and detached), EnvelopedData and
/// AuthEnvelopedData (with the fixed key, for a recipient with subject key identifier `fuzz`), and
/// CompressedData; base64 (an S/MIME body) is decoded first.
pub fn cms_parse(data: &[u8]) -> bool {
    use sealpost::smime::{compressed, enveloped, input, signed};
    let decoded;
    let data = if data.first() == Some(&0x30) || data.starts_with(b"-----") {
        data
    } else {
        match sealpost::mime::body::base64(data) {
            Ok(d) => {
                decoded = d;
                &decoded
            }
            Err(_) => data,
        }
    };
    let der = match input::cms_der(data) {
        Ok(d) => d,
        Err(_) => return false,
    };
    let _ = input::content_type(&der);
    let policy = Policy::default();
    let opts = signed::VerifyOptions { certs: &[], policy: &policy, chain: None };
    let _ = signed::verify(&der, None, &opts, &mut io::sink());
    let mut detached = Cursor::new(&b"Content-Type: text/plain\r\n\r\nhello\r\n"[..]);
    let _ = signed::verify(&der, Some(&mut detached), &opts, &mut io::sink());
    // Signed receipts (RFC 2634): the request read, a receipt's Receipt read and checked against itself.
    let _ = sealpost::smime::ess::request_of(&der);
    let _ = sealpost::smime::ess::is_receipt(&der);
    let _ = sealpost::smime::ess::requested(&der, &["bob@example.org".to_string()]);
    let _ = sealpost::smime::ess::verify_receipt(&der, &der, &opts);
    if let Some(key) = rsa_key()
        && let Ok(id) = fuzz_identity()
    {
        let me = enveloped::Identity { id, ski: Some(b"fuzz".to_vec()), key };
        let _ = enveloped::decrypt(&der, &me, &policy, &mut io::sink());
    }
    let _ = compressed::decompress_all(&der, &Budget::default(), &mut io::sink());
    true
}

fn fuzz_identity() -> Result<cms::cert::IssuerAndSerialNumber, der::Error> {
    use std::str::FromStr;
    Ok(cms::cert::IssuerAndSerialNumber {
        issuer: x509_cert::name::Name::from_str("CN=fuzz")?,
        serial_number: x509_cert::serial_number::SerialNumber::new(&[1])?,
    })
}

/// OpenPGP through the front end: inline and cleartext verification, decryption (no secret key, no
/// password: the packets up to the encrypted data are parsed, no session key is found), a detached signature
/// over fixed text, certificates and v3 keys, and the mail layer's inline PGP.
pub fn openpgp_message(data: &[u8]) -> bool {
    use sealpost::pgp::{decrypt, keys, v3, verify};
    let policy = Policy::default();
    let ok = verify::verify_inline(Cursor::new(data), Vec::new(), &policy, &Budget::default(), &mut io::sink()).is_ok();
    let opts = decrypt::DecryptOptions {
        verify_with: Vec::new(),
        // No password: as the mail layer decrypts (and S2K's deliberate slowness would dominate every run).
        passwords: Vec::new(),
        allow_unauthenticated: true,
        budget: Budget::default(),
    };
    let _ = decrypt::decrypt(Box::new(Cursor::new(data.to_vec())), None, &opts, &policy, &mut io::sink());
    let _ = verify::verify_detached(data, Cursor::new(&b"hello\r\n"[..]), Vec::new(), &policy);
    let _ = keys::read_certs(data);
    let _ = v3::read_v3_certs(data);
    let _ = v3::read_v3_secret_keys(data);
    if let Some((_, block)) = sealpost::mail::pgp_mime::inline_block(data) {
        // The mail layer's budget: a whole message's worth (sealpost::mail::open).
        let budget = Budget::new(sealpost::mime::entity::MAX_MESSAGE as u64, 1000);
        let _ = sealpost::mail::pgp_mime::read_inline(&data[block], None, Vec::new(), &policy, &budget);
    }
    ok
}

/// OpenPGP decryption with a password, as `sealpost pgp decrypt --password-file` runs it. Not a fuzz target of
/// its own (every S2K is deliberately slow, so the fuzzer would learn little per second): the regression table
/// replays the S2K inputs found by hand through it.
pub fn openpgp_password(data: &[u8]) -> bool {
    use sealpost::pgp::decrypt;
    let opts = decrypt::DecryptOptions {
        verify_with: Vec::new(),
        passwords: vec!["password".into()],
        allow_unauthenticated: false,
        budget: Budget::default(),
    };
    decrypt::decrypt(Box::new(Cursor::new(data.to_vec())), None, &opts, &Policy::default(), &mut io::sink()).is_ok()
}

/// SMTP: the line reader (CRLF only, bare CR/LF reported, a bound) over the input as a stream, with the
/// buffer size and bound taken from its first two bytes, then each complete line as a command.
pub fn smtp_command(data: &[u8]) -> bool {
    use sealpost::filter::smtp::{command, line};
    let ok = command::parse(data.strip_suffix(b"\r\n").unwrap_or(data)).is_ok();
    let (capacity, max, stream) = match data {
        [a, b, rest @ ..] => (usize::from(*a % 64) + 1, usize::from(*b) * 4 + 1, rest),
        _ => (1, 1, data),
    };
    block_on(async {
        let mut r = tokio::io::BufReader::with_capacity(capacity, stream);
        let mut buf = Vec::new();
        // Each call consumes at least one byte, or returns Eof: the loop ends.
        for _ in 0..=stream.len() {
            match line::read(&mut r, &mut buf, max).await {
                Ok(line::Line::Complete) => {
                    let _ = command::parse(buf.strip_suffix(b"\r\n").unwrap_or(&buf));
                }
                Ok(line::Line::Eof) | Err(_) => break,
                Ok(_) => {}
            }
        }
    });
    ok
}

/// IMAP: the session state over the input's lines in both directions, literal announcements, the FETCH
/// response reader, and the rewriting of FETCH responses; the input is taken both as a server's response
/// (rewritten for a fixed message) and as the message (a fixed response rewritten for it, and every kind of
/// section and structure computed from it).
pub fn imap_proxy(data: &[u8]) -> bool {
    use imap_codec::imap_types::core::{AString, Vec1};
    use imap_codec::imap_types::fetch::{Part, Section};
    use sealpost::filter::imap::{fetch, response, section, state, structure, wire};
    const MESSAGE: &[u8] = b"From: a@example.org\r\nSubject: s\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nfirst\r\n--b\r\nContent-Type: message/rfc822\r\n\r\nSubject: inner\r\n\r\ninner\r\n--b--\r\n";
    const RESPONSE: &[u8] = b"* 1 FETCH (UID 7 RFC822.SIZE 3 BODYSTRUCTURE (\"TEXT\" \"PLAIN\" NIL NIL NIL \"7BIT\" 3 1) BODY (\"TEXT\" \"PLAIN\" NIL NIL NIL \"7BIT\" 3 1) ENVELOPE (NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL) RFC822.HEADER {0}\r\n RFC822.TEXT {0}\r\n BODY[1] {0}\r\n BODY[2.1]<1> {0}\r\n BODY[HEADER.FIELDS (SUBJECT)] {0}\r\n BODY[] {3}\r\nabc)\r\n";

    let mut s = state::State::default();
    for line in data.split_inclusive(|b| *b == b'\n') {
        let _ = wire::announcement(line);
        let _ = s.command(line);
        s.response(line);
    }
    let _ = s.command(data);
    let flight = s.in_flight();
    let _ = s.cache_prefix();
    let _ = fetch::uid(data);
    let ok = fetch::rewrite(data, MESSAGE, &flight.partials, flight.injected).is_ok();
    let _ = fetch::rewrite(RESPONSE, data, &flight.partials, false);
    let _ = fetch::rewrite(RESPONSE, data, &[], true);

    let part = |p: &[u32]| {
        Vec1::try_from(p.iter().filter_map(|n| std::num::NonZeroU32::new(*n)).collect::<Vec<_>>()).ok().map(Part)
    };
    let mut sections = vec![Section::Header(None), Section::Text(None)];
    for p in [&[1][..], &[2], &[1, 1], &[2, 1], &[1, 2, 1], &[3]] {
        if let Some(p) = part(p) {
            sections.push(Section::Part(p.clone()));
            sections.push(Section::Mime(p.clone()));
            sections.push(Section::Header(Some(p.clone())));
            sections.push(Section::Text(Some(p)));
        }
    }
    if let Ok(names) = AString::try_from("SUBJECT").map(Vec1::from) {
        sections.push(Section::HeaderFields(None, names.clone()));
        sections.push(Section::HeaderFieldsNot(part(&[2]), names));
    }
    let _ = section::bytes(data, None);
    for sec in &sections {
        let _ = section::bytes(data, Some(sec));
    }
    let _ = section::partial(data, 3, 7);
    let _ = structure::body_structure(data, true);
    let _ = structure::body_structure(data, false);
    let _ = structure::envelope(data);

    // The response reader, as the proxy runs it: first line, then the rest from the stream.
    let first_len = data.iter().position(|b| *b == b'\n').map_or(data.len(), |i| i + 1);
    let (first, rest) = data.split_at(first_len);
    for added in [false, true] {
        block_on(async {
            let mut r = tokio::io::BufReader::new(rest);
            let held = response::read(&mut r, &mut tokio::io::sink(), first, added, 4096, 64 * 1024).await;
            if let Ok(Some(h)) = held
                && let Some(m) = h.message()
            {
                let _ = fetch::rewrite(&h.bytes, m, &flight.partials, false);
            }
        });
    }
    ok
}

/// The filters' configuration file.
pub fn config_parse(data: &[u8]) -> bool {
    let Ok(text) = std::str::from_utf8(data) else { return false };
    match sealpost::filter::config::Config::parse(text) {
        Ok(c) => {
            let _ = c.is_local("a@example.org");
            let _ = c.format_for("b@example.net");
            true
        }
        Err(_) => false,
    }
}

/// What a target runs on one input: whether its main entry point accepted it.
pub type Target = fn(&[u8]) -> bool;

/// The targets by name, for the regression table (and `openpgp_password`, which only it runs).
pub const TARGETS: &[(&str, Target)] = &[
    ("mime_parse", mime_parse),
    ("pem_message", pem_message),
    ("cms_parse", cms_parse),
    ("openpgp_message", openpgp_message),
    ("openpgp_password", openpgp_password),
    ("smtp_command", smtp_command),
    ("imap_proxy", imap_proxy),
    ("config_parse", config_parse),
];
