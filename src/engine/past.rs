//! A past state of a job's folders, for `poof download --at`: the history of the job's root
//! read once ([`Past::load`]), the state chosen by a time, and each folder's files in that
//! state as a read-only backend ([`Past::snapshot`]) that a restore reads from.

use std::sync::Arc;

use anyhow::{bail, Context, Result};
use jiff::Timestamp;

use super::job::{Folder, Job};
use super::listing::refuse_problems;
use crate::history::snapshot::Snapshot;
use crate::history::state::{state_name, History};
use crate::history::{RunName, HISTORY_DIR};
use crate::remote::backend::Backend;

/// The history of a job's root and the state a time chose (see the module docs).
pub struct Past {
    root: Arc<dyn Backend>,
    history: History,
    /// The state: 0 before the earliest run, `k` after run `k`.
    index: usize,
}

/// Parses `--at`: RFC 3339 (`2026-11-29T06:00:00Z`, `2026-11-29T07:00:00+01:00`) or a run
/// name (`2026-11-29T060000Z`).
///
/// # Errors
/// Neither.
pub fn parse_time(text: &str) -> Result<Timestamp> {
    if let Ok(run) = text.parse::<RunName>() {
        return Ok(run.time());
    }
    text.parse::<Timestamp>().map_err(|_| {
        anyhow::anyhow!(
            "--at {text:?}: not a time; give RFC 3339 like 2026-11-29T06:00:00Z (or with an offset, +01:00) or a run name like 2026-11-29T060000Z"
        )
    })
}

impl Past {
    /// Reads the history of `job`'s root and picks the state after the last run that started
    /// at or before `at` (the state before the earliest run when every run started later).
    ///
    /// # Errors
    /// The history cannot be read, or has names that do not decrypt (wrong keys?).
    pub async fn load(job: &Job, at: Timestamp) -> Result<Past> {
        let root = job.history_root()?;
        let folders: Vec<String> = job.folders().into_iter().map(|f| f.cloud).collect();
        let history = History::load(root.as_ref(), &folders).await?;
        let listed = format!("{HISTORY_DIR} of {}", root.describe());
        refuse_problems(&history.problems, &listed, "nothing restored")?;
        let index = history.state_at(at);
        if history.forgotten(index) {
            let names = history.names();
            let kept = |k: &usize| !history.forgotten(*k);
            let earlier = (0..index).rev().find(kept);
            let later = (index + 1..=names.len()).find(kept);
            let near: Vec<String> = earlier
                .into_iter()
                .chain(later)
                .map(|k| state_name(&names, k))
                .collect();
            bail!(
                "the state {} was forgotten (poof forget): it can no longer be restored; the nearest kept states: {}",
                state_name(&names, index),
                near.join(", ")
            );
        }
        Ok(Past {
            root,
            history,
            index,
        })
    }

    /// What the state is, in one line: `the state after the backup 2026-11-29T060000Z`.
    pub fn describe(&self) -> String {
        let names = self.history.names();
        match (self.index, names.first()) {
            (_, None) => "the current files (the history is empty)".to_owned(),
            (0, Some(first)) => format!(
                "the state before the earliest backup in the history, {first} (the files it replaced or deleted)"
            ),
            (k, _) if k == names.len() => format!(
                "the state after the newest backup, {} (the current files)",
                names[k - 1]
            ),
            (k, _) => format!("the state after the backup {}", names[k - 1]),
        }
    }

    /// The runs undone to reach the state that kept versions of `folder` without a record of
    /// what they added (written by `rclone sync --backup-dir`): the files they added are taken
    /// to be older.
    pub fn unrecorded(&self, folder: &Folder) -> Vec<RunName> {
        let undone = self
            .history
            .names()
            .into_iter()
            .skip(self.index)
            .collect::<Vec<_>>();
        self.history
            .unrecorded(&folder.cloud)
            .into_iter()
            .filter(|run| undone.contains(run))
            .collect()
    }

    /// The files of `folder` in the state, as a read-only backend.
    ///
    /// # Errors
    /// The folder's current files cannot be listed, or their names do not decrypt.
    pub async fn snapshot(&self, folder: &Folder) -> Result<Arc<dyn Backend>> {
        let listed = self
            .root
            .list(&folder.cloud, true)
            .await
            .with_context(|| format!("cannot list {}", folder.target))?
            .unwrap_or_default();
        refuse_problems(&listed.all_problems(), &folder.target, "nothing restored")?;
        let files = self
            .history
            .state(self.index, &folder.cloud, listed.entries);
        let name = format!(
            "{} at {}",
            folder.target,
            state_name(&self.history.names(), self.index)
        );
        Ok(Arc::new(Snapshot::new(Arc::clone(&self.root), files, name)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_rfc3339_or_run_names() {
        let want: Timestamp = "2026-11-29T06:00:00Z".parse().unwrap();
        assert_eq!(parse_time("2026-11-29T060000Z").unwrap(), want);
        assert_eq!(parse_time("2026-11-29T06:00:00Z").unwrap(), want);
        assert_eq!(parse_time("2026-11-29T07:00:00+01:00").unwrap(), want);
        for bad in ["yesterday", "2026-11-29", "", "2026-11-29T06:00:00"] {
            let err = parse_time(bad).unwrap_err().to_string();
            assert!(err.contains("not a time"), "{bad:?}: {err}");
        }
    }
}
