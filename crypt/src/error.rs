//! Errors of the crypt crate.
//!
//! Policy: this crate returns [`Error`] for every failure a caller can act on, one variant per
//! cause, with a message written for a user. Every authentication failure of the secretbox
//! primitive collapses into the single opaque [`Error::Authentication`] (the primitive does not
//! say why, and neither do we). I/O errors of wrapped readers and writers come back as
//! [`Error::Io`] with the original as `source()`; inside `std::io::Read`/`Write` adapters our own
//! errors travel wrapped in `std::io::Error` and can be recovered with [`Error::from_io`].
//! Callers add context (path, remote, section); they do not re-wrap.

use std::fmt;

/// Result alias of the crypt crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A failure of key derivation, name or content encryption, obscuring or config decryption.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// An encrypted name is not valid text in the configured encoding (base32, base64,
    /// base32768), e.g. base32 with `=` padding or characters outside the alphabet.
    BadEncoding,
    /// A decoded encrypted name is not a whole number of 16-byte AES blocks (or is empty).
    NotMultipleOfBlockSize,
    /// An encrypted name is longer than rclone ever produces (over 2048 decoded bytes).
    NameTooLong,
    /// A decrypted name has invalid PKCS#7 padding: wrong key, or not an encrypted name.
    BadPadding,
    /// A name in `off` mode lacks the configured suffix, so it is not an encrypted file.
    MissingSuffix,
    /// An obfuscated name is malformed (no `NUM.` prefix or a bad rotation number).
    BadObfuscatedName,
    /// A decrypted name is not safe to use as a path segment: empty, `.` or `..`, or
    /// containing `/`, a NUL or another control character, or not valid UTF-8.
    UnsafeName(String),
    /// The data does not start with rclone's `RCLONE\0\0` magic: not an encrypted file.
    BadMagic,
    /// The data is shorter than the 32-byte header.
    TooShort,
    /// A block failed authentication: wrong password, or tampered or damaged data.
    Authentication,
    /// A ciphertext length that no plaintext encrypts to (a truncated or padded file).
    ImpossibleSize(u64),
    /// A seek to a position before the start of the stream.
    InvalidSeek,
    /// An obscured password is not valid (bad base64, or too short to hold the IV).
    BadObscured,
    /// An encrypted rclone config file could not be decrypted: wrong password or damaged file.
    ConfigPassword,
    /// An encrypted rclone config file is malformed (the message says where).
    ConfigFormat(String),
    /// The password of an encrypted config file is needed but none was given.
    ConfigPasswordMissing,
    /// Key derivation failed (scrypt parameters rejected).
    KeyDerivation,
    /// An I/O error of the wrapped reader or writer.
    Io(std::io::Error),
}

impl Error {
    /// Recovers a crypt error carried inside an `std::io::Error` by the Read/Write adapters,
    /// or wraps a genuine I/O error as [`Error::Io`].
    pub fn from_io(err: std::io::Error) -> Error {
        if err.get_ref().is_some_and(|inner| inner.is::<Error>()) {
            match err.into_inner().map(|inner| inner.downcast::<Error>()) {
                Some(Ok(e)) => *e,
                _ => Error::Io(std::io::Error::other("crypt error")),
            }
        } else {
            Error::Io(err)
        }
    }

    /// Wraps this error for a `std::io::Read` or `Write` implementation, choosing the
    /// `io::ErrorKind` a caller would expect (`InvalidData` for bad ciphertext).
    pub fn into_io(self) -> std::io::Error {
        match self {
            Error::Io(e) => e,
            Error::InvalidSeek => std::io::Error::new(std::io::ErrorKind::InvalidInput, self),
            other => std::io::Error::new(std::io::ErrorKind::InvalidData, other),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::BadEncoding => f.write_str("encrypted name is not valid in its encoding"),
            Error::NotMultipleOfBlockSize => {
                f.write_str("encrypted name is not a multiple of the cipher block size")
            }
            Error::NameTooLong => f.write_str("encrypted name is too long"),
            Error::BadPadding => {
                f.write_str("encrypted name has bad padding after decryption (wrong password?)")
            }
            Error::MissingSuffix => {
                f.write_str("not an encrypted file name: the configured suffix is missing")
            }
            Error::BadObfuscatedName => f.write_str("malformed obfuscated name"),
            Error::UnsafeName(why) => write!(f, "decrypted name refused: {why}"),
            Error::BadMagic => f.write_str("not an encrypted file: bad magic string"),
            Error::TooShort => f.write_str("encrypted file is too short to hold the header"),
            Error::Authentication => f.write_str(
                "failed to authenticate decrypted block: wrong password, or the data is damaged",
            ),
            Error::ImpossibleSize(n) => write!(
                f,
                "encrypted size {n} is impossible: the file is truncated or has extra bytes"
            ),
            Error::InvalidSeek => f.write_str("seek to a negative position"),
            Error::BadObscured => f.write_str(
                "obscured password is invalid: not base64url, or too short (was it obscured?)",
            ),
            Error::ConfigPassword => f.write_str(
                "could not decrypt the rclone config file: wrong password (RCLONE_CONFIG_PASS) or damaged file",
            ),
            Error::ConfigFormat(msg) => write!(f, "encrypted rclone config file is malformed: {msg}"),
            Error::ConfigPasswordMissing => f.write_str(
                "the rclone config file is encrypted: set RCLONE_CONFIG_PASS or run interactively",
            ),
            Error::KeyDerivation => f.write_str("key derivation failed"),
            Error::Io(e) => write!(f, "I/O error: {e}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io(e) => Some(e),
            _ => None,
        }
    }
}

impl From<std::io::Error> for Error {
    fn from(err: std::io::Error) -> Self {
        Error::from_io(err)
    }
}

impl From<crypto_secretbox::aead::Error> for Error {
    fn from(_: crypto_secretbox::aead::Error) -> Self {
        Error::Authentication
    }
}
