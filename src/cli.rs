//! The command line: global flags and one enum variant per command.
//!
//! Raw flags are parsed here with clap; each command turns its arguments into a validated job
//! before any work starts (see [`crate::commands`]).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::exit::{Code, WithCode};

/// Encrypted backup of local folders to cloud storage, compatible with rclone crypt.
#[derive(Debug, Parser)]
#[command(name = "poof", version, about, long_about = None, after_help = EXIT_CODES)]
pub struct Cli {
    /// Global options shared by every command.
    #[command(flatten)]
    pub global: GlobalArgs,
    /// The command to run.
    #[command(subcommand)]
    pub command: Command,
}

/// The exit codes, at the end of `poof --help` ([`crate::exit`]).
const EXIT_CODES: &str = "Exit codes:
  0  done
  1  error (a file failed, a listing problem; nothing was deleted)
  2  usage or config error; nothing ran
  3  done, but some source files or folders could not be read
  4  refused by a guard (empty source, too many deletes, wrong keys); nothing changed
  5  another poof run holds the lock
  6  the storage could not be reached; nothing changed";

/// Flags accepted before or after any command.
#[derive(Debug, Args, Clone, Default)]
pub struct GlobalArgs {
    /// Folder holding poof.conf and rclone-poof.conf [default: $XDG_CONFIG_HOME/poof]
    #[arg(long, global = true, value_name = "DIR", env = "POOF_CONFDIR")]
    pub confdir: Option<PathBuf>,
    /// poof's own config file [default: CONFDIR/poof.conf]
    #[arg(long, global = true, value_name = "FILE")]
    pub poofconf: Option<PathBuf>,
    /// rclone config file with the remotes [default: CONFDIR/rclone-poof.conf]
    #[arg(long, global = true, value_name = "FILE")]
    pub rcloneconf: Option<PathBuf>,
    /// More output: -v logs each action
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Less output: errors and the final summary only
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// Format of the log on stderr: text, or json (one object per line, as rclone's
    /// --use-json-log: level, msg, source, time)
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
}

/// The format of the log on stderr.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Lines of text.
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

impl GlobalArgs {
    /// Where poof's files are, after these flags ([`crate::config::Paths::resolve`]).
    ///
    /// # Errors
    /// As [`crate::config::Paths::resolve`].
    pub fn paths(&self) -> anyhow::Result<crate::config::Paths> {
        crate::config::Paths::resolve(
            self.confdir.as_deref(),
            self.poofconf.as_deref(),
            self.rcloneconf.as_deref(),
        )
        .coded(Code::Usage)
    }
}

/// One variant per command, each with a doc line.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Decrypt (or with --reverse encrypt) file names of a crypt remote, as rclone cryptdecode
    Cryptdecode(CryptdecodeArgs),
    /// Obscure a password for use in an rclone config file (reads stdin when PASSWORD is - or absent)
    Obscure(ObscureArgs),
    /// Reveal an obscured password
    Reveal(RevealArgs),
    /// Make DEST identical to SOURCE: copy new and changed files, delete extra ones (as rclone sync)
    Sync(SyncArgs),
    /// Copy new and changed files from SOURCE to DEST, deleting nothing (as rclone copy)
    Copy(SyncArgs),
    /// Check that the files of a crypt remote decrypt to exactly the source's (as rclone cryptcheck)
    Cryptcheck(CryptcheckArgs),
    /// List every file below a location with its size, as rclone ls
    Ls(LsArgs),
    /// List a location as JSON (one object per line), as rclone lsjson
    Lsjson(LsjsonArgs),
    /// Write a file (or every file of a directory) to standard output, as rclone cat
    Cat(CatArgs),
    /// Print where poof.conf and rclone-poof.conf are
    Paths,
    /// Create poof.conf if missing (optionally add or remove a folder to protect), then print it
    Config(ConfigArgs),
    /// Create rclone-poof.conf if missing (an encrypted local vault by default), then print it with secrets masked
    Cconfig,
    /// Add a crypt remote with strong random passwords over the plain remote and switch to it
    Econfig,
    /// Switch poof.conf's remote between the plain and the crypt remote
    Cryptoggle,
    /// Print poof's version and the versions of its parts
    Version,
    /// Install a backup every 6 hours (systemd user timer, crontab or launchd agent)
    Lconfig(ScheduleArgs),
    /// Remove the scheduled backup
    Lpurge(ScheduleArgs),
    /// Remove poof's config folder (with the crypt keys) and its schedule from this machine
    Neuter(NeuterArgs),
    /// Back up every folder of poof.conf to its target (refuses runs that would wipe the cloud copy)
    Backup(BackupArgs),
    /// Back up, verify every file in the cloud, then delete the verified local files
    Upload(UploadArgs),
    /// Restore every folder of poof.conf from its target (refuses wrong keys and wiping runs)
    Download(DownloadArgs),
    /// Check that poof is ready: config files, remote reachable, local folders, crypt keys
    Verify,
    /// Apply a retention policy to the history now: keep the past states it chooses, free the rest
    Forget(ForgetArgs),
    /// List the versions of a file, or of the files below a folder: the current one and those in the history
    Versions(VersionsArgs),
    /// The last backup, upload and download of each folder (when, result, counts) and the next scheduled backup
    Status(StatusArgs),
    /// The crypt keys: `keys export [FILE]` writes them as an rclone config to keep away from the vault
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Print the completion script of SHELL (bash, zsh, fish, powershell, elvish) to standard output
    Completions(CompletionsArgs),
    /// Print poof's man page in roff (or the page of COMMAND, as `backup` or `keys-export`) to standard output
    Man(ManArgs),
}

/// What `poof keys` does.
#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Write the crypt remote (and the storage it rests on) as an rclone config file, with how to restore
    Export(KeysExportArgs),
}

/// Arguments of `poof status`.
#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Print the status as one JSON object (the last run of each command, as `--json` prints it)
    #[arg(long)]
    pub json: bool,
}

/// Arguments of `poof keys export`.
#[derive(Debug, Args)]
pub struct KeysExportArgs {
    /// The file to write (new, mode 0600) [default: poof-keys.conf]
    pub file: Option<PathBuf>,
    /// Also write each crypt password in the clear, as a comment beside it (for paper)
    #[arg(long)]
    pub reveal: bool,
}

/// Arguments of `poof completions`.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell the script is for
    pub shell: clap_complete::Shell,
}

/// Arguments of `poof man`.
#[derive(Debug, Args)]
pub struct ManArgs {
    /// The command whose page to print, named as its page is named after `poof-` (`backup`,
    /// `keys-export` for `poof keys export`); none: poof's own page, which lists the commands
    #[arg(value_name = "COMMAND", value_parser = PageName, hide_possible_values = true)]
    pub command: Option<String>,
}

/// The names of the man pages of poof's commands below poof's own: each command's path
/// joined by `-` (`backup`, `keys`, `keys-export`), as the page `poof-backup` is named.
pub fn man_page_names() -> Vec<String> {
    fn walk(cmd: &clap::Command, prefix: &str, out: &mut Vec<String>) {
        for sub in cmd.get_subcommands() {
            let name = format!("{prefix}{}", sub.get_name());
            walk(sub, &format!("{name}-"), out);
            out.push(name);
        }
    }
    let mut names = Vec::new();
    walk(&<Cli as clap::CommandFactory>::command(), "", &mut names);
    names.sort();
    names
}

/// `poof man COMMAND`: one of [`man_page_names`], offered by the shell completions. The names
/// are read from the command line's definition only when a value is checked or completed, so
/// building that definition never asks for it.
#[derive(Debug, Clone)]
struct PageName;

impl clap::builder::TypedValueParser for PageName {
    type Value = String;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<String, clap::Error> {
        clap::builder::PossibleValuesParser::new(man_page_names()).parse_ref(cmd, arg, value)
    }

    fn possible_values(
        &self,
    ) -> Option<Box<dyn Iterator<Item = clap::builder::PossibleValue> + '_>> {
        Some(Box::new(
            man_page_names()
                .into_iter()
                .map(clap::builder::PossibleValue::new),
        ))
    }
}

/// Arguments of `poof config`.
#[derive(Debug, Args)]
pub struct ConfigArgs {
    /// Add this local folder to the paths backed up (made absolute)
    #[arg(long, value_name = "DIR", conflicts_with = "remove")]
    pub add: Option<std::path::PathBuf>,
    /// Cloud folder name for --add [default: the folder's own name]
    #[arg(long, value_name = "NAME", requires = "add")]
    pub name: Option<String>,
    /// Remove this local folder from the paths (its backup stays on the remote)
    #[arg(long, value_name = "DIR")]
    pub remove: Option<std::path::PathBuf>,
}

/// Arguments of `poof lconfig` and `poof lpurge`.
#[derive(Debug, Args)]
pub struct ScheduleArgs {
    /// Print what would be written and run, change nothing
    #[arg(long, short = 'n')]
    pub dry_run: bool,
}

/// Arguments of `poof neuter`.
#[derive(Debug, Args)]
pub struct NeuterArgs {
    /// Do not ask for confirmation (required without a terminal)
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Print what would be removed, remove nothing
    #[arg(long, short = 'n')]
    pub dry_run: bool,
}

/// Options of every run over poof.conf's paths (`backup`, `upload`, `download`).
#[derive(Debug, Args, Clone)]
pub struct RunArgs {
    /// Print what would change, change nothing
    #[arg(short = 'n', long)]
    pub dry_run: bool,
    /// Files transferred at once, 1 to 256 (never more threads than files to copy)
    #[arg(long, value_name = "N", default_value_t = crate::sync::DEFAULT_TRANSFERS,
          value_parser = transfer_count, allow_negative_numbers = true)]
    pub transfers: usize,
    /// Files compared (stat'ed) at once, 1 to 256
    #[arg(long, value_name = "N", default_value_t = crate::sync::DEFAULT_CHECKERS,
          value_parser = checker_count, allow_negative_numbers = true)]
    pub checkers: usize,
    /// No progress bar or periodic progress lines (the summaries are still printed)
    #[arg(long)]
    pub no_progress: bool,
    /// Print a summary of the run as one JSON object on stdout at the end (fields in the README)
    #[arg(long)]
    pub json: bool,
    /// Bandwidth limit in bytes/s, as rclone's: 10M, 512k (KiB/s without a suffix), off;
    /// UP:DOWN (10M:100k); or a timetable "08:00,512k Sat-00:00,off" [default: poof.conf's
    /// "bwlimit", else off]
    #[arg(long, value_name = "SPEC")]
    pub bwlimit: Option<crate::bwlimit::Spec>,
    #[command(flatten)]
    pub filter: FilterArgs,
}

impl RunArgs {
    /// The engine's options for a folder run with these flags (`delete` is set per run; the
    /// filter of each folder joins these flags' rules to poof.conf's).
    ///
    /// # Errors
    /// `--dump` of something but `filters`.
    pub fn options(&self, global: &GlobalArgs) -> anyhow::Result<crate::engine::RunOptions> {
        let dump_filters = self.filter.dump_filters().coded(Code::Usage)?;
        Ok(crate::engine::RunOptions {
            sync: crate::sync::SyncOptions {
                dry_run: self.dry_run,
                transfers: self.transfers,
                checkers: self.checkers,
                verbose: global.verbose > 0,
                bwlimit: self.bwlimit.as_ref().map(crate::bwlimit::Limiter::new),
                ..crate::sync::SyncOptions::default()
            },
            quiet: global.quiet,
            no_progress: self.no_progress,
            filter: self.filter.spec.clone(),
            dump_filters,
        })
    }
}

/// Default of `--max-delete`: a run may delete at most half of the files already there.
pub const DEFAULT_MAX_DELETE_PCT: u8 = 50;

/// The guard against runs that would delete most of a side.
#[derive(Debug, Args, Clone)]
pub struct GuardArgs {
    /// Refuse a path whose sync would delete more than this percentage of the files already
    /// on the side being synced to
    #[arg(long, value_name = "PCT", default_value_t = DEFAULT_MAX_DELETE_PCT,
          value_parser = clap::value_parser!(u8).range(0..=100))]
    pub max_delete: u8,
    /// Run even when a guard refuses (an empty source, too many deletes, wrong keys)
    #[arg(long)]
    pub force: bool,
}

impl GuardArgs {
    /// The engine's delete guard.
    pub fn guard(&self) -> crate::engine::Guard {
        crate::engine::Guard {
            max_delete: self.max_delete,
            force: self.force,
        }
    }
}

/// Arguments of `poof backup`.
#[derive(Debug, Args)]
pub struct BackupArgs {
    /// Options of the run.
    #[command(flatten)]
    pub run: RunArgs,
    /// The delete guard.
    #[command(flatten)]
    pub guard: GuardArgs,
    /// Delete from the target the files the filter leaves out (into the history, when kept)
    #[arg(long)]
    pub delete_excluded: bool,
}

/// Arguments of `poof upload`.
#[derive(Debug, Args)]
pub struct UploadArgs {
    /// Options of the run.
    #[command(flatten)]
    pub run: RunArgs,
    /// Verify by reading every file back through the crypt layer, not just size and time
    #[arg(long)]
    pub verify_content: bool,
    /// Overwrite each verified file in place with random bytes before deleting it (as
    /// `"shred": true` in poof.conf; of little use on SSDs and copy-on-write file systems)
    #[arg(long)]
    pub shred: bool,
    /// Then remove the config folder too (with the crypt keys: keep them elsewhere!)
    #[arg(long)]
    pub neuter: bool,
}

/// Arguments of `poof download`.
#[derive(Debug, Args)]
pub struct DownloadArgs {
    /// Options of the run.
    #[command(flatten)]
    pub run: RunArgs,
    /// The delete guard.
    #[command(flatten)]
    pub guard: GuardArgs,
    /// Restore into DIR/<cloud folder> instead of the original folders, deleting nothing
    #[arg(long, value_name = "DIR")]
    pub to: Option<PathBuf>,
    /// Restore the files as they were after the last backup started at or before TIME
    /// (RFC 3339 like 2026-11-29T06:00:00Z, or a run name like 2026-11-29T060000Z)
    #[arg(long, value_name = "TIME")]
    pub at: Option<String>,
    /// Restore only these files or folders: local paths inside a folder of poof.conf, or
    /// <cloud folder>/<path>
    #[arg(value_name = "PATH")]
    pub paths: Vec<String>,
}

/// Arguments of `poof forget`: a policy given by flags replaces poof.conf's whole policy.
#[derive(Debug, Args)]
pub struct ForgetArgs {
    /// Keep the N newest states
    #[arg(long, value_name = "N")]
    pub keep_last: Option<u32>,
    /// Keep the newest state of each of the N most recent hours that have one
    #[arg(long, value_name = "N")]
    pub keep_hourly: Option<u32>,
    /// Keep the newest state of each of the N most recent days that have one
    #[arg(long, value_name = "N")]
    pub keep_daily: Option<u32>,
    /// Keep the newest state of each of the N most recent ISO weeks that have one
    #[arg(long, value_name = "N")]
    pub keep_weekly: Option<u32>,
    /// Keep the newest state of each of the N most recent months that have one
    #[arg(long, value_name = "N")]
    pub keep_monthly: Option<u32>,
    /// Keep every state younger than this, counted back from the newest (7d, 36h, 1y6m)
    #[arg(long, value_name = "DURATION")]
    pub keep_within: Option<crate::history::policy::Within>,
    /// Print what would be kept and removed, change nothing
    #[arg(short = 'n', long)]
    pub dry_run: bool,
}

impl ForgetArgs {
    /// The policy the flags give, or `None` when no `--keep-*` flag is given.
    pub fn policy(&self) -> Option<crate::history::policy::KeepPolicy> {
        let policy = crate::history::policy::KeepPolicy {
            last: self.keep_last,
            hourly: self.keep_hourly,
            daily: self.keep_daily,
            weekly: self.keep_weekly,
            monthly: self.keep_monthly,
            within: self.keep_within,
        };
        (!policy.is_empty()).then_some(policy)
    }
}

/// Arguments of `poof versions`.
#[derive(Debug, Args)]
pub struct VersionsArgs {
    /// A local path inside a folder of poof.conf, or <cloud folder>/<path>; none: every file
    #[arg(value_name = "PATH")]
    pub path: Option<String>,
    /// Print JSON (one object per file) instead of lines
    #[arg(long)]
    pub json: bool,
}

/// Arguments of `poof cryptdecode`.
#[derive(Debug, Args)]
pub struct CryptdecodeArgs {
    /// Encrypt the names instead of decrypting them
    #[arg(long)]
    pub reverse: bool,
    /// The crypt remote, e.g. `secret:`
    pub remote: String,
    /// Names (or paths) to decode
    #[arg(required = true)]
    pub names: Vec<String>,
}

/// Arguments of `poof obscure`.
#[derive(Debug, Args)]
pub struct ObscureArgs {
    /// The password; `-` or absent reads one line from standard input, which keeps it out of `ps`
    pub password: Option<String>,
}

/// Arguments of `poof reveal`.
#[derive(Debug, Args)]
pub struct RevealArgs {
    /// The obscured password (may start with `-`)
    #[arg(allow_hyphen_values = true)]
    pub obscured: String,
}

/// Arguments of `poof cryptcheck`.
#[derive(Debug, Args)]
pub struct CryptcheckArgs {
    /// The plain files: a local path or `remote:path`
    pub source: String,
    /// The crypt remote holding their encrypted copy, e.g. `secret:docs`
    pub dest: String,
    /// Files compared at once, 1 to 256
    #[arg(long, value_name = "N", default_value_t = crate::sync::DEFAULT_CHECKERS,
          value_parser = checker_count, allow_negative_numbers = true)]
    pub checkers: usize,
    /// No progress bar or periodic progress lines
    #[arg(long)]
    pub no_progress: bool,
    #[command(flatten)]
    pub filter: FilterArgs,
}

/// Arguments of `poof sync` and `poof copy`.
#[derive(Debug, Args)]
pub struct SyncArgs {
    /// Where files come from: a local path or `remote:path`
    pub source: String,
    /// Where files go: a local path or `remote:path`
    pub dest: String,
    /// Compare files of equal size by content (reads both sides) instead of modification time
    #[arg(short = 'c', long)]
    pub checksum: bool,
    /// Follow symbolic links in a local source (loops and dangling links are skipped)
    #[arg(short = 'L', long)]
    pub copy_links: bool,
    /// Dry run, concurrency and progress, as for backup.
    #[command(flatten)]
    pub run: RunArgs,
    /// With sync: delete destination files the filter leaves out (never without this flag)
    #[arg(long)]
    pub delete_excluded: bool,
}

/// Arguments of `poof ls`.
#[derive(Debug, Args)]
pub struct LsArgs {
    /// The location, e.g. `secret:docs` or a local path
    pub location: String,
    #[command(flatten)]
    pub filter: FilterArgs,
}

/// Arguments of `poof lsjson`.
#[derive(Debug, Args)]
pub struct LsjsonArgs {
    /// List subdirectories too
    #[arg(short = 'R', long)]
    pub recursive: bool,
    /// The location, e.g. `secret:docs` or a local path
    pub location: String,
    #[command(flatten)]
    pub filter: FilterArgs,
}

/// rclone's filter flags, and `--dump filters` to print the rules they make.
#[derive(Debug, Args, Clone)]
#[command(next_help_heading = "Filters (rclone's rules)")]
pub struct FilterArgs {
    #[command(flatten)]
    pub spec: crate::filter::Spec,
    /// `filters`: print the rules as regular expressions first, as rclone does
    #[arg(long, value_name = "WHAT")]
    pub dump: Option<String>,
}

impl FilterArgs {
    /// The compiled filter, its rules printed first when `--dump filters` asks.
    ///
    /// # Errors
    /// A rule or flag value that does not parse, or `--dump` of something else.
    pub fn build(&self) -> anyhow::Result<crate::filter::Filter> {
        let filter = crate::filter::Filter::new(&self.spec, std::time::SystemTime::now())
            .coded(Code::Usage)?;
        if self.dump_filters().coded(Code::Usage)? {
            print!("{}", filter.dump());
        }
        Ok(filter)
    }

    /// Whether `--dump filters` was asked.
    ///
    /// # Errors
    /// `--dump` of something else.
    pub fn dump_filters(&self) -> anyhow::Result<bool> {
        match self.dump.as_deref() {
            None => Ok(false),
            Some("filters") => Ok(true),
            Some(other) => anyhow::bail!("--dump {other:?}: poof can dump only `filters`"),
        }
    }
}

/// Arguments of `poof cat`.
#[derive(Debug, Args)]
pub struct CatArgs {
    /// Start at this byte; negative counts from the end
    #[arg(long, default_value_t = 0, allow_negative_numbers = true)]
    pub offset: i64,
    /// Write at most this many bytes per file; negative means all
    #[arg(long, default_value_t = -1, allow_negative_numbers = true)]
    pub count: i64,
    /// The file (or directory), e.g. `secret:docs/report.pdf`
    pub location: String,
}

/// `--transfers`: a whole number from 1 to [`crate::sync::MAX_TRANSFERS`].
fn transfer_count(text: &str) -> Result<usize, String> {
    worker_count(text, crate::sync::MAX_TRANSFERS)
}

/// `--checkers`: a whole number from 1 to [`crate::sync::MAX_CHECKERS`].
fn checker_count(text: &str) -> Result<usize, String> {
    worker_count(text, crate::sync::MAX_CHECKERS)
}

/// A count of parallel workers: a whole number from 1 to `max`. Anything else (0, a negative
/// number, a number too large for the machine) is refused with the range, before any work.
fn worker_count(text: &str, max: usize) -> Result<usize, String> {
    match text.trim().parse::<usize>() {
        Ok(n) if (1..=max).contains(&n) => Ok(n),
        _ => Err(format!("must be a whole number from 1 to {max}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn worker_counts_are_bounded() {
        assert_eq!(worker_count("1", 256), Ok(1));
        assert_eq!(worker_count("256", 256), Ok(256));
        for bad in [
            "0",
            "-1",
            "257",
            "4294967296",
            "99999999999999999999999",
            "x",
            "",
        ] {
            let err = worker_count(bad, 256).unwrap_err();
            assert!(err.contains("from 1 to 256"), "{bad}: {err}");
        }
    }

    #[test]
    fn help_states_the_ceilings() {
        // The flags' help says "1 to 256": keep it in step with the constants.
        assert_eq!(crate::sync::MAX_TRANSFERS, 256);
        assert_eq!(crate::sync::MAX_CHECKERS, 256);
    }

    #[test]
    fn negative_transfers_reach_the_parser() {
        let err = Cli::try_parse_from(["poof", "backup", "--transfers", "-3"]).unwrap_err();
        assert!(err.to_string().contains("from 1 to"), "{err}");
    }
}
