//! The rest of RFC 1421-1424 through the CLI, each message built without sealpost:
//!
//! - symmetric key management: ENCRYPTED and MIC-CLEAR messages whose DEK and MIC openssl encrypted under a
//!   shared interchange key (`openssl enc -des-ecb` / `-des-ede`), opened with `--interchange-key`; the
//!   wrong key, a changed text and a readable key file are refused;
//! - RFC 1424 CRL messages around CRLs that `openssl ca -gencrl` signed, verified against the issuer's
//!   certificate and listed; a CRL-RETRIEVAL-REQUEST shown;
//! - RFC 1422 certificate paths: version 1 certificates (IPRA-style root, a CA below it, the user) that
//!   `openssl x509 -req` signed with MD5, as in 1993, checked with `--ca` through Issuer-Certificate fields.

#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::{peer, run, run_ok, scratch};

fn sealpost() -> Command {
    Command::new(env!("CARGO_BIN_EXE_sealpost"))
}

fn verdict(path: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect()
}

fn b64_lines(data: &[u8]) -> String {
    let out = Command::new("python3")
        .args(["-c", "import base64,sys; sys.stdout.write(base64.encodebytes(sys.stdin.buffer.read()).decode())"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            use std::io::Write;
            c.stdin.take().unwrap().write_all(data)?;
            c.wait_with_output()
        })
        .unwrap();
    assert!(out.status.success());
    // encodebytes writes 76 columns; RFC 1421 wants 64.
    let flat: String = String::from_utf8(out.stdout).unwrap().split_whitespace().collect();
    flat.as_bytes().chunks(64).map(|c| std::str::from_utf8(c).unwrap().to_string() + "\n").collect()
}

/// A field whose value is printable encoding, folded as RFC 1421's examples do.
fn folded(name: &str, prefix: &str, data: &[u8]) -> String {
    let mut s = format!("{name}: {prefix}\n");
    for line in b64_lines(data).lines() {
        s.push_str(&format!(" {line}\n"));
    }
    s
}

/// `openssl enc` with raw key and IV, legacy provider for DES.
fn enc(openssl: &Path, cipher: &str, key: &[u8], iv: Option<&[u8]>, nopad: bool, data: &[u8], dir: &Path) -> Vec<u8> {
    let input = dir.join("enc.in");
    std::fs::write(&input, data).unwrap();
    let mut cmd = Command::new(openssl);
    cmd.args(["enc", "-e", cipher, "-provider", "legacy", "-provider", "default", "-K", &hex(key)]);
    if let Some(iv) = iv {
        cmd.args(["-iv", &hex(iv)]);
    }
    if nopad {
        cmd.arg("-nopad");
    }
    run_ok(cmd.arg("-in").arg(&input)).stdout
}

fn md5(openssl: &Path, data: &[u8], dir: &Path) -> Vec<u8> {
    let input = dir.join("md5.in");
    std::fs::write(&input, data).unwrap();
    run_ok(Command::new(openssl).args(["dgst", "-md5", "-binary"]).arg(&input)).stdout
}

fn secret_file(path: &Path, contents: &str) -> PathBuf {
    std::fs::write(path, contents).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
    path.to_path_buf()
}

#[test]
fn symmetric_messages_open_with_the_interchange_key() {
    const TEST: &str = "symmetric_messages_open_with_the_interchange_key";
    let Some(openssl) = peer(TEST, "openssl") else { return };
    let dir = scratch(TEST);
    let text = "Subject: meeting\n\n- the usual place\nAt noon.\n";
    let canonical = text.replace('\n', "\r\n");
    let mic = md5(&openssl, canonical.as_bytes(), &dir);
    // (IK use, openssl ECB cipher, IK) x (DEK-Info cipher, openssl CBC cipher, DEK size).
    let iks: [(&str, &str, Vec<u8>); 2] =
        [("DES-ECB", "-des-ecb", (1..=8).collect()), ("DES-EDE", "-des-ede", (0x41..=0x50).collect())];
    let deks = [("DES-CBC", "-des-cbc", 8usize), ("DES-EDE3-CBC", "-des-ede3-cbc", 24)];
    let other_ik: Vec<u8> = vec![0x5a; 8];
    for (ik_use, ik_cipher, ik) in &iks {
        for (dek_name, dek_cipher, dek_len) in deks {
            let case = format!("{ik_use}-{dek_name}");
            let dek: Vec<u8> = (0..dek_len).map(|i| (i as u8).wrapping_mul(29).wrapping_add(3)).collect();
            let iv = [0xF8, 0x14, 0x3E, 0xDE, 0x59, 0x60, 0xC5, 0x97];
            let body = enc(&openssl, dek_cipher, &dek, Some(&iv), false, canonical.as_bytes(), &dir);
            let for_ik = |cipher: &str, key: &[u8]| {
                (
                    hex(&enc(&openssl, cipher, key, None, true, &dek, &dir)),
                    hex(&enc(&openssl, cipher, key, None, true, &mic, &dir)),
                )
            };
            // The first recipient shares another key: sealpost must find the Key-Info its key opens.
            let (other_dek, other_mic) = for_ik("-des-ecb", &other_ik);
            let (my_dek, my_mic) = for_ik(ik_cipher, ik);
            let msg = format!(
                "-----BEGIN PRIVACY-ENHANCED MESSAGE-----\nProc-Type: 4,ENCRYPTED\nContent-Domain: RFC822\n\
                 DEK-Info: {dek_name},{}\nOriginator-ID-Symmetric: alice@example.org,,\n\
                 Recipient-ID-Symmetric: carol@example.org,kmc,1\nKey-Info: DES-ECB,RSA-MD5,{other_dek},\n {other_mic}\n\
                 Recipient-ID-Symmetric: bob@example.org,kmc,7\nKey-Info: {ik_use},RSA-MD5,{my_dek},\n {my_mic}\n\n{}\
                 -----END PRIVACY-ENHANCED MESSAGE-----\n",
                hex(&iv),
                b64_lines(&body)
            );
            let msg_path = dir.join(format!("{case}.pem"));
            std::fs::write(&msg_path, &msg).unwrap();
            let ik_file = secret_file(&dir.join(format!("{case}.ik")), &format!("{}\n", hex(ik)));
            let (out, json) = (dir.join(format!("{case}.out")), dir.join(format!("{case}.json")));
            run_ok(
                sealpost()
                    .args(["pem", "decrypt", "--interchange-key"])
                    .arg(&ik_file)
                    .arg("--verdict-json")
                    .arg(&json)
                    .arg("-o")
                    .arg(&out)
                    .arg(&msg_path),
            );
            assert_eq!(std::fs::read_to_string(&out).unwrap(), text, "{case}");
            let v = verdict(&json);
            assert_eq!(v["status"], "pass-weak", "{case}: {v}");
            assert_eq!(v["encrypted"], true);
            assert_eq!(v["signers"][0]["id"], "alice@example.org,,", "{v}");
            assert_eq!(v["algorithms"]["cipher"], dek_name.to_lowercase(), "{v}");
            assert_eq!(v["algorithms"]["key_transport"], ik_use.to_lowercase(), "{v}");
            assert!(v["notes"].to_string().contains("bob@example.org,kmc,7"), "{v}");
            let weak = v["weak"].to_string();
            assert!(weak.contains("md5"), "{v}");
            assert!(weak.contains(if dek_name == "DES-CBC" { "\"des\"" } else { "3des" }), "{case}: {v}");

            // The other recipient's key opens the other Key-Info.
            let carol = secret_file(&dir.join("carol.ik"), &hex(&other_ik));
            let o = run_ok(sealpost().args(["pem", "decrypt", "--interchange-key"]).arg(&carol).arg(&msg_path));
            assert_eq!(String::from_utf8_lossy(&o.stdout), text);

            // A key shared with nobody here: exit 1, one line naming who the message is for, nothing written.
            let wrong = secret_file(&dir.join("wrong.ik"), "0123456789ABCDEF0123456789ABCDEF");
            let wrong_out = dir.join("wrong.out");
            let o = run(sealpost()
                .args(["pem", "decrypt", "--interchange-key"])
                .arg(&wrong)
                .arg("-o")
                .arg(&wrong_out)
                .arg(&msg_path));
            let err = String::from_utf8_lossy(&o.stderr);
            assert_eq!(o.status.code(), Some(1), "{err}");
            assert_eq!(err.lines().count(), 1, "{err}");
            if *ik_use == "DES-EDE" {
                assert!(err.contains("bob@example.org,kmc,7 (DES-EDE)"), "{err}");
            }
            assert!(!wrong_out.exists());

            // A changed ciphertext block: padding or MIC fails for every Key-Info.
            let tampered = msg.replacen(&b64_lines(&body)[..4], "AAAA", 1);
            assert_ne!(tampered, msg);
            let t = dir.join("tampered.pem");
            std::fs::write(&t, tampered).unwrap();
            let o = run(sealpost().args(["pem", "decrypt", "--interchange-key"]).arg(&ik_file).arg(&t));
            assert_eq!(o.status.code(), Some(1), "{case}");
            assert!(o.stdout.is_empty());
        }
    }

    // MIC-CLEAR with symmetric key management: the DEK item is empty, the MIC under the IK.
    let (ik_use, ik_cipher, ik) = &iks[1];
    let mic_enc = hex(&enc(&openssl, ik_cipher, ik, None, true, &mic, &dir));
    let msg = format!(
        "-----BEGIN PRIVACY-ENHANCED MESSAGE-----\nProc-Type: 4,MIC-CLEAR\nContent-Domain: RFC822\n\
         Originator-ID-Symmetric: alice@example.org,,\nRecipient-ID-Symmetric: bob@example.org,kmc,7\n\
         Key-Info: {ik_use},RSA-MD5,,{mic_enc}\n\n{}-----END PRIVACY-ENHANCED MESSAGE-----\n",
        text.replace("\n- ", "\n- - ")
    );
    let msg_path = dir.join("mic-clear.pem");
    std::fs::write(&msg_path, &msg).unwrap();
    let ik_file = secret_file(&dir.join("ede.ik"), &hex(ik));
    let o = run_ok(sealpost().args(["pem", "verify", "--interchange-key"]).arg(&ik_file).arg(&msg_path));
    assert_eq!(String::from_utf8_lossy(&o.stdout), text);
    let changed = dir.join("changed.pem");
    std::fs::write(&changed, msg.replace("At noon.", "At nine.")).unwrap();
    let o = run(sealpost().args(["pem", "verify", "--interchange-key"]).arg(&ik_file).arg(&changed));
    assert_eq!(o.status.code(), Some(1));
    assert!(o.stdout.is_empty());

    // An interchange key others can read is refused before it is used.
    std::fs::set_permissions(&ik_file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let o = run(sealpost().args(["pem", "verify", "--interchange-key"]).arg(&ik_file).arg(&msg_path));
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("can be read by others"));
}

/// A minimal `openssl ca` setup: a CA (self-signed, keyUsage keyCertSign + cRLSign), an index with one
/// revoked serial, and `gencrl`.
fn openssl_crl(openssl: &Path, dir: &Path, name: &str, revoked_serial: &str) -> (PathBuf, Vec<u8>) {
    let d = dir.join(name);
    std::fs::create_dir_all(&d).unwrap();
    let conf = d.join("ca.cnf");
    std::fs::write(
        &conf,
        format!(
            "[ca]\ndefault_ca = d\n[d]\ndatabase = {db}\ncrlnumber = {num}\ndefault_md = sha256\n\
             default_crl_days = 30\n[req]\ndistinguished_name = dn\nprompt = no\n[dn]\nCN = {name}\n\
             [v3_ca]\nbasicConstraints = critical,CA:true\nkeyUsage = critical,keyCertSign,cRLSign\n",
            db = d.join("index.txt").display(),
            num = d.join("crlnumber").display(),
        ),
    )
    .unwrap();
    std::fs::write(
        d.join("index.txt"),
        format!("R\t301231000000Z\t240101000000Z\t{revoked_serial}\tunknown\t/CN=Mallory\n"),
    )
    .unwrap();
    std::fs::write(d.join("crlnumber"), "01\n").unwrap();
    let (key, cert) = (d.join("ca.key"), d.join("ca.cert"));
    run_ok(
        Command::new(openssl)
            .args(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "3650", "-extensions", "v3_ca", "-config"])
            .arg(&conf)
            .arg("-keyout")
            .arg(&key)
            .arg("-out")
            .arg(&cert),
    );
    let crl_pem = d.join("crl.pem");
    run_ok(
        Command::new(openssl)
            .args(["ca", "-gencrl", "-config"])
            .arg(&conf)
            .arg("-keyfile")
            .arg(&key)
            .arg("-cert")
            .arg(&cert)
            .arg("-out")
            .arg(&crl_pem),
    );
    let der = run_ok(Command::new(openssl).args(["crl", "-outform", "DER", "-in"]).arg(&crl_pem)).stdout;
    (cert, der)
}

fn cert_der(openssl: &Path, cert: &Path) -> Vec<u8> {
    run_ok(Command::new(openssl).args(["x509", "-outform", "DER", "-in"]).arg(cert)).stdout
}

#[test]
fn crl_messages_verify_and_list_and_requests_show() {
    const TEST: &str = "crl_messages_verify_and_list_and_requests_show";
    let Some(openssl) = peer(TEST, "openssl") else { return };
    let dir = scratch(TEST);
    let (ca, crl) = openssl_crl(&openssl, &dir, "Test CA", "1A2B3C");
    let (other_ca, _) = openssl_crl(&openssl, &dir, "Other CA", "01");
    let ca_der = cert_der(&openssl, &ca);
    let msg = format!(
        "-----BEGIN PRIVACY-ENHANCED MESSAGE-----\nProc-Type: 4,CRL\n{}{}-----END PRIVACY-ENHANCED MESSAGE-----\n",
        folded("CRL", "", &crl),
        folded("Originator-Certificate", "", &ca_der)
    );
    let msg_path = dir.join("crl.pem");
    std::fs::write(&msg_path, &msg).unwrap();
    let json = dir.join("v.json");
    let o = run_ok(sealpost().args(["pem", "verify", "--verdict-json"]).arg(&json).arg(&msg_path));
    let listing = String::from_utf8_lossy(&o.stdout);
    assert!(listing.contains("CRL issued by \"CN=Test CA\""), "{listing}");
    assert!(listing.contains("serial 1A2B3C revoked 2024-01-01"), "{listing}");
    assert!(listing.contains("revoked certificates: 1") && listing.contains("signature good"), "{listing}");
    let v = verdict(&json);
    assert_eq!(v["status"], "pass", "{v}");
    assert_eq!(v["signers"][0]["id"], "CN=Test CA");
    assert_eq!(v["signers"][0]["hash"], "sha256");
    assert!(v["notes"].to_string().contains("taken from the message"), "{v}");
    // With the CA as trust anchor: the path is checked and the note goes.
    run_ok(sealpost().args(["pem", "verify", "--ca"]).arg(&ca).arg("--verdict-json").arg(&json).arg(&msg_path));
    assert!(verdict(&json)["notes"].is_null());
    // Another CA as the only anchor: exit 1.
    let o = run(sealpost().args(["pem", "verify", "--ca"]).arg(&other_ca).arg(&msg_path));
    assert_eq!(o.status.code(), Some(1));
    // The CRL without its certificate: the issuer is unknown unless --cert gives it.
    let bare = dir.join("bare.pem");
    std::fs::write(
        &bare,
        format!(
            "-----BEGIN PRIVACY-ENHANCED MESSAGE-----\nProc-Type: 4,CRL\n{}-----END PRIVACY-ENHANCED MESSAGE-----\n",
            folded("CRL", "", &crl)
        ),
    )
    .unwrap();
    let o = run(sealpost().args(["pem", "verify"]).arg(&bare));
    assert_eq!(o.status.code(), Some(1), "unknown issuer");
    run_ok(sealpost().args(["pem", "verify", "--cert"]).arg(&ca).arg(&bare));
    // A revoked serial changed in the signed part: the signature no longer verifies.
    let mut forged = crl.clone();
    let at = forged.windows(3).position(|w| w == [0x1a, 0x2b, 0x3c]).unwrap();
    forged[at] = 0x1b;
    let f = dir.join("forged.pem");
    std::fs::write(
        &f,
        format!(
            "-----BEGIN PRIVACY-ENHANCED MESSAGE-----\nProc-Type: 4,CRL\n{}{}-----END PRIVACY-ENHANCED MESSAGE-----\n",
            folded("CRL", "", &forged),
            folded("Originator-Certificate", "", &ca_der)
        ),
    )
    .unwrap();
    let o = run(sealpost().args(["pem", "verify"]).arg(&f));
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stdout).contains("BAD: "));
    // The wrong certificate after the CRL.
    let w = dir.join("wrong-cert.pem");
    std::fs::write(
        &w,
        msg.replace(
            &folded("Originator-Certificate", "", &ca_der),
            &folded("Originator-Certificate", "", &cert_der(&openssl, &other_ca)),
        ),
    )
    .unwrap();
    let o = run(sealpost().args(["pem", "verify"]).arg(&w));
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stdout).contains("not its issuer"));
    // `pem show` lists the CRL too.
    let o = run_ok(sealpost().args(["pem", "show"]).arg(&msg_path));
    let shown = String::from_utf8_lossy(&o.stdout);
    assert!(shown.starts_with("Proc-Type: 4,CRL\n") && shown.contains("serial 1A2B3C"), "{shown}");

    // A CRL-RETRIEVAL-REQUEST names issuers by DER Name: here CN=Test CA, built by hand.
    let cn = b"Test CA";
    let atv = [&[0x30, 5 + 2 + cn.len() as u8, 0x06, 0x03, 0x55, 0x04, 0x03, 0x0c, cn.len() as u8][..], cn].concat();
    let rdn = [&[0x31, atv.len() as u8][..], &atv].concat();
    let name = [&[0x30, rdn.len() as u8][..], &rdn].concat();
    let req = dir.join("req.pem");
    std::fs::write(
        &req,
        format!(
            "-----BEGIN PRIVACY-ENHANCED MESSAGE-----\nProc-Type: 4,CRL-RETRIEVAL-REQUEST\n{}-----END PRIVACY-ENHANCED MESSAGE-----\n",
            folded("Issuer", "", &name)
        ),
    )
    .unwrap();
    let o = run_ok(sealpost().args(["pem", "show"]).arg(&req));
    assert_eq!(
        String::from_utf8_lossy(&o.stdout),
        "Proc-Type: 4,CRL-RETRIEVAL-REQUEST\nasks for the CRL of \"CN=Test CA\"\n"
    );
    let o = run(sealpost().args(["pem", "verify"]).arg(&req));
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("CN=Test CA") && err.lines().count() == 1, "{err}");
}

#[test]
fn rfc1422_paths_of_version_1_certificates() {
    const TEST: &str = "rfc1422_paths_of_version_1_certificates";
    let Some(openssl) = peer(TEST, "openssl") else { return };
    let dir = scratch(TEST);
    // IPRA-style root, a CA it certified, and a user the CA certified: version 1 certificates, MD5 signatures.
    let subj = |cn: &str| format!("/C=US/O=Example/CN={cn}");
    let key = |n: &str| {
        let k = dir.join(format!("{n}.key"));
        run_ok(Command::new(&openssl).args(["genrsa", "-out"]).arg(&k).arg("2048"));
        k
    };
    let (root_key, ca_key, user_key) = (key("root"), key("ca"), key("user"));
    let root = dir.join("root.cert");
    run_ok(
        Command::new(&openssl)
            .args(["req", "-new", "-x509", "-md5", "-days", "365", "-subj", &subj("Root"), "-key"])
            .arg(&root_key)
            .args(["-config", "/dev/null", "-out"])
            .arg(&root),
    );
    let issue = |name: &str, k: &Path, issuer: &Path, issuer_key: &Path, serial: &str| {
        let csr = dir.join(format!("{name}.csr"));
        run_ok(
            Command::new(&openssl)
                .args(["req", "-new", "-md5", "-subj", &subj(name), "-config", "/dev/null", "-key"])
                .arg(k)
                .arg("-out")
                .arg(&csr),
        );
        let cert = dir.join(format!("{name}.cert"));
        run_ok(
            Command::new(&openssl)
                .args(["x509", "-req", "-md5", "-days", "365", "-set_serial", serial, "-in"])
                .arg(&csr)
                .arg("-CA")
                .arg(issuer)
                .arg("-CAkey")
                .arg(issuer_key)
                .arg("-out")
                .arg(&cert),
        );
        let text = run_ok(Command::new(&openssl).args(["x509", "-noout", "-text", "-in"]).arg(&cert)).stdout;
        assert!(String::from_utf8_lossy(&text).contains("Version: 1 (0x0)"), "openssl made a version 1 certificate");
        cert
    };
    let ca = issue("CA", &ca_key, &root, &root_key, "7");
    let user = issue("User", &user_key, &ca, &ca_key, "42");
    let input = dir.join("letter.txt");
    std::fs::write(&input, "Signed in the old way.\n").unwrap();
    let msg = dir.join("letter.pem");
    run_ok(
        sealpost()
            .args(["pem", "sign", "--key"])
            .arg(&user_key)
            .arg("--cert")
            .arg(&user)
            .arg("--issuer-cert")
            .arg(&ca)
            .arg("-o")
            .arg(&msg)
            .arg(&input),
    );
    let json = dir.join("v.json");
    let o = run_ok(sealpost().args(["pem", "verify", "--ca"]).arg(&root).arg("--verdict-json").arg(&json).arg(&msg));
    assert_eq!(String::from_utf8_lossy(&o.stdout), "Signed in the old way.\n");
    let v = verdict(&json);
    assert_eq!(v["status"], "pass-weak", "{v}");
    let notes = v["notes"].to_string();
    assert!(
        notes.contains("certificate path: CN=User,O=Example,C=US <- CN=CA,O=Example,C=US <- CN=Root,O=Example,C=US"),
        "{v}"
    );
    assert!(!notes.contains("taken from the message"), "{v}");
    assert_eq!(v["signers"][0]["weak"], serde_json::json!(["md5"]), "each weakness once: {v}");

    // Without the Issuer-Certificate field there is no path, unless --cert supplies the CA.
    let bare = dir.join("bare.pem");
    run_ok(
        sealpost()
            .args(["pem", "sign", "--key"])
            .arg(&user_key)
            .arg("--cert")
            .arg(&user)
            .arg("-o")
            .arg(&bare)
            .arg(&input),
    );
    let o = run(sealpost().args(["pem", "verify", "--ca"]).arg(&root).arg("--verdict-json").arg(&json).arg(&bare));
    assert_eq!(o.status.code(), Some(1));
    assert!(verdict(&json)["signers"][0]["detail"].to_string().contains("certificate path"), "{}", verdict(&json));
    run_ok(sealpost().args(["pem", "verify", "--ca"]).arg(&root).arg("--cert").arg(&ca).arg(&bare));
    // A CA that is not the root: exit 1.
    let o =
        run(sealpost().args(["pem", "verify", "--ca"]).arg(&user).arg("--ca").arg(dir.join("nonexistent")).arg(&msg));
    assert_eq!(o.status.code(), Some(2), "a missing CA file is an error");
    let stranger_key = key("stranger");
    let stranger = dir.join("stranger.cert");
    run_ok(
        Command::new(&openssl)
            .args(["req", "-new", "-x509", "-days", "365", "-subj", &subj("Root"), "-key"])
            .arg(&stranger_key)
            .args(["-config", "/dev/null", "-out"])
            .arg(&stranger),
    );
    let o = run(sealpost().args(["pem", "verify", "--ca"]).arg(&stranger).arg(&msg));
    assert_eq!(o.status.code(), Some(1), "a root with the same name and another key");

    // ENCRYPTED messages check the originator's path the same way.
    let enc = dir.join("letter.enc.pem");
    run_ok(
        sealpost()
            .args(["pem", "encrypt", "--key"])
            .arg(&user_key)
            .arg("--cert")
            .arg(&user)
            .arg("--recipient")
            .arg(&ca)
            .arg("-o")
            .arg(&enc)
            .arg(&input),
    );
    let o = run_ok(
        sealpost()
            .args(["pem", "decrypt", "--key"])
            .arg(&ca_key)
            .arg("--cert")
            .arg(&ca)
            .arg("--originator-cert")
            .arg(&ca)
            .arg("--ca")
            .arg(&root)
            .arg(&enc),
    );
    assert_eq!(String::from_utf8_lossy(&o.stdout), "Signed in the old way.\n");
    let o = run(sealpost()
        .args(["pem", "decrypt", "--key"])
        .arg(&ca_key)
        .arg("--cert")
        .arg(&ca)
        .arg("--ca")
        .arg(&stranger)
        .arg(&enc));
    assert_eq!(o.status.code(), Some(1));
    assert!(o.stdout.is_empty());
}

fn tlv(tag: u8, body: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    match body.len() {
        n if n < 0x80 => out.push(n as u8),
        n if n < 0x100 => out.extend_from_slice(&[0x81, n as u8]),
        n => out.extend_from_slice(&[0x82, (n >> 8) as u8, n as u8]),
    }
    out.extend_from_slice(body);
    out
}

/// An SEC EDGAR filing as the archive served them from 1993: Proc-Type 2001, MIC-CLEAR, an
/// `Originator-Name`, and the originator's 512-bit key in `Originator-Key-Asymmetric` as an X.500 `rsa`
/// (2.5.8.1.1) SubjectPublicKeyInfo with the key size as parameter. The MIC is made by `openssl dgst -md5
/// -sign` over the canonical text.
#[test]
fn edgar_style_filing_with_an_x500_key_verifies() {
    const TEST: &str = "edgar_style_filing_with_an_x500_key_verifies";
    let Some(openssl) = peer(TEST, "openssl") else { return };
    let dir = scratch(TEST);
    let key = dir.join("edgar.key");
    run_ok(Command::new(&openssl).args(["genrsa", "-out"]).arg(&key).arg("512"));
    let rsa_pub =
        run_ok(Command::new(&openssl).args(["rsa", "-RSAPublicKey_out", "-outform", "DER", "-in"]).arg(&key)).stdout;
    let alg = tlv(0x30, &[&[0x06, 0x04, 0x55, 0x08, 0x01, 0x01][..], &[0x02, 0x02, 0x02, 0x00]].concat());
    let spki = tlv(0x30, &[alg, tlv(0x03, &[&[0u8][..], &rsa_pub].concat())].concat());
    let text = "<SEC-DOCUMENT>0000950123-94-000001.txt : 19940104\n<SEC-HEADER>\nACCESSION NUMBER:\t\t0000950123-94-000001\n\
                CONFORMED SUBMISSION TYPE:\t10-K\n</SEC-HEADER>\n<DOCUMENT>\n-----\nAnnual report.\n</DOCUMENT>\n</SEC-DOCUMENT>\n";
    let canonical = dir.join("canonical");
    std::fs::write(&canonical, text.replace('\n', "\r\n")).unwrap();
    let sig = run_ok(Command::new(&openssl).args(["dgst", "-md5", "-sign"]).arg(&key).arg(&canonical)).stdout;
    let stuffed: String =
        text.lines().map(|l| if l.starts_with('-') { format!("- {l}\n") } else { format!("{l}\n") }).collect();
    let msg = format!(
        "-----BEGIN PRIVACY-ENHANCED MESSAGE-----\nProc-Type: 2001,MIC-CLEAR\nOriginator-Name: webmaster@www.sec.gov\n{}{}\n{stuffed}-----END PRIVACY-ENHANCED MESSAGE-----\n",
        folded("Originator-Key-Asymmetric", "", &spki).replace(": \n", ":\n"),
        folded("MIC-Info", "RSA-MD5,RSA,", &sig)
    );
    let path = dir.join("0000950123-94-000001.txt");
    std::fs::write(&path, &msg).unwrap();
    let json = dir.join("v.json");
    let o = run_ok(sealpost().args(["pem", "verify", "--verdict-json"]).arg(&json).arg(&path));
    assert_eq!(String::from_utf8_lossy(&o.stdout), text);
    let v = verdict(&json);
    assert_eq!(v["status"], "pass-weak", "{v}");
    assert_eq!(v["signers"][0]["key_bits"], 512, "{v}");
    assert_eq!(v["signers"][0]["weak"], serde_json::json!(["md5", "rsa-512"]), "{v}");
    // A changed figure in the filing.
    let changed = dir.join("changed.txt");
    std::fs::write(&changed, msg.replace("Annual report.", "Annual report!")).unwrap();
    let o = run(sealpost().args(["pem", "verify"]).arg(&changed));
    assert_eq!(o.status.code(), Some(1));
    assert!(o.stdout.is_empty());
}
