//! The networks lnd runs on and their key-derivation constants (keys.md §4.1, §5.3).

use core::fmt;
use core::str::FromStr;

/// A network lnd can run on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Network {
    /// Bitcoin mainnet.
    Mainnet,
    /// testnet3.
    Testnet3,
    /// testnet4.
    Testnet4,
    /// signet.
    Signet,
    /// regtest.
    Regtest,
    /// btcd's simnet.
    Simnet,
}

/// Error of [`Network::from_str`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown network \"{0}\" (expected one of mainnet, testnet, testnet4, signet, regtest, simnet)"
)]
pub struct UnknownNetwork(pub String);

impl Network {
    /// Every network, in the order of the enum.
    pub const ALL: [Network; 6] = [
        Network::Mainnet,
        Network::Testnet3,
        Network::Testnet4,
        Network::Signet,
        Network::Regtest,
        Network::Simnet,
    ];

    /// Coin type of lnd's keychain (purpose 1017) scope: 0 on mainnet, 1 elsewhere.
    pub fn lnd_coin_type(self) -> u32 {
        match self {
            Network::Mainnet => 0,
            _ => 1,
        }
    }

    /// The chain's `HDCoinType` (0 mainnet, 1 test networks, 115 simnet). Only
    /// used by the watch-only node for simnet 1017 PSBT paths (keys.md §4.1).
    pub fn hd_coin_type(self) -> u32 {
        match self {
            Network::Mainnet => 0,
            Network::Simnet => 115,
            _ => 1,
        }
    }

    /// lnd's network name (`--network` value): mainnet, testnet, testnet4,
    /// signet, regtest, simnet.
    pub fn name(self) -> &'static str {
        match self {
            Network::Mainnet => "mainnet",
            Network::Testnet3 => "testnet",
            Network::Testnet4 => "testnet4",
            Network::Signet => "signet",
            Network::Regtest => "regtest",
            Network::Simnet => "simnet",
        }
    }

    /// Mainnet or test-network family (selects `xprv`/`tprv` style version bytes
    /// in rust-bitcoin; simnet counts as a test network).
    pub fn network_kind(self) -> bitcoin::NetworkKind {
        match self {
            Network::Mainnet => bitcoin::NetworkKind::Main,
            _ => bitcoin::NetworkKind::Test,
        }
    }

    /// The rust-bitcoin network, for address encoding; `None` for simnet,
    /// which rust-bitcoin does not know.
    pub fn bitcoin_network(self) -> Option<bitcoin::Network> {
        match self {
            Network::Mainnet => Some(bitcoin::Network::Bitcoin),
            Network::Testnet3 => Some(bitcoin::Network::Testnet),
            Network::Testnet4 => Some(bitcoin::Network::Testnet4),
            Network::Signet => Some(bitcoin::Network::Signet),
            Network::Regtest => Some(bitcoin::Network::Regtest),
            Network::Simnet => None,
        }
    }

    /// Stable one-byte code used in binary formats (the seed vault).
    pub fn code(self) -> u8 {
        match self {
            Network::Mainnet => 0,
            Network::Testnet3 => 1,
            Network::Testnet4 => 2,
            Network::Signet => 3,
            Network::Regtest => 4,
            Network::Simnet => 5,
        }
    }

    /// Inverse of [`Network::code`].
    pub fn from_code(code: u8) -> Option<Network> {
        Network::ALL.into_iter().find(|n| n.code() == code)
    }
}

impl fmt::Display for Network {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Network {
    type Err = UnknownNetwork;

    /// Accepts mainnet|bitcoin, testnet|testnet3, testnet4, signet, regtest,
    /// simnet (ASCII case-insensitive).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "mainnet" | "bitcoin" => Ok(Network::Mainnet),
            "testnet" | "testnet3" => Ok(Network::Testnet3),
            "testnet4" => Ok(Network::Testnet4),
            "signet" => Ok(Network::Signet),
            "regtest" => Ok(Network::Regtest),
            "simnet" => Ok(Network::Simnet),
            _ => Err(UnknownNetwork(s.to_owned())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for n in Network::ALL {
            assert_eq!(n.name().parse::<Network>(), Ok(n));
            assert_eq!(Network::from_code(n.code()), Some(n));
        }
        assert_eq!("bitcoin".parse::<Network>(), Ok(Network::Mainnet));
        assert_eq!("testnet3".parse::<Network>(), Ok(Network::Testnet3));
        assert_eq!("RegTest".parse::<Network>(), Ok(Network::Regtest));
        assert_eq!(Network::from_code(6), None);
    }

    #[test]
    fn unknown_network_message() {
        let err = "x".parse::<Network>().expect_err("x is not a network");
        assert_eq!(
            err.to_string(),
            "unknown network \"x\" (expected one of mainnet, testnet, testnet4, signet, regtest, simnet)"
        );
    }

    #[test]
    fn coin_types() {
        let lnd: Vec<u32> = Network::ALL.iter().map(|n| n.lnd_coin_type()).collect();
        assert_eq!(lnd, [0, 1, 1, 1, 1, 1]);
        let hd: Vec<u32> = Network::ALL.iter().map(|n| n.hd_coin_type()).collect();
        assert_eq!(hd, [0, 1, 1, 1, 1, 115]);
    }
}
