//! poof's exit codes, for the timers and scripts that run it with nobody watching.
//!
//! | code | meaning |
//! |---|---|
//! | 0 | done |
//! | 1 | error (a file failed, a listing problem, anything not below) |
//! | 2 | usage or config error (bad flags, broken or incomplete config files); nothing ran |
//! | 3 | done, but some source files or folders could not be read (restic's meaning) |
//! | 4 | refused by a guard (a wiping run, wrong keys); nothing changed |
//! | 5 | another poof run holds the lock of the config folder |
//! | 6 | the storage could not be reached (refused, unreachable, no answer); nothing changed |
//!
//! A run over several folders ends with the most serious code of its folders, in the order
//! 2, 5, 1, 6, 4, 3, 0: an error needs a look, an unreachable store may come back by itself, a
//! refusal waits for the user, and unreadable files were all that went wrong.
//!
//! Errors carry their code as a [`Coded`] link of their chain, added where the cause is known
//! ([`WithCode::coded`]): the config loaders mark usage errors, the local disk marks what it
//! cannot read, the storage backends mark what they cannot reach. [`Code::of`] reads it back.

use std::fmt;
use std::process::ExitCode;

/// Why a run ended the way it did, as its exit code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum Code {
    /// 0: done.
    #[default]
    Done,
    /// 1: an error.
    Error,
    /// 2: bad flags or config files; nothing ran.
    Usage,
    /// 3: done, but some source files or folders could not be read.
    Unreadable,
    /// 4: a guard refused the run; nothing changed.
    Refused,
    /// 5: another run holds the lock.
    Locked,
    /// 6: the storage could not be reached; nothing changed.
    Unreachable,
}

impl Code {
    /// The number the process exits with.
    pub fn number(self) -> u8 {
        match self {
            Code::Done => 0,
            Code::Error => 1,
            Code::Usage => 2,
            Code::Unreadable => 3,
            Code::Refused => 4,
            Code::Locked => 5,
            Code::Unreachable => 6,
        }
    }

    /// A word for JSON summaries and status files.
    pub fn name(self) -> &'static str {
        match self {
            Code::Done => "done",
            Code::Error => "error",
            Code::Usage => "usage",
            Code::Unreadable => "unreadable",
            Code::Refused => "refused",
            Code::Locked => "locked",
            Code::Unreachable => "unreachable",
        }
    }

    /// How serious the code is, for [`Code::worst`] (see the module docs).
    fn rank(self) -> u8 {
        match self {
            Code::Done => 0,
            Code::Unreadable => 1,
            Code::Refused => 2,
            Code::Unreachable => 3,
            Code::Error => 4,
            Code::Locked => 5,
            Code::Usage => 6,
        }
    }

    /// The more serious of two codes: the code of a run over several folders.
    #[must_use]
    pub fn worst(self, other: Code) -> Code {
        if other.rank() > self.rank() {
            other
        } else {
            self
        }
    }

    /// The code an error carries ([`Coded`]), else 6 when its chain shows a store that could
    /// not be reached (a refused or reset connection, an unreachable host, a timeout), else 1.
    pub fn of(err: &anyhow::Error) -> Code {
        if let Some(coded) = err.chain().find_map(|e| e.downcast_ref::<Coded>()) {
            return coded.code;
        }
        if err.chain().any(is_connection_failure) {
            return Code::Unreachable;
        }
        Code::Error
    }
}

impl From<Code> for ExitCode {
    fn from(code: Code) -> ExitCode {
        ExitCode::from(code.number())
    }
}

/// True for the errors of a connection that could not be made or kept, wherever a library
/// puts them in a chain.
fn is_connection_failure(err: &(dyn std::error::Error + 'static)) -> bool {
    use std::io::ErrorKind;
    if let Some(io) = err.downcast_ref::<std::io::Error>() {
        return matches!(
            io.kind(),
            ErrorKind::ConnectionRefused
                | ErrorKind::ConnectionReset
                | ErrorKind::ConnectionAborted
                | ErrorKind::NotConnected
                | ErrorKind::TimedOut
                | ErrorKind::HostUnreachable
                | ErrorKind::NetworkUnreachable
                | ErrorKind::AddrNotAvailable
        );
    }
    if let Some(http) = err.downcast_ref::<reqwest::Error>() {
        return http.is_connect() || http.is_timeout();
    }
    false
}

/// A link of an error chain that says which exit code the error means. It shows as the error
/// it wraps: the printed chain is the same with or without it.
#[derive(Debug)]
pub struct Coded {
    code: Code,
    err: anyhow::Error,
}

impl fmt::Display for Coded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The wrapped error's own message; its causes follow as this link's source.
        fmt::Display::fmt(&self.err, f)
    }
}

impl std::error::Error for Coded {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.err.source()
    }
}

/// Marks an error with the exit code it means.
pub fn mark(code: Code, err: anyhow::Error) -> anyhow::Error {
    anyhow::Error::new(Coded { code, err })
}

/// [`mark`] on results.
pub trait WithCode<T> {
    /// The error, if any, marked with `code`.
    ///
    /// # Errors
    /// The error of `self`, marked.
    fn coded(self, code: Code) -> anyhow::Result<T>;
}

impl<T, E: Into<anyhow::Error>> WithCode<T> for Result<T, E> {
    fn coded(self, code: Code) -> anyhow::Result<T> {
        self.map_err(|e| mark(code, e.into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use anyhow::Context;

    #[test]
    fn a_mark_keeps_the_printed_chain_and_survives_more_context() {
        let io = std::io::Error::new(std::io::ErrorKind::PermissionDenied, "Permission denied");
        let plain = anyhow::Error::from(io).context("cannot open /x");
        let shown = format!("{plain:#}");
        let marked = mark(Code::Unreadable, plain).context("docs/x");
        assert_eq!(format!("{marked:#}"), format!("docs/x: {shown}"));
        assert_eq!(Code::of(&marked), Code::Unreadable);
    }

    #[test]
    fn connection_failures_are_unreachable_and_other_errors_are_errors() {
        let refused = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        let err = anyhow::Error::from(refused).context("cannot list s3:bucket");
        assert_eq!(Code::of(&err), Code::Unreachable);
        let denied = std::io::Error::from(std::io::ErrorKind::PermissionDenied);
        assert_eq!(Code::of(&anyhow::Error::from(denied)), Code::Error);
        assert_eq!(Code::of(&anyhow::anyhow!("no such remote")), Code::Error);
        let usage: anyhow::Result<()> = Err(anyhow::anyhow!("bad key")).coded(Code::Usage);
        let usage = usage.context("poof.conf").unwrap_err();
        assert_eq!(Code::of(&usage), Code::Usage);
    }

    #[test]
    fn the_worst_code_wins_in_the_documented_order() {
        let order = [
            Code::Done,
            Code::Unreadable,
            Code::Refused,
            Code::Unreachable,
            Code::Error,
            Code::Locked,
            Code::Usage,
        ];
        for (i, a) in order.iter().enumerate() {
            for (j, b) in order.iter().enumerate() {
                let want = if i >= j { *a } else { *b };
                assert_eq!(a.worst(*b), want, "{a:?} {b:?}");
            }
        }
        let numbers: Vec<u8> = order.iter().map(|c| c.number()).collect();
        assert_eq!(numbers, [0, 3, 4, 6, 1, 5, 2]);
    }
}
