//! Running the `lnd-web-signer` binary in CLI tests.

use std::process::{Command, Output, Stdio};

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_lnd-web-signer");

/// Runs `lnd-web-signer ARGS` with no stdin and waits for it.
pub fn run(args: &[&dyn AsRef<std::ffi::OsStr>]) -> Output {
    Command::new(BIN)
        .args(args.iter().map(|a| a.as_ref()))
        .stdin(Stdio::null())
        .output()
        .expect("run lnd-web-signer")
}

/// Its stdout as text.
pub fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).expect("stdout is UTF-8")
}

/// Its stderr as text.
pub fn stderr(o: &Output) -> String {
    String::from_utf8(o.stderr.clone()).expect("stderr is UTF-8")
}

/// Asserts success, showing stderr otherwise.
pub fn ok(o: &Output) {
    assert!(
        o.status.success(),
        "expected success, got {:?}; stderr: {}",
        o.status,
        stderr(o)
    );
}
