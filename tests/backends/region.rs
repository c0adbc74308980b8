//! Regions and addressing against a local server that records what it gets: a bucket
//! in another region is followed once and remembered, and requests to a custom
//! endpoint are path-style with the endpoint as Host.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use s3transfer::client::{ListObjectsV2Request, PutObjectRequest, RequestBody};
use s3transfer::{RusotoS3, S3Api};

use super::common::http_recorder::Emulator;

/// A store whose bucket lives in eu-west-2: its first answer is S3's 301
/// PermanentRedirect naming that region; after that it accepts PUTs and listings.
fn store_in_eu_west_2() -> Emulator {
    let redirected = Arc::new(AtomicBool::new(false));
    Emulator::start(move |req| {
        if !redirected.swap(true, Ordering::SeqCst) {
            return (
                301,
                vec![("x-amz-bucket-region", "eu-west-2".to_owned())],
                "<Error><Code>PermanentRedirect</Code><Message>use the bucket's region\
                 </Message></Error>"
                    .to_owned(),
            );
        }
        match req.method.as_str() {
            "PUT" => (200, vec![("ETag", "\"etag\"".to_owned())], String::new()),
            _ => (
                200,
                vec![],
                "<ListBucketResult><IsTruncated>false</IsTruncated></ListBucketResult>".to_owned(),
            ),
        }
    })
}

fn signed_region(authorization: &str) -> &str {
    let scope = authorization
        .split("Credential=")
        .nth(1)
        .unwrap_or_default();
    scope.split('/').nth(2).unwrap_or_default()
}

#[test]
fn a_bucket_in_another_region_is_followed_once_and_remembered() {
    let store = store_in_eu_west_2();
    let client = RusotoS3::builder()
        .endpoint(store.url())
        .region("us-east-1")
        .static_credentials("AKIDTEST", "secret")
        .build()
        .unwrap();
    followed_once_and_remembered(&client, &store);
}

#[cfg(feature = "aws-sdk")]
#[test]
fn the_sdk_backend_follows_a_bucket_in_another_region_once_and_remembers_it() {
    let store = store_in_eu_west_2();
    let client = s3transfer::AwsSdkS3::builder()
        .endpoint(store.url())
        .region("us-east-1")
        .static_credentials("AKIDTEST", "secret")
        .build()
        .unwrap();
    followed_once_and_remembered(&client, &store);
}

/// The PUT answered with a redirect is sent again, whole, signed for eu-west-2, and
/// the listing after it goes straight there.
fn followed_once_and_remembered(client: &dyn S3Api, store: &Emulator) {
    let mut put = PutObjectRequest::default();
    put.bucket = "far-bucket".into();
    put.key = "k".into();
    let body = b"the whole body, sent twice".to_vec();
    client
        .put_object(&put, &mut RequestBody::new(body.clone()))
        .expect("the PUT is sent again in the bucket's region");
    let mut list = ListObjectsV2Request::default();
    list.bucket = "far-bucket".into();
    client.list_objects_v2(&list).expect("a listing");

    let seen = store.seen();
    let regions: Vec<_> = seen
        .iter()
        .map(|r| signed_region(&r.headers["authorization"]).to_owned())
        .collect();
    // The redirected PUT, the PUT again in eu-west-2, and the listing straight there.
    assert_eq!(regions, ["us-east-1", "eu-west-2", "eu-west-2"], "{seen:?}");
    assert_eq!(
        seen[1].body.as_bytes(),
        &body[..],
        "the resent body is whole"
    );
    // A custom endpoint stays path-style, with the endpoint as the Host.
    // (The SDK adds its `x-id` query parameter.)
    assert_eq!(seen[1].target.split('?').next(), Some("/far-bucket/k"));
    assert_eq!(seen[1].headers["host"], format!("127.0.0.1:{}", store.port));
}

#[test]
fn a_redirect_naming_the_same_region_is_an_error_not_a_loop() {
    let store = Emulator::start(|_| {
        (
            301,
            vec![("x-amz-bucket-region", "us-east-1".to_owned())],
            "<Error><Code>PermanentRedirect</Code><Message>m</Message></Error>".to_owned(),
        )
    });
    let rusoto = RusotoS3::builder()
        .endpoint(store.url())
        .region("us-east-1")
        .static_credentials("AKIDTEST", "secret")
        .build()
        .unwrap();
    let mut clients: Vec<Box<dyn S3Api>> = vec![Box::new(rusoto)];
    #[cfg(feature = "aws-sdk")]
    clients.push(Box::new(
        s3transfer::AwsSdkS3::builder()
            .endpoint(store.url())
            .region("us-east-1")
            .static_credentials("AKIDTEST", "secret")
            .build()
            .unwrap(),
    ));
    for (n, client) in clients.iter().enumerate() {
        let mut list = ListObjectsV2Request::default();
        list.bucket = "b".into();
        let err = client.list_objects_v2(&list).unwrap_err();
        assert_eq!(err.status, Some(301), "{err:?}");
        assert_eq!(store.seen().len(), n + 1);
    }
}
