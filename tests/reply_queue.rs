//! Native run of the wasm signer's reply queue unit tests (the module is
//! pure std; the wasm loop in src/wasm/connection.rs drives it).

#[path = "../src/wasm/reply_queue.rs"]
#[allow(dead_code)]
mod reply_queue;
