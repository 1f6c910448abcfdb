//! `poof ls REMOTE:PATH`: every file below a location, recursively, as `size path` lines
//! exactly as `rclone ls` prints them (size right-aligned in nine columns).

use std::io::Write;
use std::process::ExitCode;

use anyhow::{Context, Result};

use super::target::{resolve, sort_walk_order};
use crate::cli::LsArgs;
use crate::config::Paths;
use crate::remote::encoding::printable;

/// Runs the command.
///
/// # Errors
/// The location cannot be resolved or listed, or stdout is closed.
pub async fn run(paths: &Paths, args: &LsArgs) -> Result<ExitCode> {
    let target = resolve(paths, &args.location, true).await?;
    let mut files: Vec<_> = target
        .entries()
        .iter()
        .filter(|e| !e.is_dir())
        .cloned()
        .collect();
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
