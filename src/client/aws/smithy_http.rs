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
    HttpConnectorSettings, SharedHttpClient, SharedHttpConnector, http_client_fn,
};
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use parking_lot::Mutex;

use crate::client::{S3Error, S3ErrorKind};

/// The proxy a builder was given (`proxy`, `no_proxy`); what is not given comes from
/// the environment, as for the rusoto backend: `HTTPS_PROXY` for https, `HTTP_PROXY`
/// for http (either case), `NO_PROXY` for the hosts that go direct.
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
    fn config(&self) -> Result<ProxyConfig, S3Error> {
        let env = |names: [&str; 2]| names.iter().find_map(|n| std::env::var(n).ok());
        let no_proxy = self
            .no_proxy
            .clone()
            .or_else(|| env(["no_proxy", "NO_PROXY"]));
        let invalid = |e: aws_smithy_http_client::proxy::ProxyError| {
            // Not the URL itself: it may carry a password.
            S3Error::new(
                S3ErrorKind::Other,
                "Configure",
                format!("invalid proxy URL: {e}"),
            )
        };
        let config = match (&self.url, &self.no_proxy) {
            (Some(url), _) => ProxyConfig::all(url.as_str()).map_err(invalid)?,
            // The environment's own reading (hyper-util's, the same variables).
            (None, None) => return Ok(ProxyConfig::from_env()),
            // A caller's bypass list over the environment's proxies: the https one,
            // which the chain's STS and SSO calls and an AWS endpoint use; the
            // metadata endpoints are plain http and should not be proxied anyway.
            (None, Some(_)) => match env(["https_proxy", "HTTPS_PROXY"]) {
                Some(url) => ProxyConfig::https(url.as_str()).map_err(invalid)?,
                None => match env(["http_proxy", "HTTP_PROXY"]) {
                    Some(url) => ProxyConfig::http(url.as_str()).map_err(invalid)?,
                    None => return Ok(ProxyConfig::disabled()),
                },
            },
        };
        Ok(match no_proxy {
            Some(list) => config.no_proxy(list),
            None => config,
        })
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
    let proxy = proxy.config()?;
    // Protects the list of connectors made so far; held only to look one up or add it.
    let made: Mutex<Vec<(TimeoutKey, SharedHttpConnector)>> = Mutex::new(Vec::new());
    Ok(http_client_fn(
        move |settings: &HttpConnectorSettings, components: &RuntimeComponents| {
            let key = (settings.connect_timeout(), settings.read_timeout());
            let mut made = made.lock();
            if let Some((_, connector)) = made.iter().find(|(k, _)| *k == key) {
                return connector.clone();
            }
            let mut builder = Connector::builder().connector_settings(settings.clone());
            builder.set_sleep_impl(components.sleep_impl());
            let connector = SharedHttpConnector::new(
                builder
                    .proxy_config(proxy.clone())
                    .tls_provider(tls::Provider::Rustls(CryptoMode::Ring))
                    .tls_context(tls.clone())
                    .build(),
            );
            made.push((key, connector.clone()));
            connector
        },
    ))
}

/// What distinguishes one connector from another: its connect and read timeouts.
type TimeoutKey = (Option<Duration>, Option<Duration>);
