//! A list of a plan's files that holds a bounded number in memory and the rest on disk.
//!
//! A first backup of a million files plans a million copies; the plan of a run must still be
//! complete before anything changes (the guards judge it whole). A [`Spool`] keeps its first
//! [`MEMORY_ITEMS`] items in memory, sorted by path when complete ([`Spool::sort_by_path`]);
//! past that, every item goes to a temporary file in poof's cache folder
//! (`$XDG_CACHE_HOME/poof`, else `~/.cache/poof`: a disk, where the system's `/tmp` may be
//! memory), created readable by its owner only and unlinked at once, so that nothing is left
//! behind however the run ends. Items read back in the order they were pushed.
//!
//! A spool never loses an item silently: when the file cannot be made, items stay in memory;
//! when a write to it fails (a full disk), the spool keeps the error and every reading of it
//! starts with that error ([`Spool::failure`]).

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::time::{Duration, UNIX_EPOCH};

use anyhow::{anyhow, Result};

use super::plan::CopyReason;
use crate::remote::backend::{Entry, EntryKind};

/// Items a spool holds in memory before it moves them to its file (about 100 bytes each).
pub const MEMORY_ITEMS: usize = 16 * 1024;
/// Bytes of encoded items gathered before one write to the file.
const WRITE_BUFFER: usize = 256 * 1024;
/// Bytes read from the file at once.
const READ_BUFFER: usize = 256 * 1024;

/// An item a spool can hold: written as bytes and read back.
pub trait Record: Clone {
    /// Appends the item's bytes to `out`.
    fn encode(&self, out: &mut Vec<u8>);
    /// Reads one item from the front of `input`, advancing it; `None` when the bytes are
    /// incomplete or broken.
    fn decode(input: &mut &[u8]) -> Option<Self>;
    /// The path items are sorted by.
    fn path(&self) -> &str;
}

/// Items in memory, or in a file (see the module docs).
#[derive(Debug)]
pub struct Spool<T> {
    memory: Vec<T>,
    limit: usize,
    file: Option<File>,
    /// Encoded items not yet written to the file.
    pending: Vec<u8>,
    /// Bytes written to the file.
    written: u64,
    len: u64,
    failure: Option<String>,
}

impl<T> Default for Spool<T> {
    fn default() -> Spool<T> {
        Spool::with_limit(MEMORY_ITEMS)
    }
}

impl<T: PartialEq> PartialEq for Spool<T> {
    /// Equal when both are in memory with equal items (spools on disk never compare equal).
    fn eq(&self, other: &Spool<T>) -> bool {
        self.file.is_none() && other.file.is_none() && self.memory == other.memory
    }
}

impl<T: Record> FromIterator<T> for Spool<T> {
    fn from_iter<I: IntoIterator<Item = T>>(items: I) -> Spool<T> {
        let mut spool = Spool::default();
        for item in items {
            spool.push(item);
        }
        spool
    }
}

impl<T> Spool<T> {
    /// An empty spool holding at most `limit` items in memory.
    pub fn with_limit(limit: usize) -> Spool<T> {
        Spool {
            memory: Vec::new(),
            limit,
            file: None,
            pending: Vec::new(),
            written: 0,
            len: 0,
            failure: None,
        }
    }

    /// How many items were pushed.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// True when nothing was pushed.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// True when the items are in a file.
    #[cfg(test)]
    pub fn on_disk(&self) -> bool {
        self.file.is_some()
    }

    /// Why items were lost on their way to the file, if they were.
    pub fn failure(&self) -> Option<&str> {
        self.failure.as_deref()
    }
}

impl<T: Record> Spool<T> {
    /// Adds an item.
    pub fn push(&mut self, item: T) {
        self.len += 1;
        if self.file.is_none() {
            self.memory.push(item);
            if self.memory.len() > self.limit && self.failure.is_none() {
                self.spill();
            }
            return;
        }
        item.encode(&mut self.pending);
        if self.pending.len() >= WRITE_BUFFER {
            self.flush();
        }
    }

    /// Sorts the items by path when they are in memory (a spool on disk keeps the order of
    /// its pushes).
    pub fn sort_by_path(&mut self) {
        self.memory.sort_by(|a, b| a.path().cmp(b.path()));
    }

    /// Every item, in order; an error first when items were lost (see [`Spool::failure`]),
    /// and at a file that cannot be read back.
    pub fn iter(&self) -> SpoolIter<'_, T> {
        SpoolIter {
            spool: self,
            next_memory: 0,
            buffer: Vec::new(),
            at: 0,
            offset: 0,
            pending_done: false,
            done: false,
        }
    }

    /// Moves the items in memory to a new file; items stay in memory when no file can be made.
    fn spill(&mut self) {
        let file = match spool_file() {
            Ok(file) => file,
            Err(err) => {
                // Memory is the worse place but loses nothing: stay there, and say so once.
                say!(
                    "poof: warning: cannot make a temporary file for a long plan; it stays in memory: {err}"
                );
                self.limit = usize::MAX;
                return;
            }
        };
        self.file = Some(file);
        for item in std::mem::take(&mut self.memory) {
            item.encode(&mut self.pending);
            if self.pending.len() >= WRITE_BUFFER {
                self.flush();
            }
        }
        self.flush();
    }

    /// Writes the pending bytes to the file.
    fn flush(&mut self) {
        let Some(file) = &self.file else {
            return;
        };
        if self.failure.is_none() {
            match file.write_all_at(&self.pending, self.written) {
                Ok(()) => self.written += self.pending.len() as u64,
                Err(err) => {
                    self.failure = Some(format!(
                        "cannot write the plan to its temporary file in {}: {err}",
                        spool_dir().display()
                    ));
                }
            }
        }
        self.pending.clear();
    }
}

/// Reads a spool's items in order (see [`Spool::iter`]).
pub struct SpoolIter<'a, T> {
    spool: &'a Spool<T>,
    next_memory: usize,
    /// Bytes read from the file (or the pending bytes) and not yet decoded, from `at`.
    buffer: Vec<u8>,
    at: usize,
    /// Offset in the file of the next read.
    offset: u64,
    pending_done: bool,
    done: bool,
}

impl<T: Record> Iterator for SpoolIter<'_, T> {
    type Item = Result<T>;

    fn next(&mut self) -> Option<Result<T>> {
        if self.done {
            return None;
        }
        if let Some(why) = &self.spool.failure {
            self.done = true;
            return Some(Err(anyhow!(why.clone())));
        }
        let Some(file) = &self.spool.file else {
            let item = self.spool.memory.get(self.next_memory).cloned();
            self.next_memory += 1;
            return item.map(Ok);
        };
        loop {
            let mut rest = &self.buffer[self.at..];
            if let Some(item) = T::decode(&mut rest) {
                self.at = self.buffer.len() - rest.len();
                return Some(Ok(item));
            }
            // Keep the undecoded tail and read more behind it.
            self.buffer.drain(..self.at);
            self.at = 0;
            if self.offset < self.spool.written {
                let want = (self.spool.written - self.offset).min(READ_BUFFER as u64) as usize;
                let start = self.buffer.len();
                self.buffer.resize(start + want, 0);
                if let Err(err) = file.read_exact_at(&mut self.buffer[start..], self.offset) {
                    self.done = true;
                    return Some(Err(anyhow!(
                        "cannot read back the plan from its temporary file: {err}"
                    )));
                }
                self.offset += want as u64;
            } else if !self.pending_done {
                self.pending_done = true;
                self.buffer.extend_from_slice(&self.spool.pending);
            } else {
                self.done = true;
                return (!self.buffer.is_empty()).then(|| {
                    Err(anyhow!(
                        "the plan's temporary file ends in the middle of an entry"
                    ))
                });
            }
        }
    }
}

/// Where spools go: poof's cache folder, else the system's temporary folder.
fn spool_dir() -> std::path::PathBuf {
    crate::remote::mtime_cache::cache_dir().unwrap_or_else(std::env::temp_dir)
}

/// A new file for a spool, readable by its owner only, already unlinked.
fn spool_file() -> io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    let dir = spool_dir();
    crate::remote::mtime_cache::private_dir(&dir)?;
    let name = |n: u32| dir.join(format!("plan-{}-{n}.tmp", std::process::id()));
    let mut n = 0;
    loop {
        let path = name(n);
        match std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)
        {
            Ok(file) => {
                std::fs::remove_file(&path)?;
                return Ok(file);
            }
            Err(err) if err.kind() == io::ErrorKind::AlreadyExists && n < 1000 => n += 1,
            Err(err) => return Err(err),
        }
    }
}

fn put_u64(out: &mut Vec<u8>, n: u64) {
    out.extend_from_slice(&n.to_le_bytes());
}

fn take<const N: usize>(input: &mut &[u8]) -> Option<[u8; N]> {
    let (head, rest) = input.split_first_chunk::<N>()?;
    *input = rest;
    Some(*head)
}

impl Record for Entry {
    fn encode(&self, out: &mut Vec<u8>) {
        put_u64(out, self.path.len() as u64);
        out.extend_from_slice(self.path.as_bytes());
        out.push(u8::from(self.kind == EntryKind::Dir));
        put_u64(out, self.size);
        match self.mtime.map(|t| match t.duration_since(UNIX_EPOCH) {
            Ok(after) => (0u8, after),
            Err(before) => (1u8, before.duration()),
        }) {
            None => out.push(0),
            Some((sign, d)) => {
                out.push(1 + sign);
                put_u64(out, d.as_secs());
                out.extend_from_slice(&d.subsec_nanos().to_le_bytes());
            }
        }
    }

    fn decode(input: &mut &[u8]) -> Option<Entry> {
        let mut rest = *input;
        let len = usize::try_from(u64::from_le_bytes(take(&mut rest)?)).ok()?;
        let path = rest.get(..len)?;
        rest = &rest[len..];
        let path = std::str::from_utf8(path).ok()?.to_owned();
        let kind = match take::<1>(&mut rest)? {
            [0] => EntryKind::File,
            [1] => EntryKind::Dir,
            _ => return None,
        };
        let size = u64::from_le_bytes(take(&mut rest)?);
        let mtime = match take::<1>(&mut rest)? {
            [0] => None,
            [flag @ (1 | 2)] => {
                let secs = u64::from_le_bytes(take(&mut rest)?);
                let nanos = u32::from_le_bytes(take(&mut rest)?);
                let d = Duration::new(secs, nanos);
                Some(if flag == 1 {
                    UNIX_EPOCH.checked_add(d)?
                } else {
                    UNIX_EPOCH.checked_sub(d)?
                })
            }
            _ => return None,
        };
        *input = rest;
        Some(Entry {
            path,
            kind,
            size,
            mtime,
        })
    }

    fn path(&self) -> &str {
        &self.path
    }
}

impl Record for (Entry, CopyReason) {
    fn encode(&self, out: &mut Vec<u8>) {
        out.push(match self.1 {
            CopyReason::New => 0,
            CopyReason::SizeDiffers => 1,
            CopyReason::MtimeDiffers => 2,
            CopyReason::ContentDiffers => 3,
        });
        self.0.encode(out);
    }

    fn decode(input: &mut &[u8]) -> Option<(Entry, CopyReason)> {
        let mut rest = *input;
        let reason = match take::<1>(&mut rest)? {
            [0] => CopyReason::New,
            [1] => CopyReason::SizeDiffers,
            [2] => CopyReason::MtimeDiffers,
            [3] => CopyReason::ContentDiffers,
            _ => return None,
        };
        let entry = Entry::decode(&mut rest)?;
        *input = rest;
        Some((entry, reason))
    }

    fn path(&self) -> &str {
        &self.0.path
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(i: usize) -> (Entry, CopyReason) {
        let mtime = match i % 3 {
            0 => None,
            1 => Some(UNIX_EPOCH + Duration::new(1_700_000_000 + i as u64, 123_456_789)),
            _ => Some(UNIX_EPOCH - Duration::new(i as u64, 7)),
        };
        let reason = [
            CopyReason::New,
            CopyReason::SizeDiffers,
            CopyReason::MtimeDiffers,
            CopyReason::ContentDiffers,
        ][i % 4];
        let entry = Entry {
            path: format!("dir {}/é file {i}", i / 100),
            kind: if i.is_multiple_of(50) {
                EntryKind::Dir
            } else {
                EntryKind::File
            },
            size: (i as u64) << 20,
            mtime,
        };
        (entry, reason)
    }

    fn read_all<T: Record>(spool: &Spool<T>) -> Vec<T> {
        spool.iter().map(|item| item.unwrap()).collect()
    }

    #[test]
    fn items_come_back_in_order_from_memory_and_from_disk() {
        for (count, limit) in [(0, 10), (10, 10), (11, 10), (5000, 10), (30_000, 1000)] {
            let mut spool = Spool::with_limit(limit);
            let items: Vec<_> = (0..count).map(entry).collect();
            for item in &items {
                spool.push(item.clone());
            }
            assert_eq!(spool.len(), count as u64);
            assert_eq!(
                spool.on_disk(),
                count > limit,
                "{count} items, {limit} in memory"
            );
            assert_eq!(read_all(&spool), items, "{count} items, {limit} in memory");
            // A second reading sees the same.
            assert_eq!(spool.iter().count(), count);
        }
    }

    #[test]
    fn only_a_spool_in_memory_is_sorted() {
        let names = ["b", "a/x", "a.c", "c"];
        let make = |limit| {
            let mut spool: Spool<Entry> = Spool::with_limit(limit);
            for name in names {
                spool.push(Entry {
                    path: name.into(),
                    kind: EntryKind::File,
                    size: 1,
                    mtime: None,
                });
            }
            spool.sort_by_path();
            read_all(&spool)
                .into_iter()
                .map(|e| e.path)
                .collect::<Vec<_>>()
        };
        assert_eq!(make(10), ["a.c", "a/x", "b", "c"]);
        assert_eq!(make(2), names);
    }

    #[test]
    fn broken_bytes_decode_to_nothing() {
        let mut bytes = Vec::new();
        entry(1).encode(&mut bytes);
        for cut in 0..bytes.len() {
            let mut input = &bytes[..cut];
            assert!(<(Entry, CopyReason)>::decode(&mut input).is_none(), "{cut}");
        }
        let mut bad_reason = bytes.clone();
        bad_reason[0] = 9;
        assert!(<(Entry, CopyReason)>::decode(&mut &bad_reason[..]).is_none());
        let mut input = &bytes[..];
        assert_eq!(<(Entry, CopyReason)>::decode(&mut input), Some(entry(1)));
        assert!(input.is_empty());
    }

    #[test]
    fn a_lost_write_is_an_error_of_every_reading() {
        let mut spool = Spool::with_limit(1);
        spool.push(entry(1));
        spool.push(entry(2));
        assert!(spool.on_disk());
        spool.failure = Some("disk full".into());
        let read: Vec<_> = spool.iter().collect();
        assert_eq!(read.len(), 1);
        assert!(format!("{:#}", read[0].as_ref().unwrap_err()).contains("disk full"));
    }
}
