//! `poof upload`: back up, verify every file in the cloud, then delete the verified local
//! files — the original tool's "move to the cloud", made safe.
//!
//! Per folder, in order:
//!
//! 1. The backup of [`super::backup`] (same plan, same guard with its default, no `--force`).
//! 2. Only when that sync had no error at all: the target is listed again and every local file
//!    is looked up in it; a file is *verified* when the target has it with the same size and a
//!    modification time within the backends' precision (read with `stat` on object stores).
//!    With `--verify-content` the whole folder is also compared byte for byte through the crypt
//!    layer ([`crate::sync::check::check`]), and any difference keeps every file. Names on the
//!    target that do not decrypt keep every file too.
//! 3. The verified files are deleted — each only if it has not changed since it was listed —
//!    then the folders left empty, deepest first. The folder itself stays, empty.
//!
//! The config folder (with the crypt keys), listed itself or inside a listed folder, is backed
//! up but never wiped. With `--neuter` it is removed as `poof neuter --yes` does, after a
//! warning, and only when every other folder was verified and emptied without an error. With
//! `--dry-run` nothing is uploaded or deleted; the lines say what would be.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{bail, Result};
use futures::stream::{self, StreamExt};

use super::backup::{backup_folder, count, exit, progress, runtime, Folder, Job, Outcome, Totals};
use crate::cli::{GlobalArgs, GuardArgs, NeuterArgs, UploadArgs, DEFAULT_MAX_DELETE_PCT};
use crate::config::Paths;
use crate::remote::backend::{Backend, Entry};
use crate::sync::check::check;
use crate::sync::plan::mtimes_differ;
use crate::sync::SourceProblems;

/// What the wipe of one folder did.
#[derive(Debug, Default)]
struct Wiped {
    /// Local files deleted.
    deleted: u64,
    /// Local files kept (not verified, changed meanwhile, or failed to delete).
    kept: u64,
}

/// `poof upload`.
///
/// # Errors
/// Broken config files, or another poof running on the same config. Failures of single
/// folders are printed and make the exit status non-zero.
pub fn run(paths: &Paths, global: &GlobalArgs, args: &UploadArgs) -> Result<ExitCode> {
    let job = Job::load(paths)?;
    let lock = job.lock()?;
    let started = Instant::now();
    let runtime = runtime()?;
    let guard = GuardArgs {
        max_delete: DEFAULT_MAX_DELETE_PCT,
        force: false,
    };
    let mut totals = Totals::default();
    let mut wiped_total = Wiped::default();
    let mut all_clean = true;
    let mut confdir_backed_up = false;
    for folder in job.folders() {
        let outcome = runtime.block_on(backup_folder(&job, &folder, &args.run, &guard, global));
        let ok = count(&mut totals, &outcome);
        let label = folder.label();
        if folder.is_confdir {
            confdir_backed_up = ok;
            if ok && !global.quiet {
                eprintln!(
                    "poof: {label}: the config folder is backed up, not wiped (it holds the crypt keys)"
                );
            }
            continue;
        }
        if !ok {
            all_clean = false;
            if !matches!(outcome, Outcome::Skipped) {
                eprintln!("poof: {label}: not backed up cleanly: no local file deleted");
            }
            continue;
        }
        if args.run.dry_run {
            if let Outcome::Ran(stats) = &outcome {
                eprintln!(
                    "NOTICE: {label}: dry run: would verify the {} local files on the target and delete them",
                    stats.src_files
                );
            }
            continue;
        }
        match runtime.block_on(verify_and_wipe(&job, &folder, args, global)) {
            Ok(wiped) => {
                eprintln!(
                    "poof: {label}: {} local files verified and deleted, {} kept",
                    wiped.deleted, wiped.kept
                );
                if wiped.kept > 0 {
                    all_clean = false;
                    totals.errors += 1;
                }
                wiped_total.deleted += wiped.deleted;
                wiped_total.kept += wiped.kept;
            }
            Err(e) => {
                eprintln!("poof: error: {label}: {e:#}; no local file deleted");
                all_clean = false;
                totals.errors += 1;
            }
        }
    }
    eprintln!(
        "poof: upload: {} local files deleted, {} kept; {}",
        wiped_total.deleted,
        wiped_total.kept,
        totals.line(started)
    );
    if args.neuter {
        let confdir_listed = job.folders().iter().any(|f| f.is_confdir);
        if !all_clean || (confdir_listed && !confdir_backed_up) {
            eprintln!(
                "poof: refused: --neuter: not every folder was verified and emptied; nothing changed in {}",
                paths.confdir.display()
            );
            return Ok(ExitCode::FAILURE);
        }
        eprintln!(
            "poof: warning: --neuter removes {} with the crypt keys: the backup can only be restored with the passwords kept elsewhere (`poof econfig` showed them once)",
            paths.confdir.display()
        );
        drop(lock);
        let neutered = super::schedule::neuter(
            paths,
            &NeuterArgs {
                yes: true,
                dry_run: args.run.dry_run,
            },
        )?;
        if neutered != ExitCode::SUCCESS {
            return Ok(neutered);
        }
    }
    Ok(exit(totals.errors))
}

/// Steps 2 and 3 of the module docs for one folder whose backup succeeded.
///
/// # Errors
/// A listing fails, names on the target do not decrypt, or `--verify-content` finds a
/// difference: nothing is deleted then.
async fn verify_and_wipe(
    job: &Job,
    folder: &Folder,
    args: &UploadArgs,
    global: &GlobalArgs,
) -> Result<Wiped> {
    let local = job.local_backend(folder, &folder.local, false);
    let remote = job.remote_backend(folder)?;
    let (local_list, remote_list) = tokio::join!(local.list("", true), remote.list("", true));
    let Some(local_list) = local_list? else {
        bail!("{} vanished", folder.local.display());
    };
    let remote_list = remote_list?.unwrap_or_default();
    let undecryptable = remote.take_undecryptable();
    if let Some(first) = undecryptable.first() {
        bail!(
            "{} names on {} do not decrypt ({first})",
            undecryptable.len(),
            folder.target
        );
    }
    if args.verify_content {
        let progress = progress(&args.run, global);
        let crypt_side = Arc::clone(&remote);
        let problems: SourceProblems = Box::new(move || crypt_side.take_undecryptable());
        let stats = check(
            local.as_ref(),
            remote.as_ref(),
            args.run.checkers,
            Some(&problems),
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
            .buffer_unordered(args.run.checkers.max(1))
            .collect()
            .await;
    checked.sort_by(|a, b| a.0.path.cmp(&b.0.path));
    let mut wiped = Wiped::default();
    let in_confdir = |path: &str| match folder.confdir_rel.as_deref() {
        Some("") => true,
        Some(rel) => path.strip_prefix(rel).is_some_and(|r| r.starts_with('/')),
        None => false,
    };
    if let Some(rel) = folder.confdir_rel.as_deref() {
        eprintln!(
            "poof: {}: the config folder {rel} in it is backed up, not wiped (it holds the crypt keys)",
            folder.label()
        );
    }
    for (file, outcome) in checked {
        if in_confdir(&file.path) {
            continue;
        }
        match outcome {
            Ok(()) => match delete_if_unchanged(&folder.local, file) {
                Ok(()) => wiped.deleted += 1,
                Err(e) => {
                    eprintln!("ERROR : {}: kept: {e:#}", file.path);
                    wiped.kept += 1;
                }
            },
            Err(e) => {
                eprintln!("ERROR : {}: kept: {e:#}", file.path);
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

/// Deletes a local file only when its size and modification time are still those listed.
///
/// # Errors
/// The file changed since it was listed, or cannot be deleted.
fn delete_if_unchanged(root: &Path, file: &Entry) -> Result<()> {
    let path = crate::remote::encoding::disk_path(root, &file.path).map_err(anyhow::Error::msg)?;
    let meta = std::fs::symlink_metadata(&path)?;
    if !meta.is_file() || meta.len() != file.size || meta.modified().ok() != file.mtime {
        bail!("changed since it was uploaded");
    }
    std::fs::remove_file(&path)?;
    Ok(())
}
