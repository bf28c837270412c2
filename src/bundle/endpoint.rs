//! `endpoint.json` of a signer bundle: where the signer reaches lnd, either
//! directly (`{"rpchost": "host:port"}`, the native signer) or through
//! signer-bridge behind Envoy (`{"bridge_url": "https://…"}`, the browser
//! tab, extension and worker).

/// Largest `endpoint.json` accepted.
pub const MAX_ENDPOINT_LEN: usize = 4 * 1024;
/// Longest `rpchost`.
const MAX_RPCHOST_LEN: usize = 255;
/// Longest `bridge_url`.
const MAX_URL_LEN: usize = 2048;

/// Where a signer reaches the watch-only node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Endpoint {
    /// `HOST:PORT` of lnd's `remotesigner.experimentalrpclisten`.
    RpcHost(String),
    /// URL of signer-bridge's grpc-web endpoint (https, or http on loopback).
    BridgeUrl(String),
}

/// Why an endpoint is refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EndpointError {
    /// Larger than [`MAX_ENDPOINT_LEN`].
    #[error("endpoint.json is larger than {MAX_ENDPOINT_LEN} bytes")]
    TooLarge,
    /// Not a JSON object with exactly one of the two keys.
    #[error(
        r#"endpoint.json must be {{"rpchost": "host:port"}} or {{"bridge_url": "https://…"}}: {0}"#
    )]
    BadJson(String),
    /// A bad `host:port`.
    #[error("rpchost {value:?} is not host:port: {reason}")]
    BadRpcHost {
        /// The value.
        value: String,
        /// What is wrong.
        reason: &'static str,
    },
    /// A bad bridge URL.
    #[error("bridge_url {value:?} is invalid: {reason}")]
    BadUrl {
        /// The value.
        value: String,
        /// What is wrong.
        reason: &'static str,
    },
}

fn shown(s: &str) -> String {
    s.chars().take(80).collect()
}

fn check_host(host: &str) -> Result<(), &'static str> {
    if host.is_empty() {
        return Err("the host is empty");
    }
    if let Some(inner) = host.strip_prefix('[') {
        let inner = inner.strip_suffix(']').ok_or("unclosed '[' in the host")?;
        if inner.is_empty()
            || !inner
                .chars()
                .all(|c| c.is_ascii_hexdigit() || c == ':' || c == '.' || c == '%')
        {
            return Err("bad IPv6 address");
        }
        return Ok(());
    }
    if host.contains(':') {
        return Err("an IPv6 address needs brackets, e.g. [::1]:10019");
    }
    if !host
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.' || c == '_')
    {
        return Err("the host has characters a host name cannot have");
    }
    Ok(())
}

fn check_port(port: &str) -> Result<(), &'static str> {
    match port.parse::<u16>() {
        Ok(p) if p > 0 && port.bytes().all(|b| b.is_ascii_digit()) => Ok(()),
        _ => Err("the port is not a number from 1 to 65535"),
    }
}

fn is_loopback(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost") || host == "[::1]" || host.starts_with("127.")
}

impl Endpoint {
    /// A checked `host:port` (IPv6 in brackets).
    pub fn rpchost(value: &str) -> Result<Endpoint, EndpointError> {
        let err = |reason| EndpointError::BadRpcHost {
            value: shown(value),
            reason,
        };
        if value.len() > MAX_RPCHOST_LEN {
            return Err(err("too long"));
        }
        if value.contains("://") {
            return Err(err("give host:port without a scheme"));
        }
        let (host, port) = value.rsplit_once(':').ok_or(err("no :port"))?;
        check_host(host).map_err(err)?;
        check_port(port).map_err(err)?;
        Ok(Endpoint::RpcHost(value.to_owned()))
    }

    /// A checked bridge URL: `https://host[:port][/path]`, or `http://` for
    /// a loopback host only (the page and worker refuse plain http elsewhere).
    pub fn bridge_url(value: &str) -> Result<Endpoint, EndpointError> {
        let err = |reason| EndpointError::BadUrl {
            value: shown(value),
            reason,
        };
        if value.len() > MAX_URL_LEN {
            return Err(err("too long"));
        }
        if value.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(err("it contains whitespace or control characters"));
        }
        let (https, rest) = if let Some(r) = value.strip_prefix("https://") {
            (true, r)
        } else if let Some(r) = value.strip_prefix("http://") {
            (false, r)
        } else {
            return Err(err("it must start with https://"));
        };
        let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
        if authority.contains('@') {
            return Err(err("credentials in the URL are not allowed"));
        }
        let host = match authority.rsplit_once(':') {
            Some((h, p)) if !p.contains(']') => {
                check_port(p).map_err(err)?;
                h
            }
            _ => authority,
        };
        check_host(host).map_err(err)?;
        if !https && !is_loopback(host) {
            return Err(err(
                "plain http is allowed only for a loopback host; use https://",
            ));
        }
        Ok(Endpoint::BridgeUrl(value.to_owned()))
    }

    /// The address or URL.
    pub fn as_str(&self) -> &str {
        match self {
            Endpoint::RpcHost(s) | Endpoint::BridgeUrl(s) => s,
        }
    }

    /// `endpoint.json`: `{"rpchost": "…"}` or `{"bridge_url": "…"}` and a
    /// line end.
    pub fn to_json(&self) -> String {
        let (key, value) = match self {
            Endpoint::RpcHost(v) => ("rpchost", v),
            Endpoint::BridgeUrl(v) => ("bridge_url", v),
        };
        let value = serde_json::Value::String(value.clone()).to_string();
        format!("{{\"{key}\": {value}}}\n")
    }

    /// Parses and checks `endpoint.json`.
    pub fn from_json(data: &[u8]) -> Result<Endpoint, EndpointError> {
        #[derive(serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Raw {
            rpchost: Option<String>,
            bridge_url: Option<String>,
        }
        if data.len() > MAX_ENDPOINT_LEN {
            return Err(EndpointError::TooLarge);
        }
        let raw: Raw = serde_json::from_slice(data).map_err(|e| {
            let msg = e.to_string();
            EndpointError::BadJson(msg.chars().take(120).collect())
        })?;
        match (raw.rpchost, raw.bridge_url) {
            (Some(h), None) => Endpoint::rpchost(&h),
            (None, Some(u)) => Endpoint::bridge_url(&u),
            (Some(_), Some(_)) => Err(EndpointError::BadJson(
                "it has both rpchost and bridge_url".into(),
            )),
            (None, None) => Err(EndpointError::BadJson(
                "it has neither rpchost nor bridge_url".into(),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rpchost() {
        for ok in [
            "lnd:10019",
            "127.0.0.1:10019",
            "[::1]:10019",
            "node-1.example.com:1",
        ] {
            assert_eq!(
                Endpoint::rpchost(ok).expect(ok),
                Endpoint::RpcHost(ok.into())
            );
        }
        for bad in [
            "lnd",
            ":10019",
            "lnd:0",
            "lnd:65536",
            "lnd:+1",
            "::1:10019",
            "https://lnd:10019",
            "l nd:1",
            "[::1:1",
        ] {
            assert!(Endpoint::rpchost(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn bridge_url() {
        for ok in [
            "https://lnd.example.com/bridge",
            "https://lnd.example.com:8443",
            "http://127.0.0.1:8090",
            "http://localhost:8090/",
            "http://[::1]:8090",
        ] {
            assert!(Endpoint::bridge_url(ok).is_ok(), "{ok}");
        }
        for bad in [
            "http://example.com",
            "ftp://x",
            "https://",
            "https://u:p@host",
            "https://host:99999",
            "https://ho st",
            "lnd:10019",
        ] {
            assert!(Endpoint::bridge_url(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn json() {
        let e = Endpoint::rpchost("lnd:10019").expect("ok");
        assert_eq!(e.to_json(), "{\"rpchost\": \"lnd:10019\"}\n");
        assert_eq!(Endpoint::from_json(e.to_json().as_bytes()), Ok(e));
        let u = Endpoint::bridge_url("https://x.example/b").expect("ok");
        assert_eq!(u.to_json(), "{\"bridge_url\": \"https://x.example/b\"}\n");
        assert_eq!(Endpoint::from_json(u.to_json().as_bytes()), Ok(u));
        for bad in [
            &b"[]"[..],
            b"{}",
            b"{\"rpchost\": 1}",
            b"{\"rpchost\": \"a:1\", \"bridge_url\": \"https://a\"}",
            b"{\"rpchost\": \"a:1\", \"extra\": 1}",
            b"{\"rpchost\": \"a:1\", \"rpchost\": \"b:1\"}",
            b"not json",
            b"{\"rpchost\": \"nope\"}",
        ] {
            assert!(
                Endpoint::from_json(bad).is_err(),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
    }
}
