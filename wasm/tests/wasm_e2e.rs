//! End to end in headless Chromium: the wasm signer (through its JS API:
//! `UnlockedSigner.connect`, `onStatus`, `disconnect`) against a running
//! `signer-bridge --grpc-web` in front of `watchonly-sim`.
//!
//! The harness (scripts/e2e.sh) starts both and passes, at compile time:
//!
//! | variable | meaning | default |
//! |---|---|---|
//! | `LWS_E2E_BRIDGE_URL` | grpc-web base URL of the bridge | (required) |
//! | `LWS_E2E_MACAROON_HEX` | macaroon the sim expects, hex (empty: none) | (required) |
//! | `LWS_E2E_SEED` | seed file contents: 24 aezeed words or one xprv/tprv | lnd itest's regtest tprv |
//! | `LWS_E2E_SEED_PASSPHRASE` | aezeed passphrase | empty |
//! | `LWS_E2E_NETWORK` | network of the seed and the sim | `regtest` |
//! | `LWS_E2E_MIN_REQUESTS` | signing requests (pings excluded) to wait for | `5` |
//! | `LWS_E2E_TIMEOUT_MS` | give up after | `120000` |
//!
//! The page's origin must be allowed by the bridge (`--allow-origin`): fix it
//! with `WASM_BINDGEN_TEST_ADDRESS=127.0.0.1:PORT` when running
//! `cargo test --profile wasm-test -p lnd-web-signer-wasm --target wasm32-unknown-unknown --test wasm_e2e`.
//! Without the two required variables the test fails (it is not meant to
//! run outside the harness).
#![cfg(target_arch = "wasm32")]

use std::cell::RefCell;
use std::rc::Rc;

use js_sys::{Function, Reflect};
use lnd_web_signer_wasm::host;
use lnd_web_signer_wasm::UnlockedSigner;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_browser);

// lnd itest's regtest root key (vectors/lnd/remote_signing_accounts.json).
use lnd_web_signer_testkit::DEMO_TPRV as DEFAULT_SEED;

fn setting(value: Option<&'static str>, default: &'static str) -> &'static str {
    value.filter(|v| !v.is_empty()).unwrap_or(default)
}

fn prop(obj: &JsValue, name: &str) -> JsValue {
    Reflect::get(obj, &JsValue::from_str(name)).unwrap_or(JsValue::UNDEFINED)
}

fn kind(status: &JsValue) -> String {
    prop(status, "kind").as_string().unwrap_or_default()
}

fn seed_object(seed: &str, passphrase: &str, network: &str) -> JsValue {
    let obj = js_sys::Object::new();
    let set = |k: &str, v: JsValue| {
        Reflect::set(&obj, &JsValue::from_str(k), &v).expect("set");
    };
    set("network", network.into());
    let words: Vec<&str> = seed.split_whitespace().collect();
    if words.len() == 1 {
        set("xprv", words[0].into());
    } else {
        set("mnemonic", words.join(" ").into());
        set("aezeedPassphrase", passphrase.into());
    }
    obj.into()
}

#[wasm_bindgen_test]
async fn signer_serves_watchonly_sim_through_the_bridge() {
    let (Some(url), Some(macaroon)) = (
        option_env!("LWS_E2E_BRIDGE_URL"),
        option_env!("LWS_E2E_MACAROON_HEX"),
    ) else {
        panic!(
            "LWS_E2E_BRIDGE_URL and LWS_E2E_MACAROON_HEX were not set when this test was \
             compiled: run it through scripts/e2e.sh (it starts signer-bridge and watchonly-sim)"
        );
    };
    let network = setting(option_env!("LWS_E2E_NETWORK"), "regtest");
    let seed = setting(option_env!("LWS_E2E_SEED"), DEFAULT_SEED);
    let passphrase = option_env!("LWS_E2E_SEED_PASSPHRASE").unwrap_or("");
    let min_requests: f64 = setting(option_env!("LWS_E2E_MIN_REQUESTS"), "5")
        .parse()
        .expect("LWS_E2E_MIN_REQUESTS is a number");
    let timeout_ms: f64 = setting(option_env!("LWS_E2E_TIMEOUT_MS"), "120000")
        .parse()
        .expect("LWS_E2E_TIMEOUT_MS is a number");

    let signer = UnlockedSigner::from_seed(
        seed_object(seed, passphrase, network).unchecked_into(),
        None,
    )
    .unwrap_or_else(|e| panic!("seed: {:?}", JsValue::from(e)));

    // onStatus as a page would pass it: a JS function receiving objects.
    let seen: Rc<RefCell<Vec<JsValue>>> = Rc::new(RefCell::new(Vec::new()));
    let sink = Rc::clone(&seen);
    let on_status = Closure::<dyn FnMut(JsValue)>::new(move |s: JsValue| {
        sink.borrow_mut().push(s);
    });
    let callback: Function = on_status.as_ref().clone().unchecked_into();
    let conn = signer
        .connect(
            url.to_owned(),
            Some(macaroon.to_owned()),
            Some(callback.unchecked_into()),
            None,
        )
        .unwrap_or_else(|e| panic!("connect: {:?}", JsValue::from(e)));

    let start = host::now_ms();
    loop {
        let handled = seen
            .borrow()
            .iter()
            .filter(|s| kind(s) == "request")
            .count() as f64;
        if handled >= min_requests {
            break;
        }
        if host::now_ms() - start > timeout_ms {
            let kinds: Vec<String> = seen.borrow().iter().map(kind).collect();
            let errors: Vec<String> = seen
                .borrow()
                .iter()
                .filter(|s| kind(s) == "error")
                .map(|s| prop(s, "reason").as_string().unwrap_or_default())
                .collect();
            panic!(
                "only {handled} of {min_requests} requests handled after {timeout_ms} ms; \
                 statuses {kinds:?}; errors {errors:?}"
            );
        }
        host::sleep(core::time::Duration::from_millis(50)).await;
    }
    JsFuture::from(conn.disconnect())
        .await
        .expect("disconnect resolves");

    let statuses = seen.borrow();
    let kinds: Vec<String> = statuses.iter().map(kind).collect();
    assert_eq!(
        &kinds[..2],
        ["connecting", "registered"],
        "status sequence {kinds:?}"
    );
    assert_eq!(prop(&statuses[0], "url").as_string().as_deref(), Some(url));
    assert_eq!(kinds.last().map(String::as_str), Some("disconnected"));
    let requests: Vec<&JsValue> = statuses.iter().filter(|s| kind(s) == "request").collect();
    assert!(requests.len() as f64 >= min_requests);
    for r in &requests {
        let id: u64 = prop(r, "id")
            .as_string()
            .and_then(|s| s.parse().ok())
            .expect("request id, a decimal string");
        assert!(id >= 2, "request ids start at 2, got {id}");
        assert!(prop(r, "requestKind")
            .as_string()
            .is_some_and(|k| !k.is_empty()));
        let latency = prop(r, "latencyMs").as_f64().expect("latency");
        assert!((0.0..5000.0).contains(&latency), "latency {latency} ms");
    }
    assert!(
        requests.iter().any(|r| prop(r, "error").is_null()),
        "no request was answered without an error"
    );
    let stats: JsValue = conn.stats().expect("stats").into();
    assert_eq!(prop(&stats, "running").as_bool(), Some(false));
    assert!(prop(&stats, "requests").as_f64().expect("requests") >= min_requests);
    drop(on_status);
}
