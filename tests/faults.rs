//! Fault injection: poof killed with SIGKILL at random points, storage dying mid-run, storage
//! that accepts connections and never answers, a full disk. After every fault, every object
//! under its real name decrypts fully to one complete version of its file, no temporary file
//! shows up as a real name, nothing is deleted, and a re-run converges to an exact copy.
//!
//! With a history that keeps everything (`"history": {}` in poof.conf), backups move every
//! version they replace or delete into `poof-history/<run>/`: there the kills, the dead server
//! and the full disk strike while versions move, and the invariant is that nothing is lost:
//! every version the cloud held after a backup that ran to its end is afterwards current or in
//! history, byte for byte, as the real rclone reads the vault ([`Known::check`]).
//!
//! The runs are the user's commands: `poof backup` of a folder listed in poof.conf (cloud
//! folder [`CLOUD_DIR`]) and `poof download --to`. Sizes come from the environment so that CI
//! stays fast and a full run is one variable away:
//!
//! - `POOF_FAULT_KILLS`: kill points per backend (default [`DEFAULT_KILLS`]; full runs: 50+),
//! - `POOF_FAULT_FILES`: files in the tree (default [`DEFAULT_FILES`], [`DEFAULT_HISTORY_FILES`]
//!   in the history kill points; full runs: 2000),
//! - `POOF_FAULT_SEED`: the seed of the kill points and the tree (default [`DEFAULT_SEED`]).
//!
//! Each test prints its figures (`faults: ...` lines; run with `--nocapture` to see them).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::harness::s3::S3Server;
use crate::harness::{
    byte_tree, files_below, lines_starting, pattern, run, run_ok, set_conf_key, spawn, CryptOpts,
    Scratch,
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
/// Files in the tree of the history kill points in CI (each point reads the whole vault back
/// through rclone twice).
const DEFAULT_HISTORY_FILES: usize = 100;
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
    /// The paths deleted since their last version.
    gone: BTreeSet<String>,
}

/// What one [`Tree::churn`] changed, in files.
#[derive(Default)]
struct Churn {
    edited: usize,
    deleted: usize,
    added: usize,
    recreated: usize,
}

impl Tree {
    /// `files` files in nested folders; one in eight spans several 64 KiB blocks.
    fn write(root: &Path, files: usize, rng: &mut Rng) -> Tree {
        let mut tree = Tree {
            root: root.to_path_buf(),
            versions: BTreeMap::new(),
            gone: BTreeSet::new(),
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
        self.gone.remove(path);
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

    /// The paths present in the folder.
    fn present(&self) -> Vec<String> {
        self.versions
            .keys()
            .filter(|path| !self.gone.contains(*path))
            .cloned()
            .collect()
    }

    /// Deletes about one file in `one_in`; returns how many.
    fn delete_some(&mut self, one_in: u64, rng: &mut Rng) -> usize {
        let mut deleted = 0;
        for path in self.present() {
            if rng.below(one_in) == 0 {
                std::fs::remove_file(self.root.join(&path)).expect("delete");
                self.gone.insert(path);
                deleted += 1;
            }
        }
        deleted
    }

    /// Changes the folder as a user's day does: about one file in `one_in` gets new contents,
    /// about as many are deleted, two deleted earlier come back with new contents, and three
    /// new files (named after `tag`) appear.
    fn churn(&mut self, one_in: u64, tag: &str, rng: &mut Rng) -> Churn {
        let earlier_gone: Vec<String> = self.gone.iter().take(2).cloned().collect();
        let mut churn = Churn::default();
        for path in self.present() {
            if rng.below(one_in) == 0 {
                let size = random_size(rng);
                self.put(&path, rng.next(), size);
                churn.edited += 1;
            }
        }
        churn.deleted = self.delete_some(one_in, rng);
        for path in earlier_gone {
            let size = random_size(rng);
            self.put(&path, rng.next(), size);
            churn.recreated += 1;
        }
        for i in 0..3 {
            let size = random_size(rng);
            self.put(&format!("new/{tag}-{i}.dat"), rng.next(), size);
            churn.added += 1;
        }
        churn
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
        Vault::local_in("enc")
    }

    /// A crypt remote over the folder `rel` of a fresh scratch folder.
    fn local_in(rel: &str) -> Vault {
        let s = Scratch::new();
        let enc = s.path(rel);
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
        s.write_config(&s3_config(&server));
        write_poof_conf(&s);
        Vault {
            enc: s.path("served/bucket/enc"),
            s,
            remote: "c:data",
            server: Some(server),
        }
    }

    /// poof.conf keeps every version a backup replaces or deletes (`"history": {}`, a policy
    /// that keeps everything).
    fn keeping_history(self) -> Vault {
        set_conf_key(
            &self.s.path("conf/poof.conf"),
            "history",
            serde_json::json!({}),
        );
        self
    }

    /// Starts a new `rclone serve s3` of the served folder after the old one died, and points
    /// the rclone config at it.
    fn restart_server(&mut self) {
        let server = S3Server::start(&self.s.path("served"), &[]);
        self.s.write_config(&s3_config(&server));
        self.server = Some(server);
    }

    /// The folder of the encrypted objects of the history (`poof-history` encrypted): its
    /// entries are the run folders.
    fn history_dir(&self) -> PathBuf {
        self.enc
            .join(CryptOpts::default().names().encrypt_segment(HISTORY))
    }

    /// Everything in the vault as the real rclone reads it: `rclone copy c:` (the crypt
    /// remote's root: the cloud folder and `poof-history`) into a fresh folder.
    fn cloud(&self) -> Cloud {
        let copy = self.s.path("cloud-copy");
        if copy.exists() {
            std::fs::remove_dir_all(&copy).expect("remove the last copy");
        }
        run_ok(self.s.rclone().args(["copy", "c:"]).arg(&copy));
        let mut cloud = Cloud::default();
        let folder = format!("{CLOUD_DIR}/");
        for (path, bytes) in byte_tree(&copy) {
            let path = String::from_utf8(path).expect("UTF-8 names");
            if let Some(rel) = path.strip_prefix(&folder) {
                cloud.current.insert(rel.to_owned(), bytes);
                continue;
            }
            let (run, rest) = path
                .strip_prefix(&format!("{HISTORY}/"))
                .and_then(|rest| rest.split_once('/'))
                .unwrap_or_else(|| panic!("{path}: neither the cloud folder nor history"));
            if let Some(rel) = rest.strip_prefix(&folder) {
                let versions = cloud.kept.entry(rel.to_owned()).or_default();
                versions.insert(run.to_owned(), bytes);
            } else if rest.starts_with(&format!("{HISTORY}-added/")) {
                let record: serde_json::Value =
                    serde_json::from_slice(&bytes).expect("a record is JSON");
                let added = record["added"].as_array().expect("added paths");
                let paths = added.iter().map(|p| p.as_str().expect("a path").to_owned());
                cloud.records.insert(run.to_owned(), paths.collect());
            } else {
                panic!("{path}: in a run folder, neither a version nor a record");
            }
        }
        std::fs::remove_dir_all(&copy).expect("remove the copy");
        cloud
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
    /// tree: complete, one version of its file (a version in history, of its path). Returns
    /// the count checked.
    fn check_objects(&self, tree: &Tree) -> usize {
        let opts = CryptOpts::default();
        let names = opts.names();
        let cipher = poof_crypt::ContentCipher::new(&opts.keys());
        let (real, _) = self.stored_objects();
        let mut checked = 0;
        for rel in &real {
            let full_name = names.decrypt_file_name(rel).expect("name");
            let in_cloud = (full_name.strip_prefix(&format!("{HISTORY}/")))
                .and_then(|rest| rest.split_once('/'))
                .map_or(full_name.as_str(), |(_run, rest)| rest);
            if in_cloud.starts_with(&format!("{HISTORY}-added/")) {
                // A run's record of the files it added, not a version.
                continue;
            }
            let plain_name = in_cloud
                .strip_prefix(&format!("{CLOUD_DIR}/"))
                .unwrap_or(in_cloud)
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
            checked += 1;
        }
        checked
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

/// The rclone config of a crypt remote `c` over the bucket of `server`.
fn s3_config(server: &S3Server) -> String {
    format!(
        "{}{}",
        server.section("s3"),
        CryptOpts::default().section("c", "s3:bucket/enc")
    )
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
    watch(cmd, || true, Some(after)).killed
}

/// What [`watch`] saw of a run.
struct Watched {
    /// When the trigger first held, from the start.
    triggered: Option<Duration>,
    /// Whether the run was killed (rather than ending on its own).
    killed: bool,
    /// From the start to the end of the run.
    took: Duration,
}

/// Runs `cmd` to its end, polling `trigger`; with `kill` it is killed with SIGKILL that long
/// after the trigger first holds (if still running).
fn watch(cmd: &mut Command, trigger: impl Fn() -> bool, kill: Option<Duration>) -> Watched {
    let mut child = spawn(cmd.stdin(Stdio::null()), Stdio::null);
    let start = Instant::now();
    let mut triggered = None;
    loop {
        if child.try_wait().expect("wait").is_some() {
            let took = start.elapsed();
            return Watched {
                triggered,
                killed: false,
                took,
            };
        }
        if triggered.is_none() && trigger() {
            triggered = Some(start.elapsed());
        }
        if let (Some(at), Some(after)) = (triggered, kill) {
            if start.elapsed() >= at + after {
                break;
            }
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    // Child::kill sends SIGKILL on Unix.
    let killed = child.try_wait().expect("wait").is_none();
    let _ = child.kill();
    let _ = child.wait();
    Watched {
        triggered,
        killed,
        took: start.elapsed(),
    }
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

/// The folder of history at the root of the vault (see the README).
const HISTORY: &str = "poof-history";
/// Kill points of the history loop change about one file in this many per run.
const HISTORY_CHURN: u64 = 8;

/// Files by path (relative to their folder) with their contents.
type Files = BTreeMap<String, Vec<u8>>;

/// The files of a local folder.
fn local_files(root: &Path) -> Files {
    byte_tree(root)
        .into_iter()
        .map(|(path, bytes)| (String::from_utf8(path).expect("UTF-8 names"), bytes))
        .collect()
}

/// The vault as the real rclone reads it ([`Vault::cloud`]).
#[derive(Default)]
struct Cloud {
    /// `<cloud folder>/<path>`: the current version of each path.
    current: Files,
    /// `poof-history/<run>/<cloud folder>/<path>`: path -> run -> the version kept there.
    kept: BTreeMap<String, BTreeMap<String, Vec<u8>>>,
    /// `poof-history/<run>/poof-history-added/<cloud folder>.json`: run -> the paths it added.
    records: BTreeMap<String, Vec<String>>,
}

impl Cloud {
    /// The versions in history.
    fn kept_count(&self) -> usize {
        self.kept.values().map(BTreeMap::len).sum()
    }
}

/// Every version the cloud held after a backup that ran to its end: with a history that keeps
/// everything, none may ever be lost.
#[derive(Default)]
struct Known(BTreeMap<String, BTreeSet<Vec<u8>>>);

impl Known {
    fn add(&mut self, files: &Files) {
        for (path, bytes) in files {
            self.0
                .entry(path.clone())
                .or_default()
                .insert(bytes.clone());
        }
    }

    fn count(&self) -> usize {
        self.0.values().map(BTreeSet::len).sum()
    }

    /// The invariant of a history after any fault: every known version is current or in
    /// history, byte for byte; and every object in the cloud, current or kept, is a known
    /// version or the local folder's version of its path (nothing truncated or mixed). `when`
    /// names the moment in messages. Returns how many known versions are only in history.
    fn check(&self, cloud: &Cloud, local: &Files, when: &str) -> usize {
        let mut only_kept = 0;
        for (path, versions) in &self.0 {
            let kept = cloud.kept.get(path);
            for bytes in versions {
                if cloud.current.get(path) == Some(bytes) {
                    continue;
                }
                assert!(
                    kept.is_some_and(|runs| runs.values().any(|k| k == bytes)),
                    "{when}: LOST: a version of {path} ({} bytes) is neither current nor in \
                     {HISTORY} (history holds {:?} of it, the cloud folder {} bytes)",
                    bytes.len(),
                    kept.map(|runs| runs.iter().map(|(r, b)| (r, b.len())).collect::<Vec<_>>()),
                    cloud.current.get(path).map_or(0, Vec::len),
                );
                only_kept += 1;
            }
        }
        let is_known = |path: &String, bytes: &Vec<u8>| {
            local.get(path) == Some(bytes) || self.0.get(path).is_some_and(|v| v.contains(bytes))
        };
        for (path, bytes) in &cloud.current {
            assert!(
                is_known(path, bytes),
                "{when}: {CLOUD_DIR}/{path}: {} bytes that are no version of the file",
                bytes.len()
            );
        }
        for (path, runs) in &cloud.kept {
            for (run, bytes) in runs {
                assert!(
                    is_known(path, bytes),
                    "{when}: {HISTORY}/{run}/{CLOUD_DIR}/{path}: {} bytes that are no version \
                     of the file",
                    bytes.len()
                );
            }
        }
        only_kept
    }
}

/// After a backup that ran to its end: the cloud folder holds exactly the local folder (as
/// rclone reads it) and nothing known is lost; the local versions join the known ones.
fn converged(vault: &Vault, known: &mut Known, when: &str) -> Cloud {
    let local = local_files(&vault.src());
    let cloud = vault.cloud();
    let differ: Vec<&String> = local
        .keys()
        .chain(cloud.current.keys())
        .filter(|path| local.get(*path) != cloud.current.get(*path))
        .collect();
    assert!(
        differ.is_empty(),
        "{when}: the cloud folder differs from the local one in {differ:?}"
    );
    known.check(&cloud, &local, when);
    known.add(&local);
    cloud
}

/// How many run folders [`Vault::history_dir`] holds.
fn run_folders(history: &Path) -> usize {
    std::fs::read_dir(history).map_or(0, Iterator::count)
}

/// The paths of `now` that `before` lacks.
fn added<'a>(before: &'a Files, now: &'a Files) -> impl Iterator<Item = &'a String> {
    now.keys().filter(|path| !before.contains_key(*path))
}

/// The kill-point loop of a vault keeping history: each round changes the folder (edits,
/// deletes, additions, re-creations), kills its backup (even rounds at a random time in the
/// run, odd ones at a random time after its first move into history), checks that no version
/// of a converged backup is lost, then re-runs to convergence.
fn kill_history_backups(vault: &Vault, label: &str) {
    let kills = env_or("POOF_FAULT_KILLS", DEFAULT_KILLS as u64) as usize;
    let files = env_or("POOF_FAULT_FILES", DEFAULT_HISTORY_FILES as u64) as usize;
    let mut rng = Rng::new(env_or("POOF_FAULT_SEED", DEFAULT_SEED) ^ 0x6869_7374);
    let mut tree = Tree::write(&vault.src(), files, &mut rng);
    let mut known = Known::default();
    run_ok(&mut vault.backup_cmd());
    converged(vault, &mut known, "the first backup");
    let history = vault.history_dir();
    let run_folders = || run_folders(&history);
    // One update run to its end: its length, and when it first moves a version into history
    // (its run folder appears), are the ranges of the kill points.
    tree.churn(HISTORY_CHURN, "u", &mut rng);
    let runs = run_folders();
    let update = watch(&mut vault.backup_cmd(), || run_folders() > runs, None);
    let first_move = update
        .triggered
        .expect("the update moved nothing into history");
    // A run that ends before its kill narrows the range of its kind of kill point.
    let (mut whole, mut moving) = (update.took, update.took.saturating_sub(first_move));
    let mut cloud = converged(vault, &mut known, "the first update");
    let mut before = local_files(&vault.src());
    let (mut killed, mut mid_move, mut moved) = (0, 0, 0);
    let mut churned = Churn::default();
    for k in 0..kills {
        let churn = tree.churn(HISTORY_CHURN, &format!("k{k}"), &mut rng);
        churned.edited += churn.edited;
        churned.deleted += churn.deleted;
        churned.added += churn.added;
        churned.recreated += churn.recreated;
        let anywhere = k % 2 == 0;
        let range = if anywhere { whole } else { moving };
        let at = Duration::from_micros(rng.below(range.as_micros() as u64 + 1));
        let when = if anywhere {
            format!("kill {k} at {at:?}")
        } else {
            format!("kill {k} at {at:?} after the first move")
        };
        let runs = run_folders();
        let trigger = || anywhere || run_folders() > runs;
        let watched = watch(&mut vault.backup_cmd(), trigger, Some(at));
        match (watched.killed, anywhere, watched.triggered) {
            (true, _, _) => {}
            (false, true, _) => whole = whole.min(watched.took),
            (false, false, Some(moved)) => moving = moving.min(watched.took - moved),
            (false, false, None) => {}
        }
        let local = local_files(&vault.src());
        let after = vault.cloud();
        known.check(&after, &local, &format!("after {when}"));
        moved += after.kept_count() - cloud.kept_count();
        if watched.killed {
            killed += 1;
            if after.kept_count() > cloud.kept_count() && after.current != local {
                mid_move += 1;
            }
        }
        let out = run(&mut vault.backup_cmd());
        assert!(
            out.status.success(),
            "re-run after {when} failed: {}",
            stderr(&out)
        );
        let runs_before: BTreeSet<String> = cloud.records.keys().cloned().collect();
        cloud = converged(vault, &mut known, &format!("the re-run after {when}"));
        // A file a killed run added and its re-run found already there is in the killed run's
        // record, written before its first transfer: the state before it is rebuilt right.
        let recorded: BTreeSet<&String> = (cloud.records.iter())
            .filter(|(run, _)| !runs_before.contains(*run))
            .flat_map(|(_, added)| added)
            .collect();
        let missing: Vec<&String> = added(&before, &local)
            .filter(|path| !recorded.contains(path))
            .collect();
        assert!(
            missing.is_empty(),
            "after {when}: files added since the last run are in no run's record: {missing:?}"
        );
        before = local;
    }
    println!(
        "faults: history, {label}: {files} files, an update backup {:?} (first move into \
         history at {first_move:?}); {kills} kill points over {} edits, {} deletes, {} \
         additions, {} re-creations; {killed} killed mid-run, {mid_move} of them between a \
         move into history and the run's end; {moved} versions moved into history by killed \
         runs; after every kill and every re-run, every earlier version ({} at the end) \
         current or in {HISTORY} byte for byte as rclone reads it; {kills} re-runs converged; \
         every file added by a killed run in a run's record",
        update.took,
        churned.edited,
        churned.deleted,
        churned.added,
        churned.recreated,
        known.count()
    );
}

#[test]
fn kill_history_backup_local_vault() {
    kill_history_backups(
        &Vault::local().keeping_history(),
        "crypt over a local folder",
    );
}

#[test]
fn kill_history_backup_s3_vault() {
    kill_history_backups(&Vault::s3().keeping_history(), "crypt over rclone serve s3");
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

/// The S3 server dies during a backup keeping history that replaces every big file (each old
/// version moves into history just before its new one is written) and edits and deletes small
/// ones: non-zero exit, a clear message, within the retry bound; every object stored, current
/// or in history, is complete; once a new server serves the same folder, every version of the
/// last backup is current or in history byte for byte, and a re-run converges.
#[test]
fn storage_dies_during_upload() {
    let (vault, mut tree) = s3_vault_with_big_files(7, 100);
    let mut vault = vault.keeping_history();
    let mut known = Known::default();
    run_ok(&mut vault.backup_cmd());
    let before = converged(&vault, &mut known, "the first backup");
    for i in 0..6 {
        tree.put(&format!("big/{i}.dat"), 500 + i, 6 * 1024 * 1024);
    }
    tree.churn(4, "dead", &mut Rng::new(12));
    // The server dies once a big file's old version has moved into history and before its new
    // one is there.
    let names = CryptOpts::default().names();
    let big: Vec<PathBuf> = (0..6)
        .map(|i| (vault.enc).join(names.encrypt_file_name(&format!("{CLOUD_DIR}/big/{i}.dat"))))
        .collect();
    let cmd = vault.backup_cmd();
    kill_server_during(&mut vault, cmd, move |_| big.iter().any(|b| !b.exists()));
    let checked = vault.check_objects(&tree);
    vault.restart_server();
    let after = vault.cloud();
    let local = local_files(&vault.src());
    let only_kept = known.check(&after, &local, "after the server died");
    run_ok(&mut vault.backup_cmd());
    converged(&vault, &mut known, "the re-run after the server died");
    println!(
        "faults: dead storage during upload: {checked} stored objects complete; {} versions \
         moved into history before the server died, {only_kept} earlier versions only there; \
         none lost, as rclone reads the vault; the re-run converged",
        after.kept_count() - before.kept_count()
    );
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
    let _unmount = mount_tmpfs(&mount, "size=2m", "disk_full_during_download");
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

/// Unmounts a test's tmpfs when dropped.
struct Unmount(PathBuf);

impl Drop for Unmount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

/// Mounts a tmpfs with `options` (e.g. `size=2m`) at `at` (created), or fails `test`.
fn mount_tmpfs(at: &Path, options: &str, test: &str) -> Unmount {
    std::fs::create_dir_all(at).expect("mkdir");
    let mounted = Command::new("mount")
        .args(["-t", "tmpfs", "-o", options, "tmpfs"])
        .arg(at)
        .stderr(Stdio::piped())
        .output();
    // A full disk is staged on a small tmpfs; without one this case cannot run, and a test
    // that did not run must not pass.
    match mounted {
        Ok(out) if out.status.success() => Unmount(at.to_path_buf()),
        Ok(out) => panic!(
            "{test}: cannot mount a tmpfs to fill ({}); run the tests as root",
            String::from_utf8_lossy(&out.stderr).trim()
        ),
        Err(e) => panic!("{test}: no mount command ({e})"),
    }
}

/// Fills the disk holding `filler` with that one file, but for `free` bytes.
fn fill_bytes(filler: &Path, free: u64) {
    let mut file = std::fs::File::create(filler).expect("create the filler");
    let chunk = vec![0u8; BLOCK];
    let full = loop {
        if let Err(e) = std::io::Write::write_all(&mut file, &chunk) {
            break e;
        }
    };
    assert_eq!(full.kind(), std::io::ErrorKind::StorageFull, "{full}");
    let len = file.metadata().expect("filler").len();
    file.set_len(len.saturating_sub(free))
        .expect("truncate the filler");
}

/// Fills the inodes of the disk holding `dir` with empty files in `dir` (created), but for
/// `free`.
fn fill_inodes(dir: &Path, free: usize) {
    std::fs::create_dir_all(dir).expect("mkdir");
    let mut made = Vec::new();
    let full = loop {
        let path = dir.join(made.len().to_string());
        match std::fs::File::create(&path) {
            Ok(_) => made.push(path),
            Err(e) => break e,
        }
    };
    assert_eq!(full.kind(), std::io::ErrorKind::StorageFull, "{full}");
    for path in made.iter().rev().take(free) {
        std::fs::remove_file(path).expect("free an inode");
    }
}

/// A backup of a vault on a full disk (out of `what`): it fails saying so, and every version
/// known is current or in history. Returns the versions it moved into history since `before`
/// and how many known ones are only there.
fn full_disk_backup(vault: &Vault, known: &Known, before: &Cloud, what: &str) -> (usize, usize) {
    let out = run(&mut vault.backup_cmd());
    let err = stderr(&out);
    assert!(
        !out.status.success(),
        "a disk out of {what} went unnoticed: {err}"
    );
    assert!(
        err.contains("No space left on device"),
        "the error does not say the disk is full: {err}"
    );
    let after = vault.cloud();
    let when = format!("after the disk ran out of {what}");
    let only_kept = known.check(&after, &local_files(&vault.src()), &when);
    (after.kept_count() - before.kept_count(), only_kept)
}

/// The vault's disk fills while a backup keeping history replaces and deletes files: first its
/// bytes (the new versions do not fit, the replaced ones have moved into history already),
/// then its inodes (the folders of history cannot be made: the moves themselves fail, in the
/// delete phase). Each time poof fails naming the full disk, every version of the last backup
/// is current or in history as rclone reads it, and once space is freed a re-run converges.
#[test]
fn disk_full_while_moving_into_history() {
    const TEST: &str = "disk_full_while_moving_into_history";
    let vault = Vault::local_in("disk/enc").keeping_history();
    let disk = vault.s.path("disk");
    let _unmount = mount_tmpfs(&disk, "size=16m,nr_inodes=2048", TEST);
    let mut rng = Rng::new(13);
    let mut tree = Tree::write(&vault.src(), 40, &mut rng);
    for i in 0..4 {
        tree.put(&format!("big/{i}.dat"), 600 + i, 8 * BLOCK);
    }
    let mut known = Known::default();
    run_ok(&mut vault.backup_cmd());
    let cloud = converged(&vault, &mut known, "the first backup");

    // Bytes: 1 MiB left; the new versions of the big files need 2 MiB.
    for i in 0..4 {
        tree.put(&format!("big/{i}.dat"), 700 + i, 8 * BLOCK);
    }
    tree.churn(5, "bytes", &mut rng);
    let filler = disk.join("filler");
    fill_bytes(&filler, 16 * BLOCK as u64);
    let (bytes_moved, bytes_kept) = full_disk_backup(&vault, &known, &cloud, "bytes");
    std::fs::remove_file(&filler).expect("free the disk");
    run_ok(&mut vault.backup_cmd());
    let cloud = converged(&vault, &mut known, "the re-run after the disk filled");

    // Inodes: room for four files or folders, one move's new folders (run, cloud folder and
    // two levels); a run that only deletes moves each file into a folder of its own run.
    let deleted = tree.delete_some(2, &mut rng);
    let fillers = disk.join("fillers");
    fill_inodes(&fillers, 4);
    let (inodes_moved, _) = full_disk_backup(&vault, &known, &cloud, "inodes");
    std::fs::remove_dir_all(&fillers).expect("free the inodes");
    run_ok(&mut vault.backup_cmd());
    converged(&vault, &mut known, "the re-run after the inodes ran out");
    println!(
        "faults: disk full while moving into history: out of bytes, {bytes_moved} versions \
         moved, {bytes_kept} only in history; out of inodes, {inodes_moved} of {deleted} \
         deleted files moved before the moves failed; none lost, as rclone reads the vault; \
         both re-runs converged"
    );
}
