//! `poof cryptdecode`, `poof obscure` and `poof reveal` side by side with the real rclone: same
//! lines for cryptdecode in both directions (including names that fail), and obscured passwords
//! that each side reveals.

use std::io::Write;
use std::process::Stdio;

use crate::harness::{run, run_ok, CryptOpts, Scratch};

/// Names that exercise padding boundaries, unicode, dots, spaces and directories.
const NAMES: &[&str] = &[
    "a",
    "fifteen-bytes-x",
    "sixteen-bytes-xx",
    "seventeen-bytes-x",
    "with space.txt",
    ".hidden",
    "日本語のファイル名",
    "émoji 🎉.png",
    "dir/sub/file.txt",
    "Mixed Case/DOC.PDF",
];

fn config_with(opts: &[(&str, CryptOpts)]) -> Scratch {
    let s = Scratch::new();
    let text: String = opts
        .iter()
        .map(|(name, o)| o.section(name, &s.path("enc").display().to_string()))
        .collect();
    s.write_config(&text);
    s
}

/// One crypt remote per name mode and encoding, each the default but for its mode or encoding
/// (`std64` also has a salt).
fn remotes() -> Vec<(&'static str, CryptOpts)> {
    let with = |change: fn(&mut CryptOpts)| {
        let mut opts = CryptOpts::default();
        change(&mut opts);
        opts
    };
    vec![
        ("std32", CryptOpts::default()),
        (
            "std64",
            with(|o| {
                o.filename_encoding = "base64";
                o.password2 = "salt".into();
            }),
        ),
        ("std32768", with(|o| o.filename_encoding = "base32768")),
        ("plaindirs", with(|o| o.directory_name_encryption = false)),
        ("obf", with(|o| o.filename_encryption = "obfuscate")),
        ("off", with(|o| o.filename_encryption = "off")),
    ]
}

#[test]
fn cryptdecode_matches_rclone_both_ways() {
    let remotes = remotes();
    let s = config_with(&remotes);
    for (name, _) in &remotes {
        let remote = format!("{name}:");
        let theirs = run_ok(
            s.rclone()
                .args(["cryptdecode", "--reverse", &remote])
                .args(NAMES),
        );
        let ours = run_ok(
            s.poof()
                .args(["cryptdecode", "--reverse", &remote])
                .args(NAMES),
        );
        assert_eq!(ours, theirs, "cryptdecode --reverse on {remote}");

        let encrypted: Vec<&str> = theirs
            .lines()
            .map(|l| l.split_once(" \t ").expect("separator").1)
            .collect();
        assert_eq!(encrypted.len(), NAMES.len());
        let theirs = run_ok(s.rclone().args(["cryptdecode", &remote]).args(&encrypted));
        let ours = run_ok(s.poof().args(["cryptdecode", &remote]).args(&encrypted));
        assert_eq!(ours, theirs, "cryptdecode on {remote}");
    }
}

#[test]
fn cryptdecode_failures_match_rclone() {
    let remotes = remotes();
    let s = config_with(&remotes);
    let bad = [
        "not-base32!",
        "abc",
        "0123456789abcdef",
        "ABCDEFGHIJKLMNOP====",
        "x/y",
        "plain.txt",
    ];
    for (name, _) in &remotes {
        let remote = format!("{name}:");
        let theirs = run_ok(s.rclone().args(["cryptdecode", &remote]).args(bad));
        let ours = run_ok(s.poof().args(["cryptdecode", &remote]).args(bad));
        assert_eq!(ours, theirs, "cryptdecode of bad names on {remote}");
    }
}

#[test]
fn cryptdecode_takes_more_than_ten_names() {
    let s = config_with(&[("c", CryptOpts::default())]);
    let many: Vec<String> = (0..25).map(|i| format!("name-{i}")).collect();
    let ours = run_ok(
        s.poof()
            .args(["cryptdecode", "--reverse", "c:"])
            .args(&many),
    );
    assert_eq!(ours.lines().count(), 25);
    let mut theirs = String::new();
    for chunk in many.chunks(10) {
        theirs += &run_ok(
            s.rclone()
                .args(["cryptdecode", "--reverse", "c:"])
                .args(chunk),
        );
    }
    assert_eq!(ours, theirs);
}

#[test]
fn cryptdecode_rejects_a_remote_that_is_not_crypt() {
    let s = Scratch::new();
    s.write_config("[plain]\ntype = local\n");
    let out = run(s.poof().args(["cryptdecode", "plain:", "x"]));
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("not a crypt remote"), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
}

#[test]
fn obscure_and_reveal_round_trip_with_rclone() {
    let s = Scratch::new();
    s.write_config("");
    for pw in [
        "hunter2",
        "pass with spaces",
        "ünïcødé 密码",
        &"x".repeat(200),
    ] {
        let ours = run_ok(s.poof().args(["obscure", pw]));
        let revealed = run_ok(s.rclone().args(["reveal", "--", ours.trim_end()]));
        assert_eq!(revealed.trim_end_matches('\n'), pw);

        let theirs = run_ok(s.rclone().args(["obscure", pw]));
        let revealed = run_ok(s.poof().args(["reveal", theirs.trim_end()]));
        assert_eq!(revealed.trim_end_matches('\n'), pw);
    }
}

#[test]
fn obscure_reads_the_password_from_stdin() {
    let s = Scratch::new();
    let mut child = s
        .poof()
        .args(["obscure", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"from stdin\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let obscured = String::from_utf8(out.stdout).unwrap();
    let revealed = run_ok(s.rclone().args(["reveal", "--", obscured.trim_end()]));
    assert_eq!(revealed.trim_end(), "from stdin");
}

#[test]
fn reveal_of_garbage_is_one_clear_error() {
    let s = Scratch::new();
    let out = run(s.poof().args(["reveal", "!!not obscured!!"]));
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("obscured"), "{err}");
}

#[test]
fn encrypted_rclone_config_is_read_with_its_password() {
    let s = config_with(&[("c", CryptOpts::default())]);
    let plain_answer = run_ok(s.poof().args(["cryptdecode", "--reverse", "c:", "a.txt"]));
    // The real rclone encrypts its config file.
    run_ok(
        s.rclone()
            .args(["--password-command", "echo config secret"])
            .args(["config", "encryption", "set"]),
    );
    let text = std::fs::read_to_string(s.config()).unwrap();
    assert!(text.contains("RCLONE_ENCRYPT_V0:"), "{text}");

    let with_env = run_ok(s.poof().env("RCLONE_CONFIG_PASS", "config secret").args([
        "cryptdecode",
        "--reverse",
        "c:",
        "a.txt",
    ]));
    assert_eq!(with_env, plain_answer);
    let with_command = run_ok(
        s.poof()
            .env("RCLONE_PASSWORD_COMMAND", "echo config secret")
            .args(["cryptdecode", "--reverse", "c:", "a.txt"]),
    );
    assert_eq!(with_command, plain_answer);

    for env in [None, Some("wrong")] {
        let mut cmd = s.poof();
        if let Some(pw) = env {
            cmd.env("RCLONE_CONFIG_PASS", pw);
        }
        let out = run(cmd.args(["cryptdecode", "--reverse", "c:", "a.txt"]));
        assert!(!out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(
            err.contains("RCLONE_CONFIG_PASS") || err.contains("password"),
            "{err}"
        );
        assert!(!err.contains("config secret"), "{err}");
    }
}
