//! Planning: list both sides, compare, and say what must change — without changing anything.
//!
//! [`plan`] lists the source and the destination at the same time and compares them folder
//! by folder, depth first, as rclone's march does. A side walked folder by folder
//! ([`Features::walk_by_folder`]: a local folder, a server, an object store) is listed one
//! folder at a time, the next folders listed ahead while one is compared (`checkers` of them,
//! four times more over an HTTP store: [`requests_at_once`]); any other side (a past state, a
//! view of one path) is listed whole at the start and handed out a folder at a time. Only the
//! folders' listings in hand and the plan are in memory, and a long plan is on disk
//! ([`super::spool`]): memory follows the largest folder, not the tree. Files whose times or
//! contents must be read are checked while the walk goes on, a bounded number waiting.
//!
//! A source file is copied when the destination lacks it
//! ([`CopyReason::New`]), when the sizes differ ([`CopyReason::SizeDiffers`]), or when the
//! modification times differ by more than the coarser [`Features::mtime_precision`] of the two
//! backends ([`CopyReason::MtimeDiffers`]), which is rclone's "modify window". A side whose
//! listing carries no modification times (an object store) is `stat`ed only for files whose
//! sizes already match, `checkers` at a time, four times more over an HTTP store
//! ([`requests_at_once`]). When a side has no modification time even after
//! `stat` (an object written without rclone's metadata), equal sizes count as equal, as rclone
//! does for backends without modification times.
//!
//! With [`SyncOptions::checksum`], files of equal size are compared by content instead of
//! modification time ([`CopyReason::ContentDiffers`]): no backend exposes hashes, so both sides
//! are read, `checkers` files at a time — cheap on local folders, a full download on object
//! stores. As with rclone's `--checksum`, modification times are then not compared.
//!
//! With a filter ([`SyncOptions::filter`], rclone's rules), a folder it leaves out is never
//! listed, and a path it leaves out on either side is neither copied nor deleted nor counted
//! (the destination's folders holding such files are not removed), unless
//! [`SyncOptions::delete_excluded`] deletes the destination's; `--exclude-if-present` leaves a
//! folder out on both sides when either holds the marker.
//!
//! A file on one side where the other has a directory, or a `stat` that fails, is a *problem*:
//! it is not copied, and since problems are errors of the run, nothing is deleted. So is a
//! source file or folder new to the destination whose name the destination cannot hold
//! ([`Backend::fits`]: a name longer than a disk's 255 bytes once encrypted, a key longer than
//! an object store's 1,024 bytes): reported before anything is sent, once for a folder and
//! nothing below it, while the rest of the folder is copied.

use std::cmp::Ordering;
use std::collections::{HashMap, HashSet};
use std::time::{Duration, SystemTime};

use anyhow::{bail, Context, Result};
use futures::future::BoxFuture;
use futures::stream::{self, FuturesUnordered, StreamExt};
use tokio::sync::mpsc;

use super::check::{compare, Compared};
use super::execute::{SMALL_FILES_FACTOR, WHOLE_FILE_SIZE};
use super::spool::Spool;
use super::{SyncOptions, MAX_CHECKERS};
use crate::exit::Code;
use crate::progress::Progress;
use crate::remote::backend::{Backend, Entry, EntryKind, Features, Listing};

/// Why a file is copied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CopyReason {
    /// The destination has no such file.
    New,
    /// Sizes differ.
    SizeDiffers,
    /// Sizes match; modification times differ by more than the modify window.
    MtimeDiffers,
    /// Sizes match; contents differ (with [`SyncOptions::checksum`]).
    ContentDiffers,
}

impl std::fmt::Display for CopyReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            CopyReason::New => "new",
            CopyReason::SizeDiffers => "size differs",
            CopyReason::MtimeDiffers => "modification time differs",
            CopyReason::ContentDiffers => "contents differ",
        })
    }
}

/// Counts the guards and the summary need.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PlanStats {
    /// Files listed on the source.
    pub src_files: u64,
    /// Bytes of the files listed on the source.
    pub src_bytes: u64,
    /// Files listed on the destination.
    pub dst_files: u64,
    /// The destination existed before the run.
    pub dst_existed: bool,
    /// Source files compared with an existing destination file.
    pub checked: u64,
    /// Bytes of the planned copies.
    pub copy_bytes: u64,
    /// Planned copies of files up to [`WHOLE_FILE_SIZE`] bytes.
    pub small_copies: u64,
    /// Source files the filter left out ([`SyncOptions::filter`]).
    pub excluded: u64,
}

/// What a run changes.
#[derive(Debug, Default)]
pub struct Plan {
    /// Source entries to copy (with the source modification time once known): in path order
    /// while the plan is small enough to be held in memory; a long plan is on disk in the
    /// order of the walk ([`Spool`]).
    pub copies: Spool<(Entry, CopyReason)>,
    /// Destination files to delete (empty unless [`SyncOptions::delete`]), in path order as
    /// [`Plan::copies`].
    pub deletes: Spool<Entry>,
    /// Directories to make on the destination, parents first (real-dirs destinations only;
    /// `""` is the destination root when it does not exist yet).
    pub mkdirs: Vec<String>,
    /// Destination directories to remove, deepest first (with [`SyncOptions::delete`], on
    /// real-dirs destinations only).
    pub rmdirs: Vec<String>,
    /// Problems met while comparing: each is one message naming a path, and an error of the
    /// run.
    pub problems: Vec<String>,
    /// Problems the listings of both sides returned ([`Listing::problems`]: names that do
    /// not decrypt...): errors of the run too, kept apart so that guards can tell wrong keys
    /// from a folder never backed up.
    pub listing_problems: Vec<String>,
    /// Of the problems, source folders the local disk could not read.
    pub unreadable: u64,
    /// Counts.
    pub stats: PlanStats,
}

impl Plan {
    /// Adds a copy to the plan and to its counts.
    fn copy(&mut self, entry: Entry, reason: CopyReason) {
        self.stats.copy_bytes = self.stats.copy_bytes.saturating_add(entry.size);
        if entry.size <= WHOLE_FILE_SIZE {
            self.stats.small_copies += 1;
        }
        self.copies.push((entry, reason));
    }
}

/// A source file of the same size as its destination counterpart, whose modification times
/// are still to be read.
struct Pending {
    src: Entry,
    dst: Entry,
}

/// What checking one [`Pending`] file concluded.
enum Checked {
    Copy(Entry, CopyReason),
    Equal,
    Problem(String),
}

/// Lists both sides and compares them (see the module docs).
///
/// # Errors
/// The source does not exist, or either listing fails: nothing may change then. Failures of
/// single files are recorded in [`Plan::problems`].
pub async fn plan(src: &dyn Backend, dst: &dyn Backend, opts: &SyncOptions) -> Result<Plan> {
    if !dst.features().writable {
        bail!(
            "{} is read-only (an http remote, or a past state): poof cannot write to it; nothing was read or changed",
            dst.describe()
        );
    }
    let (src_tree, dst_tree) = tokio::join!(Tree::open(src), Tree::open(dst));
    let src_tree = src_tree.with_context(|| {
        format!(
            "cannot list the source {}: nothing was changed",
            src.describe()
        )
    })?;
    let Some((src_tree, src_root)) = src_tree else {
        bail!(
            "the source {} does not exist: nothing was changed",
            src.describe()
        );
    };
    let dst_tree = dst_tree.with_context(|| {
        format!(
            "cannot list the destination {}: nothing was changed",
            dst.describe()
        )
    })?;
    let (src_features, dst_features) = (src.features(), dst.features());
    let mut walk = Walk {
        plan: Plan::default(),
        opts,
        dst,
        window: src_features
            .mtime_precision
            .max(dst_features.mtime_precision),
        src_features,
        dst_features,
        pending: Vec::new(),
        by_content: Vec::new(),
        stack: Vec::new(),
        kept: HashSet::new(),
        unreadable: HashMap::new(),
    };
    for (path, why) in src_root.unreadable {
        walk.unreadable.insert(path, (why, true));
    }
    let window = walk.window;
    walk.plan.listing_problems = src_root.problems;
    walk.plan.stats.dst_existed = dst_tree.is_some();
    if !walk.plan.stats.dst_existed && dst_features.real_dirs {
        walk.plan.mkdirs.push(String::new());
    }
    let (dst_tree, dst_root) = match dst_tree {
        Some((tree, root)) => (tree, root),
        None => (Tree::absent(dst), Listing::default()),
    };
    walk.plan.listing_problems.extend(dst_root.problems);
    for (path, why) in dst_root.unreadable {
        walk.unreadable.entry(path).or_insert((why, false));
    }
    let src_root = dated(src, src_root.entries, opts).await;
    let dst_root = dated(dst, dst_root.entries, opts).await;
    walk.folder("", src_root, dst_root);
    let at_once = src_features.small_files_at_once || dst_features.small_files_at_once;
    let (stats_tx, stats_rx) = mpsc::channel(CHECKS_QUEUED);
    let (contents_tx, contents_rx) = mpsc::channel(CHECKS_QUEUED);
    let stats = checks(
        stats_rx,
        requests_at_once(opts.checkers, at_once),
        |p: Pending| check(src, dst, p, src_features, dst_features, window),
    );
    let no_progress = Progress::hidden();
    let contents = checks(
        contents_rx,
        opts.checkers.max(1),
        |(s, d): (Entry, Entry)| {
            let no_progress = &no_progress;
            async move {
                match compare(src, dst, &s, &d, no_progress).await {
                    Compared::Same => Checked::Equal,
                    Compared::Differ(_) => Checked::Copy(s, CopyReason::ContentDiffers),
                    Compared::Failed(why) => Checked::Problem(format!("{}: {why}", s.path)),
                }
            }
        },
    );
    let walked = async {
        let walked = walk.walk(src_tree, dst_tree, stats_tx, contents_tx).await;
        walked.map(|()| {
            let kept = &walk.kept;
            walk.plan.rmdirs.retain(|dir| !kept.contains(dir));
            walk.plan
        })
    };
    let (walked, stats, contents) = tokio::join!(walked, stats, contents);
    let mut plan = walked?;
    for checked in [stats, contents] {
        plan.problems.extend(checked.problems);
        for copy in checked.copies.iter() {
            let (entry, reason) = copy?;
            plan.copy(entry, reason);
        }
    }
    if let Some(why) = (plan.copies.failure()).or_else(|| plan.deletes.failure()) {
        bail!("{why}; nothing was changed");
    }
    plan.copies.sort_by_path();
    plan.deletes.sort_by_path();
    plan.problems.sort();
    plan.mkdirs.sort();
    // Reverse path order puts every directory after all of its descendants.
    plan.rmdirs.sort_unstable_by(|a, b| b.cmp(a));
    Ok(plan)
}

/// How many `stat`s run at once, and how many folders are listed ahead of the one being
/// compared: `--checkers`, or over an HTTP store (`at_once`, see
/// [`Features::small_files_at_once`]) [`SMALL_FILES_FACTOR`] times more, since each waits on a
/// round trip and holds nothing but its request or one folder's listing (never more than
/// [`MAX_CHECKERS`]).
pub fn requests_at_once(checkers: usize, at_once: bool) -> usize {
    let factor = if at_once { SMALL_FILES_FACTOR } else { 1 };
    checkers.saturating_mul(factor).clamp(1, MAX_CHECKERS)
}

/// One side of the comparison: walked folder by folder ([`Features::walk_by_folder`]), or
/// listed whole at the start and handed out one folder at a time.
struct Tree<'a> {
    backend: &'a dyn Backend,
    /// The whole listing, by parent folder, for a side not walked folder by folder.
    whole: Option<HashMap<String, Vec<Entry>>>,
}

impl<'a> Tree<'a> {
    /// Lists the root of `backend` (the whole tree, unless walked by folder): the tree and
    /// the root's entries, or `None` when the root does not exist.
    async fn open(backend: &'a dyn Backend) -> Result<Option<(Tree<'a>, Listing)>> {
        if backend.features().walk_by_folder {
            let root = backend.list("", false).await?;
            return Ok(root.map(|root| {
                let tree = Tree {
                    backend,
                    whole: None,
                };
                (tree, root)
            }));
        }
        let Some(listing) = backend.list("", true).await? else {
            return Ok(None);
        };
        let mut folders = by_folder(listing.entries);
        let root = Listing {
            entries: folders.remove("").unwrap_or_default(),
            problems: listing.problems,
            unreadable: listing.unreadable,
        };
        let tree = Tree {
            backend,
            whole: Some(folders),
        };
        Ok(Some((tree, root)))
    }

    /// A side that does not exist: every folder is empty.
    fn absent(backend: &'a dyn Backend) -> Tree<'a> {
        Tree {
            backend,
            whole: Some(HashMap::new()),
        }
    }
}

/// The entries of a recursive listing grouped by parent folder, every folder on the way to
/// an entry listed in its own parent (a listing that shows `a/b/c` but not `a/b` must not hide
/// `c` from the walk).
fn by_folder(entries: Vec<Entry>) -> HashMap<String, Vec<Entry>> {
    let listed: HashSet<String> = entries
        .iter()
        .filter(|e| e.is_dir())
        .map(|e| e.path.clone())
        .collect();
    let mut folders: HashMap<String, Vec<Entry>> = HashMap::new();
    let mut reached: HashSet<String> = HashSet::new();
    for entry in entries {
        let mut dir = parent(&entry.path);
        while !dir.is_empty() && !reached.contains(dir) {
            reached.insert(dir.to_owned());
            if !listed.contains(dir) {
                folders
                    .entry(parent(dir).to_owned())
                    .or_default()
                    .push(Entry {
                        path: dir.to_owned(),
                        kind: EntryKind::Dir,
                        size: 0,
                        mtime: None,
                    });
            }
            dir = parent(dir);
        }
        folders
            .entry(parent(&entry.path).to_owned())
            .or_default()
            .push(entry);
    }
    folders
}

/// The folder a path is in (`""` for the root's entries).
fn parent(path: &str) -> &str {
    path.rsplit_once('/').map_or("", |(dir, _)| dir)
}

/// A folder still to be compared, and the sides it is on.
struct Folder {
    path: String,
    on_src: bool,
    on_dst: bool,
}

impl Folder {
    /// The folder to descend into at a path, given what it is on each side: none when
    /// neither side has a folder there.
    fn of(pair: &(Option<Entry>, Option<Entry>)) -> Option<Folder> {
        let on_src = pair.0.as_ref().is_some_and(Entry::is_dir);
        let on_dst = pair.1.as_ref().is_some_and(Entry::is_dir);
        let entry = pair.0.as_ref().or(pair.1.as_ref())?;
        (on_src || on_dst).then(|| Folder {
            path: entry.path.clone(),
            on_src,
            on_dst,
        })
    }
}

/// One folder's listing of one side as it arrives: the folder, whether it is the source's,
/// and the listing.
type Arrived = (String, bool, Result<Option<Listing>>);

/// The listings of folders started ahead of their turn.
#[derive(Default)]
struct Ahead<'a> {
    running: FuturesUnordered<BoxFuture<'a, Arrived>>,
    started: HashSet<String>,
    arrived: HashMap<(String, bool), Result<Option<Listing>>>,
}

impl<'a> Ahead<'a> {
    /// Starts listing `folder` on the sides walked folder by folder, once.
    fn start(&mut self, src: &Tree<'a>, dst: &Tree<'a>, folder: &Folder) {
        if !self.started.insert(folder.path.clone()) {
            return;
        }
        for (tree, on, is_src) in [(src, folder.on_src, true), (dst, folder.on_dst, false)] {
            if on && tree.whole.is_none() {
                let (backend, path) = (tree.backend, folder.path.clone());
                self.running.push(Box::pin(async move {
                    let listed = backend.list(&path, false).await;
                    (path, is_src, listed)
                }));
            }
        }
    }

    /// Waits for the listing of `path` on one side (started by [`Ahead::start`]).
    async fn take(&mut self, path: &str, is_src: bool) -> Result<Option<Listing>> {
        self.started.remove(path);
        let key = (path.to_owned(), is_src);
        loop {
            if let Some(listed) = self.arrived.remove(&key) {
                return listed;
            }
            let Some((path, side, listed)) = self.running.next().await else {
                bail!("internal error: the listing of {} was never started", key.0);
            };
            self.arrived.insert((path, side), listed);
        }
    }
}

/// The comparison in progress: the plan so far and the folders still to compare.
struct Walk<'o> {
    plan: Plan,
    opts: &'o SyncOptions,
    /// The destination, asked whether the names new to it fit ([`Backend::fits`]).
    dst: &'o dyn Backend,
    window: Duration,
    src_features: Features,
    dst_features: Features,
    /// The last folder's files whose times are still to be read, and those to be compared by
    /// content ([`SyncOptions::checksum`]): handed to the checks after each folder.
    pending: Vec<Pending>,
    by_content: Vec<(Entry, Entry)>,
    /// Folders to compare, the next one last.
    stack: Vec<Folder>,
    /// Destination folders holding something the filter leaves out (and their parents):
    /// never removed, whatever else they held.
    kept: HashSet<String>,
    /// Folders a whole listing could not read, with why and whether on the source
    /// ([`Listing::unreadable`]): left alone on both sides when the walk reaches them.
    unreadable: HashMap<String, (String, bool)>,
}

impl Walk<'_> {
    /// Compares folder after folder, depth first, listing ahead the next folders of the sides
    /// walked folder by folder: one folder's listings (and those listed ahead) at a time.
    ///
    /// The files whose times or contents are still to be compared go to `stats` and
    /// `contents` after each folder, checked while the walk goes on ([`checks`]); the walk
    /// waits when the checks fall behind.
    async fn walk(
        &mut self,
        mut src: Tree<'_>,
        mut dst: Tree<'_>,
        stats: mpsc::Sender<Pending>,
        contents: mpsc::Sender<(Entry, Entry)>,
    ) -> Result<()> {
        let mut ahead = Ahead::default();
        let at_once =
            self.src_features.small_files_at_once || self.dst_features.small_files_at_once;
        let listed_ahead = requests_at_once(self.opts.checkers, at_once);
        loop {
            for pending in self.pending.drain(..) {
                send(&stats, pending).await?;
            }
            for pair in self.by_content.drain(..) {
                send(&contents, pair).await?;
            }
            for folder in self.stack.iter().rev().take(listed_ahead) {
                ahead.start(&src, &dst, folder);
            }
            let Some(folder) = self.stack.pop() else {
                return Ok(());
            };
            // A folder below the root the disk refuses to read: an error of the run, and the
            // rest goes on; nothing below it is copied, deleted or removed.
            let mut readable = true;
            if let Some((why, on_src)) = self.unreadable.remove(&folder.path) {
                self.unreadable_folder(&folder.path, &why, on_src);
                readable = false;
            }
            let src_entries = match self.entries(&mut src, &mut ahead, &folder, true).await {
                Ok(entries) => entries,
                Err(err) if !folder.path.is_empty() && Code::of(&err) == Code::Unreadable => {
                    self.unreadable_folder(&folder.path, &err.root_cause().to_string(), true);
                    readable = false;
                    Vec::new()
                }
                Err(err) => return Err(err),
            };
            let dst_entries = self.entries(&mut dst, &mut ahead, &folder, false).await?;
            if readable {
                self.folder(&folder.path, src_entries, dst_entries);
            } else if !dst_entries.is_empty() {
                self.keep(&folder.path);
            }
        }
    }

    /// The entries of `folder` on one side (none when it is not on that side).
    async fn entries(
        &mut self,
        tree: &mut Tree<'_>,
        ahead: &mut Ahead<'_>,
        folder: &Folder,
        is_src: bool,
    ) -> Result<Vec<Entry>> {
        let entries = self.listed(tree, ahead, folder, is_src).await?;
        Ok(dated(tree.backend, entries, self.opts).await)
    }

    /// The listing of `folder` on one side, as listed.
    async fn listed(
        &mut self,
        tree: &mut Tree<'_>,
        ahead: &mut Ahead<'_>,
        folder: &Folder,
        is_src: bool,
    ) -> Result<Vec<Entry>> {
        let on = if is_src { folder.on_src } else { folder.on_dst };
        if !on {
            return Ok(Vec::new());
        }
        if let Some(whole) = &mut tree.whole {
            return Ok(whole.remove(&folder.path).unwrap_or_default());
        }
        let what = if is_src { "source" } else { "destination" };
        let listed = ahead.take(&folder.path, is_src).await.with_context(|| {
            format!(
                "cannot list the {what} {}: nothing was changed",
                tree.backend.describe()
            )
        })?;
        match listed {
            Some(listed) => {
                self.plan.listing_problems.extend(listed.problems);
                Ok(listed.entries)
            }
            None if is_src => {
                self.plan.problems.push(format!(
                    "{}: a folder that vanished from the source while it was listed",
                    folder.path
                ));
                Ok(Vec::new())
            }
            // Gone from the destination: nothing there to compare with.
            None => Ok(Vec::new()),
        }
    }

    /// Compares the entries of one folder on both sides (see the module docs), and puts its
    /// subfolders on the stack.
    fn folder(&mut self, path: &str, mut src: Vec<Entry>, mut dst: Vec<Entry>) {
        let filter = &self.opts.filter;
        if filter.marked(&src) || filter.marked(&dst) {
            // `--exclude-if-present`: the folder is left out on both sides.
            self.plan.mkdirs.retain(|dir| dir != path);
            src.clear();
            if !self.opts.delete_excluded {
                if !dst.is_empty() {
                    self.keep(path);
                }
                dst.clear();
            }
        }
        src.sort_unstable_by(|a, b| a.path.cmp(&b.path));
        dst.sort_unstable_by(|a, b| a.path.cmp(&b.path));
        let (mut src, mut dst) = (src.into_iter().peekable(), dst.into_iter().peekable());
        let mut subfolders = Vec::new();
        loop {
            let order = match (src.peek(), dst.peek()) {
                (None, None) => break,
                (Some(_), None) => Ordering::Less,
                (None, Some(_)) => Ordering::Greater,
                (Some(s), Some(d)) => s.path.cmp(&d.path),
            };
            let pair = match order {
                Ordering::Less => (src.next(), None),
                Ordering::Greater => (None, dst.next()),
                Ordering::Equal => (src.next(), dst.next()),
            };
            let pair = self.filtered(pair);
            let pair = self.fitting(pair);
            if let Some(folder) = Folder::of(&pair) {
                subfolders.push(folder);
            }
            self.pair(pair);
        }
        self.stack.extend(subfolders.into_iter().rev());
    }

    /// What of one path the filter takes: a path it leaves out on the source is left alone
    /// on the destination too, and one it leaves out on the destination only is not
    /// deleted, unless [`SyncOptions::delete_excluded`] (then the destination's is deleted).
    /// A source file it takes is compared with the destination's whatever that one is.
    fn filtered(&mut self, pair: (Option<Entry>, Option<Entry>)) -> (Option<Entry>, Option<Entry>) {
        let filter = &self.opts.filter;
        if filter.is_empty() {
            return pair;
        }
        let taken = |e: &Entry| {
            if e.is_dir() {
                filter.dir(&e.path)
            } else {
                filter.file(&e.path, e.size, e.mtime)
            }
        };
        let left_out = match &pair {
            (Some(s), _) => !taken(s),
            (None, Some(d)) => !taken(d),
            (None, None) => false,
        };
        if !left_out {
            return pair;
        }
        let (src, dst) = pair;
        if src.as_ref().is_some_and(|s| !s.is_dir()) {
            self.plan.stats.excluded += 1;
        }
        if self.opts.delete_excluded {
            return (None, dst);
        }
        if let Some(d) = &dst {
            self.keep(parent(&d.path));
        }
        (None, None)
    }

    /// Reports a folder the disk could not read (`on_src`: on the source side).
    fn unreadable_folder(&mut self, path: &str, why: &str, on_src: bool) {
        let side = if on_src { "" } else { "destination " };
        self.plan.problems.push(format!(
            "{path}: cannot read the {side}folder ({why}); nothing below it was copied or deleted"
        ));
        if on_src {
            self.plan.unreadable += 1;
        }
        // Nor is it made on the destination.
        self.plan.mkdirs.retain(|dir| dir != path);
    }

    /// A source file or folder the destination lacks, whose name it cannot hold, is a problem
    /// of the plan and is left out (a folder with everything below it: reported once).
    fn fitting(&mut self, pair: (Option<Entry>, Option<Entry>)) -> (Option<Entry>, Option<Entry>) {
        let (Some(src), None) = &pair else {
            return pair;
        };
        let Err(too_long) = self.dst.fits(&src.path, src.kind) else {
            return pair;
        };
        if !src.is_dir() {
            self.count_src(src);
        }
        self.plan.problems.push(too_long.message(&src.path));
        (None, None)
    }

    /// Notes that the destination folder `dir` holds something the filter leaves out: it and
    /// its parents are not removed.
    fn keep(&mut self, mut dir: &str) {
        while !dir.is_empty() && self.kept.insert(dir.to_owned()) {
            dir = parent(dir);
        }
    }

    /// Compares what one path is on both sides.
    fn pair(&mut self, pair: (Option<Entry>, Option<Entry>)) {
        match pair {
            (Some(s), Some(d)) if !s.is_dir() && d.is_dir() => {
                self.count_src(&s);
                self.plan.problems.push(format!(
                    "{}: is a file on the source but a directory on the destination; not copied",
                    s.path
                ));
            }
            (Some(s), d) if s.is_dir() => match d {
                Some(d) if !d.is_dir() => {
                    self.plan.problems.push(format!(
                        "{}: is a directory on the source but a file on the destination; not made",
                        s.path
                    ));
                    self.dst_only(d);
                }
                Some(_) => {}
                None if self.dst_features.real_dirs => self.plan.mkdirs.push(s.path),
                None => {}
            },
            (Some(s), None) => {
                self.count_src(&s);
                self.plan.copy(s, CopyReason::New);
            }
            (Some(s), Some(d)) => {
                self.count_src(&s);
                self.plan.stats.dst_files += 1;
                self.compare(s, d);
            }
            (None, Some(d)) if d.is_dir() => {
                if self.opts.delete && self.dst_features.real_dirs {
                    self.plan.rmdirs.push(d.path);
                }
            }
            (None, Some(d)) => self.dst_only(d),
            (None, None) => {}
        }
    }

    /// Counts a source file.
    fn count_src(&mut self, entry: &Entry) {
        self.plan.stats.src_files += 1;
        self.plan.stats.src_bytes = self.plan.stats.src_bytes.saturating_add(entry.size);
    }

    /// A destination file the source does not have.
    fn dst_only(&mut self, entry: Entry) {
        self.plan.stats.dst_files += 1;
        if self.opts.delete {
            self.plan.deletes.push(entry);
        }
    }

    /// Two files of the same path: copied, equal, or to be looked at closer.
    fn compare(&mut self, src: Entry, dst: Entry) {
        self.plan.stats.checked += 1;
        if src.size != dst.size {
            self.plan.copy(src, CopyReason::SizeDiffers);
        } else if self.opts.checksum {
            self.by_content.push((src, dst));
        } else if needs_stat(&src, self.src_features) || needs_stat(&dst, self.dst_features) {
            self.pending.push(Pending { src, dst });
        } else if mtimes_differ(src.mtime, dst.mtime, self.window) {
            self.plan.copy(src, CopyReason::MtimeDiffers);
        }
    }
}

/// `entries` with their times when an age filter needs the times a listing of `backend`
/// lacks (a file whose time cannot be read passes the ages, and is stat'ed again later).
async fn dated(backend: &dyn Backend, entries: Vec<Entry>, opts: &SyncOptions) -> Vec<Entry> {
    if !opts.filter.needs_mtime() || backend.features().mtime_in_listing {
        return entries;
    }
    stream::iter(entries)
        .map(|mut e| async move {
            if !e.is_dir() && e.mtime.is_none() {
                if let Ok(Some(found)) = backend.stat(&e.path).await {
                    e.mtime = found.mtime;
                }
            }
            e
        })
        .buffered(requests_at_once(opts.checkers, true))
        .collect()
        .await
}

/// Files handed from the walk to the checks and not yet taken: enough that a check is always
/// at hand, few enough that memory does not follow the tree.
const CHECKS_QUEUED: usize = 1024;

/// Hands one file to the checks.
async fn send<T>(to: &mpsc::Sender<T>, item: T) -> Result<()> {
    to.send(item)
        .await
        .map_err(|_| anyhow::anyhow!("internal error: the checks ended before the walk"))
}

/// What the checks of one kind concluded: the copies they found (as a plan's, on disk once
/// long) and their problems.
#[derive(Default)]
struct Checks {
    copies: Spool<(Entry, CopyReason)>,
    problems: Vec<String>,
}

/// Runs `check` on every file the walk hands over, `at_once` at a time, while the walk goes on.
async fn checks<T, F, Fut>(files: mpsc::Receiver<T>, at_once: usize, check: F) -> Checks
where
    F: Fn(T) -> Fut,
    Fut: std::future::Future<Output = Checked>,
{
    let files = stream::unfold(files, |mut files| async move {
        files.recv().await.map(|file| (file, files))
    });
    files
        .map(check)
        .buffer_unordered(at_once)
        .fold(Checks::default(), |mut checks, checked| async move {
            match checked {
                Checked::Copy(entry, reason) => checks.copies.push((entry, reason)),
                Checked::Equal => {}
                Checked::Problem(message) => checks.problems.push(message),
            }
            checks
        })
        .await
}

/// The listing of this side lacks the modification time and a `stat` has it.
fn needs_stat(entry: &Entry, features: Features) -> bool {
    entry.mtime.is_none() && !features.mtime_in_listing
}

/// rclone's rule: times differ when both are known and further apart than the window.
pub fn mtimes_differ(a: Option<SystemTime>, b: Option<SystemTime>, window: Duration) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => {
            let diff = a.duration_since(b).unwrap_or_else(|e| e.duration());
            diff > window
        }
        _ => false,
    }
}

/// Reads the missing modification times of one file of equal size on both sides and compares.
async fn check(
    src: &dyn Backend,
    dst: &dyn Backend,
    mut p: Pending,
    src_features: Features,
    dst_features: Features,
    window: Duration,
) -> Checked {
    let src_stat = async {
        if needs_stat(&p.src, src_features) {
            src.stat(&p.src.path).await.map(Some)
        } else {
            Ok(None)
        }
    };
    let dst_stat = async {
        if needs_stat(&p.dst, dst_features) {
            dst.stat(&p.dst.path).await.map(Some)
        } else {
            Ok(None)
        }
    };
    let (src_stat, dst_stat) = tokio::join!(src_stat, dst_stat);
    match src_stat {
        Err(e) => {
            return Checked::Problem(format!("{}: cannot stat the source: {e:#}", p.src.path))
        }
        Ok(Some(None)) => {
            return Checked::Problem(format!(
                "{}: vanished from the source while comparing",
                p.src.path
            ))
        }
        Ok(Some(Some(found))) => p.src.mtime = found.mtime,
        Ok(None) => {}
    }
    match dst_stat {
        Err(e) => {
            return Checked::Problem(format!(
                "{}: cannot stat the destination: {e:#}",
                p.dst.path
            ))
        }
        Ok(Some(None)) => return Checked::Copy(p.src, CopyReason::New),
        Ok(Some(Some(found))) => p.dst.mtime = found.mtime,
        Ok(None) => {}
    }
    if mtimes_differ(p.src.mtime, p.dst.mtime, window) {
        Checked::Copy(p.src, CopyReason::MtimeDiffers)
    } else {
        Checked::Equal
    }
}
