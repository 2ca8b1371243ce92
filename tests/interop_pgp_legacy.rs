//! OpenPGP legacy key families with GnuPG (issue #10, item 4): DSA signatures and ElGamal encryption on
//! fresh keys made by `gpg --quick-gen-key ... dsa2048 sign,cert` with `--quick-add-key FPR elg2048 encr`,
//! both directions, on random content of several MiB: gpg encrypts to ElGamal, we decrypt; we encrypt to
//! ElGamal, gpg decrypts; gpg signs with DSA, we verify; we sign with DSA, gpg verifies; sign+encrypt both
//! ways. A dsa1024/elg1024 pair checks the weak labels (read and decrypted, labelled `dsa-1024` and
//! `elgamal-1024`), and that sealpost makes no DSA or ElGamal key of its own (let alone a 1024-bit one).
//!
//! Peer rule: without gpg each test prints why it skips, and fails under `SEALPOST_REQUIRE_PEERS=1`. Every
//! command is printed with its status and output when it does not end as expected; the keys are made once
//! per test binary and each test imports them into its own gpg home.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // A panic in a test is a failed test.

mod common;

use std::fs::{self, Permissions};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use common::gpg::Gpg;
use common::{peer, pseudo_random, run_ok, scratch};
use serde_json::Value;

/// "Several MiB", and a length that is a multiple of no block or chunk size.
const BIG: usize = 3 * (1 << 20) + 4099;

fn sealpost() -> Command {
    Command::new(env!("CARGO_BIN_EXE_sealpost"))
}

fn describe(shown: &str, out: &Output) -> String {
    let text = |b: &[u8]| String::from_utf8_lossy(&b[..b.len().min(4000)]).into_owned();
    format!("command: {shown}\nstatus: {}\nstdout:\n{}\nstderr:\n{}", out.status, text(&out.stdout), text(&out.stderr))
}

/// Runs a command that must exit with `code`; otherwise prints the command and its output and fails.
fn expect_exit(cmd: &mut Command, code: i32) -> Output {
    let shown = format!("{cmd:?}");
    let out = cmd.output().unwrap_or_else(|e| panic!("cannot run {shown}: {e}"));
    assert_eq!(out.status.code(), Some(code), "expected exit status {code}\n{}", describe(&shown, &out));
    out
}

fn both(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

fn write(dir: &Path, name: &str, data: &[u8]) -> PathBuf {
    let path = dir.join(name);
    fs::write(&path, data).unwrap();
    path
}

fn assert_same_file(got: &Path, want: &Path, what: &str) {
    let (g, w) = (fs::read(got).unwrap_or_else(|e| panic!("{what}: {}: {e}", got.display())), fs::read(want).unwrap());
    if g != w {
        let at = g.iter().zip(&w).position(|(a, b)| a != b).unwrap_or(g.len().min(w.len()));
        panic!(
            "{what}: {} ({} bytes) differs from {} ({} bytes) at byte {at}",
            got.display(),
            g.len(),
            want.display(),
            w.len()
        );
    }
}

fn verdict(path: &Path) -> Value {
    let text = fs::read_to_string(path).unwrap_or_else(|e| panic!("no verdict JSON at {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("verdict {} does not parse: {e}\n{text}", path.display()))
}

fn weak_list(v: &Value) -> Vec<String> {
    v["weak"].as_array().map(|a| a.iter().filter_map(|w| w.as_str().map(str::to_string)).collect()).unwrap_or_default()
}

/// One good DSA signature of `bits` bits by `key`, with the message status `status`.
fn assert_dsa_signer(v: &Value, key: &Key, status: &str) {
    assert_eq!(v["status"], status, "verdict {v:#}");
    let signers = v["signers"].as_array().unwrap_or_else(|| panic!("no signers in {v:#}"));
    assert_eq!(signers.len(), 1, "verdict {v:#}");
    assert_eq!(signers[0]["status"], "good", "verdict {v:#}");
    assert_eq!(signers[0]["key_algorithm"], "dsa", "verdict {v:#}");
    assert_eq!(signers[0]["key_bits"], key.bits, "verdict {v:#}");
    assert!(signers[0]["id"].as_str().unwrap_or_default().contains(&key.email), "signer id, verdict {v:#}");
}

// ---------------------------------------------------------------------------------------------------------
// gpg homes and keys.

/// A gpg-made DSA primary key with an ElGamal subkey, exported to files.
struct Key {
    email: String,
    bits: usize,
    cert: PathBuf,
    key: PathBuf,
    /// The ElGamal subkey's key id (16 upper-case hex digits), as gpg reports PKESK recipients.
    elgamal_keyid: String,
}

/// Lea: dsa2048 + elg2048. Old: dsa1024 + elg1024.
fn keys(bin: &Path) -> &'static [Key] {
    static KEYS: OnceLock<Vec<Key>> = OnceLock::new();
    KEYS.get_or_init(|| {
        let dir = scratch("interop-pgp-legacy-keys");
        let gpg = Gpg::new(bin);
        [
            ("lea", "Lea <lea@example.org>", "lea@example.org", 2048),
            ("old", "Old <old@example.org>", "old@example.org", 1024),
        ]
        .into_iter()
        .map(|(name, uid, email, bits)| {
            run_ok(gpg.cmd().args(["--quick-gen-key", uid, &format!("dsa{bits}"), "sign,cert", "never"]));
            let fpr = gpg.fingerprint(email);
            run_ok(gpg.cmd().args(["--quick-add-key", &fpr, &format!("elg{bits}"), "encr", "never"]));
            let listing =
                String::from_utf8_lossy(&run_ok(gpg.cmd().args(["--with-colons", "--list-keys", email])).stdout)
                    .into_owned();
            // sub:...:<bits>:16:<keyid>:...: the ElGamal subkey (algorithm 16) of the right size.
            let sub =
                listing.lines().find(|l| l.starts_with("sub:")).unwrap_or_else(|| panic!("no subkey:\n{listing}"));
            let fields: Vec<&str> = sub.split(':').collect();
            assert_eq!((fields[2], fields[3]), (bits.to_string().as_str(), "16"), "gpg made {sub}");
            let cert = dir.join(format!("{name}.cert"));
            let key = dir.join(format!("{name}.key"));
            run_ok(gpg.cmd().args(["--armor", "--output"]).arg(&cert).args(["--export", email]));
            run_ok(gpg.cmd().args(["--armor", "--output"]).arg(&key).args(["--export-secret-keys", email]));
            fs::set_permissions(&key, Permissions::from_mode(0o600)).unwrap();
            Key { email: email.to_string(), bits, cert, key, elgamal_keyid: fields[4].to_uppercase() }
        })
        .collect()
    })
}

/// A gpg home for one test holding both key pairs; `None` (after printing why) when gpg is missing.
fn setup(test: &str) -> Option<(Gpg, &'static [Key], PathBuf)> {
    let bin = peer(test, "gpg")?;
    let keys = keys(&bin);
    let gpg = Gpg::new(&bin);
    for k in keys {
        run_ok(gpg.cmd().arg("--import").arg(&k.key));
    }
    Some((gpg, keys, scratch(test)))
}

/// `gpg --list-packets`: the PKESK's algorithm and recipient, as `(algo, keyid)`.
fn gpg_pkesk(gpg: &Gpg, msg: &Path) -> (String, String) {
    let out = gpg.cmd().arg("--list-packets").arg(msg).output().unwrap();
    let text = both(&out);
    let line = text.lines().find(|l| l.contains(":pubkey enc packet:")).unwrap_or_else(|| panic!("no PKESK:\n{text}"));
    let after =
        |key: &str| line.split(key).nth(1).and_then(|r| r.split([',', ' ']).next()).unwrap_or_default().to_string();
    (after("algo "), after("keyid ").to_uppercase())
}

fn our_decrypt(msg: &Path, key: &Key, signer: Option<&Key>, out: &Path, json: &Path) -> Command {
    let mut cmd = sealpost();
    cmd.args(["pgp", "decrypt", "--key"]).arg(&key.key).arg("--verdict-json").arg(json).arg("-o").arg(out);
    if let Some(s) = signer {
        cmd.arg("--verify-with").arg(&s.cert);
    }
    cmd.arg(msg);
    cmd
}

// ---------------------------------------------------------------------------------------------------------
// The tests.

#[test]
fn gpg_encrypts_to_elgamal_we_decrypt() {
    const TEST: &str = "gpg_encrypts_to_elgamal_we_decrypt";
    let Some((gpg, keys, dir)) = setup(TEST) else { return };
    let lea = &keys[0];
    let plain = write(&dir, "plain", &pseudo_random(BIG, 101));
    for (cipher, ours, weak, z) in
        [("AES256", "aes256", false, "0"), ("AES128", "aes128", false, "6"), ("CAST5", "cast5", true, "0")]
    {
        let msg = dir.join(format!("{cipher}.gpg"));
        run_ok(
            gpg.cmd()
                .args(["--recipient", &lea.email, "--cipher-algo", cipher, "-z", z, "--output"])
                .arg(&msg)
                .arg("--encrypt")
                .arg(&plain),
        );
        assert_eq!(gpg_pkesk(&gpg, &msg), ("16".to_string(), lea.elgamal_keyid.clone()), "gpg's PKESK");
        let (out, json) = (dir.join(format!("{cipher}.out")), dir.join(format!("{cipher}.json")));
        expect_exit(&mut our_decrypt(&msg, lea, None, &out, &json), 0);
        assert_same_file(&out, &plain, cipher);
        let v = verdict(&json);
        assert_eq!((v["encrypted"].as_bool(), v["integrity"].as_str()), (Some(true), Some("mdc")), "verdict {v:#}");
        assert_eq!(v["algorithms"]["cipher"], ours, "verdict {v:#}");
        assert_eq!(v["algorithms"]["key_transport"], "public-key", "verdict {v:#}");
        assert_eq!(
            weak_list(&v),
            if weak { vec![ours.to_string()] } else { vec![] },
            "an ElGamal-2048 key is not weak"
        );
    }
    // Armored, through standard input.
    let msg = dir.join("armored.asc");
    run_ok(gpg.cmd().args(["--armor", "--recipient", &lea.email, "--output"]).arg(&msg).arg("--encrypt").arg(&plain));
    let out = dir.join("armored.out");
    let mut cmd = sealpost();
    cmd.args(["pgp", "decrypt", "--key"]).arg(&lea.key).arg("-o").arg(&out).stdin(fs::File::open(&msg).unwrap());
    expect_exit(&mut cmd, 0);
    assert_same_file(&out, &plain, "armored from stdin");
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn we_encrypt_to_elgamal_gpg_decrypts() {
    const TEST: &str = "we_encrypt_to_elgamal_gpg_decrypts";
    let Some((gpg, keys, dir)) = setup(TEST) else { return };
    let lea = &keys[0];
    let plain = write(&dir, "plain", &pseudo_random(BIG, 102));
    for (cipher, id, args) in
        [("aes256", "9", &[][..]), ("aes128", "7", &["--compress", "zlib"][..]), ("3des", "2", &["--armor"][..])]
    {
        let msg = dir.join(format!("{cipher}.pgp"));
        expect_exit(
            sealpost()
                .args(["pgp", "encrypt", "--recipient"])
                .arg(&lea.cert)
                .args(["--cipher", cipher])
                .args(args)
                .arg("-o")
                .arg(&msg)
                .arg(&plain),
            0,
        );
        assert_eq!(gpg_pkesk(&gpg, &msg), ("16".to_string(), lea.elgamal_keyid.clone()), "our PKESK");
        let out = dir.join(format!("{cipher}.out"));
        let said = both(&run_ok(gpg.cmd().args(["--status-fd", "2", "--decrypt", "--output"]).arg(&out).arg(&msg)));
        assert!(said.contains("[GNUPG:] DECRYPTION_OKAY"), "{cipher}: gpg did not decrypt:\n{said}");
        assert!(said.contains("[GNUPG:] GOODMDC"), "{cipher}: no MDC:\n{said}");
        let info = said.lines().find(|l| l.starts_with("[GNUPG:] DECRYPTION_INFO")).unwrap_or_default();
        assert_eq!(info.split_whitespace().nth(3), Some(id), "{cipher}: {info}");
        assert!(said.contains("ELG key"), "{cipher}: gpg did not use the ElGamal key:\n{said}");
        assert_same_file(&out, &plain, cipher);
    }
    // Two recipients: the ElGamal key and the 1024-bit one; gpg opens it with each secret key alone.
    let old = &keys[1];
    let msg = dir.join("two.pgp");
    expect_exit(
        sealpost()
            .args(["pgp", "encrypt", "--recipient"])
            .arg(&lea.cert)
            .arg("--recipient")
            .arg(&old.cert)
            .arg("-o")
            .arg(&msg)
            .arg(&plain),
        0,
    );
    let (out, json) = (dir.join("two.out"), dir.join("two.json"));
    expect_exit(&mut our_decrypt(&msg, old, None, &out, &json), 0);
    assert_same_file(&out, &plain, "two recipients, opened with the 1024-bit key");
    let out2 = dir.join("two.gpg.out");
    run_ok(gpg.cmd().args(["--decrypt", "--output"]).arg(&out2).arg(&msg));
    assert_same_file(&out2, &plain, "two recipients, gpg");
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn gpg_signs_with_dsa_we_verify() {
    const TEST: &str = "gpg_signs_with_dsa_we_verify";
    let Some((gpg, keys, dir)) = setup(TEST) else { return };
    let lea = &keys[0];
    let plain = write(&dir, "plain", &pseudo_random(BIG, 103));
    let text = write(&dir, "letter.txt", b"Dear Bob,\n- a dash-escaped line\nFrom here on\n\nLea\n");
    // (label, gpg arguments, input, inline?)
    let kinds: [(&str, &[&str], &Path, bool); 5] = [
        ("binary", &["--sign"], &plain, true),
        ("sha512-armor", &["--sign", "--armor", "--digest-algo", "SHA512"], &plain, true),
        ("cleartext", &["--clearsign"], &text, true),
        ("detached", &["--detach-sign"], &plain, false),
        ("detached-sha384", &["--detach-sign", "--digest-algo", "SHA384"], &text, false),
    ];
    for (label, args, input, inline) in kinds {
        let sig = dir.join(format!("{label}.sig"));
        run_ok(gpg.cmd().args(["--local-user", &lea.email]).args(args).arg("--output").arg(&sig).arg(input));
        let json = dir.join(format!("{label}.json"));
        let mut cmd = sealpost();
        cmd.args(["pgp", "verify", "--cert"]).arg(&lea.cert).arg("--verdict-json").arg(&json);
        if inline {
            let out = dir.join(format!("{label}.out"));
            expect_exit(cmd.arg("-o").arg(&out).arg(&sig), 0);
            if label == "cleartext" {
                let got = fs::read_to_string(&out).unwrap();
                assert_eq!(got.trim_end(), fs::read_to_string(input).unwrap().trim_end(), "cleartext content");
            } else {
                assert_same_file(&out, input, label);
            }
        } else {
            expect_exit(cmd.arg("--signature").arg(&sig).arg(input), 0);
        }
        assert_dsa_signer(&verdict(&json), lea, "pass");
    }
    // A changed byte under the signature: bad, exit 1, nothing released.
    let sig = dir.join("binary.sig");
    let mut bytes = fs::read(&sig).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x20;
    fs::write(&sig, bytes).unwrap();
    let out = dir.join("tampered.out");
    let json = dir.join("tampered.json");
    expect_exit(
        sealpost()
            .args(["pgp", "verify", "--cert"])
            .arg(&lea.cert)
            .arg("--verdict-json")
            .arg(&json)
            .arg("-o")
            .arg(&out)
            .arg(&sig),
        1,
    );
    assert!(!out.exists(), "a bad DSA signature released the content");
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn we_sign_with_dsa_gpg_verifies() {
    const TEST: &str = "we_sign_with_dsa_gpg_verifies";
    let Some((gpg, keys, dir)) = setup(TEST) else { return };
    let lea = &keys[0];
    let plain = write(&dir, "plain", &pseudo_random(BIG, 104));
    let text = write(&dir, "letter.txt", b"Dear Bob,\n- a dash-escaped line\nFrom here on\n\nLea\n");
    // (label, our arguments, input, inline?, hash id gpg must report: 8 SHA-256, 9 SHA-384, 10 SHA-512)
    let kinds: [(&str, &[&str], &Path, bool, &str); 6] = [
        ("default", &[], &plain, true, "8"),
        ("armor-sha512", &["--armor", "--hash", "sha512"], &plain, true, "10"),
        ("detached", &["--detached"], &plain, false, "8"),
        ("detached-sha384", &["--detached", "--armor", "--hash", "sha384"], &text, false, "9"),
        ("cleartext", &["--cleartext"], &text, true, "8"),
        ("empty", &[], &write(&dir, "empty", b""), true, "8"),
    ];
    for (label, args, input, inline, hash) in kinds {
        let sig = dir.join(format!("{label}.sig"));
        expect_exit(
            sealpost().args(["pgp", "sign", "--key"]).arg(&lea.key).args(args).arg("-o").arg(&sig).arg(input),
            0,
        );
        let mut verify = gpg.cmd();
        verify.args(["--status-fd", "2", "--verify"]).arg(&sig);
        if !inline {
            verify.arg(input);
        }
        let said = both(&run_ok(&mut verify));
        assert!(said.contains("[GNUPG:] GOODSIG "), "{label}: gpg did not say GOODSIG:\n{said}");
        let valid = said.lines().find(|l| l.starts_with("[GNUPG:] VALIDSIG ")).unwrap_or_default();
        let fields: Vec<&str> = valid.split_whitespace().collect();
        // VALIDSIG fpr date ts expire version reserved pubkey-algo hash-algo class primary-fpr
        assert_eq!((fields.get(8).copied(), fields.get(9).copied()), (Some("17"), Some(hash)), "{label}: {valid}");
    }
    // SHA-1 is shorter than this key's q: refused, not a signature gpg would reject.
    let out = dir.join("sha1.sig");
    let said = both(&expect_exit(
        sealpost().args(["pgp", "sign", "--key"]).arg(&lea.key).args(["--hash", "sha1"]).arg("-o").arg(&out).arg(&text),
        2,
    ));
    let error =
        said.lines().find(|l| l.starts_with("sealpost: error: ")).unwrap_or_else(|| panic!("no error line: {said}"));
    assert!(error.contains("sha1") && error.contains("sha256"), "the error does not say which hashes fit: {error}");
    assert!(!out.exists(), "an output was written for a refused signature");
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn sign_and_encrypt_with_dsa_and_elgamal_both_ways() {
    const TEST: &str = "sign_and_encrypt_with_dsa_and_elgamal_both_ways";
    let Some((gpg, keys, dir)) = setup(TEST) else { return };
    let (lea, old) = (&keys[0], &keys[1]);
    let plain = write(&dir, "plain", &pseudo_random(BIG, 105));
    // gpg: Lea signs, for Lea and Old.
    let msg = dir.join("gpg.pgp");
    run_ok(
        gpg.cmd()
            .args(["--local-user", &lea.email, "--recipient", &lea.email, "--recipient", &old.email, "--output"])
            .arg(&msg)
            .args(["--sign", "--encrypt"])
            .arg(&plain),
    );
    let (out, json) = (dir.join("gpg.out"), dir.join("gpg.json"));
    expect_exit(&mut our_decrypt(&msg, lea, Some(lea), &out, &json), 0);
    assert_same_file(&out, &plain, "gpg sign+encrypt");
    let v = verdict(&json);
    assert_dsa_signer(&v, lea, "pass");
    assert_eq!(v["integrity"], "mdc", "verdict {v:#}");
    // We: Lea signs, for Lea; gpg decrypts and checks the signature.
    for z in ["none", "zlib"] {
        let msg = dir.join(format!("ours-{z}.pgp"));
        expect_exit(
            sealpost()
                .args(["pgp", "encrypt", "--recipient"])
                .arg(&lea.cert)
                .arg("--sign-with")
                .arg(&lea.key)
                .args(["--compress", z, "-o"])
                .arg(&msg)
                .arg(&plain),
            0,
        );
        let out = dir.join(format!("ours-{z}.out"));
        let said = both(&run_ok(gpg.cmd().args(["--status-fd", "2", "--decrypt", "--output"]).arg(&out).arg(&msg)));
        assert!(said.contains("[GNUPG:] DECRYPTION_OKAY"), "{z}: {said}");
        assert!(said.contains("[GNUPG:] GOODSIG "), "{z}: gpg did not say GOODSIG:\n{said}");
        assert_same_file(&out, &plain, z);
        // And we read our own.
        let (out2, json2) = (dir.join(format!("ours-{z}.2.out")), dir.join(format!("ours-{z}.json")));
        expect_exit(&mut our_decrypt(&msg, lea, Some(lea), &out2, &json2), 0);
        assert_dsa_signer(&verdict(&json2), lea, "pass");
    }
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn elgamal_session_key_damage_and_wrong_keys() {
    const TEST: &str = "elgamal_session_key_damage_and_wrong_keys";
    let Some((gpg, keys, dir)) = setup(TEST) else { return };
    let (lea, old) = (&keys[0], &keys[1]);
    let text = write(&dir, "letter.txt", b"to be read by Lea only\n");
    let msg = dir.join("lea.gpg");
    run_ok(gpg.cmd().args(["-z", "0", "--recipient", &lea.email, "--output"]).arg(&msg).arg("--encrypt").arg(&text));
    // A byte of the PKESK's second number (m * y^k) changed: the padding is then garbage, which must look
    // exactly like a wrong session key (a random key, refused at the quick check / MDC), exit 1.
    let mut bytes = fs::read(&msg).unwrap();
    let (start, len) = packet_body(&bytes);
    bytes[start + len - 20] ^= 0x01;
    let damaged = write(&dir, "damaged.gpg", &bytes);
    let (out, json) = (dir.join("damaged.out"), dir.join("damaged.json"));
    let said = both(&expect_exit(&mut our_decrypt(&damaged, lea, None, &out, &json), 1));
    assert!(!out.exists(), "plaintext written from a damaged session key");
    assert!(!said.to_lowercase().contains("padding"), "the error names the padding (an oracle): {said}");
    // The right message, the wrong (1024-bit) ElGamal key: refused, naming the recipient.
    let said =
        both(&expect_exit(&mut our_decrypt(&msg, old, None, &dir.join("wrong.out"), &dir.join("wrong.json")), 1));
    assert!(said.contains(&lea.elgamal_keyid), "the recipient is not named: {said}");
    let _ = fs::remove_dir_all(&dir);
}

/// The first packet's body: (offset, length), for old- and new-format headers with a definite length.
fn packet_body(bytes: &[u8]) -> (usize, usize) {
    let ctb = bytes[0];
    assert!(ctb & 0x80 != 0, "not an OpenPGP packet");
    if ctb & 0x40 == 0 {
        match ctb & 3 {
            0 => (2, bytes[1] as usize),
            1 => (3, usize::from(bytes[1]) << 8 | usize::from(bytes[2])),
            2 => (5, u32::from_be_bytes([bytes[1], bytes[2], bytes[3], bytes[4]]) as usize),
            _ => panic!("indeterminate length"),
        }
    } else {
        match bytes[1] {
            l @ 0..192 => (2, l as usize),
            l @ 192..224 => (3, ((usize::from(l) - 192) << 8) + usize::from(bytes[2]) + 192),
            255 => (6, u32::from_be_bytes([bytes[2], bytes[3], bytes[4], bytes[5]]) as usize),
            _ => panic!("partial length on a PKESK"),
        }
    }
}

#[test]
fn dsa_1024_and_elgamal_1024_are_read_and_labelled_weak() {
    const TEST: &str = "dsa_1024_and_elgamal_1024_are_read_and_labelled_weak";
    let Some((gpg, keys, dir)) = setup(TEST) else { return };
    let old = &keys[1];
    let plain = write(&dir, "plain", &pseudo_random(BIG, 106));
    // gpg encrypts to elg1024 and signs with dsa1024: decrypted, verified, both labelled.
    let msg = dir.join("old.gpg");
    run_ok(
        gpg.cmd()
            .args(["--local-user", &old.email, "--recipient", &old.email, "--output"])
            .arg(&msg)
            .args(["--sign", "--encrypt"])
            .arg(&plain),
    );
    let (out, json) = (dir.join("old.out"), dir.join("old.json"));
    expect_exit(&mut our_decrypt(&msg, old, Some(old), &out, &json), 0);
    assert_same_file(&out, &plain, "1024-bit sign+encrypt");
    let v = verdict(&json);
    assert_dsa_signer(&v, old, "pass-weak");
    let weak = weak_list(&v);
    assert!(weak.contains(&"elgamal-1024".to_string()), "no elgamal-1024 in {weak:?}");
    assert!(weak.contains(&"dsa-1024".to_string()), "no dsa-1024 in {weak:?}");
    // Encrypted only: decrypted, the key labelled.
    let msg = dir.join("enc.gpg");
    run_ok(gpg.cmd().args(["--recipient", &old.email, "--output"]).arg(&msg).arg("--encrypt").arg(&plain));
    let (out, json) = (dir.join("enc.out"), dir.join("enc.json"));
    expect_exit(&mut our_decrypt(&msg, old, None, &out, &json), 0);
    assert_same_file(&out, &plain, "elg1024");
    assert_eq!(weak_list(&verdict(&json)), vec!["elgamal-1024".to_string()]);
    // Signed only (detached): verified, labelled.
    let sig = dir.join("old.sig");
    run_ok(gpg.cmd().args(["--local-user", &old.email, "--output"]).arg(&sig).arg("--detach-sign").arg(&plain));
    let json = dir.join("sig.json");
    expect_exit(
        sealpost()
            .args(["pgp", "verify", "--cert"])
            .arg(&old.cert)
            .arg("--verdict-json")
            .arg(&json)
            .arg("--signature")
            .arg(&sig)
            .arg(&plain),
        0,
    );
    let v = verdict(&json);
    assert_dsa_signer(&v, old, "pass-weak");
    // gpg signs with a hash as long as q: SHA-1 for a 160-bit q, itself labelled weak.
    assert!(weak_list(&v).contains(&"dsa-1024".to_string()), "verdict {v:#}");
    // sealpost makes no DSA or ElGamal keys at all, so none under 2048 bits: the algorithm is refused.
    for algo in ["dsa1024", "elg1024", "dsa2048"] {
        let said = both(&expect_exit(
            sealpost()
                .args(["key", "generate", "--type", "pgp", "--uid", "X <x@example.org>", "--algo", algo, "--output"])
                .arg(dir.join(algo)),
            2,
        ));
        assert!(said.contains("invalid value"), "{algo}: {said}");
        assert!(!dir.join(format!("{algo}.key")).exists(), "{algo}: a key was written");
    }
    let help =
        String::from_utf8_lossy(&expect_exit(sealpost().args(["key", "generate", "--help"]), 0).stdout).into_owned();
    assert!(!help.contains("dsa") && !help.contains("elg"), "key generate offers DSA/ElGamal:\n{help}");
    let _ = fs::remove_dir_all(&dir);
}
