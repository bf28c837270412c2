//! End-to-end tests of `lnd-web-signer handle`: protojson requests on stdin,
//! one response line each on stdout, answers checked against the lnd vectors.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde_json::{json, Value};

const BIN: &str = env!("CARGO_BIN_EXE_lnd-web-signer");
// The itest root key of ecdh.json / message_signing.json.
use lnd_web_signer_testkit::DEMO_TPRV as ITEST_TPRV;
/// lnd signer_test.go mnemonic (entropy 4a7611b6979ba7c4bc5c5cd2239b2973, the
/// seed of psbt_signing.json).
const LND_WORDS: &str = "able promote dizzy mixture sword myth share public find tattoo catalog cousin bulb unfair machine alarm cool large promote kick shop rug mean year";

fn vectors(name: &str) -> Value {
    serde_json::from_str(&lnd_web_signer_testkit::vector_file(name)).expect("vector JSON")
}

fn write(dir: &Path, name: &str, contents: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, contents).expect("write temp file");
    p
}

fn run_with_stdin(args: &[&dyn AsRef<std::ffi::OsStr>], stdin: &str) -> Output {
    let mut child = Command::new(BIN)
        .args(args.iter().map(|a| a.as_ref()))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn lnd-web-signer");
    // A command that fails before reading stdin (e.g. a missing seed file)
    // closes the pipe early: a broken pipe here is part of that outcome.
    match child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin.as_bytes())
    {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
        Err(e) => panic!("write stdin: {e}"),
    }
    child.wait_with_output().expect("wait")
}

fn response_lines(o: &Output) -> Vec<Value> {
    assert!(
        o.status.success(),
        "exit {:?}, stderr: {}",
        o.status,
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(
        o.stderr.is_empty(),
        "stderr: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout.clone())
        .expect("UTF-8 stdout")
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("line {l:?}: {e}")))
        .collect()
}

fn b64(hex_str: &str) -> String {
    STANDARD.encode(hex::decode(hex_str).expect("hex"))
}

fn unb64(v: &Value) -> String {
    hex::encode(
        STANDARD
            .decode(v.as_str().expect("base64 string"))
            .expect("base64"),
    )
}

#[test]
fn answers_requests_line_by_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let seed = write(dir.path(), "seed.txt", ITEST_TPRV);
    let ecdh = vectors("lnd/ecdh.json");
    let ecdh_case = &ecdh["computed_remote_signer_requests"]["cases"][0];
    let msg = vectors("lnd/message_signing.json");
    let msg_case = &msg["computed_node_key"]["cases"][0];
    let req = &ecdh_case["request"];
    let input = [
        json!({"requestId": "11", "ping": true}).to_string(),
        String::new(),
        // snake_case names and a numeric uint64 are accepted too.
        json!({
            "request_id": 12,
            "shared_key_request": {
                "ephemeral_pubkey": b64(req["ephemeral_pubkey"].as_str().expect("hex")),
                "key_desc": {
                    "raw_key_bytes": b64(req["key_desc"]["raw_key_bytes"].as_str().expect("hex")),
                    "key_loc": {"key_family": 6, "key_index": 0}
                }
            }
        })
        .to_string(),
        "this is not json".to_owned(),
        json!({
            "requestId": "13",
            "signMessageReq": {
                "msg": STANDARD.encode(msg_case["request"]["msg_ascii"].as_str().expect("msg")),
                "keyLoc": {"keyFamily": 6},
                "doubleHash": true
            }
        })
        .to_string(),
        json!({"requestId": "14", "signMessageReq": {"keyLoc": {"keyFamily": 6}}}).to_string(),
        json!({"requestId": "15", "nosuchfield": {}}).to_string(),
    ]
    .join("\n");
    let o = run_with_stdin(
        &[&"handle", &"--network", &"regtest", &"--seed-file", &seed],
        &input,
    );
    let lines = response_lines(&o);
    assert_eq!(lines.len(), 6, "{lines:?}");
    assert_eq!(lines[0], json!({"refRequestId": "11", "pong": true}));
    assert_eq!(lines[1]["refRequestId"], "12");
    assert_eq!(
        unb64(&lines[1]["sharedKeyResponse"]["sharedKey"]),
        ecdh_case["expected_shared_key"].as_str().expect("hex")
    );
    assert!(
        lines[2].get("refRequestId").is_none(),
        "ref 0 is omitted: {}",
        lines[2]
    );
    assert!(
        lines[2]["signerError"]["error"]
            .as_str()
            .expect("error")
            .contains("line 4"),
        "{}",
        lines[2]
    );
    assert_eq!(lines[3]["refRequestId"], "13");
    assert_eq!(
        unb64(&lines[3]["signMessageResp"]["signature"]),
        msg_case["expected_signature_DER"].as_str().expect("hex")
    );
    assert_eq!(
        lines[4],
        json!({"refRequestId": "14", "signerError": {"error":
            "error processing the request in the remote signer: a message to sign MUST be passed in"}})
    );
    assert!(lines[5].get("refRequestId").is_none());
    assert!(lines[5]["signerError"]["error"]
        .as_str()
        .expect("error")
        .contains("unknown field \"nosuchfield\""));
}

#[test]
fn signs_psbt_from_aezeed_and_from_vault() {
    let dir = tempfile::tempdir().expect("tempdir");
    let seed = write(dir.path(), "words.txt", LND_WORDS);
    let psbt = vectors("lnd/psbt_signing.json");
    let case = &psbt["cases"][0];
    let line = json!({
        "requestId": "99",
        "signPsbtRequest": {"fundedPsbt": b64(case["psbt_in_hex"].as_str().expect("hex"))}
    })
    .to_string();
    let expected = case["expected_signed_psbt_hex (btcd field order)"]
        .as_str()
        .expect("hex");

    let o = run_with_stdin(
        &[&"handle", &"--network", &"regtest", &"--seed-file", &seed],
        &format!("{line}\n"),
    );
    let lines = response_lines(&o);
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["refRequestId"], "99");
    assert_eq!(unb64(&lines[0]["signPsbtResponse"]["signedPsbt"]), expected);
    assert_eq!(lines[0]["signPsbtResponse"]["signedInputs"], json!([0]));

    // The same through a sealed vault.
    let pass = write(dir.path(), "pass.txt", "handle test passphrase\n");
    let vault = dir.path().join("signer.vault");
    let sealed = Command::new(BIN)
        .args(["vault", "seal", "--network", "regtest", "--seed-file"])
        .arg(&seed)
        .arg("--passphrase-file")
        .arg(&pass)
        .arg("--out")
        .arg(&vault)
        .output()
        .expect("seal");
    assert!(
        sealed.status.success(),
        "{}",
        String::from_utf8_lossy(&sealed.stderr)
    );
    let o = run_with_stdin(
        &[&"handle", &"--vault", &vault, &"--passphrase-file", &pass],
        &format!("\n{line}\n\n"),
    );
    let lines = response_lines(&o);
    assert_eq!(lines.len(), 1);
    assert_eq!(unb64(&lines[0]["signPsbtResponse"]["signedPsbt"]), expected);
}

#[test]
fn missing_seed_is_one_error_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let missing = dir.path().join("nope.txt");
    let o = run_with_stdin(
        &[
            &"handle",
            &"--network",
            &"regtest",
            &"--seed-file",
            &missing,
        ],
        "{\"ping\":true}\n",
    );
    assert!(!o.status.success());
    let err = String::from_utf8(o.stderr).expect("utf8");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("cannot read seed file"), "{err}");
    assert!(o.stdout.is_empty());
}
