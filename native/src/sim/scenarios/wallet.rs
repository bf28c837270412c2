//! On-chain wallet workload (signing.md §3.6, §3.7, §3.10):
//!
//! * `SendOutputs`: the node signs a wallet transaction input by input
//!   through `ComputeInputScript`, one SignPsbt per input; inputs signed
//!   earlier carry FINAL_SCRIPTWITNESS/FINAL_SCRIPTSIG in later requests.
//!   P2WKH (m/84'), NP2WKH (m/49' external) and the hybrid BIP-49 change
//!   (m/49'/0'/0'/1/i, native P2WKH) get lnd's quirk: REDEEM_SCRIPT and
//!   WITNESS_SCRIPT both set to the P2WKH program; P2TR (m/86') is a BIP-86
//!   key spend with SIGHASH_DEFAULT (no sighash field).
//! * `walletrpc.SignPsbt`: a user PSBT forwarded verbatim with several
//!   signable inputs and one foreign input, signed in one request.
//! * `sendcoins --sweepall` over a wallet with P2WKH, NP2WKH and P2TR coins
//!   (the sweeper's `createSweepTx`: sequence 0, lock time at the chain
//!   height, one output): six inputs signed one request each in input
//!   order, P2TR ones after inputs with longer witnesses, so the finalized
//!   inputs carry the FINAL_SCRIPTWITNESS values of lnd's reused buffer
//!   (`packetFromTx`, see `sim::psbt`); the last input's step also judges
//!   the assembled transaction as a whole.

use bitcoin::script::PushBytesBuf;
use bitcoin::secp256k1::XOnlyPublicKey;
use bitcoin::{
    Amount, CompressedPublicKey, OutPoint, ScriptBuf, Sequence, Transaction, TxOut, Witness,
};

use super::{foreign_output, make_tx, random_outpoint, sign_psbt, Sim, StepError, StepResult};
use crate::sim::accounts::DerivedKey;
use crate::sim::psbt::{lnd_final_witnesses, GotSig, SignSpec, Spend};
use crate::sim::verify::verify_wallet_spend;

/// Address types of lnd's wallet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WalletKind {
    /// BIP-84 P2WKH.
    P2wkh,
    /// BIP-49 external NP2WKH (P2SH-P2WKH).
    Np2wkh,
    /// BIP-49 change: native P2WKH under m/49' (lnd's hybrid scope).
    HybridChange,
    /// BIP-86 P2TR.
    P2tr,
}

impl WalletKind {
    pub(crate) fn purpose_branch(self) -> (u32, u32) {
        match self {
            WalletKind::P2wkh => (84, 0),
            WalletKind::Np2wkh => (49, 0),
            WalletKind::HybridChange => (49, 1),
            WalletKind::P2tr => (86, 0),
        }
    }

    fn name(self) -> &'static str {
        match self {
            WalletKind::P2wkh => "P2WKH",
            WalletKind::Np2wkh => "NP2WKH",
            WalletKind::HybridChange => "P2WKH hybrid change",
            WalletKind::P2tr => "P2TR BIP-86",
        }
    }
}

/// A wallet UTXO the watch-only wallet knows (with its previous tx).
#[derive(Debug, Clone)]
pub struct WalletCoin {
    /// Address type.
    pub kind: WalletKind,
    /// Key and path.
    pub key: DerivedKey,
    /// The previous transaction.
    pub prev_tx: Transaction,
    /// Output index in `prev_tx`.
    pub vout: u32,
}

fn p2wkh_program(key: &DerivedKey) -> ScriptBuf {
    ScriptBuf::new_p2wpkh(&CompressedPublicKey(key.pubkey).wpubkey_hash())
}

impl WalletCoin {
    /// A coin of `kind` at address index `index` worth `sat`.
    pub fn new(sim: &Sim, kind: WalletKind, index: u32, sat: u64) -> Result<Self, StepError> {
        let (purpose, branch) = kind.purpose_branch();
        let key = sim.keys()?.wallet_key(purpose, branch, index)?;
        let script_pubkey = match kind {
            WalletKind::P2wkh | WalletKind::HybridChange => p2wkh_program(&key),
            WalletKind::Np2wkh => ScriptBuf::new_p2sh(&p2wkh_program(&key).script_hash()),
            WalletKind::P2tr => {
                ScriptBuf::new_p2tr(&sim.secp, XOnlyPublicKey::from(key.pubkey), None)
            }
        };
        let vout = index % 2;
        let mut outputs = vec![foreign_output(77_000)?];
        outputs.insert(
            vout as usize,
            TxOut {
                value: Amount::from_sat(sat),
                script_pubkey,
            },
        );
        let prev_tx = make_tx(&[(random_outpoint(1), Sequence::MAX)], outputs, 0);
        Ok(WalletCoin {
            kind,
            key,
            prev_tx,
            vout,
        })
    }

    /// The coin's outpoint.
    pub fn outpoint(&self) -> OutPoint {
        OutPoint {
            txid: self.prev_tx.compute_txid(),
            vout: self.vout,
        }
    }

    /// The coin's output.
    pub fn txout(&self) -> TxOut {
        self.prev_tx.output[self.vout as usize].clone()
    }

    /// Label fragment.
    pub fn describe(&self) -> String {
        format!("{} {}", self.kind.name(), self.key.path_string())
    }

    /// The sign request of the node's `ComputeInputScript` for this coin at
    /// input `input`.
    pub fn compute_input_script_spec(&self, input: usize) -> SignSpec {
        let program = p2wkh_program(&self.key);
        let taproot = self.kind == WalletKind::P2tr;
        SignSpec {
            input,
            key: self.key.clone(),
            utxo: self.txout(),
            prev_tx: Some(self.prev_tx.clone()),
            sighash: if taproot { 0 } else { 1 },
            redeem_script: (!taproot).then(|| program.clone()),
            witness_script: (!taproot).then(|| program.clone()),
            single_tweak: None,
            double_tweak: None,
            spend: if taproot {
                Spend::TaprootKey { merkle_root: None }
            } else {
                Spend::V0 {
                    script_code: program,
                }
            },
        }
    }

    /// Writes the input script the node assembles from the signature.
    pub fn apply(&self, tx: &mut Transaction, input: usize, sig: &GotSig) {
        let txin = &mut tx.input[input];
        match self.kind {
            WalletKind::P2tr => {
                txin.witness = Witness::from_slice(&[sig.bytes()]);
            }
            _ => {
                txin.witness =
                    Witness::from_slice(&[sig.bytes(), &self.key.pubkey.serialize()[..]]);
                if self.kind == WalletKind::Np2wkh {
                    let mut push = PushBytesBuf::new();
                    let _ = push.extend_from_slice(p2wkh_program(&self.key).as_bytes());
                    txin.script_sig = bitcoin::script::Builder::new()
                        .push_slice(push)
                        .into_script();
                }
            }
        }
    }
}

/// Signs `coins` (at their input indices) one request per input, like
/// `SendOutputs`/funding: each request sees the inputs signed before it as
/// final. One step per input.
pub async fn compute_input_scripts(
    sim: &Sim,
    label: &str,
    tx: &mut Transaction,
    prevouts: &[TxOut],
    coins: &[(usize, WalletCoin)],
) {
    for (input, coin) in coins {
        let spec = coin.compute_input_script_spec(*input);
        let current = tx.clone();
        let got: std::sync::Mutex<Option<GotSig>> = std::sync::Mutex::new(None);
        let l = format!("{label} input {input}: {}", coin.describe());
        let quirk = reused_buffer_note(&current);
        sim.step(&l, || async {
            let (id, sigs) = sign_psbt(sim, &current, prevouts, &[&spec]).await?;
            if let (Some((_, s)), Ok(mut g)) = (sigs.into_iter().next(), got.lock()) {
                *g = Some(s);
            }
            Ok(format!("request {id}{quirk}"))
        })
        .await;
        let sig = got.lock().ok().and_then(|mut g| g.take());
        if let Some(sig) = sig {
            coin.apply(tx, *input, &sig);
        }
    }
}

/// Which finalized inputs of a request built from `tx` carry a
/// FINAL_SCRIPTWITNESS that is not their witness (lnd's reused buffer), and
/// how many of those do not even decode; empty when none.
fn reused_buffer_note(tx: &Transaction) -> String {
    let mut wrong = Vec::new();
    let mut undecodable = 0;
    for (i, (txin, sent)) in tx.input.iter().zip(lnd_final_witnesses(tx)).enumerate() {
        let Some(sent) = sent else { continue };
        if sent != bitcoin::consensus::serialize(&txin.witness) {
            wrong.push(i);
            if bitcoin::consensus::deserialize::<Witness>(&sent).is_err() {
                undecodable += 1;
            }
        }
    }
    if wrong.is_empty() {
        return String::new();
    }
    format!(
        "; FINAL_SCRIPTWITNESS of inputs {wrong:?} from lnd's reused buffer, {undecodable} not decodable"
    )
}

async fn send_outputs(sim: &Sim, base: u32) -> Result<(), StepError> {
    let coins = [
        WalletCoin::new(sim, WalletKind::P2wkh, base, 150_000)?,
        WalletCoin::new(sim, WalletKind::Np2wkh, base + 1, 250_000)?,
        WalletCoin::new(sim, WalletKind::P2tr, base + 2, 300_000)?,
        WalletCoin::new(sim, WalletKind::HybridChange, base + 3, 120_000)?,
    ];
    let change_key = sim.keys()?.wallet_key(86, 1, base)?;
    let change = TxOut {
        value: Amount::from_sat(150_000 + 250_000 + 300_000 + 120_000 - 500_000 - 2_000),
        script_pubkey: ScriptBuf::new_p2tr(
            &sim.secp,
            XOnlyPublicKey::from(change_key.pubkey),
            None,
        ),
    };
    let inputs: Vec<_> = coins
        .iter()
        .map(|c| (c.outpoint(), Sequence::ENABLE_RBF_NO_LOCKTIME))
        .collect();
    let mut tx = make_tx(&inputs, vec![foreign_output(500_000)?, change], 0);
    let prevouts: Vec<TxOut> = coins.iter().map(|c| c.txout()).collect();
    let with_idx: Vec<(usize, WalletCoin)> = coins.iter().cloned().enumerate().collect();
    compute_input_scripts(sim, "[wallet] send_outputs", &mut tx, &prevouts, &with_idx).await;
    Ok(())
}

/// `walletrpc.SignPsbt` on the node: a user's PSBT with three wallet inputs
/// and one foreign input, forwarded as is (no lnd quirk scripts; NP2WKH with
/// its redeem script, SIGHASH_ALL set by the user for v0 inputs).
async fn user_psbt(sim: &Sim, base: u32) -> StepResult {
    let a = WalletCoin::new(sim, WalletKind::P2wkh, base + 4, 210_000)?;
    let b = WalletCoin::new(sim, WalletKind::P2tr, base + 5, 95_000)?;
    let c = WalletCoin::new(sim, WalletKind::Np2wkh, base + 6, 64_000)?;
    let foreign = foreign_output(50_000)?;
    let foreign_op = random_outpoint(0);
    let tx = make_tx(
        &[
            (a.outpoint(), Sequence::MAX),
            (foreign_op, Sequence::MAX),
            (b.outpoint(), Sequence::MAX),
            (c.outpoint(), Sequence::MAX),
        ],
        vec![foreign_output(400_000)?],
        0,
    );
    let prevouts = vec![a.txout(), foreign, b.txout(), c.txout()];
    let mut sa = a.compute_input_script_spec(0);
    sa.redeem_script = None;
    sa.witness_script = None;
    let sb = b.compute_input_script_spec(2);
    let mut sc = c.compute_input_script_spec(3);
    sc.witness_script = None;
    let (id, _) = sign_psbt(sim, &tx, &prevouts, &[&sa, &sb, &sc]).await?;
    Ok(format!("request {id}"))
}

/// The chain height the sweeps use as lock time (lnd: the current height).
const SWEEP_HEIGHT: u32 = 1_200;

/// `lncli sendcoins --sweepall` as the watch-only node runs it (sweeper
/// `CraftSweepAllTx` → `createSweepTx`): every wallet coin an input with
/// sequence 0 (`BlocksToMaturity`), lock time = height, the whole value
/// minus the fee to one output; SIGHASH_ALL for v0 inputs, SIGHASH_DEFAULT
/// for P2TR; each input through `ComputeInputScript` → `remoteSign` in
/// input order, the request carrying the transaction signed so far through
/// `packetFromTx`. The order puts P2TR inputs (66-byte witnesses) after
/// P2WKH/NP2WKH ones (~108 bytes) and after each other, so later requests
/// carry undecodable prefixes and a P2TR input whose value is another
/// input's witness. The last input's step then judges the assembled
/// transaction.
async fn sweep_all(sim: &Sim, base: u32) -> Result<(), StepError> {
    let label = "[wallet] sendcoins --sweepall";
    let coins = [
        WalletCoin::new(sim, WalletKind::P2wkh, base, 81_000)?,
        WalletCoin::new(sim, WalletKind::Np2wkh, base + 1, 92_000)?,
        WalletCoin::new(sim, WalletKind::P2tr, base + 2, 103_000)?,
        WalletCoin::new(sim, WalletKind::HybridChange, base + 3, 74_000)?,
        WalletCoin::new(sim, WalletKind::P2tr, base + 4, 65_000)?,
        WalletCoin::new(sim, WalletKind::P2tr, base + 5, 56_000)?,
    ];
    let total: u64 = coins.iter().map(|c| c.txout().value.to_sat()).sum();
    let inputs: Vec<_> = coins
        .iter()
        .map(|c| (c.outpoint(), Sequence::ZERO))
        .collect();
    let mut tx = make_tx(&inputs, vec![foreign_output(total - 3_100)?], SWEEP_HEIGHT);
    let prevouts: Vec<TxOut> = coins.iter().map(|c| c.txout()).collect();
    let mut with_idx: Vec<(usize, WalletCoin)> = coins.iter().cloned().enumerate().collect();
    let Some((input, coin)) = with_idx.pop() else {
        return Ok(());
    };
    compute_input_scripts(sim, label, &mut tx, &prevouts, &with_idx).await;
    // The last input's step also judges the whole transaction (no request
    // of its own: lnd publishes it).
    let spec = coin.compute_input_script_spec(input);
    let current = tx.clone();
    let quirk = reused_buffer_note(&current);
    let l = format!(
        "{label} input {input}: {}, then the assembled transaction (P2WKH, NP2WKH, P2TR, P2WKH, P2TR, P2TR) spends every input",
        coin.describe()
    );
    sim.step(&l, || async {
        let (id, sigs) = sign_psbt(sim, &current, &prevouts, &[&spec]).await?;
        let Some((_, sig)) = sigs.into_iter().next() else {
            return Err(StepError::Check(format!("request {id}: no signature")));
        };
        let mut done = current.clone();
        coin.apply(&mut done, input, &sig);
        let unsigned: Vec<usize> = done
            .input
            .iter()
            .enumerate()
            .filter(|(_, i)| i.witness.is_empty())
            .map(|(i, _)| i)
            .collect();
        if !unsigned.is_empty() {
            return Err(StepError::Check(format!(
                "request {id}: inputs {unsigned:?} have no signature (their requests failed)"
            )));
        }
        verify_wallet_spend(&sim.secp, &done, &prevouts)
            .map_err(|e| StepError::Check(format!("request {id}: assembled transaction: {e}")))?;
        Ok(format!(
            "request {id}{quirk}; txid {}, {} vbytes",
            done.compute_txid(),
            done.weight().to_vbytes_ceil()
        ))
    })
    .await;
    Ok(())
}

/// One round of wallet spends.
pub async fn run(sim: &Sim, _round: u32) {
    let base = sim.alloc_wallet(14);
    if let Err(e) = send_outputs(sim, base).await {
        sim.step("[wallet] send_outputs setup", || async {
            Err::<String, _>(StepError::Check(e.to_string()))
        })
        .await;
    }
    sim.step(
        "[wallet] walletrpc.SignPsbt: user PSBT with P2WKH, foreign, P2TR, NP2WKH inputs",
        || user_psbt(sim, base),
    )
    .await;
    if let Err(e) = sweep_all(sim, base + 8).await {
        sim.step("[wallet] sendcoins --sweepall setup", || async {
            Err::<String, _>(StepError::Check(e.to_string()))
        })
        .await;
    }
}
