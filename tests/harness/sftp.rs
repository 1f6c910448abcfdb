//! SFTP servers on a free loopback port for the sftp tests: `rclone serve sftp` (password
//! login) and Debian's OpenSSH `sshd` with a config of its own (key login), each with a host
//! key and a client key made by `ssh-keygen` in a scratch folder of the server's own.
//!
//! Password login is tested against `rclone serve sftp` only: sshd checks passwords against
//! the system's accounts, and the tests do not change the password of the user running them
//! (root in CI). A server that cannot start fails the test. The server is killed (by its PID)
//! when the handle is dropped or [`SftpServer::stop`] is called.

use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::s3::free_port;
use super::{rclone_bin, run_ok};

/// User name of `rclone serve sftp`.
pub const USER: &str = "poofsftp";
/// Password of `rclone serve sftp`.
pub const PASS: &str = "sftp test password 42";

/// Passphrase of the RSA client key ([`SftpServer::client_rsa_key`]).
pub const KEY_PASS: &str = "rsa key passphrase 7";

/// How long a server may take to answer.
const START_TIMEOUT: Duration = Duration::from_secs(20);

/// OpenSSH's server, installed by `scripts/test.sh`.
const SSHD: &str = "/usr/sbin/sshd";

/// A running SFTP server.
pub struct SftpServer {
    child: Option<Child>,
    /// The port it listens on (127.0.0.1).
    pub port: u16,
    /// Host key, client key, authorized_keys, known_hosts (and sshd's config).
    pub keys: tempfile::TempDir,
    /// The user to log in as.
    pub user: String,
    /// Logs in with a password (rclone) rather than a key (sshd).
    password: bool,
}

/// Runs `ssh-keygen` for a new key of `kind` (`ed25519`, `rsa`) with `passphrase` at `path`.
fn keygen(path: &Path, kind: &str, passphrase: &str) {
    run_ok(
        Command::new("ssh-keygen")
            .args(["-q", "-t", kind, "-N", passphrase, "-C", "poof-test", "-f"])
            .arg(path),
    );
}

impl SftpServer {
    /// A scratch key folder: `host_key`, `client_key` (ed25519), `client_rsa` (RSA, encrypted
    /// with [`KEY_PASS`]), `authorized_keys` (both client keys).
    fn keys() -> tempfile::TempDir {
        let keys = tempfile::tempdir().expect("tempdir");
        let k = keys.path();
        keygen(&k.join("host_key"), "ed25519", "");
        keygen(&k.join("client_key"), "ed25519", "");
        keygen(&k.join("client_rsa"), "rsa", KEY_PASS);
        let public = |name: &str| std::fs::read_to_string(k.join(name)).expect("public key");
        let authorized = public("client_key.pub") + &public("client_rsa.pub");
        std::fs::write(k.join("authorized_keys"), authorized).expect("authorized_keys");
        keys
    }

    /// Starts a server with `command` for a free port, on another port when it exits at once
    /// (the port was taken meanwhile by a server of another test).
    fn start(
        keys: tempfile::TempDir,
        user: String,
        password: bool,
        command: impl Fn(u16) -> Command,
    ) -> SftpServer {
        let mut keys = Some(keys);
        for _ in 0..3 {
            let port = free_port();
            let child = crate::harness::spawn(&mut command(port), Stdio::null);
            if let Some(child) = SftpServer::started(child, port) {
                return SftpServer {
                    child: Some(child),
                    port,
                    keys: keys.take().expect("keys"),
                    user,
                    password,
                };
            }
        }
        panic!("the SFTP server exited at start on three ports in a row");
    }

    /// `rclone serve sftp` of `dir` (created if missing) for [`USER`] / [`PASS`]. Not with
    /// `--dir-cache-time 0s`: with it, rclone v1.75.2 sometimes spins on a listing and never
    /// answers (observed); a test that changes the served folder behind the server's back
    /// starts a new server to be seen.
    pub fn rclone(dir: &Path) -> SftpServer {
        std::fs::create_dir_all(dir).expect("served folder");
        let keys = SftpServer::keys();
        let k = keys.path().to_owned();
        SftpServer::start(keys, USER.to_owned(), true, |port| {
            let mut serve = Command::new(rclone_bin());
            serve
                .args(["serve", "sftp", "--config", "/dev/null", "--addr"])
                .arg(format!("127.0.0.1:{port}"))
                .args(["--user", USER, "--pass", PASS])
                .arg("--key")
                .arg(k.join("host_key"))
                .arg("--authorized-keys")
                .arg(k.join("authorized_keys"))
                .arg(dir)
                .stdin(Stdio::null());
            serve
        })
    }

    /// OpenSSH's sshd with a config of its own (key login of the current user, `internal-sftp`);
    /// paths are absolute or relative to the user's home.
    pub fn sshd() -> SftpServer {
        assert!(
            Path::new(SSHD).is_file(),
            "{SSHD} is missing: scripts/test.sh installs openssh-server"
        );
        let keys = SftpServer::keys();
        // sshd's privilege separation folder.
        std::fs::create_dir_all("/run/sshd").expect("/run/sshd");
        let k = keys.path().to_owned();
        let user = std::env::var("USER").unwrap_or_else(|_| "root".to_owned());
        SftpServer::start(keys, user, false, |port| {
            let config = format!(
            "Port {port}\nListenAddress 127.0.0.1\nHostKey {}\nPidFile {}\nAuthorizedKeysFile {}\n\
             PubkeyAuthentication yes\nPasswordAuthentication no\nKbdInteractiveAuthentication no\n\
             PermitRootLogin yes\nUsePAM no\nStrictModes no\nSubsystem sftp internal-sftp\n",
            k.join("host_key").display(),
            k.join("sshd.pid").display(),
            k.join("authorized_keys").display(),
        );
            std::fs::write(k.join("sshd_config"), config).expect("sshd_config");
            let mut serve = Command::new(SSHD);
            serve
                .args(["-D", "-e", "-f"])
                .arg(k.join("sshd_config"))
                .stdin(Stdio::null());
            serve
        })
    }

    /// Waits until `child` answers on `port`; `None` when it exited (a port taken meanwhile:
    /// what answered then may be another test's server, so it must still run a moment later).
    fn started(mut child: Child, port: u16) -> Option<Child> {
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let start = Instant::now();
        loop {
            let answered = TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok();
            if answered {
                std::thread::sleep(Duration::from_millis(100));
            }
            if let Ok(Some(_)) = child.try_wait() {
                return None;
            }
            if answered {
                return Some(child);
            }
            assert!(
                start.elapsed() < START_TIMEOUT,
                "the SFTP server did not answer on port {port}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The client key's file.
    pub fn client_key(&self) -> PathBuf {
        self.keys.path().join("client_key")
    }

    /// The RSA client key's file (OpenSSH format, encrypted with [`KEY_PASS`]).
    pub fn client_rsa_key(&self) -> PathBuf {
        self.keys.path().join("client_rsa")
    }

    /// A known_hosts file that lists this server's host key for `[127.0.0.1]:port`.
    pub fn known_hosts(&self) -> PathBuf {
        let public =
            std::fs::read_to_string(self.keys.path().join("host_key.pub")).expect("host key");
        let mut fields = public.split_whitespace();
        let (kind, key) = (fields.next().expect("type"), fields.next().expect("key"));
        let file = self.keys.path().join("known_hosts");
        std::fs::write(&file, format!("[127.0.0.1]:{} {kind} {key}\n", self.port))
            .expect("known_hosts");
        file
    }

    /// An rclone config section `[name]` of type sftp for this server (read by rclone and
    /// poof): the password for `rclone serve sftp`, the client key for sshd.
    pub fn section(&self, name: &str) -> String {
        let login = if self.password {
            format!("pass = {}\n", poof_crypt::obscure(PASS))
        } else {
            format!("key_file = {}\n", self.client_key().display())
        };
        format!(
            "[{name}]\ntype = sftp\nhost = 127.0.0.1\nport = {}\nuser = {}\n{login}\n",
            self.port, self.user
        )
    }

    /// Kills the server now.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for SftpServer {
    fn drop(&mut self) {
        self.stop();
    }
}
