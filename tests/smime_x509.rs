//! X.509 certificates and path validation (`sealpost::x509`) against independent material: the
//! OpenSSL S/MIME test PKI and asn1crypto's certificates (under `../shared/vectors/cms/`), a PKI made by
//! `openssl req`/`x509`/`ca` with one defect per certificate, and certificates made by sealpost checked by
//! `openssl verify` and `openssl x509`. Every failing command is printed with its output.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // A panic in a test is a failed test.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, SystemTime};

use common::{peer, run, run_ok, scratch, vectors};
use sealpost::core::Algorithm;
use sealpost::core::digest::HashAlgorithm;
use sealpost::core::policy::{Policy, Weakness};
use sealpost::core::rsa::RsaPrivateKey;
use sealpost::x509::X509Error;
use sealpost::x509::{
    self, CertSpec, Certificate, ChainReport, Purpose, SignatureAlgorithm, certify, generate, validate,
};

/// 2020-01-01T00:00:00Z: inside the validity of every vector certificate used here.
fn year_2020() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_577_836_800)
}

fn one(path: &Path) -> Certificate {
    let mut certs =
        Certificate::read_all(&std::fs::read(path).unwrap()).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert_eq!(certs.len(), 1, "{}: one certificate expected", path.display());
    certs.remove(0)
}

fn chain_error(r: Result<ChainReport, X509Error>) -> String {
    match r {
        Err(X509Error::Chain(msg)) => msg,
        other => panic!("expected a certificate path error, got {other:?}"),
    }
}

fn unsupported(r: Result<impl std::fmt::Debug, X509Error>) -> String {
    match r {
        Err(X509Error::Unsupported(msg)) => msg,
        other => panic!("expected Unsupported, got {other:?}"),
    }
}

#[test]
fn openssl_smime_test_pki() {
    let Some(v) = vectors("openssl_smime_test_pki") else { return };
    let dir = v.join("cms/openssl-smime-certs-via-mimekit");
    let root = one(&dir.join("smroot.pem"));
    assert_eq!(root.subject(), "CN=Test S/MIME RSA Root,O=OpenSSL Group,C=UK");
    assert!(root.is_ca() && root.is_self_issued());
    let anchors = std::slice::from_ref(&root);
    let policy = Policy::default();
    let mut checked = 0;
    for n in 1..=3 {
        // Each file holds the private key first, then the certificate.
        let leaf = one(&dir.join(format!("smrsa{n}.pem")));
        assert_eq!(leaf.subject(), format!("CN=Test S/MIME EE RSA #{n},O=OpenSSL Group,C=UK"));
        assert_eq!(leaf.issuer(), root.subject());
        assert!(!leaf.is_ca());
        let ku = leaf.key_usage().unwrap();
        assert!(ku.digital_signature() && ku.key_encipherment() && !ku.key_cert_sign());
        assert_eq!(leaf.rsa_public_key().unwrap().bits(), 2048);
        assert_eq!(leaf.verify_signed_by(&root).unwrap(), HashAlgorithm::Sha1);
        assert!(leaf.matches_issuer_serial(&leaf.issuer_and_serial()));
        assert!(!leaf.matches_issuer_serial(&root.issuer_and_serial()));
        assert!(leaf.matches_ski(&leaf.subject_key_id().unwrap()));
        assert!(!leaf.matches_ski(&root.subject_key_id().unwrap()));

        // Before the 2023 expiry: valid for both purposes, weak because SHA-1 signed.
        for purpose in [Purpose::Sign, Purpose::Encrypt] {
            let report = validate(&leaf, &[], anchors, &[year_2020()], purpose, &policy).unwrap();
            assert_eq!(report.path, [leaf.subject(), root.subject()]);
            assert_eq!(report.weak, [Weakness::Algorithm(Algorithm::Sha1)]);
            assert!(report.notes[0].contains("is signed with sha1"), "{:?}", report.notes);
        }
        // Now: expired.
        let msg = chain_error(validate(&leaf, &[], anchors, &[year_2020(), SystemTime::now()], Purpose::Sign, &policy));
        assert!(msg.starts_with(&format!("certificate \"{}\" expired on 2023-", leaf.subject())), "{msg}");
        checked += 1;
    }
    // A leaf is not signed by another leaf's key.
    let a = one(&dir.join("smrsa1.pem"));
    let b = one(&dir.join("smrsa2.pem"));
    let err = a.verify_signed_by(&b).unwrap_err();
    assert!(matches!(err, X509Error::Chain(_)), "{err}");
    assert!(err.to_string().contains("does not verify with the key of \"CN=Test S/MIME EE RSA #2"), "{err}");

    // DSA, EC and DH leaves: readable, their key a clean "unsupported"; their paths check (the root signed
    // them with RSA), except smec3 and smdh, which a later, re-keyed "Test S/MIME RSA Root" signed (OpenSSL's
    // `verify -no_check_time -CAfile smroot.pem` refuses those two as well).
    for (file, algorithm, chains) in [
        ("smdsa1.pem", "DSA", true),
        ("smdsa2.pem", "DSA", true),
        ("smdsa3.pem", "DSA", true),
        ("smec1.pem", "EC", true),
        ("smec2.pem", "EC", true),
        ("smec3.pem", "EC", false),
        ("smdh.pem", "Diffie-Hellman", false),
    ] {
        let cert = one(&dir.join(file));
        let msg = unsupported(cert.rsa_public_key());
        assert!(msg.contains(algorithm) && msg.contains("only RSA keys are supported"), "{file}: {msg}");
        let result = validate(&cert, &[], anchors, &[year_2020()], Purpose::Sign, &policy);
        if chains {
            result.unwrap();
        } else {
            let msg = chain_error(result);
            assert!(msg.contains("does not verify with the key of \"CN=Test S/MIME RSA Root"), "{file}: {msg}");
        }
        checked += 1;
    }
    // A file of DSA parameters only.
    let err = Certificate::read_all(&std::fs::read(dir.join("smdsap.pem")).unwrap()).unwrap_err();
    assert!(err.to_string().contains("no CERTIFICATE block (found DSA PARAMETERS)"), "{err}");
    println!("checked {checked} certificates of the OpenSSL S/MIME test PKI");
    assert_eq!(checked, 10);
}

#[test]
fn asn1crypto_certificates() {
    let Some(v) = vectors("asn1crypto_certificates") else { return };
    let dir = v.join("cms/asn1crypto/keys");
    let root = one(&dir.join("test.crt"));
    let inter = one(&dir.join("test-inter.crt"));
    let third = one(&dir.join("test-third.crt"));
    assert_eq!(root, one(&dir.join("test-der.crt")), "PEM and DER of the same certificate");
    assert_eq!(inter, one(&dir.join("test-inter-der.crt")));
    assert_eq!(third, one(&dir.join("test-third-der.crt")));
    assert_eq!(root.emails(), ["will@codexns.io"]);
    assert!(root.subject().starts_with("emailAddress=will@codexns.io,CN=Will Bond,OU=Testing,"), "{}", root.subject());
    assert_eq!(root.basic_constraints(), Some((true, None)));
    assert_eq!(third.basic_constraints(), None);

    let policy = Policy::default();
    let report = validate(
        &third,
        std::slice::from_ref(&inter),
        std::slice::from_ref(&root),
        &[year_2020()],
        Purpose::Sign,
        &policy,
    )
    .unwrap();
    assert_eq!(report.path, [third.subject(), inter.subject(), root.subject()]);
    assert!(report.is_strong(), "{report:?}");
    // The intermediate is found among many unrelated certificates, in any order.
    let pool = [one(&dir.join("test-validity.crt")), root.clone(), inter.clone(), third.clone()];
    validate(&third, &pool, std::slice::from_ref(&root), &[year_2020()], Purpose::Encrypt, &policy).unwrap();
    // They expired in May 2025.
    let msg = chain_error(validate(&third, &pool, std::slice::from_ref(&root), &[], Purpose::Sign, &policy));
    assert!(msg.contains("expired on 2025-05-"), "{msg}");

    // GeneralizedTime after 2049.
    let far = one(&dir.join("test-validity.crt"));
    assert_eq!(x509::date(far.validity().not_after), "2118-01-28");

    // RSASSA-PSS: key read, parameters parsed; a 222-byte salt is beyond the core's PSS.
    let pss = one(&dir.join("test-rsapss.crt"));
    assert_eq!(pss.public_key_algorithm(), "RSASSA-PSS");
    assert_eq!(pss.rsa_public_key().unwrap().bits(), 2048);
    let alg = SignatureAlgorithm::from_identifier(pss.inner().signature_algorithm()).unwrap();
    assert_eq!(
        alg,
        SignatureAlgorithm::RsaPss { hash: HashAlgorithm::Sha256, mgf1_hash: HashAlgorithm::Sha256, salt_len: 222 }
    );
    let msg = unsupported(pss.verify_signed_by(&pss));
    assert!(msg.contains("222-byte salt"), "{msg}");

    // Other key types: readable, unsupported with their name, for the key and for the signature.
    for (file, key, signature) in [
        ("test-dsa.crt", "DSA", "DSA with SHA-256"),
        ("test-ec.crt", "EC", "ECDSA with SHA-256"),
        ("test-ec-named.crt", "EC", "ECDSA with SHA-256"),
        ("test-ed25519.crt", "Ed25519", "Ed25519"),
        ("test-ed448.crt", "Ed448", "Ed448"),
    ] {
        let cert = one(&dir.join(file));
        let msg = unsupported(cert.rsa_public_key());
        assert!(msg.contains(key), "{file}: {msg}");
        let msg = unsupported(cert.verify_signed_by(&cert));
        assert!(msg.contains(signature), "{file}: {msg}");
    }
}

/// An OpenSSL configuration with the extension profiles of the PKI below.
const OPENSSL_CNF: &str = "\
[req]
distinguished_name = dn
[dn]
[root]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[inter]
basicConstraints = critical,CA:TRUE,pathlen:0
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[nobc]
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[leaf]
basicConstraints = CA:FALSE
keyUsage = critical,digitalSignature,nonRepudiation,keyEncipherment
extendedKeyUsage = emailProtection
subjectAltName = email:carol@example.org
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[server]
basicConstraints = CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
[critical]
basicConstraints = CA:FALSE
extendedKeyUsage = emailProtection
1.3.6.1.4.1.99999.1 = critical,ASN1:NULL
[ca]
default_ca = ca_default
[ca_default]
database = index.txt
new_certs_dir = .
serial = serial
default_md = sha256
policy = policy_any
unique_subject = no
[policy_any]
commonName = supplied
";

struct Pki {
    ossl: PathBuf,
    dir: PathBuf,
}

impl Pki {
    fn new(ossl: PathBuf, name: &str) -> Pki {
        let dir = scratch(name);
        std::fs::write(dir.join("cnf"), OPENSSL_CNF).unwrap();
        std::fs::write(dir.join("index.txt"), "").unwrap();
        std::fs::write(dir.join("serial"), "1000\n").unwrap();
        Pki { ossl, dir }
    }

    fn cmd(&self) -> Command {
        let mut c = Command::new(&self.ossl);
        c.current_dir(&self.dir);
        c
    }

    /// A self-signed root: `name.pem`, `name.key`.
    fn root(&self, name: &str, cn: &str) -> Certificate {
        run_ok(self.cmd().args(["req", "-x509", "-new", "-newkey", "rsa:2048", "-nodes", "-config", "cnf"]).args([
            "-extensions",
            "root",
            "-days",
            "3650",
            "-subj",
            &format!("/CN={cn}"),
            "-keyout",
            &format!("{name}.key"),
            "-out",
            &format!("{name}.pem"),
        ]));
        self.cert(name)
    }

    /// A key and request `name.key`, `name.csr`.
    fn request(&self, name: &str, cn: &str, bits: u32) {
        run_ok(self.cmd().args(["req", "-new", "-newkey", &format!("rsa:{bits}"), "-nodes", "-config", "cnf"]).args([
            "-subj",
            &format!("/CN={cn}"),
            "-keyout",
            &format!("{name}.key"),
            "-out",
            &format!("{name}.csr"),
        ]));
    }

    /// `name.pem` for a new key, issued by `issuer` with the extension section `profile`; `extra` goes to
    /// `openssl x509` (a digest, `-sigopt`s).
    fn issue(&self, name: &str, cn: &str, issuer: &str, profile: &str, extra: &[&str]) -> Certificate {
        self.issue_bits(name, cn, issuer, profile, extra, 2048)
    }

    fn issue_bits(&self, name: &str, cn: &str, issuer: &str, profile: &str, extra: &[&str], bits: u32) -> Certificate {
        self.request(name, cn, bits);
        run_ok(
            self.cmd()
                .args(["x509", "-req", "-in", &format!("{name}.csr"), "-CA", &format!("{issuer}.pem")])
                .args(["-CAkey", &format!("{issuer}.key"), "-CAcreateserial", "-days", "365"])
                .args(["-extfile", "cnf", "-extensions", profile, "-out", &format!("{name}.pem")])
                .args(extra),
        );
        self.cert(name)
    }

    /// `name.pem` valid only in 2020, issued with `openssl ca` (OpenSSL 3.0's `x509` cannot set dates).
    fn issue_dated(&self, name: &str, cn: &str, issuer: &str) -> Certificate {
        self.request(name, cn, 2048);
        run_ok(
            self.cmd()
                .args(["ca", "-batch", "-notext", "-config", "cnf", "-cert", &format!("{issuer}.pem")])
                .args(["-keyfile", &format!("{issuer}.key"), "-in", &format!("{name}.csr")])
                .args(["-startdate", "20200101000000Z", "-enddate", "20210101000000Z"])
                .args(["-extfile", "cnf", "-extensions", "leaf", "-out", &format!("{name}.pem")]),
        );
        self.cert(name)
    }

    fn cert(&self, name: &str) -> Certificate {
        one(&self.dir.join(format!("{name}.pem")))
    }

    /// `openssl verify` of `leaf` to `root`, with `untrusted` intermediates, for an S/MIME purpose.
    fn openssl_verifies(&self, leaf: &str, root: &str, untrusted: &[&str], purpose: &str) -> bool {
        let mut c = self.cmd();
        c.args(["verify", "-CAfile", &format!("{root}.pem"), "-purpose", purpose]);
        for u in untrusted {
            c.args(["-untrusted", &format!("{u}.pem")]);
        }
        let out = run(c.arg(format!("{leaf}.pem")));
        out.status.success()
    }
}

#[test]
fn openssl_made_pki_with_one_defect_each() {
    let Some(ossl) = peer("openssl_made_pki_with_one_defect_each", "openssl") else { return };
    let pki = Pki::new(ossl, "x509-openssl-pki");
    let root = pki.root("root", "OSSL Root");
    let inter = pki.issue("inter", "OSSL Intermediate", "root", "inter", &[]);
    let carol = pki.issue("carol", "Carol", "inter", "leaf", &[]);
    let anchors = std::slice::from_ref(&root);
    let pool = std::slice::from_ref(&inter);
    let policy = Policy::default();

    // The good path, which OpenSSL accepts too.
    assert!(pki.openssl_verifies("carol", "root", &["inter"], "smimesign"));
    for purpose in [Purpose::Sign, Purpose::Encrypt] {
        let report = validate(&carol, pool, anchors, &[], purpose, &policy).unwrap();
        assert_eq!(report.path, ["CN=Carol", "CN=OSSL Intermediate", "CN=OSSL Root"]);
        assert!(report.is_strong(), "{report:?}");
    }
    assert_eq!(carol.emails(), ["carol@example.org"]);

    // Expired (valid only in 2020): valid then, not now.
    let old = pki.issue_dated("old", "Expired Carol", "inter");
    assert!(!pki.openssl_verifies("old", "root", &["inter"], "smimesign"));
    let msg = chain_error(validate(&old, pool, anchors, &[], Purpose::Sign, &policy));
    assert!(msg.starts_with("certificate \"CN=Expired Carol\" expired on 2021-01-01"), "{msg}");
    // In 2020 the intermediate did not exist yet.
    let msg = chain_error(validate(
        &old,
        pool,
        anchors,
        &[year_2020() + Duration::from_secs(86_400)],
        Purpose::Sign,
        &policy,
    ));
    assert!(msg.starts_with("certificate \"CN=OSSL Intermediate\" is not valid before"), "{msg}");

    // A TLS server certificate: no emailProtection.
    let server = pki.issue("server", "www.example.org", "inter", "server", &[]);
    assert!(!pki.openssl_verifies("server", "root", &["inter"], "smimesign"));
    let msg = chain_error(validate(&server, pool, anchors, &[], Purpose::Sign, &policy));
    assert_eq!(msg, "\"CN=www.example.org\" is not for e-mail (its extendedKeyUsage lacks emailProtection)");

    // An issuer without basicConstraints.
    let nobc = pki.issue("nobc", "No BC CA", "root", "nobc", &[]);
    let dave = pki.issue("dave", "Dave", "nobc", "leaf", &[]);
    assert!(!pki.openssl_verifies("dave", "root", &["nobc"], "smimesign"));
    let msg = chain_error(validate(&dave, std::slice::from_ref(&nobc), anchors, &[], Purpose::Sign, &policy));
    assert_eq!(msg, "\"CN=No BC CA\" is not a CA (no basicConstraints cA)");

    // A leaf issued by a key that is not the root's, under the root's name.
    let _evil = pki.root("evil", "OSSL Root");
    let mallory = pki.issue("mallory", "Mallory", "evil", "leaf", &[]);
    assert!(!pki.openssl_verifies("mallory", "root", &[], "smimesign"));
    let msg = chain_error(validate(&mallory, &[], anchors, &[], Purpose::Sign, &policy));
    assert_eq!(msg, "the signature on \"CN=Mallory\" does not verify with the key of \"CN=OSSL Root\"");

    // pathlen:0 on the intermediate: no CA may sit below it.
    let sub = pki.issue("sub", "Sub CA", "inter", "inter", &[]);
    let erin = pki.issue("erin", "Erin", "sub", "leaf", &[]);
    assert!(!pki.openssl_verifies("erin", "root", &["inter", "sub"], "smimesign"));
    let msg = chain_error(validate(&erin, &[inter.clone(), sub], anchors, &[], Purpose::Sign, &policy));
    assert!(msg.starts_with("\"CN=OSSL Intermediate\" allows 0 intermediate CA certificate(s) below it"), "{msg}");

    // An unknown critical extension.
    let odd = pki.issue("odd", "Odd", "inter", "critical", &[]);
    assert!(!pki.openssl_verifies("odd", "root", &["inter"], "smimesign"));
    let msg = chain_error(validate(&odd, pool, anchors, &[], Purpose::Sign, &policy));
    assert!(
        msg.starts_with("\"CN=Odd\" has a critical extension sealpost does not process (1.3.6.1.4.1.99999.1"),
        "{msg}"
    );

    // Weak but valid: a SHA-1 signature, and a 1024-bit key.
    let sha1 = pki.issue("sha1", "Frank", "inter", "leaf", &["-sha1"]);
    let report = validate(&sha1, pool, anchors, &[], Purpose::Sign, &policy).unwrap();
    assert_eq!(report.weak, [Weakness::Algorithm(Algorithm::Sha1)]);
    let md5 = pki.issue("md5", "Mallet", "inter", "leaf", &["-md5"]);
    assert_eq!(md5.verify_signed_by(&inter).unwrap(), HashAlgorithm::Md5);
    let report = validate(&md5, pool, anchors, &[], Purpose::Sign, &policy).unwrap();
    assert_eq!(report.weak, [Weakness::Algorithm(Algorithm::Md5)]);
    let small = pki.issue_bits("small", "Grace", "inter", "leaf", &[], 1024);
    let report = validate(&small, pool, anchors, &[], Purpose::Encrypt, &policy).unwrap();
    assert_eq!(report.weak, [Weakness::ShortRsaKey(1024)]);
    assert_eq!(report.notes, ["\"CN=Grace\" has a 1024-bit RSA key"]);

    // RSASSA-PSS: salt as long as the hash verifies through the core; a maximal salt is unsupported.
    let pss = pki.issue(
        "pss",
        "Heidi",
        "inter",
        "leaf",
        &["-sha256", "-sigopt", "rsa_padding_mode:pss", "-sigopt", "rsa_pss_saltlen:digest"],
    );
    assert!(matches!(
        SignatureAlgorithm::from_identifier(pss.inner().signature_algorithm()).unwrap(),
        SignatureAlgorithm::RsaPss { hash: HashAlgorithm::Sha256, salt_len: 32, .. }
    ));
    assert_eq!(pss.verify_signed_by(&inter).unwrap(), HashAlgorithm::Sha256);
    validate(&pss, pool, anchors, &[], Purpose::Sign, &policy).unwrap();
    let pss_max = pki.issue(
        "pssmax",
        "Ivan",
        "inter",
        "leaf",
        &["-sha256", "-sigopt", "rsa_padding_mode:pss", "-sigopt", "rsa_pss_saltlen:max"],
    );
    let msg = unsupported(validate(&pss_max, pool, anchors, &[], Purpose::Sign, &policy));
    assert!(msg.contains("-byte salt"), "{msg}");
}

#[test]
fn certificates_made_by_sealpost_pass_openssl() {
    let Some(ossl) = peer("certificates_made_by_sealpost_pass_openssl", "openssl") else { return };
    let dir = scratch("x509-made-by-sealpost");
    let (root, root_key) =
        generate(&CertSpec { ca: true, bits: 2048, days: 3650, ..CertSpec::new("Sealpost Test Root", None) }).unwrap();
    let (inter, inter_key) = generate(&CertSpec {
        ca: true,
        bits: 2048,
        issuer: Some((&root, &root_key)),
        ..CertSpec::new("Sealpost Test Intermediate", None)
    })
    .unwrap();
    let (alice, _) = generate(&CertSpec {
        bits: 2048,
        issuer: Some((&inter, &inter_key)),
        ..CertSpec::new("Alice Example", Some("alice@example.org".into()))
    })
    .unwrap();
    let (selfsigned, _) =
        generate(&CertSpec { bits: 3072, ..CertSpec::new("Bob", Some("bob@example.net".into())) }).unwrap();
    for (name, cert) in [("root", &root), ("inter", &inter), ("alice", &alice), ("bob", &selfsigned)] {
        std::fs::write(dir.join(format!("{name}.pem")), cert.to_pem().unwrap()).unwrap();
        // Our own reading of what we wrote.
        assert_eq!(&one(&dir.join(format!("{name}.pem"))), cert);
    }
    assert_eq!(alice.serial().len(), 32, "16-byte serial: {}", alice.serial());
    assert_ne!(alice.serial(), inter.serial());
    assert_eq!(alice.emails(), ["alice@example.org"]);
    assert_eq!(alice.authority_key_id(), inter.subject_key_id());
    assert_eq!(alice.verify_signed_by(&inter).unwrap(), HashAlgorithm::Sha256);

    let verify = |leaf: &str, ca: &str, purpose: &str| {
        let out = run_ok(Command::new(&ossl).current_dir(&dir).args([
            "verify",
            "-x509_strict",
            "-CAfile",
            ca,
            "-untrusted",
            "inter.pem",
            "-purpose",
            purpose,
            leaf,
        ]));
        assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), format!("{leaf}: OK"));
    };
    verify("alice.pem", "root.pem", "smimesign");
    verify("alice.pem", "root.pem", "smimeencrypt");
    verify("bob.pem", "bob.pem", "smimesign");
    verify("bob.pem", "bob.pem", "smimeencrypt");
    // The intermediate alone is not a trust anchor for OpenSSL without -partial_chain; the root is needed.
    let out = run(Command::new(&ossl).current_dir(&dir).args(["verify", "-CAfile", "root.pem", "alice.pem"]));
    assert!(!out.status.success(), "alice verified without her intermediate");

    let email = run_ok(Command::new(&ossl).current_dir(&dir).args(["x509", "-noout", "-email", "-in", "alice.pem"]));
    assert_eq!(String::from_utf8_lossy(&email.stdout).trim(), "alice@example.org");
    let text = run_ok(Command::new(&ossl).current_dir(&dir).args(["x509", "-noout", "-text", "-in", "alice.pem"]));
    let text = String::from_utf8_lossy(&text.stdout);
    for expected in [
        "Signature Algorithm: sha256WithRSAEncryption",
        "Subject: CN = Alice Example",
        "Issuer: CN = Sealpost Test Intermediate",
        "Digital Signature, Non Repudiation, Key Encipherment",
        "E-mail Protection",
        "email:alice@example.org",
        "CA:FALSE",
    ] {
        assert!(text.contains(expected), "{expected:?} missing from:\n{text}");
    }

    // And our own validation agrees.
    let policy = Policy::default();
    let report =
        validate(&alice, std::slice::from_ref(&inter), std::slice::from_ref(&root), &[], Purpose::Encrypt, &policy)
            .unwrap();
    assert_eq!(report.path, ["CN=Alice Example", "CN=Sealpost Test Intermediate", "CN=Sealpost Test Root"]);
}

#[test]
fn generation_refuses_bad_specs() {
    let key = RsaPrivateKey::generate(2048).unwrap();
    let (leaf, leaf_key) =
        generate(&CertSpec { bits: 2048, ..CertSpec::new("Leaf", Some("l@example.org".into())) }).unwrap();
    // A non-CA issuer.
    let err = certify(
        &CertSpec { issuer: Some((&leaf, &leaf_key)), ..CertSpec::new("X", Some("x@example.org".into())) },
        &key,
    )
    .unwrap_err();
    assert!(err.to_string().contains("is not a CA"), "{err}");
    // An issuer key that is not the issuer certificate's.
    let (ca, _) = generate(&CertSpec { ca: true, bits: 2048, ..CertSpec::new("CA", None) }).unwrap();
    let err = certify(&CertSpec { issuer: Some((&ca, &key)), ..CertSpec::new("X", None) }, &key).unwrap_err();
    assert!(err.to_string().contains("the issuer key does not belong to \"CN=CA\""), "{err}");
    // Sizes, addresses, names, days.
    assert!(generate(&CertSpec { bits: 1024, ..CertSpec::new("X", None) }).is_err());
    assert!(certify(&CertSpec::new("X", Some("not an address".into())), &key).is_err());
    assert!(certify(&CertSpec::new("X", Some("a@b@c".into())), &key).is_err());
    assert!(matches!(certify(&CertSpec::new("X", Some("ü@example.org".into())), &key), Err(X509Error::Unsupported(_))));
    assert!(certify(&CertSpec::new("", None), &key).is_err());
    assert!(certify(&CertSpec { days: 0, ..CertSpec::new("X", None) }, &key).is_err());
}

fn sealpost_bin(args: &[&str], dir: &Path) -> std::process::Output {
    run(Command::new(env!("CARGO_BIN_EXE_sealpost")).current_dir(dir).args(args))
}

#[test]
fn key_generate_x509_command() {
    let Some(ossl) = peer("key_generate_x509_command", "openssl") else { return };
    let dir = scratch("x509-key-generate");
    let out = sealpost_bin(
        &["key", "generate", "--type", "x509", "--ca", "--uid", "Test CA", "--algo", "rsa2048", "--output", "ca"],
        &dir,
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("generated X.509 CA certificate \"CN=Test CA\""), "{stderr}");
    let out = sealpost_bin(
        &[
            "key",
            "generate",
            "--type",
            "x509",
            "--uid",
            "Alice Example <alice@example.org>",
            "--algo",
            "rsa2048",
            "--issuer-cert",
            "ca.cert",
            "--issuer-key",
            "ca.key",
            "--days",
            "30",
            "--output",
            "alice",
        ],
        &dir,
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("\"CN=Alice Example\" <alice@example.org>"), "{stderr}");
    assert!(stderr.contains("issued by \"CN=Test CA\""), "{stderr}");

    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(dir.join("alice.key")).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let key_text = std::fs::read_to_string(dir.join("alice.key")).unwrap();
    assert!(key_text.starts_with("-----BEGIN PRIVATE KEY-----\n"), "{key_text}");
    assert!(std::fs::read_to_string(dir.join("alice.cert")).unwrap().starts_with("-----BEGIN CERTIFICATE-----\n"));

    let verify = run_ok(Command::new(&ossl).current_dir(&dir).args([
        "verify",
        "-x509_strict",
        "-CAfile",
        "ca.cert",
        "-purpose",
        "smimesign",
        "alice.cert",
    ]));
    assert_eq!(String::from_utf8_lossy(&verify.stdout).trim(), "alice.cert: OK");
    // The key belongs to the certificate.
    let from_key = run_ok(Command::new(&ossl).current_dir(&dir).args(["pkey", "-pubout", "-in", "alice.key"]));
    let from_cert =
        run_ok(Command::new(&ossl).current_dir(&dir).args(["x509", "-noout", "-pubkey", "-in", "alice.cert"]));
    assert_eq!(from_key.stdout, from_cert.stdout);
    let dates = run_ok(Command::new(&ossl).current_dir(&dir).args(["x509", "-noout", "-enddate", "-in", "alice.cert"]));
    let alice = one(&dir.join("alice.cert"));
    let days = alice.validity().not_after.duration_since(alice.validity().not_before).unwrap().as_secs() / 86_400;
    assert_eq!(days, 30, "{}", String::from_utf8_lossy(&dates.stdout));

    // Existing outputs are never overwritten; ed25519 is OpenPGP only; no address without --ca.
    // A non-CA issuer is an unusable key: exit 1, like every refusal.
    for (args, expected, code) in [
        (&["--uid", "A <a@example.org>", "--output", "alice"][..], "must not exist yet", 2),
        (&["--uid", "A <a@example.org>", "--algo", "ed25519", "--output", "e"][..], "OpenPGP only", 2),
        (&["--uid", "Just A Name", "--output", "n"][..], "needs an address", 2),
        (
            &[
                "--uid",
                "B <b@example.org>",
                "--issuer-cert",
                "alice.cert",
                "--issuer-key",
                "alice.key",
                "--output",
                "b",
            ][..],
            "is not a CA",
            1,
        ),
    ] {
        let mut all = vec!["key", "generate", "--type", "x509"];
        all.extend_from_slice(args);
        let out = sealpost_bin(&all, &dir);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(code), "{args:?}: {stderr}");
        assert!(stderr.starts_with("sealpost: error: ") && stderr.contains(expected), "{args:?}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
    }
}
