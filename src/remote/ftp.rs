//! The `type = ftp` storage type: an rclone ftp section (an FTP or FTPS server: a NAS, a
//! hosting account, pyftpdlib, ProFTPd, vsftpd) as a [`Backend`] over suppaftp's tokio client.
//!
//! Keys honoured: `host` (required), `port` (default 21, also with `tls`, as rclone), `user`
//! (default: the name of the user running poof, from `$USER` or `$LOGNAME`, as rclone takes
//! the OS user), `pass` (obscured, as rclone stores it; revealed with
//! [`Section::get_revealed`], never printed), `tls` (implicit FTPS: TLS from the first byte),
//! `explicit_tls` (`AUTH TLS`, then `PBSZ 0` / `PROT P`: data connections are TLS too; not both
//! with `tls`), `no_check_certificate`, `disable_tls13`, `disable_epsv` (PASV instead of EPSV),
//! `disable_mlsd` (refused: poof lists with MLSD only), `writing_mdtm` (set times with MDTM,
//! vsftpd's way, rather than MFMT), `disable_utf8` and `concurrency` (connections at once; 0
//! or unset is [`DEFAULT_CONNECTIONS`]). Other keys that change what rclone does
//! ([`IGNORED_OPTIONS`]) are reported once each.
//!
//! Listings are MLSD (`type=`, `size=`, `modify=` in UTC); a server that does not offer MLSD
//! (its FEAT answer) is refused with one line at the first listing (LIST output has no fixed
//! form and minute-precision times). Reads are streamed RETRs, ranged with REST.
//!
//! Modification times as rclone keeps them: when FEAT offers MFMT (or with `writing_mdtm`),
//! every upload sets its time with `MFMT YYYYMMDDHHMMSS` to the second, and listings read it
//! back from `modify=` (precision 1 s, as rclone). Otherwise the server keeps the time of the
//! upload: the precision is rclone's "not supported" ([`NO_MTIME_PRECISION`]), so that the
//! sync engine compares such files by size only, as rclone does, and a re-sync copies nothing.
//!
//! Writes are atomic for readers: FTP has no atomic upload, so a STOR streams to a temporary
//! name in the destination folder ([`super::local::temp_name`], the local backend's names),
//! the time is set on it, then RNFR/RNTO moves it over the real name (after a DELE of the old
//! file when the server will not rename over one). A failed or cancelled upload deletes its
//! temporary file. Uploads copy the caller's stream through a buffer of [`UPLOAD_BUFFER`]
//! bytes, so memory stays bounded whatever the file size. Listings skip poof's temporary
//! names; [`Backend::cleanup`] deletes those a listing met that are older than
//! [`STALE_AFTER`] (never a name poof did not make). [`Backend::rename`] is RNFR/RNTO, which
//! poof's history uses.
//!
//! Connections: FTP carries one transfer per connection, so the backend keeps a pool of
//! logged-in connections, at most `concurrency` at once; a connection whose transfer did not
//! end cleanly is closed rather than reused. Every command has [`COMMAND_TIMEOUT`], so a
//! server that stops answering fails the run with one line.
//!
//! Why not OpenDAL's `ftp` service: it sets no modification times (no MFMT), so rclone's
//! times would be lost. suppaftp runs on the tokio and rustls (ring) that poof already has.
//!
//! Names: rclone's ftp encoding ([`encoding::to_ftp_path`], [`encoding::from_ftp_name`]). A
//! remote path without a leading `/` is below the user's login folder, as in rclone.

use std::collections::HashSet;
use std::ops::Range;
use std::pin::Pin;
use std::sync::{Arc, Mutex, OnceLock};
use std::task::{Context, Poll};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{anyhow, bail, Result};
use async_trait::async_trait;
use futures::stream::{FuturesUnordered, StreamExt};
use suppaftp::tokio::{
    AsyncRustlsConnector, AsyncRustlsFtpStream, AsyncRustlsStream, ImplAsyncFtpStream,
    TransferStream,
};
use suppaftp::types::FileType;
use suppaftp::{FtpError, Mode, Status};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWriteExt, ReadBuf};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use zeroize::Zeroizing;

use super::backend::{
    Backend, ByteStream, Entry, EntryKind, Features, Listing, PutOptions, TooLong,
};
use super::encoding;
use super::http::ignored;
use super::local::{is_temp_name, temp_name};
use super::webdav::{NO_MTIME_PRECISION, STALE_AFTER};
use super::{Below, StorageType};
use crate::config::rclone::Section;
use crate::exit::{Code, WithCode};

/// Connections at once when the section sets no `concurrency` (rclone's 0, "unlimited").
pub const DEFAULT_CONNECTIONS: usize = 16;

/// Longest wait for one command's answer (connecting and logging in included).
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(60);

/// An idle pooled connection older than this is checked with NOOP before it is reused.
const IDLE_CHECK: Duration = Duration::from_secs(15);

/// Bytes read from the caller's stream per write of an upload.
pub const UPLOAD_BUFFER: usize = 256 * 1024;

/// Folders listed at once by a recursive listing.
const LIST_CONCURRENCY: usize = 4;

/// Options of an rclone ftp section poof does not honour, with the reason in the warning.
pub const IGNORED_OPTIONS: &[(&str, &str)] = &[
    (
        "encoding",
        "poof names files as rclone's default ftp encoding does",
    ),
    (
        "force_list_hidden",
        "poof lists with MLSD, which shows hidden files",
    ),
    ("socks_proxy", "poof connects to host directly"),
    ("http_proxy", "poof connects to host directly"),
    ("ask_password", "set pass in the config"),
    (
        "allow_insecure_tls_ciphers",
        "poof offers rustls's safe cipher suites only",
    ),
];

/// The `ftp` line of [`super::TYPES`]: `name:path` on the section's server.
pub const TYPE: StorageType = StorageType {
    name: "ftp",
    open: |resolver, section, path| resolver.opened(open(section, path)),
    below: |_, _| Below::Elsewhere,
    is_crypt: false,
};

/// The FTP client type: plain, or TLS when the section asks for it.
type Ftp = AsyncRustlsFtpStream;

/// How a section connects and logs in.
struct Settings {
    host: String,
    port: u16,
    user: String,
    pass: Zeroizing<String>,
    tls: Tls,
    epsv: bool,
    utf8: bool,
    /// `writing_mdtm`: MDTM sets times (vsftpd), instead of MFMT.
    writing_mdtm: bool,
    /// The remote path on the server (encoded), without trailing `/`; `""` is the login folder.
    root: String,
}

/// How TLS is used.
enum Tls {
    Off,
    Implicit(tokio_rustls::TlsConnector),
    Explicit(tokio_rustls::TlsConnector),
}

/// What the server offers (its FEAT answer), read at the first login.
#[derive(Debug, Clone, Copy)]
struct Offers {
    mlsd: bool,
    set_time: bool,
}

/// An FTP server's folder.
pub struct FtpBackend {
    pool: Arc<Pool>,
    describe: String,
    /// Folders known to exist (made or listed), by path below the root.
    dirs: Mutex<HashSet<String>>,
    /// Temporary files of killed uploads met by listings, for [`Backend::cleanup`].
    temps_seen: Mutex<Vec<String>>,
}

/// Logged-in connections, at most as many at once as the permits.
struct Pool {
    settings: Settings,
    idle: Mutex<Vec<(Ftp, Instant)>>,
    permits: Arc<Semaphore>,
    offers: OnceLock<Offers>,
    /// `host:port`, for messages.
    server: String,
}

/// One connection taken from the pool: back into it with [`Conn::done`], closed when dropped.
struct Conn {
    ftp: Option<Ftp>,
    pool: Arc<Pool>,
    _permit: OwnedSemaphorePermit,
}

/// The name of the user running poof, rclone's default `user`: `$USER`, `$LOGNAME`, else
/// the account of this process in `/etc/passwd`.
fn os_user() -> Option<String> {
    use std::os::unix::fs::MetadataExt;
    let from_env = ["USER", "LOGNAME"]
        .iter()
        .filter_map(|k| std::env::var(k).ok())
        .find(|u| !u.is_empty());
    if from_env.is_some() {
        return from_env;
    }
    let uid = std::fs::metadata("/proc/self").ok()?.uid().to_string();
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    passwd.lines().find_map(|line| {
        let mut fields = line.split(':');
        let user = fields.next()?;
        (fields.nth(1)? == uid).then(|| user.to_owned())
    })
}

/// A boolean key: `true`/`false` (rclone's spellings), absent is false.
fn flag(section: &Section, key: &str) -> Result<bool> {
    Ok(section.get_bool(key)?.unwrap_or(false))
}

/// Builds the backend of `name:path` from its `type = ftp` section, and the warnings to print
/// once.
///
/// # Errors
/// No `host`, a bad `port` or `concurrency`, `tls` with `explicit_tls`, `disable_mlsd`, a
/// `pass` that is not obscured; each one line naming the section (never a password).
pub fn open(section: &Section, path: &str) -> Result<(FtpBackend, Vec<String>)> {
    let name = section.name();
    let get = |key: &str| section.get(key).map(str::trim).filter(|v| !v.is_empty());
    let Some(host) = get("host") else {
        bail!("[{name}] has no `host =`: name the FTP server");
    };
    if host.contains(|c: char| c.is_whitespace() || c.is_control() || c == '/') {
        bail!("[{name}] host = {host:?} is not a host name");
    }
    let port = match get("port") {
        None => 21,
        Some(p) => match p.parse::<u16>() {
            Ok(port) if port > 0 => port,
            _ => bail!("[{name}] port = {p:?} is not a port number (1-65535)"),
        },
    };
    let user = match get("user") {
        Some(user) => user.to_owned(),
        None => os_user().ok_or_else(|| {
            anyhow!("[{name}] has no `user =` and the user running poof is unknown")
        })?,
    };
    if user.contains(['\r', '\n']) {
        bail!("[{name}] user holds a line break");
    }
    let pass = section.get_revealed("pass")?.unwrap_or_default();
    if pass.contains(['\r', '\n']) {
        bail!("[{name}] pass holds a line break");
    }
    let connections = match get("concurrency") {
        None => DEFAULT_CONNECTIONS,
        Some(c) => match c.parse::<usize>() {
            Ok(0) => DEFAULT_CONNECTIONS,
            Ok(n) => n,
            Err(_) => bail!("[{name}] concurrency = {c:?} is not a number of connections"),
        },
    };
    if flag(section, "disable_mlsd")? {
        bail!(
            "[{name}] disable_mlsd = true is not supported: poof lists FTP folders with MLSD only"
        );
    }
    let (implicit, explicit) = (flag(section, "tls")?, flag(section, "explicit_tls")?);
    let tls = match (implicit, explicit) {
        (true, true) => bail!("[{name}] tls and explicit_tls cannot both be true"),
        (false, false) => Tls::Off,
        (true, false) => Tls::Implicit(connector(section)?),
        (false, true) => Tls::Explicit(connector(section)?),
    };
    let mut warnings = ignored(section, IGNORED_OPTIONS);
    if get("encoding").is_some_and(|e| e == "Slash,Del,Ctl,RightSpace,Dot") {
        warnings.retain(|w| !w.contains("] encoding ="));
    }
    // `name:/` is the server's root, `name:` the login folder (as rclone).
    let root = match path.trim_end_matches('/') {
        "" if path.starts_with('/') => "/".to_owned(),
        trimmed => encoding::to_ftp_path(trimmed).into_owned(),
    };
    if root.contains(['\r', '\n']) {
        bail!("[{name}] the path {path:?} holds a line break");
    }
    let settings = Settings {
        host: host.to_owned(),
        port,
        user,
        pass,
        tls,
        epsv: !flag(section, "disable_epsv")?,
        utf8: !flag(section, "disable_utf8")?,
        writing_mdtm: flag(section, "writing_mdtm")?,
        root,
    };
    let backend = FtpBackend {
        pool: Arc::new(Pool {
            server: format!("{host}:{port}"),
            settings,
            idle: Mutex::default(),
            permits: Arc::new(Semaphore::new(connections)),
            offers: OnceLock::new(),
        }),
        describe: format!("{name}:{}", path.trim_end_matches('/')),
        dirs: Mutex::default(),
        temps_seen: Mutex::default(),
    };
    Ok((backend, warnings))
}

/// The TLS connector of a section: the system's roots, or no check with
/// `no_check_certificate`; TLS 1.2 only with `disable_tls13`.
fn connector(section: &Section) -> Result<tokio_rustls::TlsConnector> {
    use rustls::ClientConfig;
    use rustls_platform_verifier::BuilderVerifierExt;
    let name = section.name();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let versions: &[&rustls::SupportedProtocolVersion] = if flag(section, "disable_tls13")? {
        &[&rustls::version::TLS12]
    } else {
        rustls::ALL_VERSIONS
    };
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(versions)
        .map_err(|e| anyhow!("[{name}] TLS: {e}"))?;
    let config = if flag(section, "no_check_certificate")? {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AnyCertificate(provider)))
            .with_no_client_auth()
    } else {
        builder
            .with_platform_verifier()
            .map_err(|e| anyhow!("[{name}] TLS: the system's certificates: {e}"))?
            .with_no_client_auth()
    };
    Ok(tokio_rustls::TlsConnector::from(Arc::new(config)))
}

/// `no_check_certificate = true`: any certificate is taken (signatures still checked).
#[derive(Debug)]
struct AnyCertificate(Arc<rustls::crypto::CryptoProvider>);

impl rustls::client::danger::ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &rustls::pki_types::CertificateDer<'_>,
        _intermediates: &[rustls::pki_types::CertificateDer<'_>],
        _server_name: &rustls::pki_types::ServerName<'_>,
        _ocsp_response: &[u8],
        _now: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// An FTP error in one line, for `what` failed.
fn failed(what: &str, e: &FtpError) -> anyhow::Error {
    match e {
        FtpError::UnexpectedResponse(r) => {
            let text = String::from_utf8_lossy(&r.body);
            let text = text.trim();
            anyhow!("{what}: the server answered {text}")
        }
        FtpError::ConnectionError(io) => anyhow!("{what}: {io}"),
        other => anyhow!("{what}: {other}"),
    }
}

/// True for the server's "no such file" family of answers (550).
fn is_unavailable(e: &FtpError) -> bool {
    matches!(e, FtpError::UnexpectedResponse(r) if r.status == Status::FileUnavailable)
}

/// True for an MLSD answer that says the folder is not there: 550, or 501 "No such directory"
/// (pyftpdlib's answer for a missing folder and for a file, observed).
fn is_no_folder(e: &FtpError) -> bool {
    is_unavailable(e)
        || matches!(e, FtpError::UnexpectedResponse(r) if r.status == Status::BadArguments)
}

/// Runs one FTP exchange with [`COMMAND_TIMEOUT`].
async fn timed<T>(
    what: &str,
    fut: impl std::future::Future<Output = Result<T, FtpError>>,
) -> Result<Result<T, FtpError>> {
    match tokio::time::timeout(COMMAND_TIMEOUT, fut).await {
        Ok(r) => Ok(r),
        Err(_) => bail!(
            "{what}: the server did not answer within {} s",
            COMMAND_TIMEOUT.as_secs()
        ),
    }
}

/// Runs one FTP exchange with [`COMMAND_TIMEOUT`]; any FTP error fails it.
async fn run<T>(
    what: &str,
    fut: impl std::future::Future<Output = Result<T, FtpError>>,
) -> Result<T> {
    timed(what, fut).await?.map_err(|e| failed(what, &e))
}

impl Pool {
    /// A logged-in connection: an idle one, or a new one once a permit is free.
    async fn get(self: &Arc<Self>) -> Result<Conn> {
        let permit = self
            .permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| anyhow!("ftp {}: the connection pool is closed", self.server))?;
        loop {
            let idle = self.idle.lock().ok().and_then(|mut idle| idle.pop());
            let Some((mut ftp, since)) = idle else {
                break;
            };
            if since.elapsed() < IDLE_CHECK
                || matches!(
                    tokio::time::timeout(Duration::from_secs(10), ftp.noop()).await,
                    Ok(Ok(()))
                )
            {
                return Ok(Conn {
                    ftp: Some(ftp),
                    pool: self.clone(),
                    _permit: permit,
                });
            }
        }
        let ftp = self.connect().await?;
        Ok(Conn {
            ftp: Some(ftp),
            pool: self.clone(),
            _permit: permit,
        })
    }

    /// Connects, secures and logs in; reads FEAT once.
    async fn connect(&self) -> Result<Ftp> {
        let s = &self.settings;
        let what = format!("cannot connect to the FTP server {}", self.server);
        let addr = (s.host.as_str(), s.port);
        let mut ftp = match &s.tls {
            Tls::Implicit(tls) => run(
                &what,
                ImplAsyncFtpStream::<AsyncRustlsStream>::connect_secure_implicit(
                    addr,
                    tls_clone(tls),
                    &s.host,
                ),
            )
            .await
            .coded(Code::Unreachable)?,
            _ => run(&what, Ftp::connect(addr))
                .await
                .coded(Code::Unreachable)?,
        };
        if let Tls::Explicit(tls) = &s.tls {
            ftp = run(
                &format!("{what} (explicit TLS)"),
                ftp.into_secure(tls_clone(tls), &s.host),
            )
            .await?;
        }
        let login = format!(
            "cannot log in to the FTP server {} as {}",
            self.server, s.user
        );
        run(&login, ftp.login(s.user.as_str(), s.pass.as_str())).await?;
        if let Tls::Implicit(_) = &s.tls {
            // Data connections are TLS too (suppaftp opens them so), which the server must be
            // told, as rclone tells it after logging in: RFC 4217's `PBSZ 0`, `PROT P`.
            for command in ["PBSZ 0", "PROT P"] {
                run(&what, ftp.custom_command(command, &[Status::CommandOk])).await?;
            }
        }
        run(&what, ftp.transfer_type(FileType::Binary)).await?;
        ftp.set_mode(if s.epsv {
            Mode::ExtendedPassive
        } else {
            Mode::Passive
        });
        if self.offers.get().is_none() || s.utf8 {
            let feat = timed(&what, ftp.feat()).await?.unwrap_or_default();
            let has = |k: &str| feat.keys().any(|f| f.eq_ignore_ascii_case(k));
            if s.utf8 && has("UTF8") {
                let _ = timed(&what, ftp.opts("UTF8", Some("ON"))).await;
            }
            let _ = self.offers.set(Offers {
                mlsd: has("MLSD") || has("MLST"),
                set_time: s.writing_mdtm || has("MFMT"),
            });
        }
        Ok(ftp)
    }

    fn offers(&self) -> Offers {
        self.offers.get().copied().unwrap_or(Offers {
            mlsd: true,
            set_time: self.settings.writing_mdtm,
        })
    }
}

/// A handle on the section's TLS settings for one connection (suppaftp takes one each).
fn tls_clone(tls: &tokio_rustls::TlsConnector) -> AsyncRustlsConnector {
    AsyncRustlsConnector::from(tls.clone())
}

impl Conn {
    fn ftp(&mut self) -> &mut Ftp {
        self.ftp
            .as_mut()
            .expect("a taken connection holds its client")
    }

    /// Gives the connection back to the pool for the next command.
    fn done(mut self) {
        if let Some(ftp) = self.ftp.take() {
            if let Ok(mut idle) = self.pool.idle.lock() {
                idle.push((ftp, Instant::now()));
            }
        }
    }
}

/// One MLSD line's entry: name, folder or file, size, time.
#[derive(Debug, PartialEq, Eq)]
struct Fact {
    name: String,
    is_dir: bool,
    size: u64,
    mtime: Option<SystemTime>,
}

impl Fact {
    /// The entry of this fact at `path`.
    fn into_entry(self, path: String) -> Entry {
        let (kind, size) = match self.is_dir {
            true => (EntryKind::Dir, 0),
            false => (EntryKind::File, self.size),
        };
        Entry {
            path,
            kind,
            size,
            mtime: self.mtime,
        }
    }
}

/// Parses one MLSD line (`type=file;size=12;modify=20200102030405; name`): `None` for the
/// folder itself and its parent (`cdir`, `pdir`) and for lines without facts.
fn parse_mlsd_line(line: &str) -> Option<Fact> {
    let line = line.trim_end_matches(['\r', '\n']);
    let (facts, name) = line.split_once(' ')?;
    let mut fact = Fact {
        name: name.to_owned(),
        is_dir: false,
        size: 0,
        mtime: None,
    };
    let mut kind = None;
    for item in facts.split(';') {
        let Some((key, value)) = item.split_once('=') else {
            continue;
        };
        match key.to_ascii_lowercase().as_str() {
            "type" => kind = Some(value.to_ascii_lowercase()),
            "size" => fact.size = value.parse().unwrap_or(0),
            "modify" => fact.mtime = parse_ftp_time(value),
            _ => {}
        }
    }
    match kind.as_deref() {
        Some("dir") => fact.is_dir = true,
        Some("file") => {}
        // `OS.unix=symlink...` and others: a link to a folder lists as one, else a file.
        Some(other) if other.contains("dir") && !other.contains("cdir") => {
            fact.is_dir = !other.starts_with('p');
            if other.starts_with('p') {
                return None;
            }
        }
        Some("cdir" | "pdir") | None => return None,
        Some(_) => {}
    }
    Some(fact)
}

/// `YYYYMMDDHHMMSS[.sss]` (UTC) as a time.
fn parse_ftp_time(text: &str) -> Option<SystemTime> {
    let (whole, frac) = text.split_once('.').unwrap_or((text, ""));
    if whole.len() != 14 || !whole.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let num = |r: Range<usize>| whole.get(r).and_then(|s| s.parse::<i16>().ok());
    let date = jiff::civil::Date::new(
        num(0..4)?,
        num(4..6)?.try_into().ok()?,
        num(6..8)?.try_into().ok()?,
    )
    .ok()?;
    let time = jiff::civil::Time::new(
        num(8..10)?.try_into().ok()?,
        num(10..12)?.try_into().ok()?,
        num(12..14)?.try_into().ok()?,
        0,
    )
    .ok()?;
    let ts = date
        .to_datetime(time)
        .to_zoned(jiff::tz::TimeZone::UTC)
        .ok()?
        .timestamp();
    let mut nanos = 0u32;
    for (i, b) in frac.bytes().take(9).enumerate() {
        if !b.is_ascii_digit() {
            break;
        }
        nanos += u32::from(b - b'0') * 10u32.pow(8 - i as u32);
    }
    let secs = ts.as_second();
    let base = if secs >= 0 {
        UNIX_EPOCH.checked_add(Duration::from_secs(secs.unsigned_abs()))
    } else {
        UNIX_EPOCH.checked_sub(Duration::from_secs(secs.unsigned_abs()))
    };
    base?.checked_add(Duration::from_nanos(u64::from(nanos)))
}

/// A time as MFMT / MDTM take it: `YYYYMMDDHHMMSS` in UTC, whole seconds rounded down.
fn ftp_time(t: SystemTime) -> Option<String> {
    let ts = jiff::Timestamp::try_from(t).ok()?;
    let secs = ts.as_second() - i64::from(ts.subsec_nanosecond() < 0);
    let ts = jiff::Timestamp::from_second(secs).ok()?;
    Some(ts.strftime("%Y%m%d%H%M%S").to_string())
}

impl FtpBackend {
    fn describe_path(&self, path: &str) -> String {
        if path.is_empty() {
            self.describe.clone()
        } else {
            format!("{}/{path}", self.describe.trim_end_matches('/'))
        }
    }

    /// The server path of a path below the root.
    fn server_path(&self, path: &str) -> String {
        let rel = encoding::to_ftp_path(path);
        match (self.pool.settings.root.as_str(), rel.as_ref()) {
            (root, "") => root.to_owned(),
            ("", rel) => rel.to_owned(),
            ("/", rel) => format!("/{rel}"),
            (root, rel) => format!("{root}/{rel}"),
        }
    }

    /// Notes that the folder `dir` exists (made or listed).
    fn remember_dir(&self, dir: &str) {
        let _ = self
            .dirs
            .lock()
            .map(|mut known| known.insert(dir.to_owned()));
    }

    /// True when `dir` is known to exist.
    fn knows_dir(&self, dir: &str) -> bool {
        self.dirs.lock().is_ok_and(|known| known.contains(dir))
    }

    /// True for a temporary file of poof (skipped by listings); one older than
    /// [`STALE_AFTER`] is kept for [`Backend::cleanup`].
    fn is_temporary(&self, fact: &Fact, path: &str) -> bool {
        if fact.is_dir || !is_temp_name(path.rsplit('/').next().unwrap_or_default()) {
            return false;
        }
        let age = fact
            .mtime
            .and_then(|t| SystemTime::now().duration_since(t).ok());
        if age.is_some_and(|age| age > STALE_AFTER) {
            let _ = self
                .temps_seen
                .lock()
                .map(|mut seen| seen.push(path.to_owned()));
        }
        true
    }

    /// MLSD of one folder: its entries, or `None` when it is missing.
    async fn list_one(&self, dir: &str) -> Result<Option<Vec<Entry>>> {
        let what = format!("cannot list {}", self.describe_path(dir));
        let mut conn = self.pool.get().await?;
        if !self.pool.offers().mlsd {
            bail!("{what}: the server does not offer MLSD, the only listing poof reads");
        }
        let target = self.server_path(dir);
        let arg = (!target.is_empty()).then_some(target.as_str());
        let lines = match timed(&what, conn.ftp().mlsd(arg)).await? {
            Ok(lines) => lines,
            Err(e) if is_no_folder(&e) => {
                conn.done();
                return Ok(None);
            }
            Err(e) => return Err(failed(&what, &e)),
        };
        conn.done();
        let mut out = Vec::new();
        for line in &lines {
            let Some(fact) = parse_mlsd_line(line) else {
                continue;
            };
            let name =
                encoding::from_ftp_name(&fact.name).map_err(|why| anyhow!("{what}: {why}"))?;
            let path = if dir.is_empty() {
                name
            } else {
                format!("{dir}/{name}")
            };
            if !self.is_temporary(&fact, &path) {
                out.push(fact.into_entry(path));
            }
        }
        self.remember_dir(dir);
        out.sort_unstable_by(|a, b| a.path.cmp(&b.path));
        Ok(Some(out))
    }

    /// Makes `dir` and its missing parents, top down (an MKD that fails on a folder that is
    /// there is fine: the write into it tells).
    async fn make_dir(&self, dir: &str) -> Result<()> {
        // The folders to make, top down: the root's own folders first (once), then `dir`'s,
        // each as (path below the root, server path).
        let mut todo: Vec<(String, String)> = Vec::new();
        if !self.knows_dir("") {
            let root = self.pool.settings.root.as_str();
            let mut upto = String::new();
            for name in root.split('/').filter(|n| !n.is_empty()) {
                if !upto.is_empty() || root.starts_with('/') {
                    upto.push('/');
                }
                upto.push_str(name);
                todo.push((String::new(), upto.clone()));
            }
        }
        let mut upto = String::new();
        for name in dir.split('/').filter(|n| !n.is_empty()) {
            if !upto.is_empty() {
                upto.push('/');
            }
            upto.push_str(name);
            if !self.knows_dir(&upto) {
                todo.push((upto.clone(), self.server_path(&upto)));
            }
        }
        if todo.is_empty() {
            return Ok(());
        }
        let mut conn = self.pool.get().await?;
        for (below, server) in &todo {
            let what = format!("cannot create the folder {}", self.describe_path(below));
            match timed(&what, conn.ftp().mkdir(server)).await? {
                // 550 is also the answer for a folder that is there: the write into it tells.
                Ok(()) => {}
                Err(e) if is_unavailable(&e) => {}
                Err(e) => return Err(failed(&what, &e)),
            }
        }
        conn.done();
        self.remember_dir("");
        for (below, _) in todo {
            self.remember_dir(&below);
        }
        Ok(())
    }

    /// RNFR/RNTO of `from` to `to`, replacing what is there: when the server will not rename
    /// over a file (RNTO refused), DELE of the old file and RNFR/RNTO again. A refused RNFR
    /// (`from` is not there) deletes nothing.
    async fn move_file(&self, conn: &mut Conn, from: &str, to: &str) -> Result<()> {
        let what = format!("cannot move {} to {to}", self.describe_path(from));
        let (src, dest) = (self.server_path(from), self.server_path(to));
        let rename_from = format!("RNFR {src}");
        let rename_to = format!("RNTO {dest}");
        let done = &[Status::RequestedFileActionOk, Status::CommandOk];
        for attempt in 0..2 {
            let pending = &[Status::RequestFilePending];
            run(&what, conn.ftp().custom_command(&rename_from, pending)).await?;
            match timed(&what, conn.ftp().custom_command(&rename_to, done)).await? {
                Ok(_) => return Ok(()),
                Err(e) if attempt == 0 && matches!(&e, FtpError::UnexpectedResponse(_)) => {
                    let _ = timed(&what, conn.ftp().rm(&dest)).await?;
                }
                Err(e) => return Err(failed(&what, &e)),
            }
        }
        bail!("{what}: the server refused it")
    }

    /// STOR of the temporary file `temp`, streamed, then its time set.
    async fn put_temp(
        &self,
        conn: &mut Conn,
        temp: &str,
        data: ByteStream,
        opts: PutOptions,
    ) -> Result<u64> {
        let what = format!("cannot write {}", self.describe_path(temp));
        let server = self.server_path(temp);
        let mut upload = run(&what, conn.ftp().put_with_stream(&server)).await?;
        let mut reader = tokio::io::BufReader::with_capacity(UPLOAD_BUFFER, data);
        let mut written = 0u64;
        loop {
            let chunk = reader
                .fill_buf()
                .await
                .map_err(|e| anyhow!("{what}: reading the source: {e}"))?;
            if chunk.is_empty() {
                break;
            }
            let n = chunk.len();
            tokio::time::timeout(COMMAND_TIMEOUT, upload.write_all(chunk))
                .await
                .map_err(|_| anyhow!("{what}: the server stopped taking data"))?
                .map_err(|e| anyhow!("{what}: {e}"))?;
            reader.consume(n);
            written += n as u64;
        }
        run(&what, upload.finish()).await?;
        if let Some(expected) = opts.size.filter(|s| *s != written) {
            bail!("{what}: expected {expected} bytes, the source gave {written}");
        }
        if let (true, Some(mtime)) = (self.pool.offers().set_time, opts.mtime) {
            if let Some(stamp) = ftp_time(mtime) {
                let verb = if self.pool.settings.writing_mdtm {
                    "MDTM"
                } else {
                    "MFMT"
                };
                let time_what = format!("cannot set the time of {}", self.describe_path(temp));
                run(
                    &time_what,
                    conn.ftp().custom_command(
                        format!("{verb} {stamp} {server}"),
                        &[
                            Status::File,
                            Status::CommandOk,
                            Status::RequestedFileActionOk,
                        ],
                    ),
                )
                .await?;
            }
        }
        Ok(written)
    }

    /// Everything below the folders of `top` too, listed [`LIST_CONCURRENCY`] at a time.
    async fn walk(&self, top: Vec<Entry>) -> Result<Vec<Entry>> {
        let mut all = Vec::new();
        let mut pending: Vec<String> = Vec::new();
        for entry in top {
            if entry.is_dir() {
                pending.push(entry.path.clone());
            }
            all.push(entry);
        }
        let mut running = FuturesUnordered::new();
        loop {
            while running.len() < LIST_CONCURRENCY {
                let Some(next) = pending.pop() else { break };
                running.push(async move { (self.list_one(&next).await, next) });
            }
            let Some((listed, folder)) = running.next().await else {
                break;
            };
            let Some(entries) = listed? else {
                bail!(
                    "cannot list {}: it vanished while listing",
                    self.describe_path(&folder)
                );
            };
            for entry in entries {
                if entry.is_dir() {
                    pending.push(entry.path.clone());
                }
                all.push(entry);
            }
        }
        all.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(all)
    }

    /// Deletes a file; a missing one is fine.
    async fn delete(&self, path: &str) -> Result<()> {
        let what = format!("cannot delete {}", self.describe_path(path));
        let mut conn = self.pool.get().await?;
        match timed(&what, conn.ftp().rm(self.server_path(path))).await? {
            Ok(()) => {
                conn.done();
                Ok(())
            }
            Err(e) if is_unavailable(&e) => {
                conn.done();
                if self.stat(path).await?.is_some() {
                    return Err(failed(&what, &e));
                }
                Ok(())
            }
            Err(e) => Err(failed(&what, &e)),
        }
    }
}

/// A RETR being read: ends its transfer and gives the connection back at the end of the
/// file, or closes both when dropped early (a range that ends before the file does).
struct Download {
    transfer: Option<TransferStream<AsyncRustlsStream>>,
    conn: Option<Conn>,
    /// Bytes still wanted (a range), or `None` for the rest of the file.
    left: Option<u64>,
}

impl AsyncRead for Download {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let this = &mut *self;
        let Some(transfer) = this.transfer.as_mut() else {
            return Poll::Ready(Ok(()));
        };
        if this.left == Some(0) {
            this.transfer = None;
            this.conn = None;
            return Poll::Ready(Ok(()));
        }
        let before = buf.filled().len();
        let polled = match this.left {
            Some(left) if (left as usize) < buf.remaining() => {
                // A range that ends inside this read: read no further than it.
                let want = usize::try_from(left).unwrap_or(usize::MAX);
                let mut limited = ReadBuf::new(buf.initialize_unfilled_to(want));
                let polled = Pin::new(transfer).poll_read(cx, &mut limited);
                let n = limited.filled().len();
                if polled.is_ready() {
                    buf.advance(n);
                }
                polled
            }
            _ => Pin::new(transfer).poll_read(cx, buf),
        };
        match polled {
            Poll::Ready(Ok(())) => {
                let n = buf.filled().len() - before;
                if let Some(left) = this.left.as_mut() {
                    *left -= n as u64;
                }
                if n == 0 {
                    if this.left.is_some_and(|l| l > 0) {
                        return Poll::Ready(Err(std::io::Error::new(
                            std::io::ErrorKind::UnexpectedEof,
                            "the FTP server ended the file before the range",
                        )));
                    }
                    // The end of the file: read the transfer's answer, then pool the
                    // connection (on its own, the reader is done).
                    if let (Some(transfer), Some(conn)) = (this.transfer.take(), this.conn.take()) {
                        tokio::spawn(async move {
                            if let Ok(Ok(())) =
                                tokio::time::timeout(COMMAND_TIMEOUT, transfer.finish()).await
                            {
                                conn.done();
                            }
                        });
                    }
                }
                Poll::Ready(Ok(()))
            }
            other => other,
        }
    }
}

#[async_trait]
impl Backend for FtpBackend {
    fn describe(&self) -> String {
        self.describe.clone()
    }

    fn features(&self) -> Features {
        // rclone's precision: a second where MFMT keeps times, else "not supported".
        let kept = self.pool.offers().set_time;
        Features {
            writable: true,
            small_files_at_once: false,
            walk_by_folder: true,
            real_dirs: true,
            server_side_move: true,
            mtime_in_listing: true,
            mtime_precision: [NO_MTIME_PRECISION, Duration::from_secs(1)][usize::from(kept)],
            // FTP servers (vsftpd, ProFTPD, Pure-FTPd, pyftpdlib) write to the file system
            // of their host, as an SFTP server does: its 255 bytes a name.
            max_segment: super::sftp::FEATURES.max_segment,
            max_key: None,
        }
    }

    async fn list(&self, dir: &str, recursive: bool) -> Result<Option<Listing>> {
        Ok(match self.list_one(dir).await? {
            Some(top) if recursive => Some(Listing::of(self.walk(top).await?)),
            found => found.map(Listing::of),
        })
    }

    async fn stat(&self, path: &str) -> Result<Option<Entry>> {
        let (parent, _) = path.rsplit_once('/').unwrap_or(("", path));
        if path.is_empty() {
            return Ok(self.list_one("").await?.map(|_| Entry {
                path: String::new(),
                kind: EntryKind::Dir,
                size: 0,
                mtime: None,
            }));
        }
        Ok(self
            .list_one(parent)
            .await?
            .and_then(|entries| entries.into_iter().find(|e| e.path == path)))
    }

    async fn open(&self, path: &str, range: Option<Range<u64>>) -> Result<ByteStream> {
        let what = format!("cannot read {}", self.describe_path(path));
        let mut conn = self.pool.get().await?;
        let (start, left) = match &range {
            Some(r) => (r.start, Some(r.end.saturating_sub(r.start))),
            None => (0, None),
        };
        if start > 0 {
            let offset = usize::try_from(start).map_err(|_| anyhow!("{what}: offset too large"))?;
            run(&what, conn.ftp().resume_transfer(offset)).await?;
        }
        let transfer = match timed(&what, conn.ftp().retr_as_stream(self.server_path(path))).await?
        {
            Ok(t) => t,
            Err(e) if is_unavailable(&e) => {
                conn.done();
                bail!("{what}: no such file on the server");
            }
            Err(e) => return Err(failed(&what, &e)),
        };
        Ok(Box::pin(Download {
            transfer: Some(transfer),
            conn: Some(conn),
            left,
        }))
    }

    async fn put(&self, path: &str, data: ByteStream, opts: PutOptions) -> Result<u64> {
        let Some((parent, temp)) = temp_beside(path) else {
            bail!("cannot write {}: not a file path", self.describe);
        };
        self.make_dir(parent).await?;
        // Deletes the temporary file unless the move took it (also when this future is
        // dropped mid-way: the delete then runs on its own).
        let mut guard = DeleteOnDrop {
            pool: Some((self.pool.clone(), self.server_path(&temp))),
        };
        let mut conn = self.pool.get().await?;
        let written = match self.put_temp(&mut conn, &temp, data, opts).await {
            Ok(n) => self.move_file(&mut conn, &temp, path).await.map(|()| n),
            Err(e) => Err(e),
        };
        match written {
            Ok(n) => {
                guard.pool = None;
                conn.done();
                Ok(n)
            }
            Err(e) => {
                drop(conn);
                if let Some((pool, server)) = guard.pool.take() {
                    delete_quietly(pool, server).await;
                }
                Err(e)
            }
        }
    }

    async fn remove(&self, path: &str) -> Result<()> {
        self.delete(path).await
    }

    async fn mkdir(&self, path: &str) -> Result<()> {
        self.make_dir(path).await
    }

    async fn rmdir(&self, path: &str) -> Result<()> {
        let what = format!("cannot remove the folder {}", self.describe_path(path));
        let mut conn = self.pool.get().await?;
        let removed = timed(&what, conn.ftp().rmdir(self.server_path(path))).await?;
        conn.done();
        if let Ok(mut dirs) = self.dirs.lock() {
            dirs.retain(|d| d != path && !d.starts_with(&format!("{path}/")));
        }
        match removed {
            Ok(()) => Ok(()),
            Err(e) if is_unavailable(&e) && self.list_one(path).await?.is_none() => Ok(()),
            Err(e) => Err(failed(&what, &e)),
        }
    }

    fn fits(&self, path: &str, kind: EntryKind) -> Result<(), TooLong> {
        let on_server = encoding::to_ftp_path(path);
        self.features()
            .check_stored(b"", on_server.as_bytes(), kind)
    }

    async fn rename(&self, from: &str, to: &str) -> Result<()> {
        let (parent, _) = to.rsplit_once('/').unwrap_or(("", to));
        self.make_dir(parent).await?;
        let mut conn = self.pool.get().await?;
        self.move_file(&mut conn, from, to).await?;
        conn.done();
        Ok(())
    }

    async fn cleanup(&self) -> Result<usize> {
        let stale: Vec<String> = self
            .temps_seen
            .lock()
            .map(|mut seen| std::mem::take(&mut *seen))
            .unwrap_or_default();
        for temp in &stale {
            self.delete(temp).await?;
        }
        Ok(stale.len())
    }
}

/// The folder of the file `path` and a new temporary name in it; `None` for the root.
fn temp_beside(path: &str) -> Option<(&str, String)> {
    let parent = match path.rsplit_once('/') {
        _ if path.is_empty() => return None,
        Some((parent, _)) => parent,
        None => "",
    };
    let temp = match parent {
        "" => temp_name(),
        _ => format!("{parent}/{}", temp_name()),
    };
    Some((parent, temp))
}

/// Deletes a temporary upload on a connection of its own, ignoring failures (the server may
/// be gone: a later run's cleanup deletes it then).
async fn delete_quietly(pool: Arc<Pool>, server_path: String) {
    if let Ok(Ok(mut conn)) = tokio::time::timeout(COMMAND_TIMEOUT, pool.get()).await {
        if let Ok(Ok(())) = tokio::time::timeout(COMMAND_TIMEOUT, conn.ftp().rm(&server_path)).await
        {
            conn.done();
        }
    }
}

/// Deletes a temporary upload left behind when a `put` future is dropped mid-way.
struct DeleteOnDrop {
    pool: Option<(Arc<Pool>, String)>,
}

impl Drop for DeleteOnDrop {
    fn drop(&mut self) {
        let runtime = tokio::runtime::Handle::try_current();
        if let (Some((pool, server)), Ok(runtime)) = (self.pool.take(), runtime) {
            runtime.spawn(delete_quietly(pool, server));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::rclone::RcloneConfig;

    fn open_with(lines: &str) -> Result<(FtpBackend, Vec<String>)> {
        let config = RcloneConfig::parse(&format!("[f]\ntype = ftp\n{lines}")).unwrap();
        open(config.section("f").unwrap(), "dir/sub ")
    }

    /// Sections poof refuses, and a piece of the one-line error each gives.
    const REFUSED: &[(&str, &str)] = &[
        ("", "[f] has no `host =`"),
        ("host = h\nport = 0\n", "not a port number"),
        ("host = h\nport = x\n", "not a port number"),
        ("host = h\ntls = true\nexplicit_tls = true\n", "cannot both"),
        ("host = h\ndisable_mlsd = true\n", "MLSD only"),
        ("host = h\nconcurrency = -1\n", "not a number"),
        ("host = h b\n", "not a host name"),
        ("host = h\ntls = maybe\n", "tls"),
    ];

    #[test]
    fn sections_are_checked_in_one_line_each() {
        for (lines, expected) in REFUSED {
            let Err(e) = open_with(lines) else {
                panic!("{lines:?} was taken");
            };
            let shown = format!("{e:#}");
            assert!(shown.contains(expected) && !shown.contains('\n'), "{shown}");
        }
        // A pass that is not obscured is refused without being shown.
        let Err(e) = open_with("host = h\nuser = u\npass = hunter2\n") else {
            panic!("a clear pass was taken");
        };
        assert!(!format!("{e:#}").contains("hunter2"));
    }

    #[test]
    fn defaults_paths_and_ignored_keys() {
        let (b, warnings) = open_with(
            "host = 127.0.0.1\nuser = u\nexplicit_tls = true\nno_check_certificate = true\nsocks_proxy = h:1\nencoding = Slash,Del,Ctl,RightSpace,Dot\n",
        )
        .unwrap();
        assert_eq!(b.describe(), "f:dir/sub ");
        assert_eq!(b.pool.server, "127.0.0.1:21");
        assert_eq!(
            warnings,
            ["[f] socks_proxy = h:1 is ignored: poof connects to host directly"]
        );
        assert_eq!(b.server_path("a b/c "), "dir/sub\u{2420}/a b/c\u{2420}");
        assert_eq!(b.server_path(""), "dir/sub\u{2420}");
        // Before the first login the server's offers are unknown: no times kept.
        assert_eq!(b.features().mtime_precision, NO_MTIME_PRECISION);
        let config = RcloneConfig::parse("[f]\ntype = ftp\nhost = h\nuser = u\n").unwrap();
        let section = config.section("f").unwrap();
        let absolute = |path: &str| open(section, path).unwrap().0.server_path("x");
        assert_eq!(absolute("/"), "/x");
        assert_eq!(absolute("/srv/b/"), "/srv/b/x");
        assert_eq!(absolute(""), "x");
    }

    #[test]
    fn mlsd_lines_are_parsed() {
        let fact =
            parse_mlsd_line("type=file;size=12;modify=20200102030405.5;perm=r; a b.txt\r").unwrap();
        assert_eq!(fact.name, "a b.txt");
        assert_eq!(fact.size, 12);
        assert!(!fact.is_dir);
        assert_eq!(
            fact.mtime,
            Some(UNIX_EPOCH + Duration::new(1_577_934_245, 500_000_000))
        );
        assert!(
            parse_mlsd_line("type=dir;modify=20200102030405; sub")
                .unwrap()
                .is_dir
        );
        assert!(parse_mlsd_line("type=cdir;modify=20200102030405; .").is_none());
        assert!(parse_mlsd_line("type=pdir; ..").is_none());
        assert!(parse_mlsd_line("garbage").is_none());
        assert_eq!(parse_ftp_time("2020010203040"), None);
        assert_eq!(parse_ftp_time("20201302030405"), None);
    }

    #[test]
    fn times_are_sent_as_utc_seconds_rounded_down() {
        let t = UNIX_EPOCH + Duration::new(1_577_934_245, 900_000_000);
        assert_eq!(ftp_time(t).unwrap(), "20200102030405");
        assert_eq!(
            ftp_time(UNIX_EPOCH - Duration::new(0, 1)).unwrap(),
            "19691231235959"
        );
    }
}
