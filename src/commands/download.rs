//! `poof download`: restore every folder of poof.conf from its target.
//!
//! Each target is synced back into its local folder, or with `--to DIR` copied into
//! `DIR/<cloud folder>` (a restore beside the originals that deletes nothing). The guards of
//! [`crate::engine::restore_folder`] stop a folder before anything changes, unless `--force`
//! (flags, never prompts: poof runs from timers with no terminal). Every folder ends with a
//! summary line, the run with a total.

use std::process::ExitCode;

use anyhow::Result;

use super::exit;
use crate::cli::{DownloadArgs, GlobalArgs};
use crate::config::Paths;
use crate::engine::{restore_folder, Session};

/// `poof download`.
///
/// # Errors
/// Broken config files, or another poof running on the same config. Failures of single
/// folders are printed and make the exit status non-zero.
pub fn run(paths: &Paths, global: &GlobalArgs, args: &DownloadArgs) -> Result<ExitCode> {
    let mut session = Session::start(paths)?;
    let run = args.run.options(global);
    let folders = session.job.folders();
    let mut refused = 0;
    for folder in &folders {
        let to = args.to.as_deref();
        let restore = restore_folder(&session.job, folder, to, &run, args.guard.guard());
        let outcome = session.runtime.block_on(restore);
        // A folder whose run had errors failed too: the count agrees with the exit code.
        if !session.count(&outcome) {
            refused += 1;
        }
    }
    eprintln!(
        "poof: download of {} folders ({refused} refused or failed): {}",
        folders.len(),
        session.summary()
    );
    Ok(exit(session.totals.errors))
}
