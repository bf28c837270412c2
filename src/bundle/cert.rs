//! lnd's `tls.cert`: one PEM `CERTIFICATE` block whose DER parses as an
//! X.509 certificate (the structure of RFC 5280 §4.1 down to the
//! subject public key; extensions and signature are checked for shape only).

use base64::Engine as _;

/// Largest `tls.cert` accepted (lnd's is under 1 KiB).
pub const MAX_CERT_LEN: usize = 64 * 1024;

const BEGIN: &str = "-----BEGIN CERTIFICATE-----";
const END: &str = "-----END CERTIFICATE-----";

/// Why a file is not a usable PEM certificate.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CertError {
    /// Larger than [`MAX_CERT_LEN`].
    #[error("the certificate file is larger than {MAX_CERT_LEN} bytes")]
    TooLarge,
    /// Not text.
    #[error("the certificate file is not PEM text")]
    NotText,
    /// No `BEGIN CERTIFICATE` block.
    #[error("no PEM certificate found (expected lnd's tls.cert)")]
    NoCertificate,
    /// A private key where the certificate should be.
    #[error("the file holds a private key: give lnd's tls.cert, never tls.key")]
    PrivateKey,
    /// Something other than exactly one certificate block.
    #[error("expected exactly one PEM certificate and nothing else")]
    NotOneCertificate,
    /// The block's base64 is broken.
    #[error("the PEM certificate's base64 is invalid")]
    BadBase64,
    /// The DER is not an X.509 certificate.
    #[error("the PEM block is not an X.509 certificate: {0}")]
    NotX509(&'static str),
}

/// Checks `pem` and returns the certificate's DER bytes.
pub fn check_pem(pem: &[u8]) -> Result<Vec<u8>, CertError> {
    if pem.len() > MAX_CERT_LEN {
        return Err(CertError::TooLarge);
    }
    let text = core::str::from_utf8(pem).map_err(|_| CertError::NotText)?;
    if text.contains("PRIVATE KEY-----") {
        return Err(CertError::PrivateKey);
    }
    let start = text.find(BEGIN).ok_or(CertError::NoCertificate)?;
    let body_start = start + BEGIN.len();
    let end = text[body_start..]
        .find(END)
        .map(|i| body_start + i)
        .ok_or(CertError::NoCertificate)?;
    let after = &text[end + END.len()..];
    if !text[..start].trim().is_empty() || !after.trim().is_empty() {
        return Err(CertError::NotOneCertificate);
    }
    let b64: String = text[body_start..end]
        .chars()
        .filter(|c| !c.is_ascii_whitespace())
        .collect();
    let der = base64::engine::general_purpose::STANDARD
        .decode(b64.as_bytes())
        .map_err(|_| CertError::BadBase64)?;
    check_der(&der)?;
    Ok(der)
}

/// A DER TLV: tag, contents, rest.
fn tlv(data: &[u8]) -> Result<(u8, &[u8], &[u8]), CertError> {
    let bad = CertError::NotX509;
    let (&tag, rest) = data.split_first().ok_or(bad("truncated"))?;
    if tag & 0x1f == 0x1f {
        return Err(bad("multi-byte tags are not used in certificates"));
    }
    let (&l0, mut rest) = rest.split_first().ok_or(bad("truncated"))?;
    let len = if l0 < 0x80 {
        usize::from(l0)
    } else {
        let n = usize::from(l0 & 0x7f);
        if n == 0 || n > 4 {
            return Err(bad("unsupported length encoding"));
        }
        let bytes = rest.get(..n).ok_or(bad("truncated"))?;
        rest = &rest[n..];
        let v = bytes.iter().fold(0usize, |a, &b| (a << 8) | usize::from(b));
        if v < 0x80 || bytes[0] == 0 {
            return Err(bad("length is not minimally encoded"));
        }
        v
    };
    if len > rest.len() {
        return Err(bad("length runs past the end"));
    }
    Ok((tag, &rest[..len], &rest[len..]))
}

fn expect<'a>(
    data: &'a [u8],
    tag: u8,
    what: &'static str,
) -> Result<(&'a [u8], &'a [u8]), CertError> {
    let (t, body, rest) = tlv(data)?;
    if t != tag {
        return Err(CertError::NotX509(what));
    }
    Ok((body, rest))
}

const SEQUENCE: u8 = 0x30;

/// Checks the X.509 structure of a DER certificate.
pub fn check_der(der: &[u8]) -> Result<(), CertError> {
    let (cert, rest) = expect(der, SEQUENCE, "not a DER sequence")?;
    if !rest.is_empty() {
        return Err(CertError::NotX509("bytes after the certificate"));
    }
    let (tbs, cert) = expect(cert, SEQUENCE, "no tbsCertificate")?;
    let (_, cert) = expect(cert, SEQUENCE, "no signatureAlgorithm")?;
    let (_, cert) = expect(cert, 0x03, "no signature bit string")?;
    if !cert.is_empty() {
        return Err(CertError::NotX509("extra fields after the signature"));
    }
    let mut t = tbs;
    if t.first() == Some(&0xa0) {
        let (_, r) = expect(t, 0xa0, "bad version")?;
        t = r;
    }
    let (serial, t) = expect(t, 0x02, "no serial number")?;
    if serial.is_empty() {
        return Err(CertError::NotX509("empty serial number"));
    }
    let (_, t) = expect(t, SEQUENCE, "no signature algorithm in tbsCertificate")?;
    let (_, t) = expect(t, SEQUENCE, "no issuer")?;
    let (validity, t) = expect(t, SEQUENCE, "no validity")?;
    let (not_before, _, v) = tlv(validity)?;
    let (not_after, _, v) = tlv(v)?;
    let is_time = |tag: u8| tag == 0x17 || tag == 0x18;
    if !is_time(not_before) || !is_time(not_after) || !v.is_empty() {
        return Err(CertError::NotX509("bad validity"));
    }
    let (_, t) = expect(t, SEQUENCE, "no subject")?;
    let (spki, mut t) = expect(t, SEQUENCE, "no subject public key info")?;
    let (_, k) = expect(spki, SEQUENCE, "no public key algorithm")?;
    let (_, k) = expect(k, 0x03, "no public key")?;
    if !k.is_empty() {
        return Err(CertError::NotX509("bad subject public key info"));
    }
    // issuerUniqueID [1], subjectUniqueID [2], extensions [3], in order.
    let mut last = 0;
    while !t.is_empty() {
        let (tag, _, r) = tlv(t)?;
        let n = match tag {
            0x81 | 0xa1 => 1,
            0x82 | 0xa2 => 2,
            0xa3 => 3,
            _ => return Err(CertError::NotX509("unexpected field in tbsCertificate")),
        };
        if n <= last {
            return Err(CertError::NotX509("tbsCertificate fields out of order"));
        }
        last = n;
        t = r;
    }
    Ok(())
}
