//! A caller's credentials provider under the rusoto backend (feature `aws-config`):
//! what it returns signs the requests, kept while valid and fetched again when it is
//! about to expire; a source that could not be reached is tried again by the engine's
//! retries, one that refused fails at once as access denied (both backends).
#![cfg(feature = "aws-config")]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials;
use aws_credential_types::provider::error::CredentialsError;
use aws_credential_types::provider::{ProvideCredentials, future};
use aws_smithy_runtime_api::client::result::ConnectorError;
use s3transfer::{RusotoS3, S3Api, S3ErrorKind, TransferConfig, TransferManager, UploadSource};

use super::common::s3s_server::LocalS3;
use super::{head, put};

/// Hands out the local store's keys, valid for `lifetime`, counting the calls.
#[derive(Debug)]
struct Counting {
    calls: Arc<AtomicUsize>,
    lifetime: Duration,
}

impl ProvideCredentials for Counting {
    fn provide_credentials<'a>(&'a self) -> future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let server = LocalS3::shared();
        future::ProvideCredentials::ready(Ok(Credentials::new(
            server.access_key(),
            server.secret_key(),
            Some("token".to_owned()),
            Some(SystemTime::now() + self.lifetime),
            "test",
        )))
    }
}

/// Two calls signed with credentials of `lifetime`; how often the provider was asked.
fn provider_calls_for_two_requests(lifetime: Duration) -> usize {
    let server = LocalS3::shared();
    let bucket = super::bucket(server);
    let calls = Arc::new(AtomicUsize::new(0));
    let s3 = RusotoS3::builder()
        .endpoint(server.endpoint())
        .region("us-east-1")
        .credentials_provider(Counting {
            calls: calls.clone(),
            lifetime,
        })
        .build()
        .unwrap();
    put(&s3, &bucket, "k", b"signed by the provider");
    assert_eq!(head(&s3, &bucket, "k").unwrap().content_length, 22);
    calls.load(Ordering::SeqCst)
}

#[test]
fn credentials_are_kept_while_valid() {
    assert_eq!(
        provider_calls_for_two_requests(Duration::from_secs(3600)),
        1
    );
}

#[test]
fn credentials_about_to_expire_are_fetched_again_before_signing() {
    // Inside the five-minute refresh margin: every signing asks again.
    assert_eq!(provider_calls_for_two_requests(Duration::from_secs(60)), 2);
}

/// Fails its first `failures` calls with `error()`, then hands out the store's keys.
#[derive(Debug)]
struct FailingFirst {
    calls: Arc<AtomicUsize>,
    failures: usize,
    error: fn() -> CredentialsError,
}

impl ProvideCredentials for FailingFirst {
    fn provide_credentials<'a>(&'a self) -> future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        let n = self.calls.fetch_add(1, Ordering::SeqCst);
        if n < self.failures {
            return future::ProvideCredentials::ready(Err((self.error)()));
        }
        let server = LocalS3::shared();
        future::ProvideCredentials::ready(Ok(Credentials::new(
            server.access_key(),
            server.secret_key(),
            None,
            None,
            "test",
        )))
    }
}

/// How a test builds one backend around a provider.
type BuildBackend = fn(FailingFirst) -> Arc<dyn S3Api>;

/// An upload through the manager, on each backend, whose provider fails its first
/// `failures` calls with `error()`: the outcome, and how often the provider was asked.
/// (The SDK asks a failing provider twice per request, once per auth scheme it tries.)
fn upload_with_fetches_failing(
    failures: usize,
    error: fn() -> CredentialsError,
) -> Vec<(&'static str, Result<(), s3transfer::TransferError>, usize)> {
    let server = LocalS3::shared();
    let bucket = super::bucket(server);
    let mut outcomes = Vec::new();
    let backends: Vec<(&'static str, BuildBackend)> = vec![
        ("rusoto", |p| {
            let server = LocalS3::shared();
            Arc::new(
                RusotoS3::builder()
                    .endpoint(server.endpoint())
                    .region("us-east-1")
                    .credentials_provider(p)
                    .build()
                    .unwrap(),
            )
        }),
        #[cfg(feature = "aws-sdk")]
        ("aws-sdk", |p| {
            let server = LocalS3::shared();
            Arc::new(
                s3transfer::AwsSdkS3::builder()
                    .endpoint(server.endpoint())
                    .region("us-east-1")
                    .credentials_provider(p)
                    .build()
                    .unwrap(),
            )
        }),
    ];
    for (name, build) in backends {
        let calls = Arc::new(AtomicUsize::new(0));
        let s3 = build(FailingFirst {
            calls: calls.clone(),
            failures,
            error,
        });
        let manager = TransferManager::new(s3, TransferConfig::default());
        let result = manager
            .upload(
                UploadSource::stream(std::io::Cursor::new(b"after one failed fetch".to_vec())),
                &bucket,
                &format!("{name}-k"),
                Default::default(),
                &[],
            )
            .and_then(|f| f.result())
            .map(|_| ());
        manager.shutdown(false, "");
        outcomes.push((name, result, calls.load(Ordering::SeqCst)));
    }
    outcomes
}

#[test]
fn a_credential_source_that_could_not_be_reached_is_retried_and_the_upload_succeeds() {
    let unreachable = || {
        CredentialsError::provider_error(ConnectorError::io(
            std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "STS refused").into(),
        ))
    };
    // Two failed fetches: the first attempt fails on either backend, a retry succeeds.
    for (name, result, calls) in upload_with_fetches_failing(2, unreachable) {
        assert!(result.is_ok(), "{name}: {result:?}");
        assert_eq!(calls, 3, "{name}");
    }
}

#[test]
fn credentials_refused_by_their_source_fail_at_once_as_access_denied() {
    let refused = || CredentialsError::provider_error("AccessDenied: not a valid token");
    for (name, result, calls) in upload_with_fetches_failing(usize::MAX, refused) {
        let error = result.expect_err(name);
        assert_eq!(
            error.s3_error().map(|e| e.kind()),
            Some(S3ErrorKind::AccessDenied),
            "{name}: {error}"
        );
        // One attempt (asked once by rusoto, twice by the SDK), where the engine's
        // policy would have made five.
        assert!(calls <= 2, "{name}: retried ({calls} fetches)");
    }
}
