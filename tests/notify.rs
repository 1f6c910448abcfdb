//! poof.conf's `"notify"` URL against a local HTTP server that records what it is sent: the
//! start and the end of a backup as healthchecks.io expects them, the exit code of a failed
//! run in the path with the JSON summary as the body, a server that is down (the backup goes
//! on), dry runs (nothing sent) and a URL poof.conf refuses.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::harness::home::Home;
use crate::harness::{run, run_ok};

/// One request the server received: method, path (with query) and body.
type Request = (String, String, String);

/// An HTTP server on 127.0.0.1 answering 200 to everything; the requests it got.
struct Recorder {
    port: u16,
    got: Arc<Mutex<Vec<Request>>>,
}

impl Recorder {
    fn start() -> Recorder {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let got = Arc::new(Mutex::new(Vec::new()));
        let record = got.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut line = String::new();
                if reader.read_line(&mut line).is_err() {
                    continue;
                }
                let mut parts = line.split_whitespace();
                let method = parts.next().unwrap_or_default().to_owned();
                let path = parts.next().unwrap_or_default().to_owned();
                let mut length = 0;
                loop {
                    let mut header = String::new();
                    if reader.read_line(&mut header).unwrap_or(0) == 0 || header == "\r\n" {
                        break;
                    }
                    if let Some((name, value)) = header.split_once(':') {
                        if name.eq_ignore_ascii_case("content-length") {
                            length = value.trim().parse().unwrap_or(0);
                        }
                    }
                }
                let mut body = vec![0; length];
                let _ = reader.read_exact(&mut body);
                record.lock().unwrap().push((
                    method,
                    path,
                    String::from_utf8_lossy(&body).into_owned(),
                ));
                let _ = stream.write_all(
                    b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nOK",
                );
            }
        });
        Recorder { port, got }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}/ping/check-uuid", self.port)
    }

    fn requests(&self) -> Vec<Request> {
        self.got.lock().unwrap().clone()
    }
}

/// A HOME with an encrypted vault and `~/docs` (two files) in poof.conf, notifying `url`.
fn notifying(url: &str) -> Home {
    let (h, _) = Home::with_docs(&[("a.txt", b"one\n".to_vec()), ("b.txt", b"two\n".to_vec())]);
    h.set_conf("notify", serde_json::Value::from(url));
    h
}

fn summary(body: &str) -> serde_json::Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {body}"))
}

#[test]
fn a_backup_pings_start_then_success_with_its_summary() {
    let server = Recorder::start();
    let h = notifying(&server.url());
    run_ok(h.poof().args(["backup", "--no-progress"]));
    let got = server.requests();
    assert_eq!(got.len(), 2, "{got:?}");
    assert_eq!(
        (got[0].0.as_str(), got[0].1.as_str()),
        ("GET", "/ping/check-uuid/start")
    );
    assert_eq!(
        (got[1].0.as_str(), got[1].1.as_str()),
        ("POST", "/ping/check-uuid")
    );
    let body = summary(&got[1].2);
    assert_eq!(body["command"], "backup");
    assert_eq!(body["exit_code"], 0);
    assert_eq!(
        body["totals"]["transferred"],
        2 + 2,
        "two files and poof's two config files"
    );
    // A dry run sends nothing.
    run_ok(h.poof().args(["backup", "--dry-run", "--no-progress"]));
    assert_eq!(server.requests().len(), 2);
}

#[test]
fn a_refused_backup_sends_its_exit_code_and_summary() {
    let server = Recorder::start();
    let h = notifying(&server.url());
    run_ok(h.poof().args(["backup", "--no-progress"]));
    for file in ["a.txt", "b.txt"] {
        std::fs::remove_file(h.home().join("docs").join(file)).unwrap();
    }
    let out = run(h.poof().args(["backup", "--no-progress"]));
    assert_eq!(out.status.code(), Some(4));
    let got = server.requests();
    assert_eq!(got.len(), 4, "{got:?}");
    assert_eq!(got[2].1, "/ping/check-uuid/start");
    assert_eq!(
        (got[3].0.as_str(), got[3].1.as_str()),
        ("POST", "/ping/check-uuid/4")
    );
    let body = summary(&got[3].2);
    assert_eq!(body["result"], "refused");
    let docs = body["folders"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["destination"] == "poof-crypt:docs")
        .unwrap();
    assert_eq!(docs["result"], "refused");
    assert!(docs["message"]
        .as_str()
        .unwrap()
        .contains("nothing changed"));
}

#[test]
fn a_server_that_is_down_never_fails_or_holds_up_the_backup() {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let h = notifying(&format!("http://127.0.0.1:{port}/ping/secret-uuid"));
    let started = Instant::now();
    let out = run(h.poof().args(["backup", "--no-progress"]));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "{:?}",
        started.elapsed()
    );
    assert!(
        err.contains("poof: warning: the notification to 127.0.0.1 failed"),
        "{err}"
    );
    // The check's secret path never reaches the log.
    assert!(!err.contains("secret-uuid"), "{err}");
    let remote = h.poof_conf()["remote"].as_str().unwrap().to_owned();
    let listed = run_ok(h.rclone().arg("lsf").arg(format!("{remote}:docs")));
    assert_eq!(listed, "a.txt\nb.txt\n");
}

#[test]
fn a_notify_value_that_is_not_an_http_url_is_a_config_error() {
    let h = notifying("ftp://example.com/secret-uuid");
    let out = run(h.poof().arg("backup"));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("key \"notify\""), "{err}");
    assert!(!err.contains("secret-uuid"), "{err}");
}
