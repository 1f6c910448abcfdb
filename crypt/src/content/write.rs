//! Writing adapters: [`EncryptWriter`] encrypts what is written into it, [`DecryptWriter`]
//! decrypts an encrypted file written into it; both pass the result to an inner writer.
//!
//! Each collects one block through the block core (`block.rs`) and passes it on as soon as it
//! is complete. rclone's format has no end marker, so neither writer can tell on its own that
//! the data is over: each has an explicit `finish()` that MUST be called. It seals the last
//! partial block ([`EncryptWriter`]) or checks that the file did not stop inside a block or its
//! header ([`DecryptWriter`]), flushes the inner writer and gives it back. Dropping a writer
//! without `finish()` silently loses the last block.

use std::io::{self, Write};

use super::block::{drain_into, finish_into, write_via, Opener, Sealer};
use super::{ContentCipher, Nonce};
use crate::Result;

/// Encrypts what is written into it and writes the encrypted file (header, then sealed
/// blocks) into its inner writer. Built by [`ContentCipher::encrypt_writer`], which has already
/// written the header.
///
/// You MUST call [`EncryptWriter::finish`] when done, or the file is truncated: the last
/// partial block is only sealed there. `flush` passes on complete blocks only.
pub struct EncryptWriter<W: Write> {
    inner: W,
    core: Sealer,
}

impl<W: Write> EncryptWriter<W> {
    pub(super) fn new(cipher: &ContentCipher, mut inner: W, nonce: Nonce) -> Result<Self> {
        let mut core = Sealer::new(cipher, nonce);
        drain_into(&mut core, &mut inner)?;
        Ok(EncryptWriter { inner, core })
    }

    /// The file nonce, as written in the header.
    pub fn nonce(&self) -> Nonce {
        self.core.nonce()
    }

    /// Seals the last block, writes everything still buffered, flushes the inner writer and
    /// gives it back. MUST be called: without it the encrypted file is truncated.
    ///
    /// # Errors
    /// [`Error::Io`](crate::Error::Io) if writing or flushing the inner writer fails; the file
    /// is then incomplete.
    pub fn finish(mut self) -> Result<W> {
        finish_into(&mut self.core, &mut self.inner)?;
        Ok(self.inner)
    }
}

/// Decrypts the encrypted file written into it and writes the plaintext into its inner
/// writer. Built by [`ContentCipher::decrypt_writer`].
///
/// Writes fail (as `std::io::Error`; recover with
/// [`Error::from_io`](crate::Error::from_io)) with [`Error::BadMagic`](crate::Error::BadMagic)
/// once the header is seen to be wrong, and
/// [`Error::Authentication`](crate::Error::Authentication) for a tampered or damaged block
/// (unless [`pass_bad_blocks`](ContentCipher::with_pass_bad_blocks) is on); such a failure is
/// final. You MUST call [`DecryptWriter::finish`]: it decrypts the last
/// block and reports a truncated file.
pub struct DecryptWriter<W: Write> {
    inner: W,
    core: Opener,
}

impl<W: Write> DecryptWriter<W> {
    pub(super) fn new(cipher: &ContentCipher, inner: W) -> Self {
        DecryptWriter {
            inner,
            core: Opener::new(cipher),
        }
    }

    /// The file nonce, once the 32-byte header has been written in.
    pub fn nonce(&self) -> Option<Nonce> {
        self.core.nonce()
    }

    /// How many blocks failed authentication and were passed as zeroes (always 0 unless
    /// [`pass_bad_blocks`](ContentCipher::with_pass_bad_blocks) is on).
    pub fn bad_blocks(&self) -> u64 {
        self.core.bad_blocks()
    }

    /// Decrypts the last block, writes all remaining plaintext, flushes the inner writer and
    /// gives it back. MUST be called: the last block is only decrypted here.
    ///
    /// # Errors
    /// [`Error::TooShort`](crate::Error::TooShort) if less than the header was written;
    /// [`Error::ImpossibleSize`](crate::Error::ImpossibleSize) if the data ends inside a
    /// block's tag (a truncated file); [`Error::Authentication`](crate::Error::Authentication)
    /// if the last block fails authentication; an earlier failure of `write` again; or
    /// [`Error::Io`](crate::Error::Io) if writing or flushing the inner writer fails.
    pub fn finish(mut self) -> Result<W> {
        finish_into(&mut self.core, &mut self.inner)?;
        Ok(self.inner)
    }
}

/// `get_ref` and `Write` for a writer of this module: written bytes go through its core to the
/// inner writer as each block completes.
macro_rules! writer {
    ($writer:ident) => {
        impl<W: Write> $writer<W> {
            /// The inner writer.
            pub fn get_ref(&self) -> &W {
                &self.inner
            }
        }

        impl<W: Write> Write for $writer<W> {
            fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
                write_via(&mut self.core, &mut self.inner, buf)
            }

            /// Writes out the blocks completed so far and flushes the inner writer. An
            /// incomplete block stays buffered until more data or `finish()`.
            fn flush(&mut self) -> io::Result<()> {
                drain_into(&mut self.core, &mut self.inner)?;
                self.inner.flush()
            }
        }
    };
}

writer!(EncryptWriter);
writer!(DecryptWriter);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::content::testing::{cipher, plaintext, SIZES};
    use crate::content::{encrypted_size, BLOCK_SIZE};
    use crate::Error;
    use std::io::Read;

    fn encrypt(c: &ContentCipher, plain: &[u8], chunk: usize) -> Vec<u8> {
        let mut w = c.encrypt_writer(Vec::new()).unwrap();
        for piece in plain.chunks(chunk) {
            w.write_all(piece).unwrap();
        }
        w.finish().unwrap()
    }

    fn decrypt(c: &ContentCipher, sealed: &[u8], chunk: usize) -> Result<Vec<u8>> {
        let mut w = c.decrypt_writer(Vec::new());
        for piece in sealed.chunks(chunk) {
            w.write_all(piece).map_err(Error::from_io)?;
        }
        w.finish()
    }

    #[test]
    fn round_trip_edge_sizes() {
        let c = cipher();
        for size in SIZES {
            let plain = plaintext(size);
            for chunk in [1, 1000, 65536, 1 << 20] {
                if chunk == 1 && size > 70_000 {
                    continue;
                }
                let sealed = encrypt(&c, &plain, chunk);
                assert_eq!(sealed.len() as u64, encrypted_size(size as u64));
                assert_eq!(
                    decrypt(&c, &sealed, chunk).unwrap(),
                    plain,
                    "{size}/{chunk}"
                );
            }
        }
    }

    #[test]
    fn one_byte_writes_of_multi_block_file() {
        let c = cipher();
        let plain = plaintext(3 * 65536 + 7);
        let sealed = encrypt(&c, &plain, 1);
        assert_eq!(decrypt(&c, &sealed, 1).unwrap(), plain);
    }

    #[test]
    fn writer_output_matches_reader_output() {
        let c = cipher();
        let plain = plaintext(65536 * 2 + 3);
        let nonce = Nonce::random();
        let mut w = c.encrypt_writer_with_nonce(Vec::new(), nonce).unwrap();
        assert_eq!(w.nonce(), nonce);
        w.write_all(&plain).unwrap();
        let from_writer = w.finish().unwrap();
        let mut from_reader = Vec::new();
        c.encrypt_reader_with_nonce(&plain[..], nonce)
            .read_to_end(&mut from_reader)
            .unwrap();
        assert_eq!(from_writer, from_reader);
    }

    #[test]
    fn header_is_written_at_once() {
        let c = cipher();
        let w = c.encrypt_writer(Vec::new()).unwrap();
        assert_eq!(w.get_ref(), &w.nonce().header());
    }

    #[test]
    fn flush_passes_on_complete_blocks_only() {
        let c = cipher();
        let mut w = c.encrypt_writer(Vec::new()).unwrap();
        w.write_all(&plaintext(65536 + 10)).unwrap();
        w.flush().unwrap();
        assert_eq!(w.get_ref().len(), 32 + BLOCK_SIZE);
        assert_eq!(w.finish().unwrap().len(), 32 + BLOCK_SIZE + 26);
    }

    #[test]
    fn drop_without_finish_truncates() {
        let c = cipher();
        let mut out = Vec::new();
        {
            let mut w = c.encrypt_writer(&mut out).unwrap();
            w.write_all(b"lost").unwrap();
        }
        assert_eq!(out.len(), 32);
    }

    #[test]
    fn decrypt_writer_reports_nonce_after_header() {
        let c = cipher();
        let sealed = encrypt(&c, b"abc", 10);
        let mut w = c.decrypt_writer(Vec::new());
        w.write_all(&sealed[..31]).unwrap();
        assert_eq!(w.nonce(), None);
        w.write_all(&sealed[31..]).unwrap();
        assert_eq!(w.nonce(), Some(Nonce::from_header(&sealed).unwrap()));
        assert_eq!(w.finish().unwrap(), b"abc");
    }

    #[test]
    fn decrypt_writer_short_header_is_too_short() {
        let c = cipher();
        let sealed = encrypt(&c, b"", 10);
        for len in [0, 1, 31] {
            assert!(matches!(
                decrypt(&c, &sealed[..len], 7),
                Err(Error::TooShort)
            ));
        }
    }

    #[test]
    fn decrypt_writer_bad_magic() {
        let c = cipher();
        let mut sealed = encrypt(&c, b"data", 10);
        sealed[3] = 0;
        assert!(matches!(decrypt(&c, &sealed, 100), Err(Error::BadMagic)));
    }

    #[test]
    fn decrypt_writer_truncated_file() {
        let c = cipher();
        let sealed = encrypt(&c, &plaintext(65536 + 100), 4096);
        let cut = &sealed[..32 + BLOCK_SIZE + 16];
        assert!(matches!(
            decrypt(&c, cut, 4096),
            Err(Error::ImpossibleSize(n)) if n == (32 + BLOCK_SIZE + 16) as u64
        ));
        let cut = &sealed[..sealed.len() - 1];
        assert!(matches!(decrypt(&c, cut, 4096), Err(Error::Authentication)));
    }

    #[test]
    fn decrypt_writer_extra_trailing_bytes() {
        let c = cipher();
        let mut sealed = encrypt(&c, &plaintext(65536), 4096);
        sealed.push(0);
        assert!(matches!(
            decrypt(&c, &sealed, 4096),
            Err(Error::ImpossibleSize(_))
        ));
    }

    #[test]
    fn decrypt_writer_tampered_block_is_final() {
        let c = cipher();
        let mut sealed = encrypt(&c, &plaintext(3 * 65536), 4096);
        sealed[32 + 20] ^= 1;
        let mut w = c.decrypt_writer(Vec::new());
        let err = w.write_all(&sealed).unwrap_err();
        assert!(matches!(Error::from_io(err), Error::Authentication));
        assert!(w.get_ref().is_empty());
        assert!(w.write(b"more").is_err());
        assert!(matches!(w.finish(), Err(Error::Authentication)));
    }

    #[test]
    fn decrypt_writer_pass_bad_blocks() {
        let c = cipher().with_pass_bad_blocks(true);
        let plain = plaintext(65536 + 50);
        let mut sealed = encrypt(&c, &plain, 4096);
        sealed[32 + 20] ^= 1;
        let mut w = c.decrypt_writer(Vec::new());
        w.write_all(&sealed).unwrap();
        assert_eq!(w.bad_blocks(), 1);
        let out = w.finish().unwrap();
        assert!(out[..65536].iter().all(|&b| b == 0));
        assert_eq!(&out[65536..], &plain[65536..]);
    }

    /// A writer that accepts a few bytes per call and fails every third of its first 30 calls.
    struct Flaky {
        out: Vec<u8>,
        calls: usize,
    }

    impl Write for Flaky {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.calls += 1;
            if self.calls.is_multiple_of(3) && self.calls <= 30 {
                return Err(io::Error::other("transient"));
            }
            let n = buf.len().min(5000);
            self.out.extend_from_slice(&buf[..n]);
            Ok(n)
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn inner_write_errors_lose_nothing_on_retry() {
        let c = cipher();
        let plain = plaintext(2 * 65536 + 99);
        let mut w = c
            .encrypt_writer(Flaky {
                out: Vec::new(),
                calls: 1,
            })
            .unwrap();
        let mut rest = &plain[..];
        while !rest.is_empty() {
            match w.write(rest) {
                Ok(n) => rest = &rest[n..],
                Err(e) => assert_eq!(e.to_string(), "transient"),
            }
        }
        let sealed = loop {
            // finish consumes the writer, so retry on a flush first.
            match w.flush() {
                Ok(()) => break w.finish().unwrap().out,
                Err(e) => assert_eq!(e.to_string(), "transient"),
            }
        };
        assert_eq!(decrypt(&c, &sealed, 999).unwrap(), plain);
    }
}
