//! Checks that errors are classified as retry logic needs them: what can never succeed
//! is neither retryable nor mistaken for a transient fault.

use super::support::{complete_req, create, create_req, fails, get, get_req, head, put_req};
use super::{Fixture, Outcome};
use crate::client::{CompletedPart, RequestBody, S3Api, S3ErrorKind};

/// A missing bucket is [`S3ErrorKind::NotFound`] on HeadObject, GetObject, PutObject and
/// CreateMultipartUpload; a Complete naming a part never uploaded is a 400 of kind
/// [`S3ErrorKind::Other`]; neither is retryable.
pub fn errors_are_classified(s3: &dyn S3Api, fixture: &Fixture) -> Outcome {
    let absent = &fixture.absent_bucket;
    let key = fixture.key("errors", "object");
    let mut errors = vec![
        fails(
            head(s3, absent, &key),
            S3ErrorKind::NotFound,
            "HeadObject",
            "HeadObject in a missing bucket",
        ),
        fails(
            get(s3, &get_req(absent, &key)),
            S3ErrorKind::NotFound,
            "GetObject",
            "GetObject in a missing bucket",
        ),
        fails(
            s3.put_object(&put_req(absent, &key), &mut RequestBody::new(b"x".to_vec())),
            S3ErrorKind::NotFound,
            "PutObject",
            "PutObject into a missing bucket",
        ),
        fails(
            s3.create_multipart_upload(&create_req(absent, &key)),
            S3ErrorKind::NotFound,
            "CreateMultipartUpload",
            "CreateMultipartUpload in a missing bucket",
        ),
    ];

    let bucket = &fixture.bucket;
    let id = create(s3, bucket, &key);
    let never = CompletedPart::new(1, "\"00000000000000000000000000000000\"");
    let err = fails(
        s3.complete_multipart_upload(&complete_req(bucket, &key, &id, vec![never])),
        S3ErrorKind::Other,
        "CompleteMultipartUpload",
        "CompleteMultipartUpload naming a part never uploaded",
    );
    assert_eq!(
        err.status,
        Some(400),
        "CompleteMultipartUpload naming a part never uploaded: {err}"
    );
    errors.push(err);
    for err in &errors {
        assert!(!err.is_retryable(), "{err} must not be retried");
    }
    let _ = s3.abort_multipart_upload(&crate::client::AbortMultipartUploadRequest {
        bucket: bucket.clone(),
        key,
        upload_id: id,
        ..Default::default()
    });
    Outcome::Passed
}
