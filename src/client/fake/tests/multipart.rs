//! S3's multipart rules as the fake enforces them: part order, ETags and checksums on
//! Complete, part sizes and numbers, SSE-C keys, and the object checksums Complete stores.

use super::*;
use crate::client::ChecksumType;

#[test]
fn sse_c_uploads_need_the_key_on_parts_and_complete() {
    let s3 = fake();
    let key = SseCustomerKey::new("AES256", "a2V5", "bWQ1");
    let id = s3
        .create_multipart_upload(&CreateMultipartUploadRequest {
            bucket: B.into(),
            key: "mp".into(),
            sse_customer: Some(key.clone()),
            ..Default::default()
        })
        .unwrap()
        .upload_id;
    let err = s3
        .upload_part(
            &part_req("mp", &id, 1),
            &mut RequestBody::new(b"abcd".to_vec()),
        )
        .unwrap_err();
    assert_eq!(code(&err), "InvalidRequest");
    let mut part = part_req("mp", &id, 1);
    part.sse_customer = Some(key.clone());
    let etag = s3
        .upload_part(&part, &mut RequestBody::new(b"abcd".to_vec()))
        .unwrap()
        .etag
        .unwrap();
    let mut complete = complete_req("mp", &id, vec![CompletedPart::new(1, etag)]);
    assert_eq!(
        code(&s3.complete_multipart_upload(&complete).unwrap_err()),
        "InvalidRequest"
    );
    complete.sse_customer = Some(key.clone());
    s3.complete_multipart_upload(&complete).unwrap();
    assert_eq!(s3.object(B, "mp").unwrap().sse_customer, Some(key));
}

#[test]
fn complete_stores_the_whole_object_checksums_it_carried() {
    let s3 = fake();
    let id = create(&s3, "mp");
    let mut part = part_req("mp", &id, 1);
    let part_crc = crate::checksum::checksum(ChecksumAlgorithm::Crc32c, b"abcd").to_base64();
    part.checksums.crc32c = Some("d3Jvbmc=".into());
    assert_eq!(
        code(
            &s3.upload_part(&part, &mut RequestBody::new(b"abcd".to_vec()))
                .unwrap_err()
        ),
        "BadDigest"
    );
    part.checksums.crc32c = Some(part_crc.clone());
    let etag = s3
        .upload_part(&part, &mut RequestBody::new(b"abcd".to_vec()))
        .unwrap()
        .etag
        .unwrap();
    let mut completed = CompletedPart::new(1, etag);
    completed.checksums.crc32c = Some("d3Jvbmc=".into());
    let mut complete = complete_req("mp", &id, vec![completed.clone()]);
    // A part checksum that disagrees with the uploaded one is an invalid part.
    assert_eq!(
        code(&s3.complete_multipart_upload(&complete).unwrap_err()),
        "InvalidPart"
    );
    completed.checksums.crc32c = Some(part_crc.clone());
    complete.parts = vec![completed];
    // A FULL_OBJECT value is checked against the assembled object.
    complete.checksums.crc32c = Some("d2hvbGU=".into());
    complete.checksums.checksum_type = Some(ChecksumType::FullObject);
    assert_eq!(
        code(&s3.complete_multipart_upload(&complete).unwrap_err()),
        "BadDigest"
    );
    complete.checksums.crc32c = Some("d2hvbGU=-1".into());
    complete.checksums.checksum_type = Some(ChecksumType::Composite);
    s3.complete_multipart_upload(&complete).unwrap();
    let mut head = head_req("mp");
    head.checksum_mode = true;
    let checksums = s3.head_object(&head).unwrap().checksums;
    assert_eq!(checksums.crc32c.as_deref(), Some("d2hvbGU=-1"));
    head.part_number = Some(1);
    let checksums = s3.head_object(&head).unwrap().checksums;
    assert_eq!(checksums.crc32c.as_deref(), Some(part_crc.as_str()));
}

#[test]
fn complete_of_a_composite_upload_stores_the_checksum_of_the_part_checksums() {
    let s3 = fake();
    let id = s3
        .create_multipart_upload(&CreateMultipartUploadRequest {
            bucket: B.into(),
            key: "mp".into(),
            checksum_algorithm: Some(ChecksumAlgorithm::Sha256),
            ..Default::default()
        })
        .unwrap()
        .upload_id;
    let mut parts = Vec::new();
    for (n, data) in [(1, b"aaaa".as_slice()), (2, b"bbbb"), (3, b"cc")] {
        let mut req = part_req("mp", &id, n);
        req.checksum_algorithm = Some(ChecksumAlgorithm::Sha256);
        let out = s3
            .upload_part(&req, &mut RequestBody::new(data.to_vec()))
            .unwrap();
        let mut part = CompletedPart::new(n, out.etag.unwrap());
        part.checksums = out.checksums;
        parts.push(part);
    }
    let sha = |d: &[u8]| crate::checksum::checksum(ChecksumAlgorithm::Sha256, d);
    let digests: Vec<u8> = [b"aaaa".as_slice(), b"bbbb", b"cc"]
        .iter()
        .flat_map(|d| sha(d).bytes)
        .collect();
    let want = format!("{}-3", sha(&digests).to_base64());
    let out = s3
        .complete_multipart_upload(&complete_req("mp", &id, parts))
        .unwrap();
    assert_eq!(out.checksums.sha256.as_deref(), Some(want.as_str()));
    let mut head = head_req("mp");
    head.checksum_mode = true;
    let stored = s3.head_object(&head).unwrap().checksums;
    assert_eq!(stored.sha256.as_deref(), Some(want.as_str()));
    assert_eq!(stored.checksum_type, Some(ChecksumType::Composite));
    // A partNumber GET answers with that part's bytes, place and own checksum.
    let mut get_part = get_req("mp");
    get_part.checksum_mode = true;
    get_part.part_number = Some(2);
    let (body, out) = get(&s3, &get_part).unwrap();
    assert_eq!(body, b"bbbb");
    let cr = out.content_range.unwrap();
    assert_eq!((cr.start, cr.end, cr.total), (4, 7, 10));
    assert_eq!(out.parts_count, Some(3));
    let part2 = sha(b"bbbb").to_base64();
    assert_eq!(out.checksums.sha256.as_deref(), Some(part2.as_str()));
    // Without checksum_mode, no checksum.
    get_part.checksum_mode = false;
    assert!(get(&s3, &get_part).unwrap().1.checksums.is_empty());
}

#[test]
fn complete_rejects_parts_out_of_order() {
    let s3 = fake();
    let id = create(&s3, "mp");
    let p1 = upload(&s3, "mp", &id, 1, b"aaaa");
    let p2 = upload(&s3, "mp", &id, 2, b"bbbb");
    let err = s3
        .complete_multipart_upload(&complete_req("mp", &id, vec![p2, p1]))
        .unwrap_err();
    assert_eq!((err.status, code(&err)), (Some(400), "InvalidPartOrder"));
    assert_eq!(err.kind(), S3ErrorKind::Other);
}

#[test]
fn complete_rejects_duplicate_part_numbers() {
    let s3 = fake();
    let id = create(&s3, "mp");
    let p1 = upload(&s3, "mp", &id, 1, b"aaaa");
    let err = s3
        .complete_multipart_upload(&complete_req("mp", &id, vec![p1.clone(), p1]))
        .unwrap_err();
    assert_eq!(code(&err), "InvalidPartOrder");
}

#[test]
fn complete_rejects_missing_parts_and_wrong_etags_as_invalid_part() {
    let s3 = fake();
    let id = create(&s3, "mp");
    let p1 = upload(&s3, "mp", &id, 1, b"aaaa");
    let err = s3
        .complete_multipart_upload(&complete_req(
            "mp",
            &id,
            vec![p1.clone(), CompletedPart::new(2, p1.etag.clone())],
        ))
        .unwrap_err();
    assert_eq!((err.status, code(&err)), (Some(400), "InvalidPart"));
    let err = s3
        .complete_multipart_upload(&complete_req(
            "mp",
            &id,
            vec![CompletedPart::new(1, "\"deadbeef\"")],
        ))
        .unwrap_err();
    assert_eq!(code(&err), "InvalidPart");
    assert_eq!(err.kind(), S3ErrorKind::Other);
    // The upload stays open after a rejected Complete, as on S3.
    assert_eq!(s3.list_multipart_uploads(B).len(), 1);
}

#[test]
fn complete_accepts_unquoted_etags() {
    let s3 = fake();
    let id = create(&s3, "mp");
    let p1 = upload(&s3, "mp", &id, 1, b"aaaa");
    let bare = CompletedPart::new(1, p1.etag.trim_matches('"'));
    s3.complete_multipart_upload(&complete_req("mp", &id, vec![bare]))
        .unwrap();
}

#[test]
fn complete_rejects_an_empty_part_list() {
    let s3 = fake();
    let id = create(&s3, "mp");
    let err = s3
        .complete_multipart_upload(&complete_req("mp", &id, vec![]))
        .unwrap_err();
    assert_eq!(code(&err), "MalformedXML");
}

#[test]
fn small_non_last_parts_are_entity_too_small_at_the_default_5_mib() {
    let s3 = FakeS3::new();
    s3.create_bucket(B);
    let id = create(&s3, "mp");
    let p1 = upload(&s3, "mp", &id, 1, b"tiny");
    let p2 = upload(&s3, "mp", &id, 2, b"last");
    let err = s3
        .complete_multipart_upload(&complete_req("mp", &id, vec![p1, p2]))
        .unwrap_err();
    assert_eq!((err.status, code(&err)), (Some(400), "EntityTooSmall"));
    assert_eq!(err.kind(), S3ErrorKind::Other);
}

#[test]
fn min_part_size_is_configurable_and_the_last_part_may_be_smaller() {
    let s3 = FakeS3::new().with_min_part_size(3);
    s3.create_bucket(B);
    let id = create(&s3, "mp");
    let p1 = upload(&s3, "mp", &id, 1, b"abc");
    let p2 = upload(&s3, "mp", &id, 2, b"d");
    s3.complete_multipart_upload(&complete_req("mp", &id, vec![p1, p2]))
        .unwrap();

    let id = create(&s3, "mp2");
    let p1 = upload(&s3, "mp2", &id, 1, b"ab");
    let p2 = upload(&s3, "mp2", &id, 2, b"cde");
    let err = s3
        .complete_multipart_upload(&complete_req("mp2", &id, vec![p1, p2]))
        .unwrap_err();
    assert_eq!(code(&err), "EntityTooSmall");
}

#[test]
fn a_single_part_upload_may_be_any_size() {
    let s3 = FakeS3::new();
    s3.create_bucket(B);
    let id = create(&s3, "mp");
    let p1 = upload(&s3, "mp", &id, 1, b"x");
    s3.complete_multipart_upload(&complete_req("mp", &id, vec![p1]))
        .unwrap();
}

#[test]
fn mpu_object_size_must_match_the_parts() {
    let s3 = fake();
    let id = create(&s3, "mp");
    let p1 = upload(&s3, "mp", &id, 1, b"abcd");
    let mut req = complete_req("mp", &id, vec![p1]);
    req.mpu_object_size = Some(5);
    assert_eq!(
        s3.complete_multipart_upload(&req).unwrap_err().status,
        Some(400)
    );
    req.mpu_object_size = Some(4);
    s3.complete_multipart_upload(&req).unwrap();
}

#[test]
fn part_numbers_outside_1_to_10000_are_rejected() {
    let s3 = fake();
    let id = create(&s3, "mp");
    for n in [0, 10_001] {
        let err = s3
            .upload_part(
                &part_req("mp", &id, n),
                &mut RequestBody::new(b"a".to_vec()),
            )
            .unwrap_err();
        assert_eq!(code(&err), "InvalidArgument");
    }
}

#[test]
fn an_upload_id_is_bound_to_its_key() {
    let s3 = fake();
    let id = create(&s3, "mp");
    let err = s3
        .upload_part(
            &part_req("other", &id, 1),
            &mut RequestBody::new(b"a".to_vec()),
        )
        .unwrap_err();
    assert_eq!(code(&err), "NoSuchUpload");
}

#[test]
fn abort_closes_the_upload_and_later_parts_are_no_such_upload() {
    let s3 = fake();
    let id = create(&s3, "mp");
    upload(&s3, "mp", &id, 1, b"aaaa");
    assert_eq!(
        s3.list_multipart_uploads(B),
        vec![("mp".to_owned(), id.clone())]
    );
    s3.abort_multipart_upload(&AbortMultipartUploadRequest {
        bucket: B.into(),
        key: "mp".into(),
        upload_id: id.clone(),
        ..Default::default()
    })
    .unwrap();
    assert!(s3.list_multipart_uploads(B).is_empty());
    let err = s3
        .upload_part(
            &part_req("mp", &id, 2),
            &mut RequestBody::new(b"b".to_vec()),
        )
        .unwrap_err();
    assert_eq!((err.status, code(&err)), (Some(404), "NoSuchUpload"));
    assert_eq!(err.kind(), S3ErrorKind::NotFound);
    let err = s3
        .complete_multipart_upload(&complete_req("mp", &id, vec![]))
        .unwrap_err();
    assert_eq!(code(&err), "NoSuchUpload");
    assert!(s3.object(B, "mp").is_none());
}
