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
mod sync;
mod target;
mod upload;
mod verify;
mod versions;

use std::future::Future;
use std::process::ExitCode;

use anyhow::Result;

use crate::cli::{Cli, Command};

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
        Command::Config(args) => setup::config(&cli.global.paths()?, &args),
        Command::Cconfig => setup::cconfig(&cli.global.paths()?),
        Command::Econfig => setup::econfig(&cli.global.paths()?),
        Command::Cryptoggle => setup::cryptoggle(&cli.global.paths()?),
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
        Command::Keys(crate::cli::KeysCommand::Export(args)) => {
            keys::export(&cli.global.paths()?, &args)
        }
        Command::Completions(args) => completions::completions(&args),
        Command::Man(args) => completions::man(&args),
    }
}

/// Runs an async command on the runtime ([`crate::engine::runtime`]).
fn block_on<F: Future<Output = Result<ExitCode>>>(command: F) -> Result<ExitCode> {
    crate::engine::runtime()?.block_on(command)
}

/// Success only without errors.
fn exit(errors: u64) -> ExitCode {
    if errors == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
