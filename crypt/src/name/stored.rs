//! rclone's internal name form versus the names it stores on local disks and S3.
//!
//! rclone handles every name in its "Standard" encoding, where control characters are written
//! as the Unicode control pictures (`\u{1}` as `␁`, DEL as `␡`) and a literal picture is quoted
//! with `‛`. Crypt encrypts and decrypts names in that form. Backends whose own encoding does
//! not replace control characters — local folders (`Slash,Dot`) and S3
//! (`Slash,InvalidUtf8,Dot`) — store the raw control bytes instead. base32768 uses the control
//! pictures U+2400–U+241F as ordinary digits, so an encrypted name that rclone writes to a
//! local folder or a bucket can hold raw control bytes, and one that holds a literal picture is
//! one rclone cannot read back.
//!
//! [`to_stored`] turns a name in rclone's form into what such a backend holds;
//! [`from_stored`] is the reverse. Both leave every other character alone, so names without
//! control pictures or control bytes (all base32 and base64 names) pass through unchanged.

use std::borrow::Cow;

/// The control picture of NUL; NUL itself can never be stored, so it stays a picture.
const PICTURE_NUL: char = '\u{2400}';
/// The control picture of DEL (0x7F).
const PICTURE_DEL: char = '\u{2421}';
/// rclone's quote for a literal control picture.
const QUOTE: char = '\u{201B}';

/// The raw character a control picture stands for, for pictures backends store raw.
fn unpicture(c: char) -> Option<char> {
    match c {
        PICTURE_DEL => Some('\u{7f}'),
        c if c > PICTURE_NUL && c <= '\u{241F}' => char::from_u32(c as u32 - PICTURE_NUL as u32),
        _ => None,
    }
}

/// The control picture rclone writes for a raw control character stored by a backend.
fn picture(c: char) -> Option<char> {
    match c {
        '\u{7f}' => Some(PICTURE_DEL),
        '\u{1}'..='\u{1f}' => char::from_u32(PICTURE_NUL as u32 + c as u32),
        _ => None,
    }
}

/// A name in rclone's form as a local folder or an S3 bucket stores it: control pictures
/// become raw control characters and a quoted picture (`‛␁`) becomes the literal picture.
pub fn to_stored(name: &str) -> Cow<'_, str> {
    if !name.chars().any(|c| unpicture(c).is_some() || c == QUOTE) {
        return Cow::Borrowed(name);
    }
    let mut out = String::with_capacity(name.len());
    let mut chars = name.chars().peekable();
    while let Some(c) = chars.next() {
        if c == QUOTE {
            if let Some(&next) = chars.peek() {
                if unpicture(next).is_some() {
                    out.push(next);
                    chars.next();
                    continue;
                }
            }
            out.push(c);
        } else {
            out.push(unpicture(c).unwrap_or(c));
        }
    }
    Cow::Owned(out)
}

/// The reverse of [`to_stored`]: a stored name in rclone's form, with raw control characters
/// as pictures and literal pictures quoted.
pub fn from_stored(name: &str) -> Cow<'_, str> {
    if !name
        .chars()
        .any(|c| picture(c).is_some() || unpicture(c).is_some())
    {
        return Cow::Borrowed(name);
    }
    let mut out = String::with_capacity(name.len() + 3);
    for c in name.chars() {
        if let Some(p) = picture(c) {
            out.push(p);
        } else {
            if unpicture(c).is_some() {
                out.push(QUOTE);
            }
            out.push(c);
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_names_pass_through_borrowed() {
        for name in ["report.pdf", "0j9vd7bq9l5q0o1t", "日本語", "a␀b"] {
            assert!(matches!(to_stored(name), Cow::Borrowed(_)), "{name}");
            assert!(matches!(from_stored(name), Cow::Borrowed(_)), "{name}");
        }
    }

    #[test]
    fn pictures_become_control_bytes_and_back() {
        let rclone = "ab\u{2401}c\u{241F}d\u{2421}";
        let stored = to_stored(rclone);
        assert_eq!(stored, "ab\u{1}c\u{1f}d\u{7f}");
        assert_eq!(from_stored(&stored), rclone);
    }

    #[test]
    fn literal_pictures_are_quoted() {
        assert_eq!(from_stored("x\u{241D}y"), "x\u{201B}\u{241D}y");
        assert_eq!(to_stored("x\u{201B}\u{241D}y"), "x\u{241D}y");
    }

    #[test]
    fn a_lone_quote_stays() {
        assert_eq!(to_stored("a\u{201B}b"), "a\u{201B}b");
        assert_eq!(from_stored("a\u{201B}b"), "a\u{201B}b");
    }

    #[test]
    fn every_picture_round_trips() {
        for c in (0x2401..=0x241F).chain([0x2421]) {
            let name = format!("n{}", char::from_u32(c).unwrap());
            assert_eq!(from_stored(&to_stored(&name)), name, "U+{c:04X}");
        }
    }
}
