//! Engine tests over the in-memory backend: plan cases, the delete guard, dry runs, missing
//! sources, concurrency limits and directories.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use super::testing::{at, MemBackend};
use super::*;
use crate::remote::backend::PutOptions;
use crate::remote::local::LocalBackend;
use crate::sync::execute::WHOLE_FILE_SIZE;

async fn run(src: &MemBackend, dst: &MemBackend, opts: &SyncOptions) -> SyncStats {
    sync(src, dst, opts, &Progress::hidden()).await.unwrap()
}

async fn plan_of(src: &MemBackend, dst: &MemBackend) -> Plan {
    plan::plan(src, dst, &SyncOptions::default()).await.unwrap()
}

fn copied(plan: &Plan) -> Vec<(String, CopyReason)> {
    plan.copies
        .iter()
        .map(|copy| copy.map(|(e, r)| (e.path, r)).unwrap())
        .collect()
}

/// `copies` as [`copied`] gives them.
fn owned(copies: &[(&str, CopyReason)]) -> Vec<(String, CopyReason)> {
    copies.iter().map(|(p, r)| (p.to_string(), *r)).collect()
}

#[tokio::test]
async fn a_read_only_destination_is_refused_before_anything_is_listed() {
    let src = MemBackend::local().file("a", b"x", at(1)).fail_list();
    let dst = MemBackend::object_store().read_only().fail_list();
    let err = plan::plan(&src, &dst, &SyncOptions::default())
        .await
        .unwrap_err();
    // Not the listing's failure: nothing was listed.
    let text = format!("{err:#}");
    assert!(
        text.contains("is read-only") && !text.contains("injected"),
        "{text}"
    );
}

#[tokio::test]
async fn plan_copies_new_files_then_compares_size_then_mtime() {
    /// A file's bytes and its modification time (seconds after [`at`]'s origin).
    type File = (&'static [u8], u64);
    /// The copies a plan makes.
    type Copies = &'static [(&'static str, CopyReason)];
    // (source file, destination file, copies planned, files checked)
    let cases: [(File, Option<File>, Copies, u64); 4] = [
        ((b"x", 0), None, &[("a", CopyReason::New)], 0),
        (
            (b"xy", 0),
            Some((b"x", 0)),
            &[("a", CopyReason::SizeDiffers)],
            1,
        ),
        (
            (b"x", 5),
            Some((b"x", 0)),
            &[("a", CopyReason::MtimeDiffers)],
            1,
        ),
        ((b"x", 0), Some((b"x", 0)), &[], 1),
    ];
    for ((data, secs), existing, want, checked) in cases {
        let src = MemBackend::local().file("a", data, at(secs));
        let dst = match existing {
            Some((data, secs)) => MemBackend::local().file("a", data, at(secs)),
            None => MemBackend::local(),
        };
        let plan = plan_of(&src, &dst).await;
        assert_eq!(
            copied(&plan),
            owned(want),
            "{data:?} at {secs} over {existing:?}"
        );
        assert!(plan.deletes.is_empty());
        assert_eq!(plan.stats.checked, checked);
    }
}

#[tokio::test]
async fn plan_mtime_within_coarser_precision_is_equal() {
    let src = MemBackend::local().file("a", b"x", at(0) + Duration::from_millis(700));
    let dst = MemBackend::local()
        .precision(Duration::from_secs(1))
        .file("a", b"x", at(0));
    assert!(plan_of(&src, &dst).await.copies.is_empty());
}

#[tokio::test]
async fn plan_extra_on_destination_is_deleted_by_sync_only() {
    let src = MemBackend::local().file("a", b"x", at(0));
    let dst = MemBackend::local()
        .file("a", b"x", at(0))
        .file("old/b", b"y", at(0));
    let plan = plan_of(&src, &dst).await;
    let deleted: Vec<String> = plan.deletes.iter().map(|e| e.unwrap().path).collect();
    assert_eq!(deleted, ["old/b"]);
    assert_eq!(plan.rmdirs, ["old"]);
    let copy = SyncOptions {
        delete: false,
        ..SyncOptions::default()
    };
    let plan = plan::plan(&src, &dst, &copy).await.unwrap();
    assert!(plan.deletes.is_empty() && plan.rmdirs.is_empty());
}

#[tokio::test]
async fn plan_object_store_stats_only_equal_sizes() {
    let src = MemBackend::local()
        .file("same", b"x", at(0))
        .file("newer", b"x", at(9))
        .file("bigger", b"xyz", at(0))
        .file("new", b"x", at(0));
    let dst = MemBackend::object_store()
        .file("same", b"x", at(0))
        .file("newer", b"x", at(0))
        .file("bigger", b"x", at(0));
    let plan = plan_of(&src, &dst).await;
    assert_eq!(
        copied(&plan),
        owned(&[
            ("bigger", CopyReason::SizeDiffers),
            ("new", CopyReason::New),
            ("newer", CopyReason::MtimeDiffers)
        ])
    );
    assert_eq!(dst.stats(), 2, "only files of equal size are stat'ed");
    assert_eq!(src.stats(), 0);
}

#[tokio::test]
async fn plan_file_against_directory_is_a_problem() {
    let src = MemBackend::local().file("a", b"x", at(0));
    let dst = MemBackend::local().file("a/b", b"x", at(0));
    let plan = plan_of(&src, &dst).await;
    assert!(plan.copies.is_empty());
    assert_eq!(plan.problems.len(), 1, "{:?}", plan.problems);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_copies_and_deletes() {
    // Above the size copied whole: streamed, on the threads as well.
    let big: Vec<u8> = (0..(1 << 20) + 7).map(|i| (i % 251) as u8).collect();
    for dst in [MemBackend::local(), MemBackend::object_store()] {
        let src = MemBackend::local()
            .file("a", b"new", at(1))
            .file("d/b", b"bb", at(2))
            .file("d/big", &big, at(3));
        let dst = dst.file("a", b"old", at(0)).file("gone", b"g", at(0));
        let stats = run(&src, &dst, &SyncOptions::default()).await;
        assert_eq!(dst.paths(), ["a", "d/b", "d/big"]);
        assert_eq!(dst.get("a").unwrap(), (b"new".to_vec(), at(1)));
        assert_eq!(dst.get("d/b").unwrap().1, at(2), "source mtime kept");
        assert_eq!(dst.get("d/big").unwrap(), (big.clone(), at(3)));
        assert_eq!(
            (stats.transferred, stats.bytes, stats.deleted, stats.errors),
            (3, 5 + big.len() as u64, 1, 0)
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn copy_never_deletes() {
    let src = MemBackend::local().file("a", b"x", at(0));
    let dst = MemBackend::local().file("extra", b"x", at(0));
    let opts = SyncOptions {
        delete: false,
        ..SyncOptions::default()
    };
    let stats = run(&src, &dst, &opts).await;
    assert_eq!(dst.paths(), ["a", "extra"]);
    assert_eq!(stats.planned_deletes, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_transfer_skips_delete_phase() {
    let src = MemBackend::local()
        .file("ok", b"1", at(0))
        .file("bad", b"2", at(0));
    let dst = MemBackend::local()
        .file("extra", b"x", at(0))
        .fail_put("bad");
    let stats = run(&src, &dst, &SyncOptions::default()).await;
    assert_eq!(dst.paths(), ["extra", "ok"], "extra kept, ok copied");
    assert_eq!((stats.errors, stats.deleted), (1, 0));
    assert!(stats.deletes_skipped);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_open_is_counted_not_fatal() {
    let src = MemBackend::local()
        .file("ok", b"1", at(0))
        .file("bad", b"2", at(0))
        .fail_open("bad");
    let dst = MemBackend::local();
    let stats = run(&src, &dst, &SyncOptions::default()).await;
    assert_eq!(dst.paths(), ["ok"]);
    assert_eq!((stats.transferred, stats.errors), (1, 1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn names_the_destination_cannot_hold_are_reported_and_the_rest_is_copied() {
    use crate::remote::backend::Length;
    let long = "n".repeat(256);
    let kept = "k".repeat(300);
    let src = MemBackend::local()
        .file("ok", b"1", at(0))
        .file(&long, b"2", at(0))
        .file(&format!("sub/{long}"), b"3", at(0))
        .file(&format!("{long}x/a"), b"4", at(0))
        .file(&format!("{long}x/deeper/b"), b"5", at(0))
        .file(&kept, b"6", at(0))
        .file(&"f".repeat(255), b"7", at(0));
    // A name already there (written when the limit was another) is compared, not refused.
    let dst = MemBackend::local()
        .limits(Some(Length::Bytes(255)), None)
        .file("extra", b"x", at(0))
        .file(&kept, b"6", at(0));
    let plan = plan_of(&src, &dst).await;
    // Once each: the folder, not the files below it.
    assert_eq!(
        plan.problems,
        [
            format!("{long}: name too long for the destination (name of 256 bytes, limit 255)"),
            format!("{long}x: name too long for the destination (name of 257 bytes, limit 255)"),
            format!("sub/{long}: name too long for the destination (name of 256 bytes, limit 255)"),
        ]
    );
    let f = "f".repeat(255);
    assert_eq!(
        copied(&plan),
        owned(&[(f.as_str(), CopyReason::New), ("ok", CopyReason::New)])
    );
    assert_eq!(plan.mkdirs, ["sub"]);
    let stats = run(&src, &dst, &SyncOptions::default()).await;
    assert_eq!((stats.transferred, stats.errors, stats.deleted), (2, 3, 0));
    assert!(stats.deletes_skipped);
    assert_eq!(dst.paths(), ["extra", f.as_str(), &kept, "ok"]);
}

#[tokio::test]
async fn a_key_too_long_is_reported_and_a_folder_without_room_once() {
    use crate::remote::backend::Length;
    let dir = "d".repeat(20);
    let src = MemBackend::local()
        .file(&format!("{dir}/{}", "a".repeat(10)), b"1", at(0))
        .file(&format!("{dir}/{}", "b".repeat(11)), b"2", at(0))
        .file(&format!("{}/c", "e".repeat(31)), b"3", at(0));
    let dst = MemBackend::object_store().limits(None, Some(Length::Bytes(31)));
    let plan = plan_of(&src, &dst).await;
    let b = format!("{dir}/{}", "b".repeat(11));
    assert_eq!(
        plan.problems,
        [
            format!("{b}: path too long for the destination (path of 32 bytes, limit 31)"),
            format!(
                "{}: path too long for the destination (path of 31 bytes, limit 31)",
                "e".repeat(31)
            ),
        ]
    );
    assert_eq!(copied(&plan).len(), 1);
}

#[tokio::test]
async fn single_thread_runtime_is_an_error_not_a_hang() {
    // The copy threads need a multi-thread runtime (poof always builds one): on another, the
    // run copies nothing, says so, and deletes nothing.
    let src = MemBackend::local().file("a", b"1", at(0));
    let dst = MemBackend::local().file("extra", b"x", at(0));
    let stats = run(&src, &dst, &SyncOptions::default()).await;
    assert_eq!((stats.transferred, stats.errors), (0, 1));
    assert_eq!(dst.paths(), ["extra"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listing_problems_of_either_side_skip_delete_phase() {
    // A name the source or the destination cannot show (one that does not decrypt) may be a
    // file poof would otherwise delete or never see: the run reports it and deletes nothing.
    for problem_on_source in [true, false] {
        let mut src = MemBackend::local().file("a", b"1", at(0));
        let mut dst = MemBackend::local().file("extra", b"x", at(0));
        if problem_on_source {
            src = src.problem("bad name: cannot decrypt");
        } else {
            dst = dst.problem("bad name: cannot decrypt");
        }
        let stats = run(&src, &dst, &SyncOptions::default()).await;
        assert_eq!(dst.paths(), ["a", "extra"]);
        assert_eq!((stats.errors, stats.deleted), (1, 0));
        assert!(stats.deletes_skipped);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn empty_source_empties_destination_and_says_so() {
    let src = MemBackend::local();
    let dst = MemBackend::local().file("x", b"1", at(0));
    let stats = run(&src, &dst, &SyncOptions::default()).await;
    assert_eq!(
        (stats.src_files, stats.dst_files, stats.planned_deletes),
        (0, 1, 1)
    );
    assert!(dst.paths().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dry_run_changes_nothing() {
    let src = MemBackend::local().file("a", b"new", at(1)).dir("empty");
    let dst = MemBackend::local()
        .file("a", b"old", at(0))
        .file("gone/x", b"g", at(0));
    let opts = SyncOptions {
        dry_run: true,
        ..SyncOptions::default()
    };
    let stats = run(&src, &dst, &opts).await;
    assert_eq!(dst.mutations(), 0);
    assert_eq!(dst.get("a").unwrap().0, b"old");
    assert_eq!(
        (
            stats.planned_copies,
            stats.planned_deletes,
            stats.transferred
        ),
        (1, 1, 0)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_source_is_refused() {
    let src = MemBackend::missing();
    let dst = MemBackend::local().file("x", b"1", at(0));
    let err = sync(&src, &dst, &SyncOptions::default(), &Progress::hidden())
        .await
        .unwrap_err();
    assert!(format!("{err:#}").contains("does not exist"), "{err:#}");
    assert_eq!(dst.mutations(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failing_source_listing_is_refused() {
    let src = MemBackend::local().fail_list();
    let dst = MemBackend::local().file("x", b"1", at(0));
    assert!(
        sync(&src, &dst, &SyncOptions::default(), &Progress::hidden())
            .await
            .is_err()
    );
    assert_eq!(dst.mutations(), 0);
}

#[tokio::test]
async fn checksum_copies_same_size_other_bytes() {
    let src = MemBackend::local()
        .file("changed", b"new", at(0))
        .file("touched", b"same", at(5));
    let dst = MemBackend::local()
        .file("changed", b"old", at(0))
        .file("touched", b"same", at(0));
    let opts = SyncOptions {
        checksum: true,
        ..SyncOptions::default()
    };
    let plan = plan::plan(&src, &dst, &opts).await.unwrap();
    assert_eq!(
        copied(&plan),
        owned(&[("changed", CopyReason::ContentDiffers)])
    );
}

#[tokio::test]
async fn checksum_read_failure_is_a_problem() {
    let src = MemBackend::local().file("a", b"x", at(0)).fail_open("a");
    let dst = MemBackend::local().file("a", b"x", at(0));
    let opts = SyncOptions {
        checksum: true,
        ..SyncOptions::default()
    };
    let plan = plan::plan(&src, &dst, &opts).await.unwrap();
    assert!(plan.copies.is_empty());
    assert_eq!(plan.problems.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transfers_limit_is_respected() {
    // Into a local folder, `--transfers` at a time; into an HTTP store, four times as many
    // small files, and large ones still `--transfers` at a time.
    let big = vec![7u8; usize::try_from(WHOLE_FILE_SIZE).unwrap() + 1];
    let cases: [(MemBackend, &[u8], usize); 3] = [
        (MemBackend::local(), b"data", 3),
        (MemBackend::object_store(), b"data", 12),
        (MemBackend::object_store(), &big, 3),
    ];
    for (dst, data, most) in cases {
        let mut src = MemBackend::local();
        for i in 0..12 {
            src = src.file(&format!("f{i:02}"), data, at(0));
        }
        let src = src;
        let dst = dst.put_delay(Duration::from_millis(20));
        let opts = SyncOptions {
            transfers: 3,
            ..SyncOptions::default()
        };
        let stats = run(&src, &dst, &opts).await;
        assert_eq!(stats.transferred, 12);
        assert_eq!(dst.max_in_flight(), most, "{} bytes each", data.len());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn empty_source_dirs_are_made() {
    let src = MemBackend::local()
        .dir("empty/inner")
        .dir("empty")
        .file("full/a", b"x", at(0));
    let dst = MemBackend::missing();
    let stats = run(&src, &dst, &SyncOptions::default()).await;
    assert_eq!(dst.dirs(), ["empty", "empty/inner", "full"]);
    assert_eq!(dst.paths(), ["full/a"]);
    assert_eq!(stats.errors, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn object_store_destination_gets_no_dirs() {
    let src = MemBackend::local().dir("empty").file("a", b"x", at(0));
    let dst = MemBackend::object_store();
    run(&src, &dst, &SyncOptions::default()).await;
    assert!(dst.dirs().is_empty());
    assert_eq!(dst.paths(), ["a"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn object_store_source_mtime_read_by_stat() {
    let src = MemBackend::object_store().file("a", b"x", at(7));
    let dst = MemBackend::local();
    run(&src, &dst, &SyncOptions::default()).await;
    assert_eq!(dst.get("a").unwrap().1, at(7));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn second_sync_is_a_no_op() {
    let src = MemBackend::local()
        .file("a", b"1", at(0))
        .file("b/c", b"2", at(0));
    let dst = MemBackend::object_store();
    run(&src, &dst, &SyncOptions::default()).await;
    let before = dst.mutations();
    let stats = run(&src, &dst, &SyncOptions::default()).await;
    assert_eq!(dst.mutations(), before);
    assert_eq!((stats.transferred, stats.checked), (0, 2));
}

/// The root and the `docs` folder of a vault in `dir`: plain, or a crypt remote over it.
fn vault(dir: &std::path::Path, crypt: bool) -> (Arc<dyn Backend>, Arc<dyn Backend>) {
    use crate::config::rclone::RcloneConfig;
    use crate::remote::{open_backend, Location};
    let text = format!(
        "[plain]\ntype = local\n\n[v]\ntype = crypt\nremote = {}\npassword = {}\n",
        dir.display(),
        poof_crypt::obscure("history test")
    );
    let config = RcloneConfig::parse(&text).unwrap();
    let at = |path: &str| {
        let loc = match crypt {
            true => Location::remote("v", path),
            false => Location::Local(dir.join(path)),
        };
        open_backend(&config, &loc).unwrap()
    };
    (at(""), at("docs"))
}

/// The bytes and modification time of a file of a backend.
async fn file_of(backend: &dyn Backend, path: &str) -> Option<(Vec<u8>, SystemTime)> {
    let entry = backend.stat(path).await.unwrap()?;
    let whole = backend.read_whole(&entry).unwrap();
    Some((whole.data, whole.mtime.unwrap()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keep_moves_replaced_and_deleted_versions_into_history() {
    // Above the size copied whole: the replaced version of a streamed file is kept too.
    let big = |n: u8| vec![n; (1 << 20) + 3];
    for crypt in [false, true] {
        let (source, vault_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let src: Arc<dyn Backend> = Arc::new(LocalBackend::new(source.path()));
        let (root, dst) = vault(vault_dir.path(), crypt);
        let opts = |kept: Option<Keep>| SyncOptions {
            keep: kept,
            ..SyncOptions::default()
        };
        let write = |path: &str, data: &[u8], secs: u64| {
            let put = PutOptions {
                size: None,
                mtime: Some(at(secs)),
            };
            src.write_whole(path, data.to_vec(), put).unwrap();
        };
        write("a", b"version 1", 1);
        write("gone", b"deleted later", 2);
        write("big", &big(1), 3);
        write("same", b"unchanged", 4);
        let first = sync(src.as_ref(), dst.as_ref(), &opts(None), &Progress::hidden()).await;
        assert_eq!(first.unwrap().errors, 0);
        write("a", b"version 2, longer", 11);
        write("big", &big(2), 13);
        write("new", b"added", 15);
        src.remove("gone").await.unwrap();
        let keep = Keep {
            root: root.clone(),
            from: "docs".into(),
            to: "poof-history/2026-11-29T060000Z/docs".into(),
        };
        let stats = sync(
            src.as_ref(),
            dst.as_ref(),
            &opts(Some(keep)),
            &Progress::hidden(),
        )
        .await
        .unwrap();
        assert_eq!((stats.errors, stats.deleted), (0, 1), "crypt {crypt}");
        assert_eq!(stats.added, ["a", "big", "new"]);
        // The current state is the source's; every replaced or deleted version is in history
        // with its bytes and modification time; nothing else went there.
        let history = "poof-history/2026-11-29T060000Z/docs";
        for (path, want) in [
            ("a", Some((b"version 2, longer".to_vec(), at(11)))),
            ("big", Some((big(2), at(13)))),
            ("new", Some((b"added".to_vec(), at(15)))),
            ("same", Some((b"unchanged".to_vec(), at(4)))),
            ("gone", None),
        ] {
            assert_eq!(file_of(dst.as_ref(), path).await, want, "{path}");
        }
        for (path, want) in [
            ("a", Some((b"version 1".to_vec(), at(1)))),
            ("big", Some((big(1), at(3)))),
            ("gone", Some((b"deleted later".to_vec(), at(2)))),
            ("new", None),
            ("same", None),
        ] {
            let kept = file_of(root.as_ref(), &format!("{history}/{path}")).await;
            assert_eq!(kept, want, "{history}/{path}, crypt {crypt}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keep_after_a_failed_write_loses_nothing_and_moves_no_deleted_file() {
    let src = MemBackend::local()
        .file("x", b"new", at(5))
        .file("ok", b"1", at(5));
    let dst = Arc::new(
        MemBackend::local()
            .file("x", b"old", at(0))
            .file("gone", b"g", at(0))
            .fail_put("x"),
    );
    let keep = Keep {
        root: dst.clone(),
        from: String::new(),
        to: "poof-history/R".into(),
    };
    let opts = SyncOptions {
        keep: Some(keep),
        ..SyncOptions::default()
    };
    let stats = run(&src, &dst, &opts).await;
    assert_eq!((stats.errors, stats.deleted), (1, 0));
    assert_eq!(stats.added, ["ok"]);
    // The replaced version moved into history before the write failed: it is kept there, and
    // the deleted file stays where it was (no delete phase after an error).
    assert_eq!(dst.get("poof-history/R/x").unwrap().0, b"old");
    assert_eq!(dst.paths(), ["gone", "ok", "poof-history/R/x"]);
}

#[tokio::test]
async fn keep_dry_run_says_what_would_move_and_changes_nothing() {
    let src = MemBackend::local().file("a", b"new", at(1));
    let dst = Arc::new(
        MemBackend::local()
            .file("a", b"old", at(0))
            .file("gone", b"g", at(0)),
    );
    let keep = Keep {
        root: dst.clone(),
        from: String::new(),
        to: "poof-history/R".into(),
    };
    let opts = SyncOptions {
        dry_run: true,
        keep: Some(keep),
        ..SyncOptions::default()
    };
    let stats = run(&src, &dst, &opts).await;
    assert_eq!(dst.mutations(), 0);
    assert_eq!((stats.planned_copies, stats.planned_deletes), (1, 1));
}

/// A tree with every case the walk meets: new, changed and equal files, folders on one side
/// only, a file where the other side has a folder (both ways), names that sort around `/`.
fn every_case(side: MemBackend, is_src: bool) -> MemBackend {
    // (on the source, on the destination, path, bytes, seconds after `at`'s origin)
    let files: [(bool, bool, &str, &[u8], u64); 16] = [
        (true, true, "same", b"x", 0),
        (true, true, "a.c", b"x", 0),
        (true, true, "a/b/deep", b"x", 0),
        (true, true, "a0", b"x", 0),
        (true, false, "new", b"x", 0),
        (true, false, "a/grown", b"xyz", 0),
        (false, true, "a/grown", b"x", 0),
        (true, false, "a/b/touched", b"x", 5),
        (false, true, "a/b/touched", b"x", 0),
        (true, false, "only-src/sub/f", b"x", 0),
        (false, true, "only-dst/sub/g", b"y", 0),
        (false, true, "only-dst/h", b"y", 0),
        (true, false, "clash-file", b"x", 0),
        (false, true, "clash-file/inside", b"y", 0),
        (true, false, "clash-dir/inner", b"x", 0),
        (false, true, "clash-dir", b"y", 0),
    ];
    let side = files
        .into_iter()
        .filter(|&(on_src, on_dst, ..)| if is_src { on_src } else { on_dst })
        .fold(side, |side, (_, _, path, data, secs)| {
            side.file(path, data, at(secs))
        });
    if is_src {
        side.dir("empty-src")
    } else {
        side
    }
}

#[tokio::test]
async fn a_walk_folder_by_folder_plans_what_a_whole_listing_plans() {
    let opts = SyncOptions::default();
    let whole = plan::plan(
        &every_case(MemBackend::local().listed_whole(), true),
        &every_case(MemBackend::local().listed_whole(), false),
        &opts,
    )
    .await
    .unwrap();
    assert_eq!(
        copied(&whole),
        owned(&[
            ("a/b/touched", CopyReason::MtimeDiffers),
            ("a/grown", CopyReason::SizeDiffers),
            ("clash-dir/inner", CopyReason::New),
            ("new", CopyReason::New),
            ("only-src/sub/f", CopyReason::New),
        ])
    );
    let deletes =
        |plan: &Plan| -> Vec<String> { plan.deletes.iter().map(|e| e.unwrap().path).collect() };
    assert_eq!(
        deletes(&whole),
        [
            "clash-dir",
            "clash-file/inside",
            "only-dst/h",
            "only-dst/sub/g"
        ]
    );
    assert_eq!(whole.mkdirs, ["empty-src", "only-src", "only-src/sub"]);
    assert_eq!(whole.rmdirs, ["only-dst/sub", "only-dst"]);
    assert_eq!(whole.problems.len(), 2, "{:?}", whole.problems);
    for (src_walked, dst_walked) in [(true, true), (true, false), (false, true)] {
        let side = |walked: bool| {
            if walked {
                MemBackend::local()
            } else {
                MemBackend::local().listed_whole()
            }
        };
        let src = every_case(side(src_walked), true);
        let dst = every_case(side(dst_walked), false);
        let walked = plan::plan(&src, &dst, &opts).await.unwrap();
        let case = format!("source walked {src_walked}, destination walked {dst_walked}");
        assert_eq!(copied(&walked), copied(&whole), "{case}");
        assert_eq!(deletes(&walked), deletes(&whole), "{case}");
        assert_eq!(walked.mkdirs, whole.mkdirs, "{case}");
        assert_eq!(walked.rmdirs, whole.rmdirs, "{case}");
        assert_eq!(walked.problems, whole.problems, "{case}");
        assert_eq!(walked.stats, whole.stats, "{case}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plan_longer_than_memory_holds_runs_from_disk_to_the_last_file() {
    let folders = spool::MEMORY_ITEMS / 100 + 2;
    let mut src = MemBackend::local();
    for i in 0..folders * 100 {
        src = src.file(&format!("d{:03}/f{:02}", i / 100, i % 100), b"x", at(0));
    }
    let mut dst = MemBackend::local();
    for i in 0..spool::MEMORY_ITEMS + 50 {
        dst = dst.file(&format!("old{:03}/g{:03}", i / 1000, i % 1000), b"y", at(0));
    }
    let plan = plan_of(&src, &dst).await;
    assert!(plan.copies.on_disk() && plan.deletes.on_disk());
    assert_eq!(plan.copies.len(), (folders * 100) as u64);
    assert_eq!(plan.stats.small_copies, (folders * 100) as u64);
    let stats = run(&src, &dst, &SyncOptions::default()).await;
    assert_eq!(stats.errors, 0);
    assert_eq!(stats.transferred, (folders * 100) as u64);
    assert_eq!(stats.deleted, (spool::MEMORY_ITEMS + 50) as u64);
    assert_eq!(dst.paths(), src.paths());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_file_handed_to_the_checks_is_concluded() {
    // More files to stat than the walk hands over before waiting, in one folder and across
    // folders: every 7th has another time on the destination.
    let mut src = MemBackend::local();
    let mut dst = MemBackend::object_store();
    let mut want = Vec::new();
    for i in 0..3_000 {
        let path = if i < 2_000 {
            format!("big/f{i:04}")
        } else {
            format!("d{:02}/f{i:04}", i % 40)
        };
        let (data, newer) = (if i % 5 == 0 { b"ab" } else { b"cd" }, i % 7 == 0);
        src = src.file(&path, data, at(if newer { 9 } else { 0 }));
        dst = dst.file(&path, if i % 3 == 0 { b"ab" } else { b"cd" }, at(0));
        want.push((path, i, newer));
    }
    let plan = plan_of(&src, &dst).await;
    let mut expected: Vec<(String, CopyReason)> = want
        .iter()
        .filter(|(_, _, newer)| *newer)
        .map(|(path, _, _)| (path.clone(), CopyReason::MtimeDiffers))
        .collect();
    expected.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(copied(&plan), expected);
    assert_eq!(dst.stats(), 3_000);
    assert!(plan.problems.is_empty(), "{:?}", plan.problems);

    // By content: the bytes differ where `i % 5 == 0` and `i % 3 != 0`, or the reverse.
    let checksum = SyncOptions {
        checksum: true,
        ..SyncOptions::default()
    };
    let plan = plan::plan(&src, &dst, &checksum).await.unwrap();
    let mut expected: Vec<(String, CopyReason)> = want
        .iter()
        .filter(|(_, i, _)| (i % 5 == 0) != (i % 3 == 0))
        .map(|(path, _, _)| (path.clone(), CopyReason::ContentDiffers))
        .collect();
    expected.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(copied(&plan), expected);
}

#[test]
fn stats_and_listings_over_an_http_store_run_four_times_the_checkers_at_once() {
    use super::plan::requests_at_once;
    assert_eq!(requests_at_once(8, false), 8);
    assert_eq!(requests_at_once(8, true), 32);
    assert_eq!(requests_at_once(0, true), 1);
    assert_eq!(requests_at_once(MAX_CHECKERS, true), MAX_CHECKERS);
    assert_eq!(requests_at_once(MAX_CHECKERS, false), MAX_CHECKERS);
}

/// Sync options with the filter of `spec`.
fn filtered(spec: crate::filter::Spec, delete_excluded: bool) -> SyncOptions {
    let filter = crate::filter::Filter::new(&spec, at(100)).unwrap();
    SyncOptions {
        filter: Arc::new(filter),
        delete_excluded,
        ..SyncOptions::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_the_filter_leaves_out_is_neither_copied_nor_deleted() {
    let spec = crate::filter::Spec {
        exclude: vec!["*.tmp".into(), "node_modules/".into()],
        exclude_if_present: vec![".nobackup".into()],
        ..crate::filter::Spec::default()
    };
    let source = || {
        MemBackend::local()
            .file("a.txt", b"a", at(0))
            .file("b.tmp", b"b", at(0))
            .file("web/node_modules/m.js", b"m", at(0))
            .file("web/app.js", b"w", at(0))
            .file("private/.nobackup", b"", at(0))
            .file("private/diary.txt", b"d", at(0))
    };
    let dst = || {
        MemBackend::local()
            .file("old.tmp", b"o", at(0))
            .file("gone/x.tmp", b"x", at(0))
            .file("web/node_modules/old.js", b"o", at(0))
            .file("private/diary-2019.txt", b"p", at(0))
            .file("stale.txt", b"s", at(0))
    };
    let (src, dst_a) = (source(), dst());
    let opts = filtered(spec.clone(), false);
    let plan = plan::plan(&src, &dst_a, &opts).await.unwrap();
    assert_eq!(
        copied(&plan),
        owned(&[("a.txt", CopyReason::New), ("web/app.js", CopyReason::New)])
    );
    let deletes: Vec<String> = plan.deletes.iter().map(|e| e.unwrap().path).collect();
    assert_eq!(deletes, ["stale.txt"]);
    // `gone/` holds only a file left out: not removed, nor is `private/`.
    assert!(plan.rmdirs.is_empty(), "{:?}", plan.rmdirs);
    assert!(
        !plan.mkdirs.iter().any(|d| d.starts_with("private")),
        "{:?}",
        plan.mkdirs
    );
    assert_eq!(
        plan.stats.excluded, 1,
        "b.tmp (folders left out are not listed)"
    );
    assert_eq!(plan.stats.src_files, 2);
    assert_eq!(
        plan.stats.dst_files, 1,
        "only stale.txt is inside the filter"
    );
    for side in [src.listed_folders(), dst_a.listed_folders()] {
        assert!(!side.iter().any(|d| d.contains("node_modules")), "{side:?}");
    }
    let stats = run(&src, &dst_a, &opts).await;
    assert_eq!((stats.errors, stats.transferred, stats.deleted), (0, 2, 1));
    assert_eq!(
        dst_a.paths(),
        [
            "a.txt",
            "gone/x.tmp",
            "old.tmp",
            "private/diary-2019.txt",
            "web/app.js",
            "web/node_modules/old.js"
        ]
    );

    // With --delete-excluded the destination loses what the filter leaves out.
    let (src, dst_b) = (source(), dst());
    let stats = run(&src, &dst_b, &filtered(spec, true)).await;
    assert_eq!(stats.errors, 0);
    assert_eq!(dst_b.paths(), ["a.txt", "web/app.js"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_age_filter_dates_files_a_listing_leaves_undated() {
    let spec = crate::filter::Spec {
        max_age: Some("50s".into()),
        ..crate::filter::Spec::default()
    };
    // `at(100)` is the filter's now: `recent` is 10 s old, `old` 90 s.
    let src = MemBackend::object_store()
        .file("recent", b"r", at(90))
        .file("dir/old", b"o", at(10))
        .file("dir/recent", b"r", at(95));
    let dst = MemBackend::local();
    let plan = plan::plan(&src, &dst, &filtered(spec, false))
        .await
        .unwrap();
    assert_eq!(
        copied(&plan),
        owned(&[("dir/recent", CopyReason::New), ("recent", CopyReason::New)])
    );
    assert_eq!(plan.stats.excluded, 1);
}
