//! The listings: ListObjectsV2, ListMultipartUploads and ListParts, one page each.
//! A next-page marker counts only on a truncated page, as in the rusoto backend: a
//! store that names one on the last page too must not make a caller loop.

use super::convert::{self, read_checksums, set_context, set_sse_customer};
use super::{AwsSdkS3, send_in};
use crate::client::{
    ListMultipartUploadsOutput, ListMultipartUploadsRequest, ListObjectsV2Output,
    ListObjectsV2Request, ListPartsOutput, ListPartsRequest, ListedObject, ListedPart,
    ListedUpload, S3Error, S3ErrorKind,
};

/// A page size as the SDK takes it (S3's maximum is 1,000 anyway).
fn page_size(n: Option<u32>) -> Option<i32> {
    n.map(|n| i32::try_from(n).unwrap_or(i32::MAX))
}

impl AwsSdkS3 {
    pub(super) fn list_objects_v2_in(
        &self,
        region: &str,
        request: &ListObjectsV2Request,
    ) -> Result<ListObjectsV2Output, S3Error> {
        const OP: &str = "ListObjectsV2";
        let r = request;
        let fluent = self
            .inner
            .client
            .list_objects_v2()
            .bucket(&r.bucket)
            .set_prefix(r.prefix.clone())
            .set_delimiter(r.delimiter.clone())
            .set_continuation_token(r.continuation_token.clone())
            .set_start_after(r.start_after.clone())
            .set_max_keys(page_size(r.max_keys));
        let fluent = set_context!(fluent, &r.context);
        let prefix = r.prefix.as_deref().unwrap_or_default();
        let out = self.call(OP, (&r.bucket, prefix), send_in!(self, region, fluent))?;
        let truncated = out.is_truncated().unwrap_or(false);
        Ok(ListObjectsV2Output {
            objects: out
                .contents()
                .iter()
                .map(|o| ListedObject {
                    key: o.key().unwrap_or_default().to_owned(),
                    size: o.size().and_then(|n| u64::try_from(n).ok()).unwrap_or(0),
                    last_modified: o.last_modified().and_then(convert::system_time),
                    etag: o.e_tag().map(str::to_owned),
                    storage_class: o.storage_class().map(|s| s.as_str().to_owned()),
                })
                .collect(),
            common_prefixes: out
                .common_prefixes()
                .iter()
                .filter_map(|p| p.prefix().map(str::to_owned))
                .collect(),
            next_continuation_token: out
                .next_continuation_token()
                .filter(|_| truncated)
                .map(str::to_owned),
        })
    }

    pub(super) fn list_multipart_uploads_in(
        &self,
        region: &str,
        request: &ListMultipartUploadsRequest,
    ) -> Result<ListMultipartUploadsOutput, S3Error> {
        const OP: &str = "ListMultipartUploads";
        let r = request;
        let fluent = self
            .inner
            .client
            .list_multipart_uploads()
            .bucket(&r.bucket)
            .set_prefix(r.prefix.clone())
            .set_key_marker(r.key_marker.clone())
            .set_upload_id_marker(r.upload_id_marker.clone())
            .set_max_uploads(page_size(r.max_uploads));
        let fluent = set_context!(fluent, &r.context);
        let prefix = r.prefix.as_deref().unwrap_or_default();
        let out = self.call(OP, (&r.bucket, prefix), send_in!(self, region, fluent))?;
        let truncated = out.is_truncated().unwrap_or(false);
        Ok(ListMultipartUploadsOutput {
            uploads: out
                .uploads()
                .iter()
                .map(|u| ListedUpload {
                    key: u.key().unwrap_or_default().to_owned(),
                    upload_id: u.upload_id().unwrap_or_default().to_owned(),
                    initiated: u.initiated().and_then(convert::system_time),
                })
                .collect(),
            next_key_marker: out
                .next_key_marker()
                .filter(|_| truncated)
                .map(str::to_owned),
            next_upload_id_marker: out
                .next_upload_id_marker()
                .filter(|_| truncated)
                .map(str::to_owned),
        })
    }

    pub(super) fn list_parts_in(
        &self,
        region: &str,
        request: &ListPartsRequest,
    ) -> Result<ListPartsOutput, S3Error> {
        const OP: &str = "ListParts";
        let r = request;
        let fluent = self
            .inner
            .client
            .list_parts()
            .bucket(&r.bucket)
            .key(&r.key)
            .upload_id(&r.upload_id)
            .set_part_number_marker(r.part_number_marker.map(|n| n.to_string()))
            .set_max_parts(page_size(r.max_parts));
        let fluent = set_sse_customer!(fluent, r.sse_customer.as_ref());
        let fluent = set_context!(fluent, &r.context);
        let out = self.call(OP, (&r.bucket, &r.key), send_in!(self, region, fluent))?;
        let malformed = |what: &str| {
            S3Error::new(
                S3ErrorKind::Other,
                OP,
                format!("the ListPartsResult has {what}"),
            )
            .with_object(&r.bucket, &r.key)
        };
        let mut parts = Vec::new();
        for p in out.parts() {
            parts.push(ListedPart {
                part_number: p
                    .part_number()
                    .and_then(|n| u32::try_from(n).ok())
                    .ok_or_else(|| malformed("a part without a number"))?,
                size: p
                    .size()
                    .and_then(|n| u64::try_from(n).ok())
                    .ok_or_else(|| malformed("a part without a size"))?,
                etag: p.e_tag().map(str::to_owned),
                // A part's own checksum: the upload's type is not the part's.
                checksums: read_checksums!(p),
            });
        }
        let next_part_number_marker = if out.is_truncated().unwrap_or(false) {
            Some(
                out.next_part_number_marker()
                    .and_then(|n| n.parse().ok())
                    .ok_or_else(|| malformed("no NextPartNumberMarker on a truncated page"))?,
            )
        } else {
            None
        };
        Ok(ListPartsOutput {
            parts,
            next_part_number_marker,
        })
    }
}
