//! `poof completions SHELL` and `poof man [COMMAND]`: the bash script completes commands, flags
//! and page names in a real bash; the zsh, fish, PowerShell and elvish scripts have their
//! shell's form; every man page renders with groff without a warning (when groff is installed;
//! its structure is checked either way); unknown shells and pages are usage errors.

use std::path::Path;
use std::process::{Command, Stdio};

use crate::harness::home::Home;
use crate::harness::{assert_contains, run_expect, run_ok};

/// The commands poof's own page must list (and the completions complete).
const COMMANDS: &[&str] = &[
    "backup",
    "upload",
    "download",
    "verify",
    "forget",
    "versions",
    "keys",
    "sync",
    "copy",
    "ls",
    "lsjson",
    "cat",
    "cryptcheck",
    "cryptdecode",
    "obscure",
    "reveal",
    "paths",
    "config",
    "cconfig",
    "econfig",
    "cryptoggle",
    "lconfig",
    "lpurge",
    "neuter",
    "version",
    "completions",
    "man",
];

/// `poof <args>` on a fresh HOME, which must succeed and leave the HOME empty; its stdout.
fn poof_ok(args: &[&str]) -> String {
    let h = Home::new();
    let out = run_ok(h.poof().args(args));
    let left: Vec<_> = std::fs::read_dir(h.home()).unwrap().collect();
    assert!(left.is_empty(), "poof {args:?} wrote into HOME: {left:?}");
    out
}

/// Whether `program` can be run (it is on PATH).
fn installed(program: &str) -> bool {
    Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {program}"))
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Writes `text` to `dir/name` and returns the path.
fn write(dir: &Path, name: &str, text: &str) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

/// What bash offers after the words of `line` (the last one being completed), with `script`
/// loaded as bash-completion loads it.
fn bash_complete(script: &Path, line: &[&str]) -> Vec<String> {
    let words = line
        .iter()
        .map(|w| format!("'{w}'"))
        .collect::<Vec<_>>()
        .join(" ");
    let current = line.len() - 1;
    let previous = line[current - 1];
    let program = format!(
        "source '{}'\nCOMP_WORDS=({words})\nCOMP_CWORD={current}\nCOMP_LINE=\"${{COMP_WORDS[*]}}\"\n\
         COMP_POINT=${{#COMP_LINE}}\n_poof poof '{}' '{previous}'\nprintf '%s\\n' \"${{COMPREPLY[@]}}\"\n",
        script.display(),
        line[current],
    );
    let out = run_ok(Command::new("bash").arg("--norc").arg("-c").arg(program));
    out.lines()
        .map(|l| l.trim_end().to_owned())
        .filter(|l| !l.is_empty())
        .collect()
}

#[test]
fn bash_script_parses_and_completes_commands_flags_and_pages() {
    let script = poof_ok(&["completions", "bash"]);
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "poof.bash", &script);
    run_ok(Command::new("bash").arg("-n").arg(&path));
    assert_contains(&script, "backup");
    assert_contains(&script, "--dry-run");

    let commands = bash_complete(&path, &["poof", ""]);
    for command in COMMANDS {
        assert!(
            commands.iter().any(|c| c == command),
            "{command} not offered: {commands:?}"
        );
    }
    assert_eq!(
        bash_complete(&path, &["poof", "back"]),
        ["backup"],
        "one command starts with back"
    );
    let flags = bash_complete(&path, &["poof", "backup", "--dry"]);
    assert_eq!(flags, ["--dry-run"]);
    let flags = bash_complete(&path, &["poof", "backup", "--max-d"]);
    assert_eq!(flags, ["--max-delete"]);
    // A flag of another command is not offered.
    assert!(bash_complete(&path, &["poof", "backup", "--reve"]).is_empty());
    assert_eq!(
        bash_complete(&path, &["poof", "completions", "fi"]),
        ["fish"]
    );
    let mut pages = bash_complete(&path, &["poof", "man", "keys"]);
    pages.sort();
    assert_eq!(pages, ["keys", "keys-export"]);
}

#[test]
fn zsh_fish_powershell_and_elvish_scripts_have_their_shells_form() {
    let dir = tempfile::tempdir().unwrap();

    let zsh = poof_ok(&["completions", "zsh"]);
    assert_eq!(zsh.lines().next(), Some("#compdef poof"));
    assert_contains(&zsh, "'--dry-run[");
    assert_contains(&zsh, "'backup:");
    if installed("zsh") {
        run_ok(
            Command::new("zsh")
                .arg("-n")
                .arg(write(dir.path(), "_poof", &zsh)),
        );
    }

    let fish = poof_ok(&["completions", "fish"]);
    let lines: Vec<&str> = fish.lines().collect();
    assert!(lines.iter().any(|l| l.starts_with("complete -c poof")));
    // --dry-run is completed after `backup` (and `-n` with it).
    assert!(
        lines.iter().any(|l| l.starts_with("complete -c poof")
            && l.contains("__fish_poof_using_subcommand backup\"")
            && l.contains("-s n -l dry-run")),
        "{fish}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("complete -c poof") && l.contains("-a \"backup\"")),
        "{fish}"
    );
    if installed("fish") {
        run_ok(
            Command::new("fish")
                .arg("-n")
                .arg(write(dir.path(), "poof.fish", &fish)),
        );
    }

    let powershell = poof_ok(&["completions", "powershell"]);
    assert_contains(
        &powershell,
        "Register-ArgumentCompleter -Native -CommandName 'poof'",
    );
    assert_contains(&powershell, "'poof;backup'");
    let elvish = poof_ok(&["completions", "elvish"]);
    assert_contains(&elvish, "set edit:completion:arg-completer[poof]");
    assert_contains(&elvish, "&'poof;backup'=");
}

/// The page names `poof man` takes, as its usage error lists them.
fn page_names() -> Vec<String> {
    let h = Home::new();
    let (_, err) = run_expect(h.poof().args(["man", "no-such-page"]), 2);
    let list = err
        .lines()
        .find_map(|l| l.trim().strip_prefix("[possible values: "))
        .unwrap_or_else(|| panic!("no list of pages: {err}"));
    list.trim_end_matches(']')
        .split(", ")
        .map(str::to_owned)
        .collect()
}

/// Checks one roff page: its title, the sections every page has, and, when groff is
/// installed, that it renders without a single warning.
fn check_page(roff: &str, title: &str, synopsis: &str) {
    let macros: Vec<&str> = roff.lines().filter(|l| l.starts_with('.')).collect();
    let th = macros
        .iter()
        .position(|l| l.starts_with(".TH "))
        .expect(".TH");
    assert!(
        macros[..th].iter().all(|l| !l.starts_with(".SH")),
        "a section before .TH:\n{roff}"
    );
    assert_eq!(
        macros[th],
        format!(".TH {title} 1  \"poof {}\" ", env!("CARGO_PKG_VERSION"))
    );
    let sections: Vec<&str> = macros
        .iter()
        .filter(|l| l.starts_with(".SH "))
        .copied()
        .collect();
    for needed in [".SH NAME", ".SH SYNOPSIS", ".SH DESCRIPTION", ".SH OPTIONS"] {
        assert!(sections.contains(&needed), "{needed} missing: {sections:?}");
    }
    let after_synopsis = roff.split(".SH SYNOPSIS\n").nth(1).unwrap();
    assert!(
        after_synopsis.starts_with(&format!("\\fB{synopsis}\\fR")),
        "{after_synopsis}"
    );
    {
        // groff renders the pages (the test command installs groff-base when missing).
        let mut groff = Command::new("groff")
            .args(["-man", "-Tutf8", "-ww", "-z"])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write;
        groff
            .stdin
            .take()
            .unwrap()
            .write_all(roff.as_bytes())
            .unwrap();
        let out = groff.wait_with_output().unwrap();
        assert!(out.status.success(), "groff failed on {title}");
        assert_eq!(
            String::from_utf8_lossy(&out.stderr),
            "",
            "groff warned on {title}"
        );
    }
}

#[test]
fn man_page_lists_every_command_and_renders_cleanly() {
    let roff = poof_ok(&["man"]);
    check_page(&roff, "poof", "poof");
    let commands = roff.split(".SH SUBCOMMANDS\n").nth(1).expect("commands");
    for command in COMMANDS {
        assert_contains(
            commands,
            &format!("\n{}(1)\n", format!("poof-{command}").replace('-', "\\-")),
        );
    }
    assert!(!commands.contains("poof\\-help(1)"), "no page for help");
    // The global flags, with the variable that sets --confdir.
    assert_contains(&roff, "\\fB\\-\\-confdir\\fR");
    assert_contains(&roff, "\\fBPOOF_CONFDIR\\fR");
}

#[test]
fn every_command_has_a_page_that_renders_cleanly() {
    let names = page_names();
    for command in COMMANDS {
        assert!(names.iter().any(|n| n == command), "{command} has no page");
    }
    assert!(names.iter().any(|n| n == "keys-export"));
    assert!(!names.iter().any(|n| n == "help" || n.ends_with("-help")));
    for name in &names {
        let roff = poof_ok(&["man", name]);
        check_page(
            &roff,
            &format!("poof-{name}"),
            &format!("poof {}", name.replace('-', " ")),
        );
    }
    // A command's own flags and the global ones.
    let backup = poof_ok(&["man", "backup"]);
    for flag in [
        "\\-\\-dry\\-run",
        "\\-\\-max\\-delete",
        "\\-\\-exclude",
        "\\-\\-confdir",
    ] {
        assert_contains(&backup, &format!("\\fB{flag}\\fR"));
    }
    assert_contains(&poof_ok(&["man", "keys-export"]), "\\fB\\-\\-reveal\\fR");
}

#[test]
fn unknown_shells_and_pages_are_usage_errors() {
    let h = Home::new();
    let (out, err) = run_expect(h.poof().args(["completions", "tcsh"]), 2);
    assert_eq!(out, "");
    assert_contains(&err, "invalid value 'tcsh'");
    assert_contains(
        &err,
        "[possible values: bash, elvish, fish, powershell, zsh]",
    );
    let (out, _) = run_expect(h.poof().arg("completions"), 2);
    assert_eq!(out, "");
    let (out, err) = run_expect(h.poof().args(["man", "backups"]), 2);
    assert_eq!(out, "");
    assert_contains(&err, "invalid value 'backups'");
    run_expect(h.poof().args(["man", "keys", "export"]), 2);
}

#[test]
fn a_closed_pipe_ends_the_output_quietly() {
    let h = Home::new();
    for args in [["completions", "bash"], ["man", "backup"]] {
        let mut child = h
            .poof()
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        drop(child.stdout.take());
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "{args:?}: {}", out.status);
        assert_eq!(String::from_utf8_lossy(&out.stderr), "", "{args:?}");
    }
}
