//! Credentials bundles: the setup files of a remote-signer pair in one
//! paste, both ways (docs/bundles.md).
//!
//! A bundle is a gzip'd tar holding one folder `credentials-bundle/`; its
//! `.b64` form is that `.tar.gz` file in standard base64 (line breaks and
//! other ASCII whitespace are ignored when reading).
//!
//! * **Watch-only bundle** (signer → lnd machine): `accounts.json` and
//!   `README.txt` (the lnd.conf options and the exact `lncli bakemacaroon` /
//!   `lncli createwatchonly` commands, with the wallet birthday).
//! * **Signer bundle** (lnd machine → signer): `tls.cert` (PEM X.509 as lnd
//!   writes it), `signer.macaroon` (lnd's binary macaroon) and
//!   `endpoint.json` (`{"rpchost": "host:port"}` or `{"bridge_url": "https://…"}`).
//!
//! Everything here is a pure function over bytes (no file system, no clock:
//! the caller passes the tar's modification time), so the browser tab, the
//! extension and the worker use the same reader and writer as the CLI.
//! Reading is strict and bounded: input [`MAX_INPUT_LEN`], decompressed tar
//! [`MAX_TAR_LEN`], each member its own limit; any malformed bundle gives a
//! [`ReadError`] and nothing else happens.
//!
//! ```text
//! SignerBundle::new(cert_pem, macaroon, Endpoint::rpchost("lnd:10019")?)?
//!     .to_tar_gz(mtime) → bytes;  to_base64(&bytes) → text
//! read_signer_bundle(bytes_or_text)? → .tls_cert_pem() .macaroon() .endpoint() .macaroon_info()
//! WatchOnlyBundle::new(accounts_json, watch_only_readme(network, birthday))?
//! ```

mod cert;
mod endpoint;
mod gzip;
mod readme;
mod tar;

pub use cert::{check_pem, CertError, MAX_CERT_LEN};
pub use endpoint::{Endpoint, EndpointError, MAX_ENDPOINT_LEN};
pub use gzip::GzipError;
pub use readme::{format_utc_words, watch_only_readme, Birthday, BIRTHDAY_PROMPT};
pub use tar::TarError;

use base64::Engine as _;
use zeroize::Zeroizing;

use crate::macaroon::{self, MacaroonError, MacaroonInfo, MAX_MACAROON_LEN};
use crate::secret::SecretBytes;

/// The folder inside every bundle.
pub const FOLDER: &str = "credentials-bundle";
/// File name of the gzip'd tar.
pub const TAR_GZ_NAME: &str = "credentials-bundle.tar.gz";
/// File name of its base64 text.
pub const B64_NAME: &str = "credentials-bundle.tar.gz.b64";

/// Watch-only bundle: the accounts for `lncli createwatchonly`.
pub const ACCOUNTS_JSON: &str = "accounts.json";
/// Watch-only bundle: the instructions.
pub const README_TXT: &str = "README.txt";
/// Signer bundle: lnd's TLS certificate.
pub const TLS_CERT: &str = "tls.cert";
/// Signer bundle: the signer's macaroon.
pub const SIGNER_MACAROON: &str = "signer.macaroon";
/// Signer bundle: where to reach lnd.
pub const ENDPOINT_JSON: &str = "endpoint.json";

/// Largest input accepted by the readers (a `.tar.gz` or its base64 text).
pub const MAX_INPUT_LEN: usize = 4 * 1024 * 1024;
/// Largest decompressed tar accepted (bounds a decompression bomb).
pub const MAX_TAR_LEN: usize = 4 * 1024 * 1024;
/// Largest `accounts.json` accepted (ours is about 80 KiB).
pub const MAX_ACCOUNTS_LEN: usize = 1024 * 1024;
/// Largest `README.txt` accepted.
pub const MAX_README_LEN: usize = 64 * 1024;

const WATCH_ONLY_FILES: [&str; 2] = [ACCOUNTS_JSON, README_TXT];
const SIGNER_FILES: [&str; 3] = [TLS_CERT, SIGNER_MACAROON, ENDPOINT_JSON];

fn member_limit(name: &str) -> usize {
    match name {
        ACCOUNTS_JSON => MAX_ACCOUNTS_LEN,
        README_TXT => MAX_README_LEN,
        TLS_CERT => MAX_CERT_LEN,
        SIGNER_MACAROON => MAX_MACAROON_LEN,
        _ => MAX_ENDPOINT_LEN,
    }
}

/// A file's content that cannot go into (or come out of) a bundle. Each
/// message starts with the file's name.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ContentError {
    /// `tls.cert` is not one PEM X.509 certificate.
    #[error("tls.cert: {0}")]
    Certificate(#[from] CertError),
    /// `signer.macaroon` is not lnd's binary macaroon.
    #[error("signer.macaroon is not lnd's binary macaroon: {0}")]
    Macaroon(#[from] MacaroonError),
    /// `endpoint.json` is unusable.
    #[error("endpoint.json: {0}")]
    Endpoint(#[from] EndpointError),
    /// `accounts.json` is not an accounts list.
    #[error("accounts.json: {0}")]
    Accounts(&'static str),
    /// `README.txt` is not UTF-8 text or too large.
    #[error("README.txt: {0}")]
    Readme(&'static str),
}

/// Why a bundle cannot be read. Nothing is changed by a failed read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ReadError {
    /// Nothing given.
    #[error("the bundle is empty")]
    Empty,
    /// More than [`MAX_INPUT_LEN`] bytes.
    #[error("the bundle is larger than {MAX_INPUT_LEN} bytes")]
    TooLarge,
    /// Neither gzip nor base64 text.
    #[error("not a bundle: neither a credentials-bundle.tar.gz file nor its base64 text")]
    NotBase64,
    /// An uncompressed tar.
    #[error("this is an uncompressed tar; a bundle is gzip'd (tar -czf)")]
    UncompressedTar,
    /// Base64 text that does not hold a gzip file.
    #[error("the base64 text does not hold a gzip file (expected credentials-bundle.tar.gz)")]
    NotGzip,
    /// The gzip layer is broken or too large.
    #[error("{0}")]
    Gzip(#[from] GzipError),
    /// The tar layer is broken or holds something unsafe.
    #[error("{0}")]
    Tar(#[from] TarError),
    /// An entry outside `credentials-bundle/`.
    #[error("{0:?} is outside the credentials-bundle/ folder")]
    OutsideFolder(String),
    /// A file that belongs in no bundle of this kind.
    #[error("unexpected file {name:?} in the bundle{hint}")]
    UnexpectedFile {
        /// The entry's name.
        name: String,
        /// Extra advice.
        hint: &'static str,
    },
    /// The same name twice.
    #[error("{0:?} appears twice in the bundle")]
    Duplicate(String),
    /// A member larger than its limit.
    #[error("{name} is {size} bytes, more than the {limit} bytes accepted")]
    FileTooLarge {
        /// The file.
        name: &'static str,
        /// Its size.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// A required file is missing.
    #[error("the {kind} bundle lacks {name}")]
    MissingFile {
        /// Bundle kind.
        kind: &'static str,
        /// Missing file.
        name: &'static str,
    },
    /// No bundle file at all.
    #[error("the archive holds no bundle files (accounts.json and README.txt, or tls.cert, signer.macaroon and endpoint.json)")]
    NoFiles,
    /// The other kind of bundle.
    #[error("this is a {found} bundle, not a {expected} bundle{hint}")]
    WrongKind {
        /// Kind wanted.
        expected: &'static str,
        /// Kind given.
        found: &'static str,
        /// Extra advice.
        hint: &'static str,
    },
    /// A file's content is invalid.
    #[error("{0}")]
    Content(#[from] ContentError),
}

/// One file of a bundle, for hosts that write the folder.
#[derive(Debug, Clone, Copy)]
pub struct BundleFile<'a> {
    /// File name inside `credentials-bundle/`.
    pub name: &'static str,
    /// Contents.
    pub data: &'a [u8],
    /// Permission bits (0o600 for the macaroon, 0o644 otherwise).
    pub mode: u32,
}

fn pack(files: &[BundleFile<'_>], mtime: u64) -> Zeroizing<Vec<u8>> {
    let dir = format!("{FOLDER}/");
    let names: Vec<String> = files
        .iter()
        .map(|f| format!("{FOLDER}/{}", f.name))
        .collect();
    let mut entries = vec![tar::NewEntry {
        name: &dir,
        kind: tar::Kind::Dir,
        mode: 0o755,
        data: &[],
    }];
    for (f, name) in files.iter().zip(&names) {
        entries.push(tar::NewEntry {
            name,
            kind: tar::Kind::File,
            mode: f.mode,
            data: f.data,
        });
    }
    let tar = Zeroizing::new(tar::write(&entries, mtime));
    Zeroizing::new(gzip::compress(&tar))
}

/// The `.b64` text of a `.tar.gz`: standard base64 on one line, with a
/// line end.
pub fn to_base64(tar_gz: &[u8]) -> Zeroizing<String> {
    let mut s = base64::engine::general_purpose::STANDARD.encode(tar_gz);
    s.push('\n');
    Zeroizing::new(s)
}

/// Watch-only bundle contents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WatchOnlyBundle {
    accounts_json: String,
    readme: String,
}

fn check_accounts(text: &str) -> Result<(), ContentError> {
    let v: serde_json::Value =
        serde_json::from_str(text).map_err(|_| ContentError::Accounts("not JSON"))?;
    let accounts = v
        .get("accounts")
        .and_then(|a| a.as_array())
        .ok_or(ContentError::Accounts("no \"accounts\" list"))?;
    if accounts.is_empty() {
        return Err(ContentError::Accounts("the accounts list is empty"));
    }
    for a in accounts {
        if !a.get("extended_public_key").is_some_and(|k| k.is_string()) {
            return Err(ContentError::Accounts(
                "an account has no extended_public_key",
            ));
        }
    }
    Ok(())
}

impl WatchOnlyBundle {
    /// Checks the accounts JSON (an object with a non-empty `accounts` list
    /// of accounts with an `extended_public_key`) and the README's size.
    pub fn new(accounts_json: String, readme: String) -> Result<Self, ContentError> {
        if accounts_json.len() > MAX_ACCOUNTS_LEN {
            return Err(ContentError::Accounts("too large"));
        }
        check_accounts(&accounts_json)?;
        if readme.len() > MAX_README_LEN {
            return Err(ContentError::Readme("too large"));
        }
        Ok(Self {
            accounts_json,
            readme,
        })
    }

    /// `accounts.json`.
    pub fn accounts_json(&self) -> &str {
        &self.accounts_json
    }

    /// `README.txt`.
    pub fn readme(&self) -> &str {
        &self.readme
    }

    /// The files of the folder, in bundle order.
    pub fn files(&self) -> [BundleFile<'_>; 2] {
        [
            BundleFile {
                name: ACCOUNTS_JSON,
                data: self.accounts_json.as_bytes(),
                mode: 0o644,
            },
            BundleFile {
                name: README_TXT,
                data: self.readme.as_bytes(),
                mode: 0o644,
            },
        ]
    }

    /// The `.tar.gz`, entries dated `mtime` (Unix seconds).
    pub fn to_tar_gz(&self, mtime: u64) -> Zeroizing<Vec<u8>> {
        pack(&self.files(), mtime)
    }
}

/// Signer bundle contents. `Debug` does not show the macaroon.
#[derive(Debug, Clone)]
pub struct SignerBundle {
    tls_cert_pem: String,
    macaroon: SecretBytes,
    macaroon_info: MacaroonInfo,
    endpoint: Endpoint,
}

impl SignerBundle {
    /// Checks the certificate (one PEM X.509 certificate) and the macaroon
    /// (lnd's binary v2 format: give the bytes of lnd's `.macaroon` file;
    /// [`macaroon::from_file_bytes`] turns hex text into them first).
    pub fn new(
        tls_cert_pem: &[u8],
        macaroon: &[u8],
        endpoint: Endpoint,
    ) -> Result<Self, ContentError> {
        check_pem(tls_cert_pem)?;
        let tls_cert_pem = String::from_utf8(tls_cert_pem.to_vec())
            .map_err(|_| ContentError::Certificate(CertError::NotText))?;
        let macaroon_info = macaroon::decode(macaroon)?;
        Ok(Self {
            tls_cert_pem,
            macaroon: SecretBytes::from_slice(macaroon),
            macaroon_info,
            endpoint,
        })
    }

    /// lnd's `tls.cert` (PEM).
    pub fn tls_cert_pem(&self) -> &str {
        &self.tls_cert_pem
    }

    /// The binary macaroon.
    pub fn macaroon(&self) -> &SecretBytes {
        &self.macaroon
    }

    /// What the macaroon grants (permissions, caveats, least privilege).
    pub fn macaroon_info(&self) -> &MacaroonInfo {
        &self.macaroon_info
    }

    /// Where to reach lnd.
    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    /// The files of the folder, in bundle order; `endpoint_json` is the
    /// caller's copy of [`Endpoint::to_json`] (it must outlive the result).
    pub fn files<'a>(&'a self, endpoint_json: &'a str) -> [BundleFile<'a>; 3] {
        [
            BundleFile {
                name: TLS_CERT,
                data: self.tls_cert_pem.as_bytes(),
                mode: 0o644,
            },
            BundleFile {
                name: SIGNER_MACAROON,
                data: self.macaroon.expose(),
                mode: 0o600,
            },
            BundleFile {
                name: ENDPOINT_JSON,
                data: endpoint_json.as_bytes(),
                mode: 0o644,
            },
        ]
    }

    /// The `.tar.gz`, entries dated `mtime` (Unix seconds).
    pub fn to_tar_gz(&self, mtime: u64) -> Zeroizing<Vec<u8>> {
        let endpoint = self.endpoint.to_json();
        pack(&self.files(&endpoint), mtime)
    }
}

/// A bundle of either kind.
#[derive(Debug, Clone)]
pub enum Bundle {
    /// accounts.json + README.txt.
    WatchOnly(WatchOnlyBundle),
    /// tls.cert + signer.macaroon + endpoint.json.
    Signer(SignerBundle),
}

impl Bundle {
    /// `watch-only` or `signer`.
    pub fn kind(&self) -> &'static str {
        match self {
            Bundle::WatchOnly(_) => "watch-only",
            Bundle::Signer(_) => "signer",
        }
    }
}

/// The `.tar.gz` bytes of an input: a gzip file as is, or base64 text
/// (whitespace ignored, padding optional) decoded. Copies are wiped on drop
/// (a signer bundle holds the macaroon).
fn tar_gz_of(input: &[u8]) -> Result<Zeroizing<Vec<u8>>, ReadError> {
    if input.is_empty() {
        return Err(ReadError::Empty);
    }
    if input.len() > MAX_INPUT_LEN {
        return Err(ReadError::TooLarge);
    }
    if gzip::is_gzip(input) {
        return Ok(Zeroizing::new(input.to_vec()));
    }
    if input.get(257..262) == Some(b"ustar") {
        return Err(ReadError::UncompressedTar);
    }
    let text: Zeroizing<Vec<u8>> = Zeroizing::new(
        input
            .iter()
            .copied()
            .filter(|b| !b.is_ascii_whitespace())
            .collect(),
    );
    if text.is_empty() {
        return Err(ReadError::Empty);
    }
    let engine = base64::engine::GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        base64::engine::GeneralPurposeConfig::new()
            .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent),
    );
    let bytes = Zeroizing::new(engine.decode(&*text).map_err(|_| ReadError::NotBase64)?);
    if !gzip::is_gzip(&bytes) {
        return Err(ReadError::NotGzip);
    }
    Ok(bytes)
}

/// Reads a bundle of either kind from a `.tar.gz` file's bytes or its
/// base64 text.
pub fn read_bundle(input: &[u8]) -> Result<Bundle, ReadError> {
    let gz = tar_gz_of(input)?;
    let tar = Zeroizing::new(gzip::decompress(&gz, MAX_TAR_LEN)?);
    let entries = tar::read(&tar)?;

    let mut seen: Vec<&str> = Vec::new();
    let mut files: Vec<(&'static str, &[u8])> = Vec::new();
    for e in &entries {
        if seen.contains(&e.name.as_str()) {
            return Err(ReadError::Duplicate(e.name.clone()));
        }
        seen.push(&e.name);
        if e.kind == tar::Kind::Dir && (e.name.is_empty() || e.name == FOLDER) {
            continue;
        }
        let Some(file) = e
            .name
            .strip_prefix(FOLDER)
            .and_then(|r| r.strip_prefix('/'))
        else {
            return Err(ReadError::OutsideFolder(e.name.clone()));
        };
        let known = WATCH_ONLY_FILES
            .iter()
            .chain(SIGNER_FILES.iter())
            .find(|n| **n == file)
            .copied();
        let name = match (known, e.kind) {
            (Some(n), tar::Kind::File) => n,
            _ => {
                let hint = if file.rsplit('/').next().is_some_and(|f| f.starts_with("._")) {
                    " (macOS metadata: make the archive with COPYFILE_DISABLE=1 tar -czf …)"
                } else {
                    " (a bundle holds only accounts.json and README.txt, or tls.cert, signer.macaroon and endpoint.json)"
                };
                return Err(ReadError::UnexpectedFile {
                    name: e.name.clone(),
                    hint,
                });
            }
        };
        let limit = member_limit(name);
        if e.data.len() > limit {
            return Err(ReadError::FileTooLarge {
                name,
                size: e.data.len(),
                limit,
            });
        }
        files.push((name, e.data));
    }

    let has = |n: &str| files.iter().any(|(f, _)| *f == n);
    let get = |n: &str| {
        files
            .iter()
            .find(|(f, _)| *f == n)
            .map(|(_, d)| *d)
            .unwrap_or_default()
    };
    let (kind, wanted, other): (&'static str, &[&'static str], &[&'static str]) =
        if SIGNER_FILES.iter().any(|n| has(n)) {
            ("signer", &SIGNER_FILES, &WATCH_ONLY_FILES)
        } else if WATCH_ONLY_FILES.iter().any(|n| has(n)) {
            ("watch-only", &WATCH_ONLY_FILES, &SIGNER_FILES)
        } else {
            return Err(ReadError::NoFiles);
        };
    if let Some(extra) = other.iter().find(|n| has(n)) {
        return Err(ReadError::UnexpectedFile {
            name: format!("{FOLDER}/{extra}"),
            hint: if kind == "signer" {
                " (a signer bundle holds tls.cert, signer.macaroon and endpoint.json only)"
            } else {
                " (a watch-only bundle holds accounts.json and README.txt only)"
            },
        });
    }
    if let Some(missing) = wanted.iter().find(|n| !has(n)) {
        return Err(ReadError::MissingFile {
            kind,
            name: missing,
        });
    }

    if kind == "signer" {
        let endpoint = Endpoint::from_json(get(ENDPOINT_JSON)).map_err(ContentError::from)?;
        Ok(Bundle::Signer(SignerBundle::new(
            get(TLS_CERT),
            get(SIGNER_MACAROON),
            endpoint,
        )?))
    } else {
        let accounts = core::str::from_utf8(get(ACCOUNTS_JSON))
            .map_err(|_| ContentError::Accounts("not UTF-8 text"))?;
        let readme = core::str::from_utf8(get(README_TXT))
            .map_err(|_| ContentError::Readme("not UTF-8 text"))?;
        Ok(Bundle::WatchOnly(WatchOnlyBundle::new(
            accounts.to_owned(),
            readme.to_owned(),
        )?))
    }
}

/// Reads a signer bundle (refusing a watch-only one).
pub fn read_signer_bundle(input: &[u8]) -> Result<SignerBundle, ReadError> {
    match read_bundle(input)? {
        Bundle::Signer(b) => Ok(b),
        Bundle::WatchOnly(_) => Err(ReadError::WrongKind {
            expected: "signer",
            found: "watch-only",
            hint: " (accounts.json goes to lnd; the signer needs the bundle `lnd-web-signer bundle signer` makes on the lnd machine)",
        }),
    }
}

/// Reads a watch-only bundle (refusing a signer one).
pub fn read_watch_only_bundle(input: &[u8]) -> Result<WatchOnlyBundle, ReadError> {
    match read_bundle(input)? {
        Bundle::WatchOnly(b) => Ok(b),
        Bundle::Signer(_) => Err(ReadError::WrongKind {
            expected: "watch-only",
            found: "signer",
            hint: " (it goes to the signer: lnd-web-signer connect --bundle, or the tab's import)",
        }),
    }
}
