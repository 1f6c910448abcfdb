//! `poof lconfig` / `poof lpurge` (the 6-hourly backup schedule) and `poof neuter` (remove
//! poof's config folder and schedule from this machine).

use std::io::{BufRead, IsTerminal, Write};
use std::process::ExitCode;

use anyhow::{bail, Context, Result};

use crate::cli::{NeuterArgs, ScheduleArgs};
use crate::config::Paths;
use crate::schedule::{Plan, Scheduler};

fn carry_out(plan: &Plan, dry_run: bool) -> Result<()> {
    for line in plan.describe() {
        if dry_run {
            println!("would {line}");
        } else {
            say!("poof: {line}");
        }
    }
    if !dry_run {
        plan.apply()?;
    }
    Ok(())
}

/// `poof lconfig`: installs the scheduled backup.
pub fn lconfig(paths: &Paths, args: &ScheduleArgs) -> Result<ExitCode> {
    if !paths.poofconf.exists() {
        bail!(
            "{} does not exist: set poof up first (`poof cconfig`), then schedule it",
            paths.poofconf.display()
        );
    }
    let exe = std::env::current_exe().context("cannot find poof's own executable")?;
    let confdir = std::path::absolute(&paths.confdir)?;
    let scheduler = Scheduler::detect()?;
    carry_out(&scheduler.install_plan(&exe, &confdir)?, args.dry_run)?;
    if !args.dry_run {
        println!(
            "scheduled: `poof backup` every {} hours ({scheduler:?})",
            crate::schedule::INTERVAL_HOURS
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// `poof lpurge`: removes the scheduled backup.
pub fn lpurge(args: &ScheduleArgs) -> Result<ExitCode> {
    carry_out(&Scheduler::detect()?.remove_plan()?, args.dry_run)?;
    if !args.dry_run {
        println!("schedule removed");
    }
    Ok(ExitCode::SUCCESS)
}

/// `poof neuter`: removes the config folder and the schedule, after confirmation.
pub fn neuter(paths: &Paths, args: &NeuterArgs) -> Result<ExitCode> {
    let what = format!(
        "remove {} (poof.conf, rclone-poof.conf and the crypt keys in it) and poof's schedule",
        paths.confdir.display()
    );
    if args.dry_run {
        println!("would {what}");
        for line in Scheduler::detect()?.remove_plan()?.describe() {
            println!("would {line}");
        }
        return Ok(ExitCode::SUCCESS);
    }
    if !args.yes {
        if !std::io::stdin().is_terminal() {
            bail!("neuter would {what}; without a terminal to confirm, pass --yes");
        }
        eprint!("poof: this will {what}.\nWithout a copy of the crypt passwords elsewhere, encrypted backups cannot be restored.\nType 'yes' to go on: ");
        std::io::stderr().flush()?;
        let mut answer = String::new();
        std::io::stdin().lock().read_line(&mut answer)?;
        if answer.trim() != "yes" {
            bail!("neuter cancelled: nothing was removed");
        }
    }
    let plan = Scheduler::detect()?.remove_plan();
    match plan.and_then(|p| carry_out(&p, false)) {
        Ok(()) => {}
        Err(e) => say!("poof: warning: schedule not removed: {e:#}"),
    }
    match std::fs::remove_dir_all(&paths.confdir) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => {
            return Err(e).with_context(|| format!("cannot remove {}", paths.confdir.display()))
        }
    }
    println!("neutered: {} removed", paths.confdir.display());
    Ok(ExitCode::SUCCESS)
}
