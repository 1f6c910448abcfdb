//! Forgetting past states: a [`KeepPolicy`] applied to the history of a job's root, then the
//! versions, records and run folders no kept state needs removed (see
//! [`crate::history::state`] for what each state needs).
//!
//! [`Forget::plan`] decides and changes nothing: one [`StateDecision`] per state (the newest,
//! the current files, is always kept), and the [`ForgetPlan`]. When every state is kept only
//! the run names are listed, so the policy after each backup costs one listing. Nothing is
//! removed while the history has names that do not decrypt, or a record that cannot be read:
//! one of them may be a version a kept state needs. [`Forget::apply`] removes, and stops at
//! the first failure.

use std::sync::Arc;

use anyhow::{bail, Context, Result};
use futures::TryStreamExt;
use jiff::Timestamp;

use super::job::Job;
use crate::history::policy::KeepPolicy;
use crate::history::state::{
    read_forgotten, run_names, state_name, state_times, ForgetPlan, History,
};
use crate::history::{forgotten_list, forgotten_path, HISTORY_DIR};
use crate::remote::backend::{Backend, PutOptions};

/// How many removals run at once.
const REMOVE_CONCURRENCY: usize = 16;

/// What the policy decided for one state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateDecision {
    /// The state's name: its run, or `before <first run>`.
    pub name: String,
    /// It stays restorable.
    pub keep: bool,
    /// It was forgotten by an earlier `forget` (and is not offered to the policy).
    pub forgotten_earlier: bool,
    /// Why it stays (empty when it goes).
    pub reasons: Vec<String>,
}

/// A policy applied to a job's history, not yet carried out.
pub struct Forget {
    root: Arc<dyn Backend>,
    /// One decision per state, newest first.
    pub states: Vec<StateDecision>,
    /// What goes.
    pub plan: ForgetPlan,
}

/// What [`Forget::apply`] removed.
#[derive(Debug, Default, Clone, Copy)]
pub struct Removed {
    /// Versions and records removed.
    pub files: usize,
    /// Their bytes.
    pub bytes: u64,
}

impl Forget {
    /// Applies `policy` to the history of `job`'s root and plans what goes. States forgotten
    /// earlier are not offered to the policy (they are gone, as a forgotten snapshot is).
    /// With `quick`, the history is read whole only when the policy drops a state (after a
    /// backup: one listing in the common case).
    ///
    /// # Errors
    /// The history cannot be listed or read; names in it do not decrypt (wrong keys?).
    pub async fn plan(job: &Job, policy: &KeepPolicy, quick: bool) -> Result<Forget> {
        let root = job.history_root()?;
        let (runs, others, problems) = run_names(root.as_ref()).await?;
        refuse_problems(root.as_ref(), &problems)?;
        let times = state_times(&runs);
        let listed = read_forgotten(root.as_ref(), &others).await?;
        let mut forgotten: Vec<bool> = (0..times.len())
            .map(|k| listed.contains(&state_name(&runs, k)))
            .collect();
        let (mut keep, mut reasons) = decide(policy, &times, &forgotten);
        let mut plan = ForgetPlan::default();
        // Keeping every state not forgotten yet drops nothing new: after a backup, that is
        // known from the names of the runs and the list of forgotten states alone.
        if !quick || keep.iter().zip(&forgotten).any(|(&k, &gone)| !k && !gone) {
            let folders: Vec<String> = job.folders().into_iter().map(|f| f.cloud).collect();
            let history = History::load(root.as_ref(), &folders).await?;
            refuse_problems(root.as_ref(), &history.problems)?;
            if history.names() != runs {
                bail!(
                    "{HISTORY_DIR} in {} changed while it was read (another poof?); nothing changed",
                    root.describe()
                );
            }
            forgotten = (0..times.len()).map(|k| history.forgotten(k)).collect();
            (keep, reasons) = decide(policy, &times, &forgotten);
            plan = history.forget_plan(&keep);
        }
        let states = (0..keep.len())
            .rev()
            .map(|index| StateDecision {
                name: state_name(&runs, index),
                keep: keep[index],
                forgotten_earlier: forgotten[index],
                reasons: std::mem::take(&mut reasons[index]),
            })
            .collect();
        Ok(Forget { root, states, plan })
    }

    /// Removes what the plan lets go: the versions and records, then the directories left
    /// empty, deepest first.
    ///
    /// # Errors
    /// A removal fails; nothing more is removed then (what is left is still restorable).
    pub async fn apply(&self) -> Result<Removed> {
        let root = self.root.as_ref();
        // The list first: a state is listed as forgotten before anything it needs goes.
        if let Some(forgotten) = &self.plan.forgotten {
            let path = forgotten_path();
            let list = forgotten_list(forgotten);
            let opts = PutOptions {
                size: Some(list.len() as u64),
                mtime: None,
            };
            root.put(&path, Box::pin(std::io::Cursor::new(list)), opts)
                .await
                .with_context(|| format!("cannot write {path} in the history"))?;
        }
        let files: Vec<_> = self
            .plan
            .versions
            .iter()
            .chain(&self.plan.records)
            .collect();
        futures::stream::iter(files.iter().map(Ok))
            .try_for_each_concurrent(REMOVE_CONCURRENCY, |entry| async move {
                root.remove(&entry.path)
                    .await
                    .with_context(|| format!("cannot remove {} from the history", entry.path))
            })
            .await?;
        for dir in &self.plan.rmdirs {
            root.rmdir(dir)
                .await
                .with_context(|| format!("cannot remove the folder {dir} from the history"))?;
        }
        Ok(Removed {
            files: files.len(),
            bytes: self.plan.bytes(),
        })
    }

    /// How many states stay, and how many this forget drops (not counting those forgotten
    /// earlier).
    pub fn counts(&self) -> (usize, usize) {
        let kept = self.states.iter().filter(|s| s.keep).count();
        let earlier = self.states.iter().filter(|s| s.forgotten_earlier).count();
        (kept, self.states.len() - kept - earlier)
    }

    /// Where the history is, for messages.
    pub fn describe(&self) -> String {
        self.root.describe()
    }
}

/// The policy's decision per state (`times` oldest first), the states `forgotten` left out:
/// whether each stays, and why. The newest state, the current files, always stays.
fn decide(
    policy: &KeepPolicy,
    times: &[Timestamp],
    forgotten: &[bool],
) -> (Vec<bool>, Vec<Vec<String>>) {
    let offered: Vec<Timestamp> = times
        .iter()
        .zip(forgotten)
        .filter(|(_, &gone)| !gone)
        .map(|(&time, _)| time)
        .collect();
    let mut keep = vec![false; times.len()];
    let mut reasons = vec![Vec::new(); times.len()];
    for decision in policy.apply(&offered) {
        // Times are distinct and sorted: each decision is one state's.
        if let Ok(index) = times.binary_search(&decision.time) {
            keep[index] = decision.keep;
            reasons[index] = decision.reasons;
        }
    }
    if let Some(newest) = keep.len().checked_sub(1) {
        if !keep[newest] {
            keep[newest] = true;
            reasons[newest].push("the current files".to_owned());
        }
    }
    (keep, reasons)
}

/// Refuses to go on when a listing of the history met names it could not show.
fn refuse_problems(root: &dyn Backend, problems: &[String]) -> Result<()> {
    let listed = format!("{HISTORY_DIR} of {}", root.describe());
    super::listing::refuse_problems(problems, &listed, "nothing forgotten")
}
