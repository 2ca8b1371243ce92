//! Files and streams for the commands: INPUT (file or standard input), OUT (a file that appears only when
//! the command succeeds, or standard output), secret files (refused when others can read them), and the
//! verdict on stderr and in `--verdict-json`.

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use zeroize::Zeroizing;

use crate::core::pipeline::Spool;
use crate::core::verdict::Verdict;

/// An RSA private key file for the S/MIME, PEM and X.509 commands: PKCS #8, encrypted PKCS #8, PKCS #1 or
/// OpenSSL's traditional encrypted PEM, in PEM (a file that also holds certificates, as OpenSSL's test files
/// do, is read for its key block) or DER. `passphrase` names a passphrase file; an unencrypted DER key is
/// read even when one is given.
pub fn rsa_private_key(
    path: &Path,
    what: &str,
    passphrase: Option<&Path>,
) -> anyhow::Result<crate::core::rsa::RsaPrivateKey> {
    use crate::core::rsa::RsaPrivateKey;
    let bytes = read_secret(path, what)?;
    let pass = passphrase.map(read_passphrase).transpose()?;
    let pass = pass.as_deref().map(|p| &p[..]);
    let key = match std::str::from_utf8(&bytes) {
        Ok(text) if text.contains("-----BEGIN") => {
            let blocks = crate::x509::encoding::pem_blocks(text)
                .with_context(|| format!("reading the {what} {}", path.display()))?;
            let key_block = blocks
                .iter()
                .find(|b| matches!(b.label, "PRIVATE KEY" | "RSA PRIVATE KEY" | "ENCRYPTED PRIVATE KEY"))
                .or_else(|| blocks.first())
                .with_context(|| format!("{} holds no private key", path.display()))?;
            RsaPrivateKey::from_pem(key_block.text, pass)
        }
        _ => match pass {
            Some(p) => RsaPrivateKey::from_encrypted_pkcs8_der(&bytes, p).or_else(|_| RsaPrivateKey::from_der(&bytes)),
            None => RsaPrivateKey::from_der(&bytes),
        },
    };
    key.with_context(|| format!("reading the {what} {}", path.display()))
}

/// Largest key, certificate or passphrase file we read whole.
const MAX_KEY_FILE: u64 = 64 << 20;

/// Opens INPUT: a file, or standard input for `None` and `-`.
pub fn input(path: Option<&Path>) -> anyhow::Result<Box<dyn Read + Send + Sync>> {
    match path {
        None => Ok(Box::new(io::stdin())),
        Some(p) if p == Path::new("-") => Ok(Box::new(io::stdin())),
        Some(p) => {
            let f = File::open(p).with_context(|| format!("cannot open {}", p.display()))?;
            if f.metadata().map(|m| m.is_dir()).unwrap_or(false) {
                bail!("{} is a directory", p.display());
            }
            Ok(Box::new(BufReader::with_capacity(256 * 1024, f)))
        }
    }
}

/// Reads a whole (small) file: a certificate, a signature.
pub fn read_small(path: &Path, what: &str) -> anyhow::Result<Vec<u8>> {
    let f = File::open(path).with_context(|| format!("cannot open {what} {}", path.display()))?;
    let len = f.metadata().map(|m| m.len()).unwrap_or(0);
    if len > MAX_KEY_FILE {
        bail!("{what} {} is too large ({len} bytes)", path.display());
    }
    let mut v = Vec::with_capacity(len as usize);
    f.take(MAX_KEY_FILE + 1).read_to_end(&mut v).with_context(|| format!("cannot read {what} {}", path.display()))?;
    Ok(v)
}

/// Reads a file holding a secret (a key, a passphrase) into a zeroizing buffer: refused when the file is a
/// symbolic link, someone else's, or readable by its group or others (a secret that others can read is no
/// longer secret, and silently using it would hide that). See [`crate::keystore::files::read_secret_named`].
pub fn read_secret(path: &Path, what: &str) -> anyhow::Result<Zeroizing<Vec<u8>>> {
    Ok(crate::keystore::files::read_secret_named(path, what)?)
}

/// A passphrase or password from a file: the first line, without its line ending.
pub fn read_passphrase(path: &Path) -> anyhow::Result<Zeroizing<Vec<u8>>> {
    Ok(crate::keystore::files::read_passphrase(path)?)
}

/// True when `path` exists and is not a regular file (or a directory): a device, a FIFO, a socket.
fn is_special(path: &Path) -> bool {
    fs::metadata(path).map(|m| !m.is_file() && !m.is_dir()).unwrap_or(false)
}

/// Where a command's result goes. A file is written under a temporary name beside it and renamed into
/// place by [`Output::commit`]; if the command fails, the temporary file is removed and OUT never appears.
pub struct Output {
    target: Option<PathBuf>,
    temp: Option<PathBuf>,
    writer: Box<dyn Write + Send + Sync>,
    /// Never replace what is at the target (a secret key is written only to a new file).
    exclusive: bool,
}

impl Output {
    /// Opens OUT (`None` or `-`: standard output). `secret` creates the file with mode 0600.
    pub fn open(path: Option<&Path>, secret: bool) -> anyhow::Result<Output> {
        match path {
            None => Ok(Output {
                target: None,
                temp: None,
                writer: Box::new(BufWriter::with_capacity(256 * 1024, io::stdout())),
                exclusive: false,
            }),
            Some(p) if p == Path::new("-") => Ok(Output {
                target: None,
                temp: None,
                writer: Box::new(BufWriter::with_capacity(256 * 1024, io::stdout())),
                exclusive: false,
            }),
            Some(p) if is_special(p) => {
                // A device, FIFO or socket (`-o /dev/null`, a named pipe): write to it directly. Renaming a
                // temporary file over it would replace the device node itself.
                let f =
                    OpenOptions::new().write(true).open(p).with_context(|| format!("cannot open {}", p.display()))?;
                Ok(Output {
                    target: None,
                    temp: None,
                    writer: Box::new(BufWriter::with_capacity(256 * 1024, f)),
                    exclusive: false,
                })
            }
            Some(p) => {
                let dir = p.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
                let name = p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "out".into());
                let mut suffix = [0u8; 6];
                getrandom::fill(&mut suffix).map_err(|e| anyhow::anyhow!("getrandom: {e}"))?;
                let tag: String = suffix.iter().map(|b| format!("{b:02x}")).collect();
                let temp = dir.join(format!(".{name}.sealpost-{tag}"));
                let f = OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .mode(if secret { 0o600 } else { 0o644 })
                    .open(&temp)
                    .with_context(|| format!("cannot create {}", temp.display()))?;
                Ok(Output {
                    target: Some(p.to_path_buf()),
                    temp: Some(temp),
                    writer: Box::new(BufWriter::with_capacity(256 * 1024, f)),
                    exclusive: false,
                })
            }
        }
    }

    /// Opens OUT for a secret key: a new file of mode 0600, never one that exists (nor a symbolic link, which
    /// counts as existing): the commit links it into place only if nothing took the name meanwhile.
    pub fn open_new_secret(path: Option<&Path>) -> anyhow::Result<Output> {
        if let Some(p) = path.filter(|p| *p != Path::new("-"))
            && fs::symlink_metadata(p).is_ok()
        {
            bail!("{} exists; a secret key is written only to a new file", p.display());
        }
        let mut out = Output::open(path, true)?;
        out.exclusive = out.temp.is_some();
        Ok(out)
    }

    /// The writer.
    pub fn writer(&mut self) -> &mut (dyn Write + Send + Sync) {
        &mut *self.writer
    }

    /// Flushes and moves the file into place.
    pub fn commit(mut self) -> anyhow::Result<()> {
        self.writer.flush().context("writing the output")?;
        if let (Some(temp), Some(target)) = (self.temp.take(), self.target.take()) {
            if self.exclusive {
                // link(2) fails when the name exists: no window in which another file could be replaced.
                let linked = fs::hard_link(&temp, &target);
                let _ = fs::remove_file(&temp);
                linked.with_context(|| format!("cannot create {}", target.display()))?;
            } else {
                fs::rename(&temp, &target).with_context(|| format!("cannot create {}", target.display()))?;
            }
        }
        Ok(())
    }
}

impl Drop for Output {
    fn drop(&mut self) {
        if let Some(temp) = self.temp.take() {
            let _ = fs::remove_file(temp);
        }
    }
}

/// Memory a plaintext spool may use before it spills to its private (encrypted, unlinked) file.
pub const SPOOL_MEMORY: usize = 4 << 20;

/// Where plaintext waits for its verdict. For a file OUT: an unnamed file (`O_TMPFILE`, mode 0600) in OUT's
/// directory, given a name only by [`Held::release`], so that nothing is visible on disk, not even after a
/// crash or a kill, unless the verdict allowed it (where the file system has no `O_TMPFILE`, a hidden 0600
/// file renamed on release). For standard output, a device or a pipe: a [`Spool`] released to it.
pub enum Held {
    /// OUT is a file system without O_TMPFILE: a named temporary file.
    File(Output),
    /// OUT is a file: an unnamed file, linked to OUT on release.
    Unnamed(Unnamed),
    /// OUT is standard output (`None`) or a device or pipe.
    Spool(Spool, Option<PathBuf>),
}

impl Held {
    /// A holding place for OUT (`None` or `-`: standard output).
    pub fn open(path: Option<&Path>) -> anyhow::Result<Held> {
        match path {
            None => Ok(Held::Spool(Spool::new(SPOOL_MEMORY), None)),
            Some(p) if p == Path::new("-") => Ok(Held::Spool(Spool::new(SPOOL_MEMORY), None)),
            // Nothing can be held back inside a device or a pipe: hold it in a spool, write it on release.
            Some(p) if is_special(p) => Ok(Held::Spool(Spool::new(SPOOL_MEMORY), Some(p.to_path_buf()))),
            Some(p) => match Unnamed::create(p) {
                Ok(u) => Ok(Held::Unnamed(u)),
                Err(_) => Ok(Held::File(Output::open(Some(p), true)?)),
            },
        }
    }

    /// Where to write the held plaintext.
    pub fn writer(&mut self) -> &mut (dyn Write + Send + Sync) {
        match self {
            Held::File(o) => o.writer(),
            Held::Unnamed(u) => &mut u.writer,
            Held::Spool(s, _) => s,
        }
    }

    /// Releases the plaintext to OUT.
    pub fn release(self) -> anyhow::Result<()> {
        match self {
            Held::File(o) => o.commit(),
            Held::Unnamed(u) => u.link(),
            Held::Spool(s, target) => {
                let mut out = Output::open(target.as_deref(), false)?;
                s.release(out.writer()).context("writing the output")?;
                out.commit()
            }
        }
    }
}

/// An unnamed file in OUT's directory (Linux `O_TMPFILE`): it has no name until [`Unnamed::link`].
pub struct Unnamed {
    writer: BufWriter<File>,
    target: PathBuf,
}

impl Unnamed {
    fn create(target: &Path) -> std::io::Result<Unnamed> {
        use rustix::fs::{CWD, Mode, OFlags, openat};
        let dir = target.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
        let fd = openat(CWD, dir, OFlags::TMPFILE | OFlags::RDWR | OFlags::CLOEXEC, Mode::from_raw_mode(0o600))?;
        Ok(Unnamed { writer: BufWriter::with_capacity(256 * 1024, File::from(fd)), target: target.to_path_buf() })
    }

    /// Gives the file its name: linked under a hidden temporary name, then renamed over OUT (atomic).
    fn link(self) -> anyhow::Result<()> {
        use rustix::fs::{AtFlags, CWD, linkat};
        use std::os::fd::AsRawFd;
        let file = self.writer.into_inner().map_err(|e| e.into_error()).context("writing the output")?;
        let dir = self.target.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
        let name = self.target.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "out".into());
        let mut suffix = [0u8; 6];
        getrandom::fill(&mut suffix).map_err(|e| anyhow::anyhow!("getrandom: {e}"))?;
        let tag: String = suffix.iter().map(|b| format!("{b:02x}")).collect();
        let temp = dir.join(format!(".{name}.sealpost-{tag}"));
        let proc_path = format!("/proc/self/fd/{}", file.as_raw_fd());
        linkat(CWD, proc_path.as_str(), CWD, &temp, AtFlags::SYMLINK_FOLLOW)
            .with_context(|| format!("cannot create {}", self.target.display()))?;
        if let Err(e) = fs::rename(&temp, &self.target) {
            let _ = fs::remove_file(&temp);
            return Err(e).with_context(|| format!("cannot create {}", self.target.display()));
        }
        Ok(())
    }
}

/// Writes a new secret file with mode 0600, refusing to overwrite anything.
pub fn create_secret_file(path: &Path, data: &[u8]) -> anyhow::Result<()> {
    let mut f = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("cannot create {} (it must not exist yet)", path.display()))?;
    // A umask can only remove bits; make sure of the mode anyway.
    f.set_permissions(fs::Permissions::from_mode(0o600))?;
    f.write_all(data)?;
    f.sync_all()?;
    Ok(())
}

/// Writes a new public file, refusing to overwrite anything.
pub fn create_public_file(path: &Path, data: &[u8]) -> anyhow::Result<()> {
    let mut f = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o644)
        .open(path)
        .with_context(|| format!("cannot create {} (it must not exist yet)", path.display()))?;
    f.write_all(data)?;
    Ok(())
}

/// Prints the one-line verdict summary on stderr and writes the JSON where asked.
pub fn report_verdict(verdict: &Verdict, json: Option<&Path>) -> anyhow::Result<()> {
    eprintln!("{}", verdict.summary());
    if let Some(path) = json {
        fs::write(path, verdict.to_json() + "\n").with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(())
}
