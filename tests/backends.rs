//! The backends against real stores and broken servers: the contract suite
//! (`s3transfer::testing::contract`) run with the rusoto backend against s3s-fs and
//! SeaweedFS, then what only the rusoto backend has to get right: credentials, calls
//! from async code, and tiny raw-TCP servers that misbehave on purpose (truncate,
//! stall, never answer). The aws-sdk-s3 backend's own checks are in `backends/aws_sdk.rs`.
#![cfg(feature = "rusoto")]

#[cfg(feature = "aws-sdk")]
#[path = "backends/aws_sdk.rs"]
mod aws_sdk;
mod common;
#[path = "backends/credentials.rs"]
mod credentials;
#[path = "backends/proxy.rs"]
mod proxy;
#[path = "backends/region.rs"]
mod region;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use common::s3s_server::LocalS3;
use common::seaweed::SeaweedFs;
use common::tls_proxy::{TlsProxy, tls_data};
use common::{random_bytes, unique_bucket};
use s3transfer::client::{
    CopyObjectRequest, GetObjectOutput, GetObjectRequest, HeadObjectOutput, HeadObjectRequest,
    PutObjectOutput, PutObjectRequest, RequestBody,
};
use s3transfer::testing::contract::{self, Capability, Fixture};
use s3transfer::{
    CopySource, DownloadArgs, RusotoS3, S3Api, S3Error, S3ErrorKind, TransferConfig,
    TransferManager,
};

const MIB: usize = 1024 * 1024;

#[path = "tree/stores.rs"]
mod tree_stores;

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

fn get(s3: &dyn S3Api, bucket: &str, key: &str) -> Result<(Vec<u8>, GetObjectOutput), S3Error> {
    let mut req = GetObjectRequest::default();
    req.bucket = bucket.into();
    req.key = key.into();
    let mut data = Vec::new();
    let out = s3.get_object(&req, &mut data)?;
    Ok((data, out))
}

// --- the contract suite -------------------------------------------------------------

/// s3s-fs 0.14 ignores If-Match, copy-source If-Match and `partNumber`, neither checks
/// nor keeps per-part checksums, has no versioning, lists parts without ETags, and
/// cannot list multipart uploads.
#[test]
fn rusoto_against_s3s_fs_meets_the_contract() {
    let server = LocalS3::shared();
    let fixture = Fixture::new(bucket(server))
        .without(Capability::IfMatch)
        .without(Capability::CopySourceIfMatch)
        .without(Capability::PartNumberReads)
        .without(Capability::PartChecksumValidation)
        .without(Capability::PartChecksumReads)
        .without(Capability::PartEtagsInListings)
        .without(Capability::UploadListings);
    let report = contract::run_all(&*server.client(), &fixture);
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

/// SeaweedFS 4.48 does all S3 does here but return a part's own checksum on a
/// `partNumber` read, and list a part uploaded twice once.
#[test]
fn rusoto_against_seaweedfs_meets_the_contract() {
    let server = SeaweedFs::shared();
    let bucket = unique_bucket("contract");
    server.create_bucket(&bucket);
    let versioned = unique_bucket("contract-versions");
    server.create_bucket(&versioned);
    server.enable_versioning(&versioned);
    let s3 = seaweed_client(server);
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

/// The rusoto client of the shared SeaweedFS server: one per process, as each builds its
/// own tokio runtime.
fn seaweed_client(server: &SeaweedFs) -> &'static RusotoS3 {
    seaweed_shared(server)
}

/// [`seaweed_client`] in the `Arc` a `TransferManager` takes.
fn seaweed_shared(server: &SeaweedFs) -> &'static Arc<RusotoS3> {
    static CLIENT: OnceLock<Arc<RusotoS3>> = OnceLock::new();
    CLIENT.get_or_init(|| {
        Arc::new(
            RusotoS3::builder()
                .endpoint(server.endpoint())
                .region(server.region())
                .static_credentials(server.access_key(), server.secret_key())
                .build()
                .expect("rusoto client for SeaweedFS"),
        )
    })
}

/// The contract shows an abort only through what fails afterwards; SeaweedFS lists open
/// uploads, so here the abort is seen to remove the upload from the list.
#[test]
fn rusoto_abort_removes_the_upload_from_seaweedfs_list() {
    let server = SeaweedFs::shared();
    let bucket = unique_bucket("abort");
    server.create_bucket(&bucket);
    let s3 = seaweed_client(server);
    let mut create = s3transfer::client::CreateMultipartUploadRequest::default();
    create.bucket = bucket.clone();
    create.key = "k".into();
    let id = s3.create_multipart_upload(&create).unwrap().upload_id;
    let mut part = s3transfer::client::UploadPartRequest::default();
    part.bucket = bucket.clone();
    part.key = "k".into();
    part.upload_id = id.clone();
    part.part_number = 1;
    s3.upload_part(&part, &mut RequestBody::new(random_bytes(1000, 3)))
        .unwrap();
    assert_eq!(
        server.list_multipart_uploads(&bucket),
        [("k".to_owned(), id.clone())]
    );
    let mut abort = s3transfer::client::AbortMultipartUploadRequest::default();
    abort.bucket = bucket.clone();
    abort.key = "k".into();
    abort.upload_id = id;
    s3.abort_multipart_upload(&abort).unwrap();
    assert_eq!(server.list_multipart_uploads(&bucket), []);
    assert_eq!(
        head(s3, &bucket, "k").unwrap_err().kind(),
        S3ErrorKind::NotFound
    );
}

// --- what only the rusoto backend has to get right -----------------------------------

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
    let err = get(&s3, &b, "x").unwrap_err();
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
        assert_eq!(get(&*s3, &b, "from-async").unwrap().0, data);
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
    let mut response = b"HTTP/1.1 200 OK\r\nETag: \"e\"\r\nContent-Length: 100\r\n\r\n".to_vec();
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
    let mut response = b"HTTP/1.1 200 OK\r\nETag: \"e\"\r\nContent-Length: 100\r\n\r\n".to_vec();
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

// --- https:// ------------------------------------------------------------------------

/// A TLS front for the shared s3s-fs server, and a bucket holding `key`.
fn tls_store(key: &str, data: &[u8]) -> (TlsProxy, String) {
    let server = LocalS3::shared();
    let bucket = bucket(server);
    put(&*server.client(), &bucket, key, data);
    let addr = server
        .endpoint()
        .trim_start_matches("http://")
        .parse()
        .unwrap();
    (TlsProxy::start(addr), bucket)
}

fn tls_builder(proxy: &TlsProxy) -> s3transfer::RusotoS3Builder {
    let server = LocalS3::shared();
    RusotoS3::builder()
        .endpoint(proxy.endpoint())
        .static_credentials(server.access_key(), server.secret_key())
        .request_timeout(Duration::from_secs(10))
}

#[test]
fn an_https_endpoint_is_reached_over_tls_trusting_the_ca_bundle() {
    let (proxy, bucket) = tls_store("tls", b"over tls");
    let s3 = tls_builder(&proxy)
        .ca_bundle(tls_data("ca.pem"))
        .build()
        .unwrap();
    let out = head(&s3, &bucket, "tls").unwrap();
    assert_eq!(out.content_length, 8);
    let (data, _) = get(&s3, &bucket, "tls").unwrap();
    assert_eq!(data, b"over tls");
    let handshakes = proxy.handshakes();
    assert!(
        !handshakes.is_empty(),
        "no TLS handshake reached the server"
    );
    // The server offers h2 first; the client must still settle on HTTP/1.1 (h2 0.3 is
    // linked through rusoto_core but must stay unreachable).
    for alpn in handshakes {
        assert_eq!(alpn.as_deref(), Some(&b"http/1.1"[..]));
    }
}

#[test]
fn an_https_endpoint_signed_by_an_unknown_ca_is_refused() {
    let (proxy, bucket) = tls_store("tls-refused", b"secret");
    // Without the bundle: the system's store, which does not hold the test CA. A
    // machine with no CA store at all fails at build time instead.
    match tls_builder(&proxy).build() {
        Ok(s3) => {
            let err = head(&s3, &bucket, "tls-refused").unwrap_err();
            assert!(
                err.to_string().contains("UnknownIssuer"),
                "not a certificate refusal: {err}"
            );
        }
        Err(err) => assert!(err.to_string().contains("CA certificate"), "{err}"),
    }
    // A bundle with the wrong CA (the server's own certificate is no CA).
    let s3 = tls_builder(&proxy)
        .ca_bundle(tls_data("server.pem"))
        .build()
        .unwrap();
    let err = get(&s3, &bucket, "tls-refused").unwrap_err();
    assert!(
        err.to_string().contains("certificate"),
        "not a certificate refusal: {err}"
    );
    assert!(proxy.handshakes().is_empty(), "a handshake completed");
}

#[test]
fn a_refused_certificate_is_not_retried() {
    let (proxy, bucket) = tls_store("tls-no-retry", b"secret");
    let s3 = tls_builder(&proxy)
        .ca_bundle(tls_data("server.pem"))
        .build()
        .unwrap();
    let err = head(&s3, &bucket, "tls-no-retry").unwrap_err();
    assert!(!err.kind().is_retryable(), "{:?}: {err}", err.kind());
    // Through a manager whose policy would try five times: one connection, and the
    // refusal is what the caller sees.
    let manager = TransferManager::new(Arc::new(s3), TransferConfig::default());
    let before = proxy.connections();
    let dir = tempfile::tempdir().unwrap();
    let err = manager
        .download(
            &bucket,
            "tls-no-retry",
            dir.path().join("out").as_path(),
            DownloadArgs::default(),
            &[],
        )
        .unwrap()
        .result()
        .unwrap_err();
    assert!(err.to_string().contains("certificate"), "{err}");
    assert_eq!(proxy.connections() - before, 1, "the refusal was retried");
    manager.shutdown(false, "");
}

#[test]
fn a_ca_bundle_without_certificates_fails_the_build() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty.pem");
    std::fs::write(&empty, "not a certificate\n").unwrap();
    for path in [empty, dir.path().join("missing.pem")] {
        let err = RusotoS3::builder()
            .endpoint("https://127.0.0.1:1")
            .static_credentials("ak", "sk")
            .ca_bundle(&path)
            .build()
            .unwrap_err();
        assert_eq!(err.kind(), S3ErrorKind::Other);
        assert!(err.to_string().contains("CA bundle"), "{err}");
    }
    // An http:// endpoint never reads it: the plain path has no TLS to configure.
    RusotoS3::builder()
        .endpoint("http://127.0.0.1:1")
        .static_credentials("ak", "sk")
        .ca_bundle(dir.path().join("missing.pem"))
        .build()
        .unwrap();
}

/// A builder that fails after starting its runtime, called from async code: an error,
/// not tokio's "Cannot drop a runtime in a context where blocking is not allowed" panic.
#[test]
fn a_build_that_fails_inside_async_code_returns_the_error() {
    let missing = std::path::PathBuf::from("/nonexistent/s3transfer-test-ca.pem");
    let outer = tokio::runtime::Runtime::new().unwrap();
    outer.block_on(async {
        let rusoto = RusotoS3::builder()
            .endpoint("http://127.0.0.1:9")
            .region("us-east-1")
            .static_credentials("AKIDTEST", "secret")
            // Only http:// proxies: refused after the runtime started.
            .proxy("ftp://nowhere:1")
            .build();
        assert!(rusoto.is_err());
        #[cfg(feature = "aws-sdk")]
        {
            let sdk = s3transfer::AwsSdkS3::builder()
                .endpoint("http://127.0.0.1:9")
                .region("us-east-1")
                .static_credentials("AKIDTEST", "secret")
                .ca_bundle(&missing)
                .build();
            assert!(sdk.is_err());
        }
    });
}
