//! Writes the seed corpora of the fuzz targets into `fuzz/seeds/<target>/`:
//! every request of the simulator's workloads (`watchonly-sim`, scenarios
//! mixed, errors, burst, taproot-channel, recorded while the real signer
//! answers them), the signer's answers wrapped as bridge envelopes and
//! grpc-web bodies, PSBTs and aezeed mnemonics from `../shared/vectors`,
//! and small vaults. Run by `scripts/fuzz.sh --seeds`; the output is
//! committed, so fuzzing itself needs neither the simulator nor the vectors.
//!
//!   seedgen SIM_BIN VECTORS_DIR OUT_DIR
#![forbid(unsafe_code)]
#![allow(clippy::print_stderr, clippy::print_stdout)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use lnd_web_signer::entropy::Entropy;
use lnd_web_signer::grpcweb::{encode_data_frame, encode_trailer_frame};
use lnd_web_signer::json::request_to_json;
use lnd_web_signer::keys::{accounts_json, SeedInput};
use lnd_web_signer::proto::signerbridge::{
    attach_event::Event, AttachEvent, ReplyBatchRequest, ReplyRequest,
};
use lnd_web_signer::proto::walletrpc::SignPsbtRequest;
use lnd_web_signer::proto::watchonlyrpc::{
    sign_coordinator_request::SignRequestType, SignCoordinatorRequest,
};
use lnd_web_signer::request::Work;
use lnd_web_signer::secret::SecretString;
use lnd_web_signer::session;
// Cheap KDF parameters for fast fuzzing: only through the named test path.
use lnd_web_signer::vault::{test_only_weak_kdf::seal, KdfParams};
use lnd_web_signer_native::connect::{run, ConnectConfig, Handler};
use lws_fuzz::checks::{encode_requests, test_signer, VAULT_PASSPHRASE};
use prost::Message;

fn write(dir: &Path, name: &str, bytes: &[u8]) {
    std::fs::create_dir_all(dir).expect("create seed dir");
    std::fs::write(dir.join(name), bytes).expect("write seed");
}

/// Runs one simulator scenario against a recording signer; returns every
/// request it sent (encoded), in order.
async fn record(sim: &Path, scenario: &str, tmp: &Path) -> Vec<Vec<u8>> {
    let dir = tmp.join(scenario);
    std::fs::create_dir_all(&dir).expect("tmp dir");
    let accounts = dir.join("accounts.json");
    std::fs::write(&accounts, accounts_json(test_signer().root())).expect("accounts");
    let mut child = Command::new(sim)
        .args([
            "--listen",
            "127.0.0.1:0",
            "--network",
            "regtest",
            "--exit-when-done",
            "--quiet",
        ])
        .args([
            "--scenario",
            scenario,
            "--startup-timeout",
            "30s",
            "--ping-interval",
            "500ms",
        ])
        .arg("--tls-dir")
        .arg(dir.join("tls"))
        .arg("--macaroon-out")
        .arg(dir.join("signer.macaroon"))
        .arg("--accounts")
        .arg(&accounts)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start watchonly-sim");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    let addr = loop {
        let line = lines
            .next()
            .expect("sim printed its address")
            .expect("utf-8");
        if let Some(rest) = line.split("listening on ").nth(1) {
            break rest.split_whitespace().next().expect("address").to_string();
        }
    };
    std::thread::spawn(move || for _ in lines {});
    let config = ConnectConfig::from_files(
        addr,
        &dir.join("tls/tls.cert"),
        &dir.join("signer.macaroon"),
    )
    .expect("connect config");
    let seen = Arc::new(Mutex::new(Vec::new()));
    let signer = Arc::new(test_signer());
    let handler: Handler = {
        let seen = Arc::clone(&seen);
        Arc::new(move |work: &Work| {
            seen.lock()
                .expect("lock")
                .push(work.clone().into_request().encode_to_vec());
            signer.handle(work)
        })
    };
    let (done_tx, done_rx) = tokio::sync::oneshot::channel::<()>();
    let waiter = std::thread::spawn(move || {
        let status = child.wait();
        let _ = done_tx.send(());
        status
    });
    let stop = async move {
        let _ = tokio::time::timeout(Duration::from_secs(120), done_rx).await;
    };
    let _ = run(config, handler, stop).await;
    let status = waiter.join().expect("sim waiter");
    eprintln!("seedgen: scenario {scenario}: sim exit {status:?}");
    let out = seen.lock().expect("lock").clone();
    out
}

/// Strings anywhere in a JSON document.
fn strings(v: &serde_json::Value, out: &mut Vec<String>) {
    match v {
        serde_json::Value::String(s) => out.push(s.clone()),
        serde_json::Value::Array(a) => {
            // A mnemonic given as a list of words.
            let words: Vec<&str> = a.iter().filter_map(|x| x.as_str()).collect();
            if words.len() == a.len() && words.len() == 24 {
                out.push(words.join(" "));
            }
            a.iter().for_each(|x| strings(x, out))
        }
        serde_json::Value::Object(o) => o.values().for_each(|x| strings(x, out)),
        _ => {}
    }
}

fn vector_strings(vectors: &Path) -> Vec<String> {
    let mut out = Vec::new();
    for sub in ["lnd", "bip"] {
        let Ok(rd) = std::fs::read_dir(vectors.join(sub)) else {
            continue;
        };
        for e in rd.flatten() {
            let p = e.path();
            if p.extension().and_then(|x| x.to_str()) != Some("json") {
                continue;
            }
            if let Ok(v) = serde_json::from_str::<serde_json::Value>(
                &std::fs::read_to_string(&p).unwrap_or_default(),
            ) {
                strings(&v, &mut out);
            }
        }
    }
    out
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, sim, vectors, out] = &args[..] else {
        eprintln!("usage: seedgen SIM_BIN VECTORS_DIR OUT_DIR");
        std::process::exit(2);
    };
    let (sim, vectors, out) = (
        PathBuf::from(sim),
        PathBuf::from(vectors),
        PathBuf::from(out),
    );
    let tmp = std::env::temp_dir().join(format!("lws-seedgen-{}", std::process::id()));
    let rt = tokio::runtime::Runtime::new().expect("runtime");

    let mut all: Vec<Vec<u8>> = Vec::new();
    for scenario in ["mixed", "errors", "burst", "taproot-channel"] {
        let reqs = rt.block_on(record(&sim, scenario, &tmp));
        eprintln!("seedgen: {scenario}: {} requests", reqs.len());
        all.extend(reqs);
    }
    let _ = std::fs::remove_dir_all(&tmp);

    // PSBTs from the vectors, as SignPsbt requests.
    let texts = vector_strings(&vectors);
    let mut id = 1_000_000u64;
    for s in &texts {
        if let Ok(psbt) = base64_decode(s) {
            if psbt.starts_with(b"psbt\xff") {
                id += 1;
                all.push(
                    SignCoordinatorRequest {
                        request_id: id,
                        sign_request_type: Some(SignRequestType::SignPsbtRequest(
                            SignPsbtRequest { funded_psbt: psbt },
                        )),
                    }
                    .encode_to_vec(),
                );
            }
        }
    }
    // Identical requests once; requests_of frames at most 64 KiB each.
    all.sort();
    all.dedup();
    all.retain(|r| r.len() < 60_000);
    eprintln!("seedgen: {} distinct requests", all.len());

    let signer = test_signer();
    let dir = |t: &str| out.join(t);
    for (i, raw) in all.iter().enumerate() {
        let req = SignCoordinatorRequest::decode(&raw[..]).expect("recorded requests decode");
        write(
            &dir("signer_handle"),
            &format!("req-{i:04}"),
            &encode_requests([&raw[..]]),
        );
        let mut line = request_to_json(&req).expect("encodes").into_bytes();
        line.push(b'\n');
        write(&dir("handle_line"), &format!("req-{i:04}"), &line);
        let resp = session::respond(req.clone(), |work| signer.handle(work));
        let reply = ReplyRequest {
            session_token: vec![7; 32],
            response: Some(resp.clone()),
        }
        .encode_to_vec();
        write(&dir("bridge_split"), &format!("reply-{i:04}"), &reply);
        let event = AttachEvent {
            event: Some(Event::Request(req)),
        }
        .encode_to_vec();
        let mut body = vec![0x03, 0, 4, 60];
        body.extend(encode_data_frame(&event).expect("frame"));
        body.extend(encode_trailer_frame(&[("grpc-status", "0")]).expect("trailers"));
        if i % 4 == 0 {
            write(&dir("grpcweb_frames"), &format!("body-{i:04}"), &body);
        }
    }
    // Sequences of consecutive requests (MuSig2 create → nonces → sign).
    for (i, w) in all.windows(4).enumerate().step_by(3) {
        write(
            &dir("signer_handle"),
            &format!("seq-{i:04}"),
            &encode_requests(w.iter().map(|r| &r[..])),
        );
    }
    // Batches.
    for (i, w) in all.chunks(5).enumerate().take(40) {
        let responses = w
            .iter()
            .map(|r| {
                let req = SignCoordinatorRequest::decode(&r[..]).expect("decodes");
                session::respond(req, |work| signer.handle(work))
            })
            .collect();
        let batch = ReplyBatchRequest {
            session_token: vec![9; 32],
            responses,
        }
        .encode_to_vec();
        write(&dir("bridge_split"), &format!("batch-{i:04}"), &batch);
    }
    // Token event and trailers with a message, split chunkings.
    let token = AttachEvent {
        event: Some(Event::SessionToken(vec![1; 32])),
    }
    .encode_to_vec();
    let mut body = vec![0x12, 2];
    body.extend(encode_data_frame(&token).expect("frame"));
    body.extend(
        encode_trailer_frame(&[("grpc-status", "14"), ("grpc-message", "lnd%20closed")])
            .expect("trailers"),
    );
    write(&dir("grpcweb_frames"), "token-and-error", &body);

    // aezeed: every 24-word string of the vectors, with lnd's test and
    // default passphrases; and enciphered-mode seeds.
    let mut n = 0;
    for s in &texts {
        let words: Vec<&str> = s.split_whitespace().collect();
        if words.len() == 24
            && words
                .iter()
                .all(|w| w.chars().all(|c| c.is_ascii_lowercase()))
        {
            for pass in [&b""[..], b"aezeed", b"test"] {
                let mut seed = vec![0u8];
                seed.extend_from_slice(s.as_bytes());
                seed.push(0);
                seed.extend_from_slice(pass);
                write(&dir("aezeed_mnemonic"), &format!("text-{n:03}"), &seed);
                n += 1;
                if let Ok(m) = lnd_web_signer::keys::aezeed::Mnemonic::parse(s) {
                    let mut e = vec![1u8];
                    e.extend_from_slice(&*m.to_enciphered());
                    e.extend_from_slice(pass);
                    write(&dir("aezeed_mnemonic"), &format!("enc-{n:03}"), &e);
                }
            }
        }
    }
    eprintln!("seedgen: {n} aezeed seeds");

    // Vaults with small KDF parameters (fix-up mode 1 and raw mode 0).
    let tprv = "tprv8ZgxMBicQKsPe6jS4vDm2n7s42Q6MpvghUQqMmSKG7bTZvGKtjrcU3PGzMNG37yzxywrcdvgkwrr8eYXJmbwdvUNVT4Ucv7ris4jvA7BUmg";
    let seeds = [SeedInput::Xprv(SecretString::from_str(tprv))];
    for (i, params) in [
        KdfParams {
            m_cost_kib: 8,
            t_cost: 1,
            p_cost: 1,
        },
        KdfParams {
            m_cost_kib: 64,
            t_cost: 2,
            p_cost: 1,
        },
    ]
    .into_iter()
    .enumerate()
    {
        let rng = Counter(AtomicU8::new(i as u8));
        match seal(
            &seeds[0],
            lnd_web_signer::keys::Network::Regtest,
            None,
            VAULT_PASSPHRASE,
            params,
            &rng,
        ) {
            Ok(blob) => {
                for mode in [0u8, 1] {
                    let mut s = vec![mode];
                    s.extend_from_slice(&blob);
                    write(&dir("vault_open"), &format!("vault-{i}-{mode}"), &s);
                }
            }
            Err(e) => eprintln!("seedgen: cannot seal a small vault ({e}); vault seeds skipped"),
        }
    }
    println!("seedgen: seeds written to {}", out.display());
}

fn base64_decode(s: &str) -> Result<Vec<u8>, ()> {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let s = s.trim_end_matches('=');
    if s.len() < 8 || !s.bytes().all(|b| T.contains(&b)) {
        return Err(());
    }
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let mut acc = 0u32;
    let mut bits = 0;
    for b in s.bytes() {
        let v = T.iter().position(|&t| t == b).ok_or(())? as u32;
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    Ok(out)
}

/// Salt and nonce bytes n+1, n+2, … for the seed vaults.
struct Counter(AtomicU8);

impl Entropy for Counter {
    fn fill_bytes(&self, dest: &mut [u8]) {
        for x in dest {
            *x = self.0.fetch_add(1, Ordering::Relaxed).wrapping_add(1);
        }
    }
}
