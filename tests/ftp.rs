//! FTP remotes against pyftpdlib (user and password, MLSD and MFMT offered): crypt both ways
//! with the real rclone (bytes and modification times), `rclone check --download`, re-syncs
//! that transfer nothing, a file larger than one whole-file read streamed, rclone's ftp names
//! (a last space, `␠`) both ways on a plain remote, poof's own `backup` / `download` /
//! `verify` (history on: RNFR/RNTO), explicit and implicit FTPS, a server without MFMT (sizes compared,
//! a ranged read) or without MLSD (refused), poof killed during an upload (its temporary
//! files go once stale), a server stopped before and during a run, and a wrong password.

use std::time::{Duration, Instant};

use poof::remote::local::is_temp_name;

use crate::harness::ftp::{Pyftpd, PASS};
use crate::harness::home::{populate, snapshot, Home};
use crate::harness::{
    byte_tree, files_below, killed_mid_upload, lines_starting, pattern, run, run_ok,
    server_dies_mid_restore, write_private, CryptOpts, Scratch,
};
use crate::webdav::by_second;

/// A scratch folder whose rclone config has `ftp` (pyftpdlib serving `served/`) and `c`, a
/// crypt remote over `ftp:enc`. Keep the server alive.
fn scratch() -> (Scratch, Pyftpd) {
    let scratch = Scratch::new();
    let server = Pyftpd::start(&scratch.path("served"));
    let crypt = CryptOpts::default().section("c", "ftp:enc");
    scratch.write_config(&[server.section("ftp"), crypt].concat());
    (scratch, server)
}

/// Files with tricky names, one of them over 1 MiB (streamed, never read whole), and an
/// empty one.
fn files(seed: u64) -> Vec<(&'static str, Vec<u8>)> {
    let sized: [(&'static str, usize); 5] = [
        ("notes.txt", 18),
        ("a b/100% & more?.txt", 3_000),
        ("\u{65e5}\u{672c}/\u{e9}t\u{e9}.txt", 700),
        ("big/large.bin", 1_500_000),
        ("empty.txt", 0),
    ];
    sized
        .into_iter()
        .zip(seed..)
        .map(|((name, len), seed)| (name, pattern(len, seed)))
        .collect()
}

fn transferred_nothing(out: &str) -> bool {
    out.contains("Transferred: 0 files")
}

/// Runs a poof command that must succeed, and returns its stderr.
fn poof_ok(cmd: &mut std::process::Command) -> String {
    let out = run(cmd);
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{err}");
    err
}

/// `rclone check --download` of `args` (a local folder and a remote, either way round).
fn rclone_check(s: &Scratch, args: &[&dyn AsRef<std::ffi::OsStr>]) {
    let mut cmd = s.rclone();
    cmd.args(["check", "--download"]);
    for arg in args {
        cmd.arg(arg);
    }
    run_ok(&mut cmd);
}

/// `poof ls remote` fails with one line, which is returned.
fn ls_fails_in_one_line(s: &Scratch, remote: &str) -> String {
    let out = run(s.poof().arg("ls").arg(remote));
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!out.status.success(), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    err
}

/// No temporary file of poof under the served folder.
fn no_temporaries(s: &Scratch) {
    let served = files_below(&s.path("served"));
    assert!(!served.iter().any(|p| p.contains(".partial")), "{served:?}");
}

#[test]
fn crypt_both_ways_with_rclone_keeps_bytes_and_times() {
    let (s, _server) = scratch();
    let (mine, theirs) = (s.path("src"), s.path("src2"));
    populate(&mine, &files(1));
    populate(&theirs, &files(7));

    // poof writes; rclone checks, restores the same bytes and times, and finds nothing to do.
    poof_ok(s.poof().arg("sync").arg(&mine).arg("c:docs"));
    rclone_check(&s, &[&mine, &"c:docs"]);
    let by_rclone = s.path("rclone-out");
    s.rclone_ok("copy", "c:docs", &by_rclone);
    assert_eq!(by_second(&by_rclone), by_second(&mine));
    let rclone_again = run(s.rclone().args(["sync", "-v"]).arg(&mine).arg("c:docs"));
    let said = String::from_utf8_lossy(&rclone_again.stderr);
    assert!(said.contains("There was nothing to transfer"), "{said}");

    // rclone writes; poof restores the same bytes and times.
    s.rclone_ok("sync", &theirs, "c:other");
    let by_poof = s.path("poof-out");
    poof_ok(s.poof().arg("sync").arg("c:other").arg(&by_poof));
    assert_eq!(by_second(&by_poof), by_second(&theirs));

    // A second poof run either way transfers nothing and leaves no temporary file.
    for (from, to) in [
        (mine.as_os_str(), "c:docs".as_ref()),
        ("c:other".as_ref(), by_poof.as_os_str()),
    ] {
        let said = poof_ok(s.poof().arg("sync").arg(from).arg(to));
        assert!(transferred_nothing(&said), "{said}");
    }
    no_temporaries(&s);
}

#[test]
fn plain_names_both_ways_with_rclone() {
    let (s, _server) = scratch();
    let src = s.path("src");
    let mut tricky = files(3);
    tricky.push(("trailing space ", b"space".to_vec()));
    tricky.push(("dir /pic\u{2420}", b"picture".to_vec()));
    tricky.push(("t\tab.txt", b"tab".to_vec()));
    populate(&src, &tricky);
    s.rclone_ok("copy", &src, "ftp:byrclone");
    let out = s.path("poof-out");
    poof_ok(s.poof().args(["sync", "ftp:byrclone"]).arg(&out));
    assert_eq!(byte_tree(&out), byte_tree(&src));
    poof_ok(s.poof().args(["sync"]).arg(&src).arg("ftp:bypoof"));
    let back = s.path("rclone-out");
    s.rclone_ok("copy", "ftp:bypoof", &back);
    assert_eq!(byte_tree(&back), byte_tree(&src));
    // Both wrote the same names on the server, and rclone finds nothing to do.
    assert_eq!(
        files_below(&s.path("served/bypoof")),
        files_below(&s.path("served/byrclone"))
    );
    run_ok(s.rclone().args(["check"]).arg(&src).arg("ftp:bypoof"));
}

#[test]
fn backup_download_verify_over_crypt_on_ftp() {
    let h = Home::new();
    let server = Pyftpd::start(&h.scratch.path("served"));
    std::fs::create_dir_all(h.confdir()).unwrap();
    write_private(
        &h.confdir().join("rclone-poof.conf"),
        &(server.section("poof-ftp")
            + &CryptOpts::default().section("poof-crypt", "poof-ftp:vault")),
    );
    let rclone_conf = h.confdir().join("rclone-poof.conf").display().to_string();
    let conf = serde_json::json!({
        "bucket": "vault", "remote": "poof-crypt", "paths": {}, "confFile": rclone_conf,
    });
    write_private(&h.confdir().join("poof.conf"), &conf.to_string());
    let docs = h.scratch.path("docs");
    populate(&docs, &files(11));
    h.add_path(&docs, "docs");
    run_ok(h.poof().arg("backup"));
    // A changed file: the old version moves to the history (RNFR/RNTO on the server).
    std::fs::write(docs.join("notes.txt"), b"buy bread\n").unwrap();
    run_ok(h.poof().arg("backup"));
    let history = run_ok(h.rclone().args(["lsf", "-R", "poof-crypt:poof-history"]));
    assert!(history.contains("docs/notes.txt"), "{history}");
    let now = by_second(&docs);
    std::fs::remove_dir_all(&docs).unwrap();
    std::fs::create_dir(&docs).unwrap();
    run_ok(h.poof().arg("download"));
    assert_eq!(by_second(&docs), now);
    let verified = run_ok(h.poof().arg("verify"));
    assert!(!verified.contains("FAILED"), "{verified}");
}

/// Crypt both ways with rclone over a TLS `server` (its sections `ftps`, and `ftps12` with
/// `disable_tls13`): poof writes through `ftps` and rclone checks, rclone writes and poof
/// restores bytes and times, poof writes through `ftps12` too, and a re-sync sends nothing.
fn tls_both_ways(s: &Scratch, server: &Pyftpd, seed: u64) {
    // rclone v1.75.2 loses the end of its uploads to pyftpdlib over TLS 1.3 (observed: "sizes
    // differ"), so rclone writes through `ftps12` (disable_tls13, which poof honours too).
    let tls12 = server.section("ftps12").trim_end().to_owned() + "\ndisable_tls13 = true\n\n";
    s.write_config(
        &(server.section("ftps")
            + &tls12
            + &CryptOpts::default().section("c", "ftps:enc")
            + &CryptOpts::default().section("c12", "ftps12:enc")),
    );
    let src = s.path("src");
    populate(&src, &files(seed));
    poof_ok(s.poof().args(["sync"]).arg(&src).arg("c:docs"));
    rclone_check(s, &[&src, &"c12:docs"]);
    s.rclone_ok("copy", &src, "c12:byrclone");
    let out = s.path("poof-out");
    poof_ok(s.poof().args(["sync", "c:byrclone"]).arg(&out));
    assert_eq!(by_second(&out), by_second(&src));
    poof_ok(s.poof().args(["sync"]).arg(&src).arg("c12:docs12"));
    rclone_check(s, &[&src, &"c12:docs12"]);
    let again = poof_ok(s.poof().args(["sync"]).arg(&src).arg("c:docs"));
    assert!(transferred_nothing(&again), "{again}");
}

#[test]
fn explicit_tls_both_ways_with_rclone() {
    let s = Scratch::new();
    let server = Pyftpd::start_tls(&s.path("served"), &s.path("keys"));
    tls_both_ways(&s, &server, 21);
    // The self-signed certificate is refused without no_check_certificate, in one line.
    s.write_config(
        &server
            .section("ftps")
            .replace("no_check_certificate = true\n", ""),
    );
    let err = ls_fails_in_one_line(&s, "ftps:");
    assert!(err.contains("certificate"), "{err}");
}

#[test]
fn implicit_tls_both_ways_with_rclone() {
    let s = Scratch::new();
    let server = Pyftpd::start_implicit_tls(&s.path("served"), &s.path("keys"));
    tls_both_ways(&s, &server, 23);
    // `tls = true` against a plain FTP server fails the TLS handshake: one line, at once.
    let plain = Pyftpd::start(&s.path("plain"));
    let section = plain
        .section("ftps")
        .replace("user =", "tls = true\nno_check_certificate = true\nuser =");
    s.write_config(&section);
    let err = ls_fails_in_one_line(&s, "ftps:");
    assert!(err.contains("cannot connect to the FTP server"), "{err}");
}

/// A modification time long past poof's staleness bound for temporary files.
fn long_ago() -> filetime::FileTime {
    filetime::FileTime::from_unix_time(1_000_000_000, 0)
}

#[test]
fn killed_upload_leaves_nothing_partial_and_its_temporary_goes_once_stale() {
    let (s, _server) = scratch();
    let src = killed_mid_upload(&s, "c:killed");
    // What the kill left: poof's temporary files, aged past the bound; the next run that
    // meets them deletes them.
    let served = s.path("served");
    let temps: Vec<std::path::PathBuf> = files_below(&served)
        .iter()
        .filter(|rel| is_temp_name(rel.rsplit('/').next().unwrap_or_default()))
        .map(|rel| served.join(rel))
        .collect();
    println!("ftp: {} temporaries left by the kill", temps.len());
    for temp in &temps {
        filetime::set_file_mtime(temp, long_ago()).unwrap();
    }
    poof_ok(s.poof().arg("sync").arg(&src).arg("c:killed"));
    assert!(temps.iter().all(|t| !t.exists()), "{temps:?}");
}

#[test]
fn server_dying_mid_restore_deletes_nothing_and_leaves_nothing_partial() {
    let (s, mut server) = scratch();
    server_dies_mid_restore(&s, "c:dies", || server.kill());
}

#[test]
fn stopped_server_gives_one_clear_line_and_deletes_nothing() {
    let (s, mut server) = scratch();
    let src = s.path("src");
    populate(&src, &files(5));
    poof_ok(s.poof().args(["sync"]).arg(&src).arg("c:docs"));
    let restore = s.path("restore");
    populate(&restore, &[("mine.txt", b"keep me".to_vec())]);
    let (source_before, restore_before) = (snapshot(&src), snapshot(&restore));
    server.kill();
    // Both ways: a restore from the stopped server and an upload to it.
    let runs: [(&dyn AsRef<std::ffi::OsStr>, &dyn AsRef<std::ffi::OsStr>); 2] =
        [(&"c:docs", &restore), (&src, &"c:docs")];
    for (from, to) in runs {
        let started = Instant::now();
        let out = run(s.poof().arg("sync").arg(from).arg(to));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            !out.status.success() && started.elapsed() < Duration::from_secs(20),
            "{err}"
        );
        let errors = lines_starting(&err, "poof: error:");
        assert_eq!(errors.len(), 1, "{err}");
        assert!(
            errors[0].contains("cannot connect to the FTP server"),
            "{err}"
        );
    }
    assert_eq!(snapshot(&src), source_before);
    assert_eq!(snapshot(&restore), restore_before);
}

#[test]
fn without_mfmt_files_are_compared_by_size_as_rclone_does() {
    let s = Scratch::new();
    let server = Pyftpd::start_without(&s.path("served"), &["MFMT"]);
    let crypt = CryptOpts::default().section("c", "ftp:enc");
    s.write_config(&[server.section("ftp"), crypt].concat());
    let src = s.path("src");
    populate(&src, &files(31));
    poof_ok(s.poof().arg("sync").arg(&src).arg("c:docs"));
    rclone_check(&s, &[&src, &"c:docs"]);
    // The server keeps its own times: neither poof nor rclone copies again.
    let said = poof_ok(s.poof().arg("sync").arg(&src).arg("c:docs"));
    assert!(transferred_nothing(&said), "{said}");
    let rclone_again = run(s.rclone().args(["sync", "-v"]).arg(&src).arg("c:docs"));
    let said = String::from_utf8_lossy(&rclone_again.stderr);
    assert!(said.contains("There was nothing to transfer"), "{said}");
    // A ranged read (REST) of the large file, through the crypt layer.
    let out = run(s.poof().args([
        "cat",
        "--offset",
        "1000000",
        "--count",
        "70000",
        "c:docs/big/large.bin",
    ]));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let whole = std::fs::read(src.join("big/large.bin")).unwrap();
    assert!(out.stdout == whole[1_000_000..1_070_000]);
}

#[test]
fn a_server_without_mlsd_is_refused_in_one_line() {
    let s = Scratch::new();
    let server = Pyftpd::start_without(&s.path("served"), &["MLSD", "MLST"]);
    s.write_config(&server.section("ftp"));
    let err = ls_fails_in_one_line(&s, "ftp:");
    assert!(err.contains("does not offer MLSD"), "{err}");
}

#[test]
fn wrong_password_is_one_line_without_the_password() {
    let s = Scratch::new();
    let server = Pyftpd::start(&s.path("served"));
    let wrong = "not-the-password-42";
    s.write_config(&server.section_with("ftp", wrong));
    let err = ls_fails_in_one_line(&s, "ftp:");
    assert!(err.contains("cannot log in"), "{err}");
    assert!(!err.contains(wrong) && !err.contains(PASS), "{err}");
}

#[test]
fn backend_moves_reads_ranges_and_cleans_only_its_stale_temporaries() {
    use poof::remote::{open_backend_with_warnings, Location};
    let (s, _server) = scratch();
    let plain = s.path("served/plain");
    std::fs::create_dir_all(&plain).unwrap();
    for (name, bytes) in [("kept.txt", "kept"), ("old.txt", "0123456789")] {
        std::fs::write(plain.join(name), bytes).unwrap();
    }
    // A killed upload of poof long ago, and a user's file that only looks like one.
    let (stale, lookalike) = (poof::remote::local::temp_name(), ".poof-0-0.partial");
    for name in [stale.as_str(), lookalike] {
        std::fs::write(plain.join(name), b"x").unwrap();
        filetime::set_file_mtime(plain.join(name), long_ago()).unwrap();
    }
    let config = poof::config::rclone::RcloneConfig::load(&s.config()).unwrap();
    let opened =
        open_backend_with_warnings(&config, &Location::parse("ftp:plain").unwrap()).unwrap();
    let backend = opened.backend;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        use tokio::io::AsyncReadExt;
        let mut part = Vec::new();
        let mut stream = backend.open("old.txt", Some(3..7)).await.unwrap();
        stream.read_to_end(&mut part).await.unwrap();
        assert_eq!(part, b"3456");
        // A missing source fails and deletes nothing; a move replaces the file there.
        assert!(backend.rename("missing.txt", "kept.txt").await.is_err());
        backend.rename("old.txt", "sub/new.txt").await.unwrap();
        backend.rename("sub/new.txt", "kept.txt").await.unwrap();
        let listed = backend.list("", true).await.unwrap().unwrap();
        let names: Vec<&str> = listed.entries.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(names, [lookalike, "kept.txt", "sub"]);
        assert_eq!(backend.cleanup().await.unwrap(), 1);
    });
    assert_eq!(
        std::fs::read(plain.join("kept.txt")).unwrap(),
        b"0123456789"
    );
    assert!(!plain.join("old.txt").exists() && !plain.join(&stale).exists());
    assert!(plain.join(lookalike).exists());
}
