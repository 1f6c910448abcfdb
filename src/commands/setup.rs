//! Setting poof up: `paths`, `config`, `cconfig`, `econfig`, `cryptoggle` and `version`.
//!
//! `cconfig` on a machine with no config writes poof's embedded default: a plain remote
//! `poof-backup` (an `alias` rooted at the absolute path of the vault folder,
//! `$XDG_DATA_HOME/poof/vault`) and a crypt remote `poof-crypt` over `poof-backup:BUCKET` with
//! random passwords, and points poof.conf at the crypt remote: `poof backup` then encrypts for
//! real with no cloud account. The file stays a valid rclone config that the real rclone reads
//! the same way. Every printed config has its secrets masked.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context, Result};

use crate::cli::ConfigArgs;
use crate::config::poof::{cloud_name, PoofConfig, CONFIG_CLOUD_DIR, CRYPT_REMOTE, PLAIN_REMOTE};
use crate::config::rclone::RcloneConfig;
use crate::config::{files, Paths, POOF_CONF, RCLONE_CONF};
use crate::engine::real;

/// `poof paths`: where the two config files are.
pub fn paths(paths: &Paths) -> Result<ExitCode> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{POOF_CONF} = {}", paths.poofconf.display())?;
    writeln!(out, "{RCLONE_CONF} = {}", paths.rcloneconf.display())?;
    Ok(ExitCode::SUCCESS)
}

/// `poof version`.
pub fn version() -> Result<ExitCode> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "poof {}", env!("CARGO_PKG_VERSION"))?;
    writeln!(
        out,
        "poof-crypt {} (rclone crypt format: scrypt keys, EME names, secretbox content)",
        poof_crypt::VERSION
    )?;
    writeln!(
        out,
        "storage: OpenDAL 0.59 (s3), std I/O (local); compatible with rclone v1.75"
    )?;
    Ok(ExitCode::SUCCESS)
}

/// Creates poof.conf when missing and returns it.
fn ensure_poof_conf(paths: &Paths) -> Result<PoofConfig> {
    if paths.poofconf.exists() {
        return PoofConfig::load(&paths.poofconf);
    }
    let conf = PoofConfig::new_default(&paths.confdir, &paths.rcloneconf);
    conf.save(&paths.poofconf)?;
    say!("poof: created {}", paths.poofconf.display());
    Ok(conf)
}

/// `poof config [--add DIR [--name NAME] | --remove DIR]`: creates poof.conf when missing,
/// adds or removes a folder to protect, then prints it.
pub fn config(paths: &Paths, args: &ConfigArgs) -> Result<ExitCode> {
    let mut conf = ensure_poof_conf(paths)?;
    if conf.history.is_none() {
        // Said once: the policy is then written in poof.conf, where the user changes it.
        conf.history = Some(crate::config::poof::default_history());
        conf.save(&paths.poofconf)?;
        say!(
            "poof: history is on: every file a backup replaces or deletes is kept in the cloud under poof-history/ (keep {}; `poof forget` applies it); edit \"history\" in {} to change it, or set it to false for a pure mirror",
            crate::history::policy::KeepPolicy::DEFAULT,
            paths.poofconf.display()
        );
    }
    if let Some(dir) = &args.add {
        let dir = std::path::absolute(dir)
            .with_context(|| format!("cannot make {} absolute", dir.display()))?;
        if !dir.is_dir() {
            bail!("{} is not a folder: poof backs up folders", dir.display());
        }
        if add_path(&mut conf, paths, &dir, args.name.as_deref())? {
            conf.save(&paths.poofconf)?;
        }
    } else if let Some(dir) = &args.remove {
        let key = std::path::absolute(dir)?.display().to_string();
        let key = key.trim_end_matches('/');
        let listed = conf
            .paths
            .keys()
            .find(|local| local.trim_end_matches('/') == key)
            .cloned();
        if listed.and_then(|local| conf.paths.remove(&local)).is_none() {
            bail!(
                "{key} is not one of the paths in {}",
                paths.poofconf.display()
            );
        }
        conf.filters
            .retain(|local, _| local.trim_end_matches('/') != key);
        conf.save(&paths.poofconf)?;
    }
    let text = files::read_private(&paths.poofconf)?;
    print!("{text}");
    for (local, _) in conf.local_paths() {
        if let Some(rules) = active_rules(&conf, &local) {
            say!("poof: {} takes every file but: {rules}", local.display());
        }
    }
    if conf.shred() {
        say!("poof: upload shreds each verified file (random bytes over it) before deleting it (\"shred\": true)");
    }
    Ok(ExitCode::SUCCESS)
}

/// The rules poof.conf gives the folder `local`, in rclone's words; `None` when it takes
/// every file.
fn active_rules(conf: &PoofConfig, local: &Path) -> Option<String> {
    let spec = conf.filter_spec(local, &crate::filter::Spec::default());
    let rules: Vec<String> = spec
        .exclude
        .iter()
        .map(|p| format!("- {p}"))
        .chain(spec.filter.iter().cloned())
        .chain(spec.filter_from.iter().map(|f| format!("the rules in {f}")))
        .chain(
            spec.exclude_if_present
                .iter()
                .map(|name| format!("folders holding {name}")),
        )
        .collect();
    (!rules.is_empty()).then(|| rules.join("; "))
}

/// Adds `dir -> name` (default: the folder's own name) to `conf`'s paths; false when `dir` is
/// already there under that name (said on stderr, nothing to save).
///
/// Refused, with `conf` unchanged: a name [`cloud_name`] refuses; `dir` already backed up under
/// another name (renaming would strand its backup: say how to do it on purpose); a cloud folder
/// equal to, inside or around another folder's (a backup of one would delete the other's
/// files), including `poof-config`, where poof keeps the backup of its config folder.
fn add_path(conf: &mut PoofConfig, paths: &Paths, dir: &Path, name: Option<&str>) -> Result<bool> {
    let key = dir.display().to_string();
    let key = match key.trim_end_matches('/') {
        "" => "/".to_owned(),
        trimmed => trimmed.to_owned(),
    };
    let name = match name {
        Some(n) => n.to_owned(),
        None => dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .context("give a cloud folder name with --name")?,
    };
    let name = match cloud_name(&name) {
        Ok(normal) => normal.into_owned(),
        Err(why) => bail!("cloud folder name {name:?} {why}; nothing changed"),
    };
    let same_dir = conf
        .paths
        .iter()
        .find(|(local, _)| local.trim_end_matches('/') == key);
    if let Some((_, existing)) = same_dir {
        if *existing == name {
            say!("poof: {key} is already backed up to cloud folder {name:?}; nothing changed");
            return Ok(false);
        }
        bail!(
            "{key} is already backed up to cloud folder {existing:?}: poof does not rename it silently (the backup under {existing:?} would be left behind); to rename it on purpose run `poof config --remove {key}`, then `poof config --add {key} --name {name}`"
        );
    }
    let is_confdir = real(dir) == real(&paths.confdir);
    let config_listed = conf.paths.values().any(|c| c == CONFIG_CLOUD_DIR);
    if !is_confdir && !config_listed {
        let reserved = PoofConfig {
            paths: BTreeMap::from([(
                paths.confdir.display().to_string(),
                CONFIG_CLOUD_DIR.to_owned(),
            )]),
            ..conf.clone()
        };
        if let Some(clash) = reserved.overlap_with(&key, &name) {
            bail!("{clash} (poof keeps the backup of its config folder in {CONFIG_CLOUD_DIR:?}); nothing changed");
        }
    }
    if let Some(clash) = conf.overlap_with(&key, &name) {
        bail!("{clash}; nothing changed");
    }
    let mut added = conf.clone();
    added.paths.insert(key, name);
    PoofConfig::parse(&serde_json::to_string(&added)?, &paths.poofconf)?;
    *conf = added;
    Ok(true)
}

/// The vault folder of the embedded default: `$XDG_DATA_HOME/poof/vault`, else
/// `~/.local/share/poof/vault` (`~/Library/Application Support/poof/vault` on macOS).
pub fn vault_dir() -> Result<PathBuf> {
    let abs = |name: &str| {
        std::env::var_os(name)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .filter(|p| p.is_absolute())
    };
    if cfg!(target_os = "macos") {
        if let Some(home) = abs("HOME") {
            return Ok(home.join("Library/Application Support/poof/vault"));
        }
    } else if let Some(data) = abs("XDG_DATA_HOME") {
        return Ok(data.join("poof/vault"));
    } else if let Some(home) = abs("HOME") {
        return Ok(home.join(".local/share/poof/vault"));
    }
    bail!("neither XDG_DATA_HOME nor HOME is set: cannot place the vault folder")
}

/// A strong random password: 32 random bytes, base64url (43 characters).
fn random_password() -> zeroize::Zeroizing<String> {
    use base64::Engine as _;
    use rand::RngCore;
    let mut bytes = zeroize::Zeroizing::new([0u8; 32]);
    rand::rngs::OsRng.fill_bytes(bytes.as_mut());
    zeroize::Zeroizing::new(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes.as_ref()))
}

/// Adds `[poof-backup]`, an alias rooted at the vault folder (created 0700).
fn add_vault_remote(rc: &mut RcloneConfig) -> Result<PathBuf> {
    use std::os::unix::fs::DirBuilderExt;
    let vault = vault_dir()?;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(&vault)
        .with_context(|| format!("cannot create the vault folder {}", vault.display()))?;
    rc.set(PLAIN_REMOTE, "type", "alias");
    rc.set(PLAIN_REMOTE, "remote", &vault.display().to_string());
    Ok(vault)
}

/// Adds `[poof-crypt]` over `plain:bucket` with random passwords; returns them for `econfig`.
fn add_crypt_remote(
    rc: &mut RcloneConfig,
    plain: &str,
    bucket: &str,
) -> (zeroize::Zeroizing<String>, zeroize::Zeroizing<String>) {
    let (password, salt) = (random_password(), random_password());
    rc.set(CRYPT_REMOTE, "type", "crypt");
    rc.set(CRYPT_REMOTE, "remote", &format!("{plain}:{bucket}"));
    rc.set(CRYPT_REMOTE, "password", &poof_crypt::obscure(&password));
    rc.set(CRYPT_REMOTE, "password2", &poof_crypt::obscure(&salt));
    rc.set(CRYPT_REMOTE, "filename_encryption", "standard");
    rc.set(CRYPT_REMOTE, "directory_name_encryption", "true");
    (password, salt)
}

fn save_rclone(rc: &RcloneConfig, path: &Path) -> Result<()> {
    files::write_private(path, &rc.to_ini())
}

/// `poof cconfig`: creates rclone-poof.conf with the embedded default when missing (and
/// poof.conf pointing at its crypt remote), then prints it with secrets masked.
pub fn cconfig(paths: &Paths) -> Result<ExitCode> {
    let fresh_poof = !paths.poofconf.exists();
    let mut conf = ensure_poof_conf(paths)?;
    if !paths.rcloneconf.exists() {
        let mut rc = RcloneConfig::parse("")?;
        let vault = add_vault_remote(&mut rc)?;
        add_crypt_remote(&mut rc, PLAIN_REMOTE, &conf.bucket);
        save_rclone(&rc, &paths.rcloneconf)?;
        say!(
            "poof: created {} (encrypted vault in {})",
            paths.rcloneconf.display(),
            vault.display()
        );
        if fresh_poof || conf.remote == PLAIN_REMOTE {
            conf.remote = CRYPT_REMOTE.to_owned();
            conf.save(&paths.poofconf)?;
        }
    }
    let rc = RcloneConfig::load(&paths.rcloneconf)?;
    print!("{}", rc.to_masked_ini());
    Ok(ExitCode::SUCCESS)
}

/// `poof econfig`: adds a crypt remote over `remote:bucket` with strong random passwords,
/// shows them once, and switches poof.conf to it. Refuses when a crypt remote exists.
pub fn econfig(paths: &Paths) -> Result<ExitCode> {
    let mut conf = ensure_poof_conf(paths)?;
    let mut rc = if paths.rcloneconf.exists() {
        RcloneConfig::load(&paths.rcloneconf)?
    } else {
        let mut rc = RcloneConfig::parse("")?;
        add_vault_remote(&mut rc)?;
        rc
    };
    if let Some(existing) = rc.sections().find(|s| s.get("type") == Some("crypt")) {
        bail!(
            "{} already has a crypt remote [{}]: poof will not overwrite it (its passwords may be the only key to your backups)",
            paths.rcloneconf.display(),
            existing.name()
        );
    }
    let plain = if rc.section(&conf.remote).is_some() {
        conf.remote.clone()
    } else if rc.section(PLAIN_REMOTE).is_some() {
        PLAIN_REMOTE.to_owned()
    } else {
        bail!(
            "{}: remote {:?} of poof.conf is not in {}; add it (or run `poof cconfig` on a new machine)",
            paths.poofconf.display(),
            conf.remote,
            paths.rcloneconf.display()
        );
    };
    let (password, salt) = add_crypt_remote(&mut rc, &plain, &conf.bucket);
    save_rclone(&rc, &paths.rcloneconf)?;
    conf.remote = CRYPT_REMOTE.to_owned();
    conf.save(&paths.poofconf)?;
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "Added crypt remote [{CRYPT_REMOTE}] over {plain}:{} and made it poof's remote.",
        conf.bucket
    )?;
    writeln!(
        out,
        "Record these two secrets now, away from this machine (a password manager):"
    )?;
    writeln!(
        out,
        "without them nothing in the backup can be decrypted. They are shown only once."
    )?;
    writeln!(out)?;
    writeln!(out, "  password  = {}", password.as_str())?;
    writeln!(out, "  password2 = {}", salt.as_str())?;
    writeln!(out)?;
    writeln!(out, "`poof cryptoggle` switches back to the plain remote.")?;
    Ok(ExitCode::SUCCESS)
}

/// `poof cryptoggle`: switches poof.conf's remote between the plain and the crypt remote.
pub fn cryptoggle(paths: &Paths) -> Result<ExitCode> {
    let mut conf = PoofConfig::load(&paths.poofconf)?;
    let rc = RcloneConfig::load(&paths.rcloneconf)?;
    let crypts: Vec<_> = rc
        .sections()
        .filter(|s| s.get("type") == Some("crypt"))
        .collect();
    let Some(crypt) = crypts
        .iter()
        .find(|s| s.name() == conf.remote)
        .or_else(|| {
            crypts
                .iter()
                .find(|s| wrapped(s.get("remote")) == Some(conf.remote.as_str()))
        })
        .or_else(|| crypts.first())
    else {
        bail!(
            "{} has no crypt remote: create one with `poof econfig`",
            paths.rcloneconf.display()
        );
    };
    let enabling = conf.remote != crypt.name();
    conf.remote = if enabling {
        crypt.name().to_owned()
    } else {
        match wrapped(crypt.get("remote")) {
            Some(plain) if rc.section(plain).is_some() => plain.to_owned(),
            _ => bail!(
                "crypt remote [{}] does not wrap a remote of {}",
                crypt.name(),
                paths.rcloneconf.display()
            ),
        }
    };
    conf.save(&paths.poofconf)?;
    let state = if enabling { "enabled" } else { "disabled" };
    println!("encryption {state}: remote = {}", conf.remote);
    Ok(ExitCode::SUCCESS)
}

/// The section name in a crypt remote's `remote = name:path`.
fn wrapped(remote: Option<&str>) -> Option<&str> {
    remote.and_then(|r| r.split_once(':')).map(|(name, _)| name)
}
