//! `poof status`: the last `backup`, `upload` and `download` of poof.conf's folders (when,
//! result, counts, per folder) from the status file each run writes at its end
//! ([`crate::engine::Status`]), and when the scheduled backup runs next. `--json` prints the
//! same as one JSON object.

use std::process::ExitCode;

use anyhow::Result;
use serde::Serialize;

use crate::cli::StatusArgs;
use crate::config::Paths;
use crate::engine::{RunReport, Status};
use crate::schedule::{installed, Scheduler};

/// The commands whose last run is shown, in this order.
const COMMANDS: [&str; 3] = ["backup", "upload", "download"];

/// What `--json` prints.
#[derive(Serialize)]
struct StatusJson<'a> {
    schema: u32,
    /// The last run of each command that ran, by command.
    last: &'a std::collections::BTreeMap<String, RunReport>,
    /// The scheduler holding poof's backup (`systemd`, `cron`, `launchd`), or null.
    scheduler: Option<String>,
    /// When the scheduled backup runs next (RFC 3339 with offset), or null.
    next_backup: Option<String>,
}

/// `poof status`.
///
/// # Errors
/// A status file that cannot be read or is broken.
pub fn run(paths: &Paths, args: &StatusArgs) -> Result<ExitCode> {
    let status = Status::load(&paths.confdir)?;
    let now = jiff::Zoned::now();
    // Which scheduler: unknown (an unreadable crontab, no cron) is "not scheduled".
    let scheduled = Scheduler::detect()
        .ok()
        .and_then(|s| installed(s, &now).ok().flatten().map(|next| (s, next)));
    if args.json {
        let json = StatusJson {
            schema: crate::engine::SCHEMA,
            last: &status.last,
            scheduler: scheduled
                .as_ref()
                .map(|(s, _)| format!("{s:?}").to_lowercase()),
            next_backup: scheduled
                .as_ref()
                .and_then(|(_, next)| next.as_ref())
                .map(|n| n.timestamp().to_string()),
        };
        println!("{}", serde_json::to_string(&json)?);
        return Ok(ExitCode::SUCCESS);
    }
    for command in COMMANDS {
        match status.last.get(command) {
            None => println!("{command:<8}  never run"),
            Some(report) => print_run(command, report, &now),
        }
    }
    match scheduled {
        None => println!("next backup: not scheduled (`poof lconfig` schedules one every 6 hours)"),
        Some((s, None)) => println!("next backup: every 6 hours ({s:?})"),
        Some((s, Some(next))) => println!(
            "next backup: {} ({s:?}{})",
            next.strftime("%Y-%m-%d %H:%M"),
            if s == Scheduler::Systemd {
                ", up to 10 minutes later"
            } else {
                ""
            }
        ),
    }
    Ok(ExitCode::SUCCESS)
}

/// One command's last run: a line for the run, then one per folder.
fn print_run(command: &str, report: &RunReport, now: &jiff::Zoned) {
    let when = report
        .started
        .parse::<jiff::Timestamp>()
        .map(|t| {
            let local = t.to_zoned(now.time_zone().clone());
            let ago = now.timestamp().as_second() - t.as_second();
            format!(
                "{} ({} ago)",
                local.strftime("%Y-%m-%d %H:%M"),
                ago_text(ago)
            )
        })
        .unwrap_or_else(|_| report.started.clone());
    let t = &report.totals;
    println!(
        "{command:<8}  {when}  {} (exit {}) in {:.1} s: {} transferred ({} bytes), {} deleted, {} errors",
        report.result, report.exit_code, report.seconds, t.transferred, t.bytes, t.deleted, t.errors
    );
    for folder in &report.folders {
        let c = &folder.counts;
        let why = folder
            .message
            .as_deref()
            .map(|m| format!(": {m}"))
            .unwrap_or_default();
        println!(
            "  {} -> {}: {}{why}; {} transferred, {} checked, {} deleted, {} errors",
            folder.source,
            folder.destination,
            folder.result,
            c.transferred,
            c.checked,
            c.deleted,
            c.errors
        );
    }
}

/// `secs` as the largest whole unit: "5 min", "3 h", "2 days".
fn ago_text(secs: i64) -> String {
    match secs.max(0) {
        s if s < 120 => format!("{s} s"),
        s if s < 7_200 => format!("{} min", s / 60),
        s if s < 172_800 => format!("{} h", s / 3_600),
        s => format!("{} days", s / 86_400),
    }
}
