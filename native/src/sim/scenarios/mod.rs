//! Workloads: what lnd's watch-only node sends (signing.md §1.4, §2.3,
//! §3.10, §4.4, §5), built from the account xpubs, each answer verified.
//!
//! A *step* is one verified unit (usually one request, sometimes a short
//! request sequence such as a MuSig2 session); it counts once as passed or
//! failed. A step whose non-retryable request (SharedKey, MuSig2) failed
//! because the signer disconnected is re-run from scratch up to
//! `step_retries` times, as lnd's subsystems redo such operations (the peer
//! reconnects, the channel re-establishes and creates new sessions); so is a
//! step whose MuSig2 session was not found because another signer took over
//! during it (the session lived in the one before).

pub mod burst;
pub mod channel;
pub mod errors;
pub mod gossip;
pub mod sendcoins;
pub mod taproot;
pub mod wallet;

use std::future::Future;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use bitcoin::secp256k1::{All, PublicKey, Secp256k1, SecretKey};
use lnd_web_signer::proto::signrpc::{KeyDescriptor, KeyLocator, SharedKeyRequest};
use lnd_web_signer::proto::watchonlyrpc::sign_coordinator_request::SignRequestType as Req;
use lnd_web_signer::proto::watchonlyrpc::sign_coordinator_response::SignResponseType as Resp;

use super::accounts::{AccountsError, WatchKeys};
use super::cert::random_bytes;
use super::coordinator::{Coordinator, RequestError};
use super::report::Report;
use super::Scenario;

/// Why a step did not pass.
#[derive(Debug)]
#[non_exhaustive]
pub enum StepError {
    /// A request failed.
    Request(RequestError),
    /// An answer arrived but is wrong.
    Check(String),
}

impl std::fmt::Display for StepError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StepError::Request(e) => write!(f, "{e}"),
            StepError::Check(e) => f.write_str(e),
        }
    }
}

impl From<RequestError> for StepError {
    fn from(e: RequestError) -> Self {
        StepError::Request(e)
    }
}

impl From<String> for StepError {
    fn from(e: String) -> Self {
        StepError::Check(e)
    }
}

impl From<AccountsError> for StepError {
    fn from(e: AccountsError) -> Self {
        StepError::Check(e.to_string())
    }
}

/// Result of a step: on success a short detail (e.g. the request ids).
pub type StepResult = Result<String, StepError>;

/// Shared state of the workloads.
#[derive(Debug)]
pub struct Sim {
    /// The coordinator the requests go through.
    pub coord: Arc<Coordinator>,
    keys: Option<WatchKeys>,
    /// Pass/fail counts.
    pub report: Arc<Report>,
    /// secp256k1 context.
    pub secp: Secp256k1<All>,
    step_retries: u32,
    next_channel: AtomicU32,
    next_wallet: AtomicU32,
}

impl Sim {
    /// Workload state over `coord`.
    pub fn new(
        coord: Arc<Coordinator>,
        keys: Option<WatchKeys>,
        report: Arc<Report>,
        step_retries: u32,
    ) -> Self {
        Sim {
            coord,
            keys,
            report,
            secp: Secp256k1::new(),
            step_retries,
            next_channel: AtomicU32::new(0),
            next_wallet: AtomicU32::new(0),
        }
    }

    /// The account keys (present for every scenario but idle).
    pub fn keys(&self) -> Result<&WatchKeys, StepError> {
        self.keys
            .as_ref()
            .ok_or_else(|| StepError::Check("no accounts.json loaded".into()))
    }

    /// Index for the next channel (funding key 0/i, basepoints 1..4/i,
    /// revocation root 5/(i+1)).
    pub fn alloc_channel(&self) -> u32 {
        self.next_channel.fetch_add(1, Ordering::SeqCst)
    }

    /// `n` fresh wallet address indices.
    pub fn alloc_wallet(&self, n: u32) -> u32 {
        self.next_wallet.fetch_add(n, Ordering::SeqCst)
    }

    /// Sends one request under the request timeout. A missed deadline is
    /// fatal (lnd shuts down).
    pub async fn call(&self, req: Req) -> Result<(u64, Resp), RequestError> {
        let r = self.coord.request(req, self.coord.request_timeout()).await;
        if let Err(e @ RequestError::Deadline { .. }) = &r {
            self.coord
                .set_fatal(format!("{e}: the real lnd would shut down"));
        }
        r
    }

    /// Runs one step and records its outcome under `label`.
    pub async fn step<F, Fut>(&self, label: &str, f: F)
    where
        F: Fn() -> Fut,
        Fut: Future<Output = StepResult>,
    {
        let mut tries = 0;
        loop {
            tries += 1;
            let handshakes = self.coord.stats.handshakes.load(Ordering::Relaxed);
            match f().await {
                Ok(detail) => {
                    let l = if detail.is_empty() {
                        label.to_string()
                    } else {
                        format!("{label} ({detail})")
                    };
                    self.report.record(self.coord.out(), &l, Ok(()));
                    return;
                }
                Err(StepError::Request(RequestError::NotConnected))
                    if tries <= self.step_retries =>
                {
                    self.coord.out().log(&format!(
                        "{label}: the signer disconnected during a non-retryable request; redoing the step like lnd's subsystem would"
                    ));
                }
                // A MuSig2 session lives in the signer that created it: when
                // another signer took over between CreateSession and Sign
                // (a reconnect, a standby tab), the new one does not know it,
                // and lnd's subsystem redoes the update with a new session.
                Err(StepError::Request(RequestError::Signer(_, text)))
                    if tries <= self.step_retries
                        && text.contains("session with ID")
                        && text.ends_with("not found")
                        && self.coord.stats.handshakes.load(Ordering::Relaxed) > handshakes =>
                {
                    self.coord.out().log(&format!(
                        "{label}: another signer took over during the step (its MuSig2 session is gone: {text}); redoing the step like lnd's subsystem would"
                    ));
                }
                Err(StepError::Request(e)) => {
                    self.report
                        .record(self.coord.out(), label, Err(e.to_string()));
                    return;
                }
                Err(StepError::Check(e)) => {
                    self.report.record(self.coord.out(), label, Err(e));
                    return;
                }
            }
        }
    }
}

/// 32 random bytes.
pub fn random32() -> [u8; 32] {
    let mut b = [0u8; 32];
    // Entropy failure leaves zeros; the secret-key constructor below rejects
    // them and retries, other uses tolerate it.
    let _ = random_bytes(&mut b);
    b
}

/// A fresh random secret key (the counterparty's keys, ephemeral keys,
/// per-commitment secrets, nonces).
pub fn random_secret() -> Result<SecretKey, StepError> {
    for _ in 0..8 {
        if let Ok(k) = SecretKey::from_slice(&random32()) {
            return Ok(k);
        }
    }
    Err(StepError::Check("no randomness available".into()))
}

/// lnd's key locator message.
pub fn key_loc(family: u32, index: u32) -> KeyLocator {
    KeyLocator {
        key_family: family as i32,
        key_index: index as i32,
    }
}

/// DeriveSharedKey as the node sends it (rpcwallet `ECDH`): `key_desc` with
/// the locator, plus the raw key when the index is 0 and the key is known.
pub fn shared_key_request(
    ephemeral: &PublicKey,
    family: u32,
    index: u32,
    raw_key: Option<&PublicKey>,
) -> Req {
    Req::SharedKeyRequest(SharedKeyRequest {
        ephemeral_pubkey: ephemeral.serialize().to_vec(),
        key_loc: None,
        key_desc: Some(KeyDescriptor {
            raw_key_bytes: match (index, raw_key) {
                (0, Some(k)) => k.serialize().to_vec(),
                _ => vec![],
            },
            key_loc: Some(key_loc(family, index)),
        }),
    })
}

/// Extracts the 32-byte shared key of an answer.
pub fn shared_key_of(resp: &Resp) -> Result<[u8; 32], StepError> {
    match resp {
        Resp::SharedKeyResponse(r) => r.shared_key.as_slice().try_into().map_err(|_| {
            StepError::Check(format!(
                "shared_key has {} bytes, want 32",
                r.shared_key.len()
            ))
        }),
        _ => Err(StepError::Check("not a shared key response".into())),
    }
}

/// Brontide handshake / onion processing ECDH with the node key, verified
/// exactly: the simulator chose the ephemeral secret `e`, so the answer
/// must be `sha256(ser33(e·P_node))`.
pub async fn node_ecdh(sim: &Sim, what: &str) -> StepResult {
    let node = sim.keys()?.node_key()?;
    let e = random_secret()?;
    let e_pub = PublicKey::from_secret_key(&sim.secp, &e);
    let (id, resp) = sim
        .call(shared_key_request(&e_pub, 6, 0, Some(&node.pubkey)))
        .await?;
    let got = shared_key_of(&resp)?;
    let want = super::scripts::ecdh(&sim.secp, &e, &node.pubkey)?;
    if got != want {
        return Err(StepError::Check(format!(
            "request {id}: {what} shared key {} != sha256(ser33(e·node_key)) {}",
            hex::encode(got),
            hex::encode(want)
        )));
    }
    Ok(format!("request {id}"))
}

/// Runs one round of `scenario`.
pub async fn run_round(sim: &Sim, scenario: Scenario, round: u32) {
    match scenario {
        Scenario::Idle => {}
        Scenario::Wallet => wallet::run(sim, round).await,
        Scenario::Channel => channel::run(sim, round).await,
        Scenario::TaprootChannel => taproot::run(sim, round).await,
        Scenario::Gossip => gossip::run(sim, round).await,
        Scenario::Burst => burst::run(sim, round).await,
        Scenario::Errors => errors::run(sim, round).await,
        Scenario::Sendcoins => sendcoins::run(sim, round).await,
        Scenario::Mixed => {
            futures_util::join!(
                wallet::run(sim, round),
                channel::run(sim, round),
                taproot::run(sim, round),
                gossip::run(sim, round),
                gossip::run_apps(sim, round),
            );
        }
    }
}

/// Builds an unsigned version-2 transaction.
pub fn make_tx(
    inputs: &[(bitcoin::OutPoint, bitcoin::Sequence)],
    outputs: Vec<bitcoin::TxOut>,
    lock_time: u32,
) -> bitcoin::Transaction {
    bitcoin::Transaction {
        version: bitcoin::transaction::Version::TWO,
        lock_time: bitcoin::absolute::LockTime::from_consensus(lock_time),
        input: inputs
            .iter()
            .map(|(op, seq)| bitcoin::TxIn {
                previous_output: *op,
                script_sig: bitcoin::ScriptBuf::new(),
                sequence: *seq,
                witness: bitcoin::Witness::new(),
            })
            .collect(),
        output: outputs,
    }
}

/// An outpoint of some transaction the simulator does not model.
pub fn random_outpoint(vout: u32) -> bitcoin::OutPoint {
    use bitcoin::hashes::Hash;
    bitcoin::OutPoint {
        txid: bitcoin::Txid::from_byte_array(random32()),
        vout,
    }
}

/// An output paying to a key of somebody else (P2WKH).
pub fn foreign_output(sat: u64) -> Result<bitcoin::TxOut, StepError> {
    let k = PublicKey::from_secret_key(&Secp256k1::signing_only(), &random_secret()?);
    Ok(bitcoin::TxOut {
        value: bitcoin::Amount::from_sat(sat),
        script_pubkey: bitcoin::ScriptBuf::new_p2wpkh(
            &bitcoin::CompressedPublicKey(k).wpubkey_hash(),
        ),
    })
}

/// An output to a fresh address of our own wallet (BIP-84, the branch the
/// workloads' P2WKH coins use), as lnd's sweeper pays its sweeps: the
/// signer's default policy refuses a sweep of channel outputs to anything
/// else (docs/security.md).
pub fn wallet_output(sim: &Sim, sat: u64) -> Result<bitcoin::TxOut, StepError> {
    let (purpose, branch) = wallet::WalletKind::P2wkh.purpose_branch();
    let key = sim
        .keys()?
        .wallet_key(purpose, branch, sim.alloc_wallet(1))?;
    Ok(bitcoin::TxOut {
        value: bitcoin::Amount::from_sat(sat),
        script_pubkey: bitcoin::ScriptBuf::new_p2wpkh(
            &bitcoin::CompressedPublicKey(key.pubkey).wpubkey_hash(),
        ),
    })
}

/// Sends one SignPsbt for `specs` over `tx` (lnd's PSBT construction) and
/// verifies the answer. Returns the request id and the signatures by input.
pub async fn sign_psbt(
    sim: &Sim,
    tx: &bitcoin::Transaction,
    prevouts: &[bitcoin::TxOut],
    specs: &[&super::psbt::SignSpec],
) -> Result<(u64, Vec<(usize, super::psbt::GotSig)>), StepError> {
    use lnd_web_signer::proto::walletrpc::SignPsbtRequest;
    let packet = super::psbt::build_packet(tx, prevouts, specs)?;
    let (id, resp) = sim
        .call(Req::SignPsbtRequest(SignPsbtRequest {
            funded_psbt: packet.serialize(),
        }))
        .await?;
    let Resp::SignPsbtResponse(r) = resp else {
        return Err(StepError::Check(format!(
            "request {id}: not a sign_psbt response"
        )));
    };
    let sigs = super::psbt::verify_answer(&sim.secp, &packet, prevouts, specs, &r)
        .map_err(|e| StepError::Check(format!("request {id}: {e}")))?;
    Ok((id, sigs))
}
