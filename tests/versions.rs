//! `poof versions`: after backups that edit, delete and re-create files with the history kept,
//! every version of a file (or of the files below a folder) is listed with the run that kept
//! it, its size and its time, the current one first; the runs are the run folders the real
//! rclone lists and each version's bytes are the ones rclone reads there. Local paths and
//! `<cloud folder>/<path>` name the same files, through the crypt remote and the plain one.

use std::path::Path;

use serde_json::{json, Value};

use crate::harness::home::{populate, Home};
use crate::harness::{run_expect, run_ok};

/// The tab in a file name: shown in rclone's Standard form, `␉`.
const TAB_DISK: &str = "t\tab.txt";
const TAB_SHOWN: &str = "t\u{2409}ab.txt";

/// Writes `bytes` to `rel` below `dir` with the modification time `secs` (Unix seconds).
fn put(dir: &Path, rel: &str, bytes: &[u8], secs: i64) {
    let path = dir.join(rel);
    std::fs::write(&path, bytes).unwrap();
    filetime::set_file_mtime(&path, filetime::FileTime::from_unix_time(secs, 0)).unwrap();
}

/// `secs` in UTC, RFC 3339 to the second, as `poof versions` prints it.
fn utc(secs: i64) -> String {
    jiff::Timestamp::from_second(secs)
        .unwrap()
        .strftime("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

/// Where rclone finds the history: `poof-history` below the crypt remote's root, or in the
/// plain remote's bucket.
fn history_dir(h: &Home) -> String {
    let conf = h.poof_conf();
    let remote = conf["remote"].as_str().unwrap();
    let bucket = conf["bucket"].as_str().filter(|_| remote != "poof-crypt");
    format!(
        "{remote}:{}poof-history",
        bucket.map(|b| format!("{b}/")).unwrap_or_default()
    )
}

/// Four backups of `docs` with the whole history kept; returns the HOME and the run folders,
/// oldest first, as rclone lists them. The versions of `x.txt`: "one" (time 1_000, written by
/// run 1), "version two" (2_000, run 2), "third version!" (3_000, run 3), deleted by run 4.
/// `gone.txt` is deleted by run 2 and re-created by run 3; `sub/y.txt` never changes; the file
/// with a tab in its name is edited by run 2.
fn four_runs(plain: bool) -> (Home, Vec<String>) {
    let h = Home::configured();
    if plain {
        run_ok(h.poof().arg("cryptoggle"));
    }
    let docs = h.home().join("docs");
    populate(&docs, &[("sub/y.txt", b"same".to_vec())]);
    put(&docs, "x.txt", b"one", 1_000);
    put(&docs, "gone.txt", b"gone soon", 1_100);
    put(&docs, TAB_DISK, b"tab", 1_200);
    h.add_path(&docs, "docs");
    h.set_conf("history", json!({}));
    run_ok(h.poof().arg("backup"));
    put(&docs, "x.txt", b"version two", 2_000);
    std::fs::remove_file(docs.join("gone.txt")).unwrap();
    put(&docs, TAB_DISK, b"tab, edited", 2_200);
    run_ok(h.poof().arg("backup"));
    put(&docs, "x.txt", b"third version!", 3_000);
    put(&docs, "gone.txt", b"back", 3_100);
    run_ok(h.poof().arg("backup"));
    std::fs::remove_file(docs.join("x.txt")).unwrap();
    run_ok(h.poof().arg("backup"));
    let listed = run_ok(h.rclone().args(["lsf", "--dirs-only"]).arg(history_dir(&h)));
    let runs: Vec<String> = listed
        .lines()
        .map(|l| l.trim_end_matches('/').to_owned())
        .collect();
    assert_eq!(runs.len(), 4, "{runs:?}");
    (h, runs)
}

/// The JSON of one version.
fn version(run: Option<&str>, size: usize, secs: i64) -> Value {
    json!({"run": run, "current": run.is_none(), "size": size, "mtime": utc(secs)})
}

/// `poof versions --json ARGS`, one parsed object per line.
fn versions_json(h: &Home, args: &[&std::ffi::OsStr]) -> Vec<Value> {
    let out = run_ok(h.poof().arg("versions").arg("--json").args(args));
    out.lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn versions_through_the_crypt_remote() {
    every_version_listed(false);
}

#[test]
fn versions_through_the_plain_remote() {
    every_version_listed(true);
}

fn every_version_listed(plain: bool) {
    let (h, runs) = four_runs(plain);
    let run = |k: usize| Some(runs[k - 1].as_str());
    let docs = h.home().join("docs");
    // x.txt: deleted by run 4; each version is the one the run replaced or deleted.
    let x = versions_json(&h, &["docs/x.txt".as_ref()]);
    let expected = json!({"folder": "docs", "path": "x.txt", "versions": [
        version(run(4), 14, 3_000),
        version(run(3), 11, 2_000),
        version(run(2), 3, 1_000),
    ]});
    assert_eq!(x, std::slice::from_ref(&expected));
    // rclone reads those bytes where the run folders keep them.
    let history = history_dir(&h);
    for (k, bytes) in [(4, "third version!"), (3, "version two"), (2, "one")] {
        let path = format!("{history}/{}/docs/x.txt", runs[k - 1]);
        assert_eq!(run_ok(h.rclone().arg("cat").arg(path)), bytes);
    }
    // The local path (the file is gone from the disk), absolute or relative, names the same.
    assert_eq!(
        versions_json(&h, &[docs.join("x.txt").as_os_str()]),
        std::slice::from_ref(&expected)
    );
    let relative = run_ok(
        h.poof()
            .current_dir(&docs)
            .args(["versions", "--json", "x.txt"]),
    );
    assert_eq!(relative, format!("{expected}\n"));
    // `..` is resolved by the names alone (the file is gone: nothing to resolve it against).
    std::fs::create_dir_all(docs.join("sub")).unwrap();
    let up = run_ok(
        h.poof()
            .current_dir(docs.join("sub"))
            .args(["versions", "--json", "../x.txt"]),
    );
    assert_eq!(up, format!("{expected}\n"));

    // The lines: a deleted file says so.
    let text = run_ok(h.poof().args(["versions", "docs/x.txt"]));
    assert_eq!(
        text,
        format!(
            "docs/x.txt  (deleted: no current version)\n  {}  {}  14 B\n  {}  {}  11 B\n  {}  {}  3 B\n",
            runs[3],
            utc(3_000),
            runs[2],
            utc(2_000),
            runs[1],
            utc(1_000)
        )
    );

    // A folder lists the files below it: the re-created file has its current version first.
    let gone = json!({"folder": "docs", "path": "gone.txt", "versions": [
        version(None, 4, 3_100),
        version(run(2), 9, 1_100),
    ]});
    let tab = json!({"folder": "docs", "path": TAB_SHOWN, "versions": [
        version(None, 11, 2_200),
        version(run(2), 3, 1_200),
    ]});
    let all = versions_json(&h, &["docs".as_ref()]);
    let paths: Vec<&str> = all.iter().map(|f| f["path"].as_str().unwrap()).collect();
    assert_eq!(paths, ["gone.txt", "sub/y.txt", TAB_SHOWN, "x.txt"]);
    assert_eq!(all[0], gone);
    assert_eq!(all[1]["versions"].as_array().unwrap().len(), 1);
    assert_eq!(all[1]["versions"][0]["current"], true);
    assert_eq!(all[2], tab);
    assert_eq!(all[3], expected);
    // Without a path: every folder (poof's config folder is one); the local folder is the
    // cloud folder.
    let every = versions_json(&h, &[]);
    let (docs_files, others): (Vec<Value>, Vec<Value>) =
        every.into_iter().partition(|f| f["folder"] == "docs");
    assert_eq!(docs_files, all);
    assert!(
        others.iter().all(|f| f["folder"] == "poof-config"),
        "{others:?}"
    );
    assert!(
        others.iter().any(|f| f["path"] == "poof.conf"),
        "{others:?}"
    );
    assert_eq!(versions_json(&h, &[docs.as_os_str()]), all);
    let sub = versions_json(&h, &[docs.join("sub").as_os_str()]);
    assert_eq!(sub, [all[1].clone()]);
    // A local name with a control character is found under its Standard name, printed safely.
    assert_eq!(versions_json(&h, &[docs.join(TAB_DISK).as_os_str()]), [tab]);
    let text = run_ok(h.poof().arg("versions").arg(docs.join(TAB_DISK)));
    assert!(
        text.starts_with(&format!("docs/{TAB_SHOWN}\n  current ")),
        "{text:?}"
    );
    assert!(!text.contains('\t'), "{text:?}");

    // A path with no version at all, or outside every folder: one line, exit 1.
    for path in ["docs/nope.txt", "docs/su"] {
        let (out, err) = run_expect(h.poof().args(["versions", path]), 1);
        assert_eq!(out, "");
        assert_eq!(
            err,
            format!("poof: error: no version of {path:?} in docs (neither current nor in poof-history)\n")
        );
    }
    let (_, err) = run_expect(h.poof().args(["versions", "elsewhere/x.txt"]), 1);
    assert!(err.contains("neither inside a folder of"), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
}
