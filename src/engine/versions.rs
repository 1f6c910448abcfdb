//! The versions of files: for each file of a cloud folder, the current one and every one kept
//! in the history's run folders (`poof-history/<run>/<cloud folder>/<path>`), newest first.
//!
//! A version kept by run `R` is the one that `R` replaced or deleted: it was the current one
//! before `R` started. [`versions`] lists the cloud folders and the history once, sorts each
//! file's versions (the current one first, then by run, newest first) and reads the
//! modification times that object stores leave out of listings with one `stat` per version.
//! It needs no record of what runs added: versions written by `rclone sync --backup-dir` are
//! listed alike. Listings with names that do not decrypt (wrong keys) are refused: a version
//! could be missing from the answer.

use std::collections::BTreeMap;
use std::time::SystemTime;

use anyhow::{Context, Result};

use super::job::{real, relative, Folder, Job};
use super::listing::{fill_mtimes, refuse_problems};
use crate::history::state::History;
use crate::history::{RunName, HISTORY_DIR};
use crate::remote::backend::{Backend, Entry};
use crate::remote::encoding::to_standard;
use crate::remote::view::at_or_below;

/// What a listing with unreadable names leaves undone.
const REFUSED: &str = "no version listed";

/// One version of a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Version {
    /// The run that replaced or deleted it, `None` for the current version.
    pub run: Option<RunName>,
    /// Its size as the user sees it.
    pub size: u64,
    /// Its modification time, when the storage keeps one.
    pub mtime: Option<SystemTime>,
}

impl Version {
    /// True for the current version (in the cloud folder, not in the history).
    pub fn is_current(&self) -> bool {
        self.run.is_none()
    }
}

/// Every version of one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileVersions {
    /// Its cloud folder.
    pub folder: String,
    /// Its path in the cloud folder (rclone's Standard form).
    pub path: String,
    /// The current version first (when there is one: a deleted file has none), then the
    /// versions in the history, newest run first. Never empty.
    pub versions: Vec<Version>,
}

impl FileVersions {
    /// True when the file has a current version (it is not deleted).
    pub fn has_current(&self) -> bool {
        self.versions.first().is_some_and(Version::is_current)
    }
}

/// The folder of poof.conf that `path` names and the path below it, as [`Job::locate`] finds
/// them; a path below a local folder is turned into rclone's Standard form (the form of the
/// names in the cloud: a tab is `␉`), a `<cloud folder>/<path>` is taken as it is.
///
/// # Errors
/// As [`Job::locate`].
pub fn locate(job: &Job, path: &str) -> Result<(Folder, String)> {
    let (folder, rel) = job.locate(path)?;
    let is_local = std::path::absolute(path).ok().is_some_and(|abs| {
        relative(&abs, &folder.local)
            .or_else(|| relative(&real(&abs), &real(&folder.local)))
            .is_some()
    });
    if !is_local {
        return Ok((folder, rel));
    }
    let standard: Vec<String> = rel
        .split('/')
        .map(|part| to_standard(part.as_bytes()).into_owned())
        .collect();
    Ok((folder, standard.join("/")))
}

/// Every version of the files of `scope` (a folder of poof.conf and a path below it, `""` for
/// the whole folder; `None` for every folder), folder by folder in poof.conf's order, then by
/// path.
///
/// # Errors
/// The root cannot be opened or listed, a stat fails, a history record is broken, or a
/// listing has names that do not decrypt (wrong keys).
pub async fn versions(job: &Job, scope: Option<(Folder, String)>) -> Result<Vec<FileVersions>> {
    let root = job.history_root()?;
    let clouds: Vec<String> = job.folders().into_iter().map(|f| f.cloud).collect();
    let wanted: Vec<(String, String)> = match scope {
        Some((folder, rel)) => vec![(folder.cloud, rel)],
        None => clouds.iter().map(|c| (c.clone(), String::new())).collect(),
    };
    collect(root.as_ref(), &clouds, &wanted).await
}

/// [`versions`] over the root `root` whose cloud folders are `clouds`, for the
/// `(cloud folder, path below it)` pairs of `wanted`.
async fn collect(
    root: &dyn Backend,
    clouds: &[String],
    wanted: &[(String, String)],
) -> Result<Vec<FileVersions>> {
    let history = History::load(root, clouds).await?;
    let place = format!("{HISTORY_DIR} of {}", root.describe());
    refuse_problems(&history.problems, &place, REFUSED)?;
    // Every version found, in the order printed, and the file it holds (below the root).
    let mut found: Vec<(String, String, Option<RunName>)> = Vec::new();
    let mut entries: Vec<Entry> = Vec::new();
    for (cloud, rel) in wanted {
        let listing = root
            .list(cloud, true)
            .await
            .with_context(|| format!("cannot list {cloud} in {}", root.describe()))?
            .unwrap_or_default();
        let place = format!("{cloud} of {}", root.describe());
        refuse_problems(&listing.all_problems(), &place, REFUSED)?;
        let prefix = format!("{cloud}/");
        let mut files: BTreeMap<String, Vec<(Option<RunName>, Entry)>> = BTreeMap::new();
        for entry in listing.entries.into_iter().filter(|e| !e.is_dir()) {
            if let Some(path) = entry.path.strip_prefix(&prefix) {
                if at_or_below(path, rel) {
                    files
                        .entry(path.to_owned())
                        .or_default()
                        .push((None, entry));
                }
            }
        }
        for run in history.runs.iter().rev() {
            let Some(folder) = run.folders.get(cloud) else {
                continue;
            };
            for (path, entry) in folder.kept.iter().filter(|(p, _)| at_or_below(p, rel)) {
                let versions = files.entry(path.clone()).or_default();
                versions.push((Some(run.name), entry.clone()));
            }
        }
        for (path, versions) in files {
            for (run, entry) in versions {
                found.push((cloud.clone(), path.clone(), run));
                entries.push(entry);
            }
        }
    }
    if !root.features().mtime_in_listing {
        fill_mtimes(root, &mut entries).await?;
    }
    let mut files: Vec<FileVersions> = Vec::new();
    for ((folder, path, run), entry) in found.into_iter().zip(entries) {
        let version = Version {
            run,
            size: entry.size,
            mtime: entry.mtime,
        };
        match files.last_mut() {
            Some(last) if last.folder == folder && last.path == path => {
                last.versions.push(version);
            }
            _ => files.push(FileVersions {
                folder,
                path,
                versions: vec![version],
            }),
        }
    }
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::{record, record_path};
    use crate::sync::testing::{at, MemBackend};

    const R1: &str = "2026-11-01T060000Z";
    const R2: &str = "2026-11-02T060000Z";
    const R3: &str = "2026-11-03T060000Z";

    fn run(name: &str) -> RunName {
        name.parse().unwrap()
    }

    /// `docs` after three runs: `a` replaced by R2 and R3; `sub/b` deleted by R2 and not
    /// re-created; `sub/c` never changed; R1 replaced nothing. `pics` has a version of its own
    /// (R3) and a file named like one of `docs`.
    fn three_runs(root: MemBackend) -> MemBackend {
        let kept = |run: &str, path: &str| format!("poof-history/{run}/{path}");
        let files: [(String, &[u8], u64); 7] = [
            ("docs/a".to_owned(), b"a three", 30),
            ("docs/sub/c".to_owned(), b"c", 10),
            ("pics/a".to_owned(), b"pic", 5),
            (kept(R2, "docs/a"), b"a1", 10),
            (kept(R2, "docs/sub/b"), b"b one", 11),
            (kept(R3, "docs/a"), b"a two", 20),
            (kept(R3, "pics/a"), b"old pic", 4),
        ];
        let root = files.into_iter().fold(root, |root, (path, data, secs)| {
            root.file(&path, data, at(secs))
        });
        let records: [(&str, &[&str]); 3] =
            [(R1, &["a", "sub/b", "sub/c"]), (R2, &["a"]), (R3, &["a"])];
        records.into_iter().fold(root, |root, (name, added)| {
            let added: Vec<String> = added.iter().map(|s| (*s).to_owned()).collect();
            let data = record("docs", &added);
            root.file(&record_path(run(name), "docs"), &data, at(1))
        })
    }

    fn v(run_name: Option<&str>, size: u64, secs: u64) -> Version {
        Version {
            run: run_name.map(run),
            size,
            mtime: Some(at(secs)),
        }
    }

    async fn list(root: &MemBackend, cloud: &str, rel: &str) -> Result<Vec<FileVersions>> {
        let clouds = ["docs".to_owned(), "pics".to_owned()];
        collect(root, &clouds, &[(cloud.to_owned(), rel.to_owned())]).await
    }

    #[tokio::test]
    async fn a_file_lists_its_current_version_then_the_runs_newest_first() {
        // An object store's listings carry no times: each version is stat'ed.
        for root in [MemBackend::local(), MemBackend::object_store()] {
            let root = three_runs(root);
            let files = list(&root, "docs", "a").await.unwrap();
            assert_eq!(files.len(), 1, "{files:?}");
            assert_eq!(
                (files[0].folder.as_str(), files[0].path.as_str()),
                ("docs", "a")
            );
            assert!(files[0].has_current());
            assert_eq!(
                files[0].versions,
                [v(None, 7, 30), v(Some(R3), 5, 20), v(Some(R2), 2, 10)]
            );
        }
    }

    #[tokio::test]
    async fn a_folder_lists_the_files_below_it_deleted_ones_too() {
        let root = three_runs(MemBackend::local());
        let files = list(&root, "docs", "sub").await.unwrap();
        let got: Vec<(&str, bool, &[Version])> = files
            .iter()
            .map(|f| (f.path.as_str(), f.has_current(), f.versions.as_slice()))
            .collect();
        assert_eq!(
            got,
            [
                ("sub/b", false, &[v(Some(R2), 5, 11)][..]),
                ("sub/c", true, &[v(None, 1, 10)][..]),
            ]
        );
        // The whole folder: every file, and nothing of the other folder.
        let all = list(&root, "docs", "").await.unwrap();
        let paths: Vec<(&str, &str)> = all
            .iter()
            .map(|f| (f.folder.as_str(), f.path.as_str()))
            .collect();
        assert_eq!(paths, [("docs", "a"), ("docs", "sub/b"), ("docs", "sub/c")]);
        let pics = list(&root, "pics", "").await.unwrap();
        assert_eq!(pics[0].versions, [v(None, 3, 5), v(Some(R3), 7, 4)]);
        // A name that only starts like the path is not below it.
        assert!(list(&root, "docs", "su").await.unwrap().is_empty());
        assert!(list(&root, "docs", "sub/b/x").await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn versions_rclone_kept_without_a_record_are_listed() {
        // `rclone sync --backup-dir root:poof-history/<run>/docs`: versions, no record.
        let root = MemBackend::local().file("docs/a", b"new", at(2)).file(
            &format!("poof-history/{R2}/docs/a"),
            b"old!",
            at(1),
        );
        let files = list(&root, "docs", "").await.unwrap();
        assert_eq!(files[0].versions, [v(None, 3, 2), v(Some(R2), 4, 1)]);
    }

    #[tokio::test]
    async fn names_that_do_not_decrypt_refuse_the_listing() {
        let root = three_runs(MemBackend::local()).problem("bad name: x1y2");
        let err = list(&root, "docs", "a").await.unwrap_err();
        let text = format!("{err:#}");
        assert!(
            text.contains("cannot be read (wrong password or password2?): bad name: x1y2")
                && text.ends_with("; no version listed"),
            "{text}"
        );
    }

    #[test]
    fn below_means_the_path_itself_or_under_it() {
        assert!(at_or_below("a/b", ""));
        assert!(at_or_below("a/b", "a"));
        assert!(at_or_below("a/b", "a/b"));
        assert!(!at_or_below("ab", "a"));
        assert!(!at_or_below("a", "a/b"));
    }
}
