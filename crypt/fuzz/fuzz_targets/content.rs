//! Content decryption of arbitrary bytes, whole and through seeks: errors are fine, panics are
//! not, and nothing that fails authentication may come out as plaintext.
#![no_main]

use std::io::{Cursor, Read, Seek, SeekFrom};
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use poof_crypt::{ContentCipher, Keys};

fn cipher() -> &'static ContentCipher {
    static CIPHER: OnceLock<ContentCipher> = OnceLock::new();
    CIPHER.get_or_init(|| ContentCipher::new(&Keys::derive("fuzz", "").expect("keys")))
}

fuzz_target!(|data: &[u8]| {
    let _ = poof_crypt::content::decrypted_size(data.len() as u64);
    if let Ok(mut r) = cipher().decrypt_reader(data) {
        let mut out = Vec::new();
        let _ = r.read_to_end(&mut out);
    }
    if let Ok(mut r) = cipher().decrypt_reader(Cursor::new(data)) {
        let pos = data.first().copied().unwrap_or(0) as u64 * 997;
        if r.seek(SeekFrom::Start(pos)).is_ok() {
            let mut buf = [0u8; 100];
            let _ = r.read(&mut buf);
        }
        let _ = r.seek(SeekFrom::End(-1));
    }
});
