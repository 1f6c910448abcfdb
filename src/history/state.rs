//! The history read back: its run folders listed once ([`History::load`]), what each run kept
//! and added in each cloud folder, the past states rebuilt from them ([`History::state`]) and
//! what a policy's choice of states lets go ([`History::forget_plan`]).
//!
//! States are numbered: state 0 is the one just before the earliest run in the history, state
//! `k` the one after run `k` (runs oldest first, from 1). The newest state is the current
//! files. Going back one run undoes it: the files it added go, the versions it kept come back;
//! so state `k - 1` of a folder is state `k` minus the run's record of added files, plus the
//! versions in its run folder. A run without a record of a folder (written by
//! `rclone sync --backup-dir`, or killed before it wrote the record) is taken to have added
//! nothing there ([`History::unrecorded`] names them).
//!
//! A version kept by run `j` was the current one in every state from the previous run that
//! touched its path (wrote or kept it) up to state `j - 1`: it is needed while one of those
//! states is kept. A run's records are needed while the state after it, or any kept state
//! before it, is kept (rebuilding a state undoes every later run). Files in the history that
//! poof did not write (no run name, or outside every known cloud folder) are never removed.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use anyhow::{bail, Context, Result};
use futures::{StreamExt, TryStreamExt};
use jiff::Timestamp;
use tokio::io::AsyncReadExt;

use super::{forgotten_path, record_path, RunName, HISTORY_DIR};
use crate::remote::backend::{Backend, Entry, EntryKind, Listing};

/// The folder of a run's records, inside its run folder.
fn records_dir() -> String {
    format!("{HISTORY_DIR}-added")
}

/// The largest record poof reads: one path per file written, so a run that wrote a million
/// files of long names fits with room; anything larger is not a record of poof's.
const MAX_RECORD: u64 = 1 << 30;

/// How many run folders are listed at once.
const LIST_CONCURRENCY: usize = 8;

/// The history of one root (see the module docs).
#[derive(Debug, Default)]
pub struct History {
    /// The run folders, oldest first.
    pub runs: Vec<Run>,
    /// Names in `poof-history` that are not run folders; never touched.
    pub strays: Vec<String>,
    /// What the listings could not show (names that do not decrypt): nothing may be removed
    /// while one of these may be a version still needed.
    pub problems: Vec<String>,
    /// The states `forget` forgot whose run folders stay ([`forgotten_path`]), by name.
    pub forgotten: BTreeSet<String>,
}

/// One run folder.
#[derive(Debug)]
pub struct Run {
    /// Its name: the run's start.
    pub name: RunName,
    /// What it kept and added, per cloud folder.
    pub folders: BTreeMap<String, RunFolder>,
    /// Its record files.
    pub records: Vec<Entry>,
    /// Files in it that poof did not write (outside every known cloud folder); never removed.
    pub unknown: Vec<Entry>,
    /// Its directories (where storage has them), the run folder itself included.
    pub dirs: Vec<String>,
}

/// What one run did in one cloud folder.
#[derive(Debug, Default)]
pub struct RunFolder {
    /// The versions it replaced or deleted: path in the cloud folder -> the kept file (its
    /// path below the root).
    pub kept: BTreeMap<String, Entry>,
    /// The paths it wrote, from its record; `None` when it has no record.
    pub added: Option<BTreeSet<String>>,
}

/// What forgetting the states a policy drops removes.
#[derive(Debug, Default)]
pub struct ForgetPlan {
    /// Versions no kept state needs, below the root.
    pub versions: Vec<Entry>,
    /// Records no kept state needs.
    pub records: Vec<Entry>,
    /// Directories left empty, deepest first (the run folders that go among them).
    pub rmdirs: Vec<String>,
    /// Run folders that go entirely.
    pub runs: Vec<RunName>,
    /// The states forgotten once the plan is carried out, when that differs from the list in
    /// the history ([`forgotten_path`]): written before anything is removed.
    pub forgotten: Option<BTreeSet<String>>,
}

impl ForgetPlan {
    /// The bytes the removals free (the sizes as the user sees them).
    pub fn bytes(&self) -> u64 {
        self.versions
            .iter()
            .chain(&self.records)
            .map(|e| e.size)
            .sum()
    }

    /// True when it changes nothing.
    pub fn is_empty(&self) -> bool {
        self.versions.is_empty()
            && self.records.is_empty()
            && self.rmdirs.is_empty()
            && self.forgotten.is_none()
    }
}

/// The names of the run folders in `root`, oldest first, and the other names there; `None`
/// when `root` has no history.
///
/// # Errors
/// The history cannot be listed.
pub async fn run_names(root: &dyn Backend) -> Result<(Vec<RunName>, Vec<String>, Vec<String>)> {
    let listed = root
        .list(HISTORY_DIR, false)
        .await
        .with_context(|| format!("cannot list {HISTORY_DIR} in {}", root.describe()))?;
    let Some(mut listing) = listed else {
        return Ok(Default::default());
    };
    let (mut runs, mut strays) = (Vec::new(), Vec::new());
    for entry in std::mem::take(&mut listing.entries) {
        match entry.name().parse::<RunName>() {
            Ok(run) if entry.is_dir() => runs.push(run),
            _ => strays.push(entry.path),
        }
    }
    runs.sort_unstable();
    Ok((runs, strays, listing.all_problems()))
}

/// The times of the states after the runs `runs` (oldest first), state 0 first: the state
/// before the earliest run is dated one second before it (so that it is a state of its own),
/// state `k` at run `k`'s start.
pub fn state_times(runs: &[RunName]) -> Vec<Timestamp> {
    let mut times: Vec<Timestamp> = runs.iter().map(|run| run.time()).collect();
    if let Some(first) = runs.first() {
        let before = first
            .time()
            .checked_sub(jiff::SignedDuration::from_secs(1))
            .unwrap_or(first.time());
        times.insert(0, before);
    }
    times
}

/// The name of state `index` after the runs `runs` in messages: its run, or
/// `before <first run>` for state 0.
pub fn state_name(runs: &[RunName], index: usize) -> String {
    match (index.checked_sub(1), runs.first()) {
        (None, Some(first)) => format!("before {first}"),
        (Some(k), _) if k < runs.len() => runs[k].to_string(),
        _ => "current".to_owned(),
    }
}

impl History {
    /// Lists the history of `root` (the root of the cloud folders): every run folder, its
    /// records read, its files sorted into the cloud folders `folders` and those its records
    /// name.
    ///
    /// # Errors
    /// A listing fails, or a record cannot be read or is not one of poof's.
    pub async fn load(root: &dyn Backend, folders: &[String]) -> Result<History> {
        let (names, mut strays, mut problems) = run_names(root).await?;
        let forgotten = read_forgotten(root, &strays).await?;
        strays.retain(|name| *name != forgotten_path());
        let listed: Vec<(RunName, Option<Listing>)> = futures::stream::iter(names)
            .map(|run| async move {
                let dir = format!("{HISTORY_DIR}/{run}");
                let listing = root
                    .list(&dir, true)
                    .await
                    .with_context(|| format!("cannot list {dir} in {}", root.describe()))?;
                Ok::<_, anyhow::Error>((run, listing))
            })
            .buffered(LIST_CONCURRENCY)
            .try_collect()
            .await?;
        let mut known: BTreeSet<String> = folders.iter().cloned().collect();
        let mut runs = Vec::with_capacity(listed.len());
        for (name, listing) in listed {
            let mut listing = listing.unwrap_or_default();
            let entries = std::mem::take(&mut listing.entries);
            problems.extend(listing.all_problems());
            let run = Run::read(root, name, entries).await?;
            known.extend(run.folders.keys().cloned());
            runs.push(run);
        }
        for run in &mut runs {
            run.sort_files(&known);
        }
        Ok(History {
            runs,
            strays,
            problems,
            forgotten,
        })
    }

    /// The names of the runs, oldest first.
    pub fn names(&self) -> Vec<RunName> {
        self.runs.iter().map(|run| run.name).collect()
    }

    /// The times of the states (see [`state_times`]).
    pub fn state_times(&self) -> Vec<Timestamp> {
        state_times(&self.names())
    }

    /// The state to restore for `at`: the one after the last run that started at or before
    /// it, or state 0 when every run started later.
    pub fn state_at(&self, at: Timestamp) -> usize {
        self.runs.partition_point(|run| run.name.time() <= at)
    }

    /// True when `poof forget` forgot state `index`: it can no longer be rebuilt.
    pub fn forgotten(&self, index: usize) -> bool {
        self.forgotten.contains(&state_name(&self.names(), index))
    }

    /// The runs that kept versions of `cloud` without a record of what they added there.
    pub fn unrecorded(&self, cloud: &str) -> Vec<RunName> {
        self.runs
            .iter()
            .filter(|run| {
                run.folders
                    .get(cloud)
                    .is_some_and(|folder| folder.added.is_none())
            })
            .map(|run| run.name)
            .collect()
    }

    /// The files of `cloud` in state `index`: path in the folder -> the file holding that
    /// version, its path below the root. `current` is the folder's recursive listing now
    /// (paths below the root, as the root lists them).
    pub fn state(&self, index: usize, cloud: &str, current: Vec<Entry>) -> BTreeMap<String, Entry> {
        let prefix = format!("{cloud}/");
        let mut files: BTreeMap<String, Entry> = current
            .into_iter()
            .filter(|e| e.kind == EntryKind::File)
            .filter_map(|e| Some((e.path.strip_prefix(&prefix)?.to_owned(), e)))
            .collect();
        for run in self.runs.iter().skip(index).rev() {
            let Some(folder) = run.folders.get(cloud) else {
                continue;
            };
            for added in folder.added.iter().flatten() {
                files.remove(added);
            }
            for (path, kept) in &folder.kept {
                files.insert(path.clone(), kept.clone());
            }
        }
        files
    }

    /// What goes when only the states with `keep[index]` true stay (`keep` has one flag per
    /// state, state 0 first).
    pub fn forget_plan(&self, keep: &[bool]) -> ForgetPlan {
        // kept_before[i]: how many of the states 0..i are kept.
        let mut kept_before = vec![0usize; keep.len() + 1];
        for (i, &kept) in keep.iter().enumerate() {
            kept_before[i + 1] = kept_before[i] + usize::from(kept);
        }
        let any_kept = |from: usize, to: usize| {
            let to = to.min(keep.len().saturating_sub(1));
            from <= to && kept_before[to + 1] > kept_before[from]
        };
        let oldest_kept = keep.iter().position(|&k| k).unwrap_or(usize::MAX);
        let mut plan = ForgetPlan::default();
        let folders: BTreeSet<&String> = self.runs.iter().flat_map(|r| r.folders.keys()).collect();
        let mut removed_in: Vec<usize> = vec![0; self.runs.len()];
        for cloud in folders {
            let mut last_touch: HashMap<&str, usize> = HashMap::new();
            for (i, run) in self.runs.iter().enumerate() {
                let j = i + 1;
                let Some(folder) = run.folders.get(cloud) else {
                    continue;
                };
                for (path, kept) in &folder.kept {
                    let since = last_touch.get(path.as_str()).copied().unwrap_or(0);
                    if !any_kept(since, j - 1) {
                        plan.versions.push(kept.clone());
                        removed_in[i] += 1;
                    }
                }
                for path in folder.kept.keys().chain(folder.added.iter().flatten()) {
                    last_touch.insert(path, j);
                }
            }
        }
        let going: BTreeSet<String> = plan.versions.iter().map(|e| e.path.clone()).collect();
        let mut earliest_left = true;
        let mut forgotten = BTreeSet::new();
        for (i, run) in self.runs.iter().enumerate() {
            let j = i + 1;
            let records_go = j < oldest_kept;
            if records_go {
                plan.records.extend(run.records.iter().cloned());
            }
            let versions: usize = run.folders.values().map(|f| f.kept.len()).sum();
            let emptied = removed_in[i] == versions
                && run.unknown.is_empty()
                && (records_go || run.records.is_empty());
            if emptied {
                plan.runs.push(run.name);
                plan.rmdirs.extend(run.dirs.iter().cloned());
                continue;
            }
            // The run folder stays: its states are listed if forgotten.
            if earliest_left && !keep.get(i).copied().unwrap_or(true) {
                forgotten.insert(format!("before {}", run.name));
            }
            if !keep.get(j).copied().unwrap_or(true) {
                forgotten.insert(run.name.to_string());
            }
            earliest_left = false;
            // The folders still holding a file stay; the others go.
            let remaining = (run.folders.values())
                .flat_map(|f| f.kept.values())
                .filter(|e| !going.contains(&e.path))
                .chain(run.records.iter().filter(|_| !records_go))
                .chain(&run.unknown);
            let mut occupied = BTreeSet::new();
            for entry in remaining {
                let mut path = entry.path.as_str();
                while let Some((parent, _)) = path.rsplit_once('/') {
                    if !occupied.insert(parent) {
                        break;
                    }
                    path = parent;
                }
            }
            plan.rmdirs.extend(
                (run.dirs.iter())
                    .filter(|dir| !occupied.contains(dir.as_str()))
                    .cloned(),
            );
        }
        plan.rmdirs
            .sort_by_key(|dir| std::cmp::Reverse(dir.matches('/').count()));
        if forgotten != self.forgotten {
            plan.forgotten = Some(forgotten);
        }
        plan
    }
}

impl Run {
    /// A run folder from its recursive listing: its records read, its other files held in
    /// `unknown` until [`Run::sort_files`] knows the cloud folders.
    async fn read(root: &dyn Backend, name: RunName, entries: Vec<Entry>) -> Result<Run> {
        let base = format!("{HISTORY_DIR}/{name}");
        let records = format!("{base}/{}/", records_dir());
        let mut run = Run {
            name,
            folders: BTreeMap::new(),
            records: Vec::new(),
            unknown: Vec::new(),
            dirs: vec![base],
        };
        for entry in entries {
            if entry.is_dir() {
                run.dirs.push(entry.path);
            } else if entry.path.starts_with(&records) {
                let (cloud, added) = read_record(root, name, &entry).await?;
                run.folders.entry(cloud).or_default().added = Some(added);
                run.records.push(entry);
            } else {
                run.unknown.push(entry);
            }
        }
        Ok(run)
    }

    /// Sorts the files held in `unknown` into the cloud folders of `known` (the longest that
    /// holds each); the rest stays unknown.
    fn sort_files(&mut self, known: &BTreeSet<String>) {
        let base = format!("{HISTORY_DIR}/{}/", self.name);
        for entry in std::mem::take(&mut self.unknown) {
            let place = entry.path.strip_prefix(&base).and_then(|rel| {
                known
                    .iter()
                    .filter_map(|cloud| {
                        let rest = rel.strip_prefix(cloud.as_str())?.strip_prefix('/')?;
                        Some((cloud, rest.to_owned()))
                    })
                    .max_by_key(|(cloud, _)| cloud.len())
            });
            match place {
                Some((cloud, rest)) => {
                    let folder = self.folders.entry(cloud.clone()).or_default();
                    folder.kept.insert(rest, entry);
                }
                None => self.unknown.push(entry),
            }
        }
    }
}

/// Reads one of poof's small JSON files in the history (a record, the forgotten list).
///
/// # Errors
/// It cannot be read, or is not the JSON `T` wants, or has another format than 1.
async fn read_json<T: serde::de::DeserializeOwned>(root: &dyn Backend, entry: &Entry) -> Result<T> {
    let path = &entry.path;
    let broken = |why: &str| anyhow::anyhow!("the history file {path} {why}; nothing changed");
    if entry.size > MAX_RECORD {
        return Err(broken("is too large to be one of poof's"));
    }
    let mut data = Vec::new();
    root.open(path, None)
        .await
        .with_context(|| format!("cannot read the history file {path}"))?
        .take(MAX_RECORD + 1)
        .read_to_end(&mut data)
        .await
        .with_context(|| format!("cannot read the history file {path}"))?;
    #[derive(serde::Deserialize)]
    struct Format {
        format: u32,
    }
    let format: Format = serde_json::from_slice(&data)
        .map_err(|e| broken(&format!("is not one of poof's ({e})")))?;
    if format.format != 1 {
        return Err(broken(&format!(
            "has format {}, which this poof does not know (a newer poof wrote it?)",
            format.format
        )));
    }
    serde_json::from_slice(&data).map_err(|e| broken(&format!("is not one of poof's ({e})")))
}

/// Reads one record of `run`: the cloud folder it is about and the paths the run wrote there.
///
/// # Errors
/// As [`read_json`], or the record is not where its folder's record goes.
async fn read_record(
    root: &dyn Backend,
    run: RunName,
    entry: &Entry,
) -> Result<(String, BTreeSet<String>)> {
    #[derive(serde::Deserialize)]
    struct Record {
        folder: String,
        added: Vec<String>,
    }
    let record: Record = read_json(root, entry).await?;
    if record_path(run, &record.folder) != entry.path {
        bail!(
            "the history file {} names the folder {:?}, whose record goes elsewhere; nothing changed",
            entry.path,
            record.folder
        );
    }
    Ok((record.folder, record.added.into_iter().collect()))
}

/// The states listed as forgotten in the history of `root` ([`forgotten_path`]), given the
/// other names `run_names` found there (the list among them when there is one).
///
/// # Errors
/// The list cannot be read, or is not poof's JSON.
pub async fn read_forgotten(root: &dyn Backend, others: &[String]) -> Result<BTreeSet<String>> {
    let path = forgotten_path();
    if !others.contains(&path) {
        return Ok(BTreeSet::new());
    }
    let Some(entry) = root.stat(&path).await? else {
        return Ok(BTreeSet::new());
    };
    #[derive(serde::Deserialize)]
    struct List {
        forgotten: BTreeSet<String>,
    }
    let list: List = read_json(root, &entry).await?;
    Ok(list.forgotten)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sync::testing::{at, MemBackend};

    fn run(name: &str) -> RunName {
        name.parse().unwrap()
    }

    const R1: &str = "2026-11-01T060000Z";
    const R2: &str = "2026-11-02T060000Z";
    const R3: &str = "2026-11-03T060000Z";

    /// A root with folder `docs` after three runs:
    /// - R1 wrote a (v1) and b (v1): the state before it was empty;
    /// - R2 replaced a (v1 -> v2) and deleted b;
    /// - R3 re-created b (v3) and replaced a (v2 -> v3).
    fn three_runs() -> MemBackend {
        let record = |run: &str, added: &[&str]| {
            let added: Vec<String> = added.iter().map(|s| (*s).to_owned()).collect();
            (
                record_path(self::run(run), "docs"),
                super::super::record("docs", &added),
            )
        };
        let (r1, r1_data) = record(R1, &["a", "b"]);
        let (r2, r2_data) = record(R2, &["a"]);
        let (r3, r3_data) = record(R3, &["a", "b"]);
        MemBackend::local()
            .file("docs/a", b"a3", at(3))
            .file("docs/b", b"b3", at(3))
            .file("docs/keep", b"k", at(1))
            .file(&r1, &r1_data, at(1))
            .file(&r2, &r2_data, at(2))
            .file(&format!("poof-history/{R2}/docs/a"), b"a1", at(1))
            .file(&format!("poof-history/{R2}/docs/b"), b"b1", at(1))
            .file(&r3, &r3_data, at(3))
            .file(&format!("poof-history/{R3}/docs/a"), b"a2", at(2))
    }

    async fn current(root: &MemBackend) -> Vec<Entry> {
        root.list("docs", true).await.unwrap().unwrap().entries
    }

    fn contents(root: &MemBackend, state: &BTreeMap<String, Entry>) -> Vec<(String, Vec<u8>)> {
        state
            .iter()
            .map(|(path, e)| (path.clone(), root.get(&e.path).unwrap().0))
            .collect()
    }

    fn pairs(list: &[(&str, &[u8])]) -> Vec<(String, Vec<u8>)> {
        list.iter()
            .map(|(p, d)| ((*p).to_owned(), d.to_vec()))
            .collect()
    }

    #[tokio::test]
    async fn every_state_is_rebuilt_from_current_files_records_and_versions() {
        let root = three_runs();
        let history = History::load(&root, &["docs".to_owned()]).await.unwrap();
        assert_eq!(history.runs.len(), 3);
        assert!(history.problems.is_empty() && history.strays.is_empty());
        let now = current(&root).await;
        let state = |k| history.state(k, "docs", now.clone());
        assert_eq!(
            contents(&root, &state(3)),
            pairs(&[("a", b"a3"), ("b", b"b3"), ("keep", b"k")])
        );
        assert_eq!(
            contents(&root, &state(2)),
            pairs(&[("a", b"a2"), ("keep", b"k")])
        );
        assert_eq!(
            contents(&root, &state(1)),
            pairs(&[("a", b"a1"), ("b", b"b1"), ("keep", b"k")])
        );
        assert_eq!(contents(&root, &state(0)), pairs(&[("keep", b"k")]));
        assert_eq!(state_name(&history.names(), 0), format!("before {R1}"));
        assert_eq!(state_name(&history.names(), 2), R2);
    }

    #[tokio::test]
    async fn a_time_picks_the_state_after_the_last_run_started_by_then() {
        let history = History::load(&three_runs(), &["docs".to_owned()])
            .await
            .unwrap();
        let at = |t: &str| history.state_at(t.parse().unwrap());
        assert_eq!(at("2026-10-01T00:00:00Z"), 0);
        assert_eq!(at("2026-11-01T06:00:00Z"), 1);
        assert_eq!(at("2026-11-02T05:59:59Z"), 1);
        assert_eq!(at("2026-11-02T06:00:00Z"), 2);
        assert_eq!(at("2030-01-01T00:00:00Z"), 3);
        let times = history.state_times();
        assert_eq!(times.len(), 4);
        assert!(times.windows(2).all(|w| w[0] < w[1]), "{times:?}");
    }

    fn paths(entries: &[Entry]) -> Vec<&str> {
        let mut paths: Vec<&str> = entries.iter().map(|e| e.path.as_str()).collect();
        paths.sort_unstable();
        paths
    }

    #[tokio::test]
    async fn a_version_goes_only_when_no_kept_state_had_it_current() {
        let history = History::load(&three_runs(), &["docs".to_owned()])
            .await
            .unwrap();
        // Everything kept: nothing goes.
        assert!(history.forget_plan(&[true; 4]).is_empty());
        // The current state only: every version and every record but the newest's go.
        let plan = history.forget_plan(&[false, false, false, true]);
        let r2a = format!("poof-history/{R2}/docs/a");
        let r2b = format!("poof-history/{R2}/docs/b");
        let r3a = format!("poof-history/{R3}/docs/a");
        assert_eq!(paths(&plan.versions), [&r2a, &r2b, &r3a]);
        assert_eq!(
            paths(&plan.records),
            [record_path(run(R1), "docs"), record_path(run(R2), "docs")]
        );
        assert_eq!(plan.runs, [run(R1), run(R2)]);
        assert_eq!(
            plan.bytes(),
            6 + plan.records.iter().map(|e| e.size).sum::<u64>()
        );
        // State 1 kept: it needs a1 and b1 (kept by R2); a2 (state 2 only) goes.
        let plan = history.forget_plan(&[false, true, false, true]);
        assert_eq!(paths(&plan.versions), [&r3a]);
        assert!(plan.records.is_empty(), "{:?}", plan.records);
        // The run folders stay, and the states they no longer restore are listed.
        let listed = plan.forgotten.unwrap();
        assert_eq!(
            listed.into_iter().collect::<Vec<_>>(),
            [R2.to_owned(), format!("before {R1}")]
        );
        // State 2 kept: a2 stays, R2's versions (state 1 and before) go.
        let plan = history.forget_plan(&[false, false, true, true]);
        assert_eq!(paths(&plan.versions), [&r2a, &r2b]);
        assert_eq!(paths(&plan.records), [record_path(run(R1), "docs")]);
        assert_eq!(plan.runs, [run(R1)]);
    }

    #[tokio::test]
    async fn kept_states_still_rebuild_exactly_after_a_forget() {
        for keep in (0u8..16).map(|bits| (0..4).map(|i| bits & (1 << i) != 0).collect::<Vec<_>>()) {
            let root = three_runs();
            let history = History::load(&root, &["docs".to_owned()]).await.unwrap();
            let now = current(&root).await;
            let before: Vec<_> = (0..4)
                .map(|k| contents(&root, &history.state(k, "docs", now.clone())))
                .collect();
            let plan = history.forget_plan(&keep);
            for entry in plan.versions.iter().chain(&plan.records) {
                root.remove(&entry.path).await.unwrap();
            }
            let after = History::load(&root, &["docs".to_owned()]).await.unwrap();
            let now = current(&root).await;
            for (k, _) in keep.iter().enumerate().filter(|(_, &kept)| kept) {
                // Run folders that went shift the state numbers: find the same state by time.
                let time = history.state_times()[k];
                let index = if k == 0 { 0 } else { after.state_at(time) };
                let got = contents(&root, &after.state(index, "docs", now.clone()));
                assert_eq!(got, before[k], "keep {keep:?}: state {k}");
            }
        }
    }

    #[tokio::test]
    async fn forgotten_states_are_read_back_from_their_list() {
        let states = BTreeSet::from([format!("before {R1}"), R2.to_owned()]);
        let root = three_runs().file(
            &forgotten_path(),
            &super::super::forgotten_list(&states),
            at(4),
        );
        let history = History::load(&root, &["docs".to_owned()]).await.unwrap();
        let forgotten: Vec<bool> = (0..4).map(|k| history.forgotten(k)).collect();
        assert_eq!(forgotten, [true, false, true, false]);
        // The list is no stray, and the same choice again changes nothing.
        assert!(history.strays.is_empty(), "{:?}", history.strays);
        assert!(history
            .forget_plan(&[false, true, false, true])
            .forgotten
            .is_none());
        // Dropping state 1 as well: R1 and R2 go, R3 is the earliest run left, and the state
        // before it is listed as forgotten, the names of runs gone no longer.
        let plan = history.forget_plan(&[false, false, false, true]);
        let listed = plan.forgotten.unwrap();
        assert_eq!(
            listed.into_iter().collect::<Vec<_>>(),
            [format!("before {R3}")]
        );
    }

    #[tokio::test]
    async fn files_poof_did_not_write_are_never_removed() {
        let root = three_runs()
            .file(&format!("poof-history/{R1}/notes.txt"), b"mine", at(1))
            .file("poof-history/README", b"mine", at(1));
        let history = History::load(&root, &["docs".to_owned()]).await.unwrap();
        assert_eq!(history.strays, ["poof-history/README"]);
        let plan = history.forget_plan(&[false, false, false, true]);
        assert!(!plan.runs.contains(&run(R1)), "{:?}", plan.runs);
        assert!(!plan.rmdirs.contains(&format!("poof-history/{R1}")));
    }

    #[tokio::test]
    async fn runs_rclone_wrote_are_read_as_adding_nothing() {
        // `rclone sync --backup-dir root:poof-history/<run>/docs`: versions, no record.
        let root = MemBackend::local()
            .file("docs/a", b"a2", at(2))
            .file(&format!("poof-history/{R2}/docs/a"), b"a1", at(1))
            .file(&format!("poof-history/{R2}/docs/sub/gone"), b"g", at(1));
        let history = History::load(&root, &["docs".to_owned()]).await.unwrap();
        assert_eq!(history.unrecorded("docs"), [run(R2)]);
        let state = history.state(0, "docs", current(&root).await);
        assert_eq!(
            contents(&root, &state),
            pairs(&[("a", b"a1"), ("sub/gone", b"g")])
        );
    }

    #[tokio::test]
    async fn broken_records_stop_the_load_with_their_path() {
        let record = record_path(run(R1), "docs");
        for (data, why) in [
            (&b"{not json"[..], "is not one of poof's"),
            (
                br#"{"format": 9, "folder": "docs", "added": []}"#,
                "has format 9",
            ),
            (
                br#"{"format": 1, "folder": "other", "added": []}"#,
                "names the folder",
            ),
        ] {
            let root = MemBackend::local().file(&record, data, at(1));
            let err = History::load(&root, &["docs".to_owned()])
                .await
                .unwrap_err();
            let text = format!("{err:#}");
            assert!(text.contains(&record) && text.contains(why), "{text}");
        }
    }
}
