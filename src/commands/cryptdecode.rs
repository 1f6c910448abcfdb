//! `poof cryptdecode [--reverse] REMOTE: NAME...`: decrypt or encrypt file names of a crypt
//! remote, printing `input \t output` lines exactly as `rclone cryptdecode` does.
//!
//! rclone takes at most 10 names per call; poof takes any number, with the same line format.

use std::io::Write;
use std::process::ExitCode;

use anyhow::{bail, Context, Result};

use crate::cli::CryptdecodeArgs;
use crate::config::rclone::RcloneConfig;
use crate::config::Paths;
use crate::remote::crypt::CryptSettings;
use crate::remote::{crypt_section, Location};

/// What rclone prints in place of a name that does not decrypt.
pub const FAILED: &str = "Failed to decrypt";

/// Runs the command.
pub fn run(paths: &Paths, args: &CryptdecodeArgs) -> Result<ExitCode> {
    let Location::Remote { name, .. } = Location::parse(&args.remote)? else {
        bail!(
            "{:?} is not a remote: give a crypt remote such as `secret:`",
            args.remote
        );
    };
    let mut config = RcloneConfig::load(&paths.rcloneconf)?;
    config.apply_process_env_overrides();
    let settings = CryptSettings::from_section(crypt_section(&config, &name, &paths.rcloneconf)?)?;
    let mut out = std::io::stdout().lock();
    for input in &args.names {
        let output = if args.reverse {
            settings.names.encrypt_file_name(input)
        } else {
            settings
                .names
                .decrypt_file_name(input)
                .unwrap_or_else(|_| FAILED.to_owned())
        };
        writeln!(out, "{input} \t {output}").context("cannot write to standard output")?;
    }
    Ok(ExitCode::SUCCESS)
}
