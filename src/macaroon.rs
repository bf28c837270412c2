//! lnd's macaroons, decoded as `lncli printmacaroon` decodes them: the
//! macaroon v2 binary format (gopkg.in/macaroon.v2, `marshal-v2.go`) whose
//! identifier is the bakery version byte 3 followed by lnd's `MacaroonId`
//! protobuf (`lnrpc/lightning.proto`: `nonce = 1`, `storageId = 2`,
//! `repeated Op ops = 3` with `Op { entity = 1, repeated actions = 2 }`).
//!
//! Only what a user may see is kept: location, root key id, permissions
//! (`entity:action`) and first-party caveats. The signature (the secret that
//! makes the macaroon a bearer token) and the nonce are checked for shape and
//! dropped; nothing here prints the macaroon's bytes.
//!
//! The decoder is stricter than lnd's where lnd would never write the input:
//! trailing bytes after the signature, an empty identifier, known protobuf
//! fields with the wrong wire type and protobuf groups are refused. Input is
//! bounded by [`MAX_MACAROON_LEN`]; every length is checked against the
//! bytes left, so nothing allocates more than the input's size.

use core::fmt;

use zeroize::Zeroizing;

/// Largest macaroon accepted (lnd's macaroons are a few hundred bytes; one
/// with every `uri:` permission is a few KiB).
pub const MAX_MACAROON_LEN: usize = 64 * 1024;

/// The one permission a remote signer needs.
pub const SIGNER_PERMISSION: &str = "remotesigner:generate";

/// The command that bakes a least-privilege signer macaroon offline, with
/// the root key that was (or will be) given to `lncli createwatchonly
/// --mac_root_key`.
pub const BAKE_COMMAND: &str =
    "lncli bakemacaroon --root_key $ROOTKEY --save_to signer.macaroon remotesigner:generate";

/// The identifier version lnd's bakery writes (`bakery.LatestVersion`).
const ID_VERSION: u8 = 3;
/// Length of a macaroon signature (HMAC-SHA256).
const SIGNATURE_LEN: usize = 32;

// Packet field types of the v2 binary format.
const FIELD_EOS: u64 = 0;
const FIELD_LOCATION: u64 = 1;
const FIELD_IDENTIFIER: u64 = 2;
const FIELD_VERIFICATION_ID: u64 = 4;
const FIELD_SIGNATURE: u64 = 6;

/// Why bytes are not one of lnd's macaroons.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MacaroonError {
    /// No bytes.
    #[error("the macaroon is empty")]
    Empty,
    /// More than [`MAX_MACAROON_LEN`] bytes.
    #[error("the macaroon is {len} bytes, more than the {max} bytes accepted")]
    TooLarge {
        /// Its length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// A version 1 macaroon (base64 text); lnd writes version 2 binary.
    #[error("this is a version 1 macaroon; lnd writes version 2 binary macaroons")]
    VersionOne,
    /// Base64 text of a binary macaroon.
    #[error("this is base64 text; give lnd's binary .macaroon file (or its hex)")]
    Base64Text,
    /// The first byte is not 2.
    #[error("not a binary macaroon (version byte {0:#04x}, expected 0x02)")]
    NotBinaryV2(u8),
    /// A text macaroon given as hex has an odd number of digits.
    #[error("hex text has an odd number of digits")]
    OddHex,
    /// The v2 packet structure is broken.
    #[error("malformed macaroon: {0}")]
    Malformed(&'static str),
    /// Bytes follow the signature.
    #[error("malformed macaroon: {0} bytes after the signature")]
    TrailingBytes(usize),
    /// The identifier does not start with lnd's version byte 3.
    #[error("the macaroon identifier is not lnd's (version byte {0:#04x}, expected 0x03)")]
    IdVersion(u8),
    /// The identifier's `MacaroonId` protobuf does not decode.
    #[error("the macaroon identifier is not lnd's MacaroonId: {0}")]
    BadId(&'static str),
}

/// What a macaroon says, without its secret parts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MacaroonInfo {
    /// The location (`lnd` for lnd's macaroons).
    pub location: String,
    /// The root key id (`0` for lnd's default root key), as text.
    pub root_key_id: String,
    /// `entity:action` for every action of every op, in the identifier's order.
    pub permissions: Vec<String>,
    /// Caveat conditions (e.g. `time-before 2026-…`, `ipaddr 127.0.0.1`).
    pub caveats: Vec<String>,
}

impl MacaroonInfo {
    /// True when the macaroon grants exactly [`SIGNER_PERMISSION`] and nothing else.
    pub fn least_privilege(&self) -> bool {
        !self.permissions.is_empty() && self.permissions.iter().all(|p| p == SIGNER_PERMISSION)
    }

    /// Whether [`SIGNER_PERMISSION`] is among the permissions (lnd refuses a
    /// signer whose macaroon lacks it).
    pub fn grants_signer(&self) -> bool {
        self.permissions.iter().any(|p| p == SIGNER_PERMISSION)
    }

    /// Permissions other than [`SIGNER_PERMISSION`], without repeats, in order.
    pub fn extra_permissions(&self) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        for p in &self.permissions {
            if p != SIGNER_PERMISSION && !out.contains(&p.as_str()) {
                out.push(p);
            }
        }
        out
    }

    /// The JSON object of `lnd-web-signer macaroon inspect`, on one line:
    /// `{"permissions":[…],"caveats":[…],"least_privilege":true|false}`.
    pub fn inspect_json(&self) -> String {
        let list = |v: &[String]| serde_json::to_string(v).unwrap_or_else(|_| "[]".into());
        format!(
            r#"{{"permissions":{},"caveats":{},"least_privilege":{}}}"#,
            list(&self.permissions),
            list(&self.caveats),
            self.least_privilege()
        )
    }

    /// One warning line (without a `warning:` prefix or line end) when the
    /// macaroon is not least-privilege: what it grants beyond (or instead
    /// of) `remotesigner:generate` and the command that bakes the right one.
    /// `None` for a least-privilege macaroon.
    pub fn warning(&self) -> Option<String> {
        if self.least_privilege() {
            return None;
        }
        let extra = self.extra_permissions();
        let what = match (self.grants_signer(), extra.is_empty()) {
            (true, _) => format!(
                "the macaroon grants more than {SIGNER_PERMISSION}: also {}; whoever relays it (signer-bridge, Envoy) sees it in transit",
                extra.join(", ")
            ),
            (false, true) => format!(
                "the macaroon grants no permission at all, not even {SIGNER_PERMISSION}: lnd will refuse the signer"
            ),
            (false, false) => format!(
                "the macaroon lacks {SIGNER_PERMISSION} (lnd will refuse the signer) and grants {}",
                extra.join(", ")
            ),
        };
        Some(format!(
            "{what}; bake a least-privilege one with the root key given to createwatchonly --mac_root_key: {BAKE_COMMAND}"
        ))
    }
}

/// A macaroon file's bytes: lnd's binary file as is, or its hex text
/// (surrounding whitespace ignored). A binary v2 macaroon starts with 0x02
/// and so is never hex text. The result is not yet checked: pass it to
/// [`decode`].
pub fn from_file_bytes(raw: &[u8]) -> Result<Zeroizing<Vec<u8>>, MacaroonError> {
    let trimmed = raw.trim_ascii();
    if trimmed.is_empty() {
        return Err(MacaroonError::Empty);
    }
    if raw.len() > 2 * MAX_MACAROON_LEN + 64 {
        return Err(MacaroonError::TooLarge {
            len: raw.len(),
            max: MAX_MACAROON_LEN,
        });
    }
    if trimmed.iter().all(u8::is_ascii_hexdigit) {
        return hex::decode(trimmed)
            .map(Zeroizing::new)
            .map_err(|_| MacaroonError::OddHex);
    }
    Ok(Zeroizing::new(raw.to_vec()))
}

/// Decodes a binary v2 macaroon as `lncli printmacaroon` does.
pub fn decode(bytes: &[u8]) -> Result<MacaroonInfo, MacaroonError> {
    let Some(&version) = bytes.first() else {
        return Err(MacaroonError::Empty);
    };
    if bytes.len() > MAX_MACAROON_LEN {
        return Err(MacaroonError::TooLarge {
            len: bytes.len(),
            max: MAX_MACAROON_LEN,
        });
    }
    if version != 2 {
        if bytes.starts_with(b"Ag") {
            return Err(MacaroonError::Base64Text);
        }
        if version.is_ascii_hexdigit() || version == b'{' {
            return Err(MacaroonError::VersionOne);
        }
        return Err(MacaroonError::NotBinaryV2(version));
    }
    let mut r = Reader { data: &bytes[1..] };

    // Header: location? identifier, EOS.
    let header = r.section()?;
    let mut header = header.as_slice();
    let mut location = String::new();
    if let Some((FIELD_LOCATION, loc)) = header.first() {
        location = String::from_utf8_lossy(loc).into_owned();
        header = &header[1..];
    }
    let id = match header {
        [(FIELD_IDENTIFIER, id)] => *id,
        _ => return Err(MacaroonError::Malformed("invalid macaroon header")),
    };

    // Caveats: (location? identifier verificationId? EOS)* EOS.
    let mut caveats = Vec::new();
    loop {
        let section = r.section()?;
        let mut section = section.as_slice();
        if section.is_empty() {
            break;
        }
        let mut has_location = false;
        if let Some((FIELD_LOCATION, _)) = section.first() {
            has_location = true;
            section = &section[1..];
        }
        let (cid, rest) = match section.split_first() {
            Some(((FIELD_IDENTIFIER, cid), rest)) => (*cid, rest),
            _ => return Err(MacaroonError::Malformed("no identifier in caveat")),
        };
        match rest {
            [] if has_location => {
                return Err(MacaroonError::Malformed(
                    "location not allowed in first party caveat",
                ))
            }
            [] | [(FIELD_VERIFICATION_ID, _)] => {}
            [(_, _)] => return Err(MacaroonError::Malformed("invalid field found in caveat")),
            _ => return Err(MacaroonError::Malformed("extra fields found in caveat")),
        }
        caveats.push(String::from_utf8_lossy(cid).into_owned());
    }

    let (ft, sig) = r.packet()?;
    if ft != FIELD_SIGNATURE {
        return Err(MacaroonError::Malformed(
            "unexpected field found instead of signature",
        ));
    }
    if sig.len() != SIGNATURE_LEN {
        return Err(MacaroonError::Malformed("signature has unexpected length"));
    }
    if !r.data.is_empty() {
        return Err(MacaroonError::TrailingBytes(r.data.len()));
    }

    let (&id_version, id_proto) = id
        .split_first()
        .ok_or(MacaroonError::Malformed("empty identifier"))?;
    if id_version != ID_VERSION {
        return Err(MacaroonError::IdVersion(id_version));
    }
    let (root_key_id, permissions) = decode_macaroon_id(id_proto)?;
    Ok(MacaroonInfo {
        location,
        root_key_id,
        permissions,
        caveats,
    })
}

/// Reads v2 packets from the front of a slice.
struct Reader<'a> {
    data: &'a [u8],
}

impl<'a> Reader<'a> {
    /// `binary.Uvarint`, then the range check of macaroon.v2 (≤ 0x7fffffff).
    fn varint(&mut self) -> Result<u64, MacaroonError> {
        let (v, n) = uvarint(self.data).ok_or(MacaroonError::Malformed(
            "varint value extends past end of buffer or out of range",
        ))?;
        if v > 0x7fff_ffff {
            return Err(MacaroonError::Malformed("varint value out of range"));
        }
        self.data = &self.data[n..];
        Ok(v)
    }

    fn packet(&mut self) -> Result<(u64, &'a [u8]), MacaroonError> {
        if self.data.is_empty() {
            return Err(MacaroonError::Malformed(
                "section extends past end of buffer",
            ));
        }
        let ft = self.varint()?;
        if ft == FIELD_EOS {
            return Ok((ft, &[]));
        }
        let len = self.varint()? as usize;
        if len > self.data.len() {
            return Err(MacaroonError::Malformed(
                "field data extends past end of buffer",
            ));
        }
        let (d, rest) = self.data.split_at(len);
        self.data = rest;
        Ok((ft, d))
    }

    /// Packets up to an EOS, with strictly increasing field types.
    fn section(&mut self) -> Result<Vec<(u64, &'a [u8])>, MacaroonError> {
        let mut out = Vec::new();
        let mut prev: Option<u64> = None;
        loop {
            let (ft, d) = self.packet()?;
            if ft == FIELD_EOS {
                return Ok(out);
            }
            if prev.is_some_and(|p| ft <= p) {
                return Err(MacaroonError::Malformed("fields out of order"));
            }
            // Each packet takes at least 2 bytes of the input: bounded.
            out.push((ft, d));
            prev = Some(ft);
        }
    }
}

/// Unsigned LEB128 as Go's `binary.Uvarint`: value and bytes used, `None`
/// when truncated or above 64 bits.
fn uvarint(data: &[u8]) -> Option<(u64, usize)> {
    let mut x: u64 = 0;
    for (i, &b) in data.iter().enumerate().take(10) {
        if i == 9 && b > 1 {
            return None;
        }
        x |= u64::from(b & 0x7f) << (7 * i);
        if b < 0x80 {
            return Some((x, i + 1));
        }
    }
    None
}

/// One protobuf field: number, and the bytes of a length-delimited value
/// (`None` for varint / fixed values, which are skipped).
struct ProtoField<'a> {
    number: u64,
    wire: u8,
    bytes: &'a [u8],
}

/// Splits a protobuf message into its fields (proto3 wire format). Groups
/// are refused; unknown varint/fixed fields are kept with empty bytes.
fn proto_fields(mut data: &[u8]) -> Result<Vec<ProtoField<'_>>, MacaroonError> {
    let mut out = Vec::new();
    while !data.is_empty() {
        let (tag, n) = uvarint(data).ok_or(MacaroonError::BadId("truncated field tag"))?;
        data = &data[n..];
        let number = tag >> 3;
        let wire = (tag & 7) as u8;
        if number == 0 || number > 0x1fff_ffff {
            return Err(MacaroonError::BadId("invalid field number"));
        }
        let bytes: &[u8] = match wire {
            0 => {
                let (_, n) = uvarint(data).ok_or(MacaroonError::BadId("truncated varint"))?;
                data = &data[n..];
                &[]
            }
            1 | 5 => {
                let n = if wire == 1 { 8 } else { 4 };
                if data.len() < n {
                    return Err(MacaroonError::BadId("truncated fixed-size field"));
                }
                data = &data[n..];
                &[]
            }
            2 => {
                let (len, n) = uvarint(data).ok_or(MacaroonError::BadId("truncated length"))?;
                data = &data[n..];
                if len > data.len() as u64 {
                    return Err(MacaroonError::BadId("field extends past the identifier"));
                }
                let (b, rest) = data.split_at(len as usize);
                data = rest;
                b
            }
            _ => return Err(MacaroonError::BadId("unsupported wire type")),
        };
        out.push(ProtoField {
            number,
            wire,
            bytes,
        });
    }
    Ok(out)
}

fn utf8_field(bytes: &[u8]) -> Result<String, MacaroonError> {
    core::str::from_utf8(bytes)
        .map(str::to_owned)
        .map_err(|_| MacaroonError::BadId("string field is not UTF-8"))
}

/// `MacaroonId { nonce = 1; storageId = 2; repeated Op ops = 3 }` → (root
/// key id as text, `entity:action` list).
fn decode_macaroon_id(data: &[u8]) -> Result<(String, Vec<String>), MacaroonError> {
    let mut storage_id = String::new();
    let mut permissions = Vec::new();
    for f in proto_fields(data)? {
        match (f.number, f.wire) {
            (1, 2) => {} // nonce: not kept
            (2, 2) => storage_id = String::from_utf8_lossy(f.bytes).into_owned(),
            (3, 2) => {
                let mut entity = String::new();
                let mut actions = Vec::new();
                for g in proto_fields(f.bytes)? {
                    match (g.number, g.wire) {
                        (1, 2) => entity = utf8_field(g.bytes)?,
                        (2, 2) => actions.push(utf8_field(g.bytes)?),
                        (1 | 2, _) => {
                            return Err(MacaroonError::BadId("op field has the wrong wire type"))
                        }
                        _ => {}
                    }
                }
                permissions.extend(actions.into_iter().map(|a| format!("{entity}:{a}")));
            }
            (1..=3, _) => return Err(MacaroonError::BadId("field has the wrong wire type")),
            _ => {}
        }
    }
    Ok((storage_id, permissions))
}

impl fmt::Display for MacaroonInfo {
    /// `permissions: a, b; caveats: c` (for logs; no secret parts).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "permissions: {}", self.permissions.join(", "))?;
        if !self.caveats.is_empty() {
            write!(f, "; caveats: {}", self.caveats.join(", "))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn packet(out: &mut Vec<u8>, ft: u8, data: &[u8]) {
        out.push(ft);
        out.push(data.len() as u8);
        out.extend_from_slice(data);
    }

    fn op(entity: &str, actions: &[&str]) -> Vec<u8> {
        let mut m = vec![0x0a, entity.len() as u8];
        m.extend_from_slice(entity.as_bytes());
        for a in actions {
            m.push(0x12);
            m.push(a.len() as u8);
            m.extend_from_slice(a.as_bytes());
        }
        m
    }

    fn id(ops: &[Vec<u8>]) -> Vec<u8> {
        let mut id = vec![3, 0x0a, 2, 0xaa, 0xbb, 0x12, 1, b'0'];
        for o in ops {
            id.push(0x1a);
            id.push(o.len() as u8);
            id.extend_from_slice(o);
        }
        id
    }

    fn mac(id: &[u8], caveats: &[&str]) -> Vec<u8> {
        let mut m = vec![2];
        packet(&mut m, 1, b"lnd");
        packet(&mut m, 2, id);
        m.push(0);
        for c in caveats {
            packet(&mut m, 2, c.as_bytes());
            m.push(0);
        }
        m.push(0);
        packet(&mut m, 6, &[7; 32]);
        m
    }

    #[test]
    fn decodes_permissions_and_caveats() {
        let m = mac(
            &id(&[op("remotesigner", &["generate"])]),
            &["ipaddr 127.0.0.1"],
        );
        let info = decode(&m).expect("decodes");
        assert_eq!(info.location, "lnd");
        assert_eq!(info.root_key_id, "0");
        assert_eq!(info.permissions, ["remotesigner:generate"]);
        assert_eq!(info.caveats, ["ipaddr 127.0.0.1"]);
        assert!(info.least_privilege());
        assert_eq!(info.warning(), None);
        assert_eq!(
            info.inspect_json(),
            r#"{"permissions":["remotesigner:generate"],"caveats":["ipaddr 127.0.0.1"],"least_privilege":true}"#
        );

        let m = mac(
            &id(&[
                op("info", &["read"]),
                op("remotesigner", &["generate"]),
                op("info", &["read", "write"]),
            ]),
            &[],
        );
        let info = decode(&m).expect("decodes");
        assert!(!info.least_privilege());
        assert_eq!(info.extra_permissions(), ["info:read", "info:write"]);
        let w = info.warning().expect("warns");
        assert!(w.contains("also info:read, info:write"), "{w}");
        assert!(w.contains(BAKE_COMMAND), "{w}");

        let info = decode(&mac(&id(&[op("info", &["read"])]), &[])).expect("decodes");
        assert!(info
            .warning()
            .expect("warns")
            .contains("lacks remotesigner:generate"));
        let info = decode(&mac(&id(&[]), &[])).expect("decodes");
        assert!(!info.least_privilege());
        assert!(info
            .warning()
            .expect("warns")
            .contains("no permission at all"));
    }

    #[test]
    fn refuses_what_is_not_lnds() {
        let good = mac(&id(&[op("remotesigner", &["generate"])]), &[]);
        assert_eq!(decode(&[]), Err(MacaroonError::Empty));
        assert_eq!(decode(b"AgEDbG5k"), Err(MacaroonError::Base64Text));
        assert_eq!(decode(b"\x30\x82"), Err(MacaroonError::VersionOne));
        assert_eq!(decode(&[0x80]), Err(MacaroonError::NotBinaryV2(0x80)));
        assert_eq!(decode(b"0201"), Err(MacaroonError::VersionOne));
        assert_eq!(decode(&[0x30, 0x82]), Err(MacaroonError::VersionOne));
        for cut in 1..good.len() {
            assert!(decode(&good[..cut]).is_err(), "cut at {cut}");
        }
        let mut long = good.clone();
        long.push(0);
        assert_eq!(decode(&long), Err(MacaroonError::TrailingBytes(1)));
        let mut bad_id = id(&[op("remotesigner", &["generate"])]);
        bad_id[0] = 2;
        assert_eq!(decode(&mac(&bad_id, &[])), Err(MacaroonError::IdVersion(2)));
        assert!(matches!(
            decode(&mac(&[3, 0x0b], &[])),
            Err(MacaroonError::BadId(_))
        ));
        assert!(matches!(
            decode(&mac(&[3, 0x1a, 5, 1], &[])),
            Err(MacaroonError::BadId(_))
        ));
        // Invalid UTF-8 in an op's entity.
        assert!(matches!(
            decode(&mac(&[3, 0x1a, 3, 0x0a, 1, 0xff], &[])),
            Err(MacaroonError::BadId(_))
        ));
        // Field types out of order in the header.
        let mut m = vec![2];
        packet(&mut m, 2, &id(&[]));
        packet(&mut m, 1, b"lnd");
        m.push(0);
        assert_eq!(
            decode(&m),
            Err(MacaroonError::Malformed("fields out of order"))
        );
        let huge = vec![2u8; MAX_MACAROON_LEN + 1];
        assert!(matches!(decode(&huge), Err(MacaroonError::TooLarge { .. })));
        // A varint that never ends.
        assert!(decode(&[2, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]).is_err());
    }

    #[test]
    fn file_bytes_binary_or_hex() {
        let good = mac(&id(&[op("remotesigner", &["generate"])]), &[]);
        assert_eq!(
            from_file_bytes(&good).expect("binary").as_slice(),
            &good[..]
        );
        let hex_text = format!("{}\n", hex::encode(&good));
        assert_eq!(
            from_file_bytes(hex_text.as_bytes())
                .expect("hex")
                .as_slice(),
            &good[..]
        );
        assert_eq!(from_file_bytes(b" \n"), Err(MacaroonError::Empty));
        assert_eq!(from_file_bytes(b"abc"), Err(MacaroonError::OddHex));
    }
}
