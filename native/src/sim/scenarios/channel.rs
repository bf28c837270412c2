//! Legacy (anchor) channel workload (signing.md §1.4, §3.4, §3.6, §5): the
//! requests lnd's watch-only node sends over one channel's life.
//!
//! * open: brontide ECDH with the node key; revocation-root ECDH
//!   (5/i+1 with our multisig key), cross-checked by the mirror ECDH
//!   (0/i with the 5/i+1 key) since ECDH(a, B) = ECDH(b, A); funding inputs
//!   (P2WKH, NP2WKH) one request each; the first commitment signature
//!   (2-of-2 P2WSH, funding key 0/i, SIGHASH_ALL);
//! * updates: a commitment signature plus, concurrently, one SignPsbt per
//!   HTLC second-level transaction (HTLC base 2/i with the 0x51 single
//!   tweak, SIGHASH_SINGLE|ANYONECANPAY) and one onion ECDH per HTLC;
//! * force close: our commitment (2-of-2), the anchor CPFP (funding key 0/i
//!   plus a wallet input for fees), to_local and second-level HTLC sweeps
//!   (delay base 4/i with single tweak, CSV), to_remote on the remote
//!   commitment (payment base 3/i, untweaked);
//! * justice after a breach: the remote's revoked to_local and HTLC outputs
//!   with the revocation base 1/i and the 0xd0 double tweak;
//! * cooperative close (2-of-2).

use bitcoin::secp256k1::{PublicKey, SecretKey};
use bitcoin::{Amount, OutPoint, ScriptBuf, Sequence, Transaction, TxOut, Witness};

use super::wallet::{compute_input_scripts, WalletCoin, WalletKind};
use super::{
    foreign_output, make_tx, node_ecdh, random32, random_outpoint, random_secret, shared_key_of,
    shared_key_request, sign_psbt, wallet_output, Sim, StepError, StepResult,
};
use crate::sim::accounts::DerivedKey;
use crate::sim::psbt::{SignSpec, Spend};
use crate::sim::scripts::{
    anchor_script, funding_script, offered_htlc_script, received_htlc_script,
    revocation_pubkey_from_point, single_tweak, to_local_script, to_remote_anchor_script,
    tweak_pubkey,
};

/// CSV delay of our to_local output.
pub const TO_SELF_DELAY: u16 = 144;
/// Channel capacity.
pub const CAPACITY: u64 = 1_000_000;

/// Our keys of channel `i` (families 0–5 at index i, revocation root i+1).
#[derive(Debug, Clone)]
pub struct LocalKeys {
    /// Channel index.
    pub idx: u32,
    /// Multisig / funding key 0/i.
    pub funding: DerivedKey,
    /// Revocation base point 1/i.
    pub revocation: DerivedKey,
    /// HTLC base point 2/i.
    pub htlc: DerivedKey,
    /// Payment base point 3/i.
    pub payment: DerivedKey,
    /// Delayed payment base point 4/i.
    pub delay: DerivedKey,
    /// Revocation root key 5/(i+1).
    pub rev_root: DerivedKey,
}

impl LocalKeys {
    /// Derives the keys of channel `idx`.
    pub fn derive(sim: &Sim, idx: u32) -> Result<Self, StepError> {
        let k = sim.keys()?;
        Ok(LocalKeys {
            idx,
            funding: k.family_key(0, idx)?,
            revocation: k.family_key(1, idx)?,
            htlc: k.family_key(2, idx)?,
            payment: k.family_key(3, idx)?,
            delay: k.family_key(4, idx)?,
            rev_root: k.family_key(5, idx + 1)?,
        })
    }
}

/// The counterparty: keys the simulator holds itself.
#[derive(Debug, Clone)]
pub struct RemoteKeys {
    /// Funding key.
    pub funding: SecretKey,
    /// Revocation base.
    pub revocation: SecretKey,
    /// HTLC base.
    pub htlc: SecretKey,
    /// Delayed payment base.
    pub delay: SecretKey,
}

impl RemoteKeys {
    /// Fresh random keys.
    pub fn random() -> Result<Self, StepError> {
        Ok(RemoteKeys {
            funding: random_secret()?,
            revocation: random_secret()?,
            htlc: random_secret()?,
            delay: random_secret()?,
        })
    }
}

fn pubkey(sim: &Sim, k: &SecretKey) -> PublicKey {
    PublicKey::from_secret_key(&sim.secp, k)
}

fn p2wsh(script: &ScriptBuf, sat: u64) -> TxOut {
    TxOut {
        value: Amount::from_sat(sat),
        script_pubkey: ScriptBuf::new_p2wsh(&script.wscript_hash()),
    }
}

/// A commitment transaction spending the funding output, with lnd's
/// obscured commitment number in locktime and sequence.
pub fn commitment_tx(funding: OutPoint, outputs: Vec<TxOut>, number: u64) -> Transaction {
    let obscured = number ^ 0x2bb0_38d7_1c4a;
    let lock = (0x20u32 << 24) | (obscured & 0x00ff_ffff) as u32;
    let seq = (0x80u32 << 24) | ((obscured >> 24) & 0x00ff_ffff) as u32;
    make_tx(&[(funding, Sequence(seq))], outputs, lock)
}

fn v0_spec(
    input: usize,
    key: &DerivedKey,
    utxo: TxOut,
    script: &ScriptBuf,
    sighash: u32,
    single: Option<[u8; 32]>,
    double: Option<SecretKey>,
) -> SignSpec {
    SignSpec {
        input,
        key: key.clone(),
        utxo,
        prev_tx: None,
        sighash,
        redeem_script: None,
        witness_script: Some(script.clone()),
        single_tweak: single,
        double_tweak: double,
        spend: Spend::V0 {
            script_code: script.clone(),
        },
    }
}

/// One SignPsbt for one input; detail = request id.
async fn sign_one(sim: &Sim, tx: &Transaction, prevouts: &[TxOut], spec: &SignSpec) -> StepResult {
    let (id, _) = sign_psbt(sim, tx, prevouts, &[spec]).await?;
    Ok(format!("request {id}"))
}

/// Revocation root ECDH (5/i+1 with our multisig key) and its mirror.
async fn revocation_root(sim: &Sim, keys: &LocalKeys) -> StepResult {
    let (id1, r1) = sim
        .call(shared_key_request(
            &keys.funding.pubkey,
            5,
            keys.idx + 1,
            Some(&keys.rev_root.pubkey),
        ))
        .await?;
    let (id2, r2) = sim
        .call(shared_key_request(
            &keys.rev_root.pubkey,
            0,
            keys.idx,
            Some(&keys.funding.pubkey),
        ))
        .await?;
    let (a, b) = (shared_key_of(&r1)?, shared_key_of(&r2)?);
    if a != b {
        return Err(StepError::Check(format!(
            "requests {id1}/{id2}: ECDH(5/{}, P_0/{}) {} != ECDH(0/{}, P_5/{}) {}",
            keys.idx + 1,
            keys.idx,
            hex::encode(a),
            keys.idx,
            keys.idx + 1,
            hex::encode(b)
        )));
    }
    Ok(format!("requests {id1}, {id2}"))
}

/// A legacy channel's funding output.
struct Funding {
    outpoint: OutPoint,
    txout: TxOut,
    script: ScriptBuf,
}

async fn open(
    sim: &Sim,
    keys: &LocalKeys,
    remote: &RemoteKeys,
    tag: &str,
) -> Result<Funding, StepError> {
    let l_ecdh = format!("{tag} open: brontide ECDH with the node key 6/0");
    let l_root = format!(
        "{tag} open: revocation root ECDH 5/{} (mirror-checked with 0/{})",
        keys.idx + 1,
        keys.idx
    );
    futures_util::join!(
        sim.step(&l_ecdh, || node_ecdh(sim, "brontide")),
        sim.step(&l_root, || revocation_root(sim, keys)),
    );

    // Funding transaction from two wallet inputs.
    let w = sim.alloc_wallet(3);
    let a = WalletCoin::new(sim, WalletKind::P2wkh, w, 700_000)?;
    let b = WalletCoin::new(sim, WalletKind::Np2wkh, w + 1, 500_000)?;
    let script = funding_script(&keys.funding.pubkey, &pubkey(sim, &remote.funding));
    let funding_out = p2wsh(&script, CAPACITY);
    let change_key = sim.keys()?.wallet_key(84, 1, w)?;
    let change = TxOut {
        value: Amount::from_sat(700_000 + 500_000 - CAPACITY - 1_500),
        script_pubkey: ScriptBuf::new_p2wpkh(
            &bitcoin::CompressedPublicKey(change_key.pubkey).wpubkey_hash(),
        ),
    };
    let mut ftx = make_tx(
        &[
            (a.outpoint(), Sequence::ENABLE_RBF_NO_LOCKTIME),
            (b.outpoint(), Sequence::ENABLE_RBF_NO_LOCKTIME),
        ],
        vec![funding_out.clone(), change],
        0,
    );
    let prevouts = vec![a.txout(), b.txout()];
    compute_input_scripts(
        sim,
        &format!("{tag} open: funding tx"),
        &mut ftx,
        &prevouts,
        &[(0, a), (1, b)],
    )
    .await;
    Ok(Funding {
        outpoint: OutPoint {
            txid: ftx.compute_txid(),
            vout: 0,
        },
        txout: funding_out,
        script,
    })
}

/// Signature on a commitment (or closing) transaction spending the funding
/// output with the funding key 0/i.
async fn funding_sig(sim: &Sim, keys: &LocalKeys, f: &Funding, tx: &Transaction) -> StepResult {
    let spec = v0_spec(0, &keys.funding, f.txout.clone(), &f.script, 1, None, None);
    sign_one(sim, tx, std::slice::from_ref(&f.txout), &spec).await
}

/// An HTLC output of a commitment: (output index, witness script, amount).
type HtlcOut = (usize, ScriptBuf, u64);

/// The remote commitment of update `n` with `htlcs` HTLC outputs. Returns
/// the tx and, per HTLC, (output index, witness script, is_offered_by_remote).
fn remote_commitment(
    sim: &Sim,
    keys: &LocalKeys,
    remote: &RemoteKeys,
    f: &Funding,
    pcp_remote: &PublicKey,
    n: u64,
    htlcs: usize,
) -> Result<(Transaction, Vec<HtlcOut>), StepError> {
    let our_htlc = tweak_pubkey(
        &sim.secp,
        &keys.htlc.pubkey,
        &single_tweak(pcp_remote, &keys.htlc.pubkey),
    )?;
    let their_htlc_base = pubkey(sim, &remote.htlc);
    let their_htlc = tweak_pubkey(
        &sim.secp,
        &their_htlc_base,
        &single_tweak(pcp_remote, &their_htlc_base),
    )?;
    let their_delay_base = pubkey(sim, &remote.delay);
    let their_delay = tweak_pubkey(
        &sim.secp,
        &their_delay_base,
        &single_tweak(pcp_remote, &their_delay_base),
    )?;
    let revocation = revocation_pubkey_from_point(&sim.secp, &keys.revocation.pubkey, pcp_remote)?;
    let mut outputs = vec![
        p2wsh(&anchor_script(&pubkey(sim, &remote.funding)), 330),
        p2wsh(&anchor_script(&keys.funding.pubkey), 330),
        p2wsh(
            &to_local_script(&revocation, &their_delay, TO_SELF_DELAY),
            400_000,
        ),
        p2wsh(&to_remote_anchor_script(&keys.payment.pubkey), 500_000),
    ];
    let mut list = Vec::new();
    for h in 0..htlcs {
        let amount = 10_000 + 1_000 * h as u64;
        let payment_hash = random32();
        let script = if h % 2 == 0 {
            offered_htlc_script(&revocation, &their_htlc, &our_htlc, &payment_hash)
        } else {
            received_htlc_script(
                &revocation,
                &their_htlc,
                &our_htlc,
                &payment_hash,
                800_100 + h as u32,
            )
        };
        outputs.push(p2wsh(&script, amount));
        list.push((outputs.len() - 1, script, amount));
    }
    Ok((commitment_tx(f.outpoint, outputs, n), list))
}

/// Our signature for the remote's HTLC second-level transaction spending
/// HTLC output `vout` of their commitment `ctx`.
async fn htlc_sig(
    sim: &Sim,
    keys: &LocalKeys,
    pcp_remote: &PublicKey,
    ctx: &Transaction,
    vout: usize,
    script: &ScriptBuf,
    amount: u64,
) -> StepResult {
    let htlc_out = p2wsh(script, amount);
    let htlc_tx = make_tx(
        &[(
            OutPoint {
                txid: ctx.compute_txid(),
                vout: vout as u32,
            },
            Sequence(1),
        )],
        vec![foreign_output(amount - 300)?],
        if vout.is_multiple_of(2) { 800_050 } else { 0 },
    );
    let tweak = single_tweak(pcp_remote, &keys.htlc.pubkey);
    let spec = v0_spec(
        0,
        &keys.htlc,
        htlc_out.clone(),
        script,
        0x83,
        Some(tweak),
        None,
    );
    sign_one(sim, &htlc_tx, &[htlc_out], &spec).await
}

async fn update(
    sim: &Sim,
    keys: &LocalKeys,
    remote: &RemoteKeys,
    f: &Funding,
    tag: &str,
    n: u64,
) -> Result<(), StepError> {
    let pcp_remote = pubkey(sim, &random_secret()?);
    let (ctx, htlcs) = remote_commitment(sim, keys, remote, f, &pcp_remote, n, 2)?;
    let l_commit = format!(
        "{tag} update {n}: commitment signature 0/{} (2-of-2 P2WSH, SIGHASH_ALL)",
        keys.idx
    );
    sim.step(&l_commit, || funding_sig(sim, keys, f, &ctx))
        .await;
    let labels: Vec<String> = htlcs
        .iter()
        .map(|(vout, _, _)| {
            format!(
                "{tag} update {n}: HTLC second-level signature 2/{} + single tweak (output {vout}, SIGHASH_SINGLE|ANYONECANPAY)",
                keys.idx
            )
        })
        .collect();
    let onion_labels: Vec<String> = (0..htlcs.len())
        .map(|h| format!("{tag} update {n}: onion ECDH 6/0 for HTLC {h}"))
        .collect();
    let pcp = &pcp_remote;
    let ctx_ref = &ctx;
    let htlc_steps = htlcs
        .iter()
        .zip(&labels)
        .map(|((vout, script, amount), l)| {
            let (vout, amount) = (*vout, *amount);
            sim.step(l, move || {
                htlc_sig(sim, keys, pcp, ctx_ref, vout, script, amount)
            })
        });
    let onion_steps = onion_labels
        .iter()
        .map(|l| sim.step(l, || node_ecdh(sim, "onion")));
    futures_util::join!(
        futures_util::future::join_all(htlc_steps),
        futures_util::future::join_all(onion_steps)
    );
    Ok(())
}

async fn force_close(
    sim: &Sim,
    keys: &LocalKeys,
    remote: &RemoteKeys,
    f: &Funding,
    tag: &str,
) -> Result<(), StepError> {
    let i = keys.idx;
    // Our own commitment, signed at broadcast time.
    let pcp_local_secret = random_secret()?;
    let pcp_local = pubkey(sim, &pcp_local_secret);
    let delay_tweak = single_tweak(&pcp_local, &keys.delay.pubkey);
    let our_delayed = tweak_pubkey(&sim.secp, &keys.delay.pubkey, &delay_tweak)?;
    let their_rev_base = pubkey(sim, &remote.revocation);
    let revocation = revocation_pubkey_from_point(&sim.secp, &their_rev_base, &pcp_local)?;
    let to_local = to_local_script(&revocation, &our_delayed, TO_SELF_DELAY);
    let anchor = anchor_script(&keys.funding.pubkey);
    let ours = commitment_tx(
        f.outpoint,
        vec![
            p2wsh(&anchor, 330),
            p2wsh(&anchor_script(&pubkey(sim, &remote.funding)), 330),
            p2wsh(&to_local, 600_000),
            p2wsh(
                &to_remote_anchor_script(&pubkey(sim, &remote.delay)),
                380_000,
            ),
        ],
        10,
    );
    let l = format!("{tag} force close: our commitment 0/{i} (2-of-2 P2WSH)");
    sim.step(&l, || funding_sig(sim, keys, f, &ours)).await;
    let ours_id = ours.compute_txid();

    // Anchor CPFP: anchor input + a wallet input for fees.
    let w = sim.alloc_wallet(1);
    let fee_coin = WalletCoin::new(sim, WalletKind::P2wkh, w, 40_000)?;
    let anchor_out = p2wsh(&anchor, 330);
    let mut cpfp = make_tx(
        &[
            (
                OutPoint {
                    txid: ours_id,
                    vout: 0,
                },
                Sequence::ENABLE_RBF_NO_LOCKTIME,
            ),
            (fee_coin.outpoint(), Sequence::ENABLE_RBF_NO_LOCKTIME),
        ],
        vec![wallet_output(sim, 30_000)?],
        0,
    );
    let cpfp_prev = vec![anchor_out.clone(), fee_coin.txout()];
    let anchor_spec = v0_spec(0, &keys.funding, anchor_out, &anchor, 1, None, None);
    let anchor_sig = std::sync::Mutex::new(None);
    let l = format!("{tag} force close: anchor CPFP, anchor input 0/{i} (P2WSH)");
    sim.step(&l, || async {
        let (id, sigs) = sign_psbt(sim, &cpfp, &cpfp_prev, &[&anchor_spec]).await?;
        if let (Some((_, s)), Ok(mut g)) = (sigs.into_iter().next(), anchor_sig.lock()) {
            *g = Some(s);
        }
        Ok(format!("request {id}"))
    })
    .await;
    if let Some(sig) = anchor_sig.lock().ok().and_then(|mut g| g.take()) {
        cpfp.input[0].witness = Witness::from_slice(&[sig.bytes(), anchor.as_bytes()]);
    }
    compute_input_scripts(
        sim,
        &format!("{tag} force close: anchor CPFP fee"),
        &mut cpfp,
        &cpfp_prev,
        &[(1, fee_coin)],
    )
    .await;

    // Sweep of to_local and of a second-level HTLC output (both delay key
    // + single tweak, after the CSV delay).
    let htlc_success_out_script = to_local_script(&revocation, &our_delayed, TO_SELF_DELAY);
    let second_level = make_tx(
        &[(random_outpoint(5), Sequence(1))],
        vec![p2wsh(&htlc_success_out_script, 9_000)],
        0,
    );
    let mut sweep = make_tx(
        &[
            (
                OutPoint {
                    txid: ours_id,
                    vout: 2,
                },
                Sequence(u32::from(TO_SELF_DELAY)),
            ),
            (
                OutPoint {
                    txid: second_level.compute_txid(),
                    vout: 0,
                },
                Sequence(u32::from(TO_SELF_DELAY)),
            ),
        ],
        vec![wallet_output(sim, 605_000)?],
        0,
    );
    let sweep_prev = vec![
        p2wsh(&to_local, 600_000),
        p2wsh(&htlc_success_out_script, 9_000),
    ];
    let spec0 = v0_spec(
        0,
        &keys.delay,
        sweep_prev[0].clone(),
        &to_local,
        1,
        Some(delay_tweak),
        None,
    );
    let spec1 = v0_spec(
        1,
        &keys.delay,
        sweep_prev[1].clone(),
        &htlc_success_out_script,
        1,
        Some(delay_tweak),
        None,
    );
    let sig0 = std::sync::Mutex::new(None);
    let l0 =
        format!("{tag} force close: to_local sweep 4/{i} + single tweak (CSV {TO_SELF_DELAY})");
    sim.step(&l0, || async {
        let (id, sigs) = sign_psbt(sim, &sweep, &sweep_prev, &[&spec0]).await?;
        if let (Some((_, s)), Ok(mut g)) = (sigs.into_iter().next(), sig0.lock()) {
            *g = Some(s);
        }
        Ok(format!("request {id}"))
    })
    .await;
    if let Some(sig) = sig0.lock().ok().and_then(|mut g| g.take()) {
        sweep.input[0].witness = Witness::from_slice(&[sig.bytes(), &[], to_local.as_bytes()]);
    }
    let l1 = format!("{tag} force close: second-level HTLC output sweep 4/{i} + single tweak");
    sim.step(&l1, || sign_one(sim, &sweep, &sweep_prev, &spec1))
        .await;

    // to_remote on the remote's commitment: payment base, untweaked.
    let to_remote = to_remote_anchor_script(&keys.payment.pubkey);
    let remote_commit_id = random_outpoint(3).txid;
    let tr_tx = make_tx(
        &[(
            OutPoint {
                txid: remote_commit_id,
                vout: 3,
            },
            Sequence(1),
        )],
        vec![wallet_output(sim, 499_000)?],
        0,
    );
    let tr_prev = vec![p2wsh(&to_remote, 500_000)];
    let tr_spec = v0_spec(
        0,
        &keys.payment,
        tr_prev[0].clone(),
        &to_remote,
        1,
        None,
        None,
    );
    let l = format!("{tag} force close: to_remote sweep 3/{i} (untweaked, CSV 1)");
    sim.step(&l, || sign_one(sim, &tr_tx, &tr_prev, &tr_spec))
        .await;
    Ok(())
}

async fn justice(
    sim: &Sim,
    keys: &LocalKeys,
    remote: &RemoteKeys,
    tag: &str,
) -> Result<(), StepError> {
    let i = keys.idx;
    // The remote broadcast a revoked commitment whose secret we hold.
    let secret = random_secret()?;
    let point = pubkey(sim, &secret);
    let revocation = revocation_pubkey_from_point(&sim.secp, &keys.revocation.pubkey, &point)?;
    let their_delay_base = pubkey(sim, &remote.delay);
    let their_delayed = tweak_pubkey(
        &sim.secp,
        &their_delay_base,
        &single_tweak(&point, &their_delay_base),
    )?;
    let their_htlc_base = pubkey(sim, &remote.htlc);
    let their_htlc = tweak_pubkey(
        &sim.secp,
        &their_htlc_base,
        &single_tweak(&point, &their_htlc_base),
    )?;
    let our_htlc = tweak_pubkey(
        &sim.secp,
        &keys.htlc.pubkey,
        &single_tweak(&point, &keys.htlc.pubkey),
    )?;
    let to_local = to_local_script(&revocation, &their_delayed, TO_SELF_DELAY);
    let htlc = offered_htlc_script(&revocation, &their_htlc, &our_htlc, &random32());
    let breach_id = random_outpoint(0).txid;
    let mut jtx = make_tx(
        &[
            (
                OutPoint {
                    txid: breach_id,
                    vout: 2,
                },
                Sequence::ENABLE_RBF_NO_LOCKTIME,
            ),
            (
                OutPoint {
                    txid: breach_id,
                    vout: 4,
                },
                Sequence::ENABLE_RBF_NO_LOCKTIME,
            ),
        ],
        vec![wallet_output(sim, 410_000)?],
        0,
    );
    let prev = vec![p2wsh(&to_local, 400_000), p2wsh(&htlc, 15_000)];
    let s0 = v0_spec(
        0,
        &keys.revocation,
        prev[0].clone(),
        &to_local,
        1,
        None,
        Some(secret),
    );
    let s1 = v0_spec(
        1,
        &keys.revocation,
        prev[1].clone(),
        &htlc,
        1,
        None,
        Some(secret),
    );
    let sig0 = std::sync::Mutex::new(None);
    let l0 = format!("{tag} justice: revoked to_local, revocation base 1/{i} + double tweak");
    sim.step(&l0, || async {
        let (id, sigs) = sign_psbt(sim, &jtx, &prev, &[&s0]).await?;
        if let (Some((_, s)), Ok(mut g)) = (sigs.into_iter().next(), sig0.lock()) {
            *g = Some(s);
        }
        Ok(format!("request {id}"))
    })
    .await;
    if let Some(sig) = sig0.lock().ok().and_then(|mut g| g.take()) {
        jtx.input[0].witness = Witness::from_slice(&[sig.bytes(), &[1u8], to_local.as_bytes()]);
    }
    let l1 = format!("{tag} justice: revoked HTLC output, revocation base 1/{i} + double tweak");
    sim.step(&l1, || sign_one(sim, &jtx, &prev, &s1)).await;
    Ok(())
}

async fn channel_life(sim: &Sim, round: u32, coop: bool) -> Result<(), StepError> {
    let idx = sim.alloc_channel();
    let tag = format!("[channel {idx}]");
    let keys = LocalKeys::derive(sim, idx)?;
    let remote = RemoteKeys::random()?;
    let f = open(sim, &keys, &remote, &tag).await?;
    let pcp0 = pubkey(sim, &random_secret()?);
    let (first, _) = remote_commitment(sim, &keys, &remote, &f, &pcp0, 0, 0)?;
    let l = format!("{tag} open: first commitment signature 0/{idx} (2-of-2 P2WSH)");
    sim.step(&l, || funding_sig(sim, &keys, &f, &first)).await;
    for n in 1..=2u64 {
        update(sim, &keys, &remote, &f, &tag, n + u64::from(round) * 10).await?;
    }
    if coop {
        let k = sim.keys()?.wallet_key(84, 0, sim.alloc_wallet(1))?;
        let ours = TxOut {
            value: Amount::from_sat(599_000),
            script_pubkey: ScriptBuf::new_p2wpkh(
                &bitcoin::CompressedPublicKey(k.pubkey).wpubkey_hash(),
            ),
        };
        let close = make_tx(
            &[(f.outpoint, Sequence::MAX)],
            vec![foreign_output(400_000)?, ours],
            0,
        );
        let l = format!("{tag} cooperative close: closing signature 0/{idx} (2-of-2 P2WSH)");
        sim.step(&l, || funding_sig(sim, &keys, &f, &close)).await;
    } else {
        force_close(sim, &keys, &remote, &f, &tag).await?;
        justice(sim, &keys, &remote, &tag).await?;
    }
    Ok(())
}

async fn run_one(sim: &Sim, round: u32, coop: bool) {
    if let Err(e) = channel_life(sim, round, coop).await {
        sim.step("[channel] setup", || async {
            Err::<String, _>(StepError::Check(e.to_string()))
        })
        .await;
    }
}

/// One round: two channels concurrently; one force-closes (with sweeps and
/// a justice transaction for a breached state), the other closes
/// cooperatively.
pub async fn run(sim: &Sim, round: u32) {
    futures_util::join!(run_one(sim, round, false), run_one(sim, round, true));
}
