//! TLS to lnd pinned to its self-signed `tls.cert`.
//!
//! lnd's certificate is self-signed with `IsCA=true` and is also the end-entity
//! certificate, which webpki refuses as a trust anchor plus leaf. Instead of
//! path building we pin it: the handshake succeeds only when the server
//! presents exactly the DER of the configured PEM as its end-entity
//! certificate. The handshake signatures (TLS 1.2 and 1.3) are still verified
//! with the ring provider's algorithms, so only the holder of lnd's private
//! key can complete the handshake. Host names and validity dates are not
//! checked: the pin is stronger than both (and lnd renews its certificate
//! itself, after which the new file must be given).
//!
//! Used by the native signer (`lnd-web-signer connect`) and by `signer-bridge`.

use std::{
    fmt,
    future::Future,
    io,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
    time::Duration,
};

use hyper_util::rt::TokioIo;
use rustls::{
    client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier},
    crypto::{ring, WebPkiSupportedAlgorithms},
    pki_types::{pem::PemObject, CertificateDer, ServerName, UnixTime},
    CertificateError, ClientConfig, DigitallySignedStruct, SignatureScheme,
};
use tokio::net::TcpStream;
use tokio_rustls::{client::TlsStream, TlsConnector};

/// Default port of lnd's remote-signer listener (`remotesigner.experimentalrpclisten`).
pub const DEFAULT_LND_SIGNER_PORT: u16 = 10019;

/// Errors building a pinned TLS configuration.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TlsError {
    /// The PEM data holds no `CERTIFICATE` section.
    #[error("no certificate found in the PEM data")]
    NoCertificate,
    /// The PEM data could not be parsed.
    #[error("cannot parse the PEM certificate: {0}")]
    Pem(String),
    /// rustls refused the configuration.
    #[error("cannot build the TLS configuration: {0}")]
    Config(#[from] rustls::Error),
}

/// Errors dialing lnd over pinned TLS. Each cause has its own variant so that
/// callers can report them distinctly.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DialError {
    /// The `HOST:PORT` string is malformed.
    #[error("invalid lnd address {addr:?}: {reason}")]
    BadAddress {
        /// The address as given.
        addr: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The TCP connection failed (refused, no route, name resolution, ...).
    #[error("lnd unreachable at {addr}: {source}")]
    Unreachable {
        /// `HOST:PORT` dialed.
        addr: String,
        /// The socket error.
        source: io::Error,
    },
    /// TCP connect plus TLS handshake did not finish in time.
    #[error("lnd unreachable at {addr}: no TLS connection within {} ms", after.as_millis())]
    Timeout {
        /// `HOST:PORT` dialed.
        addr: String,
        /// The time limit.
        after: Duration,
    },
    /// The server presented a certificate other than the pinned one.
    #[error("lnd's TLS certificate at {addr} does not match the pinned certificate")]
    CertMismatch {
        /// `HOST:PORT` dialed.
        addr: String,
    },
    /// Any other TLS failure (not TLS at all, protocol or signature error).
    #[error("TLS handshake with lnd at {addr} failed: {source}")]
    Handshake {
        /// `HOST:PORT` dialed.
        addr: String,
        /// The TLS error.
        source: io::Error,
    },
}

/// Builds a rustls client configuration (ring provider, TLS 1.2 and 1.3, ALPN
/// `h2`) that accepts exactly the first certificate of `cert_pem` as the
/// server's end-entity certificate.
pub fn pinned_client_config(cert_pem: &[u8]) -> Result<ClientConfig, TlsError> {
    let der = CertificateDer::pem_slice_iter(cert_pem)
        .next()
        .ok_or(TlsError::NoCertificate)?
        .map_err(|e| TlsError::Pem(e.to_string()))?;
    let provider = Arc::new(ring::default_provider());
    let verifier = PinnedCert {
        der: der.as_ref().to_vec(),
        algs: provider.signature_verification_algorithms,
    };
    let mut config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth();
    config.alpn_protocols = vec![b"h2".to_vec()];
    Ok(config)
}

/// Server-certificate verifier that pins one DER certificate.
#[derive(Debug)]
struct PinnedCert {
    der: Vec<u8>,
    algs: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for PinnedCert {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if end_entity.as_ref() == self.der.as_slice() {
            Ok(ServerCertVerified::assertion())
        } else {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::ApplicationVerificationFailure,
            ))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algs)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algs)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algs.supported_schemes()
    }
}

/// Splits `HOST:PORT` (`[v6]:PORT` for IPv6; a missing port means 10019).
pub fn split_host_port(addr: &str) -> Result<(String, u16), DialError> {
    let bad = |reason| DialError::BadAddress {
        addr: addr.to_string(),
        reason,
    };
    let (host, port) = if let Some(rest) = addr.strip_prefix('[') {
        let (host, after) = rest.split_once(']').ok_or(bad("missing ']'"))?;
        match after.strip_prefix(':') {
            Some(p) => (host, Some(p)),
            None if after.is_empty() => (host, None),
            None => return Err(bad("unexpected text after ']'")),
        }
    } else {
        match addr.rsplit_once(':') {
            Some((h, _)) if h.contains(':') => {
                return Err(bad("IPv6 addresses must be written as [ADDR]:PORT"))
            }
            Some((h, p)) => (h, Some(p)),
            None => (addr, None),
        }
    };
    if host.is_empty() {
        return Err(bad("empty host"));
    }
    let port = match port {
        Some(p) => p.parse::<u16>().map_err(|_| bad("port is not a number"))?,
        None => DEFAULT_LND_SIGNER_PORT,
    };
    Ok((host.to_string(), port))
}

/// The connection type produced by [`PinnedConnector`].
pub type PinnedIo = TokioIo<TlsStream<TcpStream>>;

/// Dials one fixed lnd address over pinned TLS. Implements
/// `tower_service::Service<http::Uri>` for tonic's
/// `Endpoint::connect_with_connector`; the URI is ignored (give the endpoint
/// `http://HOST:PORT` so tonic does not add TLS of its own).
#[derive(Clone)]
pub struct PinnedConnector {
    config: Arc<ClientConfig>,
    host: String,
    port: u16,
    addr: String,
    timeout: Duration,
}

impl fmt::Debug for PinnedConnector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PinnedConnector")
            .field("addr", &self.addr)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl PinnedConnector {
    /// Connector for `addr` (`HOST:PORT`) with a limit on TCP connect plus
    /// TLS handshake.
    pub fn new(
        config: Arc<ClientConfig>,
        addr: &str,
        timeout: Duration,
    ) -> Result<Self, DialError> {
        let (host, port) = split_host_port(addr)?;
        // Validate the server name now so dialing cannot fail on it later.
        ServerName::try_from(host.clone()).map_err(|_| DialError::BadAddress {
            addr: addr.to_string(),
            reason: "host is not a valid DNS name or IP address",
        })?;
        Ok(Self {
            config,
            host,
            port,
            addr: addr.to_string(),
            timeout,
        })
    }

    /// The address this connector dials, as given.
    pub fn addr(&self) -> &str {
        &self.addr
    }

    /// Opens a TCP connection and completes the pinned TLS handshake.
    pub async fn dial(&self) -> Result<PinnedIo, DialError> {
        let addr = self.addr.clone();
        let fut = dial(
            Arc::clone(&self.config),
            self.host.clone(),
            self.port,
            addr.clone(),
        );
        match tokio::time::timeout(self.timeout, fut).await {
            Ok(result) => result,
            Err(_) => Err(DialError::Timeout {
                addr,
                after: self.timeout,
            }),
        }
    }
}

async fn dial(
    config: Arc<ClientConfig>,
    host: String,
    port: u16,
    addr: String,
) -> Result<PinnedIo, DialError> {
    let server_name = ServerName::try_from(host.clone()).map_err(|_| DialError::BadAddress {
        addr: addr.clone(),
        reason: "host is not a valid DNS name or IP address",
    })?;
    let tcp = TcpStream::connect((host.as_str(), port))
        .await
        .map_err(|source| DialError::Unreachable {
            addr: addr.clone(),
            source,
        })?;
    // Latency matters more than throughput on the signer stream.
    let _ = tcp.set_nodelay(true);
    let tls = TlsConnector::from(config)
        .connect(server_name, tcp)
        .await
        .map_err(|source| classify_handshake_error(addr, source))?;
    Ok(TokioIo::new(tls))
}

fn classify_handshake_error(addr: String, source: io::Error) -> DialError {
    let mismatch = source
        .get_ref()
        .and_then(|e| e.downcast_ref::<rustls::Error>())
        .is_some_and(|e| {
            matches!(
                e,
                rustls::Error::InvalidCertificate(CertificateError::ApplicationVerificationFailure)
            )
        });
    if mismatch {
        DialError::CertMismatch { addr }
    } else {
        DialError::Handshake { addr, source }
    }
}

impl tower_service::Service<http::Uri> for PinnedConnector {
    type Response = PinnedIo;
    type Error = DialError;
    type Future = Pin<Box<dyn Future<Output = Result<PinnedIo, DialError>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, _uri: http::Uri) -> Self::Future {
        let this = self.clone();
        Box::pin(async move { this.dial().await })
    }
}

/// Finds a [`DialError`] in the source chain of an error (for example a
/// `tonic::transport::Error` returned by `Endpoint::connect_with_connector`).
pub fn find_dial_error<'a>(err: &'a (dyn std::error::Error + 'static)) -> Option<&'a DialError> {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = cur {
        if let Some(d) = e.downcast_ref::<DialError>() {
            return Some(d);
        }
        cur = e.source();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_port_forms() {
        let ok = |s: &str| split_host_port(s).expect("valid address");
        assert_eq!(ok("localhost:10019"), ("localhost".into(), 10019));
        assert_eq!(ok("127.0.0.1:1"), ("127.0.0.1".into(), 1));
        assert_eq!(ok("[::1]:443"), ("::1".into(), 443));
        assert_eq!(ok("[::1]"), ("::1".into(), DEFAULT_LND_SIGNER_PORT));
        assert_eq!(ok("lnd"), ("lnd".into(), DEFAULT_LND_SIGNER_PORT));
        for bad in [
            "",
            ":10019",
            "::1:10019",
            "host:port",
            "host:70000",
            "[::1",
            "[::1]x",
        ] {
            assert!(split_host_port(bad).is_err(), "{bad:?} should be rejected");
        }
    }

    #[test]
    fn pem_errors() {
        assert!(matches!(
            pinned_client_config(b"not a pem"),
            Err(TlsError::NoCertificate)
        ));
        let broken = b"-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n";
        assert!(matches!(
            pinned_client_config(broken),
            Err(TlsError::Pem(_))
        ));
    }
}
