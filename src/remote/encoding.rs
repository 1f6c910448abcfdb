//! File names between a local disk and rclone's "Standard" name form, the form every path of a
//! poof listing ([`Entry::path`](super::backend::Entry)) is in.
//!
//! rclone reads a local name, undoes its local encoding (`Slash,Dot` on Linux) and writes it in
//! its internal Standard encoding before it encrypts it; a restore does the reverse. poof does
//! the same, so that its encrypted names are byte-identical to rclone's and a name never drives
//! a terminal when printed:
//!
//! - a control character 0x01–0x1F becomes its control picture U+2401–U+241F (`\t` is `␉`),
//!   DEL becomes `␡` (U+2421);
//! - a character that IS such a picture gets rclone's quote rune `‛` (U+201B) in front
//!   (`q␊uote` on disk is `q‛␊uote`); `␀` (U+2400) stays as it is, as rclone keeps it;
//! - `‛‛`, `‛／` and `‛．` on disk stay as they are (rclone round-trips them unchanged), and so
//!   do `／`, `．` and every other character (U+0085 included);
//! - a byte that is not UTF-8 becomes `‛XX` (the quote rune and two upper-case hex digits):
//!   Standard never has a quote rune before a hex digit otherwise, so this is unambiguous. rclone
//!   keeps such bytes raw in its Standard names; the crypt layer turns `‛XX` back into the raw
//!   byte before it encrypts ([`to_wire`]) and raw bytes into `‛XX` after it decrypts
//!   ([`from_wire`]).
//!
//! Where rclone fails: a quote rune on disk that is not one of the pairs above (`‛lead`, `e‛`:
//! rclone lists such a file as `‛‛lead` and then cannot open it, rclone issue #6098). poof
//! keeps such a lone quote rune as it is, and writes `‛` + U+FFFF when the next character would
//! otherwise read as quoted (a control character, a picture, a byte that is not UTF-8, an
//! upper-case hex digit, U+FFFF), so the file still backs up and restores to the same bytes;
//! rclone reads those few names differently.
//!
//! [`to_standard`] (disk to Standard) and [`to_disk`] (Standard to disk) are inverse: every name
//! Linux allows comes back byte for byte (a property test checks it). Both return the name
//! borrowed, with no allocation, when it has no control character and no byte 0xE2 (the lead
//! byte of the quote rune and of the pictures).

use std::borrow::Cow;

/// rclone's quote rune.
pub const QUOTE: char = '\u{201B}';
/// What follows a lone quote rune whose next character would otherwise read as quoted.
const MARK: char = '\u{FFFF}';
/// UTF-8 of the quote rune.
const QUOTE_BYTES: &[u8] = "\u{201B}".as_bytes();
/// UTF-8 of [`MARK`].
const MARK_BYTES: &[u8] = "\u{FFFF}".as_bytes();

/// The picture of a control byte (0x01–0x1F, DEL); NUL, which no disk name holds, as `␀`.
fn picture(b: u8) -> Option<char> {
    match b {
        0x7f => Some('\u{2421}'),
        0x00..=0x1f => char::from_u32(0x2400 + u32::from(b)),
        _ => None,
    }
}

/// The control byte a picture stands for (not `␀`, which stands for itself).
fn unpicture(c: char) -> Option<u8> {
    match c {
        '\u{2421}' => Some(0x7f),
        '\u{2401}'..='\u{241f}' => u8::try_from(c as u32 - 0x2400).ok(),
        _ => None,
    }
}

/// Characters that a quote rune before them keeps together with it, unchanged.
fn is_pair(c: char) -> bool {
    matches!(c, QUOTE | '\u{FF0F}' | '\u{FF0E}')
}

/// One piece of a disk name: a character or a byte that is not UTF-8.
#[derive(Clone, Copy)]
enum Piece {
    Char(char),
    Bad(u8),
}

fn is_upper_hex(b: u8) -> bool {
    b.is_ascii_digit() || (b'A'..=b'F').contains(&b)
}

fn hex_value(b: u8) -> u8 {
    if b.is_ascii_digit() {
        b - b'0'
    } else {
        b - b'A' + 10
    }
}

/// True when `bytes` may need more than a copy: a control byte or a byte 0xE2.
fn needs_work(bytes: &[u8]) -> bool {
    bytes.iter().any(|&b| b < 0x20 || b == 0x7f || b == 0xE2)
}

/// A name as it is on disk (any bytes but `/` and NUL) in rclone's Standard form.
pub fn to_standard(disk: &[u8]) -> Cow<'_, str> {
    if let Ok(text) = std::str::from_utf8(disk) {
        if !needs_work(disk) {
            return Cow::Borrowed(text);
        }
    }
    let mut pieces = Vec::with_capacity(disk.len());
    for chunk in disk.utf8_chunks() {
        pieces.extend(chunk.valid().chars().map(Piece::Char));
        pieces.extend(chunk.invalid().iter().map(|&b| Piece::Bad(b)));
    }
    let mut out = String::with_capacity(disk.len() + 8);
    let mut i = 0;
    while let Some(&piece) = pieces.get(i) {
        i += 1;
        match piece {
            Piece::Bad(b) => {
                out.push(QUOTE);
                out.push_str(&format!("{b:02X}"));
            }
            Piece::Char(c) => {
                if let Some(p) = u8::try_from(c).ok().and_then(picture) {
                    out.push(p);
                } else if unpicture(c).is_some() {
                    out.push(QUOTE);
                    out.push(c);
                } else if c == QUOTE {
                    out.push(QUOTE);
                    match pieces.get(i) {
                        Some(&Piece::Char(n)) if is_pair(n) => {
                            out.push(n);
                            i += 1;
                        }
                        None => {}
                        Some(&Piece::Char(n)) if !reads_as_quoted(n) => {}
                        Some(_) => out.push(MARK),
                    }
                } else {
                    out.push(c);
                }
            }
        }
    }
    Cow::Owned(out)
}

/// True for a disk character that, after a lone quote rune, would make the pair read as
/// something else.
fn reads_as_quoted(c: char) -> bool {
    c == MARK
        || c == '\u{7f}'
        || (c as u32) < 0x20
        || unpicture(c).is_some()
        || u8::try_from(c).is_ok_and(is_upper_hex)
}

/// The disk name of a name in Standard form: the reverse of [`to_standard`]. Also reads the
/// bytes a crypt name decrypts to (raw bytes that are not UTF-8, and raw control characters
/// older tools stored, pass through unchanged). The result may hold `/` or NUL (from `／`-free
/// hostile input): callers check with [`check_disk_name`].
pub fn to_disk(standard: &[u8]) -> Cow<'_, [u8]> {
    if !standard.contains(&0xE2) {
        return Cow::Borrowed(standard);
    }
    let mut out = Vec::with_capacity(standard.len());
    let mut rest = standard;
    while let Some(&b) = rest.first() {
        if let Some(after) = rest.strip_prefix(QUOTE_BYTES) {
            let next = first_char(after);
            if let Some(n) = next.filter(|&n| is_pair(n)) {
                out.extend_from_slice(QUOTE_BYTES);
                let len = n.len_utf8();
                out.extend_from_slice(after.get(..len).unwrap_or_default());
                rest = after.get(len..).unwrap_or_default();
            } else if let Some(n) = next.filter(|&n| unpicture(n).is_some()) {
                let len = n.len_utf8();
                out.extend_from_slice(after.get(..len).unwrap_or_default());
                rest = after.get(len..).unwrap_or_default();
            } else if let Some(tail) = after.strip_prefix(MARK_BYTES) {
                out.extend_from_slice(QUOTE_BYTES);
                rest = tail;
            } else if let [h, l, tail @ ..] = after {
                if is_upper_hex(*h) && is_upper_hex(*l) {
                    out.push(hex_value(*h) * 16 + hex_value(*l));
                    rest = tail;
                } else {
                    out.extend_from_slice(QUOTE_BYTES);
                    rest = after;
                }
            } else {
                out.extend_from_slice(QUOTE_BYTES);
                rest = after;
            }
        } else if let Some(c) = first_char(rest).filter(|_| b == 0xE2) {
            let len = c.len_utf8();
            match unpicture(c) {
                Some(raw) => out.push(raw),
                None => out.extend_from_slice(rest.get(..len).unwrap_or_default()),
            }
            rest = rest.get(len..).unwrap_or_default();
        } else {
            out.push(b);
            rest = rest.get(1..).unwrap_or_default();
        }
    }
    Cow::Owned(out)
}

/// The first character of `bytes` when they start with valid UTF-8.
fn first_char(bytes: &[u8]) -> Option<char> {
    let len = match bytes.first()? {
        0x00..=0x7f => 1,
        0xc0..=0xdf => 2,
        0xe0..=0xef => 3,
        _ => 4,
    };
    std::str::from_utf8(bytes.get(..len)?).ok()?.chars().next()
}

/// Refuses what no disk name may be: empty, `.`, `..`, or holding `/` or NUL.
///
/// # Errors
/// A one-line reason, the name escaped.
pub fn check_disk_name(disk: &[u8]) -> Result<(), String> {
    let why = match disk {
        [] => "an empty name",
        b"." | b".." => "not a file name",
        _ if disk.contains(&b'/') => "a name with '/'",
        _ if disk.contains(&0) => "a name with a NUL byte",
        _ => return Ok(()),
    };
    Err(format!("{:?} is {why}", String::from_utf8_lossy(disk)))
}

/// `root` joined with a relative `/`-separated path in Standard form, each name mapped to its
/// bytes on disk. Borrows nothing and costs one join when no name needs mapping.
///
/// # Errors
/// A name whose disk form is empty, `.`, `..`, or holds `/` or NUL.
pub fn disk_path(root: &std::path::Path, rel: &str) -> Result<std::path::PathBuf, String> {
    if !rel.bytes().any(|b| b == 0xE2) {
        return Ok(root.join(rel));
    }
    let mut full = root.to_path_buf();
    for segment in rel.split('/') {
        let disk = to_disk(segment.as_bytes());
        check_disk_name(&disk)?;
        full.push(<std::ffi::OsStr as std::os::unix::ffi::OsStrExt>::from_bytes(&disk));
    }
    Ok(full)
}

/// The bytes rclone encrypts for a Standard name: `‛XX` escapes back to raw bytes, everything
/// else unchanged. Borrowed when the name has no quote rune.
pub fn to_wire(standard: &str) -> Cow<'_, [u8]> {
    if !standard.contains(QUOTE) {
        return Cow::Borrowed(standard.as_bytes());
    }
    let mut out = Vec::with_capacity(standard.len());
    let mut chars = standard.char_indices().peekable();
    while let Some((at, c)) = chars.next() {
        if c != QUOTE {
            let mut buf = [0u8; 4];
            out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            continue;
        }
        let after = standard
            .get(at + QUOTE.len_utf8()..)
            .unwrap_or_default()
            .as_bytes();
        match (first_char(after), after) {
            (Some(n), _) if is_pair(n) || unpicture(n).is_some() || n == MARK => {
                out.extend_from_slice(QUOTE_BYTES);
                let mut buf = [0u8; 4];
                out.extend_from_slice(n.encode_utf8(&mut buf).as_bytes());
                chars.next();
            }
            (_, [h, l, ..]) if is_upper_hex(*h) && is_upper_hex(*l) => {
                out.push(hex_value(*h) * 16 + hex_value(*l));
                chars.next();
                chars.next();
            }
            _ => out.extend_from_slice(QUOTE_BYTES),
        }
    }
    Cow::Owned(out)
}

/// The Standard name (as poof holds it) of the bytes a crypt name decrypts to; also what an
/// older or foreign vault stored (raw control characters) comes out in Standard form. Borrowed
/// when `wire` is already that form's text.
///
/// # Errors
/// A name whose disk form is empty, `.`, `..`, or holds `/` or NUL.
pub fn from_wire(wire: &[u8]) -> Result<Cow<'_, str>, String> {
    match to_disk(wire) {
        Cow::Borrowed(disk) => {
            check_disk_name(disk)?;
            Ok(to_standard(disk))
        }
        Cow::Owned(disk) => {
            check_disk_name(&disk)?;
            let standard = to_standard(&disk).into_owned();
            match std::str::from_utf8(wire) {
                Ok(same) if same == standard => Ok(Cow::Borrowed(same)),
                _ => Ok(Cow::Owned(standard)),
            }
        }
    }
}

/// Which control bytes (0x01–0x1F, DEL) a store's object keys hold raw; the others keep their
/// pictures, as in Standard.
type RawControls = fn(u8) -> bool;

/// Control characters an S3 listing carries raw without `encoding-type=url`: the ones XML 1.0
/// allows (TAB, LF, CR as character references, DEL as it is). The others come back from
/// `rclone serve s3` as U+FFFD (observed), so their keys keep their pictures.
fn s3_raw(b: u8) -> bool {
    matches!(b, b'\t' | b'\n' | b'\r' | 0x7f)
}

/// The raw control character of a picture a key holds raw.
fn raw_in_key(raw: RawControls, c: char) -> Option<char> {
    unpicture(c).filter(|b| raw(*b)).map(char::from)
}

/// The picture of a control character a key holds raw ([`raw_in_key`] in reverse).
fn key_picture(raw: RawControls, c: char) -> Option<char> {
    u8::try_from(c)
        .ok()
        .filter(|&b| b != 0 && raw(b))
        .and_then(picture)
}

/// The object key of a path in Standard form, as rclone's s3 backend writes it (its encoding
/// `Slash,InvalidUtf8,Dot`, observed with rclone v1.75.2) wherever the key can be listed back:
/// TAB, LF, CR and DEL raw (`t␉ab` is the key `t<TAB>ab`), a picture of one of them without
/// its quote rune (`q‛␊uote` is the key `q␊uote`), a byte that is not UTF-8 as `‛XX`. Other
/// control characters keep their pictures and a picture of one of them its quote rune, as in
/// Standard (rclone writes them raw; an S3 listing without `encoding-type=url` cannot carry
/// them). `/` separates names in both forms. Borrowed when the path has no byte 0xE2.
pub fn to_s3_key(standard: &str) -> Cow<'_, str> {
    to_key_with(s3_raw, standard)
}

/// [`to_s3_key`] for a store whose keys hold the control characters `raw` says raw.
fn to_key_with(raw: RawControls, standard: &str) -> Cow<'_, str> {
    if !standard.as_bytes().contains(&0xE2) {
        return Cow::Borrowed(standard);
    }
    let mut out = String::with_capacity(standard.len());
    let mut chars = standard.chars().peekable();
    while let Some(c) = chars.next() {
        if c == QUOTE {
            match chars.peek().copied() {
                Some(n) if is_pair(n) => {
                    out.push(c);
                    out.push(n);
                    chars.next();
                }
                Some(n) if raw_in_key(raw, n).is_some() => {
                    out.push(n);
                    chars.next();
                }
                _ => out.push(c),
            }
        } else {
            out.push(raw_in_key(raw, c).unwrap_or(c));
        }
    }
    Cow::Owned(out)
}

/// The path in Standard form of an object key that rclone or poof wrote ([`to_s3_key`] in
/// reverse): TAB, LF, CR and DEL become their pictures, and a picture of one of them gets its
/// quote rune. Borrowed when the key has no control character and no byte 0xE2.
///
/// # Errors
/// A key [`to_s3_key`] never writes (another control character raw, or `‛␊`): it would read
/// back as another object's key, so it is refused, escaped.
pub fn from_s3_key(key: &str) -> Result<Cow<'_, str>, String> {
    from_key_with(s3_raw, key)
}

/// [`from_s3_key`] for a store whose keys hold the control characters `raw` says raw.
fn from_key_with(raw: RawControls, key: &str) -> Result<Cow<'_, str>, String> {
    if !needs_work(key.as_bytes()) {
        return Ok(Cow::Borrowed(key));
    }
    let mut standard = String::with_capacity(key.len() + 8);
    let mut foreign = false;
    for c in key.chars() {
        if let Some(p) = key_picture(raw, c) {
            standard.push(p);
        } else if c < ' ' || c == '\u{7f}' {
            foreign = true;
        } else {
            if raw_in_key(raw, c).is_some() {
                standard.push(QUOTE);
            }
            standard.push(c);
        }
    }
    if foreign || to_key_with(raw, &standard) != key {
        return Err(format!(
            "object key {:?} is not one poof can map to a file name (a control character \
             this storage type keeps as its picture, or a quote rune before a control picture)",
            printable(key)
        ));
    }
    Ok(Cow::Owned(standard))
}

/// The path in Standard form of a key another tool wrote with a control character raw that
/// [`to_s3_key`] writes as its picture (rclone writes ESC raw): the path of the key with that
/// picture. `None` when the key is foreign for another reason.
pub fn from_foreign_s3_key(key: &str) -> Option<String> {
    from_foreign_with(s3_raw, from_s3_key, key)
}

/// [`from_foreign_s3_key`] for a store whose keys hold the control characters `raw` says raw
/// and whose keys map back to paths with `from_key`.
fn from_foreign_with(
    raw: RawControls,
    from_key: fn(&str) -> Result<Cow<'_, str>, String>,
    key: &str,
) -> Option<String> {
    let mut pictured = String::with_capacity(key.len() + 8);
    let mut after_quote = false;
    for c in key.chars() {
        match u8::try_from(c).ok().and_then(picture) {
            // After a quote rune the picture would read as a literal picture.
            Some(_) if after_quote => return None,
            Some(p) if key_picture(raw, c).is_none() && c != '\0' => pictured.push(p),
            _ => pictured.push(c),
        }
        after_quote = c == QUOTE;
    }
    if pictured == key {
        return None;
    }
    from_key(&pictured).ok().map(Cow::into_owned)
}

/// A name (Standard form) as it may be printed: Standard has no control character, but a
/// decrypted name from a plain remote may; those are shown as their pictures.
pub fn printable(name: &str) -> Cow<'_, str> {
    if !name.bytes().any(|b| b < 0x20 || b == 0x7f) {
        return Cow::Borrowed(name);
    }
    Cow::Owned(
        name.chars()
            .map(|c| u8::try_from(c).ok().and_then(picture).unwrap_or(c))
            .collect(),
    )
}

/// Bytes a URL path carries as they are: RFC 3986's unreserved characters. Every other byte is
/// percent-encoded, which every server decodes alike.
fn url_safe(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

/// The percent-encoded URL path of a relative path in Standard form, for WebDAV and HTTP
/// servers. rclone's webdav and http backends send Standard names as they are (their encoding
/// is the identity, but for vendor `sharepoint-ntlm`): each segment is [`to_wire`]'s bytes
/// (a `‛XX` escape is its raw byte again, as rclone holds it), percent-encoded. `/` separates
/// segments in both forms.
pub fn to_url_path(standard: &str) -> String {
    let mut out = String::with_capacity(standard.len() + 8);
    for (i, segment) in standard.split('/').enumerate() {
        if i > 0 {
            out.push('/');
        }
        for &b in to_wire(segment).iter() {
            if url_safe(b) {
                out.push(char::from(b));
            } else {
                out.push_str(&format!("%{b:02X}"));
            }
        }
    }
    out
}

/// The bytes of a percent-encoded URL path segment (a `%` not followed by two hex digits
/// stays as it is, as browsers read it).
pub(crate) fn percent_decode(text: &str) -> Vec<u8> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        let hex = |at: usize| bytes.get(at).and_then(|h| char::from(*h).to_digit(16));
        match (b, hex(i + 1), hex(i + 2)) {
            (b'%', Some(h), Some(l)) => {
                out.push(u8::try_from(h * 16 + l).unwrap_or(b'%'));
                i += 3;
            }
            _ => {
                out.push(b);
                i += 1;
            }
        }
    }
    out
}

/// The name in Standard form of one percent-encoded URL path segment that a server listed
/// ([`to_url_path`] in reverse): decoded, then read as rclone holds names ([`from_wire`]: raw
/// bytes that are not UTF-8 become `‛XX`, raw control characters their pictures).
///
/// # Errors
/// A segment that decodes to no file name: empty, `.`, `..`, or holding `/` or NUL.
pub fn from_url_segment(segment: &str) -> Result<String, String> {
    from_wire(&percent_decode(segment)).map(Cow::into_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Disk names and the Standard names rclone v1.75.2 encrypted them as (observed:
    /// `rclone copy` of a local folder to a crypt remote, then `rclone cryptdecode`; and the
    /// reverse, `rclone copy` of the crypt remote to a local folder).
    const RCLONE_OBSERVED: &[(&[u8], &str)] = &[
        (b"t\tab", "t\u{2409}ab"),
        (b"del\x7fx", "del\u{2421}x"),
        (b"esc\x1b[31m", "esc\u{241b}[31m"),
        ("q\u{240a}uote".as_bytes(), "q\u{201b}\u{240a}uote"),
        ("nel\u{85}x".as_bytes(), "nel\u{85}x"),
        ("x\u{2421}".as_bytes(), "x\u{201b}\u{2421}"),
        ("a\u{ff0f}b".as_bytes(), "a\u{ff0f}b"),
        ("d\u{201b}\u{ff0f}".as_bytes(), "d\u{201b}\u{ff0f}"),
        ("\u{ff0e}".as_bytes(), "\u{ff0e}"),
        ("\u{ff0e}\u{ff0e}".as_bytes(), "\u{ff0e}\u{ff0e}"),
        ("\u{201b}\u{201b}".as_bytes(), "\u{201b}\u{201b}"),
        ("\u{2400}z".as_bytes(), "\u{2400}z"),
    ];

    #[test]
    fn agrees_with_rclone_where_rclone_round_trips() {
        for &(disk, standard) in RCLONE_OBSERVED {
            assert_eq!(to_standard(disk), standard, "{disk:?}");
            assert_eq!(&*to_disk(standard.as_bytes()), disk, "{standard}");
            assert_eq!(&*to_wire(standard), standard.as_bytes());
            assert_eq!(from_wire(standard.as_bytes()).unwrap(), standard);
        }
    }

    #[test]
    fn invalid_utf8_is_escaped_and_raw_on_the_wire() {
        // rclone encrypts the name 0xFF "bad" as the raw bytes (observed).
        let disk = b"\xffbad";
        assert_eq!(to_standard(disk), "\u{201b}FFbad");
        assert_eq!(&*to_wire("\u{201b}FFbad"), disk);
        assert_eq!(from_wire(disk).unwrap(), "\u{201b}FFbad");
        assert_eq!(&*to_disk("\u{201b}FFbad".as_bytes()), disk);
    }

    #[test]
    fn names_rclone_cannot_round_trip_still_do() {
        for disk in [
            "\u{201b}lead".as_bytes(),
            "e\u{201b}".as_bytes(),
            "\u{201b}AB".as_bytes(),
            "x\u{201b}\u{240a}y".as_bytes(),
            "\u{201b}\u{ffff}".as_bytes(),
            b"\xe2\x80\x9b\n",
            b"\xe2\x80\x9b\xff",
            b"\xe2\x80",
        ] {
            let standard = to_standard(disk);
            assert_eq!(&*to_disk(standard.as_bytes()), disk, "{standard}");
            assert_eq!(&*to_disk(&to_wire(&standard)), disk, "{standard}");
            assert_eq!(from_wire(&to_wire(&standard)).unwrap(), standard);
        }
    }

    #[test]
    fn plain_names_are_borrowed() {
        for name in ["report.pdf", "日本語 (1).txt", "a\u{ff0f}b"] {
            assert!(matches!(to_standard(name.as_bytes()), Cow::Borrowed(_)));
            assert!(matches!(to_disk(name.as_bytes()), Cow::Borrowed(_)));
            assert!(matches!(to_wire(name), Cow::Borrowed(_)));
            assert!(matches!(from_wire(name.as_bytes()), Ok(Cow::Borrowed(_))));
        }
    }

    #[test]
    fn raw_control_characters_read_as_their_pictures() {
        assert_eq!(from_wire(b"a\nb").unwrap(), "a\u{240a}b");
        assert_eq!(from_wire("a\u{240a}b".as_bytes()).unwrap(), "a\u{240a}b");
    }

    #[test]
    fn unsafe_names_are_refused() {
        for wire in [&b""[..], b".", b"..", b"a/b", b"nul\0"] {
            assert!(from_wire(wire).is_err(), "{wire:?}");
        }
        // `．` and `／` are ordinary characters on disk.
        assert!(from_wire("\u{ff0e}".as_bytes()).is_ok());
    }

    /// Disk names and the object keys rclone v1.75.2 wrote for them (observed: `rclone copy` of
    /// a local folder to `rclone serve s3`, the keys read from `rclone lsf --dump bodies`);
    /// rclone wrote `esc<ESC>x` raw too, which poof keeps as `esc␛x`.
    const RCLONE_S3_KEYS: &[(&[u8], &str)] = &[
        (b"t\tab", "t\tab"),
        (b"nl\nx", "nl\nx"),
        (b"cr\rx", "cr\rx"),
        (b"del\x7fx", "del\u{7f}x"),
        ("q\u{240a}uote".as_bytes(), "q\u{240a}uote"),
        (b"\xffbad", "\u{201b}FFbad"),
        ("a\u{ff0f}b".as_bytes(), "a\u{ff0f}b"),
        ("\u{ff0e}".as_bytes(), "\u{ff0e}"),
        ("x\u{201b}\u{201b}y".as_bytes(), "x\u{201b}\u{201b}y"),
        ("\u{201b}\u{201b}".as_bytes(), "\u{201b}\u{201b}"),
        ("\u{2400}z".as_bytes(), "\u{2400}z"),
        (b"plain.txt", "plain.txt"),
    ];

    #[test]
    fn s3_keys_agree_with_rclone() {
        for &(disk, key) in RCLONE_S3_KEYS {
            let standard = to_standard(disk);
            assert_eq!(to_s3_key(&standard), key, "{standard}");
            assert_eq!(from_s3_key(key).unwrap(), standard, "{key:?}");
            let path = format!("d/{standard}");
            assert_eq!(to_s3_key(&path), format!("d/{key}"));
            assert_eq!(from_s3_key(&format!("d/{key}")).unwrap(), path);
        }
    }

    #[test]
    fn plain_s3_keys_are_borrowed() {
        for name in ["report.pdf", "dir/\u{65e5}\u{672c}.txt", "a\u{ff0f}b"] {
            assert!(matches!(to_s3_key(name), Cow::Borrowed(_)));
            assert!(matches!(from_s3_key(name), Ok(Cow::Borrowed(_))));
        }
    }

    #[test]
    fn s3_keys_keep_pictures_of_controls_a_listing_cannot_carry() {
        assert_eq!(to_s3_key("esc\u{241b}x"), "esc\u{241b}x");
        assert_eq!(to_s3_key("lit\u{201b}\u{241b}"), "lit\u{201b}\u{241b}");
        assert_eq!(from_s3_key("esc\u{241b}x").unwrap(), "esc\u{241b}x");
        assert_eq!(
            from_s3_key("lit\u{201b}\u{241b}").unwrap(),
            "lit\u{201b}\u{241b}"
        );
    }

    #[test]
    fn foreign_s3_keys_that_read_as_another_name_are_refused() {
        for key in ["esc\u{1b}x", "d/\u{201b}\u{240a}", "soh\u{1}"] {
            let err = from_s3_key(key).unwrap_err();
            assert!(err.contains("not one poof can map"), "{err}");
            assert!(!err.bytes().any(|b| b < 0x20), "{err}");
        }
        assert_eq!(from_s3_key("\u{201b}lead").unwrap(), "\u{201b}lead");
        assert_eq!(from_foreign_s3_key("esc\u{1b}x").unwrap(), "esc\u{241b}x");
        assert_eq!(from_foreign_s3_key("d/soh\u{1}").unwrap(), "d/soh\u{2401}");
        assert_eq!(from_foreign_s3_key("d/\u{201b}\u{240a}"), None);
        assert_eq!(from_foreign_s3_key("\u{201b}\u{1b}"), None);
    }

    #[test]
    fn seeded_random_names_round_trip() {
        let alphabet: Vec<Vec<u8>> = [
            "\u{201b}", "\u{2409}", "\u{2400}", "\u{2421}", "\u{241f}", "\u{ff0f}", "\u{ff0e}",
            "\u{ffff}", "A", "F", "0", "a", ".", "\u{85}", "é",
        ]
        .iter()
        .map(|s| s.as_bytes().to_vec())
        .chain((1u8..=255).filter(|&b| b != b'/').map(|b| vec![b]))
        .collect();
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..20_000 {
            let mut disk = Vec::new();
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            for k in 0..(seed % 12 + 1) {
                let pick = (seed.rotate_left(k as u32 * 5) % alphabet.len() as u64) as usize;
                disk.extend_from_slice(&alphabet[pick]);
            }
            let standard = to_standard(&disk);
            assert!(!standard.bytes().any(|b| b < 0x20 || b == 0x7f));
            assert_eq!(&*to_disk(standard.as_bytes()), &disk[..], "{standard}");
            let wire = to_wire(&standard);
            assert_eq!(&*to_disk(&wire), &disk[..], "{standard}");
            if check_disk_name(&disk).is_ok() {
                assert_eq!(from_wire(&wire).unwrap(), standard);
            }
            let key = to_s3_key(&standard);
            assert_eq!(from_s3_key(&key).unwrap(), standard, "{key:?}");
        }
    }

    /// Names rclone v1.75.2 wrote to `rclone serve webdav` and the URL paths poof sends for
    /// them (both read back the same folder: `tests/webdav.rs`).
    #[test]
    fn url_paths_round_trip_tricky_names() {
        for (standard, url) in [
            ("plain.txt", "plain.txt"),
            ("a b/100%.txt", "a%20b/100%25.txt"),
            ("q?x#y&z=1;+", "q%3Fx%23y%26z%3D1%3B%2B"),
            ("\u{65e5}\u{672c}", "%E6%97%A5%E6%9C%AC"),
            ("t\u{2409}ab", "t%E2%90%89ab"),
            ("\u{201b}FFbad", "%FFbad"),
            ("q\u{201b}\u{240a}uote", "q%E2%80%9B%E2%90%8Auote"),
        ] {
            assert_eq!(to_url_path(standard), url, "{standard}");
            let back: Vec<String> = url
                .split('/')
                .map(|s| from_url_segment(s).unwrap())
                .collect();
            assert_eq!(back.join("/"), standard, "{url}");
        }
        // Servers encode less (or other bytes) than poof: the same names come back.
        assert_eq!(from_url_segment("a b(1)!").unwrap(), "a b(1)!");
        assert_eq!(from_url_segment("%e6%97%a5").unwrap(), "\u{65e5}");
        assert_eq!(from_url_segment("50%off").unwrap(), "50%off");
        assert_eq!(from_url_segment("tab%09").unwrap(), "tab\u{2409}");
        for bad in ["", ".", "..", "a%2Fb", "nul%00"] {
            assert!(from_url_segment(bad).is_err(), "{bad:?}");
        }
    }
}

/// Control characters rclone's gcs backend writes raw in its keys (its encoding
/// `Slash,CrLf,InvalidUtf8,Dot`): all but LF and CR, which keep their pictures.
fn gcs_raw(b: u8) -> bool {
    b != b'\n' && b != b'\r'
}

/// The object key of a path in Standard form, as rclone's gcs backend writes it (observed with
/// rclone v1.75.2): the s3 form ([`to_s3_key`]) except that every control character but LF and
/// CR is raw (`esc␛x` is the key `esc<ESC>x`), LF and CR keep their pictures (`nl␊x`) and a
/// literal picture of them its quote rune (`q‛␊uote`). A JSON listing carries every character.
pub fn to_gcs_key(standard: &str) -> Cow<'_, str> {
    to_key_with(gcs_raw, standard)
}

/// The path in Standard form of a gcs object key ([`to_gcs_key`] in reverse).
///
/// # Errors
/// A key [`to_gcs_key`] never writes (raw LF or CR, or a quote rune before a picture of a
/// control character kept raw).
pub fn from_gcs_key(key: &str) -> Result<Cow<'_, str>, String> {
    from_key_with(gcs_raw, key)
}

/// The path of a gcs key another tool wrote with LF or CR raw (gsutil does): the path of the
/// key with their pictures. `None` when the key is foreign for another reason.
pub fn from_foreign_gcs_key(key: &str) -> Option<String> {
    from_foreign_with(gcs_raw, from_gcs_key, key)
}

/// Azure keys hold no control character raw (rclone's azureblob encoding has `Ctl,Del`).
fn azure_raw(_: u8) -> bool {
    false
}

/// What rclone's azureblob backend writes for `\` (its encoding has `BackSlash`).
const FULLWIDTH_BACKSLASH: char = '\u{FF3C}';
/// What rclone's azureblob backend writes for a name's last `.` (`RightPeriod`).
const FULLWIDTH_PERIOD: char = '\u{FF0E}';

/// The object key of a path in Standard form, as rclone's azureblob backend writes it (its
/// encoding `Slash,BackSlash,Del,Ctl,RightPeriod,InvalidUtf8`, observed with rclone v1.75.2):
/// control characters keep their pictures as in Standard (`t␉ab`, `q‛␊uote`), a byte that is
/// not UTF-8 is `‛XX`, `\` is `＼` and a literal `＼` gets the quote rune (`‛＼`), and a name's
/// last `.` is `．` (`trail.` is the key `trail．`) while a literal last `．` gets the quote rune.
/// The names `．` and `．．` (Standard for `.` and `..`) are `．` and `.．`. Borrowed when the
/// path has no `\`, no `＼` or `．` and no name ending in `.`.
pub fn to_azure_key(standard: &str) -> Cow<'_, str> {
    let plain = !standard.contains(['\\', FULLWIDTH_BACKSLASH, FULLWIDTH_PERIOD])
        && !standard.split('/').any(|name| name.ends_with('.'));
    if plain {
        return Cow::Borrowed(standard);
    }
    let names: Vec<String> = standard.split('/').map(azure_name).collect();
    Cow::Owned(names.join("/"))
}

/// One name of [`to_azure_key`]. Quote runes just before a character it encodes are doubled,
/// so that a name and its key map one to one (rclone writes no quote rune there).
fn azure_name(name: &str) -> String {
    match name {
        "\u{FF0E}" => return name.to_owned(),
        "\u{FF0E}\u{FF0E}" => return ".\u{FF0E}".to_owned(),
        _ => {}
    }
    let chars: Vec<char> = name.chars().collect();
    let mut out = String::with_capacity(name.len() + 8);
    let mut quotes = 0;
    for (i, &c) in chars.iter().enumerate() {
        if c == QUOTE {
            quotes += 1;
            continue;
        }
        let last = i + 1 == chars.len();
        let encoded = match c {
            '\\' => Some(('\\', FULLWIDTH_BACKSLASH)),
            FULLWIDTH_BACKSLASH => Some((QUOTE, FULLWIDTH_BACKSLASH)),
            '.' if last => Some(('.', FULLWIDTH_PERIOD)),
            FULLWIDTH_PERIOD if last => Some((QUOTE, FULLWIDTH_PERIOD)),
            _ => None,
        };
        match encoded {
            Some((quoted, with)) => {
                out.extend(std::iter::repeat_n(QUOTE, 2 * quotes));
                if quoted == QUOTE {
                    out.push(QUOTE);
                }
                out.push(with);
            }
            None => {
                out.extend(std::iter::repeat_n(QUOTE, quotes));
                out.push(c);
            }
        }
        quotes = 0;
    }
    out.extend(std::iter::repeat_n(QUOTE, quotes));
    out
}

/// One name of [`from_azure_key`], before its check: a run of quote runes before `＼` (or a
/// last `．`) of odd length stands for the character itself, of even length for `\` (or `.`).
fn azure_name_back(key: &str) -> String {
    match key {
        "\u{FF0E}" => return key.to_owned(),
        ".\u{FF0E}" => return "\u{FF0E}\u{FF0E}".to_owned(),
        _ => {}
    }
    let chars: Vec<char> = key.chars().collect();
    let mut out = String::with_capacity(key.len());
    let mut quotes = 0;
    for (i, &c) in chars.iter().enumerate() {
        if c == QUOTE {
            quotes += 1;
            continue;
        }
        let last = i + 1 == chars.len();
        let plain = match c {
            FULLWIDTH_BACKSLASH => Some('\\'),
            FULLWIDTH_PERIOD if last => Some('.'),
            _ => None,
        };
        match plain {
            Some(plain) => {
                out.extend(std::iter::repeat_n(QUOTE, quotes / 2));
                out.push(if quotes % 2 == 1 { c } else { plain });
            }
            None => {
                out.extend(std::iter::repeat_n(QUOTE, quotes));
                out.push(c);
            }
        }
        quotes = 0;
    }
    out.extend(std::iter::repeat_n(QUOTE, quotes));
    out
}

/// The path in Standard form of an azureblob key ([`to_azure_key`] in reverse).
///
/// # Errors
/// A key [`to_azure_key`] never writes (a raw control character, `\`, a name ending in `.`, or
/// a quote rune where it would read as another name).
pub fn from_azure_key(key: &str) -> Result<Cow<'_, str>, String> {
    let plain = !key.contains([FULLWIDTH_BACKSLASH, FULLWIDTH_PERIOD]);
    let standard = if plain {
        Cow::Borrowed(key)
    } else {
        let names: Vec<String> = key.split('/').map(azure_name_back).collect();
        Cow::Owned(names.join("/"))
    };
    let refused = || {
        format!(
            "object key {:?} is not one poof can map to a file name (a raw control character, \
             a backslash, a name ending in a period, or a misplaced quote rune)",
            printable(key)
        )
    };
    if from_key_with(azure_raw, &standard).is_err() || to_azure_key(&standard) != key {
        return Err(refused());
    }
    Ok(standard)
}

/// The path of an azureblob key another tool wrote with control characters raw: the path of
/// the key with their pictures. `None` when the key is foreign for another reason.
pub fn from_foreign_azure_key(key: &str) -> Option<String> {
    from_foreign_with(azure_raw, from_azure_key, key)
}

#[cfg(test)]
mod object_store_tests {
    use super::*;

    /// Disk names and the keys rclone v1.75.2 wrote for them with `rclone copy` of a local
    /// folder to Azurite (azureblob) and to fake-gcs-server (gcs), read back raw.
    const RCLONE_KEYS: &[(&[u8], &str, &str)] = &[
        (b"back\\slash", "back\u{ff3c}slash", "back\\slash"),
        (b"trail.", "trail\u{ff0e}", "trail."),
        (b"two..", "two.\u{ff0e}", "two.."),
        (
            "full\u{ff3c}width".as_bytes(),
            "full\u{201b}\u{ff3c}width",
            "full\u{ff3c}width",
        ),
        (
            "dotfw\u{ff0e}".as_bytes(),
            "dotfw\u{201b}\u{ff0e}",
            "dotfw\u{ff0e}",
        ),
        (
            "tfw.\u{ff0e}".as_bytes(),
            "tfw.\u{201b}\u{ff0e}",
            "tfw.\u{ff0e}",
        ),
        (b"t\tab", "t\u{2409}ab", "t\tab"),
        (b"nl\nx", "nl\u{240a}x", "nl\u{240a}x"),
        (b"cr\rx", "cr\u{240d}x", "cr\u{240d}x"),
        (b"esc\x1bx", "esc\u{241b}x", "esc\u{1b}x"),
        (b"del\x7fx", "del\u{2421}x", "del\u{7f}x"),
        (
            "q\u{240a}uote".as_bytes(),
            "q\u{201b}\u{240a}uote",
            "q\u{201b}\u{240a}uote",
        ),
        (
            "pic\u{241b}".as_bytes(),
            "pic\u{201b}\u{241b}",
            "pic\u{241b}",
        ),
        ("q\u{2409}".as_bytes(), "q\u{201b}\u{2409}", "q\u{2409}"),
        (b"\xffbad", "\u{201b}FFbad", "\u{201b}FFbad"),
        ("a\u{ff0f}b".as_bytes(), "a\u{ff0f}b", "a\u{ff0f}b"),
        (b"sp ", "sp ", "sp "),
        (b" lead", " lead", " lead"),
        (b"plain.txt", "plain.txt", "plain.txt"),
    ];

    #[test]
    fn azure_and_gcs_keys_agree_with_rclone() {
        for &(disk, azure, gcs) in RCLONE_KEYS {
            let standard = to_standard(disk);
            let path = format!("d./{standard}");
            assert_eq!(to_azure_key(&standard), azure, "{standard}");
            assert_eq!(from_azure_key(azure).unwrap(), standard, "{azure:?}");
            let key = format!("d\u{ff0e}/{azure}");
            assert_eq!(to_azure_key(&path), key);
            assert_eq!(from_azure_key(&key).unwrap(), path);
            assert_eq!(to_gcs_key(&standard), gcs, "{standard}");
            assert_eq!(from_gcs_key(gcs).unwrap(), standard, "{gcs:?}");
        }
    }

    #[test]
    fn plain_keys_are_borrowed() {
        for name in ["report.pdf", "dir/\u{65e5}\u{672c}.txt", ".hidden"] {
            assert!(matches!(to_azure_key(name), Cow::Borrowed(_)));
            assert!(matches!(from_azure_key(name), Ok(Cow::Borrowed(_))));
            assert!(matches!(to_gcs_key(name), Cow::Borrowed(_)));
            assert!(matches!(from_gcs_key(name), Ok(Cow::Borrowed(_))));
        }
    }

    #[test]
    fn dot_names_and_lone_quotes_round_trip() {
        let names = [
            "\u{ff0e}",
            "\u{ff0e}\u{ff0e}",
            "a\u{201b}\u{ff0e}",
            "a\u{201b}.",
            "\u{201b}\u{ff3c}",
            "\u{201b}\\",
        ];
        for standard in names {
            let key = to_azure_key(standard);
            assert_eq!(from_azure_key(&key).unwrap(), standard, "{key:?}");
        }
        assert_eq!(to_azure_key("\u{ff0e}\u{ff0e}"), ".\u{ff0e}");
    }

    #[test]
    fn foreign_keys_are_refused_or_read_as_their_pictures() {
        for key in ["back\\slash", "trail.", "esc\u{1b}x", "x/t\tab"] {
            let err = from_azure_key(key).unwrap_err();
            assert!(err.contains("not one poof can map"), "{err}");
            assert!(!err.bytes().any(|b| b < 0x20), "{err}");
        }
        assert_eq!(
            from_foreign_azure_key("esc\u{1b}x").unwrap(),
            "esc\u{241b}x"
        );
        assert_eq!(from_foreign_azure_key("trail."), None);
        assert!(from_gcs_key("nl\nx").is_err());
        assert_eq!(from_foreign_gcs_key("nl\nx").unwrap(), "nl\u{240a}x");
        assert_eq!(from_foreign_gcs_key("esc\u{1b}x"), None);
    }

    #[test]
    fn seeded_random_names_round_trip() {
        let alphabet = [
            "\u{201b}", "\u{2409}", "\u{240a}", "\u{2421}", "\u{241b}", "\u{ff0f}", "\u{ff0e}",
            "\u{ff3c}", "\\", ".", "A", "F", "0", "a", "/", " ",
        ];
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        for _ in 0..20_000 {
            let mut disk = String::new();
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            for k in 0..(seed % 10 + 1) {
                let pick = (seed.rotate_left(k as u32 * 5) % alphabet.len() as u64) as usize;
                disk.push_str(alphabet[pick]);
            }
            let standard: Vec<String> = disk
                .split('/')
                .filter(|n| !n.is_empty() && *n != "." && *n != "..")
                .map(|n| to_standard(n.as_bytes()).into_owned())
                .collect();
            let standard = standard.join("/");
            let key = to_azure_key(&standard);
            assert_eq!(from_azure_key(&key).unwrap(), standard, "{key:?}");
            let key = to_gcs_key(&standard);
            assert_eq!(from_gcs_key(&key).unwrap(), standard, "{key:?}");
        }
    }
}

/// The picture of a space, which rclone's ftp encoding writes for a name's last character
/// when it is a space (`RightSpace`).
const SPACE_PICTURE: char = '\u{2420}';

/// The path on an FTP server of a relative path in Standard form, as rclone's ftp backend
/// names it (its default encoding `Slash,Del,Ctl,RightSpace,Dot`): Standard but for each
/// name's last character, a space written as `␠` and a `␠` written quoted as `‛␠`. Control
/// characters keep their pictures, so that no name can break an FTP command line. A byte that
/// is not UTF-8 stays `‛XX` (FTP commands here are text). Borrowed when no name ends with a
/// space or `␠`.
pub fn to_ftp_path(standard: &str) -> Cow<'_, str> {
    let ends_odd = |name: &str| name.ends_with(' ') || name.ends_with(SPACE_PICTURE);
    if !standard.split('/').any(ends_odd) {
        return Cow::Borrowed(standard);
    }
    let names: Vec<String> = standard
        .split('/')
        .map(|name| {
            if let Some(rest) = name.strip_suffix(' ') {
                format!("{rest}{SPACE_PICTURE}")
            } else if let Some(rest) = name.strip_suffix(SPACE_PICTURE) {
                format!("{rest}{QUOTE}{SPACE_PICTURE}")
            } else {
                name.to_owned()
            }
        })
        .collect();
    Cow::Owned(names.join("/"))
}

/// The name in Standard form of a name an FTP listing gave ([`to_ftp_path`] in reverse for
/// one name): a last `␠` is a space again, a last `‛␠` is `␠`; raw control characters another
/// tool wrote become their pictures ([`from_wire`]).
///
/// # Errors
/// A name that maps to no file name: empty, `.`, `..`, or holding `/` or NUL.
pub fn from_ftp_name(name: &str) -> Result<String, String> {
    let quoted = format!("{QUOTE}{SPACE_PICTURE}");
    let name = if let Some(rest) = name.strip_suffix(&quoted) {
        format!("{rest}{SPACE_PICTURE}")
    } else if let Some(rest) = name.strip_suffix(SPACE_PICTURE) {
        format!("{rest} ")
    } else {
        name.to_owned()
    };
    from_wire(name.as_bytes()).map(Cow::into_owned)
}

#[cfg(test)]
mod ftp_tests {
    use super::*;

    #[test]
    fn ftp_paths_encode_a_last_space_per_name() {
        assert!(matches!(to_ftp_path("a b/c.txt"), Cow::Borrowed(_)));
        assert_eq!(to_ftp_path("dir /x "), "dir\u{2420}/x\u{2420}");
        assert_eq!(to_ftp_path("pic\u{2420}"), "pic\u{201b}\u{2420}");
        assert_eq!(to_ftp_path("two  "), "two \u{2420}");
        assert_eq!(to_ftp_path("t\u{2409}ab"), "t\u{2409}ab");
    }

    #[test]
    fn ftp_names_round_trip_and_raw_controls_read_as_pictures() {
        for standard in [
            "x ",
            "pic\u{2420}",
            "two  ",
            "plain",
            "\u{ff0e}",
            "q\u{201b}\u{240a}",
        ] {
            let on_server = to_ftp_path(standard);
            assert_eq!(
                from_ftp_name(&on_server).unwrap(),
                standard,
                "{on_server:?}"
            );
        }
        assert_eq!(from_ftp_name("t\tab").unwrap(), "t\u{2409}ab");
        assert!(from_ftp_name("..").is_err());
        assert!(from_ftp_name("").is_err());
    }
}

/// The path an SFTP server is asked for, of a relative path in Standard form: rclone's sftp
/// encoding (`Slash,Dot`) is the one of a Linux disk, so each name is its disk name
/// ([`to_disk`]: pictures back to control characters, `‛`-quoted pictures to pictures).
/// Borrowed when no name needs mapping; `""` (the root) stays `""`.
///
/// # Errors
/// A name whose server form is empty, `.`, `..`, holds `/` or NUL, or is not UTF-8 (a `‛XX`
/// byte: SFTP names travel as text in poof's client).
pub fn to_sftp_path(standard: &str) -> Result<Cow<'_, str>, String> {
    if standard.is_empty() {
        return Ok(Cow::Borrowed(standard));
    }
    if !standard.bytes().any(|b| b == 0xE2) {
        for segment in standard.split('/') {
            check_disk_name(segment.as_bytes())?;
        }
        return Ok(Cow::Borrowed(standard));
    }
    let mut out = String::with_capacity(standard.len());
    for (i, segment) in standard.split('/').enumerate() {
        let disk = to_disk(segment.as_bytes());
        check_disk_name(&disk)?;
        let Ok(text) = std::str::from_utf8(&disk) else {
            return Err(format!(
                "{:?} is not UTF-8 on the server",
                String::from_utf8_lossy(&disk)
            ));
        };
        if i > 0 {
            out.push('/');
        }
        out.push_str(text);
    }
    Ok(Cow::Owned(out))
}

/// The Standard name of a name an SFTP server listed ([`to_sftp_path`] in reverse, one name).
///
/// # Errors
/// A name no file can have (empty, `.`, `..`, with `/` or NUL).
pub fn from_sftp_name(name: &str) -> Result<Cow<'_, str>, String> {
    check_disk_name(name.as_bytes())?;
    Ok(to_standard(name.as_bytes()))
}

#[cfg(test)]
mod sftp_tests {
    use super::*;

    #[test]
    fn sftp_names_are_disk_names() {
        for (standard, server) in [
            ("plain/name.txt", "plain/name.txt"),
            ("t\u{2409}ab/q\u{201B}\u{240A}uote", "t\tab/q\u{240A}uote"),
            ("del\u{2421}", "del\u{7f}"),
            ("\u{FF0F}slash\u{FF0E}", "\u{FF0F}slash\u{FF0E}"),
        ] {
            assert_eq!(to_sftp_path(standard).unwrap(), server, "{standard:?}");
            let back: Vec<String> = server
                .split('/')
                .map(|n| from_sftp_name(n).unwrap().into_owned())
                .collect();
            assert_eq!(back.join("/"), standard, "{server:?}");
        }
    }

    #[test]
    fn sftp_refuses_what_no_server_name_can_be() {
        assert!(to_sftp_path("bad\u{201B}FF").is_err(), "not UTF-8");
        assert!(to_sftp_path("a/../b").is_err());
        assert!(to_sftp_path("a//b").is_err());
        assert!(from_sftp_name("..").is_err());
        assert!(from_sftp_name("").is_err());
        assert!(from_sftp_name("a/b").is_err());
    }
}
