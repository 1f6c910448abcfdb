//! `poof backup`: sync every folder of poof.conf to its target, refusing runs that would wipe
//! the cloud copy; and the pieces `upload` and `download` share with it.
//!
//! A [`Job`] is poof.conf and rclone-poof.conf loaded and checked together: whether the remote
//! is a crypt remote (its section has `type = crypt`) and, for each folder of `paths`, a
//! [`Folder`] with its target (`remote:bucket/clouddir` or `remote:clouddir`, see
//! [`PoofConfig::target`]). The local side of a folder is a [`LocalBackend`], the cloud side
//! whatever [`open_backend`] makes of the target.
//!
//! Each folder is backed up in two steps, *plan then execute* ([`crate::sync::plan::plan`],
//! [`crate::sync::execute::execute`]), with a guard in between: when the plan would delete
//! more than `--max-delete` percent of the files already on the target (above all when the
//! local folder is empty: a drive that did not mount, or the folder an `upload` emptied), the
//! folder is left untouched, the reason is printed in one line and the exit status is
//! non-zero, unless `--force`. Names on the target that do not decrypt are errors of the run,
//! so that nothing is deleted then. A folder that does not exist is skipped with a warning
//! (and a non-zero exit status). Every folder ends with a summary line, the run with a total.
//!
//! The config folder holds the run lock ([`crate::lock`]) while a run goes on; when it is one
//! of the folders backed up, or inside one, the lock file is hidden from both sides
//! ([`HideLock`]), so that it is never uploaded nor replaced by a download.

use std::ops::Range;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use async_trait::async_trait;

use crate::cli::{BackupArgs, GlobalArgs, GuardArgs, RunArgs};
use crate::config::poof::PoofConfig;
use crate::config::rclone::RcloneConfig;
use crate::config::Paths;
use crate::lock::{RunLock, LOCK_FILE};
use crate::progress::{summary_line, Progress};
use crate::remote::backend::{Backend, BlockingIo, ByteStream, Entry, Features, PutOptions};
use crate::remote::local::LocalBackend;
use crate::remote::{open_backend, Location};
use crate::sync::{execute::execute, plan::plan, Plan, SyncOptions, SyncStats};

/// poof.conf and rclone-poof.conf, loaded and checked together.
pub struct Job {
    /// Where the files are.
    pub paths: Paths,
    /// poof.conf.
    pub conf: PoofConfig,
    /// rclone-poof.conf, with rclone's environment overrides applied.
    pub rclone: RcloneConfig,
    /// poof.conf's remote is a crypt remote.
    pub is_crypt: bool,
}

/// One folder of poof.conf's `paths`.
#[derive(Debug, Clone)]
pub struct Folder {
    /// The local folder.
    pub local: PathBuf,
    /// Its name in the cloud.
    pub cloud: String,
    /// Where it is backed up, e.g. `poof-crypt:Documents`.
    pub target: String,
    /// It is the config folder (holding the crypt keys and the run lock).
    pub is_confdir: bool,
    /// Where the config folder is inside this folder: `Some("")` when it is the config
    /// folder, `Some("a/b")` when the config folder is `a/b` below it, else `None`.
    pub confdir_rel: Option<String>,
}

impl Folder {
    /// `local -> target`, the name of the folder in messages.
    pub fn label(&self) -> String {
        format!("{} -> {}", self.local.display(), self.target)
    }
}

impl Job {
    /// Loads both config files and checks that poof.conf's remote is defined.
    ///
    /// # Errors
    /// A missing or broken file (one line naming file, key and fix), or a `remote` of
    /// poof.conf that rclone-poof.conf does not define.
    pub fn load(paths: &Paths) -> Result<Job> {
        let conf = PoofConfig::load(&paths.poofconf)?;
        let mut rclone = RcloneConfig::load(&paths.rcloneconf)?;
        rclone.apply_process_env_overrides();
        let Some(section) = rclone.section(&conf.remote) else {
            bail!(
                "{}: key \"remote\" = {:?} is not a remote of {}; add that section or set \"remote\" to one of its remotes",
                paths.poofconf.display(),
                conf.remote,
                paths.rcloneconf.display()
            );
        };
        let is_crypt = section.get("type").map(str::trim) == Some("crypt");
        Ok(Job {
            paths: paths.clone(),
            conf,
            rclone,
            is_crypt,
        })
    }

    /// The folders of poof.conf, in its (sorted) order.
    pub fn folders(&self) -> Vec<Folder> {
        let confdir = real(&self.paths.confdir);
        self.conf
            .local_paths()
            .map(|(local, cloud)| {
                let confdir_rel = relative(&confdir, &real(&local));
                Folder {
                    is_confdir: confdir_rel.as_deref() == Some(""),
                    confdir_rel,
                    target: self.conf.target(cloud, self.is_crypt),
                    cloud: cloud.to_owned(),
                    local,
                }
            })
            .collect()
    }

    /// The local side of `folder`, rooted at `dir` (its folder, or a restore folder). Backups
    /// follow symbolic links, as the original tool's `rclone -L` did; restores and upload's
    /// deletes never do, so they cannot reach outside the folder.
    pub fn local_backend(
        &self,
        folder: &Folder,
        dir: &Path,
        follow_links: bool,
    ) -> Arc<dyn Backend> {
        let local = LocalBackend::new(dir.to_path_buf()).following_links(follow_links);
        self.hide_lock(folder, dir, local)
    }

    /// The local side of `folder` restored into `base/<cloud folder>` (`download --to`):
    /// `base` is trusted as the user named it, the cloud folder's components below it are
    /// not (a symbolic link there is refused, as one deeper down).
    ///
    /// # Errors
    /// The cloud folder is not a clean relative path.
    pub fn restore_backend(&self, folder: &Folder, base: &Path) -> Result<Arc<dyn Backend>> {
        let local = LocalBackend::below(base, &folder.cloud)?;
        let dir = local.root().to_path_buf();
        Ok(self.hide_lock(folder, &dir, local))
    }

    /// `local`, with the run lock hidden when `dir` is the folder that holds poof's config.
    fn hide_lock(&self, folder: &Folder, dir: &Path, local: LocalBackend) -> Arc<dyn Backend> {
        match &folder.confdir_rel {
            Some(rel) if dir == folder.local => Arc::new(HideLock {
                inner: local,
                hidden: join_rel(rel, LOCK_FILE),
            }),
            _ => Arc::new(local),
        }
    }

    /// The cloud side of `folder`.
    ///
    /// # Errors
    /// The target's remote cannot be opened (one line naming the section and key).
    pub fn remote_backend(&self, folder: &Folder) -> Result<Arc<dyn Backend>> {
        let loc = Location::parse(&folder.target)?;
        open_backend(&self.rclone, &loc).with_context(|| {
            format!(
                "{}: cannot open the target {}",
                self.paths.rcloneconf.display(),
                folder.target
            )
        })
    }

    /// The root of poof.conf's remote when it is a crypt remote (to tell wrong keys from a
    /// folder never backed up).
    ///
    /// # Errors
    /// The remote cannot be opened.
    pub fn crypt_root(&self) -> Result<Option<Arc<dyn Backend>>> {
        if !self.is_crypt {
            return Ok(None);
        }
        let loc = Location::Remote {
            name: self.conf.remote.clone(),
            path: String::new(),
        };
        Ok(Some(open_backend(&self.rclone, &loc)?))
    }

    /// The local folder a target is stored in, when its remote chain (aliases, crypts) ends
    /// in a local path: an ancestor of the target's real folder (a crypt's encrypted path is
    /// left out), enough to see that a target lies inside the folder backed up.
    pub fn local_root(&self, target: &str) -> Option<PathBuf> {
        let mut loc = Location::parse(target).ok()?;
        // Each step follows one section; a loop is cut by the bound.
        for _ in 0..MAX_REMOTE_CHAIN {
            let (name, path) = match &loc {
                Location::Local(path) => return Some(path.clone()),
                Location::Remote { name, path } => (name.clone(), path.clone()),
            };
            let section = self.rclone.section(&name)?;
            loc = match section.get("type").map(str::trim)? {
                "local" => return Some(PathBuf::from(path)),
                "alias" => Location::parse(section.get("remote")?.trim())
                    .ok()?
                    .join(&path),
                "crypt" => Location::parse(section.get("remote")?.trim()).ok()?,
                _ => return None,
            };
        }
        None
    }

    /// Takes the run lock of the config folder (or of poof.conf's folder when the config
    /// folder does not exist).
    ///
    /// # Errors
    /// Another poof runs on the same config, or the lock file cannot be made.
    pub fn lock(&self) -> Result<RunLock> {
        let dir = if self.paths.confdir.is_dir() {
            self.paths.confdir.clone()
        } else {
            match self.paths.poofconf.parent() {
                Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
                _ => PathBuf::from("."),
            }
        };
        RunLock::acquire(&dir)
    }
}

/// Longest chain of aliases and crypts [`Job::local_root`] follows.
const MAX_REMOTE_CHAIN: usize = 16;

/// `path` below `root` as a `/`-separated relative path (`""` when they are the same), or
/// `None` when it is not below it (or not UTF-8).
pub fn relative(path: &Path, root: &Path) -> Option<String> {
    let rel = path.strip_prefix(root).ok()?;
    let parts: Option<Vec<&str>> = rel.components().map(|c| c.as_os_str().to_str()).collect();
    Some(parts?.join("/"))
}

/// Joins a relative directory (maybe `""`) and a name.
fn join_rel(dir: &str, name: &str) -> String {
    if dir.is_empty() {
        name.to_owned()
    } else {
        format!("{dir}/{name}")
    }
}

/// `path` with symbolic links resolved when it exists, else made absolute.
pub fn real(path: &Path) -> PathBuf {
    path.canonicalize()
        .or_else(|_| std::path::absolute(path))
        .unwrap_or_else(|_| path.to_path_buf())
}

/// The progress reporter of one folder.
pub fn progress(run: &RunArgs, global: &GlobalArgs) -> Progress {
    Progress::for_run(run.no_progress, global.quiet)
}

/// The engine's options for a run with these flags.
pub fn sync_options(run: &RunArgs, global: &GlobalArgs, delete: bool) -> SyncOptions {
    SyncOptions {
        dry_run: run.dry_run,
        transfers: run.transfers,
        checkers: run.checkers,
        delete,
        verbose: global.verbose > 0,
        ..SyncOptions::default()
    }
}

/// The guard's rule: deleting `deletes` of the `existing` files is more than `max_pct`
/// percent of them.
pub fn too_many_deletes(deletes: u64, existing: u64, max_pct: u8) -> bool {
    u128::from(deletes) * 100 > u128::from(existing) * u128::from(max_pct)
}

/// Why the guard refuses a backup plan, or `None` when it may run.
pub fn backup_refusal(plan: &Plan, guard: &GuardArgs) -> Option<String> {
    let deletes = plan.deletes.len() as u64;
    let existing = plan.stats.dst_files;
    if deletes == 0 || guard.force || !too_many_deletes(deletes, existing, guard.max_delete) {
        return None;
    }
    Some(if plan.stats.src_files == 0 {
        format!(
            "the local folder is empty but the target holds {existing} files (a drive not mounted? a folder emptied by `poof upload`?); a backup would delete them all"
        )
    } else {
        format!(
            "the backup would delete {deletes} of the {existing} files on the target, more than --max-delete {}%",
            guard.max_delete
        )
    })
}

/// Counters summed over folders.
#[derive(Debug, Default, Clone)]
pub struct Totals {
    /// Files transferred.
    pub transferred: u64,
    /// Bytes transferred.
    pub bytes: u64,
    /// Files checked.
    pub checked: u64,
    /// Files deleted.
    pub deleted: u64,
    /// Errors, refusals and skipped folders.
    pub errors: u64,
}

impl Totals {
    /// Adds one folder's run.
    pub fn add(&mut self, stats: &SyncStats) {
        self.transferred += stats.transferred;
        self.bytes = self.bytes.saturating_add(stats.bytes);
        self.checked += stats.checked;
        self.deleted += stats.deleted;
        self.errors += stats.errors;
    }

    /// The summary line of these totals.
    pub fn line(&self, started: Instant) -> String {
        summary_line(
            self.transferred,
            self.bytes,
            self.checked,
            self.deleted,
            self.errors,
            started.elapsed(),
        )
    }
}

/// The summary line of one folder's run.
pub fn folder_summary(label: &str, stats: &SyncStats, progress: &Progress) -> String {
    format!(
        "{label}: {}",
        summary_line(
            stats.transferred,
            stats.bytes,
            stats.checked,
            stats.deleted,
            stats.errors,
            progress.elapsed(),
        )
    )
}

/// What became of one folder.
#[derive(Debug)]
pub enum Outcome {
    /// The local folder does not exist.
    Skipped,
    /// A guard refused it; nothing changed.
    Refused,
    /// The run could not start (listing failed, remote unreachable); nothing changed.
    Failed,
    /// The run happened (with `stats.errors` errors).
    Ran(SyncStats),
}

/// Backs up one folder (see the module docs), printing its lines and its summary.
pub async fn backup_folder(
    job: &Job,
    folder: &Folder,
    run: &RunArgs,
    guard: &GuardArgs,
    global: &GlobalArgs,
) -> Outcome {
    let label = folder.label();
    if !folder.local.is_dir() {
        eprintln!(
            "poof: warning: skipping {label}: the folder does not exist (not mounted?); fix the path in {} or mount it",
            job.paths.poofconf.display()
        );
        return Outcome::Skipped;
    }
    let remote = match job.remote_backend(folder) {
        Ok(remote) => remote,
        Err(e) => {
            eprintln!("poof: error: {label}: {e:#}");
            return Outcome::Failed;
        }
    };
    if let Some(root) = job.local_root(&folder.target) {
        if real(&root).starts_with(real(&folder.local)) {
            eprintln!(
                "poof: refused: {label}: the target is stored in {}, inside the folder itself: a backup would copy the vault into itself; nothing changed (remove the folder from {} or move the vault)",
                root.display(),
                job.paths.poofconf.display()
            );
            return Outcome::Refused;
        }
    }
    let local = job.local_backend(folder, &folder.local, true);
    if !global.quiet {
        eprintln!("poof: backup {label}");
    }
    let opts = sync_options(run, global, true);
    let Some((planned, undecryptable)) = plan_folder(
        local.as_ref(),
        remote.as_ref(),
        remote.as_ref(),
        &opts,
        &label,
        folder,
    )
    .await
    else {
        return Outcome::Failed;
    };
    if let Some(why) = backup_refusal(&planned, guard) {
        eprintln!("poof: refused: {label}: {why}; nothing changed (--force to sync anyway)");
        return Outcome::Refused;
    }
    let progress = progress(run, global);
    let stats = execute(
        local.as_ref(),
        remote.as_ref(),
        &planned,
        &undecryptable,
        &opts,
        &progress,
    )
    .await;
    progress.finish();
    if run.dry_run {
        eprintln!("{}", stats.dry_run_notice(&label));
    }
    if !global.quiet {
        eprintln!("{}", folder_summary(&label, &stats, &progress));
    }
    Outcome::Ran(stats)
}

/// Plans one folder's sync from `src` to `dst` and collects the names `remote` (one of the two)
/// could not decrypt, each worded as an error of the run; `None`, after printing why, when a
/// listing failed.
pub async fn plan_folder(
    src: &dyn Backend,
    dst: &dyn Backend,
    remote: &dyn Backend,
    opts: &SyncOptions,
    label: &str,
    folder: &Folder,
) -> Option<(Plan, Vec<String>)> {
    let planned = match plan(src, dst, opts).await {
        Ok(planned) => planned,
        Err(e) => {
            eprintln!("poof: error: {label}: {e:#}");
            return None;
        }
    };
    let undecryptable = remote
        .take_undecryptable()
        .into_iter()
        .map(|what| format!("{what} (in {}); nothing will be deleted", folder.target))
        .collect();
    Some((planned, undecryptable))
}

/// Starts the async runtime of a run.
///
/// # Errors
/// The runtime cannot start.
pub fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

/// Counts an outcome into the totals; true when the folder fully succeeded.
pub fn count(totals: &mut Totals, outcome: &Outcome) -> bool {
    match outcome {
        Outcome::Ran(stats) => {
            totals.add(stats);
            stats.errors == 0
        }
        Outcome::Skipped | Outcome::Refused | Outcome::Failed => {
            totals.errors += 1;
            false
        }
    }
}

/// `poof backup`.
///
/// # Errors
/// Broken config files, or another poof running on the same config. Failures of single
/// folders are printed and make the exit status non-zero.
pub fn run(paths: &Paths, global: &GlobalArgs, args: &BackupArgs) -> Result<ExitCode> {
    let job = Job::load(paths)?;
    let _lock = job.lock()?;
    let started = Instant::now();
    let runtime = runtime()?;
    let mut totals = Totals::default();
    let (mut skipped, mut refused, mut failed) = (0, 0, 0);
    let folders = job.folders();
    for folder in &folders {
        let outcome = runtime.block_on(backup_folder(&job, folder, &args.run, &args.guard, global));
        match &outcome {
            Outcome::Skipped => skipped += 1,
            Outcome::Refused => refused += 1,
            // A folder whose run had errors failed too: the counts agree with the exit code.
            Outcome::Failed => failed += 1,
            Outcome::Ran(stats) if stats.errors > 0 => failed += 1,
            Outcome::Ran(_) => {}
        }
        count(&mut totals, &outcome);
    }
    eprintln!(
        "poof: backup of {} folders ({skipped} skipped, {refused} refused, {failed} failed): {}",
        folders.len(),
        totals.line(started)
    );
    Ok(exit(totals.errors))
}

/// Success only without errors.
pub fn exit(errors: u64) -> ExitCode {
    if errors == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// A local folder whose run-lock file is invisible and untouchable: the config folder (or a
/// folder holding it) while it is backed up or restored.
struct HideLock {
    inner: LocalBackend,
    /// The lock file's path relative to the root.
    hidden: String,
}

impl HideLock {
    fn refuse(&self, path: &str) -> Result<()> {
        if path == self.hidden {
            bail!("{path}: poof's run lock is never written or deleted by a sync");
        }
        Ok(())
    }
}

impl BlockingIo for HideLock {
    fn read_whole(&self, path: &str, size: u64) -> Result<Vec<u8>> {
        self.refuse(path)?;
        self.inner.read_whole(path, size)
    }

    fn write_whole(&self, path: &str, data: Vec<u8>, opts: PutOptions) -> Result<u64> {
        self.refuse(path)?;
        self.inner.write_whole(path, data, opts)
    }
}

#[async_trait]
impl Backend for HideLock {
    fn describe(&self) -> String {
        self.inner.describe()
    }

    fn features(&self) -> Features {
        self.inner.features()
    }

    async fn list(&self, dir: &str, recursive: bool) -> Result<Option<Vec<Entry>>> {
        let listed = self.inner.list(dir, recursive).await?;
        Ok(listed.map(|entries| {
            entries
                .into_iter()
                .filter(|e| e.path != self.hidden)
                .collect()
        }))
    }

    async fn stat(&self, path: &str) -> Result<Option<Entry>> {
        if path == self.hidden {
            return Ok(None);
        }
        self.inner.stat(path).await
    }

    async fn open(&self, path: &str, range: Option<Range<u64>>) -> Result<ByteStream> {
        self.refuse(path)?;
        self.inner.open(path, range).await
    }

    async fn put(&self, path: &str, data: ByteStream, opts: PutOptions) -> Result<u64> {
        self.refuse(path)?;
        self.inner.put(path, data, opts).await
    }

    async fn get(&self, path: &str, size: u64) -> Result<Vec<u8>> {
        self.refuse(path)?;
        self.inner.get(path, size).await
    }

    async fn put_bytes(&self, path: &str, data: Vec<u8>, opts: PutOptions) -> Result<u64> {
        self.refuse(path)?;
        self.inner.put_bytes(path, data, opts).await
    }

    fn blocking_io(&self) -> Option<&dyn BlockingIo> {
        Some(self)
    }

    async fn remove_stale_temps(&self) -> Result<usize> {
        self.inner.remove_stale_temps().await
    }

    async fn remove(&self, path: &str) -> Result<()> {
        self.refuse(path)?;
        self.inner.remove(path).await
    }

    async fn mkdir(&self, path: &str) -> Result<()> {
        self.inner.mkdir(path).await
    }

    async fn rmdir(&self, path: &str) -> Result<()> {
        self.inner.rmdir(path).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::remote::backend::EntryKind;

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

    fn guard(max_delete: u8, force: bool) -> GuardArgs {
        GuardArgs { max_delete, force }
    }

    #[test]
    fn empty_source_over_populated_target_is_refused() {
        let why = backup_refusal(&plan_with(0, 3, 3), &guard(50, false)).unwrap();
        assert!(why.contains("empty"), "{why}");
    }

    #[test]
    fn force_lets_an_empty_source_through() {
        assert!(backup_refusal(&plan_with(0, 3, 3), &guard(50, true)).is_none());
    }

    #[test]
    fn half_of_the_files_is_allowed_more_is_not() {
        assert!(backup_refusal(&plan_with(2, 4, 2), &guard(50, false)).is_none());
        let why = backup_refusal(&plan_with(1, 4, 3), &guard(50, false)).unwrap();
        assert!(why.contains("3 of the 4"), "{why}");
    }

    #[test]
    fn no_deletes_is_never_refused_even_at_zero_percent() {
        assert!(backup_refusal(&plan_with(5, 0, 0), &guard(0, false)).is_none());
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
    fn relative_paths_of_the_config_folder() {
        let root = Path::new("/home/a");
        assert_eq!(relative(root, root).as_deref(), Some(""));
        assert_eq!(
            relative(Path::new("/home/a/.config/poof"), root).as_deref(),
            Some(".config/poof")
        );
        assert_eq!(relative(Path::new("/home/ab"), root), None);
    }

    #[tokio::test]
    async fn lock_file_is_hidden_and_untouchable() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(LOCK_FILE), "1\n").unwrap();
        std::fs::write(dir.path().join("kept"), "x").unwrap();
        let hidden = HideLock {
            inner: LocalBackend::new(dir.path()),
            hidden: LOCK_FILE.to_owned(),
        };
        let listed = hidden.list("", true).await.unwrap().unwrap();
        let names: Vec<&str> = listed.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(names, ["kept"]);
        assert!(hidden.stat(LOCK_FILE).await.unwrap().is_none());
        assert!(hidden.remove(LOCK_FILE).await.is_err());
        // Whole-file reads and writes, async and blocking, refuse it as well.
        assert!(hidden.get(LOCK_FILE, 2).await.is_err());
        let opts = PutOptions::default();
        assert!(hidden
            .put_bytes(LOCK_FILE, b"2\n".to_vec(), opts)
            .await
            .is_err());
        let blocking = hidden.blocking_io().unwrap();
        assert!(blocking.read_whole(LOCK_FILE, 2).is_err());
        assert!(blocking
            .write_whole(LOCK_FILE, b"2\n".to_vec(), opts)
            .is_err());
        assert_eq!(blocking.read_whole("kept", 1).unwrap(), b"x");
        assert_eq!(std::fs::read(dir.path().join(LOCK_FILE)).unwrap(), b"1\n");
    }
}
