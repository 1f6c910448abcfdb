//! `poof lsjson REMOTE:PATH [-R]`: a location's entries as the JSON array `rclone lsjson` prints:
//! a `[` line, one object per line (`Path`, `Name`, `Size`, `MimeType`, `ModTime`, `IsDir`),
//! commas between them, a `]` line. rclone's filter flags choose the entries
//! ([`crate::filter`]).
//!
//! Directories of object stores have no time: poof prints rclone's placeholder, 2000-01-01.
//! Strings are escaped as Go's `encoding/json` does (`<`, `>`, `&`, U+2028 and U+2029 as
//! `\uXXXX`), times are RFC 3339 in UTC with nine fraction digits, directories have size -1.
//! MIME types come from the file name as Go's `mime.TypeByExtension` finds them: Go's built-in
//! table first, then the system's shared-mime-info `globs2` (else `/etc/mime.types`), `text/*`
//! types with `; charset=utf-8`; unknown extensions give `application/octet-stream`.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::io::Write;
use std::process::ExitCode;
use std::sync::OnceLock;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result};

use super::target::{fill_mtimes, resolve, sort_walk_order};
use crate::cli::LsjsonArgs;
use crate::config::Paths;
use crate::remote::backend::Entry;

/// MIME type of directories.
const DIR_MIME: &str = "inode/directory";
/// What rclone prints for a time it does not know (directories of object stores).
const UNKNOWN_TIME_SECS: u64 = 946_684_800; // 2000-01-01T00:00:00Z

/// MIME type of files whose extension is unknown.
const DEFAULT_MIME: &str = "application/octet-stream";

/// Go's built-in extension table (`mime/type.go`), which system files do not override.
const BUILTIN_MIME: &[(&str, &str)] = &[
    (".avif", "image/avif"),
    (".css", "text/css; charset=utf-8"),
    (".gif", "image/gif"),
    (".htm", "text/html; charset=utf-8"),
    (".html", "text/html; charset=utf-8"),
    (".jpeg", "image/jpeg"),
    (".jpg", "image/jpeg"),
    (".js", "text/javascript; charset=utf-8"),
    (".json", "application/json"),
    (".mjs", "text/javascript; charset=utf-8"),
    (".pdf", "application/pdf"),
    (".png", "image/png"),
    (".svg", "image/svg+xml"),
    (".wasm", "application/wasm"),
    (".webp", "image/webp"),
    (".xml", "text/xml; charset=utf-8"),
];

/// shared-mime-info files Go reads, the first that exists wins.
const GLOBS_FILES: &[&str] = &["/usr/local/share/mime/globs2", "/usr/share/mime/globs2"];
/// Classic tables Go reads when no globs file exists.
const TYPES_FILES: &[&str] = &[
    "/etc/mime.types",
    "/etc/apache2/mime.types",
    "/etc/apache/mime.types",
    "/etc/httpd/conf/mime.types",
];

/// Adds `; charset=utf-8` to `text/*` types without a charset, as Go does.
fn with_charset(mime: &str) -> String {
    if mime.starts_with("text/") && !mime.contains("charset") {
        format!("{mime}; charset=utf-8")
    } else {
        mime.to_owned()
    }
}

fn mime_table() -> &'static HashMap<String, String> {
    static TABLE: OnceLock<HashMap<String, String>> = OnceLock::new();
    TABLE.get_or_init(|| {
        let mut table: HashMap<String, String> = BUILTIN_MIME
            .iter()
            .map(|(e, m)| ((*e).to_owned(), (*m).to_owned()))
            .collect();
        let globs = GLOBS_FILES
            .iter()
            .find_map(|f| std::fs::read_to_string(f).ok());
        if let Some(text) = globs {
            for line in text.lines().filter(|l| !l.starts_with('#')) {
                let fields: Vec<&str> = line.split(':').collect();
                let (Some(mime), Some(glob)) = (fields.get(1), fields.get(2)) else {
                    continue;
                };
                let Some(ext) = glob
                    .strip_prefix('*')
                    .filter(|e| e.len() >= 2 && e.starts_with('.'))
                else {
                    continue;
                };
                if ext.contains(['?', '*', '[']) {
                    continue;
                }
                table
                    .entry(ext.to_owned())
                    .or_insert_with(|| with_charset(mime));
            }
        } else {
            for text in TYPES_FILES
                .iter()
                .filter_map(|f| std::fs::read_to_string(f).ok())
            {
                for line in text.lines() {
                    let mut fields = line.split_whitespace();
                    let Some(mime) = fields.next().filter(|m| !m.starts_with('#')) else {
                        continue;
                    };
                    for ext in fields.take_while(|e| !e.starts_with('#')) {
                        table.insert(format!(".{ext}"), with_charset(mime));
                    }
                }
            }
        }
        table
    })
}

/// The MIME type of a file name, as rclone's `MimeTypeFromName`.
fn mime_type(name: &str) -> &'static str {
    let Some(dot) = name.rfind('.') else {
        return DEFAULT_MIME;
    };
    let ext = name.get(dot..).unwrap_or_default();
    let table = mime_table();
    table
        .get(ext)
        .or_else(|| table.get(&ext.to_lowercase()))
        .map_or(DEFAULT_MIME, String::as_str)
}

/// A JSON string literal escaped as Go's `encoding/json` escapes it.
fn go_json_string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '<' | '>' | '&' | '\u{2028}' | '\u{2029}' => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c if u32::from(c) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Civil date of a day count since 1970-01-01 (proleptic Gregorian).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// RFC 3339 in UTC with nine fraction digits, as rclone prints `ModTime`.
fn rfc3339_nanos(t: SystemTime) -> String {
    let (secs, nanos) = match t.duration_since(UNIX_EPOCH) {
        Ok(d) => (
            i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
            d.subsec_nanos(),
        ),
        Err(e) => {
            let d = e.duration();
            let secs = -i64::try_from(d.as_secs()).unwrap_or(i64::MAX);
            match d.subsec_nanos() {
                0 => (secs, 0),
                n => (secs - 1, 1_000_000_000 - n),
            }
        }
    };
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, mo, d) = civil_from_days(days);
    format!(
        "{y:04}-{mo:02}-{d:02}T{:02}:{:02}:{:02}.{nanos:09}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// One line of output (without the separating comma).
fn json_line(entry: &Entry) -> String {
    let mime = if entry.is_dir() {
        DIR_MIME
    } else {
        mime_type(entry.name())
    };
    let size = if entry.is_dir() {
        "-1".to_owned()
    } else {
        entry.size.to_string()
    };
    format!(
        "{{\"Path\":{},\"Name\":{},\"Size\":{size},\"MimeType\":{},\"ModTime\":{},\"IsDir\":{}}}",
        go_json_string(&entry.path),
        go_json_string(entry.name()),
        go_json_string(mime),
        go_json_string(&rfc3339_nanos(entry.mtime.unwrap_or(
            UNIX_EPOCH + std::time::Duration::from_secs(UNKNOWN_TIME_SECS)
        ))),
        entry.is_dir()
    )
}

/// Runs the command.
///
/// # Errors
/// The location cannot be resolved or listed, a `stat` fails, or stdout is closed.
pub async fn run(paths: &Paths, args: &LsjsonArgs) -> Result<ExitCode> {
    let filter = args.filter.build()?;
    let target = resolve(paths, &args.location, args.recursive).await?;
    let mut entries = target.entries().to_vec();
    if !target.backend().features().mtime_in_listing {
        fill_mtimes(target.backend().as_ref(), &mut entries).await?;
    }
    filter.retain(&mut entries);
    sort_walk_order(&mut entries);
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let write = |out: &mut std::io::BufWriter<_>, line: &str| -> Result<()> {
        writeln!(out, "{line}").context("cannot write to standard output")
    };
    write(&mut out, "[")?;
    let count = entries.len();
    for (i, entry) in entries.iter().enumerate() {
        let sep = if i + 1 < count { "," } else { "" };
        write(&mut out, &format!("{}{sep}", json_line(entry)))?;
    }
    write(&mut out, "]")?;
    out.flush().context("cannot write to standard output")?;
    Ok(target.listing_exit())
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn go_escapes_html_characters() {
        assert_eq!(
            go_json_string("a<b>&\"\\\n\u{1}\u{2028}é"),
            "\"a\\u003cb\\u003e\\u0026\\\"\\\\\\n\\u0001\\u2028é\""
        );
    }

    #[test]
    fn rfc3339_has_nine_digits() {
        let t = UNIX_EPOCH + Duration::new(1_650_000_000, 123_000_000);
        assert_eq!(rfc3339_nanos(t), "2022-04-15T05:20:00.123000000Z");
        assert_eq!(rfc3339_nanos(UNIX_EPOCH), "1970-01-01T00:00:00.000000000Z");
    }

    #[test]
    fn rfc3339_before_the_epoch() {
        let t = UNIX_EPOCH - Duration::new(1, 250_000_000);
        assert_eq!(rfc3339_nanos(t), "1969-12-31T23:59:58.750000000Z");
    }

    #[test]
    fn builtin_mime_types_win() {
        assert_eq!(mime_type("a.json"), "application/json");
        assert_eq!(mime_type("A.PNG"), "image/png");
        assert_eq!(mime_type("noext"), DEFAULT_MIME);
    }
}
