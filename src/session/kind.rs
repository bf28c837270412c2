//! Request kinds of the stream and the response member each one allows.

use crate::proto::watchonlyrpc::sign_coordinator_request::SignRequestType as Req;
use crate::proto::watchonlyrpc::sign_coordinator_response::SignResponseType as Resp;
use crate::proto::watchonlyrpc::{SignCoordinatorRequest, SignCoordinatorResponse};

/// The `sign_request_type` member of a [`SignCoordinatorRequest`], without its payload.
///
/// Safe to log: it carries no request data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RequestKind {
    /// `registration_response` (handshake answer, request id 1).
    Registration,
    /// `ping` (health check).
    Ping,
    /// `shared_key_request` (ECDH).
    SharedKey,
    /// `sign_message_req`.
    SignMessage,
    /// `mu_sig2_session_request`.
    MuSig2Session,
    /// `mu_sig2_register_nonces_request`.
    MuSig2RegisterNonces,
    /// `mu_sig2_combined_nonces_req`.
    MuSig2RegisterCombinedNonce,
    /// `mu_sig2_get_combined_nonces_req`.
    MuSig2GetCombinedNonce,
    /// `mu_sig2_sign_request`.
    MuSig2Sign,
    /// `mu_sig2_combine_sig_request`.
    MuSig2CombineSig,
    /// `mu_sig2_cleanup_request`.
    MuSig2Cleanup,
    /// `sign_psbt_request`.
    SignPsbt,
    /// No member set (or a member this build does not know).
    Unset,
}

impl RequestKind {
    /// The kind of `req`.
    pub fn of(req: &SignCoordinatorRequest) -> Self {
        match &req.sign_request_type {
            None => Self::Unset,
            Some(Req::RegistrationResponse(_)) => Self::Registration,
            Some(Req::Ping(_)) => Self::Ping,
            Some(Req::SharedKeyRequest(_)) => Self::SharedKey,
            Some(Req::SignMessageReq(_)) => Self::SignMessage,
            Some(Req::MuSig2SessionRequest(_)) => Self::MuSig2Session,
            Some(Req::MuSig2RegisterNoncesRequest(_)) => Self::MuSig2RegisterNonces,
            Some(Req::MuSig2CombinedNoncesReq(_)) => Self::MuSig2RegisterCombinedNonce,
            Some(Req::MuSig2GetCombinedNoncesReq(_)) => Self::MuSig2GetCombinedNonce,
            Some(Req::MuSig2SignRequest(_)) => Self::MuSig2Sign,
            Some(Req::MuSig2CombineSigRequest(_)) => Self::MuSig2CombineSig,
            Some(Req::MuSig2CleanupRequest(_)) => Self::MuSig2Cleanup,
            Some(Req::SignPsbtRequest(_)) => Self::SignPsbt,
        }
    }

    /// The proto field name of the member (`"unset"` when none is set).
    pub fn name(self) -> &'static str {
        match self {
            Self::Registration => "registration_response",
            Self::Ping => "ping",
            Self::SharedKey => "shared_key_request",
            Self::SignMessage => "sign_message_req",
            Self::MuSig2Session => "mu_sig2_session_request",
            Self::MuSig2RegisterNonces => "mu_sig2_register_nonces_request",
            Self::MuSig2RegisterCombinedNonce => "mu_sig2_combined_nonces_req",
            Self::MuSig2GetCombinedNonce => "mu_sig2_get_combined_nonces_req",
            Self::MuSig2Sign => "mu_sig2_sign_request",
            Self::MuSig2CombineSig => "mu_sig2_combine_sig_request",
            Self::MuSig2Cleanup => "mu_sig2_cleanup_request",
            Self::SignPsbt => "sign_psbt_request",
            Self::Unset => "unset",
        }
    }

    /// Whether `resp` is an acceptable answer to a request of this kind: the
    /// matching member (ping ↔ `pong = true`) or `signer_error`.
    ///
    /// A registration or an unset request is only answered by `signer_error`.
    pub fn accepts(self, resp: &SignCoordinatorResponse) -> bool {
        let Some(member) = &resp.sign_response_type else {
            return false;
        };
        if matches!(member, Resp::SignerError(_)) {
            return true;
        }
        matches!(
            (self, member),
            (Self::Ping, Resp::Pong(true))
                | (Self::SharedKey, Resp::SharedKeyResponse(_))
                | (Self::SignMessage, Resp::SignMessageResp(_))
                | (Self::MuSig2Session, Resp::MuSig2SessionResponse(_))
                | (
                    Self::MuSig2RegisterNonces,
                    Resp::MuSig2RegisterNoncesResponse(_)
                )
                | (
                    Self::MuSig2RegisterCombinedNonce,
                    Resp::MuSig2CombNoncesResp(_)
                )
                | (
                    Self::MuSig2GetCombinedNonce,
                    Resp::MuSig2GetCombNoncesResp(_)
                )
                | (Self::MuSig2Sign, Resp::MuSig2SignResponse(_))
                | (Self::MuSig2CombineSig, Resp::MuSig2CombineSigResponse(_))
                | (Self::MuSig2Cleanup, Resp::MuSig2CleanupResponse(_))
                | (Self::SignPsbt, Resp::SignPsbtResponse(_))
        )
    }
}

impl core::fmt::Display for RequestKind {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.name())
    }
}

/// The proto field name of a response member (`"unset"` when none is set);
/// used in error texts, carries no payload.
pub fn response_member_name(resp: &SignCoordinatorResponse) -> &'static str {
    match &resp.sign_response_type {
        None => "unset",
        Some(Resp::SignerRegistration(_)) => "signer_registration",
        Some(Resp::Pong(true)) => "pong",
        Some(Resp::Pong(false)) => "pong=false",
        Some(Resp::SharedKeyResponse(_)) => "shared_key_response",
        Some(Resp::SignMessageResp(_)) => "sign_message_resp",
        Some(Resp::MuSig2SessionResponse(_)) => "mu_sig2_session_response",
        Some(Resp::MuSig2RegisterNoncesResponse(_)) => "mu_sig2_register_nonces_response",
        Some(Resp::MuSig2CombNoncesResp(_)) => "mu_sig2_comb_nonces_resp",
        Some(Resp::MuSig2GetCombNoncesResp(_)) => "mu_sig2_get_comb_nonces_resp",
        Some(Resp::MuSig2SignResponse(_)) => "mu_sig2_sign_response",
        Some(Resp::MuSig2CombineSigResponse(_)) => "mu_sig2_combine_sig_response",
        Some(Resp::MuSig2CleanupResponse(_)) => "mu_sig2_cleanup_response",
        Some(Resp::SignPsbtResponse(_)) => "sign_psbt_response",
        Some(Resp::SignerError(_)) => "signer_error",
    }
}
