//! The storage trait every remote implements, and the entries it lists.
//!
//! A [`Backend`] is rooted at a folder (a local path, a bucket and prefix, or the plain side of
//! a crypt remote) and addresses everything below it with relative `/`-separated paths without
//! leading or trailing `/` (`""` is the root). Local folders are served with std I/O
//! (`remote::local`), object stores through OpenDAL (`remote::opendal`), and the crypt layer
//! (`remote::crypt`) is itself a `Backend` over another one, translating names, sizes and
//! contents. Engines (sync, ls, cat, cryptcheck) only ever see this trait.
//!
//! The trait is narrow: list (entries, and the problems met per entry, as data), stat, ranged
//! read, atomic write, delete, and directories; what a backend can do is declared as data
//! ([`Features`]), never found out by its type. Whole-file reads and writes
//! ([`Backend::read_whole`], [`Backend::write_whole`]) are the one call the engine makes for a
//! small file: each backend takes its fastest way behind it (plain system calls for a local
//! folder, one GET beside one HEAD for an object store, the blocks sealed in line by a crypt
//! remote).

use std::future::Future;
use std::ops::Range;
use std::pin::Pin;
use std::time::{Duration, SystemTime};

use anyhow::Context;
use anyhow::Result;
use async_trait::async_trait;
use tokio::io::{AsyncRead, AsyncReadExt};

/// A stream of bytes read from or written to a backend.
pub type ByteStream = Pin<Box<dyn AsyncRead + Send>>;

/// What an entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    /// A regular file or object.
    File,
    /// A directory (or a common prefix of an object store).
    Dir,
}

/// One listed file or directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Path relative to the backend root, `/`-separated, no leading or trailing `/`.
    pub path: String,
    /// File or directory.
    pub kind: EntryKind,
    /// Size in bytes as the user sees it (plaintext size on a crypt remote); 0 for directories.
    pub size: u64,
    /// Modification time, when the listing carries it. Object stores keep rclone's `mtime`
    /// user metadata, which listings do not return: [`Backend::stat`] reads it.
    pub mtime: Option<SystemTime>,
}

impl Entry {
    /// True for directories.
    pub fn is_dir(&self) -> bool {
        self.kind == EntryKind::Dir
    }

    /// The last path segment.
    pub fn name(&self) -> &str {
        self.path.rsplit('/').next().unwrap_or(&self.path)
    }
}

/// What a listing found: the entries, and the problems met on the way.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Listing {
    /// Files and directories, each once.
    pub entries: Vec<Entry>,
    /// Stored entries that could not be shown, one message each naming the stored name
    /// (a crypt remote's names that do not decrypt, files whose encrypted size is
    /// impossible, two names that decrypt alike). Callers report each and count it as an
    /// error of the run, so that nothing is deleted while a file may be unseen.
    pub problems: Vec<String>,
    /// Folders below the listed one that the local disk refused to read in a recursive
    /// listing (path, why): their contents are unknown. Callers report each as an error of the
    /// run and leave everything below them alone on both sides.
    pub unreadable: Vec<(String, String)>,
}

impl Listing {
    /// The problems, with each unreadable folder as one more: for callers that do not leave
    /// unreadable folders alone themselves, so that nothing is decided on a partial listing.
    pub fn all_problems(&self) -> Vec<String> {
        let mut problems = self.problems.clone();
        problems.extend(
            self.unreadable
                .iter()
                .map(|(path, why)| format!("{path}: cannot read the folder ({why})")),
        );
        problems
    }

    /// A listing without problems.
    pub fn of(entries: Vec<Entry>) -> Listing {
        Listing {
            entries,
            problems: Vec::new(),
            unreadable: Vec::new(),
        }
    }
}

/// What a backend can do, declared as data for the engines that adapt to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Features {
    /// Listings carry modification times (local folders); otherwise a `stat` per file does.
    pub mtime_in_listing: bool,
    /// Smallest modification-time difference the backend keeps.
    pub mtime_precision: Duration,
    /// Directories exist on their own (local folders), rather than as prefixes of objects.
    pub real_dirs: bool,
    /// [`Backend::rename`] moves a file on the storage itself, without its bytes passing
    /// through poof (a rename on a local folder, a server-side copy then delete on an object
    /// store).
    pub server_side_move: bool,
    /// Files can be written and deleted at all (an `http` remote or a past state cannot): a
    /// run into a backend that is not writable is refused before anything is listed.
    pub writable: bool,
    /// Requests cross a network as independent HTTP requests over a pool of connections (S3,
    /// Azure Blob, GCS, WebDAV, HTTP): a small file's copy waits mostly on a round trip, so
    /// more small files are copied at once than large ones ([`crate::sync::execute`]). Not
    /// for SFTP and FTP, where each copy in flight holds a connection of its own and servers
    /// limit connections per user.
    pub small_files_at_once: bool,
    /// The planner walks the tree folder by folder, holding one folder's listing at a time
    /// and listing the next folders ahead ([`crate::sync::plan`]), so memory follows the
    /// largest folder rather than the tree: local folders and servers that list a folder at
    /// a time anyway (SFTP, FTP, WebDAV, HTTP, whose recursive listings are walks of
    /// folders), and object stores (one request per folder, as rclone lists them by default,
    /// many folders at once). Otherwise (a past state, a view of one path, a local folder that
    /// follows links, whose loop detection needs the whole walk) the tree is listed at once.
    pub walk_by_folder: bool,
    /// The longest name of one path segment the storage keeps, as it stores it (a local disk:
    /// 255 bytes). `None`: no limit known.
    pub max_segment: Option<Length>,
    /// The longest whole path the storage keeps, as it stores it, the root's own prefix
    /// included (an S3 key: 1,024 bytes of UTF-8 below the bucket). `None`: no limit known.
    pub max_key: Option<Length>,
}

/// A storage's limit on the length of a name, in the unit the storage counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Length {
    /// Bytes of UTF-8 (or the raw bytes of a disk name).
    Bytes(usize),
    /// Unicode characters.
    Chars(usize),
}

impl Length {
    /// The limit itself, in its unit.
    pub fn max(self) -> usize {
        match self {
            Length::Bytes(max) | Length::Chars(max) => max,
        }
    }

    /// The length of `stored` (a name as the storage stores it) in this unit.
    pub fn of(self, stored: &[u8]) -> usize {
        match self {
            Length::Bytes(_) => stored.len(),
            Length::Chars(_) => String::from_utf8_lossy(stored).chars().count(),
        }
    }

    /// The unit, for messages.
    pub fn unit(self) -> &'static str {
        match self {
            Length::Bytes(_) => "bytes",
            Length::Chars(_) => "characters",
        }
    }
}

impl Features {
    /// Checks a path as this storage stores it against [`Features::max_segment`] and
    /// [`Features::max_key`]: `stored` is the path (`/`-separated, relative to the root) in the
    /// storage's own form, `prefix` what the storage puts before it in a key (the root's
    /// prefix in a bucket, `""` elsewhere). A folder must leave room in the key for a `/`
    /// and a name below it.
    ///
    /// # Errors
    /// The first segment too long, else the whole key too long ([`TooLong`]).
    pub fn check_stored(
        &self,
        prefix: &[u8],
        stored: &[u8],
        kind: EntryKind,
    ) -> Result<(), TooLong> {
        if let Some(limit) = self.max_segment {
            for (index, segment) in stored.split(|&b| b == b'/').enumerate() {
                let length = limit.of(segment);
                if length > limit.max() {
                    return Err(TooLong::new(Some(index), length, limit));
                }
            }
        }
        if let Some(limit) = self.max_key {
            let length = limit.of(prefix) + limit.of(stored);
            // A folder holds nothing unless a `/` and a name of at least one byte fit after it.
            let room = if kind == EntryKind::Dir { 2 } else { 0 };
            if length + room > limit.max() {
                return Err(TooLong::new(None, length, limit));
            }
        }
        Ok(())
    }
}

/// A path whose name, as a storage would store it, is longer than the storage keeps
/// ([`Backend::fits`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TooLong {
    /// The index of the segment too long (`0` for the first of the path), or `None` when the
    /// whole path is (a key limit).
    pub segment: Option<usize>,
    /// Its length as stored, in the limit's unit.
    pub length: usize,
    /// The storage's limit.
    pub limit: Length,
    /// The stored name is encrypted (a crypt remote's): the message says so.
    pub encrypted: bool,
    /// What would let it fit, said after the message: another `filename_encoding` of a
    /// crypt remote.
    pub hint: Option<String>,
}

impl TooLong {
    /// A name of `length` over `limit`, stored as it is named, without hint.
    pub fn new(segment: Option<usize>, length: usize, limit: Length) -> TooLong {
        TooLong {
            segment,
            length,
            limit,
            encrypted: false,
            hint: None,
        }
    }

    /// The one-line report of `path` (the path the caller asked about, as the user names
    /// it): `docs/x: name too long for the destination (encrypted name of 333 bytes, limit
    /// 255)`, the folder named when it is a folder of the path that is too long, and the hint.
    pub fn message(&self, path: &str) -> String {
        let stored = if self.encrypted { "encrypted " } else { "" };
        let (unit, max) = (self.limit.unit(), self.limit.max());
        let segments: Vec<&str> = path.split('/').collect();
        let mut line = match self.segment {
            None => format!(
                "{path}: path too long for the destination ({stored}path of {} {unit}, limit {max})",
                self.length
            ),
            Some(i) if i + 1 < segments.len() => format!(
                "{path}: name too long for the destination (its folder {:?}: {stored}name of {} {unit}, limit {max})",
                segments.get(i).copied().unwrap_or_default(),
                self.length
            ),
            Some(_) => format!(
                "{path}: name too long for the destination ({stored}name of {} {unit}, limit {max})",
                self.length
            ),
        };
        if let Some(hint) = &self.hint {
            line.push_str("; ");
            line.push_str(hint);
        }
        line
    }
}

/// A small file read whole: its bytes and its modification time.
#[derive(Debug)]
pub struct Whole {
    /// The contents, as the user sees them (plaintext on a crypt remote).
    pub data: Vec<u8>,
    /// The modification time: the listed one, or read beside the contents when the listing
    /// carried none (see [`Features::mtime_in_listing`]).
    pub mtime: Option<SystemTime>,
}

/// Options of one [`Backend::put`].
#[derive(Debug, Clone, Copy, Default)]
pub struct PutOptions {
    /// Exact size of the stream, when known (lets object stores pick single or multipart).
    pub size: Option<u64>,
    /// Modification time to record (file mtime, or rclone's `mtime` metadata).
    pub mtime: Option<SystemTime>,
}

/// Runs `future` to its end on the calling thread, for the blocking calls of the trait
/// ([`Backend::read_whole`], [`Backend::write_whole`]) of backends whose I/O is async. The
/// thread must be inside a multi-thread runtime's context: a thread of the engine's own (which
/// enters the runtime), or a runtime worker (which lends its place to another thread meanwhile).
pub fn block_on<F: Future>(future: F) -> F::Output {
    tokio::task::block_in_place(|| tokio::runtime::Handle::current().block_on(future))
}

/// A storage location addressed by relative paths.
///
/// # Contract
/// - `put` and `write_whole` are atomic for readers: an object or file appears under its real
///   path only once it is complete; a failed or cancelled write leaves nothing under the real
///   path (a temporary name that is cleaned up, an aborted multipart upload) and never
///   truncates an older version.
/// - `list` of a missing directory returns `Ok(None)`, so that callers can tell "empty" from
///   "absent" (an absent source must never wipe a destination).
/// - Errors name the path and say what failed, in one line.
#[async_trait]
pub trait Backend: Send + Sync {
    /// A short description for messages, e.g. `s3:bucket/dir` or `/home/me/docs`.
    fn describe(&self) -> String;

    /// What this backend can do.
    fn features(&self) -> Features;

    /// Lists `dir` (`""` for the root), recursively or one level. `Ok(None)` when `dir` does not
    /// exist.
    async fn list(&self, dir: &str, recursive: bool) -> Result<Option<Listing>>;

    /// One entry with its modification time, or `None` when nothing is there.
    async fn stat(&self, path: &str) -> Result<Option<Entry>>;

    /// Reads a file, whole or a byte range of it.
    async fn open(&self, path: &str, range: Option<Range<u64>>) -> Result<ByteStream>;

    /// Writes a file from a stream (atomically, see the trait docs) and returns the bytes
    /// written.
    async fn put(&self, path: &str, data: ByteStream, opts: PutOptions) -> Result<u64>;

    /// Reads a small listed file whole, with its modification time, on the calling thread
    /// (it blocks: call it from a thread of its own or through [`block_on`]'s rules). For
    /// small files, where a stream's machinery costs more than the bytes.
    ///
    /// # Errors
    /// As [`Backend::open`] and [`Backend::stat`].
    fn read_whole(&self, file: &Entry) -> Result<Whole> {
        block_on(async {
            let mtime = match file.mtime {
                Some(mtime) => Some(mtime),
                None => self.stat(&file.path).await?.and_then(|found| found.mtime),
            };
            let mut data = Vec::with_capacity(usize::try_from(file.size).unwrap_or(0));
            self.open(&file.path, None)
                .await?
                .read_to_end(&mut data)
                .await
                .with_context(|| format!("cannot read {}: {}", self.describe(), file.path))?;
            Ok(Whole { data, mtime })
        })
    }

    /// Writes a whole file held in memory, atomically as [`Backend::put`], on the calling
    /// thread (as [`Backend::read_whole`]), and returns the bytes written. `opts.size` is
    /// ignored: the size is the length of `data`.
    fn write_whole(&self, path: &str, data: Vec<u8>, opts: PutOptions) -> Result<u64> {
        let opts = PutOptions {
            size: Some(data.len() as u64),
            ..opts
        };
        block_on(self.put(path, Box::pin(std::io::Cursor::new(data)), opts))
    }

    /// Deletes a file.
    async fn remove(&self, path: &str) -> Result<()>;

    /// Creates a directory and its parents (nothing to do on object stores).
    async fn mkdir(&self, path: &str) -> Result<()>;

    /// Removes an empty directory (nothing to do on object stores).
    async fn rmdir(&self, path: &str) -> Result<()>;

    /// Moves the file `from` to `to` on the storage itself (see
    /// [`Features::server_side_move`]), making the folders of `to` as needed; a file already
    /// at `to` is replaced. Atomic for readers where the storage allows (a local rename).
    ///
    /// # Errors
    /// The backend cannot move files on its own (the default), `from` does not exist, or the
    /// move fails; nothing is lost then: `from` stays where it was.
    async fn rename(&self, from: &str, to: &str) -> Result<()> {
        anyhow::bail!(
            "{}: cannot move {from} to {to}: this storage cannot move files on its own",
            self.describe()
        )
    }

    /// Whether a file or folder can be written at `path` as far as the length of its name
    /// goes: a name that would be cut or refused by the storage is found before anything is
    /// sent. The default measures `path` as it is against [`Features::max_segment`] and
    /// [`Features::max_key`]; a backend that stores names in another form (a disk's bytes, a
    /// bucket's keys below a prefix, a crypt remote's encrypted names) measures that form.
    ///
    /// # Errors
    /// The part of the path that is too long, as [`TooLong`].
    fn fits(&self, path: &str, kind: EntryKind) -> Result<(), TooLong> {
        self.features().check_stored(b"", path.as_bytes(), kind)
    }

    /// Housekeeping after a run that had no error: removes what interrupted writes left
    /// behind and listings came across (a killed run's temporary files in a local folder,
    /// when no running write holds them), and returns how many. Nothing by default.
    async fn cleanup(&self) -> Result<usize> {
        Ok(0)
    }
}
