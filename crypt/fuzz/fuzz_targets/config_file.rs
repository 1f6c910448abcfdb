//! Encrypted rclone config files and obscured passwords from arbitrary text: errors are fine,
//! panics are not.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if poof_crypt::config_file::is_encrypted(text) {
        let _ = poof_crypt::config_file::decrypt(text, "fuzz");
    }
    let _ = poof_crypt::reveal(text);
});
