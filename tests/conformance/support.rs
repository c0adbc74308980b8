//! Targets for the conformance suite and the helpers its cases share.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};

use s3transfer::S3Api;
use s3transfer::client::{
    GetObjectRequest, HeadObjectOutput, HeadObjectRequest, PutObjectOutput, PutObjectRequest,
    RequestBody,
};
use s3transfer::{
    ObjectAttributes, SseCustomerKey, Subscriber, TransferConfig, TransferFuture, TransferManager,
};

use std::sync::OnceLock;

use s3transfer::RusotoS3;
use s3transfer::testing::FakeS3;

use crate::common::s3s_server::LocalS3;
use crate::common::seaweed::SeaweedFs;
use crate::common::unique_bucket;

type ListUploads = Box<dyn Fn(&str) -> Vec<(String, String)>>;
type MakeBucket = Box<dyn Fn(bool) -> String>;

/// One S3 implementation with a fresh bucket for one test.
pub struct Target {
    pub name: &'static str,
    pub client: Arc<dyn S3Api>,
    pub bucket: String,
    /// ListMultipartUploads, where the store has it (s3s-fs answers 501).
    pub list_uploads: Option<ListUploads>,
    /// Create another fresh bucket, versioned if asked (panics where the store has
    /// no versioning); for cross-bucket copies and version ids.
    pub make_bucket: MakeBucket,
    /// The fake itself, for cases that steer it with hooks.
    pub fake: Option<FakeS3>,
}

pub fn s3s_fs() -> Target {
    let server = LocalS3::shared();
    let bucket = unique_bucket("conf");
    server.create_bucket(&bucket);
    Target {
        name: "s3s-fs",
        client: server.client(),
        bucket,
        list_uploads: None,
        make_bucket: Box::new(|versioned| {
            assert!(!versioned, "s3s-fs has no versioning");
            let bucket = unique_bucket("conf2");
            LocalS3::shared().create_bucket(&bucket);
            bucket
        }),
        fake: None,
    }
}

pub fn seaweedfs() -> Target {
    let server = SeaweedFs::shared();
    let bucket = unique_bucket("conf");
    server.create_bucket(&bucket);
    // One backend for the whole binary: each builds a tokio runtime.
    static CLIENT: OnceLock<Arc<RusotoS3>> = OnceLock::new();
    let client = CLIENT
        .get_or_init(|| {
            Arc::new(
                RusotoS3::builder()
                    .endpoint(server.endpoint())
                    .region(server.region())
                    .static_credentials(server.access_key(), server.secret_key())
                    .build()
                    .expect("rusoto client for SeaweedFS"),
            )
        })
        .clone();
    Target {
        name: "seaweedfs",
        client,
        bucket,
        list_uploads: Some(Box::new(|bucket| {
            SeaweedFs::shared().list_multipart_uploads(bucket)
        })),
        make_bucket: Box::new(|versioned| {
            let bucket = unique_bucket("conf2");
            SeaweedFs::shared().create_bucket(&bucket);
            if versioned {
                SeaweedFs::shared().enable_versioning(&bucket);
            }
            bucket
        }),
        fake: None,
    }
}

/// [`s3s_fs`] through the aws-sdk-s3 backend.
#[cfg(feature = "aws-sdk")]
pub fn s3s_fs_sdk() -> Target {
    static CLIENT: OnceLock<Arc<s3transfer::AwsSdkS3>> = OnceLock::new();
    let server = LocalS3::shared();
    let client = CLIENT
        .get_or_init(|| {
            Arc::new(
                s3transfer::AwsSdkS3::builder()
                    .endpoint(server.endpoint())
                    .static_credentials(server.access_key(), server.secret_key())
                    .build()
                    .expect("aws-sdk client for s3s-fs"),
            )
        })
        .clone();
    Target {
        name: "s3s-fs (aws-sdk)",
        client,
        ..s3s_fs()
    }
}

/// [`seaweedfs`] through the aws-sdk-s3 backend.
#[cfg(feature = "aws-sdk")]
pub fn seaweedfs_sdk() -> Target {
    static CLIENT: OnceLock<Arc<s3transfer::AwsSdkS3>> = OnceLock::new();
    let server = SeaweedFs::shared();
    let client = CLIENT
        .get_or_init(|| {
            Arc::new(
                s3transfer::AwsSdkS3::builder()
                    .endpoint(server.endpoint())
                    .region(server.region())
                    .static_credentials(server.access_key(), server.secret_key())
                    .build()
                    .expect("aws-sdk client for SeaweedFS"),
            )
        })
        .clone();
    Target {
        name: "seaweedfs (aws-sdk)",
        client,
        ..seaweedfs()
    }
}

pub fn fake() -> Target {
    let fake = FakeS3::new();
    let bucket = "fake-bucket".to_owned();
    fake.create_bucket(&bucket);
    let (lister, maker) = (fake.clone(), fake.clone());
    Target {
        name: "fake",
        client: Arc::new(fake.clone()),
        bucket,
        list_uploads: Some(Box::new(move |bucket| {
            lister.list_multipart_uploads(bucket)
        })),
        make_bucket: Box::new(move |versioned| {
            let bucket = unique_bucket("conf2");
            if versioned {
                maker.create_versioned_bucket(&bucket);
            } else {
                maker.create_bucket(&bucket);
            }
            bucket
        }),
        fake: Some(fake),
    }
}

pub const MIB: usize = 1024 * 1024;

/// Small parts so multipart runs on a few MiB: 5 MiB is S3's smallest part.
pub fn test_config() -> TransferConfig {
    TransferConfig::builder()
        .multipart_threshold(5 * MIB as u64)
        .multipart_chunksize(5 * MIB as u64)
        .max_request_concurrency(4)
        .max_submission_concurrency(2)
        .io_chunksize(64 * 1024)
        .build()
        .expect("valid test config")
}

impl Target {
    pub fn manager(&self) -> TransferManager {
        TransferManager::new(self.client.clone(), test_config())
    }

    /// Read an object whole, straight through the client (not the manager).
    pub fn get(&self, key: &str) -> Vec<u8> {
        let mut request = GetObjectRequest::default();
        request.bucket = self.bucket.clone();
        request.key = key.to_owned();
        let mut body = Vec::new();
        self.client
            .get_object(&request, &mut body)
            .unwrap_or_else(|e| panic!("{}: get {key}: {e}", self.name));
        body
    }

    /// Write an object whole with properties and an SSE-C key, through the client.
    pub fn put_with(
        &self,
        bucket: &str,
        key: &str,
        data: &[u8],
        attributes: ObjectAttributes,
        sse: Option<SseCustomerKey>,
    ) -> PutObjectOutput {
        let mut request = PutObjectRequest::default();
        request.bucket = bucket.to_owned();
        request.key = key.to_owned();
        request.attributes = attributes;
        request.sse_customer = sse;
        let mut body = RequestBody::new(data.to_vec());
        self.client
            .put_object(&request, &mut body)
            .unwrap_or_else(|e| panic!("{}: put {key}: {e}", self.name))
    }

    /// HeadObject, straight through the client.
    pub fn head(&self, bucket: &str, key: &str, sse: Option<SseCustomerKey>) -> HeadObjectOutput {
        let mut request = HeadObjectRequest::default();
        request.bucket = bucket.to_owned();
        request.key = key.to_owned();
        request.sse_customer = sse;
        self.client
            .head_object(&request)
            .unwrap_or_else(|e| panic!("{}: head {key}: {e}", self.name))
    }

    /// Read an object whole from any bucket, with an SSE-C key.
    pub fn get_from(&self, bucket: &str, key: &str, sse: Option<SseCustomerKey>) -> Vec<u8> {
        let mut request = GetObjectRequest::default();
        request.bucket = bucket.to_owned();
        request.key = key.to_owned();
        request.sse_customer = sse;
        let mut body = Vec::new();
        self.client
            .get_object(&request, &mut body)
            .unwrap_or_else(|e| panic!("{}: get {bucket}/{key}: {e}", self.name));
        body
    }

    /// Write an object whole, straight through the client.
    pub fn put(&self, key: &str, data: &[u8]) {
        let mut request = PutObjectRequest::default();
        request.bucket = self.bucket.clone();
        request.key = key.to_owned();
        let mut body = RequestBody::new(data.to_vec());
        self.client
            .put_object(&request, &mut body)
            .unwrap_or_else(|e| panic!("{}: put {key}: {e}", self.name));
    }
}

/// Counts every callback, and sums progress.
#[derive(Default)]
pub struct Recorder {
    pub queued: AtomicUsize,
    pub done: AtomicUsize,
    pub progress: AtomicI64,
    pub progress_calls: AtomicUsize,
}

impl Subscriber for Recorder {
    fn on_queued(&self, _: &TransferFuture) {
        self.queued.fetch_add(1, Ordering::SeqCst);
    }
    fn on_progress(&self, _: &TransferFuture, bytes: i64) {
        self.progress.fetch_add(bytes, Ordering::SeqCst);
        self.progress_calls.fetch_add(1, Ordering::SeqCst);
    }
    fn on_done(&self, _: &TransferFuture) {
        self.done.fetch_add(1, Ordering::SeqCst);
    }
}

impl Recorder {
    pub fn assert_complete(&self, size: u64) {
        assert_eq!(
            self.queued.load(Ordering::SeqCst),
            1,
            "on_queued exactly once"
        );
        assert_eq!(self.done.load(Ordering::SeqCst), 1, "on_done exactly once");
        assert_eq!(
            self.progress.load(Ordering::SeqCst),
            size as i64,
            "progress total"
        );
    }
}

/// Files left in `dir` (to prove no temporary or partial file stays behind).
pub fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("read dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// A multipart ETag is `"<hex>-N"`; a single PUT's has no dash.
pub fn etag_parts(etag: &str) -> Option<u32> {
    etag.trim_matches('"')
        .rsplit_once('-')
        .and_then(|(_, n)| n.parse().ok())
}

/// A writer that cannot seek, recording what it got.
pub struct NonSeekable(pub Arc<parking_lot::Mutex<Vec<u8>>>);

impl std::io::Write for NonSeekable {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A reader that returns at most `step` bytes per call, like a slow socket.
pub struct Trickle {
    pub data: Vec<u8>,
    pub pos: usize,
    pub step: usize,
}

impl std::io::Read for Trickle {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = buf.len().min(self.step).min(self.data.len() - self.pos);
        buf[..n].copy_from_slice(&self.data[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}
