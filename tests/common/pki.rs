//! A fresh S/MIME PKI made by openssl for interop tests: a root CA, an intermediate, and users Alice and Bob
//! (emailProtection, e-mail address in the subject and subjectAltName, subject key identifiers) issued by
//! the intermediate.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::{run_ok, scratch};

/// The PKI's files.
pub struct Pki {
    /// Where the files are.
    pub dir: PathBuf,
    /// The root CA certificate.
    pub root: PathBuf,
    /// The intermediate CA certificate.
    pub inter: PathBuf,
    /// Alice's certificate and key.
    pub alice: (PathBuf, PathBuf),
    /// Bob's certificate and key.
    pub bob: (PathBuf, PathBuf),
    openssl: PathBuf,
    inter_key: PathBuf,
}

impl Pki {
    /// Makes the PKI in the scratch directory `name`, with RSA keys of `bits`.
    pub fn make(openssl: &Path, name: &str, bits: u32) -> Pki {
        let dir = scratch(name);
        std::fs::write(
            dir.join("ext.cnf"),
            "[ca]\nbasicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n\
             [user]\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,nonRepudiation,keyEncipherment\nextendedKeyUsage=emailProtection\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\nsubjectAltName=email:copy\n",
        )
        .unwrap();
        let key = |name: &str| {
            let k = dir.join(format!("{name}.key"));
            run_ok(
                Command::new(openssl)
                    .args(["genpkey", "-algorithm", "RSA", "-pkeyopt", &format!("rsa_keygen_bits:{bits}"), "-out"])
                    .arg(&k),
            );
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&k, std::fs::Permissions::from_mode(0o600)).unwrap();
            k
        };
        let root_key = key("root");
        let root = dir.join("root.pem");
        run_ok(
            Command::new(openssl)
                .args(["req", "-x509", "-new", "-key"])
                .arg(&root_key)
                .args(["-subj", "/CN=Sealpost Test Root", "-days", "30", "-sha256", "-extensions", "ca", "-config"])
                .arg(dir.join("ext.cnf"))
                .arg("-out")
                .arg(&root),
        );
        let mut pki = Pki {
            dir: dir.clone(),
            root: root.clone(),
            inter: PathBuf::new(),
            alice: (PathBuf::new(), PathBuf::new()),
            bob: (PathBuf::new(), PathBuf::new()),
            openssl: openssl.to_path_buf(),
            inter_key: PathBuf::new(),
        };
        let inter_key = key("inter");
        pki.inter = pki.issue("inter", &inter_key, "/CN=Sealpost Test Intermediate", "ca", &root, &root_key);
        pki.inter_key = inter_key;
        let alice_key = key("alice");
        pki.alice = (pki.issue_user("alice", &alice_key, "/CN=Alice/emailAddress=alice@example.org"), alice_key);
        let bob_key = key("bob");
        pki.bob = (pki.issue_user("bob", &bob_key, "/CN=Bob/emailAddress=bob@example.org"), bob_key);
        pki
    }

    /// A user certificate `name` for `key`, issued by the intermediate (a new serial each time: issuing again
    /// for the same key gives a second certificate of the same key).
    pub fn issue_user(&self, name: &str, key: &Path, subject: &str) -> PathBuf {
        self.issue(name, key, subject, "user", &self.inter, &self.inter_key)
    }

    fn issue(&self, name: &str, key: &Path, subject: &str, section: &str, ca: &Path, ca_key: &Path) -> PathBuf {
        let csr = self.dir.join(format!("{name}.csr"));
        let cert = self.dir.join(format!("{name}.pem"));
        run_ok(
            Command::new(&self.openssl)
                .args(["req", "-new", "-key"])
                .arg(key)
                .args(["-subj", subject, "-out"])
                .arg(&csr),
        );
        run_ok(
            Command::new(&self.openssl)
                .args(["x509", "-req", "-in"])
                .arg(&csr)
                .arg("-CA")
                .arg(ca)
                .arg("-CAkey")
                .arg(ca_key)
                .args(["-CAcreateserial", "-days", "30", "-sha256", "-extfile"])
                .arg(self.dir.join("ext.cnf"))
                .args(["-extensions", section, "-out"])
                .arg(&cert),
        );
        cert
    }
}
