//! A throw-away GnuPG home for interop tests: batch mode, every key trusted, the empty passphrase.

use std::fs::{self, Permissions};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

use super::run_ok;

/// gpg with its own home directory, removed (and its agent stopped) on drop.
pub struct Gpg {
    /// The gpg binary.
    pub bin: PathBuf,
    /// GNUPGHOME.
    pub home: PathBuf,
}

impl Gpg {
    /// The home lives under the system temporary directory with a short name: gpg-agent's socket path must
    /// fit in 107 bytes.
    pub fn new(bin: &Path) -> Gpg {
        static HOMES: AtomicUsize = AtomicUsize::new(0);
        let n = HOMES.fetch_add(1, Ordering::Relaxed);
        let home = std::env::temp_dir().join(format!("sp-gpg-{}-{n}", std::process::id()));
        let _ = fs::remove_dir_all(&home);
        fs::create_dir_all(&home).unwrap();
        fs::set_permissions(&home, Permissions::from_mode(0o700)).unwrap();
        Gpg { bin: bin.to_path_buf(), home }
    }

    /// gpg, non-interactive, trusting every key, with the empty passphrase.
    pub fn cmd(&self) -> Command {
        let mut cmd = Command::new(&self.bin);
        cmd.env("GNUPGHOME", &self.home).args([
            "--batch",
            "--yes",
            "--no-tty",
            "--pinentry-mode",
            "loopback",
            "--passphrase",
            "",
            "--trust-model",
            "always",
        ]);
        cmd
    }

    /// Imports key files.
    pub fn import(&self, files: &[&Path]) {
        run_ok(self.cmd().arg("--import").args(files));
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
