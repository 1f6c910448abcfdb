//! poof's configuration files and where they live.
//!
//! [`Paths`] resolves the config folder and the two files in it from the global flags (given
//! as plain values: this module knows nothing of the command line):
//! `poof.conf` (poof's own JSON) and `rclone-poof.conf` (an rclone config file with the remotes,
//! parsed by [`rclone`]).

pub mod files;
pub mod poof;
pub mod rclone;

use std::path::{Path, PathBuf};

use anyhow::{bail, Result};

/// Name of poof's own config file inside the config folder.
pub const POOF_CONF: &str = "poof.conf";
/// Name of the rclone config file inside the config folder.
pub const RCLONE_CONF: &str = "rclone-poof.conf";

/// Where poof's files are, after the global flags are applied.
#[derive(Debug, Clone)]
pub struct Paths {
    /// The config folder.
    pub confdir: PathBuf,
    /// poof.conf.
    pub poofconf: PathBuf,
    /// rclone-poof.conf.
    pub rcloneconf: PathBuf,
}

impl Paths {
    /// Resolves the paths from the flags (`--confdir`, `--poofconf`, `--rcloneconf`, each
    /// optional) and the environment.
    ///
    /// # Errors
    /// When no config folder is given and neither `XDG_CONFIG_HOME` nor `HOME` is set.
    pub fn resolve(
        confdir: Option<&Path>,
        poofconf: Option<&Path>,
        rcloneconf: Option<&Path>,
    ) -> Result<Paths> {
        let confdir = match confdir {
            Some(dir) => dir.to_path_buf(),
            None => default_confdir()?,
        };
        Ok(Paths {
            poofconf: poofconf.map_or_else(|| confdir.join(POOF_CONF), Path::to_path_buf),
            rcloneconf: rcloneconf.map_or_else(|| confdir.join(RCLONE_CONF), Path::to_path_buf),
            confdir,
        })
    }
}

fn env_dir(name: &str) -> Option<PathBuf> {
    std::env::var_os(name)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
}

fn home() -> Result<PathBuf> {
    match env_dir("HOME") {
        Some(home) => Ok(home),
        None => bail!("HOME is not set: give the config folder with --confdir"),
    }
}

/// `$XDG_CONFIG_HOME/poof` (else `~/.config/poof`) on Linux,
/// `~/Library/Application Support/poof` on macOS.
fn default_confdir() -> Result<PathBuf> {
    if cfg!(target_os = "macos") {
        return Ok(home()?.join("Library/Application Support/poof"));
    }
    match env_dir("XDG_CONFIG_HOME") {
        Some(dir) => Ok(dir.join("poof")),
        None => Ok(home()?.join(".config").join("poof")),
    }
}
