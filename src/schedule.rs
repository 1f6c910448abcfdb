//! Scheduled backups: `poof lconfig` installs a backup every 6 hours, `poof lpurge` removes it.
//!
//! On Linux poof uses a systemd user timer when a user manager answers (`systemctl --user`),
//! and a crontab line otherwise; on macOS a launchd agent. Each scheduler is a [`Scheduler`]
//! value whose files and commands are computed first ([`Plan`]), printed with `--dry-run`, and
//! only then applied, so what poof would do is always visible. The scheduled command pins the
//! config folder (`--confdir`) and runs `backup` without progress bars, as cron and timers have
//! no terminal.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{bail, Context, Result};

/// Name shared by the systemd units, the launchd label suffix and the crontab marker.
pub const JOB_NAME: &str = "poof-backup";
/// How often the backup runs.
pub const INTERVAL_HOURS: u32 = 6;
/// Marker at the end of poof's crontab line.
const CRON_MARKER: &str = "# poof-backup";
/// launchd label of the agent.
const LAUNCHD_LABEL: &str = "net.poof.backup";

/// Which scheduler to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheduler {
    /// systemd user timer (Linux).
    Systemd,
    /// crontab line (Linux without a systemd user manager).
    Cron,
    /// launchd agent (macOS).
    Launchd,
}

impl Scheduler {
    /// The scheduler of this machine: `POOF_SCHEDULER` (systemd, cron, launchd) when set, else
    /// launchd on macOS, systemd when `systemctl --user` answers, cron otherwise.
    ///
    /// # Errors
    /// An unknown `POOF_SCHEDULER` value.
    pub fn detect() -> Result<Scheduler> {
        match std::env::var("POOF_SCHEDULER").ok().as_deref() {
            Some("systemd") => return Ok(Scheduler::Systemd),
            Some("cron") => return Ok(Scheduler::Cron),
            Some("launchd") => return Ok(Scheduler::Launchd),
            Some(other) if !other.is_empty() => {
                bail!("POOF_SCHEDULER={other:?}: use systemd, cron or launchd")
            }
            _ => {}
        }
        if cfg!(target_os = "macos") {
            return Ok(Scheduler::Launchd);
        }
        let systemd = Command::new("systemctl")
            .args(["--user", "show-environment"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        Ok(if systemd {
            Scheduler::Systemd
        } else {
            Scheduler::Cron
        })
    }
}

/// What installing or removing the schedule does: files written or removed, commands run.
#[derive(Debug, Default)]
pub struct Plan {
    /// Files to write, with their contents.
    pub write: Vec<(PathBuf, String)>,
    /// Files to remove when present.
    pub remove: Vec<PathBuf>,
    /// Commands to run afterwards (program and arguments).
    pub run: Vec<Vec<String>>,
    /// For cron: the crontab to install (replaces the user's crontab).
    pub crontab: Option<String>,
}

/// The command line the schedule runs.
fn backup_command(exe: &Path, confdir: &Path) -> Vec<String> {
    vec![
        exe.display().to_string(),
        "--confdir".into(),
        confdir.display().to_string(),
        "backup".into(),
        "--no-progress".into(),
    ]
}

fn systemd_dir() -> Result<PathBuf> {
    let base = match std::env::var_os("XDG_CONFIG_HOME").filter(|v| !v.is_empty()) {
        Some(dir) => PathBuf::from(dir),
        None => home()?.join(".config"),
    };
    Ok(base.join("systemd/user"))
}

fn home() -> Result<PathBuf> {
    std::env::var_os("HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .context("HOME is not set")
}

/// Quotes one argument for a systemd `ExecStart=` or a crontab line (single quotes).
fn sh_quote(arg: &str) -> String {
    if arg
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "-_./=:@".contains(c))
    {
        arg.to_owned()
    } else {
        format!("'{}'", arg.replace('\'', r"'\''"))
    }
}

/// The current crontab without poof's line (empty when the user has none).
fn current_crontab_without_poof() -> Result<String> {
    Ok(current_crontab()?
        .lines()
        .filter(|l| !l.ends_with(CRON_MARKER))
        .map(|l| format!("{l}\n"))
        .collect())
}

/// The current crontab (empty when the user has none).
fn current_crontab() -> Result<String> {
    let out = Command::new("crontab")
        .arg("-l")
        .stdin(Stdio::null())
        .output()
        .context("cannot run `crontab -l`: is cron installed?")?;
    Ok(if out.status.success() {
        String::from_utf8_lossy(&out.stdout).into_owned()
    } else {
        String::new() // "no crontab for user"
    })
}

impl Scheduler {
    /// What `lconfig` does.
    ///
    /// # Errors
    /// When the scheduler's folders or current crontab cannot be found.
    pub fn install_plan(self, exe: &Path, confdir: &Path) -> Result<Plan> {
        let cmd = backup_command(exe, confdir);
        let quoted: Vec<String> = cmd.iter().map(|a| sh_quote(a)).collect();
        let mut plan = Plan::default();
        match self {
            Scheduler::Systemd => {
                let dir = systemd_dir()?;
                plan.write.push((
                    dir.join(format!("{JOB_NAME}.service")),
                    format!(
                        "[Unit]\nDescription=poof encrypted backup\n\n[Service]\nType=oneshot\nExecStart={}\nNice=10\nIOSchedulingClass=idle\n",
                        quoted.join(" ")
                    ),
                ));
                plan.write.push((
                    dir.join(format!("{JOB_NAME}.timer")),
                    format!(
                        "[Unit]\nDescription=poof backup every {INTERVAL_HOURS} hours\n\n[Timer]\nOnCalendar=0/{INTERVAL_HOURS}:00:00\nPersistent=true\nRandomizedDelaySec=10min\n\n[Install]\nWantedBy=timers.target\n"
                    ),
                ));
                plan.run
                    .push(svec(&["systemctl", "--user", "daemon-reload"]));
                plan.run.push(svec(&[
                    "systemctl",
                    "--user",
                    "enable",
                    "--now",
                    &format!("{JOB_NAME}.timer"),
                ]));
            }
            Scheduler::Cron => {
                let mut tab = current_crontab_without_poof()?;
                tab += &format!(
                    "0 */{INTERVAL_HOURS} * * * {} --quiet {CRON_MARKER}\n",
                    quoted.join(" ")
                );
                plan.crontab = Some(tab);
            }
            Scheduler::Launchd => {
                let path = home()?.join(format!("Library/LaunchAgents/{LAUNCHD_LABEL}.plist"));
                let args: String = cmd
                    .iter()
                    .map(|a| format!("    <string>{}</string>\n", xml_escape(a)))
                    .collect();
                plan.write.push((
                    path.clone(),
                    format!(
                        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!DOCTYPE plist PUBLIC \"-//Apple//DTD PLIST 1.0//EN\" \"http://www.apple.com/DTDs/PropertyList-1.0.dtd\">\n<plist version=\"1.0\">\n<dict>\n  <key>Label</key>\n  <string>{LAUNCHD_LABEL}</string>\n  <key>ProgramArguments</key>\n  <array>\n{args}  </array>\n  <key>StartInterval</key>\n  <integer>{}</integer>\n  <key>RunAtLoad</key>\n  <false/>\n</dict>\n</plist>\n",
                        INTERVAL_HOURS * 3600
                    ),
                ));
                plan.run.push(svec(&[
                    "launchctl",
                    "load",
                    "-w",
                    &path.display().to_string(),
                ]));
            }
        }
        Ok(plan)
    }

    /// What `lpurge` (and `neuter`) does.
    ///
    /// # Errors
    /// When the scheduler's folders or current crontab cannot be found.
    pub fn remove_plan(self) -> Result<Plan> {
        let mut plan = Plan::default();
        match self {
            Scheduler::Systemd => {
                let dir = systemd_dir()?;
                let timer = dir.join(format!("{JOB_NAME}.timer"));
                if timer.exists() {
                    plan.run.push(svec(&[
                        "systemctl",
                        "--user",
                        "disable",
                        "--now",
                        &format!("{JOB_NAME}.timer"),
                    ]));
                }
                plan.remove.push(timer);
                plan.remove.push(dir.join(format!("{JOB_NAME}.service")));
            }
            Scheduler::Cron => {
                plan.crontab = Some(current_crontab_without_poof()?);
            }
            Scheduler::Launchd => {
                let path = home()?.join(format!("Library/LaunchAgents/{LAUNCHD_LABEL}.plist"));
                if path.exists() {
                    plan.run.push(svec(&[
                        "launchctl",
                        "unload",
                        "-w",
                        &path.display().to_string(),
                    ]));
                }
                plan.remove.push(path);
            }
        }
        Ok(plan)
    }
}

/// The scheduled backup installed on this machine for `scheduler`, if any, and the next time
/// it runs after `now`: systemd and cron start it at 00:00, 06:00, 12:00 and 18:00 local time
/// (systemd up to 10 minutes later); launchd every 6 hours from when the agent was loaded,
/// which poof cannot see (`None`).
///
/// # Errors
/// The scheduler's folders or crontab cannot be read.
pub fn installed(scheduler: Scheduler, now: &jiff::Zoned) -> Result<Option<Option<jiff::Zoned>>> {
    let present = match scheduler {
        Scheduler::Systemd => systemd_dir()?.join(format!("{JOB_NAME}.timer")).exists(),
        Scheduler::Cron => {
            let all = current_crontab()?;
            all.lines().any(|l| l.ends_with(CRON_MARKER))
        }
        Scheduler::Launchd => home()?
            .join(format!("Library/LaunchAgents/{LAUNCHD_LABEL}.plist"))
            .exists(),
    };
    if !present {
        return Ok(None);
    }
    Ok(Some(match scheduler {
        Scheduler::Launchd => None,
        Scheduler::Systemd | Scheduler::Cron => next_slot(now),
    }))
}

/// The first start of a slot of [`INTERVAL_HOURS`] hours after `now` on the local wall clock
/// (00:00, 06:00...), as systemd's `OnCalendar` and cron count.
fn next_slot(now: &jiff::Zoned) -> Option<jiff::Zoned> {
    let today = now.date();
    for date in [today, today.tomorrow().ok()?] {
        for hour in (0..24).step_by(INTERVAL_HOURS as usize) {
            let slot = date
                .at(i8::try_from(hour).ok()?, 0, 0, 0)
                .to_zoned(now.time_zone().clone())
                .ok()?;
            if slot > *now {
                return Some(slot);
            }
        }
    }
    None
}

fn svec(args: &[&str]) -> Vec<String> {
    args.iter().map(|s| (*s).to_owned()).collect()
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

impl Plan {
    /// Prints the plan, one line per action.
    pub fn describe(&self) -> Vec<String> {
        let mut lines = Vec::new();
        for (path, _) in &self.write {
            lines.push(format!("write {}", path.display()));
        }
        for path in self.remove.iter().filter(|p| p.exists()) {
            lines.push(format!("remove {}", path.display()));
        }
        if let Some(tab) = &self.crontab {
            lines.push(format!(
                "install crontab ({} line(s), poof's marked `{CRON_MARKER}`)",
                tab.lines().count()
            ));
        }
        for cmd in &self.run {
            lines.push(format!("run {}", cmd.join(" ")));
        }
        lines
    }

    /// Carries the plan out.
    ///
    /// # Errors
    /// The first file or command that fails, named.
    pub fn apply(&self) -> Result<()> {
        for (path, text) in &self.write {
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir)
                    .with_context(|| format!("cannot create {}", dir.display()))?;
            }
            std::fs::write(path, text)
                .with_context(|| format!("cannot write {}", path.display()))?;
        }
        for path in &self.remove {
            match std::fs::remove_file(path) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => {
                    return Err(e).with_context(|| format!("cannot remove {}", path.display()))
                }
            }
        }
        if let Some(tab) = &self.crontab {
            install_crontab(tab)?;
        }
        for cmd in &self.run {
            let status = Command::new(&cmd[0])
                .args(&cmd[1..])
                .stdin(Stdio::null())
                .status()
                .with_context(|| format!("cannot run {}", cmd.join(" ")))?;
            if !status.success() {
                bail!("`{}` failed ({status})", cmd.join(" "));
            }
        }
        Ok(())
    }
}

fn install_crontab(tab: &str) -> Result<()> {
    use std::io::Write;
    let mut child = Command::new("crontab")
        .arg("-")
        .stdin(Stdio::piped())
        .spawn()
        .context("cannot run `crontab -`: is cron installed?")?;
    child
        .stdin
        .take()
        .context("crontab stdin")?
        .write_all(tab.as_bytes())?;
    let status = child.wait()?;
    if !status.success() {
        bail!("`crontab -` refused the new crontab ({status})");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_next_slot_is_the_next_sixth_hour_from_local_midnight() {
        let at = |s: &str| -> jiff::Zoned { format!("{s}[Europe/Paris]").parse().unwrap() };
        let cases = [
            ("2026-12-07T21:10:00+01:00", "2026-12-08T00:00:00+01:00"),
            ("2026-12-07T00:00:00+01:00", "2026-12-07T06:00:00+01:00"),
            ("2026-12-07T05:59:59+01:00", "2026-12-07T06:00:00+01:00"),
            ("2026-12-07T12:00:01+01:00", "2026-12-07T18:00:00+01:00"),
            // Summer time starts at 02:00 on 29 March 2026: 06:00 is still 06:00 local.
            ("2026-03-29T01:30:00+01:00", "2026-03-29T06:00:00+02:00"),
        ];
        for (now, want) in cases {
            assert_eq!(next_slot(&at(now)), Some(at(want)), "{now}");
        }
    }

    #[test]
    fn systemd_units_run_backup_with_the_confdir() {
        let plan = Scheduler::Systemd
            .install_plan(
                Path::new("/usr/bin/poof"),
                Path::new("/home/a b/.config/poof"),
            )
            .unwrap();
        let service = &plan.write[0].1;
        assert!(
            service.contains(
                "ExecStart=/usr/bin/poof --confdir '/home/a b/.config/poof' backup --no-progress"
            ),
            "{service}"
        );
        assert!(plan.write[1].1.contains("OnCalendar=0/6:00:00"));
        assert_eq!(plan.run.last().unwrap()[3], "--now");
    }

    #[test]
    fn launchd_agent_escapes_arguments() {
        let plan = Scheduler::Launchd
            .install_plan(Path::new("/opt/poof"), Path::new("/Users/a&b/poof"))
            .unwrap();
        let plist = &plan.write[0].1;
        assert!(
            plist.contains("<string>/Users/a&amp;b/poof</string>"),
            "{plist}"
        );
        assert!(plist.contains("<integer>21600</integer>"));
    }

    #[test]
    fn quoting_survives_single_quotes() {
        assert_eq!(sh_quote("it's"), r"'it'\''s'");
        assert_eq!(sh_quote("/plain/path"), "/plain/path");
    }
}
