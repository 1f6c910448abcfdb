//! Name decryption on arbitrary input, in every mode and encoding: errors are fine, panics are
//! not; and whatever decrypts must encrypt back to the same name.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use poof_crypt::{Keys, NameCipher, NameEncoding, NameMode};

fn ciphers() -> &'static Vec<NameCipher> {
    static CIPHERS: OnceLock<Vec<NameCipher>> = OnceLock::new();
    CIPHERS.get_or_init(|| {
        let keys = Keys::derive("fuzz", "").expect("keys");
        let mut all = Vec::new();
        for encoding in [NameEncoding::Base32, NameEncoding::Base64, NameEncoding::Base32768] {
            all.push(NameCipher::new(&keys, NameMode::Standard, encoding, true, ".bin"));
        }
        all.push(NameCipher::new(&keys, NameMode::Obfuscate, NameEncoding::Base32, true, ".bin"));
        all.push(NameCipher::new(&keys, NameMode::Off, NameEncoding::Base32, false, ".bin"));
        all
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    for cipher in ciphers() {
        if let Ok(plain) = cipher.decrypt_file_name(text) {
            let again = cipher.encrypt_file_name(&plain);
            assert_eq!(cipher.decrypt_file_name(&again).ok().as_deref(), Some(plain.as_str()));
        }
        let _ = cipher.decrypt_dir_name(text);
        let enc = cipher.encrypt_file_name(text);
        let _ = cipher.decrypt_file_name(&enc);
    }
});
