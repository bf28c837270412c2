//! Wire types generated from `proto/` (lnd's package and field numbering).
#![allow(
    missing_docs,
    missing_debug_implementations,
    clippy::all,
    clippy::pedantic
)]

/// `signrpc` messages embedded in the stream.
pub mod signrpc {
    tonic::include_proto!("signrpc");
}

/// `walletrpc` messages embedded in the stream.
pub mod walletrpc {
    tonic::include_proto!("walletrpc");
}

/// The `watchonlyrpc.WatchOnly` stream messages.
pub mod watchonlyrpc {
    tonic::include_proto!("watchonlyrpc");
}

/// Our signer-bridge service (Attach + Reply).
pub mod signerbridge {
    tonic::include_proto!("signerbridge");
}
