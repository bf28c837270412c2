//! Where a command gets the signer's seed from: a seed file (plus optional
//! aezeed passphrase file) or a sealed vault (plus its passphrase file).
//!
//! Reused by every subcommand that needs the root key (`accounts`,
//! `connect`, ...): `#[command(flatten)] seed: SeedArgs`, then
//! `seed.load()?`.

use std::path::{Path, PathBuf};

use clap::Args;
use lnd_web_signer::keys::{Network, RootKey, RootKeyError, SeedError, SeedInput};
use lnd_web_signer::secret::SecretBytes;
use lnd_web_signer::vault::{self, OpenedVault, VaultError};

use super::{read_passphrase_file, read_secret_file, CliError};

/// Seed source arguments.
#[derive(Args, Debug, Clone)]
pub struct SeedArgs {
    /// Network: mainnet, testnet, testnet4, signet, regtest or simnet.
    /// Required with --seed-file. With --vault the network stored in the
    /// vault is used; if --network is given too it must match.
    #[arg(long, value_name = "NETWORK")]
    pub network: Option<Network>,

    /// Seed file: 24 aezeed words (any whitespace between them) or one
    /// extended master private key (xprv/tprv/sprv).
    #[arg(
        long,
        value_name = "FILE",
        required_unless_present = "vault",
        conflicts_with = "vault"
    )]
    pub seed_file: Option<PathBuf>,

    /// File whose first line is the aezeed passphrase (default: none, i.e.
    /// lnd's default passphrase).
    #[arg(long, value_name = "FILE", requires = "seed_file")]
    pub seed_passphrase_file: Option<PathBuf>,

    /// Sealed seed vault written by `vault seal`.
    #[arg(long, value_name = "FILE", requires = "passphrase_file")]
    pub vault: Option<PathBuf>,

    /// File whose first line is the vault passphrase.
    #[arg(long, value_name = "FILE", requires = "vault")]
    pub passphrase_file: Option<PathBuf>,
}

/// The signer's secret, loaded.
#[derive(Debug)]
pub struct LoadedSeed {
    /// The BIP-32 root key.
    pub root: RootKey,
    /// Its network.
    pub network: Network,
    /// Wallet birthday (Unix seconds).
    pub birthday_unix: u64,
    /// The lnd macaroon stored in the vault, if any.
    pub macaroon: Option<SecretBytes>,
    /// The seed as given (aezeed or extended key).
    pub seed: SeedInput,
    /// The signing policy sealed in the vault (JSON text), if any.
    pub policy: Option<String>,
}

/// Error line for a root-key problem of the seed in `file`.
pub fn root_key_error(file: &Path, e: &RootKeyError) -> CliError {
    match e {
        RootKeyError::NetworkMismatch {
            prefix,
            key_networks,
            network,
        } => CliError::new(format!(
            "seed file {}: {prefix} key given but --network {network} (a {prefix} key is for {key_networks})",
            file.display()
        )),
        other => CliError::new(format!("seed file {}: {other}", file.display())),
    }
}

/// Reads and parses a seed file (and its optional passphrase file).
pub fn read_seed_file(
    seed_file: &Path,
    seed_passphrase_file: Option<&Path>,
) -> Result<SeedInput, CliError> {
    let passphrase = seed_passphrase_file
        .map(|p| read_passphrase_file(p, "seed passphrase file"))
        .transpose()?;
    let contents = read_secret_file(seed_file, "seed file")?;
    SeedInput::parse_seed_file(contents.expose(), passphrase.as_ref().map(|p| p.expose()))
        .map_err(|e| CliError::new(format!("seed file {}: {e}", seed_file.display())))
}

/// Turns a seed into its root key for `network`, with file context in errors.
pub fn seed_to_root(
    seed: &SeedInput,
    network: Network,
    seed_file: &Path,
) -> Result<(RootKey, u64), CliError> {
    seed.to_root(network).map_err(|e| match e {
        SeedError::RootKey(e) => root_key_error(seed_file, &e),
        other => CliError::new(format!("seed file {}: {other}", seed_file.display())),
    })
}

/// Opens a vault file with the passphrase from `passphrase_file`.
pub fn open_vault(vault_file: &Path, passphrase_file: &Path) -> Result<OpenedVault, CliError> {
    let passphrase = read_passphrase_file(passphrase_file, "passphrase file")?;
    let blob = std::fs::read(vault_file)
        .map_err(|e| CliError::new(format!("cannot read vault {}: {e}", vault_file.display())))?;
    vault::open(&blob, passphrase.expose().as_bytes()).map_err(|e| match e {
        VaultError::WrongPassphrase => CliError::new(format!(
            "wrong passphrase for vault {}",
            vault_file.display()
        )),
        other => CliError::new(format!("vault {}: {other}", vault_file.display())),
    })
}

impl SeedArgs {
    /// Loads the seed from the seed file or the vault and checks the network.
    pub fn load(&self) -> Result<LoadedSeed, CliError> {
        match (&self.seed_file, &self.vault) {
            (Some(seed_file), None) => {
                let network = self.network.ok_or_else(|| {
                    CliError::new("--network is required with --seed-file (mainnet, testnet, testnet4, signet, regtest or simnet)")
                })?;
                let seed = read_seed_file(seed_file, self.seed_passphrase_file.as_deref())?;
                let (root, birthday_unix) = seed_to_root(&seed, network, seed_file)?;
                Ok(LoadedSeed {
                    root,
                    network,
                    birthday_unix,
                    macaroon: None,
                    seed,
                    policy: None,
                })
            }
            (None, Some(vault_file)) => {
                let passphrase_file = self
                    .passphrase_file
                    .as_deref()
                    .ok_or_else(|| CliError::new("--passphrase-file is required with --vault"))?;
                let v = open_vault(vault_file, passphrase_file)?;
                if let Some(n) = self.network {
                    if n != v.network {
                        return Err(CliError::new(format!(
                            "vault {} holds a {} seed but --network {n} was given",
                            vault_file.display(),
                            v.network
                        )));
                    }
                }
                Ok(LoadedSeed {
                    root: v.root,
                    network: v.network,
                    birthday_unix: v.birthday_unix,
                    macaroon: v.macaroon,
                    seed: v.seed,
                    policy: v.policy,
                })
            }
            _ => Err(CliError::new(
                "give either --seed-file (with --network) or --vault (with --passphrase-file)",
            )),
        }
    }
}
