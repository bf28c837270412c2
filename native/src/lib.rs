//! Native hosts of the lnd-web-signer core: command-line signer, signer-bridge
//! sidecar and watch-only simulator.
#![forbid(unsafe_code)]
