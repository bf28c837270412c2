//! How the bridge reports failures to the Attach caller: each cause (lnd
//! unreachable, TLS mismatch, macaroon rejected, stream ended) gets its own
//! status code and a message that says what happened.

use tonic::{Code, Status};

use crate::tls::DialError;

/// Status for a failed dial to lnd (before any token is sent).
pub fn dial_status(err: &DialError, cert_path: &str) -> Status {
    match err {
        DialError::Unreachable { .. } | DialError::Timeout { .. } => {
            Status::unavailable(err.to_string())
        }
        DialError::CertMismatch { addr } => Status::failed_precondition(format!(
            "lnd's TLS certificate does not match --lnd-tlscertpath {cert_path} \
             (lnd at {addr} presented a different certificate)"
        )),
        DialError::Handshake { .. } => Status::unavailable(err.to_string()),
        DialError::BadAddress { .. } => Status::internal(err.to_string()),
    }
}

/// Status for a connection failure that carries no [`DialError`].
pub fn connect_status(addr: &str, err: &dyn std::error::Error) -> Status {
    Status::unavailable(format!("lnd unreachable at {addr}: {err}"))
}

/// Texts of lnd's macaroon checks (`macaroons/service.go`, the
/// go-macaroon-bakery checkers and the RPC permission interceptor). lnd
/// returns them as plain Go errors, so they arrive with code `Unknown`.
const MACAROON_HINTS: &[&str] = &[
    "macaroon",
    "verification failed",
    "permission denied",
    "root key",
    "caveat",
    "packet too short",
    "encoding/hex",
];

/// True when lnd's refusal of a new stream is a macaroon rejection.
pub fn is_macaroon_rejection(status: &Status) -> bool {
    if matches!(
        status.code(),
        Code::Unauthenticated | Code::PermissionDenied
    ) {
        return true;
    }
    let msg = status.message().to_ascii_lowercase();
    MACAROON_HINTS.iter().any(|h| msg.contains(h))
}

/// Status for lnd refusing to open the signer stream (its answer to the
/// stream's headers: macaroon check, "only one remote signer", a failed
/// registration handshake).
pub fn open_status(lnd: &Status) -> Status {
    use lnd_web_signer::proto::signerbridge::{
        CAUSE_ANOTHER_SIGNER, CAUSE_METADATA, LND_ONE_SIGNER_MESSAGE,
    };
    if is_macaroon_rejection(lnd) {
        return Status::unauthenticated(format!("lnd rejected the macaroon: {}", lnd.message()));
    }
    let mut s = Status::new(
        lnd.code(),
        format!("lnd refused the signer stream: {}", describe(lnd)),
    );
    // lnd's fixed text, read here once so that signers need not read prose.
    if lnd.message() == LND_ONE_SIGNER_MESSAGE {
        s.metadata_mut().insert(
            CAUSE_METADATA,
            tonic::metadata::MetadataValue::from_static(CAUSE_ANOTHER_SIGNER),
        );
    }
    s
}

/// Status for the end of an established lnd stream with an error.
pub fn ended_status(lnd: &Status) -> Status {
    Status::new(
        lnd.code(),
        format!("lnd ended the signer stream: {}", describe(lnd)),
    )
}

/// Status for a broken connection to lnd (closed by the keepalive after an
/// unanswered ping, reset, or closed without a status), `silent` after
/// lnd's last message; `cause` is the innermost transport error.
pub fn connection_lost_status(addr: &str, silent: std::time::Duration, cause: &str) -> Status {
    Status::unavailable(format!(
        "connection to lnd at {addr} lost {} after its last message ({cause}); attach again",
        lnd_web_signer::session::fmt_secs(silent)
    ))
}

/// Status for lnd closing the stream without an error.
pub fn closed_status() -> Status {
    Status::unavailable("lnd closed the signer stream (status OK); attach again")
}

/// Status for the bridge shutting down, its cause in the
/// [`CAUSE_METADATA`](lnd_web_signer::proto::signerbridge::CAUSE_METADATA)
/// trailer (the message says the same to people and to older signers).
pub fn shutdown_status() -> Status {
    use lnd_web_signer::proto::signerbridge::{CAUSE_BRIDGE_SHUTDOWN, CAUSE_METADATA};
    let mut s = Status::unavailable("signer-bridge is shutting down");
    s.metadata_mut().insert(
        CAUSE_METADATA,
        tonic::metadata::MetadataValue::from_static(CAUSE_BRIDGE_SHUTDOWN),
    );
    s
}

fn describe(s: &Status) -> String {
    if s.message().is_empty() {
        format!("{:?}", s.code())
    } else {
        s.message().to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io;

    const ADDR: &str = "127.0.0.1:10019";

    #[test]
    fn shutdown_names_its_cause_in_a_trailer() {
        use lnd_web_signer::proto::signerbridge::{CAUSE_BRIDGE_SHUTDOWN, CAUSE_METADATA};
        let s = shutdown_status();
        assert_eq!(s.code(), Code::Unavailable);
        assert_eq!(
            s.metadata()
                .get(CAUSE_METADATA)
                .and_then(|v| v.to_str().ok()),
            Some(CAUSE_BRIDGE_SHUTDOWN)
        );
        // Older signers recognise the whole message.
        assert_eq!(s.message(), "signer-bridge is shutting down");
    }

    #[test]
    fn dial_errors_are_distinct() {
        let refused = DialError::Unreachable {
            addr: ADDR.into(),
            source: io::Error::new(io::ErrorKind::ConnectionRefused, "refused"),
        };
        let s = dial_status(&refused, "/x/tls.cert");
        assert_eq!(s.code(), Code::Unavailable);
        assert!(s
            .message()
            .starts_with("lnd unreachable at 127.0.0.1:10019"));

        let mismatch = DialError::CertMismatch { addr: ADDR.into() };
        let s = dial_status(&mismatch, "/x/tls.cert");
        assert_eq!(s.code(), Code::FailedPrecondition);
        assert!(s
            .message()
            .contains("does not match --lnd-tlscertpath /x/tls.cert"));

        let hs = DialError::Handshake {
            addr: ADDR.into(),
            source: io::Error::new(io::ErrorKind::InvalidData, "bad record"),
        };
        let s = dial_status(&hs, "/x/tls.cert");
        assert_eq!(s.code(), Code::Unavailable);
        assert!(s.message().starts_with("TLS handshake with lnd"));
    }

    #[test]
    fn macaroon_rejections_are_recognised() {
        for msg in [
            "expected 1 macaroon, got 0",
            "verification failed: signature mismatch after caveat verification",
            "cannot get macaroon: root key with id 1 doesn't exist",
            "permission denied",
        ] {
            let s = open_status(&Status::unknown(msg));
            assert_eq!(s.code(), Code::Unauthenticated, "{msg}");
            assert_eq!(s.message(), format!("lnd rejected the macaroon: {msg}"));
        }
        let s = open_status(&Status::permission_denied("nope"));
        assert_eq!(s.code(), Code::Unauthenticated);
    }

    #[test]
    fn other_refusals_pass_through() {
        use lnd_web_signer::proto::signerbridge::{CAUSE_ANOTHER_SIGNER, CAUSE_METADATA};
        let s = open_status(&Status::unknown("only one remote signer can be connected"));
        assert_eq!(s.code(), Code::Unknown);
        assert_eq!(
            s.message(),
            "lnd refused the signer stream: only one remote signer can be connected"
        );
        // Named machine-readably for the signer's standby state...
        assert_eq!(
            s.metadata()
                .get(CAUSE_METADATA)
                .and_then(|v| v.to_str().ok()),
            Some(CAUSE_ANOTHER_SIGNER)
        );
        // ...and only that refusal.
        let s = open_status(&Status::unknown("remote signer not configured"));
        assert!(s.metadata().get(CAUSE_METADATA).is_none());
        let s = connection_lost_status(
            ADDR,
            std::time::Duration::from_millis(2500),
            "stream closed because of a broken pipe",
        );
        assert_eq!(s.code(), Code::Unavailable);
        assert_eq!(
            s.message(),
            "connection to lnd at 127.0.0.1:10019 lost 2.5 s after its last message (stream closed because of a broken pipe); attach again"
        );
        let s = ended_status(&Status::deadline_exceeded(""));
        assert_eq!(s.code(), Code::DeadlineExceeded);
        assert_eq!(s.message(), "lnd ended the signer stream: DeadlineExceeded");
    }
}
