//! One module per command or small family of commands: each resolves its arguments, calls the
//! engines and prints. [`run`] dispatches the parsed command line.

mod backup;
mod cat;
mod cryptcheck;
mod cryptdecode;
mod download;
mod ls;
mod lsjson;
mod obscure;
mod schedule;
mod setup;
mod sync;
mod target;
mod upload;
mod verify;

use std::future::Future;
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
        Command::Ls(args) => block_on(ls::run(&Paths::resolve(&cli.global)?, &args)),
        Command::Lsjson(args) => block_on(lsjson::run(&Paths::resolve(&cli.global)?, &args)),
        Command::Cat(args) => block_on(cat::run(&Paths::resolve(&cli.global)?, &args)),
        Command::Paths => setup::paths(&Paths::resolve(&cli.global)?),
        Command::Config(args) => setup::config(&Paths::resolve(&cli.global)?, &args),
        Command::Cconfig => setup::cconfig(&Paths::resolve(&cli.global)?),
        Command::Econfig => setup::econfig(&Paths::resolve(&cli.global)?),
        Command::Cryptoggle => setup::cryptoggle(&Paths::resolve(&cli.global)?),
        Command::Version => setup::version(),
        Command::Lconfig(args) => schedule::lconfig(&Paths::resolve(&cli.global)?, &args),
        Command::Lpurge(args) => schedule::lpurge(&args),
        Command::Neuter(args) => schedule::neuter(&Paths::resolve(&cli.global)?, &args),
        Command::Backup(args) => backup::run(&Paths::resolve(&cli.global)?, &cli.global, &args),
        Command::Upload(args) => upload::run(&Paths::resolve(&cli.global)?, &cli.global, &args),
        Command::Download(args) => download::run(&Paths::resolve(&cli.global)?, &cli.global, &args),
        Command::Verify => verify::run(&Paths::resolve(&cli.global)?),
    }
}

/// Runs an async command on a multi-threaded tokio runtime.
fn block_on<F: Future<Output = Result<ExitCode>>>(command: F) -> Result<ExitCode> {
    backup::runtime()?.block_on(command)
}
