//! The crypt layer: a `type = crypt` section of an rclone config file turned into the ciphers of
//! the crypt crate ([`CryptSettings`], with rclone's defaults for every option), and
//! [`CryptBackend`], a [`Backend`] over another backend that stores encrypted names and
//! contents and shows plaintext ones.
//!
//! Reading a byte range fetches the 32-byte header, then only the blocks the range touches
//! (block `k` starts at `32 + k * BLOCK_SIZE` in the encrypted file and is opened under the
//! file nonce plus `k`), skips the offset inside the first block and stops at the range end.

use std::collections::HashMap;
use std::ops::Range;
use std::sync::{Arc, Mutex, OnceLock, Weak};

use anyhow::{bail, Context, Result};
use async_trait::async_trait;
use poof_crypt::content::{self, BadBlocks};
use poof_crypt::name::stored::{from_stored, to_stored};
use poof_crypt::name::{longest_segment, MAX_SEGMENT_LEN};
use poof_crypt::{ContentCipher, Keys, NameCipher, NameEncoding, NameMode};
use tokio::io::AsyncReadExt;
use zeroize::Zeroizing;

use super::backend::{
    Backend, ByteStream, Entry, EntryKind, Features, Length, Listing, PutOptions, TooLong, Whole,
};
use super::encoding::{self, QUOTE};
use super::{named_remote, Below, Resolver, StorageType};
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

/// A crypt remote over another backend: names, sizes and contents translated both ways.
///
/// Listing decrypts each path segment once (parents are cached), sizes come from
/// [`content::decrypted_size`], and reads fetch the 32-byte header plus only the blocks a byte
/// range needs. Names that do not decrypt (including names that decrypt to unsafe values, which
/// the name cipher refuses) and files whose encrypted size is impossible are returned as the
/// listing's problems ([`Listing::problems`]), which callers treat as errors of the run; with
/// `strict_names` the listing itself fails.
///
/// Plaintext paths are in rclone's Standard name form (see [`encoding`]): a decrypted name is
/// mapped to it (raw control characters that older tools stored become their pictures, bytes
/// that are not UTF-8 become `‛XX`), and `‛XX` goes back to the raw byte before encrypting, as
/// rclone encrypts it. A stored name that is not the one poof would encrypt its path to (a raw
/// control character, an upper-case base32 variant) is remembered, so reads and deletes reach
/// the object listed. Two stored names that decrypt to the same path are a clash: both are
/// reported, neither is listed.
pub struct CryptBackend {
    inner: Arc<dyn Backend>,
    settings: Arc<CryptSettings>,
    describe: String,
    /// Plaintext path -> stored path, for listed names stored other than poof encrypts them.
    aliases: Mutex<HashMap<String, String>>,
}

impl CryptBackend {
    /// Wraps `inner` (already rooted at the encrypted folder) with the ciphers of `settings`;
    /// `describe` names the crypt remote in messages (`secret:docs`).
    pub fn new(
        inner: Arc<dyn Backend>,
        settings: impl Into<Arc<CryptSettings>>,
        describe: String,
    ) -> CryptBackend {
        CryptBackend {
            inner,
            settings: settings.into(),
            describe,
            aliases: Mutex::new(HashMap::new()),
        }
    }

    /// The settings (ciphers) of this remote.
    pub fn settings(&self) -> &CryptSettings {
        &self.settings
    }

    /// Records a stored entry that cannot be shown as a problem of the listing, or fails the
    /// listing with `strict_names`.
    fn note(&self, problems: &mut Vec<String>, what: String) -> Result<()> {
        if self.settings.strict_names {
            bail!("{}: {what} (strict_names is set)", self.describe);
        }
        problems.push(what);
        Ok(())
    }

    fn enc_file(&self, path: &str) -> String {
        self.enc_path(path, true)
    }

    fn enc_dir(&self, path: &str) -> String {
        self.enc_path(path, false)
    }

    /// The stored path of a plaintext path: a listed alias (of the path or of its closest
    /// aliased folder), else the path encrypted.
    fn enc_path(&self, path: &str, file: bool) -> String {
        if path.is_empty() {
            return String::new();
        }
        if let Ok(aliases) = self.aliases.lock() {
            if !aliases.is_empty() {
                if let Some(stored) = aliases.get(path) {
                    return stored.clone();
                }
                let mut prefix = path;
                while let Some((dir, _)) = prefix.rsplit_once('/') {
                    if let Some(stored) = aliases.get(dir) {
                        let rest = path.get(dir.len() + 1..).unwrap_or_default();
                        let rest = encrypt_path(&self.settings.names, rest, file);
                        return format!("{stored}/{rest}");
                    }
                    prefix = dir;
                }
            }
        }
        encrypt_path(&self.settings.names, path, file)
    }

    /// Decrypts one stored segment into its plaintext name (Standard form) and whether the
    /// stored name is other than what poof encrypts that name to.
    ///
    /// # Errors
    /// Why the name is refused, in a few words.
    fn dec_segment(&self, stored: &str, file: bool) -> std::result::Result<(String, bool), String> {
        let names = &self.settings.names;
        let disk = encoding::to_disk(stored.as_bytes());
        let Ok(text) = std::str::from_utf8(&disk) else {
            return Err("not an encrypted name (not UTF-8)".to_owned());
        };
        let wire_enc = from_stored(text);
        let encrypted = file || (names.dir_name_encryption() && names.mode() != NameMode::Off);
        let raw: Vec<u8> = if !encrypted {
            wire_enc.as_bytes().to_vec()
        } else if names.mode() == NameMode::Off {
            names
                .decrypt_file_name(&wire_enc)
                .map_err(|e| e.to_string())?
                .into_bytes()
        } else {
            names
                .decrypt_segment_bytes(&wire_enc)
                .map_err(|e| e.to_string())?
        };
        let plain = encoding::from_wire(&raw)?;
        let other = match &plain {
            std::borrow::Cow::Borrowed(_) => false,
            std::borrow::Cow::Owned(p) => *encoding::to_wire(p) != raw[..],
        };
        let upper = encrypted
            && names.mode() == NameMode::Standard
            && names.encoding() == NameEncoding::Base32
            && stored.bytes().any(|b| b.is_ascii_uppercase());
        Ok((plain.into_owned(), other || upper))
    }

    /// Decrypts a stored folder path segment by segment.
    fn dec_dir_path(&self, stored: &str) -> std::result::Result<(String, bool), String> {
        let mut path = String::new();
        let mut other = false;
        for segment in stored.split('/') {
            let (name, o) = self.dec_segment(segment, false)?;
            other |= o;
            if !path.is_empty() {
                path.push('/');
            }
            path.push_str(&name);
        }
        Ok((path, other))
    }

    /// Removes the entries whose path another entry of `out` also has (two stored names that
    /// decrypt to one name) and reports each clash once, naming the stored names; folders that
    /// decrypt alike are kept once (their contents are listed, and clash file by file).
    fn drop_clashes(
        &self,
        out: Vec<Entry>,
        stored: &[String],
        problems: &mut Vec<String>,
    ) -> Result<Vec<Entry>> {
        let mut order: Vec<usize> = (0..out.len()).collect();
        order.sort_unstable_by(|&a, &b| {
            let (ea, eb) = (&out[a], &out[b]);
            ea.path.cmp(&eb.path).then(ea.is_dir().cmp(&eb.is_dir()))
        });
        let mut drop = vec![false; out.len()];
        let mut clashes = Vec::new();
        for pair in order.windows(2) {
            let &[a, b] = pair else { continue };
            if out[a].path != out[b].path {
                continue;
            }
            if out[a].is_dir() && out[b].is_dir() {
                drop[b] = true;
                continue;
            }
            if !drop[a] {
                clashes.push(vec![a]);
            }
            drop[a] = true;
            drop[b] = true;
            if let Some(last) = clashes.last_mut() {
                last.push(b);
            }
        }
        for group in &clashes {
            let names: Vec<String> = group
                .iter()
                .filter_map(|&i| stored.get(i).map(|s| format!("{s:?}")))
                .collect();
            let path = group.first().map_or("", |&i| out[i].path.as_str());
            self.note(
                problems,
                format!(
                    "name clash: {} all decrypt to {:?}; none of them is used",
                    names.join(" and "),
                    encoding::printable(path)
                ),
            )?;
        }
        if !drop.contains(&true) {
            return Ok(out);
        }
        Ok(out
            .into_iter()
            .zip(drop)
            .filter_map(|(e, d)| (!d).then_some(e))
            .collect())
    }

    /// The size of the stored file of `size` plaintext bytes.
    fn stored_size(&self, size: u64) -> u64 {
        match self.settings.content {
            Some(_) => content::encrypted_size(size),
            None => size,
        }
    }

    /// The plaintext of a whole stored file (a damaged block is a warning or an error, as
    /// the content settings say).
    fn open_whole(&self, path: &str, stored: Vec<u8>) -> Result<Vec<u8>> {
        let Some(cipher) = &self.settings.content else {
            return Ok(stored);
        };
        let (plain, bad_blocks) = cipher
            .decrypt_bytes(&stored)
            .with_context(|| format!("{}: {path}: cannot decrypt", self.describe))?;
        for index in bad_blocks {
            warn_bad_block(index);
        }
        Ok(plain)
    }

    /// The stored form of a whole file.
    fn seal_whole(&self, plain: Vec<u8>) -> Vec<u8> {
        match &self.settings.content {
            Some(cipher) => cipher.encrypt_bytes(&plain),
            None => plain,
        }
    }

    /// The plaintext size of a put that stored `written` bytes.
    fn plain_written(&self, path: &str, written: u64) -> Result<u64> {
        self.plain_size(written)
            .with_context(|| format!("{}: {path}: wrote an impossible size", self.describe))
    }

    /// The plaintext size of the stored file of `path`, of `encrypted` bytes.
    ///
    /// # Errors
    /// No plaintext encrypts to that size (a damaged or foreign file).
    fn stored_plain_size(&self, path: &str, encrypted: u64) -> Result<u64> {
        self.plain_size(encrypted).map_err(|e| {
            anyhow::anyhow!(
                "{}: {path}: impossible encrypted size {encrypted}: {e}",
                self.describe
            )
        })
    }

    /// Whether segment `index` of a path of `count` segments is stored encrypted.
    fn encrypts(&self, index: usize, count: usize, file: bool) -> bool {
        let names = &self.settings.names;
        names.mode() != NameMode::Off
            && ((file && index + 1 == count) || names.dir_name_encryption())
    }

    /// What to tell of a path too long once encrypted (`too_long`, the inner backend's
    /// answer): how long a name fits in this encoding, when that is known exactly (a limit
    /// per name counted in characters, or in bytes of base32 or base64), and another
    /// `filename_encoding` that holds this path, if one does.
    fn hint(&self, path: &str, kind: EntryKind, too_long: &TooLong) -> Option<String> {
        let names = &self.settings.names;
        let encoding = names.encoding();
        let mut hints = Vec::new();
        let chars = match too_long.limit {
            Length::Chars(max) => Some(max),
            Length::Bytes(max) => (encoding.max_char_bytes() == 1).then_some(max),
        };
        if let (Some(_), Some(max)) = (too_long.segment, chars) {
            if let Some(longest) = longest_segment(max, encoding) {
                hints.push(format!("names of up to {longest} bytes fit"));
            }
        }
        // The most compact encoding for the storage's unit first.
        let others = match too_long.limit {
            Length::Chars(_) => [
                NameEncoding::Base32768,
                NameEncoding::Base64,
                NameEncoding::Base32,
            ],
            Length::Bytes(_) => [
                NameEncoding::Base64,
                NameEncoding::Base32768,
                NameEncoding::Base32,
            ],
        };
        let file = kind == EntryKind::File;
        let holds = others
            .into_iter()
            .filter(|&o| o != encoding)
            .find(|&other| {
                let stored = encrypt_path(&names.with_encoding(other), path, file);
                self.inner.fits(&stored, kind).is_ok()
            });
        if let Some(other) = holds {
            hints.push(format!(
                "a new crypt remote with filename_encoding = {other} would hold it"
            ));
        }
        (!hints.is_empty()).then(|| hints.join("; "))
    }

    /// The plaintext size of a file of `encrypted` bytes.
    fn plain_size(&self, encrypted: u64) -> poof_crypt::Result<u64> {
        match self.settings.content {
            Some(_) => content::decrypted_size(encrypted),
            None => Ok(encrypted),
        }
    }
}

/// The `crypt` line of [`super::TYPES`]: `name:path` is `path` encrypted (as folder names)
/// inside the remote the section wraps.
pub const TYPE: StorageType = StorageType {
    name: "crypt",
    open,
    // The path's folder names are encrypted: the wrapped remote's root is the closest
    // location known without the keys.
    below: |section, _| named_remote(section).map_or(Below::Elsewhere, Below::Location),
    is_crypt: true,
};

/// The settings of the crypt remotes open in this process, by section: a run opens the same
/// remote for each folder and for its history, and scrypt takes tens of milliseconds each time.
/// Weak: the keys are wiped once the last backend using them is dropped.
type SettingsCache = Vec<(Zeroizing<String>, Weak<CryptSettings>)>;
static SETTINGS: Mutex<SettingsCache> = Mutex::new(Vec::new());

/// The settings of `section`, derived once while a backend holds them.
///
/// # Errors
/// As [`CryptSettings::from_section`].
fn settings_of(section: &Section) -> Result<Arc<CryptSettings>> {
    // Every key and value of the section: two sections alike share keys, any difference
    // (a password, an option) derives its own.
    let mut id = Zeroizing::new(section.name().to_owned());
    for (key, value) in section.entries() {
        id.push('\n');
        id.push_str(key);
        id.push('=');
        id.push_str(value);
    }
    let mut cache = SETTINGS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    cache.retain(|(_, settings)| settings.strong_count() > 0);
    if let Some(settings) = cache
        .iter()
        .find(|(known, _)| **known == *id)
        .and_then(|(_, settings)| settings.upgrade())
    {
        return Ok(settings);
    }
    let settings = Arc::new(CryptSettings::from_section(section)?);
    cache.push((id, Arc::downgrade(&settings)));
    Ok(settings)
}

fn open(resolver: &mut Resolver<'_>, section: &Section, path: &str) -> Result<Arc<dyn Backend>> {
    let target = resolver.target(section, "a crypt remote", "wraps")?;
    let settings = settings_of(section)?;
    let rel = path.trim_matches('/');
    let enc = encrypt_stored_dir(&settings.names, rel);
    let inner = resolver.open(&target.join(&enc))?;
    Ok(Arc::new(CryptBackend::new(
        inner,
        settings,
        format!("{}:{rel}", section.name()),
    )))
}

/// Encrypts a directory path as the inner backend stores it.
pub fn encrypt_stored_dir(names: &NameCipher, path: &str) -> String {
    encrypt_path(names, path, false)
}

/// Encrypts a plaintext path (Standard form) as the inner backend stores it: as rclone does,
/// a `‛XX` escape is encrypted as the raw byte it stands for.
fn encrypt_path(names: &NameCipher, path: &str, file: bool) -> String {
    if path.is_empty() {
        return String::new();
    }
    let encrypted = if names.mode() != NameMode::Standard || !path.contains(QUOTE) {
        if file {
            names.encrypt_file_name(path)
        } else {
            names.encrypt_dir_name(path)
        }
    } else {
        let count = path.split('/').count();
        let mut out = String::with_capacity(path.len() * 2);
        for (i, segment) in path.split('/').enumerate() {
            if i > 0 {
                out.push('/');
            }
            let leaf = file && i + 1 == count;
            if leaf || names.dir_name_encryption() {
                out.push_str(&names.encrypt_segment_bytes(&encoding::to_wire(segment)));
            } else {
                out.push_str(segment);
            }
        }
        out
    };
    to_stored(&encrypted).into_owned()
}

/// Joins a directory and a name.
fn join(dir: &str, name: &str) -> String {
    if dir.is_empty() {
        name.to_owned()
    } else {
        format!("{dir}/{name}")
    }
}

#[async_trait]
impl Backend for CryptBackend {
    fn describe(&self) -> String {
        self.describe.clone()
    }

    fn features(&self) -> Features {
        self.inner.features()
    }

    async fn list(&self, dir: &str, recursive: bool) -> Result<Option<Listing>> {
        let enc_dir = self.enc_dir(dir);
        let Some(Listing {
            entries: listed,
            mut problems,
            unreadable,
        }) = self.inner.list(&enc_dir, recursive).await?
        else {
            return Ok(None);
        };
        // A stored folder the disk refused: its contents are unknown, an error of the run.
        for (path, why) in unreadable {
            problems.push(format!(
                "{}: cannot read the stored folder {path} ({why})",
                self.inner.describe()
            ));
        }
        // Stored folder path (relative to `enc_dir`) -> its plaintext path and whether it or a
        // folder above is stored other than poof encrypts it; None when it did not decrypt
        // (its contents are then skipped: the folder is reported once).
        let mut dirs: HashMap<String, Option<(String, bool)>> = HashMap::new();
        dirs.insert(String::new(), Some((dir.to_owned(), false)));
        let mut out = Vec::with_capacity(listed.len());
        // The stored path of each entry of `out`, for aliases and clash reports.
        let mut stored_paths = Vec::with_capacity(listed.len());
        let mut aliases = Vec::new();
        for mut entry in listed {
            let rel = if enc_dir.is_empty() {
                Some(entry.path.as_str())
            } else {
                entry
                    .path
                    .strip_prefix(enc_dir.as_str())
                    .and_then(|r| r.strip_prefix('/'))
            };
            let Some(rel) = rel else {
                continue;
            };
            let (parent, leaf) = rel.rsplit_once('/').unwrap_or(("", rel));
            let (parent_plain, parent_other) = match dirs.get(parent) {
                Some(Some((p, o))) => (p.clone(), *o),
                // Inside an undecryptable folder: reported with the folder.
                Some(None) => continue,
                // A parent the listing did not show first: decrypt its path as a whole.
                None => match self.dec_dir_path(parent) {
                    Ok((p, o)) => {
                        let p = join(dir, &p);
                        dirs.insert(parent.to_owned(), Some((p.clone(), o)));
                        (p, o)
                    }
                    Err(why) => {
                        dirs.insert(parent.to_owned(), None);
                        self.note(
                            &mut problems,
                            format!(
                                "cannot decrypt folder name {:?}: {why}",
                                join(&enc_dir, parent)
                            ),
                        )?;
                        continue;
                    }
                },
            };
            let (name, other) = match self.dec_segment(leaf, !entry.is_dir()) {
                Ok(decrypted) => decrypted,
                Err(why) => {
                    if entry.is_dir() {
                        dirs.insert(rel.to_owned(), None);
                    }
                    let what = if entry.is_dir() {
                        "folder name"
                    } else {
                        "name"
                    };
                    self.note(
                        &mut problems,
                        format!("cannot decrypt {what} {:?}: {why}", entry.path),
                    )?;
                    continue;
                }
            };
            let path = join(&parent_plain, &name);
            let other = other || parent_other;
            if other {
                aliases.push((path.clone(), entry.path.clone()));
            }
            if entry.is_dir() {
                dirs.insert(rel.to_owned(), Some((path.clone(), other)));
                stored_paths.push(std::mem::take(&mut entry.path));
                out.push(Entry { path, ..entry });
                continue;
            }
            match self.plain_size(entry.size) {
                Ok(size) => {
                    stored_paths.push(std::mem::take(&mut entry.path));
                    out.push(Entry {
                        path,
                        size,
                        ..entry
                    });
                }
                Err(_) => self.note(
                    &mut problems,
                    format!(
                        "{:?} ({}) is not an encrypted file: size {} is too small or invalid for one",
                        entry.path,
                        encoding::printable(&path),
                        entry.size
                    ),
                )?,
            }
        }
        let entries = self.drop_clashes(out, &stored_paths, &mut problems)?;
        if !aliases.is_empty() {
            if let Ok(mut map) = self.aliases.lock() {
                map.extend(aliases);
            }
        }
        Ok(Some(Listing {
            entries,
            problems,
            unreadable: Vec::new(),
        }))
    }

    async fn stat(&self, path: &str) -> Result<Option<Entry>> {
        let enc = self.enc_file(path);
        let found = self.inner.stat(&enc).await?;
        if let Some(entry) = found.clone() {
            if !entry.is_dir() {
                let size = self.stored_plain_size(path, entry.size)?;
                return Ok(Some(Entry {
                    path: path.to_owned(),
                    size,
                    ..entry
                }));
            }
        }
        let enc_dir = self.enc_dir(path);
        // Most modes encrypt file and directory names alike: one lookup is enough then.
        let found = if enc_dir == enc {
            found
        } else {
            self.inner.stat(&enc_dir).await?
        };
        Ok(found.filter(Entry::is_dir).map(|entry| Entry {
            path: path.to_owned(),
            ..entry
        }))
    }

    async fn open(&self, path: &str, range: Option<Range<u64>>) -> Result<ByteStream> {
        let enc = self.enc_file(path);
        let Some(cipher) = &self.settings.content else {
            return self.inner.open(&enc, range).await;
        };
        let Some(range) = range else {
            let inner = self.inner.open(&enc, None).await?;
            // Whole files are opened on all cores, batch by batch (blocks are independent).
            return Ok(Box::pin(
                cipher.decrypt_parallel(inner, bad_block_warnings()),
            ));
        };
        let Some(entry) = self.inner.stat(&enc).await? else {
            bail!("{}: {path}: not found", self.describe);
        };
        let size = self.stored_plain_size(path, entry.size)?;
        let end = range.end.min(size);
        if range.start >= end {
            return Ok(Box::pin(tokio::io::empty()));
        }
        let blocks = content::block_range(range.start..end);
        // Object stores check that a ranged read returns exactly the bytes asked for.
        let inner_range = blocks.stored.start..blocks.stored.end.min(entry.size);
        // The header, then the blocks holding the range: one read when they follow it.
        let inner: ByteStream = if blocks.first_block == 0 {
            self.inner.open(&enc, Some(0..inner_range.end)).await?
        } else {
            let mut header = self.inner.open(&enc, Some(0..HEADER_SIZE_U64)).await?;
            let mut bytes = [0u8; content::HEADER_SIZE];
            header
                .read_exact(&mut bytes)
                .await
                .with_context(|| format!("{}: {path}: cannot read the header", self.describe))?;
            let body = self.inner.open(&enc, Some(inner_range)).await?;
            Box::pin(std::io::Cursor::new(bytes).chain(body))
        };
        let plain = cipher.decrypt_async_range(inner, range.start..end);
        Ok(Box::pin(plain.with_bad_blocks(bad_block_warnings())))
    }

    async fn put(&self, path: &str, data: ByteStream, opts: PutOptions) -> Result<u64> {
        let enc = self.enc_file(path);
        let Some(cipher) = &self.settings.content else {
            return self.inner.put(&enc, data, opts).await;
        };
        // Large files are sealed on all cores (blocks are independent); small ones in line.
        let sealed: ByteStream = if opts.size.unwrap_or(u64::MAX) >= content::PARALLEL_MIN_SIZE {
            Box::pin(cipher.encrypt_parallel(data))
        } else {
            Box::pin(cipher.encrypt_async_reader(data))
        };
        let inner_opts = PutOptions {
            size: opts.size.map(content::encrypted_size),
            mtime: opts.mtime,
        };
        let written = self.inner.put(&enc, sealed, inner_opts).await?;
        self.plain_written(path, written)
    }

    fn read_whole(&self, file: &Entry) -> Result<Whole> {
        let stored = Entry {
            path: self.enc_file(&file.path),
            kind: file.kind,
            size: self.stored_size(file.size),
            mtime: file.mtime,
        };
        let whole = self.inner.read_whole(&stored)?;
        Ok(Whole {
            data: self.open_whole(&file.path, whole.data)?,
            mtime: whole.mtime,
        })
    }

    fn write_whole(&self, path: &str, data: Vec<u8>, opts: PutOptions) -> Result<u64> {
        let written = self
            .inner
            .write_whole(&self.enc_file(path), self.seal_whole(data), opts)?;
        self.plain_written(path, written)
    }

    async fn cleanup(&self) -> Result<usize> {
        self.inner.cleanup().await
    }

    /// The path encrypted, as the storage below would be asked to store it, measured by that
    /// storage; in `standard` mode a name of more than [`MAX_SEGMENT_LEN`] bytes is refused
    /// first (rclone cannot encrypt it: its encrypted name would not decrypt).
    fn fits(&self, path: &str, kind: EntryKind) -> Result<(), TooLong> {
        let names = &self.settings.names;
        let file = kind == EntryKind::File;
        let count = path.split('/').count();
        if names.mode() == NameMode::Standard {
            for (index, segment) in path.split('/').enumerate() {
                let len = encoding::to_wire(segment).len();
                if len > MAX_SEGMENT_LEN && self.encrypts(index, count, file) {
                    let limit = Length::Bytes(MAX_SEGMENT_LEN);
                    return Err(TooLong {
                        hint: Some("the most rclone's crypt format encrypts".to_owned()),
                        ..TooLong::new(Some(index), len, limit)
                    });
                }
            }
        }
        let below = self.inner.features();
        if below.max_segment.is_none() && below.max_key.is_none() {
            // Nothing to measure: no name is encrypted for nothing.
            return Ok(());
        }
        let Err(mut too_long) = self.inner.fits(&self.enc_path(path, file), kind) else {
            return Ok(());
        };
        too_long.encrypted = match too_long.segment {
            Some(index) => self.encrypts(index, count, file),
            None => (0..count).any(|index| self.encrypts(index, count, file)),
        };
        too_long.hint = None;
        if names.mode() == NameMode::Standard && too_long.encrypted {
            too_long.hint = self.hint(path, kind, &too_long);
        }
        Err(too_long)
    }

    async fn remove(&self, path: &str) -> Result<()> {
        self.inner.remove(&self.enc_file(path)).await
    }

    async fn rename(&self, from: &str, to: &str) -> Result<()> {
        // Contents do not depend on the name (each file has its own nonce): a move is the
        // stored file moved to the encrypted new name.
        self.inner
            .rename(&self.enc_file(from), &self.enc_file(to))
            .await
    }

    async fn mkdir(&self, path: &str) -> Result<()> {
        self.inner.mkdir(&self.enc_dir(path)).await
    }

    async fn rmdir(&self, path: &str) -> Result<()> {
        self.inner.rmdir(&self.enc_dir(path)).await
    }
}

const HEADER_SIZE_U64: u64 = content::HEADER_SIZE as u64;

/// Reports a block that failed authentication and was passed on as zeroes (`pass_bad_blocks`).
fn warn_bad_block(index: u64) {
    say!(
        "poof: warning: block {index} failed authentication and was replaced by zeroes (pass_bad_blocks)"
    );
}

/// The handle the content streams report bad blocks to: it warns at once (one for the run).
fn bad_block_warnings() -> BadBlocks {
    static WARNINGS: OnceLock<BadBlocks> = OnceLock::new();
    WARNINGS
        .get_or_init(|| BadBlocks::calling(warn_bad_block))
        .clone()
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use super::*;
    use crate::config::rclone::RcloneConfig;
    use crate::remote::backend::EntryKind;
    use crate::remote::local::LocalBackend;

    fn settings(extra: &str) -> CryptSettings {
        let text = format!(
            "[c]\ntype = crypt\nremote = /x\npassword = {}\n{extra}",
            poof_crypt::obscure("unit test password")
        );
        let config = RcloneConfig::parse(&text).unwrap();
        CryptSettings::from_section(config.section("c").unwrap()).unwrap()
    }

    fn data(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i * 7 + i / 251) as u8).collect()
    }

    #[test]
    fn a_remote_opened_twice_derives_its_keys_once_while_in_use() {
        let text = |password: &str, salt: &str| {
            format!(
                "[c]\ntype = crypt\nremote = /x\npassword = {}\npassword2 = {}\n",
                poof_crypt::obscure(password),
                poof_crypt::obscure(salt)
            )
        };
        let parse = |text: &str| RcloneConfig::parse(text).unwrap();
        let same = parse(&text("cache test", "salt"));
        let first = settings_of(same.section("c").unwrap()).unwrap();
        let again = settings_of(same.section("c").unwrap()).unwrap();
        assert!(Arc::ptr_eq(&first, &again));
        // Another password or salt derives keys of its own.
        for other in [text("cache test 2", "salt"), text("cache test", "salt 2")] {
            let other = settings_of(parse(&other).section("c").unwrap()).unwrap();
            assert!(!Arc::ptr_eq(&first, &other));
        }
        // Once no backend holds them, the keys are gone: the next open derives anew.
        let weak = Arc::downgrade(&first);
        drop((first, again));
        assert!(weak.upgrade().is_none());
    }

    async fn read_all(mut s: ByteStream) -> Vec<u8> {
        let mut out = Vec::new();
        s.read_to_end(&mut out).await.unwrap();
        out
    }

    const SIZES: &[usize] = &[0, 1, 65535, 65536, 65537, 200_000];

    #[tokio::test(flavor = "multi_thread")]
    async fn whole_files_match_the_streamed_ones() {
        let dir = tempfile::tempdir().unwrap();
        let inner: Arc<dyn Backend> = Arc::new(LocalBackend::new(dir.path()));
        let mtime = UNIX_EPOCH + Duration::new(1_650_000_000, 7);
        let opts = PutOptions {
            size: None,
            mtime: Some(mtime),
        };
        for extra in [
            "",
            "filename_encryption = off\ndirectory_name_encryption = false\n",
        ] {
            for no_data in [false, true] {
                let extra = format!("{extra}no_data_encryption = {no_data}\n");
                let c = CryptBackend::new(inner.clone(), settings(&extra), "c:".into());
                for &n in SIZES {
                    let bytes = data(n);
                    let (a, b) = (format!("a{no_data}/f{n}"), format!("b{no_data}/f{n}"));
                    // Written whole, read streamed; written streamed, read whole.
                    assert_eq!(c.write_whole(&a, bytes.clone(), opts).unwrap(), n as u64);
                    assert_eq!(read_all(c.open(&a, None).await.unwrap()).await, bytes);
                    let stream: ByteStream = Box::pin(std::io::Cursor::new(bytes.clone()));
                    assert_eq!(c.put(&b, stream, opts).await.unwrap(), n as u64);
                    let st = c.stat(&a).await.unwrap().unwrap();
                    assert_eq!((st.size, st.mtime), (n as u64, Some(mtime)));
                    let whole = c.read_whole(&c.stat(&b).await.unwrap().unwrap()).unwrap();
                    assert_eq!((whole.data, whole.mtime), (bytes, Some(mtime)));
                }
            }
        }
        // A damaged file fails the blocking read as it fails the async one.
        let c = CryptBackend::new(inner.clone(), settings(""), "c:".into());
        c.write_whole("x", data(1000), opts).unwrap();
        let stored = inner.list("", false).await.unwrap().unwrap();
        let enc = &stored
            .entries
            .iter()
            .find(|e| e.size == 1000 + 32 + 16)
            .unwrap()
            .path;
        let full = dir.path().join(enc);
        let mut raw = std::fs::read(&full).unwrap();
        raw[100] ^= 1;
        std::fs::write(&full, raw).unwrap();
        let x = c.stat("x").await.unwrap().unwrap();
        assert!(c.read_whole(&x).is_err());
        assert!(read_stream(c.open("x", None).await.unwrap()).await.is_err());
    }

    async fn read_stream(mut s: ByteStream) -> std::io::Result<Vec<u8>> {
        let mut out = Vec::new();
        s.read_to_end(&mut out).await.map(|_| out)
    }

    /// A crypt remote of `extra` settings over a store of these limits.
    fn limited(extra: &str, segment: Option<Length>, key: Option<Length>) -> CryptBackend {
        let store = crate::sync::testing::MemBackend::local().limits(segment, key);
        CryptBackend::new(Arc::new(store), settings(extra), "c:".into())
    }

    /// The stored path of `path` (a file) in a remote of `extra` settings.
    fn stored(extra: &str, path: &str) -> String {
        encrypt_path(&settings(extra).names, path, true)
    }

    #[test]
    fn a_name_too_long_once_encrypted_is_measured_as_stored() {
        let c = limited("", Some(Length::Bytes(255)), None);
        for len in [1, 143, 144, 159, 160, 175, 176, 200, 255] {
            let name = "n".repeat(len);
            let path = format!("docs/{name}");
            let real = stored("", &name).len();
            let base64 = stored("filename_encoding = base64\n", &name).len();
            match c.fits(&path, EntryKind::File) {
                Ok(()) => assert!(real <= 255, "{len}"),
                Err(too_long) => {
                    assert!(real > 255, "{len}");
                    assert_eq!(
                        (too_long.segment, too_long.length, too_long.encrypted),
                        (Some(1), real, true)
                    );
                    let hint = too_long.hint.unwrap_or_default();
                    assert!(hint.starts_with("names of up to 143 bytes fit"), "{hint}");
                    let holds = "a new crypt remote with filename_encoding = base64 would hold it";
                    assert_eq!(hint.contains(holds), base64 <= 255, "{len}: {hint}");
                    assert!(!hint.contains("base32768"), "{hint}");
                }
            }
        }
        // The same names as folders: the folder is the one too long.
        let err = c.fits(&"n".repeat(144), EntryKind::Dir).unwrap_err();
        assert_eq!((err.segment, err.length), (Some(0), 256));
        let line = err.message(&"n".repeat(144));
        assert!(
            line.contains("(encrypted name of 256 bytes, limit 255)"),
            "{line}"
        );
    }

    #[test]
    fn a_path_too_long_for_a_key_names_an_encoding_that_holds_it() {
        // Eight folders of 100 bytes: 180 base32 characters each, 150 of base64, 60 of
        // base32768 (2 or 3 bytes each).
        let path = vec!["n".repeat(100); 8].join("/");
        let real = |extra: &str| {
            let stored = stored(extra, &path);
            (stored.len(), stored.chars().count())
        };
        let base32 = real("");
        let base64 = real("filename_encoding = base64\n");
        let base32768 = real("filename_encoding = base32768\n");
        assert!(base32.1 > 1024 && base64.1 > 1024 && base32768.1 <= 1024);
        // Blob names of 1,024 characters (Azure): base32768 holds it.
        let azure = limited("", None, Some(Length::Chars(1024)));
        let err = azure.fits(&path, EntryKind::File).unwrap_err();
        assert_eq!((err.segment, err.length), (None, base32.1));
        assert_eq!(
            err.hint.as_deref(),
            Some("a new crypt remote with filename_encoding = base32768 would hold it")
        );
        assert!(err.message(&path).contains(
            "path too long for the destination (encrypted path of 1447 characters, limit 1024)"
        ));
        // Keys of 1,024 bytes (S3): base32768 only if its bytes fit.
        let s3 = limited("", None, Some(Length::Bytes(1024)));
        let err = s3.fits(&path, EntryKind::File).unwrap_err();
        assert_eq!(err.length, base32.0);
        let holds = err.hint.is_some_and(|h| h.contains("base32768"));
        assert_eq!(holds, base32768.0 <= 1024);
        // A base32768 remote over Azure holds it.
        let c = limited(
            "filename_encoding = base32768\n",
            None,
            Some(Length::Chars(1024)),
        );
        assert_eq!(c.fits(&path, EntryKind::File), Ok(()));
    }

    #[test]
    fn names_stored_plain_are_not_called_encrypted() {
        let limit = Some(Length::Bytes(255));
        // A folder name stored as it is.
        let c = limited("directory_name_encryption = false\n", limit, None);
        let path = format!("{}/f", "d".repeat(256));
        let err = c.fits(&path, EntryKind::File).unwrap_err();
        assert_eq!(
            err.message(&path),
            format!(
                "{path}: name too long for the destination (its folder {:?}: name of 256 bytes, limit 255)",
                "d".repeat(256)
            )
        );
        // `off` mode: the name and its suffix.
        let c = limited("filename_encryption = off\n", limit, None);
        assert!(c.fits(&"n".repeat(251), EntryKind::File).is_ok());
        let err = c.fits(&"n".repeat(252), EntryKind::File).unwrap_err();
        assert_eq!((err.length, err.encrypted, err.hint), (256, false, None));
    }

    #[test]
    fn names_longer_than_crypt_encrypts_are_refused_over_any_storage() {
        let c = limited("", None, None);
        assert!(c
            .fits(&"n".repeat(MAX_SEGMENT_LEN), EntryKind::File)
            .is_ok());
        let err = c
            .fits(
                &format!("d/{}", "n".repeat(MAX_SEGMENT_LEN + 1)),
                EntryKind::File,
            )
            .unwrap_err();
        let path = format!("d/{}", "n".repeat(MAX_SEGMENT_LEN + 1));
        assert_eq!(
            err.message(&path),
            format!("{path}: name too long for the destination (name of 2048 bytes, limit 2047); the most rclone's crypt format encrypts")
        );
        // What rclone cannot encrypt either: its name would not decrypt.
        let names = &c.settings.names;
        let enc = names.encrypt_segment(&"n".repeat(MAX_SEGMENT_LEN + 1));
        assert!(names.decrypt_segment(&enc).is_err());
    }

    #[test]
    fn features_are_those_of_the_storage_below() {
        let store: Arc<dyn Backend> = Arc::new(crate::sync::testing::MemBackend::object_store());
        let c = CryptBackend::new(store.clone(), settings(""), "c:".into());
        assert_eq!(c.features(), store.features());
    }

    #[tokio::test]
    async fn put_list_stat_open_round_trip_with_ranges() {
        let dir = tempfile::tempdir().unwrap();
        let inner: Arc<dyn Backend> = Arc::new(LocalBackend::new(dir.path()));
        let c = CryptBackend::new(inner.clone(), settings(""), "c:".into());
        let mtime = UNIX_EPOCH + Duration::new(1_650_000_000, 5);
        for &n in SIZES {
            let bytes = data(n);
            let opts = PutOptions {
                size: Some(n as u64),
                mtime: Some(mtime),
            };
            let path = format!("d/sub/f{n}");
            let stream: ByteStream = Box::pin(std::io::Cursor::new(bytes.clone()));
            assert_eq!(c.put(&path, stream, opts).await.unwrap(), n as u64);
            let st = c.stat(&path).await.unwrap().unwrap();
            assert_eq!((st.size, st.mtime), (n as u64, Some(mtime)));
            assert_eq!(read_all(c.open(&path, None).await.unwrap()).await, bytes);
            let b = 65536usize;
            for (start, end) in [
                (0, 1),
                (1, 5),
                (b - 1, b + 1),
                (b, 2 * b),
                (b + 3, 3 * b),
                (n, n + 5),
            ] {
                let want = bytes.get(start.min(n)..end.min(n)).unwrap_or_default();
                let got =
                    read_all(c.open(&path, Some(start as u64..end as u64)).await.unwrap()).await;
                assert_eq!(got, want, "size {n} range {start}..{end}");
            }
        }
        let listed = c.list("", true).await.unwrap().unwrap();
        assert!(listed.problems.is_empty());
        let mut paths: Vec<_> = listed
            .entries
            .iter()
            .map(|e| (e.path.clone(), e.kind, e.size))
            .collect();
        paths.sort_by(|a, b| a.0.cmp(&b.0));
        let mut want = vec![
            ("d".to_owned(), EntryKind::Dir, 0),
            ("d/sub".to_owned(), EntryKind::Dir, 0),
        ];
        want.extend(
            SIZES
                .iter()
                .map(|n| (format!("d/sub/f{n}"), EntryKind::File, *n as u64)),
        );
        want.sort_by(|a, b| a.0.cmp(&b.0));
        assert_eq!(paths, want);
        assert_eq!(c.list("d", false).await.unwrap().unwrap().entries.len(), 1);
        // Nothing plain on the inner side.
        for e in inner.list("", true).await.unwrap().unwrap().entries {
            assert!(
                !e.path.contains("sub") && !e.path.ends_with("f1"),
                "{}",
                e.path
            );
        }
    }

    #[tokio::test]
    async fn undecryptable_and_impossible_sizes_are_collected() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("garbage name"), b"x").unwrap();
        let inner: Arc<dyn Backend> = Arc::new(LocalBackend::new(dir.path()));
        let c = CryptBackend::new(inner.clone(), settings(""), "c:".into());
        let good = c.settings.names.encrypt_file_name("ok");
        // 32 + 16 bytes: a header and a bare tag, which no plaintext encrypts to.
        std::fs::write(dir.path().join(&good), [0u8; 48]).unwrap();
        let listed = c.list("", true).await.unwrap().unwrap();
        assert!(listed.entries.is_empty());
        assert_eq!(listed.problems.len(), 2, "{:?}", listed.problems);
    }

    #[tokio::test]
    async fn rename_moves_the_stored_file_to_the_encrypted_new_name() {
        let dir = tempfile::tempdir().unwrap();
        let inner: Arc<dyn Backend> = Arc::new(LocalBackend::new(dir.path()));
        let c = CryptBackend::new(inner.clone(), settings(""), "c:".into());
        let stream: ByteStream = Box::pin(&b"kept bytes"[..]);
        c.put("docs/a", stream, PutOptions::default())
            .await
            .unwrap();
        assert!(c.features().server_side_move);
        c.rename("docs/a", "history/docs/a").await.unwrap();
        let listed = c.list("", true).await.unwrap().unwrap();
        assert!(listed.problems.is_empty(), "{:?}", listed.problems);
        let files: Vec<&str> = listed
            .entries
            .iter()
            .filter(|e| !e.is_dir())
            .map(|e| e.path.as_str())
            .collect();
        assert_eq!(files, ["history/docs/a"]);
        let enc = c.settings.names.encrypt_file_name("history/docs/a");
        assert!(dir.path().join(enc).is_file());
        let got = read_all(c.open("history/docs/a", None).await.unwrap()).await;
        assert_eq!(got, b"kept bytes");
    }

    #[tokio::test]
    async fn strict_names_fail_the_listing() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("garbage name"), b"x").unwrap();
        let inner: Arc<dyn Backend> = Arc::new(LocalBackend::new(dir.path()));
        let c = CryptBackend::new(inner, settings("strict_names = true\n"), "c:".into());
        assert!(c.list("", false).await.is_err());
    }

    #[tokio::test]
    async fn no_data_encryption_passes_content_through() {
        let dir = tempfile::tempdir().unwrap();
        let inner: Arc<dyn Backend> = Arc::new(LocalBackend::new(dir.path()));
        let c = CryptBackend::new(
            inner.clone(),
            settings("no_data_encryption = true\n"),
            "c:".into(),
        );
        let stream: ByteStream = Box::pin(&b"plain"[..]);
        c.put("f", stream, PutOptions::default()).await.unwrap();
        let listed = inner.list("", false).await.unwrap().unwrap().entries;
        assert_eq!(listed.len(), 1);
        assert_ne!(listed[0].path, "f");
        assert_eq!(
            read_all(inner.open(&listed[0].path, None).await.unwrap()).await,
            b"plain"
        );
        assert_eq!(
            read_all(c.open("f", Some(1..3)).await.unwrap()).await,
            b"la"
        );
    }

    #[tokio::test]
    async fn missing_dir_is_none() {
        let dir = tempfile::tempdir().unwrap();
        let inner: Arc<dyn Backend> = Arc::new(LocalBackend::new(dir.path()));
        let c = CryptBackend::new(inner, settings(""), "c:".into());
        assert_eq!(c.list("nope", true).await.unwrap(), None);
        assert_eq!(c.stat("nope").await.unwrap(), None);
    }
}
