//! Every crypt option value at least once, both directions with the real rclone: poof syncs a
//! tree into a crypt remote and rclone restores it byte for byte with modification times
//! (and finds nothing to transfer); rclone syncs a tree into a crypt remote and poof restores
//! it the same way. Plus plain (unencrypted) S3 through `rclone serve s3` both ways.

use std::path::Path;
use std::time::{Duration, SystemTime};

use crate::harness::s3::S3Server;
use crate::harness::{files_below, pattern, run, run_ok, CryptOpts, Scratch};

/// Sizes around the 64 KiB block boundaries, empty files, unicode, long and nested names.
fn write_tree(dir: &Path) {
    let long = format!("long-{}", "ü".repeat(40));
    let files: Vec<(String, usize)> = vec![
        ("empty".into(), 0),
        ("one".into(), 1),
        ("a/65535.bin".into(), 65535),
        ("a/65536.bin".into(), 65536),
        ("a/b/65537.bin".into(), 65537),
        ("a/b/c/131077.bin".into(), 131_077),
        ("日本語/ファイル.txt".into(), 999),
        (format!("{long}/{long}.txt"), 4321),
        ("with space/and.dots.tar.gz".into(), 70_000),
    ];
    for (i, (rel, size)) in files.iter().enumerate() {
        let path = dir.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, pattern(*size, 100 + i as u64)).unwrap();
        // Distinct modification times with nanoseconds, some in the past.
        let t = SystemTime::UNIX_EPOCH
            + Duration::new(
                1_600_000_000 + i as u64 * 86_400,
                123_456_789 * (i as u32 % 3),
            );
        std::fs::File::options()
            .write(true)
            .open(&path)
            .unwrap()
            .set_modified(t)
            .unwrap();
    }
}

/// Asserts `b` holds the same files as `a`, with the same bytes and modification times.
fn assert_same_tree(a: &Path, b: &Path, what: &str) {
    let files = files_below(a);
    assert_eq!(files_below(b), files, "{what}: file lists differ");
    for rel in &files {
        let (pa, pb) = (a.join(rel), b.join(rel));
        assert_eq!(
            std::fs::read(&pa).unwrap(),
            std::fs::read(&pb).unwrap(),
            "{what}: {rel}"
        );
        let (ma, mb) = (
            std::fs::metadata(&pa).unwrap().modified().unwrap(),
            std::fs::metadata(&pb).unwrap().modified().unwrap(),
        );
        assert_eq!(ma, mb, "{what}: modification time of {rel}");
    }
}

/// One option set per line: every value of every crypt option appears at least once.
fn option_sets() -> Vec<(&'static str, CryptOpts)> {
    let d = CryptOpts::default;
    vec![
        ("standard-base32", d()),
        (
            "standard-base64-salt",
            CryptOpts {
                filename_encoding: "base64",
                password2: "pepper".into(),
                ..d()
            },
        ),
        (
            "standard-base32768",
            CryptOpts {
                filename_encoding: "base32768",
                ..d()
            },
        ),
        (
            "plain-dirs",
            CryptOpts {
                directory_name_encryption: false,
                ..d()
            },
        ),
        (
            "obfuscate",
            CryptOpts {
                filename_encryption: "obfuscate",
                ..d()
            },
        ),
        (
            "off-bin",
            CryptOpts {
                filename_encryption: "off",
                ..d()
            },
        ),
        (
            "off-custom",
            CryptOpts {
                filename_encryption: "off",
                suffix: Some(".enc"),
                ..d()
            },
        ),
        (
            "off-none",
            CryptOpts {
                filename_encryption: "off",
                suffix: Some("none"),
                ..d()
            },
        ),
        (
            "no-data-encryption",
            CryptOpts {
                no_data_encryption: true,
                ..d()
            },
        ),
    ]
}

fn setup(opts: &CryptOpts) -> Scratch {
    let s = Scratch::new();
    write_tree(&s.path("src"));
    std::fs::create_dir_all(s.path("enc")).unwrap();
    s.write_config(&opts.section("c", &s.path("enc").display().to_string()));
    s
}

#[test]
fn poof_writes_every_option_set_and_rclone_restores() {
    for (name, opts) in option_sets() {
        let s = setup(&opts);
        run_ok(
            s.poof()
                .args(["sync", "--no-progress"])
                .arg(s.path("src"))
                .arg("c:backup"),
        );
        if !opts.no_data_encryption {
            run_ok(
                s.rclone()
                    .arg("cryptcheck")
                    .arg(s.path("src"))
                    .arg("c:backup"),
            );
        }
        let again = run(s
            .rclone()
            .args(["sync", "-v"])
            .arg(s.path("src"))
            .arg("c:backup"));
        let log = String::from_utf8_lossy(&again.stderr);
        assert!(
            again.status.success() && log.contains("There was nothing to transfer"),
            "{name}: {log}"
        );
        run_ok(s.rclone().arg("copy").arg("c:backup").arg(s.path("out")));
        assert_same_tree(&s.path("src"), &s.path("out"), name);
    }
}

#[test]
fn rclone_writes_every_option_set_and_poof_restores() {
    for (name, opts) in option_sets() {
        let s = setup(&opts);
        run_ok(s.rclone().arg("sync").arg(s.path("src")).arg("c:backup"));
        run_ok(
            s.poof()
                .args(["sync", "--no-progress"])
                .arg("c:backup")
                .arg(s.path("out")),
        );
        assert_same_tree(&s.path("src"), &s.path("out"), name);
        // And poof sees nothing left to do in the other direction.
        let out = run(s
            .poof()
            .args(["sync", "--no-progress", "-v"])
            .arg(s.path("src"))
            .arg("c:backup"));
        let log = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{name}: {log}");
        assert!(
            log.contains("Transferred: 0 files") && !log.contains("Copied"),
            "{name}: {log}"
        );
    }
}

#[test]
fn plain_s3_both_ways_with_modification_times() {
    let (s, _server) = S3Server::scratch();
    write_tree(&s.path("src"));
    run_ok(
        s.poof()
            .args(["sync", "--no-progress"])
            .arg(s.path("src"))
            .arg("s3:bucket/poof"),
    );
    s.rclone_ok("copy", "s3:bucket/poof", s.path("by-rclone"));
    assert_same_tree(&s.path("src"), &s.path("by-rclone"), "poof -> s3 -> rclone");

    s.rclone_ok("sync", s.path("src"), "s3:bucket/rclone");
    run_ok(
        s.poof()
            .args(["sync", "--no-progress"])
            .arg("s3:bucket/rclone")
            .arg(s.path("by-poof")),
    );
    assert_same_tree(&s.path("src"), &s.path("by-poof"), "rclone -> s3 -> poof");
}

#[test]
fn copy_links_follows_symbolic_links_as_rclone_does() {
    let s = setup(&CryptOpts::default());
    write_tree(&s.path("outside"));
    std::os::unix::fs::symlink(s.path("outside"), s.path("src/linked")).unwrap();
    std::os::unix::fs::symlink(s.path("src/one"), s.path("src/one-again")).unwrap();
    run_ok(
        s.poof()
            .args(["sync", "--no-progress", "-L"])
            .arg(s.path("src"))
            .arg("c:poof"),
    );
    run_ok(
        s.rclone()
            .args(["sync", "-L"])
            .arg(s.path("src"))
            .arg("c:rclone"),
    );
    // Same files, sizes and modification times (folders' own times and listing order aside).
    let files = |remote: &str| {
        let out = run_ok(
            s.rclone()
                .args(["lsf", "-R", "--files-only", "--format", "pst", remote]),
        );
        let mut lines: Vec<String> = out.lines().map(str::to_owned).collect();
        lines.sort();
        lines
    };
    let poof = files("c:poof");
    assert_eq!(poof, files("c:rclone"));
    assert!(
        poof.iter()
            .any(|l| l.starts_with("linked/a/65536.bin;65536;")),
        "{poof:?}"
    );
    assert!(
        poof.iter().any(|l| l.starts_with("one-again;1;")),
        "{poof:?}"
    );

    // Without -L the links are skipped with a warning, and nothing behind them is copied.
    let out = run(s
        .poof()
        .args(["sync", "--no-progress"])
        .arg(s.path("src"))
        .arg("c:plain"));
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("skipping symbolic link"));
    let plain = run_ok(s.rclone().args(["lsf", "-R", "c:plain"]));
    assert!(
        !plain.contains("linked") && !plain.contains("one-again"),
        "{plain}"
    );
}

#[test]
fn pass_bad_blocks_zeroes_a_damaged_block_as_rclone_does() {
    let opts = CryptOpts::default();
    let s = Scratch::new();
    std::fs::create_dir_all(s.path("enc")).unwrap();
    std::fs::create_dir_all(s.path("src")).unwrap();
    let enc = s.path("enc").display().to_string();
    let strict = opts.section("c", &enc);
    let lenient = opts
        .section("p", &enc)
        .replace("[p]\n", "[p]\npass_bad_blocks = true\n");
    s.write_config(&(strict + &lenient));
    std::fs::write(s.path("src/big"), pattern(3 * 65536 + 10, 9)).unwrap();
    run_ok(s.rclone().arg("copy").arg(s.path("src")).arg("c:"));
    // Damage one byte of block 1.
    let stored = s.path("enc").join(opts.names().encrypt_file_name("big"));
    let mut bytes = std::fs::read(&stored).unwrap();
    bytes[32 + 65552 + 100] ^= 0x40;
    std::fs::write(&stored, bytes).unwrap();

    // Large and ranged reads both pass the block as zeroes, exactly as rclone does, and say so.
    for extra in [&[][..], &["--offset", "65000", "--count", "70000"][..]] {
        let ours = run(s.poof().args(["cat", "p:big"]).args(extra));
        let theirs = run(s.rclone().args(["cat", "p:big"]).args(extra));
        assert!(ours.status.success() && theirs.status.success());
        assert_eq!(ours.stdout, theirs.stdout, "{extra:?}");
        assert!(String::from_utf8_lossy(&ours.stderr).contains("pass_bad_blocks"));
    }
    // Without the option the damaged file is an error.
    let strict = run(s.poof().args(["cat", "c:big"]));
    assert!(!strict.status.success());
    assert!(String::from_utf8_lossy(&strict.stderr).contains("authenticat"));
}
