//! Benchmark workloads shared by the native and the wasm runners, so that
//! `scripts/bench.sh` times exactly the same work on both (not part of the shipped signer). The caller passes a clock in
//! milliseconds (`Instant` natively, `performance.now()` in a browser).

use crate::fixtures::bench_requests;
use lnd_web_signer::entropy::Entropy;
use lnd_web_signer::keys::aezeed::CipherSeed;
use lnd_web_signer::keys::{accounts_json, Network, RootKey, SeedInput};
use lnd_web_signer::proto::watchonlyrpc::sign_coordinator_response::SignResponseType;
use lnd_web_signer::request::Work;
use lnd_web_signer::secret::SecretString;
use lnd_web_signer::signer::Signer;
use lnd_web_signer::vault::{self, KdfParams};

/// Timing of one workload.
#[derive(Clone, Debug, serde::Serialize)]
pub struct BenchResult {
    /// Workload name (stable: the README table is keyed by it).
    pub name: String,
    /// Timed iterations (samples × batch size).
    pub iterations: u32,
    /// Median over samples of the time per iteration, microseconds.
    pub median_us: f64,
    /// Fastest iteration, microseconds.
    pub min_us: f64,
    /// Mean time per iteration, microseconds.
    pub mean_us: f64,
}

/// Why the benchmark could not run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BenchError {
    /// A fixture could not be built.
    #[error("bench setup failed: {0}")]
    Setup(String),
    /// A workload returned an error instead of an answer.
    #[error("bench workload {name} failed: {reason}")]
    Workload {
        /// Workload name.
        name: String,
        /// What went wrong.
        reason: String,
    },
}

/// Deterministic entropy for benchmark signers (never for real keys).
#[derive(Debug)]
struct CountingEntropy(std::sync::atomic::AtomicU64);

impl Entropy for CountingEntropy {
    fn fill_bytes(&self, dest: &mut [u8]) {
        let n = self.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        for (i, b) in dest.iter_mut().enumerate() {
            *b = (n.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> ((i % 8) * 8)) as u8 ^ i as u8;
        }
    }
}

/// Fixed, public benchmark root (lnd's signer_test.go entropy).
const BENCH_ENTROPY: [u8; 16] = [
    0x4a, 0x76, 0x11, 0xb6, 0x97, 0x9b, 0xa7, 0xc4, 0xbc, 0x5c, 0x5c, 0xd2, 0x23, 0x9b, 0x29, 0x73,
];

/// Smallest time one sample should span: browsers coarsen `performance.now()`
/// (Chromium to 100 µs without cross-origin isolation), so fast workloads are
/// timed in batches and each sample is the batch time / batch size.
const MIN_SAMPLE_MS: f64 = 5.0;

fn time<F: FnMut() -> Result<(), String>>(
    name: &str,
    now_ms: &dyn Fn() -> f64,
    budget_ms: f64,
    max_iter: u32,
    mut f: F,
) -> Result<BenchResult, BenchError> {
    let fail = |reason: String| BenchError::Workload {
        name: name.to_string(),
        reason,
    };
    // Warm-up (fills key caches, tiers up the wasm) and a first estimate.
    let t0 = now_ms();
    f().map_err(fail)?;
    let mut batch = 1u32;
    let mut elapsed = now_ms() - t0;
    while elapsed < MIN_SAMPLE_MS && batch < 1 << 16 {
        batch *= 4;
        let t0 = now_ms();
        for _ in 0..batch {
            f().map_err(fail)?;
        }
        elapsed = now_ms() - t0;
    }
    let mut samples = Vec::new();
    let start = now_ms();
    while samples.len() * (batch as usize) < max_iter as usize
        && (samples.len() < 3 || now_ms() - start < budget_ms)
    {
        let t0 = now_ms();
        for _ in 0..batch {
            f().map_err(fail)?;
        }
        samples.push((now_ms() - t0) * 1000.0 / f64::from(batch));
    }
    samples.sort_by(|a, b| a.total_cmp(b));
    let n = samples.len();
    Ok(BenchResult {
        name: name.to_string(),
        iterations: n as u32 * batch,
        median_us: samples[n / 2],
        min_us: samples[0],
        mean_us: samples.iter().sum::<f64>() / n as f64,
    })
}

/// Times workloads whose name contains `filter`.
struct Timer<'a> {
    now_ms: &'a dyn Fn() -> f64,
    budget_ms: f64,
    filter: &'a str,
}

impl Timer<'_> {
    /// Whether workload `name` is selected.
    fn wants(&self, name: &str) -> bool {
        name.contains(self.filter)
    }

    fn time<F: FnMut() -> Result<(), String>>(
        &self,
        name: &str,
        max_iter: u32,
        f: F,
    ) -> Result<Option<BenchResult>, BenchError> {
        if !self.wants(name) {
            return Ok(None);
        }
        time(name, self.now_ms, self.budget_ms, max_iter, f).map(Some)
    }
}

/// Runs every workload for about `budget_ms` each (at least 3 iterations).
pub fn run(now_ms: &dyn Fn() -> f64, budget_ms: f64) -> Result<Vec<BenchResult>, BenchError> {
    run_matching(now_ms, budget_ms, "")
}

/// [`run`] restricted to the workloads whose name contains `filter` (all of
/// them when it is empty).
pub fn run_matching(
    now_ms: &dyn Fn() -> f64,
    budget_ms: f64,
    filter: &str,
) -> Result<Vec<BenchResult>, BenchError> {
    let t = Timer {
        now_ms,
        budget_ms,
        filter,
    };
    let setup = |e: &dyn std::fmt::Display| BenchError::Setup(e.to_string());
    let mut out = Vec::new();

    // Keys: aezeed decode with production scrypt (setup skipped when filtered out:
    // making the mnemonic and sealing the vault cost a KDF run each).
    if t.wants("aezeed_decode") || t.wants("vault_open") {
        let seed = CipherSeed::new(1, 6000, BENCH_ENTROPY, [1, 2, 3, 4, 5]);
        let mnemonic = seed.to_mnemonic(b"").map_err(|e| setup(&e))?;
        let phrase = mnemonic.phrase();
        out.extend(t.time("aezeed_decode", 20, || {
            CipherSeed::from_mnemonic(&phrase, b"")
                .map(|_| ())
                .map_err(|e| e.to_string())
        })?);

        if t.wants("vault_open") {
            // Vault open with the default Argon2id parameters.
            let input = SeedInput::Aezeed {
                mnemonic: SecretString::from_str(&phrase),
                passphrase: SecretString::from_str(""),
            };
            let rng = CountingEntropy(std::sync::atomic::AtomicU64::new(1));
            let blob = vault::seal(
                &input,
                Network::Regtest,
                None,
                b"bench passphrase",
                KdfParams::DEFAULT,
                &rng,
            )
            .map_err(|e| setup(&e))?;
            out.extend(t.time("vault_open", 20, || {
                vault::open(&blob, b"bench passphrase")
                    .map(|_| ())
                    .map_err(|e| e.to_string())
            })?);
        }
    }

    // Accounts export (259 account xpubs), from a fresh root each time so
    // the derivation cache does not hide the work.
    out.extend(t.time("accounts_export", 200, || {
        let root = RootKey::from_seed_entropy(&BENCH_ENTROPY, Network::Regtest)
            .map_err(|e| e.to_string())?;
        let json = accounts_json(&root);
        if json.len() < 1000 {
            return Err("accounts JSON unexpectedly short".into());
        }
        Ok(())
    })?);

    // Signing through the same dispatcher lnd's requests go through.
    let root =
        RootKey::from_seed_entropy(&BENCH_ENTROPY, Network::Regtest).map_err(|e| setup(&e))?;
    let requests = bench_requests(&root)
        .into_iter()
        .map(|(name, req)| {
            Work::try_from(req)
                .map(|w| (name, w))
                .map_err(|e| setup(&e))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let signer = Signer::new(
        root,
        Box::new(CountingEntropy(std::sync::atomic::AtomicU64::new(1))),
    );
    for (name, req) in &requests {
        out.extend(t.time(name, 100_000, || {
            let resp = signer.handle(req);
            match resp.sign_response_type {
                Some(SignResponseType::SignerError(e)) => Err(e.error),
                None => Err("empty response".into()),
                Some(_) => Ok(()),
            }
        })?);
    }

    // MuSig2: create session + sign (2-of-2, BIP-86 tweak).
    let mut i = 0u8;
    out.extend(t.time("musig2_create_sign", 100_000, || {
        i = i.wrapping_add(1);
        crate::musig2_create_and_sign([i; 32])
            .map(|_| ())
            .map_err(|e| e.to_string())
    })?);
    out.extend(primitives(&t)?);
    Ok(out)
}

/// The libsecp256k1 and hash primitives under the workloads above, so the
/// wasm/native ratio of each workload can be traced to its parts.
fn primitives(t: &Timer<'_>) -> Result<Vec<BenchResult>, BenchError> {
    use bitcoin::hashes::{hmac, sha256, sha512, Hash, HashEngine};
    use bitcoin::secp256k1::{ecdh, Keypair, Message, PublicKey, SecretKey, SECP256K1};
    let setup = |e: &dyn std::fmt::Display| BenchError::Setup(e.to_string());
    let sk = SecretKey::from_slice(&[0x5a; 32]).map_err(|e| setup(&e))?;
    let keypair = Keypair::from_secret_key(SECP256K1, &sk);
    let other = PublicKey::from_secret_key(
        SECP256K1,
        &SecretKey::from_slice(&[0x33; 32]).map_err(|e| setup(&e))?,
    );
    let mut n = 0u64;
    let mut digest = move || {
        n += 1;
        let mut d = [7u8; 32];
        d[..8].copy_from_slice(&n.to_le_bytes());
        Message::from_digest(d)
    };
    let mut out = Vec::new();
    out.extend(t.time("prim_pubkey_from_secret", 100_000, || {
        std::hint::black_box(PublicKey::from_secret_key(
            SECP256K1,
            std::hint::black_box(&sk),
        ));
        Ok(())
    })?);
    out.extend(t.time("prim_ecdsa_sign", 100_000, || {
        std::hint::black_box(SECP256K1.sign_ecdsa(&digest(), &sk));
        Ok(())
    })?);
    out.extend(t.time("prim_schnorr_sign", 100_000, || {
        std::hint::black_box(SECP256K1.sign_schnorr_with_aux_rand(&digest(), &keypair, &[1; 32]));
        Ok(())
    })?);
    out.extend(t.time("prim_ecdh_point", 100_000, || {
        std::hint::black_box(ecdh::shared_secret_point(&other, &sk));
        Ok(())
    })?);
    out.extend(t.time("prim_sha256_1KiB", 100_000, || {
        std::hint::black_box(sha256::Hash::hash(std::hint::black_box(&[3u8; 1024])));
        Ok(())
    })?);
    out.extend(t.time("prim_hmac_sha512", 100_000, || {
        let mut e = hmac::HmacEngine::<sha512::Hash>::new(&[9; 32]);
        e.input(std::hint::black_box(&[4u8; 37]));
        std::hint::black_box(hmac::Hmac::<sha512::Hash>::from_engine(e));
        Ok(())
    })?);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_workload_runs_and_reports() {
        let t0 = std::time::Instant::now();
        let now = move || t0.elapsed().as_secs_f64() * 1000.0;
        let results = run(&now, 0.0).expect("bench workloads run");
        let names: Vec<_> = results.iter().map(|r| r.name.as_str()).collect();
        for want in [
            "aezeed_decode",
            "vault_open",
            "accounts_export",
            "musig2_create_sign",
        ] {
            assert!(names.contains(&want), "missing {want} in {names:?}");
        }
        assert!(results.len() >= 10, "{names:?}");
        assert!(results
            .iter()
            .all(|r| r.iterations >= 3 && r.median_us > 0.0));
        assert!(names.contains(&"prim_ecdsa_sign"), "{names:?}");
    }

    #[test]
    fn filter_selects_by_name() {
        let t0 = std::time::Instant::now();
        let now = move || t0.elapsed().as_secs_f64() * 1000.0;
        let results = run_matching(&now, 0.0, "sign_message").expect("bench workloads run");
        let names: Vec<_> = results.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, ["sign_message_der", "sign_message_schnorr"]);
    }
}
