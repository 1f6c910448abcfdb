//! `poof download`: restore every folder of poof.conf from its target.
//!
//! Each target is synced back into its local folder, or with `--to DIR` copied into
//! `DIR/<cloud folder>` (a restore beside the originals that deletes nothing). Guards stop a
//! folder before anything changes, unless `--force` (flags, never prompts: poof runs from
//! timers with no terminal):
//!
//! - the target does not exist, or holds no file while the local folder has some: nothing to
//!   restore from (for a crypt remote, names at its root that do not decrypt point at wrong
//!   keys, and the message says so);
//! - names on the target do not decrypt (a wrong `password` or `password2`);
//! - the sync would delete more than `--max-delete` percent of the local files.
//!
//! Even with `--force`, undecryptable names are errors of the run, so nothing local is
//! deleted then. Every folder ends with a summary line, the run with a total.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Result;

use super::backup::{
    count, exit, folder_summary, plan_folder, progress, runtime, sync_options, too_many_deletes,
    Folder, Job, Outcome, Totals,
};
use crate::cli::{DownloadArgs, GlobalArgs};
use crate::config::Paths;
use crate::sync::execute::execute;

/// `poof download`.
///
/// # Errors
/// Broken config files, or another poof running on the same config. Failures of single
/// folders are printed and make the exit status non-zero.
pub fn run(paths: &Paths, global: &GlobalArgs, args: &DownloadArgs) -> Result<ExitCode> {
    let job = Job::load(paths)?;
    let _lock = job.lock()?;
    let started = Instant::now();
    let runtime = runtime()?;
    let mut totals = Totals::default();
    let folders = job.folders();
    let mut refused = 0;
    for folder in &folders {
        let outcome = runtime.block_on(download_folder(&job, folder, args, global));
        // A folder whose run had errors failed too: the count agrees with the exit code.
        if !count(&mut totals, &outcome) {
            refused += 1;
        }
    }
    eprintln!(
        "poof: download of {} folders ({refused} refused or failed): {}",
        folders.len(),
        totals.line(started)
    );
    Ok(exit(totals.errors))
}

/// Where a folder is restored to.
fn destination(folder: &Folder, to: Option<&PathBuf>) -> PathBuf {
    match to {
        Some(dir) => dir.join(&folder.cloud),
        None => folder.local.clone(),
    }
}

/// Prints a refusal of `folder` in one line.
fn refuse(label: &str, why: &str, forceable: bool) -> Outcome {
    let hint = if forceable {
        " (--force to restore anyway)"
    } else {
        ""
    };
    eprintln!("poof: refused: {label}: {why}; nothing changed{hint}");
    Outcome::Refused
}

/// Restores one folder (see the module docs).
async fn download_folder(
    job: &Job,
    folder: &Folder,
    args: &DownloadArgs,
    global: &GlobalArgs,
) -> Outcome {
    let dest = destination(folder, args.to.as_ref());
    let label = format!("{} -> {}", folder.target, dest.display());
    let remote = match job.remote_backend(folder) {
        Ok(remote) => remote,
        Err(e) => {
            eprintln!("poof: error: {label}: {e:#}");
            return Outcome::Failed;
        }
    };
    let local = match args.to.as_ref() {
        Some(base) => match job.restore_backend(folder, base) {
            Ok(local) => local,
            Err(e) => {
                eprintln!("poof: error: {label}: {e:#}; nothing changed");
                return Outcome::Failed;
            }
        },
        None => job.local_backend(folder, &dest, false),
    };
    match remote.list("", false).await {
        Ok(Some(_)) => {}
        Ok(None) => {
            let why = missing_reason(job, folder).await;
            return refuse(&label, &why, false);
        }
        Err(e) => {
            eprintln!("poof: error: {label}: {e:#}; nothing changed");
            return Outcome::Failed;
        }
    }
    if !global.quiet {
        eprintln!("poof: download {label}");
    }
    let opts = sync_options(&args.run, global, args.to.is_none());
    let Some((planned, undecryptable)) = plan_folder(
        remote.as_ref(),
        local.as_ref(),
        remote.as_ref(),
        &opts,
        &label,
        folder,
    )
    .await
    else {
        return Outcome::Failed;
    };
    if !args.guard.force {
        let (existing, deletes) = (planned.stats.dst_files, planned.deletes.len() as u64);
        // Wrong keys only when no name decrypts; otherwise the names that do not are errors
        // of the run (reported, nothing deleted) and the rest is restored.
        if let Some(first) = undecryptable
            .first()
            .filter(|_| planned.stats.src_files == 0)
        {
            let why = format!(
                "{} names on {} do not decrypt with the keys of {} (wrong password or password2?): {first}",
                undecryptable.len(),
                folder.target,
                job.paths.rcloneconf.display()
            );
            return refuse(&label, &why, true);
        }
        if planned.stats.src_files == 0 && existing > 0 {
            let why = format!(
                "{} holds no file but the local folder has {existing}",
                folder.target
            );
            return refuse(&label, &why, true);
        }
        if deletes > 0 && too_many_deletes(deletes, existing, args.guard.max_delete) {
            let why = format!(
                "the restore would delete {deletes} of the {existing} local files, more than --max-delete {}%",
                args.guard.max_delete
            );
            return refuse(&label, &why, true);
        }
    }
    let progress = progress(&args.run, global);
    let stats = execute(
        remote.as_ref(),
        local.as_ref(),
        &planned,
        &undecryptable,
        &opts,
        &progress,
    )
    .await;
    progress.finish();
    if args.run.dry_run {
        eprintln!("{}", stats.dry_run_notice(&label));
    }
    if !global.quiet {
        eprintln!("{}", folder_summary(&label, &stats, &progress));
    }
    Outcome::Ran(stats)
}

/// Why a target does not exist: for a crypt remote whose root lists names that do not
/// decrypt, wrong keys; otherwise never backed up (or a wrong bucket or remote).
async fn missing_reason(job: &Job, folder: &Folder) -> String {
    if let Ok(Some(root)) = job.crypt_root() {
        if root.list("", false).await.is_ok() {
            let bad = root.take_undecryptable();
            if !bad.is_empty() {
                return format!(
                    "{} does not exist and {} names at the root of {}: do not decrypt: wrong password or password2 in {}?",
                    folder.target,
                    bad.len(),
                    job.conf.remote,
                    job.paths.rcloneconf.display()
                );
            }
        }
    }
    format!(
        "{} does not exist: nothing to restore (never backed up? check \"remote\" and \"bucket\" in {})",
        folder.target,
        job.paths.poofconf.display()
    )
}
