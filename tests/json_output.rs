//! The JSON poof prints for scripts, held to golden files (`tests/golden/`): the `--json`
//! summary of `backup`, `upload` and `sync`, `poof status --json`, and `--log-format json` log
//! lines. Times, durations and scratch paths are replaced by placeholders before comparing;
//! every other field name and value is what a script reads. `POOF_UPDATE_GOLDEN=1` rewrites the
//! files (then review the diff: a renamed or removed field needs a new `schema`).

use std::path::Path;

use serde_json::Value;

use crate::harness::home::Home;
use crate::harness::{run, run_ok};

/// `value` with run-dependent fields as placeholders: `started`, `seconds`, `next_backup`,
/// and `home` (the scratch HOME) in every string.
fn normalized(mut value: Value, home: &Path) -> Value {
    fn walk(value: &mut Value, home: &str) {
        match value {
            Value::Object(map) => {
                for (key, field) in map.iter_mut() {
                    match key.as_str() {
                        "started" | "next_backup" if field.is_string() => {
                            *field = Value::from("<time>");
                        }
                        "seconds" => *field = Value::from(0),
                        _ => walk(field, home),
                    }
                }
            }
            Value::Array(items) => items.iter_mut().for_each(|v| walk(v, home)),
            Value::String(text) => *text = text.replace(home, "<home>"),
            _ => {}
        }
    }
    walk(&mut value, &home.display().to_string());
    value
}

/// Compares `got` with the golden file `name` (or writes it with `POOF_UPDATE_GOLDEN=1`).
fn assert_golden(name: &str, got: &Value) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(name);
    let text = serde_json::to_string_pretty(got).unwrap() + "\n";
    if std::env::var_os("POOF_UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, &text).unwrap();
    }
    let want = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert_eq!(text, want, "{name} differs from its golden file");
}

/// The one JSON object `out`'s stdout holds.
fn stdout_json(out: &std::process::Output) -> Value {
    let text = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 1, "one line of JSON on stdout: {text}");
    serde_json::from_str(lines[0]).unwrap_or_else(|e| panic!("{e}: {text}"))
}

fn set_up() -> Home {
    let (h, _) = Home::with_docs(&[
        ("notes.txt", b"remember the milk\n".to_vec()),
        ("photos/cat.jpg", vec![7; 5_000]),
        ("tmp/scratch.tmp", b"scratch\n".to_vec()),
    ]);
    let docs = h.home().join("docs");
    h.set_conf(
        "filters",
        serde_json::json!({ docs.display().to_string(): {"exclude": ["*.tmp"]} }),
    );
    h
}

#[test]
fn backup_upload_and_status_summaries_keep_their_fields() {
    let h = set_up();
    let out = run(h.poof().args(["backup", "--json", "--no-progress"]));
    assert_eq!(out.status.code(), Some(0));
    assert_golden("backup.json", &normalized(stdout_json(&out), &h.home()));

    // A refused folder (every file gone from the source) beside one that ran.
    for file in ["notes.txt", "photos/cat.jpg"] {
        std::fs::remove_file(h.home().join("docs").join(file)).unwrap();
    }
    let out = run(h.poof().args(["upload", "--json", "--no-progress"]));
    assert_eq!(out.status.code(), Some(4));
    assert_golden(
        "upload-refused.json",
        &normalized(stdout_json(&out), &h.home()),
    );

    let out = run(h
        .poof()
        .args(["status", "--json"])
        .env("POOF_SCHEDULER", "cron"));
    assert_eq!(out.status.code(), Some(0));
    let status = stdout_json(&out);
    assert_eq!(status["last"]["upload"]["exit_code"], 4);
    assert_golden("status.json", &normalized(status, &h.home()));
    let text = run_ok(h.poof().arg("status").env("POOF_SCHEDULER", "cron"));
    assert!(text.contains("upload    "), "{text}");
    assert!(text.contains("refused (exit 4)"), "{text}");
    assert!(text.contains("download  never run"), "{text}");
}

#[test]
fn sync_summary_and_json_log_lines() {
    let h = set_up();
    let out = run(h
        .poof()
        .args(["--log-format", "json", "sync", "--json", "--no-progress"])
        .arg(h.home().join("docs"))
        .arg(h.home().join("copy")));
    assert_eq!(out.status.code(), Some(0));
    assert_golden("sync.json", &normalized(stdout_json(&out), &h.home()));
    // Every stderr line is one JSON object with rclone's four fields.
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.is_empty());
    for line in err.lines() {
        let line: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        let keys: Vec<&String> = line.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["level", "msg", "source", "time"], "{line}");
    }
    // An error is a JSON line too, at level error.
    let out = run(h
        .poof()
        .args(["--log-format", "json", "sync", "nosuchremote:x"])
        .arg(h.home().join("copy")));
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    let last: Value = serde_json::from_str(err.lines().last().unwrap()).unwrap();
    assert_eq!(last["level"], "error", "{err}");
    assert!(
        last["msg"].as_str().unwrap().contains("nosuchremote"),
        "{err}"
    );
}

#[test]
fn status_shows_the_last_run_of_each_command() {
    let h = set_up();
    let status = |h: &Home| -> Value {
        let out = run(h
            .poof()
            .args(["status", "--json"])
            .env("POOF_SCHEDULER", "cron"));
        assert_eq!(out.status.code(), Some(0));
        stdout_json(&out)
    };
    assert_eq!(status(&h)["last"], serde_json::json!({}));
    assert!(run_ok(h.poof().arg("status").env("POOF_SCHEDULER", "cron"))
        .contains("backup    never run"));
    run_ok(h.poof().args(["backup", "--no-progress"]));
    // A dry run is not recorded.
    run_ok(h.poof().args(["download", "--dry-run", "--no-progress"]));
    let after_backup = status(&h);
    assert_eq!(after_backup["last"].as_object().unwrap().len(), 1);
    assert_eq!(after_backup["last"]["backup"]["totals"]["transferred"], 4);
    run_ok(h.poof().args(["upload", "--no-progress"]));
    run_ok(h.poof().args(["download", "--no-progress"]));
    let last = &status(&h)["last"];
    assert_eq!(last["backup"], after_backup["last"]["backup"]);
    assert_eq!(last["upload"]["local_files"]["deleted"], 2);
    assert_eq!(last["download"]["result"], "done");
    let docs = last["download"]["folders"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["source"] == "poof-crypt:docs")
        .unwrap();
    assert_eq!(docs["transferred"], 2);
    assert_eq!(
        docs["destination"],
        h.home().join("docs").display().to_string()
    );
}
