//! `poof cryptcheck SOURCE CRYPT:PATH`: check that a crypt remote holds exactly the source's
//! files, as `rclone cryptcheck` does.
//!
//! The destination must be a crypt remote. Its files are read decrypted and compared with the
//! source byte for byte ([`crate::sync::check`] explains why, and why that is at least as strict
//! as rclone's hash comparison). Findings are printed rclone-style (`ERROR : path: ...`, then
//! `NOTICE:` totals); the exit code is 0 only when nothing differs, is missing or failed.

use std::process::ExitCode;

use anyhow::{bail, Context, Result};

use crate::cli::{CryptcheckArgs, GlobalArgs};
use crate::config::rclone::RcloneConfig;
use crate::config::Paths;
use crate::progress::Progress;
use crate::remote::{crypt_section, open_backend, Location};
use crate::sync::check::check;

/// Runs the command.
///
/// # Errors
/// Bad locations, a destination that is not a crypt remote, an unreadable config file, a
/// backend that cannot be opened, a side that does not exist or cannot be listed.
pub fn run(paths: &Paths, global: &GlobalArgs, args: &CryptcheckArgs) -> Result<ExitCode> {
    let src_loc = Location::parse(&args.source)?;
    let dst_loc = Location::parse(&args.dest)?;
    let Location::Remote { name, .. } = &dst_loc else {
        bail!(
            "{:?} is not a remote: give a crypt remote such as `secret:`",
            args.dest
        );
    };
    let mut config = RcloneConfig::load(&paths.rcloneconf)?;
    config.apply_process_env_overrides();
    crypt_section(&config, name, &paths.rcloneconf)?;
    let src = open_backend(&config, &src_loc)
        .with_context(|| format!("cannot open the source {}", args.source))?;
    let dst = open_backend(&config, &dst_loc)
        .with_context(|| format!("cannot open the destination {}", args.dest))?;
    let progress = Progress::for_run(args.no_progress, global.quiet);
    let runtime = crate::engine::runtime()?;
    let filter = args.filter.build()?;
    let stats = runtime.block_on(check(
        src.as_ref(),
        dst.as_ref(),
        args.checkers,
        &filter,
        &progress,
    ))?;
    let (src_name, dst_name) = (src.describe(), dst.describe());
    if stats.missing_on_dst > 0 {
        say!(
            "NOTICE: '{dst_name}': {} files missing",
            stats.missing_on_dst
        );
    }
    if stats.missing_on_src > 0 {
        say!(
            "NOTICE: '{src_name}': {} files missing",
            stats.missing_on_src
        );
    }
    say!(
        "NOTICE: '{dst_name}': {} differences found",
        stats.differences()
    );
    if stats.errors > 0 {
        say!(
            "NOTICE: '{dst_name}': {} errors while checking",
            stats.errors
        );
    }
    say!("NOTICE: '{dst_name}': {} matching files", stats.matching);
    Ok(if stats.differences() == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
