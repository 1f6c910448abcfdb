//! The `type = google cloud storage` storage type (rclone's name for GCS): an rclone gcs
//! section mapped onto OpenDAL's GCS service, served by the generic [`ObjectBackend`].
//!
//! [`open`] reads the section: the bucket and prefix from the path (`name:bucket/prefix`), then
//! the credentials: `service_account_file` (a path, `~` expanded), `service_account_credentials`
//! (the JSON itself), `anonymous = true` (unsigned requests, for public buckets and emulators),
//! or `env_auth = true` (OpenDAL's default chain: `GOOGLE_APPLICATION_CREDENTIALS`, gcloud's
//! well-known file, the VM metadata server). rclone's browser login (`token`) cannot be
//! refreshed without rclone's OAuth client, so such a section is refused naming the keys that
//! work. `endpoint` is rclone's (the JSON API URL, `http://host:port/storage/v1/` for
//! fake-gcs-server; `/storage/v1` is dropped, since OpenDAL adds it). `object_acl` becomes the
//! predefined ACL of each upload unless `bucket_policy_only = true`, where the bucket decides
//! (as in rclone). Every other option that changes what rclone does is reported once
//! ([`IGNORED_OPTIONS`]).
//!
//! Modification times: rclone writes two metadata entries, `mtime` (RFC 3339 with nanoseconds)
//! and `goog-reserved-file-mtime` (Unix seconds, gsutil's), and reads `mtime` first, then
//! `goog-reserved-file-mtime` (observed with rclone v1.75.2 against fake-gcs-server); poof does
//! the same ([`MTIME`]), from the listing, which carries the metadata ([`rest`]).
//!
//! Object names are in the form rclone's gcs backend writes (its encoding
//! `Slash,CrLf,InvalidUtf8,Dot`): every control character raw except LF and CR, which keep their
//! pictures (see [`super::encoding::to_gcs_key`]). Moves (poof's history) are a server-side
//! rewrite, which keeps the metadata, then a delete. Uploads of one part size (`chunk_size`,
//! 16 MiB by default) or more are one resumable upload streamed in parts, as rclone's are: the
//! object keeps an MD5 that `rclone cryptcheck` checks, which an XML multipart upload would not
//! give it ([`rest::GcsRest::upload`]); smaller objects are one request through OpenDAL.

pub mod rest;

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use ::opendal::services::Gcs;
use anyhow::{anyhow, bail, Context as _, Result};
use base64::Engine as _;

use super::backend::{Features, Length};
use super::encoding::{from_foreign_gcs_key, from_gcs_key, to_gcs_key};
use super::opendal::{
    build, format_rfc3339_mtime, parse_rfc3339_mtime, KeyNaming, MtimeMeta, ObjectBackend,
    ObjectType, MTIME_KEY,
};
use super::s3::split_bucket;
use super::{Below, StorageType};
use crate::config::rclone::Section;

/// gsutil's modification time metadata (Unix seconds), which rclone writes and reads too.
pub const GSUTIL_MTIME_KEY: &str = "goog-reserved-file-mtime";

/// Default part size of a resumable upload (rclone's `chunk_size` default for GCS); objects
/// smaller than a part are one request.
pub const DEFAULT_CHUNK_SIZE: usize = 16 * 1024 * 1024;
/// Smallest part of a multipart upload (except the last).
pub const MIN_CHUNK_SIZE: usize = 5 * 1024 * 1024;
/// Parts uploaded at once.
pub const DEFAULT_UPLOAD_CONCURRENCY: usize = 4;

/// What a GCS bucket can do, as an Azure container: nanosecond precision, directories only as
/// prefixes, moves by a server-side rewrite; listings carry the metadata once [`rest`] lists
/// ([`ObjectBackend::with_extras`]).
pub const FEATURES: Features = Features {
    // Object names: at most 1,024 bytes of UTF-8, the prefix in the bucket included.
    max_key: Some(Length::Bytes(1024)),
    ..super::azureblob::FEATURES
};

/// The object names of rclone's gcs backend.
pub const NAMING: KeyNaming = KeyNaming {
    to_key: to_gcs_key,
    from_key: from_gcs_key,
    from_foreign: from_foreign_gcs_key,
};

/// rclone's gcs modification time: `mtime` (RFC 3339, ns) and `goog-reserved-file-mtime` (s).
pub const MTIME: MtimeMeta = MtimeMeta {
    write: |t: SystemTime| {
        vec![
            (MTIME_KEY.to_owned(), format_rfc3339_mtime(t)),
            (GSUTIL_MTIME_KEY.to_owned(), format_unix_seconds(t)),
        ]
    },
    read: &[
        (MTIME_KEY, parse_rfc3339_mtime),
        (GSUTIL_MTIME_KEY, parse_unix_seconds),
    ],
};

/// gsutil's whole Unix seconds (rounded down, as rclone writes them).
fn format_unix_seconds(t: SystemTime) -> String {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => d.as_secs().to_string(),
        Err(before) => {
            let d = before.duration();
            let secs = i128::from(d.as_secs()) + i128::from(d.subsec_nanos() > 0);
            format!("-{secs}")
        }
    }
}

/// Parses gsutil's whole Unix seconds.
fn parse_unix_seconds(text: &str) -> Option<SystemTime> {
    let secs: i64 = text.trim().parse().ok()?;
    if secs >= 0 {
        UNIX_EPOCH.checked_add(Duration::from_secs(secs.unsigned_abs()))
    } else {
        UNIX_EPOCH.checked_sub(Duration::from_secs(secs.unsigned_abs()))
    }
}

/// The `google cloud storage` line of [`super::TYPES`]: `name:bucket/prefix`.
pub const TYPE: StorageType = StorageType {
    name: "google cloud storage",
    open: |resolver, section, path| resolver.opened(open(section, path)),
    below: |_, _| Below::Elsewhere,
    is_crypt: false,
};

/// Options of an rclone gcs section that poof does not honour, with the reason given in the
/// warning.
pub const IGNORED_OPTIONS: &[(&str, &str)] = &[
    ("bucket_acl", "poof never creates buckets"),
    ("location", "poof never creates buckets"),
    (
        "storage_class",
        "objects get the bucket's default storage class",
    ),
    ("user_project", "requester-pays buckets are not supported"),
    ("access_token", "not supported; use service_account_file"),
    (
        "client_credentials",
        "not supported; use service_account_file",
    ),
    ("directory_markers", "poof writes no directory markers"),
    ("decompress", "poof stores and reads objects as they are"),
    ("encoding", "poof uses rclone's default gcs encoding"),
];

/// What the generic object store needs of Google Cloud Storage ([`build`]).
const KIND: ObjectType = ObjectType {
    store: "Google Cloud Storage",
    chunk: (DEFAULT_CHUNK_SIZE, MIN_CHUNK_SIZE),
    concurrency: DEFAULT_UPLOAD_CONCURRENCY,
    ignored: IGNORED_OPTIONS,
    features: FEATURES,
    naming: NAMING,
    mtime: MTIME,
};

/// The GCS server when a section names no `endpoint`.
const DEFAULT_SERVER: &str = "https://storage.googleapis.com";

/// rclone's `endpoint` (the JSON API URL) as OpenDAL's (the server, without `/storage/v1`).
fn opendal_endpoint(endpoint: &str) -> String {
    let url = endpoint.trim().trim_end_matches('/');
    let url = url.strip_suffix("/storage/v1").unwrap_or(url);
    if url.contains("://") {
        url.to_owned()
    } else {
        format!("https://{url}")
    }
}

/// Builds the backend of `name:bucket/prefix` from its `type = google cloud storage` section.
///
/// Returns the backend and the warnings to print once: options set in the section that poof
/// does not honour.
///
/// # Errors
/// No bucket in `path`, a value that does not parse (`anonymous`, `env_auth`,
/// `bucket_policy_only`, `service_account_credentials` that is not JSON, `chunk_size`,
/// `upload_concurrency`), no way to authenticate, or a client OpenDAL refuses; each error names
/// the section and key, never a secret's value.
pub fn open(section: &Section, path: &str) -> Result<(ObjectBackend, Vec<String>)> {
    let name = section.name();
    let get = |key: &str| section.get(key).map(str::trim).filter(|v| !v.is_empty());
    let get_bool = |key: &str| -> Result<bool> {
        section
            .get_bool(key)
            .map(|v| v.unwrap_or(false))
            .map_err(|e| anyhow!("[{name}] {key}: {e}"))
    };
    let bucket_policy_only = get_bool("bucket_policy_only")?;
    let Some((bucket, root)) = split_bucket(path) else {
        bail!("{name}: needs a bucket: {name}:bucket or {name}:bucket/path (poof cannot list buckets)");
    };
    let warnings = Vec::new();
    let mut b = Gcs::default().bucket(bucket).root(&root);
    let server = get("endpoint").map_or_else(|| DEFAULT_SERVER.to_owned(), opendal_endpoint);
    b = b.endpoint(&server);
    let auth;
    if let Some(file) = get("service_account_file") {
        let file = match (file.strip_prefix("~/"), std::env::var_os("HOME")) {
            (Some(rest), Some(home)) => std::path::Path::new(&home)
                .join(rest)
                .to_string_lossy()
                .into_owned(),
            _ => file.to_owned(),
        };
        b = b
            .credential_path(&file)
            .disable_config_load()
            .disable_vm_metadata();
        auth = Credentials::KeyFile(file);
    } else if let Some(json) = get("service_account_credentials") {
        let parsed: Option<serde_json::Value> = serde_json::from_str(json).ok();
        if !parsed.is_some_and(|v| v.is_object()) {
            bail!("[{name}] service_account_credentials is not a service account's JSON key");
        }
        let encoded = base64::engine::general_purpose::STANDARD.encode(json);
        b = b
            .credential(&encoded)
            .disable_config_load()
            .disable_vm_metadata();
        auth = Credentials::KeyJson(json.to_owned());
    } else if get_bool("anonymous")? {
        b = b
            .skip_signature()
            .disable_config_load()
            .disable_vm_metadata();
        auth = Credentials::Anonymous;
    } else if get_bool("env_auth")? {
        auth = Credentials::Environment;
    } else if get("token").is_some() {
        bail!("[{name}] uses rclone's browser login (token), which poof cannot refresh: set service_account_file, env_auth = true or anonymous = true");
    } else {
        bail!("[{name}] needs service_account_file, service_account_credentials, env_auth = true or anonymous = true");
    }
    let acl = get("object_acl").filter(|_| !bucket_policy_only);
    if let Some(acl) = acl {
        b = b.predefined_acl(acl);
    }
    let (backend, warnings) = build(b, &KIND, section, path, warnings)?;
    let auth = match &auth {
        Credentials::Anonymous => rest::Auth::Anonymous,
        Credentials::KeyFile(file) => rest::Auth::KeyFile(file),
        Credentials::KeyJson(json) => rest::Auth::KeyJson(json),
        Credentials::Environment => rest::Auth::Environment,
    };
    let rest = rest::GcsRest::new(&server, bucket, &root, auth, acl)
        .with_context(|| format!("[{name}]"))?;
    Ok((backend.with_extras(Arc::new(rest)), warnings))
}

/// The credentials of a section, as [`open`] finds them.
enum Credentials {
    /// `anonymous = true`.
    Anonymous,
    /// `service_account_file`, `~` expanded.
    KeyFile(String),
    /// `service_account_credentials`.
    KeyJson(String),
    /// `env_auth = true`.
    Environment,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::rclone::RcloneConfig;
    use crate::remote::backend::Backend;

    /// [`open`] of `path` in a section holding `lines` after `type = google cloud storage`.
    fn open_with(lines: &str, path: &str) -> Result<(ObjectBackend, Vec<String>)> {
        let text = format!("[g]\ntype = google cloud storage\n{lines}");
        let config = RcloneConfig::parse(&text).unwrap();
        open(config.section("g").unwrap(), path)
    }

    #[test]
    fn endpoint_drops_the_json_api_path() {
        assert_eq!(
            opendal_endpoint("http://127.0.0.1:4443/storage/v1/"),
            "http://127.0.0.1:4443"
        );
        assert_eq!(
            opendal_endpoint("storage.example.org:4443"),
            "https://storage.example.org:4443"
        );
    }

    #[test]
    fn sections_without_credentials_or_bucket_are_refused() {
        let err = open_with("", "b").unwrap_err();
        assert!(
            format!("{err:#}").contains("needs service_account_file"),
            "{err:#}"
        );
        let err = open_with("token = {\"access_token\":\"s3cret\"}\n", "b").unwrap_err();
        let msg = format!("{err:#}");
        assert!(msg.contains("browser login"), "{msg}");
        assert!(!msg.contains("s3cret"), "{msg}");
        let err = open_with("anonymous = true\n", "/").unwrap_err();
        assert!(format!("{err:#}").contains("needs a bucket"), "{err:#}");
        let err = open_with("service_account_credentials = s3cret\n", "b").unwrap_err();
        let msg = format!("{err:#}");
        assert!(msg.contains("not a service account's JSON"), "{msg}");
        assert!(!msg.contains("s3cret"), "{msg}");
    }

    #[test]
    fn anonymous_with_ignored_options_warns_once_each() {
        let (backend, warnings) =
            open_with("anonymous = true\nstorage_class = NEARLINE\n", "b/p/").unwrap();
        assert_eq!(backend.describe(), "g:b/p");
        // Listings carry the metadata (rclone's `mtime`): no stat per file.
        assert_eq!(
            backend.features(),
            Features {
                mtime_in_listing: true,
                ..FEATURES
            }
        );
        assert_eq!(
            warnings,
            ["[g] storage_class = NEARLINE is ignored: objects get the bucket's default storage class"]
        );
    }

    #[test]
    fn mtime_is_written_twice_and_read_in_rclone_order() {
        let t = UNIX_EPOCH + Duration::new(1_650_000_000, 123_456_789);
        assert_eq!(
            (MTIME.write)(t),
            [
                (
                    "mtime".to_owned(),
                    "2022-04-15T05:20:00.123456789Z".to_owned()
                ),
                (GSUTIL_MTIME_KEY.to_owned(), "1650000000".to_owned()),
            ]
        );
        assert_eq!(
            parse_unix_seconds("1650000000"),
            Some(UNIX_EPOCH + Duration::from_secs(1_650_000_000))
        );
        assert_eq!(format_unix_seconds(UNIX_EPOCH - Duration::new(1, 5)), "-2");
        assert_eq!(
            parse_unix_seconds("-2"),
            Some(UNIX_EPOCH - Duration::from_secs(2))
        );
        assert_eq!(parse_unix_seconds("1.5"), None);
    }
}
