//! End-to-end tests of the key commands of the `lnd-web-signer` binary:
//! success paths and the exact failure lines (exit code + one stderr line).

use std::path::{Path, PathBuf};
use std::process::Output;

use serde_json::Value;

use crate::support::cli::{run, stderr, stdout};
use lnd_web_signer_testkit::DEMO_TPRV as DOCS_TPRV;

/// lnd signer_test.go mnemonic (production scrypt, empty passphrase).
const LND_WORDS: &str = "able promote dizzy mixture sword myth share public find tattoo catalog cousin bulb unfair machine alarm cool large promote kick shop rug mean year";

/// Success, and nothing on stderr but the wallet birthday notes that every
/// accounts export prints.
fn assert_ok(o: &Output) {
    assert!(
        o.status.success(),
        "expected success, got {:?}; stderr: {}",
        o.status,
        stderr(o)
    );
    let err = stderr(o);
    let other: Vec<&str> = err
        .lines()
        .filter(|l| {
            !l.starts_with("wallet birthday: ")
                && !l.contains("lncli createwatchonly's birthday prompt")
        })
        .collect();
    assert!(other.is_empty(), "unexpected stderr: {}", stderr(o));
}

/// The birthday notes of an accounts export.
fn birthday_notes(o: &Output) -> String {
    stderr(o)
        .lines()
        .filter(|l| l.starts_with("wallet birthday: ") || l.contains("birthday prompt"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Non-zero exit, exactly one stderr line that contains `want`, no panic, no stdout.
fn assert_fails_with(o: &Output, want: &str) {
    let err = stderr(o);
    assert!(
        !o.status.success(),
        "expected failure, got success; stdout: {}",
        stdout(o)
    );
    assert_eq!(
        err.lines().count(),
        1,
        "expected one stderr line, got: {err:?}"
    );
    assert!(err.ends_with('\n'), "stderr line not terminated: {err:?}");
    assert!(
        err.contains(want),
        "stderr {err:?} does not contain {want:?}"
    );
    assert!(!err.contains("panicked"), "panic: {err}");
    assert!(stdout(o).is_empty(), "unexpected stdout: {}", stdout(o));
}

fn write(dir: &Path, name: &str, contents: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, contents).expect("write temp file");
    p
}

fn lncli_vector() -> Value {
    let text = lnd_web_signer_testkit::vector_file("lnd/remote_signing_accounts.json");
    let doc: Value = serde_json::from_str(&text).expect("vector JSON");
    assert_eq!(doc["root_key_tprv"], DOCS_TPRV, "vector root key changed");
    doc["lncli_wallet_accounts_list_format"].clone()
}

fn secrets_absent(text: &str) {
    assert!(
        !text.contains("tprv8"),
        "extended private key printed: {text}"
    );
    assert!(!text.contains("able promote"), "mnemonic printed: {text}");
}

#[test]
fn accounts_from_xprv_seed_file_matches_lncli_vector() {
    let dir = tempfile::tempdir().expect("tempdir");
    let seed = write(dir.path(), "seed.txt", &format!("\n  {DOCS_TPRV}\n\n"));
    let o = run(&[&"accounts", &"--network", &"regtest", &"--seed-file", &seed]);
    assert_ok(&o);
    let notes = birthday_notes(&o);
    assert!(
        notes.starts_with("wallet birthday: none (an extended master key carries no birthday)\n"),
        "{notes}"
    );
    assert!(notes.contains("first received"), "{notes}");
    let out = stdout(&o);
    assert!(out.starts_with("{\n    \"accounts\": [\n"));
    assert!(out.ends_with("\n    ]\n}\n"));
    let v: Value = serde_json::from_str(&out).expect("stdout is JSON");
    assert_eq!(v, lncli_vector());
    secrets_absent(&out);
}

#[test]
fn accounts_network_mismatch() {
    let dir = tempfile::tempdir().expect("tempdir");
    let seed = write(dir.path(), "seed.txt", DOCS_TPRV);
    let o = run(&[&"accounts", &"--network", &"mainnet", &"--seed-file", &seed]);
    assert_fails_with(&o, "tprv key given but --network mainnet");
    assert_fails_with(&o, &format!("seed file {}", seed.display()));
    secrets_absent(&stderr(&o));
}

#[test]
fn accounts_from_aezeed_and_unknown_word() {
    let dir = tempfile::tempdir().expect("tempdir");
    let seed = write(dir.path(), "seed.txt", &LND_WORDS.replace(' ', "\n"));
    let o = run(&[&"accounts", &"--network", &"mainnet", &"--seed-file", &seed]);
    assert_ok(&o);
    // The aezeed's own birthday, as the core decodes it, with its date in words.
    let input = lnd_web_signer::keys::SeedInput::parse_seed_file(LND_WORDS, None).expect("words");
    let (_, birthday) = input
        .to_root(lnd_web_signer::keys::Network::Mainnet)
        .expect("root");
    let notes = birthday_notes(&o);
    let words = lnd_web_signer::bundle::format_utc_words(birthday);
    assert!(
        notes.starts_with(&format!(
            "wallet birthday: {birthday} ({words}), the day this aezeed seed was created\ntype {birthday} at lncli createwatchonly's birthday prompt (with initwallet: master_key_birthday_timestamp = {birthday})"
        )),
        "{notes}"
    );
    let v: Value = serde_json::from_str(&stdout(&o)).expect("JSON");
    let accounts = v["accounts"].as_array().expect("accounts");
    assert_eq!(accounts.len(), 259);
    assert_eq!(accounts[3]["derivation_path"], "m/1017'/0'/0'");
    assert!(accounts[1]["extended_public_key"]
        .as_str()
        .expect("xpub")
        .starts_with("zpub"));

    let bad = LND_WORDS.replacen("share", "abandn", 1);
    let bad_seed = write(dir.path(), "bad.txt", &bad);
    let o = run(&[
        &"accounts",
        &"--network",
        &"mainnet",
        &"--seed-file",
        &bad_seed,
    ]);
    assert_fails_with(&o, "word 7 \"abandn\" is not in the aezeed word list");
    assert_fails_with(&o, &bad_seed.display().to_string());

    // A wrong aezeed passphrase.
    let pass = write(dir.path(), "seedpass.txt", "not the passphrase\n");
    let o = run(&[
        &"accounts",
        &"--network",
        &"mainnet",
        &"--seed-file",
        &seed,
        &"--seed-passphrase-file",
        &pass,
    ]);
    assert_fails_with(&o, "invalid aezeed passphrase");
}

#[test]
fn seed_file_problems() {
    let dir = tempfile::tempdir().expect("tempdir");
    let missing = dir.path().join("nope.txt");
    let o = run(&[
        &"accounts",
        &"--network",
        &"regtest",
        &"--seed-file",
        &missing,
    ]);
    assert_fails_with(&o, &format!("cannot read seed file {}", missing.display()));

    let twelve = write(dir.path(), "bip39.txt", &["abandon"; 12].join(" "));
    let o = run(&[
        &"accounts",
        &"--network",
        &"regtest",
        &"--seed-file",
        &twelve,
    ]);
    assert_fails_with(&o, "holds 12 words, expected 24 aezeed words");

    let o = run(&[&"accounts", &"--network", &"moon", &"--seed-file", &twelve]);
    assert_fails_with(&o, "unknown network \"moon\"");

    let o = run(&[&"accounts", &"--seed-file", &twelve]);
    assert_fails_with(&o, "--network is required with --seed-file");

    let o = run(&[&"accounts"]);
    assert_fails_with(&o, "--seed-file");
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn create_seed_round_trips_through_accounts() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pass = write(dir.path(), "seedpass.txt", "correct horse\n");
    let o = run(&[
        &"create-seed",
        &"--network",
        &"regtest",
        &"--seed-passphrase-file",
        &pass,
    ]);
    assert_ok(&o);
    let words = stdout(&o);
    assert_eq!(words.split_whitespace().count(), 24, "{words}");
    assert!(words.ends_with('\n'));
    let seed = write(dir.path(), "seed.txt", &words);
    let with_pass = run(&[
        &"accounts",
        &"--network",
        &"regtest",
        &"--seed-file",
        &seed,
        &"--seed-passphrase-file",
        &pass,
    ]);
    assert_ok(&with_pass);
    assert_eq!(
        serde_json::from_str::<Value>(&stdout(&with_pass)).expect("JSON")["accounts"]
            .as_array()
            .map(Vec::len),
        Some(259)
    );
    let without = run(&[&"accounts", &"--network", &"regtest", &"--seed-file", &seed]);
    assert_fails_with(&without, "invalid aezeed passphrase");

    // Two seeds are different.
    let again = run(&[&"create-seed", &"--network", &"regtest"]);
    assert_ok(&again);
    assert_ne!(stdout(&again), words);
}

#[test]
fn vault_seal_check_and_accounts() {
    let dir = tempfile::tempdir().expect("tempdir");
    let seed = write(dir.path(), "seed.txt", DOCS_TPRV);
    let pass = write(
        dir.path(),
        "pass.txt",
        "vault passphrase\nignored second line\n",
    );
    let vault = dir.path().join("signer.vault");
    let o = run(&[
        &"vault",
        &"seal",
        &"--network",
        &"regtest",
        &"--seed-file",
        &seed,
        &"--passphrase-file",
        &pass,
        &"--out",
        &vault,
    ]);
    assert_ok(&o);
    assert!(stdout(&o).contains("a2e4cfba"), "{}", stdout(&o));
    secrets_absent(&stdout(&o));
    let blob = std::fs::read(&vault).expect("vault written");
    assert_eq!(&blob[..8], b"LNDWSVLT");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&vault)
            .expect("meta")
            .permissions()
            .mode();
        assert_eq!(mode & 0o077, 0, "vault readable by others: {mode:o}");
    }

    let o = run(&[
        &"vault",
        &"check",
        &"--vault",
        &vault,
        &"--passphrase-file",
        &pass,
    ]);
    assert_ok(&o);
    let out = stdout(&o);
    assert!(out.contains("network: regtest\n"), "{out}");
    assert!(
        out.contains("birthday: 1503539857 (2017-08-24 01:57:37 UTC)\n"),
        "{out}"
    );
    assert!(out.contains("master key fingerprint: a2e4cfba\n"), "{out}");
    secrets_absent(&out);

    let o = run(&[&"accounts", &"--vault", &vault, &"--passphrase-file", &pass]);
    assert_ok(&o);
    let v: Value = serde_json::from_str(&stdout(&o)).expect("JSON");
    assert_eq!(v, lncli_vector());

    // --network must match the vault's.
    let o = run(&[
        &"accounts",
        &"--network",
        &"mainnet",
        &"--vault",
        &vault,
        &"--passphrase-file",
        &pass,
    ]);
    assert_fails_with(&o, "holds a regtest seed but --network mainnet was given");

    // Wrong passphrase.
    let wrong = write(dir.path(), "wrong.txt", "not it\n");
    let o = run(&[
        &"vault",
        &"check",
        &"--vault",
        &vault,
        &"--passphrase-file",
        &wrong,
    ]);
    assert_fails_with(
        &o,
        &format!("wrong passphrase for vault {}", vault.display()),
    );

    // A modified vault.
    let mut bad = blob.clone();
    let mid = bad.len() / 2;
    bad[mid] ^= 0x40;
    let tampered = dir.path().join("tampered.vault");
    std::fs::write(&tampered, &bad).expect("write");
    let o = run(&[
        &"vault",
        &"check",
        &"--vault",
        &tampered,
        &"--passphrase-file",
        &pass,
    ]);
    assert_fails_with(&o, "is corrupted or was modified");

    // A truncated vault.
    let short = dir.path().join("short.vault");
    std::fs::write(&short, &blob[..blob.len() - 10]).expect("write");
    let o = run(&[&"accounts", &"--vault", &short, &"--passphrase-file", &pass]);
    assert_fails_with(&o, "is truncated");

    // Never overwrite an existing vault.
    let o = run(&[
        &"vault",
        &"seal",
        &"--network",
        &"regtest",
        &"--seed-file",
        &seed,
        &"--passphrase-file",
        &pass,
        &"--out",
        &vault,
    ]);
    assert_fails_with(&o, "already exists");
    assert_eq!(std::fs::read(&vault).expect("still there"), blob);
}

#[test]
fn vault_seal_failures() {
    let dir = tempfile::tempdir().expect("tempdir");
    let seed = write(dir.path(), "seed.txt", DOCS_TPRV);
    let pass = write(dir.path(), "pass.txt", "pw\n");
    let out = dir.path().join("x.vault");
    let o = run(&[
        &"vault",
        &"seal",
        &"--network",
        &"mainnet",
        &"--seed-file",
        &seed,
        &"--passphrase-file",
        &pass,
        &"--out",
        &out,
    ]);
    assert_fails_with(&o, "tprv key given but --network mainnet");
    assert!(!out.exists(), "no vault may be written on failure");

    let empty = write(dir.path(), "empty.txt", "\n");
    let o = run(&[
        &"vault",
        &"seal",
        &"--network",
        &"regtest",
        &"--seed-file",
        &seed,
        &"--passphrase-file",
        &empty,
        &"--out",
        &out,
    ]);
    assert_fails_with(&o, "is empty; a vault needs a passphrase");

    let not_vault = write(dir.path(), "notes.txt", "hello");
    let o = run(&[
        &"vault",
        &"check",
        &"--vault",
        &not_vault,
        &"--passphrase-file",
        &pass,
    ]);
    assert_fails_with(&o, "not an lnd-web-signer vault");
}
