//! `poof forget`: applies a retention policy to the history now, and the same after every
//! backup with no error ([`after_backup`]).
//!
//! The policy is poof.conf's `"history"`, or the `--keep-*` flags when any is given (they
//! replace the whole policy). Each state is printed kept (with the rules that keep it, as
//! restic's `forget` prints them) or dropped, then what is removed and the bytes freed. The
//! engine ([`crate::engine::Forget`]) decides what each kept state still needs.

use std::process::ExitCode;

use anyhow::Result;

use crate::cli::{ForgetArgs, GlobalArgs};
use crate::config::Paths;
use crate::engine::{Forget, Session};
use crate::history::policy::KeepPolicy;
use crate::progress::format_bytes;

/// `poof forget`.
///
/// # Errors
/// Broken config files, another poof running, a history that cannot be read, or a removal
/// that fails (what is left stays restorable).
pub fn run(paths: &Paths, global: &GlobalArgs, args: &ForgetArgs) -> Result<ExitCode> {
    let session = Session::start(paths)?;
    let Some(policy) = args.policy().or(session.job.conf.keep()) else {
        say!(
            "poof: {} keeps no history (\"history\": false) and no --keep-* flag is given: nothing to forget",
            paths.poofconf.display()
        );
        return Ok(ExitCode::SUCCESS);
    };
    let forget = session
        .runtime
        .block_on(Forget::plan(&session.job, &policy, false))?;
    println!("poof: history in {} (policy: {policy})", forget.describe());
    for state in forget.states.iter().filter(|_| !global.quiet) {
        if state.keep {
            println!("keep  {:<26}  {}", state.name, state.reasons.join(", "));
        } else if state.forgotten_earlier {
            println!("gone  {:<26}  forgotten earlier", state.name);
        } else {
            println!("drop  {}", state.name);
        }
    }
    let (kept, dropped) = forget.counts();
    let plan = &forget.plan;
    let what = format!(
        "{} versions and {} records ({}), {} run folders",
        plan.versions.len(),
        plan.records.len(),
        format_bytes(plan.bytes()),
        plan.runs.len()
    );
    if args.dry_run {
        println!("poof: dry run: {kept} states kept, {dropped} dropped; would remove {what}");
        return Ok(ExitCode::SUCCESS);
    }
    session.runtime.block_on(forget.apply())?;
    println!("poof: {kept} states kept, {dropped} dropped; removed {what}");
    Ok(ExitCode::SUCCESS)
}

/// The policy of poof.conf applied after a backup of every folder with no error; one line
/// when it removed something. Returns the errors to count (0 or 1).
pub fn after_backup(session: &Session, policy: &KeepPolicy, quiet: bool) -> u64 {
    let forgotten = session.runtime.block_on(async {
        let forget = Forget::plan(&session.job, policy, true).await?;
        let removed = forget.apply().await?;
        Ok::<_, anyhow::Error>((forget, removed))
    });
    match forgotten {
        Ok((forget, removed)) => {
            let (kept, dropped) = forget.counts();
            if dropped > 0 && !quiet {
                say!(
                    "poof: history ({policy}): {kept} states kept, {dropped} dropped; {} files removed ({} freed)",
                    removed.files,
                    format_bytes(removed.bytes)
                );
            }
            0
        }
        Err(e) => {
            say!("poof: error: history: {e:#}");
            1
        }
    }
}
