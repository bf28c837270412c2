//! `--policy FILE` and `--audit-log FILE` of `lnd-web-signer handle`, and
//! `lnd-web-signer audit verify|show` (docs/security.md): limits refused
//! with their tags, the 24 h window across a restart, malformed policies
//! refused at start with a line naming the key, tampered logs named.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use bitcoin::bip32::{ChildNumber, DerivationPath, Fingerprint};
use bitcoin::hashes::Hash;
use bitcoin::psbt::Psbt;
use bitcoin::secp256k1::{SecretKey, SECP256K1};
use bitcoin::{
    absolute, transaction, Amount, CompressedPublicKey, OutPoint, ScriptBuf, Sequence, Transaction,
    TxIn, TxOut, Witness,
};
use lnd_web_signer::keys::{Network, RootKey, HARDENED};
use lnd_web_signer_testkit::DEMO_TPRV;
use serde_json::Value;

use crate::support::cli::{run, stderr, stdout, BIN};

const H: u32 = HARDENED;

fn dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("lws-policy-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("temp dir");
    d
}

fn write(dir: &Path, name: &str, contents: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, contents).expect("write");
    p
}

fn root() -> RootKey {
    RootKey::from_xprv(DEMO_TPRV, Network::Regtest).expect("demo key")
}

fn p2wkh(pk: bitcoin::secp256k1::PublicKey) -> ScriptBuf {
    ScriptBuf::new_p2wpkh(&CompressedPublicKey(pk).wpubkey_hash())
}

/// A one-input wallet spend (m/84'/0'/0'/0/`n`, 100 000 sat) paying `pay`
/// to a foreign address and the rest minus 1 000 sat to our change: the
/// SignPsbt request line of `handle`.
fn spend_line(id: u64, n: u32, pay: u64) -> String {
    let root = root();
    let path = [84 + H, H, H, 0, n];
    let pk = root.derive_pub(&path).expect("derive");
    let change = root.derive_pub(&[84 + H, H, H, 1, n]).expect("derive");
    let foreign = SecretKey::from_slice(&[n as u8 + 1; 32])
        .expect("key")
        .public_key(SECP256K1);
    let tx = Transaction {
        version: transaction::Version::TWO,
        lock_time: absolute::LockTime::ZERO,
        input: vec![TxIn {
            previous_output: OutPoint {
                txid: bitcoin::Txid::from_byte_array([n as u8; 32]),
                vout: 0,
            },
            script_sig: ScriptBuf::new(),
            sequence: Sequence::MAX,
            witness: Witness::new(),
        }],
        output: vec![
            TxOut {
                value: Amount::from_sat(pay),
                script_pubkey: p2wkh(foreign),
            },
            TxOut {
                value: Amount::from_sat(100_000 - pay - 1_000),
                script_pubkey: p2wkh(change),
            },
        ],
    };
    let mut psbt = Psbt::from_unsigned_tx(tx).expect("psbt");
    psbt.inputs[0].witness_utxo = Some(TxOut {
        value: Amount::from_sat(100_000),
        script_pubkey: p2wkh(pk),
    });
    psbt.inputs[0].sighash_type = Some(bitcoin::psbt::PsbtSighashType::from_u32(1));
    psbt.inputs[0].bip32_derivation.insert(
        pk,
        (
            Fingerprint::default(),
            DerivationPath::from(path.map(ChildNumber::from).to_vec()),
        ),
    );
    format!(
        "{{\"request_id\":{id},\"sign_psbt_request\":{{\"funded_psbt\":\"{}\"}}}}\n",
        STANDARD.encode(psbt.serialize())
    )
}

fn handle(args: &[&dyn AsRef<std::ffi::OsStr>], stdin: &str) -> Output {
    let mut child = Command::new(BIN)
        .arg("handle")
        .args(args.iter().map(|a| a.as_ref()))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let _ = child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin.as_bytes());
    child.wait_with_output().expect("wait")
}

fn answers(o: &Output) -> Vec<Value> {
    assert!(o.status.success(), "exit {:?}: {}", o.status, stderr(o));
    stdout(o)
        .lines()
        .map(|l| serde_json::from_str(l).expect("json line"))
        .collect()
}

fn error_of(v: &Value) -> Option<&str> {
    v["signerError"]["error"].as_str()
}

#[test]
fn limits_are_refused_with_their_tags_and_logged() {
    let d = dir("limits");
    let seed = write(&d, "seed", DEMO_TPRV);
    let policy = write(
        &d,
        "policy.toml",
        "[onchain]\nmax_external_per_tx = 50000\nmax_fee = 5000\n",
    );
    let log = d.join("audit.jsonl");
    let args: [&dyn AsRef<std::ffi::OsStr>; 8] = [
        &"--seed-file",
        &seed,
        &"--network",
        &"regtest",
        &"--policy",
        &policy,
        &"--audit-log",
        &log,
    ];
    let input = format!("{}{}", spend_line(5, 1, 60_000), spend_line(6, 2, 50_000));
    let out = answers(&handle(&args, &input));
    assert_eq!(out.len(), 2);
    let refused = error_of(&out[0]).expect("refused");
    assert!(
        refused.starts_with(
            "error processing the request in the remote signer: policy-onchain-external-per-tx: transaction "
        ),
        "{refused}"
    );
    assert!(
        refused.contains("pays 60000 sat outside our wallet (output 0: 60000 sat to bcrt1q"),
        "{refused}"
    );
    assert!(refused.contains("over the limit of 50000 sat"), "{refused}");
    assert!(
        out[1]["signPsbtResponse"]["signedInputs"] == serde_json::json!([0]),
        "{}",
        out[1]
    );

    // The log: two entries, refused then signed.
    let v = run(&[&"audit", &"verify", &log, &"--seed-file", &seed]);
    assert!(v.status.success(), "{}", stderr(&v));
    assert_eq!(stdout(&v), "2 entries, chain intact\n");
    let shown = run(&[&"audit", &"show", &log, &"--seed-file", &seed]);
    assert!(shown.status.success(), "{}", stderr(&shown));
    let entries: Vec<Value> = stdout(&shown)
        .lines()
        .map(|l| serde_json::from_str(l).expect("entry"))
        .collect();
    assert_eq!(entries.len(), 2);
    assert_eq!(entries[0]["decision"], "deny");
    assert_eq!(
        entries[0]["tags"],
        serde_json::json!(["policy-onchain-external-per-tx"])
    );
    assert_eq!(entries[0]["result"], "refused");
    assert_eq!(entries[0]["external"], 60_000);
    assert_eq!(entries[0]["paths"], serde_json::json!(["m/84'/0'/0'/0/1"]));
    assert_eq!(entries[1]["decision"], "allow");
    assert_eq!(entries[1]["result"], "signed");
    assert_eq!(entries[1]["fee"], 1_000);
    assert_eq!(entries[1]["outputs"][1]["whose"], "own");

    // Tampered: the amount of the first entry changed.
    let text = std::fs::read_to_string(&log).expect("log");
    let tampered = write(
        &d,
        "tampered.jsonl",
        &text.replacen("\"external\":60000", "\"external\":6000", 1),
    );
    let v = run(&[&"audit", &"verify", &tampered, &"--seed-file", &seed]);
    assert_eq!(v.status.code(), Some(1));
    assert!(
        stderr(&v).contains("line 1: entry 0: the mac does not match"),
        "{}",
        stderr(&v)
    );
    // An entry dropped from the middle of a longer log.
    let three = answers(&handle(&args, &spend_line(7, 3, 10_000)));
    assert_eq!(three.len(), 1);
    let text = std::fs::read_to_string(&log).expect("log");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "the chain continued in the same file");
    let dropped = write(
        &d,
        "dropped.jsonl",
        &format!("{}\n{}\n", lines[0], lines[2]),
    );
    let v = run(&[&"audit", &"verify", &dropped, &"--seed-file", &seed]);
    assert_eq!(v.status.code(), Some(1));
    assert!(
        stderr(&v).contains("line 2: entry 1 carries sequence number 2"),
        "{}",
        stderr(&v)
    );
    // A broken log stops the signer at start.
    let o = handle(
        &[
            &"--seed-file",
            &seed,
            &"--network",
            &"regtest",
            &"--audit-log",
            &dropped,
        ],
        "",
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("the signer does not continue a broken log"),
        "{}",
        stderr(&o)
    );
    // Another seed's key does not verify it.
    // lnd's signer_test.go mnemonic.
    let other = write(&d, "other-seed", "able promote dizzy mixture sword myth share public find tattoo catalog cousin bulb unfair machine alarm cool large promote kick shop rug mean year");
    let v = run(&[&"audit", &"verify", &log, &"--seed-file", &other]);
    assert_eq!(v.status.code(), Some(1), "{}", stdout(&v));
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn the_day_window_survives_a_restart() {
    let d = dir("window");
    let seed = write(&d, "seed", DEMO_TPRV);
    let policy = write(
        &d,
        "policy.toml",
        "[onchain]\nmax_external_per_day = 50000\n",
    );
    let log = d.join("audit.jsonl");
    let args: [&dyn AsRef<std::ffi::OsStr>; 8] = [
        &"--seed-file",
        &seed,
        &"--network",
        &"regtest",
        &"--policy",
        &policy,
        &"--audit-log",
        &log,
    ];
    let first = answers(&handle(&args, &spend_line(1, 1, 40_000)));
    assert!(error_of(&first[0]).is_none(), "{}", first[0]);
    // A new process: the 40 000 of the first run still count.
    let second = answers(&handle(
        &args,
        &format!("{}{}", spend_line(2, 2, 20_000), spend_line(3, 3, 9_000)),
    ));
    let e = error_of(&second[0]).expect("refused");
    assert!(
        e.contains("policy-onchain-external-per-day: transaction "),
        "{e}"
    );
    assert!(
        e.contains(
            "with the 40000 sat of the last 24 h that is 60000 sat, over the limit of 50000 sat"
        ),
        "{e}"
    );
    assert!(error_of(&second[1]).is_none(), "{}", second[1]);
    let v = run(&[&"audit", &"verify", &log, &"--seed-file", &seed]);
    assert_eq!(stdout(&v), "3 entries, chain intact\n", "{}", stderr(&v));

    // Without --audit-log the window could not survive: refused at start.
    let o = handle(
        &[
            &"--seed-file",
            &seed,
            &"--network",
            &"regtest",
            &"--policy",
            &policy,
        ],
        "",
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("policy key onchain.max_external_per_day needs --audit-log FILE"),
        "{}",
        stderr(&o)
    );
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn malformed_policies_are_refused_at_start_naming_the_key() {
    let d = dir("malformed");
    let seed = write(&d, "seed", DEMO_TPRV);
    for (text, want) in [
        ("[onchain]\nmax_external_per_tx = -1\n", "policy key onchain.max_external_per_tx: expected a whole number, 0 or more, found -1"),
        ("[onchain]\nmax_external = 5\n", "policy key onchain.max_external: unknown key"),
        ("[onchain]\nmax_fee = \"lots\"\n", "policy key onchain.max_fee: expected a whole number, 0 or more, found \"lots\""),
        ("[onchain]\nallowlist = [\"bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4\"]\n", "policy key onchain.allowlist[0]: \"bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4\" is not a regtest address"),
        ("[musig2]\npregenerated_nonce = \"sometimes\"\n", "policy key musig2.pregenerated_nonce: expected"),
        ("[onchain\n", "not valid TOML (line 1)"),
    ] {
        let p = write(&d, "policy.toml", text);
        let o = handle(&[&"--seed-file", &seed, &"--network", &"regtest", &"--policy", &p], "");
        assert_eq!(o.status.code(), Some(1), "{text}");
        let err = stderr(&o);
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.starts_with("error: policy file "), "{err}");
        assert!(err.contains(want), "{text}: {err}");
    }
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn a_pregenerated_nonce_for_the_node_key_is_refused() {
    let d = dir("musig2");
    let seed = write(&d, "seed", DEMO_TPRV);
    let root = root();
    let key = |f: u32| {
        STANDARD.encode(
            root.lnd_key(f, 0)
                .expect("key")
                .public_key(SECP256K1)
                .serialize(),
        )
    };
    let other = STANDARD.encode(
        SecretKey::from_slice(&[9; 32])
            .expect("key")
            .public_key(SECP256K1)
            .serialize(),
    );
    // 97 bytes: k1 ‖ k2 ‖ our public key (any values: the rule refuses first).
    let nonce = |f: u32| {
        let mut n = vec![0x11; 32];
        n.extend([0x22; 32]);
        n.extend(
            root.lnd_key(f, 0)
                .expect("key")
                .public_key(SECP256K1)
                .serialize(),
        );
        STANDARD.encode(n)
    };
    let req = |id: u32, f: u32| {
        format!(
            "{{\"request_id\":{id},\"mu_sig2_session_request\":{{\"key_loc\":{{\"key_family\":{f}}},\"all_signer_pubkeys\":[\"{}\",\"{other}\"],\"version\":\"MUSIG2_VERSION_V100RC2\",\"taproot_tweak\":{{\"key_spend_only\":true}},\"pregenerated_local_nonce\":\"{}\"}}}}\n",
            key(f),
            nonce(f)
        )
    };
    let out = answers(&handle(
        &[&"--seed-file", &seed, &"--network", &"regtest"],
        &format!("{}{}", req(1, 6), req(2, 0)),
    ));
    let e = error_of(&out[0]).expect("refused");
    assert!(
        e.contains("policy-musig2-nonce-family: a MuSig2 session for key 6/0 (node key)"),
        "{e}"
    );
    assert!(error_of(&out[1]).is_none(), "{}", out[1]);
    // Strict: refused for the multisig family too.
    let strict = write(&d, "strict.toml", "preset = \"strict\"\n");
    let out = answers(&handle(
        &[
            &"--seed-file",
            &seed,
            &"--network",
            &"regtest",
            &"--policy",
            &strict,
        ],
        &req(3, 0),
    ));
    let e = error_of(&out[0]).expect("refused");
    assert!(e.contains("policy-musig2-nonce-refused"), "{e}");
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn connect_refuses_a_malformed_policy_before_dialing() {
    let d = dir("connect");
    let seed = write(&d, "seed", DEMO_TPRV);
    let p = write(&d, "policy.toml", "[sweeps]\nrequire_own_wallet = \"no\"\n");
    let o = run(&[
        &"connect",
        &"--rpchost",
        &"127.0.0.1:9",
        &"--tlscertpath",
        &d.join("missing.cert"),
        &"--macaroonpath",
        &d.join("missing.macaroon"),
        &"--seed-file",
        &seed,
        &"--network",
        &"regtest",
        &"--policy",
        &p,
    ]);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(
        err.contains("policy key sweeps.require_own_wallet: expected true or false, found \"no\""),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn a_policy_sealed_in_the_vault_applies_unless_policy_is_given() {
    use lnd_web_signer::entropy::OsEntropy;
    use lnd_web_signer::keys::seed::SeedInput;
    use lnd_web_signer::secret::SecretString;
    use lnd_web_signer::vault;
    let d = dir("sealed");
    let weak = vault::KdfParams {
        m_cost_kib: 64,
        t_cost: 1,
        p_cost: 1,
    };
    let blob = vault::test_only_weak_kdf::seal(
        &SeedInput::Xprv(SecretString::from(DEMO_TPRV)),
        Network::Regtest,
        None,
        b"pw",
        weak,
        &OsEntropy,
    )
    .expect("seal");
    let mut opened = vault::open(&blob, b"pw").expect("open");
    // As the tab's Policy tab seals it (JSON).
    opened.policy = Some(r#"{"onchain":{"max_external_per_tx":50000}}"#.into());
    let sealed =
        vault::test_only_weak_kdf::reseal(&opened, b"pw", weak, &OsEntropy).expect("reseal");
    let vault_file = d.join("v.vault");
    std::fs::write(&vault_file, sealed).expect("write");
    let pass = write(&d, "pass", "pw\n");
    let args: [&dyn AsRef<std::ffi::OsStr>; 4] =
        [&"--vault", &vault_file, &"--passphrase-file", &pass];
    let out = answers(&handle(&args, &spend_line(7, 3, 60_000)));
    let refused = error_of(&out[0]).expect("refused under the sealed policy");
    assert!(
        refused.contains("policy-onchain-external-per-tx"),
        "{refused}"
    );
    // --policy FILE wins over the sealed one.
    let loose = write(
        &d,
        "loose.toml",
        "[onchain]\nmax_external_per_tx = 100000\n",
    );
    let args: [&dyn AsRef<std::ffi::OsStr>; 6] = [
        &"--vault",
        &vault_file,
        &"--passphrase-file",
        &pass,
        &"--policy",
        &loose,
    ];
    let out = answers(&handle(&args, &spend_line(8, 4, 60_000)));
    assert_eq!(error_of(&out[0]), None, "{}", out[0]);
}
