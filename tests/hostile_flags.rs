//! Hostile flags and misleading messages: worker counts out of range or far above the work,
//! the run summary after a failed transfer, `ls`/`cat` of a FIFO and of a single file, `sync`
//! and `copy` of a single file into a folder, and `cat --offset` past the end. Each case is
//! checked against what the real rclone does where rclone has the same command.

use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

use crate::harness::home::{populate, snapshot, Home};
use crate::harness::{run, run_bounded, run_ok, CryptOpts, Scratch};

/// Longest any command here may take: far more than each needs, short enough that a run that
/// never ends (or hangs on a FIFO) fails the test instead of hanging it.
const DEADLINE: Duration = Duration::from_secs(60);

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// [`run_bounded`] with [`DEADLINE`].
fn bounded(cmd: &mut Command) -> Output {
    run_bounded(cmd, DEADLINE)
}

/// A scratch folder with `src` holding three small files and a crypt remote `secret:` over
/// the local folder `vault`.
fn scratch_with_files() -> Scratch {
    let s = Scratch::new();
    populate(
        &s.path("src"),
        &[
            ("a.txt", b"alpha\n".to_vec()),
            ("b.txt", b"bravo\n".to_vec()),
            ("sub/c.txt", b"charlie\n".to_vec()),
        ],
    );
    let vault = s.path("vault");
    std::fs::create_dir_all(&vault).unwrap();
    s.write_config(&CryptOpts::default().section("secret", &vault.display().to_string()));
    s
}

/// Makes a FIFO with the system's `mkfifo` (poof forbids `unsafe`, and so `mkfifo(3)`).
fn mkfifo(path: &Path) {
    run_ok(Command::new("mkfifo").arg(path));
}

#[test]
fn worker_counts_out_of_range_are_refused_by_the_parser() {
    let s = scratch_with_files();
    for (flag, value) in [
        ("--transfers", "0"),
        ("--transfers", "-1"),
        ("--transfers", "257"),
        ("--transfers", "100000"),
        ("--transfers", "4294967296"),
        ("--checkers", "0"),
        ("--checkers", "100000"),
    ] {
        let out = bounded(
            s.poof()
                .args(["copy", "--no-progress"])
                .arg(s.path("src"))
                .arg(s.path("dst"))
                .args([flag, value]),
        );
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{flag} {value}: {err}");
        assert!(
            err.contains(flag) && err.contains("must be a whole number from 1 to 256"),
            "{flag} {value}: {err}"
        );
        assert!(
            !s.path("dst").exists(),
            "{flag} {value}: something was copied"
        );
    }
}

#[test]
fn copy_threads_are_bounded_by_the_files() {
    let s = scratch_with_files();
    let out = bounded(
        s.poof()
            .args(["copy", "--no-progress", "-v", "--transfers", "256"])
            .arg(s.path("src"))
            .arg(s.path("dst")),
    );
    let err = stderr(&out);
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains("INFO  : copying 3 files on 3 threads"),
        "{err}"
    );
    assert_eq!(snapshot(&s.path("dst")), snapshot(&s.path("src")));
}

#[test]
fn backup_summary_counts_a_folder_with_a_failed_transfer_as_failed() {
    let h = Home::configured();
    let docs = h.home().join("docs");
    // A 200-byte name encrypts to 333 base32 characters: more than the vault's file system
    // takes (255), so that one file is reported and not copied.
    let long = "n".repeat(200);
    populate(
        &docs,
        &[
            ("ok.txt", b"fine\n".to_vec()),
            (&long, b"too long\n".to_vec()),
        ],
    );
    h.add_path(&docs, "docs");
    // Two folders: `docs` and the config folder `econfig` added.
    let out = bounded(h.poof().args(["backup", "--no-progress"]));
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains(&format!(
            "ERROR : {long}: name too long for the destination"
        )),
        "{err}"
    );
    let summary = err
        .lines()
        .find(|l| l.starts_with("poof: backup of 2 folders"))
        .unwrap_or_else(|| panic!("no summary: {err}"));
    assert!(
        summary.contains("(0 skipped, 0 refused, 1 failed)"),
        "{summary}"
    );
    assert!(summary.contains("errors: 1,"), "{summary}");
}

#[test]
fn ls_and_cat_of_a_fifo_say_it_is_not_a_regular_file() {
    let s = scratch_with_files();
    let fifo = s.path("src/pipe");
    mkfifo(&fifo);
    // As a local path, and through a `type = local` remote.
    let config = std::fs::read_to_string(s.config()).unwrap();
    s.write_config(&format!("{config}\n[l]\ntype = local\n"));
    let remote = format!("l:{}", fifo.display());
    for command in ["ls", "cat", "lsjson"] {
        for location in [fifo.display().to_string(), remote.clone()] {
            let out = bounded(s.poof().arg(command).arg(&location));
            let err = stderr(&out);
            assert_eq!(out.status.code(), Some(1), "{command} {location}: {err}");
            assert!(
                err.contains("not a regular file"),
                "{command} {location}: {err}"
            );
            assert!(!err.contains("directory not found"), "{command}: {err}");
            assert!(out.stdout.is_empty(), "{command} {location}");
        }
    }
}

#[test]
fn sync_of_a_fifo_or_a_link_to_a_file_says_what_it_is() {
    let s = scratch_with_files();
    let fifo = s.path("src/pipe");
    mkfifo(&fifo);
    std::os::unix::fs::symlink(s.path("src/a.txt"), s.path("link")).unwrap();
    for (source, says) in [
        (&fifo, "not a regular file or folder"),
        (&s.path("link"), "followed only with --copy-links"),
    ] {
        let out = bounded(
            s.poof()
                .args(["sync", "--no-progress"])
                .arg(source)
                .arg(s.path("dst")),
        );
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(1), "{err}");
        assert!(err.contains(says), "{err}");
        assert!(!err.contains("does not exist"), "{err}");
        assert!(!s.path("dst").exists());
    }
    // With -L the link's file is copied under the link's name, as rclone -L does.
    let out = bounded(
        s.poof()
            .args(["sync", "--no-progress", "-L"])
            .arg(s.path("link"))
            .arg(s.path("dst")),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    run_ok(
        s.rclone()
            .args(["sync", "-L"])
            .arg(s.path("link"))
            .arg(s.path("dst-rclone")),
    );
    assert_eq!(snapshot(&s.path("dst")), snapshot(&s.path("dst-rclone")));
}

/// Not a regression (both already worked): a guard that the FIFO check above leaves a single
/// file's `ls` and `cat` as rclone's.
#[test]
fn ls_and_cat_of_a_single_file_match_rclone() {
    let s = scratch_with_files();
    run_ok(s.rclone().arg("copy").arg(s.path("src")).arg("secret:docs"));
    let local = s.path("src/sub/c.txt").display().to_string();
    for location in [local.as_str(), "secret:docs/sub/c.txt"] {
        let ours = run_ok(s.poof().arg("ls").arg(location));
        let theirs = run_ok(s.rclone().arg("ls").arg(location));
        assert_eq!(ours, theirs, "ls {location}");
        assert_eq!(ours, "        8 c.txt\n", "ls {location}");
        let ours = run_ok(s.poof().arg("cat").arg(location));
        assert_eq!(ours, "charlie\n", "cat {location}");
    }
}

#[test]
fn sync_and_copy_of_a_single_file_match_rclone_and_delete_nothing() {
    let s = scratch_with_files();
    let file = s.path("src/sub/c.txt");
    for command in ["sync", "copy"] {
        // Two folders holding a file of their own: rclone's and poof's destinations.
        let (theirs, ours) = (
            s.path(&format!("{command}-rclone")),
            s.path(&format!("{command}-poof")),
        );
        for dir in [&theirs, &ours] {
            populate(dir, &[("keep.txt", b"the user's\n".to_vec())]);
        }
        run_ok(s.rclone().arg(command).arg(&file).arg(&theirs));
        let out = bounded(
            s.poof()
                .args([command, "--no-progress"])
                .arg(&file)
                .arg(&ours),
        );
        assert!(out.status.success(), "{command}: {}", stderr(&out));
        let expected = snapshot(&theirs);
        assert_eq!(
            expected.keys().collect::<Vec<_>>(),
            ["c.txt", "keep.txt"],
            "what rclone does"
        );
        assert_eq!(snapshot(&ours), expected, "{command}");
    }
    // Into a crypt remote, read back by rclone: the file lands beside what was there.
    run_ok(
        s.rclone()
            .arg("copy")
            .arg(s.path("src/a.txt"))
            .arg("secret:docs"),
    );
    let out = bounded(
        s.poof()
            .args(["sync", "--no-progress"])
            .arg(&file)
            .arg("secret:docs"),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let listed = run_ok(s.rclone().arg("ls").arg("secret:docs"));
    assert_eq!(listed, "        6 a.txt\n        8 c.txt\n");
}

#[test]
fn cat_offset_past_the_end_fails_as_rclone() {
    let s = scratch_with_files();
    run_ok(s.rclone().arg("copy").arg(s.path("src")).arg("secret:docs"));
    // a.txt holds 6 bytes: offset 6 is the end (empty, success), 7 is past it (an error).
    for (offset, fails) in [("6", false), ("7", true), ("1000", true)] {
        let theirs = run(s
            .rclone()
            .args(["cat", "--offset", offset, "secret:docs/a.txt"]));
        assert_eq!(!theirs.status.success(), fails, "rclone --offset {offset}");
        let ours = bounded(
            s.poof()
                .args(["cat", "--offset", offset, "secret:docs/a.txt"]),
        );
        let err = stderr(&ours);
        assert_eq!(
            ours.status.code(),
            Some(i32::from(fails)),
            "{offset}: {err}"
        );
        assert!(ours.stdout.is_empty(), "{offset}");
        if fails {
            assert!(
                err.contains("beyond the end of the file (6 bytes)"),
                "{err}"
            );
        }
    }
    // A negative offset larger than the file reads it all, as rclone.
    let ours = run_ok(
        s.poof()
            .args(["cat", "--offset", "-100", "secret:docs/a.txt"]),
    );
    let theirs = run_ok(
        s.rclone()
            .args(["cat", "--offset", "-100", "secret:docs/a.txt"]),
    );
    assert_eq!(ours, theirs);
    assert_eq!(ours, "alpha\n");
}
