//! Configuring the rusoto backend: [`RusotoS3Builder`] with its endpoint, region,
//! credentials, timeouts and runtime size, and the defaults of each.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use rusoto_core::Region;
use rusoto_core::credential::StaticProvider;
use rusoto_s3::S3Client;

use super::connector::{Transport, TrustRoots};
use super::errors::EmbeddedErrorDispatcher;
use super::proxy::{Proxies, Proxy};
use super::runtime::new_runtime;
use super::signed::Endpoint;
use super::{Inner, RusotoS3};
use crate::client::aws::addressing::Addressing;
use crate::client::aws::partition;
use crate::client::transport::runtime::RuntimeInSetup;
use crate::client::transport::{
    DEFAULT_BODY_READ_TIMEOUT, DEFAULT_BODY_SEND_TIMEOUT, DEFAULT_CONNECT_TIMEOUT, DEFAULT_REGION,
    DEFAULT_REQUEST_TIMEOUT, DEFAULT_WORKER_THREADS, Timeouts,
};
use crate::client::{S3Error, S3ErrorKind};

/// Where the signing keys come from.
#[derive(Clone)]
enum Credentials {
    /// The default chain: aws-config's with the feature `aws-config`, rusoto's
    /// (environment, profile, container, IMDSv1) without.
    Chain,
    /// Fixed keys, with a session token for temporary ones.
    Static(String, String, Option<String>),
    /// A provider of the caller's.
    #[cfg(feature = "aws-config")]
    Provider(aws_credential_types::provider::SharedCredentialsProvider),
    /// No signature at all (public buckets).
    Anonymous,
}

/// Builder for [`RusotoS3`]. Every setting has a documented default; only the
/// endpoint (for non-AWS stores) and credentials usually need setting.
#[derive(Clone)]
pub struct RusotoS3Builder {
    endpoint: Option<String>,
    region: Option<String>,
    credentials: Credentials,
    profile: Option<String>,
    addressing: Addressing,
    request_timeout: Duration,
    connect_timeout: Duration,
    body_read_timeout: Duration,
    body_send_timeout: Duration,
    worker_threads: usize,
    ca_bundle: Option<PathBuf>,
    proxy: Option<String>,
    no_proxy: Option<String>,
}

impl fmt::Debug for RusotoS3Builder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print the secret key or token.
        f.debug_struct("RusotoS3Builder")
            .field("endpoint", &self.endpoint)
            .field("region", &self.region)
            .field(
                "credentials",
                &match &self.credentials {
                    Credentials::Chain => "default chain".to_owned(),
                    Credentials::Static(ak, _, _) => format!("static {ak}"),
                    #[cfg(feature = "aws-config")]
                    Credentials::Provider(_) => "provider".to_owned(),
                    Credentials::Anonymous => "anonymous".to_owned(),
                },
            )
            .field("profile", &self.profile)
            .field("addressing", &self.addressing)
            .field("request_timeout", &self.request_timeout)
            .field("connect_timeout", &self.connect_timeout)
            .field("body_read_timeout", &self.body_read_timeout)
            .field("body_send_timeout", &self.body_send_timeout)
            .field("worker_threads", &self.worker_threads)
            .field("ca_bundle", &self.ca_bundle)
            .field("proxy", &self.proxy.as_ref().map(|_| "(set)"))
            .field("no_proxy", &self.no_proxy)
            .finish()
    }
}

impl Default for RusotoS3Builder {
    fn default() -> Self {
        RusotoS3Builder {
            endpoint: None,
            region: None,
            credentials: Credentials::Chain,
            profile: None,
            addressing: Addressing::Auto,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            body_read_timeout: DEFAULT_BODY_READ_TIMEOUT,
            body_send_timeout: DEFAULT_BODY_SEND_TIMEOUT,
            worker_threads: DEFAULT_WORKER_THREADS,
            ca_bundle: None,
            proxy: None,
            no_proxy: None,
        }
    }
}

impl RusotoS3Builder {
    /// A builder with every default: AWS, the region and credentials of the default
    /// chain (see [`default_credentials`](Self::default_credentials); `us-east-1` when
    /// it names no region), virtual-hosted addressing where AWS allows it, and the
    /// default timeouts.
    pub fn new() -> Self {
        RusotoS3Builder::default()
    }

    /// Send requests to a custom endpoint (`http://127.0.0.1:9000`) instead of AWS.
    /// Requests to it are path-style (`/bucket/key`), which every S3-compatible store
    /// accepts, unless [`virtual_hosted`](Self::virtual_hosted) asks otherwise.
    /// Default: none (AWS's regional endpoint `s3.<region>.amazonaws.com`, or the
    /// partition's for `cn-*`, `us-gov-*` and the isolated regions).
    pub fn endpoint(mut self, endpoint: impl Into<String>) -> Self {
        self.endpoint = Some(endpoint.into());
        self
    }

    /// The region to sign for (and, without an endpoint, to send to). Any region name
    /// works, also one newer than rusoto. Default: the chain's (`AWS_REGION`,
    /// `AWS_DEFAULT_REGION`, the profile's `region`, and without an endpoint the
    /// instance metadata), else `us-east-1`; without the feature `aws-config`,
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
        self.credentials = Credentials::Static(access_key.into(), secret_key.into(), None);
        self
    }

    /// Take credentials from the default chain (the default). With the feature
    /// `aws-config` it is the AWS SDK's: environment keys, the profile (static keys,
    /// `role_arn` with `source_profile`, `credential_process`, SSO), web identity
    /// (`AWS_WEB_IDENTITY_TOKEN_FILE`, EKS IRSA), ECS/EKS container credentials and
    /// IMDSv2, honouring `AWS_PROFILE`, `AWS_CONFIG_FILE`,
    /// `AWS_SHARED_CREDENTIALS_FILE`, `AWS_EC2_METADATA_DISABLED` and the
    /// `AWS_ENDPOINT_URL_STS`-style endpoint overrides as the SDKs do. Temporary
    /// credentials are fetched again five minutes before they expire. Without the
    /// feature it is rusoto's (environment, profile, container, IMDSv1).
    pub fn default_credentials(mut self) -> Self {
        self.credentials = Credentials::Chain;
        self
    }

    /// Use this profile of `~/.aws/config` and `~/.aws/credentials` (what
    /// `--profile` and `AWS_PROFILE` name) for credentials and region. Its credentials
    /// win over keys in the environment, as with `aws --profile`. Needs the feature
    /// `aws-config` to take effect. Default: `AWS_PROFILE`, else `default`.
    pub fn profile(mut self, name: impl Into<String>) -> Self {
        self.profile = Some(name.into());
        self
    }

    /// Take credentials from this provider (any aws-config or custom
    /// `ProvideCredentials`), refreshed like the chain's.
    #[cfg(feature = "aws-config")]
    pub fn credentials_provider(
        mut self,
        provider: impl aws_credential_types::provider::ProvideCredentials + 'static,
    ) -> Self {
        self.credentials = Credentials::Provider(
            aws_credential_types::provider::SharedCredentialsProvider::new(provider),
        );
        self
    }

    /// Send requests unsigned, as `aws --no-sign-request` does: for public buckets and
    /// datasets, with no credentials needed or looked up.
    pub fn anonymous(mut self) -> Self {
        self.credentials = Credentials::Anonymous;
        self
    }

    /// Always use path-style requests (`endpoint/bucket/key`), also on AWS (the SDKs'
    /// `force_path_style`); `false` restores the default. Default: `false`.
    pub fn force_path_style(mut self, yes: bool) -> Self {
        self.addressing = if yes {
            Addressing::PathStyle
        } else {
            Addressing::Auto
        };
        self
    }

    /// Put the bucket in the host name (`bucket.endpoint/key`) wherever its name
    /// allows (a DNS label; no dot over https), custom endpoints included; `false`
    /// restores the default. Default: virtual-hosted on AWS endpoints, path-style on
    /// custom ones, as the SDKs do.
    pub fn virtual_hosted(mut self, yes: bool) -> Self {
        self.addressing = if yes {
            Addressing::VirtualHosted
        } else {
            Addressing::Auto
        };
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

    /// Send every request through this HTTP proxy (`http://[user:password@]host:port`):
    /// https through a CONNECT tunnel, http in absolute form. Default: the
    /// environment's, as curl and the AWS CLI read it (`https_proxy`/`HTTPS_PROXY` for
    /// https, `http_proxy`/`HTTP_PROXY` for http), none when unset.
    pub fn proxy(mut self, url: impl Into<String>) -> Self {
        self.proxy = Some(url.into());
        self
    }

    /// Hosts that bypass the proxy: comma-separated host names, domains
    /// (`.example.com` matches its subdomains), IP addresses, or `*`. Default:
    /// `no_proxy`/`NO_PROXY` from the environment.
    pub fn no_proxy(mut self, list: impl Into<String>) -> Self {
        self.no_proxy = Some(list.into());
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
        let runtime = RuntimeInSetup::new(
            new_runtime(self.worker_threads)
                .map_err(|e| fail(format!("cannot start the tokio runtime: {e}")))?,
        );
        let handle = runtime.handle();
        let (provider, chain_region) = self.resolve_chain(&handle)?;
        let region_name = self
            .region
            .clone()
            .or(chain_region)
            .unwrap_or_else(|| DEFAULT_REGION.to_owned());
        let endpoint = endpoint_for(&region_name, self.endpoint.as_deref(), self.addressing)?;
        let roots = match &self.ca_bundle {
            Some(path) => TrustRoots::Bundle(path.clone()),
            None => TrustRoots::Native,
        };
        let mut proxies = Proxies::from_env()?;
        if let Some(url) = &self.proxy {
            let proxy = Proxy::parse(url)?;
            proxies.http = Some(proxy.clone());
            proxies.https = Some(proxy);
        }
        if let Some(list) = &self.no_proxy {
            proxies.set_no_proxy(list);
        }
        if !proxies.is_empty() {
            tracing::debug!(?proxies, "connections through a proxy");
        }
        let dispatcher = EmbeddedErrorDispatcher(Transport::for_region(
            &endpoint.region,
            self.connect_timeout,
            &roots,
            proxies,
        )?);
        // One signing client for every request: the ones this backend builds (see
        // `signed`) and the few rusoto_s3 still makes for `rusoto_client()` users.
        let raw = match (self.credentials, provider) {
            (Credentials::Static(ak, sk, token), _) => {
                rusoto_core::Client::new_with(StaticProvider::new(ak, sk, token, None), dispatcher)
            }
            (Credentials::Anonymous, _) => rusoto_core::Client::new_not_signing(dispatcher),
            (_, Some(provider)) => rusoto_core::Client::new_with(provider, dispatcher),
            (_, None) => {
                return Err(fail("no credential provider could be set up".to_owned()));
            }
        };
        let client = S3Client::new_with_client(raw.clone(), endpoint.region.clone());
        Ok(RusotoS3 {
            inner: Arc::new(Inner {
                runtime: Some(runtime.keep()),
                handle,
                client,
                raw,
                endpoint,
                bucket_endpoints: Default::default(),
                timeouts: Timeouts {
                    request: self.request_timeout,
                    body_read: self.body_read_timeout,
                    body_send: self.body_send_timeout,
                },
            }),
        })
    }

    /// The chain's credentials provider (when the credentials come from a chain or a
    /// provider) and region (when none was set), resolved on the backend's runtime,
    /// which then runs the provider's HTTP calls for as long as the backend lives.
    #[cfg(feature = "aws-config")]
    fn resolve_chain(
        &self,
        handle: &tokio::runtime::Handle,
    ) -> Result<(Option<super::credentials::ChainCredentials>, Option<String>), S3Error> {
        use crate::client::aws::chain;
        let provider = match &self.credentials {
            Credentials::Provider(p) => Some(p.clone()),
            _ => None,
        };
        let wants_credentials = matches!(
            self.credentials,
            Credentials::Chain | Credentials::Provider(_)
        );
        if !wants_credentials && self.region.is_some() {
            return Ok((None, None));
        }
        let options = chain::ChainOptions {
            profile: self.profile.clone(),
            region: self.region.clone(),
            // Only the credential sources speak https (STS, SSO, containers); a region
            // lookup alone must not read, or fail on, the bundle.
            ca_bundle: self.ca_bundle.clone().filter(|_| wants_credentials),
            credentials: provider,
            wants_credentials,
            region_from_imds: self.endpoint.is_none(),
            proxy: crate::client::aws::smithy_http::ProxyOptions {
                url: self.proxy.clone(),
                no_proxy: self.no_proxy.clone(),
            },
        };
        let config = crate::client::transport::runtime::off_async(|| {
            handle.block_on(chain::load(&options))
        })?;
        let credentials = match config.credentials_provider() {
            Some(p) if wants_credentials => Some(super::credentials::ChainCredentials::new(p)),
            _ => None,
        };
        Ok((credentials, chain::region_name(&config)))
    }

    /// rusoto's own chain, without the feature `aws-config`; no region lookup.
    #[cfg(not(feature = "aws-config"))]
    fn resolve_chain(
        &self,
        _handle: &tokio::runtime::Handle,
    ) -> Result<
        (
            Option<rusoto_core::credential::DefaultCredentialsProvider>,
            Option<String>,
        ),
        S3Error,
    > {
        if !matches!(self.credentials, Credentials::Chain) {
            return Ok((None, None));
        }
        let provider = rusoto_core::credential::DefaultCredentialsProvider::new().map_err(|e| {
            S3Error::new(
                S3ErrorKind::Other,
                "Configure",
                format!("default credential chain: {e}"),
            )
        })?;
        Ok((Some(provider), None))
    }
}

/// Where requests go for `region` and the caller's `endpoint`: the endpoint as given,
/// or AWS's standard one for the region's partition (any well-formed region name, also
/// one rusoto does not know).
pub(super) fn endpoint_for(
    region: &str,
    endpoint: Option<&str>,
    addressing: Addressing,
) -> Result<Endpoint, S3Error> {
    let (url, aws) = match endpoint {
        Some(e) => (e.trim_end_matches('/').to_owned(), false),
        None if partition::is_valid_region_name(region) => (partition::s3_endpoint(region), true),
        None => {
            return Err(S3Error::new(
                S3ErrorKind::Other,
                "Configure",
                format!(
                    "invalid region name {region:?} (lowercase letters, digits and dashes, \
                     like eu-west-1)"
                ),
            ));
        }
    };
    Ok(Endpoint {
        https: !url.starts_with("http://"),
        region: Region::Custom {
            name: region.to_owned(),
            endpoint: url,
        },
        aws,
        addressing,
    })
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

    /// The URL rusoto will send `request` to (scheme, host, path), as its dispatcher
    /// builds it.
    fn url_of(request: &rusoto_core::signature::SignedRequest) -> String {
        format!(
            "{}://{}{}",
            request.scheme(),
            request.hostname(),
            request.canonical_path()
        )
    }

    #[test]
    fn a_region_rusoto_does_not_know_gets_its_partitions_standard_endpoint() {
        let e = endpoint_for("mx-central-1", None, Addressing::Auto).unwrap();
        let req = super::super::signed::object_request(&e, "GET", "bkt", "a/b.txt");
        assert_eq!(
            url_of(&req),
            "https://bkt.s3.mx-central-1.amazonaws.com/a/b.txt"
        );
        let e = endpoint_for("cn-northwest-1", None, Addressing::PathStyle).unwrap();
        let req = super::super::signed::object_request(&e, "GET", "bkt", "k");
        assert_eq!(
            url_of(&req),
            "https://s3.cn-northwest-1.amazonaws.com.cn/bkt/k"
        );
        // The public builder takes it too (nothing is sent).
        RusotoS3::builder()
            .region("ap-southeast-7")
            .static_credentials("AKID", "secret")
            .build()
            .expect("any well-formed region name builds");
        let refused = endpoint_for("us-east-1.evil.example", None, Addressing::Auto);
        assert!(refused.is_err());
    }

    #[test]
    fn a_region_rusoto_does_not_know_with_an_endpoint_signs_for_it_and_sends_there() {
        let e = endpoint_for(
            "il-central-1",
            Some("http://127.0.0.1:9000/"),
            Addressing::Auto,
        )
        .unwrap();
        let req = super::super::signed::object_request(&e, "PUT", "bkt", "k");
        assert_eq!(url_of(&req), "http://127.0.0.1:9000/bkt/k");
        assert_eq!(req.region_for_service(), "il-central-1");
    }

    #[test]
    fn virtual_hosted_only_where_aws_and_the_bucket_name_allow_it() {
        let aws = endpoint_for("eu-west-1", None, Addressing::Auto).unwrap();
        let req = super::super::signed::bucket_request(&aws, "GET", "bkt");
        assert_eq!(url_of(&req), "https://bkt.s3.eu-west-1.amazonaws.com/");
        // A dot would not match the wildcard certificate: path-style.
        let req = super::super::signed::object_request(&aws, "GET", "my.bucket", "k");
        assert_eq!(
            url_of(&req),
            "https://s3.eu-west-1.amazonaws.com/my.bucket/k"
        );
        let forced = endpoint_for(
            "eu-west-1",
            Some("http://localhost:9000"),
            Addressing::VirtualHosted,
        )
        .unwrap();
        let req = super::super::signed::object_request(&forced, "GET", "bkt", "k");
        assert_eq!(url_of(&req), "http://bkt.localhost:9000/k");
        let custom =
            endpoint_for("eu-west-1", Some("http://localhost:9000"), Addressing::Auto).unwrap();
        let req = super::super::signed::bucket_request(&custom, "GET", "bkt");
        assert_eq!(url_of(&req), "http://localhost:9000/bkt");
    }
}
