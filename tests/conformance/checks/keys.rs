//! Key-model conformance checks (keys.md §3–§6) against
//! `vectors/lnd/{key_derivation,remote_signing_accounts,aezeed}.json` and
//! `vectors/bip/{bip32,bip49,bip84,bip86}.json`.
//!
//! Run by the driver of the same name in `tests/conformance/`, natively and
//! in headless Chromium: no file I/O, threads or clocks here. Each `run_*` function
//! takes the vector file contents, panics with a precise message on any
//! mismatch and returns the number of cases checked.

use lnd_web_signer::keys::accounts::{encode_xpub_with_version, standard_accounts};
use lnd_web_signer::keys::bitcoin::bip32::Xpriv;
use lnd_web_signer::keys::bitcoin::key::{CompressedPublicKey, PrivateKey};
use lnd_web_signer::keys::bitcoin::secp256k1::{SecretKey, SECP256K1};
use lnd_web_signer::keys::bitcoin::{base58, Address, NetworkKind};
use lnd_web_signer::keys::{
    accounts_json, format_path, parse_path, Network, RootKey, SeedInput, HARDENED,
};
use serde_json::Value;

fn parse(json: &str, file: &str) -> Value {
    serde_json::from_str(json).unwrap_or_else(|e| panic!("{file}: invalid JSON: {e}"))
}

fn field<'a>(v: &'a Value, key: &str, ctx: &str) -> &'a Value {
    match v.get(key) {
        Some(x) if !x.is_null() => x,
        _ => panic!("{ctx}: missing field {key:?}"),
    }
}

fn text<'a>(v: &'a Value, key: &str, ctx: &str) -> &'a str {
    field(v, key, ctx)
        .as_str()
        .unwrap_or_else(|| panic!("{ctx}: field {key:?} is not a string"))
}

fn uint(v: &Value, key: &str, ctx: &str) -> u32 {
    field(v, key, ctx)
        .as_u64()
        .and_then(|n| u32::try_from(n).ok())
        .unwrap_or_else(|| panic!("{ctx}: field {key:?} is not a u32"))
}

fn array<'a>(v: &'a Value, key: &str, ctx: &str) -> &'a Vec<Value> {
    field(v, key, ctx)
        .as_array()
        .unwrap_or_else(|| panic!("{ctx}: field {key:?} is not an array"))
}

fn unhex(s: &str, ctx: &str) -> Vec<u8> {
    hex::decode(s).unwrap_or_else(|e| panic!("{ctx}: bad hex {s:?}: {e}"))
}

fn indices(v: &Value, ctx: &str) -> Vec<u32> {
    array(v, "indices", ctx)
        .iter()
        .map(|n| {
            n.as_u64()
                .and_then(|n| u32::try_from(n).ok())
                .unwrap_or_else(|| panic!("{ctx}: bad index {n}"))
        })
        .collect()
}

fn path_of(s: &str, ctx: &str) -> Vec<u32> {
    parse_path(s).unwrap_or_else(|e| panic!("{ctx}: {e}"))
}

fn root_from_entropy(hex_seed: &str, network: Network, ctx: &str) -> RootKey {
    RootKey::from_seed_entropy(&unhex(hex_seed, ctx), network)
        .unwrap_or_else(|e| panic!("{ctx}: root from seed: {e}"))
}

fn root_from_xprv(s: &str, network: Network, ctx: &str) -> RootKey {
    RootKey::from_xprv(s, network).unwrap_or_else(|e| panic!("{ctx}: root from {s}: {e}"))
}

fn priv_at(root: &RootKey, path: &[u32], ctx: &str) -> SecretKey {
    root.derive_priv(path)
        .unwrap_or_else(|e| panic!("{ctx}: derive {}: {e}", format_path(path)))
}

fn pub_hex(sk: &SecretKey) -> String {
    hex::encode(sk.public_key(SECP256K1).serialize())
}

fn wif(sk: SecretKey, kind: NetworkKind) -> String {
    PrivateKey::new(sk, kind).to_wif()
}

fn expect_eq(ctx: &str, what: &str, got: &str, want: &str) {
    assert_eq!(got, want, "{ctx}: {what} mismatch");
}

/// Replaces the version bytes of a base58check extended key (SLIP-132 roots
/// in the BIP-49/84 vectors → xprv/tprv, which is what lnd accepts).
fn with_version(key: &str, version: u32, ctx: &str) -> String {
    let mut data = base58::decode_check(key).unwrap_or_else(|e| panic!("{ctx}: {key}: {e}"));
    assert_eq!(data.len(), 78, "{ctx}: {key} is not 78 bytes");
    data[0..4].copy_from_slice(&version.to_be_bytes());
    base58::encode_check(&data)
}

const XPRV: u32 = 0x0488_ade4;
const TPRV: u32 = 0x0435_8394;

/// `vectors/lnd/key_derivation.json`: lnd's signer_test seed (master xprv,
/// regtest WIFs and keys, first P2WKH/P2TR addresses), lnd's 1017 path
/// layout (psbt_test), the itest remote-signer root (node key, account xpubs)
/// and the itest root's master fingerprint. The `error_cases` are PSBT
/// signing policy (checked by the signing module), not key derivation.
pub fn run_key_derivation(json: &str) -> usize {
    let doc = parse(json, "key_derivation.json");
    let mut n = 0;

    let ctx = "key_derivation.json lnd_signer_test";
    let t = field(&doc, "lnd_signer_test", ctx);
    let entropy = text(t, "seed_entropy_hex", ctx);
    let mainnet = root_from_entropy(entropy, Network::Mainnet, ctx);
    let from_xprv = root_from_xprv(text(t, "master_xprv_mainnet", ctx), Network::Mainnet, ctx);
    assert_eq!(
        mainnet.master_fingerprint(),
        from_xprv.master_fingerprint(),
        "{ctx}: master key from entropy differs from master_xprv_mainnet"
    );
    assert_eq!(
        mainnet.derive_xpub(&[]).map(|x| x.to_string()),
        from_xprv.derive_xpub(&[]).map(|x| x.to_string()),
        "{ctx}: master xpub differs"
    );
    n += 1;
    let regtest = root_from_entropy(entropy, Network::Regtest, ctx);
    for (i, d) in array(t, "derivations", ctx).iter().enumerate() {
        let ctx = format!("{ctx} derivations[{i}]");
        let path = path_of(text(d, "path", &ctx), &ctx);
        let sk = priv_at(&regtest, &path, &ctx);
        expect_eq(
            &ctx,
            "private key",
            &hex::encode(sk.secret_bytes()),
            text(d, "privkey_hex", &ctx),
        );
        expect_eq(
            &ctx,
            "public key",
            &pub_hex(&sk),
            text(d, "pubkey_compressed_hex", &ctx),
        );
        expect_eq(
            &ctx,
            "regtest WIF",
            &wif(sk, NetworkKind::Test),
            text(d, "expected_wif_regtest", &ctx),
        );
        n += 1;
    }
    let p2wkh_key = priv_at(&regtest, &path_of("m/84'/0'/0'/0/0", ctx), ctx);
    expect_eq(
        ctx,
        "first P2WKH pubkey",
        &pub_hex(&p2wkh_key),
        text(t, "first_p2wkh_pubkey", ctx),
    );
    let cpk = CompressedPublicKey(p2wkh_key.public_key(SECP256K1));
    expect_eq(
        ctx,
        "first P2WKH address",
        &Address::p2wpkh(&cpk, lnd_web_signer::keys::bitcoin::Network::Regtest).to_string(),
        text(t, "first_p2wkh_address_m/84'/0'/0'/0/0", ctx),
    );
    n += 1;
    let p2tr_key = priv_at(&regtest, &path_of("m/86'/0'/0'/0/0", ctx), ctx);
    expect_eq(
        ctx,
        "first P2TR internal key",
        &pub_hex(&p2tr_key),
        text(t, "first_p2tr_internal_pubkey", ctx),
    );
    let (xonly, _) = p2tr_key.public_key(SECP256K1).x_only_public_key();
    expect_eq(
        ctx,
        "first P2TR address",
        &Address::p2tr(
            SECP256K1,
            xonly,
            None,
            lnd_web_signer::keys::bitcoin::Network::Regtest,
        )
        .to_string(),
        text(t, "first_p2tr_address_m/86'/0'/0'/0/0", ctx),
    );
    n += 1;

    let ctx = "key_derivation.json lnd_psbt_test_bip32_path_strings";
    let section = field(&doc, "lnd_psbt_test_bip32_path_strings", ctx);
    for (i, c) in array(section, "cases", ctx).iter().enumerate() {
        let ctx = format!("{ctx} cases[{i}]");
        let network = match uint(c, "coin_type", &ctx) {
            0 => Network::Mainnet,
            1 => Network::Regtest,
            other => panic!("{ctx}: unexpected coin type {other}"),
        };
        let root = root_from_entropy(entropy, network, &ctx);
        let path = root
            .lnd_key_path(uint(c, "family", &ctx), uint(c, "index", &ctx))
            .unwrap_or_else(|e| panic!("{ctx}: {e}"));
        let want: Vec<u32> = array(c, "expected_uint32", &ctx)
            .iter()
            .map(|v| {
                v.as_u64()
                    .and_then(|v| u32::try_from(v).ok())
                    .unwrap_or_else(|| panic!("{ctx}: bad u32 {v}"))
            })
            .collect();
        assert_eq!(path.to_vec(), want, "{ctx}: raw path mismatch");
        expect_eq(
            &ctx,
            "path string",
            &format_path(&path),
            text(c, "expected_path", &ctx),
        );
        assert_eq!(
            path_of(text(c, "expected_path", &ctx), &ctx),
            want,
            "{ctx}: parse_path mismatch"
        );
        n += 1;
    }

    let ctx = "key_derivation.json lnd_itest_remote_signer";
    let it = field(&doc, "lnd_itest_remote_signer", ctx);
    assert_eq!(text(it, "network", ctx), "regtest", "{ctx}: network");
    let root = root_from_xprv(text(it, "root_key_tprv", ctx), Network::Regtest, ctx);
    let node = root
        .lnd_key(6, 0)
        .unwrap_or_else(|e| panic!("{ctx}: node key: {e}"));
    expect_eq(
        ctx,
        "node public key",
        &pub_hex(&node),
        text(it, "expected_node_pubkey_m/1017'/1'/6'/0/0", ctx),
    );
    n += 1;
    for (i, a) in array(it, "watch_only_accounts_as_in_test", ctx)
        .iter()
        .enumerate()
    {
        let ctx = format!("{ctx} watch_only_accounts_as_in_test[{i}]");
        let xpub = root
            .account_xpub(
                uint(a, "purpose", &ctx),
                uint(a, "coin_type", &ctx),
                uint(a, "account", &ctx),
            )
            .unwrap_or_else(|e| panic!("{ctx}: {e}"));
        expect_eq(
            &ctx,
            "account xpub",
            &xpub.to_string(),
            text(a, "xpub", &ctx),
        );
        n += 1;
    }

    let ctx = "key_derivation.json computed_master_fingerprint_of_itest_root";
    let fp = field(&doc, "computed_master_fingerprint_of_itest_root", ctx);
    expect_eq(
        ctx,
        "master fingerprint",
        &hex::encode(root.master_fingerprint()),
        text(fp, "value_hex", ctx),
    );
    n += 1;
    n
}

/// Field order, names and layout of one account in `lncli wallet accounts
/// list` output (keys.md §5.2), rendered from the vector's values.
fn lncli_text(accounts: &[Value], ctx: &str) -> String {
    let mut out = String::from("{\n    \"accounts\": [\n");
    for (i, a) in accounts.iter().enumerate() {
        let ctx = format!("{ctx} accounts[{i}]");
        let s = |k: &str| format!("\"{}\"", text(a, k, &ctx));
        let fp = a
            .get("master_key_fingerprint")
            .and_then(Value::as_str)
            .unwrap_or_else(|| panic!("{ctx}: master_key_fingerprint missing"));
        let b = field(a, "watch_only", &ctx)
            .as_bool()
            .unwrap_or_else(|| panic!("{ctx}: watch_only is not a bool"));
        let lines = [
            format!("\"name\": {}", s("name")),
            format!("\"address_type\": {}", s("address_type")),
            format!("\"extended_public_key\": {}", s("extended_public_key")),
            format!("\"master_key_fingerprint\": \"{fp}\""),
            format!("\"derivation_path\": {}", s("derivation_path")),
            format!(
                "\"external_key_count\": {}",
                uint(a, "external_key_count", &ctx)
            ),
            format!(
                "\"internal_key_count\": {}",
                uint(a, "internal_key_count", &ctx)
            ),
            format!("\"watch_only\": {b}"),
        ];
        out.push_str("        {\n");
        out.push_str(
            &lines
                .iter()
                .map(|l| format!("            {l}"))
                .collect::<Vec<_>>()
                .join(",\n"),
        );
        out.push_str("\n        }");
        out.push_str(if i + 1 < accounts.len() { ",\n" } else { "\n" });
    }
    out.push_str("    ]\n}\n");
    out
}

/// `vectors/lnd/remote_signing_accounts.json`: the 259 account xpubs of the
/// docs root key, and the complete `lncli wallet accounts list` file (value
/// equality and byte-exact layout).
pub fn run_accounts(json: &str) -> usize {
    let doc = parse(json, "remote_signing_accounts.json");
    let ctx = "remote_signing_accounts.json";
    let root = root_from_xprv(text(&doc, "root_key_tprv", ctx), Network::Regtest, ctx);
    let ours = standard_accounts(&root).unwrap_or_else(|e| panic!("{ctx}: accounts: {e}"));
    let mut n = 0;

    let ctx_docs = "remote_signing_accounts.json docs_init_wallet_accounts";
    let listed = array(
        field(&doc, "docs_init_wallet_accounts", ctx_docs),
        "accounts",
        ctx_docs,
    );
    assert_eq!(listed.len(), ours.len(), "{ctx_docs}: account count");
    for (i, (want, got)) in listed.iter().zip(&ours).enumerate() {
        let ctx = format!("{ctx_docs}[{i}]");
        let (p, c, a) = (
            uint(want, "purpose", &ctx),
            uint(want, "coin_type", &ctx),
            uint(want, "account", &ctx),
        );
        assert_eq!(
            (got.purpose, got.coin_type, got.account),
            (p, c, a),
            "{ctx}: account order"
        );
        expect_eq(
            &ctx,
            "xpub",
            &got.extended_public_key,
            text(want, "xpub", &ctx),
        );
        // The same xpub through the single-account API.
        let xpub = root
            .account_xpub(p, c, a)
            .unwrap_or_else(|e| panic!("{ctx}: {e}"));
        let version = base58::decode_check(text(want, "xpub", &ctx))
            .unwrap_or_else(|e| panic!("{ctx}: xpub base58: {e}"));
        let version = [version[0], version[1], version[2], version[3]];
        expect_eq(
            &ctx,
            "account_xpub",
            &encode_xpub_with_version(&xpub, version),
            text(want, "xpub", &ctx),
        );
        n += 1;
    }

    let ctx_fmt = "remote_signing_accounts.json lncli_wallet_accounts_list_format";
    let expected_value = field(&doc, "lncli_wallet_accounts_list_format", ctx_fmt);
    let produced = accounts_json(&root);
    let produced_value: Value = serde_json::from_str(&produced)
        .unwrap_or_else(|e| panic!("{ctx_fmt}: accounts_json output is not JSON: {e}"));
    assert_eq!(
        &produced_value, expected_value,
        "{ctx_fmt}: accounts_json values differ"
    );
    let expected_text = lncli_text(array(expected_value, "accounts", ctx_fmt), ctx_fmt);
    if produced != expected_text {
        let line = produced
            .lines()
            .zip(expected_text.lines())
            .position(|(a, b)| a != b)
            .map(|l| l + 1);
        panic!(
            "{ctx_fmt}: accounts_json layout differs from lncli's (first differing line {line:?})"
        );
    }
    n + 1
}

/// `vectors/lnd/aezeed.json` section `lnd_signer_test_seed`: the 24 words
/// through [`SeedInput`] (production scrypt) give lnd's master key and the
/// seed's birthday.
pub fn run_aezeed_root(json: &str) -> usize {
    let doc = parse(json, "aezeed.json");
    let ctx = "aezeed.json lnd_signer_test_seed";
    let s = field(&doc, "lnd_signer_test_seed", ctx);
    let words: Vec<&str> = array(s, "mnemonic", ctx)
        .iter()
        .map(|w| {
            w.as_str()
                .unwrap_or_else(|| panic!("{ctx}: non-string word"))
        })
        .collect();
    let file = format!("{}\n", words.join("\n"));
    let seed = SeedInput::parse_seed_file(&file, Some(text(s, "aezeed_passphrase", ctx)))
        .unwrap_or_else(|e| panic!("{ctx}: {e}"));
    let (root, birthday) = seed
        .to_root(Network::Mainnet)
        .unwrap_or_else(|e| panic!("{ctx}: {e}"));
    let want = root_from_xprv(text(s, "master_xprv_mainnet", ctx), Network::Mainnet, ctx);
    assert_eq!(
        root.master_fingerprint(),
        want.master_fingerprint(),
        "{ctx}: root differs from master_xprv_mainnet"
    );
    let entropy_root = root_from_entropy(text(s, "entropy_hex", ctx), Network::Mainnet, ctx);
    assert_eq!(
        root.master_fingerprint(),
        entropy_root.master_fingerprint(),
        "{ctx}: root differs from the entropy's"
    );
    let days = uint(field(s, "decoded_by_npm_aezeed", ctx), "birthday_days", ctx);
    assert_eq!(
        birthday,
        1_231_006_505 + u64::from(days) * 86_400,
        "{ctx}: birthday"
    );
    1
}

/// `vectors/bip/bip32.json`: test vectors 1–4 (seed → every chain's xpub and
/// private key; the master also through [`RootKey::from_xprv`]) and test
/// vector 5 (every invalid extended key is refused as a root key).
pub fn run_bip32(json: &str) -> usize {
    let doc = parse(json, "bip32.json");
    let mut n = 0;
    for (vi, v) in array(&doc, "vectors", "bip32.json").iter().enumerate() {
        let ctx = format!("bip32.json vectors[{vi}]");
        let root = root_from_entropy(text(v, "seed_hex", &ctx), Network::Mainnet, &ctx);
        for (ci, c) in array(v, "chains", &ctx).iter().enumerate() {
            let ctx = format!("{ctx} chains[{ci}] {}", text(c, "path", &ctx));
            let path = indices(c, &ctx);
            assert_eq!(
                path_of(text(c, "path", &ctx), &ctx),
                path,
                "{ctx}: path text vs indices"
            );
            let xpub = root
                .derive_xpub(&path)
                .unwrap_or_else(|e| panic!("{ctx}: {e}"));
            expect_eq(&ctx, "ext_pub", &xpub.to_string(), text(c, "ext_pub", &ctx));
            let want: Xpriv = text(c, "ext_prv", &ctx)
                .parse()
                .unwrap_or_else(|e| panic!("{ctx}: ext_prv: {e}"));
            assert_eq!(
                priv_at(&root, &path, &ctx).secret_bytes(),
                want.private_key.secret_bytes(),
                "{ctx}: private key mismatch"
            );
            if path.is_empty() {
                let parsed = root_from_xprv(text(c, "ext_prv", &ctx), Network::Mainnet, &ctx);
                assert_eq!(
                    parsed.master_fingerprint(),
                    root.master_fingerprint(),
                    "{ctx}: from_xprv master differs"
                );
            }
            n += 1;
        }
    }
    let ctx = "bip32.json invalid_extended_keys";
    for (i, k) in array(field(&doc, "invalid_extended_keys", ctx), "keys", ctx)
        .iter()
        .enumerate()
    {
        let key = text(k, "key", ctx);
        for network in Network::ALL {
            if let Ok(root) = RootKey::from_xprv(key, network) {
                panic!(
                    "{ctx}[{i}] ({}): accepted as a {network} root key: {root:?}",
                    text(k, "reason", ctx)
                );
            }
        }
        n += 1;
    }
    n
}

/// Shared part of the BIP-49/84/86 checks: root (SLIP-132 versions replaced
/// by xprv/tprv), account 0 (SLIP-132 xpub encoding), per-address keys.
/// Returns the root and the number of cases.
fn run_bip_account(
    doc: &Value,
    file: &str,
    root_field: &str,
    acct_field: &str,
) -> (RootKey, usize) {
    let network = match text(doc, "network", file) {
        "mainnet" => Network::Mainnet,
        "testnet" => Network::Testnet3,
        other => panic!("{file}: unexpected network {other}"),
    };
    let version = if network == Network::Mainnet {
        XPRV
    } else {
        TPRV
    };
    let root_ctx = format!("{file} root");
    let root_str = text(field(doc, "root", file), root_field, &root_ctx);
    let root = root_from_xprv(
        &with_version(root_str, version, &root_ctx),
        network,
        &root_ctx,
    );
    let ctx = format!("{file} account0");
    let acct = field(doc, "account0", file);
    let path = indices(acct, &ctx);
    assert_eq!(
        path_of(text(acct, "path", &ctx), &ctx),
        path,
        "{ctx}: path text vs indices"
    );
    assert_eq!(path.len(), 3, "{ctx}: account path depth");
    let xpub = root
        .account_xpub(path[0] - HARDENED, path[1] - HARDENED, path[2] - HARDENED)
        .unwrap_or_else(|e| panic!("{ctx}: {e}"));
    let want = text(acct, acct_field, &ctx);
    let want_version = base58::decode_check(want).unwrap_or_else(|e| panic!("{ctx}: {e}"));
    expect_eq(
        &ctx,
        acct_field,
        &encode_xpub_with_version(
            &xpub,
            [
                want_version[0],
                want_version[1],
                want_version[2],
                want_version[3],
            ],
        ),
        want,
    );
    (root, 1)
}

fn address_cases<'a>(
    doc: &'a Value,
    file: &str,
) -> impl Iterator<Item = (String, &'a Value, Vec<u32>)> {
    let file = file.to_owned();
    array(doc, "addresses", &file)
        .iter()
        .enumerate()
        .map(move |(i, a)| {
            let ctx = format!("{file} addresses[{i}]");
            let path = indices(a, &ctx);
            assert_eq!(
                path_of(text(a, "path", &ctx), &ctx),
                path,
                "{ctx}: path text vs indices"
            );
            (ctx, a, path)
        })
}

/// `vectors/bip/bip49.json` (testnet): account uprv/upub, per-address WIF,
/// private and public key and P2SH-P2WKH address.
pub fn run_bip49(json: &str) -> usize {
    let doc = parse(json, "bip49.json");
    let (root, mut n) = run_bip_account(&doc, "bip49.json", "uprv", "upub");
    for (ctx, a, path) in address_cases(&doc, "bip49.json") {
        let sk = priv_at(&root, &path, &ctx);
        expect_eq(
            &ctx,
            "WIF",
            &wif(sk, NetworkKind::Test),
            text(a, "privkey_wif", &ctx),
        );
        expect_eq(
            &ctx,
            "private key",
            &hex::encode(sk.secret_bytes()),
            text(a, "privkey_hex", &ctx),
        );
        expect_eq(&ctx, "public key", &pub_hex(&sk), text(a, "pubkey", &ctx));
        let cpk = CompressedPublicKey(sk.public_key(SECP256K1));
        expect_eq(
            &ctx,
            "address",
            &Address::p2shwpkh(&cpk, NetworkKind::Test).to_string(),
            text(a, "address", &ctx),
        );
        n += 1;
    }
    n
}

/// `vectors/bip/bip84.json` (mainnet): account zpub, per-address WIF, public
/// key and P2WKH address.
pub fn run_bip84(json: &str) -> usize {
    let doc = parse(json, "bip84.json");
    let (root, mut n) = run_bip_account(&doc, "bip84.json", "zprv", "zpub");
    for (ctx, a, path) in address_cases(&doc, "bip84.json") {
        let sk = priv_at(&root, &path, &ctx);
        expect_eq(
            &ctx,
            "WIF",
            &wif(sk, NetworkKind::Main),
            text(a, "privkey_wif", &ctx),
        );
        expect_eq(&ctx, "public key", &pub_hex(&sk), text(a, "pubkey", &ctx));
        let cpk = CompressedPublicKey(sk.public_key(SECP256K1));
        expect_eq(
            &ctx,
            "address",
            &Address::p2wpkh(&cpk, lnd_web_signer::keys::bitcoin::Network::Bitcoin).to_string(),
            text(a, "address", &ctx),
        );
        n += 1;
    }
    n
}

/// `vectors/bip/bip86.json` (mainnet): root and account xprv/xpub, per-address
/// xpub, internal key and P2TR address.
pub fn run_bip86(json: &str) -> usize {
    let doc = parse(json, "bip86.json");
    let (root, mut n) = run_bip_account(&doc, "bip86.json", "xprv", "xpub");
    let xpub_root = text(field(&doc, "root", "bip86.json"), "xpub", "bip86.json root");
    let got = root
        .derive_xpub(&[])
        .unwrap_or_else(|e| panic!("bip86.json root: {e}"))
        .to_string();
    expect_eq("bip86.json root", "xpub", &got, xpub_root);
    for (ctx, a, path) in address_cases(&doc, "bip86.json") {
        let sk = priv_at(&root, &path, &ctx);
        let xpub = root
            .derive_xpub(&path)
            .unwrap_or_else(|e| panic!("{ctx}: {e}"));
        expect_eq(&ctx, "xpub", &xpub.to_string(), text(a, "xpub", &ctx));
        let want: Xpriv = text(a, "xprv", &ctx)
            .parse()
            .unwrap_or_else(|e| panic!("{ctx}: xprv: {e}"));
        assert_eq!(
            sk.secret_bytes(),
            want.private_key.secret_bytes(),
            "{ctx}: private key mismatch"
        );
        let (xonly, _) = sk.public_key(SECP256K1).x_only_public_key();
        expect_eq(
            &ctx,
            "internal key",
            &hex::encode(xonly.serialize()),
            text(a, "internal_key", &ctx),
        );
        expect_eq(
            &ctx,
            "address",
            &Address::p2tr(
                SECP256K1,
                xonly,
                None,
                lnd_web_signer::keys::bitcoin::Network::Bitcoin,
            )
            .to_string(),
            text(a, "address", &ctx),
        );
        n += 1;
    }
    n
}
