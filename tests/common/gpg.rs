//! A throw-away GnuPG home for interop tests: batch mode, every key trusted, the empty passphrase.

use std::fs::{self, Permissions};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

use super::run_ok;

/// gpg with its own home directory (mode 0700), removed (and its agent stopped) on drop.
pub struct Gpg {
    /// The gpg binary.
    pub bin: PathBuf,
    /// GNUPGHOME.
    pub home: PathBuf,
}

impl Gpg {
    /// The home lives under the system temporary directory with a short name, not in a scratch directory:
    /// gpg-agent's socket path (`$GNUPGHOME/S.gpg-agent.browser`) must fit in 107 bytes.
    pub fn new(bin: &Path) -> Gpg {
        static HOMES: AtomicUsize = AtomicUsize::new(0);
        let n = HOMES.fetch_add(1, Ordering::Relaxed);
        let home = std::env::temp_dir().join(format!("sp-gpg-{}-{n}", std::process::id()));
        let _ = fs::remove_dir_all(&home);
        fs::create_dir_all(&home).unwrap();
        fs::set_permissions(&home, Permissions::from_mode(0o700)).unwrap();
        Gpg { bin: bin.to_path_buf(), home }
    }

    /// gpg, non-interactive, trusting every key (these are fresh test keys), with the empty passphrase that
    /// opens the unprotected test keys.
    pub fn cmd(&self) -> Command {
        let mut cmd = self.cmd_without_passphrase();
        cmd.args(["--passphrase", ""]);
        cmd
    }

    /// Like [`Gpg::cmd`] but without a passphrase, for callers that pass their own; symmetric passphrases
    /// are not cached, so each call must supply the right one.
    pub fn cmd_without_passphrase(&self) -> Command {
        let mut cmd = Command::new(&self.bin);
        cmd.env("GNUPGHOME", &self.home).args([
            "--batch",
            "--yes",
            "--no-tty",
            "--pinentry-mode",
            "loopback",
            "--no-symkey-cache",
            "--trust-model",
            "always",
        ]);
        cmd
    }

    /// Imports key files.
    pub fn import(&self, files: &[&Path]) {
        run_ok(self.cmd().arg("--import").args(files));
    }

    /// The fingerprint of the primary key with this address.
    pub fn fingerprint(&self, email: &str) -> String {
        let out = run_ok(self.cmd().args(["--with-colons", "--list-keys", email]));
        let listing = String::from_utf8_lossy(&out.stdout).into_owned();
        listing
            .lines()
            .find(|l| l.starts_with("fpr:"))
            .and_then(|l| l.split(':').nth(9))
            .unwrap_or_else(|| panic!("no fingerprint for {email} in\n{listing}"))
            .to_string()
    }

    /// The fingerprints of the primary keys gpg holds (of those with a secret key, when `secret`).
    pub fn keys(&self, secret: bool) -> Vec<String> {
        let what = if secret { "--list-secret-keys" } else { "--list-keys" };
        let out = run_ok(self.cmd().args(["--with-colons", what]));
        let text = String::from_utf8_lossy(&out.stdout);
        let mut fprs = Vec::new();
        let mut want_fpr = false;
        for line in text.lines() {
            if line.starts_with("pub:") || line.starts_with("sec:") {
                want_fpr = true;
            } else if line.starts_with("sub:") || line.starts_with("ssb:") {
                want_fpr = false;
            } else if want_fpr && line.starts_with("fpr:") {
                fprs.push(line.split(':').nth(9).unwrap().to_string());
                want_fpr = false;
            }
        }
        fprs
    }

    /// Makes a key with an encryption subkey (gpg's default algorithms) for `uid` and exports its certificate and secret key to `dir/name.cert|.key`.
    pub fn generate(&self, uid: &str, dir: &Path, name: &str) -> (PathBuf, PathBuf) {
        run_ok(self.cmd().args(["--quick-gen-key", uid, "default", "default", "never"]));
        let (cert, key) = (dir.join(format!("{name}.cert")), dir.join(format!("{name}.key")));
        let out = run_ok(self.cmd().args(["--armor", "--export", uid])).stdout;
        fs::write(&cert, out).unwrap();
        let out = run_ok(self.cmd().args(["--armor", "--export-secret-keys", uid])).stdout;
        fs::write(&key, out).unwrap();
        fs::set_permissions(&key, Permissions::from_mode(0o600)).unwrap();
        (cert, key)
    }
}

impl Drop for Gpg {
    fn drop(&mut self) {
        let _ = Command::new(self.bin.with_file_name("gpgconf"))
            .env("GNUPGHOME", &self.home)
            .args(["--kill", "all"])
            .output();
        let _ = fs::remove_dir_all(&self.home);
    }
}
