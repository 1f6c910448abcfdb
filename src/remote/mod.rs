//! Remotes: rclone's path syntax and the sections of an rclone config file behind it.
//!
//! A location on the command line is `name:path` (a section of the rclone config file and a
//! path inside it), `name:` (its root), or a plain local path. [`Location::parse`] follows
//! rclone's rules: a name is letters, digits, `_`, `-`, `.`, `+`, `@` and spaces, not starting
//! with `-` or a space; anything with a `/` before the first `:` is a local path.
//! [`crypt`] turns a `type = crypt` section into the ciphers of the crypt crate.

pub mod backend;
pub mod crypt;
mod open_stub; // TEMP until storage lands
pub use open_stub::open_backend; // TEMP until storage lands

use std::path::PathBuf;

use anyhow::{bail, Result};

/// A parsed command-line location.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// A local path, used as given.
    Local(PathBuf),
    /// `name:path`: a path inside the remote named by a config section.
    Remote {
        /// The section name.
        name: String,
        /// The path inside the remote, without leading or trailing `/`.
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
            path: path.trim_matches('/').to_owned(),
        })
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
        assert_eq!(Location::parse("s3:bucket/dir/").unwrap(), remote("s3", "bucket/dir"));
    }

    #[test]
    fn remote_root() {
        assert_eq!(Location::parse("secret:").unwrap(), remote("secret", ""));
    }

    #[test]
    fn local_paths() {
        for p in ["/tmp/x", "relative/dir", "./a:b", "/abs/with:colon"] {
            assert_eq!(Location::parse(p).unwrap(), Location::Local(p.into()), "{p}");
        }
    }

    #[test]
    fn on_the_fly_remote_is_refused() {
        assert!(Location::parse(":s3:bucket").is_err());
    }

    #[test]
    fn bad_remote_name_is_refused() {
        assert!(Location::parse("-x:path").is_err());
        assert!(Location::parse("a*b:path").is_err());
    }
}
