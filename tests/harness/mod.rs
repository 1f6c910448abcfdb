//! Shared fixtures: the real rclone peer, the poof binary, scratch folders, rclone config
//! files with crypt remotes, and `rclone serve s3` endpoints ([`s3`]).

#![allow(dead_code)]

pub mod azurite;
pub mod ftp;
pub mod gcs;
pub mod home;
pub mod s3;
pub mod sftp;
pub mod webdav;

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

/// The real rclone binary installed by `scripts/rclone-peer.sh`.
pub fn rclone_bin() -> PathBuf {
    let path = std::env::var_os("POOF_TEST_RCLONE")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR")).join("target/rclone-venv/bin/rclone")
        });
    assert!(
        path.is_file(),
        "the rclone peer is missing at {}: run scripts/rclone-peer.sh (scripts/test.sh does)",
        path.display()
    );
    path
}

/// Runs a command, asserting success, and returns its stdout.
pub fn run_ok(cmd: &mut Command) -> String {
    let out = cmd.stdin(Stdio::null()).output().expect("spawn");
    assert!(
        out.status.success(),
        "{cmd:?} failed with {}\nstdout: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8 output")
}

/// Runs a command, asserting that it exits with `code`; returns its stdout and stderr as text.
pub fn run_expect(cmd: &mut Command, code: i32) -> (String, String) {
    let out = run(cmd);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(
        out.status.code(),
        Some(code),
        "{cmd:?}\nstdout: {stdout}\nstderr: {stderr}"
    );
    (stdout, stderr)
}

/// Asserts that `text` (a command's output) contains `needle`, showing `text` otherwise.
pub fn assert_contains(text: &str, needle: &str) {
    assert!(text.contains(needle), "{needle:?} not in:\n{text}");
}

/// Runs a command and returns its raw output, whatever the status.
pub fn run(cmd: &mut Command) -> Output {
    cmd.stdin(Stdio::null()).output().expect("spawn")
}

/// Starts `cmd` with its stdout and stderr from `output` (`Stdio::piped` to read them,
/// `Stdio::null` to drop them); the caller sets stdin.
pub fn spawn(cmd: &mut Command, output: fn() -> Stdio) -> Child {
    cmd.stdout(output())
        .stderr(output())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {cmd:?}: {e}"))
}

/// The lines of `text` that start with `prefix`, e.g. the `poof: error:` lines of a stderr.
pub fn lines_starting<'a>(text: &'a str, prefix: &str) -> Vec<&'a str> {
    text.lines().filter(|l| l.starts_with(prefix)).collect()
}

/// Runs a command to its end and returns its output, whatever the status; a command still
/// running after `limit` (a poof reading a device without end, or starting threads without
/// bound) is killed and fails the test.
pub fn run_bounded(cmd: &mut Command, limit: std::time::Duration) -> Output {
    let mut child = spawn(cmd.stdin(Stdio::null()), Stdio::piped);
    let started = std::time::Instant::now();
    while child.try_wait().expect("wait").is_none() {
        if started.elapsed() > limit {
            let _ = child.kill();
            let out = child.wait_with_output().expect("output");
            panic!(
                "{cmd:?} still ran after {limit:?}: killed; stderr: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    child.wait_with_output().expect("output")
}

/// Every file below `root` as its relative path's raw bytes -> its contents (names that are
/// not UTF-8 or hold control characters compared exactly); a missing `root` is empty.
pub fn byte_tree(root: &Path) -> std::collections::BTreeMap<Vec<u8>, Vec<u8>> {
    use std::os::unix::ffi::OsStrExt;
    fn walk(root: &Path, dir: &Path, out: &mut std::collections::BTreeMap<Vec<u8>, Vec<u8>>) {
        let Ok(items) = std::fs::read_dir(dir) else {
            return;
        };
        for item in items {
            let path = item.expect("entry").path();
            if path.is_dir() {
                walk(root, &path, out);
            } else {
                let rel = path.strip_prefix(root).expect("prefix");
                out.insert(
                    rel.as_os_str().as_bytes().to_vec(),
                    std::fs::read(&path).expect("read"),
                );
            }
        }
    }
    let mut out = std::collections::BTreeMap::new();
    walk(root, root, &mut out);
    out
}

/// A scratch folder with an rclone config file, removed on drop.
pub struct Scratch {
    pub dir: tempfile::TempDir,
}

impl Scratch {
    pub fn new() -> Scratch {
        Scratch {
            dir: tempfile::tempdir().expect("tempdir"),
        }
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// The rclone config file of this scratch folder.
    pub fn config(&self) -> PathBuf {
        self.path("rclone.conf")
    }

    /// Writes the rclone config file (mode 0600).
    pub fn write_config(&self, text: &str) {
        write_private(&self.config(), text);
    }

    /// A `rclone --config <ours>` command.
    pub fn rclone(&self) -> Command {
        let mut cmd = Command::new(rclone_bin());
        cmd.arg("--config").arg(self.config());
        cmd
    }

    /// `rclone <verb> <from> <to>` with this scratch's config, which must succeed; its stdout.
    pub fn rclone_ok(&self, verb: &str, from: impl AsRef<OsStr>, to: impl AsRef<OsStr>) -> String {
        run_ok(self.rclone().arg(verb).arg(from).arg(to))
    }

    /// A `poof --rcloneconf <ours> --confdir <scratch>/conf` command, its caches in
    /// `<scratch>/cache`.
    pub fn poof(&self) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_poof"));
        cmd.arg("--rcloneconf")
            .arg(self.config())
            .arg("--confdir")
            .arg(self.path("conf"))
            .env("XDG_CACHE_HOME", self.path("cache"))
            .env_remove("RCLONE_CONFIG_PASS")
            .env_remove("RCLONE_PASSWORD_COMMAND");
        cmd
    }
}

/// Writes a file readable by its owner only.
pub fn write_private(path: &Path, text: &str) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, text).expect("write");
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).expect("chmod");
}

/// Sets a top-level key of the poof.conf at `file` (editing the JSON, as a user would).
pub fn set_conf_key(file: &Path, key: &str, value: serde_json::Value) {
    let text = std::fs::read_to_string(file).expect("read poof.conf");
    let mut conf: serde_json::Value = serde_json::from_str(&text).expect("poof.conf is JSON");
    conf[key] = value;
    write_private(file, &serde_json::to_string_pretty(&conf).expect("json"));
}

/// Crypt options of one remote, rendered as an rclone config section.
#[derive(Clone, Debug)]
pub struct CryptOpts {
    pub password: String,
    pub password2: String,
    pub filename_encryption: &'static str,
    pub filename_encoding: &'static str,
    pub directory_name_encryption: bool,
    pub suffix: Option<&'static str>,
    pub no_data_encryption: bool,
}

impl Default for CryptOpts {
    fn default() -> Self {
        CryptOpts {
            password: "poof test password".into(),
            password2: String::new(),
            filename_encryption: "standard",
            filename_encoding: "base32",
            directory_name_encryption: true,
            suffix: None,
            no_data_encryption: false,
        }
    }
}

impl CryptOpts {
    /// The `[name]` section of a crypt remote over `remote` (passwords obscured with rclone's
    /// scheme by poof-crypt, which the real rclone then reveals).
    pub fn section(&self, name: &str, remote: &str) -> String {
        let mut s = format!(
            "[{name}]\ntype = crypt\nremote = {remote}\npassword = {}\n",
            poof_crypt::obscure(&self.password)
        );
        if !self.password2.is_empty() {
            s += &format!("password2 = {}\n", poof_crypt::obscure(&self.password2));
        }
        s += &format!(
            "filename_encryption = {}\nfilename_encoding = {}\ndirectory_name_encryption = {}\n",
            self.filename_encryption, self.filename_encoding, self.directory_name_encryption
        );
        if let Some(suffix) = self.suffix {
            s += &format!("suffix = {suffix}\n");
        }
        if self.no_data_encryption {
            s += "no_data_encryption = true\n";
        }
        s + "\n"
    }

    /// The poof-crypt keys of these options.
    pub fn keys(&self) -> poof_crypt::Keys {
        poof_crypt::Keys::derive(&self.password, &self.password2).expect("keys")
    }

    /// The poof-crypt name cipher of these options.
    pub fn names(&self) -> poof_crypt::NameCipher {
        poof_crypt::NameCipher::new(
            &self.keys(),
            self.filename_encryption.parse().expect("mode"),
            self.filename_encoding.parse().expect("encoding"),
            self.directory_name_encryption,
            self.suffix.unwrap_or(".bin"),
        )
    }
}

/// Deterministic pseudo-random bytes (xorshift), so failures reproduce.
pub fn pattern(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

/// Every regular file below `root`, as sorted relative paths.
pub fn files_below(root: &Path) -> Vec<String> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir).expect("read_dir") {
            let entry = entry.expect("entry");
            let path = entry.path();
            if entry.file_type().expect("type").is_dir() {
                walk(root, &path, out);
            } else {
                let rel = path.strip_prefix(root).expect("prefix");
                out.push(rel.to_string_lossy().into_owned());
            }
        }
    }
    let mut out = Vec::new();
    walk(root, root, &mut out);
    out.sort();
    out
}

/// Files of [`killed_mid_upload`]: 1.1 MB each, past the 1 MiB a store may take in one PUT.
const KILLED_FILES: u64 = 24;

/// poof killed with SIGKILL while it uploads to `remote` (a crypt remote of `s`'s config):
/// the kill lands as the first file is reported copied, with others in flight. Afterwards
/// every file the real rclone reads under a real name is complete, a re-run of the same sync
/// uploads the rest, and `rclone check --download` finds the remote equal to the source.
/// Returns the source folder.
pub fn killed_mid_upload(s: &Scratch, remote: &str) -> PathBuf {
    use std::io::BufRead;
    let src = s.path("killed-src");
    std::fs::create_dir_all(&src).expect("mkdir");
    for i in 0..KILLED_FILES {
        std::fs::write(
            src.join(format!("f{i:02}.bin")),
            pattern(1_100_000, 300 + i),
        )
        .expect("write");
    }
    let mut cmd = s.poof();
    cmd.args(["sync", "-v", "--no-progress", "--transfers", "2"])
        .arg(&src)
        .arg(remote)
        .stdin(Stdio::null());
    let mut child = spawn(&mut cmd, Stdio::piped);
    let stderr = child.stderr.take().expect("stderr");
    let mut seen = Vec::new();
    for line in std::io::BufReader::new(stderr).lines() {
        let line = line.expect("read stderr");
        if line.contains("Copied") {
            break;
        }
        seen.push(line);
    }
    // Child::kill sends SIGKILL on Unix.
    child.kill().expect("kill");
    child.wait().expect("wait");
    let partial = s.path("killed-restore");
    std::fs::create_dir_all(&partial).expect("mkdir");
    s.rclone_ok("copy", remote, &partial);
    let restored = files_below(&partial);
    assert!(
        !restored.is_empty() && restored.len() < KILLED_FILES as usize,
        "the kill did not land mid-run: {} files restored; poof said {seen:?}",
        restored.len()
    );
    for rel in &restored {
        assert!(
            std::fs::read(partial.join(rel)).expect("read")
                == std::fs::read(src.join(rel)).expect("read"),
            "{rel} is partial under its real name after the kill"
        );
    }
    run_ok(
        s.poof()
            .args(["sync", "--no-progress"])
            .arg(&src)
            .arg(remote),
    );
    run_ok(
        s.rclone()
            .args(["check", "--download"])
            .arg(&src)
            .arg(remote),
    );
    src
}

/// The server behind `remote` (a remote of `s`'s config) dies, by `kill`, while poof restores
/// from it into a folder holding a file the sync would delete: non-zero exit with an error,
/// within a minute, nothing deleted and no partial file under a real name.
pub fn server_dies_mid_restore(s: &Scratch, remote: &str, kill: impl FnOnce()) {
    use std::time::{Duration, Instant};
    const FILES: u64 = 24;
    let src = s.path("dies-src");
    std::fs::create_dir_all(&src).expect("mkdir");
    for i in 0..FILES {
        std::fs::write(src.join(format!("f{i:02}")), pattern(1_100_000, 90 + i)).expect("write");
    }
    run_ok(
        s.poof()
            .args(["sync", "--no-progress"])
            .arg(&src)
            .arg(remote),
    );
    let dst = s.path("dies-dst");
    std::fs::create_dir_all(&dst).expect("mkdir");
    std::fs::write(dst.join("extra-kept"), b"not in the backup").expect("write");
    let mut cmd = s.poof();
    cmd.args(["sync", "--no-progress", "--transfers", "1", remote])
        .arg(&dst)
        .stdin(Stdio::null());
    let child = spawn(&mut cmd, Stdio::piped);
    let start = Instant::now();
    while !dst.join("f00").exists() && !dst.join("f01").exists() {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "run never started"
        );
        std::thread::sleep(Duration::from_millis(2));
    }
    kill();
    let killed = Instant::now();
    let out = child.wait_with_output().expect("wait");
    let took = killed.elapsed();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success(),
        "succeeded against a dead server: {err}"
    );
    assert!(took < Duration::from_secs(60), "kept going {took:?}");
    assert!(err.contains("error"), "no error message: {err}");
    assert!(
        dst.join("extra-kept").exists(),
        "deleted with the server dead"
    );
    let mut complete = 0;
    for rel in files_below(&dst) {
        if let Some(i) = rel.strip_prefix('f').and_then(|n| n.parse::<u64>().ok()) {
            let bytes = std::fs::read(dst.join(&rel)).expect("read");
            assert!(bytes == pattern(1_100_000, 90 + i), "{rel} is partial");
            complete += 1;
        }
    }
    assert!(
        complete < FILES as usize,
        "the server died after the run: {complete} files"
    );
}
