//! rclone's filter patterns as regular expressions, in the text rclone itself makes of them
//! (what `--dump filters` prints), so that a rule chooses the same paths in poof and in rclone.
//!
//! [`to_regex`] turns one pattern into its expression: a pattern that starts with `/` is
//! anchored at the root (`^`), any other matches whole path segments at the end of a path
//! (`(^|/)`); `*` is any run of characters but `/`, `**` any run at all, `?` one character but
//! `/`, `[...]` a character class as written, `{a,b}` alternatives (nested too), `{{re}}` a
//! regular expression as written, `\c` the character `c` (or a class such as `\d`) as written;
//! every other character stands for itself. [`dir_includes`] gives the directories an include
//! rule needs listed, as rclone derives them: the folders on the way to what the pattern
//! matches.

use std::fmt::Write as _;

/// The anchors of a pattern that starts with `/`, and of one that does not.
const ROOTED: &str = "^";
const ANY_SEGMENT: &str = "(^|/)";

/// The regular expression that matches every directory (as a "can't tell" answer).
pub const EVERY_DIR: &str = "^.*$";

/// The regular expression rclone makes of `pattern`, without the case flag.
///
/// # Errors
/// A `[`, `{` or `{{` left open, a `]` or `}` never opened, three stars in a row: one line
/// naming the pattern.
pub fn to_regex(pattern: &str) -> Result<String, String> {
    let (mut out, body) = match pattern.strip_prefix('/') {
        Some(rest) => (String::from(ROOTED), rest),
        None => (String::from(ANY_SEGMENT), pattern),
    };
    let chars: Vec<char> = body.chars().collect();
    let mut braces = 0usize;
    let mut i = 0;
    while let Some(&c) = chars.get(i) {
        i += 1;
        match c {
            '\\' => {
                out.push('\\');
                if let Some(&next) = chars.get(i) {
                    out.push(next);
                    i += 1;
                }
            }
            '*' => {
                let mut stars = 1;
                while chars.get(i) == Some(&'*') {
                    stars += 1;
                    i += 1;
                }
                match stars {
                    1 => out.push_str("[^/]*"),
                    2 => out.push_str(".*"),
                    _ => return Err(format!("too many stars in {pattern:?}")),
                }
            }
            '?' => out.push_str("[^/]"),
            '[' => {
                // Copied as written up to the `]` that closes it (classes nest: `[[:alpha:]]`).
                out.push('[');
                let mut depth = 1;
                while depth > 0 {
                    let Some(&c) = chars.get(i) else {
                        return Err(format!("mismatched '[' and ']' in {pattern:?}"));
                    };
                    i += 1;
                    depth = match c {
                        '[' => depth + 1,
                        ']' => depth - 1,
                        _ => depth,
                    };
                    out.push(c);
                }
            }
            ']' => return Err(format!("mismatched ']' in {pattern:?}")),
            '{' if chars.get(i) == Some(&'{') => {
                let rest: String = chars.get(i + 1..).unwrap_or_default().iter().collect();
                let Some(end) = rest.find("}}") else {
                    return Err(format!("mismatched '{{{{' and '}}}}' in {pattern:?}"));
                };
                let regex = rest.get(..end).unwrap_or_default();
                let _ = write!(out, "({regex})");
                i += 1 + regex.chars().count() + 2;
            }
            '{' => {
                braces += 1;
                out.push('(');
            }
            '}' => {
                if braces == 0 {
                    return Err(format!("mismatched '{{' and '}}' in {pattern:?}"));
                }
                braces -= 1;
                out.push(')');
            }
            ',' if braces > 0 => out.push('|'),
            c => quote(&mut out, c),
        }
    }
    if braces > 0 {
        return Err(format!("mismatched '{{' and '}}' in {pattern:?}"));
    }
    out.push('$');
    Ok(out)
}

/// Adds `c` to `out` as a literal, escaped where regular expressions give it a meaning (the
/// characters Go's `regexp.QuoteMeta` escapes, so that the text is rclone's).
fn quote(out: &mut String, c: char) {
    if "\\.+*?()|[]{}^$".contains(c) {
        out.push('\\');
    }
    out.push(c);
}

/// The directory rules an include rule of `pattern` implies, as regular expressions: `None`
/// when they cannot be told from the pattern (a `{{regexp}}`, or alternatives that hold `/` or
/// `**`), when every directory must be listed.
///
/// A pattern without `/` that is not anchored can match in any directory: every directory.
/// Otherwise each folder on the way: the pattern cut after each of its `/`, longest first
/// (a pattern that ends in `**` counts as ending in `**/`). A pattern holding `**` is also a
/// directory rule of its own (the caller adds it).
///
/// # Errors
/// As [`to_regex`].
pub fn dir_includes(pattern: &str) -> Result<Option<Vec<String>>, String> {
    if !implies_dirs(pattern) {
        return Ok(None);
    }
    let (anchor, body) = match pattern.strip_prefix('/') {
        Some(rest) => ("/", rest),
        None => ("", pattern),
    };
    let mut folders = body.to_owned();
    if folders.ends_with("**") {
        folders.push('/');
    }
    if anchor.is_empty() && !folders.contains('/') {
        return Ok(Some(vec![EVERY_DIR.to_owned()]));
    }
    let mut out = Vec::new();
    for (end, _) in folders.rmatch_indices('/') {
        let folder = folders.get(..=end).unwrap_or_default();
        out.push(to_regex(&format!("{anchor}{folder}"))?);
    }
    Ok(Some(out))
}

/// Whether the folders an include rule needs can be told from its pattern: no `{{regexp}}`,
/// no alternatives holding `/` or `**`.
fn implies_dirs(pattern: &str) -> bool {
    if pattern.contains("{{") {
        return false;
    }
    let mut depth = 0usize;
    let mut inside = String::new();
    let mut escaped = false;
    for c in pattern.chars() {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '{' => depth += 1,
            '}' => depth = depth.saturating_sub(1),
            _ if depth > 0 => inside.push(c),
            _ => {}
        }
        if depth == 0 && !inside.is_empty() {
            if inside.contains('/') || inside.contains("**") {
                return false;
            }
            inside.clear();
        }
    }
    !(inside.contains('/') || inside.contains("**"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_become_rclones_expressions() {
        // Each pair as `rclone --dump filters` printed it (rclone v1.75).
        for (pattern, regex) in [
            ("*.jpg", r"(^|/)[^/]*\.jpg$"),
            ("/a/*.jpg", r"^a/[^/]*\.jpg$"),
            ("a/b/**", r"(^|/)a/b/.*$"),
            ("{x,y}/**", r"(^|/)(x|y)/.*$"),
            ("{a,{b,c}}", r"(^|/)(a|(b|c))$"),
            ("*.{{jpe?g}}", r"(^|/)[^/]*\.(jpe?g)$"),
            (r"a\d\.x", r"(^|/)a\d\.x$"),
            ("[!a-c]x", r"(^|/)[!a-c]x$"),
            ("[[:alpha:]]", r"(^|/)[[:alpha:]]$"),
            ("a.b+c(d)|e^f$", r"(^|/)a\.b\+c\(d\)\|e\^f\$$"),
            ("a,b", r"(^|/)a,b$"),
            ("{}", r"(^|/)()$"),
            ("{,a}", r"(^|/)(|a)$"),
            ("**foo", r"(^|/).*foo$"),
            ("x\\", r"(^|/)x\$"),
            ("a?b/c", r"(^|/)a[^/]b/c$"),
            ("/**", r"^.*$"),
        ] {
            assert_eq!(to_regex(pattern).as_deref(), Ok(regex), "{pattern}");
        }
    }

    #[test]
    fn broken_patterns_are_named() {
        for (pattern, why) in [
            ("a{b", "mismatched '{' and '}'"),
            ("a}b", "mismatched '{' and '}'"),
            ("[ab", "mismatched '[' and ']'"),
            (r"[\]x]", "mismatched ']'"),
            ("{{a", "mismatched '{{' and '}}'"),
            ("a***b", "too many stars"),
        ] {
            let err = to_regex(pattern).unwrap_err();
            let named = format!("{pattern:?}");
            assert!(
                err.contains(why) && err.contains(&named),
                "{pattern}: {err}"
            );
        }
    }

    #[test]
    fn include_rules_imply_the_folders_on_their_way() {
        let every = Some(vec![EVERY_DIR.to_owned()]);
        let dirs = |p: &str| dir_includes(p).unwrap();
        let own = |list: &[&str]| Some(list.iter().map(|s| (*s).to_owned()).collect());
        assert_eq!(dirs("*.jpg"), every);
        assert_eq!(dirs("/x.txt"), Some(vec![]));
        assert_eq!(dirs("/a/*.jpg"), own(&[r"^a/$"]));
        assert_eq!(
            dirs("a/b/**"),
            own(&[r"(^|/)a/b/.*/$", r"(^|/)a/b/$", r"(^|/)a/$"])
        );
        assert_eq!(
            dirs("/a/**/b/*.txt"),
            own(&[r"^a/.*/b/$", r"^a/.*/$", r"^a/$"])
        );
        assert_eq!(dirs("**"), own(&[r"(^|/).*/$"]));
        assert_eq!(dirs("{x/**,y/**}"), None);
        assert_eq!(dirs("/a/{b,c/d}/*.txt"), None);
        assert_eq!(dirs("a/{{b.*}}/c"), None);
        assert_eq!(dirs("{x,y}/**").map(|d| d.len()), Some(2));
    }
}
