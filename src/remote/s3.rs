//! The `type = s3` storage type: an rclone s3 section mapped onto OpenDAL's S3 service, served by
//! the generic [`ObjectBackend`].
//!
//! [`open`] reads the section (bucket and prefix from the path, region, endpoint, credentials,
//! addressing style, ACL, storage class, server-side encryption, `chunk_size`,
//! `upload_concurrency`) into an [`opendal::services::S3`](::opendal::services::S3) builder and
//! returns, beside the backend, one warning per option OpenDAL cannot honour
//! ([`IGNORED_OPTIONS`]; the caller prints them once). [`loopback`] builds the backend of an
//! `rclone serve s3` on 127.0.0.1 (tests, and a local peer). What a bucket can do is
//! [`FEATURES`]: no modification times in listings (a HEAD per file reads rclone's `mtime`
//! metadata), nanosecond precision, directories only as prefixes, listed folder by folder.
//!
//! Object keys are in the form rclone's s3 backend writes (its encoding
//! `Slash,InvalidUtf8,Dot`) wherever an S3 listing can carry it: TAB, LF, CR and DEL raw (a file
//! `t<TAB>ab` is the key `t<TAB>ab`, not `t␉ab`; a file `q␊uote` is the key `q␊uote`), each byte
//! that is not UTF-8 as `‛XX` (see [`super::encoding::to_s3_key`]), so poof and rclone read each
//! other's plain buckets to the same bytes on disk (tested both ways by `tests/s3_names.rs` for
//! pictures and bytes that are not UTF-8; the keys of raw control characters by `encoding`'s
//! unit tests, which hold the keys rclone was observed to write, since `rclone serve s3` does
//! not keep such keys stable).
//!
//! Where poof differs from rclone: OpenDAL lists without `encoding-type=url`, and an S3 listing
//! in XML cannot carry the other control characters: `rclone serve s3` returns ESC or VT as
//! U+FFFD and 0x01 as `&#x1;` (observed). poof therefore keeps their pictures in its keys
//! (`esc␛x`, as before; rclone writes ESC raw and reads poof's key as a literal `␛`). A key
//! another tool wrote with such a character raw, when the listing carries it (0x01), is listed
//! under the name of its picture and every later request of the run for that name uses the
//! listed key (see [`super::opendal`]); when both keys exist, the listing fails naming the
//! file. A key that maps to no name (a quote rune before a picture of TAB, LF, CR or DEL)
//! fails the listing with that key named, never skipped or read as another object. rclone's
//! raw ESC comes back as U+FFFD: restoring it is a per-file read error, so that run deletes
//! nothing; a sync to the bucket uploads poof's own key beside it (its delete of the U+FFFD name
//! removes nothing), so rclone's object is kept.
//! Also observed: `rclone serve s3` lists a key with a control character in its picture form
//! once it re-reads its folder (after its directory cache expires, or under concurrent
//! uploads), so both rclone and poof then read such a name with a literal picture.

use std::time::Duration;

use ::opendal::services::S3;
use anyhow::{anyhow, bail, Context, Result};

use super::backend::{Features, Length};
use super::opendal::{build, finish, ObjectBackend, ObjectType, Timeouts, S3_MTIME, S3_NAMING};
use super::{Below, StorageType};
use crate::config::rclone::Section;

/// Default upload chunk size, rclone's `chunk_size` default: with [`DEFAULT_UPLOAD_CONCURRENCY`]
/// parts in flight, a large upload holds about 25 MiB (larger chunks bought no speed on
/// loopback and cost 12 MiB more per upload).
pub const DEFAULT_CHUNK_SIZE: usize = 5 * 1024 * 1024;

/// Smallest part of an S3 multipart upload (except the last).
pub const MIN_CHUNK_SIZE: usize = 5 * 1024 * 1024;

/// Parts uploaded at once (rclone's `upload_concurrency` default).
pub const DEFAULT_UPLOAD_CONCURRENCY: usize = 4;

/// Region used when a section sets none (rclone's default too).
pub const DEFAULT_REGION: &str = "us-east-1";

/// What an S3 bucket can do: listings carry no user metadata (rclone's `mtime` comes from a
/// HEAD per file), the `mtime` metadata keeps nanoseconds, directories are only prefixes of
/// object keys (`mkdir` and `rmdir` do nothing), and a sync lists it folder by folder (one
/// request per folder with the `/` delimiter).
pub const FEATURES: Features = Features {
    mtime_in_listing: false,
    mtime_precision: Duration::from_nanos(1),
    real_dirs: false,
    // A server-side copy then a delete (CopyObject: objects up to 5 GiB).
    server_side_move: true,
    writable: true,
    small_files_at_once: true,
    // One request per folder, many folders at once: memory follows the largest folder, and
    // over a distant store the listings overlap instead of paging through the tree in turn.
    walk_by_folder: true,
    // S3 keys: at most 1,024 bytes of UTF-8, the prefix below the bucket included.
    max_segment: None,
    max_key: Some(Length::Bytes(1024)),
};

/// The `s3` line of [`super::TYPES`]: `name:bucket/prefix`.
pub const TYPE: StorageType = StorageType {
    name: "s3",
    open: |resolver, section, path| resolver.opened(open(section, path)),
    below: |_, _| Below::Elsewhere,
    is_crypt: false,
};

/// Providers whose endpoints want virtual-hosted-style requests (`bucket.host/key`) unless
/// `force_path_style` says otherwise.
const VIRTUAL_HOST_PROVIDERS: &[&str] = &["AWS", "Alibaba", "HuaweiOBS", "Netease", "TencentCOS"];

/// Options of an rclone s3 section that OpenDAL cannot honour, with the reason given in the
/// warning.
pub const IGNORED_OPTIONS: &[(&str, &str)] = &[
    ("location_constraint", "poof never creates buckets"),
    ("bucket_acl", "poof never creates buckets"),
    (
        "upload_cutoff",
        "uploads switch to multipart above one chunk_size",
    ),
    ("v2_auth", "only v4 signatures are supported"),
    ("use_accelerate_endpoint", "not supported"),
    ("sse_customer_algorithm", "SSE-C is not supported"),
    ("sse_customer_key", "SSE-C is not supported"),
    ("sse_customer_key_base64", "SSE-C is not supported"),
    ("requester_pays", "not supported"),
    ("profile", "not supported; use env_auth with AWS_PROFILE"),
    ("shared_credentials_file", "not supported; use env_auth"),
];

/// What the generic object store needs of S3 ([`build`]).
const KIND: ObjectType = ObjectType {
    store: "S3",
    chunk: (DEFAULT_CHUNK_SIZE, MIN_CHUNK_SIZE),
    concurrency: DEFAULT_UPLOAD_CONCURRENCY,
    ignored: IGNORED_OPTIONS,
    features: FEATURES,
    naming: S3_NAMING,
    mtime: S3_MTIME,
};

/// What poof says before the error of OpenDAL refusing the S3 builder.
const SETUP_FAILED: &str = "cannot set up the S3 client";

/// Splits `bucket/prefix` into the bucket and OpenDAL's root (`/prefix/`); also an Azure
/// container's (`container/prefix`).
pub(super) fn split_bucket(path: &str) -> Option<(&str, String)> {
    let path = path.trim_matches('/');
    let (bucket, prefix) = path.split_once('/').unwrap_or((path, ""));
    if bucket.is_empty() {
        return None;
    }
    let prefix = prefix.trim_matches('/');
    let root = if prefix.is_empty() {
        "/".to_owned()
    } else {
        format!("/{prefix}/")
    };
    Some((bucket, root))
}

/// Builds the backend of `name:bucket/prefix` from its `type = s3` section.
///
/// Returns the backend and the warnings to print once: options set in the section that
/// OpenDAL cannot honour.
///
/// # Errors
/// No bucket in `path`, a value that does not parse (`env_auth`, `force_path_style`,
/// `chunk_size`, `upload_concurrency`), or an operator OpenDAL refuses; each error names the
/// section and key.
pub fn open(section: &Section, path: &str) -> Result<(ObjectBackend, Vec<String>)> {
    let name = section.name();
    let Some((bucket, root)) = split_bucket(path) else {
        bail!("{name}: needs a bucket: {name}:bucket or {name}:bucket/path (poof cannot list buckets)");
    };
    let get = |key: &str| section.get(key).map(str::trim).filter(|v| !v.is_empty());
    let get_bool = |key: &str| -> Result<Option<bool>> {
        section
            .get_bool(key)
            .map_err(|e| anyhow!("[{name}] {key}: {e}"))
    };
    let mut warnings = Vec::new();
    let mut b = S3::default().bucket(bucket).root(&root);
    b = b.region(get("region").unwrap_or(DEFAULT_REGION));
    if let Some(endpoint) = get("endpoint") {
        if endpoint.contains("://") {
            b = b.endpoint(endpoint);
        } else {
            b = b.endpoint(&format!("https://{endpoint}"));
        }
    }
    let env_auth = get_bool("env_auth")?.unwrap_or(false);
    let key_id = get("access_key_id");
    let secret = get("secret_access_key");
    match (key_id, secret) {
        (Some(id), Some(secret)) => {
            b = b
                .access_key_id(id)
                .secret_access_key(secret)
                .disable_config_load()
                .disable_ec2_metadata();
            if let Some(token) = get("session_token") {
                b = b.session_token(token);
            }
        }
        (Some(_), None) => bail!("[{name}] access_key_id is set without secret_access_key"),
        (None, Some(_)) => bail!("[{name}] secret_access_key is set without access_key_id"),
        (None, None) if env_auth => {}
        (None, None) => {
            warnings.push(format!(
                "[{name}] has no access_key_id/secret_access_key and env_auth is false: requests are anonymous (only public buckets answer them)"
            ));
            b = b
                .skip_signature()
                .disable_config_load()
                .disable_ec2_metadata();
        }
    }
    let provider = get("provider").unwrap_or("Other");
    let virtual_host = match get_bool("force_path_style")? {
        Some(force) => !force,
        None => VIRTUAL_HOST_PROVIDERS.contains(&provider),
    };
    if virtual_host {
        b = b.enable_virtual_host_style();
    }
    if let Some(acl) = get("acl") {
        b = b.default_acl(acl);
    }
    if let Some(class) = get("storage_class") {
        b = b.default_storage_class(class);
    }
    if let Some(sse) = get("server_side_encryption") {
        b = b.server_side_encryption(sse);
        if let Some(kms) = get("sse_kms_key_id") {
            b = b.server_side_encryption_aws_kms_key_id(kms);
        }
    }
    let (backend, warnings) = build(b, &KIND, section, path, warnings)?;
    // The cache of modification times is the location's: the same bucket through another
    // section shares it, another endpoint does not.
    let identity = format!(
        "s3\n{}\n{}\n{bucket}\n{root}",
        get("endpoint").unwrap_or_default(),
        get("region").unwrap_or(DEFAULT_REGION)
    );
    Ok((backend.with_mtime_cache(&identity), warnings))
}

/// The backend of an `rclone serve s3` on `127.0.0.1:port`: path-style requests, the given
/// keys, no credentials from the environment or EC2 metadata.
///
/// # Errors
/// An empty bucket name, an invalid [`TIMEOUT_ENV`](super::opendal::TIMEOUT_ENV), or an
/// operator OpenDAL refuses.
pub fn loopback(
    port: u16,
    bucket_and_prefix: &str,
    access_key: &str,
    secret_key: &str,
) -> Result<ObjectBackend> {
    let timeouts = Timeouts::from_env(DEFAULT_CHUNK_SIZE, DEFAULT_UPLOAD_CONCURRENCY)?;
    loopback_with(port, bucket_and_prefix, access_key, secret_key, timeouts)
}

/// [`loopback`] with the given deadlines.
pub(super) fn loopback_with(
    port: u16,
    bucket_and_prefix: &str,
    access_key: &str,
    secret_key: &str,
    timeouts: Timeouts,
) -> Result<ObjectBackend> {
    let Some((bucket, root)) = split_bucket(bucket_and_prefix) else {
        bail!("{bucket_and_prefix:?}: no bucket");
    };
    let endpoint = format!("http://127.0.0.1:{port}");
    let b = S3::default()
        .bucket(bucket)
        .root(&root)
        .endpoint(&endpoint)
        .region(DEFAULT_REGION)
        .access_key_id(access_key)
        .secret_access_key(secret_key)
        .disable_config_load()
        .disable_ec2_metadata();
    let ops = finish(b, timeouts).context(SETUP_FAILED)?;
    let describe = format!("{endpoint}/{}", bucket_and_prefix.trim_matches('/'));
    Ok(ObjectBackend::new(
        ops,
        describe,
        DEFAULT_CHUNK_SIZE,
        DEFAULT_UPLOAD_CONCURRENCY,
        FEATURES,
        S3_NAMING,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::rclone::RcloneConfig;
    use crate::remote::backend::Backend;

    #[test]
    fn keys_fit_in_1024_bytes_with_the_prefix() {
        use crate::remote::backend::{EntryKind, TooLong};
        let lines = "provider = Other\nendpoint = http://127.0.0.1:9\nenv_auth = true\n";
        let (backend, _) = open_with(lines, "b/some/prefix").unwrap();
        // "some/prefix/" before the path: 12 bytes.
        let name = |len: usize| format!("d/{}", "n".repeat(len - 2));
        assert_eq!(backend.fits(&name(1012), EntryKind::File), Ok(()));
        let limit = Length::Bytes(1024);
        assert_eq!(
            backend.fits(&name(1013), EntryKind::File),
            Err(TooLong::new(None, 1025, limit))
        );
        // A folder leaves room for a name below it.
        assert!(backend.fits(&name(1011), EntryKind::Dir).is_err());
        assert_eq!(backend.fits(&name(1010), EntryKind::Dir), Ok(()));
        // Without a prefix, the path alone.
        let (backend, _) = open_with(lines, "b").unwrap();
        assert_eq!(backend.fits(&name(1024), EntryKind::File), Ok(()));
        let err = backend.fits(&name(1025), EntryKind::File).unwrap_err();
        assert_eq!(err.length, 1025);
    }

    #[test]
    fn bucket_and_prefix_split() {
        assert_eq!(split_bucket("b"), Some(("b", "/".to_owned())));
        assert_eq!(split_bucket("b/x/y/"), Some(("b", "/x/y/".to_owned())));
        assert_eq!(split_bucket(""), None);
    }

    /// [`open`] of `path` in a section holding `lines` after `type = s3`.
    fn open_with(lines: &str, path: &str) -> Result<(ObjectBackend, Vec<String>)> {
        let config = RcloneConfig::parse(&format!("[s]\ntype = s3\n{lines}")).unwrap();
        open(config.section("s").unwrap(), path)
    }

    #[test]
    fn section_without_a_bucket_is_refused() {
        let err = open_with("env_auth = true\n", "/").unwrap_err();
        assert!(format!("{err:#}").contains("s: needs a bucket"), "{err:#}");
    }

    #[test]
    fn half_a_key_pair_is_refused() {
        let err = open_with("access_key_id = k\n", "b").unwrap_err();
        let msg = format!("{err:#}");
        assert!(msg.contains("[s] access_key_id is set without"), "{msg}");
    }

    #[test]
    fn ignored_options_and_small_chunks_warn_once_each() {
        let (backend, warnings) = open_with(
            "access_key_id = k\nsecret_access_key = s\nv2_auth = true\nchunk_size = 1M\n",
            "b/p/",
        )
        .unwrap();
        assert_eq!(backend.describe(), "s:b/p");
        assert_eq!(backend.features(), FEATURES);
        assert_eq!(
            warnings,
            [
                "[s] chunk_size = 1M is below S3's 5 MiB minimum part size: using 5 MiB",
                "[s] v2_auth = true is ignored: only v4 signatures are supported",
            ]
        );
    }
}
