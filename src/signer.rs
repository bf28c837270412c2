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
    /// MuSig2 sessions (memory only; see docs/musig2.md).
    musig2: std::sync::Mutex<crate::musig2::SessionManager>,
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
        Signer {
            root,
            entropy,
            musig2: std::sync::Mutex::new(crate::musig2::SessionManager::default()),
        }
    }

    /// Where MuSig2 session evictions are reported (the core has no logger).
    pub fn set_musig2_logger(&self, log: crate::musig2::LogSink) {
        self.musig2_sessions().set_logger(log);
    }

    fn musig2_sessions(&self) -> std::sync::MutexGuard<'_, crate::musig2::SessionManager> {
        // A panic while holding the lock cannot leave a session half-updated
        // in a way that matters more than losing the signer: keep serving.
        self.musig2
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
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

    /// MuSig2 requests (spec/signing.md §4), answered by the signer-owned
    /// [`crate::musig2::SessionManager`].
    fn handle_musig2(&self, req: &SignCoordinatorRequest) -> Result<Resp, String> {
        let e = |e: crate::musig2::MuSig2Error| e.to_string();
        match &req.sign_request_type {
            Some(Req::MuSig2SessionRequest(r)) => {
                let mut rand = [0u8; 32];
                self.entropy.fill_bytes(&mut rand);
                let derive = |family: u32, index: u32| {
                    crate::signing::keyloc::locator_key(&self.root, family, index)
                        .map_err(|e| e.to_string())
                };
                self.musig2_sessions()
                    .create_session_with(&derive, r, rand)
                    .map(Resp::MuSig2SessionResponse)
                    .map_err(e)
            }
            Some(Req::MuSig2RegisterNoncesRequest(r)) => self
                .musig2_sessions()
                .register_nonces(r)
                .map(Resp::MuSig2RegisterNoncesResponse)
                .map_err(e),
            Some(Req::MuSig2CombinedNoncesReq(r)) => self
                .musig2_sessions()
                .register_combined_nonce(r)
                .map(Resp::MuSig2CombNoncesResp)
                .map_err(e),
            Some(Req::MuSig2GetCombinedNoncesReq(r)) => self
                .musig2_sessions()
                .get_combined_nonce(r)
                .map(Resp::MuSig2GetCombNoncesResp)
                .map_err(e),
            Some(Req::MuSig2SignRequest(r)) => self
                .musig2_sessions()
                .sign(r)
                .map(Resp::MuSig2SignResponse)
                .map_err(e),
            Some(Req::MuSig2CombineSigRequest(r)) => self
                .musig2_sessions()
                .combine_sig(r)
                .map(Resp::MuSig2CombineSigResponse)
                .map_err(e),
            Some(Req::MuSig2CleanupRequest(r)) => self
                .musig2_sessions()
                .cleanup(r)
                .map(Resp::MuSig2CleanupResponse)
                .map_err(e),
            _ => Err(UNIMPLEMENTED.to_owned()),
        }
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
    fn musig2_is_answered_by_the_session_manager() {
        let s = signer();
        // Unknown session: lnd's error, with lnd's prefix.
        let resp = s.handle(&SignCoordinatorRequest {
            request_id: 3,
            sign_request_type: Some(Req::MuSig2CleanupRequest(signrpc::MuSig2CleanupRequest {
                session_id: vec![1; 32],
            })),
        });
        match resp.sign_response_type {
            Some(Resp::SignerError(e)) => {
                assert!(e.error.starts_with(ERROR_PREFIX), "{}", e.error);
                assert!(e.error.contains("not found"), "{}", e.error);
            }
            other => panic!("unexpected {other:?}"),
        }
        // A session for the key at 0/0 with a second signer: real answer.
        let ours = s.root().lnd_key(0, 0).expect("key");
        let pk = ours.public_key(secp256k1::SECP256K1).serialize().to_vec();
        let other = secp256k1::SecretKey::from_slice(&[9; 32])
            .expect("key")
            .public_key(secp256k1::SECP256K1)
            .serialize()
            .to_vec();
        let resp = s.handle(&SignCoordinatorRequest {
            request_id: 4,
            sign_request_type: Some(Req::MuSig2SessionRequest(signrpc::MuSig2SessionRequest {
                key_loc: Some(signrpc::KeyLocator {
                    key_family: 0,
                    key_index: 0,
                }),
                all_signer_pubkeys: vec![pk, other],
                taproot_tweak: Some(signrpc::TaprootTweakDesc {
                    script_root: vec![],
                    key_spend_only: true,
                }),
                version: signrpc::MuSig2Version::Musig2VersionV100rc2 as i32,
                ..Default::default()
            })),
        });
        let session_id = match resp.sign_response_type {
            Some(Resp::MuSig2SessionResponse(r)) => {
                assert_eq!(r.combined_key.len(), 32);
                assert_eq!(r.taproot_internal_key.len(), 32);
                assert_eq!(r.local_public_nonces.len(), 66);
                assert!(!r.have_all_nonces);
                r.session_id
            }
            other => panic!("unexpected {other:?}"),
        };
        let resp = s.handle(&SignCoordinatorRequest {
            request_id: 5,
            sign_request_type: Some(Req::MuSig2SignRequest(signrpc::MuSig2SignRequest {
                session_id: session_id.clone(),
                message_digest: vec![0; 32],
                cleanup: false,
            })),
        });
        match resp.sign_response_type {
            Some(Resp::SignerError(e)) => {
                assert!(
                    e.error.contains("only have 1 of 2 required nonces"),
                    "{}",
                    e.error
                )
            }
            other => panic!("unexpected {other:?}"),
        }
        let resp = s.handle(&SignCoordinatorRequest {
            request_id: 6,
            sign_request_type: Some(Req::MuSig2CleanupRequest(signrpc::MuSig2CleanupRequest {
                session_id,
            })),
        });
        assert!(
            matches!(
                resp.sign_response_type,
                Some(Resp::MuSig2CleanupResponse(_))
            ),
            "{resp:?}"
        );
    }

    #[test]
    fn debug_is_redacted() {
        let text = format!("{:?}", signer());
        assert!(text.contains("[redacted]"));
    }
}
