//! The sync engine: make a destination match a source (`sync`) or add to it (`copy`), with
//! rclone's semantics.
//!
//! [`sync`] runs in two steps, *plan then execute*:
//!
//! 1. [`plan::plan`] lists both sides at once and compares them: a file is transferred when it
//!    is missing on the destination, its size differs, or its modification times differ by more
//!    than the coarser precision of the two backends. Where a listing carries no modification
//!    times (object stores), sizes are compared first and only files of equal size are
//!    `stat`ed, `checkers` at a time. The [`Plan`] lists copies (with a [`CopyReason`]),
//!    deletes, directories to make and to remove, and the problems met.
//! 2. [`execute`] runs the copies `transfers` at a time (a failed file is reported on stderr
//!    and counted, not fatal), then, *last and only when the run had no error at all*, the
//!    deletes: files first, then directories deepest first. With `dry_run` it prints what would
//!    change and changes nothing.
//!
//! [`check::check`] compares two locations' contents without changing either (`cryptcheck`).
//!
//! Safety rules: a source that does not exist, or whose listing fails, is an error before
//! anything changes. Any error of the run (a failed transfer, a failed `stat`, a type clash, a
//! problem reported through [`SyncOptions::source_problems`]) cancels the whole delete phase,
//! as rclone does ("not deleting N files because there were errors"). An *empty* source is not
//! an error (rclone semantics: `sync` empties the destination); [`SyncStats`] carries the
//! source and destination file counts and the planned deletes so that a caller (`backup`) can
//! refuse such a run beforehand through [`SyncOptions::max_delete`].
//!
//! ```ignore
//! // In an async command, with backends from `remote::open_backend`:
//! let stats = sync(src, dst, &SyncOptions::default(), &Progress::hidden()).await?;
//! eprintln!("{} files copied, {} errors", stats.transferred, stats.errors);
//! ```

pub mod check;
pub mod execute;
pub mod plan;
#[cfg(test)]
pub(crate) mod testing;

use std::sync::Arc;

use anyhow::Result;

pub use self::plan::{CopyReason, Plan};
use crate::progress::Progress;
use crate::remote::backend::Backend;

/// Default number of files transferred at once (rclone's `--transfers`).
pub const DEFAULT_TRANSFERS: usize = 4;
/// Default number of `stat`s run at once while comparing (rclone's `--checkers`).
pub const DEFAULT_CHECKERS: usize = 2 * DEFAULT_TRANSFERS;

/// Most files transferred at once that `--transfers` accepts. Each transfer between two local
/// folders is a thread of its own holding up to [`execute::WHOLE_FILE_SIZE`] bytes (twice, plain
/// and sealed), and elsewhere an open connection: 256 keeps that under a gigabyte of memory and
/// far under the threads and open files a system allows a user, while being many times what a
/// disk or a link needs to stay busy (rclone's own default is 4).
pub const MAX_TRANSFERS: usize = 256;
/// Most `stat`s run at once that `--checkers` accepts: each is a request in flight (or a
/// blocking-pool task on a local folder), so the bound follows [`MAX_TRANSFERS`].
pub const MAX_CHECKERS: usize = MAX_TRANSFERS;

/// A callback returning problems met while listing the source, e.g. names a crypt source could
/// not decrypt (see [`SyncOptions::source_problems`]).
pub type SourceProblems = Box<dyn Fn() -> Vec<String> + Send + Sync>;

/// What a run does; plain data with [`Default`], filled by the commands from their flags.
pub struct SyncOptions {
    /// Print what would change and change nothing.
    pub dry_run: bool,
    /// Compare files of equal size by content (reading both sides) rather than by modification
    /// time; see [`plan`].
    pub checksum: bool,
    /// Files transferred at once (at least 1).
    pub transfers: usize,
    /// `stat`s run at once while comparing (at least 1).
    pub checkers: usize,
    /// Delete destination files missing from the source: `true` for `sync`, `false` for `copy`.
    pub delete: bool,
    /// Refuse the whole delete phase (counting one error) when it would delete more files than
    /// this. `None`: no limit. The hook of `backup`'s guard against wiping a destination.
    pub max_delete: Option<u64>,
    /// Log each action (`INFO  : path: Copied (new)`).
    pub verbose: bool,
    /// Problems of the source listing that its [`Backend`] cannot return as an error, e.g. the
    /// names a crypt source skipped because they do not decrypt. Called once, after listing
    /// and before anything changes; each string returned is printed and counted as an error
    /// of the run, which therefore deletes nothing. `None`: no such problems.
    pub source_problems: Option<SourceProblems>,
}

impl Default for SyncOptions {
    fn default() -> SyncOptions {
        SyncOptions {
            dry_run: false,
            checksum: false,
            transfers: DEFAULT_TRANSFERS,
            checkers: DEFAULT_CHECKERS,
            delete: true,
            max_delete: None,
            verbose: false,
            source_problems: None,
        }
    }
}

impl std::fmt::Debug for SyncOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SyncOptions")
            .field("dry_run", &self.dry_run)
            .field("checksum", &self.checksum)
            .field("transfers", &self.transfers)
            .field("checkers", &self.checkers)
            .field("delete", &self.delete)
            .field("max_delete", &self.max_delete)
            .field("verbose", &self.verbose)
            .field("source_problems", &self.source_problems.is_some())
            .finish()
    }
}

/// What a run found and did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyncStats {
    /// Files listed on the source.
    pub src_files: u64,
    /// Files listed on the destination (0 when it did not exist).
    pub dst_files: u64,
    /// Files the plan copies.
    pub planned_copies: u64,
    /// Bytes the plan copies.
    pub planned_bytes: u64,
    /// Destination files the plan deletes (0 for `copy`).
    pub planned_deletes: u64,
    /// Files transferred.
    pub transferred: u64,
    /// Bytes transferred.
    pub bytes: u64,
    /// Source files compared with an existing destination file.
    pub checked: u64,
    /// Destination files deleted.
    pub deleted: u64,
    /// Directories made on the destination.
    pub dirs_created: u64,
    /// Directories removed from the destination.
    pub dirs_removed: u64,
    /// Errors of the run: failed files, problems of the listing. Non-zero means the run did not
    /// fully succeed and deleted nothing.
    pub errors: u64,
    /// The delete phase had work and was skipped because of errors or `max_delete`.
    pub deletes_skipped: bool,
}

impl SyncStats {
    /// The line a dry run ends with: what the run would have transferred and deleted.
    pub fn dry_run_notice(&self, label: &str) -> String {
        let deletes = if self.deletes_skipped {
            0
        } else {
            self.planned_deletes
        };
        let label = if label.is_empty() {
            String::new()
        } else {
            format!("{label}: ")
        };
        format!(
            "NOTICE: {label}dry run: would transfer {} files ({}) and delete {deletes} files",
            self.planned_copies,
            crate::progress::format_bytes(self.planned_bytes),
        )
    }
}

/// Makes `dst` match `src` (or, with `delete == false`, copies what is new or changed).
///
/// # Errors
/// Only failures that stop the run before anything changes: the source does not exist, a
/// listing of either side fails. Failures of single files are printed,
/// counted in [`SyncStats::errors`] and returned in `Ok`.
pub async fn sync(
    src: Arc<dyn Backend>,
    dst: Arc<dyn Backend>,
    opts: &SyncOptions,
    progress: &Progress,
) -> Result<SyncStats> {
    let plan = plan::plan(src.as_ref(), dst.as_ref(), opts).await?;
    let extra: Vec<String> = opts
        .source_problems
        .as_ref()
        .map(|problems| problems())
        .unwrap_or_default();
    let stats = execute::execute(src.as_ref(), dst.as_ref(), &plan, &extra, opts, progress).await;
    progress.finish();
    Ok(stats)
}

#[cfg(test)]
mod tests;
