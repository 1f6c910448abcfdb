//! A past state of one cloud folder as a read-only [`Backend`]: the files of
//! [`super::state::History::state`], each read from where that version lies now (the cloud
//! folder, or a run folder of the history), under its path in the folder.
//!
//! `poof download --at` restores from a [`Snapshot`] with the same sync and the same guards as
//! a restore of the current files. Every write is refused: a past state is never changed.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;
use std::sync::Arc;

use anyhow::{bail, Result};
use async_trait::async_trait;

use crate::remote::backend::{
    Backend, ByteStream, Entry, EntryKind, Features, Listing, PutOptions, Whole,
};

/// See the module docs.
pub struct Snapshot {
    root: Arc<dyn Backend>,
    /// Path in the folder -> the stored version (its path below the root).
    files: BTreeMap<String, Entry>,
    /// The folders the files imply.
    dirs: BTreeSet<String>,
    name: String,
}

impl Snapshot {
    /// The state `files` (from [`super::state::History::state`]) read through `root`; `name`
    /// says which folder and state in messages (`poof-crypt:docs at 2026-11-29T060000Z`).
    pub fn new(root: Arc<dyn Backend>, files: BTreeMap<String, Entry>, name: String) -> Snapshot {
        let mut dirs = BTreeSet::new();
        for path in files.keys() {
            let mut cur = path.as_str();
            while let Some((parent, _)) = cur.rsplit_once('/') {
                if !dirs.insert(parent.to_owned()) {
                    break;
                }
                cur = parent;
            }
        }
        Snapshot {
            root,
            files,
            dirs,
            name,
        }
    }

    /// The stored version of `path`.
    fn stored(&self, path: &str) -> Result<&Entry> {
        match self.files.get(path) {
            Some(entry) => Ok(entry),
            None => bail!("{}: {path}: no such file in this state", self.name),
        }
    }

    /// An entry under its path in the folder.
    fn shown(path: &str, stored: &Entry) -> Entry {
        Entry {
            path: path.to_owned(),
            ..stored.clone()
        }
    }

    fn refuse(&self) -> Result<()> {
        bail!("{}: a past state is read only", self.name)
    }
}

/// `path` is `dir` itself or below it, as the listing of `dir` shows it.
fn listed_in(path: &str, dir: &str, recursive: bool) -> bool {
    let rest = if dir.is_empty() {
        Some(path)
    } else {
        path.strip_prefix(dir).and_then(|r| r.strip_prefix('/'))
    };
    rest.is_some_and(|rest| !rest.is_empty() && (recursive || !rest.contains('/')))
}

#[async_trait]
impl Backend for Snapshot {
    fn describe(&self) -> String {
        self.name.clone()
    }

    fn features(&self) -> Features {
        Features {
            server_side_move: false,
            writable: false,
            // Every listing looks at the whole state, held in memory anyway.
            walk_by_folder: false,
            ..self.root.features()
        }
    }

    async fn list(&self, dir: &str, recursive: bool) -> Result<Option<Listing>> {
        if !dir.is_empty() && !self.dirs.contains(dir) {
            return Ok(None);
        }
        let dirs = self
            .dirs
            .iter()
            .filter(|d| listed_in(d, dir, recursive))
            .map(|d| Entry {
                path: d.clone(),
                kind: EntryKind::Dir,
                size: 0,
                mtime: None,
            });
        let files = self
            .files
            .iter()
            .filter(|(path, _)| listed_in(path, dir, recursive))
            .map(|(path, stored)| Snapshot::shown(path, stored));
        Ok(Some(Listing::of(dirs.chain(files).collect())))
    }

    async fn stat(&self, path: &str) -> Result<Option<Entry>> {
        if self.dirs.contains(path) {
            return Ok(Some(Entry {
                path: path.to_owned(),
                kind: EntryKind::Dir,
                size: 0,
                mtime: None,
            }));
        }
        let Some(stored) = self.files.get(path) else {
            return Ok(None);
        };
        let found = self.root.stat(&stored.path).await?;
        Ok(found.map(|found| Snapshot::shown(path, &found)))
    }

    async fn open(&self, path: &str, range: Option<Range<u64>>) -> Result<ByteStream> {
        let stored = self.stored(path)?;
        self.root.open(&stored.path, range).await
    }

    fn read_whole(&self, file: &Entry) -> Result<Whole> {
        let stored = self.stored(&file.path)?;
        // The listed modification time (when the listing had it) goes along, as for any file.
        let entry = Entry {
            path: stored.path.clone(),
            ..file.clone()
        };
        self.root.read_whole(&entry)
    }

    async fn put(&self, _: &str, _: ByteStream, _: PutOptions) -> Result<u64> {
        self.refuse().map(|()| 0)
    }

    fn write_whole(&self, _: &str, _: Vec<u8>, _: PutOptions) -> Result<u64> {
        self.refuse().map(|()| 0)
    }

    async fn remove(&self, _: &str) -> Result<()> {
        self.refuse()
    }

    async fn mkdir(&self, _: &str) -> Result<()> {
        self.refuse()
    }

    async fn rmdir(&self, _: &str) -> Result<()> {
        self.refuse()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sync::testing::{at, MemBackend};

    fn stored(path: &str, size: u64) -> Entry {
        Entry {
            path: path.to_owned(),
            kind: EntryKind::File,
            size,
            mtime: Some(at(7)),
        }
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn a_state_lists_and_reads_each_version_under_its_path_and_refuses_writes() {
        let root = Arc::new(MemBackend::local().file("docs/a", b"now", at(9)).file(
            "poof-history/2026-11-01T060000Z/docs/sub/b",
            b"then",
            at(7),
        ));
        let files = BTreeMap::from([
            ("a".to_owned(), stored("docs/a", 3)),
            (
                "sub/b".to_owned(),
                stored("poof-history/2026-11-01T060000Z/docs/sub/b", 4),
            ),
        ]);
        let snap = Snapshot::new(root, files, "mem:docs at 2026-11-01T060000Z".into());
        let listed = snap.list("", true).await.unwrap().unwrap();
        let paths: Vec<(&str, bool)> = listed
            .entries
            .iter()
            .map(|e| (e.path.as_str(), e.is_dir()))
            .collect();
        assert_eq!(paths, [("sub", true), ("a", false), ("sub/b", false)]);
        let one_level = snap.list("", false).await.unwrap().unwrap();
        assert_eq!(one_level.entries.len(), 2);
        assert!(snap.list("missing", true).await.unwrap().is_none());
        let b = &listed.entries[2];
        assert_eq!(snap.read_whole(b).unwrap().data, b"then");
        let mut read = Vec::new();
        let mut stream = snap.open("a", None).await.unwrap();
        tokio::io::AsyncReadExt::read_to_end(&mut stream, &mut read)
            .await
            .unwrap();
        assert_eq!(read, b"now");
        let stat = snap.stat("sub/b").await.unwrap().unwrap();
        assert_eq!((stat.path.as_str(), stat.size), ("sub/b", 4));
        assert!(snap.stat("nope").await.unwrap().is_none());
        let err = snap.remove("a").await.unwrap_err().to_string();
        assert!(err.contains("read only"), "{err}");
        assert!(snap
            .write_whole("a", Vec::new(), PutOptions::default())
            .is_err());
        assert!(snap.open("nope", None).await.is_err());
    }
}
