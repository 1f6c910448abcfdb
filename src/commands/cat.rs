//! `poof cat REMOTE:PATH [--offset N] [--count N]`: a file's contents on stdout, as `rclone cat`
//! writes them; a directory's files one after another in listing order.
//!
//! `--offset` counts from the start (from the end when negative), `--count` limits the bytes
//! per file (all of them when negative). An `--offset` past the end of a file is an error (as
//! rclone says over a crypt remote); one from the end larger than the file starts at its first
//! byte. Ranged reads of crypt files fetch only the blocks the
//! range needs.

use std::ops::Range;
use std::process::ExitCode;

use std::io::Write;

use anyhow::{bail, Context, Result};
use tokio::io::AsyncReadExt;

use super::target::{resolve, sort_walk_order, Target};
use crate::cli::CatArgs;
use crate::config::Paths;
use crate::remote::backend::Backend;

/// Size of the buffer between a file and stdout.
const COPY_BUFFER_SIZE: usize = 256 * 1024;

/// The byte range of a file of `size` bytes selected by rclone's `--offset` and `--count`;
/// `None` for the whole file.
fn byte_range(size: u64, offset: i64, count: i64) -> Option<Range<u64>> {
    if offset == 0 && count < 0 {
        return None;
    }
    let start = if offset >= 0 {
        offset.unsigned_abs().min(size)
    } else {
        size.saturating_sub(offset.unsigned_abs())
    };
    let end = if count >= 0 {
        start.saturating_add(count.unsigned_abs()).min(size)
    } else {
        size
    };
    Some(start..end)
}

/// Copies one file to stdout.
async fn copy_file(
    backend: &dyn Backend,
    path: &str,
    size: u64,
    args: &CatArgs,
    out: &mut impl Write,
) -> Result<()> {
    if args.offset > 0 && args.offset.unsigned_abs() > size {
        // As rclone over a crypt remote: an offset past the end is an error, not an empty read.
        bail!(
            "{path}: --offset {} is beyond the end of the file ({size} bytes)",
            args.offset
        );
    }
    let range = byte_range(size, args.offset, args.count);
    if range.as_ref().is_some_and(|r| r.start >= r.end) {
        return Ok(());
    }
    let mut data = backend.open(path, range).await?;
    let mut buf = vec![0u8; COPY_BUFFER_SIZE];
    loop {
        let n = data
            .read(&mut buf)
            .await
            .with_context(|| format!("cannot read {}/{path}", backend.describe()))?;
        if n == 0 {
            return Ok(());
        }
        out.write_all(buf.get(..n).unwrap_or_default())
            .context("cannot write to standard output")?;
    }
}

/// Runs the command.
///
/// # Errors
/// The location cannot be resolved or read, or stdout is closed.
pub async fn run(paths: &Paths, args: &CatArgs) -> Result<ExitCode> {
    let target = resolve(paths, &args.location, true).await?;
    let mut out = std::io::stdout().lock();
    match &target {
        Target::File { backend, entry } => {
            copy_file(backend.as_ref(), &entry.path, entry.size, args, &mut out).await?;
        }
        Target::Dir {
            backend, entries, ..
        } => {
            let mut files: Vec<_> = entries.iter().filter(|e| !e.is_dir()).cloned().collect();
            sort_walk_order(&mut files);
            for file in &files {
                copy_file(backend.as_ref(), &file.path, file.size, args, &mut out).await?;
            }
        }
    }
    out.flush().context("cannot write to standard output")?;
    if target.report_problems() > 0 {
        say!("poof: error: some names could not be decrypted");
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_file_needs_no_range() {
        assert_eq!(byte_range(10, 0, -1), None);
    }

    #[test]
    fn offset_and_count_clamp_to_size() {
        assert_eq!(byte_range(10, 3, 4), Some(3..7));
        assert_eq!(byte_range(10, 8, 100), Some(8..10));
        assert_eq!(byte_range(10, 20, 5), Some(10..10));
        assert_eq!(byte_range(10, 0, 0), Some(0..0));
    }

    #[test]
    fn negative_offset_counts_from_the_end() {
        assert_eq!(byte_range(10, -3, -1), Some(7..10));
        assert_eq!(byte_range(10, -30, 2), Some(0..2));
    }
}
