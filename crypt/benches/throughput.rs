//! Throughput benches (STUB: being written).
fn main() {}
