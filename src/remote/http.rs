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
use futures::TryStreamExt;
use reqwest::{Method, RequestBuilder, Response, StatusCode, Url};
use tokio::io::AsyncReadExt;
use zeroize::Zeroizing;

use super::backend::ByteStream;
use super::encoding;
use super::opendal::Timeouts;

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
            bail!(
                "{}: giving up: the server did not answer an earlier request",
                self.describe
            );
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
            return anyhow!("{what}: {why} ({})", without_url(&err));
        }
        anyhow!("{what}: {}", without_url(&err))
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
