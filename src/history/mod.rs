//! History: the versions of files that backups replace or delete, kept in the cloud in rclone's
//! plain layout, and the policy that decides which past states stay restorable.
//!
//! A backup run is named by its start in UTC, `2026-11-29T060000Z` ([`RunName`]); the versions
//! it replaces or deletes go to `<root>/poof-history/<run>/<cloud folder>/<path>`, where
//! `<root>` is where the cloud folders live ([`HISTORY_DIR`] is reserved: no cloud folder may
//! be called so). [`policy::KeepPolicy`] chooses, among the states after each run, those that
//! stay restorable, with restic's `forget` rules (last, hourly, daily, weekly, monthly, within).

pub mod policy;
mod run;

pub use run::RunName;

/// The folder at the root of the cloud side that holds the history, beside the cloud folders.
pub const HISTORY_DIR: &str = "poof-history";
