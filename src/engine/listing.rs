//! What the engines that read listings share: a listing with names it could not show refused
//! ([`refuse_problems`]), and the modification times object stores leave out of listings read
//! with one `stat` per file ([`fill_mtimes`]).

use anyhow::{bail, Result};
use futures::{StreamExt, TryStreamExt};

use crate::remote::backend::{Backend, Entry};

/// How many `stat` calls run at once when a listing carries no modification times.
const STAT_CONCURRENCY: usize = 16;

/// Refuses to go on when a listing of `listed` met names it could not show (names that do not
/// decrypt): what it shows may be incomplete. `outcome` ends the message (`nothing forgotten`).
///
/// # Errors
/// `problems` is not empty: one line with how many there are and the first.
pub fn refuse_problems(problems: &[String], listed: &str, outcome: &str) -> Result<()> {
    if let Some(first) = problems.first() {
        bail!(
            "{} names in {listed} cannot be read (wrong password or password2?): {first}; {outcome}",
            problems.len()
        );
    }
    Ok(())
}

/// Fills missing modification times with one `stat` per file (object stores), a few at once.
///
/// # Errors
/// A failed `stat`.
pub async fn fill_mtimes(backend: &dyn Backend, entries: &mut [Entry]) -> Result<()> {
    let missing: Vec<usize> = entries
        .iter()
        .enumerate()
        .filter(|(_, e)| !e.is_dir() && e.mtime.is_none())
        .map(|(i, _)| i)
        .collect();
    let paths: Vec<(usize, String)> = missing
        .into_iter()
        .filter_map(|i| entries.get(i).map(|e| (i, e.path.clone())))
        .collect();
    let found: Vec<(usize, Option<Entry>)> = futures::stream::iter(paths)
        .map(|(i, path)| async move { backend.stat(&path).await.map(|st| (i, st)) })
        .buffered(STAT_CONCURRENCY)
        .try_collect()
        .await?;
    for (i, st) in found {
        if let (Some(entry), Some(st)) = (entries.get_mut(i), st) {
            entry.mtime = st.mtime;
        }
    }
    Ok(())
}
