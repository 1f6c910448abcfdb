//! Key derivation: one password (and an optional salt) become the three secrets of a crypt
//! remote.
//!
//! rclone runs scrypt (N = 16384, r = 8, p = 1) over the password and the salt (`password2`, or
//! rclone's built-in salt when that is empty) to get 80 bytes: a 32-byte data key for the
//! content secretbox, a 32-byte AES-256 key for names and a 16-byte EME tweak. An empty password
//! gives all-zero keys, as rclone does. [`Keys`] wipes all three on drop.

use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::error::{Error, Result};

/// rclone's built-in salt, used when a crypt remote has no `password2`.
pub const DEFAULT_SALT: [u8; 16] = [
    0xA8, 0x0D, 0xF4, 0x3A, 0x8F, 0xBD, 0x03, 0x08, 0xA7, 0xCA, 0xB8, 0x3E, 0x58, 0x1F, 0x86, 0xB1,
];

/// Length of the content (secretbox) key.
pub const DATA_KEY_SIZE: usize = 32;
/// Length of the AES-256 name key.
pub const NAME_KEY_SIZE: usize = 32;
/// Length of the EME name tweak.
pub const NAME_TWEAK_SIZE: usize = 16;
const KEY_MATERIAL_SIZE: usize = DATA_KEY_SIZE + NAME_KEY_SIZE + NAME_TWEAK_SIZE;

/// scrypt cost parameters rclone uses: log2(N) = 14, r = 8, p = 1.
const SCRYPT_LOG_N: u8 = 14;
const SCRYPT_R: u32 = 8;
const SCRYPT_P: u32 = 1;

/// The secrets of one crypt remote. Not `Clone`, `Copy` or `Debug`: wiped on drop.
#[derive(Zeroize, ZeroizeOnDrop)]
pub struct Keys {
    data: [u8; DATA_KEY_SIZE],
    name: [u8; NAME_KEY_SIZE],
    tweak: [u8; NAME_TWEAK_SIZE],
}

impl Keys {
    /// Derives the keys from a revealed (plain text) password and salt, as rclone does.
    /// An empty `salt` selects [`DEFAULT_SALT`]; an empty `password` gives all-zero keys.
    ///
    /// # Errors
    /// [`Error::KeyDerivation`] only if scrypt rejects its parameters, which it does not for
    /// rclone's constants.
    ///
    /// ```
    /// let keys = poof_crypt::Keys::derive("hunter2", "").unwrap();
    /// assert_ne!(keys.data_key(), &[0u8; 32]);
    /// ```
    pub fn derive(password: &str, salt: &str) -> Result<Keys> {
        let mut keys = Keys {
            data: [0; DATA_KEY_SIZE],
            name: [0; NAME_KEY_SIZE],
            tweak: [0; NAME_TWEAK_SIZE],
        };
        if password.is_empty() {
            return Ok(keys);
        }
        let salt: &[u8] = if salt.is_empty() {
            &DEFAULT_SALT
        } else {
            salt.as_bytes()
        };
        // The length argument only matters for password-hash strings (10..=64); the output length
        // comes from the buffer.
        let mut material = zeroize::Zeroizing::new([0u8; KEY_MATERIAL_SIZE]);
        scrypt_material(password.as_bytes(), salt, &mut material)?;
        keys.data.copy_from_slice(&material[..DATA_KEY_SIZE]);
        keys.name
            .copy_from_slice(&material[DATA_KEY_SIZE..DATA_KEY_SIZE + NAME_KEY_SIZE]);
        keys.tweak
            .copy_from_slice(&material[DATA_KEY_SIZE + NAME_KEY_SIZE..]);
        Ok(keys)
    }

    /// The 32-byte key of the content secretbox.
    pub fn data_key(&self) -> &[u8; DATA_KEY_SIZE] {
        &self.data
    }

    /// The 32-byte AES-256 key of name encryption.
    pub fn name_key(&self) -> &[u8; NAME_KEY_SIZE] {
        &self.name
    }

    /// The 16-byte EME tweak of name encryption.
    pub fn name_tweak(&self) -> &[u8; NAME_TWEAK_SIZE] {
        &self.tweak
    }
}

/// rclone's scrypt over `password` and `salt`, filling `out`.
fn scrypt_material(password: &[u8], salt: &[u8], out: &mut [u8; KEY_MATERIAL_SIZE]) -> Result<()> {
    #[cfg(fuzzing)]
    if fuzz_memo::get(password, salt, out) {
        return Ok(());
    }
    // The length argument only matters for password-hash strings (10..=64); the output length
    // comes from the buffer.
    let params = scrypt::Params::new(
        SCRYPT_LOG_N,
        SCRYPT_R,
        SCRYPT_P,
        scrypt::Params::RECOMMENDED_LEN,
    )
    .map_err(|_| Error::KeyDerivation)?;
    scrypt::scrypt(password, salt, &params, out).map_err(|_| Error::KeyDerivation)?;
    #[cfg(fuzzing)]
    fuzz_memo::put(password, salt, out);
    Ok(())
}

/// Fuzz builds only (`--cfg fuzzing`, set by cargo-fuzz): scrypt costs tens of milliseconds,
/// which would be most of each run of a target that resolves the crypt remotes of a fixed
/// config (poof's `fuzz/remote_path`), so results are memoised per password and salt (the
/// first few pairs only). A static cache of key material is no place for real secrets: it is
/// never compiled into a normal build.
#[cfg(fuzzing)]
mod fuzz_memo {
    use std::sync::{Mutex, MutexGuard, PoisonError};

    use super::KEY_MATERIAL_SIZE;

    type Memo = Vec<(Vec<u8>, Vec<u8>, [u8; KEY_MATERIAL_SIZE])>;
    const ENTRIES: usize = 16;
    static MEMO: Mutex<Memo> = Mutex::new(Vec::new());

    fn memo() -> MutexGuard<'static, Memo> {
        MEMO.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Copies the memoised material of `password` and `salt` into `out`; false if there is none.
    pub(super) fn get(password: &[u8], salt: &[u8], out: &mut [u8; KEY_MATERIAL_SIZE]) -> bool {
        let memo = memo();
        let found = memo.iter().find(|(p, s, _)| p == password && s == salt);
        found
            .map(|(_, _, material)| out.copy_from_slice(material))
            .is_some()
    }

    /// Memoises the material of `password` and `salt`, while there is room.
    pub(super) fn put(password: &[u8], salt: &[u8], material: &[u8; KEY_MATERIAL_SIZE]) {
        let mut memo = memo();
        if memo.len() < ENTRIES {
            memo.push((password.to_vec(), salt.to_vec(), *material));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_password_gives_zero_keys() {
        let k = Keys::derive("", "anything").unwrap();
        assert_eq!(k.data_key(), &[0; 32]);
        assert_eq!(k.name_key(), &[0; 32]);
        assert_eq!(k.name_tweak(), &[0; 16]);
    }

    #[test]
    fn derivation_repeats() {
        // Twice each: in a fuzz build the second derivation comes from the memo.
        for _ in 0..2 {
            let a = Keys::derive("pw", "").unwrap();
            let b = Keys::derive("pw", "").unwrap();
            let c = Keys::derive("pw", "salt").unwrap();
            assert_eq!(a.data_key(), b.data_key());
            assert_eq!(a.name_key(), b.name_key());
            assert_eq!(a.name_tweak(), b.name_tweak());
            assert_ne!(a.data_key(), c.data_key());
        }
    }

    #[test]
    fn salt_changes_every_key() {
        let a = Keys::derive("pw", "").unwrap();
        let b = Keys::derive("pw", "salt").unwrap();
        assert_ne!(a.data_key(), b.data_key());
        assert_ne!(a.name_key(), b.name_key());
        assert_ne!(a.name_tweak(), b.name_tweak());
    }
}
