//! Fault injection: poof killed with SIGKILL at random points, storage dying mid-run, storage
//! that accepts connections and never answers, a full disk. After every fault, every object under its real name decrypts fully to one complete
//! version of its file, no temporary file shows up as a real name, nothing is deleted, and a
//! re-run converges to an exact copy.
//!
//! The runs are the user's commands: `poof backup` of a folder listed in poof.conf (cloud
//! folder [`CLOUD_DIR`]) and `poof download --to`. Sizes come from the environment so that CI
//! stays fast and a full run is one variable away:
//!
//! - `POOF_FAULT_KILLS`: kill points per backend (default [`DEFAULT_KILLS`]; full runs: 50+),
//! - `POOF_FAULT_FILES`: files in the tree (default [`DEFAULT_FILES`]; full runs: 2000),
//! - `POOF_FAULT_SEED`: the seed of the kill points and the tree (default [`DEFAULT_SEED`]).
//!
//! Each test prints its figures (`faults: ...` lines; run with `--nocapture` to see them).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::harness::s3::S3Server;
use crate::harness::{
    files_below, lines_starting, pattern, run, run_ok, spawn, CryptOpts, Scratch,
};

/// The backup command (the folder and its target come from poof.conf).
const BACKUP: &[&str] = &["backup", "--no-progress"];
/// The restore command; the folder to restore into follows.
const RESTORE: &[&str] = &["download", "--no-progress", "--to"];
/// The cloud folder of the backed-up folder in poof.conf.
const CLOUD_DIR: &str = "data";

/// Kill points per backend in CI.
const DEFAULT_KILLS: usize = 6;
/// Files in the tree in CI.
const DEFAULT_FILES: usize = 300;
/// Seed of the kill points and the tree.
const DEFAULT_SEED: u64 = 0x706f_6f66;
/// One content block of rclone's crypt format.
const BLOCK: usize = 64 * 1024;
/// How long a dead S3 endpoint may keep poof retrying before it must give up.
const DEAD_STORAGE_LIMIT: Duration = Duration::from_secs(60);
/// S3 deadline of the hung-server test, in seconds (`POOF_S3_TIMEOUT_SECS`; the default of
/// 30 s per attempt would make a run take minutes).
const HUNG_TIMEOUT_SECS: &str = "2";
/// How long a hung S3 endpoint may keep poof waiting: 6 attempts of 2 s plus the retry waits
/// (at most 23 s), with room for a loaded machine.
const HUNG_STORAGE_LIMIT: Duration = Duration::from_secs(120);

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Seeded xorshift: kill points and sizes reproduce from the seed.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// The source tree: paths with the seeds of their current and earlier contents.
struct Tree {
    root: PathBuf,
    /// path -> every version written so far (seed, size), the last is current.
    versions: BTreeMap<String, Vec<(u64, usize)>>,
}

impl Tree {
    /// `files` files in nested folders; one in eight spans several 64 KiB blocks.
    fn write(root: &Path, files: usize, rng: &mut Rng) -> Tree {
        let mut tree = Tree {
            root: root.to_path_buf(),
            versions: BTreeMap::new(),
        };
        for i in 0..files {
            let path = format!("d{}/s{}/file {i}.dat", i % 7, (i / 7) % 3);
            let size = random_size(rng);
            tree.put(&path, rng.next(), size);
        }
        tree
    }

    fn put(&mut self, path: &str, seed: u64, size: usize) {
        let full = self.root.join(path);
        std::fs::create_dir_all(full.parent().expect("parent")).expect("mkdir");
        std::fs::write(&full, pattern(size, seed)).expect("write");
        self.versions
            .entry(path.to_owned())
            .or_default()
            .push((seed, size));
    }

    /// Rewrites about one file in `one_in` with new contents (a new version).
    fn mutate(&mut self, one_in: u64, rng: &mut Rng) -> usize {
        let paths: Vec<String> = self.versions.keys().cloned().collect();
        let mut changed = 0;
        for path in paths {
            if rng.below(one_in) == 0 {
                let size = random_size(rng);
                self.put(&path, rng.next(), size);
                changed += 1;
            }
        }
        changed
    }

    /// Which version of `path` the bytes are: `Some(true)` current, `Some(false)` older,
    /// `None` neither (truncated, mixed, foreign).
    fn version_of(&self, path: &str, bytes: &[u8]) -> Option<bool> {
        let versions = self.versions.get(path)?;
        let last = versions.len().checked_sub(1)?;
        versions
            .iter()
            .enumerate()
            .rev()
            .find(|(_, (seed, size))| *size == bytes.len() && pattern(*size, *seed) == bytes)
            .map(|(i, _)| i == last)
    }
}

/// Mostly small files, one in eight of one to four blocks (plus a tail), some empty.
fn random_size(rng: &mut Rng) -> usize {
    match rng.below(8) {
        0 => BLOCK * (1 + rng.below(4) as usize) + rng.below(3) as usize * 1000,
        1 => 0,
        _ => rng.below(6000) as usize,
    }
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A vault under test: a crypt remote over a local folder or over `rclone serve s3`.
struct Vault {
    s: Scratch,
    /// The crypt remote and cloud folder of the backup, e.g. `c:data`.
    remote: &'static str,
    /// The folder holding the encrypted objects (the served folder for S3).
    enc: PathBuf,
    server: Option<S3Server>,
}

impl Vault {
    fn local() -> Vault {
        let s = Scratch::new();
        let enc = s.path("enc");
        s.write_config(&CryptOpts::default().section("c", &enc.display().to_string()));
        write_poof_conf(&s);
        Vault {
            s,
            remote: "c:data",
            enc,
            server: None,
        }
    }

    fn s3() -> Vault {
        let s = Scratch::new();
        let server = S3Server::start(&s.path("served"), &["bucket"]);
        s.write_config(&format!(
            "{}{}",
            server.section("s3"),
            CryptOpts::default().section("c", "s3:bucket/enc")
        ));
        write_poof_conf(&s);
        Vault {
            enc: s.path("served/bucket/enc"),
            s,
            remote: "c:data",
            server: Some(server),
        }
    }

    fn src(&self) -> PathBuf {
        self.s.path("src")
    }

    fn backup_cmd(&self) -> Command {
        let mut cmd = self.s.poof();
        cmd.args(BACKUP);
        cmd
    }

    /// Restores into `to/`[`CLOUD_DIR`].
    fn restore_cmd(&self, to: &Path) -> Command {
        let mut cmd = self.s.poof();
        cmd.args(RESTORE).arg(to);
        cmd
    }

    /// Every object under a real (decryptable) name in the vault folder, and the names that
    /// are poof's temporary files. Any other name fails the test.
    fn stored_objects(&self) -> (Vec<String>, usize) {
        let names = CryptOpts::default().names();
        let mut real = Vec::new();
        let mut temps = 0;
        if !self.enc.exists() {
            return (real, temps);
        }
        for rel in files_below(&self.enc) {
            let leaf = rel.rsplit('/').next().unwrap_or(&rel);
            // poof's `.poof-<hex>-<hex>.partial`, or `rclone serve s3`'s own `.rclone_temp_put_*`
            // in the served folder: encrypted names never start with a dot.
            if leaf.starts_with('.') {
                temps += 1;
                continue;
            }
            match names.decrypt_file_name(&rel) {
                Ok(_) => real.push(rel),
                Err(e) => panic!("{rel}: object under an undecryptable name ({e})"),
            }
        }
        (real, temps)
    }

    /// Decrypts every object under a real name with the crypt crate and checks it against the
    /// tree: complete, one version of its file. Returns the count checked.
    fn check_objects(&self, tree: &Tree) -> usize {
        let opts = CryptOpts::default();
        let names = opts.names();
        let cipher = poof_crypt::ContentCipher::new(&opts.keys());
        let (real, _) = self.stored_objects();
        for rel in &real {
            let full_name = names.decrypt_file_name(rel).expect("name");
            let plain_name = full_name
                .strip_prefix(&format!("{CLOUD_DIR}/"))
                .unwrap_or(&full_name)
                .to_owned();
            let file = std::fs::File::open(self.enc.join(rel)).expect("open object");
            let mut reader = cipher
                .decrypt_reader(std::io::BufReader::new(file))
                .unwrap_or_else(|e| panic!("{plain_name}: bad header: {e}"));
            let mut plain = Vec::new();
            std::io::Read::read_to_end(&mut reader, &mut plain)
                .unwrap_or_else(|e| panic!("{plain_name}: does not decrypt fully: {e}"));
            assert!(
                tree.version_of(&plain_name, &plain).is_some(),
                "{plain_name}: {} bytes that are no complete version of the file",
                plain.len()
            );
        }
        real.len()
    }

    /// Restores the vault into a fresh folder through poof and checks every file restored is
    /// one complete version of its source file. Returns the count.
    fn restore_and_check(&self, tree: &Tree, to: &Path) -> usize {
        let out = run(&mut self.restore_cmd(to));
        assert!(
            out.status.success(),
            "restore after a kill failed: {}",
            stderr(&out)
        );
        let to = to.join(CLOUD_DIR);
        let restored = files_below(&to);
        for rel in &restored {
            let bytes = std::fs::read(to.join(rel)).expect("read restored");
            assert!(
                tree.version_of(rel, &bytes).is_some(),
                "{rel}: restored {} bytes that are no complete version of the file",
                bytes.len()
            );
        }
        restored.len()
    }

    /// The vault holds exactly the source: poof's cryptcheck passes.
    fn assert_exact(&self) {
        let out = run(self
            .s
            .poof()
            .args(["cryptcheck", "--no-progress"])
            .arg(self.src())
            .arg(self.remote));
        assert!(
            out.status.success(),
            "cryptcheck after a re-run: {}",
            stderr(&out)
        );
        assert!(
            stderr(&out).contains("0 differences found"),
            "{}",
            stderr(&out)
        );
    }
}

/// poof.conf of a scratch folder: its `src/` backed up to `c:`[`CLOUD_DIR`].
fn write_poof_conf(s: &Scratch) {
    std::fs::create_dir_all(s.path("conf")).expect("config folder");
    let conf = serde_json::json!({
        "bucket": "b",
        "confFile": s.config().display().to_string(),
        "paths": { s.path("src").display().to_string(): CLOUD_DIR },
        "remote": "c",
        // These runs check the mirror; the history has kill tests of its own.
        "history": false,
    });
    crate::harness::write_private(
        &s.path("conf/poof.conf"),
        &serde_json::to_string_pretty(&conf).expect("json"),
    );
}

/// Runs `cmd`, kills it with SIGKILL after `after` (if still running). True when it was killed.
fn kill_after(cmd: &mut Command, after: Duration) -> bool {
    let mut child = spawn(cmd.stdin(Stdio::null()), Stdio::null);
    let start = Instant::now();
    while start.elapsed() < after {
        if child.try_wait().expect("wait").is_some() {
            return false;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    // Child::kill sends SIGKILL on Unix.
    let killed = child.try_wait().expect("wait").is_none();
    let _ = child.kill();
    let _ = child.wait();
    killed
}

fn timed(cmd: &mut Command) -> Duration {
    let start = Instant::now();
    run_ok(cmd);
    start.elapsed()
}

/// The kill-point loop on one vault (see the module docs).
fn kill_backups(vault: &Vault, label: &str) {
    let kills = env_or("POOF_FAULT_KILLS", DEFAULT_KILLS as u64) as usize;
    let files = env_or("POOF_FAULT_FILES", DEFAULT_FILES as u64) as usize;
    let mut rng = Rng::new(env_or("POOF_FAULT_SEED", DEFAULT_SEED));
    let mut tree = Tree::write(&vault.src(), files, &mut rng);

    // A full run first: how long a backup takes is the range of the kill points.
    let full = timed(&mut vault.backup_cmd());
    vault.assert_exact();
    let (mut killed, mut checked, mut restored, mut temps_seen) = (0, 0, 0, 0);
    for k in 0..kills {
        // Even rounds back up into an empty vault, odd rounds update one file in five.
        if k % 2 == 0 {
            if vault.server.is_some() {
                // Through the S3 API: the server caches its folder's listing, so the served
                // folder must not change behind its back.
                run_ok(vault.s.rclone().args(["purge", "s3:bucket/enc"]));
            } else if vault.enc.exists() {
                std::fs::remove_dir_all(&vault.enc).expect("wipe the vault");
            }
        } else {
            tree.mutate(5, &mut rng);
        }
        // An update moves a fifth of the files: its run is shorter.
        let range = if k % 2 == 0 { full } else { full / 3 };
        let at = Duration::from_micros(rng.below(range.as_micros() as u64 + 1));
        if kill_after(&mut vault.backup_cmd(), at) {
            killed += 1;
        }
        let (_, temps) = vault.stored_objects();
        temps_seen += temps;
        checked += vault.check_objects(&tree);
        if vault.stored_objects().0.is_empty() {
            // Killed before the first object: nothing to restore (poof refuses an empty source).
        } else {
            restored += vault.restore_and_check(&tree, &vault.s.path(&format!("restore{k}")));
        }
        if let (None, Some(object)) = (&vault.server, vault.stored_objects().0.first()) {
            // What a kill inside a write leaves (kills do not always land in one), beside a
            // stored object: the re-run must remove it too.
            let dir = vault.enc.join(object).parent().unwrap().to_path_buf();
            std::fs::write(dir.join(poof::remote::local::temp_name()), b"killed").unwrap();
        }
        // The re-run converges.
        let out = run(&mut vault.backup_cmd());
        assert!(
            out.status.success(),
            "re-run after kill {k} at {at:?} failed: {}",
            stderr(&out)
        );
        vault.assert_exact();
        if vault.server.is_none() {
            // The clean re-run removed what the kill left in the local vault.
            let (_, left) = vault.stored_objects();
            assert_eq!(left, 0, "temporary files left after the re-run of kill {k}");
        }
    }
    println!(
        "faults: {label}: {files} files, full backup {full:?}; {kills} kill points, {killed} \
         killed mid-run, {kills} re-runs converged (cryptcheck 0 differences); {checked} \
         objects decrypted by the crypt crate, {restored} files restored by poof, all complete; \
         {temps_seen} temporary files left by kills, none under a real name{}",
        if vault.server.is_none() {
            ", all removed by the re-runs"
        } else {
            ""
        }
    );
}

#[test]
fn kill_backup_local_vault() {
    kill_backups(&Vault::local(), "crypt over a local folder");
}

#[test]
fn kill_backup_s3_vault() {
    kill_backups(&Vault::s3(), "crypt over rclone serve s3");
}

/// kill -9 a restore midway: the local folder holds only complete files (old or new), and a
/// re-run converges.
#[test]
fn kill_restore() {
    let vault = Vault::local();
    let kills = env_or("POOF_FAULT_KILLS", DEFAULT_KILLS as u64) as usize;
    let files = env_or("POOF_FAULT_FILES", DEFAULT_FILES as u64) as usize;
    let mut rng = Rng::new(env_or("POOF_FAULT_SEED", DEFAULT_SEED) ^ 0x5e5e);
    let mut tree = Tree::write(&vault.src(), files, &mut rng);
    let target = vault.s.path("restored");
    // Version 1 restored, then the vault moves to version 2 in one file in three.
    run_ok(&mut vault.backup_cmd());
    run_ok(&mut vault.restore_cmd(&target));
    let (mut killed, mut checked, mut old_seen) = (0, 0, 0);
    for k in 0..kills {
        tree.mutate(3, &mut rng);
        run_ok(&mut vault.backup_cmd());
        let full = Duration::from_millis(500);
        let at = Duration::from_micros(rng.below(full.as_micros() as u64 + 1));
        if kill_after(&mut vault.restore_cmd(&target), at) {
            killed += 1;
        }
        let data = target.join(CLOUD_DIR);
        for rel in files_below(&data) {
            let leaf = rel.rsplit('/').next().unwrap_or(&rel);
            if leaf.starts_with('.') && leaf.ends_with(".partial") {
                continue;
            }
            let bytes = std::fs::read(data.join(&rel)).expect("read");
            match tree.version_of(&rel, &bytes) {
                Some(true) => {}
                Some(false) => old_seen += 1,
                None => panic!(
                    "kill {k}: {rel}: {} bytes, neither the old nor the new version",
                    bytes.len()
                ),
            }
            checked += 1;
        }
        let out = run(&mut vault.restore_cmd(&target));
        assert!(out.status.success(), "re-run: {}", stderr(&out));
        for (rel, versions) in &tree.versions {
            let bytes = std::fs::read(data.join(rel)).expect("restored file");
            let (seed, size) = versions.last().copied().expect("a version");
            assert!(
                bytes == pattern(size, seed),
                "{rel}: not the current version"
            );
        }
    }
    println!(
        "faults: restore: {files} files; {kills} kill points, {killed} killed mid-run; \
         {checked} local files checked after kills ({old_seen} still the old version, none \
         truncated); {kills} re-runs converged"
    );
}

/// A restore folder after a failed or interrupted restore: no temporary file left, every file
/// but the user's own `keep.txt` one complete version of its source. Returns the count.
fn check_interrupted_restore(dir: &Path, tree: &Tree) -> usize {
    let mut complete = 0;
    for rel in files_below(dir) {
        let leaf = rel.rsplit('/').next().unwrap_or(&rel);
        assert!(
            !(leaf.starts_with('.') && leaf.ends_with(".partial")),
            "{rel}: temporary file left behind"
        );
        if rel == "keep.txt" {
            continue;
        }
        let bytes = std::fs::read(dir.join(&rel)).expect("read");
        assert!(tree.version_of(&rel, &bytes).is_some(), "{rel}: truncated");
        complete += 1;
    }
    complete
}

/// Waits for `child`, which must fail; its stderr and the time since `since`. `what` names the
/// run in the message of a success.
fn wait_for_failure(child: Child, since: Instant, what: &str) -> (String, Duration) {
    let out = child.wait_with_output().expect("wait");
    let took = since.elapsed();
    let err = stderr(&out);
    assert!(!out.status.success(), "{what}: succeeded: {err}");
    (err, took)
}

/// Kills the S3 server (by PID) once `trigger` says the run is under way.
fn kill_server_during(vault: &mut Vault, mut cmd: Command, trigger: impl Fn(&Vault) -> bool) {
    let start = Instant::now();
    let child = spawn(cmd.stdin(Stdio::null()), Stdio::piped);
    while !trigger(vault) {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "run never started"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    drop(vault.server.take());
    let (err, took) = wait_for_failure(child, Instant::now(), "poof against a dead server");
    assert!(
        took < DEAD_STORAGE_LIMIT,
        "poof kept going {took:?} after the server died"
    );
    assert!(
        err.lines()
            .any(|l| l.contains("ERROR") || l.contains("error")),
        "no error message: {err}"
    );
    println!(
        "faults: dead storage: poof gave up {took:?} after the server died; last lines: {}",
        err.lines().rev().take(2).collect::<Vec<_>>().join(" | ")
    );
}

/// A vault over `rclone serve s3` whose source holds 40 files from `seed` and six of 6 MiB (seeds
/// from `big_seed`), large enough that a transfer is still running when the server dies.
fn s3_vault_with_big_files(seed: u64, big_seed: u64) -> (Vault, Tree) {
    let vault = Vault::s3();
    let mut rng = Rng::new(seed);
    let mut tree = Tree::write(&vault.src(), 40, &mut rng);
    for i in 0..6 {
        tree.put(&format!("big/{i}.dat"), big_seed + i, 6 * 1024 * 1024);
    }
    (vault, tree)
}

/// The S3 server dies during an upload: non-zero exit, a clear message, within the retry
/// bound; every object already stored is complete; nothing deleted.
#[test]
fn storage_dies_during_upload() {
    let (mut vault, tree) = s3_vault_with_big_files(7, 100);
    let enc = vault.enc.clone();
    let cmd = vault.backup_cmd();
    kill_server_during(&mut vault, cmd, move |_| {
        enc.exists() && !files_below(&enc).is_empty()
    });
    let checked = vault.check_objects(&tree);
    println!("faults: dead storage during upload: {checked} stored objects complete");
}

/// The S3 server dies during a download: non-zero exit, no truncated file under a real name,
/// the files already in the target untouched.
#[test]
fn storage_dies_during_download() {
    let (mut vault, tree) = s3_vault_with_big_files(8, 200);
    run_ok(&mut vault.backup_cmd());
    let restored = vault.s.path("restored");
    let target = restored.join(CLOUD_DIR);
    std::fs::create_dir_all(&target).expect("mkdir");
    std::fs::write(target.join("keep.txt"), b"mine").expect("write");
    let cmd = vault.restore_cmd(&restored);
    let watch = target.clone();
    kill_server_during(&mut vault, cmd, move |_| files_below(&watch).len() > 3);
    let complete = check_interrupted_restore(&target, &tree);
    assert_eq!(
        std::fs::read(target.join("keep.txt")).expect("kept"),
        b"mine"
    );
    println!(
        "faults: dead storage during download: {complete} restored files complete, none deleted"
    );
}

/// A TCP server on 127.0.0.1 that accepts every connection and never answers (nor reads).
struct HungServer {
    port: u16,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<usize>>,
}

impl HungServer {
    fn start() -> HungServer {
        use std::sync::atomic::Ordering;
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.set_nonblocking(true).expect("nonblocking");
        let port = listener.local_addr().expect("addr").port();
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let stopped = stop.clone();
        let thread = std::thread::spawn(move || {
            let mut held = Vec::new();
            while !stopped.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((conn, _)) => held.push(conn),
                    Err(_) => std::thread::sleep(Duration::from_millis(10)),
                }
            }
            held.len()
        });
        HungServer {
            port,
            stop,
            thread: Some(thread),
        }
    }

    /// Stops accepting, closes every connection, and returns how many there were.
    fn stop(&mut self) -> usize {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        self.thread
            .take()
            .map_or(0, |t| t.join().expect("hung server thread"))
    }
}

impl Drop for HungServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// An S3 server that accepts connections and never answers: `ls` of the bucket and of a crypt
/// remote over it, `sync` up to it and down from it, all at once. Each exits non-zero within
/// [`HUNG_STORAGE_LIMIT`] with one error line naming the timeout; nothing local is deleted.
#[test]
fn storage_hangs() {
    let s = Scratch::new();
    let mut server = HungServer::start();
    s.write_config(&format!(
        "[s3]\ntype = s3\nprovider = Other\naccess_key_id = HUNG\nsecret_access_key = hung\n\
         endpoint = http://127.0.0.1:{}\n\n{}",
        server.port,
        CryptOpts::default().section("c", "s3:bucket/enc")
    ));
    let src = s.path("src");
    let down = s.path("down");
    let files: Vec<(String, Vec<u8>)> = (0..5)
        .map(|i| (format!("d/f{i}.txt"), pattern(100 + i, i as u64)))
        .collect();
    for dir in [&src, &down] {
        for (rel, bytes) in &files {
            let path = dir.join(rel);
            std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
            std::fs::write(&path, bytes).expect("write");
        }
    }
    let runs: Vec<(&str, Vec<String>)> = vec![
        ("ls s3", vec!["ls".into(), "s3:bucket".into()]),
        ("ls crypt", vec!["ls".into(), "c:".into()]),
        (
            "sync up",
            vec![
                "sync".into(),
                "--no-progress".into(),
                src.display().to_string(),
                "c:data".into(),
            ],
        ),
        (
            "sync down",
            vec![
                "sync".into(),
                "--no-progress".into(),
                "c:data".into(),
                down.display().to_string(),
            ],
        ),
    ];
    let start = Instant::now();
    let children: Vec<_> = runs
        .iter()
        .map(|(label, args)| {
            let mut cmd = s.poof();
            cmd.args(args)
                .env("POOF_S3_TIMEOUT_SECS", HUNG_TIMEOUT_SECS)
                .stdin(Stdio::null());
            (*label, spawn(&mut cmd, Stdio::piped))
        })
        .collect();
    for (label, child) in children {
        let (err, took) = wait_for_failure(child, start, &format!("{label} against a hung server"));
        assert!(took < HUNG_STORAGE_LIMIT, "{label}: took {took:?}");
        let errors = lines_starting(&err, "poof: error:");
        assert_eq!(errors.len(), 1, "{label}: not one error line: {err}");
        assert!(
            errors[0].contains("timeout"),
            "{label}: no timeout named: {err}"
        );
        println!(
            "faults: hung storage: {label} failed after {took:?}: {}",
            errors[0]
        );
    }
    let connections = server.stop();
    assert!(connections > 0, "poof never connected");
    for dir in [&src, &down] {
        for (rel, bytes) in &files {
            assert_eq!(&std::fs::read(dir.join(rel)).expect(rel), bytes, "{rel}");
        }
        assert_eq!(files_below(dir).len(), files.len(), "{}", dir.display());
    }
}

/// A download into a folder on a 2 MiB tmpfs: the disk fills, poof fails with a clear error,
/// leaves no truncated file and deletes nothing.
#[test]
fn disk_full_during_download() {
    let vault = Vault::local();
    let mut rng = Rng::new(9);
    let mut tree = Tree::write(&vault.src(), 20, &mut rng);
    for i in 0..4 {
        tree.put(&format!("big/{i}.dat"), 300 + i, 1024 * 1024);
    }
    run_ok(&mut vault.backup_cmd());
    let mount = vault.s.path("small");
    std::fs::create_dir_all(&mount).expect("mkdir");
    let mounted = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=2m", "tmpfs"])
        .arg(&mount)
        .stderr(Stdio::piped())
        .output();
    match mounted {
        Ok(out) if out.status.success() => {}
        Ok(out) => {
            eprintln!(
                "SKIPPED disk_full_during_download: cannot mount a tmpfs here ({}); this case \
                 was NOT tested",
                String::from_utf8_lossy(&out.stderr).trim()
            );
            return;
        }
        Err(e) => {
            eprintln!(
                "SKIPPED disk_full_during_download: no mount command ({e}); this case was NOT \
                 tested"
            );
            return;
        }
    }
    struct Unmount(PathBuf);
    impl Drop for Unmount {
        fn drop(&mut self) {
            let _ = Command::new("umount").arg(&self.0).status();
        }
    }
    let _unmount = Unmount(mount.clone());
    let data = mount.join(CLOUD_DIR);
    std::fs::create_dir_all(&data).expect("mkdir");
    std::fs::write(data.join("keep.txt"), b"mine").expect("write");
    let out = run(&mut vault.restore_cmd(&mount));
    let err = stderr(&out);
    assert!(!out.status.success(), "a full disk went unnoticed: {err}");
    assert!(
        err.contains("No space left on device"),
        "the error does not say the disk is full: {err}"
    );
    let complete = check_interrupted_restore(&data, &tree);
    assert_eq!(std::fs::read(data.join("keep.txt")).expect("kept"), b"mine");
    println!(
        "faults: disk full: poof failed ({} error lines), {complete} complete files, no \
         truncated file, nothing deleted",
        err.lines().filter(|l| l.contains("ERROR")).count()
    );
}
