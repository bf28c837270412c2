//! The benchmark workloads (`lnd_web_signer_testkit::fixtures::bench_requests`)
//! are real work the signer answers, every input signed.

use lnd_web_signer::entropy::FixedEntropy;
use lnd_web_signer::keys::{Network, RootKey};
use lnd_web_signer::proto::watchonlyrpc::sign_coordinator_response::SignResponseType as Resp;
use lnd_web_signer::request::Work;
use lnd_web_signer::signer::Signer;
use lnd_web_signer_testkit::fixtures::bench_requests;

#[test]
fn bench_requests_are_answered() {
    let root = RootKey::from_seed_entropy(&[9u8; 16], Network::Regtest).expect("root");
    let reqs = bench_requests(&root);
    let signer = Signer::new(root, Box::new(FixedEntropy([3; 32])));
    assert_eq!(reqs.len(), 6);
    for (name, req) in reqs {
        let resp = signer.handle(&Work::try_from(req).expect("signing work"));
        match resp.sign_response_type {
            Some(Resp::SignPsbtResponse(r)) => {
                let n = if name == "sign_psbt_mixed_10" { 10 } else { 1 };
                assert_eq!(r.signed_inputs, (0..n).collect::<Vec<u32>>(), "{name}");
            }
            Some(Resp::SignerError(e)) => panic!("{name}: {}", e.error),
            Some(_) => {}
            None => panic!("{name}: no response member"),
        }
    }
}
