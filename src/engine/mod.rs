//! The engines of poof's own commands: a [`Job`] (poof.conf and rclone-poof.conf) and its
//! [`Folder`]s, one folder run in one direction with the guards ([`backup_folder`],
//! [`restore_folder`]), and upload's verify-then-delete of local files ([`verify_and_wipe`]).
//!
//! Commands parse their flags into [`RunOptions`] and a [`Guard`], load the job, call these
//! and print the totals; the engines plan and execute through [`crate::sync`] and see storage
//! only through [`crate::remote::backend::Backend`]. They never name a storage type.

mod folder;
mod job;
mod wipe;

pub use folder::{backup_folder, restore_folder, Guard, Outcome, RunOptions};
pub use job::{real, Job};
pub use wipe::{verify_and_wipe, Wiped};

use anyhow::{Context, Result};

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
