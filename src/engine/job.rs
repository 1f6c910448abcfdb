//! A [`Job`]: poof.conf and rclone-poof.conf loaded and checked together, and the [`Folder`]s
//! of poof.conf's `paths` with the two sides of each.
//!
//! The local side of a folder is a [`LocalBackend`] (with the run lock hidden when the folder
//! holds poof's config folder, see [`View::hiding`]), the cloud side whatever
//! [`open_backend`] makes of its target (`remote:bucket/clouddir` or `remote:clouddir`, see
//! [`PoofConfig::target`]).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use jiff::Timestamp;
use tokio::sync::OnceCell;

use crate::bwlimit::Limiter;
use crate::config::poof::PoofConfig;
use crate::config::rclone::RcloneConfig;
use crate::config::Paths;
use crate::exit::{Code, WithCode};
use crate::history::{versions_dir, RunName, HISTORY_DIR};
use crate::lock::{RunLock, LOCK_FILE};
use crate::remote::backend::Backend;
use crate::remote::local::LocalBackend;
use crate::remote::view::View;
use crate::remote::{is_crypt, local_folder, open_backend, Location};
use crate::sync::Keep;

/// poof.conf and rclone-poof.conf, loaded and checked together.
pub struct Job {
    /// Where the files are.
    pub paths: Paths,
    /// poof.conf.
    pub conf: PoofConfig,
    /// rclone-poof.conf, with rclone's environment overrides applied.
    pub rclone: RcloneConfig,
    /// poof.conf's remote is a crypt remote.
    pub is_crypt: bool,
    /// When the job was loaded: the run's start.
    started: Timestamp,
    /// The root the history lives in and the run's name in it, once chosen ([`Job::keep`]).
    history: OnceCell<(Arc<dyn Backend>, RunName)>,
    /// The buckets of poof.conf's `"bwlimit"`, shared by every folder of the run.
    bwlimit: Option<Limiter>,
}

/// One folder of poof.conf's `paths`.
#[derive(Debug, Clone)]
pub struct Folder {
    /// The local folder.
    pub local: PathBuf,
    /// Its name in the cloud.
    pub cloud: String,
    /// Where it is backed up, e.g. `poof-crypt:Documents`.
    pub target: String,
    /// It is the config folder (holding the crypt keys and the run lock).
    pub is_confdir: bool,
    /// Where the config folder is inside this folder: `Some("")` when it is the config
    /// folder, `Some("a/b")` when the config folder is `a/b` below it, else `None`.
    pub confdir_rel: Option<String>,
}

impl Folder {
    /// `local -> target`, the name of the folder in messages.
    pub fn label(&self) -> String {
        format!("{} -> {}", self.local.display(), self.target)
    }
}

impl Job {
    /// The bandwidth limits of a folder run: `--bwlimit` when given (even `off`), else
    /// poof.conf's `"bwlimit"`; the same buckets for every folder of the run.
    pub fn bwlimit(&self, run: &super::folder::RunOptions) -> Option<Limiter> {
        run.sync.bwlimit.clone().or_else(|| self.bwlimit.clone())
    }

    /// The filter of `folder` for a run: the command line's rules joined to poof.conf's
    /// ([`PoofConfig::filter_spec`]), printed first with `--dump filters`.
    ///
    /// # Errors
    /// A rule or a rules file that cannot be read or parsed.
    pub fn filter(
        &self,
        folder: &Folder,
        run: &super::folder::RunOptions,
    ) -> Result<Arc<crate::filter::Filter>> {
        let spec = self.conf.filter_spec(&folder.local, &run.filter);
        let filter =
            crate::filter::Filter::new(&spec, std::time::SystemTime::now()).coded(Code::Usage)?;
        if run.dump_filters {
            println!("{}:\n{}", folder.label(), filter.dump());
        }
        Ok(Arc::new(filter))
    }

    /// Loads both config files and checks that poof.conf's remote is defined.
    ///
    /// # Errors
    /// A missing or broken file (one line naming file, key and fix), or a `remote` of
    /// poof.conf that rclone-poof.conf does not define.
    pub fn load(paths: &Paths) -> Result<Job> {
        Job::read(paths).coded(Code::Usage)
    }

    /// [`Job::load`], its errors unmarked.
    fn read(paths: &Paths) -> Result<Job> {
        let conf = PoofConfig::load(&paths.poofconf)?;
        let mut rclone = RcloneConfig::load(&paths.rcloneconf)?;
        rclone.apply_process_env_overrides();
        let Some(section) = rclone.section(&conf.remote) else {
            bail!(
                "{}: key \"remote\" = {:?} is not a remote of {}; add that section or set \"remote\" to one of its remotes",
                paths.poofconf.display(),
                conf.remote,
                paths.rcloneconf.display()
            );
        };
        let is_crypt = is_crypt(section);
        let bwlimit = conf.bandwidth.as_ref().map(Limiter::new);
        Ok(Job {
            paths: paths.clone(),
            conf,
            rclone,
            is_crypt,
            started: Timestamp::now(),
            history: OnceCell::new(),
            bwlimit,
        })
    }

    /// The folders of poof.conf, in its (sorted) order.
    pub fn folders(&self) -> Vec<Folder> {
        let confdir = real(&self.paths.confdir);
        self.conf
            .local_paths()
            .map(|(local, cloud)| {
                let confdir_rel = relative(&confdir, &real(&local));
                Folder {
                    is_confdir: confdir_rel.as_deref() == Some(""),
                    confdir_rel,
                    target: self.conf.target(cloud, self.is_crypt),
                    cloud: cloud.to_owned(),
                    local,
                }
            })
            .collect()
    }

    /// The folder of poof.conf a path names, and the path below it (`""`: the whole folder):
    /// a local path inside one of the local folders (it need not exist any more), else
    /// `<cloud folder>/<path>`. The deepest folder that holds it wins.
    ///
    /// # Errors
    /// The path is in no folder of poof.conf, or climbs out of it with `..`.
    pub fn locate(&self, path: &str) -> Result<(Folder, String)> {
        let folders = self.folders();
        // `..` is resolved by the names alone: the file may be gone, with nothing to resolve
        // it against.
        let local = std::path::absolute(path).ok().map(|abs| {
            let mut clean = PathBuf::new();
            for part in abs.components() {
                match part {
                    std::path::Component::ParentDir => {
                        clean.pop();
                    }
                    std::path::Component::CurDir => {}
                    other => clean.push(other),
                }
            }
            clean
        });
        let in_local = local.as_deref().and_then(|abs| {
            folders
                .iter()
                .filter_map(|f| {
                    let rel = relative(abs, &f.local)
                        .or_else(|| relative(&real(abs), &real(&f.local)))?;
                    Some((f, rel))
                })
                .max_by_key(|(f, _)| f.local.components().count())
        });
        let found = in_local.or_else(|| {
            folders
                .iter()
                .filter_map(|f| {
                    let rest = path.strip_prefix(f.cloud.as_str())?;
                    let rest = match rest.strip_prefix('/') {
                        Some(rest) => rest,
                        None if rest.is_empty() => rest,
                        None => return None,
                    };
                    Some((f, rest.trim_end_matches('/').to_owned()))
                })
                .max_by_key(|(f, _)| f.cloud.len())
        });
        let Some((folder, rel)) = found else {
            bail!(
                "{path:?} is neither inside a folder of {} nor <cloud folder>/<path> (cloud folders: {})",
                self.paths.poofconf.display(),
                folders.iter().map(|f| f.cloud.as_str()).collect::<Vec<_>>().join(", ")
            );
        };
        if rel.split('/').any(|part| part == ".." || part == ".") {
            bail!("{path:?}: a path below a folder may not hold . or .. components");
        }
        Ok((folder.clone(), rel))
    }

    /// The local side of `folder`, rooted at `dir` (its folder, or a restore folder). Backups
    /// follow symbolic links, as the original tool's `rclone -L` did; restores and upload's
    /// deletes never do, so they cannot reach outside the folder.
    pub fn local_backend(
        &self,
        folder: &Folder,
        dir: &Path,
        follow_links: bool,
    ) -> Arc<dyn Backend> {
        let local = LocalBackend::new(dir.to_path_buf()).following_links(follow_links);
        hide_lock(folder, dir, local)
    }

    /// The local side of `folder` restored into `base/<cloud folder>` (`download --to`):
    /// `base` is trusted as the user named it, the cloud folder's components below it are
    /// not (a symbolic link there is refused, as one deeper down).
    ///
    /// # Errors
    /// The cloud folder is not a clean relative path.
    pub fn restore_backend(&self, folder: &Folder, base: &Path) -> Result<Arc<dyn Backend>> {
        let local = LocalBackend::below(base, &folder.cloud)?;
        let dir = local.root().to_path_buf();
        Ok(hide_lock(folder, &dir, local))
    }

    /// The cloud side of `folder`.
    ///
    /// # Errors
    /// The target's remote cannot be opened (one line naming the section and key).
    pub fn remote_backend(&self, folder: &Folder) -> Result<Arc<dyn Backend>> {
        let loc = Location::parse(&folder.target)?;
        open_backend(&self.rclone, &loc).with_context(|| {
            format!(
                "{}: cannot open the target {}",
                self.paths.rcloneconf.display(),
                folder.target
            )
        })
    }

    /// Where the versions the backup of `folder` replaces or deletes go, when poof.conf keeps
    /// a history: the root the cloud folders live in (the crypt remote's root, or the bucket of
    /// a plain remote), the folder's place in it, and its folder of history for this run.
    ///
    /// # Errors
    /// The root cannot be opened.
    pub async fn keep(&self, folder: &Folder) -> Result<Option<(Keep, RunName)>> {
        if self.conf.keep().is_none() {
            return Ok(None);
        }
        // The root is opened (a crypt remote derives its keys) and the run named once per run.
        let (root, run) = self
            .history
            .get_or_try_init(|| async {
                let root = self.history_root()?;
                if !root.features().server_side_move {
                    bail!(
                        "{}: {} cannot move files on its own, which keeping a history needs; set \"history\": false in {} for a mirror",
                        self.paths.rcloneconf.display(),
                        root.describe(),
                        self.paths.poofconf.display()
                    );
                }
                let run = self.run_name(root.as_ref()).await?;
                Ok::<_, anyhow::Error>((root, run))
            })
            .await?;
        let keep = Keep {
            root: Arc::clone(root),
            from: folder.cloud.clone(),
            to: versions_dir(*run, &folder.cloud),
        };
        Ok(Some((keep, *run)))
    }

    /// The root the cloud folders and their history live in: the crypt remote's root, or the
    /// bucket of a plain remote.
    ///
    /// # Errors
    /// The remote cannot be opened.
    pub fn history_root(&self) -> Result<Arc<dyn Backend>> {
        let root = Location::parse(&self.conf.target("", self.is_crypt))?;
        open_backend(&self.rclone, &root).with_context(|| {
            format!(
                "{}: cannot open the remote {}",
                self.paths.rcloneconf.display(),
                self.conf.remote
            )
        })
    }

    /// The name of this run in the history: its start, or one second after the newest run
    /// already there when that is not earlier (two runs in one second, or a clock set back),
    /// so that run names only grow and no run writes into another's folder.
    ///
    /// # Errors
    /// The history cannot be listed.
    async fn run_name(&self, root: &dyn Backend) -> Result<RunName> {
        let run = RunName::at(self.started);
        let listed = root
            .list(HISTORY_DIR, false)
            .await
            .with_context(|| format!("cannot list {HISTORY_DIR} in {}", root.describe()))?;
        let newest = listed
            .into_iter()
            .flat_map(|listing| listing.entries)
            .filter_map(|entry| entry.name().parse::<RunName>().ok())
            .max();
        Ok(match newest {
            Some(newest) if newest >= run => newest.next(),
            _ => run,
        })
    }

    /// The root of poof.conf's remote when it is a crypt remote (to tell wrong keys from a
    /// folder never backed up).
    ///
    /// # Errors
    /// The remote cannot be opened.
    pub fn crypt_root(&self) -> Result<Option<Arc<dyn Backend>>> {
        if !self.is_crypt {
            return Ok(None);
        }
        let loc = Location::Remote {
            name: self.conf.remote.clone(),
            path: String::new(),
        };
        Ok(Some(open_backend(&self.rclone, &loc)?))
    }

    /// The local folder a target is stored in, when its remote chain ends in a local path
    /// (see [`local_folder`]).
    pub fn local_root(&self, target: &str) -> Option<PathBuf> {
        local_folder(&self.rclone, &Location::parse(target).ok()?)
    }

    /// Takes the run lock of the config folder (or of poof.conf's folder when the config
    /// folder does not exist).
    ///
    /// # Errors
    /// Another poof runs on the same config, or the lock file cannot be made.
    pub fn lock(&self) -> Result<RunLock> {
        let dir = if self.paths.confdir.is_dir() {
            self.paths.confdir.clone()
        } else {
            match self.paths.poofconf.parent() {
                Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
                _ => PathBuf::from("."),
            }
        };
        RunLock::acquire(&dir)
    }
}

/// `local`, with the run lock and the status file hidden when `dir` is the folder that holds
/// poof's config: the lock is never copied, and the status, rewritten at the end of each run,
/// would be a new version in the history at every backup.
fn hide_lock(folder: &Folder, dir: &Path, local: LocalBackend) -> Arc<dyn Backend> {
    match &folder.confdir_rel {
        Some(rel) if dir == folder.local => {
            let lock = View::hiding(Arc::new(local), join_rel(rel, LOCK_FILE));
            Arc::new(View::hiding(
                Arc::new(lock),
                join_rel(rel, super::report::STATUS_FILE),
            ))
        }
        _ => Arc::new(local),
    }
}

/// `path` below `root` as a `/`-separated relative path (`""` when they are the same), or
/// `None` when it is not below it (or not UTF-8).
pub fn relative(path: &Path, root: &Path) -> Option<String> {
    let rel = path.strip_prefix(root).ok()?;
    let parts: Option<Vec<&str>> = rel.components().map(|c| c.as_os_str().to_str()).collect();
    Some(parts?.join("/"))
}

/// Joins a relative directory (maybe `""`) and a name.
fn join_rel(dir: &str, name: &str) -> String {
    if dir.is_empty() {
        name.to_owned()
    } else {
        format!("{dir}/{name}")
    }
}

/// `path` with symbolic links resolved when it exists, else made absolute.
pub fn real(path: &Path) -> PathBuf {
    path.canonicalize()
        .or_else(|_| std::path::absolute(path))
        .unwrap_or_else(|_| path.to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_paths_of_the_config_folder() {
        let root = Path::new("/home/a");
        assert_eq!(relative(root, root).as_deref(), Some(""));
        assert_eq!(
            relative(Path::new("/home/a/.config/poof"), root).as_deref(),
            Some(".config/poof")
        );
        assert_eq!(relative(Path::new("/home/ab"), root), None);
    }
}
