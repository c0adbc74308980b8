//! Checks on multipart uploads: create, upload (and re-upload) parts, complete, abort,
//! and reading one part back by `partNumber`.

use super::support::{
    abort, complete, complete_req, create, create_req, data, fails, fails_for_good, get, get_req,
    head, head_req, multipart_object, ok, part_req, put, upload_part,
};
use super::{Capability, Fixture, Outcome};
use crate::client::{
    ContentRange, ListMultipartUploadsRequest, ListPartsRequest, RequestBody, S3Api, S3ErrorKind,
};

/// CreateMultipartUpload with a content type and metadata, two parts (the second
/// uploaded twice: the later one wins), CompleteMultipartUpload: the object is the
/// parts joined, its ETag is quoted and ends in `-2`, and it has Create's attributes.
pub fn multipart_upload_round_trips(s3: &dyn S3Api, fixture: &Fixture) -> Outcome {
    let bucket = &fixture.bucket;
    let key = fixture.key("multipart", "object");
    let first = fixture.min_part_size as usize;
    let bytes = data(first + 1000, 4);
    let mut create = create_req(bucket, &key);
    create.attributes.content_type = Some("application/x-contract-mpu".into());
    create
        .attributes
        .metadata
        .insert("made-by".into(), "contract".into());
    let id = ok(s3.create_multipart_upload(&create), "CreateMultipartUpload").upload_id;
    let p1 = upload_part(s3, bucket, &key, &id, 1, &bytes[..first]);
    upload_part(
        s3,
        bucket,
        &key,
        &id,
        2,
        b"replaced by the next upload of part 2",
    );
    let p2 = upload_part(s3, bucket, &key, &id, 2, &bytes[first..]);
    let out = complete(s3, bucket, &key, &id, vec![p1, p2]);
    let etag = out.etag.expect("CompleteMultipartUpload returns the ETag");
    assert!(
        etag.starts_with('"') && etag.ends_with("-2\""),
        "a two-part object's ETag is quoted and ends in -2: {etag}"
    );
    let (got, _) = ok(get(s3, &get_req(bucket, &key)), "GetObject");
    assert!(
        got == bytes,
        "the completed object is not its parts joined (a re-uploaded part must replace \
         the earlier one)"
    );
    let h = ok(head(s3, bucket, &key), "HeadObject");
    assert_eq!(h.content_length, bytes.len() as u64, "HeadObject size");
    assert_eq!(h.etag.as_deref(), Some(etag.as_str()), "HeadObject ETag");
    assert_eq!(
        h.attributes.content_type.as_deref(),
        Some("application/x-contract-mpu"),
        "the content type CreateMultipartUpload set"
    );
    assert_eq!(
        h.attributes.metadata.get("made-by").map(String::as_str),
        Some("contract"),
        "the metadata CreateMultipartUpload set"
    );
    Outcome::Passed
}

/// AbortMultipartUpload ends the upload: a later UploadPart or Complete of it fails
/// with an error that is not retryable (404 NoSuchUpload on S3), and no object appears.
pub fn abort_ends_the_upload(s3: &dyn S3Api, fixture: &Fixture) -> Outcome {
    let bucket = &fixture.bucket;
    let key = fixture.key("abort", "object");
    let id = create(s3, bucket, &key);
    let p1 = upload_part(s3, bucket, &key, &id, 1, &data(100, 5));
    abort(s3, bucket, &key, &id);
    // S3 answers 404 NoSuchUpload; s3s-fs answers 403. Either way the upload is over
    // and asking again will not help, which is what a transfer depends on.
    let late = s3.complete_multipart_upload(&complete_req(bucket, &key, &id, vec![p1]));
    fails_for_good(
        late,
        "CompleteMultipartUpload",
        "CompleteMultipartUpload of an aborted upload",
    );
    // Empty: a store may answer before it reads the body (s3s-fs does), and unread
    // bytes would break the connection the backend reuses for the next call.
    let late = s3.upload_part(&part_req(bucket, &key, &id, 2), &mut RequestBody::empty());
    fails_for_good(late, "UploadPart", "UploadPart into an aborted upload");
    fails(
        head(s3, bucket, &key),
        S3ErrorKind::NotFound,
        "HeadObject",
        "HeadObject of an aborted upload's key",
    );
    Outcome::Passed
}

/// `partNumber` on GetObject and HeadObject answers with that part of a multipart
/// object: its bytes, its place (Content-Range), the parts count and the object's ETag.
/// A part beyond the count is [`S3ErrorKind::InvalidRange`]; part 1 of a single-part
/// object is all of it.
pub fn part_number_reads_return_one_part(s3: &dyn S3Api, fixture: &Fixture) -> Outcome {
    if let Some(skipped) = fixture.lacking(s3, &[Capability::PartNumberReads]) {
        return skipped;
    }
    let bucket = &fixture.bucket;
    let key = fixture.key("part-number", "multipart");
    let first = fixture.min_part_size as usize;
    let (bytes, etag) = multipart_object(s3, bucket, &key, first, 1000);
    let total = bytes.len() as u64;

    let mut request = get_req(bucket, &key);
    request.part_number = Some(2);
    let (got, out) = ok(get(s3, &request), "GetObject partNumber=2");
    assert!(got == bytes[first..], "GetObject partNumber=2: other bytes");
    assert_eq!(out.content_length, 1000, "GetObject partNumber=2: length");
    assert_eq!(
        out.content_range,
        Some(ContentRange {
            start: first as u64,
            end: total - 1,
            total
        }),
        "GetObject partNumber=2: Content-Range"
    );
    assert_eq!(
        out.parts_count,
        Some(2),
        "GetObject partNumber=2: parts count"
    );
    assert_eq!(
        out.etag.as_deref(),
        Some(etag.as_str()),
        "the object's ETag"
    );

    let mut h = head_req(bucket, &key);
    h.part_number = Some(1);
    let out = ok(s3.head_object(&h), "HeadObject partNumber=1");
    assert_eq!(
        (out.content_length, out.parts_count),
        (first as u64, Some(2)),
        "HeadObject partNumber=1: the part's size and the parts count"
    );

    request.part_number = Some(3);
    fails(
        get(s3, &request),
        S3ErrorKind::InvalidRange,
        "GetObject",
        "GetObject partNumber=3 of a two-part object",
    );

    let single = fixture.key("part-number", "single");
    let whole = data(300, 6);
    put(s3, bucket, &single, &whole);
    let mut request = get_req(bucket, &single);
    request.part_number = Some(1);
    let (got, _) = ok(get(s3, &request), "GetObject partNumber=1 of a single PUT");
    assert!(got == whole, "part 1 of a single-part object is all of it");
    Outcome::Passed
}

/// ListParts names every part of an open upload by number and size; pages of
/// `max_parts` chain through the part-number marker; once the upload is aborted,
/// listing it fails with an error that is not retryable (what a resumed upload checks
/// before it trusts its journal).
pub fn list_parts_names_every_part(s3: &dyn S3Api, fixture: &Fixture) -> Outcome {
    let bucket = &fixture.bucket;
    let key = fixture.key("list-parts", "object");
    let id = create(s3, bucket, &key);
    let sizes = [300u64, 200, 100];
    for (i, size) in sizes.iter().enumerate() {
        upload_part(
            s3,
            bucket,
            &key,
            &id,
            i as u32 + 1,
            &data(*size as usize, 60 + i as u64),
        );
    }
    let mut request = list_parts_req(bucket, &key, &id);
    let all = ok(s3.list_parts(&request), "ListParts");
    assert_eq!(
        all.next_part_number_marker, None,
        "ListParts of 3 parts: one page"
    );
    // In number order on S3; a resumed upload sorts them anyway (s3s-fs lists them in
    // directory order), so the check asks for the set.
    let mut listed: Vec<(u32, u64)> = all.parts.iter().map(|p| (p.part_number, p.size)).collect();
    listed.sort_unstable();
    assert_eq!(
        listed,
        [(1, 300), (2, 200), (3, 100)],
        "ListParts: numbers and sizes"
    );

    // Pages of two chain through the marker to every part, each once. (A store may
    // send more than max_parts, as s3s-fs does: a caller follows markers either way.)
    request.max_parts = Some(2);
    let mut numbers = Vec::new();
    for page in 1.. {
        let out = ok(
            s3.list_parts(&request),
            &format!("ListParts max_parts 2, page {page}"),
        );
        numbers.extend(out.parts.iter().map(|p| p.part_number));
        match out.next_part_number_marker {
            Some(marker) => request.part_number_marker = Some(marker),
            None => break,
        }
        assert!(
            page < 10,
            "ListParts max_parts 2 of 3 parts: more than 10 pages"
        );
    }
    numbers.sort_unstable();
    assert_eq!(
        numbers,
        [1, 2, 3],
        "ListParts max_parts 2: the pages name every part once"
    );

    abort(s3, bucket, &key, &id);
    request.part_number_marker = None;
    // S3 answers NoSuchUpload; s3s-fs answers with an empty list. Either way nothing
    // of the upload is left to trust, which is what a resumed upload relies on.
    match s3.list_parts(&request) {
        Ok(out) => assert!(
            out.parts.is_empty(),
            "ListParts of an aborted upload still lists {} parts",
            out.parts.len()
        ),
        Err(e) => {
            fails_for_good::<()>(Err(e), "ListParts", "ListParts of an aborted upload");
        }
    }
    Outcome::Passed
}

/// ListParts names each part with the ETag UploadPart returned for it; a part uploaded
/// again is listed once, with its new ETag (so a resumed upload can tell the part the
/// store will assemble).
pub fn list_parts_shows_each_parts_current_etag(s3: &dyn S3Api, fixture: &Fixture) -> Outcome {
    if let Some(skipped) = fixture.lacking(
        s3,
        &[
            Capability::PartEtagsInListings,
            Capability::ReuploadedPartsListedOnce,
        ],
    ) {
        return skipped;
    }
    let bucket = &fixture.bucket;
    let key = fixture.key("list-parts-etags", "object");
    let id = create(s3, bucket, &key);
    let mut etags: Vec<String> = (0..3u32)
        .map(|i| upload_part(s3, bucket, &key, &id, i + 1, &data(100, 80 + u64::from(i))).etag)
        .collect();
    etags[1] = upload_part(s3, bucket, &key, &id, 2, &data(150, 90)).etag;
    let all = ok(
        s3.list_parts(&list_parts_req(bucket, &key, &id)),
        "ListParts",
    );
    let listed: Vec<(u32, u64, Option<String>)> = all
        .parts
        .iter()
        .map(|p| {
            (
                p.part_number,
                p.size,
                p.etag.as_deref().map(|e| e.trim_matches('"').to_owned()),
            )
        })
        .collect();
    let expected: Vec<(u32, u64, Option<String>)> = [(1, 100), (2, 150), (3, 100)]
        .into_iter()
        .zip(&etags)
        .map(|((n, size), etag)| (n, size, Some(etag.trim_matches('"').to_owned())))
        .collect();
    assert_eq!(
        listed, expected,
        "ListParts after part 2 was uploaded again"
    );
    abort(s3, bucket, &key, &id);
    Outcome::Passed
}

/// ListMultipartUploads names every upload open under a prefix, with its key and id;
/// an aborted upload is listed no more (what `s3transfer uploads ls` and `uploads abort` rely on).
pub fn list_multipart_uploads_names_the_open_uploads(s3: &dyn S3Api, fixture: &Fixture) -> Outcome {
    if let Some(skipped) = fixture.lacking(s3, &[Capability::UploadListings]) {
        return skipped;
    }
    let bucket = &fixture.bucket;
    let prefix = fixture.key("list-uploads", "");
    let (a, b) = (format!("{prefix}a"), format!("{prefix}b"));
    let mut open = vec![
        (a.clone(), create(s3, bucket, &a)),
        (b.clone(), create(s3, bucket, &b)),
    ];
    open.sort();
    let request = ListMultipartUploadsRequest {
        bucket: bucket.clone(),
        prefix: Some(prefix.clone()),
        ..Default::default()
    };
    let listed = |request: &ListMultipartUploadsRequest| {
        let mut all = Vec::new();
        let mut request = request.clone();
        for page in 1.. {
            let out = ok(s3.list_multipart_uploads(&request), "ListMultipartUploads");
            all.extend(out.uploads.into_iter().map(|u| (u.key, u.upload_id)));
            match out.next_key_marker {
                Some(marker) => {
                    request.key_marker = Some(marker);
                    request.upload_id_marker = out.next_upload_id_marker;
                }
                None => break,
            }
            assert!(
                page < 10,
                "ListMultipartUploads of 2 uploads: more than 10 pages"
            );
        }
        all.sort();
        all
    };
    assert_eq!(
        listed(&request),
        open,
        "ListMultipartUploads under the prefix"
    );
    // Not checked: pages of `max_uploads` (SeaweedFS 4.48 answers `max-uploads=1` with
    // a page that leaves an upload out); `s3transfer uploads` asks for S3's 1,000 a
    // page and follows the markers.
    abort(s3, bucket, &a, &open[0].1);
    assert_eq!(
        listed(&request),
        open[1..],
        "ListMultipartUploads after an abort"
    );
    abort(s3, bucket, &b, &open[1].1);
    Outcome::Passed
}

fn list_parts_req(bucket: &str, key: &str, upload_id: &str) -> ListPartsRequest {
    ListPartsRequest {
        bucket: bucket.to_owned(),
        key: key.to_owned(),
        upload_id: upload_id.to_owned(),
        ..Default::default()
    }
}
