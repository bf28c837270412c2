//! The fuzz targets' checks (`fuzz/src/checks.rs`, compiled here as a
//! module) on stable Rust in the normal test suite:
//!
//! * every input kept in `fuzz/regressions/<target>/` — what the fuzzers
//!   found, kept after the fix — must pass its target's check;
//! * every committed seed in `fuzz/seeds/<target>/` too (a cheap smoke of
//!   each target without a nightly toolchain).
//!
//! `scripts/fuzz.sh` runs the real fuzzers (docs/testing.md, "Fuzzing").

#[allow(dead_code, clippy::unwrap_used)]
#[path = "../../../fuzz/src/checks.rs"]
mod checks;

use std::path::{Path, PathBuf};

type Check = fn(&[u8]);

const TARGETS: &[(&str, Check)] = &[
    ("grpcweb_frames", checks::grpcweb_frames),
    ("bridge_split", checks::bridge_split),
    ("signer_handle", checks::signer_handle),
    ("aezeed_mnemonic", checks::aezeed_mnemonic),
    ("vault_open", checks::vault_open),
    ("handle_line", checks::handle_line),
];

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz")
}

fn inputs(kind: &str, target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let dir = fuzz_dir().join(kind).join(target);
    let Ok(rd) = std::fs::read_dir(&dir) else {
        return Vec::new();
    };
    let mut out: Vec<(PathBuf, Vec<u8>)> = rd
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_file() && p.file_name().is_some_and(|n| n != "README.md"))
        .map(|p| {
            let bytes = std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
            (p, bytes)
        })
        .collect();
    out.sort();
    out
}

fn run_all(kind: &str) -> usize {
    let mut n = 0;
    for (target, check) in TARGETS {
        for (path, bytes) in inputs(kind, target) {
            let r = std::panic::catch_unwind(|| check(&bytes));
            assert!(
                r.is_ok(),
                "{target}: {} fails its check again",
                path.display()
            );
            n += 1;
        }
    }
    n
}

#[test]
fn kept_fuzz_findings_pass_their_checks() {
    let n = run_all("regressions");
    assert!(n > 0, "no kept inputs under fuzz/regressions/");
}

#[test]
fn committed_fuzz_seeds_pass_their_checks() {
    let n = run_all("seeds");
    assert!(n >= TARGETS.len(), "only {n} seeds under fuzz/seeds/");
    for (target, _) in TARGETS {
        assert!(!inputs("seeds", target).is_empty(), "no seeds for {target}");
    }
}
