//! The engines of poof's own commands: a [`Job`] (poof.conf and rclone-poof.conf) and its
//! [`Folder`]s, one folder run in one direction with the guards ([`backup_folder`],
//! [`restore_folder`]), and upload's verify-then-delete of local files ([`verify_and_wipe`]),
//! each verified file shredded first on request.
//!
//! Commands parse their flags into [`RunOptions`] and a [`Guard`], load the job, call these
//! and print the totals; the engines plan and execute through [`crate::sync`] and see storage
//! only through [`crate::remote::backend::Backend`]. They never name a storage type.

mod folder;
mod forget;
mod job;
mod listing;
mod past;
mod report;
mod shred;
mod versions;
mod wipe;

pub use folder::{backup_folder, restore_folder, Guard, Outcome, Restore, RunOptions};
pub use forget::Forget;
pub use job::{real, Folder, Job};
pub use listing::fill_mtimes;
pub use past::{parse_time, Past};
pub use report::{FolderReport, LocalFiles, RunReport, Status, SCHEMA};
pub use versions::{locate, versions, FileVersions, Version};
pub use wipe::{verify_and_wipe, Wiped};

use std::time::Instant;

use anyhow::{Context, Result};

use crate::config::Paths;
use crate::exit::Code;
use crate::lock::RunLock;
use crate::notify::Notifier;
use crate::sync::SyncStats;

/// A run of one of poof's own commands over the folders of poof.conf: the job loaded, the run
/// lock held, the runtime started, and the totals of the folders run so far.
pub struct Session {
    /// poof.conf and rclone-poof.conf.
    pub job: Job,
    /// The run lock of the config folder, held until the session ends.
    _lock: RunLock,
    /// The runtime folder runs go on.
    pub runtime: tokio::runtime::Runtime,
    /// Counts summed over the folders run.
    pub totals: SyncStats,
    /// The report of each folder counted so far.
    pub folders: Vec<FolderReport>,
    /// The exit code so far: the most serious of the folders' and of the errors met between
    /// them ([`crate::exit`]).
    pub code: Code,
    started: Instant,
    started_at: jiff::Timestamp,
    /// When the last folder was counted (or the session started).
    last: Instant,
    /// poof.conf's `"notify"`, once the start was announced ([`Session::announce`]).
    notifier: Option<Notifier>,
}

impl Session {
    /// Loads the job, takes the run lock and starts the runtime.
    ///
    /// # Errors
    /// Broken config files, another poof running on the same config, or no runtime.
    pub fn start(paths: &Paths) -> Result<Session> {
        let job = Job::load(paths)?;
        let lock = job.lock()?;
        let now = Instant::now();
        Ok(Session {
            folders: Vec::new(),
            started_at: jiff::Timestamp::now(),
            last: now,
            notifier: None,
            job,
            _lock: lock,
            runtime: runtime()?,
            totals: SyncStats::default(),
            code: Code::Done,
            started: now,
        })
    }

    /// Counts a folder's outcome into the totals and the report (`backup`: the folder was the
    /// source); true when the folder fully succeeded.
    pub fn count(&mut self, folder: &Folder, outcome: &Outcome, backup: bool) -> bool {
        self.code = self.code.worst(outcome.code());
        let elapsed = self.last.elapsed();
        self.last = Instant::now();
        self.folders
            .push(FolderReport::of(folder, outcome, backup, elapsed));
        outcome.count_into(&mut self.totals)
    }

    /// The report of the run so far, as `command`.
    pub fn report(&self, command: &str, dry_run: bool) -> RunReport {
        RunReport::new(
            command,
            self.started_at,
            self.started.elapsed(),
            dry_run,
            self.code,
            self.folders.clone(),
            &self.totals,
        )
    }

    /// Announces the start of a real run to poof.conf's `"notify"` URL, in the background
    /// (a dry run announces nothing).
    pub fn announce(&mut self, dry_run: bool) {
        let Some(url) = self.job.conf.notify.as_deref().filter(|_| !dry_run) else {
            return;
        };
        match Notifier::start(url, &self.runtime) {
            Ok(notifier) => self.notifier = Some(notifier),
            Err(e) => say!("poof: warning: {e:#}; no notification is sent"),
        }
    }

    /// Sends the end of the run, with `report` as its body, to the `"notify"` URL announced.
    pub fn notify_end(&mut self, report: &RunReport) {
        if let Some(notifier) = self.notifier.take() {
            notifier.finish(&self.runtime, self.code, report.to_json());
        }
    }

    /// Ends the run: records `report` in the status file (unless a dry run), sends it to the
    /// `"notify"` URL, prints it on stdout with `json`, and returns the exit code. A status
    /// file or a notification that fails is a warning: the run itself is over.
    pub fn finish(&mut self, report: &RunReport, json: bool) -> std::process::ExitCode {
        if !report.dry_run {
            if let Err(e) = Status::record(&self.job.paths.confdir, report) {
                say!("poof: warning: {e:#}");
            }
        }
        self.notify_end(report);
        if json {
            println!("{}", report.to_json());
        }
        self.code.into()
    }

    /// Counts `errors` errors met outside the folders' runs, each meaning `code`.
    pub fn fail(&mut self, code: Code, errors: u64) {
        if errors > 0 {
            self.totals.errors += errors;
            self.code = self.code.worst(code);
        }
    }

    /// The summary line of the totals so far.
    pub fn summary(&self) -> String {
        self.totals.summary(self.started.elapsed())
    }
}

impl Drop for Session {
    /// A run announced and ended by an error before its summary still tells the `"notify"`
    /// URL it failed.
    fn drop(&mut self) {
        if self.notifier.is_some() {
            let code = self.code.worst(Code::Error);
            let report = RunReport::new(
                "poof",
                self.started_at,
                self.started.elapsed(),
                false,
                code,
                self.folders.clone(),
                &SyncStats {
                    errors: self.totals.errors.max(1),
                    ..self.totals.clone()
                },
            );
            self.code = code;
            self.notify_end(&report);
        }
    }
}

/// Starts the async runtime of a command: the one place it is built.
///
/// # Errors
/// The runtime cannot start.
pub fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}
