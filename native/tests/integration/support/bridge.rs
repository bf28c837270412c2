//! Shared pieces of the signer-bridge tests: an lnd-like self-signed
//! certificate, an in-process fake of lnd's WatchOnly listener (TLS, macaroon
//! check, signer-first handshake, one signer at a time) and a bridge started
//! on 127.0.0.1:0.

use std::{
    net::SocketAddr,
    path::PathBuf,
    sync::{
        atomic::{AtomicBool, AtomicUsize, Ordering},
        Arc,
    },
    task::{Context, Poll},
    time::Duration,
};

use lnd_web_signer::proto::{
    signerbridge::{attach_event::Event, AttachEvent, AttachRequest, ReplyRequest},
    watchonlyrpc::{
        registration_response::RegistrationResponseType, sign_coordinator_request::SignRequestType,
        sign_coordinator_response::SignResponseType, RegistrationComplete, RegistrationResponse,
        SignCoordinatorRequest, SignCoordinatorResponse, SignerRegistration,
    },
};
use lnd_web_signer_native::{
    bridge::{raw::RawCodec, Bridge, BridgeConfig, BridgeError},
    rpc::{
        signerbridge::signer_bridge_client::SignerBridgeClient,
        watchonlyrpc::watch_only_server::{WatchOnly, WatchOnlyServer},
    },
};
use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair};
use tokio::{
    net::TcpListener,
    sync::{mpsc, oneshot},
    task::JoinHandle,
};
use tokio_stream::wrappers::{ReceiverStream, TcpListenerStream};
use tonic::{
    codegen::{http, Body, BoxFuture, Bytes, Service, StdError},
    metadata::MetadataValue,
    server::NamedService,
    transport::{Channel, Endpoint, Identity, Server, ServerTlsConfig},
    Request, Response, Status, Streaming,
};

/// Generous limit for every await in the tests (they never wait this long
/// when things work).
pub const STEP: Duration = Duration::from_secs(10);

/// Awaits `fut` or panics naming `what`.
pub async fn within<T>(what: &str, fut: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(STEP, fut)
        .await
        .unwrap_or_else(|_| panic!("timed out waiting for {what}"))
}

/// The macaroon the fake lnd accepts (hex, as a signer sends it).
pub const GOOD_MACAROON: &str = "0201036c6e640258030a10b1d2a5c6e7f8091a2b3c4d5e6f70811201301a160a0761646472657373120472656164120577726974651a";

/// A self-signed ECDSA P-256 certificate shaped like lnd's `tls.cert`
/// (`IsCA=true`, SANs localhost and 127.0.0.1), PEM encoded.
pub struct TestCert {
    pub cert_pem: String,
    pub key_pem: String,
}

pub fn lnd_like_cert() -> TestCert {
    let mut params = CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()])
        .expect("certificate parameters");
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let key = KeyPair::generate().expect("P-256 key");
    let cert = params.self_signed(&key).expect("self-signed certificate");
    TestCert {
        cert_pem: cert.pem(),
        key_pem: key.serialize_pem(),
    }
}

/// Writes `contents` to a fresh file under the system temp directory.
pub fn temp_file(name: &str, contents: &[u8]) -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "signer-bridge-tests-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir).expect("create temp dir");
    let path = dir.join(name);
    std::fs::write(&path, contents).expect("write temp file");
    path
}

/// One signer stream as the fake lnd sees it, after a valid registration.
pub struct LndStream {
    /// The registration message the signer sent first.
    pub registration: SignCoordinatorResponse,
    /// Later messages from the signer.
    pub inbound: Streaming<SignCoordinatorResponse>,
    /// Requests (or a final error) to send down the stream. The
    /// registration_response (request_id 1) has already been queued.
    pub outbound: mpsc::Sender<Result<SignCoordinatorRequest, Status>>,
    /// The `macaroon` metadata the stream was opened with.
    pub macaroon: String,
}

struct FakeWatchOnly {
    streams: mpsc::Sender<LndStream>,
    active: Arc<AtomicBool>,
}

/// Clears the "a signer is connected" flag when the stream's response side
/// is dropped.
struct ActiveGuard(Arc<AtomicBool>);
impl Drop for ActiveGuard {
    fn drop(&mut self) {
        self.0.store(false, Ordering::SeqCst);
    }
}

#[tonic::async_trait]
impl WatchOnly for FakeWatchOnly {
    type SignCoordinatorStreamsStream = ReceiverStream<Result<SignCoordinatorRequest, Status>>;

    async fn sign_coordinator_streams(
        &self,
        request: Request<Streaming<SignCoordinatorResponse>>,
    ) -> Result<Response<Self::SignCoordinatorStreamsStream>, Status> {
        // Macaroon check first, with lnd's texts (plain Go errors → Unknown).
        let macs: Vec<String> = request
            .metadata()
            .get_all("macaroon")
            .iter()
            .filter_map(|v| v.to_str().ok().map(str::to_owned))
            .collect();
        if macs.len() != 1 {
            return Err(Status::unknown(format!(
                "expected 1 macaroon, got {}",
                macs.len()
            )));
        }
        if macs[0] != GOOD_MACAROON {
            return Err(Status::unknown(
                "verification failed: signature mismatch after caveat verification",
            ));
        }
        if self.active.swap(true, Ordering::SeqCst) {
            return Err(Status::unknown("only one remote signer can be connected"));
        }
        let guard = ActiveGuard(Arc::clone(&self.active));
        let mut inbound = request.into_inner();
        // Like lnd (grpc-go), answer nothing until the signer's registration
        // arrived: the signer speaks first.
        let first = tokio::time::timeout(Duration::from_secs(5), inbound.message())
            .await
            .map_err(|_| Status::deadline_exceeded("context deadline exceeded"))??
            .ok_or_else(|| Status::unknown("stream closed before registration"))?;
        if first.ref_request_id != 1 {
            return Err(Status::unknown(format!(
                "initial request ID must be 1, got {}",
                first.ref_request_id
            )));
        }
        if !matches!(
            first.sign_response_type,
            Some(SignResponseType::SignerRegistration(_))
        ) {
            return Err(Status::unknown("expected registration message"));
        }
        let (tx, rx) = mpsc::channel(16);
        tx.send(Ok(registration_complete()))
            .await
            .map_err(|_| Status::internal("queue"))?;
        let stream = LndStream {
            registration: first,
            inbound,
            outbound: tx.clone(),
            macaroon: macs[0].clone(),
        };
        let _ = self.streams.send(stream).await;
        // Tie the "active" flag to the response stream's lifetime.
        let (fwd_tx, fwd_rx) = mpsc::channel(16);
        tokio::spawn(async move {
            // Declared last so it is dropped first: the "active" flag is
            // clear before the test can see the send side closed.
            let mut rx = rx;
            let _guard = guard;
            loop {
                tokio::select! {
                    item = rx.recv() => match item {
                        Some(item) => if fwd_tx.send(item).await.is_err() { break },
                        None => break,
                    },
                    () = fwd_tx.closed() => break,
                }
            }
        });
        Ok(Response::new(ReceiverStream::new(fwd_rx)))
    }
}

/// lnd's handshake answer.
pub fn registration_complete() -> SignCoordinatorRequest {
    SignCoordinatorRequest {
        request_id: 1,
        sign_request_type: Some(SignRequestType::RegistrationResponse(
            RegistrationResponse {
                registration_response_type: Some(RegistrationResponseType::RegistrationComplete(
                    RegistrationComplete {
                        signature: String::new(),
                        registration_info: "watch-only registration info".to_string(),
                    },
                )),
            },
        )),
    }
}

/// The signer's first message.
pub fn registration() -> SignCoordinatorResponse {
    SignCoordinatorResponse {
        ref_request_id: 1,
        sign_response_type: Some(SignResponseType::SignerRegistration(SignerRegistration {
            registration_challenge: b"registrationChallenge".to_vec(),
            registration_info: "bridge-test signer".to_string(),
        })),
    }
}

/// A running fake lnd.
pub struct FakeLnd {
    pub addr: SocketAddr,
    pub cert_path: PathBuf,
    pub streams: mpsc::Receiver<LndStream>,
    stop: Option<oneshot::Sender<()>>,
}

impl FakeLnd {
    pub async fn start() -> Self {
        Self::start_with(lnd_like_cert()).await
    }

    pub async fn start_with(cert: TestCert) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind fake lnd");
        let addr = listener.local_addr().expect("fake lnd address");
        let (tx, rx) = mpsc::channel(8);
        let svc = FakeWatchOnly {
            streams: tx,
            active: Arc::new(AtomicBool::new(false)),
        };
        let identity = Identity::from_pem(&cert.cert_pem, &cert.key_pem);
        let (stop_tx, stop_rx) = oneshot::channel::<()>();
        let server = Server::builder()
            .tls_config(ServerTlsConfig::new().identity(identity))
            .expect("fake lnd TLS config")
            .add_service(WatchOnlyServer::new(svc).max_decoding_message_size(256 << 20))
            .serve_with_incoming_shutdown(TcpListenerStream::new(listener), async {
                let _ = stop_rx.await;
            });
        tokio::spawn(server);
        let cert_path = temp_file("tls.cert", cert.cert_pem.as_bytes());
        Self {
            addr,
            cert_path,
            streams: rx,
            stop: Some(stop_tx),
        }
    }

    /// Waits for the next signer stream that passed the handshake.
    pub async fn next_stream(&mut self) -> LndStream {
        within("a signer stream at the fake lnd", self.streams.recv())
            .await
            .expect("fake lnd stopped")
    }
}

impl Drop for FakeLnd {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
    }
}

/// A bridge serving on 127.0.0.1:0.
pub struct RunningBridge {
    pub addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    pub task: Option<JoinHandle<Result<(), BridgeError>>>,
}

impl RunningBridge {
    pub async fn start(config: BridgeConfig) -> Self {
        let bridge = Bridge::new(config).expect("bridge configuration");
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind bridge");
        let addr = listener.local_addr().expect("bridge address");
        let (stop_tx, stop_rx) = oneshot::channel::<()>();
        let task = tokio::spawn(bridge.serve(listener, async {
            let _ = stop_rx.await;
        }));
        Self {
            addr,
            stop: Some(stop_tx),
            task: Some(task),
        }
    }

    /// Bridge in plain-gRPC mode in front of `lnd`.
    pub async fn for_lnd(lnd: &FakeLnd) -> Self {
        Self::start(BridgeConfig::new(lnd.addr.to_string(), &lnd.cert_path)).await
    }

    pub async fn client(&self) -> SignerBridgeClient<Channel> {
        let channel = within(
            "connecting to the bridge",
            Endpoint::from_shared(format!("http://{}", self.addr))
                .expect("bridge URI")
                .connect(),
        )
        .await
        .expect("connect to the bridge");
        SignerBridgeClient::new(channel)
    }

    /// Signals shutdown and waits for `serve` to return.
    pub async fn stop(&mut self) -> Result<(), BridgeError> {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        let task = self.task.take().expect("bridge still running");
        within("the bridge to stop", task)
            .await
            .expect("bridge task panicked")
    }
}

impl Drop for RunningBridge {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
    }
}

/// An Attach request carrying `macaroon` (if any) as metadata.
pub fn attach_request(macaroon: Option<&str>) -> Request<AttachRequest> {
    let mut req = Request::new(AttachRequest {
        client_info: "bridge test".to_string(),
        ..Default::default()
    });
    if let Some(m) = macaroon {
        req.metadata_mut().insert(
            "macaroon",
            MetadataValue::try_from(m).expect("ascii macaroon"),
        );
    }
    req
}

/// Reads the first Attach event and returns its session token.
pub async fn read_token(stream: &mut Streaming<AttachEvent>) -> Vec<u8> {
    let first = within("the session token", stream.message())
        .await
        .expect("Attach stream failed before the token")
        .expect("Attach stream ended before the token");
    match first.event {
        Some(Event::SessionToken(t)) => t,
        other => panic!("first Attach event is not a token: {other:?}"),
    }
}

/// Reads the next relayed request.
pub async fn next_request(stream: &mut Streaming<AttachEvent>) -> SignCoordinatorRequest {
    let ev = within("a relayed request", stream.message())
        .await
        .expect("Attach stream failed")
        .expect("Attach stream ended");
    match ev.event {
        Some(Event::Request(r)) => r,
        other => panic!("expected a relayed request, got {other:?}"),
    }
}

/// Reads the status that ends the Attach stream.
pub async fn end_status(stream: &mut Streaming<AttachEvent>) -> Status {
    loop {
        match within("the end of the Attach stream", stream.message()).await {
            Err(s) => return s,
            Ok(Some(ev)) => {
                if let Some(Event::SessionToken(_)) = ev.event {
                    panic!("second session token on one stream");
                }
            }
            Ok(None) => panic!("Attach stream ended with status OK"),
        }
    }
}

pub fn reply(token: &[u8], response: SignCoordinatorResponse) -> ReplyRequest {
    ReplyRequest {
        session_token: token.to_vec(),
        response: Some(response),
    }
}

/// Attaches with the good macaroon, sends the registration and checks the
/// handshake on both sides. Returns the Attach stream, the token and lnd's
/// side of the stream.
pub async fn attach_and_register(
    client: &mut SignerBridgeClient<Channel>,
    lnd: &mut FakeLnd,
) -> (Streaming<AttachEvent>, Vec<u8>, LndStream) {
    let mut attach = within("Attach", client.attach(attach_request(Some(GOOD_MACAROON))))
        .await
        .expect("Attach accepted")
        .into_inner();
    let token = read_token(&mut attach).await;
    within(
        "Reply(registration)",
        client.reply(reply(&token, registration())),
    )
    .await
    .expect("registration reply accepted");
    let lnd_side = lnd.next_stream().await;
    assert_eq!(lnd_side.registration, registration());
    let first = next_request(&mut attach).await;
    assert_eq!(first, registration_complete());
    (attach, token, lnd_side)
}

/// A fake lnd that works on raw message bytes (no protobuf decoding), to
/// show that the bridge relays bytes exactly, unknown fields included.
pub struct RawFakeLnd {
    pub addr: SocketAddr,
    pub cert_path: PathBuf,
    pub streams: mpsc::Receiver<RawLndStream>,
    stop: Option<oneshot::Sender<()>>,
}

/// One stream at the raw fake lnd.
pub struct RawLndStream {
    pub inbound: Streaming<Bytes>,
    pub outbound: mpsc::Sender<Result<Bytes, Status>>,
}

#[derive(Clone)]
struct RawWatchOnly {
    streams: mpsc::Sender<RawLndStream>,
}

impl NamedService for RawWatchOnly {
    const NAME: &'static str = "watchonlyrpc.WatchOnly";
}

struct RawStreamSvc(mpsc::Sender<RawLndStream>);

impl Service<Request<Streaming<Bytes>>> for RawStreamSvc {
    type Response = Response<ReceiverStream<Result<Bytes, Status>>>;
    type Error = Status;
    type Future = BoxFuture<Self::Response, Status>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Status>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<Streaming<Bytes>>) -> Self::Future {
        let streams = self.0.clone();
        Box::pin(async move {
            let (tx, rx) = mpsc::channel(16);
            let _ = streams
                .send(RawLndStream {
                    inbound: req.into_inner(),
                    outbound: tx,
                })
                .await;
            Ok(Response::new(ReceiverStream::new(rx)))
        })
    }
}

impl<B> Service<http::Request<B>> for RawWatchOnly
where
    B: Body + Send + 'static,
    B::Error: Into<StdError> + Send + 'static,
{
    type Response = http::Response<tonic::body::Body>;
    type Error = std::convert::Infallible;
    type Future = BoxFuture<Self::Response, Self::Error>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: http::Request<B>) -> Self::Future {
        let streams = self.streams.clone();
        Box::pin(async move {
            if req.uri().path() != "/watchonlyrpc.WatchOnly/SignCoordinatorStreams" {
                return Ok(Status::unimplemented("no such method").into_http());
            }
            let mut grpc = tonic::server::Grpc::new(RawCodec)
                .apply_max_message_size_config(Some(256 << 20), None);
            Ok(grpc.streaming(RawStreamSvc(streams), req).await)
        })
    }
}

impl RawFakeLnd {
    pub async fn start() -> Self {
        let cert = lnd_like_cert();
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind raw fake lnd");
        let addr = listener.local_addr().expect("address");
        let (tx, rx) = mpsc::channel(8);
        let (stop_tx, stop_rx) = oneshot::channel::<()>();
        let server = Server::builder()
            .tls_config(
                ServerTlsConfig::new().identity(Identity::from_pem(&cert.cert_pem, &cert.key_pem)),
            )
            .expect("TLS config")
            .add_service(RawWatchOnly { streams: tx })
            .serve_with_incoming_shutdown(TcpListenerStream::new(listener), async {
                let _ = stop_rx.await;
            });
        tokio::spawn(server);
        let cert_path = temp_file("tls.cert", cert.cert_pem.as_bytes());
        Self {
            addr,
            cert_path,
            streams: rx,
            stop: Some(stop_tx),
        }
    }

    pub async fn next_stream(&mut self) -> RawLndStream {
        within("a stream at the raw fake lnd", self.streams.recv())
            .await
            .expect("raw fake lnd stopped")
    }
}

impl Drop for RawFakeLnd {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
    }
}
