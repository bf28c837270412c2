//! The signing policy, budgets and the audit log in the browser hosts
//! (docs/security.md): the core's [`lnd_web_signer::policy`] and
//! [`lnd_web_signer::audit`] with the browser's clock, the policy sealed in
//! the vault (changing it needs the vault passphrase), and the audit
//! chain the host stores (IndexedDB in the tab and the extension, Durable
//! Object storage in the worker). Approvals run in the signer loop
//! ([`crate::connection`], the `approve` option).

use js_sys::Uint8Array;
use serde::Serialize;
use wasm_bindgen::prelude::*;

use super::api::UnlockedSigner;
use lnd_web_signer::audit::{self, AuditChain};
use lnd_web_signer::keys::Network;
use lnd_web_signer::policy::{Budget, Clock, Headless, NonceRule, OverLimit, PolicyConfig};
use lnd_web_signer::secret::SecretString;
use lnd_web_signer::signer::Signer;
use lnd_web_signer::vault;

/// The browser's wall clock (`Date.now()`), Unix seconds.
#[derive(Debug, Clone, Copy)]
pub struct JsClock;

impl Clock for JsClock {
    fn now_unix(&self) -> u64 {
        (js_sys::Date::now() / 1000.0) as u64
    }
}

/// Most minutes a budget may run (a day).
const MAX_BUDGET_MINUTES: f64 = 24.0 * 60.0;

/// Reads a policy's JSON text (the native hosts' TOML keys, as JSON) for
/// `network`; an empty text is the default policy.
pub fn parse_policy(text: &str, network: Network) -> Result<PolicyConfig, String> {
    if text.trim().is_empty() {
        return Ok(PolicyConfig::default());
    }
    let value: serde_json::Value =
        serde_json::from_str(text).map_err(|e| format!("the policy is not valid JSON: {e}"))?;
    PolicyConfig::from_value(&value, network).map_err(|e| e.to_string())
}

/// Applies the policy sealed in a vault to a freshly opened signer.
pub(crate) fn apply_sealed(signer: &UnlockedSigner, text: Option<String>) -> Result<(), JsError> {
    let Some(text) = text else {
        return Ok(());
    };
    let config = parse_policy(&text, signer.network).map_err(|e| {
        JsError::new(&format!(
            "the signing policy (sealed in the vault, or given to openVault) is invalid: {e}"
        ))
    })?;
    with_signer(signer, |s| {
        s.set_policy(config, Box::new(JsClock));
        s.prepare_policy();
    })?;
    *signer.policy_text.borrow_mut() = Some(text);
    Ok(())
}

fn with_signer<R>(signer: &UnlockedSigner, f: impl FnOnce(&Signer) -> R) -> Result<R, JsError> {
    let guard = signer.signer.borrow();
    let s = guard.as_ref().ok_or_else(UnlockedSigner::locked_error)?;
    Ok(f(s))
}

/// The settings in force, as the page shows them.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PolicyView {
    /// The sealed text (`null`: the default policy).
    sealed: Option<String>,
    max_external_per_tx: Option<u64>,
    max_external_per_day: Option<u64>,
    allowlist: Vec<String>,
    max_fee: Option<u64>,
    max_feerate: Option<u64>,
    over_limit: &'static str,
    sweeps_require_own_wallet: bool,
    pregenerated_nonce: &'static str,
    wallet_lookahead: u32,
    headless: &'static str,
}

fn view(config: &PolicyConfig, sealed: Option<String>) -> Result<JsValue, JsError> {
    let v = PolicyView {
        sealed,
        max_external_per_tx: config.max_external_per_tx,
        max_external_per_day: config.max_external_per_day,
        allowlist: config.allowlist.iter().map(|a| a.text.clone()).collect(),
        max_fee: config.max_fee,
        max_feerate: config.max_feerate,
        over_limit: match config.over_limit {
            OverLimit::Ask => "ask",
            _ => "deny",
        },
        sweeps_require_own_wallet: config.sweeps_require_own_wallet,
        pregenerated_nonce: match config.pregenerated_nonce {
            NonceRule::MultisigOnly => "multisig-only",
            NonceRule::Refuse => "refuse",
            _ => "any",
        },
        wallet_lookahead: config.wallet_lookahead,
        headless: match config.headless {
            Headless::Allow => "allow",
            _ => "deny",
        },
    };
    to_js(&v).map_err(|e| JsError::new(&e.to_string()))
}

/// `null` for `None` (not `undefined`), as the TypeScript types say.
fn to_js<T: Serialize>(v: &T) -> Result<JsValue, serde_wasm_bindgen::Error> {
    v.serialize(&serde_wasm_bindgen::Serializer::json_compatible())
}

/// Checks a policy's JSON text for `network` without applying it: the
/// settings it gives, or the one-line error naming the key.
#[wasm_bindgen(js_name = checkPolicy, unchecked_return_type = "PolicyView")]
pub fn check_policy(text: &str, network: &str) -> Result<JsValue, JsError> {
    let network: Network = network
        .parse()
        .map_err(|e: lnd_web_signer::keys::network::UnknownNetwork| JsError::new(&e.to_string()))?;
    let config = parse_policy(text, network).map_err(|e| JsError::new(&e))?;
    view(&config, Some(text.to_owned()))
}

/// A pre-authorised budget as JavaScript gets it.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct BudgetView {
    remaining: u64,
    /// Expiry, milliseconds since 1970 (for `new Date(…)`).
    until_ms: f64,
}

/// An intact audit log.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct AuditView {
    entries: u64,
    head: String,
}

#[wasm_bindgen]
impl UnlockedSigner {
    /// The signing policy in force: its settings and the sealed text
    /// (`sealed: null` for the default policy).
    #[wasm_bindgen(getter, unchecked_return_type = "PolicyView")]
    pub fn policy(&self) -> Result<JsValue, JsError> {
        let config = with_signer(self, Signer::policy_config)?;
        view(&config, self.policy_text.borrow().clone())
    }

    /// Seals the policy `text` (JSON; `null` or empty: back to the default)
    /// into the vault `blob` this signer was opened from, and applies it.
    /// Needs the vault passphrase: nobody can loosen the policy at rest or
    /// in an unlocked tab without it. Returns the new vault bytes. What the
    /// old policy counted (the 24 h window, a budget) carries over.
    #[wasm_bindgen(js_name = sealPolicy)]
    pub fn seal_policy(
        &self,
        blob: &[u8],
        passphrase: String,
        text: Option<String>,
    ) -> Result<Uint8Array, JsError> {
        let passphrase = SecretString::new(passphrase);
        let text = text.filter(|t| !t.trim().is_empty());
        let config = match &text {
            Some(t) => parse_policy(t, self.network).map_err(|e| JsError::new(&e))?,
            None => PolicyConfig::default(),
        };
        let header = vault::read_header(blob).map_err(|e| JsError::new(&e.to_string()))?;
        let mut opened = vault::open(blob, passphrase.expose().as_bytes())
            .map_err(|e| JsError::new(&e.to_string()))?;
        let ours = with_signer(self, |s| s.root().master_fingerprint())?;
        if opened.root.master_fingerprint() != ours || opened.network != self.network {
            return Err(JsError::new(
                "this vault holds another seed than the unlocked signer",
            ));
        }
        opened.policy = text.clone();
        let sealed = vault::reseal(
            &opened,
            passphrase.expose().as_bytes(),
            header.kdf.for_reseal(),
            &lnd_web_signer::entropy::OsEntropy,
        )
        .map_err(|e| JsError::new(&e.to_string()))?;
        with_signer(self, |s| {
            s.set_policy(config, Box::new(JsClock));
            s.prepare_policy();
        })?;
        *self.policy_text.borrow_mut() = text;
        Ok(Uint8Array::from(sealed.as_slice()))
    }

    /// Pre-authorises up to `sats` satoshis to any address for the next
    /// `minutes` minutes: wallet spends over the per-transaction or daily
    /// limit within it are signed without asking (fee caps still apply).
    /// Every external satoshi signed while it runs counts against it.
    #[wasm_bindgen(js_name = setBudget)]
    pub fn set_budget(&self, sats: f64, minutes: f64) -> Result<(), JsError> {
        if sats.fract() != 0.0 || !(1.0..=21e14).contains(&sats) {
            return Err(JsError::new(
                "the budget must be a whole number of satoshis from 1 to 2100000000000000",
            ));
        }
        if !(minutes > 0.0 && minutes <= MAX_BUDGET_MINUTES) {
            return Err(JsError::new(&format!(
                "the budget must run for more than 0 and at most {MAX_BUDGET_MINUTES} minutes"
            )));
        }
        let until = JsClock.now_unix() + (minutes * 60.0).ceil() as u64;
        with_signer(self, |s| {
            s.with_policy(|p| {
                p.set_budget(Some(Budget {
                    remaining: sats as u64,
                    until,
                }));
            });
        })
    }

    /// Ends the pre-authorised budget.
    #[wasm_bindgen(js_name = clearBudget)]
    pub fn clear_budget(&self) -> Result<(), JsError> {
        with_signer(self, |s| s.with_policy(|p| p.set_budget(None)))
    }

    /// The budget left now, or `null` (none, used up or expired).
    #[wasm_bindgen(getter, unchecked_return_type = "BudgetView | null")]
    pub fn budget(&self) -> Result<JsValue, JsError> {
        let now = JsClock.now_unix();
        let b = with_signer(self, |s| s.with_policy(|p| p.budget(now)))?;
        match b.filter(|b| b.remaining > 0) {
            None => Ok(JsValue::NULL),
            Some(b) => to_js(&BudgetView {
                remaining: b.remaining,
                until_ms: b.until as f64 * 1000.0,
            })
            .map_err(|e| JsError::new(&e.to_string())),
        }
    }

    /// Continues the audit log `text` (the lines stored so far, each ending
    /// in a newline; empty: a new log): checks its chain with this seed's
    /// key, counts the spends it allowed in the last 24 h again, and from
    /// now on every decision becomes a line for the `storeAudit` hook of
    /// `connect`. A broken log is refused, naming the first bad line.
    /// Returns the number of entries.
    #[wasm_bindgen(js_name = resumeAudit)]
    pub fn resume_audit(&self, text: &str) -> Result<f64, JsError> {
        with_signer(self, |s| {
            let (chain, entries) = AuditChain::resume(s.audit_key(), text)
                .map_err(|e| JsError::new(&format!("the audit log is broken at {e}")))?;
            let n = chain.len();
            s.set_audit(chain, &entries);
            Ok(n as f64)
        })?
    }

    /// Checks an audit log (e.g. an export) with this seed's key: its
    /// entry count, or an error naming the first bad line.
    #[wasm_bindgen(js_name = verifyAudit, unchecked_return_type = "AuditView")]
    pub fn verify_audit(&self, text: &str) -> Result<JsValue, JsError> {
        let key = with_signer(self, Signer::audit_key)?;
        let summary = audit::verify(&key, text)
            .map_err(|e| JsError::new(&format!("the audit log is broken at {e}")))?;
        to_js(&AuditView {
            entries: summary.entries,
            head: summary.head,
        })
        .map_err(|e| JsError::new(&e.to_string()))
    }
}
