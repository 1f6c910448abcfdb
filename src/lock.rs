//! One poof run at a time per config folder: the lock of `backup`, `upload` and `download`.
//!
//! Two runs over the same poof.conf at once (a scheduled backup while the user runs `upload`)
//! would race on the same files: one could delete local files the other is still uploading.
//! [`RunLock::acquire`] takes an exclusive advisory lock (`flock`, through
//! [`std::fs::File::try_lock`]) on `<confdir>/.poof.lock` and writes the holder's process id
//! into it; a second run is refused at once with one line naming the folder and that pid. The
//! lock is released when the [`RunLock`] is dropped, and by the operating system when the
//! process ends in any way (including `kill -9`), so a stale file never blocks a later run:
//! only a *held* lock refuses.
//!
//! `File::try_lock` is stable since Rust 1.89, the workspace's `rust-version`.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;

use anyhow::{Context, Result};

use crate::exit::{Code, WithCode};

/// Name of the lock file inside the config folder.
pub const LOCK_FILE: &str = ".poof.lock";

/// A held run lock; dropping it releases the lock (the file stays, empty of meaning).
#[derive(Debug)]
pub struct RunLock {
    file: File,
}

impl RunLock {
    /// Takes the lock of `confdir`, without waiting.
    ///
    /// # Errors
    /// Another process holds it ("another poof is running on DIR (pid N)"), or the lock file
    /// cannot be created or locked (e.g. the folder does not exist or is read-only).
    pub fn acquire(confdir: &Path) -> Result<RunLock> {
        let path = confdir.join(LOCK_FILE);
        // Not truncated on open: until the lock is ours, the file holds the holder's pid.
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .with_context(|| format!("cannot open the lock file {}", path.display()))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let mut text = String::new();
                // The holder's pid is informative only: an unreadable file still refuses.
                let _ = file.read_to_string(&mut text);
                let pid = text.trim();
                let pid = if pid.is_empty() { "unknown" } else { pid };
                return Err(anyhow::anyhow!(
                    "another poof is running on {} (pid {pid}); wait for it to finish",
                    confdir.display()
                ))
                .coded(Code::Locked);
            }
            Err(TryLockError::Error(e)) => {
                return Err(e).with_context(|| format!("cannot lock {}", path.display()))
            }
        }
        file.set_len(0)
            .and_then(|()| file.seek(SeekFrom::Start(0)).map(drop))
            .and_then(|()| writeln!(file, "{}", std::process::id()))
            .with_context(|| format!("cannot write the lock file {}", path.display()))?;
        Ok(RunLock { file })
    }
}

impl Drop for RunLock {
    fn drop(&mut self) {
        // Closing the file would release the lock as well; unlocking first makes it explicit.
        let _ = self.file.unlock();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_lock_is_refused_with_the_holders_pid() {
        let dir = tempfile::tempdir().unwrap();
        let _held = RunLock::acquire(dir.path()).unwrap();
        let err = RunLock::acquire(dir.path()).unwrap_err().to_string();
        assert!(err.starts_with("another poof is running on"), "{err}");
        assert!(
            err.contains(&format!("(pid {})", std::process::id())),
            "{err}"
        );
        assert!(dir.path().join(LOCK_FILE).is_file());
    }

    #[test]
    fn lock_is_free_again_after_drop() {
        let dir = tempfile::tempdir().unwrap();
        drop(RunLock::acquire(dir.path()).unwrap());
        assert!(RunLock::acquire(dir.path()).is_ok());
    }

    #[test]
    fn stale_lock_file_does_not_block() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(LOCK_FILE), "999999\n").unwrap();
        assert!(RunLock::acquire(dir.path()).is_ok());
    }

    #[test]
    fn missing_folder_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let err = RunLock::acquire(&dir.path().join("absent")).unwrap_err();
        assert!(err.to_string().contains("cannot open the lock file"));
    }
}
