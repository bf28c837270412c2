//! The bundle and macaroon commands of the `lnd-web-signer` binary
//! (docs/bundles.md): `macaroon inspect` on real lnd macaroons, `bundle signer` and
//! `bundle watch-only` (folder, .tar.gz, .b64; read back by the core
//! reader), bundles made by hand with the system `tar`/`gzip`/`base64`
//! accepted, and the round trip CLI bundle → core reader → `connect
//! --bundle` against the watch-only simulator.

use crate::support::cli::{ok, run, stderr, stdout, BIN};
use crate::support::e2e as e2e_support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use e2e_support::{Fixture, Proc, Sim};
use lnd_web_signer::bundle::{
    read_bundle, read_signer_bundle, read_watch_only_bundle, Endpoint, ReadError, TarError,
};
use lnd_web_signer::keys::{accounts_json, Network, RootKey, SeedInput};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/fixtures");
const BAKE: &str =
    "lncli bakemacaroon --root_key $ROOTKEY --save_to signer.macaroon remotesigner:generate";
/// lnd signer_test.go mnemonic (production scrypt, empty passphrase).
const LND_WORDS: &str = "able promote dizzy mixture sword myth share public find tattoo catalog cousin bulb unfair machine alarm cool large promote kick shop rug mean year";

fn fixture(rel: &str) -> PathBuf {
    PathBuf::from(format!("{FIXTURES}/{rel}"))
}

fn mac(name: &str) -> PathBuf {
    fixture(&format!("macaroons/{name}.macaroon"))
}

fn cert() -> PathBuf {
    fixture("bundle/tls.cert")
}

/// Exit 1, one `error: …` line containing `want`, nothing on stdout.
fn fails_with(o: &Output, want: &str) {
    let err = stderr(o);
    assert_eq!(o.status.code(), Some(1), "stderr: {err}");
    assert_eq!(err.lines().count(), 1, "one stderr line: {err:?}");
    assert!(err.starts_with("error: "), "{err}");
    assert!(err.contains(want), "stderr {err:?} lacks {want:?}");
    assert!(stdout(o).is_empty(), "stdout: {}", stdout(o));
}

fn sh(script: &str, dir: &Path) {
    let o = Command::new("sh")
        .arg("-ec")
        .arg(script)
        .current_dir(dir)
        .output()
        .expect("run sh");
    assert!(
        o.status.success(),
        "{script}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

fn tprv() -> String {
    e2e_support::tprv()
}

// ------------------------------------------------------------ macaroon inspect

#[test]
fn inspect_least_privilege_macaroons() {
    for name in ["signer", "signer-timeout-ip"] {
        let o = run(&[&"macaroon", &"inspect", &"--macaroonpath", &mac(name)]);
        ok(&o);
        assert!(stderr(&o).is_empty(), "no warning: {}", stderr(&o));
        let out = stdout(&o);
        assert_eq!(out.lines().count(), 1, "{out}");
        let v: serde_json::Value = serde_json::from_str(&out).expect("one JSON object");
        assert_eq!(v["least_privilege"], true);
        assert_eq!(
            v["permissions"],
            serde_json::json!(["remotesigner:generate"])
        );
        let keys: Vec<&String> = v.as_object().expect("object").keys().collect();
        assert_eq!(keys.len(), 3, "{out}");
    }
    let o = run(&[
        &"macaroon",
        &"inspect",
        &"--macaroonpath",
        &mac("signer-timeout-ip"),
    ]);
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).expect("json");
    assert_eq!(v["caveats"][1], "ipaddr 127.0.0.1");
}

#[test]
fn inspect_warns_for_an_admin_like_macaroon() {
    let bytes = std::fs::read(mac("admin-like")).expect("fixture");
    let dir = tempfile::tempdir().expect("tempdir");
    let hex_file = dir.path().join("admin.hex");
    std::fs::write(&hex_file, format!("{}\n", hex::encode(&bytes))).expect("write");
    for path in [mac("admin-like"), hex_file] {
        let o = run(&[&"macaroon", &"inspect", &"--macaroonpath", &path]);
        ok(&o);
        let v: serde_json::Value = serde_json::from_str(&stdout(&o)).expect("json");
        assert_eq!(v["least_privilege"], false);
        assert_eq!(v["permissions"].as_array().expect("list").len(), 17);
        let err = stderr(&o);
        assert_eq!(err.lines().count(), 1, "one warning line: {err}");
        assert!(err.starts_with("warning: macaroon file "), "{err}");
        for needle in ["info:read", "onchain:write", "signer:generate", BAKE] {
            assert!(err.contains(needle), "warning lacks {needle:?}: {err}");
        }
        // Never the macaroon's bytes or signature.
        let all = format!("{}{err}", stdout(&o));
        assert!(!all.contains(&hex::encode(&bytes[bytes.len() - 32..])));
        assert!(!all.contains(&hex::encode(&bytes[..24])));
    }
}

#[test]
fn inspect_refuses_what_is_not_a_macaroon() {
    let dir = tempfile::tempdir().expect("tempdir");
    let empty = dir.path().join("empty");
    std::fs::write(&empty, "").expect("write");
    let random = dir.path().join("random");
    std::fs::write(&random, [0x02u8, 0x01, 0xab, 0xcd, 0xef, 0x7f]).expect("write");
    for (path, want) in [
        (
            cert(),
            "is not lnd's binary macaroon: not a binary macaroon",
        ),
        (
            empty.clone(),
            "is not lnd's binary macaroon: the macaroon is empty",
        ),
        (random, "is not lnd's binary macaroon: malformed macaroon"),
    ] {
        let o = run(&[&"macaroon", &"inspect", &"--macaroonpath", &path]);
        fails_with(&o, want);
        fails_with(&o, &format!("macaroon file {}", path.display()));
    }
    let o = run(&[
        &"macaroon",
        &"inspect",
        &"--macaroonpath",
        &dir.path().join("missing"),
    ]);
    fails_with(&o, "cannot read macaroon file");
}

// ------------------------------------------------------------ bundle signer

#[test]
fn signer_bundle_out_dir_and_b64() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("out");
    let o = run(&[
        &"bundle",
        &"signer",
        &"--tlscertpath",
        &cert(),
        &"--macaroonpath",
        &mac("signer"),
        &"--rpchost",
        &"lnd.internal:10019",
        &"--out",
        &out,
    ]);
    ok(&o);
    assert!(stdout(&o).is_empty());
    assert!(stderr(&o).starts_with("wrote "), "{}", stderr(&o));
    assert!(!stderr(&o).contains("warning"), "{}", stderr(&o));
    let folder = out.join("credentials-bundle");
    assert_eq!(
        std::fs::read(folder.join("tls.cert")).expect("cert"),
        std::fs::read(cert()).expect("cert")
    );
    assert_eq!(
        std::fs::read(folder.join("signer.macaroon")).expect("mac"),
        std::fs::read(mac("signer")).expect("mac")
    );
    assert_eq!(
        std::fs::read_to_string(folder.join("endpoint.json")).expect("endpoint"),
        "{\"rpchost\": \"lnd.internal:10019\"}\n"
    );
    #[cfg(unix)]
    for p in [
        folder.join("signer.macaroon"),
        out.join("credentials-bundle.tar.gz"),
        out.join("credentials-bundle.tar.gz.b64"),
    ] {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&p).expect("meta").permissions().mode();
        assert_eq!(mode & 0o077, 0, "{} readable by others", p.display());
    }
    let tgz = std::fs::read(out.join("credentials-bundle.tar.gz")).expect("tar.gz");
    let b = read_signer_bundle(&tgz).expect("core reads the CLI's tar.gz");
    assert_eq!(
        b.endpoint(),
        &Endpoint::RpcHost("lnd.internal:10019".into())
    );
    let b64 = std::fs::read(out.join("credentials-bundle.tar.gz.b64")).expect("b64");
    let b2 = read_signer_bundle(&b64).expect("core reads the CLI's b64");
    assert_eq!(b2.macaroon().expose(), b.macaroon().expose());
    // The system tar reads it too.
    let x = dir.path().join("x");
    std::fs::create_dir(&x).expect("mkdir");
    sh(
        &format!(
            "base64 -d '{}' | tar xzf -",
            out.join("credentials-bundle.tar.gz.b64").display()
        ),
        &x,
    );
    assert_eq!(
        std::fs::read(x.join("credentials-bundle/signer.macaroon")).expect("extracted"),
        std::fs::read(mac("signer")).expect("mac")
    );

    // Never replaces an existing bundle.
    let again = run(&[
        &"bundle",
        &"signer",
        &"--tlscertpath",
        &cert(),
        &"--macaroonpath",
        &mac("signer"),
        &"--rpchost",
        &"lnd:10019",
        &"--out",
        &out,
    ]);
    fails_with(&again, "already exists");

    // --b64 prints the text; a bridge URL; an admin-like macaroon warns.
    let o = run(&[
        &"bundle",
        &"signer",
        &"--tlscertpath",
        &cert(),
        &"--macaroonpath",
        &mac("admin-like"),
        &"--bridge-url",
        &"https://lnd.example.com/bridge",
        &"--b64",
    ]);
    ok(&o);
    let err = stderr(&o);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with("warning: macaroon file ") && err.contains(BAKE),
        "{err}"
    );
    let text = stdout(&o);
    assert_eq!(text.lines().count(), 1);
    let b = read_signer_bundle(text.as_bytes()).expect("b64 from stdout");
    assert_eq!(
        b.endpoint(),
        &Endpoint::BridgeUrl("https://lnd.example.com/bridge".into())
    );
    assert!(!b.macaroon_info().least_privilege());
}

#[test]
fn signer_bundle_refuses_bad_inputs_and_writes_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("out");
    let fake = dir.path().join("fake.macaroon");
    std::fs::write(&fake, [0x02u8, 0x01, 0xab, 0xcd, 0xef, 0x7f]).expect("write");
    let key = dir.path().join("tls.key");
    std::fs::write(
        &key,
        "-----BEGIN EC PRIVATE KEY-----\nAAAA\n-----END EC PRIVATE KEY-----\n",
    )
    .expect("write");
    let cases: Vec<(PathBuf, PathBuf, &str, &str)> = vec![
        (
            cert(),
            fake.clone(),
            "lnd:10019",
            "is not lnd's binary macaroon",
        ),
        (cert(), cert(), "lnd:10019", "is not lnd's binary macaroon"),
        (
            mac("signer"),
            mac("signer"),
            "lnd:10019",
            "tls certificate file",
        ),
        (key.clone(), mac("signer"), "lnd:10019", "never tls.key"),
        (
            cert(),
            mac("signer"),
            "lnd",
            "rpchost \"lnd\" is not host:port",
        ),
        (cert(), mac("signer"), "https://lnd:1", "without a scheme"),
    ];
    for (c, m, host, want) in cases {
        let o = run(&[
            &"bundle",
            &"signer",
            &"--tlscertpath",
            &c,
            &"--macaroonpath",
            &m,
            &"--rpchost",
            &host,
            &"--out",
            &out,
        ]);
        fails_with(&o, want);
        assert!(!out.exists(), "nothing written for {want}");
    }
    let o = run(&[
        &"bundle",
        &"signer",
        &"--tlscertpath",
        &cert(),
        &"--macaroonpath",
        &mac("signer"),
        &"--bridge-url",
        &"http://lnd.example.com",
        &"--b64",
    ]);
    fails_with(&o, "plain http is allowed only for a loopback host");
    // Usage: an endpoint and an output are required.
    let o = run(&[
        &"bundle",
        &"signer",
        &"--tlscertpath",
        &cert(),
        &"--macaroonpath",
        &mac("signer"),
        &"--b64",
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let o = run(&[
        &"bundle",
        &"signer",
        &"--tlscertpath",
        &cert(),
        &"--macaroonpath",
        &mac("signer"),
        &"--rpchost",
        &"lnd:1",
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
}

// ------------------------------------------------------------ bundle watch-only

#[test]
fn watch_only_bundle_from_an_xprv_seed_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let seed = dir.path().join("seed.txt");
    std::fs::write(&seed, format!("{}\n", tprv())).expect("write");
    let out = dir.path().join("out");
    let o = run(&[
        &"bundle",
        &"watch-only",
        &"--network",
        &"regtest",
        &"--seed-file",
        &seed,
        &"--out",
        &out,
    ]);
    ok(&o);
    let err = stderr(&o);
    assert!(err.contains("wallet birthday: none"), "{err}");
    assert!(!err.contains(&tprv()), "seed printed");
    let want = accounts_json(&e2e_support::root());
    assert_eq!(
        std::fs::read_to_string(out.join("credentials-bundle/accounts.json")).expect("accounts"),
        want
    );
    let readme =
        std::fs::read_to_string(out.join("credentials-bundle/README.txt")).expect("readme");
    for needle in [
        "bitcoin.regtest=true",
        "remotesigner.enable=true",
        "remotesigner.experimentalrpclisten=0.0.0.0:10019",
        "healthcheck.remotesigner.interval=1m",
        BAKE,
        "lncli createwatchonly --mac_root_key $ROOTKEY accounts.json",
        "wallet birthday: none",
        "first received",
    ] {
        assert!(
            readme.contains(needle),
            "README lacks {needle:?}:\n{readme}"
        );
    }
    let tgz = std::fs::read(out.join("credentials-bundle.tar.gz")).expect("tgz");
    let b = read_watch_only_bundle(&tgz).expect("core reads it");
    assert_eq!(b.accounts_json(), want);
    assert_eq!(b.readme(), readme);
    // The system tar lists exactly the folder and its two files.
    let listing = Command::new("tar")
        .arg("tzf")
        .arg(out.join("credentials-bundle.tar.gz"))
        .output()
        .expect("tar");
    assert_eq!(
        String::from_utf8_lossy(&listing.stdout),
        "credentials-bundle/\ncredentials-bundle/accounts.json\ncredentials-bundle/README.txt\n"
    );
}

#[test]
fn watch_only_bundle_b64_from_an_aezeed_vault_shows_the_birthday() {
    let dir = tempfile::tempdir().expect("tempdir");
    let seed = dir.path().join("seed.txt");
    std::fs::write(&seed, LND_WORDS).expect("write");
    let pass = dir.path().join("pass");
    std::fs::write(&pass, "bundle test passphrase\n").expect("write");
    let vault = dir.path().join("seed.vault");
    ok(&run(&[
        &"vault",
        &"seal",
        &"--network",
        &"testnet",
        &"--seed-file",
        &seed,
        &"--passphrase-file",
        &pass,
        &"--out",
        &vault,
    ]));
    let o = run(&[
        &"bundle",
        &"watch-only",
        &"--vault",
        &vault,
        &"--passphrase-file",
        &pass,
        &"--b64",
    ]);
    ok(&o);
    let (root, birthday) = SeedInput::parse_seed_file(LND_WORDS, None)
        .expect("words")
        .to_root(Network::Testnet3)
        .expect("root");
    let b = read_watch_only_bundle(stdout(&o).as_bytes()).expect("b64 on stdout");
    assert_eq!(b.accounts_json(), accounts_json(&root));
    let words = lnd_web_signer::bundle::format_utc_words(birthday);
    for text in [b.readme().to_owned(), stderr(&o)] {
        assert!(
            text.contains(&format!("wallet birthday: {birthday} ({words})")),
            "{text}"
        );
        assert!(
            text.contains(&format!("master_key_birthday_timestamp = {birthday}")),
            "{text}"
        );
    }
    assert!(b.readme().contains(&format!("answer: {birthday}")));
    assert!(b.readme().contains("bitcoin.testnet=true"));
    assert!(!stderr(&o).contains("able promote"), "mnemonic printed");
    // `accounts` prints the same birthday.
    let o = run(&[&"accounts", &"--vault", &vault, &"--passphrase-file", &pass]);
    ok(&o);
    assert!(stderr(&o).starts_with(&format!("wallet birthday: {birthday} ({words})")));
}

// ------------------------------------------------------------ made by hand

#[test]
fn bundles_made_by_hand_with_tar_gzip_base64_are_accepted() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let folder = d.join("credentials-bundle");
    std::fs::create_dir(&folder).expect("mkdir");
    std::fs::copy(cert(), folder.join("tls.cert")).expect("copy");
    std::fs::copy(mac("signer"), folder.join("signer.macaroon")).expect("copy");
    std::fs::write(
        folder.join("endpoint.json"),
        "{\"rpchost\":\"10.0.0.2:10019\"}\n",
    )
    .expect("write");
    sh(
        "tar czf gnu.tar.gz credentials-bundle
         tar --format=ustar -czf ustar.tar.gz credentials-bundle
         tar --format=posix -czf pax.tar.gz credentials-bundle
         tar cf - ./credentials-bundle | gzip -9 > dot.tar.gz
         tar cf plain.tar credentials-bundle/tls.cert credentials-bundle/signer.macaroon credentials-bundle/endpoint.json
         gzip -c plain.tar > files.tar.gz
         base64 gnu.tar.gz > wrapped.b64
         base64 -w0 pax.tar.gz > oneline.b64
         base64 ustar.tar.gz | sed 's/$/\\r/' > crlf.b64",
        d,
    );
    for f in [
        "gnu.tar.gz",
        "ustar.tar.gz",
        "pax.tar.gz",
        "dot.tar.gz",
        "files.tar.gz",
        "wrapped.b64",
        "oneline.b64",
        "crlf.b64",
    ] {
        let data = std::fs::read(d.join(f)).expect("read");
        let b = read_signer_bundle(&data).unwrap_or_else(|e| panic!("{f}: {e}"));
        assert_eq!(b.endpoint().as_str(), "10.0.0.2:10019", "{f}");
        assert!(b.macaroon_info().least_privilege(), "{f}");
    }
    assert_eq!(
        read_bundle(&std::fs::read(d.join("plain.tar")).expect("read")).expect_err("tar"),
        ReadError::UncompressedTar
    );

    // Malformed by hand: a symlink, an extra file, a missing file, an absolute name.
    sh(
        "mkdir -p bad && cp -r credentials-bundle bad/ && cd bad
         ln -s /etc/passwd credentials-bundle/link && tar czf ../link.tar.gz credentials-bundle
         rm credentials-bundle/link && echo hi > credentials-bundle/notes.txt
         tar czf ../extra.tar.gz credentials-bundle
         rm credentials-bundle/notes.txt credentials-bundle/endpoint.json
         tar czf ../missing.tar.gz credentials-bundle
         tar czPf ../absolute.tar.gz \"$PWD/credentials-bundle/tls.cert\"",
        d,
    );
    let read = |f: &str| read_bundle(&std::fs::read(d.join(f)).expect("read")).expect_err(f);
    assert!(matches!(
        read("link.tar.gz"),
        ReadError::Tar(TarError::Link(_))
    ));
    assert!(matches!(
        read("extra.tar.gz"),
        ReadError::UnexpectedFile { .. }
    ));
    assert!(matches!(
        read("missing.tar.gz"),
        ReadError::MissingFile {
            name: "endpoint.json",
            ..
        }
    ));
    assert!(matches!(
        read("absolute.tar.gz"),
        ReadError::Tar(TarError::AbsoluteName(_))
    ));

    // The watch-only side by hand.
    let w = d.join("w/credentials-bundle");
    std::fs::create_dir_all(&w).expect("mkdir");
    let root = RootKey::from_seed_entropy(&[7; 16], Network::Regtest).expect("root");
    std::fs::write(w.join("accounts.json"), accounts_json(&root)).expect("write");
    std::fs::write(w.join("README.txt"), "notes\n").expect("write");
    sh(
        "cd w && tar czf - credentials-bundle | base64 > ../w.b64",
        d,
    );
    let b = read_watch_only_bundle(&std::fs::read(d.join("w.b64")).expect("read")).expect("w");
    assert_eq!(b.accounts_json(), accounts_json(&root));
}

// ------------------------------------------------------------ connect --bundle

/// `connect` as a child with `args` and the tprv seed file of `fx`.
fn connect(fx: &Fixture, args: &[&dyn AsRef<std::ffi::OsStr>]) -> Proc {
    let mut cmd = Command::new(BIN);
    cmd.arg("connect")
        .args(args.iter().map(|a| a.as_ref()))
        .args(["--network", "regtest", "--seed-file"])
        .arg(fx.seed_file())
        .env("RUST_LOG", "info");
    Proc::spawn("lnd-web-signer connect", cmd)
}

#[test]
fn cli_bundle_to_core_reader_to_connect_against_the_simulator() {
    let fx = Fixture::new();
    // The simulator accepts whatever macaroon file it finds: a real lnd one.
    std::fs::copy(mac("signer"), fx.macaroon()).expect("copy macaroon");
    let mut sim = Sim::start(
        &fx,
        "127.0.0.1:0",
        &[
            "--scenario",
            "gossip",
            "--rounds",
            "1",
            "--exit-when-done",
            "--startup-timeout",
            "60s",
            "--quiet",
        ],
    );
    let out = fx.dir().join("bundle-out");
    let o = run(&[
        &"bundle",
        &"signer",
        &"--tlscertpath",
        &fx.cert(),
        &"--macaroonpath",
        &fx.macaroon(),
        &"--rpchost",
        &sim.addr,
        &"--out",
        &out,
    ]);
    ok(&o);
    let b64 = out.join("credentials-bundle.tar.gz.b64");
    let b = read_signer_bundle(&std::fs::read(&b64).expect("b64")).expect("core reader");
    assert_eq!(b.endpoint(), &Endpoint::RpcHost(sim.addr.clone()));
    assert_eq!(
        b.tls_cert_pem().as_bytes(),
        &std::fs::read(fx.cert()).expect("cert")[..]
    );

    let mut signer = connect(&fx, &[&"--bundle", &b64, &"--once"]);
    sim.assert_passed("gossip via connect --bundle", 6, Duration::from_secs(180));
    signer.wait_exit(Duration::from_secs(30));
    let log = signer.transcript();
    assert!(log.contains("registered with the watch-only node"), "{log}");
    assert!(!log.contains("grants more than"), "least-privilege: {log}");
    let mac_hex = hex::encode(std::fs::read(fx.macaroon()).expect("mac"));
    assert!(!log.contains(&mac_hex), "macaroon logged");
}

#[test]
fn connect_bundle_refusals_and_macaroon_warnings() {
    let fx = Fixture::new();
    let dir = fx.dir().to_path_buf();
    let make = |name: &str, macaroon: &Path, endpoint: &[&str]| -> PathBuf {
        let out = dir.join(name);
        let o = Command::new(BIN)
            .args(["bundle", "signer", "--tlscertpath"])
            .arg(cert())
            .arg("--macaroonpath")
            .arg(macaroon)
            .args(endpoint)
            .arg("--out")
            .arg(&out)
            .output()
            .expect("bundle signer");
        ok(&o);
        out.join("credentials-bundle.tar.gz")
    };
    let cert_path = cert();
    let admin_mac = mac("admin-like");

    // A bridge bundle is for browser signers.
    let bridge = make(
        "bridge",
        &mac("signer"),
        &["--bridge-url", "https://b.example/x"],
    );
    let mut p = connect(&fx, &[&"--bundle", &bridge, &"--once"]);
    assert_eq!(p.wait_exit(Duration::from_secs(30)), 1);
    let log = p.transcript();
    assert!(log.contains("is for browser signers"), "{log}");
    assert!(log.contains("--rpchost"), "{log}");

    // A watch-only bundle is not a signer bundle.
    let w = dir.join("w");
    ok(&run(&[
        &"bundle",
        &"watch-only",
        &"--network",
        &"regtest",
        &"--seed-file",
        &fx.seed_file(),
        &"--out",
        &w,
    ]));
    let mut p = connect(
        &fx,
        &[&"--bundle", &w.join("credentials-bundle.tar.gz"), &"--once"],
    );
    assert_eq!(p.wait_exit(Duration::from_secs(30)), 1);
    assert!(
        p.transcript()
            .contains("this is a watch-only bundle, not a signer bundle"),
        "{}",
        p.transcript()
    );

    // A malformed bundle file.
    let junk = dir.join("junk.b64");
    std::fs::write(&junk, "{\"not\": \"a bundle\"}\n").expect("write");
    let mut p = connect(&fx, &[&"--bundle", &junk, &"--once"]);
    assert_eq!(p.wait_exit(Duration::from_secs(30)), 1);
    assert!(
        p.transcript().contains("not a bundle"),
        "{}",
        p.transcript()
    );

    // --bundle excludes the three flags.
    let o = Command::new(BIN)
        .args(["connect", "--rpchost", "a:1", "--bundle"])
        .arg(&bridge)
        .args(["--network", "regtest", "--seed-file"])
        .arg(fx.seed_file())
        .output()
        .expect("connect");
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));

    // An admin-like macaroon is warned about at connect, from a bundle and
    // from --macaroonpath (nothing listens on port 1: the attempt fails).
    let admin = make("admin", &mac("admin-like"), &["--rpchost", "127.0.0.1:1"]);
    let from_bundle: Vec<&dyn AsRef<std::ffi::OsStr>> = vec![&"--bundle", &admin];
    let from_files: Vec<&dyn AsRef<std::ffi::OsStr>> = vec![
        &"--rpchost",
        &"127.0.0.1:1",
        &"--tlscertpath",
        &cert_path,
        &"--macaroonpath",
        &admin_mac,
    ];
    for args in [from_bundle, from_files] {
        let mut all = args.clone();
        all.push(&"--once");
        let mut p = connect(&fx, &all);
        p.wait_exit(Duration::from_secs(30));
        let log = p.transcript();
        assert!(
            log.contains("grants more than remotesigner:generate"),
            "{log}"
        );
        assert!(log.contains(BAKE), "{log}");
    }
}
