//! The AWS SDK's own credential and region chain (aws-config), for any backend: the
//! answer is an [`SdkConfig`], which an aws-sdk-s3 client takes as it is and the rusoto
//! backend adapts (its credentials provider and region).
//!
//! The chain is the SDK's, in the SDK's order: environment keys, the profile
//! (`AWS_PROFILE`, `AWS_CONFIG_FILE`, `AWS_SHARED_CREDENTIALS_FILE`; static keys,
//! `role_arn` with `source_profile` or `credential_source`, `credential_process`, SSO),
//! web identity (`AWS_WEB_IDENTITY_TOKEN_FILE` + `AWS_ROLE_ARN`, EKS IRSA), ECS/EKS
//! container credentials, and IMDSv2 (`AWS_EC2_METADATA_DISABLED`,
//! `AWS_EC2_METADATA_SERVICE_ENDPOINT`); endpoints such as STS's follow
//! `AWS_ENDPOINT_URL_STS`. Region: `AWS_REGION`, `AWS_DEFAULT_REGION`, the profile, IMDS.

use aws_config::BehaviorVersion;
use aws_config::SdkConfig;
use aws_config::environment::region::EnvironmentVariableRegionProvider;
use aws_config::imds::region::ImdsRegionProvider;
use aws_config::meta::region::RegionProviderChain;
use aws_config::profile::ProfileFileCredentialsProvider;
use aws_config::profile::ProfileFileRegionProvider;
use aws_config::provider_config::ProviderConfig;
use aws_credential_types::provider::SharedCredentialsProvider;

use super::smithy_http::{self, ProxyOptions};
use crate::client::{S3Error, S3ErrorKind};

/// What the caller fixed; everything else comes from the chain.
#[derive(Clone, Debug, Default)]
pub(crate) struct ChainOptions {
    /// A profile named by the caller (`--profile`): its credentials win over the
    /// environment's keys, as in the AWS CLI and boto3.
    pub(crate) profile: Option<String>,
    /// A region named by the caller: the chain's region is not looked up.
    pub(crate) region: Option<String>,
    /// The only CAs the chain's own HTTPS calls (STS, SSO, container endpoints) trust.
    pub(crate) ca_bundle: Option<std::path::PathBuf>,
    /// Whether credentials come from the chain (or the caller's provider). When not
    /// (static keys, anonymous), the chain builds no credential provider at all: the
    /// SDK's default one would look its region up from the instance metadata as it is
    /// built, a call to 169.254.169.254 that nothing needs.
    pub(crate) wants_credentials: bool,
    /// The proxies the chain's own HTTP calls go through: the backend's.
    pub(crate) proxy: ProxyOptions,
    /// A credentials provider of the caller's, instead of the chain's.
    pub(crate) credentials: Option<SharedCredentialsProvider>,
    /// Whether the region may come from the instance metadata service, the chain's last
    /// resort. Off for a custom endpoint, where the region only names the signing scope
    /// and the instance's own region says nothing about the store.
    pub(crate) region_from_imds: bool,
}

/// Resolve the SDK configuration: region (the caller's, else the chain's) and the
/// credentials provider (lazy: nothing is fetched until the first request signs).
/// Must run inside a tokio runtime that stays alive as long as the provider is used:
/// its HTTP calls and sleeps run on it.
pub(crate) async fn load(options: &ChainOptions) -> Result<SdkConfig, S3Error> {
    // The same TLS stack, trust and proxies as the backend's S3 connections.
    let http = smithy_http::http_client(options.ca_bundle.as_deref(), &options.proxy)?;
    let mut loader = aws_config::defaults(BehaviorVersion::latest()).http_client(http.clone());
    if let Some(profile) = &options.profile {
        loader = loader.profile_name(profile);
    }
    let region = match &options.region {
        Some(region) => Some(aws_config::Region::new(region.clone())),
        None => {
            // The SDK's region chain: environment, profile, and the instance metadata.
            let conf = ProviderConfig::without_region().with_http_client(http.clone());
            let mut profile = ProfileFileRegionProvider::builder().configure(&conf);
            if let Some(name) = &options.profile {
                profile = profile.profile_name(name);
            }
            let chain = RegionProviderChain::first_try(EnvironmentVariableRegionProvider::new())
                .or_else(profile.build());
            let chain = if options.region_from_imds {
                chain.or_else(ImdsRegionProvider::builder().configure(&conf).build())
            } else {
                chain
            };
            chain.region().await
        }
    };
    // Without a region of its own, the SDK's credential chain would look one up for its
    // STS calls, from the instance metadata too; where that lookup is not wanted (a
    // custom endpoint), it gets the region the backends sign with when none is found.
    let region = match region {
        None if !options.region_from_imds => Some(aws_config::Region::new(
            crate::client::transport::DEFAULT_REGION,
        )),
        region => region,
    };
    loader = loader.region(region.clone());
    if !options.wants_credentials {
        loader = loader.no_credentials();
    } else if let Some(provider) = &options.credentials {
        loader = loader.credentials_provider(provider.clone());
    } else if let Some(profile) = &options.profile {
        // An explicit profile: the environment's keys must not win over it (the
        // default chain takes them first), as with `aws --profile`.
        let conf = ProviderConfig::without_region()
            .with_http_client(http)
            .with_region(region);
        let provider = ProfileFileCredentialsProvider::builder()
            .configure(&conf)
            .profile_name(profile)
            .build();
        loader = loader.credentials_provider(provider);
    }
    Ok(loader.load().await)
}

/// The region the chain found (`None`: nowhere).
pub(crate) fn region_name(config: &SdkConfig) -> Option<String> {
    config.region().map(|r| r.as_ref().to_owned())
}

/// What a failure of the chain's credential provider means for a transfer: the same
/// [`S3ErrorKind`] for both backends. Credentials that could not be found, a profile that
/// cannot be used or a role the source refused are [`S3ErrorKind::AccessDenied`] (the
/// next attempt gets the same answer); a source that did not answer in time is a
/// [`S3ErrorKind::Timeout`], and one that could not be reached (a refused or reset
/// connection to STS, SSO, the container endpoint or the instance metadata, once the
/// provider's own client has retried) [`S3ErrorKind::Transient`], so that the engine's
/// retries try it again instead of failing the transfer at the first hiccup.
pub(crate) fn credentials_failure_kind(
    error: &aws_credential_types::provider::error::CredentialsError,
) -> S3ErrorKind {
    use aws_credential_types::provider::error::CredentialsError as E;
    use aws_smithy_runtime_api::client::result::ConnectorError;
    match error {
        E::ProviderTimedOut(_) => S3ErrorKind::Timeout,
        E::ProviderError(_) | E::Unhandled(_) => {
            let mut next = std::error::Error::source(error);
            while let Some(e) = next {
                if let Some(c) = e.downcast_ref::<ConnectorError>() {
                    return if c.is_timeout() {
                        S3ErrorKind::Timeout
                    } else if c.is_user() {
                        S3ErrorKind::AccessDenied
                    } else {
                        S3ErrorKind::Transient
                    };
                }
                if e.downcast_ref::<std::io::Error>().is_some() {
                    return S3ErrorKind::Transient;
                }
                next = e.source();
            }
            S3ErrorKind::AccessDenied
        }
        _ => S3ErrorKind::AccessDenied,
    }
}

#[cfg(test)]
mod tests {
    use aws_credential_types::provider::error::CredentialsError;
    use aws_smithy_runtime_api::client::result::ConnectorError;

    use super::*;

    #[test]
    fn missing_or_refused_credentials_are_access_denied_and_unreachable_sources_are_retried() {
        assert_eq!(
            credentials_failure_kind(&CredentialsError::not_loaded("no keys anywhere")),
            S3ErrorKind::AccessDenied
        );
        assert_eq!(
            credentials_failure_kind(&CredentialsError::invalid_configuration("bad profile")),
            S3ErrorKind::AccessDenied
        );
        // STS answered and refused (its error is not a connection's).
        assert_eq!(
            credentials_failure_kind(&CredentialsError::provider_error(
                "AccessDenied: not a valid token"
            )),
            S3ErrorKind::AccessDenied
        );
        assert_eq!(
            credentials_failure_kind(&CredentialsError::provider_timed_out(
                std::time::Duration::from_secs(5)
            )),
            S3ErrorKind::Timeout
        );
        let refused = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");
        assert_eq!(
            credentials_failure_kind(&CredentialsError::provider_error(ConnectorError::io(
                refused.into()
            ))),
            S3ErrorKind::Transient
        );
        let reset = std::io::Error::new(std::io::ErrorKind::ConnectionReset, "reset");
        assert_eq!(
            credentials_failure_kind(&CredentialsError::unhandled(reset)),
            S3ErrorKind::Transient
        );
    }
}
