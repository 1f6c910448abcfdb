//! `poof sync`, `poof copy` and `poof cryptcheck` side by side with rclone: what poof writes
//! to a crypt remote (over a local folder and over `rclone serve s3`) passes rclone's
//! cryptcheck and leaves rclone's sync nothing to transfer (same names, contents and
//! modification times), and the other way round; the safety rules hold on real backends.

use std::path::Path;
use std::process::Output;

use crate::harness::s3::S3Server;
use crate::harness::{files_below, pattern, run, run_ok, CryptOpts, Scratch};

/// The fixture tree: block boundaries, nesting, unicode.
const FILES: &[(&str, usize)] = &[
    ("empty", 0),
    ("block.dat", 65536),
    ("dir/big file.txt", 200_000),
    ("dir/sub/日本語.json", 1234),
];

fn write_tree(dir: &Path) {
    for (i, (path, size)) in FILES.iter().enumerate() {
        let full = dir.join(path);
        std::fs::create_dir_all(full.parent().expect("parent")).expect("mkdir");
        std::fs::write(&full, pattern(*size, i as u64 + 7)).expect("write");
    }
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A scratch folder with `src/` written and a crypt remote `c` over `enc/`.
fn local_crypt() -> Scratch {
    let s = Scratch::new();
    write_tree(&s.path("src"));
    let enc = s.path("enc").display().to_string();
    s.write_config(&CryptOpts::default().section("c", &enc));
    s
}

fn poof_sync(s: &Scratch, args: &[&str]) -> Output {
    run(s.poof().arg("sync").arg("--no-progress").args(args))
}

/// rclone agrees that `remote` holds the source: cryptcheck passes, sync has nothing to do.
fn rclone_agrees(s: &Scratch, remote: &str) {
    let src = s.path("src");
    run_ok(s.rclone().arg("cryptcheck").arg(&src).arg(remote));
    let out = run(s.rclone().args(["sync", "-v"]).arg(&src).arg(remote));
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("There was nothing to transfer"),
        "{}",
        stderr(&out)
    );
}

fn sync_round_trip(s: &Scratch, remote: &str) {
    let src = s.path("src").display().to_string();
    let out = poof_sync(s, &[&src, remote]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("Transferred: 4 files"),
        "{}",
        stderr(&out)
    );
    rclone_agrees(s, remote);
    let again = poof_sync(s, &[&src, remote]);
    assert!(
        stderr(&again).contains("Transferred: 0 files (0 bytes), checked: 4"),
        "{}",
        stderr(&again)
    );
    run_ok(s.poof().args(["cryptcheck", "--no-progress", &src, remote]));

    std::fs::write(s.path("src/dir/big file.txt"), b"now short").expect("write");
    std::fs::remove_file(s.path("src/empty")).expect("rm");
    let out = poof_sync(s, &[&src, remote]);
    assert!(
        stderr(&out).contains("Transferred: 1 files (9 bytes), checked: 3, deleted: 1"),
        "{}",
        stderr(&out)
    );
    rclone_agrees(s, remote);
    let back = s.path("back").display().to_string();
    run_ok(s.poof().args(["copy", "--no-progress", remote, &back]));
    assert_eq!(files_below(&s.path("back")), files_below(&s.path("src")));
    for file in files_below(&s.path("src")) {
        let a = std::fs::read(s.path("src").join(&file)).expect("read");
        let b = std::fs::read(s.path("back").join(&file)).expect("read");
        assert!(a == b, "{file} differs after the round trip");
    }
}

#[test]
fn sync_to_local_crypt_matches_rclone() {
    let s = local_crypt();
    sync_round_trip(&s, "c:");
}

/// A scratch folder with `src/` written and a crypt remote `cs` over the bucket of a
/// `rclone serve s3` (keep the server alive).
fn s3_crypt() -> (Scratch, S3Server) {
    let s = Scratch::new();
    write_tree(&s.path("src"));
    let server = S3Server::start(&s.path("s3"), &["bucket"]);
    s.write_config(&format!(
        "{}{}",
        server.section("s3"),
        CryptOpts::default().section("cs", "s3:bucket/enc")
    ));
    (s, server)
}

#[test]
fn sync_to_crypt_over_s3_matches_rclone() {
    let (s, _server) = s3_crypt();
    sync_round_trip(&s, "cs:data");
}

#[test]
fn rclone_upload_needs_no_transfer() {
    let s = local_crypt();
    let src = s.path("src").display().to_string();
    run_ok(s.rclone().arg("sync").arg(&src).arg("c:"));
    let out = poof_sync(&s, &[&src, "c:"]);
    assert!(
        stderr(&out).contains("Transferred: 0 files (0 bytes), checked: 4"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn missing_source_changes_nothing() {
    let s = local_crypt();
    let src = s.path("src").display().to_string();
    run_ok(s.poof().args(["sync", "--no-progress", &src, "c:"]));
    let before = files_below(&s.path("enc"));
    let missing = s.path("nope").display().to_string();
    let out = poof_sync(&s, &[&missing, "c:"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("does not exist"), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("Transferred: 0 files"),
        "{}",
        stderr(&out)
    );
    assert_eq!(files_below(&s.path("enc")), before);
}

#[test]
fn undecryptable_source_name_deletes_nothing() {
    let s = local_crypt();
    let src = s.path("src").display().to_string();
    run_ok(s.poof().args(["sync", "--no-progress", &src, "c:"]));
    std::fs::write(s.path("enc/not-encrypted"), b"junk").expect("write");
    let out_dir = s.path("out");
    std::fs::create_dir_all(&out_dir).expect("mkdir");
    std::fs::write(out_dir.join("extra"), b"keep me").expect("write");
    let out = poof_sync(&s, &["c:", &out_dir.display().to_string()]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("not deleting 1 files because there were errors"),
        "{}",
        stderr(&out)
    );
    assert!(out_dir.join("extra").exists());
}

#[test]
fn dry_run_changes_nothing() {
    let s = local_crypt();
    let src = s.path("src").display().to_string();
    let out = poof_sync(&s, &["--dry-run", &src, "c:"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("NOTICE: block.dat: Skipped copy as --dry-run is set (size 64Ki)"),
        "{}",
        stderr(&out)
    );
    assert!(!s.path("enc").exists());
}

#[test]
fn cryptcheck_finds_damage() {
    let s = local_crypt();
    let src = s.path("src").display().to_string();
    run_ok(s.rclone().arg("sync").arg(&src).arg("c:"));
    let victim = files_below(&s.path("enc"))
        .into_iter()
        .map(|f| s.path("enc").join(f))
        .find(|p| std::fs::metadata(p).map(|m| m.len() > 100).unwrap_or(false))
        .expect("an encrypted file");
    let mut bytes = std::fs::read(&victim).expect("read");
    if let Some(b) = bytes.get_mut(60) {
        *b ^= 1;
    }
    std::fs::write(&victim, bytes).expect("write");
    let out = run(s.poof().args(["cryptcheck", "--no-progress", &src, "c:"]));
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("1 errors while checking"),
        "{}",
        stderr(&out)
    );
}

/// The one cache file of modification times poof keeps for S3 locations in this scratch.
fn mtime_cache_file(s: &Scratch) -> std::path::PathBuf {
    let dir = s.path("cache/poof");
    let files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("entry").path())
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    files.into_iter().next().expect("one file")
}

#[test]
fn s3_mtime_cache_answers_only_while_the_listing_agrees() {
    let (s, _server) = s3_crypt();
    let src = s.path("src").display().to_string();
    let unchanged = |out: &Output| {
        assert!(
            stderr(out).contains("Transferred: 0 files (0 bytes), checked: 4"),
            "{}",
            stderr(out)
        );
    };
    assert!(poof_sync(&s, &[&src, "cs:data"]).status.success());
    // The first re-sync reads each object's time with a HEAD request and remembers it.
    unchanged(&poof_sync(&s, &[&src, "cs:data"]));
    let file = mtime_cache_file(&s);
    let text = std::fs::read_to_string(&file).expect("cache");
    assert_eq!(text.lines().count(), 1 + FILES.len(), "{text}");
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&file).expect("stat").permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    unchanged(&poof_sync(&s, &[&src, "cs:data"]));

    // The listing answers from the cache, without a HEAD request: an entry given another
    // time is believed, and the file it names is sent again.
    let mut lines: Vec<serde_json::Value> = text
        .lines()
        .skip(1)
        .map(|l| serde_json::from_str(l).expect("json line"))
        .collect();
    let json_size = 32 + 16 + 1234;
    let entry = lines
        .iter_mut()
        .find(|l| l[1]["size"] == json_size)
        .expect("the entry of dir/sub/日本語.json");
    let mtime = entry[1]["mtime"].as_i64().expect("ns");
    entry[1]["mtime"] = serde_json::json!(mtime - 3_600_000_000_000);
    let header = text.lines().next().expect("header");
    let rewritten: Vec<String> = std::iter::once(header.to_owned())
        .chain(lines.iter().map(|l| l.to_string()))
        .collect();
    std::fs::write(&file, rewritten.join("\n") + "\n").expect("write cache");
    let out = poof_sync(&s, &[&src, "cs:data"]);
    assert!(
        stderr(&out).contains("Transferred: 1 files (1234 bytes), checked: 4"),
        "{}",
        stderr(&out)
    );
    unchanged(&poof_sync(&s, &[&src, "cs:data"]));

    // rclone sets another time on an object (a copy onto itself: the same ETag, a new
    // Last-Modified): the entry no longer agrees, the object is read again, and poof puts the
    // source's time back. (A second apart, so that Last-Modified moves.)
    std::thread::sleep(std::time::Duration::from_millis(1100));
    run_ok(
        s.rclone()
            .args(["touch", "-t", "2020-01-02T03:04:05", "cs:data/block.dat"]),
    );
    let out = poof_sync(&s, &[&src, "cs:data"]);
    assert!(
        stderr(&out).contains("Transferred: 1 files (65536 bytes), checked: 4"),
        "{}",
        stderr(&out)
    );
    rclone_agrees(&s, "cs:data");
    // A cache file that does not parse is an empty cache.
    std::fs::write(&file, "poof mtime cache 1\n{oops\n").expect("write cache");
    unchanged(&poof_sync(&s, &[&src, "cs:data"]));
}
