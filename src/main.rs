//! poof (STUB).
fn main() {}
