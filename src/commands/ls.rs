//! `poof ls REMOTE:PATH`: every file below a location, recursively, as `size path` lines
//! exactly as `rclone ls` prints them (size right-aligned in nine columns); rclone's filter
//! flags choose which ([`crate::filter`]).

use std::io::Write;
use std::process::ExitCode;

use anyhow::{Context, Result};

use super::target::{fill_mtimes, resolve, sort_walk_order};
use crate::cli::LsArgs;
use crate::config::Paths;
use crate::remote::encoding::printable;

/// Runs the command.
///
/// # Errors
/// The location cannot be resolved or listed, or stdout is closed.
pub async fn run(paths: &Paths, args: &LsArgs) -> Result<ExitCode> {
    let filter = args.filter.build()?;
    let target = resolve(paths, &args.location, true).await?;
    let mut entries = target.entries().to_vec();
    if !filter.is_empty() {
        if filter.needs_mtime() && !target.backend().features().mtime_in_listing {
            fill_mtimes(target.backend().as_ref(), &mut entries).await?;
        }
        filter.retain(&mut entries);
    }
    let mut files: Vec<_> = entries.into_iter().filter(|e| !e.is_dir()).collect();
    sort_walk_order(&mut files);
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    for file in &files {
        // Names in rclone's Standard form; a plain remote's raw control characters too.
        writeln!(out, "{:>9} {}", file.size, printable(&file.path))
            .context("cannot write to standard output")?;
    }
    out.flush().context("cannot write to standard output")?;
    Ok(target.listing_exit())
}
