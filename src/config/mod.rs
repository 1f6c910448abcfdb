//! poof's configuration files and where they live.
//!
//! [`Paths`] resolves the config folder and the two files in it from the global flags:
//! `poof.conf` (poof's own JSON) and `rclone-poof.conf` (an rclone config file with the remotes,
//! parsed by [`rclone`]).

pub mod files;
pub mod poof;
pub mod rclone;

use std::path::PathBuf;

use anyhow::{bail, Result};

use crate::cli::GlobalArgs;

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
    /// Resolves the paths from the flags and the environment.
    ///
    /// # Errors
    /// When no config folder is given and neither `XDG_CONFIG_HOME` nor `HOME` is set.
    pub fn resolve(global: &GlobalArgs) -> Result<Paths> {
        let confdir = match &global.confdir {
            Some(dir) => dir.clone(),
            None => default_confdir()?,
        };
        Ok(Paths {
            poofconf: global
                .poofconf
                .clone()
                .unwrap_or_else(|| confdir.join(POOF_CONF)),
            rcloneconf: global
                .rcloneconf
                .clone()
                .unwrap_or_else(|| confdir.join(RCLONE_CONF)),
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
