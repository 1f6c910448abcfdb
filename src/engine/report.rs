//! What a run did, as data: each folder's result and counts ([`FolderReport`]), the run's
//! ([`RunReport`]). `--json` prints a [`RunReport`] on stdout; the status file keeps the last
//! report of each command per folder for `poof status` ([`Status`]).
//!
//! The field names are part of poof's interface (scripts and monitoring read them): a field may
//! be added, never renamed or removed without a new `schema` number.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use super::{Folder, Outcome};
use crate::exit::Code;
use crate::sync::SyncStats;

/// The version of the JSON summary and status file layout.
pub const SCHEMA: u32 = 1;

/// Name of the status file in the config folder.
pub const STATUS_FILE: &str = "status.json";

/// One folder of a run (or the one pair of `poof sync` / `poof copy`).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct FolderReport {
    /// Where the files were read from (a local folder, or a remote location).
    pub source: String,
    /// Where they went.
    pub destination: String,
    /// `done`, `unreadable` (done but for some source files), `error`, `refused`,
    /// `unreachable`, `usage` (a config error of this folder), `skipped` (the local folder
    /// does not exist).
    pub result: String,
    /// The exit code this folder alone would give.
    pub exit_code: u8,
    /// Why the folder was refused, failed or skipped, in one line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Counts of the run (zero when it did not happen).
    #[serde(flatten)]
    pub counts: Counts,
    /// Wall time of the folder, in seconds.
    pub seconds: f64,
}

/// The counts of a run, folder or total.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Counts {
    /// Files listed on the source.
    pub source_files: u64,
    /// Files copied.
    pub transferred: u64,
    /// Bytes copied.
    pub bytes: u64,
    /// Files compared and found identical or checked.
    pub checked: u64,
    /// Files the filter rules left out.
    pub excluded: u64,
    /// Files deleted from the destination.
    pub deleted: u64,
    /// Errors (failed files, listing problems).
    pub errors: u64,
    /// Of the errors, source files or folders the disk could not read.
    pub unreadable: u64,
    /// Deletes the run had planned and skipped because of errors.
    pub deletes_skipped: bool,
}

impl Counts {
    /// The counts of a run's stats.
    pub fn of(stats: &SyncStats) -> Counts {
        Counts {
            source_files: stats.src_files,
            transferred: stats.transferred,
            bytes: stats.bytes,
            checked: stats.checked,
            excluded: stats.excluded,
            deleted: stats.deleted,
            errors: stats.errors,
            unreadable: stats.unreadable,
            deletes_skipped: stats.deletes_skipped,
        }
    }
}

impl FolderReport {
    /// The report of one folder's outcome (`backup` reads the local folder, the others write
    /// it).
    pub fn of(folder: &Folder, outcome: &Outcome, backup: bool, elapsed: Duration) -> FolderReport {
        let (local, target) = (folder.local.display().to_string(), folder.target.clone());
        let (source, destination) = if backup {
            (local, target)
        } else {
            (target, local)
        };
        let (result, message, counts) = match outcome {
            Outcome::Skipped => (
                "skipped".to_owned(),
                Some("the folder does not exist (not mounted?)".to_owned()),
                Counts::default(),
            ),
            Outcome::Refused(why) => (
                Code::Refused.name().to_owned(),
                Some(why.clone()),
                Counts::default(),
            ),
            Outcome::Failed(code, why) => {
                (code.name().to_owned(), Some(why.clone()), Counts::default())
            }
            Outcome::Ran(stats) => (stats.code().name().to_owned(), None, Counts::of(stats)),
        };
        FolderReport {
            source,
            destination,
            result,
            exit_code: outcome.code().number(),
            message,
            counts,
            seconds: round_ms(elapsed),
        }
    }

    /// The report of `poof sync` or `poof copy`: `stats` of the pair, or the error that
    /// stopped it.
    pub fn of_pair(
        source: &str,
        destination: &str,
        stats: Result<&SyncStats, &anyhow::Error>,
        elapsed: Duration,
    ) -> FolderReport {
        let (code, message, counts) = match stats {
            Ok(stats) => (stats.code(), None, Counts::of(stats)),
            Err(err) => (Code::of(err), Some(format!("{err:#}")), Counts::default()),
        };
        FolderReport {
            source: source.to_owned(),
            destination: destination.to_owned(),
            result: code.name().to_owned(),
            exit_code: code.number(),
            message,
            counts,
            seconds: round_ms(elapsed),
        }
    }
}

/// A whole run: what `--json` prints on stdout at the end.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct RunReport {
    /// The layout's version ([`SCHEMA`]).
    pub schema: u32,
    /// The command: `backup`, `upload`, `download`, `sync`, `copy`.
    pub command: String,
    /// When the run started (RFC 3339, UTC).
    pub started: String,
    /// Wall time of the run, in seconds.
    pub seconds: f64,
    /// `--dry-run`: nothing was changed, the counts are what would have been.
    pub dry_run: bool,
    /// The run's exit code ([`crate::exit`]) and its name.
    pub exit_code: u8,
    /// The name of the exit code (`done`, `error`, `refused`...).
    pub result: String,
    /// Each folder, in the order run.
    pub folders: Vec<FolderReport>,
    /// The run's counts: the folders' summed, plus one error for each folder that did not
    /// run and the errors met between folders (history policy, upload's verification).
    pub totals: Counts,
    /// `upload` only: local files verified in the cloud and deleted, kept, left out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub local_files: Option<LocalFiles>,
}

/// What `upload` did with the local files after the backup.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct LocalFiles {
    /// Verified in the cloud and deleted.
    pub deleted: u64,
    /// Of those, overwritten with random bytes first (`--shred`).
    pub shredded: u64,
    /// Kept: not verified, or not deletable.
    pub kept: u64,
    /// Left out by the filter rules, kept.
    pub excluded: u64,
}

impl RunReport {
    /// A report of `command` started at `started`, `elapsed` ago, ending with `code`, with
    /// the run's `totals`.
    pub fn new(
        command: &str,
        started: jiff::Timestamp,
        elapsed: Duration,
        dry_run: bool,
        code: Code,
        folders: Vec<FolderReport>,
        totals: &SyncStats,
    ) -> RunReport {
        RunReport {
            schema: SCHEMA,
            command: command.to_owned(),
            started: started
                .round(jiff::Unit::Second)
                .unwrap_or(started)
                .to_string(),
            seconds: round_ms(elapsed),
            dry_run,
            exit_code: code.number(),
            result: code.name().to_owned(),
            folders,
            totals: Counts::of(totals),
            local_files: None,
        }
    }

    /// The report as one line of JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
    }
}

/// Seconds to the millisecond.
fn round_ms(elapsed: Duration) -> f64 {
    (elapsed.as_secs_f64() * 1000.0).round() / 1000.0
}

/// The status file: the last report of each command that ran over poof.conf's folders.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Status {
    /// The layout's version ([`SCHEMA`]).
    pub schema: u32,
    /// The last run of each command (`backup`, `upload`, `download`), by command; real runs
    /// only (a dry run changes nothing and is not recorded).
    pub last: BTreeMap<String, RunReport>,
}

impl Status {
    /// The status file of the config folder `confdir`; empty when there is none yet.
    ///
    /// # Errors
    /// The file cannot be read, or is not a status file.
    pub fn load(confdir: &Path) -> Result<Status> {
        let path = confdir.join(STATUS_FILE);
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Status::default()),
            Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
        };
        serde_json::from_str(&text).with_context(|| {
            format!(
                "{}: not a poof status file (delete it: the next run writes a new one)",
                path.display()
            )
        })
    }

    /// Records `report` as the last run of its command, written atomically (a new file renamed
    /// over the old one, mode 0600). A broken status file is replaced.
    ///
    /// # Errors
    /// The file cannot be written.
    pub fn record(confdir: &Path, report: &RunReport) -> Result<()> {
        let mut status = Status::load(confdir).unwrap_or_default();
        status.schema = SCHEMA;
        status.last.insert(report.command.clone(), report.clone());
        let text = serde_json::to_string_pretty(&status).context("cannot encode the status")?;
        let path = confdir.join(STATUS_FILE);
        crate::config::files::write_private(&path, &text)
    }
}
