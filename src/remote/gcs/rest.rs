//! The two GCS JSON API requests poof sends itself, where OpenDAL's GCS service leaves a gap
//! rclone users would notice:
//!
//! - **Large uploads, streamed.** OpenDAL sends an object of more than one part either as an
//!   XML multipart upload, whose object keeps no MD5 (`rclone cryptcheck` could not check it,
//!   and GCS emulators do not offer it), or, when the upload is conditional, as a resumable
//!   upload that holds two parts in memory and copies them before each request, with the next
//!   part read only once the previous one is sent. [`GcsRest::upload`] sends one resumable
//!   upload, as rclone does, in parts of `chunk_size` (16 MiB by default, as rclone's; a
//!   multiple of 256 KiB), one part in memory, its buffer reused for the next. A part that
//!   fails is sent again from the byte GCS says it has, after asking it. Until the
//!   last part arrives, GCS holds no object under the name, so an interrupted upload leaves
//!   nothing partial (its session expires on its own; poof cancels it when it can).
//! - **Listings with metadata.** OpenDAL lists objects without their metadata, so each file's
//!   modification time (rclone's `mtime` metadata) would cost a GET of the object's metadata.
//!   The JSON API's listing returns the metadata with the names, 1,000 objects per request, as
//!   rclone lists ([`GcsRest::list`]).
//!
//! Requests are signed as OpenDAL signs its own, by the same crate (reqsign's Google signer)
//! from the same credentials: a service account's JSON key (a file or the JSON itself), or with
//! `env_auth` Google's default credential chain; `anonymous` requests go unsigned. The parts of
//! a resumable upload go to its session URI, which GCS authorises by itself.

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::{anyhow, bail, Context as _, Result};
use bytes::{Bytes, BytesMut};
use reqsign_core::{Context, OsEnv, Signer};
use reqsign_google::{
    Credential, DefaultCredentialProvider, FileCredentialProvider, RequestSigner,
    StaticCredentialProvider,
};
use reqwest::{Method, StatusCode, Url};
use serde::Deserialize;

use crate::remote::backend::ByteStream;
use crate::remote::opendal::{
    fill, parse_rfc3339_mtime, ListedObject, ObjectExtras, Timeouts, RETRY_MAX_DELAY,
    RETRY_MAX_TIMES, RETRY_MIN_DELAY,
};
use crate::remote::signed::{request_error, request_failed, retried, retryable, Transport};

/// The OAuth scope of poof's tokens (OpenDAL's and rclone's default: read and write objects).
const SCOPE: &str = "https://www.googleapis.com/auth/devstorage.read_write";
/// Parts of a resumable upload, except the last, are multiples of this size.
pub const QUANTUM: usize = 256 * 1024;
/// GCS's answer to a part of a resumable upload it took, before the last.
const RESUME_INCOMPLETE: u16 = 308;

/// How poof's own requests are authorised: the credentials OpenDAL is given.
pub enum Auth<'a> {
    /// Unsigned requests (`anonymous = true`).
    Anonymous,
    /// A service account's JSON key in a file (`service_account_file`).
    KeyFile(&'a str),
    /// A service account's JSON key itself (`service_account_credentials`).
    KeyJson(&'a str),
    /// Google's default credential chain (`env_auth = true`).
    Environment,
}

/// Signed requests on the objects of one bucket.
#[derive(Debug)]
pub struct GcsRest {
    client: reqwest::Client,
    /// `<server>/storage/v1/b/<bucket>/o`: objects, their listing.
    objects: Url,
    /// `<server>/upload/storage/v1/b/<bucket>/o`: uploads.
    uploads: Url,
    /// The object name prefix of the remote's root (`""` or `dir/`).
    prefix: String,
    /// rclone's `object_acl`, as the `predefinedAcl` of each upload.
    acl: Option<String>,
    signer: Option<Signer<Credential>>,
    /// The deadline of a request that moves no contents.
    request: Duration,
}

/// One page of an objects listing (the fields poof asks for).
#[derive(Deserialize)]
struct ListPage {
    #[serde(default)]
    items: Vec<ListItem>,
    #[serde(default)]
    prefixes: Vec<String>,
    #[serde(default, rename = "nextPageToken")]
    next: Option<String>,
}

/// One object of a listing.
#[derive(Deserialize)]
struct ListItem {
    name: String,
    /// A decimal string in GCS's answers (a number in some emulators').
    #[serde(default)]
    size: Option<serde_json::Value>,
    #[serde(default)]
    updated: Option<String>,
    #[serde(default)]
    metadata: BTreeMap<String, String>,
}

impl GcsRest {
    /// Requests on `bucket` at `server` (OpenDAL's endpoint, without `/storage/v1`) below
    /// `root` (OpenDAL's root: `/` or `/dir/`).
    ///
    /// # Errors
    /// A server that is not a URL, a key that is not JSON, or an HTTP client that cannot be
    /// built.
    pub fn new(
        server: &str,
        bucket: &str,
        root: &str,
        auth: Auth<'_>,
        acl: Option<&str>,
    ) -> Result<GcsRest> {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let request = Timeouts::from_env(0, 1)?.request;
        let client = reqwest::Client::builder()
            .connect_timeout(request)
            .build()
            .map_err(|e| anyhow!("cannot set up the GCS HTTP client: {e}"))?;
        let url = |path: &[&str]| -> Result<Url> {
            let mut url =
                Url::parse(server).with_context(|| format!("endpoint {server:?} is not a URL"))?;
            url.path_segments_mut()
                .map_err(|()| anyhow!("endpoint {server:?} cannot hold a path"))?
                .pop_if_empty()
                .extend(path);
            Ok(url)
        };
        let objects = url(&["storage", "v1", "b", bucket, "o"])?;
        let uploads = url(&["upload", "storage", "v1", "b", bucket, "o"])?;
        let ctx = Context::new()
            .with_file_read(reqsign_file_read_tokio::TokioFileRead)
            .with_http_send(Transport(client.clone(), "GCS"))
            .with_env(OsEnv);
        let signer = |provider| Some(Signer::new(ctx.clone(), provider, signing()));
        let signer = match auth {
            Auth::Anonymous => None,
            Auth::KeyFile(path) => {
                signer(chain(FileCredentialProvider::new(path).with_scope(SCOPE)))
            }
            Auth::KeyJson(json) => {
                signer(chain(StaticCredentialProvider::new(json).with_scope(SCOPE)))
            }
            Auth::Environment => signer(chain(DefaultCredentialProvider::new())),
        };
        Ok(GcsRest {
            client,
            objects,
            uploads,
            prefix: root.trim_start_matches('/').to_owned(),
            acl: acl.map(str::to_owned),
            signer,
            request,
        })
    }

    /// Sends `req` (signed unless the requests are anonymous or it goes to an upload session)
    /// with the deadline `timeout`.
    async fn send_once(
        &self,
        req: http::Request<Bytes>,
        sign: bool,
        timeout: Duration,
    ) -> Result<reqwest::Response> {
        let (mut parts, body) = req.into_parts();
        if let (true, Some(signer)) = (sign, &self.signer) {
            signer
                .sign(&mut parts, None)
                .await
                .map_err(|e| anyhow!("cannot sign a GCS request: {}", e.kind()))?;
        }
        let mut req = reqwest::Request::try_from(http::Request::from_parts(parts, body))
            .map_err(|e| anyhow!("cannot build a GCS request: {}", request_failed("GCS", &e)))?;
        *req.timeout_mut() = Some(timeout);
        self.client
            .execute(req)
            .await
            .map_err(|e| request_error("GCS", &e))
    }

    /// [`GcsRest::send_once`] of what `make` builds, retried as OpenDAL retries (for the
    /// idempotent requests poof sends this way) when the connection fails, the service is busy
    /// (429) or errs (5xx).
    async fn send(
        &self,
        make: impl Fn() -> Result<http::Request<Bytes>>,
        sign: bool,
    ) -> Result<reqwest::Response> {
        retried(|| async { self.send_once(make()?, sign, self.request).await }).await
    }

    /// The objects and (one level) folders below `dir` (a name prefix relative to the root:
    /// `/` for the root, else ending in `/`), with their metadata, page after page. Names come
    /// back relative to the root, folders ending in `/`.
    ///
    /// # Errors
    /// A request fails, the service refuses it, or its answer does not parse.
    pub async fn list(&self, dir: &str, recursive: bool) -> Result<Vec<ListedObject>> {
        let prefix = format!("{}{}", self.prefix, dir.trim_start_matches('/'));
        let mut out = Vec::new();
        let mut token = String::new();
        loop {
            let mut url = self.objects.clone();
            {
                let mut query = url.query_pairs_mut();
                query.append_pair("prefix", &prefix).append_pair(
                    "fields",
                    "items(name,size,updated,metadata),prefixes,nextPageToken",
                );
                if !recursive {
                    query.append_pair("delimiter", "/");
                }
                if !token.is_empty() {
                    query.append_pair("pageToken", &token);
                }
            }
            let get = || {
                request(Method::GET, &url, &[])
                    .body(Bytes::new())
                    .map_err(built)
            };
            let resp = expect(self.send(get, true).await?, "list").await?;
            let body = resp
                .bytes()
                .await
                .map_err(|e| anyhow!("cannot read a listing: {}", request_failed("GCS", &e)))?;
            let page = parse_list(&body)?;
            for item in page.items {
                out.push(ListedObject {
                    key: self.relative(&prefix, item.name)?,
                    dir: false,
                    size: item.size.as_ref().and_then(size_of).unwrap_or(0),
                    modified: item.updated.as_deref().and_then(parse_rfc3339_mtime),
                    meta: item.metadata,
                    etag: None,
                });
            }
            for folder in page.prefixes {
                out.push(ListedObject {
                    key: self.relative(&prefix, folder)?,
                    dir: true,
                    ..ListedObject::default()
                });
            }
            match page.next {
                Some(next) if !next.is_empty() => token = next,
                _ => return Ok(out),
            }
        }
    }

    /// A listed `name` relative to the root.
    fn relative(&self, prefix: &str, name: String) -> Result<String> {
        match name.strip_prefix(&self.prefix) {
            Some(rel) if name.starts_with(prefix) => Ok(rel.to_owned()),
            _ => bail!("the listing of {prefix:?} holds {name:?}, outside it"),
        }
    }

    /// Uploads `data` (`size` bytes when known) as the object at `key` (relative to the root)
    /// with the user metadata `meta`, in one resumable upload of parts of `chunk` bytes
    /// (rounded down to a multiple of [`QUANTUM`]), one part after the other. Returns the bytes
    /// uploaded.
    ///
    /// # Errors
    /// The source fails or gives another size than `size`, or a request fails after its
    /// retries; the upload is then cancelled and no object is written.
    pub async fn upload(
        &self,
        key: &str,
        mut data: ByteStream,
        size: Option<u64>,
        meta: Vec<(String, String)>,
        chunk: usize,
    ) -> Result<u64> {
        let chunk = (chunk / QUANTUM).max(1) * QUANTUM;
        // Each part gets the time to move it at the slowest rate poof waits for.
        let deadline = Timeouts::from_env(chunk, 1)?.transfer;
        let session = self.start_upload(key, size, meta).await?;
        let result = self
            .send_parts(&session, &mut data, size, chunk, deadline)
            .await;
        if result.is_err() {
            self.cancel(&session).await;
        }
        result
    }

    /// Starts a resumable upload of the object at `key`; returns its session URI.
    async fn start_upload(
        &self,
        key: &str,
        size: Option<u64>,
        meta: Vec<(String, String)>,
    ) -> Result<Url> {
        let name = format!("{}{key}", self.prefix);
        let metadata: serde_json::Map<String, serde_json::Value> = meta
            .into_iter()
            .map(|(k, v)| (k, serde_json::Value::String(v)))
            .collect();
        let body = serde_json::json!({
            "name": name,
            "contentType": "application/octet-stream",
            "metadata": metadata,
        });
        let body = Bytes::from(body.to_string());
        let mut url = self.uploads.clone();
        url.query_pairs_mut()
            .append_pair("uploadType", "resumable")
            .append_pair("name", &name);
        if let Some(acl) = &self.acl {
            url.query_pairs_mut().append_pair("predefinedAcl", acl);
        }
        let length = size.map(|s| s.to_string());
        let post = || {
            let mut req = request(Method::POST, &url, &[])
                .header(
                    http::header::CONTENT_TYPE,
                    "application/json; charset=UTF-8",
                )
                .header("x-upload-content-type", "application/octet-stream");
            if let Some(length) = &length {
                req = req.header("x-upload-content-length", length.as_str());
            }
            req.body(body.clone()).map_err(built)
        };
        let resp = expect(self.send(post, true).await?, "start the upload of").await?;
        let location = resp
            .headers()
            .get(http::header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| anyhow!("GCS started an upload without giving its session"))?;
        Url::parse(location).map_err(|_| anyhow!("GCS gave an upload session that is not a URL"))
    }

    /// Reads `data` part after part and sends each to `session`; returns the bytes sent.
    async fn send_parts(
        &self,
        session: &Url,
        data: &mut ByteStream,
        size: Option<u64>,
        chunk: usize,
        deadline: Duration,
    ) -> Result<u64> {
        let mut offset = 0u64;
        let mut spare = None;
        loop {
            let part = read_part(data, chunk, spare.take()).await?;
            let end = offset + part.len() as u64;
            if size.is_some_and(|s| end > s) {
                bail!(
                    "the source gave more than the {} bytes announced",
                    size.unwrap_or(0)
                );
            }
            // The last part: shorter than a whole one (the source ended), or reaching the
            // announced size.
            if part.len() < chunk || size == Some(end) {
                if let Some(expected) = size.filter(|s| *s != end) {
                    bail!("expected {expected} bytes, the source gave {end}");
                }
                self.send_part(session, offset, part, Some(end), deadline)
                    .await?;
                return Ok(end);
            }
            self.send_part(session, offset, part.clone(), None, deadline)
                .await?;
            // The part's buffer holds the next one (the request has let go of it).
            spare = part.try_into_mut().ok();
            offset = end;
        }
    }

    /// Sends `part`, the bytes from `offset` on, to `session`; `total` for the last part (which
    /// completes the object), within `deadline`. A part that fails is retried from the byte GCS
    /// reports having.
    async fn send_part(
        &self,
        session: &Url,
        offset: u64,
        part: Bytes,
        total: Option<u64>,
        deadline: Duration,
    ) -> Result<()> {
        let end = offset + part.len() as u64;
        let mut from = offset;
        let mut wait = RETRY_MIN_DELAY;
        let mut tries = 0;
        loop {
            let skip = usize::try_from(from - offset).unwrap_or(usize::MAX);
            let body = part.slice(skip.min(part.len())..);
            let range = content_range(from, end, total);
            let req = request(Method::PUT, session, &[("content-range", range.as_str())])
                .body(body)
                .map_err(built)?;
            let outcome = match self.send_once(req, false, deadline).await {
                Ok(resp) => self.part_answer(resp, from, end, total).await?,
                Err(err) => Answer::Retry(err.to_string()),
            };
            let why = match outcome {
                Answer::Done => return Ok(()),
                Answer::Persisted(at) => {
                    // GCS kept part of the part: the rest goes at once, without a pause.
                    from = at;
                    continue;
                }
                Answer::Retry(why) => why,
            };
            if tries >= RETRY_MAX_TIMES {
                bail!("cannot upload: {why} (after {} attempts)", tries + 1);
            }
            tries += 1;
            tokio::time::sleep(wait).await;
            wait = (wait * 2).min(RETRY_MAX_DELAY);
            // Where the upload stands now: the part may have arrived whole or in part.
            let status = request(
                Method::PUT,
                session,
                &[("content-range", &content_range(end, end, total))],
            )
            .body(Bytes::new())
            .map_err(built)?;
            if let Ok(resp) = self.send_once(status, false, self.request).await {
                match self.part_answer(resp, from, end, total).await? {
                    Answer::Done => return Ok(()),
                    Answer::Persisted(at) => from = at,
                    Answer::Retry(_) => {}
                }
            }
        }
    }

    /// What GCS's answer to a part (or to a status query) of the bytes `from..end` means.
    async fn part_answer(
        &self,
        resp: reqwest::Response,
        from: u64,
        end: u64,
        total: Option<u64>,
    ) -> Result<Answer> {
        let status = resp.status();
        if status == StatusCode::OK || status == StatusCode::CREATED {
            if total.is_none() {
                bail!("GCS completed the object before its last part");
            }
            return Ok(Answer::Done);
        }
        if status.as_u16() == RESUME_INCOMPLETE {
            let persisted = persisted_of(resp.headers())?;
            if persisted >= end && total.is_none() {
                return Ok(Answer::Done);
            }
            if persisted > end {
                bail!("GCS reports {persisted} bytes of an upload that has sent {end}");
            }
            if persisted < from {
                bail!("GCS lost bytes {persisted}..{from} of the upload: it must start again");
            }
            if persisted > from {
                return Ok(Answer::Persisted(persisted));
            }
            return Ok(Answer::Retry(format!(
                "GCS kept none of bytes {from}..{end}"
            )));
        }
        if retryable(status) {
            return Ok(Answer::Retry(format!("the service answered {status}")));
        }
        Err(refused(resp, "upload").await)
    }

    /// Cancels the upload `session` (best effort: an abandoned session expires after a week and
    /// holds no object).
    async fn cancel(&self, session: &Url) {
        if let Ok(req) = request(Method::DELETE, session, &[]).body(Bytes::new()) {
            let _ = self.send_once(req, false, self.request).await;
        }
    }
}

/// What an answer to a part of an upload means.
enum Answer {
    /// The part is complete (the object too, for the last part).
    Done,
    /// GCS has the bytes up to this offset, within the part: the rest must follow.
    Persisted(u64),
    /// A temporary failure, told in the string: ask where the upload stands, then retry.
    Retry(String),
}

#[async_trait::async_trait]
impl ObjectExtras for GcsRest {
    fn lists_metadata(&self) -> bool {
        true
    }

    async fn list(&self, dir: &str, recursive: bool) -> Result<Option<Vec<ListedObject>>> {
        GcsRest::list(self, dir, recursive).await.map(Some)
    }

    fn uploads(&self) -> bool {
        true
    }

    async fn upload(
        &self,
        key: &str,
        data: ByteStream,
        size: Option<u64>,
        meta: Vec<(String, String)>,
        chunk: usize,
    ) -> Result<u64> {
        GcsRest::upload(self, key, data, size, meta, chunk).await
    }
}

/// reqsign's Google signer for Cloud Storage requests.
fn signing() -> RequestSigner {
    RequestSigner::new("storage").with_scope(SCOPE)
}

/// One credential provider as the chain reqsign's signer takes.
fn chain<P>(provider: P) -> reqsign_core::ProvideCredentialChain<Credential>
where
    P: reqsign_core::ProvideCredential<Credential = Credential> + 'static,
{
    reqsign_core::ProvideCredentialChain::new().push(provider)
}

/// A request builder for `method` on `url` with `headers`.
fn request(method: Method, url: &Url, headers: &[(&str, &str)]) -> http::request::Builder {
    let mut req = http::Request::builder().method(method).uri(url.as_str());
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    req
}

/// The error of a request that could not be built.
fn built(err: http::Error) -> anyhow::Error {
    anyhow!("cannot build a GCS request: {err}")
}

/// `Content-Range` of the bytes `from..end` of an upload of `total` bytes (`*` while unknown);
/// `bytes */total` when no bytes go (a status query, or the empty end of an upload).
fn content_range(from: u64, end: u64, total: Option<u64>) -> String {
    let total = total.map_or_else(|| "*".to_owned(), |t| t.to_string());
    if from >= end {
        format!("bytes */{total}")
    } else {
        format!("bytes {from}-{}/{total}", end - 1)
    }
}

/// The bytes GCS has of a resumable upload, from the `Range: bytes=0-N` of its 308 answer
/// (none when the header is missing).
fn persisted_of(headers: &reqwest::header::HeaderMap) -> Result<u64> {
    let Some(range) = headers.get(reqwest::header::RANGE) else {
        return Ok(0);
    };
    range
        .to_str()
        .ok()
        .and_then(|r| r.strip_prefix("bytes=0-"))
        .and_then(|last| last.trim().parse::<u64>().ok())
        .map(|last| last + 1)
        .ok_or_else(|| anyhow!("GCS answered an upload with an invalid Range header"))
}

/// Reads the next part of an upload: `chunk` bytes, fewer at the end of the source, into
/// `spare` (the previous part's buffer) when there is one.
async fn read_part(data: &mut ByteStream, chunk: usize, spare: Option<BytesMut>) -> Result<Bytes> {
    let mut buf = spare.unwrap_or_default();
    buf.clear();
    buf.resize(chunk, 0);
    let n = fill(data, &mut buf)
        .await
        .map_err(|e| anyhow!("cannot read the data to upload: {e}"))?;
    buf.truncate(n);
    Ok(buf.freeze())
}

/// An object's size from a listing: a decimal string, or a number.
fn size_of(value: &serde_json::Value) -> Option<u64> {
    match value {
        serde_json::Value::String(s) => s.parse().ok(),
        other => other.as_u64(),
    }
}

/// Parses one page of an objects listing.
///
/// # Errors
/// An answer that is not a listing's JSON (one line).
fn parse_list(body: &[u8]) -> Result<ListPage> {
    serde_json::from_slice(body)
        .map_err(|e| anyhow!("cannot read a listing: the answer is not a GCS listing: {e}"))
}

/// `resp` when it succeeded, else the error of [`refused`].
async fn expect(resp: reqwest::Response, what: &str) -> Result<reqwest::Response> {
    if resp.status().is_success() {
        return Ok(resp);
    }
    Err(refused(resp, what).await)
}

/// The error of an answer refusing a request: its status and the service's message.
async fn refused(resp: reqwest::Response, what: &str) -> anyhow::Error {
    let status = resp.status();
    let text = resp.text().await.unwrap_or_default();
    let message = serde_json::from_str::<serde_json::Value>(&text)
        .ok()
        .and_then(|v| v.pointer("/error/message")?.as_str().map(str::to_owned))
        .map(|m| format!(" ({})", m.lines().next().unwrap_or_default()))
        .unwrap_or_default();
    anyhow!("cannot {what} the object: the service answered {status}{message}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};

    /// A server on 127.0.0.1 giving each request the next of `answers` (status line, headers
    /// and body, `{port}` replaced by its port); returns its URL and, once it has answered all,
    /// each request's head and body length.
    async fn scripted(
        answers: Vec<String>,
    ) -> (String, tokio::task::JoinHandle<Vec<(String, usize)>>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let task = tokio::spawn(async move {
            let mut seen = Vec::new();
            for answer in answers {
                let (conn, _) = listener.accept().await.unwrap();
                let mut conn = BufReader::new(conn);
                let mut head = String::new();
                loop {
                    let mut line = String::new();
                    conn.read_line(&mut line).await.unwrap();
                    if line == "\r\n" || line.is_empty() {
                        break;
                    }
                    head.push_str(&line.to_ascii_lowercase());
                }
                let length: usize = head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length: "))
                    .map_or(0, |v| v.trim().parse().unwrap());
                let mut body = vec![0u8; length];
                conn.read_exact(&mut body).await.unwrap();
                seen.push((head, length));
                let answer = answer.replace("{port}", &port.to_string());
                let (head, body) = answer.split_once("\n\n").unwrap_or((&answer, ""));
                let (status, headers) = head.split_once('\n').unwrap_or((head, ""));
                let mut out = format!("HTTP/1.1 {status}\r\n");
                for h in headers.lines().filter(|h| !h.is_empty()) {
                    out.push_str(&format!("{h}\r\n"));
                }
                out.push_str(&format!(
                    "content-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                ));
                conn.get_mut().write_all(out.as_bytes()).await.unwrap();
            }
            seen
        });
        (format!("http://127.0.0.1:{port}"), task)
    }

    /// The `content-range` a request head carries.
    fn range_of(head: &str) -> &str {
        head.lines()
            .find_map(|l| l.strip_prefix("content-range: "))
            .unwrap_or("")
            .trim()
    }

    #[tokio::test]
    async fn an_upload_streams_parts_and_resumes_from_what_gcs_kept() {
        let answers = vec![
            "200 OK\nlocation: http://127.0.0.1:{port}/session?upload_id=u1\n\n".to_owned(),
            "308 Resume Incomplete\nrange: bytes=0-262143\n\n".to_owned(),
            "503 Service Unavailable\n\n".to_owned(),
            // Asked where the upload stands: part of the second part arrived.
            "308 Resume Incomplete\nrange: bytes=0-399999\n\n".to_owned(),
            "308 Resume Incomplete\nrange: bytes=0-524287\n\n".to_owned(),
            "200 OK\ncontent-type: application/json\n\n{}".to_owned(),
        ];
        let (server, task) = scripted(answers).await;
        let rest = GcsRest::new(&server, "bkt", "/dir/", Auth::Anonymous, Some("private")).unwrap();
        let data: Vec<u8> = (0..614_400u32).map(|i| (i % 251) as u8).collect();
        let meta = vec![("mtime".to_owned(), "2022-04-15T05:20:00Z".to_owned())];
        let sent = rest
            .upload(
                "a b",
                Box::pin(std::io::Cursor::new(data)),
                Some(614_400),
                meta,
                300_000,
            )
            .await
            .unwrap();
        assert_eq!(sent, 614_400);
        let seen = task.await.unwrap();
        let start = &seen[0].0;
        assert!(
            start.starts_with("post /upload/storage/v1/b/bkt/o?uploadtype=resumable&name=dir%2fa+b&predefinedacl=private "),
            "{start}"
        );
        assert!(start.contains("x-upload-content-length: 614400"), "{start}");
        assert!(!start.contains("authorization"), "{start}");
        let parts: Vec<(&str, usize)> = seen[1..].iter().map(|(h, n)| (range_of(h), *n)).collect();
        assert_eq!(
            parts,
            [
                ("bytes 0-262143/*", 262_144),
                ("bytes 262144-524287/*", 262_144),
                ("bytes */*", 0),
                ("bytes 400000-524287/*", 124_288),
                ("bytes 524288-614399/614400", 90_112),
            ]
        );
        assert!(
            seen[1].0.starts_with("put /session?upload_id=u1 "),
            "{}",
            seen[1].0
        );
    }

    #[tokio::test]
    async fn a_short_source_or_a_refused_part_cancels_the_upload() {
        let answers = vec![
            "200 OK\nlocation: http://127.0.0.1:{port}/s2\n\n".to_owned(),
            "308 Resume Incomplete\nrange: bytes=0-262143\n\n".to_owned(),
            "499 Client Closed Request\n\n".to_owned(),
        ];
        let (server, task) = scripted(answers).await;
        let rest = GcsRest::new(&server, "bkt", "/", Auth::Anonymous, None).unwrap();
        let data = vec![7u8; 300_000];
        let err = rest
            .upload(
                "k",
                Box::pin(std::io::Cursor::new(data)),
                Some(400_000),
                vec![],
                QUANTUM,
            )
            .await
            .unwrap_err();
        assert!(
            err.to_string()
                .contains("expected 400000 bytes, the source gave 300000"),
            "{err}"
        );
        let seen = task.await.unwrap();
        assert!(seen[2].0.starts_with("delete /s2 "), "{}", seen[2].0);

        let answers = vec![
            "200 OK\nlocation: http://127.0.0.1:{port}/s3\n\n".to_owned(),
            "404 Not Found\ncontent-type: application/json\n\n{\"error\":{\"message\":\"No such upload\"}}".to_owned(),
            "499 Client Closed Request\n\n".to_owned(),
        ];
        let (server, task) = scripted(answers).await;
        let rest = GcsRest::new(&server, "bkt", "/", Auth::Anonymous, None).unwrap();
        let err = rest
            .upload(
                "k",
                Box::pin(std::io::Cursor::new(vec![1u8; 10])),
                None,
                vec![],
                QUANTUM,
            )
            .await
            .unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains("404") && msg.contains("No such upload"),
            "{msg}"
        );
        assert!(!msg.contains("s3"), "{msg}");
        let seen = task.await.unwrap();
        assert_eq!(range_of(&seen[1].0), "bytes 0-9/10");
    }

    #[tokio::test]
    async fn a_listing_gives_names_sizes_metadata_and_folders_page_after_page() {
        let answers = vec![
            r#"200 OK
content-type: application/json

{"items":[{"name":"dir/a.bin","size":"1048","updated":"2026-11-29T15:50:48.123Z","metadata":{"mtime":"2022-04-15T05:20:00.123456789Z"}}],"prefixes":["dir/sub/"],"nextPageToken":"t1"}"#
                .to_owned(),
            r#"200 OK
content-type: application/json

{"items":[{"name":"dir/b","size":7}]}"#
                .to_owned(),
        ];
        let (server, task) = scripted(answers).await;
        let rest = GcsRest::new(&server, "bkt", "/", Auth::Anonymous, None).unwrap();
        let listed = rest.list("dir/", false).await.unwrap();
        let got: Vec<_> = listed.iter().map(ListedObject::summary).collect();
        let mtime = "2022-04-15T05:20:00.123456789Z";
        assert_eq!(
            got,
            [
                ("dir/a.bin", false, 1048, Some(mtime)),
                ("dir/sub/", true, 0, None),
                ("dir/b", false, 7, None),
            ]
        );
        assert!(listed[0].modified.is_some());
        let seen = task.await.unwrap();
        assert!(
            seen[0]
                .0
                .starts_with("get /storage/v1/b/bkt/o?prefix=dir%2f&fields="),
            "{}",
            seen[0].0
        );
        assert!(seen[0].0.contains("&delimiter=%2f"), "{}", seen[0].0);
        assert!(seen[1].0.contains("&pagetoken=t1 "), "{}", seen[1].0);

        let answers = vec![
            "200 OK\n\n{\"items\":[{\"name\":\"elsewhere/x\",\"size\":\"1\"}]}".to_owned(),
            "200 OK\n\nnot json".to_owned(),
        ];
        let (server, _task) = scripted(answers).await;
        let rest = GcsRest::new(&server, "bkt", "/dir/", Auth::Anonymous, None).unwrap();
        let err = rest.list("/", true).await.unwrap_err().to_string();
        assert!(err.contains("outside it"), "{err}");
        let err = rest.list("/", true).await.unwrap_err().to_string();
        assert!(err.contains("not a GCS listing"), "{err}");
    }

    #[tokio::test]
    async fn requests_are_signed_with_the_service_account_token() {
        let answers = vec!["200 OK\n\n{}".to_owned()];
        let (server, task) = scripted(answers).await;
        let mut rest = GcsRest::new(&server, "bkt", "/", Auth::Anonymous, None).unwrap();
        let ctx = Context::new()
            .with_file_read(reqsign_file_read_tokio::TokioFileRead)
            .with_http_send(Transport(rest.client.clone(), "GCS"))
            .with_env(OsEnv);
        let token = reqsign_google::TokenCredentialProvider::new("ya29.token-for-poof");
        rest.signer = Some(Signer::new(ctx, chain(token), signing()));
        assert!(rest.list("/", true).await.unwrap().is_empty());
        let seen = task.await.unwrap();
        assert!(
            seen[0]
                .0
                .contains("authorization: bearer ya29.token-for-poof"),
            "{}",
            seen[0].0
        );
    }
}
