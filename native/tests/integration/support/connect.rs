//! Fake watch-only node for the `connect` tests: a tonic server on
//! 127.0.0.1:0 with an lnd-like self-signed CA certificate; each stream the
//! signer opens is handed to the test, which plays the node's side by hand.

use std::net::SocketAddr;
use std::time::Duration;

use lnd_web_signer::proto::signrpc::{KeyLocator, SignMessageReq};
use lnd_web_signer::proto::watchonlyrpc::registration_response::RegistrationResponseType;
use lnd_web_signer::proto::watchonlyrpc::sign_coordinator_request::SignRequestType;
use lnd_web_signer::proto::watchonlyrpc::sign_coordinator_response::SignResponseType;
use lnd_web_signer::proto::watchonlyrpc::{
    RegistrationComplete, RegistrationResponse, SignCoordinatorRequest, SignCoordinatorResponse,
};
use lnd_web_signer_native::rpc::watchonlyrpc::watch_only_server::{WatchOnly, WatchOnlyServer};
use tokio::sync::{mpsc, oneshot};
use tokio_stream::wrappers::{ReceiverStream, TcpListenerStream};
use tonic::transport::{Identity, Server, ServerTlsConfig};
use tonic::{Request, Response, Status, Streaming};

/// Long enough for a loaded CI machine, short enough to fail a hang quickly.
pub const STEP: Duration = Duration::from_secs(20);

/// Macaroon bytes the tests configure (hex has letters, to check lower case).
pub const MACAROON: [u8; 6] = [0x02, 0x01, 0xAB, 0xCD, 0xEF, 0x7F];

// ---------------------------------------------------------------- fake node

pub struct Tls {
    pub cert_pem: String,
    pub key_pem: String,
}

/// Self-signed P-256 certificate that is its own CA, like lnd's `tls.cert`.
pub fn lnd_like_cert() -> Tls {
    use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair, KeyUsagePurpose};
    let key = KeyPair::generate().expect("generate P-256 key");
    let mut params = CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()])
        .expect("certificate params");
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
        KeyUsagePurpose::KeyCertSign,
    ];
    params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth];
    let cert = params.self_signed(&key).expect("self-sign");
    Tls {
        cert_pem: cert.pem(),
        key_pem: key.serialize_pem(),
    }
}

/// One stream opened by the signer, seen from the node.
pub struct Conn {
    pub macaroon: Option<String>,
    pub inbound: Streaming<SignCoordinatorResponse>,
    pub outbound: mpsc::Sender<Result<SignCoordinatorRequest, Status>>,
}

impl Conn {
    pub async fn recv(&mut self) -> SignCoordinatorResponse {
        tokio::time::timeout(STEP, self.inbound.message())
            .await
            .expect("signer answered in time")
            .expect("stream healthy")
            .expect("stream still open")
    }

    pub async fn send(&self, req: SignCoordinatorRequest) {
        self.outbound
            .send(Ok(req))
            .await
            .expect("signer stream still open");
    }

    /// Checks the registration and completes the handshake.
    pub async fn handshake(&mut self) {
        let reg = self.recv().await;
        assert_eq!(
            reg.ref_request_id, 1,
            "registration must use ref_request_id 1"
        );
        match reg.sign_response_type {
            Some(SignResponseType::SignerRegistration(r)) => {
                assert!(
                    r.registration_info.starts_with("lnd-web-signer/"),
                    "registration_info names the signer: {:?}",
                    r.registration_info
                );
                assert!(r.registration_info.len() > "lnd-web-signer/".len());
            }
            other => panic!("first message must be the registration, got {other:?}"),
        }
        self.send(registration(
            RegistrationResponseType::RegistrationComplete(RegistrationComplete {
                signature: String::new(),
                registration_info: "watch-only registration info".into(),
            }),
        ))
        .await;
    }
}

pub struct FakeNode {
    conns: mpsc::UnboundedSender<Conn>,
}

#[tonic::async_trait]
impl WatchOnly for FakeNode {
    type SignCoordinatorStreamsStream = ReceiverStream<Result<SignCoordinatorRequest, Status>>;

    async fn sign_coordinator_streams(
        &self,
        request: Request<Streaming<SignCoordinatorResponse>>,
    ) -> Result<Response<Self::SignCoordinatorStreamsStream>, Status> {
        let macaroon = request
            .metadata()
            .get("macaroon")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let (tx, rx) = mpsc::channel(16);
        let conn = Conn {
            macaroon,
            inbound: request.into_inner(),
            outbound: tx,
        };
        self.conns
            .send(conn)
            .map_err(|_| Status::unavailable("test finished"))?;
        Ok(Response::new(ReceiverStream::new(rx)))
    }
}

pub struct Node {
    pub addr: SocketAddr,
    conns: mpsc::UnboundedReceiver<Conn>,
    _stop: oneshot::Sender<()>,
}

impl Node {
    pub async fn start(tls: &Tls) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind loopback");
        let addr = listener.local_addr().expect("local addr");
        let (conns_tx, conns) = mpsc::unbounded_channel();
        let (stop, stop_rx) = oneshot::channel::<()>();
        let identity = Identity::from_pem(&tls.cert_pem, &tls.key_pem);
        let server = Server::builder()
            .tls_config(ServerTlsConfig::new().identity(identity))
            .expect("server tls config")
            .add_service(
                WatchOnlyServer::new(FakeNode { conns: conns_tx })
                    .max_decoding_message_size(200 * 1024 * 1024),
            )
            .serve_with_incoming_shutdown(TcpListenerStream::new(listener), async {
                let _ = stop_rx.await;
            });
        tokio::spawn(server);
        Self {
            addr,
            conns,
            _stop: stop,
        }
    }

    pub async fn accept(&mut self) -> Conn {
        tokio::time::timeout(STEP, self.conns.recv())
            .await
            .expect("signer connected in time")
            .expect("node running")
    }
}

// ---------------------------------------------------------------- messages

pub fn registration(result: RegistrationResponseType) -> SignCoordinatorRequest {
    SignCoordinatorRequest {
        request_id: 1,
        sign_request_type: Some(SignRequestType::RegistrationResponse(
            RegistrationResponse {
                registration_response_type: Some(result),
            },
        )),
    }
}

pub fn ping(id: u64) -> SignCoordinatorRequest {
    SignCoordinatorRequest {
        request_id: id,
        sign_request_type: Some(SignRequestType::Ping(true)),
    }
}

pub fn sign_message(id: u64, msg: &[u8]) -> SignCoordinatorRequest {
    SignCoordinatorRequest {
        request_id: id,
        sign_request_type: Some(SignRequestType::SignMessageReq(SignMessageReq {
            msg: msg.to_vec(),
            key_loc: Some(KeyLocator {
                key_family: 6,
                key_index: 0,
            }),
            ..Default::default()
        })),
    }
}

pub fn expect_pong(resp: &SignCoordinatorResponse, id: u64) {
    assert_eq!(resp.ref_request_id, id);
    assert_eq!(resp.sign_response_type, Some(SignResponseType::Pong(true)));
}

pub fn signature_of(resp: &SignCoordinatorResponse) -> &[u8] {
    match &resp.sign_response_type {
        Some(SignResponseType::SignMessageResp(r)) => &r.signature,
        other => panic!("expected sign_message_resp, got {other:?}"),
    }
}
