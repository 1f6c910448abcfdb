//! Hostile configurations on a fresh temporary HOME, driving the `poof` binary: cloud folder
//! names that overlap (one folder's backup would delete another's), names and buckets that
//! escape the vault or hold control characters, the same folder added twice under two names,
//! and config paths that name a device, a FIFO or a huge file. Each is refused with exit
//! status 1 and one clear line, before anything is read without end, transferred or deleted.

use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

use crate::harness::home::{populate, snapshot, Home};
use crate::harness::{run, run_bounded, run_ok, write_private};

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Asserts exit status 2 (a config error) and exactly one stderr line, an error containing
/// every `needle`.
fn assert_one_line_error(out: &Output, needles: &[&str]) {
    let err = stderr(out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 1, "not one line:\n{err}");
    assert!(lines[0].starts_with("poof: error: "), "{err}");
    for needle in needles {
        assert!(lines[0].contains(needle), "{needle:?} not in {err}");
    }
}

/// `poof config --add DIR --name NAME`.
fn add(h: &Home, dir: impl AsRef<std::ffi::OsStr>, name: &str) -> Command {
    let mut cmd = h.poof();
    cmd.arg("config")
        .arg("--add")
        .arg(dir)
        .arg("--name")
        .arg(name);
    cmd
}

fn poof_conf_text(h: &Home) -> String {
    std::fs::read_to_string(h.confdir().join("poof.conf")).unwrap()
}

/// A HOME with `poof config` run and two folders `x/docs` and `y/docs` holding one file each.
fn two_folders() -> (Home, std::path::PathBuf, std::path::PathBuf) {
    let h = Home::after(&["config"]);
    let x = h.home().join("x/docs");
    let y = h.home().join("y/docs");
    populate(&x, &[("a.txt", b"x".to_vec())]);
    populate(&y, &[("b.txt", b"y".to_vec())]);
    (h, x, y)
}

#[test]
fn config_add_refuses_cloud_folders_that_overlap() {
    let (h, x, y) = two_folders();
    run_ok(&mut add(&h, &x, "n1"));
    let before = poof_conf_text(&h);
    let xs = x.display().to_string();
    let ys = y.display().to_string();
    // Inside, around, the same (after `a//b` and a trailing `/` are normalised), another case.
    for name in ["n1/sub", "n1//sub/", "n1/", "N1"] {
        let out = run(&mut add(&h, &y, name));
        assert_one_line_error(&out, &[&xs, &ys, "n1"]);
        assert_eq!(
            poof_conf_text(&h),
            before,
            "--name {name:?} changed poof.conf"
        );
    }
    let z = h.home().join("z");
    std::fs::create_dir_all(&z).unwrap();
    let out = run(&mut add(&h, &z, "x"));
    assert!(out.status.success(), "{}", stderr(&out));
    let out = run(&mut add(&h, &y, "x/docs"));
    assert_one_line_error(&out, &[&ys, "inside", z.to_str().unwrap()]);
    // poof's own cloud folder for the config folder is taken like any other.
    let out = run(&mut add(&h, &y, "poof-config/y"));
    assert_one_line_error(&out, &["poof-config", &ys]);
}

#[test]
fn config_add_refuses_poof_config_even_when_the_config_folder_is_not_listed() {
    let (h, x, _) = two_folders();
    run_ok(h.poof().arg("config").arg("--remove").arg(h.confdir()));
    let before = poof_conf_text(&h);
    let out = run(&mut add(&h, &x, "poof-config/x"));
    assert_one_line_error(&out, &["poof-config", &x.display().to_string()]);
    assert_eq!(poof_conf_text(&h), before);
}

#[test]
fn config_add_refuses_names_that_escape_or_hold_control_characters() {
    let (h, x, _) = two_folders();
    let before = poof_conf_text(&h);
    for name in [
        "x\ny",
        "tab\there",
        "esc\u{1b}[2J",
        "nel\u{85}",
        "..",
        "a/../b",
        "./a",
        "/abs",
        "",
        "//",
    ] {
        let out = run(&mut add(&h, &x, name));
        assert_one_line_error(&out, &["cloud folder name"]);
        assert_eq!(
            poof_conf_text(&h),
            before,
            "--name {name:?} changed poof.conf"
        );
    }
}

#[test]
fn adding_the_same_folder_again_never_renames_its_cloud_folder() {
    let (h, x, _) = two_folders();
    run_ok(&mut add(&h, &x, "n1"));
    let before = poof_conf_text(&h);
    // The same name (with a trailing `/` on the path): a no-op that says so.
    let out = run(&mut add(&h, format!("{}/", x.display()), "n1"));
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("nothing changed"), "{}", stderr(&out));
    assert_eq!(poof_conf_text(&h), before);
    // Another name: refused, saying how to rename on purpose.
    let out = run(&mut add(&h, &x, "n2"));
    assert_one_line_error(&out, &[&x.display().to_string(), "\"n1\"", "--remove"]);
    assert_eq!(poof_conf_text(&h), before);
}

/// The case: `y/docs` backed up to `n1/sub`, then `x/docs` added to `n1` by hand while
/// `y/docs` is not mounted. A backup of `n1` would delete `n1/sub` (1 of 4 files, which the
/// guard allows) and `y/docs`'s only copy would be gone. The run refuses before anything.
#[test]
fn hand_edited_nested_cloud_folders_are_refused_before_anything_is_deleted() {
    let h = Home::configured();
    let x = h.home().join("x/docs");
    let y = h.home().join("y/docs");
    populate(
        &x,
        &[
            ("one", b"1".to_vec()),
            ("two", b"2".to_vec()),
            ("three", b"3".to_vec()),
        ],
    );
    populate(&y, &[("only-copy.txt", b"precious".to_vec())]);
    h.add_path(&y, "n1/sub");
    run_ok(h.poof().arg("backup").arg("--no-progress"));
    // The same files as x/docs already in n1, written by the real rclone.
    run_ok(h.rclone().arg("copy").arg(&x).arg("poof-crypt:n1"));
    h.add_path(&x, "n1");
    std::fs::remove_dir_all(&y).unwrap();
    let vault = snapshot(&h.vault());
    for cmd in ["backup", "upload", "download", "verify"] {
        let out = run(h.poof().arg(cmd));
        assert_one_line_error(
            &out,
            &[
                "\"n1/sub\"",
                "inside",
                &x.display().to_string(),
                &y.display().to_string(),
            ],
        );
        assert_eq!(
            snapshot(&h.vault()),
            vault,
            "`poof {cmd}` changed the vault"
        );
    }
    assert!(x.join("one").is_file(), "upload deleted a local file");
    let cat = run_ok(h.rclone().arg("cat").arg("poof-crypt:n1/sub/only-copy.txt"));
    assert_eq!(cat, "precious");
}

#[test]
fn a_bucket_with_a_dot_dot_part_is_refused() {
    let h = Home::after(&["cconfig"]);
    let docs = h.home().join("docs");
    populate(&docs, &[("f", b"f".to_vec())]);
    h.add_path(&docs, "docs");
    // The plain remote is an alias of the vault folder: `..` would put the backup beside it.
    for bucket in ["..", "."] {
        let mut conf = h.poof_conf();
        conf["bucket"] = serde_json::Value::from(bucket);
        conf["remote"] = serde_json::Value::from("poof-backup");
        write_private(
            &h.confdir().join("poof.conf"),
            &serde_json::to_string_pretty(&conf).unwrap(),
        );
        let out = run(h.poof().arg("backup").arg("--no-progress"));
        assert_one_line_error(&out, &["\"bucket\"", "'..'"]);
        let beside: Vec<_> = std::fs::read_dir(h.vault().parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(beside, ["vault"], "a backup was written beside the vault");
    }
}

#[test]
fn a_config_path_naming_a_device_fifo_or_huge_file_is_refused_in_one_line() {
    let h = Home::after(&["cconfig"]);
    let limit = Duration::from_secs(30);
    let fifo = h.scratch.path("fifo");
    run_ok(Command::new("mkfifo").arg(&fifo));
    let huge = h.scratch.path("huge.conf");
    std::fs::File::create(&huge)
        .unwrap()
        .set_len(17 << 20)
        .unwrap();
    std::fs::set_permissions(&huge, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    for (flag, cmd) in [
        ("--rcloneconf", "cconfig"),
        ("--rcloneconf", "backup"),
        ("--poofconf", "config"),
        ("--poofconf", "backup"),
    ] {
        for (path, needle) in [
            (Path::new("/dev/zero"), "not a regular file"),
            (fifo.as_path(), "not a regular file"),
            (huge.as_path(), "too large"),
        ] {
            let out = run_bounded(h.poof().arg(flag).arg(path).arg(cmd), limit);
            assert_one_line_error(&out, &[&path.display().to_string(), needle]);
            assert!(!stderr(&out).contains("chmod"), "{}", stderr(&out));
        }
    }
}
