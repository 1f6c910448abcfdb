//! History of replaced and deleted files (`"history"` in poof.conf) on the local vault, through
//! the crypt remote and the plain one: every version a backup replaces or deletes is moved into
//! `poof-history/<run>/<cloud folder>/<path>` and read back by the real rclone, byte for byte;
//! the run records what it wrote; without the key a backup stays a mirror.

use std::path::Path;

use crate::harness::home::{populate, Home};
use crate::harness::{run, run_ok};

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
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("key \"history\""), "{err}");
    assert!(err.contains("keep_daily must be a whole number"), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
}
