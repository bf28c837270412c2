//! The native crate's integration tests, one binary (one link on CI's two
//! cores): the signer-bridge (gRPC, grpc-web, batching, limits, Envoy's
//! config), the CLI (bundle, handle, keys, musig2), `connect` and its
//! liveness, the native end-to-end run with faults, the fuzz regressions and
//! the simulator. A test's name starts with its module, so
//! `cargo test -p lnd-web-signer-native --test integration bridge_limits::`
//! runs one area. The real-lnd suite and its benchmark are binaries of their
//! own (`itest_lnd`, `bench_lnd`), run by `scripts/itest-lnd.sh` and
//! `scripts/bench-lnd.sh`.

mod support {
    pub mod bridge;
    pub mod cli;
    pub mod connect;
    pub mod e2e;
    pub mod sim;
}

mod bridge;
mod bridge_batch;
mod bridge_cli;
mod bridge_envoy;
mod bridge_grpcweb;
mod bridge_limits;
mod bridge_ws;
mod cli_bundle;
mod cli_handle;
mod cli_keys;
mod cli_musig2;
mod cli_policy;
mod connect;
mod connect_cli;
mod e2e_native;
mod fuzz_regressions;
mod liveness;
mod sim_protocol;
mod sim_scenarios;
