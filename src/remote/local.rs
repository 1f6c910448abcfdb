//! Local folders as a [`Backend`], with std I/O on tokio's blocking pool, and as
//! [`BlockingIo`] for engines that copy small files on threads of their own.
//!
//! [`LocalBackend`] is rooted at a folder and maps relative `/`-separated paths below it. It
//! does not use OpenDAL's `fs` service, which fsyncs on every close and lists about 20 times
//! slower than a plain `read_dir` walk. Listings carry sizes and modification times and come
//! in rclone's walk order: each folder's entries sorted by name, folders visited breadth first.
//!
//! [`Backend::put`] writes to a hidden temporary name in the destination folder
//! (`.<name>.<8 hex digits>.partial`), sets the exact modification time on it, then renames it
//! over the real name; a failed or cancelled put removes the temporary file. A process killed
//! mid-put (SIGKILL, power loss) cannot remove it: listings skip such names
//! ([`is_temp_name`]), so that a leftover never shows up as a file (nor, below a crypt
//! remote, as an undecryptable name that would fail every later run).
//! Symbolic links are skipped with a warning on stderr.
//!
//! Paths are in rclone's Standard name form ([`super::encoding`]): listings map each name on
//! disk to it (a control character to its picture, a byte that is not UTF-8 to `‛XX`), and
//! every path given to the backend is mapped back to the bytes on disk.

use std::collections::VecDeque;
use std::fs;
use std::hash::{BuildHasher, Hasher};
use std::io::{ErrorKind, Read, Seek, SeekFrom, Write};
use std::ops::Range;
use std::path::{Component, Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use anyhow::{bail, Context, Result};
use async_trait::async_trait;
use tokio::io::AsyncReadExt;

use super::backend::{Backend, BlockingIo, ByteStream, Entry, EntryKind, Features, PutOptions};
use super::encoding;

/// Suffix of the temporary files of [`Backend::put`].
pub const PARTIAL_SUFFIX: &str = ".partial";

/// Hex digits of the random part of a temporary name.
const TEMP_RANDOM_DIGITS: usize = 8;

/// True for the names [`Backend::put`] gives its temporary files:
/// `.<name>.<8 hex digits>.partial` with a non-empty `<name>`.
pub fn is_temp_name(name: &str) -> bool {
    let Some(inner) = name
        .strip_prefix('.')
        .and_then(|n| n.strip_suffix(PARTIAL_SUFFIX))
    else {
        return false;
    };
    match inner.rsplit_once('.') {
        Some((stem, random)) => {
            !stem.is_empty()
                && random.len() == TEMP_RANDOM_DIGITS
                && random.bytes().all(|b| b.is_ascii_hexdigit())
        }
        None => false,
    }
}

/// Size of the buffer that copies a stream into a file.
const COPY_BUFFER_SIZE: usize = 1024 * 1024;

/// Files up to this size are read and written in one trip to the blocking pool.
const SMALL_FILE_SIZE: u64 = COPY_BUFFER_SIZE as u64;

/// A file opened for reading: read whole when small, else streamed.
enum Opened {
    Read(Vec<u8>),
    File(fs::File),
}

/// A local folder.
#[derive(Debug, Clone)]
pub struct LocalBackend {
    root: PathBuf,
    follow_links: bool,
    /// Temporary files of interrupted writes met by listings, for
    /// [`Backend::remove_stale_temps`].
    temps_seen: Arc<Mutex<Vec<PathBuf>>>,
}

impl LocalBackend {
    /// A backend rooted at `root` (which need not exist yet: listing it then gives `Ok(None)`,
    /// and `put` creates it). Symbolic links are skipped with a warning.
    pub fn new(root: impl Into<PathBuf>) -> LocalBackend {
        LocalBackend {
            root: root.into(),
            follow_links: false,
            temps_seen: Arc::default(),
        }
    }

    /// Lists what symbolic links point to as if it were there (rclone's `-L`), a folder
    /// reached twice (a link loop, or two links to one folder) only once, with a warning;
    /// dangling links are skipped with a warning.
    pub fn following_links(mut self, follow: bool) -> LocalBackend {
        self.follow_links = follow;
        self
    }

    /// The root folder.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The full path of a file to write, its folder, and a fresh temporary name beside it.
    fn put_paths(&self, rel: &str) -> Result<(PathBuf, PathBuf, PathBuf)> {
        let full = self.full(rel)?;
        let (Some(parent), Some(name)) = (full.parent(), full.file_name()) else {
            bail!("cannot write {}: not a file path", full.display());
        };
        let parent = parent.to_path_buf();
        let temp = parent.join(format!(
            ".{}.{}{PARTIAL_SUFFIX}",
            name.to_string_lossy(),
            random_hex()
        ));
        Ok((full, parent, temp))
    }

    /// The filesystem path of a relative path (Standard form, mapped to the names on disk),
    /// refusing `..`, absolute paths and empty segments so that nothing escapes the root.
    fn full(&self, rel: &str) -> Result<PathBuf> {
        if rel.is_empty() {
            return Ok(self.root.clone());
        }
        let rel_path = Path::new(rel);
        let clean = rel_path
            .components()
            .all(|c| matches!(c, Component::Normal(_)));
        if !clean || rel.split('/').any(str::is_empty) {
            bail!(
                "{rel:?} is not a clean relative path below {}",
                self.root.display()
            );
        }
        encoding::disk_path(&self.root, rel).map_err(|why| {
            anyhow::anyhow!(
                "{:?} cannot be a name below {}: {why}",
                encoding::printable(rel),
                self.root.display()
            )
        })
    }
}

/// A name on disk as an OS string.
fn disk_name(bytes: &[u8]) -> &std::ffi::OsStr {
    std::os::unix::ffi::OsStrExt::from_bytes(bytes)
}

/// A path on disk as poof prints it: its names in Standard form, so that no control
/// character reaches the terminal.
fn shown(path: &Path) -> String {
    encoding::to_standard(std::os::unix::ffi::OsStrExt::as_bytes(path.as_os_str())).into_owned()
}

/// Runs blocking file-system work on tokio's blocking pool.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T> + Send + 'static,
) -> Result<T> {
    tokio::task::spawn_blocking(work)
        .await
        .context("a file-system task panicked or was cancelled")?
}

/// Joins a relative directory and a name.
fn join_rel(dir: &str, name: &str) -> String {
    if dir.is_empty() {
        name.to_owned()
    } else {
        format!("{dir}/{name}")
    }
}

/// The entry of a file-system object, or `None` for symbolic links and special files.
fn entry_of(rel: String, meta: &fs::Metadata) -> Option<Entry> {
    let kind = if meta.is_dir() {
        EntryKind::Dir
    } else if meta.is_file() {
        EntryKind::File
    } else {
        return None;
    };
    Some(Entry {
        path: rel,
        kind,
        size: if kind == EntryKind::File {
            meta.len()
        } else {
            0
        },
        mtime: meta.modified().ok(),
    })
}

/// Lists one folder, sorted by name (in Standard form); symbolic links (unless followed) and
/// special files are skipped with a warning.
fn read_dir_sorted(
    path: &Path,
    rel: &str,
    follow_links: bool,
    temps: &mut Vec<PathBuf>,
) -> Result<Vec<Entry>> {
    let mut out = Vec::new();
    let iter = fs::read_dir(path).with_context(|| format!("cannot list {}", path.display()))?;
    for item in iter {
        let item = item.with_context(|| format!("cannot list {}", path.display()))?;
        let os_name = item.file_name();
        let name =
            encoding::to_standard(std::os::unix::ffi::OsStrExt::as_bytes(os_name.as_os_str()));
        let mut meta = item
            .metadata()
            .with_context(|| format!("cannot read {}", shown(&item.path())))?;
        if follow_links && meta.file_type().is_symlink() {
            match fs::metadata(item.path()) {
                Ok(target) => meta = target,
                Err(err) => {
                    eprintln!(
                        "poof: warning: skipping symbolic link {}: {err}",
                        shown(&item.path())
                    );
                    continue;
                }
            }
        }
        if meta.is_file() && is_temp_name(&name) {
            // Being written, or left by a put that was killed: never a file of the listing.
            temps.push(item.path());
            continue;
        }
        if meta.file_type().is_symlink() {
            eprintln!(
                "poof: warning: skipping symbolic link {}",
                shown(&item.path())
            );
            continue;
        }
        match entry_of(join_rel(rel, &name), &meta) {
            Some(entry) => out.push(entry),
            None => eprintln!(
                "poof: warning: skipping {}: not a regular file or folder",
                shown(&item.path())
            ),
        }
    }
    out.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(out)
}

/// Lists `dir` below `root` breadth first; `None` when it is not a folder. Temporary files of
/// puts go to `temps`.
fn walk(
    root: &Path,
    rel: &str,
    recursive: bool,
    follow_links: bool,
    temps: &mut Vec<PathBuf>,
) -> Result<Option<Vec<Entry>>> {
    match fs::metadata(root) {
        Ok(meta) if meta.is_dir() => {}
        Ok(_) => return Ok(None),
        Err(err) if err.kind() == ErrorKind::NotFound => return Ok(None),
        Err(err) => return Err(err).with_context(|| format!("cannot read {}", root.display())),
    }
    let mut out = Vec::new();
    // Folders by (device, inode): with links followed, a folder reached a second time is a
    // loop or a duplicate, listed once.
    let mut seen = std::collections::HashSet::new();
    if follow_links {
        seen.insert(dir_id(root)?);
    }
    let mut queue = VecDeque::from([(root.to_path_buf(), rel.to_owned())]);
    while let Some((path, rel)) = queue.pop_front() {
        let mut entries = read_dir_sorted(&path, &rel, follow_links, temps)?;
        if follow_links {
            entries.retain(|e| {
                if !e.is_dir() {
                    return true;
                }
                let sub = path.join(disk_name(&encoding::to_disk(e.name().as_bytes())));
                match dir_id(&sub) {
                    Ok(id) if seen.insert(id) => true,
                    _ => {
                        eprintln!(
                            "poof: warning: skipping {}: a folder already listed (symbolic link loop?)",
                            sub.display()
                        );
                        false
                    }
                }
            });
        }
        if recursive {
            for entry in entries.iter().filter(|e| e.is_dir()) {
                let disk = encoding::to_disk(entry.name().as_bytes());
                queue.push_back((path.join(disk_name(&disk)), entry.path.clone()));
            }
        }
        out.extend(entries);
    }
    Ok(Some(out))
}

/// A folder's identity: (device, inode) of what the path points to.
fn dir_id(path: &Path) -> Result<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    let meta = fs::metadata(path).with_context(|| format!("cannot read {}", path.display()))?;
    Ok((meta.dev(), meta.ino()))
}

/// Eight random hex digits for temporary names (std's per-process random hasher keys).
fn random_hex() -> String {
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(
        SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    format!(
        "{:0width$x}",
        hasher.finish() as u32,
        width = TEMP_RANDOM_DIGITS
    )
}

/// A temporary file being written beside its target: locked while open, and removed when
/// dropped unless [`TempFile::commit`] renamed it.
struct TempFile {
    file: fs::File,
    path: PathBuf,
    committed: bool,
}

impl TempFile {
    /// Creates the temporary file `temp` in `parent` (and `parent` with its ancestors when
    /// missing: usually the sync made it already, so that costs nothing per file) and locks
    /// it, which tells [`Backend::remove_stale_temps`] it is being written.
    fn create(parent: &Path, temp: &Path) -> Result<TempFile> {
        let create = || {
            fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(temp)
        };
        let file = match create() {
            Err(err) if err.kind() == ErrorKind::NotFound => {
                fs::create_dir_all(parent)
                    .with_context(|| format!("cannot create {}", parent.display()))?;
                create()
            }
            other => other,
        }
        .with_context(|| format!("cannot create {}", temp.display()))?;
        // Owned (and removed on failure) only now: a name that was taken is someone else's.
        let temp = TempFile {
            file,
            path: temp.to_path_buf(),
            committed: false,
        };
        temp.file
            .lock()
            .with_context(|| format!("cannot lock {}", temp.path.display()))?;
        Ok(temp)
    }

    /// Sets the modification time and renames the file to `full` while it is still open, so
    /// the lock covers the temporary name until it is gone.
    fn commit(mut self, full: &Path, mtime: Option<SystemTime>) -> Result<()> {
        if let Some(mtime) = mtime {
            filetime::set_file_handle_times(
                &self.file,
                None,
                Some(filetime::FileTime::from_system_time(mtime)),
            )
            .with_context(|| format!("cannot set the time of {}", self.path.display()))?;
        }
        fs::rename(&self.path, full).with_context(|| {
            format!(
                "cannot rename {} to {}",
                self.path.display(),
                full.display()
            )
        })?;
        self.committed = true;
        Ok(())
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if !self.committed {
            let _ = fs::remove_file(&self.path);
        }
    }
}

/// [`Backend::put`] of a file of at most [`SMALL_FILE_SIZE`] bytes: the stream is read into
/// memory, then written by [`write_file`].
async fn put_small(
    mut data: ByteStream,
    size: u64,
    parent: PathBuf,
    temp: PathBuf,
    full: PathBuf,
    opts: PutOptions,
) -> Result<u64> {
    let mut bytes = Vec::with_capacity(size as usize);
    (&mut data)
        .take(size.saturating_add(1))
        .read_to_end(&mut bytes)
        .await
        .with_context(|| format!("cannot read the data for {}", full.display()))?;
    let written = bytes.len() as u64;
    if written != size {
        bail!(
            "cannot write {}: expected {size} bytes, the source gave {}{written}",
            full.display(),
            if written > size { "at least " } else { "" }
        );
    }
    blocking(move || write_file(&bytes, &parent, &temp, &full, opts.mtime)).await
}

/// Writes a file held in memory: temporary file (and folder when missing), data, time and
/// rename.
fn write_file(
    bytes: &[u8],
    parent: &Path,
    temp: &Path,
    full: &Path,
    mtime: Option<SystemTime>,
) -> Result<u64> {
    let mut file = TempFile::create(parent, temp)?;
    file.file
        .write_all(bytes)
        .with_context(|| format!("cannot write {}", temp.display()))?;
    file.commit(full, mtime)?;
    Ok(bytes.len() as u64)
}

/// Reads a whole file; `size` is its listed size, the capacity to start with (a file that
/// grew since is still read whole: callers compare the length with the listing).
fn read_file(full: &Path, size: u64) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(usize::try_from(size).unwrap_or(0).saturating_add(1));
    // Through `take`, std's read_to_end does not ask the file its size and position first:
    // two system calls less per file, as the size is known.
    fs::File::open(full)
        .and_then(|file| file.take(u64::MAX).read_to_end(&mut out))
        .with_context(|| format!("cannot read {}", full.display()))?;
    Ok(out)
}

impl BlockingIo for LocalBackend {
    fn read_whole(&self, path: &str, size: u64) -> Result<Vec<u8>> {
        read_file(&self.full(path)?, size)
    }

    fn write_whole(&self, path: &str, data: Vec<u8>, opts: PutOptions) -> Result<u64> {
        let (full, parent, temp) = self.put_paths(path)?;
        write_file(&data, &parent, &temp, &full, opts.mtime)
    }
}

#[async_trait]
impl Backend for LocalBackend {
    fn describe(&self) -> String {
        self.root.display().to_string()
    }

    fn features(&self) -> Features {
        Features {
            mtime_in_listing: true,
            mtime_precision: Duration::from_nanos(1),
            real_dirs: true,
        }
    }

    async fn list(&self, dir: &str, recursive: bool) -> Result<Option<Vec<Entry>>> {
        let full = self.full(dir)?;
        let rel = dir.to_owned();
        let follow = self.follow_links;
        let seen = self.temps_seen.clone();
        blocking(move || {
            let mut temps = Vec::new();
            let listed = walk(&full, &rel, recursive, follow, &mut temps);
            if let Ok(mut all) = seen.lock() {
                all.extend(temps);
            }
            listed
        })
        .await
    }

    async fn remove_stale_temps(&self) -> Result<usize> {
        let seen = std::mem::take(&mut *self.temps_seen.lock().map_err(|_| {
            anyhow::anyhow!(
                "{}: the list of temporary files is poisoned",
                self.describe()
            )
        })?);
        blocking(move || {
            let mut removed = 0;
            for temp in seen {
                // A running put holds a lock on its temporary file until its rename; a killed
                // one held it until it died.
                let Ok(file) = fs::File::open(&temp) else {
                    continue;
                };
                if file.try_lock().is_err() {
                    continue;
                }
                match fs::remove_file(&temp) {
                    Ok(()) => removed += 1,
                    Err(err) if err.kind() == ErrorKind::NotFound => {}
                    Err(err) => {
                        return Err(err)
                            .with_context(|| format!("cannot delete {}", temp.display()))
                    }
                }
            }
            Ok(removed)
        })
        .await
    }

    async fn stat(&self, path: &str) -> Result<Option<Entry>> {
        let full = self.full(path)?;
        let rel = path.to_owned();
        blocking(move || match fs::metadata(&full) {
            Ok(meta) => Ok(entry_of(rel, &meta)),
            Err(err) if err.kind() == ErrorKind::NotFound => Ok(None),
            Err(err) => Err(err).with_context(|| format!("cannot read {}", full.display())),
        })
        .await
    }

    async fn open(&self, path: &str, range: Option<Range<u64>>) -> Result<ByteStream> {
        let full = self.full(path)?;
        let start = range.as_ref().map_or(0, |r| r.start);
        let end = range.as_ref().map(|r| r.end);
        let opened = blocking(move || {
            let mut file =
                fs::File::open(&full).with_context(|| format!("cannot open {}", full.display()))?;
            let len = file
                .metadata()
                .with_context(|| format!("cannot read {}", full.display()))?
                .len();
            let len = end.map_or(len, |end| end.min(len)).saturating_sub(start);
            if start > 0 {
                file.seek(SeekFrom::Start(start))
                    .with_context(|| format!("cannot seek in {}", full.display()))?;
            }
            // Small files are read whole here: one trip to the blocking pool instead of two
            // or more for the stream.
            if len <= SMALL_FILE_SIZE {
                let mut bytes = Vec::with_capacity(len as usize);
                (&mut file)
                    .take(len)
                    .read_to_end(&mut bytes)
                    .with_context(|| format!("cannot read {}", full.display()))?;
                return Ok(Opened::Read(bytes));
            }
            Ok(Opened::File(file))
        })
        .await?;
        let file = match opened {
            Opened::Read(bytes) => return Ok(Box::pin(std::io::Cursor::new(bytes))),
            Opened::File(file) => tokio::fs::File::from_std(file),
        };
        Ok(match range {
            Some(r) => Box::pin(file.take(r.end.saturating_sub(r.start))),
            None => Box::pin(file),
        })
    }

    async fn get(&self, path: &str, size: u64) -> Result<Vec<u8>> {
        let full = self.full(path)?;
        blocking(move || read_file(&full, size)).await
    }

    async fn put_bytes(&self, path: &str, data: Vec<u8>, opts: PutOptions) -> Result<u64> {
        let (full, parent, temp) = self.put_paths(path)?;
        blocking(move || write_file(&data, &parent, &temp, &full, opts.mtime)).await
    }

    fn blocking_io(&self) -> Option<&dyn BlockingIo> {
        Some(self)
    }

    async fn put(&self, path: &str, mut data: ByteStream, opts: PutOptions) -> Result<u64> {
        let (full, parent, temp) = self.put_paths(path)?;
        if let Some(size) = opts.size.filter(|s| *s <= SMALL_FILE_SIZE) {
            return put_small(data, size, parent, temp, full, opts).await;
        }
        // One thread of the blocking pool writes the whole file with std I/O, pulling the
        // stream through the runtime's handle: one buffer and one thread per file, instead of
        // tokio's file adapter (a second buffer, and a trip to the pool per chunk).
        let handle = tokio::runtime::Handle::current();
        blocking(move || {
            let mut file = TempFile::create(&parent, &temp)?;
            let mut buf = vec![0u8; COPY_BUFFER_SIZE];
            let mut written = 0u64;
            loop {
                let n = handle
                    .block_on(data.read(&mut buf))
                    .with_context(|| format!("cannot read the data for {}", full.display()))?;
                if n == 0 {
                    break;
                }
                file.file
                    .write_all(buf.get(..n).unwrap_or_default())
                    .with_context(|| format!("cannot write {}", temp.display()))?;
                written = written.saturating_add(n as u64);
            }
            if let Some(expected) = opts.size {
                if expected != written {
                    bail!(
                        "cannot write {}: expected {expected} bytes, the source gave {written}",
                        full.display()
                    );
                }
            }
            file.commit(&full, opts.mtime)?;
            Ok(written)
        })
        .await
    }

    async fn remove(&self, path: &str) -> Result<()> {
        let full = self.full(path)?;
        blocking(move || {
            fs::remove_file(&full).with_context(|| format!("cannot delete {}", full.display()))
        })
        .await
    }

    async fn mkdir(&self, path: &str) -> Result<()> {
        let full = self.full(path)?;
        blocking(move || {
            fs::create_dir_all(&full).with_context(|| format!("cannot create {}", full.display()))
        })
        .await
    }

    async fn rmdir(&self, path: &str) -> Result<()> {
        let full = self.full(path)?;
        blocking(move || {
            fs::remove_dir(&full).with_context(|| format!("cannot remove {}", full.display()))
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use std::time::{SystemTime, UNIX_EPOCH};

    use super::*;

    fn stream(bytes: &'static [u8]) -> ByteStream {
        Box::pin(bytes)
    }

    async fn read_all(mut s: ByteStream) -> Vec<u8> {
        let mut out = Vec::new();
        s.read_to_end(&mut out).await.unwrap();
        out
    }

    #[tokio::test]
    async fn missing_root_lists_as_none() {
        let dir = tempfile::tempdir().unwrap();
        let b = LocalBackend::new(dir.path().join("absent"));
        assert_eq!(b.list("", true).await.unwrap(), None);
        assert_eq!(b.list("x/y", false).await.unwrap(), None);
    }

    #[tokio::test]
    async fn empty_root_lists_as_empty() {
        let dir = tempfile::tempdir().unwrap();
        let b = LocalBackend::new(dir.path());
        assert_eq!(b.list("", true).await.unwrap(), Some(vec![]));
    }

    #[test]
    fn temp_names_are_recognised_exactly() {
        assert!(is_temp_name(".report.pdf.0123abcd.partial"));
        assert!(is_temp_name(&format!(
            ".x.{}{PARTIAL_SUFFIX}",
            random_hex()
        )));
        assert!(!is_temp_name("report.pdf.0123abcd.partial"));
        assert!(!is_temp_name("..0123abcd.partial"));
        assert!(!is_temp_name(".report.0123abcg.partial"));
        assert!(!is_temp_name(".report.0123abc.partial"));
        assert!(!is_temp_name(".partial"));
        assert!(!is_temp_name(".bashrc"));
    }

    #[tokio::test]
    async fn leftover_temp_file_of_a_killed_put_is_not_listed() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.txt"), b"a").unwrap();
        std::fs::write(dir.path().join(".a.txt.0123abcd.partial"), b"half").unwrap();
        let b = LocalBackend::new(dir.path());
        let all = b.list("", true).await.unwrap().unwrap();
        let paths: Vec<_> = all.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(paths, ["a.txt"]);
    }

    #[tokio::test]
    async fn stale_temps_are_removed_and_locked_ones_kept() {
        let dir = tempfile::tempdir().unwrap();
        let b = LocalBackend::new(dir.path());
        std::fs::create_dir_all(dir.path().join("d")).unwrap();
        let dead = dir.path().join("d/.f.0123abcd.partial");
        let live = dir.path().join(".g.89abcdef.partial");
        let lookalike = dir.path().join(".h.xyz.partial");
        std::fs::write(&dead, b"killed").unwrap();
        std::fs::write(&live, b"being written").unwrap();
        std::fs::write(&lookalike, b"a user's file").unwrap();
        let writer = std::fs::File::open(&live).unwrap();
        writer.lock().unwrap();
        // Nothing is removed before a listing has seen the files.
        assert_eq!(b.remove_stale_temps().await.unwrap(), 0);
        b.list("", true).await.unwrap();
        assert_eq!(b.remove_stale_temps().await.unwrap(), 1);
        assert!(!dead.exists());
        assert!(live.exists(), "a temporary file being written is kept");
        assert!(lookalike.exists(), "not poof's name: a user's file");
        drop(writer);
        b.list("", true).await.unwrap();
        assert_eq!(b.remove_stale_temps().await.unwrap(), 1);
        assert!(!live.exists());
    }

    #[tokio::test]
    async fn put_sets_exact_mtime_and_leaves_no_temp() {
        let dir = tempfile::tempdir().unwrap();
        let b = LocalBackend::new(dir.path());
        let mtime = UNIX_EPOCH + Duration::new(1_650_000_000, 123_456_789);
        let opts = PutOptions {
            size: Some(5),
            mtime: Some(mtime),
        };
        assert_eq!(b.put("a/b/c.txt", stream(b"hello"), opts).await.unwrap(), 5);
        let st = b.stat("a/b/c.txt").await.unwrap().unwrap();
        assert_eq!((st.size, st.mtime), (5, Some(mtime)));
        let all = b.list("", true).await.unwrap().unwrap();
        let paths: Vec<_> = all.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(paths, ["a", "a/b", "a/b/c.txt"]);
        assert_eq!(
            read_all(b.open("a/b/c.txt", None).await.unwrap()).await,
            b"hello"
        );
    }

    #[tokio::test]
    async fn short_put_leaves_old_file_and_no_temp() {
        let dir = tempfile::tempdir().unwrap();
        let b = LocalBackend::new(dir.path());
        b.put("f", stream(b"old"), PutOptions::default())
            .await
            .unwrap();
        let opts = PutOptions {
            size: Some(10),
            mtime: Some(SystemTime::now()),
        };
        assert!(b.put("f", stream(b"new"), opts).await.is_err());
        assert_eq!(fs::read(dir.path().join("f")).unwrap(), b"old");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[tokio::test]
    async fn ranged_open_reads_the_slice() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("f"), b"0123456789").unwrap();
        let b = LocalBackend::new(dir.path());
        assert_eq!(
            read_all(b.open("f", Some(3..7)).await.unwrap()).await,
            b"3456"
        );
        assert_eq!(
            read_all(b.open("f", Some(8..20)).await.unwrap()).await,
            b"89"
        );
    }

    #[tokio::test]
    async fn escaping_paths_are_refused() {
        let b = LocalBackend::new("/nonexistent");
        assert!(b.stat("../etc/passwd").await.is_err());
        assert!(b.stat("/etc/passwd").await.is_err());
        assert!(b.stat("a//b").await.is_err());
    }

    #[tokio::test]
    async fn followed_links_are_listed_and_loops_cut() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir_all(dir.path().join("real/sub")).unwrap();
        fs::write(dir.path().join("real/sub/f"), b"xyz").unwrap();
        let outside = tempfile::tempdir().unwrap();
        fs::write(outside.path().join("g"), b"12345").unwrap();
        std::os::unix::fs::symlink(outside.path(), dir.path().join("linked")).unwrap();
        // A loop back to the root, and a dangling link.
        std::os::unix::fs::symlink(dir.path(), dir.path().join("real/sub/loop")).unwrap();
        std::os::unix::fs::symlink(dir.path().join("nowhere"), dir.path().join("dangling"))
            .unwrap();
        let b = LocalBackend::new(dir.path()).following_links(true);
        let files: Vec<(String, u64)> = b
            .list("", true)
            .await
            .unwrap()
            .unwrap()
            .into_iter()
            .filter(|e| !e.is_dir())
            .map(|e| (e.path, e.size))
            .collect();
        assert_eq!(
            files,
            [("linked/g".to_owned(), 5), ("real/sub/f".to_owned(), 3)]
        );
    }

    #[tokio::test]
    async fn symlinks_are_skipped() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("f"), b"x").unwrap();
        std::os::unix::fs::symlink(dir.path().join("f"), dir.path().join("link")).unwrap();
        let b = LocalBackend::new(dir.path());
        let all = b.list("", false).await.unwrap().unwrap();
        assert_eq!(all.len(), 1);
        assert_eq!(all[0].path, "f");
    }

    #[tokio::test]
    async fn mkdir_rmdir_remove() {
        let dir = tempfile::tempdir().unwrap();
        let b = LocalBackend::new(dir.path());
        b.mkdir("x/y").await.unwrap();
        assert!(b.stat("x/y").await.unwrap().unwrap().is_dir());
        b.rmdir("x/y").await.unwrap();
        assert_eq!(b.stat("x/y").await.unwrap(), None);
        b.put("x/f", stream(b""), PutOptions::default())
            .await
            .unwrap();
        b.remove("x/f").await.unwrap();
        assert_eq!(b.stat("x/f").await.unwrap(), None);
    }
}
