//! rusoto's signer fed by the AWS SDK's credential chain: [`ChainCredentials`] implements
//! rusoto's `ProvideAwsCredentials` over aws-config's provider, and keeps the last
//! credentials until shortly before they expire.
//!
//! aws-config's providers do not cache (in the SDK, the client's identity cache does),
//! and rusoto's own `AutoRefreshingProvider` keeps a failed fetch forever, so one STS
//! hiccup would fail every later request: hence a small cache here.

use std::error::Error as _;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use rusoto_core::credential::{AwsCredentials, CredentialsError, ProvideAwsCredentials};

use crate::client::S3ErrorKind;

/// Credentials this close to their expiry are fetched anew before a request is signed:
/// what is signed now must still be valid when a slow upload's last byte arrives. The
/// SDKs and IMDS use the same order of margin (IMDS rotates role credentials at least
/// five minutes before they expire).
const REFRESH_BEFORE_EXPIRY: Duration = Duration::from_secs(5 * 60);

/// The chain's credentials for rusoto's signer.
pub(super) struct ChainCredentials {
    provider: SharedCredentialsProvider,
    /// The credentials last fetched. Held across a fetch, so that the requests signing
    /// at that moment wait for one refresh instead of each asking STS or IMDS; never
    /// held across an S3 call or user code.
    cached: tokio::sync::Mutex<Option<AwsCredentials>>,
}

impl ChainCredentials {
    pub(super) fn new(provider: SharedCredentialsProvider) -> Self {
        ChainCredentials {
            provider,
            cached: tokio::sync::Mutex::new(None),
        }
    }
}

#[async_trait]
impl ProvideAwsCredentials for ChainCredentials {
    async fn credentials(&self) -> Result<AwsCredentials, CredentialsError> {
        let mut cached = self.cached.lock().await;
        if let Some(c) = cached
            .as_ref()
            .filter(|c| !expires_within(c, REFRESH_BEFORE_EXPIRY))
        {
            return Ok(c.clone());
        }
        match self.provider.provide_credentials().await {
            Ok(fresh) => {
                let c = AwsCredentials::new(
                    fresh.access_key_id(),
                    fresh.secret_access_key(),
                    fresh.session_token().map(str::to_owned),
                    fresh.expiry().map(chrono::DateTime::<chrono::Utc>::from),
                );
                *cached = Some(c.clone());
                Ok(c)
            }
            // Credentials that are still valid serve until they expire: a failed
            // refresh is not worth failing a transfer for yet.
            Err(e) => match cached
                .as_ref()
                .filter(|c| !expires_within(c, Duration::ZERO))
            {
                Some(c) => {
                    tracing::warn!(error = %chain_message(&e), "credential refresh failed; using the current credentials until they expire");
                    Ok(c.clone())
                }
                None => {
                    let kind = crate::client::aws::chain::credentials_failure_kind(&e);
                    let mark = match kind {
                        S3ErrorKind::Transient => super::errors::CREDENTIALS_UNREACHABLE,
                        S3ErrorKind::Timeout => super::errors::CREDENTIALS_TIMED_OUT,
                        _ => "",
                    };
                    Err(CredentialsError::new(format!(
                        "{mark}{}",
                        chain_message(&e)
                    )))
                }
            },
        }
    }
}

/// Whether `c` expires within `margin` from now (never, without an expiry).
fn expires_within(c: &AwsCredentials, margin: Duration) -> bool {
    c.expires_at().as_ref().is_some_and(|at| {
        let at = SystemTime::from(*at);
        at <= SystemTime::now() + margin
    })
}

/// The error and its causes on one line (aws-config's own message is often just
/// "the credential provider was not enabled" or "an error occurred", with the STS or
/// profile error as the source).
fn chain_message(e: &aws_credential_types::provider::error::CredentialsError) -> String {
    let mut message = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        message.push_str(": ");
        message.push_str(&s.to_string());
        source = s.source();
    }
    message
}
