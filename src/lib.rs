//! poof: encrypted backup and restore of local folders to cloud storage, byte-compatible with
//! rclone's crypt format and needing no rclone at run time.
//!
//! The `poof` binary is a thin `main` over [`run`], which parses the command line and runs one
//! command. These are public so that fuzz targets and other tools can call them:
//!
//! - [`config::rclone::RcloneConfig`]: rclone's config file (sections, `key = value` pairs,
//!   obscured passwords, `RCLONE_CONFIG_<REMOTE>_<KEY>` overrides), and the rest of [`config`]
//!   (poof.conf, where the files live);
//! - [`remote::Location`]: rclone's `name:path` syntax, and [`remote::open_backend`], which
//!   resolves a location through the config's local, alias, crypt and s3 sections;
//! - [`filter`]: rclone's filter rules (`--include`, `--exclude`, `--filter`...) compiled once
//!   and asked per path;
//! - [`bwlimit`]: rclone's `--bwlimit` spec (rates, `UP:DOWN`, timetables) and the token
//!   buckets a run's transfers draw from;
//! - [`history`]: run names and the retention policy of the history of replaced and deleted
//!   files (restic's `forget` rules over the times of past states).
//!
//! The commands, the engines, progress reporting, locking and scheduling stay private to the
//! crate.
#![forbid(unsafe_code)]

pub mod bwlimit;
/// `eprintln!` in poof's log format: one line of the log on stderr ([`progress::line`]), as
/// text or as JSON with `--log-format json`.
macro_rules! say {
    ($($arg:tt)*) => {
        $crate::progress::line(&format!($($arg)*))
    };
}

mod cli;
mod commands;
pub mod config;
mod engine;
pub mod exit;
pub mod filter;
pub mod history;
mod lock;
mod notify;
mod progress;
pub mod remote;
mod schedule;
mod sync;

use std::process::ExitCode;

use clap::Parser;

/// Parses the process's command line and runs the command it names; clap prints usage errors
/// and `--help` itself and exits.
///
/// # Errors
/// Any failure of the command, for the caller to print once (as a one-line chain, `{:#}`) and
/// turn into a failure exit code.
pub fn run() -> anyhow::Result<ExitCode> {
    let cli = cli::Cli::parse();
    progress::set_json_log(cli.global.log_format == cli::LogFormat::Json);
    commands::run(cli)
}

/// Writes one line of poof's log on stderr in the format chosen (`--log-format`).
pub fn log_line(text: &str) {
    progress::line(text);
}
