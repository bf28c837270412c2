//! BIP-327 conformance checks against `vectors/bip/bip327/*.json`, run on
//! `lnd_web_signer::musig2::bip327` (the code behind MUSIG2_VERSION_V100RC2).
//!
//! Run by the driver of the same name in `tests/conformance/`, natively and
//! in headless Chromium: no file I/O, threads or clocks here. Each
//! `run_*` takes one vector file's contents and returns the number of cases
//! checked (valid and error cases), panicking on any mismatch.

use lnd_web_signer::musig2::bip327::{self, Bip327Error, SessionParams};
use serde_json::Value;

fn parse(json: &str, file: &str) -> Value {
    serde_json::from_str(json).unwrap_or_else(|e| panic!("{file}: not JSON: {e}"))
}

fn arr<'a>(v: &'a Value, key: &str, ctx: &str) -> &'a Vec<Value> {
    v.get(key)
        .and_then(Value::as_array)
        .unwrap_or_else(|| panic!("{ctx}: field {key:?} missing or not an array"))
}

fn hexb(v: &Value, ctx: &str) -> Vec<u8> {
    let s = v
        .as_str()
        .unwrap_or_else(|| panic!("{ctx}: not a string: {v}"));
    hex::decode(s).unwrap_or_else(|e| panic!("{ctx}: not hex ({e}): {s}"))
}

fn hex_field(v: &Value, key: &str, ctx: &str) -> Vec<u8> {
    hexb(
        v.get(key)
            .unwrap_or_else(|| panic!("{ctx}: missing field {key:?}")),
        &format!("{ctx}.{key}"),
    )
}

fn hex_list(v: &Value, key: &str, ctx: &str) -> Vec<Vec<u8>> {
    arr(v, key, ctx)
        .iter()
        .enumerate()
        .map(|(i, x)| hexb(x, &format!("{ctx}.{key}[{i}]")))
        .collect()
}

fn indices(v: &Value, key: &str, ctx: &str) -> Vec<usize> {
    arr(v, key, ctx)
        .iter()
        .map(|x| {
            x.as_u64()
                .unwrap_or_else(|| panic!("{ctx}: {key} entry not an index: {x}"))
                as usize
        })
        .collect()
}

fn index(v: &Value, key: &str, ctx: &str) -> usize {
    v.get(key)
        .and_then(Value::as_u64)
        .unwrap_or_else(|| panic!("{ctx}: field {key:?} missing or not an index")) as usize
}

fn bools(v: &Value, key: &str, ctx: &str) -> Vec<bool> {
    arr(v, key, ctx)
        .iter()
        .map(|x| {
            x.as_bool()
                .unwrap_or_else(|| panic!("{ctx}: {key} entry not a bool"))
        })
        .collect()
}

fn pick(list: &[Vec<u8>], idx: &[usize], ctx: &str) -> Vec<Vec<u8>> {
    idx.iter()
        .map(|&i| {
            list.get(i)
                .cloned()
                .unwrap_or_else(|| panic!("{ctx}: index {i} out of range"))
        })
        .collect()
}

fn upper(b: &[u8]) -> String {
    hex::encode_upper(b)
}

/// Compare a BIP-327 error with the vector's `error` object.
fn check_error(got: &Bip327Error, want: &Value, ctx: &str) {
    let ty = want.get("type").and_then(Value::as_str).unwrap_or("");
    match (ty, got) {
        ("invalid_contribution", Bip327Error::InvalidContribution { signer, contrib }) => {
            let want_signer = want
                .get("signer")
                .and_then(Value::as_u64)
                .map(|s| s as usize);
            let want_contrib = want.get("contrib").and_then(Value::as_str).unwrap_or("");
            assert_eq!(
                (*signer, *contrib),
                (want_signer, want_contrib),
                "{ctx}: wrong culprit"
            );
        }
        ("value", Bip327Error::Value(msg)) => {
            let want_msg = want.get("message").and_then(Value::as_str).unwrap_or("");
            assert_eq!(msg, want_msg, "{ctx}: wrong value error");
        }
        _ => panic!("{ctx}: expected error {want}, got {got:?}"),
    }
}

/// `key_sort_vectors.json`.
pub fn run_key_sort(json: &str) -> usize {
    let d = parse(json, "key_sort_vectors.json");
    let keys = hex_list(&d, "pubkeys", "key_sort");
    let want = hex_list(&d, "sorted_pubkeys", "key_sort");
    let got = bip327::key_sort(&keys).expect("key_sort: valid keys");
    let got: Vec<Vec<u8>> = got.iter().map(|k| k.to_vec()).collect();
    assert_eq!(got, want, "key_sort: order differs");
    1
}

/// `key_agg_vectors.json`.
pub fn run_key_agg(json: &str) -> usize {
    let d = parse(json, "key_agg_vectors.json");
    let keys = hex_list(&d, "pubkeys", "key_agg");
    let tweaks = hex_list(&d, "tweaks", "key_agg");
    let mut n = 0;
    for (i, c) in arr(&d, "valid_test_cases", "key_agg").iter().enumerate() {
        let ctx = format!("key_agg valid[{i}]");
        let pk = pick(&keys, &indices(c, "key_indices", &ctx), &ctx);
        let got = bip327::key_agg(&pk, &[], &[]).unwrap_or_else(|e| panic!("{ctx}: {e}"));
        assert_eq!(upper(&got), upper(&hex_field(c, "expected", &ctx)), "{ctx}");
        n += 1;
    }
    for (i, c) in arr(&d, "error_test_cases", "key_agg").iter().enumerate() {
        let ctx = format!("key_agg error[{i}]");
        let pk = pick(&keys, &indices(c, "key_indices", &ctx), &ctx);
        let tw = pick(&tweaks, &indices(c, "tweak_indices", &ctx), &ctx);
        let xo = bools(c, "is_xonly", &ctx);
        let err = bip327::key_agg(&pk, &tw, &xo).expect_err(&ctx);
        check_error(&err, &c["error"], &ctx);
        n += 1;
    }
    n
}

fn opt_hex(c: &Value, key: &str, ctx: &str) -> Option<Vec<u8>> {
    match c.get(key) {
        None | Some(Value::Null) => None,
        Some(v) => Some(hexb(v, &format!("{ctx}.{key}"))),
    }
}

/// `nonce_gen_vectors.json`.
pub fn run_nonce_gen(json: &str) -> usize {
    let d = parse(json, "nonce_gen_vectors.json");
    let mut n = 0;
    for (i, c) in arr(&d, "test_cases", "nonce_gen").iter().enumerate() {
        let ctx = format!("nonce_gen[{i}]");
        let rand: [u8; 32] = hex_field(c, "rand_", &ctx)
            .try_into()
            .unwrap_or_else(|_| panic!("{ctx}: rand_ not 32 bytes"));
        let sk = opt_hex(c, "sk", &ctx);
        let pk = hex_field(c, "pk", &ctx);
        let aggpk = opt_hex(c, "aggpk", &ctx);
        let msg = opt_hex(c, "msg", &ctx);
        let extra = opt_hex(c, "extra_in", &ctx);
        let (sec, public) = bip327::nonce_gen(
            &rand,
            sk.as_deref(),
            &pk,
            aggpk.as_deref(),
            msg.as_deref(),
            extra.as_deref(),
        )
        .unwrap_or_else(|e| panic!("{ctx}: {e}"));
        assert_eq!(
            upper(&sec),
            upper(&hex_field(c, "expected_secnonce", &ctx)),
            "{ctx} secnonce"
        );
        assert_eq!(
            upper(&public),
            upper(&hex_field(c, "expected_pubnonce", &ctx)),
            "{ctx} pubnonce"
        );
        n += 1;
    }
    n
}

/// `nonce_agg_vectors.json`.
pub fn run_nonce_agg(json: &str) -> usize {
    let d = parse(json, "nonce_agg_vectors.json");
    let nonces = hex_list(&d, "pnonces", "nonce_agg");
    let mut n = 0;
    for (i, c) in arr(&d, "valid_test_cases", "nonce_agg").iter().enumerate() {
        let ctx = format!("nonce_agg valid[{i}]");
        let pn = pick(&nonces, &indices(c, "pnonce_indices", &ctx), &ctx);
        let got = bip327::nonce_agg(&pn).unwrap_or_else(|e| panic!("{ctx}: {e}"));
        assert_eq!(upper(&got), upper(&hex_field(c, "expected", &ctx)), "{ctx}");
        n += 1;
    }
    for (i, c) in arr(&d, "error_test_cases", "nonce_agg").iter().enumerate() {
        let ctx = format!("nonce_agg error[{i}]");
        let pn = pick(&nonces, &indices(c, "pnonce_indices", &ctx), &ctx);
        let err = bip327::nonce_agg(&pn).expect_err(&ctx);
        check_error(&err, &c["error"], &ctx);
        n += 1;
    }
    n
}

/// `sign_verify_vectors.json`: valid signing, sign errors, verification
/// failures and verification errors.
pub fn run_sign_verify(json: &str) -> usize {
    let d = parse(json, "sign_verify_vectors.json");
    let ctx0 = "sign_verify";
    let sk = hex_field(&d, "sk", ctx0);
    let keys = hex_list(&d, "pubkeys", ctx0);
    let secnonces = hex_list(&d, "secnonces", ctx0);
    let pnonces = hex_list(&d, "pnonces", ctx0);
    let aggnonces = hex_list(&d, "aggnonces", ctx0);
    let msgs = hex_list(&d, "msgs", ctx0);
    let mut n = 0;
    for (i, c) in arr(&d, "valid_test_cases", ctx0).iter().enumerate() {
        let ctx = format!("sign_verify valid[{i}]");
        let pk = pick(&keys, &indices(c, "key_indices", &ctx), &ctx);
        let pn = pick(&pnonces, &indices(c, "nonce_indices", &ctx), &ctx);
        let agg = &aggnonces[index(c, "aggnonce_index", &ctx)];
        let msg = &msgs[index(c, "msg_index", &ctx)];
        let signer = index(c, "signer_index", &ctx);
        // The aggregate nonce of the case is the sum of its nonces.
        assert_eq!(
            upper(&bip327::nonce_agg(&pn).unwrap_or_else(|e| panic!("{ctx}: {e}"))),
            upper(agg),
            "{ctx}: aggnonce"
        );
        let params = SessionParams {
            pubkeys: &pk,
            tweaks: &[],
            is_xonly: &[],
            msg,
        };
        let want = hex_field(c, "expected", &ctx);
        let got =
            bip327::sign(&secnonces[0], &sk, agg, &params).unwrap_or_else(|e| panic!("{ctx}: {e}"));
        assert_eq!(upper(&got), upper(&want), "{ctx}: partial signature");
        let ok = bip327::partial_sig_verify(&want, &pn, &params, signer)
            .unwrap_or_else(|e| panic!("{ctx}: {e}"));
        assert!(ok, "{ctx}: expected signature does not verify");
        n += 1;
    }
    for (i, c) in arr(&d, "sign_error_test_cases", ctx0).iter().enumerate() {
        let ctx = format!("sign_verify sign_error[{i}]");
        let pk = pick(&keys, &indices(c, "key_indices", &ctx), &ctx);
        let agg = &aggnonces[index(c, "aggnonce_index", &ctx)];
        let msg = &msgs[index(c, "msg_index", &ctx)];
        let secnonce = &secnonces[index(c, "secnonce_index", &ctx)];
        let params = SessionParams {
            pubkeys: &pk,
            tweaks: &[],
            is_xonly: &[],
            msg,
        };
        let err = bip327::sign(secnonce, &sk, agg, &params).expect_err(&ctx);
        check_error(&err, &c["error"], &ctx);
        n += 1;
    }
    for (i, c) in arr(&d, "verify_fail_test_cases", ctx0).iter().enumerate() {
        let ctx = format!("sign_verify verify_fail[{i}]");
        let pk = pick(&keys, &indices(c, "key_indices", &ctx), &ctx);
        let pn = pick(&pnonces, &indices(c, "nonce_indices", &ctx), &ctx);
        let msg = &msgs[index(c, "msg_index", &ctx)];
        let params = SessionParams {
            pubkeys: &pk,
            tweaks: &[],
            is_xonly: &[],
            msg,
        };
        let ok = bip327::partial_sig_verify(
            &hex_field(c, "sig", &ctx),
            &pn,
            &params,
            index(c, "signer_index", &ctx),
        )
        .unwrap_or_else(|e| panic!("{ctx}: {e}"));
        assert!(!ok, "{ctx}: an invalid partial signature verified");
        n += 1;
    }
    for (i, c) in arr(&d, "verify_error_test_cases", ctx0).iter().enumerate() {
        let ctx = format!("sign_verify verify_error[{i}]");
        let pk = pick(&keys, &indices(c, "key_indices", &ctx), &ctx);
        let pn = pick(&pnonces, &indices(c, "nonce_indices", &ctx), &ctx);
        let msg = &msgs[index(c, "msg_index", &ctx)];
        let params = SessionParams {
            pubkeys: &pk,
            tweaks: &[],
            is_xonly: &[],
            msg,
        };
        let err = bip327::partial_sig_verify(
            &hex_field(c, "sig", &ctx),
            &pn,
            &params,
            index(c, "signer_index", &ctx),
        )
        .expect_err(&ctx);
        check_error(&err, &c["error"], &ctx);
        n += 1;
    }
    n
}

/// `tweak_vectors.json`.
pub fn run_tweak(json: &str) -> usize {
    let d = parse(json, "tweak_vectors.json");
    let ctx0 = "tweak";
    let sk = hex_field(&d, "sk", ctx0);
    let keys = hex_list(&d, "pubkeys", ctx0);
    let secnonce = hex_field(&d, "secnonce", ctx0);
    let pnonces = hex_list(&d, "pnonces", ctx0);
    let aggnonce = hex_field(&d, "aggnonce", ctx0);
    let tweaks = hex_list(&d, "tweaks", ctx0);
    let msg = hex_field(&d, "msg", ctx0);
    let mut n = 0;
    for (i, c) in arr(&d, "valid_test_cases", ctx0).iter().enumerate() {
        let ctx = format!("tweak valid[{i}]");
        let pk = pick(&keys, &indices(c, "key_indices", &ctx), &ctx);
        let pn = pick(&pnonces, &indices(c, "nonce_indices", &ctx), &ctx);
        let tw = pick(&tweaks, &indices(c, "tweak_indices", &ctx), &ctx);
        let xo = bools(c, "is_xonly", &ctx);
        assert_eq!(
            upper(&bip327::nonce_agg(&pn).unwrap_or_else(|e| panic!("{ctx}: {e}"))),
            upper(&aggnonce),
            "{ctx}: aggnonce"
        );
        let params = SessionParams {
            pubkeys: &pk,
            tweaks: &tw,
            is_xonly: &xo,
            msg: &msg,
        };
        let want = hex_field(c, "expected", &ctx);
        let got = bip327::sign(&secnonce, &sk, &aggnonce, &params)
            .unwrap_or_else(|e| panic!("{ctx}: {e}"));
        assert_eq!(upper(&got), upper(&want), "{ctx}: partial signature");
        let ok = bip327::partial_sig_verify(&want, &pn, &params, index(c, "signer_index", &ctx))
            .unwrap_or_else(|e| panic!("{ctx}: {e}"));
        assert!(ok, "{ctx}: expected signature does not verify");
        n += 1;
    }
    for (i, c) in arr(&d, "error_test_cases", ctx0).iter().enumerate() {
        let ctx = format!("tweak error[{i}]");
        let pk = pick(&keys, &indices(c, "key_indices", &ctx), &ctx);
        let tw = pick(&tweaks, &indices(c, "tweak_indices", &ctx), &ctx);
        let xo = bools(c, "is_xonly", &ctx);
        let params = SessionParams {
            pubkeys: &pk,
            tweaks: &tw,
            is_xonly: &xo,
            msg: &msg,
        };
        let err = bip327::sign(&secnonce, &sk, &aggnonce, &params).expect_err(&ctx);
        check_error(&err, &c["error"], &ctx);
        n += 1;
    }
    n
}

/// `sig_agg_vectors.json`.
pub fn run_sig_agg(json: &str) -> usize {
    let d = parse(json, "sig_agg_vectors.json");
    let ctx0 = "sig_agg";
    let keys = hex_list(&d, "pubkeys", ctx0);
    let pnonces = hex_list(&d, "pnonces", ctx0);
    let tweaks = hex_list(&d, "tweaks", ctx0);
    let psigs = hex_list(&d, "psigs", ctx0);
    let msg = hex_field(&d, "msg", ctx0);
    let mut n = 0;
    for (i, c) in arr(&d, "valid_test_cases", ctx0).iter().enumerate() {
        let ctx = format!("sig_agg valid[{i}]");
        let pk = pick(&keys, &indices(c, "key_indices", &ctx), &ctx);
        let pn = pick(&pnonces, &indices(c, "nonce_indices", &ctx), &ctx);
        let tw = pick(&tweaks, &indices(c, "tweak_indices", &ctx), &ctx);
        let xo = bools(c, "is_xonly", &ctx);
        let ps = pick(&psigs, &indices(c, "psig_indices", &ctx), &ctx);
        let agg = hex_field(c, "aggnonce", &ctx);
        assert_eq!(
            upper(&bip327::nonce_agg(&pn).unwrap_or_else(|e| panic!("{ctx}: {e}"))),
            upper(&agg),
            "{ctx}: aggnonce"
        );
        let params = SessionParams {
            pubkeys: &pk,
            tweaks: &tw,
            is_xonly: &xo,
            msg: &msg,
        };
        let got =
            bip327::partial_sig_agg(&ps, &agg, &params).unwrap_or_else(|e| panic!("{ctx}: {e}"));
        let want = hex_field(c, "expected", &ctx);
        assert_eq!(upper(&got), upper(&want), "{ctx}: signature");
        let q: [u8; 32] = bip327::key_agg(&pk, &tw, &xo).unwrap_or_else(|e| panic!("{ctx}: {e}"));
        assert!(
            bip327::verify_bip340(&q, &msg, &got),
            "{ctx}: BIP-340 verification"
        );
        n += 1;
    }
    for (i, c) in arr(&d, "error_test_cases", ctx0).iter().enumerate() {
        let ctx = format!("sig_agg error[{i}]");
        let pk = pick(&keys, &indices(c, "key_indices", &ctx), &ctx);
        let tw = pick(&tweaks, &indices(c, "tweak_indices", &ctx), &ctx);
        let xo = bools(c, "is_xonly", &ctx);
        let ps = pick(&psigs, &indices(c, "psig_indices", &ctx), &ctx);
        let params = SessionParams {
            pubkeys: &pk,
            tweaks: &tw,
            is_xonly: &xo,
            msg: &msg,
        };
        let err =
            bip327::partial_sig_agg(&ps, &hex_field(c, "aggnonce", &ctx), &params).expect_err(&ctx);
        check_error(&err, &c["error"], &ctx);
        n += 1;
    }
    n
}

/// `det_sign_vectors.json` (DeterministicSign).
pub fn run_det_sign(json: &str) -> usize {
    let d = parse(json, "det_sign_vectors.json");
    let ctx0 = "det_sign";
    let sk = hex_field(&d, "sk", ctx0);
    let keys = hex_list(&d, "pubkeys", ctx0);
    let msgs = hex_list(&d, "msgs", ctx0);
    let mut n = 0;
    let run = |c: &Value, ctx: &str| {
        let pk = pick(&keys, &indices(c, "key_indices", ctx), ctx);
        let tw = hex_list(c, "tweaks", ctx);
        let xo = bools(c, "is_xonly", ctx);
        let msg = &msgs[index(c, "msg_index", ctx)];
        let rand: Option<[u8; 32]> = opt_hex(c, "rand", ctx).map(|r| {
            r.try_into()
                .unwrap_or_else(|_| panic!("{ctx}: rand not 32 bytes"))
        });
        let params = SessionParams {
            pubkeys: &pk,
            tweaks: &tw,
            is_xonly: &xo,
            msg,
        };
        (bip327::deterministic_sign(
            &sk,
            &hex_field(c, "aggothernonce", ctx),
            &params,
            rand.as_ref(),
        ),)
    };
    for (i, c) in arr(&d, "valid_test_cases", ctx0).iter().enumerate() {
        let ctx = format!("det_sign valid[{i}]");
        let (res, ..) = run(c, &ctx);
        let (pubnonce, psig) = res.unwrap_or_else(|e| panic!("{ctx}: {e}"));
        let want = arr(c, "expected", &ctx);
        assert_eq!(
            upper(&pubnonce),
            upper(&hexb(&want[0], &ctx)),
            "{ctx}: pubnonce"
        );
        assert_eq!(
            upper(&psig),
            upper(&hexb(&want[1], &ctx)),
            "{ctx}: partial signature"
        );
        n += 1;
    }
    for (i, c) in arr(&d, "error_test_cases", ctx0).iter().enumerate() {
        let ctx = format!("det_sign error[{i}]");
        let (res, ..) = run(c, &ctx);
        let err = res.expect_err(&ctx);
        check_error(&err, &c["error"], &ctx);
        n += 1;
    }
    n
}
