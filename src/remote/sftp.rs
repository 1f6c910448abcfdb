//! The `type = sftp` storage type: an rclone sftp section served by poof's own SSH client
//! (russh, pure Rust) speaking SFTP version 3 (russh-sftp), as a [`Backend`] of its own.
//!
//! Why not OpenDAL: its sftp service runs the system `ssh` binary, so it can neither log in
//! with a password (rclone's `pass`) nor set a file's modification time (SFTP `setstat`), and
//! its writes are not atomic for readers. poof's client logs in with `key_file` (decrypted
//! with `key_file_pass`) and then `pass`, whichever the section sets, without any program of
//! the system.
//!
//! # Keys honoured
//!
//! `host`, `port` (default 22), `user` (default: the user running poof), `pass` and
//! `key_file_pass` (obscured, as rclone stores them), `key_file` (a leading `~/` is the home
//! folder), `known_hosts_file` and `set_modtime` (default true). With `known_hosts_file` set,
//! the server's host key must match an entry of that file for `host` (or `[host]:port`), else
//! the run stops with one line naming the file; without it, any host key is accepted, as
//! rclone does by default. Every other option that changes what rclone would do (`key_pem`,
//! `key_use_agent`, `use_insecure_cipher`, `disable_hashcheck`, `ciphers`, ...) is reported
//! once as a warning ([`IGNORED_OPTIONS`]). The keys that rclone writes into the section by
//! itself after probing the server (`shell_type`, `md5sum_command`, `sha1sum_command`) only
//! tell it how to hash files on the server, which poof never does ([`HASH_OPTIONS`]): they are
//! not warned about, or every run after rclone's first would print three warnings.
//!
//! The path is relative to the login folder, or absolute with a leading `/` (as rclone).
//!
//! # Files and modification times
//!
//! Directories are real: `mkdir` makes missing parents one by one, `rmdir` removes one empty
//! folder. Listings come from `readdir` with sizes and modification times (whole seconds: SFTP
//! version 3 keeps no more), so [`FEATURES`] says `mtime_in_listing`. A symbolic link is listed
//! as what it points to, as rclone does.
//!
//! [`Backend::put`] is atomic for readers, as the local backend's: the bytes go to a temporary
//! name in the destination folder (the local backend's [`temp_name`], so that the same
//! [`is_temp_name`] rule tells poof's temporaries from a user's files), several write requests
//! in flight at once with bounded memory; then `setstat` records the modification time (unless
//! `set_modtime = false`) and the temporary is renamed over the real name. SFTP version 3's
//! rename fails when the target exists: poof uses OpenSSH's `posix-rename@openssh.com` where the
//! server offers it, else it removes the old file and renames, which leaves a moment (one
//! round trip) where neither version is under the real name. A failed or cancelled put removes
//! its temporary; a killed poof's temporaries are skipped by listings and removed by
//! [`Backend::cleanup`] after a clean run, once their last write is more than [`STALE_AFTER`]
//! old by the server's clock as listed against poof's (a temporary of a running write keeps
//! being written; this process's own running writes are never touched).
//!
//! Reads (`open`, whole or a range) stream with several read requests in flight and a bounded
//! buffer.
//!
//! # Connection
//!
//! A small pool of SSH connections (one SFTP channel each, at most [`MAX_CONNECTIONS`]): each
//! listing, request or transfer borrows one for its duration, so the engine's concurrent
//! transfers run on connections of their own, as rclone's sftp backend does. One channel
//! multiplexing every transfer was tried: `rclone serve sftp` answers a channel's requests in
//! order, so a write that waits for its predecessors there held every other file's requests
//! until they timed out. A connection that drops is not put back: the next request makes a new
//! one, and its requests in flight fail at once ("the connection ... was lost"). A request that
//! gets no answer within [`REQUEST_TIMEOUT`] fails.
//!
//! # Names
//!
//! rclone's sftp backend encodes names with `Slash,Dot`, the encoding of a Linux disk: each
//! Standard name goes to the server as its disk name ([`encoding::to_sftp_path`]). A name with
//! a byte that is not UTF-8 cannot be sent by poof's client and fails that file.

use std::collections::{HashSet, VecDeque};
use std::io;
use std::ops::Range;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context as TaskContext, Poll};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{anyhow, bail, Context, Result};
use async_trait::async_trait;
use futures::stream::{FuturesOrdered, FuturesUnordered};
use futures::{FutureExt, StreamExt};
use russh::client;
use russh::keys::key::PrivateKeyWithHashAlg;
use russh::keys::{HashAlg, PrivateKey, PublicKey};
use russh_sftp::client::error::Error as SftpError;
use russh_sftp::client::RawSftpSession;
use russh_sftp::protocol::{
    Attrs, Data, FileAttributes, Handle, Name, OpenFlags, Packet, Status, StatusCode,
};
use tokio::io::AsyncReadExt;
use zeroize::Zeroizing;

use super::backend::{
    Backend, ByteStream, Entry, EntryKind, Features, Length, Listing, PutOptions, TooLong,
};
use super::encoding;
use super::local::{self, is_temp_name, temp_name};
use super::opendal::StreamReader;
use super::{Below, StorageType};
use crate::config::rclone::Section;
use crate::exit::{Code, WithCode};

/// What an SFTP server can do: listings carry sizes and modification times (whole seconds),
/// folders are real, and a rename moves a file on the server.
pub const FEATURES: Features = Features {
    mtime_in_listing: true,
    mtime_precision: Duration::from_secs(1),
    real_dirs: true,
    server_side_move: true,
    writable: true,
    small_files_at_once: false,
    walk_by_folder: true,
    // The server's file system: NAME_MAX of Linux's (ext4, XFS, Btrfs, ZFS), which serve
    // almost every SFTP login. (NTFS counts 255 UTF-16 units: more bytes for names beyond
    // ASCII, never fewer, so this refuses nothing that a Linux server would take.)
    max_segment: Some(Length::Bytes(local::NAME_MAX)),
    max_key: None,
};

/// The `sftp` line of [`super::TYPES`]: `name:path` (relative to the login folder) or
/// `name:/absolute/path`.
pub const TYPE: StorageType = StorageType {
    name: "sftp",
    open: |resolver, section, path| resolver.opened(open(section, path)),
    below: |_, _| Below::Elsewhere,
    is_crypt: false,
};

/// rclone's default SSH port.
pub const DEFAULT_PORT: u16 = 22;

/// Bytes of one read or write request (what every SFTP server accepts).
const REQUEST_SIZE: usize = 32 * 1024;

/// Read or write requests in flight at once per transfer: 16 x 32 KiB = 512 KiB of buffers.
const REQUESTS_IN_FLIGHT: usize = 16;

/// Write requests a put keeps in flight (rclone's `concurrency` default is 64 too).
const WRITES_IN_FLIGHT: usize = 64;

/// The ciphers offered, best first: AES-GCM before ChaCha20-Poly1305, as rclone and OpenSSH
/// offer them on CPUs with AES instructions, where it costs both ends less.
const CIPHERS: &[russh::cipher::Name] = &[
    russh::cipher::AES_256_GCM,
    russh::cipher::CHACHA20_POLY1305,
    russh::cipher::AES_256_CTR,
    russh::cipher::AES_192_CTR,
    russh::cipher::AES_128_CTR,
];

/// How long a request may wait for its answer.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// How long the connection and login may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(20);

/// A temporary file whose last write is older than this is a killed write's leftover.
pub const STALE_AFTER: Duration = Duration::from_secs(60);

/// SSH connections a backend opens at most: one per transfer or listing under way.
pub const MAX_CONNECTIONS: usize = 16;

/// The SFTP extension that renames over an existing file.
const POSIX_RENAME: &str = "posix-rename@openssh.com";

/// Options of an rclone sftp section that poof does not honour, with the reason given in the
/// warning (printed when the option is set to anything but its default).
pub const IGNORED_OPTIONS: &[(&str, &str)] = &[
    ("key_pem", "put the key in a file and name it in key_file"),
    ("key_use_agent", "poof does not ask an ssh-agent"),
    ("pubkey", "certificates are not supported"),
    ("pubkey_file", "certificates are not supported"),
    ("use_insecure_cipher", "only current ciphers are offered"),
    (
        "disable_hashcheck",
        "poof never runs commands on the server",
    ),
    (
        "ssh",
        "poof's SSH client is built in; it never runs another",
    ),
    ("ask_password", "set pass in the config"),
    ("path_override", "not supported"),
    ("skip_links", "links are listed as what they point to"),
    ("subsystem", "the `sftp` subsystem is always used"),
    ("server_command", "the `sftp` subsystem is always used"),
    ("use_fstat", "not supported"),
    (
        "disable_concurrent_reads",
        "reads always keep several requests in flight",
    ),
    (
        "disable_concurrent_writes",
        "writes always keep several requests in flight",
    ),
    ("set_env", "not supported"),
    ("ciphers", "russh's defaults are used"),
    ("key_exchange", "russh's defaults are used"),
    ("macs", "russh's defaults are used"),
    ("host_key_algorithms", "russh's defaults are used"),
    ("socks_proxy", "proxies are not supported"),
    ("http_proxy", "proxies are not supported"),
    ("copy_is_hardlink", "not supported"),
];

/// Options rclone writes into the section by itself once it has probed the server
/// (`shell_type`, `md5sum_command`, `sha1sum_command`) or that only choose hashes: they tell
/// rclone how to compute hashes on the server, which poof never does (its checks of an sftp
/// remote read the data), so they change nothing poof does and are not warned about.
pub const HASH_OPTIONS: &[&str] = &["shell_type", "md5sum_command", "sha1sum_command", "hashes"];

/// What rclone's `encoding` of an sftp section is by default (the only one poof writes).
const DEFAULT_ENCODING: &str = "Slash,Dot";

/// Where and how to log in.
struct Login {
    host: String,
    port: u16,
    user: String,
    pass: Option<Zeroizing<String>>,
    key: Option<Arc<PrivateKey>>,
    known_hosts: Option<PathBuf>,
}

impl Login {
    /// `host:port` as messages name the server.
    fn server(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }
}

/// One SSH connection and its SFTP channel.
struct Conn {
    sftp: Arc<Session>,
    posix_rename: bool,
    ssh: client::Handle<HostCheck>,
}

/// Connections not in use, and how many may exist at once.
struct Pool {
    idle: Mutex<Vec<Conn>>,
    slots: Arc<tokio::sync::Semaphore>,
}

/// A connection lent to one request or transfer, back in the pool when dropped (unless it
/// was lost).
struct Lease {
    conn: Option<Conn>,
    pool: Arc<Pool>,
    _slot: tokio::sync::OwnedSemaphorePermit,
}

impl std::ops::Deref for Lease {
    type Target = Conn;

    fn deref(&self) -> &Conn {
        // Only `Drop` takes the connection out.
        self.conn.as_ref().unwrap_or_else(|| unreachable!())
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take().filter(|c| !c.ssh.is_closed()) {
            if let Ok(mut idle) = self.pool.idle.lock() {
                idle.push(conn);
            }
        }
    }
}

/// An SFTP server's folder.
pub struct SftpBackend {
    /// `name:path`, for messages (no secret).
    label: String,
    login: Login,
    /// The root on the server: `""` (the login folder), a relative or an absolute path.
    root: String,
    set_modtime: bool,
    pool: Arc<Pool>,
    /// Folders known to exist (full server paths).
    made: Mutex<HashSet<String>>,
    /// Temporary files of this process's running puts (full server paths).
    live: Arc<Mutex<HashSet<String>>>,
    /// Temporary files listings came across, with their listed modification time.
    temps_seen: Mutex<Vec<(String, Option<SystemTime>)>>,
}

/// Expands a leading `~/` to the home folder.
fn expand_home(path: &str) -> PathBuf {
    match (path.strip_prefix("~/"), std::env::var_os("HOME")) {
        (Some(rest), Some(home)) => PathBuf::from(home).join(rest),
        _ => PathBuf::from(path),
    }
}

/// Builds the backend of `name:path` from its `type = sftp` section, and the warnings to
/// print once (options poof does not honour).
///
/// # Errors
/// No `host`, a `port` or boolean that does not parse, a password that is not obscured, a
/// `key_file` that cannot be read or decrypted, a `known_hosts_file` that cannot be read, or a
/// path that cannot be a name on the server; each error names the section and key, never a
/// secret.
pub fn open(section: &Section, path: &str) -> Result<(SftpBackend, Vec<String>)> {
    let name = section.name();
    let get = |key: &str| section.get(key).map(str::trim).filter(|v| !v.is_empty());
    let Some(host) = get("host") else {
        bail!("[{name}] has no `host =`: name the SFTP server");
    };
    let port = match get("port") {
        None => DEFAULT_PORT,
        Some(text) => text
            .parse::<u16>()
            .ok()
            .filter(|p| *p != 0)
            .ok_or_else(|| anyhow!("[{name}] port = {text}: not a port number (1-65535)"))?,
    };
    let user = match get("user") {
        Some(user) => user.to_owned(),
        None => std::env::var("USER")
            .or_else(|_| std::env::var("LOGNAME"))
            .map_err(|_| anyhow!("[{name}] has no `user =` and the current user is unknown"))?,
    };
    let pass = section.get_revealed("pass")?;
    let key_pass = section.get_revealed("key_file_pass")?;
    let key = match get("key_file") {
        None => None,
        Some(file) => {
            let path = expand_home(file);
            let text = std::fs::read_to_string(&path)
                .with_context(|| format!("[{name}] key_file: cannot read {}", path.display()))?;
            let key =
                russh::keys::decode_secret_key(&text, key_pass.as_deref().map(|p| p.as_str()))
                    .map_err(|e| {
                        anyhow!(
                            "[{name}] key_file: cannot load the key in {} ({}): {e}",
                            path.display(),
                            if key_pass.is_some() {
                                "is key_file_pass right?"
                            } else {
                                "an encrypted key needs key_file_pass"
                            }
                        )
                    })?;
            Some(Arc::new(key))
        }
    };
    let known_hosts = match get("known_hosts_file") {
        None => None,
        Some(file) => {
            let path = expand_home(file);
            std::fs::metadata(&path).with_context(|| {
                format!("[{name}] known_hosts_file: cannot read {}", path.display())
            })?;
            Some(path)
        }
    };
    let set_modtime = section
        .get_bool("set_modtime")
        .map_err(|e| anyhow!("{e}"))?
        .unwrap_or(true);
    if pass.is_none() && key.is_none() {
        bail!("[{name}] sets neither pass nor key_file: poof needs one to log in");
    }
    let mut warnings = Vec::new();
    for (key, why) in IGNORED_OPTIONS {
        if get(key).is_some() && !matches!(section.get_bool(key), Ok(Some(false))) {
            warnings.push(format!("[{name}] {key} is ignored: {why}"));
        }
    }
    if let Some(enc) = get("encoding").filter(|e| *e != DEFAULT_ENCODING) {
        warnings.push(format!(
            "[{name}] encoding = {enc} is ignored: poof writes names as rclone's default {DEFAULT_ENCODING}"
        ));
    }
    let root = match path.strip_prefix('/') {
        Some(abs) => format!("/{}", server_path(abs.trim_matches('/'))?),
        None => server_path(path.trim_matches('/'))?,
    };
    let backend = SftpBackend {
        label: format!("{name}:{path}"),
        login: Login {
            host: host.to_owned(),
            port,
            user,
            pass,
            key,
            known_hosts,
        },
        root,
        set_modtime,
        pool: Arc::new(Pool {
            idle: Mutex::default(),
            slots: Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTIONS)),
        }),
        made: Mutex::default(),
        live: Arc::default(),
        temps_seen: Mutex::default(),
    };
    Ok((backend, warnings))
}

/// The server form of a relative Standard path.
fn server_path(rel: &str) -> Result<String> {
    encoding::to_sftp_path(rel)
        .map(std::borrow::Cow::into_owned)
        .map_err(|why| {
            anyhow!(
                "{:?} cannot be a name on an SFTP server: {why}",
                encoding::printable(rel)
            )
        })
}

/// The folder of a server path (`""` for a name in the login folder, `/` at the top).
fn parent(path: &str) -> &str {
    match path.rsplit_once('/') {
        Some(("", _)) => "/",
        Some((dir, _)) => dir,
        None => "",
    }
}

/// Joins a server folder and a name.
fn join(dir: &str, name: &str) -> String {
    match dir {
        "" => name.to_owned(),
        d if d.ends_with('/') => format!("{d}{name}"),
        d => format!("{d}/{name}"),
    }
}

/// True when an SFTP error says that nothing is at the path.
fn is_missing(err: &SftpError) -> bool {
    matches!(err, SftpError::Status(s) if s.status_code == StatusCode::NoSuchFile)
}

/// True for the end of a file or of a folder's listing.
fn is_eof(err: &SftpError) -> bool {
    matches!(err, SftpError::Status(s) if s.status_code == StatusCode::Eof)
}

/// A listed modification time.
fn mtime_of(attrs: &FileAttributes) -> Option<SystemTime> {
    attrs
        .mtime
        .map(|secs| UNIX_EPOCH + Duration::from_secs(u64::from(secs)))
}

/// The kind of the thing `attrs` describe (links already followed); `None` for what is
/// neither a file nor a folder (sockets, devices).
fn kind_of(attrs: &FileAttributes) -> Option<EntryKind> {
    if attrs.is_dir() {
        Some(EntryKind::Dir)
    } else if attrs.is_regular() || attrs.permissions.is_none() {
        Some(EntryKind::File)
    } else {
        None
    }
}

/// SFTP version 3 keeps modification times as unsigned seconds.
fn wire_secs(time: SystemTime) -> u32 {
    time.duration_since(UNIX_EPOCH)
        .map_or(0, |d| u32::try_from(d.as_secs()).unwrap_or(u32::MAX))
}

/// An SSH string: its length then its bytes.
fn ssh_string(out: &mut Vec<u8>, text: &str) {
    let len = u32::try_from(text.len()).unwrap_or(u32::MAX);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(text.as_bytes());
}

/// An SFTP channel whose requests fail as soon as its SSH connection is gone (russh-sftp
/// would wait [`REQUEST_TIMEOUT`] for each answer a closed channel never brings).
struct Session {
    raw: RawSftpSession,
    /// Sees its sender dropped when the connection's session ends.
    lost: tokio::sync::watch::Receiver<()>,
}

impl Session {
    /// `request`'s answer, or an error as soon as the connection is gone.
    async fn until_lost<T>(
        &self,
        request: impl std::future::Future<Output = Result<T, SftpError>>,
    ) -> Result<T, SftpError> {
        let mut lost = self.lost.clone();
        tokio::select! {
            answer = request => answer,
            _ = lost.changed() => Err(SftpError::UnexpectedBehavior("connection closed".into())),
        }
    }
}

/// [`Session`]'s requests: russh-sftp's of the same name, through [`Session::until_lost`].
macro_rules! session_requests {
    ($($name:ident($($arg:ident: $ty:ty),*) -> $out:ty;)*) => {
        impl Session {
            $(
                async fn $name(&self, $($arg: $ty),*) -> Result<$out, SftpError> {
                    self.until_lost(self.raw.$name($($arg),*)).await
                }
            )*
        }
    };
}

session_requests! {
    open(path: &str, flags: OpenFlags, attrs: FileAttributes) -> Handle;
    close(handle: impl Into<String>) -> Status;
    read(handle: String, offset: u64, len: u32) -> Data;
    write(handle: String, offset: u64, data: Vec<u8>) -> Status;
    setstat(path: &str, attrs: FileAttributes) -> Status;
    opendir(path: &str) -> Handle;
    readdir(handle: &str) -> Name;
    remove(path: &str) -> Status;
    mkdir(path: &str, attrs: FileAttributes) -> Status;
    rmdir(path: &str) -> Status;
    stat(path: &str) -> Attrs;
    rename(from: &str, to: &str) -> Status;
    extended(request: &str, data: Vec<u8>) -> Packet;
}

/// Checks the server's host key against `known_hosts_file`, when one is set.
struct HostCheck {
    /// Dropped with the handler when the connection's session ends ([`Session::lost`]).
    _alive: tokio::sync::watch::Sender<()>,
    host: String,
    port: u16,
    known_hosts: Option<PathBuf>,
    /// Why the key was refused, for the connection's error.
    refused: Arc<Mutex<Option<String>>>,
}

#[async_trait]
impl client::Handler for HostCheck {
    type Error = russh::Error;

    async fn check_server_key(&mut self, server_key: &PublicKey) -> Result<bool, Self::Error> {
        let Some(file) = &self.known_hosts else {
            // rclone's default: no known_hosts_file, any host key.
            return Ok(true);
        };
        let why = match russh::keys::check_known_hosts_path(&self.host, self.port, server_key, file)
        {
            Ok(true) => return Ok(true),
            Ok(false) => format!("is not listed in {}", file.display()),
            Err(russh::keys::Error::KeyChanged { line }) => format!(
                "does not match the one at line {line} of {}",
                file.display()
            ),
            Err(e) => format!("cannot be checked against {}: {e}", file.display()),
        };
        if let Ok(mut slot) = self.refused.lock() {
            *slot = Some(why);
        }
        Ok(false)
    }
}

impl SftpBackend {
    /// The server path of a relative Standard path.
    fn full(&self, rel: &str) -> Result<String> {
        let rel = server_path(rel)?;
        Ok(match (self.root.as_str(), rel.as_str()) {
            ("", "") => ".".to_owned(),
            (root, "") => root.to_owned(),
            (root, rel) => join(root, rel),
        })
    }

    /// The error of a request about `path`.
    fn fail(&self, what: &str, path: &str, err: &SftpError) -> anyhow::Error {
        let why = match err {
            SftpError::Timeout => format!(
                "no answer from {} within {}s",
                self.login.server(),
                REQUEST_TIMEOUT.as_secs()
            ),
            SftpError::UnexpectedBehavior(m) if m.contains("closed") => {
                format!("the connection to {} was lost", self.login.server())
            }
            other => other.to_string(),
        };
        anyhow!("{}: cannot {what} {path}: {why}", self.label)
    }

    /// A connection of the pool for one request or transfer: an idle one, or a new one.
    async fn conn(&self) -> Result<Lease> {
        let slot = self
            .pool
            .slots
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| anyhow!("{}: the connection pool is closed", self.label))?;
        let idle = loop {
            let next = self.pool.idle.lock().ok().and_then(|mut idle| idle.pop());
            match next {
                Some(conn) if conn.ssh.is_closed() => continue,
                other => break other,
            }
        };
        if let Some(conn) = idle {
            return Ok(Lease {
                conn: Some(conn),
                pool: self.pool.clone(),
                _slot: slot,
            });
        }
        let conn = tokio::time::timeout(CONNECT_TIMEOUT, self.connect())
            .await
            .map_err(|_| {
                anyhow!(
                    "{}: {} did not let poof log in within {}s",
                    self.label,
                    self.login.server(),
                    CONNECT_TIMEOUT.as_secs()
                )
            })??;
        Ok(Lease {
            conn: Some(conn),
            pool: self.pool.clone(),
            _slot: slot,
        })
    }

    /// Connects, checks the host key, logs in and opens the SFTP channel.
    async fn connect(&self) -> Result<Conn> {
        let login = &self.login;
        let server = login.server();
        let config = Arc::new(client::Config {
            keepalive_interval: Some(Duration::from_secs(15)),
            keepalive_max: 3,
            preferred: russh::Preferred {
                cipher: std::borrow::Cow::Borrowed(CIPHERS),
                ..russh::Preferred::default()
            },
            ..client::Config::default()
        });
        let refused = Arc::new(Mutex::new(None));
        let (alive, gone) = tokio::sync::watch::channel(());
        let check = HostCheck {
            _alive: alive,
            host: login.host.clone(),
            port: login.port,
            known_hosts: login.known_hosts.clone(),
            refused: refused.clone(),
        };
        let socket = tokio::net::TcpStream::connect((login.host.as_str(), login.port))
            .await
            .map_err(|e| anyhow!("{}: cannot connect to {server}: {e}", self.label))
            .coded(Code::Unreachable)?;
        // Without Nagle's delay, as OpenSSH and rclone: the tail of a write request that spills
        // over an SSH packet leaves at once instead of waiting for the previous packet's ACK.
        socket
            .set_nodelay(true)
            .map_err(|e| anyhow!("{}: {server}: {e}", self.label))?;
        let connected = client::connect_stream(config, socket, check).await;
        let mut ssh = match connected {
            Ok(ssh) => ssh,
            Err(err) => {
                if let Some(why) = refused.lock().ok().and_then(|mut r| r.take()) {
                    bail!("{}: the host key of {server} {why}", self.label);
                }
                bail!("{}: cannot connect to {server}: {err}", self.label);
            }
        };
        let lost = |e: russh::Error| anyhow!("{}: {server}: {e}", self.label);
        let mut tried = Vec::new();
        let mut in_ = false;
        if let Some(key) = &login.key {
            // RSA keys sign with SHA-512 (`rsa-sha2-512`): servers since OpenSSH 7.2 take it,
            // and OpenSSH 8.8 and later refuse SHA-1 (`ssh-rsa`) signatures.
            let hash = key.algorithm().is_rsa().then_some(HashAlg::Sha512);
            let with_hash = PrivateKeyWithHashAlg::new(key.clone(), hash)
                .map_err(|e| anyhow!("{}: key_file: cannot sign with this key: {e}", self.label))?;
            in_ = ssh
                .authenticate_publickey(&login.user, with_hash)
                .await
                .map_err(lost)?;
            tried.push("key_file");
        }
        if let (false, Some(pass)) = (in_, &login.pass) {
            in_ = ssh
                .authenticate_password(&login.user, pass.as_str())
                .await
                .map_err(lost)?;
            tried.push("pass");
        }
        if !in_ {
            bail!(
                "{}: {server} refused the login of {} with {} (wrong password or key?)",
                self.label,
                login.user,
                tried.join(" then ")
            );
        }
        let channel = ssh.channel_open_session().await.map_err(lost)?;
        channel
            .request_subsystem(true, "sftp")
            .await
            .map_err(lost)?;
        let config = russh_sftp::client::Config {
            request_timeout_secs: REQUEST_TIMEOUT.as_secs(),
            ..russh_sftp::client::Config::default()
        };
        let sftp = RawSftpSession::new_with_config(channel.into_stream(), config);
        let version = sftp
            .init()
            .await
            .map_err(|e| anyhow!("{}: {server} offers no SFTP: {e}", self.label))?;
        Ok(Conn {
            sftp: Arc::new(Session {
                raw: sftp,
                lost: gone,
            }),
            posix_rename: version.extensions.contains_key(POSIX_RENAME),
            ssh,
        })
    }

    /// Makes `dir` (a server path) and its missing parents, one by one.
    async fn ensure_dir(&self, sftp: &Session, dir: &str) -> Result<()> {
        let known =
            |d: &str| matches!(d, "" | "." | "/") || self.made.lock().is_ok_and(|m| m.contains(d));
        let mut missing = Vec::new();
        let mut cur = dir;
        while !known(cur) {
            match sftp.stat(cur).await {
                Ok(found) if found.attrs.is_dir() => break,
                Ok(_) => bail!("{}: cannot write below {cur}: not a folder", self.label),
                Err(err) if is_missing(&err) => {
                    missing.push(cur.to_owned());
                    cur = parent(cur);
                }
                Err(err) => return Err(self.fail("read", cur, &err)),
            }
        }
        for dir in missing.iter().rev() {
            if let Err(err) = sftp.mkdir(dir.as_str(), FileAttributes::empty()).await {
                // Made meanwhile by another write: fine when it is a folder now.
                if !sftp
                    .stat(dir.as_str())
                    .await
                    .is_ok_and(|f| f.attrs.is_dir())
                {
                    return Err(self.fail("create the folder", dir, &err));
                }
            }
        }
        if let Ok(mut made) = self.made.lock() {
            made.insert(dir.to_owned());
            made.extend(missing);
        }
        Ok(())
    }

    /// Renames `from` over `to` (server paths), replacing a file there.
    async fn replace(&self, conn: &Conn, from: &str, to: &str) -> Result<()> {
        let sftp = &conn.sftp;
        if conn.posix_rename {
            let mut data = Vec::with_capacity(from.len() + to.len() + 8);
            ssh_string(&mut data, from);
            ssh_string(&mut data, to);
            return match sftp.extended(POSIX_RENAME, data).await {
                Ok(Packet::Status(s)) if s.status_code == StatusCode::Ok => Ok(()),
                Ok(Packet::Status(s)) => {
                    Err(self.fail("move", &format!("{from} to {to}"), &SftpError::Status(s)))
                }
                Ok(_) => Err(self.fail(
                    "move",
                    &format!("{from} to {to}"),
                    &SftpError::UnexpectedPacket,
                )),
                Err(err) => Err(self.fail("move", &format!("{from} to {to}"), &err)),
            };
        }
        match sftp.rename(from, to).await {
            Ok(_) => Ok(()),
            Err(first) => {
                // SFTP v3 refuses to rename over a file: remove it, then rename (a moment
                // without either version under `to`).
                match sftp.stat(to).await {
                    Ok(found) if !found.attrs.is_dir() => {
                        sftp.remove(to)
                            .await
                            .map_err(|e| self.fail("replace", to, &e))?;
                        sftp.rename(from, to)
                            .await
                            .map(|_| ())
                            .map_err(|e| self.fail("move", &format!("{from} to {to}"), &e))
                    }
                    _ => Err(self.fail("move", &format!("{from} to {to}"), &first)),
                }
            }
        }
    }

    /// Lists one folder (a server path): its entries (Standard names, relative to `rel`),
    /// its sub-folders to visit, and its problems. `None` when it does not exist.
    async fn list_one(
        &self,
        sftp: &Session,
        rel: &str,
        out: &mut Listing,
    ) -> Result<Option<Vec<String>>> {
        let dir = self.full(rel)?;
        let handle = match sftp.opendir(dir.as_str()).await {
            Ok(h) => h.handle,
            Err(err) if is_missing(&err) => return Ok(None),
            // A file is no folder to list (servers answer "Failure" for it).
            Err(err) => {
                return match sftp.stat(dir.as_str()).await {
                    Ok(found) if !found.attrs.is_dir() => Ok(None),
                    Err(e) if is_missing(&e) => Ok(None),
                    _ => Err(self.fail("list", &dir, &err)),
                }
            }
        };
        let mut names = Vec::new();
        let read = loop {
            match sftp.readdir(handle.as_str()).await {
                Ok(batch) => names.extend(batch.files),
                Err(err) if is_eof(&err) => break Ok(()),
                Err(err) => break Err(self.fail("list", &dir, &err)),
            }
        };
        let _ = sftp.close(handle).await;
        read?;
        names.sort_by(|a, b| a.filename.cmp(&b.filename));
        let mut subdirs = Vec::new();
        for item in names {
            let raw = item.filename;
            if raw == "." || raw == ".." {
                continue;
            }
            let full = join(&dir, &raw);
            if is_temp_name(&raw) {
                if let Ok(mut seen) = self.temps_seen.lock() {
                    seen.push((full, mtime_of(&item.attrs)));
                }
                continue;
            }
            let name = match encoding::from_sftp_name(&raw) {
                Ok(name) => name.into_owned(),
                Err(why) => {
                    out.problems.push(format!("{}: {full}: {why}", self.label));
                    continue;
                }
            };
            let mut attrs = item.attrs;
            if attrs.is_symlink() {
                match sftp.stat(full.as_str()).await {
                    Ok(target) => attrs = target.attrs,
                    Err(err) => {
                        out.problems.push(format!(
                            "{}: skipping the link {full}: {}",
                            self.label,
                            self.fail("follow", &full, &err)
                        ));
                        continue;
                    }
                }
            }
            let Some(kind) = kind_of(&attrs) else {
                continue;
            };
            let path = if rel.is_empty() {
                name
            } else {
                format!("{rel}/{name}")
            };
            if kind == EntryKind::Dir {
                subdirs.push(path.clone());
            }
            out.entries.push(Entry {
                path,
                kind,
                size: if kind == EntryKind::Dir {
                    0
                } else {
                    attrs.size.unwrap_or(0)
                },
                mtime: mtime_of(&attrs),
            });
        }
        Ok(Some(subdirs))
    }

    /// Writes the stream to the open temporary `handle` with several requests in flight, and
    /// returns the bytes written.
    async fn write_all(
        &self,
        sftp: &Arc<Session>,
        handle: &str,
        temp: &str,
        mut data: ByteStream,
    ) -> Result<u64> {
        let mut offset = 0u64;
        let mut in_flight = FuturesUnordered::new();
        loop {
            let mut buf = vec![0u8; REQUEST_SIZE];
            let mut filled = 0;
            while filled < buf.len() {
                let n = data
                    .read(buf.get_mut(filled..).unwrap_or_default())
                    .await
                    .with_context(|| format!("{}: cannot read the data for {temp}", self.label))?;
                if n == 0 {
                    break;
                }
                filled += n;
            }
            if filled == 0 {
                break;
            }
            buf.truncate(filled);
            let (s, h) = (sftp.clone(), handle.to_owned());
            let at = offset;
            in_flight.push(async move { s.write(h, at, buf).await });
            offset += filled as u64;
            while in_flight.len() >= WRITES_IN_FLIGHT {
                if let Some(Err(err)) = in_flight.next().await {
                    return Err(self.fail("write", temp, &err));
                }
            }
            if filled < REQUEST_SIZE {
                break;
            }
        }
        while let Some(done) = in_flight.next().await {
            done.map_err(|err| self.fail("write", temp, &err))?;
        }
        Ok(offset)
    }

    /// The body of [`Backend::put`] once the temporary is registered with `guard`.
    async fn put_via(
        &self,
        conn: &Conn,
        guard: &mut TempGuard,
        full: &str,
        data: ByteStream,
        opts: PutOptions,
    ) -> Result<u64> {
        let sftp = &conn.sftp;
        let temp = guard.path.clone().unwrap_or_default();
        let flags = OpenFlags::WRITE | OpenFlags::CREATE | OpenFlags::TRUNCATE;
        let handle = match sftp
            .open(temp.as_str(), flags, FileAttributes::empty())
            .await
        {
            Ok(h) => h.handle,
            Err(err) => return Err(self.fail("create", &temp, &err)),
        };
        guard.handle = Some(handle.clone());
        let written = self.write_all(sftp, &handle, &temp, data).await?;
        guard.handle = None;
        sftp.close(handle.as_str())
            .await
            .map_err(|e| self.fail("write", &temp, &e))?;
        if let Some(size) = opts.size.filter(|s| *s != written) {
            bail!(
                "{}: cannot write {full}: {written} bytes came where {size} were announced",
                self.label
            );
        }
        if let (true, Some(mtime)) = (self.set_modtime, opts.mtime) {
            let secs = wire_secs(mtime);
            let attrs = FileAttributes {
                atime: Some(secs),
                mtime: Some(secs),
                ..FileAttributes::empty()
            };
            sftp.setstat(temp.as_str(), attrs)
                .await
                .map_err(|e| self.fail("set the modification time of", &temp, &e))?;
        }
        self.replace(conn, &temp, full).await?;
        Ok(written)
    }
}

/// Removes a put's temporary file (closing its handle first) when the put fails or is
/// cancelled; forgets it among the running writes in every case.
struct TempGuard {
    sftp: Arc<Session>,
    path: Option<String>,
    handle: Option<String>,
    live: Arc<Mutex<HashSet<String>>>,
}

impl TempGuard {
    /// The put succeeded: the temporary is now the real file.
    fn done(mut self) {
        if let Some(path) = self.path.take() {
            if let Ok(mut live) = self.live.lock() {
                live.remove(&path);
            }
        }
    }

    /// The put failed: removes the temporary now.
    async fn abandon(mut self) {
        if let Some(handle) = self.handle.take() {
            let _ = self.sftp.close(handle).await;
        }
        if let Some(path) = self.path.take() {
            let _ = self.sftp.remove(path.as_str()).await;
            if let Ok(mut live) = self.live.lock() {
                live.remove(&path);
            }
        }
    }
}

impl Drop for TempGuard {
    fn drop(&mut self) {
        let (Some(path), Ok(runtime)) = (self.path.take(), tokio::runtime::Handle::try_current())
        else {
            return;
        };
        let (sftp, handle, live) = (self.sftp.clone(), self.handle.take(), self.live.clone());
        runtime.spawn(async move {
            if let Some(handle) = handle {
                let _ = sftp.close(handle).await;
            }
            let _ = sftp.remove(path.as_str()).await;
            if let Ok(mut live) = live.lock() {
                live.remove(&path);
            }
        });
    }
}

/// One read request's answer: its offset, the length asked for, and the bytes (or the end).
type ReadDone = (u64, u32, std::result::Result<Vec<u8>, SftpError>);

/// A file on the server read with several requests in flight; the handle is closed when the
/// reader is dropped.
struct Reader {
    /// The connection, the reader's own while it lives.
    _lease: Lease,
    sftp: Arc<Session>,
    handle: String,
    /// Offset of the next request.
    next: u64,
    /// Where to stop (exclusive); `None` reads to the end of the file.
    end: Option<u64>,
    in_flight: FuturesOrdered<futures::future::BoxFuture<'static, ReadDone>>,
    /// Requests allowed in flight: 1 at first, doubled by each full answer up to
    /// [`REQUESTS_IN_FLIGHT`], so that a small file costs two requests, not a full window
    /// of reads past its end.
    window: usize,
    done: bool,
    /// For errors: `label: path`.
    what: String,
}

impl Reader {
    fn request(&self, offset: u64, len: u32) -> futures::future::BoxFuture<'static, ReadDone> {
        let (sftp, handle) = (self.sftp.clone(), self.handle.clone());
        async move {
            let got = sftp.read(handle, offset, len).await.map(|d| d.data);
            (offset, len, got)
        }
        .boxed()
    }

    fn top_up(&mut self) {
        while !self.done && self.in_flight.len() < self.window {
            let left = self
                .end
                .map_or(REQUEST_SIZE as u64, |e| e.saturating_sub(self.next));
            if left == 0 {
                break;
            }
            let len = u32::try_from(left.min(REQUEST_SIZE as u64)).unwrap_or(0);
            let future = self.request(self.next, len);
            self.in_flight.push_back(future);
            self.next += u64::from(len);
        }
    }
}

impl futures::Stream for Reader {
    type Item = io::Result<Vec<u8>>;

    fn poll_next(
        mut self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
    ) -> Poll<Option<io::Result<Vec<u8>>>> {
        let this = &mut *self;
        loop {
            this.top_up();
            let Some((offset, asked, got)) = futures::ready!(this.in_flight.poll_next_unpin(cx))
            else {
                return Poll::Ready(None);
            };
            match got {
                Ok(data) if data.is_empty() => this.finish(),
                Ok(data) => {
                    let got_len = u32::try_from(data.len()).unwrap_or(u32::MAX);
                    if got_len >= asked {
                        this.window = (this.window * 2).min(REQUESTS_IN_FLIGHT);
                    } else {
                        // A short read: ask for the rest before the requests behind it.
                        let rest = this.request(offset + u64::from(got_len), asked - got_len);
                        this.in_flight.push_front(rest);
                    }
                    return Poll::Ready(Some(Ok(data)));
                }
                Err(err) if is_eof(&err) => this.finish(),
                Err(err) => {
                    this.finish();
                    let why = format!("cannot read {}: {err}", this.what);
                    return Poll::Ready(Some(Err(io::Error::other(why))));
                }
            }
        }
    }
}

impl Reader {
    /// The end of the file (or an error): no more requests.
    fn finish(&mut self) {
        self.done = true;
        self.in_flight = FuturesOrdered::new();
    }
}

impl Drop for Reader {
    fn drop(&mut self) {
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            let (sftp, handle) = (self.sftp.clone(), std::mem::take(&mut self.handle));
            runtime.spawn(async move {
                let _ = sftp.close(handle).await;
            });
        }
    }
}

#[async_trait]
impl Backend for SftpBackend {
    fn describe(&self) -> String {
        self.label.clone()
    }

    fn features(&self) -> Features {
        FEATURES
    }

    async fn list(&self, dir: &str, recursive: bool) -> Result<Option<Listing>> {
        let conn = self.conn().await?;
        let mut out = Listing::default();
        let Some(mut queue) = self
            .list_one(&conn.sftp, dir, &mut out)
            .await?
            .map(VecDeque::from)
        else {
            return Ok(None);
        };
        while let (true, Some(sub)) = (recursive, queue.pop_front()) {
            // A folder removed meanwhile lists as empty.
            if let Some(more) = self.list_one(&conn.sftp, &sub, &mut out).await? {
                queue.extend(more);
            }
        }
        Ok(Some(out))
    }

    async fn stat(&self, path: &str) -> Result<Option<Entry>> {
        let full = self.full(path)?;
        let conn = self.conn().await?;
        let attrs = match conn.sftp.stat(full.as_str()).await {
            Ok(found) => found.attrs,
            Err(err) if is_missing(&err) => return Ok(None),
            Err(err) => return Err(self.fail("read", &full, &err)),
        };
        let Some(kind) = kind_of(&attrs) else {
            return Ok(None);
        };
        Ok(Some(Entry {
            path: path.to_owned(),
            kind,
            size: if kind == EntryKind::Dir {
                0
            } else {
                attrs.size.unwrap_or(0)
            },
            mtime: mtime_of(&attrs),
        }))
    }

    async fn open(&self, path: &str, range: Option<Range<u64>>) -> Result<ByteStream> {
        let full = self.full(path)?;
        let conn = self.conn().await?;
        let handle = conn
            .sftp
            .open(full.as_str(), OpenFlags::READ, FileAttributes::empty())
            .await
            .map_err(|e| self.fail("open", &full, &e))?
            .handle;
        let (next, end) = match range {
            Some(r) => (r.start, Some(r.end.max(r.start))),
            None => (0, None),
        };
        Ok(Box::pin(StreamReader::new(Reader {
            sftp: conn.sftp.clone(),
            _lease: conn,
            handle,
            next,
            end,
            in_flight: FuturesOrdered::new(),
            window: 1,
            done: false,
            what: format!("{}: {full}", self.label),
        })))
    }

    async fn put(&self, path: &str, data: ByteStream, opts: PutOptions) -> Result<u64> {
        let full = self.full(path)?;
        if path.is_empty() {
            bail!("{}: cannot write {full}: not a file path", self.label);
        }
        let conn = self.conn().await?;
        let dir = parent(&full);
        self.ensure_dir(&conn.sftp, dir).await?;
        let temp = join(dir, &temp_name());
        if let Ok(mut live) = self.live.lock() {
            live.insert(temp.clone());
        }
        let mut guard = TempGuard {
            sftp: conn.sftp.clone(),
            path: Some(temp),
            handle: None,
            live: self.live.clone(),
        };
        match self.put_via(&conn, &mut guard, &full, data, opts).await {
            Ok(written) => {
                guard.done();
                Ok(written)
            }
            Err(err) => {
                guard.abandon().await;
                Err(err)
            }
        }
    }

    async fn remove(&self, path: &str) -> Result<()> {
        let full = self.full(path)?;
        let conn = self.conn().await?;
        conn.sftp
            .remove(full.as_str())
            .await
            .map(|_| ())
            .map_err(|e| self.fail("delete", &full, &e))
    }

    async fn mkdir(&self, path: &str) -> Result<()> {
        let full = self.full(path)?;
        let conn = self.conn().await?;
        self.ensure_dir(&conn.sftp, &full).await
    }

    async fn rmdir(&self, path: &str) -> Result<()> {
        let full = self.full(path)?;
        let conn = self.conn().await?;
        if let Ok(mut made) = self.made.lock() {
            made.retain(|d| d != &full && !d.starts_with(&format!("{full}/")));
        }
        conn.sftp
            .rmdir(full.as_str())
            .await
            .map(|_| ())
            .map_err(|e| self.fail("remove the folder", &full, &e))
    }

    fn fits(&self, path: &str, kind: EntryKind) -> Result<(), TooLong> {
        // Measured on the names the server is asked for; a path that maps to none fails
        // with its own reason when it is written.
        match encoding::to_sftp_path(path) {
            Ok(on_server) => self
                .features()
                .check_stored(b"", on_server.as_bytes(), kind),
            Err(_) => Ok(()),
        }
    }

    async fn rename(&self, from: &str, to: &str) -> Result<()> {
        let (from, to) = (self.full(from)?, self.full(to)?);
        let conn = self.conn().await?;
        self.ensure_dir(&conn.sftp, parent(&to)).await?;
        self.replace(&conn, &from, &to).await
    }

    async fn cleanup(&self) -> Result<usize> {
        let seen = match self.temps_seen.lock() {
            Ok(mut seen) => std::mem::take(&mut *seen),
            Err(_) => return Ok(0),
        };
        if seen.is_empty() {
            return Ok(0);
        }
        let conn = self.conn().await?;
        let now = SystemTime::now();
        let mut removed = 0;
        for (temp, mtime) in seen {
            let running = self.live.lock().is_ok_and(|live| live.contains(&temp));
            let stale =
                mtime.is_some_and(|m| now.duration_since(m).is_ok_and(|age| age > STALE_AFTER));
            if !running && stale && conn.sftp.remove(temp.as_str()).await.is_ok() {
                removed += 1;
            }
        }
        Ok(removed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn section(text: &str) -> Section {
        let config = crate::config::rclone::RcloneConfig::parse(text).unwrap();
        config.section("s").unwrap().clone()
    }

    #[test]
    fn keys_are_read_and_ignored_options_warned_once() {
        let text = format!(
            "[s]\ntype = sftp\nhost = example.invalid\nport = 2222\nuser = me\npass = {}\nshell_type = unix\ndisable_hashcheck = false\nmd5sum_command = md5sum\nkey_pem = x\nuse_insecure_cipher = true\n",
            poof_crypt::obscure("secret words")
        );
        let (b, warnings) = open(&section(&text), "/srv/data").unwrap();
        assert_eq!(b.login.server(), "example.invalid:2222");
        assert_eq!(b.root, "/srv/data");
        assert_eq!(b.full("a/b").unwrap(), "/srv/data/a/b");
        assert_eq!(warnings.len(), 2, "{warnings:?}");
        assert!(!b.describe().contains("secret"));
        assert!(b.set_modtime, "set_modtime is true by default");
        let (b, _) = open(&section(&format!("{text}set_modtime = false\n")), "").unwrap();
        assert!(!b.set_modtime);
        let bad = open(&section(&format!("{text}set_modtime = maybe\n")), "");
        assert!(format!("{:#}", bad.err().unwrap()).contains("set_modtime"));
        let (b, _) = open(&section(&text), "rel").unwrap();
        assert_eq!(b.full("").unwrap(), "rel");
        let (b, _) = open(&section(&text), "").unwrap();
        assert_eq!(b.full("").unwrap(), ".");
        assert_eq!(b.full("x").unwrap(), "x");
        assert!(b.full("../x").is_err());
    }

    #[test]
    fn bad_values_are_one_line_errors_without_secrets() {
        for (text, needle) in [
            ("[s]\ntype = sftp\nuser = me\npass = x\n", "no `host =`"),
            (
                "[s]\ntype = sftp\nhost = h\nport = 99999\npass = x\n",
                "port = 99999",
            ),
            (
                "[s]\ntype = sftp\nhost = h\nuser = me\n",
                "neither pass nor key_file",
            ),
            (
                "[s]\ntype = sftp\nhost = h\nuser = me\npass = clear text\n",
                "pass",
            ),
            (
                "[s]\ntype = sftp\nhost = h\nuser = me\nkey_file = /nonexistent/k\n",
                "key_file",
            ),
        ] {
            let err = format!("{:#}", open(&section(text), "").err().expect(text));
            assert!(err.contains(needle), "{err}");
            assert!(!err.contains("clear text") && !err.contains('\n'), "{err}");
        }
    }

    #[test]
    fn server_paths() {
        assert_eq!(parent("a/b"), "a");
        assert_eq!(parent("/a"), "/");
        assert_eq!(parent("a"), "");
        assert_eq!(join("", "a"), "a");
        assert_eq!(join("/", "a"), "/a");
        let mut data = Vec::new();
        ssh_string(&mut data, "ab");
        assert_eq!(data, [0, 0, 0, 2, b'a', b'b']);
    }
}
