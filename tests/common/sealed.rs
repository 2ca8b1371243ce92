//! Keys and a sealed message for the proxy tests: Bob and Carol with OpenPGP keys made by sealpost, a
//! keystore that can open mail for Bob, and a PGP/MIME message Carol signed and encrypted to Bob with gpg.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::gpg::Gpg;
use super::run_ok;

/// What [`bob_and_carol`] made.
pub struct BobAndCarol {
    /// The keystore: Bob's secret key, Carol's certificate.
    pub ks: PathBuf,
    /// The whole message (CRLF), From Carol To Bob, Subject `plan`; its inner text is `The secret plan.`.
    pub encrypted: Vec<u8>,
}

/// OpenPGP keys made by `sealpost key generate` in `dir` (`NAME.key`, `NAME.cert`) for a receiver and a
/// sender, each `(name, user id)`: the keystore `dir/ks` (returned) gets the receiver's secret key and the
/// sender's certificate, `gpg` the sender's secret key and the receiver's certificate.
pub fn receiver_and_sender(dir: &Path, gpg: &Gpg, receiver: (&str, &str), sender: (&str, &str)) -> PathBuf {
    let sealpost = || Command::new(env!("CARGO_BIN_EXE_sealpost"));
    for (who, uid) in [receiver, sender] {
        run_ok(sealpost().args(["key", "generate", "--type", "pgp", "--uid", uid, "--output"]).arg(dir.join(who)));
    }
    let ks = dir.join("ks");
    let (r, s) = (receiver.0, sender.0);
    run_ok(
        sealpost()
            .arg("--keystore")
            .arg(&ks)
            .args(["key", "import"])
            .arg(dir.join(format!("{r}.key")))
            .arg(dir.join(format!("{s}.cert"))),
    );
    gpg.import(&[&dir.join(format!("{s}.key")), &dir.join(format!("{r}.cert"))]);
    ks
}

/// Makes, in `dir`, `bob.key`/`bob.cert` (bob@example.org) and `carol.key`/`carol.cert` (carol@example.com),
/// the keystore `dir/ks`, and the message, with gpg (`gpg_bin`) signing as Carol.
pub fn bob_and_carol(gpg_bin: &Path, dir: &Path) -> BobAndCarol {
    let gpg = Gpg::new(gpg_bin);
    let ks = receiver_and_sender(dir, &gpg, ("bob", "Bob <bob@example.org>"), ("carol", "Carol <carol@example.com>"));
    std::fs::write(dir.join("inner.eml"), "Content-Type: text/plain\r\n\r\nThe secret plan.\r\n").unwrap();
    let armored = run_ok(
        gpg.cmd()
            .args(["--trust-model", "always", "--armor", "--sign", "--local-user", "carol@example.com"])
            .args(["--recipient", "bob@example.org", "--encrypt", "--output", "-"])
            .arg(dir.join("inner.eml")),
    )
    .stdout;
    let mut encrypted = b"From: Carol <carol@example.com>\r\nTo: Bob <bob@example.org>\r\nSubject: plan\r\nMIME-Version: 1.0\r\nContent-Type: multipart/encrypted; protocol=\"application/pgp-encrypted\"; boundary=\"b1\"\r\n\r\n--b1\r\nContent-Type: application/pgp-encrypted\r\n\r\nVersion: 1\r\n\r\n--b1\r\nContent-Type: application/octet-stream\r\n\r\n".to_vec();
    encrypted.extend(String::from_utf8(armored).unwrap().replace('\n', "\r\n").into_bytes());
    encrypted.extend_from_slice(b"\r\n--b1--\r\n");
    BobAndCarol { ks, encrypted }
}
