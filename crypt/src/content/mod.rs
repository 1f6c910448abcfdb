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
