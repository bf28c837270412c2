//! The members of `SignCoordinatorRequest`: one table ([`KINDS`]) with every
//! per-kind property (protobuf field, display name, label, answering
//! member, lnd's retry policy, who answers it), the signing [`Work`] the
//! signer is given, and the `signer_error` texts lnd's signer uses.
//!
//! Everything that names a request kind — the session, the signer, the
//! simulator, hosts' logs and status, the page (through [`kind_table`]) —
//! reads it from here.

use core::fmt;

use serde::Serialize;

use crate::proto::signrpc;
use crate::proto::walletrpc;
use crate::proto::watchonlyrpc::sign_coordinator_request::SignRequestType as Req;
use crate::proto::watchonlyrpc::sign_coordinator_response::SignResponseType as Resp;
use crate::proto::watchonlyrpc::{SignCoordinatorRequest, SignCoordinatorResponse, SignerError};

/// Prefix lnd's signer puts in front of every `signer_error` text.
pub const ERROR_PREFIX: &str = "error processing the request in the remote signer: ";

/// lnd's answer to a request member it does not handle (or no member set).
pub const UNIMPLEMENTED: &str = "unimplemented request by watch-only node";

/// The `sign_request_type` member of a [`SignCoordinatorRequest`], without
/// its payload. Safe to log: it carries no request data.
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
    /// No member set (or a member this build does not know: protobuf
    /// decoding skips unknown fields, so it arrives as no member).
    Unset,
}

/// Who answers a request kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AnsweredBy {
    /// The session, at once (pings, unusable members).
    Session,
    /// The signer ([`crate::signer::Signer::handle`] on a [`Work`]).
    Signer,
}

/// The properties of one request kind (a row of [`KINDS`]); plain data, so a
/// host can hand the whole table to JavaScript ([`kind_table`]; camelCase
/// field names, as JavaScript spells them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct KindInfo {
    /// Protobuf field name of the member in `SignCoordinatorRequest`
    /// (`"unset"` for [`RequestKind::Unset`], which has none); also the
    /// kind's `Display`, used in error texts.
    pub field: &'static str,
    /// Short name in logs, status events and the activity log, e.g. `sign_psbt`.
    pub name: &'static str,
    /// Human label, e.g. `Sign PSBT`.
    pub label: &'static str,
    /// Protobuf field name of the `SignCoordinatorResponse` member that
    /// answers it (`None`: only `signer_error` does).
    pub response: Option<&'static str>,
    /// Whether lnd re-sends the request with a new id after the signer
    /// reconnects (`retryOnDisconnect` in lnd's sign coordinator).
    pub retryable: bool,
    /// Who answers it.
    pub answered_by: AnsweredBy,
}

const fn row(
    field: &'static str,
    name: &'static str,
    label: &'static str,
    response: Option<&'static str>,
    retryable: bool,
    answered_by: AnsweredBy,
) -> KindInfo {
    KindInfo {
        field,
        name,
        label,
        response,
        retryable,
        answered_by,
    }
}

use AnsweredBy::{Session as S, Signer as W};

/// Every request kind, in [`RequestKind`] order (field-number order, then
/// [`RequestKind::Unset`]).
#[rustfmt::skip]
pub static KINDS: [KindInfo; 13] = [
    row("registration_response", "registration_response", "Registration answer", None, false, S),
    row("ping", "ping", "Ping", Some("pong"), true, S),
    row("shared_key_request", "shared_key", "Shared key (ECDH)", Some("shared_key_response"), false, W),
    row("sign_message_req", "sign_message", "Sign message", Some("sign_message_resp"), true, W),
    row("mu_sig2_session_request", "musig2_create_session", "MuSig2 session", Some("mu_sig2_session_response"), false, W),
    row("mu_sig2_register_nonces_request", "musig2_register_nonces", "MuSig2 register nonces", Some("mu_sig2_register_nonces_response"), false, W),
    row("mu_sig2_combined_nonces_req", "musig2_register_combined_nonce", "MuSig2 combined nonce", Some("mu_sig2_comb_nonces_resp"), false, W),
    row("mu_sig2_get_combined_nonces_req", "musig2_get_combined_nonce", "MuSig2 get combined nonce", Some("mu_sig2_get_comb_nonces_resp"), false, W),
    row("mu_sig2_sign_request", "musig2_sign", "MuSig2 sign", Some("mu_sig2_sign_response"), false, W),
    row("mu_sig2_combine_sig_request", "musig2_combine_sig", "MuSig2 combine signatures", Some("mu_sig2_combine_sig_response"), false, W),
    row("mu_sig2_cleanup_request", "musig2_cleanup", "MuSig2 cleanup", Some("mu_sig2_cleanup_response"), false, W),
    row("sign_psbt_request", "sign_psbt", "Sign PSBT", Some("sign_psbt_response"), true, W),
    row("unset", "none", "No request member", None, false, S),
];

/// The whole kind table, for hosts that export it (e.g. to JavaScript).
pub fn kind_table() -> &'static [KindInfo] {
    &KINDS
}

impl RequestKind {
    /// Every kind, in [`KINDS`] order.
    pub const ALL: [RequestKind; 13] = [
        Self::Registration,
        Self::Ping,
        Self::SharedKey,
        Self::SignMessage,
        Self::MuSig2Session,
        Self::MuSig2RegisterNonces,
        Self::MuSig2RegisterCombinedNonce,
        Self::MuSig2GetCombinedNonce,
        Self::MuSig2Sign,
        Self::MuSig2CombineSig,
        Self::MuSig2Cleanup,
        Self::SignPsbt,
        Self::Unset,
    ];

    /// The kind of `req`.
    pub fn of(req: &SignCoordinatorRequest) -> Self {
        req.sign_request_type
            .as_ref()
            .map_or(Self::Unset, Self::of_member)
    }

    /// The kind of a request member.
    pub fn of_member(member: &Req) -> Self {
        match member {
            Req::RegistrationResponse(_) => Self::Registration,
            Req::Ping(_) => Self::Ping,
            Req::SharedKeyRequest(_) => Self::SharedKey,
            Req::SignMessageReq(_) => Self::SignMessage,
            Req::MuSig2SessionRequest(_) => Self::MuSig2Session,
            Req::MuSig2RegisterNoncesRequest(_) => Self::MuSig2RegisterNonces,
            Req::MuSig2CombinedNoncesReq(_) => Self::MuSig2RegisterCombinedNonce,
            Req::MuSig2GetCombinedNoncesReq(_) => Self::MuSig2GetCombinedNonce,
            Req::MuSig2SignRequest(_) => Self::MuSig2Sign,
            Req::MuSig2CombineSigRequest(_) => Self::MuSig2CombineSig,
            Req::MuSig2CleanupRequest(_) => Self::MuSig2Cleanup,
            Req::SignPsbtRequest(_) => Self::SignPsbt,
        }
    }

    /// The kind's row of [`KINDS`].
    pub fn info(self) -> &'static KindInfo {
        &KINDS[self as usize]
    }

    /// Protobuf field name of the member (`"unset"` when none is set).
    pub fn field(self) -> &'static str {
        self.info().field
    }

    /// Short name for logs and status, e.g. `sign_psbt` (`none` when unset).
    pub fn display_name(self) -> &'static str {
        self.info().name
    }

    /// Whether lnd re-sends it after a disconnect.
    pub fn retryable(self) -> bool {
        self.info().retryable
    }

    /// Whether `member` is the response member answering this kind
    /// (`pong` must be true); `signer_error` is not.
    pub fn is_answered_by(self, member: &Resp) -> bool {
        !matches!(member, Resp::Pong(false)) && answer_of(member) == Ok(self)
    }

    /// Whether `resp` is an acceptable answer to a request of this kind: the
    /// matching member (ping ↔ `pong = true`) or `signer_error`.
    ///
    /// A registration or an unset request is only answered by `signer_error`.
    pub fn accepts(self, resp: &SignCoordinatorResponse) -> bool {
        match &resp.sign_response_type {
            None => false,
            Some(Resp::SignerError(_)) => true,
            Some(member) => self.is_answered_by(member),
        }
    }
}

impl fmt::Display for RequestKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.field())
    }
}

/// The request kind a response member answers, or the field name of a member
/// that answers none (`signer_registration`, `signer_error`).
fn answer_of(member: &Resp) -> Result<RequestKind, &'static str> {
    use RequestKind as K;
    Ok(match member {
        Resp::SignerRegistration(_) => return Err("signer_registration"),
        Resp::SignerError(_) => return Err("signer_error"),
        Resp::Pong(_) => K::Ping,
        Resp::SharedKeyResponse(_) => K::SharedKey,
        Resp::SignMessageResp(_) => K::SignMessage,
        Resp::MuSig2SessionResponse(_) => K::MuSig2Session,
        Resp::MuSig2RegisterNoncesResponse(_) => K::MuSig2RegisterNonces,
        Resp::MuSig2CombNoncesResp(_) => K::MuSig2RegisterCombinedNonce,
        Resp::MuSig2GetCombNoncesResp(_) => K::MuSig2GetCombinedNonce,
        Resp::MuSig2SignResponse(_) => K::MuSig2Sign,
        Resp::MuSig2CombineSigResponse(_) => K::MuSig2CombineSig,
        Resp::MuSig2CleanupResponse(_) => K::MuSig2Cleanup,
        Resp::SignPsbtResponse(_) => K::SignPsbt,
    })
}

/// Protobuf field name of a response member.
pub fn response_field(member: &Resp) -> &'static str {
    match answer_of(member) {
        // Every kind a member answers has that member in its row.
        Ok(kind) => kind.info().response.unwrap_or_default(),
        Err(field) => field,
    }
}

/// The field name of a response's member (`"unset"` when none is set,
/// `"pong=false"` for a false pong); used in error texts, carries no payload.
pub fn response_member_name(resp: &SignCoordinatorResponse) -> &'static str {
    match &resp.sign_response_type {
        None => "unset",
        Some(Resp::Pong(false)) => "pong=false",
        Some(member) => response_field(member),
    }
}

/// `signer_error` for request `id` with lnd's text: [`ERROR_PREFIX`] + `error`.
pub fn signer_error(id: u64, error: impl fmt::Display) -> SignCoordinatorResponse {
    SignCoordinatorResponse {
        ref_request_id: id,
        sign_response_type: Some(Resp::SignerError(SignerError {
            error: format!("{ERROR_PREFIX}{error}"),
        })),
    }
}

/// `pong = true` for request `id`.
pub fn pong(id: u64) -> SignCoordinatorResponse {
    SignCoordinatorResponse {
        ref_request_id: id,
        sign_response_type: Some(Resp::Pong(true)),
    }
}

/// The payload of a request the signer works on: every member the session
/// does not answer itself ([`AnsweredBy::Signer`]).
#[derive(Debug, Clone, PartialEq)]
pub enum Op {
    /// `shared_key_request` (ECDH).
    SharedKey(signrpc::SharedKeyRequest),
    /// `sign_message_req`.
    SignMessage(signrpc::SignMessageReq),
    /// `mu_sig2_session_request`.
    MuSig2Session(signrpc::MuSig2SessionRequest),
    /// `mu_sig2_register_nonces_request`.
    MuSig2RegisterNonces(signrpc::MuSig2RegisterNoncesRequest),
    /// `mu_sig2_combined_nonces_req`.
    MuSig2RegisterCombinedNonce(signrpc::MuSig2RegisterCombinedNonceRequest),
    /// `mu_sig2_get_combined_nonces_req`.
    MuSig2GetCombinedNonce(signrpc::MuSig2GetCombinedNonceRequest),
    /// `mu_sig2_sign_request`.
    MuSig2Sign(signrpc::MuSig2SignRequest),
    /// `mu_sig2_combine_sig_request`.
    MuSig2CombineSig(signrpc::MuSig2CombineSigRequest),
    /// `mu_sig2_cleanup_request`.
    MuSig2Cleanup(signrpc::MuSig2CleanupRequest),
    /// `sign_psbt_request`.
    SignPsbt(walletrpc::SignPsbtRequest),
}

/// One request of signing work: its id and payload.
#[derive(Debug, Clone, PartialEq)]
pub struct Work {
    /// The request's `request_id` (the answer's `ref_request_id`).
    pub id: u64,
    /// What to do.
    pub op: Op,
}

impl Work {
    /// The request's kind.
    pub fn kind(&self) -> RequestKind {
        use RequestKind as K;
        match &self.op {
            Op::SharedKey(_) => K::SharedKey,
            Op::SignMessage(_) => K::SignMessage,
            Op::MuSig2Session(_) => K::MuSig2Session,
            Op::MuSig2RegisterNonces(_) => K::MuSig2RegisterNonces,
            Op::MuSig2RegisterCombinedNonce(_) => K::MuSig2RegisterCombinedNonce,
            Op::MuSig2GetCombinedNonce(_) => K::MuSig2GetCombinedNonce,
            Op::MuSig2Sign(_) => K::MuSig2Sign,
            Op::MuSig2CombineSig(_) => K::MuSig2CombineSig,
            Op::MuSig2Cleanup(_) => K::MuSig2Cleanup,
            Op::SignPsbt(_) => K::SignPsbt,
        }
    }

    /// The request back in wire form.
    pub fn into_request(self) -> SignCoordinatorRequest {
        let member = match self.op {
            Op::SharedKey(r) => Req::SharedKeyRequest(r),
            Op::SignMessage(r) => Req::SignMessageReq(r),
            Op::MuSig2Session(r) => Req::MuSig2SessionRequest(r),
            Op::MuSig2RegisterNonces(r) => Req::MuSig2RegisterNoncesRequest(r),
            Op::MuSig2RegisterCombinedNonce(r) => Req::MuSig2CombinedNoncesReq(r),
            Op::MuSig2GetCombinedNonce(r) => Req::MuSig2GetCombinedNoncesReq(r),
            Op::MuSig2Sign(r) => Req::MuSig2SignRequest(r),
            Op::MuSig2CombineSig(r) => Req::MuSig2CombineSigRequest(r),
            Op::MuSig2Cleanup(r) => Req::MuSig2CleanupRequest(r),
            Op::SignPsbt(r) => Req::SignPsbtRequest(r),
        };
        SignCoordinatorRequest {
            request_id: self.id,
            sign_request_type: Some(member),
        }
    }
}

/// A request that is not signing work (a ping, a registration answer, no
/// member): the session answers it, the signer never sees it.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{kind} is answered by the session, not the signer")]
pub struct NotWork {
    /// Its kind.
    pub kind: RequestKind,
    /// The request, unchanged.
    pub request: Box<SignCoordinatorRequest>,
}

impl TryFrom<SignCoordinatorRequest> for Work {
    type Error = NotWork;

    fn try_from(req: SignCoordinatorRequest) -> Result<Self, NotWork> {
        let id = req.request_id;
        let op = match req.sign_request_type {
            Some(Req::SharedKeyRequest(r)) => Op::SharedKey(r),
            Some(Req::SignMessageReq(r)) => Op::SignMessage(r),
            Some(Req::MuSig2SessionRequest(r)) => Op::MuSig2Session(r),
            Some(Req::MuSig2RegisterNoncesRequest(r)) => Op::MuSig2RegisterNonces(r),
            Some(Req::MuSig2CombinedNoncesReq(r)) => Op::MuSig2RegisterCombinedNonce(r),
            Some(Req::MuSig2GetCombinedNoncesReq(r)) => Op::MuSig2GetCombinedNonce(r),
            Some(Req::MuSig2SignRequest(r)) => Op::MuSig2Sign(r),
            Some(Req::MuSig2CombineSigRequest(r)) => Op::MuSig2CombineSig(r),
            Some(Req::MuSig2CleanupRequest(r)) => Op::MuSig2Cleanup(r),
            Some(Req::SignPsbtRequest(r)) => Op::SignPsbt(r),
            member @ (Some(Req::Ping(_) | Req::RegistrationResponse(_)) | None) => {
                let request = Box::new(SignCoordinatorRequest {
                    request_id: id,
                    sign_request_type: member,
                });
                return Err(NotWork {
                    kind: RequestKind::of(&request),
                    request,
                });
            }
        };
        Ok(Work { id, op })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_in_enum_order_and_consistent() {
        for (i, kind) in RequestKind::ALL.iter().enumerate() {
            assert_eq!(*kind as usize, i);
            assert!(core::ptr::eq(kind.info(), &KINDS[i]));
        }
        let mut names: Vec<_> = KINDS.iter().map(|k| k.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), KINDS.len(), "display names are unique");
        assert_eq!(RequestKind::SignPsbt.to_string(), "sign_psbt_request");
        assert_eq!(RequestKind::Unset.display_name(), "none");
    }

    #[test]
    fn work_kinds_and_answers_match_the_table() {
        let work = |member: Req| {
            Work::try_from(SignCoordinatorRequest {
                request_id: 4,
                sign_request_type: Some(member),
            })
        };
        let members = [
            Req::Ping(true),
            Req::SharedKeyRequest(Default::default()),
            Req::SignMessageReq(Default::default()),
            Req::MuSig2SessionRequest(Default::default()),
            Req::MuSig2RegisterNoncesRequest(Default::default()),
            Req::MuSig2CombinedNoncesReq(Default::default()),
            Req::MuSig2GetCombinedNoncesReq(Default::default()),
            Req::MuSig2SignRequest(Default::default()),
            Req::MuSig2CombineSigRequest(Default::default()),
            Req::MuSig2CleanupRequest(Default::default()),
            Req::SignPsbtRequest(Default::default()),
            Req::RegistrationResponse(Default::default()),
        ];
        for member in members {
            let kind = RequestKind::of_member(&member);
            match work(member.clone()) {
                Ok(w) => {
                    assert_eq!(kind.info().answered_by, AnsweredBy::Signer);
                    assert_eq!(w.kind(), kind);
                    assert_eq!(w.id, 4);
                    assert_eq!(RequestKind::of(&w.into_request()), kind);
                }
                Err(e) => {
                    assert_eq!(kind.info().answered_by, AnsweredBy::Session);
                    assert_eq!(e.kind, kind);
                    assert_eq!(e.request.sign_request_type, Some(member));
                }
            }
        }
        let unset = Work::try_from(SignCoordinatorRequest::default()).expect_err("unset");
        assert_eq!(unset.kind, RequestKind::Unset);
    }

    #[test]
    fn response_names() {
        assert_eq!(response_member_name(&pong(1)), "pong");
        assert_eq!(response_member_name(&signer_error(1, "x")), "signer_error");
        assert_eq!(
            response_member_name(&SignCoordinatorResponse::default()),
            "unset"
        );
        let psbt = Resp::SignPsbtResponse(Default::default());
        assert_eq!(response_field(&psbt), "sign_psbt_response");
        assert!(RequestKind::SignPsbt.is_answered_by(&psbt));
        assert!(!RequestKind::Ping.is_answered_by(&Resp::Pong(false)));
        assert_eq!(
            signer_error(3, UNIMPLEMENTED).sign_response_type,
            Some(Resp::SignerError(SignerError {
                error: format!("{ERROR_PREFIX}{UNIMPLEMENTED}")
            }))
        );
    }

    #[test]
    fn table_serializes_as_plain_data() {
        let json = serde_json::to_string(kind_table()).expect("json");
        assert!(json.contains(
            r#"{"field":"sign_psbt_request","name":"sign_psbt","label":"Sign PSBT","response":"sign_psbt_response","retryable":true,"answeredBy":"signer"}"#
        ), "{json}");
    }
}
