//! `macaroon inspect`: what an lnd macaroon grants, as `lncli printmacaroon`
//! decodes it, and whether it is least-privilege for a signer.

use std::io::Write;
use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};
use lnd_web_signer::macaroon::{self, MacaroonInfo, MAX_MACAROON_LEN};
use zeroize::Zeroizing;

use super::{note, read_bounded, write_out, CliError};

/// `macaroon …` subcommands.
#[derive(Debug, Subcommand)]
pub enum MacaroonCommand {
    /// Print a macaroon's permissions and caveats as one JSON object
    /// (`{"permissions": […], "caveats": […], "least_privilege": true|false}`);
    /// warn on stderr when it grants more than remotesigner:generate.
    Inspect(InspectArgs),
}

impl MacaroonCommand {
    /// Runs the subcommand.
    pub fn run(self, out: &mut dyn Write) -> Result<(), CliError> {
        match self {
            MacaroonCommand::Inspect(a) => a.run(out),
        }
    }
}

/// `macaroon inspect --macaroonpath F`.
#[derive(Args, Debug, Clone)]
pub struct InspectArgs {
    /// The macaroon file (lnd's binary `*.macaroon`, or its hex text).
    #[arg(long, value_name = "MAC")]
    pub macaroonpath: PathBuf,
}

/// Reads a macaroon file (binary or hex text, bounded) and decodes it;
/// returns the binary macaroon and what it grants. Errors name the file.
pub fn load_macaroon(path: &Path) -> Result<(Zeroizing<Vec<u8>>, MacaroonInfo), CliError> {
    let raw = Zeroizing::new(read_bounded(
        path,
        2 * MAX_MACAROON_LEN + 64,
        "macaroon file",
    )?);
    let not_lnds = |e: macaroon::MacaroonError| {
        CliError::new(format!(
            "macaroon file {} is not lnd's binary macaroon: {e}",
            path.display()
        ))
    };
    let bytes = macaroon::from_file_bytes(&raw).map_err(not_lnds)?;
    let info = macaroon::decode(&bytes).map_err(not_lnds)?;
    Ok((bytes, info))
}

/// The stderr line for a macaroon that is not least-privilege.
pub fn warning_line(path: &Path, info: &MacaroonInfo) -> Option<String> {
    info.warning()
        .map(|w| format!("warning: macaroon file {}: {w}", path.display()))
}

impl InspectArgs {
    /// Prints the JSON line; the warning (if any) goes to stderr.
    pub fn run(self, out: &mut dyn Write) -> Result<(), CliError> {
        let (_bytes, info) = load_macaroon(&self.macaroonpath)?;
        let mut line = info.inspect_json();
        line.push('\n');
        write_out(out, &line)?;
        if let Some(w) = warning_line(&self.macaroonpath, &info) {
            note(&w);
        }
        Ok(())
    }
}
