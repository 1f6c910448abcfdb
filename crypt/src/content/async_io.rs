//! tokio adapters (feature `tokio`): [`AsyncEncryptReader`] and [`AsyncDecryptReader`]
//! implement `AsyncRead`, [`AsyncEncryptWriter`] implements `AsyncWrite`.
//!
//! [`ContentCipher::decrypt_async_range`] is the ranged form of [`AsyncDecryptReader`]: it
//! takes the header and then only the stored blocks holding a plaintext range (see
//! [`block_range`](super::block_range)), as a ranged read from a store gives them, and yields
//! exactly that range.
//!
//! They drive the same block core (`block.rs`) as the blocking streams, so output is byte for
//! byte the same and memory is one block per stream. The inner reader or writer must be
//! `Unpin` (box and pin it otherwise: `Box::pin(r)` is `Unpin`). [`AsyncDecryptReader`] reads
//! and checks the header on its first poll. [`AsyncEncryptWriter`] seals its last block in
//! `poll_shutdown`: call `shutdown().await` (from `tokio::io::AsyncWriteExt`) when done, or the
//! file is truncated; shutdown also shuts the inner writer down.
//!
//! ```
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! use tokio::io::{AsyncReadExt, AsyncWriteExt};
//! use poof_crypt::{ContentCipher, Keys};
//!
//! let cipher = ContentCipher::new(&Keys::derive("pw", "").unwrap());
//! let mut w = cipher.encrypt_async_writer(Vec::new());
//! w.write_all(b"hello").await.unwrap();
//! w.shutdown().await.unwrap();
//! let sealed = w.into_inner();
//!
//! let mut plain = Vec::new();
//! cipher.decrypt_async_reader(&sealed[..]).read_to_end(&mut plain).await.unwrap();
//! assert_eq!(plain, b"hello");
//! # });
//! ```

use std::io;
use std::ops::Range;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use super::block::{Core, Opener, Sealer};
use super::{block_range, BadBlocks, ContentCipher, Nonce};
use crate::Error;

impl ContentCipher {
    /// Encrypts what `inner` yields under a fresh random nonce (async form of
    /// [`ContentCipher::encrypt_reader`]).
    pub fn encrypt_async_reader<R: AsyncRead + Unpin>(&self, inner: R) -> AsyncEncryptReader<R> {
        self.encrypt_async_reader_with_nonce(inner, Nonce::random())
    }

    /// Encrypts what `inner` yields under the given file `nonce` (see
    /// [`ContentCipher::encrypt_reader_with_nonce`] for when that is safe).
    pub fn encrypt_async_reader_with_nonce<R: AsyncRead + Unpin>(
        &self,
        inner: R,
        nonce: Nonce,
    ) -> AsyncEncryptReader<R> {
        AsyncEncryptReader {
            inner,
            core: Sealer::new(self, nonce),
            left: u64::MAX,
        }
    }

    /// Decrypts the encrypted file `inner` yields (async form of
    /// [`ContentCipher::decrypt_reader`]); the header is read and checked on the first poll,
    /// so a bad header shows up as a read error.
    pub fn decrypt_async_reader<R: AsyncRead + Unpin>(&self, inner: R) -> AsyncDecryptReader<R> {
        AsyncDecryptReader {
            inner,
            core: Opener::new(self),
            left: u64::MAX,
        }
    }

    /// Decrypts the plaintext range `range` of an encrypted file from `inner`, which yields
    /// the file's header (its first [`HEADER_SIZE`](super::HEADER_SIZE) bytes) and then the
    /// stored bytes from `block_range(range).stored.start` on: the blocks holding the range,
    /// and no others need be read. Reading it gives the range's plaintext, shorter only where
    /// the file ends before `range.end`; an empty range reads nothing at all.
    ///
    /// Errors are as for [`decrypt_async_reader`](Self::decrypt_async_reader), shown as read
    /// errors: a bad header, or a block that fails authentication (unless passed on, see
    /// [`AsyncDecryptReader::with_bad_blocks`]) or is cut short.
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// use tokio::io::AsyncReadExt;
    /// use poof_crypt::{content::block_range, ContentCipher, Keys};
    ///
    /// let cipher = ContentCipher::new(&Keys::derive("pw", "").unwrap());
    /// let plain: Vec<u8> = (0..200_000u32).map(|i| i as u8).collect();
    /// let sealed = cipher.encrypt_bytes(&plain);
    ///
    /// // What a ranged read from a store would fetch: the header, then the blocks needed.
    /// let want = 100_000..100_010u64;
    /// let stored = block_range(want.clone()).stored;
    /// let body = &sealed[stored.start as usize..stored.end as usize];
    /// let input = AsyncReadExt::chain(&sealed[..32], body);
    /// let mut got = Vec::new();
    /// cipher.decrypt_async_range(input, want).read_to_end(&mut got).await.unwrap();
    /// assert_eq!(got, &plain[100_000..100_010]);
    /// # });
    /// ```
    pub fn decrypt_async_range<R: AsyncRead + Unpin>(
        &self,
        inner: R,
        range: Range<u64>,
    ) -> AsyncDecryptReader<R> {
        let mut core = Opener::new(self);
        let blocks = block_range(range.clone());
        core.starting_at(blocks.first_block, blocks.skip);
        AsyncDecryptReader {
            inner,
            core,
            left: range.end.saturating_sub(range.start),
        }
    }

    /// Writes an encrypted file into `inner` under a fresh random nonce (async form of
    /// [`ContentCipher::encrypt_writer`]). The header goes out with the first write or at
    /// shutdown; shutdown MUST be called, or the file is truncated.
    pub fn encrypt_async_writer<W: AsyncWrite + Unpin>(&self, inner: W) -> AsyncEncryptWriter<W> {
        self.encrypt_async_writer_with_nonce(inner, Nonce::random())
    }

    /// Writes an encrypted file into `inner` under the given file `nonce` (see
    /// [`ContentCipher::encrypt_reader_with_nonce`] for when that is safe).
    pub fn encrypt_async_writer_with_nonce<W: AsyncWrite + Unpin>(
        &self,
        inner: W,
        nonce: Nonce,
    ) -> AsyncEncryptWriter<W> {
        AsyncEncryptWriter {
            inner,
            core: Sealer::new(self, nonce),
        }
    }
}

/// Drives a core from an `AsyncRead` source into `out`, handing out at most `limit` bytes;
/// the bytes handed out (0 at the end of the output).
fn poll_read_via<C: Core, R: AsyncRead + Unpin>(
    core: &mut C,
    inner: &mut R,
    cx: &mut Context<'_>,
    out: &mut ReadBuf<'_>,
    limit: u64,
) -> Poll<io::Result<usize>> {
    let room = out
        .remaining()
        .min(usize::try_from(limit).unwrap_or(usize::MAX));
    if room == 0 {
        return Poll::Ready(Ok(0));
    }
    loop {
        core.check().map_err(Error::into_io)?;
        let available = core.output();
        if !available.is_empty() {
            let n = available.len().min(room);
            if let Some(chunk) = available.get(..n) {
                out.put_slice(chunk);
            }
            core.consume(n);
            return Poll::Ready(Ok(n));
        }
        if core.done() {
            return Poll::Ready(Ok(0));
        }
        let mut space = ReadBuf::new(core.input_space());
        ready!(Pin::new(&mut *inner).poll_read(cx, &mut space))?;
        let n = space.filled().len();
        core.input(n).map_err(Error::into_io)?;
    }
}

/// Writes a core's pending output into an `AsyncWrite`.
fn poll_drain<C: Core, W: AsyncWrite + Unpin>(
    core: &mut C,
    inner: &mut W,
    cx: &mut Context<'_>,
) -> Poll<io::Result<()>> {
    while !core.output().is_empty() {
        let n = ready!(Pin::new(&mut *inner).poll_write(cx, core.output()))?;
        if n == 0 {
            return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
        }
        core.consume(n);
    }
    Poll::Ready(Ok(()))
}

/// Async form of [`EncryptReader`](super::EncryptReader): reading it gives the encrypted file.
pub struct AsyncEncryptReader<R> {
    inner: R,
    core: Sealer,
    /// Encrypted bytes still to hand out: all of them.
    left: u64,
}

impl<R> AsyncEncryptReader<R> {
    /// The file nonce, as written in the header.
    pub fn nonce(&self) -> Nonce {
        self.core.nonce()
    }
}

/// Async form of [`DecryptReader`](super::DecryptReader): reading it gives the plaintext (of
/// the whole file, or of a range: [`ContentCipher::decrypt_async_range`]). Errors (bad header,
/// authentication, truncation) come as `std::io::Error`; recover them with
/// [`Error::from_io`].
pub struct AsyncDecryptReader<R> {
    inner: R,
    core: Opener,
    /// Plaintext bytes still to hand out (`u64::MAX` for a whole file).
    left: u64,
}

impl<R> AsyncDecryptReader<R> {
    /// The file nonce, once the header has been read.
    pub fn nonce(&self) -> Option<Nonce> {
        self.core.nonce()
    }

    /// How many blocks failed authentication and were passed as zeroes.
    pub fn bad_blocks(&self) -> u64 {
        self.core.bad_blocks()
    }

    /// Records the index of each block passed on as zeroes (with
    /// [`pass_bad_blocks`](ContentCipher::with_pass_bad_blocks)) in `report`, for the caller
    /// to report: this crate never prints.
    pub fn with_bad_blocks(mut self, report: BadBlocks) -> Self {
        self.core.report_to(report);
        self
    }
}

/// `into_inner` and `AsyncRead` for an async reader: it hands out its core's output, at most
/// `left` bytes of it.
macro_rules! async_reader {
    ($reader:ident) => {
        impl<R> $reader<R> {
            /// Gives back the inner reader.
            pub fn into_inner(self) -> R {
                self.inner
            }
        }

        impl<R: AsyncRead + Unpin> AsyncRead for $reader<R> {
            fn poll_read(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &mut ReadBuf<'_>,
            ) -> Poll<io::Result<()>> {
                let this = self.get_mut();
                let (core, inner) = (&mut this.core, &mut this.inner);
                let n = ready!(poll_read_via(core, inner, cx, buf, this.left))?;
                this.left -= n as u64;
                Poll::Ready(Ok(()))
            }
        }
    };
}

async_reader!(AsyncEncryptReader);
async_reader!(AsyncDecryptReader);

/// Async form of [`EncryptWriter`](super::EncryptWriter). `poll_shutdown` seals the last block
/// and shuts the inner writer down: it MUST be called, or the file is truncated.
pub struct AsyncEncryptWriter<W> {
    inner: W,
    core: Sealer,
}

impl<W> AsyncEncryptWriter<W> {
    /// The file nonce, as written in the header.
    pub fn nonce(&self) -> Nonce {
        self.core.nonce()
    }

    /// The inner writer.
    pub fn get_ref(&self) -> &W {
        &self.inner
    }

    /// Gives back the inner writer (after shutdown, it holds the complete file).
    pub fn into_inner(self) -> W {
        self.inner
    }
}

impl<W: AsyncWrite + Unpin> AsyncWrite for AsyncEncryptWriter<W> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        ready!(poll_drain(&mut this.core, &mut this.inner, cx))?;
        if data.is_empty() {
            return Poll::Ready(Ok(0));
        }
        let space = this.core.input_space();
        let n = space.len().min(data.len());
        if let (Some(dst), Some(src)) = (space.get_mut(..n), data.get(..n)) {
            dst.copy_from_slice(src);
        }
        this.core.input(n).map_err(Error::into_io)?;
        Poll::Ready(Ok(n))
    }

    /// Writes the complete blocks sealed so far and flushes the inner writer; an incomplete
    /// block stays buffered until shutdown.
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        ready!(poll_drain(&mut this.core, &mut this.inner, cx))?;
        Pin::new(&mut this.inner).poll_flush(cx)
    }

    /// Seals the last block, writes everything still buffered and shuts the inner writer down.
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        ready!(poll_drain(&mut this.core, &mut this.inner, cx))?;
        // Ending the input is idempotent, so a shutdown polled again after Pending is fine.
        this.core.input(0).map_err(Error::into_io)?;
        ready!(poll_drain(&mut this.core, &mut this.inner, cx))?;
        Pin::new(&mut this.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::content::testing::{cipher, plaintext, SIZES};
    use crate::content::{encrypted_size, BLOCK_DATA_SIZE, BLOCK_SIZE, HEADER_SIZE};
    use std::io::Read;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[tokio::test(flavor = "current_thread")]
    async fn async_round_trip_edge_sizes() {
        let c = cipher();
        for size in SIZES {
            let plain = plaintext(size);
            let mut sealed = Vec::new();
            c.encrypt_async_reader(&plain[..])
                .read_to_end(&mut sealed)
                .await
                .unwrap();
            assert_eq!(sealed.len() as u64, encrypted_size(size as u64));
            let mut back = Vec::new();
            c.decrypt_async_reader(&sealed[..])
                .read_to_end(&mut back)
                .await
                .unwrap();
            assert_eq!(back, plain, "{size}");
        }
    }

    #[tokio::test(flavor = "current_thread")]
    async fn async_writer_matches_blocking_reader() {
        let c = cipher();
        for size in SIZES {
            let plain = plaintext(size);
            let nonce = Nonce::random();
            let mut w = c.encrypt_async_writer_with_nonce(Vec::new(), nonce);
            for piece in plain.chunks(10_000) {
                w.write_all(piece).await.unwrap();
            }
            w.shutdown().await.unwrap();
            let from_async = w.into_inner();
            let mut from_sync = Vec::new();
            c.encrypt_reader_with_nonce(&plain[..], nonce)
                .read_to_end(&mut from_sync)
                .unwrap();
            assert_eq!(from_async, from_sync, "{size}");
        }
    }

    #[tokio::test(flavor = "current_thread")]
    async fn async_pipe_with_small_reads() {
        // Through an in-memory duplex pipe: the writer side runs concurrently and the reader
        // sees data in small, uneven pieces.
        let c = cipher();
        let plain = plaintext(3 * 65536 + 7);
        let (tx, rx) = tokio::io::duplex(1000);
        let writer = {
            let c = c.clone();
            let plain = plain.clone();
            async move {
                let mut w = c.encrypt_async_writer(tx);
                w.write_all(&plain).await.unwrap();
                w.shutdown().await.unwrap();
            }
        };
        let reader = async {
            let mut r = c.decrypt_async_reader(rx);
            let mut out = Vec::new();
            let mut byte = [0u8; 333];
            loop {
                let n = r.read(&mut byte).await.unwrap();
                if n == 0 {
                    break;
                }
                out.extend_from_slice(&byte[..n]);
            }
            out
        };
        let ((), out) = tokio::join!(writer, reader);
        assert_eq!(out, plain);
    }

    #[tokio::test(flavor = "current_thread")]
    async fn async_decrypt_errors() {
        let c = cipher();
        let mut sealed = Vec::new();
        c.encrypt_async_reader(&plaintext(65536 + 100)[..])
            .read_to_end(&mut sealed)
            .await
            .unwrap();

        let mut out = Vec::new();
        let err = c
            .decrypt_async_reader(&sealed[..20])
            .read_to_end(&mut out)
            .await
            .unwrap_err();
        assert!(matches!(Error::from_io(err), Error::TooShort));

        let mut bad = sealed.clone();
        bad[0] = b'X';
        let err = c
            .decrypt_async_reader(&bad[..])
            .read_to_end(&mut out)
            .await
            .unwrap_err();
        assert!(matches!(Error::from_io(err), Error::BadMagic));

        let mut bad = sealed.clone();
        bad[32 + BLOCK_SIZE + 3] ^= 1;
        let err = c
            .decrypt_async_reader(&bad[..])
            .read_to_end(&mut out)
            .await
            .unwrap_err();
        assert!(matches!(Error::from_io(err), Error::Authentication));

        let err = c
            .decrypt_async_reader(&sealed[..32 + BLOCK_SIZE + 5])
            .read_to_end(&mut out)
            .await
            .unwrap_err();
        assert!(matches!(Error::from_io(err), Error::ImpossibleSize(_)));
    }

    #[tokio::test(flavor = "current_thread")]
    async fn async_pass_bad_blocks() {
        let c = cipher().with_pass_bad_blocks(true);
        let plain = plaintext(65536 + 100);
        let mut sealed = Vec::new();
        c.encrypt_reader(&plain[..])
            .read_to_end(&mut sealed)
            .unwrap();
        sealed[40] ^= 1;
        let mut r = c.decrypt_async_reader(&sealed[..]);
        let mut out = Vec::new();
        r.read_to_end(&mut out).await.unwrap();
        assert_eq!(r.bad_blocks(), 1);
        assert!(out[..65536].iter().all(|&b| b == 0));
        assert_eq!(&out[65536..], &plain[65536..]);
    }

    /// Reads `range` of the file `sealed` as a store's ranged reads would give it: the header,
    /// then the stored blocks holding the range (clipped to the file).
    async fn read_range(
        c: &ContentCipher,
        sealed: &[u8],
        range: Range<u64>,
    ) -> io::Result<Vec<u8>> {
        let stored = block_range(range.clone()).stored;
        let end = (stored.end as usize).min(sealed.len());
        let body = sealed.get(stored.start as usize..end).unwrap_or_default();
        let header = sealed.get(..HEADER_SIZE).unwrap_or(sealed);
        let mut out = Vec::new();
        c.decrypt_async_range(AsyncReadExt::chain(header, body), range)
            .read_to_end(&mut out)
            .await
            .map(|_| out)
    }

    #[tokio::test(flavor = "current_thread")]
    async fn ranged_round_trips_at_block_edges() {
        let c = cipher();
        let b = BLOCK_DATA_SIZE;
        for size in SIZES {
            let plain = plaintext(size);
            let sealed = c.encrypt_bytes(&plain);
            for (start, end) in [
                (0, 1),
                (1, 5),
                (0, size),
                (b - 1, b + 1),
                (b, 2 * b),
                (b + 3, 3 * b),
                (size.saturating_sub(1), size),
                (size, size + 5),
                (7, 7),
            ] {
                let want = plain
                    .get(start.min(size)..end.min(size))
                    .unwrap_or_default();
                let got = read_range(&c, &sealed, start as u64..end as u64).await;
                assert_eq!(got.unwrap(), want, "size {size} range {start}..{end}");
            }
        }
    }

    #[tokio::test(flavor = "current_thread")]
    async fn ranged_errors_and_bad_blocks() {
        let c = cipher();
        let b = BLOCK_DATA_SIZE as u64;
        let plain = plaintext(3 * BLOCK_DATA_SIZE + 7);
        let sealed = c.encrypt_bytes(&plain);
        let mut damaged = sealed.clone();
        damaged[HEADER_SIZE + 2 * BLOCK_SIZE + 3] ^= 1;
        let err = read_range(&c, &damaged, 2 * b + 1..2 * b + 9)
            .await
            .unwrap_err();
        assert!(matches!(Error::from_io(err), Error::Authentication));
        // The blocks before the damaged one are not read, so they decrypt.
        let got = read_range(&c, &damaged, b..2 * b).await.unwrap();
        assert_eq!(got, &plain[BLOCK_DATA_SIZE..2 * BLOCK_DATA_SIZE]);
        let mut magic = sealed.clone();
        magic[1] = b'X';
        let err = read_range(&c, &magic, b..b + 1).await.unwrap_err();
        assert!(matches!(Error::from_io(err), Error::BadMagic));
        let err = read_range(&c, &sealed[..20], 0..1).await.unwrap_err();
        assert!(matches!(Error::from_io(err), Error::TooShort));
        // Cut inside the last block's tag.
        let cut = &sealed[..HEADER_SIZE + 3 * BLOCK_SIZE + 5];
        let err = read_range(&c, cut, 3 * b..3 * b + 7).await.unwrap_err();
        assert!(matches!(Error::from_io(err), Error::ImpossibleSize(_)));

        // Passed on as zeroes, reported by the block's index in the file.
        let lenient = c.with_pass_bad_blocks(true);
        let bad = BadBlocks::new();
        // The stored range runs past the end of the file: the rest of it is what a store gives.
        let body = &damaged[block_range(2 * b + 1..3 * b + 2).stored.start as usize..];
        let mut got = Vec::new();
        lenient
            .decrypt_async_range(
                AsyncReadExt::chain(&damaged[..HEADER_SIZE], body),
                2 * b + 1..3 * b + 2,
            )
            .with_bad_blocks(bad.clone())
            .read_to_end(&mut got)
            .await
            .unwrap();
        assert_eq!(bad.take(), [2]);
        assert!(got[..BLOCK_DATA_SIZE - 1].iter().all(|&x| x == 0));
        assert_eq!(
            got[BLOCK_DATA_SIZE - 1..],
            plain[3 * BLOCK_DATA_SIZE..3 * BLOCK_DATA_SIZE + 2]
        );
    }
}
