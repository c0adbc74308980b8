//! The HTTP side of the rusoto backend: hyper connectors for the endpoint's scheme, with
//! the connect timeout and TCP_NODELAY, through the configured proxy (see `proxy`),
//! under rusoto's `HttpClient`.
//!
//! Every connection the backend makes comes from here, through
//! `HttpClient::from_connector`. rusoto_core's own connector (`HttpClient::new`, behind
//! `Client::shared` and `S3Client::new`) is never built: it is hyper-rustls 0.23 on
//! rustls 0.20 and ring 0.16, with HTTP/2 on, and `.cargo/audit.toml` ignores their
//! advisories on the strength of that.

use std::future::Future;
use std::io;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use hyper::Uri;
use hyper::client::HttpConnector;
use hyper::client::connect::{Connected, Connection};
use hyper::service::Service;
use rusoto_core::request::DispatchSignedRequestFuture;
use rusoto_core::signature::SignedRequest;
use rusoto_core::{DispatchSignedRequest, HttpClient, Region};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

use super::proxy::{Proxies, Proxy};
use crate::client::{S3Error, S3ErrorKind};

/// The certificates a TLS connection trusts.
#[derive(Clone, Debug)]
pub(super) enum TrustRoots {
    /// The system's CA store, as rustls-native-certs finds it (SSL_CERT_FILE and
    /// SSL_CERT_DIR included).
    Native,
    /// Only the certificates in this PEM file.
    Bundle(PathBuf),
}

/// The HTTP client for the endpoint's scheme.
pub(super) enum Transport {
    /// An `http://` endpoint (local and on-premises stores): plain sockets, kept apart
    /// from TLS on purpose. hyper writes a request's headers and body chunks with one
    /// vectored write here; behind a TLS stream every body byte is copied (measured: an
    /// eighth of a file upload's CPU).
    Plain(HttpClient<HttpConnector>),
    /// An `http://` endpoint with an HTTP proxy configured: requests in absolute form
    /// to the proxy (hosts in `NO_PROXY` direct).
    PlainProxied(HttpClient<ProxiedHttp>, Arc<Proxies>),
    /// AWS and every `https://` endpoint (through a CONNECT tunnel when an https
    /// proxy is configured).
    Tls(HttpClient<TlsConnector>),
}

impl Transport {
    /// The client for `region`'s endpoint: plain sockets for an `http://` endpoint,
    /// TLS trusting `roots` otherwise (the roots are not read for `http://`).
    pub(super) fn for_region(
        region: &Region,
        connect_timeout: Duration,
        roots: &TrustRoots,
        proxies: Proxies,
    ) -> Result<Transport, S3Error> {
        let proxies = Arc::new(proxies);
        let plain_http = match region {
            Region::Custom { endpoint, .. } => endpoint.starts_with("http://"),
            _ => false,
        };
        Ok(if plain_http && proxies.http.is_some() {
            let connector = ProxiedHttp {
                tcp: tcp_connector(connect_timeout),
                proxies: proxies.clone(),
            };
            Transport::PlainProxied(HttpClient::from_connector(connector), proxies)
        } else if plain_http {
            Transport::Plain(HttpClient::from_connector(tcp_connector(connect_timeout)))
        } else {
            Transport::Tls(HttpClient::from_connector(TlsConnector::new(
                connect_timeout,
                roots,
                proxies,
            )?))
        })
    }

    /// Send a signed request with whichever client this is.
    pub(super) fn dispatch(
        &self,
        request: SignedRequest,
        timeout: Option<Duration>,
    ) -> DispatchSignedRequestFuture {
        match self {
            Transport::Plain(http) => http.dispatch(request, timeout),
            Transport::PlainProxied(http, proxies) => {
                let mut request = request;
                // The proxy reads its credentials from each request in absolute form.
                // Not a signed header: adding it after signing keeps the signature.
                let hostname = request.hostname();
                let host = hostname
                    .rsplit_once(':')
                    .map_or(hostname.as_str(), |(h, _)| h);
                if let Some(auth) = proxies
                    .for_host("http", host)
                    .and_then(|p| p.authorization.clone())
                {
                    request.add_header("Proxy-Authorization", &auth);
                }
                http.dispatch(request, timeout)
            }
            Transport::Tls(http) => http.dispatch(request, timeout),
        }
    }
}

/// Sockets with the connect timeout.
fn tcp_connector(connect_timeout: Duration) -> HttpConnector {
    let mut tcp = HttpConnector::new();
    tcp.set_connect_timeout(Some(connect_timeout));
    // A request's last small segment must not wait for the ACK of the one before it
    // (Nagle's algorithm meeting the server's delayed ACK: 40 ms on Linux).
    tcp.set_nodelay(true);
    tcp
}

fn configure_error(message: String) -> S3Error {
    S3Error::new(S3ErrorKind::Other, "Configure", message)
}

/// `https://` connections: a socket from [`tcp_connector`], then a rustls 0.23
/// handshake that offers HTTP/1.1 only, so hyper never speaks HTTP/2 (h2 0.3) on it.
#[derive(Clone)]
pub(super) struct TlsConnector {
    tcp: HttpConnector,
    tls: tokio_rustls::TlsConnector,
    proxies: Arc<Proxies>,
}

impl TlsConnector {
    fn new(
        connect_timeout: Duration,
        roots: &TrustRoots,
        proxies: Arc<Proxies>,
    ) -> Result<TlsConnector, S3Error> {
        let mut tcp = tcp_connector(connect_timeout);
        // HttpConnector refuses https:// URIs unless told the layer above handles TLS.
        tcp.enforce_http(false);
        // An explicit provider: the process-wide default would panic if another crate
        // in the application turned on rustls' aws-lc-rs as well.
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| configure_error(format!("TLS setup failed: {e}")))?
            .with_root_certificates(root_store(roots)?)
            .with_no_client_auth();
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(TlsConnector {
            tcp,
            tls: tokio_rustls::TlsConnector::from(Arc::new(config)),
            proxies,
        })
    }
}

fn root_store(roots: &TrustRoots) -> Result<rustls::RootCertStore, S3Error> {
    let (certs, source) = match roots {
        TrustRoots::Native => {
            let found = rustls_native_certs::load_native_certs();
            if found.certs.is_empty() {
                let why = found
                    .errors
                    .first()
                    .map(|e| format!(" ({e})"))
                    .unwrap_or_default();
                return Err(configure_error(format!(
                    "TLS setup failed: no CA certificates found in the system store{why}"
                )));
            }
            (found.certs, "the system store".to_owned())
        }
        TrustRoots::Bundle(path) => (read_bundle(path)?, format!("{}", path.display())),
    };
    let mut store = rustls::RootCertStore::empty();
    // A system store commonly holds a few certificates rustls cannot use (old
    // algorithms, odd encodings); skipping them is what every rustls client does.
    let (added, _skipped) = store.add_parsable_certificates(certs);
    if added == 0 {
        return Err(configure_error(format!(
            "TLS setup failed: no usable CA certificate in {source}"
        )));
    }
    Ok(store)
}

fn read_bundle(path: &Path) -> Result<Vec<CertificateDer<'static>>, S3Error> {
    let fail =
        |e: &dyn std::fmt::Display| configure_error(format!("CA bundle {}: {e}", path.display()));
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| fail(&e))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| fail(&e))?;
    if certs.is_empty() {
        return Err(fail(&"no PEM CERTIFICATE block"));
    }
    Ok(certs)
}

type ConnectError = Box<dyn std::error::Error + Send + Sync>;

impl Service<Uri> for TlsConnector {
    type Response = TlsStream;
    type Error = ConnectError;
    type Future = Pin<Box<dyn Future<Output = Result<TlsStream, ConnectError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), ConnectError>> {
        self.tcp.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, uri: Uri) -> Self::Future {
        // Only an https:// endpoint reaches this connector (for_region); anything else
        // would be a plaintext request to a client that promised TLS.
        if uri.scheme_str() != Some("https") {
            return Box::pin(async move {
                Err(format!("the TLS connector refuses {uri}: not https://").into())
            });
        }
        // An IPv6 literal comes bracketed in a URI, bare in a certificate.
        let host = uri
            .host()
            .unwrap_or_default()
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        let port = uri.port_u16().unwrap_or(443);
        let proxy = self.proxies.for_host("https", &host).cloned();
        let connecting = match &proxy {
            Some(p) => match proxy_uri(p) {
                Ok(proxy_uri) => self.tcp.call(proxy_uri),
                Err(e) => return Box::pin(async move { Err(e) }),
            },
            None => self.tcp.call(uri),
        };
        let tls = self.tls.clone();
        Box::pin(async move {
            let name = ServerName::try_from(host.clone())?;
            let socket = connecting.await?;
            let socket = match proxy {
                Some(p) => p.connect_tunnel(socket, &host, port).await?,
                None => socket,
            };
            match tls.connect(name, socket).await {
                Ok(stream) => Ok(TlsStream(stream)),
                Err(err) => Err(handshake_error(err)),
            }
        })
    }
}

/// The URI that makes the TCP connector dial `proxy`.
fn proxy_uri(proxy: &Proxy) -> Result<Uri, ConnectError> {
    let host = if proxy.host.contains(':') {
        format!("[{}]", proxy.host)
    } else {
        proxy.host.clone()
    };
    Ok(format!("http://{host}:{}", proxy.port).parse::<Uri>()?)
}

/// `http://` connections when an HTTP proxy is configured: to the proxy, marked as
/// proxied so that hyper writes requests in absolute form, or straight to the host for
/// a `NO_PROXY` host.
#[derive(Clone)]
pub(super) struct ProxiedHttp {
    tcp: HttpConnector,
    proxies: Arc<Proxies>,
}

impl Service<Uri> for ProxiedHttp {
    type Response = PlainStream;
    type Error = ConnectError;
    type Future = Pin<Box<dyn Future<Output = Result<PlainStream, ConnectError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), ConnectError>> {
        self.tcp.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, uri: Uri) -> Self::Future {
        let host = uri.host().unwrap_or_default().to_owned();
        let (connecting, proxied) = match self.proxies.for_host("http", &host) {
            Some(p) => match proxy_uri(p) {
                Ok(proxy_uri) => (self.tcp.call(proxy_uri), true),
                Err(e) => return Box::pin(async move { Err(e) }),
            },
            None => (self.tcp.call(uri), false),
        };
        Box::pin(async move {
            Ok(PlainStream {
                socket: connecting.await?,
                proxied,
            })
        })
    }
}

/// A plain socket that may lead to a proxy.
pub(super) struct PlainStream {
    socket: TcpStream,
    proxied: bool,
}

impl Connection for PlainStream {
    fn connected(&self) -> Connected {
        self.socket.connected().proxy(self.proxied)
    }
}

impl AsyncRead for PlainStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.socket).poll_read(cx, buf)
    }
}

impl AsyncWrite for PlainStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.socket).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.socket).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.socket.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.socket).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.socket).poll_shutdown(cx)
    }
}

/// Marks a handshake that failed on the server's certificate or on what the two sides
/// support: sending the request again meets the same certificate, so the error mapping
/// (`errors.rs`) classes a dispatch failure carrying it as not retryable instead of
/// transient.
pub(super) const TLS_REFUSED: &str = "TLS handshake refused";

/// A failed handshake as hyper passes it on: a refusal that will not pass
/// ([`TLS_REFUSED`]) or the I/O error as it came (a reset or a timeout may pass).
fn handshake_error(err: io::Error) -> ConnectError {
    let permanent = err
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
        .is_some_and(crate::client::transport::answers::is_permanent_tls_refusal);
    if permanent {
        format!("{TLS_REFUSED}: {err}").into()
    } else {
        err.into()
    }
}

/// A TLS connection as hyper wants it: tokio's I/O traits plus `Connection`.
pub(super) struct TlsStream(tokio_rustls::client::TlsStream<TcpStream>);

impl Connection for TlsStream {
    fn connected(&self) -> Connected {
        // Never `negotiated_h2`: HTTP/2 is not offered, so hyper stays on HTTP/1.1.
        self.0.get_ref().0.connected()
    }
}

impl AsyncRead for TlsStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl AsyncWrite for TlsStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.0.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }
}
