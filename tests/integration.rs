//! Integration tests of poof: the `poof` binary and the crypt crate against the real rclone.
//!
//! One test binary; one module per area. The rclone peer is installed by `scripts/test.sh`
//! (`POOF_TEST_RCLONE` names its binary).

mod harness;

/// `--bwlimit` and poof.conf's `"bwlimit"`: limited runs keep to the rate, bad specs refused.
mod bwlimit;
/// `poof cryptdecode`, `poof obscure`, `poof reveal` against their rclone counterparts.
mod cli_crypt;
/// `poof completions` and `poof man`: scripts that complete in bash, man pages groff renders cleanly.
mod completions;
/// poof-crypt against the real rclone: content and names, both directions.
mod crypt_interop;
/// Exit codes 0-6, each provoked for real (a file unreadable to nobody, dead stores, a held lock).
mod exit_codes;
/// Fault injection: kill -9 at random points, storage dying mid-run, a full disk.
mod faults;
/// rclone's filter rules: poof and rclone choose the same files for every rule set.
mod filters;
/// FTP remotes against pyftpdlib: crypt and plain both ways, FTPS, poof's commands, faults.
mod ftp;
/// History in poof.conf: replaced and deleted versions kept where rclone reads them.
mod history;
/// The hostile input table: damaged objects, forged names, broken configs, a wrong password.
mod hostile;
/// Hostile configs: overlapping or escaping cloud names, a folder added twice, device configs.
mod hostile_config;
/// Hostile files in real folders: names like temporary files, long names, links in a restore.
mod hostile_files;
/// Hostile flags and misleading messages: worker counts, run summaries, FIFOs, single files.
mod hostile_flags;
/// Hostile file names (control characters, invalid UTF-8, rclone's quote rune) both ways.
mod hostile_names;
/// HTTP remotes against `rclone serve http`: listings, reads and syncs from index pages; writes refused.
mod http;
/// The JSON for scripts held to golden files: --json summaries, status --json, JSON log lines.
mod json_output;
/// The keys kit: `poof keys export` restores the vault with rclone alone.
mod keys;
/// The poof commands' life cycle on a temp HOME: backup, upload, download, verify, guards, lock.
mod lifecycle;
/// Names too long for the destination: reported before anything is sent, with the encoding that holds them.
mod long_names;
/// poof.conf's "notify" URL against a local HTTP server: start, success, failure, server down.
mod notify;
/// Azure Blob (Azurite) and GCS (fake-gcs-server) both ways with rclone: crypt, names, history.
mod object_stores;
/// `poof ls`, `lsjson`, `cat` against rclone on local, crypt, S3 and crypt-over-S3 remotes.
mod remote_read;
/// Hostile file names on a plain S3 bucket: the object keys rclone writes, both ways.
mod s3_names;
/// Security: no secret printed at any verbosity, private config files, stdin-only passwords.
mod security;
/// poof's setup commands on a fresh HOME: config files, the encrypted vault, schedules, neuter.
mod setup;
/// The sftp storage type against `rclone serve sftp` and OpenSSH's sshd, both ways with rclone.
mod sftp;
/// `upload --shred`: verified files overwritten in place with random bytes before the unlink.
mod shred;
/// `poof sync`, `copy`, `cryptcheck` against rclone on crypt over local and S3.
mod sync_interop;
/// Every crypt option both ways with rclone; plain S3 both ways; modification times kept.
mod sync_matrix;
/// `poof versions`: every version of a file, its run, size and time, as rclone lists them.
mod versions;
/// WebDAV remotes against `rclone serve webdav`: crypt and plain both ways, poof's commands, faults.
mod webdav;
