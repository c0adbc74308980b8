//! Configuring the rusoto backend: [`RusotoS3Builder`] with its endpoint, region,
//! credentials, timeouts and runtime size, and the defaults of each.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use rusoto_core::Region;
use rusoto_core::credential::{DefaultCredentialsProvider, StaticProvider};
use rusoto_s3::S3Client;

use super::connector::{Transport, TrustRoots};
use super::errors::EmbeddedErrorDispatcher;
use super::runtime::new_runtime;
use super::{Inner, RusotoS3, Timeouts};
use crate::client::{S3Error, S3ErrorKind};

/// Default for `RusotoS3Builder::request_timeout`: 60 s. Long enough for a
/// CompleteMultipartUpload of a large object (S3 may take tens of seconds before it
/// answers), short enough that a dead server does not hold a worker for minutes.
const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(60);
/// A TCP connect that takes longer than this is not going to succeed: the host is down
/// or the packets are dropped. Well above a cross-region round trip, well below the
/// minutes an OS may otherwise wait.
const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Default for `RusotoS3Builder::body_read_timeout`: 30 s without a single byte of a
/// GetObject body means the connection is stuck; a retry on a fresh one is faster.
const DEFAULT_BODY_READ_TIMEOUT: Duration = Duration::from_secs(30);
/// Default for `RusotoS3Builder::body_send_timeout`: 30 s during which the transport
/// accepted no chunk of an upload body (the server stopped reading, or never connected).
const DEFAULT_BODY_SEND_TIMEOUT: Duration = Duration::from_secs(30);
/// Default for `RusotoS3Builder::worker_threads`: 2. Measured: one or two workers
/// drive hyper at full loopback speed; the work is I/O, not CPU.
const DEFAULT_WORKER_THREADS: usize = 2;
/// Region used when none is set.
const DEFAULT_REGION: &str = "us-east-1";

/// Builder for [`RusotoS3`]. Every setting has a documented default; only the
/// endpoint (for non-AWS stores) and credentials usually need setting.
#[derive(Clone)]
pub struct RusotoS3Builder {
    endpoint: Option<String>,
    region: Option<String>,
    credentials: Option<(String, String, Option<String>)>,
    request_timeout: Duration,
    connect_timeout: Duration,
    body_read_timeout: Duration,
    body_send_timeout: Duration,
    worker_threads: usize,
    ca_bundle: Option<PathBuf>,
}

impl fmt::Debug for RusotoS3Builder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print the secret key or token.
        f.debug_struct("RusotoS3Builder")
            .field("endpoint", &self.endpoint)
            .field("region", &self.region)
            .field(
                "access_key",
                &self.credentials.as_ref().map(|(ak, _, _)| ak.as_str()),
            )
            .field("request_timeout", &self.request_timeout)
            .field("connect_timeout", &self.connect_timeout)
            .field("body_read_timeout", &self.body_read_timeout)
            .field("body_send_timeout", &self.body_send_timeout)
            .field("worker_threads", &self.worker_threads)
            .field("ca_bundle", &self.ca_bundle)
            .finish()
    }
}

impl Default for RusotoS3Builder {
    fn default() -> Self {
        RusotoS3Builder {
            endpoint: None,
            region: None,
            credentials: None,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            body_read_timeout: DEFAULT_BODY_READ_TIMEOUT,
            body_send_timeout: DEFAULT_BODY_SEND_TIMEOUT,
            worker_threads: DEFAULT_WORKER_THREADS,
            ca_bundle: None,
        }
    }
}

impl RusotoS3Builder {
    /// A builder with every default: AWS `us-east-1`, the default credential chain
    /// (environment, profile, container, instance metadata), and the default timeouts.
    pub fn new() -> Self {
        RusotoS3Builder::default()
    }

    /// Send requests to a custom endpoint (`http://127.0.0.1:9000`) instead of AWS.
    /// Requests are always path-style (`/bucket/key`), which every S3-compatible
    /// store accepts. Default: none (AWS, derived from the region).
    pub fn endpoint(mut self, endpoint: impl Into<String>) -> Self {
        self.endpoint = Some(endpoint.into());
        self
    }

    /// The region to sign for (and, without an endpoint, to send to). Default:
    /// `us-east-1`.
    pub fn region(mut self, region: impl Into<String>) -> Self {
        self.region = Some(region.into());
        self
    }

    /// Use a fixed access key and secret key instead of the default credential chain.
    pub fn static_credentials(
        mut self,
        access_key: impl Into<String>,
        secret_key: impl Into<String>,
    ) -> Self {
        self.credentials = Some((access_key.into(), secret_key.into(), None));
        self
    }

    /// Use fixed temporary credentials: access key, secret key and session token.
    pub fn session_credentials(
        mut self,
        access_key: impl Into<String>,
        secret_key: impl Into<String>,
        session_token: impl Into<String>,
    ) -> Self {
        self.credentials = Some((
            access_key.into(),
            secret_key.into(),
            Some(session_token.into()),
        ));
        self
    }

    /// Bound on one call from sending the request until the response headers arrive
    /// (for calls whose answer is a small XML body, until that body is read too).
    /// Exceeding it gives [`S3ErrorKind::Timeout`]. Default: 60 s.
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
    }

    /// Bound on opening a TCP connection. Exceeding it fails the call (a transient
    /// error, retried). Default: 10 s.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Bound on a stalled GetObject body: the longest wait for the next bytes.
    /// Exceeding it gives [`S3ErrorKind::Timeout`]. Default: 30 s.
    pub fn body_read_timeout(mut self, timeout: Duration) -> Self {
        self.body_read_timeout = timeout;
        self
    }

    /// Bound on a stalled upload body: the longest wait for the transport to take the
    /// next chunk of a PutObject or UploadPart. Exceeding it gives
    /// [`S3ErrorKind::Timeout`]. Default: 30 s.
    pub fn body_send_timeout(mut self, timeout: Duration) -> Self {
        self.body_send_timeout = timeout;
        self
    }

    /// Worker threads of the backend's tokio runtime (at least 1). Default: 2.
    pub fn worker_threads(mut self, threads: usize) -> Self {
        self.worker_threads = threads.max(1);
        self
    }

    /// Trust only the CA certificates in this PEM file for `https://` connections,
    /// instead of the system's CA store (what `AWS_CA_BUNDLE` does for the AWS CLI): for
    /// a store whose certificate comes from a private CA that the machine does not
    /// trust. The file is read by [`build`](Self::build), and only for an `https://`
    /// endpoint or AWS. Default: none, the system's CA store (which also honours
    /// `SSL_CERT_FILE` and `SSL_CERT_DIR`), so the backend trusts what the machine's
    /// other tools trust.
    pub fn ca_bundle(mut self, path: impl Into<PathBuf>) -> Self {
        self.ca_bundle = Some(path.into());
        self
    }

    /// Build the backend: its runtime, HTTP client and credential provider.
    ///
    /// Fails with [`S3ErrorKind::Other`] on an unknown region name, when the TLS
    /// setup or the runtime cannot be created (no CA certificate in the system store,
    /// or a [`ca_bundle`](Self::ca_bundle) that cannot be read or holds none), or when
    /// the default credential chain cannot be set up.
    pub fn build(self) -> Result<RusotoS3, S3Error> {
        let fail = |msg: String| S3Error::new(S3ErrorKind::Other, "Configure", msg);
        let region_name = self.region.unwrap_or_else(|| DEFAULT_REGION.to_owned());
        let region = match self.endpoint {
            Some(endpoint) => Region::Custom {
                name: region_name,
                endpoint: endpoint.trim_end_matches('/').to_owned(),
            },
            None => Region::from_str(&region_name)
                .map_err(|e| fail(format!("unknown region {region_name:?}: {e}")))?,
        };
        let roots = match self.ca_bundle {
            Some(path) => TrustRoots::Bundle(path),
            None => TrustRoots::Native,
        };
        let dispatcher = EmbeddedErrorDispatcher(Transport::for_region(
            &region,
            self.connect_timeout,
            &roots,
        )?);
        // One signing client for both paths: rusoto_s3's generated calls and the ones
        // this backend builds itself (see `signed`).
        let raw = match self.credentials {
            Some((ak, sk, token)) => {
                let provider = StaticProvider::new(ak, sk, token, None);
                rusoto_core::Client::new_with(provider, dispatcher)
            }
            None => {
                let provider = DefaultCredentialsProvider::new()
                    .map_err(|e| fail(format!("default credential chain: {e}")))?;
                rusoto_core::Client::new_with(provider, dispatcher)
            }
        };
        let client = S3Client::new_with_client(raw.clone(), region.clone());
        let runtime = new_runtime(self.worker_threads)
            .map_err(|e| fail(format!("cannot start the tokio runtime: {e}")))?;
        let handle = runtime.handle().clone();
        Ok(RusotoS3 {
            inner: Arc::new(Inner {
                runtime: Some(runtime),
                handle,
                client,
                raw,
                region,
                timeouts: Timeouts {
                    request: self.request_timeout,
                    body_read: self.body_read_timeout,
                    body_send: self.body_send_timeout,
                },
            }),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_formatting_never_shows_the_secret_key_or_token() {
        let builder = RusotoS3::builder()
            .endpoint("http://127.0.0.1:9")
            .session_credentials("AKIDEXAMPLE", "very-secret-key", "session-token-xyz");
        let shown = format!("{builder:?}");
        assert!(shown.contains("AKIDEXAMPLE"), "{shown}");
        assert!(
            !shown.contains("very-secret-key") && !shown.contains("session-token-xyz"),
            "{shown}"
        );
        let client = builder.build().expect("a client");
        let shown = format!("{client:?}");
        assert!(
            !shown.contains("very-secret-key") && !shown.contains("session-token-xyz"),
            "{shown}"
        );
    }
}
