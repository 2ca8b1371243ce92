//! `sealpost filter pipe` and `filter explain` with a real keystore: an outbound message comes out signed and
//! encrypted and gpg decrypts it (with a good signature); the same message inbound comes out decrypted with
//! the verification header; a spoofed header never survives either way; required encryption without a key is
//! refused with exit 69 and nothing written; a broken configuration is exit 78; nothing to do leaves the
//! message as it was.

#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use common::gpg::Gpg;
use common::{peer, run_ok, scratch};

fn sealpost() -> Command {
    Command::new(env!("CARGO_BIN_EXE_sealpost"))
}

/// Runs `sealpost filter pipe` with `message` on standard input.
fn pipe(config: &Path, message: &[u8], extra: &[&str]) -> Output {
    let mut child = sealpost()
        .args(["filter", "pipe", "--config"])
        .arg(config)
        .args(extra)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // A filter that refuses its configuration exits before reading: the write then fails with a broken
    // pipe, and what the test checks is the exit status and stderr, not the write.
    let written = child.stdin.take().unwrap().write_all(message);
    let out = child.wait_with_output().unwrap();
    if let Err(e) = written {
        assert!(!out.status.success(), "the filter succeeded without reading its input: {e}");
    }
    out
}

fn config(dir: &Path, name: &str, keystore: &Path, extra: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(
        &path,
        format!(
            "keystore = \"{}\"\nlocal_domains = [\"example.org\"]\nauthserv_id = \"mx.example.org\"\n{extra}",
            keystore.display()
        ),
    )
    .unwrap();
    path
}

const LETTER: &str = "Sealpost-Verification: mx.example.org; status=pass\r\nFrom: Alice <alice@example.org>\r\nTo: Bob <bob@example.net>\r\nSubject: quarterly figures\r\nContent-Type: text/plain\r\n\r\nThe figures are attached in spirit.\r\n";

#[test]
fn pipe_seals_outbound_and_opens_inbound() {
    const TEST: &str = "pipe_seals_outbound_and_opens_inbound";
    let Some(bin) = peer(TEST, "gpg") else { return };
    peer(TEST, "python3");
    let dir = scratch(TEST);
    for (who, uid) in [("alice", "Alice <alice@example.org>"), ("bob", "Bob <bob@example.net>")] {
        run_ok(sealpost().args(["key", "generate", "--type", "pgp", "--uid", uid, "--output"]).arg(dir.join(who)));
    }
    // Alice's host: her secret key, Bob's certificate. Bob's host: his secret key, Alice's certificate.
    let (alice_ks, bob_ks) = (dir.join("alice-ks"), dir.join("bob-ks"));
    run_ok(
        sealpost()
            .arg("--keystore")
            .arg(&alice_ks)
            .args(["key", "import"])
            .arg(dir.join("alice.key"))
            .arg(dir.join("bob.cert")),
    );
    run_ok(
        sealpost()
            .arg("--keystore")
            .arg(&bob_ks)
            .args(["key", "import"])
            .arg(dir.join("bob.key"))
            .arg(dir.join("alice.cert")),
    );
    let out_conf = config(&dir, "alice.toml", &alice_ks, "[outbound]\nencrypt = \"opportunistic\"\n");
    let in_conf = config(&dir, "bob.toml", &bob_ks, "local_domains_note = 1\n");
    // An unknown key in the configuration is an error: exit 78, nothing written.
    let o = pipe(&in_conf, LETTER.as_bytes(), &[]);
    assert_eq!(o.status.code(), Some(78), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(o.stdout.is_empty());
    std::fs::write(
        &in_conf,
        format!(
            "keystore = \"{}\"\nlocal_domains = [\"example.net\"]\nauthserv_id = \"mx.example.net\"\n",
            bob_ks.display()
        ),
    )
    .unwrap();

    // explain says what and why.
    let letter = dir.join("letter.eml");
    std::fs::write(&letter, LETTER).unwrap();
    let o = run_ok(sealpost().args(["filter", "explain", "--config"]).arg(&out_conf).arg(&letter));
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.starts_with("outbound: sign and encrypt as pgp\n"), "{text}");
    assert!(
        text.contains("alice@example.org is in a local domain")
            && text.contains("every recipient has a pgp certificate"),
        "{text}"
    );

    // Outbound: signed and encrypted; the spoofed header is gone; gpg (with Bob's key) decrypts it.
    let o = pipe(&out_conf, LETTER.as_bytes(), &[]);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let sealed = o.stdout;
    let sealed_text = String::from_utf8_lossy(&sealed).into_owned();
    assert!(
        sealed_text.contains("multipart/encrypted")
            && !sealed_text.contains("quarterly")
            && !sealed_text.to_ascii_lowercase().contains("sealpost-verification"),
        "{sealed_text}"
    );
    let sealed_path = dir.join("sealed.eml");
    std::fs::write(&sealed_path, &sealed).unwrap();
    let gpg = Gpg::new(&bin);
    gpg.import(&[&dir.join("bob.key"), &dir.join("alice.cert")]);
    let script = "import email, sys\nm = email.message_from_binary_file(open(sys.argv[1], 'rb'))\nsys.stdout.buffer.write(m.get_payload()[1].get_payload(decode=True))\n";
    let armored = run_ok(Command::new("python3").args(["-c", script]).arg(&sealed_path)).stdout;
    std::fs::write(dir.join("part.asc"), armored).unwrap();
    let out = run_ok(gpg.cmd().args(["--status-fd", "2", "--decrypt"]).arg(dir.join("part.asc")));
    assert!(String::from_utf8_lossy(&out.stderr).contains("[GNUPG:] GOODSIG"));
    assert!(String::from_utf8_lossy(&out.stdout).contains("Subject: quarterly figures"));

    // Inbound at Bob's: decrypted, verified, our header first, the Subject restored.
    let o = pipe(&in_conf, &sealed, &[]);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let opened = String::from_utf8_lossy(&o.stdout);
    assert!(opened.starts_with("Sealpost-Verification: mx.example.net; format=pgp; status=pass;"), "{opened}");
    assert!(
        opened.contains("from=match") && opened.contains("Subject: quarterly figures") && opened.contains("in spirit"),
        "{opened}"
    );
    assert_eq!(opened.to_ascii_lowercase().matches("sealpost-verification").count(), 1);

    // Required encryption, a recipient without a key: exit 69, nothing on standard output.
    let req = config(&dir, "req.toml", &alice_ks, "[outbound]\nencrypt = \"required\"\n");
    let carol = LETTER.replace("To: Bob <bob@example.net>", "To: Bob <bob@example.net>, carol@example.com");
    let o = pipe(&req, carol.as_bytes(), &[]);
    assert_eq!(o.status.code(), Some(69), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(o.stdout.is_empty());
    assert!(String::from_utf8_lossy(&o.stderr).contains("carol@example.com"));
    // Opportunistic with the same recipients: signed only, and explain says why.
    let o = pipe(&out_conf, carol.as_bytes(), &[]);
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains("multipart/signed") && !text.contains("multipart/encrypted"), "{text}");

    // Nothing applies: inbound with verify and decrypt off leaves the message as it was (spoofs removed).
    let off = config(&dir, "off.toml", &bob_ks, "[inbound]\nverify = false\ndecrypt = false\n");
    let o = pipe(&off, LETTER.as_bytes(), &["--direction", "in"]);
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&o.stdout), LETTER.split_once("\r\n").unwrap().1);
}
