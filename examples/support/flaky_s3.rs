//! An `S3Api` wrapper for the examples: passes every call to a real backend, except
//! that the next GetObject calls can be made to fail with a transient S3 error (a 500
//! InternalError), so the library's own download retries run out for real and the
//! example sees `TransferError::RetriesExceeded` with its last error.
//!
//! Included with `#[path = "support/flaky_s3.rs"] mod flaky_s3;`.
#![allow(dead_code)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use s3transfer::S3Api;
use s3transfer::S3Error;
use s3transfer::client::*;

/// A real backend whose next `n` GetObject calls fail with 500 InternalError.
pub struct FlakyS3 {
    inner: Arc<dyn S3Api>,
    failing_gets: AtomicU32,
}

impl FlakyS3 {
    /// Wrap `inner`; no call fails until [`FlakyS3::fail_next_gets`].
    pub fn new(inner: Arc<dyn S3Api>) -> Arc<FlakyS3> {
        Arc::new(FlakyS3 {
            inner,
            failing_gets: AtomicU32::new(0),
        })
    }

    /// Make the next `n` GetObject calls fail.
    pub fn fail_next_gets(&self, n: u32) {
        self.failing_gets.store(n, Ordering::SeqCst);
    }
}

impl S3Api for FlakyS3 {
    fn supports_checksums(&self) -> bool {
        self.inner.supports_checksums()
    }

    fn head_object(&self, request: &HeadObjectRequest) -> Result<HeadObjectOutput, S3Error> {
        self.inner.head_object(request)
    }

    fn get_object(
        &self,
        request: &GetObjectRequest,
        sink: &mut dyn ResponseSink,
    ) -> Result<GetObjectOutput, S3Error> {
        let failing = self
            .failing_gets
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok();
        if failing {
            return Err(S3Error::from_response(
                "GetObject",
                Some(500),
                Some("InternalError".into()),
                "We encountered an internal error. Please try again. (injected by FlakyS3)",
            )
            .with_object(&request.bucket, &request.key));
        }
        self.inner.get_object(request, sink)
    }

    fn put_object(
        &self,
        request: &PutObjectRequest,
        body: &mut RequestBody,
    ) -> Result<PutObjectOutput, S3Error> {
        self.inner.put_object(request, body)
    }

    fn create_multipart_upload(
        &self,
        request: &CreateMultipartUploadRequest,
    ) -> Result<CreateMultipartUploadOutput, S3Error> {
        self.inner.create_multipart_upload(request)
    }

    fn upload_part(
        &self,
        request: &UploadPartRequest,
        body: &mut RequestBody,
    ) -> Result<UploadPartOutput, S3Error> {
        self.inner.upload_part(request, body)
    }

    fn complete_multipart_upload(
        &self,
        request: &CompleteMultipartUploadRequest,
    ) -> Result<CompleteMultipartUploadOutput, S3Error> {
        self.inner.complete_multipart_upload(request)
    }

    fn abort_multipart_upload(&self, request: &AbortMultipartUploadRequest) -> Result<(), S3Error> {
        self.inner.abort_multipart_upload(request)
    }

    fn copy_object(&self, request: &CopyObjectRequest) -> Result<CopyObjectOutput, S3Error> {
        self.inner.copy_object(request)
    }

    fn upload_part_copy(
        &self,
        request: &UploadPartCopyRequest,
    ) -> Result<UploadPartCopyOutput, S3Error> {
        self.inner.upload_part_copy(request)
    }

    fn delete_object(&self, request: &DeleteObjectRequest) -> Result<DeleteObjectOutput, S3Error> {
        self.inner.delete_object(request)
    }

    fn list_objects_v2(
        &self,
        request: &ListObjectsV2Request,
    ) -> Result<ListObjectsV2Output, S3Error> {
        self.inner.list_objects_v2(request)
    }

    fn list_parts(&self, request: &ListPartsRequest) -> Result<ListPartsOutput, S3Error> {
        self.inner.list_parts(request)
    }
}

/// A reader that sleeps before each read: an upload from it takes a while, so a short
/// `result_timeout` or a shutdown reliably lands while it is running.
pub struct SlowReader<R> {
    inner: R,
    pause: std::time::Duration,
}

impl<R> SlowReader<R> {
    /// Pause `pause` before each read of `inner`.
    pub fn new(inner: R, pause: std::time::Duration) -> Self {
        SlowReader { inner, pause }
    }
}

impl<R: std::io::Read> std::io::Read for SlowReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        std::thread::sleep(self.pause);
        // Small reads, so that the pauses add up over a small body.
        let n = buf.len().min(64 * 1024);
        self.inner.read(&mut buf[..n])
    }
}
