//! Checking: are two locations' files the same, byte for byte? The engine of `cryptcheck`.
//!
//! [`check`] lists both sides at once and reports, rclone-style, each file present on one side
//! only (`ERROR : path: file not in <other side>`), each pair whose sizes or contents differ,
//! and each file that cannot be read. Pairs of equal size are compared by streaming both sides
//! `checkers` at a time. Nothing is written anywhere.
//!
//! rclone's `cryptcheck` avoids downloading when the storage under a crypt remote has hashes:
//! it re-encrypts the source with each object's nonce and compares hashes. The [`Backend`]
//! trait has no hashes, so poof reads the crypt side *decrypted* and compares plaintexts; as
//! every block is authenticated, a file that matches is exactly what was backed up (a
//! tampered or damaged block fails to decrypt and is reported as an error).

use std::collections::BTreeMap;

use anyhow::{bail, Context, Result};
use futures::stream::{self, StreamExt};
use tokio::io::AsyncReadExt;

use crate::filter::Filter;
use crate::progress::Progress;
use crate::remote::backend::{Backend, ByteStream, Entry, Listing};

/// Bytes read from each side per comparison step.
const COMPARE_CHUNK: usize = 64 * 1024;

/// What a check found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CheckStats {
    /// Pairs with equal contents.
    pub matching: u64,
    /// Pairs whose sizes or contents differ.
    pub differ: u64,
    /// Source files absent from the destination.
    pub missing_on_dst: u64,
    /// Destination files absent from the source.
    pub missing_on_src: u64,
    /// Files that could not be read, and problems of the listings.
    pub errors: u64,
}

impl CheckStats {
    /// Everything that makes the check fail: differing and missing files, and errors.
    pub fn differences(&self) -> u64 {
        self.differ + self.missing_on_dst + self.missing_on_src + self.errors
    }
}

/// The outcome of comparing one pair.
pub(crate) enum Compared {
    /// Same size and bytes.
    Same,
    /// Sizes or bytes differ (why).
    Differ(String),
    /// A side could not be read (why).
    Failed(String),
}

/// Compares every file of `src` and `dst` (see the module docs). Problems the listings return
/// (names a crypt side could not decrypt...) are printed and counted as errors.
///
/// # Errors
/// Either side does not exist, or a listing fails. Per-file findings are printed and counted.
pub async fn check(
    src: &dyn Backend,
    dst: &dyn Backend,
    checkers: usize,
    filter: &Filter,
    progress: &Progress,
) -> Result<CheckStats> {
    let (src_list, dst_list) = tokio::join!(src.list("", true), dst.list("", true));
    let (src_files, mut problems) = files(src_list, src, filter)?;
    let (dst_files, more) = files(dst_list, dst, filter)?;
    problems.extend(more);
    let mut stats = CheckStats::default();
    for problem in problems {
        progress.log(&format!("ERROR : {problem}"));
        stats.errors += 1;
    }
    for path in src_files.keys().filter(|p| !dst_files.contains_key(*p)) {
        progress.log(&format!("ERROR : {path}: file not in '{}'", dst.describe()));
        stats.missing_on_dst += 1;
    }
    for path in dst_files.keys().filter(|p| !src_files.contains_key(*p)) {
        progress.log(&format!("ERROR : {path}: file not in '{}'", src.describe()));
        stats.missing_on_src += 1;
    }
    let pairs: Vec<(&Entry, &Entry)> = src_files
        .iter()
        .filter_map(|(path, s)| dst_files.get(path).map(|d| (s, d)))
        .collect();
    let bytes = pairs
        .iter()
        .filter(|(s, d)| s.size == d.size)
        .fold(0u64, |sum, (s, _)| sum.saturating_add(s.size));
    progress.set_length(bytes, pairs.len() as u64);
    let mut outcomes = stream::iter(pairs)
        .map(|(s, d)| async move { (s, compare(src, dst, s, d, progress).await) })
        .buffer_unordered(checkers.max(1));
    while let Some((entry, outcome)) = outcomes.next().await {
        progress.inc_file();
        match outcome {
            Compared::Same => stats.matching += 1,
            Compared::Differ(why) => {
                progress.log(&format!("ERROR : {}: {why}", entry.path));
                stats.differ += 1;
            }
            Compared::Failed(why) => {
                progress.log(&format!("ERROR : {}: {why}", entry.path));
                stats.errors += 1;
            }
        }
    }
    progress.finish();
    Ok(stats)
}

/// The files of a listing by path, and the listing's problems; a missing side is an error.
fn files(
    listing: Result<Option<Listing>>,
    backend: &dyn Backend,
    filter: &Filter,
) -> Result<(BTreeMap<String, Entry>, Vec<String>)> {
    let listing = listing.with_context(|| format!("cannot list {}", backend.describe()))?;
    let Some(mut listing) = listing else {
        bail!("{} does not exist", backend.describe());
    };
    filter.retain(&mut listing.entries);
    let problems = listing.all_problems();
    let files = listing
        .entries
        .into_iter()
        .filter(|e| !e.is_dir())
        .map(|e| (e.path.clone(), e))
        .collect();
    Ok((files, problems))
}

/// Compares one pair by size, then byte for byte.
pub(crate) async fn compare(
    src: &dyn Backend,
    dst: &dyn Backend,
    s: &Entry,
    d: &Entry,
    progress: &Progress,
) -> Compared {
    if s.size != d.size {
        return Compared::Differ(format!("sizes differ ({} vs {})", s.size, d.size));
    }
    let (a, b) = tokio::join!(src.open(&s.path, None), dst.open(&d.path, None));
    let (mut a, mut b) = match (a, b) {
        (Ok(a), Ok(b)) => (a, b),
        (Err(e), _) => return Compared::Failed(format!("cannot read '{}': {e:#}", src.describe())),
        (_, Err(e)) => return Compared::Failed(format!("cannot read '{}': {e:#}", dst.describe())),
    };
    let mut buf_a = vec![0u8; COMPARE_CHUNK];
    let mut buf_b = vec![0u8; COMPARE_CHUNK];
    loop {
        let (got_a, got_b) = tokio::join!(fill(&mut a, &mut buf_a), fill(&mut b, &mut buf_b));
        let got_a = match got_a {
            Ok(n) => n,
            Err(e) => return Compared::Failed(format!("cannot read '{}': {e:#}", src.describe())),
        };
        let got_b = match got_b {
            Ok(n) => n,
            Err(e) => return Compared::Failed(format!("cannot read '{}': {e:#}", dst.describe())),
        };
        if buf_a.get(..got_a) != buf_b.get(..got_b) {
            return Compared::Differ("contents differ".to_owned());
        }
        if got_a == 0 {
            return Compared::Same;
        }
        progress.inc_bytes(got_a as u64);
    }
}

/// Reads until `buf` is full or the stream ends; returns the bytes read.
async fn fill(reader: &mut ByteStream, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while let Some(rest) = buf.get_mut(filled..).filter(|r| !r.is_empty()) {
        let n = reader.read(rest).await?;
        if n == 0 {
            break;
        }
        filled += n;
    }
    Ok(filled)
}

#[cfg(test)]
mod tests {
    use super::super::testing::{at, MemBackend};
    use super::*;

    async fn run(src: &MemBackend, dst: &MemBackend) -> CheckStats {
        check(src, dst, 2, &Filter::default(), &Progress::hidden())
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn identical_trees_match() {
        let big = vec![7u8; 3 * COMPARE_CHUNK + 5];
        let src = MemBackend::local()
            .file("a", b"x", at(0))
            .file("b/c", &big, at(0));
        let dst = MemBackend::object_store()
            .file("a", b"x", at(9))
            .file("b/c", &big, at(1));
        let stats = run(&src, &dst).await;
        assert_eq!(
            stats,
            CheckStats {
                matching: 2,
                ..CheckStats::default()
            }
        );
    }

    #[tokio::test]
    async fn same_size_other_bytes_differ() {
        let src = MemBackend::local().file("a", b"xy", at(0));
        let dst = MemBackend::local().file("a", b"xz", at(0));
        assert_eq!(run(&src, &dst).await.differ, 1);
    }

    #[tokio::test]
    async fn files_on_one_side_are_missing() {
        let src = MemBackend::local().file("only-src", b"x", at(0));
        let dst = MemBackend::local().file("only-dst", b"x", at(0));
        let stats = run(&src, &dst).await;
        assert_eq!((stats.missing_on_dst, stats.missing_on_src), (1, 1));
        assert_eq!(stats.differences(), 2);
    }

    #[tokio::test]
    async fn unreadable_file_is_an_error() {
        let src = MemBackend::local().file("a", b"x", at(0));
        let dst = MemBackend::local().file("a", b"x", at(0)).fail_open("a");
        assert_eq!(run(&src, &dst).await.errors, 1);
    }

    #[tokio::test]
    async fn listing_problems_are_errors() {
        let src = MemBackend::local();
        let dst = MemBackend::local().problem("cannot decrypt name \"x\"");
        let stats = check(&src, &dst, 1, &Filter::default(), &Progress::hidden())
            .await
            .unwrap();
        assert_eq!(stats.errors, 1);
    }

    #[tokio::test]
    async fn missing_side_is_refused() {
        let src = MemBackend::local();
        let dst = MemBackend::missing();
        assert!(
            check(&src, &dst, 1, &Filter::default(), &Progress::hidden())
                .await
                .is_err()
        );
    }
}
