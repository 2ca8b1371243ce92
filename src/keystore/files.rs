//! The keystore's file handling: directories checked before use (not writable by group or others; the secret
//! directory not a symbolic link and private to its owner), secret files read without following symbolic
//! links and refused when anyone else could read them or they belong to someone else (SECURITY-CASES H),
//! and every file written under a temporary name (created with `O_EXCL` and its final mode) and moved into
//! place, so that a failure or a crash never leaves half a file.

use std::fs::{self, DirBuilder, File, OpenOptions, Permissions};
use std::io::{self, Read, Write};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;

use zeroize::Zeroizing;

use super::KeystoreError;

/// Largest key or certificate file read whole.
pub const MAX_FILE: u64 = 16 << 20;

/// The effective user id of this process: the owner every secret must have.
pub fn euid() -> u32 {
    rustix::process::geteuid().as_raw()
}

/// Makes sure `dir` is a directory fit for the keystore, creating it (mode 0700, parents too) when missing.
/// `private`: the directory holds secrets, so it must not be a symbolic link, must belong to us and must be
/// closed to group and others; otherwise it must not be writable by group or others (anyone who can write
/// there can plant a certificate).
pub fn ensure_dir(dir: &Path, private: bool) -> Result<(), KeystoreError> {
    let meta = match fs::symlink_metadata(dir) {
        Ok(m) => m,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)
                .map_err(|e| KeystoreError::io("cannot create the keystore directory", dir, e))?;
            // A umask can only take bits away; make sure anyway.
            fs::set_permissions(dir, Permissions::from_mode(0o700))
                .map_err(|e| KeystoreError::io("cannot set the mode of", dir, e))?;
            fs::symlink_metadata(dir).map_err(|e| KeystoreError::io("cannot read", dir, e))?
        }
        Err(e) => return Err(KeystoreError::io("cannot read the keystore directory", dir, e)),
    };
    let meta = if meta.file_type().is_symlink() {
        if private {
            return Err(KeystoreError::Unsafe(format!(
                "{} is a symbolic link; the secret key directory must be the directory itself",
                dir.display()
            )));
        }
        fs::metadata(dir).map_err(|e| KeystoreError::io("cannot read the keystore directory", dir, e))?
    } else {
        meta
    };
    if !meta.is_dir() {
        return Err(KeystoreError::Unsafe(format!("{} is not a directory", dir.display())));
    }
    let mode = meta.mode() & 0o7777;
    if mode & 0o022 != 0 {
        return Err(KeystoreError::Unsafe(format!(
            "{} can be written by others (mode {mode:04o}); restrict it with `chmod 700 {}`",
            dir.display(),
            dir.display()
        )));
    }
    if private {
        if meta.uid() != euid() {
            return Err(KeystoreError::Unsafe(format!(
                "{} belongs to user {}, not to us ({})",
                dir.display(),
                meta.uid(),
                euid()
            )));
        }
        if mode & 0o077 != 0 {
            return Err(KeystoreError::Unsafe(format!(
                "{} can be read by others (mode {mode:04o}); restrict it with `chmod 700 {}`",
                dir.display(),
                dir.display()
            )));
        }
    }
    Ok(())
}

/// Why a file that was opened cannot hold a secret: a symbolic link, readable by group or others, or
/// someone else's. `None`: it may.
pub fn secret_refusal(path: &Path, is_symlink: bool, meta: &fs::Metadata) -> Option<String> {
    let mode = meta.mode() & 0o777;
    if is_symlink {
        Some(format!("{} is a symbolic link; give the file itself", path.display()))
    } else if mode & 0o077 != 0 {
        Some(format!(
            "{} can be read by others (mode {mode:04o}); restrict it with `chmod 600 {}`",
            path.display(),
            path.display()
        ))
    } else if meta.uid() != euid() {
        Some(format!("{} belongs to user {}, not to us ({})", path.display(), meta.uid(), euid()))
    } else {
        None
    }
}

/// Opens `path` for reading without following a final symbolic link: `Ok(None)` when it is one.
pub fn open_nofollow(path: &Path) -> io::Result<Option<File>> {
    use rustix::fs::{CWD, Mode, OFlags, openat};
    match openat(CWD, path, OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC, Mode::empty()) {
        Ok(fd) => Ok(Some(File::from(fd))),
        Err(rustix::io::Errno::LOOP) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// Reads an open file whole, refusing one larger than [`MAX_FILE`] and anything but a regular file.
pub fn read_bounded(file: File, path: &Path) -> Result<Zeroizing<Vec<u8>>, KeystoreError> {
    let meta = file.metadata().map_err(|e| KeystoreError::io("cannot read", path, e))?;
    if meta.is_dir() {
        return Err(KeystoreError::Malformed { file: path.display().to_string(), detail: "is a directory".into() });
    }
    let mut v = Zeroizing::new(Vec::new());
    file.take(MAX_FILE + 1).read_to_end(&mut v).map_err(|e| KeystoreError::io("cannot read", path, e))?;
    if v.len() as u64 > MAX_FILE {
        return Err(KeystoreError::Malformed {
            file: path.display().to_string(),
            detail: format!("larger than {MAX_FILE} bytes"),
        });
    }
    Ok(v)
}

/// Reads a secret file of the keystore: not through a symbolic link, a regular file, ours, mode 0600 or
/// stricter.
pub fn read_secret(path: &Path) -> Result<Zeroizing<Vec<u8>>, KeystoreError> {
    read_secret_named(path, "secret key")
}

/// Reads any file holding a secret (`what`: "secret key", "passphrase file", ...) into a zeroizing buffer:
/// opened without following a symbolic link, and refused unless it is a regular file of ours that no one
/// else may read, checked on the open file (no window between the check and the read).
pub fn read_secret_named(path: &Path, what: &str) -> Result<Zeroizing<Vec<u8>>, KeystoreError> {
    let file = open_nofollow(path)
        .map_err(|e| KeystoreError::io("cannot open", path, e))?
        .ok_or_else(|| KeystoreError::Unsafe(format!("the {what} {} is a symbolic link; refused", path.display())))?;
    let meta = file.metadata().map_err(|e| KeystoreError::io("cannot read", path, e))?;
    if !meta.is_file() {
        return Err(KeystoreError::Unsafe(format!("the {what} {} is not a regular file", path.display())));
    }
    if let Some(why) = secret_refusal(path, false, &meta) {
        return Err(KeystoreError::Unsafe(format!("{what} {why}")));
    }
    read_bounded(file, path)
}

/// A passphrase or password from a file (never from the command line or the environment): the first line,
/// without its line ending. The file is read as [`read_secret_named`] reads a secret.
///
/// `/dev/fd/N` (or `/proc/self/fd/N`) reads descriptor N the caller gave us, like gpg's `--passphrase-fd`
/// (`3< <(pass show mail)`): a pipe, so the passphrase never touches a disk. It is a link to what the caller
/// opened for us, so it is followed, and read once to its end (bounded).
pub fn read_passphrase(path: &Path) -> Result<Zeroizing<Vec<u8>>, KeystoreError> {
    let descriptor = ["/dev/fd/", "/proc/self/fd/"].iter().any(|p| {
        path.to_str()
            .and_then(|s| s.strip_prefix(p))
            .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
    });
    let v = if descriptor {
        let file = File::open(path).map_err(|e| KeystoreError::io("cannot open", path, e))?;
        let mut v = Zeroizing::new(Vec::new());
        file.take(MAX_FILE + 1).read_to_end(&mut v).map_err(|e| KeystoreError::io("cannot read", path, e))?;
        if v.len() as u64 > MAX_FILE {
            return Err(KeystoreError::Malformed { file: path.display().to_string(), detail: "too large".into() });
        }
        v
    } else {
        read_secret_named(path, "passphrase file")?
    };
    let end = v.iter().position(|&b| b == b'\n').unwrap_or(v.len());
    let line = &v[..end];
    Ok(Zeroizing::new(line.strip_suffix(b"\r").unwrap_or(line).to_vec()))
}

/// Whether a file exists at `path` (a symbolic link counts: it exists, and reading it will be refused).
pub fn exists(path: &Path) -> bool {
    fs::symlink_metadata(path).is_ok()
}

/// How [`write_file`] treats an existing file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Replace {
    /// The file must not exist yet (checked atomically: a file that appears meanwhile is not overwritten).
    No,
    /// An existing file is replaced (atomically).
    Yes,
}

/// Writes `data` to `dir/name` through a temporary file in `dir` (created with `O_EXCL` and `mode`, synced),
/// moved into place; the directory is synced afterwards.
pub fn write_file(dir: &Path, name: &str, data: &[u8], mode: u32, replace: Replace) -> Result<(), KeystoreError> {
    let mut tag = [0u8; 8];
    getrandom::fill(&mut tag)
        .map_err(|e| KeystoreError::io("no randomness for a file name in", dir, io::Error::other(e.to_string())))?;
    let tag: String = tag.iter().map(|b| format!("{b:02x}")).collect();
    let temp = dir.join(format!(".{name}.tmp-{tag}"));
    let target = dir.join(name);
    let result = (|| {
        let mut f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .open(&temp)
            .map_err(|e| KeystoreError::io("cannot create", &temp, e))?;
        f.set_permissions(Permissions::from_mode(mode))
            .map_err(|e| KeystoreError::io("cannot set the mode of", &temp, e))?;
        f.write_all(data).map_err(|e| KeystoreError::io("cannot write", &temp, e))?;
        f.sync_all().map_err(|e| KeystoreError::io("cannot write", &temp, e))?;
        match replace {
            Replace::Yes => fs::rename(&temp, &target).map_err(|e| KeystoreError::io("cannot create", &target, e)),
            // A hard link fails when the name exists: no window in which a file that appeared meanwhile
            // could be overwritten.
            Replace::No => fs::hard_link(&temp, &target).map_err(|e| KeystoreError::io("cannot create", &target, e)),
        }
    })();
    let _ = fs::remove_file(&temp);
    result?;
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn scratch(name: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("sealpost-ks-files-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn new_files_are_exclusive_and_have_their_mode() {
        let dir = scratch("write");
        ensure_dir(&dir, true).unwrap();
        assert_eq!(fs::metadata(&dir).unwrap().mode() & 0o777, 0o700);
        write_file(&dir, "k", b"one", 0o600, Replace::No).unwrap();
        assert_eq!(fs::metadata(dir.join("k")).unwrap().mode() & 0o777, 0o600);
        assert!(write_file(&dir, "k", b"two", 0o600, Replace::No).is_err());
        assert_eq!(&read_secret(&dir.join("k")).unwrap()[..], b"one");
        write_file(&dir, "k", b"two", 0o600, Replace::Yes).unwrap();
        assert_eq!(&read_secret(&dir.join("k")).unwrap()[..], b"two");
        // No temporary file is left behind.
        assert_eq!(fs::read_dir(&dir).unwrap().count(), 1);
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn unsafe_secrets_and_directories_are_refused() {
        let dir = scratch("unsafe");
        ensure_dir(&dir, true).unwrap();
        write_file(&dir, "k", b"one", 0o644, Replace::No).unwrap();
        let err = read_secret(&dir.join("k")).unwrap_err();
        assert!(err.to_string().contains("can be read by others"), "{err}");
        std::os::unix::fs::symlink(dir.join("k"), dir.join("link")).unwrap();
        let err = read_secret(&dir.join("link")).unwrap_err();
        assert!(err.to_string().contains("symbolic link"), "{err}");
        fs::set_permissions(&dir, Permissions::from_mode(0o777)).unwrap();
        let err = ensure_dir(&dir, false).unwrap_err();
        assert!(err.to_string().contains("can be written by others"), "{err}");
        fs::set_permissions(&dir, Permissions::from_mode(0o750)).unwrap();
        ensure_dir(&dir, false).unwrap();
        assert!(ensure_dir(&dir, true).is_err());
        fs::remove_dir_all(&dir).unwrap();
    }
}
