//! Bandwidth limits: rclone's `--bwlimit` spec ([`Spec`]), the rates its timetable puts in
//! force at a local time ([`Spec::rates_at`]), and the token buckets every transfer of a run
//! draws from ([`Limiter`], [`Throttle`]).
//!
//! The syntax is rclone's (<https://rclone.org/docs/#bwlimit-bandwidth-spec>):
//!
//! - a rate in bytes per second: a number of KiB/s (`512`), or a number with a binary suffix
//!   `B`, `K`, `M`, `G`, `T` or `P` (`10M` is 10 MiB/s, `0.5M` is 512 KiB/s; `Ki`, `KiB`...
//!   are taken too), in any case; `off` or `0` is no limit;
//! - `UP:DOWN`, separate rates for uploads and downloads (`10M:100k`, `off:1M`);
//! - a timetable: entries `HH:MM,RATE` or `DAY-HH:MM,RATE` separated by spaces, `DAY` a day of
//!   the week as a whole word or its first three letters (`Mon`, `Monday`), `RATE` as above
//!   (`UP:DOWN` too). An entry without a day stands for every day. The entry in force is the
//!   last one whose time has come, counting back across midnight and the week:
//!   `"08:00,512k 18:00,off"` limits to 512 KiB/s from 8:00 to 18:00 every day.
//!
//! A rate below [`MIN_RATE`] or above [`MAX_RATE`] is refused, as is anything else that does
//! not parse, with one line naming the bad part. Parsing never panics.
//!
//! At run time a [`Limiter`] holds one token bucket per direction the spec ever limits (none at
//! all for `off`), shared by every transfer of the run. What a direction is, is the caller's
//! call ([`Flow`]): poof's backups upload and its restores download; `sync` and `copy` upload
//! towards a remote, download from one, do both between two remotes, and count a copy between
//! two local folders as an upload. A [`Throttle`] is what one transfer draws from: a small
//! file waits on its thread ([`Throttle::wait`]), a stream through [`Throttled`]. A timetable's
//! rate is looked up again at each new minute of the local time.

use std::fmt;
use std::future::Future as _;
use std::io;
use std::pin::Pin;
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use jiff::civil::{DateTime, Weekday};
use tokio::io::{AsyncRead, ReadBuf};

/// One KiB: the unit of a rate without a suffix.
pub const KIB: u64 = 1024;
/// The smallest limit taken, 1 KiB/s: below it one crypt block (64 KiB) takes over a minute.
pub const MIN_RATE: u64 = KIB;
/// The largest limit taken, 1 PiB/s: more is no limit at all.
pub const MAX_RATE: u64 = 1 << 50;
/// Bytes a full bucket lets through at once: at least one crypt block...
pub const MIN_BURST: u64 = 64 * KIB;
/// ...or a tenth of a second's worth at the rate in force, whichever is more.
const BURST_PER_SECOND: f64 = 10.0;

const MINUTES_PER_DAY: u16 = 24 * 60;
/// Quoted parts of a spec in messages are cut to this many characters.
const SHOWN_CHARS: usize = 40;
/// Digits after the point a rate keeps (`0.0009765625M` is exactly 1K; finer is noise).
const FRACTION_DIGITS: usize = 20;
/// Digits before the point past which a rate is above [`MAX_RATE`] in any unit.
const INTEGER_DIGITS: usize = 16;

/// The days of the week, from Monday, with their names.
const DAYS: [(Weekday, &str); 7] = [
    (Weekday::Monday, "Monday"),
    (Weekday::Tuesday, "Tuesday"),
    (Weekday::Wednesday, "Wednesday"),
    (Weekday::Thursday, "Thursday"),
    (Weekday::Friday, "Friday"),
    (Weekday::Saturday, "Saturday"),
    (Weekday::Sunday, "Sunday"),
];

/// The limits in force at one time, in bytes per second; `None`: no limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Rates {
    /// The limit of uploads.
    pub upload: Option<u64>,
    /// The limit of downloads.
    pub download: Option<u64>,
}

/// One direction of traffic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    Upload,
    Download,
}

impl Rates {
    fn of(self, side: Side) -> Option<u64> {
        match side {
            Side::Upload => self.upload,
            Side::Download => self.download,
        }
    }
}

/// A parsed `--bwlimit` spec (see the module docs): one rate pair, or a timetable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spec {
    /// The spec as written (trimmed).
    text: String,
    /// The entries by minute of the week (Monday 00:00 is 0), in order, never empty; one
    /// rate pair is one entry, in force all week.
    table: Vec<(u16, Rates)>,
}

impl Spec {
    /// The rates in force at the local time `at`: those of the last entry whose time has come,
    /// counting back across midnight and the week.
    pub fn rates_at(&self, at: DateTime) -> Rates {
        let minute = minute_of_week(at);
        let after = self.table.partition_point(|(start, _)| *start <= minute);
        let entry = match after.checked_sub(1) {
            Some(last) => self.table.get(last),
            None => self.table.last(),
        };
        entry.map(|(_, rates)| *rates).unwrap_or_default()
    }

    /// Whether the spec limits anything at any time (`off`, `0` and `off:off` do not).
    pub fn limits(&self) -> bool {
        self.limits_side(Side::Upload) || self.limits_side(Side::Download)
    }

    fn limits_side(&self, side: Side) -> bool {
        self.table.iter().any(|(_, rates)| rates.of(side).is_some())
    }

    /// The rates change with the time of day or week.
    fn is_timetable(&self) -> bool {
        self.table.len() > 1
    }
}

impl fmt::Display for Spec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl FromStr for Spec {
    type Err = String;

    /// Parses a rate, `UP:DOWN`, or a timetable (see the module docs).
    ///
    /// # Errors
    /// One line naming the part that does not parse and what was expected there.
    fn from_str(text: &str) -> Result<Spec, String> {
        let text = text.trim();
        let entries: Vec<&str> = text.split_whitespace().collect();
        match entries.as_slice() {
            [] => Err(
                "empty: give a rate like 10M, UP:DOWN like 10M:100k, off, or a timetable like \"08:00,512k 18:00,off\""
                    .to_owned(),
            ),
            [rate] if !rate.contains(',') => Ok(Spec {
                text: text.to_owned(),
                table: vec![(0, parse_rates(rate)?)],
            }),
            _ => Ok(Spec {
                text: text.to_owned(),
                table: parse_timetable(&entries)?,
            }),
        }
    }
}

/// A timetable's entries by minute of the week; an entry without a day is one a day.
fn parse_timetable(entries: &[&str]) -> Result<Vec<(u16, Rates)>, String> {
    // Each minute of the week: its rates, the entry that set them, and whether it named a day.
    let mut table: std::collections::BTreeMap<u16, (Rates, &str, bool)> = Default::default();
    for entry in entries {
        let Some((when, rate)) = entry.split_once(',') else {
            return Err(format!(
                "{} is not a timetable entry: write HH:MM,RATE or DAY-HH:MM,RATE (08:00,512k or Mon-08:00,512k)",
                shown(entry)
            ));
        };
        let (day, time) = match when.split_once('-') {
            Some((day, time)) => (Some(parse_day(day)?), time),
            None => (None, when),
        };
        let minute = parse_time(time)?;
        let rates = parse_rates(rate)?;
        let day_named = day.is_some();
        let days: Vec<u16> = match day {
            Some(day) => vec![day],
            None => (0..7).collect(),
        };
        for day in days {
            let key = day * MINUTES_PER_DAY + minute;
            if let Some((_, other, other_named)) = table.insert(key, (rates, entry, day_named)) {
                // Two entries of every day clash every day.
                let on = match (other_named, day_named) {
                    (false, false) => "every day at".to_owned(),
                    _ => format!("{} at", DAYS[usize::from(day)].1),
                };
                return Err(format!(
                    "{} and {} both set the rate {on} {:02}:{:02}",
                    shown(other),
                    shown(entry),
                    minute / 60,
                    minute % 60
                ));
            }
        }
    }
    Ok(table
        .into_iter()
        .map(|(key, (rates, ..))| (key, rates))
        .collect())
}

/// A day of the week, whole or its first three letters, in any case: 0 for Monday.
fn parse_day(text: &str) -> Result<u16, String> {
    let found = DAYS.iter().position(|(_, name)| {
        text.eq_ignore_ascii_case(name) || text.eq_ignore_ascii_case(&name[..3])
    });
    match found.and_then(|day| u16::try_from(day).ok()) {
        Some(day) => Ok(day),
        None => Err(format!(
            "{} is not a day of the week: write Mon, Tue, Wed, Thu, Fri, Sat or Sun (or the whole word)",
            shown(text)
        )),
    }
}

/// `HH:MM` from 00:00 to 23:59 (the hour may have one digit): minutes since midnight.
fn parse_time(text: &str) -> Result<u16, String> {
    let refused = || {
        format!(
            "{} is not a time of day: write HH:MM, from 00:00 to 23:59",
            shown(text)
        )
    };
    let (hour, minute) = text.split_once(':').ok_or_else(refused)?;
    let digits = |s: &str, lengths: std::ops::RangeInclusive<usize>| {
        lengths.contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit())
    };
    if !digits(hour, 1..=2) || !digits(minute, 2..=2) {
        return Err(refused());
    }
    let (hour, minute): (u16, u16) = (
        hour.parse().map_err(|_| refused())?,
        minute.parse().map_err(|_| refused())?,
    );
    if hour >= 24 || minute >= 60 {
        return Err(refused());
    }
    Ok(hour * 60 + minute)
}

/// A rate, or `UP:DOWN`.
fn parse_rates(text: &str) -> Result<Rates, String> {
    let mut parts = text.split(':');
    let (Some(up), down, None) = (parts.next(), parts.next(), parts.next()) else {
        return Err(format!(
            "{} is not a rate: give one rate, or UP:DOWN like 10M:100k",
            shown(text)
        ));
    };
    let upload = parse_rate(up)?;
    let download = match down {
        Some(down) => parse_rate(down)?,
        None => upload,
    };
    Ok(Rates { upload, download })
}

/// One rate in bytes per second (see the module docs); `None` for `off` and `0`.
fn parse_rate(text: &str) -> Result<Option<u64>, String> {
    if text.eq_ignore_ascii_case("off") {
        return Ok(None);
    }
    let refused = || {
        format!(
            "{} is not a rate: a number of KiB/s, or a number with a suffix B, K, M, G, T or P (10M, 512k, 0.5M), or off",
            shown(text)
        )
    };
    let end = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, suffix) = text.split_at(end);
    let unit = match suffix.to_ascii_lowercase().as_str() {
        "b" => 1,
        "" | "k" | "ki" | "kib" => KIB,
        "m" | "mi" | "mib" => KIB.pow(2),
        "g" | "gi" | "gib" => KIB.pow(3),
        "t" | "ti" | "tib" => KIB.pow(4),
        "p" | "pi" | "pib" => KIB.pow(5),
        _ => return Err(refused()),
    };
    let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
    if (whole.is_empty() && fraction.is_empty()) || fraction.contains('.') {
        return Err(refused());
    }
    let too_large = || format!("{} is above 1P (1 PiB/s), the largest limit", shown(text));
    if whole.bytes().chain(fraction.bytes()).all(|b| b == b'0') {
        return Ok(None);
    }
    let whole = whole.trim_start_matches('0');
    if whole.len() > INTEGER_DIGITS {
        return Err(too_large());
    }
    let fraction = &fraction[..fraction.len().min(FRACTION_DIGITS)];
    // Exact in a u128: under 10^16 whole units and 10^20 fraction digits, times at most 2^50.
    let value = |digits: &str| -> Result<u128, String> {
        if digits.is_empty() {
            Ok(0)
        } else {
            digits.parse().map_err(|_| refused())
        }
    };
    let scale = 10u128.pow(u32::try_from(fraction.len()).map_err(|_| refused())?);
    let unit = u128::from(unit);
    let bytes = value(whole)? * unit + value(fraction)? * unit / scale;
    if bytes < u128::from(MIN_RATE) {
        return Err(format!(
            "{} is below 1K (1 KiB/s), the smallest limit; write off for none",
            shown(text)
        ));
    }
    match u64::try_from(bytes) {
        Ok(bytes) if bytes <= MAX_RATE => Ok(Some(bytes)),
        _ => Err(too_large()),
    }
}

/// A part of the spec as messages quote it: escaped, on one line, cut when long.
fn shown(part: &str) -> String {
    if part.chars().count() <= SHOWN_CHARS {
        format!("{part:?}")
    } else {
        let cut: String = part.chars().take(SHOWN_CHARS).collect();
        format!("{cut:?}...")
    }
}

/// The minute of the week of a local time, Monday 00:00 being 0.
fn minute_of_week(at: DateTime) -> u16 {
    let day = u16::try_from(at.weekday().to_monday_zero_offset()).unwrap_or(0);
    let hour = u16::try_from(at.hour()).unwrap_or(0);
    let minute = u16::try_from(at.minute()).unwrap_or(0);
    day * MINUTES_PER_DAY + hour * 60 + minute
}

/// The local time now, in the system's time zone.
fn local_now() -> DateTime {
    jiff::Zoned::now().datetime()
}

/// Which limits a run's transfers are subject to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Flow {
    /// Towards storage: backups, and copies between two local folders.
    #[default]
    Upload,
    /// From storage: restores.
    Download,
    /// From one remote to another: both limits.
    Both,
}

impl Flow {
    /// The flow of a copy from a source to a destination, each local or remote: towards a
    /// remote is an upload, from one a download, between two remotes both, and between two
    /// local folders an upload (rclone's limits speak of storage, so one of the two is taken).
    pub fn between(src_is_remote: bool, dst_is_remote: bool) -> Flow {
        match (src_is_remote, dst_is_remote) {
            (true, true) => Flow::Both,
            (true, false) => Flow::Download,
            (false, _) => Flow::Upload,
        }
    }

    fn sides(self) -> &'static [Side] {
        match self {
            Flow::Upload => &[Side::Upload],
            Flow::Download => &[Side::Download],
            Flow::Both => &[Side::Upload, Side::Download],
        }
    }
}

impl fmt::Display for Flow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Flow::Upload => "uploads",
            Flow::Download => "downloads",
            Flow::Both => "uploads and downloads",
        })
    }
}

/// The limits of a run, shared by all its transfers (cloning shares the buckets): one
/// token bucket per direction the spec ever limits, none for `off`.
#[derive(Debug, Clone)]
pub struct Limiter {
    spec: Arc<Spec>,
    upload: Option<Arc<Bucket>>,
    download: Option<Arc<Bucket>>,
}

impl Limiter {
    /// The buckets of `spec`, starting at the rates in force now.
    pub fn new(spec: &Spec) -> Limiter {
        let spec = Arc::new(spec.clone());
        let (now, local) = (Instant::now(), local_now());
        let bucket = |side| {
            spec.limits_side(side)
                .then(|| Arc::new(Bucket::new(Arc::clone(&spec), side, now, local)))
        };
        Limiter {
            upload: bucket(Side::Upload),
            download: bucket(Side::Download),
            spec: Arc::clone(&spec),
        }
    }

    /// What the transfers of `flow` draw from, or `None` when no limit of theirs is ever in
    /// force (then nothing is counted at all).
    pub fn throttle(&self, flow: Flow) -> Option<Throttle> {
        let buckets: Vec<Arc<Bucket>> = flow
            .sides()
            .iter()
            .filter_map(|side| match side {
                Side::Upload => self.upload.clone(),
                Side::Download => self.download.clone(),
            })
            .collect();
        (!buckets.is_empty()).then_some(Throttle { buckets })
    }

    /// The spec, as written.
    pub fn spec(&self) -> &Spec {
        &self.spec
    }
}

/// A token bucket of one direction: bytes drawn from it are paid for at the rate in force,
/// and after a pause at most a burst (one crypt block, or a tenth of a second's worth) passes
/// at once. A draw larger than what the bucket holds goes into debt, which the drawer waits
/// off; later drawers wait for it too, so all transfers together keep to the rate.
#[derive(Debug)]
struct Bucket {
    spec: Arc<Spec>,
    side: Side,
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    /// The rate in force (bytes per second); `None`: no limit now.
    rate: Option<u64>,
    /// Bytes that may pass now without waiting; negative: the debt still to wait off.
    tokens: f64,
    /// When `tokens` was last brought up to date.
    last: Instant,
    /// When the timetable is looked at again (the next minute); `None`: one rate all week.
    recheck: Option<Instant>,
}

/// The most a bucket at `rate` holds: one crypt block, or a tenth of a second's worth.
fn burst(rate: u64) -> f64 {
    (rate as f64 / BURST_PER_SECOND).max(MIN_BURST as f64)
}

/// From `at` to the start of its next minute.
fn until_next_minute(at: DateTime) -> Duration {
    let into = Duration::from_secs(u64::try_from(at.second()).unwrap_or(0))
        + Duration::from_nanos(u64::try_from(at.subsec_nanosecond()).unwrap_or(0));
    Duration::from_secs(60).saturating_sub(into)
}

impl Bucket {
    fn new(spec: Arc<Spec>, side: Side, now: Instant, local: DateTime) -> Bucket {
        let rate = spec.rates_at(local).of(side);
        let recheck = spec.is_timetable().then(|| now + until_next_minute(local));
        Bucket {
            spec,
            side,
            state: Mutex::new(State {
                rate,
                tokens: rate.map_or(0.0, burst),
                last: now,
                recheck,
            }),
        }
    }

    /// Draws `bytes` at the instant `now` and returns how long the drawer must wait before
    /// they pass. `local` gives the local time when the timetable is due to be looked at.
    fn draw(&self, bytes: u64, now: Instant, local: impl FnOnce() -> DateTime) -> Duration {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(due) = state.recheck.filter(|due| now >= *due) {
            let at = local();
            let rate = self.spec.rates_at(at).of(self.side);
            if rate != state.rate {
                // Debt carries over to a new rate; from no limit, the bucket starts full.
                state.tokens = match (state.rate, rate) {
                    (_, None) => 0.0,
                    (None, Some(rate)) => burst(rate),
                    (Some(_), Some(rate)) => state.tokens.min(burst(rate)),
                };
                state.rate = rate;
                state.last = now;
            }
            state.recheck = Some(now.max(due) + until_next_minute(at));
        }
        let Some(rate) = state.rate else {
            return Duration::ZERO;
        };
        let elapsed = now.saturating_duration_since(state.last).as_secs_f64();
        state.last = state.last.max(now);
        let per_second = rate as f64;
        state.tokens = (state.tokens + elapsed * per_second).min(burst(rate));
        state.tokens -= bytes as f64;
        if state.tokens >= 0.0 {
            return Duration::ZERO;
        }
        Duration::try_from_secs_f64(-state.tokens / per_second).unwrap_or(Duration::MAX)
    }
}

/// What one transfer draws from: the buckets of its [`Flow`] (one or two).
#[derive(Debug, Clone)]
pub struct Throttle {
    buckets: Vec<Arc<Bucket>>,
}

impl Throttle {
    /// Draws `bytes` from every bucket; returns how long to wait before they pass.
    pub fn delay(&self, bytes: u64) -> Duration {
        let now = Instant::now();
        self.buckets
            .iter()
            .map(|bucket| bucket.draw(bytes, now, local_now))
            .max()
            .unwrap_or_default()
    }

    /// Draws `bytes` and waits on the calling thread until they may pass (a copy thread's
    /// small file, read or written whole).
    pub fn wait(&self, bytes: u64) {
        let delay = self.delay(bytes);
        if !delay.is_zero() {
            std::thread::sleep(delay);
        }
    }

    /// `inner` read through this throttle.
    pub fn reader<R>(self, inner: R) -> Throttled<R> {
        Throttled {
            inner,
            throttle: self,
            pause: None,
        }
    }
}

/// A reader whose bytes are drawn from a [`Throttle`]: each read's bytes are drawn as they
/// arrive, and the next read (or the end of the stream) waits for them first, so a stream
/// ends only once its last bytes are paid for.
pub struct Throttled<R> {
    inner: R,
    throttle: Throttle,
    pause: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl<R: AsyncRead + Unpin> AsyncRead for Throttled<R> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if let Some(pause) = self.pause.as_mut() {
            if pause.as_mut().poll(cx).is_pending() {
                return Poll::Pending;
            }
            self.pause = None;
        }
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = &polled {
            let read = buf.filled().len().saturating_sub(before) as u64;
            if read > 0 {
                let delay = self.throttle.delay(read);
                if !delay.is_zero() {
                    self.pause = Some(Box::pin(tokio::time::sleep(delay)));
                }
            }
        }
        polled
    }
}

#[cfg(test)]
mod tests;
