//! Listings: ListObjectsV2, ListMultipartUploads and ListParts as signed requests of our own (rusoto_s3 0.48
//! builds path-style requests only, sends no SSE-C key with ListParts and reads no part
//! checksums), and their XML answers.

use rusoto_core::param::{Params, ServiceParams};

use super::send::dispatch_buffered;
use super::{RusotoS3, signed};
use crate::client::{
    Checksums, ListMultipartUploadsOutput, ListMultipartUploadsRequest, ListObjectsV2Output,
    ListObjectsV2Request, ListPartsOutput, ListPartsRequest, ListedObject, ListedPart,
    ListedUpload, RequestContext, S3Error, S3ErrorKind,
};

/// What tells one bucket-level listing from another.
struct BucketListing<'a> {
    op: &'static str,
    /// The answer's root element.
    root: &'static str,
    bucket: &'a str,
    /// The parameter that names the listing (`list-type=2`, `uploads`).
    selector: (&'static str, Option<&'static str>),
    optional: &'a [(&'static str, Option<&'a str>)],
    /// The page-size parameter and its value.
    max: (&'static str, Option<u32>),
    prefix: Option<&'a str>,
    context: &'a RequestContext,
}

impl RusotoS3 {
    pub(super) fn list_objects(
        &self,
        endpoint: &signed::Endpoint,
        request: &ListObjectsV2Request,
    ) -> Result<ListObjectsV2Output, S3Error> {
        let body = self.bucket_listing(
            endpoint,
            BucketListing {
                op: "ListObjectsV2",
                root: "ListBucketResult",
                bucket: &request.bucket,
                selector: ("list-type", Some("2")),
                optional: &[
                    ("prefix", request.prefix.as_deref()),
                    ("delimiter", request.delimiter.as_deref()),
                    ("continuation-token", request.continuation_token.as_deref()),
                    ("start-after", request.start_after.as_deref()),
                ],
                max: ("max-keys", request.max_keys),
                prefix: request.prefix.as_deref(),
                context: &request.context,
            },
        )?;
        Ok(parse_list_objects(&body))
    }

    pub(super) fn list_uploads(
        &self,
        endpoint: &signed::Endpoint,
        request: &ListMultipartUploadsRequest,
    ) -> Result<ListMultipartUploadsOutput, S3Error> {
        let body = self.bucket_listing(
            endpoint,
            BucketListing {
                op: "ListMultipartUploads",
                root: "ListMultipartUploadsResult",
                bucket: &request.bucket,
                selector: ("uploads", None),
                optional: &[
                    ("prefix", request.prefix.as_deref()),
                    ("key-marker", request.key_marker.as_deref()),
                    ("upload-id-marker", request.upload_id_marker.as_deref()),
                ],
                max: ("max-uploads", request.max_uploads),
                prefix: request.prefix.as_deref(),
                context: &request.context,
            },
        )?;
        Ok(parse_list_uploads(&body))
    }

    /// One page of a bucket-level listing: the signed GET with its query, and its
    /// answer, which must be the document asked for (see [`expect_root`]).
    fn bucket_listing(
        &self,
        endpoint: &signed::Endpoint,
        listing: BucketListing<'_>,
    ) -> Result<String, S3Error> {
        let BucketListing {
            op,
            root,
            bucket,
            selector,
            optional,
            max,
            prefix,
            context,
        } = listing;
        let mut req = signed::bucket_request(endpoint, "GET", bucket);
        let mut params = Params::new();
        match selector {
            (name, Some(value)) => params.put(name, value),
            (name, None) => params.put_key(name),
        }
        for (name, value) in optional {
            if let Some(value) = value {
                params.put(name, value);
            }
        }
        if let (name, Some(max)) = max {
            params.put(name, max.to_string());
        }
        req.set_params(params);
        signed::add_common(&mut req, None, context);
        let prefix = prefix.unwrap_or_default();
        let out = self.call(op, bucket, prefix, dispatch_buffered(&self.inner.raw, req))?;
        let body = String::from_utf8_lossy(&out.body).into_owned();
        expect_root(op, &body, root).map_err(|e| e.with_object(bucket, prefix))?;
        Ok(body)
    }

    pub(super) fn list_upload_parts(
        &self,
        endpoint: &signed::Endpoint,
        request: &ListPartsRequest,
    ) -> Result<ListPartsOutput, S3Error> {
        const OP: &str = "ListParts";
        let (bucket, key) = (&request.bucket, &request.key);
        let mut req = signed::object_request(endpoint, "GET", bucket, key);
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
        let body = String::from_utf8_lossy(&out.body);
        expect_root(OP, &body, "ListPartsResult").map_err(|e| e.with_object(bucket, key))?;
        parse_list_parts(&body).map_err(|what| {
            S3Error::new(
                S3ErrorKind::Other,
                OP,
                format!("the ListPartsResult has {what}"),
            )
            .with_object(bucket, key)
        })
    }
}

/// A ListBucketResult page (ListObjectsV2): its objects, common prefixes and the next
/// continuation token.
pub(super) fn parse_list_objects(body: &str) -> ListObjectsV2Output {
    let objects = elements(body, "Contents")
        .into_iter()
        .map(|o| ListedObject {
            key: signed::xml_text(o, "Key").unwrap_or_default(),
            size: signed::xml_text(o, "Size")
                .and_then(|n| n.parse().ok())
                .unwrap_or(0),
            last_modified: signed::xml_text(o, "LastModified")
                .as_deref()
                .and_then(parse_listing_date),
            etag: signed::xml_text(o, "ETag"),
            storage_class: signed::xml_text(o, "StorageClass"),
        })
        .collect();
    let common_prefixes = elements(body, "CommonPrefixes")
        .into_iter()
        .filter_map(|p| signed::xml_text(p, "Prefix"))
        .collect();
    let truncated = signed::xml_text(body, "IsTruncated").as_deref() == Some("true");
    ListObjectsV2Output {
        objects,
        common_prefixes,
        // S3 names a next token only on a truncated page; a store that names one on
        // the last page too must not make a caller loop.
        next_continuation_token: signed::xml_text(body, "NextContinuationToken")
            .filter(|_| truncated),
    }
}

/// A 2xx listing answer must be the document asked for: anything else (a captive
/// portal's page, a proxy's answer) would read as an empty page, and an empty source
/// listing makes a sync with `--delete` remove the destination. Retryable: the next
/// attempt may reach the store.
fn expect_root(op: &'static str, body: &str, root: &str) -> Result<(), S3Error> {
    if body.contains(&format!("<{root}")) {
        return Ok(());
    }
    Err(S3Error::new(
        S3ErrorKind::Transient,
        op,
        format!("the answer is not a {root} document"),
    ))
}

/// A ListMultipartUploadsResult document.
pub(super) fn parse_list_uploads(body: &str) -> ListMultipartUploadsOutput {
    let uploads = elements(body, "Upload")
        .into_iter()
        .map(|u| ListedUpload {
            key: signed::xml_text(u, "Key").unwrap_or_default(),
            upload_id: signed::xml_text(u, "UploadId").unwrap_or_default(),
            initiated: signed::xml_text(u, "Initiated")
                .as_deref()
                .and_then(parse_listing_date),
        })
        .collect();
    let truncated = signed::xml_text(body, "IsTruncated").as_deref() == Some("true");
    ListMultipartUploadsOutput {
        uploads,
        // As for ListObjectsV2: markers count only on a truncated page.
        next_key_marker: signed::xml_text(body, "NextKeyMarker").filter(|_| truncated),
        next_upload_id_marker: signed::xml_text(body, "NextUploadIdMarker").filter(|_| truncated),
    }
}

/// The insides of each `<tag>...</tag>` of a flat document (text is escaped, so a key
/// cannot contain a tag).
fn elements<'a>(body: &'a str, tag: &str) -> Vec<&'a str> {
    let open = format!("<{tag}>");
    let close = format!("</{tag}>");
    body.split(open.as_str())
        .skip(1)
        .map(|e| e.split(close.as_str()).next().unwrap_or_default())
        .collect()
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
