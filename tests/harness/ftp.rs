//! pyftpdlib (from PyPI: `scripts/test.sh` installs it with pyOpenSSL into `target/ftp-venv`)
//! on a free loopback port, with a user and password and write access, passive data ports on
//! loopback: a real FTP server (FEAT offers MLSD and MFMT) for the ftp tests. With TLS it
//! serves explicit FTPS (`AUTH TLS`), or implicit FTPS (TLS from the first byte: pyftpdlib's
//! TLS handler securing the connection before its greeting), with a self-signed certificate
//! made by the `openssl` command for the test. The server is killed (by its PID) when the handle is dropped; one
//! that cannot start fails the test.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::azurite::{free_port, installed, Served};

/// The user of the served folder.
pub const USER: &str = "poofftp";
/// Its password (given to rclone and poof obscured in the config, as users store it).
pub const PASS: &str = "poof-ftp-password-not-printed";

/// pyftpdlib without some commands (argv: port, folder, user, password, commands to drop):
/// its FEAT answer then does not offer them, as a server without MFMT or MLSD.
const WITHOUT: &str = r#"
import sys
from pyftpdlib.authorizers import DummyAuthorizer
from pyftpdlib.handlers import FTPHandler
from pyftpdlib.servers import FTPServer
port, folder, user, password, *dropped = sys.argv[1:]
class Handler(FTPHandler):
    proto_cmds = {k: v for k, v in FTPHandler.proto_cmds.items() if k not in dropped}
Handler.authorizer = DummyAuthorizer()
Handler.authorizer.add_user(user, password, folder, perm="elradfmwMT")
FTPServer(("127.0.0.1", int(port)), Handler).serve_forever()
"#;

/// pyftpdlib serving implicit FTPS (argv: port, folder, user, password, key, certificate):
/// its TLS handler, which otherwise waits for `AUTH TLS`, secures each connection at once.
const IMPLICIT: &str = r#"
import sys
from pyftpdlib.authorizers import DummyAuthorizer
from pyftpdlib.handlers import TLS_FTPHandler
from pyftpdlib.servers import FTPServer
port, folder, user, password, key, cert = sys.argv[1:]
class Handler(TLS_FTPHandler):
    certfile = cert
    keyfile = key
    tls_control_required = True
    tls_data_required = True
    def handle(self):
        self.secure_connection(self.ssl_context)
        super().handle()
Handler.authorizer = DummyAuthorizer()
Handler.authorizer.add_user(user, password, folder, perm="elradfmwMT")
FTPServer(("127.0.0.1", int(port)), Handler).serve_forever()
"#;

/// How a server speaks TLS.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Tls {
    /// Plain FTP.
    Off,
    /// Explicit FTPS (`AUTH TLS`).
    Explicit,
    /// Implicit FTPS.
    Implicit,
}

/// A running pyftpdlib server.
pub struct Pyftpd {
    /// The process and its port.
    pub served: Served,
    /// The served folder (the user's home).
    pub dir: PathBuf,
    tls: Tls,
}

impl Pyftpd {
    /// Serves `dir` (created if missing) over plain FTP.
    pub fn start(dir: &Path) -> Pyftpd {
        Pyftpd::start_with(dir, None)
    }

    /// Serves `dir` over explicit FTPS, with a certificate for 127.0.0.1 made in `keys`.
    pub fn start_tls(dir: &Path, keys: &Path) -> Pyftpd {
        Pyftpd::start_with(dir, Some(certificate(keys)))
    }

    /// Serves `dir` over implicit FTPS, with a certificate for 127.0.0.1 made in `keys`.
    pub fn start_implicit_tls(dir: &Path, keys: &Path) -> Pyftpd {
        let (key, cert) = certificate(keys);
        Pyftpd::launch(dir, Tls::Implicit, |cmd, port| {
            cmd.args(["-c", IMPLICIT])
                .arg(port.to_string())
                .arg(dir)
                .args([USER, PASS])
                .arg(&key)
                .arg(&cert);
        })
    }

    /// Serves `dir` over plain FTP without the FTP commands `dropped` (`MFMT`, `MLSD`).
    pub fn start_without(dir: &Path, dropped: &[&str]) -> Pyftpd {
        Pyftpd::launch(dir, Tls::Off, |cmd, port| {
            cmd.args(["-c", WITHOUT])
                .arg(port.to_string())
                .arg(dir)
                .args([USER, PASS])
                .args(dropped);
        })
    }

    fn start_with(dir: &Path, tls: Option<(PathBuf, PathBuf)>) -> Pyftpd {
        let mode = if tls.is_some() {
            Tls::Explicit
        } else {
            Tls::Off
        };
        Pyftpd::launch(dir, mode, |cmd, port| {
            cmd.args(["-m", "pyftpdlib", "-i", "127.0.0.1", "-w", "-p"])
                .arg(port.to_string())
                .args(["-u", USER, "-P", PASS, "-d"])
                .arg(dir);
            if let Some((key, cert)) = &tls {
                cmd.arg("--tls")
                    .arg("--keyfile")
                    .arg(key)
                    .arg("--certfile")
                    .arg(cert);
            }
        })
    }

    /// Starts the venv's Python with the arguments `args` gives for a free port.
    fn launch(dir: &Path, tls: Tls, args: impl FnOnce(&mut Command, u16)) -> Pyftpd {
        std::fs::create_dir_all(dir).expect("served folder");
        let python = installed("ftp-venv/bin/python", "pip install pyftpdlib");
        let port = free_port();
        let mut cmd = Command::new(python);
        args(&mut cmd, port);
        Pyftpd {
            served: Served::start(cmd, port, "pyftpdlib"),
            dir: dir.to_path_buf(),
            tls,
        }
    }

    /// An rclone config section `[name]` for this server (read by rclone and poof), the
    /// password obscured; for a TLS server its TLS (explicit_tls, or tls for implicit FTPS)
    /// without a certificate check.
    pub fn section(&self, name: &str) -> String {
        self.section_with(name, PASS)
    }

    /// A section `[name]` with the given password.
    pub fn section_with(&self, name: &str, pass: &str) -> String {
        let tls = match self.tls {
            Tls::Off => "",
            Tls::Explicit => "explicit_tls = true\nno_check_certificate = true\n",
            Tls::Implicit => "tls = true\nno_check_certificate = true\n",
        };
        format!(
            "[{name}]\ntype = ftp\nhost = 127.0.0.1\nport = {}\nuser = {USER}\npass = {}\n{tls}\n",
            self.served.port,
            poof_crypt::obscure(pass)
        )
    }

    /// Kills the server now (the test goes on without it).
    pub fn kill(&mut self) {
        self.served.kill();
    }
}

/// A self-signed certificate for 127.0.0.1 and its key, made in `keys` by `openssl`.
fn certificate(keys: &Path) -> (PathBuf, PathBuf) {
    std::fs::create_dir_all(keys).expect("key folder");
    let (key, cert) = (keys.join("key.pem"), keys.join("cert.pem"));
    let made = Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
        ])
        .args(["-subj", "/CN=127.0.0.1", "-keyout"])
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .expect("run openssl (Debian's openssl package)");
    assert!(
        made.status.success(),
        "openssl req: {}",
        String::from_utf8_lossy(&made.stderr)
    );
    (key, cert)
}
