//! File and directory name encryption (STUB: being written).
use crate::{Keys, Result};

/// How names are encrypted (rclone's `filename_encryption`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NameMode {
    /// EME over AES-256, then encoded.
    Standard,
    /// rclone's rotation scheme.
    Obfuscate,
    /// Names stay plain; files get a suffix.
    Off,
}

/// Text encoding of encrypted names in `standard` mode (rclone's `filename_encoding`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NameEncoding {
    /// RFC 4648 hex alphabet, lower case, no padding.
    Base32,
    /// URL-safe base64, no padding.
    Base64,
    /// base32768.
    Base32768,
}

/// Encrypts and decrypts names of one crypt remote.
pub struct NameCipher {}

impl NameCipher {
    /// Builds a name cipher.
    pub fn new(
        _keys: &Keys,
        _mode: NameMode,
        _encoding: NameEncoding,
        _dir_name_encryption: bool,
        _suffix: &str,
    ) -> NameCipher {
        todo!()
    }
    /// Encrypts a file path.
    pub fn encrypt_file_name(&self, _path: &str) -> String {
        todo!()
    }
    /// Decrypts a file path.
    pub fn decrypt_file_name(&self, _path: &str) -> Result<String> {
        todo!()
    }
}
