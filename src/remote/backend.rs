//! The storage trait every remote implements, and the entries it lists.
//!
//! A [`Backend`] is rooted at a folder (a local path, a bucket and prefix, or the plain side of
//! a crypt remote) and addresses everything below it with relative `/`-separated paths without
//! leading or trailing `/` (`""` is the root). Local folders are served with std I/O
//! (`remote::local`), object stores through OpenDAL (`remote::opendal`), and the crypt layer
//! (`remote::crypt`) is itself a `Backend` over another one, translating names, sizes and
//! contents. Engines (sync, ls, cat, cryptcheck) only ever see this trait.

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

/// What a backend can do, for engines that adapt to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Features {
    /// Listings carry modification times (local folders); otherwise a `stat` per file does.
    pub mtime_in_listing: bool,
    /// Smallest modification-time difference the backend keeps.
    pub mtime_precision: Duration,
    /// Directories exist on their own (local folders), rather than as prefixes of objects.
    pub real_dirs: bool,
}

/// Options of one [`Backend::put`].
#[derive(Debug, Clone, Copy, Default)]
pub struct PutOptions {
    /// Exact size of the stream, when known (lets object stores pick single or multipart).
    pub size: Option<u64>,
    /// Modification time to record (file mtime, or rclone's `mtime` metadata).
    pub mtime: Option<SystemTime>,
}

/// A storage location addressed by relative paths.
///
/// # Contract
/// - `put` is atomic for readers: an object or file appears under its real path only once it is
///   complete; a failed or cancelled `put` leaves nothing under the real path (a temporary name
///   that is cleaned up, an aborted multipart upload) and never truncates an older version.
/// - `list` of a missing directory returns `Ok(None)`, so that callers can tell "empty" from
///   "absent" (an absent source must never wipe a destination).
/// - Errors name the path and say what failed, in one line.
#[async_trait]
pub trait Backend: Send + Sync {
    /// A short description for messages, e.g. `s3:bucket/dir` or `/home/me/docs`.
    fn describe(&self) -> String;

    /// What this backend can do.
    fn features(&self) -> Features;

    /// Takes the names that listings since the last call could not decrypt (crypt remotes, and
    /// backends wrapping them); the caller reports each and counts them as errors of the run.
    /// Backends that never fail to decode a name return nothing.
    fn take_undecryptable(&self) -> Vec<String> {
        Vec::new()
    }

    /// Lists `dir` (`""` for the root), recursively or one level. `Ok(None)` when `dir` does not
    /// exist.
    async fn list(&self, dir: &str, recursive: bool) -> Result<Option<Vec<Entry>>>;

    /// One entry with its modification time, or `None` when nothing is there.
    async fn stat(&self, path: &str) -> Result<Option<Entry>>;

    /// Reads a file, whole or a byte range of it.
    async fn open(&self, path: &str, range: Option<Range<u64>>) -> Result<ByteStream>;

    /// Writes a file from a stream (atomically, see the trait docs) and returns the bytes
    /// written.
    async fn put(&self, path: &str, data: ByteStream, opts: PutOptions) -> Result<u64>;

    /// Reads a whole file into memory; `size` is its listed size (a capacity hint). For
    /// small files, where a stream's machinery costs more than the bytes: backends answer
    /// with one request (one trip to the blocking pool for local folders, one GET for object
    /// stores, the blocks opened in line by a crypt remote).
    async fn get(&self, path: &str, size: u64) -> Result<Vec<u8>> {
        let mut out = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
        self.open(path, None)
            .await?
            .read_to_end(&mut out)
            .await
            .with_context(|| format!("cannot read {}: {path}", self.describe()))?;
        Ok(out)
    }

    /// Writes a whole file held in memory, atomically as [`Backend::put`] (whose contract
    /// applies), and returns the bytes written. `opts.size` is ignored: the size is the
    /// length of `data`.
    async fn put_bytes(&self, path: &str, data: Vec<u8>, opts: PutOptions) -> Result<u64> {
        let opts = PutOptions {
            size: Some(data.len() as u64),
            ..opts
        };
        self.put(path, Box::pin(std::io::Cursor::new(data)), opts)
            .await
    }

    /// The same whole-file reads and writes as [`Backend::get`] and [`Backend::put_bytes`],
    /// done on the calling thread, when this backend's I/O is plain system calls (a local
    /// folder, a crypt remote over one): engines copying many small files between two such
    /// backends run them on their own threads, without a trip to the blocking pool per file.
    fn blocking_io(&self) -> Option<&dyn BlockingIo> {
        None
    }

    /// Removes the temporary files of interrupted writes (a killed run's `.partial` files
    /// in a local folder) that listings since the last call came across and that no running
    /// write holds, and returns how many. Backends without such files remove nothing.
    async fn remove_stale_temps(&self) -> Result<usize> {
        Ok(0)
    }

    /// Deletes a file.
    async fn remove(&self, path: &str) -> Result<()>;

    /// Creates a directory and its parents (nothing to do on object stores).
    async fn mkdir(&self, path: &str) -> Result<()>;

    /// Removes an empty directory (nothing to do on object stores).
    async fn rmdir(&self, path: &str) -> Result<()>;
}

/// Whole-file I/O on the calling thread (see [`Backend::blocking_io`]): the same paths,
/// results and contract as the async [`Backend::get`] and [`Backend::put_bytes`]. The calls
/// block, so they belong on threads of their own, never on the async runtime's workers.
pub trait BlockingIo: Send + Sync {
    /// [`Backend::get`] on the calling thread.
    fn read_whole(&self, path: &str, size: u64) -> Result<Vec<u8>>;

    /// [`Backend::put_bytes`] on the calling thread.
    fn write_whole(&self, path: &str, data: Vec<u8>, opts: PutOptions) -> Result<u64>;
}
