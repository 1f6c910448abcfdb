//! Azure Blob (`type = azureblob`, against Azurite) and Google Cloud Storage (`type = google
//! cloud storage`, against fake-gcs-server) both ways with the real rclone: a crypt remote over
//! each store (bytes and modification times, a file streamed past the 1 MiB whole-file size,
//! `rclone cryptcheck`, re-syncs that transfer nothing), plain containers with the names each
//! rclone backend encodes (`\`, a trailing `.`, control characters, bytes that are not UTF-8),
//! poof's own `backup` / `download` / `verify` with history (whose moves are server-side
//! copies), the store dying mid-run (a clear error, nothing deleted) and poof killed mid-upload
//! (nothing partial under a real name).

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, SystemTime};

use crate::harness::azurite::{Azurite, Served};
use crate::harness::gcs::FakeGcs;
use crate::harness::home::{populate, snapshot, Home};
use crate::harness::{
    assert_contains, killed_mid_upload, pattern, run, run_expect, run_ok, server_dies_mid_restore,
    write_private, CryptOpts, Scratch,
};
use crate::s3_names::poof_sync;

/// One store under test: a scratch folder whose rclone config has the plain remote over the
/// server and `c`, a crypt remote over `<root>/enc`.
struct Store {
    s: Scratch,
    served: Served,
    /// The plain remote's container or bucket, e.g. `az:cont`.
    root: &'static str,
    /// The plain remote's section, for other config files.
    section: String,
}

impl Store {
    fn azure() -> Store {
        let (s, server) = Azurite::scratch();
        let section = server.section("az");
        Store::with_crypt(s, server.served, "az:cont", section)
    }

    fn gcs() -> Store {
        let (s, server) = FakeGcs::scratch();
        let section = server.section("gcs");
        Store::with_crypt(s, server.served, "gcs:bkt", section)
    }

    fn with_crypt(s: Scratch, served: Served, root: &'static str, section: String) -> Store {
        let crypt = CryptOpts::default().section("c", &format!("{root}/enc"));
        s.write_config(&format!("{section}{crypt}"));
        Store {
            s,
            served,
            root,
            section,
        }
    }

    /// `<root>/<rel>` on the plain remote.
    fn plain(&self, rel: &str) -> String {
        format!("{}/{rel}", self.root)
    }
}

/// Every file below `root`: its name as bytes -> its bytes and modification time.
fn timed_tree(root: &Path) -> BTreeMap<Vec<u8>, (Vec<u8>, SystemTime)> {
    crate::harness::byte_tree(root)
        .into_iter()
        .map(|(rel, bytes)| {
            let path = root.join(OsStr::from_bytes(&rel));
            let mtime = std::fs::metadata(path).unwrap().modified().unwrap();
            (rel, (bytes, mtime))
        })
        .collect()
}

fn assert_same(want: &Path, got: &Path, what: &str) {
    let (want, got) = (timed_tree(want), timed_tree(got));
    let names = |t: &BTreeMap<Vec<u8>, (Vec<u8>, SystemTime)>| -> Vec<String> {
        t.keys()
            .map(|n| format!("{:?}", String::from_utf8_lossy(n)))
            .collect()
    };
    assert_eq!(names(&want), names(&got), "{what}: names differ");
    for (name, (bytes, mtime)) in &want {
        let (got_bytes, got_mtime) = &got[name];
        let shown = String::from_utf8_lossy(name);
        assert!(bytes == got_bytes, "{what}: contents of {shown:?} differ");
        assert_eq!(mtime, got_mtime, "{what}: modification time of {shown:?}");
    }
}

/// Files with nanosecond times, one past the 1 MiB whole-file size (streamed), one past the
/// upload part size of Azure (4 MiB) and GCS (8 MiB), an empty one.
fn write_tree(root: &Path, names: &[&[u8]]) {
    let mut files: Vec<(Vec<u8>, usize)> = vec![
        (b"big.bin".to_vec(), 1_500_000),
        (b"parts.bin".to_vec(), 8_500_000),
        (b"empty".to_vec(), 0),
        ("dir/\u{65e5}\u{672c}.txt".as_bytes().to_vec(), 70_000),
    ];
    for name in names {
        files.push((name.to_vec(), 100));
        files.push(([b"sub/", *name].concat(), 10));
    }
    for (i, (rel, size)) in files.iter().enumerate() {
        let path = root.join(OsStr::from_bytes(rel));
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, pattern(*size, 40 + i as u64)).unwrap();
        let t = SystemTime::UNIX_EPOCH
            + Duration::new(
                1_650_000_000 + i as u64 * 3_600,
                123_456_789 * (i as u32 % 3),
            );
        let file = std::fs::File::options().write(true).open(&path).unwrap();
        file.set_modified(t).unwrap();
    }
}

/// Names each store's rclone backend encodes in its keys.
const HOSTILE: &[&[u8]] = &[
    b"back\\slash",
    b"trail.",
    "full\u{ff3c}width".as_bytes(),
    "dot\u{ff0e}".as_bytes(),
    b"t\tab",
    b"nl\nx",
    b"esc\x1bx",
    "q\u{240a}uote".as_bytes(),
    b"\xffbad",
    b"plain.txt",
];

/// Transferred nothing: the summary line of a re-sync of `files` files.
fn unchanged(err: &str, files: usize) {
    assert_contains(
        err,
        &format!("Transferred: 0 files (0 bytes), checked: {files}"),
    );
}

/// `rclone cryptcheck` of `src` against `c:poof` matches all `files`: every object keeps an
/// MD5, as rclone's own uploads do, so none goes unchecked.
fn cryptcheck_every_file(s: &Scratch, files: usize) {
    let (_, err) = run_expect(
        s.rclone()
            .arg("cryptcheck")
            .arg(s.path("src"))
            .arg("c:poof"),
        0,
    );
    assert_contains(&err, &format!("{files} matching files"));
    assert!(!err.contains("could not be checked"), "{err}");
}

fn crypt_both_ways(store: Store) {
    let s = &store.s;
    write_tree(&s.path("src"), &[b"plain.txt", b"back\\slash", b"trail."]);
    let files = timed_tree(&s.path("src")).len();

    // poof writes, rclone restores and checks.
    poof_sync(s, s.path("src"), "c:poof");
    s.rclone_ok("copy", "c:poof", s.path("by-rclone"));
    assert_same(&s.path("src"), &s.path("by-rclone"), "poof -> rclone");
    cryptcheck_every_file(s, files);
    unchanged(&poof_sync(s, s.path("src"), "c:poof"), files);
    // A large file replaced in place (no history here) keeps its MD5 too.
    std::fs::write(s.path("src/parts.bin"), pattern(8_500_000, 7)).unwrap();
    poof_sync(s, s.path("src"), "c:poof");
    cryptcheck_every_file(s, files);
    let (_, err) = run_expect(
        s.rclone()
            .args(["sync", "-v"])
            .arg(s.path("src"))
            .arg("c:poof"),
        0,
    );
    assert_contains(&err, "There was nothing to transfer");

    // rclone writes, poof restores.
    s.rclone_ok("sync", s.path("src"), "c:rclone");
    poof_sync(s, "c:rclone", s.path("by-poof"));
    assert_same(&s.path("src"), &s.path("by-poof"), "rclone -> poof");
    unchanged(&poof_sync(s, "c:rclone", s.path("by-poof")), files);
    unchanged(&poof_sync(s, s.path("src"), "c:rclone"), files);
}

fn plain_names_both_ways(store: Store) {
    let s = &store.s;
    write_tree(&s.path("src"), HOSTILE);
    let files = timed_tree(&s.path("src")).len();
    poof_sync(s, s.path("src"), store.plain("poof"));
    s.rclone_ok("copy", store.plain("poof"), s.path("by-rclone"));
    assert_same(&s.path("src"), &s.path("by-rclone"), "poof -> rclone");
    let (_, err) = run_expect(
        s.rclone()
            .args(["sync", "-v"])
            .arg(s.path("src"))
            .arg(store.plain("poof")),
        0,
    );
    assert_contains(&err, "There was nothing to transfer");

    s.rclone_ok("copy", s.path("src"), store.plain("rclone"));
    poof_sync(s, store.plain("rclone"), s.path("by-poof"));
    assert_same(&s.path("src"), &s.path("by-poof"), "rclone -> poof");
    unchanged(&poof_sync(s, s.path("src"), store.plain("rclone")), files);
}

/// poof's own commands on a HOME whose vault is a crypt remote over the store, history on (the
/// default): a replaced file's old version moves into history by a server-side copy.
fn backup_download_verify(store: Store) {
    let h = Home::configured();
    let crypt = CryptOpts::default();
    let bucket = store.root.split_once(':').map_or("", |(_, b)| b);
    let plain = store.root.split_once(':').map_or("", |(r, _)| r);
    let rc =
        store.section.clone() + &crypt.section("poof-crypt", &format!("{plain}:{bucket}/vault"));
    write_private(&h.confdir().join("rclone-poof.conf"), &rc);
    h.set_conf("remote", serde_json::json!("poof-crypt"));
    h.set_conf("bucket", serde_json::json!(bucket));
    let docs = h.home().join("docs");
    populate(
        &docs,
        &[
            ("a.txt", b"a1".to_vec()),
            ("sub/b.txt", b"b1".to_vec()),
            ("big.bin", pattern(1_200_000, 7)),
        ],
    );
    h.add_path(&docs, "docs");
    let out = run(h.poof().arg("backup"));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let first = snapshot(&docs);
    std::fs::write(docs.join("a.txt"), b"a2 replaced").unwrap();
    std::fs::write(docs.join("big.bin"), pattern(1_100_000, 8)).unwrap();
    let out = run(h.poof().arg("backup"));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let second = snapshot(&docs);
    assert_ne!(first, second);

    // The old versions are in the history, as rclone lists it.
    let listed = run_ok(
        Command::new(crate::harness::rclone_bin())
            .arg("--config")
            .arg(h.confdir().join("rclone-poof.conf"))
            .args(["lsf", "-R", "--files-only", "poof-crypt:"]),
    );
    let olds = listed.lines().filter(|l| l.ends_with("a.txt")).count();
    assert!(olds >= 2, "no old version of a.txt kept: {listed}");

    std::fs::remove_dir_all(&docs).unwrap();
    std::fs::create_dir(&docs).unwrap();
    run_ok(h.poof().arg("download"));
    assert_eq!(snapshot(&docs), second);
    let out = run_ok(h.poof().arg("verify"));
    assert_contains(&out, "crypt keys decrypt existing backup? - OK");
}

/// The store dies while poof restores from it ([`server_dies_mid_restore`]).
fn store_dies_mid_run(mut store: Store) {
    server_dies_mid_restore(&store.s, "c:poof", || store.served.kill());
}

/// poof killed with SIGKILL mid-upload leaves no partial object under a real name: the store
/// commits an object only when its upload ends.
fn store_killed_mid_upload(store: Store) {
    killed_mid_upload(&store.s, "c:killed");
}

/// The tests of one store, each on a server of its own.
macro_rules! store_tests {
    ($store:ident: $($name:ident => $check:ident),+ $(,)?) => {
        mod $store {
            $(
                #[test]
                fn $name() {
                    super::$check(super::Store::$store());
                }
            )+
        }
    };
}

store_tests!(azure:
    crypt_both_ways_with_rclone => crypt_both_ways,
    plain_names_both_ways_with_rclone => plain_names_both_ways,
    backup_download_verify_with_history => backup_download_verify,
    dies_mid_run => store_dies_mid_run,
    killed_mid_upload => store_killed_mid_upload,
);

store_tests!(gcs:
    crypt_both_ways_with_rclone => crypt_both_ways,
    plain_names_both_ways_with_rclone => plain_names_both_ways,
    backup_download_verify_with_history => backup_download_verify,
    dies_mid_run => store_dies_mid_run,
    killed_mid_upload => store_killed_mid_upload,
);
