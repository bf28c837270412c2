//! The signing dispatcher: one [`Work`] in, one `SignCoordinatorResponse`
//! out, as lnd's outbound remote signer answers
//! (lnd `lnwallet/rpcwallet/remote_signer_client.go`, spec/protocol.md §2).
//!
//! The registration handshake, pings and members that are not signing work
//! are the session's job ([`crate::session::route`]); the signer is only
//! given [`Work`]. Failures become a `signer_error` whose text is what lnd's
//! signer sends: [`crate::request::ERROR_PREFIX`] followed by the
//! operation's error.

use core::fmt;

use crate::audit::{AuditChain, Entry};
use crate::entropy::Entropy;
use crate::keys::{Network, RootKey};
use crate::policy::{Clock, Decision, Headless, NoClock, Policy, PolicyConfig, Verdict};
use crate::proto::walletrpc;
use crate::proto::watchonlyrpc::sign_coordinator_response::SignResponseType as Resp;
use crate::proto::watchonlyrpc::SignCoordinatorResponse;
use crate::request::{signer_error, Op, Work};
use crate::signing::{ecdh, message, psbt};

/// Answers signing requests for one root key.
pub struct Signer {
    root: RootKey,
    entropy: Box<dyn Entropy>,
    /// MuSig2 sessions (memory only; see docs/musig2.md).
    musig2: std::sync::Mutex<crate::musig2::SessionManager>,
    /// The signing policy and the clock it reads (docs/security.md).
    policy: std::sync::Mutex<PolicyState>,
    /// The audit log, when the host keeps one.
    audit: std::sync::Mutex<Option<AuditState>>,
}

struct PolicyState {
    policy: Policy,
    clock: Box<dyn Clock>,
}

struct AuditState {
    /// [`AuditChain::append`] behind a box: hosts that keep no log (the
    /// browser build) then link no entry serialisation at all.
    append: Box<dyn FnMut(Entry) -> String + Send>,
    /// Lines not yet taken by the host ([`Signer::take_audit_lines`]).
    pending: Vec<String>,
}

/// Most audit lines kept for a host that does not take them.
const MAX_PENDING_AUDIT_LINES: usize = 100_000;

fn lock<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl fmt::Debug for Signer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Signer {{ network: {}, key: [redacted] }}",
            self.root.network()
        )
    }
}

impl Signer {
    /// A signer for `root`, with `entropy` for BIP-340 aux randomness and
    /// MuSig2 nonces, under the default policy ([`PolicyConfig::default`]:
    /// sweeps only to our wallet, pre-generated MuSig2 nonces only for the
    /// multisig family; no rule that reads the time).
    pub fn new(root: RootKey, entropy: Box<dyn Entropy>) -> Self {
        let policy = Policy::new(PolicyConfig::default(), &root);
        Signer {
            root,
            entropy,
            musig2: std::sync::Mutex::new(crate::musig2::SessionManager::default()),
            policy: std::sync::Mutex::new(PolicyState {
                policy,
                clock: Box::new(NoClock),
            }),
            audit: std::sync::Mutex::new(None),
        }
    }

    /// Replaces the policy, with the `clock` its time rules and the audit
    /// log read. What the old one counted (the 24 h window, allowed
    /// transactions, a budget) carries over ([`Policy::carry_over`]).
    pub fn set_policy(&self, config: PolicyConfig, clock: Box<dyn Clock>) {
        let mut policy = Policy::new(config, &self.root);
        let mut state = lock(&self.policy);
        let old = std::mem::replace(
            &mut state.policy,
            Policy::new(PolicyConfig::default(), &self.root),
        );
        policy.carry_over(old);
        *state = PolicyState { policy, clock };
    }

    /// Does the policy's one-time work now (deriving our wallet's scripts,
    /// [`Policy::prepare`]): hosts call it when the signer is unlocked or
    /// started, before it registers with lnd.
    pub fn prepare_policy(&self) {
        lock(&self.policy).policy.prepare();
    }

    /// The policy settings in force.
    pub fn policy_config(&self) -> PolicyConfig {
        lock(&self.policy).policy.config().clone()
    }

    /// Runs `f` on the policy engine (budgets, restored spends).
    pub fn with_policy<R>(&self, f: impl FnOnce(&mut Policy) -> R) -> R {
        f(&mut lock(&self.policy).policy)
    }

    /// Starts writing the audit log `chain` (a new one, or one resumed with
    /// [`AuditChain::resume`]); the spends its `entries` allowed in the
    /// last 24 h count again in the policy's window.
    pub fn set_audit(&self, chain: AuditChain, entries: &[Entry]) {
        {
            let mut p = lock(&self.policy);
            for e in entries {
                if let Some((txid, external)) = e.allowed_spend() {
                    p.policy.restore_spend(e.time, txid, external);
                }
            }
        }
        let mut chain = chain;
        *lock(&self.audit) = Some(AuditState {
            append: Box::new(move |e| chain.append(e)),
            pending: Vec::new(),
        });
    }

    /// The audit lines written since the last call (without line ends), to
    /// store before the answers they describe leave.
    pub fn take_audit_lines(&self) -> Vec<String> {
        lock(&self.audit)
            .as_mut()
            .map(|a| std::mem::take(&mut a.pending))
            .unwrap_or_default()
    }

    /// The key of this signer's audit log.
    pub fn audit_key(&self) -> zeroize::Zeroizing<[u8; 32]> {
        self.root.audit_key()
    }

    /// Where MuSig2 session evictions are reported (the core has no logger).
    pub fn set_musig2_logger(&self, log: crate::musig2::LogSink) {
        self.musig2_sessions().set_logger(log);
    }

    /// Bounds of the MuSig2 session table (default
    /// [`crate::musig2::Limits::default`]), applied at once.
    pub fn set_musig2_limits(&self, limits: crate::musig2::Limits) {
        self.musig2_sessions().set_limits(limits);
    }

    /// Bounds of the MuSig2 session table in force.
    pub fn musig2_limits(&self) -> crate::musig2::Limits {
        self.musig2_sessions().limits()
    }

    /// Journal the MuSig2 used-nonce record for a host that persists it
    /// ([`crate::musig2::SessionManager::journal_used_nonces`]).
    pub fn journal_used_nonces(&self, on: bool) {
        self.musig2_sessions().journal_used_nonces(on);
    }

    /// Used-nonce entries added since the last call, to store before the
    /// reply that carries their signature leaves
    /// ([`crate::musig2::SessionManager::take_used_nonces`]).
    pub fn take_used_nonces(&self) -> Vec<u8> {
        self.musig2_sessions().take_used_nonces()
    }

    /// Add a stored used-nonce record
    /// ([`crate::musig2::SessionManager::import_used_nonces`]).
    pub fn import_used_nonces(
        &self,
        record: &[u8],
    ) -> Result<usize, crate::musig2::UsedNonceImportError> {
        self.musig2_sessions().import_used_nonces(record)
    }

    fn musig2_sessions(&self) -> std::sync::MutexGuard<'_, crate::musig2::SessionManager> {
        // A panic while holding the lock cannot leave a session half-updated
        // in a way that matters more than losing the signer: keep serving.
        self.musig2
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The network of the root key.
    pub fn network(&self) -> Network {
        self.root.network()
    }

    /// The root key (for account export and fixtures).
    pub fn root(&self) -> &RootKey {
        &self.root
    }

    /// Answers one request of signing work: its member, or a `signer_error`
    /// (a policy refusal names its rule's tag). An "ask" becomes what
    /// `approvals.headless` says: hosts with approvals use [`Self::check`]
    /// and [`Self::answer`] instead.
    pub fn handle(&self, work: &Work) -> SignCoordinatorResponse {
        let verdict = self.check(work);
        let approved = match &verdict.decision {
            Decision::Ask(_) => Some(self.policy_config().headless == Headless::Allow),
            _ => None,
        };
        self.answer(work, &verdict, approved)
    }

    /// The policy's verdict on `work` (an allowed spend is counted now).
    pub fn check(&self, work: &Work) -> Verdict {
        let mut p = lock(&self.policy);
        let now = p.clock.now_unix();
        p.policy.check(&work.op, now)
    }

    /// Answers `work` as `verdict` says; for an "ask", `approved` is the
    /// user's answer (`None`: nobody answered). Writes the audit entry.
    pub fn answer(
        &self,
        work: &Work,
        verdict: &Verdict,
        approved: Option<bool>,
    ) -> SignCoordinatorResponse {
        let resp = match (&verdict.decision, approved) {
            (Decision::Allow, _) => self.sign(work),
            (Decision::Ask(_), Some(true)) => {
                lock(&self.policy).policy.approve(verdict);
                self.sign(work)
            }
            (Decision::Ask(r), Some(false)) => signer_error(
                work.id,
                format!("{r} (needs an approval, which was declined)"),
            ),
            (Decision::Ask(r), None) => signer_error(
                work.id,
                format!("{r} (needs an approval, and nobody answered)"),
            ),
            (Decision::Deny(r), _) => signer_error(work.id, r),
        };
        self.audit(work, verdict, approved, &resp);
        resp
    }

    fn audit(
        &self,
        work: &Work,
        verdict: &Verdict,
        approved: Option<bool>,
        resp: &SignCoordinatorResponse,
    ) {
        let mut guard = lock(&self.audit);
        let Some(audit) = guard.as_mut() else {
            return;
        };
        let refused = !matches!(
            (&verdict.decision, approved),
            (Decision::Allow, _) | (Decision::Ask(_), Some(true))
        );
        let result = match &resp.sign_response_type {
            _ if refused => "refused".to_owned(),
            Some(Resp::SignerError(e)) => format!(
                "error: {}",
                e.error
                    .strip_prefix(crate::request::ERROR_PREFIX)
                    .unwrap_or(&e.error)
            ),
            _ => "signed".to_owned(),
        };
        let now = lock(&self.policy).clock.now_unix();
        let entry = Entry::from_verdict(
            now,
            work.kind().display_name(),
            work.id,
            verdict,
            approved,
            result,
        );
        let line = (audit.append)(entry);
        if audit.pending.len() < MAX_PENDING_AUDIT_LINES {
            audit.pending.push(line);
        }
    }

    fn sign(&self, work: &Work) -> SignCoordinatorResponse {
        let e = |e: crate::musig2::MuSig2Error| e.to_string();
        let result: Result<Resp, String> = match &work.op {
            Op::SharedKey(r) => ecdh::derive_shared_key(&self.root, r)
                .map(Resp::SharedKeyResponse)
                .map_err(|e| e.to_string()),
            Op::SignMessage(r) => message::sign_message(&self.root, &*self.entropy, r)
                .map(Resp::SignMessageResp)
                .map_err(|e| e.to_string()),
            Op::SignPsbt(r) => self.sign_psbt(r).map(Resp::SignPsbtResponse),
            // MuSig2 (spec/signing.md §4), answered by the signer-owned
            // [`crate::musig2::SessionManager`].
            Op::MuSig2Session(r) => {
                let derive = |family: u32, index: u32| {
                    crate::signing::keyloc::locator_key(&self.root, family, index)
                        .map_err(|e| e.to_string())
                };
                self.musig2_sessions()
                    .create_session_with(&derive, r, &*self.entropy)
                    .map(Resp::MuSig2SessionResponse)
                    .map_err(e)
            }
            Op::MuSig2RegisterNonces(r) => self
                .musig2_sessions()
                .register_nonces(r)
                .map(Resp::MuSig2RegisterNoncesResponse)
                .map_err(e),
            Op::MuSig2RegisterCombinedNonce(r) => self
                .musig2_sessions()
                .register_combined_nonce(r)
                .map(Resp::MuSig2CombNoncesResp)
                .map_err(e),
            Op::MuSig2GetCombinedNonce(r) => self
                .musig2_sessions()
                .get_combined_nonce(r)
                .map(Resp::MuSig2GetCombNoncesResp)
                .map_err(e),
            Op::MuSig2Sign(r) => self
                .musig2_sessions()
                .sign(r)
                .map(Resp::MuSig2SignResponse)
                .map_err(e),
            Op::MuSig2CombineSig(r) => self
                .musig2_sessions()
                .combine_sig(r)
                .map(Resp::MuSig2CombineSigResponse)
                .map_err(e),
            Op::MuSig2Cleanup(r) => self
                .musig2_sessions()
                .cleanup(r)
                .map(Resp::MuSig2CleanupResponse)
                .map_err(e),
        };
        match result {
            Ok(member) => SignCoordinatorResponse {
                ref_request_id: work.id,
                sign_response_type: Some(member),
            },
            Err(e) => signer_error(work.id, e),
        }
    }

    fn sign_psbt(
        &self,
        r: &walletrpc::SignPsbtRequest,
    ) -> Result<walletrpc::SignPsbtResponse, String> {
        let signed = psbt::sign_psbt(&self.root, &*self.entropy, &r.funded_psbt)
            .map_err(|e| e.to_string())?;
        Ok(walletrpc::SignPsbtResponse {
            signed_psbt: signed.psbt,
            signed_inputs: signed.signed_inputs,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::signrpc;
    use crate::request::ERROR_PREFIX;

    /// Every byte `.0`.
    struct Fixed(u8);
    impl Entropy for Fixed {
        fn fill_bytes(&self, dest: &mut [u8]) {
            dest.fill(self.0);
        }
    }

    fn signer() -> Signer {
        let root = RootKey::from_seed_entropy(&[1u8; 16], Network::Regtest).expect("root");
        Signer::new(root, Box::new(Fixed(7)))
    }

    #[test]
    fn musig2_is_answered_by_the_session_manager() {
        let s = signer();
        // Unknown session: lnd's error, with lnd's prefix.
        let resp = s.handle(&Work {
            id: 3,
            op: Op::MuSig2Cleanup(signrpc::MuSig2CleanupRequest {
                session_id: vec![1; 32],
            }),
        });
        match resp.sign_response_type {
            Some(Resp::SignerError(e)) => {
                assert!(e.error.starts_with(ERROR_PREFIX), "{}", e.error);
                assert!(e.error.contains("not found"), "{}", e.error);
            }
            other => panic!("unexpected {other:?}"),
        }
        // A session for the key at 0/0 with a second signer: real answer.
        let ours = s.root().lnd_key(0, 0).expect("key");
        let pk = ours.public_key(secp256k1::SECP256K1).serialize().to_vec();
        let other = secp256k1::SecretKey::from_slice(&[9; 32])
            .expect("key")
            .public_key(secp256k1::SECP256K1)
            .serialize()
            .to_vec();
        let resp = s.handle(&Work {
            id: 4,
            op: Op::MuSig2Session(signrpc::MuSig2SessionRequest {
                key_loc: Some(signrpc::KeyLocator {
                    key_family: 0,
                    key_index: 0,
                }),
                all_signer_pubkeys: vec![pk, other],
                taproot_tweak: Some(signrpc::TaprootTweakDesc {
                    script_root: vec![],
                    key_spend_only: true,
                }),
                version: signrpc::MuSig2Version::Musig2VersionV100rc2 as i32,
                ..Default::default()
            }),
        });
        let session_id = match resp.sign_response_type {
            Some(Resp::MuSig2SessionResponse(r)) => {
                assert_eq!(r.combined_key.len(), 32);
                assert_eq!(r.taproot_internal_key.len(), 32);
                assert_eq!(r.local_public_nonces.len(), 66);
                assert!(!r.have_all_nonces);
                r.session_id
            }
            other => panic!("unexpected {other:?}"),
        };
        let resp = s.handle(&Work {
            id: 5,
            op: Op::MuSig2Sign(signrpc::MuSig2SignRequest {
                session_id: session_id.clone(),
                message_digest: vec![0; 32],
                cleanup: false,
            }),
        });
        match resp.sign_response_type {
            Some(Resp::SignerError(e)) => {
                assert!(
                    e.error.contains("only have 1 of 2 required nonces"),
                    "{}",
                    e.error
                )
            }
            other => panic!("unexpected {other:?}"),
        }
        let resp = s.handle(&Work {
            id: 6,
            op: Op::MuSig2Cleanup(signrpc::MuSig2CleanupRequest { session_id }),
        });
        assert!(
            matches!(
                resp.sign_response_type,
                Some(Resp::MuSig2CleanupResponse(_))
            ),
            "{resp:?}"
        );
    }

    #[test]
    fn debug_is_redacted() {
        let text = format!("{:?}", signer());
        assert!(text.contains("[redacted]"));
    }
}
