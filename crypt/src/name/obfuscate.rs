//! rclone's `obfuscate` name mode: a keyed rotation of characters, not encryption.
//!
//! An obfuscated segment is `<N>.<rotated>`. N is the sum of the segment's code points modulo
//! 256; the rotation distance is N plus the sum of the 32 name-key bytes, so equal names rotate
//! alike and the key only changes the distance. Each character moves within its own class, by
//! an amount derived from that distance:
//!
//! | class                       | cycle | step                |
//! |-----------------------------|-------|---------------------|
//! | `0`-`9`                     | 10    | distance % 9 + 1    |
//! | `A`-`Z` then `a`-`z`        | 52    | distance % 25 + 1   |
//! | U+00A0..=U+00FF             | 96    | distance % 95 + 1   |
//! | U+0100 and up, per 256 block| 256   | distance % 127 + 1  |
//! | anything else (ASCII punctuation, controls) | — | unchanged |
//!
//! `!` is the escape character: a literal `!` is written `!!`, and on decoding `!` takes the
//! next character as it is. rclone writes `!.<raw>` for a name that is not UTF-8; that prefix is
//! decoded here too, though every `&str` is UTF-8 so we never write it. The scheme hides names
//! from a casual glance only: it keeps their length, punctuation and character classes.

use zeroize::Zeroizing;

use crate::error::{Error, Result};

/// Escapes itself and, on decoding, whatever follows it.
const ESCAPE: char = '!';
/// Separates the number from the rotated name.
const SEPARATOR: char = '.';
/// The number written in front of a name is its code point sum modulo this.
const SUM_MODULUS: u32 = 256;

const LETTERS: u32 = 26;
/// The first character of the Latin-1 Supplement class.
const LATIN1_FIRST: u32 = 0xA0;
const LATIN1_LEN: u32 = 0x100 - LATIN1_FIRST;
/// Characters from here up rotate within their block of [`BLOCK_LEN`] code points.
const BLOCK_LEN: u32 = 0x100;

/// The rotation key: the sum of the name-key bytes.
pub(crate) fn key_sum(name_key: &[u8]) -> Zeroizing<u64> {
    Zeroizing::new(name_key.iter().map(|&b| u64::from(b)).sum())
}

/// The class a character rotates in: its cycle length, how the step is reduced from the
/// distance, and its position in the cycle.
struct Class {
    /// Number of characters in the cycle.
    len: u32,
    /// The step is `distance % step_modulus + 1`.
    step_modulus: u64,
    /// Position of the character in the cycle.
    pos: u32,
    /// Maps a position back to a code point.
    to_char: fn(c: u32, pos: u32) -> u32,
}

fn class_of(c: char) -> Option<Class> {
    let cp = u32::from(c);
    let class = match c {
        '0'..='9' => Class {
            len: 10,
            step_modulus: 9,
            pos: cp - u32::from('0'),
            to_char: |_, pos| u32::from('0') + pos,
        },
        'A'..='Z' | 'a'..='z' => Class {
            len: 2 * LETTERS,
            step_modulus: 25,
            pos: if c.is_ascii_uppercase() {
                cp - u32::from('A')
            } else {
                cp - u32::from('a') + LETTERS
            },
            to_char: |_, pos| {
                if pos < LETTERS {
                    u32::from('A') + pos
                } else {
                    u32::from('a') + pos - LETTERS
                }
            },
        },
        '\u{A0}'..='\u{FF}' => Class {
            len: LATIN1_LEN,
            step_modulus: 95,
            pos: cp - LATIN1_FIRST,
            to_char: |_, pos| LATIN1_FIRST + pos,
        },
        '\u{100}'.. => Class {
            len: BLOCK_LEN,
            step_modulus: 127,
            pos: cp % BLOCK_LEN,
            to_char: |c, pos| c - c % BLOCK_LEN + pos,
        },
        _ => return None,
    };
    Some(class)
}

/// Moves `c` forward (or back) within its class by the step derived from `distance`.
/// `None` if the result is not a character; that happens only for code points next to the
/// surrogate range, which cannot occur in a `&str`.
fn rotate(c: char, distance: u64, forward: bool) -> Option<char> {
    let Some(class) = class_of(c) else {
        return Some(c);
    };
    // step <= step_modulus < len, so the subtraction below cannot underflow.
    let step = (distance % class.step_modulus) as u32 + 1;
    let pos = if forward {
        (class.pos + step) % class.len
    } else {
        (class.pos + class.len - step) % class.len
    };
    char::from_u32((class.to_char)(u32::from(c), pos))
}

/// Obfuscates one segment. The empty segment stays empty.
pub(crate) fn obfuscate(name: &str, key_sum: u64) -> String {
    if name.is_empty() {
        return String::new();
    }
    let sum = name
        .chars()
        .map(u32::from)
        .fold(0u32, |acc, cp| (acc + cp) % SUM_MODULUS);
    let distance = u64::from(sum) + key_sum;
    let mut out = format!("{sum}{SEPARATOR}");
    for c in name.chars() {
        if c == ESCAPE {
            out.push(ESCAPE);
            out.push(ESCAPE);
        } else if let Some(rotated) = rotate(c, distance, true) {
            out.push(rotated);
        } else {
            out.push(ESCAPE);
            out.push(c);
        }
    }
    out
}

/// Reverses [`obfuscate`].
///
/// # Errors
/// [`Error::BadObfuscatedName`] if there is no `N.` prefix, N is not a decimal number, or the
/// text ends in a lone `!`.
pub(crate) fn deobfuscate(text: &str, key_sum: u64) -> Result<String> {
    let (number, rotated) = text.split_once(SEPARATOR).ok_or(Error::BadObfuscatedName)?;
    if number == "!" {
        return Ok(rotated.to_owned());
    }
    if number.is_empty() || !number.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Error::BadObfuscatedName);
    }
    let distance = number
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_add(key_sum))
        .ok_or(Error::BadObfuscatedName)?;
    let mut out = String::with_capacity(rotated.len());
    let mut chars = rotated.chars();
    while let Some(c) = chars.next() {
        if c == ESCAPE {
            out.push(chars.next().ok_or(Error::BadObfuscatedName)?);
        } else {
            out.push(rotate(c, distance, false).ok_or(Error::BadObfuscatedName)?);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY_SUM: u64 = 4321;

    fn round_trip(name: &str) {
        let text = obfuscate(name, KEY_SUM);
        assert_eq!(
            deobfuscate(&text, KEY_SUM).unwrap(),
            name,
            "{name:?} -> {text:?}"
        );
    }

    #[test]
    fn round_trip_ascii_digits_and_punctuation() {
        for name in [
            "hello",
            "Hello World.txt",
            "0123456789",
            "a.b.c",
            "~$%&'()-_=+[]{};,",
        ] {
            round_trip(name);
        }
    }

    #[test]
    fn round_trip_unicode() {
        for name in [
            "café",
            "ÿ ÷ ¡",
            "日本語のファイル",
            "emoji 😀🎉",
            "\u{FFFD}\u{10FFFF}",
            "Ωμέγα",
        ] {
            round_trip(name);
        }
    }

    #[test]
    fn round_trip_escape_char() {
        for name in ["!", "!!", "a!b", "!.x", "1.!"] {
            round_trip(name);
        }
    }

    #[test]
    fn round_trip_every_distance() {
        for key_sum in 0..300 {
            let name = "Az09 ¡ÿĀſ😀!";
            let text = obfuscate(name, key_sum);
            assert_eq!(deobfuscate(&text, key_sum).unwrap(), name);
        }
    }

    #[test]
    fn prefix_is_code_point_sum_mod_256() {
        // 'h' + 'e' + 'l' + 'l' + 'o' = 532 = 2 * 256 + 20.
        assert!(obfuscate("hello", 0).starts_with("20."));
        assert!(obfuscate("日", 0).starts_with(&format!("{}.", 0x65E5 % 256)));
    }

    #[test]
    fn rotation_stays_in_class_and_changes_letters() {
        let text = obfuscate("aZ5é", 0);
        let rotated: Vec<char> = text.split_once('.').unwrap().1.chars().collect();
        assert!(rotated[0].is_ascii_alphabetic() && rotated[0] != 'a');
        assert!(rotated[1].is_ascii_alphabetic() && rotated[1] != 'Z');
        assert!(rotated[2].is_ascii_digit() && rotated[2] != '5');
        assert!(('\u{A0}'..='\u{FF}').contains(&rotated[3]) && rotated[3] != 'é');
    }

    #[test]
    fn empty_stays_empty() {
        assert_eq!(obfuscate("", KEY_SUM), "");
    }

    #[test]
    fn malformed_names_are_refused() {
        for bad in [
            "",
            "hello",
            ".abc",
            "x.abc",
            "-1.abc",
            "+1.abc",
            "1 .abc",
            "99999999999999999999999.a",
            "12.ab!",
        ] {
            assert!(
                matches!(deobfuscate(bad, KEY_SUM), Err(Error::BadObfuscatedName)),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn raw_prefix_is_returned_as_is() {
        assert_eq!(deobfuscate("!.Straße", KEY_SUM).unwrap(), "Straße");
    }

    #[test]
    fn escape_takes_next_char_literally() {
        assert_eq!(deobfuscate("0.!!!a", 0).unwrap(), "!a");
    }

    #[test]
    fn key_sum_adds_bytes() {
        assert_eq!(*key_sum(&[255; 32]), 32 * 255);
    }
}
