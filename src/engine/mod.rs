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
mod shred;
mod versions;
mod wipe;

pub use folder::{backup_folder, restore_folder, Guard, Outcome, Restore, RunOptions};
pub use forget::Forget;
pub use job::{real, Folder, Job};
pub use listing::fill_mtimes;
pub use past::{parse_time, Past};
pub use versions::{locate, versions, FileVersions, Version};
pub use wipe::{verify_and_wipe, Wiped};

use std::time::Instant;

use anyhow::{Context, Result};

use crate::config::Paths;
use crate::lock::RunLock;
use crate::sync::SyncStats;

/// A run of one of poof's own commands over the folders of poof.conf: the job loaded, the run
/// lock held, the runtime started, and the totals of the folders run so far.
pub struct Session {
    /// poof.conf and rclone-poof.conf.
    pub job: Job,
    /// The run lock of the config folder, held until the session ends (or is dropped early).
    pub lock: RunLock,
    /// The runtime folder runs go on.
    pub runtime: tokio::runtime::Runtime,
    /// Counts summed over the folders run.
    pub totals: SyncStats,
    started: Instant,
}

impl Session {
    /// Loads the job, takes the run lock and starts the runtime.
    ///
    /// # Errors
    /// Broken config files, another poof running on the same config, or no runtime.
    pub fn start(paths: &Paths) -> Result<Session> {
        let job = Job::load(paths)?;
        let lock = job.lock()?;
        Ok(Session {
            job,
            lock,
            runtime: runtime()?,
            totals: SyncStats::default(),
            started: Instant::now(),
        })
    }

    /// Counts a folder's outcome into the totals; true when the folder fully succeeded.
    pub fn count(&mut self, outcome: &Outcome) -> bool {
        outcome.count_into(&mut self.totals)
    }

    /// The summary line of the totals so far.
    pub fn summary(&self) -> String {
        self.totals.summary(self.started.elapsed())
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
