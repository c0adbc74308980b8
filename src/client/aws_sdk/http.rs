//! The HTTP client under the SDK: aws-smithy-http-client on rustls with ring (no
//! aws-lc-rs, so no cmake), trusting the system's CA store or only a given PEM bundle,
//! the same trust as the rusoto backend's connections and the credential chain's.
//!
//! It offers HTTP/2 by ALPN on https connections as well as HTTP/1.1: the client's
//! public builder has no way to limit the offer (the rusoto backend's own connector
//! offers only `http/1.1`). S3 itself answers with HTTP/1.1; an `http://` endpoint is
//! always HTTP/1.1. See docs/architecture.md ("TLS and the advisory check").

use std::path::Path;

use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode};
use aws_smithy_runtime_api::client::http::SharedHttpClient;

use crate::client::S3Error;
use crate::client::aws::chain::tls_context;

/// The HTTPS (and plain HTTP) client of a backend built by [`super::AwsSdkS3Builder`]
/// or given an `SdkConfig` without one.
pub(super) fn http_client(ca_bundle: Option<&Path>) -> Result<SharedHttpClient, S3Error> {
    Ok(aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(CryptoMode::Ring))
        .tls_context(tls_context(ca_bundle)?)
        .build_https())
}
