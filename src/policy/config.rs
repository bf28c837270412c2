//! The policy settings ([`PolicyConfig`]) and their file form.
//!
//! The file is TOML for the native hosts (`--policy FILE`; the native crate
//! turns the TOML table into the same JSON value) and JSON for the browser
//! hosts; both are read by [`PolicyConfig::from_value`], which walks the
//! value by hand so that every mistake is one line naming the key
//! (`policy key onchain.max_fee: …`). Format and defaults: docs/security.md.
//!
//! ```toml
//! preset = "default"                  # or "strict"; the keys below override it
//! [onchain]
//! max_external_per_tx = 100000        # satoshis paid outside our wallet by one transaction
//! max_external_per_day = 500000       # rolling 24 h window
//! allowlist = ["bcrt1q…", "script:0014…"]  # always allowed, not counted
//! max_fee = 50000
//! max_feerate = 500                   # sat/vB
//! over_limit = "deny"                 # or "ask" (tab, extension: an approval card)
//! [sweeps]
//! require_own_wallet = true
//! [musig2]
//! pregenerated_nonce = "multisig-only" # or "refuse", or "any"
//! [wallet]
//! lookahead = 1000                    # addresses past the highest index seen
//! [approvals]
//! headless = "deny"                   # what "ask" becomes where nobody can answer
//! ```

use core::fmt;
use core::str::FromStr;

use bitcoin::{Address, ScriptBuf};
use serde_json::{Map, Value};

use super::wallet::{DEFAULT_LOOKAHEAD, MAX_LOOKAHEAD};
use crate::keys::Network;

/// What the MuSig2 rule does with a nonce the watch-only node generated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum NonceRule {
    /// Only for the multisig family 0 (lnd's taproot channels). Default.
    MultisigOnly,
    /// Never (no taproot channels; no key exposure through nonces).
    Refuse,
    /// For any key location (what lnd's own signer does).
    Any,
}

impl NonceRule {
    /// The file spelling.
    pub fn name(self) -> &'static str {
        match self {
            NonceRule::MultisigOnly => "multisig-only",
            NonceRule::Refuse => "refuse",
            NonceRule::Any => "any",
        }
    }
}

/// What a limit rule does when a transaction goes over it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum OverLimit {
    /// Refuse (every host).
    Deny,
    /// Ask the user (tab, extension); where nobody can answer,
    /// [`PolicyConfig::headless`] decides.
    Ask,
}

/// What an "ask" becomes in a host without approvals (native, worker).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Headless {
    /// Refuse. Default.
    Deny,
    /// Sign (the limit is then only recorded in the audit log).
    Allow,
}

/// One allowlist entry: the text as written and the script it stands for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Allowed {
    /// As written in the policy (an address, or `script:HEX`).
    pub text: String,
    /// The output script.
    pub script: ScriptBuf,
}

/// The signing policy's settings. [`Default`] keeps every operation of an
/// honest lnd working; [`PolicyConfig::strict`] is the documented strict
/// preset.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct PolicyConfig {
    /// Most satoshis one wallet spend may pay outside our wallet.
    pub max_external_per_tx: Option<u64>,
    /// Most satoshis wallet spends may pay outside our wallet in any 24 h.
    pub max_external_per_day: Option<u64>,
    /// Outputs that are always fine and not counted.
    pub allowlist: Vec<Allowed>,
    /// Highest absolute fee of a wallet spend.
    pub max_fee: Option<u64>,
    /// Highest fee rate of a wallet spend, sat/vB (estimated size).
    pub max_feerate: Option<u64>,
    /// What the four limits above do when exceeded.
    pub over_limit: OverLimit,
    /// Sweeps of our channel outputs must pay our wallet.
    pub sweeps_require_own_wallet: bool,
    /// Pre-generated MuSig2 nonces.
    pub pregenerated_nonce: NonceRule,
    /// Wallet addresses derived past the highest index seen per branch.
    pub wallet_lookahead: u32,
    /// What "ask" becomes in hosts without approvals.
    pub headless: Headless,
}

impl Default for PolicyConfig {
    fn default() -> Self {
        PolicyConfig {
            max_external_per_tx: None,
            max_external_per_day: None,
            allowlist: Vec::new(),
            max_fee: None,
            max_feerate: None,
            over_limit: OverLimit::Deny,
            sweeps_require_own_wallet: true,
            pregenerated_nonce: NonceRule::MultisigOnly,
            wallet_lookahead: DEFAULT_LOOKAHEAD,
            headless: Headless::Deny,
        }
    }
}

impl PolicyConfig {
    /// The strict preset: no pre-generated MuSig2 nonces at all (so no
    /// taproot channels), sweeps only to our wallet, and no satoshi leaves
    /// the wallet (channel funding included) without an approval: a
    /// per-transaction limit of 0 that asks, which headless hosts refuse.
    pub fn strict() -> Self {
        PolicyConfig {
            max_external_per_tx: Some(0),
            over_limit: OverLimit::Ask,
            pregenerated_nonce: NonceRule::Refuse,
            ..PolicyConfig::default()
        }
    }

    /// Checks nothing: what lnd's own signer does. For conformance tests of
    /// the signing itself, and for users who opt out key by key.
    pub fn permissive() -> Self {
        PolicyConfig {
            sweeps_require_own_wallet: false,
            pregenerated_nonce: NonceRule::Any,
            ..PolicyConfig::default()
        }
    }

    /// Reads a policy file's value (a TOML table turned into JSON, or JSON)
    /// for `network` (allowlisted addresses must be of that network).
    pub fn from_value(value: &Value, network: Network) -> Result<Self, ConfigError> {
        let top = value.as_object().ok_or_else(|| ConfigError {
            key: String::new(),
            reason: "the policy must be a table of sections".into(),
        })?;
        check_keys(
            top,
            "",
            &[
                "preset",
                "onchain",
                "sweeps",
                "musig2",
                "wallet",
                "approvals",
            ],
        )?;
        let mut c = match top.get("preset") {
            None => PolicyConfig::default(),
            Some(v) => match v.as_str() {
                Some("default") => PolicyConfig::default(),
                Some("strict") => PolicyConfig::strict(),
                _ => return Err(err("preset", "expected \"default\" or \"strict\"", v)),
            },
        };
        if let Some(s) = section(top, "onchain")? {
            check_keys(
                s,
                "onchain",
                &[
                    "max_external_per_tx",
                    "max_external_per_day",
                    "allowlist",
                    "max_fee",
                    "max_feerate",
                    "over_limit",
                ],
            )?;
            for (name, slot) in [
                ("max_external_per_tx", &mut c.max_external_per_tx),
                ("max_external_per_day", &mut c.max_external_per_day),
                ("max_fee", &mut c.max_fee),
                ("max_feerate", &mut c.max_feerate),
            ] {
                if let Some(v) = s.get(name) {
                    *slot = Some(amount(&format!("onchain.{name}"), v)?);
                }
            }
            if let Some(v) = s.get("allowlist") {
                let list = v
                    .as_array()
                    .ok_or_else(|| err("onchain.allowlist", "expected a list of addresses", v))?;
                if list.len() > MAX_ALLOWLIST {
                    return Err(ConfigError {
                        key: "onchain.allowlist".into(),
                        reason: format!("more than {MAX_ALLOWLIST} entries"),
                    });
                }
                c.allowlist = list
                    .iter()
                    .enumerate()
                    .map(|(i, e)| allowed(&format!("onchain.allowlist[{i}]"), e, network))
                    .collect::<Result<_, _>>()?;
            }
            if let Some(v) = s.get("over_limit") {
                c.over_limit = match v.as_str() {
                    Some("deny") => OverLimit::Deny,
                    Some("ask") => OverLimit::Ask,
                    _ => return Err(err("onchain.over_limit", "expected \"deny\" or \"ask\"", v)),
                };
            }
        }
        if let Some(s) = section(top, "sweeps")? {
            check_keys(s, "sweeps", &["require_own_wallet"])?;
            if let Some(v) = s.get("require_own_wallet") {
                c.sweeps_require_own_wallet = v
                    .as_bool()
                    .ok_or_else(|| err("sweeps.require_own_wallet", "expected true or false", v))?;
            }
        }
        if let Some(s) = section(top, "musig2")? {
            check_keys(s, "musig2", &["pregenerated_nonce"])?;
            if let Some(v) = s.get("pregenerated_nonce") {
                c.pregenerated_nonce =
                    v.as_str().and_then(|s| s.parse().ok()).ok_or_else(|| {
                        err(
                            "musig2.pregenerated_nonce",
                            "expected \"multisig-only\", \"refuse\" or \"any\"",
                            v,
                        )
                    })?;
            }
        }
        if let Some(s) = section(top, "wallet")? {
            check_keys(s, "wallet", &["lookahead"])?;
            if let Some(v) = s.get("lookahead") {
                let n = amount("wallet.lookahead", v)?;
                c.wallet_lookahead = u32::try_from(n)
                    .ok()
                    .filter(|&n| n <= MAX_LOOKAHEAD)
                    .ok_or_else(|| ConfigError {
                        key: "wallet.lookahead".into(),
                        reason: format!("at most {MAX_LOOKAHEAD}, found {n}"),
                    })?;
            }
        }
        if let Some(s) = section(top, "approvals")? {
            check_keys(s, "approvals", &["headless"])?;
            if let Some(v) = s.get("headless") {
                c.headless = match v.as_str() {
                    Some("deny") => Headless::Deny,
                    Some("allow") => Headless::Allow,
                    _ => {
                        return Err(err(
                            "approvals.headless",
                            "expected \"deny\" or \"allow\"",
                            v,
                        ))
                    }
                };
            }
        }
        Ok(c)
    }

    /// Whether `script` is on the allowlist.
    pub fn allows(&self, script: &bitcoin::Script) -> bool {
        self.allowlist
            .iter()
            .any(|a| a.script.as_script() == script)
    }
}

/// Most allowlist entries.
pub const MAX_ALLOWLIST: usize = 10_000;

/// A mistake in a policy file: the key (dotted, e.g. `onchain.max_fee`) and
/// what is wrong with it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError {
    /// The key, dotted; empty for the whole file.
    pub key: String,
    /// What is wrong.
    pub reason: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.key.is_empty() {
            write!(f, "policy: {}", self.reason)
        } else {
            write!(f, "policy key {}: {}", self.key, self.reason)
        }
    }
}

impl std::error::Error for ConfigError {}

fn describe(v: &Value) -> String {
    match v {
        Value::Null => "nothing".into(),
        Value::Bool(b) => format!("{b}"),
        Value::Number(n) => format!("{n}"),
        Value::String(s) => {
            let short: String = s.chars().take(60).collect();
            format!("\"{short}\"")
        }
        Value::Array(_) => "a list".into(),
        Value::Object(_) => "a table".into(),
    }
}

fn err(key: &str, expected: &str, found: &Value) -> ConfigError {
    ConfigError {
        key: key.into(),
        reason: format!("{expected}, found {}", describe(found)),
    }
}

fn check_keys(map: &Map<String, Value>, prefix: &str, known: &[&str]) -> Result<(), ConfigError> {
    for k in map.keys() {
        if !known.contains(&k.as_str()) {
            let key = if prefix.is_empty() {
                k.clone()
            } else {
                format!("{prefix}.{k}")
            };
            return Err(ConfigError {
                key,
                reason: format!("unknown key (known here: {})", known.join(", ")),
            });
        }
    }
    Ok(())
}

fn section<'a>(
    top: &'a Map<String, Value>,
    name: &str,
) -> Result<Option<&'a Map<String, Value>>, ConfigError> {
    match top.get(name) {
        None => Ok(None),
        Some(v) => v
            .as_object()
            .map(Some)
            .ok_or_else(|| err(name, "expected a table", v)),
    }
}

fn amount(key: &str, v: &Value) -> Result<u64, ConfigError> {
    match v {
        Value::Number(n) if n.is_u64() => n.as_u64().ok_or_else(|| err(key, "", v)),
        Value::Number(n) if n.is_i64() => Err(err(key, "expected a whole number, 0 or more", v)),
        _ => Err(err(key, "expected a whole number, 0 or more", v)),
    }
}

fn allowed(key: &str, v: &Value, network: Network) -> Result<Allowed, ConfigError> {
    let text = v
        .as_str()
        .ok_or_else(|| err(key, "expected an address or \"script:HEX\"", v))?;
    let bad = |reason: String| ConfigError {
        key: key.into(),
        reason,
    };
    if let Some(h) = text.strip_prefix("script:") {
        let bytes = hex::decode(h).map_err(|e| bad(format!("script is not hex: {e}")))?;
        if bytes.is_empty() || bytes.len() > 10_000 {
            return Err(bad("script must be 1 to 10000 bytes".into()));
        }
        return Ok(Allowed {
            text: text.into(),
            script: ScriptBuf::from_bytes(bytes),
        });
    }
    let net = network.bitcoin_network().ok_or_else(|| {
        bad(format!(
            "{network} addresses are not understood here; give the output script as \"script:HEX\""
        ))
    })?;
    let addr = Address::from_str(text).map_err(|e| bad(format!("not an address ({e})")))?;
    let addr = addr
        .require_network(net)
        .map_err(|_| bad(format!("\"{text}\" is not a {network} address")))?;
    Ok(Allowed {
        text: text.into(),
        script: addr.script_pubkey(),
    })
}

impl FromStr for NonceRule {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "multisig-only" => Ok(NonceRule::MultisigOnly),
            "refuse" => Ok(NonceRule::Refuse),
            "any" => Ok(NonceRule::Any),
            _ => Err(format!("unknown nonce rule {s:?}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(v: Value) -> Result<PolicyConfig, String> {
        PolicyConfig::from_value(&v, Network::Regtest).map_err(|e| e.to_string())
    }

    #[test]
    fn reads_every_key() {
        let c = parse(json!({
            "onchain": {
                "max_external_per_tx": 100000, "max_external_per_day": 500000,
                "allowlist": ["bcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7kygt080", "script:6a"],
                "max_fee": 50000, "max_feerate": 500, "over_limit": "ask"
            },
            "sweeps": {"require_own_wallet": false},
            "musig2": {"pregenerated_nonce": "refuse"},
            "wallet": {"lookahead": 20},
            "approvals": {"headless": "allow"}
        }))
        .expect("valid");
        assert_eq!(c.max_external_per_tx, Some(100_000));
        assert_eq!(c.max_external_per_day, Some(500_000));
        assert_eq!(c.max_fee, Some(50_000));
        assert_eq!(c.max_feerate, Some(500));
        assert_eq!(c.allowlist.len(), 2);
        assert_eq!(c.allowlist[1].script.as_bytes(), &[0x6a]);
        assert_eq!(c.over_limit, OverLimit::Ask);
        assert!(!c.sweeps_require_own_wallet);
        assert_eq!(c.pregenerated_nonce, NonceRule::Refuse);
        assert_eq!(c.wallet_lookahead, 20);
        assert_eq!(c.headless, Headless::Allow);
        assert_eq!(parse(json!({})).expect("empty"), PolicyConfig::default());
        let strict = parse(json!({"preset": "strict", "musig2": {"pregenerated_nonce": "any"}}))
            .expect("strict");
        assert_eq!(strict.max_external_per_tx, Some(0));
        assert_eq!(strict.pregenerated_nonce, NonceRule::Any);
    }

    #[test]
    fn mistakes_name_the_key() {
        let cases = [
            (json!({"onchain": {"max_fe": 1}}), "policy key onchain.max_fe: unknown key"),
            (json!({"onchan": {}}), "policy key onchan: unknown key"),
            (
                json!({"onchain": {"max_fee": -5}}),
                "policy key onchain.max_fee: expected a whole number, 0 or more, found -5",
            ),
            (
                json!({"onchain": {"max_fee": "5"}}),
                "policy key onchain.max_fee: expected a whole number, 0 or more, found \"5\"",
            ),
            (
                json!({"onchain": {"max_fee": 1.5}}),
                "policy key onchain.max_fee: expected a whole number",
            ),
            (
                json!({"onchain": {"allowlist": ["bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4"]}}),
                "policy key onchain.allowlist[0]: \"bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4\" is not a regtest address",
            ),
            (
                json!({"onchain": {"allowlist": ["nonsense"]}}),
                "policy key onchain.allowlist[0]: not an address",
            ),
            (
                json!({"onchain": {"allowlist": ["script:zz"]}}),
                "policy key onchain.allowlist[0]: script is not hex",
            ),
            (
                json!({"sweeps": {"require_own_wallet": "yes"}}),
                "policy key sweeps.require_own_wallet: expected true or false, found \"yes\"",
            ),
            (
                json!({"musig2": {"pregenerated_nonce": "never"}}),
                "policy key musig2.pregenerated_nonce: expected \"multisig-only\", \"refuse\" or \"any\", found \"never\"",
            ),
            (json!({"musig2": 3}), "policy key musig2: expected a table, found 3"),
            (json!({"preset": "lax"}), "policy key preset: expected \"default\" or \"strict\""),
            (json!([1]), "policy: the policy must be a table of sections"),
            (
                json!({"wallet": {"lookahead": 100001}}),
                "policy key wallet.lookahead: at most 100000, found 100001",
            ),
        ];
        for (v, want) in cases {
            let got = parse(v.clone()).expect_err("invalid");
            assert!(got.starts_with(want), "{v}: {got}");
            assert!(!got.contains('\n'), "{got}");
        }
    }
}
