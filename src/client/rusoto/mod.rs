//! The rusoto backend: [`RusotoS3`] turns each [`S3Api`] call into one S3 request, run
//! on a small tokio runtime the backend owns, with its own timeouts, byte counting and
//! error classification (rusoto has none of the three). Calls that can carry flexible
//! checksums, which rusoto_s3 0.48's model predates, and every other call (so that each
//! follows the chosen addressing: rusoto_s3 builds path-style paths only) are built by
//! [`signed`] and signed and sent by rusoto_core's client.
//!
//! This file holds the backend type and its [`S3Api`] calls, each building its request
//! and reading its answer; configuration is in `builder`, the runtime in `runtime`,
//! sending and upload bodies in `send`, download bodies in `get_body`, the HTTP
//! connectors in `connector` and error classification in `errors`.

mod builder;
mod connector;
#[cfg(feature = "aws-config")]
mod credentials;
mod errors;
mod get_body;
mod listing;
mod proxy;
mod redirect;
mod runtime;
mod send;
mod signed;
// Entry points for the fuzz targets in fuzz/; only built under cargo-fuzz.
#[cfg(fuzzing)]
pub(crate) mod fuzz;

use std::fmt;
use std::sync::Arc;

use rusoto_core::param::{Params, ServiceParams};
use rusoto_core::request::BufferedHttpResponse;
use rusoto_s3::S3Client;
use tokio::runtime::{Handle, Runtime};

pub use builder::RusotoS3Builder;
use send::{dispatch, dispatch_buffered};

use crate::client::aws::copy_source::copy_source_header;
use crate::client::transport::Timeouts;
use crate::client::transport::answers::{missing_etag, not_an_object_answer};
use crate::client::{
    AbortMultipartUploadRequest, Checksums, CompleteMultipartUploadOutput,
    CompleteMultipartUploadRequest, CopyObjectOutput, CopyObjectRequest,
    CreateMultipartUploadOutput, CreateMultipartUploadRequest, DeleteObjectOutput,
    DeleteObjectRequest, GetObjectOutput, GetObjectRequest, HeadObjectOutput, HeadObjectRequest,
    ListObjectsV2Output, ListObjectsV2Request, ListPartsOutput, ListPartsRequest, PutObjectOutput,
    PutObjectRequest, RequestBody, ResponseSink, S3Api, S3Error, S3ErrorKind, UploadPartCopyOutput,
    UploadPartCopyRequest, UploadPartOutput, UploadPartRequest,
};

/// The [`S3Api`] backed by rusoto_core and rusoto_s3 0.48.
///
/// Owns one multi-thread tokio runtime (shared by clones, stopped without waiting when
/// the last clone is dropped). Every call blocks the calling thread until it is done;
/// bodies are pulled and pushed on the calling thread, so progress, throttling and
/// cancellation happen there. Calling from inside async code works too (the call then
/// runs on a helper thread) but blocks that async task.
///
/// Sends and returns flexible checksums ([`S3Api::supports_checksums`] is true).
#[derive(Clone)]
pub struct RusotoS3 {
    inner: Arc<Inner>,
}

impl fmt::Debug for RusotoS3 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RusotoS3")
            .field("timeouts", &self.inner.timeouts)
            .finish_non_exhaustive()
    }
}

struct Inner {
    // An Option only so Drop can take it for `shutdown_background`.
    runtime: Option<Runtime>,
    handle: Handle,
    client: S3Client,
    /// The same signing client `client` uses, for the calls built in `signed`.
    raw: rusoto_core::Client,
    /// Where requests go, and how they name their bucket.
    endpoint: signed::Endpoint,
    /// The endpoint of each bucket found in another region than `endpoint`'s (see
    /// `redirect`).
    bucket_endpoints: crate::client::aws::redirect::BucketPlaces<signed::Endpoint>,
    timeouts: Timeouts,
}

impl RusotoS3 {
    /// A builder with the defaults documented on [`RusotoS3Builder`].
    pub fn builder() -> RusotoS3Builder {
        RusotoS3Builder::new()
    }

    /// The underlying rusoto client, for calls outside [`S3Api`] (creating buckets,
    /// listing). Run its futures with [`RusotoS3::block_on`].
    pub fn rusoto_client(&self) -> &S3Client {
        &self.inner.client
    }
}

/// The request of a GetObject or HeadObject (`$request`): both name, pin and unlock
/// the object with the same fields.
macro_rules! object_read_request {
    ($endpoint:ident, $method:literal, $request:ident) => {{
        let r = $request;
        let mut req = signed::object_request($endpoint, $method, &r.bucket, &r.key);
        signed::add_read_options(
            &mut req,
            r.checksum_mode,
            r.part_number,
            r.version_id.as_ref(),
            r.if_match.as_ref(),
        );
        signed::add_common(&mut req, r.sse_customer.as_ref(), &r.context);
        req
    }};
}

/// The headers PutObject and UploadPart (`$request`) add for their body: its
/// checksums and MD5, and the SSE-C key, payer and owner.
macro_rules! add_body_request_headers {
    ($req:ident, $request:ident) => {{
        let r = $request;
        signed::add_body_headers(
            &mut $req,
            r.checksum_algorithm,
            &r.checksums,
            r.content_md5.as_ref(),
        );
        signed::add_common(&mut $req, r.sse_customer.as_ref(), &r.context);
    }};
}

/// Each call against one endpoint; the [`S3Api`] impl below picks the bucket's.
impl RusotoS3 {
    fn head_object_at(
        &self,
        endpoint: &signed::Endpoint,
        request: &HeadObjectRequest,
    ) -> Result<HeadObjectOutput, S3Error> {
        const OP: &str = "HeadObject";
        let (bucket, key) = (&request.bucket, &request.key);
        let req = object_read_request!(endpoint, "HEAD", request);
        let out = self.call(OP, bucket, key, dispatch(&self.inner.raw, req))?;
        let h = &out.headers;
        let etag = signed::header(h, "etag")
            .ok_or_else(|| not_an_object_answer(OP).with_object(bucket, key))?;
        Ok(HeadObjectOutput {
            content_length: signed::header_number(h, "content-length").unwrap_or(0),
            etag: Some(etag),
            last_modified: signed::header(h, "last-modified"),
            version_id: signed::header(h, "x-amz-version-id"),
            parts_count: signed::header_number(h, "x-amz-mp-parts-count"),
            checksums: signed::read_checksums(h),
            attributes: signed::read_attributes(h),
        })
    }

    fn get_object_at(
        &self,
        endpoint: &signed::Endpoint,
        request: &GetObjectRequest,
        sink: &mut dyn ResponseSink,
    ) -> Result<GetObjectOutput, S3Error> {
        let mut req = object_read_request!(endpoint, "GET", request);
        if let Some(range) = request.range {
            req.add_header("Range", &range.header_value());
        }
        self.get(req, request, sink)
    }

    fn put_object_at(
        &self,
        endpoint: &signed::Endpoint,
        request: &PutObjectRequest,
        body: &mut RequestBody,
    ) -> Result<PutObjectOutput, S3Error> {
        const OP: &str = "PutObject";
        let (bucket, key) = (&request.bucket, &request.key);
        let mut req = signed::object_request(endpoint, "PUT", bucket, key);
        signed::add_attributes(&mut req, &request.attributes);
        add_body_request_headers!(req, request);
        let h = self.send_signed_body(OP, bucket, key, req, body)?;
        // S3 answers every stored object with its ETag: a 2xx without one is no proof
        // that anything was stored, and reporting it as an upload would lose the data.
        let etag =
            signed::header(&h, "etag").ok_or_else(|| missing_etag(OP).with_object(bucket, key))?;
        Ok(PutObjectOutput {
            etag: Some(etag),
            version_id: signed::header(&h, "x-amz-version-id"),
            checksums: signed::read_checksums(&h),
        })
    }

    fn create_multipart_upload_at(
        &self,
        endpoint: &signed::Endpoint,
        request: &CreateMultipartUploadRequest,
    ) -> Result<CreateMultipartUploadOutput, S3Error> {
        const OP: &str = "CreateMultipartUpload";
        let (bucket, key) = (&request.bucket, &request.key);
        let mut req = signed::object_request(endpoint, "POST", bucket, key);
        let mut params = Params::new();
        params.put_key("uploads");
        req.set_params(params);
        signed::add_new_object(
            &mut req,
            &request.attributes,
            request.sse_customer.as_ref(),
            &request.context,
            request.checksum_algorithm,
        );
        if let Some(t) = &request.checksum_type {
            req.add_header("x-amz-checksum-type", t.as_str());
        }
        let out = self.call(OP, bucket, key, dispatch_buffered(&self.inner.raw, req))?;
        let body = String::from_utf8_lossy(&out.body);
        match signed::xml_text(&body, "UploadId") {
            Some(upload_id) if !upload_id.is_empty() => {
                Ok(CreateMultipartUploadOutput { upload_id })
            }
            _ => Err(
                S3Error::new(S3ErrorKind::Other, OP, "the response had no UploadId")
                    .with_object(bucket, key),
            ),
        }
    }

    fn upload_part_at(
        &self,
        endpoint: &signed::Endpoint,
        request: &UploadPartRequest,
        body: &mut RequestBody,
    ) -> Result<UploadPartOutput, S3Error> {
        const OP: &str = "UploadPart";
        let (bucket, key) = (&request.bucket, &request.key);
        let mut req = signed::object_request(endpoint, "PUT", bucket, key);
        let mut params = Params::new();
        params.put("partNumber", request.part_number.to_string());
        params.put("uploadId", &request.upload_id);
        req.set_params(params);
        add_body_request_headers!(req, request);
        let h = self.send_signed_body(OP, bucket, key, req, body)?;
        let etag =
            signed::header(&h, "etag").ok_or_else(|| missing_etag(OP).with_object(bucket, key))?;
        Ok(UploadPartOutput {
            etag: Some(etag),
            checksums: signed::read_checksums(&h),
        })
    }

    fn complete_multipart_upload_at(
        &self,
        endpoint: &signed::Endpoint,
        request: &CompleteMultipartUploadRequest,
    ) -> Result<CompleteMultipartUploadOutput, S3Error> {
        const OP: &str = "CompleteMultipartUpload";
        let (bucket, key) = (&request.bucket, &request.key);
        let mut req = signed::object_request(endpoint, "POST", bucket, key);
        let mut params = Params::new();
        params.put("uploadId", &request.upload_id);
        req.set_params(params);
        let with_checksums = !request.checksums.is_empty()
            || request.checksums.checksum_type.is_some()
            || request.parts.iter().any(|p| !p.checksums.is_empty());
        // S3 wants the SSE-C key on Complete only to check the checksums of an
        // encrypted upload; other stores have never seen it there, so it is sent only
        // then.
        let sse_customer = request.sse_customer.as_ref().filter(|_| with_checksums);
        signed::add_common(&mut req, sse_customer, &request.context);
        signed::add_checksums(&mut req, &request.checksums, true);
        if let Some(size) = request.mpu_object_size {
            req.add_header("x-amz-mp-object-size", &size.to_string());
        }
        req.set_payload(Some(signed::complete_document(&request.parts)));
        let out = self.call(OP, bucket, key, dispatch_buffered(&self.inner.raw, req))?;
        let (etag, checksums) = read_result(OP, &out).map_err(|e| e.with_object(bucket, key))?;
        Ok(CompleteMultipartUploadOutput {
            etag: Some(etag),
            version_id: signed::header(&out.headers, "x-amz-version-id"),
            checksums,
        })
    }

    fn abort_multipart_upload_at(
        &self,
        endpoint: &signed::Endpoint,
        request: &AbortMultipartUploadRequest,
    ) -> Result<(), S3Error> {
        const OP: &str = "AbortMultipartUpload";
        let (bucket, key) = (&request.bucket, &request.key);
        let mut req = signed::object_request(endpoint, "DELETE", bucket, key);
        let mut params = Params::new();
        params.put("uploadId", &request.upload_id);
        req.set_params(params);
        signed::add_common(&mut req, None, &request.context);
        self.call(OP, bucket, key, dispatch_buffered(&self.inner.raw, req))?;
        Ok(())
    }

    fn copy_object_at(
        &self,
        endpoint: &signed::Endpoint,
        request: &CopyObjectRequest,
    ) -> Result<CopyObjectOutput, S3Error> {
        const OP: &str = "CopyObject";
        let (bucket, key) = (&request.bucket, &request.key);
        let mut req = signed::object_request(endpoint, "PUT", bucket, key);
        signed::add_copy_source(
            &mut req,
            &copy_source_header(&request.source),
            &request.conditions,
            request.copy_source_sse_customer.as_ref(),
        );
        if let Some(d) = &request.metadata_directive {
            req.add_header("x-amz-metadata-directive", d.as_str());
        }
        if let Some(d) = &request.tagging_directive {
            req.add_header("x-amz-tagging-directive", d.as_str());
        }
        signed::add_new_object(
            &mut req,
            &request.attributes,
            request.sse_customer.as_ref(),
            &request.context,
            request.checksum_algorithm,
        );
        let out = self.call(OP, bucket, key, dispatch_buffered(&self.inner.raw, req))?;
        let (etag, checksums) = read_result(OP, &out).map_err(|e| e.with_object(bucket, key))?;
        Ok(CopyObjectOutput {
            etag: Some(etag),
            version_id: signed::header(&out.headers, "x-amz-version-id"),
            checksums,
        })
    }

    fn upload_part_copy_at(
        &self,
        endpoint: &signed::Endpoint,
        request: &UploadPartCopyRequest,
    ) -> Result<UploadPartCopyOutput, S3Error> {
        const OP: &str = "UploadPartCopy";
        let (bucket, key) = (&request.bucket, &request.key);
        let mut req = signed::object_request(endpoint, "PUT", bucket, key);
        let mut params = Params::new();
        params.put("partNumber", request.part_number.to_string());
        params.put("uploadId", &request.upload_id);
        req.set_params(params);
        signed::add_copy_source(
            &mut req,
            &copy_source_header(&request.source),
            &request.conditions,
            request.copy_source_sse_customer.as_ref(),
        );
        if let Some((start, end)) = request.source_range {
            req.add_header("x-amz-copy-source-range", &format!("bytes={start}-{end}"));
        }
        signed::add_common(&mut req, request.sse_customer.as_ref(), &request.context);
        let out = self.call(OP, bucket, key, dispatch_buffered(&self.inner.raw, req))?;
        // The part's checksum comes back in the CopyPartResult document (S3 computes it
        // in the algorithm the upload was created with), for Complete's part list.
        let (etag, checksums) = read_result(OP, &out).map_err(|e| e.with_object(bucket, key))?;
        Ok(UploadPartCopyOutput {
            etag: Some(etag),
            checksums,
        })
    }

    fn delete_object_at(
        &self,
        endpoint: &signed::Endpoint,
        request: &DeleteObjectRequest,
    ) -> Result<DeleteObjectOutput, S3Error> {
        const OP: &str = "DeleteObject";
        let (bucket, key) = (&request.bucket, &request.key);
        let mut req = signed::object_request(endpoint, "DELETE", bucket, key);
        if let Some(v) = &request.version_id {
            req.add_param("versionId".to_owned(), v.clone());
        }
        if let Some(mfa) = &request.mfa {
            req.add_header("x-amz-mfa", mfa);
        }
        signed::add_common(&mut req, None, &request.context);
        let out = self.call(OP, bucket, key, dispatch_buffered(&self.inner.raw, req))?;
        Ok(DeleteObjectOutput {
            delete_marker: signed::header(&out.headers, "x-amz-delete-marker")
                .map(|v| v.trim() == "true"),
            version_id: signed::header(&out.headers, "x-amz-version-id"),
        })
    }
}

impl S3Api for RusotoS3 {
    fn head_object(&self, request: &HeadObjectRequest) -> Result<HeadObjectOutput, S3Error> {
        self.in_bucket_region(&request.bucket, |endpoint| {
            self.head_object_at(endpoint, request)
        })
    }

    fn get_object(
        &self,
        request: &GetObjectRequest,
        sink: &mut dyn ResponseSink,
    ) -> Result<GetObjectOutput, S3Error> {
        self.in_bucket_region(&request.bucket, |endpoint| {
            self.get_object_at(endpoint, request, sink)
        })
    }

    fn put_object(
        &self,
        request: &PutObjectRequest,
        body: &mut RequestBody,
    ) -> Result<PutObjectOutput, S3Error> {
        self.in_bucket_region(&request.bucket, |endpoint| {
            self.put_object_at(endpoint, request, body)
        })
    }

    fn create_multipart_upload(
        &self,
        request: &CreateMultipartUploadRequest,
    ) -> Result<CreateMultipartUploadOutput, S3Error> {
        self.in_bucket_region(&request.bucket, |endpoint| {
            self.create_multipart_upload_at(endpoint, request)
        })
    }

    fn upload_part(
        &self,
        request: &UploadPartRequest,
        body: &mut RequestBody,
    ) -> Result<UploadPartOutput, S3Error> {
        self.in_bucket_region(&request.bucket, |endpoint| {
            self.upload_part_at(endpoint, request, body)
        })
    }

    fn complete_multipart_upload(
        &self,
        request: &CompleteMultipartUploadRequest,
    ) -> Result<CompleteMultipartUploadOutput, S3Error> {
        self.in_bucket_region(&request.bucket, |endpoint| {
            self.complete_multipart_upload_at(endpoint, request)
        })
    }

    fn abort_multipart_upload(&self, request: &AbortMultipartUploadRequest) -> Result<(), S3Error> {
        self.in_bucket_region(&request.bucket, |endpoint| {
            self.abort_multipart_upload_at(endpoint, request)
        })
    }

    fn copy_object(&self, request: &CopyObjectRequest) -> Result<CopyObjectOutput, S3Error> {
        self.in_bucket_region(&request.bucket, |endpoint| {
            self.copy_object_at(endpoint, request)
        })
    }

    fn upload_part_copy(
        &self,
        request: &UploadPartCopyRequest,
    ) -> Result<UploadPartCopyOutput, S3Error> {
        self.in_bucket_region(&request.bucket, |endpoint| {
            self.upload_part_copy_at(endpoint, request)
        })
    }

    fn delete_object(&self, request: &DeleteObjectRequest) -> Result<DeleteObjectOutput, S3Error> {
        self.in_bucket_region(&request.bucket, |endpoint| {
            self.delete_object_at(endpoint, request)
        })
    }

    fn list_objects_v2(
        &self,
        request: &ListObjectsV2Request,
    ) -> Result<ListObjectsV2Output, S3Error> {
        self.in_bucket_region(&request.bucket, |endpoint| {
            self.list_objects(endpoint, request)
        })
    }

    fn list_parts(&self, request: &ListPartsRequest) -> Result<ListPartsOutput, S3Error> {
        self.in_bucket_region(&request.bucket, |endpoint| {
            self.list_upload_parts(endpoint, request)
        })
    }

    fn supports_checksums(&self) -> bool {
        true
    }

    fn list_multipart_uploads(
        &self,
        request: &crate::client::ListMultipartUploadsRequest,
    ) -> Result<crate::client::ListMultipartUploadsOutput, S3Error> {
        self.in_bucket_region(&request.bucket, |endpoint| {
            self.list_uploads(endpoint, request)
        })
    }
}

/// The ETag and checksums of a result document (CompleteMultipartUploadResult,
/// CopyObjectResult, CopyPartResult). A success always names the new object's ETag;
/// without one the body was not the result (a 200 carrying something else).
fn read_result(
    op: &'static str,
    out: &BufferedHttpResponse,
) -> Result<(String, Checksums), S3Error> {
    let body = String::from_utf8_lossy(&out.body);
    let etag = signed::xml_text(&body, "ETag").ok_or_else(|| missing_etag(op))?;
    Ok((etag, signed::read_result_checksums(&body, &out.headers)))
}
