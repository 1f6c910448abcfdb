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

use crate::remote::opendal::{ObjectExtras, Timeouts};

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
            .with_http_send(Transport(client.clone()))
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
        if let Ok(mut segments) = url.path_segments_mut() {
            segments.extend(format!("{}{key}", self.prefix).split('/'));
        }
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        url
    }

    /// Sends `method` on the blob at `key` with `query` and `x-ms-*` headers, authorised.
    async fn send(
        &self,
        method: Method,
        key: &str,
        query: &[(&str, &str)],
        headers: &[(&str, &str)],
    ) -> Result<reqwest::Response> {
        let url = self.url(key, query);
        let mut req = http::Request::builder()
            .method(method)
            .uri(url.as_str())
            .header(http::header::CONTENT_LENGTH, "0")
            .header("x-ms-version", VERSION);
        for (k, v) in headers {
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
            .map_err(|e| anyhow!("{}", without_url(&e)))
    }

    /// Sets the Content-MD5 of the blob at `key` (Set Blob Properties, which also resets its
    /// content type to poof's `application/octet-stream`).
    ///
    /// # Errors
    /// The request fails or the service refuses it (status and error code in the message).
    pub async fn set_md5(&self, key: &str, md5: [u8; 16]) -> Result<()> {
        let md5 = base64::engine::general_purpose::STANDARD.encode(md5);
        let resp = self
            .send(
                Method::PUT,
                key,
                &[("comp", "properties")],
                &[
                    ("x-ms-blob-content-md5", &md5),
                    ("x-ms-blob-content-type", "application/octet-stream"),
                ],
            )
            .await?;
        expect(resp, StatusCode::OK, "set the MD5 of")
    }

    /// Waits until the copy into the blob at `key` is complete.
    ///
    /// # Errors
    /// The copy failed or was aborted, it is still pending after [`COPY_WAIT`], or a request
    /// fails.
    pub async fn wait_copied(&self, key: &str) -> Result<()> {
        let start = std::time::Instant::now();
        let mut pause = COPY_POLL;
        loop {
            let resp = self.send(Method::HEAD, key, &[], &[]).await?;
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
}

/// Ok when `resp` has `want`, else an error with the status and the service's error code.
fn expect(resp: reqwest::Response, want: StatusCode, what: &str) -> Result<()> {
    if resp.status() == want {
        return Ok(());
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
    let kind = if err.is_timeout() {
        "timed out"
    } else if err.is_connect() {
        "cannot connect to the server"
    } else {
        "request failed"
    };
    format!("Azure Blob request {kind}")
}

/// reqsign's HTTP sender over poof's client (the default credential chain asks the instance
/// metadata service or Entra ID for tokens).
#[derive(Debug)]
struct Transport(reqwest::Client);

impl reqsign_core::HttpSend for Transport {
    async fn http_send(
        &self,
        req: http::Request<bytes::Bytes>,
    ) -> reqsign_core::Result<http::Response<bytes::Bytes>> {
        let failed = |e: reqwest::Error| reqsign_core::Error::unexpected(without_url(&e));
        let req = reqwest::Request::try_from(req).map_err(failed)?;
        let resp = self.0.execute(req).await.map_err(failed)?;
        let mut out = http::Response::builder().status(resp.status());
        for (k, v) in resp.headers() {
            out = out.header(k, v);
        }
        let body = resp.bytes().await.map_err(failed)?;
        out.body(body)
            .map_err(|e| reqsign_core::Error::unexpected(e.to_string()))
    }
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
