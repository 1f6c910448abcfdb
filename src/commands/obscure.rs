//! `poof obscure` and `poof reveal`: rclone's reversible password obscuring, for config files.
//!
//! Obscuring is not encryption: it only keeps passwords from being read at a glance. rclone's
//! obscure uses a random IV, so two runs print different text for the same password; both
//! reveal to it.

use std::io::{BufRead, Write};
use std::process::ExitCode;

use anyhow::{Context, Result};
use zeroize::Zeroizing;

use crate::cli::{ObscureArgs, RevealArgs};

/// `poof obscure [PASSWORD|-]`: prints the obscured password.
pub fn obscure(args: &ObscureArgs) -> Result<ExitCode> {
    let password = match args.password.as_deref() {
        Some(pw) if pw != "-" => Zeroizing::new(pw.to_owned()),
        _ => read_stdin_line()?,
    };
    let mut out = std::io::stdout().lock();
    writeln!(out, "{}", poof_crypt::obscure(&password))?;
    Ok(ExitCode::SUCCESS)
}

/// `poof reveal OBSCURED`: prints the plain password.
pub fn reveal(args: &RevealArgs) -> Result<ExitCode> {
    let plain = Zeroizing::new(poof_crypt::reveal(&args.obscured).context("cannot reveal")?);
    let mut out = std::io::stdout().lock();
    writeln!(out, "{}", plain.as_str())?;
    Ok(ExitCode::SUCCESS)
}

/// One line of standard input without its line ending.
fn read_stdin_line() -> Result<Zeroizing<String>> {
    let mut line = Zeroizing::new(String::new());
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("cannot read the password from standard input")?;
    let trimmed = line.trim_end_matches(['\n', '\r']).len();
    line.truncate(trimmed);
    Ok(line)
}
