//! The wasm signer in a dedicated Worker (no `window`): timers, clock,
//! randomness, the global `fetch`, the grpc-web transport and the signer
//! loop must work from `WorkerGlobalScope` exactly as in a page.
//!
//! `cargo test --profile wasm-test -p lnd-web-signer-wasm --target wasm32-unknown-unknown --test wasm_worker`
#![cfg(target_arch = "wasm32")]

use std::time::Duration;

use lnd_web_signer::proto::signerbridge::signer_bridge_client::SignerBridgeClient;
use lnd_web_signer::proto::signerbridge::AttachRequest;
use lnd_web_signer_wasm::host;
use lnd_web_signer_wasm::transport::FetchTransport;
use wasm_bindgen::JsValue;
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_dedicated_worker);

// Shared with wasm.rs; these modules read the vector constants below.
pub(crate) const AEZEED_JSON: &str = include_str!("../../../shared/vectors/lnd/aezeed.json");
pub(crate) const ACCOUNTS_JSON: &str =
    include_str!("../../../shared/vectors/lnd/remote_signing_accounts.json");

#[path = "wasm_support/api.rs"]
mod api;
#[path = "wasm_support/fake_bridge.rs"]
mod fake_bridge;
#[path = "wasm_support/signer_loop.rs"]
mod signer_loop;
#[path = "wasm_support/transport.rs"]
mod transport;

fn global_has(name: &str) -> bool {
    js_sys::Reflect::has(&js_sys::global(), &JsValue::from_str(name)).unwrap_or(false)
}

#[wasm_bindgen_test]
fn runs_in_a_worker_scope() {
    assert!(!global_has("window"), "this binary must run in a worker");
    assert!(!global_has("document"));
    assert!(
        global_has("WorkerGlobalScope") && global_has("importScripts") || global_has("postMessage")
    );
}

#[wasm_bindgen_test]
async fn timers_and_clock_use_the_global_object() {
    let t0 = host::now_ms();
    host::sleep(Duration::from_millis(30)).await;
    let dt = host::now_ms() - t0;
    assert!(dt >= 25.0, "slept only {dt} ms");
    assert!(host::random_u32() != host::random_u32() || host::random_u32() != 0);
}

#[wasm_bindgen_test]
async fn global_fetch_is_used_without_window() {
    // The test runner's own origin: POSTing a gRPC path there reaches the
    // global fetch and comes back as a plain HTTP error or a non-grpc-web
    // answer, which the transport reports as such.
    let location =
        js_sys::Reflect::get(&js_sys::global(), &JsValue::from_str("location")).expect("location");
    let origin = js_sys::Reflect::get(&location, &JsValue::from_str("origin"))
        .expect("origin")
        .as_string()
        .expect("origin string");
    let mut client = SignerBridgeClient::new(FetchTransport::new(&origin));
    let err = client
        .attach(AttachRequest::default())
        .await
        .expect_err("the test server is not a bridge");
    assert!(
        err.message().contains("bridge answered HTTP")
            || err.message().contains("unexpected response content-type"),
        "the global fetch must have answered: {err:?}"
    );
}
