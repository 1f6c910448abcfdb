//! Planning: list both sides, compare, and say what must change — without changing anything.
//!
//! [`plan`] lists the source and the destination recursively at the same time and compares
//! them path by path. A source file is copied when the destination lacks it
//! ([`CopyReason::New`]), when the sizes differ ([`CopyReason::SizeDiffers`]), or when the
//! modification times differ by more than the coarser [`Features::mtime_precision`] of the two
//! backends ([`CopyReason::MtimeDiffers`]), which is rclone's "modify window". A side whose
//! listing carries no modification times (an object store) is `stat`ed only for files whose
//! sizes already match, `checkers` at a time. When a side has no modification time even after
//! `stat` (an object written without rclone's metadata), equal sizes count as equal, as rclone
//! does for backends without modification times.
//!
//! With [`SyncOptions::checksum`], files of equal size are compared by content instead of
//! modification time ([`CopyReason::ContentDiffers`]): no backend exposes hashes, so both sides
//! are read, `checkers` files at a time — cheap on local folders, a full download on object
//! stores. As with rclone's `--checksum`, modification times are then not compared.
//!
//! A file on one side where the other has a directory, or a `stat` that fails, is a *problem*:
//! it is not copied, and since problems are errors of the run, nothing is deleted.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, SystemTime};

use anyhow::{bail, Context, Result};
use futures::stream::{self, StreamExt};

use super::check::{compare, Compared};
use super::SyncOptions;
use crate::progress::Progress;
use crate::remote::backend::{Backend, Entry, Features};

/// Why a file is copied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CopyReason {
    /// The destination has no such file.
    New,
    /// Sizes differ.
    SizeDiffers,
    /// Sizes match; modification times differ by more than the modify window.
    MtimeDiffers,
    /// Sizes match; contents differ (with [`SyncOptions::checksum`]).
    ContentDiffers,
}

impl std::fmt::Display for CopyReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            CopyReason::New => "new",
            CopyReason::SizeDiffers => "size differs",
            CopyReason::MtimeDiffers => "modification time differs",
            CopyReason::ContentDiffers => "contents differ",
        })
    }
}

/// Counts the guards and the summary need.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PlanStats {
    /// Files listed on the source.
    pub src_files: u64,
    /// Bytes of the files listed on the source.
    pub src_bytes: u64,
    /// Files listed on the destination.
    pub dst_files: u64,
    /// The destination existed before the run.
    pub dst_existed: bool,
    /// Source files compared with an existing destination file.
    pub checked: u64,
    /// Bytes of the planned copies.
    pub copy_bytes: u64,
}

/// What a run changes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    /// Source entries to copy (with the source modification time once known), in path order.
    pub copies: Vec<(Entry, CopyReason)>,
    /// Destination files to delete (empty unless [`SyncOptions::delete`]), in path order.
    pub deletes: Vec<Entry>,
    /// Directories to make on the destination, parents first (real-dirs destinations only;
    /// `""` is the destination root when it does not exist yet).
    pub mkdirs: Vec<String>,
    /// Destination directories to remove, deepest first (with [`SyncOptions::delete`], on
    /// real-dirs destinations only).
    pub rmdirs: Vec<String>,
    /// Problems met while comparing: each is one message naming a path, and an error of the
    /// run.
    pub problems: Vec<String>,
    /// Problems the listings of both sides returned ([`Listing::problems`]: names that do
    /// not decrypt...): errors of the run too, kept apart so that guards can tell wrong keys
    /// from a folder never backed up.
    pub listing_problems: Vec<String>,
    /// Counts.
    pub stats: PlanStats,
}

/// Files and directories of one side, by path.
#[derive(Default)]
struct Side {
    files: BTreeMap<String, Entry>,
    dirs: BTreeSet<String>,
}

impl Side {
    fn from_listing(entries: Vec<Entry>) -> Side {
        let mut side = Side::default();
        for entry in entries {
            if entry.is_dir() {
                side.dirs.insert(entry.path);
            } else {
                side.files.insert(entry.path.clone(), entry);
            }
        }
        side
    }
}

/// A source file of the same size as its destination counterpart, whose modification times
/// are still to be read.
struct Pending {
    src: Entry,
    dst: Entry,
}

/// What checking one [`Pending`] file concluded.
enum Checked {
    Copy(Entry, CopyReason),
    Equal,
    Problem(String),
}

/// Lists both sides and compares them (see the module docs).
///
/// # Errors
/// The source does not exist, or either listing fails: nothing may change then. Failures of
/// single files are recorded in [`Plan::problems`].
pub async fn plan(src: &dyn Backend, dst: &dyn Backend, opts: &SyncOptions) -> Result<Plan> {
    if !dst.features().writable {
        bail!(
            "{} is read-only (an http remote, or a past state): poof cannot write to it; nothing was read or changed",
            dst.describe()
        );
    }
    let (src_list, dst_list) = tokio::join!(src.list("", true), dst.list("", true));
    let src_list = src_list.with_context(|| {
        format!(
            "cannot list the source {}: nothing was changed",
            src.describe()
        )
    })?;
    let Some(src_list) = src_list else {
        bail!(
            "the source {} does not exist: nothing was changed",
            src.describe()
        );
    };
    let dst_list = dst_list.with_context(|| {
        format!(
            "cannot list the destination {}: nothing was changed",
            dst.describe()
        )
    })?;
    let mut listing_problems = src_list.problems;
    let dst_list = dst_list.map(|listing| {
        listing_problems.extend(listing.problems);
        listing.entries
    });
    let (src_features, dst_features) = (src.features(), dst.features());
    let window = src_features
        .mtime_precision
        .max(dst_features.mtime_precision);

    let mut plan = Plan {
        listing_problems,
        ..Plan::default()
    };
    plan.stats.dst_existed = dst_list.is_some();
    let source = Side::from_listing(src_list.entries);
    let dest = Side::from_listing(dst_list.unwrap_or_default());
    plan.stats.src_files = source.files.len() as u64;
    plan.stats.src_bytes = total_size(source.files.values());
    plan.stats.dst_files = dest.files.len() as u64;

    if !plan.stats.dst_existed && dst_features.real_dirs {
        plan.mkdirs.push(String::new());
    }
    let mut pending = Vec::new();
    let mut by_content = Vec::new();
    for (path, entry) in &source.files {
        if dest.dirs.contains(path) {
            plan.problems.push(format!(
                "{path}: is a file on the source but a directory on the destination; not copied"
            ));
            continue;
        }
        let Some(existing) = dest.files.get(path) else {
            plan.copies.push((entry.clone(), CopyReason::New));
            continue;
        };
        plan.stats.checked += 1;
        if entry.size != existing.size {
            plan.copies.push((entry.clone(), CopyReason::SizeDiffers));
        } else if opts.checksum {
            by_content.push((entry, existing));
        } else if needs_stat(entry, src_features) || needs_stat(existing, dst_features) {
            pending.push(Pending {
                src: entry.clone(),
                dst: existing.clone(),
            });
        } else if mtimes_differ(entry.mtime, existing.mtime, window) {
            plan.copies.push((entry.clone(), CopyReason::MtimeDiffers));
        }
    }

    let checked: Vec<Checked> = stream::iter(pending)
        .map(|p| check(src, dst, p, src_features, dst_features, window))
        .buffer_unordered(opts.checkers.max(1))
        .collect()
        .await;
    for outcome in checked {
        match outcome {
            Checked::Copy(entry, reason) => plan.copies.push((entry, reason)),
            Checked::Equal => {}
            Checked::Problem(message) => plan.problems.push(message),
        }
    }
    let no_progress = Progress::hidden();
    let compared: Vec<(&Entry, Compared)> = stream::iter(by_content)
        .map(|(s, d)| {
            let no_progress = &no_progress;
            async move { (s, compare(src, dst, s, d, no_progress).await) }
        })
        .buffer_unordered(opts.checkers.max(1))
        .collect()
        .await;
    for (entry, outcome) in compared {
        match outcome {
            Compared::Same => {}
            Compared::Differ(_) => plan
                .copies
                .push((entry.clone(), CopyReason::ContentDiffers)),
            Compared::Failed(why) => plan.problems.push(format!("{}: {why}", entry.path)),
        }
    }
    plan.copies.sort_by(|a, b| a.0.path.cmp(&b.0.path));
    plan.problems.sort();

    for dir in &source.dirs {
        if dest.files.contains_key(dir) {
            plan.problems.push(format!(
                "{dir}: is a directory on the source but a file on the destination; not made"
            ));
        } else if dst_features.real_dirs && !dest.dirs.contains(dir) {
            plan.mkdirs.push(dir.clone());
        }
    }
    if opts.delete {
        plan.deletes = dest
            .files
            .iter()
            .filter(|(path, _)| !source.files.contains_key(*path))
            .map(|(_, entry)| entry.clone())
            .collect();
        if dst_features.real_dirs {
            // Reverse path order puts every directory after all of its descendants.
            plan.rmdirs = dest
                .dirs
                .iter()
                .rev()
                .filter(|dir| !source.dirs.contains(*dir))
                .cloned()
                .collect();
        }
    }
    plan.stats.copy_bytes = total_size(plan.copies.iter().map(|(e, _)| e));
    Ok(plan)
}

/// Sum of sizes, saturating: listed sizes come from storage and are not trusted.
fn total_size<'a>(entries: impl Iterator<Item = &'a Entry>) -> u64 {
    entries.fold(0, |sum, e| sum.saturating_add(e.size))
}

/// The listing of this side lacks the modification time and a `stat` has it.
fn needs_stat(entry: &Entry, features: Features) -> bool {
    entry.mtime.is_none() && !features.mtime_in_listing
}

/// rclone's rule: times differ when both are known and further apart than the window.
pub fn mtimes_differ(a: Option<SystemTime>, b: Option<SystemTime>, window: Duration) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => {
            let diff = a.duration_since(b).unwrap_or_else(|e| e.duration());
            diff > window
        }
        _ => false,
    }
}

/// Reads the missing modification times of one file of equal size on both sides and compares.
async fn check(
    src: &dyn Backend,
    dst: &dyn Backend,
    mut p: Pending,
    src_features: Features,
    dst_features: Features,
    window: Duration,
) -> Checked {
    let src_stat = async {
        if needs_stat(&p.src, src_features) {
            src.stat(&p.src.path).await.map(Some)
        } else {
            Ok(None)
        }
    };
    let dst_stat = async {
        if needs_stat(&p.dst, dst_features) {
            dst.stat(&p.dst.path).await.map(Some)
        } else {
            Ok(None)
        }
    };
    let (src_stat, dst_stat) = tokio::join!(src_stat, dst_stat);
    match src_stat {
        Err(e) => {
            return Checked::Problem(format!("{}: cannot stat the source: {e:#}", p.src.path))
        }
        Ok(Some(None)) => {
            return Checked::Problem(format!(
                "{}: vanished from the source while comparing",
                p.src.path
            ))
        }
        Ok(Some(Some(found))) => p.src.mtime = found.mtime,
        Ok(None) => {}
    }
    match dst_stat {
        Err(e) => {
            return Checked::Problem(format!(
                "{}: cannot stat the destination: {e:#}",
                p.dst.path
            ))
        }
        Ok(Some(None)) => return Checked::Copy(p.src, CopyReason::New),
        Ok(Some(Some(found))) => p.dst.mtime = found.mtime,
        Ok(None) => {}
    }
    if mtimes_differ(p.src.mtime, p.dst.mtime, window) {
        Checked::Copy(p.src, CopyReason::MtimeDiffers)
    } else {
        Checked::Equal
    }
}
