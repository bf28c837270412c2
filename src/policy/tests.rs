//! Each rule at, below and above its limit, on packets built as lnd's
//! watch-only node builds them (one request per signed input, the
//! derivation path of that input only).

use bitcoin::bip32::{DerivationPath, Fingerprint};
use bitcoin::hashes::Hash as _;
use bitcoin::psbt::{raw, Psbt};
use bitcoin::secp256k1::{PublicKey, SecretKey, SECP256K1};
use bitcoin::{
    absolute, transaction, Amount, CompressedPublicKey, OutPoint, ScriptBuf, Sequence, Transaction,
    TxIn, TxOut, Witness,
};

use super::*;
use crate::keys::Network;
use crate::proto::signrpc::{KeyLocator, MuSig2SessionRequest};
use crate::proto::walletrpc::SignPsbtRequest;

const H: u32 = HARDENED;

fn root() -> RootKey {
    RootKey::from_seed_entropy(&[3u8; 16], Network::Regtest).expect("root")
}

fn wallet_path(branch: u32, index: u32) -> Vec<u32> {
    vec![84 + H, H, H, branch, index]
}

fn lnd_path(family: u32, index: u32) -> Vec<u32> {
    vec![1017 + H, 1 + H, family + H, 0, index]
}

fn p2wkh(pk: PublicKey) -> ScriptBuf {
    ScriptBuf::new_p2wpkh(&CompressedPublicKey(pk).wpubkey_hash())
}

fn own(root: &RootKey, branch: u32, index: u32) -> ScriptBuf {
    p2wkh(
        root.derive_pub(&wallet_path(branch, index))
            .expect("derive"),
    )
}

fn foreign(n: u8) -> ScriptBuf {
    p2wkh(
        SecretKey::from_slice(&[n; 32])
            .expect("key")
            .public_key(SECP256K1),
    )
}

/// One input to sign: its path, amount and optional tweak type.
struct In {
    path: Vec<u32>,
    sat: u64,
    tweak: Option<u8>,
}

fn input(path: Vec<u32>, sat: u64) -> In {
    In {
        path,
        sat,
        tweak: None,
    }
}

/// A transaction of `inputs` paying `outputs`; one packet per input, each
/// with only that input's derivation (as lnd's remote signing sends them).
fn packets(root: &RootKey, inputs: &[In], outputs: &[(ScriptBuf, u64)]) -> Vec<Op> {
    let tx = Transaction {
        version: transaction::Version::TWO,
        lock_time: absolute::LockTime::ZERO,
        input: (0..inputs.len())
            .map(|i| TxIn {
                previous_output: OutPoint {
                    txid: bitcoin::Txid::from_byte_array([i as u8 + 1; 32]),
                    vout: 0,
                },
                script_sig: ScriptBuf::new(),
                sequence: Sequence::MAX,
                witness: Witness::new(),
            })
            .collect(),
        output: outputs
            .iter()
            .map(|(s, v)| TxOut {
                value: Amount::from_sat(*v),
                script_pubkey: s.clone(),
            })
            .collect(),
    };
    (0..inputs.len())
        .map(|signed| {
            let mut psbt = Psbt::from_unsigned_tx(tx.clone()).expect("psbt");
            for (i, inp) in inputs.iter().enumerate() {
                let pk = root.derive_pub(&inp.path).expect("derive");
                psbt.inputs[i].witness_utxo = Some(TxOut {
                    value: Amount::from_sat(inp.sat),
                    script_pubkey: p2wkh(pk),
                });
                if i == signed {
                    let path = DerivationPath::from(
                        inp.path
                            .iter()
                            .map(|&c| bitcoin::bip32::ChildNumber::from(c))
                            .collect::<Vec<_>>(),
                    );
                    psbt.inputs[i]
                        .bip32_derivation
                        .insert(pk, (Fingerprint::default(), path));
                    if let Some(t) = inp.tweak {
                        psbt.inputs[i].unknown.insert(
                            raw::Key {
                                type_value: t,
                                key: vec![],
                            },
                            vec![1; 32],
                        );
                    }
                }
            }
            Op::SignPsbt(SignPsbtRequest {
                funded_psbt: psbt.serialize(),
            })
        })
        .collect()
}

fn policy(config: PolicyConfig, root: &RootKey) -> Policy {
    Policy::new(config, root)
}

fn tags(d: &Decision) -> Vec<&'static str> {
    match d {
        Decision::Allow => vec![],
        Decision::Ask(r) | Decision::Deny(r) => r.tags().iter().map(|t| t.as_str()).collect(),
    }
}

fn is_deny(d: &Decision) -> bool {
    matches!(d, Decision::Deny(_))
}

/// A wallet spend of 100 000 sat paying `pay` to a foreign script, the rest
/// minus a fee of 1 000 sat to our change.
fn spend(root: &RootKey, pay: u64, seed: u8) -> Vec<Op> {
    packets(
        root,
        &[
            input(wallet_path(0, 1), 60_000),
            input(wallet_path(1, 2), 40_000),
        ],
        &[
            (foreign(seed), pay),
            (own(root, 1, 3), 100_000 - pay - 1_000),
        ],
    )
}

#[test]
fn external_per_tx_at_below_and_above_the_limit() {
    let root = root();
    let config = PolicyConfig {
        max_external_per_tx: Some(50_000),
        ..PolicyConfig::default()
    };
    let mut p = policy(config, &root);
    for (pay, seed, allowed) in [(49_999, 1, true), (50_000, 2, true), (50_001, 3, false)] {
        let v = p.check(&spend(&root, pay, seed)[0], 1000);
        assert_eq!(
            v.decision == Decision::Allow,
            allowed,
            "{pay}: {:?}",
            v.decision
        );
        assert_eq!(v.facts.external, Some(pay));
        if !allowed {
            assert_eq!(tags(&v.decision), ["policy-onchain-external-per-tx"]);
            let text = match &v.decision {
                Decision::Deny(r) => r.to_string(),
                other => panic!("{other:?}"),
            };
            assert!(
                text.starts_with("policy-onchain-external-per-tx: transaction "),
                "{text}"
            );
            assert!(
                text.contains("pays 50001 sat outside our wallet (output 0: 50001 sat to bcrt1q"),
                "{text}"
            );
            assert!(text.ends_with("over the limit of 50000 sat"), "{text}");
        }
    }
}

#[test]
fn per_input_requests_of_one_transaction_count_once() {
    let root = root();
    let config = PolicyConfig {
        max_external_per_day: Some(30_000),
        ..PolicyConfig::default()
    };
    let mut p = policy(config, &root);
    let tx = spend(&root, 20_000, 1);
    assert_eq!(p.check(&tx[0], 1000).decision, Decision::Allow);
    assert_eq!(p.check(&tx[1], 1001).decision, Decision::Allow);
    assert_eq!(p.check(&tx[0], 1002).decision, Decision::Allow);
    assert_eq!(p.spent_in_window(1003), 20_000);
    // A second transaction: 20 000 more is over the 30 000 of the day.
    let v = p.check(&spend(&root, 20_000, 2)[1], 1004);
    assert_eq!(tags(&v.decision), ["policy-onchain-external-per-day"]);
    // 10 000 fits exactly.
    assert_eq!(
        p.check(&spend(&root, 10_000, 3)[0], 1005).decision,
        Decision::Allow
    );
    assert_eq!(p.spent_in_window(1006), 30_000);
    assert!(is_deny(&p.check(&spend(&root, 1, 4)[0], 1007).decision));
    // A day after the first spend, its 20 000 left the window.
    assert_eq!(
        p.check(&spend(&root, 20_000, 5)[0], 1000 + DAY_SECS)
            .decision,
        Decision::Allow
    );
}

#[test]
fn the_day_window_survives_a_restart_through_the_audit_log() {
    use crate::audit::{AuditChain, Entry};
    let root = root();
    let config = PolicyConfig {
        max_external_per_day: Some(30_000),
        ..PolicyConfig::default()
    };
    let mut p = policy(config.clone(), &root);
    let mut chain = AuditChain::new(root.audit_key());
    let mut log = String::new();
    for (i, op) in spend(&root, 25_000, 1).iter().enumerate() {
        let v = p.check(op, 5000);
        assert_eq!(v.decision, Decision::Allow);
        let e = Entry::from_verdict(5000, "sign_psbt", i as u64, &v, None, "signed".into());
        log.push_str(&chain.append(e));
        log.push('\n');
    }
    // Restart: a new engine, the window rebuilt from the log.
    let (_, entries) = AuditChain::resume(root.audit_key(), &log).expect("intact");
    let mut p = policy(config, &root);
    for e in &entries {
        if let Some((txid, external)) = e.allowed_spend() {
            p.restore_spend(e.time, txid, external);
        }
    }
    assert_eq!(p.spent_in_window(6000), 25_000);
    assert_eq!(
        tags(&p.check(&spend(&root, 10_000, 2)[0], 6000).decision),
        ["policy-onchain-external-per-day"]
    );
    // The restored transaction itself is still allowed (counted once).
    assert_eq!(
        p.check(&spend(&root, 25_000, 1)[1], 6001).decision,
        Decision::Allow
    );
    assert_eq!(
        p.check(&spend(&root, 10_000, 2)[0], 5000 + DAY_SECS)
            .decision,
        Decision::Allow
    );
}

#[test]
fn allowlisted_outputs_are_not_counted() {
    let root = root();
    let cold = foreign(9);
    let config = PolicyConfig {
        max_external_per_tx: Some(0),
        allowlist: vec![config::Allowed {
            text: "cold".into(),
            script: cold.clone(),
        }],
        ..PolicyConfig::default()
    };
    let mut p = policy(config, &root);
    let ops = packets(
        &root,
        &[input(wallet_path(0, 1), 100_000)],
        &[(cold, 90_000), (own(&root, 1, 0), 9_000)],
    );
    let v = p.check(&ops[0], 1);
    assert_eq!(v.decision, Decision::Allow);
    assert_eq!(v.facts.external, Some(0));
    assert_eq!(v.facts.outputs[0].whose, "allowlist");
    assert_eq!(v.facts.outputs[1].whose, "own");
    assert!(is_deny(&p.check(&spend(&root, 1, 1)[0], 2).decision));
}

#[test]
fn fee_and_feerate_caps() {
    let root = root();
    let config = PolicyConfig {
        max_fee: Some(1_000),
        ..PolicyConfig::default()
    };
    let mut p = policy(config, &root);
    // spend(): fee 1 000 exactly.
    assert_eq!(
        p.check(&spend(&root, 10_000, 1)[0], 1).decision,
        Decision::Allow
    );
    let over = packets(
        &root,
        &[input(wallet_path(0, 1), 100_000)],
        &[(foreign(2), 50_000), (own(&root, 1, 0), 48_999)],
    );
    let v = p.check(&over[0], 2);
    assert_eq!(v.facts.fee, Some(1_001));
    assert_eq!(tags(&v.decision), ["policy-onchain-fee"]);

    // One P2WKH input, two P2WKH outputs: about 141 vB.
    let one = |fee: u64, seed: u8| {
        packets(
            &root,
            &[input(wallet_path(0, 1), 100_000)],
            &[(foreign(seed), 50_000), (own(&root, 1, 0), 50_000 - fee)],
        )
    };
    let vsize = {
        let Op::SignPsbt(r) = &one(0, 1)[0] else {
            unreachable!()
        };
        let psbt = Psbt::deserialize(&r.funded_psbt).expect("psbt");
        estimate_vsize(&psbt.inputs, &psbt.unsigned_tx)
    };
    assert!((140..=143).contains(&vsize), "{vsize}");
    let config = PolicyConfig {
        max_feerate: Some(10),
        ..PolicyConfig::default()
    };
    let mut p = policy(config, &root);
    assert_eq!(p.check(&one(10 * vsize, 3)[0], 1).decision, Decision::Allow);
    assert_eq!(
        p.check(&one(10 * vsize + vsize - 1, 4)[0], 1).decision,
        Decision::Allow
    );
    let v = p.check(&one(11 * vsize, 5)[0], 1);
    assert_eq!(tags(&v.decision), ["policy-onchain-feerate"]);
}

#[test]
fn sweeps_must_pay_our_wallet() {
    let root = root();
    let mut p = policy(PolicyConfig::default(), &root);
    for family in [3, 4] {
        let to_wallet = packets(
            &root,
            &[input(lnd_path(family, 7), 50_000)],
            &[(own(&root, 0, 5), 49_000)],
        );
        assert_eq!(
            p.check(&to_wallet[0], 1).decision,
            Decision::Allow,
            "family {family}"
        );
        let away = packets(
            &root,
            &[input(lnd_path(family, 7), 50_000)],
            &[(foreign(1), 49_000)],
        );
        let v = p.check(&away[0], 1);
        assert_eq!(
            tags(&v.decision),
            ["policy-sweep-destination"],
            "family {family}"
        );
        let Decision::Deny(r) = &v.decision else {
            unreachable!()
        };
        let text = r.to_string();
        assert!(
            text.contains(&format!("input 0 (m/1017'/1'/{family}'/0/7")),
            "{text}"
        );
        assert!(text.contains("output 0 (49000 sat to bcrt1q"), "{text}");
    }
    // Justice: revocation base with a double tweak.
    let justice = |to: ScriptBuf, tweak: Option<u8>| {
        packets(
            &root,
            &[In {
                path: lnd_path(1, 2),
                sat: 80_000,
                tweak,
            }],
            &[(to, 79_000)],
        )
    };
    assert!(is_deny(
        &p.check(&justice(foreign(2), Some(TWEAK_DOUBLE))[0], 1)
            .decision
    ));
    assert_eq!(
        p.check(&justice(own(&root, 0, 1), Some(TWEAK_DOUBLE))[0], 1)
            .decision,
        Decision::Allow
    );
    // Family 1 without a double tweak, family 2 (HTLC second level), family
    // 0 (cooperative close): not sweeps.
    assert_eq!(
        p.check(&justice(foreign(3), None)[0], 1).decision,
        Decision::Allow
    );
    let htlc = packets(
        &root,
        &[input(lnd_path(2, 2), 80_000)],
        &[(foreign(4), 79_000)],
    );
    assert_eq!(p.check(&htlc[0], 1).decision, Decision::Allow);
    let close = packets(
        &root,
        &[input(lnd_path(0, 2), 80_000)],
        &[(foreign(5), 40_000), (own(&root, 0, 9), 39_000)],
    );
    assert_eq!(p.check(&close[0], 1).decision, Decision::Allow);
    // A sweep with a wallet input for fees (anchor CPFP): both rules apply.
    let cpfp = packets(
        &root,
        &[input(lnd_path(4, 1), 330), input(wallet_path(0, 8), 10_000)],
        &[(own(&root, 1, 4), 9_000)],
    );
    assert_eq!(p.check(&cpfp[0], 1).decision, Decision::Allow);
    assert_eq!(p.check(&cpfp[1], 1).decision, Decision::Allow);
    // Off: allowed.
    let mut off = policy(
        PolicyConfig {
            sweeps_require_own_wallet: false,
            ..PolicyConfig::default()
        },
        &root,
    );
    let away = packets(
        &root,
        &[input(lnd_path(4, 7), 50_000)],
        &[(foreign(1), 49_000)],
    );
    assert_eq!(off.check(&away[0], 1).decision, Decision::Allow);
}

fn musig2(family: i32, pregenerated: bool) -> Op {
    Op::MuSig2Session(MuSig2SessionRequest {
        key_loc: Some(KeyLocator {
            key_family: family,
            key_index: 0,
        }),
        pregenerated_local_nonce: if pregenerated { vec![1; 97] } else { vec![] },
        ..Default::default()
    })
}

#[test]
fn pregenerated_musig2_nonces() {
    let root = root();
    let mut p = policy(PolicyConfig::default(), &root);
    assert_eq!(p.check(&musig2(0, true), 1).decision, Decision::Allow);
    assert_eq!(p.check(&musig2(6, false), 1).decision, Decision::Allow);
    let v = p.check(&musig2(6, true), 1);
    assert_eq!(tags(&v.decision), ["policy-musig2-nonce-family"]);
    let Decision::Deny(r) = &v.decision else {
        unreachable!()
    };
    assert!(r.to_string().contains("key 6/0 (node key)"), "{r}");
    assert!(is_deny(&p.check(&musig2(4, true), 1).decision));

    let mut strict = policy(PolicyConfig::strict(), &root);
    assert_eq!(
        tags(&strict.check(&musig2(0, true), 1).decision),
        ["policy-musig2-nonce-refused"]
    );
    assert_eq!(strict.check(&musig2(0, false), 1).decision, Decision::Allow);

    let mut any = policy(PolicyConfig::permissive(), &root);
    assert_eq!(any.check(&musig2(6, true), 1).decision, Decision::Allow);
}

#[test]
fn strict_preset_asks_for_every_external_satoshi() {
    let root = root();
    let mut p = policy(PolicyConfig::strict(), &root);
    let v = p.check(&spend(&root, 1, 1)[0], 1);
    assert!(matches!(v.decision, Decision::Ask(_)), "{:?}", v.decision);
    assert_eq!(tags(&v.decision), ["policy-onchain-external-per-tx"]);
    // To our own wallet only: fine.
    let internal = packets(
        &root,
        &[input(wallet_path(0, 1), 10_000)],
        &[(own(&root, 0, 2), 9_000)],
    );
    assert_eq!(p.check(&internal[0], 1).decision, Decision::Allow);
    // An approved spend is counted; a budget covers the next ones.
    p.approve(&v);
    assert_eq!(p.spent_in_window(2), 1);
    p.set_budget(Some(Budget {
        remaining: 5_000,
        until: 100,
    }));
    assert_eq!(
        p.check(&spend(&root, 4_000, 2)[0], 50).decision,
        Decision::Allow
    );
    assert_eq!(p.budget(51).map(|b| b.remaining), Some(1_000));
    assert!(matches!(
        p.check(&spend(&root, 4_000, 3)[0], 52).decision,
        Decision::Ask(_)
    ));
    assert_eq!(p.budget(100), None);
}

#[test]
fn wallet_inputs_raise_the_high_water_mark() {
    let root = root();
    let mut p = policy(
        PolicyConfig {
            max_external_per_tx: Some(0),
            wallet_lookahead: 5,
            ..PolicyConfig::default()
        },
        &root,
    );
    // Change at index 30: not ours yet (only 0..=5 derived).
    let tx = |input_index: u32| {
        packets(
            &root,
            &[input(wallet_path(1, input_index), 10_000)],
            &[(own(&root, 1, 30), 9_000)],
        )
    };
    assert!(is_deny(&p.check(&tx(2)[0], 1).decision));
    // Spending index 26 covers 27..=31.
    assert_eq!(p.check(&tx(26)[0], 1).decision, Decision::Allow);
}

#[test]
fn unparseable_packets_are_left_to_the_signer() {
    let root = root();
    let mut p = policy(PolicyConfig::strict(), &root);
    let v = p.check(
        &Op::SignPsbt(SignPsbtRequest {
            funded_psbt: b"psbt\xff\x00garbage".to_vec(),
        }),
        1,
    );
    assert_eq!(v.decision, Decision::Allow);
    assert_eq!(v.facts.txid, None);
}

#[test]
fn a_change_of_settings_keeps_the_window_and_the_budget() {
    let root = root();
    let day = PolicyConfig {
        max_external_per_day: Some(50_000),
        ..PolicyConfig::default()
    };
    let mut p = policy(day.clone(), &root);
    p.set_budget(Some(Budget {
        remaining: 100_000,
        until: 2_000,
    }));
    let first = spend(&root, 30_000, 1);
    assert_eq!(p.check(&first[0], 1_000).decision, Decision::Allow);
    // Loosened per transaction, same daily limit: the 30 000 still count.
    let mut q = policy(
        PolicyConfig {
            max_external_per_tx: Some(1_000_000),
            ..day
        },
        &root,
    );
    q.carry_over(p);
    assert_eq!(q.spent_in_window(1_001), 30_000);
    // Every external satoshi signed while a budget runs counts against it.
    assert_eq!(q.budget(1_001).map(|b| b.remaining), Some(70_000));
    // The transaction allowed before is still counted once.
    assert_eq!(q.check(&first[1], 1_002).decision, Decision::Allow);
    assert_eq!(q.spent_in_window(1_003), 30_000);
    q.set_budget(None);
    let second = spend(&root, 30_000, 2);
    assert_eq!(
        tags(&q.check(&second[0], 1_004).decision),
        ["policy-onchain-external-per-day"]
    );
}
