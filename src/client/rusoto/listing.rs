//! Listings: ListObjectsV2 through rusoto_s3's typed call, and ListParts as a signed
//! request of our own (rusoto_s3 0.48 sends no SSE-C key with it and reads no part
//! checksums).

use rusoto_core::param::{Params, ServiceParams};
use rusoto_s3::S3;

use super::send::dispatch_buffered;
use super::{RusotoS3, signed};
use crate::client::{
    Checksums, ListMultipartUploadsOutput, ListMultipartUploadsRequest, ListObjectsV2Output,
    ListObjectsV2Request, ListPartsOutput, ListPartsRequest, ListedObject, ListedPart,
    ListedUpload, S3Error, S3ErrorKind,
};

impl RusotoS3 {
    pub(super) fn list_objects(
        &self,
        request: &ListObjectsV2Request,
    ) -> Result<ListObjectsV2Output, S3Error> {
        const OP: &str = "ListObjectsV2";
        let prefix = request.prefix.clone().unwrap_or_default();
        let req = rusoto_s3::ListObjectsV2Request {
            bucket: request.bucket.clone(),
            prefix: request.prefix.clone(),
            delimiter: request.delimiter.clone(),
            continuation_token: request.continuation_token.clone(),
            start_after: request.start_after.clone(),
            max_keys: request.max_keys.map(i64::from),
            request_payer: request.context.request_payer.clone(),
            expected_bucket_owner: request.context.expected_bucket_owner.clone(),
            ..Default::default()
        };
        let client = &self.inner.client;
        let out = self.call(OP, &request.bucket, &prefix, client.list_objects_v2(req))?;
        let objects = out
            .contents
            .unwrap_or_default()
            .into_iter()
            .map(|o| ListedObject {
                key: o.key.unwrap_or_default(),
                size: o.size.unwrap_or(0).max(0) as u64,
                last_modified: o.last_modified.as_deref().and_then(parse_listing_date),
                etag: o.e_tag,
                storage_class: o.storage_class,
            })
            .collect();
        Ok(ListObjectsV2Output {
            objects,
            common_prefixes: out
                .common_prefixes
                .unwrap_or_default()
                .into_iter()
                .filter_map(|p| p.prefix)
                .collect(),
            // S3 names a next token only on a truncated page; a store that names one
            // on the last page too must not make a caller loop.
            next_continuation_token: out
                .next_continuation_token
                .filter(|_| out.is_truncated == Some(true)),
        })
    }

    pub(super) fn list_uploads(
        &self,
        request: &ListMultipartUploadsRequest,
    ) -> Result<ListMultipartUploadsOutput, S3Error> {
        const OP: &str = "ListMultipartUploads";
        let prefix = request.prefix.clone().unwrap_or_default();
        let req = rusoto_s3::ListMultipartUploadsRequest {
            bucket: request.bucket.clone(),
            prefix: request.prefix.clone(),
            key_marker: request.key_marker.clone(),
            upload_id_marker: request.upload_id_marker.clone(),
            max_uploads: request.max_uploads.map(i64::from),
            expected_bucket_owner: request.context.expected_bucket_owner.clone(),
            ..Default::default()
        };
        let client = &self.inner.client;
        let out = self.call(
            OP,
            &request.bucket,
            &prefix,
            client.list_multipart_uploads(req),
        )?;
        let truncated = out.is_truncated == Some(true);
        Ok(ListMultipartUploadsOutput {
            uploads: out
                .uploads
                .unwrap_or_default()
                .into_iter()
                .map(|u| ListedUpload {
                    key: u.key.unwrap_or_default(),
                    upload_id: u.upload_id.unwrap_or_default(),
                    initiated: u.initiated.as_deref().and_then(parse_listing_date),
                })
                .collect(),
            // As for ListObjectsV2: markers count only on a truncated page.
            next_key_marker: out.next_key_marker.filter(|_| truncated),
            next_upload_id_marker: out.next_upload_id_marker.filter(|_| truncated),
        })
    }

    pub(super) fn list_upload_parts(
        &self,
        request: &ListPartsRequest,
    ) -> Result<ListPartsOutput, S3Error> {
        const OP: &str = "ListParts";
        let (bucket, key) = (&request.bucket, &request.key);
        let mut req = signed::object_request(&self.inner.region, "GET", bucket, key);
        let mut params = Params::new();
        params.put("uploadId", &request.upload_id);
        if let Some(marker) = request.part_number_marker {
            params.put("part-number-marker", marker.to_string());
        }
        if let Some(max) = request.max_parts {
            params.put("max-parts", max.to_string());
        }
        req.set_params(params);
        signed::add_common(&mut req, request.sse_customer.as_ref(), &request.context);
        let out = self.call(OP, bucket, key, dispatch_buffered(&self.inner.raw, req))?;
        parse_list_parts(&String::from_utf8_lossy(&out.body)).map_err(|what| {
            S3Error::new(
                S3ErrorKind::Other,
                OP,
                format!("the ListPartsResult has {what}"),
            )
            .with_object(bucket, key)
        })
    }
}

/// The parts of a ListPartsResult page, or what is wrong with it (the fuzz target
/// `xml_bodies` calls this directly).
pub(super) fn parse_list_parts(body: &str) -> Result<ListPartsOutput, String> {
    let malformed = |what: &str| what.to_owned();
    let mut parts = Vec::new();
    for part in body.split("<Part>").skip(1) {
        let part = part.split("</Part>").next().unwrap_or_default();
        let number = signed::xml_text(part, "PartNumber")
            .and_then(|n| n.parse().ok())
            .ok_or_else(|| malformed("a part without a number"))?;
        let empty = hyper::HeaderMap::<String>::default();
        parts.push(ListedPart {
            part_number: number,
            size: signed::xml_text(part, "Size")
                .and_then(|n| n.parse().ok())
                .ok_or_else(|| malformed("a part without a size"))?,
            etag: signed::xml_text(part, "ETag"),
            checksums: Checksums {
                // A part's own checksum: the upload's type is not the part's.
                checksum_type: None,
                ..signed::read_result_checksums(part, &empty)
            },
        });
    }
    let truncated = signed::xml_text(body, "IsTruncated").as_deref() == Some("true");
    let next_part_number_marker = if truncated {
        Some(
            signed::xml_text(body, "NextPartNumberMarker")
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

/// A listing's `LastModified` (RFC 3339, `2009-10-12T17:50:30.000Z`); `None` if the
/// store sent something else.
pub(super) fn parse_listing_date(value: &str) -> Option<std::time::SystemTime> {
    let parsed = chrono::DateTime::parse_from_rfc3339(value).ok()?;
    let secs = u64::try_from(parsed.timestamp()).ok()?;
    Some(
        std::time::SystemTime::UNIX_EPOCH
            + std::time::Duration::new(secs, parsed.timestamp_subsec_nanos()),
    )
}
