//! Bitcoin Core's script interpreter (libbitcoinconsensus) as the judge of
//! our SignPsbt signatures: for every input kind the watch-only node sends
//! and every sighash type, sign with `Signer::handle`, finalise the witness
//! here and verify the spend with consensus flags incl. taproot.
//! Native only (C++ library).

use bitcoinconsensus::{verify_with_flags, Utxo, VERIFY_ALL_PRE_TAPROOT, VERIFY_TAPROOT};
use lnd_web_signer::entropy::OsEntropy;
use lnd_web_signer::keys::bitcoin::script::PushBytesBuf;
use lnd_web_signer::keys::bitcoin::{consensus, ScriptBuf, Transaction, Witness};
use lnd_web_signer::keys::{Network, RootKey};
use lnd_web_signer::proto::walletrpc::SignPsbtRequest;
use lnd_web_signer::proto::watchonlyrpc::sign_coordinator_request::SignRequestType as Req;
use lnd_web_signer::proto::watchonlyrpc::sign_coordinator_response::SignResponseType as Resp;
use lnd_web_signer::proto::watchonlyrpc::SignCoordinatorRequest;
use lnd_web_signer::request::Work;
use lnd_web_signer::signer::Signer;
use lnd_web_signer::signing::psbt::wire_scan;
use lnd_web_signer_testkit::fixtures::{build_psbt, BuiltPsbt, FixtureInput, InputKind};

const V0_SIGHASHES: [Option<u32>; 7] = [
    None,
    Some(0x01),
    Some(0x02),
    Some(0x03),
    Some(0x81),
    Some(0x82),
    Some(0x83),
];
const TAPROOT_SIGHASHES: [Option<u32>; 7] = V0_SIGHASHES;

fn signer() -> Signer {
    let root = RootKey::from_seed_entropy(
        &hex::decode("4a7611b6979ba7c4bc5c5cd2239b2973").expect("hex"),
        Network::Regtest,
    )
    .expect("root");
    Signer::new(root, Box::new(OsEntropy))
}

fn is_taproot(kind: InputKind) -> bool {
    matches!(
        kind,
        InputKind::P2trBip86 | InputKind::P2trKeyWithRoot | InputKind::P2trScriptPath
    )
}

/// Signatures added to one input, read from the raw packet (rust-bitcoin's
/// parser refuses partial signatures with a non-standard sighash byte such as
/// 0, which lnd — and we — produce when the packet has no sighash type).
#[derive(Default)]
struct InputSigs {
    partial: Vec<(Vec<u8>, Vec<u8>)>,
    key_spend: Option<Vec<u8>>,
    script_spend: Vec<Vec<u8>>,
}

fn input_sigs(raw: &[u8], inputs: usize) -> Vec<InputSigs> {
    let maps = wire_scan::maps(raw).expect("framing");
    maps[1..=inputs]
        .iter()
        .map(|map| {
            let mut sigs = InputSigs::default();
            for &(ty, key, value) in map {
                match ty {
                    0x02 => sigs.partial.push((key.to_vec(), value.to_vec())),
                    0x13 => sigs.key_spend = Some(value.to_vec()),
                    0x14 => sigs.script_spend.push(value.to_vec()),
                    _ => {}
                }
            }
            sigs
        })
        .collect()
}

fn sign(signer: &Signer, built: &BuiltPsbt) -> (Vec<u8>, Vec<u32>) {
    let resp = signer.handle(
        &Work::try_from(SignCoordinatorRequest {
            request_id: 1,
            sign_request_type: Some(Req::SignPsbtRequest(SignPsbtRequest {
                funded_psbt: built.psbt.serialize(),
            })),
        })
        .expect("signing work"),
    );
    match resp.sign_response_type {
        Some(Resp::SignPsbtResponse(r)) => (r.signed_psbt, r.signed_inputs),
        other => panic!("unexpected response {other:?}"),
    }
}

fn finalize(built: &BuiltPsbt, signed: &[u8], kinds: &[InputKind]) -> Transaction {
    let mut tx = built.psbt.unsigned_tx.clone();
    let sigs = input_sigs(signed, kinds.len());
    for (i, kind) in kinds.iter().enumerate() {
        let input = &sigs[i];
        let fin = &built.finalize[i];
        let mut witness = Witness::new();
        match kind {
            InputKind::P2wkh | InputKind::Np2wkh => {
                assert_eq!(input.partial.len(), 1, "one partial signature");
                let (pk, sig) = input.partial[0].clone();
                witness.push(sig);
                witness.push(pk);
                if let Some(redeem) = &fin.redeem_script {
                    let push = PushBytesBuf::try_from(redeem.to_bytes()).expect("push");
                    tx.input[i].script_sig = ScriptBuf::builder().push_slice(push).into_script();
                }
            }
            InputKind::P2wshSingleTweak | InputKind::P2wshDoubleTweak => {
                assert_eq!(input.partial.len(), 1, "one partial signature");
                witness.push(input.partial[0].1.clone());
                witness.push(fin.branch.clone().expect("branch"));
                witness.push(fin.script.clone().expect("script").to_bytes());
            }
            InputKind::P2trBip86 | InputKind::P2trKeyWithRoot => {
                witness.push(input.key_spend.clone().expect("key spend signature"));
            }
            InputKind::P2trScriptPath => {
                assert_eq!(input.script_spend.len(), 1, "one script-path signature");
                witness.push(input.script_spend[0].clone());
                witness.push(fin.script.clone().expect("leaf").to_bytes());
                witness.push(
                    fin.control_block
                        .clone()
                        .expect("control block")
                        .serialize(),
                );
            }
        }
        tx.input[i].witness = witness;
    }
    tx
}

/// Verifies every input of `tx` with Core's interpreter; returns the failures.
fn verify_all(built: &BuiltPsbt, tx: &Transaction) -> Vec<(usize, String)> {
    let raw = consensus::serialize(tx);
    let scripts: Vec<Vec<u8>> = built
        .finalize
        .iter()
        .map(|f| f.spent.script_pubkey.to_bytes())
        .collect();
    let utxos: Vec<Utxo> = built
        .finalize
        .iter()
        .zip(&scripts)
        .map(|(f, s)| Utxo {
            script_pubkey: s.as_ptr(),
            script_pubkey_len: s.len() as u32,
            value: f.spent.value.to_sat() as i64,
        })
        .collect();
    let mut failures = Vec::new();
    for (i, f) in built.finalize.iter().enumerate() {
        if let Err(e) = verify_with_flags(
            &scripts[i],
            f.spent.value.to_sat(),
            &raw,
            Some(&utxos),
            i,
            VERIFY_ALL_PRE_TAPROOT | VERIFY_TAPROOT,
        ) {
            failures.push((i, format!("{e:?}")));
        }
    }
    failures
}

fn check_tx(signer: &Signer, inputs: &[FixtureInput]) -> usize {
    let root_for_fixture = signer.root();
    let built = build_psbt(root_for_fixture, inputs).expect("fixture");
    let (signed, signed_inputs) = sign(signer, &built);
    assert_eq!(
        signed_inputs,
        (0..inputs.len() as u32).collect::<Vec<_>>(),
        "every input must be signed: {inputs:?}"
    );
    let kinds: Vec<InputKind> = inputs.iter().map(|i| i.kind).collect();
    let tx = finalize(&built, &signed, &kinds);
    let failures = verify_all(&built, &tx);
    assert!(
        failures.is_empty(),
        "Bitcoin Core rejects inputs {failures:?} of {inputs:?}"
    );
    inputs.len()
}

#[test]
fn every_kind_and_sighash_verifies_in_bitcoin_core() {
    let signer = signer();
    let mut verified = 0;
    for (round, (&v0, &tr)) in V0_SIGHASHES.iter().zip(&TAPROOT_SIGHASHES).enumerate() {
        let inputs: Vec<FixtureInput> = InputKind::ALL
            .iter()
            .enumerate()
            .map(|(i, &kind)| FixtureInput {
                kind,
                index: (round * 10 + i) as u32,
                value: 50_000 + 1_000 * i as u64,
                sighash: if is_taproot(kind) { tr } else { v0 },
            })
            .collect();
        verified += check_tx(&signer, &inputs);
    }
    assert_eq!(verified, 7 * 7);
}

#[test]
fn each_kind_alone_verifies() {
    let signer = signer();
    for &kind in &InputKind::ALL {
        check_tx(
            &signer,
            &[FixtureInput {
                kind,
                index: 3,
                value: 10_000,
                sighash: if is_taproot(kind) { None } else { Some(1) },
            }],
        );
    }
}

#[test]
fn the_judge_rejects_a_tampered_signature() {
    let signer = signer();
    let inputs: Vec<FixtureInput> = InputKind::ALL
        .iter()
        .map(|&kind| FixtureInput {
            kind,
            index: 1,
            value: 20_000,
            sighash: Some(1),
        })
        .collect();
    let built = build_psbt(signer.root(), &inputs).expect("fixture");
    let (signed, _) = sign(&signer, &built);
    let kinds: Vec<InputKind> = inputs.iter().map(|i| i.kind).collect();
    let mut tx = finalize(&built, &signed, &kinds);
    // Change the first output's amount: every signature (all SIGHASH_ALL) breaks.
    tx.output[0].value += lnd_web_signer::keys::bitcoin::Amount::from_sat(1);
    let failures = verify_all(&built, &tx);
    assert_eq!(failures.len(), inputs.len(), "{failures:?}");
}
