//! Test and benchmark support of lnd-web-signer, kept out of the shipped
//! library: the deterministic PSBT fixtures ([`fixtures`]), the benchmark
//! workloads that `scripts/bench.sh` times natively (`lws-bench`) and in
//! Chromium (the wasm crate's `bench` feature) ([`bench`]), the demo key,
//! and where the external test vectors are.
//!
//! The conformance binary (`tests/conformance`) embeds its vector files with
//! `include_str!` instead of [`vector_file`], so that it runs unchanged in
//! headless Chromium.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod bench;
pub mod fixtures;

/// The demo and test key: the example tprv of lnd's
/// `docs/remote-signing.md` (regtest; public, never a wallet). The
/// simulator's accounts, the demo and the JavaScript suites
/// (`tests/stack/constants.mjs`) use the same one.
pub const DEMO_TPRV: &str = "tprv8ZgxMBicQKsPe6jS4vDm2n7s42Q6MpvghUQqMmSKG7bTZvGKtjrcU3PGzMNG37yzxywrcdvgkwrr8eYXJmbwdvUNVT4Ucv7ris4jvA7BUmg";

/// `../shared/vectors` of the workspace (the external test vectors; CI
/// always has it beside the checkout).
pub fn vectors_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/vectors")
}

/// The text of vector file `rel` under [`vectors_dir`] (e.g.
/// `"lnd/remote_signing_accounts.json"`); panics with the path when it
/// cannot be read (test support).
pub fn vector_file(rel: &str) -> String {
    let path = vectors_dir().join(rel);
    std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "cannot read test vectors {}: {e} (is ../shared/vectors present?)",
            path.display()
        )
    })
}

/// One `MuSig2CreateSession` (2-of-2, BIP-86
/// tweak, the peer's nonce given, fresh local nonce from `rand`) followed by
/// `MuSig2Sign`, through a fresh `SessionManager` with fixed keys (lnd's
/// taproot-channel funding keys). Returns the partial signature.
pub fn musig2_create_and_sign(
    rand: [u8; 32],
) -> Result<[u8; 32], lnd_web_signer::musig2::MuSig2Error> {
    const LOCAL_KEY: &str = "20ae2d254ab29afd3dcbf8744a5b88d06070f55a4bd5532483a093ac4db91277";
    const LOCAL_PUB: &str = "03b7203dec7c13896b6ff1f58b24f84458c441720a12b5a57426397e22f0a8c78b";
    const REMOTE_PUB: &str = "02956e6845a6f346f97c5e028c0f8ab38a76b0124fd7184deab60f682b3e657fdb";
    const REMOTE_NONCE: &str = "02d324627074522af8cf4287caf1e073a3493550b99aed2697e58f476ec402e272039c25fc616207e15917b7145cefcb4c9c702580baf255597d2fa115564a74a130";
    let bytes = |h: &str| hex::decode(h).unwrap_or_default();
    let key = bitcoin::secp256k1::SecretKey::from_slice(&bytes(LOCAL_KEY))
        .map_err(|e| lnd_web_signer::musig2::MuSig2Error::KeyDerivation(e.to_string()))?;
    let req = lnd_web_signer::proto::signrpc::MuSig2SessionRequest {
        key_loc: Some(lnd_web_signer::proto::signrpc::KeyLocator {
            key_family: 0,
            key_index: 0,
        }),
        all_signer_pubkeys: vec![bytes(LOCAL_PUB), bytes(REMOTE_PUB)],
        other_signer_public_nonces: vec![bytes(REMOTE_NONCE)],
        tweaks: Vec::new(),
        taproot_tweak: Some(lnd_web_signer::proto::signrpc::TaprootTweakDesc {
            script_root: Vec::new(),
            key_spend_only: true,
        }),
        version: lnd_web_signer::proto::signrpc::MuSig2Version::Musig2VersionV100rc2 as i32,
        pregenerated_local_nonce: Vec::new(),
    };
    let mut m = lnd_web_signer::musig2::SessionManager::default();
    let resp = m.create_session(&key, &req, rand)?;
    let sig = m.sign(&lnd_web_signer::proto::signrpc::MuSig2SignRequest {
        session_id: resp.session_id,
        message_digest: vec![0x5a; 32],
        cleanup: true,
    })?;
    let mut out = [0u8; 32];
    out.copy_from_slice(&sig.local_partial_signature);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn musig2_workload_signs_and_depends_on_entropy() {
        let a = musig2_create_and_sign([1; 32]).expect("bench a");
        let b = musig2_create_and_sign([2; 32]).expect("bench b");
        assert_ne!(a, b);
        assert_eq!(a, musig2_create_and_sign([1; 32]).expect("bench a again"));
    }
}
