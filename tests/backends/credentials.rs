//! A caller's credentials provider under the rusoto backend (feature `aws-config`):
//! what it returns signs the requests, kept while valid and fetched again when it is
//! about to expire.
#![cfg(feature = "aws-config")]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials;
use aws_credential_types::provider::{ProvideCredentials, future};
use s3transfer::RusotoS3;

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
