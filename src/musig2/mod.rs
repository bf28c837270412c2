//! MuSig2 signing sessions for lnd's simple taproot channels
//! (`signrpc.MuSig2*`, spec signing.md §4).
//!
//! * [`SessionManager`] — the signer-owned session table: create, register
//!   nonces, register/get the combined nonce, sign, combine, cleanup, with
//!   lnd's validation order and error texts, plus nonce-reuse refusal and a
//!   bound on sessions that are never finished (see `docs/musig2.md`).
//! * Versions: `MUSIG2_VERSION_V100RC2` is BIP-327, computed with the
//!   `musig2` crate (0.1.x: BIP-327 97-byte secret nonces, on the same
//!   secp256k1 0.29 as rust-bitcoin); `MUSIG2_VERSION_V040` is lnd's frozen
//!   v0.4.0 draft, our own small implementation in `v040.rs` on the `secp`
//!   crate's point/scalar types (same libsecp256k1 underneath).
//! * [`bip327`] — byte-level BIP-327 functions (key sort/agg, nonce gen/agg,
//!   sign, verify, aggregate, deterministic sign) that the conformance tests
//!   drive with the official vectors.
//! * [`combine_keys`] — lnd's `MuSig2CombineKeys` (both versions), checked
//!   against lnd's vectors.
//!
//! Session state is memory only; nothing here does I/O. Entropy for nonces is
//! injected by the caller ([`crate::entropy::Entropy`] of
//! [`SessionManager::create_session_with`]).

pub mod bip327;
mod hash;
mod manager;
mod v040;

pub use manager::{
    Limits, LogSink, SessionManager, UsedNonceImportError, DEFAULT_MAX_SESSIONS, MAX_MAX_SESSIONS,
    USED_NONCE_ENTRY_LEN,
};

use crate::proto::signrpc;
use secp::Point;

/// A 32-byte tweak with its BIP-327 `is_xonly` flag.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Tweak32 {
    pub tweak: [u8; 32],
    pub x_only: bool,
}

/// The one kind of tweak lnd applies, after its precedence rule
/// (BIP-86 → script root → generic tweaks; the others are ignored).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum EffectiveTweak {
    None,
    Bip86,
    ScriptRoot([u8; 32]),
    Generic(Vec<Tweak32>),
}

impl EffectiveTweak {
    /// True for the two taproot tweaks (the response then carries the
    /// internal key).
    pub(crate) fn is_taproot(&self) -> bool {
        matches!(self, EffectiveTweak::Bip86 | EffectiveTweak::ScriptRoot(_))
    }
}

/// Copy `bytes` into a 32-byte array from the start (shorter input is
/// right-padded with zeros, longer input truncated), as lnd does.
pub(crate) fn to_array32(bytes: &[u8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    let n = bytes.len().min(32);
    out[..n].copy_from_slice(&bytes[..n]);
    out
}

/// The MuSig2 variant of a session (lnd's `input.MuSig2Version`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Version {
    /// BIP draft v0.4.0 as kept in lnd's `internal/musig2v040`.
    V040,
    /// btcec `schnorr/musig2` "1.0.0rc2", signing-compatible with BIP-327.
    V100Rc2,
}

impl Version {
    /// Map the RPC enum value; 0 (undefined) and unknown values fail like lnd.
    pub fn from_rpc(value: i32) -> Result<Self, MuSig2Error> {
        match signrpc::MuSig2Version::try_from(value) {
            Ok(signrpc::MuSig2Version::Musig2VersionV040) => Ok(Version::V040),
            Ok(signrpc::MuSig2Version::Musig2VersionV100rc2) => Ok(Version::V100Rc2),
            Ok(other) => Err(MuSig2Error::UnknownVersion(other.as_str_name().to_string())),
            Err(_) => Err(MuSig2Error::UnknownVersion(value.to_string())),
        }
    }
}

/// Errors of the MuSig2 calls. The texts follow lnd's (`signer_server.go`,
/// `musig2_session_manager.go`, btcec), prefixed with the failing step, so a
/// watch-only node sees the same reasons it would get from lnd. Variants
/// marked "beyond lnd" are this signer's own safety refusals.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum MuSig2Error {
    /// `version` is 0 or unknown.
    #[error("error parsing version: unknown MuSig2 version <{0}>, make sure your client software is up to date, the version field is mandatory for this release of lnd")]
    UnknownVersion(String),
    /// `key_loc` missing in MuSig2SessionRequest.
    #[error("missing key_loc")]
    MissingKeyLoc,
    /// Fewer than two signer keys.
    #[error("error parsing all signer public keys: need at least two signing public keys")]
    TooFewSignerKeys,
    /// A signer key does not parse for the version's encoding.
    #[error("error parsing all signer public keys: error parsing signer public key {index} for {version_text}: {reason}")]
    InvalidSignerKey {
        /// Index in `all_signer_pubkeys`.
        index: usize,
        /// "v0.4.0 (x-only format)" or "v1.0.0rc2 (compressed format)".
        version_text: &'static str,
        /// Parse failure.
        reason: String,
    },
    /// More other-signer nonces than other signers.
    #[error("too many other signer public nonces, got {got} but expected a maximum of {max}")]
    TooManyNonces {
        /// Number given.
        got: usize,
        /// Number of signers − 1.
        max: usize,
    },
    /// `pregenerated_local_nonce` neither empty nor 97 bytes.
    #[error("local nonces must be 97 bytes, instead was {0}")]
    LocalNonceLength(usize),
    /// A secret scalar of the pre-generated nonce is zero or not below the
    /// curve order (lnd would fail only when signing).
    #[error("invalid pre-generated local nonce: {0}")]
    LocalNonceInvalid(&'static str),
    /// Beyond lnd: the session's local nonce (pre-generated or freshly
    /// derived) already signed in an earlier session of this signer in
    /// another signing context. Signing again in the identical context
    /// (same version, local key, signer keys, tweak, aggregate nonce and
    /// message) is allowed: it gives the same partial signature.
    #[error("refusing to sign with the local nonce: its public nonce {nonce} already signed in an earlier MuSig2 session of this signer in another signing context ({reason}), and signing a second challenge with one secret nonce reveals the private key")]
    NonceReuse {
        /// Hex of the 66-byte local public nonce.
        nonce: String,
        /// What differs from the context it signed in, e.g. "different
        /// message digest".
        reason: String,
    },
    /// The call needs at least one nonce.
    #[error("error parsing other nonces: at least one other signer public nonce is required")]
    NoNonces,
    /// A public nonce of the wrong length.
    #[error("error parsing other nonces: invalid public nonce at index {index}: invalid length, got {len} but expected 66")]
    NonceLength {
        /// Index in the request's nonce list.
        index: usize,
        /// Its length.
        len: usize,
    },
    /// A tweak option is malformed.
    #[error("error unmarshaling tweak options: {0}")]
    Tweak(&'static str),
    /// The host could not derive the key for `key_loc`.
    #[error("error registering session: error deriving private key: {0}")]
    KeyDerivation(String),
    /// The local key is not among the signer keys.
    #[error("error registering session: error creating signing context: error creating MuSig2 signing context: signing key is not found in key set")]
    LocalKeyNotInSigners,
    /// Key aggregation or tweaking failed.
    #[error("error registering session: error creating signing context: error creating MuSig2 signing context: {0}")]
    KeyAggregation(String),
    /// A nonce given at creation is not a valid pair of points.
    #[error("error registering session: error registering other signer public nonce: {0}")]
    CreateNonceInvalid(String),
    /// Session id not 32 bytes.
    #[error("error parsing session ID: invalid session ID size, got {0} but expected 32")]
    SessionIdLength(usize),
    /// No session with that id.
    #[error("{op}: session with ID {id} not found")]
    SessionNotFound {
        /// The failing call ("error signing", …).
        op: &'static str,
        /// Hex session id.
        id: String,
    },
    /// All nonces are already known.
    #[error("{0}: already have all nonces")]
    AlreadyHaveAllNonces(&'static str),
    /// More nonces than still missing.
    #[error("error registering nonces: only {remaining} other nonces remaining but trying to register {got} more")]
    NoncesRemaining {
        /// Nonces still missing.
        remaining: usize,
        /// Nonces given.
        got: usize,
    },
    /// A registered nonce is not a valid pair of points.
    #[error("error registering nonces: error registering other signer public nonce: {0}")]
    NonceInvalid(String),
    /// Combined nonce not 66 bytes.
    #[error("invalid combined nonce length, got {0} wanted 66")]
    CombinedNonceLength(usize),
    /// Combined nonce halves are not points.
    #[error("error registering combined nonce: error registering combined nonce: invalid combined nonce: {0}")]
    CombinedNonceInvalid(String),
    /// Combined nonce after individual nonces.
    #[error("error registering combined nonce: error registering combined nonce: can't register combined nonce after public nonces")]
    CombinedNonceAfterNonces,
    /// V040 sessions have no combined-nonce calls.
    #[error("{0}: method not supported in MuSig2 v0.4.0")]
    UnsupportedV040(&'static str),
    /// Combined nonce requested before all nonces are known.
    #[error("error getting combined nonce: error getting combined nonce: missing combined nonce")]
    CombinedNonceUnavailable,
    /// Digest not 32 bytes.
    #[error("invalid message digest size, got {0} but expected 32")]
    DigestLength(usize),
    /// Sign before all nonces are known.
    #[error("error signing: only have {have} of {need} required nonces")]
    MissingNonces {
        /// Registered nonces including the local one.
        have: usize,
        /// Number of signers.
        need: usize,
    },
    /// Second Sign on one session: the secret nonce is gone.
    #[error("error signing: error signing with local key: nonce already used")]
    NonceAlreadyUsed,
    /// The pre-generated secret nonce belongs to another key.
    #[error("error signing: error signing with local key: public key does not match secnonce")]
    SecNoncePubkey,
    /// Partial signing failed (self-verification).
    #[error("error signing: error signing with local key: {0}")]
    Signing(String),
    /// No partial signature given.
    #[error("error parsing partial signatures: at least one partial signature is required")]
    NoPartialSignatures,
    /// A partial signature of the wrong length.
    #[error("error parsing partial signatures: invalid partial signature at index {index}: invalid partial signature length, got {len} wanted 32")]
    PartialSigLength {
        /// Index in the request.
        index: usize,
        /// Its length.
        len: usize,
    },
    /// A partial signature ≥ n.
    #[error("error parsing partial signatures: invalid partial signature at index {0}: error decoding partial signature: partial signature is invalid")]
    PartialSigRange(usize),
    /// The session already has all partial signatures.
    #[error("error combining signatures: already have all partial signatures")]
    AlreadyHaveAllSigs,
    /// More partial signatures than signers.
    #[error(
        "error combining signatures: error combining partial signature: already have all sigs"
    )]
    TooManySigs,
    /// Beyond lnd (lnd crashes here): all partial signatures but our own.
    #[error("error combining signatures: the local partial signature is missing: call MuSig2Sign on this session before combining all signatures")]
    CombineBeforeSign,
    /// The aggregated signature does not verify.
    #[error(
        "error combining signatures: error combining partial signature: final signature is invalid"
    )]
    FinalSigInvalid,
}

/// Result of [`combine_keys`]: compressed final (tweaked) and pre-tweak keys.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CombinedKeys {
    /// `ser33` of the final aggregate key (after the tweak).
    pub final_key: [u8; 33],
    /// `ser33` of the aggregate key before tweaks.
    pub pre_tweak_key: [u8; 33],
}

/// Tweak request for [`combine_keys`], in lnd's `MuSig2Tweaks` shape.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Tweaks {
    /// Generic tweaks `(tweak, is_x_only)`, used only without a taproot tweak.
    pub generic: Vec<([u8; 32], bool)>,
    /// BIP-86 taproot tweak (takes precedence over everything else).
    pub bip86: bool,
    /// Taproot script root (copied into 32 bytes; used when `bip86` is false).
    pub script_root: Option<Vec<u8>>,
}

impl Tweaks {
    pub(crate) fn effective(&self) -> EffectiveTweak {
        if self.bip86 {
            EffectiveTweak::Bip86
        } else if let Some(root) = self.script_root.as_ref().filter(|r| !r.is_empty()) {
            EffectiveTweak::ScriptRoot(to_array32(root))
        } else if !self.generic.is_empty() {
            EffectiveTweak::Generic(
                self.generic
                    .iter()
                    .map(|(t, x)| Tweak32 {
                        tweak: *t,
                        x_only: *x,
                    })
                    .collect(),
            )
        } else {
            EffectiveTweak::None
        }
    }
}

/// lnd's `input.MuSig2CombineKeys`: aggregate 33-byte compressed `keys`
/// (sorted first when `sort`) for `version` and apply `tweaks` with lnd's
/// precedence. For V040 each key is used with the parity it is given in
/// (lnd's library behaviour; the RPC path lifts x-only keys to even Y).
pub fn combine_keys(
    version: Version,
    keys: &[Vec<u8>],
    sort: bool,
    tweaks: &Tweaks,
) -> Result<CombinedKeys, String> {
    let points = keys
        .iter()
        .enumerate()
        .map(|(i, k)| Point::from_slice(k).map_err(|e| format!("invalid key {i}: {e}")))
        .collect::<Result<Vec<_>, _>>()?;
    let tweak = tweaks.effective();
    let (final_key, pre) = match version {
        Version::V040 => {
            let agg = v040::KeyAgg::new(&points, sort, &tweak)?;
            (agg.output_key(), agg.internal_key())
        }
        Version::V100Rc2 => {
            let (ctx, internal) = bip327::key_agg_context_and_internal(&points, sort, &tweak)
                .map_err(|e| e.to_string())?;
            (ctx.aggregated_pubkey(), internal)
        }
    };
    Ok(CombinedKeys {
        final_key: final_key.serialize(),
        pre_tweak_key: pre.serialize(),
    })
}
