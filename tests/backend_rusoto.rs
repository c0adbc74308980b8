//! The rusoto backend against a real S3 implementation (in-process s3s-fs) and against
//! tiny raw-TCP servers that misbehave on purpose (truncate, stall, never answer).
#![cfg(feature = "rusoto")]

mod common;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use common::s3s_server::LocalS3;
use common::{random_bytes, unique_bucket};
use s3transfer::RusotoS3;
use s3transfer::checksum::checksum;
use s3transfer::client::*;
use s3transfer::{ChecksumAlgorithm, CopySource, S3Api, S3Error, S3ErrorKind};

const MIB: usize = 1024 * 1024;

fn bucket(server: &LocalS3) -> String {
    let name = unique_bucket("rusoto");
    server.create_bucket(&name);
    name
}

fn put(s3: &dyn S3Api, bucket: &str, key: &str, data: &[u8]) -> PutObjectOutput {
    let mut req = PutObjectRequest::default();
    req.bucket = bucket.into();
    req.key = key.into();
    s3.put_object(&req, &mut RequestBody::new(data.to_vec()))
        .expect("put")
}

fn head(s3: &dyn S3Api, bucket: &str, key: &str) -> Result<HeadObjectOutput, S3Error> {
    let mut req = HeadObjectRequest::default();
    req.bucket = bucket.into();
    req.key = key.into();
    s3.head_object(&req)
}

fn get(
    s3: &dyn S3Api,
    bucket: &str,
    key: &str,
    range: Option<ByteRange>,
) -> Result<(Vec<u8>, GetObjectOutput), S3Error> {
    let mut req = GetObjectRequest::default();
    req.bucket = bucket.into();
    req.key = key.into();
    req.range = range;
    let mut data = Vec::new();
    let out = s3.get_object(&req, &mut data)?;
    Ok((data, out))
}

fn create_mpu(s3: &dyn S3Api, bucket: &str, key: &str) -> String {
    let mut req = CreateMultipartUploadRequest::default();
    req.bucket = bucket.into();
    req.key = key.into();
    s3.create_multipart_upload(&req).expect("create").upload_id
}

fn upload_part(s3: &dyn S3Api, bucket: &str, key: &str, id: &str, n: u32, data: &[u8]) -> String {
    let mut req = UploadPartRequest::default();
    req.bucket = bucket.into();
    req.key = key.into();
    req.upload_id = id.into();
    req.part_number = n;
    s3.upload_part(&req, &mut RequestBody::new(data.to_vec()))
        .expect("upload part")
        .etag
        .expect("part etag")
}

fn complete(
    s3: &dyn S3Api,
    bucket: &str,
    key: &str,
    id: &str,
    etags: &[String],
) -> Result<CompleteMultipartUploadOutput, S3Error> {
    let mut req = CompleteMultipartUploadRequest::default();
    req.bucket = bucket.into();
    req.key = key.into();
    req.upload_id = id.into();
    req.parts = etags
        .iter()
        .enumerate()
        .map(|(i, e)| CompletedPart::new(i as u32 + 1, e.clone()))
        .collect();
    s3.complete_multipart_upload(&req)
}

#[test]
fn put_head_and_ranged_gets() {
    let server = LocalS3::shared();
    let s3 = server.client();
    let b = bucket(server);
    let data = random_bytes(1000, 1);
    let mut req = PutObjectRequest::default();
    req.bucket = b.clone();
    req.key = "obj".into();
    req.attributes.content_type = Some("application/x-test".into());
    req.attributes
        .metadata
        .insert("colour".into(), "blue".into());
    let put = s3
        .put_object(
            &req,
            &mut RequestBody::new(data.clone()).with_chunk_size(64),
        )
        .unwrap();
    let etag = put.etag.expect("etag");
    assert!(etag.starts_with('"') && etag.ends_with('"'), "{etag}");

    let h = head(&*s3, &b, "obj").unwrap();
    assert_eq!(h.content_length, 1000);
    assert_eq!(h.etag.as_deref(), Some(etag.as_str()));
    assert_eq!(
        h.attributes.content_type.as_deref(),
        Some("application/x-test")
    );
    assert_eq!(
        h.attributes.metadata.get("colour").map(String::as_str),
        Some("blue")
    );
    assert!(h.last_modified.is_some());

    let (whole, out) = get(&*s3, &b, "obj", None).unwrap();
    assert_eq!(whole, data);
    assert_eq!(out.content_length, 1000);
    assert_eq!(out.bytes_received, 1000);
    assert_eq!(out.etag.as_deref(), Some(etag.as_str()));

    let (part, out) = get(&*s3, &b, "obj", Some(ByteRange::inclusive(100, 199))).unwrap();
    assert_eq!(part, &data[100..200]);
    assert_eq!(
        out.content_range,
        Some(ContentRange {
            start: 100,
            end: 199,
            total: 1000
        })
    );
    assert_eq!(out.bytes_received, 100);

    let (tail, out) = get(&*s3, &b, "obj", Some(ByteRange::from(900))).unwrap();
    assert_eq!(tail, &data[900..]);
    assert_eq!(
        out.content_range.map(|r| (r.start, r.end)),
        Some((900, 999))
    );
}

#[test]
fn unsatisfiable_range_is_invalid_range() {
    let server = LocalS3::shared();
    let s3 = server.client();
    let b = bucket(server);
    put(&*s3, &b, "small", &random_bytes(10, 2));
    let err = get(&*s3, &b, "small", Some(ByteRange::from(5000))).unwrap_err();
    assert_eq!(err.kind(), S3ErrorKind::InvalidRange, "{err}");
    assert_eq!(err.status, Some(416));
    assert_eq!(
        (err.bucket.as_str(), err.key.as_str()),
        (b.as_str(), "small")
    );
}

#[test]
fn missing_key_is_not_found_on_head_and_get() {
    let server = LocalS3::shared();
    let s3 = server.client();
    let b = bucket(server);
    let err = head(&*s3, &b, "nope").unwrap_err();
    assert_eq!(err.kind(), S3ErrorKind::NotFound, "{err}");
    assert_eq!(err.operation, "HeadObject");
    assert_eq!(err.key, "nope");
    let err = get(&*s3, &b, "nope", None).unwrap_err();
    assert_eq!(err.kind(), S3ErrorKind::NotFound, "{err}");
    assert_eq!(err.operation, "GetObject");
}

#[test]
fn multipart_upload_round_trip() {
    let server = LocalS3::shared();
    let s3 = server.client();
    let b = bucket(server);
    let data = random_bytes(5 * MIB + 1000, 3);
    let id = create_mpu(&*s3, &b, "mpu");
    let e1 = upload_part(&*s3, &b, "mpu", &id, 1, &data[..5 * MIB]);
    let e2 = upload_part(&*s3, &b, "mpu", &id, 2, &data[5 * MIB..]);
    let out = complete(&*s3, &b, "mpu", &id, &[e1, e2]).unwrap();
    let etag = out.etag.expect("etag");
    assert!(etag.ends_with("-2\""), "{etag}");
    let (back, _) = get(&*s3, &b, "mpu", None).unwrap();
    assert!(back == data, "content differs");
}

#[test]
fn abort_multipart_upload() {
    let server = LocalS3::shared();
    let s3 = server.client();
    let b = bucket(server);
    let id = create_mpu(&*s3, &b, "aborted");
    upload_part(&*s3, &b, "aborted", &id, 1, &random_bytes(100, 4));
    let mut req = AbortMultipartUploadRequest::default();
    req.bucket = b.clone();
    req.key = "aborted".into();
    req.upload_id = id;
    s3.abort_multipart_upload(&req).unwrap();
    assert_eq!(
        head(&*s3, &b, "aborted").unwrap_err().kind(),
        S3ErrorKind::NotFound
    );
}

#[test]
fn copy_object_and_upload_part_copy() {
    let server = LocalS3::shared();
    let s3 = server.client();
    let b = bucket(server);
    let data = random_bytes(6 * MIB, 5);
    let src = "src dir/ünï + 100%.bin";
    put(&*s3, &b, src, &data);

    let mut req = CopyObjectRequest::default();
    req.bucket = b.clone();
    req.key = "copy".into();
    req.source = CopySource::new(b.clone(), src);
    let out = s3.copy_object(&req).unwrap();
    assert!(out.etag.is_some());
    let (back, _) = get(&*s3, &b, "copy", None).unwrap();
    assert!(back == data);

    let id = create_mpu(&*s3, &b, "part-copy");
    let mut etags = Vec::new();
    for (n, (start, end)) in [
        (0u64, 5 * MIB as u64 - 1),
        (5 * MIB as u64, 6 * MIB as u64 - 1),
    ]
    .into_iter()
    .enumerate()
    {
        let mut req = UploadPartCopyRequest::default();
        req.bucket = b.clone();
        req.key = "part-copy".into();
        req.upload_id = id.clone();
        req.part_number = n as u32 + 1;
        req.source = CopySource::new(b.clone(), src);
        req.source_range = Some((start, end));
        etags.push(s3.upload_part_copy(&req).unwrap().etag.expect("etag"));
    }
    let out = complete(&*s3, &b, "part-copy", &id, &etags).unwrap();
    assert!(out.etag.unwrap().ends_with("-2\""));
    let (back, _) = get(&*s3, &b, "part-copy", None).unwrap();
    assert!(back == data);
}

#[test]
fn delete_object_removes_it() {
    let server = LocalS3::shared();
    let s3 = server.client();
    let b = bucket(server);
    put(&*s3, &b, "doomed", b"bye");
    let mut req = DeleteObjectRequest::default();
    req.bucket = b.clone();
    req.key = "doomed".into();
    s3.delete_object(&req).unwrap();
    assert_eq!(
        head(&*s3, &b, "doomed").unwrap_err().kind(),
        S3ErrorKind::NotFound
    );
    // Deleting a missing key succeeds, as on S3.
    s3.delete_object(&req).unwrap();
}

#[test]
fn awkward_keys_round_trip() {
    let server = LocalS3::shared();
    let s3 = server.client();
    let b = bucket(server);
    for (i, key) in [
        "a b c",
        "ünïcødé/ключ",
        "plus+sign",
        "100%25 real %",
        "tilde~&=,;",
    ]
    .into_iter()
    .enumerate()
    {
        let data = random_bytes(100 + i, 10 + i as u64);
        put(&*s3, &b, key, &data);
        assert_eq!(
            head(&*s3, &b, key).unwrap().content_length,
            data.len() as u64,
            "{key}"
        );
        assert_eq!(get(&*s3, &b, key, None).unwrap().0, data, "{key}");
        let mut req = CopyObjectRequest::default();
        req.bucket = b.clone();
        req.key = format!("copy of {key}");
        req.source = CopySource::new(b.clone(), key);
        s3.copy_object(&req)
            .unwrap_or_else(|e| panic!("copy {key}: {e}"));
        assert_eq!(
            get(&*s3, &b, &req.key, None).unwrap().0,
            data,
            "copy of {key}"
        );
    }
}

#[test]
fn a_failing_sink_stops_the_get_with_its_own_error() {
    let server = LocalS3::shared();
    let s3 = server.client();
    let b = bucket(server);
    put(&*s3, &b, "big", &random_bytes(2 * MIB, 6));
    let mut req = GetObjectRequest::default();
    req.bucket = b.clone();
    req.key = "big".into();
    let mut calls = 0;
    let mut sink = |_: &[u8]| -> Result<(), S3Error> {
        calls += 1;
        Err(S3Error::new(
            S3ErrorKind::Cancelled,
            "GetObject",
            "sink is full of it",
        ))
    };
    let err = s3.get_object(&req, &mut sink).unwrap_err();
    assert_eq!(err.kind(), S3ErrorKind::Cancelled);
    assert_eq!(err.message, "sink is full of it");
    assert_eq!(calls, 1);
    // The backend is still usable afterwards.
    assert_eq!(
        head(&*s3, &b, "big").unwrap().content_length,
        2 * MIB as u64
    );
}

struct StopAfter {
    chunks: AtomicUsize,
    limit: usize,
}

impl BodyObserver for StopAfter {
    fn on_chunk(&self, _len: usize) -> Result<(), S3Error> {
        if self.chunks.fetch_add(1, Ordering::SeqCst) >= self.limit {
            Err(S3Error::new(
                S3ErrorKind::Cancelled,
                "PutObject",
                "observer says stop",
            ))
        } else {
            Ok(())
        }
    }
    fn on_rewind(&self, _len: usize) {}
}

#[test]
fn a_failing_body_observer_stops_the_put() {
    let server = LocalS3::shared();
    let s3 = server.client();
    let b = bucket(server);
    let observer = Arc::new(StopAfter {
        chunks: AtomicUsize::new(0),
        limit: 2,
    });
    let mut body = RequestBody::new(random_bytes(MIB, 7))
        .with_chunk_size(64 * 1024)
        .with_observer(observer.clone());
    let mut req = PutObjectRequest::default();
    req.bucket = b.clone();
    req.key = "half".into();
    let err = s3.put_object(&req, &mut body).unwrap_err();
    assert_eq!(err.kind(), S3ErrorKind::Cancelled);
    assert_eq!(err.message, "observer says stop");
    assert_eq!(observer.chunks.load(Ordering::SeqCst), 3);
    assert_eq!(
        head(&*s3, &b, "half").unwrap_err().kind(),
        S3ErrorKind::NotFound
    );
}

#[test]
fn wrong_secret_key_is_access_denied() {
    let server = LocalS3::shared();
    let b = bucket(server);
    let s3 = RusotoS3::builder()
        .endpoint(server.endpoint())
        .static_credentials(server.access_key(), "not-the-secret")
        .build()
        .unwrap();
    let err = head(&s3, &b, "x").unwrap_err();
    assert_eq!(err.kind(), S3ErrorKind::AccessDenied, "{err}");
    let err = get(&s3, &b, "x", None).unwrap_err();
    assert_eq!(err.kind(), S3ErrorKind::AccessDenied, "{err}");
    let mut req = PutObjectRequest::default();
    req.bucket = b.clone();
    req.key = "x".into();
    let err = s3
        .put_object(&req, &mut RequestBody::new(vec![1u8; 100]))
        .unwrap_err();
    assert_eq!(err.kind(), S3ErrorKind::AccessDenied, "{err}");
}

#[test]
fn checksum_headers_reach_the_store_which_checks_and_returns_them() {
    let server = LocalS3::shared();
    let s3 = server.client();
    assert!(s3.supports_checksums());
    let b = bucket(server);
    let data = random_bytes(10_000, 21);
    let crc = checksum(ChecksumAlgorithm::Crc32c, &data).to_base64();
    let mut req = PutObjectRequest::default();
    req.bucket = b.clone();
    req.key = "summed".into();
    req.checksum_algorithm = Some(ChecksumAlgorithm::Crc32c);
    req.checksums.crc32c = Some(crc.clone());
    s3.put_object(&req, &mut RequestBody::new(data.clone()))
        .expect("a correct checksum is accepted");
    let mut h = HeadObjectRequest::default();
    h.bucket = b.clone();
    h.key = "summed".into();
    h.checksum_mode = true;
    assert_eq!(s3.head_object(&h).unwrap().checksums.crc32c, Some(crc));

    // s3s-fs computes the checksum of what it received: a value that does not match
    // the bytes proves the header was sent, not dropped.
    req.key = "wrong".into();
    req.checksums.crc32c = Some(checksum(ChecksumAlgorithm::Crc32c, b"other").to_base64());
    let err = s3
        .put_object(&req, &mut RequestBody::new(data))
        .unwrap_err();
    assert_eq!(err.code.as_deref(), Some("BadDigest"), "{err}");
    // Not checked here: that nothing was stored. s3s-fs 0.14 writes the object before
    // it compares checksums and keeps it; tests/checksums.rs checks that on SeaweedFS.
}

#[test]
fn calls_from_inside_async_code_do_not_panic() {
    let server = LocalS3::shared();
    let s3 = server.client();
    let b = bucket(server);
    let data = random_bytes(300_000, 8);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        put(&*s3, &b, "from-async", &data);
        assert_eq!(get(&*s3, &b, "from-async", None).unwrap().0, data);
        assert_eq!(
            head(&*s3, &b, "from-async").unwrap().content_length,
            300_000
        );
    });
}

#[test]
fn dropping_a_local_server_stops_it() {
    let server = LocalS3::start();
    let b = bucket(&server);
    let s3 = server.client();
    put(&*s3, &b, "k", b"v");
    let endpoint = server.endpoint();
    drop(server);
    let s3 = RusotoS3::builder()
        .endpoint(endpoint)
        .static_credentials("a", "b")
        .build()
        .unwrap();
    assert!(head(&s3, &b, "k").unwrap_err().is_retryable());
}

// --- misbehaving servers ------------------------------------------------------------

/// A client for a raw server with short timeouts.
fn raw_client(endpoint: &str) -> RusotoS3 {
    RusotoS3::builder()
        .endpoint(endpoint)
        .static_credentials("ak", "sk")
        .request_timeout(Duration::from_secs(1))
        .body_read_timeout(Duration::from_secs(1))
        .build()
        .unwrap()
}

/// Serve one connection on 127.0.0.1: read the request head, write `response`, then
/// keep the socket open (or close it, if `close`) until the client goes away.
fn raw_server(response: Vec<u8>, close: bool) -> (String, std::thread::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    let thread = std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        read_request_head(&mut stream);
        let _ = stream.write_all(&response);
        let _ = stream.flush();
        if close {
            return;
        }
        // Hold the connection until the client gives up and closes it.
        let mut buf = [0u8; 4096];
        while matches!(stream.read(&mut buf), Ok(n) if n > 0) {}
    });
    (endpoint, thread)
}

fn read_request_head(stream: &mut TcpStream) {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match stream.read(&mut byte) {
            Ok(1) => head.push(byte[0]),
            _ => return,
        }
    }
}

#[test]
fn a_body_cut_short_is_retryable_and_counts_what_arrived() {
    let mut response = b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\nETag: \"abc\"\r\n\r\n".to_vec();
    response.extend_from_slice(&[7u8; 10]);
    let (endpoint, server) = raw_server(response, true);
    let s3 = raw_client(&endpoint);
    let mut req = GetObjectRequest::default();
    req.bucket = "bucket".into();
    req.key = "key".into();
    let mut received = 0usize;
    let mut sink = |d: &[u8]| -> Result<(), S3Error> {
        received += d.len();
        Ok(())
    };
    let err = s3.get_object(&req, &mut sink).unwrap_err();
    assert!(
        matches!(
            err.kind(),
            S3ErrorKind::TruncatedBody | S3ErrorKind::Transient
        ),
        "{err}"
    );
    assert!(err.is_retryable());
    assert_eq!(received, 10);
    server.join().unwrap();
}

#[test]
fn bytes_of_a_stalled_body_reach_the_sink_before_the_stall_times_out() {
    // Far less than a batch, then nothing: the sink must get the 10 bytes soon (it is
    // where a cancelled transfer stops its GET), not only when the stall times out.
    let mut response = b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n".to_vec();
    response.extend_from_slice(&[7u8; 10]);
    let (endpoint, server) = raw_server(response, false);
    let s3 = RusotoS3::builder()
        .endpoint(&endpoint)
        .static_credentials("ak", "sk")
        .body_read_timeout(Duration::from_secs(60))
        .build()
        .unwrap();
    let started = Instant::now();
    let mut req = GetObjectRequest::default();
    req.bucket = "bucket".into();
    req.key = "key".into();
    let mut received = 0usize;
    let mut sink = |d: &[u8]| -> Result<(), S3Error> {
        received += d.len();
        Err(S3Error::new(
            S3ErrorKind::Cancelled,
            "GetObject",
            "the transfer stopped",
        ))
    };
    let err = s3.get_object(&req, &mut sink).unwrap_err();
    assert_eq!(err.kind(), S3ErrorKind::Cancelled, "{err}");
    assert_eq!(received, 10);
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "the sink waited for the 60 s stall timeout: {:?}",
        started.elapsed()
    );
    drop(s3);
    server.join().unwrap();
}

#[test]
fn a_stalled_body_times_out() {
    let mut response = b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n".to_vec();
    response.extend_from_slice(&[7u8; 10]);
    let (endpoint, server) = raw_server(response, false);
    let s3 = raw_client(&endpoint);
    let mut req = GetObjectRequest::default();
    req.bucket = "bucket".into();
    req.key = "key".into();
    let mut received = Vec::new();
    let started = Instant::now();
    let err = s3.get_object(&req, &mut received).unwrap_err();
    assert_eq!(err.kind(), S3ErrorKind::Timeout, "{err}");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(received.len(), 10);
    drop(s3);
    server.join().unwrap();
}

#[test]
fn a_server_that_never_answers_times_out() {
    let (endpoint, server) = raw_server(Vec::new(), false);
    let s3 = raw_client(&endpoint);
    let started = Instant::now();
    let err = head(&s3, "bucket", "key").unwrap_err();
    assert_eq!(err.kind(), S3ErrorKind::Timeout, "{err}");
    assert_eq!(err.operation, "HeadObject");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    drop(s3);
    server.join().unwrap();
}

#[test]
fn an_error_inside_a_200_is_classified() {
    let body = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>InternalError</Code>\
                <Message>We encountered an internal error. Please try again.</Message></Error>";
    let response = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: application/xml\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let (endpoint, server) = raw_server(response.into_bytes(), true);
    let s3 = raw_client(&endpoint);
    let mut req = CopyObjectRequest::default();
    req.bucket = "bucket".into();
    req.key = "dst".into();
    req.source = CopySource::new("bucket", "src");
    let err = s3.copy_object(&req).unwrap_err();
    assert_eq!(err.kind(), S3ErrorKind::Transient, "{err}");
    assert_eq!(err.status, Some(200));
    assert_eq!(err.code.as_deref(), Some("InternalError"));
    server.join().unwrap();
}

#[test]
fn connection_refused_is_transient() {
    let port = {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let s3 = raw_client(&format!("http://127.0.0.1:{port}"));
    let err = head(&s3, "bucket", "key").unwrap_err();
    assert_eq!(err.kind(), S3ErrorKind::Transient, "{err}");
    let mut req = PutObjectRequest::default();
    req.bucket = "bucket".into();
    req.key = "key".into();
    let err = s3
        .put_object(&req, &mut RequestBody::new(vec![0u8; 1000]))
        .unwrap_err();
    assert_eq!(err.kind(), S3ErrorKind::Transient, "{err}");
}

#[test]
fn an_upload_the_server_stops_reading_times_out() {
    // The server reads the request head, then neither reads the body nor answers.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
    let server = std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        read_request_head(&mut stream);
        let _ = done_rx.recv();
    });
    let s3 = RusotoS3::builder()
        .endpoint(endpoint)
        .static_credentials("ak", "sk")
        .request_timeout(Duration::from_secs(1))
        .body_send_timeout(Duration::from_secs(1))
        .build()
        .unwrap();
    let mut req = PutObjectRequest::default();
    req.bucket = "bucket".into();
    req.key = "key".into();
    let started = Instant::now();
    let err = s3
        .put_object(&req, &mut RequestBody::new(random_bytes(6 * MIB, 9)))
        .unwrap_err();
    assert_eq!(err.kind(), S3ErrorKind::Timeout, "{err}");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    drop(done_tx);
    server.join().unwrap();
}

/// A listener whose accept queue is full drops new SYNs, so a connect never completes:
/// the connect timeout must end it.
#[test]
fn a_connect_that_never_completes_times_out() {
    use socket2::{Domain, Socket, Type};
    let socket = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
    socket
        .bind(
            &"127.0.0.1:0"
                .parse::<std::net::SocketAddr>()
                .unwrap()
                .into(),
        )
        .unwrap();
    socket.listen(0).unwrap();
    let addr = socket.local_addr().unwrap().as_socket().unwrap();
    // Fill the accept queue; nothing ever accepts.
    let _held: Vec<_> = (0..4)
        .filter_map(|_| {
            let s = Socket::new(Domain::IPV4, Type::STREAM, None).ok()?;
            s.set_nonblocking(true).ok()?;
            let _ = s.connect(&addr.into());
            Some(s)
        })
        .collect();
    let client = RusotoS3::builder()
        .endpoint(format!("http://{addr}"))
        .static_credentials("ak", "sk")
        .connect_timeout(Duration::from_millis(500))
        .request_timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let mut req = HeadObjectRequest::default();
    req.bucket = "b".into();
    req.key = "k".into();
    let started = Instant::now();
    let err = client.head_object(&req).unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "ended by the connect timeout, not the request timeout"
    );
    assert!(err.is_retryable(), "{err}");
    eprintln!("connect error: {err}");
}
