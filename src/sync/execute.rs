//! Executing a [`Plan`]: directories, transfers with bounded concurrency, and the delete phase
//! last. A dry run never comes here: [`super::dry_run`] prints the plan instead.
//!
//! Order of work, as rclone:
//!
//! 1. Problems of the plan and of the listings are printed and counted as errors.
//! 2. Directories of the source missing on a real-dirs destination are made, parents first.
//! 3. Files are copied `--transfers` at a time, by threads of the engine's own, each taking the
//!    next file until none is left, one way for every backend ([`transfer`]): a small file is
//!    read whole and written whole ([`Backend::read_whole`], [`Backend::write_whole`]: each
//!    backend takes its fastest way, plain system calls for a local folder, a GET beside a
//!    HEAD for an object store), a larger one streams from `open` into `put`, driven by the
//!    thread. Writes are atomic (see [`Backend`]'s contract), so a failure leaves the older
//!    version in place. A failed file is reported on stderr in one line naming the path and
//!    the cause, and counted. Threads are bounded by the work: never more than the files to
//!    copy nor than [`super::MAX_TRANSFERS`] ([`worker_count`]); a thread the system refuses
//!    is one error of the run, never a panic. When either side is an HTTP store
//!    ([`Features::small_files_at_once`](crate::remote::backend::Features::small_files_at_once)),
//!    a small file's copy waits on round trips rather than on the CPU or the disk:
//!    [`SMALL_FILES_FACTOR`] times more threads then copy small files, while large ones still
//!    stream `--transfers` at a time ([`LargeSlots`]).
//! 4. Only when the run has had **no error at all**: destination files missing from the source
//!    are deleted, then destination directories missing from the source, deepest first.
//!    Otherwise `not deleting N files because there were errors` is printed and nothing is
//!    deleted.
//! 5. After a run without error, the destination's [`Backend::cleanup`] (temporary files of
//!    interrupted runs).

use std::collections::{BTreeMap, VecDeque};
use std::io;
use std::pin::Pin;
use std::sync::mpsc;
use std::task::{Context as TaskContext, Poll};
use std::time::SystemTime;

use anyhow::{bail, Context, Result};
use futures::stream::{self, StreamExt};
use tokio::io::{AsyncRead, ReadBuf};
use tokio::runtime::{Handle, RuntimeFlavor};

use super::spool::{SpoolIter, MEMORY_ITEMS};
use super::{
    shown, CopyReason, Keep, Plan, SyncOptions, SyncStats, ERROR, INFO, MAX_TRANSFERS, NOTICE,
};
use crate::bwlimit::Throttle;
use crate::progress::Progress;
use crate::remote::backend::{Backend, ByteStream, Entry, PutOptions};

/// After a clean run, the destination's housekeeping (a local folder removes the temporary
/// files interrupted runs left; one still being written is locked and kept).
pub(super) async fn cleanup(dst: &dyn Backend, progress: &Progress, stats: &mut SyncStats) {
    if stats.errors > 0 {
        return;
    }
    match dst.cleanup().await {
        Ok(0) => {}
        Ok(n) => progress.log(&format!(
            "{NOTICE}removed {n} temporary files left by interrupted runs"
        )),
        Err(err) => {
            progress.log(&format!("{ERROR}{err:#}"));
            stats.errors += 1;
        }
    }
}

pub(super) async fn make_dirs(
    dst: &dyn Backend,
    plan: &Plan,
    opts: &SyncOptions,
    progress: &Progress,
    stats: &mut SyncStats,
) {
    for dir in &plan.mkdirs {
        let outcome = dst.mkdir(dir).await;
        let done = ("Made directory", "Failed to make directory");
        let count = &mut stats.dirs_created;
        tally(
            outcome,
            &shown(dir, dst),
            done,
            count,
            &mut stats.errors,
            opts,
            progress,
        );
    }
}

/// Copies the planned files on threads of their own, `--transfers` of them but never more
/// than there are files (nor than [`MAX_TRANSFERS`]), each taking the next file of a [`Feed`]
/// until none is left, and counts the outcomes as they come.
///
/// A thread the system refuses is one error of the run (so nothing is deleted), never a
/// panic: the threads that did start take every file; when none did, the calling thread
/// copies them itself.
pub(super) async fn transfer_all(
    src: &dyn Backend,
    dst: &dyn Backend,
    plan: &Plan,
    opts: &SyncOptions,
    progress: &Progress,
    stats: &mut SyncStats,
) {
    let at_once = src.features().small_files_at_once || dst.features().small_files_at_once;
    let files = usize::try_from(plan.copies.len()).unwrap_or(usize::MAX);
    let small = usize::try_from(plan.stats.small_copies).unwrap_or(usize::MAX);
    let threads = copy_threads(opts.transfers, files, small, at_once);
    if threads == 0 {
        return;
    }
    if Handle::current().runtime_flavor() != RuntimeFlavor::MultiThread {
        // The copy threads lend the runtime their waits; a single-threaded runtime cannot.
        progress.log(&format!(
            "{ERROR}internal error: the copies need a multi-thread runtime; nothing copied"
        ));
        stats.errors += 1;
        return;
    }
    if opts.verbose {
        progress.log(&format!("{INFO}copying {files} files on {threads} threads"));
        if let Some(limiter) = opts.bwlimit.as_ref() {
            progress.log(&format!(
                "{INFO}bandwidth limit {:?} for {}",
                limiter.spec().to_string(),
                opts.flow
            ));
        }
    }
    // One at a time, nothing contends: keep the plan's order then.
    let feed = Feed::new(plan, opts.transfers > 1);
    let workers = (threads, worker_count(opts.transfers, files));
    copy_on_threads(src, dst, &feed, workers, opts, progress, stats);
    if let Some(err) = feed.failure() {
        progress.log(&format!(
            "{ERROR}{err:#}; the rest of the copies were not made"
        ));
        stats.errors += 1;
    }
}

/// The planned copies handed to the copy threads one at a time, read from the plan a window
/// at a time (a long plan is on disk), each window in the order of [`spread_by_folder`].
struct Feed<'a> {
    state: std::sync::Mutex<FeedState<'a>>,
}

struct FeedState<'a> {
    copies: SpoolIter<'a, (Entry, CopyReason)>,
    ready: VecDeque<(Entry, CopyReason)>,
    spread: bool,
    failure: Option<anyhow::Error>,
}

/// Copies read from the plan at once: all of a plan held in memory.
const FEED_WINDOW: usize = MEMORY_ITEMS;

impl<'a> Feed<'a> {
    fn new(plan: &'a Plan, spread: bool) -> Feed<'a> {
        Feed {
            state: std::sync::Mutex::new(FeedState {
                copies: plan.copies.iter(),
                ready: VecDeque::new(),
                spread,
                failure: None,
            }),
        }
    }

    /// The next file to copy, or `None` when all are taken (or the plan cannot be read).
    fn next(&self) -> Option<(Entry, CopyReason)> {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if state.ready.is_empty() && state.failure.is_none() {
            let mut window = Vec::new();
            while window.len() < FEED_WINDOW {
                match state.copies.next() {
                    Some(Ok(copy)) => window.push(copy),
                    Some(Err(err)) => {
                        state.failure = Some(err);
                        break;
                    }
                    None => break,
                }
            }
            state.ready = if state.spread {
                spread_by_folder(window)
            } else {
                window.into()
            };
        }
        state.ready.pop_front()
    }

    /// Why the plan could not be read to its end.
    fn failure(&self) -> Option<anyhow::Error> {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        state.failure.take()
    }
}

/// The threads of [`transfer_all`] (`threads`, of which `large` may stream large files at
/// once): each takes the next file of `feed` until none is left.
fn copy_on_threads(
    src: &dyn Backend,
    dst: &dyn Backend,
    feed: &Feed<'_>,
    (threads, large): (usize, usize),
    opts: &SyncOptions,
    progress: &Progress,
    stats: &mut SyncStats,
) {
    let handle = Handle::current();
    let large = LargeSlots::new(large);
    let throttle = opts.bwlimit.as_ref().and_then(|l| l.throttle(opts.flow));
    let throttle = throttle.as_ref();
    // Takes files until none is left, sending each outcome back.
    let work = |sender: mpsc::Sender<((Entry, CopyReason), Result<u64>)>| {
        let _runtime = handle.enter();
        while let Some(copy) = feed.next() {
            let keep = opts.keep.as_ref().filter(|_| copy.1 != CopyReason::New);
            let _slot = (copy.0.size > WHOLE_FILE_SIZE).then(|| large.take());
            let outcome = transfer(src, dst, &copy.0, keep, throttle, progress, &handle);
            if sender.send((copy, outcome)).is_err() {
                break;
            }
        }
    };
    let mut refused = None;
    tokio::task::block_in_place(|| {
        std::thread::scope(|scope| {
            let (sender, outcomes) = mpsc::channel();
            let (started, error) = start_workers(threads, || {
                let (sender, work) = (sender.clone(), &work);
                std::thread::Builder::new()
                    .spawn_scoped(scope, move || work(sender))
                    .map(drop)
            });
            refused = error.map(|err| (started, err));
            if started == 0 {
                work(sender);
            } else {
                drop(sender);
            }
            for ((entry, reason), outcome) in outcomes {
                record(&entry, reason, outcome, opts, progress, stats);
            }
        });
    });
    if let Some((started, err)) = refused {
        let copied_on = if started == 0 {
            "the files were copied one at a time"
        } else {
            "the files were copied on those"
        };
        progress.log(&format!(
            "{ERROR}the system refused a copy thread ({started} of {threads} started, \
             {copied_on}; nothing will be deleted): {err}"
        ));
        stats.errors += 1;
    }
}

/// Starts up to `threads` workers with `spawn`, stopping at the first the system refuses;
/// returns how many started and that refusal.
fn start_workers(
    threads: usize,
    mut spawn: impl FnMut() -> io::Result<()>,
) -> (usize, Option<io::Error>) {
    for started in 0..threads {
        if let Err(err) = spawn() {
            return (started, Some(err));
        }
    }
    (threads, None)
}

/// More threads copy small files than `--transfers` by this factor when either side is an
/// HTTP store (see the module docs): with the default 4, sixteen small files are in flight.
pub const SMALL_FILES_FACTOR: usize = 4;

/// How many threads copy `files` files, `small` of them small, when `--transfers` is
/// `transfers`: [`worker_count`], or with an HTTP store on either side (`at_once`) up to
/// [`SMALL_FILES_FACTOR`] times more for the small files (never more threads than files, nor
/// than [`MAX_TRANSFERS`]).
pub fn copy_threads(transfers: usize, files: usize, small: usize, at_once: bool) -> usize {
    let base = worker_count(transfers, files);
    if !at_once || small == 0 {
        return base;
    }
    let more = worker_count(transfers.saturating_mul(SMALL_FILES_FACTOR), small);
    base.max(more.min(files))
}

/// The slots of large files: a copy thread takes one before streaming a file above
/// [`WHOLE_FILE_SIZE`], so that at most `--transfers` large files stream at once however many
/// threads copy small ones.
struct LargeSlots {
    free: std::sync::Mutex<usize>,
    freed: std::sync::Condvar,
}

/// A slot of [`LargeSlots`], given back when dropped.
struct LargeSlot<'a>(&'a LargeSlots);

impl LargeSlots {
    fn new(slots: usize) -> LargeSlots {
        LargeSlots {
            free: std::sync::Mutex::new(slots.max(1)),
            freed: std::sync::Condvar::new(),
        }
    }

    /// Waits for a free slot and takes it.
    fn take(&self) -> LargeSlot<'_> {
        let mut free = self.free.lock().unwrap_or_else(|e| e.into_inner());
        while *free == 0 {
            free = self.freed.wait(free).unwrap_or_else(|e| e.into_inner());
        }
        *free -= 1;
        LargeSlot(self)
    }
}

impl Drop for LargeSlot<'_> {
    fn drop(&mut self) {
        let mut free = self.0.free.lock().unwrap_or_else(|e| e.into_inner());
        *free += 1;
        self.0.freed.notify_one();
    }
}

/// How many workers copy `files` files when `--transfers` is `transfers`: never more than
/// the files (an idle worker is a thread or a task for nothing) nor than [`MAX_TRANSFERS`],
/// and at least one when there is work.
pub fn worker_count(transfers: usize, files: usize) -> usize {
    transfers.clamp(1, MAX_TRANSFERS).min(files)
}

/// Counts (and with `-v` prints) the outcome of one copy.
fn record(
    entry: &Entry,
    reason: CopyReason,
    outcome: Result<u64>,
    opts: &SyncOptions,
    progress: &Progress,
    stats: &mut SyncStats,
) {
    match outcome {
        Ok(bytes) => {
            stats.transferred += 1;
            stats.bytes = stats.bytes.saturating_add(bytes);
            if opts.keep.is_some() {
                stats.added.push(entry.path.clone());
            }
            if opts.verbose {
                let what = match reason {
                    CopyReason::New => "new",
                    CopyReason::SizeDiffers
                    | CopyReason::MtimeDiffers
                    | CopyReason::ContentDiffers => "replaced existing",
                };
                progress.log(&format!("{INFO}{}: Copied ({what})", entry.path));
            }
        }
        Err(e) => {
            stats.errors += 1;
            if crate::exit::Code::of(&e) == crate::exit::Code::Unreadable {
                stats.unreadable += 1;
            }
            progress.log(&format!("{ERROR}{}: Failed to copy: {e:#}", entry.path));
        }
    }
}

/// The copies in an order where files running at the same time are in different folders
/// where possible: one file from each folder in turn, folders and files in path order.
/// Creating and renaming files takes the folder's lock in the kernel, so concurrent transfers
/// into one folder wait on each other (measured on ext4 with 20,000 small files).
fn spread_by_folder(copies: Vec<(Entry, CopyReason)>) -> VecDeque<(Entry, CopyReason)> {
    let count = copies.len();
    let mut folders: BTreeMap<String, VecDeque<(Entry, CopyReason)>> = BTreeMap::new();
    for copy in copies {
        let parent = copy.0.path.rsplit_once('/').map_or("", |(dir, _)| dir);
        folders
            .entry(parent.to_owned())
            .or_default()
            .push_back(copy);
    }
    let mut queues: Vec<_> = folders.into_values().collect();
    let mut out = VecDeque::with_capacity(count);
    while !queues.is_empty() {
        queues.retain_mut(|queue| match queue.pop_front() {
            Some(copy) => {
                out.push_back(copy);
                true
            }
            None => false,
        });
    }
    out
}

/// Files up to this size are copied through memory whole ([`Backend::read_whole`] and
/// [`Backend::write_whole`]): at most `--transfers` of them (plain and sealed) are in memory at
/// once.
pub const WHOLE_FILE_SIZE: u64 = 1024 * 1024;

/// True when the source's listing did not give the file's modification time, which then
/// costs a request of its own.
fn needs_stat(src: &dyn Backend, entry: &Entry) -> bool {
    entry.mtime.is_none() && !src.features().mtime_in_listing
}

/// Counts a small file read whole from the source, checks its length against the listing,
/// and gives the options of its write.
fn whole_file_read(
    entry: &Entry,
    read: usize,
    mtime: Option<SystemTime>,
    progress: &Progress,
) -> Result<PutOptions> {
    progress.inc_bytes(read as u64);
    if read as u64 != entry.size {
        bail!(
            "the source changed during the copy: listed {} bytes, read {read}",
            entry.size
        );
    }
    Ok(PutOptions {
        size: Some(entry.size),
        mtime,
    })
}

/// Checks the length the destination took against the source's listing and counts the file
/// done; returns the bytes written.
fn copy_done(entry: &Entry, written: u64, progress: &Progress) -> Result<u64> {
    if written != entry.size {
        bail!(
            "the source changed during the copy: listed {} bytes, copied {written}",
            entry.size
        );
    }
    progress.inc_file();
    Ok(written)
}

/// Copies one file on the calling thread (one of the engine's) and returns the bytes written:
/// a small file whole, a larger one as a stream driven through `handle`.
/// With `keep`, the version being replaced is first moved into history (see [`Keep`]), just
/// before the new one is written; when that move fails, nothing is written. With a
/// `throttle` (`--bwlimit`), the file's bytes are drawn from it: a small file's once read,
/// before it is written (the thread waits), a stream's as they are read.
fn transfer(
    src: &dyn Backend,
    dst: &dyn Backend,
    entry: &Entry,
    keep: Option<&Keep>,
    throttle: Option<&Throttle>,
    progress: &Progress,
    handle: &Handle,
) -> Result<u64> {
    let written = if entry.size <= WHOLE_FILE_SIZE {
        // Small files go through memory whole: one read and one write, without a stream's
        // tasks and buffers (most of a backup's files, and most of its time).
        let whole = src.read_whole(entry).context("cannot read the source")?;
        if let Some(throttle) = throttle {
            throttle.wait(whole.data.len() as u64);
        }
        let opts = whole_file_read(entry, whole.data.len(), whole.mtime, progress)?;
        if let Some(keep) = keep {
            handle.block_on(keep_old(keep, &entry.path))?;
        }
        dst.write_whole(&entry.path, whole.data, opts)?
    } else {
        handle.block_on(stream(src, dst, entry, keep, throttle, progress))?
    };
    copy_done(entry, written, progress)
}

/// Streams one file from the source into the destination and returns the bytes written.
/// Moves the version a copy replaces into history (see [`Keep`]).
async fn keep_old(keep: &Keep, path: &str) -> Result<()> {
    keep.keep(path)
        .await
        .context("cannot move the replaced version into history; not copied")
}

/// With `keep`, the replaced version moves into history once the source is open, just before
/// the write starts.
async fn stream(
    src: &dyn Backend,
    dst: &dyn Backend,
    entry: &Entry,
    keep: Option<&Keep>,
    throttle: Option<&Throttle>,
    progress: &Progress,
) -> Result<u64> {
    // The modification time of an object store's file costs a request of its own (listings
    // do not carry it).
    let mtime = if needs_stat(src, entry) {
        src.stat(&entry.path)
            .await
            .context("cannot read the source modification time")?
            .and_then(|found| found.mtime)
    } else {
        entry.mtime
    };
    let opts = PutOptions {
        size: Some(entry.size),
        mtime,
    };
    let reader = src
        .open(&entry.path, None)
        .await
        .context("cannot open the source")?;
    let reader: ByteStream = match throttle {
        Some(throttle) => Box::pin(throttle.clone().reader(reader)),
        None => reader,
    };
    let counted: ByteStream = Box::pin(Counted {
        inner: reader,
        progress: progress.clone(),
    });
    if let Some(keep) = keep {
        keep_old(keep, &entry.path).await?;
    }
    // No context here: the failure may be the source stream's as well as the destination's,
    // and the backends' messages say which.
    dst.put(&entry.path, counted, opts).await
}

pub(super) async fn delete_phase(
    dst: &dyn Backend,
    plan: &Plan,
    opts: &SyncOptions,
    progress: &Progress,
    stats: &mut SyncStats,
) {
    if !super::may_delete(plan, progress, stats) {
        return;
    }
    let keep = opts.keep.as_ref();
    let files = usize::try_from(plan.deletes.len()).unwrap_or(usize::MAX);
    let mut outcomes = stream::iter(plan.deletes.iter())
        .map(|entry| async move {
            // The plan is unreadable past this point: what was read is deleted, no more.
            let entry = entry.context("the rest of the deletes were not made")?;
            let outcome = match keep {
                Some(keep) => keep.keep(&entry.path).await,
                None => dst.remove(&entry.path).await,
            };
            anyhow::Ok((entry, outcome))
        })
        .buffer_unordered(worker_count(opts.transfers, files).max(1));
    let done = match keep {
        Some(_) => ("Moved into history", "Failed to move into history"),
        None => ("Deleted", "Failed to delete"),
    };
    while let Some(deleted) = outcomes.next().await {
        let (entry, outcome) = match deleted {
            Ok(deleted) => deleted,
            Err(err) => {
                progress.log(&format!("{ERROR}{err:#}"));
                stats.errors += 1;
                continue;
            }
        };
        let count = &mut stats.deleted;
        tally(
            outcome,
            &entry.path,
            done,
            count,
            &mut stats.errors,
            opts,
            progress,
        );
    }
    for dir in &plan.rmdirs {
        let outcome = dst.rmdir(dir).await;
        let done = ("Removed directory", "Failed to remove directory");
        let count = &mut stats.dirs_removed;
        tally(outcome, dir, done, count, &mut stats.errors, opts, progress);
    }
}

/// Counts one change of the destination, and reports it: with `-v` when it was done
/// (`INFO  : name: Deleted`), always when it failed (`ERROR : name: Failed to delete: why`).
fn tally(
    outcome: Result<()>,
    name: &str,
    (done, failed): (&str, &str),
    count: &mut u64,
    errors: &mut u64,
    opts: &SyncOptions,
    progress: &Progress,
) {
    match outcome {
        Ok(()) => {
            *count += 1;
            if opts.verbose {
                progress.log(&format!("{INFO}{name}: {done}"));
            }
        }
        Err(e) => {
            *errors += 1;
            progress.log(&format!("{ERROR}{name}: {failed}: {e:#}"));
        }
    }
}

/// A reader that reports the bytes passing through it to a [`Progress`].
struct Counted {
    inner: ByteStream,
    progress: Progress,
}

impl AsyncRead for Counted {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = self.inner.as_mut().poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = &polled {
            let read = buf.filled().len().saturating_sub(before);
            self.progress.inc_bytes(read as u64);
        }
        polled
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::{
        copy_threads, spread_by_folder, start_workers, worker_count, CopyReason, Entry, LargeSlots,
        MAX_TRANSFERS,
    };

    #[test]
    fn large_slots_let_no_more_than_their_number_run_at_once() {
        let slots = LargeSlots::new(3);
        let (running, most) = (AtomicUsize::new(0), AtomicUsize::new(0));
        std::thread::scope(|scope| {
            for _ in 0..12 {
                scope.spawn(|| {
                    for _ in 0..20 {
                        let _slot = slots.take();
                        let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                        most.fetch_max(now, Ordering::SeqCst);
                        std::thread::sleep(std::time::Duration::from_micros(200));
                        running.fetch_sub(1, Ordering::SeqCst);
                    }
                });
            }
        });
        assert_eq!(most.load(Ordering::SeqCst), 3);
        assert_eq!(*slots.free.lock().unwrap(), 3);
    }

    #[test]
    fn a_refused_thread_stops_the_start_and_is_returned() {
        let mut calls = 0;
        let (started, refused) = start_workers(8, || {
            calls += 1;
            if calls == 3 {
                Err(std::io::Error::from(std::io::ErrorKind::WouldBlock))
            } else {
                Ok(())
            }
        });
        assert_eq!((started, calls), (2, 3));
        assert!(refused.is_some());
        assert!(matches!(start_workers(4, || Ok(())), (4, None)));
    }

    #[test]
    fn workers_are_bounded_by_the_files_and_the_ceiling() {
        assert_eq!(worker_count(100_000, 20), 20);
        assert_eq!(worker_count(usize::MAX, 1_000_000), MAX_TRANSFERS);
        assert_eq!(worker_count(4, 20), 4);
        assert_eq!(worker_count(0, 20), 1);
        assert_eq!(worker_count(8, 0), 0);
        // With an HTTP store, four times the threads for small files, never more than files.
        assert_eq!(copy_threads(4, 1000, 1000, false), 4);
        assert_eq!(copy_threads(4, 1000, 1000, true), 16);
        assert_eq!(copy_threads(4, 1000, 10, true), 10);
        assert_eq!(copy_threads(4, 1000, 0, true), 4);
        assert_eq!(copy_threads(4, 6, 6, true), 6);
        assert_eq!(copy_threads(100, 1000, 1000, true), MAX_TRANSFERS);
    }

    #[test]
    fn spread_takes_one_file_per_folder_in_turn() {
        let entry = |path: &str| {
            (
                Entry {
                    path: path.to_owned(),
                    kind: crate::remote::backend::EntryKind::File,
                    size: 1,
                    mtime: None,
                },
                CopyReason::New,
            )
        };
        let copies: Vec<_> = ["a/1", "a/2", "a/3", "b/1", "top", "c/d/1", "c/d/2"]
            .into_iter()
            .map(entry)
            .collect();
        let order: Vec<String> = spread_by_folder(copies)
            .into_iter()
            .map(|(e, _)| e.path)
            .collect();
        assert_eq!(order, ["top", "a/1", "b/1", "c/d/1", "a/2", "c/d/2", "a/3"]);
        assert!(spread_by_folder(Vec::new()).is_empty());
    }
}
