//! Encrypted rclone config files (STUB: being written).
