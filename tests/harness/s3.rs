//! `rclone serve s3` on a free loopback port: a real S3 endpoint for the object-store tests.
//!
//! Each top-level folder of the served directory is a bucket. The server is killed (by its
//! PID) when the handle is dropped.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::rclone_bin;

/// Access key of the served endpoint.
pub const ACCESS_KEY: &str = "POOFTESTACCESS";
/// Secret key of the served endpoint.
pub const SECRET_KEY: &str = "pooftestsecretkey0123456789";

/// How long the server may take to answer.
const START_TIMEOUT: Duration = Duration::from_secs(20);

/// A running `rclone serve s3`.
pub struct S3Server {
    child: Child,
    /// The port it listens on (127.0.0.1).
    pub port: u16,
    /// The served directory.
    pub dir: PathBuf,
}

impl S3Server {
    /// Serves `dir` (created if missing) with [`ACCESS_KEY`] / [`SECRET_KEY`], creating the
    /// given buckets (top-level folders) first.
    pub fn start(dir: &Path, buckets: &[&str]) -> S3Server {
        for bucket in buckets {
            std::fs::create_dir_all(dir.join(bucket)).expect("bucket folder");
        }
        let port = free_port();
        let mut serve = Command::new(rclone_bin());
        serve
            .args(["serve", "s3", "--config", "/dev/null", "--addr"])
            .arg(format!("127.0.0.1:{port}"))
            .arg("--auth-key")
            .arg(format!("{ACCESS_KEY},{SECRET_KEY}"))
            .arg(dir)
            .stdin(Stdio::null());
        let child = crate::harness::spawn(&mut serve, Stdio::null);
        let server = S3Server {
            child,
            port,
            dir: dir.to_path_buf(),
        };
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let start = Instant::now();
        while TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
            assert!(
                start.elapsed() < START_TIMEOUT,
                "rclone serve s3 did not answer on port {port}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        server
    }

    /// A scratch folder whose rclone config has one remote `s3`, a plain S3 remote over a
    /// server of the folder `s3/` holding the empty bucket `bucket`. Keep the server alive.
    pub fn scratch() -> (super::Scratch, S3Server) {
        let s = super::Scratch::new();
        let server = S3Server::start(&s.path("s3"), &["bucket"]);
        s.write_config(&server.section("s3"));
        (s, server)
    }

    /// The endpoint URL.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// An rclone config section `[name]` of type s3 for this endpoint (read by rclone and poof).
    pub fn section(&self, name: &str) -> String {
        format!(
            "[{name}]\ntype = s3\nprovider = Rclone\naccess_key_id = {ACCESS_KEY}\nsecret_access_key = {SECRET_KEY}\nendpoint = {}\n\n",
            self.endpoint()
        )
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A port that was free a moment ago.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("bind 127.0.0.1:0")
}
