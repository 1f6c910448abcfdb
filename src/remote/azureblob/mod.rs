//! The `type = azureblob` storage type: an rclone azureblob section mapped onto OpenDAL's Azure
//! Blob service, served by the generic [`ObjectBackend`].
//!
//! [`open`] reads the section: the container and prefix from the path (`name:container/prefix`),
//! then the credentials in rclone's order: `sas_url` (a container-level SAS URL: its host,
//! container and token), `use_emulator = true` (Azurite's well-known `devstoreaccount1` account
//! and key on `http://127.0.0.1:10000`), `account` with `key` (the base64 shared key, which
//! rclone stores as it is, not obscured), `env_auth` (OpenDAL's default Azure credential chain),
//! or else anonymous requests (public containers only, with a warning). `endpoint` replaces the
//! service URL (`https://<account>.blob.core.windows.net`, or the emulator's); `chunk_size` and
//! `upload_concurrency` size block uploads. Every other option that changes what rclone does is
//! reported once ([`IGNORED_OPTIONS`]).
//!
//! Modification times: rclone keeps them in the blob metadata `mtime` as RFC 3339 with
//! nanoseconds (`2022-04-15T05:20:00.123456789Z`, observed with rclone v1.75.2 against
//! Azurite); poof writes and reads the same ([`MTIME`]). poof lists with the metadata, as
//! rclone does ([`rest`]), so a listing carries every modification time; only an anonymous
//! remote lists through OpenDAL, without metadata, and reads each time with a HEAD
//! ([`FEATURES`]).
//!
//! Blob names are in the form rclone's azureblob backend writes (its encoding
//! `Slash,BackSlash,Del,Ctl,RightPeriod,InvalidUtf8`): control characters as their pictures,
//! `\` as `＼`, a name's last `.` as `．` (see [`super::encoding::to_azure_key`]), so poof and
//! rclone read each other's plain containers under the same names (`tests/azureblob.rs`).
//! Moves (poof's history) are a server-side Copy Blob, which keeps the metadata, then a delete
//! once the copy's status is `success` (Azure may finish a copy later). Blobs above `chunk_size`
//! go up in blocks and get their Content-MD5 set afterwards, as rclone's do, so that `rclone
//! cryptcheck` checks them ([`rest`]: the requests OpenDAL does not send).

pub mod rest;

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use ::opendal::services::Azblob;
use anyhow::{anyhow, bail, Context as _, Result};
use base64::Engine as _;

use super::backend::{Features, Length};
use super::encoding::{from_azure_key, from_foreign_azure_key, to_azure_key};
use super::opendal::{
    build, format_rfc3339_mtime, parse_rfc3339_mtime, KeyNaming, MtimeMeta, ObjectBackend,
    ObjectType, MTIME_KEY,
};
use super::s3::split_bucket;
use super::{Below, StorageType};
use crate::config::rclone::Section;

/// Azurite's well-known account (`use_emulator = true`).
pub const EMULATOR_ACCOUNT: &str = "devstoreaccount1";
/// Azurite's well-known shared key, published in Microsoft's documentation.
pub const EMULATOR_KEY: &str =
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";
/// Azurite's blob endpoint (`use_emulator = true` without `endpoint`).
pub const EMULATOR_ENDPOINT: &str = "http://127.0.0.1:10000/devstoreaccount1";

/// Default block size, rclone's `chunk_size` default.
pub const DEFAULT_CHUNK_SIZE: usize = 4 * 1024 * 1024;
/// Smallest block poof uploads (a smaller `chunk_size` is raised to it, with a warning): tiny
/// blocks would cost a request each.
pub const MIN_CHUNK_SIZE: usize = 1024 * 1024;
/// Blocks uploaded at once. rclone's default is 16; poof keeps 4 (16 MiB in flight per upload)
/// unless the section sets `upload_concurrency`.
pub const DEFAULT_UPLOAD_CONCURRENCY: usize = 4;

/// What an Azure container can do: listings carry no metadata (rclone's `mtime` comes from a
/// HEAD per blob), the `mtime` metadata keeps nanoseconds, directories are only name prefixes,
/// and a blob moves by a server-side copy.
pub const FEATURES: Features = Features {
    mtime_in_listing: false,
    mtime_precision: Duration::from_nanos(1),
    real_dirs: false,
    server_side_move: true,
    writable: true,
    small_files_at_once: true,
    // One request per folder, many folders at once: memory follows the largest folder, and
    // over a distant store the listings overlap instead of paging through the tree in turn.
    walk_by_folder: true,
    // Blob names: at most 1,024 characters, the prefix in the container included.
    max_segment: None,
    max_key: Some(Length::Chars(1024)),
};

/// The blob names of rclone's azureblob backend.
pub const NAMING: KeyNaming = KeyNaming {
    to_key: to_azure_key,
    from_key: from_azure_key,
    from_foreign: from_foreign_azure_key,
};

/// rclone's azureblob modification time: metadata `mtime`, RFC 3339 with nanoseconds.
pub const MTIME: MtimeMeta = MtimeMeta {
    write: |t: SystemTime| vec![(MTIME_KEY.to_owned(), format_rfc3339_mtime(t))],
    read: &[(MTIME_KEY, parse_rfc3339_mtime)],
};

/// The `azureblob` line of [`super::TYPES`]: `name:container/prefix`.
pub const TYPE: StorageType = StorageType {
    name: "azureblob",
    open: |resolver, section, path| resolver.opened(open(section, path)),
    below: |_, _| Below::Elsewhere,
    is_crypt: false,
};

/// Options of an rclone azureblob section that poof does not honour, with the reason given in
/// the warning.
pub const IGNORED_OPTIONS: &[(&str, &str)] = &[
    ("connection_string", "not supported; use account and key"),
    (
        "tenant",
        "service principals are not supported; use account and key or sas_url",
    ),
    (
        "client_id",
        "service principals are not supported; use account and key or sas_url",
    ),
    (
        "client_secret",
        "service principals are not supported; use account and key or sas_url",
    ),
    (
        "client_certificate_path",
        "service principals are not supported",
    ),
    (
        "username",
        "user logins are not supported; use account and key or sas_url",
    ),
    (
        "service_principal_file",
        "service principals are not supported",
    ),
    (
        "use_msi",
        "managed identities are only reached through env_auth",
    ),
    ("use_az", "the Azure CLI is only reached through env_auth"),
    (
        "upload_cutoff",
        "uploads switch to blocks above one chunk_size",
    ),
    ("access_tier", "blobs get the container's default tier"),
    ("archive_tier_delete", "not supported"),
    ("public_access", "poof never creates containers"),
    ("directory_markers", "poof writes no directory markers"),
    ("delete_snapshots", "not supported"),
    ("encoding", "poof uses rclone's default azureblob encoding"),
];

/// What the generic object store needs of Azure Blob ([`build`]).
const KIND: ObjectType = ObjectType {
    store: "Azure Blob",
    chunk: (DEFAULT_CHUNK_SIZE, MIN_CHUNK_SIZE),
    concurrency: DEFAULT_UPLOAD_CONCURRENCY,
    ignored: IGNORED_OPTIONS,
    features: FEATURES,
    naming: NAMING,
    mtime: MTIME,
};

/// A container-level SAS URL: the service endpoint, the container and the token.
fn split_sas_url(url: &str) -> Option<(String, String, String)> {
    let (base, token) = url.split_once('?')?;
    let (scheme, rest) = base.split_once("://")?;
    let rest = rest.trim_end_matches('/');
    let (host_and_path, container) = rest.rsplit_once('/')?;
    if container.is_empty() || token.is_empty() {
        return None;
    }
    Some((
        format!("{scheme}://{host_and_path}"),
        container.to_owned(),
        token.to_owned(),
    ))
}

/// Builds the backend of `name:container/prefix` from its `type = azureblob` section.
///
/// Returns the backend and the warnings to print once: options set in the section that poof
/// does not honour.
///
/// # Errors
/// No container in `path`, a value that does not parse (`key` not base64, `sas_url`,
/// `use_emulator`, `env_auth`, `chunk_size`, `upload_concurrency`), or a client OpenDAL
/// refuses; each error names the section and key, never a secret's value.
pub fn open(section: &Section, path: &str) -> Result<(ObjectBackend, Vec<String>)> {
    let name = section.name();
    let get = |key: &str| section.get(key).map(str::trim).filter(|v| !v.is_empty());
    let get_bool = |key: &str| -> Result<bool> {
        section
            .get_bool(key)
            .map(|v| v.unwrap_or(false))
            .map_err(|e| anyhow!("[{name}] {key}: {e}"))
    };
    let Some((mut container, root)) = split_bucket(path) else {
        bail!("{name}: needs a container: {name}:container or {name}:container/path (poof cannot list containers)");
    };
    let mut warnings = Vec::new();
    let mut b = Azblob::default().root(&root);
    let mut endpoint = None;
    // The credentials of poof's own requests (`rest`), the ones OpenDAL gets; none: anonymous.
    let mut auth = None;
    if let Some(sas) = get("sas_url") {
        let Some((service, sas_container, token)) = split_sas_url(sas) else {
            bail!("[{name}] sas_url is not a container SAS URL (https://<account>.blob.core.windows.net/<container>?<token>)");
        };
        if sas_container != container {
            bail!("[{name}] sas_url grants the container {sas_container:?}, not {container:?}");
        }
        endpoint = Some(service);
        b = b.sas_token(&token);
        auth = Some(Credentials::Sas(token));
    } else if get_bool("use_emulator")? {
        endpoint = Some(EMULATOR_ENDPOINT.to_owned());
        b = b.account_name(EMULATOR_ACCOUNT).account_key(EMULATOR_KEY);
        auth = Some(Credentials::SharedKey(
            EMULATOR_ACCOUNT.to_owned(),
            EMULATOR_KEY.to_owned(),
        ));
    } else {
        let account = get("account");
        match (account, get("key")) {
            (Some(account), Some(key)) => {
                if base64::engine::general_purpose::STANDARD
                    .decode(key)
                    .is_err()
                {
                    bail!("[{name}] key is not a base64 shared key (rclone stores it as the portal shows it)");
                }
                b = b.account_name(account).account_key(key);
                auth = Some(Credentials::SharedKey(account.to_owned(), key.to_owned()));
            }
            (None, Some(_)) => bail!("[{name}] key is set without account"),
            (Some(account), None) => b = b.account_name(account),
            (None, None) => {}
        }
        if let Some(account) = account {
            endpoint = Some(format!("https://{account}.blob.core.windows.net"));
        }
        if get("key").is_none() && get_bool("env_auth")? {
            auth = Some(Credentials::Environment);
        }
        if get("key").is_none() && !get_bool("env_auth")? {
            warnings.push(format!(
                "[{name}] has no key, sas_url or use_emulator and env_auth is false: requests are anonymous (only public containers answer them)"
            ));
            b = b.skip_signature();
        }
    }
    if let Some(custom) = get("endpoint") {
        endpoint = Some(if custom.contains("://") {
            custom.trim_end_matches('/').to_owned()
        } else {
            format!("https://{}", custom.trim_end_matches('/'))
        });
    }
    let Some(endpoint) = endpoint else {
        bail!("[{name}] needs account (with key or env_auth), sas_url, use_emulator or endpoint");
    };
    container = container.trim();
    b = b.container(container).endpoint(&endpoint);
    let (backend, warnings) = build(b, &KIND, section, path, warnings)?;
    let Some(auth) = auth else {
        // Anonymous requests only read public containers: nothing to add to writes or moves.
        return Ok((backend, warnings));
    };
    let auth = match &auth {
        Credentials::SharedKey(account, key) => rest::Auth::SharedKey { account, key },
        Credentials::Sas(token) => rest::Auth::Sas(token),
        Credentials::Environment => rest::Auth::Environment,
    };
    let rest = rest::BlobRest::new(&endpoint, container, &root, auth)
        .with_context(|| format!("[{name}]"))?;
    Ok((backend.with_extras(Arc::new(rest)), warnings))
}

/// The credentials of a section, as [`open`] finds them.
enum Credentials {
    /// The account and its base64 Shared Key.
    SharedKey(String, String),
    /// A SAS token.
    Sas(String),
    /// `env_auth`: the default Azure credential chain.
    Environment,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::rclone::RcloneConfig;
    use crate::remote::backend::Backend;

    /// [`open`] of `path` in a section holding `lines` after `type = azureblob`.
    fn open_with(lines: &str, path: &str) -> Result<(ObjectBackend, Vec<String>)> {
        let config = RcloneConfig::parse(&format!("[a]\ntype = azureblob\n{lines}")).unwrap();
        open(config.section("a").unwrap(), path)
    }

    #[test]
    fn sas_url_gives_service_container_and_token() {
        assert_eq!(
            split_sas_url("https://acc.blob.core.windows.net/cont?sv=1&sig=x"),
            Some((
                "https://acc.blob.core.windows.net".to_owned(),
                "cont".to_owned(),
                "sv=1&sig=x".to_owned()
            ))
        );
        assert_eq!(
            split_sas_url("https://acc.blob.core.windows.net/cont"),
            None
        );
        let err = open_with("sas_url = https://h/other?sig=s3cret\n", "cont").unwrap_err();
        let msg = format!("{err:#}");
        assert!(msg.contains("not \"cont\""), "{msg}");
        assert!(!msg.contains("s3cret"), "{msg}");
    }

    #[test]
    fn bad_values_are_refused_without_the_secret() {
        let err = open_with("account = acc\nkey = not*base64!\n", "c").unwrap_err();
        let msg = format!("{err:#}");
        assert!(msg.contains("[a] key is not a base64"), "{msg}");
        assert!(!msg.contains("not*base64!"), "{msg}");
        let err = open_with("use_emulator = maybe\n", "c").unwrap_err();
        assert!(format!("{err:#}").contains("use_emulator"), "{err:#}");
        let err = open_with("use_emulator = true\n", "").unwrap_err();
        assert!(format!("{err:#}").contains("needs a container"), "{err:#}");
        let err = open_with("", "c").unwrap_err();
        assert!(format!("{err:#}").contains("needs account"), "{err:#}");
    }

    #[test]
    fn emulator_and_ignored_options_warn_once_each() {
        let (backend, warnings) =
            open_with("use_emulator = true\naccess_tier = Cool\n", "c/p/").unwrap();
        assert_eq!(backend.describe(), "a:c/p");
        // Signed listings carry the metadata (`rest`); anonymous ones go through OpenDAL.
        let listed = Features {
            mtime_in_listing: true,
            ..FEATURES
        };
        assert_eq!(backend.features(), listed);
        assert_eq!(
            warnings,
            ["[a] access_tier = Cool is ignored: blobs get the container's default tier"]
        );
        let (backend, warnings) = open_with("account = acc\n", "c").unwrap();
        assert!(warnings[0].contains("anonymous"), "{warnings:?}");
        assert_eq!(backend.features(), FEATURES);
    }

    #[test]
    fn mtime_is_rfc3339_with_nanoseconds() {
        let t = std::time::UNIX_EPOCH + Duration::new(1_650_000_000, 123_456_789);
        let written = (MTIME.write)(t);
        assert_eq!(
            written,
            [(
                "mtime".to_owned(),
                "2022-04-15T05:20:00.123456789Z".to_owned()
            )]
        );
        assert_eq!(
            parse_rfc3339_mtime("2022-04-15T05:20:00.123456789Z"),
            Some(t)
        );
        assert_eq!(
            format_rfc3339_mtime(std::time::UNIX_EPOCH + Duration::from_secs(1_650_000_000)),
            "2022-04-15T05:20:00Z"
        );
        assert_eq!(parse_rfc3339_mtime("yesterday"), None);
    }
}
