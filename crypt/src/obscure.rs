//! Obscured passwords, as rclone stores them in its config file.
//!
//! rclone never writes a crypt password in the clear: `rclone obscure` encrypts it with AES-256
//! in CTR mode under a key that is fixed and public and a random 16-byte IV,
//! and stores `base64url(IV || ciphertext)` without padding. This keeps a password from being
//! read at a glance; it is **not** encryption, since anyone holding the config file can reveal
//! it. [`obscure()`] and [`obscure_with_iv()`] produce such values, [`reveal()`] reads them back.
//!
//! ```
//! let stored = poof_crypt::obscure("correct horse");
//! assert_eq!(poof_crypt::reveal(&stored).unwrap(), "correct horse");
//! ```

use aes::cipher::{KeyIvInit, StreamCipher};
use base64::alphabet::{self, Alphabet};
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use base64::Engine as _;
use rand::RngCore;
use zeroize::Zeroizing;

use crate::{Error, Result};

/// rclone's fixed, published obscuring key (AES-256).
const OBSCURE_KEY: [u8; OBSCURE_KEY_SIZE] = [
    0x9c, 0x93, 0x5b, 0x48, 0x73, 0x0a, 0x55, 0x4d, 0x6b, 0xfd, 0x7c, 0x63, 0xc8, 0x86, 0xa9, 0x2b,
    0xd3, 0x90, 0x19, 0x8e, 0xb8, 0x12, 0x8a, 0xfb, 0xf4, 0xde, 0x16, 0x2b, 0x8b, 0x95, 0xf6, 0x38,
];

/// Size of the obscuring key: an AES-256 key.
const OBSCURE_KEY_SIZE: usize = 32;

/// Size of the IV that starts every obscured value: one AES block.
const IV_SIZE: usize = 16;

/// AES-256 in CTR mode with a 128-bit big-endian counter: the whole IV is the counter block.
type ObscureCipher = ctr::Ctr128BE<aes::Aes256>;

/// base64url without padding, as rclone writes it. Decoding refuses `=` and, like rclone,
/// accepts non-zero trailing bits in the last character.
const ENGINE: GeneralPurpose = rclone_base64(&alphabet::URL_SAFE, false);

/// base64 as rclone writes it in `alphabet`, with `=` padding or without; decoding requires
/// exactly that padding and, like rclone, accepts non-zero trailing bits in the last character.
/// Shared by obscured values and encrypted config files.
pub(crate) const fn rclone_base64(alphabet: &'static Alphabet, padded: bool) -> GeneralPurpose {
    let padding = if padded {
        DecodePaddingMode::RequireCanonical
    } else {
        DecodePaddingMode::RequireNone
    };
    GeneralPurpose::new(
        alphabet,
        GeneralPurposeConfig::new()
            .with_encode_padding(padded)
            .with_decode_padding_mode(padding)
            .with_decode_allow_trailing_bits(true),
    )
}

/// Obscures `plain` the way `rclone obscure` does, with a fresh random IV.
///
/// The result is what rclone expects in a `password` or `password2` line of its config file.
pub fn obscure(plain: &str) -> String {
    let mut iv = [0u8; IV_SIZE];
    rand::rngs::OsRng.fill_bytes(&mut iv);
    obscure_with_iv(plain, iv)
}

/// Obscures `plain` with the given IV: deterministic, for tests and reproducible vectors.
///
/// Reusing an IV across different passwords leaks their XOR; [`obscure()`] is the normal entry
/// point.
pub fn obscure_with_iv(plain: &str, iv: [u8; IV_SIZE]) -> String {
    let mut buf = Zeroizing::new(Vec::with_capacity(IV_SIZE.saturating_add(plain.len())));
    buf.extend_from_slice(&iv);
    buf.extend_from_slice(plain.as_bytes());
    let mut cipher = ObscureCipher::new(&OBSCURE_KEY.into(), &iv.into());
    if let Some(body) = buf.get_mut(IV_SIZE..) {
        cipher.apply_keystream(body);
    }
    ENGINE.encode(buf.as_slice())
}

/// Reveals a password obscured by rclone (or by [`obscure()`]).
///
/// # Errors
///
/// [`Error::BadObscured`] if `obscured` is not unpadded base64url, is shorter than the 16-byte
/// IV once decoded, or does not reveal valid UTF-8 text.
pub fn reveal(obscured: &str) -> Result<String> {
    let mut buf = Zeroizing::new(
        ENGINE
            .decode(obscured.as_bytes())
            .map_err(|_| Error::BadObscured)?,
    );
    if buf.len() < IV_SIZE {
        return Err(Error::BadObscured);
    }
    let (iv, body) = buf.split_at_mut(IV_SIZE);
    let iv: [u8; IV_SIZE] = (&*iv).try_into().map_err(|_| Error::BadObscured)?;
    let mut cipher = ObscureCipher::new(&OBSCURE_KEY.into(), &iv.into());
    cipher.apply_keystream(body);
    let plain = std::str::from_utf8(body).map_err(|_| Error::BadObscured)?;
    Ok(plain.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Values printed by the real `rclone obscure` (v1.75.2).
    const RCLONE_HELLO: &str = "qUxXNlEDjamG0CPbTm9n2ZGCxuVm";
    const RCLONE_EMPTY: &str = "Dhyb2HPaqj7ktFQaDm0M1A";

    #[test]
    fn reveal_value_obscured_by_rclone() {
        assert_eq!(reveal(RCLONE_HELLO).unwrap(), "hello");
        assert_eq!(reveal(RCLONE_EMPTY).unwrap(), "");
    }

    #[test]
    fn obscure_with_rclone_iv_reproduces_rclone_output() {
        let raw = ENGINE.decode(RCLONE_HELLO).unwrap();
        let iv: [u8; IV_SIZE] = raw[..IV_SIZE].try_into().unwrap();
        assert_eq!(obscure_with_iv("hello", iv), RCLONE_HELLO);
    }

    #[test]
    fn round_trip_empty_ascii_unicode_long() {
        let long = "x".repeat(10_000);
        for plain in ["", "a", " spaces around ", "pässwörd ✓ 密码", long.as_str()] {
            assert_eq!(reveal(&obscure(plain)).unwrap(), plain);
        }
    }

    #[test]
    fn obscure_uses_fresh_iv_each_time() {
        assert_ne!(obscure("same"), obscure("same"));
    }

    #[test]
    fn output_is_unpadded_base64url() {
        let out = obscure_with_iv("a?>~", [0xfb; IV_SIZE]);
        assert!(out
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
        assert_eq!(out.len(), (IV_SIZE + 4) * 4 / 3 + 1);
    }

    #[test]
    fn reveal_rejects_bad_base64() {
        for bad in [
            "not base64!",
            "abc/def+",
            "qUxXNlEDjamG0CPbTm9n2ZGCxuVm=",
            "a",
        ] {
            assert!(matches!(reveal(bad), Err(Error::BadObscured)), "{bad}");
        }
    }

    #[test]
    fn reveal_rejects_shorter_than_iv() {
        assert!(matches!(reveal(""), Err(Error::BadObscured)));
        // 15 bytes.
        assert!(matches!(
            reveal("AAAAAAAAAAAAAAAAAAAA"),
            Err(Error::BadObscured)
        ));
    }

    #[test]
    fn reveal_accepts_trailing_bits_like_rclone() {
        // rclone v1.75.2 reveals this (16 zero bytes, last character carries stray bits).
        assert_eq!(reveal("AAAAAAAAAAAAAAAAAAAAAB").unwrap(), "");
    }

    #[test]
    fn reveal_rejects_non_utf8_plaintext() {
        // Decodes to the bytes 0x44 0xdb under an all-zero IV (checked with `rclone reveal`).
        assert!(matches!(
            reveal("AAAAAAAAAAAAAAAAAAAAAAAA"),
            Err(Error::BadObscured)
        ));
    }

    #[test]
    fn tampered_value_reveals_different_text() {
        let good = obscure_with_iv("hello", [7; IV_SIZE]);
        let mut raw = ENGINE.decode(&good).unwrap();
        raw[IV_SIZE] ^= 0x01;
        assert_eq!(reveal(&ENGINE.encode(raw)).unwrap(), "iello");
    }
}
