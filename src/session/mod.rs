//! Sans-IO protocol session for lnd's `watchonlyrpc.WatchOnly/SignCoordinatorStreams`
//! stream (spec: `protocol.md` §3).
//!
//! A [`Session`] owns nothing but the protocol state of **one** stream. The
//! host (native tonic client, wasm grpc-web bridge client, tests) opens the
//! stream, sends what [`Session::start`] returns, feeds every received
//! [`SignCoordinatorRequest`] to [`Session::on_request`] and acts on the
//! returned [`Event`]:
//!
//! * [`Event::Registered`] – the handshake completed (reset the [`Backoff`]).
//! * [`Event::Reply`] – send this response at once (pongs, `signer_error` for
//!   unset members): never wait behind signing work.
//! * [`Event::Handle`] – run the signing core on the [`Work`] (possibly on
//!   another thread, concurrently with other requests), pass its answer
//!   through [`finish`] (or use [`answer`]) and send it.
//!
//! Only the session answers pings and requests that are not signing work
//! ([`route`]; hosts without a stream, such as `lnd-web-signer handle`, use
//! [`respond`]); the signer is only given [`Work`].
//!
//! Any `Err(SessionError)` ends the attempt: close the stream, wait
//! [`Backoff::after_attempt`] and start a fresh `Session` on a new stream.
//! The signing core (and with it MuSig2 sessions) lives outside the session
//! and survives reconnects.
//!
//! Time is passed in by the host as a [`Duration`] since an arbitrary fixed
//! epoch of a monotonic clock (wasm has no `std::time::Instant`).
//! [`Session::poll_timeout`] returns the next deadline; the host calls
//! [`Session::on_timeout`] when that moment has passed. While the handshake
//! is pending that is the handshake deadline; once registered it is the idle
//! watchdog's ([`SessionConfig::idle_timeout`]): lnd pings its signer every
//! `healthcheck.remotesigner.interval` (1 min by default), so a stream on
//! which nothing at all arrives for several intervals is presumed dead (a
//! half-open connection, a hung bridge) and the session ends with
//! [`SessionError::IdleTimeout`], so that the host reconnects. Every
//! received message restarts the watchdog.

mod backoff;

pub use crate::request::{pong, response_member_name, signer_error, RequestKind, Work};
pub use backoff::{apply_jitter, Backoff, INITIAL_BACKOFF, JITTER_PERCENT, MAX_BACKOFF};

use core::time::Duration;

use crate::proto::watchonlyrpc::registration_response::RegistrationResponseType;
use crate::proto::watchonlyrpc::sign_coordinator_request::SignRequestType;
use crate::proto::watchonlyrpc::sign_coordinator_response::SignResponseType;
use crate::proto::watchonlyrpc::{
    SignCoordinatorRequest, SignCoordinatorResponse, SignerRegistration,
};
use crate::request::{NotWork, UNIMPLEMENTED};

/// Request id reserved for the handshake, in both directions.
pub const HANDSHAKE_REQUEST_ID: u64 = 1;

/// How long to wait for the node's registration answer after sending the
/// registration (lnd's `experimentalrequesttimeout` default).
pub const DEFAULT_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(5);

/// lnd's default health-check interval (`healthcheck.remotesigner.interval`,
/// `defaultRSInterval` in lnd's `config.go`): the watch-only node pings its
/// signer this often.
pub const DEFAULT_HEALTH_CHECK_INTERVAL: Duration = Duration::from_secs(60);

/// Default number of health-check intervals without any message after which
/// the stream is presumed dead. Three intervals leave room for a ping that
/// lnd delays (its ticker drops ticks while a check runs) and for a slow
/// link, and still reconnect within minutes.
pub const DEFAULT_IDLE_MULTIPLE: u32 = 3;

/// Default idle timeout: [`DEFAULT_IDLE_MULTIPLE`] ×
/// [`DEFAULT_HEALTH_CHECK_INTERVAL`] (3 min).
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(60 * DEFAULT_IDLE_MULTIPLE as u64);

/// The idle timeout for lnd's health-check `interval` and a `multiple` of it;
/// `None` (watchdog off) when either is zero.
pub fn idle_timeout_for(interval: Duration, multiple: u32) -> Option<Duration> {
    if interval.is_zero() || multiple == 0 {
        return None;
    }
    Some(interval.saturating_mul(multiple))
}

/// Challenge bytes sent in the registration (the node does not check them
/// today; lnd's own signer sends the same text).
pub const DEFAULT_REGISTRATION_CHALLENGE: &[u8] = b"registrationChallenge";

/// `registration_info` naming this signer and its version, e.g. `lnd-web-signer/0.1.0`.
pub fn default_registration_info() -> String {
    format!("lnd-web-signer/{}", env!("CARGO_PKG_VERSION"))
}

/// Settings of a [`Session`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionConfig {
    /// Non-empty text sent as `registration_info`.
    pub registration_info: String,
    /// Bytes sent as `registration_challenge`.
    pub registration_challenge: Vec<u8>,
    /// Deadline for the node's registration answer, counted from [`Session::start`].
    pub handshake_timeout: Duration,
    /// Idle watchdog: once registered, the longest time without any message
    /// from the node before the session ends with
    /// [`SessionError::IdleTimeout`]. `None` or zero disables it (use that
    /// when lnd's health check is off, `healthcheck.remotesigner.attempts=0`,
    /// and lnd may stay silent for long). See [`idle_timeout_for`].
    pub idle_timeout: Option<Duration>,
}

impl Default for SessionConfig {
    fn default() -> Self {
        Self {
            registration_info: default_registration_info(),
            registration_challenge: DEFAULT_REGISTRATION_CHALLENGE.to_vec(),
            handshake_timeout: DEFAULT_HANDSHAKE_TIMEOUT,
            idle_timeout: Some(DEFAULT_IDLE_TIMEOUT),
        }
    }
}

/// Why a session (one stream attempt) ended or could not proceed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SessionError {
    /// The configuration has an empty `registration_info` (the node rejects it).
    #[error("registration info must not be empty (the watch-only node rejects an empty one)")]
    EmptyRegistrationInfo,
    /// [`Session::start`] was called twice.
    #[error("session already started: use a new session for a new stream")]
    AlreadyStarted,
    /// A request arrived before [`Session::start`].
    #[error("request received before the registration was sent")]
    NotStarted,
    /// The first message did not carry request id 1.
    #[error("first message from the watch-only node must have request id 1, got {got} ({kind})")]
    WrongInitialRequestId {
        /// The request id received.
        got: u64,
        /// Its member.
        kind: RequestKind,
    },
    /// The first message was not a registration response.
    #[error(
        "expected a registration response as the first message from the watch-only node, got {got}"
    )]
    ExpectedRegistration {
        /// The member received instead.
        got: RequestKind,
    },
    /// The node answered the registration with `registration_error`.
    #[error("watch-only node rejected the registration: {0}")]
    RegistrationRejected(String),
    /// The registration response carried neither `registration_complete` nor `registration_error`.
    #[error("registration response from the watch-only node has no result (neither registration_complete nor registration_error)")]
    EmptyRegistrationResponse,
    /// No registration response within the handshake timeout.
    #[error("no registration response from the watch-only node within {timeout:?}")]
    HandshakeTimeout {
        /// The configured handshake timeout.
        timeout: Duration,
    },
    /// Registered, but no message at all arrived from the node for longer
    /// than the idle timeout: the link is presumed dead.
    #[error(
        "no message from the watch-only node for {} (idle timeout {}): the link is presumed dead",
        fmt_secs(*silent),
        fmt_secs(*limit)
    )]
    IdleTimeout {
        /// Time since the last message when the watchdog fired.
        silent: Duration,
        /// The configured idle timeout.
        limit: Duration,
    },
    /// The session already failed; it accepts nothing more.
    #[error("session already ended: open a new stream with a new session")]
    Closed,
}

/// What the host must do with a received request.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// The handshake completed; `node_info` is the node's `registration_info`.
    Registered {
        /// `registration_info` text of the node (`watch-only registration info` today).
        node_info: String,
    },
    /// Send this response now (pong, `signer_error` for an unusable request).
    Reply(SignCoordinatorResponse),
    /// Run the signing core on this work, then send [`finish`]`(work, answer)`.
    Handle(Work),
}

/// How a request after the handshake is answered (see [`route`]).
#[derive(Debug, Clone, PartialEq)]
pub enum Route {
    /// Send this response now.
    Reply(SignCoordinatorResponse),
    /// Signing work for the signer.
    Work(Work),
}

impl From<Route> for Event {
    fn from(route: Route) -> Event {
        match route {
            Route::Reply(resp) => Event::Reply(resp),
            Route::Work(work) => Event::Handle(work),
        }
    }
}

/// Coarse state of a [`Session`], for hosts and UIs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionState {
    /// Created, registration not sent yet.
    Idle,
    /// Registration sent, waiting for the node's answer.
    Handshaking,
    /// Handshake completed, serving requests.
    Registered,
    /// Ended with an error.
    Failed,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Idle,
    Handshaking { deadline: Duration },
    Registered { last_message: Duration },
    Failed,
}

/// `180 s`, `1.5 s`, `0.25 s`: seconds for error texts.
pub fn fmt_secs(d: Duration) -> String {
    if d.subsec_nanos() == 0 {
        format!("{} s", d.as_secs())
    } else {
        let text = format!("{:.3}", d.as_secs_f64());
        let text = text.trim_end_matches('0').trim_end_matches('.');
        format!("{text} s")
    }
}

/// Protocol state of one stream to the watch-only node.
#[derive(Debug, Clone)]
pub struct Session {
    config: SessionConfig,
    state: State,
    requests: u64,
}

impl Session {
    /// A new session; fails if `registration_info` is empty.
    pub fn new(config: SessionConfig) -> Result<Self, SessionError> {
        if config.registration_info.is_empty() {
            return Err(SessionError::EmptyRegistrationInfo);
        }
        let mut config = config;
        config.idle_timeout = config.idle_timeout.filter(|d| !d.is_zero());
        Ok(Self {
            config,
            state: State::Idle,
            requests: 0,
        })
    }

    /// The registration message to send first on the stream; starts the
    /// handshake timer at `now`.
    pub fn start(&mut self, now: Duration) -> Result<SignCoordinatorResponse, SessionError> {
        if self.state != State::Idle {
            return Err(SessionError::AlreadyStarted);
        }
        self.state = State::Handshaking {
            deadline: now.saturating_add(self.config.handshake_timeout),
        };
        Ok(SignCoordinatorResponse {
            ref_request_id: HANDSHAKE_REQUEST_ID,
            sign_response_type: Some(SignResponseType::SignerRegistration(SignerRegistration {
                registration_challenge: self.config.registration_challenge.clone(),
                registration_info: self.config.registration_info.clone(),
            })),
        })
    }

    /// Coarse state.
    pub fn state(&self) -> SessionState {
        match self.state {
            State::Idle => SessionState::Idle,
            State::Handshaking { .. } => SessionState::Handshaking,
            State::Registered { .. } => SessionState::Registered,
            State::Failed => SessionState::Failed,
        }
    }

    /// Whether the handshake has completed (and the session has not failed).
    pub fn is_registered(&self) -> bool {
        matches!(self.state, State::Registered { .. })
    }

    /// The idle timeout in force (`None`: watchdog off).
    pub fn idle_timeout(&self) -> Option<Duration> {
        self.config.idle_timeout
    }

    /// Number of requests received after the handshake (duplicates included).
    pub fn requests_received(&self) -> u64 {
        self.requests
    }

    /// The moment (host clock) at which [`Session::on_timeout`] must be
    /// called, if a timer is pending: the handshake deadline while
    /// handshaking, the idle deadline (last message + idle timeout) once
    /// registered, `None` otherwise or with the watchdog off.
    pub fn poll_timeout(&self) -> Option<Duration> {
        match self.state {
            State::Handshaking { deadline } => Some(deadline),
            State::Registered { last_message } => self
                .config
                .idle_timeout
                .map(|limit| last_message.saturating_add(limit)),
            _ => None,
        }
    }

    /// Tells the session that time `now` has been reached. Fails the session
    /// with [`SessionError::HandshakeTimeout`] if the handshake deadline has
    /// passed, or with [`SessionError::IdleTimeout`] if the registered
    /// stream has been silent for longer than the idle timeout.
    pub fn on_timeout(&mut self, now: Duration) -> Result<(), SessionError> {
        match self.state {
            State::Handshaking { deadline } if now >= deadline => {
                self.state = State::Failed;
                Err(self.timeout_error())
            }
            State::Registered { last_message } => match self.config.idle_timeout {
                Some(limit) if now >= last_message.saturating_add(limit) => {
                    self.state = State::Failed;
                    Err(SessionError::IdleTimeout {
                        silent: now.saturating_sub(last_message),
                        limit,
                    })
                }
                _ => Ok(()),
            },
            _ => Ok(()),
        }
    }

    fn timeout_error(&self) -> SessionError {
        SessionError::HandshakeTimeout {
            timeout: self.config.handshake_timeout,
        }
    }

    /// Processes one received request. An `Err` ends the session.
    pub fn on_request(
        &mut self,
        req: SignCoordinatorRequest,
        now: Duration,
    ) -> Result<Event, SessionError> {
        match self.state {
            State::Idle => {
                self.state = State::Failed;
                Err(SessionError::NotStarted)
            }
            State::Failed => Err(SessionError::Closed),
            State::Handshaking { deadline } => {
                let result = if now >= deadline {
                    Err(self.timeout_error())
                } else {
                    check_registration(req)
                };
                self.state = if result.is_ok() {
                    State::Registered { last_message: now }
                } else {
                    State::Failed
                };
                result
            }
            State::Registered { last_message } => {
                // A message that arrives after the idle deadline but before
                // the host's timer fired still proves the link alive.
                self.state = State::Registered {
                    last_message: last_message.max(now),
                };
                self.requests = self.requests.saturating_add(1);
                if RequestKind::of(&req) == RequestKind::Registration {
                    return Ok(Event::Reply(signer_error(
                        req.request_id,
                        "unexpected registration response after the handshake",
                    )));
                }
                Ok(route(req).into())
            }
        }
    }

    /// Sequential convenience: processes `req` and, for [`Event::Handle`],
    /// runs `handler` right away. Returns the response to send, if any
    /// (`None` when the handshake just completed).
    pub fn handle_with<H>(
        &mut self,
        req: SignCoordinatorRequest,
        now: Duration,
        handler: H,
    ) -> Result<Option<SignCoordinatorResponse>, SessionError>
    where
        H: FnOnce(&Work) -> SignCoordinatorResponse,
    {
        Ok(match self.on_request(req, now)? {
            Event::Registered { .. } => None,
            Event::Reply(resp) => Some(resp),
            Event::Handle(work) => Some(answer(&work, handler)),
        })
    }
}

fn check_registration(req: SignCoordinatorRequest) -> Result<Event, SessionError> {
    let kind = RequestKind::of(&req);
    if req.request_id != HANDSHAKE_REQUEST_ID {
        return Err(SessionError::WrongInitialRequestId {
            got: req.request_id,
            kind,
        });
    }
    let Some(SignRequestType::RegistrationResponse(resp)) = req.sign_request_type else {
        return Err(SessionError::ExpectedRegistration { got: kind });
    };
    match resp.registration_response_type {
        Some(RegistrationResponseType::RegistrationComplete(done)) => Ok(Event::Registered {
            node_info: done.registration_info,
        }),
        Some(RegistrationResponseType::RegistrationError(text)) => {
            Err(SessionError::RegistrationRejected(text))
        }
        None => Err(SessionError::EmptyRegistrationResponse),
    }
}

/// Who answers `req` (a request after the handshake, or one given without a
/// stream): pings get a pong and members that are not signing work (none,
/// unknown to this build, a registration answer) lnd's
/// [`UNIMPLEMENTED`] `signer_error`, at once; everything else is [`Work`]
/// for the signer.
pub fn route(req: SignCoordinatorRequest) -> Route {
    match Work::try_from(req) {
        Ok(work) => Route::Work(work),
        Err(NotWork { kind, request }) => Route::Reply(match kind {
            RequestKind::Ping => pong(request.request_id),
            _ => signer_error(request.request_id, UNIMPLEMENTED),
        }),
    }
}

/// The answer to one request without a stream ([`route`], then `handler`
/// for signing work, through [`finish`]).
pub fn respond<H>(req: SignCoordinatorRequest, handler: H) -> SignCoordinatorResponse
where
    H: FnOnce(&Work) -> SignCoordinatorResponse,
{
    match route(req) {
        Route::Reply(resp) => resp,
        Route::Work(work) => answer(&work, handler),
    }
}

/// Runs `handler` on `work` and returns [`finish`]ed answer.
pub fn answer<H>(work: &Work, handler: H) -> SignCoordinatorResponse
where
    H: FnOnce(&Work) -> SignCoordinatorResponse,
{
    let resp = handler(work);
    finish(work, resp)
}

/// Makes a handler's answer safe to send: `ref_request_id` is set to the
/// request's id, and an answer whose member does not match the request
/// (including no member) becomes a `signer_error`, so the node never sees a
/// wrong response type.
pub fn finish(work: &Work, mut resp: SignCoordinatorResponse) -> SignCoordinatorResponse {
    let kind = work.kind();
    if !kind.accepts(&resp) {
        let got = response_member_name(&resp);
        return signer_error(
            work.id,
            format!("internal error: {kind} was answered with {got}"),
        );
    }
    resp.ref_request_id = work.id;
    resp
}

#[cfg(test)]
mod tests;
