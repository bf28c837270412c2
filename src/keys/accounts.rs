//! The account export a watch-only lnd node is created from (keys.md §5):
//! the JSON `lncli wallet accounts list` prints on an lnd signer, which
//! `lncli createwatchonly <file>` accepts.

use bitcoin::bip32::Xpub;

use super::network::Network;
use super::path::LND_PURPOSE;
use super::root::{RootKey, RootKeyError};

/// Number of lnd keychain (purpose 1017) accounts the watch-only node needs (0…255).
pub const LND_ACCOUNT_COUNT: u32 = 256;

/// `walletrpc.AddressType`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AddressType {
    /// 0
    Unknown,
    /// 1: P2WKH (BIP-84 and the lnd 1017 scope).
    WitnessPubkeyHash,
    /// 2: plain BIP-49 (P2SH-P2WKH on both branches).
    NestedWitnessPubkeyHash,
    /// 3: lnd's BIP-49 "hybrid" (P2SH-P2WKH external, P2WKH change).
    HybridNestedWitnessPubkeyHash,
    /// 4: BIP-86 P2TR.
    TaprootPubkey,
}

impl AddressType {
    /// The proto enum name as protojson prints it.
    pub fn proto_name(self) -> &'static str {
        match self {
            AddressType::Unknown => "UNKNOWN",
            AddressType::WitnessPubkeyHash => "WITNESS_PUBKEY_HASH",
            AddressType::NestedWitnessPubkeyHash => "NESTED_WITNESS_PUBKEY_HASH",
            AddressType::HybridNestedWitnessPubkeyHash => "HYBRID_NESTED_WITNESS_PUBKEY_HASH",
            AddressType::TaprootPubkey => "TAPROOT_PUBKEY",
        }
    }

    /// The proto enum number.
    pub fn proto_value(self) -> i32 {
        match self {
            AddressType::Unknown => 0,
            AddressType::WitnessPubkeyHash => 1,
            AddressType::NestedWitnessPubkeyHash => 2,
            AddressType::HybridNestedWitnessPubkeyHash => 3,
            AddressType::TaprootPubkey => 4,
        }
    }
}

/// One `walletrpc.Account` as an lnd signer lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Account {
    /// `default` for account 0 of each scope, `act:N` for 1017 accounts N ≥ 1.
    pub name: String,
    /// Address type of the scope.
    pub address_type: AddressType,
    /// Account xpub with lnd's per-scope version bytes (§5.3).
    pub extended_public_key: String,
    /// Empty on an lnd signer (only set for imported watch-only accounts).
    pub master_key_fingerprint: Vec<u8>,
    /// `m/<purpose>'/<coin>'/<account>'`.
    pub derivation_path: String,
    /// Key scope purpose (49, 84, 86, 1017).
    pub purpose: u32,
    /// Coin type of the scope.
    pub coin_type: u32,
    /// Account number.
    pub account: u32,
    /// External addresses generated (always 0 here).
    pub external_key_count: u32,
    /// Change addresses generated (always 0 here).
    pub internal_key_count: u32,
    /// Always false on a signer.
    pub watch_only: bool,
}

/// Extended public key version bytes lnd's signer prints for a scope (§5.3).
pub fn xpub_version(network: Network, purpose: u32) -> [u8; 4] {
    let v: u32 = match (network, purpose) {
        (Network::Mainnet | Network::Simnet, 49) => 0x049d_7cb2, // ypub
        (Network::Mainnet | Network::Simnet, 84) => 0x04b2_4746, // zpub
        (Network::Mainnet, _) => 0x0488_b21e,                    // xpub
        (Network::Simnet, _) => 0x0420_bd3a,                     // spub
        (_, 49) => 0x044a_5262,                                  // upub
        (_, 84) => 0x045f_1cf6,                                  // vpub
        _ => 0x0435_87cf,                                        // tpub
    };
    v.to_be_bytes()
}

/// Base58check-encodes `xpub` with the given version bytes.
pub fn encode_xpub_with_version(xpub: &Xpub, version: [u8; 4]) -> String {
    let mut data = xpub.encode();
    data[0..4].copy_from_slice(&version);
    bitcoin::base58::encode_check(&data)
}

fn account(
    root: &RootKey,
    purpose: u32,
    coin_type: u32,
    index: u32,
    address_type: AddressType,
) -> Result<Account, RootKeyError> {
    let xpub = root.account_xpub(purpose, coin_type, index)?;
    let name = if index == 0 {
        "default".to_owned()
    } else {
        format!("act:{index}")
    };
    Ok(Account {
        name,
        address_type,
        extended_public_key: encode_xpub_with_version(&xpub, xpub_version(root.network(), purpose)),
        master_key_fingerprint: Vec::new(),
        derivation_path: format!("m/{purpose}'/{coin_type}'/{index}'"),
        purpose,
        coin_type,
        account: index,
        external_key_count: 0,
        internal_key_count: 0,
        watch_only: false,
    })
}

/// The 259 standard accounts in lnd's order: m/49'/0'/0' (hybrid), m/84'/0'/0',
/// m/86'/0'/0', then m/1017'/C'/0'…255'.
pub fn standard_accounts(root: &RootKey) -> Result<Vec<Account>, RootKeyError> {
    let mut out = Vec::with_capacity(3 + LND_ACCOUNT_COUNT as usize);
    out.push(account(
        root,
        49,
        0,
        0,
        AddressType::HybridNestedWitnessPubkeyHash,
    )?);
    out.push(account(root, 84, 0, 0, AddressType::WitnessPubkeyHash)?);
    out.push(account(root, 86, 0, 0, AddressType::TaprootPubkey)?);
    let coin = root.network().lnd_coin_type();
    for family in 0..LND_ACCOUNT_COUNT {
        out.push(account(
            root,
            LND_PURPOSE,
            coin,
            family,
            AddressType::WitnessPubkeyHash,
        )?);
    }
    Ok(out)
}

fn json_string(s: &str) -> String {
    // serde_json escapes exactly like protojson for the ASCII values used here.
    serde_json::Value::String(s.to_owned()).to_string()
}

/// Renders accounts exactly as `lncli wallet accounts list` prints them:
/// protojson with proto field names, every field present, 4-space indent,
/// bytes as lower-case hex, enums by name, and a trailing newline.
pub fn render_accounts_json(accounts: &[Account]) -> String {
    let mut s = String::from("{\n    \"accounts\": [");
    for (i, a) in accounts.iter().enumerate() {
        if i > 0 {
            s.push(',');
        }
        s.push_str("\n        {\n");
        let fields = [
            ("name", json_string(&a.name)),
            ("address_type", json_string(a.address_type.proto_name())),
            ("extended_public_key", json_string(&a.extended_public_key)),
            (
                "master_key_fingerprint",
                json_string(&hex::encode(&a.master_key_fingerprint)),
            ),
            ("derivation_path", json_string(&a.derivation_path)),
            ("external_key_count", a.external_key_count.to_string()),
            ("internal_key_count", a.internal_key_count.to_string()),
            ("watch_only", a.watch_only.to_string()),
        ];
        for (j, (k, v)) in fields.iter().enumerate() {
            s.push_str("            \"");
            s.push_str(k);
            s.push_str("\": ");
            s.push_str(v);
            if j + 1 < fields.len() {
                s.push(',');
            }
            s.push('\n');
        }
        s.push_str("        }");
    }
    if accounts.is_empty() {
        s.push_str("]\n}\n");
    } else {
        s.push_str("\n    ]\n}\n");
    }
    s
}

/// The `createwatchonly` accounts file for `root` (259 accounts, see
/// [`standard_accounts`]).
pub fn try_accounts_json(root: &RootKey) -> Result<String, RootKeyError> {
    Ok(render_accounts_json(&standard_accounts(root)?))
}

/// Like [`try_accounts_json`]; derivation of these fixed hardened paths can
/// only fail with probability ~2^-127 per step, which is treated as a bug.
pub fn accounts_json(root: &RootKey) -> String {
    try_accounts_json(root).expect("BIP-32 derivation of the standard accounts failed")
}

#[cfg(test)]
mod tests {
    use super::*;

    const ITEST_TPRV: &str = "tprv8ZgxMBicQKsPe6jS4vDm2n7s42Q6MpvghUQqMmSKG7bTZvGKtjrcU3PGzMNG37yzxywrcdvgkwrr8eYXJmbwdvUNVT4Ucv7ris4jvA7BUmg";

    #[test]
    fn shape_and_order() {
        let root = RootKey::from_xprv(ITEST_TPRV, Network::Regtest).expect("root");
        let accts = standard_accounts(&root).expect("accounts");
        assert_eq!(accts.len(), 259);
        assert_eq!(accts[0].derivation_path, "m/49'/0'/0'");
        assert!(accts[0].extended_public_key.starts_with("upub"));
        assert!(accts[1].extended_public_key.starts_with("vpub"));
        assert!(accts[2].extended_public_key.starts_with("tpub"));
        assert_eq!(accts[3].name, "default");
        assert_eq!(accts[4].name, "act:1");
        assert_eq!(accts[258].derivation_path, "m/1017'/1'/255'");
        let json = accounts_json(&root);
        assert!(json.starts_with(
            "{\n    \"accounts\": [\n        {\n            \"name\": \"default\",\n"
        ));
        assert!(json.ends_with("            \"watch_only\": false\n        }\n    ]\n}\n"));
        let v: serde_json::Value = serde_json::from_str(&json).expect("valid JSON");
        assert_eq!(v["accounts"].as_array().map(Vec::len), Some(259));
    }

    #[test]
    fn version_prefixes_per_network() {
        let entropy = [7u8; 16];
        let cases = [
            (Network::Mainnet, ["ypub", "zpub", "xpub", "xpub"]),
            (Network::Testnet4, ["upub", "vpub", "tpub", "tpub"]),
            (Network::Simnet, ["ypub", "zpub", "spub", "spub"]),
        ];
        for (net, prefixes) in cases {
            let root = RootKey::from_seed_entropy(&entropy, net).expect("root");
            let accts = standard_accounts(&root).expect("accounts");
            for (a, p) in accts.iter().zip(prefixes) {
                assert!(a.extended_public_key.starts_with(p), "{net}: {a:?}");
            }
            assert!(accts[258].extended_public_key.starts_with(prefixes[3]));
            assert_eq!(
                accts[3].derivation_path,
                format!("m/1017'/{}'/0'", net.lnd_coin_type())
            );
        }
    }

    #[test]
    fn empty_render() {
        assert_eq!(render_accounts_json(&[]), "{\n    \"accounts\": []\n}\n");
    }
}
