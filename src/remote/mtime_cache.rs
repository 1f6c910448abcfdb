//! A local cache of the modification times poof has read or written on an object store whose
//! listings carry none (S3: rclone keeps the time in the object's metadata, which only a HEAD
//! request returns).
//!
//! Without it, a re-sync that changes nothing pays one HEAD per object of equal size on both
//! sides, `checkers` at a time: against a store 20 ms away, 2,000 files cost 5 s, 100,000 files
//! over four minutes. With it, a listing alone answers for every object the cache knows.
//!
//! An entry is trusted only while the listing agrees with it: the object's key, its size, its
//! ETag (an MD5 of the bytes, or of the parts' MD5s) and its `Last-Modified`, as the listing
//! gave them in the run whose HEAD request read the time (and only when the HEAD saw the same
//! ETag: some servers date an object differently in a listing and in a HEAD answer, so the
//! listing's date is the one kept). An object replaced or touched by any tool (rclone sets a
//! new time by copying the object onto itself, which keeps the ETag) gets a new
//! `Last-Modified`, so its entry no longer matches and poof reads the object's metadata again,
//! as without a cache. Objects poof uploads are remembered at the first run that lists them
//! and reads their metadata, not at the upload, whose date is the store's.
//!
//! The cache is safe to lose: one file per store location under `$XDG_CACHE_HOME/poof` (else
//! `~/.cache/poof`), written whole to a temporary name and renamed, readable by its owner only;
//! a missing, unreadable or broken file is an empty cache. It is written when its last user
//! drops it, if anything changed, and holds at most [`MAX_ENTRIES`] entries. Entries of
//! objects a listing of the run shows gone are dropped then: below a prefix listed whole, those
//! it did not show; in a folder listed one level, those it did not show and those in a
//! subfolder it no longer holds.

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

/// Entries kept at most (about 150 MB of memory at the limit): beyond it, new ones are not
/// added and those objects are read with HEAD requests, as without a cache.
pub const MAX_ENTRIES: usize = 2_000_000;

/// The first line of a cache file; a file starting otherwise is ignored.
const HEADER: &str = "poof mtime cache 1";

/// What poof knows of one object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Known {
    size: u64,
    etag: String,
    /// `Last-Modified` in seconds since the epoch.
    modified: i64,
    /// The modification time rclone's metadata holds, in nanoseconds since the epoch.
    mtime: i128,
    /// Listed (or read) in this run.
    #[serde(skip)]
    seen: bool,
}

/// One line of a cache file: the key, then what is known of its object.
#[derive(Serialize, Deserialize)]
struct Line(String, Known);

/// How a listing showed an object the cache had no answer for: its size, ETag and
/// `Last-Modified` (seconds).
type Listed = (u64, String, i64);

/// The cache of one store location (see the module docs).
#[derive(Debug)]
pub struct MtimeCache {
    file: PathBuf,
    known: Mutex<HashMap<String, Known>>,
    /// Objects listed in this run without an answer, which a HEAD request may then date.
    listed: Mutex<HashMap<String, Listed>>,
    /// Key prefixes listed whole (recursively, to the end) in this run.
    complete: Mutex<Vec<String>>,
    /// Folders listed one level in this run: each key prefix and the names of the folders
    /// its listing showed.
    folders: Mutex<HashMap<String, HashSet<String>>>,
    changed: AtomicBool,
}

impl MtimeCache {
    /// The cache of the store location named `identity` (its endpoint, bucket and prefix), read
    /// from its file if there is one; `None` when no cache folder can be found (no HOME).
    pub fn open(identity: &str) -> Option<MtimeCache> {
        let dir = cache_dir()?;
        let digest = <md5::Md5 as md5::Digest>::digest(identity.as_bytes());
        let name: String = digest.iter().map(|b| format!("{b:02x}")).collect();
        Some(MtimeCache::at(dir.join(format!("mtimes-{name}.jsonl"))))
    }

    /// The cache kept in `file`.
    pub fn at(file: PathBuf) -> MtimeCache {
        let known = read(&file).unwrap_or_default();
        MtimeCache {
            file,
            known: Mutex::new(known),
            listed: Mutex::new(HashMap::new()),
            complete: Mutex::new(Vec::new()),
            folders: Mutex::new(HashMap::new()),
            changed: AtomicBool::new(false),
        }
    }

    /// The modification time of the object at `key` as listed (`size`, `etag`, `modified`),
    /// when the cache has an entry that agrees with all three. Without one, the listing is
    /// kept for [`MtimeCache::record`].
    pub fn lookup(
        &self,
        key: &str,
        size: u64,
        etag: Option<&str>,
        modified: Option<SystemTime>,
    ) -> Option<SystemTime> {
        let etag = etag.map(bare_etag).filter(|e| !e.is_empty())?;
        let modified = modified.and_then(seconds)?;
        let found = self.known.lock().ok().and_then(|mut known| {
            let entry = known.get_mut(key)?;
            entry.seen = true;
            let agrees = entry.size == size && entry.etag == etag && entry.modified == modified;
            agrees.then(|| from_nanos(entry.mtime)).flatten()
        });
        if found.is_none() {
            if let Ok(mut listed) = self.listed.lock() {
                listed.insert(key.to_owned(), (size, etag.to_owned(), modified));
            }
        }
        found
    }

    /// Remembers that the object at `key`, which a HEAD request found with `size` and `etag`,
    /// has the modification time `mtime`, dated as this run's listing showed it. An object
    /// the listing did not show, or showed with another size or ETag, is not remembered.
    pub fn record(&self, key: &str, size: u64, etag: Option<&str>, mtime: SystemTime) {
        let (Some(etag), Some(mtime)) = (etag.map(bare_etag), nanos(mtime)) else {
            return;
        };
        let Some((listed_size, listed_etag, modified)) =
            self.listed.lock().ok().and_then(|mut l| l.remove(key))
        else {
            return;
        };
        if listed_size != size || listed_etag != etag {
            return;
        }
        let entry = Known {
            size,
            etag: listed_etag,
            modified,
            mtime,
            seen: true,
        };
        let Ok(mut known) = self.known.lock() else {
            return;
        };
        if known.len() >= MAX_ENTRIES && !known.contains_key(key) {
            return;
        }
        if known.get(key) != Some(&entry) {
            known.insert(key.to_owned(), entry);
            self.changed.store(true, Ordering::Relaxed);
        }
    }

    /// Forgets the object at `key` (deleted or moved away).
    pub fn forget(&self, key: &str) {
        if let Ok(mut known) = self.known.lock() {
            if known.remove(key).is_some() {
                self.changed.store(true, Ordering::Relaxed);
            }
        }
    }

    /// Notes that every object below the key `prefix` (`""` for all) has just been listed, so
    /// that entries of objects the listing did not show go when the cache is saved.
    pub fn listed_whole(&self, prefix: &str) {
        if let Ok(mut complete) = self.complete.lock() {
            complete.push(prefix.to_owned());
        }
    }

    /// Notes that the objects directly in the folder at the key `prefix` (`""` for the root)
    /// have just been listed, beside its folders `subfolders` (their names): entries of
    /// objects in that folder the listing did not show, or in a folder it no longer holds, go
    /// when the cache is saved.
    pub fn listed_folder(&self, prefix: &str, subfolders: Vec<String>) {
        if let Ok(mut folders) = self.folders.lock() {
            folders
                .entry(prefix.to_owned())
                .or_default()
                .extend(subfolders);
        }
    }

    /// Writes the cache file if anything changed since it was read.
    ///
    /// # Errors
    /// The folder or the file cannot be written.
    pub fn save(&self) -> std::io::Result<()> {
        let (Ok(mut known), Ok(complete), Ok(folders)) =
            (self.known.lock(), self.complete.lock(), self.folders.lock())
        else {
            return Ok(());
        };
        let before = known.len();
        known.retain(|key, entry| {
            entry.seen
                || !(complete
                    .iter()
                    .any(|prefix| key.starts_with(prefix.as_str()))
                    || gone_from_folder(&folders, key))
        });
        let pruned = known.len() != before;
        if !self.changed.swap(false, Ordering::Relaxed) && !pruned {
            return Ok(());
        }
        write(&self.file, &known)
    }
}

impl Drop for MtimeCache {
    fn drop(&mut self) {
        // Safe to lose: a cache that cannot be written costs the next run its HEAD requests.
        let _ = self.save();
    }
}

/// Whether a folder listed one level in this run shows that the object at `key` is gone:
/// the folder holds the key's name and it was not listed, or holds the folder on its way and
/// that folder was not listed.
fn gone_from_folder(folders: &HashMap<String, HashSet<String>>, key: &str) -> bool {
    let ends = std::iter::once(0).chain(key.match_indices('/').map(|(i, _)| i + 1));
    ends.filter_map(|end| Some((key.get(..end)?, key.get(end..)?)))
        .any(|(prefix, rest)| {
            let Some(subfolders) = folders.get(prefix) else {
                return false;
            };
            match rest.split_once('/') {
                None => true,
                Some((folder, _)) => !subfolders.contains(folder),
            }
        })
}

/// An ETag without its quotes and weak mark (listings and HEAD answers differ in these).
fn bare_etag(etag: &str) -> &str {
    etag.trim_start_matches("W/").trim_matches('"')
}

/// `$XDG_CACHE_HOME/poof`, else `~/.cache/poof`.
pub(crate) fn cache_dir() -> Option<PathBuf> {
    let absolute = |name: &str| {
        std::env::var_os(name)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .filter(|p| p.is_absolute())
    };
    absolute("XDG_CACHE_HOME")
        .or_else(|| absolute("HOME").map(|h| h.join(".cache")))
        .map(|d| d.join("poof"))
}

/// Makes `dir` and its parents, new ones readable by their owner only (the cache folder).
pub(crate) fn private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

/// The entries of a cache file; `None` when it is missing, unreadable or broken.
fn read(file: &Path) -> Option<HashMap<String, Known>> {
    let f = std::fs::File::open(file).ok()?;
    let mut lines = std::io::BufReader::new(f).lines();
    if lines.next()?.ok()? != HEADER {
        return None;
    }
    let mut known = HashMap::new();
    for line in lines {
        let Line(key, entry) = serde_json::from_str(&line.ok()?).ok()?;
        if known.len() < MAX_ENTRIES {
            known.insert(key, entry);
        }
    }
    Some(known)
}

/// Writes `known` to `file` through a temporary name, readable by its owner only.
fn write(file: &Path, known: &HashMap<String, Known>) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    private_dir(file.parent().unwrap_or(Path::new(".")))?;
    let temp = file.with_extension(format!("tmp-{}", std::process::id()));
    let result = (|| {
        let f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&temp)?;
        let mut out = std::io::BufWriter::new(f);
        writeln!(out, "{HEADER}")?;
        for (key, entry) in known {
            let line = serde_json::to_string(&Line(key.clone(), entry.clone()))
                .map_err(std::io::Error::other)?;
            writeln!(out, "{line}")?;
        }
        out.into_inner().map_err(|e| e.into_error())?.sync_all()?;
        std::fs::rename(&temp, file)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    result
}

/// Whole seconds since the epoch (negative before it).
fn seconds(t: SystemTime) -> Option<i64> {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_secs()).ok(),
        Err(e) => i64::try_from(e.duration().as_secs()).ok().map(|s| -s),
    }
}

/// Nanoseconds since the epoch (negative before it).
fn nanos(t: SystemTime) -> Option<i128> {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => Some(i128::try_from(d.as_nanos()).ok()?),
        Err(e) => Some(-i128::try_from(e.duration().as_nanos()).ok()?),
    }
}

/// The time `n` nanoseconds from the epoch.
fn from_nanos(n: i128) -> Option<SystemTime> {
    let d = Duration::from_nanos(u64::try_from(n.unsigned_abs()).ok()?);
    if n >= 0 {
        UNIX_EPOCH.checked_add(d)
    } else {
        UNIX_EPOCH.checked_sub(d)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(secs: u64, ns: u32) -> SystemTime {
        UNIX_EPOCH + Duration::new(secs, ns)
    }

    #[test]
    fn an_entry_answers_only_while_the_listing_agrees() {
        let dir = tempfile::tempdir().unwrap();
        let cache = MtimeCache::at(dir.path().join("c.jsonl"));
        let listed = Some(t(1_800_000_000, 500_000_000));
        let mtime = t(1_650_000_000, 123_456_789);
        // Listed without an answer, then dated by a HEAD that saw the same object (its ETag
        // quoted, as HEAD answers give it).
        assert_eq!(cache.lookup("k", 10, Some("e1"), listed), None);
        cache.record("k", 10, Some("\"e1\""), mtime);
        assert_eq!(cache.lookup("k", 10, Some("e1"), listed), Some(mtime));
        assert_eq!(
            cache.lookup("k", 10, Some("\"e1\""), Some(t(1_800_000_000, 0))),
            Some(mtime)
        );
        // Another size, ETag or Last-Modified: the object changed.
        assert_eq!(cache.lookup("k", 11, Some("e1"), listed), None);
        assert_eq!(cache.lookup("k", 10, Some("e2"), listed), None);
        assert_eq!(
            cache.lookup("k", 10, Some("e1"), Some(t(1_800_000_001, 0))),
            None
        );
        assert_eq!(cache.lookup("k", 10, None, listed), None);
        assert_eq!(cache.lookup("k", 10, Some("e1"), None), None);
        assert_eq!(cache.lookup("other", 10, Some("e1"), listed), None);
        // A HEAD that saw another object than the listing, or an object never listed: nothing
        // remembered.
        assert_eq!(cache.lookup("moved", 5, Some("e3"), listed), None);
        cache.record("moved", 5, Some("e4"), mtime);
        cache.record("unlisted", 5, Some("e5"), mtime);
        assert_eq!(cache.lookup("moved", 5, Some("e3"), listed), None);
        assert_eq!(cache.lookup("moved", 5, Some("e4"), listed), None);
        assert_eq!(cache.lookup("unlisted", 5, Some("e5"), listed), None);
        let known = cache.known.lock().unwrap().len();
        assert_eq!(known, 1);
        cache.forget("k");
        assert_eq!(cache.lookup("k", 10, Some("e1"), listed), None);
    }

    #[test]
    fn entries_a_whole_listing_did_not_show_go_when_saved() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("c.jsonl");
        let listed = Some(t(1_800_000_000, 0));
        let mtime = t(1_650_000_000, 0);
        let remember = |cache: &MtimeCache, key: &str| {
            assert_eq!(cache.lookup(key, 1, Some("e"), listed), None);
            cache.record(key, 1, Some("e"), mtime);
        };
        {
            let cache = MtimeCache::at(file.clone());
            for key in ["a/1", "a/2", "b/1"] {
                remember(&cache, key);
            }
        }
        {
            // The next run lists `a/` whole and sees only `a/1`: `a/2` is gone, `b/1` unknown.
            let cache = MtimeCache::at(file.clone());
            assert_eq!(cache.lookup("a/1", 1, Some("e"), listed), Some(mtime));
            cache.listed_whole("a/");
        }
        let cache = MtimeCache::at(file.clone());
        let mut keys: Vec<String> = cache.known.lock().unwrap().keys().cloned().collect();
        keys.sort();
        assert_eq!(keys, ["a/1", "b/1"]);
    }

    #[test]
    fn entries_a_listing_by_folder_shows_gone_go_when_saved() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("c.jsonl");
        let listed = Some(t(1_800_000_000, 0));
        let mtime = t(1_650_000_000, 0);
        let keys = [
            "top", "gone", "a/1", "a/2", "a/b/1", "a/c/1", "a/c/d/1", "x/1",
        ];
        {
            let cache = MtimeCache::at(file.clone());
            for key in keys {
                assert_eq!(cache.lookup(key, 1, Some("e"), listed), None);
                cache.record(key, 1, Some("e"), mtime);
            }
        }
        {
            // The next run lists the root (`top`, folders `a` and `x`) and `a/` (`a/1`, folder
            // `b`), not `a/b/` nor `x/`: `gone` and `a/2` are gone, and so is all of `a/c/`
            // (`a/` no longer holds it); the rest was not looked at.
            let cache = MtimeCache::at(file.clone());
            for key in ["top", "a/1"] {
                assert_eq!(cache.lookup(key, 1, Some("e"), listed), Some(mtime));
            }
            cache.listed_folder("", vec!["a".into(), "x".into()]);
            cache.listed_folder("a/", vec!["b".into()]);
        }
        let cache = MtimeCache::at(file.clone());
        let mut kept: Vec<String> = cache.known.lock().unwrap().keys().cloned().collect();
        kept.sort();
        assert_eq!(kept, ["a/1", "a/b/1", "top", "x/1"]);
    }

    #[test]
    fn the_file_is_written_when_changed_read_back_and_ignored_when_broken() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("sub").join("c.jsonl");
        let before_epoch = UNIX_EPOCH - Duration::new(5, 7);
        {
            let cache = MtimeCache::at(file.clone());
            assert_eq!(cache.lookup("a\tb\nc", 1, Some("e"), Some(t(7, 0))), None);
            cache.record("a\tb\nc", 1, Some("e"), before_epoch);
        }
        let mode = std::fs::metadata(&file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let cache = MtimeCache::at(file.clone());
        assert_eq!(
            cache.lookup("a\tb\nc", 1, Some("e"), Some(t(7, 0))),
            Some(before_epoch)
        );
        drop(cache);
        let text = std::fs::read_to_string(&file).unwrap();
        std::fs::write(&file, text.replace("\"e\"", "\"e\"oops")).unwrap();
        let cache = MtimeCache::at(file.clone());
        assert_eq!(cache.lookup("a\tb\nc", 1, Some("e"), Some(t(7, 0))), None);
        std::fs::write(&file, "something else\n").unwrap();
        assert_eq!(
            MtimeCache::at(file).lookup("a\tb\nc", 1, Some("e"), Some(t(7, 0))),
            None
        );
    }
}
