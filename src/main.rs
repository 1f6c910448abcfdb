//! The `poof` binary: runs [`poof::run`] and turns the outcome into an exit code
//! ([`poof::exit`]). An error prints once, as a one-line chain of causes; a broken pipe (`poof cat ... | head`) is success.
#![forbid(unsafe_code)]

use std::process::ExitCode;

fn main() -> ExitCode {
    // TLS for https S3 endpoints: rustls is built without a default provider. An error only
    // means a provider is already installed.
    let _ = rustls::crypto::ring::default_provider().install_default();
    // A panic (a bug, or a library that panics when the system refuses it a thread) is one
    // line too, never a backtrace; the exit status stays 101, and a panicking run has
    // deleted nothing (deletes come last, after an error-free run).
    std::panic::set_hook(Box::new(|info| {
        let what = info
            .payload()
            .downcast_ref::<&str>()
            .copied()
            .or_else(|| info.payload().downcast_ref::<String>().map(String::as_str))
            .unwrap_or("no message");
        let place = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        poof::log_line(&format!(
            "poof: error: internal error{place}: {}",
            what.replace('\n', " ")
        ));
    }));
    match poof::run() {
        Ok(code) => code,
        Err(err) => {
            if is_broken_pipe(&err) {
                return ExitCode::SUCCESS;
            }
            poof::log_line(&format!("poof: error: {err:#}"));
            poof::exit::Code::of(&err).into()
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
