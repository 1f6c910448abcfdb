//! Azurite (Microsoft's Azure Storage emulator, from npm: `scripts/test.sh` installs it into
//! `target/azurite`) on a free loopback port: a real Azure Blob endpoint for the azureblob
//! tests. Telemetry is always off. The server is killed (by its PID) when the handle is
//! dropped; one that cannot start fails the test.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Azurite's well-known account.
pub const ACCOUNT: &str = "devstoreaccount1";
/// Azurite's well-known shared key (published by Microsoft).
pub const KEY: &str =
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

/// How long a server may take to answer.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// A server process on a loopback port, killed by its PID on drop.
pub struct Served {
    child: Child,
    /// The port it listens on (127.0.0.1).
    pub port: u16,
}

impl Served {
    /// Starts `cmd` (which must listen on `port`) and waits until the port answers.
    pub fn start(mut cmd: Command, port: u16, what: &str) -> Served {
        cmd.stdin(Stdio::null());
        let mut child = crate::harness::spawn(&mut cmd, Stdio::null);
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let start = Instant::now();
        while TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
            if let Ok(Some(status)) = child.try_wait() {
                panic!("{what} exited ({status}) before answering on port {port}");
            }
            if start.elapsed() > START_TIMEOUT {
                let _ = child.kill();
                panic!("{what} did not answer on port {port}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Served { child, port }
    }

    /// Kills the server now (a store that dies mid-run).
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
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("bind 127.0.0.1:0")
}

/// A file installed under `target/` by `scripts/test.sh`, or a failing test naming the step.
pub fn installed(rel: &str, step: &str) -> PathBuf {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("target")
        .join(rel);
    assert!(
        path.is_file(),
        "{} is missing: run scripts/test.sh ({step})",
        path.display()
    );
    path
}

/// A running Azurite blob service.
pub struct Azurite {
    /// The process and its port.
    pub served: Served,
}

impl Azurite {
    /// Starts Azurite keeping its blobs in `dir`.
    pub fn start(dir: &Path) -> Azurite {
        std::fs::create_dir_all(dir).expect("azurite folder");
        let bin = installed(
            "azurite/node_modules/.bin/azurite-blob",
            "npm install azurite",
        );
        let port = free_port();
        let mut cmd = Command::new(bin);
        cmd.args(["--blobHost", "127.0.0.1", "--blobPort"])
            .arg(port.to_string())
            .arg("--location")
            .arg(dir)
            .args(["--disableTelemetry", "--skipApiVersionCheck", "--loose"]);
        Azurite {
            served: Served::start(cmd, port, "azurite-blob"),
        }
    }

    /// The blob endpoint (account in the path, as Azurite wants).
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}/{ACCOUNT}", self.served.port)
    }

    /// An rclone config section `[name]` of type azureblob for this server (read by rclone
    /// and poof).
    pub fn section(&self, name: &str) -> String {
        format!(
            "[{name}]\ntype = azureblob\naccount = {ACCOUNT}\nkey = {KEY}\nendpoint = {}\n\n",
            self.endpoint()
        )
    }

    /// A scratch folder whose rclone config has one remote `az` over this server, with the
    /// empty container `cont` (made by rclone). Keep the server alive.
    pub fn scratch() -> (super::Scratch, Azurite) {
        let s = super::Scratch::new();
        let server = Azurite::start(&s.path("azurite"));
        s.write_config(&server.section("az"));
        super::run_ok(s.rclone().args(["mkdir", "az:cont"]));
        (s, server)
    }
}
