//! `poof upload --shred` and `"shred": true` on a fresh HOME with the encrypted local vault:
//! each verified file is overwritten in place with random bytes before it is unlinked. The
//! tests hold a handle to each file opened BEFORE the upload and read through it afterwards:
//! an unlink alone leaves the old bytes there (shown without `--shred`), a shred leaves random
//! bytes of the same length. The vault still restores the originals (poof and the real
//! rclone); a symbolic link in the folder is never followed, a hard-linked file is refused and
//! kept (an error of the run), and a bad `"shred"` value is a one-line config error.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;
use std::process::Output;

use crate::harness::home::{populate, snapshot, Home, Snapshot};
use crate::harness::{pattern, run, run_ok};

/// Files of the user: text, a file of several 64 KiB blocks in a subfolder, an empty one.
fn user_files() -> Vec<(&'static str, Vec<u8>)> {
    vec![
        (
            "secret.txt",
            b"the combination is 12-34-56, keep it safe\n".repeat(40),
        ),
        ("photos/big.bin", pattern(300_000, 7)),
        ("empty.txt", Vec::new()),
    ]
}

/// A configured HOME with `docs` holding [`user_files`] added to poof.conf.
fn set_up() -> (Home, Snapshot) {
    Home::with_docs(&user_files())
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Read handles on the non-empty files of `files` below `root`, opened now.
fn open_handles(root: &Path, files: &Snapshot) -> Vec<(String, File)> {
    files
        .iter()
        .filter(|(_, (bytes, _))| !bytes.is_empty())
        .map(|(rel, _)| (rel.clone(), File::open(root.join(rel)).unwrap()))
        .collect()
}

/// Everything a handle reads from offset 0 now.
fn read_through(handle: &mut File) -> Vec<u8> {
    handle.seek(SeekFrom::Start(0)).unwrap();
    let mut out = Vec::new();
    handle.read_to_end(&mut out).unwrap();
    out
}

/// Asserts that what each handle reads now is random bytes over the original: the same
/// length, every 16-byte piece changed (random bytes keep one with probability 2^-128),
/// not all zeros.
fn assert_shredded(handles: &mut [(String, File)], files: &Snapshot) {
    for (rel, handle) in handles {
        let original = &files[rel.as_str()].0;
        let now = read_through(handle);
        assert_eq!(now.len(), original.len(), "{rel}: length changed");
        for (i, (new, old)) in now
            .chunks_exact(16)
            .zip(original.chunks_exact(16))
            .enumerate()
        {
            assert_ne!(
                new,
                old,
                "{rel}: bytes {} to {} unchanged",
                i * 16,
                i * 16 + 16
            );
        }
        assert!(
            now.iter().any(|&b| b != 0),
            "{rel}: zeros, not random bytes"
        );
    }
}

/// Restores `poof-crypt:docs` with the real rclone into a new folder and snapshots it.
fn rclone_restore(h: &Home) -> Snapshot {
    let out = h.scratch.path("rclone-out");
    let _ = std::fs::remove_dir_all(&out);
    run_ok(h.rclone().arg("copy").arg("poof-crypt:docs").arg(&out));
    snapshot(&out)
}

#[test]
fn upload_shred_overwrites_each_file_in_place_before_unlinking_it() {
    let (h, files) = set_up();
    let docs = h.home().join("docs");
    let mut handles = open_handles(&docs, &files);

    // A dry run says it would shred, and changes nothing.
    let out = run(h.poof().args(["upload", "--shred", "--dry-run"]));
    let err = stderr(&out);
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains(
            "would verify the 3 local files on the target and delete them, each shredded first"
        ),
        "{err}"
    );
    assert_eq!(snapshot(&docs), files);

    let out = run(h.poof().args(["upload", "--shred"]));
    let err = stderr(&out);
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains("3 local files verified and deleted (shredded), 0 kept"),
        "{err}"
    );
    assert!(
        err.contains("poof: upload: 3 local files deleted (shredded), 0 kept"),
        "{err}"
    );
    for rel in files.keys() {
        assert!(!docs.join(rel).exists(), "{rel} still there\n{err}");
    }
    assert_shredded(&mut handles, &files);

    // The vault has the originals: rclone decrypts them, poof restores them in place.
    assert_eq!(rclone_restore(&h), files);
    run_ok(h.poof().arg("download"));
    assert_eq!(snapshot(&docs), files);
}

#[test]
fn upload_without_shred_only_unlinks_the_old_bytes_stay_readable() {
    let (h, files) = set_up();
    let docs = h.home().join("docs");
    let mut handles = open_handles(&docs, &files);
    let out = run(h.poof().arg("upload"));
    let err = stderr(&out);
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains("3 local files verified and deleted, 0 kept"),
        "{err}"
    );
    assert!(!err.contains("shred"), "{err}");
    for rel in files.keys() {
        assert!(!docs.join(rel).exists(), "{rel} still there");
    }
    for (rel, handle) in &mut handles {
        assert_eq!(read_through(handle), files[rel.as_str()].0, "{rel}");
    }
}

#[test]
fn shred_true_in_poof_conf_shreds_and_a_bad_value_is_a_one_line_config_error() {
    let (h, files) = set_up();
    let docs = h.home().join("docs");

    // Not a boolean: every command refuses poof.conf in one line naming the key.
    for bad in [
        serde_json::json!("yes"),
        serde_json::json!(1),
        serde_json::Value::Null,
    ] {
        h.set_conf("shred", bad.clone());
        for args in [&["upload"][..], &["config"]] {
            let out = run(h.poof().args(args));
            let err = stderr(&out);
            assert!(!out.status.success(), "{bad} {args:?}: {err}");
            assert_eq!(err.trim_end().lines().count(), 1, "{bad} {args:?}: {err}");
            assert!(
                err.contains("poof.conf: key \"shred\"") && err.contains("must be true or false"),
                "{bad} {args:?}: {err}"
            );
        }
        assert_eq!(snapshot(&docs), files);
    }

    h.set_conf("shred", serde_json::json!(true));
    let out = run(h.poof().arg("config"));
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("\"shred\": true"),
        "{out:?}"
    );
    assert!(
        stderr(&out).contains("upload shreds each verified file"),
        "{}",
        stderr(&out)
    );
    let mut handles = open_handles(&docs, &files);
    let out = run(h.poof().arg("upload"));
    let err = stderr(&out);
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains("poof: upload: 3 local files deleted (shredded), 0 kept"),
        "{err}"
    );
    assert_shredded(&mut handles, &files);
    assert_eq!(rclone_restore(&h), files);

    // "shred": false only deletes.
    run_ok(h.poof().arg("download"));
    h.set_conf("shred", serde_json::json!(false));
    let mut handles = open_handles(&docs, &files);
    let out = run(h.poof().arg("upload"));
    assert!(out.status.success(), "{}", stderr(&out));
    for (rel, handle) in &mut handles {
        assert_eq!(read_through(handle), files[rel.as_str()].0, "{rel}");
    }
}

#[test]
fn a_symbolic_link_in_the_folder_is_never_followed_or_shredded() {
    let (h, files) = set_up();
    let docs = h.home().join("docs");
    // Outside the folder: a file and a folder that links in the folder point to.
    let outside = populate(
        &h.home().join("outside"),
        &[
            (
                "target.txt",
                b"not backed up, never to be shredded\n".repeat(8),
            ),
            ("dir/inner.txt", pattern(4_096, 9)),
        ],
    );
    let link = docs.join("link.txt");
    let dir_link = docs.join("linked-dir");
    std::os::unix::fs::symlink(h.home().join("outside/target.txt"), &link).unwrap();
    std::os::unix::fs::symlink(h.home().join("outside/dir"), &dir_link).unwrap();
    let mut target = File::open(h.home().join("outside/target.txt")).unwrap();
    let mut handles = open_handles(&docs, &files);

    let out = run(h.poof().args(["upload", "--shred"]));
    let err = stderr(&out);
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains("3 local files verified and deleted (shredded), 0 kept"),
        "{err}"
    );
    assert_shredded(&mut handles, &files);
    // The links are still links, their targets untouched (bytes and times).
    assert!(link.symlink_metadata().unwrap().file_type().is_symlink());
    assert!(dir_link
        .symlink_metadata()
        .unwrap()
        .file_type()
        .is_symlink());
    assert_eq!(snapshot(&h.home().join("outside")), outside);
    assert_eq!(
        read_through(&mut target),
        outside["target.txt"].0,
        "the link's target was overwritten"
    );
}

#[test]
fn a_file_that_cannot_be_shredded_is_kept_and_fails_the_run() {
    let (h, files) = set_up();
    let docs = h.home().join("docs");
    // A second name outside the folder: overwriting would change that file too.
    let other = h.home().join("elsewhere.txt");
    std::fs::hard_link(docs.join("secret.txt"), &other).unwrap();
    let mut handles: Vec<(String, File)> = open_handles(&docs, &files)
        .into_iter()
        .filter(|(rel, _)| rel != "secret.txt")
        .collect();

    let out = run(h.poof().args(["upload", "--shred"]));
    let err = stderr(&out);
    assert!(!out.status.success(), "{err}");
    assert!(
        err.contains("ERROR : secret.txt: kept: has 2 names (hard links)"),
        "{err}"
    );
    assert!(
        err.contains("2 local files verified and deleted (shredded), 1 kept"),
        "{err}"
    );
    // Kept whole, under both names; the others shredded.
    let secret = &files["secret.txt"].0;
    assert_eq!(&std::fs::read(docs.join("secret.txt")).unwrap(), secret);
    assert_eq!(&std::fs::read(&other).unwrap(), secret);
    assert!(!docs.join("photos/big.bin").exists());
    assert_shredded(&mut handles, &files);
}
