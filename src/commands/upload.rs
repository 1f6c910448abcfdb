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
//!    then the folders left empty, deepest first. The folder itself stays, empty. With
//!    `--shred` (or `"shred": true` in poof.conf) each file is first overwritten in place with
//!    random bytes and synced; one that cannot be shredded is kept and counted as an error.
//!
//! When every folder was backed up with no error, poof.conf's history policy is applied, as
//! after `poof backup`.
//!
//! The config folder (with the crypt keys), listed itself or inside a listed folder, is backed
//! up but never wiped. With `--neuter` it is removed as `poof neuter --yes` does, after a
//! warning, and only when every other folder was verified and emptied without an error. With
//! `--dry-run` nothing is uploaded or deleted; the lines say what would be.

use std::process::ExitCode;

use anyhow::Result;

use crate::cli::{GlobalArgs, NeuterArgs, UploadArgs, DEFAULT_MAX_DELETE_PCT};
use crate::config::Paths;
use crate::engine::{backup_folder, verify_and_wipe, Guard, LocalFiles, Outcome, Session, Wiped};
use crate::exit::Code;

/// `poof upload`.
///
/// # Errors
/// Broken config files, or another poof running on the same config. Failures of single
/// folders are printed and make the exit status non-zero.
pub fn run(paths: &Paths, global: &GlobalArgs, args: &UploadArgs) -> Result<ExitCode> {
    let mut session = Session::start(paths)?;
    session.announce(args.run.dry_run);
    let guard = Guard {
        max_delete: DEFAULT_MAX_DELETE_PCT,
        force: false,
    };
    let run = args.run.options(global)?;
    let shred = args.shred || session.job.conf.shred();
    let shredded = if shred { " (shredded)" } else { "" };
    let mut wiped_total = Wiped::default();
    let mut all_clean = true;
    let mut confdir_backed_up = false;
    let mut backed_up = true;
    for folder in session.job.folders() {
        let outcome = session
            .runtime
            .block_on(backup_folder(&session.job, &folder, &run, guard));
        let ok = session.count(&folder, &outcome, true);
        backed_up &= ok;
        let label = folder.label();
        if folder.is_confdir {
            confdir_backed_up = ok;
            if ok && !global.quiet {
                say!(
                    "poof: {label}: the config folder is backed up, not wiped (it holds the crypt keys)"
                );
            }
            continue;
        }
        if !ok {
            all_clean = false;
            if !matches!(outcome, Outcome::Skipped) {
                say!("poof: {label}: not backed up cleanly: no local file deleted");
            }
            continue;
        }
        if args.run.dry_run {
            if let Outcome::Ran(stats) = &outcome {
                say!(
                    "NOTICE: {label}: dry run: would verify the {} local files on the target and delete them{}",
                    stats.src_files,
                    if shred { ", each shredded first" } else { "" }
                );
            }
            continue;
        }
        let wipe = verify_and_wipe(&session.job, &folder, &run, args.verify_content, shred);
        match session.runtime.block_on(wipe) {
            Ok(wiped) => {
                let excluded = if wiped.excluded > 0 {
                    format!(", {} left out by the filter and kept", wiped.excluded)
                } else {
                    String::new()
                };
                say!(
                    "poof: {label}: {} local files verified and deleted{shredded}, {} kept{excluded}",
                    wiped.deleted, wiped.kept
                );
                if wiped.kept > 0 {
                    all_clean = false;
                    session.fail(Code::Error, 1);
                }
                wiped_total.deleted += wiped.deleted;
                wiped_total.shredded += wiped.shredded;
                wiped_total.kept += wiped.kept;
                wiped_total.excluded += wiped.excluded;
            }
            Err(e) => {
                say!("poof: error: {label}: {e:#}; no local file deleted");
                all_clean = false;
                session.fail(Code::of(&e), 1);
            }
        }
    }
    if let Some(policy) = session.job.conf.keep() {
        if backed_up && !args.run.dry_run {
            let errors = super::forget::after_backup(&session, &policy, global.quiet);
            session.fail(Code::Error, errors);
        }
    }
    say!(
        "poof: upload: {} local files deleted{shredded}, {} kept, {} left out by the filter; {}",
        wiped_total.deleted,
        wiped_total.kept,
        wiped_total.excluded,
        session.summary()
    );
    let mut report = session.report("upload", args.run.dry_run);
    report.local_files = Some(LocalFiles {
        deleted: wiped_total.deleted,
        shredded: wiped_total.shredded,
        kept: wiped_total.kept,
        excluded: wiped_total.excluded,
    });
    if args.neuter {
        let confdir_listed = session.job.folders().iter().any(|f| f.is_confdir);
        if !all_clean || (confdir_listed && !confdir_backed_up) {
            say!(
                "poof: refused: --neuter: not every folder was verified and emptied; nothing changed in {}",
                paths.confdir.display()
            );
            session.code = session.code.worst(Code::Refused);
            let report = session.report("upload", args.run.dry_run);
            return Ok(session.finish(&report, args.run.json));
        }
        say!(
            "poof: warning: --neuter removes {} with the crypt keys: the backup can only be restored with the passwords kept elsewhere (`poof econfig` showed them once)",
            paths.confdir.display()
        );
        // The config folder goes: no status file is written into it.
        session.notify_end(&report);
        let code = session.code;
        drop(session);
        let neutered = super::schedule::neuter(
            paths,
            &NeuterArgs {
                yes: true,
                dry_run: args.run.dry_run,
            },
        )?;
        if args.run.json {
            println!("{}", report.to_json());
        }
        if neutered != ExitCode::SUCCESS {
            return Ok(neutered);
        }
        return Ok(code.into());
    }
    Ok(session.finish(&report, args.run.json))
}
