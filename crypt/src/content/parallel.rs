//! Sealing and opening one large file on several threads at once, in rclone's exact format
//! (feature `tokio`).
//!
//! rclone seals and opens a file as one sequential stream, so one core does all the work.
//! Blocks are independent, though: block `k` is sealed under the file nonce plus `k`
//! ([`Nonce::add`]). [`ContentCipher::encrypt_parallel`] and [`ContentCipher::decrypt_parallel`]
//! build a [`ParallelStream`] whose reading task reads the input ahead in batches of
//! [`BATCH_BLOCKS`] blocks and seals (opens) each batch on tokio's blocking pool; the stream
//! hands out the batches strictly in order. At most [`BATCHES_IN_FLIGHT`] batches exist at once
//! (read ahead, being processed, or waiting to be handed out), so memory stays bounded whatever
//! the file size: about `2 * BATCHES_IN_FLIGHT * BATCH_PLAIN` bytes (input and output copies).
//! Batch buffers are reused within a stream and wiped when dropped.
//!
//! The output is byte for byte what the sequential adapters produce for the same nonce; unit
//! tests check it, at block and batch edges. Files under [`PARALLEL_MIN_SIZE`] are one batch
//! or two: the sequential adapters serve them as fast.
//!
//! ```
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! use tokio::io::AsyncReadExt;
//! use poof_crypt::{content::BadBlocks, ContentCipher, Keys};
//!
//! let cipher = ContentCipher::new(&Keys::derive("pw", "").unwrap());
//! let plain = vec![9u8; 3_000_000];
//! let mut sealed = Vec::new();
//! cipher.encrypt_parallel(std::io::Cursor::new(plain.clone()))
//!     .read_to_end(&mut sealed).await.unwrap();
//! assert_eq!(cipher.decrypt_bytes(&sealed).unwrap().0, plain);
//!
//! let mut opened = Vec::new();
//! cipher.decrypt_parallel(std::io::Cursor::new(sealed), BadBlocks::new())
//!     .read_to_end(&mut opened).await.unwrap();
//! assert!(opened == plain);
//! # });
//! ```

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncReadExt, ReadBuf};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use zeroize::Zeroizing;

use super::HEADER_SIZE;
use super::{BadBlocks, ContentCipher, Nonce, BLOCK_DATA_SIZE, BLOCK_SIZE, BLOCK_TAG_SIZE};
use crate::Error;

/// Blocks sealed by one task (512 KiB): enough work to make the hand-over to a thread
/// negligible (about 0.7 ms of sealing against microseconds), small enough that several
/// large files in flight stay within a few MiB each.
pub const BATCH_BLOCKS: usize = 8;
/// Plaintext bytes of one full batch.
pub(crate) const BATCH_PLAIN: usize = BATCH_BLOCKS * BLOCK_DATA_SIZE;
/// Sealed bytes of one full batch.
pub(crate) const BATCH_SEALED: usize = BATCH_BLOCKS * BLOCK_SIZE;
/// Batches alive at once: one being read, the rest being sealed or waiting their turn.
pub const BATCHES_IN_FLIGHT: usize = 4;
/// Files at least this large gain from [`ContentCipher::encrypt_parallel`]; smaller ones are
/// one batch or two, sealed as fast by the sequential adapters.
pub const PARALLEL_MIN_SIZE: u64 = 2 * BATCH_PLAIN as u64;

/// What a reading task passes on: a batch being processed, or the error that ended the
/// input.
type Batch = Result<JoinHandle<io::Result<Buffer>>, io::Error>;

/// Room `read_to_end` wants beyond the bytes it reads before it sees the end of its input
/// (tokio grows a full buffer by 32 bytes to probe for more).
const READ_SLACK: usize = 32;

/// A batch buffer; wiped when finally dropped (it held plaintext at one time or another).
type Buffer = Zeroizing<Vec<u8>>;

/// Buffers kept for reuse: without reuse, 1 MiB buffers allocated on one thread and freed on
/// another made the allocator's per-thread arenas grow, and peak memory with them (53 MiB for
/// a 1 GiB file, against 33 MiB for 64 MiB). With it, a stream allocates a bounded number of
/// buffers whatever the file size.
#[derive(Clone, Default)]
struct Pool(Arc<Mutex<Vec<Buffer>>>);

impl Pool {
    /// A buffer with room for `capacity` bytes holding `len` bytes (zero or stale, which the
    /// caller overwrites).
    fn take(&self, capacity: usize, len: usize) -> Buffer {
        let reused = self.0.lock().ok().and_then(|mut free| free.pop());
        let mut buf = match reused {
            // Too small: dropped (and wiped) rather than grown, which would leave an unwiped
            // copy behind.
            Some(buf) if buf.capacity() >= capacity => buf,
            _ => Zeroizing::new(Vec::with_capacity(capacity)),
        };
        if buf.len() != len {
            buf.resize(len, 0);
        }
        buf
    }

    /// Keeps `buf` for a later batch (at most [`BATCHES_IN_FLIGHT`] are kept).
    fn give(&self, buf: Buffer) {
        if let Ok(mut free) = self.0.lock() {
            if free.len() < BATCHES_IN_FLIGHT {
                free.push(buf);
            }
        }
    }
}

/// A file sealed or opened in parallel, handed out in order as an `AsyncRead`: a fixed prefix
/// (the header, when sealing), then the batches of a reading task (see the module docs).
/// Dropping it stops the reading task at its next batch.
///
/// An error of the input, a bad header, or a block that fails authentication or is cut short
/// is a read error at that point, after the output before it; the stream fails for good then.
pub struct ParallelStream {
    prefix: Vec<u8>,
    prefix_pos: usize,
    batches: mpsc::Receiver<Batch>,
    working: Option<JoinHandle<io::Result<Buffer>>>,
    out: Buffer,
    /// Where handed-out output buffers go back to.
    out_pool: Pool,
    out_pos: usize,
    failed: bool,
}

impl ParallelStream {
    /// The stream, and the sender its reading task fills.
    fn start(prefix: Vec<u8>, out_pool: Pool) -> (ParallelStream, mpsc::Sender<Batch>) {
        // The channel holds the batches waiting to be handed out; one more is being read.
        let (tx, rx) = mpsc::channel(BATCHES_IN_FLIGHT - 1);
        let stream = ParallelStream {
            prefix,
            prefix_pos: 0,
            batches: rx,
            working: None,
            out: Zeroizing::new(Vec::new()),
            out_pool,
            out_pos: 0,
            failed: false,
        };
        (stream, tx)
    }
}

impl ContentCipher {
    /// Encrypts what `plain` yields under a fresh random nonce, sealing batches of blocks on
    /// tokio's blocking pool (async, parallel form of
    /// [`encrypt_reader`](ContentCipher::encrypt_reader)); reading the stream gives the
    /// encrypted file.
    ///
    /// # Panics
    /// Outside a tokio runtime: it spawns the task that reads `plain`.
    pub fn encrypt_parallel<R>(&self, plain: R) -> ParallelStream
    where
        R: AsyncRead + Unpin + Send + 'static,
    {
        self.encrypt_parallel_with_nonce(plain, Nonce::random())
    }

    /// [`encrypt_parallel`](ContentCipher::encrypt_parallel) under the given file `nonce` (see
    /// [`encrypt_reader_with_nonce`](ContentCipher::encrypt_reader_with_nonce) for when that
    /// is safe).
    ///
    /// # Panics
    /// Outside a tokio runtime.
    pub fn encrypt_parallel_with_nonce<R>(&self, plain: R, nonce: Nonce) -> ParallelStream
    where
        R: AsyncRead + Unpin + Send + 'static,
    {
        let out_pool = Pool::default();
        let (stream, tx) = ParallelStream::start(nonce.header().to_vec(), out_pool.clone());
        tokio::spawn(read_ahead(self.clone(), plain, nonce, tx, out_pool));
        stream
    }

    /// Decrypts the whole encrypted file `sealed` yields, opening batches of blocks on tokio's
    /// blocking pool (async, parallel form of
    /// [`decrypt_async_reader`](ContentCipher::decrypt_async_reader)). With
    /// [`pass_bad_blocks`](ContentCipher::with_pass_bad_blocks), the index of each block passed
    /// on as zeroes goes to `bad_blocks`, for the caller to report.
    ///
    /// Errors come as read errors of the stream (recover them with [`Error::from_io`]): a bad
    /// header, a block that fails authentication, a file cut inside a block.
    ///
    /// # Panics
    /// Outside a tokio runtime: it spawns the task that reads `sealed`.
    pub fn decrypt_parallel<R>(&self, sealed: R, bad_blocks: BadBlocks) -> ParallelStream
    where
        R: AsyncRead + Unpin + Send + 'static,
    {
        let out_pool = Pool::default();
        let (stream, tx) = ParallelStream::start(Vec::new(), out_pool.clone());
        tokio::spawn(open_ahead(sealed, self.clone(), bad_blocks, tx, out_pool));
        stream
    }
}

/// Fills `buf` from `input` until it is full or the input ends; the bytes read.
async fn fill<R: AsyncRead + Unpin>(input: &mut R, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while let Some(space) = buf.get_mut(filled..).filter(|s| !s.is_empty()) {
        match input.read(space).await? {
            0 => break,
            n => filled += n,
        }
    }
    Ok(filled)
}

/// Reads `sealed` in batches of whole blocks and starts opening each one, until the input
/// ends, fails, or the stream is dropped. A short first batch (a small file) is opened in
/// this task, without a trip to the blocking pool.
async fn open_ahead<R: AsyncRead + Unpin>(
    mut sealed: R,
    cipher: ContentCipher,
    bad_blocks: BadBlocks,
    tx: mpsc::Sender<Batch>,
    out_pool: Pool,
) {
    let in_pool = Pool::default();
    let mut header = [0u8; HEADER_SIZE];
    let nonce = match fill(&mut sealed, &mut header).await {
        Ok(n) => Nonce::from_header(header.get(..n).unwrap_or_default()).map_err(Error::into_io),
        Err(e) => Err(e),
    };
    let nonce = match nonce {
        Ok(nonce) => nonce,
        Err(e) => {
            let _ = tx.send(Err(e)).await;
            return;
        }
    };
    let mut block_index = 0u64;
    loop {
        // Sized for a small file at first, for full batches after that: never zero-filled,
        // never grown past a batch.
        let room = if block_index == 0 {
            BLOCK_SIZE
        } else {
            BATCH_SEALED
        };
        let mut buf = in_pool.take(room + READ_SLACK, 0);
        if let Err(e) = (&mut sealed)
            .take(BATCH_SEALED as u64)
            .read_to_end(&mut buf)
            .await
        {
            let _ = tx.send(Err(e)).await;
            return;
        }
        let filled = buf.len();
        if filled == 0 {
            return;
        }
        let first = nonce.add(block_index);
        let first_index = block_index;
        let blocks = filled.div_ceil(BLOCK_SIZE);
        block_index = block_index.saturating_add(blocks as u64);
        let cipher = cipher.clone();
        let (in_pool, out_pool) = (in_pool.clone(), out_pool.clone());
        let bad_blocks = bad_blocks.clone();
        let work = move || -> io::Result<Buffer> {
            let plain_len = filled.saturating_sub(blocks * BLOCK_TAG_SIZE);
            // Sized once for the whole plaintext and opened into directly: never reallocated
            // (no unwiped copy is left) and no copy of the ciphertext is made.
            let mut out = out_pool.take(plain_len, plain_len);
            let slots = out.chunks_mut(BLOCK_DATA_SIZE);
            for (k, (block, slot)) in buf.chunks(BLOCK_SIZE).zip(slots).enumerate() {
                let good = cipher
                    .open_block_passing_to(&first.add(k as u64), block, slot)
                    .map_err(Error::into_io)?;
                if !good {
                    bad_blocks.record(first_index + k as u64);
                }
            }
            in_pool.give(buf);
            Ok(out)
        };
        let last = filled < BATCH_SEALED;
        let handle = if last && block_index == blocks as u64 {
            let done = work();
            tokio::spawn(async move { done })
        } else {
            tokio::task::spawn_blocking(work)
        };
        if tx.send(Ok(handle)).await.is_err() || last {
            return;
        }
    }
}

/// Reads `plain` in batches and starts sealing each one, until the input ends, fails, or the
/// stream is dropped.
async fn read_ahead<R: AsyncRead + Unpin>(
    cipher: ContentCipher,
    mut plain: R,
    nonce: Nonce,
    tx: mpsc::Sender<Batch>,
    out_pool: Pool,
) {
    let in_pool = Pool::default();
    let mut block_index = 0u64;
    loop {
        let mut buf = in_pool.take(BATCH_PLAIN, BATCH_PLAIN);
        let filled = match fill(&mut plain, &mut buf).await {
            Ok(n) => n,
            Err(e) => {
                let _ = tx.send(Err(e)).await;
                return;
            }
        };
        if filled == 0 {
            return;
        }
        let first = nonce.add(block_index);
        let blocks = filled.div_ceil(BLOCK_DATA_SIZE);
        block_index = block_index.saturating_add(blocks as u64);
        let cipher = cipher.clone();
        let (in_pool, out_pool) = (in_pool.clone(), out_pool.clone());
        let handle = tokio::task::spawn_blocking(move || {
            let sealed_len = filled + blocks * BLOCK_TAG_SIZE;
            let mut out = out_pool.take(sealed_len, sealed_len);
            let data = buf.get(..filled).unwrap_or_default();
            let slots = out.chunks_mut(BLOCK_SIZE);
            for (k, (block, slot)) in data.chunks(BLOCK_DATA_SIZE).zip(slots).enumerate() {
                cipher.seal_block_to(&first.add(k as u64), block, slot);
            }
            in_pool.give(buf);
            Ok(out)
        });
        if tx.send(Ok(handle)).await.is_err() || filled < BATCH_PLAIN {
            return;
        }
    }
}

impl AsyncRead for ParallelStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        self.get_mut().poll_out(cx, buf)
    }
}

impl ParallelStream {
    /// Hands out the prefix, then each batch as its task finishes, in order.
    fn poll_out(&mut self, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = self;
        if let Some(rest) = this.prefix.get(this.prefix_pos..).filter(|r| !r.is_empty()) {
            let n = rest.len().min(buf.remaining());
            buf.put_slice(rest.get(..n).unwrap_or_default());
            this.prefix_pos += n;
            return Poll::Ready(Ok(()));
        }
        loop {
            if this.failed {
                return Poll::Ready(Err(io::Error::other("the stream failed before")));
            }
            if let Some(rest) = this.out.get(this.out_pos..).filter(|r| !r.is_empty()) {
                let n = rest.len().min(buf.remaining());
                buf.put_slice(rest.get(..n).unwrap_or_default());
                this.out_pos += n;
                return Poll::Ready(Ok(()));
            }
            if let Some(handle) = &mut this.working {
                let done = match Pin::new(handle).poll(cx) {
                    Poll::Pending => return Poll::Pending,
                    Poll::Ready(done) => done,
                };
                this.working = None;
                match done {
                    Ok(Ok(out)) => {
                        let done = std::mem::replace(&mut this.out, out);
                        this.out_pool.give(done);
                        this.out_pos = 0;
                        continue;
                    }
                    Ok(Err(e)) => {
                        this.failed = true;
                        return Poll::Ready(Err(e));
                    }
                    Err(e) => {
                        this.failed = true;
                        return Poll::Ready(Err(io::Error::other(format!(
                            "a crypt task failed: {e}"
                        ))));
                    }
                }
            }
            match this.batches.poll_recv(cx) {
                Poll::Pending => return Poll::Pending,
                // The input has ended (or the reading task died: callers check sizes).
                Poll::Ready(None) => return Poll::Ready(Ok(())),
                Poll::Ready(Some(Err(e))) => {
                    this.failed = true;
                    return Poll::Ready(Err(e));
                }
                Poll::Ready(Some(Ok(handle))) => this.working = Some(handle),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::content::testing::{cipher, plaintext};

    async fn sequential(plain: &[u8], nonce: Nonce) -> Vec<u8> {
        let mut out = Vec::new();
        cipher()
            .encrypt_async_reader_with_nonce(plain, nonce)
            .read_to_end(&mut out)
            .await
            .unwrap();
        out
    }

    async fn parallel(plain: Vec<u8>, nonce: Nonce) -> Vec<u8> {
        let mut out = Vec::new();
        cipher()
            .encrypt_parallel_with_nonce(std::io::Cursor::new(plain), nonce)
            .read_to_end(&mut out)
            .await
            .unwrap();
        out
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn parallel_matches_sequential_at_batch_and_block_edges() {
        let bd = BLOCK_DATA_SIZE;
        let nonce = Nonce([0xfe; 24]); // carries across bytes within the first batches
        for len in [
            0,
            1,
            bd,
            bd + 1,
            BATCH_PLAIN - 1,
            BATCH_PLAIN,
            BATCH_PLAIN + 1,
            3 * BATCH_PLAIN + 5 * bd,
            BATCHES_IN_FLIGHT * BATCH_PLAIN * 2 + 17,
        ] {
            let plain = plaintext(len);
            let want = sequential(&plain, nonce).await;
            let got = parallel(plain, nonce).await;
            assert_eq!(got.len(), want.len(), "length for {len}");
            assert!(got == want, "bytes for {len}");
        }
    }

    async fn open_parallel_reporting(sealed: Vec<u8>, bad: BadBlocks) -> io::Result<Vec<u8>> {
        let mut out = Vec::new();
        cipher()
            .with_pass_bad_blocks(true)
            .decrypt_parallel(std::io::Cursor::new(sealed), bad)
            .read_to_end(&mut out)
            .await
            .map(|_| out)
    }

    async fn open_parallel(sealed: Vec<u8>) -> io::Result<Vec<u8>> {
        let mut out = Vec::new();
        cipher()
            .decrypt_parallel(std::io::Cursor::new(sealed), BadBlocks::new())
            .read_to_end(&mut out)
            .await
            .map(|_| out)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn open_round_trips_at_batch_and_block_edges() {
        let bd = BLOCK_DATA_SIZE;
        for len in [
            0,
            1,
            bd,
            bd + 1,
            BATCH_PLAIN,
            BATCH_PLAIN + 1,
            5 * BATCH_PLAIN + 3,
        ] {
            let plain = plaintext(len);
            let sealed = sequential(&plain, Nonce([0xff; 24])).await;
            let opened = open_parallel(sealed).await.unwrap();
            assert!(opened == plain, "round trip of {len}");
        }
    }

    #[tokio::test]
    async fn open_fails_on_damage_truncation_and_short_header() {
        let plain = plaintext(3 * BATCH_PLAIN);
        let sealed = sequential(&plain, Nonce([1; 24])).await;
        let mut damaged = sealed.clone();
        let at = HEADER_SIZE + 2 * BATCH_SEALED + 100;
        damaged[at] ^= 1;
        assert!(open_parallel(damaged).await.is_err());
        // Truncated inside a tag: the last block cannot authenticate.
        let cut = sealed.len() - BLOCK_SIZE + 5;
        assert!(open_parallel(sealed[..cut].to_vec()).await.is_err());
        assert!(open_parallel(sealed[..10].to_vec()).await.is_err());
        assert!(open_parallel(Vec::new()).await.is_err());
        let mut magic = sealed.clone();
        magic[0] = b'X';
        assert!(open_parallel(magic).await.is_err());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn bad_blocks_passed_on_are_reported_by_index() {
        let plain = plaintext(3 * BATCH_PLAIN + 10);
        let mut sealed = sequential(&plain, Nonce([2; 24])).await;
        // Block 1 (first batch) and block 2 * BATCH_BLOCKS + 3 (third batch) are damaged.
        let later = 2 * BATCH_BLOCKS + 3;
        for block in [1, later] {
            sealed[HEADER_SIZE + block * BLOCK_SIZE + 40] ^= 1;
        }
        let bad = BadBlocks::new();
        let opened = open_parallel_reporting(sealed.clone(), bad.clone())
            .await
            .unwrap();
        assert_eq!(bad.take(), [1, later as u64]);
        let mut want = plain;
        for block in [1, later] {
            want[block * BLOCK_DATA_SIZE..(block + 1) * BLOCK_DATA_SIZE].fill(0);
        }
        assert!(
            opened == want,
            "the damaged blocks, and only they, are zeroes"
        );
        // Without pass_bad_blocks the same file fails, and nothing is recorded.
        assert!(open_parallel(sealed).await.is_err());
    }

    #[tokio::test(flavor = "current_thread")]
    async fn parallel_on_current_thread_runtime() {
        let plain = plaintext(3 * BATCH_PLAIN + 3);
        let nonce = Nonce([7; 24]);
        assert!(parallel(plain.clone(), nonce).await == sequential(&plain, nonce).await);
        let sealed = sequential(&plain, nonce).await;
        assert!(open_parallel(sealed).await.unwrap() == plain);
    }

    /// A source that gives `blocks` blocks of good bytes, then fails: the parallel open of a
    /// file damaged right after them.
    async fn failing_source(blocks: usize) -> ParallelStream {
        let plain = plaintext((blocks + 1) * BLOCK_DATA_SIZE);
        let mut sealed = sequential(&plain, Nonce([3; 24])).await;
        sealed[HEADER_SIZE + blocks * BLOCK_SIZE + 20] ^= 1;
        cipher().decrypt_parallel(std::io::Cursor::new(sealed), BadBlocks::new())
    }

    #[tokio::test]
    async fn source_error_mid_file_is_reported() {
        let is_source_error = |err: io::Error| matches!(Error::from_io(err), Error::Authentication);
        let mut out = Vec::new();
        let source = failing_source(2 * BATCH_BLOCKS + 1).await;
        let err = cipher()
            .encrypt_parallel_with_nonce(source, Nonce([0; 24]))
            .read_to_end(&mut out)
            .await
            .unwrap_err();
        assert!(is_source_error(err));
        // Past a good header, with the blocks (garbage here) passed on as zeroes.
        let header = std::io::Cursor::new(Nonce([0; 24]).header());
        let sealed = header.chain(failing_source(2 * BATCH_BLOCKS + 3).await);
        let err = cipher()
            .with_pass_bad_blocks(true)
            .decrypt_parallel(sealed, BadBlocks::new())
            .read_to_end(&mut out)
            .await
            .unwrap_err();
        assert!(is_source_error(err));
    }
}
