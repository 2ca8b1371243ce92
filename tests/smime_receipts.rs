//! S/MIME signed receipts (RFC 2634) and ESS signing-certificate-v2 (RFC 5035) with `openssl cms`, both
//! ways, on a PKI openssl makes (root, intermediate, Alice, Bob):
//!
//! - openssl signs with `-receipt_request_all` (and `_first`, `_from`), `smime verify` reports the request,
//!   `smime receipt` makes the receipt, `openssl cms -verify_receipt` accepts it (and so do we);
//! - `smime sign --receipt-request` asks, `openssl cms -cmsout -print` shows the request and `openssl cms
//!   -verify -cades` accepts our signing-certificate-v2, openssl answers with `-sign_receipt`, `smime
//!   verify-receipt` accepts it;
//! - a receipt for another message, with a changed msgSigDigest, or with a damaged signature fails with exit
//!   1 (openssl agrees on the msgSigDigest); no receipt is made for a message that asks for none, that asks
//!   other addresses, that is itself a receipt, or whose signature is bad;
//! - a signature whose signing-certificate-v2 names another certificate of the same key fails.

#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use common::pki::Pki;
use common::{peer, run_ok};

fn sealpost() -> Command {
    Command::new(env!("CARGO_BIN_EXE_sealpost"))
}

struct World {
    pki: Pki,
    openssl: PathBuf,
    /// Root and intermediate in one file: the trust anchors for both tools.
    cas: PathBuf,
    text: PathBuf,
}

fn world(test: &str) -> Option<&'static World> {
    let openssl = peer(test, "openssl")?;
    static WORLD: OnceLock<World> = OnceLock::new();
    Some(WORLD.get_or_init(|| {
        let pki = Pki::make(&openssl, "smime-receipts-pki", 2048);
        let cas = pki.dir.join("cas.pem");
        let both = [std::fs::read(&pki.root).unwrap(), std::fs::read(&pki.inter).unwrap()].concat();
        std::fs::write(&cas, both).unwrap();
        let text = pki.dir.join("letter.txt");
        std::fs::write(&text, b"Dear Bob,\r\nplease confirm that you got this.\r\n-- Alice\r\n").unwrap();
        World { pki, openssl, cas, text }
    }))
}

impl World {
    fn openssl(&self) -> Command {
        Command::new(&self.openssl)
    }

    fn path(&self, name: &str) -> PathBuf {
        self.pki.dir.join(name)
    }

    /// openssl signs the letter as Alice (attached, DER) with these receipt-request options.
    fn openssl_signed(&self, name: &str, request: &[&str]) -> PathBuf {
        let out = self.path(name);
        run_ok(
            self.openssl()
                .args(["cms", "-sign", "-nodetach", "-outform", "DER", "-in"])
                .arg(&self.text)
                .arg("-signer")
                .arg(&self.pki.alice.0)
                .arg("-inkey")
                .arg(&self.pki.alice.1)
                .arg("-certfile")
                .arg(&self.pki.inter)
                .args(request)
                .arg("-out")
                .arg(&out),
        );
        out
    }

    /// `sealpost smime receipt` as Bob for `signed`.
    fn our_receipt(&self, signed: &Path, name: &str) -> (Output, PathBuf) {
        let out = self.path(name);
        let o = sealpost()
            .args(["smime", "receipt", "--cert"])
            .arg(&self.pki.bob.0)
            .arg("--key")
            .arg(&self.pki.bob.1)
            .arg("--ca")
            .arg(&self.cas)
            .arg("-o")
            .arg(&out)
            .arg(signed)
            .output()
            .unwrap();
        (o, out)
    }

    /// Alice's message to Bob as her MUA would send it: openssl's S/MIME multipart/signed with a header
    /// (CRLF line ends, a Message-ID `<NAME@example.org>`), with these receipt-request options.
    fn openssl_mail(&self, name: &str, request: &[&str]) -> Vec<u8> {
        let body = self.path("mail-body.txt");
        std::fs::write(&body, b"Content-Type: text/plain; charset=us-ascii\r\n\r\nDear Bob,\r\nplease confirm.\r\n")
            .unwrap();
        let out = self.path(&format!("{name}.openssl.eml"));
        run_ok(
            self.openssl()
                .args(["cms", "-sign", "-in"])
                .arg(&body)
                .arg("-signer")
                .arg(&self.pki.alice.0)
                .arg("-inkey")
                .arg(&self.pki.alice.1)
                .arg("-certfile")
                .arg(&self.pki.inter)
                .args(request)
                .args(["-from", "alice@example.org", "-to", "bob@example.org", "-subject", name, "-out"])
                .arg(&out),
        );
        let mut m = format!("Message-ID: <{name}@example.org>\r\n").into_bytes();
        for line in std::fs::read(&out).unwrap().split_inclusive(|b| *b == b'\n') {
            let line = line.strip_suffix(b"\n").unwrap_or(line);
            m.extend_from_slice(line.strip_suffix(b"\r").unwrap_or(line));
            m.extend_from_slice(b"\r\n");
        }
        m
    }

    /// `openssl cms -verify_receipt` of the receipt a message carries (taken out with `openssl smime
    /// -pk7out`) against `original` (an S/MIME message).
    fn openssl_verify_receipt_mail(&self, receipt_message: &Path, original: &Path) -> Output {
        let p7 = receipt_message.with_extension("p7.pem");
        run_ok(self.openssl().args(["smime", "-pk7out", "-in"]).arg(receipt_message).arg("-out").arg(&p7));
        self.openssl_verify_receipt_as(&p7, &["-rctform", "PEM"], original)
    }

    /// `sealpost mail verify --original` of a receipt message.
    fn mail_verify_original(&self, receipt_message: &Path, original: &Path) -> Output {
        sealpost()
            .args(["mail", "verify", "--ca"])
            .arg(&self.cas)
            .arg("--original")
            .arg(original)
            .args(["-o", "/dev/null"])
            .arg(receipt_message)
            .output()
            .unwrap()
    }

    /// `openssl cms -verify_receipt` of a DER receipt against a DER original.
    fn openssl_verify_receipt(&self, receipt: &Path, original: &Path) -> Output {
        self.openssl_verify_receipt_as(receipt, &["-rctform", "DER", "-inform", "DER"], original)
    }

    /// `openssl cms -verify_receipt RECEIPT FORMS -in ORIGINAL` to the test CAs.
    fn openssl_verify_receipt_as(&self, receipt: &Path, forms: &[&str], original: &Path) -> Output {
        self.openssl()
            .args(["cms", "-verify_receipt"])
            .arg(receipt)
            .args(forms)
            .arg("-in")
            .arg(original)
            .arg("-CAfile")
            .arg(&self.cas)
            .output()
            .unwrap()
    }

    fn our_verify_receipt(&self, receipt: &Path, original: &Path) -> Output {
        sealpost()
            .args(["smime", "verify-receipt", "--ca"])
            .arg(&self.cas)
            .arg("--original")
            .arg(original)
            .arg(receipt)
            .output()
            .unwrap()
    }
}

fn text(o: &Output) -> String {
    format!(
        "status {:?}\nstdout: {}\nstderr: {}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn openssl_requests_we_answer_openssl_verifies() {
    let Some(w) = world("openssl_requests_we_answer") else { return };
    for (name, request, from) in [
        ("all", &["-receipt_request_all"][..], "all"),
        ("first", &["-receipt_request_first"][..], "first-tier"),
        ("from-bob", &["-receipt_request_from", "bob@example.org"][..], "bob@example.org"),
    ] {
        let mut opts = request.to_vec();
        opts.extend(["-receipt_request_to", "alice@example.org"]);
        let signed = w.openssl_signed(&format!("o-{name}.der"), &opts);
        // smime verify reports the request, on stderr and in the JSON verdict.
        let json = w.path(&format!("o-{name}.json"));
        let o = sealpost()
            .args(["smime", "verify", "--ca"])
            .arg(&w.cas)
            .arg("--verdict-json")
            .arg(&json)
            .arg(&signed)
            .output()
            .unwrap();
        assert!(o.status.success(), "{name}: {}", text(&o));
        assert!(
            String::from_utf8_lossy(&o.stderr)
                .contains(&format!("signed receipt requested (from {from}; to alice@example.org)")),
            "{name}: {}",
            text(&o)
        );
        let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
        assert_eq!(v["receipt_request"]["from"], from, "{v}");
        assert_eq!(v["receipt_request"]["to"][0], "alice@example.org", "{v}");
        // We answer; openssl and we accept the receipt.
        let (o, receipt) = w.our_receipt(&signed, &format!("r-{name}.der"));
        assert!(o.status.success(), "{name}: {}", text(&o));
        assert!(String::from_utf8_lossy(&o.stderr).contains("send it to alice@example.org"), "{}", text(&o));
        let o = w.openssl_verify_receipt(&receipt, &signed);
        assert!(o.status.success(), "{name}: openssl -verify_receipt: {}", text(&o));
        let o = w.our_verify_receipt(&receipt, &signed);
        assert!(o.status.success(), "{name}: {}", text(&o));
    }
}

#[test]
fn we_request_openssl_answers_we_verify() {
    let Some(w) = world("we_request_openssl_answers") else { return };
    for (name, args, from, shown) in [
        ("all", vec!["--receipt-request", "all"], "Receipts From: All", "alice@example.org"),
        (
            "list",
            vec!["--receipt-request", "bob@example.org", "--receipt-to", "receipts@example.org"],
            "email:bob@example.org",
            "receipts@example.org",
        ),
    ] {
        let signed = w.path(&format!("s-{name}.der"));
        let o = sealpost()
            .args(["smime", "sign", "--cert"])
            .arg(&w.pki.alice.0)
            .arg("--key")
            .arg(&w.pki.alice.1)
            .arg("--include")
            .arg(&w.pki.inter)
            .args(&args)
            .arg("-o")
            .arg(&signed)
            .arg(&w.text)
            .output()
            .unwrap();
        assert!(o.status.success(), "{name}: {}", text(&o));
        // openssl reads the request, and with -cades checks our ESS signing-certificate-v2.
        let printed =
            w.openssl().args(["cms", "-cmsout", "-print", "-inform", "DER", "-in"]).arg(&signed).output().unwrap();
        let printed = String::from_utf8_lossy(&printed.stdout).into_owned();
        assert!(
            printed.contains("id-smime-aa-receiptRequest") && printed.contains("id-smime-aa-signingCertificateV2"),
            "{printed}"
        );
        let o = w
            .openssl()
            .args(["cms", "-verify", "-cades", "-receipt_request_print", "-inform", "DER", "-in"])
            .arg(&signed)
            .arg("-CAfile")
            .arg(&w.cas)
            .args(["-out", "/dev/null"])
            .output()
            .unwrap();
        let said = String::from_utf8_lossy(&o.stderr).into_owned();
        assert!(
            o.status.success()
                && said.contains("CAdES Verification successful")
                && said.contains(from)
                && said.contains(&format!("email:{shown}")),
            "{name}: the request as openssl reads it: {}",
            text(&o)
        );
        assert!(o.status.success(), "{name}: openssl -verify -cades: {}", text(&o));
        // openssl answers as Bob; we accept its receipt.
        let receipt = w.path(&format!("or-{name}.der"));
        run_ok(
            w.openssl()
                .args(["cms", "-sign_receipt", "-inform", "DER", "-outform", "DER", "-in"])
                .arg(&signed)
                .arg("-signer")
                .arg(&w.pki.bob.0)
                .arg("-inkey")
                .arg(&w.pki.bob.1)
                .arg("-certfile")
                .arg(&w.pki.inter)
                .arg("-CAfile")
                .arg(&w.cas)
                .arg("-out")
                .arg(&receipt),
        );
        let o = w.our_verify_receipt(&receipt, &signed);
        assert!(o.status.success(), "{name}: {}", text(&o));
        let said = String::from_utf8_lossy(&o.stderr).into_owned();
        assert!(said.contains("pass: good signature from") && said.contains("CN=Bob"), "{}", text(&o));
    }
}

/// The Receipt inside a signed receipt, signed again by Bob with this msgSigDigest (through the library:
/// no tool makes a wrong one on purpose).
fn resigned_receipt(w: &World, receipt: &Path, msg_sig_digest: Vec<u8>) -> PathBuf {
    use der::asn1::{OctetString, SetOfVec};
    use sealpost::smime::ess::{ATTR_MSG_SIG_DIGEST, ID_CT_RECEIPT};
    use sealpost::smime::signed::{SignOptions, Signer, sign};
    let content = w.path("receipt-content.der");
    let o = sealpost().args(["smime", "verify", "--no-chain", "-o"]).arg(&content).arg(receipt).output().unwrap();
    assert!(o.status.success(), "{}", text(&o));
    let key =
        sealpost::core::rsa::RsaPrivateKey::from_pem(&std::fs::read_to_string(&w.pki.bob.1).unwrap(), None).unwrap();
    let cert = sealpost::x509::Certificate::read_all(&std::fs::read(&w.pki.bob.0).unwrap()).unwrap().remove(0);
    let mut values = SetOfVec::new();
    values.insert(der::Any::encode_from(&OctetString::new(msg_sig_digest).unwrap()).unwrap()).unwrap();
    let opts = SignOptions {
        content_type: ID_CT_RECEIPT,
        extra_attrs: vec![x509_cert::attr::Attribute { oid: ATTR_MSG_SIG_DIGEST, values }],
        ..SignOptions::new(sealpost::core::digest::HashAlgorithm::Sha256)
    };
    let mut out = Vec::new();
    let signers = [Signer { cert: cert.inner(), key: &key, chain: &[] }];
    sign(&mut &std::fs::read(&content).unwrap()[..], &mut out, &signers, &opts, &Default::default()).unwrap();
    let path = w.path("resigned-receipt.ber");
    std::fs::write(&path, out).unwrap();
    path
}

#[test]
fn receipts_that_do_not_answer_the_original_fail() {
    let Some(w) = world("receipts_that_do_not_answer") else { return };
    let request = ["-receipt_request_all", "-receipt_request_to", "alice@example.org"];
    let first = w.openssl_signed("m-first.der", &request);
    let second = w.openssl_signed("m-second.der", &request);
    let (o, receipt) = w.our_receipt(&first, "m-receipt.der");
    assert!(o.status.success(), "{}", text(&o));
    assert!(w.our_verify_receipt(&receipt, &first).status.success());
    // For another message: exit 1, on both sides.
    let o = w.our_verify_receipt(&receipt, &second);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(String::from_utf8_lossy(&o.stderr).contains("the receipt is for another message"), "{}", text(&o));
    assert!(!w.openssl_verify_receipt(&receipt, &second).status.success());
    // The same Receipt signed again with a changed msgSigDigest: exit 1; openssl refuses it too. With the
    // right digest (taken from our own receipt) the re-signed receipt passes: the test changes one thing.
    // (The right digest is taken from the receipt openssl accepted above.)
    let right = {
        use der::{Decode, Encode};
        let ci = cms::content_info::ContentInfo::from_der(&std::fs::read(&receipt).unwrap()).unwrap();
        let sd: cms::signed_data::SignedData = ci.content.decode_as().unwrap();
        let attrs = sd.signer_infos.0.get(0).unwrap().signed_attrs.clone().unwrap();
        let attr = attrs.iter().find(|a| a.oid == sealpost::smime::ess::ATTR_MSG_SIG_DIGEST).unwrap();
        let value = attr.values.get(0).unwrap().to_der().unwrap();
        der::asn1::OctetString::from_der(&value).unwrap().as_bytes().to_vec()
    };
    assert_eq!(right.len(), 32);
    let good = resigned_receipt(w, &receipt, right.clone());
    let o = w.our_verify_receipt(&good, &first);
    assert!(o.status.success(), "the re-signed receipt with the right digest: {}", text(&o));
    let mut wrong = right;
    wrong[0] ^= 1;
    let bad = resigned_receipt(w, &receipt, wrong);
    let o = w.our_verify_receipt(&bad, &first);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(String::from_utf8_lossy(&o.stderr).contains("msgSigDigest does not match"), "{}", text(&o));
    let bad_der = w.path("resigned-bad.der");
    let o = sealpost().args(["smime", "verify", "--no-chain", "-o", "/dev/null"]).arg(&bad).output().unwrap();
    assert!(o.status.success(), "the bad receipt's own signature is good: {}", text(&o));
    std::fs::copy(&bad, &bad_der).unwrap();
    let der = w
        .openssl()
        .args(["cms", "-cmsout", "-inform", "DER", "-outform", "DER", "-in"])
        .arg(&bad)
        .arg("-out")
        .arg(&bad_der)
        .output()
        .unwrap();
    assert!(der.status.success(), "{}", text(&der));
    assert!(!w.openssl_verify_receipt(&bad_der, &first).status.success(), "openssl accepted a changed msgSigDigest");
    // A damaged receipt signature: exit 1.
    let mut damaged = std::fs::read(&receipt).unwrap();
    let n = damaged.len();
    damaged[n - 10] ^= 0x40;
    let damaged_path = w.path("m-damaged.der");
    std::fs::write(&damaged_path, damaged).unwrap();
    let o = w.our_verify_receipt(&damaged_path, &first);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
}

#[test]
fn no_receipt_where_none_may_be_made() {
    let Some(w) = world("no_receipt_where_none_may_be_made") else { return };
    let cases: [(&str, Vec<&str>, &str); 2] = [
        ("none", vec![], "does not request a signed receipt"),
        (
            "carol-only",
            vec!["-receipt_request_from", "carol@example.org", "-receipt_request_to", "alice@example.org"],
            "requested from carol@example.org only, not from bob@example.org",
        ),
    ];
    for (name, request, why) in cases {
        let signed = w.openssl_signed(&format!("n-{name}.der"), &request);
        let (o, out) = w.our_receipt(&signed, &format!("n-{name}-receipt.der"));
        assert_eq!(o.status.code(), Some(1), "{name}: {}", text(&o));
        assert!(String::from_utf8_lossy(&o.stderr).contains(why), "{name}: {}", text(&o));
        assert!(!out.exists(), "{name}: a receipt was written");
    }
    // A receipt is never answered with a receipt.
    let signed = w.openssl_signed("n-asks.der", &["-receipt_request_all", "-receipt_request_to", "alice@example.org"]);
    let (o, receipt) = w.our_receipt(&signed, "n-asks-receipt.der");
    assert!(o.status.success(), "{}", text(&o));
    let (o, _) = w.our_receipt(&receipt, "n-receipt-of-receipt.der");
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(String::from_utf8_lossy(&o.stderr).contains("itself a signed receipt"), "{}", text(&o));
    // An original whose signature is bad: no receipt.
    let mut tampered = std::fs::read(&signed).unwrap();
    let at = tampered.windows(6).position(|x| x == b"please").unwrap();
    tampered[at] = b'P';
    let tampered_path = w.path("n-tampered.der");
    std::fs::write(&tampered_path, tampered).unwrap();
    let (o, out) = w.our_receipt(&tampered_path, "n-tampered-receipt.der");
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(String::from_utf8_lossy(&o.stderr).contains("does not verify"), "{}", text(&o));
    assert!(!out.exists());
}

/// openssl with -cades puts signing-certificate-v2 on its signature; with -keyid -nocerts the signer is
/// found by key identifier among the certificates given. Alice's key has two certificates: the one named
/// in the attribute verifies, the other (same key, so the RSA signature alone would pass) fails.
#[test]
fn signing_certificate_v2_binds_the_certificate() {
    let Some(w) = world("signing_certificate_v2_binds") else { return };
    let signed = w.openssl_signed("c-signed.der", &["-cades", "-keyid", "-nocerts"]);
    let second = w.pki.issue_user("alice-again", &w.pki.alice.1, "/CN=Alice/emailAddress=alice@example.org");
    let verify = |cert: &Path| {
        sealpost()
            .args(["smime", "verify", "--no-chain", "-o", "/dev/null", "--cert"])
            .arg(cert)
            .arg(&signed)
            .output()
            .unwrap()
    };
    let o = verify(&w.pki.alice.0);
    assert!(o.status.success(), "{}", text(&o));
    let o = verify(&second);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let said = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(said.contains("BAD signature") && said.contains("identifies another certificate"), "{}", text(&o));
}

/// A running `sealpost filter smtp` relaying to `relay`, with `[inbound] receipts = ...`; killed on drop.
struct Hook {
    /// Held for its drop: the process is killed with the hook.
    _process: common::Killed,
    log: PathBuf,
}

impl Hook {
    fn start(
        w: &World,
        name: &str,
        keystore: &Path,
        relay: std::net::SocketAddr,
        inbound: &str,
    ) -> (Hook, std::net::SocketAddr) {
        let port = common::smtp::free_port();
        let config = w.path(&format!("{name}.toml"));
        std::fs::write(
            &config,
            format!(
                "keystore = \"{}\"\nlocal_domains = [\"example.org\"]\nauthserv_id = \"mx.example.org\"\n\
                 [inbound]\n{inbound}\n[smtp]\nlisten = \"127.0.0.1:{port}\"\nrelay = \"{relay}\"\n",
                keystore.display()
            ),
        )
        .unwrap();
        let log = w.path(&format!("{name}.log"));
        let child = sealpost()
            .args(["filter", "smtp", "--config"])
            .arg(&config)
            .stdout(std::process::Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        let addr: std::net::SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
        let hook = Hook { _process: common::Killed(child), log };
        assert!(common::smtp::wait_for_port(addr, std::time::Duration::from_secs(20)), "{}", hook.log());
        (hook, addr)
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

/// The SMTP hook with `[inbound] receipts = true`: Alice's S/MIME message (made by openssl) asking for a
/// receipt reaches Bob, a local recipient with an S/MIME key in the keystore: the next hop gets the message
/// for Bob and, from the null sender, a receipt message to alice@example.org that `openssl cms
/// -verify_receipt` accepts against the message Alice sent. No receipt for a message that failed
/// verification, for one that asks for none, or with `receipts = false`.
#[test]
fn smtp_hook_answers_receipt_requests_for_local_recipients() {
    const TEST: &str = "smtp_hook_answers_receipt_requests";
    let Some(w) = world(TEST) else { return };
    let Some(sink) = common::smtp::Sink::start(TEST) else { return };
    let keystore = w.path("hook-ks");
    run_ok(
        sealpost()
            .arg("--keystore")
            .arg(&keystore)
            .args(["key", "import"])
            .arg(&w.pki.bob.1)
            .arg(&w.pki.bob.0)
            .arg(&w.pki.alice.0),
    );
    let asks = w.openssl_mail("asks", &["-receipt_request_all", "-receipt_request_to", "alice@example.org"]);
    let asks_path = w.path("asks-sent.eml");
    std::fs::write(&asks_path, &asks).unwrap();
    let mut tampered = asks.clone();
    let at = tampered.windows(6).position(|x| x == b"please").unwrap();
    tampered[at] = b'P';
    let plain = w.openssl_mail("no-request", &[]);

    let cas = w.cas.display().to_string();
    let (hook, addr) =
        Hook::start(w, "hook-on", &keystore, sink.addr(), &format!("receipts = true\nca_file = \"{cas}\""));
    for m in [&asks, &tampered, &plain] {
        let (code, text) = common::smtp::smtp_send(addr, "alice@example.org", &["bob@example.org"], m).unwrap();
        assert_eq!(code, 250, "{text}\n{}", hook.log());
    }
    // Three messages for Bob and one receipt (after the first).
    let got = sink.wait_for(4, std::time::Duration::from_secs(30));
    assert_eq!(got.len(), 4, "{got:#?}\n{}", hook.log());
    let receipts: Vec<_> = got.iter().filter(|r| r.text().contains("smime-type=signed-receipt")).collect();
    assert_eq!(receipts.len(), 1, "{}", hook.log());
    let r = receipts[0];
    assert_eq!(r.from, "<>", "a receipt goes from the null sender");
    assert_eq!(r.rcpts, vec!["alice@example.org".to_string()]);
    let receipt_text = r.text();
    assert!(
        receipt_text.contains("From: bob@example.org") && receipt_text.contains("In-Reply-To: <asks@example.org>"),
        "{receipt_text}"
    );
    assert!(receipt_text.contains("Auto-Submitted: auto-replied"), "{receipt_text}");
    let for_bob: Vec<_> = got.iter().filter(|r| r.rcpts == ["bob@example.org"]).collect();
    assert_eq!(for_bob.len(), 3);
    assert!(hook.log().contains("signed receipt sent"), "{}", hook.log());
    // openssl checks the receipt against what Alice sent.
    let receipt_eml = w.path("hook-receipt.eml");
    std::fs::write(&receipt_eml, &r.data).unwrap();
    let o = w.openssl_verify_receipt_mail(&receipt_eml, &asks_path);
    assert!(o.status.success(), "{}", text(&o));
    // So does `mail verify --original`.
    let o = w.mail_verify_original(&receipt_eml, &asks_path);
    assert!(o.status.success(), "{}", text(&o));
    drop(hook);

    // With the certificate path checked against another CA ([inbound] ca_file), Alice's signature does not
    // verify: the message goes on marked failed, and no receipt; receipts = false: no receipt either.
    let other = common::dovecot::make_ca(&w.openssl, &w.path("other-ca"), "another CA");
    for (name, inbound, status) in [
        ("hook-other-ca", format!("receipts = true\nca_file = \"{}\"", other.display()), "status=fail"),
        ("hook-off", format!("receipts = false\nca_file = \"{cas}\""), "status=pass"),
    ] {
        let before = sink.messages().len();
        let (hook, addr) = Hook::start(w, name, &keystore, sink.addr(), &inbound);
        let (code, text) = common::smtp::smtp_send(addr, "alice@example.org", &["bob@example.org"], &asks).unwrap();
        assert_eq!(code, 250, "{name}: {text}");
        let got = sink.wait_for(before + 1, std::time::Duration::from_secs(30));
        std::thread::sleep(std::time::Duration::from_millis(500));
        assert_eq!(sink.messages().len(), before + 1, "{name}: {}", hook.log());
        let delivered = got.last().unwrap().text();
        assert!(!delivered.contains("signed-receipt"), "{name}");
        let header = delivered.lines().next().unwrap_or_default().to_string();
        assert!(header.starts_with("Sealpost-Verification:") && delivered.contains(status), "{name}: {delivered}");
    }
}

/// `mail verify` reports the request; `mail receipt` answers it with a message whose receipt openssl
/// accepts (also when the request is inside an S/MIME encryption layer: Bob's key opens it first);
/// `mail verify --original` checks a receipt message against the message it answers; no receipt for a
/// message that failed verification.
#[test]
fn mail_receipt_answers_and_mail_verify_checks() {
    let Some(w) = world("mail_receipt_answers") else { return };
    let request = ["-receipt_request_all", "-receipt_request_to", "alice@example.org"];
    let asks = w.path("m-asks.eml");
    std::fs::write(&asks, w.openssl_mail("m-asks", &request)).unwrap();
    let other = w.path("m-other.eml");
    std::fs::write(&other, w.openssl_mail("m-other", &request)).unwrap();
    let json = w.path("m-asks.json");
    let o = sealpost()
        .args(["mail", "verify", "--ca"])
        .arg(&w.cas)
        .arg("--verdict-json")
        .arg(&json)
        .args(["-o", "/dev/null"])
        .arg(&asks)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("signed receipt requested (from all; to alice@example.org)"),
        "{}",
        text(&o)
    );
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    assert_eq!(v["receipt_request"]["to"][0], "alice@example.org", "{v}");
    // Encrypted to Bob around the signed message.
    let encrypted = w.path("m-encrypted.eml");
    run_ok(
        w.openssl()
            .args(["cms", "-encrypt", "-aes256", "-in"])
            .arg(&asks)
            .args(["-from", "alice@example.org", "-to", "bob@example.org", "-subject", "sealed", "-out"])
            .arg(&encrypted)
            .arg(&w.pki.bob.0),
    );
    for (name, input) in [("signed", &asks), ("encrypted", &encrypted)] {
        let out = w.path(&format!("m-receipt-{name}.eml"));
        let o = sealpost()
            .args(["mail", "receipt", "--key"])
            .arg(&w.pki.bob.1)
            .arg("--cert")
            .arg(&w.pki.bob.0)
            .arg("--ca")
            .arg(&w.cas)
            .arg("-o")
            .arg(&out)
            .arg(input)
            .output()
            .unwrap();
        assert!(o.status.success(), "{name}: {}", text(&o));
        assert!(
            String::from_utf8_lossy(&o.stderr).contains("signed receipt from bob@example.org to alice@example.org"),
            "{}",
            text(&o)
        );
        let m = String::from_utf8(std::fs::read(&out).unwrap()).unwrap();
        assert!(m.contains("To: alice@example.org\r\n") && m.contains("smime-type=signed-receipt"), "{m}");
        let o = w.openssl_verify_receipt_mail(&out, &asks);
        assert!(o.status.success(), "{name}: openssl -verify_receipt: {}", text(&o));
        let check = |original: &Path| w.mail_verify_original(&out, original);
        let o = check(&asks);
        assert!(o.status.success(), "{name}: {}", text(&o));
        let o = check(&other);
        assert_eq!(o.status.code(), Some(1), "{name}: a receipt for another message: {}", text(&o));
        assert!(String::from_utf8_lossy(&o.stderr).contains("the receipt is for another message"), "{}", text(&o));
    }
    // `mail verify` of the receipt alone: its signature, and the advice to check it against the original.
    let o = sealpost()
        .args(["mail", "verify", "--ca"])
        .arg(&w.cas)
        .args(["-o", "/dev/null"])
        .arg(w.path("m-receipt-signed.eml"))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    // A message that fails verification gets no receipt.
    let mut tampered = std::fs::read(&asks).unwrap();
    let at = tampered.windows(6).position(|x| x == b"please").unwrap();
    tampered[at] = b'P';
    let tampered_path = w.path("m-tampered.eml");
    std::fs::write(&tampered_path, tampered).unwrap();
    let out = w.path("m-receipt-tampered.eml");
    let o = sealpost()
        .args(["mail", "receipt", "--key"])
        .arg(&w.pki.bob.1)
        .arg("--cert")
        .arg(&w.pki.bob.0)
        .arg("-o")
        .arg(&out)
        .arg(&tampered_path)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("receipts are made only for mail that verified"),
        "{}",
        text(&o)
    );
    assert!(!out.exists());
}
