//! The rule lists and decisions of [`Filter`]; the files chosen are checked against rclone
//! itself by the integration tests (`tests/filters.rs`).

use super::*;
use crate::remote::backend::EntryKind;

const DAY_SECS: u64 = 86_400;

fn spec() -> Spec {
    Spec::default()
}

fn filter(spec: &Spec) -> Filter {
    Filter::new(
        spec,
        SystemTime::UNIX_EPOCH + Duration::from_secs(2_000_000_000),
    )
    .unwrap()
}

/// The rule lines of a dump, without its frame.
fn rules(f: &Filter) -> (Vec<String>, Vec<String>) {
    let dump = f.dump();
    let files = dump
        .split("--- File filter rules ---\n")
        .nth(1)
        .and_then(|r| r.split("--- Directory filter rules ---\n").next())
        .unwrap_or_default();
    let dirs = dump
        .split("--- Directory filter rules ---\n")
        .nth(1)
        .and_then(|r| r.split("--- end filters ---").next())
        .unwrap_or_default();
    let own = |s: &str| s.lines().map(str::to_owned).collect();
    (own(files), own(dirs))
}

#[test]
fn rule_lists_are_rclones() {
    // Each as `rclone lsf --dump filters` printed it for the same flags (rclone v1.75).
    let case = |spec: Spec, files: &[&str], dirs: &[&str]| {
        let (f, d) = rules(&filter(&spec));
        assert_eq!(f, files, "{spec:?}");
        assert_eq!(d, dirs, "{spec:?}");
    };
    case(
        Spec {
            include: vec!["a/b/**".into()],
            ..spec()
        },
        &[r"+ (^|/)a/b/.*$", r"- ^.*$"],
        &[
            r"+ (^|/)a/b/.*/$",
            r"+ (^|/)a/b/$",
            r"+ (^|/)a/$",
            r"+ (^|/)a/b/.*$",
            r"- ^.*$",
        ],
    );
    case(
        Spec {
            exclude: vec!["*.bak".into()],
            include: vec!["*.txt".into()],
            ..spec()
        },
        &[r"+ (^|/)[^/]*\.txt$", r"- (^|/)[^/]*\.bak$", r"- ^.*$"],
        &[r"+ ^.*$", r"- ^.*$"],
    );
    case(
        Spec {
            exclude: vec!["node_modules/".into()],
            ..spec()
        },
        &[r"- (^|/)node_modules/.*$"],
        &[r"- (^|/)node_modules/.*$"],
    );
    case(
        Spec {
            filter: vec!["+ a/**".into(), "- *".into()],
            ..spec()
        },
        &[r"+ (^|/)a/.*$", r"- (^|/)[^/]*$"],
        &[r"+ (^|/)a/.*/$", r"+ (^|/)a/$", r"+ (^|/)a/.*$", r"- ^.*$"],
    );
    case(
        Spec {
            filter: vec!["+ **/".into()],
            ..spec()
        },
        &[r"+ (^|/).*/$"],
        &[r"+ (^|/).*/$"],
    );
    case(
        Spec {
            filter: vec!["+ a/b/".into()],
            ..spec()
        },
        &[],
        &[r"+ (^|/)a/b/$"],
    );
    case(
        Spec {
            include: vec!["{x/**,y/**}".into()],
            ..spec()
        },
        &[r"+ (^|/)(x/.*|y/.*)$", r"- ^.*$"],
        &[r"+ ^.*$", r"+ (^|/)(x/.*|y/.*)$", r"- ^.*$"],
    );
    case(
        Spec {
            include: vec!["a".into()],
            filter: vec!["!".into()],
            ..spec()
        },
        &[r"- ^.*$"],
        &[r"- ^.*$"],
    );
    case(
        Spec {
            include: vec!["A/*.TXT".into()],
            ignore_case: true,
            ..spec()
        },
        &[r"+ (?i)(^|/)A/[^/]*\.TXT$", r"- (?i)^.*$"],
        &[r"+ (?i)(^|/)A/$", r"- (?i)^.*$"],
    );
}

#[test]
fn the_first_rule_that_matches_decides() {
    let f = filter(&Spec {
        filter: vec!["- secret*".into(), "+ *.txt".into(), "- **".into()],
        ..spec()
    });
    assert!(f.file("notes.txt", 1, None));
    assert!(f.file("a/b/notes.txt", 1, None));
    assert!(!f.file("secret.txt", 1, None));
    assert!(!f.file("a/secret-plans.txt", 1, None));
    assert!(!f.file("photo.jpg", 1, None));
    // Nothing matches: taken.
    let f = filter(&Spec {
        exclude: vec!["/top.tmp".into()],
        ..spec()
    });
    assert!(!f.file("top.tmp", 1, None));
    assert!(f.file("a/top.tmp", 1, None));
}

#[test]
fn folders_are_pruned_by_directory_rules() {
    let f = filter(&Spec {
        exclude: vec!["node_modules/".into(), ".cache/".into()],
        ..spec()
    });
    assert!(f.dir(""));
    assert!(!f.dir("node_modules"));
    assert!(!f.dir("web/node_modules"));
    assert!(f.dir("web/node_modules_old"));
    assert!(!f.file("web/node_modules/x.js", 1, None));
    assert!(!f.dir("home/.cache"));
    let f = filter(&Spec {
        include: vec!["/a/*.jpg".into()],
        ..spec()
    });
    assert!(f.dir("a"));
    assert!(!f.dir("b"));
    assert!(!f.dir("a/b"));
}

#[test]
fn sizes_and_ages_bound_files() {
    let now = SystemTime::UNIX_EPOCH + Duration::from_secs(2_000_000_000);
    let f = Filter::new(
        &Spec {
            min_size: Some("1k".into()),
            max_size: Some("1M".into()),
            max_age: Some("2d".into()),
            min_age: Some("1h30m".into()),
            ..spec()
        },
        now,
    )
    .unwrap();
    let ago = |secs: u64| Some(now - Duration::from_secs(secs));
    assert!(f.file("x", 1024, ago(7200)));
    assert!(!f.file("x", 1023, ago(7200)));
    assert!(f.file("x", 1 << 20, ago(7200)));
    assert!(!f.file("x", (1 << 20) + 1, ago(7200)));
    assert!(!f.file("x", 2048, ago(3600)), "younger than 1h30m");
    assert!(!f.file("x", 2048, ago(3 * 86_400)), "older than 2d");
    assert!(f.file("x", 2048, ago(2 * 86_400)));
    assert!(f.needs_mtime());
    let off = Spec {
        max_size: Some("off".into()),
        max_age: Some("off".into()),
        ..spec()
    };
    assert!(Filter::new(&off, now).unwrap().is_empty());
    // Dates: with an offset exact, without one in the local time zone.
    let day = SystemTime::UNIX_EPOCH + Duration::from_secs(1_796_601_600);
    assert_eq!(parse_age("2026-12-07T00:00:00Z", now), Some(day));
    assert_eq!(
        parse_age("2026-12-07T01:02:03+01:00", now),
        Some(day + Duration::from_secs(2 * 60 + 3))
    );
    let local = parse_age("2026-12-07", now).unwrap();
    assert_eq!(parse_age("2026-12-07 00:00:00", now), Some(local));
    assert_eq!(parse_age("2026-12-07T00:00:00", now), Some(local));
    let apart = local.duration_since(day).unwrap_or_else(|e| e.duration());
    assert!(apart <= Duration::from_secs(14 * 3600), "{apart:?}");
    assert_eq!(parse_age("90", now), Some(now - Duration::from_secs(90)));
    assert_eq!(
        parse_age("1.5d", now),
        Some(now - Duration::from_secs(129_600))
    );
    assert_eq!(parse_age("1s1s", now), Some(now - Duration::from_secs(2)));
    assert_eq!(
        parse_age("-1d", now),
        Some(now + Duration::from_secs(DAY_SECS))
    );
    for bad in [
        "",
        "2x",
        "d",
        "1h-5m",
        "2026-13-01",
        "1e400",
        "1d12h",
        "1h30",
        " 2d",
        "2D",
    ] {
        assert_eq!(parse_age(bad, now), None, "{bad:?}");
    }
    for (flag, bad) in [("--min-size", "lots"), ("--max-age", "soon")] {
        let spec = Spec {
            min_size: (flag == "--min-size").then(|| bad.to_owned()),
            max_age: (flag == "--max-age").then(|| bad.to_owned()),
            ..spec()
        };
        let err = format!("{:#}", Filter::new(&spec, now).unwrap_err());
        assert!(err.contains(flag) && err.contains(bad), "{err}");
    }
}

#[test]
fn files_from_takes_its_files_and_the_folders_on_their_way_and_stands_alone() {
    let dir = tempfile::tempdir().unwrap();
    let list = dir.path().join("list");
    std::fs::write(&list, "# mine\na/b.txt\n/c.txt\n  d/e/f  \n\n").unwrap();
    let list = list.to_str().unwrap().to_owned();
    let f = filter(&Spec {
        files_from: vec![list.clone()],
        ..spec()
    });
    assert!(f.file("a/b.txt", 1, None) && f.file("c.txt", 1, None) && f.file("d/e/f", 1, None));
    assert!(!f.file("a/c.txt", 1, None));
    assert!(f.dir("a") && f.dir("d") && f.dir("d/e") && !f.dir("x"));
    let err = Filter::new(
        &Spec {
            files_from: vec![list],
            exclude: vec!["x".into()],
            ..spec()
        },
        SystemTime::now(),
    )
    .unwrap_err();
    assert!(format!("{err:#}").contains("--files-from"), "{err:#}");
}

#[test]
fn broken_rules_are_named_with_their_line() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules");
    std::fs::write(&rules, "# ok\n- *.tmp\n+ {a,b\n").unwrap();
    let rules = rules.to_str().unwrap().to_owned();
    let err = Filter::new(
        &Spec {
            filter_from: vec![rules.clone()],
            ..spec()
        },
        SystemTime::now(),
    )
    .unwrap_err();
    let err = format!("{err:#}");
    assert!(err.contains(&rules) && err.contains("line 2"), "{err}");
    assert!(err.contains("mismatched '{' and '}'"), "{err}");
    for bad in ["x", "+a", "+", "-"] {
        let err = Filter::new(
            &Spec {
                filter: vec![bad.into()],
                ..spec()
            },
            SystemTime::now(),
        )
        .unwrap_err();
        assert!(
            format!("{err:#}").contains("malformed rule"),
            "{bad}: {err:#}"
        );
    }
    let err = Filter::new(
        &Spec {
            exclude: vec!["[]".into()],
            ..spec()
        },
        SystemTime::now(),
    )
    .unwrap_err();
    assert!(format!("{err:#}").contains("bad pattern"), "{err:#}");
}

#[test]
fn perl_classes_are_ascii_as_in_rclone() {
    let f = filter(&Spec {
        include: vec![r"*.\d\d".into()],
        ..spec()
    });
    assert!(f.file("a.12", 1, None));
    assert!(
        !f.file("a.١٢", 1, None),
        "Arabic-Indic digits are not \\d in rclone"
    );
}

fn entry(path: &str, dir: bool) -> Entry {
    Entry {
        path: path.to_owned(),
        kind: if dir { EntryKind::Dir } else { EntryKind::File },
        size: 1,
        mtime: None,
    }
}

#[test]
fn a_whole_listing_keeps_what_is_taken_below_folders_listed() {
    let mut entries = vec![
        entry("a", true),
        entry("a/keep.txt", false),
        entry("a/.nobackup", false),
        entry("a/sub", true),
        entry("a/sub/deep.txt", false),
        entry("b", true),
        entry("b/keep.txt", false),
        entry("b/x.tmp", false),
        entry("n", true),
        entry("n/node_modules", true),
        entry("n/node_modules/m.js", false),
        entry("top.txt", false),
    ];
    let f = filter(&Spec {
        exclude: vec!["*.tmp".into(), "node_modules/".into()],
        exclude_if_present: vec![".nobackup".into()],
        ..spec()
    });
    f.retain(&mut entries);
    let kept: Vec<&str> = entries.iter().map(|e| e.path.as_str()).collect();
    assert_eq!(kept, ["b", "b/keep.txt", "n", "top.txt"]);
}
