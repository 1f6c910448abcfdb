//! `poof versions [PATH] [--json]`: every version of a file, or of the files below a folder
//! (every folder of poof.conf without PATH): the current one and those the history keeps.
//!
//! PATH is a local path inside a folder of poof.conf (the file need not exist any more) or
//! `<cloud folder>/<path>`. Per file, a line `<cloud folder>/<path>` (with
//! `(deleted: no current version)` when the file is gone), then one indented line per version,
//! newest first: `current` or the run that replaced or deleted it (`2026-11-29T060000Z`: that
//! version was current until that run), its modification time in UTC to the second (`unknown`
//! when the storage keeps none) and its size:
//!
//! ```text
//! docs/report.txt
//!   current             2026-11-29T05:12:40Z  1843 B (1.8 KiB)
//!   2026-11-29T060000Z  2026-11-28T17:03:11Z  912 B
//! ```
//!
//! With `--json`, one JSON object per line per file:
//! `{"folder": "docs", "path": "report.txt", "versions": [{"current": true, "mtime":
//! "2026-11-29T05:12:40Z", "run": null, "size": 1843}, ...]}` (`mtime` null when unknown). Names
//! are printed as `poof ls` prints them: in rclone's Standard form, a plain remote's control
//! characters as their pictures; JSON escapes what it must. The engine is
//! [`crate::engine::versions`]. It reads only, so it runs beside a backup (no run lock).

use std::io::Write;
use std::process::ExitCode;
use std::time::SystemTime;

use anyhow::{bail, Context, Result};

use crate::cli::VersionsArgs;
use crate::config::Paths;
use crate::engine::{locate, runtime, versions, FileVersions, Job, Version};
use crate::history::HISTORY_DIR;
use crate::progress::format_bytes;
use crate::remote::encoding::printable;

/// `poof versions`.
///
/// # Errors
/// Broken config files, a PATH in no folder of poof.conf or with no version at all, a history
/// or cloud folder that cannot be read (names that do not decrypt included), or stdout closed.
pub fn run(paths: &Paths, args: &VersionsArgs) -> Result<ExitCode> {
    let job = Job::load(paths)?;
    let scope = match &args.path {
        Some(path) => Some(locate(&job, path)?),
        None => None,
    };
    let files = runtime()?.block_on(versions(&job, scope.clone()))?;
    if let (Some(path), Some((folder, _)), true) = (&args.path, &scope, files.is_empty()) {
        bail!(
            "no version of {path:?} in {} (neither current nor in {HISTORY_DIR})",
            folder.cloud
        );
    }
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    for file in &files {
        let text = if args.json { json(file) } else { lines(file) };
        out.write_all(text.as_bytes())
            .context("cannot write to standard output")?;
    }
    out.flush().context("cannot write to standard output")?;
    Ok(ExitCode::SUCCESS)
}

/// The lines of one file.
fn lines(file: &FileVersions) -> String {
    let name = printable(&format!("{}/{}", file.folder, file.path)).into_owned();
    let mut text = if file.has_current() {
        format!("{name}\n")
    } else {
        format!("{name}  (deleted: no current version)\n")
    };
    for version in &file.versions {
        let label = version
            .run
            .map_or_else(|| "current".to_owned(), |run| run.to_string());
        let mtime = utc(version.mtime).unwrap_or_else(|| "unknown".to_owned());
        let size = match format_bytes(version.size) {
            human if version.size < 1024 => human,
            human => format!("{} B ({human})", version.size),
        };
        text.push_str(&format!("  {label:<18}  {mtime:<20}  {size}\n"));
    }
    text
}

/// The JSON line of one file.
fn json(file: &FileVersions) -> String {
    let versions: Vec<serde_json::Value> = file.versions.iter().map(json_version).collect();
    let value = serde_json::json!({
        "folder": file.folder,
        "path": file.path,
        "versions": versions,
    });
    format!("{value}\n")
}

fn json_version(version: &Version) -> serde_json::Value {
    serde_json::json!({
        "run": version.run.map(|run| run.to_string()),
        "current": version.is_current(),
        "size": version.size,
        "mtime": utc(version.mtime),
    })
}

/// A time in UTC, RFC 3339 to the second (`2026-11-29T06:00:00Z`); `None` when unknown.
fn utc(time: Option<SystemTime>) -> Option<String> {
    let time = jiff::Timestamp::try_from(time?).ok()?;
    Some(time.strftime("%Y-%m-%dT%H:%M:%SZ").to_string())
}
