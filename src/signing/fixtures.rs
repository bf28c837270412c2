//! Deterministic example requests (benchmarks, demos).
