//! `lnd-web-signer` command-line tool.
//!
//! Adding a subcommand: one variant in [`Command`] (a clap `Args` or
//! `Subcommand` type with a `run(self, &mut dyn Write) -> Result<(), CliError>`
//! method) and one arm in [`dispatch`].

use std::io::Write;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use lnd_web_signer_native::cli::bundle::BundleCommand;
use lnd_web_signer_native::cli::handle::HandleArgs;
use lnd_web_signer_native::cli::keys::{AccountsArgs, CreateSeedArgs};
use lnd_web_signer_native::cli::macaroon::MacaroonCommand;
use lnd_web_signer_native::cli::policy::AuditCommand;
use lnd_web_signer_native::cli::vault::VaultCommand;
use lnd_web_signer_native::cli::{clap_error_line, CliError};
use lnd_web_signer_native::connect::ConnectArgs;

/// Remote signer for lnd's watch-only node: seed and key tools.
///
/// A seed file holds either 24 aezeed words (any whitespace) or one extended
/// master private key (xprv/tprv/sprv). Passphrases are read from files (the
/// first line, without its line ending). Commands that take --vault use the
/// network stored in the vault; --network, if also given, must match it.
#[derive(Debug, Parser)]
#[command(name = "lnd-web-signer", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Print a new aezeed mnemonic (internal version 1, birthday today).
    /// The only command that prints a secret.
    CreateSeed(CreateSeedArgs),
    /// Print the accounts JSON (`lncli wallet accounts list` format) for
    /// `lncli createwatchonly`; the wallet birthday to type at its prompt
    /// goes to stderr.
    Accounts(AccountsArgs),
    /// Make a credentials bundle: `watch-only` (accounts.json + README.txt,
    /// for lnd) or `signer` (tls.cert + macaroon + endpoint, for the signer).
    #[command(subcommand)]
    Bundle(BundleCommand),
    /// Inspect a macaroon: permissions, caveats, least privilege.
    #[command(subcommand)]
    Macaroon(MacaroonCommand),
    /// Seal a seed into a passphrase-protected vault, or check a vault.
    #[command(subcommand)]
    Vault(VaultCommand),
    /// Answer SignCoordinatorRequests read from stdin (one proto3 JSON object
    /// per line) with one SignCoordinatorResponse JSON line each on stdout.
    Handle(HandleArgs),
    /// Dial the watch-only node's remote-signer listener and answer its
    /// signing requests until SIGINT/SIGTERM (logs to stderr).
    Connect(ConnectArgs),
    /// Check (`verify`) or print (`show`) an audit log written with
    /// --audit-log; needs the seed whose key wrote it.
    #[command(subcommand)]
    Audit(AuditCommand),
}

fn dispatch(command: Command, out: &mut dyn Write) -> Result<(), CliError> {
    match command {
        Command::CreateSeed(a) => a.run(out),
        Command::Accounts(a) => a.run(out),
        Command::Bundle(b) => b.run(out),
        Command::Macaroon(m) => m.run(out),
        Command::Vault(v) => v.run(out),
        Command::Handle(a) => a.run(out),
        Command::Connect(a) => a.run(out),
        Command::Audit(a) => a.run(out),
    }
}

#[allow(clippy::print_stdout, clippy::print_stderr)]
fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if !e.use_stderr() => {
            // --help / --version
            print!("{e}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("error: {}", clap_error_line(&e));
            return ExitCode::from(2);
        }
    };
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    match dispatch(cli.command, &mut out) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
