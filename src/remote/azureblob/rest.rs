//! The two Blob service requests poof sends itself, where OpenDAL's Azure service leaves a gap
//! rclone users would notice:
//!
//! - **Content-MD5 of blobs uploaded in blocks.** OpenDAL commits a block upload (Put Block
//!   List) without `x-ms-blob-content-md5`, so a blob above `chunk_size` would keep no MD5 and
//!   `rclone cryptcheck` / `rclone check` could not check it. rclone's own block uploads keep
//!   one. poof hashes the bytes as they stream and sets the MD5 with Set Blob Properties once
//!   the blob is committed ([`BlobRest::set_md5`]).
//! - **Copies that complete later.** Copy Blob may answer before the copy is done
//!   (`x-ms-copy-status: pending`); OpenDAL returns at once. A history move deletes its source
//!   only after [`BlobRest::wait_copied`] has seen the destination's copy status `success`.
//!
//! - **Listings with metadata.** OpenDAL lists blobs without their metadata, so each file's
//!   modification time (rclone's `mtime` metadata) would cost a HEAD request. List Blobs with
//!   `include=metadata` returns them with the names, 5,000 blobs per request, as rclone lists
//!   ([`BlobRest::list`]).
//!
//! Requests are signed as OpenDAL signs its own, by the same crate (reqsign's Azure Storage
//! signer, already built for OpenDAL) and the same credentials: the account's Shared Key, a SAS
//! token, or with `env_auth` the default Azure credential chain.

use std::time::Duration;

use anyhow::{anyhow, bail, Context as _, Result};
use base64::Engine as _;
use reqsign_azure_storage::{
    Credential, DefaultCredentialProvider, RequestSigner, StaticCredentialProvider,
};
use reqsign_core::{Context, OsEnv, Signer};
use reqwest::{Method, StatusCode, Url};

use crate::remote::opendal::{ListedObject, ObjectExtras, Timeouts};
use crate::remote::signed::{request_error, request_failed, retried, Transport};
use crate::remote::webdav::{parse_http_date, push_text};
use quick_xml::events::Event;

/// The Blob service version of poof's own requests (the one OpenDAL 0.59 sends).
const VERSION: &str = "2022-11-02";
/// How long a pending copy is waited for before the move fails (its source then stays).
const COPY_WAIT: Duration = Duration::from_secs(600);
/// First pause between two looks at a pending copy; it doubles up to [`COPY_POLL_MAX`].
const COPY_POLL: Duration = Duration::from_millis(200);
/// Longest pause between two looks at a pending copy.
const COPY_POLL_MAX: Duration = Duration::from_secs(10);

/// How poof's own requests are authorised: the credentials OpenDAL is given.
pub enum Auth<'a> {
    /// The account name and its base64 Shared Key.
    SharedKey {
        /// The storage account.
        account: &'a str,
        /// Its Shared Key, base64 as rclone keeps it.
        key: &'a str,
    },
    /// A SAS token (the query string of a SAS URL, without `?`).
    Sas(&'a str),
    /// The default Azure credential chain (`env_auth`).
    Environment,
}

/// One request: `method` on the blob at `key` (the container when `key` is empty), with
/// `query` and `x-ms-*` headers.
struct Call<'a> {
    method: Method,
    key: &'a str,
    query: &'a [(&'a str, &'a str)],
    headers: &'a [(&'a str, &'a str)],
}

/// Signed requests on the blobs of one container.
#[derive(Debug)]
pub struct BlobRest {
    client: reqwest::Client,
    /// `<endpoint>/<container>`, without a trailing `/`.
    container_url: Url,
    /// The blob name prefix of the remote's root (`""` or `dir/`).
    prefix: String,
    signer: Signer<Credential>,
}

impl BlobRest {
    /// Requests on `container` at `endpoint` below `root` (OpenDAL's root: `/` or `/dir/`).
    ///
    /// # Errors
    /// An endpoint that is not a URL, or an HTTP client that cannot be built.
    pub fn new(endpoint: &str, container: &str, root: &str, auth: Auth<'_>) -> Result<BlobRest> {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let timeouts = Timeouts::from_env(0, 1)?;
        let client = reqwest::Client::builder()
            .connect_timeout(timeouts.request)
            .timeout(timeouts.request)
            .build()
            .map_err(|e| anyhow!("cannot set up the Azure Blob HTTP client: {e}"))?;
        let mut container_url =
            Url::parse(endpoint).with_context(|| format!("endpoint {endpoint:?} is not a URL"))?;
        container_url
            .path_segments_mut()
            .map_err(|()| anyhow!("endpoint {endpoint:?} cannot hold a path"))?
            .pop_if_empty()
            .push(container);
        let prefix = root.trim_start_matches('/').to_owned();
        let ctx = Context::new()
            .with_file_read(reqsign_file_read_tokio::TokioFileRead)
            .with_http_send(Transport(client.clone(), "Azure Blob"))
            .with_env(OsEnv);
        let signer = match auth {
            Auth::SharedKey { account, key } => Signer::new(
                ctx,
                StaticCredentialProvider::new_shared_key(account, key),
                RequestSigner::new(),
            ),
            Auth::Sas(token) => Signer::new(
                ctx,
                StaticCredentialProvider::new_sas_token(token),
                RequestSigner::new(),
            ),
            Auth::Environment => {
                Signer::new(ctx, DefaultCredentialProvider::new(), RequestSigner::new())
            }
        };
        Ok(BlobRest {
            client,
            container_url,
            prefix,
            signer,
        })
    }

    /// The URL of the blob at `key` (relative to the root).
    fn url(&self, key: &str, query: &[(&str, &str)]) -> Url {
        let mut url = self.container_url.clone();
        if !key.is_empty() {
            if let Ok(mut segments) = url.path_segments_mut() {
                segments.extend(format!("{}{key}", self.prefix).split('/'));
            }
        }
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        url
    }

    /// [`BlobRest::send_once`], retried as OpenDAL retries (every request here is idempotent)
    /// when the connection fails, the service is busy (429, 503) or errs (5xx).
    async fn send(&self, call: Call<'_>) -> Result<reqwest::Response> {
        retried(|| self.send_once(&call)).await
    }

    /// Sends `call`, authorised.
    async fn send_once(&self, call: &Call<'_>) -> Result<reqwest::Response> {
        let Call {
            method,
            key,
            query,
            headers,
        } = call;
        let url = self.url(key, query);
        let mut req = http::Request::builder()
            .method(method.clone())
            .uri(url.as_str())
            .header(http::header::CONTENT_LENGTH, "0")
            .header("x-ms-version", VERSION);
        for (k, v) in headers.iter() {
            req = req.header(*k, *v);
        }
        let (mut parts, ()) = req
            .body(())
            .map_err(|e| anyhow!("cannot build an Azure Blob request: {e}"))?
            .into_parts();
        self.signer
            .sign(&mut parts, None)
            .await
            .map_err(|e| anyhow!("cannot sign an Azure Blob request: {}", e.kind()))?;
        let req = reqwest::Request::try_from(http::Request::from_parts(parts, Vec::<u8>::new()))
            .map_err(|e| anyhow!("cannot build an Azure Blob request: {}", without_url(&e)))?;
        self.client
            .execute(req)
            .await
            .map_err(|e| request_error("Azure Blob", &e))
    }

    /// Sets the Content-MD5 of the blob at `key` (Set Blob Properties, which also resets its
    /// content type to poof's `application/octet-stream`).
    ///
    /// # Errors
    /// The request fails or the service refuses it (status and error code in the message).
    pub async fn set_md5(&self, key: &str, md5: [u8; 16]) -> Result<()> {
        let md5 = base64::engine::general_purpose::STANDARD.encode(md5);
        let resp = self
            .send(Call {
                method: Method::PUT,
                key,
                query: &[("comp", "properties")],
                headers: &[
                    ("x-ms-blob-content-md5", &md5),
                    ("x-ms-blob-content-type", "application/octet-stream"),
                ],
            })
            .await?;
        expect(resp, StatusCode::OK, "set the MD5 of").map(drop)
    }

    /// The blobs and (one level) folders below `dir` (a key prefix relative to the root: `""`
    /// or ending in `/`), with their metadata, page after page. Keys come back relative to the
    /// root, folders ending in `/`.
    ///
    /// # Errors
    /// A request fails, the service refuses it, or its answer does not parse.
    pub async fn list(&self, dir: &str, recursive: bool) -> Result<Vec<ListedObject>> {
        let prefix = format!("{}{}", self.prefix, dir.trim_start_matches('/'));
        let mut out = Vec::new();
        let mut marker = String::new();
        loop {
            let mut query = vec![
                ("restype", "container"),
                ("comp", "list"),
                ("include", "metadata"),
                ("prefix", prefix.as_str()),
            ];
            if !recursive {
                query.push(("delimiter", "/"));
            }
            if !marker.is_empty() {
                query.push(("marker", marker.as_str()));
            }
            let resp = self
                .send(Call {
                    method: Method::GET,
                    key: "",
                    query: &query,
                    headers: &[],
                })
                .await?;
            let body = expect(resp, StatusCode::OK, "list")?
                .text()
                .await
                .map_err(|e| anyhow!("cannot read a listing: {}", without_url(&e)))?;
            let page = parse_list(&body).map_err(|e| anyhow!("cannot read a listing: {e}"))?;
            for mut item in page.items {
                let Some(rel) = item.key.strip_prefix(&self.prefix) else {
                    bail!("the listing of {prefix:?} holds {:?}, outside it", item.key);
                };
                item.key = rel.to_owned();
                out.push(item);
            }
            match page.next_marker {
                Some(next) if !next.is_empty() => marker = next,
                _ => return Ok(out),
            }
        }
    }

    /// Waits until the copy into the blob at `key` is complete.
    ///
    /// # Errors
    /// The copy failed or was aborted, it is still pending after ten minutes, or a request
    /// fails.
    pub async fn wait_copied(&self, key: &str) -> Result<()> {
        let start = std::time::Instant::now();
        let mut pause = COPY_POLL;
        loop {
            let resp = self
                .send(Call {
                    method: Method::HEAD,
                    key,
                    query: &[],
                    headers: &[],
                })
                .await?;
            let status = resp.status();
            if status != StatusCode::OK {
                bail!("cannot read the copy status: the service answered {status}");
            }
            let copy = resp
                .headers()
                .get("x-ms-copy-status")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("success")
                .to_owned();
            match copy.as_str() {
                "success" => return Ok(()),
                "pending" if start.elapsed() < COPY_WAIT => {
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(COPY_POLL_MAX);
                }
                "pending" => bail!("the server-side copy is still pending after {COPY_WAIT:?}"),
                other => bail!("the server-side copy ended as {other:?}"),
            }
        }
    }
}

#[async_trait::async_trait]
impl ObjectExtras for BlobRest {
    async fn uploaded_in_parts(&self, key: &str, md5: [u8; 16]) -> Result<()> {
        self.set_md5(key, md5).await
    }

    async fn copied(&self, key: &str) -> Result<()> {
        self.wait_copied(key).await
    }

    fn lists_metadata(&self) -> bool {
        true
    }

    async fn list(&self, dir: &str, recursive: bool) -> Result<Option<Vec<ListedObject>>> {
        BlobRest::list(self, dir, recursive).await.map(Some)
    }
}

/// One page of a List Blobs answer.
#[derive(Default)]
struct ListPage {
    items: Vec<ListedObject>,
    next_marker: Option<String>,
}

/// Parses a List Blobs answer: each `Blob` (its name, `Content-Length`, `Last-Modified` and
/// metadata), each `BlobPrefix` (a folder) and `NextMarker`. A name sent `Encoded="true"`
/// (one XML cannot carry) is percent-decoded.
///
/// # Errors
/// XML that does not parse, or an encoded name that is not UTF-8 (one line).
fn parse_list(body: &str) -> Result<ListPage, String> {
    let mut reader = quick_xml::Reader::from_str(body);
    let mut page = ListPage::default();
    let mut stack: Vec<String> = Vec::new();
    let mut text = String::new();
    let mut encoded = false;
    let mut item = ListedObject::default();
    loop {
        let event = reader
            .read_event()
            .map_err(|e| format!("the service's answer is not XML: {e}"))?;
        let name = match &event {
            Event::Start(e) => {
                let name = e.local_name().as_ref().to_owned();
                encoded = e.attributes().flatten().any(|a| {
                    a.key.local_name().as_ref() == "Encoded" && a.value.as_ref() == "true"
                });
                stack.push(name);
                text.clear();
                continue;
            }
            Event::Empty(e) => {
                text.clear();
                e.local_name().as_ref().to_owned()
            }
            Event::End(_) => match stack.pop() {
                Some(name) => name,
                None => return Err("the service's answer is not a listing".to_owned()),
            },
            Event::Text(_) | Event::CData(_) | Event::GeneralRef(_) => {
                push_text(&mut text, &event);
                continue;
            }
            Event::Eof => return Ok(page),
            _ => continue,
        };
        // An element ended or was empty: the stack holds its parents.
        let value = text.trim();
        match (stack.as_slice(), name.as_str()) {
            ([.., b], "Name") if b == "Blob" || b == "BlobPrefix" => {
                item.key = if encoded {
                    let bytes = crate::remote::encoding::percent_decode(value);
                    String::from_utf8(bytes)
                        .map_err(|_| format!("a listed name is not UTF-8: {value:?}"))?
                } else {
                    value.to_owned()
                };
            }
            ([.., b, p], "Content-Length") if b == "Blob" && p == "Properties" => {
                item.size = value.parse().unwrap_or(0);
            }
            ([.., b, p], "Last-Modified") if b == "Blob" && p == "Properties" => {
                item.modified = parse_http_date(value);
            }
            ([.., b, m], key) if b == "Blob" && m == "Metadata" => {
                item.meta.insert(key.to_ascii_lowercase(), value.to_owned());
            }
            (_, "Blob") => page.items.push(std::mem::take(&mut item)),
            (_, "BlobPrefix") => {
                item.dir = true;
                page.items.push(std::mem::take(&mut item));
            }
            ([.., r], "NextMarker") if r == "EnumerationResults" => {
                page.next_marker = Some(value.to_owned());
            }
            _ => {}
        }
        // The metadata of a blob is its own: a blob listed without any keeps none.
        if name == "Blob" || name == "BlobPrefix" {
            item = ListedObject::default();
        }
    }
}

/// `resp` when it has `want`, else an error with the status and the service's error code.
fn expect(resp: reqwest::Response, want: StatusCode, what: &str) -> Result<reqwest::Response> {
    if resp.status() == want {
        return Ok(resp);
    }
    let code = resp
        .headers()
        .get("x-ms-error-code")
        .and_then(|v| v.to_str().ok())
        .map(|c| format!(" ({c})"))
        .unwrap_or_default();
    bail!(
        "cannot {what} the blob: the service answered {}{code}",
        resp.status()
    )
}

/// A request error without its URL (which may hold a SAS token).
fn without_url(err: &reqwest::Error) -> String {
    request_failed("Azure Blob", err)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// A server on 127.0.0.1 answering each request with the next of `copy_statuses` as
    /// `x-ms-copy-status`; returns its endpoint and the request heads it received.
    async fn scripted(
        copy_statuses: &'static [&'static str],
    ) -> (String, tokio::task::JoinHandle<Vec<String>>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let task = tokio::spawn(async move {
            let mut heads = Vec::new();
            for status in copy_statuses {
                let (mut conn, _) = listener.accept().await.unwrap();
                let mut buf = vec![0u8; 8192];
                let n = conn.read(&mut buf).await.unwrap();
                heads.push(String::from_utf8_lossy(&buf[..n]).into_owned());
                let answer = format!(
                    "HTTP/1.1 200 OK\r\nx-ms-copy-status: {status}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
                );
                conn.write_all(answer.as_bytes()).await.unwrap();
            }
            heads
        });
        (format!("http://127.0.0.1:{port}/acct"), task)
    }

    #[test]
    fn a_listing_page_gives_names_sizes_times_metadata_and_folders() {
        let body = r#"<?xml version="1.0" encoding="utf-8"?>
<EnumerationResults ServiceEndpoint="http://127.0.0.1:10000/devstoreaccount1" ContainerName="cont">
  <Prefix>dir/</Prefix><Delimiter>/</Delimiter>
  <Blobs>
    <Blob><Name>dir/a &amp; b.bin</Name>
      <Properties><Last-Modified>Sun, 29 Nov 2026 15:50:48 GMT</Last-Modified>
        <Content-Length>1048</Content-Length><Content-MD5 /></Properties>
      <Metadata><mtime>2022-04-15T05:20:00.123456789Z</mtime></Metadata></Blob>
    <Blob><Name Encoded="true">dir/ctl%01x</Name>
      <Properties><Content-Length>7</Content-Length></Properties></Blob>
    <BlobPrefix><Name>dir/sub/</Name></BlobPrefix>
  </Blobs>
  <NextMarker>2!92!MDAw</NextMarker>
</EnumerationResults>"#;
        let page = parse_list(body).unwrap();
        assert_eq!(page.next_marker.as_deref(), Some("2!92!MDAw"));
        let got: Vec<_> = page.items.iter().map(ListedObject::summary).collect();
        let mtime = "2022-04-15T05:20:00.123456789Z";
        assert_eq!(
            got,
            [
                ("dir/a & b.bin", false, 1048, Some(mtime)),
                ("dir/ctl\u{1}x", false, 7, None),
                ("dir/sub/", true, 0, None),
            ]
        );
        assert_eq!(
            page.items[0].modified,
            Some(std::time::UNIX_EPOCH + Duration::from_secs(1_795_967_448))
        );
        assert!(parse_list("<EnumerationResults><Blobs>").is_ok());
        assert!(parse_list("</oops>").is_err());
        let last = parse_list("<EnumerationResults><NextMarker/></EnumerationResults>").unwrap();
        assert_eq!(last.next_marker.as_deref(), Some(""));
    }

    #[tokio::test]
    async fn a_pending_copy_is_waited_for_and_a_failed_one_is_an_error() {
        let (endpoint, server) = scripted(&["pending", "pending", "success"]).await;
        let key = base64::engine::general_purpose::STANDARD.encode([7u8; 32]);
        let auth = Auth::SharedKey {
            account: "acct",
            key: &key,
        };
        let rest = BlobRest::new(&endpoint, "cont", "/dir/", auth).unwrap();
        rest.wait_copied("poof-history/a b").await.unwrap();
        let heads = server.await.unwrap();
        assert_eq!(heads.len(), 3);
        let head = heads[0].to_ascii_lowercase();
        assert!(
            head.starts_with("head /acct/cont/dir/poof-history/a%20b http/1.1"),
            "{head}"
        );
        assert!(head.contains("authorization: sharedkey acct:"), "{head}");
        assert!(head.contains("x-ms-version: 2022-11-02"), "{head}");

        let (endpoint, _server) = scripted(&["failed"]).await;
        let rest = BlobRest::new(&endpoint, "cont", "/", Auth::Sas("sv=1&sig=s3cret")).unwrap();
        let err = rest.wait_copied("k").await.unwrap_err().to_string();
        assert!(err.contains("\"failed\""), "{err}");
        assert!(!err.contains("s3cret"), "{err}");
    }
}
