//! BIP-32 paths as raw child numbers (hardened = index + 2^31).

/// Offset that turns a child index into a hardened child number (2^31).
pub const HARDENED: u32 = 0x8000_0000;

/// lnd's BIP-43 purpose for its keychain (all Lightning keys, `m/1017'/…`).
pub const LND_PURPOSE: u32 = 1017;

/// Error of [`parse_path`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid derivation path \"{path}\": {reason}")]
pub struct PathError {
    /// The text given.
    pub path: String,
    /// What is wrong.
    pub reason: String,
}

/// Renders raw child numbers as `m/84'/0'/0'/0/0`.
pub fn format_path(path: &[u32]) -> String {
    let mut s = String::from("m");
    for &c in path {
        if c >= HARDENED {
            s.push_str(&format!("/{}'", c - HARDENED));
        } else {
            s.push_str(&format!("/{c}"));
        }
    }
    s
}

/// Parses `m/84'/0'/0'/0/0` (hardened marker `'`, `h` or `H`; `m` alone is
/// the master) into raw child numbers.
pub fn parse_path(s: &str) -> Result<Vec<u32>, PathError> {
    let err = |reason: String| PathError {
        path: s.to_owned(),
        reason,
    };
    let mut parts = s.split('/');
    if parts.next() != Some("m") {
        return Err(err("must start with \"m\"".to_owned()));
    }
    let mut out = Vec::new();
    for (i, part) in parts.enumerate() {
        let (digits, hardened) = match part.strip_suffix(['\'', 'h', 'H']) {
            Some(d) => (d, true),
            None => (part, false),
        };
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(err(format!("element {} \"{part}\" is not a number", i + 1)));
        }
        let n: u32 = digits
            .parse()
            .ok()
            .filter(|&n| n < HARDENED)
            .ok_or_else(|| err(format!("element {} \"{part}\" is out of range", i + 1)))?;
        out.push(if hardened { n + HARDENED } else { n });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let p = parse_path("m/1017'/1'/6'/0/0").expect("path");
        assert_eq!(p, [1017 + HARDENED, 1 + HARDENED, 6 + HARDENED, 0, 0]);
        assert_eq!(format_path(&p), "m/1017'/1'/6'/0/0");
        assert_eq!(parse_path("m").expect("master"), Vec::<u32>::new());
        assert_eq!(parse_path("m/0h/1H").expect("h"), [HARDENED, 1 + HARDENED]);
    }

    #[test]
    fn rejects_bad_paths() {
        for bad in [
            "",
            "84'/0'",
            "m/",
            "m/x",
            "m/2147483648",
            "m/-1",
            "m//1",
            "m/1''",
        ] {
            assert!(parse_path(bad).is_err(), "{bad}");
        }
        assert_eq!(
            parse_path("m/a").expect_err("bad").to_string(),
            "invalid derivation path \"m/a\": element 1 \"a\" is not a number"
        );
    }
}
