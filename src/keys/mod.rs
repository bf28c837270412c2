//! lnd's key model: networks, the BIP-32 root key, seed input and the
//! watch-only account export (see `../shared/spec/keys.md` and docs/keys.md).
//!
//! * [`Network`] — lnd networks and their coin types.
//! * [`RootKey`] — the BIP-32 master private key with cached derivation.
//! * [`SeedInput`] — aezeed words + passphrase, or an extended master key.
//! * [`accounts`] — the `lncli wallet accounts list` JSON for `createwatchonly`.
//! * [`aezeed`] — lnd's aezeed cipher seed (24 words).

pub mod accounts;
pub mod aezeed;
pub mod network;
pub mod path;
pub mod root;
pub mod seed;

pub use accounts::{accounts_json, AddressType};
pub use network::{Network, UnknownNetwork};
pub use path::{format_path, parse_path, PathError, HARDENED, LND_PURPOSE};
pub use root::{RootKey, RootKeyError};
pub use seed::{SeedError, SeedFileError, SeedInput};

/// Re-export of the `bitcoin` crate version used by this crate's key types.
pub use bitcoin;
