//! Checks on server-side copies: CopyObject, UploadPartCopy with and without a source
//! range, and the copy-source `If-Match` precondition.

use super::support::{complete, create, data, fails, get, get_req, head, ok, put, put_req};
use super::{Capability, Fixture, Outcome};
use crate::client::{
    CompletedPart, CopyObjectRequest, CopySource, DeleteObjectRequest, RequestBody, S3Api,
    S3ErrorKind, UploadPartCopyRequest,
};

fn copy_req(bucket: &str, source: &str, key: &str) -> CopyObjectRequest {
    CopyObjectRequest {
        bucket: bucket.to_owned(),
        key: key.to_owned(),
        source: CopySource::new(bucket, source),
        ..Default::default()
    }
}

fn part_copy_req(
    bucket: &str,
    source: &str,
    key: &str,
    upload_id: &str,
    n: u32,
) -> UploadPartCopyRequest {
    UploadPartCopyRequest {
        bucket: bucket.to_owned(),
        key: key.to_owned(),
        upload_id: upload_id.to_owned(),
        part_number: n,
        source: CopySource::new(bucket, source),
        ..Default::default()
    }
}

/// CopyObject copies the bytes, and by default the content type and metadata; copying a
/// missing source is [`S3ErrorKind::NotFound`].
pub fn copy_object_copies_bytes_and_metadata(s3: &dyn S3Api, fixture: &Fixture) -> Outcome {
    let bucket = &fixture.bucket;
    let source = fixture.key("copy", "source");
    let bytes = data(2000, 7);
    let mut request = put_req(bucket, &source);
    request.attributes.content_type = Some("image/x-contract".into());
    request
        .attributes
        .metadata
        .insert("origin".into(), "source".into());
    ok(
        s3.put_object(&request, &mut RequestBody::new(bytes.clone())),
        "PutObject of the copy source",
    );
    let target = fixture.key("copy", "target");
    let out = ok(
        s3.copy_object(&copy_req(bucket, &source, &target)),
        "CopyObject",
    );
    assert!(
        out.etag.is_some(),
        "CopyObject returns the new object's ETag"
    );
    let (got, _) = ok(get(s3, &get_req(bucket, &target)), "GetObject of the copy");
    assert!(got == bytes, "the copy has other bytes");
    let h = ok(head(s3, bucket, &target), "HeadObject of the copy");
    assert_eq!(
        h.attributes.content_type.as_deref(),
        Some("image/x-contract"),
        "a copy keeps the source's content type"
    );
    assert_eq!(
        h.attributes.metadata.get("origin").map(String::as_str),
        Some("source"),
        "a copy keeps the source's metadata"
    );
    let missing = fixture.key("copy", "never-written");
    fails(
        s3.copy_object(&copy_req(bucket, &missing, &target)),
        S3ErrorKind::NotFound,
        "CopyObject",
        "CopyObject of a missing source",
    );
    Outcome::Passed
}

/// UploadPartCopy copies the source range it names, or the whole source without one:
/// the completed objects hold exactly those bytes.
pub fn upload_part_copy_copies_source_ranges(s3: &dyn S3Api, fixture: &Fixture) -> Outcome {
    let bucket = &fixture.bucket;
    let source = fixture.key("part-copy", "source");
    let first = fixture.min_part_size;
    let bytes = data(first as usize + 1000, 8);
    let last = bytes.len() as u64 - 1;
    put(s3, bucket, &source, &bytes);

    let target = fixture.key("part-copy", "ranges");
    let id = create(s3, bucket, &target);
    let mut parts = Vec::new();
    for (n, range) in [(1, (0, first - 1)), (2, (first, last))] {
        let mut request = part_copy_req(bucket, &source, &target, &id, n);
        request.source_range = Some(range);
        let out = ok(
            s3.upload_part_copy(&request),
            &format!("UploadPartCopy bytes={}-{}", range.0, range.1),
        );
        let etag = out.etag.expect("UploadPartCopy returns the part's ETag");
        parts.push(CompletedPart::new(n, etag));
    }
    complete(s3, bucket, &target, &id, parts);
    let (got, _) = ok(get(s3, &get_req(bucket, &target)), "GetObject");
    assert!(got == bytes, "the ranges copied do not make up the source");

    let whole = fixture.key("part-copy", "whole");
    let id = create(s3, bucket, &whole);
    let out = ok(
        s3.upload_part_copy(&part_copy_req(bucket, &source, &whole, &id, 1)),
        "UploadPartCopy without a range",
    );
    let etag = out.etag.expect("UploadPartCopy returns the part's ETag");
    complete(s3, bucket, &whole, &id, vec![CompletedPart::new(1, etag)]);
    let (got, _) = ok(get(s3, &get_req(bucket, &whole)), "GetObject");
    assert!(got == bytes, "UploadPartCopy without a range copies it all");
    Outcome::Passed
}

/// `x-amz-copy-source-if-match` with another ETag fails CopyObject and UploadPartCopy
/// with 412 [`S3ErrorKind::PreconditionFailed`] and writes nothing; the source's own
/// ETag passes.
pub fn copy_source_if_match_is_enforced(s3: &dyn S3Api, fixture: &Fixture) -> Outcome {
    if let Some(skipped) = fixture.lacking(s3, &[Capability::CopySourceIfMatch]) {
        return skipped;
    }
    let bucket = &fixture.bucket;
    let source = fixture.key("copy-if-match", "source");
    let etag = put(s3, bucket, &source, &data(500, 9))
        .etag
        .expect("PutObject returns the ETag");
    let stale = "\"00000000000000000000000000000000\"";

    let target = fixture.key("copy-if-match", "target");
    // Left by an earlier run in the same bucket, it would look like a copy that was
    // not refused.
    ok(
        s3.delete_object(&DeleteObjectRequest {
            bucket: bucket.clone(),
            key: target.clone(),
            ..Default::default()
        }),
        "DeleteObject of the copy target",
    );
    let mut request = copy_req(bucket, &source, &target);
    request.conditions.if_match = Some(stale.into());
    let err = fails(
        s3.copy_object(&request),
        S3ErrorKind::PreconditionFailed,
        "CopyObject",
        "CopyObject with copy-source If-Match another ETag",
    );
    assert_eq!(
        err.status,
        Some(412),
        "CopyObject copy-source If-Match: status"
    );
    fails(
        head(s3, bucket, &target),
        S3ErrorKind::NotFound,
        "HeadObject",
        "the target of a refused copy",
    );
    request.conditions.if_match = Some(etag.clone());
    ok(
        s3.copy_object(&request),
        "CopyObject with copy-source If-Match its own ETag",
    );

    let parted = fixture.key("copy-if-match", "parted");
    let id = create(s3, bucket, &parted);
    let mut request = part_copy_req(bucket, &source, &parted, &id, 1);
    request.conditions.if_match = Some(stale.into());
    fails(
        s3.upload_part_copy(&request),
        S3ErrorKind::PreconditionFailed,
        "UploadPartCopy",
        "UploadPartCopy with copy-source If-Match another ETag",
    );
    request.conditions.if_match = Some(etag);
    let out = ok(
        s3.upload_part_copy(&request),
        "UploadPartCopy with copy-source If-Match its own ETag",
    );
    let etag = out.etag.expect("UploadPartCopy returns the part's ETag");
    complete(s3, bucket, &parted, &id, vec![CompletedPart::new(1, etag)]);
    Outcome::Passed
}
