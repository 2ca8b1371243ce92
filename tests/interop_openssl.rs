//! The crypto core against independent implementations, both directions: OpenSSL for RSA (signatures,
//! encryption, key files), the block ciphers in CBC and CFB, and the digests; Python's zlib and the `bzip2`
//! program for compression. Every failing command is printed with its output.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // A panic in a test is a failed test.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{peer, pseudo_random, run, run_ok, scratch};
use sealpost::core::cipher::CipherAlgorithm;
use sealpost::core::compress::{Budget, CompressionAlgorithm, compress, decompress};
use sealpost::core::digest::{HashAlgorithm, digest};
use sealpost::core::mode::{Direction, Mode, Padding, process};
use sealpost::core::rsa::{EncryptionPadding, RsaPrivateKey, RsaPublicKey, SignaturePadding};

fn openssl(test: &str) -> Option<PathBuf> {
    peer(test, "openssl")
}

fn hexs(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn write(dir: &Path, name: &str, data: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, data).unwrap();
    p
}

/// Keys made by OpenSSL in every file form we promise to read, for the shapes that matter.
fn openssl_keys(ossl: &Path, dir: &Path) -> Vec<(String, PathBuf)> {
    let mut keys = Vec::new();
    for (name, bits, e) in
        [("rsa2048", 2048, 65537u32), ("rsa1024-e3", 1024, 3), ("rsa512", 512, 65537), ("rsa4096", 4096, 65537)]
    {
        let path = dir.join(format!("{name}.pem"));
        run_ok(
            Command::new(ossl)
                .args(["genpkey", "-algorithm", "RSA", "-pkeyopt"])
                .arg(format!("rsa_keygen_bits:{bits}"))
                .args(["-pkeyopt"])
                .arg(format!("rsa_keygen_pubexp:{e}"))
                .arg("-out")
                .arg(&path),
        );
        keys.push((name.to_string(), path));
    }
    keys
}

#[test]
fn rsa_key_files_written_by_openssl_are_read() {
    let Some(ossl) = openssl("rsa_key_files_written_by_openssl_are_read") else { return };
    let dir = scratch("rsa-key-files");
    let key = dir.join("k.pem");
    run_ok(
        Command::new(&ossl)
            .args(["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out"])
            .arg(&key),
    );
    let pkcs8 = std::fs::read_to_string(&key).unwrap();
    let a = RsaPrivateKey::from_pem(&pkcs8, None).unwrap();

    let trad = dir.join("trad.pem");
    run_ok(Command::new(&ossl).args(["rsa", "-traditional", "-in"]).arg(&key).arg("-out").arg(&trad));
    let b = RsaPrivateKey::from_pem(&std::fs::read_to_string(&trad).unwrap(), None).unwrap();
    assert!(std::fs::read_to_string(&trad).unwrap().starts_with("-----BEGIN RSA PRIVATE KEY-----"));

    let der = dir.join("k.der");
    run_ok(Command::new(&ossl).args(["pkey", "-outform", "DER", "-in"]).arg(&key).arg("-out").arg(&der));
    let c = RsaPrivateKey::from_der(&std::fs::read(&der).unwrap()).unwrap();

    let enc = dir.join("enc.pem");
    run_ok(
        Command::new(&ossl)
            .args(["pkcs8", "-topk8", "-v2", "aes-256-cbc", "-passout", "pass:correct horse", "-in"])
            .arg(&key)
            .arg("-out")
            .arg(&enc),
    );
    let enc_text = std::fs::read_to_string(&enc).unwrap();
    let d = RsaPrivateKey::from_pem(&enc_text, Some(b"correct horse")).unwrap();
    assert!(RsaPrivateKey::from_pem(&enc_text, Some(b"wrong")).is_err());
    assert!(RsaPrivateKey::from_pem(&enc_text, None).is_err());

    let pubpem = dir.join("pub.pem");
    run_ok(Command::new(&ossl).args(["pkey", "-pubout", "-in"]).arg(&key).arg("-out").arg(&pubpem));
    let p = RsaPublicKey::from_pem(&std::fs::read_to_string(&pubpem).unwrap()).unwrap();
    let rsapub = dir.join("rsapub.pem");
    run_ok(Command::new(&ossl).args(["rsa", "-RSAPublicKey_out", "-in"]).arg(&key).arg("-out").arg(&rsapub));
    let q = RsaPublicKey::from_pem(&std::fs::read_to_string(&rsapub).unwrap()).unwrap();
    for k in [&b, &c, &d] {
        assert_eq!(k.public(), a.public());
    }
    assert_eq!(&p, a.public());
    assert_eq!(&q, a.public());
    // And the other way: OpenSSL reads what we write.
    let ours = write(&dir, "ours.der", &a.to_pkcs8_der().unwrap());
    let out = run_ok(Command::new(&ossl).args(["pkey", "-inform", "DER", "-check", "-noout", "-in"]).arg(&ours));
    assert!(String::from_utf8_lossy(&out.stdout).contains("valid"));
    let spki = write(&dir, "ours-pub.der", a.public().to_spki_der());
    run_ok(Command::new(&ossl).args(["pkey", "-pubin", "-inform", "DER", "-noout", "-in"]).arg(&spki));
}

#[test]
fn rsa_signatures_both_ways() {
    let Some(ossl) = openssl("rsa_signatures_both_ways") else { return };
    let dir = scratch("rsa-signatures");
    let msg = write(&dir, "msg", &pseudo_random(100_000, 7));
    let data = std::fs::read(&msg).unwrap();
    for (name, path) in openssl_keys(&ossl, &dir) {
        let key = RsaPrivateKey::from_pem(&std::fs::read_to_string(&path).unwrap(), None).unwrap();
        let pubkey = write(&dir, &format!("{name}.pub.der"), key.public().to_spki_der());
        let hashes: &[HashAlgorithm] = if key.bits() < 1024 {
            &[HashAlgorithm::Md5, HashAlgorithm::Sha1, HashAlgorithm::Sha256]
        } else {
            &[
                HashAlgorithm::Md5,
                HashAlgorithm::Sha1,
                HashAlgorithm::Sha224,
                HashAlgorithm::Sha256,
                HashAlgorithm::Sha384,
                HashAlgorithm::Sha512,
            ]
        };
        for &h in hashes {
            let flag = format!("-{}", h.name());
            let d = digest(h, &data);
            // Ours, checked by OpenSSL.
            let sig = key.sign(SignaturePadding::Pkcs1v15, h, d.as_bytes()).unwrap();
            let sig_path = write(&dir, "sig", &sig);
            let out = run(Command::new(&ossl)
                .args(["dgst", &flag, "-keyform", "DER", "-verify"])
                .arg(&pubkey)
                .arg("-signature")
                .arg(&sig_path)
                .arg(&msg));
            assert!(out.status.success(), "openssl rejected our {name} {h} signature");
            // OpenSSL's, checked by us.
            let theirs = dir.join("theirs.sig");
            run_ok(Command::new(&ossl).args(["dgst", &flag, "-sign"]).arg(&path).arg("-out").arg(&theirs).arg(&msg));
            let theirs = std::fs::read(&theirs).unwrap();
            assert_eq!(theirs, sig, "PKCS #1 v1.5 is deterministic: {name} {h} must match OpenSSL byte for byte");
            key.public().verify(SignaturePadding::Pkcs1v15, h, d.as_bytes(), &theirs).unwrap();
            let other = digest(h, b"not the message");
            assert!(key.public().verify(SignaturePadding::Pkcs1v15, h, other.as_bytes(), &theirs).is_err());
        }
        if key.bits() >= 2048 {
            for h in [HashAlgorithm::Sha256, HashAlgorithm::Sha512] {
                let flag = format!("-{}", h.name());
                let d = digest(h, &data);
                let sig = key.sign(SignaturePadding::Pss, h, d.as_bytes()).unwrap();
                let sig_path = write(&dir, "pss.sig", &sig);
                let pss = ["-sigopt", "rsa_padding_mode:pss", "-sigopt", "rsa_pss_saltlen:digest"];
                let out = run(Command::new(&ossl)
                    .args(["dgst", &flag, "-keyform", "DER"])
                    .args(pss)
                    .arg("-verify")
                    .arg(&pubkey)
                    .arg("-signature")
                    .arg(&sig_path)
                    .arg(&msg));
                assert!(out.status.success(), "openssl rejected our PSS {name} {h} signature");
                let theirs = dir.join("theirs-pss.sig");
                run_ok(
                    Command::new(&ossl)
                        .args(["dgst", &flag])
                        .args(pss)
                        .arg("-sign")
                        .arg(&path)
                        .arg("-out")
                        .arg(&theirs)
                        .arg(&msg),
                );
                key.public().verify(SignaturePadding::Pss, h, d.as_bytes(), &std::fs::read(&theirs).unwrap()).unwrap();
            }
        }
    }
}

#[test]
fn rsa_encryption_both_ways() {
    let Some(ossl) = openssl("rsa_encryption_both_ways") else { return };
    let dir = scratch("rsa-encryption");
    let secret = pseudo_random(32, 9);
    let secret_path = write(&dir, "secret", &secret);
    for (name, path) in openssl_keys(&ossl, &dir) {
        let key = RsaPrivateKey::from_pem(&std::fs::read_to_string(&path).unwrap(), None).unwrap();
        let pubkey = write(&dir, &format!("{name}.pub.der"), key.public().to_spki_der());
        let mut paddings = vec![(EncryptionPadding::Pkcs1v15, vec![])];
        if key.bits() >= 1024 {
            for h in [HashAlgorithm::Sha1, HashAlgorithm::Sha256] {
                let md = h.name().to_string();
                paddings.push((
                    EncryptionPadding::Oaep(h),
                    vec![
                        "-pkeyopt".to_string(),
                        "rsa_padding_mode:oaep".into(),
                        "-pkeyopt".into(),
                        format!("rsa_oaep_md:{md}"),
                        "-pkeyopt".into(),
                        format!("rsa_mgf1_md:{md}"),
                    ],
                ));
            }
        }
        for (padding, opts) in paddings {
            let ct = key.public().encrypt(padding, &secret).unwrap();
            let ct_path = write(&dir, "ct", &ct);
            let out = run_ok(
                Command::new(&ossl)
                    .args(["pkeyutl", "-decrypt", "-inkey"])
                    .arg(&path)
                    .args(&opts)
                    .arg("-in")
                    .arg(&ct_path),
            );
            assert_eq!(out.stdout, secret, "openssl decrypted our {name} {padding:?} to something else");
            let theirs = run_ok(
                Command::new(&ossl)
                    .args(["pkeyutl", "-encrypt", "-pubin", "-keyform", "DER", "-inkey"])
                    .arg(&pubkey)
                    .args(&opts)
                    .arg("-in")
                    .arg(&secret_path),
            )
            .stdout;
            assert_eq!(&key.decrypt(padding, &theirs).unwrap()[..], &secret[..], "{name} {padding:?}");
        }
    }
}

/// Our CBC (PKCS #7 padding) and CFB against `openssl enc`, both directions, for every cipher OpenSSL has
/// here (IDEA is not built into Debian's OpenSSL; its known answers are in tests/kat.rs).
#[test]
fn ciphers_match_openssl_enc() {
    let Some(ossl) = openssl("ciphers_match_openssl_enc") else { return };
    let dir = scratch("ciphers");
    let cases = [
        (CipherAlgorithm::Des, "des"),
        (CipherAlgorithm::TripleDes, "des-ede3"),
        (CipherAlgorithm::Cast5, "cast5"),
        (CipherAlgorithm::Aes128, "aes-128"),
        (CipherAlgorithm::Aes192, "aes-192"),
        (CipherAlgorithm::Aes256, "aes-256"),
    ];
    for (alg, base) in cases {
        let key = pseudo_random(alg.key_size(), 3);
        let iv = pseudo_random(alg.block_size(), 4);
        for (mode, suffix, padding) in [(Mode::Cbc, "cbc", Padding::Pkcs7), (Mode::Cfb, "cfb", Padding::None)] {
            for len in [0usize, 1, 15, 16, 17, 1000, (3 << 20) + 5] {
                let plain = pseudo_random(len, len as u64 + 11);
                let pt_path = write(&dir, "pt", &plain);
                let evp = format!("-{base}-{suffix}");
                let mut enc = Command::new(&ossl);
                enc.args([
                    "enc",
                    "-provider",
                    "legacy",
                    "-provider",
                    "default",
                    &evp,
                    "-nosalt",
                    "-K",
                    &hexs(&key),
                    "-iv",
                    &hexs(&iv),
                    "-in",
                ])
                .arg(&pt_path);
                let theirs = run_ok(&mut enc).stdout;
                let ours = process(alg, mode, Direction::Encrypt, &key, &iv, padding, &plain).unwrap();
                assert_eq!(ours.len(), theirs.len(), "{base}-{suffix} length {len}");
                assert!(ours == theirs, "{base}-{suffix}: ciphertexts differ at length {len}");
                let back = process(alg, mode, Direction::Decrypt, &key, &iv, padding, &theirs).unwrap();
                assert!(back == plain, "{base}-{suffix}: we did not decrypt OpenSSL's ciphertext at length {len}");
                let ct_path = write(&dir, "ct", &ours);
                let mut dec = Command::new(&ossl);
                dec.args([
                    "enc",
                    "-d",
                    "-provider",
                    "legacy",
                    "-provider",
                    "default",
                    &evp,
                    "-nosalt",
                    "-K",
                    &hexs(&key),
                    "-iv",
                    &hexs(&iv),
                    "-in",
                ])
                .arg(&ct_path);
                assert!(
                    run_ok(&mut dec).stdout == plain,
                    "{base}-{suffix}: OpenSSL did not decrypt ours at length {len}"
                );
            }
        }
    }
}

#[test]
fn digests_match_openssl() {
    let Some(ossl) = openssl("digests_match_openssl") else { return };
    let dir = scratch("digests");
    for len in [0usize, 1, 55, 56, 64, 1000, (5 << 20) + 3] {
        let data = pseudo_random(len, 5);
        let path = write(&dir, "data", &data);
        for h in [
            HashAlgorithm::Md5,
            HashAlgorithm::Sha1,
            HashAlgorithm::Sha224,
            HashAlgorithm::Sha256,
            HashAlgorithm::Sha384,
            HashAlgorithm::Sha512,
        ] {
            let out = run_ok(Command::new(&ossl).args(["dgst", &format!("-{}", h.name()), "-r"]).arg(&path));
            let theirs = String::from_utf8_lossy(&out.stdout).split_whitespace().next().unwrap_or("").to_string();
            assert_eq!(digest(h, &data).to_hex(), theirs, "{h} of {len} bytes");
        }
    }
}

#[test]
fn compression_interoperates_with_zlib_and_bzip2() {
    let Some(python) = peer("compression_interoperates_with_zlib_and_bzip2", "python3") else { return };
    let Some(bzip2) = peer("compression_interoperates_with_zlib_and_bzip2", "bzip2") else { return };
    let dir = scratch("compression");
    let mut text = Vec::new();
    while text.len() < 3 << 20 {
        text.extend_from_slice(b"Subject: quarterly figures\r\nThe numbers are up; see the attached table.\r\n");
        text.extend_from_slice(&pseudo_random(40, text.len() as u64));
    }
    let plain = write(&dir, "plain", &text);
    let budget = Budget::default();
    // zlib and raw deflate through Python's zlib (wbits 15 and -15).
    for (alg, wbits) in [(CompressionAlgorithm::Zlib, 15), (CompressionAlgorithm::Deflate, -15)] {
        let ours = write(&dir, "ours.z", &compress(alg, &text, 6).unwrap());
        let script = format!(
            "import sys,zlib; d=open(sys.argv[1],'rb').read(); o=zlib.decompressobj({wbits}); out=o.decompress(d)+o.flush(); \
             assert o.eof, 'stream not finished'; sys.stdout.buffer.write(out)"
        );
        let out = run_ok(Command::new(&python).args(["-c", &script]).arg(&ours));
        assert!(out.stdout == text, "python could not inflate our {}", alg.name());
        let script = format!(
            "import sys,zlib; c=zlib.compressobj(9, zlib.DEFLATED, {wbits}); sys.stdout.buffer.write(c.compress(open(sys.argv[1],'rb').read())+c.flush())"
        );
        let theirs = run_ok(Command::new(&python).args(["-c", &script]).arg(&plain)).stdout;
        assert!(decompress(alg, &theirs, &budget).unwrap() == text, "we could not inflate python's {}", alg.name());
    }
    let ours = write(&dir, "ours.bz2", &compress(CompressionAlgorithm::Bzip2, &text, 9).unwrap());
    assert!(run_ok(Command::new(&bzip2).args(["-d", "-c"]).arg(&ours)).stdout == text, "bzip2 -d rejected ours");
    let theirs = run_ok(Command::new(&bzip2).args(["-c", "-9"]).arg(&plain)).stdout;
    assert!(decompress(CompressionAlgorithm::Bzip2, &theirs, &Budget::default()).unwrap() == text);
}
