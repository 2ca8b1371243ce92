//! The `sealpost` command.
fn main() {}
