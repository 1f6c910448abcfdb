//! A fresh temporary HOME for driving the `poof` binary as a user would: no poof config, no
//! `XDG_*` variables, the config folder at `~/.config/poof` (caches at `~/.cache/poof`); plus
//! snapshots of folder trees (bytes and modification times) to assert that a refused run
//! changed nothing.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::SystemTime;

use super::{rclone_bin, Scratch};

/// Name of poof's run-lock file, which every run rewrites (left out of snapshots).
pub const LOCK_FILE: &str = ".poof.lock";

/// Name of poof's status file, which every run rewrites (left out of snapshots).
pub const STATUS_FILE: &str = "status.json";

/// A fresh HOME with nothing of poof in it.
pub struct Home {
    pub scratch: Scratch,
}

impl Home {
    pub fn new() -> Home {
        let scratch = Scratch::new();
        std::fs::create_dir_all(scratch.path("home")).unwrap();
        Home { scratch }
    }

    /// A fresh HOME after the poof `commands` (each without arguments, each succeeding).
    pub fn after(commands: &[&str]) -> Home {
        let h = Home::new();
        for command in commands {
            crate::harness::run_ok(h.poof().arg(command));
        }
        h
    }

    /// A fresh HOME after `poof config` and `poof econfig`: an encrypted vault, no folders yet.
    pub fn configured() -> Home {
        Home::after(&["config", "econfig"])
    }

    /// A configured HOME ([`Home::configured`]) with `~/docs` holding `files` added to
    /// poof.conf as the cloud folder `docs`; the snapshot of `~/docs`.
    pub fn with_docs(files: &[(&str, Vec<u8>)]) -> (Home, Snapshot) {
        let h = Home::configured();
        let docs = h.home().join("docs");
        let snapshot = populate(&docs, files);
        h.add_path(&docs, "docs");
        (h, snapshot)
    }

    pub fn home(&self) -> PathBuf {
        self.scratch.path("home")
    }

    pub fn confdir(&self) -> PathBuf {
        self.home().join(".config/poof")
    }

    /// The vault of the embedded default (`~/.local/share/poof/vault`).
    pub fn vault(&self) -> PathBuf {
        self.home().join(".local/share/poof/vault")
    }

    /// A `poof` command on this HOME, with progress off.
    pub fn poof(&self) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_poof"));
        cmd.env("HOME", self.home())
            .env("USER", "tester")
            .env_remove("XDG_CONFIG_HOME")
            .env_remove("XDG_DATA_HOME")
            .env_remove("XDG_CACHE_HOME")
            .env_remove("POOF_CONFDIR")
            .env_remove("RCLONE_CONFIG_PASS")
            .env_remove("RCLONE_PASSWORD_COMMAND");
        cmd
    }

    /// The real rclone on this HOME's rclone-poof.conf.
    pub fn rclone(&self) -> Command {
        let mut cmd = Command::new(rclone_bin());
        cmd.arg("--config")
            .arg(self.confdir().join("rclone-poof.conf"));
        cmd
    }

    pub fn poof_conf(&self) -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(self.confdir().join("poof.conf")).unwrap())
            .unwrap()
    }

    /// Sets a top-level key of poof.conf (editing the JSON, as a user would).
    pub fn set_conf(&self, key: &str, value: serde_json::Value) {
        super::set_conf_key(&self.confdir().join("poof.conf"), key, value);
    }

    /// Adds `local -> cloud` to poof.conf's paths (editing the JSON, as a user would).
    pub fn add_path(&self, local: &Path, cloud: &str) {
        let mut conf = self.poof_conf();
        conf["paths"][local.display().to_string()] = serde_json::Value::from(cloud);
        super::write_private(
            &self.confdir().join("poof.conf"),
            &serde_json::to_string_pretty(&conf).unwrap(),
        );
    }
}

/// Every file below `root` (but the run lock) with its bytes and modification time.
pub type Snapshot = BTreeMap<String, (Vec<u8>, SystemTime)>;

/// Takes a [`Snapshot`]; a missing `root` is empty.
pub fn snapshot(root: &Path) -> Snapshot {
    if !root.exists() {
        return Snapshot::new();
    }
    super::files_below(root)
        .into_iter()
        .filter(|rel| rel != LOCK_FILE && rel != STATUS_FILE)
        .map(|rel| {
            let path = root.join(&rel);
            let mtime = std::fs::metadata(&path).unwrap().modified().unwrap();
            (rel, (std::fs::read(&path).unwrap(), mtime))
        })
        .collect()
}

/// Writes `files` (relative path, bytes) below `root` with distinct past modification times
/// (nanoseconds included), and returns their snapshot.
pub fn populate(root: &Path, files: &[(&str, Vec<u8>)]) -> Snapshot {
    for (i, (rel, bytes)) in files.iter().enumerate() {
        let path = root.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, bytes).unwrap();
        let secs = 1_600_000_000 + 3_600 * i as i64;
        let time = filetime::FileTime::from_unix_time(secs, 123_456_789);
        filetime::set_file_mtime(&path, time).unwrap();
    }
    snapshot(root)
}
