//! The `type = webdav` storage type: an rclone webdav section (Nextcloud, ownCloud, Fastmail
//! Files, ownCloud Infinite Scale, `rclone serve webdav`, any WebDAV server) as a [`Backend`]
//! over reqwest, through the HTTP plumbing of [`super::http`].
//!
//! Keys honoured: `url` (the server's address; the remote's path is below it), `vendor`
//! (`rclone`, `nextcloud`, `owncloud`, `infinitescale`, `fastmail`, `other`; `sharepoint` and
//! `sharepoint-ntlm` need sign-in flows poof does not have and are refused), `user`, `pass`
//! (obscured, as rclone stores it; revealed with [`Section::get_revealed`], never printed) and
//! `bearer_token`. Other keys that change what rclone does ([`IGNORED_OPTIONS`]) are reported
//! once each.
//!
//! Requests: PROPFIND with `Depth: 1` lists a folder (sizes, `getlastmodified`); a recursive
//! listing walks the folders, [`LIST_CONCURRENCY`] at a time. Folders are real: `mkdir` sends
//! MKCOL for each missing folder, top down; `rmdir` deletes a folder only once a listing found
//! it empty (a WebDAV DELETE of a folder removes everything in it). Reads are ranged GETs.
//!
//! Modification times as rclone keeps them: for the vendors that honour it
//! ([`vendor_keeps_mtime`]) every PUT sends `X-OC-Mtime: <Unix seconds>` (what rclone sends,
//! observed), and listings read the time back from `getlastmodified` (whole seconds:
//! [`Features::mtime_precision`] is 1 s, rclone's precision for these vendors). For `other`
//! the server sets the time of the upload: the precision is 100 years, rclone's "modification
//! times not supported", so that the sync engine compares such files by size only (as rclone
//! does) and a re-sync copies nothing.
//!
//! Writes are atomic for readers: a PUT to a temporary name in the destination folder
//! ([`super::local::temp_name`], the local backend's names), then a MOVE over the real name
//! (`Overwrite: T`); a failed or cancelled upload deletes its temporary file. Uploads stream
//! from the caller's stream ([`reqwest::Body::wrap_stream`], with `Content-Length` when the
//! size is known), so memory stays bounded whatever the file size. Listings skip poof's
//! temporary names; [`Backend::cleanup`] deletes those a listing met that are older than
//! [`STALE_AFTER`] (an upload in progress writes its temporary file now).
//! [`Backend::rename`] is a server-side MOVE, which poof's history uses.
//!
//! Why not OpenDAL's `webdav` service: its writer buffers each whole file in memory and it
//! sends no `X-OC-Mtime`, so neither bounded memory nor rclone's modification times.
//!
//! Names: rclone's webdav backend sends Standard names as they are (its encoding is the
//! identity), so a path is [`super::encoding::to_url_path`], and listed hrefs come back with
//! [`super::encoding::from_url_segment`].

use std::collections::{BTreeMap, HashSet};
use std::ops::Range;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{anyhow, bail, Result};
use async_trait::async_trait;
use futures::stream::{self, StreamExt, TryStreamExt};
use quick_xml::events::Event;
use reqwest::header::{HeaderValue, CONTENT_LENGTH, CONTENT_TYPE};
use reqwest::{Method, StatusCode, Url};

use super::backend::{Backend, ByteStream, Entry, EntryKind, Features, Listing, PutOptions};
use super::encoding;
use super::http::{ignored, parse_url, status_error, Auth, Client};
use super::local::{is_temp_name, temp_name};
use super::{Below, StorageType};
use crate::config::rclone::Section;

/// Folders listed at once by a recursive listing.
pub const LIST_CONCURRENCY: usize = 8;

/// Age after which a temporary file a listing met is taken for the leftover of a killed
/// upload, which [`Backend::cleanup`] deletes.
pub const STALE_AFTER: Duration = Duration::from_secs(24 * 3600);

/// rclone's precision for a store without modification times ("100 years"): the sync engine
/// then compares files by size only.
pub const NO_MTIME_PRECISION: Duration = Duration::from_secs(100 * 365 * 24 * 3600);

/// The vendors poof knows, as rclone spells them.
const VENDORS: &[&str] = &[
    "rclone",
    "nextcloud",
    "owncloud",
    "infinitescale",
    "fastmail",
    "other",
];

/// Options of an rclone webdav section poof does not honour, with the reason in the warning.
pub const IGNORED_OPTIONS: &[(&str, &str)] = &[
    ("bearer_token_command", "set bearer_token instead"),
    ("headers", "extra headers are not sent"),
    (
        "encoding",
        "poof sends names as rclone's default encoding does",
    ),
    (
        "nextcloud_chunk_size",
        "uploads are one streamed PUT, never chunked",
    ),
    ("owncloud_exclude_shares", "shares are listed"),
    ("owncloud_exclude_mounts", "mounts are listed"),
    ("unix_socket", "poof connects over TCP to url"),
    ("auth_redirect", "credentials are not sent on redirects"),
];

/// True for the vendors whose servers keep the time a PUT sends in `X-OC-Mtime` (rclone's
/// webdav documentation: ownCloud, Nextcloud, Fastmail Files, Infinite Scale, and
/// `rclone serve webdav`; rclone reports 1 s precision for each of them).
pub fn vendor_keeps_mtime(vendor: &str) -> bool {
    vendor != "other"
}

/// The `webdav` line of [`super::TYPES`]: `name:path` below the section's `url`.
pub const TYPE: StorageType = StorageType {
    name: "webdav",
    open: |resolver, section, path| resolver.opened(open(section, path)),
    below: |_, _| Below::Elsewhere,
    is_crypt: false,
};

/// A WebDAV server's folder.
pub struct WebdavBackend {
    http: Client,
    /// `X-OC-Mtime` is sent and `getlastmodified` is the file's time.
    keeps_mtime: bool,
    /// Folders known to exist (made or listed), by path.
    dirs: Mutex<HashSet<String>>,
    /// Temporary files of killed uploads met by listings, for [`Backend::cleanup`].
    temps_seen: Mutex<Vec<String>>,
}

/// The credentials of a webdav or http section: `bearer_token`, else `user` with `pass`.
///
/// # Errors
/// A `pass` or `bearer_token` that is not obscured... (`bearer_token` is stored in the clear:
/// only `pass` is revealed).
pub(super) fn auth_of(section: &Section) -> Result<Auth> {
    let get = |key: &str| section.get(key).map(str::trim).filter(|v| !v.is_empty());
    if let Some(token) = get("bearer_token") {
        return Ok(Auth::Bearer(Arc::new(zeroize::Zeroizing::new(
            token.to_owned(),
        ))));
    }
    let pass = section.get_revealed("pass")?;
    match (get("user"), pass) {
        (Some(user), pass) => Ok(Auth::Basic {
            user: user.to_owned(),
            pass: Arc::new(pass.unwrap_or_default()),
        }),
        (None, Some(_)) => bail!("[{}] pass is set without user", section.name()),
        (None, None) => Ok(Auth::None),
    }
}

/// Builds the backend of `name:path` from its `type = webdav` section, and the warnings to
/// print once.
///
/// # Errors
/// No or a bad `url`, an unknown or unsupported `vendor`, a `pass` that is not obscured; each
/// one line naming the section (never a password).
pub fn open(section: &Section, path: &str) -> Result<(WebdavBackend, Vec<String>)> {
    let name = section.name();
    let url = parse_url(name, section.get("url").unwrap_or_default())?;
    let mut warnings = Vec::new();
    let vendor = match section
        .get("vendor")
        .map(str::trim)
        .filter(|v| !v.is_empty())
    {
        None => {
            warnings.push(format!(
                "[{name}] has no vendor: using `other` (modification times are the server's; files are compared by size)"
            ));
            "other"
        }
        Some(v) if v.starts_with("sharepoint") => {
            bail!("[{name}] vendor = {v} is not supported by poof (its sign-in is Microsoft's)")
        }
        Some(v) if VENDORS.contains(&v) => v,
        Some(v) => bail!(
            "[{name}] vendor = {v:?} is not a vendor poof knows ({})",
            VENDORS.join(", ")
        ),
    };
    warnings.extend(ignored(section, IGNORED_OPTIONS));
    let auth = auth_of(section)?;
    let describe = format!("{name}:{}", path.trim_matches('/'));
    let backend = WebdavBackend::new(&url, path, auth, vendor, describe)?;
    Ok((backend, warnings))
}

impl WebdavBackend {
    /// The backend of `path` below `url`, as `vendor` keeps modification times.
    ///
    /// # Errors
    /// The HTTP client cannot be built.
    pub(super) fn new(
        url: &Url,
        path: &str,
        auth: Auth,
        vendor: &str,
        describe: String,
    ) -> Result<WebdavBackend> {
        Ok(WebdavBackend {
            http: Client::new(url, path, auth, describe)?,
            keeps_mtime: vendor_keeps_mtime(vendor),
            dirs: Mutex::default(),
            temps_seen: Mutex::default(),
        })
    }

    fn describe_path(&self, path: &str) -> String {
        format!("{}/{path}", self.http.describe().trim_end_matches('/'))
    }

    fn remember_dir(&self, dir: &str) {
        if let Ok(mut dirs) = self.dirs.lock() {
            dirs.insert(dir.to_owned());
        }
    }

    fn knows_dir(&self, dir: &str) -> bool {
        self.dirs.lock().is_ok_and(|d| d.contains(dir))
    }

    fn forget_dir(&self, dir: &str) {
        if let Ok(mut dirs) = self.dirs.lock() {
            dirs.retain(|d| d != dir && !d.starts_with(&format!("{dir}/")));
        }
    }

    /// PROPFIND of `path` at `depth` (0 or 1): the entries (the path itself included), or
    /// `None` when nothing is there.
    async fn propfind(&self, path: &str, depth: u8, dir: bool) -> Result<Option<Vec<Found>>> {
        let what = format!("cannot list {}", self.describe_path(path));
        let url = self.http.url(path, dir);
        let method = Method::from_bytes(b"PROPFIND").map_err(|e| anyhow!("{e}"))?;
        let resp = self
            .http
            .send(
                || {
                    self.http
                        .request(method.clone(), &url)
                        .header("Depth", depth.to_string())
                        .header(CONTENT_TYPE, "application/xml; charset=utf-8")
                        .body(PROPFIND_BODY)
                },
                &what,
            )
            .await?;
        let status = resp.status();
        if status == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        if status != StatusCode::MULTI_STATUS && !status.is_success() {
            return Err(status_error(&what, status));
        }
        let body = resp.text().await.map_err(|e| self.http.failed(e, &what))?;
        let found = parse_multistatus(&body, self.http.root_path())
            .map_err(|why| anyhow!("{what}: {why}"))?;
        Ok(Some(found))
    }

    /// Lists one folder: its entries (not itself), or `None` when it is missing or a file.
    async fn list_one(&self, dir: &str) -> Result<Option<Vec<Entry>>> {
        let Some(found) = self.propfind(dir, 1, true).await? else {
            return Ok(None);
        };
        let mut out = Vec::new();
        let mut is_dir = false;
        for item in found {
            if item.path == dir {
                is_dir = item.is_dir;
                continue;
            }
            let Some(rel) = (if dir.is_empty() {
                Some(item.path.as_str())
            } else {
                item.path
                    .strip_prefix(dir)
                    .and_then(|r| r.strip_prefix('/'))
            }) else {
                continue;
            };
            if rel.is_empty() || rel.contains('/') {
                continue;
            }
            if !item.is_dir && is_temp_name(rel) {
                if item
                    .mtime
                    .and_then(|t| SystemTime::now().duration_since(t).ok())
                    .is_some_and(|age| age > STALE_AFTER)
                {
                    if let Ok(mut seen) = self.temps_seen.lock() {
                        seen.push(item.path.clone());
                    }
                }
                continue;
            }
            out.push(item.into_entry());
        }
        if !is_dir {
            return Ok(None);
        }
        self.remember_dir(dir);
        out.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(Some(out))
    }

    /// Makes `dir` and its missing parents: MKCOL, and on 409 (a parent is missing) the
    /// parent first; above the root, the folders between the section's `url` and the root.
    async fn make_dir(&self, dir: &str) -> Result<()> {
        if self.knows_dir(dir) {
            return Ok(());
        }
        // The folders from `dir` up to the first that exists, made top down.
        let mut missing = vec![dir.to_owned()];
        while let Some(last) = missing.last() {
            match self.mkcol(&self.http.url(last, true), last).await? {
                Made::Created | Made::Exists => {
                    let done = missing.pop().unwrap_or_default();
                    self.remember_dir(&done);
                }
                Made::ParentMissing if last.is_empty() => self.make_root().await?,
                Made::ParentMissing => {
                    let parent = last.rsplit_once('/').map_or("", |(p, _)| p).to_owned();
                    if self.knows_dir(&parent) {
                        bail!(
                            "cannot create {}: the server says its parent is missing",
                            self.describe_path(last)
                        );
                    }
                    missing.push(parent);
                }
            }
        }
        Ok(())
    }

    /// Makes the folders between the section's `url` and the root (not the root itself).
    async fn make_root(&self) -> Result<()> {
        let chain = self.http.root_chain();
        for url in chain
            .get(..chain.len().saturating_sub(1))
            .unwrap_or_default()
        {
            if let Made::ParentMissing = self.mkcol(url, "").await? {
                bail!(
                    "cannot create {}: the folder of the section's url is missing on the server",
                    self.http.describe()
                );
            }
        }
        if chain.is_empty() {
            bail!(
                "cannot write to {}: the folder of the section's url is missing on the server",
                self.http.describe()
            );
        }
        Ok(())
    }

    async fn mkcol(&self, url: &str, dir: &str) -> Result<Made> {
        let what = format!("cannot create the folder {}", self.describe_path(dir));
        let method = Method::from_bytes(b"MKCOL").map_err(|e| anyhow!("{e}"))?;
        let resp = self
            .http
            .send(|| self.http.request(method.clone(), url), &what)
            .await?;
        match resp.status() {
            s if s.is_success() => Ok(Made::Created),
            // Already there (a folder, or a file: the PUT into it fails then, naming it).
            StatusCode::METHOD_NOT_ALLOWED => Ok(Made::Exists),
            StatusCode::CONFLICT | StatusCode::NOT_FOUND => Ok(Made::ParentMissing),
            s => Err(status_error(&what, s)),
        }
    }

    /// MOVE of `from` to `to` (both paths below the root), replacing what is there.
    async fn move_file(&self, from: &str, to: &str) -> Result<()> {
        let what = format!("cannot move {} to {to}", self.describe_path(from));
        let src = self.http.url(from, false);
        let dest = self.http.url(to, false);
        let method = Method::from_bytes(b"MOVE").map_err(|e| anyhow!("{e}"))?;
        let resp = self
            .http
            .send(
                || {
                    self.http
                        .request(method.clone(), &src)
                        .header("Destination", dest.as_str())
                        .header("Overwrite", "T")
                },
                &what,
            )
            .await?;
        if !resp.status().is_success() {
            return Err(status_error(&what, resp.status()));
        }
        Ok(())
    }

    /// DELETE of a file or (with `dir`) a folder; a missing one is fine.
    async fn delete(&self, path: &str, dir: bool) -> Result<()> {
        let what = format!("cannot delete {}", self.describe_path(path));
        let url = self.http.url(path, dir);
        let resp = self
            .http
            .send(|| self.http.request(Method::DELETE, &url), &what)
            .await?;
        match resp.status() {
            s if s.is_success() || s == StatusCode::NOT_FOUND => Ok(()),
            s => Err(status_error(&what, s)),
        }
    }

    /// The PUT of a temporary file: streamed, with `X-OC-Mtime` when the vendor keeps it.
    async fn put_temp(&self, temp: &str, data: ByteStream, opts: PutOptions) -> Result<u64> {
        let what = format!("cannot write {}", self.describe_path(temp));
        let counted = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let counter = counted.clone();
        let stream = tokio_util::io::ReaderStream::with_capacity(data, UPLOAD_BUFFER).inspect_ok(
            move |chunk| {
                counter.fetch_add(chunk.len() as u64, std::sync::atomic::Ordering::Relaxed);
            },
        );
        let mut req = self
            .http
            .request(Method::PUT, &self.http.url(temp, false))
            .header(CONTENT_TYPE, "application/octet-stream")
            .body(reqwest::Body::wrap_stream(stream));
        if let Some(size) = opts.size {
            req = req.header(CONTENT_LENGTH, HeaderValue::from(size));
        }
        if let (true, Some(mtime)) = (self.keeps_mtime, opts.mtime) {
            req = req.header("X-OC-Mtime", unix_seconds(mtime).to_string());
        }
        self.http.alive()?;
        let resp = req.send().await.map_err(|e| self.http.failed(e, &what))?;
        if !resp.status().is_success() {
            return Err(status_error(&what, resp.status()));
        }
        let written = counted.load(std::sync::atomic::Ordering::Relaxed);
        if let Some(expected) = opts.size.filter(|s| *s != written) {
            bail!("{what}: expected {expected} bytes, the source gave {written}");
        }
        Ok(written)
    }
}

/// Bytes read from the caller's stream per chunk of an upload.
const UPLOAD_BUFFER: usize = 256 * 1024;

/// What a MKCOL found.
enum Made {
    Created,
    Exists,
    ParentMissing,
}

/// The properties a listing asks for.
const PROPFIND_BODY: &str = "<?xml version=\"1.0\" encoding=\"utf-8\" ?>\
<D:propfind xmlns:D=\"DAV:\"><D:prop><D:resourcetype/><D:getcontentlength/>\
<D:getlastmodified/></D:prop></D:propfind>";

/// Unix seconds of a time, as rclone sends `X-OC-Mtime` (whole seconds, rounded down).
fn unix_seconds(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        Err(before) => {
            let d = before.duration();
            let secs = i64::try_from(d.as_secs()).unwrap_or(i64::MAX);
            if d.subsec_nanos() > 0 {
                -secs - 1
            } else {
                -secs
            }
        }
    }
}

/// One `<D:response>` of a PROPFIND answer.
#[derive(Debug, Default, PartialEq, Eq)]
struct Found {
    /// Path below the root, Standard form, without trailing `/`.
    path: String,
    is_dir: bool,
    size: u64,
    mtime: Option<SystemTime>,
}

impl Found {
    fn into_entry(self) -> Entry {
        Entry {
            kind: if self.is_dir {
                EntryKind::Dir
            } else {
                EntryKind::File
            },
            size: if self.is_dir { 0 } else { self.size },
            mtime: self.mtime,
            path: self.path,
        }
    }
}

/// Parses an HTTP date (`getlastmodified`, `Last-Modified`: `Sun, 06 Nov 1994 08:49:37 GMT`).
pub(crate) fn parse_http_date(text: &str) -> Option<SystemTime> {
    let ts = jiff::fmt::rfc2822::parse(text.trim()).ok()?.timestamp();
    let secs = ts.as_second();
    if secs >= 0 {
        UNIX_EPOCH.checked_add(Duration::from_secs(secs.unsigned_abs()))
    } else {
        UNIX_EPOCH.checked_sub(Duration::from_secs(secs.unsigned_abs()))
    }
}

/// The path below the root of a listed href (a path or a full URL, percent-encoded), or
/// `None` when it is not below the root.
///
/// # Errors
/// A name below the root that maps to no file name.
pub(super) fn href_path(href: &str, root_path: &str) -> Result<Option<String>, String> {
    let path = match href.find("://") {
        Some(at) => {
            let after = href.get(at + 3..).unwrap_or_default();
            after.find('/').and_then(|i| after.get(i..)).unwrap_or("/")
        }
        None => href,
    };
    let path = path.split(['?', '#']).next().unwrap_or_default();
    // Servers encode differently: compare decoded segments.
    let segments = |p: &str| -> Vec<Vec<u8>> {
        p.split('/')
            .filter(|s| !s.is_empty())
            .map(|s| {
                encoding::from_url_segment(s)
                    .map_or_else(|_| s.as_bytes().to_vec(), String::into_bytes)
            })
            .collect()
    };
    let root = segments(root_path);
    let raw: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let decoded = segments(path);
    if decoded.len() < root.len() || decoded.get(..root.len()) != Some(&root[..]) {
        return Ok(None);
    }
    let mut names = Vec::new();
    for segment in raw.get(root.len()..).unwrap_or_default() {
        names.push(encoding::from_url_segment(segment)?);
    }
    Ok(Some(names.join("/")))
}

/// The text of an element, entities resolved.
pub(crate) fn push_text(out: &mut String, event: &Event<'_>) {
    match event {
        Event::Text(t) => out.push_str(&t.xml10_content()),
        Event::CData(c) => out.push_str(&c.xml10_content()),
        Event::GeneralRef(r) => match r.resolve_char_ref() {
            Ok(Some(c)) => out.push(c),
            _ => out.push_str(match &**r {
                "amp" => "&",
                "lt" => "<",
                "gt" => ">",
                "quot" => "\"",
                "apos" => "'",
                _ => "",
            }),
        },
        _ => {}
    }
}

/// Parses a PROPFIND answer (`207 Multi-Status`) into the entries below `root_path`.
///
/// # Errors
/// XML that does not parse, or a name that maps to no file name (one line).
fn parse_multistatus(body: &str, root_path: &str) -> Result<Vec<Found>, String> {
    let mut reader = quick_xml::Reader::from_str(body);
    let mut out = Vec::new();
    // The element whose text is being read, and the response being read.
    let mut text_of: Option<&'static str> = None;
    let mut text = String::new();
    let mut href = None::<String>;
    let mut props = Found::default();
    let mut ok_props: Option<Found> = None;
    let mut status = String::new();
    loop {
        let event = reader
            .read_event()
            .map_err(|e| format!("the server's answer is not XML: {e}"))?;
        match &event {
            Event::Start(e) | Event::Empty(e) => {
                let name = e.local_name();
                match name.as_ref() {
                    "response" => {
                        href = None;
                        ok_props = None;
                    }
                    "propstat" => {
                        props = Found::default();
                        status.clear();
                    }
                    "collection" => props.is_dir = true,
                    "href" | "getcontentlength" | "getlastmodified" | "status" => {
                        if matches!(event, Event::Start(_)) {
                            text_of = Some(match name.as_ref() {
                                "href" => "href",
                                "getcontentlength" => "size",
                                "getlastmodified" => "mtime",
                                _ => "status",
                            });
                            text.clear();
                        }
                    }
                    _ => {}
                }
            }
            Event::Text(_) | Event::CData(_) | Event::GeneralRef(_) if text_of.is_some() => {
                push_text(&mut text, &event);
            }
            Event::End(e) => match e.local_name().as_ref() {
                "href" | "getcontentlength" | "getlastmodified" | "status" => {
                    let value = text.trim();
                    match text_of.take() {
                        Some("href") if href.is_none() => href = Some(value.to_owned()),
                        Some("size") => props.size = value.parse().unwrap_or(0),
                        Some("mtime") => props.mtime = parse_http_date(value),
                        Some("status") => status = value.to_owned(),
                        _ => {}
                    }
                }
                "propstat" if status.split_whitespace().nth(1) == Some("200") => {
                    ok_props = Some(std::mem::take(&mut props));
                }
                "response" => {
                    let (Some(h), Some(mut found)) = (href.take(), ok_props.take()) else {
                        continue;
                    };
                    let Some(path) = href_path(&h, root_path)? else {
                        continue;
                    };
                    found.is_dir |= h.ends_with('/');
                    found.path = path;
                    out.push(found);
                }
                _ => {}
            },
            Event::Eof => break,
            _ => {}
        }
    }
    Ok(out)
}

#[async_trait]
impl Backend for WebdavBackend {
    fn describe(&self) -> String {
        self.http.describe().to_owned()
    }

    fn features(&self) -> Features {
        Features {
            mtime_in_listing: true,
            mtime_precision: if self.keeps_mtime {
                Duration::from_secs(1)
            } else {
                NO_MTIME_PRECISION
            },
            real_dirs: true,
            server_side_move: true,
            writable: true,
            small_files_at_once: true,
            walk_by_folder: true,
            // No limit assumed: WebDAV servers differ (Nextcloud and ownCloud keep names in
            // a database, SharePoint counts characters of the whole path), and a server that
            // refuses a name says so when the file is sent.
            max_segment: None,
            max_key: None,
        }
    }

    async fn list(&self, dir: &str, recursive: bool) -> Result<Option<Listing>> {
        let Some(top) = self.list_one(dir).await? else {
            return Ok(None);
        };
        if !recursive {
            return Ok(Some(Listing::of(top)));
        }
        let mut all: BTreeMap<String, Entry> = BTreeMap::new();
        let mut level: Vec<String> = top
            .iter()
            .filter(|e| e.is_dir())
            .map(|e| e.path.clone())
            .collect();
        all.extend(top.into_iter().map(|e| (e.path.clone(), e)));
        while !level.is_empty() {
            let listed: Vec<(String, Option<Vec<Entry>>)> = stream::iter(level)
                .map(|d| async move { self.list_one(&d).await.map(|l| (d, l)) })
                .buffer_unordered(LIST_CONCURRENCY)
                .try_collect()
                .await?;
            level = Vec::new();
            for (d, entries) in listed {
                let Some(entries) = entries else {
                    bail!(
                        "cannot list {}: it vanished while listing",
                        self.describe_path(&d)
                    );
                };
                level.extend(
                    entries
                        .iter()
                        .filter(|e| e.is_dir())
                        .map(|e| e.path.clone()),
                );
                all.extend(entries.into_iter().map(|e| (e.path.clone(), e)));
            }
        }
        Ok(Some(Listing::of(all.into_values().collect())))
    }

    async fn stat(&self, path: &str) -> Result<Option<Entry>> {
        let Some(found) = self.propfind(path, 0, false).await? else {
            return Ok(None);
        };
        Ok(found
            .into_iter()
            .find(|f| f.path == path)
            .map(|f| f.into_entry()))
    }

    async fn open(&self, path: &str, range: Option<Range<u64>>) -> Result<ByteStream> {
        self.http.get(path, range).await
    }

    async fn put(&self, path: &str, data: ByteStream, opts: PutOptions) -> Result<u64> {
        let (parent, _) = path.rsplit_once('/').unwrap_or(("", path));
        if path.is_empty() {
            bail!("cannot write {}: not a file path", self.http.describe());
        }
        self.make_dir(parent).await?;
        let temp = if parent.is_empty() {
            temp_name()
        } else {
            format!("{parent}/{}", temp_name())
        };
        // Deletes the temporary file unless the MOVE took it (also when this future is
        // dropped mid-way: the delete then runs on its own).
        let mut guard = DeleteOnDrop {
            backend: Some((self.http.clone(), self.http.url(&temp, false))),
        };
        let written = self.put_temp(&temp, data, opts).await;
        let moved = match written {
            Ok(n) => self.move_file(&temp, path).await.map(|()| n),
            Err(e) => Err(e),
        };
        match moved {
            Ok(n) => {
                guard.backend = None;
                Ok(n)
            }
            Err(e) => {
                if let Some((http, url)) = guard.backend.take() {
                    if http.alive().is_ok() {
                        let _ = http.request(Method::DELETE, &url).send().await;
                    }
                }
                Err(e)
            }
        }
    }

    async fn remove(&self, path: &str) -> Result<()> {
        self.delete(path, false).await
    }

    async fn mkdir(&self, path: &str) -> Result<()> {
        self.make_dir(path).await
    }

    async fn rmdir(&self, path: &str) -> Result<()> {
        // A WebDAV DELETE of a folder deletes all it holds: only an empty one goes.
        match self.list_one(path).await? {
            None => Ok(()),
            Some(entries) if !entries.is_empty() => bail!(
                "cannot remove the folder {}: it is not empty",
                self.describe_path(path)
            ),
            Some(_) => {
                self.forget_dir(path);
                self.delete(path, true).await
            }
        }
    }

    async fn rename(&self, from: &str, to: &str) -> Result<()> {
        let (parent, _) = to.rsplit_once('/').unwrap_or(("", to));
        self.make_dir(parent).await?;
        self.move_file(from, to).await
    }

    async fn cleanup(&self) -> Result<usize> {
        let seen = match self.temps_seen.lock() {
            Ok(mut seen) => std::mem::take(&mut *seen),
            Err(_) => return Ok(0),
        };
        let mut removed = 0;
        for temp in seen {
            self.delete(&temp, false).await?;
            removed += 1;
        }
        Ok(removed)
    }
}

/// Deletes a temporary upload left behind when a `put` future is dropped mid-way.
struct DeleteOnDrop {
    backend: Option<(Client, String)>,
}

impl Drop for DeleteOnDrop {
    fn drop(&mut self) {
        if let Some((http, url)) = self.backend.take() {
            if let Ok(handle) = tokio::runtime::Handle::try_current() {
                handle.spawn(async move {
                    let _ = http.request(Method::DELETE, &url).send().await;
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::rclone::RcloneConfig;

    fn open_with(lines: &str) -> Result<(WebdavBackend, Vec<String>)> {
        let config = RcloneConfig::parse(&format!("[w]\ntype = webdav\n{lines}")).unwrap();
        open(config.section("w").unwrap(), "dir/sub")
    }

    #[test]
    fn sections_are_checked_in_one_line_each() {
        let err = |lines: &str| format!("{:#}", open_with(lines).err().unwrap());
        assert!(err("").contains("[w] has no `url =`"));
        assert!(err("url = ftp://x\n").contains("not an http"));
        assert!(err("url = http://x\nvendor = sharepoint\n").contains("not supported"));
        assert!(err("url = http://x\nvendor = acme\n").contains("not a vendor"));
        let clear = err("url = http://x\nvendor = rclone\nuser = u\npass = hunter2\n");
        assert!(!clear.contains("hunter2"), "{clear}");
        assert!(err("url = http://u:p@x/\nvendor = rclone\n").contains("not in the URL"));
    }

    #[test]
    fn vendors_set_the_precision_and_ignored_keys_warn_once() {
        let (b, warnings) = open_with(
            "url = http://127.0.0.1:1/dav/\nvendor = nextcloud\nheaders = Cookie,secret\nnextcloud_chunk_size = 0\n",
        )
        .unwrap();
        assert_eq!(b.describe(), "w:dir/sub");
        assert_eq!(b.features().mtime_precision, Duration::from_secs(1));
        assert_eq!(
            warnings,
            [
                "[w] headers = ... is ignored: extra headers are not sent",
                "[w] nextcloud_chunk_size = 0 is ignored: uploads are one streamed PUT, never chunked",
            ]
        );
        assert_eq!(
            b.http.url("a b/c", false),
            "http://127.0.0.1:1/dav/dir/sub/a%20b/c"
        );
        let (other, warnings) = open_with("url = http://h/\n").unwrap();
        assert_eq!(other.features().mtime_precision, NO_MTIME_PRECISION);
        assert_eq!(warnings.len(), 1, "{warnings:?}");
    }

    #[test]
    fn multistatus_is_parsed_below_the_root() {
        let body = r#"<?xml version="1.0" encoding="UTF-8"?><D:multistatus xmlns:D="DAV:">
<D:response><D:href>/dav/r/</D:href><D:propstat><D:prop><D:resourcetype><D:collection/></D:resourcetype>
<D:getlastmodified>Sun, 29 Nov 2026 13:57:04 GMT</D:getlastmodified></D:prop><D:status>HTTP/1.1 200 OK</D:status></D:propstat></D:response>
<D:response><D:href>http://h/dav/r/a%20b%26c.txt</D:href><D:propstat><D:prop><D:resourcetype/><D:getcontentlength>12</D:getcontentlength>
<D:getlastmodified>Thu, 02 Jan 2020 03:04:05 GMT</D:getlastmodified></D:prop><D:status>HTTP/1.1 200 OK</D:status></D:propstat>
<D:propstat><D:prop><D:quota/></D:prop><D:status>HTTP/1.1 404 Not Found</D:status></D:propstat></D:response>
<D:response><D:href>/dav/r/sub%2f/</D:href><D:propstat><D:prop><D:resourcetype><D:collection/></D:resourcetype></D:prop><D:status>HTTP/1.1 200 OK</D:status></D:propstat></D:response>
</D:multistatus>"#;
        assert!(
            parse_multistatus(body, "/dav/r/").is_err(),
            "a name with '/'"
        );
        let body = body.replace("sub%2f", "s&amp;ub");
        let found = parse_multistatus(&body, "/dav/r/").unwrap();
        let paths: Vec<(&str, bool, u64)> = found
            .iter()
            .map(|f| (f.path.as_str(), f.is_dir, f.size))
            .collect();
        assert_eq!(
            paths,
            [("", true, 0), ("a b&c.txt", false, 12), ("s&ub", true, 0)]
        );
        assert_eq!(
            found[1].mtime,
            Some(UNIX_EPOCH + Duration::from_secs(1_577_934_245))
        );
    }

    #[test]
    fn mtime_header_is_whole_seconds_rounded_down() {
        assert_eq!(unix_seconds(UNIX_EPOCH + Duration::new(5, 900)), 5);
        assert_eq!(unix_seconds(UNIX_EPOCH - Duration::new(5, 1)), -6);
    }
}
