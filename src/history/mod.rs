//! History: the versions of files that backups replace or delete, kept in the cloud in rclone's
//! plain layout, and the policy that decides which past states stay restorable.
//!
//! A backup run is named by its start in UTC, `2026-11-29T060000Z` ([`RunName`]); the versions
//! it replaces or deletes go to `<root>/poof-history/<run>/<cloud folder>/<path>`, where
//! `<root>` is where the cloud folders live ([`HISTORY_DIR`] is reserved: no cloud folder name
//! may start with it). What each folder's run wrote (new and replaced files) is recorded in
//! `<root>/poof-history/<run>/poof-history-added/<cloud folder, '%' and '/' escaped>.json`
//! ([`record_path`], [`record`]), so that the state after any run can be rebuilt: the current
//! files, minus what later runs added, plus what they moved into history
//! ([`state::History`]). [`policy::KeepPolicy`] chooses, among the states after each run, those
//! that stay restorable, with restic's `forget` rules (last, hourly, daily, weekly, monthly,
//! within); the states forgotten while their run folders stay for others are listed in
//! [`forgotten_path`]. [`snapshot::Snapshot`] shows one state as a read-only backend.

pub mod policy;
mod run;
pub mod snapshot;
pub mod state;

pub use run::RunName;

/// The folder at the root of the cloud side that holds the history, beside the cloud folders.
pub const HISTORY_DIR: &str = "poof-history";

/// Where the versions `run` replaced or deleted in `cloud` go, below the root.
pub fn versions_dir(run: RunName, cloud: &str) -> String {
    format!("{HISTORY_DIR}/{run}/{cloud}")
}

/// Where the record of what `run` wrote in `cloud` goes, below the root: one file per folder,
/// its name the cloud folder with `%` and `/` escaped (`a/b` is `a%2Fb.json`), so that no
/// two folders share a record and no record is a folder of another.
pub fn record_path(run: RunName, cloud: &str) -> String {
    let name = cloud.replace('%', "%25").replace('/', "%2F");
    format!("{HISTORY_DIR}/{run}/{HISTORY_DIR}-added/{name}.json")
}

/// The record of what a run wrote in `cloud` (written twice: the files it will add before
/// the first transfer, so that a killed run is still undone right; what it wrote, new and
/// replaced, once it ends): JSON
/// `{"format": 1, "folder": "<cloud>", "added": ["<path>", ...]}`, the paths relative to the
/// cloud folder in rclone's Standard form, sorted.
pub fn record(cloud: &str, added: &[String]) -> Vec<u8> {
    let value = serde_json::json!({ "format": 1, "folder": cloud, "added": added });
    let mut text = value.to_string();
    text.push('\n');
    text.into_bytes()
}

/// Where `poof forget` lists the states it forgot whose run folders stay (needed by other
/// states): one file beside the run folders, read with their names.
pub fn forgotten_path() -> String {
    format!("{HISTORY_DIR}/{HISTORY_DIR}-forgotten.json")
}

/// The list of [`forgotten_path`]: JSON `{"format": 1, "forgotten": ["2026-11-28T060000Z",
/// "before 2026-11-01T060000Z"]}`, the states named as `poof forget` prints them.
pub fn forgotten_list(states: &std::collections::BTreeSet<String>) -> Vec<u8> {
    let mut text = serde_json::json!({ "format": 1, "forgotten": states }).to_string();
    text.push('\n');
    text.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_are_one_file_per_folder_whatever_its_name() {
        let run: RunName = "2026-11-29T060000Z".parse().unwrap();
        assert_eq!(
            record_path(run, "a/b"),
            "poof-history/2026-11-29T060000Z/poof-history-added/a%2Fb.json"
        );
        assert_ne!(record_path(run, "a%2Fb"), record_path(run, "a/b"));
        assert_eq!(
            versions_dir(run, "a/b"),
            "poof-history/2026-11-29T060000Z/a/b"
        );
        let text = record("docs", &["x\ny".to_owned(), "z".to_owned()]);
        let back: serde_json::Value = serde_json::from_slice(&text).unwrap();
        assert_eq!(back["format"], 1);
        assert_eq!(back["folder"], "docs");
        assert_eq!(back["added"][0], "x\ny");
    }
}
