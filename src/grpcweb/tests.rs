use super::*;

/// A realistic Attach response: token event, two requests (one larger than
/// typical chunk sizes would keep whole), an empty message, then trailers.
fn sample_body() -> (Vec<Vec<u8>>, Vec<u8>) {
    let messages: Vec<Vec<u8>> = vec![
        b"\x0a\x20session-token-0123456789abcdef!!".to_vec(),
        (0..=255u8).cycle().take(700).collect(),
        Vec::new(),
        b"\x08\x02\x18\x01".to_vec(),
    ];
    let mut body = Vec::new();
    for m in &messages {
        body.extend(encode_data_frame(m).expect("small frame"));
    }
    body.extend(
        encode_trailer_frame(&[("grpc-status", "0"), ("grpc-message", "all done")])
            .expect("small trailer"),
    );
    (messages, body)
}

/// Feeds `chunks` and collects every frame, then checks `finish`.
fn decode_chunks<'a>(chunks: impl IntoIterator<Item = &'a [u8]>) -> Vec<Frame> {
    let mut dec = Decoder::new();
    let mut frames = Vec::new();
    for chunk in chunks {
        dec.push(chunk);
        while let Some(f) = dec.next_frame().expect("valid body") {
            frames.push(f);
        }
    }
    dec.finish().expect("body complete");
    frames
}

fn expected_frames(messages: &[Vec<u8>]) -> Vec<Frame> {
    let mut out: Vec<Frame> = messages
        .iter()
        .map(|m| Frame::Data(Bytes::from(encode_data_frame(m).expect("small frame"))))
        .collect();
    let mut t = HeaderMap::new();
    t.insert("grpc-status", HeaderValue::from_static("0"));
    t.insert("grpc-message", HeaderValue::from_static("all done"));
    out.push(Frame::Trailers(t));
    out
}

#[test]
fn whole_body_in_one_chunk() {
    let (messages, body) = sample_body();
    assert_eq!(decode_chunks([body.as_slice()]), expected_frames(&messages));
}

#[test]
fn split_at_every_byte_boundary() {
    let (messages, body) = sample_body();
    let want = expected_frames(&messages);
    for cut in 0..=body.len() {
        let (a, b) = body.split_at(cut);
        assert_eq!(decode_chunks([a, b]), want, "split at byte {cut}");
    }
}

#[test]
fn split_at_every_pair_of_boundaries_around_the_trailer() {
    // Every pair of cut points inside the last data frame and the trailer
    // frame: catches a decoder that handles one split but not two.
    let (messages, body) = sample_body();
    let want = expected_frames(&messages);
    let trailer_len = encode_trailer_frame(&[("grpc-status", "0"), ("grpc-message", "all done")])
        .expect("small trailer")
        .len();
    let start = body.len() - trailer_len - 9;
    for i in start..=body.len() {
        for j in i..=body.len() {
            let chunks = [&body[..i], &body[i..j], &body[j..]];
            assert_eq!(decode_chunks(chunks), want, "cuts at {i} and {j}");
        }
    }
}

#[test]
fn one_byte_chunks() {
    let (messages, body) = sample_body();
    assert_eq!(
        decode_chunks(body.chunks(1)),
        expected_frames(&messages),
        "1-byte chunks"
    );
}

#[test]
fn every_fixed_chunk_size() {
    let (messages, body) = sample_body();
    let want = expected_frames(&messages);
    for size in 1..=body.len() {
        assert_eq!(decode_chunks(body.chunks(size)), want, "chunk size {size}");
    }
}

#[test]
fn frames_appear_as_soon_as_complete() {
    let (messages, body) = sample_body();
    let first_len = FRAME_HEADER_LEN + messages[0].len();
    let mut dec = Decoder::new();
    dec.push(&body[..first_len - 1]);
    assert_eq!(dec.next_frame().expect("valid"), None);
    dec.push(&body[first_len - 1..first_len]);
    assert!(matches!(
        dec.next_frame().expect("valid"),
        Some(Frame::Data(_))
    ));
    assert_eq!(dec.next_frame().expect("valid"), None);
    assert_eq!(dec.buffered(), 0);
    assert!(!dec.trailers_seen());
}

#[test]
fn truncated_body_is_an_error() {
    let (_, body) = sample_body();
    for cut in 1..body.len() {
        let mut dec = Decoder::new();
        dec.push(&body[..cut]);
        while dec.next_frame().expect("valid prefix").is_some() {}
        let ends_on_frame = dec.buffered() == 0;
        match dec.finish() {
            Ok(()) => assert!(ends_on_frame, "cut {cut}: finish accepted a partial frame"),
            Err(DecodeError::Truncated { have, need }) => {
                assert!(!ends_on_frame, "cut {cut}");
                assert_eq!(have, dec.buffered());
                assert!(need > have, "cut {cut}: need {need} have {have}");
            }
            Err(e) => panic!("cut {cut}: unexpected error {e}"),
        }
    }
}

#[test]
fn body_without_trailer_decodes_data_frames() {
    // A trailers-only or header-status response has no trailer frame; the
    // decoder must not invent one.
    let body = encode_data_frame(b"abc").expect("small");
    let frames = decode_chunks(body.chunks(2));
    assert_eq!(frames, vec![Frame::Data(Bytes::from(body.clone()))]);
}

#[test]
fn bytes_after_trailers_are_rejected() {
    let mut body = encode_trailer_frame(&[("grpc-status", "0")]).expect("small");
    body.extend(encode_data_frame(b"x").expect("small"));
    let mut dec = Decoder::new();
    dec.push(&body);
    assert!(matches!(
        dec.next_frame().expect("trailer"),
        Some(Frame::Trailers(_))
    ));
    assert_eq!(dec.next_frame(), Err(DecodeError::DataAfterTrailers(6)));
    assert_eq!(dec.finish(), Err(DecodeError::DataAfterTrailers(6)));
}

#[test]
fn oversized_frame_is_rejected_before_buffering_it() {
    let mut dec = Decoder::with_max_frame_len(16);
    dec.push(&[0, 0, 0, 0, 17]);
    assert_eq!(
        dec.next_frame(),
        Err(DecodeError::FrameTooLarge { len: 17, max: 16 })
    );
}

#[test]
fn trailer_parsing_is_lenient_about_case_space_and_line_ends() {
    let t = parse_trailers(b"Grpc-Status:13\nGRPC-MESSAGE:  bad thing happened \r\n\r\n")
        .expect("valid trailers");
    assert_eq!(
        t.get("grpc-status").map(HeaderValue::as_bytes),
        Some(&b"13"[..])
    );
    assert_eq!(
        t.get("grpc-message").map(HeaderValue::as_bytes),
        Some(&b"bad thing happened"[..])
    );
    assert_eq!(t.len(), 2);
}

#[test]
fn bad_trailer_lines_name_the_line() {
    let err = parse_trailers(b"grpc-status: 0\r\nno separator here\r\n").expect_err("invalid");
    assert_eq!(
        err,
        DecodeError::BadTrailer {
            line: 2,
            reason: "no ':' separator".into()
        }
    );
    assert_eq!(
        err.to_string(),
        "invalid grpc-web trailer line 2: no ':' separator"
    );
    let err = parse_trailers(b"bad name: 1").expect_err("invalid name");
    assert!(matches!(err, DecodeError::BadTrailer { line: 1, .. }));
}

mod props {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn any_chunking_gives_the_same_frames(
            messages in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..64), 0..6),
            cuts in proptest::collection::vec(any::<prop::sample::Index>(), 0..12),
        ) {
            let mut body = Vec::new();
            for m in &messages {
                body.extend(encode_data_frame(m).expect("small"));
            }
            body.extend(encode_trailer_frame(&[("grpc-status", "0"), ("grpc-message", "all done")]).expect("small"));
            let mut points: Vec<usize> = cuts.iter().map(|c| c.index(body.len() + 1)).collect();
            points.sort_unstable();
            let mut chunks = Vec::new();
            let mut last = 0;
            for p in points {
                chunks.push(&body[last..p]);
                last = p;
            }
            chunks.push(&body[last..]);
            prop_assert_eq!(decode_chunks(chunks), expected_frames(&messages));
        }
    }
}

/// A trailer block of `names` distinct `x-N: v` lines.
fn many_trailer_names(names: usize) -> Vec<u8> {
    let mut block = Vec::new();
    for i in 0..names {
        block.extend_from_slice(format!("x-{i}: v\r\n").as_bytes());
    }
    block
}

#[test]
fn a_huge_trailer_block_is_an_error_not_a_panic() {
    // ~235 KB of distinct names: http::HeaderMap's `append` panics past
    // 24,576 of them (docs/wasm-transport.md, trailer limits).
    let block = many_trailer_names(25_000);
    assert!(block.len() > 200_000);
    let err = parse_trailers(&block).expect_err("far too many trailer lines");
    assert_eq!(
        err,
        DecodeError::TooManyTrailerLines {
            max: MAX_TRAILER_LINES
        }
    );
    // The same block as a frame is refused by its announced length, before
    // it is buffered.
    let mut frame = vec![TRAILER_FLAG];
    frame.extend_from_slice(&u32::try_from(block.len()).expect("fits").to_be_bytes());
    let mut dec = Decoder::new();
    dec.push(&frame);
    assert_eq!(
        dec.next_frame(),
        Err(DecodeError::TrailerTooLarge {
            len: block.len(),
            max: MAX_TRAILER_LEN
        })
    );
    frame.extend_from_slice(&block);
    let mut dec = Decoder::new();
    dec.push(&frame);
    assert!(matches!(
        dec.next_frame(),
        Err(DecodeError::TrailerTooLarge { .. })
    ));
}

#[test]
fn trailer_limits_are_a_few_kib_and_a_few_dozen_lines() {
    // At the line limit: accepted (names repeat into one entry each).
    let block = many_trailer_names(MAX_TRAILER_LINES);
    assert!(block.len() <= MAX_TRAILER_LEN);
    assert_eq!(
        parse_trailers(&block).expect("at the limit").len(),
        MAX_TRAILER_LINES
    );
    // One more line: refused, with a message naming the limit.
    let err = parse_trailers(&many_trailer_names(MAX_TRAILER_LINES + 1)).expect_err("over");
    assert_eq!(
        err.to_string(),
        format!("grpc-web trailer frame has more than {MAX_TRAILER_LINES} lines")
    );
    // Blank lines do not count; a frame at the byte limit is read.
    let mut block = b"grpc-status: 0\r\n".to_vec();
    block.resize(MAX_TRAILER_LEN, b'\n');
    let mut frame = encode_frame(TRAILER_FLAG, &block).expect("small");
    let mut dec = Decoder::new();
    dec.push(&frame);
    assert!(matches!(dec.next_frame(), Ok(Some(Frame::Trailers(t))) if t.len() == 1));
    // One byte more: refused.
    frame.push(b'\n');
    frame[1..5].copy_from_slice(
        &u32::try_from(MAX_TRAILER_LEN + 1)
            .expect("fits")
            .to_be_bytes(),
    );
    let mut dec = Decoder::new();
    dec.push(&frame);
    assert_eq!(
        dec.next_frame().expect_err("too large").to_string(),
        format!(
            "grpc-web trailer frame of {} bytes exceeds the limit of {MAX_TRAILER_LEN} bytes",
            MAX_TRAILER_LEN + 1
        )
    );
}
