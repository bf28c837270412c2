//! Stable error codes of the signer loop, for hosts that must tell causes
//! apart (the signer tab's status panel) without reading English text.
//!
//! Every `error` and `disconnected` status event carries one
//! ([`ErrorCode`], a lower-case string in JavaScript: `code`). It is set
//! where the cause is known, never from a message:
//!
//! * by the signer loop itself for its own timeouts, the session's
//!   verdicts and protocol checks ([`ErrorCode::of_session`]);
//! * from a transport failure, by its [`TransportError`] variant (fetch
//!   rejected before any response, not grpc-web, the body broke off);
//! * from an HTTP error without a gRPC answer (a proxy or a wrong URL), by
//!   its HTTP status, which the transport records in the
//!   [`HTTP_STATUS_METADATA`] entry of the status it makes up;
//! * from the bridge's gRPC status, by its code and *where* it arrived
//!   ([`Phase`]): signer-bridge answers the `Attach` call itself only after
//!   dialing lnd (so `Unavailable` there is lnd unreachable and
//!   `FailedPrecondition` is the TLS pin), relays lnd's refusal of the new
//!   stream during the handshake, and ends an established stream with lnd's
//!   outcome (native/src/bridge/status.rs gives each cause its code).
//!
//! One exception reads a text: signer-bridge's shutdown has no code of its
//! own (`Unavailable`, like lnd being unreachable or lost), so its fixed
//! message [`BRIDGE_SHUTDOWN_MESSAGE`] is compared exactly (no pattern, no
//! other message). A machine-readable cause from the bridge (a trailer or
//! `grpc-status-details-bin`) would replace it.
//!
//! The codes are stable: new ones may be added (hosts must treat an unknown
//! code like [`ErrorCode::Internal`]), existing ones keep their string.
//! `errorCodes()` in JavaScript lists them ([`ErrorCode::ALL`]).

use serde::Serialize;
use tonic::Code;

use super::transport::TransportError;
use lnd_web_signer::grpcweb::DecodeError;
use lnd_web_signer::session::SessionError;

/// Metadata entry the transport adds to a status it makes up from an HTTP
/// error response without `grpc-status`: the HTTP status code. (tonic puts
/// the response headers other than `grpc-status`/`grpc-message` into the
/// status' metadata.)
pub const HTTP_STATUS_METADATA: &str = "x-lnd-web-signer-http-status";

/// The whole `grpc-message` of signer-bridge's `Unavailable` while it shuts
/// down (`shutdown_status` in native/src/bridge/status.rs), recognised
/// when a bridge sends no
/// [`CAUSE_METADATA`](lnd_web_signer::proto::signerbridge::CAUSE_METADATA)
/// (one older than that trailer).
pub const BRIDGE_SHUTDOWN_MESSAGE: &str = "signer-bridge is shutting down";

/// Why an attempt failed or the loop stopped. Serialized as its lower-case
/// [`ErrorCode::as_str`] string.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ErrorCode {
    /// No gRPC answer from signer-bridge: `fetch` failed before any
    /// response (network, DNS, CORS, refused), the answer was not grpc-web,
    /// an HTTP error without a gRPC status (a proxy, a wrong URL), or the
    /// response body broke off.
    BridgeUnreachable,
    /// signer-bridge did not answer in time: the `Attach` call, its session
    /// token, or a `Reply` call.
    BridgeTimeout,
    /// signer-bridge refused for now (`ResourceExhausted`: too many Attach
    /// attempts from this address, too many dialing or open sessions; HTTP
    /// 429).
    BridgeBusy,
    /// signer-bridge is shutting down (a restart, a deploy); it ended the
    /// stream or refused the `Attach`.
    BridgeShutdown,
    /// signer-bridge could not reach lnd (the `Attach` call's
    /// `Unavailable`: connection refused, timeout, TLS handshake failed).
    LndUnreachable,
    /// lnd's TLS certificate is not the one the bridge pins
    /// (`FailedPrecondition` on `Attach`).
    TlsMismatch,
    /// lnd or the bridge refused the macaroon (`Unauthenticated`,
    /// `PermissionDenied`, HTTP 401/403).
    MacaroonRejected,
    /// lnd refused the signer stream during the handshake (lnd not set up
    /// for a remote signer, the registration rejected).
    LndRefused,
    /// Another signer is connected to this node (a tab of another origin,
    /// the extension, another device): lnd accepts one at a time. The
    /// bridge names it with its cause trailer; the loop retries with its
    /// normal backoff and the host shows a standby state.
    AnotherSigner,
    /// The watch-only node did not answer the registration in time.
    HandshakeTimeout,
    /// The stream to lnd ended after it was open: the bridge lost its
    /// connection to lnd, or lnd closed or ended the stream (the bridge's
    /// `Unavailable` or lnd's own code, relayed).
    LndLost,
    /// The idle watchdog: no message at all from lnd for longer than the
    /// idle timeout (the `error` event also has `silentMs`).
    LndSilent,
    /// The bridge's session is gone (`NotFound` on a `Reply`: the token
    /// expired, the lnd stream closed), or the bridge ended the stream with
    /// status OK.
    SessionEnded,
    /// The bridge or lnd broke the protocol (an unexpected message, a
    /// malformed frame, a message above the size limit, an unknown
    /// method).
    Protocol,
    /// A failure inside the signer or the bridge (its `Internal`, a bad
    /// configuration, no `fetch`).
    Internal,
    /// The loop stopped because the signer was locked.
    Locked,
    /// The loop stopped because the host disconnected it.
    Disconnected,
}

/// Where in an attempt a gRPC status arrived.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// The answer to the `Attach` call (the bridge dials lnd before it).
    Attach,
    /// The end of the `Attach` stream, after the session token: relayed
    /// from lnd. `registered`: the handshake had completed.
    Stream {
        /// Whether lnd had answered the registration.
        registered: bool,
    },
    /// The answer to a `Reply` or `ReplyBatch` call.
    Reply,
}

impl ErrorCode {
    /// Every code, in declaration order.
    pub const ALL: [ErrorCode; 17] = [
        Self::BridgeUnreachable,
        Self::BridgeTimeout,
        Self::BridgeBusy,
        Self::BridgeShutdown,
        Self::LndUnreachable,
        Self::TlsMismatch,
        Self::MacaroonRejected,
        Self::LndRefused,
        Self::AnotherSigner,
        Self::HandshakeTimeout,
        Self::LndLost,
        Self::LndSilent,
        Self::SessionEnded,
        Self::Protocol,
        Self::Internal,
        Self::Locked,
        Self::Disconnected,
    ];

    /// The stable string (as serialized), e.g. `"macaroon_rejected"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::BridgeUnreachable => "bridge_unreachable",
            Self::BridgeTimeout => "bridge_timeout",
            Self::BridgeBusy => "bridge_busy",
            Self::BridgeShutdown => "bridge_shutdown",
            Self::LndUnreachable => "lnd_unreachable",
            Self::TlsMismatch => "tls_mismatch",
            Self::MacaroonRejected => "macaroon_rejected",
            Self::LndRefused => "lnd_refused",
            Self::AnotherSigner => "another_signer",
            Self::HandshakeTimeout => "handshake_timeout",
            Self::LndLost => "lnd_lost",
            Self::LndSilent => "lnd_silent",
            Self::SessionEnded => "session_ended",
            Self::Protocol => "protocol",
            Self::Internal => "internal",
            Self::Locked => "locked",
            Self::Disconnected => "disconnected",
        }
    }

    /// The code of a failed call's status that arrived in `phase`: from the
    /// transport error it carries, else the HTTP status the transport
    /// recorded, else the gRPC code ([`ErrorCode::of_grpc`]).
    pub fn of_status(phase: Phase, status: &tonic::Status) -> Self {
        if let Some(e) = transport_error(status) {
            return Self::of_transport(e);
        }
        let http = status
            .metadata()
            .get(HTTP_STATUS_METADATA)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u16>().ok());
        if let Some(http) = http {
            return Self::of_http(http);
        }
        let cause = status
            .metadata()
            .get(lnd_web_signer::proto::signerbridge::CAUSE_METADATA)
            .and_then(|v| v.to_str().ok());
        match cause {
            Some(lnd_web_signer::proto::signerbridge::CAUSE_BRIDGE_SHUTDOWN) => {
                Self::BridgeShutdown
            }
            Some(lnd_web_signer::proto::signerbridge::CAUSE_ANOTHER_SIGNER) => Self::AnotherSigner,
            _ => Self::of_bridge(phase, status.code(), status.message()),
        }
    }

    /// The code of signer-bridge's status (`code`, `message`) that arrived
    /// in `phase`: [`ErrorCode::of_grpc`], except for the bridge's shutdown
    /// ([`BRIDGE_SHUTDOWN_MESSAGE`], matched whole).
    pub fn of_bridge(phase: Phase, code: Code, message: &str) -> Self {
        if code == Code::Unavailable && message == BRIDGE_SHUTDOWN_MESSAGE {
            return Self::BridgeShutdown;
        }
        Self::of_grpc(phase, code)
    }

    /// The code of a transport failure.
    pub fn of_transport(e: &TransportError) -> Self {
        match e {
            TransportError::NoFetch | TransportError::Request { .. } => Self::Internal,
            TransportError::Fetch { .. }
            | TransportError::ContentType(_)
            | TransportError::Read(_)
            | TransportError::Decode(DecodeError::Truncated { .. }) => Self::BridgeUnreachable,
            TransportError::Decode(_) => Self::Protocol,
        }
    }

    /// The code of an HTTP error response without a gRPC status.
    pub fn of_http(status: u16) -> Self {
        match status {
            401 | 403 => Self::MacaroonRejected,
            429 => Self::BridgeBusy,
            _ => Self::BridgeUnreachable,
        }
    }

    /// The code of signer-bridge's gRPC status `code` that arrived in
    /// `phase` (see the module documentation).
    pub fn of_grpc(phase: Phase, code: Code) -> Self {
        if matches!(code, Code::Unauthenticated | Code::PermissionDenied) {
            return Self::MacaroonRejected;
        }
        match phase {
            Phase::Attach => match code {
                Code::Unavailable => Self::LndUnreachable,
                Code::FailedPrecondition => Self::TlsMismatch,
                Code::ResourceExhausted => Self::BridgeBusy,
                Code::DeadlineExceeded => Self::BridgeTimeout,
                Code::InvalidArgument | Code::OutOfRange | Code::Unimplemented => Self::Protocol,
                _ => Self::Internal,
            },
            Phase::Stream { registered } => match code {
                Code::Ok => Self::SessionEnded,
                Code::Unavailable => Self::LndLost,
                _ if registered => Self::LndLost,
                _ => Self::LndRefused,
            },
            Phase::Reply => match code {
                Code::NotFound => Self::SessionEnded,
                Code::ResourceExhausted => Self::BridgeBusy,
                Code::DeadlineExceeded => Self::BridgeTimeout,
                Code::Unavailable => Self::BridgeUnreachable,
                Code::InvalidArgument
                | Code::OutOfRange
                | Code::Unimplemented
                | Code::FailedPrecondition => Self::Protocol,
                _ => Self::Internal,
            },
        }
    }

    /// The code of a session error (the core's verdict on the handshake,
    /// its timeouts and the node's messages).
    pub fn of_session(e: &SessionError) -> Self {
        match e {
            SessionError::RegistrationRejected(_) => Self::LndRefused,
            SessionError::HandshakeTimeout { .. } => Self::HandshakeTimeout,
            SessionError::IdleTimeout { .. } => Self::LndSilent,
            SessionError::WrongInitialRequestId { .. }
            | SessionError::ExpectedRegistration { .. }
            | SessionError::EmptyRegistrationResponse => Self::Protocol,
            _ => Self::Internal,
        }
    }
}

impl core::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The [`TransportError`] in `status`' source chain (tonic keeps the
/// transport's error as the source of the status it makes from it).
fn transport_error(status: &tonic::Status) -> Option<&TransportError> {
    let mut source = std::error::Error::source(status);
    while let Some(e) = source {
        if let Some(t) = e.downcast_ref::<TransportError>() {
            return Some(t);
        }
        source = e.source();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test;

    const ATTACH: Phase = Phase::Attach;
    const HANDSHAKE: Phase = Phase::Stream { registered: false };
    const SERVING: Phase = Phase::Stream { registered: true };

    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test)]
    #[cfg_attr(not(target_arch = "wasm32"), test)]
    fn strings_are_stable_unique_and_serialized_as_such() {
        let mut seen = std::collections::HashSet::new();
        for code in ErrorCode::ALL {
            let s = code.as_str();
            assert!(seen.insert(s), "{s} twice");
            assert!(
                s.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'),
                "{s}"
            );
            assert_eq!(
                serde_json::to_string(&code).expect("json"),
                format!("\"{s}\"")
            );
            assert_eq!(code.to_string(), s);
        }
        assert_eq!(ErrorCode::MacaroonRejected.as_str(), "macaroon_rejected");
        assert_eq!(ErrorCode::LndLost.as_str(), "lnd_lost");
    }

    /// The bridge's causes (native/src/bridge/status.rs, service.rs, raw.rs)
    /// with the code and phase each arrives with.
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test)]
    #[cfg_attr(not(target_arch = "wasm32"), test)]
    fn the_bridge_causes_get_their_own_codes() {
        use ErrorCode as E;
        let cases = [
            // Answers to the Attach call (dial_status, connect_status, attach()).
            (ATTACH, Code::Unavailable, E::LndUnreachable), // refused, timeout, TLS handshake
            (ATTACH, Code::FailedPrecondition, E::TlsMismatch),
            (ATTACH, Code::Unauthenticated, E::MacaroonRejected), // no/bad macaroon metadata
            (ATTACH, Code::ResourceExhausted, E::BridgeBusy),     // rate limit, dialing, sessions
            (ATTACH, Code::InvalidArgument, E::Protocol),         // malformed AttachRequest
            (ATTACH, Code::Unimplemented, E::Protocol),
            (ATTACH, Code::Internal, E::Internal), // bad --lnd-rpchost, no randomness
            // The stream's end during the handshake (open_status, LinkLoss).
            (HANDSHAKE, Code::Unauthenticated, E::MacaroonRejected), // lnd rejected the macaroon
            (HANDSHAKE, Code::Unknown, E::LndRefused),               // only one remote signer
            (HANDSHAKE, Code::Unavailable, E::LndLost),              // connection to lnd lost
            (HANDSHAKE, Code::DeadlineExceeded, E::LndRefused),
            // The end of an established stream (ended_status, closed_status, LinkLoss).
            (SERVING, Code::Unavailable, E::LndLost), // lost, closed OK, shutting down
            (SERVING, Code::DeadlineExceeded, E::LndLost), // lnd ended it with its code
            (SERVING, Code::Unknown, E::LndLost),
            (SERVING, Code::Unauthenticated, E::MacaroonRejected),
            (SERVING, Code::Ok, E::SessionEnded),
            // Reply calls (check_token, reply(), unary_reply).
            (Phase::Reply, Code::NotFound, E::SessionEnded),
            (Phase::Reply, Code::OutOfRange, E::Protocol),
            (Phase::Reply, Code::InvalidArgument, E::Protocol),
            (Phase::Reply, Code::ResourceExhausted, E::BridgeBusy),
            (Phase::Reply, Code::DeadlineExceeded, E::BridgeTimeout),
            (Phase::Reply, Code::Cancelled, E::Internal),
        ];
        for (phase, code, want) in cases {
            assert_eq!(ErrorCode::of_grpc(phase, code), want, "{phase:?} {code:?}");
            // The same through a status with a message: the text is never read.
            let s = tonic::Status::new(code, "lnd unreachable at x: macaroon Failed to fetch");
            assert_eq!(ErrorCode::of_status(phase, &s), want, "{phase:?} {code:?}");
        }
    }

    /// The bridge's cause trailer decides, whatever the message says; a
    /// status without it falls back to the code (and the whole message).
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test)]
    #[cfg_attr(not(target_arch = "wasm32"), test)]
    fn the_bridge_cause_trailer_names_the_shutdown() {
        use lnd_web_signer::proto::signerbridge::{CAUSE_BRIDGE_SHUTDOWN, CAUSE_METADATA};
        for phase in [ATTACH, HANDSHAKE, SERVING] {
            let mut s = tonic::Status::unavailable("stopping for an upgrade");
            s.metadata_mut().insert(
                CAUSE_METADATA,
                tonic::metadata::MetadataValue::from_static(CAUSE_BRIDGE_SHUTDOWN),
            );
            assert_eq!(ErrorCode::of_status(phase, &s), ErrorCode::BridgeShutdown);
        }
        let mut s = tonic::Status::unavailable("connection to lnd lost");
        s.metadata_mut().insert(
            CAUSE_METADATA,
            tonic::metadata::MetadataValue::from_static("something-new"),
        );
        assert_eq!(ErrorCode::of_status(SERVING, &s), ErrorCode::LndLost);
    }

    /// lnd's refusal of a second signer, as signer-bridge names it.
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test)]
    #[cfg_attr(not(target_arch = "wasm32"), test)]
    fn the_bridge_cause_trailer_names_another_signer() {
        use lnd_web_signer::proto::signerbridge::{CAUSE_ANOTHER_SIGNER, CAUSE_METADATA};
        let mut s = tonic::Status::unknown(
            "lnd refused the signer stream: only one remote signer can be connected",
        );
        assert_eq!(ErrorCode::of_status(HANDSHAKE, &s), ErrorCode::LndRefused);
        s.metadata_mut().insert(
            CAUSE_METADATA,
            tonic::metadata::MetadataValue::from_static(CAUSE_ANOTHER_SIGNER),
        );
        assert_eq!(
            ErrorCode::of_status(HANDSHAKE, &s),
            ErrorCode::AnotherSigner
        );
        assert_eq!(ErrorCode::AnotherSigner.as_str(), "another_signer");
    }

    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test)]
    #[cfg_attr(not(target_arch = "wasm32"), test)]
    fn the_bridge_shutdown_is_matched_whole() {
        for phase in [ATTACH, HANDSHAKE, SERVING] {
            let s = tonic::Status::unavailable(BRIDGE_SHUTDOWN_MESSAGE);
            assert_eq!(ErrorCode::of_status(phase, &s), ErrorCode::BridgeShutdown);
        }
        // Anything else (another code, more text) is not the shutdown.
        let s = tonic::Status::unknown(BRIDGE_SHUTDOWN_MESSAGE);
        assert_eq!(ErrorCode::of_status(SERVING, &s), ErrorCode::LndLost);
        let s = tonic::Status::unavailable(format!("{BRIDGE_SHUTDOWN_MESSAGE} soon"));
        assert_eq!(ErrorCode::of_status(ATTACH, &s), ErrorCode::LndUnreachable);
    }

    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test)]
    #[cfg_attr(not(target_arch = "wasm32"), test)]
    fn transport_failures_are_classified_by_variant() {
        use ErrorCode as E;
        let url = "http://127.0.0.1:9/signerbridge.SignerBridge/Attach".to_owned();
        let cases = [
            (
                TransportError::Fetch {
                    url: url.clone(),
                    reason: "TypeError: Failed to fetch".into(),
                },
                E::BridgeUnreachable,
            ),
            (
                TransportError::ContentType("text/html".into()),
                E::BridgeUnreachable,
            ),
            (
                TransportError::Read("TypeError: network error".into()),
                E::BridgeUnreachable,
            ),
            (
                TransportError::Decode(DecodeError::Truncated { have: 3, need: 9 }),
                E::BridgeUnreachable,
            ),
            (
                TransportError::Decode(DecodeError::FrameTooLarge { len: 9, max: 4 }),
                E::Protocol,
            ),
            (
                TransportError::Decode(DecodeError::DataAfterTrailers(2)),
                E::Protocol,
            ),
            (TransportError::NoFetch, E::Internal),
            (
                TransportError::Request {
                    url,
                    reason: "x".into(),
                },
                E::Internal,
            ),
        ];
        for (err, want) in cases {
            assert_eq!(ErrorCode::of_transport(&err), want, "{err}");
            // As tonic hands it over: an Unknown status with the error as
            // its source, in any phase.
            let status = tonic::Status::from_error(Box::new(err.clone()));
            for phase in [ATTACH, HANDSHAKE, SERVING, Phase::Reply] {
                assert_eq!(
                    ErrorCode::of_status(phase, &status),
                    want,
                    "{err} {phase:?}"
                );
            }
        }
    }

    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test)]
    #[cfg_attr(not(target_arch = "wasm32"), test)]
    fn http_errors_without_a_grpc_answer_go_by_http_status() {
        use ErrorCode as E;
        for (http, want) in [
            (502, E::BridgeUnreachable),
            (503, E::BridgeUnreachable),
            (504, E::BridgeUnreachable),
            (404, E::BridgeUnreachable),
            (400, E::BridgeUnreachable),
            (401, E::MacaroonRejected),
            (403, E::MacaroonRejected),
            (429, E::BridgeBusy),
        ] {
            assert_eq!(ErrorCode::of_http(http), want, "{http}");
            // The status the transport makes up: the gRPC code of the HTTP
            // status (Unavailable for 502 would read as lnd unreachable on
            // Attach) plus the recorded HTTP status, which wins.
            let mut headers = http::HeaderMap::new();
            headers.insert("grpc-status", "14".parse().expect("header"));
            headers.insert(
                HTTP_STATUS_METADATA,
                http.to_string().parse().expect("header"),
            );
            let status = tonic::Status::from_header_map(&headers).expect("a status");
            assert_eq!(ErrorCode::of_status(ATTACH, &status), want, "{http}");
            assert_eq!(ErrorCode::of_status(Phase::Reply, &status), want, "{http}");
        }
    }

    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test)]
    #[cfg_attr(not(target_arch = "wasm32"), test)]
    fn session_verdicts() {
        use core::time::Duration;
        use lnd_web_signer::session::RequestKind;
        use ErrorCode as E;
        let d = Duration::from_secs(1);
        for (e, want) in [
            (
                SessionError::RegistrationRejected("no".into()),
                E::LndRefused,
            ),
            (
                SessionError::HandshakeTimeout { timeout: d },
                E::HandshakeTimeout,
            ),
            (
                SessionError::IdleTimeout {
                    silent: d,
                    limit: d,
                },
                E::LndSilent,
            ),
            (
                SessionError::WrongInitialRequestId {
                    got: 2,
                    kind: RequestKind::Ping,
                },
                E::Protocol,
            ),
            (
                SessionError::ExpectedRegistration {
                    got: RequestKind::Ping,
                },
                E::Protocol,
            ),
            (SessionError::EmptyRegistrationResponse, E::Protocol),
            (SessionError::EmptyRegistrationInfo, E::Internal),
            (SessionError::Closed, E::Internal),
        ] {
            assert_eq!(ErrorCode::of_session(&e), want, "{e}");
        }
    }
}
