//! What the read-only commands (`ls`, `lsjson`, `cat`) share: loading the rclone config only
//! when a remote needs it, resolving a location that may name a directory or a single file, and
//! reporting names that could not be decrypted.
//!
//! A location is listed as a directory first; when nothing is there, its parent is opened and
//! the last segment looked up as a file (so `secret:dir/file.txt` works although the crypt
//! layer encrypts the segments of a remote's root as directory names).

use std::cmp::Ordering;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{bail, Result};

use crate::config::rclone::RcloneConfig;
use crate::config::Paths;
use crate::remote::backend::{Backend, Entry};
use crate::remote::{open_backend, Location};

pub use crate::engine::fill_mtimes;

/// The rclone config with rclone's `RCLONE_CONFIG_<NAME>_<KEY>` environment overrides applied,
/// or an empty one for a local path (which needs none).
///
/// # Errors
/// The config file cannot be read or parsed.
pub fn config_for(paths: &Paths, loc: &Location) -> Result<RcloneConfig> {
    Ok(match loc {
        Location::Local(_) => RcloneConfig::parse("")?,
        Location::Remote { .. } => {
            let mut config = RcloneConfig::load(&paths.rcloneconf)?;
            config.apply_process_env_overrides();
            config
        }
    })
}

/// A resolved command-line location.
pub enum Target {
    /// A directory: the backend rooted at it and its listing.
    Dir {
        /// Backend rooted at the directory.
        backend: Arc<dyn Backend>,
        /// The listing, paths relative to the directory.
        entries: Vec<Entry>,
        /// What the listing could not show (names that do not decrypt...).
        problems: Vec<String>,
    },
    /// A single file: the backend of its parent and its entry (path = the file name).
    File {
        /// Backend rooted at the parent directory.
        backend: Arc<dyn Backend>,
        /// The file.
        entry: Entry,
    },
}

impl Target {
    /// The backend.
    pub fn backend(&self) -> &Arc<dyn Backend> {
        match self {
            Target::Dir { backend, .. } | Target::File { backend, .. } => backend,
        }
    }

    /// The entries: the listing, or the one file.
    pub fn entries(&self) -> &[Entry] {
        match self {
            Target::Dir { entries, .. } => entries,
            Target::File { entry, .. } => std::slice::from_ref(entry),
        }
    }
}

/// Resolves `text` into a directory listing (one level or recursive) or a single file.
///
/// # Errors
/// An invalid location or config, a failed listing, or nothing at the location
/// ("directory not found", as rclone says).
pub async fn resolve(paths: &Paths, text: &str, recursive: bool) -> Result<Target> {
    let loc = Location::parse(text)?;
    if let Location::Local(path) = &loc {
        // A FIFO, socket or device is neither listed nor read (opening a FIFO would wait
        // for a writer forever): say what it is rather than "not found".
        if let Ok(meta) = std::fs::metadata(path) {
            if !meta.is_dir() && !meta.is_file() {
                bail!("{text}: not a regular file or folder; nothing read");
            }
        }
    }
    let config = config_for(paths, &loc)?;
    let backend = open_backend(&config, &loc)?;
    if let Some(listing) = backend.list("", recursive).await? {
        return Ok(Target::Dir {
            backend,
            problems: listing.all_problems(),
            entries: listing.entries,
        });
    }
    if let Some((parent, leaf)) = loc.split_leaf() {
        let parent_backend = open_backend(&config, &parent)?;
        if let Some(entry) = parent_backend.stat(&leaf).await? {
            if !entry.is_dir() {
                return Ok(Target::File {
                    backend: parent_backend,
                    entry,
                });
            }
        }
    }
    bail!("{text}: directory not found");
}

/// Sorts entries in rclone's walk order: breadth first, each directory's entries by name.
pub fn sort_walk_order(entries: &mut [Entry]) {
    entries.sort_by(|a, b| walk_cmp(&a.path, &b.path));
}

fn walk_cmp(a: &str, b: &str) -> Ordering {
    let depth = |p: &str| p.matches('/').count();
    depth(a)
        .cmp(&depth(b))
        .then_with(|| a.split('/').cmp(b.split('/')))
}

impl Target {
    /// Prints a warning per entry the listing could not show (names that do not decrypt)
    /// and returns how many there were.
    pub fn report_problems(&self) -> usize {
        let Target::Dir {
            backend, problems, ..
        } = self
        else {
            return 0;
        };
        for what in problems {
            say!("poof: warning: {what} (in {})", backend.describe());
        }
        problems.len()
    }

    /// The exit code of a listing command (`ls`, `lsjson`) after its output: failure, said
    /// in one more line, when entries could not be listed.
    pub fn listing_exit(&self) -> ExitCode {
        let skipped = self.report_problems();
        if skipped > 0 {
            say!("poof: error: {skipped} entries could not be listed (see above)");
            return ExitCode::FAILURE;
        }
        ExitCode::SUCCESS
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn walk_order_is_breadth_first_by_segments() {
        let mut paths = vec!["a-b", "a/z", "a", "b/c/d", "b", "a/y/x", "a/y", "b/c"];
        paths.sort_by(|a, b| walk_cmp(a, b));
        assert_eq!(
            paths,
            ["a", "a-b", "b", "a/y", "a/z", "b/c", "a/y/x", "b/c/d"]
        );
    }
}
