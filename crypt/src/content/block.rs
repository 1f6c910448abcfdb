//! Sealing and opening one block, and the two block-buffer state machines every stream is
//! built on.
//!
//! [`seal_in_place`] and [`open_in_place`] work on one stored block laid out as rclone stores
//! it (16-byte tag, then ciphertext) inside a caller's buffer, so a stream never copies a block
//! between buffers. [`ContentCipher::seal_block`] and [`ContentCipher::open_block`] are the
//! public form over a `Vec`.
//!
//! [`Sealer`] (encryption) and [`Opener`] (decryption) are sans-I/O cores: the adapter asks for
//! [`Core::input_space`], fills some of it from its source (or from the caller's bytes, for
//! writers), reports how much with [`Core::input`] (0 meaning end of input), and hands out
//! [`Core::output`]. A core owns exactly one buffer of [`BLOCK_SIZE`] bytes, allocated once and
//! never grown, wiped on drop: the sync, async, reading and writing adapters all share this
//! logic and its memory bound.

use std::io;

use zeroize::Zeroize;

use super::secretbox::{self, SecretBox};
use super::{
    BadBlocks, ContentCipher, Nonce, BLOCK_DATA_SIZE, BLOCK_SIZE, BLOCK_TAG_SIZE, HEADER_SIZE,
};
use crate::{Error, Result};

/// The 24 bytes of a block nonce, as the secretbox takes them.
fn nonce_bytes(nonce: &Nonce) -> &[u8; secretbox::NONCE_SIZE] {
    &nonce.0
}

/// Seals `block[BLOCK_TAG_SIZE..]` (the plaintext) in place and writes the tag into
/// `block[..BLOCK_TAG_SIZE]`. `block` must be at least [`BLOCK_TAG_SIZE`] long.
fn seal_in_place(aead: &SecretBox, nonce: &Nonce, block: &mut [u8]) {
    if let Some((tag_space, data)) = block.split_at_mut_checked(BLOCK_TAG_SIZE) {
        tag_space.copy_from_slice(&aead.seal_in_place(nonce_bytes(nonce), data));
    }
}

/// Splits a stored block into its tag and ciphertext; `None` when shorter than a tag.
fn split_tag(sealed: &[u8]) -> Option<([u8; BLOCK_TAG_SIZE], &[u8])> {
    let (tag, data) = sealed.split_at_checked(BLOCK_TAG_SIZE)?;
    Some((tag.try_into().ok()?, data))
}

/// Opens a stored block (tag, then ciphertext) in place: on success `block[BLOCK_TAG_SIZE..]`
/// holds the plaintext; on failure the buffer still holds the ciphertext.
fn open_in_place(aead: &SecretBox, nonce: &Nonce, block: &mut [u8]) -> Result<()> {
    let Some((tag, data)) = block.split_at_mut_checked(BLOCK_TAG_SIZE) else {
        return Err(Error::Authentication);
    };
    let tag: [u8; BLOCK_TAG_SIZE] = (&*tag).try_into().map_err(|_| Error::Authentication)?;
    if aead.open_in_place(nonce_bytes(nonce), data, &tag) {
        Ok(())
    } else {
        Err(Error::Authentication)
    }
}

impl ContentCipher {
    /// Seals one block of plaintext under `nonce` (the block's own nonce: file nonce plus
    /// block index, see [`Nonce::add`]) and appends it to `out` as rclone stores it: the
    /// 16-byte tag, then the ciphertext. A block of a file holds at most
    /// [`BLOCK_DATA_SIZE`] bytes.
    pub fn seal_block(&self, nonce: &Nonce, plain: &[u8], out: &mut Vec<u8>) {
        let start = out.len();
        out.resize(start + BLOCK_TAG_SIZE + plain.len(), 0);
        if let Some(block) = out.get_mut(start..) {
            self.seal_block_to(nonce, plain, block);
        }
    }

    /// [`seal_block`](Self::seal_block) into a caller's slice of exactly
    /// `BLOCK_TAG_SIZE + plain.len()` bytes, without an intermediate copy (the parallel
    /// sealer of poof fills preallocated batch buffers this way).
    ///
    /// # Panics
    /// When `out` is not exactly `BLOCK_TAG_SIZE + plain.len()` bytes long.
    pub fn seal_block_to(&self, nonce: &Nonce, plain: &[u8], out: &mut [u8]) {
        assert_eq!(
            out.len(),
            BLOCK_TAG_SIZE + plain.len(),
            "seal_block_to: output is not the sealed size"
        );
        let (tag_space, data) = out.split_at_mut(BLOCK_TAG_SIZE);
        tag_space.copy_from_slice(&self.aead.seal_to(nonce_bytes(nonce), plain, data));
    }

    /// Opens one stored block (tag, then ciphertext) sealed under `nonce` and appends the
    /// plaintext to `out`. Wipe `out` after use if it holds secrets: this function cannot know.
    ///
    /// # Errors
    /// [`Error::Authentication`] when the block is shorter than a tag or fails authentication
    /// (wrong key or nonce, or damaged data); `out` is then left as it was. This ignores
    /// [`pass_bad_blocks`](ContentCipher::pass_bad_blocks), which only the streams apply.
    pub fn open_block(&self, nonce: &Nonce, sealed: &[u8], out: &mut Vec<u8>) -> Result<()> {
        let plain_len = sealed
            .len()
            .checked_sub(BLOCK_TAG_SIZE)
            .ok_or(Error::Authentication)?;
        let start = out.len();
        out.resize(start + plain_len, 0);
        let opened = match out.get_mut(start..) {
            Some(buf) => self.open_block_to(nonce, sealed, buf),
            None => Err(Error::Authentication),
        };
        if opened.is_err() {
            out.truncate(start);
        }
        opened
    }

    /// [`open_block`](Self::open_block) into a caller's slice of exactly
    /// `sealed.len() - BLOCK_TAG_SIZE` bytes, without an intermediate copy. On failure `out`
    /// is left as it was.
    ///
    /// # Errors
    /// [`Error::Authentication`] when the block is shorter than a tag, `out` has the wrong
    /// length, or the block fails authentication.
    pub fn open_block_to(&self, nonce: &Nonce, sealed: &[u8], out: &mut [u8]) -> Result<()> {
        let (tag, data) = split_tag(sealed).ok_or(Error::Authentication)?;
        if out.len() != data.len() || !self.aead.open_to(nonce_bytes(nonce), data, &tag, out) {
            return Err(Error::Authentication);
        }
        Ok(())
    }

    /// [`open_block`](Self::open_block), applying
    /// [`pass_bad_blocks`](ContentCipher::pass_bad_blocks) as the streams do: with it set, a
    /// block that fails authentication appends zeroes of its plaintext length and gives
    /// `Ok(false)`, so the caller can report it. `Ok(true)` for a good block.
    ///
    /// # Errors
    /// As [`open_block`](Self::open_block) when `pass_bad_blocks` is off, and for a block
    /// shorter than a tag in any case.
    pub fn open_block_passing(
        &self,
        nonce: &Nonce,
        sealed: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<bool> {
        match self.open_block(nonce, sealed, out) {
            Ok(()) => Ok(true),
            Err(Error::Authentication)
                if self.pass_bad_blocks() && sealed.len() >= BLOCK_TAG_SIZE =>
            {
                out.resize(out.len() + sealed.len() - BLOCK_TAG_SIZE, 0);
                Ok(false)
            }
            Err(e) => Err(e),
        }
    }

    /// [`open_block_passing`](Self::open_block_passing) into a caller's slice of exactly
    /// `sealed.len() - BLOCK_TAG_SIZE` bytes: a bad block passed on is written as zeroes.
    ///
    /// # Errors
    /// As [`open_block_to`](Self::open_block_to) when `pass_bad_blocks` is off, and for a
    /// block shorter than a tag or an `out` of the wrong length in any case.
    pub fn open_block_passing_to(
        &self,
        nonce: &Nonce,
        sealed: &[u8],
        out: &mut [u8],
    ) -> Result<bool> {
        match self.open_block_to(nonce, sealed, out) {
            Ok(()) => Ok(true),
            Err(Error::Authentication)
                if self.pass_bad_blocks()
                    && sealed.len() >= BLOCK_TAG_SIZE
                    && out.len() == sealed.len() - BLOCK_TAG_SIZE =>
            {
                out.fill(0);
                Ok(false)
            }
            Err(e) => Err(e),
        }
    }
}

impl ContentCipher {
    /// Encrypts a whole file held in memory under a fresh random nonce: the header, then the
    /// sealed blocks, exactly what the streams produce. For small files, where a stream's
    /// machinery costs more than the sealing.
    pub fn encrypt_bytes(&self, plain: &[u8]) -> Vec<u8> {
        self.encrypt_bytes_with_nonce(plain, Nonce::random())
    }

    /// [`encrypt_bytes`](Self::encrypt_bytes) under a given file nonce (see
    /// [`encrypt_reader_with_nonce`](Self::encrypt_reader_with_nonce) on reusing one).
    pub fn encrypt_bytes_with_nonce(&self, plain: &[u8], nonce: Nonce) -> Vec<u8> {
        let size = usize::try_from(super::encrypted_size(plain.len() as u64)).unwrap_or(0);
        let mut out = vec![0u8; size.max(HEADER_SIZE)];
        let (header, body) = out.split_at_mut(HEADER_SIZE);
        header.copy_from_slice(&nonce.header());
        let slots = body.chunks_mut(BLOCK_SIZE);
        for (k, (block, slot)) in plain.chunks(BLOCK_DATA_SIZE).zip(slots).enumerate() {
            self.seal_block_to(&nonce.add(k as u64), block, slot);
        }
        out
    }

    /// Decrypts a whole encrypted file held in memory. Returns the plaintext and the indexes
    /// of the blocks that failed authentication and were passed on as zeroes (only with
    /// [`pass_bad_blocks`](ContentCipher::pass_bad_blocks); empty otherwise), so the caller
    /// can report them.
    ///
    /// # Errors
    /// [`Error::TooShort`] or [`Error::BadMagic`] for a bad header, [`Error::ImpossibleSize`]
    /// for a truncated last block, [`Error::Authentication`] for a block that fails
    /// authentication (unless passed on).
    pub fn decrypt_bytes(&self, sealed: &[u8]) -> Result<(Vec<u8>, Vec<u64>)> {
        let nonce = Nonce::from_header(sealed)?;
        let size = super::decrypted_size(sealed.len() as u64)?;
        let mut out = vec![0u8; usize::try_from(size).map_err(|_| Error::ImpossibleSize(size))?];
        let mut bad = Vec::new();
        let body = sealed.get(HEADER_SIZE..).unwrap_or_default();
        let slots = out.chunks_mut(BLOCK_DATA_SIZE);
        for (k, (block, slot)) in body.chunks(BLOCK_SIZE).zip(slots).enumerate() {
            if !self.open_block_passing_to(&nonce.add(k as u64), block, slot)? {
                bad.push(k as u64);
            }
        }
        Ok((out, bad))
    }
}

/// The sans-I/O interface of [`Sealer`] and [`Opener`], used by every adapter.
pub(crate) trait Core {
    /// A failure that stops the stream for good (it is reported again on every call).
    fn check(&self) -> Result<()>;
    /// Bytes ready for the consumer (header or sealed block, or plaintext).
    fn output(&self) -> &[u8];
    /// Marks `n` bytes of [`Core::output`] as handed out.
    fn consume(&mut self, n: usize);
    /// True once the input has ended and all output has been handed out.
    fn done(&self) -> bool;
    /// Where the next input bytes go. Never empty; call only when [`Core::output`] is empty.
    fn input_space(&mut self) -> &mut [u8];
    /// Records that `n` bytes were put at the start of [`Core::input_space`]; `n == 0` means
    /// the input has ended (calling it again is harmless).
    ///
    /// # Errors
    /// The failures of the stream (authentication, truncation, header), which also become
    /// permanent (see [`Core::check`]).
    fn input(&mut self, n: usize) -> Result<()>;
}

/// A block buffer: allocated once at its full size and never grown (a reallocation would
/// leave an unwiped copy behind). On drop it wipes the bytes up to the furthest point input
/// ever reached ([`BlockBuffer::touch`]): past it the buffer still holds the zeroes it was
/// allocated with. A small file thus wipes a few KiB rather than a whole block, which
/// dominated the cost of sealing many small files.
struct BlockBuffer {
    bytes: Vec<u8>,
    /// Bytes `..touched` may hold data.
    touched: usize,
}

impl BlockBuffer {
    /// Records that input reached `end`; every byte stored into the buffer is below an end
    /// recorded here (the cores call it from [`Core::input`]).
    fn touch(&mut self, end: usize) {
        self.touched = self.touched.max(end.min(self.bytes.len()));
    }
}

impl std::ops::Deref for BlockBuffer {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.bytes
    }
}

impl std::ops::DerefMut for BlockBuffer {
    fn deref_mut(&mut self) -> &mut [u8] {
        &mut self.bytes
    }
}

impl Drop for BlockBuffer {
    fn drop(&mut self) {
        if let Some(used) = self.bytes.get_mut(..self.touched) {
            used.zeroize();
        }
    }
}

/// A fresh block buffer of [`BLOCK_SIZE`] zero bytes.
fn block_buffer() -> BlockBuffer {
    BlockBuffer {
        bytes: vec![0u8; BLOCK_SIZE],
        touched: 0,
    }
}

/// Encryption core: hands out the header, then each sealed block as soon as its plaintext is
/// complete (a full block, or what is left at end of input).
pub(crate) struct Sealer {
    aead: SecretBox,
    file_nonce: Nonce,
    block_nonce: Nonce,
    header: [u8; HEADER_SIZE],
    header_pos: usize,
    /// Tag space, then plaintext being collected or the sealed block being handed out.
    buf: BlockBuffer,
    /// Plaintext bytes collected at `buf[BLOCK_TAG_SIZE..]` for the next block.
    filled: usize,
    /// The range of `buf` still to hand out.
    pos: usize,
    end: usize,
    eof: bool,
}

impl Sealer {
    pub(crate) fn new(cipher: &ContentCipher, nonce: Nonce) -> Sealer {
        Sealer {
            aead: cipher.aead.clone(),
            file_nonce: nonce,
            block_nonce: nonce,
            header: nonce.header(),
            header_pos: 0,
            buf: block_buffer(),
            filled: 0,
            pos: 0,
            end: 0,
            eof: false,
        }
    }

    /// The file nonce written in the header.
    pub(crate) fn nonce(&self) -> Nonce {
        self.file_nonce
    }

    fn seal(&mut self) {
        let len = BLOCK_TAG_SIZE + self.filled;
        if let Some(block) = self.buf.get_mut(..len) {
            seal_in_place(&self.aead, &self.block_nonce, block);
        }
        self.block_nonce.increment();
        self.filled = 0;
        self.pos = 0;
        self.end = len;
    }
}

impl Core for Sealer {
    fn check(&self) -> Result<()> {
        Ok(())
    }

    fn output(&self) -> &[u8] {
        if self.header_pos < HEADER_SIZE {
            self.header.get(self.header_pos..).unwrap_or_default()
        } else {
            self.buf.get(self.pos..self.end).unwrap_or_default()
        }
    }

    fn consume(&mut self, n: usize) {
        if self.header_pos < HEADER_SIZE {
            self.header_pos = (self.header_pos + n).min(HEADER_SIZE);
        } else {
            self.pos = (self.pos + n).min(self.end);
        }
    }

    fn done(&self) -> bool {
        self.eof && self.output().is_empty()
    }

    fn input_space(&mut self) -> &mut [u8] {
        self.buf
            .get_mut(BLOCK_TAG_SIZE + self.filled..)
            .unwrap_or_default()
    }

    fn input(&mut self, n: usize) -> Result<()> {
        if n == 0 {
            if !self.eof {
                self.eof = true;
                if self.filled > 0 {
                    self.seal();
                }
            }
        } else {
            self.filled = (self.filled + n).min(BLOCK_DATA_SIZE);
            self.buf.touch(BLOCK_TAG_SIZE + self.filled);
            if self.filled == BLOCK_DATA_SIZE {
                self.seal();
            }
        }
        Ok(())
    }
}

/// A failure of an [`Opener`] that stays: every later call reports it again.
#[derive(Clone, Copy, Debug)]
enum Failure {
    TooShort,
    BadMagic,
    Authentication,
    ImpossibleSize(u64),
}

impl From<Failure> for Error {
    fn from(f: Failure) -> Error {
        match f {
            Failure::TooShort => Error::TooShort,
            Failure::BadMagic => Error::BadMagic,
            Failure::Authentication => Error::Authentication,
            Failure::ImpossibleSize(n) => Error::ImpossibleSize(n),
        }
    }
}

/// Decryption core: takes the header, then collects each stored block and hands out its
/// plaintext. A block is complete at [`BLOCK_SIZE`] bytes or at end of input; a final chunk of
/// 1 to 16 bytes (a truncated file) is [`Error::ImpossibleSize`].
pub(crate) struct Opener {
    aead: SecretBox,
    pass_bad_blocks: bool,
    header: [u8; HEADER_SIZE],
    header_len: usize,
    file_nonce: Option<Nonce>,
    /// Nonce and index of the next block to open.
    block_nonce: Nonce,
    next_block: u64,
    /// Stored block being collected, or tag space and the plaintext being handed out.
    buf: BlockBuffer,
    /// Stored bytes of the next block collected at the start of `buf`.
    filled: usize,
    /// The plaintext range of `buf` still to hand out.
    pos: usize,
    end: usize,
    /// The block whose plaintext `buf[BLOCK_TAG_SIZE..end]` holds, if any.
    loaded: Option<u64>,
    /// Plaintext bytes to drop from the start of the next block (set by a seek).
    skip: usize,
    /// Stored bytes taken in, header included.
    consumed: u64,
    bad_blocks: u64,
    /// Where the index of each block passed on as zeroes goes, if the caller asked.
    report: Option<BadBlocks>,
    eof: bool,
    failure: Option<Failure>,
}

impl Opener {
    pub(crate) fn new(cipher: &ContentCipher) -> Opener {
        Opener {
            aead: cipher.aead.clone(),
            pass_bad_blocks: cipher.pass_bad_blocks,
            header: [0; HEADER_SIZE],
            header_len: 0,
            file_nonce: None,
            block_nonce: Nonce([0; super::NONCE_SIZE]),
            next_block: 0,
            buf: block_buffer(),
            filled: 0,
            pos: 0,
            end: 0,
            loaded: None,
            skip: 0,
            consumed: 0,
            bad_blocks: 0,
            report: None,
            eof: false,
            failure: None,
        }
    }

    /// Takes its input as the header followed by the stored blocks from block `index` on (not
    /// the whole file), and drops the first `skip` plaintext bytes of that block. Call before
    /// any input.
    #[cfg(feature = "tokio")]
    pub(crate) fn starting_at(&mut self, index: u64, skip: usize) {
        self.next_block = index;
        self.skip = skip.min(BLOCK_DATA_SIZE);
    }

    /// Records the index of each block passed on as zeroes in `report`.
    #[cfg(feature = "tokio")]
    pub(crate) fn report_to(&mut self, report: BadBlocks) {
        self.report = Some(report);
    }

    /// The file nonce, once the header has been read.
    pub(crate) fn nonce(&self) -> Option<Nonce> {
        self.file_nonce
    }

    /// Blocks that failed authentication and were passed as zeroes.
    pub(crate) fn bad_blocks(&self) -> u64 {
        self.bad_blocks
    }

    /// Stored bytes taken in so far, header included.
    pub(crate) fn consumed(&self) -> u64 {
        self.consumed
    }

    /// The block held in the buffer and its plaintext length, if one is held intact.
    pub(crate) fn loaded(&self) -> Option<(u64, usize)> {
        match self.loaded {
            Some(index) if self.failure.is_none() => {
                Some((index, self.end.saturating_sub(BLOCK_TAG_SIZE)))
            }
            _ => None,
        }
    }

    /// Moves the hand-out position to `offset` within the loaded block (see
    /// [`Opener::loaded`]); the source position does not change.
    pub(crate) fn rewind_within_loaded(&mut self, offset: usize) {
        self.pos = (BLOCK_TAG_SIZE + offset).min(self.end);
    }

    /// Forgets the buffered state and continues at block `index`, dropping the first `skip`
    /// plaintext bytes of it; the caller has positioned the source at that block. Clears a
    /// permanent failure. Only valid once the header has been read.
    pub(crate) fn restart_at_block(&mut self, index: u64, skip: usize, consumed: u64) {
        if let Some(nonce) = self.file_nonce {
            self.block_nonce = nonce.add(index);
            self.failure = None;
        }
        self.next_block = index;
        self.filled = 0;
        self.pos = 0;
        self.end = 0;
        self.loaded = None;
        self.skip = skip.min(BLOCK_DATA_SIZE);
        self.consumed = consumed;
        self.eof = false;
    }

    fn fail(&mut self, failure: Failure) -> Result<()> {
        self.failure = Some(failure);
        Err(failure.into())
    }

    /// Opens the `self.filled` stored bytes at the start of `buf` as the next block.
    fn open(&mut self) -> Result<()> {
        let len = self.filled;
        self.filled = 0;
        let block = match self.buf.get_mut(..len) {
            Some(block) => block,
            None => return self.fail(Failure::Authentication),
        };
        if open_in_place(&self.aead, &self.block_nonce, block).is_err() {
            if !self.pass_bad_blocks {
                block.zeroize();
                return self.fail(Failure::Authentication);
            }
            if let Some(plain) = block.get_mut(BLOCK_TAG_SIZE..) {
                plain.zeroize();
            }
            self.bad_blocks += 1;
            if let Some(report) = &self.report {
                report.record(self.next_block);
            }
        }
        self.loaded = Some(self.next_block);
        self.next_block = self.next_block.wrapping_add(1);
        self.block_nonce.increment();
        self.end = len;
        self.pos = (BLOCK_TAG_SIZE + self.skip).min(len);
        self.skip = 0;
        Ok(())
    }
}

impl Core for Opener {
    fn check(&self) -> Result<()> {
        match self.failure {
            Some(f) => Err(f.into()),
            None => Ok(()),
        }
    }

    fn output(&self) -> &[u8] {
        self.buf.get(self.pos..self.end).unwrap_or_default()
    }

    fn consume(&mut self, n: usize) {
        self.pos = (self.pos + n).min(self.end);
    }

    fn done(&self) -> bool {
        self.eof && self.pos >= self.end
    }

    fn input_space(&mut self) -> &mut [u8] {
        if self.file_nonce.is_none() {
            return self.header.get_mut(self.header_len..).unwrap_or_default();
        }
        // Collecting a new block overwrites the loaded one.
        self.loaded = None;
        self.pos = 0;
        self.end = 0;
        self.buf.get_mut(self.filled..).unwrap_or_default()
    }

    fn input(&mut self, n: usize) -> Result<()> {
        self.check()?;
        self.consumed = self.consumed.saturating_add(n as u64);
        if self.file_nonce.is_none() {
            if n == 0 {
                return self.fail(Failure::TooShort);
            }
            self.header_len = (self.header_len + n).min(HEADER_SIZE);
            if self.header_len == HEADER_SIZE {
                match Nonce::from_header(&self.header) {
                    Ok(nonce) => {
                        self.file_nonce = Some(nonce);
                        // Block 0 unless the input starts at a later block (`starting_at`):
                        // `consumed` then counts the stored bytes skipped as well.
                        self.block_nonce = nonce.add(self.next_block);
                        let skipped = self.next_block.saturating_mul(BLOCK_SIZE as u64);
                        self.consumed = self.consumed.saturating_add(skipped);
                    }
                    Err(_) => return self.fail(Failure::BadMagic),
                }
            }
            return Ok(());
        }
        if n == 0 {
            if self.eof {
                return Ok(());
            }
            self.eof = true;
            return match self.filled {
                0 => Ok(()),
                partial if partial <= BLOCK_TAG_SIZE => {
                    self.fail(Failure::ImpossibleSize(self.consumed))
                }
                _ => self.open(),
            };
        }
        self.filled = (self.filled + n).min(BLOCK_SIZE);
        self.buf.touch(self.filled);
        if self.filled == BLOCK_SIZE {
            self.open()?;
        }
        Ok(())
    }
}

/// Drives a core from an `io::Read` source into `out` (the body of every `Read::read`).
pub(crate) fn read_via<C: Core, R: io::Read>(
    core: &mut C,
    inner: &mut R,
    out: &mut [u8],
) -> io::Result<usize> {
    if out.is_empty() {
        return Ok(0);
    }
    loop {
        core.check().map_err(Error::into_io)?;
        let available = core.output();
        if !available.is_empty() {
            let n = available.len().min(out.len());
            if let (Some(dst), Some(src)) = (out.get_mut(..n), available.get(..n)) {
                dst.copy_from_slice(src);
            }
            core.consume(n);
            return Ok(n);
        }
        if core.done() {
            return Ok(0);
        }
        let n = match inner.read(core.input_space()) {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        core.input(n).map_err(Error::into_io)?;
    }
}

/// Writes a core's pending output into `inner`.
pub(crate) fn drain_into<C: Core, W: io::Write>(core: &mut C, inner: &mut W) -> io::Result<()> {
    while !core.output().is_empty() {
        match inner.write(core.output()) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => core.consume(n),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Feeds `data` to a core after draining its pending output into `inner` (the body of every
/// `Write::write`). Bytes accepted are never reported as an error, so `write_all` never
/// repeats them; output produced by them goes out on the next call.
pub(crate) fn write_via<C: Core, W: io::Write>(
    core: &mut C,
    inner: &mut W,
    data: &[u8],
) -> io::Result<usize> {
    core.check().map_err(Error::into_io)?;
    drain_into(core, inner)?;
    if data.is_empty() {
        return Ok(0);
    }
    let space = core.input_space();
    let n = space.len().min(data.len());
    if let (Some(dst), Some(src)) = (space.get_mut(..n), data.get(..n)) {
        dst.copy_from_slice(src);
    }
    core.input(n).map_err(Error::into_io)?;
    Ok(n)
}

/// Ends a core's input and writes everything still pending into `inner`, then flushes it.
pub(crate) fn finish_into<C: Core, W: io::Write>(core: &mut C, inner: &mut W) -> Result<()> {
    core.check()?;
    drain_into(core, inner)?;
    core.input(0)?;
    drain_into(core, inner)?;
    inner.flush()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::content::testing::cipher;
    use std::io::Read;

    #[test]
    fn block_buffer_wipe_covers_every_byte_input_reached() {
        let mut sealer = Sealer::new(&cipher(), Nonce([3; 24]));
        let space = sealer.input_space();
        space[..100].fill(0xaa);
        sealer.input(100).unwrap();
        assert_eq!(sealer.buf.touched, BLOCK_TAG_SIZE + 100);
        sealer.input(0).unwrap();
        // Sealing stays inside what input reached: the rest is still zero.
        assert!(sealer.buf[BLOCK_TAG_SIZE + 100..].iter().all(|b| *b == 0));

        let mut opener = Opener::new(&cipher());
        opener
            .input_space()
            .copy_from_slice(&Nonce([3; 24]).header());
        opener.input(HEADER_SIZE).unwrap();
        let n = opener.input_space().len();
        // A block of zeroes fails authentication; what matters is the mark.
        let _ = opener.input(n);
        assert_eq!(opener.buf.touched, BLOCK_SIZE);
    }

    #[test]
    fn seal_block_appends_tag_then_ciphertext() {
        let c = cipher();
        let mut out = b"prefix".to_vec();
        c.seal_block(&Nonce([1; 24]), b"hello", &mut out);
        assert_eq!(&out[..6], b"prefix");
        assert_eq!(out.len(), 6 + 16 + 5);
        let mut plain = b"x".to_vec();
        c.open_block(&Nonce([1; 24]), &out[6..], &mut plain)
            .unwrap();
        assert_eq!(plain, b"xhello");
    }

    #[test]
    fn whole_file_bytes_match_the_streams_and_round_trip() {
        let c = cipher();
        let nonce = Nonce([0xfd; 24]);
        for len in [
            0usize,
            1,
            BLOCK_DATA_SIZE - 1,
            BLOCK_DATA_SIZE,
            BLOCK_DATA_SIZE + 1,
            3 * BLOCK_DATA_SIZE + 7,
        ] {
            let plain: Vec<u8> = (0..len).map(|i| (i * 31 + i / 300) as u8).collect();
            let mut streamed = Vec::new();
            c.encrypt_reader_with_nonce(&plain[..], nonce)
                .read_to_end(&mut streamed)
                .unwrap();
            let whole = c.encrypt_bytes_with_nonce(&plain, nonce);
            assert!(
                whole == streamed,
                "encrypt_bytes differs from the stream at {len}"
            );
            let (back, bad) = c.decrypt_bytes(&whole).unwrap();
            assert!(back == plain && bad.is_empty(), "round trip at {len}");
        }
    }

    #[test]
    fn whole_file_decrypt_refuses_damage_truncation_and_bad_headers() {
        let c = cipher();
        let plain = vec![7u8; 2 * BLOCK_DATA_SIZE + 10];
        let sealed = c.encrypt_bytes(&plain);
        let mut damaged = sealed.clone();
        damaged[HEADER_SIZE + BLOCK_SIZE + 40] ^= 1;
        assert!(matches!(
            c.decrypt_bytes(&damaged),
            Err(Error::Authentication)
        ));
        // With pass_bad_blocks the damaged block is zeroes and reported, the rest intact.
        let passing = c.clone().with_pass_bad_blocks(true);
        let (out, bad) = passing.decrypt_bytes(&damaged).unwrap();
        assert_eq!(bad, vec![1]);
        assert!(out[BLOCK_DATA_SIZE..2 * BLOCK_DATA_SIZE]
            .iter()
            .all(|b| *b == 0));
        assert_eq!(out[..BLOCK_DATA_SIZE], plain[..BLOCK_DATA_SIZE]);
        assert_eq!(out[2 * BLOCK_DATA_SIZE..], plain[2 * BLOCK_DATA_SIZE..]);
        // A cut inside the last tag is an impossible size; a cut inside a block fails.
        let cut = sealed.len() - 10 - 8;
        assert!(matches!(
            c.decrypt_bytes(&sealed[..cut]),
            Err(Error::ImpossibleSize(_))
        ));
        assert!(c.decrypt_bytes(&sealed[..sealed.len() - 3]).is_err());
        assert!(matches!(
            c.decrypt_bytes(&sealed[..20]),
            Err(Error::TooShort)
        ));
        let mut magic = sealed.clone();
        magic[0] ^= 1;
        assert!(matches!(c.decrypt_bytes(&magic), Err(Error::BadMagic)));
        // Extra trailing bytes make a block that cannot authenticate.
        let mut extra = sealed.clone();
        extra.extend_from_slice(&[0u8; 40]);
        assert!(c.decrypt_bytes(&extra).is_err());
    }

    #[test]
    fn seal_block_matches_secretbox_encrypt() {
        use crypto_secretbox::aead::Aead;
        use crypto_secretbox::{KeyInit, XSalsa20Poly1305};
        let c = cipher();
        let mut ours = Vec::new();
        c.seal_block(&Nonce([9; 24]), &[5u8; 1000], &mut ours);
        let theirs = XSalsa20Poly1305::new(&[0u8; 32].into())
            .encrypt((&[9u8; 24]).into(), &[5u8; 1000][..])
            .unwrap();
        assert_eq!(ours, theirs);
    }

    #[test]
    fn open_block_with_wrong_nonce_fails_and_leaves_out_alone() {
        let c = cipher();
        let mut sealed = Vec::new();
        c.seal_block(&Nonce([1; 24]), b"hello", &mut sealed);
        let mut out = b"keep".to_vec();
        assert!(matches!(
            c.open_block(&Nonce([2; 24]), &sealed, &mut out),
            Err(Error::Authentication)
        ));
        assert_eq!(out, b"keep");
    }

    #[test]
    fn open_block_passing_zeroes_a_bad_block_only_when_asked() {
        let strict = cipher();
        let lenient = cipher().with_pass_bad_blocks(true);
        let nonce = Nonce([3; 24]);
        let mut sealed = Vec::new();
        strict.seal_block(&nonce, b"hello block", &mut sealed);
        let mut out = Vec::new();
        assert!(lenient
            .open_block_passing(&nonce, &sealed, &mut out)
            .unwrap());
        assert_eq!(out, b"hello block");
        sealed[20] ^= 1;
        out.clear();
        assert!(!lenient
            .open_block_passing(&nonce, &sealed, &mut out)
            .unwrap());
        assert_eq!(out, [0u8; 11]);
        assert!(matches!(
            strict.open_block_passing(&nonce, &sealed, &mut out),
            Err(Error::Authentication)
        ));
    }

    #[test]
    fn open_block_shorter_than_a_tag_fails() {
        let c = cipher();
        let mut out = Vec::new();
        assert!(c.open_block(&Nonce([0; 24]), &[0; 15], &mut out).is_err());
        assert!(c.open_block(&Nonce([0; 24]), &[], &mut out).is_err());
        assert!(out.is_empty());
    }

    #[test]
    fn open_block_of_empty_plaintext() {
        let c = cipher();
        let mut sealed = Vec::new();
        c.seal_block(&Nonce([3; 24]), b"", &mut sealed);
        assert_eq!(sealed.len(), 16);
        let mut out = Vec::new();
        c.open_block(&Nonce([3; 24]), &sealed, &mut out).unwrap();
        assert!(out.is_empty());
    }
}
