//! The audit log: every decision of the signer (signed or refused), one JSON
//! line each, hash-chained and keyed with a key derived from the seed
//! ([`crate::keys::RootKey::audit_key`]), so that nobody without the seed
//! can forge an entry, change one, drop one from the middle or the start,
//! or reorder them without [`verify`] naming the first bad entry.
//!
//! A line is a JSON object with these members, in this order:
//! `seq` (0, 1, 2, …), `time` (Unix seconds), `kind` (request kind, e.g.
//! `sign_psbt`), `id` (lnd's request id), `decision` (`allow`, `deny`,
//! `approved`, `declined`, `unanswered`), `tags` (the policy rules that asked or refused),
//! `reason`, `result` (`signed`, `refused`, or `error: …` for a signer
//! error), `paths` (key paths), `txid`, `outputs` (`to`, `value`, `whose`:
//! `own`, `allowlist` or `external`), `external`, `fee` (satoshis),
//! `prev` (the previous entry's MAC, hex; 64 zeros for the first) and last
//! `mac`: HMAC-SHA256 with the log key over the line's bytes without the
//! `,"mac":"…"` member. Cutting whole entries off the end cannot be seen in
//! the chain itself: compare the head ([`Summary::head`]) with one kept
//! elsewhere. The host stores each line before the answer leaves.

use core::fmt;

use bitcoin::hashes::hmac::{Hmac, HmacEngine};
use bitcoin::hashes::{sha256, Hash, HashEngine};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::policy::{Decision, Verdict};

/// Longest line [`verify`] reads (a PSBT with many outputs stays far below).
pub const MAX_LINE: usize = 1 << 20;

/// One output in an entry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutputEntry {
    /// Address, or `script:HEX`.
    pub to: String,
    /// Satoshis.
    pub value: u64,
    /// `own`, `allowlist` or `external`.
    pub whose: String,
}

/// One entry, without its MAC (field order = line order).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    /// Position in the log, from 0.
    pub seq: u64,
    /// Unix seconds.
    pub time: u64,
    /// Request kind (`sign_psbt`, `shared_key`, …).
    pub kind: String,
    /// lnd's request id.
    pub id: u64,
    /// `allow`, `deny`, `approved` (asked, the user said yes), `declined`
    /// (asked, the user or `approvals.headless` said no) or `unanswered`
    /// (asked, no answer within the approval time).
    pub decision: String,
    /// Policy tags that asked or refused.
    pub tags: Vec<String>,
    /// Why, when refused or asked.
    pub reason: String,
    /// `signed`, `refused`, or `error: TEXT` (the signer's error).
    pub result: String,
    /// Key paths the request named.
    pub paths: Vec<String>,
    /// SignPsbt: the unsigned transaction's id.
    pub txid: Option<String>,
    /// SignPsbt of a wallet spend or sweep: the outputs.
    pub outputs: Vec<OutputEntry>,
    /// Satoshis paid outside the wallet and the allowlist.
    pub external: Option<u64>,
    /// Inputs minus outputs.
    pub fee: Option<u64>,
    /// The previous entry's MAC, hex.
    pub prev: String,
}

impl Entry {
    /// An entry (seq and prev are set by [`AuditChain::append`]) for a
    /// request of `kind`/`id` decided by `verdict` at `time`, with the
    /// signer's `result`.
    pub fn from_verdict(
        time: u64,
        kind: &str,
        id: u64,
        verdict: &Verdict,
        approved: Option<bool>,
        result: String,
    ) -> Self {
        let (decision, tags, reason) = match (&verdict.decision, approved) {
            (Decision::Allow, _) => ("allow", Vec::new(), String::new()),
            (Decision::Ask(r), Some(true)) => ("approved", r.tags(), r.to_string()),
            (Decision::Ask(r), Some(false)) => ("declined", r.tags(), r.to_string()),
            (Decision::Ask(r), None) => ("unanswered", r.tags(), r.to_string()),
            (Decision::Deny(r), _) => ("deny", r.tags(), r.to_string()),
        };
        let f = &verdict.facts;
        Entry {
            seq: 0,
            time,
            kind: kind.into(),
            id,
            decision: decision.into(),
            tags: tags.iter().map(|t| t.as_str().to_owned()).collect(),
            reason,
            result,
            paths: f.paths.clone(),
            txid: f.txid.clone(),
            outputs: f
                .outputs
                .iter()
                .map(|o| OutputEntry {
                    to: o.to.clone(),
                    value: o.value,
                    whose: o.whose.into(),
                })
                .collect(),
            external: f.external,
            fee: f.fee,
            prev: String::new(),
        }
    }

    /// The wallet spend this entry let through, if any: (txid, external
    /// value). It counts in the 24 h window after a restart (an allowed
    /// spend counts when decided, as in [`crate::policy::Policy`]).
    pub fn allowed_spend(&self) -> Option<(bitcoin::Txid, u64)> {
        if self.kind != "sign_psbt" || !matches!(self.decision.as_str(), "allow" | "approved") {
            return None;
        }
        let txid = self.txid.as_deref()?.parse().ok()?;
        Some((txid, self.external?))
    }
}

/// The writing end of a log: its key and the chain so far.
pub struct AuditChain {
    key: Zeroizing<[u8; 32]>,
    next_seq: u64,
    prev: [u8; 32],
}

impl fmt::Debug for AuditChain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "AuditChain {{ next_seq: {}, key: [redacted] }}",
            self.next_seq
        )
    }
}

/// What [`verify`] found in an intact log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Summary {
    /// Number of entries.
    pub entries: u64,
    /// The last entry's MAC, hex (64 zeros for an empty log).
    pub head: String,
}

/// The first bad entry of a log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditError {
    /// 1-based line number.
    pub line: usize,
    /// What is wrong, lower case.
    pub reason: String,
}

impl fmt::Display for AuditError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.reason)
    }
}

impl std::error::Error for AuditError {}

fn mac(key: &[u8; 32], body: &[u8]) -> [u8; 32] {
    let mut e = HmacEngine::<sha256::Hash>::new(key);
    e.input(body);
    Hmac::<sha256::Hash>::from_engine(e).to_byte_array()
}

const MAC_MEMBER: &str = ",\"mac\":\"";

impl AuditChain {
    /// A new, empty log with `key`.
    pub fn new(key: Zeroizing<[u8; 32]>) -> Self {
        AuditChain {
            key,
            next_seq: 0,
            prev: [0; 32],
        }
    }

    /// Continues the log `text` (verified first) with `key`; returns the
    /// chain and the entries.
    pub fn resume(key: Zeroizing<[u8; 32]>, text: &str) -> Result<(Self, Vec<Entry>), AuditError> {
        let (entries, summary) = read(&key, text)?;
        let mut prev = [0u8; 32];
        hex::decode_to_slice(&summary.head, &mut prev).map_err(|_| AuditError {
            line: 0,
            reason: "bad head".into(),
        })?;
        Ok((
            AuditChain {
                key,
                next_seq: summary.entries,
                prev,
            },
            entries,
        ))
    }

    /// Entries written so far.
    pub fn len(&self) -> u64 {
        self.next_seq
    }

    /// Whether no entry was written.
    pub fn is_empty(&self) -> bool {
        self.next_seq == 0
    }

    /// Appends `entry` (its `seq` and `prev` are set here) and returns its
    /// line, without the line end.
    pub fn append(&mut self, mut entry: Entry) -> String {
        entry.seq = self.next_seq;
        entry.prev = hex::encode(self.prev);
        // Serialising a struct of strings and numbers cannot fail.
        let mut line = serde_json::to_string(&entry).unwrap_or_default();
        let m = mac(&self.key, line.as_bytes());
        line.pop();
        line.push_str(MAC_MEMBER);
        line.push_str(&hex::encode(m));
        line.push_str("\"}");
        self.prev = m;
        self.next_seq += 1;
        line
    }
}

/// Checks a whole log with `key`: every MAC, the sequence and the chain.
pub fn verify(key: &[u8; 32], text: &str) -> Result<Summary, AuditError> {
    read(key, text).map(|(_, s)| s)
}

/// The entries of a log whose chain is intact.
pub fn read(key: &[u8; 32], text: &str) -> Result<(Vec<Entry>, Summary), AuditError> {
    let mut prev = [0u8; 32];
    let mut entries = Vec::new();
    let mut rest = text;
    let mut line_no = 0;
    while !rest.is_empty() {
        line_no += 1;
        let bad = |reason: String| AuditError {
            line: line_no,
            reason,
        };
        let Some(end) = rest.find('\n') else {
            return Err(bad(
                "the last entry is cut short (no line end): the log was truncated".into(),
            ));
        };
        let line = &rest[..end];
        rest = &rest[end + 1..];
        if line.len() > MAX_LINE {
            return Err(bad(format!("longer than {MAX_LINE} bytes")));
        }
        let seq = entries.len() as u64;
        // `…,"mac":"<64 hex>"}`
        let tail = 64 + 2;
        let cut = line.len().checked_sub(tail + MAC_MEMBER.len());
        let Some(cut) = cut.filter(|&c| {
            line.is_char_boundary(c) && line[c..].starts_with(MAC_MEMBER) && line.ends_with("\"}")
        }) else {
            return Err(bad(format!("entry {seq} has no mac member at its end")));
        };
        let mac_hex = &line[cut + MAC_MEMBER.len()..line.len() - 2];
        let mut got = [0u8; 32];
        hex::decode_to_slice(mac_hex, &mut got)
            .map_err(|_| bad(format!("entry {seq}: the mac is not 64 hex digits")))?;
        let body = format!("{}}}", &line[..cut]);
        if mac(key, body.as_bytes()) != got {
            return Err(bad(format!(
                "entry {seq}: the mac does not match: the entry was changed, or the log is not this seed's"
            )));
        }
        let entry: Entry = serde_json::from_str(&body)
            .map_err(|e| bad(format!("entry {seq} is not an audit entry: {e}")))?;
        if entry.seq != seq {
            return Err(bad(format!(
                "entry {seq} carries sequence number {}: entries were dropped or reordered",
                entry.seq
            )));
        }
        if entry.prev != hex::encode(prev) {
            return Err(bad(format!(
                "entry {seq} does not follow the entry before it: entries were dropped or reordered"
            )));
        }
        prev = got;
        entries.push(entry);
    }
    let summary = Summary {
        entries: entries.len() as u64,
        head: hex::encode(prev),
    };
    Ok((entries, summary))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(kind: &str, id: u64) -> Entry {
        Entry {
            seq: 0,
            time: 1_700_000_000 + id,
            kind: kind.into(),
            id,
            decision: "allow".into(),
            tags: vec![],
            reason: String::new(),
            result: "signed".into(),
            paths: vec!["m/84'/0'/0'/0/1".into()],
            txid: None,
            outputs: vec![],
            external: None,
            fee: None,
            prev: String::new(),
        }
    }

    fn log(n: u64) -> (String, [u8; 32]) {
        let key = [5u8; 32];
        let mut chain = AuditChain::new(Zeroizing::new(key));
        let mut text = String::new();
        for i in 0..n {
            text.push_str(&chain.append(entry("sign_message", i)));
            text.push('\n');
        }
        (text, key)
    }

    #[test]
    fn an_intact_log_verifies_and_resumes() {
        let (text, key) = log(4);
        let s = verify(&key, &text).expect("intact");
        assert_eq!(s.entries, 4);
        assert_eq!(verify(&key, "").expect("empty").entries, 0);
        let (mut chain, entries) = AuditChain::resume(Zeroizing::new(key), &text).expect("resume");
        assert_eq!(entries.len(), 4);
        let more = format!("{text}{}\n", chain.append(entry("shared_key", 9)));
        assert_eq!(verify(&key, &more).expect("intact").entries, 5);
        let first = text.lines().next().expect("line");
        assert!(
            first.starts_with("{\"seq\":0,\"time\":1700000000,\"kind\":\"sign_message\""),
            "{first}"
        );
        assert!(
            first.contains(&format!("\"prev\":\"{}\",\"mac\":\"", "0".repeat(64))),
            "{first}"
        );
    }

    #[test]
    fn any_changed_byte_is_caught_and_nothing_panics() {
        let (text, key) = log(2);
        let bytes = text.as_bytes();
        for i in 0..bytes.len() {
            for b in [b'0', b'"', b'\n', b'}', 0xc3] {
                if bytes[i] == b {
                    continue;
                }
                let mut changed = bytes.to_vec();
                changed[i] = b;
                let Ok(t) = String::from_utf8(changed) else {
                    continue;
                };
                assert!(verify(&key, &t).is_err(), "byte {i} -> {b}");
            }
        }
    }

    #[test]
    fn tampering_is_named() {
        let (text, key) = log(4);
        let lines: Vec<&str> = text.lines().collect();
        let join = |ls: &[&str]| ls.iter().map(|l| format!("{l}\n")).collect::<String>();
        // Changed entry.
        let changed = text.replacen("\"id\":2", "\"id\":7", 1);
        let e = verify(&key, &changed).expect_err("changed");
        assert_eq!(e.line, 3);
        assert!(e.reason.contains("mac does not match"), "{e}");
        // Dropped from the middle, from the start.
        let e = verify(&key, &join(&[lines[0], lines[2], lines[3]])).expect_err("dropped");
        assert_eq!(e.line, 2);
        assert!(e.reason.contains("dropped or reordered"), "{e}");
        let e = verify(&key, &join(&lines[1..])).expect_err("head dropped");
        assert_eq!(e.line, 1);
        // Reordered.
        let e = verify(&key, &join(&[lines[0], lines[2], lines[1], lines[3]])).expect_err("order");
        assert_eq!(e.line, 2);
        // Truncated mid-line.
        let e = verify(&key, &text[..text.len() - 10]).expect_err("cut");
        assert_eq!(e.line, 4);
        assert!(e.reason.contains("cut short"), "{e}");
        let e = verify(&key, &format!("{}\n{}", lines[0], &lines[1][..40])).expect_err("cut");
        assert_eq!(e.line, 2);
        // Another key (another seed).
        let e = verify(&[6u8; 32], &text).expect_err("key");
        assert_eq!(e.line, 1);
        // A forged entry at the end without the key.
        let forged = format!("{text}{}\n", lines[3].replace("\"seq\":3", "\"seq\":4"));
        assert_eq!(verify(&key, &forged).expect_err("forged").line, 5);
        // Garbage.
        assert_eq!(verify(&key, "not json\n").expect_err("garbage").line, 1);
    }
}
