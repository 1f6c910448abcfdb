//! poof's own setup commands on a fresh temporary HOME: `paths`, `config`, `cconfig` (the
//! embedded encrypted vault, read the same way by the real rclone), `econfig`, `cryptoggle`,
//! `lconfig --dry-run`, `neuter`; and broken config files refused with one line.

use std::os::unix::fs::PermissionsExt;

use crate::harness::home::Home;
use crate::harness::{run, run_ok};

fn mode(path: &std::path::Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn paths_prints_both_files() {
    let h = Home::new();
    let out = run_ok(h.poof().arg("paths"));
    let conf = h.confdir();
    assert_eq!(
        out,
        format!(
            "poof.conf = {}\nrclone-poof.conf = {}\n",
            conf.join("poof.conf").display(),
            conf.join("rclone-poof.conf").display()
        )
    );
}

#[test]
fn config_creates_a_private_poof_conf_with_the_original_schema() {
    let h = Home::new();
    let out = run_ok(h.poof().arg("config"));
    let conf = h.poof_conf();
    assert!(conf["bucket"]
        .as_str()
        .unwrap()
        .starts_with("poofbackup-tester-"));
    assert_eq!(
        conf["paths"][h.confdir().display().to_string()].as_str(),
        Some("poof-config")
    );
    assert!(conf["confFile"]
        .as_str()
        .unwrap()
        .ends_with("rclone-poof.conf"));
    assert!(out.contains("\"bucket\""));
    assert_eq!(mode(&h.confdir().join("poof.conf")), 0o600);
    assert_eq!(mode(&h.confdir()), 0o700);
    // A second run keeps the same file.
    run_ok(h.poof().arg("config"));
    assert_eq!(h.poof_conf(), conf);
}

#[test]
fn cconfig_writes_an_encrypted_vault_that_rclone_reads_the_same_way() {
    let h = Home::new();
    let out = run_ok(h.poof().arg("cconfig"));
    let rc_path = h.confdir().join("rclone-poof.conf");
    assert_eq!(mode(&rc_path), 0o600);
    let text = std::fs::read_to_string(&rc_path).unwrap();
    // Printed with every secret masked; the file itself holds obscured passwords.
    let obscured: Vec<&str> = text
        .lines()
        .filter_map(|l| {
            l.strip_prefix("password = ")
                .or(l.strip_prefix("password2 = "))
        })
        .collect();
    assert_eq!(obscured.len(), 2, "{text}");
    for secret in &obscured {
        assert!(!out.contains(secret), "cconfig printed a secret: {out}");
    }
    assert!(out.contains("type = crypt"));
    assert_eq!(h.poof_conf()["remote"], "poof-crypt");
    let vault = h.home().join(".local/share/poof/vault");
    assert!(vault.is_dir());
    assert_eq!(mode(&vault), 0o700);

    // The real rclone sees the same remotes: the crypt remote over the vault alias.
    let dump: serde_json::Value =
        serde_json::from_str(&run_ok(h.rclone().args(["config", "dump"]))).unwrap();
    assert_eq!(dump["poof-crypt"]["type"], "crypt");
    assert_eq!(dump["poof-backup"]["type"], "alias");
    assert_eq!(
        dump["poof-backup"]["remote"].as_str(),
        Some(vault.display().to_string().as_str())
    );
    let bucket = h.poof_conf()["bucket"].as_str().unwrap().to_owned();
    assert_eq!(
        dump["poof-crypt"]["remote"].as_str(),
        Some(format!("poof-backup:{bucket}").as_str())
    );
    // rclone can write through it into the vault, and poof decrypts the names it wrote.
    std::fs::write(h.scratch.path("note.txt"), b"hello vault").unwrap();
    run_ok(
        h.rclone()
            .arg("copyto")
            .arg(h.scratch.path("note.txt"))
            .arg("poof-crypt:docs/note.txt"),
    );
    let names =
        run_ok(
            h.rclone()
                .args(["cryptdecode", "--reverse", "poof-crypt:", "docs/note.txt"]),
        );
    let encrypted = names.trim_end().split_once(" \t ").unwrap().1.to_owned();
    assert!(vault.join(&bucket).join(&encrypted).is_file());
    let ours = run_ok(h.poof().args(["cryptdecode", "poof-crypt:", &encrypted]));
    assert_eq!(ours.trim_end(), format!("{encrypted} \t docs/note.txt"));
}

#[test]
fn econfig_adds_a_crypt_remote_once_and_cryptoggle_switches() {
    let h = Home::after(&["config"]);
    assert_eq!(h.poof_conf()["remote"], "poof-backup");
    let out = run_ok(h.poof().arg("econfig"));
    assert!(out.contains("password  = "), "{out}");
    assert_eq!(h.poof_conf()["remote"], "poof-crypt");
    // The password shown once is the one in the file: rclone reveals the obscured value to it.
    let shown = out
        .lines()
        .find_map(|l| l.trim().strip_prefix("password  = "))
        .unwrap()
        .to_owned();
    let text = std::fs::read_to_string(h.confdir().join("rclone-poof.conf")).unwrap();
    let obscured = text
        .lines()
        .find_map(|l| l.strip_prefix("password = "))
        .unwrap();
    let revealed = run_ok(h.rclone().args(["reveal", "--", obscured]));
    assert_eq!(revealed.trim_end(), shown);

    let again = run(h.poof().arg("econfig"));
    assert!(!again.status.success());
    let err = String::from_utf8_lossy(&again.stderr);
    assert!(err.contains("will not overwrite"), "{err}");
    assert_eq!(
        std::fs::read_to_string(h.confdir().join("rclone-poof.conf")).unwrap(),
        text,
        "a refused econfig changed the file"
    );

    let off = run_ok(h.poof().arg("cryptoggle"));
    assert_eq!(off, "encryption disabled: remote = poof-backup\n");
    assert_eq!(h.poof_conf()["remote"], "poof-backup");
    let on = run_ok(h.poof().arg("cryptoggle"));
    assert_eq!(on, "encryption enabled: remote = poof-crypt\n");
}

#[test]
fn broken_poof_conf_is_one_line_naming_file_and_key() {
    let h = Home::after(&["config"]);
    let path = h.confdir().join("poof.conf");
    for (text, needle) in [
        ("{\"bucket\": ", "invalid JSON"),
        (r#"{"bucket":"b","confFile":"x","paths":{}}"#, "remote"),
        (
            r#"{"bucket":"b","confFile":"x","paths":{"relative/dir":"d"},"remote":"r"}"#,
            "not an absolute path",
        ),
    ] {
        std::fs::write(&path, text).unwrap();
        let out = run(h.poof().arg("cryptoggle"));
        assert!(!out.status.success(), "{text}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(
            err.contains(&path.display().to_string()) && err.contains(needle),
            "{err}"
        );
    }
}

#[test]
fn world_writable_config_is_refused() {
    let h = Home::after(&["config"]);
    let path = h.confdir().join("poof.conf");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o666)).unwrap();
    let out = run(h.poof().arg("config"));
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("writable by every user"));
}

#[test]
fn lconfig_dry_run_shows_the_schedule_and_changes_nothing() {
    let h = Home::after(&["cconfig"]);
    let out = run_ok(
        h.poof()
            .env("POOF_SCHEDULER", "systemd")
            .args(["lconfig", "--dry-run"]),
    );
    let unit = h.home().join(".config/systemd/user/poof-backup.timer");
    assert!(
        out.contains(&format!("would write {}", unit.display())),
        "{out}"
    );
    assert!(!unit.exists());
}

#[test]
fn neuter_needs_yes_without_a_terminal_and_then_removes_the_config() {
    let h = Home::after(&["cconfig"]);
    let out = run(h.poof().env("POOF_SCHEDULER", "systemd").arg("neuter"));
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--yes"));
    assert!(h.confdir().join("rclone-poof.conf").exists());

    run_ok(
        h.poof()
            .env("POOF_SCHEDULER", "systemd")
            .args(["neuter", "--yes"]),
    );
    assert!(!h.confdir().exists());
}

#[test]
fn version_names_poof_and_its_crypt_crate() {
    let h = Home::new();
    let out = run_ok(h.poof().arg("version"));
    assert!(
        out.starts_with(&format!("poof {}\n", env!("CARGO_PKG_VERSION"))),
        "{out}"
    );
    assert!(out.contains("poof-crypt "));
}

#[test]
fn config_add_and_remove_a_folder() {
    let h = Home::new();
    let docs = h.home().join("Documents");
    std::fs::create_dir_all(&docs).unwrap();
    run_ok(h.poof().arg("config").arg("--add").arg(&docs));
    assert_eq!(
        h.poof_conf()["paths"][docs.display().to_string()].as_str(),
        Some("Documents")
    );
    // The same cloud name for another folder is refused; a file is refused.
    let other = h.home().join("x/Documents");
    std::fs::create_dir_all(&other).unwrap();
    let out = run(h.poof().arg("config").arg("--add").arg(&other));
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("already used"));
    std::fs::write(h.home().join("file"), b"x").unwrap();
    assert!(!run(h
        .poof()
        .arg("config")
        .arg("--add")
        .arg(h.home().join("file")))
    .status
    .success());
    run_ok(h.poof().arg("config").arg("--remove").arg(&docs));
    assert!(h.poof_conf()["paths"]
        .get(docs.display().to_string())
        .is_none());
}
