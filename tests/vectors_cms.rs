//! The CMS vectors in `../shared/vectors/cms/`, read and asserted through the real `sealpost smime ...`
//! commands: asn1crypto's EnvelopedData, SignedData (CMS and PKCS #7 forms, good and deliberately broken),
//! DigestedData, EncryptedData and CompressedData, the Thunderbird and Mozilla detached signatures, and its
//! keys and certificates in every algorithm and encoding; pyca's 3DES EnvelopedData and signed-data MIME
//! message; and OpenSSL's S/MIME test PKI (`sm*.pem`, key and certificate in one file). Expected outcomes come
//! from `SOURCES.md`, from what `openssl cms` 3.0 does with the same file (checked when this table was
//! written), and from the RFCs where neither settles it; each entry says which when it is not obvious.
//!
//! Corrections to `SOURCES.md` found here: the encapsulated content of `cms-signed.*` is message.txt with a
//! CRLF line end (50 bytes; `openssl cms -verify` gives the same), not message.txt itself; and, as already
//! noted there, `smec3.pem` and `smdh.pem` are not signed by the `smroot.pem` of that folder.
//!
//! One table: every file under `cms/` is the subject of at least one entry, is read by one (as a key,
//! certificate or expected output), or is listed in [`NOT_VECTORS`] with the reason. A file in none of these
//! fails the test, so a new vector cannot be forgotten. Entries are counted per group and printed.
//!
//! Every run must also keep the command-line contract: exit 0, 1 or 2 (never a panic or a signal), on failure
//! exactly one `sealpost: error: ` line (the last; the `smime: ` verdict summary may precede it), and no `-o`
//! file unless the command succeeded.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // A panic in a test is a failed test.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use serde_json::Value;

use sealpost::core::policy::Policy;
use sealpost::x509::{self, Certificate, Purpose};

/// A single `sealpost` run that takes longer than this has hung.
const TIMEOUT: Duration = Duration::from_secs(60);

/// The folders.
const ASN: &str = "asn1crypto";
const SM: &str = "openssl-smime-certs-via-mimekit";

/// What the keys sign and encrypt in the round-trip entries.
const LETTER: &[u8] = b"sealpost CMS vectors: a letter signed or encrypted with a key from the vectors\r\n";

/// pyca's EnvelopedData plaintext (SOURCES.md, and `openssl cms -decrypt`).
const HELLO: &[u8] = b"Hello, World!\r\n";

/// 2022-06-01T00:00:00Z: inside the validity of every OpenSSL test certificate and of their root (all
/// expired in 2023).
const BEFORE_2023_EXPIRY: u64 = 1_654_041_600;

/// Files under `cms/` that hold no vector, and why.
const NOT_VECTORS: &[(&str, &str)] = &[
    ("asn1crypto/LICENSE.asn1crypto", "licence"),
    ("asn1crypto/keys/readme.md", "one line: the keys were made by hand with OpenSSL"),
    ("openssl-smime-certs-via-mimekit/LICENSE.MimeKit", "licence"),
];

/// Where a run's expected output comes from.
#[derive(Clone, Debug)]
enum Expect {
    Bytes(&'static [u8]),
    /// A vector file, byte for byte.
    File(&'static str),
    /// A vector file with its LF line ends made CRLF.
    FileCrlf(&'static str),
}

/// How a verify step checks chains: `--no-chain`, or `--ca` files; `--cert` files either way.
#[derive(Clone, Debug, Default)]
struct Trust {
    certs: Vec<&'static str>,
    cas: Vec<&'static str>,
}

impl Trust {
    fn no_chain(certs: &[&'static str]) -> Trust {
        Trust { certs: certs.to_vec(), cas: vec![] }
    }
    fn ca(cas: &[&'static str]) -> Trust {
        Trust { certs: vec![], cas: cas.to_vec() }
    }
    fn files(&self) -> Vec<&'static str> {
        self.certs.iter().chain(&self.cas).copied().collect()
    }
}

/// What an entry runs. Paths are relative to `cms/`; keys are copied to a 0600 file first, as sealpost
/// requires of secret key files.
#[derive(Clone, Debug)]
enum Action {
    /// `smime decrypt --cert --key` the entry's file.
    Decrypt { cert: &'static str, key: &'static str },
    /// `smime verify` the entry's file (attached content).
    Verify(Trust),
    /// `smime verify --signature <entry's file>` over `data`.
    Detached { trust: Trust, data: &'static [u8] },
    /// `smime verify` of the base64 body of the entry's file, a MIME message.
    VerifyMimeBody(Trust),
    /// `smime decompress` the entry's file.
    Decompress,
    /// `smime encrypt --recipient <entry's file>`: on success the output must be EnvelopedData naming the
    /// certificate's serial number.
    EncryptTo,
    /// `smime encrypt` to `cert`, then `smime decrypt` with `cert` and `key`; the decrypt step is checked.
    EncryptDecrypt { cert: &'static str, key: &'static str, cipher: Option<&'static str> },
    /// `smime sign --cert --key` (only the signing step: for refusals).
    Sign { cert: &'static str, key: &'static str },
    /// `smime sign`, then `smime verify` the result; the verify step is checked.
    SignVerify { cert: &'static str, key: &'static str, trust: Trust },
    /// Path validation of the entry's certificate for signing to `anchor` at `at` (seconds since 1970), through
    /// the library: the CLI checks now, and these certificates expired in 2023. Exit 0 stands for a valid
    /// path, 1 for a path error (its message in stderr).
    ChainAt { anchor: &'static str, at: u64 },
}

impl Action {
    /// Every vector file the action reads besides the entry's own.
    fn files(&self) -> Vec<&'static str> {
        match self {
            Action::Decrypt { cert, key } => vec![cert, key],
            Action::Verify(t) | Action::VerifyMimeBody(t) | Action::Detached { trust: t, .. } => t.files(),
            Action::Decompress | Action::EncryptTo => vec![],
            Action::EncryptDecrypt { cert, key, .. } | Action::Sign { cert, key } => vec![cert, key],
            Action::SignVerify { cert, key, trust } => [*cert, *key].into_iter().chain(trust.files()).collect(),
            Action::ChainAt { anchor, .. } => vec![anchor],
        }
    }
}

/// The expected outcome of an entry's (last) run.
#[derive(Clone, Debug, Default)]
struct Want {
    exit: i32,
    output: Option<Expect>,
    /// Verdict fields (`--verdict-json`).
    status: Option<&'static str>,
    /// Signer statuses, in message order.
    signers: Option<Vec<&'static str>>,
    /// Fields of the first signer: (name, value).
    signer: Vec<(&'static str, Value)>,
    integrity: Option<&'static str>,
    cipher: Option<&'static str>,
    /// Labels that must be in the verdict's `weak` (top level or the first signer's).
    weak: Vec<&'static str>,
    /// Substrings of stderr, case-insensitive.
    stderr: Vec<&'static str>,
}

impl Want {
    fn ok() -> Want {
        Want { exit: 0, ..Want::default() }
    }
    fn exit(code: i32) -> Want {
        Want { exit: code, ..Want::default() }
    }
    fn output(mut self, e: Expect) -> Want {
        self.output = Some(e);
        self
    }
    fn status(mut self, s: &'static str) -> Want {
        self.status = Some(s);
        self
    }
    fn signers(mut self, s: &[&'static str]) -> Want {
        self.signers = Some(s.to_vec());
        self
    }
    fn signer(mut self, field: &'static str, value: impl Into<Value>) -> Want {
        self.signer.push((field, value.into()));
        self
    }
    fn integrity(mut self, s: &'static str) -> Want {
        self.integrity = Some(s);
        self
    }
    fn cipher(mut self, s: &'static str) -> Want {
        self.cipher = Some(s);
        self
    }
    fn weak(mut self, w: &[&'static str]) -> Want {
        self.weak.extend_from_slice(w);
        self
    }
    fn stderr(mut self, s: &'static str) -> Want {
        self.stderr.push(s);
        self
    }
    fn needs_verdict(&self) -> bool {
        self.status.is_some()
            || self.signers.is_some()
            || !self.signer.is_empty()
            || self.integrity.is_some()
            || self.cipher.is_some()
            || !self.weak.is_empty()
    }
}

/// One table entry.
#[derive(Clone, Debug)]
struct Case {
    group: &'static str,
    /// The vector this entry checks, relative to `cms/`.
    file: String,
    action: Action,
    want: Want,
}

fn case(group: &'static str, file: &str, action: Action, want: Want) -> Case {
    Case { group, file: file.to_string(), action, want }
}

/// A path under `asn1crypto/` (the table is built once, so the few strings it leaks do not matter).
fn asn(rel: &str) -> &'static str {
    Box::leak(format!("{ASN}/{rel}").into_boxed_str())
}

/// A good pass verdict with one good signer.
fn pass() -> Want {
    Want::ok().status("pass").signers(&["good"])
}

/// The hand-written table.
fn table() -> Vec<Case> {
    const TEST_CRT: &str = "asn1crypto/keys/test.crt";
    const TEST_KEY: &str = "asn1crypto/keys/test.key";
    const MESSAGE: &str = "asn1crypto/message.txt";
    const SMROOT: &str = "openssl-smime-certs-via-mimekit/smroot.pem";
    const PYCA_CA: &str = "pyca/x509-custom-ca/rsa_ca.pem";
    const PYCA_KEY: &str = "pyca/x509-custom-ca/rsa_key.pem";
    let mut t = Vec::new();

    // --- asn1crypto: EnvelopedData, RSA PKCS #1 v1.5 key transport, des-ede3-cbc (SOURCES.md, openssl). ---
    for f in ["cms-enveloped.der", "cms-enveloped.pem"] {
        t.push(case(
            "asn1crypto enveloped",
            asn(f),
            Action::Decrypt { cert: TEST_CRT, key: TEST_KEY },
            Want::ok()
                .output(Expect::File(MESSAGE))
                .status("no-signature")
                .integrity("none")
                .cipher("3des-cbc")
                .weak(&["3des", "no-integrity"]),
        ));
        // Not a recipient: the message's recipient is named.
        t.push(case(
            "asn1crypto enveloped",
            asn(f),
            Action::Decrypt {
                cert: "openssl-smime-certs-via-mimekit/smrsa1.pem",
                key: "openssl-smime-certs-via-mimekit/smrsa1.pem",
            },
            Want::exit(1).stderr("not encrypted to this certificate").stderr("serial 00:BD:E5:D9:A4:10:31:5C:82"),
        ));
        // The recipient's certificate with another key: refused before any decryption (with implicit
        // rejection the wrong key would give a random content key, and CBC garbage now and then).
        t.push(case(
            "asn1crypto enveloped",
            asn(f),
            Action::Decrypt { cert: TEST_CRT, key: "openssl-smime-certs-via-mimekit/smrsa1.pem" },
            Want::exit(1).stderr("does not belong to the certificate"),
        ));
    }

    // --- asn1crypto: SignedData. The CMS form encapsulates message.txt with CRLF (openssl agrees). ---
    for (f, content) in [
        ("cms-signed.der", Expect::FileCrlf(MESSAGE)),
        ("cms-signed.pem", Expect::FileCrlf(MESSAGE)),
        ("pkcs7-signed.der", Expect::File(MESSAGE)),
        ("pkcs7-signed.pem", Expect::File(MESSAGE)),
    ] {
        let group = "asn1crypto signed";
        let good = || {
            pass()
                .output(content.clone())
                .signer("hash", "sha256")
                .signer("key_bits", 2048)
                .signer("email", "will@codexns.io")
        };
        // The signer's certificate travels in the message; with --cert as well it is the same one.
        t.push(case(group, asn(f), Action::Verify(Trust::no_chain(&[])), good()));
        t.push(case(group, asn(f), Action::Verify(Trust::no_chain(&[TEST_CRT])), good()));
        // test.crt is its own root, valid 2015-05-06 to 2025-05-03: the chain fails now, as expired. (The
        // signer's status is not asserted: sealpost reports a chain failure as a "bad" signer.)
        t.push(case(
            group,
            asn(f),
            Action::Verify(Trust::ca(&[TEST_CRT])),
            Want::exit(1).status("fail").stderr("certificate path invalid").stderr("expired"),
        ));
        // The content is inside: a detached check as well is a usage error.
        t.push(case(
            group,
            asn(f),
            Action::Detached { trust: Trust::no_chain(&[]), data: b"anything\n" },
            Want::exit(2).stderr("content is inside the message"),
        ));
    }
    // Hand-edited, deliberately invalid signatures (SOURCES.md): a bad-signature verdict, nothing released.
    for f in
        ["cms-signed-digested.der", "cms-signed-digested.pem", "pkcs7-signed-digested.der", "pkcs7-signed-digested.pem"]
    {
        t.push(case(
            "asn1crypto signed, invalid",
            asn(f),
            Action::Verify(Trust::no_chain(&[TEST_CRT])),
            Want::exit(1).status("fail").signers(&["bad"]).signer("hash", "sha256").stderr("BAD signature"),
        ));
    }

    // --- asn1crypto: content types sealpost does not handle, or not with that command. ---
    for f in ["cms-digested.der", "cms-digested.pem"] {
        let g = "asn1crypto other content types";
        t.push(case(
            g,
            asn(f),
            Action::Verify(Trust::no_chain(&[])),
            Want::exit(2).stderr("id-digestedData").stderr("not SignedData"),
        ));
        t.push(case(g, asn(f), Action::Decompress, Want::exit(2).stderr("not CompressedData")));
    }
    for f in ["cms-encrypted.der", "cms-encrypted.pem"] {
        let g = "asn1crypto other content types";
        // EncryptedData under an unknown symmetric key: no recipient to decrypt for.
        t.push(case(
            g,
            asn(f),
            Action::Decrypt { cert: TEST_CRT, key: TEST_KEY },
            Want::exit(2).stderr("id-encryptedData").stderr("not EnvelopedData"),
        ));
        t.push(case(g, asn(f), Action::Verify(Trust::no_chain(&[])), Want::exit(2).stderr("not SignedData")));
    }
    for f in ["message.der", "message.pem"] {
        let g = "asn1crypto other content types";
        // A bare id-data ContentInfo: neither signed nor compressed.
        t.push(case(
            g,
            asn(f),
            Action::Verify(Trust::no_chain(&[])),
            Want::exit(2).stderr("id-data").stderr("not SignedData"),
        ));
        t.push(case(g, asn(f), Action::Decompress, Want::exit(2).stderr("not CompressedData")));
    }
    for f in ["cms-compressed.der", "cms-compressed.pem"] {
        let g = "asn1crypto compressed";
        t.push(case(g, asn(f), Action::Decompress, Want::ok().output(Expect::File(MESSAGE))));
        t.push(case(
            g,
            asn(f),
            Action::Verify(Trust::no_chain(&[])),
            Want::exit(2).stderr("compressedData").stderr("not SignedData"),
        ));
    }

    // --- Detached signatures without their content (parse only): the signer is still identified. ---
    let g = "detached, content absent";
    let tb = "asn1crypto/smime-signature-generated-by-thunderbird.p7s";
    let mz = "asn1crypto/mozilla-generated-by-openssl.pkcs7.der";
    for f in [tb, mz] {
        t.push(case(g, f, Action::Verify(Trust::no_chain(&[])), Want::exit(2).stderr("detached")));
        t.push(case(g, f, Action::Verify(Trust::ca(&[TEST_CRT])), Want::exit(2).stderr("detached")));
    }
    // Over other content: a bad signature from the named signer (RSA-4096, SHA-512 / SHA-1 as openssl reads).
    t.push(case(
        g,
        tb,
        Action::Detached { trust: Trust::no_chain(&[]), data: LETTER },
        Want::exit(1)
            .status("fail")
            .signers(&["bad"])
            .signer("hash", "sha512")
            .signer("key_bits", 4096)
            .signer("email", "lzinsou@protonmail.com"),
    ));
    t.push(case(
        g,
        mz,
        Action::Detached { trust: Trust::no_chain(&[]), data: LETTER },
        Want::exit(1).status("fail").signers(&["bad"]).signer("hash", "sha1").signer("key_bits", 4096).weak(&["sha1"]),
    ));

    // --- asn1crypto keys and certificates. ---
    // Certificates as recipients: RSA ones work; others are named as unsupported; an RSASSA-PSS key is for
    // signatures only (RFC 4055 section 1.2; `openssl cms -encrypt` refuses it too): no usable key, exit 1.
    let g = "asn1crypto certificates as recipients";
    for f in [
        "test.crt",
        "test-der.crt",
        "test-inter.crt",
        "test-inter-der.crt",
        "test-third.crt",
        "test-third-der.crt",
        "test-validity.crt",
    ] {
        t.push(case(g, asn(&format!("keys/{f}")), Action::EncryptTo, Want::ok()));
    }
    for (f, alg) in [
        ("test-dsa.crt", "DSA"),
        ("test-dsa-der.crt", "DSA"),
        ("test-ec.crt", "EC"),
        ("test-ec-der.crt", "EC"),
        ("test-ec-named.crt", "EC secp256r1"),
        ("test-ec-named-der.crt", "EC secp256r1"),
        ("test-ed25519.crt", "Ed25519"),
        ("test-ed448.crt", "Ed448"),
    ] {
        t.push(case(g, asn(&format!("keys/{f}")), Action::EncryptTo, Want::exit(2).stderr("unsupported").stderr(alg)));
    }
    t.push(case(
        g,
        asn("keys/test-rsapss.crt"),
        Action::EncryptTo,
        Want::exit(1).stderr("RSASSA-PSS").stderr("RFC 4055"),
    ));
    // Files that are no certificate: public keys, PKCS #12, DSA parameters, private keys.
    for f in [
        "test-public.key",
        "test-public-der.key",
        "test-public-rsa.key",
        "test-public-rsa-der.key",
        "test-public-rsapss.key",
        "test-public-rsapss-der.key",
        "test-public-dsa.key",
        "test-public-dsa-der.key",
        "test-public-ec.key",
        "test-public-ec-der.key",
        "test-public-ec-named.key",
        "test-public-ec-named-der.key",
        "test-tripledes.p12",
        "test-rc2.p12",
        "test-dsa.param",
    ] {
        t.push(case(
            "asn1crypto non-certificates as recipients",
            asn(&format!("keys/{f}")),
            Action::EncryptTo,
            Want::exit(2).stderr("certificate"),
        ));
    }
    // Round trips with the keys that have their certificate.
    let g = "asn1crypto keys round trip";
    t.push(case(
        g,
        TEST_KEY,
        Action::EncryptDecrypt { cert: TEST_CRT, key: TEST_KEY, cipher: None },
        Want::ok().integrity("none").cipher("aes256-cbc"),
    ));
    t.push(case(
        g,
        asn("keys/test-der.key"),
        Action::EncryptDecrypt {
            cert: "asn1crypto/keys/test-der.crt",
            key: "asn1crypto/keys/test-der.key",
            cipher: Some("aes128-gcm"),
        },
        Want::ok().integrity("aead").cipher("aes128-gcm"),
    ));
    // The same RSA key as PKCS #1 PEM, PKCS #1 DER, PKCS #8 PEM and PKCS #8 DER.
    for k in ["test.key", "test-der.key", "test-pkcs8.key", "test-pkcs8-der.key"] {
        t.push(case(
            g,
            asn(&format!("keys/{k}")),
            Action::SignVerify { cert: TEST_CRT, key: asn(&format!("keys/{k}")), trust: Trust::no_chain(&[]) },
            pass().signer("key_algorithm", "rsa").signer("email", "will@codexns.io"),
        ));
    }
    // A key that is not the certificate's.
    t.push(case(
        "asn1crypto keys refused",
        "asn1crypto/keys/test-inter.crt",
        Action::Sign { cert: "asn1crypto/keys/test-inter.crt", key: TEST_KEY },
        Want::exit(1).stderr("does not belong to the certificate"),
    ));
    // RSASSA-PSS key (no parameters in the certificate): signing picks PSS by itself, as openssl does, and the
    // signature verifies, also to the certificate as its own trust anchor (valid to 2029).
    for k in ["test-rsapss.key", "test-rsapss-der.key"] {
        t.push(case(
            g,
            asn(&format!("keys/{k}")),
            Action::SignVerify {
                cert: "asn1crypto/keys/test-rsapss.crt",
                key: asn(&format!("keys/{k}")),
                trust: Trust::ca(&["asn1crypto/keys/test-rsapss.crt"]),
            },
            pass().signer("key_algorithm", "rsa-pss").signer("hash", "sha256"),
        ));
    }
    // DSA, EC and EdDSA keys with their certificates: unsupported, named.
    let g = "asn1crypto keys refused";
    for (cert, keys, alg) in [
        (
            "test-dsa.crt",
            &["test-dsa.key", "test-dsa-der.key", "test-pkcs8-dsa.key", "test-pkcs8-dsa-der.key"][..],
            "DSA",
        ),
        ("test-ec.crt", &["test-ec.key", "test-ec-der.key", "test-pkcs8-ec.key", "test-pkcs8-ec-der.key"][..], "EC"),
        (
            "test-ec-named.crt",
            &["test-ec-named.key", "test-ec-named-der.key", "test-pkcs8-ec-named.key", "test-pkcs8-ec-named-der.key"][..],
            "EC secp256r1",
        ),
        ("test-ed25519.crt", &["test-ed25519.key"][..], "Ed25519"),
        ("test-ed448.crt", &["test-ed448.key"][..], "Ed448"),
    ] {
        for k in keys {
            let key: &'static str = asn(&format!("keys/{k}"));
            let cert: &'static str = asn(&format!("keys/{cert}"));
            t.push(case(g, key, Action::Sign { cert, key }, Want::exit(2).stderr("unsupported").stderr(alg)));
        }
    }
    // OpenSSL's traditional encrypted PEM (password unknown, SOURCES.md): read, and without --passphrase-file
    // the error says a passphrase is needed (tests/legacy_pem_keys.rs decrypts such keys). The -der file is
    // only the ciphertext of that key: malformed.
    t.push(case(
        g,
        "asn1crypto/keys/test-aes128.key",
        Action::Sign { cert: TEST_CRT, key: "asn1crypto/keys/test-aes128.key" },
        Want::exit(2).stderr("no passphrase was given"),
    ));
    t.push(case(
        g,
        "asn1crypto/keys/test-aes128-der.key",
        Action::Sign { cert: TEST_CRT, key: "asn1crypto/keys/test-aes128-der.key" },
        Want::exit(2).stderr("malformed"),
    ));

    // --- pyca. ---
    let g = "pyca";
    t.push(case(
        g,
        "pyca/enveloped-triple-des.pem",
        Action::Decrypt { cert: PYCA_CA, key: PYCA_KEY },
        Want::ok()
            .output(Expect::Bytes(HELLO))
            .status("no-signature")
            .integrity("none")
            .cipher("3des-cbc")
            .weak(&["3des"]),
    ));
    t.push(case(
        g,
        "pyca/enveloped-triple-des.pem",
        Action::Decrypt { cert: TEST_CRT, key: TEST_KEY },
        Want::exit(1).stderr("not encrypted to this certificate").stderr("cryptography CA"),
    ));
    // The MIME message is refused with the hint to use `mail`; its body is SignedData without eContent,
    // which openssl reports as "no content": here a detached signature given without its content.
    t.push(case(
        g,
        "pyca/signed-opaque.msg",
        Action::Verify(Trust::no_chain(&[])),
        Want::exit(2).stderr("MIME message"),
    ));
    t.push(case(
        g,
        "pyca/signed-opaque.msg",
        Action::VerifyMimeBody(Trust::no_chain(&[])),
        Want::exit(2).stderr("detached"),
    ));
    // The 4096-bit CA key: encryption and signing round trips, the signature checked to the CA itself.
    t.push(case(
        g,
        PYCA_KEY,
        Action::EncryptDecrypt { cert: PYCA_CA, key: PYCA_KEY, cipher: Some("aes256-gcm") },
        Want::ok().integrity("aead"),
    ));
    t.push(case(
        g,
        PYCA_CA,
        Action::SignVerify { cert: PYCA_CA, key: PYCA_KEY, trust: Trust::ca(&[PYCA_CA]) },
        pass().signer("key_bits", 4096),
    ));

    // --- OpenSSL's S/MIME test PKI (key and certificate in one file). ---
    let sm = |n: &str| -> &'static str { Box::leak(format!("{SM}/{n}.pem").into_boxed_str()) };
    for n in ["smrsa1", "smrsa2", "smrsa3"] {
        let g = "openssl test PKI, RSA";
        let f = sm(n);
        t.push(case(
            g,
            f,
            Action::SignVerify { cert: f, key: f, trust: Trust::no_chain(&[]) },
            pass().signer("key_bits", 2048),
        ));
        // The chain is checked now: the certificate expired on 2023-05-26.
        t.push(case(
            g,
            f,
            Action::SignVerify { cert: f, key: f, trust: Trust::ca(&[SMROOT]) },
            Want::exit(1).status("fail").stderr("certificate path invalid").stderr("expired on 2023-05-26"),
        ));
        t.push(case(g, f, Action::EncryptDecrypt { cert: f, key: f, cipher: None }, Want::ok().integrity("none")));
        t.push(case(
            g,
            f,
            Action::EncryptDecrypt { cert: f, key: f, cipher: Some("aes256-gcm") },
            Want::ok().integrity("aead"),
        ));
        t.push(case(g, f, Action::ChainAt { anchor: SMROOT, at: BEFORE_2023_EXPIRY }, Want::ok()));
    }
    // Another recipient's key.
    t.push(case(
        "openssl test PKI, RSA",
        sm("smrsa2"),
        Action::EncryptDecrypt { cert: sm("smrsa2"), key: sm("smrsa3"), cipher: None },
        Want::exit(1).stderr("does not belong to the certificate"),
    ));
    for (n, alg, chains) in [
        ("smdsa1", "DSA", true),
        ("smdsa2", "DSA", true),
        ("smdsa3", "DSA", true),
        ("smec1", "EC secp256r1", true),
        ("smec2", "EC sect283k1", true),
        // SOURCES.md errata: these two are not signed by this smroot.
        ("smec3", "EC secp256r1", false),
        ("smdh", "Diffie-Hellman", false),
    ] {
        let g = "openssl test PKI, non-RSA";
        let f = sm(n);
        t.push(case(g, f, Action::Sign { cert: f, key: f }, Want::exit(2).stderr("unsupported").stderr(alg)));
        t.push(case(g, f, Action::EncryptTo, Want::exit(2).stderr("unsupported").stderr(alg)));
        let chain = if chains {
            Want::ok()
        } else {
            Want::exit(1).stderr("does not verify with the key of \"CN=Test S/MIME RSA Root")
        };
        t.push(case(g, f, Action::ChainAt { anchor: SMROOT, at: BEFORE_2023_EXPIRY }, chain));
    }
    // The root: its key makes a good signature, but its certificate may not sign mail (keyUsage keyCertSign and
    // cRLSign only), so no path validates for signing, even before it expired.
    let g = "openssl test PKI, root";
    t.push(case(g, SMROOT, Action::SignVerify { cert: SMROOT, key: SMROOT, trust: Trust::no_chain(&[]) }, pass()));
    t.push(case(
        g,
        SMROOT,
        Action::ChainAt { anchor: SMROOT, at: BEFORE_2023_EXPIRY },
        Want::exit(1).stderr("keyUsage lacks digitalSignature"),
    ));
    t.push(case(g, SMROOT, Action::ChainAt { anchor: SMROOT, at: now_secs() }, Want::exit(1).stderr("expired")));
    t.push(case(g, sm("smrsa1"), Action::ChainAt { anchor: SMROOT, at: now_secs() }, Want::exit(1).stderr("expired")));
    // DSA parameters are no certificate.
    t.push(case(g, sm("smdsap"), Action::EncryptTo, Want::exit(2).stderr("DSA PARAMETERS")));
    t
}

fn now_secs() -> u64 {
    SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).unwrap().as_secs()
}

fn walk(dir: &Path, base: &Path, out: &mut Vec<String>) {
    let mut entries: Vec<_> = fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            walk(&p, base, out);
        } else {
            out.push(p.strip_prefix(base).unwrap().to_string_lossy().replace('\\', "/"));
        }
    }
}

use common::sandboxed::Run;

/// Runs sealpost in `dir` through [`common::sandboxed::sealpost`], killing it after [`TIMEOUT`].
fn sealpost(dir: &Path, args: &[String], output: Option<&Path>, verdict: Option<&Path>) -> Run {
    common::sandboxed::sealpost(dir, args, output, verdict, TIMEOUT)
}

/// Standard base64 with whitespace ignored (for the MIME body of `signed-opaque.msg`).
fn base64(text: &[u8]) -> Vec<u8> {
    let val = |c: u8| -> u32 {
        match c {
            b'A'..=b'Z' => u32::from(c - b'A'),
            b'a'..=b'z' => u32::from(c - b'a') + 26,
            b'0'..=b'9' => u32::from(c - b'0') + 52,
            b'+' => 62,
            b'/' => 63,
            _ => panic!("bad base64 {c}"),
        }
    };
    let digits: Vec<u8> = text.iter().copied().filter(|c| !c.is_ascii_whitespace() && *c != b'=').collect();
    let mut out = Vec::new();
    for chunk in digits.chunks(4) {
        let mut acc = 0u32;
        for (i, &c) in chunk.iter().enumerate() {
            acc |= val(c) << (18 - 6 * i);
        }
        out.extend_from_slice(&acc.to_be_bytes()[1..chunk.len()]);
    }
    out
}

/// The body of a MIME message: what follows the first empty line.
fn mime_body(msg: &[u8]) -> &[u8] {
    let at = |sep: &[u8]| msg.windows(sep.len()).position(|w| w == sep).map(|p| p + sep.len());
    let start = at(b"\r\n\r\n").or_else(|| at(b"\n\n")).expect("a MIME message with a body");
    &msg[start..]
}

/// Runs entries, creating the scratch copies they need.
struct Runner {
    base: PathBuf,
    dir: PathBuf,
    n: usize,
}

impl Runner {
    fn fresh(&mut self, what: &str) -> PathBuf {
        self.n += 1;
        self.dir.join(format!("{}-{what}", self.n))
    }

    fn vector(&self, rel: &str) -> String {
        self.base.join(rel).to_string_lossy().into_owned()
    }

    /// A secret key file: copied with mode 0600, as sealpost requires.
    fn secret(&mut self, rel: &str) -> String {
        let p = self.fresh("key");
        fs::write(&p, fs::read(self.base.join(rel)).unwrap()).unwrap();
        fs::set_permissions(&p, fs::Permissions::from_mode(0o600)).unwrap();
        p.to_string_lossy().into_owned()
    }

    fn bytes(&mut self, data: &[u8]) -> String {
        let p = self.fresh("data");
        fs::write(&p, data).unwrap();
        p.to_string_lossy().into_owned()
    }

    fn trust_args(&self, t: &Trust) -> Vec<String> {
        let mut args = Vec::new();
        for c in &t.certs {
            args.extend(["--cert".to_string(), self.vector(c)]);
        }
        for c in &t.cas {
            args.extend(["--ca".to_string(), self.vector(c)]);
        }
        if t.cas.is_empty() {
            args.push("--no-chain".into());
        }
        args
    }

    /// Runs a preparatory step that must succeed; its output file.
    fn step(&mut self, args: Vec<String>, out: &Path) -> Result<(), String> {
        let r = sealpost(&self.dir, &args, Some(out), None);
        if r.code != Some(0) || r.output.is_none() {
            return Err(format!("preparatory step failed: {} -> {:?}: {}", r.line, r.code, r.stderr.trim()));
        }
        Ok(())
    }

    /// Runs an entry: its preparatory steps must succeed; the last run is returned for checking, with whether
    /// it was given an output file.
    fn run(&mut self, c: &Case) -> Result<(Run, bool), String> {
        let out = self.fresh("out");
        let json = self.fresh("verdict.json");
        let out_s = out.to_string_lossy().into_owned();
        let json_s = json.to_string_lossy().into_owned();
        let s = |x: &str| x.to_string();
        let with_output = true;
        let mut with_verdict = true;
        let args: Vec<String> = match &c.action {
            Action::Decrypt { cert, key } => {
                let key = self.secret(key);
                vec![s("smime"), s("decrypt"), s("--cert"), self.vector(cert), s("--key"), key]
            }
            Action::Verify(t) => [s("smime"), s("verify")].into_iter().chain(self.trust_args(t)).collect(),
            Action::VerifyMimeBody(t) => {
                let der = base64(mime_body(&fs::read(self.base.join(&c.file)).unwrap()));
                let p = self.bytes(&der);
                let mut a: Vec<String> = [s("smime"), s("verify")].into_iter().chain(self.trust_args(t)).collect();
                a.extend([s("--verdict-json"), json_s.clone(), s("-o"), out_s.clone(), p]);
                return Ok((sealpost(&self.dir, &a, Some(&out), Some(&json)), true));
            }
            Action::Detached { trust, data } => {
                let d = self.bytes(data);
                let mut a: Vec<String> = [s("smime"), s("verify")].into_iter().chain(self.trust_args(trust)).collect();
                a.extend([s("--signature"), self.vector(&c.file), s("--verdict-json"), json_s.clone(), d]);
                return Ok((sealpost(&self.dir, &a, None, Some(&json)), false));
            }
            Action::Decompress => {
                with_verdict = false;
                vec![s("smime"), s("decompress")]
            }
            Action::EncryptTo => {
                let d = self.bytes(LETTER);
                let a =
                    vec![s("smime"), s("encrypt"), s("--recipient"), self.vector(&c.file), s("-o"), out_s.clone(), d];
                return Ok((sealpost(&self.dir, &a, Some(&out), None), true));
            }
            Action::Sign { cert, key } => {
                let key = self.secret(key);
                let d = self.bytes(LETTER);
                let a = vec![
                    s("smime"),
                    s("sign"),
                    s("--cert"),
                    self.vector(cert),
                    s("--key"),
                    key,
                    s("-o"),
                    out_s.clone(),
                    d,
                ];
                return Ok((sealpost(&self.dir, &a, Some(&out), None), true));
            }
            Action::EncryptDecrypt { cert, key, cipher } => {
                let sealed = self.fresh("sealed.p7m");
                let d = self.bytes(LETTER);
                let mut enc = vec![s("smime"), s("encrypt"), s("--recipient"), self.vector(cert)];
                if let Some(ci) = cipher {
                    enc.extend([s("--cipher"), s(ci)]);
                }
                enc.extend([s("-o"), sealed.to_string_lossy().into_owned(), d]);
                self.step(enc, &sealed)?;
                let key = self.secret(key);
                let mut a = vec![s("smime"), s("decrypt"), s("--cert"), self.vector(cert), s("--key"), key];
                a.extend([
                    s("--verdict-json"),
                    json_s.clone(),
                    s("-o"),
                    out_s.clone(),
                    sealed.to_string_lossy().into_owned(),
                ]);
                return Ok((sealpost(&self.dir, &a, Some(&out), Some(&json)), true));
            }
            Action::SignVerify { cert, key, trust } => {
                let signed = self.fresh("signed.p7m");
                let d = self.bytes(LETTER);
                let k = self.secret(key);
                let sign = vec![
                    s("smime"),
                    s("sign"),
                    s("--cert"),
                    self.vector(cert),
                    s("--key"),
                    k,
                    s("-o"),
                    signed.to_string_lossy().into_owned(),
                    d,
                ];
                self.step(sign, &signed)?;
                let mut a: Vec<String> = [s("smime"), s("verify")].into_iter().chain(self.trust_args(trust)).collect();
                a.extend([
                    s("--verdict-json"),
                    json_s.clone(),
                    s("-o"),
                    out_s.clone(),
                    signed.to_string_lossy().into_owned(),
                ]);
                return Ok((sealpost(&self.dir, &a, Some(&out), Some(&json)), true));
            }
            Action::ChainAt { anchor, at } => {
                let read = |rel: &str| {
                    let mut v = Certificate::read_all(&fs::read(self.base.join(rel)).unwrap()).unwrap();
                    v.remove(0)
                };
                let (leaf, root) = (read(&c.file), read(anchor));
                let time = SystemTime::UNIX_EPOCH + Duration::from_secs(*at);
                let r =
                    x509::validate(&leaf, &[], std::slice::from_ref(&root), &[time], Purpose::Sign, &Policy::default());
                let run = Run {
                    code: Some(if r.is_ok() { 0 } else { 1 }),
                    stderr: r.err().map(|e| format!("sealpost: error: {e}")).unwrap_or_default(),
                    output: None,
                    output_exists: false,
                    verdict: None,
                    peak_kib: 0,
                    elapsed: Duration::ZERO,
                    line: format!("x509::validate({}, anchor {anchor}, at {at})", c.file),
                };
                return Ok((run, false));
            }
        };
        let mut args = args;
        if with_verdict {
            args.extend([s("--verdict-json"), json_s]);
        }
        args.extend([s("-o"), out_s, self.vector(&c.file)]);
        Ok((sealpost(&self.dir, &args, Some(&out), Some(&json)), with_output))
    }
}

/// The contract every CLI run keeps, whatever the entry expects.
fn check_contract(r: &Run, with_output: bool) -> Vec<String> {
    let mut bad = Vec::new();
    let err = &r.stderr;
    match r.code {
        None => bad.push("killed by a signal or the timeout".to_string()),
        Some(c) if !(0..=2).contains(&c) => bad.push(format!("exit status {c} (101 is a panic)")),
        _ => {}
    }
    if err.contains("panicked") || err.contains("RUST_BACKTRACE") || err.contains("stack backtrace") {
        bad.push("panic or backtrace on stderr".into());
    }
    // sealpost's panic hook turns a panic into this line and exit 2 (without unwinding).
    if err.contains("internal error") || err.contains("this is a bug") {
        bad.push("a panic, reported by sealpost's panic hook as an internal error".into());
    }
    if r.code.is_some_and(|c| c != 0) {
        let lines: Vec<&str> = err.lines().filter(|l| !l.trim().is_empty()).collect();
        let errors = lines.iter().filter(|l| l.starts_with("sealpost: error: ")).count();
        if errors != 1 || !lines.last().is_some_and(|l| l.starts_with("sealpost: error: ")) {
            bad.push("not exactly one `sealpost: error:` line, last".into());
        }
        if lines.iter().any(|l| !l.starts_with("sealpost: error: ") && !l.starts_with("smime: ")) {
            bad.push("stderr has lines that are neither the verdict summary nor the error".into());
        }
        if r.output.is_some() {
            bad.push("an -o output file appeared although the command failed".into());
        }
    } else if with_output && r.output.is_none() {
        bad.push("exit 0 but no -o output file".into());
    }
    bad
}

fn crlf(text: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len() + 8);
    for &b in text {
        if b == b'\n' && out.last() != Some(&b'\r') {
            out.push(b'\r');
        }
        out.push(b);
    }
    out
}

fn check_want(c: &Case, r: &Run, base: &Path) -> Vec<String> {
    let w = &c.want;
    let mut bad = Vec::new();
    if r.code != Some(w.exit) {
        bad.push(format!("exit {:?}, want {}", r.code, w.exit));
    }
    let expected = match &w.output {
        Some(Expect::Bytes(b)) => Some(b.to_vec()),
        Some(Expect::File(f)) => Some(fs::read(base.join(f)).unwrap()),
        Some(Expect::FileCrlf(f)) => Some(crlf(&fs::read(base.join(f)).unwrap())),
        None => None,
    };
    // Round trips give back what went in.
    let expected = expected.or(match (&c.action, w.exit) {
        (Action::EncryptDecrypt { .. } | Action::SignVerify { .. }, 0) => Some(LETTER.to_vec()),
        _ => None,
    });
    if let Some(want) = expected {
        match &r.output {
            Some(got) if *got == want => {}
            Some(got) => bad.push(format!(
                "output {:?}, want {:?}",
                String::from_utf8_lossy(&got[..got.len().min(120)]),
                String::from_utf8_lossy(&want[..want.len().min(120)])
            )),
            None => bad.push("no output".into()),
        }
    }
    // An encryption names its recipient: EnvelopedData, with the certificate's serial number in it.
    if let (Action::EncryptTo, Some(out)) = (&c.action, &r.output) {
        let ct = sealpost::smime::input::content_type(out).ok().map(|o| o.to_string());
        if ct.as_deref() != Some("1.2.840.113549.1.7.3") {
            bad.push(format!("output content type {ct:?}, want EnvelopedData"));
        }
        let cert = Certificate::read_all(&fs::read(base.join(&c.file)).unwrap()).unwrap().remove(0);
        let serial = cert.serial_number().as_bytes();
        let mut tlv = vec![0x02, serial.len() as u8];
        tlv.extend_from_slice(serial);
        if !out.windows(tlv.len()).any(|w| w == tlv) {
            bad.push(format!("the output does not name the recipient's serial {}", cert.serial()));
        }
    }
    let lower = r.stderr.to_lowercase();
    for s in &w.stderr {
        if !lower.contains(&s.to_lowercase()) {
            bad.push(format!("stderr lacks {s:?}"));
        }
    }
    if w.needs_verdict() {
        let Some(v) = &r.verdict else {
            bad.push("no verdict JSON".into());
            return bad;
        };
        if let Some(st) = w.status
            && v["status"] != st
        {
            bad.push(format!("status {}, want {st}", v["status"]));
        }
        if let Some(want) = &w.signers {
            let got: Vec<String> = v["signers"]
                .as_array()
                .map(|a| a.iter().map(|s| s["status"].as_str().unwrap_or("?").to_string()).collect())
                .unwrap_or_default();
            if got != *want {
                bad.push(format!("signers {got:?}, want {want:?} ({})", v["signers"]));
            }
        }
        for (field, value) in &w.signer {
            if v["signers"][0][field] != *value {
                bad.push(format!("signer {field} = {}, want {value}", v["signers"][0][field]));
            }
        }
        if let Some(i) = w.integrity
            && v["integrity"] != i
        {
            bad.push(format!("integrity {}, want {i}", v["integrity"]));
        }
        if let Some(cipher) = w.cipher
            && v["algorithms"]["cipher"] != cipher
        {
            bad.push(format!("cipher {}, want {cipher}", v["algorithms"]["cipher"]));
        }
        let weak: BTreeSet<&str> = v["weak"]
            .as_array()
            .into_iter()
            .chain(v["signers"][0]["weak"].as_array())
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        for label in &w.weak {
            if !weak.contains(label) {
                bad.push(format!("weak {weak:?} lacks {label}"));
            }
        }
    }
    bad
}

#[derive(Default)]
struct Tally {
    passed: usize,
    failed: usize,
}

#[test]
fn cms_vectors() {
    let Some(vectors) = common::vectors("cms_vectors") else { return };
    let base = vectors.join("cms");
    let mut files = Vec::new();
    walk(&base, &base, &mut files);
    let cases = table();

    // Accounting: every file is an entry's vector, read by an entry, or listed as no vector.
    let mut read: BTreeSet<String> = BTreeSet::new();
    for c in &cases {
        read.insert(c.file.clone());
        read.extend(c.action.files().into_iter().map(String::from));
        if let Some(Expect::File(f) | Expect::FileCrlf(f)) = &c.want.output {
            read.insert(f.to_string());
        }
    }
    let mut failures = Vec::new();
    let unknown: Vec<&String> =
        files.iter().filter(|f| !read.contains(*f) && !NOT_VECTORS.iter().any(|(n, _)| n == f)).collect();
    for r in &read {
        if !files.contains(r) {
            failures.push(format!("{r}: named by the table but missing"));
        }
    }
    for (n, _) in NOT_VECTORS {
        if !files.iter().any(|f| f == n) {
            failures.push(format!("{n}: listed as no vector but missing"));
        }
    }

    let dir = common::scratch("vectors-cms");
    let mut runner = Runner { base: base.clone(), dir, n: 0 };
    let mut groups: BTreeMap<&str, Tally> = BTreeMap::new();
    let mut per_file: BTreeMap<String, usize> = BTreeMap::new();
    let start = Instant::now();
    for c in &cases {
        *per_file.entry(c.file.clone()).or_default() += 1;
        let (problems, line) = match runner.run(c) {
            Ok((run, with_output)) => {
                let mut p =
                    if matches!(c.action, Action::ChainAt { .. }) { vec![] } else { check_contract(&run, with_output) };
                p.extend(check_want(c, &run, &base));
                if !p.is_empty() {
                    p.push(format!("stderr: {}", run.stderr.trim().replace('\n', " | ")));
                }
                (p, run.line)
            }
            Err(e) => (vec![e], String::new()),
        };
        let tally = groups.entry(c.group).or_default();
        if problems.is_empty() {
            tally.passed += 1;
        } else {
            tally.failed += 1;
            failures.push(format!("[{}] {}\n    {}\n    {}", c.group, c.file, line, problems.join("\n    ")));
        }
    }

    let mut report = String::new();
    for folder in [ASN, "pyca", SM] {
        let in_folder = |f: &String| f.starts_with(&format!("{folder}/"));
        let n_files = files.iter().filter(|f| in_folder(f)).count();
        let n_entries: usize = per_file.iter().filter(|(f, _)| in_folder(f)).map(|(_, n)| n).sum();
        writeln!(report, "  {folder}/: {n_files} files, {n_entries} entries about them").unwrap();
    }
    for (g, t) in &groups {
        writeln!(report, "  {g:<42} {:>4} passed {:>3} failed", t.passed, t.failed).unwrap();
    }
    let subjects = per_file.len();
    println!(
        "CMS vectors: {} files, {} read ({} as an entry's subject) by {} entries, {} not vectors; {:.1} s\n{report}",
        files.len(),
        read.len(),
        subjects,
        cases.len(),
        NOT_VECTORS.len(),
        start.elapsed().as_secs_f64()
    );
    assert!(unknown.is_empty(), "files under cms/ with no entry (add them to the table): {unknown:?}");
    assert!(failures.is_empty(), "{} failures:\n{}", failures.len(), failures.join("\n"));
}
