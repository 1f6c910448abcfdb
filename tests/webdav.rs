//! WebDAV remotes against `rclone serve webdav` (vendor `rclone`, user and password): crypt
//! both ways with the real rclone (bytes and modification times), `rclone check --download`,
//! re-syncs that transfer nothing, a file larger than one whole-file read streamed, tricky
//! names on a plain remote both ways, poof's own `backup` / `download` / `verify` (history on:
//! server-side MOVE), a server stopped under a run, poof killed mid-upload (nothing partial
//! under a real name, stale temporaries removed later), the server dying mid-restore, and a
//! wrong password.

use std::path::Path;
use std::time::{Duration, SystemTime};

use poof::remote::local::is_temp_name;
use poof::remote::webdav::STALE_AFTER;

use crate::harness::home::{populate, snapshot};
use crate::harness::webdav::{Protocol, Served, PASS};
use crate::harness::{
    byte_tree, files_below, killed_mid_upload, pattern, rclone_bin, run, run_ok,
    server_dies_mid_restore, write_private, CryptOpts, Scratch,
};

/// A scratch folder whose rclone config has `dav` (webdav over a served folder `served/`) and
/// `c`, a crypt remote over `dav:enc`. Keep the server alive.
fn scratch() -> (Scratch, Served) {
    let s = Scratch::new();
    let server = Served::start(&s.path("served"), Protocol::Webdav);
    s.write_config(&(server.section("dav") + &CryptOpts::default().section("c", "dav:enc")));
    (s, server)
}

/// Files with tricky names, one of them over 1 MiB (streamed, never read whole).
fn files(seed: u64) -> Vec<(&'static str, Vec<u8>)> {
    vec![
        ("notes.txt", b"remember the milk\n".to_vec()),
        ("a b/100% & more?.txt", pattern(3_000, seed)),
        ("a b/h#sh;semi=1+2.bin", pattern(10, seed + 1)),
        ("\u{65e5}\u{672c}/\u{e9}t\u{e9}.txt", pattern(700, seed + 2)),
        ("big/large.bin", pattern(1_500_000, seed + 3)),
        ("empty.txt", Vec::new()),
    ]
}

/// Every file with its bytes and its modification time to the second (what WebDAV keeps).
pub fn by_second(root: &Path) -> Vec<(String, Vec<u8>, u64)> {
    snapshot(root)
        .into_iter()
        .map(|(path, (bytes, mtime))| {
            let secs = mtime
                .duration_since(SystemTime::UNIX_EPOCH)
                .unwrap_or(Duration::ZERO)
                .as_secs();
            (path, bytes, secs)
        })
        .collect()
}

fn transferred_nothing(out: &str) -> bool {
    out.contains("Transferred: 0 files")
}

#[test]
fn crypt_both_ways_with_rclone_keeps_bytes_and_times() {
    let (s, _server) = scratch();
    let src = s.path("src");
    populate(&src, &files(1));

    // poof writes, rclone checks and restores.
    let out = run(s.poof().args(["sync"]).arg(&src).arg("c:docs"));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    run_ok(
        s.rclone()
            .args(["check", "--download"])
            .arg(&src)
            .arg("c:docs"),
    );
    let restored = s.path("rclone-out");
    s.rclone_ok("copy", "c:docs", &restored);
    assert_eq!(by_second(&restored), by_second(&src));
    let again = run(s.poof().args(["sync"]).arg(&src).arg("c:docs"));
    let err = String::from_utf8_lossy(&again.stderr);
    assert!(again.status.success() && transferred_nothing(&err), "{err}");
    let rclone_again = run(s.rclone().args(["sync", "-v"]).arg(&src).arg("c:docs"));
    let err = String::from_utf8_lossy(&rclone_again.stderr);
    assert!(err.contains("There was nothing to transfer"), "{err}");

    // rclone writes, poof restores; a re-sync transfers nothing.
    let src2 = s.path("src2");
    populate(&src2, &files(7));
    s.rclone_ok("sync", &src2, "c:other");
    let out2 = s.path("poof-out");
    let res = run(s.poof().args(["sync", "c:other"]).arg(&out2));
    assert!(
        res.status.success(),
        "{}",
        String::from_utf8_lossy(&res.stderr)
    );
    assert_eq!(by_second(&out2), by_second(&src2));
    let again = run(s.poof().args(["sync", "c:other"]).arg(&out2));
    let err = String::from_utf8_lossy(&again.stderr);
    assert!(again.status.success() && transferred_nothing(&err), "{err}");
    // No temporary file is left on the server.
    let left: Vec<String> = crate::harness::files_below(&s.path("served"))
        .into_iter()
        .filter(|p| p.contains(".partial"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn plain_tricky_names_both_ways_with_rclone() {
    let (s, _server) = scratch();
    let src = s.path("src");
    let mut tricky = files(3);
    tricky.push(("t\tab.txt", b"tab".to_vec()));
    tricky.push(("q\u{240a}uote.txt", b"picture".to_vec()));
    tricky.push(("%41%2F.txt", b"percent".to_vec()));
    populate(&src, &tricky);
    std::fs::write(
        src.join(std::ffi::OsStr::new(
            <std::ffi::OsStr as std::os::unix::ffi::OsStrExt>::from_bytes(b"bad\xffname"),
        )),
        b"not utf-8",
    )
    .unwrap();
    s.rclone_ok("copy", &src, "dav:byrclone");
    let out = s.path("poof-out");
    let res = run(s.poof().args(["sync", "dav:byrclone"]).arg(&out));
    assert!(
        res.status.success(),
        "{}",
        String::from_utf8_lossy(&res.stderr)
    );
    assert_eq!(byte_tree(&out), byte_tree(&src));
    let res = run(s.poof().args(["sync"]).arg(&src).arg("dav:bypoof"));
    assert!(
        res.status.success(),
        "{}",
        String::from_utf8_lossy(&res.stderr)
    );
    let back = s.path("rclone-out");
    s.rclone_ok("copy", "dav:bypoof", &back);
    assert_eq!(byte_tree(&back), byte_tree(&src));
    // Both wrote the same names on the server.
    assert_eq!(
        crate::harness::files_below(&s.path("served/bypoof")),
        crate::harness::files_below(&s.path("served/byrclone"))
    );
}

#[test]
fn backup_download_verify_over_crypt_on_webdav() {
    let scratch = Scratch::new();
    let server = Served::start(&scratch.path("served"), Protocol::Webdav);
    let confdir = scratch.path("conf");
    std::fs::create_dir_all(&confdir).unwrap();
    let rc =
        server.section("poof-dav") + &CryptOpts::default().section("poof-crypt", "poof-dav:vault");
    write_private(&confdir.join("rclone-poof.conf"), &rc);
    let docs = scratch.path("docs");
    let first = populate(&docs, &files(11));
    let conf = serde_json::json!({
        "bucket": "vault",
        "confFile": confdir.join("rclone-poof.conf").display().to_string(),
        "paths": { docs.display().to_string(): "docs" },
        "remote": "poof-crypt",
    });
    write_private(&confdir.join("poof.conf"), &conf.to_string());
    let poof = || {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_poof"));
        cmd.arg("--confdir").arg(&confdir);
        cmd
    };
    let ok = |cmd: &mut std::process::Command| {
        let out = run(cmd);
        assert!(
            out.status.success(),
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    ok(poof().arg("backup"));
    // A changed file: the old version moves to the history (a MOVE on the server).
    std::fs::write(docs.join("notes.txt"), b"buy bread\n").unwrap();
    ok(poof().arg("backup"));
    let history = run_ok(
        std::process::Command::new(rclone_bin())
            .arg("--config")
            .arg(confdir.join("rclone-poof.conf"))
            .args(["lsf", "-R", "poof-crypt:poof-history"]),
    );
    assert!(history.contains("docs/notes.txt"), "{history}");
    let now = snapshot(&docs);
    assert_ne!(now, first);
    std::fs::remove_dir_all(&docs).unwrap();
    std::fs::create_dir(&docs).unwrap();
    ok(poof().arg("download"));
    let restored: Vec<_> = by_second(&docs);
    assert_eq!(restored, by_second_of(&now));
    let out = ok(poof().arg("verify"));
    assert!(!out.contains("FAILED"), "{out}");
}

/// [`by_second`] of a snapshot taken earlier.
fn by_second_of(snap: &crate::harness::home::Snapshot) -> Vec<(String, Vec<u8>, u64)> {
    snap.iter()
        .map(|(p, (b, t))| {
            let secs = t.duration_since(SystemTime::UNIX_EPOCH).unwrap().as_secs();
            (p.clone(), b.clone(), secs)
        })
        .collect()
}

#[test]
fn stopped_server_gives_one_clear_line_and_deletes_nothing() {
    let (s, mut server) = scratch();
    let src = s.path("src");
    populate(&src, &files(5));
    run_ok(s.poof().args(["sync"]).arg(&src).arg("c:docs"));
    let dest = s.path("restore");
    populate(&dest, &[("mine.txt", b"keep me".to_vec())]);
    server.kill();
    let start = std::time::Instant::now();
    let out = run(s.poof().args(["sync", "c:docs"]).arg(&dest));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(start.elapsed() < Duration::from_secs(20), "{err}");
    assert!(err.contains("cannot connect to the server"), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert_eq!(std::fs::read(dest.join("mine.txt")).unwrap(), b"keep me");
    // Uploading to the stopped server fails the same way, and the source is untouched.
    let out = run(s.poof().args(["sync"]).arg(&src).arg("c:docs"));
    assert!(!out.status.success());
    assert_eq!(snapshot(&src).len(), files(5).len());
}

#[test]
fn killed_mid_upload_leaves_nothing_partial_and_stale_temporaries_go() {
    let (s, mut server) = scratch();
    killed_mid_upload(&s, "c:killed");
    // A temporary file the kill left behind (when the server kept the interrupted PUT) goes
    // with the first run that meets it once it is older than poof's staleness bound.
    let served = s.path("served");
    let stale = SystemTime::now() - STALE_AFTER - Duration::from_secs(3600);
    let mut temps = 0;
    for rel in files_below(&served) {
        if is_temp_name(rel.rsplit('/').next().unwrap()) {
            filetime::set_file_mtime(served.join(&rel), stale.into()).unwrap();
            temps += 1;
        }
    }
    println!("webdav: {temps} temporaries left by the kill");
    // A new server: the old one cached the listing with the times before the change.
    server.kill();
    let server = Served::start(&served, Protocol::Webdav);
    s.write_config(&(server.section("dav") + &CryptOpts::default().section("c", "dav:enc")));
    run_ok(
        s.poof()
            .args(["sync", "--no-progress"])
            .arg(s.path("killed-src"))
            .arg("c:killed"),
    );
    let left: Vec<String> = files_below(&served)
        .into_iter()
        .filter(|rel| is_temp_name(rel.rsplit('/').next().unwrap()))
        .collect();
    assert!(left.is_empty(), "stale temporaries stayed: {left:?}");
}

#[test]
fn server_dying_mid_restore_deletes_nothing_and_leaves_nothing_partial() {
    let (s, mut server) = scratch();
    server_dies_mid_restore(&s, "c:dies", || server.kill());
}

#[test]
fn wrong_password_is_one_line_without_the_password() {
    let s = Scratch::new();
    let server = Served::start(&s.path("served"), Protocol::Webdav);
    let wrong = "not-the-password-42";
    s.write_config(&server.section_with("dav", wrong));
    let out = run(s.poof().args(["ls", "dav:"]));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("401"), "{err}");
    assert!(!err.contains(wrong) && !err.contains(PASS), "{err}");
}
