//! `poof backup`: sync every folder of poof.conf to its target, refusing runs that would wipe
//! the cloud copy ([`crate::engine::backup_folder`] has the guards). A folder that does not
//! exist is skipped with a warning (and a non-zero exit status). Every folder ends with a
//! summary line, the run with a total. After a run with no error, poof.conf's history policy
//! is applied ([`super::forget::after_backup`]).
//!
//! The config folder holds the run lock ([`crate::lock`]) while a run goes on; when it is one
//! of the folders backed up, or inside one, the lock file is hidden from both sides, so that
//! it is never uploaded nor replaced by a download.

use std::process::ExitCode;

use anyhow::Result;

use crate::cli::{BackupArgs, GlobalArgs};
use crate::config::Paths;
use crate::engine::{backup_folder, Outcome, Session};
use crate::exit::Code;

/// `poof backup`.
///
/// # Errors
/// Broken config files, or another poof running on the same config. Failures of single
/// folders are printed and make the exit status non-zero.
pub fn run(paths: &Paths, global: &GlobalArgs, args: &BackupArgs) -> Result<ExitCode> {
    let mut session = Session::start(paths)?;
    session.announce(args.run.dry_run);
    let mut run = args.run.options(global)?;
    run.sync.delete_excluded = args.delete_excluded;
    let (mut skipped, mut refused, mut failed) = (0, 0, 0);
    let folders = session.job.folders();
    for folder in &folders {
        let backup = backup_folder(&session.job, folder, &run, args.guard.guard());
        let outcome = session.runtime.block_on(backup);
        match &outcome {
            Outcome::Skipped => skipped += 1,
            Outcome::Refused(_) => refused += 1,
            // A folder whose run had errors failed too: the counts agree with the exit code.
            Outcome::Failed(..) => failed += 1,
            Outcome::Ran(stats) if stats.errors > 0 => failed += 1,
            Outcome::Ran(_) => {}
        }
        session.count(folder, &outcome, true);
    }
    // The policy runs after a backup of every folder with no error (it removes nothing a kept
    // state needs, but a failed run is no state to keep).
    if let Some(policy) = session.job.conf.keep() {
        if session.totals.errors == 0 && !args.run.dry_run {
            let errors = super::forget::after_backup(&session, &policy, global.quiet);
            session.fail(Code::Error, errors);
        }
    }
    say!(
        "poof: backup of {} folders ({skipped} skipped, {refused} refused, {failed} failed): {}",
        folders.len(),
        session.summary()
    );
    let report = session.report("backup", args.run.dry_run);
    Ok(session.finish(&report, args.run.json))
}
