//! One folder of poof.conf run in one direction, with the guards: the skeleton `backup`,
//! `upload` and `download` share.
//!
//! A run lists both sides and plans ([`crate::sync::plan::plan`]), then checks the plan
//! against the guards, then executes it (or, with `--dry-run`, prints it). The guards stop a
//! folder before anything changes, unless `--force`:
//!
//! - backup: the plan would delete more than `--max-delete` percent of the files already on
//!   the target (above all when the local folder is empty: a drive that did not mount, or the
//!   folder an `upload` emptied) ([`backup_refusal`]); the target is stored inside the folder
//!   itself (never forceable);
//! - restore: the target does not exist (never forceable); no name on it decrypts (wrong keys);
//!   it holds no file while the local folder has some; the sync would delete more than
//!   `--max-delete` percent of the local files ([`restore_refusal`]).
//!
//! Even with `--force`, names that do not decrypt are errors of the run, so nothing is deleted
//! then. Every folder ends with a summary line.

use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, Result};

use super::job::{real, Folder, Job};
use crate::bwlimit::Flow;
use crate::exit::Code;
use crate::history::{record, record_path, RunName};
use crate::progress::Progress;
use crate::remote::backend::{Backend, PutOptions};
use crate::remote::view::View;
use crate::sync::plan::{plan, CopyReason};
use crate::sync::{run_plan, Keep, Plan, SyncOptions, SyncStats};

/// How folder runs go; plain data the commands fill from their flags.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// The sync engine's options (`delete` is set by each kind of run).
    pub sync: SyncOptions,
    /// Errors and summaries only.
    pub quiet: bool,
    /// No progress bar or periodic progress lines.
    pub no_progress: bool,
    /// The command line's filter flags, joined to each folder's rules of poof.conf.
    pub filter: crate::filter::Spec,
    /// Print each folder's rules before its run (`--dump filters`).
    pub dump_filters: bool,
}

/// The delete guard of a run.
#[derive(Debug, Clone, Copy)]
pub struct Guard {
    /// Refuse a run that would delete more than this percentage of the files already on the
    /// side synced to.
    pub max_delete: u8,
    /// Run even when a guard refuses (names that do not decrypt still stop the deletes).
    pub force: bool,
}

/// What became of one folder.
#[derive(Debug)]
pub enum Outcome {
    /// The local folder does not exist.
    Skipped,
    /// A guard refused it; nothing changed. Why, in one line.
    Refused(String),
    /// The run could not start (listing failed, remote unreachable); nothing changed. The
    /// exit code and the error, in one line.
    Failed(Code, String),
    /// The run happened (with `stats.errors` errors).
    Ran(SyncStats),
}

impl Outcome {
    /// Counts this outcome into `totals`; true when the folder fully succeeded.
    pub fn count_into(&self, totals: &mut SyncStats) -> bool {
        match self {
            Outcome::Ran(stats) => {
                totals.add(stats);
                stats.errors == 0
            }
            Outcome::Skipped | Outcome::Refused(_) | Outcome::Failed(..) => {
                totals.errors += 1;
                false
            }
        }
    }

    /// The exit code of this folder ([`crate::exit`]): a folder that does not exist is a
    /// source that could not be read.
    pub fn code(&self) -> Code {
        match self {
            Outcome::Skipped => Code::Unreadable,
            Outcome::Refused(_) => Code::Refused,
            Outcome::Failed(code, _) => *code,
            Outcome::Ran(stats) => stats.code(),
        }
    }
}

/// Why a guard stops a folder.
#[derive(Debug, PartialEq, Eq)]
pub struct Refusal {
    /// One line, without the `poof: refused: label:` prefix.
    pub why: String,
    /// `--force` would let the run through.
    pub forceable: bool,
}

/// The guard's rule: deleting `deletes` of the `existing` files is more than `max_pct`
/// percent of them.
pub fn too_many_deletes(deletes: u64, existing: u64, max_pct: u8) -> bool {
    u128::from(deletes) * 100 > u128::from(existing) * u128::from(max_pct)
}

/// Why the guard refuses a backup plan, or `None` when it may run.
pub fn backup_refusal(plan: &Plan, guard: Guard) -> Option<Refusal> {
    let deletes = plan.deletes.len();
    let existing = plan.stats.dst_files;
    if deletes == 0 || guard.force || !too_many_deletes(deletes, existing, guard.max_delete) {
        return None;
    }
    let why = if plan.stats.src_files == 0 {
        format!(
            "the local folder is empty but the target holds {existing} files (a drive not mounted? a folder emptied by `poof upload`?); a backup would delete them all"
        )
    } else {
        format!(
            "the backup would delete {deletes} of the {existing} files on the target, more than --max-delete {}%",
            guard.max_delete
        )
    };
    Some(Refusal {
        why,
        forceable: true,
    })
}

/// Why the guards refuse a restore plan from `target` (whose keys are in `keys`), or `None`
/// when it may run.
pub fn restore_refusal(plan: &Plan, guard: Guard, target: &str, keys: &Path) -> Option<Refusal> {
    if guard.force {
        return None;
    }
    let (existing, deletes) = (plan.stats.dst_files, plan.deletes.len());
    let why = if let Some(first) = plan
        .listing_problems
        .first()
        .filter(|_| plan.stats.src_files == 0)
    {
        // Wrong keys only when no name decrypts; otherwise the names that do not are errors of
        // the run (reported, nothing deleted) and the rest is restored.
        format!(
            "{} names on {target} do not decrypt with the keys of {} (wrong password or password2?): {first}",
            plan.listing_problems.len(),
            keys.display()
        )
    } else if plan.stats.src_files == 0 && existing > 0 {
        format!("{target} holds no file but the local folder has {existing}")
    } else if deletes > 0 && too_many_deletes(deletes, existing, guard.max_delete) {
        format!(
            "the restore would delete {deletes} of the {existing} local files, more than --max-delete {}%",
            guard.max_delete
        )
    } else {
        return None;
    };
    Some(Refusal {
        why,
        forceable: true,
    })
}

/// Backs up one folder (see the module docs), printing its lines and its summary.
pub async fn backup_folder(job: &Job, folder: &Folder, run: &RunOptions, guard: Guard) -> Outcome {
    let label = folder.label();
    if !folder.local.is_dir() {
        say!(
            "poof: warning: skipping {label}: the folder does not exist (not mounted?); fix the path in {} or mount it",
            job.paths.poofconf.display()
        );
        return Outcome::Skipped;
    }
    let remote = match job.remote_backend(folder) {
        Ok(remote) => remote,
        Err(e) => return failed(&label, &e, ""),
    };
    if let Some(root) = job.local_root(&folder.target) {
        if real(&root).starts_with(real(&folder.local)) {
            let why = format!(
                "the target is stored in {}, inside the folder itself: a backup would copy the vault into itself",
                root.display()
            );
            let hint = format!(
                " (remove the folder from {} or move the vault)",
                job.paths.poofconf.display()
            );
            return refused(&label, &why, &hint);
        }
    }
    let keep = match job.keep(folder).await {
        Ok(keep) => keep,
        Err(e) => return failed(&label, &e, ""),
    };
    let filter = match job.filter(folder, run) {
        Ok(filter) => filter,
        Err(e) => return failed(&label, &e, "; nothing changed"),
    };
    let local = job.local_backend(folder, &folder.local, true);
    let mut sides = Sides::new(local, remote, label, &folder.target, Direction::Backup);
    sides.history = keep;
    sides.filter = filter;
    sides.bwlimit = job.bwlimit(run);
    sides
        .run(run, true, |plan| backup_refusal(plan, guard))
        .await
}

/// What a restore reads and where it writes (the default: the current files of the whole
/// folder, synced back into it).
#[derive(Default, Clone)]
pub struct Restore<'a> {
    /// Copy into `to/<cloud folder>` instead, deleting nothing.
    pub to: Option<&'a Path>,
    /// Read this past state of the folder ([`super::Past::snapshot`]) instead of its target.
    pub from: Option<Arc<dyn Backend>>,
    /// Only this file or folder below the folder (`""`: all of it); nothing else is read or
    /// changed on either side.
    pub only: String,
}

/// Restores one folder from its target, or from a past state of it (see the module docs and
/// [`Restore`]).
pub async fn restore_folder(
    job: &Job,
    folder: &Folder,
    scope: &Restore<'_>,
    run: &RunOptions,
    guard: Guard,
) -> Outcome {
    let dest = match scope.to {
        Some(dir) => dir.join(&folder.cloud),
        None => folder.local.clone(),
    };
    let dest = if scope.only.is_empty() {
        dest
    } else {
        dest.join(&scope.only)
    };
    let from = match &scope.from {
        Some(past) => Ok(Arc::clone(past)),
        None => job.remote_backend(folder),
    };
    let source = from
        .as_ref()
        .map_or_else(|_| folder.target.clone(), |r| r.describe());
    let source = if scope.only.is_empty() {
        source
    } else {
        format!("{}/{}", source.trim_end_matches('/'), scope.only)
    };
    let label = format!("{source} -> {}", dest.display());
    let mut remote = match from {
        Ok(remote) => remote,
        Err(e) => return failed(&label, &e, ""),
    };
    let mut local = match scope.to {
        Some(base) => match job.restore_backend(folder, base) {
            Ok(local) => local,
            Err(e) => return failed(&label, &e, "; nothing changed"),
        },
        None => job.local_backend(folder, &folder.local, false),
    };
    match remote.list("", false).await {
        Ok(Some(_)) => {}
        Ok(None) => return refused(&label, &missing_reason(job, folder).await, ""),
        Err(e) => return failed(&label, &e, "; nothing changed"),
    }
    if !scope.only.is_empty() {
        match remote.stat(&scope.only).await {
            Ok(Some(_)) => {}
            Ok(None) => {
                let why = format!("{source} does not exist: nothing to restore");
                return refused(&label, &why, "");
            }
            Err(e) => return failed(&label, &e, "; nothing changed"),
        }
        remote = Arc::new(View::below(remote, scope.only.clone()));
        local = Arc::new(View::below(local, scope.only.clone()));
    }
    // The folder's rules speak of paths below the folder: a restore of one path inside it
    // takes all of that path.
    let filter = if scope.only.is_empty() {
        match job.filter(folder, run) {
            Ok(filter) => filter,
            Err(e) => return failed(&label, &e, "; nothing changed"),
        }
    } else {
        Arc::default()
    };
    let keys = &job.paths.rcloneconf;
    let mut sides = Sides::new(remote, local, label, &folder.target, Direction::Restore);
    sides.filter = filter;
    sides.bwlimit = job.bwlimit(run);
    sides
        .run(run, scope.to.is_none(), |plan| {
            restore_refusal(plan, guard, &folder.target, keys)
        })
        .await
}

/// Which way a folder runs.
#[derive(Debug, Clone, Copy)]
enum Direction {
    /// Local folder -> target.
    Backup,
    /// Target -> local folder.
    Restore,
}

/// The two sides of one folder run, and how its messages name it.
struct Sides<'a> {
    src: Arc<dyn Backend>,
    dst: Arc<dyn Backend>,
    label: String,
    target: &'a str,
    direction: Direction,
    /// Where replaced and deleted versions go, the run and the cloud folder (backups of a
    /// poof.conf with a history).
    history: Option<(Keep, RunName)>,
    /// Which files the run takes: the folder's rules and the command line's.
    filter: Arc<crate::filter::Filter>,
    /// The run's bandwidth limits ([`Job::bwlimit`]).
    bwlimit: Option<crate::bwlimit::Limiter>,
}

impl<'a> Sides<'a> {
    fn new(
        src: Arc<dyn Backend>,
        dst: Arc<dyn Backend>,
        label: String,
        target: &'a str,
        direction: Direction,
    ) -> Sides<'a> {
        Sides {
            src,
            dst,
            label,
            target,
            direction,
            history: None,
            filter: Arc::default(),
            bwlimit: None,
        }
    }

    /// Plans, checks the plan with `guard`, then runs it (or prints it with `--dry-run`).
    async fn run(
        self,
        run: &RunOptions,
        delete: bool,
        guard: impl FnOnce(&Plan) -> Option<Refusal>,
    ) -> Outcome {
        let (verb, force_hint) = match self.direction {
            Direction::Backup => ("backup", " (--force to sync anyway)"),
            Direction::Restore => ("download", " (--force to restore anyway)"),
        };
        if !run.quiet {
            say!("poof: {verb} {}", self.label);
        }
        let opts = SyncOptions {
            delete,
            keep: self.history.as_ref().map(|(keep, _)| keep.clone()),
            filter: Arc::clone(&self.filter),
            bwlimit: self.bwlimit.clone(),
            flow: match self.direction {
                Direction::Backup => Flow::Upload,
                Direction::Restore => Flow::Download,
            },
            ..run.sync.clone()
        };
        let (src, dst) = (self.src.as_ref(), self.dst.as_ref());
        let mut planned = match plan(src, dst, &opts).await {
            Ok(planned) => planned,
            Err(e) => return failed(&self.label, &e, ""),
        };
        for problem in &mut planned.listing_problems {
            *problem = format!("{problem} (in {}); nothing will be deleted", self.target);
        }
        if let Some(refusal) = guard(&planned) {
            let hint = if refusal.forceable { force_hint } else { "" };
            return refused(&self.label, &refusal.why, hint);
        }
        let history = self.history.as_ref().filter(|_| !opts.dry_run);
        if let Some(history) = history {
            // The files the run will add, recorded before the first is written: a run killed
            // midway still tells its new files from older ones.
            let mut new = Vec::new();
            for copy in planned.copies.iter() {
                match copy {
                    Ok((entry, CopyReason::New)) => new.push(entry.path),
                    Ok(_) => {}
                    Err(e) => return failed(&self.label, &e, "; nothing changed"),
                }
            }
            new.sort_unstable();
            if !new.is_empty() {
                if let Err(e) = write_record(history, &new).await {
                    return failed(&self.label, &e, "; nothing changed");
                }
            }
        }
        let progress = Progress::for_run(run.no_progress, run.quiet);
        let mut stats = run_plan(src, dst, &planned, &opts, &progress).await;
        if let Some(history) = history.filter(|_| !stats.added.is_empty() || stats.deleted > 0) {
            // What it wrote, new and replaced.
            if let Err(e) = write_record(history, &stats.added).await {
                say!("ERROR : {e:#}");
                stats.errors += 1;
            }
        }
        if opts.dry_run {
            say!("{}", stats.dry_run_notice(&self.label));
        }
        if !run.quiet {
            say!("{}: {}", self.label, stats.summary(progress.elapsed()));
        }
        Outcome::Ran(stats)
    }
}

/// Records in the history the files a run adds or wrote, `added` sorted (see
/// [`crate::history::record`]); a later record of the same run replaces an earlier one.
///
/// # Errors
/// The record cannot be written.
async fn write_record((keep, run): &(Keep, RunName), added: &[String]) -> Result<()> {
    // The destination's place below the root is its cloud folder.
    let cloud = &keep.from;
    let path = record_path(*run, cloud);
    let data = record(cloud, added);
    let opts = PutOptions {
        size: Some(data.len() as u64),
        mtime: None,
    };
    keep.root
        .put(&path, Box::pin(std::io::Cursor::new(data)), opts)
        .await
        .with_context(|| format!("cannot write the history record {path}"))?;
    Ok(())
}

/// Prints a refusal in one line.
fn refused(label: &str, why: &str, hint: &str) -> Outcome {
    say!("poof: refused: {label}: {why}; nothing changed{hint}");
    Outcome::Refused(format!("{why}; nothing changed{hint}"))
}

/// Prints why a run could not start, in one line.
fn failed(label: &str, err: &anyhow::Error, tail: &str) -> Outcome {
    say!("poof: error: {label}: {err:#}{tail}");
    let code = match Code::of(err) {
        // The local side unreadable as a whole: the run did not happen.
        Code::Unreadable => Code::Error,
        code => code,
    };
    Outcome::Failed(code, format!("{err:#}{tail}"))
}

/// Why a target does not exist: for a crypt remote whose root lists names that do not
/// decrypt, wrong keys; otherwise never backed up (or a wrong bucket or remote).
async fn missing_reason(job: &Job, folder: &Folder) -> String {
    if let Ok(Some(root)) = job.crypt_root() {
        if let Ok(Some(listing)) = root.list("", false).await {
            if !listing.problems.is_empty() {
                return format!(
                    "{} does not exist and {} names at the root of {}: do not decrypt: wrong password or password2 in {}?",
                    folder.target,
                    listing.problems.len(),
                    job.conf.remote,
                    job.paths.rcloneconf.display()
                );
            }
        }
    }
    format!(
        "{} does not exist: nothing to restore (never backed up? check \"remote\" and \"bucket\" in {})",
        folder.target,
        job.paths.poofconf.display()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::remote::backend::{Entry, EntryKind};

    fn entry(path: &str) -> Entry {
        Entry {
            path: path.into(),
            kind: EntryKind::File,
            size: 1,
            mtime: None,
        }
    }

    fn plan_with(src_files: u64, dst_files: u64, deletes: usize) -> Plan {
        let mut p = Plan::default();
        p.stats.src_files = src_files;
        p.stats.dst_files = dst_files;
        p.deletes = (0..deletes).map(|i| entry(&format!("f{i}"))).collect();
        p
    }

    fn guard(max_delete: u8, force: bool) -> Guard {
        Guard { max_delete, force }
    }

    fn restore(plan: &Plan, guard: Guard) -> Option<String> {
        restore_refusal(plan, guard, "vault:docs", Path::new("keys.conf")).map(|r| r.why)
    }

    #[test]
    fn empty_source_over_populated_target_is_refused() {
        let why = backup_refusal(&plan_with(0, 3, 3), guard(50, false)).unwrap();
        assert!(why.why.contains("empty") && why.forceable, "{why:?}");
    }

    #[test]
    fn force_lets_an_empty_source_through() {
        assert!(backup_refusal(&plan_with(0, 3, 3), guard(50, true)).is_none());
    }

    #[test]
    fn half_of_the_files_is_allowed_more_is_not() {
        assert!(backup_refusal(&plan_with(2, 4, 2), guard(50, false)).is_none());
        let why = backup_refusal(&plan_with(1, 4, 3), guard(50, false)).unwrap();
        assert!(why.why.contains("3 of the 4"), "{why:?}");
    }

    #[test]
    fn no_deletes_is_never_refused_even_at_zero_percent() {
        assert!(backup_refusal(&plan_with(5, 0, 0), guard(0, false)).is_none());
    }

    #[test]
    fn hundred_percent_allows_everything() {
        assert!(!too_many_deletes(10, 10, 100));
        assert!(too_many_deletes(1, 10, 0));
    }

    #[test]
    fn huge_counts_do_not_overflow() {
        assert!(!too_many_deletes(u64::MAX, u64::MAX, 100));
        assert!(too_many_deletes(u64::MAX, u64::MAX, 99));
    }

    #[test]
    fn restore_with_no_name_decrypting_is_wrong_keys() {
        let mut plan = plan_with(0, 2, 2);
        plan.listing_problems = vec!["cannot decrypt name \"x\"".into(); 3];
        let why = restore(&plan, guard(50, false)).unwrap();
        assert!(
            why.starts_with("3 names on vault:docs do not decrypt with the keys of keys.conf"),
            "{why}"
        );
        assert!(restore(&plan, guard(50, true)).is_none());
    }

    #[test]
    fn restore_with_some_names_decrypting_runs_and_deletes_nothing() {
        let mut plan = plan_with(4, 4, 0);
        plan.listing_problems = vec!["cannot decrypt name \"x\"".into()];
        assert!(restore(&plan, guard(50, false)).is_none());
    }

    #[test]
    fn restore_from_an_empty_target_over_local_files_is_refused() {
        let why = restore(&plan_with(0, 3, 3), guard(100, false)).unwrap();
        assert_eq!(why, "vault:docs holds no file but the local folder has 3");
        assert!(restore(&plan_with(0, 0, 0), guard(0, false)).is_none());
    }

    #[test]
    fn restore_deleting_more_than_the_limit_is_refused() {
        let why = restore(&plan_with(1, 4, 3), guard(50, false)).unwrap();
        assert!(why.contains("delete 3 of the 4 local files"), "{why}");
        assert!(restore(&plan_with(2, 4, 2), guard(50, false)).is_none());
    }
}
