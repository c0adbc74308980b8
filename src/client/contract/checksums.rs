//! Checks on flexible checksums: values sent with a body are checked by the store, a
//! stored value comes back with `checksum_mode`, and a part's own value comes back on
//! a `partNumber` read.

use super::support::{
    abort, complete_req, create_req, data, get, get_req, head_req, ok, part_req, put_req,
};
use super::{Capability, Fixture, Outcome};
use crate::checksum::checksum;
use crate::client::{ChecksumAlgorithm, CompletedPart, RequestBody, S3Api, S3Error, S3ErrorKind};

/// The error must be the store's 400 `BadDigest`, which proves the value reached it.
fn assert_bad_digest<T: std::fmt::Debug>(result: Result<T, S3Error>, what: &str) {
    let err = match result {
        Ok(value) => panic!("{what}: a wrong checksum was accepted: {value:?}"),
        Err(err) => err,
    };
    assert_eq!(
        (err.status, err.code.as_deref(), err.kind()),
        (Some(400), Some("BadDigest"), S3ErrorKind::Other),
        "{what}: expected 400 BadDigest, got {err}"
    );
}

/// A PutObject checksum value that matches the body is accepted; one that does not is
/// refused by the store with 400 `BadDigest`.
pub fn sent_checksums_are_validated(s3: &dyn S3Api, fixture: &Fixture) -> Outcome {
    if let Some(skipped) = fixture.lacking(s3, &[Capability::ChecksumValidation]) {
        return skipped;
    }
    let bucket = &fixture.bucket;
    let bytes = data(10_000, 21);
    let algorithm = ChecksumAlgorithm::Crc32c;
    let right = checksum(algorithm, &bytes).to_base64();
    let wrong = checksum(algorithm, b"other bytes").to_base64();

    let mut request = put_req(bucket, &fixture.key("checksums-sent", "right"));
    request.checksum_algorithm = Some(algorithm);
    request.checksums.crc32c = Some(right);
    ok(
        s3.put_object(&request, &mut RequestBody::new(bytes.clone())),
        "PutObject with the body's CRC32C",
    );
    request.key = fixture.key("checksums-sent", "wrong");
    request.checksums.crc32c = Some(wrong.clone());
    assert_bad_digest(
        s3.put_object(&request, &mut RequestBody::new(bytes.clone())),
        "PutObject with another body's CRC32C",
    );

    Outcome::Passed
}

/// An UploadPart checksum value that does not match the part is refused by the store
/// with 400 `BadDigest`.
pub fn sent_part_checksums_are_validated(s3: &dyn S3Api, fixture: &Fixture) -> Outcome {
    let needs = [Capability::PartChecksumValidation];
    if let Some(skipped) = fixture.lacking(s3, &needs) {
        return skipped;
    }
    let bucket = &fixture.bucket;
    let bytes = data(10_000, 24);
    let algorithm = ChecksumAlgorithm::Crc32c;
    let wrong = checksum(algorithm, b"other bytes").to_base64();
    let key = fixture.key("checksums-sent", "parts");
    let id = ok(
        s3.create_multipart_upload(&create_req(bucket, &key)),
        "CreateMultipartUpload",
    )
    .upload_id;
    let mut part = part_req(bucket, &key, &id, 1);
    part.checksum_algorithm = Some(algorithm);
    part.checksums.crc32c = Some(wrong);
    assert_bad_digest(
        s3.upload_part(&part, &mut RequestBody::new(bytes)),
        "UploadPart with another body's CRC32C",
    );
    abort(s3, bucket, &key, &id);
    Outcome::Passed
}

/// The CRC32C a PutObject carried comes back, unchanged, from HeadObject and GetObject
/// with `checksum_mode`.
pub fn stored_checksums_come_back_with_checksum_mode(s3: &dyn S3Api, fixture: &Fixture) -> Outcome {
    if let Some(skipped) = fixture.lacking(s3, &[Capability::StoredChecksums]) {
        return skipped;
    }
    let bucket = &fixture.bucket;
    let key = fixture.key("checksums-stored", "object");
    let bytes = data(5000, 22);
    let value = checksum(ChecksumAlgorithm::Crc32c, &bytes).to_base64();
    let mut request = put_req(bucket, &key);
    request.checksum_algorithm = Some(ChecksumAlgorithm::Crc32c);
    request.checksums.crc32c = Some(value.clone());
    ok(
        s3.put_object(&request, &mut RequestBody::new(bytes)),
        "PutObject with a CRC32C",
    );
    let mut h = head_req(bucket, &key);
    h.checksum_mode = true;
    let out = ok(s3.head_object(&h), "HeadObject with checksum mode");
    assert_eq!(
        out.checksums.crc32c.as_deref(),
        Some(value.as_str()),
        "HeadObject with checksum mode returns the stored CRC32C"
    );
    let mut g = get_req(bucket, &key);
    g.checksum_mode = true;
    let (_, out) = ok(get(s3, &g), "GetObject with checksum mode");
    assert_eq!(
        out.checksums.crc32c.as_deref(),
        Some(value.as_str()),
        "GetObject with checksum mode returns the stored CRC32C"
    );
    Outcome::Passed
}

/// A multipart upload whose parts carry CRC32C values: a `partNumber` HeadObject or
/// GetObject with `checksum_mode` returns that part's own value (what a download checks
/// each part against).
pub fn part_checksums_come_back_on_part_number_reads(s3: &dyn S3Api, fixture: &Fixture) -> Outcome {
    let needs = [Capability::PartNumberReads, Capability::PartChecksumReads];
    if let Some(skipped) = fixture.lacking(s3, &needs) {
        return skipped;
    }
    let bucket = &fixture.bucket;
    let key = fixture.key("checksums-parts", "object");
    let algorithm = ChecksumAlgorithm::Crc32c;
    let first = fixture.min_part_size as usize;
    let bytes = data(first + 1000, 23);
    let mut create = create_req(bucket, &key);
    create.checksum_algorithm = Some(algorithm);
    let id = ok(
        s3.create_multipart_upload(&create),
        "CreateMultipartUpload with CRC32C",
    )
    .upload_id;
    let mut parts = Vec::new();
    let mut values = Vec::new();
    for (n, chunk) in [(1, &bytes[..first]), (2, &bytes[first..])] {
        let value = checksum(algorithm, chunk).to_base64();
        let mut request = part_req(bucket, &key, &id, n);
        request.checksum_algorithm = Some(algorithm);
        request.checksums.crc32c = Some(value.clone());
        let out = ok(
            s3.upload_part(&request, &mut RequestBody::new(chunk.to_vec())),
            &format!("UploadPart {n} with its CRC32C"),
        );
        let mut part = CompletedPart::new(n, out.etag.expect("UploadPart returns the ETag"));
        part.checksums.crc32c = Some(value.clone());
        parts.push(part);
        values.push(value);
    }
    ok(
        s3.complete_multipart_upload(&complete_req(bucket, &key, &id, parts)),
        "CompleteMultipartUpload with part checksums",
    );
    let mut h = head_req(bucket, &key);
    h.checksum_mode = true;
    h.part_number = Some(1);
    let out = ok(
        s3.head_object(&h),
        "HeadObject partNumber=1 with checksum mode",
    );
    assert_eq!(
        out.checksums.crc32c.as_deref(),
        Some(values[0].as_str()),
        "HeadObject partNumber=1 returns part 1's CRC32C"
    );
    let mut g = get_req(bucket, &key);
    g.checksum_mode = true;
    g.part_number = Some(2);
    let (_, out) = ok(get(s3, &g), "GetObject partNumber=2 with checksum mode");
    assert_eq!(
        out.checksums.crc32c.as_deref(),
        Some(values[1].as_str()),
        "GetObject partNumber=2 returns part 2's CRC32C"
    );
    Outcome::Passed
}
