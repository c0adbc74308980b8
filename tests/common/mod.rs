//! Helpers shared by the integration tests: the in-process S3 server, the fault-injecting
//! proxy, test data and unique names.
#![allow(dead_code)]

pub mod fault_proxy;
pub mod http_recorder;
pub mod s3s_server;
pub mod seaweed;
#[cfg(feature = "rusoto")]
pub mod tls_proxy;

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// `len` pseudo-random bytes from `seed` (xorshift64*): reproducible, incompressible
/// enough for S3 tests, and cheap.
pub fn random_bytes(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        out.extend_from_slice(&state.wrapping_mul(0x2545_F491_4F6C_DD1D).to_le_bytes());
    }
    out.truncate(len);
    out
}

/// A bucket name no other test in this run uses: `prefix-<pid>-<n>-<time>`, valid for
/// S3 (lowercase, at most 63 characters).
pub fn unique_bucket(prefix: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let mut name = format!(
        "{}-{}-{n}-{nanos}",
        prefix.to_lowercase(),
        std::process::id()
    );
    name.truncate(63);
    name
}

/// The `S3Api` behind a test wrapper's `inner`: a `FakeS3` has inherent methods that
/// share some trait methods' names (`list_multipart_uploads`), which method-call
/// syntax would pick instead of the trait's.
pub trait InnerApi {
    /// `self` as the trait object.
    fn api(&self) -> &dyn s3transfer::S3Api;
}

impl InnerApi for std::sync::Arc<dyn s3transfer::S3Api> {
    fn api(&self) -> &dyn s3transfer::S3Api {
        &**self
    }
}

#[cfg(feature = "testing")]
impl InnerApi for s3transfer::testing::FakeS3 {
    fn api(&self) -> &dyn s3transfer::S3Api {
        self
    }
}

/// Implements the named `S3Api` methods by passing them to `self.inner`, so a test
/// wrapper writes out only the calls it changes. The request and response types must be
/// in scope (`use s3transfer::client::*;`).
#[allow(unused_macros)]
macro_rules! delegate_to_inner {
    ($($method:ident),* $(,)?) => { $( delegate_to_inner!(@one $method); )* };
    (@one head_object) => {
        fn head_object(&self, r: &HeadObjectRequest) -> Result<HeadObjectOutput, S3Error> {
            self.inner.head_object(r)
        }
    };
    (@one get_object) => {
        fn get_object(
            &self,
            r: &GetObjectRequest,
            s: &mut dyn ResponseSink,
        ) -> Result<GetObjectOutput, S3Error> {
            self.inner.get_object(r, s)
        }
    };
    (@one put_object) => {
        fn put_object(
            &self,
            r: &PutObjectRequest,
            b: &mut RequestBody,
        ) -> Result<PutObjectOutput, S3Error> {
            self.inner.put_object(r, b)
        }
    };
    (@one create_multipart_upload) => {
        fn create_multipart_upload(
            &self,
            r: &CreateMultipartUploadRequest,
        ) -> Result<CreateMultipartUploadOutput, S3Error> {
            self.inner.create_multipart_upload(r)
        }
    };
    (@one upload_part) => {
        fn upload_part(
            &self,
            r: &UploadPartRequest,
            b: &mut RequestBody,
        ) -> Result<UploadPartOutput, S3Error> {
            self.inner.upload_part(r, b)
        }
    };
    (@one complete_multipart_upload) => {
        fn complete_multipart_upload(
            &self,
            r: &CompleteMultipartUploadRequest,
        ) -> Result<CompleteMultipartUploadOutput, S3Error> {
            self.inner.complete_multipart_upload(r)
        }
    };
    (@one abort_multipart_upload) => {
        fn abort_multipart_upload(&self, r: &AbortMultipartUploadRequest) -> Result<(), S3Error> {
            self.inner.abort_multipart_upload(r)
        }
    };
    (@one copy_object) => {
        fn copy_object(&self, r: &CopyObjectRequest) -> Result<CopyObjectOutput, S3Error> {
            self.inner.copy_object(r)
        }
    };
    (@one upload_part_copy) => {
        fn upload_part_copy(
            &self,
            r: &UploadPartCopyRequest,
        ) -> Result<UploadPartCopyOutput, S3Error> {
            self.inner.upload_part_copy(r)
        }
    };
    (@one delete_object) => {
        fn delete_object(&self, r: &DeleteObjectRequest) -> Result<DeleteObjectOutput, S3Error> {
            self.inner.delete_object(r)
        }
    };
    (@one list_objects_v2) => {
        fn list_objects_v2(
            &self,
            r: &s3transfer::client::ListObjectsV2Request,
        ) -> Result<s3transfer::client::ListObjectsV2Output, S3Error> {
            self.inner.list_objects_v2(r)
        }
    };
    (@one list_parts) => {
        fn list_parts(
            &self,
            r: &s3transfer::client::ListPartsRequest,
        ) -> Result<s3transfer::client::ListPartsOutput, S3Error> {
            self.inner.list_parts(r)
        }
    };
    (@one list_multipart_uploads) => {
        fn list_multipart_uploads(
            &self,
            r: &s3transfer::client::ListMultipartUploadsRequest,
        ) -> Result<s3transfer::client::ListMultipartUploadsOutput, S3Error> {
            $crate::common::InnerApi::api(&self.inner).list_multipart_uploads(r)
        }
    };
    (@one supports_checksums) => {
        fn supports_checksums(&self) -> bool {
            self.inner.supports_checksums()
        }
    };
}

// After the macro it uses.
pub mod misanswer;
