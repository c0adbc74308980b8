//! The aws-sdk-s3 backend (`AwsSdkS3`): the contract suite against s3s-fs and
//! SeaweedFS, a client of the caller's, and what it must (not) put on the wire, seen by
//! a recording server: the engine's checksums as given with no second computation, no
//! retries of the SDK's own, error documents inside a 200, answers without an ETag, a
//! short body, a refused certificate, HTTPS with a CA bundle; and the fault proxy's
//! faults in front of s3s-fs, each reaching the caller as the kind retries branch on.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use s3transfer::client::{
    CompleteMultipartUploadRequest, CompletedPart, CopyObjectRequest, CreateMultipartUploadRequest,
    GetObjectRequest, HeadObjectRequest, PutObjectRequest, RequestBody, UploadPartRequest,
};
use s3transfer::testing::contract::{self, Capability, Fixture};
use s3transfer::{
    AwsSdkS3, ChecksumAlgorithm, CopySource, S3Api, S3Error, S3ErrorKind, TransferConfig,
    TransferManager, UploadArgs,
};

use super::common::fault_proxy::{Fault, FaultProxy, Match, Rule};
use super::common::http_recorder::{Emulator, Seen};
use super::common::s3s_server::LocalS3;
use super::common::seaweed::SeaweedFs;
use super::common::tls_proxy::tls_data;
use super::common::{random_bytes, unique_bucket};
use super::{get, head, put, raw_server, tls_store};

fn sdk_for(server: &LocalS3) -> AwsSdkS3 {
    AwsSdkS3::builder()
        .endpoint(server.endpoint())
        .region("us-east-1")
        .static_credentials(server.access_key(), server.secret_key())
        .build()
        .expect("aws-sdk client for s3s-fs")
}

/// The same s3s-fs gaps as for the rusoto backend (see the rusoto contract test).
#[test]
fn aws_sdk_against_s3s_fs_meets_the_contract() {
    let server = LocalS3::shared();
    let bucket = unique_bucket("sdk");
    server.create_bucket(&bucket);
    let fixture = Fixture::new(bucket)
        .without(Capability::IfMatch)
        .without(Capability::CopySourceIfMatch)
        .without(Capability::PartNumberReads)
        .without(Capability::PartChecksumValidation)
        .without(Capability::PartChecksumReads)
        .without(Capability::PartEtagsInListings)
        .without(Capability::UploadListings);
    let report = contract::run_all(&sdk_for(server), &fixture);
    assert_eq!(
        report.skipped_checks(),
        [
            "if_match_is_enforced",
            "versions_stay_readable_by_id",
            "part_number_reads_return_one_part",
            "copy_source_if_match_is_enforced",
            "sent_part_checksums_are_validated",
            "part_checksums_come_back_on_part_number_reads",
            "list_parts_shows_each_parts_current_etag",
            "list_multipart_uploads_names_the_open_uploads",
        ],
        "{report}"
    );
}

/// The same SeaweedFS gaps as for the rusoto backend.
#[test]
fn aws_sdk_against_seaweedfs_meets_the_contract() {
    let server = SeaweedFs::shared();
    let bucket = unique_bucket("sdk-contract");
    server.create_bucket(&bucket);
    let versioned = unique_bucket("sdk-versions");
    server.create_bucket(&versioned);
    server.enable_versioning(&versioned);
    static CLIENT: OnceLock<AwsSdkS3> = OnceLock::new();
    let s3 = CLIENT.get_or_init(|| {
        AwsSdkS3::builder()
            .endpoint(server.endpoint())
            .region(server.region())
            .static_credentials(server.access_key(), server.secret_key())
            .build()
            .expect("aws-sdk client for SeaweedFS")
    });
    let fixture = Fixture::new(bucket)
        .with_versioned_bucket(versioned)
        .without(Capability::PartChecksumReads)
        .without(Capability::ReuploadedPartsListedOnce);
    let report = contract::run_all(s3, &fixture);
    assert_eq!(
        report.skipped_checks(),
        [
            "part_checksums_come_back_on_part_number_reads",
            "list_parts_shows_each_parts_current_etag",
        ],
        "{report}"
    );
}

#[test]
fn a_callers_own_sdk_client_and_sdk_config_are_wrapped_and_work() {
    let server = LocalS3::shared();
    let bucket = unique_bucket("sdk-own");
    server.create_bucket(&bucket);
    let credentials = aws_credential_types::Credentials::new(
        server.access_key(),
        server.secret_key(),
        None,
        None,
        "test",
    );
    let conf = aws_sdk_s3::Config::builder()
        .behavior_version(aws_sdk_s3::config::BehaviorVersion::latest())
        .region(aws_sdk_s3::config::Region::new("us-east-1"))
        .endpoint_url(server.endpoint())
        .force_path_style(true)
        .credentials_provider(credentials.clone())
        .http_client(aws_smithy_http_client::Builder::new().build_http())
        .build();
    let own = aws_sdk_s3::Client::from_conf(conf);
    let s3 = AwsSdkS3::from_client(own).unwrap();
    let data = random_bytes(7 * 1024 * 1024, 5);
    // Through the engine: a multipart upload and a ranged download.
    let manager = TransferManager::new(
        Arc::new(s3.clone()),
        TransferConfig::builder()
            .multipart_threshold(5 * 1024 * 1024)
            .multipart_chunksize(5 * 1024 * 1024)
            .build()
            .unwrap(),
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("src");
    std::fs::write(&path, &data).unwrap();
    manager
        .upload(path.as_path(), &bucket, "own", UploadArgs::default(), &[])
        .unwrap()
        .result()
        .unwrap();
    manager.shutdown(false, "");
    assert_eq!(get(&s3, &bucket, "own").unwrap().0, data);
    // The retries are off whatever the caller's client had.
    assert_eq!(
        s3.sdk_client()
            .config()
            .retry_config()
            .map(|r| r.max_attempts()),
        Some(1)
    );

    let sdk_config = aws_types::SdkConfig::builder()
        .behavior_version(aws_sdk_s3::config::BehaviorVersion::latest())
        .region(aws_types::region::Region::new("us-east-1"))
        .endpoint_url(server.endpoint())
        .credentials_provider(
            aws_credential_types::provider::SharedCredentialsProvider::new(credentials),
        )
        .build();
    // An SdkConfig without an HTTP client: the backend's own is used. It cannot say
    // path-style (only the S3 config can), which s3s-fs needs: the result's config is
    // taken on with that one change.
    let from_config = AwsSdkS3::from_sdk_config(&sdk_config).unwrap();
    let path_style = aws_sdk_s3::Client::from_conf(
        from_config
            .sdk_client()
            .config()
            .to_builder()
            .force_path_style(true)
            .build(),
    );
    let s3 = AwsSdkS3::from_client(path_style).unwrap();
    assert_eq!(
        head(&s3, &bucket, "own").unwrap().content_length,
        data.len() as u64
    );
}

/// A store that records requests and answers each with `answer`.
fn recorder(
    answer: impl Fn(&Seen) -> (u16, Vec<(&'static str, String)>, String) + Send + Sync + 'static,
) -> (Emulator, AwsSdkS3) {
    let store = Emulator::start(answer);
    let s3 = AwsSdkS3::builder()
        .endpoint(store.url())
        .region("us-east-1")
        .static_credentials("AKIDTEST", "secret")
        .request_timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    (store, s3)
}

#[test]
fn the_engines_checksums_go_out_as_given_and_the_sdk_computes_none() {
    let (store, s3) = recorder(|req| match req.method.as_str() {
        "GET" => (
            200,
            vec![
                ("ETag", "\"e\"".to_owned()),
                // Not the CRC32 of the body: the SDK must not check it (the engine does).
                ("x-amz-checksum-crc32", "AAAAAA==".to_owned()),
            ],
            "hello".to_owned(),
        ),
        _ => (200, vec![("ETag", "\"e\"".to_owned())], String::new()),
    });
    // Deliberately not the body's checksum: a recomputation would show as another value.
    let mut put = PutObjectRequest::default();
    put.bucket = "bkt".into();
    put.key = "k".into();
    put.checksum_algorithm = Some(ChecksumAlgorithm::Crc32);
    put.checksums.crc32 = Some("AAAAAA==".into());
    s3.put_object(&put, &mut RequestBody::new(b"hello world".to_vec()))
        .unwrap();
    let mut part = UploadPartRequest::default();
    part.bucket = "bkt".into();
    part.key = "k".into();
    part.upload_id = "u".into();
    part.part_number = 1;
    part.checksum_algorithm = Some(ChecksumAlgorithm::Crc32c);
    part.checksums.crc32c = Some("BBBBBB==".into());
    s3.upload_part(&part, &mut RequestBody::new(vec![9u8; 300_000]))
        .unwrap();
    let mut plain = PutObjectRequest::default();
    plain.bucket = "bkt".into();
    plain.key = "plain".into();
    s3.put_object(&plain, &mut RequestBody::new(b"no checksum".to_vec()))
        .unwrap();
    let mut get_req = GetObjectRequest::default();
    get_req.bucket = "bkt".into();
    get_req.key = "k".into();
    get_req.checksum_mode = true;
    let mut data = Vec::new();
    let out = s3.get_object(&get_req, &mut data).unwrap();
    assert_eq!(data, b"hello");
    assert_eq!(out.checksums.crc32.as_deref(), Some("AAAAAA=="));

    let seen = store.seen();
    assert_eq!(seen.len(), 4, "{seen:?}");
    let (put_seen, part_seen, plain_seen, get_seen) = (&seen[0], &seen[1], &seen[2], &seen[3]);
    assert_eq!(put_seen.headers["x-amz-checksum-crc32"], "AAAAAA==");
    assert_eq!(put_seen.headers["x-amz-sdk-checksum-algorithm"], "CRC32");
    assert_eq!(put_seen.body, "hello world", "the body went as it is");
    assert_eq!(part_seen.headers["x-amz-checksum-crc32c"], "BBBBBB==");
    assert_eq!(part_seen.body.len(), 300_000);
    for s in [put_seen, part_seen, plain_seen] {
        assert!(!s.headers.contains_key("x-amz-trailer"), "{s:?}");
        assert!(
            !s.headers
                .get("content-encoding")
                .is_some_and(|e| e.contains("aws-chunked")),
            "{s:?}"
        );
        assert!(
            !s.headers.contains_key("x-amz-decoded-content-length"),
            "{s:?}"
        );
    }
    // Without the engine's checksum, the SDK adds none of its own.
    assert!(
        !plain_seen
            .headers
            .keys()
            .any(|h| h.starts_with("x-amz-checksum") || h == "x-amz-sdk-checksum-algorithm"),
        "{plain_seen:?}"
    );
    assert_eq!(get_seen.headers["x-amz-checksum-mode"], "ENABLED");
}

#[test]
fn the_sdk_does_not_retry_on_its_own() {
    let (store, s3) = recorder(|_| {
        (
            503,
            vec![],
            "<Error><Code>SlowDown</Code><Message>m</Message></Error>".to_owned(),
        )
    });
    let err = head(&s3, "bkt", "k").unwrap_err();
    assert_eq!(err.kind(), S3ErrorKind::Throttled, "{err}");
    let err = get(&s3, "bkt", "k").unwrap_err();
    assert_eq!(err.kind(), S3ErrorKind::Throttled, "{err}");
    assert_eq!(err.code.as_deref(), Some("SlowDown"));
    assert_eq!(store.seen().len(), 2, "one request per call");
}

#[test]
fn an_error_document_inside_a_200_is_that_error() {
    let (_store, s3) = recorder(|_| {
        (
            200,
            vec![],
            "<?xml version=\"1.0\"?><Error><Code>InternalError</Code><Message>later</Message></Error>"
                .to_owned(),
        )
    });
    let mut complete = CompleteMultipartUploadRequest::default();
    complete.bucket = "bkt".into();
    complete.key = "k".into();
    complete.upload_id = "u".into();
    complete.parts = vec![CompletedPart::new(1, "\"p1\"")];
    let err = s3.complete_multipart_upload(&complete).unwrap_err();
    assert_eq!(err.kind(), S3ErrorKind::Transient, "{err}");
    assert_eq!(err.code.as_deref(), Some("InternalError"));
    let mut copy = CopyObjectRequest::default();
    copy.bucket = "bkt".into();
    copy.key = "k2".into();
    copy.source = CopySource::new("bkt", "k");
    let err = s3.copy_object(&copy).unwrap_err();
    assert_eq!(err.code.as_deref(), Some("InternalError"), "{err}");
    assert!(err.is_retryable());
}

#[test]
fn answers_without_an_etag_are_not_taken_for_success() {
    let (_store, s3) = recorder(|_| (200, vec![], String::new()));
    let mut put_req = PutObjectRequest::default();
    put_req.bucket = "bkt".into();
    put_req.key = "k".into();
    let err = s3
        .put_object(&put_req, &mut RequestBody::new(b"x".to_vec()))
        .unwrap_err();
    assert!(err.is_retryable(), "{err}");
    let err = head(&s3, "bkt", "k").unwrap_err();
    assert!(err.to_string().contains("ETag"), "{err}");
    let mut sink = Vec::new();
    let mut req = GetObjectRequest::default();
    req.bucket = "bkt".into();
    req.key = "k".into();
    let err = s3.get_object(&req, &mut sink).unwrap_err();
    assert!(err.to_string().contains("ETag"), "{err}");
}

#[test]
fn a_body_cut_short_is_truncated_and_counts_what_arrived() {
    let mut response = b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\nETag: \"abc\"\r\n\r\n".to_vec();
    response.extend_from_slice(&[7u8; 10]);
    let (endpoint, server) = raw_server(response, true);
    let s3 = AwsSdkS3::builder()
        .endpoint(endpoint)
        .region("us-east-1")
        .static_credentials("ak", "sk")
        .request_timeout(Duration::from_secs(2))
        .body_read_timeout(Duration::from_secs(2))
        .build()
        .unwrap();
    let mut req = GetObjectRequest::default();
    req.bucket = "bucket".into();
    req.key = "key".into();
    let mut received = 0usize;
    let mut sink = |d: &[u8]| -> Result<(), S3Error> {
        received += d.len();
        Ok(())
    };
    let err = s3.get_object(&req, &mut sink).unwrap_err();
    assert_eq!(err.kind(), S3ErrorKind::TruncatedBody, "{err}");
    assert_eq!(received, 10);
    server.join().unwrap();
}

#[test]
fn https_works_with_the_ca_bundle_and_a_refused_certificate_is_final() {
    let (proxy, bucket) = tls_store("sdk-tls", b"over tls");
    let server = LocalS3::shared();
    let builder = || {
        AwsSdkS3::builder()
            .endpoint(proxy.endpoint())
            .region("us-east-1")
            .static_credentials(server.access_key(), server.secret_key())
            .request_timeout(Duration::from_secs(10))
    };
    let s3 = builder().ca_bundle(tls_data("ca.pem")).build().unwrap();
    assert_eq!(get(&s3, &bucket, "sdk-tls").unwrap().0, b"over tls");
    // The server's own certificate is no CA: every handshake is refused.
    let s3 = builder().ca_bundle(tls_data("server.pem")).build().unwrap();
    let err = head(&s3, &bucket, "sdk-tls").unwrap_err();
    assert!(!err.is_retryable(), "{:?}: {err}", err.kind());
    assert!(err.to_string().contains("certificate"), "{err}");
}

#[test]
fn a_round_trip_through_the_backend_keeps_bytes_and_metadata() {
    let server = LocalS3::shared();
    let bucket = unique_bucket("sdk-rt");
    server.create_bucket(&bucket);
    let s3 = sdk_for(server);
    let data = random_bytes(600_000, 11);
    let out = put(&s3, &bucket, "k", &data);
    assert!(out.etag.is_some());
    let mut req = HeadObjectRequest::default();
    req.bucket = bucket.clone();
    req.key = "k".into();
    assert_eq!(s3.head_object(&req).unwrap().content_length, 600_000);
    assert_eq!(get(&s3, &bucket, "k").unwrap().0, data);
}

#[test]
fn anonymous_requests_carry_no_signature() {
    let store = Emulator::start(|_| (200, vec![("ETag", "\"e\"".to_owned())], String::new()));
    let s3 = AwsSdkS3::builder()
        .endpoint(store.url())
        .region("us-east-1")
        .anonymous()
        .build()
        .unwrap();
    head(&s3, "public", "k").unwrap();
    let seen = store.seen();
    assert_eq!(seen.len(), 1);
    assert!(!seen[0].headers.contains_key("authorization"), "{seen:?}");
}

// --- faults injected between the backend and a real store ------------------------

/// A fault proxy in front of the shared s3s-fs, the SDK backend talking to it with
/// short timeouts, and a fresh bucket.
fn behind_fault_proxy() -> (FaultProxy, AwsSdkS3, String) {
    let server = LocalS3::shared();
    let bucket = unique_bucket("sdk-fault");
    server.create_bucket(&bucket);
    let proxy = FaultProxy::start(&server.endpoint());
    let s3 = AwsSdkS3::builder()
        .endpoint(proxy.endpoint())
        .region("us-east-1")
        .static_credentials(server.access_key(), server.secret_key())
        .request_timeout(Duration::from_secs(1))
        .body_read_timeout(Duration::from_secs(1))
        .build()
        .unwrap();
    (proxy, s3, bucket)
}

#[test]
fn faults_reach_the_sdk_backend_as_the_kinds_retry_logic_branches_on() {
    let (proxy, s3, bucket) = behind_fault_proxy();
    let data = random_bytes(300_000, 21);
    put(&s3, &bucket, "k", &data);

    // Throttling and a server error on the multipart calls.
    proxy.add(Rule::new(
        Match::create_multipart_upload(),
        Fault::InternalError,
    ));
    let mut create = CreateMultipartUploadRequest::default();
    create.bucket = bucket.clone();
    create.key = "mp".into();
    let err = s3.create_multipart_upload(&create).unwrap_err();
    assert_eq!(err.kind(), S3ErrorKind::Transient, "{err}");
    assert_eq!(err.status, Some(500));
    let id = s3.create_multipart_upload(&create).unwrap().upload_id;
    proxy.add(Rule::new(Match::upload_part(), Fault::SlowDown));
    let mut part = UploadPartRequest::default();
    part.bucket = bucket.clone();
    part.key = "mp".into();
    part.upload_id = id.clone();
    part.part_number = 1;
    let err = s3
        .upload_part(&part, &mut RequestBody::new(data.clone()))
        .unwrap_err();
    assert_eq!(err.kind(), S3ErrorKind::Throttled, "{err}");
    assert_eq!(err.code.as_deref(), Some("SlowDown"));
    let etag = s3
        .upload_part(&part, &mut RequestBody::new(data.clone()))
        .unwrap()
        .etag
        .unwrap();
    // An error document inside a 200 on Complete, through a real connection.
    proxy.add(Rule::new(
        Match::complete_multipart_upload(),
        Fault::ErrorIn200,
    ));
    let mut complete = CompleteMultipartUploadRequest::default();
    complete.bucket = bucket.clone();
    complete.key = "mp".into();
    complete.upload_id = id;
    complete.parts = vec![CompletedPart::new(1, etag)];
    let err = s3.complete_multipart_upload(&complete).unwrap_err();
    assert_eq!(
        (err.kind(), err.status),
        (S3ErrorKind::Transient, Some(200)),
        "{err}"
    );
    s3.complete_multipart_upload(&complete).unwrap();

    // A body reset part way, one closed short, one that stalls: a short body is
    // TruncatedBody with what arrived delivered, a stall times out.
    let mut req = GetObjectRequest::default();
    req.bucket = bucket.clone();
    req.key = "k".into();
    proxy.add(Rule::new(Match::get_object(), Fault::ResetAfter(16 * 1024)));
    let mut partial = Vec::new();
    let err = s3.get_object(&req, &mut partial).unwrap_err();
    assert_eq!(err.kind(), S3ErrorKind::TruncatedBody, "{err}");
    assert!(partial.len() <= 16 * 1024);
    assert_eq!(partial[..], data[..partial.len()]);
    proxy.add(Rule::new(Match::get_object(), Fault::ShortBody(100_000)));
    let mut partial = Vec::new();
    let err = s3.get_object(&req, &mut partial).unwrap_err();
    assert_eq!(err.kind(), S3ErrorKind::TruncatedBody, "{err}");
    assert_eq!(partial, data[..100_000]);
    proxy.add(Rule::new(
        Match::get_object(),
        Fault::Stall {
            after_body_bytes: Some(1000),
            duration: Duration::from_secs(60),
        },
    ));
    let mut partial = Vec::new();
    let err = s3.get_object(&req, &mut partial).unwrap_err();
    assert_eq!(err.kind(), S3ErrorKind::Timeout, "{err}");
    assert_eq!(partial, data[..1000]);
    proxy.add(Rule::new(
        Match::head_object(),
        Fault::Stall {
            after_body_bytes: None,
            duration: Duration::from_secs(60),
        },
    ));
    let err = head(&s3, &bucket, "k").unwrap_err();
    assert_eq!(err.kind(), S3ErrorKind::Timeout, "{err}");

    // Each fault was used once; after them the calls pass.
    let mut back = Vec::new();
    s3.get_object(&req, &mut back).unwrap();
    assert_eq!(back, data);
    assert_eq!(get(&s3, &bucket, "mp").unwrap().0, data);
}
