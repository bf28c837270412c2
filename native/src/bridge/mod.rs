//! `signer-bridge`: lnd's bidirectional `SignCoordinatorStreams` split into
//! a server stream (`Attach`) and unary calls (`Reply`) so that a grpc-web
//! client can be lnd's remote signer (see `docs/bridge.md`).
//!
//! * `Attach` dials lnd over TLS pinned to `--lnd-tlscertpath`, opens the
//!   stream with the caller's `macaroon` metadata, sends a random 32-byte
//!   session token as the first event and then every `SignCoordinatorRequest`
//!   unchanged. It ends with a status that says why (lnd unreachable, TLS
//!   mismatch, macaroon rejected, lnd ended the stream, bridge shutting down).
//! * `Reply` queues one `SignCoordinatorResponse` on the stream of its token;
//!   it may come before lnd has sent anything (the registration is
//!   signer-first).
//! * When the Attach caller goes away the lnd stream and connection are
//!   dropped at once; the token stops working.
//! * Each connection to lnd sends HTTP/2 keepalive pings within lnd's
//!   policy ([`crate::keepalive`]); a dead connection ends the Attach
//!   stream with `UNAVAILABLE`, so the signer attaches again.
//!
//! The bridge never decodes lnd's requests or the signer's responses (they
//! are relayed byte for byte, unknown fields included, see [`raw`]), never
//! logs macaroons, tokens or payloads, and bounds every message size.
//!
//! # Layers
//!
//! Three layers, each using only the ones before it (no module here
//! imports a later one):
//!
//! ```text
//! raw (codec) ──> service ──> server
//!    bytes,        Attach,      tonic + tonic-web + CORS,
//!    envelopes,    Reply,       one generic Route per method,
//!    gRPC framing  ReplyBatch,  listener, shutdown
//!                  checks and limits
//! ```
//!
//! * [`raw`], the codec: the pass-through gRPC codec, the wire format of
//!   the bridge's envelope messages, the gRPC framing of a request's first
//!   bytes. Knows no session and no service.
//! * `service`: [`SignerBridgeService`], the three methods on encoded
//!   bytes, every check in its order (macaroon, per-source and dialing
//!   bounds, sessions, a Reply's token before its body is buffered, sizes,
//!   the reply queue), the relay to lnd. Its helpers are [`limit`] (the
//!   per-source bucket) and [`status`] (lnd's failures as statuses).
//! * `server`: [`BridgeServer`] routes the method paths to the service
//!   through one generic `tower::Service` (`Route`) for unary and
//!   server-streaming methods alike; [`Bridge`] serves it (plain gRPC or
//!   grpc-web with CORS) on a listener until shutdown.
//!
//! * `ws`, the WebSocket channel beside the server: the same service
//!   (Attach, then each message a Reply) on one connection, for browsers;
//!   the listener hands it every connection that starts with `GET`.
//!
//! `config` ([`BridgeConfig`], the command line and its defaults) is a leaf
//! that the service and the server read.

pub mod limit;
pub mod raw;
pub mod status;

mod config;
mod server;
mod service;
mod ws;

pub use config::{
    BridgeConfig, DEFAULT_CONNECT_TIMEOUT, DEFAULT_MAX_MESSAGE_BYTES, DEFAULT_MAX_REPLY_BYTES,
    DEFAULT_MAX_SESSIONS,
};
pub use limit::{
    AttachRate, DEFAULT_ATTACH_BURST, DEFAULT_ATTACH_PER_MINUTE, DEFAULT_MAX_PENDING_ATTACHES,
};
pub use server::{
    check_origin, cors_layer, Bridge, BridgeError, BridgeServer, ATTACH_PATH, CORS_ALLOW_HEADERS,
    CORS_EXPOSE_HEADERS, REPLY_BATCH_PATH, REPLY_PATH,
};
pub use service::{
    AttachStream, CheckedToken, SignerBridgeService, MAX_ATTACH_REQUEST_BYTES, MAX_BATCH_RESPONSES,
    MAX_UNVERIFIED_REPLY_BYTES, TOKEN_LEN, TOKEN_READ_TIMEOUT,
};
pub use ws::{end_event, MAX_WS_ATTACH_BYTES};
