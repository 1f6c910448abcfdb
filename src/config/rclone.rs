//! rclone config files (STUB: being written).
#![allow(missing_docs, dead_code)]
use std::path::Path;

use zeroize::Zeroizing;

#[derive(Debug)]
pub struct ConfigError(String);
impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}
impl std::error::Error for ConfigError {}

pub struct RcloneConfig {}
pub struct Section {}

impl RcloneConfig {
    pub fn parse(_text: &str) -> Result<RcloneConfig, ConfigError> {
        todo!()
    }
    pub fn load(_path: &Path) -> Result<RcloneConfig, ConfigError> {
        todo!()
    }
    pub fn section(&self, _name: &str) -> Option<&Section> {
        todo!()
    }
}

impl Section {
    pub fn name(&self) -> &str {
        todo!()
    }
    pub fn get(&self, _key: &str) -> Option<&str> {
        todo!()
    }
    pub fn get_revealed(&self, _key: &str) -> Result<Option<Zeroizing<String>>, ConfigError> {
        todo!()
    }
    pub fn get_bool(&self, _key: &str) -> Result<Option<bool>, ConfigError> {
        todo!()
    }
}
