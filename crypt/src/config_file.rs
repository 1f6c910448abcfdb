//! Encrypted rclone config files (`RCLONE_ENCRYPT_V0`).
//!
//! `rclone config encryption set` replaces the INI text of `rclone.conf` with:
//!
//! ```text
//! # Encrypted rclone configuration File
//!
//! RCLONE_ENCRYPT_V0:
//! <base64 (standard alphabet, padded) of: 24-byte nonce || secretbox(INI text)>
//! ```
//!
//! The secretbox is NaCl's XSalsa20-Poly1305 (16-byte tag before the ciphertext), keyed with
//! `SHA-256("[" + password + "][rclone-config]")`. Before the marker line, blank lines and
//! lines starting with `#` or `;` are skipped (surrounding whitespace ignored); line breaks
//! inside the base64 are ignored.
//!
//! Passwords, as rclone v1.75.2 treats them and as this module does: surrounding whitespace is
//! **kept** (rclone only warns that older versions stripped it), the password is normalised to
//! Unicode NFKC before hashing (full-width `ｐｗ` and `pw` open the same file, as do a decomposed
//! and a composed `é`), and a password that is empty or all whitespace is refused.
//!
//! [`is_encrypted`] tells an encrypted file from plain INI, [`decrypt`] opens one, [`encrypt`]
//! writes one that rclone opens.
//!
//! ```
//! use poof_crypt::config_file;
//!
//! let sealed = config_file::encrypt("[remote]\ntype = local\n\n", "hunter2");
//! assert!(config_file::is_encrypted(&sealed));
//! let plain = config_file::decrypt(&sealed, "hunter2").unwrap();
//! assert_eq!(plain.as_str(), "[remote]\ntype = local\n\n");
//! ```

use base64::alphabet;
use base64::engine::GeneralPurpose;
use base64::Engine as _;
use crypto_secretbox::aead::{AeadInPlace, KeyInit};
use crypto_secretbox::XSalsa20Poly1305;
use rand::RngCore;
use sha2::{Digest, Sha256};
use zeroize::{Zeroize, Zeroizing};

use crate::{Error, Result};

/// The line that starts the encrypted payload of an rclone config file.
pub const ENCRYPTED_MARKER: &str = "RCLONE_ENCRYPT_V0:";

/// The prefix every (present or future) encryption marker shares; an unknown version is refused.
const MARKER_PREFIX: &str = "RCLONE_ENCRYPT_V";

/// The comment line rclone writes above the marker.
const HEADER_COMMENT: &str = "# Encrypted rclone configuration File";

/// The text hashed around the password to make the key: `"[" + password + SUFFIX`.
const KEY_PREFIX: &str = "[";
/// See [`KEY_PREFIX`].
const KEY_SUFFIX: &str = "][rclone-config]";

/// Size of the secretbox key (SHA-256 output).
const KEY_SIZE: usize = 32;
/// Size of the random nonce that starts the payload.
const NONCE_SIZE: usize = 24;
/// Size of the Poly1305 tag that precedes the ciphertext.
const TAG_SIZE: usize = 16;
/// Smallest valid payload: a nonce and the tag of an empty config.
const MIN_PAYLOAD_SIZE: usize = NONCE_SIZE + TAG_SIZE;

/// Standard base64 with padding; like rclone, stray bits in the last character are accepted.
const ENGINE: GeneralPurpose = crate::obscure::rclone_base64(&alphabet::STANDARD, true);

/// What the first significant line of a config file says.
enum Kind<'a> {
    /// Plain INI (or an empty file).
    Plain,
    /// The `RCLONE_ENCRYPT_V0:` marker; the payload text follows.
    Encrypted(&'a str),
    /// A marker of another version (the whole trimmed line).
    Unsupported(&'a str),
}

/// Finds the first line that is neither blank nor a `#` / `;` comment and classifies the file.
fn classify(text: &str) -> Kind<'_> {
    let mut rest = text;
    while !rest.is_empty() {
        let (line, after) = match rest.find('\n') {
            Some(i) => (rest.get(..i).unwrap_or(""), rest.get(i + 1..).unwrap_or("")),
            None => (rest, ""),
        };
        rest = after;
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if line == ENCRYPTED_MARKER {
            return Kind::Encrypted(after);
        }
        if line.starts_with(MARKER_PREFIX) {
            return Kind::Unsupported(line);
        }
        return Kind::Plain;
    }
    Kind::Plain
}

/// Whether `text` is an encrypted rclone config file: its first line that is not blank or a
/// comment is an `RCLONE_ENCRYPT_V…` marker.
///
/// A marker of an unknown version counts as encrypted, so that [`decrypt`] reports it instead of
/// the text being parsed as INI.
pub fn is_encrypted(text: &str) -> bool {
    !matches!(classify(text), Kind::Plain)
}

/// Rejects the passwords rclone refuses: empty or all whitespace.
fn check_password(password: &str) -> Result<()> {
    if password.trim().is_empty() {
        Err(Error::ConfigPasswordMissing)
    } else {
        Ok(())
    }
}

/// The password as rclone hashes it: NFKC-normalised.
fn normalize_password(password: &str) -> Zeroizing<String> {
    use unicode_normalization::UnicodeNormalization;
    // Reserve generously so the zeroized buffer is unlikely to reallocate and leave a copy.
    let mut out = Zeroizing::new(String::with_capacity(password.len().saturating_mul(3)));
    out.extend(password.nfkc());
    out
}

/// The secretbox key: SHA-256 of `"[" + NFKC(password) + "][rclone-config]"`.
fn derive_key(password: &str) -> Zeroizing<[u8; KEY_SIZE]> {
    let password = normalize_password(password);
    let password = password.as_str();
    let mut seed = Zeroizing::new(String::with_capacity(
        KEY_PREFIX
            .len()
            .saturating_add(password.len())
            .saturating_add(KEY_SUFFIX.len()),
    ));
    seed.push_str(KEY_PREFIX);
    seed.push_str(password);
    seed.push_str(KEY_SUFFIX);
    let mut key = Zeroizing::new([0u8; KEY_SIZE]);
    Sha256::new()
        .chain_update(seed.as_bytes())
        .finalize_into(key.as_mut_slice().into());
    key
}

/// Decrypts an encrypted rclone config file, returning its INI text.
///
/// `password` is NFKC-normalised, and its surrounding whitespace is significant, as in rclone
/// v1.75.2.
///
/// # Errors
///
/// - [`Error::ConfigPasswordMissing`] if `password` is empty or all whitespace (rclone refuses
///   such passwords).
/// - [`Error::ConfigFormat`] if `text` is not an encrypted config, has an unsupported marker
///   version, has invalid base64, is too short, or decrypts to text that is not UTF-8.
/// - [`Error::ConfigPassword`] if authentication fails: wrong password, or the file was changed.
pub fn decrypt(text: &str, password: &str) -> Result<Zeroizing<String>> {
    let payload = match classify(text) {
        Kind::Encrypted(payload) => payload,
        Kind::Unsupported(line) => {
            let version: String = line.chars().take(40).collect();
            return Err(Error::ConfigFormat(format!(
                "unsupported encryption marker {version:?} (only {ENCRYPTED_MARKER} is known; \
                 a newer rclone wrote it)"
            )));
        }
        Kind::Plain => {
            return Err(Error::ConfigFormat(format!(
                "no {ENCRYPTED_MARKER} line: the file is not encrypted"
            )))
        }
    };
    check_password(password)?;

    let compact: Vec<u8> = payload
        .bytes()
        .filter(|b| *b != b'\n' && *b != b'\r')
        .collect();
    let data = ENGINE.decode(&compact).map_err(|e| {
        Error::ConfigFormat(format!(
            "the data after {ENCRYPTED_MARKER} is not base64: {e}"
        ))
    })?;
    if data.len() < MIN_PAYLOAD_SIZE {
        return Err(Error::ConfigFormat(format!(
            "encrypted data is {} bytes, shorter than the {MIN_PAYLOAD_SIZE}-byte minimum",
            data.len()
        )));
    }
    let (nonce, sealed) = data.split_at(NONCE_SIZE);
    let nonce = crypto_secretbox::Nonce::from_slice(nonce);

    let key = derive_key(password);
    let cipher = XSalsa20Poly1305::new(crypto_secretbox::Key::from_slice(key.as_slice()));
    let mut buf = Zeroizing::new(sealed.to_vec());
    cipher
        .decrypt_in_place(nonce, b"", &mut *buf)
        .map_err(|_| Error::ConfigPassword)?;

    match String::from_utf8(std::mem::take(&mut *buf)) {
        Ok(plain) => Ok(Zeroizing::new(plain)),
        Err(e) => {
            e.into_bytes().zeroize();
            Err(Error::ConfigFormat(
                "the decrypted config is not UTF-8 text".to_owned(),
            ))
        }
    }
}

/// Encrypts INI text into an rclone config file, byte for byte in rclone's layout (header
/// comment, blank line, marker line, base64 payload without a final newline), with a fresh
/// random nonce.
///
/// The caller must refuse passwords rclone refuses (empty or all whitespace) before calling:
/// such a file is written but rclone will not open it. The password is NFKC-normalised, as rclone
/// does.
pub fn encrypt(plain: &str, password: &str) -> String {
    let mut nonce = crypto_secretbox::Nonce::default();
    rand::rngs::OsRng.fill_bytes(&mut nonce);
    encrypt_with_nonce(plain, password, &nonce)
}

/// [`encrypt`] with a given nonce (deterministic, for tests).
fn encrypt_with_nonce(plain: &str, password: &str, nonce: &crypto_secretbox::Nonce) -> String {
    let key = derive_key(password);
    let cipher = XSalsa20Poly1305::new(crypto_secretbox::Key::from_slice(key.as_slice()));
    // Room for the tag up front, so the buffer never reallocates and leaves plaintext behind.
    let mut buf = Zeroizing::new(Vec::with_capacity(plain.len().saturating_add(TAG_SIZE)));
    buf.extend_from_slice(plain.as_bytes());
    // Cannot fail: the associated data is empty and a Vec grows as needed.
    let sealed = cipher.encrypt_in_place(nonce, b"", &mut *buf).is_ok();
    debug_assert!(sealed);

    let mut payload = Vec::with_capacity(NONCE_SIZE.saturating_add(buf.len()));
    payload.extend_from_slice(nonce);
    payload.extend_from_slice(&buf);
    format!(
        "{HEADER_COMMENT}\n\n{ENCRYPTED_MARKER}\n{}",
        ENGINE.encode(&payload)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const INI: &str = "[l]\ntype = local\n\n[c]\ntype = crypt\nremote = /tmp/x\n\n";

    /// Written by `rclone config encryption set` (v1.75.2) with password `pw`.
    const RCLONE_PW: &str = "# Encrypted rclone configuration File\n\nRCLONE_ENCRYPT_V0:\n\
        qlSAgmT36mCIjp5NL720Lj9jz9bjtixL/agI4MtIrfL1+gQ/TQpzlsPels82ZIbriyl6jH/hbZCsC8tNZgkTWMEybaXne/7AJm+aKXExn9jNguNYE4YXVViVY71fux2m2o9sBrjhJKWvBpUwoQ/sWAiATc7I188fD//FXtx48pUIGMOV0Qw=";
    const RCLONE_PW_PLAIN: &str = "[l]\ntype = local\n\n[c]\ntype = crypt\nremote = /tmp/x\npassword = -mTmqBQmZd-8pcBpqg05O6LopfAVow\n\n";

    #[test]
    fn decrypt_file_encrypted_by_rclone() {
        assert_eq!(decrypt(RCLONE_PW, "pw").unwrap().as_str(), RCLONE_PW_PLAIN);
    }

    #[test]
    fn encrypt_layout_matches_rclone() {
        let nonce = crypto_secretbox::Nonce::default();
        let out = encrypt_with_nonce(INI, "pw", &nonce);
        let mut lines = out.split('\n');
        assert_eq!(lines.next(), Some(HEADER_COMMENT));
        assert_eq!(lines.next(), Some(""));
        assert_eq!(lines.next(), Some(ENCRYPTED_MARKER));
        let b64 = lines.next().unwrap();
        assert!(lines.next().is_none(), "no trailing newline, like rclone");
        let raw = ENGINE.decode(b64).unwrap();
        assert_eq!(raw.len(), NONCE_SIZE + TAG_SIZE + INI.len());
    }

    #[test]
    fn round_trip_empty_small_large() {
        let large = "[x]\nkey = value\n".repeat(20_000);
        for plain in ["", INI, large.as_str(), "ünïcödé = ✓\n"] {
            let sealed = encrypt(plain, "secret");
            assert!(is_encrypted(&sealed));
            assert_eq!(decrypt(&sealed, "secret").unwrap().as_str(), plain);
        }
    }

    #[test]
    fn encrypt_uses_fresh_nonce() {
        assert_ne!(encrypt(INI, "pw"), encrypt(INI, "pw"));
    }

    #[test]
    fn wrong_password_is_config_password() {
        let sealed = encrypt(INI, "right");
        assert!(matches!(
            decrypt(&sealed, "wrong"),
            Err(Error::ConfigPassword)
        ));
        assert!(matches!(
            decrypt(RCLONE_PW, "PW"),
            Err(Error::ConfigPassword)
        ));
    }

    #[test]
    fn surrounding_whitespace_is_significant() {
        let sealed = encrypt(INI, " pw ");
        assert!(matches!(decrypt(&sealed, "pw"), Err(Error::ConfigPassword)));
        assert_eq!(decrypt(&sealed, " pw ").unwrap().as_str(), INI);
    }

    #[test]
    fn empty_or_blank_password_is_missing() {
        for pw in ["", "   ", "\t\n"] {
            assert!(matches!(
                decrypt(RCLONE_PW, pw),
                Err(Error::ConfigPasswordMissing)
            ));
        }
    }

    #[test]
    fn tampered_payload_is_config_password() {
        let sealed = encrypt(INI, "pw");
        let (head, b64) = sealed.rsplit_once('\n').unwrap();
        let mut raw = ENGINE.decode(b64).unwrap();
        for i in [0, NONCE_SIZE, NONCE_SIZE + TAG_SIZE, raw.len() - 1] {
            raw[i] ^= 0x80;
            let bad = format!("{head}\n{}", ENGINE.encode(&raw));
            assert!(
                matches!(decrypt(&bad, "pw"), Err(Error::ConfigPassword)),
                "byte {i}"
            );
            raw[i] ^= 0x80;
        }
        let truncated = format!("{head}\n{}", ENGINE.encode(&raw[..raw.len() - 1]));
        assert!(matches!(
            decrypt(&truncated, "pw"),
            Err(Error::ConfigPassword)
        ));
    }

    #[test]
    fn too_short_payload_is_config_format() {
        let short = format!(
            "{ENCRYPTED_MARKER}\n{}",
            ENGINE.encode([0u8; MIN_PAYLOAD_SIZE - 1])
        );
        assert!(matches!(decrypt(&short, "pw"), Err(Error::ConfigFormat(_))));
        let empty = format!("{ENCRYPTED_MARKER}\n");
        assert!(matches!(decrypt(&empty, "pw"), Err(Error::ConfigFormat(_))));
    }

    #[test]
    fn bad_base64_is_config_format() {
        for payload in ["not base64!", "AAAA AAAA", "AAA", "AAAAAA=="] {
            let text = format!("{ENCRYPTED_MARKER}\n{payload}");
            assert!(
                matches!(decrypt(&text, "pw"), Err(Error::ConfigFormat(_))),
                "{payload}"
            );
        }
    }

    #[test]
    fn non_utf8_plaintext_is_config_format() {
        let key = derive_key("pw");
        let cipher = XSalsa20Poly1305::new(crypto_secretbox::Key::from_slice(key.as_slice()));
        let nonce = crypto_secretbox::Nonce::default();
        let mut buf = vec![0xff, 0xfe];
        cipher.encrypt_in_place(&nonce, b"", &mut buf).unwrap();
        let mut payload = nonce.to_vec();
        payload.extend_from_slice(&buf);
        let text = format!("{ENCRYPTED_MARKER}\n{}", ENGINE.encode(payload));
        assert!(matches!(decrypt(&text, "pw"), Err(Error::ConfigFormat(_))));
    }

    #[test]
    fn comments_blank_lines_crlf_and_wrapped_base64_accepted() {
        let sealed = encrypt(INI, "pw");
        let b64 = sealed.rsplit_once('\n').unwrap().1;
        let (a, b) = b64.split_at(40);
        let text = format!(
            "\r\n# comment\r\n  ; other comment\r\n\t\r\n  {ENCRYPTED_MARKER}  \r\n{a}\r\n{b}\r\n\n"
        );
        assert!(is_encrypted(&text));
        assert_eq!(decrypt(&text, "pw").unwrap().as_str(), INI);
    }

    #[test]
    fn plain_ini_is_not_encrypted() {
        assert!(!is_encrypted(INI));
        assert!(!is_encrypted(""));
        assert!(!is_encrypted("# only a comment\n\n"));
        assert!(!is_encrypted("[s]\nx = RCLONE_ENCRYPT_V0:\n"));
        assert!(matches!(decrypt(INI, "pw"), Err(Error::ConfigFormat(_))));
    }

    #[test]
    fn marker_after_content_is_not_encrypted() {
        assert!(!is_encrypted(&format!("[s]\n{ENCRYPTED_MARKER}\nAAAA")));
    }

    #[test]
    fn unknown_marker_version_is_encrypted_but_unsupported() {
        let text = "RCLONE_ENCRYPT_V1:\nAAAA";
        assert!(is_encrypted(text));
        match decrypt(text, "pw") {
            Err(Error::ConfigFormat(msg)) => assert!(msg.contains("RCLONE_ENCRYPT_V1:")),
            other => panic!("unexpected {other:?}"),
        }
        // Text after the marker on its line makes it a different marker.
        assert!(matches!(
            decrypt(&format!("{ENCRYPTED_MARKER} x\nAAAA"), "pw"),
            Err(Error::ConfigFormat(_))
        ));
    }

    /// Written by `rclone config encryption set` with the full-width password `ｐｗ`.
    const RCLONE_FULLWIDTH: &str = "RCLONE_ENCRYPT_V0:\n\
        7jkR2ZapL0qYHcBbr3kcbzDzkz91dXLms+eL9EYHEmcY2RHuzMzzeXSkUTX3FcbF8nBpSZ04udfvww==";
    /// Written by `rclone config encryption set` with the password `e` + U+0301 (combining acute).
    const RCLONE_DECOMPOSED: &str = "RCLONE_ENCRYPT_V0:\n\
        NbdUq/rAvoLmF57oXTNVCw7fNaBp3bBieEhf05oPHeEzvcCOPcKm/MSFwr1k9Hkf4y3wqnyI/7WdxQ==";
    const SMALL: &str = "[s]\ntype = local\n\n";

    #[test]
    fn password_is_nfkc_normalised_like_rclone() {
        for pw in ["ｐｗ", "pw"] {
            assert_eq!(decrypt(RCLONE_FULLWIDTH, pw).unwrap().as_str(), SMALL);
        }
        for pw in ["e\u{301}", "\u{e9}"] {
            assert_eq!(decrypt(RCLONE_DECOMPOSED, pw).unwrap().as_str(), SMALL);
        }
        assert_eq!(decrypt(&encrypt(SMALL, "ﬁ"), "fi").unwrap().as_str(), SMALL);
    }

    #[test]
    fn key_is_sha256_of_bracketed_password() {
        let expected = Sha256::digest(b"[pw][rclone-config]");
        assert_eq!(derive_key("pw").as_slice(), expected.as_slice());
    }
}
