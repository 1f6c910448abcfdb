//! `poof keys export [FILE]`: the keys kit. The crypt remote poof.conf backs up to, and every
//! section it rests on (the storage holding the vault), written as an rclone config file that
//! the real rclone reads on its own, so that a user whose machine is gone can still decrypt
//! the vault: with rclone alone, or with poof. The file starts with comments saying how.
//!
//! The file is new (an existing one is never overwritten) and readable by its owner only; the
//! passwords stay obscured, as in every rclone config, and `--reveal` adds each crypt password
//! in the clear as a comment beside it, for a copy on paper. Nothing is printed but the path.
//! The config folder records when ([`EXPORTED`]), so that `poof verify` stops warning that
//! the keys have no copy away from the vault.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use zeroize::Zeroizing;

use crate::cli::KeysExportArgs;
use crate::config::poof::PoofConfig;
use crate::config::rclone::RcloneConfig;
use crate::config::Paths;
use crate::exit::{Code, WithCode};

/// The file in the config folder that records when a kit was last exported (for `verify`).
pub const EXPORTED: &str = "keys-exported";

/// The file written when none is named.
pub const DEFAULT_FILE: &str = "poof-keys.conf";

/// Keys of a crypt section that hold passwords (obscured).
const CRYPT_PASSWORDS: &[&str] = &["password", "password2"];

/// `poof keys export`.
///
/// # Errors
/// Config files that cannot be read, a remote that is not a crypt remote (no keys), a file
/// that exists already or cannot be written.
pub fn export(paths: &Paths, args: &KeysExportArgs) -> Result<ExitCode> {
    let conf = PoofConfig::load(&paths.poofconf).coded(Code::Usage)?;
    let rclone = RcloneConfig::load(&paths.rcloneconf).coded(Code::Usage)?;
    let chain = sections_of(&rclone, &conf.remote)?;
    let is_crypt = chain
        .first()
        .and_then(|name| rclone.section(name))
        .and_then(|s| s.get("type"))
        == Some("crypt");
    if !is_crypt {
        bail!(
            "the remote {} of {} is not encrypted: there are no keys to export (`poof econfig` makes a crypt remote)",
            conf.remote,
            paths.poofconf.display()
        );
    }
    let file = args.file.clone().unwrap_or_else(|| DEFAULT_FILE.into());
    let when = jiff::Timestamp::now()
        .strftime("%Y-%m-%d %H:%M:%S UTC")
        .to_string();
    let text = kit(&rclone, &chain, &conf, paths, &when, args.reveal)?;
    write_new(&file, &text)?;
    crate::config::files::write_private(&paths.confdir.join(EXPORTED), &format!("{when}\n"))?;
    say!(
        "poof: the keys of {} are in {} (readable by you only): keep it away from the vault it opens",
        conf.remote,
        file.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// The sections a remote needs, itself first: a crypt or alias section names the remote it
/// wraps (`remote = name:path`), down to a storage section or a local path.
///
/// # Errors
/// A section that is not in the config, or a chain that loops.
fn sections_of(rclone: &RcloneConfig, remote: &str) -> Result<Vec<String>> {
    let mut chain: Vec<String> = Vec::new();
    let mut name = remote.to_owned();
    loop {
        if chain.contains(&name) {
            bail!("the remotes of {remote} name each other in a loop ({name})");
        }
        let Some(section) = rclone.section(&name) else {
            bail!("the remote {name} is not defined in the rclone config file");
        };
        chain.push(name.clone());
        let wraps = matches!(section.get("type"), Some("crypt" | "alias"));
        let inner = section.get("remote").unwrap_or_default();
        match inner.split_once(':') {
            Some((next, _)) if wraps && !next.is_empty() && !next.contains('/') => {
                name = next.to_owned();
            }
            _ => return Ok(chain),
        }
    }
}

/// The kit's text: how to restore, then the sections as rclone writes them.
fn kit(
    rclone: &RcloneConfig,
    chain: &[String],
    conf: &PoofConfig,
    paths: &Paths,
    when: &str,
    reveal: bool,
) -> Result<Zeroizing<String>> {
    let crypt = &conf.remote;
    let header = format!(
        "# poof keys kit: the crypt remote {crypt} of {poofconf}, exported {when}.\n\
         # Keep it away from the vault it opens (a password manager, a USB key, paper).\n\
         #\n\
         # Restore with rclone alone (each folder of poof.conf is a folder of {crypt}:):\n\
         #   rclone --config THIS_FILE lsf {crypt}:\n\
         #   rclone --config THIS_FILE copy {crypt}:FOLDER /where/to/restore\n\
         # Restore with poof: copy this file to {rcloneconf}, then `poof download`,\n\
         #   or `poof --rcloneconf THIS_FILE download --to /where/to/restore`.\n\n",
        poofconf = paths.poofconf.display(),
        rcloneconf = paths.rcloneconf.display(),
    );
    // Room enough that the secrets are not left behind in grown-out buffers.
    let mut out = Zeroizing::new(String::with_capacity(header.len() + 16 * 1024));
    out.push_str(&header);
    for name in chain {
        let Some(section) = rclone.section(name) else {
            continue;
        };
        let is_crypt = section.get("type") == Some("crypt");
        let mut one = RcloneConfig::parse("").context("an empty rclone config")?;
        for (key, value) in section.entries() {
            one.set(name, key, value);
        }
        let ini = Zeroizing::new(one.to_ini());
        for line in ini.lines() {
            let key = line.split_once(" = ").map(|(k, _)| k);
            if let (true, true, Some(key)) = (reveal, is_crypt, key) {
                if CRYPT_PASSWORDS.contains(&key) {
                    if let Some(plain) = section.get_revealed(key)? {
                        for part in ["# ", key, ", revealed: ", plain.as_str(), "\n"] {
                            out.push_str(part);
                        }
                    }
                }
            }
            out.push_str(line);
            out.push('\n');
        }
    }
    Ok(out)
}

/// Writes `text` to a new file readable by its owner only.
///
/// # Errors
/// The file exists (never overwritten) or cannot be written.
fn write_new(file: &Path, text: &str) -> Result<()> {
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(file)
        .with_context(|| {
            format!(
                "cannot create {} (an existing file is never overwritten: name another)",
                file.display()
            )
        })?;
    f.write_all(text.as_bytes())
        .and_then(|()| f.sync_all())
        .with_context(|| format!("cannot write {}", file.display()))
}
