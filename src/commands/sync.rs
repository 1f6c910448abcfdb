//! `poof sync SOURCE DEST` and `poof copy SOURCE DEST`: rclone's sync and copy over poof's
//! backends.
//!
//! Both resolve their two locations into backends, run the sync engine ([`crate::sync`]) with a
//! progress reporter (a bar on a terminal, periodic lines otherwise, none with
//! `--no-progress` or `--quiet`) and always end with one summary line on stderr
//! ([`crate::progress::summary_line`]). `sync` deletes destination files missing from the
//! source; `copy` never deletes. The exit code is 0 only when the run had no error at all.
//!
//! The rclone config file is read only when a location names a remote, so that syncing two
//! local folders needs no config file.

use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{bail, Context, Result};

use crate::cli::{GlobalArgs, SyncArgs};
use crate::config::rclone::RcloneConfig;
use crate::config::Paths;
use crate::progress::{format_bytes, summary_line, Progress};
use crate::remote::backend::Backend;
use crate::remote::{open_backend, Location};
use crate::sync::{SourceProblems, SyncOptions, SyncStats};

/// Runs `sync` (`delete == true`) or `copy` (`delete == false`).
///
/// # Errors
/// Bad locations, an unreadable config file, a backend that cannot be opened, and the engine's
/// fatal errors (missing source, failed listing). Per-file failures are not errors here: they
/// make the exit code non-zero.
pub fn run(paths: &Paths, global: &GlobalArgs, args: &SyncArgs, delete: bool) -> Result<ExitCode> {
    if args.checksum {
        bail!("--checksum is not supported yet: poof compares size and modification time");
    }
    let src_loc = Location::parse(&args.source)?;
    let dst_loc = Location::parse(&args.dest)?;
    let config = load_config(paths, [&src_loc, &dst_loc])?;
    let src = open_backend(&config, &src_loc)
        .with_context(|| format!("cannot open the source {}", args.source))?;
    let dst = open_backend(&config, &dst_loc)
        .with_context(|| format!("cannot open the destination {}", args.dest))?;
    let opts = SyncOptions {
        dry_run: args.dry_run,
        checksum: args.checksum,
        transfers: args.transfers,
        checkers: args.checkers,
        delete,
        max_delete: None,
        verbose: global.verbose > 0,
        source_problems: Some(undecryptable(&src)),
    };
    let progress = if args.no_progress || global.quiet {
        Progress::hidden()
    } else {
        Progress::auto()
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let outcome = runtime.block_on(crate::sync::sync(src, dst, &opts, &progress));
    progress.finish();
    let stats = match outcome {
        Ok(stats) => stats,
        Err(err) => {
            let failed = SyncStats {
                errors: 1,
                ..SyncStats::default()
            };
            eprintln!("{}", summary(&failed, &progress));
            return Err(err);
        }
    };
    if args.dry_run {
        eprintln!(
            "NOTICE: dry run: would transfer {} files ({}) and delete {} files",
            stats.planned_copies,
            format_bytes(stats.planned_bytes),
            if stats.deletes_skipped {
                0
            } else {
                stats.planned_deletes
            }
        );
    }
    eprintln!("{}", summary(&stats, &progress));
    Ok(if stats.errors == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// Names the source listing could not decrypt, as errors of the run (nothing is deleted then).
fn undecryptable(src: &Arc<dyn Backend>) -> SourceProblems {
    let src = Arc::clone(src);
    Box::new(move || src.take_undecryptable())
}

fn summary(stats: &SyncStats, progress: &Progress) -> String {
    summary_line(
        stats.transferred,
        stats.bytes,
        stats.checked,
        stats.deleted,
        stats.errors,
        progress.elapsed(),
    )
}

/// The rclone config file (with rclone's `RCLONE_CONFIG_<REMOTE>_<KEY>` overrides) when a
/// location names a remote; an empty config for two local paths
/// (so that no config file is needed then).
fn load_config(paths: &Paths, locations: [&Location; 2]) -> Result<RcloneConfig> {
    let needs_remotes = locations
        .iter()
        .any(|loc| matches!(loc, Location::Remote { .. }));
    if needs_remotes {
        let mut config = RcloneConfig::load(&paths.rcloneconf)?;
        config.apply_process_env_overrides();
        Ok(config)
    } else {
        Ok(RcloneConfig::parse("")?)
    }
}
