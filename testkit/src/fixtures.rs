//! Deterministic example requests for a given root key: the benchmark set
//! ([`bench_requests`]) and a builder for SignPsbt packets laid out the way
//! lnd's watch-only node builds them ([`build_psbt`]), used by tests and
//! benchmarks. Nothing here is used when answering requests.

use bitcoin::absolute::LockTime;
use bitcoin::hashes::{sha256, Hash};
use bitcoin::opcodes::all::{
    OP_CHECKSIG, OP_CSV, OP_DROP, OP_ELSE, OP_ENDIF, OP_IF, OP_PUSHNUM_16,
};
use bitcoin::psbt::{raw, Input, Psbt, PsbtSighashType};
use bitcoin::secp256k1::{PublicKey, SecretKey, XOnlyPublicKey, SECP256K1};
use bitcoin::taproot::{ControlBlock, LeafVersion, TapLeafHash, TapNodeHash, TaprootBuilder};
use bitcoin::transaction::Version;
use bitcoin::{
    bip32, Amount, OutPoint, ScriptBuf, Sequence, Transaction, TxIn, TxOut, Txid, Witness,
};

use lnd_web_signer::keys::{RootKey, HARDENED};
use lnd_web_signer::proto::signrpc::{KeyDescriptor, KeyLocator, SharedKeyRequest, SignMessageReq};
use lnd_web_signer::proto::walletrpc::SignPsbtRequest;
use lnd_web_signer::proto::watchonlyrpc::sign_coordinator_request::SignRequestType as Req;
use lnd_web_signer::proto::watchonlyrpc::SignCoordinatorRequest;
use lnd_web_signer::signing::psbt::{TWEAK_DOUBLE, TWEAK_SINGLE};
use lnd_web_signer::signing::tweak::{double_tweak, single_tweak};

/// CSV delay of the fixture to_local scripts.
pub const TO_SELF_DELAY: u16 = 144;

/// Kinds of inputs the watch-only node asks the signer to sign.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InputKind {
    /// Wallet P2WKH (m/84'/0'/0'/0/i) with lnd's redeem+witness script quirk.
    P2wkh,
    /// Wallet NP2WKH (m/49'/0'/0'/0/i), P2SH-wrapped, same quirk.
    Np2wkh,
    /// P2WSH to_local, delayed path: delay key family 4 + single tweak.
    P2wshSingleTweak,
    /// P2WSH to_local, revocation path: revocation family 1 + double tweak.
    P2wshDoubleTweak,
    /// Wallet P2TR BIP-86 key spend (m/86'/0'/0'/0/i).
    P2trBip86,
    /// P2TR key spend with a script root (taproot anchor: family 4 + single tweak).
    P2trKeyWithRoot,
    /// P2TR script path `<key> OP_CHECKSIG` (family 2 + single tweak), fake control block.
    P2trScriptPath,
}

impl InputKind {
    /// Every kind.
    pub const ALL: [InputKind; 7] = [
        InputKind::P2wkh,
        InputKind::Np2wkh,
        InputKind::P2wshSingleTweak,
        InputKind::P2wshDoubleTweak,
        InputKind::P2trBip86,
        InputKind::P2trKeyWithRoot,
        InputKind::P2trScriptPath,
    ];
}

/// One input of [`build_psbt`].
#[derive(Clone, Copy, Debug)]
pub struct FixtureInput {
    /// What is spent.
    pub kind: InputKind,
    /// Key index (wallet address index or key-family index).
    pub index: u32,
    /// Amount of the spent output in satoshi.
    pub value: u64,
    /// `PSBT_IN_SIGHASH_TYPE`, or `None` to leave it out.
    pub sighash: Option<u32>,
}

/// What a finaliser needs to complete the spend of one input.
#[derive(Clone, Debug)]
pub struct Finalize {
    /// The spent output.
    pub spent: TxOut,
    /// P2SH redeem script (NP2WKH) for the scriptSig.
    pub redeem_script: Option<ScriptBuf>,
    /// P2WSH witness script, or the tapscript leaf.
    pub script: Option<ScriptBuf>,
    /// Witness element selecting the script branch (P2WSH to_local): empty = delay path.
    pub branch: Option<Vec<u8>>,
    /// The real control block (script path), which the signer never sees.
    pub control_block: Option<ControlBlock>,
}

/// A built packet and the data to finalise it.
#[derive(Clone, Debug)]
pub struct BuiltPsbt {
    /// The packet as the watch-only node sends it.
    pub psbt: Psbt,
    /// Per input, what the finaliser needs.
    pub finalize: Vec<Finalize>,
}

fn fixed_secret(tag: &str, i: u32) -> SecretKey {
    // A sha256 output is a valid key except with probability ~2^-128.
    let mut counter = 0u32;
    loop {
        let data = format!("{tag}/{i}/{counter}");
        if let Ok(k) = SecretKey::from_slice(sha256::Hash::hash(data.as_bytes()).as_byte_array()) {
            return k;
        }
        counter += 1;
    }
}

/// A fixture that cannot be built (key derivation or tweak failure, each of
/// probability ~2^-127).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("fixture cannot be built: {0}")]
pub struct FixtureError(String);

fn key_source(path: &[u32]) -> bip32::KeySource {
    (
        bip32::Fingerprint::default(),
        path.iter().map(|&c| bip32::ChildNumber::from(c)).collect(),
    )
}

/// `m/1017'/C'/family'/0/index` as the watch-only node writes it.
fn lnd_path(root: &RootKey, family: u32, index: u32) -> [u32; 5] {
    [
        1017 + HARDENED,
        root.network().lnd_coin_type() + HARDENED,
        family + HARDENED,
        0,
        index,
    ]
}

/// lnd's single-tweak value `sha256(per_commitment_point ‖ base_point)`.
fn single_tweak_value(commit_point: &PublicKey, base: &PublicKey) -> [u8; 32] {
    let mut data = commit_point.serialize().to_vec();
    data.extend_from_slice(&base.serialize());
    sha256::Hash::hash(&data).to_byte_array()
}

/// `OP_IF <revocation> OP_ELSE <delay> OP_CSV OP_DROP <delayed> OP_ENDIF OP_CHECKSIG`.
fn to_local_script(revocation: &PublicKey, delayed: &PublicKey) -> ScriptBuf {
    ScriptBuf::builder()
        .push_opcode(OP_IF)
        .push_slice(revocation.serialize())
        .push_opcode(OP_ELSE)
        .push_int(i64::from(TO_SELF_DELAY))
        .push_opcode(OP_CSV)
        .push_opcode(OP_DROP)
        .push_slice(delayed.serialize())
        .push_opcode(OP_ENDIF)
        .push_opcode(OP_CHECKSIG)
        .into_script()
}

fn derive(root: &RootKey, path: &[u32]) -> Result<SecretKey, FixtureError> {
    root.derive_priv(path)
        .map_err(|e| FixtureError(e.to_string()))
}

fn tweaked(
    r: Result<SecretKey, lnd_web_signer::signing::tweak::TweakError>,
) -> Result<SecretKey, FixtureError> {
    r.map_err(|e| FixtureError(e.to_string()))
}

fn p2wpkh(pk: PublicKey) -> ScriptBuf {
    ScriptBuf::new_p2wpkh(&bitcoin::CompressedPublicKey(pk).wpubkey_hash())
}

/// Builds a version-2 transaction spending one fixture output per input
/// (outpoints derived from the input position) to as many P2WKH outputs as
/// inputs (our wallet's change addresses, so SIGHASH_SINGLE always has its
/// output), and the PSBT the watch-only node would send for it.
pub fn build_psbt(root: &RootKey, inputs: &[FixtureInput]) -> Result<BuiltPsbt, FixtureError> {
    let mut txins = Vec::new();
    let mut txouts = Vec::new();
    let mut psbt_inputs = Vec::new();
    let mut finalize = Vec::new();
    for (pos, spec) in inputs.iter().enumerate() {
        let pos32 = pos as u32;
        let (input, fin, sequence) = build_input(root, spec, pos32)?;
        let txid = Txid::from_byte_array(
            sha256::Hash::hash(format!("fixture prevout {pos}").as_bytes()).to_byte_array(),
        );
        txins.push(TxIn {
            previous_output: OutPoint { txid, vout: pos32 },
            script_sig: ScriptBuf::new(),
            sequence,
            witness: Witness::new(),
        });
        // Change to our own wallet (m/84'/0'/0'/1/pos), as lnd's sweeps and
        // spends pay: the signer's default policy refuses a sweep of channel
        // outputs to anywhere else.
        let change =
            derive(root, &[84 + HARDENED, HARDENED, HARDENED, 1, pos32])?.public_key(SECP256K1);
        txouts.push(TxOut {
            value: Amount::from_sat(spec.value / 2),
            script_pubkey: p2wpkh(change),
        });
        psbt_inputs.push(input);
        finalize.push(fin);
    }
    let tx = Transaction {
        version: Version::TWO,
        lock_time: LockTime::ZERO,
        input: txins,
        output: txouts,
    };
    let mut psbt = Psbt::from_unsigned_tx(tx).map_err(|e| FixtureError(e.to_string()))?;
    psbt.inputs = psbt_inputs;
    Ok(BuiltPsbt { psbt, finalize })
}

fn build_input(
    root: &RootKey,
    spec: &FixtureInput,
    pos: u32,
) -> Result<(Input, Finalize, Sequence), FixtureError> {
    let mut input = Input {
        sighash_type: spec.sighash.map(PsbtSighashType::from_u32),
        ..Default::default()
    };
    let value = Amount::from_sat(spec.value);
    let mut fin = Finalize {
        spent: TxOut {
            value,
            script_pubkey: ScriptBuf::new(),
        },
        redeem_script: None,
        script: None,
        branch: None,
        control_block: None,
    };
    let mut sequence = Sequence::MAX;
    let commit_secret = fixed_secret("fixture commitment secret", pos);
    let commit_point = commit_secret.public_key(SECP256K1);
    let other = fixed_secret("fixture other party", pos).public_key(SECP256K1);
    let add_tweak = |input: &mut Input, ty: u8, value: Vec<u8>| {
        input.unknown.insert(
            raw::Key {
                type_value: ty,
                key: vec![],
            },
            value,
        );
    };
    match spec.kind {
        InputKind::P2wkh | InputKind::Np2wkh => {
            let purpose = if spec.kind == InputKind::P2wkh {
                84
            } else {
                49
            };
            let path = [purpose + HARDENED, HARDENED, HARDENED, 0, spec.index];
            let pk = derive(root, &path)?.public_key(SECP256K1);
            let program = p2wpkh(pk);
            fin.spent.script_pubkey = if spec.kind == InputKind::P2wkh {
                program.clone()
            } else {
                fin.redeem_script = Some(program.clone());
                ScriptBuf::new_p2sh(&program.script_hash())
            };
            input.redeem_script = Some(program.clone());
            input.witness_script = Some(program);
            input.bip32_derivation.insert(pk, key_source(&path));
        }
        InputKind::P2wshSingleTweak | InputKind::P2wshDoubleTweak => {
            let single = spec.kind == InputKind::P2wshSingleTweak;
            let family = if single { 4 } else { 1 };
            let path = lnd_path(root, family, spec.index);
            let base = derive(root, &path)?;
            let base_pub = base.public_key(SECP256K1);
            let (script, branch) = if single {
                let tweak = single_tweak_value(&commit_point, &base_pub);
                let delayed = tweaked(single_tweak(&base, &tweak))?.public_key(SECP256K1);
                add_tweak(&mut input, TWEAK_SINGLE, tweak.to_vec());
                sequence = Sequence::from_height(TO_SELF_DELAY);
                (to_local_script(&other, &delayed), vec![])
            } else {
                let revocation = tweaked(double_tweak(&base, &commit_secret.secret_bytes()))?
                    .public_key(SECP256K1);
                add_tweak(
                    &mut input,
                    TWEAK_DOUBLE,
                    commit_secret.secret_bytes().to_vec(),
                );
                (to_local_script(&revocation, &other), vec![1])
            };
            fin.spent.script_pubkey = ScriptBuf::new_p2wsh(&script.wscript_hash());
            fin.script = Some(script.clone());
            fin.branch = Some(branch);
            input.witness_script = Some(script);
            input.bip32_derivation.insert(base_pub, key_source(&path));
        }
        InputKind::P2trBip86 => {
            let path = [86 + HARDENED, HARDENED, HARDENED, 0, spec.index];
            let pk = derive(root, &path)?.public_key(SECP256K1);
            let xonly = XOnlyPublicKey::from(pk);
            fin.spent.script_pubkey = ScriptBuf::new_p2tr(SECP256K1, xonly, None);
            input.bip32_derivation.insert(pk, key_source(&path));
            input
                .tap_key_origins
                .insert(xonly, (vec![], key_source(&path)));
        }
        InputKind::P2trKeyWithRoot => {
            let path = lnd_path(root, 4, spec.index);
            let base = derive(root, &path)?;
            let base_pub = base.public_key(SECP256K1);
            let tweak = single_tweak_value(&commit_point, &base_pub);
            let internal = tweaked(single_tweak(&base, &tweak))?.public_key(SECP256K1);
            let anchor_leaf = ScriptBuf::builder()
                .push_opcode(OP_PUSHNUM_16)
                .push_opcode(OP_CSV)
                .into_script();
            let root_hash = TapNodeHash::from_script(&anchor_leaf, LeafVersion::TapScript);
            fin.spent.script_pubkey =
                ScriptBuf::new_p2tr(SECP256K1, XOnlyPublicKey::from(internal), Some(root_hash));
            add_tweak(&mut input, TWEAK_SINGLE, tweak.to_vec());
            input.bip32_derivation.insert(base_pub, key_source(&path));
            input
                .tap_key_origins
                .insert(XOnlyPublicKey::from(base_pub), (vec![], key_source(&path)));
            input.tap_merkle_root = Some(root_hash);
        }
        InputKind::P2trScriptPath => {
            let path = lnd_path(root, 2, spec.index);
            let base = derive(root, &path)?;
            let base_pub = base.public_key(SECP256K1);
            let tweak = single_tweak_value(&commit_point, &base_pub);
            let signing = tweaked(single_tweak(&base, &tweak))?.public_key(SECP256K1);
            let leaf = ScriptBuf::builder()
                .push_slice(XOnlyPublicKey::from(signing).serialize())
                .push_opcode(OP_CHECKSIG)
                .into_script();
            let leaf_hash = TapLeafHash::from_script(&leaf, LeafVersion::TapScript);
            // Real output: an unrelated internal key with this single leaf.
            let internal = XOnlyPublicKey::from(other);
            let info = TaprootBuilder::new()
                .add_leaf(0, leaf.clone())
                .map_err(|e| FixtureError(e.to_string()))?
                .finalize(SECP256K1, internal)
                .map_err(|_| FixtureError("taproot tree".to_owned()))?;
            fin.spent.script_pubkey = ScriptBuf::new_p2tr(SECP256K1, internal, info.merkle_root());
            fin.control_block = info.control_block(&(leaf.clone(), LeafVersion::TapScript));
            fin.script = Some(leaf.clone());
            // rpcwallet's fake control block: the BASE key, its parity, no proof.
            let (base_xonly, parity) = base_pub.x_only_public_key();
            let fake = ControlBlock {
                leaf_version: LeafVersion::TapScript,
                output_key_parity: parity,
                internal_key: base_xonly,
                merkle_branch: Default::default(),
            };
            input
                .tap_scripts
                .insert(fake, (leaf.clone(), LeafVersion::TapScript));
            input.witness_script = Some(leaf);
            add_tweak(&mut input, TWEAK_SINGLE, tweak.to_vec());
            input.bip32_derivation.insert(base_pub, key_source(&path));
            input
                .tap_key_origins
                .insert(base_xonly, (vec![leaf_hash], key_source(&path)));
        }
    }
    input.witness_utxo = Some(fin.spent.clone());
    Ok((input, fin, sequence))
}

fn sign_psbt_request(id: u64, psbt: &Psbt) -> SignCoordinatorRequest {
    SignCoordinatorRequest {
        request_id: id,
        sign_request_type: Some(Req::SignPsbtRequest(SignPsbtRequest {
            funded_psbt: psbt.serialize(),
        })),
    }
}

/// The benchmark requests, valid for `root`: SharedKey (node key with raw key,
/// as the watch-only node sends it), SignMessage DER and Schnorr, SignPsbt
/// with one P2WKH input, one P2TR input and ten mixed inputs.
#[doc(hidden)]
pub fn bench_requests(root: &RootKey) -> Vec<(&'static str, SignCoordinatorRequest)> {
    let node_loc = Some(KeyLocator {
        key_family: 6,
        key_index: 0,
    });
    let node_pub = root
        .lnd_key(6, 0)
        .map(|k| k.public_key(SECP256K1).serialize().to_vec())
        .unwrap_or_default();
    let ephemeral = fixed_secret("bench ephemeral", 0).public_key(SECP256K1);
    let shared = SignCoordinatorRequest {
        request_id: 1,
        sign_request_type: Some(Req::SharedKeyRequest(SharedKeyRequest {
            ephemeral_pubkey: ephemeral.serialize().to_vec(),
            key_loc: None,
            key_desc: Some(KeyDescriptor {
                raw_key_bytes: node_pub,
                key_loc: node_loc,
            }),
        })),
    };
    let msg = |id, schnorr: bool| SignCoordinatorRequest {
        request_id: id,
        sign_request_type: Some(Req::SignMessageReq(SignMessageReq {
            msg: b"lnd-web-signer benchmark channel_update".to_vec(),
            key_loc: node_loc,
            double_hash: !schnorr,
            schnorr_sig: schnorr,
            ..Default::default()
        })),
    };
    let input = |kind, index| FixtureInput {
        kind,
        index,
        value: 100_000,
        sighash: match kind {
            InputKind::P2trBip86 | InputKind::P2trKeyWithRoot | InputKind::P2trScriptPath => None,
            _ => Some(1),
        },
    };
    // Derivations and tweaks of these fixed fixtures fail with probability ~2^-127.
    let build = |inputs: &[FixtureInput]| build_psbt(root, inputs).expect("bench fixture");
    let one_p2wkh = build(&[input(InputKind::P2wkh, 0)]);
    let one_p2tr = build(&[input(InputKind::P2trBip86, 0)]);
    let mixed: Vec<FixtureInput> = (0..10)
        .map(|i| input(InputKind::ALL[i % InputKind::ALL.len()], i as u32))
        .collect();
    let ten = build(&mixed);
    vec![
        ("shared_key", shared),
        ("sign_message_der", msg(2, false)),
        ("sign_message_schnorr", msg(3, true)),
        ("sign_psbt_p2wkh_1", sign_psbt_request(4, &one_p2wkh.psbt)),
        ("sign_psbt_p2tr_1", sign_psbt_request(5, &one_p2tr.psbt)),
        ("sign_psbt_mixed_10", sign_psbt_request(6, &ten.psbt)),
    ]
}
