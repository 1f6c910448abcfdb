//! `poof download`: restore every folder of poof.conf from its target.
//!
//! Each target is synced back into its local folder, or with `--to DIR` copied into
//! `DIR/<cloud folder>` (a restore beside the originals that deletes nothing). The guards of
//! [`crate::engine::restore_folder`] stop a folder before anything changes, unless `--force`
//! (flags, never prompts: poof runs from timers with no terminal). Every folder ends with a
//! summary line, the run with a total.
//!
//! With `--at TIME` the folders are restored as they were after the last backup that started
//! at or before TIME, rebuilt from the history ([`crate::engine::Past`]); with PATHs (local
//! paths inside the folders, or `<cloud folder>/<path>`) only those files or folders are
//! restored, and nothing else is read or changed.

use std::process::ExitCode;

use anyhow::Result;

use crate::cli::{DownloadArgs, GlobalArgs};
use crate::config::Paths;
use crate::engine::{parse_time, restore_folder, Folder, Past, Restore, Session};
use crate::exit::{Code, WithCode};

/// `poof download`.
///
/// # Errors
/// Broken config files, another poof running on the same config, a bad `--at` or PATH, or a
/// history that cannot be read. Failures of single folders are printed and make the exit
/// status non-zero.
pub fn run(paths: &Paths, global: &GlobalArgs, args: &DownloadArgs) -> Result<ExitCode> {
    let mut session = Session::start(paths)?;
    session.announce(args.run.dry_run);
    let run = args.run.options(global)?;
    let scopes: Vec<(Folder, String)> = if args.paths.is_empty() {
        let folders = session.job.folders().into_iter();
        folders.map(|folder| (folder, String::new())).collect()
    } else {
        let located: Result<Vec<_>> = args.paths.iter().map(|p| session.job.locate(p)).collect();
        located.coded(Code::Usage)?
    };
    let at = args.at.as_deref().map(parse_time).transpose();
    let past = match at.coded(Code::Usage)? {
        Some(at) => {
            let past = session.runtime.block_on(Past::load(&session.job, at))?;
            if !global.quiet {
                say!("poof: restoring {}", past.describe());
            }
            Some(past)
        }
        None => None,
    };
    let mut refused = 0;
    for (folder, only) in &scopes {
        let from = match &past {
            Some(past) => {
                for run in past.unrecorded(folder) {
                    say!(
                        "poof: warning: {}: the run {run} kept versions without a record of the files it added (written by rclone --backup-dir?): files it added are restored as if older",
                        folder.target
                    );
                }
                match session.runtime.block_on(past.snapshot(folder)) {
                    Ok(snapshot) => Some(snapshot),
                    Err(e) => {
                        say!("poof: error: {}: {e:#}", folder.label());
                        session.fail(Code::of(&e), 1);
                        refused += 1;
                        continue;
                    }
                }
            }
            None => None,
        };
        let scope = Restore {
            to: args.to.as_deref(),
            from,
            only: only.clone(),
        };
        let restore = restore_folder(&session.job, folder, &scope, &run, args.guard.guard());
        let outcome = session.runtime.block_on(restore);
        // A folder whose run had errors failed too: the count agrees with the exit code.
        if !session.count(folder, &outcome, false) {
            refused += 1;
        }
    }
    say!(
        "poof: download of {} folders ({refused} refused or failed): {}",
        scopes.len(),
        session.summary()
    );
    let report = session.report("download", args.run.dry_run);
    Ok(session.finish(&report, args.run.json))
}
