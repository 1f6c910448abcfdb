//! `type = alias`: another location under a new name. `name:path` is the aliased remote's
//! location (`remote =`) joined with `path`.

use std::sync::Arc;

use anyhow::Result;

use super::backend::Backend;
use super::{named_remote, Below, Resolver, StorageType};
use crate::config::rclone::Section;

/// The `alias` line of [`super::TYPES`].
pub const TYPE: StorageType = StorageType {
    name: "alias",
    open,
    below,
    is_crypt: false,
};

fn open(resolver: &mut Resolver<'_>, section: &Section, path: &str) -> Result<Arc<dyn Backend>> {
    let target = resolver.target(section, "an alias", "points to")?;
    resolver.open(&target.join(path))
}

fn below(section: &Section, path: &str) -> Below {
    match named_remote(section) {
        Some(target) => Below::Location(target.join(path)),
        None => Below::Elsewhere,
    }
}
