//! rclone filter rules (`poof::filter`) from arbitrary text: each line a `--filter` rule, an
//! `--include` and an `--exclude` pattern. A rule set either compiles or is refused with an
//! error naming the rule; a compiled one answers for arbitrary paths. Panics are failures;
//! nothing is read or written.
#![no_main]

use libfuzzer_sys::fuzz_target;
use poof::filter::{Filter, Spec};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let lines: Vec<String> = text.lines().map(str::to_owned).collect();
    let now = std::time::SystemTime::UNIX_EPOCH;
    for spec in [
        Spec {
            filter: lines.clone(),
            ..Spec::default()
        },
        Spec {
            include: lines.clone(),
            ignore_case: true,
            ..Spec::default()
        },
        Spec {
            exclude: lines.clone(),
            ..Spec::default()
        },
    ] {
        match Filter::new(&spec, now) {
            Ok(filter) => {
                for path in &lines {
                    let _ = filter.file(path, path.len() as u64, Some(now));
                    let _ = filter.dir(path.trim_end_matches('/'));
                }
                let _ = filter.dump();
            }
            Err(err) => {
                let message = format!("{err:#}");
                assert!(
                    message.contains("--filter")
                        || message.contains("--include")
                        || message.contains("--exclude"),
                    "{message}"
                );
            }
        }
    }
});
