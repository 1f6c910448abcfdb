//! HTTP remotes against `rclone serve http` (read-only index pages): `ls`, `lsjson`, `cat`,
//! and `sync` from a plain and a crypt remote over http restore exactly what rclone wrote into
//! the served folder; a write to http is refused.

use crate::harness::home::populate;
use crate::harness::webdav::{Protocol, Served};
use crate::harness::{byte_tree, pattern, run, run_ok, CryptOpts, Scratch};
use crate::webdav::by_second;

#[test]
fn plain_and_crypt_over_http_restore_what_rclone_wrote() {
    let s = Scratch::new();
    let src = s.path("src");
    populate(
        &src,
        &[
            ("notes.txt", b"remember the milk\n".to_vec()),
            ("a b/100% & more?.txt", pattern(3_000, 1)),
            ("a b/h#sh;semi=1.bin", pattern(10, 2)),
            ("\u{65e5}\u{672c}/big.bin", pattern(1_200_000, 3)),
            ("empty.txt", Vec::new()),
        ],
    );
    // rclone fills the folder first (plain and crypt), then it is served.
    let served = s.path("served");
    s.write_config(
        &CryptOpts::default().section("local-crypt", &served.join("enc").display().to_string()),
    );
    s.rclone_ok("copy", &src, served.join("plain"));
    s.rclone_ok("copy", &src, "local-crypt:");
    let server = Served::start(&served, Protocol::Http);
    s.write_config(&(server.section("h") + &CryptOpts::default().section("hc", "h:enc")));

    let ls = run_ok(s.poof().args(["ls", "h:plain"]));
    let rclone_ls = run_ok(s.rclone().args(["ls", "h:plain"]));
    let sorted = |t: &str| {
        let mut v: Vec<String> = t.lines().map(|l| l.trim().to_owned()).collect();
        v.sort();
        v
    };
    assert_eq!(sorted(&ls), sorted(&rclone_ls));
    let json = run_ok(s.poof().args(["lsjson", "-R", "h:plain"]));
    assert!(json.contains("\"Path\":\"a b/h#sh;semi=1.bin\""), "{json}");
    let cat = run_ok(s.poof().args(["cat", "h:plain/notes.txt"]));
    assert_eq!(cat, "remember the milk\n");

    let plain = s.path("plain-out");
    let out = run(s.poof().args(["sync", "h:plain"]).arg(&plain));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(by_second(&plain), by_second(&src));
    let crypt = s.path("crypt-out");
    let out = run(s.poof().args(["sync", "hc:"]).arg(&crypt));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(by_second(&crypt), by_second(&src));
    let again = run(s.poof().args(["sync", "hc:"]).arg(&crypt));
    let err = String::from_utf8_lossy(&again.stderr);
    assert!(
        again.status.success() && err.contains("Transferred: 0 files"),
        "{err}"
    );
}

#[test]
fn writes_to_http_are_refused() {
    let s = Scratch::new();
    let served = s.path("served");
    std::fs::create_dir_all(served.join("plain")).unwrap();
    std::fs::write(served.join("plain/old.txt"), b"old").unwrap();
    let server = Served::start(&served, Protocol::Http);
    s.write_config(&server.section("h"));
    let src = s.path("src");
    populate(&src, &[("new.txt", b"new".to_vec())]);
    let before = byte_tree(&served);
    let out = run(s.poof().args(["sync"]).arg(&src).arg("h:plain"));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{err}");
    // Refused as a whole before anything is listed, in one line.
    assert!(err.contains("is read-only (an http remote"), "{err}");
    assert_eq!(
        err.lines().filter(|l| l.contains("read-only")).count(),
        1,
        "{err}"
    );
    assert_eq!(byte_tree(&served), before);
}
