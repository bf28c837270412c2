//! `lncli sendcoins` of a watch-only lnd (`SendOutputs` → `ComputeInputScript`):
//! one wallet transaction with two wallet inputs, a P2WKH (m/84') coin of
//! [`SENDCOINS_P2WKH_SAT`] and a P2TR (m/86') coin of [`SENDCOINS_P2TR_SAT`],
//! paying [`SENDCOINS_EXTERNAL_SAT`] to a foreign address and the rest minus
//! [`SENDCOINS_FEE_SAT`] as change to our own wallet (m/86'/0'/0'/1/i, as
//! lnd's default change). Signed input by input, one SignPsbt per input over
//! the same transaction (the second carrying the first as finalized).
//!
//! The scenario exists to exercise signing policies and approvals: it is a
//! plain payment out of the wallet, so a policy with an external limit below
//! [`SENDCOINS_EXTERNAL_SAT`] refuses it, and every refused request's step
//! fails with the signer's error text. It is therefore not part of `mixed`.

use bitcoin::secp256k1::XOnlyPublicKey;
use bitcoin::{Amount, ScriptBuf, Sequence, TxOut};

use super::wallet::{compute_input_scripts, WalletCoin, WalletKind};
use super::{foreign_output, make_tx, Sim, StepError};

/// Value of the P2WKH input (sat).
pub const SENDCOINS_P2WKH_SAT: u64 = 200_000;
/// Value of the P2TR input (sat).
pub const SENDCOINS_P2TR_SAT: u64 = 150_000;
/// Amount paid to the foreign address (sat): all the transaction sends
/// outside our wallet.
pub const SENDCOINS_EXTERNAL_SAT: u64 = 250_000;
/// Fee (sat).
pub const SENDCOINS_FEE_SAT: u64 = 2_000;
/// Change back to our wallet (sat).
pub const SENDCOINS_CHANGE_SAT: u64 =
    SENDCOINS_P2WKH_SAT + SENDCOINS_P2TR_SAT - SENDCOINS_EXTERNAL_SAT - SENDCOINS_FEE_SAT;

/// Label of the steps (followed by ` input N: ...`).
pub fn label() -> String {
    format!("[sendcoins] {SENDCOINS_EXTERNAL_SAT} sat")
}

/// Builds the transaction and signs it one request per input (one step per
/// input).
pub async fn sendcoins(sim: &Sim, _round: u32) -> Result<(), StepError> {
    let base = sim.alloc_wallet(2);
    let coins = [
        WalletCoin::new(sim, WalletKind::P2wkh, base, SENDCOINS_P2WKH_SAT)?,
        WalletCoin::new(sim, WalletKind::P2tr, base + 1, SENDCOINS_P2TR_SAT)?,
    ];
    let change_key = sim.keys()?.wallet_key(86, 1, base)?;
    let change = TxOut {
        value: Amount::from_sat(SENDCOINS_CHANGE_SAT),
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
    let mut tx = make_tx(
        &inputs,
        vec![foreign_output(SENDCOINS_EXTERNAL_SAT)?, change],
        0,
    );
    let prevouts: Vec<TxOut> = coins.iter().map(|c| c.txout()).collect();
    let with_idx: Vec<(usize, WalletCoin)> = coins.iter().cloned().enumerate().collect();
    compute_input_scripts(sim, &label(), &mut tx, &prevouts, &with_idx).await;
    Ok(())
}

/// One round: the payment (a setup failure counts as a failed step).
pub async fn run(sim: &Sim, round: u32) {
    if let Err(e) = sendcoins(sim, round).await {
        let l = format!("{} setup", label());
        sim.step(&l, || async {
            Err::<String, _>(StepError::Check(e.to_string()))
        })
        .await;
    }
}
