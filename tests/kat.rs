//! Known-answer tests for every primitive, from the files in `../shared/vectors/primitives/`.
//!
//! One table maps every file to the checker for its format. The test walks the directory and fails when a
//! file is in neither the table nor the short list of non-vector files, so a new vector file cannot be
//! skipped silently. Each checker counts the vectors it checked; every file must yield at least one, every
//! vector must pass, and the counts are printed.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // A panic in a test is a failed test.

mod common;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use common::hex;
use sealpost::core::cipher::CipherAlgorithm;
use sealpost::core::digest::{HashAlgorithm, Hmac, digest};
use sealpost::core::mode::{Direction, Mode, Padding, process};
use sealpost::core::rsa::{EncryptionPadding, RsaPrivateKey, RsaPublicKey, SignaturePadding};

/// What one file yielded.
#[derive(Default)]
struct Tally {
    /// Vectors checked, by kind (e.g. "encrypt", "valid", "invalid").
    checked: BTreeMap<String, usize>,
    /// Descriptions of failures.
    failures: Vec<String>,
}

impl Tally {
    fn pass(&mut self, kind: &str) {
        *self.checked.entry(kind.to_string()).or_default() += 1;
    }

    fn check(&mut self, kind: &str, ok: bool, what: impl FnOnce() -> String) {
        if ok {
            self.pass(kind);
        } else {
            self.failures.push(what());
        }
    }

    fn total(&self) -> usize {
        self.checked.values().sum()
    }
}

type Checker = fn(&str, &str, &mut Tally);

/// Every vector file and its checker (paths relative to `primitives/`).
const TABLE: &[(&str, Checker)] = &[
    ("cast5/cast5-ecb.txt", check_cast5),
    ("idea/evpciph_idea.txt", check_openssl_evp),
    ("md5/rfc-1321.txt", check_md5),
    ("nist-cavp/sha1/SHA1ShortMsg.rsp", check_sha1),
    ("nist-cavp/rsa-pkcs1v15/SigGen15_186-2.txt", check_siggen),
    ("nist-cavp/rsa-pkcs1v15/SigGen15_186-3.txt", check_siggen),
    ("nist-cavp/rsa-pkcs1v15/SigVer15_186-3.rsp", check_sigver),
    ("wycheproof/hmac_sha1_test.json", check_wycheproof_hmac),
    ("wycheproof/rsa_pkcs1_2048_test.json", check_wycheproof_decrypt),
    ("wycheproof/rsa_pkcs1_3072_test.json", check_wycheproof_decrypt),
    ("wycheproof/rsa_pkcs1_4096_test.json", check_wycheproof_decrypt),
    ("wycheproof/rsa_pkcs1_1024_sig_gen_test.json", check_wycheproof_sig_gen),
    ("wycheproof/rsa_pkcs1_1536_sig_gen_test.json", check_wycheproof_sig_gen),
    ("wycheproof/rsa_pkcs1_2048_sig_gen_test.json", check_wycheproof_sig_gen),
    ("wycheproof/rsa_pkcs1_3072_sig_gen_test.json", check_wycheproof_sig_gen),
    ("wycheproof/rsa_pkcs1_4096_sig_gen_test.json", check_wycheproof_sig_gen),
    ("wycheproof/rsa_signature_2048_sha256_test.json", check_wycheproof_verify),
    ("wycheproof/rsa_signature_2048_sha512_test.json", check_wycheproof_verify),
    ("wycheproof/rsa_signature_3072_sha256_test.json", check_wycheproof_verify),
    ("wycheproof/rsa_signature_4096_sha256_test.json", check_wycheproof_verify),
];

/// Files that hold no vectors, and why.
fn not_vectors(rel: &str) -> bool {
    rel.contains("LICENSE") || rel.ends_with("README.txt") || rel.starts_with("wycheproof/schemas/")
}

/// NIST TDES files are many and regular: their mode comes from the name.
fn tdes_mode(rel: &str) -> Option<Mode> {
    let name = rel.strip_prefix("nist-cavp/tdes/")?;
    [("TECB", Mode::Ecb), ("TCBC", Mode::Cbc), ("TCFB64", Mode::Cfb), ("TCFB8", Mode::Cfb8), ("TOFB", Mode::Ofb)]
        .into_iter()
        .find(|(prefix, _)| name.starts_with(prefix))
        .map(|(_, m)| m)
}

fn walk(dir: &Path, base: &Path, out: &mut Vec<String>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            walk(&p, base, out);
        } else {
            out.push(p.strip_prefix(base).unwrap().to_string_lossy().replace('\\', "/"));
        }
    }
}

#[test]
fn known_answer_tests() {
    let Some(vectors) = common::vectors("known_answer_tests") else { return };
    let base = vectors.join("primitives");
    let mut files = Vec::new();
    walk(&base, &base, &mut files);
    let mut report = String::new();
    let mut failures = Vec::new();
    let mut grand = 0;
    let mut unknown = Vec::new();
    for rel in &files {
        if not_vectors(rel) {
            continue;
        }
        let text = std::fs::read_to_string(base.join(rel)).unwrap();
        let mut tally = Tally::default();
        if let Some(mode) = tdes_mode(rel) {
            check_tdes(rel, &text, mode, &mut tally);
        } else if let Some((_, checker)) = TABLE.iter().find(|(p, _)| p == rel) {
            checker(rel, &text, &mut tally);
        } else {
            unknown.push(rel.clone());
            continue;
        }
        let kinds: Vec<String> = tally.checked.iter().map(|(k, n)| format!("{k} {n}")).collect();
        writeln!(report, "  {rel:<52} {:>5}  ({})", tally.total(), kinds.join(", ")).unwrap();
        if tally.total() == 0 {
            failures.push(format!("{rel}: no vectors found"));
        }
        grand += tally.total();
        failures.extend(tally.failures.into_iter().map(|f| format!("{rel}: {f}")));
    }
    for (rel, _) in TABLE {
        if !files.iter().any(|f| f == rel) {
            failures.push(format!("{rel}: listed in the table but missing"));
        }
    }
    println!("known-answer vectors checked, per file:\n{report}  total: {grand}");
    assert!(unknown.is_empty(), "vector files with no checker (add them to the table): {unknown:?}");
    assert!(failures.is_empty(), "{} failures:\n{}", failures.len(), failures.join("\n"));
    assert!(grand > 3000, "suspiciously few vectors: {grand}");
}

/// `Key = value` records separated by blank lines; `[SECTION]` lines set a section carried into records.
fn records(text: &str) -> Vec<BTreeMap<String, String>> {
    let mut out = Vec::new();
    let mut section = String::new();
    let mut cur: BTreeMap<String, String> = BTreeMap::new();
    let mut globals: BTreeMap<String, String> = BTreeMap::new();
    for line in text.lines().map(str::trim) {
        if line.starts_with('#') {
            continue;
        }
        if line.is_empty() {
            if !cur.is_empty() {
                let mut rec = globals.clone();
                rec.extend(std::mem::take(&mut cur));
                rec.insert("_section".into(), section.clone());
                out.push(rec);
            }
            continue;
        }
        if let Some(s) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            section = s.to_string();
            if let Some((k, v)) = s.split_once('=') {
                globals.insert(k.trim().to_string(), v.trim().to_string());
            }
            continue;
        }
        if let Some((k, v)) = line.split_once('=') {
            cur.insert(k.trim().to_string(), v.trim().to_string());
        }
    }
    if !cur.is_empty() {
        let mut rec = globals.clone();
        rec.extend(cur);
        rec.insert("_section".into(), section);
        out.push(rec);
    }
    out
}

#[allow(clippy::too_many_arguments)] // One argument per field of a known-answer record.
fn cipher_both_ways(
    tally: &mut Tally,
    alg: CipherAlgorithm,
    mode: Mode,
    key: &[u8],
    iv: &[u8],
    pt: &[u8],
    ct: &[u8],
    label: &str,
) {
    let enc = process(alg, mode, Direction::Encrypt, key, iv, Padding::None, pt);
    tally.check("encrypt", enc.as_deref().ok() == Some(ct), || format!("{label}: encrypt gave {enc:02x?}"));
    let dec = process(alg, mode, Direction::Decrypt, key, iv, Padding::None, ct);
    tally.check("decrypt", dec.as_deref().ok() == Some(pt), || format!("{label}: decrypt gave {dec:02x?}"));
}

fn check_tdes(_rel: &str, text: &str, mode: Mode, tally: &mut Tally) {
    for r in records(text) {
        let Some(count) = r.get("COUNT") else { continue };
        let key = match r.get("KEYs") {
            Some(k) => hex(&k.repeat(3)),
            None => [hex(&r["KEY1"]), hex(&r["KEY2"]), hex(&r["KEY3"])].concat(),
        };
        let iv = r.get("IV").map(|v| hex(v)).unwrap_or_default();
        let (pt, ct) = (hex(&r["PLAINTEXT"]), hex(&r["CIPHERTEXT"]));
        let label = format!("{} COUNT {count}", r["_section"]);
        cipher_both_ways(tally, CipherAlgorithm::TripleDes, mode, &key, &iv, &pt, &ct, &label);
        // Records whose three keys are equal are single-DES known answers: check DES itself too.
        if key[..8] == key[8..16] && key[..8] == key[16..] {
            cipher_both_ways(tally, CipherAlgorithm::Des, mode, &key[..8], &iv, &pt, &ct, &format!("{label} (DES)"));
        }
    }
}

fn check_cast5(_rel: &str, text: &str, tally: &mut Tally) {
    for r in records(text) {
        let (Some(k), Some(p), Some(c)) = (r.get("key"), r.get("plaintext"), r.get("ciphertext")) else { continue };
        let label = format!("CAST5 {}-bit key", k.len() * 4);
        cipher_both_ways(tally, CipherAlgorithm::Cast5, Mode::Ecb, &hex(k), &[], &hex(p), &hex(c), &label);
    }
}

fn check_openssl_evp(_rel: &str, text: &str, tally: &mut Tally) {
    for (i, r) in records(text).into_iter().enumerate() {
        let Some(cipher) = r.get("Cipher") else { continue };
        let mode = match cipher.as_str() {
            "IDEA-ECB" => Mode::Ecb,
            "IDEA-CBC" => Mode::Cbc,
            "IDEA-CFB" => Mode::Cfb,
            "IDEA-OFB" => Mode::Ofb,
            other => {
                tally.failures.push(format!("record {i}: unknown cipher {other}"));
                continue;
            }
        };
        let iv = r.get("IV").map(|v| hex(v)).unwrap_or_default();
        let label = format!("record {i} {cipher}");
        cipher_both_ways(
            tally,
            CipherAlgorithm::Idea,
            mode,
            &hex(&r["Key"]),
            &iv,
            &hex(&r["Plaintext"]),
            &hex(&r["Ciphertext"]),
            &label,
        );
    }
}

fn check_hash_records(text: &str, alg: HashAlgorithm, tally: &mut Tally) {
    for r in records(text) {
        let (Some(len), Some(msg), Some(md)) = (r.get("Len"), r.get("Msg"), r.get("MD")) else { continue };
        let bits: usize = len.parse().unwrap();
        let msg = hex(msg);
        let msg = &msg[..bits / 8];
        let got = digest(alg, msg).to_hex();
        tally.check(alg.name(), got == md.to_lowercase(), || format!("Len {len}: got {got}, want {md}"));
    }
}

fn check_md5(_rel: &str, text: &str, tally: &mut Tally) {
    check_hash_records(text, HashAlgorithm::Md5, tally);
}

fn check_sha1(_rel: &str, text: &str, tally: &mut Tally) {
    check_hash_records(text, HashAlgorithm::Sha1, tally);
}

fn nist_hash(name: &str) -> HashAlgorithm {
    HashAlgorithm::from_name(&name.to_lowercase()).unwrap_or_else(|| panic!("unknown hash {name}"))
}

/// NIST RSA files state `n` (and in SigGen `e`, `d`) in a block of their own, valid for the records that
/// follow: carry them forward.
fn with_carried_key(text: &str) -> Vec<BTreeMap<String, String>> {
    let mut carried: BTreeMap<String, String> = BTreeMap::new();
    let mut out = Vec::new();
    for mut r in records(text) {
        for k in ["n", "e", "d"] {
            if let Some(v) = r.get(k) {
                carried.insert(k.to_string(), v.clone());
            }
        }
        if r.contains_key("SHAAlg") {
            for (k, v) in &carried {
                r.entry(k.clone()).or_insert_with(|| v.clone());
            }
            out.push(r);
        }
    }
    out
}

fn check_siggen(_rel: &str, text: &str, tally: &mut Tally) {
    let mut keys: BTreeMap<(String, String, String), RsaPrivateKey> = BTreeMap::new();
    for r in with_carried_key(text) {
        let (Some(n), Some(e), Some(d), Some(alg), Some(msg), Some(s)) =
            (r.get("n"), r.get("e"), r.get("d"), r.get("SHAAlg"), r.get("Msg"), r.get("S"))
        else {
            continue;
        };
        let id = (n.clone(), e.clone(), d.clone());
        if !keys.contains_key(&id) {
            keys.insert(id.clone(), RsaPrivateKey::from_private_exponent(&hex(n), &hex(e), &hex(d)).unwrap());
        }
        let key = &keys[&id];
        let h = nist_hash(alg);
        let dg = digest(h, &hex(msg));
        let sig = key.sign(SignaturePadding::Pkcs1v15, h, dg.as_bytes());
        let want = hex(s);
        tally.check(&format!("sign {}", h.name()), sig.as_deref().ok() == Some(&want[..]), || {
            format!("{} {alg}: signature differs", key.bits())
        });
        let ok = key.public().verify(SignaturePadding::Pkcs1v15, h, dg.as_bytes(), &want).is_ok();
        tally.check("verify", ok, || format!("{} {alg}: own verify failed", key.bits()));
    }
}

fn check_sigver(_rel: &str, text: &str, tally: &mut Tally) {
    for r in with_carried_key(text) {
        let (Some(n), Some(e), Some(alg), Some(msg), Some(s), Some(result)) =
            (r.get("n"), r.get("e"), r.get("SHAAlg"), r.get("Msg"), r.get("S"), r.get("Result"))
        else {
            continue;
        };
        let key = RsaPublicKey::from_components(&hex(n), &hex(e)).unwrap();
        let h = nist_hash(alg);
        let ok = key.verify(SignaturePadding::Pkcs1v15, h, digest(h, &hex(msg)).as_bytes(), &hex(s)).is_ok();
        let want = result.starts_with('P');
        tally.check(if want { "pass" } else { "fail" }, ok == want, || format!("{alg} {result}: got {ok}"));
    }
}

fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap()
}

fn tests_of(v: &serde_json::Value) -> impl Iterator<Item = (&serde_json::Value, &serde_json::Value)> {
    v["testGroups"].as_array().unwrap().iter().flat_map(|g| g["tests"].as_array().unwrap().iter().map(move |t| (g, t)))
}

fn s<'a>(v: &'a serde_json::Value, k: &str) -> &'a str {
    v[k].as_str().unwrap_or_else(|| panic!("missing {k}"))
}

fn wycheproof_hash(g: &serde_json::Value) -> HashAlgorithm {
    nist_hash(&s(g, "sha").replace('-', ""))
}

fn check_wycheproof_hmac(_rel: &str, text: &str, tally: &mut Tally) {
    for (g, t) in tests_of(&json(text)) {
        let tag_bytes = g["tagSize"].as_u64().unwrap() as usize / 8;
        let mut m = Hmac::new(HashAlgorithm::Sha1, &hex(s(t, "key")));
        m.update(&hex(s(t, "msg")));
        let full = m.finish();
        let matches = full.as_bytes()[..tag_bytes.min(20)] == hex(s(t, "tag"))[..];
        let result = s(t, "result");
        let want = result == "valid";
        tally.check(result, matches == want, || format!("tcId {}: tag match {matches}, want {result}", t["tcId"]));
    }
}

fn check_wycheproof_decrypt(_rel: &str, text: &str, tally: &mut Tally) {
    let v = json(text);
    for g in v["testGroups"].as_array().unwrap() {
        let key = RsaPrivateKey::from_der(&hex(s(g, "privateKeyPkcs8"))).unwrap();
        for t in g["tests"].as_array().unwrap() {
            let (ct, msg, result) = (hex(s(t, "ct")), hex(s(t, "msg")), s(t, "result"));
            let got = key.decrypt(EncryptionPadding::Pkcs1v15, &ct);
            let id = &t["tcId"];
            match result {
                "valid" => {
                    tally.check("valid", got.as_deref().ok().map(|g| &g[..]) == Some(&msg[..]), || {
                        format!("tcId {id}: {got:?}")
                    });
                    // The implicit-rejection path gives the same key when the length is right.
                    let sk = key.decrypt_session_key(&ct, msg.len()).unwrap();
                    tally.check("valid (session key)", sk[..] == msg[..], || format!("tcId {id}: session key differs"));
                }
                "invalid" => {
                    tally.check("invalid", got.is_err(), || format!("tcId {id}: invalid ciphertext decrypted"));
                    // Never an error on the session-key path: random bytes of the asked-for length instead.
                    let sk = key.decrypt_session_key(&ct, 16).unwrap();
                    tally.check("invalid (session key)", sk.len() == 16, || format!("tcId {id}: length {}", sk.len()));
                }
                _ => tally.pass("acceptable"),
            }
        }
    }
}

fn check_wycheproof_sig_gen(_rel: &str, text: &str, tally: &mut Tally) {
    let v = json(text);
    for g in v["testGroups"].as_array().unwrap() {
        let key = RsaPrivateKey::from_der(&hex(s(g, "privateKeyPkcs8"))).unwrap();
        let h = wycheproof_hash(g);
        for t in g["tests"].as_array().unwrap() {
            let dg = digest(h, &hex(s(t, "msg")));
            let got = key.sign(SignaturePadding::Pkcs1v15, h, dg.as_bytes());
            let want = hex(s(t, "sig"));
            let result = s(t, "result");
            let matches = got.as_deref().ok() == Some(&want[..]);
            let label = format!("{result} {}", h.name());
            tally.check(&label, matches == (result != "invalid"), || format!("tcId {}: match {matches}", t["tcId"]));
        }
    }
}

fn check_wycheproof_verify(_rel: &str, text: &str, tally: &mut Tally) {
    let v = json(text);
    for g in v["testGroups"].as_array().unwrap() {
        let key = RsaPublicKey::from_der(&hex(s(g, "publicKeyDer"))).unwrap();
        let h = wycheproof_hash(g);
        for t in g["tests"].as_array().unwrap() {
            let dg = digest(h, &hex(s(t, "msg")));
            let ok = key.verify(SignaturePadding::Pkcs1v15, h, dg.as_bytes(), &hex(s(t, "sig"))).is_ok();
            let result = s(t, "result");
            match result {
                "acceptable" => tally.pass("acceptable"),
                _ => tally.check(result, ok == (result == "valid"), || format!("tcId {}: verified {ok}", t["tcId"])),
            }
        }
    }
}
