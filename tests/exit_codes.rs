//! poof's exit codes, as a timer or a script sees them: 0 done, 1 error, 2 usage or config
//! error, 3 done but some source files could not be read, 4 refused by a guard, 5 another run
//! holds the lock, 6 storage unreachable. Each is provoked for real: a user's poof.conf and
//! encrypted vault, files the disk refuses to a user that is not root, stores on ports where
//! nothing listens.

use std::ffi::OsStr;
use std::path::Path;
use std::process::Command;

use crate::harness::home::{snapshot, Home, LOCK_FILE};
use crate::harness::{pattern, run, run_ok};

/// A HOME with an encrypted vault and `~/docs` backed up once.
fn backed_up() -> Home {
    let (h, _) = Home::with_docs(&[
        ("notes.txt", b"remember the milk\n".to_vec()),
        ("photos/big.bin", pattern(100_000, 1)),
        ("private/diary.txt", b"dear diary\n".to_vec()),
        ("secret.txt", b"the code is 1234\n".to_vec()),
    ]);
    run_ok(h.poof().arg("backup"));
    h
}

/// Runs `cmd`; its exit code and stderr.
fn code_of(cmd: &mut Command) -> (i32, String) {
    let out = run(cmd);
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    (out.status.code().expect("exited"), err)
}

/// `cmd` run as the user `nobody` (uid 65534) through setpriv, with the same environment.
fn as_nobody(cmd: &Command) -> Command {
    let mut nobody = Command::new("setpriv");
    nobody
        .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
        .arg(cmd.get_program())
        .args(cmd.get_args());
    for (key, value) in cmd.get_envs() {
        match value {
            Some(value) => nobody.env(key, value),
            None => nobody.env_remove(key),
        };
    }
    nobody
}

/// Gives the folder `root` and everything below it to `nobody`.
fn give_to_nobody(root: &Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(root, std::fs::Permissions::from_mode(0o755)).unwrap();
    let status = Command::new("chown")
        .args(["-R", "65534:65534"])
        .arg(root)
        .status()
        .unwrap();
    assert!(status.success());
}

fn chmod(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// The files rclone lists in the vault's `docs` folder.
fn in_vault(h: &Home) -> Vec<String> {
    let remote = h.poof_conf()["remote"].as_str().unwrap().to_owned();
    let out = run_ok(
        h.rclone()
            .args(["lsf", "-R", "--files-only"])
            .arg(format!("{remote}:docs")),
    );
    out.lines().map(str::to_owned).collect()
}

#[test]
fn done_is_0_and_an_error_of_the_run_is_1() {
    let h = backed_up();
    let (code, err) = code_of(h.poof().arg("backup"));
    assert_eq!(code, 0, "{err}");
    // A name in the vault that does not decrypt (in each backed-up folder, below the bucket):
    // the run copies what it can, deletes nothing and fails.
    let bucket = std::fs::read_dir(h.vault())
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    for folder in std::fs::read_dir(bucket).unwrap() {
        std::fs::write(folder.unwrap().path().join("not-an-encrypted-name"), b"x").unwrap();
    }
    std::fs::write(h.home().join("docs/new.txt"), b"new\n").unwrap();
    let (code, err) = code_of(h.poof().arg("backup"));
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("not-an-encrypted-name"), "{err}");
    assert!(in_vault(&h).contains(&"new.txt".to_owned()));
}

#[test]
fn usage_and_config_errors_are_2() {
    let h = backed_up();
    for args in [
        &["backup", "--no-such-flag"][..],
        &["backup", "--transfers", "many"],
        &["download", "--at", "the day before yesterday"],
        &["download", "/not/a/folder/of/poof.conf"],
        &["sync", "nosuchremote:x", "/tmp"],
        &["backup", "--filter", "? bad rule"],
    ] {
        let (code, err) = code_of(h.poof().args(args));
        assert_eq!(code, 2, "{args:?}: {err}");
    }
    let conf = h.confdir().join("poof.conf");
    std::fs::write(&conf, "{ \"remote\": ").unwrap();
    let (code, err) = code_of(h.poof().arg("backup"));
    assert_eq!(code, 2, "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
}

#[test]
fn unreadable_source_files_are_3_and_the_rest_is_backed_up() {
    let h = backed_up();
    let docs = h.home().join("docs");
    std::fs::write(docs.join("notes.txt"), b"remember the milk and the eggs\n").unwrap();
    give_to_nobody(&h.scratch.path(""));
    chmod(&docs.join("secret.txt"), 0o000);
    chmod(&docs.join("private"), 0o000);
    std::fs::write(docs.join("secret.txt"), b"changed\n").unwrap();
    let (code, err) = code_of(&mut as_nobody(h.poof().arg("backup")));
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("secret.txt: Failed to copy"), "{err}");
    assert!(err.contains("private: cannot read the folder"), "{err}");
    // What could be read is backed up; what could not is neither replaced nor deleted.
    let remote = h.poof_conf()["remote"].as_str().unwrap().to_owned();
    let notes = run_ok(
        h.rclone()
            .arg("cat")
            .arg(format!("{remote}:docs/notes.txt")),
    );
    assert_eq!(notes, "remember the milk and the eggs\n");
    let secret = run_ok(
        h.rclone()
            .arg("cat")
            .arg(format!("{remote}:docs/secret.txt")),
    );
    assert_eq!(secret, "the code is 1234\n");
    assert!(in_vault(&h).contains(&"private/diary.txt".to_owned()));
    // A listing that cannot see a folder says so and fails, rather than listing less.
    let (code, err) = code_of(&mut as_nobody(h.poof().arg("ls").arg(&docs)));
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("private: cannot read the folder"), "{err}");
    // The folder readable again, the file still not: still 3; both readable: 0.
    chmod(&docs.join("private"), 0o755);
    let (code, _) = code_of(&mut as_nobody(h.poof().arg("backup")));
    assert_eq!(code, 3);
    chmod(&docs.join("secret.txt"), 0o644);
    let (code, err) = code_of(&mut as_nobody(h.poof().arg("backup")));
    assert_eq!(code, 0, "{err}");
}

#[test]
fn a_guard_refusal_is_4_and_changes_nothing() {
    let h = backed_up();
    let docs = h.home().join("docs");
    std::fs::remove_dir_all(&docs).unwrap();
    std::fs::create_dir(&docs).unwrap();
    let vault = snapshot(&h.vault());
    let (code, err) = code_of(h.poof().arg("backup"));
    assert_eq!(code, 4, "{err}");
    assert!(err.contains("poof: refused:"), "{err}");
    assert_eq!(snapshot(&h.vault()), vault);
}

#[test]
fn a_held_lock_is_5() {
    let h = backed_up();
    let lock = std::fs::File::create(h.confdir().join(LOCK_FILE)).unwrap();
    lock.try_lock().unwrap();
    for command in ["backup", "upload", "download"] {
        let (code, err) = code_of(h.poof().arg(command));
        assert_eq!(code, 5, "{command}: {err}");
        assert!(err.contains("another poof is running"), "{err}");
    }
    drop(lock);
    assert_eq!(code_of(h.poof().arg("backup")).0, 0);
}

/// A port on 127.0.0.1 where nothing listens.
fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

#[test]
fn a_store_that_cannot_be_reached_is_6_and_nothing_changes() {
    let h = backed_up();
    let port = closed_port();
    let obscured = run_ok(h.rclone().args(["obscure", "secret"]));
    let rclone_conf = h.confdir().join("rclone-poof.conf");
    let mut text = std::fs::read_to_string(&rclone_conf).unwrap();
    text.push_str(&format!(
        "\n[dead-sftp]\ntype = sftp\nhost = 127.0.0.1\nport = {port}\nuser = me\npass = {}\n\
         \n[dead-dav]\ntype = webdav\nurl = http://127.0.0.1:{port}/\n\
         \n[dead-s3]\ntype = s3\nprovider = Other\nendpoint = http://127.0.0.1:{port}\n\
         access_key_id = a\nsecret_access_key = b\n\
         \n[dead-crypt]\ntype = crypt\nremote = dead-sftp:vault\npassword = {}\n",
        obscured.trim(),
        obscured.trim()
    ));
    crate::harness::write_private(&rclone_conf, &text);
    let docs = snapshot(&h.home().join("docs"));
    for remote in ["dead-crypt", "dead-dav", "dead-s3"] {
        h.set_conf("remote", serde_json::Value::from(remote));
        for command in ["backup", "download"] {
            let (code, err) = code_of(h.poof().arg(command));
            assert_eq!(code, 6, "{remote} {command}: {err}");
        }
    }
    let (code, err) = code_of(
        h.poof()
            .arg("sync")
            .arg(h.home().join("docs"))
            .arg(OsStr::new("dead-dav:docs")),
    );
    assert_eq!(code, 6, "{err}");
    assert_eq!(snapshot(&h.home().join("docs")), docs);
}

#[test]
fn help_lists_every_exit_code() {
    let h = Home::new();
    let help = run_ok(h.poof().arg("--help"));
    let codes = help
        .split("Exit codes:")
        .nth(1)
        .expect("an exit code section");
    for (code, word) in [
        (0, "done"),
        (1, "error"),
        (2, "usage or config error"),
        (3, "could not be read"),
        (4, "refused"),
        (5, "lock"),
        (6, "could not be reached"),
    ] {
        let line = codes
            .lines()
            .find(|l| l.trim_start().starts_with(&format!("{code} ")))
            .unwrap_or_else(|| panic!("no line for {code}: {codes}"));
        assert!(line.contains(word), "{line}");
    }
}
