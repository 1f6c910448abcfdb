//! An in-memory [`Backend`] for the engine's unit tests, with fault injection.
//!
//! [`MemBackend`] keeps files as bytes and a modification time in a map, can play a local
//! folder (times in listings, real directories) or an object store (times only from `stat`,
//! directories implied by paths), can fail `put` or `open` of chosen paths or every `list`,
//! counts the `put`s in flight (to check concurrency limits) and every call that changes
//! something (to check that dry runs change nothing).

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use anyhow::{anyhow, bail, Result};
use async_trait::async_trait;
use tokio::io::AsyncReadExt;

use crate::remote::backend::{
    Backend, ByteStream, Entry, EntryKind, Features, Length, Listing, PutOptions, Whole,
};

/// Contents of a [`MemBackend`].
#[derive(Default)]
struct State {
    files: BTreeMap<String, (Vec<u8>, SystemTime)>,
    dirs: BTreeSet<String>,
    missing: bool,
    fail_put: BTreeSet<String>,
    fail_open: BTreeSet<String>,
    fail_list: bool,
    problems: Vec<String>,
    /// Every folder listed, in order.
    listed: Vec<String>,
}

/// See the module docs.
pub struct MemBackend {
    state: Mutex<State>,
    features: Features,
    put_delay: Duration,
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
    mutations: AtomicUsize,
    stats: AtomicUsize,
}

/// A fixed point in time plus `secs` seconds, for readable tests.
pub fn at(secs: u64) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000 + secs)
}

impl MemBackend {
    fn with_features(features: Features) -> MemBackend {
        MemBackend {
            state: Mutex::default(),
            features,
            put_delay: Duration::ZERO,
            in_flight: AtomicUsize::new(0),
            max_in_flight: AtomicUsize::new(0),
            mutations: AtomicUsize::new(0),
            stats: AtomicUsize::new(0),
        }
    }

    /// Plays a local folder: nanosecond times in listings, real directories.
    pub fn local() -> MemBackend {
        MemBackend::with_features(Features {
            mtime_in_listing: true,
            mtime_precision: Duration::from_nanos(1),
            real_dirs: true,
            server_side_move: true,
            writable: true,
            small_files_at_once: false,
            walk_by_folder: true,
            max_segment: None,
            max_key: None,
        })
    }

    /// Plays an object store: no times in listings, directories implied by paths.
    pub fn object_store() -> MemBackend {
        MemBackend::with_features(Features {
            mtime_in_listing: false,
            mtime_precision: Duration::from_nanos(1),
            real_dirs: false,
            server_side_move: false,
            writable: true,
            small_files_at_once: true,
            walk_by_folder: true,
            max_segment: None,
            max_key: None,
        })
    }

    /// Listed whole rather than folder by folder (as a past state is).
    pub fn listed_whole(mut self) -> MemBackend {
        self.features.walk_by_folder = false;
        self
    }

    /// A local folder that does not exist (until something is written to it).
    pub fn missing() -> MemBackend {
        let b = MemBackend::local();
        b.lock().missing = true;
        b
    }

    /// Sets the limits of name lengths ([`Features::max_segment`], [`Features::max_key`]).
    pub fn limits(mut self, max_segment: Option<Length>, max_key: Option<Length>) -> MemBackend {
        self.features.max_segment = max_segment;
        self.features.max_key = max_key;
        self
    }

    /// Sets the precision of modification times.
    pub fn precision(mut self, precision: Duration) -> MemBackend {
        self.features.mtime_precision = precision;
        self
    }

    /// Makes every `put` wait this long (to let transfers overlap).
    pub fn put_delay(mut self, delay: Duration) -> MemBackend {
        self.put_delay = delay;
        self
    }

    /// Adds a problem to every listing (as a crypt remote reports a name that does not
    /// decrypt).
    pub fn problem(self, what: &str) -> MemBackend {
        self.lock().problems.push(what.to_owned());
        self
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Adds a file.
    pub fn file(self, path: &str, data: &[u8], mtime: SystemTime) -> MemBackend {
        self.lock()
            .files
            .insert(path.into(), (data.to_vec(), mtime));
        self
    }

    /// Adds a directory.
    pub fn dir(self, path: &str) -> MemBackend {
        self.lock().dirs.insert(path.into());
        self
    }

    /// Every `put` of `path` fails.
    pub fn fail_put(self, path: &str) -> MemBackend {
        self.lock().fail_put.insert(path.into());
        self
    }

    /// Every `open` of `path` fails.
    pub fn fail_open(self, path: &str) -> MemBackend {
        self.lock().fail_open.insert(path.into());
        self
    }

    /// A store nothing can be written to (an http remote).
    pub fn read_only(mut self) -> MemBackend {
        self.features.writable = false;
        self
    }

    /// Every `list` fails.
    pub fn fail_list(self) -> MemBackend {
        self.lock().fail_list = true;
        self
    }

    /// Contents and time of a file.
    pub fn get(&self, path: &str) -> Option<(Vec<u8>, SystemTime)> {
        self.lock().files.get(path).cloned()
    }

    /// Paths of all files.
    pub fn paths(&self) -> Vec<String> {
        self.lock().files.keys().cloned().collect()
    }

    /// Explicit directories.
    pub fn dirs(&self) -> Vec<String> {
        self.lock().dirs.iter().cloned().collect()
    }

    /// Every folder listed so far, in order (`""` for the root).
    pub fn listed_folders(&self) -> Vec<String> {
        self.lock().listed.clone()
    }

    /// Most `put`s ever in flight at once.
    pub fn max_in_flight(&self) -> usize {
        self.max_in_flight.load(Ordering::SeqCst)
    }

    /// Calls that changed (or tried to change) something.
    pub fn mutations(&self) -> usize {
        self.mutations.load(Ordering::SeqCst)
    }

    /// `stat` calls.
    pub fn stats(&self) -> usize {
        self.stats.load(Ordering::SeqCst)
    }

    fn mutated(&self) {
        self.mutations.fetch_add(1, Ordering::SeqCst);
    }

    /// The bytes of a file, or of a range of it.
    fn read(&self, path: &str, range: Option<Range<u64>>) -> Result<Vec<u8>> {
        let state = self.lock();
        if state.fail_open.contains(path) {
            bail!("mem: open {path}: injected failure");
        }
        let (data, _) = state
            .files
            .get(path)
            .ok_or_else(|| anyhow!("mem: open {path}: not found"))?;
        Ok(match range {
            None => data.clone(),
            Some(r) => {
                let start = usize::try_from(r.start)?.min(data.len());
                let end = usize::try_from(r.end)?.clamp(start, data.len());
                data.get(start..end).unwrap_or_default().to_vec()
            }
        })
    }

    /// Counts a write in flight until the returned guard drops.
    fn start_put(&self) -> InFlight<'_> {
        self.mutated();
        let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        self.max_in_flight.fetch_max(now, Ordering::SeqCst);
        InFlight(&self.in_flight)
    }

    /// Stores a written file.
    fn store(&self, path: &str, bytes: Vec<u8>, opts: PutOptions) -> Result<u64> {
        let mut state = self.lock();
        if state.fail_put.contains(path) {
            bail!("mem: put {path}: injected failure");
        }
        let len = bytes.len() as u64;
        state.missing = false;
        state.files.insert(
            path.into(),
            (bytes, opts.mtime.unwrap_or_else(SystemTime::now)),
        );
        Ok(len)
    }
}

/// A write in flight (see [`MemBackend::max_in_flight`]).
struct InFlight<'a>(&'a AtomicUsize);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// `dir` and every parent of it, `""` excluded.
fn with_parents(path: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = path;
    while !cur.is_empty() {
        out.push(cur.to_owned());
        cur = cur.rsplit_once('/').map_or("", |(parent, _)| parent);
    }
    out
}

fn parent(path: &str) -> &str {
    path.rsplit_once('/').map_or("", |(parent, _)| parent)
}

#[async_trait]
impl Backend for MemBackend {
    fn describe(&self) -> String {
        "mem:".into()
    }

    fn features(&self) -> Features {
        self.features
    }

    async fn list(&self, dir: &str, recursive: bool) -> Result<Option<Listing>> {
        let mut state = self.lock();
        state.listed.push(dir.to_owned());
        if state.fail_list {
            bail!("mem: list {dir:?}: injected failure");
        }
        if state.missing {
            return Ok(None);
        }
        let mut dirs: BTreeSet<String> = state.dirs.clone();
        for path in state.files.keys() {
            dirs.extend(with_parents(parent(path)));
        }
        let prefix = if dir.is_empty() {
            String::new()
        } else {
            format!("{dir}/")
        };
        if !dir.is_empty() && !dirs.contains(dir) {
            return Ok(None);
        }
        let wanted = |path: &str| {
            path.strip_prefix(&prefix)
                .is_some_and(|rest| !rest.is_empty() && (recursive || !rest.contains('/')))
        };
        let mut out: Vec<Entry> = dirs
            .iter()
            .filter(|d| wanted(d))
            .map(|d| Entry {
                path: d.clone(),
                kind: EntryKind::Dir,
                size: 0,
                mtime: None,
            })
            .collect();
        out.extend(
            state
                .files
                .iter()
                .filter(|(p, _)| wanted(p))
                .map(|(p, (data, mtime))| Entry {
                    path: p.clone(),
                    kind: EntryKind::File,
                    size: data.len() as u64,
                    mtime: self.features.mtime_in_listing.then_some(*mtime),
                }),
        );
        // The problems belong to the tree: reported once by a walk, with its root.
        let problems = if dir.is_empty() || recursive {
            state.problems.clone()
        } else {
            Vec::new()
        };
        Ok(Some(Listing {
            entries: out,
            problems,
            unreadable: Vec::new(),
        }))
    }

    async fn stat(&self, path: &str) -> Result<Option<Entry>> {
        self.stats.fetch_add(1, Ordering::SeqCst);
        let state = self.lock();
        Ok(state.files.get(path).map(|(data, mtime)| Entry {
            path: path.into(),
            kind: EntryKind::File,
            size: data.len() as u64,
            mtime: Some(*mtime),
        }))
    }

    async fn open(&self, path: &str, range: Option<Range<u64>>) -> Result<ByteStream> {
        Ok(Box::pin(std::io::Cursor::new(self.read(path, range)?)))
    }

    async fn put(&self, path: &str, mut data: ByteStream, opts: PutOptions) -> Result<u64> {
        let in_flight = self.start_put();
        tokio::time::sleep(self.put_delay).await;
        let mut bytes = Vec::new();
        let read = data.read_to_end(&mut bytes).await;
        drop(in_flight);
        read?;
        self.store(path, bytes, opts)
    }

    fn read_whole(&self, file: &Entry) -> Result<Whole> {
        let data = self.read(&file.path, None)?;
        let mtime = match file.mtime {
            Some(mtime) => Some(mtime),
            None => self.lock().files.get(&file.path).map(|(_, mtime)| *mtime),
        };
        Ok(Whole { data, mtime })
    }

    fn write_whole(&self, path: &str, data: Vec<u8>, opts: PutOptions) -> Result<u64> {
        let in_flight = self.start_put();
        std::thread::sleep(self.put_delay);
        drop(in_flight);
        self.store(path, data, opts)
    }

    async fn remove(&self, path: &str) -> Result<()> {
        self.mutated();
        match self.lock().files.remove(path) {
            Some(_) => Ok(()),
            None => bail!("mem: remove {path}: not found"),
        }
    }

    async fn rename(&self, from: &str, to: &str) -> Result<()> {
        self.mutated();
        let mut state = self.lock();
        let Some(file) = state.files.remove(from) else {
            bail!("mem: rename {from}: not found");
        };
        state.files.insert(to.to_owned(), file);
        Ok(())
    }

    async fn mkdir(&self, path: &str) -> Result<()> {
        self.mutated();
        let mut state = self.lock();
        state.missing = false;
        if self.features.real_dirs {
            state.dirs.extend(with_parents(path));
        }
        Ok(())
    }

    async fn rmdir(&self, path: &str) -> Result<()> {
        self.mutated();
        let mut state = self.lock();
        let prefix = format!("{path}/");
        if state.files.keys().any(|p| p.starts_with(&prefix))
            || state.dirs.iter().any(|d| d.starts_with(&prefix))
        {
            bail!("mem: rmdir {path}: not empty");
        }
        state.dirs.remove(path);
        Ok(())
    }
}
