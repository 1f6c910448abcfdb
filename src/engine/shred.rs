//! Shredding: a verified local file overwritten in place with random bytes before `upload`
//! unlinks it (`upload --shred`, or `"shred": true` in poof.conf).
//!
//! [`shred_and_remove`] takes the path of a file and what it was when upload verified it on
//! the target (size and modification time). It shreds only that file:
//!
//! 1. The path, not followed (`symlink_metadata`), must still be a regular file of that size
//!    and modification time, with one name (a file with other hard links would be overwritten
//!    under those names too, and they may lie outside the folder that was backed up).
//! 2. It is opened for writing, without creating or truncating it, with `O_NOFOLLOW` (a link
//!    put in its place since is refused, never followed) and `O_NONBLOCK` (a FIFO put in its
//!    place is refused at once instead of waiting for a reader). The open file must be the one
//!    checked in 1 (same device and inode, size, time, one link).
//! 3. It is overwritten from offset 0 to its length in one pass of random bytes from the
//!    operating system's CSPRNG ([`rand::rngs::OsRng`]), [`CHUNK`] bytes at a time, and
//!    `sync_all` forces them to the disk.
//! 4. It is unlinked only if it did not grow meanwhile and its path still names that same
//!    file.
//!
//! Any failure is an error and the file stays in place: refused before the first write, it is
//! untouched; failed later (a write error, a full copy-on-write disk, a failed sync), it is
//! partly or wholly overwritten but still there (also when the unlink itself fails, in a
//! read-only folder), and its verified copy on the target is the real file now. So its
//! modification time is set back to the verified one: the next backup
//! sees it unchanged and does not replace that copy with random bytes, and the next upload
//! verifies it again and finishes the shred. A file is never unlinked unshredded.
//!
//! What it cannot do: the folders between the upload's folder and the file are not opened one
//! by one (std offers `openat` only through `unsafe`), so a folder swapped for a link while the
//! run goes on is followed, as for every other local write ([`crate::remote::local`]). And an
//! overwrite only reaches the blocks the file system gives back for this file: on SSDs (wear
//! levelling, TRIM), copy-on-write file systems (btrfs, ZFS, APFS), snapshots, backups, a
//! journal of data, swap and caches, older copies can survive (the README says so).

use std::fs::{File, Metadata, OpenOptions};
use std::io::ErrorKind;
use std::os::unix::fs::{FileExt, MetadataExt, OpenOptionsExt};
use std::path::Path;
use std::time::SystemTime;

use anyhow::{anyhow, bail, Context, Result};
use rand::RngCore;

/// Bytes of random data written at a time: one buffer of this size per shredded file.
pub const CHUNK: usize = 1 << 20;

/// Shreds the file at `path` (see the module docs), which upload verified with `size` bytes
/// and modification time `mtime`, then unlinks it.
///
/// # Errors
/// The path is no longer that regular file (changed, replaced, a link, a FIFO), it has other
/// hard links, it cannot be opened for writing, a write or the sync fails, or it changed while
/// it was shredded. The file is left in place in every case.
pub fn shred_and_remove(path: &Path, size: u64, mtime: Option<SystemTime>) -> Result<()> {
    let listed = std::fs::symlink_metadata(path)?;
    unchanged(&listed, size, mtime)?;
    let file = open_for_shredding(path)?;
    let opened = file.metadata()?;
    unchanged(&opened, size, mtime)?;
    if (opened.dev(), opened.ino()) != (listed.dev(), listed.ino()) {
        bail!("replaced since it was uploaded: not shredded");
    }
    // From the first write on, the verified copy on the target is the real file.
    if let Err(e) = overwrite(&file, size).and_then(|()| remove_if_same(path, &file, size)) {
        let kept_time = mtime.is_some_and(|t| {
            filetime::set_file_handle_times(&file, None, Some(filetime::FileTime::from(t))).is_ok()
        });
        let after = if kept_time {
            "kept with its old modification time, so that no backup replaces its verified copy on the target with these bytes: run the upload again to finish"
        } else {
            "kept, but its modification time could not be set back: the next backup would replace its verified copy on the target with these bytes; run `poof download` first, which restores it"
        };
        bail!("{e:#}; {after}");
    }
    Ok(())
}

/// Unlinks `path` once `file` is shredded, if the file did not grow meanwhile and `path`
/// still names it.
///
/// # Errors
/// It grew, its name holds another file now, or the unlink fails.
fn remove_if_same(path: &Path, file: &File, size: u64) -> Result<()> {
    let written = file.metadata()?;
    if written.len() != size {
        bail!(
            "its size went from {size} to {} bytes while it was shredded (another program writes to it)",
            written.len()
        );
    }
    let now = std::fs::symlink_metadata(path)?;
    if (now.dev(), now.ino()) != (written.dev(), written.ino()) {
        bail!("shredded, but its name now holds another file: neither was deleted");
    }
    std::fs::remove_file(path).context("shredded, but cannot delete it")
}

/// Refuses anything but the regular file upload verified (size, time) with a single name.
///
/// # Errors
/// Why `meta` is not that file.
fn unchanged(meta: &Metadata, size: u64, mtime: Option<SystemTime>) -> Result<()> {
    if meta.file_type().is_symlink() {
        bail!("is now a symbolic link: not followed, not shredded");
    }
    if !meta.is_file() {
        bail!("is no longer a regular file: not shredded");
    }
    if meta.len() != size || meta.modified().ok() != mtime {
        bail!("changed since it was uploaded: not shredded");
    }
    if meta.nlink() > 1 {
        bail!(
            "has {} names (hard links): shredding would overwrite the file under the others too; not shredded",
            meta.nlink()
        );
    }
    Ok(())
}

/// Opens `path` for writing without creating or truncating it, without following a link in
/// its last part and without waiting on a FIFO.
///
/// # Errors
/// The open fails; a link or a FIFO at `path` is said as such.
fn open_for_shredding(path: &Path) -> Result<File> {
    OpenOptions::new()
        .write(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)
        .map_err(|e| match e.raw_os_error() {
            Some(libc::ELOOP) => anyhow!("is now a symbolic link: not followed, not shredded"),
            Some(libc::ENXIO) => anyhow!("is now a FIFO or a device: not shredded"),
            _ if e.kind() == ErrorKind::PermissionDenied => anyhow!(
                "cannot be opened for writing ({e}): make it writable (chmod u+w) or upload without --shred; not shredded"
            ),
            _ => anyhow!("cannot be opened for shredding: {e}"),
        })
}

/// Writes `size` random bytes over `file` from offset 0, then syncs it.
///
/// # Errors
/// The random source, a write or the sync fails; the message says how much was overwritten.
fn overwrite(file: &File, size: u64) -> Result<()> {
    let mut buf = vec![0u8; usize::try_from(size).unwrap_or(CHUNK).min(CHUNK)];
    let mut offset = 0u64;
    let stopped =
        |offset: u64| format!("shredding stopped after overwriting {offset} of its {size} bytes");
    while offset < size {
        let n = usize::try_from(size - offset).map_or(buf.len(), |left| left.min(buf.len()));
        let chunk = &mut buf[..n];
        rand::rngs::OsRng
            .try_fill_bytes(chunk)
            .map_err(|e| anyhow!("no random bytes from the operating system: {e}"))
            .with_context(|| stopped(offset))?;
        file.write_all_at(chunk, offset)
            .with_context(|| stopped(offset))?;
        offset += n as u64;
    }
    file.sync_all()
        .context("the random bytes were written but could not be synced to the disk")?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Seek, SeekFrom};

    /// Bytes that are not random and not zero, different at every offset.
    fn original(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i % 251) as u8 + 1).collect()
    }

    /// Writes `bytes` at `dir/name`; the size and time upload would have verified.
    fn file(dir: &Path, name: &str, bytes: &[u8]) -> (std::path::PathBuf, u64, Option<SystemTime>) {
        let path = dir.join(name);
        std::fs::write(&path, bytes).unwrap();
        let meta = std::fs::metadata(&path).unwrap();
        (path, meta.len(), meta.modified().ok())
    }

    fn read_all(handle: &mut File) -> Vec<u8> {
        handle.seek(SeekFrom::Start(0)).unwrap();
        let mut out = Vec::new();
        handle.read_to_end(&mut out).unwrap();
        out
    }

    #[test]
    fn overwrites_every_chunk_in_place_then_unlinks() {
        let dir = tempfile::tempdir().unwrap();
        // Two full chunks and a short last one.
        let bytes = original(2 * CHUNK + 17);
        let (path, size, mtime) = file(dir.path(), "f", &bytes);
        let mut handle = File::open(&path).unwrap();
        shred_and_remove(&path, size, mtime).unwrap();
        assert!(!path.exists());
        let after = read_all(&mut handle);
        assert_eq!(after.len(), bytes.len());
        // Each 16-byte piece of every chunk changed (random bytes match one by chance with
        // probability 2^-128), and the whole is not zeros.
        for (i, (new, old)) in after.chunks(16).zip(bytes.chunks(16)).enumerate() {
            assert_ne!(new, old, "piece {i} unchanged");
        }
        assert!(after.iter().any(|&b| b != 0));
    }

    #[test]
    fn an_empty_file_is_removed() {
        let dir = tempfile::tempdir().unwrap();
        let (path, size, mtime) = file(dir.path(), "empty", b"");
        shred_and_remove(&path, size, mtime).unwrap();
        assert!(!path.exists());
    }

    #[test]
    fn a_file_changed_since_it_was_verified_is_kept_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let (path, size, mtime) = file(dir.path(), "f", b"verified");
        std::fs::write(&path, b"verified, then edited").unwrap();
        let err = shred_and_remove(&path, size, mtime).unwrap_err();
        assert!(format!("{err:#}").contains("changed since"), "{err:#}");
        assert_eq!(std::fs::read(&path).unwrap(), b"verified, then edited");
        // Same size, another time.
        let (path, size, _) = file(dir.path(), "g", b"verified");
        let old = Some(SystemTime::UNIX_EPOCH);
        assert!(shred_and_remove(&path, size, old).is_err());
        assert_eq!(std::fs::read(&path).unwrap(), b"verified");
    }

    #[test]
    fn a_link_put_in_place_of_the_file_is_not_followed() {
        let dir = tempfile::tempdir().unwrap();
        let (target, size, mtime) = file(dir.path(), "target", b"someone else's file");
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        // Even with the target's own size and time, as a swap after verification would show.
        let err = shred_and_remove(&link, size, mtime).unwrap_err();
        assert!(format!("{err:#}").contains("symbolic link"), "{err:#}");
        assert_eq!(std::fs::read(&target).unwrap(), b"someone else's file");
        assert!(link.symlink_metadata().is_ok());
        // The open alone refuses it too (the swap between the check and the open).
        let err = open_for_shredding(&link).unwrap_err();
        assert!(format!("{err:#}").contains("symbolic link"), "{err:#}");
    }

    #[test]
    fn a_fifo_is_refused_without_waiting_for_a_reader() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(made.success());
        let err = shred_and_remove(&fifo, 0, None).unwrap_err();
        assert!(
            format!("{err:#}").contains("no longer a regular file"),
            "{err:#}"
        );
        // The open alone returns at once (no reader) instead of blocking.
        let err = open_for_shredding(&fifo).unwrap_err();
        assert!(format!("{err:#}").contains("FIFO"), "{err:#}");
        assert!(fifo.symlink_metadata().is_ok());
    }

    /// A folder made append-only (`chattr +a`: no unlink, even for root) until dropped.
    struct AppendOnly<'a>(&'a Path);

    impl Drop for AppendOnly<'_> {
        fn drop(&mut self) {
            let _ = std::process::Command::new("chattr")
                .arg("-a")
                .arg(self.0)
                .status();
        }
    }

    #[test]
    fn a_failure_after_the_overwrite_keeps_the_file_with_its_verified_time() {
        let dir = tempfile::tempdir().unwrap();
        let folder = dir.path().join("folder");
        std::fs::create_dir(&folder).unwrap();
        let bytes = original(100_000);
        let (path, size, _) = file(&folder, "f", &bytes);
        let verified = std::time::UNIX_EPOCH + std::time::Duration::new(1_600_000_000, 123_456_789);
        filetime::set_file_mtime(&path, verified.into()).unwrap();
        let made = std::process::Command::new("chattr")
            .arg("+a")
            .arg(&folder)
            .output();
        if !made.is_ok_and(|out| out.status.success()) {
            say!("skipped: chattr +a is not available on this file system");
            return;
        }
        let _undo = AppendOnly(&folder);
        let err = shred_and_remove(&path, size, Some(verified)).unwrap_err();
        let err = format!("{err:#}");
        assert!(
            err.contains("cannot delete it") && err.contains("kept with its old modification time"),
            "{err}"
        );
        // Still there, overwritten, with the time a backup compares unchanged.
        let meta = std::fs::metadata(&path).unwrap();
        assert_eq!(meta.len(), size);
        assert_eq!(meta.modified().unwrap(), verified);
        assert_ne!(std::fs::read(&path).unwrap(), bytes);
    }

    #[test]
    fn a_file_with_other_hard_links_is_kept_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let (path, size, mtime) = file(dir.path(), "f", b"shared bytes");
        let other = dir.path().join("other-name");
        std::fs::hard_link(&path, &other).unwrap();
        let err = shred_and_remove(&path, size, mtime).unwrap_err();
        assert!(format!("{err:#}").contains("hard links"), "{err:#}");
        assert_eq!(std::fs::read(&path).unwrap(), b"shared bytes");
        assert_eq!(std::fs::read(&other).unwrap(), b"shared bytes");
    }
}
