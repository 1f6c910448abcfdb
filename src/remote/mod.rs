//! Remotes: rclone's path syntax, and the storage types behind the sections of an rclone
//! config file.
//!
//! A location on the command line is `name:path` (a section of the rclone config file and a
//! path inside it), `name:` (its root), or a plain local path. [`Location::parse`] follows
//! rclone's rules: a name is letters, digits, `_`, `-`, `.`, `+`, `@` and spaces, not starting
//! with `-` or a space; anything with a `/` before the first `:` is a local path.
//!
//! Each storage type is one file mapping its section to a [`Backend`], registered with one
//! line in [`TYPES`]: `local` ([`local`]), `s3` ([`s3`]), `azureblob` ([`azureblob`]) and
//! `google cloud storage` ([`gcs`]) over the generic [`opendal`], `webdav` ([`webdav`]) and
//! `http` ([`http`]) over reqwest, `sftp` ([`sftp`]) over russh, `ftp` ([`ftp`]) over
//! suppaftp, `alias` ([`alias`]) and `crypt` ([`crypt`]). [`open_backend`] resolves a location through that table; aliases and
//! crypts resolve the remote they name the same way, and a loop is an error naming the chain.
//! Callers ask this module, never a section's `type`, whether a remote is a crypt remote
//! ([`crypt_section`]) and which local folder lies behind a location ([`local_folder`]).

pub mod alias;
pub mod azureblob;
pub mod backend;
pub mod crypt;
pub mod encoding;
pub mod ftp;
pub mod gcs;
pub mod http;
pub mod local;
pub mod mtime_cache;
pub mod opendal;
pub mod s3;
pub mod sftp;
pub mod signed;
pub mod view;
pub mod webdav;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{bail, Result};

use crate::config::rclone::{RcloneConfig, Section};
use crate::exit::Code;
use backend::Backend;
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

#[cfg(test)]
impl Location {
    /// `name:path`, for tests.
    pub fn remote(name: &str, path: &str) -> Location {
        Location::Remote {
            name: name.into(),
            path: path.into(),
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
    let mut resolver = Resolver {
        config,
        chain: Vec::new(),
        warnings: Vec::new(),
    };
    // Opening reads the config (a missing section or key, an unknown type: a config error);
    // a store it already had to reach keeps its own code.
    let backend = resolver.open(loc).map_err(|err| match Code::of(&err) {
        Code::Error => crate::exit::mark(Code::Usage, err),
        _ => err,
    })?;
    Ok(Opened {
        backend,
        warnings: resolver.warnings,
    })
}

/// Resolves a location into a backend, printing configuration warnings on stderr.
///
/// # Errors
/// As [`open_backend_with_warnings`].
pub fn open_backend(config: &RcloneConfig, loc: &Location) -> Result<Arc<dyn Backend>> {
    let opened = open_backend_with_warnings(config, loc)?;
    for warning in &opened.warnings {
        say!("poof: warning: {warning}");
    }
    Ok(opened.backend)
}

/// One storage type: the `type =` of its sections, how a section opens, and where it keeps
/// its files.
pub struct StorageType {
    /// The value of `type =` in an rclone config file.
    pub name: &'static str,
    /// Opens `path` inside a section of this type (`resolver` opens the remotes it names).
    pub open: fn(&mut Resolver<'_>, &Section, &str) -> Result<Arc<dyn Backend>>,
    /// Where `path` inside a section of this type is kept.
    pub below: fn(&Section, &str) -> Below,
    /// Its sections are crypt remotes (names and contents encrypted with keys of the section).
    pub is_crypt: bool,
}

/// Where a path of a remote is kept.
pub enum Below {
    /// In this local folder.
    Folder(PathBuf),
    /// In (or, for a crypt remote whose folder names are encrypted, below) this location.
    Location(Location),
    /// Elsewhere: an object store or a server.
    Elsewhere,
}

/// Every storage type poof knows, one line each.
pub const TYPES: &[StorageType] = &[
    local::TYPE,
    s3::TYPE,
    azureblob::TYPE,
    gcs::TYPE,
    webdav::TYPE,
    ftp::TYPE,
    http::TYPE,
    sftp::TYPE,
    alias::TYPE,
    crypt::TYPE,
];

/// The storage type of a section.
///
/// # Errors
/// No `type =`, or a type poof does not know (one line naming the section).
fn storage_type(section: &Section) -> Result<&'static StorageType> {
    let name = section.name();
    let Some(kind) = section.get("type").map(str::trim).filter(|t| !t.is_empty()) else {
        bail!("[{name}] has no `type =`");
    };
    match TYPES.iter().find(|t| t.name == kind) {
        Some(found) => Ok(found),
        None => {
            let known: Vec<&str> = TYPES.iter().map(|t| t.name).collect();
            let (last, rest) = known.split_last().map_or(("", &[][..]), |(l, r)| (*l, r));
            bail!(
                "[{name}] type = {kind} is not supported (poof knows {} and {last})",
                rest.join(", ")
            )
        }
    }
}

/// Resolves locations through the table of storage types, following the remotes that
/// sections name (aliases, crypts) and collecting the warnings of their sections.
pub struct Resolver<'a> {
    config: &'a RcloneConfig,
    /// The sections opened so far, outermost first: a name seen twice is a loop.
    chain: Vec<String>,
    warnings: Vec<String>,
}

impl<'a> Resolver<'a> {
    /// Opens a location: a local path as a local folder, `name:path` through its section's
    /// storage type.
    ///
    /// # Errors
    /// As [`open_backend_with_warnings`].
    pub fn open(&mut self, loc: &Location) -> Result<Arc<dyn Backend>> {
        let (name, path) = match loc {
            Location::Local(path) => return Ok(Arc::new(LocalBackend::new(path.clone()))),
            Location::Remote { name, path } => (name, path),
        };
        self.enter(name)?;
        let section = self.section(name)?;
        (storage_type(section)?.open)(self, section, path)
    }

    /// The remote a section names in `remote =` (aliases, crypts), checked for a loop before
    /// anything of it is opened (crypt keys cost a key derivation).
    ///
    /// # Errors
    /// No `remote =`, a value that does not parse, or a loop.
    pub fn target(&self, section: &Section, what: &str, verb: &str) -> Result<Location> {
        let name = section.name();
        let Some(target) = section
            .get("remote")
            .map(str::trim)
            .filter(|r| !r.is_empty())
        else {
            bail!("[{name}] is {what} without `remote =`: name the remote it {verb}");
        };
        let target =
            Location::parse(target).map_err(|e| anyhow::anyhow!("[{name}] remote: {e:#}"))?;
        if let Location::Remote { name: next, .. } = &target {
            if self.chain.contains(next) {
                bail!("remote loop: {} -> {next}", self.chain.join(" -> "));
            }
        }
        Ok(target)
    }

    /// Adds warnings about a section's options, printed once.
    pub fn warn(&mut self, mut more: Vec<String>) {
        self.warnings.append(&mut more);
    }

    /// What a storage type's `open` returns for a backend built with warnings about its
    /// section: the backend, the warnings kept to be printed once.
    ///
    /// # Errors
    /// `built`'s error.
    pub fn opened<B: Backend + 'static>(
        &mut self,
        built: Result<(B, Vec<String>)>,
    ) -> Result<Arc<dyn Backend>> {
        let (backend, warnings) = built?;
        self.warn(warnings);
        Ok(Arc::new(backend))
    }

    fn enter(&mut self, name: &str) -> Result<()> {
        if self.chain.iter().any(|n| n == name) {
            self.chain.push(name.to_owned());
            bail!("remote loop: {}", self.chain.join(" -> "));
        }
        self.chain.push(name.to_owned());
        Ok(())
    }

    fn section(&self, name: &str) -> Result<&'a Section> {
        match self.config.section(name) {
            Some(section) => Ok(section),
            None if self.chain.len() > 1 => bail!(
                "remote {name:?} (used by {}) not found in the rclone config",
                self.chain
                    .get(self.chain.len() - 2)
                    .map_or("?", String::as_str)
            ),
            None => bail!("remote {name:?} not found in the rclone config"),
        }
    }
}

/// The section of a crypt remote, for the commands that need its keys (`cryptdecode`) or
/// insist on one (`cryptcheck`); `file` names the config file in messages.
///
/// # Errors
/// No such section, or a section of another type.
pub fn crypt_section<'a>(config: &'a RcloneConfig, name: &str, file: &Path) -> Result<&'a Section> {
    let Some(section) = config.section(name) else {
        bail!("remote {name:?} not found in {}", file.display());
    };
    if !is_crypt(section) {
        bail!(
            "remote {name:?} is not a crypt remote (type = {})",
            section.get("type").unwrap_or("?")
        );
    }
    Ok(section)
}

/// True when a section is a crypt remote.
pub fn is_crypt(section: &Section) -> bool {
    storage_type(section).is_ok_and(|t| t.is_crypt)
}

/// Longest chain of remotes [`local_folder`] follows.
const MAX_REMOTE_CHAIN: usize = 16;

/// The local folder a location is stored in, when its chain of remotes (aliases, crypts) ends
/// in a local path: an ancestor of its real folder (a crypt remote's encrypted path is left
/// out), enough to see that a location lies inside a folder.
pub fn local_folder(config: &RcloneConfig, loc: &Location) -> Option<PathBuf> {
    let mut loc = loc.clone();
    // Each step follows one section; a loop is cut by the bound.
    for _ in 0..MAX_REMOTE_CHAIN {
        let (name, path) = match &loc {
            Location::Local(path) => return Some(path.clone()),
            Location::Remote { name, path } => (name, path),
        };
        let section = config.section(name)?;
        loc = match (storage_type(section).ok()?.below)(section, path) {
            Below::Folder(path) => return Some(path),
            Below::Location(next) => next,
            Below::Elsewhere => return None,
        };
    }
    None
}

/// The remote a section names in `remote =`, parsed (for [`StorageType::below`]).
pub fn named_remote(section: &Section) -> Option<Location> {
    Location::parse(section.get("remote")?.trim()).ok()
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
        Location::remote(name, path)
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
