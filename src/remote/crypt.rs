//! The crypt layer: a `type = crypt` section of an rclone config file turned into the ciphers of
//! the crypt crate ([`CryptSettings`], with rclone's defaults for every option), and
//! [`CryptBackend`], a [`Backend`] over another backend that stores encrypted names and
//! contents and shows plaintext ones.
//!
//! Reading a byte range fetches the 32-byte header, then only the blocks the range touches
//! (block `k` starts at `32 + k * BLOCK_SIZE` in the encrypted file and is opened under the
//! file nonce plus `k`), skips the offset inside the first block and stops at the range end.

use std::collections::HashMap;
use std::io;
use std::ops::Range;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context as TaskContext, Poll};

use anyhow::{bail, Context, Result};
use async_trait::async_trait;
use poof_crypt::name::stored::{from_stored, to_stored};
use poof_crypt::{content, ContentCipher, Keys, NameCipher, NameEncoding, NameMode, Nonce};
use tokio::io::{AsyncRead, AsyncReadExt, ReadBuf};
use zeroize::Zeroizing;

use super::backend::{Backend, BlockingIo, ByteStream, Entry, Features, PutOptions};
use crate::config::rclone::Section;

mod parallel;

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
/// the name cipher refuses) and files whose encrypted size is impossible are collected: callers
/// read them with [`Backend::take_undecryptable`] and treat them as errors of the run; with
/// `strict_names` the listing itself fails.
pub struct CryptBackend {
    inner: Arc<dyn Backend>,
    settings: Arc<CryptSettings>,
    describe: String,
    undecryptable: Mutex<Vec<String>>,
}

impl CryptBackend {
    /// Wraps `inner` (already rooted at the encrypted folder) with the ciphers of `settings`;
    /// `describe` names the crypt remote in messages (`secret:docs`).
    pub fn new(inner: Arc<dyn Backend>, settings: CryptSettings, describe: String) -> CryptBackend {
        CryptBackend {
            inner,
            settings: Arc::new(settings),
            describe,
            undecryptable: Mutex::new(Vec::new()),
        }
    }

    /// The settings (ciphers) of this remote.
    pub fn settings(&self) -> &CryptSettings {
        &self.settings
    }

    fn note_undecryptable(&self, what: String) -> Result<()> {
        if self.settings.strict_names {
            bail!("{}: {what} (strict_names is set)", self.describe);
        }
        if let Ok(mut list) = self.undecryptable.lock() {
            list.push(what);
        }
        Ok(())
    }

    fn enc_file(&self, path: &str) -> String {
        if path.is_empty() {
            String::new()
        } else {
            let name = self.settings.names.encrypt_file_name(&from_stored(path));
            to_stored(&name).into_owned()
        }
    }

    fn enc_dir(&self, path: &str) -> String {
        encrypt_stored_dir(&self.settings.names, path)
    }

    /// Decrypts a name (or path) as the inner backend stores it into the name this layer
    /// stores: rclone's internal form in between (see `poof_crypt::name::stored`).
    fn dec(
        &self,
        stored: &str,
        decrypt: impl Fn(&NameCipher, &str) -> poof_crypt::Result<String>,
    ) -> Option<String> {
        let plain = decrypt(&self.settings.names, &from_stored(stored)).ok()?;
        let plain = to_stored(&plain).into_owned();
        // A control picture decrypts to a raw control character on disk: refused as any
        // other unsafe name.
        (!plain.chars().any(|c| c.is_control())).then_some(plain)
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
            parallel::warn_bad_block(index);
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

    /// The inner backend's blocking I/O (there whenever this backend offers its own).
    fn inner_blocking(&self) -> Result<&dyn BlockingIo> {
        self.inner
            .blocking_io()
            .with_context(|| format!("{}: the storage below has no blocking I/O", self.describe))
    }

    /// The plaintext size of a file of `encrypted` bytes.
    fn plain_size(&self, encrypted: u64) -> poof_crypt::Result<u64> {
        match self.settings.content {
            Some(_) => content::decrypted_size(encrypted),
            None => Ok(encrypted),
        }
    }
}

/// Whole files through the inner backend's blocking I/O, with the same steps as the async
/// [`Backend::get`] and [`Backend::put_bytes`].
impl BlockingIo for CryptBackend {
    fn read_whole(&self, path: &str, size: u64) -> Result<Vec<u8>> {
        let stored = self
            .inner_blocking()?
            .read_whole(&self.enc_file(path), self.stored_size(size))?;
        self.open_whole(path, stored)
    }

    fn write_whole(&self, path: &str, data: Vec<u8>, opts: PutOptions) -> Result<u64> {
        let written = self.inner_blocking()?.write_whole(
            &self.enc_file(path),
            self.seal_whole(data),
            opts,
        )?;
        self.plain_written(path, written)
    }
}

/// Encrypts a directory path as the inner backend stores it.
pub fn encrypt_stored_dir(names: &NameCipher, path: &str) -> String {
    if path.is_empty() {
        String::new()
    } else {
        to_stored(&names.encrypt_dir_name(&from_stored(path))).into_owned()
    }
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

    fn take_undecryptable(&self) -> Vec<String> {
        let mut out = self.inner.take_undecryptable();
        if let Ok(mut list) = self.undecryptable.lock() {
            out.append(&mut list);
        }
        out
    }

    async fn list(&self, dir: &str, recursive: bool) -> Result<Option<Vec<Entry>>> {
        let enc_dir = self.enc_dir(dir);
        let Some(listed) = self.inner.list(&enc_dir, recursive).await? else {
            return Ok(None);
        };
        // Encrypted directory path (relative to `enc_dir`) -> its plaintext path, or None when
        // it did not decrypt (its contents are then skipped: the directory is reported once).
        let mut dirs: HashMap<String, Option<String>> = HashMap::new();
        dirs.insert(String::new(), Some(dir.to_owned()));
        let mut out = Vec::with_capacity(listed.len());
        for entry in listed {
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
            let parent_plain = match dirs.get(parent) {
                Some(Some(p)) => p.clone(),
                // Inside an undecryptable directory, or a parent the listing did not show
                // first: decrypt the parent path as a whole.
                Some(None) => continue,
                None => match self.dec(parent, NameCipher::decrypt_dir_name).ok_or(()) {
                    Ok(p) => {
                        let p = join(dir, &p);
                        dirs.insert(parent.to_owned(), Some(p.clone()));
                        p
                    }
                    Err(_) => {
                        dirs.insert(parent.to_owned(), None);
                        self.note_undecryptable(format!(
                            "cannot decrypt directory name {:?}",
                            join(&enc_dir, parent)
                        ))?;
                        continue;
                    }
                },
            };
            let decrypted = if entry.is_dir() {
                self.dec(leaf, NameCipher::decrypt_dir_name)
            } else {
                self.dec(leaf, NameCipher::decrypt_file_name)
            };
            let name = match decrypted {
                Some(name) if !name.is_empty() && !name.contains('/') => name,
                _ => {
                    if entry.is_dir() {
                        dirs.insert(rel.to_owned(), None);
                    }
                    self.note_undecryptable(format!("cannot decrypt name {:?}", entry.path))?;
                    continue;
                }
            };
            let path = join(&parent_plain, &name);
            if entry.is_dir() {
                dirs.insert(rel.to_owned(), Some(path.clone()));
                out.push(Entry { path, ..entry });
                continue;
            }
            match self.plain_size(entry.size) {
                Ok(size) => out.push(Entry {
                    path,
                    size,
                    ..entry
                }),
                Err(_) => self.note_undecryptable(format!(
                    "{:?} ({path}): impossible encrypted size {}",
                    entry.path, entry.size
                ))?,
            }
        }
        Ok(Some(out))
    }

    async fn stat(&self, path: &str) -> Result<Option<Entry>> {
        let enc = self.enc_file(path);
        let found = self.inner.stat(&enc).await?;
        if let Some(entry) = found.clone() {
            if !entry.is_dir() {
                let size = self.plain_size(entry.size).map_err(|e| {
                    anyhow::anyhow!(
                        "{}: {path}: impossible encrypted size {}: {e}",
                        self.describe,
                        entry.size
                    )
                })?;
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
        if self.settings.content.is_none() {
            return self.inner.open(&enc, range).await;
        }
        let Some(range) = range else {
            let inner = self.inner.open(&enc, None).await?;
            // Whole files are opened on all cores, batch by batch (blocks are independent).
            return Ok(match &self.settings.content {
                Some(cipher) => Box::pin(parallel::ParallelOpen::new(cipher.clone(), inner)),
                None => inner,
            });
        };
        let Some(entry) = self.inner.stat(&enc).await? else {
            bail!("{}: {path}: not found", self.describe);
        };
        let size = self.plain_size(entry.size).map_err(|e| {
            anyhow::anyhow!(
                "{}: {path}: impossible encrypted size {}: {e}",
                self.describe,
                entry.size
            )
        })?;
        let end = range.end.min(size);
        if range.start >= end {
            return Ok(Box::pin(tokio::io::empty()));
        }
        let (inner_range, first_block, skip) = block_range(range.start, end);
        // Object stores check that a ranged read returns exactly the bytes asked for.
        let inner_range = inner_range.start..inner_range.end.min(entry.size);
        let header_stream = if first_block == 0 {
            None
        } else {
            Some(self.inner.open(&enc, Some(0..HEADER_SIZE_U64)).await?)
        };
        let (inner, first_block) = match header_stream {
            None => (self.inner.open(&enc, Some(0..inner_range.end)).await?, 0),
            Some(mut header) => {
                let mut bytes = [0u8; content::HEADER_SIZE];
                header.read_exact(&mut bytes).await.with_context(|| {
                    format!("{}: {path}: cannot read the header", self.describe)
                })?;
                let body = self.inner.open(&enc, Some(inner_range)).await?;
                let joined: ByteStream = Box::pin(std::io::Cursor::new(bytes).chain(body));
                (joined, first_block)
            }
        };
        Ok(Box::pin(DecryptStream::new(
            inner,
            self.settings.clone(),
            first_block,
            skip,
            Some(end - range.start),
        )))
    }

    async fn put(&self, path: &str, data: ByteStream, opts: PutOptions) -> Result<u64> {
        let enc = self.enc_file(path);
        let Some(cipher) = &self.settings.content else {
            return self.inner.put(&enc, data, opts).await;
        };
        // Large files are sealed on all cores (blocks are independent); small ones in line.
        let sealed: ByteStream = if opts.size.unwrap_or(u64::MAX) >= parallel::PARALLEL_MIN_SIZE {
            Box::pin(parallel::ParallelSeal::new(
                cipher.clone(),
                data,
                Nonce::random(),
            ))
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

    async fn get(&self, path: &str, size: u64) -> Result<Vec<u8>> {
        let stored = self
            .inner
            .get(&self.enc_file(path), self.stored_size(size))
            .await?;
        self.open_whole(path, stored)
    }

    async fn put_bytes(&self, path: &str, data: Vec<u8>, opts: PutOptions) -> Result<u64> {
        let written = self
            .inner
            .put_bytes(&self.enc_file(path), self.seal_whole(data), opts)
            .await?;
        self.plain_written(path, written)
    }

    fn blocking_io(&self) -> Option<&dyn BlockingIo> {
        self.inner.blocking_io().map(|_| self as &dyn BlockingIo)
    }

    async fn remove_stale_temps(&self) -> Result<usize> {
        self.inner.remove_stale_temps().await
    }

    async fn remove(&self, path: &str) -> Result<()> {
        self.inner.remove(&self.enc_file(path)).await
    }

    async fn mkdir(&self, path: &str) -> Result<()> {
        self.inner.mkdir(&self.enc_dir(path)).await
    }

    async fn rmdir(&self, path: &str) -> Result<()> {
        self.inner.rmdir(&self.enc_dir(path)).await
    }
}

const HEADER_SIZE_U64: u64 = content::HEADER_SIZE as u64;
const BLOCK_SIZE_U64: u64 = content::BLOCK_SIZE as u64;
const BLOCK_DATA_SIZE_U64: u64 = content::BLOCK_DATA_SIZE as u64;

/// For the plaintext range `start..end` (non-empty): the encrypted byte range of the blocks
/// holding it, the index of the first block, and the offset of `start` inside that block.
fn block_range(start: u64, end: u64) -> (Range<u64>, u64, usize) {
    let first = start / BLOCK_DATA_SIZE_U64;
    let last = end.saturating_sub(1) / BLOCK_DATA_SIZE_U64;
    let skip = (start % BLOCK_DATA_SIZE_U64) as usize;
    let from = HEADER_SIZE_U64.saturating_add(first.saturating_mul(BLOCK_SIZE_U64));
    let to = HEADER_SIZE_U64.saturating_add(last.saturating_add(1).saturating_mul(BLOCK_SIZE_U64));
    (from..to, first, skip)
}

/// Decrypts a stream that starts with the 32-byte header followed by the blocks from
/// `first_block` on; skips `skip` bytes of the first block and stops after `limit` bytes.
struct DecryptStream {
    inner: ByteStream,
    settings: Arc<CryptSettings>,
    nonce: Option<Nonce>,
    first_block: u64,
    sealed: Vec<u8>,
    filled: usize,
    plain: Zeroizing<Vec<u8>>,
    pos: usize,
    skip: usize,
    limit: Option<u64>,
    eof: bool,
}

impl DecryptStream {
    fn new(
        inner: ByteStream,
        settings: Arc<CryptSettings>,
        first_block: u64,
        skip: usize,
        limit: Option<u64>,
    ) -> DecryptStream {
        DecryptStream {
            inner,
            settings,
            nonce: None,
            first_block,
            sealed: vec![0u8; content::BLOCK_SIZE],
            filled: 0,
            plain: Zeroizing::new(Vec::with_capacity(content::BLOCK_DATA_SIZE)),
            pos: 0,
            skip,
            limit,
            eof: false,
        }
    }
}

impl AsyncRead for DecryptStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        loop {
            if this.limit == Some(0) {
                return Poll::Ready(Ok(()));
            }
            if let Some(rest) = this.plain.get(this.pos..).filter(|r| !r.is_empty()) {
                let mut n = rest.len().min(buf.remaining());
                if let Some(limit) = this.limit {
                    n = n.min(usize::try_from(limit).unwrap_or(usize::MAX));
                }
                buf.put_slice(rest.get(..n).unwrap_or_default());
                this.pos += n;
                if let Some(limit) = &mut this.limit {
                    *limit -= n as u64;
                }
                return Poll::Ready(Ok(()));
            }
            if this.eof {
                return Poll::Ready(Ok(()));
            }
            let want = if this.nonce.is_none() {
                content::HEADER_SIZE
            } else {
                content::BLOCK_SIZE
            };
            while this.filled < want {
                let Some(space) = this.sealed.get_mut(this.filled..want) else {
                    break;
                };
                let mut rb = ReadBuf::new(space);
                match this.inner.as_mut().poll_read(cx, &mut rb) {
                    Poll::Pending => return Poll::Pending,
                    Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                    Poll::Ready(Ok(())) => {
                        let n = rb.filled().len();
                        if n == 0 {
                            this.eof = true;
                            break;
                        }
                        this.filled += n;
                    }
                }
            }
            let got = this.sealed.get(..this.filled).unwrap_or_default();
            let Some(nonce) = this.nonce else {
                let nonce = Nonce::from_header(got).map_err(poof_crypt::Error::into_io)?;
                this.nonce = Some(nonce.add(this.first_block));
                this.filled = 0;
                continue;
            };
            if got.is_empty() {
                return Poll::Ready(Ok(()));
            }
            let Some(cipher) = &this.settings.content else {
                return Poll::Ready(Err(io::Error::other("no content cipher")));
            };
            this.plain.clear();
            let good = cipher
                .open_block_passing(&nonce, got, &mut this.plain)
                .map_err(poof_crypt::Error::into_io)?;
            if !good {
                parallel::warn_bad_block(this.first_block);
            }
            this.nonce = Some(nonce.add(1));
            this.filled = 0;
            this.pos = this.skip.min(this.plain.len());
            this.skip = 0;
        }
    }
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

    async fn read_all(mut s: ByteStream) -> Vec<u8> {
        let mut out = Vec::new();
        s.read_to_end(&mut out).await.unwrap();
        out
    }

    const SIZES: &[usize] = &[0, 1, 65535, 65536, 65537, 200_000];

    #[tokio::test]
    async fn blocking_whole_files_match_the_async_ones() {
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
                let io = c
                    .blocking_io()
                    .expect("crypt over a local folder has blocking I/O");
                for &n in SIZES {
                    let bytes = data(n);
                    let (a, b) = (format!("a{no_data}/f{n}"), format!("b{no_data}/f{n}"));
                    // Written blocking, read async; written async, read blocking.
                    assert_eq!(io.write_whole(&a, bytes.clone(), opts).unwrap(), n as u64);
                    assert_eq!(c.get(&a, n as u64).await.unwrap(), bytes);
                    assert_eq!(
                        c.put_bytes(&b, bytes.clone(), opts).await.unwrap(),
                        n as u64
                    );
                    assert_eq!(io.read_whole(&b, n as u64).unwrap(), bytes);
                    let st = c.stat(&a).await.unwrap().unwrap();
                    assert_eq!((st.size, st.mtime), (n as u64, Some(mtime)));
                }
            }
        }
        // A damaged file fails the blocking read as it fails the async one.
        let c = CryptBackend::new(inner.clone(), settings(""), "c:".into());
        let io = c.blocking_io().unwrap();
        io.write_whole("x", data(1000), opts).unwrap();
        let stored = inner.list("", false).await.unwrap().unwrap();
        let enc = &stored
            .iter()
            .find(|e| e.size == 1000 + 32 + 16)
            .unwrap()
            .path;
        let full = dir.path().join(enc);
        let mut raw = std::fs::read(&full).unwrap();
        raw[100] ^= 1;
        std::fs::write(&full, raw).unwrap();
        assert!(io.read_whole("x", 1000).is_err());
        assert!(c.get("x", 1000).await.is_err());
    }

    #[test]
    fn no_blocking_io_over_object_stores() {
        let store: Arc<dyn Backend> = Arc::new(crate::sync::testing::MemBackend::object_store());
        let c = CryptBackend::new(store, settings(""), "c:".into());
        assert!(c.blocking_io().is_none());
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
        let mut paths: Vec<_> = listed
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
        assert_eq!(c.list("d", false).await.unwrap().unwrap().len(), 1);
        assert!(c.take_undecryptable().is_empty());
        // Nothing plain on the inner side.
        for e in inner.list("", true).await.unwrap().unwrap() {
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
        assert_eq!(c.list("", true).await.unwrap(), Some(vec![]));
        let bad = c.take_undecryptable();
        assert_eq!(bad.len(), 2, "{bad:?}");
        assert!(c.take_undecryptable().is_empty());
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
        let listed = inner.list("", false).await.unwrap().unwrap();
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

    #[test]
    fn block_range_inside_first_block() {
        assert_eq!(block_range(0, 1), (32..32 + BLOCK_SIZE_U64, 0, 0));
        assert_eq!(block_range(10, 20), (32..32 + BLOCK_SIZE_U64, 0, 10));
    }

    #[test]
    fn block_range_across_a_boundary() {
        let b = BLOCK_DATA_SIZE_U64;
        assert_eq!(
            block_range(b - 1, b + 1),
            (32..32 + 2 * BLOCK_SIZE_U64, 0, (b - 1) as usize)
        );
        assert_eq!(
            block_range(b, 2 * b),
            (32 + BLOCK_SIZE_U64..32 + 2 * BLOCK_SIZE_U64, 1, 0)
        );
        assert_eq!(
            block_range(2 * b + 5, 2 * b + 6),
            (32 + 2 * BLOCK_SIZE_U64..32 + 3 * BLOCK_SIZE_U64, 2, 5)
        );
    }

    #[test]
    fn block_range_at_the_end_of_u64_saturates() {
        let (r, _, _) = block_range(u64::MAX - 1, u64::MAX);
        assert!(r.start <= r.end);
    }
}
