//! `poof sync SOURCE DEST` and `poof copy SOURCE DEST`: rclone's sync and copy over poof's
//! backends.
//!
//! Both resolve their two locations into backends, run the sync engine ([`crate::sync`]) with a
//! progress reporter (a bar on a terminal, periodic lines otherwise, none with
//! `--no-progress` or `--quiet`) and always end with one summary line on stderr
//! ([`crate::progress::summary_line`]). `sync` deletes destination files missing from the
//! source; `copy` never deletes. A SOURCE naming a single file copies that file into DEST
//! under its own name, as rclone does, and deletes nothing there. The exit code is 0 only when
//! the run had no error at all. rclone's filter flags choose the files on both sides
//! ([`crate::filter`]): what they leave out is neither copied nor deleted, unless
//! `--delete-excluded` (sync only) deletes it from the destination.
//!
//! The rclone config file is read only when a location names a remote, so that syncing two
//! local folders needs no config file.

use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{bail, Context, Result};

use crate::bwlimit::Flow;
use crate::cli::{GlobalArgs, SyncArgs};
use crate::config::rclone::RcloneConfig;
use crate::config::Paths;
use crate::engine::{FolderReport, RunReport};
use crate::exit::{Code, WithCode};
use crate::progress::Progress;
use crate::remote::backend::{Backend, Entry};
use crate::remote::local::LocalBackend;
use crate::remote::view::View;
use crate::remote::{open_backend, Location};
use crate::sync::{SyncOptions, SyncStats};

/// Runs `sync` (`delete == true`) or `copy` (`delete == false`).
///
/// # Errors
/// Bad locations, an unreadable config file, a backend that cannot be opened, and the engine's
/// fatal errors (missing source, failed listing). Per-file failures are not errors here: they
/// make the exit code non-zero.
pub fn run(paths: &Paths, global: &GlobalArgs, args: &SyncArgs, delete: bool) -> Result<ExitCode> {
    let src_loc = Location::parse(&args.source).coded(Code::Usage)?;
    let dst_loc = Location::parse(&args.dest).coded(Code::Usage)?;
    if overlap(&src_loc, &dst_loc)? {
        bail!(
            "{} and {} overlap: cannot sync or copy a location into itself or a folder inside it",
            args.source,
            args.dest
        );
    }
    let config = load_config(paths, [&src_loc, &dst_loc])?;
    let runtime = crate::engine::runtime()?;
    let open_source = |loc: &Location| -> Result<Arc<dyn Backend>> {
        Ok(match loc {
            Location::Local(path) if args.copy_links => {
                Arc::new(LocalBackend::new(path.clone()).following_links(true))
            }
            _ => open_backend(&config, loc)
                .with_context(|| format!("cannot open the source {}", args.source))?,
        })
    };
    let mut dst = open_backend(&config, &dst_loc)
        .with_context(|| format!("cannot open the destination {}", args.dest))?;
    let src = match runtime.block_on(single_file(&src_loc, args.copy_links, &open_source))? {
        // A single file goes into DEST under its own name, and nothing else there is looked
        // at, let alone deleted (as rclone).
        Some((parent, entry)) => {
            dst = Arc::new(View::only(dst, entry.path.clone(), None));
            Arc::new(View::only(parent, entry.path.clone(), Some(entry))) as Arc<dyn Backend>
        }
        None => open_source(&src_loc)?,
    };
    let opts = SyncOptions {
        checksum: args.checksum,
        delete,
        filter: Arc::new(args.run.filter.build()?),
        delete_excluded: args.delete_excluded,
        flow: Flow::between(is_remote(&src_loc), is_remote(&dst_loc)),
        ..args.run.options(global)?.sync
    };
    let progress = Progress::for_run(args.run.no_progress, global.quiet);
    let started = jiff::Timestamp::now();
    let outcome = runtime.block_on(crate::sync::sync(
        src.as_ref(),
        dst.as_ref(),
        &opts,
        &progress,
    ));
    progress.finish();
    if args.run.json {
        let pair = FolderReport::of_pair(
            &args.source,
            &args.dest,
            outcome.as_ref(),
            progress.elapsed(),
        );
        let command = if delete { "sync" } else { "copy" };
        let failed = SyncStats {
            errors: 1,
            ..SyncStats::default()
        };
        let (code, totals) = match &outcome {
            Ok(stats) => (stats.code(), stats),
            Err(err) => (Code::of(err), &failed),
        };
        let report = RunReport::new(
            command,
            started,
            progress.elapsed(),
            args.run.dry_run,
            code,
            vec![pair],
            totals,
        );
        println!("{}", report.to_json());
    }
    let stats = match outcome {
        Ok(stats) => stats,
        Err(err) => {
            let failed = SyncStats {
                errors: 1,
                ..SyncStats::default()
            };
            say!("{}", failed.summary(progress.elapsed()));
            return Err(err);
        }
    };
    if args.run.dry_run {
        say!("{}", stats.dry_run_notice(""));
    }
    say!("{}", stats.summary(progress.elapsed()));
    Ok(stats.code().into())
}

/// When `loc` names a single file (not a folder): the backend of its parent folder and the
/// file's entry (its path is the file name). A local path is looked at directly; a remote one
/// costs one `stat` of the last segment.
///
/// # Errors
/// The parent cannot be opened or its `stat` fails; a local FIFO, socket or device; a local
/// link to a file without `--copy-links`.
async fn single_file(
    loc: &Location,
    copy_links: bool,
    open: &dyn Fn(&Location) -> Result<Arc<dyn Backend>>,
) -> Result<Option<(Arc<dyn Backend>, Entry)>> {
    if let Location::Local(path) = loc {
        // The root of a local source may be a link to a folder; a link to a file is followed
        // only with --copy-links, as every link below the root.
        let Ok(meta) = std::fs::metadata(path) else {
            return Ok(None);
        };
        let is_link = std::fs::symlink_metadata(path).is_ok_and(|meta| meta.is_symlink());
        if meta.is_file() && is_link && !copy_links {
            bail!(
                "{}: a symbolic link to a file, followed only with --copy-links (-L); nothing changed",
                path.display()
            );
        }
        if !meta.is_file() && !meta.is_dir() {
            bail!(
                "{}: not a regular file or folder; nothing changed",
                path.display()
            );
        }
        if !meta.is_file() {
            return Ok(None);
        }
    }
    let Some((parent, leaf)) = loc.split_leaf() else {
        return Ok(None);
    };
    let parent = open(&parent)?;
    let found = parent
        .stat(&leaf)
        .await
        .with_context(|| format!("cannot read the source {leaf} in {}", parent.describe()))?;
    match found {
        Some(entry) if !entry.is_dir() => Ok(Some((parent, entry))),
        _ => Ok(None),
    }
}

/// A location names a remote (`name:path`): copies towards it are uploads, from it
/// downloads, as `--bwlimit` counts them.
fn is_remote(loc: &Location) -> bool {
    matches!(loc, Location::Remote { .. })
}

/// One location is the other or inside it (as rclone, poof refuses to sync those): two local
/// paths (made absolute, symlinks resolved where they exist), or two paths of one remote. A
/// crypt remote over a local folder is not seen through.
///
/// # Errors
/// The current directory cannot be read.
fn overlap(a: &Location, b: &Location) -> Result<bool> {
    Ok(match (a, b) {
        (Location::Local(a), Location::Local(b)) => {
            let (a, b) = (resolved(a)?, resolved(b)?);
            a.starts_with(&b) || b.starts_with(&a)
        }
        (Location::Remote { name: n1, path: p1 }, Location::Remote { name: n2, path: p2 }) => {
            n1 == n2 && (inside(p1, p2) || inside(p2, p1))
        }
        _ => false,
    })
}

/// `path` made absolute, with symlinks resolved when it exists.
fn resolved(path: &std::path::Path) -> Result<std::path::PathBuf> {
    match path.canonicalize() {
        Ok(real) => Ok(real),
        Err(_) => {
            std::path::absolute(path).with_context(|| format!("cannot resolve {}", path.display()))
        }
    }
}

/// `path` is `dir` or below it, segment by segment (`""` is the root).
fn inside(path: &str, dir: &str) -> bool {
    dir.is_empty()
        || path == dir
        || path
            .strip_prefix(dir)
            .is_some_and(|rest| rest.starts_with('/'))
}

/// The rclone config file (with rclone's `RCLONE_CONFIG_<REMOTE>_<KEY>` overrides) when a
/// location names a remote; an empty config for two local paths
/// (so that no config file is needed then).
fn load_config(paths: &Paths, locations: [&Location; 2]) -> Result<RcloneConfig> {
    let needs_remotes = locations
        .iter()
        .any(|loc| matches!(loc, Location::Remote { .. }));
    if needs_remotes {
        let mut config = RcloneConfig::load(&paths.rcloneconf).coded(Code::Usage)?;
        config.apply_process_env_overrides();
        Ok(config)
    } else {
        Ok(RcloneConfig::parse("")?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_local_paths_overlap() {
        let a = Location::Local("/tmp/poof-overlap/a".into());
        let b = Location::Local("/tmp/poof-overlap/a/b".into());
        assert!(overlap(&a, &b).unwrap());
        assert!(overlap(&b, &a).unwrap());
    }

    #[test]
    fn sibling_local_paths_with_common_prefix_do_not_overlap() {
        let a = Location::Local("/tmp/poof-overlap/a".into());
        let b = Location::Local("/tmp/poof-overlap/ab".into());
        assert!(!overlap(&a, &b).unwrap());
    }

    #[test]
    fn remote_paths_overlap_by_segment() {
        assert!(overlap(
            &Location::remote("s3", "b/dir"),
            &Location::remote("s3", "b/dir/sub")
        )
        .unwrap());
        assert!(overlap(&Location::remote("s3", ""), &Location::remote("s3", "b")).unwrap());
        assert!(!overlap(
            &Location::remote("s3", "b/dir"),
            &Location::remote("s3", "b/dir2")
        )
        .unwrap());
        assert!(!overlap(
            &Location::remote("s3", "b"),
            &Location::remote("other", "b")
        )
        .unwrap());
    }
}
