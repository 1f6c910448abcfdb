//! Progress reporting: a [`Progress`] handle that engines update and the binary renders.
//!
//! Engines (sync, copy) never print progress themselves: they call [`Progress::set_length`] once
//! the work is known, [`Progress::inc_bytes`] / [`Progress::inc_file`] as it is done, route
//! their log lines through [`Progress::log`] (so that a bar is not torn by them) and call
//! [`Progress::finish`] at the end. The command picks how the counters are shown:
//!
//! - [`Progress::terminal`]: an indicatif bar on stderr (bytes, files, rate, ETA);
//! - [`Progress::log_lines`]: one line on stderr every interval, for logs and pipes;
//! - [`Progress::hidden`]: nothing (tests, `--no-progress`, `--quiet`).
//!
//! [`Progress::auto`] chooses between the first two from whether stderr is a terminal. The
//! final summary line ([`summary_line`]) is printed by the command, not here, so that it
//! appears whatever reporter was chosen.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// `--log-format json`: every line poof writes on stderr is one JSON object.
static JSON_LOG: AtomicBool = AtomicBool::new(false);

/// Chooses the format of the lines on stderr: `json` as rclone's `--use-json-log` writes them
/// (`{"level", "msg", "source", "time"}`), else text. Set once, before the command runs.
pub fn set_json_log(json: bool) {
    JSON_LOG.store(json, Ordering::Relaxed);
}

/// Writes one line of poof's log on stderr, as text or (`--log-format json`) as a JSON object
/// whose level comes from the line's prefix (`poof: error:`, `ERROR :`, `NOTICE:`...).
pub fn line(text: &str) {
    if JSON_LOG.load(Ordering::Relaxed) {
        eprintln!("{}", json_line(text, &jiff::Timestamp::now().to_string()));
    } else {
        eprintln!("{text}");
    }
}

/// `text` as a JSON log line at `time`.
fn json_line(text: &str, time: &str) -> String {
    const LEVELS: [(&str, &str); 7] = [
        ("poof: error: ", "error"),
        ("poof: refused: ", "error"),
        ("poof: warning: ", "warning"),
        ("ERROR : ", "error"),
        ("NOTICE: ", "notice"),
        ("INFO  : ", "info"),
        ("poof: ", "info"),
    ];
    let (level, msg) = LEVELS
        .iter()
        .find_map(|(prefix, level)| {
            let rest = text.strip_prefix(prefix)?;
            // A refusal keeps its word: the level alone says error.
            let msg = if prefix.ends_with("refused: ") {
                format!("refused: {rest}")
            } else {
                rest.to_owned()
            };
            Some((*level, msg))
        })
        .unwrap_or(("info", text.to_owned()));
    serde_json::json!({"level": level, "msg": msg, "source": "poof", "time": time}).to_string()
}

/// How often the terminal bar redraws itself when nothing else moves it.
const BAR_TICK: Duration = Duration::from_millis(200);
/// Default interval of [`Progress::log_lines`] when stderr is not a terminal (rclone's `--stats`
/// default is one minute).
pub const DEFAULT_LOG_INTERVAL: Duration = Duration::from_secs(60);
/// Layout of the terminal bar.
const BAR_TEMPLATE: &str =
    "{spinner} [{elapsed_precise}] {wide_bar} {bytes}/{total_bytes} {bytes_per_sec} ETA {eta} {msg}";

/// Counters shared by every clone of a [`Progress`].
#[derive(Debug, Default)]
struct Counters {
    bytes: AtomicU64,
    files: AtomicU64,
    total_bytes: AtomicU64,
    total_files: AtomicU64,
}

/// How the counters are shown.
enum Reporter {
    /// Nothing is shown.
    Hidden,
    /// An indicatif bar on stderr.
    Bar(ProgressBar),
    /// A thread printing a line every interval until told to stop.
    Lines {
        stop: Mutex<Option<Sender<()>>>,
        thread: Mutex<Option<JoinHandle<()>>>,
    },
}

struct Inner {
    counters: Arc<Counters>,
    started: Instant,
    reporter: Reporter,
}

/// A cheap, cloneable progress handle (see the module docs).
#[derive(Clone)]
pub struct Progress {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Progress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Progress")
            .field("counters", &self.inner.counters)
            .finish_non_exhaustive()
    }
}

impl Progress {
    fn with(counters: Arc<Counters>, reporter: Reporter) -> Progress {
        Progress {
            inner: Arc::new(Inner {
                counters,
                started: Instant::now(),
                reporter,
            }),
        }
    }

    /// Counts without showing anything: tests, `--no-progress`, `--quiet`.
    pub fn hidden() -> Progress {
        Progress::with(Arc::default(), Reporter::Hidden)
    }

    /// An indicatif bar on stderr with bytes, files, rate and ETA.
    pub fn terminal() -> Progress {
        let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
        if let Ok(style) = ProgressStyle::with_template(BAR_TEMPLATE) {
            bar.set_style(style);
        }
        bar.enable_steady_tick(BAR_TICK);
        Progress::with(Arc::default(), Reporter::Bar(bar))
    }

    /// A line on stderr every `interval` (`Transferred: 1.2 MiB / 10 MiB, 3 / 12 files, ...`),
    /// for output that goes to a log rather than a terminal.
    pub fn log_lines(interval: Duration) -> Progress {
        let counters: Arc<Counters> = Arc::default();
        let (tx, rx) = mpsc::channel::<()>();
        let shown = Arc::clone(&counters);
        let started = Instant::now();
        // Stops on a message or when every sender is gone. The lines are a courtesy: when the
        // system refuses the thread, the run goes on without them (its summary still prints).
        let spawned = std::thread::Builder::new().spawn(move || {
            while let Err(RecvTimeoutError::Timeout) = rx.recv_timeout(interval) {
                line(&progress_line(&shown, started.elapsed()));
            }
        });
        let Ok(thread) = spawned else {
            return Progress::with(counters, Reporter::Hidden);
        };
        Progress::with(
            counters,
            Reporter::Lines {
                stop: Mutex::new(Some(tx)),
                thread: Mutex::new(Some(thread)),
            },
        )
    }

    /// The reporter of a command run: hidden with `--no-progress` or `--quiet`, else
    /// [`Progress::auto`].
    pub fn for_run(no_progress: bool, quiet: bool) -> Progress {
        if no_progress || quiet {
            Progress::hidden()
        } else {
            Progress::auto()
        }
    }

    /// [`Progress::terminal`] when stderr is a terminal, else [`Progress::log_lines`] with
    /// [`DEFAULT_LOG_INTERVAL`].
    pub fn auto() -> Progress {
        if std::io::stderr().is_terminal() && !JSON_LOG.load(Ordering::Relaxed) {
            Progress::terminal()
        } else {
            Progress::log_lines(DEFAULT_LOG_INTERVAL)
        }
    }

    /// Sets the totals of the work ahead: bytes to transfer and files to transfer.
    pub fn set_length(&self, bytes: u64, files: u64) {
        let c = &self.inner.counters;
        c.total_bytes.store(bytes, Ordering::Relaxed);
        c.total_files.store(files, Ordering::Relaxed);
        if let Reporter::Bar(bar) = &self.inner.reporter {
            bar.set_length(bytes);
            bar.set_message(self.files_message());
        }
    }

    /// Counts `n` more bytes transferred.
    pub fn inc_bytes(&self, n: u64) {
        self.inner.counters.bytes.fetch_add(n, Ordering::Relaxed);
        if let Reporter::Bar(bar) = &self.inner.reporter {
            bar.inc(n);
        }
    }

    /// Counts one more file done.
    pub fn inc_file(&self) {
        self.inner.counters.files.fetch_add(1, Ordering::Relaxed);
        if let Reporter::Bar(bar) = &self.inner.reporter {
            bar.set_message(self.files_message());
        }
    }

    /// Prints one log line on stderr without tearing the bar.
    pub fn log(&self, line: &str) {
        match &self.inner.reporter {
            Reporter::Bar(bar) => bar.suspend(|| self::line(line)),
            Reporter::Hidden | Reporter::Lines { .. } => self::line(line),
        }
    }

    /// Stops the reporter: clears the bar, stops the periodic lines. Idempotent.
    pub fn finish(&self) {
        match &self.inner.reporter {
            Reporter::Hidden => {}
            Reporter::Bar(bar) => bar.finish_and_clear(),
            Reporter::Lines { stop, thread } => {
                if let Some(tx) = stop.lock().ok().and_then(|mut s| s.take()) {
                    // The thread may have gone already; either way it stops.
                    let _ = tx.send(());
                }
                if let Some(handle) = thread.lock().ok().and_then(|mut t| t.take()) {
                    let _ = handle.join();
                }
            }
        }
    }

    /// Bytes counted so far.
    #[cfg(test)]
    pub fn bytes(&self) -> u64 {
        self.inner.counters.bytes.load(Ordering::Relaxed)
    }

    /// Files counted so far.
    #[cfg(test)]
    pub fn files(&self) -> u64 {
        self.inner.counters.files.load(Ordering::Relaxed)
    }

    /// Time since the handle was made.
    pub fn elapsed(&self) -> Duration {
        self.inner.started.elapsed()
    }

    fn files_message(&self) -> String {
        let c = &self.inner.counters;
        format!(
            "{}/{} files",
            c.files.load(Ordering::Relaxed),
            c.total_files.load(Ordering::Relaxed)
        )
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        if let Reporter::Lines { stop, .. } = &self.reporter {
            if let Some(tx) = stop.lock().ok().and_then(|mut s| s.take()) {
                let _ = tx.send(());
            }
        }
    }
}

/// One periodic line of [`Progress::log_lines`].
fn progress_line(c: &Counters, elapsed: Duration) -> String {
    let bytes = c.bytes.load(Ordering::Relaxed);
    let total = c.total_bytes.load(Ordering::Relaxed);
    let secs = elapsed.as_secs_f64();
    let rate = if secs > 0.0 { bytes as f64 / secs } else { 0.0 };
    let eta = if rate > 0.0 && total > bytes {
        format_duration(Duration::from_secs_f64((total - bytes) as f64 / rate))
    } else {
        "-".to_owned()
    };
    format!(
        "Transferred: {} / {}, {} / {} files, {}/s, ETA {}, elapsed: {}",
        format_bytes(bytes),
        format_bytes(total),
        c.files.load(Ordering::Relaxed),
        c.total_files.load(Ordering::Relaxed),
        format_bytes(rate as u64),
        eta,
        format_duration(elapsed)
    )
}

/// The final summary every sync-like command prints on stderr, whatever the reporter:
/// `Transferred: X files (Y bytes), checked: N, deleted: D, errors: E, elapsed: T`.
pub fn summary_line(
    files: u64,
    bytes: u64,
    checked: u64,
    deleted: u64,
    errors: u64,
    elapsed: Duration,
) -> String {
    format!(
        "Transferred: {files} files ({bytes} bytes), checked: {checked}, deleted: {deleted}, \
         errors: {errors}, elapsed: {}",
        format_duration(elapsed)
    )
}

/// Binary units for humans: `512 B`, `1.5 KiB`, `3.0 GiB`.
pub fn format_bytes(n: u64) -> String {
    const UNITS: [&str; 6] = ["KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
    const STEP: f64 = 1024.0;
    if n < 1024 {
        return format!("{n} B");
    }
    let mut value = n as f64 / STEP;
    let mut unit = UNITS[0];
    for next in &UNITS[1..] {
        if value < STEP {
            break;
        }
        value /= STEP;
        unit = next;
    }
    format!("{value:.1} {unit}")
}

/// Durations for humans: `0.4s`, `12.0s`, `3m05s`, `2h03m04s`.
pub fn format_duration(d: Duration) -> String {
    const MINUTE: u64 = 60;
    const HOUR: u64 = 60 * MINUTE;
    let secs = d.as_secs();
    if secs < MINUTE {
        format!("{:.1}s", d.as_secs_f64())
    } else if secs < HOUR {
        format!("{}m{:02}s", secs / MINUTE, secs % MINUTE)
    } else {
        format!(
            "{}h{:02}m{:02}s",
            secs / HOUR,
            (secs % HOUR) / MINUTE,
            secs % MINUTE
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_log_lines_carry_the_level_of_their_prefix() {
        let time = "2026-12-07T21:00:00Z";
        let cases = [
            (
                "poof: error: docs: no \"such\" remote",
                "error",
                "docs: no \"such\" remote",
            ),
            (
                "poof: refused: docs: empty; nothing changed",
                "error",
                "refused: docs: empty; nothing changed",
            ),
            ("poof: warning: skipping x", "warning", "skipping x"),
            (
                "ERROR : a.txt: Failed to copy: gone",
                "error",
                "a.txt: Failed to copy: gone",
            ),
            ("NOTICE: dry run", "notice", "dry run"),
            ("INFO  : a.txt: Copied (new)", "info", "a.txt: Copied (new)"),
            (
                "poof: backup /home/ana/docs -> v:docs",
                "info",
                "backup /home/ana/docs -> v:docs",
            ),
            ("Transferred: 1 files", "info", "Transferred: 1 files"),
        ];
        for (text, level, msg) in cases {
            let line: serde_json::Value = serde_json::from_str(&json_line(text, time)).unwrap();
            assert_eq!(
                line,
                serde_json::json!({"level": level, "msg": msg, "source": "poof", "time": time}),
                "{text}"
            );
        }
    }

    #[test]
    fn hidden_counts() {
        let p = Progress::hidden();
        p.set_length(10, 2);
        p.inc_bytes(4);
        p.inc_bytes(6);
        p.inc_file();
        p.finish();
        assert_eq!((p.bytes(), p.files()), (10, 1));
    }

    #[test]
    fn log_lines_stop_on_finish() {
        let p = Progress::log_lines(Duration::from_secs(3600));
        p.inc_file();
        p.finish();
        p.finish();
        assert_eq!(p.files(), 1);
    }

    #[test]
    fn bytes_below_one_kib_are_plain() {
        assert_eq!(format_bytes(0), "0 B");
        assert_eq!(format_bytes(1023), "1023 B");
    }

    #[test]
    fn bytes_in_binary_units() {
        assert_eq!(format_bytes(1024), "1.0 KiB");
        assert_eq!(format_bytes(1536), "1.5 KiB");
        assert_eq!(format_bytes(3 << 30), "3.0 GiB");
        assert_eq!(format_bytes(u64::MAX), "16.0 EiB");
    }

    #[test]
    fn durations_by_magnitude() {
        assert_eq!(format_duration(Duration::from_millis(400)), "0.4s");
        assert_eq!(format_duration(Duration::from_secs(185)), "3m05s");
        assert_eq!(format_duration(Duration::from_secs(7384)), "2h03m04s");
    }

    #[test]
    fn summary_has_every_counter() {
        let line = summary_line(3, 1234, 7, 2, 1, Duration::from_secs(2));
        assert_eq!(
            line,
            "Transferred: 3 files (1234 bytes), checked: 7, deleted: 2, errors: 1, elapsed: 2.0s"
        );
    }
}
