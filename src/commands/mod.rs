//! One module per command or small family of commands: each resolves its arguments, calls the
//! engines and prints. [`run`] dispatches the parsed command line.

mod backup;
mod cat;
mod completions;
mod cryptcheck;
mod cryptdecode;
mod download;
mod forget;
mod keys;
mod ls;
mod lsjson;
mod obscure;
mod schedule;
mod setup;
mod status;
mod sync;
mod target;
mod upload;
mod verify;
mod versions;

use std::future::Future;
use std::process::ExitCode;

use anyhow::Result;

use crate::cli::{Cli, Command};
use crate::exit::Code;

/// Runs the command and returns the exit code it chose.
///
/// # Errors
/// Any failure of the command, printed once by `main`.
pub fn run(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Command::Cryptdecode(args) => cryptdecode::run(&cli.global.paths()?, &args),
        Command::Obscure(args) => obscure::obscure(&args),
        Command::Reveal(args) => obscure::reveal(&args),
        Command::Sync(args) => sync::run(&cli.global.paths()?, &cli.global, &args, true),
        Command::Copy(args) => sync::run(&cli.global.paths()?, &cli.global, &args, false),
        Command::Cryptcheck(args) => cryptcheck::run(&cli.global.paths()?, &cli.global, &args),
        Command::Ls(args) => block_on(ls::run(&cli.global.paths()?, &args)),
        Command::Lsjson(args) => block_on(lsjson::run(&cli.global.paths()?, &args)),
        Command::Cat(args) => block_on(cat::run(&cli.global.paths()?, &args)),
        Command::Paths => setup::paths(&cli.global.paths()?),
        Command::Config(args) => config_error(setup::config(&cli.global.paths()?, &args)),
        Command::Cconfig => config_error(setup::cconfig(&cli.global.paths()?)),
        Command::Econfig => config_error(setup::econfig(&cli.global.paths()?)),
        Command::Cryptoggle => config_error(setup::cryptoggle(&cli.global.paths()?)),
        Command::Version => setup::version(),
        Command::Lconfig(args) => schedule::lconfig(&cli.global.paths()?, &args),
        Command::Lpurge(args) => schedule::lpurge(&args),
        Command::Neuter(args) => schedule::neuter(&cli.global.paths()?, &args),
        Command::Backup(args) => backup::run(&cli.global.paths()?, &cli.global, &args),
        Command::Upload(args) => upload::run(&cli.global.paths()?, &cli.global, &args),
        Command::Download(args) => download::run(&cli.global.paths()?, &cli.global, &args),
        Command::Verify => verify::run(&cli.global.paths()?),
        Command::Forget(args) => forget::run(&cli.global.paths()?, &cli.global, &args),
        Command::Versions(args) => versions::run(&cli.global.paths()?, &args),
        Command::Status(args) => status::run(&cli.global.paths()?, &args),
        Command::Keys(crate::cli::KeysCommand::Export(args)) => {
            keys::export(&cli.global.paths()?, &args)
        }
        Command::Completions(args) => completions::completions(&args),
        Command::Man(args) => completions::man(&args),
    }
}

/// The outcome of a command that edits or prints the config files: its errors are config
/// errors (exit code 2) unless they already carry a code.
fn config_error(outcome: Result<ExitCode>) -> Result<ExitCode> {
    outcome.map_err(|err| match Code::of(&err) {
        Code::Error => crate::exit::mark(Code::Usage, err),
        _ => err,
    })
}

/// Runs an async command on the runtime ([`crate::engine::runtime`]).
fn block_on<F: Future<Output = Result<ExitCode>>>(command: F) -> Result<ExitCode> {
    crate::engine::runtime()?.block_on(command)
}
