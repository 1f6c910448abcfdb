//! `poof backup`: sync every folder of poof.conf to its target, refusing runs that would wipe
//! the cloud copy ([`crate::engine::backup_folder`] has the guards). A folder that does not
//! exist is skipped with a warning (and a non-zero exit status). Every folder ends with a
//! summary line, the run with a total.
//!
//! The config folder holds the run lock ([`crate::lock`]) while a run goes on; when it is one
//! of the folders backed up, or inside one, the lock file is hidden from both sides, so that
//! it is never uploaded nor replaced by a download.

use std::process::ExitCode;
use std::time::Instant;

use anyhow::Result;

use super::exit;
use crate::cli::{BackupArgs, GlobalArgs};
use crate::config::Paths;
use crate::engine::{backup_folder, runtime, Job, Outcome};
use crate::sync::SyncStats;

/// `poof backup`.
///
/// # Errors
/// Broken config files, or another poof running on the same config. Failures of single
/// folders are printed and make the exit status non-zero.
pub fn run(paths: &Paths, global: &GlobalArgs, args: &BackupArgs) -> Result<ExitCode> {
    let job = Job::load(paths)?;
    let _lock = job.lock()?;
    let started = Instant::now();
    let runtime = runtime()?;
    let run = args.run.options(global);
    let mut totals = SyncStats::default();
    let (mut skipped, mut refused, mut failed) = (0, 0, 0);
    let folders = job.folders();
    for folder in &folders {
        let outcome = runtime.block_on(backup_folder(&job, folder, &run, args.guard.guard()));
        match &outcome {
            Outcome::Skipped => skipped += 1,
            Outcome::Refused => refused += 1,
            // A folder whose run had errors failed too: the counts agree with the exit code.
            Outcome::Failed => failed += 1,
            Outcome::Ran(stats) if stats.errors > 0 => failed += 1,
            Outcome::Ran(_) => {}
        }
        outcome.count_into(&mut totals);
    }
    eprintln!(
        "poof: backup of {} folders ({skipped} skipped, {refused} refused, {failed} failed): {}",
        folders.len(),
        totals.summary(started.elapsed())
    );
    Ok(exit(totals.errors))
}
