//! `poof completions SHELL` and `poof man [COMMAND]`: the shell's completion script and the man
//! pages, generated from the command line's own definition ([`crate::cli::Cli`]) so they never
//! fall behind it. Both are written to standard output whole, once generated: a closed pipe is
//! an error `main` treats as success, never a panic half-way through.

use std::io::Write;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::CommandFactory;

use crate::cli::{Cli, CompletionsArgs, ManArgs};

/// The name the scripts complete and the pages are titled with.
const BIN: &str = "poof";

/// Prints the completion script for the shell asked.
///
/// # Errors
/// Standard output cannot be written.
pub fn completions(args: &CompletionsArgs) -> Result<ExitCode> {
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut Cli::command(), BIN, &mut script);
    print(&script)
}

/// Prints poof's man page, or the page of one command (`backup`, `keys-export`), in roff.
///
/// # Errors
/// Standard output cannot be written. The page name was checked by the parser
/// ([`crate::cli::man_page_names`]).
pub fn man(args: &ManArgs) -> Result<ExitCode> {
    // Built, so each command carries its page's name (`poof-keys-export`), its full synopsis
    // (`poof keys export`) and the global flags; without clap's `help` commands, which have no
    // page of their own.
    let mut cmd = without_help(Cli::command());
    cmd.build();
    let page = match &args.command {
        None => cmd,
        Some(name) => find_page(&cmd, &format!("{BIN}-{name}"))
            .with_context(|| format!("no man page named {name:?}"))?,
    };
    let mut roff = Vec::new();
    clap_mangen::Man::new(page)
        .source(format!("{BIN} {}", env!("CARGO_PKG_VERSION")))
        .render(&mut roff)
        .context("rendering the man page")?;
    print(&roff)
}

/// `cmd` and every command below it without the `help` command clap adds.
fn without_help(cmd: clap::Command) -> clap::Command {
    cmd.disable_help_subcommand(true)
        .mut_subcommands(without_help)
}

/// The command below `cmd` whose page is `page` (`poof-keys-export`).
fn find_page(cmd: &clap::Command, page: &str) -> Option<clap::Command> {
    cmd.get_subcommands().find_map(|sub| {
        if sub.get_display_name() == Some(page) {
            Some(sub.clone())
        } else {
            find_page(sub, page)
        }
    })
}

/// Writes `bytes` to standard output.
fn print(bytes: &[u8]) -> Result<ExitCode> {
    let mut out = std::io::stdout().lock();
    out.write_all(bytes)
        .and_then(|()| out.flush())
        .context("writing to standard output")?;
    Ok(ExitCode::SUCCESS)
}
