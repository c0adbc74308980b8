//! The HTTP client of everything built on the AWS SDK's runtime (the credential chain's
//! STS, SSO, IMDS and container calls; the aws-sdk-s3 backend): aws-smithy-http-client
//! on rustls with ring (no aws-lc-rs, so no cmake), trusting the system's CAs or only a
//! given bundle, and going through the same proxies as the rusoto backend's connections.
//!
//! It offers HTTP/2 by ALPN on https connections as well as HTTP/1.1: the client has no
//! setting to limit the offer (the rusoto backend's own connector offers only
//! `http/1.1`). S3 itself answers with HTTP/1.1; an `http://` endpoint is always
//! HTTP/1.1. See docs/architecture.md ("TLS and the advisory check").

use std::path::Path;
use std::time::Duration;

use aws_smithy_http_client::Connector;
use aws_smithy_http_client::proxy::ProxyConfig;
use aws_smithy_http_client::tls::{self, TlsContext, TrustStore, rustls_provider::CryptoMode};
use aws_smithy_runtime_api::client::http::{
    HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient,
    SharedHttpConnector, http_client_fn,
};
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use parking_lot::Mutex;

use crate::client::transport::proxy_variable;
use crate::client::{S3Error, S3ErrorKind};

/// The proxy a builder was given (`proxy`, `no_proxy`); what is not given comes from
/// the environment, as for the rusoto backend: `HTTPS_PROXY` for https, `HTTP_PROXY`
/// for http (either case), `NO_PROXY` for the hosts that go direct. Instance and
/// container metadata requests never go through a proxy.
#[derive(Clone, Default)]
pub(crate) struct ProxyOptions {
    /// One proxy for every request (`http://[user:password@]host:port`).
    pub(crate) url: Option<String>,
    /// Hosts that bypass it, instead of `NO_PROXY`'s.
    pub(crate) no_proxy: Option<String>,
}

impl std::fmt::Debug for ProxyOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The URL may carry a password.
        f.debug_struct("ProxyOptions")
            .field("url", &self.url.as_ref().map(|_| "(set)"))
            .field("no_proxy", &self.no_proxy)
            .finish()
    }
}

impl ProxyOptions {
    /// The proxy of `scheme`'s requests (`"https"` or `"http"`), with the bypass list,
    /// read as the rusoto backend reads them (`transport::proxy_variable`): the
    /// builder's URL for every scheme, else `HTTPS_PROXY` or `HTTP_PROXY`.
    fn config(&self, scheme: &str) -> Result<ProxyConfig, S3Error> {
        let env = |name: &str| proxy_variable(|n| std::env::var(n).ok(), name);
        let url = self.url.clone().or_else(|| match scheme {
            "https" => env("HTTPS_PROXY"),
            _ => env("HTTP_PROXY"),
        });
        let Some(url) = url.filter(|u| !u.is_empty()) else {
            return Ok(ProxyConfig::disabled());
        };
        let invalid = |e: aws_smithy_http_client::proxy::ProxyError| {
            // Not the URL itself: it may carry a password.
            S3Error::new(
                S3ErrorKind::Other,
                "Configure",
                format!("invalid proxy URL: {e}"),
            )
        };
        let config = ProxyConfig::all(url.as_str()).map_err(invalid)?;
        Ok(match self.no_proxy.clone().or_else(|| env("NO_PROXY")) {
            Some(list) => config.no_proxy(list),
            None => config,
        })
    }
}

/// The instance and container metadata hosts, which no proxy may carry (a proxy cannot
/// reach a link-local address, and the role's keys would cross it in plain http): the
/// fixed addresses, and those of the endpoints the environment names (read when a
/// connector is made, not per request).
#[derive(Debug)]
struct MetadataHosts(Vec<String>);

impl MetadataHosts {
    fn from_env() -> Self {
        let fixed = [
            "169.254.169.254",
            "[fd00:ec2::254]",
            "169.254.170.2",
            "169.254.170.23",
        ]
        .map(str::to_owned);
        let named = [
            "AWS_EC2_METADATA_SERVICE_ENDPOINT",
            "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        ]
        .iter()
        .filter_map(|name| std::env::var(name).ok())
        .map(|url| host_of(&url).to_owned());
        MetadataHosts(fixed.into_iter().chain(named).collect())
    }

    /// Whether `uri` goes to one of them.
    fn contains(&self, uri: &str) -> bool {
        let host = host_of(uri);
        self.0.iter().any(|h| h == host)
    }
}

/// The host of a URL, without scheme, port or path (`[fd00:ec2::254]:80` keeps its
/// brackets).
fn host_of(uri: &str) -> &str {
    let host = uri
        .split_once("://")
        .map_or(uri, |(_, rest)| rest)
        .split('/')
        .next()
        .unwrap_or_default();
    match host.rsplit_once(':') {
        Some((h, port)) if !h.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) => h,
        _ => host,
    }
}

/// Sends each request through the connector for its scheme, and metadata requests
/// direct: one aws-smithy `ProxyConfig` holds one proxy and one bypass list, where the
/// environment can name one proxy per scheme.
#[derive(Debug)]
struct ByDestination {
    https: SharedHttpConnector,
    http: SharedHttpConnector,
    direct: SharedHttpConnector,
    metadata: MetadataHosts,
}

impl HttpConnector for ByDestination {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let uri = request.uri();
        let connector = if self.metadata.contains(uri) {
            &self.direct
        } else if uri.starts_with("https:") {
            &self.https
        } else {
            &self.http
        };
        connector.call(request)
    }
}

/// The TLS trust: the system's CAs, or only `ca_bundle`'s.
pub(crate) fn tls_context(ca_bundle: Option<&Path>) -> Result<TlsContext, S3Error> {
    let fail = |msg: String| S3Error::new(S3ErrorKind::Other, "Configure", msg);
    let store = match ca_bundle {
        None => TrustStore::empty().with_native_roots(true),
        Some(path) => {
            let pem = std::fs::read(path)
                .map_err(|e| fail(format!("cannot read the CA bundle {}: {e}", path.display())))?;
            TrustStore::empty()
                .with_native_roots(false)
                .with_pem_certificate(pem)
        }
    };
    TlsContext::builder()
        .with_trust_store(store)
        .build()
        .map_err(|e| fail(format!("TLS setup: {e}")))
}

/// The HTTP client: TLS as [`tls_context`] says, proxies as `proxy` says.
///
/// aws-smithy-http-client's own `Builder` takes no proxy, its `Connector` does; the
/// SDK asks the client for a connector per request, so the connectors are kept (one
/// per timeout setting, in practice one) to keep their connection pools.
pub(crate) fn http_client(
    ca_bundle: Option<&Path>,
    proxy: &ProxyOptions,
) -> Result<SharedHttpClient, S3Error> {
    let tls = tls_context(ca_bundle)?;
    let proxies = [
        proxy.config("https")?,
        proxy.config("http")?,
        ProxyConfig::disabled(),
    ];
    // Protects the list of connectors made so far; held only to look one up or add it.
    let made: Mutex<Vec<(TimeoutKey, SharedHttpConnector)>> = Mutex::new(Vec::new());
    Ok(http_client_fn(
        move |settings: &HttpConnectorSettings, components: &RuntimeComponents| {
            let key = (settings.connect_timeout(), settings.read_timeout());
            let mut made = made.lock();
            if let Some((_, connector)) = made.iter().find(|(k, _)| *k == key) {
                return connector.clone();
            }
            let [https, http, direct] = proxies.clone().map(|proxy| {
                let mut builder = Connector::builder().connector_settings(settings.clone());
                builder.set_sleep_impl(components.sleep_impl());
                SharedHttpConnector::new(
                    builder
                        .proxy_config(proxy)
                        .tls_provider(tls::Provider::Rustls(CryptoMode::Ring))
                        .tls_context(tls.clone())
                        .build(),
                )
            });
            let connector = SharedHttpConnector::new(ByDestination {
                https,
                http,
                direct,
                metadata: MetadataHosts::from_env(),
            });
            made.push((key, connector.clone()));
            connector
        },
    ))
}

/// What distinguishes one connector from another: its connect and read timeouts.
type TimeoutKey = (Option<Duration>, Option<Duration>);

#[cfg(test)]
mod tests {
    use super::MetadataHosts;

    #[test]
    fn metadata_endpoints_are_recognised_with_or_without_a_port() {
        let is_metadata_endpoint = |uri| MetadataHosts::from_env().contains(uri);
        assert!(is_metadata_endpoint(
            "http://169.254.169.254/latest/api/token"
        ));
        assert!(is_metadata_endpoint(
            "http://169.254.169.254:80/latest/meta-data/"
        ));
        assert!(is_metadata_endpoint(
            "http://[fd00:ec2::254]/latest/api/token"
        ));
        assert!(is_metadata_endpoint(
            "http://169.254.170.2/v2/credentials/x"
        ));
        assert!(is_metadata_endpoint("http://169.254.170.23/v1/credentials"));
        assert!(!is_metadata_endpoint(
            "https://sts.us-east-1.amazonaws.com/"
        ));
        assert!(!is_metadata_endpoint("http://169.254.169.2549/"));
        assert!(!is_metadata_endpoint(
            "https://bucket.s3.amazonaws.com/169.254.169.254"
        ));
    }
}
