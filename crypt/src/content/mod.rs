//! Content encryption: rclone's file format, streamed with bounded memory.
//!
//! An encrypted file is a 32-byte header ([`MAGIC`] `RCLONE\0\0`, then a random 24-byte
//! [`Nonce`]) followed by the plaintext cut into blocks of [`BLOCK_DATA_SIZE`] (64 KiB; the last
//! one shorter, and an empty file has no block at all). Each block is sealed with
//! XSalsa20-Poly1305 (NaCl `crypto_secretbox`, empty associated data) and stored as the 16-byte
//! tag followed by the ciphertext. Block `i` uses the file nonce plus `i`, the 24 bytes read as
//! a little-endian number. rclone writes no length and no last-block flag: sizes follow from
//! exact arithmetic ([`encrypted_size`], [`decrypted_size`]), and a size no plaintext gives is
//! refused as [`Error::ImpossibleSize`].
//!
//! [`ContentCipher`] holds the data key and builds the streams:
//!
//! - [`EncryptReader`] / [`DecryptReader`] wrap a [`Read`]; the decrypting one is also [`Seek`]
//!   (in plaintext offsets) when its source is, and then decrypts only the blocks it needs.
//! - [`EncryptWriter`] / [`DecryptWriter`] wrap a [`Write`]; each has an explicit `finish()` that
//!   MUST be called, or the output is truncated.
//! - With the `tokio` feature, `AsyncEncryptReader`, `AsyncDecryptReader` and
//!   `AsyncEncryptWriter` do the same over tokio's `AsyncRead` / `AsyncWrite`;
//!   `ContentCipher::decrypt_async_range` decrypts a plaintext range from the header and the
//!   stored blocks that hold it ([`block_range`] says which), and `ParallelStream` seals or opens
//!   a whole stream in batches on tokio's blocking pool, on all cores.
//!
//! With [`pass_bad_blocks`](ContentCipher::with_pass_bad_blocks), a block that fails
//! authentication comes out as zeroes, and the streams record its index in a [`BadBlocks`]
//! handle the caller gave them, for the caller to report: this crate never prints.
//!
//! Every stream holds one block buffer (a little over 64 KiB) whatever the file size, and that
//! buffer is wiped when the stream is dropped. One block is sealed or opened by a private core in
//! `block.rs`; [`ContentCipher::seal_block`] and [`ContentCipher::open_block`] expose it for
//! callers that manage blocks themselves.
//!
//! ```
//! use std::io::{Read, Seek, SeekFrom, Write};
//! use poof_crypt::{ContentCipher, Keys};
//!
//! let cipher = ContentCipher::new(&Keys::derive("pw", "").unwrap());
//! let mut w = cipher.encrypt_writer(Vec::new()).unwrap();
//! w.write_all(&[7u8; 100_000]).unwrap();
//! let sealed = w.finish().unwrap(); // without finish() the last block would be missing
//! assert_eq!(sealed.len() as u64, poof_crypt::content::encrypted_size(100_000));
//!
//! let mut r = cipher.decrypt_reader(std::io::Cursor::new(sealed)).unwrap();
//! r.seek(SeekFrom::Start(99_990)).unwrap();
//! let mut tail = Vec::new();
//! r.read_to_end(&mut tail).unwrap();
//! assert_eq!(tail, [7u8; 10]);
//! ```
//!
//! [`Read`]: std::io::Read
//! [`Write`]: std::io::Write
//! [`Seek`]: std::io::Seek

use std::fmt;
use std::io::{Read, Write};
use std::ops::Range;
use std::sync::{Arc, Mutex};

use rand::RngCore;

use crate::{Error, Keys, Result};

#[cfg(feature = "tokio")]
mod async_io;
mod block;
#[cfg(feature = "tokio")]
mod parallel;
mod read;
mod secretbox;
mod write;

#[cfg(feature = "tokio")]
pub use async_io::{AsyncDecryptReader, AsyncEncryptReader, AsyncEncryptWriter};
#[cfg(feature = "tokio")]
pub use parallel::{ParallelStream, BATCHES_IN_FLIGHT, BATCH_BLOCKS, PARALLEL_MIN_SIZE};
pub use read::{DecryptReader, EncryptReader};
pub use write::{DecryptWriter, EncryptWriter};

/// The 8 bytes every encrypted file starts with.
pub const MAGIC: [u8; 8] = *b"RCLONE\0\0";
/// Length of the file nonce (XSalsa20's extended nonce).
pub const NONCE_SIZE: usize = 24;
/// Length of the file header: magic, then nonce.
pub const HEADER_SIZE: usize = MAGIC.len() + NONCE_SIZE;
/// Plaintext bytes in every block but the last.
pub const BLOCK_DATA_SIZE: usize = 64 * 1024;
/// Length of the Poly1305 tag stored in front of each block's ciphertext.
pub const BLOCK_TAG_SIZE: usize = 16;
/// Stored length of a full block: tag, then ciphertext.
pub const BLOCK_SIZE: usize = BLOCK_TAG_SIZE + BLOCK_DATA_SIZE;

const HEADER_SIZE_U64: u64 = HEADER_SIZE as u64;
const BLOCK_DATA_SIZE_U64: u64 = BLOCK_DATA_SIZE as u64;
const BLOCK_TAG_SIZE_U64: u64 = BLOCK_TAG_SIZE as u64;
const BLOCK_SIZE_U64: u64 = BLOCK_SIZE as u64;

/// The encrypted size of `plain` bytes of plaintext: header, full blocks, and the last partial
/// block with its tag.
///
/// Saturates at `u64::MAX` for plaintext sizes within 0.03% of `u64::MAX` (no such file can
/// exist) instead of overflowing.
///
/// ```
/// use poof_crypt::content::{encrypted_size, HEADER_SIZE};
/// assert_eq!(encrypted_size(0), HEADER_SIZE as u64);
/// assert_eq!(encrypted_size(1), 32 + 16 + 1);
/// assert_eq!(encrypted_size(65536), 32 + 16 + 65536);
/// ```
pub fn encrypted_size(plain: u64) -> u64 {
    let full = plain / BLOCK_DATA_SIZE_U64;
    let rem = plain % BLOCK_DATA_SIZE_U64;
    let last = if rem > 0 { rem + BLOCK_TAG_SIZE_U64 } else { 0 };
    full.checked_mul(BLOCK_SIZE_U64)
        .and_then(|n| n.checked_add(HEADER_SIZE_U64))
        .and_then(|n| n.checked_add(last))
        .unwrap_or(u64::MAX)
}

/// The plaintext size of an encrypted file of `encrypted` bytes, the inverse of
/// [`encrypted_size`].
///
/// # Errors
/// [`Error::TooShort`] below [`HEADER_SIZE`] bytes; [`Error::ImpossibleSize`] when the bytes
/// after the last full block cannot be a block (1 to 16 bytes: a tag with no data, or less).
///
/// ```
/// use poof_crypt::content::decrypted_size;
/// assert_eq!(decrypted_size(32 + 16 + 1).unwrap(), 1);
/// assert!(decrypted_size(32 + 16).is_err());
/// ```
pub fn decrypted_size(encrypted: u64) -> Result<u64> {
    let body = encrypted
        .checked_sub(HEADER_SIZE_U64)
        .ok_or(Error::TooShort)?;
    let full = body / BLOCK_SIZE_U64;
    let rem = body % BLOCK_SIZE_U64;
    let last = match rem {
        0 => 0,
        r if r <= BLOCK_TAG_SIZE_U64 => return Err(Error::ImpossibleSize(encrypted)),
        r => r - BLOCK_TAG_SIZE_U64,
    };
    // `full * BLOCK_DATA_SIZE` is smaller than `body`, so neither operation can overflow.
    Ok(full * BLOCK_DATA_SIZE_U64 + last)
}

/// Where a plaintext range lies in an encrypted file: what to read, and where in it the range
/// starts. Built by [`block_range`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlockRange {
    /// The stored bytes of the blocks holding the range (offsets in the encrypted file, header
    /// included). A reader also needs the header, the first [`HEADER_SIZE`] bytes.
    pub stored: Range<u64>,
    /// The index of the first of those blocks.
    pub first_block: u64,
    /// The offset of the range's start inside that block's plaintext.
    pub skip: usize,
}

/// The blocks holding the plaintext range `plain` of an encrypted file (see [`BlockRange`]).
///
/// The stored range may run past the end of a shorter file (clip it to the file's size before
/// asking a store for exactly those bytes). An empty range gives an empty stored range at the
/// block holding its start. Offsets near `u64::MAX` saturate rather than overflow.
///
/// ```
/// use poof_crypt::content::{block_range, BLOCK_SIZE};
/// let r = block_range(65_536 + 10..65_536 + 20);
/// assert_eq!((r.first_block, r.skip), (1, 10));
/// assert_eq!(r.stored, 32 + BLOCK_SIZE as u64..32 + 2 * BLOCK_SIZE as u64);
/// ```
pub fn block_range(plain: Range<u64>) -> BlockRange {
    let first = plain.start / BLOCK_DATA_SIZE_U64;
    let skip = (plain.start % BLOCK_DATA_SIZE_U64) as usize;
    let offset = |block: u64| HEADER_SIZE_U64.saturating_add(block.saturating_mul(BLOCK_SIZE_U64));
    let from = offset(first);
    let to = match plain.end.checked_sub(1) {
        Some(last) if plain.end > plain.start => {
            offset((last / BLOCK_DATA_SIZE_U64).saturating_add(1))
        }
        _ => from,
    };
    BlockRange {
        stored: from..to,
        first_block: first,
        skip,
    }
}

/// The blocks a decrypting stream passed on as zeroes under
/// [`pass_bad_blocks`](ContentCipher::with_pass_bad_blocks), by index (block 0 holds the first
/// 64 KiB of plaintext). The caller gives a handle to the stream and reads it back with
/// [`take`](BadBlocks::take), or builds it with [`calling`](BadBlocks::calling) to hear of each
/// block as it is opened; either way the caller does the reporting.
///
/// Cheap to clone: clones share the record.
#[derive(Clone, Default)]
pub struct BadBlocks(Arc<BadBlocksInner>);

#[derive(Default)]
struct BadBlocksInner {
    seen: Mutex<Vec<u64>>,
    call: Option<Box<dyn Fn(u64) + Send + Sync>>,
}

impl fmt::Debug for BadBlocks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let seen = self.0.seen.lock().map(|s| s.len()).unwrap_or(0);
        f.debug_struct("BadBlocks")
            .field("recorded", &seen)
            .finish()
    }
}

impl BadBlocks {
    /// An empty record, read back with [`take`](BadBlocks::take).
    pub fn new() -> BadBlocks {
        BadBlocks::default()
    }

    /// A handle that calls `report` with each bad block's index instead of recording it (on
    /// whatever thread opened the block).
    pub fn calling(report: impl Fn(u64) + Send + Sync + 'static) -> BadBlocks {
        BadBlocks(Arc::new(BadBlocksInner {
            seen: Mutex::new(Vec::new()),
            call: Some(Box::new(report)),
        }))
    }

    /// The indexes recorded since the last call, in the order the blocks were opened.
    pub fn take(&self) -> Vec<u64> {
        self.0
            .seen
            .lock()
            .map(|mut seen| std::mem::take(&mut *seen))
            .unwrap_or_default()
    }

    /// Records (or reports) block `index`.
    pub(crate) fn record(&self, index: u64) {
        match &self.0.call {
            Some(call) => call(index),
            None => {
                if let Ok(mut seen) = self.0.seen.lock() {
                    seen.push(index);
                }
            }
        }
    }
}

/// A 24-byte XSalsa20 nonce: the file nonce from the header, or the nonce of one block (the
/// file nonce plus the block index, as a little-endian number that wraps at 2^192).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Nonce(pub [u8; NONCE_SIZE]);

impl Nonce {
    /// A fresh nonce from the operating system's random source, for a new file.
    pub fn random() -> Nonce {
        let mut bytes = [0u8; NONCE_SIZE];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        Nonce(bytes)
    }

    /// Adds one, carrying through all 24 bytes (little-endian); wraps at 2^192.
    pub fn increment(&mut self) {
        for byte in &mut self.0 {
            *byte = byte.wrapping_add(1);
            if *byte != 0 {
                break;
            }
        }
    }

    /// This nonce plus `blocks` (little-endian, with carry through all 24 bytes; wraps at
    /// 2^192): the nonce of block `blocks` when `self` is the file nonce.
    ///
    /// ```
    /// use poof_crypt::Nonce;
    /// let mut n = Nonce([0xff; 24]);
    /// n.0[2] = 0;
    /// let mut expected = [0u8; 24];
    /// expected[2] = 1;
    /// expected[3..].fill(0xff);
    /// assert_eq!(n.add(1), Nonce(expected));
    /// ```
    pub fn add(&self, blocks: u64) -> Nonce {
        let mut out = *self;
        // `carry` holds what is still to be added at the current byte: the rest of `blocks`
        // plus the carry out of the previous byte. It never exceeds 2^64 + 1.
        let mut carry = u128::from(blocks);
        for byte in &mut out.0 {
            if carry == 0 {
                break;
            }
            let sum = u128::from(*byte) + (carry & 0xff);
            *byte = (sum & 0xff) as u8;
            carry = (carry >> 8) + (sum >> 8);
        }
        out
    }

    /// Reads the file nonce from a header: the first [`HEADER_SIZE`] bytes of `header` (any
    /// bytes after them are ignored).
    ///
    /// # Errors
    /// [`Error::TooShort`] when `header` has fewer than [`HEADER_SIZE`] bytes;
    /// [`Error::BadMagic`] when it does not start with [`MAGIC`].
    pub fn from_header(header: &[u8]) -> Result<Nonce> {
        let header = header.get(..HEADER_SIZE).ok_or(Error::TooShort)?;
        let (magic, nonce) = header.split_at(MAGIC.len());
        if magic != MAGIC {
            return Err(Error::BadMagic);
        }
        let mut bytes = [0u8; NONCE_SIZE];
        bytes.copy_from_slice(nonce);
        Ok(Nonce(bytes))
    }

    /// The file header carrying this nonce: [`MAGIC`], then the 24 nonce bytes.
    pub fn header(&self) -> [u8; HEADER_SIZE] {
        let mut out = [0u8; HEADER_SIZE];
        out[..MAGIC.len()].copy_from_slice(&MAGIC);
        out[MAGIC.len()..].copy_from_slice(&self.0);
        out
    }
}

/// Seals and opens file contents with the data key of a crypt remote.
///
/// Cheap to clone; the key is wiped when the last copy is dropped (the secretbox primitive
/// zeroizes its key on drop). `Debug` shows the settings, never the key.
#[derive(Clone)]
pub struct ContentCipher {
    aead: secretbox::SecretBox,
    pass_bad_blocks: bool,
}

impl fmt::Debug for ContentCipher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ContentCipher")
            .field("pass_bad_blocks", &self.pass_bad_blocks)
            .finish_non_exhaustive()
    }
}

impl ContentCipher {
    /// The content cipher of the remote whose keys are `keys` (it uses the data key).
    pub fn new(keys: &Keys) -> ContentCipher {
        ContentCipher {
            aead: secretbox::SecretBox::new(keys.data_key()),
            pass_bad_blocks: false,
        }
    }

    /// rclone's `pass_bad_blocks`: when `pass` is true, decrypting streams turn a block that
    /// fails authentication into zeroes of the block's length (and count it, see
    /// [`DecryptReader::bad_blocks`]) instead of failing. A file too short or of an impossible
    /// size still fails. [`ContentCipher::open_block`] is not affected.
    pub fn with_pass_bad_blocks(mut self, pass: bool) -> ContentCipher {
        self.pass_bad_blocks = pass;
        self
    }

    /// Whether decrypting streams pass bad blocks as zeroes; see
    /// [`with_pass_bad_blocks`](ContentCipher::with_pass_bad_blocks).
    pub fn pass_bad_blocks(&self) -> bool {
        self.pass_bad_blocks
    }

    /// Encrypts what `inner` yields into an encrypted file under a fresh random nonce.
    pub fn encrypt_reader<R: Read>(&self, inner: R) -> EncryptReader<R> {
        self.encrypt_reader_with_nonce(inner, Nonce::random())
    }

    /// Encrypts what `inner` yields under the given file `nonce`. Reusing a nonce with the
    /// same key breaks the encryption: only pass the nonce of an existing encrypted file, to
    /// reproduce it (as `rclone cryptcheck` does).
    pub fn encrypt_reader_with_nonce<R: Read>(&self, inner: R, nonce: Nonce) -> EncryptReader<R> {
        EncryptReader::new(self, inner, nonce)
    }

    /// Decrypts the encrypted file `inner` yields; reads and checks its header first.
    ///
    /// # Errors
    /// [`Error::TooShort`] if `inner` ends within the header, [`Error::BadMagic`] if the data
    /// is not an encrypted file, [`Error::Io`] if reading fails.
    pub fn decrypt_reader<R: Read>(&self, inner: R) -> Result<DecryptReader<R>> {
        DecryptReader::new(self, inner)
    }

    /// Writes an encrypted file into `inner` under a fresh random nonce; writes the header
    /// at once. Call [`EncryptWriter::finish`] at the end, or the file is truncated.
    ///
    /// # Errors
    /// [`Error::Io`] if writing the header fails.
    pub fn encrypt_writer<W: Write>(&self, inner: W) -> Result<EncryptWriter<W>> {
        self.encrypt_writer_with_nonce(inner, Nonce::random())
    }

    /// Writes an encrypted file into `inner` under the given file `nonce` (see
    /// [`encrypt_reader_with_nonce`](ContentCipher::encrypt_reader_with_nonce) for when that
    /// is safe); writes the header at once. Call [`EncryptWriter::finish`] at the end.
    ///
    /// # Errors
    /// [`Error::Io`] if writing the header fails.
    pub fn encrypt_writer_with_nonce<W: Write>(
        &self,
        inner: W,
        nonce: Nonce,
    ) -> Result<EncryptWriter<W>> {
        EncryptWriter::new(self, inner, nonce)
    }

    /// Decrypts an encrypted file written into the returned writer, passing the plaintext to
    /// `inner`. Call [`DecryptWriter::finish`] at the end: it reports a truncated file.
    pub fn decrypt_writer<W: Write>(&self, inner: W) -> DecryptWriter<W> {
        DecryptWriter::new(self, inner)
    }
}

/// A cipher with a given data key, for tests that need two different keys.
#[cfg(test)]
pub(crate) fn test_cipher(key: u8) -> ContentCipher {
    ContentCipher {
        aead: secretbox::SecretBox::new(&[key; 32]),
        pass_bad_blocks: false,
    }
}

/// What the unit tests of the content streams share.
#[cfg(test)]
pub(crate) mod testing {
    use super::ContentCipher;
    use crate::Keys;

    /// Plaintext sizes at the block edges, and a few blocks with a partial last one.
    pub(crate) const SIZES: [usize; 6] = [0, 1, 65535, 65536, 65537, 3 * 65536 + 7];

    /// The content cipher of the empty password.
    pub(crate) fn cipher() -> ContentCipher {
        ContentCipher::new(&Keys::derive("", "").unwrap())
    }

    /// `len` bytes of plaintext that do not repeat with the block size.
    pub(crate) fn plaintext(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i * 31 + i / 257) as u8).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn block_range_inside_first_block() {
        let one = HEADER_SIZE_U64..HEADER_SIZE_U64 + BLOCK_SIZE_U64;
        assert_eq!(block_range(0..1).stored, one);
        let r = block_range(10..20);
        assert_eq!((r.stored, r.first_block, r.skip), (one, 0, 10));
    }

    #[test]
    fn block_range_across_a_boundary() {
        let (b, s) = (BLOCK_DATA_SIZE_U64, BLOCK_SIZE_U64);
        let r = block_range(b - 1..b + 1);
        assert_eq!(
            (r.stored, r.first_block, r.skip),
            (32..32 + 2 * s, 0, b as usize - 1)
        );
        let r = block_range(b..2 * b);
        assert_eq!(
            (r.stored, r.first_block, r.skip),
            (32 + s..32 + 2 * s, 1, 0)
        );
        let r = block_range(2 * b + 5..2 * b + 6);
        assert_eq!(
            (r.stored, r.first_block, r.skip),
            (32 + 2 * s..32 + 3 * s, 2, 5)
        );
    }

    #[test]
    fn block_range_of_an_empty_range_is_empty() {
        let b = BLOCK_DATA_SIZE_U64;
        for (start, end) in [(0, 0), (5, 5), (b, b), (b + 3, 2), (u64::MAX, u64::MAX)] {
            let r = block_range(start..end);
            assert!(r.stored.is_empty(), "{start}..{end}");
            assert_eq!(r.first_block, start / b);
        }
    }

    #[test]
    fn block_range_at_the_end_of_u64_saturates() {
        let r = block_range(u64::MAX - 1..u64::MAX);
        assert!(r.stored.start <= r.stored.end);
        assert_eq!(r.first_block, (u64::MAX - 1) / BLOCK_DATA_SIZE_U64);
        assert_eq!(r.skip as u64, (u64::MAX - 1) % BLOCK_DATA_SIZE_U64);
    }

    #[test]
    fn bad_blocks_record_take_and_call() {
        let bad = BadBlocks::new();
        bad.clone().record(3);
        bad.record(7);
        assert_eq!(bad.take(), [3, 7]);
        assert!(bad.take().is_empty());
        let heard = Arc::new(Mutex::new(Vec::new()));
        let sink = heard.clone();
        let calling = BadBlocks::calling(move |i| sink.lock().unwrap().push(i));
        calling.record(9);
        assert!(calling.take().is_empty());
        assert_eq!(*heard.lock().unwrap(), [9]);
    }

    #[test]
    fn header_size_is_thirty_two() {
        assert_eq!(HEADER_SIZE, 32);
        assert_eq!(BLOCK_SIZE, 65536 + 16);
    }

    #[test]
    fn encrypted_size_edge_cases() {
        assert_eq!(encrypted_size(0), 32);
        assert_eq!(encrypted_size(1), 49);
        assert_eq!(encrypted_size(65535), 32 + 16 + 65535);
        assert_eq!(encrypted_size(65536), 32 + 65552);
        assert_eq!(encrypted_size(65537), 32 + 65552 + 17);
        assert_eq!(encrypted_size(3 * 65536 + 7), 32 + 3 * 65552 + 23);
    }

    #[test]
    fn encrypted_size_saturates_instead_of_overflowing() {
        assert_eq!(encrypted_size(u64::MAX), u64::MAX);
        assert_eq!(encrypted_size(u64::MAX - 65536 * 100), u64::MAX);
    }

    #[test]
    fn decrypted_size_inverts_encrypted_size() {
        for plain in [
            0,
            1,
            15,
            16,
            17,
            65535,
            65536,
            65537,
            131072,
            131077,
            3 * 65536 + 7,
        ] {
            assert_eq!(
                decrypted_size(encrypted_size(plain)).unwrap(),
                plain,
                "{plain}"
            );
        }
    }

    #[test]
    fn decrypted_size_of_largest_input_does_not_overflow() {
        let _ = decrypted_size(u64::MAX);
        let largest = decrypted_size(u64::MAX - (u64::MAX - 32) % 65552).unwrap();
        assert_eq!(encrypted_size(largest), u64::MAX - (u64::MAX - 32) % 65552);
    }

    #[test]
    fn decrypted_size_below_header_is_too_short() {
        for n in [0, 1, 31] {
            assert!(matches!(decrypted_size(n), Err(Error::TooShort)), "{n}");
        }
    }

    #[test]
    fn decrypted_size_of_lone_tag_is_impossible() {
        for rem in 1..=16u64 {
            let n = 32 + rem;
            assert!(matches!(decrypted_size(n), Err(Error::ImpossibleSize(m)) if m == n));
            let n = 32 + 2 * 65552 + rem;
            assert!(matches!(decrypted_size(n), Err(Error::ImpossibleSize(m)) if m == n));
        }
        assert_eq!(decrypted_size(32 + 17).unwrap(), 1);
    }

    #[test]
    fn nonce_increment_carries_through_bytes() {
        let mut n = Nonce([0; 24]);
        n.0[0] = 0xff;
        n.0[1] = 0xff;
        n.increment();
        let mut expected = [0u8; 24];
        expected[2] = 1;
        assert_eq!(n, Nonce(expected));
    }

    #[test]
    fn nonce_increment_wraps_at_the_top() {
        let mut n = Nonce([0xff; 24]);
        n.increment();
        assert_eq!(n, Nonce([0; 24]));
    }

    #[test]
    fn nonce_add_matches_repeated_increment() {
        let mut start = Nonce([0; 24]);
        start.0[0] = 0xfe;
        start.0[1] = 0xff;
        start.0[2] = 0x7f;
        let mut stepped = start;
        for k in 0..70_000u64 {
            assert_eq!(start.add(k), stepped, "{k}");
            stepped.increment();
        }
    }

    #[test]
    fn nonce_add_carries_past_the_first_eight_bytes() {
        let mut start = Nonce([0; 24]);
        start.0[..8].fill(0xff);
        start.0[8] = 0xff;
        let n = start.add(2);
        let mut expected = [0u8; 24];
        expected[0] = 1;
        expected[9] = 1;
        assert_eq!(n, Nonce(expected));
        assert_eq!(
            Nonce([0xff; 24]).add(u64::MAX).0[..8],
            [0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]
        );
        assert_eq!(Nonce([0xff; 24]).add(u64::MAX).0[8..], [0u8; 16]);
    }

    #[test]
    fn nonce_header_round_trip() {
        let n = Nonce::random();
        let h = n.header();
        assert_eq!(&h[..8], b"RCLONE\0\0");
        assert_eq!(Nonce::from_header(&h).unwrap(), n);
        let mut longer = h.to_vec();
        longer.extend_from_slice(b"block data");
        assert_eq!(Nonce::from_header(&longer).unwrap(), n);
    }

    #[test]
    fn nonce_from_short_header_is_too_short() {
        let h = Nonce::random().header();
        assert!(matches!(Nonce::from_header(&h[..31]), Err(Error::TooShort)));
        assert!(matches!(Nonce::from_header(&[]), Err(Error::TooShort)));
    }

    #[test]
    fn nonce_from_header_with_bad_magic() {
        let mut h = Nonce::random().header();
        h[6] = b'X';
        assert!(matches!(Nonce::from_header(&h), Err(Error::BadMagic)));
    }

    #[test]
    fn random_nonces_differ() {
        assert_ne!(Nonce::random(), Nonce::random());
    }

    #[test]
    fn cipher_debug_hides_the_key() {
        let keys = Keys::derive("", "").unwrap();
        let c = ContentCipher::new(&keys).with_pass_bad_blocks(true);
        assert!(c.pass_bad_blocks());
        assert_eq!(
            format!("{c:?}"),
            "ContentCipher { pass_bad_blocks: true, .. }"
        );
    }
}
