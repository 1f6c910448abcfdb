//! rclone's filter rules: for each rule set, rclone's `lsjson -R` and poof's `lsjson -R` with the
//! same flags choose the same files and folders of one shared tree, and `--dump filters`
//! prints the same rules.

use std::collections::BTreeSet;
use std::path::Path;
use std::time::{Duration, SystemTime};

use crate::harness::home::{populate, snapshot, Home};
use crate::harness::{run, run_ok, CryptOpts, Scratch};

const DAY: u64 = 86_400;

/// The shared tree: `(path, size, age in days)`; a path ending in `/` is an empty folder.
const TREE: &[(&str, usize, u64)] = &[
    ("top.txt", 10, 1),
    ("Top.TXT", 10, 1),
    ("notes.md", 300, 2),
    ("photo.jpg", 5_000, 10),
    ("photo.JPG", 5_000, 10),
    ("photo.jpeg", 6_000, 12),
    ("image.png", 7_000, 20),
    ("file.012", 1, 30),
    ("file.abc", 1, 30),
    ("file.???", 1, 30),
    ("a,b.txt", 2, 3),
    ("secret.txt", 2, 3),
    ("secret17.jpg", 2, 3),
    ("[JP] movie.mkv", 20_000, 60),
    ("space name.txt", 4, 4),
    ("café.txt", 4, 4),
    ("日本/報告.txt", 4, 4),
    ("a/1.jpg", 1_500, 5),
    ("a/b/2.jpg", 1_500, 6),
    ("a/b/c/3.txt", 30, 7),
    ("a/b/c/deep/4.txt", 30, 8),
    ("a/x.tmp", 1, 1),
    ("b/x.tmp", 1, 1),
    ("b/keep.txt", 1, 1),
    ("dir/Trash/t.txt", 1, 90),
    ("dir/tmp/t2.txt", 1, 90),
    ("dir/ok.txt", 1, 90),
    ("web/node_modules/m.js", 100, 2),
    ("web/node_modules/sub/n.js", 100, 2),
    ("web/src/app.js", 100, 2),
    ("home/.cache/CACHEDIR.TAG", 43, 2),
    ("home/.cache/blob.bin", 9_000, 2),
    ("home/docs/doc.pdf", 800, 40),
    ("proj/.nobackup", 0, 1),
    ("proj/big.iso", 200 * 1024, 1),
    ("proj/sub/x.txt", 1, 1),
    ("empty/", 0, 0),
    ("x/y/z/keep.txt", 1, 1),
    ("y/file", 1, 1),
    ("wheat/a!b.txt", 1, 1),
    ("wheat/abc.txt", 1, 1),
];

/// Rule files the rule sets name as `@name`.
const FILES: &[(&str, &str)] = &[
    (
        "docs-example",
        "# a sample filter rule file\n- secret*.jpg\n+ *.jpg\n+ *.png\n+ file2.avi\n\
         - /dir/tmp/**\n- /dir/Trash/**\n+ /dir/**\n# exclude everything else\n- *\n",
    ),
    ("cleared", "+ *.jpg\n+ *.gif\n!\n+ notes.md\n- *\n"),
    ("excludes", "# comment\n; another\n*.tmp\n\n  photo.JPG  \n"),
    ("includes", "*.txt\n/a/**\n"),
    (
        "list",
        "# the files\ntop.txt\n/a/b/2.jpg\n  web/src/app.js  \nmissing.txt\n",
    ),
];

/// Each rule set as the flags both tools get.
const RULE_SETS: &[&[&str]] = &[
    &["--include", "*.jpg"],
    &["--include", "/a/*.jpg"],
    &["--include", "a/b/**"],
    &["--exclude", "node_modules/"],
    &["--exclude", "*.tmp"],
    &["--exclude", "/a/**"],
    &["--include", "{a,b}/**"],
    &["--include", "{a/**,b/**}"],
    &["--include", "*.{{jpe?g}}"],
    &["--include", r"/{{.*\.jpe?g}}"],
    &["--exclude", "*.t?t"],
    &["--include", "*.[a-z][a-z][a-z]"],
    &["--include", r"*.\d\d\d"],
    &["--exclude", r"*\[{JP,KR,HK}\]*"],
    &["--include", "??[^[:punct:]]*"],
    &[
        "--filter",
        "- secret*",
        "--filter",
        "+ *.jpg",
        "--filter",
        "- *",
    ],
    &["--filter-from", "@docs-example"],
    &["--filter-from", "@cleared"],
    &["--exclude-from", "@excludes"],
    &["--include-from", "@includes"],
    &["--ignore-case", "--include", "*.JPG"],
    &["--ignore-case", "--exclude", "TOP.txt"],
    &["--min-size", "1k"],
    &["--max-size", "100"],
    &["--min-size", "1k", "--max-size", "100k"],
    &["--max-age", "5d"],
    &["--min-age", "50d"],
    &["--max-age", "3w", "--min-age", "36h"],
    &["--max-age", "2026-01-01", "--min-age", "1.5d"],
    &["--exclude-if-present", ".nobackup"],
    &["--exclude-if-present", "CACHEDIR.TAG"],
    &["--files-from", "@list"],
    &["--include", "/a/b"],
    &["--include", "docs/"],
    &["--filter", "+ a/"],
    &["--exclude", "/dir/tmp/", "--exclude", "dir/Trash/"],
    &["--exclude", "**/c/**"],
    &["--include", "**/keep.txt"],
    &["--include", "x/**/keep.txt"],
    &["--exclude", "*"],
    &["--exclude", "/*"],
    &["--include", "/*"],
    &["--include", "a/**", "--exclude", "a/b/**"],
    &["--filter", "+ a/b/c/**", "--filter", "- a/**"],
    &["--exclude", "café.txt"],
    &["--include", "日本/**"],
    &["--exclude", r"{{.*\.(tmp|js)}}"],
    &["--exclude", "**/node_modules/**", "--exclude", ".cache/"],
    &[
        "--filter", "- /web/", "--filter", "+ *.js", "--filter", "- **",
    ],
    &[
        "--include",
        "*.md",
        "--include",
        "*.pdf",
        "--max-size",
        "1k",
    ],
    &["--exclude", "a,b.txt", "--exclude", "space name.txt"],
    &["--include", "*.txt", "--filter", "!", "--exclude", "*.jpg"],
    &["--filter", "+ **/"],
    &["--include", "/a/b/**/deep/*"],
];

/// Builds the tree below `root`, each file `age` days old.
fn build_tree(root: &Path) {
    let now = SystemTime::now();
    for &(path, size, age) in TREE {
        let full = root.join(path);
        if path.ends_with('/') {
            std::fs::create_dir_all(&full).unwrap();
            continue;
        }
        std::fs::create_dir_all(full.parent().unwrap()).unwrap();
        std::fs::write(&full, vec![b'x'; size]).unwrap();
        let at = now - Duration::from_secs(age * DAY);
        filetime::set_file_mtime(&full, filetime::FileTime::from_system_time(at)).unwrap();
    }
}

/// The flags of a rule set with `@name` made the path of that rule file.
fn flags(s: &Scratch, set: &[&str]) -> Vec<String> {
    set.iter()
        .map(|flag| match flag.strip_prefix('@') {
            Some(name) => s.path(name).to_string_lossy().into_owned(),
            None => (*flag).to_owned(),
        })
        .collect()
}

/// The entries of an lsjson answer: `(path, is a folder)`.
fn chosen(json: &str) -> BTreeSet<(String, bool)> {
    let listed: Vec<serde_json::Value> = serde_json::from_str(json).expect(json);
    listed
        .iter()
        .map(|e| {
            let path = e["Path"].as_str().expect("Path").to_owned();
            (path, e["IsDir"].as_bool().expect("IsDir"))
        })
        .collect()
}

/// The rule lines of a `--dump filters` text, each kind apart.
fn dumped(text: &str) -> Vec<String> {
    let start = text.find("--- start filters ---").expect(text);
    let end = text.find("--- end filters ---").expect(text);
    text[start..end]
        .lines()
        .filter(|l| l.starts_with("+ ") || l.starts_with("- ") || l.starts_with("--- "))
        .map(str::to_owned)
        .collect()
}

#[test]
fn poof_chooses_what_rclone_chooses_for_every_rule_set() {
    let s = Scratch::new();
    s.write_config("");
    let tree = s.path("tree");
    build_tree(&tree);
    for (name, text) in FILES {
        std::fs::write(s.path(name), text).unwrap();
    }
    let mut failures = Vec::new();
    for set in RULE_SETS {
        let args = flags(&s, set);
        let rclone = run_ok(s.rclone().args(["lsjson", "-R"]).arg(&tree).args(&args));
        let poof = run_ok(s.poof().args(["lsjson", "-R"]).arg(&tree).args(&args));
        let (want, got) = (chosen(&rclone), chosen(&poof));
        if want != got {
            failures.push(format!(
                "{set:?}:\n  rclone only: {:?}\n  poof only: {:?}",
                want.difference(&got).collect::<Vec<_>>(),
                got.difference(&want).collect::<Vec<_>>()
            ));
        }
        if set.contains(&"--files-from") {
            continue;
        }
        let poof_dump = run_ok(
            s.poof()
                .args(["lsjson", "--dump", "filters"])
                .arg(&tree)
                .args(&args),
        );
        let rclone_dump = run_dump(&s, &args);
        if dumped(&rclone_dump) != dumped(&poof_dump) {
            failures.push(format!(
                "{set:?}: dumps differ\n  rclone: {:?}\n  poof: {:?}",
                dumped(&rclone_dump),
                dumped(&poof_dump)
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} rule sets differ:\n{}",
        failures.len(),
        RULE_SETS.len(),
        failures.join("\n")
    );
}

/// rclone's `--dump filters` text for `args` (its standard output).
fn run_dump(s: &Scratch, args: &[String]) -> String {
    let empty = s.path("dump-root");
    std::fs::create_dir_all(&empty).unwrap();
    run_ok(
        s.rclone()
            .args(["lsf", "--dump", "filters"])
            .arg(&empty)
            .args(args),
    )
}

/// Rule sets for syncs: what the user of a backup leaves out.
const SYNC_SETS: &[&[&str]] = &[
    &[
        "--exclude",
        "*.tmp",
        "--exclude",
        "node_modules/",
        "--exclude",
        ".cache/",
    ],
    &["--include", "*.jpg"],
    &["--filter-from", "@docs-example"],
    &["--exclude-if-present", ".nobackup"],
    &["--include", "a/**", "--exclude", "a/b/**"],
    &["--max-size", "1k"],
    &["--min-age", "50d"],
];

/// The files below `remote` as rclone lists them: path and size.
fn files_of(s: &Scratch, remote: &str) -> BTreeSet<(String, u64)> {
    let json = run_ok(s.rclone().args(["lsjson", "-R", "--files-only", remote]));
    let listed: Vec<serde_json::Value> = serde_json::from_str(&json).expect(&json);
    listed
        .iter()
        .map(|e| {
            let path = e["Path"].as_str().expect("Path").to_owned();
            (path, e["Size"].as_u64().expect("Size"))
        })
        .collect()
}

#[test]
fn sync_with_filters_both_ways_takes_what_rclone_takes() {
    let s = Scratch::new();
    s.write_config(&CryptOpts::default().section("c", &s.path("vault").to_string_lossy()));
    let tree = s.path("tree");
    build_tree(&tree);
    for (name, text) in FILES {
        std::fs::write(s.path(name), text).unwrap();
    }
    for (i, set) in SYNC_SETS.iter().enumerate() {
        let args = flags(&s, set);
        // Up: the local tree into the crypt remote.
        let (by_rclone, by_poof) = (format!("c:rclone-{i}"), format!("c:poof-{i}"));
        run_ok(
            s.rclone()
                .arg("sync")
                .arg(&tree)
                .arg(&by_rclone)
                .args(&args),
        );
        run_ok(s.poof().arg("sync").arg(&tree).arg(&by_poof).args(&args));
        let want = files_of(&s, &by_rclone);
        assert!(!want.is_empty(), "{set:?} chose nothing");
        assert_eq!(files_of(&s, &by_poof), want, "{set:?}: up");
        // cryptcheck with the same rules finds every file; without them, the ones left out
        // are missing.
        run_ok(
            s.poof()
                .arg("cryptcheck")
                .arg(&tree)
                .arg(&by_poof)
                .args(&args),
        );
        let unfiltered = run(s.poof().arg("cryptcheck").arg(&tree).arg(&by_poof));
        assert!(
            !unfiltered.status.success(),
            "{set:?}: cryptcheck without the rules"
        );
        // Down: all of the tree, restored with the same rules.
        let all = format!("c:all-{i}");
        run_ok(s.rclone().arg("sync").arg(&tree).arg(&all));
        let (down_rclone, down_poof) = (
            s.path(&format!("down-rclone-{i}")),
            s.path(&format!("down-poof-{i}")),
        );
        run_ok(
            s.rclone()
                .arg("sync")
                .arg(&all)
                .arg(&down_rclone)
                .args(&args),
        );
        run_ok(s.poof().arg("sync").arg(&all).arg(&down_poof).args(&args));
        let (want, got) = (
            files_of(&s, &down_rclone.to_string_lossy()),
            files_of(&s, &down_poof.to_string_lossy()),
        );
        assert_eq!(got, want, "{set:?}: down");
    }
}

#[test]
fn excluded_files_are_deleted_only_with_delete_excluded_as_in_rclone() {
    let s = Scratch::new();
    s.write_config(&CryptOpts::default().section("c", &s.path("vault").to_string_lossy()));
    let tree = s.path("tree");
    build_tree(&tree);
    let rules = ["--exclude", "*.tmp", "--exclude", "web/**"];
    for tool in ["rclone", "poof"] {
        let remote = format!("c:{tool}");
        run_ok(s.rclone().arg("sync").arg(&tree).arg(&remote));
        for delete_excluded in [false, true] {
            let mut cmd = if tool == "rclone" {
                s.rclone()
            } else {
                s.poof()
            };
            cmd.arg("sync").arg(&tree).arg(&remote).args(rules);
            if delete_excluded {
                cmd.arg("--delete-excluded");
            }
            run_ok(&mut cmd);
            let left: Vec<String> = files_of(&s, &remote)
                .into_iter()
                .map(|(path, _)| path)
                .filter(|p| p.ends_with(".tmp") || p.starts_with("web/"))
                .collect();
            let want: &[&str] = if delete_excluded {
                &[]
            } else {
                &[
                    "a/x.tmp",
                    "b/x.tmp",
                    "web/node_modules/m.js",
                    "web/node_modules/sub/n.js",
                    "web/src/app.js",
                ]
            };
            assert_eq!(left, want, "{tool}, --delete-excluded: {delete_excluded}");
        }
    }
}

#[test]
fn backup_upload_and_download_keep_to_each_folders_rules() {
    let h = Home::configured();
    assert_eq!(
        h.poof_conf()["exclude_if_present"],
        serde_json::json!(["CACHEDIR.TAG"]),
        "new configs leave tagged caches out"
    );
    let docs = h.home().join("docs");
    let tag = b"Signature: 8a477f597d28d172789f06886806bc55\n".to_vec();
    populate(
        &docs,
        &[
            ("a.txt", b"a".to_vec()),
            ("b.tmp", b"b".to_vec()),
            ("web/node_modules/m.js", b"m".to_vec()),
            ("web/app.js", b"w".to_vec()),
            ("cache/CACHEDIR.TAG", tag),
            ("cache/blob", b"c".to_vec()),
        ],
    );
    h.add_path(&docs, "docs");
    let key = docs.display().to_string();
    h.set_conf(
        "filters",
        serde_json::json!({ key.clone(): {"exclude": ["*.tmp", "node_modules/"]} }),
    );
    let out = run(h.poof().arg("config"));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!(
            "{key} takes every file but: - *.tmp; - node_modules/; folders holding CACHEDIR.TAG"
        )),
        "{err}"
    );

    run_ok(h.poof().arg("backup"));
    let backed_up = run_ok(
        h.rclone()
            .args(["lsf", "-R", "--files-only", "poof-crypt:docs"]),
    );
    let backed_up: Vec<&str> = backed_up.lines().collect();
    assert_eq!(backed_up, ["a.txt", "web/app.js"]);

    // A restore deletes nothing the rules leave out.
    let before = snapshot(&docs);
    run_ok(h.poof().arg("download"));
    assert_eq!(snapshot(&docs), before);

    // An upload deletes what it backed up and keeps the rest.
    let out = run(h.poof().arg("upload"));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains(
            "2 local files verified and deleted, 0 kept, 4 left out by the filter and kept"
        ),
        "{err}"
    );
    let left: Vec<String> = snapshot(&docs).into_keys().collect();
    assert_eq!(
        left,
        [
            "b.tmp",
            "cache/CACHEDIR.TAG",
            "cache/blob",
            "web/node_modules/m.js"
        ]
    );

    // A broken rule stops the run before anything is read, naming the key.
    h.set_conf(
        "filters",
        serde_json::json!({ key.clone(): {"filter": ["+a"]} }),
    );
    let out = run(h.poof().arg("backup"));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        err.contains(&format!("filters[{key:?}]")) && err.contains("malformed rule"),
        "{err}"
    );
}

#[test]
fn an_added_exclude_is_no_mass_delete_and_delete_excluded_is_guarded() {
    let h = Home::configured();
    let docs = h.home().join("docs");
    let mut files = vec![("keep.md".to_owned(), b"k".to_vec())];
    files.extend((1..=8).map(|i| (format!("{i}.log"), vec![b'l'; i])));
    let files: Vec<(&str, Vec<u8>)> = files.iter().map(|(p, b)| (p.as_str(), b.clone())).collect();
    populate(&docs, &files);
    h.add_path(&docs, "docs");
    run_ok(h.poof().arg("backup"));
    let on_target = || {
        run_ok(h.rclone().args(["lsf", "--files-only", "poof-crypt:docs"]))
            .lines()
            .count()
    };
    assert_eq!(on_target(), 9);
    let key = docs.display().to_string();
    h.set_conf(
        "filters",
        serde_json::json!({ key: {"exclude": ["*.log"]} }),
    );

    // Eight of nine files left out: no delete, so no guard to pass.
    let out = run(h.poof().arg("backup"));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(on_target(), 9);

    // Deleting them is a mass delete: refused unless forced.
    let out = run(h.poof().args(["backup", "--delete-excluded"]));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(err.contains("would delete 8 of the 9 files"), "{err}");
    assert_eq!(on_target(), 9);
    run_ok(h.poof().args(["backup", "--delete-excluded", "--force"]));
    assert_eq!(on_target(), 1);
}
