//! The aws-sdk-s3 backend: [`AwsSdkS3`] turns each [`S3Api`] call into one call of the
//! AWS SDK for Rust's S3 client, run on a small tokio runtime the backend owns. The
//! SDK's retries, its checksum computation and validation and its stalled-stream
//! protection are off (the engine retries, computes and validates checksums, and bounds
//! stalls itself); the engine's checksum values go out as given.
//!
//! This file holds the backend type and how a call is sent and placed in its bucket's
//! region; configuration is in `builder` and `http`, the calls in `objects`,
//! `multipart` and `listing`, bodies in `body`, store quirks in `quirks`, the vocabulary in `convert` and error
//! classification in `errors`. The runtime, the upload and download plumbing and the
//! redirect rule are the ones the rusoto backend uses (`client/transport`,
//! `client/aws/redirect.rs`).

mod body;
mod builder;
pub(crate) mod convert;
mod errors;
mod listing;
mod multipart;
mod objects;
mod quirks;

use std::fmt;
use std::future::Future;
use std::sync::Arc;

use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use tokio::runtime::{Handle, Runtime};
use tokio::time::timeout;

pub use builder::AwsSdkS3Builder;
use errors::map_sdk_error;

use crate::client::aws::redirect::BucketPlaces;
use crate::client::transport::Timeouts;
use crate::client::transport::answers::request_timed_out;
use crate::client::transport::runtime::{off_async, shut_down};
use crate::client::{
    AbortMultipartUploadRequest, CompleteMultipartUploadOutput, CompleteMultipartUploadRequest,
    CopyObjectOutput, CopyObjectRequest, CreateMultipartUploadOutput, CreateMultipartUploadRequest,
    DeleteObjectOutput, DeleteObjectRequest, GetObjectOutput, GetObjectRequest, HeadObjectOutput,
    HeadObjectRequest, ListMultipartUploadsOutput, ListMultipartUploadsRequest,
    ListObjectsV2Output, ListObjectsV2Request, ListPartsOutput, ListPartsRequest, PutObjectOutput,
    PutObjectRequest, RequestBody, ResponseSink, S3Api, S3Error, UploadPartCopyOutput,
    UploadPartCopyRequest, UploadPartOutput, UploadPartRequest,
};

/// The [`S3Api`] backed by the AWS SDK for Rust (aws-sdk-s3), feature `aws-sdk`.
///
/// Like [`RusotoS3`](crate::RusotoS3): owns one multi-thread tokio runtime (shared by
/// clones, stopped without waiting when the last clone is dropped); every call blocks
/// the calling thread until it is done; bodies are pulled and pushed on the calling
/// thread, so progress, throttling and cancellation happen there; calling from inside
/// async code works too (the call then runs on a helper thread) but blocks that async
/// task.
///
/// Build one with [`AwsSdkS3::builder`], or wrap an SDK client of your own with
/// [`AwsSdkS3::from_client`] or [`AwsSdkS3::from_sdk_config`]:
///
/// ```no_run
/// use std::sync::Arc;
/// use s3transfer::{AwsSdkS3, TransferConfig, TransferManager, UploadArgs};
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let client = AwsSdkS3::builder()
///     .endpoint("http://127.0.0.1:9000")
///     .static_credentials("access-key", "secret-key")
///     .build()?;
/// let manager = TransferManager::new(Arc::new(client), TransferConfig::default());
/// manager
///     .upload("data.bin", "bucket", "data.bin", UploadArgs::default(), &[])?
///     .result()?;
///
/// // Or an SDK client configured elsewhere (its retries and checksums are turned off).
/// # let sdk_config: aws_types::SdkConfig = unimplemented!();
/// let own = aws_sdk_s3::Client::new(&sdk_config);
/// let client = AwsSdkS3::from_client(own)?;
/// # let _ = client;
/// # Ok(())
/// # }
/// ```
///
/// Sends and returns flexible checksums ([`S3Api::supports_checksums`] is true): the
/// engine's values are sent as given, and the SDK computes and validates none of its
/// own.
#[derive(Clone)]
pub struct AwsSdkS3 {
    inner: Arc<Inner>,
}

impl fmt::Debug for AwsSdkS3 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AwsSdkS3")
            .field("region", &self.inner.region)
            .field("timeouts", &self.inner.timeouts)
            .finish_non_exhaustive()
    }
}

struct Inner {
    // An Option only so Drop can take it for `shutdown_background`.
    runtime: Option<Runtime>,
    handle: Handle,
    client: aws_sdk_s3::Client,
    /// The region the client signs for (and, without a custom endpoint, sends to).
    region: String,
    /// The region of each bucket found elsewhere than `region` (see
    /// `client/aws/redirect.rs`).
    bucket_regions: BucketPlaces<String>,
    timeouts: Timeouts,
}

impl Drop for Inner {
    fn drop(&mut self) {
        shut_down(self.runtime.take());
    }
}

impl AwsSdkS3 {
    /// A builder with the defaults documented on [`AwsSdkS3Builder`].
    pub fn builder() -> AwsSdkS3Builder {
        AwsSdkS3Builder::new()
    }

    /// The SDK client every call goes through (the one [`from_client`](Self::from_client)
    /// was given, with retries and checksums turned off as documented there), for calls
    /// outside [`S3Api`]. Run its futures with [`AwsSdkS3::block_on`].
    pub fn sdk_client(&self) -> &aws_sdk_s3::Client {
        &self.inner.client
    }

    /// Run a future to completion on the backend's runtime, from any thread (also from
    /// inside async code, where it moves to a helper thread instead of panicking).
    pub fn block_on<F>(&self, future: F) -> F::Output
    where
        F: Future + Send,
        F::Output: Send,
    {
        let handle = &self.inner.handle;
        off_async(move || handle.block_on(future))
    }

    /// A config override signing for `region` (and, on AWS, sending to its endpoint),
    /// when it is not the client's own.
    fn region_override(&self, region: &str) -> Option<aws_sdk_s3::config::Builder> {
        (region != self.inner.region).then(|| {
            aws_sdk_s3::config::Builder::default()
                .region(aws_sdk_s3::config::Region::new(region.to_owned()))
        })
    }

    /// Run `attempt` in `bucket`'s region; when the answer names another region for the
    /// bucket, remember it and run `attempt` once more there.
    fn in_bucket_region<T>(
        &self,
        bucket: &str,
        attempt: impl FnMut(&String) -> Result<T, S3Error>,
    ) -> Result<T, S3Error> {
        self.inner.bucket_regions.in_bucket_region(
            bucket,
            &self.inner.region,
            |r| r.as_str(),
            |_, region| Some(region.to_owned()),
            attempt,
        )
    }

    /// Run a whole-answer call (no streamed body) under the request timeout and classify
    /// its failure.
    fn call<T, E>(
        &self,
        op: &'static str,
        (bucket, key): (&str, &str),
        fut: impl Future<Output = Result<T, SdkError<E, HttpResponse>>> + Send,
    ) -> Result<T, S3Error>
    where
        T: Send,
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        tracing::trace!(operation = op, bucket, key, "request");
        let limit = self.inner.timeouts.request;
        match self.block_on(async move { timeout(limit, fut).await }) {
            Err(_) => Err(request_timed_out(op, limit).with_object(bucket, key)),
            Ok(Err(e)) => Err(map_sdk_error(op, e).with_object(bucket, key)),
            Ok(Ok(out)) => Ok(out),
        }
    }
}

/// The fluent call `$fluent` as a customizable operation, with `$placed` (an
/// [`AwsSdkS3::region_override`]) applied when there is one.
macro_rules! placed {
    ($fluent:expr, $placed:expr) => {{
        let op = $fluent.customize();
        match $placed {
            Some(config) => op.config_override(config),
            None => op,
        }
    }};
}
pub(crate) use placed;

/// Send the fluent call `$fluent` placed in `$region` (see [`AwsSdkS3::region_override`]);
/// evaluates to the SDK's future.
macro_rules! send_in {
    ($s:expr, $region:expr, $fluent:expr) => {{ super::placed!($fluent, $s.region_override($region)).send() }};
}
pub(crate) use send_in;

/// Send the fluent call `$fluent` (PutObject, UploadPart) placed in `$region` with
/// `$body` streamed as it is read (the shared transport's feeding, with its timeouts);
/// evaluates to the SDK's output or the mapped error. A macro: the two calls' fluent
/// builders are different types with the same methods.
macro_rules! send_streamed {
    ($s:expr, $op:expr, $region:expr, $fluent:expr, ($bucket:expr, $key:expr), $body:expr) => {{
        let fluent = $fluent;
        let placed = $s.region_override($region);
        let start = move |chunks, len: u64| {
            let fluent = fluent
                .body(super::body::ChannelBody::new(chunks, len).into_byte_stream())
                .content_length(len as i64);
            let op = super::placed!(fluent, placed);
            tokio::spawn(async move {
                op.send()
                    .await
                    .map_err(|e| super::errors::map_sdk_error($op, e))
            })
        };
        crate::client::transport::upload::send_body(
            &$s.inner.handle,
            $s.inner.timeouts,
            ($op, $bucket, $key),
            $body,
            start,
        )
    }};
}
pub(crate) use send_streamed;

impl S3Api for AwsSdkS3 {
    fn head_object(&self, request: &HeadObjectRequest) -> Result<HeadObjectOutput, S3Error> {
        self.in_bucket_region(&request.bucket, |region| {
            self.head_object_in(region, request)
        })
    }

    fn get_object(
        &self,
        request: &GetObjectRequest,
        sink: &mut dyn ResponseSink,
    ) -> Result<GetObjectOutput, S3Error> {
        self.in_bucket_region(&request.bucket, |region| {
            self.get_object_in(region, request, sink)
        })
    }

    fn put_object(
        &self,
        request: &PutObjectRequest,
        body: &mut RequestBody,
    ) -> Result<PutObjectOutput, S3Error> {
        self.in_bucket_region(&request.bucket, |region| {
            self.put_object_in(region, request, body)
        })
    }

    fn create_multipart_upload(
        &self,
        request: &CreateMultipartUploadRequest,
    ) -> Result<CreateMultipartUploadOutput, S3Error> {
        self.in_bucket_region(&request.bucket, |region| {
            self.create_multipart_upload_in(region, request)
        })
    }

    fn upload_part(
        &self,
        request: &UploadPartRequest,
        body: &mut RequestBody,
    ) -> Result<UploadPartOutput, S3Error> {
        self.in_bucket_region(&request.bucket, |region| {
            self.upload_part_in(region, request, body)
        })
    }

    fn complete_multipart_upload(
        &self,
        request: &CompleteMultipartUploadRequest,
    ) -> Result<CompleteMultipartUploadOutput, S3Error> {
        self.in_bucket_region(&request.bucket, |region| {
            self.complete_multipart_upload_in(region, request)
        })
    }

    fn abort_multipart_upload(&self, request: &AbortMultipartUploadRequest) -> Result<(), S3Error> {
        self.in_bucket_region(&request.bucket, |region| {
            self.abort_multipart_upload_in(region, request)
        })
    }

    fn copy_object(&self, request: &CopyObjectRequest) -> Result<CopyObjectOutput, S3Error> {
        self.in_bucket_region(&request.bucket, |region| {
            self.copy_object_in(region, request)
        })
    }

    fn upload_part_copy(
        &self,
        request: &UploadPartCopyRequest,
    ) -> Result<UploadPartCopyOutput, S3Error> {
        self.in_bucket_region(&request.bucket, |region| {
            self.upload_part_copy_in(region, request)
        })
    }

    fn delete_object(&self, request: &DeleteObjectRequest) -> Result<DeleteObjectOutput, S3Error> {
        self.in_bucket_region(&request.bucket, |region| {
            self.delete_object_in(region, request)
        })
    }

    fn list_parts(&self, request: &ListPartsRequest) -> Result<ListPartsOutput, S3Error> {
        self.in_bucket_region(&request.bucket, |region| {
            self.list_parts_in(region, request)
        })
    }

    fn list_multipart_uploads(
        &self,
        request: &ListMultipartUploadsRequest,
    ) -> Result<ListMultipartUploadsOutput, S3Error> {
        self.in_bucket_region(&request.bucket, |region| {
            self.list_multipart_uploads_in(region, request)
        })
    }

    fn list_objects_v2(
        &self,
        request: &ListObjectsV2Request,
    ) -> Result<ListObjectsV2Output, S3Error> {
        self.in_bucket_region(&request.bucket, |region| {
            self.list_objects_v2_in(region, request)
        })
    }

    fn supports_checksums(&self) -> bool {
        true
    }
}
