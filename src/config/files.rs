//! Private files: config files are created 0600 in a 0700 folder, and a config file that others
//! can write is refused (anyone who can write it can redirect backups).
//!
//! Every config file poof reads (poof.conf, rclone-poof.conf, plain or encrypted) is opened with
//! [`open_config`] and read with [`read_capped`]: only a regular file of at most
//! [`MAX_CONFIG_SIZE`] bytes is read, so that `--rcloneconf /dev/zero` or a FIFO is one clear
//! error instead of a read that never ends or fills the memory, and permission advice
//! (`chmod 600`) is only ever given about a regular file.

use std::fmt;
use std::fs::{File, Metadata};
use std::io::{Read, Write};
use std::os::unix::fs::{DirBuilderExt, FileTypeExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;

use anyhow::{bail, Context, Result};

/// The largest config file poof reads: far above any real config (a few KiB), far below what
/// could hurt the machine.
pub const MAX_CONFIG_SIZE: u64 = 16 << 20;

/// Why a config file could not be opened or read.
#[derive(Debug)]
pub enum ConfigFileError {
    /// The file could not be opened, inspected or read.
    Io(std::io::Error),
    /// The path names something other than a regular file (the text says what).
    NotRegular(&'static str),
    /// The file is larger than [`MAX_CONFIG_SIZE`] (its size, or a lower bound).
    TooLarge(u64),
}

impl fmt::Display for ConfigFileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigFileError::Io(e) => write!(f, "{e}"),
            ConfigFileError::NotRegular(what) => write!(
                f,
                "not a regular file (it is {what}): give the path of a config file"
            ),
            ConfigFileError::TooLarge(size) => write!(
                f,
                "{size} bytes is too large for a config file (the limit is {} MiB): is this the right file?",
                MAX_CONFIG_SIZE >> 20
            ),
        }
    }
}

impl std::error::Error for ConfigFileError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ConfigFileError::Io(e) => Some(e),
            _ => None,
        }
    }
}

/// What a file of this type is, in words, for [`ConfigFileError::NotRegular`].
fn file_kind(meta: &Metadata) -> &'static str {
    let t = meta.file_type();
    if t.is_dir() {
        "a folder"
    } else if t.is_char_device() {
        "a character device"
    } else if t.is_block_device() {
        "a block device"
    } else if t.is_fifo() {
        "a FIFO (named pipe)"
    } else if t.is_socket() {
        "a socket"
    } else {
        "not a file"
    }
}

/// Refuses anything but a regular file of at most [`MAX_CONFIG_SIZE`] bytes.
fn check_config_meta(meta: &Metadata) -> Result<(), ConfigFileError> {
    if !meta.is_file() {
        return Err(ConfigFileError::NotRegular(file_kind(meta)));
    }
    if meta.len() > MAX_CONFIG_SIZE {
        return Err(ConfigFileError::TooLarge(meta.len()));
    }
    Ok(())
}

/// Opens a config file for reading once it is known to be a regular file of a sane size
/// (checked on the path before opening, so that a FIFO never blocks the open, and again on
/// the open file). Returns the file and its metadata (for the permission checks).
///
/// # Errors
/// A missing or unreadable path, anything but a regular file, a file over [`MAX_CONFIG_SIZE`].
pub fn open_config(path: &Path) -> Result<(File, Metadata), ConfigFileError> {
    check_config_meta(&std::fs::metadata(path).map_err(ConfigFileError::Io)?)?;
    let file = File::open(path).map_err(ConfigFileError::Io)?;
    let meta = file.metadata().map_err(ConfigFileError::Io)?;
    check_config_meta(&meta)?;
    Ok((file, meta))
}

/// Reads an open config file to its end, refusing to read more than [`MAX_CONFIG_SIZE`] bytes
/// (a file that grew after [`open_config`] checked it).
///
/// # Errors
/// A read error, or more than [`MAX_CONFIG_SIZE`] bytes.
pub fn read_capped(file: File, size_hint: u64) -> Result<Vec<u8>, ConfigFileError> {
    let mut bytes =
        Vec::with_capacity(usize::try_from(size_hint.min(MAX_CONFIG_SIZE)).unwrap_or(0));
    file.take(MAX_CONFIG_SIZE + 1)
        .read_to_end(&mut bytes)
        .map_err(ConfigFileError::Io)?;
    if bytes.len() as u64 > MAX_CONFIG_SIZE {
        return Err(ConfigFileError::TooLarge(bytes.len() as u64));
    }
    Ok(bytes)
}

/// Reads a config file, refusing anything but a regular file of a sane size and a
/// world-writable file, and warning about one others can read.
///
/// # Errors
/// A missing or unreadable file (the [`std::io::Error`] is in the chain), anything but a
/// regular file, a file over [`MAX_CONFIG_SIZE`], a world-writable file, a file not UTF-8; each
/// error names the file.
pub fn read_private(path: &Path) -> Result<String> {
    let (file, meta) = open_config(path).map_err(|e| match e {
        ConfigFileError::Io(io) => anyhow::Error::new(io).context(path.display().to_string()),
        other => anyhow::anyhow!("{}: {other}", path.display()),
    })?;
    let mode = meta.permissions().mode();
    if mode & 0o002 != 0 {
        bail!(
            "{} is writable by every user: refusing to use it; fix with `chmod 600 {}`",
            path.display(),
            path.display()
        );
    }
    if mode & 0o077 != 0 {
        say!(
            "poof: warning: {} can be read by other users (mode {:o}); fix with `chmod 600 {}`",
            path.display(),
            mode & 0o777,
            path.display()
        );
    }
    let bytes = read_capped(file, meta.len()).with_context(|| format!("{}", path.display()))?;
    String::from_utf8(bytes).map_err(|_| {
        anyhow::anyhow!(
            "{}: not UTF-8 text; is this the right file?",
            path.display()
        )
    })
}

/// Writes a config file atomically with mode 0600, creating its folder with mode 0700.
///
/// # Errors
/// When the folder or the file cannot be written.
pub fn write_private(path: &Path, text: &str) -> Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    if !dir.exists() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let result = (|| -> std::io::Result<()> {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)?;
        f.write_all(text.as_bytes())?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(e).with_context(|| format!("cannot write {}", path.display()));
    }
    Ok(())
}

/// Test helper: writes `text` to a new file at `path` with permission bits `mode` (0o666 makes
/// the world-writable config every reader of config files must refuse).
#[cfg(test)]
pub(crate) fn write_with_mode(path: &Path, text: &str, mode: u32) {
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn written_files_are_private() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/conf");
        write_private(&path, "x").unwrap();
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        assert_eq!(
            std::fs::metadata(path.parent().unwrap())
                .unwrap()
                .permissions()
                .mode()
                & 0o777,
            0o700
        );
        assert_eq!(read_private(&path).unwrap(), "x");
    }

    #[test]
    fn devices_and_huge_files_are_refused_before_reading() {
        let err = read_private(Path::new("/dev/zero"))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("not a regular file") && !err.contains("chmod"),
            "{err}"
        );
        let dir = tempfile::tempdir().unwrap();
        let err = read_private(dir.path()).unwrap_err().to_string();
        assert!(err.contains("a folder"), "{err}");
        let huge = dir.path().join("huge");
        File::create(&huge)
            .unwrap()
            .set_len(MAX_CONFIG_SIZE + 1)
            .unwrap();
        std::fs::set_permissions(&huge, std::fs::Permissions::from_mode(0o600)).unwrap();
        let err = read_private(&huge).unwrap_err().to_string();
        assert!(err.contains("too large"), "{err}");
    }

    #[test]
    fn world_writable_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("conf");
        write_with_mode(&path, "x", 0o666);
        let err = read_private(&path).unwrap_err().to_string();
        assert!(err.contains("writable by every user"), "{err}");
    }
}
