//! History of replaced and deleted files (`"history"` in poof.conf) on the local vault and on
//! `rclone serve s3`, through the crypt remote and the plain one: every version a backup
//! replaces or deletes is moved into `poof-history/<run>/<cloud folder>/<path>` and read back by
//! the real rclone, byte for byte; the run records what it wrote; `download --at` restores
//! every past state exactly (of the whole folder or of one path), before and after `forget`;
//! history written by `rclone sync --backup-dir` is read; `"history": false` is a mirror.

use std::path::Path;

use crate::harness::home::{populate, snapshot, Home, Snapshot};
use crate::harness::s3::S3Server;
use crate::harness::{pattern, run, run_ok, write_private, CryptOpts};

/// A configured HOME (the crypt vault, or with `plain` the plain one) with `docs` backed up
/// once, poof.conf's `"history"` set to `history`.
fn backed_up(history: Option<serde_json::Value>, plain: bool) -> Home {
    let h = Home::configured();
    if plain {
        run_ok(h.poof().arg("cryptoggle"));
    }
    let docs = h.home().join("docs");
    populate(
        &docs,
        &[
            ("edited.txt", b"version 1".to_vec()),
            ("deleted.txt", b"deleted later".to_vec()),
            ("sub/same.txt", b"unchanged".to_vec()),
        ],
    );
    h.add_path(&docs, "docs");
    if let Some(history) = history {
        h.set_conf("history", history);
    }
    run_ok(h.poof().arg("backup"));
    h
}

/// Edits one file, deletes one and adds one in `docs`.
fn change(docs: &Path) {
    std::fs::write(docs.join("edited.txt"), b"version 2, longer").unwrap();
    std::fs::remove_file(docs.join("deleted.txt")).unwrap();
    std::fs::write(docs.join("new.txt"), b"added").unwrap();
}

/// Where the cloud folders live, as rclone names it: the crypt remote's root, or the bucket of
/// the plain remote.
fn root(h: &Home) -> String {
    let conf = h.poof_conf();
    match conf["remote"].as_str().unwrap() {
        "poof-crypt" => "poof-crypt:".to_owned(),
        plain => format!("{plain}:{}/", conf["bucket"].as_str().unwrap()),
    }
}

/// The run folders under `poof-history` of the vault, as rclone lists them.
fn runs(h: &Home) -> Vec<String> {
    let out = run(h
        .rclone()
        .args(["lsf", "--dirs-only"])
        .arg(format!("{}poof-history", root(h))));
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| l.trim_end_matches('/').to_owned())
        .collect()
}

#[test]
fn replaced_and_deleted_versions_are_kept_where_rclone_reads_them() {
    for plain in [false, true] {
        kept_where_rclone_reads_them(plain);
    }
}

fn kept_where_rclone_reads_them(plain: bool) {
    // A policy that keeps every state: the runs of this test are seconds apart.
    let h = backed_up(Some(serde_json::json!({})), plain);
    let root = root(&h);
    // The first run replaced nothing; it records the files it wrote (the state before it was
    // empty).
    let first = runs(&h);
    assert_eq!(first.len(), 1, "{first:?}");
    let record = run_ok(h.rclone().arg("cat").arg(format!(
        "{root}poof-history/{}/poof-history-added/docs.json",
        first[0]
    )));
    assert_eq!(
        record,
        "{\"added\":[\"deleted.txt\",\"edited.txt\",\"sub/same.txt\"],\"folder\":\"docs\",\"format\":1}\n"
    );
    let docs = h.home().join("docs");
    change(&docs);
    // No pause: a run in the same second as the last one takes the next second's name, never
    // the last run's folder.
    // A dry run says what would move and moves nothing.
    let dry = run(h.poof().args(["backup", "--dry-run"]));
    let err = String::from_utf8_lossy(&dry.stderr);
    assert!(dry.status.success(), "{err}");
    assert!(
        err.contains("edited.txt: Skipped move of the replaced version into history"),
        "{err}"
    );
    assert!(
        err.contains("deleted.txt: Skipped move into history as --dry-run is set"),
        "{err}"
    );
    assert_eq!(runs(&h), first);

    run_ok(h.poof().args(["backup", "-v"]));
    let runs = runs(&h);
    assert_eq!(runs.len(), 2, "{runs:?}");
    let second = &runs[1];
    assert!(second > &first[0], "{runs:?}");
    let run_dir = format!("{root}poof-history/{second}");
    assert!(
        second.len() == 18 && second.ends_with('Z') && !second.contains(':'),
        "{second}"
    );
    // The real rclone reads every kept version at the documented path.
    let cat = |path: &str| run_ok(h.rclone().arg("cat").arg(format!("{run_dir}/{path}")));
    assert_eq!(cat("docs/edited.txt"), "version 1");
    assert_eq!(cat("docs/deleted.txt"), "deleted later");
    let kept = run_ok(
        h.rclone()
            .args(["lsf", "-R", "--files-only"])
            .arg(format!("{run_dir}/docs")),
    );
    assert_eq!(kept, "deleted.txt\nedited.txt\n");
    // The record of what the run wrote: the new and the replaced file.
    let record: serde_json::Value =
        serde_json::from_str(&cat("poof-history-added/docs.json")).unwrap();
    assert_eq!(
        record,
        serde_json::json!({"format": 1, "folder": "docs", "added": ["edited.txt", "new.txt"]})
    );
    // The current state is the local folder's.
    let current = run_ok(
        h.rclone()
            .args(["lsf", "-R", "--files-only"])
            .arg(format!("{root}docs")),
    );
    assert_eq!(current, "edited.txt\nnew.txt\nsub/same.txt\n");
    assert_eq!(
        run_ok(h.rclone().arg("cat").arg(format!("{root}docs/edited.txt"))),
        "version 2, longer"
    );
}

#[test]
fn with_history_false_a_backup_is_a_mirror() {
    let h = backed_up(Some(serde_json::Value::Bool(false)), false);
    change(&h.home().join("docs"));
    run_ok(h.poof().arg("backup"));
    assert!(runs(&h).is_empty());
    let top = run_ok(h.rclone().args(["lsf", "poof-crypt:"]));
    assert!(!top.contains("poof-history"), "{top}");
}

#[test]
fn history_is_on_by_default_and_config_says_so_once() {
    let h = Home::new();
    let first = run(h.poof().arg("config"));
    let err = String::from_utf8_lossy(&first.stderr);
    assert!(first.status.success(), "{err}");
    assert!(err.contains("history is on"), "{err}");
    assert!(
        err.contains("within 7d, 30 daily, 12 weekly, 24 monthly"),
        "{err}"
    );
    // Written where the user sees and edits it; said once.
    assert_eq!(
        h.poof_conf()["history"],
        serde_json::json!({"keep_within": "7d", "keep_daily": 30, "keep_weekly": 12, "keep_monthly": 24})
    );
    let again = run(h.poof().arg("config"));
    assert!(!String::from_utf8_lossy(&again.stderr).contains("history is on"));
    // A poof.conf without the key (written by the original tool) keeps a history too.
    run_ok(h.poof().arg("econfig"));
    let mut conf = h.poof_conf();
    conf.as_object_mut().unwrap().remove("history");
    crate::harness::write_private(
        &h.confdir().join("poof.conf"),
        &serde_json::to_string_pretty(&conf).unwrap(),
    );
    let docs = h.home().join("docs");
    populate(&docs, &[("a.txt", b"one".to_vec())]);
    h.add_path(&docs, "docs");
    run_ok(h.poof().arg("backup"));
    std::fs::write(docs.join("a.txt"), b"two").unwrap();
    run_ok(h.poof().arg("backup"));
    let runs = runs(&h);
    assert_eq!(runs.len(), 2, "{runs:?}");
    let kept = run_ok(
        h.rclone()
            .arg("cat")
            .arg(format!("poof-crypt:poof-history/{}/docs/a.txt", runs[1])),
    );
    assert_eq!(kept, "one");
}

#[test]
fn a_broken_history_policy_is_one_line_naming_the_key() {
    let h = backed_up(None, false);
    h.set_conf("history", serde_json::json!({"keep_daily": -1}));
    let out = run(h.poof().arg("backup"));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("key \"history\""), "{err}");
    assert!(err.contains("keep_daily must be a whole number"), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
}

/// A configured HOME whose vault is the crypt remote over a bucket of `server` (`rclone serve
/// s3`), with the history kept on the bucket beside the cloud folders.
fn s3_home(server: &S3Server) -> Home {
    let h = Home::configured();
    let crypt = CryptOpts::default();
    let rc = server.section("poof-s3") + &crypt.section("poof-crypt", "poof-s3:bucket");
    write_private(&h.confdir().join("rclone-poof.conf"), &rc);
    h.set_conf("remote", serde_json::json!("poof-crypt"));
    h.set_conf("bucket", serde_json::json!("bucket"));
    h
}

/// Backs `docs` up through four runs of edits, deletes and re-creations (small files and one
/// streamed past the whole-file size), and returns the local tree after each run.
fn four_runs(h: &Home) -> Vec<Snapshot> {
    let docs = h.home().join("docs");
    populate(
        &docs,
        &[
            ("a.txt", b"a1".to_vec()),
            ("b.txt", b"b1".to_vec()),
            ("sub/c.txt", b"c1".to_vec()),
            ("big.bin", pattern(1_500_000, 1)),
        ],
    );
    h.add_path(&docs, "docs");
    // Every state kept: the runs are seconds apart.
    h.set_conf("history", serde_json::json!({}));
    let mut states = Vec::new();
    let backup = || {
        run_ok(h.poof().args(["backup", "--no-progress"]));
        snapshot(&docs)
    };
    states.push(backup());
    std::fs::write(docs.join("a.txt"), b"a2, longer").unwrap();
    std::fs::remove_file(docs.join("b.txt")).unwrap();
    std::fs::write(docs.join("d.txt"), b"d1").unwrap();
    states.push(backup());
    std::fs::write(docs.join("b.txt"), b"b again").unwrap();
    std::fs::remove_dir_all(docs.join("sub")).unwrap();
    std::fs::write(docs.join("big.bin"), pattern(1_600_000, 2)).unwrap();
    states.push(backup());
    std::fs::write(docs.join("a.txt"), b"a3").unwrap();
    std::fs::remove_file(docs.join("d.txt")).unwrap();
    states.push(backup());
    states
}

/// `poof download --at AT --to <fresh folder>` and the tree it restored for `docs`.
fn restore_at(h: &Home, at: &str) -> Snapshot {
    let out = h.home().join(format!("at-{}", at.replace(':', "")));
    run_ok(
        h.poof()
            .args(["download", "--no-progress", "--at", at])
            .arg("--to")
            .arg(&out),
    );
    snapshot(&out.join("docs"))
}

/// Every past state restores exactly, the real rclone restores every archived version, and
/// after `forget` the kept states still restore exactly while the dropped ones are refused.
fn states_restore_exactly(h: &Home) {
    let states = four_runs(h);
    let runs = runs(h);
    assert_eq!(runs.len(), 4, "{runs:?}");
    for (run, state) in runs.iter().zip(&states) {
        assert_eq!(&restore_at(h, run), state, "--at {run}");
    }
    // Times in RFC 3339 name the last run started by then; before the first run, the state
    // before it (an empty folder: history was on from the first backup).
    let first: jiff::Timestamp = to_rfc3339(&runs[0]).parse().unwrap();
    let later = first
        .checked_add(jiff::SignedDuration::from_millis(500))
        .unwrap();
    assert_eq!(restore_at(h, &later.to_string()), states[0]);
    let earlier = first
        .checked_sub(jiff::SignedDuration::from_secs(1))
        .unwrap();
    assert!(restore_at(h, &earlier.to_string()).is_empty());
    // The real rclone restores each archived version: run N kept the files of state N-1 that
    // it replaced or deleted, byte for byte.
    let root = root(h);
    for (i, run) in runs.iter().enumerate().skip(1) {
        let out = h.home().join(format!("rclone-{run}"));
        run_ok(
            h.rclone()
                .arg("copy")
                .arg(format!("{root}poof-history/{run}/docs"))
                .arg(&out),
        );
        let kept = snapshot(&out);
        assert!(!kept.is_empty(), "{run}");
        for (path, (bytes, _)) in &kept {
            assert_eq!(
                Some(bytes),
                states[i - 1].get(path).map(|v| &v.0),
                "{run}/{path}"
            );
        }
    }
    // Forget all but the two newest states: they still restore exactly; the others are
    // refused by name, and rclone no longer lists the run folders no kept state needs.
    let out = run_ok(h.poof().args(["forget", "--keep-last", "2"]));
    assert!(out.contains(&format!("keep  {}", runs[3])), "{out}");
    assert!(out.contains(&format!("drop  {}", runs[1])), "{out}");
    for i in [2, 3] {
        assert_eq!(
            restore_at(h, &runs[i]),
            states[i],
            "--at {} after forget",
            runs[i]
        );
    }
    let refused = run(h
        .poof()
        .args(["download", "--at", &runs[1], "--to"])
        .arg(h.home().join("refused")));
    let err = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(1), "{err}");
    assert!(err.contains("was forgotten"), "{err}");
    let left = self::runs(h);
    assert_eq!(left, runs[2..], "{out}");
    // The current state only: no old version is left.
    run_ok(h.poof().args(["forget", "--keep-last", "1"]));
    assert_eq!(restore_at(h, &runs[3]), states[3]);
    let files = run_ok(
        h.rclone()
            .args(["lsf", "-R", "--files-only"])
            .arg(format!("{root}poof-history")),
    );
    assert!(
        files
            .lines()
            .all(|f| f.contains("/poof-history-added/") || f == "poof-history-forgotten.json"),
        "versions left after --keep-last 1: {files}"
    );
}

/// `2026-11-29T060000Z` as RFC 3339.
fn to_rfc3339(run: &str) -> String {
    format!("{}:{}:{}Z", &run[..13], &run[13..15], &run[15..17])
}

#[test]
fn every_past_state_restores_exactly_from_the_local_vault() {
    states_restore_exactly(&Home::configured());
}

#[test]
fn every_past_state_restores_exactly_from_s3() {
    let scratch = crate::harness::Scratch::new();
    let server = S3Server::start(&scratch.path("s3"), &["bucket"]);
    states_restore_exactly(&s3_home(&server));
}

#[test]
fn history_written_by_rclone_backup_dir_is_restored() {
    let h = Home::configured();
    let states = four_runs(&h);
    let docs = h.home().join("docs");
    // rclone syncs a change, keeping what it replaces and deletes where poof's next run would.
    let run_name = "2099-01-01T000000Z";
    std::fs::write(docs.join("a.txt"), b"a by rclone").unwrap();
    std::fs::remove_file(docs.join("b.txt")).unwrap();
    run_ok(
        h.rclone()
            .arg("sync")
            .arg(&docs)
            .arg("poof-crypt:docs")
            .arg("--backup-dir")
            .arg(format!("poof-crypt:poof-history/{run_name}/docs")),
    );
    // The state before rclone's run is poof's last one, exactly; rclone's run is said to have
    // no record of what it added.
    let out = h.home().join("before-rclone");
    let restored = run(h
        .poof()
        .args([
            "download",
            "--no-progress",
            "--at",
            "2098-12-31T23:59:59Z",
            "--to",
        ])
        .arg(&out));
    let err = String::from_utf8_lossy(&restored.stderr);
    assert!(restored.status.success(), "{err}");
    assert!(
        err.contains(&format!(
            "the run {run_name} kept versions without a record"
        )),
        "{err}"
    );
    assert_eq!(snapshot(&out.join("docs")), states[3]);
    assert_eq!(restore_at(&h, run_name), snapshot(&docs));
}

#[test]
fn download_of_one_path_at_a_time_changes_nothing_else() {
    let h = Home::configured();
    let states = four_runs(&h);
    let runs = runs(&h);
    let docs = h.home().join("docs");
    let before = snapshot(&docs);
    // A local path inside the folder: a.txt as after the second run, nothing else touched.
    let a = docs.join("a.txt");
    run_ok(
        h.poof()
            .args(["download", "--no-progress", "--at", &runs[1]])
            .arg(&a),
    );
    let mut want = before.clone();
    want.insert("a.txt".into(), states[1]["a.txt"].clone());
    assert_eq!(snapshot(&docs), want);
    // A cloud path to a folder gone since: restored with its files, the rest untouched.
    run_ok(
        h.poof()
            .args(["download", "--no-progress", "--at", &runs[0], "docs/sub"]),
    );
    want.insert("sub/c.txt".into(), states[0]["sub/c.txt"].clone());
    assert_eq!(snapshot(&docs), want);
    // A path that did not exist then is refused, naming it; a path outside every folder too.
    let out = run(h.poof().args(["download", "--at", &runs[0], "docs/d.txt"]));
    assert!(String::from_utf8_lossy(&out.stderr).contains("does not exist"));
    assert_eq!(out.status.code(), Some(4));
    let out = run(h.poof().args(["download", "--at", &runs[0], "elsewhere/x"]));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("is neither inside a folder"), "{err}");
    assert_eq!(snapshot(&docs), want);
}
