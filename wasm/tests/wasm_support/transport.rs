#![allow(dead_code)]
//! The grpc-web transport (`FetchTransport`) under tonic's generated
//! `SignerBridgeClient`, with response bodies cut at every byte boundary:
//! the trailer-split problem of tonic-web-wasm-client 0.9.2 must not occur.

use std::cell::RefCell;
use std::rc::Rc;

use lnd_web_signer::proto::signerbridge::attach_event::Event as AttachEventKind;
use lnd_web_signer::proto::signerbridge::signer_bridge_client::SignerBridgeClient;
use lnd_web_signer::proto::signerbridge::{AttachEvent, AttachRequest, ReplyRequest};
use lnd_web_signer::proto::watchonlyrpc::sign_coordinator_request::SignRequestType;
use lnd_web_signer::proto::watchonlyrpc::SignCoordinatorRequest;
use lnd_web_signer_wasm::transport::FetchTransport;
use prost::Message;
use tonic::Code;
use wasm_bindgen_test::wasm_bindgen_test;

use crate::fake_bridge::{
    fetch_fn, grpc_web_body, headers_only, rejecting_fetch, request_event, token_event, Recorded,
    StreamHandle,
};

const URL: &str = "https://bridge.example.test:8443/";

fn ping(id: u64) -> SignCoordinatorRequest {
    SignCoordinatorRequest {
        request_id: id,
        sign_request_type: Some(SignRequestType::Ping(true)),
    }
}

/// Events of the sample Attach body: token, three requests (one larger
/// than the others), as encoded messages.
fn sample_events() -> Vec<Vec<u8>> {
    let mut big = crate::signer_loop::sign_message_request(7);
    if let Some(SignRequestType::SignMessageReq(m)) = big.sign_request_type.as_mut() {
        m.msg = (0..=255u8).cycle().take(300).collect();
    }
    vec![
        token_event(b"0123456789abcdef0123456789abcdef"),
        request_event(ping(2)),
        request_event(big),
        request_event(ping(9)),
    ]
}

/// A fetch serving `body` cut into `chunks` (given as cut points).
fn serving(body: Vec<u8>, cuts: Vec<usize>, log: Rc<RefCell<Vec<Recorded>>>) -> js_sys::Function {
    fetch_fn(log, move |_rec| {
        let s = StreamHandle::grpc_web();
        let mut last = 0;
        let mut parts: Vec<&[u8]> = Vec::new();
        for &c in &cuts {
            parts.push(&body[last..c]);
            last = c;
        }
        parts.push(&body[last..]);
        s.push_each(&parts);
        s.end();
        s.response_object()
    })
}

fn client(fetch: js_sys::Function) -> SignerBridgeClient<FetchTransport> {
    SignerBridgeClient::new(FetchTransport::with_fetch(URL, fetch))
}

/// Runs Attach and collects every event, then the stream's end.
async fn attach_all(fetch: js_sys::Function) -> (Vec<AttachEvent>, Result<(), tonic::Status>) {
    let mut c = client(fetch);
    let mut stream = match c
        .attach(AttachRequest {
            client_info: "test".into(),
            ..Default::default()
        })
        .await
    {
        Ok(r) => r.into_inner(),
        Err(s) => return (Vec::new(), Err(s)),
    };
    let mut events = Vec::new();
    loop {
        match stream.message().await {
            Ok(Some(e)) => events.push(e),
            Ok(None) => return (events, Ok(())),
            Err(s) => return (events, Err(s)),
        }
    }
}

fn decoded(events: &[Vec<u8>]) -> Vec<AttachEvent> {
    events
        .iter()
        .map(|e| AttachEvent::decode(&e[..]).expect("sample event"))
        .collect()
}

#[wasm_bindgen_test]
async fn attach_body_split_at_every_byte_boundary() {
    let events = sample_events();
    let body = grpc_web_body(&events, &[("grpc-status", "0"), ("grpc-message", "")]);
    let want = decoded(&events);
    let log = Rc::new(RefCell::new(Vec::new()));
    for cut in 0..=body.len() {
        let (got, end) = attach_all(serving(body.clone(), vec![cut], Rc::clone(&log))).await;
        assert_eq!(got, want, "split at byte {cut}");
        assert!(end.is_ok(), "split at byte {cut}: {end:?}");
    }
    assert_eq!(log.borrow().len(), body.len() + 1);
}

#[wasm_bindgen_test]
async fn attach_body_in_one_byte_chunks_and_every_chunk_size() {
    let events = sample_events();
    let body = grpc_web_body(&events, &[("grpc-status", "0")]);
    let want = decoded(&events);
    let log = Rc::new(RefCell::new(Vec::new()));
    for size in [1usize, 2, 3, 4, 5, 6, 7, 11, 64, 333, body.len()] {
        let cuts: Vec<usize> = (size..body.len()).step_by(size).collect();
        let (got, end) = attach_all(serving(body.clone(), cuts, Rc::clone(&log))).await;
        assert_eq!(got, want, "chunk size {size}");
        assert!(end.is_ok(), "chunk size {size}: {end:?}");
    }
}

#[wasm_bindgen_test]
async fn every_pair_of_cuts_inside_the_trailer() {
    let events = sample_events();
    let trailers = [("grpc-status", "0"), ("grpc-message", "ok")];
    let body = grpc_web_body(&events, &trailers);
    let trailer_len = lnd_web_signer::grpcweb::encode_trailer_frame(&trailers)
        .expect("trailer")
        .len();
    let start = body.len() - trailer_len;
    let want = decoded(&events);
    let log = Rc::new(RefCell::new(Vec::new()));
    for i in start..=body.len() {
        for j in i..=body.len() {
            let (got, end) = attach_all(serving(body.clone(), vec![i, j], Rc::clone(&log))).await;
            assert_eq!(got, want, "cuts {i} and {j}");
            assert!(end.is_ok(), "cuts {i} and {j}: {end:?}");
        }
    }
}

#[wasm_bindgen_test]
async fn error_trailer_split_anywhere_gives_the_status() {
    let events = vec![token_event(b"tok")];
    let body = grpc_web_body(
        &events,
        &[
            ("grpc-status", "14"),
            ("grpc-message", "lnd is unreachable"),
        ],
    );
    let log = Rc::new(RefCell::new(Vec::new()));
    for cut in 0..=body.len() {
        let (got, end) = attach_all(serving(body.clone(), vec![cut], Rc::clone(&log))).await;
        assert_eq!(got, decoded(&events), "split at {cut}");
        let status = end.expect_err("error trailer must surface");
        assert_eq!(status.code(), Code::Unavailable, "split at {cut}");
        assert_eq!(status.message(), "lnd is unreachable", "split at {cut}");
    }
}

/// A trailer frame of `names` distinct `x-N: v` lines.
fn huge_trailer_frame(names: usize) -> Vec<u8> {
    let mut block = b"grpc-status: 0\r\n".to_vec();
    for i in 0..names {
        block.extend_from_slice(format!("x-{i}: v\r\n").as_bytes());
    }
    let mut frame = vec![lnd_web_signer::grpcweb::TRAILER_FLAG];
    frame.extend_from_slice(&u32::try_from(block.len()).expect("fits").to_be_bytes());
    frame.extend_from_slice(&block);
    frame
}

#[wasm_bindgen_test]
async fn a_huge_trailer_frame_fails_the_call_instead_of_trapping() {
    // ~235 KB of distinct trailer names: http::HeaderMap panicked (a trap
    // in wasm: the signer died while the page still said "Connected").
    let mut body = lnd_web_signer::grpcweb::encode_data_frame(&token_event(b"tok")).expect("frame");
    body.extend(huge_trailer_frame(25_000));
    assert!(body.len() > 200_000);
    let want = format!(
        "grpc-web trailer frame of {} bytes exceeds the limit of 8192 bytes",
        huge_trailer_frame(25_000).len() - 5
    );
    for chunk in [0, 4096] {
        let log = Rc::new(RefCell::new(Vec::new()));
        let b = body.clone();
        let fetch = fetch_fn(log, move |_| {
            let s = StreamHandle::grpc_web();
            s.push_chunked(&b, chunk);
            s.end();
            s.response_object()
        });
        let (events, end) = attach_all(fetch).await;
        assert_eq!(events, decoded(&[token_event(b"tok")]), "chunk {chunk}");
        let status = end.expect_err("an oversized trailer frame is an error");
        assert!(
            status.message().contains(&want),
            "chunk {chunk}: {status:?}"
        );
    }
    // The same limit on a unary Reply's answer; the client keeps working.
    let log = Rc::new(RefCell::new(Vec::new()));
    let mut reply_body = grpc_web_body(&[Vec::new()], &[]);
    let trailer_start = reply_body.len() - 5;
    reply_body.truncate(trailer_start);
    reply_body.extend(huge_trailer_frame(25_000));
    let mut c = client(serving(reply_body, vec![7], Rc::clone(&log)));
    let r = c.reply(ReplyRequest::default()).await;
    let status = r.expect_err("oversized trailers");
    assert!(status.message().contains("trailer frame"), "{status:?}");
    let mut c = client(serving(
        grpc_web_body(&[Vec::new()], &[("grpc-status", "0")]),
        vec![],
        log,
    ));
    assert!(
        c.reply(ReplyRequest::default()).await.is_ok(),
        "the next call works"
    );
}

#[wasm_bindgen_test]
async fn unary_reply_with_split_trailer() {
    // The upstream bug's shape: a short unary answer whose trailer frame
    // arrives in two chunks.
    let body = grpc_web_body(&[Vec::new()], &[("grpc-status", "0")]);
    let log = Rc::new(RefCell::new(Vec::new()));
    for cut in 0..=body.len() {
        let mut c = client(serving(body.clone(), vec![cut], Rc::clone(&log)));
        let r = c.reply(ReplyRequest::default()).await;
        assert!(r.is_ok(), "split at {cut}: {r:?}");
    }
}

#[wasm_bindgen_test]
async fn request_is_grpc_web_with_metadata() {
    use lnd_web_signer::secret::SecretString;
    let log = Rc::new(RefCell::new(Vec::new()));
    let body = grpc_web_body(&[token_event(b"t")], &[("grpc-status", "0")]);
    // The macaroon comes from the transport's zeroizing buffer, on Attach
    // only; a `macaroon` in a call's metadata is never copied.
    let transport = FetchTransport::with_fetch(URL, serving(body, vec![], Rc::clone(&log)))
        .with_attach_macaroon(Rc::new(SecretString::from("0201036c6e64")));
    let mut c = SignerBridgeClient::new(transport.clone());
    let mut req = tonic::Request::new(AttachRequest {
        client_info: "wasm test".into(),
        ..Default::default()
    });
    req.metadata_mut()
        .insert("macaroon", "ffff".parse().expect("ascii metadata"));
    req.metadata_mut()
        .insert("x-extra", "kept".parse().expect("ascii metadata"));
    let mut stream = c.attach(req).await.expect("attach").into_inner();
    let first = stream.message().await.expect("message").expect("event");
    assert_eq!(
        first.event,
        Some(AttachEventKind::SessionToken(b"t".to_vec()))
    );
    assert!(stream.message().await.expect("clean end").is_none());

    {
        let log = log.borrow();
        assert_eq!(log.len(), 1);
        let rec = &log[0];
        assert_eq!(rec.method, "POST");
        assert_eq!(
            rec.url,
            "https://bridge.example.test:8443/signerbridge.SignerBridge/Attach"
        );
        assert_eq!(
            rec.header("content-type"),
            Some("application/grpc-web+proto")
        );
        assert_eq!(rec.header("x-grpc-web"), Some("1"));
        assert_eq!(rec.header("macaroon"), Some("0201036c6e64"));
        assert_eq!(rec.header("x-extra"), Some("kept"));
        assert_eq!(rec.header("te"), None);
        let sent: AttachRequest = rec.message();
        assert_eq!(sent.client_info, "wasm test");
    }

    // A Reply on the same transport carries no macaroon.
    let log = Rc::new(RefCell::new(Vec::new()));
    let ack = grpc_web_body(&[Vec::new()], &[("grpc-status", "0")]);
    let transport = FetchTransport::with_fetch(URL, serving(ack, vec![], Rc::clone(&log)))
        .with_attach_macaroon(Rc::new(SecretString::from("0201036c6e64")));
    let mut c = SignerBridgeClient::new(transport);
    c.reply(ReplyRequest::default()).await.expect("reply");
    assert_eq!(log.borrow()[0].header("macaroon"), None);
}

#[wasm_bindgen_test]
async fn trailers_only_response_gives_the_header_status() {
    let log = Rc::new(RefCell::new(Vec::new()));
    let fetch = fetch_fn(log, |_| {
        headers_only(
            200,
            &[
                ("content-type", "application/grpc-web+proto"),
                ("grpc-status", "16"),
                ("grpc-message", "bad macaroon"),
            ],
        )
    });
    let (events, end) = attach_all(fetch).await;
    assert!(events.is_empty());
    let status = end.expect_err("status from headers");
    assert_eq!(status.code(), Code::Unauthenticated);
    assert_eq!(status.message(), "bad macaroon");
}

#[wasm_bindgen_test]
async fn http_error_status_maps_to_grpc() {
    let log = Rc::new(RefCell::new(Vec::new()));
    let fetch = fetch_fn(log, |_| {
        headers_only(503, &[("content-type", "text/plain")])
    });
    let (_, end) = attach_all(fetch).await;
    let status = end.expect_err("503");
    assert_eq!(status.code(), Code::Unavailable);
    assert_eq!(status.message(), "bridge answered HTTP 503");
    let log = Rc::new(RefCell::new(Vec::new()));
    let fetch = fetch_fn(log, |_| headers_only(404, &[("content-type", "text/html")]));
    let mut c = client(fetch);
    let err = c
        .attach(AttachRequest::default())
        .await
        .expect_err("a 404 fails the call itself");
    assert_eq!(err.code(), Code::Unimplemented);
    assert_eq!(err.message(), "bridge answered HTTP 404");
}

#[wasm_bindgen_test]
async fn truncated_body_is_an_error() {
    let body = grpc_web_body(&sample_events(), &[("grpc-status", "0")]);
    let cut = body.len() - 3;
    let log = Rc::new(RefCell::new(Vec::new()));
    let truncated = body[..cut].to_vec();
    let fetch = fetch_fn(log, move |_| {
        let s = StreamHandle::grpc_web();
        s.push_chunked(&truncated, 1);
        s.end();
        s.response_object()
    });
    let (events, end) = attach_all(fetch).await;
    assert_eq!(events.len(), sample_events().len());
    let status = end.expect_err("truncated body");
    assert!(
        status.message().contains("ended inside a frame"),
        "{status:?}"
    );
}

#[wasm_bindgen_test]
async fn wrong_content_type_is_an_error() {
    let log = Rc::new(RefCell::new(Vec::new()));
    let fetch = fetch_fn(log, |_| {
        let s = crate::fake_bridge::StreamHandle::grpc_web_text();
        s.end();
        s.response_object()
    });
    let (_, end) = attach_all(fetch).await;
    let status = end.expect_err("grpc-web-text is not supported");
    assert!(status.message().contains("content-type"), "{status:?}");
}

#[wasm_bindgen_test]
async fn fetch_rejection_is_reported() {
    let (_, end) = attach_all(rejecting_fetch("Failed to fetch")).await;
    let status = end.expect_err("network error");
    assert!(
        status.message().contains("Failed to fetch")
            && status.message().contains(URL.trim_end_matches('/')),
        "{status:?}"
    );
}

#[wasm_bindgen_test]
async fn dropping_the_stream_cancels_the_body() {
    let log = Rc::new(RefCell::new(Vec::new()));
    let handles: Rc<RefCell<Vec<StreamHandle>>> = Rc::new(RefCell::new(Vec::new()));
    let h2 = Rc::clone(&handles);
    let fetch = fetch_fn(log, move |_| {
        let s = StreamHandle::grpc_web();
        s.push_chunked(
            &lnd_web_signer::grpcweb::encode_data_frame(&token_event(b"x")).expect("frame"),
            1,
        );
        let r = s.response_object();
        h2.borrow_mut().push(s);
        r
    });
    let mut c = client(fetch);
    let mut stream = c
        .attach(AttachRequest::default())
        .await
        .expect("attach")
        .into_inner();
    assert!(stream.message().await.expect("token").is_some());
    drop(stream);
    crate::fake_bridge::wait_for("the body stream to be cancelled", 2000.0, || {
        handles
            .borrow()
            .first()
            .is_some_and(StreamHandle::cancelled)
    })
    .await;
}

#[wasm_bindgen_test]
async fn an_unread_stream_is_not_read_ahead_without_bound() {
    // The transport used to read the body as fast as it came and queue the
    // frames in an unbounded channel: a consumer that
    // stops reading must stop the reading of the body.
    use crate::fake_bridge::PullHandle;
    const N: u64 = 2000;
    let mut chunks =
        vec![lnd_web_signer::grpcweb::encode_data_frame(&token_event(b"tok")).expect("frame")];
    for i in 0..N {
        chunks.push(
            lnd_web_signer::grpcweb::encode_data_frame(&request_event(ping(i + 2))).expect("frame"),
        );
    }
    chunks.push(
        lnd_web_signer::grpcweb::encode_trailer_frame(&[("grpc-status", "0")]).expect("trailer"),
    );
    let slot: Rc<RefCell<Option<PullHandle>>> = Rc::new(RefCell::new(None));
    let put = Rc::clone(&slot);
    let fetch = fetch_fn(Rc::new(RefCell::new(Vec::new())), move |_| {
        let h = PullHandle::new(&chunks);
        let r = h.response_object();
        *put.borrow_mut() = Some(h);
        r
    });
    let mut c = client(fetch);
    let mut stream = c
        .attach(AttachRequest::default())
        .await
        .expect("attach")
        .into_inner();
    assert!(stream.message().await.expect("token").is_some());
    lnd_web_signer_wasm::host::sleep(std::time::Duration::from_millis(300)).await;
    let pulled = slot.borrow().as_ref().map_or(0, PullHandle::pulled);
    assert!(
        pulled <= 6,
        "the transport read {pulled} chunks ahead of its reader"
    );
    // Reading on delivers everything, in order.
    for i in 0..N {
        let ev = stream.message().await.expect("event").expect("more events");
        match ev.event {
            Some(AttachEventKind::Request(r)) => assert_eq!(r.request_id, i + 2),
            other => panic!("unexpected event {other:?}"),
        }
    }
    assert!(stream.message().await.expect("clean end").is_none());
}
