//! The crypt layer's settings: a `type = crypt` section of an rclone config file turned into the
//! ciphers of the crypt crate, with rclone's defaults for every option.

use anyhow::{bail, Context, Result};
use poof_crypt::{ContentCipher, Keys, NameCipher, NameEncoding, NameMode};

use crate::config::rclone::Section;

/// rclone's default suffix of file names in `filename_encryption = off` mode.
pub const DEFAULT_SUFFIX: &str = ".bin";

/// Everything a crypt remote needs besides the remote it wraps.
pub struct CryptSettings {
    /// The wrapped remote, as written in the section (`name:path` or a local path).
    pub remote: String,
    /// Name encryption.
    pub names: NameCipher,
    /// Content encryption; `None` with `no_data_encryption = true`.
    pub content: Option<ContentCipher>,
    /// `strict_names`: an undecryptable name is an error rather than a skipped entry.
    pub strict_names: bool,
}

impl CryptSettings {
    /// Reads the section: `remote`, `password` (required, obscured), `password2`,
    /// `filename_encryption`, `directory_name_encryption`, `filename_encoding`, `suffix`,
    /// `no_data_encryption`, `pass_bad_blocks`, `strict_names`.
    ///
    /// # Errors
    /// A missing `remote` or `password`, a value that does not parse, an obscured password that
    /// does not reveal; each error names the section and key.
    pub fn from_section(section: &Section) -> Result<CryptSettings> {
        let name = section.name();
        let remote = match section.get("remote") {
            Some(r) if !r.trim().is_empty() => r.trim().to_owned(),
            _ => bail!("[{name}] is a crypt remote without `remote =`: name the remote it wraps"),
        };
        let Some(password) = section.get_revealed("password")? else {
            bail!("[{name}] is a crypt remote without `password =`: set an obscured password (poof obscure)");
        };
        let salt = section.get_revealed("password2")?;
        let keys = Keys::derive(&password, salt.as_deref().map_or("", |s| s.as_str()))
            .with_context(|| format!("[{name}]: cannot derive keys"))?;
        let mode: NameMode = parse_opt(section, "filename_encryption", NameMode::Standard)?;
        let encoding: NameEncoding = parse_opt(section, "filename_encoding", NameEncoding::Base32)?;
        let dir_names = section
            .get_bool("directory_name_encryption")?
            .unwrap_or(true);
        let suffix = section.get("suffix").unwrap_or(DEFAULT_SUFFIX);
        let no_data = section.get_bool("no_data_encryption")?.unwrap_or(false);
        let pass_bad = section.get_bool("pass_bad_blocks")?.unwrap_or(false);
        let strict_names = section.get_bool("strict_names")?.unwrap_or(false);
        Ok(CryptSettings {
            remote,
            names: NameCipher::new(&keys, mode, encoding, dir_names, suffix),
            content: (!no_data).then(|| ContentCipher::new(&keys).with_pass_bad_blocks(pass_bad)),
            strict_names,
        })
    }
}

fn parse_opt<T: std::str::FromStr<Err = String>>(
    section: &Section,
    key: &str,
    default: T,
) -> Result<T> {
    match section.get(key).map(str::trim).filter(|v| !v.is_empty()) {
        None => Ok(default),
        Some(v) => v
            .parse()
            .map_err(|e: String| anyhow::anyhow!("[{}] {key} = {v:?}: {e}", section.name())),
    }
}
