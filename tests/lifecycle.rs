//! The poof commands' life cycle on a fresh temporary HOME, driving the `poof` binary:
//! `config` -> `econfig` -> a user folder added to poof.conf -> `verify` -> `backup` -> the real
//! rclone restores the same bytes and times from the vault -> `upload` wipes only verified
//! files -> `download` restores them -> `cryptoggle` -> `neuter`; the same over S3
//! (`rclone serve s3`). Each guard is shown refusing with its exit code and one-line reason,
//! and with nothing changed: a backup of an emptied folder, a download with wrong keys or one
//! deleting too much, an upload with one file the vault cannot store, a second run while the
//! lock is held. Every `--dry-run` changes nothing.

use std::process::Output;

use crate::harness::home::{populate, snapshot, Home, Snapshot, LOCK_FILE};
use crate::harness::s3::S3Server;
use crate::harness::{
    assert_contains, lines_starting, pattern, rclone_bin, run, run_expect, run_ok, write_private,
    CryptOpts, Scratch,
};

/// A few files of the user: small, multi-block, nested, empty.
fn user_files() -> Vec<(&'static str, Vec<u8>)> {
    vec![
        ("notes.txt", b"remember the milk\n".to_vec()),
        ("photos/big.bin", pattern(200_000, 1)),
        ("photos/2024/tiny.bin", pattern(10, 2)),
        ("empty.txt", Vec::new()),
    ]
}

/// `poof <command>`, which must exit with `code` and one line on stderr; that line.
fn one_line_error(h: &Home, command: &str, code: i32) -> String {
    let (_, err) = run_expect(h.poof().arg(command), code);
    assert_eq!(err.lines().count(), 1, "{command}: {err}");
    err
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Asserts a refused run: exit status 4 and exactly one `poof: refused:` line containing
/// `needle`.
fn assert_refused(out: &Output, needle: &str) {
    let err = stderr(out);
    assert_eq!(out.status.code(), Some(4), "{err}");
    let refusals = lines_starting(&err, "poof: refused:");
    assert_eq!(refusals.len(), 1, "{err}");
    assert!(refusals[0].contains(needle), "{err}");
    assert!(refusals[0].contains("nothing changed"), "{err}");
}

/// A HOME set up as a user would: `config`, `econfig`, and a folder `docs` with
/// [`user_files`] added to poof.conf.
fn set_up() -> (Home, Snapshot) {
    Home::with_docs(&user_files())
}

/// Restores `remote` with the real rclone into a new folder and snapshots it.
fn rclone_restore(h: &Home, remote: &str) -> Snapshot {
    let out = h.scratch.path("rclone-out");
    let _ = std::fs::remove_dir_all(&out);
    run_ok(h.rclone().arg("copy").arg(remote).arg(&out));
    snapshot(&out)
}

#[test]
fn backup_upload_download_life_cycle_on_the_local_vault() {
    let (h, files) = set_up();
    let docs = h.home().join("docs");

    let out = run_ok(h.poof().arg("verify"));
    for line in [
        "exists poof.conf? - OK",
        "exists rclone-poof.conf? - OK",
        "remote poof-crypt defined? - OK",
        "encryption enabled? - ENCRYPTION_ENABLED",
        "remote reachable? - OK",
        &format!("local path {} exists? - OK", docs.display()),
        "crypt keys decrypt existing backup? - NO_DATA_YET",
    ] {
        assert!(out.contains(line), "{line:?} not in\n{out}");
    }

    // A dry run writes nothing to the vault.
    let before = snapshot(&h.vault());
    let dry = run(h.poof().args(["backup", "--dry-run"]));
    assert!(dry.status.success(), "{}", stderr(&dry));
    assert!(stderr(&dry).contains("Skipped copy as --dry-run is set"));
    assert_eq!(snapshot(&h.vault()), before);

    let out = run(h.poof().arg("backup"));
    let err = stderr(&out);
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains(&format!(
            "{} -> poof-crypt:docs: Transferred: 4 files",
            docs.display()
        )),
        "{err}"
    );
    assert!(err.contains("poof: backup of 2 folders"), "{err}");
    let out = run_ok(h.poof().arg("verify"));
    assert!(
        out.contains("crypt keys decrypt existing backup? - OK"),
        "{out}"
    );

    // The real rclone decrypts the vault into the same bytes and modification times.
    assert_eq!(rclone_restore(&h, "poof-crypt:docs"), files);
    // The config folder is backed up without the run lock.
    let conf = rclone_restore(&h, "poof-crypt:poof-config");
    let names: Vec<&str> = conf.keys().map(String::as_str).collect();
    assert_eq!(names, ["poof.conf", "rclone-poof.conf"]);

    // upload --dry-run deletes nothing.
    let dry = run(h.poof().args(["upload", "--dry-run"]));
    assert!(dry.status.success(), "{}", stderr(&dry));
    assert!(stderr(&dry).contains("would verify the 4 local files"));
    assert_eq!(snapshot(&docs), files);

    // upload empties the folder (the folder itself stays) and keeps the config folder.
    let conf_before = snapshot(&h.confdir());
    let out = run(h.poof().args(["upload", "--verify-content"]));
    let err = stderr(&out);
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains("4 local files verified and deleted, 0 kept"),
        "{err}"
    );
    assert!(docs.is_dir());
    assert_eq!(std::fs::read_dir(&docs).unwrap().count(), 0, "{err}");
    assert_eq!(snapshot(&h.confdir()), conf_before);
    assert_eq!(rclone_restore(&h, "poof-crypt:docs"), files);

    // The next scheduled backup must not mirror the emptied folder into the vault.
    let vault = snapshot(&h.vault());
    let out = run(h.poof().arg("backup"));
    assert_refused(
        &out,
        "the local folder is empty but the target holds 4 files",
    );
    assert_eq!(snapshot(&h.vault()), vault);
    // With the history on (the default), a forced run would move the files into it.
    let out = run(h.poof().args(["backup", "--force", "--dry-run"]));
    assert!(stderr(&out).contains("Skipped move into history as --dry-run is set"));
    assert_eq!(snapshot(&h.vault()), vault);

    // download --dry-run restores nothing; download restores bytes and times.
    let dry = run(h.poof().args(["download", "--dry-run"]));
    assert!(dry.status.success(), "{}", stderr(&dry));
    assert_eq!(snapshot(&docs), Snapshot::new());
    let out = run(h.poof().arg("download"));
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(snapshot(&docs), files);

    // download --to restores beside the originals.
    let restore = h.scratch.path("restore");
    run_ok(h.poof().arg("download").arg("--to").arg(&restore));
    assert_eq!(snapshot(&restore.join("docs")), files);

    let out = run_ok(h.poof().arg("cryptoggle"));
    assert_eq!(out, "encryption disabled: remote = poof-backup\n");
    let out = run_ok(h.poof().arg("verify"));
    assert!(
        out.contains("encryption enabled? - ENCRYPTION_DISABLED"),
        "{out}"
    );
    run_ok(h.poof().arg("cryptoggle"));

    run_ok(
        h.poof()
            .env("POOF_SCHEDULER", "systemd")
            .args(["neuter", "--yes"]),
    );
    assert!(!h.confdir().exists());
    let out = run(h.poof().arg("verify"));
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("exists poof.conf? - MISSING_CONFIG_FILE")
    );
}

#[test]
fn download_with_wrong_keys_leaves_the_local_folder_untouched() {
    let (h, _) = set_up();
    run_ok(h.poof().arg("backup"));
    let docs = h.home().join("docs");
    // The user has changed a file since: a wrong-key download must not touch it.
    std::fs::write(docs.join("notes.txt"), b"newer notes\n").unwrap();
    let rc_path = h.confdir().join("rclone-poof.conf");
    let text = std::fs::read_to_string(&rc_path).unwrap();
    let wrong = text
        .lines()
        .map(|l| match l.strip_prefix("password = ") {
            Some(_) => format!("password = {}", poof_crypt::obscure("not the password")),
            None => l.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("\n");
    write_private(&rc_path, &wrong);
    let local = snapshot(&docs);
    let conf = snapshot(&h.confdir());

    let out = run(h.poof().arg("download"));
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(4), "{err}");
    let refusals = lines_starting(&err, "poof: refused:");
    assert_eq!(refusals.len(), 2, "{err}");
    assert!(
        refusals.iter().all(|l| l.contains("wrong password")),
        "{err}"
    );
    assert_eq!(snapshot(&docs), local);
    assert_eq!(snapshot(&h.confdir()), conf);
}

#[test]
fn verify_reports_wrong_keys() {
    let (h, _) = set_up();
    run_ok(h.poof().arg("backup"));
    let rc_path = h.confdir().join("rclone-poof.conf");
    let text = std::fs::read_to_string(&rc_path).unwrap();
    let wrong: String = text
        .lines()
        .map(|l| match l.strip_prefix("password2 = ") {
            Some(_) => format!("password2 = {}\n", poof_crypt::obscure("wrong salt")),
            None => format!("{l}\n"),
        })
        .collect();
    write_private(&rc_path, &wrong);
    let (stdout, _) = run_expect(h.poof().arg("verify"), 1);
    assert_contains(&stdout, "crypt keys decrypt existing backup? - WRONG_KEYS");
}

#[test]
fn download_refuses_to_delete_most_local_files() {
    let (h, _) = set_up();
    run_ok(h.poof().arg("backup"));
    let docs = h.home().join("docs");
    // Five new local files the backup does not have: a restore would delete 5 of 9.
    for i in 0..5 {
        std::fs::write(docs.join(format!("new-{i}.txt")), b"new").unwrap();
    }
    let local = snapshot(&docs);
    let out = run(h.poof().arg("download"));
    assert_refused(
        &out,
        "would delete 5 of the 9 local files, more than --max-delete 50%",
    );
    assert_eq!(snapshot(&docs), local);

    let out = run(h
        .poof()
        .args(["download", "--max-delete", "60", "--dry-run"]));
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("would transfer 0 files (0 B) and delete 5 files"));
    assert_eq!(snapshot(&docs), local);

    let out = run(h.poof().args(["download", "--max-delete", "60"]));
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(snapshot(&docs).len(), 4);
}

#[test]
fn upload_with_one_file_the_vault_cannot_store_keeps_every_local_file() {
    let (h, _) = set_up();
    let docs = h.home().join("docs");
    // A 200-byte name encrypts to 333 base32 characters: more than the vault's file system
    // takes (255), so that one file is reported before anything is sent, and not copied.
    let long = "n".repeat(200);
    std::fs::write(docs.join(&long), b"cannot be stored").unwrap();
    let local = snapshot(&docs);
    let out = run(h.poof().arg("upload"));
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains(&format!(
            "ERROR : {long}: name too long for the destination"
        )),
        "{err}"
    );
    assert!(
        err.contains("not backed up cleanly: no local file deleted"),
        "{err}"
    );
    assert_eq!(snapshot(&docs), local);
}

#[test]
fn a_second_run_is_refused_while_the_lock_is_held() {
    let (h, files) = set_up();
    let lock = std::fs::File::create(h.confdir().join(LOCK_FILE)).unwrap();
    lock.try_lock().unwrap();
    std::fs::write(h.confdir().join(LOCK_FILE), "4242\n").unwrap();
    for command in ["backup", "upload", "download"] {
        let err = one_line_error(&h, command, 5);
        assert!(
            err.starts_with(&format!(
                "poof: error: another poof is running on {} (pid 4242)",
                h.confdir().display()
            )),
            "{command}: {err}"
        );
    }
    assert_eq!(snapshot(&h.home().join("docs")), files);
    assert_eq!(snapshot(&h.vault()), Snapshot::new());
    drop(lock);
    run_ok(h.poof().arg("backup"));
}

#[test]
fn a_missing_folder_is_skipped_with_a_warning() {
    let (h, _) = set_up();
    let gone = h.home().join("not-mounted");
    h.add_path(&gone, "usb");
    let out = run(h.poof().arg("backup"));
    let err = stderr(&out);
    // Done, but a source could not be read.
    assert_eq!(out.status.code(), Some(3), "{err}");
    assert_contains(
        &err,
        &format!(
            "poof: warning: skipping {} -> poof-crypt:usb",
            gone.display()
        ),
    );
    assert!(err.contains("(1 skipped, 0 refused, 0 failed)"), "{err}");
    // The other folders were backed up.
    assert!(
        err.contains("poof-crypt:docs: Transferred: 4 files"),
        "{err}"
    );
}

#[test]
fn backup_and_download_over_s3() {
    let scratch = Scratch::new();
    let bucket = "poofbackup-s3test";
    let server = S3Server::start(&scratch.path("s3"), &[bucket]);
    let confdir = scratch.path("conf");
    std::fs::create_dir_all(&confdir).unwrap();
    let crypt = CryptOpts {
        password2: "salt".into(),
        ..CryptOpts::default()
    };
    let rc = server.section("poof-s3") + &crypt.section("poof-crypt", &format!("poof-s3:{bucket}"));
    write_private(&confdir.join("rclone-poof.conf"), &rc);
    let docs = scratch.path("docs");
    let files = populate(&docs, &user_files());
    let conf = serde_json::json!({
        "bucket": bucket,
        "confFile": confdir.join("rclone-poof.conf").display().to_string(),
        "paths": { docs.display().to_string(): "docs" },
        "remote": "poof-crypt",
    });
    write_private(&confdir.join("poof.conf"), &conf.to_string());
    let poof = || {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_poof"));
        cmd.arg("--confdir")
            .arg(&confdir)
            .env_remove("RCLONE_CONFIG_PASS");
        cmd
    };

    let out = run_ok(poof().arg("verify"));
    assert!(
        out.contains("crypt keys decrypt existing backup? - NO_DATA_YET"),
        "{out}"
    );
    // Refused credentials are not "reachable".
    let wrong = scratch.path("wrong-credentials.conf");
    write_private(
        &wrong,
        &rc.replace(crate::harness::s3::SECRET_KEY, "wrong-secret"),
    );
    let out = run(poof().arg("--rcloneconf").arg(&wrong).arg("verify"));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("remote reachable? - FAILED: "), "{stdout}");
    let out = run(poof().arg("backup"));
    assert!(out.status.success(), "{}", stderr(&out));

    // The real rclone restores the same bytes and times through S3.
    let restored = scratch.path("rclone-out");
    let mut rclone = std::process::Command::new(rclone_bin());
    rclone
        .arg("--config")
        .arg(confdir.join("rclone-poof.conf"))
        .arg("copy")
        .arg("poof-crypt:docs")
        .arg(&restored);
    run_ok(&mut rclone);
    assert_eq!(snapshot(&restored), files);

    // Lose the local copy (but keep the folder), then restore it.
    std::fs::remove_dir_all(&docs).unwrap();
    std::fs::create_dir(&docs).unwrap();
    run_ok(poof().arg("download"));
    assert_eq!(snapshot(&docs), files);
    let out = run_ok(poof().arg("verify"));
    assert_contains(&out, "crypt keys decrypt existing backup? - OK");
}

#[test]
fn backup_with_undecryptable_names_on_the_target_deletes_nothing() {
    let (h, _) = set_up();
    run_ok(h.poof().arg("backup"));
    let names = run_ok(
        h.rclone()
            .args(["cryptdecode", "--reverse", "poof-crypt:", "docs"]),
    );
    let enc_docs = names.trim_end().split_once(" \t ").unwrap().1.to_owned();
    let bucket = h.poof_conf()["bucket"].as_str().unwrap().to_owned();
    std::fs::write(
        h.vault()
            .join(bucket)
            .join(enc_docs)
            .join("not-a-crypt-name"),
        b"junk",
    )
    .unwrap();
    std::fs::remove_file(h.home().join("docs/notes.txt")).unwrap();
    let vault = snapshot(&h.vault());
    let out = run(h.poof().arg("backup"));
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("cannot decrypt name"), "{err}");
    assert!(
        err.contains("not deleting 1 files because there were errors"),
        "{err}"
    );
    assert_eq!(snapshot(&h.vault()), vault);
}

#[test]
fn upload_neuter_removes_the_config_folder_only_after_every_folder_verified() {
    let (h, files) = set_up();
    let docs = h.home().join("docs");
    // One file the vault cannot store: --neuter must keep the config folder (and every file).
    let long = h.home().join("docs").join("n".repeat(200));
    std::fs::write(&long, b"x").unwrap();
    let out = run(h
        .poof()
        .env("POOF_SCHEDULER", "systemd")
        .args(["upload", "--neuter"]));
    // The failed file (exit code 1) outranks the refusal (4).
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    let refusals = lines_starting(&err, "poof: refused:");
    assert_eq!(refusals.len(), 1, "{err}");
    assert!(
        refusals[0].contains("--neuter: not every folder was verified and emptied"),
        "{err}"
    );
    assert!(h.confdir().join("rclone-poof.conf").is_file());
    assert_eq!(snapshot(&docs).len(), files.len() + 1);

    std::fs::remove_file(&long).unwrap();
    let dry =
        run(h
            .poof()
            .env("POOF_SCHEDULER", "systemd")
            .args(["upload", "--neuter", "--dry-run"]));
    assert!(dry.status.success(), "{}", stderr(&dry));
    assert!(h.confdir().join("rclone-poof.conf").is_file());
    assert_eq!(snapshot(&docs), files);

    let out = run(h
        .poof()
        .env("POOF_SCHEDULER", "systemd")
        .args(["upload", "--neuter"]));
    let err = stderr(&out);
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains("poof: warning: --neuter removes") && err.contains("crypt keys"),
        "{err}"
    );
    assert!(!h.confdir().exists());
    assert_eq!(snapshot(&docs), Snapshot::new());
}

#[test]
fn broken_config_is_one_line_and_nothing_is_synced() {
    let (h, _) = set_up();
    let path = h.confdir().join("poof.conf");
    let good = std::fs::read_to_string(&path).unwrap();
    let unknown_remote = good.replace("\"poof-crypt\"", "\"nope\"");
    for (text, needle) in [
        ("{\"bucket\": ", "invalid JSON"),
        (unknown_remote.as_str(), "key \"remote\" = \"nope\""),
    ] {
        write_private(&path, text);
        for command in ["backup", "upload", "download"] {
            let err = one_line_error(&h, command, 2);
            assert!(
                err.contains(&path.display().to_string()) && err.contains(needle),
                "{command}: {err}"
            );
        }
    }
    assert_eq!(snapshot(&h.vault()), Snapshot::new());
}

#[test]
fn upload_of_a_folder_holding_the_config_folder_keeps_the_config_folder() {
    let (h, _) = set_up();
    let dotconfig = h.home().join(".config");
    let app = populate(
        &dotconfig.join("app"),
        &[("settings.ini", b"[app]\n".to_vec())],
    );
    assert_eq!(app.len(), 1);
    h.add_path(&dotconfig, "dotconfig");
    let conf = snapshot(&h.confdir());
    let out = run(h.poof().arg("upload"));
    let err = stderr(&out);
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains("the config folder poof in it is backed up, not wiped"),
        "{err}"
    );
    assert!(!dotconfig.join("app/settings.ini").exists(), "{err}");
    assert_eq!(snapshot(&h.confdir()), conf);
    // Backed up, without the run lock.
    let names: Vec<String> = rclone_restore(&h, "poof-crypt:dotconfig")
        .into_keys()
        .collect();
    assert_eq!(
        names,
        [
            "app/settings.ini",
            "poof/poof.conf",
            "poof/rclone-poof.conf"
        ]
    );
}

#[test]
fn a_folder_holding_the_vault_is_refused() {
    let (h, _) = set_up();
    h.add_path(&h.home(), "home");
    let out = run(h.poof().arg("backup"));
    assert_refused(&out, "inside the folder itself");
    let err = stderr(&out);
    // The other folders are backed up; the vault holds no copy of the home folder.
    assert!(
        err.contains("poof-crypt:docs: Transferred: 4 files"),
        "{err}"
    );
    let out = run_ok(h.rclone().args(["lsf", "poof-crypt:"]));
    assert_eq!(out, "docs/\npoof-config/\npoof-history/\n");
}
