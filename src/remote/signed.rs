//! What the requests poof signs itself have in common (Azure Blob: [`super::azureblob::rest`],
//! GCS: [`super::gcs::rest`]): reqsign's HTTP sender over poof's reqwest client, which the
//! credential providers use to fetch tokens (instance metadata, Entra ID, Google's OAuth
//! endpoint), and request errors told without their URL, which may carry a SAS token or an
//! upload session; and their retries ([`retried`]).

use std::future::Future;

use anyhow::Result;
use reqwest::StatusCode;

use super::opendal::{RETRY_MAX_DELAY, RETRY_MAX_TIMES, RETRY_MIN_DELAY};

/// The answer of `attempt`, retried as OpenDAL retries (for requests that are idempotent)
/// while the connection fails or the service answers [`retryable`]ly: up to
/// [`RETRY_MAX_TIMES`] more times, the pause doubling from [`RETRY_MIN_DELAY`] to
/// [`RETRY_MAX_DELAY`].
///
/// # Errors
/// The last attempt's error.
pub async fn retried<F, Fut>(mut attempt: F) -> Result<reqwest::Response>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<reqwest::Response>>,
{
    let mut wait = RETRY_MIN_DELAY;
    let mut tries = 0;
    loop {
        let result = attempt().await;
        let temporary = match &result {
            Ok(resp) => retryable(resp.status()),
            Err(_) => true,
        };
        if !temporary || tries >= RETRY_MAX_TIMES {
            return result;
        }
        tries += 1;
        tokio::time::sleep(wait).await;
        wait = (wait * 2).min(RETRY_MAX_DELAY);
    }
}

/// True for answers worth another attempt: throttling, a timed-out request, server errors.
pub fn retryable(status: StatusCode) -> bool {
    status == StatusCode::TOO_MANY_REQUESTS
        || status == StatusCode::REQUEST_TIMEOUT
        || status.is_server_error()
}

/// A request error without its URL: whether it timed out, could not connect, or failed
/// otherwise, for `service` (e.g. `"Azure Blob"`).
pub fn request_failed(service: &str, err: &reqwest::Error) -> String {
    let kind = if err.is_timeout() {
        "timed out"
    } else if err.is_connect() {
        "cannot connect to the server"
    } else {
        "request failed"
    };
    format!("{service} request {kind}")
}

/// [`request_failed`] as an error, marked as a store that could not be reached
/// ([`crate::exit::Code::Unreachable`]) when the request could not connect or timed out.
pub fn request_error(service: &str, err: &reqwest::Error) -> anyhow::Error {
    let failed = anyhow::anyhow!("{}", request_failed(service, err));
    if err.is_connect() || err.is_timeout() {
        crate::exit::mark(crate::exit::Code::Unreachable, failed)
    } else {
        failed
    }
}

/// reqsign's HTTP sender over poof's client, its errors told for `.1` (the service).
#[derive(Debug)]
pub struct Transport(pub reqwest::Client, pub &'static str);

impl reqsign_core::HttpSend for Transport {
    async fn http_send(
        &self,
        req: http::Request<bytes::Bytes>,
    ) -> reqsign_core::Result<http::Response<bytes::Bytes>> {
        let failed =
            |e: reqwest::Error| reqsign_core::Error::unexpected(request_failed(self.1, &e));
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
