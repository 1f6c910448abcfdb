//! The `type = http` storage type (a read-only web server's index pages), and the HTTP
//! plumbing it shares with [`super::webdav`]: one reqwest client per remote, its
//! authentication, deadlines, retries, and ranged downloads.
//!
//! [`Client`] is rooted at a URL (the section's `url` and the path below it) and turns poof's
//! paths (rclone's Standard form) into percent-encoded URLs ([`super::encoding::to_url_path`]).
//! Every request gets the section's credentials (basic or bearer, never printed), a connect and
//! a read deadline (`POOF_S3_TIMEOUT_SECS` sets both, as for object stores), and requests
//! without a body are retried a few times on a refused connection, a timeout or a 5xx answer.
//! A request that still cannot reach the server marks it unreachable: every later request of
//! the run fails at once with one line, so a dead server ends a run quickly and, since the
//! errors count, nothing is deleted.
//!
//! Not OpenDAL: its `http` and `webdav` services cannot send rclone's `X-OC-Mtime` nor stream
//! an upload (its WebDAV writer buffers whole files), and poof needs rclone's own listing
//! rules; reqwest is the client OpenDAL's transport already builds, with the same features
//! (rustls, the ring provider) plus `stream`.

use std::io;
use std::ops::Range;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{anyhow, bail, Result};
use async_trait::async_trait;
use futures::stream::{self, StreamExt, TryStreamExt};
use reqwest::{Method, RequestBuilder, Response, StatusCode, Url};
use tokio::io::AsyncReadExt;
use zeroize::Zeroizing;

use super::backend::{Backend, ByteStream, Entry, EntryKind, Features, Listing, PutOptions};
use super::encoding;
use super::opendal::Timeouts;
use super::{Below, StorageType};
use crate::config::rclone::Section;
use crate::exit::{Code, WithCode};

/// How a request proves who sends it.
#[derive(Clone)]
pub(super) enum Auth {
    /// Anonymous.
    None,
    /// HTTP basic authentication.
    Basic {
        /// The user.
        user: String,
        /// The password, revealed from its obscured form.
        pass: Arc<Zeroizing<String>>,
    },
    /// `Authorization: Bearer <token>`.
    Bearer(Arc<Zeroizing<String>>),
}

/// Attempts of a request without a body before its error is returned.
const ATTEMPTS: u32 = 3;

/// First wait between two attempts; each later one doubles.
const RETRY_DELAY: Duration = Duration::from_millis(300);

/// An HTTP server rooted at a URL.
#[derive(Clone)]
pub(super) struct Client {
    client: reqwest::Client,
    /// `scheme://host[:port]` and the percent-encoded path of the root, ending with `/`.
    root: String,
    /// The percent-encoded path of the root alone (listings' hrefs are compared with it).
    root_path: String,
    /// The URLs of the folders from the section's `url` down to the root, shallowest first
    /// (the root last), each ending with `/`.
    root_chain: Vec<String>,
    auth: Auth,
    /// What [`super::backend::Backend::describe`] returns.
    describe: String,
    /// Set once a request could not reach the server ([`Client::alive`]).
    unreachable: Arc<AtomicBool>,
}

/// Parses a section's `url` and checks it is an http(s) URL.
///
/// # Errors
/// One line naming the section (a URL holds no secret but its user info, which is refused).
pub(super) fn parse_url(section: &str, text: &str) -> Result<Url> {
    let text = text.trim();
    if text.is_empty() {
        bail!("[{section}] has no `url =`: the address of the server");
    }
    let url =
        Url::parse(text).map_err(|e| anyhow!("[{section}] url: not a URL ({e}): {text:?}"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        bail!("[{section}] url = {text:?}: not an http:// or https:// address");
    }
    if !url.username().is_empty() || url.password().is_some() {
        bail!(
            "[{section}] url: put the user and password in `user =` and `pass =`, not in the URL"
        );
    }
    Ok(url)
}

impl Client {
    /// A client for `path` (Standard form) below `url`, described as `describe`.
    ///
    /// # Errors
    /// The HTTP client cannot be built, or the deadline variable does not parse.
    pub(super) fn new(url: &Url, path: &str, auth: Auth, describe: String) -> Result<Client> {
        // `main` installs it too; here it also covers tests. An error means one is installed.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let timeouts = Timeouts::from_env(0, 1)?;
        let client = reqwest::Client::builder()
            .connect_timeout(timeouts.request)
            .read_timeout(timeouts.request)
            .build()
            .map_err(|e| anyhow!("{describe}: cannot set up the HTTP client: {e}"))?;
        let base = url.path().trim_end_matches('/');
        let below = encoding::to_url_path(path.trim_matches('/'));
        let root_path = if below.is_empty() {
            format!("{base}/")
        } else {
            format!("{base}/{below}/")
        };
        let origin = url.origin().ascii_serialization();
        let mut root_chain = Vec::new();
        let mut at = format!("{origin}{base}/");
        for segment in below.split('/').filter(|s| !s.is_empty()) {
            at = format!("{at}{segment}/");
            root_chain.push(at.clone());
        }
        Ok(Client {
            root_chain,
            client,
            root: format!("{origin}{root_path}"),
            root_path,
            auth,
            describe,
            unreachable: Arc::default(),
        })
    }

    /// What the backend describes itself as.
    pub(super) fn describe(&self) -> &str {
        &self.describe
    }

    /// The percent-encoded path of the root, starting and ending with `/`.
    pub(super) fn root_path(&self) -> &str {
        &self.root_path
    }

    /// The URLs of the folders from the section's `url` (left out) down to the root,
    /// shallowest first: what must exist before anything is written below the root.
    pub(super) fn root_chain(&self) -> &[String] {
        &self.root_chain
    }

    /// The URL of a path below the root (a folder's with a trailing `/` when `dir`).
    pub(super) fn url(&self, path: &str, dir: bool) -> String {
        let mut url = format!("{}{}", self.root, encoding::to_url_path(path));
        if dir && !url.ends_with('/') {
            url.push('/');
        }
        url
    }

    /// A request with the credentials.
    pub(super) fn request(&self, method: Method, url: &str) -> RequestBuilder {
        let req = self.client.request(method, url);
        match &self.auth {
            Auth::None => req,
            Auth::Basic { user, pass } => req.basic_auth(user, Some(pass.as_str())),
            Auth::Bearer(token) => req.bearer_auth(token.as_str()),
        }
    }

    /// Fails at once when an earlier request could not reach the server.
    ///
    /// # Errors
    /// The server is known to be unreachable.
    pub(super) fn alive(&self) -> Result<()> {
        if self.unreachable.load(Ordering::Relaxed) {
            return Err(anyhow!(
                "{}: giving up: the server did not answer an earlier request",
                self.describe
            ))
            .coded(Code::Unreachable);
        }
        Ok(())
    }

    /// Sends a request (built afresh for each attempt, so without a streamed body), retrying
    /// on a refused connection, a timeout, 429 or 5xx. `what` says what failed ("cannot list
    /// x"). The answer may still be an error status: [`status_error`] words it.
    ///
    /// # Errors
    /// The server cannot be reached after [`ATTEMPTS`] attempts (then it is marked
    /// unreachable), or the request cannot be sent.
    pub(super) async fn send(
        &self,
        build: impl Fn() -> RequestBuilder,
        what: &str,
    ) -> Result<Response> {
        self.alive()?;
        let mut delay = RETRY_DELAY;
        let mut attempt = 1;
        loop {
            let last = attempt >= ATTEMPTS;
            match build().send().await {
                Ok(resp) if last || !retryable(resp.status()) => return Ok(resp),
                Ok(_) => {}
                Err(err) if last || !(err.is_connect() || err.is_timeout()) => {
                    return Err(self.failed(err, what));
                }
                Err(_) => {}
            }
            tokio::time::sleep(delay).await;
            delay *= 2;
            attempt += 1;
        }
    }

    /// The error of a request that could not be sent or answered; a refused connection or a
    /// timeout marks the server unreachable.
    pub(super) fn failed(&self, err: reqwest::Error, what: &str) -> anyhow::Error {
        if err.is_connect() || err.is_timeout() {
            self.unreachable.store(true, Ordering::Relaxed);
            let why = if err.is_timeout() {
                "the server did not answer in time"
            } else {
                "cannot connect to the server"
            };
            let err = anyhow!("{what}: {why} ({})", without_url(&err));
            return crate::exit::mark(Code::Unreachable, err);
        }
        anyhow!("{what}: {}", without_url(&err))
    }

    /// A request without a body to `path` (a folder's URL when `dir`): the answer, `None` on
    /// 404.
    ///
    /// # Errors
    /// As [`Client::send`], or an error status ([`status_error`]).
    pub(super) async fn fetch(
        &self,
        method: Method,
        path: &str,
        dir: bool,
        what: &str,
    ) -> Result<Option<Response>> {
        let url = self.url(path, dir);
        let resp = self
            .send(|| self.request(method.clone(), &url), what)
            .await?;
        match resp.status() {
            StatusCode::NOT_FOUND => Ok(None),
            s if s.is_success() => Ok(Some(resp)),
            s => Err(status_error(what, s)),
        }
    }

    /// Reads a file, whole or a byte range of it, as a stream (a server that ignores the
    /// range is read from the start and skipped).
    ///
    /// # Errors
    /// The server cannot be reached or answers with an error (404 says "not found").
    pub(super) async fn get(&self, path: &str, range: Option<Range<u64>>) -> Result<ByteStream> {
        let what = format!("cannot read {}/{path}", self.describe);
        if range.as_ref().is_some_and(|r| r.start >= r.end) {
            return Ok(Box::pin(tokio::io::empty()));
        }
        let url = self.url(path, false);
        let resp = self
            .send(
                || {
                    let req = self.request(Method::GET, &url);
                    match &range {
                        Some(r) => req.header(
                            reqwest::header::RANGE,
                            format!("bytes={}-{}", r.start, r.end - 1),
                        ),
                        None => req,
                    }
                },
                &what,
            )
            .await?;
        let status = resp.status();
        if status == StatusCode::RANGE_NOT_SATISFIABLE {
            return Ok(Box::pin(tokio::io::empty()));
        }
        if !status.is_success() {
            return Err(status_error(&what, status));
        }
        let unreachable = self.unreachable.clone();
        let stream = resp.bytes_stream().map_err(move |err| {
            if err.is_timeout() {
                unreachable.store(true, Ordering::Relaxed);
            }
            io::Error::other(without_url(&err))
        });
        let mut reader: ByteStream = Box::pin(tokio_util::io::StreamReader::new(stream));
        let Some(r) = range else {
            return Ok(reader);
        };
        if status != StatusCode::PARTIAL_CONTENT && r.start > 0 {
            tokio::io::copy(&mut (&mut reader).take(r.start), &mut tokio::io::sink())
                .await
                .map_err(|e| anyhow!("{what}: {e}"))?;
        }
        Ok(Box::pin(reader.take(r.end - r.start)))
    }
}

/// A reqwest error's message without the URL it names (the URL holds no secret, but it
/// repeats the path the caller names already), with its causes.
fn without_url(err: &reqwest::Error) -> String {
    let mut text = err.to_string();
    if let Some(url) = err.url() {
        text = text.replace(&format!(" for url ({url})"), "");
    }
    let mut cause = std::error::Error::source(err);
    while let Some(c) = cause {
        text.push_str(": ");
        text.push_str(&c.to_string());
        cause = c.source();
    }
    text
}

/// True for answers worth another attempt: throttling and server errors.
fn retryable(status: StatusCode) -> bool {
    status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error()
}

/// The one-line error of an answer with an error status.
pub(super) fn status_error(what: &str, status: StatusCode) -> anyhow::Error {
    let hint = match status {
        StatusCode::UNAUTHORIZED => " (check `user`, `pass` or `bearer_token`)",
        StatusCode::FORBIDDEN => " (the server refuses this account)",
        StatusCode::NOT_FOUND => " (not found)",
        _ => "",
    };
    anyhow!("{what}: the server answered {status}{hint}")
}

/// Options of an rclone http section poof does not honour, with the reason in the warning.
pub const IGNORED_OPTIONS: &[(&str, &str)] = &[
    ("headers", "extra headers are not sent"),
    ("no_slash", "only links ending with / are folders"),
    ("no_head", "sizes and times come from a HEAD per file"),
    ("no_escape", "names are percent-encoded in URLs"),
];

/// Files whose HEAD requests a listing sends at once.
pub const HEAD_CONCURRENCY: usize = 8;

/// The `http` line of [`super::TYPES`]: `name:path` below the section's `url`, read-only.
pub const TYPE: StorageType = StorageType {
    name: "http",
    open: |resolver, section, path| resolver.opened(open(section, path)),
    below: |_, _| Below::Elsewhere,
    is_crypt: false,
};

/// A web server's folder, read from its index pages as rclone's http backend reads it:
/// the links of a folder's page that name a file or folder directly below it (folders end
/// with `/`), with each file's size and `Last-Modified` from a HEAD request. Read-only: every
/// write is refused with one line before anything is sent.
pub struct HttpBackend {
    http: Client,
}

/// Builds the backend of `name:path` from its `type = http` section, and the warnings to
/// print once.
///
/// # Errors
/// No or a bad `url` (one line naming the section).
pub fn open(section: &Section, path: &str) -> Result<(HttpBackend, Vec<String>)> {
    let name = section.name();
    let url = parse_url(name, section.get("url").unwrap_or_default())?;
    let warnings = ignored(section, IGNORED_OPTIONS);
    let describe = format!("{name}:{}", path.trim_matches('/'));
    let http = Client::new(&url, path, Auth::None, describe)?;
    Ok((HttpBackend { http }, warnings))
}

/// The `href` values of the `<a>` tags of an HTML page, entities resolved.
fn links(page: &str) -> Vec<String> {
    let mut out = Vec::new();
    let lower = page.to_ascii_lowercase();
    let mut at = 0;
    while let Some(found) = lower.get(at..).and_then(|r| r.find("<a")) {
        let start = at + found + 2;
        at = start;
        if !lower
            .get(start..)
            .and_then(|r| r.chars().next())
            .is_some_and(char::is_whitespace)
        {
            continue;
        }
        let end = lower
            .get(start..)
            .and_then(|r| r.find('>'))
            .map_or(lower.len(), |e| start + e);
        let tag = page.get(start..end).unwrap_or_default();
        let tag_lower = lower.get(start..end).unwrap_or_default();
        let mut from = 0;
        while let Some(h) = tag_lower.get(from..).and_then(|r| r.find("href")) {
            let pos = from + h;
            from = pos + 4;
            // `xlink:href`, `data-href`: not the link itself.
            if pos > 0
                && !tag_lower
                    .as_bytes()
                    .get(pos - 1)
                    .is_some_and(u8::is_ascii_whitespace)
            {
                continue;
            }
            let rest = tag.get(pos + 4..).unwrap_or_default().trim_start();
            let Some(rest) = rest.strip_prefix('=') else {
                continue;
            };
            let rest = rest.trim_start();
            let value = match rest.chars().next() {
                Some(q @ ('"' | '\'')) => rest.get(1..).and_then(|r| r.split(q).next()),
                Some(_) => rest.split(char::is_whitespace).next(),
                None => None,
            };
            if let Some(value) = value {
                out.push(html_unescape(value));
            }
            break;
        }
        at = end;
    }
    out
}

/// Resolves the HTML entities of an attribute value (`&amp;`, `&#39;`, `&#x27;`...).
fn html_unescape(text: &str) -> String {
    if !text.contains('&') {
        return text.to_owned();
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find('&') {
        out.push_str(rest.get(..i).unwrap_or_default());
        let after = rest.get(i + 1..).unwrap_or_default();
        let entity = after
            .find(';')
            .and_then(|e| after.get(..e).map(|name| (name, e)));
        let decoded = entity.and_then(|(name, e)| {
            let c = match name {
                "amp" => Some('&'),
                "lt" => Some('<'),
                "gt" => Some('>'),
                "quot" => Some('"'),
                "apos" => Some('\''),
                _ => name
                    .strip_prefix("#x")
                    .or_else(|| name.strip_prefix("#X"))
                    .and_then(|h| u32::from_str_radix(h, 16).ok())
                    .or_else(|| name.strip_prefix('#').and_then(|d| d.parse().ok()))
                    .and_then(char::from_u32),
            };
            c.map(|c| (c, e))
        });
        match decoded {
            Some((c, e)) => {
                out.push(c);
                rest = after.get(e + 1..).unwrap_or_default();
            }
            None => {
                out.push('&');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// The entries a folder's page links to: `(name, is_dir)` of each link that resolves to a
/// file or folder directly below the page's path (`page_path`, percent-encoded, ending with
/// `/`). Links with a query, to other hosts, to parents or deeper are left out.
///
/// # Errors
/// A link whose name maps to no file name.
fn children(page: &str, page_path: &str) -> Result<Vec<(String, bool)>, String> {
    let mut out = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for link in links(page) {
        if link.contains('?') || link.starts_with('#') {
            continue;
        }
        let link = link.split('#').next().unwrap_or_default();
        let rel = if let Some(at) = link.find("://") {
            let after = link.get(at + 3..).unwrap_or_default();
            let path = after.find('/').and_then(|i| after.get(i..)).unwrap_or("/");
            path.strip_prefix(page_path)
        } else if link.starts_with('/') {
            link.strip_prefix(page_path)
        } else {
            Some(link.strip_prefix("./").unwrap_or(link))
        };
        let Some(rel) = rel else {
            continue;
        };
        let (name, is_dir) = match rel.strip_suffix('/') {
            Some(dir) => (dir, true),
            None => (rel, false),
        };
        if name.is_empty() || name.contains('/') || name == "." || name == ".." {
            continue;
        }
        let name = super::encoding::from_url_segment(name)?;
        if seen.insert(name.clone()) {
            out.push((name, is_dir));
        }
    }
    Ok(out)
}

/// One warning per option of `options` set in the section (headers' values, which may hold
/// credentials, and secrets are not shown).
pub(super) fn ignored(section: &Section, options: &[(&str, &str)]) -> Vec<String> {
    let name = section.name();
    let mut warnings = Vec::new();
    for (key, why) in options {
        if let Some(value) = section.get(key).map(str::trim).filter(|v| !v.is_empty()) {
            let shown = if crate::config::rclone::is_secret_key(key) || *key == "headers" {
                "..."
            } else {
                value
            };
            warnings.push(format!("[{name}] {key} = {shown} is ignored: {why}"));
        }
    }
    warnings
}

/// The error of every write to an http remote.
fn read_only(describe: &str, what: &str, path: &str) -> anyhow::Error {
    anyhow!("{describe}: cannot {what} {path}: http remotes are read-only")
}

impl HttpBackend {
    /// HEAD of a file: its size and `Last-Modified`, or `None` when it is not there.
    async fn head(&self, path: &str) -> Result<Option<Entry>> {
        let what = format!("cannot read {}/{path}", self.http.describe());
        let Some(resp) = self.http.fetch(Method::HEAD, path, false, &what).await? else {
            return Ok(None);
        };
        let header = |name| {
            resp.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        Ok(Some(Entry {
            path: path.to_owned(),
            kind: EntryKind::File,
            size: header(reqwest::header::CONTENT_LENGTH)
                .and_then(|v| v.parse().ok())
                .unwrap_or(0),
            mtime: header(reqwest::header::LAST_MODIFIED)
                .as_deref()
                .and_then(super::webdav::parse_http_date),
        }))
    }

    /// Lists one folder's page, or `None` when it is missing or not a folder.
    async fn list_one(&self, dir: &str) -> Result<Option<Vec<Entry>>> {
        let what = format!("cannot list {}/{dir}", self.http.describe());
        let Some(resp) = self.http.fetch(Method::GET, dir, true, &what).await? else {
            return Ok(None);
        };
        let page = resp.text().await.map_err(|e| self.http.failed(e, &what))?;
        let page_path = format!(
            "{}{}",
            self.http.root_path(),
            if dir.is_empty() {
                String::new()
            } else {
                format!("{}/", super::encoding::to_url_path(dir))
            }
        );
        let found = children(&page, &page_path).map_err(|why| anyhow!("{what}: {why}"))?;
        let join = |name: &str| {
            if dir.is_empty() {
                name.to_owned()
            } else {
                format!("{dir}/{name}")
            }
        };
        let entries: Vec<Entry> = stream::iter(found)
            .map(|(name, is_dir)| {
                let path = join(&name);
                async move {
                    if is_dir {
                        return Ok(Some(Entry {
                            path,
                            kind: EntryKind::Dir,
                            size: 0,
                            mtime: None,
                        }));
                    }
                    self.head(&path).await
                }
            })
            .buffered(HEAD_CONCURRENCY)
            .try_filter_map(|e| async move { Ok(e) })
            .try_collect()
            .await?;
        Ok(Some(entries))
    }
}

#[async_trait]
impl Backend for HttpBackend {
    fn describe(&self) -> String {
        self.http.describe().to_owned()
    }

    fn features(&self) -> Features {
        Features {
            mtime_in_listing: true,
            mtime_precision: Duration::from_secs(1),
            real_dirs: true,
            server_side_move: false,
            writable: false,
            small_files_at_once: true,
            walk_by_folder: true,
            // Never written.
            max_segment: None,
            max_key: None,
        }
    }

    async fn list(&self, dir: &str, recursive: bool) -> Result<Option<Listing>> {
        let Some(top) = self.list_one(dir).await? else {
            return Ok(None);
        };
        let mut all = std::collections::BTreeMap::new();
        let mut queue: Vec<String> = Vec::new();
        for entry in top {
            if recursive && entry.is_dir() {
                queue.push(entry.path.clone());
            }
            all.insert(entry.path.clone(), entry);
        }
        while let Some(next) = queue.pop() {
            let Some(entries) = self.list_one(&next).await? else {
                bail!(
                    "cannot list {}/{next}: it vanished while listing",
                    self.http.describe()
                );
            };
            for entry in entries {
                if entry.is_dir() {
                    queue.push(entry.path.clone());
                }
                all.insert(entry.path.clone(), entry);
            }
        }
        Ok(Some(Listing::of(all.into_values().collect())))
    }

    async fn stat(&self, path: &str) -> Result<Option<Entry>> {
        if let Some(file) = self.head(path).await? {
            return Ok(Some(file));
        }
        Ok(self.list_one(path).await?.map(|_| Entry {
            path: path.to_owned(),
            kind: EntryKind::Dir,
            size: 0,
            mtime: None,
        }))
    }

    async fn open(&self, path: &str, range: Option<Range<u64>>) -> Result<ByteStream> {
        self.http.get(path, range).await
    }

    async fn put(&self, path: &str, _data: ByteStream, _opts: PutOptions) -> Result<u64> {
        Err(read_only(self.http.describe(), "write", path))
    }

    fn write_whole(&self, path: &str, _data: Vec<u8>, _opts: PutOptions) -> Result<u64> {
        Err(read_only(self.http.describe(), "write", path))
    }

    async fn remove(&self, path: &str) -> Result<()> {
        Err(read_only(self.http.describe(), "delete", path))
    }

    async fn mkdir(&self, path: &str) -> Result<()> {
        Err(read_only(self.http.describe(), "create the folder", path))
    }

    async fn rmdir(&self, path: &str) -> Result<()> {
        Err(read_only(self.http.describe(), "remove the folder", path))
    }

    async fn rename(&self, from: &str, to: &str) -> Result<()> {
        Err(read_only(
            self.http.describe(),
            &format!("move {from} to"),
            to,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_links_below_the_page_are_its_entries() {
        let page = r##"<a href="">/</a><a class="zip" href="?download=zip">z</a>
            <use xlink:href="#folder"></use><a href="..">up</a><a href="../x">x</a>
            <A HREF='sub/'>sub/</A> <a href="a%20b&amp;c.txt">a b</a>
            <a href="/srv/p/abs.txt">abs</a><a href="/elsewhere/x">no</a>
            <a href="http://h/srv/p/full/">full</a><a href="deep/er.txt">deep</a>
            <a data-href="no" href="./dot.txt">dot</a><a href="sub/">again</a>"##;
        let found = children(page, "/srv/p/").unwrap();
        let expect: Vec<(String, bool)> = [
            ("sub", true),
            ("a b&c.txt", false),
            ("abs.txt", false),
            ("full", true),
            ("dot.txt", false),
        ]
        .iter()
        .map(|(n, d)| ((*n).to_owned(), *d))
        .collect();
        assert_eq!(found, expect);
        assert_eq!(html_unescape("a&#39;b&#x26;c&bogus"), "a'b&c&bogus");
    }
}
