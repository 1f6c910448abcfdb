//! Hostile file names on a plain (unencrypted) S3 bucket, against rclone's s3 backend through
//! `rclone serve s3`: poof writes the object keys rclone writes (a control picture without its
//! quote rune, a byte that is not UTF-8 as `‛XX`), and each reads the other's bucket back to
//! the same bytes on disk.
//!
//! Keys with raw control characters (rclone writes TAB, LF, CR and DEL raw, and so does poof:
//! `remote::encoding`'s unit tests hold the keys observed from rclone) are left out here:
//! `rclone serve s3` keeps objects as files of a local folder and, when it reads that folder
//! again, lists such a key by its picture as well (observed: `nl␊x` beside `nl\nx`), so a
//! round trip through it is not stable. A real object store keeps keys as they are.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::process::Output;

use crate::harness::s3::S3Server;
use crate::harness::{byte_tree, run, run_ok, Scratch};

/// The names of the tree, in the top folder and in `sub/`.
const NAMES: &[&[u8]] = &[
    "q\u{240a}uote".as_bytes(),
    "t\u{2409}ab".as_bytes(),
    b"\xffbad",
    b"plain.txt",
];

fn write_tree(root: &Path) {
    for dir in [root.to_path_buf(), root.join("sub")] {
        std::fs::create_dir_all(&dir).unwrap();
        for (i, name) in NAMES.iter().enumerate() {
            let mut body = name.to_vec();
            body.extend_from_slice(format!(" #{i} in {}", dir.display()).as_bytes());
            std::fs::write(dir.join(OsStr::from_bytes(name)), body).unwrap();
        }
    }
}

fn assert_same_tree(want: &Path, got: &Path, what: &str) {
    let (want, got) = (byte_tree(want), byte_tree(got));
    let names = |t: &std::collections::BTreeMap<Vec<u8>, Vec<u8>>| -> Vec<String> {
        t.keys()
            .map(|n| format!("{:?}", String::from_utf8_lossy(n)))
            .collect()
    };
    assert_eq!(names(&want), names(&got), "{what}: names differ");
    assert!(want == got, "{what}: names as bytes or contents differ");
    assert_eq!(want.len(), 2 * NAMES.len(), "{what}");
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn hostile_names_on_plain_s3_round_trip_with_rclone_both_ways() {
    let s = Scratch::new();
    write_tree(&s.path("src"));
    let server = S3Server::start(&s.path("s3"), &["bucket"]);
    s.write_config(&server.section("s3"));
    let unchanged = format!(
        "Transferred: 0 files (0 bytes), checked: {}",
        2 * NAMES.len()
    );

    // poof writes, rclone restores.
    run_ok(
        s.poof()
            .args(["sync", "--no-progress", "--transfers", "4"])
            .arg(s.path("src"))
            .arg("s3:bucket/poof"),
    );
    let listed = run(s.rclone().args(["lsf", "-R", "s3:bucket/poof"]));
    assert!(listed.status.success(), "{}", stderr(&listed));
    let listed = String::from_utf8_lossy(&listed.stdout);
    assert!(listed.contains("sub/q\u{201b}\u{240a}uote\n"), "{listed}");
    assert!(listed.contains("t\u{201b}\u{2409}ab\n"), "{listed}");
    run_ok(
        s.rclone()
            .arg("copy")
            .arg("s3:bucket/poof")
            .arg(s.path("by-rclone")),
    );
    assert_same_tree(&s.path("src"), &s.path("by-rclone"), "poof -> s3 -> rclone");
    let again = run(s
        .poof()
        .args(["sync", "--no-progress", "--transfers", "4"])
        .arg(s.path("src"))
        .arg("s3:bucket/poof"));
    assert!(again.status.success(), "{}", stderr(&again));
    assert!(stderr(&again).contains(&unchanged), "{}", stderr(&again));

    // rclone writes, poof restores.
    run_ok(
        s.rclone()
            .arg("copy")
            .arg(s.path("src"))
            .arg("s3:bucket/rclone"),
    );
    run_ok(
        s.poof()
            .args(["sync", "--no-progress", "--transfers", "4"])
            .arg("s3:bucket/rclone")
            .arg(s.path("by-poof")),
    );
    assert_same_tree(&s.path("src"), &s.path("by-poof"), "rclone -> s3 -> poof");
    let again = run(s
        .poof()
        .args(["sync", "--no-progress", "--transfers", "4"])
        .arg("s3:bucket/rclone")
        .arg(s.path("by-poof")));
    assert!(again.status.success(), "{}", stderr(&again));
    assert!(stderr(&again).contains(&unchanged), "{}", stderr(&again));
}
