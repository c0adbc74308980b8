//! Configuring the aws-sdk-s3 backend: [`AwsSdkS3Builder`] with the rusoto builder's
//! options where they make sense (endpoint, region, credentials, addressing, timeouts,
//! CA bundle, runtime size) and the same defaults, and [`AwsSdkS3::from_client`] /
//! [`AwsSdkS3::from_sdk_config`] for an SDK configuration of the caller's. Either way
//! the engine's settings are applied last (see [`engine_owned`]).

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use aws_credential_types::Credentials as SdkCredentials;
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_sdk_s3::config::retry::RetryConfig;
use aws_sdk_s3::config::timeout::TimeoutConfig;
use aws_sdk_s3::config::{
    BehaviorVersion, Region, RequestChecksumCalculation, ResponseChecksumValidation,
    StalledStreamProtectionConfig,
};

use super::{AwsSdkS3, Inner};
use crate::client::aws::addressing::Addressing;
use crate::client::aws::smithy_http::{self, ProxyOptions};
use crate::client::aws::{chain, partition};
use crate::client::transport::runtime::{RuntimeInSetup, new_runtime, off_async};
use crate::client::transport::{
    DEFAULT_BODY_READ_TIMEOUT, DEFAULT_BODY_SEND_TIMEOUT, DEFAULT_CONNECT_TIMEOUT, DEFAULT_REGION,
    DEFAULT_REQUEST_TIMEOUT, DEFAULT_WORKER_THREADS, Timeouts,
};
use crate::client::{S3Error, S3ErrorKind};

/// The runtime threads' name.
const THREAD_NAME: &str = "s3transfer-aws-sdk";

/// Where the signing keys come from.
#[derive(Clone)]
enum Credentials {
    /// The AWS SDK's default chain (`client/aws/chain.rs`).
    Chain,
    /// Fixed keys, with a session token for temporary ones.
    Static(String, String, Option<String>),
    /// A provider of the caller's.
    Provider(SharedCredentialsProvider),
    /// No signature at all (public buckets).
    Anonymous,
}

/// Builder for [`AwsSdkS3`]. The options and their defaults are those of
/// [`RusotoS3Builder`](crate::RusotoS3Builder).
#[derive(Clone)]
pub struct AwsSdkS3Builder {
    endpoint: Option<String>,
    region: Option<String>,
    credentials: Credentials,
    profile: Option<String>,
    addressing: Addressing,
    timeouts: Timeouts,
    connect_timeout: Duration,
    worker_threads: usize,
    ca_bundle: Option<PathBuf>,
    proxy: ProxyOptions,
}

impl fmt::Debug for AwsSdkS3Builder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print the secret key or token.
        f.debug_struct("AwsSdkS3Builder")
            .field("endpoint", &self.endpoint)
            .field("region", &self.region)
            .field(
                "credentials",
                &match &self.credentials {
                    Credentials::Chain => "default chain".to_owned(),
                    Credentials::Static(ak, _, _) => format!("static {ak}"),
                    Credentials::Provider(_) => "provider".to_owned(),
                    Credentials::Anonymous => "anonymous".to_owned(),
                },
            )
            .field("profile", &self.profile)
            .field("addressing", &self.addressing)
            .field("timeouts", &self.timeouts)
            .field("connect_timeout", &self.connect_timeout)
            .field("worker_threads", &self.worker_threads)
            .field("ca_bundle", &self.ca_bundle)
            .field("proxy", &self.proxy)
            .finish()
    }
}

impl Default for AwsSdkS3Builder {
    fn default() -> Self {
        AwsSdkS3Builder {
            endpoint: None,
            region: None,
            credentials: Credentials::Chain,
            profile: None,
            addressing: Addressing::Auto,
            timeouts: Timeouts {
                request: DEFAULT_REQUEST_TIMEOUT,
                body_read: DEFAULT_BODY_READ_TIMEOUT,
                body_send: DEFAULT_BODY_SEND_TIMEOUT,
            },
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            worker_threads: DEFAULT_WORKER_THREADS,
            ca_bundle: None,
            proxy: ProxyOptions::default(),
        }
    }
}

impl AwsSdkS3Builder {
    /// A builder with every default: AWS, the region and credentials of the AWS SDK's
    /// default chain (`us-east-1` when it names no region), virtual-hosted addressing
    /// where AWS allows it, and the default timeouts.
    pub fn new() -> Self {
        AwsSdkS3Builder::default()
    }

    /// Send requests to a custom endpoint (`http://127.0.0.1:9000`) instead of AWS.
    /// Requests to it are path-style (`/bucket/key`), which every S3-compatible store
    /// accepts, unless [`virtual_hosted`](Self::virtual_hosted) asks otherwise.
    /// Default: none (the SDK's endpoint for the region).
    pub fn endpoint(mut self, endpoint: impl Into<String>) -> Self {
        self.endpoint = Some(endpoint.into());
        self
    }

    /// The region to sign for (and, without an endpoint, to send to). Default: the
    /// chain's (`AWS_REGION`, `AWS_DEFAULT_REGION`, the profile's `region`, and without
    /// an endpoint the instance metadata), else `us-east-1`.
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
        self.credentials = Credentials::Static(access_key.into(), secret_key.into(), None);
        self
    }

    /// Use fixed temporary credentials: access key, secret key and session token.
    pub fn session_credentials(
        mut self,
        access_key: impl Into<String>,
        secret_key: impl Into<String>,
        session_token: impl Into<String>,
    ) -> Self {
        self.credentials = Credentials::Static(
            access_key.into(),
            secret_key.into(),
            Some(session_token.into()),
        );
        self
    }

    /// Take credentials from the AWS SDK's default chain (the default): environment
    /// keys, the profile (static keys, `role_arn`, `credential_process`, SSO), web
    /// identity, ECS/EKS container credentials and IMDSv2, as
    /// [`RusotoS3Builder::default_credentials`](crate::RusotoS3Builder::default_credentials)
    /// with the feature `aws-config` describes.
    pub fn default_credentials(mut self) -> Self {
        self.credentials = Credentials::Chain;
        self
    }

    /// Use this profile of `~/.aws/config` and `~/.aws/credentials` for credentials and
    /// region; its credentials win over keys in the environment, as with
    /// `aws --profile`. Default: `AWS_PROFILE`, else `default`.
    pub fn profile(mut self, name: impl Into<String>) -> Self {
        self.profile = Some(name.into());
        self
    }

    /// Take credentials from this provider (any aws-config or custom
    /// `ProvideCredentials`).
    pub fn credentials_provider(
        mut self,
        provider: impl aws_credential_types::provider::ProvideCredentials + 'static,
    ) -> Self {
        self.credentials = Credentials::Provider(SharedCredentialsProvider::new(provider));
        self
    }

    /// Send requests unsigned, as `aws --no-sign-request` does: for public buckets and
    /// datasets, with no credentials needed or looked up.
    pub fn anonymous(mut self) -> Self {
        self.credentials = Credentials::Anonymous;
        self
    }

    /// Always use path-style requests (`endpoint/bucket/key`), also on AWS; `false`
    /// restores the default. Default: `false`.
    pub fn force_path_style(mut self, yes: bool) -> Self {
        self.addressing = if yes {
            Addressing::PathStyle
        } else {
            Addressing::Auto
        };
        self
    }

    /// Put the bucket in the host name (`bucket.endpoint/key`) wherever its name
    /// allows, custom endpoints included; `false` restores the default. Default:
    /// virtual-hosted on AWS endpoints, path-style on custom ones, as the SDKs do.
    pub fn virtual_hosted(mut self, yes: bool) -> Self {
        self.addressing = if yes {
            Addressing::VirtualHosted
        } else {
            Addressing::Auto
        };
        self
    }

    /// Bound on one call from sending the request (after its body) until the response
    /// headers arrive (for calls whose answer is a small XML body, until that body is
    /// read too). Exceeding it gives [`S3ErrorKind::Timeout`]. Default: 60 s.
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.timeouts.request = timeout;
        self
    }

    /// Bound on opening a TCP connection (the SDK's connect timeout). Default: 10 s.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Bound on a stalled GetObject body: the longest wait for the next bytes.
    /// Exceeding it gives [`S3ErrorKind::Timeout`]. Default: 30 s.
    pub fn body_read_timeout(mut self, timeout: Duration) -> Self {
        self.timeouts.body_read = timeout;
        self
    }

    /// Bound on a stalled upload body: the longest wait for the transport to take the
    /// next chunk. Exceeding it gives [`S3ErrorKind::Timeout`]. Default: 30 s.
    pub fn body_send_timeout(mut self, timeout: Duration) -> Self {
        self.timeouts.body_send = timeout;
        self
    }

    /// Worker threads of the backend's tokio runtime (at least 1). Default: 2.
    pub fn worker_threads(mut self, threads: usize) -> Self {
        self.worker_threads = threads.max(1);
        self
    }

    /// Trust only the CA certificates in this PEM file for `https://` connections (S3's
    /// and the credential chain's), instead of the system's CA store. Read by
    /// [`build`](Self::build). Default: none, the system's CA store (which also honours
    /// `SSL_CERT_FILE` and `SSL_CERT_DIR`).
    pub fn ca_bundle(mut self, path: impl Into<PathBuf>) -> Self {
        self.ca_bundle = Some(path.into());
        self
    }

    /// Send every request (S3's and the credential chain's) through this HTTP proxy
    /// (`http://[user:password@]host:port`): https through a CONNECT tunnel. Default:
    /// the environment's, as for [`RusotoS3Builder::proxy`](crate::RusotoS3Builder::proxy)
    /// (`HTTPS_PROXY` for https, `HTTP_PROXY` for http, either case), none when unset.
    pub fn proxy(mut self, url: impl Into<String>) -> Self {
        self.proxy.url = Some(url.into());
        self
    }

    /// Hosts that bypass the proxy (comma-separated names, `.domain` suffixes, IP
    /// addresses or `*`). Default: `NO_PROXY` from the environment. Instance and
    /// container metadata endpoints never go through a proxy.
    pub fn no_proxy(mut self, list: impl Into<String>) -> Self {
        self.proxy.no_proxy = Some(list.into());
        self
    }

    /// Build the backend: its runtime, HTTP client, credentials and SDK client.
    ///
    /// Fails with [`S3ErrorKind::Other`] on a malformed region name (without an
    /// endpoint), when the TLS setup or the runtime cannot be created (a
    /// [`ca_bundle`](Self::ca_bundle) that cannot be read or holds none), or when the
    /// default credential chain cannot be set up.
    pub fn build(self) -> Result<AwsSdkS3, S3Error> {
        let runtime = RuntimeInSetup::new(
            new_runtime(self.worker_threads, THREAD_NAME)
                .map_err(|e| configure(format!("cannot start the tokio runtime: {e}")))?,
        );
        let handle = runtime.handle();
        let wants_chain = matches!(
            self.credentials,
            Credentials::Chain | Credentials::Provider(_)
        );
        let chain_config = if wants_chain || self.region.is_none() {
            let options = chain::ChainOptions {
                profile: self.profile.clone(),
                region: self.region.clone(),
                // Only the credential sources speak https (STS, SSO, containers); a
                // region lookup alone must not read, or fail on, the bundle.
                ca_bundle: self.ca_bundle.clone().filter(|_| wants_chain),
                credentials: match &self.credentials {
                    Credentials::Provider(p) => Some(p.clone()),
                    _ => None,
                },
                region_from_imds: self.endpoint.is_none(),
                wants_credentials: wants_chain,
                proxy: self.proxy.clone(),
            };
            Some(off_async(|| handle.block_on(chain::load(&options)))?)
        } else {
            None
        };
        let region = self
            .region
            .clone()
            .or_else(|| chain_config.as_ref().and_then(chain::region_name))
            .unwrap_or_else(|| DEFAULT_REGION.to_owned());
        if self.endpoint.is_none() && !partition::is_valid_region_name(&region) {
            return Err(configure(format!(
                "invalid region name {region:?} (lowercase letters, digits and dashes, \
                 like eu-west-1)"
            )));
        }
        let mut config = aws_sdk_s3::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(region.clone()))
            .http_client(smithy_http::http_client(
                self.ca_bundle.as_deref(),
                &self.proxy,
            )?)
            // The SDKs' rule, the rusoto backend's too: virtual-hosted on AWS,
            // path-style on a custom endpoint (most stores serve no bucket subdomains).
            .force_path_style(
                !self
                    .addressing
                    .prefers_virtual_hosted(self.endpoint.is_none()),
            )
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(self.connect_timeout)
                    .build(),
            );
        if let Some(endpoint) = &self.endpoint {
            config = config.endpoint_url(endpoint.trim_end_matches('/'));
        }
        config =
            match self.credentials {
                Credentials::Static(ak, sk, token) => config.credentials_provider(
                    SdkCredentials::new(ak, sk, token, None, "s3transfer-static"),
                ),
                Credentials::Anonymous => config.allow_no_auth(),
                Credentials::Chain | Credentials::Provider(_) => {
                    match chain_config.as_ref().and_then(|c| c.credentials_provider()) {
                        Some(provider) => config.credentials_provider(provider),
                        None => {
                            return Err(configure("no credential provider could be set up".into()));
                        }
                    }
                }
            };
        Ok(AwsSdkS3::assemble(
            runtime.keep(),
            engine_owned(config).build(),
            region,
            self.timeouts,
        ))
    }
}

impl AwsSdkS3 {
    /// Wrap an SDK client of the caller's: its credentials, region, endpoint,
    /// addressing, HTTP client (and so its proxy and TLS setup), interceptors and
    /// connect/read timeouts are kept. What the engine owns is replaced: retries are
    /// turned off (the engine retries every call itself), request checksums are
    /// computed and responses validated only when S3 requires it (the engine sends and
    /// checks its own), and stalled-stream protection is off (the backend bounds
    /// stalled bodies with the default body timeouts of [`AwsSdkS3Builder`]). Calls
    /// run on a runtime of the backend's own (two threads), with the default request
    /// timeout of 60 s on top of the client's.
    pub fn from_client(client: aws_sdk_s3::Client) -> Result<AwsSdkS3, S3Error> {
        Self::from_config_builder(client.config().to_builder())
    }

    /// Build from an aws-config [`SdkConfig`](aws_types::SdkConfig) of the caller's,
    /// as `aws_sdk_s3::Client::new(&sdk_config)` would, with the engine's settings
    /// applied as [`from_client`](Self::from_client) describes. When the config carries
    /// no HTTP client, the backend's own (rustls with ring, the system's CAs) is used.
    pub fn from_sdk_config(sdk_config: &aws_types::SdkConfig) -> Result<AwsSdkS3, S3Error> {
        let mut config = aws_sdk_s3::config::Builder::from(sdk_config);
        if sdk_config.http_client().is_none() {
            config = config.http_client(smithy_http::http_client(None, &ProxyOptions::default())?);
        }
        if sdk_config.behavior_version().is_none() {
            config = config.behavior_version(BehaviorVersion::latest());
        }
        Self::from_config_builder(config)
    }

    fn from_config_builder(config: aws_sdk_s3::config::Builder) -> Result<AwsSdkS3, S3Error> {
        let runtime = new_runtime(DEFAULT_WORKER_THREADS, THREAD_NAME)
            .map_err(|e| configure(format!("cannot start the tokio runtime: {e}")))?;
        let config = engine_owned(config).build();
        let region = config.region().map(|r| r.as_ref().to_owned());
        let (config, region) = match region {
            Some(region) => (config, region),
            // As the SDK itself would fail without one: sign for the global default.
            None => (
                config
                    .to_builder()
                    .region(Region::new(DEFAULT_REGION))
                    .build(),
                DEFAULT_REGION.to_owned(),
            ),
        };
        let timeouts = Timeouts {
            request: DEFAULT_REQUEST_TIMEOUT,
            body_read: DEFAULT_BODY_READ_TIMEOUT,
            body_send: DEFAULT_BODY_SEND_TIMEOUT,
        };
        Ok(AwsSdkS3::assemble(runtime, config, region, timeouts))
    }

    /// The backend over `config` (with [`engine_owned`] applied).
    fn assemble(
        runtime: tokio::runtime::Runtime,
        config: aws_sdk_s3::Config,
        region: String,
        timeouts: Timeouts,
    ) -> AwsSdkS3 {
        let client = aws_sdk_s3::Client::from_conf(config);
        AwsSdkS3 {
            inner: Arc::new(Inner {
                handle: runtime.handle().clone(),
                runtime: Some(runtime),
                client,
                region,
                bucket_regions: Default::default(),
                timeouts,
            }),
        }
    }
}

/// What the engine does itself, so the SDK must not: retry (a second retry loop
/// inside the engine's would multiply attempts and hide failures from its policy),
/// compute request checksums (the engine's values go out as given; `WhenRequired`
/// leaves only operations S3 refuses without one, none of which this backend calls),
/// validate response checksums (the engine validates; the GET's checksum mode is sent
/// as a plain header so the SDK does not read the body twice), and give up on a slow
/// body (the engine's bandwidth limit may pause a body for longer than the SDK's grace
/// period; the backend's body timeouts bound real stalls). And take a header a store
/// repeated with one value as S3's other clients do (`quirks.rs`).
fn engine_owned(config: aws_sdk_s3::config::Builder) -> aws_sdk_s3::config::Builder {
    config
        .interceptor(super::quirks::RepeatedHeaders)
        .retry_config(RetryConfig::disabled())
        .request_checksum_calculation(RequestChecksumCalculation::WhenRequired)
        .response_checksum_validation(ResponseChecksumValidation::WhenRequired)
        .stalled_stream_protection(StalledStreamProtectionConfig::disabled())
}

fn configure(message: String) -> S3Error {
    S3Error::new(S3ErrorKind::Other, "Configure", message)
}
