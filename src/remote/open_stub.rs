//! TEMPORARY stand-in for `remote::open_backend` until the storage layer lands on `main`; the
//! merge drops this file and its two lines in `remote/mod.rs`.
#![allow(dead_code)]

use std::sync::Arc;

use anyhow::{bail, Result};

use super::backend::Backend;
use super::Location;
use crate::config::rclone::RcloneConfig;

/// Opens the backend of a location (stub: always fails).
///
/// # Errors
/// Always, until the storage layer is merged.
pub fn open_backend(_config: &RcloneConfig, loc: &Location) -> Result<Arc<dyn Backend>> {
    bail!("{loc:?}: storage backends are not merged yet (temporary stub)")
}
