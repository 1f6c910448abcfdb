//! The sync engine: make a destination match a source (`sync`) or add to it (`copy`), with
//! rclone's semantics.
//!
//! [`sync`] runs in two steps, *plan then execute*:
//!
//! 1. [`plan::plan`] lists both sides at once and compares them: a file is transferred when it
//!    is missing on the destination, its size differs, or its modification times differ by more
//!    than the coarser precision of the two backends. Where a listing carries no modification
//!    times (object stores), sizes are compared first and only files of equal size are
//!    `stat`ed, `checkers` at a time (four times more over an HTTP store, where each waits on
//!    a round trip). Local folders are walked folder by folder, and a long plan is kept on
//!    disk ([`spool`]): memory follows the largest folder, not the tree. The [`Plan`] lists
//!    copies (with a [`CopyReason`]), deletes, directories to make and to remove, and the
//!    problems met.
//! 2. [`run_plan`] runs the copies ([`execute`]) `transfers` at a time (a failed file is reported on stderr
//!    and counted, not fatal), then, *last and only when the run had no error at all*, the
//!    deletes: files first, then directories deepest first. With `dry_run`, [`dry_run`]
//!    prints the plan instead, and nothing runs.
//!
//! [`check::check`] compares two locations' contents without changing either (`cryptcheck`).
//!
//! Safety rules: a source that does not exist, or whose listing fails, is an error before
//! anything changes. Any error of the run (a failed transfer, a failed `stat`, a type clash, a
//! problem a listing returned, such as a name that does not decrypt) cancels the whole delete
//! phase, as rclone does ("not deleting N files because there were errors"). An *empty* source
//! is not an error (rclone semantics: `sync` empties the destination); the [`Plan`] carries the
//! counts with which the folder engine ([`crate::engine`]) refuses such a run beforehand.
//!
//! ```ignore
//! // On a multi-thread runtime, with backends from `remote::open_backend`:
//! let stats = sync(src.as_ref(), dst.as_ref(), &SyncOptions::default(), &Progress::hidden())
//!     .await?;
//! say!("{} files copied, {} errors", stats.transferred, stats.errors);
//! ```

pub mod check;
pub mod dry_run;
pub mod execute;
pub mod plan;
pub mod spool;
#[cfg(test)]
pub(crate) mod testing;

use anyhow::Result;

pub use self::plan::{CopyReason, Plan};
use crate::progress::Progress;
use crate::remote::backend::Backend;

/// Default number of files transferred at once (rclone's `--transfers`).
pub const DEFAULT_TRANSFERS: usize = 4;
/// Default number of `stat`s run at once while comparing (rclone's `--checkers`).
pub const DEFAULT_CHECKERS: usize = 2 * DEFAULT_TRANSFERS;

/// Most files transferred at once that `--transfers` accepts. Each transfer is a thread of its
/// own holding up to [`execute::WHOLE_FILE_SIZE`] bytes (twice, plain and sealed), and on an
/// object store an open connection too: 256 keeps that under a gigabyte of memory and
/// far under the threads and open files a system allows a user, while being many times what a
/// disk or a link needs to stay busy (rclone's own default is 4).
pub const MAX_TRANSFERS: usize = 256;
/// Most `stat`s run at once that `--checkers` accepts: each is a request in flight (or a
/// blocking-pool task on a local folder), so the bound follows [`MAX_TRANSFERS`].
pub const MAX_CHECKERS: usize = MAX_TRANSFERS;

/// Prefix of lines reporting an error.
const ERROR: &str = "ERROR : ";
/// Prefix of lines reporting an action with `-v`.
const INFO: &str = "INFO  : ";
/// Prefix of lines reporting what a dry run skipped.
const NOTICE: &str = "NOTICE: ";

/// What a run does; plain data with [`Default`], filled by the commands from their flags.
#[derive(Debug, Clone)]
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
    /// Log each action (`INFO  : path: Copied (new)`).
    pub verbose: bool,
    /// Keep the versions the run replaces or deletes (history) instead of losing them; `None`:
    /// a mirror, as rclone's sync.
    pub keep: Option<Keep>,
    /// Which files the run takes (rclone's filter rules; empty: all). A file or folder left
    /// out on either side is neither copied nor deleted, nor counted by the guards.
    pub filter: std::sync::Arc<crate::filter::Filter>,
    /// Delete destination files the filter leaves out (rclone's `--delete-excluded`; only
    /// with [`SyncOptions::delete`]).
    pub delete_excluded: bool,
    /// The run's bandwidth limits (`--bwlimit`), one set of buckets shared by every transfer;
    /// `None`: not given (a folder run then takes poof.conf's `"bwlimit"`), no limit.
    pub bwlimit: Option<crate::bwlimit::Limiter>,
    /// Which of those limits the copies draw from: uploads, downloads or both.
    pub flow: crate::bwlimit::Flow,
}

/// Where the versions a run replaces or deletes go, moved on the storage itself
/// ([`Backend::rename`]), as rclone's `--backup-dir` does: a replaced file just before its new
/// version is written, a deleted file in the delete phase (so only after a run with no error,
/// and counted as a delete by every guard).
#[derive(Clone)]
pub struct Keep {
    /// The storage holding both the destination and the folder versions go to.
    pub root: std::sync::Arc<dyn Backend>,
    /// The destination's path below `root` (`""`: the root itself).
    pub from: String,
    /// The folder below `root` the versions go to, outside the destination.
    pub to: String,
}

impl Keep {
    /// Where the version of `path` (relative to the destination) goes, relative to `root`.
    pub fn kept_path(&self, path: &str) -> String {
        join(&self.to, path)
    }

    /// Moves the version of `path` (relative to the destination) out of the way, into
    /// [`Keep::to`].
    ///
    /// # Errors
    /// The move fails; the version is then still where it was.
    pub async fn keep(&self, path: &str) -> Result<()> {
        self.root
            .rename(&join(&self.from, path), &self.kept_path(path))
            .await
    }
}

impl std::fmt::Debug for Keep {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keep")
            .field("root", &self.root.describe())
            .field("from", &self.from)
            .field("to", &self.to)
            .finish()
    }
}

/// Joins a relative folder (maybe `""`) and a relative path.
fn join(dir: &str, path: &str) -> String {
    if dir.is_empty() {
        path.to_owned()
    } else {
        format!("{dir}/{path}")
    }
}

impl Default for SyncOptions {
    fn default() -> SyncOptions {
        SyncOptions {
            dry_run: false,
            checksum: false,
            transfers: DEFAULT_TRANSFERS,
            checkers: DEFAULT_CHECKERS,
            delete: true,
            verbose: false,
            keep: None,
            filter: std::sync::Arc::default(),
            delete_excluded: false,
            bwlimit: None,
            flow: crate::bwlimit::Flow::default(),
        }
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
    /// Source files the filter left out (those of folders it left out are not listed).
    pub excluded: u64,
    /// Destination files deleted.
    pub deleted: u64,
    /// Directories made on the destination.
    pub dirs_created: u64,
    /// Directories removed from the destination.
    pub dirs_removed: u64,
    /// Errors of the run: failed files, problems of the listing. Non-zero means the run did not
    /// fully succeed and deleted nothing.
    pub errors: u64,
    /// Of the errors, source files and folders the local disk could not read (exit code 3
    /// when they are all the errors of a run).
    pub unreadable: u64,
    /// The delete phase had work and was skipped because of errors.
    pub deletes_skipped: bool,
    /// With [`SyncOptions::keep`]: the paths whose current version this run wrote (new and
    /// replaced files), in path order; the record that lets a past state be rebuilt.
    pub added: Vec<String>,
}

impl SyncStats {
    /// Adds the counts of another run (for totals over folders).
    pub fn add(&mut self, other: &SyncStats) {
        self.src_files += other.src_files;
        self.deletes_skipped |= other.deletes_skipped;
        self.transferred += other.transferred;
        self.bytes = self.bytes.saturating_add(other.bytes);
        self.checked += other.checked;
        self.excluded += other.excluded;
        self.deleted += other.deleted;
        self.errors += other.errors;
        self.unreadable += other.unreadable;
    }

    /// The exit code of this run: done, done but for source files the disk could not read,
    /// or an error.
    pub fn code(&self) -> crate::exit::Code {
        use crate::exit::Code;
        match self.errors {
            0 => Code::Done,
            n if n == self.unreadable => Code::Unreadable,
            _ => Code::Error,
        }
    }

    /// The summary line of this run ([`crate::progress::summary_line`]).
    pub fn summary(&self, elapsed: std::time::Duration) -> String {
        crate::progress::summary_line(
            self.transferred,
            self.bytes,
            self.checked,
            self.deleted,
            self.errors,
            elapsed,
        )
    }

    /// The counts of a plan about to run (or be printed), after printing its problems, each
    /// an error of the run.
    fn of_plan(plan: &Plan, progress: &Progress) -> SyncStats {
        let mut stats = SyncStats {
            src_files: plan.stats.src_files,
            dst_files: plan.stats.dst_files,
            planned_copies: plan.copies.len(),
            planned_bytes: plan.stats.copy_bytes,
            planned_deletes: plan.deletes.len(),
            checked: plan.stats.checked,
            excluded: plan.stats.excluded,
            unreadable: plan.unreadable,
            ..SyncStats::default()
        };
        for problem in plan.listing_problems.iter().chain(&plan.problems) {
            progress.log(&format!("{ERROR}{problem}"));
            stats.errors += 1;
        }
        stats
    }

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

/// Whether the delete phase of `plan` may run: it has work, and the run has had no error at
/// all (else the refusal is printed and recorded).
fn may_delete(plan: &Plan, progress: &Progress, stats: &mut SyncStats) -> bool {
    if plan.deletes.is_empty() && plan.rmdirs.is_empty() {
        return false;
    }
    if stats.errors > 0 {
        progress.log(&format!(
            "{ERROR}not deleting {} files because there were errors",
            plan.deletes.len()
        ));
        stats.deletes_skipped = true;
        return false;
    }
    true
}

/// How a path is shown in messages: the root has no path of its own.
fn shown<'a>(path: &'a str, backend: &'a dyn Backend) -> std::borrow::Cow<'a, str> {
    if path.is_empty() {
        backend.describe().into()
    } else {
        path.into()
    }
}

/// Runs a plan (see [`execute`]: never fails as a whole, every failure is printed and
/// counted in [`SyncStats::errors`]), or with [`SyncOptions::dry_run`] prints it.
pub async fn run_plan(
    src: &dyn Backend,
    dst: &dyn Backend,
    plan: &Plan,
    opts: &SyncOptions,
    progress: &Progress,
) -> SyncStats {
    if opts.dry_run {
        let stats = dry_run::dry_run(dst, plan, opts.keep.is_some(), progress);
        progress.finish();
        return stats;
    }
    let mut stats = SyncStats::of_plan(plan, progress);
    progress.set_length(plan.stats.copy_bytes, plan.copies.len());
    execute::make_dirs(dst, plan, opts, progress, &mut stats).await;
    execute::transfer_all(src, dst, plan, opts, progress, &mut stats).await;
    stats.added.sort_unstable();
    execute::delete_phase(dst, plan, opts, progress, &mut stats).await;
    execute::cleanup(dst, progress, &mut stats).await;
    progress.finish();
    stats
}

/// Makes `dst` match `src` (or, with `delete == false`, copies what is new or changed).
///
/// # Errors
/// Only failures that stop the run before anything changes: the source does not exist, a
/// listing of either side fails. Failures of single files are printed,
/// counted in [`SyncStats::errors`] and returned in `Ok`.
pub async fn sync(
    src: &dyn Backend,
    dst: &dyn Backend,
    opts: &SyncOptions,
    progress: &Progress,
) -> Result<SyncStats> {
    let plan = plan::plan(src, dst, opts).await?;
    Ok(run_plan(src, dst, &plan, opts, progress).await)
}

#[cfg(test)]
mod tests;
