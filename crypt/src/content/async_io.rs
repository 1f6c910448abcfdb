//! tokio adapters (feature `tokio`): [`AsyncEncryptReader`] and [`AsyncDecryptReader`]
//! implement `AsyncRead`, [`AsyncEncryptWriter`] implements `AsyncWrite`.
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
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use super::block::{Core, Opener, Sealer};
use super::{ContentCipher, Nonce};
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
        }
    }

    /// Decrypts the encrypted file `inner` yields (async form of
    /// [`ContentCipher::decrypt_reader`]); the header is read and checked on the first poll,
    /// so a bad header shows up as a read error.
    pub fn decrypt_async_reader<R: AsyncRead + Unpin>(&self, inner: R) -> AsyncDecryptReader<R> {
        AsyncDecryptReader {
            inner,
            core: Opener::new(self),
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

/// Drives a core from an `AsyncRead` source into `out`.
fn poll_read_via<C: Core, R: AsyncRead + Unpin>(
    core: &mut C,
    inner: &mut R,
    cx: &mut Context<'_>,
    out: &mut ReadBuf<'_>,
) -> Poll<io::Result<()>> {
    if out.remaining() == 0 {
        return Poll::Ready(Ok(()));
    }
    loop {
        core.check().map_err(Error::into_io)?;
        let available = core.output();
        if !available.is_empty() {
            let n = available.len().min(out.remaining());
            if let Some(chunk) = available.get(..n) {
                out.put_slice(chunk);
            }
            core.consume(n);
            return Poll::Ready(Ok(()));
        }
        if core.done() {
            return Poll::Ready(Ok(()));
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
}

impl<R> AsyncEncryptReader<R> {
    /// The file nonce, as written in the header.
    pub fn nonce(&self) -> Nonce {
        self.core.nonce()
    }

    /// Gives back the inner reader.
    pub fn into_inner(self) -> R {
        self.inner
    }
}

impl<R: AsyncRead + Unpin> AsyncRead for AsyncEncryptReader<R> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        poll_read_via(&mut this.core, &mut this.inner, cx, buf)
    }
}

/// Async form of [`DecryptReader`](super::DecryptReader): reading it gives the plaintext.
/// Errors (bad header, authentication, truncation) come as `std::io::Error`; recover them with
/// [`Error::from_io`].
pub struct AsyncDecryptReader<R> {
    inner: R,
    core: Opener,
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

    /// Gives back the inner reader.
    pub fn into_inner(self) -> R {
        self.inner
    }
}

impl<R: AsyncRead + Unpin> AsyncRead for AsyncDecryptReader<R> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        poll_read_via(&mut this.core, &mut this.inner, cx, buf)
    }
}

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
    use crate::content::{encrypted_size, BLOCK_SIZE};
    use crate::Keys;
    use std::io::Read;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    const SIZES: [usize; 6] = [0, 1, 65535, 65536, 65537, 3 * 65536 + 7];

    fn cipher() -> ContentCipher {
        ContentCipher::new(&Keys::derive("", "").unwrap())
    }

    fn plaintext(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i * 31 + i / 257) as u8).collect()
    }

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
}
