//! Content decryption of arbitrary bytes, whole and through seeks: errors are fine, panics are
//! not, and nothing that fails authentication may come out as plaintext. The whole-buffer
//! functions (`encrypt_bytes`, `decrypt_bytes`) must agree with the streams, on the input as
//! an encrypted file and on the input as plaintext sealed and then damaged at one byte.
#![no_main]

use std::io::{Cursor, Read, Seek, SeekFrom};
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use poof_crypt::{ContentCipher, Keys, Nonce};

fn cipher() -> &'static ContentCipher {
    static CIPHER: OnceLock<ContentCipher> = OnceLock::new();
    CIPHER.get_or_init(|| ContentCipher::new(&Keys::derive("fuzz", "").expect("keys")))
}

/// The streaming decryption of `sealed`, or `None` when it fails anywhere.
fn stream_decrypt(sealed: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    cipher().decrypt_reader(sealed).ok()?.read_to_end(&mut out).ok()?;
    Some(out)
}

/// `decrypt_bytes` must give what the stream gives, and fail where it fails.
fn agree(sealed: &[u8]) {
    let whole = cipher().decrypt_bytes(sealed).ok().map(|(plain, bad)| {
        assert!(bad.is_empty(), "bad blocks passed without pass_bad_blocks");
        plain
    });
    assert!(whole == stream_decrypt(sealed), "decrypt_bytes and the stream disagree");
}

fuzz_target!(|data: &[u8]| {
    let _ = poof_crypt::content::decrypted_size(data.len() as u64);
    agree(data);
    // The input as plaintext: sealed whole and by the stream alike, then damaged at one byte.
    let nonce = Nonce([data.first().copied().unwrap_or(0); 24]);
    let sealed = cipher().encrypt_bytes_with_nonce(data, nonce);
    let mut streamed = Vec::new();
    cipher()
        .encrypt_reader_with_nonce(data, nonce)
        .read_to_end(&mut streamed)
        .expect("encrypting from memory");
    assert!(sealed == streamed, "encrypt_bytes and the stream disagree");
    assert!(stream_decrypt(&sealed).as_deref() == Some(data), "round trip");
    agree(&sealed);
    let mut damaged = sealed;
    let at = data.len().wrapping_mul(31) % damaged.len();
    damaged[at] ^= 0x40;
    agree(&damaged);
    assert!(stream_decrypt(&damaged).is_none(), "a damaged file decrypted");
    if let Ok(mut r) = cipher().decrypt_reader(Cursor::new(data)) {
        let pos = data.first().copied().unwrap_or(0) as u64 * 997;
        if r.seek(SeekFrom::Start(pos)).is_ok() {
            let mut buf = [0u8; 100];
            let _ = r.read(&mut buf);
        }
        let _ = r.seek(SeekFrom::End(-1));
    }
});
