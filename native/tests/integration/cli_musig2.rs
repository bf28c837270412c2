//! End-to-end MuSig2 through `lnd-web-signer handle`: one long-running
//! process answers a JSONL conversation CreateSession → RegisterNonces →
//! Sign → CombineSig (sessions live in the process), for 2-of-2 and 3-of-3
//! with BIP-86, script-root and generic tweaks. The other signers' nonces
//! and partial signatures are computed here with the `musig2` crate; the
//! final signature must verify as BIP-340 under the returned combined key.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use lnd_web_signer::keys::{Network, RootKey};
use musig2::secp::{Point, Scalar};
use musig2::{AggNonce, KeyAggContext, PartialSignature, PubNonce, SecNonce};
use serde_json::{json, Value};

const BIN: &str = env!("CARGO_BIN_EXE_lnd-web-signer");
/// The itest root key of lnd's remote-signing test (ecdh.json).
use lnd_web_signer_testkit::DEMO_TPRV as TPRV;
const FAMILY: u32 = 0;
const INDEX: u32 = 3;

struct Handle {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    next_id: u64,
    _dir: tempfile::TempDir,
}

impl Handle {
    fn start() -> Handle {
        let dir = tempfile::tempdir().expect("temp dir");
        let seed = dir.path().join("seed.txt");
        std::fs::write(&seed, TPRV).expect("write seed file");
        let mut child = Command::new(BIN)
            .arg("handle")
            .arg("--seed-file")
            .arg(&seed)
            .arg("--network")
            .arg("regtest")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn lnd-web-signer handle");
        let stdin = child.stdin.take().expect("stdin");
        let stdout = BufReader::new(child.stdout.take().expect("stdout"));
        Handle {
            child,
            stdin,
            stdout,
            next_id: 2,
            _dir: dir,
        }
    }

    /// Send one request member (`{"<member>": body}`) and return the
    /// response member's body, panicking on a `signerError`.
    fn call(&mut self, member: &str, body: Value) -> Value {
        let id = self.next_id;
        self.next_id += 1;
        let mut req = json!({ "requestId": id.to_string() });
        req[member] = body;
        writeln!(self.stdin, "{req}").expect("write request line");
        self.stdin.flush().expect("flush");
        let mut line = String::new();
        self.stdout
            .read_line(&mut line)
            .expect("read response line");
        let resp: Value =
            serde_json::from_str(&line).unwrap_or_else(|e| panic!("response {line:?}: {e}"));
        assert_eq!(resp["refRequestId"], json!(id.to_string()), "{line}");
        if let Some(e) = resp.get("signerError") {
            panic!("{member}: signer error {e}");
        }
        resp.as_object()
            .and_then(|o| o.iter().find(|(k, _)| *k != "refRequestId"))
            .map(|(_, v)| v.clone())
            .unwrap_or_else(|| panic!("{member}: no response member in {line}"))
    }

    fn finish(mut self) {
        drop(self.stdin);
        let status = self.child.wait().expect("wait");
        assert!(status.success(), "handle exited with {status}");
    }
}

fn b64(b: &[u8]) -> String {
    STANDARD.encode(b)
}

fn unb64(v: &Value) -> Vec<u8> {
    STANDARD
        .decode(
            v.as_str()
                .unwrap_or_else(|| panic!("not a base64 string: {v}")),
        )
        .expect("base64")
}

#[derive(Clone, Debug)]
enum Tweak {
    Bip86,
    Root([u8; 32]),
    Generic(Vec<([u8; 32], bool)>),
}

impl Tweak {
    fn json(&self, req: &mut Value) {
        match self {
            Tweak::Bip86 => req["taprootTweak"] = json!({ "keySpendOnly": true }),
            Tweak::Root(r) => req["taprootTweak"] = json!({ "scriptRoot": b64(r) }),
            Tweak::Generic(ts) => {
                req["tweaks"] = ts
                    .iter()
                    .map(|(t, x)| json!({ "tweak": b64(t), "isXOnly": x }))
                    .collect::<Vec<_>>()
                    .into()
            }
        }
    }

    fn context(&self, keys: &[Point]) -> KeyAggContext {
        let mut keys = keys.to_vec();
        keys.sort_by_key(Point::serialize);
        let ctx = KeyAggContext::new(keys).expect("key agg");
        match self {
            Tweak::Bip86 => ctx.with_unspendable_taproot_tweak().expect("bip86"),
            Tweak::Root(r) => ctx.with_taproot_tweak(r).expect("script root"),
            Tweak::Generic(ts) => ts.iter().fold(ctx, |c, (t, x)| {
                c.with_tweak(Scalar::from_slice(t).expect("tweak"), *x)
                    .expect("tweak applies")
            }),
        }
    }
}

fn our_pubkey() -> Point {
    let root = RootKey::from_xprv(TPRV, Network::Regtest).expect("root key");
    let sk = root.lnd_key(FAMILY, INDEX).expect("lnd key");
    Scalar::from_slice(&sk.secret_bytes())
        .expect("scalar")
        .base_point_mul()
}

fn run(h: &mut Handle, n: u8, tweak: Tweak) {
    let digest = [0x61u8 ^ n; 32];
    let peers: Vec<(Scalar, SecNonce, PubNonce)> = (0..n - 1)
        .map(|i| {
            let sk = Scalar::from_slice(&[0x20 + i; 32]).expect("peer key");
            let sn = SecNonce::build_with_seckey([0x40 + i; 32], sk).build();
            let pn = sn.public_nonce();
            (sk, sn, pn)
        })
        .collect();
    let mut keys = vec![our_pubkey()];
    keys.extend(peers.iter().map(|p| p.0.base_point_mul()));
    let nonces: Vec<String> = peers.iter().map(|p| b64(&p.2.serialize())).collect();
    let (first, rest) = nonces.split_at(1);
    let mut create = json!({
        "keyLoc": { "keyFamily": FAMILY, "keyIndex": INDEX },
        "allSignerPubkeys": keys.iter().rev().map(|k| b64(&k.serialize())).collect::<Vec<_>>(),
        "otherSignerPublicNonces": first,
        "version": "MUSIG2_VERSION_V100RC2",
    });
    tweak.json(&mut create);
    let session = h.call("muSig2SessionRequest", create);
    let id = session["sessionId"].clone();
    assert_eq!(unb64(&id).len(), 32);
    assert_eq!(session["version"], json!("MUSIG2_VERSION_V100RC2"));
    let ctx = tweak.context(&keys);
    let q: Point = ctx.aggregated_pubkey();
    assert_eq!(
        unb64(&session["combinedKey"]),
        q.serialize_xonly().to_vec(),
        "{tweak:?}"
    );
    if !rest.is_empty() {
        assert_eq!(
            session.get("haveAllNonces"),
            None,
            "default false is omitted"
        );
        let r = h.call(
            "muSig2RegisterNoncesRequest",
            json!({ "sessionId": id, "otherSignerPublicNonces": rest }),
        );
        assert_eq!(r["haveAllNonces"], json!(true));
    } else {
        assert_eq!(session["haveAllNonces"], json!(true));
    }
    let ours = PubNonce::from_bytes(&unb64(&session["localPublicNonces"])).expect("our nonce");
    let mut all = vec![ours];
    all.extend(peers.iter().map(|p| p.2.clone()));
    let agg = AggNonce::sum(&all);
    let got = h.call("muSig2GetCombinedNoncesReq", json!({ "sessionId": id }));
    assert_eq!(unb64(&got["combinedPublicNonce"]), agg.serialize().to_vec());
    let signed = h.call(
        "muSig2SignRequest",
        json!({ "sessionId": id, "messageDigest": b64(&digest) }),
    );
    assert_eq!(unb64(&signed["localPartialSignature"]).len(), 32);
    let others: Vec<String> = peers
        .into_iter()
        .map(|(sk, sn, _)| {
            let s: PartialSignature =
                musig2::sign_partial(&ctx, sk, sn, &agg, digest).expect("peer signs");
            b64(&s.serialize())
        })
        .collect();
    let done = h.call(
        "muSig2CombineSigRequest",
        json!({ "sessionId": id, "otherPartialSignatures": others }),
    );
    assert_eq!(done["haveAllSignatures"], json!(true));
    let sig = unb64(&done["finalSignature"]);
    assert_eq!(sig.len(), 64);
    musig2::verify_single(q, sig.as_slice(), digest).expect("final signature verifies as BIP-340");
}

#[test]
fn musig2_jsonl_two_and_three_signers_all_tweaks() {
    let mut h = Handle::start();
    for n in [2u8, 3] {
        run(&mut h, n, Tweak::Bip86);
        run(&mut h, n, Tweak::Root([0x5c; 32]));
        run(
            &mut h,
            n,
            Tweak::Generic(vec![([0x11; 32], true), ([0x22; 32], false)]),
        );
    }
    h.finish();
}

#[test]
fn musig2_jsonl_errors_are_signer_errors() {
    let mut h = Handle::start();
    // Version 0 and a 31-byte session id: lnd's errors, process goes on.
    for (member, body, needle) in [
        (
            "muSig2SessionRequest",
            json!({ "keyLoc": { "keyFamily": 0, "keyIndex": 0 } }),
            "the version field is mandatory",
        ),
        (
            "muSig2SignRequest",
            json!({ "sessionId": b64(&[1; 31]), "messageDigest": b64(&[0; 32]) }),
            "invalid session ID size, got 31 but expected 32",
        ),
    ] {
        let id = h.next_id;
        h.next_id += 1;
        let mut req = json!({ "requestId": id.to_string() });
        req[member] = body;
        writeln!(h.stdin, "{req}").expect("write");
        h.stdin.flush().expect("flush");
        let mut line = String::new();
        h.stdout.read_line(&mut line).expect("read");
        let resp: Value = serde_json::from_str(&line).expect("json");
        let err = resp["signerError"]["error"]
            .as_str()
            .unwrap_or_else(|| panic!("{line}"));
        assert!(err.contains(needle), "{err}");
    }
    h.finish();
}
