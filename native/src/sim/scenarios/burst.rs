//! Burst workload (end-to-end fault tests): several `walletrpc.SignPsbt`
//! requests with 10 signable inputs each, all in flight at once, while the
//! node pings the signer. Every PSBT answer is verified like the wallet
//! workload; one extra step checks that every ping sent during the burst was
//! answered within [`PING_LIMIT`] (lnd's health check fails after its 1 s
//! timeout).

use std::time::{Duration, Instant};

use bitcoin::{Sequence, TxOut};
use lnd_web_signer::proto::watchonlyrpc::sign_coordinator_request::SignRequestType as Req;

use super::wallet::{WalletCoin, WalletKind};
use super::{foreign_output, make_tx, sign_psbt, Sim, StepError, StepResult};
use crate::sim::psbt::SignSpec;

/// SignPsbt requests in flight at once per round.
pub const BURST_REQUESTS: u32 = 12;
/// Signable inputs per request.
pub const BURST_INPUTS: u32 = 10;
/// Longest acceptable ping round trip during the burst.
pub const PING_LIMIT: Duration = Duration::from_secs(1);
/// Pause between the pings sent during the burst.
const PING_EVERY: Duration = Duration::from_millis(25);

/// One user PSBT with [`BURST_INPUTS`] wallet inputs (P2WKH, P2TR, NP2WKH in
/// turn), all signed in one request.
async fn ten_input_psbt(sim: &Sim) -> StepResult {
    let base = sim.alloc_wallet(BURST_INPUTS);
    let kinds = [WalletKind::P2wkh, WalletKind::P2tr, WalletKind::Np2wkh];
    let mut coins = Vec::new();
    for i in 0..BURST_INPUTS {
        let kind = kinds[(i % 3) as usize];
        coins.push(WalletCoin::new(
            sim,
            kind,
            base + i,
            50_000 + u64::from(i) * 1_000,
        )?);
    }
    let inputs: Vec<_> = coins
        .iter()
        .map(|c| (c.outpoint(), Sequence::MAX))
        .collect();
    let total: u64 = coins.iter().map(|c| c.txout().value.to_sat()).sum();
    let tx = make_tx(&inputs, vec![foreign_output(total - 5_000)?], 0);
    let prevouts: Vec<TxOut> = coins.iter().map(|c| c.txout()).collect();
    let specs: Vec<SignSpec> = coins
        .iter()
        .enumerate()
        .map(|(i, c)| {
            // A user's PSBT as forwarded by walletrpc.SignPsbt: no lnd quirk
            // scripts (NP2WKH keeps its redeem script).
            let mut s = c.compute_input_script_spec(i);
            match c.kind {
                WalletKind::P2wkh | WalletKind::HybridChange => {
                    s.redeem_script = None;
                    s.witness_script = None;
                }
                WalletKind::Np2wkh => s.witness_script = None,
                WalletKind::P2tr => {}
            }
            s
        })
        .collect();
    let refs: Vec<&SignSpec> = specs.iter().collect();
    let (id, sigs) = sign_psbt(sim, &tx, &prevouts, &refs).await?;
    if sigs.len() != BURST_INPUTS as usize {
        return Err(StepError::Check(format!(
            "request {id}: {} inputs signed, want {BURST_INPUTS}",
            sigs.len()
        )));
    }
    Ok(format!("request {id}"))
}

/// Pings every [`PING_EVERY`] until `done` is set; returns the round trips.
async fn ping_while(
    sim: &Sim,
    done: &std::sync::atomic::AtomicBool,
) -> Result<Vec<Duration>, String> {
    let mut rtts = Vec::new();
    loop {
        let t0 = Instant::now();
        match sim.coord.request(Req::Ping(true), PING_LIMIT).await {
            Ok(_) => rtts.push(t0.elapsed()),
            Err(e) => return Err(format!("ping {} during the burst: {e}", rtts.len() + 1)),
        }
        if done.load(std::sync::atomic::Ordering::SeqCst) {
            return Ok(rtts);
        }
        tokio::time::sleep(PING_EVERY).await;
    }
}

/// One round: the burst and the pings, concurrently.
pub async fn run(sim: &Sim, round: u32) {
    let done = std::sync::atomic::AtomicBool::new(false);
    let burst = async {
        let steps = (0..BURST_REQUESTS).map(|i| async move {
            let label = format!(
                "[burst {round}] walletrpc.SignPsbt {}/{BURST_REQUESTS}: {BURST_INPUTS} inputs (P2WKH, P2TR, NP2WKH)",
                i + 1
            );
            sim.step(&label, || ten_input_psbt(sim)).await;
        });
        futures_util::future::join_all(steps).await;
        done.store(true, std::sync::atomic::Ordering::SeqCst);
    };
    let (_, pings) = futures_util::join!(burst, ping_while(sim, &done));
    let label = format!(
        "[burst {round}] pings during {BURST_REQUESTS} concurrent {BURST_INPUTS}-input SignPsbt requests answered within {} ms",
        PING_LIMIT.as_millis()
    );
    sim.step(&label, || {
        let pings = pings.clone();
        async move {
            let rtts = pings.map_err(StepError::Check)?;
            let max = rtts.iter().max().copied().unwrap_or_default();
            if rtts.is_empty() {
                return Err(StepError::Check("no ping was sent during the burst".into()));
            }
            if max > PING_LIMIT {
                return Err(StepError::Check(format!(
                    "slowest of {} pings took {} ms",
                    rtts.len(),
                    max.as_millis()
                )));
            }
            Ok(format!(
                "{} pings, slowest {:.1} ms",
                rtts.len(),
                max.as_secs_f64() * 1000.0
            ))
        }
    })
    .await;
}
