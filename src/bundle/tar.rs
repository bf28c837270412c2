//! A small, strict tar reader and a ustar writer, over byte slices.
//!
//! Reads what `tar` writes for a folder of a few small files: POSIX ustar,
//! GNU (`ustar  `) and pax (`x` extended headers, whose `path` and `size`
//! override the next entry's; `g` global headers without them). Regular
//! files and directories only: links, devices, FIFOs, sparse and GNU
//! long-name entries are refused, as are names that are absolute, climb
//! (`..`), are empty, contain a backslash or NUL, or are not UTF-8. Entries
//! are slices of the input (no copies); at most [`MAX_ENTRIES`].

/// Size of a tar block.
const BLOCK: usize = 512;
/// Most entries accepted (a bundle has at most four).
pub const MAX_ENTRIES: usize = 64;

/// What an entry is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A regular file.
    File,
    /// A directory.
    Dir,
}

/// One entry of an archive: its normalised name (no leading `./`, no
/// trailing `/`; empty for the archive's `./` itself), kind and data.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry<'a> {
    /// Normalised name.
    pub name: String,
    /// File or directory.
    pub kind: Kind,
    /// The file's bytes (empty for a directory).
    pub data: &'a [u8],
}

/// Why bytes are not an acceptable tar archive. Names are shown quoted
/// with escapes (`{:?}`), so a hostile name cannot forge output.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TarError {
    /// The first header is not a tar header.
    #[error("not a tar archive")]
    NotTar,
    /// A later header has a bad checksum.
    #[error("tar header at offset {0} is corrupt (checksum mismatch)")]
    Checksum(usize),
    /// A header field is unusable.
    #[error("tar header at offset {offset} is invalid: {reason}")]
    BadHeader {
        /// Offset of the header.
        offset: usize,
        /// What is wrong.
        reason: &'static str,
    },
    /// The archive ends inside an entry or before its end marker.
    #[error("the tar archive is truncated")]
    Truncated,
    /// Non-zero bytes after the end marker.
    #[error("data follows the end of the tar archive")]
    TrailingData,
    /// More than [`MAX_ENTRIES`] entries.
    #[error("the tar archive has more than {MAX_ENTRIES} entries")]
    TooManyEntries,
    /// A name that is not UTF-8.
    #[error("a tar entry name is not UTF-8")]
    NameNotUtf8,
    /// An absolute name.
    #[error("tar entry {0:?} has an absolute name")]
    AbsoluteName(String),
    /// A name with a `..` component.
    #[error("tar entry {0:?} climbs out of the folder (path traversal)")]
    PathTraversal(String),
    /// Another unsafe name (empty component, backslash, NUL, drive letter).
    #[error("tar entry {0:?} has an unsafe name")]
    UnsafeName(String),
    /// A hard or symbolic link.
    #[error("tar entry {0:?} is a link; a bundle holds regular files only")]
    Link(String),
    /// A device or FIFO.
    #[error("tar entry {0:?} is a device or fifo; a bundle holds regular files only")]
    Special(String),
    /// Another entry type.
    #[error("tar entry {name:?} has unsupported type {typeflag:?}")]
    Unsupported {
        /// The entry's name.
        name: String,
        /// Its type flag.
        typeflag: char,
    },
    /// A pax extended header that cannot be used.
    #[error("tar pax header at offset {offset} is invalid: {reason}")]
    BadPax {
        /// Offset of the header.
        offset: usize,
        /// What is wrong.
        reason: &'static str,
    },
}

/// Parses an octal numeric field (leading spaces, then digits, then NUL or
/// spaces). `None` for anything else, including GNU base-256 numbers.
fn octal(field: &[u8]) -> Option<u64> {
    let s = field.iter().position(|&b| b != b' ').unwrap_or(field.len());
    let field = &field[s..];
    let end = field
        .iter()
        .position(|&b| b == 0 || b == b' ')
        .unwrap_or(field.len());
    let (digits, rest) = field.split_at(end);
    if rest.iter().any(|&b| b != 0 && b != b' ') {
        return None;
    }
    if digits.is_empty() {
        return Some(0);
    }
    let mut v: u64 = 0;
    for &d in digits {
        if !(b'0'..=b'7').contains(&d) {
            return None;
        }
        v = v.checked_mul(8)?.checked_add(u64::from(d - b'0'))?;
    }
    Some(v)
}

fn cstr(field: &[u8]) -> &[u8] {
    let end = field.iter().position(|&b| b == 0).unwrap_or(field.len());
    &field[..end]
}

fn checksum_ok(h: &[u8]) -> bool {
    let Some(want) = octal(&h[148..156]) else {
        return false;
    };
    let mut unsigned: u64 = 0;
    let mut signed: i64 = 0;
    for (i, &b) in h.iter().enumerate() {
        let b = if (148..156).contains(&i) { b' ' } else { b };
        unsigned += u64::from(b);
        signed += i64::from(b as i8);
    }
    want == unsigned || i64::try_from(want).is_ok_and(|w| w == signed)
}

/// Checks and normalises a name: returns it without leading `./` and
/// trailing `/`.
fn normalise(raw: &[u8]) -> Result<String, TarError> {
    let name = core::str::from_utf8(raw).map_err(|_| TarError::NameNotUtf8)?;
    let shown = || name.to_owned();
    if name.starts_with('/') {
        return Err(TarError::AbsoluteName(shown()));
    }
    if name.contains('\\') || name.contains('\0') || name.as_bytes().get(1) == Some(&b':') {
        return Err(TarError::UnsafeName(shown()));
    }
    let mut rest = name;
    while let Some(r) = rest.strip_prefix("./") {
        rest = r;
    }
    if rest == "." {
        rest = "";
    }
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    if rest.is_empty() {
        return if name.is_empty() {
            Err(TarError::UnsafeName(shown()))
        } else {
            Ok(String::new())
        };
    }
    for part in rest.split('/') {
        match part {
            ".." => return Err(TarError::PathTraversal(shown())),
            "" | "." => return Err(TarError::UnsafeName(shown())),
            _ => {}
        }
    }
    Ok(rest.to_owned())
}

/// Overrides from a pax extended header.
#[derive(Default)]
struct Pax {
    path: Option<Vec<u8>>,
    size: Option<u64>,
}

fn parse_pax(mut data: &[u8], offset: usize) -> Result<Pax, TarError> {
    let bad = |reason| TarError::BadPax { offset, reason };
    let mut pax = Pax::default();
    while !data.is_empty() {
        let sp = data
            .iter()
            .take(20)
            .position(|&b| b == b' ')
            .ok_or(bad("record without a length"))?;
        let len: usize = core::str::from_utf8(&data[..sp])
            .ok()
            .filter(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|s| s.parse().ok())
            .ok_or(bad("record length is not a number"))?;
        if len <= sp + 1 || len > data.len() {
            return Err(bad("record length out of range"));
        }
        let (record, rest) = data.split_at(len);
        data = rest;
        let body = record[sp + 1..]
            .strip_suffix(b"\n")
            .ok_or(bad("record does not end with a newline"))?;
        let eq = body
            .iter()
            .position(|&b| b == b'=')
            .ok_or(bad("record without '='"))?;
        let (key, value) = (&body[..eq], &body[eq + 1..]);
        match key {
            b"path" => pax.path = Some(value.to_vec()),
            b"size" => {
                let v = core::str::from_utf8(value)
                    .ok()
                    .filter(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
                    .and_then(|s| s.parse().ok())
                    .ok_or(bad("size is not a number"))?;
                pax.size = Some(v);
            }
            k if k.starts_with(b"GNU.sparse.") => {
                return Err(bad("sparse files are not supported"))
            }
            _ => {} // times, owners, charset, vendor attributes: not needed
        }
    }
    Ok(pax)
}

/// Reads every entry of `archive`.
pub fn read(archive: &[u8]) -> Result<Vec<Entry<'_>>, TarError> {
    let mut entries = Vec::new();
    let mut off = 0;
    let mut pending: Option<Pax> = None;
    loop {
        let Some(h) = archive.get(off..off + BLOCK) else {
            return Err(if off == 0 && archive.len() < BLOCK {
                TarError::NotTar
            } else {
                TarError::Truncated
            });
        };
        if h.iter().all(|&b| b == 0) {
            if off == 0 {
                return Err(TarError::NotTar);
            }
            if pending.is_some() {
                return Err(TarError::BadPax {
                    offset: off,
                    reason: "extended header not followed by an entry",
                });
            }
            // End of archive: one or two zero blocks, then only zero padding
            // (tar fills its last record).
            if archive[off..].iter().any(|&b| b != 0) {
                return Err(TarError::TrailingData);
            }
            return Ok(entries);
        }
        if !checksum_ok(h) {
            return Err(if off == 0 {
                TarError::NotTar
            } else {
                TarError::Checksum(off)
            });
        }
        let magic = &h[257..265];
        let posix = &magic[..6] == b"ustar\0";
        let gnu = magic == b"ustar  \0";
        if !posix && !gnu {
            return Err(TarError::BadHeader {
                offset: off,
                reason: "not a ustar, gnu or pax header (old v7 archives are not supported)",
            });
        }
        let typeflag = h[156];
        let size = match octal(&h[124..136]) {
            Some(s) => s,
            None => {
                return Err(TarError::BadHeader {
                    offset: off,
                    reason: "size is not an octal number",
                })
            }
        };
        let size = match (&pending, typeflag) {
            (Some(Pax { size: Some(s), .. }), t) if t != b'x' && t != b'g' => *s,
            _ => size,
        };
        let start = off + BLOCK;
        let size = usize::try_from(size).map_err(|_| TarError::Truncated)?;
        let end = start.checked_add(size).ok_or(TarError::Truncated)?;
        let data = archive.get(start..end).ok_or(TarError::Truncated)?;
        let next = start
            .checked_add(size.div_ceil(BLOCK) * BLOCK)
            .ok_or(TarError::Truncated)?;

        if typeflag == b'x' || typeflag == b'g' {
            let pax = parse_pax(data, off)?;
            if typeflag == b'x' {
                if pending.is_some() {
                    return Err(TarError::BadPax {
                        offset: off,
                        reason: "two extended headers for one entry",
                    });
                }
                pending = Some(pax);
            } else if pax.path.is_some() || pax.size.is_some() {
                return Err(TarError::BadPax {
                    offset: off,
                    reason: "a global header may not set path or size",
                });
            }
            off = next;
            continue;
        }

        let raw_name: Vec<u8> = match pending.take().and_then(|p| p.path) {
            Some(p) => p,
            None => {
                let name = cstr(&h[0..100]);
                let prefix = if posix { cstr(&h[345..500]) } else { &[] };
                if prefix.is_empty() {
                    name.to_vec()
                } else {
                    let mut n = prefix.to_vec();
                    n.push(b'/');
                    n.extend_from_slice(name);
                    n
                }
            }
        };
        let shown = || String::from_utf8_lossy(&raw_name).into_owned();
        let kind = match typeflag {
            b'0' | 0 => Kind::File,
            b'5' => Kind::Dir,
            b'1' | b'2' => return Err(TarError::Link(shown())),
            b'3' | b'4' | b'6' => return Err(TarError::Special(shown())),
            t => {
                return Err(TarError::Unsupported {
                    name: shown(),
                    typeflag: char::from(t),
                })
            }
        };
        let name = normalise(&raw_name)?;
        if kind == Kind::Dir && size != 0 {
            return Err(TarError::BadHeader {
                offset: off,
                reason: "a directory entry has data",
            });
        }
        if kind == Kind::File && name.is_empty() {
            return Err(TarError::UnsafeName(shown()));
        }
        if entries.len() == MAX_ENTRIES {
            return Err(TarError::TooManyEntries);
        }
        entries.push(Entry { name, kind, data });
        off = next;
    }
}

/// One entry to write.
#[derive(Clone, Copy, Debug)]
pub struct NewEntry<'a> {
    /// Name (below 100 bytes; directories end with `/`).
    pub name: &'a str,
    /// File or directory.
    pub kind: Kind,
    /// Permission bits (e.g. `0o644`).
    pub mode: u32,
    /// The file's bytes.
    pub data: &'a [u8],
}

fn put_octal(field: &mut [u8], v: u64) {
    let digits = field.len() - 1;
    let s = format!("{v:0digits$o}");
    field[..digits].copy_from_slice(&s.as_bytes()[s.len() - digits..]);
    field[digits] = 0;
}

/// A POSIX ustar archive of `entries` (owner root, time `mtime`).
///
/// Names must be shorter than 100 bytes and sizes below 8 GiB; the bundle
/// writer only passes its fixed names and bounded files.
pub fn write(entries: &[NewEntry<'_>], mtime: u64) -> Vec<u8> {
    let mut out = Vec::new();
    for e in entries {
        let mut h = [0u8; BLOCK];
        let name = e.name.as_bytes();
        let n = name.len().min(99);
        h[..n].copy_from_slice(&name[..n]);
        put_octal(&mut h[100..108], u64::from(e.mode & 0o7777));
        put_octal(&mut h[108..116], 0);
        put_octal(&mut h[116..124], 0);
        put_octal(&mut h[124..136], e.data.len() as u64);
        put_octal(&mut h[136..148], mtime.min(0o777_7777_7777));
        h[156] = match e.kind {
            Kind::File => b'0',
            Kind::Dir => b'5',
        };
        h[257..263].copy_from_slice(b"ustar\0");
        h[263..265].copy_from_slice(b"00");
        h[265..269].copy_from_slice(b"root");
        h[297..301].copy_from_slice(b"root");
        h[148..156].copy_from_slice(b"        ");
        let sum: u32 = h.iter().map(|&b| u32::from(b)).sum();
        let s = format!("{sum:06o}\0 ");
        h[148..156].copy_from_slice(s.as_bytes());
        out.extend_from_slice(&h);
        if e.kind == Kind::File {
            out.extend_from_slice(e.data);
            out.resize(out.len().div_ceil(BLOCK) * BLOCK, 0);
        }
    }
    out.resize(out.len() + 2 * BLOCK, 0);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file<'a>(name: &'a str, data: &'a [u8]) -> NewEntry<'a> {
        NewEntry {
            name,
            kind: Kind::File,
            mode: 0o644,
            data,
        }
    }

    /// A header block for `name` with `typeflag` and `size` (POSIX magic).
    fn header(name: &str, typeflag: u8, size: usize) -> Vec<u8> {
        let mut a = write(&[file(name, &vec![0; size])], 0);
        a[156] = typeflag;
        a[148..156].copy_from_slice(b"        ");
        let sum: u32 = a[..BLOCK].iter().map(|&b| u32::from(b)).sum();
        a[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
        a
    }

    #[test]
    fn round_trip() {
        let a = write(
            &[
                NewEntry {
                    name: "d/",
                    kind: Kind::Dir,
                    mode: 0o755,
                    data: &[],
                },
                file("d/a.txt", b"hello"),
                file("d/empty", b""),
                file("d/big", &[7; 1500]),
            ],
            1_700_000_000,
        );
        assert_eq!(a.len() % BLOCK, 0);
        let e = read(&a).expect("reads");
        assert_eq!(e.len(), 4);
        assert_eq!((e[0].name.as_str(), e[0].kind), ("d", Kind::Dir));
        assert_eq!((e[1].name.as_str(), e[1].data), ("d/a.txt", &b"hello"[..]));
        assert_eq!(e[2].data, b"");
        assert_eq!(e[3].data, &[7u8; 1500][..]);
    }

    #[test]
    fn names() {
        assert_eq!(normalise(b"./a/b").expect("ok"), "a/b");
        assert_eq!(normalise(b"././a/").expect("ok"), "a");
        assert_eq!(normalise(b"./").expect("ok"), "");
        assert!(matches!(
            normalise(b"/etc/passwd"),
            Err(TarError::AbsoluteName(_))
        ));
        assert!(matches!(
            normalise(b"a/../../x"),
            Err(TarError::PathTraversal(_))
        ));
        assert!(matches!(normalise(b".."), Err(TarError::PathTraversal(_))));
        for bad in [&b"a//b"[..], b"a/./b", b"a\\b", b"C:x", b""] {
            assert!(
                matches!(normalise(bad), Err(TarError::UnsafeName(_))),
                "{bad:?}"
            );
        }
        assert_eq!(normalise(&[0xff]), Err(TarError::NameNotUtf8));
    }

    #[test]
    fn refuses_bad_archives() {
        assert_eq!(read(b""), Err(TarError::NotTar));
        assert_eq!(read(&[0; 1024]), Err(TarError::NotTar));
        assert_eq!(read(&[b'x'; 1024]), Err(TarError::NotTar));
        let good = write(&[file("a", b"hi")], 0);
        assert_eq!(read(&good[..BLOCK + 10]), Err(TarError::Truncated));
        assert_eq!(read(&good[..2 * BLOCK]), Err(TarError::Truncated));
        let mut trailing = good.clone();
        trailing.push(1);
        assert_eq!(read(&trailing), Err(TarError::TrailingData));
        let mut padded = good.clone();
        padded.resize(10240, 0);
        assert!(read(&padded).is_ok());
        let mut bad_sum = good.clone();
        bad_sum[0] = b'b';
        assert_eq!(read(&bad_sum), Err(TarError::NotTar));
        assert!(matches!(
            read(&header("l", b'2', 0)),
            Err(TarError::Link(_))
        ));
        assert!(matches!(
            read(&header("l", b'1', 0)),
            Err(TarError::Link(_))
        ));
        assert!(matches!(
            read(&header("c", b'3', 0)),
            Err(TarError::Special(_))
        ));
        assert!(matches!(
            read(&header("f", b'6', 0)),
            Err(TarError::Special(_))
        ));
        assert!(matches!(
            read(&header("n", b'L', 0)),
            Err(TarError::Unsupported { typeflag: 'L', .. })
        ));
        let mut many = Vec::new();
        let names: Vec<String> = (0..=MAX_ENTRIES).map(|i| format!("f{i}")).collect();
        for n in &names {
            many.push(file(n, b""));
        }
        assert_eq!(read(&write(&many, 0)), Err(TarError::TooManyEntries));
    }

    #[test]
    fn pax_path_overrides_the_name() {
        let record = |k: &str, v: &str| {
            let body = format!(" {k}={v}\n");
            let mut len = body.len() + 1;
            while len != body.len() + len.to_string().len() {
                len = body.len() + len.to_string().len();
            }
            format!("{len}{body}")
        };
        let pax = record("path", "../escape");
        let mut a = header("PaxHeaders/x", b'x', pax.len());
        a.truncate(BLOCK);
        let mut data = pax.clone().into_bytes();
        data.resize(data.len().div_ceil(BLOCK) * BLOCK, 0);
        a.extend_from_slice(&data);
        a.extend_from_slice(&write(&[file("innocent", b"x")], 0));
        assert!(matches!(read(&a), Err(TarError::PathTraversal(_))));

        let pax = record("mtime", "1700000000.5");
        let mut a = header("PaxHeaders/x", b'x', pax.len());
        a.truncate(BLOCK);
        let mut data = pax.into_bytes();
        data.resize(BLOCK, 0);
        a.extend_from_slice(&data);
        a.extend_from_slice(&write(&[file("ok", b"x")], 0));
        let e = read(&a).expect("reads");
        assert_eq!((e.len(), e[0].name.as_str()), (1, "ok"));
    }
}
