//! Reading adapters: [`EncryptReader`] turns a plaintext source into an encrypted file,
//! [`DecryptReader`] an encrypted file back into plaintext.
//!
//! Both pull one block at a time from their source through the block core (`block.rs`), so
//! memory stays at one block whatever the file size. [`DecryptReader`] is also [`Seek`] when
//! its source is: positions are plaintext offsets; a seek maps the target to a block index,
//! repositions the source at that block, restarts the nonce counter there and skips the offset
//! within the block, so only the blocks actually read are decrypted. A seek within the block
//! already decrypted touches neither the source nor the cipher.

use std::io::{self, Read, Seek, SeekFrom};

use super::block::{read_via, Core, Opener, Sealer};
use super::{
    decrypted_size, ContentCipher, Nonce, BLOCK_DATA_SIZE, BLOCK_DATA_SIZE_U64, BLOCK_SIZE_U64,
    HEADER_SIZE_U64,
};
use crate::{Error, Result};

/// Encrypts the plaintext its inner reader yields: reading it gives the encrypted file
/// (header, then sealed blocks). Built by [`ContentCipher::encrypt_reader`].
pub struct EncryptReader<R> {
    inner: R,
    core: Sealer,
}

impl<R: Read> EncryptReader<R> {
    pub(super) fn new(cipher: &ContentCipher, inner: R, nonce: Nonce) -> EncryptReader<R> {
        EncryptReader {
            inner,
            core: Sealer::new(cipher, nonce),
        }
    }
}

impl<R> EncryptReader<R> {
    /// The file nonce, as written in the header.
    pub fn nonce(&self) -> Nonce {
        self.core.nonce()
    }

    /// The inner reader.
    pub fn get_ref(&self) -> &R {
        &self.inner
    }

    /// Gives back the inner reader; plaintext already taken from it but not yet handed out is
    /// lost.
    pub fn into_inner(self) -> R {
        self.inner
    }
}

impl<R: Read> Read for EncryptReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        read_via(&mut self.core, &mut self.inner, buf)
    }
}

/// Decrypts the encrypted file its inner reader yields: reading it gives the plaintext.
/// Built by [`ContentCipher::decrypt_reader`], which has already checked the header.
///
/// Errors come as `std::io::Error` (recover them with [`Error::from_io`]):
/// [`Error::Authentication`] for a tampered or damaged block (unless
/// [`pass_bad_blocks`](ContentCipher::with_pass_bad_blocks) is on), [`Error::ImpossibleSize`] for
/// a file that ends inside a block's tag. Such a failure is final: later reads repeat it until a
/// seek moves elsewhere.
pub struct DecryptReader<R> {
    inner: R,
    core: Opener,
    /// Plaintext offset of the next byte handed out.
    position: u64,
    /// Position of the header in the inner reader, found on the first seek.
    start: Option<u64>,
}

impl<R: Read> DecryptReader<R> {
    pub(super) fn new(cipher: &ContentCipher, mut inner: R) -> Result<DecryptReader<R>> {
        let mut core = Opener::new(cipher);
        while core.nonce().is_none() {
            let n = match inner.read(core.input_space()) {
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(Error::from_io(e)),
            };
            core.input(n)?;
        }
        Ok(DecryptReader {
            inner,
            core,
            position: 0,
            start: None,
        })
    }
}

impl<R> DecryptReader<R> {
    /// The file nonce read from the header.
    pub fn nonce(&self) -> Nonce {
        // The constructor only returns once the header, and so the nonce, has been read.
        self.core.nonce().unwrap_or(Nonce([0; super::NONCE_SIZE]))
    }

    /// How many blocks failed authentication and were passed as zeroes (always 0 unless
    /// [`pass_bad_blocks`](ContentCipher::with_pass_bad_blocks) is on).
    pub fn bad_blocks(&self) -> u64 {
        self.core.bad_blocks()
    }

    /// The inner reader.
    pub fn get_ref(&self) -> &R {
        &self.inner
    }

    /// Gives back the inner reader, positioned after the last block read.
    pub fn into_inner(self) -> R {
        self.inner
    }
}

impl<R: Read> Read for DecryptReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = read_via(&mut self.core, &mut self.inner, buf)?;
        self.position = self.position.saturating_add(n as u64);
        Ok(n)
    }
}

impl<R: Read + Seek> DecryptReader<R> {
    /// Where the header starts in the inner reader (found once, then remembered).
    fn start(&mut self) -> io::Result<u64> {
        if let Some(start) = self.start {
            return Ok(start);
        }
        let here = self.inner.stream_position()?;
        let start = here
            .checked_sub(self.core.consumed())
            .ok_or_else(|| io::Error::other("inner reader moved behind the decrypting reader"))?;
        self.start = Some(start);
        Ok(start)
    }
}

impl<R: Read + Seek> Seek for DecryptReader<R> {
    /// Seeks to a plaintext offset. `SeekFrom::End` measures the encrypted file by seeking the
    /// inner reader to its end, and fails with [`Error::ImpossibleSize`] if that size is
    /// impossible. Seeking past the end is allowed (reads then return 0); before the start it
    /// is [`Error::InvalidSeek`].
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        let start = self.start()?;
        let mut moved_inner = false;
        let target = match pos {
            SeekFrom::Start(n) => Ok(n),
            SeekFrom::Current(delta) => self
                .position
                .checked_add_signed(delta)
                .ok_or(Error::InvalidSeek),
            SeekFrom::End(delta) => {
                let end = self.inner.seek(SeekFrom::End(0))?;
                moved_inner = true;
                end.checked_sub(start)
                    .ok_or(Error::TooShort)
                    .and_then(decrypted_size)
                    .and_then(|size| size.checked_add_signed(delta).ok_or(Error::InvalidSeek))
            }
        };
        let target = match target {
            Ok(t) => t,
            Err(e) => {
                if moved_inner {
                    // Put the inner reader back where this reader expects it.
                    self.restart(self.position)?;
                }
                return Err(e.into_io());
            }
        };
        if !moved_inner {
            if let Some((index, len)) = self.core.loaded() {
                let block_start = index.saturating_mul(BLOCK_DATA_SIZE_U64);
                if let Some(offset) = target.checked_sub(block_start) {
                    if offset <= len as u64 {
                        self.core.rewind_within_loaded(offset as usize);
                        self.position = target;
                        return Ok(target);
                    }
                }
            }
        }
        self.restart(target)?;
        Ok(target)
    }
}

impl<R: Read + Seek> DecryptReader<R> {
    /// Repositions the inner reader at the block holding `target` and restarts there.
    fn restart(&mut self, target: u64) -> io::Result<()> {
        let start = self.start()?;
        let index = target / BLOCK_DATA_SIZE_U64;
        let skip = (target % BLOCK_DATA_SIZE_U64) as usize;
        debug_assert!(skip < BLOCK_DATA_SIZE);
        let offset = index
            .checked_mul(BLOCK_SIZE_U64)
            .and_then(|n| n.checked_add(HEADER_SIZE_U64))
            .ok_or_else(|| Error::InvalidSeek.into_io())?;
        let absolute = start
            .checked_add(offset)
            .ok_or_else(|| Error::InvalidSeek.into_io())?;
        self.inner.seek(SeekFrom::Start(absolute))?;
        self.core.restart_at_block(index, skip, offset);
        self.position = target;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::content::testing::{cipher, plaintext, SIZES};
    use crate::content::{encrypted_size, BLOCK_SIZE};
    use std::io::Cursor;

    fn encrypt(c: &ContentCipher, plain: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        c.encrypt_reader(plain).read_to_end(&mut out).unwrap();
        out
    }

    fn decrypt(c: &ContentCipher, sealed: &[u8]) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        c.decrypt_reader(sealed)?
            .read_to_end(&mut out)
            .map_err(Error::from_io)?;
        Ok(out)
    }

    /// Reads through `r` one byte at a time.
    fn read_bytewise(mut r: impl Read) -> io::Result<Vec<u8>> {
        let mut out = Vec::new();
        let mut byte = [0u8; 1];
        while r.read(&mut byte)? == 1 {
            out.push(byte[0]);
        }
        Ok(out)
    }

    /// A source that hands out at most `chunk` bytes per read and sometimes is interrupted.
    struct Trickle<'a> {
        data: &'a [u8],
        chunk: usize,
        calls: usize,
    }

    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            self.calls += 1;
            if self.calls.is_multiple_of(5) {
                return Err(io::ErrorKind::Interrupted.into());
            }
            let n = self.chunk.min(buf.len()).min(self.data.len());
            buf[..n].copy_from_slice(&self.data[..n]);
            self.data = &self.data[n..];
            Ok(n)
        }
    }

    #[test]
    fn round_trip_edge_sizes() {
        let c = cipher();
        for size in SIZES {
            let plain = plaintext(size);
            let sealed = encrypt(&c, &plain);
            assert_eq!(sealed.len() as u64, encrypted_size(size as u64), "{size}");
            assert_eq!(decrypt(&c, &sealed).unwrap(), plain, "{size}");
        }
    }

    #[test]
    fn empty_file_is_just_the_header() {
        let c = cipher();
        let r = c.encrypt_reader(&b""[..]);
        let nonce = r.nonce();
        let sealed = read_bytewise(r).unwrap();
        assert_eq!(sealed, nonce.header());
    }

    #[test]
    fn blocks_use_consecutive_nonces() {
        let c = cipher();
        let plain = plaintext(65536 + 10);
        let mut nonce = Nonce([0xff; 24]);
        nonce.0[23] = 0;
        let mut sealed = Vec::new();
        c.encrypt_reader_with_nonce(&plain[..], nonce)
            .read_to_end(&mut sealed)
            .unwrap();
        let mut expected = nonce.header().to_vec();
        c.seal_block(&nonce, &plain[..65536], &mut expected);
        c.seal_block(&nonce.add(1), &plain[65536..], &mut expected);
        assert_eq!(sealed, expected);
    }

    #[test]
    fn one_byte_reads_round_trip() {
        let c = cipher();
        for size in SIZES {
            let plain = plaintext(size);
            let sealed = read_bytewise(c.encrypt_reader(&plain[..])).unwrap();
            assert_eq!(sealed.len() as u64, encrypted_size(size as u64));
            let back = read_bytewise(c.decrypt_reader(&sealed[..]).unwrap()).unwrap();
            assert_eq!(back, plain, "{size}");
        }
    }

    #[test]
    fn trickling_interrupted_sources_round_trip() {
        let c = cipher();
        let plain = plaintext(3 * 65536 + 7);
        let mut sealed = Vec::new();
        c.encrypt_reader(Trickle {
            data: &plain,
            chunk: 1000,
            calls: 0,
        })
        .read_to_end(&mut sealed)
        .unwrap();
        let mut back = Vec::new();
        c.decrypt_reader(Trickle {
            data: &sealed,
            chunk: 777,
            calls: 0,
        })
        .unwrap()
        .read_to_end(&mut back)
        .unwrap();
        assert_eq!(back, plain);
    }

    #[test]
    fn wrong_key_fails_authentication() {
        let sealed = encrypt(&cipher(), b"secret");
        let other = crate::content::test_cipher(1);
        assert!(matches!(
            decrypt(&other, &sealed),
            Err(Error::Authentication)
        ));
    }

    #[test]
    fn header_shorter_than_thirty_two_bytes_is_too_short() {
        let c = cipher();
        let sealed = encrypt(&c, b"");
        for len in [0, 1, 8, 31] {
            assert!(matches!(
                c.decrypt_reader(&sealed[..len]),
                Err(Error::TooShort)
            ));
        }
        assert_eq!(decrypt(&c, &sealed).unwrap(), b"");
    }

    #[test]
    fn tampered_magic_is_bad_magic() {
        let c = cipher();
        let mut sealed = encrypt(&c, b"data");
        sealed[0] ^= 1;
        assert!(matches!(
            c.decrypt_reader(&sealed[..]),
            Err(Error::BadMagic)
        ));
    }

    #[test]
    fn tampered_nonce_tag_or_ciphertext_fails_authentication() {
        let c = cipher();
        let sealed = encrypt(&c, &plaintext(70_000));
        // Nonce byte, first block's tag, first block's ciphertext, last block's ciphertext.
        for at in [8, 31, 32, 47, 48, 32 + 30_000, sealed.len() - 1] {
            let mut bad = sealed.clone();
            bad[at] ^= 0x80;
            assert!(
                matches!(decrypt(&c, &bad), Err(Error::Authentication)),
                "byte {at}"
            );
        }
    }

    #[test]
    fn tampered_block_yields_no_plaintext_of_it() {
        let c = cipher();
        let plain = plaintext(2 * 65536);
        let mut sealed = encrypt(&c, &plain);
        sealed[32 + BLOCK_SIZE + 100] ^= 1;
        let mut r = c.decrypt_reader(&sealed[..]).unwrap();
        let mut out = vec![0u8; 2 * 65536];
        let mut got = 0;
        let err = loop {
            match r.read(&mut out[got..]) {
                Ok(0) => panic!("tampering went unnoticed"),
                Ok(n) => got += n,
                Err(e) => break e,
            }
        };
        assert_eq!(got, 65536);
        assert_eq!(&out[..got], &plain[..65536]);
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
        // The failure is final.
        assert!(matches!(
            Error::from_io(r.read(&mut out).unwrap_err()),
            Error::Authentication
        ));
    }

    #[test]
    fn truncated_file_is_never_a_short_plaintext() {
        let c = cipher();
        let sealed = encrypt(&c, &plaintext(2 * 65536 + 100));
        for cut in [1, 50, 100, 117, 65552 + 100, 65552 + 117, 65552 + 120] {
            let short = &sealed[..sealed.len() - cut];
            let err = decrypt(&c, short).unwrap_err();
            assert!(
                matches!(err, Error::ImpossibleSize(_) | Error::Authentication),
                "cut {cut}: {err}"
            );
        }
        // Ending inside a tag reports the size.
        let short = &sealed[..32 + 65552 + 10];
        assert!(matches!(
            decrypt(&c, short),
            Err(Error::ImpossibleSize(n)) if n == 32 + 65552 + 10
        ));
    }

    #[test]
    fn cut_at_a_block_boundary_is_undetectable_as_in_rclone() {
        // rclone's format has no length or last-block flag: dropping whole blocks at the end
        // leaves a valid shorter file. Size checks against the listing catch it elsewhere.
        let c = cipher();
        let plain = plaintext(2 * 65536);
        let sealed = encrypt(&c, &plain);
        assert_eq!(
            decrypt(&c, &sealed[..32 + BLOCK_SIZE]).unwrap(),
            &plain[..65536]
        );
    }

    #[test]
    fn extra_trailing_bytes_fail() {
        let c = cipher();
        for size in [0, 100, 65536] {
            let mut sealed = encrypt(&c, &plaintext(size));
            sealed.extend_from_slice(&[0u8; 5]);
            let err = decrypt(&c, &sealed).unwrap_err();
            assert!(
                matches!(err, Error::ImpossibleSize(_) | Error::Authentication),
                "{size}: {err}"
            );
        }
    }

    #[test]
    fn pass_bad_blocks_yields_zeroes_and_counts() {
        let c = cipher().with_pass_bad_blocks(true);
        let plain = plaintext(2 * 65536 + 100);
        let mut sealed = encrypt(&c, &plain);
        sealed[32 + BLOCK_SIZE + 5] ^= 1;
        let last = sealed.len() - 1;
        sealed[last] ^= 1;
        let mut r = c.decrypt_reader(&sealed[..]).unwrap();
        let mut out = Vec::new();
        r.read_to_end(&mut out).unwrap();
        assert_eq!(r.bad_blocks(), 2);
        assert_eq!(out.len(), plain.len());
        assert_eq!(&out[..65536], &plain[..65536]);
        assert!(out[65536..].iter().all(|&b| b == 0));
    }

    #[test]
    fn pass_bad_blocks_still_refuses_impossible_sizes() {
        let c = cipher().with_pass_bad_blocks(true);
        let sealed = encrypt(&c, &plaintext(65536 + 100));
        let short = &sealed[..32 + BLOCK_SIZE + 16];
        assert!(matches!(decrypt(&c, short), Err(Error::ImpossibleSize(_))));
    }

    #[test]
    fn into_inner_and_nonce() {
        let c = cipher();
        let sealed = encrypt(&c, b"abc");
        let mut r = c.decrypt_reader(Cursor::new(&sealed)).unwrap();
        assert_eq!(r.nonce(), Nonce::from_header(&sealed).unwrap());
        let mut out = Vec::new();
        r.read_to_end(&mut out).unwrap();
        assert_eq!(r.into_inner().position(), sealed.len() as u64);
    }

    fn seekable(c: &ContentCipher, plain: &[u8]) -> DecryptReader<Cursor<Vec<u8>>> {
        c.decrypt_reader(Cursor::new(encrypt(c, plain))).unwrap()
    }

    fn read_n(r: &mut impl Read, n: usize) -> Vec<u8> {
        let mut out = Vec::new();
        r.take(n as u64).read_to_end(&mut out).unwrap();
        out
    }

    #[test]
    fn seek_to_start_middle_and_block_boundaries() {
        let c = cipher();
        let plain = plaintext(3 * 65536 + 7);
        let mut r = seekable(&c, &plain);
        for target in [
            0,
            1,
            1000,
            65535,
            65536,
            65537,
            131072,
            3 * 65536,
            3 * 65536 + 6,
        ] {
            assert_eq!(r.seek(SeekFrom::Start(target)).unwrap(), target);
            let t = target as usize;
            let want = &plain[t..(t + 5000).min(plain.len())];
            assert_eq!(read_n(&mut r, 5000), want, "{target}");
        }
    }

    #[test]
    fn seek_from_end() {
        let c = cipher();
        for size in [0usize, 1, 65536, 65537, 3 * 65536 + 7] {
            let plain = plaintext(size);
            let mut r = seekable(&c, &plain);
            assert_eq!(r.seek(SeekFrom::End(0)).unwrap(), size as u64);
            assert!(read_n(&mut r, 10).is_empty());
            if size > 0 {
                assert_eq!(r.seek(SeekFrom::End(-1)).unwrap(), size as u64 - 1);
                assert_eq!(read_n(&mut r, 10), &plain[size - 1..]);
            }
            assert!(matches!(
                Error::from_io(r.seek(SeekFrom::End(-(size as i64) - 1)).unwrap_err()),
                Error::InvalidSeek
            ));
            // The failed seek left the reader usable where it was.
            assert_eq!(r.seek(SeekFrom::Start(0)).unwrap(), 0);
            assert_eq!(read_n(&mut r, usize::MAX), plain);
        }
    }

    #[test]
    fn seek_from_end_on_exact_block_multiple() {
        let c = cipher();
        let plain = plaintext(2 * 65536);
        let mut r = seekable(&c, &plain);
        assert_eq!(r.seek(SeekFrom::End(-65536)).unwrap(), 65536);
        assert_eq!(read_n(&mut r, usize::MAX), &plain[65536..]);
    }

    #[test]
    fn seek_after_reading_and_backwards() {
        let c = cipher();
        let plain = plaintext(3 * 65536 + 7);
        let mut r = seekable(&c, &plain);
        assert_eq!(read_n(&mut r, 70_000), &plain[..70_000]);
        assert_eq!(r.stream_position().unwrap(), 70_000);
        // Backwards within the loaded block, then into an earlier block, then relative.
        assert_eq!(r.seek(SeekFrom::Current(-1000)).unwrap(), 69_000);
        assert_eq!(read_n(&mut r, 2000), &plain[69_000..71_000]);
        assert_eq!(r.seek(SeekFrom::Start(10)).unwrap(), 10);
        assert_eq!(read_n(&mut r, 100), &plain[10..110]);
        assert_eq!(r.seek(SeekFrom::Current(196_500)).unwrap(), 196_610);
        assert_eq!(read_n(&mut r, 10), &plain[196_610..]);
        assert!(matches!(
            Error::from_io(r.seek(SeekFrom::Current(-300_000)).unwrap_err()),
            Error::InvalidSeek
        ));
    }

    #[test]
    fn seek_past_end_reads_nothing() {
        let c = cipher();
        let plain = plaintext(65537);
        let mut r = seekable(&c, &plain);
        assert_eq!(r.seek(SeekFrom::Start(1 << 40)).unwrap(), 1 << 40);
        assert!(read_n(&mut r, 10).is_empty());
        assert_eq!(r.seek(SeekFrom::Start(65536 + 5)).unwrap(), 65541);
        assert!(read_n(&mut r, 10).is_empty());
        assert!(r.seek(SeekFrom::Start(u64::MAX)).is_err());
    }

    #[test]
    fn seek_clears_a_failure_elsewhere() {
        let c = cipher();
        let plain = plaintext(2 * 65536);
        let mut sealed = encrypt(&c, &plain);
        sealed[40] ^= 1;
        let mut r = c.decrypt_reader(Cursor::new(sealed)).unwrap();
        assert!(r.read(&mut [0u8; 10]).is_err());
        r.seek(SeekFrom::Start(65536)).unwrap();
        assert_eq!(read_n(&mut r, usize::MAX), &plain[65536..]);
    }

    #[test]
    fn seek_only_decrypts_needed_blocks() {
        // A file whose first block is damaged still reads from the second block onwards.
        let c = cipher();
        let plain = plaintext(3 * 65536);
        let mut sealed = encrypt(&c, &plain);
        sealed[32 + 5] ^= 1;
        let mut r = c.decrypt_reader(Cursor::new(sealed)).unwrap();
        r.seek(SeekFrom::Start(2 * 65536 + 3)).unwrap();
        assert_eq!(read_n(&mut r, usize::MAX), &plain[2 * 65536 + 3..]);
    }

    #[test]
    fn seek_with_header_not_at_offset_zero() {
        let c = cipher();
        let plain = plaintext(65536 + 500);
        let mut data = b"prefix".to_vec();
        data.extend_from_slice(&encrypt(&c, &plain));
        let mut cursor = Cursor::new(data);
        cursor.set_position(6);
        let mut r = c.decrypt_reader(cursor).unwrap();
        assert_eq!(read_n(&mut r, 10), &plain[..10]);
        assert_eq!(r.seek(SeekFrom::End(-3)).unwrap(), 65536 + 497);
        assert_eq!(read_n(&mut r, 10), &plain[65536 + 497..]);
        r.seek(SeekFrom::Start(65530)).unwrap();
        assert_eq!(read_n(&mut r, 10), &plain[65530..65540]);
    }

    #[test]
    fn seek_from_end_of_impossible_size_fails() {
        let c = cipher();
        let mut sealed = encrypt(&c, &plaintext(65536));
        sealed.extend_from_slice(&[1, 2, 3]);
        let mut r = c.decrypt_reader(Cursor::new(sealed)).unwrap();
        assert!(matches!(
            Error::from_io(r.seek(SeekFrom::End(0)).unwrap_err()),
            Error::ImpossibleSize(_)
        ));
    }
}

#[cfg(test)]
mod memory {
    use super::*;
    use crate::Keys;

    /// Peak resident memory of this process (Linux `VmHWM`), if the kernel reports it.
    fn peak_rss_kib() -> Option<u64> {
        let status = std::fs::read_to_string("/proc/self/status").ok()?;
        let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
        line.split_whitespace().nth(1)?.parse().ok()
    }

    /// Streams 1 GiB through `EncryptReader` into `DecryptReader` into a sink and checks that
    /// peak memory stays far below the data size. Slow (several seconds): run with
    /// `cargo test -p poof-crypt --lib -- --ignored one_gib_pipeline --nocapture`.
    #[test]
    #[ignore]
    fn one_gib_pipeline_stays_small() {
        const SIZE: u64 = 1 << 30;
        let c = ContentCipher::new(&Keys::derive("", "").unwrap());
        let sealed = c.encrypt_reader(io::repeat(0).take(SIZE));
        let mut plain = c.decrypt_reader(sealed).unwrap();
        let copied = io::copy(&mut plain, &mut io::sink()).unwrap();
        assert_eq!(copied, SIZE);
        if let Some(kib) = peak_rss_kib() {
            println!("peak RSS after streaming 1 GiB: {kib} KiB");
            assert!(kib < 16 * 1024, "peak RSS {kib} KiB");
        }
    }
}
