//! `vault seal` and `vault check`.

use std::io::Write;
use std::path::PathBuf;

use clap::{Args, Subcommand};
use lnd_web_signer::keys::{Network, SeedError, SeedInput};
use lnd_web_signer::vault::{self, KdfParams, VaultError};

use super::seed_args::{open_vault, read_seed_file, root_key_error};
use super::{format_utc, read_passphrase_file, write_out, CliError};

/// `vault` subcommands.
#[derive(Subcommand, Debug, Clone)]
pub enum VaultCommand {
    /// Seal a seed file into a passphrase-protected vault
    /// (Argon2id + AES-256-GCM, see docs/vault-format.md).
    Seal(SealArgs),
    /// Open a vault and print its network, birthday and master key
    /// fingerprint (never the seed).
    Check(CheckArgs),
}

impl VaultCommand {
    /// Runs the subcommand.
    pub fn run(self, out: &mut dyn Write) -> Result<(), CliError> {
        match self {
            VaultCommand::Seal(a) => a.run(out),
            VaultCommand::Check(a) => a.run(out),
        }
    }
}

/// `vault seal` arguments.
#[derive(Args, Debug, Clone)]
pub struct SealArgs {
    /// Network of the seed (stored in the vault).
    #[arg(long, value_name = "NETWORK")]
    pub network: Network,
    /// Seed file: 24 aezeed words or one extended master private key.
    #[arg(long, value_name = "FILE")]
    pub seed_file: PathBuf,
    /// File whose first line is the aezeed passphrase.
    #[arg(long, value_name = "FILE")]
    pub seed_passphrase_file: Option<PathBuf>,
    /// File whose first line is the new vault passphrase (must not be empty).
    #[arg(long, value_name = "FILE")]
    pub passphrase_file: PathBuf,
    /// Vault file to create (an existing file is never overwritten).
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
}

fn create_new(path: &std::path::Path) -> std::io::Result<std::fs::File> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    opts.open(path)
}

impl SealArgs {
    /// Checks the seed for the network, seals it and writes the vault file.
    pub fn run(self, out: &mut dyn Write) -> Result<(), CliError> {
        let seed = read_seed_file(&self.seed_file, self.seed_passphrase_file.as_deref())?;
        let passphrase = read_passphrase_file(&self.passphrase_file, "passphrase file")?;
        if passphrase.is_empty() {
            return Err(CliError::new(format!(
                "passphrase file {} is empty; a vault needs a passphrase",
                self.passphrase_file.display()
            )));
        }
        if self.out.exists() {
            return Err(CliError::new(format!(
                "output file {} already exists (refusing to overwrite it)",
                self.out.display()
            )));
        }
        let blob = vault::seal_with_os_rng(
            &seed,
            self.network,
            None,
            passphrase.expose().as_bytes(),
            KdfParams::DEFAULT,
        )
        .map_err(|e| match e {
            VaultError::Seed(SeedError::RootKey(e)) => root_key_error(&self.seed_file, &e),
            VaultError::Seed(e) => {
                CliError::new(format!("seed file {}: {e}", self.seed_file.display()))
            }
            other => CliError::new(format!("cannot seal vault {}: {other}", self.out.display())),
        })?;
        let opened = vault::open(&blob, passphrase.expose().as_bytes())
            .map_err(|e| CliError::new(format!("the new vault does not open: {e}")))?;
        let mut file = create_new(&self.out).map_err(|e| {
            CliError::new(format!("cannot create vault {}: {e}", self.out.display()))
        })?;
        file.write_all(&blob)
            .and_then(|()| file.sync_all())
            .map_err(|e| {
                CliError::new(format!("cannot write vault {}: {e}", self.out.display()))
            })?;
        write_out(
            out,
            &format!(
                "sealed the {} {} seed (master key fingerprint {}) into {}\n",
                opened.network,
                opened.seed.kind(),
                hex::encode(opened.root.master_fingerprint()),
                self.out.display()
            ),
        )
    }
}

/// `vault check` arguments.
#[derive(Args, Debug, Clone)]
pub struct CheckArgs {
    /// Vault file.
    #[arg(long, value_name = "FILE")]
    pub vault: PathBuf,
    /// File whose first line is the vault passphrase.
    #[arg(long, value_name = "FILE")]
    pub passphrase_file: PathBuf,
}

impl CheckArgs {
    /// Opens the vault and prints its public facts.
    pub fn run(self, out: &mut dyn Write) -> Result<(), CliError> {
        let v = open_vault(&self.vault, &self.passphrase_file)?;
        let kdf = std::fs::read(&self.vault)
            .ok()
            .and_then(|b| vault::read_header(&b).ok())
            .map(|h| h.kdf);
        let mut text =
            format!(
            "network: {}\nbirthday: {} ({})\nmaster key fingerprint: {}\nseed: {}\nmacaroon: {}\n",
            v.network,
            v.birthday_unix,
            format_utc(v.birthday_unix),
            hex::encode(v.root.master_fingerprint()),
            match v.seed {
                SeedInput::Aezeed { .. } => "aezeed",
                SeedInput::Xprv(_) => "extended master key",
            },
            if v.macaroon.is_some() { "stored" } else { "none" },
        );
        if let Some(k) = kdf {
            text.push_str(&format!(
                "kdf: argon2id m={} KiB t={} p={}\n",
                k.m_cost_kib, k.t_cost, k.p_cost
            ));
        }
        write_out(out, &text)
    }
}
