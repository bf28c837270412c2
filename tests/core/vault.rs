//! Property tests of the sealed seed vault through its public API: round
//! trips, no acceptance of any modified or truncated blob, and the
//! passphrase/tamper distinction.

use lnd_web_signer::entropy::Entropy;
use lnd_web_signer::keys::bitcoin::hashes::{sha256, Hash};
use lnd_web_signer::keys::{Network, SeedInput};
use lnd_web_signer::secret::{SecretBytes, SecretString};
use lnd_web_signer::vault::{self, KdfParams, VaultError};
use proptest::prelude::*;

use lnd_web_signer_testkit::DEMO_TPRV as DOCS_TPRV;
const FAST: KdfParams = KdfParams {
    m_cost_kib: 32,
    t_cost: 1,
    p_cost: 1,
};

fn seed() -> SeedInput {
    SeedInput::Xprv(SecretString::from(DOCS_TPRV))
}

/// `bytes` over and over, across draws.
struct Cycle {
    bytes: Vec<u8>,
    pos: std::sync::atomic::AtomicUsize,
}

impl Entropy for Cycle {
    fn fill_bytes(&self, buf: &mut [u8]) {
        for b in buf {
            let pos = self.pos.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            *b = self.bytes[pos % self.bytes.len()];
        }
    }
}

fn rng_from(bytes: Vec<u8>) -> Cycle {
    Cycle {
        bytes,
        pos: 0.into(),
    }
}

/// Tiny parameters (far below the sealing floor) through the test-only path,
/// so that the properties run many vaults quickly.
fn seal(passphrase: &[u8], macaroon: Option<&SecretBytes>, random: Vec<u8>) -> Vec<u8> {
    vault::test_only_weak_kdf::seal(
        &seed(),
        Network::Regtest,
        macaroon,
        passphrase,
        FAST,
        &rng_from(random),
    )
    .expect("seal")
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn round_trip(
        passphrase in proptest::collection::vec(any::<u8>(), 0..64),
        macaroon in proptest::option::of(proptest::collection::vec(any::<u8>(), 0..700)),
        random in proptest::collection::vec(any::<u8>(), 1..40),
    ) {
        let mac = macaroon.clone().map(SecretBytes::new);
        let blob = seal(&passphrase, mac.as_ref(), random);
        let v = vault::open(&blob, &passphrase).expect("open");
        prop_assert_eq!(v.network, Network::Regtest);
        prop_assert_eq!(hex::encode(v.root.master_fingerprint()), "a2e4cfba");
        prop_assert_eq!(v.macaroon.as_ref().map(|m| m.expose().to_vec()), macaroon);
        let mut other = passphrase.clone();
        other.push(b'!');
        prop_assert!(matches!(vault::open(&blob, &other), Err(VaultError::WrongPassphrase)));
    }

    #[test]
    fn no_modified_blob_opens(
        index in any::<proptest::sample::Index>(),
        xor in 1u8..=255,
        random in proptest::collection::vec(any::<u8>(), 1..40),
    ) {
        let blob = seal(b"pw", Some(&SecretBytes::from_slice(b"macaroon")), random);
        let mut t = blob.clone();
        let i = index.index(t.len());
        t[i] ^= xor;
        prop_assert!(vault::open(&t, b"pw").is_err(), "modified byte {} accepted", i);
    }

    #[test]
    fn no_truncated_blob_opens(cut in 0usize..2000) {
        let blob = seal(b"pw", None, vec![7]);
        let cut = cut % blob.len();
        let err = vault::open(&blob[..cut], b"pw").expect_err("truncated");
        prop_assert!(
            matches!(err, VaultError::Truncated { .. }),
            "cut at {}: {}", cut, err
        );
    }
}

#[test]
fn header_is_public_but_bound() {
    let blob = seal(b"pw", None, vec![1, 2, 3]);
    let h = vault::read_header(&blob).expect("header");
    assert_eq!(h.version, vault::FORMAT_VERSION);
    assert_eq!(h.kdf, FAST);
    // Changing the declared memory cost (and fixing the checksum, as an
    // attacker could) must not open with the right passphrase.
    let mut t = blob.clone();
    t[13] ^= 0x08; // m = 32 → 40 KiB
    let n = t.len() - 32;
    let sum = <sha256::Hash as Hash>::hash(&t[..n]);
    t[n..].copy_from_slice(sum.as_byte_array());
    assert!(matches!(
        vault::open(&t, b"pw"),
        Err(VaultError::WrongPassphrase)
    ));
}
