//! rclone's filter rules: which files a command takes, chosen exactly as rclone chooses them
//! from the same flags, so that a user's filter files mean the same in both.
//!
//! A [`Filter`] is built once from the flags ([`Spec`]: `--include`, `--exclude`, `--filter`,
//! their `-from` files, `--files-from`, `--exclude-if-present`, sizes, ages, `--ignore-case`)
//! and then asked per path: [`Filter::file`] for a file (its path, size and time),
//! [`Filter::dir`] for a folder (whether to list it at all: an excluded `node_modules/` is
//! never listed). Patterns become regular expressions once, in the text rclone makes of them
//! ([`glob`]), in two ordered lists as rclone keeps them: file rules, and directory rules
//! (written with a closing `/`, or implied by the file rules: an include of `/a/*.jpg` needs
//! `/a/` listed). The first rule that matches decides; a path no rule matches is taken.
//!
//! The rules are in rclone's order: every `--include`, then `--include-from`, `--exclude`,
//! `--exclude-from`, `--filter`, `--filter-from` (each kind in command-line order, a file's
//! lines top to bottom); `!` clears the rules so far; any `--include` or `--include-from` adds
//! a last `- **`. `--files-from` takes exactly the files it lists (and the folders on their
//! way), and is refused beside any other filter flag, as rclone refuses it.
//!
//! [`Filter::dump`] prints the lists as `--dump filters` does, in the same text.

pub mod glob;

use std::collections::{HashMap, HashSet};
use std::io::Read;
use std::path::Path;
use std::time::{Duration, SystemTime};

use anyhow::{bail, Context, Result};
use regex::{Regex, RegexSet};

use crate::remote::backend::Entry;

/// The filter flags of a command, as given.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct Spec {
    /// Take only files matching pattern (implies a last `- **`)
    #[arg(long = "include", value_name = "PATTERN")]
    pub include: Vec<String>,
    /// Read include patterns from file (`-` for standard input)
    #[arg(long = "include-from", value_name = "FILE")]
    pub include_from: Vec<String>,
    /// Leave out files matching pattern
    #[arg(long = "exclude", value_name = "PATTERN")]
    pub exclude: Vec<String>,
    /// Read exclude patterns from file (`-` for standard input)
    #[arg(long = "exclude-from", value_name = "FILE")]
    pub exclude_from: Vec<String>,
    /// A filtering rule: `+ PATTERN`, `- PATTERN`, or `!` to clear the rules so far
    #[arg(long = "filter", value_name = "RULE", allow_hyphen_values = true)]
    pub filter: Vec<String>,
    /// Read filtering rules from file (`-` for standard input)
    #[arg(long = "filter-from", value_name = "FILE")]
    pub filter_from: Vec<String>,
    /// Take only the files listed in file, one path per line (alone, as in rclone)
    #[arg(long = "files-from", value_name = "FILE")]
    pub files_from: Vec<String>,
    /// Leave out folders holding this file (or folder, with a closing `/`)
    #[arg(long = "exclude-if-present", value_name = "NAME")]
    pub exclude_if_present: Vec<String>,
    /// Leave out files smaller than this (rclone's sizes: `100k`, `1.5M`, `2G`; KiB by default)
    #[arg(long = "min-size", value_name = "SIZE")]
    pub min_size: Option<String>,
    /// Leave out files larger than this
    #[arg(long = "max-size", value_name = "SIZE")]
    pub max_size: Option<String>,
    /// Leave out files modified more recently than this (`2d`, `1.5w`, `1h30m`, `2006-01-02`)
    #[arg(long = "min-age", value_name = "AGE")]
    pub min_age: Option<String>,
    /// Leave out files modified longer ago than this
    #[arg(long = "max-age", value_name = "AGE")]
    pub max_age: Option<String>,
    /// Patterns match whatever the case
    #[arg(long = "ignore-case")]
    pub ignore_case: bool,
}

/// One rule: take or leave what its expression matches.
#[derive(Debug, Clone)]
struct Rule {
    include: bool,
    /// The expression as rclone prints it (the case flag included).
    text: String,
    regex: Regex,
}

/// The files `--files-from` lists and the folders on their way.
#[derive(Debug, Clone, Default)]
struct Listed {
    files: HashSet<String>,
    dirs: HashSet<String>,
}

/// A compiled rule set (see the module docs).
#[derive(Debug, Clone, Default)]
pub struct Filter {
    files: Vec<Rule>,
    dirs: Vec<Rule>,
    /// The expressions of `files` and of `dirs` in order, each list matched in one pass,
    /// once complete.
    sets: Option<(RegexSet, RegexSet)>,
    listed: Option<Listed>,
    min_size: Option<u64>,
    max_size: Option<u64>,
    /// Files modified before this are left out (`--max-age`).
    newer_than: Option<SystemTime>,
    /// Files modified after this are left out (`--min-age`).
    older_than: Option<SystemTime>,
    exclude_if_present: Vec<String>,
    ignore_case: bool,
}

impl Filter {
    /// The filter of `spec`, ages counted back from `now`.
    ///
    /// # Errors
    /// A pattern or rule that does not parse, a file that cannot be read (each named, with
    /// the line), a size or an age that is not one, `--files-from` beside other filters.
    pub fn new(spec: &Spec, now: SystemTime) -> Result<Filter> {
        let mut filter = Filter {
            ignore_case: spec.ignore_case,
            ..Filter::default()
        };
        if !spec.files_from.is_empty() {
            let alone = spec.include.is_empty()
                && spec.include_from.is_empty()
                && spec.exclude.is_empty()
                && spec.exclude_from.is_empty()
                && spec.filter.is_empty()
                && spec.filter_from.is_empty()
                && spec.exclude_if_present.is_empty()
                && spec.min_size.is_none()
                && spec.max_size.is_none()
                && spec.min_age.is_none()
                && spec.max_age.is_none();
            if !alone {
                bail!("--files-from takes exactly the files it lists: use it without other filter flags, as in rclone");
            }
            let mut listed = Listed::default();
            for file in &spec.files_from {
                for line in lines(file)? {
                    let path = line.trim_start_matches('/');
                    if path.is_empty() {
                        continue;
                    }
                    let mut dir = path;
                    while let Some((parent, _)) = dir.rsplit_once('/') {
                        listed.dirs.insert(parent.to_owned());
                        dir = parent;
                    }
                    listed.files.insert(path.to_owned());
                }
            }
            filter.listed = Some(listed);
            return Ok(filter);
        }
        // rclone's order; `None`: a `+ `/`- `/`!` rule rather than a bare pattern.
        let given = [
            (Some(true), &spec.include, "--include", false),
            (Some(true), &spec.include_from, "--include-from", true),
            (Some(false), &spec.exclude, "--exclude", false),
            (Some(false), &spec.exclude_from, "--exclude-from", true),
            (None, &spec.filter, "--filter", false),
            (None, &spec.filter_from, "--filter-from", true),
        ];
        for (include, values, flag, from_file) in given {
            for value in values {
                if !from_file {
                    filter
                        .take(include, value)
                        .with_context(|| format!("{flag} {value:?}"))?;
                    continue;
                }
                for (n, line) in lines(value)?.iter().enumerate() {
                    filter
                        .take(include, line)
                        .with_context(|| format!("{value}, line {}", n + 1))?;
                }
            }
        }
        if !spec.include.is_empty() || !spec.include_from.is_empty() {
            filter.add(false, "/**")?;
        }
        filter.min_size = size(spec.min_size.as_deref(), "--min-size")?;
        filter.max_size = size(spec.max_size.as_deref(), "--max-size")?;
        filter.newer_than = age(spec.max_age.as_deref(), now, "--max-age")?;
        filter.older_than = age(spec.min_age.as_deref(), now, "--min-age")?;
        filter.exclude_if_present = spec.exclude_if_present.clone();
        filter.seal()?;
        Ok(filter)
    }

    /// Whether the filter takes every file (no flag given): callers skip it then.
    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
            && self.dirs.is_empty()
            && self.listed.is_none()
            && self.min_size.is_none()
            && self.max_size.is_none()
            && self.newer_than.is_none()
            && self.older_than.is_none()
            && self.exclude_if_present.is_empty()
    }

    /// Whether the filter needs files' modification times (an age is given).
    pub fn needs_mtime(&self) -> bool {
        self.newer_than.is_some() || self.older_than.is_some()
    }

    /// Whether the file at `path` (relative to the root, no leading `/`) of `size` bytes,
    /// modified at `mtime`, is taken. A file whose time is unknown passes the ages.
    pub fn file(&self, path: &str, size: u64, mtime: Option<SystemTime>) -> bool {
        let by_name = match &self.listed {
            Some(listed) => listed.files.contains(path),
            None => {
                first_match(&self.files, self.sets.as_ref().map(|s| &s.0), path).unwrap_or(true)
            }
        };
        by_name
            && self.min_size.is_none_or(|min| size >= min)
            && self.max_size.is_none_or(|max| size <= max)
            && mtime.is_none_or(|t| {
                self.newer_than.is_none_or(|newer| t >= newer)
                    && self.older_than.is_none_or(|older| t <= older)
            })
    }

    /// Whether the folder at `path` (`""` for the root, always taken) is listed at all.
    pub fn dir(&self, path: &str) -> bool {
        if path.is_empty() {
            return true;
        }
        if let Some(listed) = &self.listed {
            return listed.dirs.contains(path);
        }
        if self.dirs.is_empty() {
            return true;
        }
        let dir = format!("{path}/");
        first_match(&self.dirs, self.sets.as_ref().map(|s| &s.1), &dir).unwrap_or(true)
    }

    /// Whether a folder holding `entries` (its listing) is left out by
    /// `--exclude-if-present`: one of them has a name given (a folder's with a closing `/`).
    pub fn marked(&self, entries: &[Entry]) -> bool {
        entries.iter().any(|e| self.is_marker(e))
    }

    /// Whether `entry` is a marker `--exclude-if-present` names.
    fn is_marker(&self, entry: &Entry) -> bool {
        if self.exclude_if_present.is_empty() {
            return false;
        }
        let name = entry.path.rsplit('/').next().unwrap_or(&entry.path);
        self.exclude_if_present
            .iter()
            .any(|marker| match marker.strip_suffix('/') {
                Some(dir) => entry.is_dir() && name == dir,
                None => !entry.is_dir() && name == marker,
            })
    }

    /// Keeps of a whole listing (every entry below a root) what the filter takes: files it
    /// takes in folders it lists, and those folders.
    pub fn retain(&self, entries: &mut Vec<Entry>) {
        if self.is_empty() {
            return;
        }
        let marked: HashSet<String> = entries
            .iter()
            .filter(|e| self.is_marker(e))
            .map(|e| parent(&e.path).to_owned())
            .collect();
        // Whether each folder is listed: it and every folder above it taken and unmarked.
        let mut listed: HashMap<String, bool> = HashMap::new();
        let mut is_listed = |dir: &str| -> bool {
            let mut chain = Vec::new();
            let mut at = dir;
            let mut answer = true;
            loop {
                if let Some(&known) = listed.get(at) {
                    answer = known;
                    break;
                }
                chain.push(at);
                if marked.contains(at) || !self.dir(at) {
                    answer = false;
                    break;
                }
                if at.is_empty() {
                    break;
                }
                at = parent(at);
            }
            // Folders below one left out are left out; the rest take the answer found.
            for folder in chain {
                listed.insert(folder.to_owned(), answer);
            }
            answer
        };
        entries.retain(|e| {
            if e.is_dir() {
                is_listed(&e.path)
            } else {
                is_listed(parent(&e.path)) && self.file(&e.path, e.size, e.mtime)
            }
        });
    }

    /// The rules as rclone's `--dump filters` prints them.
    pub fn dump(&self) -> String {
        let mut out = String::from("--- start filters ---\n");
        if let Some(t) = self.newer_than {
            out.push_str(&format!(
                "Last-modified date must be equal or greater than: {}\n",
                humantime(t)
            ));
        }
        if let Some(t) = self.older_than {
            out.push_str(&format!(
                "Last-modified date must be equal or less than: {}\n",
                humantime(t)
            ));
        }
        if let Some(min) = self.min_size {
            out.push_str(&format!("Minimum size is: {min} bytes\n"));
        }
        if let Some(max) = self.max_size {
            out.push_str(&format!("Maximum size is: {max} bytes\n"));
        }
        out.push_str("--- File filter rules ---\n");
        for rule in &self.files {
            out.push_str(&format!("{} {}\n", sign(rule.include), rule.text));
        }
        out.push_str("--- Directory filter rules ---\n");
        for rule in &self.dirs {
            out.push_str(&format!("{} {}\n", sign(rule.include), rule.text));
        }
        out.push_str("--- end filters ---\n");
        out
    }

    /// Compiles each complete list of rules into one set of expressions.
    fn seal(&mut self) -> Result<()> {
        let set = |rules: &[Rule]| {
            RegexSet::new(rules.iter().map(|r| r.regex.as_str()))
                .context("cannot compile the filter rules")
        };
        self.sets = Some((set(&self.files)?, set(&self.dirs)?));
        Ok(())
    }

    /// Adds a pattern to include (`Some(true)`) or exclude (`Some(false)`), or a rule.
    fn take(&mut self, include: Option<bool>, text: &str) -> Result<()> {
        match include {
            Some(include) => self.add(include, text),
            None => self.rule(text),
        }
    }

    /// Adds one `+ PATTERN`, `- PATTERN` or `!` rule.
    fn rule(&mut self, rule: &str) -> Result<()> {
        if rule == "!" {
            self.files.clear();
            self.dirs.clear();
            return Ok(());
        }
        match (rule.strip_prefix("+ "), rule.strip_prefix("- ")) {
            (Some(pattern), _) => self.add(true, pattern),
            (_, Some(pattern)) => self.add(false, pattern),
            _ => bail!("malformed rule {rule:?}: a rule is `+ PATTERN`, `- PATTERN` or `!`"),
        }
    }

    /// Adds the rules of one pattern: a file rule unless it names folders (a closing `/`),
    /// a directory rule when it does or holds `**`; excluding `dir/` excludes `dir/**`; an
    /// include adds the folders on its way ([`glob::dir_includes`]).
    fn add(&mut self, include: bool, pattern: &str) -> Result<()> {
        let mut pattern = pattern.to_owned();
        if !include && pattern.ends_with('/') {
            pattern.push_str("**");
        }
        let any_depth = pattern.contains("**");
        let for_files = any_depth || !pattern.ends_with('/');
        let for_dirs = any_depth || pattern.ends_with('/');
        let text = glob::to_regex(&pattern).map_err(anyhow::Error::msg)?;
        if for_files {
            self.files.push(self.compile(include, &text)?);
            if include {
                let dirs = glob::dir_includes(&pattern).map_err(anyhow::Error::msg)?;
                for dir in dirs.unwrap_or_else(|| vec![glob::EVERY_DIR.to_owned()]) {
                    self.add_dir(true, &dir)?;
                }
            }
        }
        if for_dirs {
            self.add_dir(include, &text)?;
        }
        if !include && pattern == "*" {
            self.add_dir(false, glob::EVERY_DIR)?;
        }
        Ok(())
    }

    /// Adds a directory rule, unless the same rule is already there (it could never decide).
    fn add_dir(&mut self, include: bool, text: &str) -> Result<()> {
        let rule = self.compile(include, text)?;
        if !self
            .dirs
            .iter()
            .any(|r| r.include == include && r.text == rule.text)
        {
            self.dirs.push(rule);
        }
        Ok(())
    }

    /// One rule of the expression `text` (rclone's), with the case flag when asked.
    fn compile(&self, include: bool, text: &str) -> Result<Rule> {
        let text = if self.ignore_case {
            format!("(?i){text}")
        } else {
            text.to_owned()
        };
        let regex = Regex::new(&ascii_classes(&text))
            .with_context(|| format!("bad pattern (regular expression {text:?})"))?;
        Ok(Rule {
            include,
            text,
            regex,
        })
    }
}

/// The folder a path is in (`""` for the root's entries).
fn parent(path: &str) -> &str {
    path.rsplit_once('/').map_or("", |(dir, _)| dir)
}

/// What the first of `rules` that matches `path` says, if one does (`set`: their
/// expressions, matched at once).
fn first_match(rules: &[Rule], set: Option<&RegexSet>, path: &str) -> Option<bool> {
    let first = match set {
        Some(set) => set.matches(path).iter().next(),
        None => rules.iter().position(|r| r.regex.is_match(path)),
    };
    first.and_then(|i| rules.get(i)).map(|r| r.include)
}

/// `+` or `-`, as rclone prints a rule.
fn sign(include: bool) -> &'static str {
    if include {
        "+"
    } else {
        "-"
    }
}

/// The expression with `\d`, `\s`, `\w` and their negations as the ASCII classes they are in
/// rclone's expressions (Go's), where Rust's would take any Unicode digit, space or letter.
fn ascii_classes(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        let Some(next) = chars.next() else {
            out.push(c);
            break;
        };
        match next {
            'd' => out.push_str("[0-9]"),
            'D' => out.push_str("[^0-9]"),
            's' => out.push_str(r"[\t\n\f\r ]"),
            'S' => out.push_str(r"[^\t\n\f\r ]"),
            'w' => out.push_str("[0-9A-Za-z_]"),
            'W' => out.push_str("[^0-9A-Za-z_]"),
            other => {
                out.push('\\');
                out.push(other);
            }
        }
    }
    out
}

/// The rule lines of a file (`-`: standard input): each trimmed, blank lines and comments
/// (`#`, `;`) skipped.
fn lines(file: &str) -> Result<Vec<String>> {
    let mut text = String::new();
    if file == "-" {
        std::io::stdin()
            .read_to_string(&mut text)
            .context("cannot read filter rules from standard input")?;
    } else {
        text = std::fs::read_to_string(Path::new(file))
            .with_context(|| format!("cannot read the filter file {file}"))?;
    }
    Ok(text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#') && !l.starts_with(';'))
        .map(str::to_owned)
        .collect())
}

/// A size flag's bytes (`off`: none, rclone's default).
fn size(text: Option<&str>, flag: &str) -> Result<Option<u64>> {
    text.filter(|t| *t != "off")
        .map(|t| {
            crate::remote::opendal::parse_size(t).with_context(|| {
                format!(
                    "{flag} {t:?} is not a size (a number with an optional unit: 100k, 1.5M, 2G)"
                )
            })
        })
        .transpose()
}

/// The time an age flag points at, counted back from `now`.
fn age(text: Option<&str>, now: SystemTime, flag: &str) -> Result<Option<SystemTime>> {
    let Some(text) = text.filter(|t| *t != "off") else {
        return Ok(None);
    };
    let found = parse_age(text, now).with_context(|| {
        format!("{flag} {text:?} is not an age (2d, 1.5w, 1h30m, 90s, or a date 2006-01-02)")
    })?;
    Ok(Some(found))
}

/// rclone's ages: a number with one suffix of days and more (`2d`, `1.5w`, `1M` = 30 days,
/// `1y` = 365 days), a bare number of seconds, or Go's durations (`1h30m`, `500ms`, `90s`: units
/// `ns`, `us`, `ms`, `s`, `m`, `h`), counted back from `now` (a negative one forward); or an
/// absolute time ([`parse_date`]).
fn parse_age(text: &str, now: SystemTime) -> Option<SystemTime> {
    let seconds = if let Some(date) = parse_date(&text.replacen(' ', "T", 1)) {
        return Some(date);
    } else if let Some(secs) = days_and_more(text).or_else(|| go_number(text)) {
        secs
    } else {
        go_duration(text)?
    };
    let shift = Duration::try_from_secs_f64(seconds.abs()).ok()?;
    if seconds >= 0.0 {
        now.checked_sub(shift)
    } else {
        now.checked_add(shift)
    }
}

/// Seconds of a number followed by `d`, `w`, `M` or `y`.
fn days_and_more(text: &str) -> Option<f64> {
    let unit = match text.chars().last()? {
        'd' => 86_400.0,
        'w' => 7.0 * 86_400.0,
        'M' => 30.0 * 86_400.0,
        'y' => 365.0 * 86_400.0,
        _ => return None,
    };
    Some(go_number(text.get(..text.len() - 1)?)? * unit)
}

/// A decimal number as Go reads one here: digits with an optional sign and fraction.
fn go_number(text: &str) -> Option<f64> {
    let digits = text.strip_prefix(['-', '+']).unwrap_or(text);
    let valid = !digits.is_empty()
        && digits.chars().all(|c| c.is_ascii_digit() || c == '.')
        && digits.chars().any(|c| c.is_ascii_digit())
        && digits.matches('.').count() <= 1;
    valid.then(|| text.parse().ok()).flatten()
}

/// Seconds of a Go duration: an optional sign, then numbers each with its unit.
fn go_duration(text: &str) -> Option<f64> {
    let (sign, mut rest) = match text.strip_prefix('-') {
        Some(rest) => (-1.0, rest),
        None => (1.0, text.strip_prefix('+').unwrap_or(text)),
    };
    if rest.is_empty() {
        return None;
    }
    let mut total = 0.0;
    while !rest.is_empty() {
        let end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let value = go_number(rest.get(..end)?)?;
        let tail = rest.get(end..)?;
        let unit_end = tail
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(tail.len());
        let per = match tail.get(..unit_end)? {
            "ns" => 1e-9,
            "us" | "µs" | "μs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return None,
        };
        total += value * per;
        rest = tail.get(unit_end..)?;
    }
    Some(sign * total)
}

/// An absolute time as rclone takes one: RFC 3339 (`2006-01-02T15:04:05Z`, with an offset),
/// or a date with an optional time (`2006-01-02`, `2006-01-02 15:04:05`,
/// `2006-01-02T15:04:05`) in the local time zone.
fn parse_date(text: &str) -> Option<SystemTime> {
    if let Ok(at) = text.parse::<jiff::Timestamp>() {
        return Some(SystemTime::from(at));
    }
    let local = jiff::tz::TimeZone::system();
    let civil = match text.parse::<jiff::civil::DateTime>() {
        Ok(at) if text.len() == 19 => at,
        _ => text
            .parse::<jiff::civil::Date>()
            .ok()
            .filter(|_| text.len() == 10)?
            .to_datetime(jiff::civil::Time::midnight()),
    };
    let zoned = civil.to_zoned(local).ok()?;
    Some(SystemTime::from(zoned.timestamp()))
}

/// A time for the dump: seconds since the epoch, UTC.
fn humantime(t: SystemTime) -> String {
    match t.duration_since(SystemTime::UNIX_EPOCH) {
        Ok(d) => format!("{} (seconds since 1970, UTC)", d.as_secs()),
        Err(_) => "before 1970".to_owned(),
    }
}

#[cfg(test)]
mod tests;
