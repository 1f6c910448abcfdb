//! The `sftp` storage type against real servers (`rclone serve sftp` with a password, OpenSSH's
//! sshd with a key; see `harness::sftp`): crypt over sftp both ways with the real rclone (bytes
//! and modification times to the second), re-syncs that transfer nothing, `rclone check
//! --download`, a file over 1 MiB streamed, poof's own backup/download/verify, a wrong password,
//! a host key that does not match known_hosts_file, the server dying mid-run and poof killed
//! mid-upload.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant, SystemTime};

use crate::harness::sftp::{SftpServer, KEY_PASS, PASS};
use crate::harness::{
    files_below, lines_starting, pattern, run, run_ok, spawn, write_private, CryptOpts, Scratch,
};
use crate::s3_names::poof_sync;

/// Files of every kind of size, a nested folder, and one over 1 MiB (streamed), each with a
/// modification time of whole seconds (what SFTP keeps).
fn write_tree(dir: &Path, big: usize) {
    let files: Vec<(&str, usize)> = vec![
        ("empty", 0),
        ("one", 1),
        ("a/65536.bin", 65536),
        ("a/b/70000.bin", 70_000),
        ("日本語/ファイル.txt", 999),
        ("with space/big.bin", big),
    ];
    for (i, (rel, size)) in files.iter().enumerate() {
        let path = dir.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, pattern(*size, 300 + i as u64)).unwrap();
        let t = SystemTime::UNIX_EPOCH + Duration::from_secs(1_600_000_000 + i as u64 * 86_400);
        set_mtime(&path, t);
    }
}

fn set_mtime(path: &Path, t: SystemTime) {
    filetime::set_file_mtime(path, filetime::FileTime::from_system_time(t)).unwrap();
}

/// Each file below `root`: its bytes and its modification time in whole seconds.
fn snapshot(root: &Path) -> BTreeMap<String, (Vec<u8>, u64)> {
    let secs = |p: &Path| {
        let t = std::fs::metadata(p).unwrap().modified().unwrap();
        t.duration_since(SystemTime::UNIX_EPOCH).unwrap().as_secs()
    };
    files_below(root)
        .into_iter()
        .map(|rel| {
            let path = root.join(&rel);
            let seen = (std::fs::read(&path).unwrap(), secs(&path));
            (rel, seen)
        })
        .collect()
}

/// Asserts `b` holds the same files as `a`, same bytes, same modification times to the second.
fn assert_same_tree(a: &Path, b: &Path, what: &str) {
    let (want, got) = (snapshot(a), snapshot(b));
    for (rel, (bytes, secs)) in &want {
        let found = got
            .get(rel)
            .unwrap_or_else(|| panic!("{what}: {rel} missing"));
        assert!(&found.0 == bytes, "{what}: {rel} differs");
        assert_eq!(found.1, *secs, "{what}: modification time of {rel}");
    }
    assert_eq!(got.len(), want.len(), "{what}: extra files");
}

/// No temporary file of poof left in the served folder.
fn assert_no_temporaries(served: &Path) {
    for file in files_below(served) {
        let name = file.rsplit('/').next().unwrap();
        assert!(
            !poof::remote::local::is_temp_name(name),
            "temporary left: {file}"
        );
    }
}

/// A scratch folder with `rclone serve sftp` of `served/` and the remotes `srv` (sftp) and
/// `c` (crypt over `srv:vault`).
fn rclone_served() -> (Scratch, SftpServer) {
    let s = Scratch::new();
    let server = SftpServer::rclone(&s.path("served"));
    s.write_config(&format!(
        "{}{}",
        server.section("srv"),
        CryptOpts::default().section("c", "srv:vault")
    ));
    (s, server)
}

#[test]
fn crypt_over_rclone_serve_sftp_both_ways() {
    let (s, _server) = rclone_served();
    write_tree(&s.path("src"), 1_500_000);

    // rclone writes, poof restores, then finds nothing to send back.
    s.rclone_ok("sync", s.path("src"), "c:by-rclone");
    poof_sync(&s, "c:by-rclone", s.path("out"));
    assert_same_tree(&s.path("src"), &s.path("out"), "rclone -> sftp -> poof");
    let again = run(s
        .poof()
        .args(["sync", "--no-progress", "-v"])
        .arg(s.path("src"))
        .arg("c:by-rclone"));
    let log = String::from_utf8_lossy(&again.stderr);
    assert!(again.status.success(), "{log}");
    assert!(
        log.contains("Transferred: 0 files") && !log.contains("Copied"),
        "{log}"
    );

    // poof writes, rclone checks the contents against the server's hashes (`rclone serve
    // sftp` answers md5sum), finds nothing to transfer and restores.
    poof_sync(&s, s.path("src"), "c:by-poof");
    s.rclone_ok("cryptcheck", s.path("src"), "c:by-poof");
    let again = run(s
        .rclone()
        .args(["sync", "-v"])
        .arg(s.path("src"))
        .arg("c:by-poof"));
    let log = String::from_utf8_lossy(&again.stderr);
    assert!(
        again.status.success() && log.contains("There was nothing to transfer"),
        "{log}"
    );
    s.rclone_ok("copy", "c:by-poof", s.path("back"));
    assert_same_tree(&s.path("src"), &s.path("back"), "poof -> sftp -> rclone");
    assert_no_temporaries(&s.path("served"));

    // A ranged read of the big file, and a plain listing with sizes.
    let listed = run_ok(s.poof().args(["lsjson", "-R", "srv:vault"]));
    assert!(listed.contains("\"Size\""), "{listed}");
}

#[test]
fn crypt_over_sshd_with_a_key_and_known_hosts() {
    let s = Scratch::new();
    let server = SftpServer::sshd();
    let vault = s.path("sshd-vault");
    let section = |known: &Path| {
        format!(
            "{}\nknown_hosts_file = {}\n\n{}",
            server.section("srv").trim_end(),
            known.display(),
            CryptOpts::default().section("c", &format!("srv:{}", vault.display()))
        )
    };
    s.write_config(&section(&server.known_hosts()));
    write_tree(&s.path("src"), 1_200_000);
    poof_sync(&s, s.path("src"), "c:data");
    s.rclone_ok("copy", "c:data", s.path("back"));
    assert_same_tree(&s.path("src"), &s.path("back"), "poof -> sshd -> rclone");
    run_ok(
        s.rclone()
            .args(["check", "--download"])
            .arg(s.path("src"))
            .arg("c:data"),
    );
    // A history move (rename over nothing, into new folders), then a replace in place.
    write_tree(&s.path("src2"), 100);
    poof_sync(&s, s.path("src2"), "c:data");
    s.rclone_ok("sync", "c:data", s.path("back2"));
    assert_same_tree(&s.path("src2"), &s.path("back2"), "replaced over sshd");
    assert_no_temporaries(&vault);

    // An encrypted RSA key (rsa-sha2-512 signatures) opened with key_file_pass; a wrong
    // key_file_pass is one line without either passphrase.
    let rsa = |pass: &str| {
        let login = format!(
            "key_file = {}\nkey_file_pass = {}\n",
            server.client_rsa_key().display(),
            poof_crypt::obscure(pass)
        );
        let srv = server.section("srv").replace(
            &format!("key_file = {}\n", server.client_key().display()),
            &login,
        );
        let crypt = CryptOpts::default().section("c", &format!("srv:{}", vault.display()));
        write_private(&s.config(), &format!("{srv}{crypt}"));
    };
    rsa(KEY_PASS);
    let listed = run_ok(s.poof().args(["ls", "c:data"]));
    assert!(listed.contains("one"), "{listed}");
    rsa("not the key passphrase");
    let out = run(s.poof().args(["ls", "c:data"]));
    let err = String::from_utf8_lossy(&out.stderr);
    let lines = lines_starting(&err, "poof: error");
    assert!(!out.status.success() && lines.len() == 1, "{err}");
    assert!(lines[0].contains("key_file"), "{err}");
    assert!(
        !err.contains("not the key") && !err.contains(KEY_PASS),
        "{err}"
    );

    // Another host key in known_hosts_file: one line naming the file, nothing read.
    let other = tempfile::tempdir().unwrap();
    run_ok(
        std::process::Command::new("ssh-keygen")
            .args(["-q", "-t", "ed25519", "-N", "", "-f"])
            .arg(other.path().join("k")),
    );
    let key = std::fs::read_to_string(other.path().join("k.pub")).unwrap();
    let wrong = other.path().join("known_hosts");
    let mut fields = key.split_whitespace();
    std::fs::write(
        &wrong,
        format!(
            "[127.0.0.1]:{} {} {}\n",
            server.port,
            fields.next().unwrap(),
            fields.next().unwrap()
        ),
    )
    .unwrap();
    write_private(&s.config(), &section(&wrong));
    let out = run(s.poof().args(["ls", "c:data"]));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    let lines = lines_starting(&err, "poof: error");
    assert_eq!(lines.len(), 1, "{err}");
    assert!(
        lines[0].contains("host key") && lines[0].contains(&wrong.display().to_string()),
        "{err}"
    );
}

#[test]
fn wrong_password_is_one_line_without_the_password() {
    let (s, server) = rclone_served();
    let wrong = "not the sftp password";
    let text = server
        .section("srv")
        .lines()
        .map(|l| {
            if l.starts_with("pass = ") {
                format!("pass = {}", poof_crypt::obscure(wrong))
            } else {
                l.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    s.write_config(&text);
    let out = run(s.poof().args(["ls", "srv:"]));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{err}");
    let lines = lines_starting(&err, "poof: error");
    assert_eq!(lines.len(), 1, "{err}");
    assert!(lines[0].contains("refused the login"), "{err}");
    assert!(!err.contains(wrong) && !err.contains(PASS), "{err}");
}

/// poof.conf of a scratch folder: its `src/` backed up to `c:data`, history on (the default).
fn write_poof_conf(s: &Scratch) {
    std::fs::create_dir_all(s.path("conf")).unwrap();
    let conf = serde_json::json!({
        "bucket": "b",
        "confFile": s.config().display().to_string(),
        "paths": { s.path("src").display().to_string(): "data" },
        "remote": "c",
    });
    write_private(
        &s.path("conf/poof.conf"),
        &serde_json::to_string_pretty(&conf).unwrap(),
    );
}

#[test]
fn backup_download_verify_over_crypt_on_sftp() {
    let s = Scratch::new();
    let server = SftpServer::sshd();
    let vault = s.path("sshd-vault");
    s.write_config(&format!(
        "{}{}",
        server.section("srv"),
        CryptOpts::default().section("c", &format!("srv:{}", vault.display()))
    ));
    write_poof_conf(&s);
    write_tree(&s.path("src"), 200_000);
    run_ok(s.poof().args(["backup", "--no-progress"]));
    // A replaced file moves into the history with a server-side rename.
    std::fs::write(s.path("src/one"), b"version 2").unwrap();
    run_ok(s.poof().args(["backup", "--no-progress"]));
    run_ok(s.poof().arg("verify"));
    run_ok(
        s.poof()
            .args(["download", "--no-progress", "--to"])
            .arg(s.path("restored")),
    );
    assert_same_tree(
        &s.path("src"),
        &s.path("restored/data"),
        "backup -> download",
    );
    let versions = run_ok(s.poof().args(["versions", "data/one"]));
    assert!(versions.lines().count() >= 2, "{versions}");
    assert_no_temporaries(&vault);
}

/// Waits until poof (`child`) has a temporary file in `served`, at most 30 s; a poof that
/// ended before fails the test with its error output.
fn wait_for_upload(child: &mut Child, served: &Path) {
    let start = Instant::now();
    while !temporary_in(served) {
        if let Ok(Some(status)) = child.try_wait() {
            let mut err = String::new();
            if let Some(mut stderr) = child.stderr.take() {
                let _ = stderr.read_to_string(&mut err);
            }
            panic!("poof ended ({status}) before any upload was seen: {err}");
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "no upload under way"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// True when a temporary file of poof is in the served folder (which the server changes
/// meanwhile: folders that go away are skipped).
fn temporary_in(dir: &Path) -> bool {
    let Ok(items) = std::fs::read_dir(dir) else {
        return false;
    };
    items.flatten().any(|item| {
        let path = item.path();
        poof::remote::local::is_temp_name(&item.file_name().to_string_lossy())
            || (path.is_dir() && temporary_in(&path))
    })
}

/// Eight files of 3 MiB: a sync of them is still running when the test acts.
fn write_big(dir: &Path, seed: u64) {
    std::fs::create_dir_all(dir).unwrap();
    for i in 0..8 {
        std::fs::write(dir.join(format!("big{i}.bin")), pattern(3 << 20, seed + i)).unwrap();
    }
}

#[test]
fn server_stopped_mid_run_is_a_clear_error_and_deletes_nothing() {
    let (s, mut server) = rclone_served();
    write_tree(&s.path("src"), 100);
    s.rclone_ok("sync", s.path("src"), "c:data");
    let stored_before = files_below(&s.path("served/vault"));
    // Every old file is gone from the source: a finished sync would delete them all.
    std::fs::remove_dir_all(s.path("src")).unwrap();
    write_big(&s.path("src"), 40);
    let mut cmd = s.poof();
    cmd.args(["sync", "--no-progress"])
        .arg(s.path("src"))
        .arg("c:data");
    let mut child = spawn(cmd.stdin(Stdio::null()), Stdio::piped);
    wait_for_upload(&mut child, &s.path("served"));
    server.stop();
    let stopped = Instant::now();
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(
        // Requests in flight fail as the connection drops, not after poof's 30 s request
        // timeout; a login begun as the server died may wait out its 20 s connect deadline.
        stopped.elapsed() < Duration::from_secs(25),
        "poof kept going {:?}: {err}",
        stopped.elapsed()
    );
    assert!(
        err.contains("127.0.0.1") || err.contains("connection"),
        "no clear error: {err}"
    );
    let stored = files_below(&s.path("served/vault"));
    for old in &stored_before {
        assert!(stored.contains(old), "{old} was deleted: {err}");
    }
}

#[test]
fn kill_9_mid_upload_leaves_no_partial_file_and_cleanup_removes_temporaries() {
    let (s, server) = rclone_served();
    write_big(&s.path("src"), 60);
    let mut cmd = s.poof();
    cmd.args(["sync", "--no-progress", "--transfers", "2"])
        .arg(s.path("src"))
        .arg("c:data");
    let mut child = spawn(cmd.stdin(Stdio::null()), Stdio::null);
    let served = s.path("served");
    wait_for_upload(&mut child, &served);
    child.kill().unwrap();
    child.wait().unwrap();
    // Whatever rclone reads under a real name is complete.
    s.rclone_ok("copy", "c:data", s.path("partial"));
    std::fs::create_dir_all(s.path("partial")).unwrap();
    for rel in files_below(&s.path("partial")) {
        assert!(
            std::fs::read(s.path("partial").join(&rel)).unwrap()
                == std::fs::read(s.path("src").join(&rel)).unwrap(),
            "{rel} is partial"
        );
    }
    // The killed run's temporaries, once older than poof's staleness bound, go with the next
    // clean run.
    let old = SystemTime::now() - Duration::from_secs(600);
    let mut temps = 0;
    for rel in files_below(&served) {
        if poof::remote::local::is_temp_name(rel.rsplit('/').next().unwrap()) {
            set_mtime(&served.join(&rel), old);
            temps += 1;
        }
    }
    assert!(temps > 0, "the kill left no temporary to clean up");
    // A new server: the old one cached the listing with the times before the change.
    drop(server);
    let server = SftpServer::rclone(&served);
    s.write_config(&format!(
        "{}{}",
        server.section("srv"),
        CryptOpts::default().section("c", "srv:vault")
    ));
    poof_sync(&s, s.path("src"), "c:data");
    assert_no_temporaries(&served);
    run_ok(
        s.rclone()
            .args(["check", "--download"])
            .arg(s.path("src"))
            .arg("c:data"),
    );
}
