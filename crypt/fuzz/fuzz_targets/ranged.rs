//! Ranged and parallel content decryption of arbitrary bytes: errors are fine, panics are not.
//! The first 16 bytes of the input choose a plaintext range; the rest is read as an encrypted
//! file, whole in parallel and by that range (header, then the stored blocks holding it). Then
//! the rest is taken as plaintext, sealed, and the same range read back must be exactly the
//! slice of the plaintext, and the parallel open must give the plaintext back.
#![no_main]

use std::ops::Range;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use poof_crypt::content::{block_range, BadBlocks, HEADER_SIZE};
use poof_crypt::{ContentCipher, Keys, Nonce};
use tokio::io::AsyncReadExt;

fn cipher() -> &'static ContentCipher {
    static CIPHER: OnceLock<ContentCipher> = OnceLock::new();
    CIPHER.get_or_init(|| {
        ContentCipher::new(&Keys::derive("fuzz", "").expect("keys")).with_pass_bad_blocks(true)
    })
}

fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("a tokio runtime")
    })
}

/// `range` of the encrypted file `sealed`, read as a store's ranged reads would give it.
async fn ranged(sealed: &[u8], range: Range<u64>) -> std::io::Result<Vec<u8>> {
    let stored = block_range(range.clone()).stored;
    let clip = |x: u64| usize::try_from(x).unwrap_or(usize::MAX).min(sealed.len());
    let body = &sealed[clip(stored.start)..clip(stored.end)];
    let header = &sealed[..HEADER_SIZE.min(sealed.len())];
    let mut out = Vec::new();
    cipher()
        .decrypt_async_range(AsyncReadExt::chain(header, body), range)
        .with_bad_blocks(BadBlocks::new())
        .read_to_end(&mut out)
        .await
        .map(|_| out)
}

/// The whole of `sealed`, opened in parallel.
async fn parallel(sealed: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut out = Vec::new();
    cipher()
        .decrypt_parallel(std::io::Cursor::new(sealed.to_vec()), BadBlocks::new())
        .read_to_end(&mut out)
        .await
        .map(|_| out)
}

fuzz_target!(|data: &[u8]| {
    let word = |at: usize| {
        let bytes = data.get(at..at + 8).and_then(|b| b.try_into().ok());
        u64::from_le_bytes(bytes.unwrap_or([0; 8]))
    };
    let (start, len) = (word(0), word(8));
    let rest = data.get(16..).unwrap_or_default();
    runtime().block_on(async {
        // Arbitrary bytes as an encrypted file, by an arbitrary range (kept near the data so
        // that it does not only test the end of u64) and at the ends of u64.
        let near = start % (rest.len() as u64 * 2 + 1);
        let _ = ranged(rest, near..near.saturating_add(len % 300_000)).await;
        let _ = ranged(rest, start..start.saturating_add(len)).await;
        let _ = parallel(rest).await;

        // Valid input: the range is the slice of the plaintext.
        let sealed = cipher().encrypt_bytes_with_nonce(rest, Nonce([7; 24]));
        let n = rest.len() as u64;
        let range = near.min(n)..near.saturating_add(len % 300_000);
        let got = ranged(&sealed, range.clone()).await.expect("a valid file");
        let want = &rest[range.start as usize..range.end.min(n).max(range.start) as usize];
        assert!(got == want, "the range is not the slice of the plaintext");
        assert!(parallel(&sealed).await.expect("a valid file") == rest, "parallel open");
    });
});
