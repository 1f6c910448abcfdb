//! Remotes: rclone's path syntax and the sections of an rclone config file behind it.
//!
//! A location on the command line is `name:path` (a section of the rclone config file and a
//! path inside it), `name:` (its root), or a plain local path. [`Location::parse`] follows
//! rclone's rules: a name is letters, digits, `_`, `-`, `.`, `+`, `@` and spaces, not starting
//! with `-` or a space; anything with a `/` before the first `:` is a local path.
//! [`crypt`] turns a `type = crypt` section into the ciphers of the crypt crate.
//!
//! [`open_backend`] resolves a location into a [`Backend`]: a local path or a `type = local`
//! section gives a [`LocalBackend`], `type = s3` an [`opendal::ObjectBackend`], `type = alias` the
//! backend of its `remote` joined with the path, and `type = crypt` a [`CryptBackend`] over its
//! `remote` resolved the same way (the path's segments encrypted as directory names). Chains of
//! aliases and crypts are followed; a loop is an error naming the chain.

// The write half (put, remove, mkdir, rmdir) and some constructors serve the sync engine, which
// lands separately; the read-only commands use the rest.
#![allow(dead_code)]

pub mod backend;
pub mod crypt;
pub mod encoding;
pub mod local;
pub mod opendal;
pub mod s3;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{bail, Result};

use crate::config::rclone::RcloneConfig;
use backend::Backend;
use crypt::{CryptBackend, CryptSettings};
use local::LocalBackend;

/// A parsed command-line location.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// A local path, used as given.
    Local(PathBuf),
    /// `name:path`: a path inside the remote named by a config section.
    Remote {
        /// The section name.
        name: String,
        /// The path inside the remote, without trailing `/`. A leading `/` is kept (it makes the
        /// path of a `type = local` remote absolute); other remote types ignore it.
        path: String,
    },
}

impl Location {
    /// Parses rclone's location syntax.
    ///
    /// # Errors
    /// An on-the-fly backend (`:s3:bucket`), which poof does not support, or an invalid remote name.
    pub fn parse(text: &str) -> Result<Location> {
        if text.starts_with(':') {
            bail!("{text:?}: on-the-fly remotes (':type:path') are not supported; add a section to the rclone config file");
        }
        let Some((name, path)) = text.split_once(':') else {
            return Ok(Location::Local(PathBuf::from(text)));
        };
        if name.contains('/') || name.contains('\\') {
            return Ok(Location::Local(PathBuf::from(text)));
        }
        if !is_valid_remote_name(name) {
            bail!("{name:?} is not a valid remote name (letters, digits, _ - . + @ and spaces, not starting with - or space)");
        }
        Ok(Location::Remote {
            name: name.to_owned(),
            path: without_trailing_slash(path).to_owned(),
        })
    }

    /// The parent location and the last path segment, or `None` at a root (`name:`, `/`).
    pub fn split_leaf(&self) -> Option<(Location, String)> {
        match self {
            Location::Local(path) => {
                let leaf = path.file_name()?.to_str()?.to_owned();
                let parent = path.parent()?;
                let parent = if parent.as_os_str().is_empty() {
                    Path::new(".")
                } else {
                    parent
                };
                Some((Location::Local(parent.to_path_buf()), leaf))
            }
            Location::Remote { name, path } => {
                let (parent, leaf) = match path.rsplit_once('/') {
                    Some(("", leaf)) => ("/", leaf),
                    Some(split) => split,
                    None => ("", path.as_str()),
                };
                if leaf.is_empty() {
                    return None;
                }
                Some((
                    Location::Remote {
                        name: name.clone(),
                        // `a//b` splits into `a/` and `b`: the parent as `parse` gives it.
                        path: without_trailing_slash(parent).to_owned(),
                    },
                    leaf.to_owned(),
                ))
            }
        }
    }

    /// This location with `rel` (a relative `/`-separated path) appended.
    pub fn join(&self, rel: &str) -> Location {
        let rel = rel.trim_matches('/');
        match self {
            Location::Local(path) if rel.is_empty() => Location::Local(path.clone()),
            Location::Local(path) => Location::Local(path.join(rel)),
            Location::Remote { name, path } => Location::Remote {
                name: name.clone(),
                path: join_path(path, rel),
            },
        }
    }
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Location::Local(path) => write!(f, "{}", path.display()),
            Location::Remote { name, path } => write!(f, "{name}:{path}"),
        }
    }
}

/// A remote path without trailing `/`, except that a path of slashes only stays `/` (the root
/// of a `type = local` remote).
fn without_trailing_slash(path: &str) -> &str {
    let trimmed = path.trim_end_matches('/');
    if trimmed.is_empty() && path.starts_with('/') {
        "/"
    } else {
        trimmed
    }
}

/// Joins two `/`-separated paths, either of which may be empty.
fn join_path(base: &str, rel: &str) -> String {
    match (base, rel) {
        (b, "") => b.to_owned(),
        ("", r) => r.to_owned(),
        (b, r) if b.ends_with('/') => format!("{b}{r}"),
        (b, r) => format!("{b}/{r}"),
    }
}

/// A backend and the warnings to print once about its configuration (options it ignores).
pub struct Opened {
    /// The backend.
    pub backend: Arc<dyn Backend>,
    /// One line each, without a `poof: warning:` prefix.
    pub warnings: Vec<String>,
}

/// Resolves a location into a backend rooted at it; warnings about ignored options are
/// returned beside it.
///
/// # Errors
/// An unknown remote name, a section without `type` or with a type poof does not know, a
/// missing required key, an alias or crypt chain that loops, or a section whose values do not
/// parse; each error is one line naming the section (and key).
pub fn open_backend_with_warnings(config: &RcloneConfig, loc: &Location) -> Result<Opened> {
    let mut warnings = Vec::new();
    let mut chain = Vec::new();
    let backend = resolve(config, loc, &mut chain, &mut warnings)?;
    Ok(Opened { backend, warnings })
}

/// Resolves a location into a backend, printing configuration warnings on stderr.
///
/// # Errors
/// As [`open_backend_with_warnings`].
pub fn open_backend(config: &RcloneConfig, loc: &Location) -> Result<Arc<dyn Backend>> {
    let opened = open_backend_with_warnings(config, loc)?;
    for warning in &opened.warnings {
        eprintln!("poof: warning: {warning}");
    }
    Ok(opened.backend)
}

fn resolve(
    config: &RcloneConfig,
    loc: &Location,
    chain: &mut Vec<String>,
    warnings: &mut Vec<String>,
) -> Result<Arc<dyn Backend>> {
    let (name, path) = match loc {
        Location::Local(path) => return Ok(Arc::new(LocalBackend::new(path.clone()))),
        Location::Remote { name, path } => (name, path),
    };
    if chain.contains(name) {
        chain.push(name.clone());
        bail!("remote loop: {}", chain.join(" -> "));
    }
    chain.push(name.clone());
    let Some(section) = config.section(name) else {
        if chain.len() > 1 {
            bail!(
                "remote {name:?} (used by {}) not found in the rclone config",
                chain.get(chain.len() - 2).map_or("?", String::as_str)
            );
        }
        bail!("remote {name:?} not found in the rclone config");
    };
    let Some(kind) = section.get("type").map(str::trim).filter(|t| !t.is_empty()) else {
        bail!("[{name}] has no `type =`");
    };
    match kind {
        "local" => Ok(Arc::new(LocalBackend::new(PathBuf::from(
            if path.is_empty() { "." } else { path.as_str() },
        )))),
        "s3" => {
            let (backend, mut more) = s3::open(section, path)?;
            warnings.append(&mut more);
            Ok(Arc::new(backend))
        }
        "alias" => {
            let Some(target) = section
                .get("remote")
                .map(str::trim)
                .filter(|r| !r.is_empty())
            else {
                bail!("[{name}] is an alias without `remote =`: name the remote it points to");
            };
            let target =
                Location::parse(target).map_err(|e| anyhow::anyhow!("[{name}] remote: {e:#}"))?;
            resolve(config, &target.join(path), chain, warnings)
        }
        "crypt" => {
            // Loops are found before key derivation (scrypt) of any section in the chain.
            let Some(target) = section
                .get("remote")
                .map(str::trim)
                .filter(|r| !r.is_empty())
            else {
                bail!("[{name}] is a crypt remote without `remote =`: name the remote it wraps");
            };
            let target =
                Location::parse(target).map_err(|e| anyhow::anyhow!("[{name}] remote: {e:#}"))?;
            if let Location::Remote { name: next, .. } = &target {
                if chain.contains(next) {
                    chain.push(next.clone());
                    bail!("remote loop: {}", chain.join(" -> "));
                }
            }
            let settings = CryptSettings::from_section(section)?;
            let rel = path.trim_matches('/');
            let enc = crypt::encrypt_stored_dir(&settings.names, rel);
            let inner = resolve(config, &target.join(&enc), chain, warnings)?;
            Ok(Arc::new(CryptBackend::new(
                inner,
                settings,
                format!("{name}:{rel}"),
            )))
        }
        other => bail!(
            "[{name}] type = {other} is not supported (poof knows local, s3, alias and crypt)"
        ),
    }
}

/// rclone's rule for remote names.
fn is_valid_remote_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with(['-', ' '])
        && !name.ends_with(' ')
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.' | '+' | '@' | ' '))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn remote(name: &str, path: &str) -> Location {
        Location::Remote {
            name: name.into(),
            path: path.into(),
        }
    }

    #[test]
    fn remote_with_path() {
        assert_eq!(
            Location::parse("s3:bucket/dir/").unwrap(),
            remote("s3", "bucket/dir")
        );
    }

    #[test]
    fn remote_root() {
        assert_eq!(Location::parse("secret:").unwrap(), remote("secret", ""));
    }

    #[test]
    fn local_paths() {
        for p in ["/tmp/x", "relative/dir", "./a:b", "/abs/with:colon"] {
            assert_eq!(
                Location::parse(p).unwrap(),
                Location::Local(p.into()),
                "{p}"
            );
        }
    }

    #[test]
    fn on_the_fly_remote_is_refused() {
        assert!(Location::parse(":s3:bucket").is_err());
    }

    #[test]
    fn leading_slash_is_kept_for_local_remotes() {
        assert_eq!(Location::parse("l:/tmp/x/").unwrap(), remote("l", "/tmp/x"));
        assert_eq!(Location::parse("l:/").unwrap(), remote("l", "/"));
    }

    #[test]
    fn split_leaf_of_remote_and_local() {
        let (parent, leaf) = remote("s3", "b/dir/f.txt").split_leaf().unwrap();
        assert_eq!((parent, leaf.as_str()), (remote("s3", "b/dir"), "f.txt"));
        let (parent, leaf) = remote("l", "/f").split_leaf().unwrap();
        assert_eq!((parent, leaf.as_str()), (remote("l", "/"), "f"));
        let (parent, leaf) = remote("c", "f").split_leaf().unwrap();
        assert_eq!((parent, leaf.as_str()), (remote("c", ""), "f"));
        assert!(remote("c", "").split_leaf().is_none());
        assert!(remote("l", "/").split_leaf().is_none());
        let (parent, leaf) = Location::Local("f".into()).split_leaf().unwrap();
        assert_eq!((parent, leaf.as_str()), (Location::Local(".".into()), "f"));
    }

    #[test]
    fn split_leaf_parent_of_double_slash_is_as_parsed() {
        // Found by fuzz/remote_path: the parent of `f//b` was `f/`, which `parse` never gives
        // (and which printed and parsed back as `f`).
        let (parent, leaf) = Location::parse("r:f//b").unwrap().split_leaf().unwrap();
        assert_eq!((parent, leaf.as_str()), (remote("r", "f"), "b"));
        let (parent, leaf) = Location::parse("l://b").unwrap().split_leaf().unwrap();
        assert_eq!((parent, leaf.as_str()), (remote("l", "/"), "b"));
        let (parent, _) = remote("l", "/a//b").split_leaf().unwrap();
        assert_eq!(Location::parse(&parent.to_string()).unwrap(), parent);
    }

    #[test]
    fn join_keeps_separators_single() {
        assert_eq!(remote("a", "x").join("y/z"), remote("a", "x/y/z"));
        assert_eq!(remote("a", "").join("y"), remote("a", "y"));
        assert_eq!(remote("a", "/").join("y"), remote("a", "/y"));
        assert_eq!(remote("a", "x").join(""), remote("a", "x"));
    }

    #[test]
    fn bad_remote_name_is_refused() {
        assert!(Location::parse("-x:path").is_err());
        assert!(Location::parse("a*b:path").is_err());
    }
}
