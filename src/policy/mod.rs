//! The signing policy: what a compromised watch-only node must not get
//! signed (docs/security.md). Pure and deterministic: the host passes the
//! time in ([`Clock`]), and the engine decides on each [`Op`] before the
//! signer touches a key.
//!
//! * **Classification** of a `SignPsbt` by the first BIP-32 path of each
//!   input (the key lnd signs with), spec/keys.md §4.3 and spec/signing.md
//!   §5: wallet spend (m/49', 84', 86'), channel operation (multisig family
//!   0: commitments, cooperative closes, legacy anchors), HTLC (family 2:
//!   not checked, a second-level transaction for the peer cannot be told
//!   from a sweep), sweep of our channel outputs (payment base 3, delay base
//!   4, revocation base 1 with a double tweak: justice).
//! * **Outputs**: ours (derived wallet scripts, [`wallet::OwnWallet`]),
//!   allowlisted, or external.
//! * **Rules**, each with a stable [`Tag`] that the refusal text starts with.
//! * A transaction is counted once however many per-input requests carry
//!   it (by txid).
//!
//! Outcomes: [`Decision::Allow`], [`Decision::Ask`] (an approval in the tab
//! or the extension; elsewhere [`config::Headless`]) and [`Decision::Deny`].

pub mod config;
pub mod wallet;

use core::fmt;
use std::collections::{HashSet, VecDeque};

use bitcoin::{Address, Amount, ScriptBuf, Transaction, TxOut, Txid};

pub use config::{ConfigError, Headless, NonceRule, OverLimit, PolicyConfig};
use wallet::OwnWallet;

use crate::keys::{format_path, Network, RootKey, HARDENED, LND_PURPOSE};
use crate::request::Op;
use crate::signing::psbt::{wire_scan, TWEAK_DOUBLE};

/// The host's clock: Unix seconds.
pub trait Clock: Send + Sync {
    /// Seconds since 1970-01-01 UTC.
    fn now_unix(&self) -> u64;
}

/// A clock that always says 0 (hosts that give none: no rule then depends
/// on time, see [`Policy::needs_clock`]).
#[derive(Debug, Clone, Copy, Default)]
pub struct NoClock;

impl Clock for NoClock {
    fn now_unix(&self) -> u64 {
        0
    }
}

/// The rolling window of `max_external_per_day`.
pub const DAY_SECS: u64 = 24 * 60 * 60;
/// Transactions remembered as allowed (counted once).
const MAX_REMEMBERED_TXIDS: usize = 4096;

/// A rule's stable name, the first word of its refusal.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Tag {
    /// External value of one transaction.
    ExternalPerTx,
    /// External value in the rolling 24 h window.
    ExternalPerDay,
    /// Absolute fee of a wallet spend.
    Fee,
    /// Fee rate of a wallet spend.
    Feerate,
    /// A sweep of our channel outputs that pays somewhere else.
    SweepDestination,
    /// A pre-generated MuSig2 nonce for a family other than multisig.
    Musig2NonceFamily,
    /// A pre-generated MuSig2 nonce under `pregenerated_nonce = "refuse"`.
    Musig2NonceRefused,
}

impl Tag {
    /// Every tag.
    pub const ALL: [Tag; 7] = [
        Tag::ExternalPerTx,
        Tag::ExternalPerDay,
        Tag::Fee,
        Tag::Feerate,
        Tag::SweepDestination,
        Tag::Musig2NonceFamily,
        Tag::Musig2NonceRefused,
    ];

    /// The tag text, e.g. `policy-onchain-fee`.
    pub fn as_str(self) -> &'static str {
        match self {
            Tag::ExternalPerTx => "policy-onchain-external-per-tx",
            Tag::ExternalPerDay => "policy-onchain-external-per-day",
            Tag::Fee => "policy-onchain-fee",
            Tag::Feerate => "policy-onchain-feerate",
            Tag::SweepDestination => "policy-sweep-destination",
            Tag::Musig2NonceFamily => "policy-musig2-nonce-family",
            Tag::Musig2NonceRefused => "policy-musig2-nonce-refused",
        }
    }
}

impl fmt::Display for Tag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One rule that did not pass: its tag and what triggered it (inputs,
/// outputs, amounts).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    /// The rule.
    pub tag: Tag,
    /// What triggered it, lower case.
    pub reason: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.tag, self.reason)
    }
}

/// The rules a request broke, in rule order; its `Display` is the
/// `signer_error` text (after lnd's prefix).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal(pub Vec<Violation>);

impl Refusal {
    /// The tags, in order.
    pub fn tags(&self) -> Vec<Tag> {
        self.0.iter().map(|v| v.tag).collect()
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, v) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{v}")?;
        }
        Ok(())
    }
}

/// The policy's answer for one request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Sign.
    Allow,
    /// Only with the user's approval (interactive hosts).
    Ask(Refusal),
    /// Refuse.
    Deny(Refusal),
}

/// What an input's key is, by its path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum InputClass {
    /// m/49', m/84', m/86' (any account).
    Wallet,
    /// Multisig family 0: commitments, cooperative closes, legacy anchors.
    Channel,
    /// HTLC base family 2 (second-level transactions and HTLC sweeps).
    Htlc,
    /// Payment base 3, delay base 4, or revocation base 1 with a double
    /// tweak (justice): outputs of our channels that lnd sweeps to the wallet.
    Sweep(u32),
    /// Another lnd family, or revocation base without a double tweak.
    OtherFamily(u32),
    /// A path of no known scheme.
    Other,
}

impl InputClass {
    fn of(path: &[u32], double_tweak: bool) -> Self {
        match *path {
            [p, _, _, _, _] if [49, 84, 86].iter().any(|&w| p == w + HARDENED) => {
                InputClass::Wallet
            }
            [p, _, f, 0, _] if p == LND_PURPOSE + HARDENED && f >= HARDENED => match f - HARDENED {
                0 => InputClass::Channel,
                1 if double_tweak => InputClass::Sweep(1),
                2 => InputClass::Htlc,
                f @ (3 | 4) => InputClass::Sweep(f),
                f => InputClass::OtherFamily(f),
            },
            _ => InputClass::Other,
        }
    }

    /// Short name for texts and the audit log.
    pub fn name(self) -> String {
        match self {
            InputClass::Wallet => "wallet".into(),
            InputClass::Channel => "multisig".into(),
            InputClass::Htlc => "htlc base".into(),
            InputClass::Sweep(1) => "revocation base, double tweak (justice)".into(),
            InputClass::Sweep(3) => "payment base".into(),
            InputClass::Sweep(4) => "delay base".into(),
            InputClass::Sweep(f) | InputClass::OtherFamily(f) => format!("family {f}"),
            InputClass::Other => "other".into(),
        }
    }
}

/// One output as the policy saw it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutputFact {
    /// The address on the signer's network, or `script:HEX`.
    pub to: String,
    /// Satoshis.
    pub value: u64,
    /// `own`, `allowlist` or `external`.
    pub whose: &'static str,
}

/// What the policy learnt about a request: the audit log's facts.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Facts {
    /// Key paths the request names (PSBT: the first path of each input).
    pub paths: Vec<String>,
    /// The unsigned transaction's id (SignPsbt).
    pub txid: Option<String>,
    /// Its outputs.
    pub outputs: Vec<OutputFact>,
    /// Wallet spends: satoshis paid outside our wallet and the allowlist.
    pub external: Option<u64>,
    /// Inputs minus outputs, when every input amount is known.
    pub fee: Option<u64>,
    /// Input classes, in input order.
    pub classes: Vec<String>,
}

/// A decision with its facts. An allowed wallet spend is counted at once
/// (so that concurrent requests cannot both pass a limit); an asked one
/// when the user approves it ([`Policy::approve`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verdict {
    /// The decision.
    pub decision: Decision,
    /// What it was based on.
    pub facts: Facts,
    /// A wallet spend to count when signed: (txid, external value).
    spend: Option<(Txid, u64)>,
    now: u64,
}

#[derive(Clone, Debug)]
struct Spend {
    time: u64,
    external: u64,
}

/// A pre-authorised budget: up to `remaining` satoshis to any address
/// until `until` (Unix seconds), granted by the user in an interactive host.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Budget {
    /// Satoshis left.
    pub remaining: u64,
    /// Expiry (Unix seconds).
    pub until: u64,
}

/// The policy engine of one signer.
#[derive(Debug)]
pub struct Policy {
    config: PolicyConfig,
    network: Network,
    wallet: OwnWallet,
    /// Allowed wallet spends of the last 24 h (oldest first).
    window: VecDeque<Spend>,
    /// Transactions already allowed (counted once), oldest first.
    allowed: VecDeque<Txid>,
    allowed_set: HashSet<Txid>,
    budget: Option<Budget>,
}

impl Policy {
    /// The policy `config` for the signer of `root`.
    pub fn new(config: PolicyConfig, root: &RootKey) -> Self {
        let wallet = OwnWallet::new(root, config.wallet_lookahead);
        Policy {
            config,
            network: root.network(),
            wallet,
            window: VecDeque::new(),
            allowed: VecDeque::new(),
            allowed_set: HashSet::new(),
            budget: None,
        }
    }

    /// Derives our wallet's scripts now ([`OwnWallet::extend`]): about 6000
    /// public derivations with the default look-ahead (~0.2 s natively,
    /// longer in wasm), which would otherwise fall on the first wallet
    /// spend or sweep and hold up the requests behind it.
    pub fn prepare(&mut self) {
        self.wallet.extend();
    }

    /// The settings in force.
    pub fn config(&self) -> &PolicyConfig {
        &self.config
    }

    /// Whether a rule depends on the time (the host must give a real clock,
    /// and, to keep the window across restarts, an audit log).
    pub fn needs_clock(&self) -> bool {
        self.config.max_external_per_day.is_some()
    }

    /// Takes over what `old` counted (the spends of the 24 h window, the
    /// transactions already allowed) and its budget: a change of settings
    /// does not reset the limits.
    pub fn carry_over(&mut self, old: Policy) {
        self.window = old.window;
        self.allowed = old.allowed;
        self.allowed_set = old.allowed_set;
        self.budget = old.budget;
        // The wallet scripts derived so far (and the indexes seen) stay
        // when the look-ahead does.
        if old.config.wallet_lookahead == self.config.wallet_lookahead {
            self.wallet = old.wallet;
        }
    }

    /// Sets (or clears) the pre-authorised budget.
    pub fn set_budget(&mut self, budget: Option<Budget>) {
        self.budget = budget;
    }

    /// The budget left at `now`.
    pub fn budget(&self, now: u64) -> Option<Budget> {
        self.budget.filter(|b| b.until > now)
    }

    /// External value of the allowed spends in the 24 h before `now`.
    pub fn spent_in_window(&mut self, now: u64) -> u64 {
        let start = now.saturating_sub(DAY_SECS);
        while self.window.front().is_some_and(|s| s.time <= start) {
            self.window.pop_front();
        }
        self.window.iter().map(|s| s.external).sum()
    }

    /// Restores a spend from the audit log (a restart): counted in the
    /// window if recent, and remembered as allowed.
    pub fn restore_spend(&mut self, time: u64, txid: Txid, external: u64) {
        if self.allowed_set.contains(&txid) {
            return;
        }
        self.remember(txid);
        self.window.push_back(Spend { time, external });
    }

    fn remember(&mut self, txid: Txid) {
        if self.allowed_set.insert(txid) {
            self.allowed.push_back(txid);
            if self.allowed.len() > MAX_REMEMBERED_TXIDS {
                if let Some(old) = self.allowed.pop_front() {
                    self.allowed_set.remove(&old);
                }
            }
        }
    }

    /// Counts an asked spend the user approved (or `approvals.headless =
    /// "allow"` let through).
    pub fn approve(&mut self, verdict: &Verdict) {
        self.count(verdict);
    }

    fn count(&mut self, verdict: &Verdict) {
        if let Some((txid, external)) = verdict.spend {
            if self.allowed_set.contains(&txid) {
                return;
            }
            self.remember(txid);
            if external > 0 {
                self.window.push_back(Spend {
                    time: verdict.now,
                    external,
                });
                if let Some(b) = &mut self.budget {
                    b.remaining = b.remaining.saturating_sub(external);
                }
            }
        }
    }

    /// The decision on `op` at `now`.
    pub fn check(&mut self, op: &Op, now: u64) -> Verdict {
        let mut v = Verdict {
            decision: Decision::Allow,
            facts: Facts::default(),
            spend: None,
            now,
        };
        match op {
            Op::SignPsbt(r) => {
                self.check_psbt(&r.funded_psbt, now, &mut v);
                if v.decision == Decision::Allow {
                    self.count(&v);
                }
            }
            Op::MuSig2Session(r) => {
                let loc = r.key_loc.unwrap_or_default();
                v.facts
                    .paths
                    .push(format!("{}/{}", loc.key_family, loc.key_index));
                if !r.pregenerated_local_nonce.is_empty() {
                    let family = loc.key_family;
                    let violation = match self.config.pregenerated_nonce {
                        NonceRule::Any => None,
                        NonceRule::MultisigOnly if family == 0 => None,
                        NonceRule::MultisigOnly => Some(Violation {
                            tag: Tag::Musig2NonceFamily,
                            reason: format!(
                                "a MuSig2 session for key {family}/{} ({}) with a nonce the watch-only node generated: whoever knows that nonce learns the key from one partial signature; only the multisig family 0 (taproot channels) may use one",
                                loc.key_index,
                                family_name(family)
                            ),
                        }),
                        NonceRule::Refuse => Some(Violation {
                            tag: Tag::Musig2NonceRefused,
                            reason: format!(
                                "a MuSig2 session for key {family}/{} with a nonce the watch-only node generated (refused by musig2.pregenerated_nonce = \"refuse\")",
                                loc.key_index
                            ),
                        }),
                    };
                    if let Some(violation) = violation {
                        v.decision = Decision::Deny(Refusal(vec![violation]));
                    }
                }
            }
            Op::SharedKey(r) => {
                if let Some(k) = &r.key_loc {
                    v.facts
                        .paths
                        .push(format!("{}/{}", k.key_family, k.key_index));
                } else if let Some(d) = &r.key_desc {
                    if let Some(k) = &d.key_loc {
                        v.facts
                            .paths
                            .push(format!("{}/{}", k.key_family, k.key_index));
                    }
                }
            }
            Op::SignMessage(r) => {
                if let Some(k) = &r.key_loc {
                    v.facts
                        .paths
                        .push(format!("{}/{}", k.key_family, k.key_index));
                }
            }
            _ => {}
        }
        v
    }

    fn check_psbt(&mut self, raw: &[u8], now: u64, v: &mut Verdict) {
        // A packet the signer cannot read is refused by the signer itself.
        let Ok(psbt) = crate::signing::psbt::parse(raw) else {
            return;
        };
        let tx = &psbt.unsigned_tx;
        let Ok(wire) = wire_scan::inputs(raw, psbt.inputs.len()) else {
            return;
        };
        let txid = tx.compute_txid();
        v.facts.txid = Some(txid.to_string());
        let mut classes = Vec::with_capacity(psbt.inputs.len());
        for (input, w) in psbt.inputs.iter().zip(&wire) {
            let Some(pk) = &w.first_bip32_pubkey else {
                classes.push(None);
                continue;
            };
            let path = input
                .bip32_derivation
                .iter()
                .find(|(k, _)| k.serialize()[..] == pk[..])
                .map(|(_, (_, p))| p.to_u32_vec());
            let Some(path) = path else {
                classes.push(None);
                continue;
            };
            if input.final_script_witness.is_some() {
                classes.push(None);
                continue;
            }
            let double = matches!(w.first_tweak, Some((t, _)) if t == TWEAK_DOUBLE);
            let class = InputClass::of(&path, double);
            if class == InputClass::Wallet {
                self.wallet.saw_path(&path);
            }
            v.facts.paths.push(format_path(&path));
            v.facts.classes.push(class.name());
            classes.push(Some((class, path)));
        }
        let wallet_spend = classes
            .iter()
            .flatten()
            .any(|(c, _)| *c == InputClass::Wallet);
        let sweep = classes.iter().enumerate().find_map(|(i, c)| match c {
            Some((c @ InputClass::Sweep(_), p)) => Some((i, *c, p.clone())),
            _ => None,
        });
        if !wallet_spend && sweep.is_none() {
            return;
        }
        // Outputs: ours, allowlisted or external.
        let mut external = 0u64;
        let mut foreign = Vec::new();
        for (i, o) in tx.output.iter().enumerate() {
            let whose = if self.config.allows(&o.script_pubkey) {
                "allowlist"
            } else if self.wallet.is_ours(&o.script_pubkey) {
                "own"
            } else {
                external = external.saturating_add(o.value.to_sat());
                foreign.push(i);
                "external"
            };
            v.facts.outputs.push(OutputFact {
                to: self.describe_script(&o.script_pubkey),
                value: o.value.to_sat(),
                whose,
            });
        }
        if wallet_spend {
            v.facts.external = Some(external);
        }
        v.facts.fee = fee(&psbt.inputs, tx);

        let mut deny = Vec::new();
        if let Some((index, class, path)) = sweep {
            if self.config.sweeps_require_own_wallet && !foreign.is_empty() {
                let list: Vec<String> = foreign
                    .iter()
                    .map(|&o| {
                        format!(
                            "output {o} ({} sat to {})",
                            tx.output[o].value.to_sat(),
                            v.facts.outputs[o].to
                        )
                    })
                    .collect();
                deny.push(Violation {
                    tag: Tag::SweepDestination,
                    reason: format!(
                        "input {index} ({}, {}) sweeps a channel output but {} not our wallet",
                        format_path(&path),
                        class.name(),
                        if list.len() == 1 {
                            format!("{} is", list[0])
                        } else {
                            format!("{} are", list.join(", "))
                        }
                    ),
                });
            }
        }
        if !deny.is_empty() {
            v.decision = Decision::Deny(Refusal(deny));
            return;
        }
        if !wallet_spend {
            return;
        }
        v.spend = Some((txid, external));
        if self.allowed_set.contains(&txid) {
            // Another input of a transaction already allowed.
            return;
        }
        let mut over = Vec::new();
        if let Some(max) = self.config.max_external_per_tx {
            if external > max {
                over.push(Violation {
                    tag: Tag::ExternalPerTx,
                    reason: format!(
                        "transaction {txid} pays {external} sat outside our wallet ({}), over the limit of {max} sat",
                        list_outputs(&foreign, &v.facts.outputs)
                    ),
                });
            }
        }
        if let Some(max) = self.config.max_external_per_day {
            let before = self.spent_in_window(now);
            let total = before.saturating_add(external);
            if external > 0 && total > max {
                over.push(Violation {
                    tag: Tag::ExternalPerDay,
                    reason: format!(
                        "transaction {txid} pays {external} sat outside our wallet; with the {before} sat of the last 24 h that is {total} sat, over the limit of {max} sat"
                    ),
                });
            }
        }
        if let (Some(max), Some(fee)) = (self.config.max_fee, v.facts.fee) {
            if fee > max {
                over.push(Violation {
                    tag: Tag::Fee,
                    reason: format!(
                        "transaction {txid} pays a fee of {fee} sat, over the limit of {max} sat"
                    ),
                });
            }
        }
        if let (Some(max), Some(fee)) = (self.config.max_feerate, v.facts.fee) {
            let vsize = estimate_vsize(&psbt.inputs, tx);
            let rate = fee / vsize.max(1);
            if rate > max {
                over.push(Violation {
                    tag: Tag::Feerate,
                    reason: format!(
                        "transaction {txid} pays {fee} sat for about {vsize} vB, {rate} sat/vB, over the limit of {max} sat/vB"
                    ),
                });
            }
        }
        if over.is_empty() {
            return;
        }
        // A budget the user granted covers the external value (not fees).
        if let Some(b) = self.budget(now) {
            let only_external = over
                .iter()
                .all(|o| matches!(o.tag, Tag::ExternalPerTx | Tag::ExternalPerDay));
            if only_external && external <= b.remaining {
                return;
            }
        }
        v.decision = match self.config.over_limit {
            OverLimit::Deny => Decision::Deny(Refusal(over)),
            OverLimit::Ask => Decision::Ask(Refusal(over)),
        };
    }

    fn describe_script(&self, script: &ScriptBuf) -> String {
        self.network
            .bitcoin_network()
            .and_then(|n| Address::from_script(script, n).ok())
            .map(|a| a.to_string())
            .unwrap_or_else(|| format!("script:{}", hex::encode(script.as_bytes())))
    }
}

fn list_outputs(indexes: &[usize], outputs: &[OutputFact]) -> String {
    indexes
        .iter()
        .map(|&i| format!("output {i}: {} sat to {}", outputs[i].value, outputs[i].to))
        .collect::<Vec<_>>()
        .join(", ")
}

/// lnd's name of a key family (spec/keys.md §4.3).
pub fn family_name(family: i32) -> &'static str {
    match family {
        0 => "multisig",
        1 => "revocation base",
        2 => "htlc base",
        3 => "payment base",
        4 => "delay base",
        5 => "revocation root",
        6 => "node key",
        7 => "base encryption",
        8 => "tower session",
        9 => "tower id",
        _ => "not an lnd family",
    }
}

fn utxo(input: &bitcoin::psbt::Input, txin: &bitcoin::TxIn) -> Option<TxOut> {
    input.witness_utxo.clone().or_else(|| {
        input
            .non_witness_utxo
            .as_ref()
            .and_then(|t| t.output.get(txin.previous_output.vout as usize).cloned())
    })
}

fn fee(inputs: &[bitcoin::psbt::Input], tx: &Transaction) -> Option<u64> {
    let mut total = Amount::ZERO;
    for (input, txin) in inputs.iter().zip(&tx.input) {
        total = total.checked_add(utxo(input, txin)?.value)?;
    }
    let mut out = Amount::ZERO;
    for o in &tx.output {
        out = out.checked_add(o.value)?;
    }
    total.checked_sub(out).map(Amount::to_sat)
}

/// The signed transaction's virtual size, estimated from the spent output
/// types (generous for scripts: a larger size means a lower rate, so the
/// fee-rate cap never refuses a spend because of the estimate).
pub fn estimate_vsize(inputs: &[bitcoin::psbt::Input], tx: &Transaction) -> u64 {
    // Base size with empty scriptSigs and witnesses, plus the segwit marker.
    let mut weight = tx.weight().to_wu() + 2;
    for (input, txin) in inputs.iter().zip(&tx.input) {
        let script = utxo(input, txin).map(|u| u.script_pubkey);
        let (script_sig, witness) = match script {
            Some(s) if s.is_p2wpkh() => (0, 108),
            Some(s) if s.is_p2tr() => (0, 66),
            Some(s) if s.is_p2sh() => (23, 108),
            Some(s) if s.is_p2wsh() => (0, 300),
            Some(s) if s.is_p2pkh() => (107, 0),
            _ => (0, 300),
        };
        weight += script_sig * 4 + witness;
    }
    weight.div_ceil(4)
}

#[cfg(test)]
mod tests;
