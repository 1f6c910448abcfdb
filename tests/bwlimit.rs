//! `--bwlimit` and poof.conf's `"bwlimit"`: a limited run takes at least the time its bytes
//! need at the rate, an unlimited one far less, only the limit of the run's direction counts,
//! the bytes arrive intact (rclone's cryptcheck), and bad specs are refused before any work.
//! Timings are behaviour with wide margins, not benchmarks: a limited run can only be slower
//! than its bytes allow, never faster, so the lower bounds hold on any machine.

use std::ffi::OsStr;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::harness::home::{populate, snapshot, Home};
use crate::harness::{byte_tree, pattern, run, run_ok, CryptOpts, Scratch};

const KIB: usize = 1024;
const MIB: usize = 1024 * KIB;

/// Runs `cmd`, which must succeed; how long it took.
fn timed(cmd: &mut Command) -> Duration {
    let started = Instant::now();
    run_ok(cmd);
    started.elapsed()
}

/// 4 MiB in `dir`: two files streamed (above 1 MiB) and eight read and written whole.
fn four_mib(dir: &Path) {
    let mut files = vec![
        ("big/one.bin".to_owned(), pattern(3 * MIB / 2, 1)),
        ("big/two.bin".to_owned(), pattern(3 * MIB / 2, 2)),
    ];
    for i in 0..8u64 {
        files.push((format!("small/{i}.bin"), pattern(128 * KIB, 10 + i)));
    }
    let files: Vec<(&str, Vec<u8>)> = files
        .iter()
        .map(|(name, data)| (name.as_str(), data.clone()))
        .collect();
    populate(dir, &files);
}

#[test]
fn a_limit_slows_uploads_and_downloads_to_its_rate_and_keeps_the_bytes() {
    let s = Scratch::new();
    let src = s.path("src");
    four_mib(&src);
    let vault = s.path("vault");
    std::fs::create_dir_all(&vault).unwrap();
    s.write_config(&CryptOpts::default().section("secret", &vault.display().to_string()));
    let sync = |from: &OsStr, to: &OsStr, limit: Option<&str>| {
        let mut cmd = s.poof();
        cmd.args(["sync", "--no-progress"]).arg(from).arg(to);
        if let Some(limit) = limit {
            cmd.args(["--bwlimit", limit]);
        }
        timed(&mut cmd)
    };
    let up = |to: &str, limit| sync(src.as_os_str(), OsStr::new(to), limit);

    let free = up("secret:free", None);
    // A limit of downloads alone leaves an upload free.
    let down_only = up("secret:down-only", Some("off:1M"));
    // 4 MiB at 1 MiB/s, less the first tenth of a second's burst: 3.9 s at least.
    let limited = up("secret:limited", Some("1M"));
    assert!(limited >= Duration::from_secs(3), "{limited:?}");
    for fast in [free, down_only] {
        assert!(fast * 2 < limited, "{fast:?} against {limited:?}");
    }
    for remote in ["secret:free", "secret:down-only", "secret:limited"] {
        run_ok(s.rclone().arg("cryptcheck").arg(&src).arg(remote));
    }

    // From the vault it is a download: the second rate counts, 4 MiB at 2 MiB/s.
    let back = s.path("back");
    let restored = sync(
        OsStr::new("secret:limited"),
        back.as_os_str(),
        Some("off:2M"),
    );
    assert!(restored >= Duration::from_millis(1800), "{restored:?}");
    assert_eq!(byte_tree(&back), byte_tree(&src));
}

#[test]
fn bad_specs_exit_2_with_one_line_naming_the_bad_part_before_any_work() {
    let s = Scratch::new();
    populate(&s.path("src"), &[("a.txt", b"alpha\n".to_vec())]);
    s.write_config("");
    for (spec, named) in [
        ("10X", "\"10X\" is not a rate"),
        ("", "empty"),
        ("1M:2M:3M", "\"1M:2M:3M\" is not a rate"),
        ("25:00,1M", "\"25:00\" is not a time of day"),
        ("Moon-08:00,1M", "\"Moon\" is not a day of the week"),
        ("08:00,1M 08:00,2M", "both set the rate every day at 08:00"),
        ("2P", "\"2P\" is above 1P"),
        ("100B", "\"100B\" is below 1K"),
    ] {
        for verb in ["copy", "sync"] {
            let out = run(s
                .poof()
                .args([verb, "--no-progress", "--bwlimit", spec])
                .arg(s.path("src"))
                .arg(s.path("dst")));
            let err = String::from_utf8_lossy(&out.stderr).into_owned();
            assert_eq!(out.status.code(), Some(2), "{spec:?}: {err}");
            let first = err.lines().next().unwrap_or_default();
            assert!(
                first.contains("--bwlimit") && first.contains(named),
                "{spec:?}: {err}"
            );
            assert!(!s.path("dst").exists(), "{spec:?}: something was copied");
        }
    }
    // The folder runs take the same flag.
    for verb in ["backup", "upload", "download"] {
        let out = run(s.poof().args([verb, "--bwlimit", "fast"]));
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        assert_eq!(out.status.code(), Some(2), "{verb}: {err}");
        assert!(err.contains("\"fast\" is not a rate"), "{verb}: {err}");
    }
}

#[test]
fn poof_conf_limits_backups_unless_the_flag_says_otherwise() {
    let h = Home::configured();
    let docs = h.home().join("docs");
    let files = populate(&docs, &[("photo.raw", pattern(5 * MIB / 4, 7))]);
    h.add_path(&docs, "docs");

    h.set_conf("bwlimit", serde_json::Value::from("fast"));
    let out = run(h.poof().args(["backup", "--no-progress"]));
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!out.status.success(), "{err}");
    assert!(
        err.contains("key \"bwlimit\" = \"fast\": \"fast\" is not a rate"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");

    // 1.25 MiB at 512 KiB/s, less one crypt block of burst: 2.3 s at least.
    h.set_conf("bwlimit", serde_json::Value::from("512k"));
    let limited = timed(h.poof().args(["backup", "--no-progress"]));
    assert!(limited >= Duration::from_millis(2200), "{limited:?}");
    // `--bwlimit off` lifts poof.conf's limit.
    let restore = h.scratch.path("restore");
    let free = timed(
        h.poof()
            .args(["download", "--no-progress", "--bwlimit", "off", "--to"])
            .arg(&restore),
    );
    assert!(free * 2 < limited, "{free:?} against {limited:?}");
    assert_eq!(snapshot(&restore.join("docs")), files);
}
