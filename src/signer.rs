//! The request dispatcher: one `SignCoordinatorRequest` in, one
//! `SignCoordinatorResponse` out, as lnd's outbound remote signer answers
//! (lnd `lnwallet/rpcwallet/remote_signer_client.go`, spec/protocol.md §2).
//!
//! The registration handshake is the session layer's job; everything else is
//! answered here. Failures become a `signer_error` whose text is what lnd's
//! signer sends: `error processing the request in the remote signer: ` followed
//! by the operation's error.

use core::fmt;

use crate::keys::{Network, RootKey};
use crate::proto::walletrpc;
use crate::proto::watchonlyrpc::sign_coordinator_request::SignRequestType as Req;
use crate::proto::watchonlyrpc::sign_coordinator_response::SignResponseType as Resp;
use crate::proto::watchonlyrpc::{SignCoordinatorRequest, SignCoordinatorResponse, SignerError};
use crate::signing::{ecdh, message, psbt};

/// Prefix lnd's signer puts in front of every error it returns.
pub const ERROR_PREFIX: &str = "error processing the request in the remote signer: ";

/// lnd's answer to a request type it does not handle (or no member set).
pub const UNIMPLEMENTED: &str = "unimplemented request by watch-only node";

/// Source of randomness (BIP-340 auxiliary randomness, MuSig2 nonces).
pub trait Entropy: Send + Sync {
    /// Fills `dest` with random bytes.
    fn fill_bytes(&self, dest: &mut [u8]);
}

/// Operating-system randomness (`getrandom`; `crypto.getRandomValues` in wasm).
#[derive(Clone, Copy, Debug, Default)]
pub struct OsEntropy;

impl Entropy for OsEntropy {
    fn fill_bytes(&self, dest: &mut [u8]) {
        // Without randomness MuSig2 nonces would be unsafe: stopping is the only
        // correct reaction, and no input can cause this.
        if let Err(e) = getrandom::getrandom(dest) {
            panic!("operating-system randomness unavailable: {e}");
        }
    }
}

/// Answers signing requests for one root key.
pub struct Signer {
    root: RootKey,
    entropy: Box<dyn Entropy>,
}

impl fmt::Debug for Signer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Signer {{ network: {}, key: [redacted] }}",
            self.root.network()
        )
    }
}

/// Short name of a request kind, for logs and the UI.
pub fn request_kind(req: &SignCoordinatorRequest) -> &'static str {
    match &req.sign_request_type {
        None => "none",
        Some(Req::RegistrationResponse(_)) => "registration_response",
        Some(Req::Ping(_)) => "ping",
        Some(Req::SharedKeyRequest(_)) => "shared_key",
        Some(Req::SignMessageReq(_)) => "sign_message",
        Some(Req::MuSig2SessionRequest(_)) => "musig2_create_session",
        Some(Req::MuSig2RegisterNoncesRequest(_)) => "musig2_register_nonces",
        Some(Req::MuSig2CombinedNoncesReq(_)) => "musig2_register_combined_nonce",
        Some(Req::MuSig2GetCombinedNoncesReq(_)) => "musig2_get_combined_nonce",
        Some(Req::MuSig2SignRequest(_)) => "musig2_sign",
        Some(Req::MuSig2CombineSigRequest(_)) => "musig2_combine_sig",
        Some(Req::MuSig2CleanupRequest(_)) => "musig2_cleanup",
        Some(Req::SignPsbtRequest(_)) => "sign_psbt",
    }
}

/// A `signer_error` response with lnd's prefix.
pub fn error_response(ref_request_id: u64, error: impl fmt::Display) -> SignCoordinatorResponse {
    SignCoordinatorResponse {
        ref_request_id,
        sign_response_type: Some(Resp::SignerError(SignerError {
            error: format!("{ERROR_PREFIX}{error}"),
        })),
    }
}

impl Signer {
    /// A signer for `root`, with `entropy` for BIP-340 aux randomness and MuSig2 nonces.
    pub fn new(root: RootKey, entropy: Box<dyn Entropy>) -> Self {
        Signer { root, entropy }
    }

    /// The network of the root key.
    pub fn network(&self) -> Network {
        self.root.network()
    }

    /// The root key (for account export and fixtures).
    pub fn root(&self) -> &RootKey {
        &self.root
    }

    /// Short name of a request kind (see [`request_kind`]).
    pub fn request_kind(req: &SignCoordinatorRequest) -> &'static str {
        request_kind(req)
    }

    /// Answers one request (everything except the registration handshake).
    pub fn handle(&self, req: &SignCoordinatorRequest) -> SignCoordinatorResponse {
        let id = req.request_id;
        let result: Result<Resp, String> = match &req.sign_request_type {
            Some(Req::Ping(_)) => Ok(Resp::Pong(true)),
            Some(Req::SharedKeyRequest(r)) => ecdh::derive_shared_key(&self.root, r)
                .map(Resp::SharedKeyResponse)
                .map_err(|e| e.to_string()),
            Some(Req::SignMessageReq(r)) => message::sign_message(&self.root, &*self.entropy, r)
                .map(Resp::SignMessageResp)
                .map_err(|e| e.to_string()),
            Some(Req::SignPsbtRequest(r)) => self.sign_psbt(r).map(Resp::SignPsbtResponse),
            Some(
                Req::MuSig2SessionRequest(_)
                | Req::MuSig2RegisterNoncesRequest(_)
                | Req::MuSig2CombinedNoncesReq(_)
                | Req::MuSig2GetCombinedNoncesReq(_)
                | Req::MuSig2SignRequest(_)
                | Req::MuSig2CombineSigRequest(_)
                | Req::MuSig2CleanupRequest(_),
            ) => self.handle_musig2(req),
            Some(Req::RegistrationResponse(_)) | None => Err(UNIMPLEMENTED.to_owned()),
        };
        match result {
            Ok(member) => SignCoordinatorResponse {
                ref_request_id: id,
                sign_response_type: Some(member),
            },
            Err(e) => error_response(id, e),
        }
    }

    fn sign_psbt(
        &self,
        r: &walletrpc::SignPsbtRequest,
    ) -> Result<walletrpc::SignPsbtResponse, String> {
        let signed = psbt::sign_psbt(&self.root, &*self.entropy, &r.funded_psbt)
            .map_err(|e| e.to_string())?;
        Ok(walletrpc::SignPsbtResponse {
            signed_psbt: signed.psbt,
            signed_inputs: signed.signed_inputs,
        })
    }

    /// MuSig2 requests (spec/signing.md §4). Not implemented by this signer yet:
    /// every MuSig2 request is answered with a clear error.
    fn handle_musig2(&self, req: &SignCoordinatorRequest) -> Result<Resp, String> {
        Err(format!(
            "musig2 request {} is not supported by this signer yet",
            request_kind(req)
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::signrpc;

    struct Fixed;
    impl Entropy for Fixed {
        fn fill_bytes(&self, dest: &mut [u8]) {
            dest.fill(7);
        }
    }

    fn signer() -> Signer {
        let root = RootKey::from_seed_entropy(&[1u8; 16], Network::Regtest).expect("root");
        Signer::new(root, Box::new(Fixed))
    }

    #[test]
    fn ping_pong_and_unset() {
        let s = signer();
        let resp = s.handle(&SignCoordinatorRequest {
            request_id: 9,
            sign_request_type: Some(Req::Ping(true)),
        });
        assert_eq!(resp.ref_request_id, 9);
        assert_eq!(resp.sign_response_type, Some(Resp::Pong(true)));
        let resp = s.handle(&SignCoordinatorRequest {
            request_id: 10,
            sign_request_type: None,
        });
        assert_eq!(
            resp.sign_response_type,
            Some(Resp::SignerError(SignerError {
                error: format!("{ERROR_PREFIX}{UNIMPLEMENTED}")
            }))
        );
    }

    #[test]
    fn musig2_is_refused_clearly() {
        let s = signer();
        let resp = s.handle(&SignCoordinatorRequest {
            request_id: 3,
            sign_request_type: Some(Req::MuSig2CleanupRequest(
                signrpc::MuSig2CleanupRequest::default(),
            )),
        });
        match resp.sign_response_type {
            Some(Resp::SignerError(e)) => {
                assert!(e.error.contains("musig2"), "{}", e.error);
                assert!(e.error.contains("not supported"), "{}", e.error);
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn debug_is_redacted() {
        let text = format!("{:?}", signer());
        assert!(text.contains("[redacted]"));
    }
}
