//! The wasm-bindgen surface (camelCase JS names, TypeScript types below).
//!
//! Keys never leave wasm memory once a vault is opened: [`UnlockedSigner`]
//! holds the root key and the macaroon; JavaScript only gets public data
//! (network, birthday, fingerprint, accounts JSON) and status events.
//! JavaScript strings passed in (mnemonic, passphrases) cannot be wiped by
//! us; the copies made on the Rust side are zeroized.
//!
//! `createSeed`, `sealVault`, `openVault`, `accountsJson` and
//! `UnlockedSigner.fromSeed` run scrypt/Argon2id synchronously (a fraction
//! of a second to a few seconds in Chromium): call them from a Worker to
//! keep a page responsive.

use std::cell::RefCell;
use std::rc::Rc;

use js_sys::{Function, Reflect, Uint8Array};
use serde::Serialize;
use wasm_bindgen::prelude::*;
use zeroize::Zeroize;

use super::connection::{self, ConnectOptions, Connection, SharedSigner, Status};
use super::error_code::ErrorCode;
use super::host;
use lnd_web_signer::entropy::OsEntropy;
use lnd_web_signer::keys::accounts::try_accounts_json;
use lnd_web_signer::keys::aezeed::{CipherSeed, Mnemonic};
use lnd_web_signer::keys::seed::SeedInput;
use lnd_web_signer::keys::{Network, RootKey};
use lnd_web_signer::secret::{SecretBytes, SecretString};
use lnd_web_signer::session::Backoff;
use lnd_web_signer::signer::Signer;
use lnd_web_signer::vault::{self, KdfParams};

#[wasm_bindgen(typescript_custom_section)]
const TS_TYPES: &'static str = r#"
/** lnd network names (case-insensitive; "bitcoin" and "testnet3" are accepted too). */
export type NetworkName = "mainnet" | "testnet" | "testnet4" | "signet" | "regtest" | "simnet";

/** Result of createSeed. Write the words down: they are the wallet. */
export interface NewSeed {
  /** The 24 aezeed words. */
  mnemonic: string[];
  /** Wallet birthday, Unix seconds (lnd's day resolution). */
  birthday: number;
  /** Birthday in days since the genesis block (as stored in the aezeed). */
  birthdayDays: number;
  /** lnd's name of the network. */
  network: string;
}

/** A seed as the user gives it: 24 aezeed words (+ optional aezeed passphrase) or one xprv/tprv. */
export interface SeedInput {
  network: NetworkName | string;
  /** 24 words, as an array or one space-separated string. */
  mnemonic?: string[] | string;
  /** aezeed passphrase (empty or absent = lnd's default). */
  aezeedPassphrase?: string;
  /** Extended master private key instead of a mnemonic. */
  xprv?: string;
}

/**
 * Argon2id cost of a new vault (defaults: 65536 KiB, 2 passes, 1 lane). At
 * least 19456 KiB and 2 passes (OWASP's Argon2id minimum): cheaper ones are
 * refused.
 */
export interface KdfParams {
  mCostKib: number;
  tCost: number;
  pCost: number;
}

export interface SealInput extends SeedInput {
  /** The passphrase protecting the vault. */
  vaultPassphrase: string;
  /** lnd macaroon (hex) to keep in the vault, used by connect(). */
  macaroonHex?: string;
  kdf?: KdfParams;
}

/** Options of UnlockedSigner.connect (all optional). */
export interface ConnectOptions {
  /** fetch to use instead of globalThis.fetch: (Request) => Promise<Response>. */
  fetch?: (request: Request) => Promise<Response>;
  /**
   * Whether answers ready while Reply calls are open may leave together in
   * one ReplyBatch call (default true, but false when `fetch` is given: a
   * fetch that inspects the calls must then know ReplyBatch bodies too).
   */
  batchReplies?: boolean;
  /** First reconnect delay (default 1000). */
  initialBackoffMs?: number;
  /** Largest reconnect delay (default 60000). */
  maxBackoffMs?: number;
  /** Deadline for the node's registration answer (default 5000). */
  handshakeTimeoutMs?: number;
  /**
   * lnd's healthcheck.remotesigner.interval (default 60000): the idle
   * watchdog counts in these intervals.
   */
  healthCheckIntervalMs?: number;
  /**
   * Reconnect when no message at all came from lnd for this many
   * health-check intervals (default 3; 0 turns the idle watchdog off).
   */
  idleMultiple?: number;
  /**
   * The idle watchdog's limit given directly, overriding
   * healthCheckIntervalMs × idleMultiple (0 turns it off).
   */
  idleTimeoutMs?: number;
  /** Deadline for the Attach response and session token (default 10000). */
  attachTimeoutMs?: number;
  /** Deadline of one Reply call (default 10000). */
  replyTimeoutMs?: number;
  /**
   * Largest message received or sent, in bytes (4096 … 209715200, default
   * 209715200 = lnd's limit). A larger request from the bridge ends the
   * attempt before it is buffered. Lower it where memory is scarce (a
   * Worker has 128 MB).
   */
  maxMessageBytes?: number;
  /** registration_info sent to lnd (non-empty). */
  registrationInfo?: string;
  /** client_info of the Attach call (bridge log only). */
  clientInfo?: string;
  /**
   * How to reach the bridge: "websocket" (its WebSocket channel, one
   * message per answer), "grpc-web" (an Attach stream and a Reply call per
   * answer, through `fetch`), or "auto" (the WebSocket, and grpc-web when
   * no socket can be opened: an older bridge, a proxy without WebSocket
   * support). Default "auto", but "grpc-web" when `fetch` is given.
   */
  transport?: "auto" | "websocket" | "grpc-web";
  /**
   * Describe each answered request in its "request" status (`request`,
   * `reply`: public data only, as StreamInspector gives), for an activity
   * log that cannot read the traffic itself (the WebSocket channel).
   * Default false.
   */
  describeRequests?: boolean;
  /**
   * Stores the MuSig2 used-nonce entries a signature added (54 bytes each,
   * public data: hashes of the nonce and of what it signed) before the
   * answer carrying that signature leaves; the answer waits for the
   * returned promise (at most 2 s). If it rejects or is late, the signature
   * is withheld and lnd gets a SignerError. Hand what was stored to
   * UnlockedSigner.importUsedNonces when a signer for this node starts
   * again, so a nonce is refused in another context across reloads and
   * takeovers too. Default: the record lives in memory only.
   */
  storeUsedNonces?: (entries: Uint8Array) => Promise<void>;
  /**
   * Stores audit lines (each ending in "\n") of the decisions since the
   * last answer, before that answer leaves (at most 2 s; a failure makes
   * the answer a SignerError naming the audit log). Needs a log started
   * with UnlockedSigner.resumeAudit. Append them, in order, to what
   * resumeAudit gets next time.
   */
  storeAudit?: (lines: string) => Promise<void>;
  /**
   * Asks the user about a request the signing policy says "ask" for
   * (over_limit = "ask"); resolve true to sign, false to refuse. The
   * request waits in a task of its own (pings and other requests go on);
   * no answer within approvalTimeoutMs refuses it. Without it, "ask"
   * becomes the policy's approvals.headless.
   */
  approve?: (request: ApprovalRequest) => Promise<boolean>;
  /**
   * How long an approval may take, ms (default 4000, 100 … 600000): keep
   * it under lnd's remotesigner.experimentalrequesttimeout (5 s by
   * default; lnd shuts down when a request misses it).
   */
  approvalTimeoutMs?: number;
}

/** A request waiting for the user's approval (ConnectOptions.approve). */
export interface ApprovalRequest {
  id: RequestId;
  /** Request kind, e.g. "SignPsbt". */
  kind: string;
  /** Why the policy asks: the rules' tags and reasons. */
  reason: string;
  tags: string[];
  txid: string | null;
  /** Outputs: address (or "script:HEX"), satoshis, "own" | "allowlist" | "external". */
  outputs: { to: string; value: number; whose: string }[];
  /** Satoshis paid outside the wallet and the allowlist. */
  external: number | null;
  fee: number | null;
  paths: string[];
  /** When the answer is due (ms since 1970) and the whole approval time. */
  deadlineMs: number;
  timeoutMs: number;
}

/** The signing policy in force (UnlockedSigner.policy, checkPolicy). */
export interface PolicyView {
  /** The policy's JSON text as sealed; null: the default policy. */
  sealed: string | null;
  maxExternalPerTx: number | null;
  maxExternalPerDay: number | null;
  allowlist: string[];
  maxFee: number | null;
  maxFeerate: number | null;
  overLimit: "deny" | "ask";
  sweepsRequireOwnWallet: boolean;
  pregeneratedNonce: "multisig-only" | "refuse" | "any";
  walletLookahead: number;
  headless: "deny" | "allow";
}

/** A pre-authorised budget: satoshis left and its expiry (ms since 1970). */
export interface BudgetView {
  remaining: number;
  untilMs: number;
}

/** An intact audit log: its entries and the last entry's MAC (hex). */
export interface AuditView {
  entries: number;
  head: string;
}

/**
 * lnd's request id (uint64) as an exact decimal string, e.g. "2" or
 * "18446744073709551615": JavaScript numbers are exact only up to 2^53.
 */
export type RequestId = string;

/**
 * Stable error code of an `error` or `disconnected` status (and of an
 * Attach stream's end): set from gRPC status codes, transport failures and
 * the signer loop's own checks, never from the English `reason`. New codes
 * may be added: treat an unknown one like "internal". errorCodes() lists
 * them; docs/wasm-transport.md says which cause gets which.
 */
export type ErrorCode =
  | "bridge_unreachable"
  | "bridge_timeout"
  | "bridge_busy"
  | "bridge_shutdown"
  | "lnd_unreachable"
  | "tls_mismatch"
  | "macaroon_rejected"
  | "lnd_refused"
  | "another_signer"
  | "handshake_timeout"
  | "lnd_lost"
  | "lnd_silent"
  | "session_ended"
  | "protocol"
  | "internal"
  | "locked"
  | "disconnected";

/** Status events of a connection, passed to onStatus. */
export type SignerStatus =
  | { kind: "connecting"; attempt: number; url: string }
  | { kind: "registered"; attempt: number; nodeInfo: string; transport: "websocket" | "grpc-web" }
  | { kind: "ping"; id: RequestId; latencyMs: number }
  | { kind: "request"; requestKind: string; id: RequestId; latencyMs: number; signMs: number; error: string | null; request?: StreamRequestInfo; reply?: StreamReplyInfo }
  | { kind: "error"; attempt: number; reason: string; silentMs: number | null; code: ErrorCode }
  | { kind: "reconnecting"; attempt: number; delayMs: number; wasRegistered: boolean }
  | { kind: "disconnected"; reason: string; code: ErrorCode };

/** One request kind of lnd's SignCoordinatorRequest (a row of kindTable()). */
export interface KindInfo {
  /** Protobuf field name of the member, e.g. "sign_psbt_request" ("unset" for none). */
  field: string;
  /** Short name as in SignerStatus.requestKind and the activity log, e.g. "sign_psbt". */
  name: string;
  /** Human label, e.g. "Sign PSBT". */
  label: string;
  /** Protobuf field name of the answering response member (null: only signer_error). */
  response: string | null;
  /** Whether lnd re-sends it with a new id after the signer reconnects. */
  retryable: boolean;
  /** Who answers it: the session at once, or the signer. */
  answeredBy: "session" | "signer";
}

export interface ConnectionStats {
  attempts: number;
  registrations: number;
  pings: number;
  requests: number;
  registered: boolean;
  running: boolean;
}
"#;

#[wasm_bindgen]
extern "C" {
    /// `NewSeed` in TypeScript.
    #[wasm_bindgen(typescript_type = "NewSeed")]
    pub type JsNewSeed;
    /// `SeedInput` in TypeScript.
    #[wasm_bindgen(typescript_type = "SeedInput")]
    pub type JsSeedInput;
    /// `SealInput` in TypeScript.
    #[wasm_bindgen(typescript_type = "SealInput")]
    pub type JsSealInput;
    /// `ConnectOptions` in TypeScript.
    #[wasm_bindgen(typescript_type = "ConnectOptions")]
    pub type JsConnectOptions;
    /// `ConnectionStats` in TypeScript.
    #[wasm_bindgen(typescript_type = "ConnectionStats")]
    pub type JsConnectionStats;
    /// `(status: SignerStatus) => void` in TypeScript.
    #[wasm_bindgen(typescript_type = "((status: SignerStatus) => void)")]
    pub type JsStatusCallback;
}

use super::js_value::to_js;

fn parse_network(name: &str) -> Result<Network, JsError> {
    name.parse::<Network>()
        .map_err(|e| JsError::new(&e.to_string()))
}

/// A status event as JavaScript gets it: the [`Status`] fields plus `code`
/// (the [`ErrorCode`] string) when the event has one.
#[derive(Serialize)]
struct StatusEvent<'a> {
    #[serde(flatten)]
    status: &'a Status,
    #[serde(skip_serializing_if = "Option::is_none")]
    code: Option<ErrorCode>,
}

/// The JavaScript object of a status event (see [`StatusEvent`]).
pub fn status_to_js(status: &Status, code: Option<ErrorCode>) -> Result<JsValue, JsError> {
    to_js(&StatusEvent { status, code })
}

/// Every error code of status events (the `ErrorCode` type), in a stable
/// order.
#[wasm_bindgen(js_name = errorCodes, unchecked_return_type = "ErrorCode[]")]
pub fn error_codes() -> js_sys::Array {
    ErrorCode::ALL
        .iter()
        .map(|c| JsValue::from_str(c.as_str()))
        .collect()
}

/// The request kinds of lnd's sign coordinator (the core's one table:
/// names as in `SignerStatus.requestKind`, labels, retry policy, …).
#[wasm_bindgen(js_name = kindTable, unchecked_return_type = "KindInfo[]")]
pub fn kind_table() -> Result<JsValue, JsError> {
    to_js(lnd_web_signer::request::kind_table())
}

/// The crate version.
#[wasm_bindgen]
pub fn version() -> String {
    env!("CARGO_PKG_VERSION").to_owned()
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct NewSeed {
    mnemonic: Vec<&'static str>,
    birthday: u64,
    birthday_days: u16,
    network: &'static str,
}

/// A new aezeed (internal version 1, birthday today, 16 random entropy bytes
/// and 5 random salt bytes, as lnd's `GenSeed`), enciphered under
/// `aezeedPassphrase` (absent or empty = lnd's default). Runs scrypt (about
/// a second).
#[wasm_bindgen(js_name = createSeed)]
pub fn create_seed(
    network: &str,
    #[wasm_bindgen(js_name = aezeedPassphrase)] aezeed_passphrase: Option<String>,
) -> Result<JsNewSeed, JsError> {
    let network = parse_network(network)?;
    let passphrase = SecretString::new(aezeed_passphrase.unwrap_or_default());
    let (seed, mnemonic) = new_aezeed(&passphrase)?;
    let out = NewSeed {
        mnemonic: mnemonic.words().collect(),
        birthday: seed.birthday_unix(),
        birthday_days: seed.birthday_days(),
        network: network.name(),
    };
    Ok(to_js(&out)?.unchecked_into())
}

/// A new aezeed as lnd's `GenSeed` makes it, enciphered under `passphrase`.
fn new_aezeed(passphrase: &SecretString) -> Result<(CipherSeed, Mnemonic), JsError> {
    let mut random = zeroize::Zeroizing::new([0u8; 21]);
    vault::os_random(&mut random[..]).map_err(|e| JsError::new(&e.to_string()))?;
    let mut entropy = [0u8; 16];
    entropy.copy_from_slice(&random[..16]);
    let mut salt = [0u8; 5];
    salt.copy_from_slice(&random[16..]);
    let now_secs = (js_sys::Date::now() / 1000.0).max(0.0) as u64;
    let seed = CipherSeed::new(
        1,
        CipherSeed::birthday_days_from_unix(now_secs),
        entropy,
        salt,
    );
    entropy.zeroize();
    let mnemonic = seed
        .to_mnemonic(passphrase.expose().as_bytes())
        .map_err(|e| JsError::new(&e.to_string()))?;
    Ok((seed, mnemonic))
}

/// Most answers [`PendingSeed::check_words`] takes (one per word).
const MAX_WORD_ANSWERS: u32 = 24;

/// A new seed between its creation and its sealing (the signer tab's
/// "write these words down, type three of them back" steps). Its words and
/// aezeed passphrase stay in wasm memory, wiped on `free()`/drop; JavaScript
/// gets the words exactly once, for the one-time display (`takeWords`),
/// checks the user's copy with `checkWords` and seals with `seal`.
#[wasm_bindgen]
pub struct PendingSeed {
    network: Network,
    birthday: u64,
    mnemonic: Mnemonic,
    aezeed_passphrase: SecretString,
    words_taken: bool,
}

impl core::fmt::Debug for PendingSeed {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("PendingSeed")
            .field("network", &self.network)
            .field("words_taken", &self.words_taken)
            .finish_non_exhaustive()
    }
}

#[wasm_bindgen]
impl PendingSeed {
    /// A new aezeed for `network` (as `createSeed`; runs scrypt), enciphered
    /// under `aezeedPassphrase` (absent or empty = lnd's default).
    #[wasm_bindgen(constructor)]
    pub fn new(
        network: &str,
        #[wasm_bindgen(js_name = aezeedPassphrase)] aezeed_passphrase: Option<String>,
    ) -> Result<PendingSeed, JsError> {
        let network = parse_network(network)?;
        let aezeed_passphrase = SecretString::new(aezeed_passphrase.unwrap_or_default());
        let (seed, mnemonic) = new_aezeed(&aezeed_passphrase)?;
        Ok(PendingSeed {
            network,
            birthday: seed.birthday_unix(),
            mnemonic,
            aezeed_passphrase,
            words_taken: false,
        })
    }

    /// lnd's name of the network.
    #[wasm_bindgen(getter)]
    pub fn network(&self) -> String {
        self.network.name().to_owned()
    }

    /// Wallet birthday, Unix seconds.
    #[wasm_bindgen(getter)]
    pub fn birthday(&self) -> f64 {
        self.birthday as f64
    }

    /// The 24 words, for their one-time display; every later call fails.
    #[wasm_bindgen(js_name = takeWords, unchecked_return_type = "string[]")]
    pub fn take_words(&mut self) -> Result<js_sys::Array, JsError> {
        if self.words_taken {
            return Err(JsError::new("the words of this seed were already shown"));
        }
        self.words_taken = true;
        Ok(self.mnemonic.words().map(JsValue::from_str).collect())
    }

    /// Checks the user's copy of some words: `answers` is
    /// `[{position, word}]` (1-based positions, at most 24 answers); returns
    /// the positions whose word does not match (case and surrounding space
    /// ignored).
    #[wasm_bindgen(js_name = checkWords, unchecked_return_type = "number[]")]
    pub fn check_words(
        &self,
        #[wasm_bindgen(unchecked_param_type = "{ position: number; word: string }[]")]
        answers: JsValue,
    ) -> Result<js_sys::Array, JsError> {
        if !js_sys::Array::is_array(&answers) {
            return Err(JsError::new("answers must be an array of {position, word}"));
        }
        let answers: js_sys::Array = answers.unchecked_into();
        if answers.length() > MAX_WORD_ANSWERS {
            return Err(JsError::new("at most 24 answers"));
        }
        let words: Vec<&'static str> = self.mnemonic.words().collect();
        let wrong = js_sys::Array::new();
        for a in answers.iter() {
            let position = get_u32(&a, "position")?
                .ok_or_else(|| JsError::new("an answer has no position"))?;
            let word = SecretString::new(get_string(&a, "word")?.unwrap_or_default());
            let want = usize::try_from(position)
                .ok()
                .and_then(|p| p.checked_sub(1))
                .and_then(|i| words.get(i));
            let typed = word.expose().trim();
            if !want.is_some_and(|w| typed.eq_ignore_ascii_case(w)) {
                wrong.push(&JsValue::from(position));
            }
        }
        Ok(wrong)
    }

    /// Seals the seed under `vaultPassphrase` (Argon2id + AES-256-GCM; `kdf`
    /// optional, at least the sealing floor). Returns the vault bytes. The
    /// seed stays pending until `free()`.
    pub fn seal(
        &self,
        #[wasm_bindgen(js_name = vaultPassphrase)] vault_passphrase: String,
        #[wasm_bindgen(unchecked_param_type = "KdfParams | undefined")] kdf: JsValue,
    ) -> Result<Uint8Array, JsError> {
        let passphrase = SecretString::new(vault_passphrase);
        if passphrase.expose().is_empty() {
            return Err(JsError::new("vaultPassphrase must not be empty"));
        }
        let kdf = kdf_params(&kdf)?;
        let seed = SeedInput::Aezeed {
            mnemonic: SecretString::new(self.mnemonic.phrase()),
            passphrase: self.aezeed_passphrase.clone(),
        };
        let blob = vault::seal_with_os_rng(
            &seed,
            self.network,
            None,
            passphrase.expose().as_bytes(),
            kdf,
        )
        .map_err(|e| JsError::new(&e.to_string()))?;
        Ok(Uint8Array::from(blob.as_slice()))
    }
}

/// Seed fields read from a JS object; wiped on drop.
#[derive(Default)]
struct SeedFields {
    network: String,
    mnemonic: Option<SecretString>,
    aezeed_passphrase: SecretString,
    xprv: Option<SecretString>,
}

fn get(obj: &JsValue, name: &str) -> Option<JsValue> {
    Reflect::get(obj, &JsValue::from_str(name))
        .ok()
        .filter(|v| !v.is_undefined() && !v.is_null())
}

fn get_string(obj: &JsValue, name: &str) -> Result<Option<String>, JsError> {
    match get(obj, name) {
        None => Ok(None),
        Some(v) => v
            .as_string()
            .map(Some)
            .ok_or_else(|| JsError::new(&format!("{name} must be a string"))),
    }
}

fn get_f64(obj: &JsValue, name: &str) -> Result<Option<f64>, JsError> {
    match get(obj, name) {
        None => Ok(None),
        Some(v) => match v.as_f64() {
            Some(n) if n.is_finite() && n >= 0.0 => Ok(Some(n)),
            _ => Err(JsError::new(&format!(
                "{name} must be a non-negative number"
            ))),
        },
    }
}

fn get_u32(obj: &JsValue, name: &str) -> Result<Option<u32>, JsError> {
    match get_f64(obj, name)? {
        None => Ok(None),
        Some(n) if n.fract() == 0.0 && n <= f64::from(u32::MAX) => Ok(Some(n as u32)),
        Some(_) => Err(JsError::new(&format!("{name} must be a whole number"))),
    }
}

fn read_seed_fields(input: &JsValue) -> Result<SeedFields, JsError> {
    if !input.is_object() {
        return Err(JsError::new(
            "seed input must be an object {network, mnemonic | xprv, aezeedPassphrase?}",
        ));
    }
    let network =
        get_string(input, "network")?.ok_or_else(|| JsError::new("network is missing"))?;
    let mnemonic = match get(input, "mnemonic") {
        None => None,
        Some(v) if js_sys::Array::is_array(&v) => {
            let arr: js_sys::Array = v.unchecked_into();
            let mut words = Vec::with_capacity(arr.length() as usize);
            for (i, w) in arr.iter().enumerate() {
                let w = w.as_string().ok_or_else(|| {
                    JsError::new(&format!("mnemonic word {} is not a string", i + 1))
                })?;
                words.push(SecretString::new(w));
            }
            let joined: Vec<&str> = words.iter().map(|w| w.expose().trim()).collect();
            Some(SecretString::new(joined.join(" ")))
        }
        Some(v) => Some(SecretString::new(v.as_string().ok_or_else(|| {
            JsError::new("mnemonic must be an array of words or a string")
        })?)),
    };
    let xprv = get_string(input, "xprv")?.map(SecretString::new);
    let aezeed_passphrase =
        SecretString::new(get_string(input, "aezeedPassphrase")?.unwrap_or_default());
    Ok(SeedFields {
        network,
        mnemonic,
        aezeed_passphrase,
        xprv,
    })
}

fn seed_input(fields: &SeedFields) -> Result<(Network, SeedInput), JsError> {
    let network = parse_network(&fields.network)?;
    let seed = match (&fields.mnemonic, &fields.xprv) {
        (Some(_), Some(_)) => {
            return Err(JsError::new("give either mnemonic or xprv, not both"));
        }
        (None, None) => return Err(JsError::new("mnemonic or xprv is missing")),
        (Some(m), None) => {
            let words: Vec<&str> = m.expose().split_whitespace().collect();
            SeedInput::Aezeed {
                mnemonic: SecretString::new(words.join(" ")),
                passphrase: fields.aezeed_passphrase.clone(),
            }
        }
        (None, Some(x)) => {
            if !fields.aezeed_passphrase.expose().is_empty() {
                return Err(JsError::new(
                    "an aezeed passphrase was given with an xprv (it only applies to aezeed seeds)",
                ));
            }
            SeedInput::Xprv(SecretString::from(x.expose().trim()))
        }
    };
    Ok((network, seed))
}

fn root_of(input: &JsValue) -> Result<(RootKey, u64), JsError> {
    let fields = read_seed_fields(input)?;
    let (network, seed) = seed_input(&fields)?;
    seed.to_root(network)
        .map_err(|e| JsError::new(&e.to_string()))
}

/// The `lncli wallet accounts list` JSON for `lncli createwatchonly`, from
/// a seed. Runs scrypt for an aezeed.
#[wasm_bindgen(js_name = accountsJson)]
pub fn accounts_json(input: JsSeedInput) -> Result<String, JsError> {
    let (root, _) = root_of(&input)?;
    try_accounts_json(&root).map_err(|e| JsError::new(&e.to_string()))
}

fn parse_macaroon_hex(hex_text: &str) -> Result<SecretBytes, JsError> {
    hex::decode(hex_text.trim())
        .map(SecretBytes::new)
        .map_err(|e| JsError::new(&format!("macaroon hex is invalid: {e}")))
}

/// A macaroon from optional hex text; absent or blank = `None`. The text is
/// wiped after parsing.
fn optional_macaroon(hex_text: Option<String>) -> Result<Option<SecretBytes>, JsError> {
    let Some(text) = hex_text.map(SecretString::new) else {
        return Ok(None);
    };
    if text.expose().trim().is_empty() {
        return Ok(None);
    }
    parse_macaroon_hex(text.expose()).map(Some)
}

fn read_kdf(input: &JsValue) -> Result<KdfParams, JsError> {
    kdf_params(&get(input, "kdf").unwrap_or(JsValue::UNDEFINED))
}

/// `KdfParams` from a JS object (absent fields: the default); undefined or
/// null = the default.
fn kdf_params(kdf: &JsValue) -> Result<KdfParams, JsError> {
    if kdf.is_undefined() || kdf.is_null() {
        return Ok(KdfParams::DEFAULT);
    }
    let d = KdfParams::DEFAULT;
    Ok(KdfParams {
        m_cost_kib: get_u32(kdf, "mCostKib")?.unwrap_or(d.m_cost_kib),
        t_cost: get_u32(kdf, "tCost")?.unwrap_or(d.t_cost),
        p_cost: get_u32(kdf, "pCost")?.unwrap_or(d.p_cost),
    })
}

/// Seals a seed (checked: it must decode for the network) and an optional
/// macaroon under `vaultPassphrase` (Argon2id + AES-256-GCM,
/// docs/vault-format.md). Returns the vault bytes to store.
#[wasm_bindgen(js_name = sealVault)]
pub fn seal_vault(input: JsSealInput) -> Result<Uint8Array, JsError> {
    let fields = read_seed_fields(&input)?;
    let (network, seed) = seed_input(&fields)?;
    let passphrase = SecretString::new(
        get_string(&input, "vaultPassphrase")?
            .ok_or_else(|| JsError::new("vaultPassphrase is missing"))?,
    );
    if passphrase.expose().is_empty() {
        return Err(JsError::new("vaultPassphrase must not be empty"));
    }
    let macaroon = optional_macaroon(get_string(&input, "macaroonHex")?)?;
    let kdf = read_kdf(&input)?;
    let blob = vault::seal_with_os_rng(
        &seed,
        network,
        macaroon.as_ref(),
        passphrase.expose().as_bytes(),
        kdf,
    )
    .map_err(|e| JsError::new(&e.to_string()))?;
    Ok(Uint8Array::from(blob.as_slice()))
}

/// Opens a vault; the keys stay in wasm memory inside the returned signer.
/// Runs Argon2id (about a second). The signing policy is the one sealed in
/// the vault, or `policy` (JSON text, as `sealPolicy` takes it) when given:
/// a host's configuration (the worker's `POLICY` binding), applied only
/// here, with the passphrase.
#[wasm_bindgen(js_name = openVault)]
pub fn open_vault(
    blob: &[u8],
    passphrase: String,
    policy: Option<String>,
) -> Result<UnlockedSigner, JsError> {
    let passphrase = SecretString::new(passphrase);
    let opened = vault::open(blob, passphrase.expose().as_bytes())
        .map_err(|e| JsError::new(&e.to_string()))?;
    let vault::OpenedVault {
        network,
        birthday_unix,
        macaroon,
        root,
        seed,
        policy: sealed,
    } = opened;
    let policy = policy.filter(|p| !p.trim().is_empty()).or(sealed);
    let signer = UnlockedSigner::new(root, network, &seed, birthday_unix, macaroon);
    // The policy sealed with the seed; one that no longer reads refuses the
    // unlock rather than signing under the default.
    super::policy::apply_sealed(&signer, policy)?;
    Ok(signer)
}

/// An unlocked signer: the root key (and the vault's macaroon) in wasm
/// memory. `lock()` or `free()` stops its connections and wipes the keys.
#[wasm_bindgen]
pub struct UnlockedSigner {
    pub(crate) signer: SharedSigner,
    pub(crate) network: Network,
    birthday: u64,
    /// The wallet birthday as `lncli createwatchonly` wants it (none for an
    /// extended key).
    pub(crate) wallet_birthday: lnd_web_signer::bundle::Birthday,
    fingerprint: [u8; 4],
    pub(crate) macaroon: RefCell<Option<SecretBytes>>,
    /// The policy text sealed in the vault (`None`: the default policy).
    pub(crate) policy_text: RefCell<Option<String>>,
    connections: RefCell<Vec<Connection>>,
}

impl core::fmt::Debug for UnlockedSigner {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("UnlockedSigner")
            .field("network", &self.network)
            .field("locked", &self.signer.borrow().is_none())
            .finish_non_exhaustive()
    }
}

impl UnlockedSigner {
    fn new(
        root: RootKey,
        network: Network,
        seed: &SeedInput,
        birthday: u64,
        macaroon: Option<SecretBytes>,
    ) -> Self {
        let fingerprint = root.master_fingerprint();
        let signer = Signer::new(root, Box::new(OsEntropy));
        // The browser's clock for the 24 h window and budgets.
        signer.set_policy(signer.policy_config(), Box::new(super::policy::JsClock));
        // The policy's wallet scripts now, while unlocking, not on the first
        // wallet spend (where the requests and pings behind it would wait).
        signer.prepare_policy();
        // Evictions keep the MuSig2 session table bounded (lnd never cleans
        // up the sessions of the remote commitments it signs): one console
        // line each, as the native signer logs them.
        signer.set_musig2_logger(Box::new(|line: &str| {
            web_sys::console::info_1(&wasm_bindgen::JsValue::from_str(line));
        }));
        Self {
            signer: Rc::new(RefCell::new(Some(signer))),
            network,
            birthday,
            wallet_birthday: lnd_web_signer::bundle::Birthday::of_seed(seed, birthday),
            fingerprint,
            macaroon: RefCell::new(macaroon),
            policy_text: RefCell::new(None),
            connections: RefCell::new(Vec::new()),
        }
    }

    pub(crate) fn locked_error() -> JsError {
        JsError::new("the signer is locked")
    }

    /// The shared signer slot (Rust hosts and tests).
    pub fn shared(&self) -> SharedSigner {
        Rc::clone(&self.signer)
    }

    /// Starts the signer loop from Rust (tests and Rust hosts), with a Rust
    /// status sink.
    pub fn connect_with(
        &self,
        options: ConnectOptions,
        on_status: Rc<dyn Fn(&Status)>,
    ) -> Result<SignerConnection, JsError> {
        self.connect_coded_with(options, Rc::new(move |s: &Status, _| on_status(s)))
    }

    /// [`Self::connect_with`] with a sink that also gets each event's
    /// [`ErrorCode`] (`error` and `disconnected` events).
    pub fn connect_coded_with(
        &self,
        options: ConnectOptions,
        on_status: connection::CodedStatusSink,
    ) -> Result<SignerConnection, JsError> {
        if self.signer.borrow().is_none() {
            return Err(Self::locked_error());
        }
        let conn = connection::connect_coded(Rc::clone(&self.signer), options, on_status);
        let mut list = self.connections.borrow_mut();
        list.retain(Connection::is_running);
        list.push(conn.clone());
        Ok(SignerConnection { conn })
    }
}

#[wasm_bindgen]
impl UnlockedSigner {
    /// A signer straight from a seed (no vault). Runs scrypt for an aezeed.
    #[wasm_bindgen(js_name = fromSeed)]
    pub fn from_seed(
        input: JsSeedInput,
        #[wasm_bindgen(js_name = macaroonHex)] macaroon_hex: Option<String>,
    ) -> Result<UnlockedSigner, JsError> {
        let fields = read_seed_fields(&input)?;
        let (network, seed) = seed_input(&fields)?;
        let (root, birthday) = seed
            .to_root(network)
            .map_err(|e| JsError::new(&e.to_string()))?;
        let macaroon = optional_macaroon(macaroon_hex)?;
        Ok(UnlockedSigner::new(
            root, network, &seed, birthday, macaroon,
        ))
    }

    /// lnd's name of the network.
    #[wasm_bindgen(getter)]
    pub fn network(&self) -> String {
        self.network.name().to_owned()
    }

    /// Wallet birthday (Unix seconds).
    #[wasm_bindgen(getter)]
    pub fn birthday(&self) -> f64 {
        self.birthday as f64
    }

    /// BIP-32 master key fingerprint, 8 lower-case hex digits.
    #[wasm_bindgen(getter)]
    pub fn fingerprint(&self) -> String {
        hex::encode(self.fingerprint)
    }

    /// Whether a macaroon is held (from the vault or `fromSeed`).
    #[wasm_bindgen(getter, js_name = hasMacaroon)]
    pub fn has_macaroon(&self) -> bool {
        self.macaroon.borrow().is_some()
    }

    /// Whether `lock()` was called.
    #[wasm_bindgen(getter)]
    pub fn locked(&self) -> bool {
        self.signer.borrow().is_none()
    }

    /// The `createwatchonly` accounts JSON of this key.
    #[wasm_bindgen(js_name = accountsJson)]
    pub fn accounts_json(&self) -> Result<String, JsError> {
        let guard = self.signer.borrow();
        let signer = guard.as_ref().ok_or_else(Self::locked_error)?;
        try_accounts_json(signer.root()).map_err(|e| JsError::new(&e.to_string()))
    }

    /// Connects to signer-bridge at `bridgeUrl` (grpc-web) and serves lnd's
    /// requests until `disconnect()`/`lock()`, reconnecting with backoff.
    /// `macaroonHex` overrides the stored macaroon (absent/empty: the
    /// stored one, or none). `onStatus` receives {@link SignerStatus}
    /// objects. Keep a reference to this signer while connected: freeing
    /// it (explicitly or by garbage collection) locks it and stops the
    /// connection.
    pub fn connect(
        &self,
        #[wasm_bindgen(js_name = bridgeUrl)] bridge_url: String,
        #[wasm_bindgen(js_name = macaroonHex)] macaroon_hex: Option<String>,
        #[wasm_bindgen(js_name = onStatus)] on_status: Option<JsStatusCallback>,
        options: Option<JsConnectOptions>,
    ) -> Result<SignerConnection, JsError> {
        let macaroon = match optional_macaroon(macaroon_hex)? {
            Some(m) => m,
            None => self.macaroon.borrow().clone().unwrap_or_default(),
        };
        let mut opts = ConnectOptions::new(&bridge_url, macaroon);
        if let Some(o) = options {
            apply_options(&mut opts, &o, self.network)?;
        }
        let callback: Option<Function> = on_status.map(JsCast::unchecked_into);
        let sink: connection::CodedStatusSink =
            Rc::new(move |status: &Status, code: Option<ErrorCode>| {
                if let Some(cb) = &callback {
                    if let Ok(obj) = status_to_js(status, code) {
                        let _ = cb.call1(&JsValue::UNDEFINED, &obj);
                    }
                }
            });
        self.connect_coded_with(opts, sink)
    }

    /// Seals `macaroon` (bytes; absent or empty = remove it) into `blob`, the
    /// vault this signer was opened from, and holds it for the next
    /// `connect()` (so the page never passes it again). `passphrase` is the
    /// vault passphrase; the vault must belong to this signer's key.
    /// Returns the new vault bytes (same KDF cost, at least the default if
    /// the vault's was below the floor). Runs Argon2id twice. The bytes are
    /// wiped here; the caller should wipe its own copy (`fill(0)`).
    #[wasm_bindgen(js_name = sealMacaroon)]
    pub fn seal_macaroon(
        &self,
        blob: &[u8],
        passphrase: String,
        macaroon: Option<Vec<u8>>,
    ) -> Result<Uint8Array, JsError> {
        let passphrase = SecretString::new(passphrase);
        let macaroon = macaroon.map(SecretBytes::new).filter(|m| !m.is_empty());
        if self.signer.borrow().is_none() {
            return Err(Self::locked_error());
        }
        let (sealed, opened) = super::page::reseal_with_macaroon(blob, &passphrase, macaroon)?;
        if opened.root.master_fingerprint() != self.fingerprint {
            return Err(JsError::new(&format!(
                "this vault holds another key (fingerprint {}, the unlocked signer is {})",
                hex::encode(opened.root.master_fingerprint()),
                hex::encode(self.fingerprint)
            )));
        }
        *self.macaroon.borrow_mut() = opened.macaroon.clone();
        Ok(Uint8Array::from(sealed.as_slice()))
    }

    /// Adds a stored MuSig2 used-nonce record (entries as `storeUsedNonces`
    /// got them, oldest first, concatenated) to this signer's; returns how
    /// many were new. Refuses a record that is not a whole number of
    /// entries.
    #[wasm_bindgen(js_name = importUsedNonces)]
    pub fn import_used_nonces(&self, record: &[u8]) -> Result<u32, JsError> {
        let guard = self.signer.borrow();
        let signer = guard.as_ref().ok_or_else(Self::locked_error)?;
        let added = signer
            .import_used_nonces(record)
            .map_err(|e| JsError::new(&e.to_string()))?;
        Ok(u32::try_from(added).unwrap_or(u32::MAX))
    }

    /// Bounds the MuSig2 session table of this signer (shared by all its
    /// connections): at most `n` never-signed and `n` signed-but-unfinished
    /// sessions, each about 0.9 KiB (default 10000; 1 … 1000000). Applies at
    /// once, evicting the oldest sessions beyond.
    #[wasm_bindgen(js_name = setMusig2MaxSessions)]
    pub fn set_musig2_max_sessions(&self, n: f64) -> Result<(), JsError> {
        let max = lnd_web_signer::musig2::MAX_MAX_SESSIONS;
        if n.fract() != 0.0 || !(1.0..=max as f64).contains(&n) {
            return Err(JsError::new(&format!(
                "the MuSig2 session bound must be a whole number from 1 to {max}"
            )));
        }
        let guard = self.signer.borrow();
        let signer = guard.as_ref().ok_or_else(Self::locked_error)?;
        signer.set_musig2_limits(lnd_web_signer::musig2::Limits::for_sessions(n as usize));
        Ok(())
    }

    /// Stops every connection and wipes the keys and the macaroon. The
    /// object stays usable for its public getters only.
    pub fn lock(&self) {
        // Keys first, so that nothing can sign from here on (status
        // callbacks run during the stops below and may call back in).
        let signer = self.signer.borrow_mut().take();
        drop(signer);
        let macaroon = self.macaroon.borrow_mut().take();
        drop(macaroon);
        let connections: Vec<Connection> = self.connections.borrow_mut().drain(..).collect();
        for c in connections {
            connection::stop_now(&c, "signer locked");
        }
    }
}

impl Drop for UnlockedSigner {
    fn drop(&mut self) {
        self.lock();
    }
}

fn apply_options(
    opts: &mut ConnectOptions,
    o: &JsValue,
    network: lnd_web_signer::keys::Network,
) -> Result<(), JsError> {
    if let Some(f) = get(o, "fetch") {
        opts.fetch = Some(
            f.dyn_into::<Function>()
                .map_err(|_| JsError::new("options.fetch must be a function"))?,
        );
        // A host's fetch may inspect the calls and need not know ReplyBatch,
        // and wants the calls to go through it.
        opts.batch_replies = false;
        opts.transport = connection::TransportMode::GrpcWeb;
    }
    if let Some(t) = get_string(o, "transport")? {
        opts.transport = connection::TransportMode::parse(&t).ok_or_else(|| {
            JsError::new("transport must be \"auto\", \"websocket\" or \"grpc-web\"")
        })?;
    }
    if let Some(b) = get(o, "describeRequests") {
        let on = b
            .as_bool()
            .ok_or_else(|| JsError::new("describeRequests must be a boolean"))?;
        opts.describe = on.then_some(network);
    }
    if let Some(f) = get(o, "storeUsedNonces") {
        opts.store_used_nonces = Some(
            f.dyn_into::<Function>()
                .map_err(|_| JsError::new("options.storeUsedNonces must be a function"))?,
        );
    }
    if let Some(f) = get(o, "storeAudit") {
        opts.store_audit = Some(
            f.dyn_into::<Function>()
                .map_err(|_| JsError::new("options.storeAudit must be a function"))?,
        );
    }
    if let Some(f) = get(o, "approve") {
        opts.approve = Some(
            f.dyn_into::<Function>()
                .map_err(|_| JsError::new("options.approve must be a function"))?,
        );
    }
    if let Some(ms) = get_f64(o, "approvalTimeoutMs")? {
        let max = connection::MAX_APPROVAL_TIMEOUT.as_millis() as f64;
        if !(100.0..=max).contains(&ms) {
            return Err(JsError::new(&format!(
                "approvalTimeoutMs must be from 100 to {max}"
            )));
        }
        opts.approval_timeout = host::ms_to_duration(ms);
    }
    if let Some(b) = get(o, "batchReplies") {
        opts.batch_replies = b
            .as_bool()
            .ok_or_else(|| JsError::new("batchReplies must be a boolean"))?;
    }
    let ms = |name: &str| -> Result<Option<core::time::Duration>, JsError> {
        Ok(get_f64(o, name)?.map(host::ms_to_duration))
    };
    let initial = ms("initialBackoffMs")?;
    let max = ms("maxBackoffMs")?;
    if initial.is_some() || max.is_some() {
        let initial = initial.unwrap_or(lnd_web_signer::session::INITIAL_BACKOFF);
        let max = max.unwrap_or(lnd_web_signer::session::MAX_BACKOFF);
        opts.backoff = Backoff::with_limits(initial, max);
    }
    if let Some(d) = ms("handshakeTimeoutMs")? {
        opts.session.handshake_timeout = d;
    }
    let interval = ms("healthCheckIntervalMs")?;
    let multiple = match get_f64(o, "idleMultiple")? {
        None => None,
        Some(n) if n.fract() == 0.0 && n <= f64::from(u32::MAX) => Some(n as u32),
        Some(_) => return Err(JsError::new("idleMultiple must be a whole number")),
    };
    if interval.is_some() || multiple.is_some() {
        opts.session.idle_timeout = lnd_web_signer::session::idle_timeout_for(
            interval.unwrap_or(lnd_web_signer::session::DEFAULT_HEALTH_CHECK_INTERVAL),
            multiple.unwrap_or(lnd_web_signer::session::DEFAULT_IDLE_MULTIPLE),
        );
    }
    if let Some(d) = ms("idleTimeoutMs")? {
        opts.session.idle_timeout = (!d.is_zero()).then_some(d);
    }
    if let Some(d) = ms("attachTimeoutMs")? {
        opts.attach_timeout = d;
    }
    if let Some(d) = ms("replyTimeoutMs")? {
        opts.reply_timeout = d;
    }
    if let Some(n) = get_f64(o, "maxMessageBytes")? {
        let (min, max) = (connection::MIN_MESSAGE_BYTES, connection::MAX_MESSAGE_BYTES);
        if n.fract() != 0.0 || n < min as f64 || n > max as f64 {
            return Err(JsError::new(&format!(
                "maxMessageBytes must be a whole number from {min} to {max}"
            )));
        }
        opts.max_message_bytes = n as usize;
    }
    if let Some(s) = get_string(o, "registrationInfo")? {
        if s.is_empty() {
            return Err(JsError::new("registrationInfo must not be empty"));
        }
        opts.session.registration_info = s;
    }
    if let Some(s) = get_string(o, "clientInfo")? {
        opts.client_info = s;
    }
    Ok(())
}

/// A running connection to signer-bridge. Freeing this handle does not
/// stop the connection; call `disconnect()` (or `lock()` on the signer).
#[wasm_bindgen]
#[derive(Debug)]
pub struct SignerConnection {
    conn: Connection,
}

impl SignerConnection {
    /// The Rust handle.
    pub fn handle(&self) -> &Connection {
        &self.conn
    }
}

#[wasm_bindgen]
impl SignerConnection {
    /// Closes the Attach stream and stops reconnecting; resolves once
    /// stopped (the `disconnected` status has been sent).
    #[wasm_bindgen(unchecked_return_type = "Promise<void>")]
    pub fn disconnect(&self) -> js_sys::Promise {
        let conn = self.conn.clone();
        wasm_bindgen_futures::future_to_promise(async move {
            conn.disconnect("disconnected by the user").await;
            Ok(JsValue::UNDEFINED)
        })
    }

    /// Counters: attempts, registrations, pings, requests, registered, running.
    #[wasm_bindgen(getter)]
    pub fn stats(&self) -> Result<JsConnectionStats, JsError> {
        Ok(to_js(&self.conn.stats())?.unchecked_into())
    }

    /// Whether the loop is running (false after disconnect or lock).
    #[wasm_bindgen(getter)]
    pub fn running(&self) -> bool {
        self.conn.is_running()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasm_bindgen_test::wasm_bindgen_test;

    /// `setMusig2MaxSessions` takes whole numbers from 1 to the core's
    /// maximum, applies them to the signer, and refuses once locked.
    #[wasm_bindgen_test]
    fn musig2_session_bound_is_checked_and_applied() {
        let xprv = "tprv8ZgxMBicQKsPe6jS4vDm2n7s42Q6MpvghUQqMmSKG7bTZvGKtjrcU3PGzMNG37yzxywrcdvgkwrr8eYXJmbwdvUNVT4Ucv7ris4jvA7BUmg";
        let root = RootKey::from_xprv(xprv, Network::Regtest).expect("test key");
        let seed = SeedInput::Xprv(xprv.to_owned().into());
        let signer = UnlockedSigner::new(root, Network::Regtest, &seed, 0, None);
        for bad in [0.0, -1.0, 2.5, 1_000_001.0, f64::NAN] {
            assert!(signer.set_musig2_max_sessions(bad).is_err(), "{bad}");
        }
        signer.set_musig2_max_sessions(3.0).expect("3 sessions");
        let limits = signer
            .shared()
            .borrow()
            .as_ref()
            .expect("unlocked")
            .musig2_limits();
        assert_eq!(limits, lnd_web_signer::musig2::Limits::for_sessions(3));
        signer.lock();
        assert!(signer.set_musig2_max_sessions(3.0).is_err(), "locked");
    }

    /// `errorCodes()` lists [`ErrorCode::ALL`], in order (the node unit
    /// tests of web/ check the `ErrorCode` union of the .d.ts against it).
    #[wasm_bindgen_test]
    fn exported_error_codes_match_the_enum() {
        let want: Vec<&str> = ErrorCode::ALL.iter().map(|c| c.as_str()).collect();
        let exported: Vec<String> = error_codes()
            .iter()
            .map(|v| v.as_string().expect("a string"))
            .collect();
        assert_eq!(exported, want);
    }

    /// Events reach JavaScript with their fields and, for errors and
    /// disconnects, `code`.
    #[wasm_bindgen_test]
    fn status_events_carry_their_code() {
        let get = |o: &JsValue, k: &str| Reflect::get(o, &JsValue::from_str(k)).expect("get");
        let error = Status::Error {
            attempt: 2,
            reason: "attach stream ended: Unavailable: connection to lnd lost".into(),
            silent_ms: None,
        };
        let obj = status_to_js(&error, Some(ErrorCode::LndLost)).expect("js");
        assert_eq!(get(&obj, "kind").as_string().as_deref(), Some("error"));
        assert_eq!(get(&obj, "attempt").as_f64(), Some(2.0));
        assert!(get(&obj, "silentMs").is_null());
        assert_eq!(get(&obj, "code").as_string().as_deref(), Some("lnd_lost"));
        let ping = Status::Ping {
            id: u64::MAX,
            latency_ms: 1.5,
        };
        let obj = status_to_js(&ping, None).expect("js");
        assert_eq!(
            get(&obj, "id").as_string().as_deref(),
            Some("18446744073709551615")
        );
        assert!(!Reflect::has(&obj, &JsValue::from_str("code")).expect("has"));
    }

    #[wasm_bindgen_test]
    fn the_kind_table_reaches_js_in_camel_case() {
        let table = js_sys::Array::from(&kind_table().expect("table"));
        assert_eq!(
            table.length() as usize,
            lnd_web_signer::request::kind_table().len()
        );
        let psbt = table
            .iter()
            .find(|k| {
                Reflect::get(k, &JsValue::from_str("name"))
                    .ok()
                    .and_then(|v| v.as_string())
                    .as_deref()
                    == Some("sign_psbt")
            })
            .expect("sign_psbt");
        let get = |k: &str| Reflect::get(&psbt, &JsValue::from_str(k)).expect("get");
        assert_eq!(get("label").as_string().as_deref(), Some("Sign PSBT"));
        assert_eq!(get("answeredBy").as_string().as_deref(), Some("signer"));
        assert_eq!(get("retryable").as_bool(), Some(true));
    }
}
