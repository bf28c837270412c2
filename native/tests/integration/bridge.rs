//! signer-bridge over plain gRPC against an in-process fake lnd (TLS with an
//! lnd-like self-signed certificate, macaroon check, signer-first handshake).

use crate::support::bridge as bridge_support;

use std::time::Duration;

use bridge_support::*;
use lnd_web_signer::proto::{
    signerbridge::ReplyRequest,
    signrpc::SignMessageReq,
    walletrpc::{SignPsbtRequest, SignPsbtResponse},
    watchonlyrpc::{
        sign_coordinator_request::SignRequestType, sign_coordinator_response::SignResponseType,
        SignCoordinatorRequest, SignCoordinatorResponse, SignerError,
    },
};
use lnd_web_signer_native::bridge::BridgeConfig;
use prost::Message;
use tonic::{Code, Status};

fn psbt_request(id: u64, psbt: Vec<u8>) -> SignCoordinatorRequest {
    SignCoordinatorRequest {
        request_id: id,
        sign_request_type: Some(SignRequestType::SignPsbtRequest(SignPsbtRequest {
            funded_psbt: psbt,
        })),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn relays_both_directions_unchanged() {
    let mut lnd = FakeLnd::start().await;
    let bridge = RunningBridge::for_lnd(&lnd).await;
    let mut client = bridge.client().await;

    let (mut attach, token, mut lnd_side) = attach_and_register(&mut client, &mut lnd).await;
    assert_eq!(token.len(), 32, "session token length");
    assert_eq!(
        lnd_side.macaroon, GOOD_MACAROON,
        "macaroon forwarded unchanged"
    );

    // lnd → signer: several kinds, including bytes that are no valid PSBT
    // (the bridge must not look inside).
    let sent = vec![
        psbt_request(2, (0u8..=255).cycle().take(70_000).collect()),
        SignCoordinatorRequest {
            request_id: 3,
            sign_request_type: Some(SignRequestType::Ping(true)),
        },
        SignCoordinatorRequest {
            request_id: 4,
            sign_request_type: Some(SignRequestType::SignMessageReq(SignMessageReq {
                msg: b"hello".to_vec(),
                ..Default::default()
            })),
        },
        // No member set at all: relayed as is.
        SignCoordinatorRequest {
            request_id: 5,
            sign_request_type: None,
        },
    ];
    for r in &sent {
        lnd_side
            .outbound
            .send(Ok(r.clone()))
            .await
            .expect("fake lnd queue");
    }
    for r in &sent {
        let got = next_request(&mut attach).await;
        assert_eq!(
            got.encode_to_vec(),
            r.encode_to_vec(),
            "request {}",
            r.request_id
        );
    }

    // signer → lnd, in any order, through separate unary calls.
    let replies = vec![
        SignCoordinatorResponse {
            ref_request_id: 3,
            sign_response_type: Some(SignResponseType::Pong(true)),
        },
        SignCoordinatorResponse {
            ref_request_id: 2,
            sign_response_type: Some(SignResponseType::SignPsbtResponse(SignPsbtResponse {
                signed_psbt: vec![0xAB; 90_000],
                signed_inputs: vec![0, 2],
            })),
        },
        SignCoordinatorResponse {
            ref_request_id: 5,
            sign_response_type: Some(SignResponseType::SignerError(SignerError {
                error: "unimplemented request by watch-only node".into(),
            })),
        },
    ];
    for r in &replies {
        within("Reply", client.reply(reply(&token, r.clone())))
            .await
            .expect("reply accepted");
    }
    for r in &replies {
        let got = within("a reply at lnd", lnd_side.inbound.message())
            .await
            .expect("lnd stream ok")
            .expect("lnd stream open");
        assert_eq!(got.encode_to_vec(), r.encode_to_vec());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_and_expired_tokens_are_rejected() {
    let mut lnd = FakeLnd::start().await;
    let bridge = RunningBridge::for_lnd(&lnd).await;
    let mut client = bridge.client().await;
    let (attach, token, _lnd_side) = attach_and_register(&mut client, &mut lnd).await;

    let mut wrong = token.clone();
    wrong[0] ^= 1;
    for bad in [wrong, vec![], token[..16].to_vec(), vec![0; 33]] {
        let err = within("Reply", client.reply(reply(&bad, registration())))
            .await
            .expect_err("wrong token must be rejected");
        assert_eq!(err.code(), Code::NotFound, "{err:?}");
        assert!(err.message().contains("session token"), "{err:?}");
    }

    // A reply without a response is an argument error, not a lost message.
    let err = within(
        "Reply",
        client.reply(ReplyRequest {
            session_token: token.clone(),
            response: None,
        }),
    )
    .await
    .expect_err("empty reply rejected");
    assert_eq!(err.code(), Code::InvalidArgument);

    // The token dies with its Attach stream.
    drop(attach);
    let mut last = None;
    for _ in 0..100 {
        match client.reply(reply(&token, registration())).await {
            Ok(_) => tokio::time::sleep(Duration::from_millis(20)).await,
            Err(e) => {
                last = Some(e);
                break;
            }
        }
    }
    let err = last.expect("token still accepted 2 s after its Attach ended");
    assert_eq!(err.code(), Code::NotFound, "{err:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_attach_closes_the_lnd_stream() {
    let mut lnd = FakeLnd::start().await;
    let bridge = RunningBridge::for_lnd(&lnd).await;
    let mut client = bridge.client().await;
    let (attach, _token, mut lnd_side) = attach_and_register(&mut client, &mut lnd).await;

    let started = std::time::Instant::now();
    drop(attach);
    // lnd sees its stream end (reset or connection closed) ...
    let end = within("lnd to see the stream end", lnd_side.inbound.message()).await;
    assert!(
        !matches!(end, Ok(Some(_))),
        "unexpected message after detach: {end:?}"
    );
    // ... and its sending side closed.
    within("lnd's send side to close", lnd_side.outbound.closed()).await;
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "lnd stream closed only after {:?}",
        started.elapsed()
    );

    // The fake lnd allows one signer at a time: a new Attach works at once,
    // which shows the old stream is really gone.
    let (_attach2, _token2, _lnd_side2) = attach_and_register(&mut client, &mut lnd).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lnd_ending_the_stream_ends_attach_with_the_reason() {
    let mut lnd = FakeLnd::start().await;
    let bridge = RunningBridge::for_lnd(&lnd).await;
    let mut client = bridge.client().await;

    // lnd fails the stream with a status.
    let (mut attach, token, lnd_side) = attach_and_register(&mut client, &mut lnd).await;
    lnd_side
        .outbound
        .send(Err(Status::internal("lnd is shutting down")))
        .await
        .expect("fake lnd queue");
    let s = end_status(&mut attach).await;
    assert_eq!(s.code(), Code::Internal, "{s:?}");
    assert_eq!(
        s.message(),
        "lnd ended the signer stream: lnd is shutting down"
    );
    let err = within("Reply", client.reply(reply(&token, registration())))
        .await
        .expect_err("token of an ended session");
    assert_eq!(err.code(), Code::NotFound);
    drop(lnd_side);

    // lnd closes the stream with OK.
    let (mut attach, _token, lnd_side) = attach_and_register(&mut client, &mut lnd).await;
    drop(lnd_side);
    let s = end_status(&mut attach).await;
    assert_eq!(s.code(), Code::Unavailable, "{s:?}");
    assert!(
        s.message().contains("lnd closed the signer stream"),
        "{s:?}"
    );

    // A failed handshake (wrong first message) is reported with lnd's text.
    let mut attach = within("Attach", client.attach(attach_request(Some(GOOD_MACAROON))))
        .await
        .expect("Attach accepted")
        .into_inner();
    let token = read_token(&mut attach).await;
    let mut bad_first = registration();
    bad_first.ref_request_id = 7;
    within("Reply", client.reply(reply(&token, bad_first)))
        .await
        .expect("reply queued");
    let s = end_status(&mut attach).await;
    assert_eq!(s.code(), Code::Unknown, "{s:?}");
    assert_eq!(
        s.message(),
        "lnd refused the signer stream: initial request ID must be 1, got 7"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn second_signer_gets_lnds_refusal() {
    let mut lnd = FakeLnd::start().await;
    let bridge = RunningBridge::for_lnd(&lnd).await;
    let mut client = bridge.client().await;
    let (_attach, _token, _lnd_side) = attach_and_register(&mut client, &mut lnd).await;

    let mut second = within("Attach", client.attach(attach_request(Some(GOOD_MACAROON))))
        .await
        .expect("Attach accepted")
        .into_inner();
    let _token2 = read_token(&mut second).await;
    let s = end_status(&mut second).await;
    assert_eq!(s.code(), Code::Unknown);
    assert!(
        s.message()
            .contains("only one remote signer can be connected"),
        "{s:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lnd_unreachable_is_reported() {
    // A port that was just free: connection refused.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr").port()
    };
    let cert = lnd_like_cert();
    let path = temp_file("tls.cert", cert.cert_pem.as_bytes());
    let addr = format!("127.0.0.1:{port}");
    let bridge = RunningBridge::start(BridgeConfig::new(addr.clone(), &path)).await;
    let mut client = bridge.client().await;
    let err = within("Attach", client.attach(attach_request(Some(GOOD_MACAROON))))
        .await
        .expect_err("Attach must fail");
    assert_eq!(err.code(), Code::Unavailable, "{err:?}");
    assert!(
        err.message()
            .starts_with(&format!("lnd unreachable at {addr}")),
        "{err:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lnd_silent_is_a_timeout() {
    // Accepts TCP but never answers the TLS handshake.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr").to_string();
    let hold = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((s, _)) = listener.accept().await {
            held.push(s);
        }
    });
    let cert = lnd_like_cert();
    let path = temp_file("tls.cert", cert.cert_pem.as_bytes());
    let mut config = BridgeConfig::new(addr.clone(), &path);
    config.connect_timeout = Duration::from_millis(300);
    let bridge = RunningBridge::start(config).await;
    let mut client = bridge.client().await;
    let err = within("Attach", client.attach(attach_request(Some(GOOD_MACAROON))))
        .await
        .expect_err("Attach must fail");
    assert_eq!(err.code(), Code::Unavailable, "{err:?}");
    assert!(
        err.message().contains(&format!(
            "lnd unreachable at {addr}: no TLS connection within 300 ms"
        )),
        "{err:?}"
    );
    hold.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_certificate_is_reported() {
    let lnd = FakeLnd::start().await;
    let other = lnd_like_cert();
    let other_path = temp_file("other.cert", other.cert_pem.as_bytes());
    let bridge = RunningBridge::start(BridgeConfig::new(lnd.addr.to_string(), &other_path)).await;
    let mut client = bridge.client().await;
    let err = within("Attach", client.attach(attach_request(Some(GOOD_MACAROON))))
        .await
        .expect_err("Attach must fail");
    assert_eq!(err.code(), Code::FailedPrecondition, "{err:?}");
    assert!(
        err.message().contains(&format!(
            "lnd's TLS certificate does not match --lnd-tlscertpath {}",
            other_path.display()
        )),
        "{err:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plaintext_server_is_a_tls_failure() {
    // Something that is not TLS: answers garbage and closes.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr").to_string();
    let srv = tokio::spawn(async move {
        use tokio::io::AsyncWriteExt;
        while let Ok((mut s, _)) = listener.accept().await {
            let _ = s.write_all(b"HTTP/1.1 400 Bad Request\r\n\r\n").await;
        }
    });
    let cert = lnd_like_cert();
    let path = temp_file("tls.cert", cert.cert_pem.as_bytes());
    let bridge = RunningBridge::start(BridgeConfig::new(addr.clone(), &path)).await;
    let mut client = bridge.client().await;
    let err = within("Attach", client.attach(attach_request(Some(GOOD_MACAROON))))
        .await
        .expect_err("Attach must fail");
    assert_eq!(err.code(), Code::Unavailable, "{err:?}");
    assert!(
        err.message()
            .starts_with(&format!("TLS handshake with lnd at {addr} failed")),
        "{err:?}"
    );
    srv.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rejected_macaroon_is_reported() {
    let lnd = FakeLnd::start().await;
    let bridge = RunningBridge::for_lnd(&lnd).await;
    let mut client = bridge.client().await;

    // (No macaroon at all is refused by the bridge itself unless
    // allow_no_macaroon: bridge_limits.rs.)
    for (mac, lnd_text) in [(
        Some("0201abcdef"),
        "verification failed: signature mismatch after caveat verification",
    )] {
        let mut attach = within("Attach", client.attach(attach_request(mac)))
            .await
            .expect("Attach accepted (lnd answers after the token)")
            .into_inner();
        let _token = read_token(&mut attach).await;
        let s = end_status(&mut attach).await;
        assert_eq!(s.code(), Code::Unauthenticated, "{s:?}");
        assert_eq!(
            s.message(),
            format!("lnd rejected the macaroon: {lnd_text}")
        );
    }

    // Metadata that is not hex never reaches lnd.
    let err = within("Attach", client.attach(attach_request(Some("not-hex"))))
        .await
        .expect_err("non-hex macaroon rejected");
    assert_eq!(err.code(), Code::Unauthenticated);
    assert_eq!(err.message(), "the macaroon metadata is not hex");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn message_sizes_are_bounded() {
    let mut lnd = FakeLnd::start().await;
    let mut config = BridgeConfig::new(lnd.addr.to_string(), &lnd.cert_path);
    config.max_request_bytes = 4096;
    config.max_reply_bytes = 4096;
    let bridge = RunningBridge::start(config).await;
    let mut client = bridge.client().await;
    let (mut attach, token, lnd_side) = attach_and_register(&mut client, &mut lnd).await;

    // A reply over the limit is refused by the bridge, the session lives on.
    let big_reply = SignCoordinatorResponse {
        ref_request_id: 2,
        sign_response_type: Some(SignResponseType::SignPsbtResponse(SignPsbtResponse {
            signed_psbt: vec![7; 10_000],
            signed_inputs: vec![],
        })),
    };
    let err = within("Reply", client.reply(reply(&token, big_reply)))
        .await
        .expect_err("oversized reply refused");
    assert_eq!(err.code(), Code::OutOfRange, "{err:?}");
    // Just over the limit but inside the envelope allowance: refused by the
    // bridge's own check, the session lives on.
    let mut near = SignCoordinatorResponse {
        ref_request_id: 2,
        sign_response_type: Some(SignResponseType::SignPsbtResponse(SignPsbtResponse {
            signed_psbt: vec![7; 4096 - 8],
            signed_inputs: vec![],
        })),
    };
    while near.encoded_len() <= 4096 {
        if let Some(SignResponseType::SignPsbtResponse(r)) = near.sign_response_type.as_mut() {
            r.signed_psbt.push(7);
        }
    }
    let err = within("Reply", client.reply(reply(&token, near)))
        .await
        .expect_err("oversized reply refused");
    assert_eq!(err.code(), Code::OutOfRange, "{err:?}");
    assert!(err.message().contains("--max-reply-bytes 4096"), "{err:?}");

    // A request under the limit passes, one over it ends the session.
    lnd_side
        .outbound
        .send(Ok(psbt_request(2, vec![1; 3000])))
        .await
        .expect("queue");
    assert_eq!(next_request(&mut attach).await.request_id, 2);
    lnd_side
        .outbound
        .send(Ok(psbt_request(3, vec![1; 10_000])))
        .await
        .expect("queue");
    let s = end_status(&mut attach).await;
    assert!(
        s.message().starts_with("lnd ended the signer stream:"),
        "{s:?}"
    );
    assert!(s.message().contains("message length too large"), "{s:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_ends_sessions_and_the_server() {
    let mut lnd = FakeLnd::start().await;
    let mut bridge = RunningBridge::for_lnd(&lnd).await;
    let mut client = bridge.client().await;
    let (mut attach, _token, mut lnd_side) = attach_and_register(&mut client, &mut lnd).await;

    let stopping = tokio::spawn(async move {
        let r = bridge.stop().await;
        (bridge, r)
    });
    let s = end_status(&mut attach).await;
    assert_eq!(s.code(), Code::Unavailable, "{s:?}");
    assert_eq!(s.message(), "signer-bridge is shutting down");
    // The cause, machine readable, crossed the wire as a trailer.
    assert_eq!(
        s.metadata()
            .get(lnd_web_signer::proto::signerbridge::CAUSE_METADATA)
            .and_then(|v| v.to_str().ok()),
        Some(lnd_web_signer::proto::signerbridge::CAUSE_BRIDGE_SHUTDOWN)
    );
    let end = within("lnd to see the stream end", lnd_side.inbound.message()).await;
    assert!(!matches!(end, Ok(Some(_))), "{end:?}");
    drop(attach);
    drop(client);
    let (_bridge, r) = within("serve to return", stopping).await.expect("join");
    r.expect("serve returned an error");
}

/// Appends an unknown field (number 1000, length-delimited) to a message.
fn with_unknown_field(mut msg: Vec<u8>, payload: &[u8]) -> Vec<u8> {
    // key = 1000 << 3 | 2 = 8002 = varint c2 3e
    msg.extend_from_slice(&[0xc2, 0x3e, u8::try_from(payload.len()).expect("short")]);
    msg.extend_from_slice(payload);
    msg
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn relays_bytes_exactly_including_unknown_fields() {
    use lnd_web_signer_native::bridge::raw::RawCodec;
    use tonic::codegen::{http::uri::PathAndQuery, Bytes};

    let mut lnd = RawFakeLnd::start().await;
    let bridge =
        RunningBridge::start(BridgeConfig::new(lnd.addr.to_string(), &lnd.cert_path)).await;
    let channel = tonic::transport::Endpoint::from_shared(format!("http://{}", bridge.addr))
        .expect("URI")
        .connect()
        .await
        .expect("connect");
    let mut raw = tonic::client::Grpc::new(channel);

    // Attach with a raw AttachRequest (client_info "x").
    raw.ready().await.expect("ready");
    let mut attach = raw
        .server_streaming(
            attach_request_raw(b"\x0a\x01x"),
            PathAndQuery::from_static("/signerbridge.SignerBridge/Attach"),
            RawCodec,
        )
        .await
        .expect("Attach")
        .into_inner();
    let first = within("token event", attach.message())
        .await
        .expect("ok")
        .expect("token");
    assert_eq!(first.len(), 34);
    assert_eq!(&first[..2], &[0x0a, 32], "AttachEvent.session_token");
    let token = first[2..].to_vec();

    // signer → lnd: a response carrying a field this bridge has never heard of.
    let response = with_unknown_field(
        SignCoordinatorResponse {
            ref_request_id: 1,
            sign_response_type: Some(SignResponseType::Pong(true)),
        }
        .encode_to_vec(),
        b"from a newer signer",
    );
    let mut reply = vec![0x0a, 32];
    reply.extend_from_slice(&token);
    reply.push(0x12);
    reply.push(u8::try_from(response.len()).expect("short"));
    reply.extend_from_slice(&response);
    raw.ready().await.expect("ready");
    let ack = raw
        .unary(
            tonic::Request::new(Bytes::from(reply)),
            PathAndQuery::from_static("/signerbridge.SignerBridge/Reply"),
            RawCodec,
        )
        .await
        .expect("Reply");
    assert!(ack.get_ref().is_empty(), "ReplyAck is empty");
    let mut lnd_side = lnd.next_stream().await;
    let got = within("bytes at lnd", lnd_side.inbound.message())
        .await
        .expect("ok")
        .expect("message");
    assert_eq!(
        got.as_ref(),
        response.as_slice(),
        "response relayed byte for byte"
    );

    // lnd → signer: a request with an unknown field, also inside a nested
    // message, and a member number this bridge does not know (14).
    let mut request = with_unknown_field(
        psbt_request(2, b"psbt".to_vec()).encode_to_vec(),
        b"from a newer lnd",
    );
    request.extend_from_slice(&[0x72, 0x03, 0x0a, 0x01, 0x07]); // field 14 { field 1: 0x07 }
    lnd_side
        .outbound
        .send(Ok(Bytes::from(request.clone())))
        .await
        .expect("queue");
    let event = within("relayed event", attach.message())
        .await
        .expect("ok")
        .expect("event");
    let mut expected = vec![0x12];
    let mut len = Vec::new();
    prost::encoding::encode_varint(request.len() as u64, &mut len);
    expected.extend_from_slice(&len);
    expected.extend_from_slice(&request);
    assert_eq!(
        event.as_ref(),
        expected.as_slice(),
        "request relayed byte for byte"
    );
}

fn attach_request_raw(body: &'static [u8]) -> tonic::Request<tonic::codegen::Bytes> {
    let mut req = tonic::Request::new(tonic::codegen::Bytes::from_static(body));
    req.metadata_mut().insert(
        "macaroon",
        tonic::metadata::MetadataValue::try_from(GOOD_MACAROON).expect("ascii"),
    );
    req
}
