//! BIP conformance of the signing primitives and the PSBT parser against
//! `vectors/bip/{bip143.json, bip341-wallet-test-vectors.json,
//! bip340-test-vectors.csv, bip174.json, bip371.json}`.
//!
//! Run by the driver of the same name in `tests/conformance/`, natively and
//! in headless Chromium: no file I/O, threads or clocks here.

use lnd_web_signer::entropy::Entropy;
use lnd_web_signer::keys::bitcoin::consensus;
use lnd_web_signer::keys::bitcoin::psbt::Psbt;
use lnd_web_signer::keys::bitcoin::secp256k1::{
    schnorr, Keypair, Message, SecretKey, XOnlyPublicKey, SECP256K1,
};
use lnd_web_signer::keys::bitcoin::{Amount, PrivateKey, ScriptBuf, Transaction, TxOut};
use lnd_web_signer::keys::{Network, RootKey};
use lnd_web_signer::proto::walletrpc::SignPsbtRequest;
use lnd_web_signer::proto::watchonlyrpc::sign_coordinator_request::SignRequestType as Req;
use lnd_web_signer::proto::watchonlyrpc::sign_coordinator_response::SignResponseType as Resp;
use lnd_web_signer::proto::watchonlyrpc::SignCoordinatorRequest;
use lnd_web_signer::request::Work;
use lnd_web_signer::signer::Signer;
use lnd_web_signer::signing::psbt::{
    ecdsa_signature, key_spend_keypair, parse, schnorr_signature, segwit_v0_sighash,
    taproot_sighash,
};
use serde_json::Value;

fn field<'a>(v: &'a Value, key: &str, ctx: &str) -> &'a Value {
    v.get(key)
        .unwrap_or_else(|| panic!("{ctx}: missing field {key:?}"))
}

fn text<'a>(v: &'a Value, key: &str, ctx: &str) -> &'a str {
    field(v, key, ctx)
        .as_str()
        .unwrap_or_else(|| panic!("{ctx}: field {key:?} is not a string"))
}

fn bytes(v: &Value, key: &str, ctx: &str) -> Vec<u8> {
    hex::decode(text(v, key, ctx))
        .unwrap_or_else(|e| panic!("{ctx}: field {key:?} is not hex: {e}"))
}

fn array<'a>(v: &'a Value, key: &str, ctx: &str) -> &'a Vec<Value> {
    field(v, key, ctx)
        .as_array()
        .unwrap_or_else(|| panic!("{ctx}: field {key:?} is not an array"))
}

fn number(v: &Value, key: &str, ctx: &str) -> u64 {
    field(v, key, ctx)
        .as_u64()
        .unwrap_or_else(|| panic!("{ctx}: field {key:?} is not a number"))
}

fn secret(b: &[u8], ctx: &str) -> SecretKey {
    SecretKey::from_slice(b).unwrap_or_else(|e| panic!("{ctx}: bad private key: {e}"))
}

fn digest32(b: &[u8], ctx: &str) -> [u8; 32] {
    b.try_into()
        .unwrap_or_else(|_| panic!("{ctx}: expected 32 bytes, got {}", b.len()))
}

/// `bip143.json`: both examples, the digest lnd's v0 path computes (a P2WKH
/// program as subscript gives the P2PKH scriptCode — native and nested) and the
/// RFC 6979 low-S DER signature ‖ sighash byte.
pub fn run_bip143(json: &str) -> usize {
    let doc: Value = serde_json::from_str(json).expect("bip143.json parses");
    let mut n = 0;
    for v in array(&doc, "vectors", "bip143.json") {
        let ctx = format!("bip143.json {}", text(v, "name", "bip143.json"));
        let tx: Transaction = consensus::deserialize(&bytes(v, "unsigned_tx", &ctx))
            .unwrap_or_else(|e| panic!("{ctx}: tx: {e}"));
        let index = number(v, "signed_input_index", &ctx) as usize;
        let input = array(v, "inputs", &ctx)
            .iter()
            .find(|i| number(i, "index", &ctx) as usize == index)
            .unwrap_or_else(|| panic!("{ctx}: signed input missing"));
        // lnd's subscript: redeem script (nested) else the witness UTXO script.
        let subscript = match input.get("redeem_script") {
            Some(_) => ScriptBuf::from_bytes(bytes(input, "redeem_script", &ctx)),
            None => ScriptBuf::from_bytes(bytes(input, "script_pubkey", &ctx)),
        };
        let ty = number(v, "sighash_type", &ctx) as u32;
        let amount = Amount::from_sat(number(input, "amount_sat", &ctx));
        let digest = segwit_v0_sighash(&tx, index, &subscript, amount, ty)
            .unwrap_or_else(|e| panic!("{ctx}: {e}"));
        assert_eq!(
            hex::encode(digest),
            text(v, "sighash", &ctx),
            "{ctx}: sighash"
        );
        let key = secret(&bytes(input, "private_key", &ctx), &ctx);
        assert_eq!(
            hex::encode(ecdsa_signature(&key, digest, ty)),
            text(v, "signature", &ctx),
            "{ctx}: signature"
        );
        n += 1;
    }
    n
}

/// `bip341-wallet-test-vectors.json` keyPathSpending: the BIP-341 sighash of
/// every input (all prevouts; ANYONECANPAY uses the input's own) and the
/// signature, byte-identical with zero auxiliary randomness (as in the BIP).
pub fn run_bip341_keypath(json: &str) -> usize {
    let doc: Value = serde_json::from_str(json).expect("bip341 json parses");
    let mut n = 0;
    for (t, case) in array(&doc, "keyPathSpending", "bip341").iter().enumerate() {
        let ctx = format!("bip341 keyPathSpending[{t}]");
        let given = field(case, "given", &ctx);
        let tx: Transaction = consensus::deserialize(&bytes(given, "rawUnsignedTx", &ctx))
            .unwrap_or_else(|e| panic!("{ctx}: tx: {e}"));
        let prevouts: Vec<TxOut> = array(given, "utxosSpent", &ctx)
            .iter()
            .map(|u| TxOut {
                value: Amount::from_sat(number(u, "amountSats", &ctx)),
                script_pubkey: ScriptBuf::from_bytes(bytes(u, "scriptPubKey", &ctx)),
            })
            .collect();
        for (i, spend) in array(case, "inputSpending", &ctx).iter().enumerate() {
            let ctx = format!("{ctx} inputSpending[{i}]");
            let g = field(spend, "given", &ctx);
            let inter = field(spend, "intermediary", &ctx);
            let index = number(g, "txinIndex", &ctx) as usize;
            let ty = number(g, "hashType", &ctx) as u32;
            let digest = taproot_sighash(&tx, index, &prevouts, ty, None)
                .unwrap_or_else(|e| panic!("{ctx}: {e}"));
            assert_eq!(
                hex::encode(digest),
                text(inter, "sigHash", &ctx),
                "{ctx}: sighash"
            );
            let key = secret(&bytes(g, "internalPrivkey", &ctx), &ctx);
            let root = match g.get("merkleRoot") {
                Some(Value::String(_)) => Some(digest32(&bytes(g, "merkleRoot", &ctx), &ctx)),
                _ => None,
            };
            let keypair = key_spend_keypair(&key, root).unwrap_or_else(|| panic!("{ctx}: tweak"));
            assert_eq!(
                hex::encode(keypair.secret_bytes()),
                text(inter, "tweakedPrivkey", &ctx),
                "{ctx}: tweaked private key"
            );
            let sig = schnorr_signature(&keypair, digest, ty as u8, [0u8; 32]);
            let expected = array(field(spend, "expected", &ctx), "witness", &ctx)[0]
                .as_str()
                .expect("witness hex");
            assert_eq!(hex::encode(sig), expected, "{ctx}: signature");
            n += 1;
        }
    }
    n
}

/// `bip340-test-vectors.csv`: signing rows reproduce the signature with the
/// given aux randomness; every row's verification result holds. Returns
/// (rows checked, rows not applicable: messages that are not 32 bytes, which
/// the signer never signs — it only signs 32-byte digests).
pub fn run_bip340(csv: &str) -> (usize, usize) {
    let mut checked = 0;
    let mut not_applicable = 0;
    for (line_no, line) in csv.lines().enumerate().skip(1) {
        if line.trim().is_empty() {
            continue;
        }
        let ctx = format!("bip340-test-vectors.csv line {}", line_no + 1);
        let cols: Vec<&str> = line.split(',').collect();
        assert!(cols.len() >= 7, "{ctx}: expected 7+ columns");
        let (sk, pk, aux, msg, sig, result) =
            (cols[1], cols[2], cols[3], cols[4], cols[5], cols[6]);
        let msg_bytes = hex::decode(msg).unwrap_or_else(|e| panic!("{ctx}: msg: {e}"));
        let sig_bytes = hex::decode(sig).unwrap_or_else(|e| panic!("{ctx}: sig: {e}"));
        let expect_valid = match result {
            "TRUE" => true,
            "FALSE" => false,
            other => panic!("{ctx}: unexpected result {other}"),
        };
        if msg_bytes.len() != 32 {
            // Not expressible with the 32-byte digests the signer signs.
            not_applicable += 1;
            continue;
        }
        if !sk.is_empty() {
            {
                let keypair = Keypair::from_secret_key(
                    SECP256K1,
                    &secret(&hex::decode(sk).expect("sk hex"), &ctx),
                );
                let aux: [u8; 32] = digest32(&hex::decode(aux).expect("aux hex"), &ctx);
                let ours = schnorr_signature(&keypair, digest32(&msg_bytes, &ctx), 0, aux);
                assert_eq!(hex::encode_upper(ours), sig, "{ctx}: signature");
            }
        }
        let valid = (|| {
            let key = XOnlyPublicKey::from_slice(&hex::decode(pk).ok()?).ok()?;
            let sig = schnorr::Signature::from_slice(&sig_bytes).ok()?;
            let msg = Message::from_digest_slice(&msg_bytes).ok()?;
            Some(SECP256K1.verify_schnorr(&sig, &msg, &key).is_ok())
        })();
        match valid {
            Some(v) => assert_eq!(v, expect_valid, "{ctx}: verification result"),
            None => assert!(!expect_valid, "{ctx}: a valid row must parse"),
        }
        checked += 1;
    }
    (checked, not_applicable)
}

struct ZeroEntropy;
impl Entropy for ZeroEntropy {
    fn fill_bytes(&self, dest: &mut [u8]) {
        dest.fill(0);
    }
}

/// A packet the signer has no key for comes back byte for byte (or is
/// refused as a whole for missing UTXO data or no inputs/outputs, as lnd does).
fn assert_unchanged_by_signer(raw: &[u8], ctx: &str) {
    let root = RootKey::from_seed_entropy(&[0x5a; 16], Network::Regtest).expect("root");
    let signer = Signer::new(root, Box::new(ZeroEntropy));
    let resp = signer.handle(
        &Work::try_from(SignCoordinatorRequest {
            request_id: 1,
            sign_request_type: Some(Req::SignPsbtRequest(SignPsbtRequest {
                funded_psbt: raw.to_vec(),
            })),
        })
        .expect("signing work"),
    );
    match resp.sign_response_type {
        Some(Resp::SignPsbtResponse(r)) => {
            assert!(r.signed_inputs.is_empty(), "{ctx}: nothing to sign");
            assert_eq!(
                hex::encode(r.signed_psbt),
                hex::encode(raw),
                "{ctx}: packet altered"
            );
        }
        Some(Resp::SignerError(e)) => assert!(
            e.error.contains("doesn't specify any UTXO info")
                || e.error.contains("must contain at least one"),
            "{ctx}: unexpected error {}",
            e.error
        ),
        other => panic!("{ctx}: unexpected response {other:?}"),
    }
}

fn psbt_bytes(v: &Value, ctx: &str) -> Vec<u8> {
    bytes(v, "hex", ctx)
}

/// `bip174.json`: every invalid packet is refused by the SignPsbt parser,
/// every valid one (and the fails-signer-checks ones, which are valid
/// serialisations) parses and re-serialises to an equal packet; the role
/// workflow's signer steps: lnd's rules sign nothing (3-element paths, and
/// input 0 has no witness UTXO) and return the packet unchanged, and the
/// SegWit (P2SH-P2WSH) signature each signer adds is reproduced byte for byte
/// by the BIP-143 digest + RFC 6979 primitives.
pub fn run_bip174(json: &str) -> usize {
    let doc: Value = serde_json::from_str(json).expect("bip174.json parses");
    let mut n = 0;
    for (i, v) in array(&doc, "invalid", "bip174.json").iter().enumerate() {
        let ctx = format!(
            "bip174.json invalid[{i}] ({})",
            text(v, "description", "bip174")
        );
        assert!(
            parse(&psbt_bytes(v, &ctx)).is_err(),
            "{ctx}: must be refused"
        );
        n += 1;
    }
    for section in ["valid", "fails_signer_checks"] {
        for (i, v) in array(&doc, section, "bip174.json").iter().enumerate() {
            let ctx = format!(
                "bip174.json {section}[{i}] ({})",
                text(v, "description", "bip174")
            );
            let raw = psbt_bytes(v, &ctx);
            let p = parse(&raw).unwrap_or_else(|e| panic!("{ctx}: must parse: {e}"));
            let again = Psbt::deserialize(&p.serialize()).unwrap_or_else(|e| panic!("{ctx}: {e}"));
            assert_eq!(again, p, "{ctx}: re-serialisation changed the packet");
            assert_unchanged_by_signer(&raw, &ctx);
            n += 1;
        }
    }

    let w = field(&doc, "role_workflow", "bip174.json");
    let root = RootKey::from_xprv(
        text(field(w, "master_key", "bip174"), "tprv", "bip174"),
        Network::Testnet3,
    )
    .expect("bip174 master key");
    let signer = Signer::new(root, Box::new(ZeroEntropy));
    let unsigned = psbt_bytes(
        field(
            field(w, "updater_sighash_all", "bip174"),
            "result",
            "bip174",
        ),
        "bip174 updater",
    );
    let resp = signer.handle(
        &Work::try_from(SignCoordinatorRequest {
            request_id: 7,
            sign_request_type: Some(Req::SignPsbtRequest(SignPsbtRequest {
                funded_psbt: unsigned.clone(),
            })),
        })
        .expect("signing work"),
    );
    match resp.sign_response_type {
        Some(Resp::SignPsbtResponse(r)) => {
            assert!(
                r.signed_inputs.is_empty(),
                "bip174: lnd's rules sign nothing here"
            );
            assert_eq!(
                Psbt::deserialize(&r.signed_psbt).expect("reparse"),
                Psbt::deserialize(&unsigned).expect("parse"),
                "bip174: packet must come back unchanged"
            );
        }
        other => panic!("bip174 signer: unexpected response {other:?}"),
    }
    n += 1;

    let before = Psbt::deserialize(&unsigned).expect("parse");
    for step in ["signer_1", "signer_2"] {
        let s = field(w, step, "bip174");
        let ctx = format!("bip174.json {step}");
        let result =
            Psbt::deserialize(&psbt_bytes(field(s, "result", &ctx), &ctx)).expect("result");
        for k in array(s, "keys", &ctx) {
            let wif = PrivateKey::from_wif(text(k, "wif", &ctx)).expect("wif");
            let pk = wif.public_key(SECP256K1);
            for (index, input) in before.inputs.iter().enumerate() {
                let (Some(utxo), Some(ws)) = (&input.witness_utxo, &input.witness_script) else {
                    continue;
                };
                let Some(expected) = result.inputs[index].partial_sigs.get(&pk) else {
                    continue;
                };
                let ty = input.sighash_type.map(|t| t.to_u32()).unwrap_or(1);
                let digest = segwit_v0_sighash(&before.unsigned_tx, index, ws, utxo.value, ty)
                    .unwrap_or_else(|e| panic!("{ctx}: {e}"));
                assert_eq!(
                    hex::encode(ecdsa_signature(&wif.inner, digest, ty)),
                    hex::encode(expected.to_vec()),
                    "{ctx}: input {index} signature"
                );
                n += 1;
            }
        }
    }
    n
}

/// `bip371.json`: the valid taproot-field packets parse and re-serialise
/// byte for byte; the invalid ones are refused.
pub fn run_bip371(json: &str) -> usize {
    let doc: Value = serde_json::from_str(json).expect("bip371.json parses");
    let mut n = 0;
    for (i, v) in array(&doc, "invalid", "bip371.json").iter().enumerate() {
        let ctx = format!(
            "bip371.json invalid[{i}] ({})",
            text(v, "description", "bip371")
        );
        assert!(
            parse(&psbt_bytes(v, &ctx)).is_err(),
            "{ctx}: must be refused"
        );
        n += 1;
    }
    for (i, v) in array(&doc, "valid", "bip371.json").iter().enumerate() {
        let ctx = format!(
            "bip371.json valid[{i}] ({})",
            text(v, "description", "bip371")
        );
        let raw = psbt_bytes(v, &ctx);
        let p = parse(&raw).unwrap_or_else(|e| panic!("{ctx}: must parse: {e}"));
        let again = Psbt::deserialize(&p.serialize()).unwrap_or_else(|e| panic!("{ctx}: {e}"));
        assert_eq!(again, p, "{ctx}: parse/serialise round trip");
        assert_unchanged_by_signer(&raw, &ctx);
        n += 1;
    }
    n
}
