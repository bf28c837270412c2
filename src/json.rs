//! Proto3 canonical JSON (protojson) for the stream messages
//! `SignCoordinatorRequest` / `SignCoordinatorResponse` and every message they
//! embed (spec/protocol.md §2).
//!
//! Output is canonical: lowerCamelCase names, bytes as standard base64 with
//! padding, 64-bit integers as strings, enums by name, default scalar fields
//! omitted — except a set oneof member, which is always written (`"ping":
//! true`, `"pong": true`, empty messages as `{}`). Output is one line.
//!
//! Input is what protojson accepts: lowerCamelCase or the original
//! snake_case names, bytes in standard or URL-safe base64 with or without
//! padding, integers as numbers or strings, enums by name or number, `null`
//! for "not set". Unknown fields, a field given twice (under both names) and
//! two members of one oneof are errors.
//!
//! The mapping is table-driven: each message lists its fields once (proto
//! name, Rust field, codec) in [`json_message!`] and both directions are
//! derived from that list.

use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};
use base64::engine::DecodePaddingMode;
use base64::Engine;
use serde_json::{Map, Value};

use crate::proto::signrpc::*;
use crate::proto::walletrpc::{SignPsbtRequest, SignPsbtResponse};
use crate::proto::watchonlyrpc::registration_response::RegistrationResponseType;
use crate::proto::watchonlyrpc::sign_coordinator_request::SignRequestType as Req;
use crate::proto::watchonlyrpc::sign_coordinator_response::SignResponseType as Resp;
use crate::proto::watchonlyrpc::{
    RegistrationComplete, RegistrationResponse, SignCoordinatorRequest, SignCoordinatorResponse,
    SignerError, SignerRegistration,
};

/// Why a JSON text is not a valid message.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum JsonError {
    /// Not JSON at all.
    #[error("invalid JSON: {0}")]
    Syntax(String),
    /// A message must be a JSON object.
    #[error("{message}: expected a JSON object")]
    NotAnObject {
        /// Message type.
        message: &'static str,
    },
    /// A field name the message does not have.
    #[error("{message}: unknown field \"{field}\"")]
    UnknownField {
        /// Message type.
        message: &'static str,
        /// The name given.
        field: String,
    },
    /// The same field under its JSON and its proto name.
    #[error("{message}: field \"{field}\" given more than once")]
    DuplicateField {
        /// Message type.
        message: &'static str,
        /// Proto field name.
        field: &'static str,
    },
    /// Two members of one oneof.
    #[error("{message}: oneof members \"{first}\" and \"{second}\" are both set")]
    MultipleOneof {
        /// Message type.
        message: &'static str,
        /// First member.
        first: &'static str,
        /// Second member.
        second: &'static str,
    },
    /// A value of the wrong type or out of range.
    #[error("{message}.{field}: {reason}")]
    InvalidValue {
        /// Message type.
        message: &'static str,
        /// Proto field name.
        field: &'static str,
        /// What is wrong.
        reason: String,
    },
}

/// lowerCamelCase JSON name of a snake_case proto field (protoc's `json_name`).
pub fn json_name(proto: &str) -> String {
    let mut out = String::with_capacity(proto.len());
    let mut upper = false;
    for c in proto.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

/// Where a value is being decoded (for error messages).
#[derive(Clone, Copy)]
struct Ctx {
    message: &'static str,
    field: &'static str,
}

impl Ctx {
    fn err(self, reason: impl Into<String>) -> JsonError {
        JsonError::InvalidValue {
            message: self.message,
            field: self.field,
            reason: reason.into(),
        }
    }
}

/// Output JSON with object members in field-number order.
#[derive(Debug)]
enum Out {
    Leaf(Value),
    Obj(Fields),
    Arr(Vec<Out>),
}

/// The members of an output object, in order.
type Fields = Vec<(String, Out)>;

impl Out {
    fn render(&self, buf: &mut String) {
        match self {
            Out::Leaf(v) => buf.push_str(&v.to_string()),
            Out::Obj(fields) => render_fields(fields, buf),
            Out::Arr(items) => {
                buf.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        buf.push(',');
                    }
                    item.render(buf);
                }
                buf.push(']');
            }
        }
    }
}

fn render_fields(fields: &Fields, buf: &mut String) {
    buf.push('{');
    for (i, (name, value)) in fields.iter().enumerate() {
        if i > 0 {
            buf.push(',');
        }
        buf.push_str(&Value::String(name.clone()).to_string());
        buf.push(':');
        value.render(buf);
    }
    buf.push('}');
}

/// A message with a JSON object form.
trait JsonMessage: Sized + Default {
    const NAME: &'static str;
    fn to_fields(&self) -> Fields;
    fn from_map(map: &Map<String, Value>) -> Result<Self, JsonError>;
}

fn as_object<'a>(v: &'a Value, message: &'static str) -> Result<&'a Map<String, Value>, JsonError> {
    v.as_object().ok_or(JsonError::NotAnObject { message })
}

/// Every key of `map` must be one of `fields` (proto or JSON name), each at most once.
fn check_fields(
    map: &Map<String, Value>,
    message: &'static str,
    fields: &[&'static str],
) -> Result<(), JsonError> {
    for key in map.keys() {
        if !fields.iter().any(|f| *f == key || json_name(f) == *key) {
            return Err(JsonError::UnknownField {
                message,
                field: key.clone(),
            });
        }
    }
    for f in fields {
        let json = json_name(f);
        if json != *f && map.contains_key(*f) && map.contains_key(&json) {
            return Err(JsonError::DuplicateField { message, field: f });
        }
    }
    Ok(())
}

/// The value of field `proto` (JSON name first), `None` when absent or `null`.
fn lookup<'a>(map: &'a Map<String, Value>, proto: &str) -> Option<&'a Value> {
    map.get(&json_name(proto))
        .or_else(|| map.get(proto))
        .filter(|v| !v.is_null())
}

/// Field codecs: `enc` returns `None` for the proto3 default (field omitted).
mod codec {
    use super::*;

    fn lenient_b64() -> GeneralPurpose {
        GeneralPurpose::new(
            &base64::alphabet::STANDARD,
            GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
        )
    }

    fn integer(v: &Value, ctx: Ctx) -> Result<i128, JsonError> {
        match v {
            Value::Number(n) => {
                if let Some(u) = n.as_u64() {
                    Ok(i128::from(u))
                } else if let Some(i) = n.as_i64() {
                    Ok(i128::from(i))
                } else {
                    let f = n.as_f64().ok_or_else(|| ctx.err("not a number"))?;
                    if f.fract() != 0.0 || !f.is_finite() || f.abs() > 1.9e19 {
                        return Err(ctx.err(format!("{n} is not an integer")));
                    }
                    Ok(f as i128)
                }
            }
            Value::String(s) => s
                .trim()
                .parse::<i128>()
                .map_err(|_| ctx.err(format!("\"{s}\" is not an integer"))),
            _ => Err(ctx.err("expected an integer (number or string)")),
        }
    }

    fn ranged<T: TryFrom<i128>>(v: &Value, ctx: Ctx, what: &str) -> Result<T, JsonError> {
        let n = integer(v, ctx)?;
        T::try_from(n).map_err(|_| ctx.err(format!("{n} is out of range for {what}")))
    }

    pub mod bytes {
        use super::*;
        pub fn enc(v: &[u8]) -> Option<Out> {
            (!v.is_empty()).then(|| Out::Leaf(Value::String(STANDARD.encode(v))))
        }
        pub fn dec(v: &Value, ctx: Ctx) -> Result<Vec<u8>, JsonError> {
            let s = v
                .as_str()
                .ok_or_else(|| ctx.err("expected a base64 string"))?;
            let std_alphabet: String = s
                .chars()
                .map(|c| match c {
                    '-' => '+',
                    '_' => '/',
                    c => c,
                })
                .collect();
            lenient_b64()
                .decode(std_alphabet.as_bytes())
                .map_err(|e| ctx.err(format!("invalid base64: {e}")))
        }
    }

    pub mod rbytes {
        use super::*;
        pub fn enc(v: &[Vec<u8>]) -> Option<Out> {
            (!v.is_empty()).then(|| {
                Out::Arr(
                    v.iter()
                        .map(|b| Out::Leaf(Value::String(STANDARD.encode(b))))
                        .collect(),
                )
            })
        }
        pub fn dec(v: &Value, ctx: Ctx) -> Result<Vec<Vec<u8>>, JsonError> {
            let items = v.as_array().ok_or_else(|| ctx.err("expected an array"))?;
            items.iter().map(|i| super::bytes::dec(i, ctx)).collect()
        }
    }

    pub mod boolean {
        use super::*;
        pub fn enc(v: &bool) -> Option<Out> {
            v.then_some(Out::Leaf(Value::Bool(true)))
        }
        pub fn dec(v: &Value, ctx: Ctx) -> Result<bool, JsonError> {
            v.as_bool().ok_or_else(|| ctx.err("expected true or false"))
        }
    }

    pub mod uint64 {
        use super::*;
        pub fn enc(v: &u64) -> Option<Out> {
            (*v != 0).then(|| Out::Leaf(Value::String(v.to_string())))
        }
        pub fn dec(v: &Value, ctx: Ctx) -> Result<u64, JsonError> {
            ranged(v, ctx, "uint64")
        }
    }

    pub mod int32 {
        use super::*;
        pub fn enc(v: &i32) -> Option<Out> {
            (*v != 0).then(|| Out::Leaf(Value::from(*v)))
        }
        pub fn dec(v: &Value, ctx: Ctx) -> Result<i32, JsonError> {
            ranged(v, ctx, "int32")
        }
    }

    pub mod ruint32 {
        use super::*;
        pub fn enc(v: &[u32]) -> Option<Out> {
            (!v.is_empty())
                .then(|| Out::Arr(v.iter().map(|n| Out::Leaf(Value::from(*n))).collect()))
        }
        pub fn dec(v: &Value, ctx: Ctx) -> Result<Vec<u32>, JsonError> {
            let items = v.as_array().ok_or_else(|| ctx.err("expected an array"))?;
            items.iter().map(|i| ranged(i, ctx, "uint32")).collect()
        }
    }

    pub mod string {
        use super::*;
        pub fn enc(v: &str) -> Option<Out> {
            (!v.is_empty()).then(|| Out::Leaf(Value::String(v.to_owned())))
        }
        pub fn dec(v: &Value, ctx: Ctx) -> Result<String, JsonError> {
            v.as_str()
                .map(str::to_owned)
                .ok_or_else(|| ctx.err("expected a string"))
        }
    }

    /// `MuSig2Version` (stored as i32 by prost).
    pub mod musig2_version {
        use super::*;
        pub fn enc(v: &i32) -> Option<Out> {
            (*v != 0).then(|| {
                Out::Leaf(match MuSig2Version::try_from(*v) {
                    Ok(known) => Value::String(known.as_str_name().to_owned()),
                    Err(_) => Value::from(*v),
                })
            })
        }
        pub fn dec(v: &Value, ctx: Ctx) -> Result<i32, JsonError> {
            match v {
                Value::String(s) => match MuSig2Version::from_str_name(s) {
                    Some(known) => Ok(known as i32),
                    None => s
                        .parse::<i32>()
                        .map_err(|_| ctx.err(format!("unknown MuSig2Version \"{s}\""))),
                },
                _ => ranged(v, ctx, "enum MuSig2Version"),
            }
        }
    }

    pub mod msg {
        use super::*;
        pub fn enc<T: JsonMessage>(v: &Option<T>) -> Option<Out> {
            v.as_ref().map(|m| Out::Obj(m.to_fields()))
        }
        pub fn dec<T: JsonMessage>(v: &Value, _ctx: Ctx) -> Result<Option<T>, JsonError> {
            Ok(Some(T::from_map(as_object(v, T::NAME)?)?))
        }
    }

    pub mod rmsg {
        use super::*;
        pub fn enc<T: JsonMessage>(v: &[T]) -> Option<Out> {
            (!v.is_empty()).then(|| Out::Arr(v.iter().map(|m| Out::Obj(m.to_fields())).collect()))
        }
        pub fn dec<T: JsonMessage>(v: &Value, ctx: Ctx) -> Result<Vec<T>, JsonError> {
            let items = v.as_array().ok_or_else(|| ctx.err("expected an array"))?;
            items
                .iter()
                .map(|i| T::from_map(as_object(i, T::NAME)?))
                .collect()
        }
    }
}

/// Declares the JSON form of a plain (oneof-free) message: its full proto
/// name and, per field, `rust_field: codec = "proto_name"`.
macro_rules! json_message {
    ($ty:ty, $name:literal, { $($field:ident : $codec:ident = $proto:literal),* $(,)? }) => {
        impl JsonMessage for $ty {
            const NAME: &'static str = $name;

            #[allow(unused_mut)]
            fn to_fields(&self) -> Fields {
                let mut fields = Fields::new();
                $(
                    if let Some(v) = codec::$codec::enc(&self.$field) {
                        fields.push((json_name($proto), v));
                    }
                )*
                fields
            }

            #[allow(unused_mut)]
            fn from_map(map: &Map<String, Value>) -> Result<Self, JsonError> {
                check_fields(map, $name, &[$($proto),*])?;
                let mut out = <$ty>::default();
                $(
                    if let Some(v) = lookup(map, $proto) {
                        out.$field = codec::$codec::dec(v, Ctx { message: $name, field: $proto })?;
                    }
                )*
                Ok(out)
            }
        }
    };
}

json_message!(KeyLocator, "signrpc.KeyLocator", {
    key_family: int32 = "key_family",
    key_index: int32 = "key_index",
});
json_message!(KeyDescriptor, "signrpc.KeyDescriptor", {
    raw_key_bytes: bytes = "raw_key_bytes",
    key_loc: msg = "key_loc",
});
json_message!(SharedKeyRequest, "signrpc.SharedKeyRequest", {
    ephemeral_pubkey: bytes = "ephemeral_pubkey",
    key_loc: msg = "key_loc",
    key_desc: msg = "key_desc",
});
json_message!(SharedKeyResponse, "signrpc.SharedKeyResponse", {
    shared_key: bytes = "shared_key",
});
json_message!(SignMessageReq, "signrpc.SignMessageReq", {
    msg: bytes = "msg",
    key_loc: msg = "key_loc",
    double_hash: boolean = "double_hash",
    compact_sig: boolean = "compact_sig",
    schnorr_sig: boolean = "schnorr_sig",
    schnorr_sig_tap_tweak: bytes = "schnorr_sig_tap_tweak",
    tag: bytes = "tag",
});
json_message!(SignMessageResp, "signrpc.SignMessageResp", {
    signature: bytes = "signature",
});
json_message!(TweakDesc, "signrpc.TweakDesc", {
    tweak: bytes = "tweak",
    is_x_only: boolean = "is_x_only",
});
json_message!(TaprootTweakDesc, "signrpc.TaprootTweakDesc", {
    script_root: bytes = "script_root",
    key_spend_only: boolean = "key_spend_only",
});
json_message!(MuSig2SessionRequest, "signrpc.MuSig2SessionRequest", {
    key_loc: msg = "key_loc",
    all_signer_pubkeys: rbytes = "all_signer_pubkeys",
    other_signer_public_nonces: rbytes = "other_signer_public_nonces",
    tweaks: rmsg = "tweaks",
    taproot_tweak: msg = "taproot_tweak",
    version: musig2_version = "version",
    pregenerated_local_nonce: bytes = "pregenerated_local_nonce",
});
json_message!(MuSig2SessionResponse, "signrpc.MuSig2SessionResponse", {
    session_id: bytes = "session_id",
    combined_key: bytes = "combined_key",
    taproot_internal_key: bytes = "taproot_internal_key",
    local_public_nonces: bytes = "local_public_nonces",
    have_all_nonces: boolean = "have_all_nonces",
    version: musig2_version = "version",
});
json_message!(MuSig2RegisterNoncesRequest, "signrpc.MuSig2RegisterNoncesRequest", {
    session_id: bytes = "session_id",
    other_signer_public_nonces: rbytes = "other_signer_public_nonces",
});
json_message!(MuSig2RegisterNoncesResponse, "signrpc.MuSig2RegisterNoncesResponse", {
    have_all_nonces: boolean = "have_all_nonces",
});
json_message!(MuSig2RegisterCombinedNonceRequest, "signrpc.MuSig2RegisterCombinedNonceRequest", {
    session_id: bytes = "session_id",
    combined_public_nonce: bytes = "combined_public_nonce",
});
json_message!(
    MuSig2RegisterCombinedNonceResponse,
    "signrpc.MuSig2RegisterCombinedNonceResponse",
    {}
);
json_message!(MuSig2GetCombinedNonceRequest, "signrpc.MuSig2GetCombinedNonceRequest", {
    session_id: bytes = "session_id",
});
json_message!(MuSig2GetCombinedNonceResponse, "signrpc.MuSig2GetCombinedNonceResponse", {
    combined_public_nonce: bytes = "combined_public_nonce",
});
json_message!(MuSig2SignRequest, "signrpc.MuSig2SignRequest", {
    session_id: bytes = "session_id",
    message_digest: bytes = "message_digest",
    cleanup: boolean = "cleanup",
});
json_message!(MuSig2SignResponse, "signrpc.MuSig2SignResponse", {
    local_partial_signature: bytes = "local_partial_signature",
});
json_message!(MuSig2CombineSigRequest, "signrpc.MuSig2CombineSigRequest", {
    session_id: bytes = "session_id",
    other_partial_signatures: rbytes = "other_partial_signatures",
});
json_message!(MuSig2CombineSigResponse, "signrpc.MuSig2CombineSigResponse", {
    have_all_signatures: boolean = "have_all_signatures",
    final_signature: bytes = "final_signature",
});
json_message!(MuSig2CleanupRequest, "signrpc.MuSig2CleanupRequest", {
    session_id: bytes = "session_id",
});
json_message!(MuSig2CleanupResponse, "signrpc.MuSig2CleanupResponse", {});
json_message!(SignPsbtRequest, "walletrpc.SignPsbtRequest", {
    funded_psbt: bytes = "funded_psbt",
});
json_message!(SignPsbtResponse, "walletrpc.SignPsbtResponse", {
    signed_psbt: bytes = "signed_psbt",
    signed_inputs: ruint32 = "signed_inputs",
});
json_message!(SignerError, "watchonlyrpc.SignerError", {
    error: string = "error",
});
json_message!(SignerRegistration, "watchonlyrpc.SignerRegistration", {
    registration_challenge: bytes = "registration_challenge",
    registration_info: string = "registration_info",
});
json_message!(RegistrationComplete, "watchonlyrpc.RegistrationComplete", {
    signature: string = "signature",
    registration_info: string = "registration_info",
});

/// The one oneof member present in `map` among `members`, if any.
fn oneof_member<'a>(
    map: &'a Map<String, Value>,
    message: &'static str,
    members: &[&'static str],
) -> Result<Option<(&'static str, &'a Value)>, JsonError> {
    let mut found: Option<(&'static str, &'a Value)> = None;
    for m in members {
        if let Some(v) = lookup(map, m) {
            if let Some((first, _)) = found {
                return Err(JsonError::MultipleOneof {
                    message,
                    first,
                    second: m,
                });
            }
            found = Some((m, v));
        }
    }
    Ok(found)
}

fn sub<T: JsonMessage>(v: &Value) -> Result<T, JsonError> {
    T::from_map(as_object(v, T::NAME)?)
}

fn member(fields: &mut Fields, proto: &str, v: Out) {
    fields.push((json_name(proto), v));
}

fn obj<T: JsonMessage>(m: &T) -> Out {
    Out::Obj(m.to_fields())
}

impl JsonMessage for RegistrationResponse {
    const NAME: &'static str = "watchonlyrpc.RegistrationResponse";

    fn to_fields(&self) -> Fields {
        let mut map = Fields::new();
        match &self.registration_response_type {
            Some(RegistrationResponseType::RegistrationComplete(c)) => {
                member(&mut map, "registration_complete", obj(c))
            }
            Some(RegistrationResponseType::RegistrationError(e)) => member(
                &mut map,
                "registration_error",
                Out::Leaf(Value::String(e.clone())),
            ),
            None => {}
        }
        map
    }

    fn from_map(map: &Map<String, Value>) -> Result<Self, JsonError> {
        const MEMBERS: [&str; 2] = ["registration_complete", "registration_error"];
        check_fields(map, Self::NAME, &MEMBERS)?;
        let ty = match oneof_member(map, Self::NAME, &MEMBERS)? {
            None => None,
            Some(("registration_complete", v)) => {
                Some(RegistrationResponseType::RegistrationComplete(sub(v)?))
            }
            Some((field, v)) => Some(RegistrationResponseType::RegistrationError(
                codec::string::dec(
                    v,
                    Ctx {
                        message: Self::NAME,
                        field,
                    },
                )?,
            )),
        };
        Ok(RegistrationResponse {
            registration_response_type: ty,
        })
    }
}

const REQUEST: &str = "watchonlyrpc.SignCoordinatorRequest";
const REQUEST_FIELDS: [&str; 13] = [
    "request_id",
    "registration_response",
    "ping",
    "shared_key_request",
    "sign_message_req",
    "mu_sig2_session_request",
    "mu_sig2_register_nonces_request",
    "mu_sig2_combined_nonces_req",
    "mu_sig2_get_combined_nonces_req",
    "mu_sig2_sign_request",
    "mu_sig2_combine_sig_request",
    "mu_sig2_cleanup_request",
    "sign_psbt_request",
];

fn request_from_map(map: &Map<String, Value>) -> Result<SignCoordinatorRequest, JsonError> {
    check_fields(map, REQUEST, &REQUEST_FIELDS)?;
    let request_id = match lookup(map, "request_id") {
        Some(v) => codec::uint64::dec(
            v,
            Ctx {
                message: REQUEST,
                field: "request_id",
            },
        )?,
        None => 0,
    };
    let ty = match oneof_member(map, REQUEST, &REQUEST_FIELDS[1..])? {
        None => None,
        Some((field, v)) => Some(match field {
            "registration_response" => Req::RegistrationResponse(sub(v)?),
            "ping" => Req::Ping(codec::boolean::dec(
                v,
                Ctx {
                    message: REQUEST,
                    field,
                },
            )?),
            "shared_key_request" => Req::SharedKeyRequest(sub(v)?),
            "sign_message_req" => Req::SignMessageReq(sub(v)?),
            "mu_sig2_session_request" => Req::MuSig2SessionRequest(sub(v)?),
            "mu_sig2_register_nonces_request" => Req::MuSig2RegisterNoncesRequest(sub(v)?),
            "mu_sig2_combined_nonces_req" => Req::MuSig2CombinedNoncesReq(sub(v)?),
            "mu_sig2_get_combined_nonces_req" => Req::MuSig2GetCombinedNoncesReq(sub(v)?),
            "mu_sig2_sign_request" => Req::MuSig2SignRequest(sub(v)?),
            "mu_sig2_combine_sig_request" => Req::MuSig2CombineSigRequest(sub(v)?),
            "mu_sig2_cleanup_request" => Req::MuSig2CleanupRequest(sub(v)?),
            _ => Req::SignPsbtRequest(sub(v)?),
        }),
    };
    Ok(SignCoordinatorRequest {
        request_id,
        sign_request_type: ty,
    })
}

fn request_to_fields(r: &SignCoordinatorRequest) -> Fields {
    let mut map = Fields::new();
    if let Some(v) = codec::uint64::enc(&r.request_id) {
        member(&mut map, "request_id", v);
    }
    let (name, value) = match &r.sign_request_type {
        None => return map,
        Some(Req::RegistrationResponse(m)) => ("registration_response", obj(m)),
        Some(Req::Ping(b)) => ("ping", Out::Leaf(Value::Bool(*b))),
        Some(Req::SharedKeyRequest(m)) => ("shared_key_request", obj(m)),
        Some(Req::SignMessageReq(m)) => ("sign_message_req", obj(m)),
        Some(Req::MuSig2SessionRequest(m)) => ("mu_sig2_session_request", obj(m)),
        Some(Req::MuSig2RegisterNoncesRequest(m)) => ("mu_sig2_register_nonces_request", obj(m)),
        Some(Req::MuSig2CombinedNoncesReq(m)) => ("mu_sig2_combined_nonces_req", obj(m)),
        Some(Req::MuSig2GetCombinedNoncesReq(m)) => ("mu_sig2_get_combined_nonces_req", obj(m)),
        Some(Req::MuSig2SignRequest(m)) => ("mu_sig2_sign_request", obj(m)),
        Some(Req::MuSig2CombineSigRequest(m)) => ("mu_sig2_combine_sig_request", obj(m)),
        Some(Req::MuSig2CleanupRequest(m)) => ("mu_sig2_cleanup_request", obj(m)),
        Some(Req::SignPsbtRequest(m)) => ("sign_psbt_request", obj(m)),
    };
    member(&mut map, name, value);
    map
}

const RESPONSE: &str = "watchonlyrpc.SignCoordinatorResponse";
const RESPONSE_FIELDS: [&str; 14] = [
    "ref_request_id",
    "signer_registration",
    "pong",
    "shared_key_response",
    "sign_message_resp",
    "mu_sig2_session_response",
    "mu_sig2_register_nonces_response",
    "mu_sig2_comb_nonces_resp",
    "mu_sig2_get_comb_nonces_resp",
    "mu_sig2_sign_response",
    "mu_sig2_combine_sig_response",
    "mu_sig2_cleanup_response",
    "sign_psbt_response",
    "signer_error",
];

fn response_from_map(map: &Map<String, Value>) -> Result<SignCoordinatorResponse, JsonError> {
    check_fields(map, RESPONSE, &RESPONSE_FIELDS)?;
    let ref_request_id = match lookup(map, "ref_request_id") {
        Some(v) => codec::uint64::dec(
            v,
            Ctx {
                message: RESPONSE,
                field: "ref_request_id",
            },
        )?,
        None => 0,
    };
    let ty = match oneof_member(map, RESPONSE, &RESPONSE_FIELDS[1..])? {
        None => None,
        Some((field, v)) => Some(match field {
            "signer_registration" => Resp::SignerRegistration(sub(v)?),
            "pong" => Resp::Pong(codec::boolean::dec(
                v,
                Ctx {
                    message: RESPONSE,
                    field,
                },
            )?),
            "shared_key_response" => Resp::SharedKeyResponse(sub(v)?),
            "sign_message_resp" => Resp::SignMessageResp(sub(v)?),
            "mu_sig2_session_response" => Resp::MuSig2SessionResponse(sub(v)?),
            "mu_sig2_register_nonces_response" => Resp::MuSig2RegisterNoncesResponse(sub(v)?),
            "mu_sig2_comb_nonces_resp" => Resp::MuSig2CombNoncesResp(sub(v)?),
            "mu_sig2_get_comb_nonces_resp" => Resp::MuSig2GetCombNoncesResp(sub(v)?),
            "mu_sig2_sign_response" => Resp::MuSig2SignResponse(sub(v)?),
            "mu_sig2_combine_sig_response" => Resp::MuSig2CombineSigResponse(sub(v)?),
            "mu_sig2_cleanup_response" => Resp::MuSig2CleanupResponse(sub(v)?),
            "sign_psbt_response" => Resp::SignPsbtResponse(sub(v)?),
            _ => Resp::SignerError(sub(v)?),
        }),
    };
    Ok(SignCoordinatorResponse {
        ref_request_id,
        sign_response_type: ty,
    })
}

fn response_to_fields(r: &SignCoordinatorResponse) -> Fields {
    let mut map = Fields::new();
    if let Some(v) = codec::uint64::enc(&r.ref_request_id) {
        member(&mut map, "ref_request_id", v);
    }
    let (name, value) = match &r.sign_response_type {
        None => return map,
        Some(Resp::SignerRegistration(m)) => ("signer_registration", obj(m)),
        Some(Resp::Pong(b)) => ("pong", Out::Leaf(Value::Bool(*b))),
        Some(Resp::SharedKeyResponse(m)) => ("shared_key_response", obj(m)),
        Some(Resp::SignMessageResp(m)) => ("sign_message_resp", obj(m)),
        Some(Resp::MuSig2SessionResponse(m)) => ("mu_sig2_session_response", obj(m)),
        Some(Resp::MuSig2RegisterNoncesResponse(m)) => ("mu_sig2_register_nonces_response", obj(m)),
        Some(Resp::MuSig2CombNoncesResp(m)) => ("mu_sig2_comb_nonces_resp", obj(m)),
        Some(Resp::MuSig2GetCombNoncesResp(m)) => ("mu_sig2_get_comb_nonces_resp", obj(m)),
        Some(Resp::MuSig2SignResponse(m)) => ("mu_sig2_sign_response", obj(m)),
        Some(Resp::MuSig2CombineSigResponse(m)) => ("mu_sig2_combine_sig_response", obj(m)),
        Some(Resp::MuSig2CleanupResponse(m)) => ("mu_sig2_cleanup_response", obj(m)),
        Some(Resp::SignPsbtResponse(m)) => ("sign_psbt_response", obj(m)),
        Some(Resp::SignerError(m)) => ("signer_error", obj(m)),
    };
    member(&mut map, name, value);
    map
}

fn parse_object(s: &str, message: &'static str) -> Result<Map<String, Value>, JsonError> {
    match serde_json::from_str::<Value>(s) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(JsonError::NotAnObject { message }),
        Err(e) => Err(JsonError::Syntax(e.to_string())),
    }
}

/// Parses a `SignCoordinatorRequest` from protojson.
pub fn request_from_json(s: &str) -> Result<SignCoordinatorRequest, JsonError> {
    request_from_map(&parse_object(s, REQUEST)?)
}

/// Canonical protojson of a `SignCoordinatorRequest` (one line).
pub fn request_to_json(r: &SignCoordinatorRequest) -> String {
    let mut buf = String::new();
    render_fields(&request_to_fields(r), &mut buf);
    buf
}

/// Parses a `SignCoordinatorResponse` from protojson.
pub fn response_from_json(s: &str) -> Result<SignCoordinatorResponse, JsonError> {
    response_from_map(&parse_object(s, RESPONSE)?)
}

/// Canonical protojson of a `SignCoordinatorResponse` (one line).
pub fn response_to_json(r: &SignCoordinatorResponse) -> String {
    let mut buf = String::new();
    render_fields(&response_to_fields(r), &mut buf);
    buf
}

#[cfg(test)]
mod tests {
    use super::*;

    fn loc() -> Option<KeyLocator> {
        Some(KeyLocator {
            key_family: 6,
            key_index: -2,
        })
    }

    fn b(n: u8, len: usize) -> Vec<u8> {
        (0..len).map(|i| n.wrapping_add(i as u8)).collect()
    }

    /// One request per oneof member, every field non-default.
    fn all_requests() -> Vec<SignCoordinatorRequest> {
        let members = vec![
            Req::RegistrationResponse(RegistrationResponse {
                registration_response_type: Some(RegistrationResponseType::RegistrationComplete(
                    RegistrationComplete {
                        signature: "sig".into(),
                        registration_info: "watch-only registration info".into(),
                    },
                )),
            }),
            Req::RegistrationResponse(RegistrationResponse {
                registration_response_type: Some(RegistrationResponseType::RegistrationError(
                    "nope".into(),
                )),
            }),
            Req::Ping(true),
            Req::SharedKeyRequest(SharedKeyRequest {
                ephemeral_pubkey: b(2, 33),
                key_loc: loc(),
                key_desc: Some(KeyDescriptor {
                    raw_key_bytes: b(3, 33),
                    key_loc: loc(),
                }),
            }),
            Req::SignMessageReq(SignMessageReq {
                msg: b(0xfb, 5),
                key_loc: loc(),
                double_hash: true,
                compact_sig: true,
                schnorr_sig: true,
                schnorr_sig_tap_tweak: b(1, 32),
                tag: b"tag".to_vec(),
            }),
            Req::MuSig2SessionRequest(MuSig2SessionRequest {
                key_loc: loc(),
                all_signer_pubkeys: vec![b(1, 33), b(2, 33)],
                other_signer_public_nonces: vec![b(3, 66)],
                tweaks: vec![
                    TweakDesc {
                        tweak: b(4, 32),
                        is_x_only: true,
                    },
                    TweakDesc::default(),
                ],
                taproot_tweak: Some(TaprootTweakDesc {
                    script_root: b(5, 32),
                    key_spend_only: true,
                }),
                version: MuSig2Version::Musig2VersionV100rc2 as i32,
                pregenerated_local_nonce: b(6, 97),
            }),
            Req::MuSig2RegisterNoncesRequest(MuSig2RegisterNoncesRequest {
                session_id: b(7, 32),
                other_signer_public_nonces: vec![b(8, 66)],
            }),
            Req::MuSig2CombinedNoncesReq(MuSig2RegisterCombinedNonceRequest {
                session_id: b(9, 32),
                combined_public_nonce: b(10, 66),
            }),
            Req::MuSig2GetCombinedNoncesReq(MuSig2GetCombinedNonceRequest {
                session_id: b(11, 32),
            }),
            Req::MuSig2SignRequest(MuSig2SignRequest {
                session_id: b(12, 32),
                message_digest: b(13, 32),
                cleanup: true,
            }),
            Req::MuSig2CombineSigRequest(MuSig2CombineSigRequest {
                session_id: b(14, 32),
                other_partial_signatures: vec![b(15, 32), b(16, 32)],
            }),
            Req::MuSig2CleanupRequest(MuSig2CleanupRequest {
                session_id: b(17, 32),
            }),
            Req::SignPsbtRequest(SignPsbtRequest {
                funded_psbt: b(0xfe, 40),
            }),
        ];
        members
            .into_iter()
            .enumerate()
            .map(|(i, m)| SignCoordinatorRequest {
                request_id: u64::MAX - i as u64,
                sign_request_type: Some(m),
            })
            .collect()
    }

    fn all_responses() -> Vec<SignCoordinatorResponse> {
        let members = vec![
            Resp::SignerRegistration(SignerRegistration {
                registration_challenge: b"registrationChallenge".to_vec(),
                registration_info: "outboundSigner".into(),
            }),
            Resp::Pong(true),
            Resp::SharedKeyResponse(SharedKeyResponse {
                shared_key: b(1, 32),
            }),
            Resp::SignMessageResp(SignMessageResp {
                signature: b(2, 65),
            }),
            Resp::MuSig2SessionResponse(MuSig2SessionResponse {
                session_id: b(3, 32),
                combined_key: b(4, 32),
                taproot_internal_key: b(5, 32),
                local_public_nonces: b(6, 66),
                have_all_nonces: true,
                version: 1,
            }),
            Resp::MuSig2RegisterNoncesResponse(MuSig2RegisterNoncesResponse {
                have_all_nonces: true,
            }),
            Resp::MuSig2CombNoncesResp(MuSig2RegisterCombinedNonceResponse {}),
            Resp::MuSig2GetCombNoncesResp(MuSig2GetCombinedNonceResponse {
                combined_public_nonce: b(7, 66),
            }),
            Resp::MuSig2SignResponse(MuSig2SignResponse {
                local_partial_signature: b(8, 32),
            }),
            Resp::MuSig2CombineSigResponse(MuSig2CombineSigResponse {
                have_all_signatures: true,
                final_signature: b(9, 64),
            }),
            Resp::MuSig2CleanupResponse(MuSig2CleanupResponse {}),
            Resp::SignPsbtResponse(SignPsbtResponse {
                signed_psbt: b(10, 50),
                signed_inputs: vec![0, 2, u32::MAX],
            }),
            Resp::SignerError(SignerError {
                error: "boom \"quoted\"\n".into(),
            }),
        ];
        members
            .into_iter()
            .enumerate()
            .map(|(i, m)| SignCoordinatorResponse {
                ref_request_id: i as u64 + 1,
                sign_response_type: Some(m),
            })
            .collect()
    }

    /// Rewrites every object key of a JSON value to snake_case.
    fn snake(v: &Value) -> Value {
        match v {
            Value::Object(m) => Value::Object(
                m.iter()
                    .map(|(k, v)| {
                        let mut s = String::new();
                        for c in k.chars() {
                            if c.is_ascii_uppercase() {
                                s.push('_');
                                s.push(c.to_ascii_lowercase());
                            } else {
                                s.push(c);
                            }
                        }
                        (s, snake(v))
                    })
                    .collect(),
            ),
            Value::Array(a) => Value::Array(a.iter().map(snake).collect()),
            other => other.clone(),
        }
    }

    #[test]
    fn requests_round_trip_both_name_styles() {
        for r in all_requests() {
            let text = request_to_json(&r);
            assert!(!text.contains('\n'));
            assert_eq!(request_from_json(&text).expect("camel"), r, "{text}");
            let snake_text = snake(&serde_json::from_str(&text).expect("json")).to_string();
            assert_eq!(
                request_from_json(&snake_text).expect("snake"),
                r,
                "{snake_text}"
            );
        }
    }

    #[test]
    fn responses_round_trip_both_name_styles() {
        for r in all_responses() {
            let text = response_to_json(&r);
            assert!(!text.contains('\n'));
            assert_eq!(response_from_json(&text).expect("camel"), r, "{text}");
            let snake_text = snake(&serde_json::from_str(&text).expect("json")).to_string();
            assert_eq!(
                response_from_json(&snake_text).expect("snake"),
                r,
                "{snake_text}"
            );
        }
    }

    #[test]
    fn canonical_form() {
        let ping = SignCoordinatorRequest {
            request_id: 7,
            sign_request_type: Some(Req::Ping(true)),
        };
        assert_eq!(request_to_json(&ping), r#"{"requestId":"7","ping":true}"#);
        let empty = SignCoordinatorResponse {
            ref_request_id: 0,
            sign_response_type: Some(Resp::MuSig2CleanupResponse(MuSig2CleanupResponse {})),
        };
        assert_eq!(response_to_json(&empty), r#"{"muSig2CleanupResponse":{}}"#);
        let pong = SignCoordinatorResponse {
            ref_request_id: 3,
            sign_response_type: Some(Resp::Pong(true)),
        };
        assert_eq!(
            response_to_json(&pong),
            r#"{"refRequestId":"3","pong":true}"#
        );
        let psbt = SignCoordinatorResponse {
            ref_request_id: 4,
            sign_response_type: Some(Resp::SignPsbtResponse(SignPsbtResponse {
                signed_psbt: vec![0xfb, 0xff],
                signed_inputs: vec![1, 3],
            })),
        };
        assert_eq!(
            response_to_json(&psbt),
            r#"{"refRequestId":"4","signPsbtResponse":{"signedPsbt":"+/8=","signedInputs":[1,3]}}"#
        );
        let musig = SignCoordinatorRequest {
            request_id: 1,
            sign_request_type: Some(Req::MuSig2SessionRequest(MuSig2SessionRequest {
                version: 2,
                ..Default::default()
            })),
        };
        assert_eq!(
            request_to_json(&musig),
            r#"{"requestId":"1","muSig2SessionRequest":{"version":"MUSIG2_VERSION_V100RC2"}}"#
        );
    }

    #[test]
    fn lenient_input_forms() {
        // uint64 as number, url-safe base64 without padding, enum by number, null member.
        let r = request_from_json(
            r#"{"request_id": 5, "signPsbtRequest": {"fundedPsbt": "-_8"}, "ping": null}"#,
        )
        .expect("lenient");
        assert_eq!(r.request_id, 5);
        assert_eq!(
            r.sign_request_type,
            Some(Req::SignPsbtRequest(SignPsbtRequest {
                funded_psbt: vec![0xfb, 0xff]
            }))
        );
        let r = request_from_json(
            r#"{"requestId":"18446744073709551615","muSig2SessionRequest":{"version":1}}"#,
        )
        .expect("enum number");
        assert_eq!(r.request_id, u64::MAX);
        match r.sign_request_type {
            Some(Req::MuSig2SessionRequest(m)) => assert_eq!(m.version, 1),
            other => panic!("{other:?}"),
        }
        let r = request_from_json(
            r#"{"requestId":"2","sharedKeyRequest":{"keyLoc":{"keyFamily":"6","keyIndex":-1}}}"#,
        )
        .expect("int32 as string");
        match r.sign_request_type {
            Some(Req::SharedKeyRequest(m)) => assert_eq!(
                m.key_loc,
                Some(KeyLocator {
                    key_family: 6,
                    key_index: -1
                })
            ),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn rejects_bad_input() {
        let bad = [
            "not json",
            "[1]",
            r#"{"requestId":"1","bogus":true}"#,
            r#"{"requestId":"1","request_id":"1","ping":true}"#,
            r#"{"requestId":"1","ping":true,"signPsbtRequest":{}}"#,
            r#"{"requestId":"-1","ping":true}"#,
            r#"{"requestId":"1.5","ping":true}"#,
            r#"{"requestId":"1","ping":"yes"}"#,
            r#"{"requestId":"1","signPsbtRequest":{"fundedPsbt":"***"}}"#,
            r#"{"requestId":"1","signPsbtRequest":[]}"#,
            r#"{"requestId":"1","sharedKeyRequest":{"keyLoc":{"keyFamily":4294967296}}}"#,
            r#"{"requestId":"1","muSig2SessionRequest":{"version":"MUSIG2_NOPE"}}"#,
        ];
        for text in bad {
            assert!(request_from_json(text).is_err(), "{text} must be rejected");
        }
        let err = request_from_json(r#"{"requestId":"1","bogus":true}"#).expect_err("unknown");
        assert!(err.to_string().contains("unknown field \"bogus\""), "{err}");
    }
}
