//! `rclone serve webdav` (user and password) and `rclone serve http` (read-only index pages) on
//! free loopback ports: real servers for the webdav and http tests.
//!
//! A server is killed (by its PID) when its handle is dropped; one that does not answer within
//! [`START_TIMEOUT`] fails the test.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::rclone_bin;

/// The user of the served WebDAV endpoint.
pub const USER: &str = "poofuser";
/// Its password (given to rclone obscured in the config, as users store it).
pub const PASS: &str = "pooftestpassword-not-printed";

/// How long a server may take to answer.
const START_TIMEOUT: Duration = Duration::from_secs(20);

/// What an `rclone serve` serves.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// `rclone serve webdav` with [`USER`] / [`PASS`].
    Webdav,
    /// `rclone serve http`, anonymous and read-only.
    Http,
}

/// A running `rclone serve webdav` or `rclone serve http`.
pub struct Served {
    child: Child,
    /// The port it listens on (127.0.0.1).
    pub port: u16,
    /// The served directory.
    pub dir: PathBuf,
    protocol: Protocol,
}

impl Served {
    /// Serves `dir` (created if missing) over `protocol` on a free port, and waits until it
    /// answers.
    pub fn start(dir: &Path, protocol: Protocol) -> Served {
        std::fs::create_dir_all(dir).expect("served folder");
        let port = free_port();
        let mut serve = Command::new(rclone_bin());
        let kind = match protocol {
            Protocol::Webdav => "webdav",
            Protocol::Http => "http",
        };
        serve
            .args(["serve", kind, "--config", "/dev/null", "--addr"])
            // Not `--dir-cache-time 0s`: with it, rclone v1.75.2 sometimes leaves a PROPFIND
            // after a MOVE unanswered (observed). Write served folders before the start.
            .arg(format!("127.0.0.1:{port}"));
        if protocol == Protocol::Webdav {
            serve.args(["--user", USER, "--pass", PASS]);
        } else {
            serve.arg("--read-only");
        }
        serve.arg(dir).stdin(Stdio::null());
        let child = crate::harness::spawn(&mut serve, Stdio::null);
        let served = Served {
            child,
            port,
            dir: dir.to_path_buf(),
            protocol,
        };
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let start = Instant::now();
        while TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
            assert!(
                start.elapsed() < START_TIMEOUT,
                "rclone serve {kind} did not answer on port {port}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        served
    }

    /// The URL of the served root.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/", self.port)
    }

    /// An rclone config section `[name]` for this server (read by rclone and poof): a webdav
    /// remote of vendor `rclone` with the password obscured, or an http remote.
    pub fn section(&self, name: &str) -> String {
        match self.protocol {
            Protocol::Webdav => self.section_with(name, PASS),
            Protocol::Http => format!("[{name}]\ntype = http\nurl = {}\n\n", self.url()),
        }
    }

    /// A webdav section `[name]` with the given password.
    pub fn section_with(&self, name: &str, pass: &str) -> String {
        format!(
            "[{name}]\ntype = webdav\nurl = {}\nvendor = rclone\nuser = {USER}\npass = {}\n\n",
            self.url(),
            poof_crypt::obscure(pass)
        )
    }

    /// Kills the server now (the test goes on without it).
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A port that was free a moment ago.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("bind 127.0.0.1:0")
}
