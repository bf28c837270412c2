//! signer-bridge's `ReplyBatch`: several responses in one unary call, relayed
//! to lnd unchanged and in order, all or nothing, with the same token and
//! size rules as `Reply`.

use crate::support::bridge as bridge_support;

use bridge_support::*;
use lnd_web_signer::proto::signerbridge::ReplyBatchRequest;
use lnd_web_signer::proto::{
    walletrpc::SignPsbtResponse,
    watchonlyrpc::{
        sign_coordinator_response::SignResponseType, SignCoordinatorResponse, SignerError,
    },
};
use lnd_web_signer_native::bridge::{BridgeConfig, MAX_BATCH_RESPONSES};
use prost::Message;
use tonic::Code;

fn pong(id: u64) -> SignCoordinatorResponse {
    SignCoordinatorResponse {
        ref_request_id: id,
        sign_response_type: Some(SignResponseType::Pong(true)),
    }
}

fn batch(token: &[u8], responses: Vec<SignCoordinatorResponse>) -> ReplyBatchRequest {
    ReplyBatchRequest {
        session_token: token.to_vec(),
        responses,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batch_relays_each_response_unchanged_and_in_order() {
    let mut lnd = FakeLnd::start().await;
    let bridge = RunningBridge::for_lnd(&lnd).await;
    let mut client = bridge.client().await;
    let (_attach, token, mut lnd_side) = attach_and_register(&mut client, &mut lnd).await;

    let responses = vec![
        pong(3),
        SignCoordinatorResponse {
            ref_request_id: 2,
            sign_response_type: Some(SignResponseType::SignPsbtResponse(SignPsbtResponse {
                signed_psbt: (0u8..=255).cycle().take(70_000).collect(),
                signed_inputs: vec![0, 2],
            })),
        },
        SignCoordinatorResponse {
            ref_request_id: 5,
            sign_response_type: Some(SignResponseType::SignerError(SignerError {
                error: "unimplemented request by watch-only node".into(),
            })),
        },
        pong(4),
    ];
    let ack = within(
        "ReplyBatch",
        client.reply_batch(batch(&token, responses.clone())),
    )
    .await
    .expect("batch accepted");
    assert_eq!(ack.get_ref().encode_to_vec(), Vec::<u8>::new());
    for r in &responses {
        let got = within("a reply at lnd", lnd_side.inbound.message())
            .await
            .expect("lnd stream ok")
            .expect("lnd stream open");
        assert_eq!(
            got.encode_to_vec(),
            r.encode_to_vec(),
            "{}",
            r.ref_request_id
        );
    }
    // Single Replies still work on the same session after a batch.
    within("Reply", client.reply(reply(&token, pong(9))))
        .await
        .expect("reply accepted");
    let got = within("a reply at lnd", lnd_side.inbound.message())
        .await
        .expect("ok")
        .expect("open");
    assert_eq!(got.ref_request_id, 9);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batch_with_wrong_token_or_no_responses_is_refused() {
    let mut lnd = FakeLnd::start().await;
    let bridge = RunningBridge::for_lnd(&lnd).await;
    let mut client = bridge.client().await;
    let (attach, token, mut lnd_side) = attach_and_register(&mut client, &mut lnd).await;

    let mut wrong = token.clone();
    wrong[31] ^= 0x80;
    for bad in [wrong, vec![], token[..31].to_vec(), vec![0; 33]] {
        let err = within("ReplyBatch", client.reply_batch(batch(&bad, vec![pong(2)])))
            .await
            .expect_err("wrong token must be rejected");
        assert_eq!(err.code(), Code::NotFound, "{err:?}");
        assert!(err.message().contains("session token"), "{err:?}");
    }
    let err = within("ReplyBatch", client.reply_batch(batch(&token, vec![])))
        .await
        .expect_err("empty batch rejected");
    assert_eq!(err.code(), Code::InvalidArgument, "{err:?}");
    assert!(
        err.message().contains("no SignCoordinatorResponse"),
        "{err:?}"
    );

    // Nothing of the refused calls reached lnd: the next message is this one.
    within("Reply", client.reply(reply(&token, pong(7))))
        .await
        .expect("reply accepted");
    let got = within("a reply at lnd", lnd_side.inbound.message())
        .await
        .expect("ok")
        .expect("open");
    assert_eq!(got.ref_request_id, 7);

    // The token dies with its Attach stream, for batches too.
    drop(attach);
    let mut last = None;
    for _ in 0..100 {
        match client.reply_batch(batch(&token, vec![pong(8)])).await {
            Ok(_) => tokio::time::sleep(std::time::Duration::from_millis(20)).await,
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
async fn batch_bounds_are_all_or_nothing() {
    let mut lnd = FakeLnd::start().await;
    let mut config = BridgeConfig::new(lnd.addr.to_string(), &lnd.cert_path);
    config.max_reply_bytes = 4096;
    let bridge = RunningBridge::start(config).await;
    let mut client = bridge.client().await;
    let (_attach, token, mut lnd_side) = attach_and_register(&mut client, &mut lnd).await;

    // One response over --max-reply-bytes: the whole batch is refused.
    let big = SignCoordinatorResponse {
        ref_request_id: 3,
        sign_response_type: Some(SignResponseType::SignPsbtResponse(SignPsbtResponse {
            signed_psbt: vec![7; 4000],
            signed_inputs: vec![],
        })),
    };
    let mut over = big.clone();
    if let Some(SignResponseType::SignPsbtResponse(r)) = over.sign_response_type.as_mut() {
        r.signed_psbt.resize(4100, 7);
    }
    let err = within(
        "ReplyBatch",
        client.reply_batch(batch(&token, vec![pong(2), over])),
    )
    .await
    .expect_err("oversized response refused");
    assert_eq!(err.code(), Code::OutOfRange, "{err:?}");
    assert!(err.message().contains("--max-reply-bytes 4096"), "{err:?}");

    // Each response within the limit but the whole batch over it (the
    // envelope is bounded like one Reply): refused too.
    let err = within(
        "ReplyBatch",
        client.reply_batch(batch(&token, vec![big.clone(), big.clone()])),
    )
    .await
    .expect_err("oversized batch refused");
    assert_eq!(err.code(), Code::OutOfRange, "{err:?}");

    // More than MAX_BATCH_RESPONSES responses: refused.
    let many: Vec<_> = (0..=MAX_BATCH_RESPONSES as u64)
        .map(|i| pong(100 + i))
        .collect();
    let err = within("ReplyBatch", client.reply_batch(batch(&token, many)))
        .await
        .expect_err("too many responses refused");
    assert_eq!(err.code(), Code::OutOfRange, "{err:?}");
    assert!(
        err.message()
            .contains(&format!("more than {MAX_BATCH_RESPONSES} responses")),
        "{err:?}"
    );

    // None of those reached lnd; exactly MAX_BATCH_RESPONSES is fine.
    let full: Vec<_> = (0..MAX_BATCH_RESPONSES as u64)
        .map(|i| pong(1000 + i))
        .collect();
    within("ReplyBatch", client.reply_batch(batch(&token, full)))
        .await
        .expect("a full batch is accepted");
    for i in 0..MAX_BATCH_RESPONSES as u64 {
        let got = within("a reply at lnd", lnd_side.inbound.message())
            .await
            .expect("ok")
            .expect("open");
        assert_eq!(got.ref_request_id, 1000 + i, "in order, nothing else first");
    }
}
