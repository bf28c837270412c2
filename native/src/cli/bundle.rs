//! `bundle watch-only` and `bundle signer`: the credentials bundles
//! (format: `lnd_web_signer::bundle`, docs/bundles.md).
//!
//! `--out DIR` writes `DIR/credentials-bundle/` (the files),
//! `DIR/credentials-bundle.tar.gz` and `DIR/credentials-bundle.tar.gz.b64`,
//! refusing to replace any of them; `--b64` prints the base64 text instead.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use clap::{ArgGroup, Args, Subcommand};
use lnd_web_signer::bundle::{
    self, to_base64, watch_only_readme, Birthday, BundleFile, ContentError, Endpoint, SignerBundle,
    WatchOnlyBundle, B64_NAME, FOLDER, MAX_CERT_LEN, TAR_GZ_NAME,
};
use lnd_web_signer::keys::accounts_json;
use lnd_web_signer::macaroon::MacaroonInfo;

use super::macaroon::{load_macaroon, warning_line};
use super::seed_args::SeedArgs;
use super::{note, read_bounded, write_out, CliError};

/// `bundle …` subcommands.
#[derive(Debug, Subcommand)]
pub enum BundleCommand {
    /// For the lnd machine: accounts.json and a README.txt with the lnd.conf
    /// options, the lncli commands and the wallet birthday.
    WatchOnly(WatchOnlyArgs),
    /// For the signer (run it on the lnd machine; needs no seed): lnd's
    /// tls.cert, the signer macaroon and where to reach lnd.
    Signer(SignerArgs),
}

impl BundleCommand {
    /// Runs the subcommand.
    pub fn run(self, out: &mut dyn Write) -> Result<(), CliError> {
        match self {
            BundleCommand::WatchOnly(a) => a.run(out),
            BundleCommand::Signer(a) => a.run(out),
        }
    }
}

/// Where a bundle goes.
#[derive(Args, Debug, Clone)]
#[command(group(ArgGroup::new("output").required(true).args(["out", "b64"])))]
pub struct OutputArgs {
    /// Write DIR/credentials-bundle/, DIR/credentials-bundle.tar.gz and
    /// DIR/credentials-bundle.tar.gz.b64 (DIR is created if missing;
    /// existing bundle files are never replaced).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Print the bundle's base64 text (credentials-bundle.tar.gz.b64) on stdout.
    #[arg(long)]
    pub b64: bool,
}

/// `bundle watch-only`.
#[derive(Args, Debug, Clone)]
pub struct WatchOnlyArgs {
    /// Where the seed comes from.
    #[command(flatten)]
    pub seed: SeedArgs,
    /// Output.
    #[command(flatten)]
    pub output: OutputArgs,
}

/// `bundle signer`.
#[derive(Args, Debug, Clone)]
#[command(group(ArgGroup::new("endpoint").required(true).args(["rpchost", "bridge_url"])))]
pub struct SignerArgs {
    /// lnd's `tls.cert` (PEM).
    #[arg(long, value_name = "CERT")]
    pub tlscertpath: PathBuf,
    /// The signer macaroon (lnd's binary file, or its hex text); ideally
    /// baked with only remotesigner:generate.
    #[arg(long, value_name = "MAC")]
    pub macaroonpath: PathBuf,
    /// HOST:PORT of lnd's remote-signer listener, for the native signer
    /// (`lnd-web-signer connect --bundle`).
    #[arg(long, value_name = "HOST:PORT")]
    pub rpchost: Option<String>,
    /// URL of signer-bridge's grpc-web endpoint (https://…), for the browser
    /// tab, extension and worker.
    #[arg(long, value_name = "URL")]
    pub bridge_url: Option<String>,
    /// Output.
    #[command(flatten)]
    pub output: OutputArgs,
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// The birthday notes of an accounts export, for stderr.
pub fn birthday_notes(birthday: Birthday) {
    for line in birthday.lines() {
        note(&line);
    }
}

fn write_file(path: &Path, data: &[u8], mode: u32) -> std::io::Result<()> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(mode);
    }
    #[cfg(not(unix))]
    let _ = mode;
    let mut f = opts.open(path)?;
    f.write_all(data)?;
    f.sync_all()
}

/// Writes the folder, the `.tar.gz` and the `.b64` into `dir`. Nothing is
/// replaced; on a failure what was written is removed again. `private`
/// makes every file owner-only (the signer bundle holds the macaroon).
fn write_bundle_dir(
    dir: &Path,
    files: &[BundleFile<'_>],
    tar_gz: &[u8],
    private: bool,
) -> Result<(), CliError> {
    let folder = dir.join(FOLDER);
    let tgz = dir.join(TAR_GZ_NAME);
    let b64 = dir.join(B64_NAME);
    std::fs::create_dir_all(dir)
        .map_err(|e| CliError::new(format!("cannot create {}: {e}", dir.display())))?;
    for p in [&folder, &tgz, &b64] {
        if p.symlink_metadata().is_ok() {
            return Err(CliError::new(format!(
                "{} already exists; remove it or choose another --out",
                p.display()
            )));
        }
    }
    let file_mode = |m: u32| if private { 0o600 } else { m };
    let result = (|| -> Result<(), (PathBuf, std::io::Error)> {
        let mut builder = std::fs::DirBuilder::new();
        #[cfg(unix)]
        {
            use std::os::unix::fs::DirBuilderExt;
            builder.mode(if private { 0o700 } else { 0o755 });
        }
        builder.create(&folder).map_err(|e| (folder.clone(), e))?;
        for f in files {
            let p = folder.join(f.name);
            write_file(&p, f.data, file_mode(f.mode)).map_err(|e| (p, e))?;
        }
        write_file(&tgz, tar_gz, file_mode(0o644)).map_err(|e| (tgz.clone(), e))?;
        write_file(&b64, to_base64(tar_gz).as_bytes(), file_mode(0o644))
            .map_err(|e| (b64.clone(), e))?;
        Ok(())
    })();
    if let Err((path, e)) = result {
        let _ = std::fs::remove_dir_all(&folder);
        let _ = std::fs::remove_file(&tgz);
        let _ = std::fs::remove_file(&b64);
        return Err(CliError::new(format!(
            "cannot write {}: {e}",
            path.display()
        )));
    }
    note(&format!(
        "wrote {}/ ({}), {} and {}",
        folder.display(),
        files.iter().map(|f| f.name).collect::<Vec<_>>().join(", "),
        tgz.display(),
        b64.display()
    ));
    Ok(())
}

impl WatchOnlyArgs {
    /// Builds the watch-only bundle and writes or prints it; the birthday
    /// goes to stderr.
    pub fn run(self, out: &mut dyn Write) -> Result<(), CliError> {
        let loaded = self.seed.load()?;
        let birthday = Birthday::of_seed(&loaded.seed, loaded.birthday_unix);
        let readme = watch_only_readme(loaded.network, birthday);
        let b = WatchOnlyBundle::new(accounts_json(&loaded.root), readme)
            .map_err(|e| CliError::new(format!("cannot build the bundle: {e}")))?;
        let tar_gz = b.to_tar_gz(now());
        match &self.output.out {
            Some(dir) => write_bundle_dir(dir, &b.files(), &tar_gz, false)?,
            None => write_out(out, &to_base64(&tar_gz))?,
        }
        birthday_notes(birthday);
        Ok(())
    }
}

fn content_error(args: &SignerArgs, e: ContentError) -> CliError {
    match e {
        ContentError::Certificate(c) => CliError::new(format!(
            "tls certificate file {}: {c}",
            args.tlscertpath.display()
        )),
        ContentError::Macaroon(m) => CliError::new(format!(
            "macaroon file {} is not lnd's binary macaroon: {m}",
            args.macaroonpath.display()
        )),
        other => CliError::new(other.to_string()),
    }
}

impl SignerArgs {
    fn endpoint(&self) -> Result<Endpoint, CliError> {
        let r = match (&self.rpchost, &self.bridge_url) {
            (Some(h), None) => Endpoint::rpchost(h),
            (None, Some(u)) => Endpoint::bridge_url(u),
            _ => return Err(CliError::new("give either --rpchost or --bridge-url")),
        };
        r.map_err(|e| CliError::new(e.to_string()))
    }

    /// Builds the signer bundle and writes or prints it; a macaroon that is
    /// not least-privilege is warned about on stderr.
    pub fn run(self, out: &mut dyn Write) -> Result<(), CliError> {
        let endpoint = self.endpoint()?;
        let cert = read_bounded(&self.tlscertpath, MAX_CERT_LEN, "tls certificate file")?;
        let (macaroon, info): (_, MacaroonInfo) = load_macaroon(&self.macaroonpath)?;
        let b =
            SignerBundle::new(&cert, &macaroon, endpoint).map_err(|e| content_error(&self, e))?;
        if let Some(w) = warning_line(&self.macaroonpath, &info) {
            note(&w);
        }
        let tar_gz = b.to_tar_gz(now());
        match &self.output.out {
            Some(dir) => {
                let endpoint_json = b.endpoint().to_json();
                write_bundle_dir(dir, &b.files(&endpoint_json), &tar_gz, true)?;
            }
            None => write_out(out, &to_base64(&tar_gz))?,
        }
        Ok(())
    }
}

/// Reads a bundle file (`.tar.gz` or `.b64`), bounded, for `connect --bundle`.
pub fn read_signer_bundle_file(path: &Path) -> Result<SignerBundle, CliError> {
    let data = zeroize::Zeroizing::new(read_bounded(path, bundle::MAX_INPUT_LEN, "bundle")?);
    bundle::read_signer_bundle(&data)
        .map_err(|e| CliError::new(format!("bundle {}: {e}", path.display())))
}
