//! Command-line locations from arbitrary text: `Location::parse`, then what commands do with a
//! location (split off the leaf, join a relative path, print it) and its resolution into a
//! backend through a fixed config of local, alias and crypt sections. Errors are fine, panics
//! are not; errors are one line; a printed location parses back to itself.
//!
//! The input is the location, then optionally a NUL and the relative path to join. Resolving
//! does no I/O (a local backend only records its root; a crypt remote derives its keys), the
//! config has no s3 section, and its paths are below a folder of the temp dir that is never
//! created: nothing is read, written or sent.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use poof::config::rclone::RcloneConfig;
use poof::remote::{open_backend_with_warnings, Location};

fn config() -> &'static RcloneConfig {
    static CONFIG: OnceLock<RcloneConfig> = OnceLock::new();
    CONFIG.get_or_init(|| {
        let root = std::env::temp_dir().join("poof-fuzz-remote-path-never-created");
        let root = root.display();
        let pw = poof_crypt::obscure("fuzz");
        let text = format!(
            "[l]\ntype = local\n\n\
             [a]\ntype = alias\nremote = {root}/alias\n\n\
             [al]\ntype = alias\nremote = l:{root}/via-local\n\n\
             [c]\ntype = crypt\nremote = al:vault\npassword = {pw}\n\n\
             [c64]\ntype = crypt\nremote = c:inner\npassword = {pw}\n\
             filename_encoding = base64\ndirectory_name_encryption = false\n\n\
             [cobf]\ntype = crypt\nremote = a:obf\npassword = {pw}\nfilename_encryption = obfuscate\n\n\
             [coff]\ntype = crypt\nremote = {root}/off\npassword = {pw}\nfilename_encryption = off\n\n\
             [loop1]\ntype = alias\nremote = loop2:x\n\n\
             [loop2]\ntype = crypt\nremote = loop1:\npassword = {pw}\n\n\
             [plain]\ntype = crypt\nremote = l:{root}/p\npassword = not obscured\n\n\
             [dangling]\ntype = alias\nremote = absent:x\n\n\
             [notype]\nremote = l:x\n\n\
             [ftp]\ntype = ftp\n"
        );
        RcloneConfig::parse(&text).expect("the fixed config parses")
    })
}

/// Resolves `loc` (no I/O): a backend or a one-line error.
fn open(loc: &Location) {
    match open_backend_with_warnings(config(), loc) {
        Ok(opened) => {
            let _ = opened.backend.describe();
            for warning in &opened.warnings {
                assert!(!warning.contains('\n'), "{warning}");
            }
        }
        Err(e) => {
            let msg = format!("{e:#}");
            assert!(!msg.contains('\n'), "{msg}");
        }
    }
}

/// A remote location prints as text that parses back to it.
fn assert_prints_back(loc: &Location) {
    if let Location::Remote { .. } = loc {
        let shown = loc.to_string();
        assert_eq!(Location::parse(&shown).ok().as_ref(), Some(loc), "{shown:?}");
    }
}

fuzz_target!(|data: &[u8]| {
    let input = String::from_utf8_lossy(data);
    let (text, rel) = input.split_once('\0').unwrap_or((&input, ""));
    let loc = match Location::parse(text) {
        Ok(loc) => loc,
        Err(e) => {
            assert!(!format!("{e:#}").contains('\n'), "{e:#}");
            return;
        }
    };
    // What was parsed prints back as itself (a local path as the same path).
    assert_eq!(Location::parse(&loc.to_string()).ok().as_ref(), Some(&loc));

    if let Some((parent, leaf)) = loc.split_leaf() {
        assert!(!leaf.is_empty() && !leaf.contains('/'), "{loc:?} -> {leaf:?}");
        if let Location::Remote { path, .. } = &loc {
            if !path.contains("//") {
                assert_eq!(parent.join(&leaf), loc, "{parent:?} + {leaf:?}");
            }
        }
        assert_prints_back(&parent);
        open(&parent);
    }

    let joined = loc.join(rel);
    assert_prints_back(&joined);
    open(&loc);
    open(&joined);
});
