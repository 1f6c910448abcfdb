//! Hostile files that real folders hold, against poof and the real rclone: a user's files
//! named like temporary files (backed up, restored, never deleted), names of 238-255 bytes,
//! and symbolic links in a restore's destination (never written through).

use std::path::{Path, PathBuf};
use std::process::Output;

use crate::harness::home::{populate, snapshot, Home, Snapshot};
use crate::harness::{assert_contains, run, run_ok, CryptOpts, Scratch};

/// A user's files whose names look like the temporary files of other tools (and of poof's
/// earlier versions): data like any other.
const LOOKALIKES: [&str; 3] = [
    ".draft.20241231.partial",
    ".report.pdf.0123abcd.partial",
    "sub/.x.89abcdef.partial",
];

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A scratch folder with a crypt remote `c` over `enc/`.
fn local_crypt() -> Scratch {
    let s = Scratch::new();
    let enc = s.path("enc").display().to_string();
    s.write_config(&CryptOpts::default().section("c", &enc));
    s
}

/// `poof sync` (or `copy`) without progress.
fn poof(s: &Scratch, command: &str, src: &Path, dst: &str) -> Output {
    run(s.poof().arg(command).arg("--no-progress").arg(src).arg(dst))
}

/// [`poof`], which must succeed; its stderr.
fn poof_ok(s: &Scratch, command: &str, src: &Path, dst: &str) -> String {
    let out = poof(s, command, src, dst);
    let err = stderr(&out);
    assert!(out.status.success(), "{err}");
    err
}

/// A scratch folder with `src/b.txt` and a `dst` holding [`lookalike_files`] of `mine`.
fn b_txt_to_lookalikes() -> (Scratch, PathBuf, PathBuf, Snapshot) {
    let s = Scratch::new();
    let src = s.path("src");
    populate(&src, &[("b.txt", b"b".to_vec())]);
    let dst = s.path("dst");
    let mine = populate(&dst, &lookalike_files(b"mine"));
    (s, src, dst, mine)
}

/// The lookalikes (with `content` as their bytes), and `a.txt`.
fn lookalike_files(content: &[u8]) -> Vec<(&'static str, Vec<u8>)> {
    let mut files: Vec<_> = LOOKALIKES.iter().map(|n| (*n, content.to_vec())).collect();
    files.push(("a.txt", b"a".to_vec()));
    files
}

/// Asserts a run that failed on a symbolic link: exit 1, the link named, `outside` unchanged.
fn assert_link_refused(out: &Output, link: &Path, outside: &Path, before: &Snapshot) {
    let err = stderr(out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert_contains(
        &err,
        &format!(
            "refusing to write through the symbolic link {}",
            link.display()
        ),
    );
    assert_eq!(
        &snapshot(outside),
        before,
        "written outside through {link:?}"
    );
    assert!(
        link.symlink_metadata().unwrap().file_type().is_symlink(),
        "the link was replaced"
    );
}

#[test]
fn files_named_like_temporary_files_are_backed_up_and_read_by_rclone() {
    let s = local_crypt();
    let src = s.path("src");
    let files = populate(&src, &lookalike_files(b"the user's draft"));
    poof_ok(&s, "sync", &src, "c:");
    let restored = s.path("rclone-out");
    run_ok(s.rclone().arg("copy").arg("c:").arg(&restored));
    assert_eq!(snapshot(&restored), files);
    // And back: poof restores them from what it wrote.
    let back = s.path("poof-out");
    poof_ok(&s, "copy", Path::new("c:"), &back.display().to_string());
    assert_eq!(snapshot(&back), files);
}

#[test]
fn files_named_like_temporary_files_are_never_deleted_by_copy_or_sync() {
    // copy: the destination's lookalikes are not in the source; copy deletes nothing.
    let (s, src, dst, mine) = b_txt_to_lookalikes();
    let err = poof_ok(&s, "copy", &src, &dst.display().to_string());
    assert!(!err.contains("temporary files"), "{err}");
    let after = snapshot(&dst);
    for (name, file) in &mine {
        assert_eq!(after.get(name), Some(file), "{name} lost by copy: {err}");
    }
    // sync: the lookalikes are in the source too, so the destination keeps them.
    let src2 = s.path("src2");
    let files = populate(&src2, &lookalike_files(b"in the source"));
    let err = poof_ok(&s, "sync", &src2, &dst.display().to_string());
    assert!(!err.contains("temporary files"), "{err}");
    assert_eq!(snapshot(&dst), files, "{err}");
    // Again, nothing to do: still all there.
    poof_ok(&s, "sync", &src2, &dst.display().to_string());
    assert_eq!(snapshot(&dst), files);
}

#[test]
fn a_dead_temporary_file_of_poof_is_removed_and_said_apart() {
    let (s, src, dst, _) = b_txt_to_lookalikes();
    // What a killed poof leaves: a name only poof makes.
    let dead = dst.join("sub").join(poof::remote::local::temp_name());
    std::fs::write(&dead, b"half a file").unwrap();
    let err = poof_ok(&s, "copy", &src, &dst.display().to_string());
    assert!(!dead.exists(), "{err}");
    assert!(
        err.contains("removed 1 temporary files left by interrupted runs"),
        "{err}"
    );
    for name in LOOKALIKES {
        assert_eq!(std::fs::read(dst.join(name)).unwrap(), b"mine", "{name}");
    }
}

#[test]
fn download_to_never_deletes_files_named_like_temporary_files() {
    let h = Home::configured();
    let docs = h.home().join("docs");
    let files = populate(&docs, &lookalike_files(b"backed up"));
    h.add_path(&docs, "docs");
    run_ok(h.poof().arg("backup"));
    // The restore folder already holds files of the user named like temporary files.
    let to = h.scratch.path("restore");
    let theirs = populate(
        &to.join("docs"),
        &[
            (".notes.20250101.partial", b"mine".to_vec()),
            ("sub/.y.0123abcd.partial", b"mine too".to_vec()),
        ],
    );
    let out = run(h.poof().arg("download").arg("--to").arg(&to));
    let err = stderr(&out);
    assert!(out.status.success(), "{err}");
    assert!(!err.contains("temporary files"), "{err}");
    let mut expected = files;
    expected.extend(theirs);
    assert_eq!(snapshot(&to.join("docs")), expected, "{err}");
}

#[test]
fn names_of_238_to_255_bytes_sync_local_to_local_and_back() {
    let s = Scratch::new();
    let src = s.path("src");
    let long: Vec<String> = [238, 250, 255]
        .iter()
        .map(|&n| "x".repeat(n - 4) + ".txt")
        .collect();
    let spec: Vec<(&str, Vec<u8>)> = long
        .iter()
        .map(|n| (n.as_str(), n.as_bytes()[..8].to_vec()))
        .collect();
    let files = populate(&src, &spec);
    let dst = s.path("dst");
    poof_ok(&s, "sync", &src, &dst.display().to_string());
    assert_eq!(snapshot(&dst), files);
    let back = s.path("back");
    poof_ok(&s, "sync", &dst, &back.display().to_string());
    assert_eq!(snapshot(&back), files);
    // rclone copies them too, and finds poof's copy identical.
    run_ok(s.rclone().arg("check").arg(&src).arg(&back));
}

#[test]
fn a_name_too_long_once_encrypted_fails_alone_as_with_rclone() {
    let s = local_crypt();
    let src = s.path("src");
    // 143 bytes still encrypt to a name of at most 255 bytes; 250 do not (rclone: "file name
    // too long" once it tries, exit 1, the other files copied).
    let ok = "k".repeat(143);
    let too_long = "t".repeat(250);
    populate(
        &src,
        &[
            (ok.as_str(), b"ok".to_vec()),
            (too_long.as_str(), b"no".to_vec()),
        ],
    );
    let out = poof(&s, "sync", &src, "c:");
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    // Found before anything is sent.
    assert!(err.contains("name too long for the destination"), "{err}");
    let restored = s.path("rclone-out");
    run_ok(s.rclone().arg("copy").arg("c:").arg(&restored));
    assert_eq!(std::fs::read(restored.join(&ok)).unwrap(), b"ok");
    assert!(!restored.join(&too_long).exists());
}

#[test]
fn sync_from_crypt_never_writes_through_a_link_in_the_destination() {
    let s = local_crypt();
    let src = s.path("src");
    populate(
        &src,
        &[
            ("dir/x", b"x".to_vec()),
            ("dir/deeper/y", b"y".to_vec()),
            ("top.txt", b"top".to_vec()),
        ],
    );
    poof_ok(&s, "sync", &src, "c:");
    let dst = s.path("dst");
    let outside = s.path("outside");
    let before = populate(&outside, &[("keep", b"outside".to_vec())]);
    populate(&dst, &[("extra.txt", b"not in the backup".to_vec())]);
    std::os::unix::fs::symlink(&outside, dst.join("dir")).unwrap();
    let out = run(s.poof().args(["sync", "--no-progress", "c:"]).arg(&dst));
    assert_link_refused(&out, &dst.join("dir"), &outside, &before);
    assert_eq!(std::fs::read(dst.join("top.txt")).unwrap(), b"top");
    // A failed run deletes nothing.
    assert!(dst.join("extra.txt").exists());
}

/// A HOME with `docs` (`dir/x`, `top.txt`) backed up, and a folder `outside` with one file.
fn backed_up_with_outside() -> (Home, std::path::PathBuf, Snapshot) {
    let h = Home::configured();
    let docs = h.home().join("docs");
    populate(
        &docs,
        &[("dir/x", b"x".to_vec()), ("top.txt", b"top".to_vec())],
    );
    h.add_path(&docs, "docs");
    run_ok(h.poof().arg("backup"));
    let outside = h.scratch.path("outside");
    let before = populate(&outside, &[("keep", b"outside".to_vec())]);
    (h, outside, before)
}

#[test]
fn download_never_writes_through_a_link_in_the_folder() {
    let (h, outside, before) = backed_up_with_outside();
    let docs = h.home().join("docs");
    std::fs::remove_dir_all(docs.join("dir")).unwrap();
    std::fs::remove_file(docs.join("top.txt")).unwrap();
    std::os::unix::fs::symlink(&outside, docs.join("dir")).unwrap();
    let out = run(h.poof().arg("download"));
    assert_link_refused(&out, &docs.join("dir"), &outside, &before);
    assert_eq!(std::fs::read(docs.join("top.txt")).unwrap(), b"top");
}

#[test]
fn download_to_never_writes_through_a_link_below_its_folder() {
    let (h, outside, before) = backed_up_with_outside();
    // DIR/docs/dir is a link.
    let to = h.scratch.path("restore");
    std::fs::create_dir_all(to.join("docs")).unwrap();
    std::os::unix::fs::symlink(&outside, to.join("docs/dir")).unwrap();
    let out = run(h.poof().arg("download").arg("--to").arg(&to));
    assert_link_refused(&out, &to.join("docs/dir"), &outside, &before);
    assert_eq!(std::fs::read(to.join("docs/top.txt")).unwrap(), b"top");

    // DIR/docs itself is a link: DIR is the user's choice, DIR/docs is not.
    let to = h.scratch.path("restore2");
    std::fs::create_dir_all(&to).unwrap();
    std::os::unix::fs::symlink(&outside, to.join("docs")).unwrap();
    let out = run(h.poof().arg("download").arg("--to").arg(&to));
    assert_link_refused(&out, &to.join("docs"), &outside, &before);
    // The other folder (poof's config) is restored.
    assert!(
        to.join("poof-config/poof.conf").is_file(),
        "{}",
        stderr(&out)
    );

    // DIR itself may be a link: the user named it.
    let real = h.scratch.path("real-restore");
    std::fs::create_dir_all(&real).unwrap();
    let to = h.scratch.path("restore3");
    std::os::unix::fs::symlink(&real, &to).unwrap();
    let out = run(h.poof().arg("download").arg("--to").arg(&to));
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(std::fs::read(real.join("docs/dir/x")).unwrap(), b"x");
}
