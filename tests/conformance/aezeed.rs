//! Driver (native and wasm) for the aezeed conformance checks, plus error-variant,
//! check-order and round-trip property tests.

use crate::checks::aezeed as checks;

use lnd_web_signer::keys::aezeed::{
    AezeedError, CipherSeed, Mnemonic, ScryptParams, DEFAULT_PASSPHRASE,
};

fn read_vectors() -> String {
    crate::vectors::file("lnd/aezeed.json")
}

#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
#[cfg_attr(not(target_arch = "wasm32"), test)]
fn aezeed_vectors() {
    let json = read_vectors();
    let doc: serde_json::Value = serde_json::from_str(&json).expect("aezeed.json parses");
    let count_of = |section: &str| {
        doc[section]["vectors"]
            .as_array()
            .unwrap_or_else(|| panic!("aezeed.json: {section}.vectors missing"))
            .len()
    };
    let expected = count_of("lnd_cipherseed_test") + count_of("production_params_equivalent") + 2;
    let checked = checks::run_aezeed(&json);
    assert!(checked > 0);
    assert_eq!(checked, expected);
}

/// lnd signer_test.go: mnemonic → entropy → BIP-32 master xprv (computed
/// here with rust-bitcoin, independently of the crate's key code).
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
#[cfg_attr(not(target_arch = "wasm32"), test)]
fn signer_test_seed_gives_lnd_master_xprv() {
    let doc: serde_json::Value = serde_json::from_str(&read_vectors()).expect("parses");
    let v = &doc["lnd_signer_test_seed"];
    let words: Vec<&str> = v["mnemonic"]
        .as_array()
        .expect("mnemonic array")
        .iter()
        .map(|w| w.as_str().expect("word"))
        .collect();
    let seed = CipherSeed::from_mnemonic(&words.join(" "), b"").expect("decodes");
    let xprv = bitcoin::bip32::Xpriv::new_master(bitcoin::NetworkKind::Main, seed.entropy())
        .expect("16-byte seed");
    assert_eq!(
        xprv.to_string(),
        v["master_xprv_mainnet"].as_str().expect("xprv string")
    );
}

/// A seed enciphered with lnd's test parameters, built here.
fn sample() -> (CipherSeed, String) {
    let seed = CipherSeed::new(0, 4321, *b"sixteen byte ent", *b"spice");
    let phrase = seed
        .to_mnemonic_with(b"", ScryptParams::LND_TEST)
        .expect("encodes")
        .phrase();
    (seed, phrase)
}

fn replace_word(phrase: &str, position: usize, word: &str) -> String {
    let mut words: Vec<&str> = phrase.split(' ').collect();
    words[position - 1] = word;
    words.join(" ")
}

fn decode_test(phrase: &str, passphrase: &[u8]) -> Result<CipherSeed, AezeedError> {
    CipherSeed::from_mnemonic_with(phrase, passphrase, ScryptParams::LND_TEST)
}

#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
#[cfg_attr(not(target_arch = "wasm32"), test)]
fn error_wrong_word_count() {
    let (_, phrase) = sample();
    let short: Vec<&str> = phrase.split(' ').take(23).collect();
    let err = decode_test(&short.join(" "), b"").expect_err("23 words");
    assert_eq!(err, AezeedError::WrongWordCount { found: 23 });
    assert_eq!(err.to_string(), "expected 24 aezeed words, found 23");
    let long = format!("{phrase} abandon");
    assert_eq!(
        decode_test(&long, b"").map(|_| ()),
        Err(AezeedError::WrongWordCount { found: 25 })
    );
    assert_eq!(
        decode_test("", b"").map(|_| ()),
        Err(AezeedError::WrongWordCount { found: 0 })
    );
}

#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
#[cfg_attr(not(target_arch = "wasm32"), test)]
fn error_unknown_word_with_position() {
    let (_, phrase) = sample();
    let bad = replace_word(&phrase, 7, "abandn");
    let err = decode_test(&bad, b"").expect_err("unknown word");
    assert_eq!(
        err,
        AezeedError::UnknownWord {
            position: 7,
            word: "abandn".into()
        }
    );
    assert_eq!(
        err.to_string(),
        "word 7 \"abandn\" is not in the aezeed word list"
    );
    // Exact match only, like lnd: upper case is not in the list.
    let upper = replace_word(
        &phrase,
        24,
        &phrase.split(' ').nth(23).expect("24th").to_uppercase(),
    );
    assert!(matches!(
        decode_test(&upper, b""),
        Err(AezeedError::UnknownWord { position: 24, .. })
    ));
}

#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
#[cfg_attr(not(target_arch = "wasm32"), test)]
fn error_unsupported_version() {
    let (seed, _) = sample();
    let mut bytes = *seed
        .encipher(b"", ScryptParams::LND_TEST)
        .expect("encipher");
    bytes[0] = 3;
    let phrase = Mnemonic::from_enciphered(&bytes).phrase();
    let err = decode_test(&phrase, b"").expect_err("version 3");
    assert_eq!(err, AezeedError::UnsupportedVersion(3));
    assert_eq!(
        err.to_string(),
        "unsupported aezeed version 3 (only version 0 is known)"
    );
}

#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
#[cfg_attr(not(target_arch = "wasm32"), test)]
fn error_checksum_mismatch() {
    let (_, phrase) = sample();
    // Two different words swapped (neither is the first word, which holds
    // the version byte).
    let words: Vec<&str> = phrase.split(' ').collect();
    let (a, b) = (1..23)
        .find_map(|i| (words[i] != words[i + 1]).then_some((i, i + 1)))
        .expect("some adjacent words differ");
    let mut swapped = words.clone();
    swapped.swap(a, b);
    let err = decode_test(&swapped.join(" "), b"").expect_err("swapped words");
    assert_eq!(err, AezeedError::ChecksumMismatch);
    assert_eq!(
        err.to_string(),
        "aezeed checksum mismatch: a word is wrong or the words are out of order"
    );
    // A single changed last word (checksum bits) too.
    let last = if words[23] == "zoo" { "abandon" } else { "zoo" };
    assert_eq!(
        decode_test(&replace_word(&phrase, 24, last), b"").map(|_| ()),
        Err(AezeedError::ChecksumMismatch)
    );
}

#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
#[cfg_attr(not(target_arch = "wasm32"), test)]
fn error_invalid_passphrase() {
    let (_, phrase) = sample();
    let err = decode_test(&phrase, b"wrong").expect_err("wrong passphrase");
    assert_eq!(err, AezeedError::InvalidPassphrase);
    assert_eq!(
        err.to_string(),
        "invalid aezeed passphrase (or corrupted seed)"
    );
    // The default passphrase, explicit or empty, is the right one.
    assert!(decode_test(&phrase, DEFAULT_PASSPHRASE).is_ok());
    assert!(decode_test(&phrase, b"").is_ok());
}

#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
#[cfg_attr(not(target_arch = "wasm32"), test)]
fn checks_run_in_lnd_order() {
    let (seed, _) = sample();
    let mut bytes = *seed
        .encipher(b"", ScryptParams::LND_TEST)
        .expect("encipher");
    bytes[0] = 1; // wrong version and (consequently) wrong checksum
    let bad_version = Mnemonic::from_enciphered(&bytes).phrase();
    // unknown word beats a bad version
    assert!(matches!(
        decode_test(&replace_word(&bad_version, 20, "bitcoinz"), b""),
        Err(AezeedError::UnknownWord { position: 20, .. })
    ));
    // bad version beats a bad checksum
    assert_eq!(
        decode_test(&bad_version, b"").map(|_| ()),
        Err(AezeedError::UnsupportedVersion(1))
    );
    // a bad checksum beats a wrong passphrase
    let mut bytes = *seed
        .encipher(b"", ScryptParams::LND_TEST)
        .expect("encipher");
    bytes[32] ^= 0x80;
    let bad_sum = Mnemonic::from_enciphered(&bytes).phrase();
    assert_eq!(
        decode_test(&bad_sum, b"wrong").map(|_| ()),
        Err(AezeedError::ChecksumMismatch)
    );
    // a corrupted ciphertext with a fixed-up checksum is rejected by AEZ
    let mut bytes = *seed
        .encipher(b"", ScryptParams::LND_TEST)
        .expect("encipher");
    bytes[5] ^= 0x01;
    let crc = crc::Crc::<u32>::new(&crc::CRC_32_ISCSI).checksum(&bytes[..29]);
    bytes[29..].copy_from_slice(&crc.to_be_bytes());
    assert_eq!(
        decode_test(&Mnemonic::from_enciphered(&bytes).phrase(), b"").map(|_| ()),
        Err(AezeedError::InvalidPassphrase)
    );
}

#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
#[cfg_attr(not(target_arch = "wasm32"), test)]
fn production_round_trips() {
    let seed = CipherSeed::new(1, 6200, [0xa5; 16], [1, 2, 3, 4, 5]);
    for passphrase in [&b""[..], b"correct horse"] {
        let mnemonic = seed.to_mnemonic(passphrase).expect("encodes");
        let back = CipherSeed::from_mnemonic(&mnemonic.phrase(), passphrase).expect("decodes");
        assert_eq!(back.internal_version(), 1);
        assert_eq!(back.birthday_days(), 6200);
        assert_eq!(back.entropy(), &[0xa5; 16]);
        assert_eq!(back.salt(), [1, 2, 3, 4, 5]);
        // lnd test parameters give a different mnemonic for the same seed.
        let fast = seed
            .to_mnemonic_with(passphrase, ScryptParams::LND_TEST)
            .expect("encodes");
        assert_ne!(fast.phrase(), mnemonic.phrase());
    }
}

/// Property tests (native only: proptest is not built for wasm32).
#[cfg(not(target_arch = "wasm32"))]
mod properties {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn round_trip_with_lnd_test_params(
            internal_version in any::<u8>(),
            birthday in any::<u16>(),
            entropy in any::<[u8; 16]>(),
            salt in any::<[u8; 5]>(),
            passphrase in proptest::collection::vec(any::<u8>(), 0..24),
        ) {
            let seed = CipherSeed::new(internal_version, birthday, entropy, salt);
            let mnemonic = seed
                .to_mnemonic_with(&passphrase, ScryptParams::LND_TEST)
                .expect("encodes");
            let words: Vec<&str> = mnemonic.words().collect();
            prop_assert_eq!(words.len(), 24);
            let phrase = mnemonic.phrase();
            prop_assert_eq!(Mnemonic::from_words(words).expect("own words"), mnemonic.clone());
            let back = CipherSeed::from_mnemonic_with(&phrase, &passphrase, ScryptParams::LND_TEST)
                .expect("decodes");
            prop_assert_eq!(back.internal_version(), internal_version);
            prop_assert_eq!(back.birthday_days(), birthday);
            prop_assert_eq!(back.entropy(), &entropy);
            prop_assert_eq!(back.salt(), salt);
            let other = if passphrase.is_empty() { b"x".to_vec() } else { Vec::new() };
            let same_as_default = passphrase == b"aezeed" && other.is_empty();
            if !same_as_default {
                prop_assert_eq!(
                    CipherSeed::from_mnemonic_with(&phrase, &other, ScryptParams::LND_TEST).map(|_| ()),
                    Err(AezeedError::InvalidPassphrase)
                );
            }
        }
    }
}
