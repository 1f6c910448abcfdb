//! `poof download`: restore every folder of poof.conf from its target.
//!
//! Each target is synced back into its local folder, or with `--to DIR` copied into
//! `DIR/<cloud folder>` (a restore beside the originals that deletes nothing). The guards of
//! [`crate::engine::restore_folder`] stop a folder before anything changes, unless `--force`
//! (flags, never prompts: poof runs from timers with no terminal). Every folder ends with a
//! summary line, the run with a total.

use std::process::ExitCode;
use std::time::Instant;

use anyhow::Result;

use super::exit;
use crate::cli::{DownloadArgs, GlobalArgs};
use crate::config::Paths;
use crate::engine::{restore_folder, runtime, Job};
use crate::sync::SyncStats;

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
    let run = args.run.options(global);
    let mut totals = SyncStats::default();
    let folders = job.folders();
    let mut refused = 0;
    for folder in &folders {
        let to = args.to.as_deref();
        let outcome = runtime.block_on(restore_folder(&job, folder, to, &run, args.guard.guard()));
        // A folder whose run had errors failed too: the count agrees with the exit code.
        if !outcome.count_into(&mut totals) {
            refused += 1;
        }
    }
    eprintln!(
        "poof: download of {} folders ({refused} refused or failed): {}",
        folders.len(),
        totals.summary(started.elapsed())
    );
    Ok(exit(totals.errors))
}
