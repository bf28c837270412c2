//! `lnd-web-signer` command-line tool.
fn main() {}
