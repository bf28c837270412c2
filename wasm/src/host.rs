//! Host services for the wasm build, through the global object only (no
//! `window`), so they work in a window, any worker and workerd: a monotonic
//! clock, timers and randomness.

use core::time::Duration;

use js_sys::{Function, Promise, Reflect};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

fn global_function(owner: &JsValue, name: &str) -> Option<Function> {
    Reflect::get(owner, &JsValue::from_str(name))
        .ok()
        .and_then(|f| f.dyn_into::<Function>().ok())
}

/// Milliseconds of a monotonic clock (`performance.now()`), falling back to
/// `Date.now()` where `performance` is missing.
pub fn now_ms() -> f64 {
    let global = js_sys::global();
    if let Ok(perf) = Reflect::get(&global, &JsValue::from_str("performance")) {
        if let Some(now) = global_function(&perf, "now") {
            if let Some(ms) = now.call0(&perf).ok().and_then(|v| v.as_f64()) {
                return ms;
            }
        }
    }
    js_sys::Date::now()
}

/// [`now_ms`] as a [`Duration`] (the session's clock).
pub fn now() -> Duration {
    ms_to_duration(now_ms())
}

/// Non-negative, finite milliseconds to a [`Duration`].
pub fn ms_to_duration(ms: f64) -> Duration {
    if ms.is_nan() || ms <= 0.0 {
        return Duration::ZERO;
    }
    Duration::try_from_secs_f64(ms / 1000.0).unwrap_or(Duration::MAX)
}

/// Longest delay `setTimeout` honours (2^31 − 1 ms); longer ones would fire
/// at once, so [`sleep`] waits in steps of at most this.
pub const MAX_TIMER_MS: f64 = 2_147_483_647.0;

/// Resolves after `delay`, using the global `setTimeout` (called on the
/// global object, so it works in windows and workers alike). Resolves at
/// once if there is no `setTimeout`.
pub async fn sleep(delay: Duration) {
    let mut left = delay.as_secs_f64() * 1000.0;
    loop {
        let step = left.min(MAX_TIMER_MS);
        sleep_ms(step).await;
        left -= step;
        if left <= 0.0 {
            return;
        }
    }
}

async fn sleep_ms(ms: f64) {
    let global = js_sys::global();
    let promise = Promise::new(&mut |resolve: Function, _reject: Function| {
        let scheduled = global_function(&global, "setTimeout")
            .map(|set_timeout| set_timeout.call2(&global, &resolve, &JsValue::from_f64(ms)))
            .is_some_and(|r| r.is_ok());
        if !scheduled {
            let _ = resolve.call0(&JsValue::UNDEFINED);
        }
    });
    let _ = JsFuture::from(promise).await;
}

/// A uniformly random `u32` (backoff jitter); 0 (no jitter) if randomness
/// fails.
pub fn random_u32() -> u32 {
    let mut b = [0u8; 4];
    match getrandom::getrandom(&mut b) {
        Ok(()) => u32::from_le_bytes(b),
        Err(_) => 0,
    }
}
