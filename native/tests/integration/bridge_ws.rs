//! signer-bridge's WebSocket channel: one session on one connection, the
//! same checks as Attach and Reply, on the listener that also serves
//! gRPC and grpc-web.

use crate::support::bridge as bridge_support;

use bridge_support::*;
use futures_util::{SinkExt, StreamExt};
use lnd_web_signer::proto::{
    signerbridge::{
        attach_event::Event, AttachEvent, AttachRequest, StreamEnd, CAUSE_BRIDGE_SHUTDOWN,
        WEBSOCKET_PATH,
    },
    watchonlyrpc::{
        sign_coordinator_request::SignRequestType, sign_coordinator_response::SignResponseType,
        SignCoordinatorRequest, SignCoordinatorResponse,
    },
};
use lnd_web_signer_native::bridge::BridgeConfig;
use prost::Message as _;
use tokio::net::TcpStream;
use tokio_tungstenite::{
    client_async,
    tungstenite::{client::IntoClientRequest, Error as WsError, Message},
    WebSocketStream,
};

const ALLOWED: &str = "http://signer.test:8080";

type Ws = WebSocketStream<TcpStream>;

fn ws_config(lnd: &FakeLnd) -> BridgeConfig {
    let mut config = BridgeConfig::new(lnd.addr.to_string(), &lnd.cert_path);
    config.grpc_web = true;
    config.websocket = true;
    config.allow_origins = vec![ALLOWED.to_string()];
    config
}

/// Opens the channel at `path` with `origin` (none: a non-browser client).
async fn open(bridge: &RunningBridge, path: &str, origin: Option<&str>) -> Result<Ws, WsError> {
    let mut req = format!("ws://{}{path}", bridge.addr)
        .into_client_request()
        .expect("request");
    if let Some(o) = origin {
        req.headers_mut()
            .insert("origin", o.parse().expect("origin header"));
    }
    let sock = TcpStream::connect(bridge.addr).await.expect("connect");
    within("the WebSocket handshake", client_async(req, sock))
        .await
        .map(|(ws, _)| ws)
}

async fn send_msg(ws: &mut Ws, msg: &impl prost::Message) {
    within(
        "sending",
        ws.send(Message::Binary(msg.encode_to_vec().into())),
    )
    .await
    .expect("send");
}

/// The next AttachEvent (pings skipped); `None` when the socket closed.
async fn next_event(ws: &mut Ws) -> Option<AttachEvent> {
    loop {
        match within("a WebSocket message", ws.next()).await {
            Some(Ok(Message::Binary(b))) => return Some(AttachEvent::decode(b).expect("event")),
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
            Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return None,
            Some(Ok(other)) => panic!("unexpected message {other:?}"),
        }
    }
}

async fn expect_end(ws: &mut Ws) -> StreamEnd {
    loop {
        match next_event(ws).await.map(|e| e.event) {
            Some(Some(Event::End(end))) => return end,
            Some(Some(Event::Request(_))) => continue,
            other => panic!("expected the end event, got {other:?}"),
        }
    }
}

fn attach_with(macaroon: &str) -> AttachRequest {
    AttachRequest {
        client_info: "ws test".into(),
        macaroon: macaroon.into(),
    }
}

/// Attaches, registers and checks both sides of the handshake.
async fn attach_and_register_ws(ws: &mut Ws, lnd: &mut FakeLnd) -> LndStream {
    send_msg(ws, &attach_with(GOOD_MACAROON)).await;
    match next_event(ws).await.and_then(|e| e.event) {
        Some(Event::SessionToken(t)) => assert_eq!(t.len(), 32),
        other => panic!("first event is not the token: {other:?}"),
    }
    send_msg(ws, &registration()).await;
    let lnd_side = lnd.next_stream().await;
    assert_eq!(lnd_side.registration, registration());
    assert_eq!(lnd_side.macaroon, GOOD_MACAROON);
    match next_event(ws).await.and_then(|e| e.event) {
        Some(Event::Request(r)) => assert_eq!(r, registration_complete()),
        other => panic!("expected the registration answer, got {other:?}"),
    }
    lnd_side
}

fn ping(id: u64) -> SignCoordinatorRequest {
    SignCoordinatorRequest {
        request_id: id,
        sign_request_type: Some(SignRequestType::Ping(true)),
    }
}

fn pong(id: u64) -> SignCoordinatorResponse {
    SignCoordinatorResponse {
        ref_request_id: id,
        sign_response_type: Some(SignResponseType::Pong(true)),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_on_one_connection_beside_grpc_and_grpc_web() {
    let mut lnd = FakeLnd::start().await;
    let bridge = RunningBridge::start(ws_config(&lnd)).await;
    let mut ws = open(&bridge, WEBSOCKET_PATH, Some(ALLOWED))
        .await
        .expect("handshake from the allowed origin");
    let mut lnd_side = attach_and_register_ws(&mut ws, &mut lnd).await;

    // Requests down, answers up, in order, many at once.
    for id in 2..50u64 {
        lnd_side.outbound.send(Ok(ping(id))).await.expect("queue");
    }
    for id in 2..50u64 {
        match next_event(&mut ws).await.and_then(|e| e.event) {
            Some(Event::Request(r)) => assert_eq!(r, ping(id)),
            other => panic!("expected ping {id}, got {other:?}"),
        }
        send_msg(&mut ws, &pong(id)).await;
    }
    for id in 2..50u64 {
        let got = within("an answer at lnd", lnd_side.inbound.message())
            .await
            .expect("stream")
            .expect("answer");
        assert_eq!(got, pong(id));
    }

    // The same listener still serves plain gRPC (HTTP/2) calls.
    let mut client = bridge.client().await;
    let refused = within(
        "a gRPC Attach with the WebSocket-only field",
        client.attach({
            let mut req = attach_request(Some(GOOD_MACAROON));
            req.get_mut().macaroon = GOOD_MACAROON.into();
            req
        }),
    )
    .await
    .expect_err("refused");
    assert_eq!(refused.code(), tonic::Code::InvalidArgument);
    assert!(
        refused.message().contains("WebSocket"),
        "{}",
        refused.message()
    );

    // Closing the socket ends lnd's stream at once.
    ws.close(None).await.expect("close");
    let end = within("lnd's stream to end", lnd_side.inbound.message()).await;
    assert!(!matches!(end, Ok(Some(_))), "lnd still got {end:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn foreign_origins_and_other_paths_are_refused_at_the_handshake() {
    let lnd = FakeLnd::start().await;
    let bridge = RunningBridge::start(ws_config(&lnd)).await;
    for (path, origin, status) in [
        (WEBSOCKET_PATH, Some("http://evil.test"), 403),
        // A prefix or a wildcard-looking match is not the origin.
        (
            WEBSOCKET_PATH,
            Some("http://signer.test:8080.evil.test"),
            403,
        ),
        ("/other", Some(ALLOWED), 404),
    ] {
        match open(&bridge, path, origin).await {
            Err(WsError::Http(resp)) => {
                assert_eq!(resp.status().as_u16(), status, "{path} {origin:?}")
            }
            Err(other) => panic!("{path} {origin:?}: {other}"),
            Ok(_) => panic!("{path} {origin:?}: handshake accepted"),
        }
    }
    // A client without Origin is not a browser (as with plain gRPC).
    open(&bridge, WEBSOCKET_PATH, None)
        .await
        .expect("no Origin header");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lnd_refusals_and_bad_first_messages_end_with_a_status() {
    let mut lnd = FakeLnd::start().await;
    let bridge = RunningBridge::start(ws_config(&lnd)).await;

    // lnd refuses the macaroon: the session ends when the registration
    // reaches it, with lnd's text.
    let mut ws = open(&bridge, WEBSOCKET_PATH, Some(ALLOWED))
        .await
        .expect("open");
    send_msg(&mut ws, &attach_with("02ff")).await;
    assert!(matches!(
        next_event(&mut ws).await.and_then(|e| e.event),
        Some(Event::SessionToken(_))
    ));
    send_msg(&mut ws, &registration()).await;
    let end = expect_end(&mut ws).await;
    assert_ne!(end.code, 0);
    assert!(
        end.message.contains("verification failed"),
        "{}",
        end.message
    );
    assert!(
        next_event(&mut ws).await.is_none(),
        "socket closed after the end"
    );

    // First messages the bridge refuses before dialing lnd, each with its
    // status: no macaroon at all, not an AttachRequest, text not binary.
    for (first, code) in [
        (
            Message::Binary(attach_with("").encode_to_vec().into()),
            tonic::Code::Unauthenticated,
        ),
        (
            Message::Binary(vec![0xff, 0xff, 0xff].into()),
            tonic::Code::InvalidArgument,
        ),
        (Message::Text("hello".into()), tonic::Code::InvalidArgument),
    ] {
        let mut ws = open(&bridge, WEBSOCKET_PATH, Some(ALLOWED))
            .await
            .expect("open");
        within("send", ws.send(first)).await.expect("send");
        let end = expect_end(&mut ws).await;
        assert_eq!(end.code, code as i32, "{}", end.message);
    }

    // A good session still works afterwards (no slot leaked).
    let mut ws = open(&bridge, WEBSOCKET_PATH, Some(ALLOWED))
        .await
        .expect("open");
    let _lnd_side = attach_and_register_ws(&mut ws, &mut lnd).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_ends_the_session_with_its_cause() {
    let mut lnd = FakeLnd::start().await;
    let mut bridge = RunningBridge::start(ws_config(&lnd)).await;
    let mut ws = open(&bridge, WEBSOCKET_PATH, Some(ALLOWED))
        .await
        .expect("open");
    let _lnd_side = attach_and_register_ws(&mut ws, &mut lnd).await;
    let stopping = tokio::spawn(async move { bridge.stop().await });
    let end = expect_end(&mut ws).await;
    assert_eq!(end.code, tonic::Code::Unavailable as i32);
    assert_eq!(end.cause, CAUSE_BRIDGE_SHUTDOWN);
    drop(ws);
    within("the bridge to stop", stopping)
        .await
        .expect("task")
        .expect("clean stop");
}
