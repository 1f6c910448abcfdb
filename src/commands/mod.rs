//! One module per command or small family of commands: each resolves its arguments, calls the
//! engines and prints. [`run`] dispatches the parsed command line.

mod cryptcheck;
mod cryptdecode;
mod obscure;
mod sync;

use std::process::ExitCode;

use anyhow::Result;

use crate::cli::{Cli, Command};
use crate::config::Paths;

/// Runs the command and returns the exit code it chose.
///
/// # Errors
/// Any failure of the command, printed once by `main`.
pub fn run(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Command::Cryptdecode(args) => cryptdecode::run(&Paths::resolve(&cli.global)?, &args),
        Command::Obscure(args) => obscure::obscure(&args),
        Command::Reveal(args) => obscure::reveal(&args),
        Command::Sync(args) => sync::run(&Paths::resolve(&cli.global)?, &cli.global, &args, true),
        Command::Copy(args) => sync::run(&Paths::resolve(&cli.global)?, &cli.global, &args, false),
        Command::Cryptcheck(args) => {
            cryptcheck::run(&Paths::resolve(&cli.global)?, &cli.global, &args)
        }
    }
}
