//! The keystore (`sealpost key import|list|export`, `--keystore`): keys gpg and openssl made are imported,
//! listed and exported, and the exports read back by gpg and openssl; lookups by address ignore case and
//! take Unicode domains; files and directories get their modes; unsafe key files, symbolic links and
//! garbage are refused with one line; importing twice changes nothing.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // A panic in a test is a failed test.

mod common;

use std::fs::{self, Permissions};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::gpg::Gpg;
use common::{peer, run_ok, scratch};
use sealpost::keystore::{Keystore, SecretKind};
use serde_json::Value;

fn sealpost(keystore: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_sealpost"));
    cmd.env_remove("SEALPOST_HOME").arg("--keystore").arg(keystore);
    cmd
}

fn describe(cmd: &Command, out: &Output) -> String {
    format!(
        "command: {cmd:?}\nstatus: {}\nstdout:\n{}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Runs sealpost, which must exit with `code`; returns stdout.
fn expect(cmd: &mut Command, code: i32) -> Output {
    let out = cmd.output().unwrap();
    assert_eq!(out.status.code(), Some(code), "{}", describe(cmd, &out));
    out
}

/// Runs sealpost, which must fail with `code` and one line on stderr containing `needle`, and print nothing.
fn expect_error(cmd: &mut Command, code: i32, needle: &str) -> String {
    let out = expect(cmd, code);
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(err.lines().count(), 1, "not one line: {}", describe(cmd, &out));
    assert!(err.starts_with("sealpost: error: "), "{}", describe(cmd, &out));
    assert!(err.contains(needle), "expected {needle:?}: {}", describe(cmd, &out));
    assert!(out.stdout.is_empty(), "{}", describe(cmd, &out));
    err
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn list_json(ks: &Path) -> Vec<Value> {
    let out = expect(sealpost(ks).args(["key", "list", "--json"]), 0);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    v.as_array().unwrap().clone()
}

fn entry<'a>(list: &'a [Value], fpr: &str) -> &'a Value {
    list.iter()
        .find(|e| e["fingerprint"].as_str().is_some_and(|f| f.eq_ignore_ascii_case(fpr)))
        .unwrap_or_else(|| panic!("{fpr} not listed in {list:#?}"))
}

fn addresses(e: &Value) -> Vec<String> {
    e["addresses"].as_array().unwrap().iter().map(|a| a.as_str().unwrap().to_string()).collect()
}

fn mode(path: &Path) -> u32 {
    fs::symlink_metadata(path).unwrap().mode() & 0o777
}

fn private(path: &Path) {
    fs::set_permissions(path, Permissions::from_mode(0o600)).unwrap();
}

/// Every file under `dir` with its content, for comparing a keystore before and after.
fn snapshot(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                todo.push(p);
            } else if p.file_name().is_some_and(|n| n != "writelock") {
                out.push((p.clone(), fs::read(&p).unwrap()));
            }
        }
    }
    out.sort();
    out
}

/// Files written by `sealpost key generate` (no peer needed): an OpenPGP key and an X.509 certificate with its
/// key, under `dir/NAME.{key,cert}`.
fn generate(dir: &Path, kind: &str, name: &str, uid: &str) -> (PathBuf, PathBuf) {
    let prefix = dir.join(name);
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_sealpost"));
    cmd.args(["key", "generate", "--type", kind, "--algo", "rsa2048", "--uid", uid, "--output"]).arg(&prefix);
    expect(&mut cmd, 0);
    (prefix.with_extension("key"), prefix.with_extension("cert"))
}

// ---------------------------------------------------------------------------------------------------------
// GnuPG.

#[test]
fn gpg_keys_import_list_and_export_back_to_gpg() {
    let Some(bin) = peer("gpg_keys_import_list_and_export_back_to_gpg", "gpg") else { return };
    let dir = scratch("keystore-gpg");
    let ks = dir.join("store");
    let gpg = Gpg::new(&bin);
    // Carol: RSA, expiring, a mixed-case address. Dave: Ed25519/Cv25519, a Unicode domain, never expires.
    run_ok(gpg.cmd().args(["--quick-gen-key", "Carol <Carol@Example.ORG>", "rsa2048", "sign,cert", "2y"]));
    let carol = gpg.fingerprint("carol@example.org");
    run_ok(gpg.cmd().args(["--quick-add-key", &carol, "rsa2048", "encr", "2y"]));
    run_ok(gpg.cmd().args(["--quick-gen-key", "Dave <dave@bücher.example>", "ed25519", "sign,cert", "never"]));
    let dave = gpg.fingerprint("dave@bücher.example");
    run_ok(gpg.cmd().args(["--quick-add-key", &dave, "cv25519", "encr", "never"]));
    assert_ne!(carol, dave);

    // A keyring of both certificates (armored) and Carol's secret key (binary), imported in one go.
    let ring = dir.join("ring.asc");
    let carol_secret = dir.join("carol-secret.gpg");
    run_ok(gpg.cmd().args(["--armor", "--output"]).arg(&ring).args(["--export", &carol, &dave]));
    run_ok(gpg.cmd().arg("--output").arg(&carol_secret).args(["--export-secret-keys", &carol]));
    private(&carol_secret);
    let out = expect(sealpost(&ks).args(["key", "import"]).arg(&ring).arg(&carol_secret), 0);
    let lines = stdout(&out);
    assert_eq!(lines.lines().count(), 3, "one line per certificate and secret key:\n{lines}");
    assert!(lines.lines().all(|l| l.ends_with(" new")), "{lines}");
    assert!(lines.contains(&format!("pgp-secret {carol} Carol@Example.ORG new")), "{lines}");

    // The layout: pgp.cert.d by lower-case fingerprint, the secret key apart, modes 0700/0600.
    let lower = carol.to_lowercase();
    assert!(ks.join("pgp.cert.d").join(&lower[..2]).join(&lower[2..]).is_file());
    assert!(ks.join("pgp.cert.d").join(&dave.to_lowercase()[..2]).is_dir());
    let secret_file = ks.join("secret").join(format!("pgp-{lower}.pgp"));
    assert_eq!(mode(&secret_file), 0o600);
    assert_eq!(mode(&ks.join("secret")), 0o700);
    assert_eq!(mode(&ks), 0o700);
    assert!(!ks.join("secret").join(format!("pgp-{}.pgp", dave.to_lowercase())).exists());

    let list = list_json(&ks);
    assert_eq!(list.len(), 2, "{list:#?}");
    let c = entry(&list, &carol);
    assert_eq!(c["type"], "pgp");
    assert_eq!(c["secret"], true);
    assert_eq!(addresses(c), ["Carol@Example.ORG"]);
    assert!(c["expires"].as_str().is_some_and(|t| t.ends_with('Z') && t.len() == 20), "{c}");
    let d = entry(&list, &dave);
    assert_eq!(d["secret"], false);
    assert_eq!(d["expires"], Value::Null);
    assert_eq!(addresses(d), ["dave@bücher.example"]);
    let table = stdout(&expect(sealpost(&ks).args(["key", "list"]), 0));
    assert!(table.lines().any(|l| l.starts_with("pgp") && l.contains(&carol) && l.contains("yes")), "{table}");

    // Lookups: case differs, the domain given as its A-label; export goes back into a fresh gpg.
    let exported = dir.join("carol.asc");
    expect(sealpost(&ks).args(["key", "export", "CAROL@example.org", "-o"]).arg(&exported), 0);
    assert!(fs::read_to_string(&exported).unwrap().starts_with("-----BEGIN PGP PUBLIC KEY BLOCK-----"));
    let dave_out = expect(sealpost(&ks).args(["key", "export", "Dave@XN--BCHER-KVA.example"]), 0);
    let dave_file = dir.join("dave.asc");
    fs::write(&dave_file, &dave_out.stdout).unwrap();
    let fresh = Gpg::new(&bin);
    run_ok(fresh.cmd().arg("--import").arg(&exported).arg(&dave_file));
    let mut got = fresh.keys(false);
    got.sort();
    let mut want = vec![carol.clone(), dave.clone()];
    want.sort();
    assert_eq!(got, want, "gpg must read back exactly the two certificates");

    // The secret key, by fingerprint in lower case: a 0600 file gpg imports as a secret key.
    let secret_out = dir.join("carol.key");
    expect(sealpost(&ks).args(["key", "export", "--secret", &carol.to_lowercase(), "-o"]).arg(&secret_out), 0);
    assert_eq!(mode(&secret_out), 0o600);
    assert!(fs::read_to_string(&secret_out).unwrap().starts_with("-----BEGIN PGP PRIVATE KEY BLOCK-----"));
    let fresh2 = Gpg::new(&bin);
    run_ok(fresh2.cmd().arg("--import").arg(&secret_out));
    assert_eq!(fresh2.keys(true), vec![carol.as_str()]);
    // Dave has no secret key here.
    expect_error(sealpost(&ks).args(["key", "export", "--secret", "dave@bücher.example"]), 1, "no secret key");

    // A new user ID, exported again by gpg: the import merges it in.
    run_ok(gpg.cmd().args(["--quick-add-uid", &carol, "Carol <carol@work.example>"]));
    let again = dir.join("carol2.asc");
    run_ok(gpg.cmd().args(["--armor", "--output"]).arg(&again).args(["--export", &carol]));
    let out = expect(sealpost(&ks).args(["key", "import"]).arg(&again), 0);
    assert_eq!(stdout(&out).trim_end(), format!("pgp {carol} Carol@Example.ORG,carol@work.example updated"));
    let c = entry(&list_json(&ks), &carol).clone();
    assert_eq!(addresses(&c), ["Carol@Example.ORG", "carol@work.example"]);
    assert_eq!(c["secret"], true, "the secret key stays paired after a merge");

    // The library API the mail layer uses.
    let store = Keystore::open(Some(&ks)).unwrap();
    assert_eq!(store.pgp_certs_for("Carol@WORK.example").unwrap().len(), 1);
    assert_eq!(store.pgp_certs_for("DAVE@Bücher.Example").unwrap().len(), 1);
    let secrets = store.pgp_secret_for("carol@example.org").unwrap();
    assert_eq!(secrets.len(), 1);
    assert_eq!(secrets[0].kind(), SecretKind::Pgp);
    assert!(secrets[0].pgp_cert().unwrap().is_tsk());
    let shown = format!("{:?}", secrets[0]);
    let raw = format!("{:?}", &secrets[0].bytes()[..8]);
    assert!(
        shown.contains("redacted") && !shown.contains(raw.trim_end_matches(']')),
        "Debug must be redacted: {shown}"
    );
    assert!(store.pgp_secret_for("dave@bücher.example").unwrap().is_empty());
    assert!(store.by_fingerprint(&dave).unwrap().is_some());
    assert!(store.x509_certs_for("carol@example.org").unwrap().is_empty());
}

// ---------------------------------------------------------------------------------------------------------
// OpenSSL.

#[test]
fn openssl_certificates_and_keys() {
    let Some(openssl) = peer("openssl_certificates_and_keys", "openssl") else { return };
    let dir = scratch("keystore-openssl");
    let ks = dir.join("store");
    let pass = dir.join("pass");
    fs::write(&pass, "correct horse\n").unwrap();
    private(&pass);
    let ossl = || Command::new(&openssl);

    // Bob: emailAddress in the subject, an rfc822Name SAN with a punycode domain, a PKCS #8 key.
    let bob_key = dir.join("bob.key");
    let bob_pem = dir.join("bob.pem");
    run_ok(
        ossl()
            .args(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "30", "-keyout"])
            .arg(&bob_key)
            .arg("-out")
            .arg(&bob_pem)
            .args([
                "-subj",
                "/CN=Bob/emailAddress=Bob@Example.NET",
                "-addext",
                "subjectAltName=email:bob@xn--mnchen-3ya.example",
            ]),
    );
    private(&bob_key);
    assert!(fs::read_to_string(&bob_key).unwrap().contains("BEGIN PRIVATE KEY"));
    // Erin: certificate as DER, key in OpenSSL's traditional encrypted PEM.
    let erin_plain = dir.join("erin-plain.key");
    let erin_pem = dir.join("erin.pem");
    let erin_der = dir.join("erin.der");
    let erin_key = dir.join("erin.key");
    run_ok(
        ossl()
            .args(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "30", "-keyout"])
            .arg(&erin_plain)
            .arg("-out")
            .arg(&erin_pem)
            .args(["-subj", "/CN=Erin", "-addext", "subjectAltName=email:erin@example.org"]),
    );
    run_ok(ossl().args(["x509", "-outform", "DER", "-in"]).arg(&erin_pem).arg("-out").arg(&erin_der));
    run_ok(
        ossl()
            .args(["rsa", "-traditional", "-aes256", "-passout"])
            .arg(format!("file:{}", pass.display()))
            .arg("-in")
            .arg(&erin_plain)
            .arg("-out")
            .arg(&erin_key),
    );
    private(&erin_key);
    assert!(fs::read_to_string(&erin_key).unwrap().contains("Proc-Type: 4,ENCRYPTED"));
    // Frank: certificate and encrypted PKCS #8 key in one PEM file, as OpenSSL's test files keep them.
    let frank_plain = dir.join("frank-plain.key");
    let frank_pem = dir.join("frank-cert.pem");
    run_ok(
        ossl()
            .args(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "30", "-keyout"])
            .arg(&frank_plain)
            .arg("-out")
            .arg(&frank_pem)
            .args(["-subj", "/CN=Frank/emailAddress=frank@example.org"]),
    );
    let frank_enc = run_ok(
        ossl()
            .args(["pkcs8", "-topk8", "-v2", "aes-256-cbc", "-passout"])
            .arg(format!("file:{}", pass.display()))
            .arg("-in")
            .arg(&frank_plain),
    );
    let frank_both = dir.join("frank.pem");
    let mut both = fs::read(&frank_pem).unwrap();
    both.extend_from_slice(&frank_enc.stdout);
    fs::write(&frank_both, &both).unwrap();
    private(&frank_both);

    // Keys before certificates on the command line: the pairing does not depend on the order.
    let out = expect(
        sealpost(&ks)
            .args(["key", "import", "--passphrase-file"])
            .arg(&pass)
            .arg(&bob_key)
            .arg(&erin_key)
            .arg(&bob_pem)
            .arg(&erin_der)
            .arg(&frank_both),
        0,
    );
    let lines = stdout(&out);
    assert_eq!(lines.lines().count(), 6, "{lines}");
    assert_eq!(lines.lines().filter(|l| l.starts_with("x509 ")).count(), 3, "{lines}");
    assert_eq!(
        lines.lines().filter(|l| l.starts_with("rsa-secret ") && l.contains("the key of x509")).count(),
        3,
        "{lines}"
    );

    // Our fingerprints are openssl's SHA-256 fingerprints.
    let fpr = |pem: &Path| -> String {
        let out = run_ok(ossl().args(["x509", "-noout", "-fingerprint", "-sha256", "-in"]).arg(pem));
        stdout(&out).trim().rsplit('=').next().unwrap().replace(':', "")
    };
    let (bob, erin, frank) = (fpr(&bob_pem), fpr(&erin_pem), fpr(&frank_pem));
    let list = list_json(&ks);
    assert_eq!(list.len(), 3, "keys are listed with their certificates, not apart: {list:#?}");
    for (f, addrs) in [
        (&bob, vec!["bob@xn--mnchen-3ya.example", "Bob@Example.NET"]),
        (&erin, vec!["erin@example.org"]),
        (&frank, vec!["frank@example.org"]),
    ] {
        let e = entry(&list, f);
        assert_eq!(e["type"], "x509");
        assert_eq!(e["secret"], true, "{e}");
        assert_eq!(addresses(e), addrs);
        assert!(e["expires"].as_str().is_some(), "{e}");
    }
    assert_eq!(mode(&ks.join("x509")), 0o700);
    for f in fs::read_dir(ks.join("secret")).unwrap() {
        assert_eq!(mode(&f.unwrap().path()), 0o600);
    }

    // Export by address: case differs, Unicode domain for the punycode SAN; openssl reads the result.
    let got = dir.join("bob-out.pem");
    expect(sealpost(&ks).args(["key", "export", "BOB@München.Example", "-o"]).arg(&got), 0);
    assert_eq!(fpr(&got), bob);
    let by_subject = expect(sealpost(&ks).args(["key", "export", "bob@example.net"]), 0);
    assert_eq!(by_subject.stdout, fs::read(&got).unwrap());
    // The secret keys come out as they went in: the traditional one still encrypted, bytes unchanged.
    let erin_out = dir.join("erin-out.key");
    expect(sealpost(&ks).args(["key", "export", "--secret", "ERIN@example.org", "-o"]).arg(&erin_out), 0);
    assert_eq!(mode(&erin_out), 0o600);
    assert_eq!(fs::read(&erin_out).unwrap(), fs::read(&erin_key).unwrap());
    let bob_out = dir.join("bob-out.key");
    expect(sealpost(&ks).args(["key", "export", "--secret", &bob.to_lowercase(), "-o"]).arg(&bob_out), 0);
    let modulus = |key: &Path, passin: Option<&Path>| -> String {
        let mut cmd = ossl();
        cmd.args(["rsa", "-noout", "-modulus", "-in"]).arg(key);
        if let Some(p) = passin {
            cmd.arg("-passin").arg(format!("file:{}", p.display()));
        }
        stdout(&run_ok(&mut cmd))
    };
    assert_eq!(modulus(&bob_out, None), modulus(&bob_key, None));
    let cert_modulus = stdout(&run_ok(ossl().args(["x509", "-noout", "-modulus", "-in"]).arg(&erin_pem)));
    assert_eq!(modulus(&erin_out, Some(&pass)), cert_modulus);

    // The library API: secret_for finds the key by its certificate's addresses.
    let store = Keystore::open(Some(&ks)).unwrap();
    let found = store.x509_secret_for("bob@MÜNCHEN.example").unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].1.kind(), SecretKind::Rsa);
    let key = found[0].1.rsa_key(None).unwrap();
    assert_eq!(key.public(), &found[0].0.rsa_public_key().unwrap());
    let erin_found = store.x509_secret_for("erin@example.org").unwrap();
    assert!(erin_found[0].1.rsa_key(None).is_err(), "an encrypted key needs its passphrase");
    assert!(erin_found[0].1.rsa_key(Some(b"correct horse")).is_ok());
    assert_eq!(store.x509_certs_for("Frank@Example.org").unwrap().len(), 1);
    assert!(store.x509_certs_for("bob@münchen.example.net").unwrap().is_empty());
    assert!(store.pgp_certs_for("bob@example.net").unwrap().is_empty());

    // A key whose certificate is not here is listed as a lone key, and paired once the certificate comes.
    let (gk, gc) = generate(&dir, "x509", "gina", "Gina <gina@example.org>");
    expect(sealpost(&ks).args(["key", "import"]).arg(&gk), 0);
    let list = list_json(&ks);
    assert_eq!(list.iter().filter(|e| e["type"] == "key").count(), 1, "{list:#?}");
    expect_error(
        sealpost(&ks).args(["key", "export", "gina@example.org", "--secret"]),
        1,
        "no secret key for gina@example.org",
    );
    expect(sealpost(&ks).args(["key", "import"]).arg(&gc), 0);
    let list = list_json(&ks);
    assert!(list.iter().all(|e| e["type"] == "x509" && e["secret"] == true), "{list:#?}");
    expect(sealpost(&ks).args(["key", "export", "gina@example.org", "--secret"]), 0);
}

// ---------------------------------------------------------------------------------------------------------
// Without peers.

#[test]
fn modes_symlinks_and_readable_key_files_are_refused() {
    let dir = scratch("keystore-modes");
    let ks = dir.join("a/b/store");
    let (key, cert) = generate(&dir, "pgp", "hank", "Hank <hank@example.org>");

    // A key file others can read, or reached through a symbolic link, is refused, and nothing is written.
    fs::set_permissions(&key, Permissions::from_mode(0o644)).unwrap();
    expect_error(sealpost(&ks).args(["key", "import"]).arg(&cert).arg(&key), 2, "can be read by others (mode 0644)");
    private(&key);
    let link = dir.join("hank-link.key");
    std::os::unix::fs::symlink(&key, &link).unwrap();
    expect_error(sealpost(&ks).args(["key", "import"]).arg(&link), 2, "symbolic link");
    assert!(snapshot(&ks).is_empty(), "nothing may be written: {:?}", snapshot(&ks));
    // A certificate may come through a link: it is public.
    let cert_link = dir.join("hank-link.cert");
    std::os::unix::fs::symlink(&cert, &cert_link).unwrap();
    expect(sealpost(&ks).args(["key", "import"]).arg(&cert_link), 0);

    // The keystore and its directories are created 0700, parents too; secret files 0600.
    expect(sealpost(&ks).args(["key", "import"]).arg(&key), 0);
    for d in [&ks, &ks.join("secret"), &ks.join("x509"), &ks.join("pgp.cert.d"), &dir.join("a")] {
        assert_eq!(mode(d), 0o700, "{}", d.display());
    }
    let secrets: Vec<PathBuf> = fs::read_dir(ks.join("secret")).unwrap().map(|e| e.unwrap().path()).collect();
    assert_eq!(secrets.len(), 1);
    assert_eq!(mode(&secrets[0]), 0o600);

    // A secret in the store replaced by a symbolic link (to a file with the right mode) is refused.
    let elsewhere = dir.join("elsewhere.pgp");
    fs::copy(&secrets[0], &elsewhere).unwrap();
    private(&elsewhere);
    fs::remove_file(&secrets[0]).unwrap();
    std::os::unix::fs::symlink(&elsewhere, &secrets[0]).unwrap();
    expect_error(sealpost(&ks).args(["key", "export", "--secret", "hank@example.org"]), 2, "symbolic link");
    fs::remove_file(&secrets[0]).unwrap();
    fs::copy(&elsewhere, &secrets[0]).unwrap();
    // One others can read is refused too.
    fs::set_permissions(&secrets[0], Permissions::from_mode(0o640)).unwrap();
    expect_error(sealpost(&ks).args(["key", "export", "--secret", "hank@example.org"]), 2, "can be read by others");
    private(&secrets[0]);
    expect(sealpost(&ks).args(["key", "export", "--secret", "hank@example.org"]), 0);

    // A keystore directory others can write, or a secret directory others can read, is not used.
    fs::set_permissions(&ks, Permissions::from_mode(0o777)).unwrap();
    expect_error(sealpost(&ks).args(["key", "list"]), 2, "can be written by others");
    fs::set_permissions(&ks, Permissions::from_mode(0o755)).unwrap();
    expect(sealpost(&ks).args(["key", "list"]), 0);
    fs::set_permissions(ks.join("secret"), Permissions::from_mode(0o750)).unwrap();
    expect_error(sealpost(&ks).args(["key", "list"]), 2, "can be read by others (mode 0750)");
    fs::set_permissions(ks.join("secret"), Permissions::from_mode(0o700)).unwrap();
    let secret_dir = ks.join("secret");
    fs::rename(&secret_dir, dir.join("moved-secret")).unwrap();
    std::os::unix::fs::symlink(dir.join("moved-secret"), &secret_dir).unwrap();
    expect_error(sealpost(&ks).args(["key", "list"]), 2, "symbolic link");
}

#[test]
fn importing_twice_changes_nothing() {
    let dir = scratch("keystore-twice");
    let ks = dir.join("store");
    let (pk, pc) = generate(&dir, "pgp", "ivy", "Ivy <ivy@example.org>");
    let (xk, xc) = generate(&dir, "x509", "jay", "Jay <jay@example.org>");
    let first = stdout(&expect(sealpost(&ks).args(["key", "import"]).arg(&pc).arg(&pk).arg(&xc).arg(&xk), 0));
    assert_eq!(first.lines().count(), 4, "{first}");
    assert!(first.lines().all(|l| l.contains(" new")), "{first}");
    let before = snapshot(&ks);
    assert_eq!(before.len(), 4, "{before:?}");
    let second = stdout(&expect(sealpost(&ks).args(["key", "import"]).arg(&xk).arg(&pk).arg(&pc).arg(&xc), 0));
    assert_eq!(second.lines().count(), 4, "{second}");
    assert!(second.lines().all(|l| l.contains(" unchanged")), "{second}");
    assert_eq!(snapshot(&ks), before, "a second import must not change a byte");
    // The same certificate twice in one run, too.
    let third = stdout(&expect(sealpost(&ks).args(["key", "import"]).arg(&pc).arg(&pc), 0));
    assert!(third.lines().all(|l| l.ends_with(" unchanged")), "{third}");
    assert_eq!(list_json(&ks).len(), 2);
}

#[test]
fn garbage_is_refused_with_one_line_and_nothing_written() {
    let dir = scratch("keystore-garbage");
    let ks = dir.join("store");
    let (_, good) = generate(&dir, "pgp", "kim", "Kim <kim@example.org>");
    let cases: &[(&str, &[u8], &str)] = &[
        ("text", b"hello, world\n", "neither OpenPGP, X.509"),
        ("empty", b"", "empty file"),
        ("binary", b"\x00\x01\x02\x03garbage", "neither OpenPGP, X.509"),
        ("packets", b"\x99\x00\x05garbage", "malformed OpenPGP data"),
        (
            "armor",
            b"-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nAAAA\n-----END PGP PUBLIC KEY BLOCK-----\n",
            "malformed OpenPGP data",
        ),
        ("pem", b"-----BEGIN CERTIFICATE-----\nMAMCAQE=\n-----END CERTIFICATE-----\n", "malformed certificate"),
        ("unclosed", b"-----BEGIN CERTIFICATE-----\nAAAA\n", "has no END line"),
        ("public-key", b"-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n", "found PUBLIC KEY"),
        ("der", b"\x30\x03\x02\x01\x01", "neither an X.509 certificate"),
    ];
    for (name, bytes, needle) in cases {
        let f = dir.join(name);
        fs::write(&f, bytes).unwrap();
        private(&f);
        // With a good file before it: that one must not be stored either.
        let err = expect_error(sealpost(&ks).args(["key", "import"]).arg(&good).arg(&f), 2, needle);
        assert!(err.contains(&f.display().to_string()), "the error names the file: {err}");
    }
    expect_error(sealpost(&ks).args(["key", "import"]).arg(dir.join("missing")), 2, "cannot open");
    expect_error(sealpost(&ks).args(["key", "import"]).arg(&dir), 2, "is a directory");
    assert!(snapshot(&ks).is_empty(), "nothing may be written: {:?}", snapshot(&ks));
    assert!(list_json(&ks).is_empty());
}

#[test]
fn lookups_not_found_ambiguous_and_by_fingerprint() {
    let dir = scratch("keystore-lookup");
    let ks = dir.join("store");
    // Two certificates for one address: OpenPGP and X.509.
    let (pk, pc) = generate(&dir, "pgp", "lee", "Lee <lee@example.org>");
    let (_, xc) = generate(&dir, "x509", "lee-x", "Lee <Lee@Example.org>");
    expect(sealpost(&ks).args(["key", "import"]).arg(&pc).arg(&pk).arg(&xc), 0);
    let list = list_json(&ks);
    let fprs: Vec<String> = list.iter().map(|e| e["fingerprint"].as_str().unwrap().to_string()).collect();
    assert_eq!(fprs.len(), 2);
    let err = expect_error(sealpost(&ks).args(["key", "export", "LEE@example.org"]), 2, "names 2 certificates");
    for f in &fprs {
        assert!(err.contains(f.as_str()), "the error lists {f}: {err}");
    }
    // Only one of them has a secret key: --secret is not ambiguous.
    let out = expect(sealpost(&ks).args(["key", "export", "--secret", "lee@EXAMPLE.org"]), 0);
    assert!(stdout(&out).starts_with("-----BEGIN PGP PRIVATE KEY BLOCK-----"));
    // By fingerprint, each one; with spaces and colons, in any case.
    for f in &fprs {
        let spaced: String =
            f.chars().collect::<Vec<_>>().chunks(4).map(|c| c.iter().collect::<String>()).collect::<Vec<_>>().join(" ");
        let out = expect(sealpost(&ks).args(["key", "export", &spaced.to_lowercase()]), 0);
        assert!(stdout(&out).starts_with("-----BEGIN "), "{}", stdout(&out));
    }
    // Nothing found: exit 1, one line.
    expect_error(
        sealpost(&ks).args(["key", "export", "nobody@example.org"]),
        1,
        "no certificate for nobody@example.org",
    );
    expect_error(sealpost(&ks).args(["key", "export", &"AB".repeat(20)]), 1, "no certificate");
    // Neither an address nor a fingerprint: exit 2.
    expect_error(sealpost(&ks).args(["key", "export", "lee"]), 2, "neither an e-mail address nor a fingerprint");
    // SEALPOST_HOME selects the keystore when --keystore is absent.
    let out = Command::new(env!("CARGO_BIN_EXE_sealpost"))
        .env("SEALPOST_HOME", &ks)
        .args(["key", "list", "--json"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v.as_array().unwrap().len(), 2);
    // An empty keystore lists nothing, and says so on stderr.
    let empty = dir.join("empty");
    let out = expect(sealpost(&empty).args(["key", "list"]), 0);
    assert!(out.stdout.is_empty());
    assert!(String::from_utf8_lossy(&out.stderr).contains("is empty"));
    assert_eq!(list_json(&empty), Vec::<Value>::new());
}
