//! The `poof` binary: runs [`poof::run`] and turns the outcome into an exit code. An error
//! prints once, as a one-line chain of causes; a broken pipe (`poof cat ... | head`) is success.
#![forbid(unsafe_code)]

use std::process::ExitCode;

fn main() -> ExitCode {
    // TLS for https S3 endpoints: rustls is built without a default provider. An error only
    // means a provider is already installed.
    let _ = rustls::crypto::ring::default_provider().install_default();
    match poof::run() {
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
