//! obscure / reveal (STUB: being written).
use crate::Result;
/// Obscures.
pub fn obscure(_plain: &str) -> String {
    todo!()
}
/// Obscures with a given IV.
pub fn obscure_with_iv(_plain: &str, _iv: [u8; 16]) -> String {
    todo!()
}
/// Reveals.
pub fn reveal(_obscured: &str) -> Result<String> {
    todo!()
}
