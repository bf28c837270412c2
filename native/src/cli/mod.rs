//! The `lnd-web-signer` command line: key commands (`create-seed`,
//! `accounts`, `vault seal`, `vault check`), credentials bundles (`bundle
//! watch-only`, `bundle signer`), `macaroon inspect`, and the shared
//! seed-source arguments other subcommands reuse ([`seed_args::SeedArgs`]).
//!
//! Every command is a clap `Args`/`Subcommand` type with a
//! `run(self, out) -> Result<(), CliError>` method; `main` only dispatches and
//! turns a [`CliError`] into one line on stderr and exit code 1.

pub mod bundle;
pub mod handle;
pub mod keys;
pub mod macaroon;
pub mod policy;
pub mod seed_args;
pub mod vault;

use std::fmt;
use std::io::Write as _;
use std::path::Path;

use lnd_web_signer::secret::SecretString;

/// A command failure: one line naming the problem and the input it concerns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CliError(pub String);

impl CliError {
    /// An error with the given message.
    pub fn new(msg: impl Into<String>) -> Self {
        CliError(msg.into())
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for CliError {}

/// Writes command output. A reader that went away (closed pipe, e.g.
/// `| head`) is not an error; other I/O errors are.
pub fn write_out(out: &mut dyn std::io::Write, text: &str) -> Result<(), CliError> {
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(CliError::new(format!("cannot write output: {e}"))),
    }
}

/// Writes one line to stderr (a warning or a note next to the output).
pub fn note(line: &str) {
    let _ = writeln!(std::io::stderr().lock(), "{line}");
}

/// Reads a file of at most `max` bytes; a larger one is refused before it
/// is read whole. `what` names it in errors ("macaroon file", "bundle").
pub fn read_bounded(path: &Path, max: usize, what: &str) -> Result<Vec<u8>, CliError> {
    let cannot =
        |e: std::io::Error| CliError::new(format!("cannot read {what} {}: {e}", path.display()));
    let file = std::fs::File::open(path).map_err(cannot)?;
    let mut data = Vec::new();
    std::io::Read::read_to_end(&mut std::io::Read::take(file, max as u64 + 1), &mut data)
        .map_err(cannot)?;
    if data.len() > max {
        return Err(CliError::new(format!(
            "{what} {} is larger than {max} bytes",
            path.display()
        )));
    }
    Ok(data)
}

/// Reads a text file holding a secret, e.g. a seed file.
pub fn read_secret_file(path: &Path, what: &str) -> Result<SecretString, CliError> {
    let bytes = std::fs::read(path)
        .map_err(|e| CliError::new(format!("cannot read {what} {}: {e}", path.display())))?;
    let text = String::from_utf8(bytes).map_err(|e| {
        let mut bytes = e.into_bytes();
        zeroize::Zeroize::zeroize(&mut bytes);
        CliError::new(format!("{what} {} is not UTF-8 text", path.display()))
    })?;
    Ok(SecretString::new(text))
}

/// Reads a passphrase file: its first line, without the line ending.
pub fn read_passphrase_file(path: &Path, what: &str) -> Result<SecretString, CliError> {
    let text = read_secret_file(path, what)?;
    let first = text.expose().split('\n').next().unwrap_or("");
    let first = first.strip_suffix('\r').unwrap_or(first);
    Ok(SecretString::from(first))
}

/// Renders a clap usage error as one line (its message lines joined, without
/// the usage block), for stderr.
pub fn clap_error_line(err: &clap::Error) -> String {
    let rendered = err.render().to_string();
    let mut parts = Vec::new();
    for line in rendered.lines() {
        let line = line.trim();
        if line.is_empty() {
            if !parts.is_empty() {
                break;
            }
            continue;
        }
        if line.starts_with("Usage:") || line.starts_with("For more information") {
            break;
        }
        parts.push(line.to_owned());
    }
    let msg = parts.join(" ");
    let msg = msg.strip_prefix("error: ").unwrap_or(&msg).to_owned();
    format!("{msg} (see --help)")
}

/// `YYYY-MM-DD HH:MM:SS UTC` for a Unix time (proleptic Gregorian calendar).
pub fn format_utc(unix: u64) -> String {
    let days = unix / 86_400;
    let secs = unix % 86_400;
    // Howard Hinnant's civil_from_days, for days since 1970-01-01 ≥ 0.
    let z = days as i64 + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02} UTC",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_dates() {
        assert_eq!(format_utc(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(format_utc(1_503_539_857), "2017-08-24 01:57:37 UTC");
        assert_eq!(format_utc(1_231_006_505), "2009-01-03 18:15:05 UTC");
        assert_eq!(format_utc(951_782_400), "2000-02-29 00:00:00 UTC");
    }

    #[test]
    fn passphrase_first_line() {
        let dir = std::env::temp_dir().join(format!("lws-cli-unit-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let p = dir.join("pass");
        std::fs::write(&p, "secret words\r\nsecond line\n").expect("write");
        assert_eq!(
            read_passphrase_file(&p, "passphrase file")
                .expect("read")
                .expose(),
            "secret words"
        );
        std::fs::write(&p, "no newline").expect("write");
        assert_eq!(
            read_passphrase_file(&p, "passphrase file")
                .expect("read")
                .expose(),
            "no newline"
        );
        let missing = dir.join("missing");
        let err = read_passphrase_file(&missing, "passphrase file").expect_err("missing");
        assert!(err.0.starts_with("cannot read passphrase file "), "{err}");
        std::fs::remove_dir_all(&dir).expect("cleanup");
    }
}
