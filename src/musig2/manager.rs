//! The signer-owned MuSig2 session table (lnd's `MusigSessionManager` plus
//! the request checks of `signer_server.go`), with nonce-reuse refusal and
//! bounded memory.
//!
//! Nonce-reuse rule: every local public nonce that signed is recorded with a
//! hash of its whole signing context (version, local key, sorted signer
//! keys, effective tweak, output key, aggregate nonce, message digest).
//! Sign refuses a recorded nonce unless the context is identical: then the
//! partial signature is byte-identical and reveals nothing new (lnd's
//! `GetSignedCommitTx` re-signs the local commitment with the same
//! verification nonce at funding confirmation and again at force close).
//! CreateSession refuses nothing for reuse; a session reveals nothing until
//! it signs.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::fmt;

use bitcoin::secp256k1::SecretKey;
use musig2::{AggNonce, KeyAggContext, PubNonce};
use secp::{MaybeScalar, Point, Scalar};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use super::bip327::{
    aggregate_with_context, key_agg_context_and_internal, parse_pubnonce, sign_with_context,
};
use super::hash::{nonce_gen_bip327, nonce_gen_v040, public_nonce_points, NonceScalars};
use super::v040;
use super::{to_array32, EffectiveTweak, MuSig2Error, Tweak32, Version};
use crate::entropy::{Entropy, FixedEntropy};
use crate::proto::signrpc;

/// Memory bounds of a [`SessionManager`]. A session costs about 0.9 KiB
/// and a used-nonce record entry about 0.1 KiB, so the defaults bound the
/// table at about 28 MiB (measured with a counting allocator: 860 bytes per
/// unsigned session, 910 per signed one including its used-nonce entry).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Sessions that were created but never signed, kept at most; beyond it
    /// the oldest such session is evicted (lnd's watch-only node creates one
    /// per received commitment signature and never cleans it up).
    pub max_unsigned_sessions: usize,
    /// Sessions that were signed but not finished (no `CombineSig`, no
    /// cleanup), kept at most (the node signs every remote commitment with
    /// `cleanup=false` and never combines those).
    pub max_signed_sessions: usize,
    /// Number of used public nonces remembered, each with the hash of the
    /// signing context it signed in, to refuse signing with one of them in
    /// any other context (about 80 bytes each).
    pub used_nonce_record: usize,
}

/// Default bound on never-signed (and on signed-but-unfinished) sessions.
pub const DEFAULT_MAX_SESSIONS: usize = 10_000;
/// Largest per-kind session bound a host accepts from its user (about
/// 2 GiB of sessions): see [`Limits::for_sessions`].
pub const MAX_MAX_SESSIONS: usize = 1_000_000;

impl Limits {
    /// At most `n` never-signed and `n` signed-but-unfinished sessions, and
    /// a used-nonce record of `10 × n` (the defaults are `n = 10_000`).
    pub fn for_sessions(n: usize) -> Self {
        Limits {
            max_unsigned_sessions: n,
            max_signed_sessions: n,
            used_nonce_record: n.saturating_mul(10),
        }
    }
}

impl Default for Limits {
    fn default() -> Self {
        Limits::for_sessions(DEFAULT_MAX_SESSIONS)
    }
}

type SessionId = [u8; 32];

/// Aggregation contexts kept for the sessions created last (about 1 KiB
/// each).
const RECENT_CONTEXTS: usize = 8;

/// A log sink for eviction notices.
pub type LogSink = Box<dyn FnMut(&str) + Send>;

/// The aggregation context of one session, rebuilt from its [`KeySet`]
/// when it signs or combines.
enum Agg {
    /// The crate's context and the untweaked aggregate key.
    V100(Box<KeyAggContext>, Point),
    V040(Box<v040::KeyAgg>),
}

impl Agg {
    fn output_key(&self) -> Point {
        match self {
            Agg::V100(c, _) => c.aggregated_pubkey(),
            Agg::V040(c) => c.output_key(),
        }
    }

    fn internal_key(&self) -> Point {
        match self {
            Agg::V100(_, internal) => *internal,
            Agg::V040(c) => c.internal_key(),
        }
    }
}

/// The signer keys (in request order) and the tweak of a session: what its
/// aggregation context is rebuilt from. Keeping the context itself (the
/// crate's holds a hash map, coefficients and effective keys) would cost
/// about 1 KiB a session, and lnd leaves thousands of sessions open.
struct KeySet {
    keys: Box<[Point]>,
    tweak: EffectiveTweak,
}

impl KeySet {
    fn build(&self, version: Version) -> Result<Agg, MuSig2Error> {
        match version {
            Version::V100Rc2 => {
                let (ctx, internal) =
                    key_agg_context_and_internal(&self.keys, true, &self.tweak)
                        .map_err(|e| MuSig2Error::KeyAggregation(lnd_tweak_text(&e.to_string())))?;
                Ok(Agg::V100(Box::new(ctx), internal))
            }
            Version::V040 => Ok(Agg::V040(Box::new(
                v040::KeyAgg::new(&self.keys, true, &self.tweak)
                    .map_err(MuSig2Error::KeyAggregation)?,
            ))),
        }
    }
}

/// The local secret nonce: `k1 ‖ k2` plus the public key bytes it is bound
/// to (the last 33 bytes of lnd's 97-byte secret nonce).
struct LocalSecNonce {
    k: Zeroizing<[u8; 64]>,
    bound_pubkey: [u8; 33],
}

/// What only the first Sign of a session uses: the local private key and
/// secret nonce. Taken (and zeroized) by that Sign, so a signed session
/// holds no secret.
struct LocalSecrets {
    sk: Zeroizing<[u8; 32]>,
    nonce: LocalSecNonce,
}

struct Session {
    version: Version,
    key_set: KeySet,
    num_signers: usize,
    local_pubkey: Point,
    local_pubnonce: [u8; 66],
    secrets: Option<Box<LocalSecrets>>,
    /// Registered public nonces, the local one first; emptied once they
    /// are aggregated into `agg_nonce`.
    nonces: Vec<PubNonce>,
    agg_nonce: Option<AggNonce>,
    msg: [u8; 32],
    /// Hash of the key-aggregation context: version, local key, sorted
    /// signer keys, effective tweak and output key.
    key_context: [u8; 32],
    /// Partial signatures, the local one first once signed.
    sigs: Vec<MaybeScalar>,
    signed: bool,
    have_all_sigs: bool,
    seq: u64,
}

impl Session {
    fn have_all_nonces(&self) -> bool {
        self.agg_nonce.is_some()
    }

    /// The aggregation context: `cached` (from the manager's cache of
    /// recent contexts) or rebuilt from the key set.
    fn agg(&self, cached: Option<Agg>) -> Result<Agg, MuSig2Error> {
        match cached {
            Some(agg) => Ok(agg),
            None => self.key_set.build(self.version),
        }
    }
}

/// What a used public nonce signed: the hash of its whole signing context
/// (the only thing a decision rests on) plus 2-byte tags of the three parts,
/// used only to name what differs. Equal parts give equal tags, so a part
/// named as different always is; a tag collision only makes the reason less
/// specific.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct SigningContext {
    hash: [u8; 32],
    /// Tags of the key-aggregation context, the aggregate nonce and the
    /// message digest.
    tags: [[u8; 2]; 3],
}

const CONTEXT_PARTS: [&str; 3] = [
    "different key set, tweak, local key or version",
    "different aggregate nonce (another signer's nonce)",
    "different message digest",
];

impl SigningContext {
    fn new(key_context: &[u8; 32], agg_nonce: &[u8; 66], msg: &[u8; 32]) -> Self {
        let mut h = Sha256::new();
        h.update(b"lnd-web-signer/musig2/signing-context");
        h.update(key_context);
        h.update(agg_nonce);
        h.update(msg);
        let tag = |bytes: &[u8]| {
            let d = Sha256::digest(bytes);
            [d[0], d[1]]
        };
        SigningContext {
            hash: h.finalize().into(),
            tags: [[key_context[0], key_context[1]], tag(agg_nonce), tag(msg)],
        }
    }

    /// Why `self` (a request) differs from `recorded`.
    fn difference(&self, recorded: &SigningContext) -> String {
        let parts: Vec<&str> = CONTEXT_PARTS
            .iter()
            .zip(self.tags.iter().zip(recorded.tags.iter()))
            .filter(|(_, (a, b))| a != b)
            .map(|(name, _)| *name)
            .collect();
        if parts.is_empty() {
            "different signing context".to_string()
        } else {
            parts.join(", ")
        }
    }
}

/// Bytes of one exported used-nonce entry ([`SessionManager::take_used_nonces`]):
/// the 16-byte nonce key, the 32-byte context hash and its three 2-byte tags.
/// Public data only (hashes of public nonces and of what they signed).
pub const USED_NONCE_ENTRY_LEN: usize = 16 + 32 + 6;

/// Why [`SessionManager::import_used_nonces`] refused a record.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum UsedNonceImportError {
    /// The record is not a whole number of entries.
    #[error("used-nonce record of {len} bytes is not a whole number of {USED_NONCE_ENTRY_LEN}-byte entries")]
    Length {
        /// Its length in bytes.
        len: usize,
    },
}

/// A bounded FIFO record of used public nonces (keyed by 16-byte hashes),
/// each with the signing context it signed in.
struct UsedNonces {
    map: HashMap<[u8; 16], SigningContext>,
    order: VecDeque<[u8; 16]>,
    cap: usize,
    /// Entries added since the host last took them (`None`: the host does
    /// not persist the record). Bounded by `cap` like the record itself.
    journal: Option<VecDeque<[u8; USED_NONCE_ENTRY_LEN]>>,
}

impl UsedNonces {
    fn key(pubnonce: &[u8; 66]) -> [u8; 16] {
        let h = Sha256::digest(pubnonce);
        let mut k = [0u8; 16];
        k.copy_from_slice(&h[..16]);
        k
    }

    /// `Ok(())` when the nonce is unused or signed in exactly this context;
    /// otherwise the reason it may not sign here.
    fn check(&self, pubnonce: &[u8; 66], context: &SigningContext) -> Result<(), String> {
        match self.map.get(&Self::key(pubnonce)) {
            Some(recorded) if recorded.hash != context.hash => Err(context.difference(recorded)),
            _ => Ok(()),
        }
    }

    /// Record the context a nonce signed in; a recorded nonce keeps its
    /// first context (and its place in the FIFO). A new entry also goes to
    /// the journal when the host persists the record.
    fn insert(&mut self, pubnonce: &[u8; 66], context: SigningContext) {
        let k = Self::key(pubnonce);
        if self.insert_key(k, context) {
            if let Some(journal) = self.journal.as_mut() {
                journal.push_back(encode_entry(&k, &context));
                while journal.len() > self.cap {
                    journal.pop_front();
                }
            }
        }
    }

    /// Record `context` under the nonce key `k`: true if it was new.
    fn insert_key(&mut self, k: [u8; 16], context: SigningContext) -> bool {
        if self.cap == 0 {
            return false;
        }
        match self.map.entry(k) {
            std::collections::hash_map::Entry::Vacant(e) => {
                e.insert(context);
                self.order.push_back(k);
                self.trim();
                true
            }
            std::collections::hash_map::Entry::Occupied(_) => false,
        }
    }

    /// Forget the oldest records beyond the cap.
    fn trim(&mut self) {
        while self.order.len() > self.cap {
            if let Some(old) = self.order.pop_front() {
                self.map.remove(&old);
            }
        }
    }
}

fn encode_entry(k: &[u8; 16], c: &SigningContext) -> [u8; USED_NONCE_ENTRY_LEN] {
    let mut e = [0u8; USED_NONCE_ENTRY_LEN];
    e[..16].copy_from_slice(k);
    e[16..48].copy_from_slice(&c.hash);
    for (i, tag) in c.tags.iter().enumerate() {
        e[48 + 2 * i..50 + 2 * i].copy_from_slice(tag);
    }
    e
}

fn decode_entry(e: &[u8]) -> Option<([u8; 16], SigningContext)> {
    if e.len() != USED_NONCE_ENTRY_LEN {
        return None;
    }
    let mut k = [0u8; 16];
    k.copy_from_slice(&e[..16]);
    let mut hash = [0u8; 32];
    hash.copy_from_slice(&e[16..48]);
    let tag = |i: usize| [e[48 + 2 * i], e[49 + 2 * i]];
    Some((
        k,
        SigningContext {
            hash,
            tags: [tag(0), tag(1), tag(2)],
        },
    ))
}

/// Signer-owned MuSig2 session table. `Send`; callers serialise access
/// (one `&mut` at a time), which also serialises calls on one session.
///
/// Secrets (local keys, secret nonces) live in zeroizing buffers and are
/// never printed: `Debug` shows only counters.
pub struct SessionManager {
    limits: Limits,
    /// Boxed: the table then holds 40-byte entries, and its spare capacity
    /// (up to half of it after a resize) costs little.
    sessions: HashMap<SessionId, Box<Session>>,
    unsigned_order: BTreeMap<u64, SessionId>,
    signed_order: BTreeMap<u64, SessionId>,
    next_seq: u64,
    /// Aggregation contexts of the most recently created sessions, so the
    /// usual create → sign does not build its context twice.
    recent: VecDeque<(SessionId, Agg)>,
    used: UsedNonces,
    evicted_unsigned: u64,
    evicted_signed: u64,
    log: Option<LogSink>,
}

impl fmt::Debug for SessionManager {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionManager")
            .field("sessions", &self.sessions.len())
            .field("limits", &self.limits)
            .field("used_nonces", &self.used.order.len())
            .field("evicted_unsigned", &self.evicted_unsigned)
            .field("evicted_signed", &self.evicted_signed)
            .field("secrets", &"[redacted]")
            .finish()
    }
}

impl Default for SessionManager {
    fn default() -> Self {
        Self::new(Limits::default())
    }
}

fn parse_session_id(raw: &[u8]) -> Result<SessionId, MuSig2Error> {
    raw.try_into()
        .map_err(|_| MuSig2Error::SessionIdLength(raw.len()))
}

fn not_found(op: &'static str, id: &SessionId) -> MuSig2Error {
    MuSig2Error::SessionNotFound {
        op,
        id: hex::encode(id),
    }
}

/// Length-check a list of 66-byte nonces (lnd's `parseMuSig2PublicNonces`).
fn check_nonce_lengths(
    nonces: &[Vec<u8>],
    empty_allowed: bool,
) -> Result<Vec<[u8; 66]>, MuSig2Error> {
    if !empty_allowed && nonces.is_empty() {
        return Err(MuSig2Error::NoNonces);
    }
    nonces
        .iter()
        .enumerate()
        .map(|(index, n)| {
            <[u8; 66]>::try_from(n.as_slice()).map_err(|_| MuSig2Error::NonceLength {
                index,
                len: n.len(),
            })
        })
        .collect()
}

/// Parse every nonce as a pair of points before anything is registered.
fn parse_nonce_points(nonces: &[[u8; 66]]) -> Result<Vec<PubNonce>, String> {
    nonces
        .iter()
        .enumerate()
        .map(|(i, n)| {
            parse_pubnonce(n).ok_or_else(|| {
                format!("invalid public nonce at index {i}: not two valid compressed points")
            })
        })
        .collect()
}

fn scalar(bytes: &[u8]) -> Option<Scalar> {
    Scalar::from_slice(bytes).ok()
}

impl SessionManager {
    /// An empty table with the given bounds.
    pub fn new(limits: Limits) -> Self {
        SessionManager {
            limits,
            sessions: HashMap::new(),
            unsigned_order: BTreeMap::new(),
            signed_order: BTreeMap::new(),
            next_seq: 0,
            recent: VecDeque::new(),
            used: UsedNonces {
                map: HashMap::new(),
                order: VecDeque::new(),
                cap: limits.used_nonce_record,
                journal: None,
            },
            evicted_unsigned: 0,
            evicted_signed: 0,
            log: None,
        }
    }

    /// Install a log sink for eviction notices (the core has no logger).
    /// Lines name only session ids and counts, never secrets.
    pub fn set_logger(&mut self, log: LogSink) {
        self.log = Some(log);
    }

    /// New bounds, applied at once (evicting the oldest sessions and used
    /// nonces beyond them).
    pub fn set_limits(&mut self, limits: Limits) {
        self.limits = limits;
        self.used.cap = limits.used_nonce_record;
        self.used.trim();
        self.enforce_limits();
    }

    /// The bounds in force.
    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// Start (or stop) journaling the used-nonce record for a host that
    /// persists it: from now on every new entry is kept for
    /// [`Self::take_used_nonces`] (at most the record's bound of them).
    /// A host that keeps the record across signer runs (a restart, another
    /// tab taking over) stores what it takes before it sends the reply that
    /// carries the signature, and hands it back with
    /// [`Self::import_used_nonces`]: the refusal of a nonce in another
    /// context then covers every run, not one.
    pub fn journal_used_nonces(&mut self, on: bool) {
        self.used.journal = on.then(VecDeque::new);
    }

    /// The entries added to the used-nonce record since the last call
    /// (concatenated, [`USED_NONCE_ENTRY_LEN`] bytes each; empty when
    /// nothing signed or journaling is off).
    pub fn take_used_nonces(&mut self) -> Vec<u8> {
        let Some(journal) = self.used.journal.as_mut() else {
            return Vec::new();
        };
        let mut out = Vec::with_capacity(journal.len() * USED_NONCE_ENTRY_LEN);
        for e in journal.drain(..) {
            out.extend_from_slice(&e);
        }
        out
    }

    /// Add a stored record (entries as [`Self::take_used_nonces`] gives
    /// them, oldest first) to the used-nonce record. A nonce already
    /// recorded keeps its first context; beyond the bound the oldest are
    /// forgotten. Imported entries are not journaled again. Returns how
    /// many entries were new.
    pub fn import_used_nonces(&mut self, record: &[u8]) -> Result<usize, UsedNonceImportError> {
        if !record.len().is_multiple_of(USED_NONCE_ENTRY_LEN) {
            return Err(UsedNonceImportError::Length { len: record.len() });
        }
        // Only the newest `cap` entries can survive the import.
        let skip = (record.len() / USED_NONCE_ENTRY_LEN).saturating_sub(self.used.cap);
        let mut added = 0;
        for e in record.chunks_exact(USED_NONCE_ENTRY_LEN).skip(skip) {
            if let Some((k, context)) = decode_entry(e) {
                if self.used.insert_key(k, context) {
                    added += 1;
                }
            }
        }
        Ok(added)
    }

    /// Number of live sessions.
    pub fn session_count(&self) -> usize {
        self.sessions.len()
    }

    /// Sessions evicted so far because of [`Limits`]: `(unsigned, signed)`.
    pub fn evictions(&self) -> (u64, u64) {
        (self.evicted_unsigned, self.evicted_signed)
    }

    fn next_seq(&mut self) -> u64 {
        self.next_seq += 1;
        self.next_seq
    }

    fn remove_session(&mut self, id: &SessionId) -> Option<Box<Session>> {
        self.take_recent(id);
        let s = self.sessions.remove(id)?;
        self.unsigned_order.remove(&s.seq);
        self.signed_order.remove(&s.seq);
        Some(s)
    }

    /// The cached aggregation context of session `id`, removed from the
    /// cache.
    fn take_recent(&mut self, id: &SessionId) -> Option<Agg> {
        let i = self.recent.iter().position(|(k, _)| k == id)?;
        self.recent.remove(i).map(|(_, agg)| agg)
    }

    fn log_line(&mut self, line: &str) {
        if let Some(log) = self.log.as_mut() {
            log(line);
        }
    }

    fn enforce_limits(&mut self) {
        while self.unsigned_order.len() > self.limits.max_unsigned_sessions {
            let Some((_, id)) = self.unsigned_order.pop_first() else {
                break;
            };
            self.take_recent(&id);
            self.sessions.remove(&id);
            self.evicted_unsigned += 1;
            let line = format!(
                "musig2: evicted the oldest never-signed session {} (more than {} unsigned sessions; {} evicted so far)",
                hex::encode(id),
                self.limits.max_unsigned_sessions,
                self.evicted_unsigned
            );
            self.log_line(&line);
        }
        while self.signed_order.len() > self.limits.max_signed_sessions {
            let Some((_, id)) = self.signed_order.pop_first() else {
                break;
            };
            self.take_recent(&id);
            self.sessions.remove(&id);
            self.evicted_signed += 1;
            let line = format!(
                "musig2: evicted the oldest signed but unfinished session {} (more than {} such sessions; {} evicted so far)",
                hex::encode(id),
                self.limits.max_signed_sessions,
                self.evicted_signed
            );
            self.log_line(&line);
        }
    }

    /// `MuSig2CreateSession` with a key the caller already derived from
    /// `key_loc` (`RootKey::lnd_key(family, index)`). Prefer
    /// [`Self::create_session_with`] to report a derivation failure at the
    /// point lnd does. `rand` is the nonce randomness itself (fixed, as test
    /// vectors give it).
    pub fn create_session(
        &mut self,
        local_key: &SecretKey,
        req: &signrpc::MuSig2SessionRequest,
        rand: [u8; 32],
    ) -> Result<signrpc::MuSig2SessionResponse, MuSig2Error> {
        let key = *local_key;
        self.create_session_with(&|_, _| Ok(key), req, &FixedEntropy(rand))
    }

    /// `MuSig2CreateSession`. `derive(family, index)` returns the private key
    /// of the request's `key_loc` (int32 fields cast to u32 as lnd does); it
    /// is called after the request checks, where lnd derives. `entropy`
    /// gives 32 fresh bytes for the local nonce; they are drawn for every
    /// call, first, and unused when a pre-generated nonce is given.
    pub fn create_session_with(
        &mut self,
        derive: &dyn Fn(u32, u32) -> Result<SecretKey, String>,
        req: &signrpc::MuSig2SessionRequest,
        entropy: &dyn Entropy,
    ) -> Result<signrpc::MuSig2SessionResponse, MuSig2Error> {
        let mut rand = Zeroizing::new([0u8; 32]);
        entropy.fill_bytes(&mut rand[..]);
        // 1. Version.
        let version = Version::from_rpc(req.version)?;
        // 2. Key locator.
        let key_loc = req.key_loc.as_ref().ok_or(MuSig2Error::MissingKeyLoc)?;
        // 3. Signer keys.
        if req.all_signer_pubkeys.len() < 2 {
            return Err(MuSig2Error::TooFewSignerKeys);
        }
        let keys = req
            .all_signer_pubkeys
            .iter()
            .enumerate()
            .map(|(index, raw)| parse_signer_key(version, index, raw))
            .collect::<Result<Vec<Point>, _>>()?;
        // 4. Nonce count.
        let max = req.all_signer_pubkeys.len() - 1;
        if req.other_signer_public_nonces.len() > max {
            return Err(MuSig2Error::TooManyNonces {
                got: req.other_signer_public_nonces.len(),
                max,
            });
        }
        // 5. Pre-generated local nonce (length; scalars must be usable). One
        // that already signed is accepted here: Sign decides, once the
        // message and the aggregate nonce are known.
        let pregen = match req.pregenerated_local_nonce.len() {
            0 => None,
            97 => Some(&req.pregenerated_local_nonce),
            n => return Err(MuSig2Error::LocalNonceLength(n)),
        };
        let pregen = match (version, pregen) {
            // lnd ignores the field for v0.4.0 sessions.
            (Version::V040, _) | (_, None) => None,
            (Version::V100Rc2, Some(raw)) => {
                let k1 = scalar(&raw[..32]).ok_or(MuSig2Error::LocalNonceInvalid(
                    "first secret nonce scalar is zero or not below the curve order",
                ))?;
                let k2 = scalar(&raw[32..64]).ok_or(MuSig2Error::LocalNonceInvalid(
                    "second secret nonce scalar is zero or not below the curve order",
                ))?;
                let mut bound_pubkey = [0u8; 33];
                bound_pubkey.copy_from_slice(&raw[64..97]);
                let pubnonce = public_nonce_points(&NonceScalars { k1, k2 });
                let mut k = Zeroizing::new([0u8; 64]);
                k.copy_from_slice(&raw[..64]);
                Some((LocalSecNonce { k, bound_pubkey }, pubnonce))
            }
        };
        // 6. Other nonces (length only; points are checked when registered).
        let other_nonces = check_nonce_lengths(&req.other_signer_public_nonces, true)?;
        // 7. Tweaks.
        let tweak = unmarshal_tweaks(&req.tweaks, req.taproot_tweak.as_ref())?;
        // Key derivation (lnd: inside the session manager).
        let local_key = derive(key_loc.key_family as u32, key_loc.key_index as u32)
            .map_err(MuSig2Error::KeyDerivation)?;
        let local_sk = Zeroizing::new(local_key.secret_bytes());
        let local_scalar = scalar(local_sk.as_slice()).ok_or_else(|| {
            MuSig2Error::KeyDerivation("derived key is not a valid scalar".into())
        })?;
        let local_pubkey = local_scalar.base_point_mul();
        // 8. Local key among the signers, then aggregation.
        let in_signers = match version {
            Version::V100Rc2 => keys.contains(&local_pubkey),
            Version::V040 => {
                let x = local_pubkey.serialize_xonly();
                keys.iter().any(|k| k.serialize_xonly() == x)
            }
        };
        if !in_signers {
            return Err(MuSig2Error::LocalKeyNotInSigners);
        }
        let key_set = KeySet {
            keys: keys.into_boxed_slice(),
            tweak,
        };
        let agg = key_set.build(version)?;
        let (keys, tweak) = (&key_set.keys, &key_set.tweak);
        let output = agg.output_key();
        let key_context = key_context_hash(version, &local_pubkey, keys, tweak, &output);
        // Local nonce: the pre-generated one, or fresh as lnd derives it.
        let (sec_nonce, local_nonce_points) = match pregen {
            Some(p) => p,
            None => {
                let k = match version {
                    Version::V100Rc2 => nonce_gen_bip327(
                        &rand,
                        Some(&local_sk),
                        &local_pubkey.serialize(),
                        Some(&output.serialize_xonly()),
                        None,
                        None,
                    ),
                    Version::V040 => nonce_gen_v040(&rand, &local_sk, &output.serialize_xonly()),
                }
                .ok_or_else(|| {
                    MuSig2Error::KeyAggregation("nonce generation produced a zero nonce".into())
                })?;
                let pubnonce = public_nonce_points(&k);
                let mut kb = Zeroizing::new([0u8; 64]);
                kb[..32].copy_from_slice(&k.k1.serialize());
                kb[32..].copy_from_slice(&k.k2.serialize());
                (
                    LocalSecNonce {
                        k: kb,
                        bound_pubkey: local_pubkey.serialize(),
                    },
                    pubnonce,
                )
            }
        };
        let local_pubnonce = local_nonce_points.serialize();
        let seq = self.next_seq();
        let num_signers = keys.len();
        let mut nonces = Vec::with_capacity(num_signers);
        nonces.push(local_nonce_points);
        let taproot_internal_key = if tweak.is_taproot() {
            agg.internal_key().serialize_xonly().to_vec()
        } else {
            Vec::new()
        };
        let mut session = Box::new(Session {
            version,
            key_set,
            num_signers,
            local_pubkey,
            local_pubnonce,
            secrets: Some(Box::new(LocalSecrets {
                sk: local_sk,
                nonce: sec_nonce,
            })),
            nonces,
            agg_nonce: None,
            msg: [0u8; 32],
            key_context,
            sigs: Vec::new(),
            signed: false,
            have_all_sigs: false,
            seq,
        });
        if !other_nonces.is_empty() {
            let parsed =
                parse_nonce_points(&other_nonces).map_err(MuSig2Error::CreateNonceInvalid)?;
            register(&mut session, parsed);
        }
        // Session id: sha256(ser33(final key) ‖ local public nonce).
        let mut h = Sha256::new();
        h.update(output.serialize());
        h.update(local_pubnonce);
        let id: SessionId = h.finalize().into();
        let resp = signrpc::MuSig2SessionResponse {
            session_id: id.to_vec(),
            combined_key: output.serialize_xonly().to_vec(),
            taproot_internal_key,
            local_public_nonces: local_pubnonce.to_vec(),
            have_all_nonces: session.have_all_nonces(),
            version: req.version,
        };
        // Same id again: replace silently (lnd's map store).
        self.remove_session(&id);
        self.sessions.insert(id, session);
        self.unsigned_order.insert(seq, id);
        self.recent.push_back((id, agg));
        if self.recent.len() > RECENT_CONTEXTS {
            self.recent.pop_front();
        }
        self.enforce_limits();
        Ok(resp)
    }

    fn session_mut(
        &mut self,
        op: &'static str,
        id: &SessionId,
    ) -> Result<&mut Session, MuSig2Error> {
        self.sessions
            .get_mut(id)
            .map(|s| &mut **s)
            .ok_or_else(|| not_found(op, id))
    }

    /// `MuSig2RegisterNonces`.
    pub fn register_nonces(
        &mut self,
        req: &signrpc::MuSig2RegisterNoncesRequest,
    ) -> Result<signrpc::MuSig2RegisterNoncesResponse, MuSig2Error> {
        const OP: &str = "error registering nonces";
        let id = parse_session_id(&req.session_id)?;
        let nonces = check_nonce_lengths(&req.other_signer_public_nonces, false)?;
        let session = self.session_mut(OP, &id)?;
        if session.have_all_nonces() {
            return Err(MuSig2Error::AlreadyHaveAllNonces(OP));
        }
        let remaining = session.num_signers - session.nonces.len();
        if nonces.len() > remaining {
            return Err(MuSig2Error::NoncesRemaining {
                remaining,
                got: nonces.len(),
            });
        }
        let parsed = parse_nonce_points(&nonces).map_err(MuSig2Error::NonceInvalid)?;
        register(session, parsed);
        Ok(signrpc::MuSig2RegisterNoncesResponse {
            have_all_nonces: session.have_all_nonces(),
        })
    }

    /// `MuSig2RegisterCombinedNonce`.
    pub fn register_combined_nonce(
        &mut self,
        req: &signrpc::MuSig2RegisterCombinedNonceRequest,
    ) -> Result<signrpc::MuSig2RegisterCombinedNonceResponse, MuSig2Error> {
        const OP: &str = "error registering combined nonce";
        let id = parse_session_id(&req.session_id)?;
        let raw: [u8; 66] = req
            .combined_public_nonce
            .as_slice()
            .try_into()
            .map_err(|_| MuSig2Error::CombinedNonceLength(req.combined_public_nonce.len()))?;
        let session = self.session_mut(OP, &id)?;
        if session.have_all_nonces() {
            return Err(MuSig2Error::AlreadyHaveAllNonces(OP));
        }
        if session.version == Version::V040 {
            return Err(MuSig2Error::UnsupportedV040(
                "error registering combined nonce: error registering combined nonce",
            ));
        }
        if session.nonces.len() > 1 {
            return Err(MuSig2Error::CombinedNonceAfterNonces);
        }
        for (half, name) in [(&raw[..33], "first"), (&raw[33..], "second")] {
            if Point::from_slice(half).is_err() {
                return Err(MuSig2Error::CombinedNonceInvalid(format!(
                    "{name} half is not a valid compressed point"
                )));
            }
        }
        let agg = AggNonce::from_bytes(&raw)
            .map_err(|e| MuSig2Error::CombinedNonceInvalid(e.to_string()))?;
        session.agg_nonce = Some(agg);
        Ok(signrpc::MuSig2RegisterCombinedNonceResponse {})
    }

    /// `MuSig2GetCombinedNonce`.
    pub fn get_combined_nonce(
        &mut self,
        req: &signrpc::MuSig2GetCombinedNonceRequest,
    ) -> Result<signrpc::MuSig2GetCombinedNonceResponse, MuSig2Error> {
        const OP: &str = "error getting combined nonce";
        let id = parse_session_id(&req.session_id)?;
        let session = self.session_mut(OP, &id)?;
        if session.version == Version::V040 {
            return Err(MuSig2Error::UnsupportedV040(
                "error getting combined nonce: error getting combined nonce",
            ));
        }
        let agg = session
            .agg_nonce
            .as_ref()
            .ok_or(MuSig2Error::CombinedNonceUnavailable)?;
        Ok(signrpc::MuSig2GetCombinedNonceResponse {
            combined_public_nonce: agg.serialize().to_vec(),
        })
    }

    /// `MuSig2Sign`: the local partial signature over a 32-byte digest. The
    /// secret nonce is erased by the first attempt (a second Sign on the
    /// session fails as in lnd); its public nonce is recorded with the
    /// signing context, and no later session of this signer may sign with it
    /// in any other context (the same context gives the same signature).
    pub fn sign(
        &mut self,
        req: &signrpc::MuSig2SignRequest,
    ) -> Result<signrpc::MuSig2SignResponse, MuSig2Error> {
        const OP: &str = "error signing";
        let id = parse_session_id(&req.session_id)?;
        let msg: [u8; 32] = req
            .message_digest
            .as_slice()
            .try_into()
            .map_err(|_| MuSig2Error::DigestLength(req.message_digest.len()))?;
        let cached = self.take_recent(&id);
        let session = self
            .sessions
            .get_mut(&id)
            .ok_or_else(|| not_found(OP, &id))?;
        let Some(agg_nonce) = session.agg_nonce.as_ref() else {
            return Err(MuSig2Error::MissingNonces {
                have: session.nonces.len(),
                need: session.num_signers,
            });
        };
        let context = SigningContext::new(&session.key_context, &agg_nonce.serialize(), &msg);
        let Some(sec) = session.secrets.take() else {
            return Err(MuSig2Error::NonceAlreadyUsed);
        };
        let pubnonce = session.local_pubnonce;
        if let Err(reason) = self.used.check(&pubnonce, &context) {
            return Err(MuSig2Error::NonceReuse {
                nonce: hex::encode(pubnonce),
                reason,
            });
        }
        let result = sign_session(session, &sec, &msg, cached);
        drop(sec);
        // The nonce is spent whatever the outcome (as btcec blanks it).
        self.used.insert(&pubnonce, context);
        let s = result?;
        let seq = self.next_seq();
        let session = self.session_mut(OP, &id)?;
        session.msg = msg;
        session.sigs.reserve_exact(session.num_signers);
        session.sigs.push(s);
        session.signed = true;
        let old_seq = std::mem::replace(&mut session.seq, seq);
        self.unsigned_order.remove(&old_seq);
        if req.cleanup {
            self.remove_session(&id);
        } else {
            self.signed_order.insert(seq, id);
            self.enforce_limits();
        }
        Ok(signrpc::MuSig2SignResponse {
            local_partial_signature: s.serialize().to_vec(),
        })
    }

    /// `MuSig2CombineSig`: add the other signers' partial signatures; once
    /// all are present, aggregate, verify the BIP-340 signature under the
    /// combined key, delete the session and return it.
    pub fn combine_sig(
        &mut self,
        req: &signrpc::MuSig2CombineSigRequest,
    ) -> Result<signrpc::MuSig2CombineSigResponse, MuSig2Error> {
        const OP: &str = "error combining signatures";
        let id = parse_session_id(&req.session_id)?;
        if req.other_partial_signatures.is_empty() {
            return Err(MuSig2Error::NoPartialSignatures);
        }
        let sigs = req
            .other_partial_signatures
            .iter()
            .enumerate()
            .map(|(index, p)| {
                if p.len() != 32 {
                    return Err(MuSig2Error::PartialSigLength {
                        index,
                        len: p.len(),
                    });
                }
                MaybeScalar::from_slice(p).map_err(|_| MuSig2Error::PartialSigRange(index))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let mut cached = self.take_recent(&id);
        let session = self.session_mut(OP, &id)?;
        if session.have_all_sigs {
            return Err(MuSig2Error::AlreadyHaveAllSigs);
        }
        if !session.signed && session.sigs.len() + sigs.len() >= session.num_signers {
            return Err(MuSig2Error::CombineBeforeSign);
        }
        let mut final_sig = None;
        for s in sigs {
            if session.sigs.len() == session.num_signers {
                // lnd keeps the state it reached and reports the extra one.
                session.have_all_sigs = true;
                return Err(MuSig2Error::TooManySigs);
            }
            session.sigs.push(s);
            if session.sigs.len() == session.num_signers {
                let agg_nonce = session
                    .agg_nonce
                    .as_ref()
                    .ok_or(MuSig2Error::FinalSigInvalid)?;
                let sig = match session.agg(cached.take())? {
                    Agg::V100(ctx, _) => {
                        aggregate_with_context(&ctx, agg_nonce, &session.sigs, &session.msg)
                    }
                    Agg::V040(ctx) => ctx.aggregate(agg_nonce, &session.sigs, &session.msg).ok(),
                };
                match sig {
                    Some(sig) => final_sig = Some(sig),
                    None => return Err(MuSig2Error::FinalSigInvalid),
                }
            }
        }
        match final_sig {
            Some(sig) => {
                self.remove_session(&id);
                Ok(signrpc::MuSig2CombineSigResponse {
                    have_all_signatures: true,
                    final_signature: sig.to_vec(),
                })
            }
            None => Ok(signrpc::MuSig2CombineSigResponse {
                have_all_signatures: false,
                final_signature: Vec::new(),
            }),
        }
    }

    /// `MuSig2Cleanup`.
    pub fn cleanup(
        &mut self,
        req: &signrpc::MuSig2CleanupRequest,
    ) -> Result<signrpc::MuSig2CleanupResponse, MuSig2Error> {
        const OP: &str = "error cleaning up session";
        let id = parse_session_id(&req.session_id)?;
        self.remove_session(&id).ok_or_else(|| not_found(OP, &id))?;
        Ok(signrpc::MuSig2CleanupResponse {})
    }
}

/// Hash of everything besides the nonces and the message that a partial
/// signature depends on: version, local key, the signer keys (sorted, as
/// aggregation sorts them), the effective tweak and the resulting key.
fn key_context_hash(
    version: Version,
    local_pubkey: &Point,
    keys: &[Point],
    tweak: &EffectiveTweak,
    output: &Point,
) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(b"lnd-web-signer/musig2/key-context");
    h.update([match version {
        Version::V040 => 0u8,
        Version::V100Rc2 => 1,
    }]);
    h.update(local_pubkey.serialize());
    let mut sorted: Vec<[u8; 33]> = keys.iter().map(Point::serialize).collect();
    sorted.sort_unstable();
    h.update((sorted.len() as u64).to_be_bytes());
    for k in &sorted {
        h.update(k);
    }
    match tweak {
        EffectiveTweak::None => h.update([0u8]),
        EffectiveTweak::Bip86 => h.update([1u8]),
        EffectiveTweak::ScriptRoot(root) => {
            h.update([2u8]);
            h.update(root);
        }
        EffectiveTweak::Generic(tweaks) => {
            h.update([3u8]);
            h.update((tweaks.len() as u64).to_be_bytes());
            for t in tweaks {
                h.update(t.tweak);
                h.update([u8::from(t.x_only)]);
            }
        }
    }
    h.update(output.serialize());
    h.finalize().into()
}

/// lnd's wording for tweak failures of the V100RC2 context.
fn lnd_tweak_text(e: &str) -> String {
    if e.contains("less than n") {
        "tweaked key is too large".to_string()
    } else if e.contains("infinity") {
        "tweaked key is infinity point".to_string()
    } else {
        e.to_string()
    }
}

fn parse_signer_key(version: Version, index: usize, raw: &[u8]) -> Result<Point, MuSig2Error> {
    match version {
        Version::V040 => {
            let x: Result<[u8; 32], _> = raw.try_into();
            x.map_err(|_| format!("malformed public key: invalid length: {}", raw.len()))
                .and_then(|x| Point::lift_x(&x).map_err(|e| e.to_string()))
                .map_err(|reason| MuSig2Error::InvalidSignerKey {
                    index,
                    version_text: "v0.4.0 (x-only format)",
                    reason,
                })
        }
        // btcec.ParsePubKey: compressed or uncompressed encodings.
        Version::V100Rc2 => Point::from_slice(raw).map_err(|e| MuSig2Error::InvalidSignerKey {
            index,
            version_text: "v1.0.0rc2 (compressed format)",
            reason: e.to_string(),
        }),
    }
}

/// lnd's `UnmarshalTweaks` plus the precedence of btcec's context.
fn unmarshal_tweaks(
    tweaks: &[signrpc::TweakDesc],
    taproot: Option<&signrpc::TaprootTweakDesc>,
) -> Result<EffectiveTweak, MuSig2Error> {
    let mut generic = Vec::with_capacity(tweaks.len());
    for t in tweaks {
        if t.tweak.is_empty() {
            return Err(MuSig2Error::Tweak("tweak cannot be empty"));
        }
        generic.push(Tweak32 {
            tweak: to_array32(&t.tweak),
            x_only: t.is_x_only,
        });
    }
    if let Some(tt) = taproot {
        if tt.key_spend_only {
            return Ok(EffectiveTweak::Bip86);
        }
        if tt.script_root.is_empty() {
            return Err(MuSig2Error::Tweak(
                "script root cannot be empty for non-keyspend",
            ));
        }
        return Ok(EffectiveTweak::ScriptRoot(to_array32(&tt.script_root)));
    }
    if generic.is_empty() {
        Ok(EffectiveTweak::None)
    } else {
        Ok(EffectiveTweak::Generic(generic))
    }
}

/// Append already-parsed nonces; aggregate (BIP-327 `NonceAgg`) when
/// complete.
fn register(session: &mut Session, parsed: Vec<PubNonce>) {
    session.nonces.extend(parsed);
    if session.nonces.len() == session.num_signers {
        session.agg_nonce = Some(AggNonce::sum(&session.nonces));
        // Only the aggregate is used from here on.
        session.nonces = Vec::new();
    }
}

/// The local partial signature; `agg` is the session's aggregation context
/// when it is at hand (else it is rebuilt).
fn sign_session(
    session: &Session,
    secrets: &LocalSecrets,
    msg: &[u8; 32],
    agg: Option<Agg>,
) -> Result<MaybeScalar, MuSig2Error> {
    let sec = &secrets.nonce;
    if sec.bound_pubkey != session.local_pubkey.serialize() {
        return Err(MuSig2Error::SecNoncePubkey);
    }
    let k1 =
        scalar(&sec.k[..32]).ok_or_else(|| MuSig2Error::Signing("secret nonce is blank".into()))?;
    let k2 =
        scalar(&sec.k[32..]).ok_or_else(|| MuSig2Error::Signing("secret nonce is blank".into()))?;
    let sk = scalar(secrets.sk.as_slice())
        .ok_or_else(|| MuSig2Error::Signing("priv key is zero".into()))?;
    let agg_nonce = session
        .agg_nonce
        .as_ref()
        .ok_or(MuSig2Error::MissingNonces {
            have: session.nonces.len(),
            need: session.num_signers,
        })?;
    match session.agg(agg)? {
        Agg::V100(ctx, _) => {
            sign_with_context(&ctx, k1, k2, sk, session.local_pubkey, agg_nonce, msg)
                .map_err(|e| MuSig2Error::Signing(e.to_string()))
        }
        Agg::V040(ctx) => ctx
            .sign(k1, k2, sk, agg_nonce, msg)
            .map_err(MuSig2Error::Signing),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manager_is_send_and_debug_is_redacted() {
        fn assert_send<T: Send>() {}
        assert_send::<SessionManager>();
        let m = SessionManager::default();
        let text = format!("{m:?}");
        assert!(
            text.contains("[redacted]") && text.contains("sessions: 0"),
            "{text}"
        );
    }

    /// A signed session keeps neither the private key nor the secret nonce
    /// nor the individual nonces; the context cache stays bounded and
    /// forgets removed sessions.
    #[test]
    fn signed_sessions_hold_no_secret_and_the_cache_is_bounded() {
        let local = SecretKey::from_slice(&[1; 32]).expect("key");
        let peer = Scalar::from_slice(&[2; 32]).expect("scalar");
        let keys = vec![
            local.public_key(secp256k1::SECP256K1).serialize().to_vec(),
            peer.base_point_mul().serialize().to_vec(),
        ];
        let peer_nonce = public_nonce_points(&NonceScalars {
            k1: Scalar::from_slice(&[3; 32]).expect("k1"),
            k2: Scalar::from_slice(&[4; 32]).expect("k2"),
        });
        let mut m = SessionManager::default();
        let mut ids = Vec::new();
        for i in 0..20u8 {
            let req = signrpc::MuSig2SessionRequest {
                key_loc: Some(signrpc::KeyLocator::default()),
                all_signer_pubkeys: keys.clone(),
                other_signer_public_nonces: vec![peer_nonce.serialize().to_vec()],
                version: signrpc::MuSig2Version::Musig2VersionV100rc2 as i32,
                ..Default::default()
            };
            let resp = m.create_session(&local, &req, [i; 32]).expect("create");
            let id: SessionId = resp.session_id.as_slice().try_into().expect("32 bytes");
            assert!(m.sessions[&id].nonces.is_empty(), "aggregated at create");
            assert!(m.sessions[&id].secrets.is_some());
            assert!(m.recent.len() <= RECENT_CONTEXTS);
            ids.push(id);
        }
        for (i, id) in ids.iter().enumerate() {
            m.sign(&signrpc::MuSig2SignRequest {
                session_id: id.to_vec(),
                message_digest: vec![9; 32],
                cleanup: i % 2 == 0,
            })
            .expect("sign");
            if let Some(s) = m.sessions.get(id) {
                assert!(s.secrets.is_none() && s.signed);
            }
            assert!(m.recent.iter().all(|(k, _)| k != id), "taken by sign");
        }
        assert_eq!(m.session_count(), 10);
        assert!(m.recent.is_empty());
    }

    #[test]
    fn used_nonce_record_is_bounded_fifo() {
        let mut used = UsedNonces {
            map: HashMap::new(),
            order: VecDeque::new(),
            cap: 2,
            journal: None,
        };
        let n = |b: u8| [b; 66];
        let ctx = |b: u8| SigningContext::new(&[b; 32], &[b; 66], &[b; 32]);
        used.insert(&n(1), ctx(1));
        used.insert(&n(2), ctx(2));
        used.insert(&n(2), ctx(3));
        assert!(used.check(&n(1), &ctx(2)).is_err() && used.check(&n(2), &ctx(3)).is_err());
        assert!(used.check(&n(2), &ctx(2)).is_ok(), "first context kept");
        used.insert(&n(3), ctx(3));
        assert!(
            used.check(&n(1), &ctx(2)).is_ok(),
            "oldest forgotten beyond the bound"
        );
        assert!(used.check(&n(2), &ctx(1)).is_err() && used.check(&n(3), &ctx(1)).is_err());
        assert_eq!(used.order.len(), 2);
        assert_eq!(used.map.len(), 2);
    }

    #[test]
    fn used_nonce_journal_round_trips_and_is_bounded() {
        let mut a = SessionManager::new(Limits {
            used_nonce_record: 3,
            ..Limits::default()
        });
        let ctx = |b: u8| SigningContext::new(&[b; 32], &[b; 66], &[b; 32]);
        a.used.insert(&[9; 66], ctx(9));
        assert!(a.take_used_nonces().is_empty(), "journal off");
        a.journal_used_nonces(true);
        for b in 1..=4u8 {
            a.used.insert(&[b; 66], ctx(b));
        }
        a.used.insert(&[4; 66], ctx(5));
        let record = a.take_used_nonces();
        assert_eq!(
            record.len(),
            3 * USED_NONCE_ENTRY_LEN,
            "bounded by the record"
        );
        assert!(a.take_used_nonces().is_empty(), "taken once");

        let mut b = SessionManager::new(Limits::default());
        assert_eq!(b.import_used_nonces(&record), Ok(3));
        assert_eq!(b.import_used_nonces(&record), Ok(0), "already recorded");
        for n in 2..=4u8 {
            assert_eq!(b.used.check(&[n; 66], &ctx(n)), Ok(()));
            assert!(b.used.check(&[n; 66], &ctx(7)).is_err(), "nonce {n}");
        }
        assert_eq!(
            b.used.check(&[1; 66], &ctx(7)),
            Ok(()),
            "dropped from the journal"
        );
        assert_eq!(
            b.used
                .check(&[4; 66], &SigningContext::new(&[4; 32], &[4; 66], &[8; 32])),
            Err("different message digest".to_string()),
            "tags survive the round trip"
        );
        b.journal_used_nonces(true);
        b.import_used_nonces(&record).expect("import");
        assert!(b.take_used_nonces().is_empty(), "imports are not journaled");

        let mut small = SessionManager::new(Limits {
            used_nonce_record: 1,
            ..Limits::default()
        });
        assert_eq!(small.import_used_nonces(&record), Ok(1), "newest only");
        assert!(small.used.check(&[4; 66], &ctx(7)).is_err());
        assert_eq!(
            small.import_used_nonces(&record[1..]),
            Err(UsedNonceImportError::Length {
                len: 3 * USED_NONCE_ENTRY_LEN - 1
            })
        );
    }

    #[test]
    fn signing_context_names_each_difference() {
        let base = SigningContext::new(&[1; 32], &[2; 66], &[3; 32]);
        assert_eq!(base, SigningContext::new(&[1; 32], &[2; 66], &[3; 32]));
        let msg = SigningContext::new(&[1; 32], &[2; 66], &[4; 32]);
        assert_ne!(msg.hash, base.hash);
        assert_eq!(msg.difference(&base), "different message digest");
        let nonce = SigningContext::new(&[1; 32], &[5; 66], &[3; 32]);
        assert_eq!(
            nonce.difference(&base),
            "different aggregate nonce (another signer's nonce)"
        );
        let key = SigningContext::new(&[6; 32], &[2; 66], &[4; 32]);
        assert_eq!(
            key.difference(&base),
            "different key set, tweak, local key or version, different message digest"
        );
        // Only the hash decides: equal tags, different hash → a generic reason.
        let mut forged = base;
        forged.hash[31] ^= 1;
        let used = UsedNonces {
            map: HashMap::from([(UsedNonces::key(&[7; 66]), base)]),
            order: VecDeque::from([UsedNonces::key(&[7; 66])]),
            cap: 1,
            journal: None,
        };
        assert_eq!(
            used.check(&[7; 66], &forged),
            Err("different signing context".to_string())
        );
        assert_eq!(used.check(&[7; 66], &base), Ok(()));
    }

    #[test]
    fn key_context_covers_every_part() {
        let p = |b: u8| {
            Scalar::from_slice(&[b; 32])
                .expect("scalar")
                .base_point_mul()
        };
        let keys = [p(1), p(2)];
        let base = key_context_hash(
            Version::V100Rc2,
            &p(1),
            &keys,
            &EffectiveTweak::Bip86,
            &p(9),
        );
        let reordered = key_context_hash(
            Version::V100Rc2,
            &p(1),
            &[p(2), p(1)],
            &EffectiveTweak::Bip86,
            &p(9),
        );
        assert_eq!(base, reordered, "aggregation sorts the keys");
        let others = [
            key_context_hash(Version::V040, &p(1), &keys, &EffectiveTweak::Bip86, &p(9)),
            key_context_hash(
                Version::V100Rc2,
                &p(2),
                &keys,
                &EffectiveTweak::Bip86,
                &p(9),
            ),
            key_context_hash(
                Version::V100Rc2,
                &p(1),
                &[p(1), p(3)],
                &EffectiveTweak::Bip86,
                &p(9),
            ),
            key_context_hash(Version::V100Rc2, &p(1), &keys, &EffectiveTweak::None, &p(9)),
            key_context_hash(
                Version::V100Rc2,
                &p(1),
                &keys,
                &EffectiveTweak::ScriptRoot([0; 32]),
                &p(9),
            ),
            key_context_hash(
                Version::V100Rc2,
                &p(1),
                &keys,
                &EffectiveTweak::Generic(vec![Tweak32 {
                    tweak: [0; 32],
                    x_only: true,
                }]),
                &p(9),
            ),
            key_context_hash(
                Version::V100Rc2,
                &p(1),
                &keys,
                &EffectiveTweak::Generic(vec![Tweak32 {
                    tweak: [0; 32],
                    x_only: false,
                }]),
                &p(9),
            ),
            key_context_hash(
                Version::V100Rc2,
                &p(1),
                &keys,
                &EffectiveTweak::Bip86,
                &p(8),
            ),
        ];
        for (i, o) in others.iter().enumerate() {
            assert_ne!(*o, base, "part {i}");
        }
    }
}
