//! Object stores as a [`Backend`]: one generic backend over any OpenDAL [`Operator`], which each
//! storage type's file (today [`super::s3`]) builds from its rclone section.
//!
//! A storage type maps its section onto an OpenDAL service builder, hands it to [`finish`], and
//! passes the resulting [`Operators`] to [`ObjectBackend::new`] with a description, its upload
//! chunk size and concurrency, what the store can do ([`Features`], as data: engines read
//! it, they never ask which type a backend is) and how its keys spell paths ([`KeyNaming`]:
//! the encoding of rclone's backend of that type). Everything else lives here: listings, stat,
//! ranged reads (one streamed request each, resumed where a connection breaks), atomic writes
//! (multipart through OpenDAL's writer), deletes, rclone's `mtime` metadata, and the mapping of
//! poof's paths to object keys.
//!
//! Every operator gets the same layers in one place ([`finish`]): retries with jittered
//! exponential back-off, bounded by [`RETRY_WAIT_BOUND`], around deadlines ([`Timeouts`]), so
//! that a server that accepts connections and never answers fails each attempt instead of
//! hanging the run. A request that still fails after every retry (refused, unreachable or timed
//! out) marks the store unreachable, and every later request of the run fails at once
//! ([`ObjectBackend::guard`]): a dead or hung endpoint ends a run of thousands of files within
//! one request's retries.
//!
//! Objects keep rclone's modification time in user metadata, in the form rclone's backend of
//! the storage type writes ([`MtimeMeta`]; for S3 the `mtime` key, Unix seconds as a decimal
//! with up to nine fraction digits: [`format_mtime`], [`parse_mtime`]). Listings do not
//! return user metadata, so [`Backend::stat`] (a HEAD request) reads it, falling back to the
//! object's `Last-Modified`. Directories are prefixes: `mkdir` and `rmdir` do nothing, a
//! one-level listing reports common prefixes as directories, and a recursive one derives them
//! from the object keys. Uploads stream in chunks (multipart above one chunk) and abort on every
//! error path, so that no orphaned multipart upload is left behind.
//!
//! Paths are in rclone's Standard name form (see [`super::encoding`]); object keys are in the
//! form rclone's backend writes (for S3, [`S3_NAMING`]: [`super::s3`] says which characters go
//! raw and where poof differs). Every request maps its path with [`KeyNaming::to_key`] (in
//! [`ObjectBackend::key`]) and every listed key comes back with [`KeyNaming::from_key`]. A key another tool wrote with a control
//! character poof keeps as its picture is listed under the name of its picture, and every later
//! request of the run for that name uses the listed key ([`ObjectBackend::key`]); when both keys
//! exist, the listing fails naming the file. A key that maps to no name fails the listing with
//! that key named, never skipped or read as another object.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::io;
use std::ops::{Bound, Range};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use ::opendal::layers::{RetryLayer, TimeoutLayer};
use ::opendal::{Builder, ErrorKind, Operator, Writer};
use anyhow::{anyhow, bail, Context, Result};
use async_trait::async_trait;
use futures::{Stream, TryStreamExt};
use tokio::io::{AsyncRead, AsyncReadExt, ReadBuf};

use super::backend::{
    block_on, Backend, ByteStream, Entry, EntryKind, Features, Listing, PutOptions, TooLong, Whole,
};
use super::encoding::{from_foreign_s3_key, from_s3_key, to_s3_key};
use super::mtime_cache::MtimeCache;
use crate::exit::{Code, WithCode};

/// User metadata key of rclone's modification time.
pub const MTIME_KEY: &str = "mtime";

/// An object store (a bucket, optionally below a key prefix) behind OpenDAL operators.
#[derive(Debug, Clone)]
pub struct ObjectBackend {
    /// Transfers (reads and writes of contents): deadlines per chunk ([`Timeouts::transfer`]).
    op: Operator,
    /// Requests without contents (stat, list, delete): [`Timeouts::request`] throughout.
    meta: Operator,
    /// Set once a request failed after every retry (see [`ObjectBackend::guard`]).
    unreachable: Arc<AtomicBool>,
    /// Keys another tool wrote with a control character poof keeps as its picture, by the
    /// path they were listed as ([`ObjectBackend::key`]).
    foreign: Arc<Foreign>,
    /// What [`Backend::describe`] returns, e.g. `s3:bucket/dir`.
    describe: String,
    /// Bytes per part of a multipart upload (downloads are one streamed request per read).
    chunk: usize,
    /// Parts of one upload in flight at once.
    concurrency: usize,
    /// What the store can do, set by its storage type ([`Backend::features`]).
    features: Features,
    /// How the store's keys spell poof's paths, set by its storage type.
    naming: KeyNaming,
    /// How the store's metadata keeps modification times ([`ObjectBackend::with_mtime`]).
    mtime: MtimeMeta,
    /// What the storage type adds after uploads in parts and copies ([`ObjectExtras`]).
    extras: Option<Arc<dyn ObjectExtras>>,
    /// The modification times known from earlier runs ([`ObjectBackend::with_mtime_cache`]).
    cache: Option<Arc<MtimeCache>>,
}

/// What a storage type adds to the generic backend where OpenDAL leaves a gap rclone's users
/// would notice (Azure Blob: [`super::azureblob::rest`]).
#[async_trait]
pub trait ObjectExtras: Send + Sync + std::fmt::Debug {
    /// Called once an upload of at least one part size that OpenDAL sent is committed, with
    /// the MD5 of its bytes (nothing to do by default).
    async fn uploaded_in_parts(&self, _key: &str, _md5: [u8; 16]) -> Result<()> {
        Ok(())
    }
    /// Called after a server-side copy into `key`, before its source is deleted: returns once
    /// the copy is complete (at once by default: the copy was complete when OpenDAL returned).
    async fn copied(&self, _key: &str) -> Result<()> {
        Ok(())
    }
    /// Whether [`ObjectExtras::list`] gives each object's metadata (then a listing carries
    /// modification times: [`Features::mtime_in_listing`]).
    fn lists_metadata(&self) -> bool {
        false
    }
    /// The objects and folders below `dir` (a key prefix relative to the root, `/` for the
    /// root), when the storage type lists better than OpenDAL; `None`: OpenDAL lists.
    async fn list(&self, _dir: &str, _recursive: bool) -> Result<Option<Vec<ListedObject>>> {
        Ok(None)
    }
    /// Whether [`ObjectExtras::upload`] sends the uploads of a part size or more (of unknown
    /// size too) instead of OpenDAL.
    fn uploads(&self) -> bool {
        false
    }
    /// Uploads `data` (`size` bytes when known) as the object at `key` with the user metadata
    /// `meta`, in parts of `chunk` bytes; returns the bytes uploaded. Called only when
    /// [`ObjectExtras::uploads`] says so.
    async fn upload(
        &self,
        _key: &str,
        _data: ByteStream,
        _size: Option<u64>,
        _meta: Vec<(String, String)>,
        _chunk: usize,
    ) -> Result<u64> {
        bail!("this store's uploads go through OpenDAL")
    }
}

/// One entry of a listing, from OpenDAL or from [`ObjectExtras::list`].
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ListedObject {
    /// The key relative to the root; a folder's may end in `/`.
    pub key: String,
    /// A folder (a common prefix) rather than an object.
    pub dir: bool,
    /// The object's size.
    pub size: u64,
    /// The object's user metadata, when the listing carries it.
    pub meta: BTreeMap<String, String>,
    /// The object's `Last-Modified`, when the listing carries it.
    pub modified: Option<SystemTime>,
    /// The object's ETag, when the listing carries it.
    pub etag: Option<String>,
}

#[cfg(test)]
impl ListedObject {
    /// The key, whether it is a folder, the size and rclone's `mtime` metadata: what tests of
    /// listings compare.
    pub(crate) fn summary(&self) -> (&str, bool, u64, Option<&str>) {
        let mtime = self.meta.get(MTIME_KEY).map(String::as_str);
        (self.key.as_str(), self.dir, self.size, mtime)
    }
}

/// Installs OpenDAL's process-wide HTTP transport (reqwest over rustls with the ring provider)
/// once: the facade crate does so only with its `auto-register-services` feature, which poof
/// leaves off.
fn install_transport() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // `main` installs it too; here it also covers tests. An error means one is installed.
        let _ = rustls::crypto::ring::default_provider().install_default();
        ::opendal::HttpTransporter::install_default(
            opendal_http_transport_reqwest::ReqwestTransport::default(),
        );
    });
}

/// First wait before retrying a failed request (a temporary error: connection refused or
/// reset, 5xx, throttling); each later wait doubles ([`RETRY_FACTOR`]) up to [`RETRY_MAX_DELAY`].
pub const RETRY_MIN_DELAY: Duration = Duration::from_millis(500);
/// Growth of the wait between retries ([`retry_wait_bound`] assumes 2).
pub const RETRY_FACTOR: f32 = 2.0;
/// Longest single wait between retries.
pub const RETRY_MAX_DELAY: Duration = Duration::from_secs(4);
/// Retries of one request before its error is returned.
pub const RETRY_MAX_TIMES: usize = 5;
/// Upper bound of the time one request spends waiting between retries: the waits
/// 0.5 + 1 + 2 + 4 + 4 s, each stretched by jitter to at most twice its length (OpenDAL's
/// back-off adds a random part of the current wait). A dead endpoint therefore fails a request
/// in under 25 s (checked by the unit tests and `tests/faults.rs`).
pub const RETRY_WAIT_BOUND: Duration = retry_wait_bound();

/// Computes [`RETRY_WAIT_BOUND`] from the retry constants (factor 2).
const fn retry_wait_bound() -> Duration {
    let min = RETRY_MIN_DELAY.as_millis() as u64;
    let max = RETRY_MAX_DELAY.as_millis() as u64;
    let (mut total, mut wait, mut i) = (0u64, min, 0);
    while i < RETRY_MAX_TIMES {
        // The jitter adds at most the wait itself.
        total += 2 * if wait < max { wait } else { max };
        wait *= 2;
        i += 1;
    }
    Duration::from_millis(total)
}

/// The retry layer of every operator: jittered exponential back-off, bounded in count and in
/// total wait ([`RETRY_WAIT_BOUND`]).
fn retry_layer() -> RetryLayer {
    RetryLayer::new()
        .with_jitter()
        .with_min_delay(RETRY_MIN_DELAY)
        .with_factor(RETRY_FACTOR)
        .with_max_delay(RETRY_MAX_DELAY)
        .with_max_times(RETRY_MAX_TIMES)
}

/// Deadline of one request that moves no contents: a stat (HEAD), one page of a listing, one
/// delete. A healthy store answers these in well under a second; a server that accepted the
/// connection and went silent costs this much per attempt, so a hung store fails a request
/// after `6 x 30 s` plus the retry waits ([`RETRY_WAIT_BOUND`]), 198 s when measured, and the
/// rest of the run at once.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// The slowest link a transfer must survive, in bytes per second: 256 KiB/s (about 2 Mbit/s),
/// shared by every part in flight. A transfer deadline is the time to move one chunk per part in
/// flight at this rate, so a large upload over a slow but working link is never cut off.
pub const SLOWEST_RATE: u64 = 256 * 1024;

/// Environment variable that sets every deadline of an object store ([`Timeouts`]) to a whole
/// number of seconds (it names S3, the first storage type poof served): for a link slower than
/// [`SLOWEST_RATE`] (more), or tests of a hung server (less).
pub const TIMEOUT_ENV: &str = "POOF_S3_TIMEOUT_SECS";

/// The deadlines of OpenDAL's `TimeoutLayer`. Each attempt of a request gets its own: a
/// timed-out attempt is a temporary error that the retry layer retries ([`RETRY_MAX_TIMES`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// Requests that move no contents: see [`REQUEST_TIMEOUT`].
    pub request: Duration,
    /// One step of a transfer: one read of a download's body, one part of an upload (or the
    /// single PUT of an object of at most one chunk), one `write` that waits for a free part slot, the
    /// final `close` that waits for the parts in flight.
    pub transfer: Duration,
}

impl Timeouts {
    /// The defaults for transfers in chunks of `chunk` bytes, `concurrency` parts in flight:
    /// [`REQUEST_TIMEOUT`], and the time to move `chunk * concurrency` bytes at
    /// [`SLOWEST_RATE`], at least [`REQUEST_TIMEOUT`] (the default 5 MiB x 4: 80 s).
    pub fn for_chunks(chunk: usize, concurrency: usize) -> Timeouts {
        let in_flight = u64::try_from(chunk)
            .unwrap_or(u64::MAX)
            .saturating_mul(u64::try_from(concurrency.max(1)).unwrap_or(u64::MAX));
        let transfer = Duration::from_secs(in_flight.div_ceil(SLOWEST_RATE));
        Timeouts {
            request: REQUEST_TIMEOUT,
            transfer: transfer.max(REQUEST_TIMEOUT),
        }
    }

    /// [`Timeouts::for_chunks`], or every deadline set from [`TIMEOUT_ENV`] when it is set.
    ///
    /// # Errors
    /// [`TIMEOUT_ENV`] is set to something other than a positive whole number of seconds.
    pub fn from_env(chunk: usize, concurrency: usize) -> Result<Timeouts> {
        match std::env::var_os(TIMEOUT_ENV) {
            None => Ok(Timeouts::for_chunks(chunk, concurrency)),
            Some(text) => {
                let all = parse_timeout_secs(&text.to_string_lossy())?;
                Ok(Timeouts {
                    request: all,
                    transfer: all,
                })
            }
        }
    }
}

/// Parses the value of [`TIMEOUT_ENV`].
fn parse_timeout_secs(text: &str) -> Result<Duration> {
    match text.trim().parse::<u64>() {
        Ok(secs) if secs > 0 => Ok(Duration::from_secs(secs)),
        _ => bail!("{TIMEOUT_ENV} = {text:?}: not a positive whole number of seconds"),
    }
}

/// The two operators of a backend, over one client of its service ([`finish`]).
#[derive(Debug)]
pub struct Operators {
    /// Deadlines per transfer step ([`Timeouts::transfer`]).
    data: Operator,
    /// [`Timeouts::request`] for everything.
    meta: Operator,
}

/// Adds the layers every operator gets: deadlines inside, retries outside.
///
/// OpenDAL applies the layer added last outermost. The `TimeoutLayer` goes in first, so that
/// each attempt the `RetryLayer` makes gets its own deadline and a timed-out attempt (a
/// temporary error) is retried; the other order would let a deadline cut through the retries
/// and drop a request body mid-retry (OpenDAL's `RetryLayer` documentation). The transfer
/// deadline also bounds each part of a multipart upload, through the operation's executor.
///
/// # Errors
/// OpenDAL refuses the builder (the storage type adds which client it was).
pub fn finish<B: Builder>(builder: B, timeouts: Timeouts) -> ::opendal::Result<Operators> {
    install_transport();
    let op = Operator::new(builder)?;
    let layered = |io_timeout: Duration| {
        op.clone()
            .layer(
                TimeoutLayer::new()
                    .with_timeout(timeouts.request)
                    .with_io_timeout(io_timeout),
            )
            .layer(retry_layer())
    };
    Ok(Operators {
        data: layered(timeouts.transfer),
        meta: layered(timeouts.request),
    })
}

/// Parses rclone's size syntax: a number with an optional binary suffix (`b`, `k`, `M`, `G`,
/// `T`, `P`, optionally followed by `i` and/or `B`); no suffix means KiB, as in rclone. For
/// the size options of every storage type's section (`chunk_size`).
pub fn parse_size(text: &str) -> Option<u64> {
    let text = text.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (num, suffix) = text.split_at(split);
    let value: f64 = num.parse().ok()?;
    let unit: u64 = match suffix.trim_end_matches(['B', 'i']) {
        "" if suffix.is_empty() => 1 << 10,
        "" | "b" => 1,
        "k" | "K" => 1 << 10,
        "m" | "M" => 1 << 20,
        "g" | "G" => 1 << 30,
        "t" | "T" => 1 << 40,
        "p" | "P" => 1 << 50,
        _ => return None,
    };
    let bytes = value * unit as f64;
    (bytes.is_finite() && bytes >= 0.0 && bytes < u64::MAX as f64).then_some(bytes as u64)
}

/// What an object storage type brings to [`build`]: its name in messages, its transfer sizes,
/// the options it ignores, and how its store spells keys and keeps modification times.
#[derive(Debug, Clone, Copy)]
pub struct ObjectType {
    /// The store in messages (`S3`, `Azure Blob`).
    pub store: &'static str,
    /// The default and the smallest upload part.
    pub chunk: (usize, usize),
    /// Parts in flight by default.
    pub concurrency: usize,
    /// Options poof does not honour, with the reason ([`warn_ignored`]).
    pub ignored: &'static [(&'static str, &'static str)],
    /// What the store can do.
    pub features: Features,
    /// How its keys spell paths.
    pub naming: KeyNaming,
    /// How its metadata keeps modification times.
    pub mtime: MtimeMeta,
}

/// The end of every object storage type's `open`: reads the section's transfer sizes, warns
/// about the options `kind` ignores, builds the operators of `builder` and the backend of
/// `name:path`.
///
/// # Errors
/// A transfer size that does not parse, or a builder OpenDAL refuses (naming the section).
pub fn build<B: Builder>(
    builder: B,
    kind: &ObjectType,
    section: &crate::config::rclone::Section,
    path: &str,
    mut warnings: Vec<String>,
) -> Result<(ObjectBackend, Vec<String>)> {
    let name = section.name();
    let (chunk, concurrency) = section_transfers(
        section,
        kind.store,
        kind.chunk,
        kind.concurrency,
        &mut warnings,
    )?;
    warn_ignored(section, kind.ignored, &mut warnings);
    let timeouts = Timeouts::from_env(chunk, concurrency)?;
    let ops = finish(builder, timeouts)
        .with_context(|| format!("cannot set up the {} client", kind.store))
        .with_context(|| format!("[{name}]"))?;
    let describe = format!("{name}:{}", path.trim_matches('/'));
    let backend = ObjectBackend::new(
        ops,
        describe,
        chunk,
        concurrency,
        kind.features,
        kind.naming,
    )
    .with_mtime(kind.mtime);
    Ok((backend, warnings))
}

/// The upload part size and parts in flight of a section (`chunk_size`, `upload_concurrency`),
/// with the defaults and the smallest part of its storage type (`store` names it in the
/// warning when a smaller `chunk_size` is raised to `min_chunk`).
///
/// # Errors
/// A value that does not parse, naming the section and key.
pub fn section_transfers(
    section: &crate::config::rclone::Section,
    store: &str,
    (default_chunk, min_chunk): (usize, usize),
    default_concurrency: usize,
    warnings: &mut Vec<String>,
) -> Result<(usize, usize)> {
    let name = section.name();
    let get = |key: &str| section.get(key).map(str::trim).filter(|v| !v.is_empty());
    let mut chunk = default_chunk;
    if let Some(text) = get("chunk_size") {
        let size = parse_size(text)
            .ok_or_else(|| anyhow!("[{name}] chunk_size = {text:?} is not a size"))?;
        chunk = usize::try_from(size).unwrap_or(usize::MAX);
        if chunk < min_chunk {
            let min = min_chunk >> 20;
            warnings.push(format!(
                "[{name}] chunk_size = {text} is below {store}'s {min} MiB minimum part size: using {min} MiB"
            ));
            chunk = min_chunk;
        }
    }
    let mut concurrency = default_concurrency;
    if let Some(text) = get("upload_concurrency") {
        concurrency = text
            .parse::<usize>()
            .ok()
            .filter(|n| *n > 0)
            .ok_or_else(|| {
                anyhow!("[{name}] upload_concurrency = {text:?} is not a positive number")
            })?;
    }
    Ok((chunk, concurrency))
}

/// Adds the warning of each option of `ignored` set in `section`, with its value (unless the
/// key names a secret: a key, secret, password or token) and the reason.
pub fn warn_ignored(
    section: &crate::config::rclone::Section,
    ignored: &[(&str, &str)],
    warnings: &mut Vec<String>,
) {
    let name = section.name();
    for (key, why) in ignored {
        let Some(value) = section.get(key).map(str::trim).filter(|v| !v.is_empty()) else {
            continue;
        };
        let secret = ["key", "secret", "password", "token"]
            .iter()
            .any(|word| key.contains(word));
        if secret {
            warnings.push(format!("[{name}] {key} is ignored: {why}"));
        } else {
            warnings.push(format!("[{name}] {key} = {value} is ignored: {why}"));
        }
    }
}

/// How a store's object keys spell poof's paths in Standard form: the encoding rclone's backend
/// of that storage type uses, so that poof and rclone read each other's objects under the same
/// names. Plain functions, chosen by each storage type.
#[derive(Debug, Clone, Copy)]
pub struct KeyNaming {
    /// The key of a path.
    pub to_key: fn(&str) -> Cow<'_, str>,
    /// The path of a listed key, or why the key names no path.
    pub from_key: fn(&str) -> Result<Cow<'_, str>, String>,
    /// The path of a key another tool wrote in a form `to_key` never writes but that still
    /// names one path unambiguously (see [`ObjectBackend::key`]); `None` otherwise.
    pub from_foreign: fn(&str) -> Option<String>,
}

/// The naming of rclone's s3 backend (see [`super::s3`]).
pub const S3_NAMING: KeyNaming = KeyNaming {
    to_key: to_s3_key,
    from_key: from_s3_key,
    from_foreign: from_foreign_s3_key,
};

/// Parses one metadata value into a modification time (`None`: not one).
pub type ParseMtime = fn(&str) -> Option<SystemTime>;

/// How a store keeps rclone's modification time in user metadata: what is written with each
/// object, and the keys read back, the first that parses winning (then `Last-Modified`).
/// Plain functions, chosen by each storage type.
#[derive(Debug, Clone, Copy)]
pub struct MtimeMeta {
    /// The metadata (key, value) written for a modification time.
    pub write: fn(SystemTime) -> Vec<(String, String)>,
    /// The keys read, in order, each with its parser.
    pub read: &'static [(&'static str, ParseMtime)],
}

/// rclone's s3 backend: `mtime` as Unix seconds with a fraction ([`format_mtime`]).
pub const S3_MTIME: MtimeMeta = MtimeMeta {
    write: |t| vec![(MTIME_KEY.to_owned(), format_mtime(t))],
    read: &[(MTIME_KEY, parse_mtime)],
};

/// A modification time as RFC 3339 in UTC with up to nine fraction digits, trailing zeros
/// trimmed (Go's `RFC3339Nano`, as rclone's azureblob and gcs backends write `mtime`).
pub fn format_rfc3339_mtime(t: SystemTime) -> String {
    jiff::Timestamp::try_from(t).map_or_else(|_| format_mtime(t), |ts| ts.to_string())
}

/// Parses an RFC 3339 time with any offset (see [`format_rfc3339_mtime`]).
pub fn parse_rfc3339_mtime(text: &str) -> Option<SystemTime> {
    text.trim()
        .parse::<jiff::Timestamp>()
        .ok()
        .map(SystemTime::from)
}

impl ObjectBackend {
    /// The backend over `ops`: `describe` for messages (e.g. `s3:bucket/dir`), downloads read
    /// and uploads write in parts of `chunk` bytes with `concurrency` parts in flight,
    /// `features` is what the store can do, which [`Backend::features`] returns, and `naming`
    /// how its keys spell paths.
    pub fn new(
        ops: Operators,
        describe: String,
        chunk: usize,
        concurrency: usize,
        features: Features,
        naming: KeyNaming,
    ) -> ObjectBackend {
        ObjectBackend {
            op: ops.data,
            meta: ops.meta,
            unreachable: Arc::default(),
            foreign: Arc::default(),
            describe,
            chunk,
            concurrency,
            features,
            naming,
            mtime: S3_MTIME,
            extras: None,
            cache: None,
        }
    }

    /// This backend remembering the modification times its HEAD requests read in the local
    /// cache of the store location `identity` ([`MtimeCache`]), so that a listing answers for the
    /// objects the cache knows instead of a HEAD request each. For stores whose listings carry
    /// no metadata.
    pub fn with_mtime_cache(self, identity: &str) -> ObjectBackend {
        ObjectBackend {
            cache: MtimeCache::open(identity).map(Arc::new),
            ..self
        }
    }

    /// This backend calling `extras` after uploads in parts and copies, and for listings.
    pub fn with_extras(self, extras: Arc<dyn ObjectExtras>) -> ObjectBackend {
        let mut features = self.features;
        features.mtime_in_listing |= extras.lists_metadata();
        ObjectBackend {
            extras: Some(extras),
            features,
            ..self
        }
    }

    /// This backend keeping modification times as `mtime` says (the default is [`S3_MTIME`]).
    pub fn with_mtime(self, mtime: MtimeMeta) -> ObjectBackend {
        ObjectBackend { mtime, ..self }
    }

    /// The OpenDAL operator of transfers (reads and writes of contents).
    pub fn operator(&self) -> &Operator {
        &self.op
    }

    /// Aborts a writer; errors of the abort itself are secondary to the error being returned.
    async fn abort(writer: &mut Option<Writer>) {
        if let Some(mut w) = writer.take() {
            let _ = w.abort().await;
        }
    }
}

/// Formats a modification time as rclone's `mtime` metadata: Unix seconds, a decimal with up
/// to nine fraction digits, trailing zeros trimmed, no `.` for whole seconds.
pub fn format_mtime(t: SystemTime) -> String {
    let (sign, d) = match t.duration_since(UNIX_EPOCH) {
        Ok(d) => ("", d),
        Err(before) => ("-", before.duration()),
    };
    let nanos = d.subsec_nanos();
    if nanos == 0 {
        let sign = if d.as_secs() == 0 { "" } else { sign };
        return format!("{sign}{}", d.as_secs());
    }
    let frac = format!("{nanos:09}");
    format!("{sign}{}.{}", d.as_secs(), frac.trim_end_matches('0'))
}

/// Parses rclone's `mtime` metadata (see [`format_mtime`]); digits beyond nanoseconds are
/// dropped. `None` when the text is not such a number.
pub fn parse_mtime(text: &str) -> Option<SystemTime> {
    let text = text.trim();
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (secs, frac) = digits.split_once('.').unwrap_or((digits, ""));
    if secs.is_empty() || !secs.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let secs: u64 = secs.parse().ok()?;
    let mut nanos = 0u32;
    for (i, b) in frac.bytes().take(9).enumerate() {
        nanos += u32::from(b - b'0') * 10u32.pow(8 - i as u32);
    }
    let d = Duration::new(secs, nanos);
    if negative {
        UNIX_EPOCH.checked_sub(d)
    } else {
        UNIX_EPOCH.checked_add(d)
    }
}

/// The bytes from `start` to `end`, or to the object's end.
fn byte_range(start: u64, end: Option<u64>) -> (Bound<u64>, Bound<u64>) {
    (
        Bound::Included(start),
        end.map_or(Bound::Unbounded, Bound::Excluded),
    )
}

/// The bytes of `reader` from `start` to `end` (the object's end when `None`), streamed from
/// `first`; when the connection breaks mid-way, a ranged request resumes from the byte reached,
/// at most [`RETRY_MAX_TIMES`] times per read (OpenDAL's retries cover each request, not a body
/// that stops half-way). A request that fails before its first byte (OpenDAL has retried it)
/// ends the stream with its error.
fn resuming(
    reader: ::opendal::Reader,
    first: ::opendal::FuturesBytesStream,
    start: u64,
    end: Option<u64>,
) -> impl Stream<Item = io::Result<bytes::Bytes>> + Send {
    struct State {
        reader: ::opendal::Reader,
        stream: Option<::opendal::FuturesBytesStream>,
        pos: u64,
        end: Option<u64>,
        resumes: usize,
        /// Bytes came since the last request: a break is worth resuming.
        progressed: bool,
        done: bool,
    }
    let state = State {
        reader,
        stream: Some(first),
        pos: start,
        end,
        resumes: 0,
        progressed: false,
        done: false,
    };
    futures::stream::unfold(state, |mut st| async move {
        use futures::StreamExt as _;
        if st.done {
            return None;
        }
        loop {
            let stream = match st.stream.as_mut() {
                Some(stream) => stream,
                None => {
                    let range = byte_range(st.pos, st.end);
                    match st.reader.clone().into_bytes_stream(range).await {
                        Ok(stream) => st.stream.insert(stream),
                        Err(err) => {
                            st.done = true;
                            return Some((Err(io::Error::other(err)), st));
                        }
                    }
                }
            };
            match stream.next().await {
                Some(Ok(bytes)) => {
                    st.pos = st.pos.saturating_add(bytes.len() as u64);
                    st.progressed |= !bytes.is_empty();
                    return Some((Ok(bytes), st));
                }
                Some(Err(_)) if st.progressed && st.resumes < RETRY_MAX_TIMES => {
                    // Resumed above, from `pos`, by a new ranged request.
                    st.resumes += 1;
                    st.progressed = false;
                    st.stream = None;
                }
                Some(Err(err)) => {
                    st.done = true;
                    return Some((Err(err), st));
                }
                None => return None,
            }
        }
    })
}

/// A tokio reader over a stream of byte chunks (also the reader of `remote::sftp`).
pub(crate) struct StreamReader<S, B> {
    stream: S,
    chunk: Option<B>,
    pos: usize,
}

impl<S, B> StreamReader<S, B> {
    /// A reader of the chunks of `stream`, in order.
    pub(crate) fn new(stream: S) -> StreamReader<S, B> {
        StreamReader {
            stream,
            chunk: None,
            pos: 0,
        }
    }
}

impl<S, B> AsyncRead for StreamReader<S, B>
where
    S: Stream<Item = io::Result<B>> + Unpin,
    B: AsRef<[u8]> + Unpin,
{
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        loop {
            if let Some(chunk) = &this.chunk {
                let bytes = chunk.as_ref();
                if let Some(rest) = bytes.get(this.pos..).filter(|r| !r.is_empty()) {
                    let n = rest.len().min(buf.remaining());
                    buf.put_slice(rest.get(..n).unwrap_or_default());
                    this.pos += n;
                    return Poll::Ready(Ok(()));
                }
                this.chunk = None;
            }
            match Pin::new(&mut this.stream).poll_next(cx) {
                Poll::Ready(Some(Ok(chunk))) => {
                    this.chunk = Some(chunk);
                    this.pos = 0;
                }
                Poll::Ready(Some(Err(err))) => return Poll::Ready(Err(err)),
                Poll::Ready(None) => return Poll::Ready(Ok(())),
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}

/// Aborts a multipart upload left unfinished when the `put` future is dropped mid-way.
struct AbortOnDrop {
    writer: Option<Writer>,
}

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        if let Some(mut w) = self.writer.take() {
            if let Ok(handle) = tokio::runtime::Handle::try_current() {
                handle.spawn(async move {
                    let _ = w.abort().await;
                });
            }
        }
    }
}

/// Reads from `data` until `buf` is full or the stream ends; returns the bytes read.
pub(crate) async fn fill(data: &mut ByteStream, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while let Some(rest) = buf.get_mut(filled..).filter(|r| !r.is_empty()) {
        let n = data.read(rest).await?;
        if n == 0 {
            break;
        }
        filled += n;
    }
    Ok(filled)
}

/// Listed keys that hold a control character raw where poof's own keys hold its picture
/// (rclone writes ESC raw), by the Standard path each was listed as. Empty in the common case,
/// which costs one atomic load per request.
#[derive(Debug, Default)]
struct Foreign {
    any: AtomicBool,
    keys: std::sync::RwLock<std::collections::HashMap<String, String>>,
}

impl ObjectBackend {
    /// The object key of a path in Standard form: the one place where poof's paths become keys
    /// (listed keys come back through [`KeyNaming::from_key`] in `raw_list`). A path listed from a key
    /// another tool wrote maps back to that key.
    fn key<'a>(&self, path: &'a str) -> Cow<'a, str> {
        if self.foreign.any.load(Ordering::Relaxed) {
            if let Ok(keys) = self.foreign.keys.read() {
                if let Some(key) = keys.get(path) {
                    return Cow::Owned(key.clone());
                }
            }
        }
        (self.naming.to_key)(path)
    }

    /// The Standard path of a listed key; a key another tool wrote with a control character
    /// poof keeps as its picture is remembered for [`ObjectBackend::key`].
    fn listed_path<'k>(&self, key: &'k str) -> Result<Cow<'k, str>, String> {
        let why = match (self.naming.from_key)(key) {
            Ok(path) => return Ok(path),
            Err(why) => why,
        };
        let Some(path) = (self.naming.from_foreign)(key) else {
            return Err(why);
        };
        let mut keys = self.foreign.keys.write().map_err(|_| why.clone())?;
        keys.insert(path.clone(), key.to_owned());
        self.foreign.any.store(true, Ordering::Relaxed);
        Ok(Cow::Owned(path))
    }
}

/// Relative path of a listed key without its trailing `/`.
fn trim_key(path: &str) -> &str {
    path.trim_start_matches('/').trim_end_matches('/')
}

/// The path of a listed key: without the one `/` that ends a folder's key (`a//`, a folder
/// with an empty name inside `a`, keeps its second one), `""` for the root.
fn listed_key(key: &str) -> &str {
    if key == "/" {
        return "";
    }
    key.strip_suffix('/').unwrap_or(key)
}

/// The requests themselves; [`Backend`] wraps each in [`ObjectBackend::guard`].
impl ObjectBackend {
    /// OpenDAL's listing of `key` (a prefix), without metadata; `None`: nothing there.
    async fn opendal_list(
        &self,
        key: &str,
        recursive: bool,
    ) -> ::opendal::Result<Option<Vec<ListedObject>>> {
        let lister = match self.meta.lister_with(key).recursive(recursive).await {
            Ok(l) => l,
            Err(err) if err.kind() == ErrorKind::NotFound => return Ok(None),
            Err(err) => return Err(err),
        };
        let listed: Vec<::opendal::Entry> = match lister.try_collect().await {
            Ok(v) => v,
            Err(err) if err.kind() == ErrorKind::NotFound => return Ok(None),
            Err(err) => return Err(err),
        };
        Ok(Some(
            listed
                .into_iter()
                .map(|item| ListedObject {
                    key: item.path().to_owned(),
                    dir: item.metadata().is_dir(),
                    size: item.metadata().content_length(),
                    meta: BTreeMap::new(),
                    modified: item.metadata().last_modified().map(SystemTime::from),
                    etag: item.metadata().etag().map(str::to_owned),
                })
                .collect(),
        ))
    }

    /// The modification time of an object: rclone's metadata in the store's form, else its
    /// `Last-Modified`.
    fn mtime_of<'m>(
        &self,
        user: impl Fn(&str) -> Option<&'m str>,
        modified: Option<SystemTime>,
    ) -> Option<SystemTime> {
        self.mtime
            .read
            .iter()
            .find_map(|(key, parse)| user(key).and_then(*parse))
            .or(modified)
    }
    async fn raw_list(&self, dir: &str, recursive: bool) -> Result<Option<Listing>> {
        let dir = dir.trim_matches('/');
        let prefix = if dir.is_empty() {
            "/".to_owned()
        } else {
            format!("{dir}/")
        };
        let what = || format!("cannot list {}/{dir}", self.describe);
        let key = self.key(&prefix);
        let from_extras = match &self.extras {
            Some(extras) => extras.list(&key, recursive).await.with_context(what)?,
            None => None,
        };
        let (listed, with_meta) = match from_extras {
            Some(listed) => (listed, true),
            None => match self.opendal_list(&key, recursive).await {
                Ok(Some(listed)) => (listed, false),
                Ok(None) => return Ok(None),
                Err(err) => return Err(err).with_context(what),
            },
        };
        let mut out: BTreeMap<String, Entry> = BTreeMap::new();
        let add_dir = |out: &mut BTreeMap<String, Entry>, path: &str| {
            out.entry(path.to_owned()).or_insert_with(|| Entry {
                path: path.to_owned(),
                kind: EntryKind::Dir,
                size: 0,
                mtime: None,
            });
        };
        let mut problems = Vec::new();
        // The folders a one-level listing shows, for the cache of times.
        let mut folders = Vec::new();
        for item in listed {
            let raw = item.key.as_str();
            let path = self
                .listed_path(listed_key(raw))
                .map_err(|why| anyhow!("{}: {why}", what()))?;
            let path = path.as_ref();
            if path.is_empty() || path == dir {
                continue;
            }
            let rel = if dir.is_empty() {
                Some(path)
            } else {
                path.strip_prefix(dir).and_then(|r| r.strip_prefix('/'))
            };
            let Some(rel) = rel else {
                continue;
            };
            if recursive {
                // Every ancestor below `dir` is a directory, up to an empty name.
                let mut end = 0;
                while let Some(i) = rel.get(end..).and_then(|r| r.find('/')) {
                    end += i;
                    let parent = rel.get(..end).unwrap_or_default();
                    if parent.is_empty() || parent.ends_with('/') {
                        break;
                    }
                    add_dir(&mut out, &join(dir, parent));
                    end += 1;
                }
            }
            if path.split('/').any(str::is_empty) {
                // `a//b` or `/a`: no file can have that name; reported (the run then deletes
                // nothing), never skipped in silence.
                let start = raw
                    .find("//")
                    .map_or(if raw.starts_with('/') { 1 } else { raw.len() }, |i| i + 2);
                let problem = format!(
                    "the object keys that start {:?} hold an empty folder name: no file can \
                     have such a name (rename them)",
                    raw.get(..start).unwrap_or(raw)
                );
                if !problems.contains(&problem) {
                    problems.push(problem);
                }
                continue;
            }
            if raw.ends_with('/') || item.dir {
                add_dir(&mut out, path);
                if !recursive {
                    let name = listed_key(raw).rsplit('/').next().unwrap_or_default();
                    folders.push(name.to_owned());
                }
            } else {
                let file = Entry {
                    path: path.to_owned(),
                    kind: EntryKind::File,
                    size: item.size,
                    mtime: if with_meta {
                        self.mtime_of(|key| item.meta.get(key).map(String::as_str), item.modified)
                    } else {
                        self.cache.as_ref().and_then(|cache| {
                            cache.lookup(
                                trim_key(raw),
                                item.size,
                                item.etag.as_deref(),
                                item.modified,
                            )
                        })
                    },
                };
                if let Some(EntryKind::File) = out.insert(path.to_owned(), file).map(|e| e.kind) {
                    bail!(
                        "{}: two objects are the file {:?} (one holds a control character, the \
                         other its picture): rename one",
                        what(),
                        path
                    );
                }
            }
        }
        if let (Some(cache), false) = (&self.cache, with_meta) {
            // `dir/` with its slash, so that `dir2/` is not taken for part of it.
            let prefix = key.trim_start_matches('/');
            if recursive {
                cache.listed_whole(prefix);
            } else {
                cache.listed_folder(prefix, folders);
            }
        }
        if out.is_empty()
            && problems.is_empty()
            && !(dir.is_empty() && self.describe_is_bucket_root())
        {
            return Ok(None);
        }
        Ok(Some(Listing {
            entries: out.into_values().collect(),
            problems,
            unreadable: Vec::new(),
        }))
    }

    async fn raw_stat(&self, path: &str) -> Result<Option<Entry>> {
        let meta = match self.meta.stat(&self.key(path)).await {
            Ok(m) => m,
            Err(err) if err.kind() == ErrorKind::NotFound => return Ok(None),
            Err(err) => {
                return Err(err).with_context(|| format!("cannot read {}/{path}", self.describe))
            }
        };
        let user = meta.user_metadata();
        let modified = meta.last_modified().map(SystemTime::from);
        let mtime = self.mtime_of(|key| user.as_ref().and_then(|m| m.get(key)), modified);
        if let (Some(cache), Some(mtime), false) = (&self.cache, mtime, meta.is_dir()) {
            let key = self.key(path);
            cache.record(trim_key(&key), meta.content_length(), meta.etag(), mtime);
        }
        Ok(Some(Entry {
            path: path.to_owned(),
            kind: if meta.is_dir() {
                EntryKind::Dir
            } else {
                EntryKind::File
            },
            size: if meta.is_dir() {
                0
            } else {
                meta.content_length()
            },
            mtime,
        }))
    }

    async fn raw_open(&self, path: &str, range: Option<Range<u64>>) -> Result<ByteStream> {
        let what = || format!("cannot read {}/{path}", self.describe);
        let (start, end) = match range {
            Some(r) if r.start >= r.end => return Ok(Box::pin(tokio::io::empty())),
            Some(r) => (r.start, Some(r.end)),
            None => (0, None),
        };
        // One request per read, streamed as it arrives (as rclone reads): no part of a file
        // waits in memory for the rest of its chunk.
        let reader = self.op.reader(&self.key(path)).await.with_context(what)?;
        let first = reader
            .clone()
            .into_bytes_stream(byte_range(start, end))
            .await
            .with_context(what)?;
        Ok(Box::pin(StreamReader {
            stream: Box::pin(resuming(reader, first, start, end)),
            chunk: None,
            pos: 0,
        }))
    }

    async fn raw_put(&self, path: &str, mut data: ByteStream, opts: PutOptions) -> Result<u64> {
        let what = || format!("cannot write {}/{path}", self.describe);
        let meta = opts.mtime.map(self.mtime.write).unwrap_or_default();
        let key = self.key(path);
        let large = opts.size.is_none_or(|size| size >= self.chunk as u64);
        if let Some(extras) = self.extras.as_ref().filter(|e| large && e.uploads()) {
            return extras
                .upload(&key, data, opts.size, meta, self.chunk)
                .await
                .with_context(what);
        }
        let writer = self
            .op
            .writer_with(&key)
            .chunk(self.chunk)
            .concurrent(self.concurrency)
            .user_metadata(meta)
            .await
            .with_context(what)?;
        let mut guard = AbortOnDrop {
            writer: Some(writer),
        };
        // The MD5 of what may go in parts, for a store that keeps it ([`ObjectExtras`]).
        let mut md5 = self
            .extras
            .as_ref()
            .filter(|_| opts.size.is_none_or(|size| size >= self.chunk as u64))
            .map(|_| <md5::Md5 as md5::Digest>::new());
        let mut written = 0u64;
        loop {
            // A small file gets a buffer of its own size (plus one byte to notice a longer
            // stream), not a whole multipart chunk.
            let want = opts.size.map_or(self.chunk, |size| {
                usize::try_from(size.saturating_sub(written))
                    .unwrap_or(usize::MAX)
                    .saturating_add(1)
                    .min(self.chunk)
            });
            let mut buf = vec![0u8; want];
            let n = match fill(&mut data, &mut buf).await {
                Ok(n) => n,
                Err(err) => {
                    Self::abort(&mut guard.writer).await;
                    return Err(err).with_context(what);
                }
            };
            if n == 0 {
                break;
            }
            buf.truncate(n);
            written = written.saturating_add(n as u64);
            if let Some(md5) = md5.as_mut() {
                md5::Digest::update(md5, &buf);
            }
            let Some(w) = guard.writer.as_mut() else {
                bail!("{}: writer already closed", what());
            };
            if let Err(err) = w.write(buf).await {
                Self::abort(&mut guard.writer).await;
                return Err(err).with_context(what);
            }
        }
        if let Some(expected) = opts.size.filter(|s| *s != written) {
            Self::abort(&mut guard.writer).await;
            bail!(
                "{}: expected {expected} bytes, the source gave {written}",
                what()
            );
        }
        let Some(mut w) = guard.writer.take() else {
            bail!("{}: writer already closed", what());
        };
        if let Err(err) = w.close().await {
            let _ = w.abort().await;
            return Err(err).with_context(what);
        }
        if let (Some(extras), Some(md5)) = (&self.extras, md5) {
            if written >= self.chunk as u64 {
                let md5: [u8; 16] = md5::Digest::finalize(md5).into();
                extras
                    .uploaded_in_parts(&self.key(path), md5)
                    .await
                    .with_context(|| {
                        format!("{}/{path} was uploaded but keeps no MD5", self.describe)
                    })?;
            }
        }
        Ok(written)
    }

    async fn raw_get(&self, path: &str) -> Result<Vec<u8>> {
        let buffer = self
            .op
            .read(&self.key(path))
            .await
            .with_context(|| format!("cannot read {}/{path}", self.describe))?;
        Ok(buffer.to_vec())
    }

    async fn raw_put_bytes(&self, path: &str, data: Vec<u8>, opts: PutOptions) -> Result<u64> {
        let meta = opts.mtime.map(self.mtime.write).unwrap_or_default();
        let len = data.len() as u64;
        // One PUT: an object appears whole or not at all.
        self.op
            .write_with(&self.key(path), data)
            .user_metadata(meta)
            .await
            .with_context(|| format!("cannot write {}/{path}", self.describe))?;
        Ok(len)
    }

    async fn raw_remove(&self, path: &str) -> Result<()> {
        if let Some(cache) = &self.cache {
            cache.forget(trim_key(&self.key(path)));
        }
        self.meta
            .delete(&self.key(path))
            .await
            .with_context(|| format!("cannot delete {}/{path}", self.describe))
    }

    /// A move on the store: a server-side copy (keeping the object's metadata, so its
    /// `mtime`), then the delete of the original. Should the delete fail, both objects are
    /// there: nothing is lost.
    async fn raw_rename(&self, from: &str, to: &str) -> Result<()> {
        self.op
            .copy(&self.key(from), &self.key(to))
            .await
            .with_context(|| format!("cannot copy {}/{from} to {to}", self.describe))?;
        if let Some(extras) = &self.extras {
            extras.copied(&self.key(to)).await.with_context(|| {
                format!(
                    "{}: {from} stays: its copy to {to} is not complete",
                    self.describe
                )
            })?;
        }
        self.raw_remove(from).await
    }
}

#[async_trait]
impl Backend for ObjectBackend {
    fn describe(&self) -> String {
        self.describe.clone()
    }

    fn features(&self) -> Features {
        self.features
    }

    async fn list(&self, dir: &str, recursive: bool) -> Result<Option<Listing>> {
        self.alive()?;
        self.guard(self.raw_list(dir, recursive).await)
    }

    async fn stat(&self, path: &str) -> Result<Option<Entry>> {
        self.alive()?;
        self.guard(self.raw_stat(path).await)
    }

    async fn open(&self, path: &str, range: Option<Range<u64>>) -> Result<ByteStream> {
        self.alive()?;
        let inner = self.guard(self.raw_open(path, range).await)?;
        Ok(Box::pin(Guarded {
            inner,
            unreachable: self.unreachable.clone(),
        }))
    }

    async fn put(&self, path: &str, data: ByteStream, opts: PutOptions) -> Result<u64> {
        self.alive()?;
        self.guard(self.raw_put(path, data, opts).await)
    }

    fn read_whole(&self, file: &Entry) -> Result<Whole> {
        self.alive()?;
        // Listings carry no modification time: its HEAD runs beside the GET.
        let mtime = async {
            match file.mtime {
                Some(mtime) => Ok::<_, anyhow::Error>(Some(mtime)),
                None => Ok(self
                    .guard(self.raw_stat(&file.path).await)
                    .context("cannot read the modification time")?
                    .and_then(|found| found.mtime)),
            }
        };
        let (mtime, data) = block_on(async {
            tokio::join!(mtime, async { self.guard(self.raw_get(&file.path).await) })
        });
        Ok(Whole {
            data: data?,
            mtime: mtime?,
        })
    }

    fn write_whole(&self, path: &str, data: Vec<u8>, opts: PutOptions) -> Result<u64> {
        self.alive()?;
        let opts = PutOptions {
            size: Some(data.len() as u64),
            ..opts
        };
        if data.len() > self.chunk {
            // Large enough for a multipart upload: the streaming path splits it.
            return block_on(self.put(path, Box::pin(io::Cursor::new(data)), opts));
        }
        block_on(async { self.guard(self.raw_put_bytes(path, data, opts).await) })
    }

    async fn remove(&self, path: &str) -> Result<()> {
        self.alive()?;
        self.guard(self.raw_remove(path).await)
    }

    async fn rename(&self, from: &str, to: &str) -> Result<()> {
        if !self.features.server_side_move {
            bail!(
                "{}: cannot move {from} to {to}: this storage cannot move files on its own",
                self.describe
            );
        }
        self.alive()?;
        self.guard(self.raw_rename(from, to).await)
    }

    async fn mkdir(&self, _path: &str) -> Result<()> {
        Ok(())
    }

    async fn rmdir(&self, _path: &str) -> Result<()> {
        Ok(())
    }

    fn fits(&self, path: &str, kind: EntryKind) -> Result<(), TooLong> {
        // The whole key: the root's prefix in the bucket, then the path in the type's key
        // encoding.
        let root = self.op.info().root();
        let prefix = root.trim_start_matches('/');
        self.features
            .check_stored(prefix.as_bytes(), self.key(path).as_bytes(), kind)
    }
}

impl ObjectBackend {
    /// Fails fast once the store is known to be unreachable, so that a run against a dead
    /// endpoint ends after one request's retries instead of retrying every remaining file.
    fn alive(&self) -> Result<()> {
        if self.unreachable.load(Ordering::Relaxed) {
            return Err(anyhow!(
                "{}: giving up: the storage did not answer after {RETRY_MAX_TIMES} retries \
                 of an earlier request",
                self.describe
            ))
            .coded(Code::Unreachable);
        }
        Ok(())
    }

    /// Marks the store unreachable when `result` failed after every retry (OpenDAL's
    /// persistent errors: temporary ones whose retries ran out).
    /// A hung store's error says so first: OpenDAL's own message ("io operation timeout
    /// reached") does not tell a user that every attempt went unanswered.
    fn guard<T>(&self, result: Result<T>) -> Result<T> {
        match result {
            Err(err) if err.chain().any(is_retries_exhausted) => {
                self.unreachable.store(true, Ordering::Relaxed);
                if err.chain().any(is_timed_out) {
                    let attempts = RETRY_MAX_TIMES.saturating_add(1);
                    let err = err.context(format!(
                        "{}: timeout: no answer to {attempts} attempts in a row (the server \
                         accepts connections but does not respond; {TIMEOUT_ENV} sets the \
                         deadline in seconds)",
                        self.describe
                    ));
                    return Err(crate::exit::mark(Code::Unreachable, err));
                }
                Err(crate::exit::mark(Code::Unreachable, err))
            }
            other => other,
        }
    }
}

/// True when `err` (directly or inside an I/O error) is an OpenDAL error saying the store
/// could not be reached even after the retries: a persistent error caused by a refused
/// connection, an unreachable host, or a deadline missed by every attempt (a hung server). An
/// HTTP error answer (403, 404, 5xx) or a body cut short concerns one request only, so it does
/// not count.
fn is_retries_exhausted(err: &(dyn std::error::Error + 'static)) -> bool {
    opendal_error(err).is_some_and(|e| {
        if !e.is_persistent() {
            return false;
        }
        if is_timeout(e) {
            return true;
        }
        let mut cause = std::error::Error::source(e);
        while let Some(c) = cause {
            if let Some(io) = c.downcast_ref::<io::Error>() {
                if matches!(
                    io.kind(),
                    io::ErrorKind::ConnectionRefused
                        | io::ErrorKind::HostUnreachable
                        | io::ErrorKind::NetworkUnreachable
                ) {
                    return true;
                }
            }
            cause = c.source();
        }
        false
    })
}

/// True when `err` (directly or inside an I/O error) is a deadline every attempt missed.
fn is_timed_out(err: &(dyn std::error::Error + 'static)) -> bool {
    opendal_error(err).is_some_and(|e| e.is_persistent() && is_timeout(e))
}

/// `err` as an OpenDAL error, directly or inside an I/O error (download streams).
fn opendal_error<'a>(err: &'a (dyn std::error::Error + 'static)) -> Option<&'a ::opendal::Error> {
    err.downcast_ref::<::opendal::Error>().or_else(|| {
        err.downcast_ref::<io::Error>()
            .and_then(|io| io.get_ref())
            .and_then(|inner| inner.downcast_ref::<::opendal::Error>())
    })
}

/// True for a missed deadline of OpenDAL's `TimeoutLayer` ("operation timeout reached", "io
/// operation timeout reached") or of a multipart part ("write part timeout"): OpenDAL marks
/// them only by kind and message (pinned by the `hung_endpoint_*` test).
fn is_timeout(e: &::opendal::Error) -> bool {
    e.kind() == ErrorKind::Unexpected && e.message().contains("timeout")
}

/// A download stream that marks its store unreachable when a read fails after every retry.
struct Guarded {
    inner: ByteStream,
    unreachable: Arc<AtomicBool>,
}

impl AsyncRead for Guarded {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let poll = self.inner.as_mut().poll_read(cx, buf);
        if let Poll::Ready(Err(err)) = &poll {
            if is_retries_exhausted(err) {
                self.unreachable.store(true, Ordering::Relaxed);
            }
        }
        poll
    }
}

impl ObjectBackend {
    /// True when the backend is rooted at a bucket (no prefix): its empty root exists.
    fn describe_is_bucket_root(&self) -> bool {
        self.op.info().root().trim_matches('/').is_empty()
    }
}

/// Joins a directory and a relative path.
fn join(dir: &str, rel: &str) -> String {
    if dir.is_empty() {
        rel.to_owned()
    } else {
        format!("{dir}/{rel}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::remote::s3::{self, DEFAULT_CHUNK_SIZE, DEFAULT_UPLOAD_CONCURRENCY, MIN_CHUNK_SIZE};

    /// A store's listings as S3 answers them, from a fixed set of keys: a one-level listing
    /// gives the objects directly below the prefix and the folders below it as common
    /// prefixes.
    #[derive(Debug)]
    struct Keys(Vec<&'static str>);

    #[async_trait]
    impl ObjectExtras for Keys {
        async fn list(&self, dir: &str, recursive: bool) -> Result<Option<Vec<ListedObject>>> {
            let prefix = dir.trim_start_matches('/');
            let mut out: BTreeMap<String, bool> = BTreeMap::new();
            for key in self.0.iter().filter_map(|k| k.strip_prefix(prefix)) {
                match key.find('/').filter(|_| !recursive) {
                    Some(end) => out.insert(format!("{prefix}{}", &key[..=end]), true),
                    None => out.insert(format!("{prefix}{key}"), false),
                };
            }
            let listed = out.into_iter().map(|(key, dir)| ListedObject {
                key,
                dir,
                size: 1,
                ..ListedObject::default()
            });
            Ok(Some(listed.collect()))
        }
    }

    #[tokio::test]
    async fn a_walk_by_folder_and_a_whole_listing_show_the_same_objects() {
        // Nothing answers on port 9: every listing comes from `Keys`.
        let keys = [
            "top", "a/1", "a/b/2", "a/b/c/3", "a//x", "a//x2", "a/e//y", "d/", "d/z",
        ];
        let b = s3::loopback(9, "bucket", "k", "s")
            .unwrap()
            .with_extras(Arc::new(Keys(keys.to_vec())));
        let whole = b.list("", true).await.unwrap().unwrap();
        let mut walked = Listing::default();
        let mut folders = vec![String::new()];
        while let Some(dir) = folders.pop() {
            let listed = b.list(&dir, false).await.unwrap().unwrap();
            walked.problems.extend(listed.problems);
            for entry in listed.entries {
                if entry.is_dir() {
                    folders.push(entry.path.clone());
                }
                walked.entries.push(entry);
            }
        }
        walked.entries.sort_by(|a, b| a.path.cmp(&b.path));
        walked.problems.sort();
        let mut whole_problems = whole.problems.clone();
        whole_problems.sort();
        assert_eq!(walked.entries, whole.entries);
        assert_eq!(walked.problems, whole_problems);
        let paths: Vec<&str> = whole.entries.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(
            paths,
            ["a", "a/1", "a/b", "a/b/2", "a/b/c", "a/b/c/3", "a/e", "d", "d/z", "top"]
        );
        // An empty folder name is no file's: named, never skipped in silence.
        assert_eq!(whole_problems.len(), 2, "{whole_problems:?}");
        assert!(
            whole_problems[0].contains("start \"a//\""),
            "{whole_problems:?}"
        );
        assert!(
            whole_problems[1].contains("start \"a/e//\""),
            "{whole_problems:?}"
        );
        assert!(
            whole_problems[0].contains("empty folder name"),
            "{whole_problems:?}"
        );
    }

    #[test]
    fn retry_wait_bound_is_under_thirty_seconds() {
        // 0.5 + 1 + 2 + 4 + 4 s of back-off, each at most doubled by jitter.
        assert_eq!(RETRY_WAIT_BOUND, Duration::from_millis(23_000));
        assert!(RETRY_WAIT_BOUND < Duration::from_secs(30));
    }

    #[tokio::test]
    async fn dead_endpoint_fails_within_the_retry_bound_then_at_once() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .unwrap();
        let backend = s3::loopback(port, "bucket", "k", "s").unwrap();
        let start = std::time::Instant::now();
        let err = backend.stat("x").await.unwrap_err();
        let took = start.elapsed();
        assert!(took < RETRY_WAIT_BOUND + Duration::from_secs(5), "{took:?}");
        assert!(
            took >= RETRY_MIN_DELAY,
            "no retry happened: {took:?} {err:#}"
        );
        let start = std::time::Instant::now();
        let again = backend.list("", true).await.unwrap_err();
        assert!(start.elapsed() < Duration::from_secs(1));
        assert!(format!("{again:#}").contains("giving up"), "{again:#}");
    }

    #[test]
    fn transfer_deadline_fits_the_chunks_in_flight_at_the_slowest_rate() {
        let t = Timeouts::for_chunks(DEFAULT_CHUNK_SIZE, DEFAULT_UPLOAD_CONCURRENCY);
        assert_eq!(t.request, REQUEST_TIMEOUT);
        assert_eq!(t.transfer, Duration::from_secs(80));
        let small = Timeouts::for_chunks(MIN_CHUNK_SIZE, 1);
        assert_eq!(small.transfer, REQUEST_TIMEOUT);
        let huge = Timeouts::for_chunks(usize::MAX, usize::MAX);
        assert!(huge.transfer > Duration::from_secs(1 << 40));
    }

    #[test]
    fn timeout_env_value_is_whole_positive_seconds() {
        assert_eq!(parse_timeout_secs(" 3 ").unwrap(), Duration::from_secs(3));
        for bad in ["0", "-1", "1.5", "", "x"] {
            let err = parse_timeout_secs(bad).unwrap_err().to_string();
            assert!(err.contains(TIMEOUT_ENV), "{err}");
        }
    }

    #[tokio::test]
    async fn hung_endpoint_times_out_every_attempt_then_fails_at_once() {
        // Connections are accepted (by the kernel's backlog) and never answered.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let second = Duration::from_secs(1);
        let timeouts = Timeouts {
            request: second,
            transfer: second,
        };
        let backend = s3::loopback_with(port, "bucket", "k", "s", timeouts).unwrap();
        let start = std::time::Instant::now();
        let err = backend.stat("x").await.unwrap_err();
        let took = start.elapsed();
        let attempts = u32::try_from(RETRY_MAX_TIMES).unwrap() + 1;
        assert!(
            took >= second * attempts,
            "no retry happened: {took:?} {err:#}"
        );
        assert!(
            took < second * attempts + RETRY_WAIT_BOUND + Duration::from_secs(5),
            "{took:?}"
        );
        let msg = format!("{err:#}");
        assert!(msg.contains("timeout: no answer to 6 attempts"), "{msg}");
        assert!(msg.contains("operation timeout reached"), "{msg}");
        let start = std::time::Instant::now();
        let again = backend.list("", true).await.unwrap_err();
        assert!(start.elapsed() < Duration::from_secs(1));
        assert!(format!("{again:#}").contains("giving up"), "{again:#}");
        drop(listener);
    }

    /// Round trips against `rclone serve s3`. A missing rclone peer fails these tests, naming
    /// how to install it: they never pass without having run.
    mod served {
        use std::net::{TcpListener, TcpStream};
        use std::path::PathBuf;
        use std::process::{Child, Command, Stdio};
        use std::sync::Arc;

        use super::*;
        use crate::config::rclone::RcloneConfig;
        use crate::remote::crypt::{CryptBackend, CryptSettings};

        const ACCESS: &str = "POOFUNITACCESS";
        const SECRET: &str = "poofunitsecret0123456789";

        fn rclone() -> PathBuf {
            let path = std::env::var_os("POOF_TEST_RCLONE")
                .map(PathBuf::from)
                .unwrap_or_else(|| {
                    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/rclone-venv/bin/rclone")
                });
            assert!(
                path.is_file(),
                "the rclone peer {} is missing: run scripts/rclone-peer.sh or set POOF_TEST_RCLONE",
                path.display()
            );
            path
        }

        struct Server {
            child: Child,
            port: u16,
            dir: tempfile::TempDir,
        }

        impl Drop for Server {
            fn drop(&mut self) {
                let _ = self.child.kill();
                let _ = self.child.wait();
            }
        }

        fn serve() -> Server {
            let bin = rclone();
            let dir = tempfile::tempdir().unwrap();
            std::fs::create_dir_all(dir.path().join("bucket")).unwrap();
            let port = TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
                .port();
            let child = Command::new(bin)
                .args(["serve", "s3", "--config", "/dev/null", "--addr"])
                .arg(format!("127.0.0.1:{port}"))
                .arg("--auth-key")
                .arg(format!("{ACCESS},{SECRET}"))
                .arg(dir.path())
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap();
            let server = Server { child, port, dir };
            for _ in 0..400 {
                if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                    return server;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            panic!("rclone serve s3 did not start");
        }

        fn rclone_out(server: &Server, config: &str, args: &[&str]) -> Vec<u8> {
            let conf = server.dir.path().join("rclone.conf");
            std::fs::write(&conf, config).unwrap();
            let out = Command::new(rclone())
                .arg("--config")
                .arg(&conf)
                .args(args)
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            out.stdout
        }

        fn s3_section(port: u16) -> String {
            format!(
                "[s3]\ntype = s3\nprovider = Rclone\naccess_key_id = {ACCESS}\nsecret_access_key = {SECRET}\nendpoint = http://127.0.0.1:{port}\n\n"
            )
        }

        fn stream(bytes: Vec<u8>) -> ByteStream {
            Box::pin(std::io::Cursor::new(bytes))
        }

        #[tokio::test(flavor = "multi_thread")]
        async fn put_writes_mtime_rclone_reads_and_multipart_works() {
            let server = serve();
            install_transport();
            let b = s3::loopback(server.port, "bucket/p", ACCESS, SECRET).unwrap();
            assert_eq!(b.list("", true).await.unwrap(), None);
            let mtime = UNIX_EPOCH + Duration::new(1_650_000_000, 123_456_789);
            let big: Vec<u8> = (0..DEFAULT_CHUNK_SIZE + 12345).map(|i| i as u8).collect();
            let opts = PutOptions {
                size: Some(big.len() as u64),
                mtime: Some(mtime),
            };
            assert_eq!(
                b.put("d/big", stream(big.clone()), opts).await.unwrap(),
                big.len() as u64
            );
            let opts = PutOptions {
                size: Some(3),
                mtime: Some(mtime),
            };
            b.put("small", stream(b"abc".to_vec()), opts).await.unwrap();
            let st = b.stat("d/big").await.unwrap().unwrap();
            assert_eq!((st.size, st.mtime), (big.len() as u64, Some(mtime)));
            let mut got = Vec::new();
            b.open("d/big", Some(5..DEFAULT_CHUNK_SIZE as u64 + 10))
                .await
                .unwrap()
                .read_to_end(&mut got)
                .await
                .unwrap();
            assert_eq!(got, big.get(5..DEFAULT_CHUNK_SIZE + 10).unwrap());
            let listed = b.list("", true).await.unwrap().unwrap().entries;
            let paths: Vec<_> = listed.iter().map(|e| e.path.as_str()).collect();
            assert_eq!(paths, ["d", "d/big", "small"]);
            let one_level = b.list("", false).await.unwrap().unwrap().entries;
            let paths: Vec<_> = one_level
                .iter()
                .map(|e| (e.path.as_str(), e.kind))
                .collect();
            assert_eq!(paths, [("d", EntryKind::Dir), ("small", EntryKind::File)]);
            let json = rclone_out(
                &server,
                &s3_section(server.port),
                &["lsjson", "s3:bucket/p/small"],
            );
            let text = String::from_utf8(json).unwrap();
            assert!(
                text.contains("\"ModTime\":\"2022-04-15T05:20:00.123456789Z\""),
                "{text}"
            );
        }

        /// A proxy on 127.0.0.1 in front of `port` that cuts the first connection whose
        /// answers pass `cut_after` bytes; returns its port and the connections it took.
        async fn cutting_proxy(
            port: u16,
            cut_after: usize,
        ) -> (u16, Arc<std::sync::atomic::AtomicUsize>) {
            use tokio::io::{AsyncReadExt, AsyncWriteExt};
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let proxy_port = listener.local_addr().unwrap().port();
            let connections = Arc::new(std::sync::atomic::AtomicUsize::new(0));
            let cut = Arc::new(AtomicBool::new(false));
            let counted = connections.clone();
            tokio::spawn(async move {
                while let Ok((client, _)) = listener.accept().await {
                    counted.fetch_add(1, Ordering::SeqCst);
                    let server = tokio::net::TcpStream::connect(("127.0.0.1", port))
                        .await
                        .unwrap();
                    let (mut client_read, mut client_write) = client.into_split();
                    let (mut server_read, mut server_write) = server.into_split();
                    tokio::spawn(async move {
                        let _ = tokio::io::copy(&mut client_read, &mut server_write).await;
                    });
                    let cut = cut.clone();
                    tokio::spawn(async move {
                        let mut buf = vec![0u8; 64 * 1024];
                        let mut sent = 0;
                        loop {
                            let n = match server_read.read(&mut buf).await {
                                Ok(0) | Err(_) => return,
                                Ok(n) => n,
                            };
                            sent += n;
                            if sent > cut_after && !cut.swap(true, Ordering::SeqCst) {
                                // The connection breaks mid-body, once.
                                return;
                            }
                            if client_write.write_all(&buf[..n]).await.is_err() {
                                return;
                            }
                        }
                    });
                }
            });
            (proxy_port, connections)
        }

        #[tokio::test(flavor = "multi_thread")]
        async fn a_read_cut_mid_body_resumes_from_the_byte_reached() {
            let server = serve();
            install_transport();
            let b = s3::loopback(server.port, "bucket", ACCESS, SECRET).unwrap();
            let data: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
            let opts = PutOptions {
                size: Some(data.len() as u64),
                mtime: None,
            };
            b.put("big", stream(data.clone()), opts).await.unwrap();
            let (port, connections) = cutting_proxy(server.port, 1_000_000).await;
            let through = s3::loopback(port, "bucket", ACCESS, SECRET).unwrap();
            let mut got = Vec::new();
            through
                .open("big", None)
                .await
                .unwrap()
                .read_to_end(&mut got)
                .await
                .unwrap();
            assert!(got == data, "{} bytes read of {}", got.len(), data.len());
            assert!(connections.load(Ordering::SeqCst) >= 2, "never cut");
            let mut part = Vec::new();
            through
                .open("big", Some(10..2_500_000))
                .await
                .unwrap()
                .read_to_end(&mut part)
                .await
                .unwrap();
            assert!(part == data[10..2_500_000]);
        }

        #[tokio::test(flavor = "multi_thread")]
        async fn rename_is_a_server_side_copy_that_keeps_the_mtime() {
            let server = serve();
            install_transport();
            let b = s3::loopback(server.port, "bucket", ACCESS, SECRET).unwrap();
            assert!(b.features().server_side_move);
            let mtime = UNIX_EPOCH + Duration::new(1_650_000_000, 5);
            let opts = PutOptions {
                size: Some(7),
                mtime: Some(mtime),
            };
            b.put("docs/a", stream(b"version".to_vec()), opts)
                .await
                .unwrap();
            b.rename("docs/a", "history/docs/a").await.unwrap();
            assert_eq!(b.stat("docs/a").await.unwrap(), None);
            let moved = b.stat("history/docs/a").await.unwrap().unwrap();
            assert_eq!((moved.size, moved.mtime), (7, Some(mtime)));
            assert!(b.rename("docs/a", "elsewhere").await.is_err());
        }

        #[tokio::test(flavor = "multi_thread")]
        async fn short_stream_aborts_and_leaves_nothing() {
            let server = serve();
            install_transport();
            let b = s3::loopback(server.port, "bucket", ACCESS, SECRET).unwrap();
            let opts = PutOptions {
                size: Some(10),
                mtime: None,
            };
            assert!(b.put("f", stream(b"short".to_vec()), opts).await.is_err());
            assert_eq!(b.stat("f").await.unwrap(), None);
            assert_eq!(b.list("", true).await.unwrap(), Some(Listing::default()));
        }

        #[tokio::test(flavor = "multi_thread")]
        async fn crypt_over_s3_put_is_read_by_rclone() {
            let server = serve();
            install_transport();
            let password = poof_crypt::obscure("unit pw");
            let config = s3_section(server.port)
                + &format!("[c]\ntype = crypt\nremote = s3:bucket/enc\npassword = {password}\n");
            let parsed = RcloneConfig::parse(&config).unwrap();
            let settings = CryptSettings::from_section(parsed.section("c").unwrap()).unwrap();
            let inner = s3::loopback(server.port, "bucket/enc", ACCESS, SECRET).unwrap();
            let c = CryptBackend::new(Arc::new(inner), settings, "c:".into());
            let data: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
            let mtime = UNIX_EPOCH + Duration::new(1_700_000_000, 500_000_000);
            let opts = PutOptions {
                size: Some(data.len() as u64),
                mtime: Some(mtime),
            };
            c.put("dir/日本.txt", stream(data.clone()), opts)
                .await
                .unwrap();
            let got = rclone_out(&server, &config, &["cat", "c:dir/日本.txt"]);
            assert_eq!(got, data);
            let ls = rclone_out(&server, &config, &["ls", "c:"]);
            assert_eq!(String::from_utf8(ls).unwrap(), "   200000 dir/日本.txt\n");
        }
    }

    fn at(secs: i64, nanos: u32) -> SystemTime {
        if secs >= 0 {
            UNIX_EPOCH + Duration::new(secs as u64, nanos)
        } else {
            UNIX_EPOCH - Duration::new(secs.unsigned_abs(), 0) + Duration::new(0, nanos)
        }
    }

    #[test]
    fn mtime_formats_like_rclone() {
        assert_eq!(
            format_mtime(at(1_650_000_000, 123_456_789)),
            "1650000000.123456789"
        );
        assert_eq!(format_mtime(at(1_650_000_001, 500_000_000)), "1650000001.5");
        assert_eq!(format_mtime(at(1_650_000_002, 0)), "1650000002");
        assert_eq!(format_mtime(at(-1001, 750_000_000)), "-1000.25");
        assert_eq!(format_mtime(UNIX_EPOCH), "0");
    }

    #[test]
    fn mtime_round_trips() {
        for t in [
            at(1_650_000_000, 123_456_789),
            at(1_650_000_001, 500_000_000),
            at(1_650_000_002, 0),
            at(-1001, 750_000_000),
            UNIX_EPOCH,
        ] {
            assert_eq!(parse_mtime(&format_mtime(t)), Some(t), "{t:?}");
        }
    }

    #[test]
    fn mtime_with_extra_digits_truncates() {
        assert_eq!(parse_mtime("1.0000000019"), Some(at(1, 1)));
    }

    #[test]
    fn mtime_garbage_is_none() {
        for bad in ["", "-", "x", "1.2.3", "1e9", ".5", "1.-5", "+1"] {
            assert_eq!(parse_mtime(bad), None, "{bad}");
        }
    }

    #[test]
    fn sizes_parse_like_rclone() {
        assert_eq!(parse_size("5Mi"), Some(5 << 20));
        assert_eq!(parse_size("16M"), Some(16 << 20));
        assert_eq!(parse_size("100"), Some(100 << 10));
        assert_eq!(parse_size("100b"), Some(100));
        assert_eq!(parse_size("1.5G"), Some(3 << 29));
        assert_eq!(parse_size("64MiB"), Some(64 << 20));
        assert_eq!(parse_size("lots"), None);
        assert_eq!(parse_size("5X"), None);
    }
}
