//! Credentials bundles in the core: writer → reader round trips (tar.gz and
//! base64 with line breaks), and every malformed bundle refused with its own
//! error. Hostile archives are built here by an independent tar/gzip
//! writer, so the reader is not only checked against its own writer.

use base64::Engine as _;
use lnd_web_signer::bundle::{
    self, read_bundle, read_signer_bundle, read_watch_only_bundle, to_base64, watch_only_readme,
    Birthday, Bundle, CertError, ContentError, Endpoint, GzipError, ReadError, SignerBundle,
    TarError, WatchOnlyBundle,
};
use lnd_web_signer::keys::{accounts_json, Network, RootKey};
use lnd_web_signer::macaroon::MacaroonError;
use proptest::prelude::*;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");

fn cert() -> Vec<u8> {
    std::fs::read(format!("{FIXTURES}/bundle/tls.cert")).expect("fixture cert")
}

fn mac(name: &str) -> Vec<u8> {
    std::fs::read(format!("{FIXTURES}/macaroons/{name}.macaroon")).expect("fixture macaroon")
}

fn accounts() -> String {
    let root = RootKey::from_seed_entropy(&[0x11; 16], Network::Regtest).expect("root");
    accounts_json(&root)
}

fn signer_bundle() -> SignerBundle {
    SignerBundle::new(
        &cert(),
        &mac("signer"),
        Endpoint::rpchost("127.0.0.1:10019").expect("rpchost"),
    )
    .expect("signer bundle")
}

// ------------------------------------------------------- independent writer

/// One raw tar entry: name, type flag, data, optional linkname.
struct Raw<'a> {
    name: &'a str,
    typeflag: u8,
    data: &'a [u8],
    link: &'a str,
}

fn file<'a>(name: &'a str, data: &'a [u8]) -> Raw<'a> {
    Raw {
        name,
        typeflag: b'0',
        data,
        link: "",
    }
}

fn dir(name: &str) -> Raw<'_> {
    Raw {
        name,
        typeflag: b'5',
        data: b"",
        link: "",
    }
}

fn header(name: &[u8], typeflag: u8, size: usize, link: &str, gnu: bool) -> [u8; 512] {
    let mut h = [0u8; 512];
    h[..name.len()].copy_from_slice(name);
    h[100..108].copy_from_slice(b"0000644\0");
    h[108..116].copy_from_slice(b"0000000\0");
    h[116..124].copy_from_slice(b"0000000\0");
    h[124..136].copy_from_slice(format!("{size:011o}\0").as_bytes());
    h[136..148].copy_from_slice(b"14712345670\0");
    h[156] = typeflag;
    h[157..157 + link.len()].copy_from_slice(link.as_bytes());
    if gnu {
        h[257..265].copy_from_slice(b"ustar  \0");
    } else {
        h[257..263].copy_from_slice(b"ustar\0");
        h[263..265].copy_from_slice(b"00");
    }
    h[148..156].copy_from_slice(b"        ");
    let sum: u32 = h.iter().map(|&b| u32::from(b)).sum();
    h[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
    h
}

fn tar(entries: &[Raw<'_>]) -> Vec<u8> {
    let mut out = Vec::new();
    for e in entries {
        out.extend_from_slice(&header(
            e.name.as_bytes(),
            e.typeflag,
            e.data.len(),
            e.link,
            false,
        ));
        out.extend_from_slice(e.data);
        out.resize(out.len().div_ceil(512) * 512, 0);
    }
    out.resize(out.len() + 1024, 0);
    out
}

fn gz(data: &[u8]) -> Vec<u8> {
    let crc = crc::Crc::<u32>::new(&crc::CRC_32_ISO_HDLC);
    let mut out = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255];
    out.extend_from_slice(&miniz_oxide::deflate::compress_to_vec(data, 6));
    out.extend_from_slice(&crc.checksum(data).to_le_bytes());
    out.extend_from_slice(&(data.len() as u32).to_le_bytes());
    out
}

fn signer_files<'a>(c: &'a [u8], m: &'a [u8], e: &'a [u8]) -> Vec<Raw<'a>> {
    vec![
        dir("credentials-bundle/"),
        file("credentials-bundle/tls.cert", c),
        file("credentials-bundle/signer.macaroon", m),
        file("credentials-bundle/endpoint.json", e),
    ]
}

fn read_entries(entries: &[Raw<'_>]) -> Result<Bundle, ReadError> {
    read_bundle(&gz(&tar(entries)))
}

const EP: &[u8] = b"{\"rpchost\": \"lnd:10019\"}";

// ------------------------------------------------------------- round trips

#[test]
fn signer_bundle_round_trips_as_tar_gz_and_base64() {
    let b = signer_bundle();
    let tgz = b.to_tar_gz(1_760_000_000);
    let back = read_signer_bundle(&tgz).expect("reads its own tar.gz");
    assert_eq!(back.tls_cert_pem().as_bytes(), &cert()[..]);
    assert_eq!(back.macaroon().expose(), &mac("signer")[..]);
    assert_eq!(
        back.endpoint(),
        &Endpoint::RpcHost("127.0.0.1:10019".into())
    );
    assert!(back.macaroon_info().least_privilege());

    let text = to_base64(&tgz);
    assert!(text.ends_with('\n') && text.lines().count() == 1);
    let back = read_signer_bundle(text.as_bytes()).expect("reads the base64 text");
    assert_eq!(back.macaroon().expose(), &mac("signer")[..]);

    // Wrapped at 76 columns with CRLF, indented, without padding: still read.
    let wrapped: String = text
        .trim_end()
        .trim_end_matches('=')
        .as_bytes()
        .chunks(76)
        .map(|c| format!("  {}\r\n", std::str::from_utf8(c).expect("ascii")))
        .collect();
    let back = read_signer_bundle(wrapped.as_bytes()).expect("wrapped base64");
    assert_eq!(back.tls_cert_pem().as_bytes(), &cert()[..]);

    let bridge = SignerBundle::new(
        &cert(),
        &mac("admin-like"),
        Endpoint::bridge_url("https://lnd.example.com/bridge").expect("url"),
    )
    .expect("bundle");
    let back = read_signer_bundle(&bridge.to_tar_gz(0)).expect("bridge bundle");
    assert_eq!(
        back.endpoint(),
        &Endpoint::BridgeUrl("https://lnd.example.com/bridge".into())
    );
    assert!(!back.macaroon_info().least_privilege());
    // Debug never shows the macaroon.
    let dbg = format!("{back:?}");
    assert!(dbg.contains("[redacted]"), "{dbg}");
    assert!(
        !dbg.contains(&hex::encode(&mac("admin-like")[..16])),
        "{dbg}"
    );
}

#[test]
fn watch_only_bundle_round_trips() {
    let readme = watch_only_readme(Network::Regtest, Birthday::Seed(1_714_588_505));
    let b = WatchOnlyBundle::new(accounts(), readme.clone()).expect("bundle");
    let tgz = b.to_tar_gz(1_760_000_000);
    let back = read_watch_only_bundle(&tgz).expect("reads");
    assert_eq!(back.accounts_json(), accounts());
    assert_eq!(back.readme(), readme);
    let back = read_watch_only_bundle(to_base64(&tgz).as_bytes()).expect("base64");
    assert_eq!(back, b);
    assert!(matches!(read_bundle(&tgz), Ok(Bundle::WatchOnly(_))));
    // Files of the folder, in order.
    let names: Vec<&str> = b.files().iter().map(|f| f.name).collect();
    assert_eq!(names, ["accounts.json", "README.txt"]);
}

#[test]
fn the_other_kind_is_refused() {
    let w = WatchOnlyBundle::new(accounts(), "readme".into()).expect("bundle");
    let err = read_signer_bundle(&w.to_tar_gz(0)).expect_err("watch-only");
    assert!(matches!(
        err,
        ReadError::WrongKind {
            found: "watch-only",
            ..
        }
    ));
    assert!(err
        .to_string()
        .starts_with("this is a watch-only bundle, not a signer bundle"));
    let err = read_watch_only_bundle(&signer_bundle().to_tar_gz(0)).expect_err("signer");
    assert!(matches!(
        err,
        ReadError::WrongKind {
            found: "signer",
            ..
        }
    ));
}

// --------------------------------------------------------- the layers

#[test]
fn not_base64_not_gzip_not_tar() {
    assert_eq!(read_bundle(b"").expect_err("refused"), ReadError::Empty);
    assert_eq!(
        read_bundle(b" \n\t").expect_err("refused"),
        ReadError::Empty
    );
    assert_eq!(
        read_bundle(b"hello, world!").expect_err("refused"),
        ReadError::NotBase64
    );
    assert_eq!(
        read_bundle(&cert()).expect_err("refused"),
        ReadError::NotBase64
    );
    let not_gzip = base64::engine::general_purpose::STANDARD.encode(b"plain text, not gzip");
    assert_eq!(
        read_bundle(not_gzip.as_bytes()).expect_err("refused"),
        ReadError::NotGzip
    );
    let plain_tar = tar(&signer_files(&cert(), &mac("signer"), EP));
    assert_eq!(
        read_bundle(&plain_tar).expect_err("refused"),
        ReadError::UncompressedTar
    );
    assert_eq!(
        read_bundle(&gz(b"gzip of something that is not a tar")).expect_err("refused"),
        ReadError::Tar(TarError::NotTar)
    );
    let big = vec![b'A'; bundle::MAX_INPUT_LEN + 1];
    assert_eq!(read_bundle(&big).expect_err("refused"), ReadError::TooLarge);
}

#[test]
fn broken_gzip() {
    let good = signer_bundle().to_tar_gz(0).to_vec();
    let mut crc = good.clone();
    let n = crc.len();
    crc[n - 6] ^= 0x40;
    assert_eq!(
        read_bundle(&crc).expect_err("refused"),
        ReadError::Gzip(GzipError::Checksum)
    );
    assert_eq!(
        read_bundle(&good[..good.len() - 20]).expect_err("refused"),
        ReadError::Gzip(GzipError::Truncated)
    );
    let mut trailing = good.clone();
    trailing.extend_from_slice(b"junk");
    assert_eq!(
        read_bundle(&trailing).expect_err("refused"),
        ReadError::Gzip(GzipError::TrailingBytes(4))
    );
    let mut corrupt = good;
    for b in &mut corrupt[12..40] {
        *b = 0xff;
    }
    assert!(matches!(
        read_bundle(&corrupt).expect_err("refused"),
        ReadError::Gzip(_)
    ));
}

#[test]
fn decompression_bomb_is_bounded() {
    // 64 MiB of zeros compresses to about 64 KiB.
    let bomb = gz(&vec![0u8; 64 << 20]);
    assert!(bomb.len() < bundle::MAX_INPUT_LEN);
    assert_eq!(
        read_bundle(&bomb).expect_err("refused"),
        ReadError::Gzip(GzipError::TooLarge {
            limit: bundle::MAX_TAR_LEN
        })
    );
    // Also as a tar member that claims to be tls.cert.
    let huge = vec![b'A'; 2 << 20];
    let err = read_entries(&[file("credentials-bundle/tls.cert", &huge)]).expect_err("refused");
    assert!(matches!(
        err,
        ReadError::FileTooLarge {
            name: "tls.cert",
            ..
        }
    ));
}

// --------------------------------------------------------- names and types

#[test]
fn missing_extra_and_mixed_files() {
    let (c, m) = (cert(), mac("signer"));
    let mut e = signer_files(&c, &m, EP);
    e.remove(2);
    assert_eq!(
        read_entries(&e).expect_err("refused"),
        ReadError::MissingFile {
            kind: "signer",
            name: "signer.macaroon"
        }
    );
    let mut e = signer_files(&c, &m, EP);
    e.push(file("credentials-bundle/notes.txt", b"hi"));
    let err = read_entries(&e).expect_err("refused");
    assert!(
        matches!(&err, ReadError::UnexpectedFile { name, .. } if name == "credentials-bundle/notes.txt")
    );
    let mut e = signer_files(&c, &m, EP);
    e.push(file("credentials-bundle/accounts.json", b"{}"));
    assert!(matches!(
        read_entries(&e).expect_err("refused"),
        ReadError::UnexpectedFile { .. }
    ));
    let mut e = signer_files(&c, &m, EP);
    e.push(file("credentials-bundle/._tls.cert", b"x"));
    let err = read_entries(&e).expect_err("refused");
    assert!(err.to_string().contains("COPYFILE_DISABLE=1"), "{err}");
    let mut e = signer_files(&c, &m, EP);
    e.push(dir("credentials-bundle/sub/"));
    assert!(matches!(
        read_entries(&e).expect_err("refused"),
        ReadError::UnexpectedFile { .. }
    ));
    assert_eq!(
        read_entries(&[dir("credentials-bundle/")]).expect_err("refused"),
        ReadError::NoFiles
    );
    // Files without the folder.
    let e = [
        file("tls.cert", &c),
        file("signer.macaroon", &m),
        file("endpoint.json", EP),
    ];
    assert_eq!(
        read_entries(&e).expect_err("refused"),
        ReadError::OutsideFolder("tls.cert".into())
    );
    let mut e = signer_files(&c, &m, EP);
    e.push(file("other/x", b""));
    assert_eq!(
        read_entries(&e).expect_err("refused"),
        ReadError::OutsideFolder("other/x".into())
    );
}

#[test]
fn duplicates() {
    let (c, m) = (cert(), mac("signer"));
    let mut e = signer_files(&c, &m, EP);
    e.push(file("./credentials-bundle/tls.cert", &c));
    assert_eq!(
        read_entries(&e).expect_err("refused"),
        ReadError::Duplicate("credentials-bundle/tls.cert".into())
    );
    let mut e = signer_files(&c, &m, EP);
    e.push(dir("credentials-bundle"));
    assert!(matches!(
        read_entries(&e).expect_err("refused"),
        ReadError::Duplicate(_)
    ));
}

#[test]
fn unsafe_names() {
    let (c, m) = (cert(), mac("signer"));
    for (name, want) in [
        (
            "credentials-bundle/../tls.cert",
            TarError::PathTraversal("credentials-bundle/../tls.cert".into()),
        ),
        (
            "../../etc/passwd",
            TarError::PathTraversal("../../etc/passwd".into()),
        ),
        (
            "/credentials-bundle/tls.cert",
            TarError::AbsoluteName("/credentials-bundle/tls.cert".into()),
        ),
        (
            "credentials-bundle//tls.cert",
            TarError::UnsafeName("credentials-bundle//tls.cert".into()),
        ),
        (
            "credentials-bundle\\tls.cert",
            TarError::UnsafeName("credentials-bundle\\tls.cert".into()),
        ),
    ] {
        let mut e = signer_files(&c, &m, EP);
        e.push(file(name, b"x"));
        assert_eq!(
            read_entries(&e).expect_err("refused"),
            ReadError::Tar(want),
            "{name}"
        );
    }
    // A pax header that renames an innocent entry to a traversal.
    let body = " path=credentials-bundle/../x\n";
    let record = format!("{}{body}", body.len() + 2);
    assert_eq!(record.len(), body.len() + 2);
    let mut t = header(b"PaxHeaders/x", b'x', record.len(), "", false).to_vec();
    t.extend_from_slice(record.as_bytes());
    t.resize(1024, 0);
    let inner = tar(&[file("credentials-bundle/endpoint.json", EP)]);
    t.extend_from_slice(&inner);
    assert!(matches!(
        read_bundle(&gz(&t)).expect_err("refused"),
        ReadError::Tar(TarError::PathTraversal(_))
    ));
}

#[test]
fn links_and_devices() {
    let (c, m) = (cert(), mac("signer"));
    for (typeflag, link) in [(b'2', "/etc/passwd"), (b'1', "credentials-bundle/tls.cert")] {
        let mut e = signer_files(&c, &m, EP);
        e[1] = Raw {
            name: "credentials-bundle/tls.cert",
            typeflag,
            data: b"",
            link,
        };
        assert!(matches!(
            read_entries(&e).expect_err("refused"),
            ReadError::Tar(TarError::Link(_))
        ));
    }
    for typeflag in [b'3', b'4', b'6'] {
        let mut e = signer_files(&c, &m, EP);
        e.push(Raw {
            name: "credentials-bundle/dev",
            typeflag,
            data: b"",
            link: "",
        });
        assert!(matches!(
            read_entries(&e).expect_err("refused"),
            ReadError::Tar(TarError::Special(_))
        ));
    }
    let mut e = signer_files(&c, &m, EP);
    e.push(Raw {
        name: "././@LongLink",
        typeflag: b'L',
        data: b"credentials-bundle/x",
        link: "",
    });
    assert!(matches!(
        read_entries(&e).expect_err("refused"),
        ReadError::Tar(TarError::Unsupported { typeflag: 'L', .. })
    ));
}

#[test]
fn gnu_headers_and_dot_slash_names_are_accepted() {
    let (c, m) = (cert(), mac("signer"));
    let mut t = Vec::new();
    for (name, data, typeflag) in [
        ("./", &b""[..], b'5'),
        ("./credentials-bundle/", b"", b'5'),
        ("./credentials-bundle/endpoint.json", EP, b'0'),
        ("./credentials-bundle/signer.macaroon", &m, b'0'),
        ("./credentials-bundle/tls.cert", &c, b'0'),
    ] {
        t.extend_from_slice(&header(name.as_bytes(), typeflag, data.len(), "", true));
        t.extend_from_slice(data);
        t.resize(t.len().div_ceil(512) * 512, 0);
    }
    t.resize(10240, 0);
    let b = read_signer_bundle(&gz(&t)).expect("gnu tar");
    assert_eq!(b.endpoint().as_str(), "lnd:10019");
}

// --------------------------------------------------------- contents

#[test]
fn bad_contents() {
    let (c, m) = (cert(), mac("signer"));
    let content = |e: Vec<Raw<'_>>| match read_entries(&e).expect_err("refused") {
        ReadError::Content(c) => c,
        other => panic!("not a content error: {other:?}"),
    };

    let e = signer_files(b"not a certificate", &m, EP);
    assert_eq!(
        content(e),
        ContentError::Certificate(CertError::NoCertificate)
    );
    let garbage = b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
    assert!(matches!(
        content(signer_files(garbage, &m, EP)),
        ContentError::Certificate(CertError::NotX509(_))
    ));
    let bad64 = b"-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n";
    assert_eq!(
        content(signer_files(bad64, &m, EP)),
        ContentError::Certificate(CertError::BadBase64)
    );
    let two = [c.clone(), c.clone()].concat();
    assert_eq!(
        content(signer_files(&two, &m, EP)),
        ContentError::Certificate(CertError::NotOneCertificate)
    );
    let key = [
        &c[..],
        b"-----BEGIN EC PRIVATE KEY-----\nAAAA\n-----END EC PRIVATE KEY-----\n",
    ]
    .concat();
    assert_eq!(
        content(signer_files(&key, &m, EP)),
        ContentError::Certificate(CertError::PrivateKey)
    );
    // A certificate whose DER was cut short (re-encoded, so the base64 is fine).
    let der = bundle::check_pem(&c).expect("fixture parses");
    let cut = base64::engine::general_purpose::STANDARD.encode(&der[..der.len() - 10]);
    let cut = format!("-----BEGIN CERTIFICATE-----\n{cut}\n-----END CERTIFICATE-----\n");
    assert!(matches!(
        content(signer_files(cut.as_bytes(), &m, EP)),
        ContentError::Certificate(CertError::NotX509(_))
    ));

    let hex_text = hex::encode(&m);
    assert!(matches!(
        content(signer_files(&c, hex_text.as_bytes(), EP)),
        ContentError::Macaroon(MacaroonError::VersionOne)
    ));
    assert!(matches!(
        content(signer_files(&c, &[2, 1, 3], EP)),
        ContentError::Macaroon(_)
    ));
    assert!(matches!(
        content(signer_files(&c, b"", EP)),
        ContentError::Macaroon(MacaroonError::Empty)
    ));

    for bad in [
        &b"{\"rpchost\": \"lnd\"}"[..],
        b"{\"bridge_url\": \"http://example.com\"}",
        b"{\"rpchost\": \"a:1\", \"bridge_url\": \"https://a\"}",
        b"rpchost=lnd:10019",
        b"{\"host\": \"lnd:10019\"}",
    ] {
        assert!(matches!(
            content(signer_files(&c, &m, bad)),
            ContentError::Endpoint(_)
        ));
    }

    let readme = b"readme";
    for bad in [
        &b"not json"[..],
        b"{}",
        b"{\"accounts\": []}",
        b"{\"accounts\": [{}]}",
    ] {
        let e = vec![
            file("credentials-bundle/accounts.json", bad),
            file("credentials-bundle/README.txt", readme),
        ];
        assert!(matches!(content(e), ContentError::Accounts(_)));
    }
    let acc = accounts();
    let e = vec![
        file("credentials-bundle/accounts.json", acc.as_bytes()),
        file("credentials-bundle/README.txt", &[0xff, 0xfe]),
    ];
    assert!(matches!(content(e), ContentError::Readme(_)));
}

#[test]
fn errors_are_lower_case_one_line_messages() {
    let samples = [
        read_bundle(b"hello!").expect_err("refused"),
        read_bundle(&gz(b"x")).expect_err("refused"),
        read_entries(&[dir("credentials-bundle/")]).expect_err("refused"),
        read_entries(&signer_files(b"x", &mac("signer"), EP)).expect_err("refused"),
    ];
    for e in samples {
        let s = e.to_string();
        assert!(!s.contains('\n'), "{s}");
        let first = s.chars().next().expect("non-empty");
        assert!(!first.is_uppercase(), "{s}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    /// A valid bundle with one byte of its tar changed (then gzip'd again):
    /// an error or a bundle, never a panic.
    #[test]
    fn mutated_tars_never_panic(pos in 0usize..4096, byte in any::<u8>()) {
        let (c, m) = (cert(), mac("signer"));
        let mut t = tar(&signer_files(&c, &m, EP));
        let pos = pos % t.len();
        t[pos] = byte;
        let _ = read_bundle(&gz(&t));
    }

    /// Random bytes as input: never a panic.
    #[test]
    fn random_input_never_panics(data in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let _ = read_bundle(&data);
        let mut g = vec![0x1f, 0x8b];
        g.extend_from_slice(&data);
        let _ = read_bundle(&g);
    }
}
