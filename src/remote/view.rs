//! A backend seen through a rule on names: everything but one path ([`View::hiding`]: poof's
//! run lock in the config folder while that folder is backed up or restored), one file only
//! ([`View::only`]: `poof sync FILE DEST` copies that file and neither sees nor deletes
//! anything else in DEST), or one file or folder and what is below it ([`View::below`]:
//! `poof download PATH` restores that path and touches nothing else).
//!
//! Every call goes to the backend below, after the rule: a hidden path is never listed, and
//! reading, writing or deleting it is an error naming it.

use std::ops::Range;
use std::sync::Arc;

use anyhow::{bail, Result};
use async_trait::async_trait;

use super::backend::{
    Backend, ByteStream, Entry, EntryKind, Features, Listing, PutOptions, TooLong, Whole,
};

/// What a [`View`] lets through.
enum Rule {
    /// All but this path.
    Hide(String),
    /// This file alone, with its entry when already known (else `stat`ed when listed).
    Only(String, Option<Entry>),
    /// This path and what is below it.
    Below(String),
}

/// See the module docs.
pub struct View {
    inner: Arc<dyn Backend>,
    rule: Rule,
}

impl View {
    /// `inner` without `path`, which is neither listed nor read, written or deleted.
    pub fn hiding(inner: Arc<dyn Backend>, path: String) -> View {
        View {
            inner,
            rule: Rule::Hide(path),
        }
    }

    /// `inner` showing the file `name` alone (its root's listing holds that file when it is
    /// there, and nothing else); `entry` is the file's entry when already known.
    pub fn only(inner: Arc<dyn Backend>, name: String, entry: Option<Entry>) -> View {
        View {
            inner,
            rule: Rule::Only(name, entry),
        }
    }

    /// `inner` showing `path` (a file or a folder) and what is below it, nothing else; the
    /// folders above it are not listed (they are made as files are written below them).
    pub fn below(inner: Arc<dyn Backend>, path: String) -> View {
        View {
            inner,
            rule: Rule::Below(path),
        }
    }

    /// An error for a path the rule hides.
    fn refuse(&self, path: &str) -> Result<()> {
        match &self.rule {
            Rule::Hide(hidden) if hidden == path => {
                bail!("{path}: poof's run lock is never written or deleted by a sync")
            }
            Rule::Below(top) if !at_or_below(path, top) => {
                bail!("{path}: outside {top}, the only path this run may change")
            }
            _ => Ok(()),
        }
    }
}

#[async_trait]
impl Backend for View {
    fn describe(&self) -> String {
        self.inner.describe()
    }

    fn features(&self) -> Features {
        let features = self.inner.features();
        Features {
            // Folders above one path list that path alone: listed whole, the view is small.
            walk_by_folder: features.walk_by_folder && matches!(self.rule, Rule::Hide(_)),
            ..features
        }
    }

    async fn list(&self, dir: &str, recursive: bool) -> Result<Option<Listing>> {
        match &self.rule {
            Rule::Hide(hidden) => {
                let listed = self.inner.list(dir, recursive).await?;
                Ok(listed.map(|mut listing| {
                    listing.entries.retain(|e| &e.path != hidden);
                    listing
                }))
            }
            Rule::Only(_, _) if !dir.is_empty() => Ok(None),
            Rule::Only(name, entry) => {
                let entry = match entry {
                    Some(entry) => Some(entry.clone()),
                    None => self.inner.stat(name).await?,
                };
                // Absent: the folder is treated as new (made if it is missing, which is
                // harmless when it exists).
                Ok(entry.map(|entry| Listing::of(vec![entry])))
            }
            Rule::Below(top) if at_or_below(dir, top) => self.inner.list(dir, recursive).await,
            Rule::Below(top) => {
                // A folder above the path: the path alone, and with `recursive` what is below.
                if !at_or_below(top, dir) {
                    return Ok(None);
                }
                let Some(found) = self.inner.stat(top).await? else {
                    return Ok(Some(Listing::default()));
                };
                let mut listing = Listing::default();
                let direct = top
                    .strip_prefix(dir)
                    .map_or(top.as_str(), |r| r.trim_start_matches('/'));
                if recursive || !direct.contains('/') {
                    listing.entries.push(found.clone());
                }
                if found.is_dir() && recursive {
                    if let Some(below) = self.inner.list(top, true).await? {
                        listing.entries.extend(below.entries);
                        listing.problems.extend(below.problems);
                        listing.unreadable.extend(below.unreadable);
                    }
                }
                Ok(Some(listing))
            }
        }
    }

    async fn stat(&self, path: &str) -> Result<Option<Entry>> {
        match &self.rule {
            Rule::Hide(hidden) if hidden == path => return Ok(None),
            Rule::Below(top) if !at_or_below(path, top) && !at_or_below(top, path) => {
                return Ok(None)
            }
            _ => {}
        }
        self.inner.stat(path).await
    }

    async fn open(&self, path: &str, range: Option<Range<u64>>) -> Result<ByteStream> {
        self.refuse(path)?;
        self.inner.open(path, range).await
    }

    async fn put(&self, path: &str, data: ByteStream, opts: PutOptions) -> Result<u64> {
        self.refuse(path)?;
        self.inner.put(path, data, opts).await
    }

    fn read_whole(&self, file: &Entry) -> Result<Whole> {
        self.refuse(&file.path)?;
        self.inner.read_whole(file)
    }

    fn write_whole(&self, path: &str, data: Vec<u8>, opts: PutOptions) -> Result<u64> {
        self.refuse(path)?;
        self.inner.write_whole(path, data, opts)
    }

    async fn remove(&self, path: &str) -> Result<()> {
        self.refuse(path)?;
        self.inner.remove(path).await
    }

    async fn rename(&self, from: &str, to: &str) -> Result<()> {
        self.refuse(from)?;
        self.refuse(to)?;
        self.inner.rename(from, to).await
    }

    async fn mkdir(&self, path: &str) -> Result<()> {
        // The folders above a path are made as it is written (the root of a restore too).
        if !matches!(&self.rule, Rule::Below(top) if at_or_below(top, path) && top != path) {
            self.refuse(path)?;
        }
        self.inner.mkdir(path).await
    }

    async fn rmdir(&self, path: &str) -> Result<()> {
        self.refuse(path)?;
        self.inner.rmdir(path).await
    }

    fn fits(&self, path: &str, kind: EntryKind) -> Result<(), TooLong> {
        self.inner.fits(path, kind)
    }

    async fn cleanup(&self) -> Result<usize> {
        self.inner.cleanup().await
    }
}

/// `path` is `top` or below it (every path is below the root, `""`).
pub fn at_or_below(path: &str, top: &str) -> bool {
    top.is_empty()
        || path
            .strip_prefix(top)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lock::LOCK_FILE;
    use crate::remote::local::LocalBackend;

    #[tokio::test(flavor = "multi_thread")]
    async fn lock_file_is_hidden_and_untouchable() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(LOCK_FILE), "1\n").unwrap();
        std::fs::write(dir.path().join("kept"), "x").unwrap();
        let hidden = View::hiding(
            Arc::new(LocalBackend::new(dir.path())),
            LOCK_FILE.to_owned(),
        );
        let listed = hidden.list("", true).await.unwrap().unwrap();
        let names: Vec<&str> = listed.entries.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(names, ["kept"]);
        assert!(hidden.stat(LOCK_FILE).await.unwrap().is_none());
        assert!(hidden.remove(LOCK_FILE).await.is_err());
        // Whole-file reads and writes refuse it as well.
        let lock = Entry {
            path: LOCK_FILE.to_owned(),
            kind: crate::remote::backend::EntryKind::File,
            size: 2,
            mtime: None,
        };
        assert!(hidden.read_whole(&lock).is_err());
        let opts = PutOptions::default();
        assert!(hidden
            .write_whole(LOCK_FILE, b"2\n".to_vec(), opts)
            .is_err());
        let kept = Entry {
            path: "kept".to_owned(),
            size: 1,
            ..lock
        };
        assert_eq!(hidden.read_whole(&kept).unwrap().data, b"x");
        assert_eq!(std::fs::read(dir.path().join(LOCK_FILE)).unwrap(), b"1\n");
    }
}
