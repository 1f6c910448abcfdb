//! `poof ls`, `poof lsjson` and `poof cat` side by side with rclone on the same remotes: a local
//! folder, crypt over a local folder, S3 (`rclone serve s3`), and crypt over S3. Files are
//! uploaded by rclone (so modification times and encrypted names are rclone's), then both
//! tools list and read them.
//!
//! Listings are compared as sets of lines (rclone's order depends on its walk: breadth first
//! on local folders, key order on S3). `lsjson` objects are compared field by field, except
//! the size and time of directories: rclone prints a local folder's size on disk, 0 or -1 for
//! S3 prefixes, and for their time 2000-01-01 or the time of the listing (`IsBucket` even
//! appears on crypt-over-S3 folders); poof prints -1 and the folder's time when it has one.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

use crate::harness::s3::S3Server;
use crate::harness::{pattern, run, run_ok, CryptOpts, Scratch};

/// Files of the fixture tree: block boundaries (65536 is one full block), unicode, nesting, and
/// characters Go's JSON encoder escapes.
const FILES: &[(&str, usize)] = &[
    ("empty", 0),
    ("one.bin", 1),
    ("block.dat", 65536),
    ("block+1.dat", 65537),
    ("dir/big file.txt", 200_000),
    ("dir/sub/日本語.json", 1234),
    ("dir/sub/deeper/émoji 🎉.png", 77),
    ("other-dir/x", 5),
    ("other-dir/a<b>&c \"q\".md", 3),
];

/// Byte ranges (`--offset`, `--count`) across block boundaries, applied to the 200000-byte file.
/// (An offset beyond the end is left out: rclone prints nothing on local folders but fails with
/// "Seek beyond end of file" on crypt remotes; `--count 0` makes rclone send an invalid range to
/// S3; poof prints nothing in both cases, on every remote.)
const RANGES: &[(i64, i64)] = &[
    (0, 10),
    (65530, 20),
    (65535, 2),
    (65536, 65536),
    (131071, 100),
    (100_000, -1),
    (199_990, 100),
    (-10, -1),
    (-70000, 5000),
    (5, 1),
];

/// Writes the fixture tree below `dir`.
fn write_tree(dir: &Path) {
    for (i, (path, size)) in FILES.iter().enumerate() {
        let full = dir.join(path);
        std::fs::create_dir_all(full.parent().expect("parent")).expect("mkdir");
        std::fs::write(&full, pattern(*size, i as u64 + 1)).expect("write");
    }
}

/// Sorted lines.
fn lines(text: &str) -> Vec<String> {
    let mut v: Vec<String> = text.lines().map(str::to_owned).collect();
    v.sort();
    v
}

/// lsjson output parsed, checked for rclone's layout, directory sizes dropped, sorted by path.
fn lsjson_objects(text: &str) -> Vec<Value> {
    let all: Vec<&str> = text.lines().collect();
    assert_eq!(all.first(), Some(&"["), "{text}");
    assert_eq!(all.last(), Some(&"]"), "{text}");
    let mut out: Vec<Value> = serde_json::from_str::<Vec<Value>>(text).expect("json");
    for v in &mut out {
        if v["IsDir"] == Value::Bool(true) {
            let o = v.as_object_mut().expect("object");
            for field in ["Size", "ModTime", "IsBucket"] {
                o.remove(field);
            }
        }
    }
    out.sort_by(|a, b| a["Path"].as_str().cmp(&b["Path"].as_str()));
    out
}

/// The raw lsjson lines of files, without separating commas, sorted.
fn file_lines(text: &str) -> Vec<String> {
    let mut v: Vec<String> = text
        .lines()
        .filter(|l| l.contains("\"IsDir\":false"))
        .map(|l| l.trim_end_matches(',').to_owned())
        .collect();
    v.sort();
    v
}

/// A scratch folder with a config holding every remote of the comparison, the fixture tree
/// uploaded by rclone to each, and the S3 server.
struct Fixture {
    s: Scratch,
    _server: S3Server,
}

/// The locations to compare: local folder (as a path and as a `type = local` remote), crypt
/// over local, S3, crypt over S3.
fn locations(f: &Fixture) -> Vec<String> {
    vec![
        f.s.path("src").display().to_string(),
        format!("loc:{}", f.s.path("src").display()),
        "clocal:".to_owned(),
        "s3:bucket/plain".to_owned(),
        "cs3:".to_owned(),
    ]
}

fn fixture() -> Fixture {
    let s = Scratch::new();
    write_tree(&s.path("src"));
    let server = S3Server::start(&s.path("s3root"), &["bucket"]);
    let opts = CryptOpts::default();
    let mut config = server.section("s3");
    config += &opts.section("clocal", &s.path("enc").display().to_string());
    config += &opts.section("cs3", "s3:bucket/enc");
    config += "[al]\ntype = alias\nremote = clocal:dir\n\n[loc]\ntype = local\n\n";
    s.write_config(&config);
    let src = s.path("src").display().to_string();
    for dest in ["clocal:", "s3:bucket/plain", "cs3:"] {
        run_ok(s.rclone().args(["copy", &src, dest]));
    }
    Fixture { s, _server: server }
}

fn compare(f: &Fixture, args: &[&str], loc: &str) {
    let mut poof = f.s.poof();
    let mut rclone = f.s.rclone();
    for a in args {
        poof.arg(a);
        rclone.arg(a);
    }
    let ours = run_ok(poof.arg(loc));
    let theirs = run_ok(rclone.arg(loc));
    if args.first() == Some(&"lsjson") {
        assert_eq!(
            lsjson_objects(&ours),
            lsjson_objects(&theirs),
            "{args:?} {loc}"
        );
        // Byte for byte (escapes, field order, number and time formats) for files.
        assert_eq!(file_lines(&ours), file_lines(&theirs), "{args:?} {loc}");
    } else {
        assert_eq!(lines(&ours), lines(&theirs), "{args:?} {loc}");
    }
}

fn cat_bytes(cmd: &mut Command) -> Vec<u8> {
    let out = run(cmd);
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

#[test]
fn listings_and_contents_match_rclone_on_every_remote() {
    let f = fixture();
    for loc in locations(&f) {
        compare(&f, &["ls"], &loc);
        compare(&f, &["lsjson", "-R"], &loc);
        compare(&f, &["lsjson"], &loc);
        let sub = if loc.ends_with(':') {
            format!("{loc}dir")
        } else {
            format!("{loc}/dir")
        };
        compare(&f, &["ls"], &sub);
        compare(&f, &["lsjson", "-R"], &sub);
        for (path, size) in FILES {
            let file = if loc.ends_with(':') {
                format!("{loc}{path}")
            } else {
                format!("{loc}/{path}")
            };
            let ours = cat_bytes(f.s.poof().args(["cat", &file]));
            assert_eq!(ours.len(), *size, "{file}");
            assert_eq!(ours, cat_bytes(f.s.rclone().args(["cat", &file])), "{file}");
            compare(&f, &["lsjson"], &file);
        }
    }
}

#[test]
fn alias_joins_its_path_with_the_remote_it_points_to() {
    let f = fixture();
    for loc in ["al:", "al:sub", "al:big file.txt"] {
        compare(&f, &["ls"], loc);
        compare(&f, &["lsjson", "-R"], loc);
    }
}

#[test]
fn ranged_cat_matches_rclone_across_block_boundaries() {
    let f = fixture();
    for loc in locations(&f) {
        let file = if loc.ends_with(':') {
            format!("{loc}dir/big file.txt")
        } else {
            format!("{loc}/dir/big file.txt")
        };
        for (offset, count) in RANGES {
            let args = [
                "cat".to_owned(),
                format!("--offset={offset}"),
                format!("--count={count}"),
                file.clone(),
            ];
            let ours = cat_bytes(f.s.poof().args(&args));
            let theirs = cat_bytes(f.s.rclone().args(&args));
            assert_eq!(ours, theirs, "{args:?}");
        }
    }
}

#[test]
fn undecryptable_names_are_warned_about_and_fail_the_listing() {
    let f = fixture();
    std::fs::write(f.s.path("enc/not-a-crypt-name"), b"x").expect("write");
    let out = run(f.s.poof().args(["ls", "clocal:"]));
    assert!(!out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stdout.contains("one.bin"), "{stdout}");
    assert!(stderr.contains("not-a-crypt-name"), "{stderr}");
}

#[test]
fn missing_directory_is_an_error() {
    let f = fixture();
    for loc in ["clocal:nope", "s3:bucket/nope", "cs3:nope"] {
        let out = run(f.s.poof().args(["ls", loc]));
        assert!(!out.status.success(), "{loc}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(stderr.contains("not found"), "{stderr}");
    }
}

/// Runs `poof ls NAME:` with the config and returns stderr, asserting failure with one line.
fn one_line_error(config: &str, loc: &str) -> String {
    let s = Scratch::new();
    s.write_config(config);
    let out = run(s.poof().args(["ls", loc]));
    assert!(!out.status.success(), "{loc}");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    stderr
}

#[test]
fn alias_loop_is_a_one_line_error_naming_the_chain() {
    let err = one_line_error(
        "[a]\ntype = alias\nremote = b:x\n\n[b]\ntype = alias\nremote = a:\n",
        "a:",
    );
    assert!(err.contains("a -> b -> a"), "{err}");
}

#[test]
fn crypt_loop_is_a_one_line_error_naming_the_chain() {
    let opts = CryptOpts::default();
    let config = opts.section("c", "al:sub") + "[al]\ntype = alias\nremote = c:inner\n";
    let err = one_line_error(&config, "c:");
    assert!(err.contains("c -> al -> c"), "{err}");
}

#[test]
fn unknown_type_is_a_one_line_error() {
    let err = one_line_error("[x]\ntype = onedrive\ntoken = {}\n", "x:");
    assert!(err.contains("[x]") && err.contains("onedrive"), "{err}");
}

#[test]
fn missing_key_is_a_one_line_error_naming_section_and_key() {
    let err = one_line_error("[al]\ntype = alias\n", "al:");
    assert!(err.contains("[al]") && err.contains("remote"), "{err}");
    let err = one_line_error("[s]\ntype = s3\nprovider = Other\n", "s:");
    assert!(err.contains("bucket"), "{err}");
    let err = one_line_error("[u]\nprovider = Other\n", "u:");
    assert!(err.contains("[u]") && err.contains("type"), "{err}");
}

#[test]
fn local_path_needs_no_config() {
    let s = Scratch::new();
    write_tree(&s.path("src"));
    let ours = run_ok(s.poof().arg("ls").arg(s.path("src")));
    let theirs = run_ok(s.rclone().arg("ls").arg(s.path("src")));
    assert_eq!(lines(&ours), lines(&theirs));
}

#[test]
fn ignored_s3_options_are_warned_about_once() {
    let s = Scratch::new();
    let server = S3Server::start(&s.path("s3root"), &["bucket"]);
    std::fs::write(s.path("s3root/bucket/f"), b"abc").expect("write");
    let config = server.section("s3").replace(
        "provider = Rclone\n",
        "provider = Rclone\nlocation_constraint = EU\n",
    );
    s.write_config(&config);
    let out = run(s.poof().args(["ls", "s3:bucket"]));
    assert!(out.status.success());
    assert_eq!(String::from_utf8_lossy(&out.stdout), "        3 f\n");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.matches("location_constraint").count(), 1, "{stderr}");
}

/// rclone writes a directory's files in its walk order: breadth first on local folders (and
/// crypt over them), which poof follows; in key order on S3, where only the total is compared.
#[test]
fn cat_of_a_directory_writes_every_file_as_rclone() {
    let f = fixture();
    let src = f.s.path("src/dir").display().to_string();
    for loc in [src.as_str(), "clocal:dir", "s3:bucket/plain/dir", "cs3:dir"] {
        let ours = cat_bytes(f.s.poof().args(["cat", loc]));
        let theirs = cat_bytes(f.s.rclone().args(["cat", loc]));
        assert_eq!(ours.len(), theirs.len(), "{loc}");
        if !loc.contains("s3") {
            assert!(ours == theirs, "{loc}: same length, different bytes");
        }
    }
}
