//! The fault-injecting proxy in front of the in-process S3: each fault reaches the
//! rusoto backend as the `S3Error` kind retry logic branches on, and a request after the
//! rule is used up passes through unchanged (signatures still verify through it).
#![cfg(feature = "rusoto")]

mod common;

use std::time::{Duration, Instant};

use common::fault_proxy::{Fault, FaultProxy, Match, Rule};
use common::s3s_server::LocalS3;
use common::{random_bytes, unique_bucket};
use s3transfer::RusotoS3;
use s3transfer::client::*;
use s3transfer::{ChecksumAlgorithm, CopySource, S3Api, S3Error, S3ErrorKind};

/// A proxy in front of the shared server, a client talking to the proxy, and a fresh
/// bucket.
fn setup() -> (FaultProxy, RusotoS3, String) {
    let server = LocalS3::shared();
    let bucket = unique_bucket("fault");
    server.create_bucket(&bucket);
    let proxy = FaultProxy::start(&server.endpoint());
    let client = client_for(&proxy);
    (proxy, client, bucket)
}

fn client_for(proxy: &FaultProxy) -> RusotoS3 {
    let server = LocalS3::shared();
    RusotoS3::builder()
        .endpoint(proxy.endpoint())
        .region("us-east-1")
        .static_credentials(server.access_key(), server.secret_key())
        .request_timeout(Duration::from_secs(1))
        .body_read_timeout(Duration::from_secs(1))
        .build()
        .unwrap()
}

fn put(s3: &dyn S3Api, bucket: &str, key: &str, data: &[u8]) -> Result<PutObjectOutput, S3Error> {
    let mut req = PutObjectRequest::default();
    req.bucket = bucket.into();
    req.key = key.into();
    s3.put_object(&req, &mut RequestBody::new(data.to_vec()))
}

fn get(
    s3: &dyn S3Api,
    bucket: &str,
    key: &str,
    sink: &mut Vec<u8>,
) -> Result<GetObjectOutput, S3Error> {
    let mut req = GetObjectRequest::default();
    req.bucket = bucket.into();
    req.key = key.into();
    s3.get_object(&req, sink)
}

fn create(s3: &dyn S3Api, bucket: &str, key: &str) -> Result<String, S3Error> {
    let mut req = CreateMultipartUploadRequest::default();
    req.bucket = bucket.into();
    req.key = key.into();
    s3.create_multipart_upload(&req).map(|o| o.upload_id)
}

fn upload_part(
    s3: &dyn S3Api,
    bucket: &str,
    key: &str,
    upload_id: &str,
    data: &[u8],
) -> Result<String, S3Error> {
    let mut req = UploadPartRequest::default();
    req.bucket = bucket.into();
    req.key = key.into();
    req.upload_id = upload_id.into();
    req.part_number = 1;
    s3.upload_part(&req, &mut RequestBody::new(data.to_vec()))
        .map(|o| o.etag.expect("part etag"))
}

fn complete(
    s3: &dyn S3Api,
    bucket: &str,
    key: &str,
    upload_id: &str,
    etag: &str,
) -> Result<CompleteMultipartUploadOutput, S3Error> {
    let mut req = CompleteMultipartUploadRequest::default();
    req.bucket = bucket.into();
    req.key = key.into();
    req.upload_id = upload_id.into();
    req.parts = vec![CompletedPart::new(1, etag)];
    s3.complete_multipart_upload(&req)
}

fn copy(s3: &dyn S3Api, bucket: &str, src: &str, dst: &str) -> Result<CopyObjectOutput, S3Error> {
    let mut req = CopyObjectRequest::default();
    req.bucket = bucket.into();
    req.key = dst.into();
    req.source = CopySource::new(bucket, src);
    s3.copy_object(&req)
}

#[test]
fn slow_down_on_upload_part_is_throttled_then_the_part_passes() {
    let (proxy, s3, bucket) = setup();
    let id = create(&s3, &bucket, "k").unwrap();
    let rule = proxy.add(Rule::new(Match::upload_part(), Fault::SlowDown));
    let data = random_bytes(100_000, 1);

    let err = upload_part(&s3, &bucket, "k", &id, &data).unwrap_err();
    assert_eq!(err.kind(), S3ErrorKind::Throttled, "{err}");
    assert_eq!(err.status, Some(503));
    assert_eq!(err.code.as_deref(), Some("SlowDown"));
    assert_eq!(err.operation, "UploadPart");
    assert!(err.is_retryable());

    let etag = upload_part(&s3, &bucket, "k", &id, &data).unwrap();
    complete(&s3, &bucket, "k", &id, &etag).unwrap();
    let mut back = Vec::new();
    get(&s3, &bucket, "k", &mut back).unwrap();
    assert_eq!(back, data);
    assert_eq!(proxy.fired(rule), 1);
    assert_eq!(proxy.remaining(rule), 0);
    // Only the faulted request was answered by the proxy; the rest reached S3.
    let log = proxy.exchanges();
    assert_eq!(log.iter().filter(|e| e.fault.is_some()).count(), 1);
    assert!(
        log.iter()
            .filter(|e| e.fault.is_none())
            .all(|e| e.upstream_status.is_some_and(|s| s < 300)),
        "{log:?}"
    );
}

#[test]
fn internal_error_on_create_is_transient_then_create_passes() {
    let (proxy, s3, bucket) = setup();
    let rule =
        proxy.add(Rule::new(Match::create_multipart_upload(), Fault::InternalError).times(2));
    for _ in 0..2 {
        let err = create(&s3, &bucket, "k").unwrap_err();
        assert_eq!(err.kind(), S3ErrorKind::Transient, "{err}");
        assert_eq!(err.status, Some(500));
        assert_eq!(err.code.as_deref(), Some("InternalError"));
    }
    assert!(!create(&s3, &bucket, "k").unwrap().is_empty());
    assert_eq!(proxy.fired(rule), 2);
}

#[test]
fn an_error_inside_a_200_on_complete_is_transient_with_status_200() {
    let (proxy, s3, bucket) = setup();
    let id = create(&s3, &bucket, "k").unwrap();
    let data = random_bytes(10_000, 2);
    let etag = upload_part(&s3, &bucket, "k", &id, &data).unwrap();
    let rule = proxy.add(Rule::new(
        Match::complete_multipart_upload(),
        Fault::ErrorIn200,
    ));

    let err = complete(&s3, &bucket, "k", &id, &etag).unwrap_err();
    assert_eq!(err.kind(), S3ErrorKind::Transient, "{err}");
    assert_eq!(err.status, Some(200));
    assert_eq!(err.code.as_deref(), Some("InternalError"));
    assert_eq!(err.operation, "CompleteMultipartUpload");

    // The proxy answered in S3's place, so the upload is still open: a retry works.
    assert!(
        complete(&s3, &bucket, "k", &id, &etag)
            .unwrap()
            .etag
            .is_some()
    );
    let mut back = Vec::new();
    get(&s3, &bucket, "k", &mut back).unwrap();
    assert_eq!(back, data);
    assert_eq!(proxy.fired(rule), 1);
}

#[test]
fn a_complete_whose_answer_is_lost_cannot_simply_be_sent_again() {
    // The store completed the upload, the client saw a 500: the retry finds no upload.
    // Retry logic for Complete has to treat that answer with care (the object may
    // well exist).
    let (proxy, s3, bucket) = setup();
    let id = create(&s3, &bucket, "k").unwrap();
    let data = random_bytes(10_000, 3);
    let etag = upload_part(&s3, &bucket, "k", &id, &data).unwrap();
    proxy.add(Rule::new(Match::complete_multipart_upload(), Fault::InternalError).after_upstream());

    let err = complete(&s3, &bucket, "k", &id, &etag).unwrap_err();
    assert_eq!(err.kind(), S3ErrorKind::Transient, "{err}");
    let err = complete(&s3, &bucket, "k", &id, &etag).unwrap_err();
    // AWS answers NoSuchUpload (404); s3s-fs answers AccessDenied (403) for an upload
    // id it no longer knows. Neither is retryable.
    assert!(
        matches!(
            err.kind(),
            S3ErrorKind::NotFound | S3ErrorKind::AccessDenied
        ),
        "{err}"
    );
    let mut back = Vec::new();
    get(&s3, &bucket, "k", &mut back).unwrap();
    assert_eq!(back, data);
    let log = proxy.exchanges();
    assert_eq!(log[log.len() - 3].upstream_status, Some(200), "{log:?}");
}

#[test]
fn an_error_inside_a_200_on_copy_object_is_transient_with_status_200() {
    let (proxy, s3, bucket) = setup();
    let data = random_bytes(5_000, 4);
    put(&s3, &bucket, "src", &data).unwrap();
    let rule = proxy.add(Rule::new(Match::copy_object(), Fault::ErrorIn200));

    let err = copy(&s3, &bucket, "src", "dst").unwrap_err();
    assert_eq!(err.kind(), S3ErrorKind::Transient, "{err}");
    assert_eq!(err.status, Some(200));
    assert_eq!(err.code.as_deref(), Some("InternalError"));
    assert_eq!(err.operation, "CopyObject");

    copy(&s3, &bucket, "src", "dst").unwrap();
    let mut back = Vec::new();
    get(&s3, &bucket, "dst", &mut back).unwrap();
    assert_eq!(back, data);
    assert_eq!(proxy.fired(rule), 1);
}

#[test]
fn a_reset_part_way_through_a_body_is_a_truncated_body() {
    let (proxy, s3, bucket) = setup();
    let data = random_bytes(1 << 20, 5);
    put(&s3, &bucket, "k", &data).unwrap();
    let cut_at = 16 * 1024;
    let rule = proxy.add(Rule::new(Match::get_object(), Fault::ResetAfter(cut_at)));

    let mut partial = Vec::new();
    let err = get(&s3, &bucket, "k", &mut partial).unwrap_err();
    assert_eq!(err.kind(), S3ErrorKind::TruncatedBody, "{err}");
    // A reset may drop bytes still in flight, never add any.
    assert!(partial.len() <= cut_at, "{}", partial.len());
    assert_eq!(partial[..], data[..partial.len()]);

    let mut back = Vec::new();
    let out = get(&s3, &bucket, "k", &mut back).unwrap();
    assert_eq!(out.bytes_received, data.len() as u64);
    assert_eq!(back, data);
    assert_eq!(proxy.fired(rule), 1);
}

#[test]
fn a_body_shorter_than_its_content_length_is_a_truncated_body() {
    let (proxy, s3, bucket) = setup();
    let data = random_bytes(300_000, 6);
    put(&s3, &bucket, "k", &data).unwrap();
    let cut_at = 100_000;
    proxy.add(Rule::new(Match::get_object(), Fault::ShortBody(cut_at)));

    let mut partial = Vec::new();
    let err = get(&s3, &bucket, "k", &mut partial).unwrap_err();
    assert_eq!(err.kind(), S3ErrorKind::TruncatedBody, "{err}");
    // A clean close delivers everything sent before it.
    assert_eq!(partial, data[..cut_at]);

    let mut back = Vec::new();
    get(&s3, &bucket, "k", &mut back).unwrap();
    assert_eq!(back, data);
}

#[test]
fn a_body_that_stalls_times_out() {
    let (proxy, s3, bucket) = setup();
    let data = random_bytes(200_000, 7);
    put(&s3, &bucket, "k", &data).unwrap();
    proxy.add(Rule::new(
        Match::get_object(),
        Fault::Stall {
            after_body_bytes: Some(1000),
            duration: Duration::from_secs(60),
        },
    ));

    let started = Instant::now();
    let mut partial = Vec::new();
    let err = get(&s3, &bucket, "k", &mut partial).unwrap_err();
    // body_read_timeout is 1 s; the stall would last 60.
    assert_eq!(err.kind(), S3ErrorKind::Timeout, "{err}");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(partial, data[..1000]);

    let mut back = Vec::new();
    get(&s3, &bucket, "k", &mut back).unwrap();
    assert_eq!(back, data);
}

#[test]
fn a_request_without_an_answer_times_out() {
    let (proxy, s3, bucket) = setup();
    proxy.add(Rule::new(
        Match::head_object(),
        Fault::Stall {
            after_body_bytes: None,
            duration: Duration::from_secs(60),
        },
    ));
    let head = |key: &str| {
        let mut req = HeadObjectRequest::default();
        req.bucket = bucket.clone();
        req.key = key.into();
        s3.head_object(&req)
    };
    let err = head("k").unwrap_err();
    // request_timeout is 1 s.
    assert_eq!(err.kind(), S3ErrorKind::Timeout, "{err}");
    // The next HEAD passes: a missing key, classified as such.
    assert_eq!(head("k").unwrap_err().kind(), S3ErrorKind::NotFound);
}

#[test]
fn a_head_answered_with_slow_down_keeps_the_connection_usable() {
    let (proxy, s3, bucket) = setup();
    put(&s3, &bucket, "k", b"hello").unwrap();
    proxy.add(Rule::new(Match::head_object(), Fault::SlowDown));
    let mut req = HeadObjectRequest::default();
    req.bucket = bucket.clone();
    req.key = "k".into();
    let err = s3.head_object(&req).unwrap_err();
    assert_eq!(err.kind(), S3ErrorKind::Throttled, "{err}");
    assert_eq!(s3.head_object(&req).unwrap().content_length, 5);
}

#[test]
fn connections_are_kept_alive_through_the_proxy() {
    let (proxy, s3, bucket) = setup();
    for i in 0..10 {
        put(&s3, &bucket, &format!("k{i}"), b"x").unwrap();
    }
    proxy.add(Rule::new(Match::put_object(), Fault::SlowDown).times(3));
    for i in 0..3 {
        put(&s3, &bucket, &format!("k{i}"), b"x").unwrap_err();
    }
    // One caller at a time: one pooled connection carries all 13 requests.
    assert_eq!(proxy.connections(), 1);
    assert_eq!(proxy.exchanges().len(), 13);
}

#[test]
fn chunked_and_expect_continue_requests_are_framed_correctly() {
    use std::io::{BufRead, BufReader, Read, Write};
    use std::net::{TcpListener, TcpStream};

    // A raw upstream that echoes each request's raw body length, twice on one
    // connection.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let upstream = listener.local_addr().unwrap().to_string();
    let server = std::thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let mut writer = stream;
        let mut seen = Vec::new();
        for _ in 0..2 {
            let mut head = String::new();
            loop {
                let mut line = String::new();
                reader.read_line(&mut line).unwrap();
                head.push_str(&line);
                if line == "\r\n" {
                    break;
                }
            }
            let body = if head.contains("chunked") {
                let mut body = Vec::new();
                while !body.ends_with(b"0\r\n\r\n") {
                    let mut byte = [0u8];
                    reader.read_exact(&mut byte).unwrap();
                    body.push(byte[0]);
                }
                body
            } else {
                let mut body = vec![0u8; 5];
                reader.read_exact(&mut body).unwrap();
                body
            };
            if head.contains("100-continue") {
                writer.write_all(b"HTTP/1.1 100 Continue\r\n\r\n").unwrap();
            }
            let answer = format!("{}", body.len());
            write!(
                writer,
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{answer}",
                answer.len()
            )
            .unwrap();
            seen.push(body);
        }
        seen
    });

    let proxy = FaultProxy::start(&upstream);
    let mut client = TcpStream::connect(proxy.addr()).unwrap();
    let mut reader = BufReader::new(client.try_clone().unwrap());
    let read_response = |reader: &mut BufReader<TcpStream>| {
        let mut status = String::new();
        reader.read_line(&mut status).unwrap();
        let mut length = 0;
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            if line == "\r\n" {
                break;
            }
            if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                length = v.trim().parse().unwrap();
            }
        }
        let mut body = vec![0u8; length];
        reader.read_exact(&mut body).unwrap();
        (status, String::from_utf8(body).unwrap())
    };

    let chunked = b"4\r\nabcd\r\n3;ext=1\r\nefg\r\n0\r\n\r\n";
    client
        .write_all(b"POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
        .unwrap();
    client.write_all(chunked).unwrap();
    let (status, body) = read_response(&mut reader);
    assert!(status.starts_with("HTTP/1.1 200"), "{status}");
    assert_eq!(body, chunked.len().to_string());

    // Expect: the proxy says 100 Continue itself, the upstream's own is not relayed.
    client
        .write_all(
            b"PUT /b HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n",
        )
        .unwrap();
    let (status, _) = read_response(&mut reader);
    assert!(status.starts_with("HTTP/1.1 100"), "{status}");
    client.write_all(b"hello").unwrap();
    let (status, body) = read_response(&mut reader);
    assert!(status.starts_with("HTTP/1.1 200"), "{status}");
    assert_eq!(body, "5");

    let seen = server.join().unwrap();
    assert_eq!(seen[0], chunked);
    assert_eq!(seen[1], b"hello");
    assert_eq!(proxy.connections(), 1);
}

#[test]
fn a_response_body_byte_flipped_in_flight_arrives_flipped_and_only_once() {
    let (proxy, s3, bucket) = setup();
    let data = random_bytes(300_000, 11);
    put(&s3, &bucket, "k", &data).unwrap();
    let rule = proxy.add(Rule::new(
        Match::get_object(),
        Fault::CorruptResponseBody(1234),
    ));

    let mut damaged = Vec::new();
    get(&s3, &bucket, "k", &mut damaged).expect("the length is unchanged");
    let mut expected = data.clone();
    expected[1234] ^= 0xFF;
    assert_eq!(damaged, expected);
    assert_eq!(proxy.fired(rule), 1);

    let mut back = Vec::new();
    get(&s3, &bucket, "k", &mut back).unwrap();
    assert_eq!(back, data);
}

#[test]
fn a_request_body_byte_flipped_in_flight_is_stored_flipped_unless_a_checksum_catches_it() {
    let (proxy, s3, bucket) = setup();
    let data = random_bytes(50_000, 12);
    proxy.add(Rule::new(Match::put_object(), Fault::CorruptRequestBody(7)));
    put(&s3, &bucket, "plain", &data).expect("nothing checks the bytes");
    let mut stored = Vec::new();
    get(&s3, &bucket, "plain", &mut stored).unwrap();
    let mut expected = data.clone();
    expected[7] ^= 0xFF;
    assert_eq!(stored, expected);

    proxy.add(Rule::new(Match::put_object(), Fault::CorruptRequestBody(7)));
    let mut req = PutObjectRequest::default();
    req.bucket = bucket.clone();
    req.key = "summed".into();
    req.checksum_algorithm = Some(ChecksumAlgorithm::Crc32);
    req.checksums.crc32 =
        Some(s3transfer::checksum::checksum(ChecksumAlgorithm::Crc32, &data).to_base64());
    let err = s3
        .put_object(&req, &mut RequestBody::new(data))
        .unwrap_err();
    assert_eq!(err.code.as_deref(), Some("BadDigest"), "{err}");
}
