//! `--policy FILE` and `--audit-log FILE` of `handle` and `connect`, and the
//! `audit verify` / `audit show` commands (docs/security.md).
//!
//! The policy file is TOML; it is turned into the JSON value the core reads
//! ([`PolicyConfig::from_value`]), so a mistake is one line naming the key.
//! The audit log is a file of JSON lines ([`lnd_web_signer::audit`]): it is
//! verified when the signer starts (a broken chain stops it), continued,
//! and each request's line is written before its answer leaves; its signed
//! spends of the last 24 h count again in `max_external_per_day`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use clap::{Args, Subcommand};
use lnd_web_signer::audit::{self, AuditChain};
use lnd_web_signer::keys::Network;
use lnd_web_signer::policy::{Clock, PolicyConfig};
use lnd_web_signer::proto::watchonlyrpc::SignCoordinatorResponse;
use lnd_web_signer::request::{signer_error, Work};
use lnd_web_signer::signer::Signer;

use super::seed_args::{open_vault, read_seed_file, SeedArgs};
use super::{note, read_bounded, write_out, CliError};

/// Largest policy file read.
const MAX_POLICY_FILE: usize = 1 << 20;
/// Largest audit log read at start or by `audit verify`.
const MAX_AUDIT_LOG: usize = 1 << 30;

/// The wall clock.
#[derive(Debug, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_unix(&self) -> u64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0)
    }
}

/// The policy flags.
#[derive(Args, Debug, Clone, Default)]
pub struct PolicyArgs {
    /// Signing policy (TOML; docs/security.md). Without it the default
    /// policy applies: sweeps of channel outputs only to our wallet,
    /// pre-generated MuSig2 nonces only for the multisig family.
    #[arg(long, value_name = "FILE")]
    pub policy: Option<PathBuf>,
    /// Append every decision to this hash-chained audit log (created if
    /// missing; checked at start). Needed by `max_external_per_day`: the
    /// 24 h window is rebuilt from it after a restart.
    #[arg(long, value_name = "FILE")]
    pub audit_log: Option<PathBuf>,
}

/// Reads a TOML policy file for `network`.
pub fn read_policy_file(path: &Path, network: Network) -> Result<PolicyConfig, CliError> {
    let bytes = read_bounded(path, MAX_POLICY_FILE, "policy file")?;
    let text = String::from_utf8(bytes)
        .map_err(|_| CliError::new(format!("policy file {} is not UTF-8 text", path.display())))?;
    parse_policy_toml(&text, network)
        .map_err(|e| CliError::new(format!("policy file {}: {e}", path.display())))
}

/// Parses a policy in TOML: one line per mistake.
pub fn parse_policy_toml(text: &str, network: Network) -> Result<PolicyConfig, String> {
    let table: toml::Table = toml::from_str(text).map_err(|e| {
        let line = e
            .span()
            .map(|s| text[..s.start.min(text.len())].matches('\n').count() + 1);
        let msg = e.message().replace('\n', " ");
        match line {
            Some(l) => format!("not valid TOML (line {l}): {msg}"),
            None => format!("not valid TOML: {msg}"),
        }
    })?;
    let value = toml_to_json(toml::Value::Table(table));
    PolicyConfig::from_value(&value, network).map_err(|e| e.to_string())
}

fn toml_to_json(v: toml::Value) -> serde_json::Value {
    use serde_json::Value as J;
    match v {
        toml::Value::String(s) => J::String(s),
        toml::Value::Integer(i) => J::from(i),
        toml::Value::Float(f) => serde_json::Number::from_f64(f).map_or(J::Null, J::Number),
        toml::Value::Boolean(b) => J::Bool(b),
        toml::Value::Datetime(d) => J::String(d.to_string()),
        toml::Value::Array(a) => J::Array(a.into_iter().map(toml_to_json).collect()),
        toml::Value::Table(t) => {
            J::Object(t.into_iter().map(|(k, v)| (k, toml_to_json(v))).collect())
        }
    }
}

/// Where a signer's audit lines go.
#[derive(Debug)]
pub struct AuditWriter {
    path: PathBuf,
    file: Mutex<std::fs::File>,
}

impl AuditWriter {
    /// The log file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes the lines the signer produced since the last call. Holding
    /// the file lock while taking them keeps the file in chain order, and a
    /// request whose line another thread is writing waits for it.
    pub fn write_pending(&self, signer: &Signer) -> Result<(), String> {
        let mut file = self.file.lock().unwrap_or_else(|p| p.into_inner());
        let lines = signer.take_audit_lines();
        if lines.is_empty() {
            return Ok(());
        }
        let mut buf = String::with_capacity(lines.iter().map(|l| l.len() + 1).sum());
        for l in &lines {
            buf.push_str(l);
            buf.push('\n');
        }
        file.write_all(buf.as_bytes())
            .and_then(|()| file.flush())
            .map_err(|e| format!("cannot write the audit log {}: {e}", self.path.display()))
    }
}

impl PolicyArgs {
    /// Applies `--policy` (or else the policy `sealed` in the vault, as the
    /// tab sealed it, or else the default) and `--audit-log` to `signer`.
    pub fn apply(
        &self,
        signer: &Signer,
        sealed: Option<&str>,
    ) -> Result<Option<AuditWriter>, CliError> {
        let config = match (&self.policy, sealed) {
            (Some(path), _) => read_policy_file(path, signer.network())?,
            (None, Some(text)) => serde_json::from_str(text)
                .map_err(|e| e.to_string())
                .and_then(|v| {
                    PolicyConfig::from_value(&v, signer.network()).map_err(|e| e.to_string())
                })
                .map_err(|e| {
                    CliError::new(format!(
                        "the signing policy sealed in the vault is invalid: {e}"
                    ))
                })?,
            (None, None) => PolicyConfig::default(),
        };
        if config.max_external_per_day.is_some() && self.audit_log.is_none() {
            return Err(CliError::new(
                "policy key onchain.max_external_per_day needs --audit-log FILE: the 24 h window is kept in the audit log, so that it survives a restart",
            ));
        }
        signer.set_policy(config, Box::new(SystemClock));
        signer.prepare_policy();
        let Some(path) = &self.audit_log else {
            return Ok(None);
        };
        let text = match std::fs::metadata(path) {
            Ok(_) => {
                let bytes = read_bounded(path, MAX_AUDIT_LOG, "audit log")?;
                String::from_utf8(bytes).map_err(|_| {
                    CliError::new(format!("audit log {} is not UTF-8 text", path.display()))
                })?
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => {
                return Err(CliError::new(format!(
                    "cannot read audit log {}: {e}",
                    path.display()
                )))
            }
        };
        let (chain, entries) = AuditChain::resume(signer.audit_key(), &text).map_err(|e| {
            CliError::new(format!(
                "audit log {}: {e}; the signer does not continue a broken log (move it away to start a new one)",
                path.display()
            ))
        })?;
        signer.set_audit(chain, &entries);
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|e| CliError::new(format!("cannot open audit log {}: {e}", path.display())))?;
        Ok(Some(AuditWriter {
            path: path.clone(),
            file: Mutex::new(file),
        }))
    }
}

/// `signer.handle(work)` with its audit line written first; a line that
/// cannot be written turns the answer into a `signer_error` (nothing is
/// signed without its record).
pub fn handle_audited(
    signer: &Signer,
    audit: Option<&AuditWriter>,
    work: &Work,
) -> SignCoordinatorResponse {
    let resp = signer.handle(work);
    match audit.map(|a| a.write_pending(signer)) {
        Some(Err(e)) => signer_error(work.id, format!("audit log: {e}")),
        _ => resp,
    }
}

/// `audit`: check or print an audit log.
#[derive(Subcommand, Debug, Clone)]
pub enum AuditCommand {
    /// Check a log's chain: prints `N entries, chain intact`, or names the
    /// first bad entry (exit 1).
    Verify(AuditFileArgs),
    /// Print a log's entries as JSON lines (after checking the chain).
    Show(AuditFileArgs),
}

/// The log and the seed whose key wrote it.
#[derive(Args, Debug, Clone)]
pub struct AuditFileArgs {
    /// The audit log.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// The seed (the log's key is derived from it; --network is not needed).
    #[command(flatten)]
    pub seed: SeedArgs,
}

/// The audit key of the seed in `seed`: the master key does not depend on
/// the network, so a seed file needs no --network here.
fn audit_key(seed: &SeedArgs) -> Result<zeroize::Zeroizing<[u8; 32]>, CliError> {
    match (&seed.seed_file, &seed.vault, &seed.passphrase_file) {
        (Some(file), None, _) if seed.network.is_none() => {
            let input = read_seed_file(file, seed.seed_passphrase_file.as_deref())?;
            // The first network the seed is valid for (an xprv names its own).
            let mut last = None;
            for n in Network::ALL {
                match input.to_root(n) {
                    Ok((root, _)) => return Ok(root.audit_key()),
                    Err(e) => last = Some(e),
                }
            }
            Err(CliError::new(format!(
                "seed file {}: {}",
                file.display(),
                last.map(|e| e.to_string()).unwrap_or_default()
            )))
        }
        (None, Some(vault), Some(pass)) => Ok(open_vault(vault, pass)?.root.audit_key()),
        _ => Ok(seed.load()?.root.audit_key()),
    }
}

impl AuditCommand {
    /// Runs the command.
    pub fn run(self, out: &mut dyn Write) -> Result<(), CliError> {
        let (args, show) = match self {
            AuditCommand::Verify(a) => (a, false),
            AuditCommand::Show(a) => (a, true),
        };
        let key = audit_key(&args.seed)?;
        let bytes = read_bounded(&args.file, MAX_AUDIT_LOG, "audit log")?;
        let text = String::from_utf8(bytes).map_err(|_| {
            CliError::new(format!(
                "audit log {} is not UTF-8 text",
                args.file.display()
            ))
        })?;
        let (entries, summary) = audit::read(&key, &text)
            .map_err(|e| CliError::new(format!("audit log {}: {e}", args.file.display())))?;
        if show {
            let mut text = String::new();
            for e in &entries {
                text.push_str(&serde_json::to_string(e).unwrap_or_default());
                text.push('\n');
            }
            write_out(out, &text)
        } else {
            note(&format!("head {}", summary.head));
            write_out(out, &format!("{} entries, chain intact\n", summary.entries))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn toml_policy_errors_are_one_line_naming_the_key() {
        let ok = parse_policy_toml(
            "[onchain]\nmax_external_per_tx = 100000\nmax_feerate = 500\nallowlist = [\"bcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7kygt080\"]\n[musig2]\npregenerated_nonce = \"refuse\"\n",
            Network::Regtest,
        )
        .expect("valid");
        assert_eq!(ok.max_external_per_tx, Some(100_000));
        assert_eq!(ok.allowlist.len(), 1);
        for (text, want) in [
            ("[onchain]\nmax_fee = -1\n", "policy key onchain.max_fee: expected a whole number, 0 or more, found -1"),
            ("[onchain]\nmax_fees = 1\n", "policy key onchain.max_fees: unknown key"),
            ("[onchain]\nmax_fee = \"1\"\n", "policy key onchain.max_fee: expected a whole number, 0 or more, found \"1\""),
            ("[sweeps]\nrequire_own_wallet = 1\n", "policy key sweeps.require_own_wallet: expected true or false, found 1"),
            ("[onchain]\nallowlist = [\"bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4\"]\n", "policy key onchain.allowlist[0]: \"bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4\" is not a regtest address"),
            ("[onchain\n", "not valid TOML (line 1)"),
        ] {
            let e = parse_policy_toml(text, Network::Regtest).expect_err(text);
            assert!(e.starts_with(want), "{text}: {e}");
            assert!(!e.contains('\n'), "{e}");
        }
    }
}
