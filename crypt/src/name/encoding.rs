//! Text encodings of encrypted names: rclone's `filename_encoding` option.
//!
//! An EME ciphertext is binary; before it becomes a file name it is written as text in one of
//! three encodings, chosen per remote by [`NameEncoding`]:
//!
//! - **base32**: RFC 4648's "extended hex" alphabet (`0-9a-v`), lower case, without `=`
//!   padding. Decoding ignores case (rclone's default; safe on case-insensitive storage).
//! - **base64**: RFC 4648's URL- and file-name-safe alphabet (`A-Za-z0-9-_`), without padding.
//! - **base32768**: qntm's encoding of 15 bits per character, every character taken from the
//!   Basic Multilingual Plane, so one UTF-16 code unit carries 15 bits. Storage that counts name
//!   length in UTF-16 units or code points (OneDrive, Dropbox) fits longer names this way.
//!
//! All three pack bits most significant first. [`encode`] never fails; [`decode`] refuses
//! anything it would not itself produce (apart from letter case in base32), with
//! [`Error::BadEncoding`]. That is stricter than rclone, which also accepts non-zero fill bits
//! in the last character (and, for base32768, padding bits that are not all ones): rclone never
//! writes such names, and refusing them keeps one encrypted spelling per name (up to case).

use crate::error::{Error, Result};

/// Text encoding of encrypted names in `standard` mode (rclone's `filename_encoding`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NameEncoding {
    /// RFC 4648 "extended hex" alphabet (`0-9a-v`), lower case, no padding. rclone's default.
    Base32,
    /// RFC 4648 URL-safe alphabet (`A-Za-z0-9-_`), no padding. Needs case-sensitive storage.
    Base64,
    /// qntm's base32768: 15 bits per character, all from the Basic Multilingual Plane.
    Base32768,
}

option_values!(NameEncoding, "filename_encoding", "encoding", {
    Base32 => "base32",
    Base64 => "base64",
    Base32768 => "base32768",
});

impl NameEncoding {
    /// The bits one character carries: 5 (base32), 6 (base64), 15 (base32768).
    pub fn bits_per_char(self) -> u32 {
        match self {
            NameEncoding::Base32 => BASE32_BITS,
            NameEncoding::Base64 => BASE64_BITS,
            NameEncoding::Base32768 => BASE32768_BITS,
        }
    }

    /// The characters `len` bytes of data take: `ceil(8 * len / bits)`, without padding
    /// (base32768 ends in one character of its short repertoire when 7 bits or fewer are
    /// left over).
    pub fn encoded_chars(self, len: usize) -> usize {
        (len * BITS_PER_BYTE as usize).div_ceil(self.bits_per_char() as usize)
    }

    /// The most bytes of UTF-8 one character takes: 1 for base32 and base64 (ASCII), 3 for
    /// base32768 (whose characters take 2 or 3, depending on the data).
    pub fn max_char_bytes(self) -> usize {
        match self {
            NameEncoding::Base32 | NameEncoding::Base64 => 1,
            NameEncoding::Base32768 => 3,
        }
    }
}

/// Encodes binary data (an encrypted name) as text.
pub(crate) fn encode(encoding: NameEncoding, data: &[u8]) -> String {
    match encoding {
        NameEncoding::Base32 => encode_radix(data, BASE32_BITS, BASE32_ALPHABET),
        NameEncoding::Base64 => encode_radix(data, BASE64_BITS, BASE64_ALPHABET),
        NameEncoding::Base32768 => encode_base32768(data),
    }
}

/// Decodes text written by [`encode`].
///
/// # Errors
/// [`Error::BadEncoding`] for a character outside the alphabet, `=` padding, a length no
/// encoding produces, or non-zero (base32, base64) or wrong (base32768) trailing pad bits.
pub(crate) fn decode(encoding: NameEncoding, text: &str) -> Result<Vec<u8>> {
    match encoding {
        NameEncoding::Base32 => decode_radix(text, BASE32_BITS, base32_value),
        NameEncoding::Base64 => decode_radix(text, BASE64_BITS, base64_value),
        NameEncoding::Base32768 => decode_base32768(text),
    }
}

const BITS_PER_BYTE: u32 = 8;

/// base32 carries 5 bits per character.
const BASE32_BITS: u32 = 5;
/// RFC 4648 section 7 ("base32hex"), lower case as rclone writes it.
const BASE32_ALPHABET: &[u8; 1 << BASE32_BITS] = b"0123456789abcdefghijklmnopqrstuv";

/// base64 carries 6 bits per character.
const BASE64_BITS: u32 = 6;
/// RFC 4648 section 5 ("base64url").
const BASE64_ALPHABET: &[u8; 1 << BASE64_BITS] =
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

fn base32_value(c: char) -> Option<u32> {
    match c {
        '0'..='9' => Some(u32::from(c) - u32::from('0')),
        'a'..='v' => Some(u32::from(c) - u32::from('a') + 10),
        'A'..='V' => Some(u32::from(c) - u32::from('A') + 10),
        _ => None,
    }
}

fn base64_value(c: char) -> Option<u32> {
    match c {
        'A'..='Z' => Some(u32::from(c) - u32::from('A')),
        'a'..='z' => Some(u32::from(c) - u32::from('a') + 26),
        '0'..='9' => Some(u32::from(c) - u32::from('0') + 52),
        '-' => Some(62),
        '_' => Some(63),
        _ => None,
    }
}

/// Low `bits` bits set.
fn mask(bits: u32) -> u32 {
    (1 << bits) - 1
}

/// Bits carried from one character (or byte) of a conversion to the next, most significant
/// first: what all four encoders and decoders share.
#[derive(Default)]
struct BitQueue {
    /// The `held` low bits are waiting; higher bits are zero.
    acc: u32,
    held: u32,
}

impl BitQueue {
    /// Appends the low `bits` bits of `value` (which has no higher bits), then hands every whole
    /// group of `width` bits to `emit`, first in first out. `bits` and `width` are at most 15.
    fn push(&mut self, value: u32, bits: u32, width: u32, mut emit: impl FnMut(u32)) {
        self.acc = (self.acc << bits) | value;
        self.held += bits;
        while self.held >= width {
            self.held -= width;
            emit((self.acc >> self.held) & mask(width));
        }
        self.acc &= mask(self.held);
    }
}

/// Power-of-two radix encoding without padding: `bits` per character, the last character
/// filled with zero bits.
fn encode_radix(data: &[u8], bits: u32, alphabet: &[u8]) -> String {
    let mut out = String::with_capacity((data.len() * 8).div_ceil(bits as usize));
    let mut push = |value: u32| {
        // `value` < 2^bits == alphabet.len(), so the lookup always succeeds.
        if let Some(&c) = alphabet.get(value as usize) {
            out.push(char::from(c));
        }
    };
    let mut queue = BitQueue::default();
    for &byte in data {
        queue.push(u32::from(byte), BITS_PER_BYTE, bits, &mut push);
    }
    if queue.held > 0 {
        push((queue.acc << (bits - queue.held)) & mask(bits));
    }
    out
}

/// Reverse of [`encode_radix`]. Strict: the text must be exactly what encoding produces,
/// except that `value` may accept more than one spelling of a character (letter case).
fn decode_radix(text: &str, bits: u32, value: fn(char) -> Option<u32>) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() * bits as usize / 8);
    let mut queue = BitQueue::default();
    for c in text.chars() {
        let v = value(c).ok_or(Error::BadEncoding)?;
        queue.push(v, bits, BITS_PER_BYTE, |byte| out.push(byte as u8));
    }
    // A whole character left over means a length no encoder produces (base32: 1, 3 or 6 chars
    // past a multiple of 8; base64: 1 past a multiple of 4). Left-over fill bits must be zero.
    if queue.held >= bits || queue.acc != 0 {
        return Err(Error::BadEncoding);
    }
    Ok(out)
}

/// base32768 characters carry 15 bits...
const BASE32768_BITS: u32 = 15;
/// ...except possibly the last one, from a second repertoire of 7 bits.
const BASE32768_SHORT_BITS: u32 = 7;
/// Both repertoires are made of blocks of 32 consecutive code points.
const BLOCK_BITS: u32 = 5;
const BLOCK_LEN: u32 = 1 << BLOCK_BITS;

/// The 15-bit repertoire as runs of consecutive blocks: (first code point, number of blocks).
/// 1024 blocks in all; character number `z` is offset `z % 32` in block `z / 32`, counting
/// blocks in this order. From qntm's base32768 specification.
const REPERTOIRE_15: [(u32, u32); 52] = [
    (0x04A0, 1),
    (0x0500, 1),
    (0x0680, 2),
    (0x0760, 2),
    (0x07C0, 1),
    (0x1000, 1),
    (0x10A0, 1),
    (0x1100, 3),
    (0x1180, 1),
    (0x11E0, 3),
    (0x1260, 1),
    (0x12E0, 1),
    (0x1320, 1),
    (0x13A0, 2),
    (0x1420, 18),
    (0x16A0, 2),
    (0x1780, 1),
    (0x1820, 2),
    (0x18C0, 1),
    (0x1980, 1),
    (0x19E0, 1),
    (0x1A20, 1),
    (0x1BC0, 1),
    (0x1C00, 1),
    (0x1D00, 1),
    (0x21E0, 1),
    (0x22C0, 1),
    (0x2340, 5),
    (0x2400, 1),
    (0x2500, 19),
    (0x2780, 2),
    (0x2800, 12),
    (0x29A0, 1),
    (0x2A20, 2),
    (0x2A80, 2),
    (0x2AE0, 4),
    (0x2C00, 1),
    (0x2C80, 3),
    (0x2D00, 1),
    (0x2D40, 1),
    (0x2EA0, 2),
    (0x31C0, 1),
    (0x3400, 205),
    (0x4DC0, 656),
    (0xA000, 36),
    (0xA4A0, 1),
    (0xA500, 8),
    (0xA640, 1),
    (0xA6A0, 2),
    (0xA700, 3),
    (0xA780, 1),
    (0xA840, 1),
];

/// The 7-bit repertoire (4 blocks), used only for the final character.
const REPERTOIRE_7: [(u32, u32); 2] = [(0x0180, 1), (0x0240, 3)];

/// Character number `z` of a repertoire.
fn repertoire_char(repertoire: &[(u32, u32)], z: u32) -> Option<char> {
    let mut block = z >> BLOCK_BITS;
    for &(first, blocks) in repertoire {
        if block < blocks {
            return char::from_u32(first + (block << BLOCK_BITS) + (z & (BLOCK_LEN - 1)));
        }
        block -= blocks;
    }
    None
}

/// The number of `c` in a repertoire, if it belongs to it.
fn repertoire_index(repertoire: &[(u32, u32)], c: char) -> Option<u32> {
    let c = u32::from(c);
    let mut skipped = 0;
    for &(first, blocks) in repertoire {
        let end = first + (blocks << BLOCK_BITS);
        if (first..end).contains(&c) {
            return Some((skipped << BLOCK_BITS) + (c - first));
        }
        skipped += blocks;
    }
    None
}

/// qntm's base32768: 15 bits per character; leftover bits are padded with ones, to 7 bits
/// (and a character of the short repertoire) when at most 7 remain, else to 15.
fn encode_base32768(data: &[u8]) -> String {
    let mut out = String::with_capacity((data.len() * 8).div_ceil(BASE32768_BITS as usize) * 3);
    let mut push = |repertoire: &[(u32, u32)], z: u32| {
        // z < 2^15 (or 2^7 for the short repertoire), so the character always exists.
        if let Some(c) = repertoire_char(repertoire, z) {
            out.push(c);
        }
    };
    let mut queue = BitQueue::default();
    for &byte in data {
        queue.push(u32::from(byte), BITS_PER_BYTE, BASE32768_BITS, |z| {
            push(&REPERTOIRE_15, z)
        });
    }
    let BitQueue { acc, held } = queue;
    if held > 0 {
        let (repertoire, bits) = if held <= BASE32768_SHORT_BITS {
            (&REPERTOIRE_7[..], BASE32768_SHORT_BITS)
        } else {
            (&REPERTOIRE_15[..], BASE32768_BITS)
        };
        let pad = bits - held;
        push(repertoire, (acc << pad) | mask(pad));
    }
    out
}

/// Reverse of [`encode_base32768`]: a short-repertoire character only at the end, and the
/// bits left over after the last whole byte must all be ones.
fn decode_base32768(text: &str) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(text.chars().count() * BASE32768_BITS as usize / 8);
    let mut queue = BitQueue::default();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        let (z, bits) = if let Some(z) = repertoire_index(&REPERTOIRE_15, c) {
            (z, BASE32768_BITS)
        } else if let (Some(z), None) = (repertoire_index(&REPERTOIRE_7, c), chars.peek()) {
            (z, BASE32768_SHORT_BITS)
        } else {
            return Err(Error::BadEncoding);
        };
        queue.push(z, bits, BITS_PER_BYTE, |byte| out.push(byte as u8));
    }
    if queue.acc != mask(queue.held) {
        return Err(Error::BadEncoding);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: [NameEncoding; 3] = [
        NameEncoding::Base32,
        NameEncoding::Base64,
        NameEncoding::Base32768,
    ];

    /// Asserts that every one of `texts` is refused as a bad `encoding` of a name.
    fn assert_refused(encoding: NameEncoding, texts: &[&str]) {
        for text in texts {
            let result = decode(encoding, text);
            assert!(
                matches!(result, Err(Error::BadEncoding)),
                "{encoding} {text:?}: {result:?}"
            );
        }
    }

    #[test]
    fn round_trip_every_length_up_to_40() {
        for encoding in ALL {
            for len in 0..=40u8 {
                let data: Vec<u8> = (0..len).map(|i| i.wrapping_mul(37) ^ 0xA5).collect();
                let text = encode(encoding, &data);
                assert_eq!(
                    decode(encoding, &text).unwrap(),
                    data,
                    "{encoding} len {len}"
                );
            }
        }
    }

    #[test]
    fn round_trip_all_ones_and_zeros() {
        for encoding in ALL {
            for byte in [0x00, 0xFF] {
                for len in 1..=20 {
                    let data = vec![byte; len];
                    assert_eq!(decode(encoding, &encode(encoding, &data)).unwrap(), data);
                }
            }
        }
    }

    #[test]
    fn rfc4648_base32hex_vectors_lower_case() {
        let cases: [(&str, &str); 7] = [
            ("", ""),
            ("f", "co"),
            ("fo", "cpng"),
            ("foo", "cpnmu"),
            ("foob", "cpnmuog"),
            ("fooba", "cpnmuoj1"),
            ("foobar", "cpnmuoj1e8"),
        ];
        for (plain, text) in cases {
            assert_eq!(encode(NameEncoding::Base32, plain.as_bytes()), text);
            assert_eq!(
                decode(NameEncoding::Base32, text).unwrap(),
                plain.as_bytes()
            );
        }
    }

    #[test]
    fn rfc4648_base64url_vectors_unpadded() {
        let cases: [(&[u8], &str); 5] = [
            (b"", ""),
            (b"f", "Zg"),
            (b"fo", "Zm8"),
            (b"foo", "Zm9v"),
            (b"\xfb\xff", "-_8"),
        ];
        for (plain, text) in cases {
            assert_eq!(encode(NameEncoding::Base64, plain), text);
            assert_eq!(decode(NameEncoding::Base64, text).unwrap(), plain);
        }
    }

    #[test]
    fn base32768_readme_example() {
        let text = encode(NameEncoding::Base32768, b"hello world");
        assert_eq!(text, "媒腻㐤┖ꈳ埳");
        assert_eq!(
            decode(NameEncoding::Base32768, &text).unwrap(),
            b"hello world"
        );
    }

    #[test]
    fn base32768_repertoires_have_their_sizes() {
        let blocks = |r: &[(u32, u32)]| r.iter().map(|&(_, n)| n).sum::<u32>();
        assert_eq!(blocks(&REPERTOIRE_15) * BLOCK_LEN, 1 << BASE32768_BITS);
        assert_eq!(blocks(&REPERTOIRE_7) * BLOCK_LEN, 1 << BASE32768_SHORT_BITS);
        for z in 0..1 << BASE32768_BITS {
            let c = repertoire_char(&REPERTOIRE_15, z).unwrap();
            assert!(u32::from(c) < 0x10000, "BMP only");
            assert_eq!(repertoire_index(&REPERTOIRE_15, c), Some(z));
            assert_eq!(
                repertoire_index(&REPERTOIRE_7, c),
                None,
                "repertoires disjoint"
            );
        }
    }

    #[test]
    fn base32_decoding_ignores_case() {
        assert_eq!(
            decode(NameEncoding::Base32, "CPNMUOJ1E8").unwrap(),
            b"foobar"
        );
        assert_eq!(
            decode(NameEncoding::Base32, "CpNmUoJ1e8").unwrap(),
            b"foobar"
        );
    }

    #[test]
    fn base32_rejects_padding() {
        assert_refused(NameEncoding::Base32, &["co======", "co="]);
    }

    #[test]
    fn base32_rejects_chars_outside_alphabet() {
        assert_refused(
            NameEncoding::Base32,
            &["cw", "c o", "c\n", "c-", "cé", "CW"],
        );
    }

    #[test]
    fn base32_rejects_impossible_lengths() {
        assert_refused(NameEncoding::Base32, &["c", "cpn", "cpnmuo", "cpnmuoj1c"]);
    }

    #[test]
    fn base32_rejects_nonzero_fill_bits() {
        // "co" is "f"; "cp" differs only in the two fill bits.
        assert_refused(NameEncoding::Base32, &["cp"]);
    }

    #[test]
    fn base64_rejects_padding_standard_alphabet_and_bad_lengths() {
        assert_refused(
            NameEncoding::Base64,
            &["Zg==", "Zm9v+", "Zm/v", "Z", "Zm9vY", "Zh"],
        );
    }

    #[test]
    fn base64_is_case_sensitive() {
        assert_ne!(
            decode(NameEncoding::Base64, "Zm9v").unwrap(),
            decode(NameEncoding::Base64, "zM9V").unwrap()
        );
    }

    #[test]
    fn base32768_rejects_foreign_chars() {
        assert_refused(NameEncoding::Base32768, &["a", "媒腻㐤 ", "=", "\u{0}"]);
    }

    #[test]
    fn base32768_rejects_short_char_before_end() {
        let short = repertoire_char(&REPERTOIRE_7, 0x7F).unwrap();
        let long = repertoire_char(&REPERTOIRE_15, 0).unwrap();
        let text: String = [short, long].iter().collect();
        assert_refused(NameEncoding::Base32768, &[&text]);
    }

    #[test]
    fn base32768_rejects_zero_padding() {
        // One byte needs a 15-bit character padded with seven 1 bits; zero bits are refused.
        let good = encode(NameEncoding::Base32768, &[0x42]);
        assert_eq!(decode(NameEncoding::Base32768, &good).unwrap(), [0x42]);
        let bad = repertoire_char(&REPERTOIRE_15, 0x42 << 7)
            .unwrap()
            .to_string();
        assert_refused(NameEncoding::Base32768, &[&bad]);
    }

    #[test]
    fn encoding_names_parse_and_display() {
        for e in ALL {
            assert_eq!(e.to_string().parse::<NameEncoding>().unwrap(), e);
        }
        assert_eq!(
            "BASE64".parse::<NameEncoding>().unwrap(),
            NameEncoding::Base64
        );
        let err = "base16".parse::<NameEncoding>().unwrap_err();
        assert!(err.contains("base32768"), "{err}");
    }
}
