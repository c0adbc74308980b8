//! The HTTP side of the rusoto backend: hyper connectors for the endpoint's scheme, with
//! the connect timeout and TCP_NODELAY, under rusoto's `HttpClient`.

use std::time::Duration;

use rusoto_core::request::DispatchSignedRequestFuture;
use rusoto_core::signature::SignedRequest;
use rusoto_core::{DispatchSignedRequest, HttpClient, Region};

use crate::client::{S3Error, S3ErrorKind};

/// The HTTP client for the endpoint's scheme.
pub(super) enum Transport {
    /// An `http://` endpoint (local and on-premises stores): plain sockets. hyper
    /// writes a request's headers and body chunks with one vectored write here; behind
    /// the TLS connector's stream, which has no vectored writes, it first copies every
    /// body byte into its own buffer (an eighth of a file upload's CPU).
    Plain(HttpClient<hyper::client::HttpConnector>),
    /// AWS and every `https://` endpoint (also accepts `http://`).
    Tls(HttpClient),
}

impl Transport {
    /// The client for `region`'s endpoint: plain sockets for an `http://` endpoint,
    /// TLS (which takes both schemes) otherwise.
    pub(super) fn for_region(
        region: &Region,
        connect_timeout: Duration,
    ) -> Result<Transport, S3Error> {
        let plain_http = match region {
            Region::Custom { endpoint, .. } => endpoint.starts_with("http://"),
            _ => false,
        };
        Ok(if plain_http {
            Transport::Plain(HttpClient::from_connector(tcp_connector(connect_timeout)))
        } else {
            Transport::Tls(HttpClient::from_connector(tls_connector(connect_timeout)?))
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
            Transport::Tls(http) => http.dispatch(request, timeout),
        }
    }
}

/// Sockets with the connect timeout.
fn tcp_connector(connect_timeout: Duration) -> hyper::client::HttpConnector {
    let mut tcp = hyper::client::HttpConnector::new();
    tcp.set_connect_timeout(Some(connect_timeout));
    // A request's last small segment must not wait for the ACK of the one before it
    // (Nagle's algorithm meeting the server's delayed ACK: 40 ms on Linux).
    tcp.set_nodelay(true);
    tcp
}

/// rusoto's own HttpClient::new() is https-only under `rustls`; this connector takes
/// both schemes. hyper-rustls panics when the system has no CA certificates: reported.
fn tls_connector(
    connect_timeout: Duration,
) -> Result<hyper_rustls::HttpsConnector<hyper::client::HttpConnector>, S3Error> {
    std::panic::catch_unwind(move || {
        let mut tcp = tcp_connector(connect_timeout);
        // The TLS layer above decides the scheme; this one only opens sockets.
        tcp.enforce_http(false);
        hyper_rustls::HttpsConnectorBuilder::new()
            .with_native_roots()
            .https_or_http()
            .enable_http1()
            .enable_http2()
            .wrap_connector(tcp)
    })
    .map_err(|_| {
        S3Error::new(
            S3ErrorKind::Other,
            "Configure",
            "TLS setup failed: no CA certificates found",
        )
    })
}
