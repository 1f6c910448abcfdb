//! Configuration files: rclone's `rclone.conf`.
//!
//! TEMPORARY module file so `rclone.rs` compiles on its own branch; the lead replaces it.
#![allow(dead_code)]

pub mod rclone;
