//! Private files: config files are created 0600 in a 0700 folder, and a config file that others
//! can write is refused (anyone who can write it can redirect backups).

use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;

use anyhow::{bail, Context, Result};

/// Reads a config file, refusing a world-writable one and warning about one others can read.
///
/// # Errors
/// A missing, unreadable or world-writable file.
pub fn read_private(path: &Path) -> Result<String> {
    let meta = std::fs::metadata(path)?;
    let mode = meta.permissions().mode();
    if mode & 0o002 != 0 {
        bail!(
            "{} is writable by every user: refusing to use it; fix with `chmod 600 {}`",
            path.display(),
            path.display()
        );
    }
    if mode & 0o077 != 0 {
        eprintln!(
            "poof: warning: {} can be read by other users (mode {:o}); fix with `chmod 600 {}`",
            path.display(),
            mode & 0o777,
            path.display()
        );
    }
    Ok(std::fs::read_to_string(path)?)
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
    fn world_writable_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("conf");
        std::fs::write(&path, "x").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o666)).unwrap();
        let err = read_private(&path).unwrap_err().to_string();
        assert!(err.contains("writable by every user"), "{err}");
    }
}
