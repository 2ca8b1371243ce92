//! SECURITY-CASES (/work/shared/SECURITY-CASES.md) B, C, D3 and F1 through whole messages, where the other
//! test files leave a case open (docs/security.md maps every case to its tests):
//!
//! - B1: a `.p7s` that carries content of its own (not detached) is not taken for the signed part;
//! - B2: control characters, `[GNUPG:]` lines and ANSI escapes in a user ID, a literal file name and a
//!   notation reach neither the summary line nor the header (messages made with sequoia's own builders);
//! - B4: an outer From that differs from the signed (protected) From is a mismatch, signed and encrypted;
//! - B5: around and inside a cleartext signature (text after the armor, a wrong `Hash:` header, an extra
//!   armor header, a form feed), only the signed bytes come out as signed;
//! - C: look-alike verification headers inside attached messages, in B-encoded Authentication-Results,
//!   and in the protected header of an encrypted message are removed; ours is the only one;
//! - D3: 8-bit text and a 10 kB line are encoded (7-bit, short lines) before signing, and come back whole;
//! - F1: 10 000 nested parts on a 256 KiB stack, duplicate boundary parameters, a transfer encoding on a
//!   multipart, bad base64 and quoted-printable in a signature part.
//!
//! Keys are made with `sealpost key generate` (and sequoia for the B2 key); no peer tool is needed.

#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)] // A panic in a test is a failed test.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use common::{run, run_ok, scratch};

fn sealpost() -> Command {
    Command::new(env!("CARGO_BIN_EXE_sealpost"))
}

/// Keys shared by the tests of this file: Alice and Mallory (OpenPGP), Sam (X.509, self-signed).
struct Pki {
    dir: PathBuf,
}

impl Pki {
    fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }
}

fn pki() -> &'static Pki {
    static P: OnceLock<Pki> = OnceLock::new();
    P.get_or_init(|| {
        let dir = scratch("security-mail-pki");
        for (who, uid, kind) in [
            ("alice", "Alice <alice@example.org>", "pgp"),
            ("mallory", "Mallory <mallory@example.net>", "pgp"),
            ("sam", "Sam <sam@example.org>", "x509"),
        ] {
            run_ok(sealpost().args(["key", "generate", "--type", kind, "--uid", uid, "--output"]).arg(dir.join(who)));
        }
        Pki { dir }
    })
}

/// A fresh directory for one test.
fn dir(test: &str) -> PathBuf {
    scratch(&format!("security-mail-{test}"))
}

fn text(o: &Output) -> (String, String) {
    (String::from_utf8_lossy(&o.stdout).into_owned(), String::from_utf8_lossy(&o.stderr).into_owned())
}

/// `mail verify` (with `args` before the input) of `message`: exit code, verdict JSON, the message written.
fn mail_verify(d: &Path, name: &str, message: &[u8], args: &[&Path]) -> (Option<i32>, serde_json::Value, String) {
    mail_cmd(d, "verify", name, message, args, &[])
}

fn mail_cmd(
    d: &Path,
    verb: &str,
    name: &str,
    message: &[u8],
    paths: &[&Path],
    flags: &[&str],
) -> (Option<i32>, serde_json::Value, String) {
    let input = d.join(format!("{name}.eml"));
    std::fs::write(&input, message).unwrap();
    let json = d.join(format!("{name}.json"));
    let _ = std::fs::remove_file(&json);
    let mut cmd = sealpost();
    cmd.args(["mail", verb, "--authserv-id", "mx.test", "--verdict-json"]).arg(&json);
    for p in paths {
        cmd.arg(p);
    }
    cmd.args(flags);
    let o = run(cmd.arg(&input));
    let (out, err) = text(&o);
    assert!(!err.contains("panicked") && !err.contains("internal error"), "{name}: {err}");
    let v = std::fs::read(&json).ok().and_then(|b| serde_json::from_slice(&b).ok()).unwrap_or(serde_json::Value::Null);
    (o.status.code(), v, out)
}

/// The header block of a message (up to the first empty line), CRLF or LF.
fn header_of(msg: &str) -> &str {
    let end = [msg.find("\r\n\r\n"), msg.find("\n\n")].into_iter().flatten().min().unwrap_or(msg.len());
    &msg[..end]
}

fn cert_arg(p: &Pki, who: &str) -> Vec<PathBuf> {
    vec![PathBuf::from("--cert"), p.path(&format!("{who}.cert"))]
}

fn as_paths(v: &[PathBuf]) -> Vec<&Path> {
    v.iter().map(PathBuf::as_path).collect()
}

const LETTER: &str = "From: Alice <alice@example.org>\r\nTo: Bob <bob@example.org>\r\nSubject: the plan\r\nContent-Type: text/plain\r\n\r\nMeet at noon.\r\n";

/// `mail sign` of `letter` with `args`, read back.
fn mail_sign(d: &Path, name: &str, letter: &str, args: &[&str], paths: &[&Path]) -> String {
    let input = d.join(format!("{name}.in.eml"));
    std::fs::write(&input, letter).unwrap();
    let out = d.join(format!("{name}.eml"));
    let mut cmd = sealpost();
    cmd.args(["mail"]).args(args);
    for p in paths {
        cmd.arg(p);
    }
    run_ok(cmd.arg("-o").arg(&out).arg(&input));
    std::fs::read_to_string(&out).unwrap()
}

/// LETTER signed by Sam as S/MIME multipart/signed (`mail sign --format smime`).
fn sam_signs(p: &Pki, d: &Path) -> String {
    let (key, cert) = (p.path("sam.key"), p.path("sam.cert"));
    mail_sign(
        d,
        "signed",
        LETTER,
        &["sign", "--format", "smime", "--key"],
        &[key.as_path(), "--cert".as_ref(), cert.as_path()],
    )
}

// ------------------------------------------------------------------------------------------------------------
// B1

/// A multipart/signed whose `.p7s` is not detached but carries content of its own: the signature is good
/// over *that* content, not over the first part, so the message is not signed (openssl's `cms -verify`
/// refuses such a pair too: "content and detached signature").
#[test]
fn b1_a_p7s_with_content_of_its_own_does_not_sign_the_part() {
    let p = pki();
    let d = dir("b1");
    let signed = sam_signs(p, &d);
    let (key, cert) = (p.path("sam.key"), p.path("sam.cert"));
    // The control: as made, it passes.
    let (code, v, _) = mail_verify(&d, "control", signed.as_bytes(), &[]);
    assert_eq!((code, v["status"].as_str()), (Some(0), Some("pass")), "{v}");
    // An opaque SignedData over other text, by the same key, put where the detached one was.
    std::fs::write(d.join("other.txt"), "Pay Mallory 1000.\r\n").unwrap();
    run_ok(
        sealpost()
            .args(["smime", "sign", "--cert"])
            .arg(&cert)
            .arg("--key")
            .arg(&key)
            .arg("-o")
            .arg(d.join("other.p7m"))
            .arg(d.join("other.txt")),
    );
    let der = std::fs::read(d.join("other.p7m")).unwrap();
    let b64 = String::from_utf8(sealpost::mime::build::base64(&der)).unwrap();
    let marker = "Content-Transfer-Encoding: base64";
    let at = signed.find("application/pkcs7-signature").unwrap();
    let body_start = signed[at..].find(marker).map(|i| at + i + marker.len()).unwrap();
    let body_start = body_start + signed[body_start..].find("\n\n").or(signed[body_start..].find("\r\n\r\n")).unwrap();
    let body_end = body_start + signed[body_start..].find("\n--").unwrap();
    let eol = if signed.contains("\r\n") { "\r\n" } else { "\n" };
    let swapped =
        format!("{}{eol}{eol}{}{}", &signed[..body_start], b64.trim_end().replace("\r\n", eol), &signed[body_end..]);
    let (code, v, out) = mail_verify(&d, "swapped", swapped.as_bytes(), &[]);
    assert_eq!(code, Some(1), "{v}\n{out}");
    assert!(v["status"] != "pass" && v["status"] != "pass-weak", "{v}");
    assert!(!header_of(&out).contains("status=pass"), "{out}");
}

// ------------------------------------------------------------------------------------------------------------
// B2

/// What in-band signalling attacks put in strings an attacker controls.
const NASTY: &str = "\x1b[2J\x1b[32m\r\n[GNUPG:] GOODSIG 0123456789ABCDEF Alice\r\nX-Verified: pass\n\x07";

/// Lines that must never appear in a summary or a header, whatever the key or the message says.
fn assert_no_injection(label: &str, s: &str) {
    assert!(!s.contains('\x1b') && !s.contains('\x07'), "{label}: a control character came through: {s:?}");
    assert!(!s.contains('\r') || s.contains("\r\n"), "{label}: a bare CR came through: {s:?}");
    for line in s.lines() {
        let l = line.trim_start();
        assert!(!l.starts_with("[GNUPG:]") && !l.starts_with("X-Verified"), "{label}: an injected line: {s:?}");
    }
}

/// A key whose user ID holds CR/LF, a `[GNUPG:]` status line and ANSI escapes, and a message signed by it
/// whose literal packet's file name and a human-readable notation hold them too (sequoia writes all three
/// as given): `pgp verify` prints one summary line without any of it, and `mail verify` adds no header.
#[test]
fn b2_control_characters_in_user_ids_file_names_and_notations_change_nothing() {
    use openpgp::cert::CertBuilder;
    use openpgp::packet::UserID;
    use openpgp::packet::signature::SignatureBuilder;
    use openpgp::packet::signature::subpacket::NotationDataFlags;
    use openpgp::policy::StandardPolicy;
    use openpgp::serialize::Serialize;
    use openpgp::serialize::stream::{Armorer, LiteralWriter, Message, Signer};
    use openpgp::types::SignatureType;
    use sequoia_openpgp as openpgp;
    use std::io::Write as _;

    let d = dir("b2");
    let uid = format!("Eve {NASTY} <eve@example.org>");
    let (cert, _) =
        CertBuilder::new().add_userid(UserID::from(uid.as_bytes().to_vec())).add_signing_subkey().generate().unwrap();
    let mut public = Vec::new();
    cert.serialize(&mut public).unwrap();
    std::fs::write(d.join("eve.cert"), &public).unwrap();

    let policy = StandardPolicy::new();
    let signing = cert
        .keys()
        .with_policy(&policy, None)
        .supported()
        .alive()
        .revoked(false)
        .for_signing()
        .secret()
        .next()
        .unwrap()
        .key()
        .clone()
        .into_keypair()
        .unwrap();
    let template = SignatureBuilder::new(SignatureType::Binary)
        .add_notation("note@example.org", NASTY.as_bytes(), NotationDataFlags::empty().set_human_readable(), false)
        .unwrap();
    let mut armored = Vec::new();
    {
        let m = Message::new(&mut armored);
        let m = Armorer::new(m).build().unwrap();
        let m = Signer::with_template(m, signing, template).unwrap().build().unwrap();
        let mut lit = LiteralWriter::new(m).filename(format!("x{NASTY}").as_bytes()).unwrap().build().unwrap();
        lit.write_all(b"the signed text\n").unwrap();
        lit.finalize().unwrap();
    }
    let msg = d.join("signed.asc");
    std::fs::write(&msg, &armored).unwrap();
    let out = d.join("signed.out");
    let o = run(sealpost().args(["pgp", "verify", "--cert"]).arg(d.join("eve.cert")).arg("-o").arg(&out).arg(&msg));
    let (_, err) = text(&o);
    assert_eq!(o.status.code(), Some(0), "a good signature by Eve: {err}");
    assert_eq!(std::fs::read(&out).unwrap(), b"the signed text\n");
    assert_eq!(err.lines().count(), 1, "one summary line: {err:?}");
    assert_no_injection("pgp verify summary", &err);

    // The same message as an inline-signed mail body, and Eve's key generating a whole signed mail.
    let mail = format!(
        "From: Eve <eve@example.org>\r\nTo: bob@example.org\r\nSubject: inline\r\nContent-Type: text/plain\r\n\r\n{}",
        String::from_utf8(armored).unwrap().replace('\n', "\r\n")
    );
    let eve_cert = d.join("eve.cert");
    let (code, v, out) = mail_verify(&d, "inline", mail.as_bytes(), &["--cert".as_ref(), eve_cert.as_path()]);
    assert_eq!((code, v["status"].as_str()), (Some(0), Some("pass")), "{v}");
    assert_no_injection("mail verify header", header_of(&out));
    assert_eq!(header_of(&out).matches("Sealpost-Verification").count(), 1, "{out}");
    let mut secret = Vec::new();
    cert.as_tsk().serialize(&mut secret).unwrap();
    let key = d.join("eve.key");
    std::fs::write(&key, &secret).unwrap();
    std::fs::set_permissions(&key, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    let letter = "From: Eve <eve@example.org>\r\nTo: bob@example.org\r\nSubject: s\r\n\r\nhello\r\n";
    let signed = mail_sign(&d, "eve-signed", letter, &["sign", "--format", "pgp", "--key"], &[key.as_path()]);
    let (code, v, out) =
        mail_verify(&d, "eve-signed-verify", signed.as_bytes(), &["--cert".as_ref(), eve_cert.as_path()]);
    assert_eq!((code, v["status"].as_str()), (Some(0), Some("pass")), "{v}");
    assert_no_injection("mail verify header (Eve's mail)", header_of(&out));
}

// ------------------------------------------------------------------------------------------------------------
// B4

/// Mallory signs (and encrypts) a message From Mallory; the outer From is then changed to Alice. The inner
/// (protected) From matches the signer, the outer one does not: `from=mismatch` (RFC 9788 section 4.4).
#[test]
fn b4_an_outer_from_that_differs_from_the_signed_from_is_a_mismatch() {
    let p = pki();
    let d = dir("b4");
    let letter = LETTER.replace("From: Alice <alice@example.org>", "From: Mallory <mallory@example.net>");
    let mkey = p.path("mallory.key");
    let certs = [p.path("mallory.cert")];
    let signed = mail_sign(&d, "signed", &letter, &["sign", "--format", "pgp", "--key"], &[mkey.as_path()]);
    // The control: untouched, it matches.
    let cargs = cert_arg(p, "mallory");
    let (code, v, _) = mail_verify(&d, "control", signed.as_bytes(), &as_paths(&cargs));
    assert_eq!((code, v["status"].as_str(), v["from"].as_str()), (Some(0), Some("pass"), Some("match")), "{v}");
    let spoofed = signed.replacen("From: Mallory <mallory@example.net>", "From: Alice <alice@example.org>", 1);
    assert!(spoofed.contains("From: Mallory <mallory@example.net>"), "the protected From is inside the signed part");
    let (_, v, out) = mail_verify(&d, "spoofed", spoofed.as_bytes(), &as_paths(&cargs));
    assert_eq!(v["from"], "mismatch", "{v}");
    assert!(header_of(&out).contains("from=mismatch"), "{out}");

    // Signed and encrypted (to Mallory, so that the test can open it): the protected From is in the ciphertext.
    let sealed = mail_sign(
        &d,
        "sealed",
        &letter,
        &["sign-encrypt", "--format", "pgp", "--key"],
        &[mkey.as_path(), "--recipient".as_ref(), certs[0].as_path()],
    );
    let spoofed = sealed.replacen("From: Mallory <mallory@example.net>", "From: Alice <alice@example.org>", 1);
    let (_, v, out) =
        mail_cmd(&d, "decrypt", "sealed-spoofed", spoofed.as_bytes(), &["--key".as_ref(), mkey.as_path()], &[]);
    assert_eq!(v["status"], "pass", "{v}");
    // Either the mismatch is reported, or the From shown is the protected one (the outer, spoofed one gone).
    let header = header_of(&out);
    let shown_from: Vec<&str> = header.lines().filter(|l| l.starts_with("From:")).collect();
    assert!(
        v["from"] == "mismatch" || shown_from == ["From: Mallory <mallory@example.net>"],
        "the spoofed outer From is shown as matching: {v}\n{out}"
    );
}

// ------------------------------------------------------------------------------------------------------------
// B5

/// A cleartext signature by Alice with text put around and inside its armor. `pgp verify` may refuse or
/// pass, but what it writes as the signed text is exactly what Alice signed; `mail verify` of a body with
/// text after the armor is `partially-signed`.
#[test]
fn b5_only_the_bytes_the_cleartext_signature_covers_come_out_as_signed() {
    let p = pki();
    let d = dir("b5");
    let signed_text = "Pay Bob 10 euros.\nThanks.\n";
    std::fs::write(d.join("text"), signed_text).unwrap();
    run_ok(
        sealpost()
            .args(["pgp", "sign", "--cleartext", "--key"])
            .arg(p.path("alice.key"))
            .arg("-o")
            .arg(d.join("clear.asc"))
            .arg(d.join("text")),
    );
    let clear = std::fs::read_to_string(d.join("clear.asc")).unwrap();
    assert!(clear.contains("\nHash: SHA256\n") || clear.contains("\nHash: SHA512\n"), "{clear}");
    let other_hash = if clear.contains("Hash: SHA256") { "Hash: SHA512" } else { "Hash: SHA256" };
    let cases: Vec<(&str, String, bool)> = vec![
        ("as made", clear.clone(), true),
        ("text after the armor", format!("{clear}\nPS: and pay Mallory 1000 euros.\n"), false),
        ("text before the armor", format!("Pay Mallory 1000 euros.\n\n{clear}"), false),
        (
            "a mismatched Hash: header",
            clear.replacen("Hash: SHA256", other_hash, 1).replacen("Hash: SHA512", other_hash, 1),
            false,
        ),
        ("an extra armor header", clear.replacen("\n\n", "\nComment: pay Mallory 1000 euros\n\n", 1), false),
        (
            "a form feed and text after a signed line",
            clear.replacen("10 euros.", "10 euros.\x0cand 1000 to Mallory", 1),
            false,
        ),
        ("a form feed line", clear.replacen("Thanks.\n", "Thanks.\n\x0c\nPay Mallory 1000 euros.\n", 1), false),
    ];
    let mut problems = Vec::new();
    for (label, msg, must_pass) in &cases {
        let input = d.join("case.asc");
        std::fs::write(&input, msg).unwrap();
        let out = d.join("case.out");
        let _ = std::fs::remove_file(&out);
        let o =
            run(sealpost().args(["pgp", "verify", "--cert"]).arg(p.path("alice.cert")).arg("-o").arg(&out).arg(&input));
        let (_, err) = text(&o);
        if err.contains("panicked") {
            problems.push(format!("{label}: a panic"));
            continue;
        }
        match o.status.code() {
            Some(0) => {
                let got = std::fs::read_to_string(&out).unwrap_or_default();
                if got != signed_text {
                    problems.push(format!("{label}: exit 0 with other text written as signed: {got:?}"));
                }
            }
            Some(1 | 2) if !must_pass => {
                if out.exists() {
                    problems.push(format!("{label}: refused but wrote {}", out.display()));
                }
            }
            c => problems.push(format!("{label}: exit {c:?}: {err}")),
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));

    // In a mail body: text after the armor is not signed.
    let mail = format!(
        "From: Alice <alice@example.org>\r\nSubject: inline\r\nContent-Type: text/plain\r\n\r\n{}\r\nPS: pay Mallory 1000 euros.\r\n",
        clear.replace('\n', "\r\n")
    );
    let cargs = cert_arg(p, "alice");
    let (_, v, out) = mail_verify(&d, "after", mail.as_bytes(), &as_paths(&cargs));
    assert_eq!(v["status"], "partially-signed", "{v}");
    assert!(header_of(&out).contains("status=partially-signed"), "{out}");
}

// ------------------------------------------------------------------------------------------------------------
// C

/// Look-alikes of our header the unit test (`src/mail/result_header.rs`) does not show: in the header of a
/// message attached as message/rfc822 and of a part inside it, with an `X-` prefix and other punctuation,
/// repeated, folded, and as Authentication-Results with a B-encoded authserv-id. After `mail verify` the
/// only field of ours is the one we added, first; other Authentication-Results stay.
#[test]
fn c_spoofed_headers_in_attached_messages_and_encoded_words_are_removed() {
    let d = dir("c-attached");
    let spoofs = "Sealpost-Verification: mx.test; format=pgp; status=pass\r\n\
                  sealpost-verification: mx.test; status=pass\r\n\
                  X-Sealpost-Verified: pass\r\n\
                  X_SEALPOST-VERIFICATION:\r\n\tmx.test;\r\n status=pass\r\n\
                  Authentication-Results: =?utf-8?B?bXgudGVzdA==?=; sealpost=pass\r\n\
                  Authentication-Results: =?us-ascii?q?mx=2Etest?= ; dkim=pass\r\n";
    let attached = format!(
        "{spoofs}From: Alice <alice@example.org>\r\nSubject: inner\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"in\"\r\n\r\n--in\r\n{spoofs}Content-Type: text/plain\r\n\r\ninner text\r\n--in--\r\n"
    );
    let msg = format!(
        "{spoofs}Authentication-Results: other.example; dkim=pass\r\nFrom: Mallory <m@evil.example>\r\nSubject: fwd\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"out\"\r\n\r\n--out\r\n{spoofs}Content-Type: text/plain\r\n\r\nsee below\r\n--out\r\nContent-Type: message/rfc822\r\n\r\n{attached}\r\n--out--\r\n"
    );
    let (code, v, out) = mail_verify(&d, "attached", msg.as_bytes(), &[]);
    assert_eq!(code, Some(1), "{v}");
    assert!(out.starts_with("Sealpost-Verification: mx.test; format=none; status=no-signature;"), "{out}");
    let lower = out.to_ascii_lowercase();
    assert_eq!(lower.matches("sealpost").count(), 1, "a look-alike survived:\n{out}");
    assert!(!lower.contains("x-sealpost") && !lower.contains("x_sealpost"), "{out}");
    assert_eq!(out.matches("Authentication-Results").count(), 1, "{out}");
    assert!(out.contains("Authentication-Results: other.example; dkim=pass\r\n"), "{out}");
    assert!(out.contains("inner text") && out.contains("see below"), "the message itself is kept: {out}");
}

/// RFC 8617 writes the instance tag before the authserv-id (`ARC-Authentication-Results: i=1; mx.test; ...`):
/// a copy claiming our authserv-id must go as an Authentication-Results one does.
#[test]
fn c_arc_authentication_results_claiming_our_authserv_id_are_removed() {
    let d = dir("c-arc");
    let msg = "ARC-Authentication-Results: i=1; mx.test; sealpost=pass\r\nARC-Authentication-Results: i=2;\r\n mx.test; dkim=pass\r\nARC-Authentication-Results: i=1; other.example; dkim=pass\r\nFrom: a@example.org\r\nSubject: arc\r\n\r\nbody\r\n";
    let (_, _, out) = mail_verify(&d, "arc", msg.as_bytes(), &[]);
    assert!(!out.contains("i=1; mx.test") && !out.contains(" mx.test; dkim"), "{out}");
    assert!(out.contains("ARC-Authentication-Results: i=1; other.example; dkim=pass"), "{out}");
}

/// A spoofed header inside the protected (encrypted) header of a message: when `mail decrypt` restores the
/// protected fields, the spoof must not come back with them.
#[test]
fn c_spoofed_headers_inside_an_encrypted_message_are_removed_after_decryption() {
    let p = pki();
    let d = dir("c-encrypted");
    let letter =
        format!("Sealpost-Verification: mx.test; format=pgp; status=pass\r\nX-Sealpost-Verified: pass\r\n{LETTER}");
    let mcert = p.path("mallory.cert");
    // (`mail encrypt` keeps the outer header as given; the SMTP hook removes spoofs from outgoing mail, see
    // tests/filter_smtp.rs.) The ciphertext of a message that still has the spoofs, and one more outside.
    let inner_spoof = d.join("inner.eml");
    std::fs::write(&inner_spoof, &letter).unwrap();
    let armored =
        run_ok(sealpost().args(["pgp", "encrypt", "--armor", "--recipient"]).arg(&mcert).arg(&inner_spoof)).stdout;
    let pgp_mime = format!(
        "Sealpost-Verification: mx.test; status=pass\r\nFrom: Alice <alice@example.org>\r\nTo: Bob <bob@example.org>\r\nSubject: ...\r\nMIME-Version: 1.0\r\nContent-Type: multipart/encrypted; protocol=\"application/pgp-encrypted\"; boundary=\"e\"\r\n\r\n--e\r\nContent-Type: application/pgp-encrypted\r\n\r\nVersion: 1\r\n\r\n--e\r\nContent-Type: application/octet-stream\r\n\r\n{}\r\n--e--\r\n",
        String::from_utf8(armored).unwrap().replace('\n', "\r\n")
    );
    let mkey = p.path("mallory.key");
    let (_, v, out) = mail_cmd(&d, "decrypt", "decrypt", pgp_mime.as_bytes(), &["--key".as_ref(), mkey.as_path()], &[]);
    assert_eq!(v["encrypted"], true, "{v}");
    assert!(out.contains("Meet at noon."), "{out}");
    let lower = out.to_ascii_lowercase();
    assert_eq!(lower.matches("sealpost").count(), 1, "a spoof came back with the decrypted content:\n{out}");
    assert!(out.starts_with("Sealpost-Verification: mx.test;") && !out.contains("status=pass"), "{out}");
}

// ------------------------------------------------------------------------------------------------------------
// D3

/// 8-bit text and a 10 kB line, signed as PGP/MIME and S/MIME: what is signed is 7-bit with lines of at most
/// 78 characters and no white space before a line end (RFC 3156 section 3, RFC 8551 section 3.1.1), so no
/// relay converting 8bit to quoted-printable or cutting long lines changes a signed byte; the signature passes,
/// and the decoded text is the original, the long line whole.
#[test]
fn d3_eight_bit_text_and_long_lines_are_encoded_before_signing() {
    let p = pki();
    let d = dir("d3");
    let long_line = "x".repeat(10_000);
    let letter = format!(
        "From: Alice <alice@example.org>\r\nTo: Bob <bob@example.org>\r\nSubject: 8bit\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\nGr\u{fc}\u{df}e aus K\u{f6}ln, trailing space \r\n{long_line}\r\nend\r\n"
    );
    let (akey, skey, scert) = (p.path("alice.key"), p.path("sam.key"), p.path("sam.cert"));
    // (format, `mail` arguments, key and certificate paths, arguments for `mail verify`)
    type Case<'a> = (&'a str, Vec<&'a str>, Vec<&'a Path>, Vec<PathBuf>);
    let cases: [Case; 2] = [
        ("pgp", vec!["sign", "--format", "pgp", "--key"], vec![akey.as_path()], cert_arg(p, "alice")),
        (
            "smime",
            vec!["sign", "--format", "smime", "--key"],
            vec![skey.as_path(), "--cert".as_ref(), scert.as_path()],
            vec![],
        ),
    ];
    for (name, args, paths, verify_args) in cases {
        let signed = mail_sign(&d, name, &letter, &args, &paths);
        assert!(signed.is_ascii(), "{name}: 8-bit bytes in the signed message");
        let raw = signed.as_bytes();
        let root = sealpost::mime::parse(raw).unwrap();
        assert!(root.is("multipart/signed"), "{name}: {}", root.content_type);
        let part = &root.children[0];
        let entity = &signed[part.entity()];
        for line in entity.lines() {
            assert!(line.len() <= 78, "{name}: a signed line of {} characters", line.len());
            assert!(!line.ends_with(' ') && !line.ends_with('\t'), "{name}: white space before a line end: {line:?}");
        }
        let decoded = String::from_utf8(sealpost::mime::body::decoded(raw, part).unwrap()).unwrap();
        assert!(decoded.contains("Gr\u{fc}\u{df}e aus K\u{f6}ln"), "{name}: {decoded}");
        assert!(
            decoded.contains(&format!("\r\n{long_line}\r\n")) || decoded.contains(&format!("\n{long_line}\n")),
            "{name}: the 10 kB line is not whole"
        );
        let (code, v, _) = mail_verify(&d, &format!("{name}-verify"), raw, &as_paths(&verify_args));
        assert_eq!((code, v["status"].as_str()), (Some(0), Some("pass")), "{name}: {v}");
        // A relay that rewrites the 7-bit message with CRLF line ends changes nothing signed either.
        let crlf = signed.replace("\r\n", "\n").replace('\n', "\r\n");
        let (code, v, _) = mail_verify(&d, &format!("{name}-crlf"), crlf.as_bytes(), &as_paths(&verify_args));
        assert_eq!((code, v["status"].as_str()), (Some(0), Some("pass")), "{name} with CRLF: {v}");
    }
}

// ------------------------------------------------------------------------------------------------------------
// F1

/// Nested multiparts (`multipart-N`) or nested message/rfc822 (`rfc822-N`), as raw bytes.
fn nested(case: &str) -> Vec<u8> {
    let (kind, n) = case.split_once('-').unwrap();
    let n: usize = n.parse().unwrap();
    let mut m = String::new();
    if kind == "multipart" {
        m.push_str("From: a@example.org\r\n");
        for i in 0..n {
            m.push_str(&format!("Content-Type: multipart/mixed; boundary=\"b{i}\"\r\n\r\n--b{i}\r\n"));
        }
        m.push_str("Content-Type: text/plain\r\n\r\nx\r\n");
    } else {
        for _ in 0..n {
            m.push_str("From: a@example.org\r\nContent-Type: message/rfc822\r\n\r\n");
        }
        m.push_str("From: a@example.org\r\n\r\nx\r\n");
    }
    m.into_bytes()
}

/// Not a test of its own: the child process of [`parse_on_a_small_stack`], which parses the case named in
/// `SEALPOST_F1_PROBE` with `sealpost::mime::parse` on a thread with a 256 KiB stack and must get an error.
/// (A stack overflow aborts the whole process, so it is run apart from the test harness.)
#[test]
fn f1_probe_child() {
    let Ok(case) = std::env::var("SEALPOST_F1_PROBE") else { return };
    let msg = nested(&case);
    let parsed = std::thread::Builder::new()
        .stack_size(256 << 10)
        .spawn(move || sealpost::mime::parse(&msg).map(|_| ()).map_err(|e| e.to_string()))
        .unwrap()
        .join()
        .unwrap();
    let err = parsed.err().unwrap_or_else(|| panic!("{case}: parsed without an error"));
    assert!(err.contains("nesting") || err.contains("parts"), "{case}: {err}");
}

/// Runs [`f1_probe_child`] for `case` in a child process: `Ok` when it got its error, else what happened.
fn parse_on_a_small_stack(case: &str) -> Result<(), String> {
    let o = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "f1_probe_child", "--nocapture", "--test-threads=1"])
        .env("SEALPOST_F1_PROBE", case)
        .output()
        .unwrap();
    if o.status.success() {
        return Ok(());
    }
    let err = String::from_utf8_lossy(&o.stderr);
    Err(match std::os::unix::process::ExitStatusExt::signal(&o.status) {
        Some(sig) => format!("{case}: killed by signal {sig} (a crash): {}", err.lines().last().unwrap_or("")),
        None => format!("{case}: {}: {err}", o.status),
    })
}

/// 10 000 nested multiparts, and 9 000 (under the 10 000-part limit, so that the nesting itself must be
/// caught), parsed on a thread with a 256 KiB stack: an error, not a crash.
#[test]
fn f1_ten_thousand_nested_parts_on_a_small_stack_are_an_error() {
    for case in ["multipart-10000", "multipart-9000"] {
        parse_on_a_small_stack(case).unwrap();
    }
}

/// Nested message/rfc822 parts: mail-parser keeps them as nested `Message` values, and dropping 5 000 of
/// them overflows a 256 KiB stack; 60 000 (a 3 MB message) abort `sealpost mail verify` on its 8 MiB main
/// stack (SIGABRT), and would end the SMTP hook or the IMAP proxy (2 MiB worker stacks) for every session.
#[test]
fn f1_nested_attached_messages_are_an_error_not_a_crash() {
    parse_on_a_small_stack("rfc822-5000").unwrap();
    let d = dir("f1-rfc822");
    let input = d.join("nested.eml");
    std::fs::write(&input, nested("rfc822-60000")).unwrap();
    let r = common::sandboxed::sealpost(
        &d,
        &["mail".as_ref(), "verify".as_ref(), "-o".as_ref(), d.join("out").as_os_str(), input.as_os_str()],
        None,
        None,
        std::time::Duration::from_secs(60),
    );
    assert_eq!(r.code, Some(2), "60 000 nested message/rfc822: {} {}", r.line, r.stderr);
}

/// A signed message with a second `boundary=` parameter: parsers disagree on which one counts (the RFCs do
/// not say), so what one client shows may not be what was verified. It must not pass.
#[test]
fn f1_duplicate_boundary_parameters_are_refused() {
    let p = pki();
    let d = dir("f1-boundary");
    let signed =
        mail_sign(&d, "signed", LETTER, &["sign", "--format", "pgp", "--key"], &[p.path("alice.key").as_path()]);
    let b = signed.split("boundary=\"").nth(1).unwrap().split('"').next().unwrap().to_string();
    let cargs = cert_arg(p, "alice");
    for (label, replaced) in [
        ("ours first", format!("boundary=\"{b}\"; boundary=\"other\"")),
        ("ours second", format!("boundary=\"other\"; boundary=\"{b}\"")),
        ("ours twice", format!("boundary=\"{b}\"; BOUNDARY=\"{b}\"")),
    ] {
        let msg = signed.replacen(&format!("boundary=\"{b}\""), &replaced, 1);
        let (code, v, out) = mail_verify(&d, "dup", msg.as_bytes(), &as_paths(&cargs));
        assert!(matches!(code, Some(1 | 2)), "{label}: exit {code:?}");
        assert!(v["status"] != "pass" && !header_of(&out).contains("status=pass"), "{label}: {v}");
    }
}

/// A multipart/signed with a Content-Transfer-Encoding of base64 or quoted-printable (RFC 2045 section 6.4
/// allows only 7bit, 8bit and binary on a multipart): a client that decodes it shows something else than
/// what was verified. It must not pass.
#[test]
fn f1_a_transfer_encoding_on_a_multipart_is_refused() {
    let p = pki();
    let d = dir("f1-cte");
    let signed =
        mail_sign(&d, "signed", LETTER, &["sign", "--format", "pgp", "--key"], &[p.path("alice.key").as_path()]);
    let cargs = cert_arg(p, "alice");
    let eol = if signed.contains("\r\n") { "\r\n" } else { "\n" };
    for cte in ["base64", "quoted-printable"] {
        let msg = signed.replacen(
            &format!("MIME-Version: 1.0{eol}"),
            &format!("MIME-Version: 1.0{eol}Content-Transfer-Encoding: {cte}{eol}"),
            1,
        );
        let (code, v, _) = mail_verify(&d, "cte", msg.as_bytes(), &as_paths(&cargs));
        assert!(matches!(code, Some(1 | 2)), "{cte}: exit {code:?}");
        assert!(v["status"] != "pass", "{cte}: {v}");
    }
}

/// The base64 of an S/MIME signature part with characters outside the alphabet, a `=` in the middle, or data
/// after the final `=` (RFC 2045 section 6.8: nothing may follow the pad): not a good signature.
#[test]
fn f1_bad_base64_in_a_signature_part_is_not_a_good_signature() {
    let p = pki();
    let d = dir("f1-base64");
    let signed = sam_signs(p, &d);
    let at = signed.find("application/pkcs7-signature").unwrap();
    let body = at + signed[at..].find("\r\n\r\n").map(|i| i + 4).or(signed[at..].find("\n\n").map(|i| i + 2)).unwrap();
    for (label, msg) in [
        ("bad characters", format!("{}!*{}", &signed[..body + 10], &signed[body + 10..])),
        ("a pad in the middle", format!("{}={}", &signed[..body + 12], &signed[body + 12..])),
    ] {
        let (code, v, _) = mail_verify(&d, "b64", msg.as_bytes(), &[]);
        assert_eq!(code, Some(1), "{label}: {v}");
        assert!(v["status"] != "pass", "{label}: {v}");
    }
}

/// Data after the final `=` of a base64 signature part (RFC 2045 section 6.8): not a good signature.
#[test]
fn f1_data_after_the_base64_pad_is_refused() {
    let p = pki();
    let d = dir("f1-base64-pad");
    let signed = sam_signs(p, &d);
    // The signature part's own Content-Type (the first mention is the outer protocol= parameter).
    let at = signed.rfind("application/pkcs7-signature").unwrap();
    let end = at + signed[at..].find("\n--").unwrap();
    let eol = if signed.contains("\r\n") { "\r\n" } else { "\n" };
    let body_end = if signed[..end].ends_with('\r') { end - 1 } else { end };
    let msg = format!("{}{eol}=={eol}TWFsbG9yeQ=={}", &signed[..body_end], &signed[body_end..]);
    let (code, v, _) = mail_verify(&d, "after-pad", msg.as_bytes(), &[]);
    assert!(matches!(code, Some(1 | 2)), "exit {code:?}: {v}");
    assert!(v["status"] != "pass", "{v}");
}

/// An opaque S/MIME signature (application/pkcs7-mime) sent quoted-printable, with `=ZZ` (not hex) or a soft
/// line break at the very end: decoded leniently, the DER is no longer the signed one; never a good signature.
#[test]
fn f1_bad_quoted_printable_is_not_a_good_signature() {
    let p = pki();
    let d = dir("f1-qp");
    let (key, cert) = (p.path("sam.key"), p.path("sam.cert"));
    std::fs::write(d.join("t.txt"), "Content-Type: text/plain\r\n\r\nopaque words\r\n").unwrap();
    run_ok(
        sealpost()
            .args(["smime", "sign", "--cert"])
            .arg(&cert)
            .arg("--key")
            .arg(&key)
            .arg("-o")
            .arg(d.join("t.p7m"))
            .arg(d.join("t.txt")),
    );
    let der = std::fs::read(d.join("t.p7m")).unwrap();
    let qp = qp_binary(&der);
    let mail = |body: &str| {
        format!(
            "From: Sam <sam@example.org>\r\nSubject: qp\r\nMIME-Version: 1.0\r\nContent-Type: application/pkcs7-mime; smime-type=signed-data; name=smime.p7m\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n{body}"
        )
    };
    // The control: the QP form as written passes.
    let (code, v, _) = mail_verify(&d, "qp-control", mail(&qp).as_bytes(), &[]);
    assert_eq!((code, v["status"].as_str()), (Some(0), Some("pass")), "{v}");
    // Between two encoded octets in the middle.
    let mid = (qp.len() / 2..qp.len()).find(|&i| qp[i..].starts_with('=') && !qp[i..].starts_with("=\r")).unwrap();
    for (label, body) in [
        ("=ZZ in the middle", format!("{}=ZZ{}", &qp[..mid], &qp[mid..])),
        ("a soft line break at the end", format!("{qp}=")),
    ] {
        let (code, v, _) = mail_verify(&d, "qp", mail(&body).as_bytes(), &[]);
        assert!(matches!(code, Some(1 | 2)), "{label}: exit {code:?}: {v}");
        assert!(v["status"] != "pass", "{label}: {v}");
    }
}

/// Quoted-printable for binary data (RFC 2045 section 6.7): every octet outside printable ASCII, and `=`,
/// as `=XX` (CR and LF too), lines cut at 76 characters with soft line breaks.
fn qp_binary(data: &[u8]) -> String {
    let mut out = String::new();
    let mut line = 0;
    for &b in data {
        let piece = if (33..=126).contains(&b) && b != b'=' { (b as char).to_string() } else { format!("={b:02X}") };
        if line + piece.len() > 75 {
            out.push_str("=\r\n");
            line = 0;
        }
        line += piece.len();
        out.push_str(&piece);
    }
    out
}
