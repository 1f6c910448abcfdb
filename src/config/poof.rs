//! `poof.conf`: the folders poof protects and where they go.
//!
//! JSON with the original poof tool's schema, so existing files keep working:
//!
//! ```json
//! {
//!   "bucket": "poofbackup-ana-4f1c2b7e9d3a",
//!   "confFile": "/home/ana/.config/poof/rclone-poof.conf",
//!   "paths": { "/home/ana/Documents": "Documents", "/home/ana/.config/poof": "poof-config" },
//!   "remote": "poof-crypt"
//! }
//! ```
//!
//! `paths` maps an absolute local folder to a folder name in the cloud. The target of a path is
//! `remote:bucket/clouddir` for a plain remote and `remote:clouddir` for a crypt remote, whose own
//! `remote =` already names the bucket ([`PoofConfig::target`]).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};

use super::files;

/// Cloud folder name of the config folder itself in a new poof.conf.
pub const CONFIG_CLOUD_DIR: &str = "poof-config";
/// Name of the crypt remote poof creates (`cconfig`, `econfig`).
pub const CRYPT_REMOTE: &str = "poof-crypt";
/// Name of the plain remote poof creates (`cconfig`).
pub const PLAIN_REMOTE: &str = "poof-backup";

/// The parsed poof.conf.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PoofConfig {
    /// Bucket (or top folder) on the plain remote that holds every path.
    pub bucket: String,
    /// The rclone config file this poof.conf was made with (informational).
    #[serde(rename = "confFile")]
    pub conf_file: String,
    /// Absolute local folder -> folder name in the cloud.
    pub paths: BTreeMap<String, String>,
    /// The rclone remote backups go to (plain or crypt).
    pub remote: String,
}

impl PoofConfig {
    /// A new configuration: a unique bucket name and the config folder as the first path.
    pub fn new_default(confdir: &Path, rcloneconf: &Path) -> PoofConfig {
        let user = std::env::var("USER")
            .ok()
            .filter(|u| !u.is_empty() && u.chars().all(|c| c.is_ascii_alphanumeric()))
            .unwrap_or_else(|| "user".to_owned())
            .to_ascii_lowercase();
        let id: [u8; 6] = rand_bytes();
        let id: String = id.iter().map(|b| format!("{b:02x}")).collect();
        PoofConfig {
            bucket: format!("poofbackup-{user}-{id}"),
            conf_file: rcloneconf.display().to_string(),
            paths: BTreeMap::from([(confdir.display().to_string(), CONFIG_CLOUD_DIR.to_owned())]),
            remote: PLAIN_REMOTE.to_owned(),
        }
    }

    /// Parses and validates poof.conf text; `origin` names the file in errors.
    ///
    /// # Errors
    /// Invalid JSON, a missing key, a relative local path, an empty or escaping cloud name.
    pub fn parse(text: &str, origin: &Path) -> Result<PoofConfig> {
        let conf: PoofConfig = serde_json::from_str(text).map_err(|e| {
            let what = if e.is_data() {
                format!("{e}")
            } else {
                format!("invalid JSON: {e}")
            };
            anyhow::anyhow!(
                "{}: {what}; fix the file (keys: bucket, confFile, paths, remote) or move it away and run `poof config`",
                origin.display()
            )
        })?;
        conf.validate(origin)?;
        Ok(conf)
    }

    fn validate(&self, origin: &Path) -> Result<()> {
        let o = origin.display();
        if self.bucket.trim().is_empty() || self.bucket.contains('/') {
            bail!(
                "{o}: key \"bucket\" = {:?} must be a non-empty name without '/'",
                self.bucket
            );
        }
        if self.remote.trim().is_empty() || self.remote.contains(':') {
            bail!("{o}: key \"remote\" = {:?} must name a section of the rclone config file (without ':')", self.remote);
        }
        for (local, cloud) in &self.paths {
            if !Path::new(local).is_absolute() {
                bail!(
                    "{o}: paths key {local:?} is not an absolute path; write it from / (e.g. {:?})",
                    std::env::current_dir()
                        .map(|d| d.join(local).display().to_string())
                        .unwrap_or_default()
                );
            }
            if Path::new(local).is_file() {
                bail!("{o}: paths key {local:?} is a file; poof backs up folders: name its folder instead");
            }
            let bad = cloud.is_empty()
                || cloud.starts_with('/')
                || cloud
                    .split('/')
                    .any(|seg| seg.is_empty() || seg == "." || seg == "..");
            if bad {
                bail!("{o}: paths[{local:?}] = {cloud:?} must be a relative cloud folder name without empty, '.' or '..' parts");
            }
        }
        Ok(())
    }

    /// Reads and validates poof.conf, warning when its permissions let others read it.
    ///
    /// # Errors
    /// A missing or unreadable file, a world-writable file, or what [`PoofConfig::parse`] rejects.
    pub fn load(path: &Path) -> Result<PoofConfig> {
        let text = files::read_private(path).with_context(|| {
            format!(
                "{}: cannot read poof.conf; create it with `poof config`",
                path.display()
            )
        })?;
        PoofConfig::parse(&text, path)
    }

    /// Writes poof.conf (mode 0600, pretty JSON with sorted keys as the original wrote it).
    ///
    /// # Errors
    /// When the file cannot be written.
    pub fn save(&self, path: &Path) -> Result<()> {
        let text = serde_json::to_string_pretty(self)? + "\n";
        files::write_private(path, &text)
    }

    /// The remote path one local folder backs up to: `remote:bucket/clouddir` for a plain
    /// remote, `remote:clouddir` for a crypt remote (whose `remote =` holds the bucket).
    pub fn target(&self, cloud_dir: &str, remote_is_crypt: bool) -> String {
        if remote_is_crypt {
            format!("{}:{cloud_dir}", self.remote)
        } else {
            format!("{}:{}/{cloud_dir}", self.remote, self.bucket)
        }
    }

    /// The local folders with their cloud names, as paths.
    pub fn local_paths(&self) -> impl Iterator<Item = (PathBuf, &str)> {
        self.paths
            .iter()
            .map(|(local, cloud)| (PathBuf::from(local.trim_end_matches('/')), cloud.as_str()))
    }
}

fn rand_bytes<const N: usize>() -> [u8; N] {
    use rand::RngCore;
    let mut b = [0u8; N];
    rand::rngs::OsRng.fill_bytes(&mut b);
    b
}

#[cfg(test)]
mod tests {
    use super::*;

    const ORIGIN: &str = "/tmp/poof.conf";

    fn parse(text: &str) -> Result<PoofConfig> {
        PoofConfig::parse(text, Path::new(ORIGIN))
    }

    #[test]
    fn original_schema_parses() {
        let c = parse(r#"{"bucket":"b","confFile":"/x/rclone-poof.conf","paths":{"/home/a/Documents":"Documents"},"remote":"poof-backup"}"#).unwrap();
        assert_eq!(c.target("Documents", false), "poof-backup:b/Documents");
        assert_eq!(c.target("Documents", true), "poof-backup:Documents");
    }

    #[test]
    fn broken_json_names_the_file() {
        let err = parse("{\"bucket\": ").unwrap_err().to_string();
        assert!(
            err.starts_with(ORIGIN) && err.contains("invalid JSON"),
            "{err}"
        );
    }

    #[test]
    fn missing_key_is_named() {
        let err = parse(r#"{"bucket":"b","confFile":"x","paths":{}}"#)
            .unwrap_err()
            .to_string();
        assert!(err.contains("remote"), "{err}");
    }

    #[test]
    fn relative_path_is_refused() {
        let err = parse(r#"{"bucket":"b","confFile":"x","paths":{"docs":"d"},"remote":"r"}"#)
            .unwrap_err()
            .to_string();
        assert!(err.contains("not an absolute path"), "{err}");
    }

    #[test]
    fn escaping_cloud_dir_is_refused() {
        for cloud in ["", "/abs", "a/../b", ".."] {
            let text = format!(
                r#"{{"bucket":"b","confFile":"x","paths":{{"/tmp/x":"{cloud}"}},"remote":"r"}}"#
            );
            assert!(parse(&text).is_err(), "{cloud:?}");
        }
    }

    #[test]
    fn default_round_trips() {
        let c = PoofConfig::new_default(Path::new("/home/a/.config/poof"), Path::new("/r.conf"));
        assert!(c.bucket.starts_with("poofbackup-"));
        let text = serde_json::to_string(&c).unwrap();
        assert!(text.contains("\"confFile\""));
        assert_eq!(parse(&text).unwrap(), c);
    }
}
