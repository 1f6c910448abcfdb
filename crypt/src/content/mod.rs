//! Content encryption (STUB: being written).
use std::io::Read;

use crate::{Keys, Result};

/// A 24-byte nonce.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Nonce(pub [u8; 24]);

/// Seals and opens file contents.
#[derive(Clone)]
pub struct ContentCipher {}

impl ContentCipher {
    /// Builds the content cipher from the data key.
    pub fn new(_keys: &Keys) -> ContentCipher {
        todo!()
    }
    /// Encrypting reader.
    pub fn encrypt_reader<R: Read>(&self, _r: R) -> EncryptReader<R> {
        todo!()
    }
    /// Decrypting reader.
    pub fn decrypt_reader<R: Read>(&self, _r: R) -> Result<DecryptReader<R>> {
        todo!()
    }
}

/// Encrypting reader.
pub struct EncryptReader<R>(R);
impl<R: Read> Read for EncryptReader<R> {
    fn read(&mut self, _buf: &mut [u8]) -> std::io::Result<usize> {
        todo!()
    }
}
/// Decrypting reader.
pub struct DecryptReader<R>(R);
impl<R: Read> Read for DecryptReader<R> {
    fn read(&mut self, _buf: &mut [u8]) -> std::io::Result<usize> {
        todo!()
    }
}
/// Encrypting writer.
pub struct EncryptWriter<W>(W);
/// Decrypting writer.
pub struct DecryptWriter<W>(W);

// TEMP (h-storage): API surface of the real content module, reverted before merging main.
/// Header size.
pub const HEADER_SIZE: usize = 32;
/// Block data size.
pub const BLOCK_DATA_SIZE: usize = 64 * 1024;
/// Block size.
pub const BLOCK_SIZE: usize = 16 + BLOCK_DATA_SIZE;
/// Encrypted size.
pub fn encrypted_size(_plain: u64) -> u64 {
    todo!()
}
/// Decrypted size.
pub fn decrypted_size(_encrypted: u64) -> Result<u64> {
    todo!()
}
impl Nonce {
    /// Nonce plus blocks.
    pub fn add(&self, _blocks: u64) -> Nonce {
        todo!()
    }
    /// Nonce from header.
    pub fn from_header(_header: &[u8]) -> Result<Nonce> {
        todo!()
    }
}
impl ContentCipher {
    /// Pass bad blocks.
    pub fn with_pass_bad_blocks(self, _pass: bool) -> ContentCipher {
        todo!()
    }
    /// Open one block.
    pub fn open_block(&self, _nonce: &Nonce, _sealed: &[u8], _out: &mut Vec<u8>) -> Result<()> {
        todo!()
    }
    /// Async encrypting reader.
    pub fn encrypt_async_reader<R>(&self, inner: R) -> AsyncEncryptReader<R> {
        AsyncEncryptReader(inner)
    }
}
/// Async encrypting reader.
pub struct AsyncEncryptReader<R>(R);
#[cfg(feature = "tokio")]
impl<R: tokio::io::AsyncRead + Unpin> tokio::io::AsyncRead for AsyncEncryptReader<R> {
    fn poll_read(
        self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
        _buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        todo!()
    }
}
