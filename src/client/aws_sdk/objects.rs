//! The object calls: HeadObject, GetObject, PutObject, CopyObject and DeleteObject,
//! each built from this crate's request and read back into its answer.

use aws_sdk_s3::types::{ChecksumMode, MetadataDirective, TaggingDirective};
use tokio::time::timeout;

use super::body::download_stream;
use super::convert::{
    self, read_typed_checksums, set_attributes, set_checksums, set_context, set_sse_customer,
};
use super::errors::map_sdk_error;
use super::{AwsSdkS3, placed, send_in, send_streamed};
use crate::client::aws::copy_source::copy_source_header;
use crate::client::transport::answers::{missing_etag, not_an_object_answer, request_timed_out};
use crate::client::transport::download::{Opened, get_into_sink};
use crate::client::{
    ContentRange, CopyObjectOutput, CopyObjectRequest, DeleteObjectOutput, DeleteObjectRequest,
    GetObjectOutput, GetObjectRequest, HeadObjectOutput, HeadObjectRequest, ObjectAttributes,
    PutObjectOutput, PutObjectRequest, RequestBody, ResponseSink, S3Error,
};

/// A count S3 sends as a 32-bit number, as this crate keeps it.
fn count(n: Option<i32>) -> Option<u32> {
    n.and_then(|n| u32::try_from(n).ok())
}

/// A length the SDK reads as a signed number.
fn length(n: Option<i64>) -> Option<u64> {
    n.and_then(|n| u64::try_from(n).ok())
}

impl AwsSdkS3 {
    pub(super) fn head_object_in(
        &self,
        region: &str,
        request: &HeadObjectRequest,
    ) -> Result<HeadObjectOutput, S3Error> {
        const OP: &str = "HeadObject";
        let r = request;
        let fluent = self
            .inner
            .client
            .head_object()
            .bucket(&r.bucket)
            .key(&r.key)
            .set_version_id(r.version_id.clone())
            .set_if_match(r.if_match.clone())
            .set_part_number(r.part_number.map(|n| n as i32))
            // A HEAD has no body, so the SDK validates nothing: the mode only asks for
            // the stored checksums.
            .set_checksum_mode(r.checksum_mode.then_some(ChecksumMode::Enabled));
        let fluent = set_sse_customer!(fluent, r.sse_customer.as_ref());
        let fluent = set_context!(fluent, &r.context);
        let out = self.call(OP, (&r.bucket, &r.key), send_in!(self, region, fluent))?;
        let etag = out
            .e_tag()
            .ok_or_else(|| not_an_object_answer(OP).with_object(&r.bucket, &r.key))?;
        let attributes = ObjectAttributes {
            cache_control: out.cache_control().map(str::to_owned),
            content_disposition: out.content_disposition().map(str::to_owned),
            content_encoding: out.content_encoding().map(str::to_owned),
            content_language: out.content_language().map(str::to_owned),
            content_type: out.content_type().map(str::to_owned),
            expires: out.expires_string().map(str::to_owned),
            metadata: out
                .metadata()
                .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
                .unwrap_or_default(),
            storage_class: out.storage_class().map(|s| s.as_str().to_owned()),
            website_redirect_location: out.website_redirect_location().map(str::to_owned),
            server_side_encryption: out.server_side_encryption().map(|s| s.as_str().to_owned()),
            sse_kms_key_id: out.ssekms_key_id().map(str::to_owned),
            bucket_key_enabled: out.bucket_key_enabled(),
            object_lock_mode: out.object_lock_mode().map(|m| m.as_str().to_owned()),
            object_lock_retain_until_date: out
                .object_lock_retain_until_date()
                .and_then(|d| d.fmt(aws_sdk_s3::primitives::DateTimeFormat::DateTime).ok()),
            object_lock_legal_hold_status: out
                .object_lock_legal_hold_status()
                .map(|s| s.as_str().to_owned()),
            ..ObjectAttributes::default()
        };
        Ok(HeadObjectOutput {
            content_length: length(out.content_length()).unwrap_or(0),
            etag: Some(etag.to_owned()),
            last_modified: out.last_modified().and_then(convert::http_date),
            version_id: out.version_id().map(str::to_owned),
            parts_count: count(out.parts_count()),
            checksums: read_typed_checksums!(&out),
            attributes,
        })
    }

    pub(super) fn get_object_in(
        &self,
        region: &str,
        request: &GetObjectRequest,
        sink: &mut dyn ResponseSink,
    ) -> Result<GetObjectOutput, S3Error> {
        const OP: &str = "GetObject";
        let r = request;
        tracing::trace!(
            operation = OP,
            bucket = %r.bucket,
            key = %r.key,
            range = ?r.range,
            part_number = r.part_number,
            "request"
        );
        let fluent = self
            .inner
            .client
            .get_object()
            .bucket(&r.bucket)
            .key(&r.key)
            .set_range(r.range.map(|range| range.header_value()))
            .set_if_match(r.if_match.clone())
            .set_part_number(r.part_number.map(|n| n as i32))
            .set_version_id(r.version_id.clone());
        let fluent = set_sse_customer!(fluent, r.sse_customer.as_ref());
        let fluent = set_context!(fluent, &r.context);
        let op = placed!(fluent, self.region_override(region));
        // The checksum mode as a plain header rather than the input's field: with the
        // field set the SDK would checksum the whole body a second time (the engine
        // validates it already).
        let op = if r.checksum_mode {
            op.mutate_request(|http| {
                http.headers_mut().insert("x-amz-checksum-mode", "ENABLED");
            })
        } else {
            op
        };
        let t = self.inner.timeouts;
        let (bucket, key) = (r.bucket.clone(), r.key.clone());
        let open = async move {
            let out = match timeout(t.request, op.send()).await {
                Err(_) => return Err(request_timed_out(OP, t.request).with_object(&bucket, &key)),
                Ok(Err(e)) => return Err(map_sdk_error(OP, e).with_object(&bucket, &key)),
                Ok(Ok(out)) => out,
            };
            let content_range = out.content_range().and_then(ContentRange::parse);
            let expected = length(out.content_length()).or(content_range.map(|r| r.len()));
            let head = GetObjectOutput {
                content_length: expected.unwrap_or(0),
                content_range,
                etag: out.e_tag().map(str::to_owned),
                version_id: out.version_id().map(str::to_owned),
                last_modified: out.last_modified().and_then(convert::http_date),
                parts_count: count(out.parts_count()),
                checksums: read_typed_checksums!(&out),
                bytes_received: 0,
            };
            Ok(Opened {
                head,
                expected,
                body: download_stream(out.body),
            })
        };
        get_into_sink(&self.inner.handle, t, (&r.bucket, &r.key), open, sink)
    }

    pub(super) fn put_object_in(
        &self,
        region: &str,
        request: &PutObjectRequest,
        body: &mut RequestBody,
    ) -> Result<PutObjectOutput, S3Error> {
        const OP: &str = "PutObject";
        let r = request;
        tracing::trace!(operation = OP, bucket = %r.bucket, key = %r.key, bytes = body.len(), "request");
        let fluent = self
            .inner
            .client
            .put_object()
            .bucket(&r.bucket)
            .key(&r.key)
            .set_checksum_algorithm(r.checksum_algorithm.map(convert::algorithm))
            .set_content_md5(r.content_md5.clone());
        let fluent = set_checksums!(fluent, &r.checksums);
        let fluent = set_attributes!(OP, fluent, &r.attributes);
        let fluent = set_sse_customer!(fluent, r.sse_customer.as_ref());
        let fluent = set_context!(fluent, &r.context);
        let out = send_streamed!(self, OP, region, fluent, (&r.bucket, &r.key), body)?;
        // S3 answers every stored object with its ETag: a 2xx without one is no proof
        // that anything was stored, and reporting it as an upload would lose the data.
        let etag = out
            .e_tag()
            .ok_or_else(|| missing_etag(OP).with_object(&r.bucket, &r.key))?;
        Ok(PutObjectOutput {
            etag: Some(etag.to_owned()),
            version_id: out.version_id().map(str::to_owned),
            checksums: read_typed_checksums!(&out),
        })
    }

    pub(super) fn copy_object_in(
        &self,
        region: &str,
        request: &CopyObjectRequest,
    ) -> Result<CopyObjectOutput, S3Error> {
        const OP: &str = "CopyObject";
        let r = request;
        let c = &r.conditions;
        let fluent = self
            .inner
            .client
            .copy_object()
            .bucket(&r.bucket)
            .key(&r.key)
            .copy_source(copy_source_header(&r.source))
            .set_copy_source_if_match(c.if_match.clone())
            .set_copy_source_if_none_match(c.if_none_match.clone())
            .set_copy_source_if_modified_since(dated(OP, c.if_modified_since.as_deref())?)
            .set_copy_source_if_unmodified_since(dated(OP, c.if_unmodified_since.as_deref())?)
            .set_metadata_directive(
                r.metadata_directive
                    .as_ref()
                    .map(|d| MetadataDirective::from(d.as_str())),
            )
            .set_tagging_directive(
                r.tagging_directive
                    .as_ref()
                    .map(|d| TaggingDirective::from(d.as_str())),
            )
            .set_checksum_algorithm(r.checksum_algorithm.map(convert::algorithm));
        let fluent = set_attributes!(OP, fluent, &r.attributes);
        let fluent = set_sse_customer!(fluent, r.sse_customer.as_ref());
        let fluent = set_sse_customer!(copy_source: fluent, r.copy_source_sse_customer.as_ref());
        let fluent = set_context!(fluent, &r.context);
        let out = self.call(OP, (&r.bucket, &r.key), send_in!(self, region, fluent))?;
        let result = out.copy_object_result();
        let etag = result
            .and_then(|res| res.e_tag())
            .ok_or_else(|| missing_etag(OP).with_object(&r.bucket, &r.key))?;
        Ok(CopyObjectOutput {
            etag: Some(etag.to_owned()),
            version_id: out.version_id().map(str::to_owned),
            checksums: result
                .map(|res| read_typed_checksums!(res))
                .unwrap_or_default(),
        })
    }

    pub(super) fn delete_object_in(
        &self,
        region: &str,
        request: &DeleteObjectRequest,
    ) -> Result<DeleteObjectOutput, S3Error> {
        const OP: &str = "DeleteObject";
        let r = request;
        let fluent = self
            .inner
            .client
            .delete_object()
            .bucket(&r.bucket)
            .key(&r.key)
            .set_version_id(r.version_id.clone())
            .set_mfa(r.mfa.clone());
        let fluent = set_context!(fluent, &r.context);
        let out = self.call(OP, (&r.bucket, &r.key), send_in!(self, region, fluent))?;
        Ok(DeleteObjectOutput {
            delete_marker: out.delete_marker(),
            version_id: out.version_id().map(str::to_owned),
        })
    }
}

/// A copy condition's date (an HTTP date, or ISO 8601) as the SDK wants it.
pub(super) fn dated(
    op: &'static str,
    value: Option<&str>,
) -> Result<Option<aws_sdk_s3::primitives::DateTime>, S3Error> {
    value
        .map(|v| convert::parse_date(op, "a copy-source date", v))
        .transpose()
}
