//! `poof verify`: is poof ready to back up? The original tool's status lines, then real checks.
//!
//! Each line is `question? - ANSWER` on stdout:
//!
//! ```text
//! exists poof.conf? - OK
//! exists rclone-poof.conf? - OK
//! remote poof-crypt defined? - OK
//! encryption enabled? - ENCRYPTION_ENABLED
//! remote reachable? - OK
//! local path /home/ana/Documents exists? - OK
//! crypt keys decrypt existing backup? - OK
//! crypt keys exported? - OK (exported 2026-12-07 18:00:00 UTC)
//! ```
//!
//! The remote is reachable when a listing of its root (the bucket of a plain remote, the root
//! of a crypt remote) succeeds; a bucket that does not exist yet is fine on a fresh vault
//! (`OK (empty)`), while a refused login is not. The crypt keys are right when every name at
//! the root of the crypt remote decrypts (`NO_DATA_YET` before the first backup); when most
//! do not, `WRONG_KEYS` (wrong keys still decrypt a name now and then, to noise); when a few
//! do not, `OK, but` naming them. Until `poof keys export` wrote a kit, `crypt keys exported`
//! warns that a lost machine loses the keys (their only other copy being inside the vault
//! they encrypt, when the config folder is backed up). The exit status is 0 only when every
//! answer says ready; that warning does not count.

use std::process::ExitCode;

use anyhow::Result;

use crate::config::poof::PoofConfig;
use crate::config::rclone::RcloneConfig;
use crate::config::{Paths, POOF_CONF, RCLONE_CONF};
use crate::exit::{Code, WithCode};
use crate::remote::{is_crypt, open_backend, Location};

/// Answer of a file that does not exist.
const MISSING_CONFIG_FILE: &str = "MISSING_CONFIG_FILE";

/// Prints one status line and returns whether it says ready.
fn status(question: &str, answer: &str, ready: bool) -> bool {
    println!("{question}? - {answer}");
    ready
}

/// `poof verify`.
///
/// # Errors
/// A config file that exists but does not parse (one line naming file, key and fix).
pub fn run(paths: &Paths) -> Result<ExitCode> {
    let has_poof = paths.poofconf.is_file();
    let has_rclone = paths.rcloneconf.is_file();
    let answer = |exists| if exists { "OK" } else { MISSING_CONFIG_FILE };
    status(&format!("exists {POOF_CONF}"), answer(has_poof), has_poof);
    status(
        &format!("exists {RCLONE_CONF}"),
        answer(has_rclone),
        has_rclone,
    );
    if !has_poof || !has_rclone {
        return Ok(ExitCode::FAILURE);
    }
    let conf = PoofConfig::load(&paths.poofconf).coded(Code::Usage)?;
    let mut rclone = RcloneConfig::load(&paths.rcloneconf).coded(Code::Usage)?;
    rclone.apply_process_env_overrides();
    let mut ready = true;
    let Some(section) = rclone.section(&conf.remote) else {
        status(&format!("remote {} defined", conf.remote), "MISSING", false);
        return Ok(ExitCode::FAILURE);
    };
    status(&format!("remote {} defined", conf.remote), "OK", true);
    let is_crypt = is_crypt(section);
    status(
        "encryption enabled",
        if is_crypt {
            "ENCRYPTION_ENABLED"
        } else {
            "ENCRYPTION_DISABLED"
        },
        true,
    );

    let root = Location::Remote {
        name: conf.remote.clone(),
        path: if is_crypt {
            String::new()
        } else {
            conf.bucket.clone()
        },
    };
    let runtime = crate::engine::runtime()?;
    let listed =
        open_backend(&rclone, &root).and_then(|backend| runtime.block_on(backend.list("", false)));
    let reachable = listed.is_ok();
    let (entries, undecryptable) = match listed {
        Ok(Some(listing)) => {
            status("remote reachable", "OK", true);
            (listing.entries, listing.problems)
        }
        Ok(None) => {
            status("remote reachable", "OK (empty)", true);
            (Vec::new(), Vec::new())
        }
        Err(e) => {
            ready &= status("remote reachable", &format!("FAILED: {e:#}"), false);
            (Vec::new(), Vec::new())
        }
    };
    for (local, _) in conf.local_paths() {
        let exists = local.is_dir();
        ready &= status(
            &format!("local path {} exists", local.display()),
            if exists { "OK" } else { "MISSING" },
            exists,
        );
    }
    if is_crypt {
        let (answer, ok) = if !reachable {
            ("UNKNOWN".to_owned(), false)
        } else if undecryptable.len() > entries.len() {
            // Most names do not decrypt: wrong keys. (With wrong keys, one name in a hundred
            // or so still decrypts to something, by chance: "none decrypts" would miss those.)
            ("WRONG_KEYS".to_owned(), false)
        } else if let Some(first) = undecryptable.first() {
            // The keys decrypt other names: these few are damaged or foreign, not a password.
            (
                format!(
                    "OK, but {} names do not decrypt: {first}",
                    undecryptable.len()
                ),
                false,
            )
        } else if entries.is_empty() {
            ("NO_DATA_YET".to_owned(), true)
        } else {
            ("OK".to_owned(), true)
        };
        ready &= status("crypt keys decrypt existing backup", &answer, ok);
        // A warning, not a failure: the backup works, but a lost machine loses the keys.
        let exported = std::fs::read_to_string(paths.confdir.join(super::keys::EXPORTED));
        let confdir = crate::engine::real(&paths.confdir);
        let in_vault = conf
            .local_paths()
            .any(|(local, _)| confdir.starts_with(crate::engine::real(&local)));
        let answer = match exported {
            Ok(when) => format!("OK (exported {})", when.trim()),
            Err(_) if in_vault => "NO: their only other copy is inside the vault they encrypt; run `poof keys export FILE` and keep the file elsewhere".to_owned(),
            Err(_) => "NO: they are only on this machine; run `poof keys export FILE` and keep the file elsewhere".to_owned(),
        };
        status("crypt keys exported", &answer, true);
    }
    Ok(if ready {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
