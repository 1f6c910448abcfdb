//! rclone's crypt format, complete and byte-compatible: what `rclone crypt` writes, this crate
//! reads, and the reverse.
//!
//! A crypt remote has one password and an optional salt (`password2`). From them [`Keys`]
//! derives three secrets with scrypt: a data key, a name key and a name tweak.
//!
//! - **Names** ([`NameCipher`]): each path segment is encrypted on its own. `standard` mode
//!   pads with PKCS#7, encrypts with EME over AES-256 and encodes with base32 (hex alphabet, lower
//!   case), base64 (URL-safe) or base32768; `obfuscate` rotates characters; `off` only appends a
//!   suffix. Directory segments stay plain when directory name encryption is off.
//! - **Content** ([`ContentCipher`]): a 32-byte header (`RCLONE\0\0` and a random 24-byte nonce),
//!   then blocks of up to 64 KiB, each sealed with XSalsa20-Poly1305 under the nonce incremented
//!   once per block. [`content::encrypted_size`] and [`content::decrypted_size`] translate sizes
//!   exactly. Streams: [`EncryptReader`], [`DecryptReader`] (seekable when its source is),
//!   [`EncryptWriter`], [`DecryptWriter`]. Behind the `tokio` feature: async adapters
//!   (`ContentCipher::encrypt_async_reader`, `decrypt_async_reader`, `encrypt_async_writer`),
//!   ranged decryption from any block (`ContentCipher::decrypt_async_range`, with
//!   [`content::block_range`] saying which stored bytes to read), and batched parallel sealing
//!   and opening of a whole stream on tokio's blocking pool (`ContentCipher::encrypt_parallel`,
//!   `decrypt_parallel`). Blocks passed on as zeroes under `pass_bad_blocks` are recorded by
//!   index in a [`content::BadBlocks`] handle for the caller to report.
//! - **Passwords in config files** ([`obscure()`], [`reveal()`]) and **encrypted rclone config
//!   files** ([`config_file`]).
//!
//! This crate does no storage, network, printing or prompting.
//!
//! ```
//! use std::io::Read;
//! use poof_crypt::{ContentCipher, Keys, NameCipher, NameEncoding, NameMode};
//!
//! let keys = Keys::derive("correct horse", "").unwrap();
//! let names = NameCipher::new(&keys, NameMode::Standard, NameEncoding::Base32, true, ".bin");
//! let enc = names.encrypt_file_name("docs/report.pdf");
//! assert_eq!(names.decrypt_file_name(&enc).unwrap(), "docs/report.pdf");
//!
//! let content = ContentCipher::new(&keys);
//! let mut sealed = Vec::new();
//! content.encrypt_reader(&b"hello"[..]).read_to_end(&mut sealed).unwrap();
//! let mut plain = Vec::new();
//! content.decrypt_reader(&sealed[..]).unwrap().read_to_end(&mut plain).unwrap();
//! assert_eq!(plain, b"hello");
//! ```
// `deny`, not `forbid`: the AVX2 keystream (`content/secretbox/avx2.rs`) allows unsafe code for
// one function and its one call; nothing else may.
#![deny(unsafe_code)]
#![deny(missing_docs, rustdoc::broken_intra_doc_links)]

pub mod config_file;
pub mod content;
mod error;
mod key;
pub mod name;
mod obscure;

pub use content::{
    ContentCipher, DecryptReader, DecryptWriter, EncryptReader, EncryptWriter, Nonce,
};
pub use error::{Error, Result};
pub use key::{Keys, DATA_KEY_SIZE, DEFAULT_SALT, NAME_KEY_SIZE, NAME_TWEAK_SIZE};
pub use name::{NameCipher, NameEncoding, NameMode};
pub use obscure::{obscure, obscure_with_iv, reveal};

/// Version of this crate.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
