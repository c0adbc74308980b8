//! Checks on single objects: PutObject, HeadObject and GetObject round trips, ranges,
//! not-found answers, `If-Match`, deletes, awkward keys and versions.

use super::support::{
    Pulled, assert_quoted, data, fails, get, get_req, head, head_req, ok, put, put_req,
};
use super::{Capability, Fixture, Outcome};
use crate::client::{
    ByteRange, ContentRange, CopyObjectRequest, CopySource, DeleteObjectRequest, RequestBody,
    S3Api, S3ErrorKind,
};

/// PutObject with a content type and metadata, then HeadObject and GetObject: the same
/// bytes, size and quoted ETag come back with the attributes, and the body was pulled
/// through its observer (where progress and cancellation happen), every byte once.
pub fn put_head_get_round_trip(s3: &dyn S3Api, fixture: &Fixture) -> Outcome {
    let bucket = &fixture.bucket;
    let key = fixture.key("round-trip", "object");
    let bytes = data(1000, 1);
    let mut request = put_req(bucket, &key);
    request.attributes.content_type = Some("application/x-contract".into());
    request
        .attributes
        .metadata
        .insert("colour".into(), "blue".into());
    let pulled = std::sync::Arc::new(Pulled::default());
    let mut body = RequestBody::new(bytes.clone())
        .with_chunk_size(64)
        .with_observer(pulled.clone());
    let put = ok(s3.put_object(&request, &mut body), "PutObject");
    assert_eq!(
        pulled.bytes(),
        1000,
        "PutObject must pull the whole body through RequestBody::next_chunk"
    );
    let etag = put.etag.expect("PutObject returns the ETag");
    assert_quoted(&etag, "PutObject");

    let h = ok(head(s3, bucket, &key), "HeadObject");
    assert_eq!(h.content_length, 1000, "HeadObject content_length");
    assert_eq!(h.etag.as_deref(), Some(etag.as_str()), "HeadObject ETag");
    assert_eq!(
        h.attributes.content_type.as_deref(),
        Some("application/x-contract"),
        "HeadObject content type"
    );
    assert_eq!(
        h.attributes.metadata.get("colour").map(String::as_str),
        Some("blue"),
        "HeadObject user metadata"
    );
    assert!(h.last_modified.is_some(), "HeadObject has no Last-Modified");

    let (got, out) = ok(get(s3, &get_req(bucket, &key)), "GetObject");
    assert!(got == bytes, "GetObject returned other bytes");
    assert_eq!(out.content_length, 1000, "GetObject content_length");
    assert_eq!(out.bytes_received, 1000, "GetObject bytes_received");
    assert_eq!(out.etag.as_deref(), Some(etag.as_str()), "GetObject ETag");
    assert_eq!(out.content_range, None, "a whole GET has no Content-Range");
    Outcome::Passed
}

/// A zero-byte object reads back empty, and any range of it is 416 InvalidRange.
pub fn empty_objects_round_trip(s3: &dyn S3Api, fixture: &Fixture) -> Outcome {
    let bucket = &fixture.bucket;
    let key = fixture.key("empty", "object");
    put(s3, bucket, &key, b"");
    assert_eq!(ok(head(s3, bucket, &key), "HeadObject").content_length, 0);
    let (got, out) = ok(
        get(s3, &get_req(bucket, &key)),
        "GetObject of an empty object",
    );
    assert!(
        got.is_empty(),
        "an empty object read back {} bytes",
        got.len()
    );
    assert_eq!((out.content_length, out.bytes_received), (0, 0));
    let mut ranged = get_req(bucket, &key);
    ranged.range = Some(ByteRange::inclusive(0, 0));
    fails(
        get(s3, &ranged),
        S3ErrorKind::InvalidRange,
        "GetObject",
        "bytes=0-0 of an empty object",
    );
    Outcome::Passed
}

/// Inclusive ranges, open-ended ones, one byte, and one that runs past the end (cut at
/// the end, as S3 does), each with its Content-Range.
pub fn ranged_gets_return_the_range(s3: &dyn S3Api, fixture: &Fixture) -> Outcome {
    let bucket = &fixture.bucket;
    let key = fixture.key("ranges", "object");
    let bytes = data(1000, 2);
    put(s3, bucket, &key, &bytes);
    for (range, start, end) in [
        (ByteRange::inclusive(100, 199), 100, 199),
        (ByteRange::from(900), 900, 999),
        (ByteRange::inclusive(0, 0), 0, 0),
        (ByteRange::inclusive(990, 5000), 990, 999),
    ] {
        let what = format!("GetObject {}", range.header_value());
        let mut request = get_req(bucket, &key);
        request.range = Some(range);
        let (got, out) = ok(get(s3, &request), &what);
        assert!(
            got == bytes[start..=end],
            "{what}: other bytes than {start}..={end}"
        );
        let len = (end - start + 1) as u64;
        assert_eq!(
            (out.content_length, out.bytes_received),
            (len, len),
            "{what}: length"
        );
        assert_eq!(
            out.content_range,
            Some(ContentRange {
                start: start as u64,
                end: end as u64,
                total: 1000
            }),
            "{what}: Content-Range"
        );
    }
    Outcome::Passed
}

/// A range that starts at or past the end is 416, [`S3ErrorKind::InvalidRange`], and the
/// error names the object.
pub fn unsatisfiable_range_is_invalid_range(s3: &dyn S3Api, fixture: &Fixture) -> Outcome {
    let bucket = &fixture.bucket;
    let key = fixture.key("unsatisfiable", "object");
    put(s3, bucket, &key, &data(10, 3));
    for start in [10, 5000] {
        let mut request = get_req(bucket, &key);
        request.range = Some(ByteRange::from(start));
        let what = format!("GetObject bytes={start}- of 10 bytes");
        let err = fails(
            get(s3, &request),
            S3ErrorKind::InvalidRange,
            "GetObject",
            &what,
        );
        assert_eq!(err.status, Some(416), "{what}: status");
        assert_eq!(
            (err.bucket.as_str(), err.key.as_str()),
            (bucket.as_str(), key.as_str()),
            "{what}: the error names the object"
        );
    }
    Outcome::Passed
}

/// HeadObject and GetObject of a missing key are 404 [`S3ErrorKind::NotFound`], naming
/// the operation and the object.
pub fn missing_keys_are_not_found(s3: &dyn S3Api, fixture: &Fixture) -> Outcome {
    let bucket = &fixture.bucket;
    let key = fixture.key("missing", "never-written");
    let err = fails(
        head(s3, bucket, &key),
        S3ErrorKind::NotFound,
        "HeadObject",
        "HeadObject of a missing key",
    );
    assert_eq!(err.status, Some(404), "HeadObject of a missing key: status");
    assert_eq!(err.key, key, "HeadObject of a missing key: the error's key");
    let err = fails(
        get(s3, &get_req(bucket, &key)),
        S3ErrorKind::NotFound,
        "GetObject",
        "GetObject of a missing key",
    );
    assert_eq!(err.status, Some(404), "GetObject of a missing key: status");
    assert_eq!(
        err.bucket, *bucket,
        "GetObject of a missing key: the bucket"
    );
    Outcome::Passed
}

/// `If-Match` on GetObject and HeadObject: another ETag is 412
/// [`S3ErrorKind::PreconditionFailed`], the object's own passes, and once the object is
/// overwritten its old ETag fails (how a transfer notices a concurrent writer).
pub fn if_match_is_enforced(s3: &dyn S3Api, fixture: &Fixture) -> Outcome {
    if let Some(skipped) = fixture.lacking(s3, &[Capability::IfMatch]) {
        return skipped;
    }
    let bucket = &fixture.bucket;
    let key = fixture.key("if-match", "object");
    let etag = put(s3, bucket, &key, b"version one")
        .etag
        .expect("PutObject returns the ETag");
    let stale = "\"00000000000000000000000000000000\"";

    let mut request = get_req(bucket, &key);
    request.if_match = Some(stale.into());
    let err = fails(
        get(s3, &request),
        S3ErrorKind::PreconditionFailed,
        "GetObject",
        "GetObject If-Match another ETag",
    );
    assert_eq!(err.status, Some(412), "GetObject If-Match: status");
    request.if_match = Some(etag.clone());
    ok(get(s3, &request), "GetObject If-Match its own ETag");

    let mut h = head_req(bucket, &key);
    h.if_match = Some(stale.into());
    fails(
        s3.head_object(&h),
        S3ErrorKind::PreconditionFailed,
        "HeadObject",
        "HeadObject If-Match another ETag",
    );
    h.if_match = Some(etag.clone());
    ok(s3.head_object(&h), "HeadObject If-Match its own ETag");

    put(s3, bucket, &key, b"version two, longer");
    fails(
        get(s3, &request),
        S3ErrorKind::PreconditionFailed,
        "GetObject",
        "GetObject If-Match the ETag of an overwritten version",
    );
    Outcome::Passed
}

/// DeleteObject removes the object; deleting it again, or a key never written,
/// succeeds as on S3.
pub fn delete_removes_the_object(s3: &dyn S3Api, fixture: &Fixture) -> Outcome {
    let bucket = &fixture.bucket;
    let key = fixture.key("delete", "object");
    put(s3, bucket, &key, b"bye");
    let request = DeleteObjectRequest {
        bucket: bucket.clone(),
        key: key.clone(),
        ..Default::default()
    };
    ok(s3.delete_object(&request), "DeleteObject");
    fails(
        head(s3, bucket, &key),
        S3ErrorKind::NotFound,
        "HeadObject",
        "HeadObject after DeleteObject",
    );
    fails(
        get(s3, &get_req(bucket, &key)),
        S3ErrorKind::NotFound,
        "GetObject",
        "GetObject after DeleteObject",
    );
    ok(s3.delete_object(&request), "DeleteObject of a deleted key");
    let never = DeleteObjectRequest {
        key: fixture.key("delete", "never-written"),
        ..request
    };
    ok(
        s3.delete_object(&never),
        "DeleteObject of a key never written",
    );
    Outcome::Passed
}

/// Keys that need escaping in a URL, a signature or a copy source (spaces, `+`, `%`,
/// unicode, `~&=,;`) round-trip through PutObject, HeadObject, GetObject and CopyObject.
pub fn awkward_keys_round_trip(s3: &dyn S3Api, fixture: &Fixture) -> Outcome {
    let bucket = &fixture.bucket;
    for (i, name) in [
        "a b c",
        "ünïcødé/ключ",
        "plus+sign",
        "100%25 real %",
        "tilde~&=,;",
    ]
    .into_iter()
    .enumerate()
    {
        let key = fixture.key("awkward", name);
        let bytes = data(100 + i, 10 + i as u64);
        put(s3, bucket, &key, &bytes);
        let h = ok(head(s3, bucket, &key), &format!("HeadObject {key:?}"));
        assert_eq!(h.content_length, bytes.len() as u64, "HeadObject {key:?}");
        let (got, _) = ok(
            get(s3, &get_req(bucket, &key)),
            &format!("GetObject {key:?}"),
        );
        assert!(got == bytes, "GetObject {key:?}: other bytes");
        let copy = CopyObjectRequest {
            bucket: bucket.clone(),
            key: fixture.key("awkward", &format!("copy of {name}")),
            source: CopySource::new(bucket.clone(), key.clone()),
            ..Default::default()
        };
        ok(s3.copy_object(&copy), &format!("CopyObject from {key:?}"));
        let (got, _) = ok(
            get(s3, &get_req(bucket, &copy.key)),
            &format!("GetObject {:?}", copy.key),
        );
        assert!(got == bytes, "the copy of {key:?} has other bytes");
    }
    Outcome::Passed
}

/// In a versioned bucket every PutObject gets its own version id, an older version
/// stays readable by id, and a DeleteObject without an id leaves a delete marker that
/// hides the object but not its versions.
pub fn versions_stay_readable_by_id(s3: &dyn S3Api, fixture: &Fixture) -> Outcome {
    if let Some(skipped) = fixture.lacking(s3, &[Capability::Versioning]) {
        return skipped;
    }
    let bucket = fixture
        .versioned_bucket
        .as_deref()
        .expect("checked by lacking()");
    let key = fixture.key("versions", "object");
    let v1 = put(s3, bucket, &key, b"one")
        .version_id
        .expect("PutObject in a versioned bucket returns a version id");
    let v2 = put(s3, bucket, &key, b"two!")
        .version_id
        .expect("PutObject in a versioned bucket returns a version id");
    assert_ne!(v1, v2, "two writes got the same version id");

    let mut old = get_req(bucket, &key);
    old.version_id = Some(v1.clone());
    let (got, out) = ok(get(s3, &old), "GetObject of the first version by id");
    assert_eq!(got, b"one", "GetObject by version id: bytes");
    assert_eq!(out.version_id.as_deref(), Some(v1.as_str()));
    let (got, _) = ok(get(s3, &get_req(bucket, &key)), "GetObject of the latest");
    assert_eq!(
        got, b"two!",
        "GetObject without a version id reads the latest"
    );

    let deleted = ok(
        s3.delete_object(&DeleteObjectRequest {
            bucket: bucket.to_owned(),
            key: key.clone(),
            ..Default::default()
        }),
        "DeleteObject in a versioned bucket",
    );
    assert_eq!(
        deleted.delete_marker,
        Some(true),
        "DeleteObject without a version id leaves a delete marker"
    );
    assert!(
        deleted.version_id.is_some(),
        "the delete marker's version id"
    );
    fails(
        head(s3, bucket, &key),
        S3ErrorKind::NotFound,
        "HeadObject",
        "HeadObject behind a delete marker",
    );
    let (got, _) = ok(get(s3, &old), "GetObject by id behind a delete marker");
    assert_eq!(got, b"one", "a version behind a delete marker");
    Outcome::Passed
}
