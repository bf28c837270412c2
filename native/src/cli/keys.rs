//! `create-seed` and `accounts`.

use std::io::Write;
use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use clap::Args;
use lnd_web_signer::bundle::Birthday;
use lnd_web_signer::keys::aezeed::CipherSeed;
use lnd_web_signer::keys::{accounts_json, Network};
use zeroize::Zeroize;

use super::bundle::birthday_notes;
use super::seed_args::SeedArgs;
use super::{read_passphrase_file, write_out, CliError};

/// `create-seed`: prints a new aezeed mnemonic.
#[derive(Args, Debug, Clone)]
pub struct CreateSeedArgs {
    /// Network the seed is meant for (mainnet, testnet, testnet4, signet,
    /// regtest, simnet). An aezeed does not encode its network; use the same
    /// --network with the other commands.
    #[arg(long, value_name = "NETWORK")]
    pub network: Network,

    /// File whose first line is the aezeed passphrase (default: none, i.e.
    /// lnd's default passphrase).
    #[arg(long, value_name = "FILE")]
    pub seed_passphrase_file: Option<PathBuf>,
}

impl CreateSeedArgs {
    /// Generates the seed (internal version 1, birthday today, random entropy
    /// and salt) and writes the 24 words, separated by spaces, on one line.
    pub fn run(self, out: &mut dyn Write) -> Result<(), CliError> {
        let passphrase = self
            .seed_passphrase_file
            .as_deref()
            .map(|p| read_passphrase_file(p, "seed passphrase file"))
            .transpose()?;
        let pass = passphrase
            .as_ref()
            .map_or(&[][..], |p| p.expose().as_bytes());
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_err(|_| CliError::new("the system clock is before 1970"))?
            .as_secs();
        let mut random = [0u8; 21];
        getrandom::getrandom(&mut random)
            .map_err(|e| CliError::new(format!("no random numbers available: {e}")))?;
        let mut entropy = [0u8; 16];
        entropy.copy_from_slice(&random[..16]);
        let mut salt = [0u8; 5];
        salt.copy_from_slice(&random[16..]);
        random.zeroize();
        let seed = CipherSeed::new(1, CipherSeed::birthday_days_from_unix(now), entropy, salt);
        entropy.zeroize();
        let mnemonic = seed
            .to_mnemonic(pass)
            .map_err(|e| CliError::new(format!("cannot encode the new seed: {e}")))?;
        let mut phrase = mnemonic.phrase();
        // Decode again before showing it: the words must give the same seed.
        let check = CipherSeed::from_mnemonic(&phrase, pass)
            .map_err(|e| CliError::new(format!("the new seed does not decode: {e}")))?;
        if check.entropy() != seed.entropy() || check.birthday_days() != seed.birthday_days() {
            phrase.zeroize();
            return Err(CliError::new("the new seed does not decode to itself"));
        }
        phrase.push('\n');
        let res = write_out(out, &phrase);
        phrase.zeroize();
        res
    }
}

/// `accounts`: prints the watch-only accounts JSON.
#[derive(Args, Debug, Clone)]
pub struct AccountsArgs {
    /// Where the seed comes from.
    #[command(flatten)]
    pub seed: SeedArgs,
}

impl AccountsArgs {
    /// Writes the `lncli wallet accounts list` JSON for `lncli createwatchonly`
    /// on `out` and the wallet birthday to type at its prompt on stderr.
    pub fn run(self, out: &mut dyn Write) -> Result<(), CliError> {
        let loaded = self.seed.load()?;
        write_out(out, &accounts_json(&loaded.root))?;
        birthday_notes(Birthday::of_seed(&loaded.seed, loaded.birthday_unix));
        Ok(())
    }
}
