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

use super::job::Job;
use crate::history::policy::KeepPolicy;
use crate::history::state::{run_names, state_name, state_times, ForgetPlan, History};
use crate::history::HISTORY_DIR;
use crate::remote::backend::Backend;

/// How many removals run at once.
const REMOVE_CONCURRENCY: usize = 16;

/// What the policy decided for one state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateDecision {
    /// The state's name: its run, or `before <first run>`.
    pub name: String,
    /// It stays restorable.
    pub keep: bool,
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
    /// Applies `policy` to the history of `job`'s root and plans what goes.
    ///
    /// # Errors
    /// The history cannot be listed or read; names in it do not decrypt (wrong keys?).
    pub async fn plan(job: &Job, policy: &KeepPolicy) -> Result<Forget> {
        let root = job.history_root()?;
        let (runs, _, problems) = run_names(root.as_ref()).await?;
        refuse_problems(root.as_ref(), &problems)?;
        let times = state_times(&runs);
        let mut keep = vec![false; times.len()];
        let mut reasons = vec![Vec::new(); times.len()];
        for decision in policy.apply(&times) {
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
        let plan = if keep.iter().all(|&k| k) {
            ForgetPlan::default()
        } else {
            let folders: Vec<String> = job.folders().into_iter().map(|f| f.cloud).collect();
            let history = History::load(root.as_ref(), &folders).await?;
            refuse_problems(root.as_ref(), &history.problems)?;
            if history.runs.len() + 1 != keep.len() {
                bail!(
                    "{HISTORY_DIR} in {} changed while it was read (another poof?); nothing changed",
                    root.describe()
                );
            }
            history.forget_plan(&keep)
        };
        let states = (0..keep.len())
            .rev()
            .map(|index| StateDecision {
                name: state_name(&runs, index),
                keep: keep[index],
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

    /// How many states stay and go.
    pub fn counts(&self) -> (usize, usize) {
        let kept = self.states.iter().filter(|s| s.keep).count();
        (kept, self.states.len() - kept)
    }

    /// Where the history is, for messages.
    pub fn describe(&self) -> String {
        self.root.describe()
    }
}

/// Refuses to go on when a listing of the history met names it could not show.
fn refuse_problems(root: &dyn Backend, problems: &[String]) -> Result<()> {
    let listed = format!("{HISTORY_DIR} of {}", root.describe());
    super::listing::refuse_problems(problems, &listed, "nothing forgotten")
}
