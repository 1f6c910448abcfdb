//! poof: encrypted backup and restore of local folders to cloud storage, byte-compatible with
//! rclone's crypt format and needing no rclone at run time.
//!
//! `main` parses the command line ([`cli`]), runs one command ([`commands`]) and turns the
//! outcome into an exit code. An error prints once, as a one-line chain of causes; a broken
//! pipe (`poof cat ... | head`) is success.
#![forbid(unsafe_code)]

mod cli;
mod commands;
mod config;
mod lock;
mod progress;
mod remote;
mod schedule;
mod sync;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    // TLS for https S3 endpoints: rustls is built without a default provider. An error only
    // means a provider is already installed.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let cli = cli::Cli::parse();
    match commands::run(cli) {
        Ok(code) => code,
        Err(err) => {
            if is_broken_pipe(&err) {
                return ExitCode::SUCCESS;
            }
            eprintln!("poof: error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

/// True when the error chain ends in a closed stdout, e.g. output piped into `head`.
fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
