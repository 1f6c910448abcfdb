//! File and directory name encryption, as rclone's crypt remote does it.
//!
//! A path is encrypted one `/`-separated segment at a time, so the encrypted tree mirrors the
//! plain one. [`NameCipher`] holds a remote's settings and keys and works in one of three
//! modes ([`NameMode`], rclone's `filename_encryption`):
//!
//! - **standard**: the segment's UTF-8 bytes are PKCS#7-padded to whole 16-byte blocks,
//!   encrypted with EME over AES-256 under the name key and tweak (the `eme` module), and
//!   written as text in the remote's [`NameEncoding`] (the `encoding` module). Deterministic:
//!   the same name always gives the same text, so a listing can be translated and a path
//!   looked up.
//! - **obfuscate**: a keyed character rotation, `<N>.<rotated>` (see the obfuscate module).
//! - **off**: names stay as they are; the file (the last segment of a file path) gets a suffix,
//!   `.bin` unless the remote says otherwise.
//!
//! With directory name encryption off, directory segments (all but the last of a file path,
//! all of a directory path) stay plain in every mode.
//!
//! Decryption is stricter than rclone's: a decrypted segment that is empty, `.` or `..`, or
//! contains `/`, NUL or another control character is refused with [`Error::UnsafeName`], so a
//! hostile remote cannot steer a restore outside its target directory.
//!
//! Names here are in rclone's internal form; [`stored`] translates them to and from what a
//! local folder or an S3 bucket holds (raw control bytes where base32768 uses control pictures).
//!
//! ```
//! use poof_crypt::{Keys, NameCipher, NameEncoding, NameMode};
//!
//! let keys = Keys::derive("correct horse", "").unwrap();
//! let names = NameCipher::new(&keys, NameMode::Standard, NameEncoding::Base32, true, ".bin");
//! let enc = names.encrypt_file_name("photos/2024/beach.jpg");
//! assert_eq!(enc.split('/').count(), 3);
//! assert_eq!(names.decrypt_file_name(&enc).unwrap(), "photos/2024/beach.jpg");
//! ```

/// Gives an enum of an rclone option's values its `as_str` (the value as rclone spells it),
/// `Display`, and a `FromStr` that ignores case as rclone does and otherwise names the option
/// and every value it takes. One table per option, so a value is spelled in one place.
macro_rules! option_values {
    ($ty:ident, $option:literal, $what:literal, { $($variant:ident => $value:literal),+ $(,)? }) => {
        impl $ty {
            #[doc = concat!("The value of rclone's `", $option, "` option that selects this ", $what, ".")]
            pub fn as_str(self) -> &'static str {
                match self {
                    $($ty::$variant => $value,)+
                }
            }
        }

        impl ::std::fmt::Display for $ty {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ::std::str::FromStr for $ty {
            type Err = String;

            #[doc = concat!("Parses rclone's `", $option, "` values, ignoring case as rclone does.")]
            fn from_str(s: &str) -> ::std::result::Result<Self, Self::Err> {
                [$($ty::$variant),+]
                    .into_iter()
                    .find(|v| v.as_str().eq_ignore_ascii_case(s))
                    .ok_or_else(|| crate::name::unknown_value($option, s, &[$($value),+]))
            }
        }
    };
}

/// The error of an option value poof does not know: `unknown filename encryption "x":
/// expected standard, obfuscate or off`.
fn unknown_value(option: &str, given: &str, values: &[&str]) -> String {
    let what = option.replace('_', " ");
    let expected = match values.split_last() {
        Some((last, [])) => (*last).to_string(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
        None => String::new(),
    };
    format!("unknown {what} {given:?}: expected {expected}")
}

mod eme;
mod encoding;
mod obfuscate;
pub mod stored;

use std::fmt;

use aes::cipher::{generic_array::GenericArray, KeyInit};
use aes::Aes256;
use zeroize::Zeroizing;

use crate::error::{Error, Result};
use crate::key::{NAME_KEY_SIZE, NAME_TWEAK_SIZE};
use crate::Keys;

pub use encoding::NameEncoding;

/// The longest name segment, in UTF-8 bytes, that `standard` mode can encrypt: its padded form
/// must fit EME's 128 blocks (2048 bytes), and padding adds at least one byte. rclone refuses
/// longer names; [`NameCipher::encrypt_segment`] still returns text for them, but neither
/// rclone nor [`NameCipher::decrypt_segment`] will decrypt it.
pub const MAX_SEGMENT_LEN: usize = eme::MAX_LEN - 1;

/// The characters of the `standard`-mode encrypted name of a segment of `len` bytes: PKCS#7
/// pads the segment to the next whole 16-byte block (a whole block more when it fills its
/// last one), EME keeps that length, and `encoding` writes it
/// ([`NameEncoding::encoded_chars`]). A segment of 200 bytes pads to 208 and takes 333
/// base32 characters, 278 of base64, 111 of base32768.
pub fn encrypted_chars(len: usize, encoding: NameEncoding) -> usize {
    let padded = (len / eme::BLOCK_SIZE + 1) * eme::BLOCK_SIZE;
    encoding.encoded_chars(padded)
}

/// The longest segment, in bytes, whose `standard`-mode encrypted name takes at most
/// `max_chars` characters of `encoding` ([`encrypted_chars`]), and no more than
/// [`MAX_SEGMENT_LEN`]; `None` when not even one byte fits. A name of 255 characters holds a
/// segment of up to 143 bytes in base32, 175 in base64.
pub fn longest_segment(max_chars: usize, encoding: NameEncoding) -> Option<usize> {
    (1..=eme::MAX_BLOCKS)
        .map(|blocks| blocks * eme::BLOCK_SIZE)
        .take_while(|&padded| encoding.encoded_chars(padded) <= max_chars)
        .last()
        .map(|padded| padded - 1)
}

/// The file suffix of `off` mode when none is configured (rclone's default).
pub const DEFAULT_SUFFIX: &str = ".bin";
/// The `suffix` value that means "no suffix at all" (compared ignoring case, as rclone does).
pub const NO_SUFFIX: &str = "none";

/// How names are encrypted (rclone's `filename_encryption`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NameMode {
    /// EME over AES-256, then encoded. rclone's default.
    Standard,
    /// rclone's keyed character rotation: hides names from a glance, not from an attacker.
    Obfuscate,
    /// Names stay plain; files get a suffix.
    Off,
}

option_values!(NameMode, "filename_encryption", "mode", {
    Standard => "standard",
    Obfuscate => "obfuscate",
    Off => "off",
});

/// Encrypts and decrypts the names of one crypt remote.
///
/// Built from the remote's [`Keys`] and name settings; cheap to share by reference. The AES
/// round keys (wiped on drop by the `aes` crate) and the tweak are its only secrets; `Debug`
/// shows the settings only.
pub struct NameCipher {
    cipher: Aes256,
    tweak: Zeroizing<[u8; NAME_TWEAK_SIZE]>,
    /// Sum of the name-key bytes: obfuscate mode's rotation key.
    key_sum: Zeroizing<u64>,
    mode: NameMode,
    encoding: NameEncoding,
    dir_name_encryption: bool,
    /// The suffix files get in `off` mode, possibly empty.
    suffix: String,
}

impl fmt::Debug for NameCipher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NameCipher")
            .field("mode", &self.mode)
            .field("encoding", &self.encoding)
            .field("dir_name_encryption", &self.dir_name_encryption)
            .field("suffix", &self.suffix)
            .finish_non_exhaustive()
    }
}

impl NameCipher {
    /// Builds the name cipher of a remote from its keys and rclone's name options:
    /// `filename_encryption` (`mode`), `filename_encoding` (`encoding`),
    /// `directory_name_encryption` and `suffix`.
    ///
    /// `suffix` matters in `off` mode only and is read as rclone reads it: empty means the
    /// default [`DEFAULT_SUFFIX`] (`.bin`), `none` (any case) means no suffix, and a suffix
    /// without a leading `.` gets one.
    pub fn new(
        keys: &Keys,
        mode: NameMode,
        encoding: NameEncoding,
        dir_name_encryption: bool,
        suffix: &str,
    ) -> NameCipher {
        NameCipher::with_key(
            keys.name_key(),
            keys.name_tweak(),
            mode,
            encoding,
            dir_name_encryption,
            suffix,
        )
    }

    /// [`new`](Self::new) from the name key and tweak alone.
    fn with_key(
        name_key: &[u8; NAME_KEY_SIZE],
        tweak: &[u8; NAME_TWEAK_SIZE],
        mode: NameMode,
        encoding: NameEncoding,
        dir_name_encryption: bool,
        suffix: &str,
    ) -> NameCipher {
        let suffix = if suffix.is_empty() {
            DEFAULT_SUFFIX.to_owned()
        } else if suffix.eq_ignore_ascii_case(NO_SUFFIX) {
            String::new()
        } else if suffix.starts_with('.') {
            suffix.to_owned()
        } else {
            format!(".{suffix}")
        };
        NameCipher {
            cipher: Aes256::new(GenericArray::from_slice(name_key)),
            tweak: Zeroizing::new(*tweak),
            key_sum: obfuscate::key_sum(name_key),
            mode,
            encoding,
            dir_name_encryption,
            suffix,
        }
    }

    /// This cipher (the same keys, mode, directory setting and suffix) writing `standard`
    /// names in `encoding`: the names a remote with another `filename_encoding` would store.
    pub fn with_encoding(&self, encoding: NameEncoding) -> NameCipher {
        NameCipher {
            cipher: self.cipher.clone(),
            tweak: self.tweak.clone(),
            key_sum: self.key_sum.clone(),
            mode: self.mode,
            encoding,
            dir_name_encryption: self.dir_name_encryption,
            suffix: self.suffix.clone(),
        }
    }

    /// The name mode (`filename_encryption`).
    pub fn mode(&self) -> NameMode {
        self.mode
    }

    /// The encoding of `standard` mode (`filename_encoding`).
    pub fn encoding(&self) -> NameEncoding {
        self.encoding
    }

    /// Whether directory names are encrypted (`directory_name_encryption`).
    pub fn dir_name_encryption(&self) -> bool {
        self.dir_name_encryption
    }

    /// Encrypts one path segment (no `/` expected) in `standard` or `obfuscate` mode; in `off`
    /// mode returns it unchanged (without suffix). The empty segment stays empty.
    ///
    /// Segments longer than [`MAX_SEGMENT_LEN`] bytes exceed rclone's limit: the result is
    /// deterministic but cannot be decrypted.
    pub fn encrypt_segment(&self, segment: &str) -> String {
        if segment.is_empty() {
            return String::new();
        }
        match self.mode {
            NameMode::Standard => self.encrypt_standard(segment.as_bytes()),
            NameMode::Obfuscate => obfuscate::obfuscate(segment, *self.key_sum),
            NameMode::Off => segment.to_owned(),
        }
    }

    /// Decrypts one path segment, the reverse of [`encrypt_segment`](Self::encrypt_segment),
    /// and checks that the result is safe to use as a file or directory name.
    ///
    /// # Errors
    /// In `standard` mode: [`Error::BadEncoding`] if the text is not in the remote's encoding,
    /// [`Error::NotMultipleOfBlockSize`] if it decodes to nothing or to partial blocks,
    /// [`Error::NameTooLong`] beyond 2048 decoded bytes, [`Error::BadPadding`] if decryption
    /// does not end in valid padding (wrong password, or not an encrypted name).
    /// In `obfuscate` mode: [`Error::BadObfuscatedName`] if malformed.
    /// In every mode: [`Error::UnsafeName`] if the result is empty, `.`, `..`, not UTF-8, or
    /// contains `/` or a control character.
    pub fn decrypt_segment(&self, segment: &str) -> Result<String> {
        let plain = match self.mode {
            NameMode::Standard => self.decrypt_standard(segment)?,
            NameMode::Obfuscate => obfuscate::deobfuscate(segment, *self.key_sum)?,
            NameMode::Off => segment.to_owned(),
        };
        check_safe(&plain)?;
        Ok(plain)
    }

    /// Encrypts one segment given as bytes, as rclone does for names that are not UTF-8 (it
    /// encrypts the raw bytes). In `standard` mode the bytes are encrypted as they are; the
    /// other modes work on text and read the bytes as UTF-8, replacing what is not.
    pub fn encrypt_segment_bytes(&self, segment: &[u8]) -> String {
        match (self.mode, std::str::from_utf8(segment)) {
            (_, Ok(text)) => self.encrypt_segment(text),
            (NameMode::Standard, Err(_)) => self.encrypt_standard(segment),
            (_, Err(_)) => self.encrypt_segment(&String::from_utf8_lossy(segment)),
        }
    }

    /// Decrypts one segment to the bytes it holds, without [`decrypt_segment`]'s UTF-8 and
    /// control-character checks: the caller maps them (rclone's Standard name form) and checks
    /// what it will use.
    ///
    /// [`decrypt_segment`]: Self::decrypt_segment
    ///
    /// # Errors
    /// As [`decrypt_segment`](Self::decrypt_segment), except [`Error::UnsafeName`].
    pub fn decrypt_segment_bytes(&self, segment: &str) -> Result<Vec<u8>> {
        match self.mode {
            NameMode::Standard => self.decrypt_standard_bytes(segment),
            NameMode::Obfuscate => {
                obfuscate::deobfuscate(segment, *self.key_sum).map(String::into_bytes)
            }
            NameMode::Off => Ok(segment.as_bytes().to_vec()),
        }
    }

    /// `standard` mode's encryption of a non-empty segment: pad, EME, encode.
    fn encrypt_standard(&self, segment: &[u8]) -> String {
        let mut data = segment.to_vec();
        eme::pad(&mut data);
        // Padding made `data` a non-empty whole number of blocks, the only thing `transform`
        // checks, so this never fails.
        if eme::transform(
            &self.cipher,
            &self.tweak,
            &mut data,
            eme::Direction::Encrypt,
        )
        .is_err()
        {
            return String::new();
        }
        encoding::encode(self.encoding, &data)
    }

    fn decrypt_standard(&self, segment: &str) -> Result<String> {
        let data = self.decrypt_standard_bytes(segment)?;
        String::from_utf8(data).map_err(|e| {
            Error::UnsafeName(format!(
                "not valid UTF-8: {:?}",
                String::from_utf8_lossy(e.as_bytes())
            ))
        })
    }

    fn decrypt_standard_bytes(&self, segment: &str) -> Result<Vec<u8>> {
        let mut data = encoding::decode(self.encoding, segment)?;
        if data.is_empty() || data.len() % eme::BLOCK_SIZE != 0 {
            return Err(Error::NotMultipleOfBlockSize);
        }
        if data.len() > eme::MAX_LEN {
            return Err(Error::NameTooLong);
        }
        eme::transform(
            &self.cipher,
            &self.tweak,
            &mut data,
            eme::Direction::Decrypt,
        )?;
        eme::unpad(&mut data)?;
        Ok(data)
    }

    /// Encrypts a `/`-separated relative path whose last segment is a file, as rclone's
    /// `EncryptFileName` does: in `off` mode the suffix is appended; directory segments are
    /// encrypted only with directory name encryption on. `""` stays `""`.
    pub fn encrypt_file_name(&self, path: &str) -> String {
        if self.mode == NameMode::Off {
            return format!("{path}{}", self.suffix);
        }
        if path.is_empty() {
            return String::new();
        }
        let (dirs, leaf) = split_leaf(path);
        let leaf = self.encrypt_segment(leaf);
        match dirs {
            Some(dirs) => format!("{}/{leaf}", self.encrypt_dir_name(dirs)),
            None => leaf,
        }
    }

    /// Decrypts a path written by [`encrypt_file_name`](Self::encrypt_file_name). `""` stays
    /// `""`.
    ///
    /// # Errors
    /// As [`decrypt_segment`](Self::decrypt_segment) for any segment (directory segments are
    /// only checked for safety when directory name encryption is off), and in `off` mode
    /// [`Error::MissingSuffix`] if the file name does not end in the suffix or is nothing but
    /// the suffix.
    pub fn decrypt_file_name(&self, path: &str) -> Result<String> {
        if path.is_empty() && self.mode != NameMode::Off {
            return Ok(String::new());
        }
        let (dirs, leaf) = split_leaf(path);
        let leaf = if leaf.is_empty() && dirs.is_some() && self.mode != NameMode::Off {
            // `dir/` (a trailing slash): rclone keeps the empty last segment as it is.
            String::new()
        } else if self.mode == NameMode::Off {
            match leaf.strip_suffix(self.suffix.as_str()) {
                Some(stem) if !stem.is_empty() => self.decrypt_segment(stem)?,
                // `dir/sub/.bin`: rclone strips the suffix from the whole path.
                Some("") if dirs.is_some() => String::new(),
                _ => return Err(Error::MissingSuffix),
            }
        } else {
            self.decrypt_segment(leaf)?
        };
        match dirs {
            Some(dirs) => Ok(format!("{}/{leaf}", self.decrypt_dir_name(dirs)?)),
            None => Ok(leaf),
        }
    }

    /// Encrypts a `/`-separated relative path of directories, as rclone's `EncryptDirName`
    /// does: unchanged in `off` mode or with directory name encryption off. `""` stays `""`.
    pub fn encrypt_dir_name(&self, path: &str) -> String {
        if !self.encrypts_dirs() {
            return path.to_owned();
        }
        map_segments(path, |s| Ok(self.encrypt_segment(s))).unwrap_or_default()
    }

    /// Decrypts a path written by [`encrypt_dir_name`](Self::encrypt_dir_name). `""` stays
    /// `""`. Plain segments (directory name encryption off, or `off` mode) are still checked.
    ///
    /// # Errors
    /// As [`decrypt_segment`](Self::decrypt_segment), for the first bad segment.
    pub fn decrypt_dir_name(&self, path: &str) -> Result<String> {
        if self.encrypts_dirs() {
            map_segments(path, |s| self.decrypt_segment(s))
        } else {
            map_segments(path, |s| check_safe(s).map(|()| s.to_owned()))
        }
    }

    fn encrypts_dirs(&self) -> bool {
        self.dir_name_encryption && self.mode != NameMode::Off
    }
}

/// Applies `f` to every segment of a non-empty path; `""` stays `""`.
fn map_segments(path: &str, f: impl Fn(&str) -> Result<String>) -> Result<String> {
    if path.is_empty() {
        return Ok(String::new());
    }
    let segments = path.split('/').map(f).collect::<Result<Vec<_>>>()?;
    Ok(segments.join("/"))
}

/// Splits `dir/sub/leaf` into (`Some("dir/sub")`, `"leaf"`).
fn split_leaf(path: &str) -> (Option<&str>, &str) {
    match path.rsplit_once('/') {
        Some((dirs, leaf)) => (Some(dirs), leaf),
        None => (None, path),
    }
}

/// poof's rule for a decrypted segment: usable as one name on every platform's file system
/// without escaping its parent.
///
/// # Errors
/// [`Error::UnsafeName`] describing the problem; the name itself appears escaped (`{:?}`).
fn check_safe(name: &str) -> Result<()> {
    let why = if name.is_empty() {
        "empty name".to_owned()
    } else if name == "." || name == ".." {
        format!("{name:?} is not a name")
    } else if name.contains('/') {
        format!("{name:?} contains '/'")
    } else if name.chars().any(|c| c == '\0' || c.is_ascii_control()) {
        format!("{name:?} contains a control character")
    } else {
        return Ok(());
    };
    Err(Error::UnsafeName(why))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Asserts that `$result` is the error `$pattern`, and shows what it was otherwise.
    macro_rules! assert_err {
        ($result:expr, $pattern:pat) => {{
            let result = $result;
            assert!(matches!(result, Err($pattern)), "{result:?}");
        }};
    }

    /// A name key and tweak that are neither zero nor uniform (`Keys::derive` runs scrypt;
    /// these tests only need some key).
    fn cipher_with(
        seed: u8,
        mode: NameMode,
        encoding: NameEncoding,
        dirs: bool,
        suffix: &str,
    ) -> NameCipher {
        let key: [u8; NAME_KEY_SIZE] =
            std::array::from_fn(|i| seed.wrapping_mul(31).wrapping_add(i as u8 * 7));
        let tweak: [u8; NAME_TWEAK_SIZE] = std::array::from_fn(|i| seed ^ (i as u8 * 13));
        NameCipher::with_key(&key, &tweak, mode, encoding, dirs, suffix)
    }

    fn cipher(mode: NameMode, encoding: NameEncoding, dirs: bool, suffix: &str) -> NameCipher {
        cipher_with(1, mode, encoding, dirs, suffix)
    }

    fn standard(encoding: NameEncoding) -> NameCipher {
        cipher(NameMode::Standard, encoding, true, "")
    }

    /// Encrypts raw bytes exactly as `standard` mode would encrypt a name, so tests can
    /// present names rclone could write but poof must refuse.
    fn craft(c: &NameCipher, raw: &[u8]) -> String {
        let mut data = raw.to_vec();
        eme::pad(&mut data);
        eme::transform(&c.cipher, &c.tweak, &mut data, eme::Direction::Encrypt).unwrap();
        encoding::encode(c.encoding, &data)
    }

    const ENCODINGS: [NameEncoding; 3] = [
        NameEncoding::Base32,
        NameEncoding::Base64,
        NameEncoding::Base32768,
    ];

    const NAMES: [&str; 12] = [
        "a",
        "hello.txt",
        "exactly15bytes!",
        "exactly16bytes!!",
        "exactly17bytes!!!",
        "with spaces and.dots.",
        ".hidden",
        "...",
        "Ünïcödé ファイル 😀",
        "!quote!",
        "0123456789",
        "UPPER lower",
    ];

    #[test]
    fn encrypted_lengths_are_those_of_real_encrypted_names() {
        for encoding in ENCODINGS {
            let c = standard(encoding);
            for len in 1..=MAX_SEGMENT_LEN {
                let name = "n".repeat(len);
                let enc = c.encrypt_segment(&name);
                assert_eq!(
                    enc.chars().count(),
                    encrypted_chars(len, encoding),
                    "{encoding}, {len} bytes"
                );
                assert!(enc.len() <= encrypted_chars(len, encoding) * encoding.max_char_bytes());
            }
        }
        // Another cipher of the same keys in another encoding: what that remote would store.
        let base64 = standard(NameEncoding::Base32).with_encoding(NameEncoding::Base64);
        assert_eq!(
            base64.encrypt_segment("photo.jpg"),
            standard(NameEncoding::Base64).encrypt_segment("photo.jpg")
        );
    }

    #[test]
    fn the_longest_segment_is_the_last_whose_real_name_fits() {
        for encoding in ENCODINGS {
            let c = standard(encoding);
            for max_chars in [0, 25, 26, 255, 1024, 4000] {
                let chars = |len: usize| c.encrypt_segment(&"n".repeat(len)).chars().count();
                match longest_segment(max_chars, encoding) {
                    Some(longest) => {
                        assert!(chars(longest) <= max_chars, "{encoding} {max_chars}");
                        if longest < MAX_SEGMENT_LEN {
                            assert!(chars(longest + 1) > max_chars, "{encoding} {max_chars}");
                        }
                    }
                    None => assert!(chars(1) > max_chars, "{encoding} {max_chars}"),
                }
            }
        }
        // A 255-byte name (a local disk's): 143 bytes of base32, 175 of base64.
        assert_eq!(longest_segment(255, NameEncoding::Base32), Some(143));
        assert_eq!(longest_segment(255, NameEncoding::Base64), Some(175));
    }

    #[test]
    fn standard_round_trips_segments_in_every_encoding() {
        for encoding in ENCODINGS {
            let c = standard(encoding);
            for name in NAMES {
                let enc = c.encrypt_segment(name);
                assert_ne!(enc, name);
                assert!(!enc.contains('/'));
                assert_eq!(c.decrypt_segment(&enc).unwrap(), name, "{encoding}");
            }
        }
    }

    #[test]
    fn standard_round_trips_longest_segment() {
        let name = "é".repeat(MAX_SEGMENT_LEN / 2) + "x";
        assert_eq!(name.len(), MAX_SEGMENT_LEN);
        for encoding in ENCODINGS {
            let c = standard(encoding);
            assert_eq!(c.decrypt_segment(&c.encrypt_segment(&name)).unwrap(), name);
        }
    }

    #[test]
    fn standard_is_deterministic_and_keyed() {
        let a = standard(NameEncoding::Base32);
        let b = cipher_with(2, NameMode::Standard, NameEncoding::Base32, true, "");
        assert_eq!(a.encrypt_segment("x"), a.encrypt_segment("x"));
        assert_ne!(a.encrypt_segment("x"), b.encrypt_segment("x"));
    }

    #[test]
    fn base32_output_is_lower_case_and_decrypts_upper_case() {
        let c = standard(NameEncoding::Base32);
        let enc = c.encrypt_segment("report.pdf");
        assert_eq!(enc, enc.to_ascii_lowercase());
        assert_eq!(
            c.decrypt_segment(&enc.to_ascii_uppercase()).unwrap(),
            "report.pdf"
        );
    }

    #[test]
    fn block_boundaries_set_ciphertext_length() {
        let c = standard(NameEncoding::Base64);
        let len = |n: usize| {
            encoding::decode(c.encoding, &c.encrypt_segment(&"x".repeat(n)))
                .unwrap()
                .len()
        };
        assert_eq!(len(1), 16);
        assert_eq!(len(15), 16);
        assert_eq!(len(16), 32);
        assert_eq!(len(17), 32);
        assert_eq!(len(150), 160);
    }

    #[test]
    fn file_and_dir_paths_round_trip_in_every_mode() {
        for mode in [NameMode::Standard, NameMode::Obfuscate, NameMode::Off] {
            for encoding in ENCODINGS {
                for dirs in [true, false] {
                    let c = cipher(mode, encoding, dirs, "");
                    for path in ["f", "d/f", "d1/d 2/Ü.txt", "a/b/c/d/e"] {
                        let enc = c.encrypt_file_name(path);
                        assert_eq!(
                            c.decrypt_file_name(&enc).unwrap(),
                            path,
                            "{mode} {encoding}"
                        );
                        let enc = c.encrypt_dir_name(path);
                        assert_eq!(c.decrypt_dir_name(&enc).unwrap(), path, "{mode} {encoding}");
                    }
                }
            }
        }
    }

    #[test]
    fn dir_name_encryption_off_keeps_directories_plain() {
        for mode in [NameMode::Standard, NameMode::Obfuscate] {
            let c = cipher(mode, NameEncoding::Base32, false, "");
            let enc = c.encrypt_file_name("docs/2024/report.pdf");
            let (dirs, leaf) = enc.rsplit_once('/').unwrap();
            assert_eq!(dirs, "docs/2024");
            assert_eq!(leaf, c.encrypt_segment("report.pdf"));
            assert_eq!(c.encrypt_dir_name("docs/2024"), "docs/2024");
        }
    }

    #[test]
    fn dir_name_encryption_on_encrypts_every_segment() {
        let c = standard(NameEncoding::Base32);
        let enc = c.encrypt_file_name("docs/report.pdf");
        assert_eq!(
            enc,
            format!(
                "{}/{}",
                c.encrypt_segment("docs"),
                c.encrypt_segment("report.pdf")
            )
        );
        assert_eq!(
            c.encrypt_dir_name("docs/2024"),
            format!(
                "{}/{}",
                c.encrypt_segment("docs"),
                c.encrypt_segment("2024")
            )
        );
    }

    #[test]
    fn empty_path_stays_empty() {
        for mode in [NameMode::Standard, NameMode::Obfuscate, NameMode::Off] {
            let c = cipher(mode, NameEncoding::Base32, true, "");
            if mode == NameMode::Off {
                // As rclone: the empty file name gets the suffix, which alone is no name.
                assert_eq!(c.encrypt_file_name(""), ".bin");
                assert!(c.decrypt_file_name("").is_err());
            } else {
                assert_eq!(c.encrypt_file_name(""), "");
                assert_eq!(c.decrypt_file_name("").unwrap(), "");
            }
            assert_eq!(c.encrypt_dir_name(""), "");
            assert_eq!(c.decrypt_dir_name("").unwrap(), "");
        }
    }

    #[test]
    fn bad_encoding_is_reported() {
        let c = standard(NameEncoding::Base32);
        assert_err!(c.decrypt_segment("not base32!"), Error::BadEncoding);
        assert_err!(c.decrypt_segment("abc="), Error::BadEncoding);
    }

    #[test]
    fn empty_and_partial_block_names_are_reported() {
        let c = standard(NameEncoding::Base64);
        assert_err!(c.decrypt_segment(""), Error::NotMultipleOfBlockSize);
        let fifteen = encoding::encode(c.encoding, &[7; 15]);
        assert_err!(c.decrypt_segment(&fifteen), Error::NotMultipleOfBlockSize);
    }

    #[test]
    fn names_over_128_blocks_are_too_long() {
        let c = standard(NameEncoding::Base32);
        let long = encoding::encode(c.encoding, &[7; eme::MAX_LEN + eme::BLOCK_SIZE]);
        assert_err!(c.decrypt_segment(&long), Error::NameTooLong);
        // The longest plaintext rclone accepts is fine; one byte more is not decryptable.
        let too_long = "x".repeat(MAX_SEGMENT_LEN + 1);
        assert_err!(
            c.decrypt_segment(&c.encrypt_segment(&too_long)),
            Error::NameTooLong
        );
    }

    #[test]
    fn bad_padding_is_reported() {
        let c = standard(NameEncoding::Base32);
        // A block ending in 0 is never valid padding.
        let mut data = vec![0u8; eme::BLOCK_SIZE];
        eme::transform(&c.cipher, &c.tweak, &mut data, eme::Direction::Encrypt).unwrap();
        let text = encoding::encode(c.encoding, &data);
        assert_err!(c.decrypt_segment(&text), Error::BadPadding);
    }

    #[test]
    fn unsafe_decrypted_names_are_refused() {
        for encoding in ENCODINGS {
            let c = standard(encoding);
            for raw in [
                &b""[..],
                b".",
                b"..",
                b"a/b",
                b"/",
                b"nul\0",
                b"line\nbreak",
                b"del\x7f",
                b"\xff\xfe",
            ] {
                let text = craft(&c, raw);
                match c.decrypt_segment(&text) {
                    Err(Error::UnsafeName(why)) => {
                        assert!(!why.contains('\0') && !why.contains('\n'), "{why}")
                    }
                    other => panic!("{raw:?}: {other:?}"),
                }
            }
        }
    }

    #[test]
    fn byte_segments_round_trip_and_match_text_segments() {
        for encoding in ENCODINGS {
            let c = standard(encoding);
            for raw in [&b"\xffbad"[..], b"a\nb", b"\x80\x80"] {
                let text = c.encrypt_segment_bytes(raw);
                assert_eq!(c.decrypt_segment_bytes(&text).unwrap(), raw);
            }
            assert_eq!(
                c.encrypt_segment_bytes(b"plain"),
                c.encrypt_segment("plain")
            );
        }
    }

    #[test]
    fn unsafe_segment_inside_a_path_is_refused() {
        let c = standard(NameEncoding::Base32);
        let dotdot = craft(&c, b"..");
        let file = c.encrypt_segment("f");
        let path = format!("{dotdot}/{file}");
        assert_err!(c.decrypt_file_name(&path), Error::UnsafeName(_));
        assert_err!(c.decrypt_dir_name(&dotdot), Error::UnsafeName(_));
        let plain = cipher(NameMode::Standard, NameEncoding::Base32, false, "");
        assert_err!(
            plain.decrypt_file_name(&format!("../{file}")),
            Error::UnsafeName(_)
        );
        assert_err!(plain.decrypt_dir_name("a//b"), Error::UnsafeName(_));
    }

    #[test]
    fn obfuscate_round_trips_unicode_and_dots() {
        let c = cipher(NameMode::Obfuscate, NameEncoding::Base32, true, "");
        for name in NAMES
            .iter()
            .copied()
            .chain(["日本語", "Ωμέγα.txt", "a.b.c", "ÿ¡"])
        {
            let enc = c.encrypt_segment(name);
            assert_ne!(enc, name);
            assert_eq!(c.decrypt_segment(&enc).unwrap(), name);
        }
    }

    #[test]
    fn obfuscate_refuses_malformed_and_unsafe_names() {
        let c = cipher(NameMode::Obfuscate, NameEncoding::Base32, true, "");
        assert_err!(c.decrypt_segment("plain"), Error::BadObfuscatedName);
        assert_err!(c.decrypt_segment(""), Error::BadObfuscatedName);
        let dotdot = obfuscate::obfuscate("..", *c.key_sum);
        assert_err!(c.decrypt_segment(&dotdot), Error::UnsafeName(_));
        assert_err!(c.decrypt_segment("0."), Error::UnsafeName(_));
    }

    #[test]
    fn off_mode_appends_default_suffix_to_files_only() {
        let c = cipher(NameMode::Off, NameEncoding::Base32, true, "");
        assert_eq!(c.encrypt_file_name("dir/a.txt"), "dir/a.txt.bin");
        assert_eq!(c.encrypt_dir_name("dir/sub"), "dir/sub");
        assert_eq!(c.encrypt_segment("a.txt"), "a.txt");
        assert_eq!(c.decrypt_file_name("dir/a.txt.bin").unwrap(), "dir/a.txt");
        assert_eq!(c.decrypt_dir_name("dir/sub").unwrap(), "dir/sub");
    }

    #[test]
    fn off_mode_without_suffix_is_missing_suffix() {
        let c = cipher(NameMode::Off, NameEncoding::Base32, true, ".bin");
        assert_err!(c.decrypt_file_name("a.txt"), Error::MissingSuffix);
        assert_err!(c.decrypt_file_name("dir/a.bin.txt"), Error::MissingSuffix);
        assert_err!(c.decrypt_file_name(".bin"), Error::MissingSuffix);
        // What rclone writes for the path `dir/` (a trailing slash) decrypts back to it.
        assert_eq!(c.decrypt_file_name("dir/.bin").unwrap(), "dir/");
    }

    #[test]
    fn off_mode_custom_suffix_gains_a_dot() {
        let c = cipher(NameMode::Off, NameEncoding::Base32, true, "bak");
        assert_eq!(c.encrypt_file_name("a"), "a.bak");
        assert_eq!(c.decrypt_file_name("a.bak").unwrap(), "a");
        let c = cipher(NameMode::Off, NameEncoding::Base32, true, ".x.y");
        assert_eq!(c.encrypt_file_name("a"), "a.x.y");
    }

    #[test]
    fn off_mode_none_suffix_means_no_suffix() {
        for none in ["none", "NONE"] {
            let c = cipher(NameMode::Off, NameEncoding::Base32, true, none);
            assert_eq!(c.encrypt_file_name("d/a.txt"), "d/a.txt");
            assert_eq!(c.decrypt_file_name("d/a.txt").unwrap(), "d/a.txt");
        }
    }

    #[test]
    fn off_mode_still_refuses_unsafe_names() {
        let c = cipher(NameMode::Off, NameEncoding::Base32, true, "none");
        assert_err!(c.decrypt_file_name("../x"), Error::UnsafeName(_));
        assert_err!(c.decrypt_segment("a\tb"), Error::UnsafeName(_));
    }

    #[test]
    fn new_takes_name_key_and_tweak_from_keys() {
        // An empty password gives all-zero keys without running scrypt.
        let keys = Keys::derive("", "").unwrap();
        let a = NameCipher::new(&keys, NameMode::Standard, NameEncoding::Base32, true, "");
        let b = NameCipher::with_key(
            &[0; 32],
            &[0; 16],
            NameMode::Standard,
            NameEncoding::Base32,
            true,
            "",
        );
        assert_eq!(a.encrypt_segment("x"), b.encrypt_segment("x"));
    }

    #[test]
    fn accessors_report_settings() {
        let c = cipher(NameMode::Obfuscate, NameEncoding::Base32768, false, "");
        assert_eq!(c.mode(), NameMode::Obfuscate);
        assert_eq!(c.encoding(), NameEncoding::Base32768);
        assert!(!c.dir_name_encryption());
        let debug = format!("{c:?}");
        assert!(
            debug.contains("Obfuscate") && !debug.contains("cipher"),
            "{debug}"
        );
    }

    #[test]
    fn mode_names_parse_and_display() {
        for m in [NameMode::Standard, NameMode::Obfuscate, NameMode::Off] {
            assert_eq!(m.to_string().parse::<NameMode>().unwrap(), m);
        }
        assert_eq!("Standard".parse::<NameMode>().unwrap(), NameMode::Standard);
        let err = "encrypt".parse::<NameMode>().unwrap_err();
        assert!(err.contains("standard, obfuscate or off"), "{err}");
    }
}
