//! rclone's config file (`rclone.conf`): parsed into ordered sections of ordered `key = value`
//! pairs, the way rclone v1.75.2 reads it, with obscured passwords revealed on request.
//!
//! [`RcloneConfig::load`] reads a file, decrypting it first when it is an encrypted config
//! (`RCLONE_ENCRYPT_V0`, password from `RCLONE_CONFIG_PASS`; see [`poof_crypt::config_file`]);
//! [`RcloneConfig::parse`] reads text. Each [`Section`] is a remote: [`Section::get`] returns a
//! raw value, [`Section::get_revealed`] reveals an obscured password, [`Section::get_bool`]
//! parses a boolean as rclone does. [`RcloneConfig::apply_env_overrides`] applies rclone's
//! `RCLONE_CONFIG_<REMOTE>_<KEY>` variables; [`RcloneConfig::to_ini`] writes the file back in
//! rclone's layout. Failures are a [`ConfigError`], whose message names the file, line, section
//! and key and says how to fix it, and never contains a value of a secret key.
//!
//! The syntax, checked against `rclone config dump` of the real rclone:
//!
//! - Lines are trimmed (Unicode whitespace, `\r` included); a leading UTF-8 BOM is ignored.
//!   Blank lines and lines starting with `#` or `;` are comments. There are no inline comments:
//!   in `key = v # c` the value is `v # c`.
//! - `[name]` starts a section; the name is trimmed (`[ a b ]` is `a b`) and case-sensitive, and
//!   only the first `[` and the last `]` are syntax (`[[a]]` is `[a]`).
//! - Otherwise the line is `key = value`, split at the first `=` or `:` (`x: a = b` is key `x`,
//!   value `a = b`), key and value trimmed. Keys are case-sensitive; a value may be empty
//!   (`key =`).
//! - A value starting with `` ` `` is quoted up to the *last* `` ` `` of the line (text after it
//!   is dropped); one starting with `"""` is quoted up to the last `"""` when there is one, and
//!   literal otherwise. Other quotes are literal (`"a"` keeps its quotes). This is how surrounding
//!   whitespace survives; [`RcloneConfig::to_ini`] quotes such values the same way.
//!
//! Where rclone silently picks something, poof refuses with an error, so that no setting is
//! used that the user did not mean:
//!
//! - a section defined twice (rclone merges them) and a key set twice in one section (rclone
//!   keeps the last): the error names both lines;
//! - a key before the first section (rclone files it under a hidden `DEFAULT` section and
//!   ignores it), a header missing its `]` (rclone takes `[b = c` as key `[b`), and an empty
//!   section name `[]` or `[ ]` (rclone refuses the first and files the second under `DEFAULT`).
//!
//! Like rclone, a line that is neither a comment, a header nor contains `=` or `:` is an error,
//! as is an empty key (`= v`) and an unclosed `` ` `` quote. Line continuations and multi-line
//! values do not exist (rclone refuses them too). Values are wiped from memory on drop.
//!
//! ```
//! use poof::config::rclone::RcloneConfig;
//!
//! let config = RcloneConfig::parse("[box]\ntype = local\ncopy_links = true\n")?;
//! let section = config.section("box").unwrap();
//! assert_eq!(section.get("type"), Some("local"));
//! assert_eq!(section.get_bool("copy_links")?, Some(true));
//! # Ok::<(), poof::config::rclone::ConfigError>(())
//! ```

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};

use poof_crypt::config_file;
use zeroize::Zeroizing;

use super::files;

/// The environment variable holding the password of an encrypted config file, as in rclone.
pub const CONFIG_PASS_ENV: &str = "RCLONE_CONFIG_PASS";

/// Prefix of the environment variables that override config values: `RCLONE_CONFIG_` followed by
/// the section name and the key, upper-cased and joined by `_`.
pub const ENV_OVERRIDE_PREFIX: &str = "RCLONE_CONFIG_";

/// The key whose environment variable alone defines a remote that is not in the file.
const TYPE_KEY: &str = "type";

/// What [`RcloneConfig::to_masked_ini`] and `Debug` show instead of a secret value.
pub const MASK: &str = "***";

/// Key names that hold secrets in rclone's backends (obscured passwords and sensitive options).
const SECRET_KEYS: &[&str] = &[
    "pass",
    "password",
    "password2",
    "key_file_pass",
    "secret_access_key",
    "access_key_id",
    "session_token",
    "token",
    "client_id",
    "client_secret",
    "key",
    "account",
    "sas_url",
    "connection_string",
    "service_account_credentials",
    "sse_customer_key",
    "sse_customer_key_base64",
    "sse_customer_key_md5",
    "sse_kms_key_id",
    "bearer_token",
    "api_key",
    "app_key",
    "private_key",
    "key_pem",
];

/// Fragments that make any key a secret, to cover backend options not listed above
/// (`auth_token`, `master_password`, `user_secret`, `encryption_key`, ...).
const SECRET_KEY_FRAGMENTS: &[&str] = &["pass", "secret", "token", "key", "credential"];

/// Whether values of `key` are secrets to be masked in output and kept out of messages.
///
/// True for rclone's known secret options (`password`, `password2`, `pass`,
/// `secret_access_key`, `token`, `client_secret`, ...) and for any key containing `pass`,
/// `secret`, `token`, `key` or `credential` (case-insensitive): masking a harmless value is
/// better than printing a secret.
pub fn is_secret_key(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    SECRET_KEYS.contains(&key.as_str()) || SECRET_KEY_FRAGMENTS.iter().any(|f| key.contains(f))
}

/// rclone's config file: sections (remotes) in file order, each with its `key = value` pairs
/// in file order.
///
/// Values are wiped from memory when the config is dropped. `Debug` masks secret values (see
/// [`is_secret_key`]).
#[derive(Clone, Default)]
pub struct RcloneConfig {
    sections: Vec<Section>,
}

/// One section (remote) of an rclone config: its name and its ordered `key = value` pairs.
#[derive(Clone)]
pub struct Section {
    name: String,
    entries: Vec<(String, Zeroizing<String>)>,
}

/// A failure to read, decrypt or parse an rclone config, or to interpret one of its values.
///
/// `Display` is one line: the file (when known), the place (line, section, key), what is wrong
/// and how to fix it. It never contains the value of a secret key.
#[derive(Debug)]
pub struct ConfigError {
    path: Option<PathBuf>,
    decrypted: bool,
    kind: ConfigErrorKind,
}

/// What went wrong, with the place it went wrong. Line numbers count from 1.
#[derive(Debug)]
#[non_exhaustive]
pub enum ConfigErrorKind {
    /// The file could not be read.
    Read(std::io::Error),
    /// The path names something other than a regular file (the text says what: a device,
    /// a FIFO, a folder); nothing was read from it.
    NotRegular(&'static str),
    /// The file is larger than [`files::MAX_CONFIG_SIZE`] (its size, or a lower bound).
    TooLarge(u64),
    /// The file (or its decrypted contents) is not UTF-8 text.
    NotUtf8,
    /// The file is encrypted and no password was given (or it is empty or all whitespace).
    PasswordMissing,
    /// The encrypted file did not decrypt: wrong password, or a damaged file.
    WrongPassword,
    /// The encrypted file is malformed (the message says how).
    EncryptedFormat(String),
    /// Every user may write the file: whoever can write it can redirect backups, so it is
    /// refused (as [`crate::config::files::read_private`] refuses poof.conf).
    WorldWritable,
    /// A line is neither a comment, a `[section]` header nor a `key = value` pair.
    MissingSeparator {
        /// Line number.
        line: usize,
    },
    /// A `key = value` line has an empty key.
    EmptyKey {
        /// Line number.
        line: usize,
    },
    /// A line starts with `[` but does not end with `]`.
    UnclosedSection {
        /// Line number.
        line: usize,
    },
    /// A section header has an empty name.
    EmptySectionName {
        /// Line number.
        line: usize,
    },
    /// A key appears before the first section header.
    KeyOutsideSection {
        /// Line number.
        line: usize,
        /// The key.
        key: String,
    },
    /// A value starts with a `` ` `` quote that is not closed on its line.
    UnclosedQuote {
        /// Line number.
        line: usize,
        /// The key.
        key: String,
    },
    /// A section is defined a second time.
    DuplicateSection {
        /// The section name.
        section: String,
        /// Line of the first definition.
        first_line: usize,
        /// Line of the second definition.
        line: usize,
    },
    /// A key is set a second time in one section.
    DuplicateKey {
        /// The section name.
        section: String,
        /// The key.
        key: String,
        /// Line of the first setting.
        first_line: usize,
        /// Line of the second setting.
        line: usize,
    },
    /// A value expected to be an obscured password is not one.
    BadObscured {
        /// The section name.
        section: String,
        /// The key.
        key: String,
    },
    /// A value expected to be a boolean is not one.
    BadBool {
        /// The section name.
        section: String,
        /// The key.
        key: String,
        /// The value, or `None` when the key is a secret.
        value: Option<String>,
    },
}

impl ConfigError {
    fn new(kind: ConfigErrorKind) -> ConfigError {
        ConfigError {
            path: None,
            decrypted: false,
            kind,
        }
    }

    /// Names the file this error is about; `decrypted` says line numbers count in its
    /// decrypted contents.
    fn in_file(mut self, path: &Path, decrypted: bool) -> ConfigError {
        self.path = Some(path.to_path_buf());
        self.decrypted = decrypted;
        self
    }

    /// What went wrong, and where.
    #[cfg(test)]
    pub fn kind(&self) -> &ConfigErrorKind {
        &self.kind
    }
}

/// rclone's environment variable naming a command that prints the config password.
pub const PASSWORD_COMMAND_ENV: &str = "RCLONE_PASSWORD_COMMAND";

/// The password of an encrypted config file from `RCLONE_PASSWORD_COMMAND` (its first line of
/// output), else from a prompt without echo when poof runs on a terminal; `None` otherwise.
fn ask_password(path: &Path) -> Option<Zeroizing<String>> {
    use std::io::IsTerminal;
    if let Some(cmd) = std::env::var_os(PASSWORD_COMMAND_ENV).filter(|c| !c.is_empty()) {
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(cmd)
            .stdin(std::process::Stdio::null())
            .stderr(std::process::Stdio::inherit())
            .output()
            .ok()
            .filter(|o| o.status.success())?;
        let text = Zeroizing::new(String::from_utf8(out.stdout).ok()?);
        return Some(Zeroizing::new(text.lines().next().unwrap_or("").to_owned()));
    }
    if !(std::io::stdin().is_terminal() && std::io::stderr().is_terminal()) {
        return None;
    }
    rpassword::prompt_password(format!("Password for {}: ", path.display()))
        .ok()
        .map(Zeroizing::new)
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use ConfigErrorKind as K;
        if let Some(path) = &self.path {
            write!(f, "rclone config {}", path.display())?;
            if self.decrypted {
                f.write_str(" (decrypted)")?;
            }
            f.write_str(": ")?;
        }
        match &self.kind {
            K::Read(e) => write!(
                f,
                "cannot read the file: {e}; check the path and permissions"
            ),
            K::NotRegular(what) => write!(f, "{}", files::ConfigFileError::NotRegular(what)),
            K::TooLarge(size) => write!(f, "{}", files::ConfigFileError::TooLarge(*size)),
            K::NotUtf8 => f.write_str("not UTF-8 text; is this an rclone config file?"),
            K::WorldWritable => f.write_str(
                "writable by every user: refusing to use it; fix with `chmod 600` on the file",
            ),
            K::PasswordMissing => write!(
                f,
                "the file is encrypted; set {CONFIG_PASS_ENV} to its password (it may not be \
                 empty or only spaces)"
            ),
            K::WrongPassword => write!(
                f,
                "cannot decrypt the file: wrong password, or the file is damaged; check the \
                 password ({CONFIG_PASS_ENV})"
            ),
            K::EncryptedFormat(msg) => write!(
                f,
                "encrypted file is malformed: {msg}; restore it from a backup or re-create it \
                 with `rclone config`"
            ),
            K::MissingSeparator { line } => write!(
                f,
                "line {line}: not a `key = value` line, a [section] header or a comment; fix \
                 it or start it with # to comment it out"
            ),
            K::EmptyKey { line } => write!(
                f,
                "line {line}: a value without a key; write `key = value` or delete the line"
            ),
            K::UnclosedSection { line } => write!(
                f,
                "line {line}: a section header must end with `]` (nothing may follow it); \
                 write `[name]`"
            ),
            K::EmptySectionName { line } => write!(
                f,
                "line {line}: empty section name; write the remote's name between the brackets"
            ),
            K::KeyOutsideSection { line, key } => write!(
                f,
                "line {line}: key `{key}` comes before the first [section] header (rclone \
                 ignores it); move it into a section or delete it"
            ),
            K::UnclosedQuote { line, key } => write!(
                f,
                "line {line}: the value of `{key}` opens a ` quote that is not closed on the \
                 line; add the closing ` or remove the quote"
            ),
            K::DuplicateSection {
                section,
                first_line,
                line,
            } => write!(
                f,
                "line {line}: section [{section}] is defined again (first at line \
                 {first_line}); merge the two into one section"
            ),
            K::DuplicateKey {
                section,
                key,
                first_line,
                line,
            } => write!(
                f,
                "line {line}: key `{key}` of section [{section}] is set again (first at line \
                 {first_line}); delete the line that is wrong"
            ),
            K::BadObscured { section, key } => write!(
                f,
                "section [{section}], key `{key}`: not an obscured password; store the output \
                 of `rclone obscure PASSWORD` there, not the password itself"
            ),
            K::BadBool {
                section,
                key,
                value,
            } => {
                write!(f, "section [{section}], key `{key}`: ")?;
                match value {
                    Some(v) => write!(f, "{v:?} is not a boolean")?,
                    None => f.write_str("the value is not a boolean")?,
                }
                f.write_str("; use true or false")
            }
        }
    }
}

impl std::error::Error for ConfigError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.kind {
            ConfigErrorKind::Read(e) => Some(e),
            _ => None,
        }
    }
}

/// Replaces line breaks, so a name or value cannot end its line and inject another.
fn one_line(s: &str, with: char) -> String {
    s.chars()
        .map(|c| if c == '\n' || c == '\r' { with } else { c })
        .collect()
}

/// A section name that [`RcloneConfig::parse`] reads back unchanged.
fn clean_section_name(name: &str) -> String {
    let name = one_line(name, '_');
    let name = name.trim();
    if name.is_empty() {
        "_".to_owned()
    } else {
        name.to_owned()
    }
}

/// A key that [`RcloneConfig::parse`] reads back unchanged: no `=`, `:` or line break, not
/// starting with a comment or section character, not empty.
fn clean_key(key: &str) -> String {
    let key: String = key
        .trim()
        .chars()
        .map(|c| {
            if matches!(c, '=' | ':' | '\n' | '\r') {
                '_'
            } else {
                c
            }
        })
        .collect();
    let key = key.trim();
    if key.is_empty() {
        "_".to_owned()
    } else if key.starts_with(['#', ';', '[']) {
        format!("_{key}")
    } else {
        key.to_owned()
    }
}

/// The text of a value between quotes, as rclone reads it; `None` for an unclosed `` ` ``.
fn unquote(raw: &str) -> Option<&str> {
    const TRIPLE: &str = "\"\"\"";
    if let Some(rest) = raw.strip_prefix('`') {
        return rest.rfind('`').and_then(|end| rest.get(..end));
    }
    if let Some(rest) = raw.strip_prefix(TRIPLE) {
        if let Some(inner) = rest.rfind(TRIPLE).and_then(|end| rest.get(..end)) {
            return Some(inner);
        }
    }
    Some(raw)
}

/// Writes `value` so that [`unquote`] (and rclone) read it back unchanged: quoted when it has
/// surrounding whitespace or starts like a quote.
fn write_value(out: &mut String, value: &str) {
    let needs_quotes =
        value.trim() != value || value.starts_with('`') || value.starts_with("\"\"\"");
    if !needs_quotes {
        out.push_str(value);
    } else if !value.contains('`') {
        out.push('`');
        out.push_str(value);
        out.push('`');
    } else {
        // Read back up to the last `"""`: exact unless the value itself ends inside one.
        out.push_str("\"\"\"");
        out.push_str(value);
        out.push_str("\"\"\"");
    }
}

/// Refuses a config file every user may write (`meta` is a regular file's, see
/// [`files::open_config`]).
fn refuse_world_writable(meta: &std::fs::Metadata) -> Result<(), ConfigErrorKind> {
    use std::os::unix::fs::PermissionsExt;
    if meta.permissions().mode() & 0o002 != 0 {
        return Err(ConfigErrorKind::WorldWritable);
    }
    Ok(())
}

impl From<files::ConfigFileError> for ConfigErrorKind {
    fn from(e: files::ConfigFileError) -> ConfigErrorKind {
        match e {
            files::ConfigFileError::Io(io) => ConfigErrorKind::Read(io),
            files::ConfigFileError::NotRegular(what) => ConfigErrorKind::NotRegular(what),
            files::ConfigFileError::TooLarge(size) => ConfigErrorKind::TooLarge(size),
        }
    }
}

/// rclone's boolean syntax (Go's `strconv.ParseBool`).
fn parse_bool(value: &str) -> Option<bool> {
    match value {
        "1" | "t" | "T" | "true" | "TRUE" | "True" => Some(true),
        "0" | "f" | "F" | "false" | "FALSE" | "False" => Some(false),
        _ => None,
    }
}

impl RcloneConfig {
    /// Parses the INI text of an rclone config (not encrypted), by the rules in the module
    /// documentation.
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] naming the line for each syntax error, duplicate section or key, and
    /// key outside a section.
    pub fn parse(text: &str) -> Result<RcloneConfig, ConfigError> {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let mut sections: Vec<Section> = Vec::new();
        let mut section_lines: HashMap<String, usize> = HashMap::new();
        let mut key_lines: HashMap<String, usize> = HashMap::new();

        for (index, raw) in text.split('\n').enumerate() {
            let line = index.saturating_add(1);
            let content = raw.trim();
            if content.is_empty() || content.starts_with(['#', ';']) {
                continue;
            }
            if let Some(header) = content.strip_prefix('[') {
                let Some(name) = header.strip_suffix(']') else {
                    return Err(ConfigError::new(ConfigErrorKind::UnclosedSection { line }));
                };
                let name = name.trim();
                if name.is_empty() {
                    return Err(ConfigError::new(ConfigErrorKind::EmptySectionName { line }));
                }
                if let Some(&first_line) = section_lines.get(name) {
                    return Err(ConfigError::new(ConfigErrorKind::DuplicateSection {
                        section: name.to_owned(),
                        first_line,
                        line,
                    }));
                }
                section_lines.insert(name.to_owned(), line);
                key_lines.clear();
                sections.push(Section::new(name.to_owned()));
                continue;
            }
            let Some((key, raw_value)) = content.split_once(['=', ':']) else {
                return Err(ConfigError::new(ConfigErrorKind::MissingSeparator { line }));
            };
            let key = key.trim();
            if key.is_empty() {
                return Err(ConfigError::new(ConfigErrorKind::EmptyKey { line }));
            }
            let Some(value) = unquote(raw_value.trim()) else {
                return Err(ConfigError::new(ConfigErrorKind::UnclosedQuote {
                    line,
                    key: key.to_owned(),
                }));
            };
            let Some(section) = sections.last_mut() else {
                return Err(ConfigError::new(ConfigErrorKind::KeyOutsideSection {
                    line,
                    key: key.to_owned(),
                }));
            };
            if let Some(&first_line) = key_lines.get(key) {
                return Err(ConfigError::new(ConfigErrorKind::DuplicateKey {
                    section: section.name.clone(),
                    key: key.to_owned(),
                    first_line,
                    line,
                }));
            }
            key_lines.insert(key.to_owned(), line);
            section
                .entries
                .push((key.to_owned(), Zeroizing::new(value.to_owned())));
        }
        Ok(RcloneConfig { sections })
    }

    /// Reads and parses the config file at `path`, decrypting it first when it is encrypted,
    /// with the password in the environment variable `RCLONE_CONFIG_PASS`, else the first line
    /// printed by `RCLONE_PASSWORD_COMMAND`, else a prompt when poof runs on a terminal.
    ///
    /// Environment overrides are not applied; call [`RcloneConfig::apply_process_env_overrides`].
    ///
    /// # Errors
    ///
    /// As [`RcloneConfig::load_with_password`]; [`ConfigErrorKind::PasswordMissing`] when the
    /// file is encrypted and `RCLONE_CONFIG_PASS` is unset, not Unicode, empty or all whitespace.
    pub fn load(path: &Path) -> Result<RcloneConfig, ConfigError> {
        let password = std::env::var_os(CONFIG_PASS_ENV)
            .and_then(|v| v.into_string().ok())
            .map(Zeroizing::new);
        let first = RcloneConfig::load_with_password(path, password.as_deref().map(String::as_str));
        match first {
            Err(e) if matches!(e.kind, ConfigErrorKind::PasswordMissing) => {
                match ask_password(path) {
                    Some(pw) => RcloneConfig::load_with_password(path, Some(&pw)),
                    None => Err(e),
                }
            }
            other => other,
        }
    }

    /// Reads and parses the config file at `path`, decrypting it with `password` when it is
    /// encrypted (the password is ignored otherwise). Never prompts.
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] naming `path`: [`ConfigErrorKind::Read`] if the file cannot be read,
    /// [`ConfigErrorKind::NotUtf8`], [`ConfigErrorKind::PasswordMissing`] if it is encrypted
    /// and `password` is `None`, empty or all whitespace, [`ConfigErrorKind::WrongPassword`],
    /// [`ConfigErrorKind::EncryptedFormat`], and every error of [`RcloneConfig::parse`] (with
    /// line numbers counted in the decrypted text for an encrypted file).
    pub fn load_with_password(
        path: &Path,
        password: Option<&str>,
    ) -> Result<RcloneConfig, ConfigError> {
        let fail = |kind| ConfigError::new(kind).in_file(path, false);
        let (file, meta) = files::open_config(path).map_err(|e| fail(e.into()))?;
        refuse_world_writable(&meta).map_err(fail)?;
        let bytes =
            Zeroizing::new(files::read_capped(file, meta.len()).map_err(|e| fail(e.into()))?);
        let text = std::str::from_utf8(&bytes).map_err(|_| fail(ConfigErrorKind::NotUtf8))?;
        if !config_file::is_encrypted(text) {
            return RcloneConfig::parse(text).map_err(|e| e.in_file(path, false));
        }
        let password = password.ok_or_else(|| fail(ConfigErrorKind::PasswordMissing))?;
        let plain = config_file::decrypt(text, password).map_err(|e| {
            fail(match e {
                poof_crypt::Error::ConfigPassword => ConfigErrorKind::WrongPassword,
                poof_crypt::Error::ConfigFormat(msg) => ConfigErrorKind::EncryptedFormat(msg),
                poof_crypt::Error::ConfigPasswordMissing => ConfigErrorKind::PasswordMissing,
                other => ConfigErrorKind::EncryptedFormat(other.to_string()),
            })
        })?;
        RcloneConfig::parse(&plain).map_err(|e| e.in_file(path, true))
    }

    /// The section called `name` (case-sensitive, as in rclone).
    pub fn section(&self, name: &str) -> Option<&Section> {
        self.sections.iter().find(|s| s.name == name)
    }

    /// All sections, in file order.
    pub fn sections(&self) -> impl Iterator<Item = &Section> {
        self.sections.iter()
    }

    /// Sets `key` to `value` in section `section`: in place when the key exists, else appended;
    /// the section is appended when it does not exist.
    ///
    /// What INI cannot hold is replaced so that [`RcloneConfig::to_ini`] always parses back to
    /// the same sections and keys: line breaks become `_` in names and a space in values, `=`
    /// and `:` in keys become `_`, a key starting with `#`, `;` or `[` gets a `_` prefix, and an
    /// empty name becomes `_`. Surrounding whitespace of names is trimmed; that of values kept.
    pub fn set(&mut self, section: &str, key: &str, value: &str) {
        let name = clean_section_name(section);
        let key = clean_key(key);
        let value = Zeroizing::new(one_line(value, ' '));
        let index = match self.sections.iter().position(|s| s.name == name) {
            Some(i) => i,
            None => {
                self.sections.push(Section::new(name));
                self.sections.len().saturating_sub(1)
            }
        };
        if let Some(section) = self.sections.get_mut(index) {
            section.set(key, value);
        }
    }

    /// Applies rclone's environment overrides from `vars` (name, value pairs, e.g. the process
    /// environment).
    ///
    /// rclone reads key `k` of remote `r` from `RCLONE_CONFIG_` + upper case `r` + `_` + upper
    /// case `k` before the file (no other character is changed: remote `my-remote` is
    /// `RCLONE_CONFIG_MY-REMOTE_...`; variable names are case-sensitive). Here every variable
    /// `RCLONE_CONFIG_<SECTION>_<KEY>` whose `<SECTION>_` is an existing section's upper-cased
    /// name sets that key there: the key already in the section whose upper case is `<KEY>`, or
    /// else `<KEY>` in lower case, appended. When two sections match (`a` and `a_b` both match
    /// `RCLONE_CONFIG_A_B_C`), both get it, as rclone would answer both lookups.
    ///
    /// A variable `RCLONE_CONFIG_<NAME>_TYPE` whose `<NAME>` matches no section defines a new
    /// remote named `<NAME>` in lower case (as `rclone listremotes` shows it), which the other
    /// variables then fill in. Variables are applied in name order, so the result does not
    /// depend on the order of `vars`.
    pub fn apply_env_overrides(&mut self, vars: impl Iterator<Item = (String, String)>) {
        let mut overrides: Vec<(String, Zeroizing<String>)> = vars
            .filter_map(|(name, value)| {
                let rest = name.strip_prefix(ENV_OVERRIDE_PREFIX)?.to_owned();
                Some((rest, Zeroizing::new(value)))
            })
            .collect();
        overrides.sort_by(|a, b| a.0.cmp(&b.0));

        let type_suffix = format!("_{}", TYPE_KEY.to_uppercase());
        for (rest, value) in &overrides {
            let Some(remote) = rest.strip_suffix(&type_suffix) else {
                continue;
            };
            let known = self
                .sections
                .iter()
                .any(|s| s.name.to_uppercase() == remote);
            if !remote.is_empty() && !known {
                self.set(&remote.to_lowercase(), TYPE_KEY, value);
            }
        }

        for (rest, value) in &overrides {
            for section in &mut self.sections {
                let upper = section.name.to_uppercase();
                let key_upper = rest
                    .strip_prefix(upper.as_str())
                    .and_then(|r| r.strip_prefix('_'))
                    .filter(|k| !k.is_empty() && k.to_uppercase() == *k);
                let Some(key_upper) = key_upper else {
                    continue;
                };
                let key = section
                    .entries
                    .iter()
                    .find(|(k, _)| k.to_uppercase() == key_upper)
                    .map(|(k, _)| k.clone())
                    .unwrap_or_else(|| clean_key(&key_upper.to_lowercase()));
                section.set(key, Zeroizing::new(one_line(value, ' ')));
            }
        }
    }

    /// [`RcloneConfig::apply_env_overrides`] with the environment of this process; variables
    /// whose name or value is not Unicode are skipped.
    pub fn apply_process_env_overrides(&mut self) {
        self.apply_env_overrides(std::env::vars_os().filter_map(|(name, value)| {
            Some((name.into_string().ok()?, value.into_string().ok()?))
        }));
    }

    /// The config as rclone writes it: `[name]`, then `key = value` lines, then a blank line,
    /// for each section; values quoted only when needed (surrounding whitespace, or a leading
    /// quote character).
    ///
    /// The result holds secrets (obscured passwords); keep it in a `Zeroizing` when practical.
    pub fn to_ini(&self) -> String {
        self.write_ini(false)
    }

    /// [`RcloneConfig::to_ini`] with every non-empty value of a secret key (see
    /// [`is_secret_key`]) replaced by `***`: for display.
    pub fn to_masked_ini(&self) -> String {
        self.write_ini(true)
    }

    fn write_ini(&self, masked: bool) -> String {
        let mut out = String::new();
        for section in &self.sections {
            out.push('[');
            out.push_str(&section.name);
            out.push_str("]\n");
            for (key, value) in &section.entries {
                out.push_str(key);
                out.push_str(" = ");
                if masked && !value.is_empty() && is_secret_key(key) {
                    out.push_str(MASK);
                } else {
                    write_value(&mut out, value);
                }
                out.push('\n');
            }
            out.push('\n');
        }
        out
    }
}

impl fmt::Debug for RcloneConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(&self.sections).finish()
    }
}

impl Section {
    fn new(name: String) -> Section {
        Section {
            name,
            entries: Vec::new(),
        }
    }

    /// Sets an already clean key, in place when present.
    fn set(&mut self, key: String, value: Zeroizing<String>) {
        match self.entries.iter_mut().find(|(k, _)| *k == key) {
            Some((_, old)) => *old = value,
            None => self.entries.push((key, value)),
        }
    }

    /// The section's name: the remote's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The raw value of `key` (case-sensitive), quotes already removed.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.entries
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// The `(key, value)` pairs in file order.
    pub fn entries(&self) -> impl Iterator<Item = (&str, &str)> {
        self.entries.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// The revealed value of `key`, an obscured password (`password`, `password2`, `pass`...);
    /// `None` when the key is absent or empty (rclone's "password not set").
    ///
    /// # Errors
    ///
    /// [`ConfigErrorKind::BadObscured`] naming the section and key (never the value) when the
    /// value is not an obscured password, e.g. a password stored in the clear.
    pub fn get_revealed(&self, key: &str) -> Result<Option<Zeroizing<String>>, ConfigError> {
        let Some(value) = self.get(key).filter(|v| !v.is_empty()) else {
            return Ok(None);
        };
        match poof_crypt::reveal(value) {
            Ok(plain) => Ok(Some(Zeroizing::new(plain))),
            Err(_) => Err(ConfigError::new(ConfigErrorKind::BadObscured {
                section: self.name.clone(),
                key: key.to_owned(),
            })),
        }
    }

    /// The value of `key` as a boolean, with rclone's syntax: `true`, `True`, `TRUE`, `t`, `T`,
    /// `1` and `false`, `False`, `FALSE`, `f`, `F`, `0`; `None` when the key is absent or empty
    /// (rclone then uses the option's default).
    ///
    /// # Errors
    ///
    /// [`ConfigErrorKind::BadBool`] naming the section and key, and the value unless the key is
    /// a secret.
    pub fn get_bool(&self, key: &str) -> Result<Option<bool>, ConfigError> {
        let Some(value) = self.get(key).filter(|v| !v.is_empty()) else {
            return Ok(None);
        };
        match parse_bool(value) {
            Some(b) => Ok(Some(b)),
            None => Err(ConfigError::new(ConfigErrorKind::BadBool {
                section: self.name.clone(),
                key: key.to_owned(),
                value: (!is_secret_key(key)).then(|| value.to_owned()),
            })),
        }
    }
}

impl fmt::Debug for Section {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut map = f.debug_map();
        map.entry(&"[section]", &self.name);
        for (key, value) in &self.entries {
            if is_secret_key(key) && !value.is_empty() {
                map.entry(key, &MASK);
            } else {
                map.entry(key, &value.as_str());
            }
        }
        map.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> RcloneConfig {
        RcloneConfig::parse(text).unwrap()
    }

    fn parse_err(text: &str) -> ConfigError {
        RcloneConfig::parse(text).unwrap_err()
    }

    fn value<'a>(config: &'a RcloneConfig, section: &str, key: &str) -> Option<&'a str> {
        config.section(section)?.get(key)
    }

    /// Parses `text` and checks each `(key, value)` of `section`.
    fn assert_values(text: &str, section: &str, expected: &[(&str, &str)]) {
        let config = parse(text);
        for (key, want) in expected {
            assert_eq!(
                value(&config, section, key),
                Some(*want),
                "[{section}] {key}"
            );
        }
    }

    /// Parses `text`, which must fail with an error whose kind matches the pattern, and
    /// returns the error for further checks.
    macro_rules! parse_err_matching {
        ($text:expr, $($kind:tt)+) => {{
            let text = $text;
            let err = parse_err(text);
            assert!(matches!(err.kind(), $($kind)+), "{text:?}: {err:?}");
            err
        }};
    }

    /// `config` after the environment `pairs` (name, value) are applied to it.
    fn with_env(mut config: RcloneConfig, pairs: &[(&str, &str)]) -> RcloneConfig {
        let vars: Vec<_> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        config.apply_env_overrides(vars.into_iter());
        config
    }

    #[test]
    fn sections_and_keys_keep_file_order() {
        let config = parse("[b]\ntype = local\nz = 1\na = 2\n\n[a]\ntype = s3\n");
        let names: Vec<_> = config.sections().map(Section::name).collect();
        assert_eq!(names, ["b", "a"]);
        let b = config.section("b").unwrap();
        let entries: Vec<_> = b.entries().collect();
        assert_eq!(entries, [("type", "local"), ("z", "1"), ("a", "2")]);
        assert!(config.section("c").is_none());
    }

    #[test]
    fn whitespace_around_key_and_value_trimmed() {
        assert_values(
            "  [a]  \r\n\t key  =   v a l \t\r\nx\t=\tv\tw\t\ny =\u{a0}1\u{a0}\n",
            "a",
            &[("key", "v a l"), ("x", "v\tw"), ("y", "1")],
        );
    }

    #[test]
    fn leading_bom_ignored() {
        assert_values("\u{feff}[a]\ntype = local\n", "a", &[("type", "local")]);
    }

    #[test]
    fn comments_hash_semicolon_indented_and_blank_lines() {
        let config = parse("# top\n; top\n\n[a]\n  # x = 1\n\t; y = 2\n\n   \ntype = local\n");
        let a = config.section("a").unwrap();
        assert_eq!(a.entries().collect::<Vec<_>>(), [("type", "local")]);
    }

    #[test]
    fn no_inline_comments() {
        assert_values(
            "[a]\nx = v # c\ny = v ; c\n",
            "a",
            &[("x", "v # c"), ("y", "v ; c")],
        );
    }

    #[test]
    fn section_name_trimmed_outer_brackets_only() {
        let config = parse("[ a b ]\nk = 1\n[[c]]\nk = 2\n[d]]\nk = 3\n");
        let names: Vec<_> = config.sections().map(Section::name).collect();
        assert_eq!(names, ["a b", "[c]", "d]"]);
    }

    #[test]
    fn split_at_first_equals_or_colon() {
        assert_values(
            "[a]\nx: a = b\ny = a: b\nz:=w\nmy key = v\nw = a = b\n",
            "a",
            &[
                ("x", "a = b"),
                ("y", "a: b"),
                ("z", "=w"),
                ("my key", "v"),
                ("w", "a = b"),
            ],
        );
    }

    #[test]
    fn empty_value_allowed() {
        assert_values("[a]\nx =\ny= \n", "a", &[("x", ""), ("y", "")]);
    }

    #[test]
    fn backtick_quotes_to_last_backtick() {
        assert_values(
            "[a]\nx = `  sp  `\ny = `a` b\nz = ```a```\nw = ``\nv = `a\"\"\"b`\n",
            "a",
            &[
                ("x", "  sp  "),
                ("y", "a"),
                ("z", "``a``"),
                ("w", ""),
                ("v", "a\"\"\"b"),
            ],
        );
    }

    #[test]
    fn unclosed_backtick_is_error() {
        let err = parse_err_matching!(
            "[a]\ntype = local\nsecret = `hunter2\n",
            ConfigErrorKind::UnclosedQuote { line: 3, key } if key == "secret"
        );
        assert!(!err.to_string().contains("hunter2"));
    }

    #[test]
    fn triple_quotes_to_last_triple_or_literal() {
        assert_values(
            "[a]\nx = \"\"\"a\"\"\" b\ny = \"\"\"\"a\"\"\"\"\nz = \"\"\"a\nw = \"\"\"\"\"\"\n",
            "a",
            &[("x", "a"), ("y", "\"a\""), ("z", "\"\"\"a"), ("w", "")],
        );
    }

    #[test]
    fn double_and_single_quotes_are_literal() {
        assert_values(
            "[a]\nx = \"q\"\ny = 'q'\nz = \"\"\n",
            "a",
            &[("x", "\"q\""), ("y", "'q'"), ("z", "\"\"")],
        );
    }

    #[test]
    fn duplicate_section_names_both_lines() {
        let err = parse_err_matching!(
            "[a]\nx = 1\n\n[b]\n[a]\ny = 2\n",
            ConfigErrorKind::DuplicateSection { section, first_line: 1, line: 5 } if section == "a"
        );
        let msg = err.to_string();
        assert!(
            msg.contains("line 5") && msg.contains("line 1") && msg.contains("[a]"),
            "{msg}"
        );
        // Trimmed names are the same section.
        assert!(RcloneConfig::parse("[a]\n[ a ]\n").is_err());
    }

    #[test]
    fn duplicate_key_names_both_lines_without_values() {
        let err = parse_err_matching!(
            "[c]\npassword = first-secret\ntype = crypt\npassword = other-secret\n",
            ConfigErrorKind::DuplicateKey { section, key, first_line: 2, line: 4 }
                if section == "c" && key == "password"
        );
        let msg = err.to_string();
        assert!(msg.contains("line 4") && msg.contains("line 2") && msg.contains("[c]"));
        assert!(!msg.contains("secret\""), "{msg}");
        assert!(!msg.contains("first-secret") && !msg.contains("other-secret"));
    }

    #[test]
    fn same_key_in_two_sections_is_fine() {
        let text = "[a]\ntype = local\n[b]\ntype = s3\n";
        assert_values(text, "a", &[("type", "local")]);
        assert_values(text, "b", &[("type", "s3")]);
    }

    #[test]
    fn sections_and_keys_are_case_sensitive() {
        let text = "[A]\ntype = local\n[a]\nKEY = 1\nkey = 2\n";
        assert_values(text, "a", &[("KEY", "1"), ("key", "2")]);
        assert_values(text, "A", &[("type", "local")]);
        assert!(value(&parse(text), "A", "TYPE").is_none());
    }

    #[test]
    fn key_before_any_section_is_error() {
        parse_err_matching!(
            "# c\ntop = 1\n[a]\n",
            ConfigErrorKind::KeyOutsideSection { line: 2, key } if key == "top"
        );
    }

    #[test]
    fn line_without_separator_is_error_without_its_text() {
        let err = parse_err_matching!(
            "[a]\ntype = local\nhunter2\n",
            ConfigErrorKind::MissingSeparator { line: 3 }
        );
        assert!(!err.to_string().contains("hunter2"));
    }

    #[test]
    fn malformed_lines_are_errors_naming_their_line() {
        let cases = [
            // A continuation line is not joined to the line before.
            (
                "[a]\nx = line1 \\\n  line2\n",
                "MissingSeparator { line: 3 }",
            ),
            // Line numbers count CRLF lines.
            (
                "[a]\r\nx = 1\r\n\r\nbad\r\n",
                "MissingSeparator { line: 4 }",
            ),
            ("[a]\n= v\n", "EmptyKey { line: 2 }"),
            ("[a]\n  : v\n", "EmptyKey { line: 2 }"),
            ("[a] trailing\n", "UnclosedSection { line: 1 }"),
            ("[a\n", "UnclosedSection { line: 1 }"),
            ("[b = c\n", "UnclosedSection { line: 1 }"),
            ("[a] # comment\n", "UnclosedSection { line: 1 }"),
            ("[]\n", "EmptySectionName { line: 1 }"),
            ("[   ]\n", "EmptySectionName { line: 1 }"),
        ];
        for (text, kind) in cases {
            assert_eq!(format!("{:?}", parse_err(text).kind()), kind, "{text:?}");
        }
    }

    #[test]
    fn empty_and_comment_only_files_have_no_sections() {
        for text in ["", "\n\n", "# only\n; comments\n"] {
            assert_eq!(parse(text).sections().count(), 0);
        }
    }

    #[test]
    fn section_without_keys_exists() {
        let config = parse("[a]\ntype = local\n[b]\n");
        assert_eq!(config.section("b").unwrap().entries().count(), 0);
    }

    #[test]
    fn every_error_displays_on_one_line() {
        let texts = [
            "[a]\nbad\n",
            "[a]\n= v\n",
            "[a\n",
            "[]\n",
            "k = v\n",
            "[a]\nk = `v\n",
            "[a]\n[a]\n",
            "[a]\nk = 1\nk = 2\n",
        ];
        for text in texts {
            let msg = parse_err(text).to_string();
            assert!(!msg.contains('\n'), "{msg}");
        }
    }

    #[test]
    fn set_replaces_in_place_appends_new_keys_and_sections() {
        let mut config = parse("[a]\ntype = local\nx = 1\n");
        config.set("a", "type", "s3");
        config.set("a", "y", "2");
        config.set("b", "type", "crypt");
        assert_eq!(
            config.to_ini(),
            "[a]\ntype = s3\nx = 1\ny = 2\n\n[b]\ntype = crypt\n\n"
        );
    }

    #[test]
    fn set_cannot_inject_lines() {
        let mut config = RcloneConfig::default();
        config.set("a\n[evil]", "k=ey\n[x]", "v\n[evil]\ntype = local");
        config.set("a", "#c", "1");
        config.set("  ", "", " spaced ");
        let again = parse(&config.to_ini());
        let names: Vec<_> = again.sections().map(Section::name).collect();
        assert_eq!(names, ["a_[evil]", "a", "_"]);
        assert_eq!(
            value(&again, "a_[evil]", "k_ey_[x]"),
            Some("v [evil] type = local")
        );
        assert_eq!(value(&again, "a", "_#c"), Some("1"));
        assert_eq!(value(&again, "_", "_"), Some(" spaced "));
    }

    #[test]
    fn to_ini_matches_rclone_layout() {
        let text = "[l]\ntype = local\n\n[c]\ntype = crypt\nremote = /tmp/x\npassword = \n\n";
        assert_eq!(parse(text).to_ini(), text);
    }

    #[test]
    fn to_ini_round_trips_values_needing_quotes() {
        let values = [
            " lead",
            "trail ",
            "  both  ",
            "`tick",
            "`wrapped`",
            " `in` ",
            "\"\"\"tq",
            "\"dq\"",
            "a # b ; c",
            "x = y: z",
            "",
            "ünï ✓",
        ];
        let mut config = RcloneConfig::default();
        for (i, v) in values.iter().enumerate() {
            config.set("s", &format!("k{i}"), v);
        }
        let again = parse(&config.to_ini());
        for (i, v) in values.iter().enumerate() {
            assert_eq!(value(&again, "s", &format!("k{i}")), Some(*v), "{v:?}");
        }
    }

    #[test]
    fn masked_ini_hides_secret_values_only() {
        let obscured = poof_crypt::obscure("pw");
        let text = format!(
            "[c]\ntype = crypt\nremote = l:x\npassword = {obscured}\npassword2 =\n\
             [s]\ntype = s3\naccess_key_id = AKIA1\nsecret_access_key = SECRET1\nregion = eu\n"
        );
        let masked = parse(&text).to_masked_ini();
        assert!(!masked.contains(&obscured));
        assert!(!masked.contains("AKIA1") && !masked.contains("SECRET1"));
        assert!(masked.contains("password = ***\n"));
        assert!(masked.contains("password2 = \n"));
        assert!(masked.contains("region = eu\n") && masked.contains("remote = l:x\n"));
    }

    #[test]
    fn debug_masks_secret_values() {
        let obscured = poof_crypt::obscure("pw");
        let config = parse(&format!(
            "[c]\ntype = crypt\npassword = {obscured}\ntoken = T0K\n"
        ));
        let shown = format!("{config:?} {:?}", config.section("c").unwrap());
        assert!(
            !shown.contains(&obscured) && !shown.contains("T0K"),
            "{shown}"
        );
        assert!(shown.contains("crypt") && shown.contains(MASK));
    }

    #[test]
    fn secret_keys_recognised() {
        for key in [
            "password",
            "password2",
            "pass",
            "PASSWORD",
            "secret_access_key",
            "session_token",
            "token",
            "client_secret",
            "key_file_pass",
            "sse_customer_key",
            "account",
            "key",
            "auth_token",
        ] {
            assert!(is_secret_key(key), "{key}");
        }
        for key in [
            "type",
            "remote",
            "region",
            "filename_encryption",
            "copy_links",
            "user",
        ] {
            assert!(!is_secret_key(key), "{key}");
        }
    }

    #[test]
    fn get_revealed_reveals_obscured_password() {
        let config = parse(&format!(
            "[c]\npassword = {}\npassword2 =\n",
            poof_crypt::obscure("correct horse")
        ));
        let c = config.section("c").unwrap();
        assert_eq!(
            c.get_revealed("password")
                .unwrap()
                .as_deref()
                .map(String::as_str),
            Some("correct horse")
        );
        assert!(c.get_revealed("password2").unwrap().is_none());
        assert!(c.get_revealed("absent").unwrap().is_none());
    }

    #[test]
    fn get_revealed_of_plain_password_names_section_and_key_not_value() {
        let config = parse("[vault]\npassword = hunter2!\n");
        let err = config
            .section("vault")
            .unwrap()
            .get_revealed("password")
            .unwrap_err();
        assert!(matches!(
            err.kind(),
            ConfigErrorKind::BadObscured { section, key } if section == "vault" && key == "password"
        ));
        let msg = err.to_string();
        assert!(msg.contains("[vault]") && msg.contains("password"));
        assert!(!msg.contains("hunter2"));
    }

    #[test]
    fn get_bool_accepts_rclone_forms() {
        let config = parse(
            "[a]\nt1 = 1\nt2 = t\nt3 = T\nt4 = true\nt5 = TRUE\nt6 = True\n\
             f1 = 0\nf2 = f\nf3 = F\nf4 = false\nf5 = FALSE\nf6 = False\nempty =\n",
        );
        let a = config.section("a").unwrap();
        for i in 1..=6 {
            assert_eq!(a.get_bool(&format!("t{i}")).unwrap(), Some(true));
            assert_eq!(a.get_bool(&format!("f{i}")).unwrap(), Some(false));
        }
        assert_eq!(a.get_bool("empty").unwrap(), None);
        assert_eq!(a.get_bool("absent").unwrap(), None);
    }

    #[test]
    fn get_bool_rejects_other_forms() {
        let config = parse("[a]\nx = yes\ny = tRue\nsome_key = hunter2\n");
        let a = config.section("a").unwrap();
        let err = a.get_bool("x").unwrap_err();
        assert!(err.to_string().contains("\"yes\"") && err.to_string().contains("[a]"));
        assert!(a.get_bool("y").is_err());
        let secret = a.get_bool("some_key").unwrap_err().to_string();
        assert!(
            !secret.contains("hunter2") && secret.contains("some_key"),
            "{secret}"
        );
    }

    #[test]
    fn env_override_replaces_existing_key_keeping_its_case() {
        let config = with_env(
            parse("[s3]\ntype = s3\nRegion = eu\n"),
            &[("RCLONE_CONFIG_S3_REGION", "us")],
        );
        assert_eq!(config.to_ini(), "[s3]\ntype = s3\nRegion = us\n\n");
    }

    /// One environment case: what it shows, the config text, the variables, the
    /// `(section, key, value)` triples expected afterwards and the number of sections.
    type EnvCase = (
        &'static str,
        &'static str,
        &'static [(&'static str, &'static str)],
        &'static [(&'static str, &'static str, &'static str)],
        usize,
    );

    #[test]
    fn env_overrides_name_sections_and_keys_as_rclone_does() {
        let cases: [EnvCase; 6] = [
            (
                "a missing key is added in lower case",
                "[s3]\ntype = s3\n",
                &[("RCLONE_CONFIG_S3_SECRET_ACCESS_KEY", "K")],
                &[("s3", "secret_access_key", "K")],
                1,
            ),
            (
                // Checked with rclone: remote `my-remote` reads RCLONE_CONFIG_MY-REMOTE_*, not
                // MY_REMOTE (which would define no remote `my_remote`: two sections stay).
                "the upper-case remote name is used unchanged",
                "[my-remote]\ntype = alias\nremote = /a\n[My.R x]\nremote = /a\n",
                &[
                    ("RCLONE_CONFIG_MY_REMOTE_REMOTE", "/wrong"),
                    ("RCLONE_CONFIG_MY-REMOTE_REMOTE", "/b"),
                    ("RCLONE_CONFIG_MY.R X_REMOTE", "/c"),
                ],
                &[("my-remote", "remote", "/b"), ("My.R x", "remote", "/c")],
                2,
            ),
            (
                "variable names are case sensitive",
                "[lower]\nremote = /a\n",
                &[
                    ("RCLONE_CONFIG_lower_REMOTE", "/b"),
                    ("RCLONE_CONFIG_LOWER_remote", "/c"),
                    ("rclone_config_LOWER_REMOTE", "/d"),
                ],
                &[("lower", "remote", "/a")],
                1,
            ),
            (
                "a TYPE variable defines a new remote in lower case",
                "[a]\ntype = local\n",
                &[
                    ("RCLONE_CONFIG_NEWR_REMOTE", "/d3"),
                    ("RCLONE_CONFIG_NEWR_TYPE", "alias"),
                ],
                &[("newr", "type", "alias"), ("newr", "remote", "/d3")],
                2,
            ),
            (
                "without a TYPE variable no remote is defined",
                "",
                &[
                    ("RCLONE_CONFIG_GHOST_REMOTE", "/x"),
                    ("RCLONE_CONFIG_PASS", "pw"),
                    ("RCLONE_CONFIG_DIR", "/etc"),
                    ("RCLONE_CONFIG__TYPE", "local"),
                    ("HOME", "/root"),
                ],
                &[],
                0,
            ),
            (
                "an override applies to every matching section",
                "[a]\ntype = local\n[a_b]\ntype = local\n",
                &[("RCLONE_CONFIG_A_B_C", "1")],
                &[("a", "b_c", "1"), ("a_b", "c", "1")],
                2,
            ),
        ];
        for (what, text, vars, expected, sections) in cases {
            let config = with_env(parse(text), vars);
            for (section, key, want) in expected {
                assert_eq!(value(&config, section, key), Some(*want), "{what}");
            }
            assert_eq!(config.sections().count(), sections, "{what}");
        }
    }

    #[test]
    fn env_override_order_independent_and_single_line() {
        let vars = [
            ("RCLONE_CONFIG_X_TYPE", "local"),
            ("RCLONE_CONFIG_X_B", "2\n[evil]"),
            ("RCLONE_CONFIG_X_A", "1"),
        ];
        let one = with_env(RcloneConfig::default(), &vars);
        let mut reversed: Vec<_> = vars.to_vec();
        reversed.reverse();
        let two = with_env(RcloneConfig::default(), &reversed);
        assert_eq!(one.to_ini(), two.to_ini());
        assert_eq!(one.to_ini(), "[x]\ntype = local\na = 1\nb = 2 [evil]\n\n");
    }

    fn write_file(dir: &tempfile::TempDir, name: &str, bytes: &[u8]) -> PathBuf {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        path
    }

    /// Writes `text` encrypted with the password `pw`, as `rclone config encryption set` does.
    fn write_sealed(dir: &tempfile::TempDir, name: &str, text: &str) -> PathBuf {
        write_file(dir, name, config_file::encrypt(text, "pw").as_bytes())
    }

    #[test]
    fn load_plain_file_and_encrypted_file_with_password() {
        let dir = tempfile::tempdir().unwrap();
        let plain = write_file(&dir, "rclone.conf", b"[a]\ntype = local\n");
        let sealed = write_sealed(&dir, "sealed.conf", "[a]\ntype = local\n");
        let loaded = [
            RcloneConfig::load(&plain),
            RcloneConfig::load_with_password(&plain, Some("ignored")),
            RcloneConfig::load_with_password(&sealed, Some("pw")),
        ];
        for config in loaded {
            assert_eq!(value(&config.unwrap(), "a", "type"), Some("local"));
        }
    }

    #[test]
    fn load_encrypted_file_errors() {
        let dir = tempfile::tempdir().unwrap();
        let path = write_sealed(&dir, "enc.conf", "[a]\ntype = local\n");
        let missing = RcloneConfig::load_with_password(&path, None).unwrap_err();
        assert!(matches!(missing.kind(), ConfigErrorKind::PasswordMissing));
        assert!(missing.to_string().contains("RCLONE_CONFIG_PASS"));
        assert!(missing.to_string().contains("enc.conf"));
        let blank = RcloneConfig::load_with_password(&path, Some("  ")).unwrap_err();
        assert!(matches!(blank.kind(), ConfigErrorKind::PasswordMissing));
        let wrong = RcloneConfig::load_with_password(&path, Some("nope")).unwrap_err();
        assert!(matches!(wrong.kind(), ConfigErrorKind::WrongPassword));
        let bad = write_file(&dir, "bad.conf", b"RCLONE_ENCRYPT_V0:\n!!!\n");
        let bad = RcloneConfig::load_with_password(&bad, Some("pw")).unwrap_err();
        assert!(matches!(bad.kind(), ConfigErrorKind::EncryptedFormat(_)));
    }

    #[test]
    fn load_encrypted_file_syntax_error_says_decrypted() {
        let dir = tempfile::tempdir().unwrap();
        let path = write_sealed(&dir, "enc.conf", "[a]\ntype = local\nbroken\n");
        let err = RcloneConfig::load_with_password(&path, Some("pw")).unwrap_err();
        assert!(matches!(
            err.kind(),
            ConfigErrorKind::MissingSeparator { line: 3 }
        ));
        let msg = err.to_string();
        assert!(msg.contains("enc.conf (decrypted): line 3"), "{msg}");
        assert_eq!(err.path.as_deref(), Some(path.as_path()));
    }

    #[test]
    fn load_names_file_in_errors() {
        let dir = tempfile::tempdir().unwrap();
        let path = write_file(&dir, "dup.conf", b"[a]\n[a]\n");
        let msg = RcloneConfig::load(&path).unwrap_err().to_string();
        assert!(msg.contains("dup.conf: line 2"), "{msg}");
    }

    #[test]
    fn load_world_writable_file_is_refused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("rclone.conf");
        crate::config::files::write_with_mode(&path, "[a]\ntype = local\n", 0o666);
        let err = RcloneConfig::load_with_password(&path, None).unwrap_err();
        assert!(matches!(err.kind(), ConfigErrorKind::WorldWritable));
        assert!(err.to_string().contains("writable by every user"), "{err}");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert!(RcloneConfig::load_with_password(&path, None).is_ok());
    }

    #[test]
    fn load_missing_file_is_read_error() {
        let dir = tempfile::tempdir().unwrap();
        let err = RcloneConfig::load(&dir.path().join("absent.conf")).unwrap_err();
        assert!(matches!(err.kind(), ConfigErrorKind::Read(_)));
        assert!(std::error::Error::source(&err).is_some());
        assert!(err.to_string().contains("absent.conf"));
    }

    #[test]
    fn load_non_utf8_file_is_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = write_file(&dir, "bin.conf", b"[a]\nx = \xff\xfe\n");
        let err = RcloneConfig::load(&path).unwrap_err();
        assert!(matches!(err.kind(), ConfigErrorKind::NotUtf8));
    }
}
