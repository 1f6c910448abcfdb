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
//!
//! `"history"` keeps the versions backups replace or delete ([`crate::history`]): a policy
//! `{"keep_last": N, "keep_hourly": N, "keep_daily": N, "keep_weekly": N, "keep_monthly": N,
//! "keep_within": "7d"}` (any of the keys; `{}` keeps everything), `true` or no key for poof's
//! default policy ([`KeepPolicy::DEFAULT`]), `false` for none (the original's pure mirror).
//!
//! `"filters"` chooses the files of each folder with rclone's rules ([`crate::filter`]):
//! `{"/home/ana/Documents": {"exclude": ["*.tmp", "node_modules/"], "filter": ["- .cache/"],
//! "filter_from": "/home/ana/.config/poof/documents.rules"}}`, and `"exclude_if_present"`
//! leaves out every folder holding a file of one of its names (new configs write
//! `["CACHEDIR.TAG"]`: caches tagged as the Cache Directory Tagging specification says).
//! What a folder's rules leave out is never backed up, deleted from the target, or deleted
//! by `upload`.
//!
//! `"shred": true` makes every `upload` overwrite each verified local file with random bytes
//! before deleting it, as `upload --shred` does ([`PoofConfig::shred`]); `false` or no key:
//! files are only deleted.
//!
//! `"bwlimit"` limits the bandwidth of `backup`, `upload` and `download` when the command line
//! gives no `--bwlimit`: rclone's spec, e.g. `"08:00,512k 18:00,off"` ([`crate::bwlimit`]),
//! checked when the file is read.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{bail, Result};
use serde::{Deserialize, Serialize};

use super::files;
use crate::bwlimit::Spec;
use crate::history::policy::KeepPolicy;

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
    /// `"history"` as written ([`PoofConfig::keep`] is what it means).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub history: Option<serde_json::Value>,
    /// The history policy `history` says, set when the file is read and validated; `None`:
    /// no history.
    #[serde(skip)]
    pub keep: Option<KeepPolicy>,
    /// `"exclude_if_present"`: a folder holding a file of one of these names is left out of
    /// every folder's runs (rclone's `--exclude-if-present`; new configs: `CACHEDIR.TAG`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exclude_if_present: Vec<String>,
    /// `"filters"`: rclone's rules per local folder (a key of `paths`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub filters: BTreeMap<String, FolderRules>,
    /// `"shred"` as written: `true` or `false` once validated ([`PoofConfig::shred`] is what
    /// it means).
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub shred: Option<serde_json::Value>,
    /// `"bwlimit"` as written: the bandwidth limit of backups, uploads and downloads when the
    /// command line gives no `--bwlimit` (rclone's syntax, [`crate::bwlimit`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bwlimit: Option<String>,
    /// The spec `bwlimit` says, set when the file is read and validated.
    #[serde(skip)]
    pub bandwidth: Option<Spec>,
    /// `"notify"`: a URL pinged when a backup, upload or download starts and ends
    /// (healthchecks.io's convention, [`crate::notify`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notify: Option<String>,
}

/// The rules of one folder in poof.conf's `"filters"`, as rclone's flags take them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FolderRules {
    /// Patterns left out (`--exclude`), e.g. `"*.tmp"`, `"node_modules/"`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exclude: Vec<String>,
    /// Rules (`--filter`): `"+ PATTERN"`, `"- PATTERN"`, `"!"`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub filter: Vec<String>,
    /// A file of rules (`--filter-from`), an absolute path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filter_from: Option<String>,
}

/// The file that tags a cache folder (the Cache Directory Tagging specification): new
/// configs leave such folders out.
pub const CACHEDIR_TAG: &str = "CACHEDIR.TAG";

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
            history: None,
            // What a poof.conf without "history" means.
            keep: Some(KeepPolicy::DEFAULT),
            exclude_if_present: vec![CACHEDIR_TAG.to_owned()],
            filters: BTreeMap::new(),
            shred: None,
            bwlimit: None,
            bandwidth: None,
            notify: None,
        }
    }

    /// The filter rules of the folder `local` (a key of `paths`), joined to `flags` (the
    /// command line's, first): its `"filters"` entry and `"exclude_if_present"`.
    pub fn filter_spec(&self, local: &Path, flags: &crate::filter::Spec) -> crate::filter::Spec {
        let mut spec = flags.clone();
        let key = local.to_string_lossy();
        let rules = self
            .filters
            .iter()
            .find(|(k, _)| k.trim_end_matches('/') == key.trim_end_matches('/'))
            .map(|(_, r)| r);
        if let Some(rules) = rules {
            spec.exclude.extend(rules.exclude.iter().cloned());
            spec.filter.extend(rules.filter.iter().cloned());
            spec.filter_from.extend(rules.filter_from.iter().cloned());
        }
        spec.exclude_if_present
            .extend(self.exclude_if_present.iter().cloned());
        spec
    }

    /// The policy of the history of replaced and deleted files (the default when poof.conf
    /// does not say), or `None` for a mirror.
    pub fn keep(&self) -> Option<KeepPolicy> {
        self.keep
    }

    /// True when every `upload` shreds the verified files before deleting them
    /// (`"shred": true`).
    pub fn shred(&self) -> bool {
        self.shred == Some(serde_json::Value::Bool(true))
    }

    /// Parses and validates poof.conf text; `origin` names the file in errors.
    ///
    /// # Errors
    /// Invalid JSON, a missing key, a relative local path, an empty or escaping cloud name.
    pub fn parse(text: &str, origin: &Path) -> Result<PoofConfig> {
        let mut conf: PoofConfig = serde_json::from_str(text).map_err(|e| {
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

    /// Checks the values and rewrites each cloud name in its normal form ([`cloud_name`]).
    fn validate(&mut self, origin: &Path) -> Result<()> {
        let o = origin.display();
        if let Err(why) = check_bucket(&self.bucket) {
            bail!("{o}: key \"bucket\" = {:?} {why}", self.bucket);
        }
        if self.remote.trim().is_empty() || self.remote.contains(':') {
            bail!("{o}: key \"remote\" = {:?} must name a section of the rclone config file (without ':')", self.remote);
        }
        for (local, cloud) in &mut self.paths {
            if !Path::new(local).is_absolute() {
                bail!(
                    "{o}: paths key {local:?} is not an absolute path; write it from / (e.g. {:?})",
                    std::env::current_dir()
                        .map(|d| d.join(local.as_str()).display().to_string())
                        .unwrap_or_default()
                );
            }
            if Path::new(local).is_file() {
                bail!("{o}: paths key {local:?} is a file; poof backs up folders: name its folder instead");
            }
            match cloud_name(cloud) {
                Ok(normal) => {
                    if normal != cloud.as_str() {
                        *cloud = normal.into_owned();
                    }
                }
                Err(why) => bail!("{o}: paths[{local:?}] = {cloud:?}: the cloud folder name {why}"),
            }
        }
        if let Some(clash) = self.overlap() {
            bail!("{o}: {clash}");
        }
        self.keep = match &self.history {
            None => Some(KeepPolicy::DEFAULT),
            Some(value) => history_policy(value)
                .map_err(|why| anyhow::anyhow!("{o}: key \"history\" = {value}: {why}"))?,
        };
        if let Some(value) = self.shred.as_ref().filter(|v| !v.is_boolean()) {
            bail!("{o}: key \"shred\" = {value}: must be true or false");
        }
        if let Some(url) = &self.notify {
            // The value is not repeated: its path is often the check's secret.
            if let Err(why) = notify_url(url) {
                bail!("{o}: key \"notify\": {why}");
            }
        }
        self.bandwidth = match &self.bwlimit {
            None => None,
            Some(text) => Some(
                text.parse()
                    .map_err(|why| anyhow::anyhow!("{o}: key \"bwlimit\" = {text:?}: {why}"))?,
            ),
        };
        for (local, rules) in &self.filters {
            let known = self
                .paths
                .keys()
                .any(|p| p.trim_end_matches('/') == local.trim_end_matches('/'));
            if !known {
                bail!("{o}: filters key {local:?} is not a folder of \"paths\"; name the folder as \"paths\" does");
            }
            if let Some(file) = rules
                .filter_from
                .as_deref()
                .filter(|f| !Path::new(f).is_absolute())
            {
                bail!("{o}: filters[{local:?}].filter_from = {file:?} is not an absolute path");
            }
            let spec = self.filter_spec(Path::new(local), &crate::filter::Spec::default());
            crate::filter::Filter::new(&spec, std::time::SystemTime::now())
                .map_err(|e| anyhow::anyhow!("{o}: filters[{local:?}]: {e:#}"))?;
        }
        Ok(())
    }

    /// The first two folders whose cloud folders overlap (the same folder, or one inside the
    /// other), in words: a backup of the outer one would delete the inner one's files.
    /// Names are compared per `/`-separated part, ignoring case (a case-insensitive storage
    /// holds `Docs` and `docs` in one folder).
    pub fn overlap(&self) -> Option<String> {
        let folders: Vec<(&str, &str, Vec<String>)> = self
            .paths
            .iter()
            .map(|(local, cloud)| (local.as_str(), cloud.as_str(), cloud_key(cloud)))
            .collect();
        for (i, a) in folders.iter().enumerate() {
            for b in folders.iter().skip(i + 1) {
                if let Some(why) = overlap_words(a, b) {
                    return Some(why);
                }
            }
        }
        None
    }

    /// Why adding `local -> cloud` (a normal name) would overlap a folder already in `paths`,
    /// worded from the new folder's side; `None` when it would not.
    pub fn overlap_with(&self, local: &str, cloud: &str) -> Option<String> {
        let new = (local, cloud, cloud_key(cloud));
        self.paths
            .iter()
            .find_map(|(l, c)| overlap_words(&new, &(l.as_str(), c.as_str(), cloud_key(c))))
    }

    /// Reads and validates poof.conf, warning when its permissions let others read it.
    ///
    /// # Errors
    /// A missing or unreadable file, anything but a regular file of a sane size, a
    /// world-writable file, or what [`PoofConfig::parse`] rejects.
    pub fn load(path: &Path) -> Result<PoofConfig> {
        let text = match files::read_private(path) {
            Ok(text) => text,
            Err(e) if is_not_found(&e) => bail!(
                "{}: cannot read poof.conf ({}); create it with `poof config`",
                path.display(),
                e.root_cause()
            ),
            Err(e) => return Err(e),
        };
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

/// Checks a `"notify"` value: an `http://` or `https://` URL with a host ([`crate::notify`]).
///
/// # Errors
/// Why it is refused, in words completing `key "notify" = ...: `.
pub fn notify_url(text: &str) -> std::result::Result<reqwest::Url, String> {
    let url = reqwest::Url::parse(text).map_err(|e| format!("not a URL ({e})"))?;
    if !matches!(url.scheme(), "http" | "https") || url.cannot_be_a_base() {
        return Err("must be an http:// or https:// URL".to_owned());
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err("the URL has no host".to_owned());
    }
    Ok(url)
}

/// poof's default policy as poof.conf writes it.
pub fn default_history() -> serde_json::Value {
    serde_json::json!({
        "keep_within": "7d", "keep_daily": 30, "keep_weekly": 12, "keep_monthly": 24
    })
}

/// The policy a `"history"` value says (see the module docs), `None` for `false`.
///
/// # Errors
/// Why the value is refused, in words completing `key "history" = ...: `.
fn history_policy(value: &serde_json::Value) -> std::result::Result<Option<KeepPolicy>, String> {
    use serde_json::Value;
    let fields = match value {
        Value::Bool(false) => return Ok(None),
        Value::Bool(true) => return Ok(Some(KeepPolicy::DEFAULT)),
        Value::Object(fields) => fields,
        _ => return Err("must be true, false or a policy object like {\"keep_daily\": 30}".into()),
    };
    let mut policy = KeepPolicy::default();
    for (key, value) in fields {
        if key == "keep_within" {
            let Some(text) = value.as_str() else {
                return Err("keep_within must be a duration string like \"7d\"".into());
            };
            policy.within = Some(text.parse()?);
            continue;
        }
        let slot = match key.as_str() {
            "keep_last" => &mut policy.last,
            "keep_hourly" => &mut policy.hourly,
            "keep_daily" => &mut policy.daily,
            "keep_weekly" => &mut policy.weekly,
            "keep_monthly" => &mut policy.monthly,
            _ => {
                return Err(format!(
                    "unknown key {key:?} (keys: keep_last, keep_hourly, keep_daily, keep_weekly, keep_monthly, keep_within)"
                ))
            }
        };
        let count = value.as_u64().and_then(|n| u32::try_from(n).ok());
        let Some(count) = count else {
            return Err(format!(
                "{key} must be a whole number from 0 to {}",
                u32::MAX
            ));
        };
        *slot = Some(count);
    }
    Ok(Some(policy))
}

/// A key that is present, whatever its value: `null` too, so that validation refuses it
/// rather than reading it as no key.
fn present<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> std::result::Result<Option<serde_json::Value>, D::Error> {
    serde_json::Value::deserialize(d).map(Some)
}

/// True when the chain of `e` ends in a file that does not exist.
fn is_not_found(e: &anyhow::Error) -> bool {
    e.root_cause()
        .downcast_ref::<std::io::Error>()
        .is_some_and(|io| io.kind() == std::io::ErrorKind::NotFound)
}

/// A cloud folder name in its normal form: `a//b` is `a/b` and a trailing `/` is dropped
/// (borrowed when already normal, the common case).
///
/// # Errors
/// Why the name is refused, in words completing "the cloud folder name ...": empty, absolute
/// (`/docs`), with a `.` or `..` part (it could leave the bucket), with a control character
/// (a line break in a name would break every message and log line naming it), or starting with
/// the history's folder, `poof-history` (in any case).
pub fn cloud_name(name: &str) -> std::result::Result<std::borrow::Cow<'_, str>, String> {
    if name.starts_with('/') {
        return Err("is absolute: write it without the leading '/'".to_owned());
    }
    if name.chars().any(char::is_control) {
        return Err("contains a control character: choose a name without one".to_owned());
    }
    let mut parts = name.split('/').filter(|p| !p.is_empty()).peekable();
    if parts.peek().is_none() {
        return Err("is empty: give a name".to_owned());
    }
    if name.split('/').any(|p| p == "." || p == "..") {
        return Err("has a '.' or '..' part, which could reach outside the bucket".to_owned());
    }
    let reserved = crate::history::HISTORY_DIR;
    if parts.peek().is_some_and(|first| {
        first
            .get(..reserved.len())
            .is_some_and(|start| start.eq_ignore_ascii_case(reserved))
    }) {
        return Err(format!(
            "starts with {}, the name of poof's history of replaced and deleted files: choose another name",
            crate::history::HISTORY_DIR
        ));
    }
    if !name.ends_with('/') && !name.contains("//") {
        return Ok(std::borrow::Cow::Borrowed(name));
    }
    Ok(std::borrow::Cow::Owned(parts.collect::<Vec<_>>().join("/")))
}

/// Why a `bucket` value is refused, in words completing "key "bucket" = ... ": it names one
/// folder (or bucket) on the plain remote, so it may not be empty, hold a `/`, be `.` or `..`
/// (`..` would put every backup beside the vault instead of in it) or hold a control character.
fn check_bucket(bucket: &str) -> std::result::Result<(), &'static str> {
    if bucket.trim().is_empty() || bucket.contains('/') {
        return Err("must be a non-empty name without '/'");
    }
    if bucket == "." || bucket == ".." {
        return Err("must be a name, not '.' or '..' (which would leave the remote's folder)");
    }
    if bucket.chars().any(char::is_control) {
        return Err("contains a control character: choose a name without one");
    }
    Ok(())
}

/// The parts of a normal cloud name as compared for overlaps (lower case).
fn cloud_key(cloud: &str) -> Vec<String> {
    cloud
        .split('/')
        .filter(|p| !p.is_empty())
        .map(str::to_lowercase)
        .collect()
}

/// Why the cloud folders of `a` and `b` (each local folder, cloud name, [`cloud_key`])
/// overlap, or `None` when they do not.
fn overlap_words(a: &(&str, &str, Vec<String>), b: &(&str, &str, Vec<String>)) -> Option<String> {
    let ((local_a, name_a, key_a), (local_b, name_b, key_b)) = (a, b);
    let common = key_a.len().min(key_b.len());
    if key_a.get(..common) != key_b.get(..common) {
        return None;
    }
    let fix = "a backup of one would delete the other's files; give each folder its own cloud \
               folder, neither inside the other (`poof config --remove DIR`, then `poof config \
               --add DIR --name NAME`)";
    Some(match key_a.len().cmp(&key_b.len()) {
        std::cmp::Ordering::Equal => format!(
            "cloud folder {name_a:?} of {local_a:?} is already used by {local_b:?} (as {name_b:?}): {fix}"
        ),
        std::cmp::Ordering::Greater => format!(
            "cloud folder {name_a:?} of {local_a:?} is inside cloud folder {name_b:?} of {local_b:?}: {fix}"
        ),
        std::cmp::Ordering::Less => format!(
            "cloud folder {name_b:?} of {local_b:?} is inside cloud folder {name_a:?} of {local_a:?}: {fix}"
        ),
    })
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

    #[test]
    fn notify_takes_only_http_urls_with_a_host_and_never_repeats_them() {
        let base = r#""bucket": "b", "confFile": "x", "paths": {}, "remote": "r""#;
        let with = |url: &str| parse(&format!("{{{base}, \"notify\": {url:?}}}"));
        for good in [
            "https://hc-ping.com/0b1c2d3e-aaaa-bbbb-cccc-123456789abc",
            "http://127.0.0.1:8000/ping/x?rid=2",
        ] {
            assert_eq!(with(good).unwrap().notify.as_deref(), Some(good));
        }
        for bad in [
            "",
            "hc-ping.com/secret1",
            "ftp://example.com/secret2",
            "mailto:secret3@example.com",
            "file:///secret4",
            "http://",
        ] {
            let err = format!("{:#}", with(bad).unwrap_err());
            assert!(
                err.starts_with(ORIGIN) && err.contains("key \"notify\""),
                "{err}"
            );
            assert!(!err.contains("secret") && !err.contains('\n'), "{err}");
        }
    }

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

    fn with_paths(bucket: &str, paths: &[(&str, &str)]) -> Result<PoofConfig> {
        let conf = PoofConfig {
            bucket: bucket.to_owned(),
            conf_file: "x".to_owned(),
            paths: paths
                .iter()
                .map(|(l, c)| ((*l).to_owned(), (*c).to_owned()))
                .collect(),
            remote: "r".to_owned(),
            history: None,
            keep: None,
            exclude_if_present: Vec::new(),
            filters: BTreeMap::new(),
            shred: None,
            bwlimit: None,
            bandwidth: None,
            notify: None,
        };
        parse(&serde_json::to_string(&conf).unwrap())
    }

    #[test]
    fn history_is_on_by_default_off_with_false_and_a_policy_when_given() {
        let base = r#""bucket": "b", "confFile": "x", "paths": {}, "remote": "r""#;
        let keep = |history: &str| {
            let text = if history.is_empty() {
                format!("{{{base}}}")
            } else {
                format!("{{{base}, \"history\": {history}}}")
            };
            parse(&text).map(|c| c.keep())
        };
        assert_eq!(keep("").unwrap(), Some(KeepPolicy::DEFAULT));
        assert_eq!(keep("false").unwrap(), None);
        let written = default_history().to_string();
        assert_eq!(keep(&written).unwrap(), Some(KeepPolicy::DEFAULT));
        assert_eq!(keep("true").unwrap(), Some(KeepPolicy::DEFAULT));
        let policy = keep(r#"{"keep_last": 3, "keep_within": "2d"}"#)
            .unwrap()
            .unwrap();
        assert_eq!(policy.last, Some(3));
        assert_eq!(policy.within.map(|w| w.to_string()).as_deref(), Some("2d"));
        assert_eq!(keep("{}").unwrap(), Some(KeepPolicy::default()));
        for (bad, why) in [
            ("1", "must be true, false or a policy object"),
            (r#""7d""#, "must be true, false or a policy object"),
            (r#"{"keep_daily": -1}"#, "keep_daily must be a whole number"),
            (
                r#"{"keep_daily": 4294967296}"#,
                "keep_daily must be a whole number",
            ),
            (
                r#"{"keep_daily": 1.5}"#,
                "keep_daily must be a whole number",
            ),
            (r#"{"keep_yearly": 1}"#, "unknown key \"keep_yearly\""),
            (
                r#"{"keep_within": 7}"#,
                "keep_within must be a duration string",
            ),
            (r#"{"keep_within": "7 days"}"#, "is not a duration"),
        ] {
            let err = format!("{:#}", keep(bad).unwrap_err());
            assert!(
                err.contains("key \"history\"") && err.contains(why),
                "{bad}: {err}"
            );
        }
        // Written back as it was given.
        let conf = parse(&format!(r#"{{{base}, "history": {{"keep_daily": 30}}}}"#)).unwrap();
        let text = serde_json::to_string(&conf).unwrap();
        assert!(text.contains(r#""history":{"keep_daily":30}"#), "{text}");
        let mirror = parse(&format!("{{{base}}}")).unwrap();
        assert!(!serde_json::to_string(&mirror).unwrap().contains("history"));
    }

    #[test]
    fn shred_is_off_by_default_and_takes_only_a_boolean() {
        let base = r#""bucket": "b", "confFile": "x", "paths": {}, "remote": "r""#;
        let shred = |value: &str| parse(&format!("{{{base}, \"shred\": {value}}}"));
        assert!(!parse(&format!("{{{base}}}")).unwrap().shred());
        assert!(shred("true").unwrap().shred());
        assert!(!shred("false").unwrap().shred());
        for bad in ["1", "\"true\"", "null", "{}", "[true]"] {
            let err = format!("{:#}", shred(bad).unwrap_err());
            assert!(
                err.starts_with(ORIGIN)
                    && err.contains("key \"shred\"")
                    && err.contains("must be true or false")
                    && !err.contains('\n'),
                "{bad}: {err}"
            );
        }
        // Written back as it was given; absent stays absent.
        let text = serde_json::to_string(&shred("true").unwrap()).unwrap();
        assert!(text.contains(r#""shred":true"#), "{text}");
        let text = serde_json::to_string(&parse(&format!("{{{base}}}")).unwrap()).unwrap();
        assert!(!text.contains("shred"), "{text}");
    }

    #[test]
    fn bwlimit_is_validated_on_load_and_written_back_as_given() {
        let base = r#""bucket":"b","confFile":"x","paths":{},"remote":"r""#;
        let with = |value: &str| parse(&format!(r#"{{{base}, "bwlimit": {value}}}"#));
        let conf = with(r#""08:00,512k 18:00,off""#).unwrap();
        let spec = conf.bandwidth.as_ref().unwrap();
        let nine = jiff::civil::date(2024, 1, 1).at(9, 0, 0, 0);
        assert_eq!(spec.rates_at(nine).upload, Some(512 * 1024));
        let text = serde_json::to_string(&conf).unwrap();
        assert!(
            text.contains(r#""bwlimit":"08:00,512k 18:00,off""#),
            "{text}"
        );
        assert!(parse(&format!("{{{base}}}")).unwrap().bandwidth.is_none());
        for (bad, why) in [
            (r#""10X""#, r#"key "bwlimit" = "10X": "10X" is not a rate"#),
            (r#""25:00,1M""#, r#""25:00" is not a time of day"#),
            (r#""""#, "empty"),
            ("10", "expected a string"),
        ] {
            let err = format!("{:#}", with(bad).unwrap_err());
            assert!(err.contains(ORIGIN) && err.contains(why), "{bad}: {err}");
            assert!(!err.contains('\n'), "{bad}: {err}");
        }
    }

    #[test]
    fn cloud_names_are_normalised_and_control_characters_refused() {
        assert!(matches!(
            cloud_name("a/b"),
            Ok(std::borrow::Cow::Borrowed("a/b"))
        ));
        assert_eq!(cloud_name("a//b/").unwrap(), "a/b");
        for bad in [
            "x\ny",
            "a\u{7f}",
            "a\u{85}",
            "//",
            "./a",
            "a/.",
            "/a",
            "poof-history",
            "Poof-History/docs",
            "poof-history-added.json",
            "/poof-history",
        ] {
            assert!(cloud_name(bad).is_err(), "{bad:?}");
        }
        // Only the first part is reserved: a folder of that name deeper down is the user's.
        assert_eq!(
            cloud_name("docs/poof-history").unwrap(),
            "docs/poof-history"
        );
        let c = with_paths("b", &[("/tmp/x", "a//b/")]).unwrap();
        assert_eq!(c.paths["/tmp/x"], "a/b");
    }

    #[test]
    fn overlapping_cloud_folders_are_refused_naming_both() {
        for (a, b) in [
            ("n1", "n1/sub"),
            ("n1/sub", "n1"),
            ("n1", "n1"),
            ("Docs", "docs/x"),
            ("n1", "n1//"),
        ] {
            let err = with_paths("b", &[("/tmp/x", a), ("/tmp/y", b)])
                .unwrap_err()
                .to_string();
            assert!(err.contains("/tmp/x") && err.contains("/tmp/y"), "{err}");
        }
        for (a, b) in [("n1", "n10"), ("n1", "n1 sub"), ("a/b", "a/c")] {
            assert!(
                with_paths("b", &[("/tmp/x", a), ("/tmp/y", b)]).is_ok(),
                "{a} {b}"
            );
        }
    }

    #[test]
    fn escaping_buckets_are_refused() {
        for bucket in ["..", ".", "a/b", "", "b\n"] {
            assert!(with_paths(bucket, &[]).is_err(), "{bucket:?}");
        }
        assert!(with_paths("..b", &[]).is_ok());
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
