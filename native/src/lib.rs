//! Native hosts of the lnd-web-signer core: command-line signer, signer-bridge
//! sidecar and watch-only simulator.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

/// gRPC service stubs (client and server) for the native hosts.
pub mod rpc {
    #![allow(
        missing_docs,
        missing_debug_implementations,
        clippy::all,
        clippy::pedantic
    )]
    /// `watchonlyrpc.WatchOnly` client and server.
    pub mod watchonlyrpc {
        tonic::include_proto!("watchonlyrpc");
    }
    /// `signerbridge.SignerBridge` client and server.
    pub mod signerbridge {
        tonic::include_proto!("signerbridge");
    }
}

/// TLS to lnd pinned to its self-signed certificate.
pub mod tls;

/// HTTP/2 keepalive towards lnd within its grpc-go ping policy.
pub mod keepalive;

/// Durations on the command lines.
pub mod duration;

/// `lnd-web-signer connect`: the native signer's stream client.
pub mod connect;

/// `signer-bridge`: Attach/Reply relay in front of lnd's signer stream.
pub mod bridge;

/// `watchonly-sim`: stand-in for lnd's watch-only side of the signer stream.
pub mod sim;

/// The `lnd-web-signer` command line (key commands, shared seed arguments).
pub mod cli;
