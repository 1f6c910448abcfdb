//! Local folders as a [`Backend`]: std I/O on tokio's blocking pool for the async calls, and
//! plain system calls on the calling thread for whole small files ([`Backend::read_whole`],
//! [`Backend::write_whole`]), which the engine runs on threads of its own.
//!
//! [`LocalBackend`] is rooted at a folder and maps relative `/`-separated paths below it. It
//! does not use OpenDAL's `fs` service, which fsyncs on every close and lists about 20 times
//! slower than a plain `read_dir` walk. Listings carry sizes and modification times and come
//! in rclone's walk order: each folder's entries sorted by name, folders visited breadth first.
//!
//! # Temporary files
//!
//! [`Backend::put`] writes to a temporary file in the destination folder, sets the exact
//! modification time on it, then renames it over the real name; a failed or cancelled put
//! removes the temporary file. Its name is [`temp_name`]: `.poof-<16 hex>-<16 hex>.partial`,
//! 47 bytes whatever the real name (so a name of up to 255 bytes can be written), where the
//! second half is a hash of poof's own domain string and the first half. Only names whose hash
//! checks ([`is_temp_name`]) are poof's: a user's `.draft.20241231.partial`, or any other name,
//! is data, listed and copied like every file. A process killed mid-put (SIGKILL, power loss)
//! cannot remove its temporary file: listings skip verified temporary names (so a leftover
//! never shows up as a file, nor below a crypt remote as a name that does not decrypt), and
//! [`Backend::cleanup`] removes those that no running put holds locked.
//!
//! # Symbolic links
//!
//! Listings skip symbolic links with a warning (unless [`LocalBackend::following_links`]).
//! Writes never go through one: every write (put, the temporary file, mkdir, remove, rmdir)
//! checks each folder between the trusted base and the file without following links
//! (`symlink_metadata`) and creates missing folders one by one, so that a link inside the
//! destination (`dest/dir -> /elsewhere`) makes that file fail with "refusing to write through
//! the symbolic link dest/dir", the link and its target untouched. The root is trusted as the
//! user named it (it may be a link: the user chose it); [`LocalBackend::below`] roots a
//! backend at a trusted base plus components that are checked too (`download --to DIR` trusts
//! `DIR`, not `DIR/<cloud folder>`). A final name that is a link is replaced by the rename
//! (the link itself, never its target). Folders checked (or created) once are remembered for
//! the backend's life, so 20,000 files in a few folders cost a few extra system calls.
//!
//! The check is not atomic with the write: a link swapped in for a checked folder by another
//! process while the run goes on (a race that needs someone writing to the destination at
//! the same time) is not seen. Closing it needs `openat` with `O_NOFOLLOW` on every
//! component, which std does not offer without `unsafe`.
//!
//! # Names
//!
//! Paths are in rclone's Standard name form ([`super::encoding`]): listings map each name on
//! disk to it (a control character to its picture, a byte that is not UTF-8 to `‛XX`), and
//! every path given to the backend is mapped back to the bytes on disk.

use std::collections::{HashSet, VecDeque};
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

use super::backend::{
    Backend, ByteStream, Entry, EntryKind, Features, Length, Listing, PutOptions, TooLong, Whole,
};
use super::encoding;
use super::{Below, StorageType};
use crate::exit::{Code, WithCode};

/// The longest file name, in bytes, of the file systems poof writes to (Linux's `NAME_MAX`):
/// a name of a local folder or of a server's folder longer than this cannot be written.
pub const NAME_MAX: usize = 255;

/// Suffix of the temporary files of [`Backend::put`].
pub const PARTIAL_SUFFIX: &str = ".partial";

/// Prefix of the temporary files of [`Backend::put`].
const TEMP_PREFIX: &str = ".poof-";

/// Hex digits of the random part of a temporary name, and of its tag.
const TEMP_HEX_DIGITS: usize = 16;

/// Length in bytes of every temporary name: `.poof-<16 hex>-<16 hex>.partial`.
const TEMP_NAME_LEN: usize =
    TEMP_PREFIX.len() + TEMP_HEX_DIGITS + 1 + TEMP_HEX_DIGITS + PARTIAL_SUFFIX.len();

/// What the tag of a temporary name hashes before its random part: only poof's names verify.
const TEMP_DOMAIN: &[u8] = b"poof temporary file name, version 1\0";

/// The tag of a temporary name's random part: the first 8 bytes of
/// SHA-256(`TEMP_DOMAIN` || random), in lowercase hex.
fn temp_tag(random: &[u8]) -> [u8; TEMP_HEX_DIGITS] {
    use sha2::Digest;
    let digest = sha2::Sha256::new()
        .chain_update(TEMP_DOMAIN)
        .chain_update(random)
        .finalize();
    let mut out = [0u8; TEMP_HEX_DIGITS];
    for (pair, byte) in out.chunks_exact_mut(2).zip(digest.iter()) {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        pair.copy_from_slice(&[HEX[usize::from(byte >> 4)], HEX[usize::from(byte & 15)]]);
    }
    out
}

/// A fresh temporary name for [`Backend::put`]: `.poof-<16 hex random>-<16 hex tag>.partial`,
/// [`TEMP_NAME_LEN`] bytes whatever the name of the file it becomes.
pub fn temp_name() -> String {
    let random = random_hex();
    let tag = temp_tag(random.as_bytes());
    format!(
        "{TEMP_PREFIX}{random}-{}{PARTIAL_SUFFIX}",
        String::from_utf8_lossy(&tag)
    )
}

/// True only for the names [`temp_name`] makes: the right length, prefix and suffix, and a tag
/// that matches the random part. Any other name (`.draft.20241231.partial` included) is a
/// user's file. Names of another length cost one comparison.
pub fn is_temp_name(name: &str) -> bool {
    if name.len() != TEMP_NAME_LEN {
        return false;
    }
    let Some(inner) = name
        .strip_prefix(TEMP_PREFIX)
        .and_then(|n| n.strip_suffix(PARTIAL_SUFFIX))
    else {
        return false;
    };
    let Some((random, tag)) = inner.split_once('-') else {
        return false;
    };
    random.len() == TEMP_HEX_DIGITS
        && random
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        && tag.as_bytes() == temp_tag(random.as_bytes())
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
    /// [`Backend::cleanup`].
    temps_seen: Arc<Mutex<Vec<PathBuf>>>,
    /// The folders writes may go through (see the module docs).
    folders: Arc<Folders>,
}

impl LocalBackend {
    /// A backend rooted at `root` (which need not exist yet: listing it then gives `Ok(None)`,
    /// and `put` creates it). Symbolic links are skipped with a warning. The root is trusted
    /// as given (it may be a link); folders below it are checked by every write.
    pub fn new(root: impl Into<PathBuf>) -> LocalBackend {
        let root = root.into();
        LocalBackend {
            folders: Arc::new(Folders::new(root.clone())),
            root,
            follow_links: false,
            temps_seen: Arc::default(),
        }
    }

    /// A backend rooted at `base/rel`, where `base` is trusted as given but the components of
    /// `rel` (a clean `/`-separated relative path) are not: a symbolic link among them fails
    /// listings and writes, as one below the root does.
    ///
    /// # Errors
    /// `rel` is empty, absolute, or holds `.`, `..` or empty segments.
    pub fn below(base: impl Into<PathBuf>, rel: &str) -> Result<LocalBackend> {
        let base = base.into();
        let clean = !rel.is_empty()
            && Path::new(rel)
                .components()
                .all(|c| matches!(c, Component::Normal(_)))
            && !rel
                .split('/')
                .any(|s| s.is_empty() || s == "." || s == "..");
        if !clean {
            bail!(
                "{rel:?} is not a clean relative path below {}",
                base.display()
            );
        }
        Ok(LocalBackend {
            root: base.join(rel),
            follow_links: false,
            temps_seen: Arc::default(),
            folders: Arc::new(Folders::new(base)),
        })
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
        let (Some(parent), Some(_)) = (full.parent(), full.file_name()) else {
            bail!("cannot write {}: not a file path", full.display());
        };
        let parent = parent.to_path_buf();
        let temp = parent.join(temp_name());
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

/// The folders that writes of a [`LocalBackend`] go through: each one below the trusted base
/// is checked without following links (or created) once, then remembered.
#[derive(Debug)]
struct Folders {
    /// Trusted as the user named it: the root, or the base of [`LocalBackend::below`].
    base: PathBuf,
    /// Folders at or below `base` found (or made) to be real folders, reached through real
    /// folders only.
    checked: Mutex<HashSet<PathBuf>>,
}

/// The error of a write through a symbolic link.
fn link_refused(path: &Path) -> anyhow::Error {
    anyhow::anyhow!(
        "refusing to write through the symbolic link {}",
        path.display()
    )
}

impl Folders {
    fn new(base: PathBuf) -> Folders {
        Folders {
            base,
            checked: Mutex::default(),
        }
    }

    fn is_checked(&self, dir: &Path) -> bool {
        self.checked.lock().is_ok_and(|set| set.contains(dir))
    }

    fn remember(&self, dir: &Path) {
        if let Ok(mut set) = self.checked.lock() {
            set.insert(dir.to_path_buf());
        }
    }

    /// Forgets `dir` (removed, or found missing): the next write through it checks again.
    fn forget(&self, dir: &Path) {
        if let Ok(mut set) = self.checked.lock() {
            set.remove(dir);
        }
    }

    /// Makes sure `dir` (the base or a folder below it) is a real folder reached from the
    /// base through real folders only: with `create`, missing folders are made one by one;
    /// without, a missing one ends the check (nothing below it exists to write through).
    ///
    /// # Errors
    /// A component is a symbolic link ("refusing to write through the symbolic link ...") or
    /// not a folder, `dir` is not below the base, or a folder cannot be read or made.
    fn ensure(&self, dir: &Path, create: bool) -> Result<()> {
        if self.is_checked(dir) {
            return Ok(());
        }
        let rel = dir.strip_prefix(&self.base).map_err(|_| {
            anyhow::anyhow!("{} is not below {}", dir.display(), self.base.display())
        })?;
        let mut path = self.base.clone();
        if !self.is_checked(&path) {
            // The base is the user's choice: followed if a link, made with its parents.
            match fs::metadata(&path) {
                Ok(meta) if meta.is_dir() => {}
                Ok(_) => bail!("cannot write below {}: not a folder", path.display()),
                Err(err) if err.kind() == ErrorKind::NotFound && create => {
                    fs::create_dir_all(&path)
                        .with_context(|| format!("cannot create {}", path.display()))?;
                }
                Err(err) if err.kind() == ErrorKind::NotFound => return Ok(()),
                Err(err) => {
                    return Err(err).with_context(|| format!("cannot read {}", path.display()))
                }
            }
            self.remember(&path);
        }
        for part in rel.components() {
            path.push(part);
            if self.is_checked(&path) {
                continue;
            }
            if !check_folder(&path, create)? {
                return Ok(());
            }
            self.remember(&path);
        }
        Ok(())
    }
}

/// Checks that `path` is a real folder, not following links; a missing one is made when
/// `create` (true), else reported missing (false).
fn check_folder(path: &Path, create: bool) -> Result<bool> {
    match fs::symlink_metadata(path) {
        Ok(meta) if meta.is_dir() => Ok(true),
        Ok(meta) if meta.file_type().is_symlink() => Err(link_refused(path)),
        Ok(_) => bail!("cannot write below {}: not a folder", path.display()),
        Err(err) if err.kind() == ErrorKind::NotFound && create => match fs::create_dir(path) {
            Ok(()) => Ok(true),
            // Made meanwhile by another write (or swapped for something else): look again.
            Err(err) if err.kind() == ErrorKind::AlreadyExists => check_folder(path, false),
            Err(err) => Err(err).with_context(|| format!("cannot create {}", path.display())),
        },
        Err(err) if err.kind() == ErrorKind::NotFound => Ok(false),
        Err(err) => Err(err).with_context(|| format!("cannot read {}", path.display())),
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
                    say!(
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
            say!(
                "poof: warning: skipping symbolic link {}",
                shown(&item.path())
            );
            continue;
        }
        match entry_of(join_rel(rel, &name), &meta) {
            Some(entry) => out.push(entry),
            None => say!(
                "poof: warning: skipping {}: not a regular file or folder",
                shown(&item.path())
            ),
        }
    }
    out.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(out)
}

/// Lists `dir` below `root` breadth first; `None` when it is not a folder. Temporary files of
/// puts go to `temps`. A folder below `root` the disk refuses to list is returned in
/// [`Listing::unreadable`] and the walk goes on; `root` itself unreadable is an error.
fn walk(
    root: &Path,
    rel: &str,
    recursive: bool,
    follow_links: bool,
    temps: &mut Vec<PathBuf>,
) -> Result<Option<Listing>> {
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
    let mut unreadable = Vec::new();
    let mut queue = VecDeque::from([(root.to_path_buf(), rel.to_owned())]);
    while let Some((path, rel)) = queue.pop_front() {
        let mut entries = match read_dir_sorted(&path, &rel, follow_links, temps) {
            Ok(entries) => entries,
            Err(err) if path != root => {
                unreadable.push((rel, err.root_cause().to_string()));
                continue;
            }
            Err(err) => return Err(err),
        };
        if follow_links {
            entries.retain(|e| {
                if !e.is_dir() {
                    return true;
                }
                let sub = path.join(disk_name(&encoding::to_disk(e.name().as_bytes())));
                match dir_id(&sub) {
                    Ok(id) if seen.insert(id) => true,
                    _ => {
                        say!(
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
    Ok(Some(Listing {
        entries: out,
        problems: Vec::new(),
        unreadable,
    }))
}

/// A folder's identity: (device, inode) of what the path points to.
fn dir_id(path: &Path) -> Result<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    let meta = fs::metadata(path).with_context(|| format!("cannot read {}", path.display()))?;
    Ok((meta.dev(), meta.ino()))
}

/// Sixteen random hex digits for temporary names (std's random hasher keys, which differ per
/// thread and per call, over the time: no system call).
fn random_hex() -> String {
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(
        SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    format!("{:0width$x}", hasher.finish(), width = TEMP_HEX_DIGITS)
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
    /// missing, one by one and never through a symbolic link: usually the sync made and
    /// checked them already, so that costs a look-up per file) and locks it, which tells
    /// [`Backend::cleanup`] it is being written.
    fn create(folders: &Folders, parent: &Path, temp: &Path) -> Result<TempFile> {
        folders.ensure(parent, true)?;
        let create = || {
            fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(temp)
        };
        let file = match create() {
            Err(err) if err.kind() == ErrorKind::NotFound => {
                // Removed since it was checked: check (and make) it again.
                folders.forget(parent);
                folders.ensure(parent, true)?;
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
    folders: Arc<Folders>,
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
    blocking(move || write_file(&folders, &bytes, &parent, &temp, &full, opts.mtime)).await
}

/// Writes a file held in memory: temporary file (and folder when missing), data, time and
/// rename.
fn write_file(
    folders: &Folders,
    bytes: &[u8],
    parent: &Path,
    temp: &Path,
    full: &Path,
    mtime: Option<SystemTime>,
) -> Result<u64> {
    let mut file = TempFile::create(folders, parent, temp)?;
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

impl LocalBackend {
    /// Runs `change` on the blocking pool with the full path of `path`, once the folder
    /// holding it is checked to be no symbolic link (a delete never reaches through one).
    async fn in_checked_parent(
        &self,
        path: &str,
        change: impl FnOnce(&Folders, &Path) -> Result<()> + Send + 'static,
    ) -> Result<()> {
        let full = self.full(path)?;
        let folders = self.folders.clone();
        blocking(move || {
            if let Some(parent) = full.parent() {
                folders.ensure(parent, false)?;
            }
            change(&folders, &full)
        })
        .await
    }
}

/// The `local` line of [`super::TYPES`]: `name:path` is the local path (`.` when empty).
pub const TYPE: StorageType = StorageType {
    name: "local",
    open: |_, _, path| Ok(Arc::new(LocalBackend::new(section_path(path)))),
    below: |_, path| Below::Folder(section_path(path)),
    is_crypt: false,
};

/// The folder of `path` inside a `type = local` section.
fn section_path(path: &str) -> PathBuf {
    PathBuf::from(if path.is_empty() { "." } else { path })
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
            server_side_move: true,
            writable: true,
            small_files_at_once: false,
            walk_by_folder: !self.follow_links,
            // NAME_MAX of Linux's file systems (ext4, XFS, Btrfs, ZFS) and of APFS.
            max_segment: Some(Length::Bytes(NAME_MAX)),
            max_key: None,
        }
    }

    fn fits(&self, path: &str, kind: EntryKind) -> Result<(), TooLong> {
        // Measured on the disk names, which are shorter than their Standard form when they
        // hold control characters or bytes that are not UTF-8.
        let disk = encoding::to_disk(path.as_bytes());
        self.features().check_stored(b"", &disk, kind)
    }

    async fn list(&self, dir: &str, recursive: bool) -> Result<Option<Listing>> {
        let full = self.full(dir)?;
        let rel = dir.to_owned();
        let follow = self.follow_links;
        let seen = self.temps_seen.clone();
        let folders = self.folders.clone();
        let untrusted_root = folders.base != self.root;
        let root = self.root.clone();
        blocking(move || {
            if untrusted_root {
                // Rooted below a trusted base: a link on the way would list (and then write)
                // outside it.
                folders.ensure(&root, false)?;
            }
            let mut temps = Vec::new();
            let listed = walk(&full, &rel, recursive, follow, &mut temps);
            if let Ok(mut all) = seen.lock() {
                all.extend(temps);
            }
            // What the disk refuses to read is the source's problem, not the storage's.
            listed.coded(Code::Unreadable)
        })
        .await
    }

    async fn cleanup(&self) -> Result<usize> {
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
            // A FIFO, socket or device is never read (opening a FIFO waits for a writer) nor
            // replaced: say what it is rather than "not found".
            Ok(meta) => match entry_of(rel, &meta) {
                Some(entry) => Ok(Some(entry)),
                None => bail!("{}: not a regular file or folder", shown(&full)),
            },
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
        .await
        .coded(Code::Unreadable)?;
        let file = match opened {
            Opened::Read(bytes) => return Ok(Box::pin(std::io::Cursor::new(bytes))),
            Opened::File(file) => tokio::fs::File::from_std(file),
        };
        Ok(match range {
            Some(r) => Box::pin(file.take(r.end.saturating_sub(r.start))),
            None => Box::pin(file),
        })
    }

    fn read_whole(&self, file: &Entry) -> Result<Whole> {
        Ok(Whole {
            data: read_file(&self.full(&file.path)?, file.size).coded(Code::Unreadable)?,
            mtime: file.mtime,
        })
    }

    fn write_whole(&self, path: &str, data: Vec<u8>, opts: PutOptions) -> Result<u64> {
        let (full, parent, temp) = self.put_paths(path)?;
        write_file(&self.folders, &data, &parent, &temp, &full, opts.mtime)
    }

    async fn put(&self, path: &str, mut data: ByteStream, opts: PutOptions) -> Result<u64> {
        let (full, parent, temp) = self.put_paths(path)?;
        if let Some(size) = opts.size.filter(|s| *s <= SMALL_FILE_SIZE) {
            return put_small(data, size, self.folders.clone(), parent, temp, full, opts).await;
        }
        // One thread of the blocking pool writes the whole file with std I/O, pulling the
        // stream through the runtime's handle: one buffer and one thread per file, instead of
        // tokio's file adapter (a second buffer, and a trip to the pool per chunk).
        let handle = tokio::runtime::Handle::current();
        let folders = self.folders.clone();
        blocking(move || {
            let mut file = TempFile::create(&folders, &parent, &temp)?;
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
        self.in_checked_parent(path, |_, full| {
            fs::remove_file(full).with_context(|| format!("cannot delete {}", full.display()))
        })
        .await
    }

    async fn rename(&self, from: &str, to: &str) -> Result<()> {
        let (dest, dest_parent, _) = self.put_paths(to)?;
        self.in_checked_parent(from, move |folders, full| {
            folders.ensure(&dest_parent, true)?;
            fs::rename(full, &dest)
                .with_context(|| format!("cannot move {} to {}", full.display(), dest.display()))
        })
        .await
    }

    async fn mkdir(&self, path: &str) -> Result<()> {
        let full = self.full(path)?;
        let folders = self.folders.clone();
        blocking(move || folders.ensure(&full, true)).await
    }

    async fn rmdir(&self, path: &str) -> Result<()> {
        self.in_checked_parent(path, |folders, full| {
            // A symbolic link in its place is not a folder: remove_dir refuses it.
            folders.forget(full);
            fs::remove_dir(full).with_context(|| format!("cannot remove {}", full.display()))
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
        assert_eq!(b.list("", true).await.unwrap(), Some(Listing::default()));
    }

    #[test]
    fn temp_names_are_recognised_exactly() {
        let name = temp_name();
        assert_eq!(name.len(), TEMP_NAME_LEN);
        assert!(is_temp_name(&name), "{name}");
        assert_ne!(temp_name(), name, "fresh random part");
        // A forged or damaged tag, and the names of poof's earlier temporary files, are data.
        let mut forged = name.clone().into_bytes();
        forged[23] = if forged[23] == b'0' { b'1' } else { b'0' };
        let forged = String::from_utf8(forged).unwrap();
        assert!(!is_temp_name(&forged), "{forged}");
        assert!(!is_temp_name(&name.to_uppercase()));
        assert!(!is_temp_name(
            ".poof-0123456789abcdef-0123456789abcdef.partial"
        ));
        assert!(!is_temp_name(".report.pdf.0123abcd.partial"));
        assert!(!is_temp_name(".draft.20241231.partial"));
        assert!(!is_temp_name(".partial"));
        assert!(!is_temp_name(".bashrc"));
    }

    #[tokio::test]
    async fn leftover_temp_file_of_a_killed_put_is_not_listed_but_lookalikes_are() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.txt"), b"a").unwrap();
        std::fs::write(dir.path().join(temp_name()), b"half").unwrap();
        std::fs::write(dir.path().join(".a.txt.0123abcd.partial"), b"mine").unwrap();
        let b = LocalBackend::new(dir.path());
        let all = b.list("", true).await.unwrap().unwrap().entries;
        let paths: Vec<_> = all.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(paths, [".a.txt.0123abcd.partial", "a.txt"]);
    }

    #[tokio::test]
    async fn stale_temps_are_removed_and_locked_ones_kept() {
        let dir = tempfile::tempdir().unwrap();
        let b = LocalBackend::new(dir.path());
        std::fs::create_dir_all(dir.path().join("d")).unwrap();
        let dead = dir.path().join("d").join(temp_name());
        let live = dir.path().join(temp_name());
        let lookalikes = [
            dir.path().join(".h.xyz.partial"),
            dir.path().join(".g.89abcdef.partial"),
            dir.path()
                .join(".poof-0123456789abcdef-0123456789abcdef.partial"),
        ];
        std::fs::write(&dead, b"killed").unwrap();
        std::fs::write(&live, b"being written").unwrap();
        for file in &lookalikes {
            std::fs::write(file, b"a user's file").unwrap();
        }
        let writer = std::fs::File::open(&live).unwrap();
        writer.lock().unwrap();
        // Nothing is removed before a listing has seen the files.
        assert_eq!(b.cleanup().await.unwrap(), 0);
        b.list("", true).await.unwrap();
        assert_eq!(b.cleanup().await.unwrap(), 1);
        assert!(!dead.exists());
        assert!(live.exists(), "a temporary file being written is kept");
        for file in &lookalikes {
            assert!(file.exists(), "not poof's name: a user's file");
        }
        drop(writer);
        b.list("", true).await.unwrap();
        assert_eq!(b.cleanup().await.unwrap(), 1);
        assert!(!live.exists());
    }

    #[tokio::test]
    async fn names_of_up_to_255_bytes_are_written() {
        let dir = tempfile::tempdir().unwrap();
        let b = LocalBackend::new(dir.path());
        for len in [238, 250, 255] {
            let name = "n".repeat(len);
            b.write_whole(&name, b"long".to_vec(), PutOptions::default())
                .unwrap();
            assert_eq!(fs::read(dir.path().join(&name)).unwrap(), b"long");
        }
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn names_fit_by_their_bytes_on_disk() {
        let dir = tempfile::tempdir().unwrap();
        let b = LocalBackend::new(dir.path());
        // Five tabs: 15 bytes as their pictures in Standard form, 5 on disk.
        for (len, fits) in [(250, true), (251, false)] {
            let name = "n".repeat(len) + &"\u{2409}".repeat(5);
            let written = b.write_whole(&format!("d/{name}"), b"x".to_vec(), PutOptions::default());
            assert_eq!(written.is_ok(), fits, "{len}: {written:?}");
            match b.fits(&format!("d/{name}"), EntryKind::File) {
                Ok(()) => assert!(fits),
                Err(too_long) => {
                    assert!(!fits);
                    let limit = Length::Bytes(NAME_MAX);
                    assert_eq!(too_long, TooLong::new(Some(1), 256, limit));
                }
            }
        }
    }

    #[tokio::test]
    async fn writes_through_a_link_below_the_root_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        fs::write(outside.path().join("y"), b"outside").unwrap();
        std::os::unix::fs::symlink(outside.path(), dir.path().join("dir")).unwrap();
        let b = LocalBackend::new(dir.path());
        let link = dir.path().join("dir");
        let refused = format!(
            "refusing to write through the symbolic link {}",
            link.display()
        );
        let err = b
            .write_whole("dir/x", b"x".to_vec(), PutOptions::default())
            .unwrap_err();
        assert_eq!(format!("{err:#}"), refused);
        let err = b
            .put("dir/sub/x", stream(b"x"), PutOptions::default())
            .await
            .unwrap_err();
        assert_eq!(format!("{err:#}"), refused);
        let err = b
            .write_whole("dir/x", b"x".to_vec(), PutOptions::default())
            .unwrap_err();
        assert_eq!(format!("{err:#}"), refused);
        assert_eq!(
            format!("{:#}", b.mkdir("dir/sub").await.unwrap_err()),
            refused
        );
        assert_eq!(format!("{:#}", b.mkdir("dir").await.unwrap_err()), refused);
        assert_eq!(
            format!("{:#}", b.remove("dir/y").await.unwrap_err()),
            refused
        );
        assert!(b.rmdir("dir").await.is_err());
        assert!(link.symlink_metadata().unwrap().file_type().is_symlink());
        let left: Vec<_> = fs::read_dir(outside.path()).unwrap().collect();
        assert_eq!(left.len(), 1);
        assert_eq!(fs::read(outside.path().join("y")).unwrap(), b"outside");
        // Real folders are made one by one, and remembered.
        b.write_whole("a/b/c", b"c".to_vec(), PutOptions::default())
            .unwrap();
        assert_eq!(fs::read(dir.path().join("a/b/c")).unwrap(), b"c");
        // A folder removed after its check is checked (and made) again.
        fs::remove_file(dir.path().join("a/b/c")).unwrap();
        b.rmdir("a/b").await.unwrap();
        b.write_whole("a/b/d", b"d".to_vec(), PutOptions::default())
            .unwrap();
        assert_eq!(fs::read(dir.path().join("a/b/d")).unwrap(), b"d");
    }

    #[tokio::test]
    async fn a_root_below_a_trusted_base_is_checked_too() {
        let base = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        fs::write(outside.path().join("f"), b"outside").unwrap();
        std::os::unix::fs::symlink(outside.path(), base.path().join("docs")).unwrap();
        let b = LocalBackend::below(base.path(), "docs").unwrap();
        let refused = format!(
            "refusing to write through the symbolic link {}",
            base.path().join("docs").display()
        );
        assert_eq!(
            format!("{:#}", b.list("", true).await.unwrap_err()),
            refused
        );
        let err = b
            .write_whole("f", b"new".to_vec(), PutOptions::default())
            .unwrap_err();
        assert_eq!(format!("{err:#}"), refused);
        assert_eq!(fs::read(outside.path().join("f")).unwrap(), b"outside");
        // The same base, a real folder: made on the first write. The base itself may be a link.
        let trusted = base.path().join("trusted");
        std::os::unix::fs::symlink(outside.path(), &trusted).unwrap();
        let b = LocalBackend::below(&trusted, "n1/sub").unwrap();
        assert_eq!(b.list("", true).await.unwrap(), None);
        b.write_whole("g", b"g".to_vec(), PutOptions::default())
            .unwrap();
        assert_eq!(fs::read(outside.path().join("n1/sub/g")).unwrap(), b"g");
        for bad in ["", "..", "a/../b", "/abs", "a//b", "a/./b"] {
            assert!(LocalBackend::below(base.path(), bad).is_err(), "{bad:?}");
        }
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
        let all = b.list("", true).await.unwrap().unwrap().entries;
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
            .entries
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
        let all = b.list("", false).await.unwrap().unwrap().entries;
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

    #[tokio::test(flavor = "multi_thread")]
    async fn rename_moves_into_new_folders_and_never_through_a_link() {
        let dir = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        let b = LocalBackend::new(dir.path());
        assert!(b.features().server_side_move);
        let mtime = SystemTime::UNIX_EPOCH + Duration::new(1_600_000_000, 42);
        let opts = PutOptions {
            size: None,
            mtime: Some(mtime),
        };
        b.write_whole("docs/a", b"version 1".to_vec(), opts)
            .unwrap();
        b.rename("docs/a", "old/2026/docs/a").await.unwrap();
        assert_eq!(b.stat("docs/a").await.unwrap(), None);
        let moved = b.stat("old/2026/docs/a").await.unwrap().unwrap();
        assert_eq!((moved.size, moved.mtime), (9, Some(mtime)));
        // A folder on the way that is a link to elsewhere is refused; the file stays.
        std::os::unix::fs::symlink(outside.path(), dir.path().join("link")).unwrap();
        assert!(b.rename("old/2026/docs/a", "link/a").await.is_err());
        assert!(b.stat("old/2026/docs/a").await.unwrap().is_some());
        assert_eq!(fs::read_dir(outside.path()).unwrap().count(), 0);
        assert!(b.rename("missing", "elsewhere").await.is_err());
    }
}
