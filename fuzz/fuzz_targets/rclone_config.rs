//! rclone config files from arbitrary bytes (converted lossily to text), then what a command
//! does with a parsed config: every key read raw, as a boolean and as an obscured password, the
//! file written back plain and masked, environment overrides applied. Errors are fine, panics
//! are not; error messages are one line; and whatever parses must write back to text that
//! parses to the same sections and values, masked or not, before and after the overrides.
#![no_main]

use libfuzzer_sys::fuzz_target;
use poof::config::rclone::{is_secret_key, RcloneConfig, ENV_OVERRIDE_PREFIX, MASK};

/// Sections and their `(key, value)` pairs, in order.
type Shape = Vec<(String, Vec<(String, String)>)>;

fn shape(config: &RcloneConfig) -> Shape {
    config
        .sections()
        .map(|s| {
            let entries = s.entries().map(|(k, v)| (k.to_owned(), v.to_owned()));
            (s.name().to_owned(), entries.collect())
        })
        .collect()
}

/// Parses `text`, which must succeed and give `expected`.
fn assert_reparses(text: &str, expected: &Shape, what: &str) {
    match RcloneConfig::parse(text) {
        Ok(again) => assert_eq!(&shape(&again), expected, "{what} of {expected:?}: {text:?}"),
        Err(e) => panic!("{what} does not parse back ({e}): {text:?}"),
    }
}

/// Reads every key of every section the ways commands do.
fn read_every_key(config: &RcloneConfig) {
    for section in config.sections() {
        for (key, value) in section.entries() {
            assert_eq!(section.get(key), Some(value));
            if let Err(e) = section.get_bool(key) {
                assert!(!e.to_string().contains('\n'), "{e}");
            }
            if let Err(e) = section.get_revealed(key) {
                assert!(!e.to_string().contains('\n'), "{e}");
            }
        }
    }
}

/// The writer's round trips: plain, and masked (secret values become `***`, nothing else
/// changes).
fn check_written(config: &RcloneConfig, what: &str) {
    let expected = shape(config);
    assert_reparses(&config.to_ini(), &expected, what);
    let masked: Shape = expected
        .iter()
        .map(|(name, entries)| {
            let entries = entries.iter().map(|(k, v)| {
                let shown = if !v.is_empty() && is_secret_key(k) {
                    MASK
                } else {
                    v
                };
                (k.clone(), shown.to_owned())
            });
            (name.clone(), entries.collect())
        })
        .collect();
    assert_reparses(&config.to_masked_ini(), &masked, what);
}

/// `RCLONE_CONFIG_<NAME>_<KEY>` variables derived from the config and the input: one per
/// existing key (a value with a line break that tries to inject a section), one new key per
/// section, and a new remote named after the input's first line.
fn env_vars(config: &RcloneConfig, text: &str) -> Vec<(String, String)> {
    let first_line = text.lines().next().unwrap_or("");
    let mut vars = Vec::new();
    for section in config.sections() {
        let name = section.name().to_uppercase();
        for (key, _) in section.entries() {
            vars.push((
                format!("{ENV_OVERRIDE_PREFIX}{name}_{}", key.to_uppercase()),
                format!(" {first_line}\n[injected]\ntype = local "),
            ));
        }
        vars.push((format!("{ENV_OVERRIDE_PREFIX}{name}_NEW_KEY"), "`x`".to_owned()));
    }
    let remote = first_line.to_uppercase();
    vars.push((format!("{ENV_OVERRIDE_PREFIX}{remote}_TYPE"), "alias".to_owned()));
    vars.push((format!("{ENV_OVERRIDE_PREFIX}{remote}_REMOTE"), first_line.to_owned()));
    vars
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut config = match RcloneConfig::parse(&text) {
        Ok(config) => config,
        Err(e) => {
            assert!(!e.to_string().contains('\n'), "{e}");
            return;
        }
    };
    read_every_key(&config);
    check_written(&config, "to_ini");

    let vars = env_vars(&config, &text);
    config.apply_env_overrides(vars.into_iter());
    read_every_key(&config);
    check_written(&config, "to_ini after env overrides");
});
