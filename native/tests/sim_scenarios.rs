//! Every watchonly-sim scenario against the real signer
//! (`lnd_web_signer::signer::Signer::handle`) over TLS: the simulator must
//! end with `N passed, 0 failed` and exit code 0.

mod sim_support;

use std::sync::Arc;
use std::time::Duration;

use sim_support::{connect, serve_signer, signer, SimProcess};

async fn run_scenario(scenario: &str, min_checks: u64) {
    let mut sim = SimProcess::start(
        scenario,
        &[
            "--scenario",
            scenario,
            "--network",
            "regtest",
            "--exit-when-done",
            "--ping-interval",
            "300ms",
            "--quiet",
        ],
        true,
    );
    let stream = connect(&sim).await;
    let signer = Arc::new(signer());
    let served = tokio::spawn(serve_signer(stream, signer));
    let code = tokio::task::spawn_blocking(move || {
        let code = sim.wait(Duration::from_secs(120));
        (code, sim)
    })
    .await
    .expect("join");
    let (code, sim) = code;
    let answered = served.await.expect("serve task");
    let (passed, failed) = sim.summary();
    assert_eq!(
        (failed, code),
        (0, 0),
        "scenario {scenario}: {failed} checks failed, exit code {code}\n{}",
        sim.transcript()
    );
    assert!(
        passed >= min_checks,
        "scenario {scenario}: only {passed} checks passed (want >= {min_checks})\n{}",
        sim.transcript()
    );
    assert!(answered as u64 >= passed, "fewer requests than checks");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn gossip_scenario_passes_with_the_real_signer() {
    run_scenario("gossip", 6).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn wallet_scenario_passes_with_the_real_signer() {
    run_scenario("wallet", 5).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn channel_scenario_passes_with_the_real_signer() {
    run_scenario("channel", 30).await;
}

/// The signer's answer, except that MuSig2 requests go to the core's
/// `musig2::SessionManager` while `Signer::handle` does not serve them yet
/// (it answers them with "... not supported by this signer yet"; once it
/// does, this fallback is never taken).
fn musig2_capable(
    signer: Arc<lnd_web_signer::signer::Signer>,
) -> impl Fn(
    &lnd_web_signer::proto::watchonlyrpc::SignCoordinatorRequest,
) -> Result<Option<lnd_web_signer::proto::watchonlyrpc::SignCoordinatorResponse>, ()>
       + Send
       + Sync
       + 'static {
    use lnd_web_signer::musig2::{Limits, SessionManager};
    use lnd_web_signer::proto::watchonlyrpc::sign_coordinator_request::SignRequestType as Req;
    use lnd_web_signer::proto::watchonlyrpc::sign_coordinator_response::SignResponseType as Resp;
    use lnd_web_signer::proto::watchonlyrpc::SignCoordinatorResponse;
    let manager = std::sync::Mutex::new(SessionManager::new(Limits::default()));
    let root = sim_support::root();
    move |req| {
        let resp = signer.handle(req);
        let unsupported = matches!(&resp.sign_response_type,
            Some(Resp::SignerError(e)) if e.error.contains("not supported by this signer yet"));
        if !unsupported {
            return Ok(Some(resp));
        }
        let mut m = manager.lock().expect("lock");
        let id = req.request_id;
        let err = |e: String| lnd_web_signer::signer::error_response(id, e);
        let member = match &req.sign_request_type {
            Some(Req::MuSig2SessionRequest(r)) => {
                let mut rand = [0u8; 32];
                getrandom::getrandom(&mut rand).expect("randomness");
                m.create_session_with(
                    &|f, i| root.lnd_key(f, i).map_err(|e| e.to_string()),
                    r,
                    rand,
                )
                .map(Resp::MuSig2SessionResponse)
            }
            Some(Req::MuSig2RegisterNoncesRequest(r)) => {
                m.register_nonces(r).map(Resp::MuSig2RegisterNoncesResponse)
            }
            Some(Req::MuSig2CombinedNoncesReq(r)) => {
                m.register_combined_nonce(r).map(Resp::MuSig2CombNoncesResp)
            }
            Some(Req::MuSig2GetCombinedNoncesReq(r)) => {
                m.get_combined_nonce(r).map(Resp::MuSig2GetCombNoncesResp)
            }
            Some(Req::MuSig2SignRequest(r)) => m.sign(r).map(Resp::MuSig2SignResponse),
            Some(Req::MuSig2CombineSigRequest(r)) => {
                m.combine_sig(r).map(Resp::MuSig2CombineSigResponse)
            }
            Some(Req::MuSig2CleanupRequest(r)) => m.cleanup(r).map(Resp::MuSig2CleanupResponse),
            _ => return Ok(Some(resp)),
        };
        Ok(Some(match member {
            Ok(member) => SignCoordinatorResponse {
                ref_request_id: id,
                sign_response_type: Some(member),
            },
            Err(e) => err(e.to_string()),
        }))
    }
}

async fn run_with_musig2(scenario: &str, min_checks: u64) {
    let mut sim = SimProcess::start(
        scenario,
        &[
            "--scenario",
            scenario,
            "--exit-when-done",
            "--ping-interval",
            "300ms",
            "--quiet",
        ],
        true,
    );
    let stream = connect(&sim).await;
    let served = tokio::spawn(sim_support::serve(
        stream,
        musig2_capable(Arc::new(signer())),
    ));
    let (code, sim) = tokio::task::spawn_blocking(move || {
        let code = sim.wait(Duration::from_secs(120));
        (code, sim)
    })
    .await
    .expect("join");
    let _ = served.await;
    let (passed, failed) = sim.summary();
    assert_eq!(
        (failed, code),
        (0, 0),
        "scenario {scenario}: {failed} checks failed, exit code {code}\n{}",
        sim.transcript()
    );
    assert!(
        passed >= min_checks,
        "scenario {scenario}: only {passed} checks passed (want >= {min_checks})\n{}",
        sim.transcript()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn taproot_channel_scenario_passes_with_the_real_signer() {
    run_with_musig2("taproot-channel", 20).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn mixed_scenario_passes_with_the_real_signer() {
    run_with_musig2("mixed", 70).await;
}
