//! lnd's key model: networks, the BIP-32 root key, seed input and the
//! watch-only account export (see `../shared/spec/keys.md` and docs/keys.md).
//!
//! * [`Network`] — lnd networks and their coin types / version bytes.
//! * [`RootKey`] — the BIP-32 master private key with cached derivation.
//! * [`aezeed`] — lnd's aezeed cipher seed (24 words).

pub mod aezeed;
pub mod network;
pub mod root;

pub use network::{Network, UnknownNetwork};
pub use root::{format_path, RootKey, RootKeyError, HARDENED};

/// Re-export of the `bitcoin` crate version used by this crate's key types.
pub use bitcoin;
