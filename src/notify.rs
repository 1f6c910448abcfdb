//! Notifications for runs nobody watches: poof.conf's `"notify"` URL, pinged the way
//! healthchecks.io (and the services that copy its convention) expects.
//!
//! - `GET URL/start` when a `backup`, `upload` or `download` starts (sent in the background:
//!   the run does not wait for it);
//! - `POST URL` with the run's JSON summary as the body when it ends with exit code 0;
//! - `POST URL/<exit code>` with the summary when it ends with any other code (healthchecks
//!   counts a non-zero code as a failure and shows the body).
//!
//! A notification never blocks nor fails a run: each request has a short timeout and is
//! tried three times in all, then a one-line warning names the host (never the whole URL,
//! whose path is often the check's secret). Dry runs send nothing.

use std::time::Duration;

use anyhow::{Context, Result};

use crate::config::poof::notify_url;
use crate::exit::Code;
use crate::remote::signed::request_failed;

/// The time one request may take.
const TIMEOUT: Duration = Duration::from_secs(10);
/// The time to make the connection.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Attempts per notification.
const ATTEMPTS: u32 = 3;
/// Pause before the second attempt (doubled before the third).
const RETRY_DELAY: Duration = Duration::from_millis(500);

/// The notifications of one run.
pub struct Notifier {
    client: reqwest::Client,
    url: reqwest::Url,
    /// The start ping, running in the background.
    start: Option<tokio::task::JoinHandle<()>>,
}

impl Notifier {
    /// Sends `URL/start` in the background on `runtime`.
    ///
    /// # Errors
    /// A URL poof.conf's check let through but reqwest refuses, or no HTTP client.
    pub fn start(url: &str, runtime: &tokio::runtime::Runtime) -> Result<Notifier> {
        let url = notify_url(url).map_err(|why| anyhow::anyhow!("notify: {why}"))?;
        let client = reqwest::Client::builder()
            .timeout(TIMEOUT)
            .connect_timeout(CONNECT_TIMEOUT)
            .user_agent(concat!("poof/", env!("CARGO_PKG_VERSION")))
            .build()
            .context("cannot make the HTTP client of notifications")?;
        let (c, u) = (client.clone(), with_segment(&url, "start"));
        let start = runtime.spawn(async move { warn(&u, ping(&c, &u, None).await) });
        Ok(Notifier {
            client,
            url,
            start: Some(start),
        })
    }

    /// Sends the end of the run: `URL` for code 0, else `URL/<code>`, with `summary` (JSON)
    /// as the body, after the start ping is through (so they arrive in order).
    pub fn finish(mut self, runtime: &tokio::runtime::Runtime, code: Code, summary: String) {
        let url = match code {
            Code::Done => self.url.clone(),
            other => with_segment(&self.url, &other.number().to_string()),
        };
        let start = self.start.take();
        let client = self.client.clone();
        runtime.block_on(async move {
            if let Some(start) = start {
                // The start ping's own attempts are bounded: this wait is too.
                let _ = start.await;
            }
            warn(&url, ping(&client, &url, Some(summary)).await);
        });
    }
}

/// `url` with one more path segment (`…/uuid` -> `…/uuid/start`), its query kept.
fn with_segment(url: &reqwest::Url, segment: &str) -> reqwest::Url {
    let mut url = url.clone();
    if let Ok(mut path) = url.path_segments_mut() {
        path.pop_if_empty().push(segment);
    }
    url
}

/// One notification: a GET without `body`, a POST with it; tried [`ATTEMPTS`] times.
async fn ping(
    client: &reqwest::Client,
    url: &reqwest::Url,
    body: Option<String>,
) -> std::result::Result<(), String> {
    let mut delay = RETRY_DELAY;
    let mut why = String::new();
    for attempt in 1..=ATTEMPTS {
        let request = match &body {
            None => client.get(url.clone()),
            Some(body) => client
                .post(url.clone())
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(body.clone()),
        };
        match request.send().await {
            Ok(resp) if resp.status().is_success() => return Ok(()),
            Ok(resp) => why = format!("the server answered {}", resp.status()),
            // Without the URL: its path is the check's secret.
            Err(e) => why = request_failed("notification", &e),
        }
        if attempt < ATTEMPTS {
            tokio::time::sleep(delay).await;
            delay *= 2;
        }
    }
    Err(why)
}

/// Prints the warning of a notification that did not get through.
fn warn(url: &reqwest::Url, outcome: std::result::Result<(), String>) {
    if let Err(why) = outcome {
        say!(
            "poof: warning: the notification to {} failed after {ATTEMPTS} attempts: {why} (the run itself is not affected)",
            url.host_str().unwrap_or("?")
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn start_and_exit_codes_are_path_segments_before_the_query() {
        let url = notify_url("https://hc.example/ping/abc?rid=1").unwrap();
        assert_eq!(
            with_segment(&url, "start").as_str(),
            "https://hc.example/ping/abc/start?rid=1"
        );
        let slash = notify_url("https://hc.example/ping/abc/").unwrap();
        assert_eq!(
            with_segment(&slash, "4").as_str(),
            "https://hc.example/ping/abc/4"
        );
    }
}
