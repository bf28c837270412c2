//! `handle`: answers `SignCoordinatorRequest`s read from stdin, one protojson
//! object per line, with one `SignCoordinatorResponse` line each on stdout —
//! the same session routing and `Signer::handle` the stream uses, without a
//! network.
//!
//! * `ref_request_id` = the request's `request_id`; ping → pong; a member
//!   that is not signing work → lnd's "unimplemented" `signer_error`.
//! * Any failure → a `signer_error` line, and the command goes on.
//! * A line that is not JSON or not a valid request → a `signer_error` line
//!   with `ref_request_id` 0 naming the line and the problem.
//! * Blank lines are skipped.

use std::io::{BufRead, Write};

use clap::Args;
use lnd_web_signer::entropy::OsEntropy;
use lnd_web_signer::json::{request_from_json, response_to_json};
use lnd_web_signer::proto::watchonlyrpc::sign_coordinator_response::SignResponseType;
use lnd_web_signer::proto::watchonlyrpc::{SignCoordinatorResponse, SignerError};
use lnd_web_signer::session;
use lnd_web_signer::signer::Signer;

use super::policy::{handle_audited, AuditWriter, PolicyArgs};
use super::seed_args::SeedArgs;
use super::CliError;

/// `handle`: answer requests from stdin.
#[derive(Args, Debug, Clone)]
pub struct HandleArgs {
    /// Where the seed comes from.
    #[command(flatten)]
    pub seed: SeedArgs,
    /// Signing policy and audit log.
    #[command(flatten)]
    pub policy: PolicyArgs,
}

impl HandleArgs {
    /// Loads the seed, then answers stdin line by line until end of input.
    pub fn run(self, out: &mut dyn Write) -> Result<(), CliError> {
        let loaded = self.seed.load()?;
        let signer = Signer::new(loaded.root, Box::new(OsEntropy));
        let audit = self.policy.apply(&signer, loaded.policy.as_deref())?;
        let stdin = std::io::stdin();
        let mut input = stdin.lock();
        handle_lines_with(&signer, audit.as_ref(), &mut input, out)
    }
}

/// The response for one input line, or `None` for a blank line.
pub fn handle_line(
    signer: &Signer,
    line_no: usize,
    line: &[u8],
) -> Option<SignCoordinatorResponse> {
    handle_line_with(signer, None, line_no, line)
}

/// [`handle_line`], writing each decision to `audit` before answering.
pub fn handle_line_with(
    signer: &Signer,
    audit: Option<&AuditWriter>,
    line_no: usize,
    line: &[u8],
) -> Option<SignCoordinatorResponse> {
    let text = match std::str::from_utf8(line) {
        Ok(t) => t.trim(),
        Err(_) => return Some(invalid_line(line_no, "not UTF-8 text")),
    };
    if text.is_empty() {
        return None;
    }
    Some(match request_from_json(text) {
        Ok(req) => session::respond(req, |work| handle_audited(signer, audit, work)),
        Err(e) => invalid_line(line_no, &e.to_string()),
    })
}

fn invalid_line(line_no: usize, reason: &str) -> SignCoordinatorResponse {
    SignCoordinatorResponse {
        ref_request_id: 0,
        sign_response_type: Some(SignResponseType::SignerError(SignerError {
            error: format!("invalid request on input line {line_no}: {reason}"),
        })),
    }
}

/// Reads requests from `input` until its end and writes one response line per
/// request, flushing after each. A reader that went away (closed pipe) ends
/// the command quietly.
pub fn handle_lines(
    signer: &Signer,
    input: &mut dyn BufRead,
    out: &mut dyn Write,
) -> Result<(), CliError> {
    handle_lines_with(signer, None, input, out)
}

/// [`handle_lines`], writing each decision to `audit` before answering.
pub fn handle_lines_with(
    signer: &Signer,
    audit: Option<&AuditWriter>,
    input: &mut dyn BufRead,
    out: &mut dyn Write,
) -> Result<(), CliError> {
    let mut buf = Vec::new();
    let mut line_no = 0;
    loop {
        buf.clear();
        let n = input
            .read_until(b'\n', &mut buf)
            .map_err(|e| CliError::new(format!("cannot read standard input: {e}")))?;
        if n == 0 {
            return Ok(());
        }
        line_no += 1;
        let Some(resp) = handle_line_with(signer, audit, line_no, &buf) else {
            continue;
        };
        let mut line = response_to_json(&resp).unwrap_or_else(|e| {
            // Only an enum value outside its enum has no protojson form;
            // the signer never answers with one.
            let error = SignCoordinatorResponse {
                ref_request_id: resp.ref_request_id,
                sign_response_type: Some(SignResponseType::SignerError(SignerError {
                    error: format!("cannot encode the response: {e}"),
                })),
            };
            response_to_json(&error).unwrap_or_default()
        });
        line.push('\n');
        match out.write_all(line.as_bytes()).and_then(|()| out.flush()) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => return Ok(()),
            Err(e) => return Err(CliError::new(format!("cannot write output: {e}"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lnd_web_signer::keys::{Network, RootKey};

    fn signer() -> Signer {
        let root = RootKey::from_seed_entropy(&[7u8; 16], Network::Regtest).expect("root");
        Signer::new(root, Box::new(OsEntropy))
    }

    #[test]
    fn lines_in_lines_out() {
        let input = concat!(
            "{\"requestId\":\"5\",\"ping\":true}\n",
            "\n",
            "   \n",
            "garbage\n",
            "{\"request_id\":6,\"sign_message_req\":{\"msg\":\"aGk=\",\"key_loc\":{\"key_family\":6}}}\n",
            "{\"requestId\":\"7\",\"signMessageReq\":{}}"
        );
        let mut out = Vec::new();
        handle_lines(&signer(), &mut input.as_bytes(), &mut out).expect("run");
        let text = String::from_utf8(out).expect("utf8");
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 4, "{text}");
        assert_eq!(lines[0], r#"{"refRequestId":"5","pong":true}"#);
        assert!(
            lines[1].starts_with(r#"{"signerError":{"error":"invalid request on input line 4: "#),
            "{}",
            lines[1]
        );
        assert!(
            lines[2].starts_with(r#"{"refRequestId":"6","signMessageResp":{"signature":""#),
            "{}",
            lines[2]
        );
        assert_eq!(
            lines[3],
            r#"{"refRequestId":"7","signerError":{"error":"error processing the request in the remote signer: a message to sign MUST be passed in"}}"#
        );
    }

    #[test]
    fn invalid_utf8_is_an_error_line() {
        let mut out = Vec::new();
        handle_lines(&signer(), &mut &b"\xff\xfe\n"[..], &mut out).expect("run");
        let text = String::from_utf8(out).expect("utf8");
        assert!(text.contains("not UTF-8"), "{text}");
    }
}
