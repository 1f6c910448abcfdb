//! Upload's second half: verify every local file of a folder on its target, then delete the
//! verified local files — the original tool's "move to the cloud", made safe.
//!
//! A file is *verified* when the target, listed again after the backup, has it with the same
//! size and a modification time within the backends' precision (read with `stat` on object
//! stores). With `verify_content` the whole folder is also compared byte for byte through the
//! crypt layer ([`crate::sync::check::check`]), and any difference keeps every file. Names on
//! the target that do not decrypt keep every file too. The verified files are deleted — each
//! only if it has not changed since it was listed — then the folders left empty, deepest
//! first. The folder itself stays, empty; the config folder inside it (with the crypt keys) is
//! never deleted, nor is anything the folder's filter leaves out (it was never backed up):
//! those files, and the folders holding them, stay.
//!
//! With `shred`, each verified file is overwritten in place with random bytes before it is
//! unlinked ([`super::shred`]); a file that cannot be shredded is kept and counted as such,
//! never deleted unshredded.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{bail, Result};
use futures::stream::{self, StreamExt};

use super::folder::RunOptions;
use super::job::{Folder, Job};
use crate::progress::Progress;
use crate::remote::backend::{Backend, Entry, Listing};
use crate::sync::check::check;
use crate::sync::plan::mtimes_differ;

/// What the wipe of one folder did.
#[derive(Debug, Default)]
pub struct Wiped {
    /// Local files deleted.
    pub deleted: u64,
    /// Of those, the files overwritten with random bytes before they were deleted (`shred`).
    pub shredded: u64,
    /// Local files kept (not verified, changed meanwhile, or failed to shred or delete).
    pub kept: u64,
    /// Local files the folder's filter leaves out (those of folders it leaves out too):
    /// never backed up, so never deleted.
    pub excluded: u64,
}

/// Verifies every local file of `folder` on its target, then deletes the verified ones and the
/// folders left empty (see the module docs); for a folder whose backup succeeded. With
/// `shred`, each file is shredded before it is deleted.
///
/// # Errors
/// A listing fails, names on the target do not decrypt, or `verify_content` finds a
/// difference: nothing is deleted then.
pub async fn verify_and_wipe(
    job: &Job,
    folder: &Folder,
    run: &RunOptions,
    verify_content: bool,
    shred: bool,
) -> Result<Wiped> {
    let local = job.local_backend(folder, &folder.local, false);
    let remote = job.remote_backend(folder)?;
    let (local_list, remote_list) = tokio::join!(local.list("", true), remote.list("", true));
    let Some(local_list) = local_list? else {
        bail!("{} vanished", folder.local.display());
    };
    // A folder that became unreadable since the backup: its files are unknown, nothing is
    // deleted anywhere (as when the listing itself fails).
    if let Some((path, why)) = local_list.unreadable.first() {
        bail!("cannot read {}: {why}", folder.local.join(path).display());
    }
    let Listing {
        entries: remote_list,
        problems: undecryptable,
        ..
    } = remote_list?.unwrap_or_default();
    let mut local_list = local_list.entries;
    // What the filter leaves out was not backed up: not a candidate, and its folders stay.
    let quiet = RunOptions {
        dump_filters: false,
        ..run.clone()
    };
    let filter = job.filter(folder, &quiet)?;
    let files = |list: &[Entry]| list.iter().filter(|e| !e.is_dir()).count() as u64;
    let before = files(&local_list);
    filter.retain(&mut local_list);
    let excluded = before - files(&local_list);
    if let Some(first) = undecryptable.first() {
        bail!(
            "{} names on {} do not decrypt ({first})",
            undecryptable.len(),
            folder.target
        );
    }
    if verify_content {
        let progress = Progress::for_run(run.no_progress, run.quiet);
        let stats = check(
            local.as_ref(),
            remote.as_ref(),
            run.sync.checkers,
            &filter,
            &progress,
        )
        .await?;
        progress.finish();
        if stats.differences() > 0 {
            bail!(
                "--verify-content found {} differences between the folder and {}",
                stats.differences(),
                folder.target
            );
        }
    }
    let remote_files: BTreeMap<&str, &Entry> = remote_list
        .iter()
        .filter(|e| !e.is_dir())
        .map(|e| (e.path.as_str(), e))
        .collect();
    let window = local
        .features()
        .mtime_precision
        .max(remote.features().mtime_precision);
    let remote_ref = remote.as_ref();
    let remote_files = &remote_files;
    let mut checked: Vec<(&Entry, Result<()>)> =
        stream::iter(local_list.iter().filter(|e| !e.is_dir()))
            .map(|file| async move {
                let listed = remote_files.get(file.path.as_str()).copied();
                (file, verified(remote_ref, file, listed, window).await)
            })
            .buffer_unordered(run.sync.checkers.max(1))
            .collect()
            .await;
    checked.sort_by(|a, b| a.0.path.cmp(&b.0.path));
    let mut wiped = Wiped {
        excluded,
        ..Wiped::default()
    };
    let in_confdir = |path: &str| match folder.confdir_rel.as_deref() {
        Some("") => true,
        Some(rel) => path.strip_prefix(rel).is_some_and(|r| r.starts_with('/')),
        None => false,
    };
    if let Some(rel) = folder.confdir_rel.as_deref() {
        say!(
            "poof: {}: the config folder {rel} in it is backed up, not wiped (it holds the crypt keys)",
            folder.label()
        );
    }
    for (file, outcome) in checked {
        if in_confdir(&file.path) {
            continue;
        }
        match outcome {
            Ok(()) => match delete_if_unchanged(&folder.local, file, shred) {
                Ok(()) => {
                    wiped.deleted += 1;
                    wiped.shredded += u64::from(shred);
                }
                Err(e) => {
                    say!("ERROR : {}: kept: {e:#}", file.path);
                    wiped.kept += 1;
                }
            },
            Err(e) => {
                say!("ERROR : {}: kept: {e:#}", file.path);
                wiped.kept += 1;
            }
        }
    }
    // Reverse path order puts every folder after all of its descendants.
    let mut dirs: Vec<&str> = local_list
        .iter()
        .filter(|e| e.is_dir())
        .map(|e| e.path.as_str())
        .collect();
    dirs.sort_unstable();
    for dir in dirs.iter().rev() {
        // Folders still holding kept files (or new ones) stay: remove_dir fails on them.
        if let Ok(path) = crate::remote::encoding::disk_path(&folder.local, dir) {
            let _ = std::fs::remove_dir(path);
        }
    }
    Ok(wiped)
}

/// Checks that the target holds `file` with its size and modification time.
///
/// # Errors
/// Why the file does not count as verified.
async fn verified(
    remote: &dyn Backend,
    file: &Entry,
    listed: Option<&Entry>,
    window: std::time::Duration,
) -> Result<()> {
    let Some(listed) = listed else {
        bail!("not on the target");
    };
    if listed.size != file.size {
        bail!(
            "size on the target is {}, locally {}",
            listed.size,
            file.size
        );
    }
    let mtime = match listed.mtime {
        Some(t) => Some(t),
        None => remote.stat(&file.path).await?.and_then(|e| e.mtime),
    };
    let Some(mtime) = mtime else {
        bail!("the target has no modification time for it");
    };
    if file.mtime.is_none() || mtimes_differ(file.mtime, Some(mtime), window) {
        bail!("modification time on the target differs");
    }
    Ok(())
}

/// Deletes a local file only when its size and modification time are still those listed;
/// with `shred`, shreds it first ([`super::shred::shred_and_remove`]).
///
/// # Errors
/// The file changed since it was listed, or cannot be shredded or deleted.
fn delete_if_unchanged(root: &Path, file: &Entry, shred: bool) -> Result<()> {
    let path = crate::remote::encoding::disk_path(root, &file.path).map_err(anyhow::Error::msg)?;
    if shred {
        return super::shred::shred_and_remove(&path, file.size, file.mtime);
    }
    let meta = std::fs::symlink_metadata(&path)?;
    if !meta.is_file() || meta.len() != file.size || meta.modified().ok() != file.mtime {
        bail!("changed since it was uploaded");
    }
    std::fs::remove_file(&path)?;
    Ok(())
}
