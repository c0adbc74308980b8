//! The multipart calls: CreateMultipartUpload, UploadPart, UploadPartCopy,
//! CompleteMultipartUpload and AbortMultipartUpload.

use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};

use super::convert::{
    self, read_checksums, read_typed_checksums, set_attributes, set_checksums, set_context,
    set_sse_customer,
};
use super::objects::dated;
use super::{AwsSdkS3, send_in, send_streamed};
use crate::client::aws::copy_source::copy_source_header;
use crate::client::transport::answers::missing_etag;
use crate::client::{
    AbortMultipartUploadRequest, CompleteMultipartUploadOutput, CompleteMultipartUploadRequest,
    CreateMultipartUploadOutput, CreateMultipartUploadRequest, RequestBody, S3Error, S3ErrorKind,
    UploadPartCopyOutput, UploadPartCopyRequest, UploadPartOutput, UploadPartRequest,
};

impl AwsSdkS3 {
    pub(super) fn create_multipart_upload_in(
        &self,
        region: &str,
        request: &CreateMultipartUploadRequest,
    ) -> Result<CreateMultipartUploadOutput, S3Error> {
        const OP: &str = "CreateMultipartUpload";
        let r = request;
        let fluent = self
            .inner
            .client
            .create_multipart_upload()
            .bucket(&r.bucket)
            .key(&r.key)
            .set_checksum_algorithm(r.checksum_algorithm.map(convert::algorithm))
            .set_checksum_type(r.checksum_type.as_ref().map(convert::checksum_type));
        let fluent = set_attributes!(OP, fluent, &r.attributes);
        let fluent = set_sse_customer!(fluent, r.sse_customer.as_ref());
        let fluent = set_context!(fluent, &r.context);
        let out = self.call(OP, (&r.bucket, &r.key), send_in!(self, region, fluent))?;
        match out.upload_id() {
            Some(id) if !id.is_empty() => Ok(CreateMultipartUploadOutput {
                upload_id: id.to_owned(),
            }),
            _ => Err(
                S3Error::new(S3ErrorKind::Other, OP, "the response had no UploadId")
                    .with_object(&r.bucket, &r.key),
            ),
        }
    }

    pub(super) fn upload_part_in(
        &self,
        region: &str,
        request: &UploadPartRequest,
        body: &mut RequestBody,
    ) -> Result<UploadPartOutput, S3Error> {
        const OP: &str = "UploadPart";
        let r = request;
        tracing::trace!(operation = OP, bucket = %r.bucket, key = %r.key, part = r.part_number, bytes = body.len(), "request");
        let fluent = self
            .inner
            .client
            .upload_part()
            .bucket(&r.bucket)
            .key(&r.key)
            .upload_id(&r.upload_id)
            .part_number(r.part_number as i32)
            .set_checksum_algorithm(r.checksum_algorithm.map(convert::algorithm))
            .set_content_md5(r.content_md5.clone());
        let fluent = set_checksums!(fluent, &r.checksums);
        let fluent = set_sse_customer!(fluent, r.sse_customer.as_ref());
        let fluent = set_context!(fluent, &r.context);
        let out = send_streamed!(self, OP, region, fluent, (&r.bucket, &r.key), body)?;
        let etag = out
            .e_tag()
            .ok_or_else(|| missing_etag(OP).with_object(&r.bucket, &r.key))?;
        Ok(UploadPartOutput {
            etag: Some(etag.to_owned()),
            checksums: read_checksums!(&out),
        })
    }

    pub(super) fn upload_part_copy_in(
        &self,
        region: &str,
        request: &UploadPartCopyRequest,
    ) -> Result<UploadPartCopyOutput, S3Error> {
        const OP: &str = "UploadPartCopy";
        let r = request;
        let c = &r.conditions;
        let fluent = self
            .inner
            .client
            .upload_part_copy()
            .bucket(&r.bucket)
            .key(&r.key)
            .upload_id(&r.upload_id)
            .part_number(r.part_number as i32)
            .copy_source(copy_source_header(&r.source))
            .set_copy_source_range(r.source_range.map(|(a, b)| format!("bytes={a}-{b}")))
            .set_copy_source_if_match(c.if_match.clone())
            .set_copy_source_if_none_match(c.if_none_match.clone())
            .set_copy_source_if_modified_since(dated(OP, c.if_modified_since.as_deref())?)
            .set_copy_source_if_unmodified_since(dated(OP, c.if_unmodified_since.as_deref())?);
        let fluent = set_sse_customer!(fluent, r.sse_customer.as_ref());
        let fluent = set_sse_customer!(copy_source: fluent, r.copy_source_sse_customer.as_ref());
        let fluent = set_context!(fluent, &r.context);
        let out = self.call(OP, (&r.bucket, &r.key), send_in!(self, region, fluent))?;
        // The part's checksum comes back in the CopyPartResult document (S3 computes it
        // in the algorithm the upload was created with), for Complete's part list.
        let result = out.copy_part_result();
        let etag = result
            .and_then(|res| res.e_tag())
            .ok_or_else(|| missing_etag(OP).with_object(&r.bucket, &r.key))?;
        Ok(UploadPartCopyOutput {
            etag: Some(etag.to_owned()),
            checksums: result.map(|res| read_checksums!(res)).unwrap_or_default(),
        })
    }

    pub(super) fn complete_multipart_upload_in(
        &self,
        region: &str,
        request: &CompleteMultipartUploadRequest,
    ) -> Result<CompleteMultipartUploadOutput, S3Error> {
        const OP: &str = "CompleteMultipartUpload";
        let r = request;
        let parts = r
            .parts
            .iter()
            .map(|p| {
                let part = CompletedPart::builder()
                    .part_number(p.part_number as i32)
                    .e_tag(&p.etag);
                set_checksums!(part, &p.checksums).build()
            })
            .collect();
        let with_checksums = !r.checksums.is_empty()
            || r.checksums.checksum_type.is_some()
            || r.parts.iter().any(|p| !p.checksums.is_empty());
        // S3 wants the SSE-C key on Complete only to check the checksums of an
        // encrypted upload; other stores have never seen it there, so it is sent only
        // then.
        let sse_customer = r.sse_customer.as_ref().filter(|_| with_checksums);
        let fluent = self
            .inner
            .client
            .complete_multipart_upload()
            .bucket(&r.bucket)
            .key(&r.key)
            .upload_id(&r.upload_id)
            .multipart_upload(
                CompletedMultipartUpload::builder()
                    .set_parts(Some(parts))
                    .build(),
            )
            .set_checksum_type(
                r.checksums
                    .checksum_type
                    .as_ref()
                    .map(convert::checksum_type),
            )
            .set_mpu_object_size(r.mpu_object_size.map(|n| n as i64));
        let fluent = set_checksums!(fluent, &r.checksums);
        let fluent = set_sse_customer!(fluent, sse_customer);
        let fluent = set_context!(fluent, &r.context);
        let out = self.call(OP, (&r.bucket, &r.key), send_in!(self, region, fluent))?;
        let etag = out
            .e_tag()
            .ok_or_else(|| missing_etag(OP).with_object(&r.bucket, &r.key))?;
        Ok(CompleteMultipartUploadOutput {
            etag: Some(etag.to_owned()),
            version_id: out.version_id().map(str::to_owned),
            checksums: read_typed_checksums!(&out),
        })
    }

    pub(super) fn abort_multipart_upload_in(
        &self,
        region: &str,
        request: &AbortMultipartUploadRequest,
    ) -> Result<(), S3Error> {
        const OP: &str = "AbortMultipartUpload";
        let r = request;
        let fluent = self
            .inner
            .client
            .abort_multipart_upload()
            .bucket(&r.bucket)
            .key(&r.key)
            .upload_id(&r.upload_id);
        let fluent = set_context!(fluent, &r.context);
        self.call(OP, (&r.bucket, &r.key), send_in!(self, region, fluent))?;
        Ok(())
    }
}
