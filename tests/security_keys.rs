//! SECURITY-CASES (/work/shared/SECURITY-CASES.md) H, key handling, across every command that reads a secret
//! (tests/keystore.rs covers `key import` and the keystore's own files; docs/security.md maps every case):
//!
//! - a secret key or passphrase file readable by others (0644, 0640), owned by another user, or reached
//!   through a symbolic link is refused by `pgp sign|decrypt`, `smime sign|decrypt`, `pem sign|decrypt` and
//!   `mail sign`, with one error line and nothing written;
//! - `key generate` creates `PREFIX.key` with mode 0600 and never over an existing file or a symbolic link
//!   (O_EXCL), and `key export --secret -o` writes 0600 (and, open, should not replace a file either);
//! - no option takes a passphrase on the command line or from the environment (checked on the clap
//!   definitions of every subcommand); a passphrase never appears in stderr or the filter's trace log; (open)
//!   a passphrase can come from a file descriptor;
//! - `{:?}` of private keys and stored secrets shows none of the secret; secrets come back in `Zeroizing`.

#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)] // A panic in a test is a failed test.

mod common;

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

use common::{run, run_ok, scratch};

fn sealpost() -> Command {
    Command::new(env!("CARGO_BIN_EXE_sealpost"))
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

const PASSPHRASE: &str = "correct horse battery staple 7391";

/// Keys for the tests, all 0600: Alice (OpenPGP), Sam (X.509), Pat (X.509, for PEM), and `pass` holding
/// [`PASSPHRASE`]; `prot.key`, Alice's key protected with it; `text`, something to sign.
fn keys() -> &'static PathBuf {
    static D: OnceLock<PathBuf> = OnceLock::new();
    D.get_or_init(|| {
        let dir = scratch("security-keys");
        fs::write(dir.join("pass"), format!("{PASSPHRASE}\n")).unwrap();
        fs::set_permissions(dir.join("pass"), fs::Permissions::from_mode(0o600)).unwrap();
        for (who, uid, kind) in [
            ("alice", "Alice <alice@example.org>", "pgp"),
            ("sam", "Sam <sam@example.org>", "x509"),
            ("pat", "Pat <pat@example.org>", "x509"),
        ] {
            run_ok(
                sealpost()
                    .args(["key", "generate", "--type", kind, "--algo", "rsa2048", "--uid", uid, "--output"])
                    .arg(dir.join(who)),
            );
        }
        run_ok(
            sealpost()
                .args(["key", "generate", "--type", "pgp", "--algo", "rsa2048", "--uid", "Prot <prot@example.org>"])
                .arg("--passphrase-file")
                .arg(dir.join("pass"))
                .arg("--output")
                .arg(dir.join("prot")),
        );
        fs::write(dir.join("text"), "a text\n").unwrap();
        let t = dir.join("text");
        run_ok(
            sealpost()
                .args(["pgp", "encrypt", "--recipient"])
                .arg(dir.join("alice.cert"))
                .arg("-o")
                .arg(dir.join("m.pgp"))
                .arg(&t),
        );
        run_ok(
            sealpost()
                .args(["smime", "encrypt", "--recipient"])
                .arg(dir.join("sam.cert"))
                .arg("-o")
                .arg(dir.join("m.p7m"))
                .arg(&t),
        );
        run_ok(
            sealpost()
                .args(["pem", "encrypt", "--key"])
                .arg(dir.join("pat.key"))
                .arg("--cert")
                .arg(dir.join("pat.cert"))
                .arg("--recipient")
                .arg(dir.join("pat.cert"))
                .arg("-o")
                .arg(dir.join("m.pem"))
                .arg(&t),
        );
        fs::write(
            dir.join("letter.eml"),
            "From: Alice <alice@example.org>\r\nTo: bob@example.org\r\nSubject: s\r\n\r\nhello\r\n",
        )
        .unwrap();
        dir
    })
}

/// Every command that reads a secret key file, with `KEY` where the key goes and `OUT` for its output.
fn secret_key_commands() -> Vec<(&'static str, &'static str, Vec<String>)> {
    let k = keys();
    let p = |n: &str| k.join(n).to_string_lossy().into_owned();
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<String>>();
    vec![
        ("pgp sign", "alice.key", [s(&["pgp", "sign", "--key", "KEY", "-o", "OUT"]), vec![p("text")]].concat()),
        ("pgp decrypt", "alice.key", [s(&["pgp", "decrypt", "--key", "KEY", "-o", "OUT"]), vec![p("m.pgp")]].concat()),
        (
            "smime sign",
            "sam.key",
            [s(&["smime", "sign", "--cert"]), vec![p("sam.cert")], s(&["--key", "KEY", "-o", "OUT"]), vec![p("text")]]
                .concat(),
        ),
        (
            "smime decrypt",
            "sam.key",
            [
                s(&["smime", "decrypt", "--cert"]),
                vec![p("sam.cert")],
                s(&["--key", "KEY", "-o", "OUT"]),
                vec![p("m.p7m")],
            ]
            .concat(),
        ),
        (
            "pem sign",
            "pat.key",
            [s(&["pem", "sign", "--cert"]), vec![p("pat.cert")], s(&["--key", "KEY", "-o", "OUT"]), vec![p("text")]]
                .concat(),
        ),
        (
            "pem decrypt",
            "pat.key",
            [
                s(&["pem", "decrypt", "--cert"]),
                vec![p("pat.cert")],
                s(&["--key", "KEY", "-o", "OUT"]),
                vec![p("m.pem")],
            ]
            .concat(),
        ),
        (
            "mail sign",
            "alice.key",
            [s(&["mail", "sign", "--format", "pgp", "--key", "KEY", "-o", "OUT"]), vec![p("letter.eml")]].concat(),
        ),
    ]
}

/// Runs one command with `key` as its key file; the output path and what happened.
fn with_key(dir: &Path, args: &[String], key: &Path) -> (Output, PathBuf) {
    let out = dir.join("out");
    let _ = fs::remove_file(&out);
    let args: Vec<String> = args
        .iter()
        .map(|a| match a.as_str() {
            "KEY" => key.to_string_lossy().into_owned(),
            "OUT" => out.to_string_lossy().into_owned(),
            _ => a.clone(),
        })
        .collect();
    (run(sealpost().args(&args)), out)
}

/// A copy of `src` in `dir` with `mode`.
fn copy_with_mode(src: &Path, dir: &Path, name: &str, mode: u32) -> PathBuf {
    let p = dir.join(name);
    let _ = fs::remove_file(&p);
    fs::copy(src, &p).unwrap();
    fs::set_permissions(&p, fs::Permissions::from_mode(mode)).unwrap();
    p
}

fn is_root() -> bool {
    fs::metadata("/proc/self").map(|m| m.uid() == 0).unwrap_or(false)
}

/// Each command refuses a key file that others can read (0644, 0640), one reached through a symbolic link,
/// and (when the test runs as root and can make one) one owned by another user: exit 2, one error line
/// naming the file, no output. The same key file with mode 0600 works (the control).
#[test]
fn h_unsafe_secret_key_files_are_refused_by_every_command() {
    let k = keys();
    let d = scratch("security-h-unsafe");
    let mut problems = Vec::new();
    for (label, key, args) in secret_key_commands() {
        let src = k.join(key);
        let good = copy_with_mode(&src, &d, "good.key", 0o600);
        let (o, out) = with_key(&d, &args, &good);
        if !o.status.success() || !out.exists() {
            problems.push(format!("{label}: the control (mode 0600) failed: {}", stderr(&o)));
            continue;
        }
        let mut cases = vec![
            ("mode 0644", copy_with_mode(&src, &d, "open.key", 0o644)),
            ("mode 0640", copy_with_mode(&src, &d, "group.key", 0o640)),
        ];
        let link = d.join("link.key");
        let _ = fs::remove_file(&link);
        std::os::unix::fs::symlink(&good, &link).unwrap();
        cases.push(("a symbolic link", link));
        if is_root() {
            let theirs = copy_with_mode(&src, &d, "theirs.key", 0o600);
            std::os::unix::fs::chown(&theirs, Some(65534), Some(65534)).unwrap();
            cases.push(("owned by another user", theirs));
        }
        for (what, path) in cases {
            let (o, out) = with_key(&d, &args, &path);
            let err = stderr(&o);
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            if o.status.code() != Some(2) || out.exists() || err.lines().count() != 1 || !err.contains(&name) {
                problems.push(format!(
                    "{label}, key file {what}: exit {:?}, output {}: {err}",
                    o.status.code(),
                    out.exists()
                ));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// A passphrase file is a secret too: readable by others, or a symbolic link, it is refused.
#[test]
fn h_unsafe_passphrase_files_are_refused() {
    let k = keys();
    let d = scratch("security-h-passfile");
    let args = |pass: &Path| {
        let mut c = sealpost();
        c.args(["pgp", "sign", "--key"])
            .arg(k.join("prot.key"))
            .arg("--passphrase-file")
            .arg(pass)
            .arg("-o")
            .arg(d.join("out"))
            .arg(k.join("text"));
        c
    };
    let good = copy_with_mode(&k.join("pass"), &d, "pass", 0o600);
    run_ok(&mut args(&good));
    let _ = fs::remove_file(d.join("out"));
    let open = copy_with_mode(&k.join("pass"), &d, "open-pass", 0o644);
    let link = d.join("link-pass");
    let _ = fs::remove_file(&link);
    std::os::unix::fs::symlink(&good, &link).unwrap();
    for (what, p) in [("mode 0644", open), ("a symbolic link", link)] {
        let o = run(&mut args(&p));
        assert_eq!(o.status.code(), Some(2), "passphrase file {what}: {}", stderr(&o));
        assert!(!d.join("out").exists(), "passphrase file {what}: output written");
        assert!(!stderr(&o).contains(PASSPHRASE), "the passphrase in an error: {}", stderr(&o));
    }
}

/// `key generate` writes `PREFIX.key` with mode 0600, and never over an existing file or through a symbolic
/// link (the target is left as it was); `key export --secret -o FILE` too.
#[test]
fn h_new_key_files_are_created_0600_and_exclusively() {
    let d = scratch("security-h-create");
    let generate = |prefix: &Path| {
        run(sealpost()
            .args([
                "key",
                "generate",
                "--type",
                "pgp",
                "--algo",
                "rsa2048",
                "--uid",
                "New <new@example.org>",
                "--output",
            ])
            .arg(prefix))
    };
    run_ok(
        sealpost()
            .args([
                "key",
                "generate",
                "--type",
                "pgp",
                "--algo",
                "rsa2048",
                "--uid",
                "New <new@example.org>",
                "--output",
            ])
            .arg(d.join("fresh")),
    );
    assert_eq!(fs::metadata(d.join("fresh.key")).unwrap().mode() & 0o777, 0o600);
    let victim = d.join("victim");
    fs::write(&victim, "not a key").unwrap();
    fs::write(d.join("existing.key"), "an old key").unwrap();
    std::os::unix::fs::symlink(&victim, d.join("linked.key")).unwrap();
    for prefix in ["existing", "linked"] {
        let o = generate(&d.join(prefix));
        assert_eq!(o.status.code(), Some(2), "{prefix}: {}", stderr(&o));
    }
    assert_eq!(fs::read_to_string(&victim).unwrap(), "not a key");
    assert_eq!(fs::read_to_string(d.join("existing.key")).unwrap(), "an old key");
    // Export of a secret key from the keystore: a new file, 0600.
    let ks = d.join("ks");
    run_ok(sealpost().arg("--keystore").arg(&ks).args(["key", "import"]).arg(d.join("fresh.key")));
    let exported = d.join("exported.key");
    run_ok(
        sealpost()
            .arg("--keystore")
            .arg(&ks)
            .args(["key", "export", "--secret", "new@example.org", "-o"])
            .arg(&exported),
    );
    assert_eq!(fs::metadata(&exported).unwrap().mode() & 0o777, 0o600, "exported secret key mode");
}

/// `key export --secret -o FILE` onto an existing file or a symbolic link: refused, as `key generate` does
/// (today the file, or the link itself, is replaced; a link's target is left alone).
#[test]
fn h_exported_secret_keys_are_written_exclusively() {
    let d = scratch("security-h-export");
    run_ok(
        sealpost()
            .args([
                "key",
                "generate",
                "--type",
                "pgp",
                "--algo",
                "rsa2048",
                "--uid",
                "New <new@example.org>",
                "--output",
            ])
            .arg(d.join("fresh")),
    );
    let ks = d.join("ks");
    run_ok(sealpost().arg("--keystore").arg(&ks).args(["key", "import"]).arg(d.join("fresh.key")));
    let victim = d.join("victim");
    fs::write(&victim, "not a key").unwrap();
    fs::write(d.join("existing.key"), "an old key").unwrap();
    std::os::unix::fs::symlink(&victim, d.join("linked.key")).unwrap();
    for name in ["existing.key", "linked.key"] {
        let o = run(sealpost()
            .arg("--keystore")
            .arg(&ks)
            .args(["key", "export", "--secret", "new@example.org", "-o"])
            .arg(d.join(name)));
        assert_eq!(o.status.code(), Some(2), "export onto {name}: {}", stderr(&o));
    }
    assert_eq!(fs::read_to_string(d.join("existing.key")).unwrap(), "an old key");
    assert!(fs::symlink_metadata(d.join("linked.key")).unwrap().file_type().is_symlink());
    assert_eq!(fs::read_to_string(&victim).unwrap(), "not a key");
}

/// No option of any subcommand takes a passphrase or password itself, or from an environment variable: every
/// one is a `...-file` option (CONTRACT: `--passphrase-file FILE`). Checked on the clap definitions, so a
/// new option is checked too.
#[test]
fn h_passphrases_are_never_taken_from_argv_or_the_environment() {
    use clap::CommandFactory;
    fn walk(cmd: &clap::Command, path: &str, found: &mut Vec<String>, checked: &mut usize) {
        for arg in cmd.get_arguments() {
            let id = arg.get_id().as_str().to_ascii_lowercase();
            let long = arg.get_long().unwrap_or("").to_ascii_lowercase();
            if ["passphrase", "password", "secret", "pin"].iter().any(|w| id.contains(w) || long.contains(w)) {
                *checked += 1;
                let takes_value = arg.get_num_args().is_none_or(|n| n.takes_values());
                if takes_value && !long.ends_with("-file") && long != "secret" {
                    found.push(format!("{path} --{long}: takes the secret itself"));
                }
                if arg.get_env().is_some() {
                    found.push(format!("{path} --{long}: read from the environment ({:?})", arg.get_env()));
                }
            }
        }
        for sub in cmd.get_subcommands() {
            walk(sub, &format!("{path} {}", sub.get_name()), found, checked);
        }
    }
    let (mut found, mut checked) = (Vec::new(), 0);
    walk(&sealpost::cli::args::Cli::command(), "sealpost", &mut found, &mut checked);
    assert!(checked >= 10, "only {checked} passphrase options seen: the walk is broken");
    assert!(found.is_empty(), "{}", found.join("\n"));
    // And on the real command line: a passphrase option is not there.
    let k = keys();
    let o = run(sealpost()
        .args(["pgp", "sign", "--passphrase", PASSPHRASE, "--key"])
        .arg(k.join("prot.key"))
        .arg(k.join("text")));
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(!stderr(&o).contains(PASSPHRASE), "the passphrase echoed: {}", stderr(&o));
    // Nor from the environment: the protected key without a passphrase file stays locked.
    let o = run(sealpost()
        .args(["pgp", "sign", "--key"])
        .arg(k.join("prot.key"))
        .arg(k.join("text"))
        .env("SEALPOST_PASSPHRASE", PASSPHRASE)
        .env("PASSPHRASE", PASSPHRASE)
        .env("GPG_PASSPHRASE", PASSPHRASE));
    assert_ne!(o.status.code(), Some(0), "a passphrase was taken from the environment");
}

/// The passphrase never appears in what sealpost writes on stderr: a wrong one, a right one, and the mail
/// hook with a passphrase file and SEALPOST_LOG=trace.
#[test]
fn h_passphrases_are_never_logged() {
    let k = keys();
    let d = scratch("security-h-logged");
    let wrong = d.join("wrong");
    fs::write(&wrong, "Tr0ub4dor&3 wrong one\n").unwrap();
    fs::set_permissions(&wrong, fs::Permissions::from_mode(0o600)).unwrap();
    for (pass, secret) in [(k.join("pass"), PASSPHRASE), (wrong.clone(), "Tr0ub4dor&3 wrong one")] {
        let o = run(sealpost()
            .args(["pgp", "sign", "--key"])
            .arg(k.join("prot.key"))
            .arg("--passphrase-file")
            .arg(&pass)
            .arg("-o")
            .arg(d.join("s.pgp"))
            .arg(k.join("text"))
            .env("SEALPOST_LOG", "trace"));
        assert!(!stderr(&o).contains(secret), "the passphrase in stderr: {}", stderr(&o));
        let _ = fs::remove_file(d.join("s.pgp"));
    }
    // The SMTP hook signs outbound mail with the protected key, logging at trace level.
    let Some(sink) = common::smtp::Sink::start("h_passphrases_are_never_logged") else { return };
    let ks = d.join("ks");
    run_ok(
        sealpost()
            .arg("--keystore")
            .arg(&ks)
            .args(["key", "import", "--passphrase-file"])
            .arg(k.join("pass"))
            .arg(k.join("prot.key")),
    );
    let port = common::smtp::free_port();
    let config = d.join("hook.toml");
    fs::write(
        &config,
        format!(
            "keystore = \"{}\"\nlocal_domains = [\"example.org\"]\nauthserv_id = \"mx.example.org\"\npassphrase_file = \"{}\"\n[smtp]\nlisten = \"127.0.0.1:{port}\"\nrelay = \"{}\"\n[outbound]\nsign = true\nencrypt = \"never\"\n",
            ks.display(),
            k.join("pass").display(),
            sink.addr()
        ),
    )
    .unwrap();
    let log = d.join("hook.log");
    let mut hook = sealpost()
        .args(["filter", "smtp", "--config"])
        .arg(&config)
        .env("SEALPOST_LOG", "trace")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let addr: std::net::SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let up = common::smtp::wait_for_port(addr, std::time::Duration::from_secs(20));
    let sent = up.then(|| {
        common::smtp::smtp_send(
            addr,
            "prot@example.org",
            &["bob@example.net"],
            b"From: Prot <prot@example.org>\r\nTo: bob@example.net\r\nSubject: s\r\n\r\nhello\r\n",
        )
    });
    let got = sink.wait_for(1, std::time::Duration::from_secs(30));
    let _ = hook.kill();
    let _ = hook.wait();
    let text = fs::read_to_string(&log).unwrap_or_default();
    assert!(up, "the hook did not listen: {text}");
    assert_eq!(sent.unwrap().map(|r| r.0), Ok(250), "{text}");
    assert!(got.len() == 1 && got[0].text().contains("multipart/signed"), "the hook did not sign: {text}");
    assert!(!text.contains(PASSPHRASE), "the passphrase in the hook's log");
    assert!(text.contains("action=sign:pgp"), "no log of the signing: the check above proves little: {text}");
}

/// `{:?}` of an RSA private key and of a secret read from the keystore shows none of the secret: not the
/// private exponent or a prime (in hex or decimal bytes), not the stored file's bytes.
#[test]
fn h_debug_output_of_secrets_is_redacted() {
    let k = keys();
    let pem = fs::read_to_string(k.join("sam.key")).unwrap();
    let key = sealpost::core::rsa::RsaPrivateKey::from_pem(&pem, None).unwrap();
    let shown = format!("{key:?} {key:#?}");
    let (d, p, q) = key.secret_components();
    for (name, secret) in [("d", &d), ("p", &p), ("q", &q)] {
        let hex: String = secret.iter().take(16).map(|b| format!("{b:02x}")).collect();
        let hex_upper = hex.to_ascii_uppercase();
        let bytes = format!("{:?}", &secret[..8]);
        assert!(
            !shown.contains(&hex) && !shown.contains(&hex_upper) && !shown.contains(&bytes[1..bytes.len() - 1]),
            "{name} shown: {shown}"
        );
    }
    assert!(shown.len() < 200, "{shown}");

    let ks_dir = scratch("security-h-debug-ks");
    run_ok(sealpost().arg("--keystore").arg(&ks_dir).args(["key", "import"]).arg(k.join("alice.key")));
    let ks = sealpost::keystore::Keystore::open(Some(&ks_dir)).unwrap();
    let secrets = ks.pgp_secret_for("alice@example.org").unwrap();
    assert_eq!(secrets.len(), 1);
    let shown = format!("{:?} {:#?} {ks:?}", secrets[0], secrets[0]);
    let bytes = secrets[0].bytes();
    assert!(bytes.len() > 500);
    let sample = format!("{:?}", &bytes[100..108]);
    let hex: String = bytes[100..116].iter().map(|b| format!("{b:02x}")).collect();
    assert!(!shown.contains(&sample[1..sample.len() - 1]) && !shown.to_ascii_lowercase().contains(&hex), "{shown}");
    assert!(shown.contains("redacted"), "{shown}");
}

/// Secrets handed out by the public API are `Zeroizing` (wiped when dropped): a private key's components and
/// DER, a decrypted session key, a passphrase read from a file. This test does not compile if one of them
/// becomes a plain buffer.
#[test]
fn h_secrets_are_held_in_zeroizing() {
    use zeroize::Zeroizing;
    fn zeroizing<T: zeroize::Zeroize>(_: &Zeroizing<T>) {}
    let k = keys();
    let key =
        sealpost::core::rsa::RsaPrivateKey::from_pem(&fs::read_to_string(k.join("sam.key")).unwrap(), None).unwrap();
    let (d, p, q) = key.secret_components();
    zeroizing(&d);
    zeroizing(&p);
    zeroizing(&q);
    zeroizing(&key.to_pkcs8_der().unwrap());
    zeroizing(&key.to_pkcs1_der().unwrap());
    let c = key.public().encrypt(sealpost::core::rsa::EncryptionPadding::Pkcs1v15, &[7; 32]).unwrap();
    let session = key.decrypt_session_key(&c, 32).unwrap();
    zeroizing(&session);
    assert_eq!(&session[..], &[7; 32]);
    let pass = sealpost::keystore::files::read_passphrase(&k.join("pass")).unwrap();
    zeroizing(&pass);
    assert_eq!(&pass[..], PASSPHRASE.as_bytes());
}

/// A passphrase from a file descriptor (SECURITY-CASES H: "a tty, an agent or a file descriptor"): the
/// `/dev/fd/N` of a pipe the caller holds, so that it never touches the disk.
#[test]
fn h_a_passphrase_can_come_from_a_file_descriptor() {
    let k = keys();
    let d = scratch("security-h-fd");
    let mut child = Command::new("sh")
        .arg("-c")
        .arg("exec \"$0\" pgp sign --key \"$1\" --passphrase-file /dev/fd/3 -o \"$2\" \"$3\" 3<&0")
        .arg(env!("CARGO_BIN_EXE_sealpost"))
        .arg(k.join("prot.key"))
        .arg(d.join("s.pgp"))
        .arg(k.join("text"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), format!("{PASSPHRASE}\n").as_bytes()).unwrap();
    let o = child.wait_with_output().unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(d.join("s.pgp").exists());
}
