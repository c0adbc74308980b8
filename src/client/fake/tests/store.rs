//! Objects as the fake stores them: ETags, attributes, dates, S3's error codes, reads
//! that are the fake's own (chunking, re-entrant sinks), SSE-C, checksum mode and versions.

use super::*;

#[test]
fn etags_are_quoted_deterministic_and_differ_by_content() {
    let s3 = fake();
    let a = put(&s3, "a", b"same").etag.unwrap();
    let b = put(&s3, "b", b"same").etag.unwrap();
    let c = put(&s3, "c", b"other").etag.unwrap();
    assert_eq!(a, b);
    assert_ne!(a, c);
    assert!(
        a.starts_with('"') && a.ends_with('"') && a.len() == 34,
        "{a}"
    );
}

#[test]
fn head_returns_size_etag_last_modified_and_every_attribute() {
    let s3 = fake();
    let mut req = put_req("k");
    req.attributes.content_type = Some("text/plain".into());
    req.attributes.cache_control = Some("no-cache".into());
    req.attributes.storage_class = Some("STANDARD_IA".into());
    req.attributes.tagging = Some("a=1".into());
    req.attributes.metadata.insert("owner".into(), "me".into());
    let put = s3
        .put_object(&req, &mut RequestBody::new(b"abc".to_vec()))
        .unwrap();
    let head = s3.head_object(&head_req("k")).unwrap();
    assert_eq!(head.content_length, 3);
    assert_eq!(head.etag, put.etag);
    assert_eq!(head.attributes, req.attributes);
    assert!(head.last_modified.unwrap().ends_with(" GMT"));
    assert_eq!(s3.object(B, "k").unwrap().metadata()["owner"], "me");
}

#[test]
fn last_modified_advances_with_every_write() {
    let s3 = fake();
    let first = s3.put_object_bytes(B, "k", b"1".to_vec()).last_modified;
    let second = s3.put_object_bytes(B, "k", b"2".to_vec()).last_modified;
    assert!(parse_http_date(&first).unwrap() < parse_http_date(&second).unwrap());
}

#[test]
fn missing_keys_answer_with_s3s_codes_head_not_found_and_get_no_such_key() {
    let s3 = fake();
    let err = s3.head_object(&head_req("nope")).unwrap_err();
    assert_eq!(code(&err), "NotFound");
    let err = get(&s3, &get_req("nope")).unwrap_err();
    assert_eq!(code(&err), "NoSuchKey");
}

#[test]
fn every_operation_on_a_missing_bucket_is_no_such_bucket() {
    let s3 = FakeS3::new();
    let mut get = get_req("k");
    get.bucket = "missing".into();
    let err = s3.get_object(&get, &mut Vec::new()).unwrap_err();
    assert_eq!(code(&err), "NoSuchBucket");
    assert_eq!(err.kind(), S3ErrorKind::NotFound);
    let mut put = put_req("k");
    put.bucket = "missing".into();
    let err = s3.put_object(&put, &mut RequestBody::empty()).unwrap_err();
    assert_eq!(code(&err), "NoSuchBucket");
    let err = s3
        .create_multipart_upload(&CreateMultipartUploadRequest {
            bucket: "missing".into(),
            ..Default::default()
        })
        .unwrap_err();
    assert_eq!(code(&err), "NoSuchBucket");
    let err = s3
        .delete_object(&DeleteObjectRequest {
            bucket: "missing".into(),
            ..Default::default()
        })
        .unwrap_err();
    assert_eq!(code(&err), "NoSuchBucket");
}

#[test]
fn if_match_fails_after_a_concurrent_writer_replaces_the_object() {
    let s3 = fake();
    let etag = put(&s3, "k", b"v1").etag.unwrap();
    let replaced = s3.replace_object(B, "k", b"v2".to_vec());
    assert_ne!(replaced.etag, etag);
    let mut req = get_req("k");
    req.if_match = Some(etag);
    assert_eq!(
        get(&s3, &req).unwrap_err().kind(),
        S3ErrorKind::PreconditionFailed
    );
}

#[test]
fn range_and_part_number_together_are_rejected() {
    let s3 = fake();
    put(&s3, "k", b"whole");
    let mut req = get_req("k");
    req.part_number = Some(1);
    req.range = Some(ByteRange::from(0));
    let err = get(&s3, &req).unwrap_err();
    assert_eq!((err.status, err.kind()), (Some(400), S3ErrorKind::Other));
}

#[test]
fn get_streams_the_body_in_chunks() {
    let s3 = fake().with_get_chunk_size(3);
    put(&s3, "k", b"0123456789");
    let mut chunks = Vec::new();
    let mut sink = |data: &[u8]| -> Result<(), S3Error> {
        chunks.push(data.to_vec());
        Ok(())
    };
    let out = s3.get_object(&get_req("k"), &mut sink).unwrap();
    assert_eq!(out.bytes_received, 10);
    assert_eq!(
        chunks.iter().map(Vec::len).collect::<Vec<_>>(),
        [3, 3, 3, 1]
    );
}

#[test]
fn the_sink_may_call_back_into_the_fake_without_deadlock() {
    let s3 = fake().with_get_chunk_size(1);
    put(&s3, "k", b"abc");
    let inner = s3.clone();
    let mut sink = |_: &[u8]| -> Result<(), S3Error> {
        inner.count(Operation::GetObject);
        inner.object(B, "k");
        Ok(())
    };
    s3.get_object(&get_req("k"), &mut sink).unwrap();
}

#[test]
fn sse_c_objects_need_the_same_key_on_every_read() {
    let s3 = fake();
    let key = SseCustomerKey::new("AES256", "a2V5", "bWQ1");
    let mut req = put_req("secret");
    req.sse_customer = Some(key.clone());
    s3.put_object(&req, &mut RequestBody::new(b"data".to_vec()))
        .unwrap();

    let err = get(&s3, &get_req("secret")).unwrap_err();
    assert_eq!((err.status, code(&err)), (Some(400), "InvalidRequest"));
    assert_eq!(err.kind(), S3ErrorKind::Other);

    let mut wrong = get_req("secret");
    wrong.sse_customer = Some(SseCustomerKey::new("AES256", "b3RoZXI=", "eHg="));
    assert_eq!(get(&s3, &wrong).unwrap_err().kind(), S3ErrorKind::Other);

    assert_eq!(
        s3.head_object(&head_req("secret")).unwrap_err().kind(),
        S3ErrorKind::Other
    );

    let mut right = get_req("secret");
    right.sse_customer = Some(key.clone());
    assert_eq!(get(&s3, &right).unwrap().0, b"data");
    let mut head = head_req("secret");
    head.sse_customer = Some(key);
    assert!(s3.head_object(&head).is_ok());

    // And a key on a plain object is refused, too.
    put(&s3, "plain", b"x");
    let mut keyed = get_req("plain");
    keyed.sse_customer = right.sse_customer;
    assert_eq!(get(&s3, &keyed).unwrap_err().status, Some(400));
}

#[test]
fn stored_checksums_come_back_only_with_checksum_mode() {
    let s3 = fake();
    let mut req = put_req("k");
    req.checksum_algorithm = Some(ChecksumAlgorithm::Crc32);
    // A value that is not the body's is refused, as S3 does.
    req.checksums.crc32 = Some("AAAAAA==".into());
    let refused = s3
        .put_object(&req, &mut RequestBody::new(b"abc".to_vec()))
        .unwrap_err();
    assert_eq!(code(&refused), "BadDigest");
    assert_eq!(refused.status, Some(400));
    let crc = crate::checksum::checksum(ChecksumAlgorithm::Crc32, b"abc").to_base64();
    req.checksums.crc32 = Some(crc.clone());
    let out = s3
        .put_object(&req, &mut RequestBody::new(b"abc".to_vec()))
        .unwrap();
    assert_eq!(out.checksums.crc32.as_deref(), Some(crc.as_str()));

    assert!(s3.head_object(&head_req("k")).unwrap().checksums.is_empty());
    assert!(get(&s3, &get_req("k")).unwrap().1.checksums.is_empty());

    let mut head = head_req("k");
    head.checksum_mode = true;
    assert_eq!(
        s3.head_object(&head).unwrap().checksums.crc32.as_deref(),
        Some(crc.as_str())
    );
    let mut get_with = get_req("k");
    get_with.checksum_mode = true;
    assert_eq!(
        get(&s3, &get_with).unwrap().1.checksums.crc32.as_deref(),
        Some(crc.as_str())
    );
    // A range has no checksum of its own.
    get_with.range = Some(ByteRange::inclusive(0, 0));
    assert!(get(&s3, &get_with).unwrap().1.checksums.is_empty());
}

#[test]
fn versioned_buckets_keep_old_versions_readable_by_id() {
    let s3 = FakeS3::new();
    s3.create_versioned_bucket(B);
    let v1 = put(&s3, "k", b"one").version_id.unwrap();
    let v2 = s3
        .replace_object(B, "k", b"two".to_vec())
        .version_id
        .unwrap();
    assert_ne!(v1, v2);
    let mut req = get_req("k");
    req.version_id = Some(v1.clone());
    let (body, out) = get(&s3, &req).unwrap();
    assert_eq!((body.as_slice(), out.version_id), (&b"one"[..], Some(v1)));
    assert_eq!(get(&s3, &get_req("k")).unwrap().0, b"two");
    req.version_id = Some("v99999999".into());
    assert_eq!(code(&get(&s3, &req).unwrap_err()), "NoSuchVersion");
    assert_eq!(s3.object_versions(B, "k").len(), 2);
}

#[test]
fn versioned_delete_leaves_a_marker_and_versions_survive() {
    let s3 = FakeS3::new();
    s3.create_versioned_bucket(B);
    let v1 = put(&s3, "k", b"one").version_id.unwrap();
    let out = s3.delete_object(&delete_req("k")).unwrap();
    assert_eq!(out.delete_marker, Some(true));
    let marker = out.version_id.unwrap();
    assert_eq!(
        s3.head_object(&head_req("k")).unwrap_err().kind(),
        S3ErrorKind::NotFound
    );
    let mut req = get_req("k");
    req.version_id = Some(v1.clone());
    assert_eq!(get(&s3, &req).unwrap().0, b"one");
    // Deleting the marker by id brings the object back.
    let mut del = delete_req("k");
    del.version_id = Some(marker);
    assert_eq!(s3.delete_object(&del).unwrap().delete_marker, Some(true));
    assert_eq!(s3.object(B, "k").unwrap().version_id, Some(v1));
}

#[test]
fn unversioned_buckets_reject_version_ids_other_than_null() {
    let s3 = fake();
    put(&s3, "k", b"x");
    let mut req = get_req("k");
    req.version_id = Some("null".into());
    assert!(get(&s3, &req).is_ok());
    req.version_id = Some("v1".into());
    assert_eq!(code(&get(&s3, &req).unwrap_err()), "InvalidArgument");
    assert_eq!(get(&s3, &get_req("k")).unwrap().1.version_id, None);
}
