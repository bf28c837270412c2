//! Wire types generated from `proto/` (lnd's package and field numbering);
//! with the `json` feature also their protojson `serde` impls (pbjson-build).
#![allow(
    deprecated,
    missing_docs,
    missing_debug_implementations,
    clippy::all,
    clippy::pedantic
)]

/// `signrpc` messages embedded in the stream.
pub mod signrpc {
    tonic::include_proto!("signrpc");
    #[cfg(feature = "json")]
    include!(concat!(env!("OUT_DIR"), "/signrpc.serde.rs"));

    use core::fmt;

    /// What `Debug` prints for a secret byte field.
    struct Redacted(usize);

    impl fmt::Debug for Redacted {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            if self.0 == 0 {
                f.write_str("\"[none]\"")
            } else {
                write!(f, "\"[redacted {} bytes]\"", self.0)
            }
        }
    }

    /// `version` as the enum's name where it is a known value.
    struct Version(i32);

    impl fmt::Debug for Version {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            match MuSig2Version::try_from(self.0) {
                Ok(v) => fmt::Debug::fmt(&v, f),
                Err(_) => fmt::Debug::fmt(&self.0, f),
            }
        }
    }

    // Generated without Debug (build.rs, `skip_debug`): the pre-generated
    // local nonce is a MuSig2 secret nonce.
    impl fmt::Debug for MuSig2SessionRequest {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.debug_struct("MuSig2SessionRequest")
                .field("key_loc", &self.key_loc)
                .field("all_signer_pubkeys", &self.all_signer_pubkeys)
                .field(
                    "other_signer_public_nonces",
                    &self.other_signer_public_nonces,
                )
                .field("tweaks", &self.tweaks)
                .field("taproot_tweak", &self.taproot_tweak)
                .field("version", &Version(self.version))
                .field(
                    "pregenerated_local_nonce",
                    &Redacted(self.pregenerated_local_nonce.len()),
                )
                .finish()
        }
    }

    // Generated without Debug: the ECDH shared key is secret.
    impl fmt::Debug for SharedKeyResponse {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.debug_struct("SharedKeyResponse")
                .field("shared_key", &Redacted(self.shared_key.len()))
                .finish()
        }
    }
}

/// `walletrpc` messages embedded in the stream.
pub mod walletrpc {
    tonic::include_proto!("walletrpc");
    #[cfg(feature = "json")]
    include!(concat!(env!("OUT_DIR"), "/walletrpc.serde.rs"));
}

/// The `watchonlyrpc.WatchOnly` stream messages.
pub mod watchonlyrpc {
    tonic::include_proto!("watchonlyrpc");
    #[cfg(feature = "json")]
    include!(concat!(env!("OUT_DIR"), "/watchonlyrpc.serde.rs"));
}

/// Our signer-bridge service (Attach + Reply).
pub mod signerbridge {
    tonic::include_proto!("signerbridge");

    /// Trailer (status metadata) in which signer-bridge names, machine
    /// readably, why it ended a call whose gRPC code alone does not say
    /// (`Unavailable` is both "lnd went away" and "the bridge stops").
    pub const CAUSE_METADATA: &str = "x-lnd-web-signer-cause";
    /// [`CAUSE_METADATA`] value: signer-bridge is shutting down (a restart,
    /// a deploy); attach again later.
    pub const CAUSE_BRIDGE_SHUTDOWN: &str = "bridge-shutdown";
    /// [`CAUSE_METADATA`] value: lnd refused the new signer stream because
    /// another signer is connected to it ("only one remote signer can be
    /// connected"); a signer shows a standby state and retries with its
    /// normal backoff.
    pub const CAUSE_ANOTHER_SIGNER: &str = "another-signer";
    /// lnd's whole error text for a second signer stream
    /// (`lnwallet/rpcwallet/sign_coordinator.go`).
    pub const LND_ONE_SIGNER_MESSAGE: &str = "only one remote signer can be connected";
    /// Path of signer-bridge's WebSocket channel (see `proto/bridge.proto`):
    /// the session on one connection, a message per request and per answer.
    pub const WEBSOCKET_PATH: &str = "/signerbridge.SignerBridge/WebSocket";
}

#[cfg(test)]
mod tests {
    use super::signrpc::{KeyLocator, MuSig2SessionRequest, SharedKeyResponse};
    use super::watchonlyrpc::sign_coordinator_request::SignRequestType;
    use super::watchonlyrpc::sign_coordinator_response::SignResponseType;
    use super::watchonlyrpc::{SignCoordinatorRequest, SignCoordinatorResponse};

    #[test]
    fn secret_fields_never_reach_debug_output() {
        // A pre-generated MuSig2 secret nonce (lnd sends it for
        // deterministic sessions) and an ECDH shared key: the derived Debug
        // printed them as byte lists.
        let nonce = MuSig2SessionRequest {
            key_loc: Some(KeyLocator {
                key_family: 6,
                key_index: 1,
            }),
            all_signer_pubkeys: vec![vec![2; 33]],
            version: 2,
            pregenerated_local_nonce: vec![0xab; 97],
            ..MuSig2SessionRequest::default()
        };
        let req = SignCoordinatorRequest {
            request_id: 7,
            sign_request_type: Some(SignRequestType::MuSig2SessionRequest(nonce.clone())),
        };
        for text in [
            format!("{nonce:?}"),
            format!("{req:?}"),
            format!("{req:#?}"),
        ] {
            assert!(!text.contains("171"), "secret nonce bytes in {text}");
            assert!(
                text.contains("pregenerated_local_nonce: \"[redacted 97 bytes]\""),
                "{text}"
            );
            assert!(
                text.contains("key_family: 6") || text.contains("key_family: 6,"),
                "{text}"
            );
        }
        let empty = format!("{:?}", MuSig2SessionRequest::default());
        assert!(
            empty.contains("pregenerated_local_nonce: \"[none]\""),
            "{empty}"
        );

        let shared = SharedKeyResponse {
            shared_key: vec![0xcd; 32],
        };
        let resp = SignCoordinatorResponse {
            ref_request_id: 8,
            sign_response_type: Some(SignResponseType::SharedKeyResponse(shared.clone())),
        };
        for text in [format!("{shared:?}"), format!("{resp:?}")] {
            assert!(!text.contains("205"), "shared key bytes in {text}");
            assert!(
                text.contains("shared_key: \"[redacted 32 bytes]\""),
                "{text}"
            );
        }
    }
}
