//! Checks that errors are classified as retry logic needs them: what can never succeed
//! is neither retryable nor mistaken for a transient fault.

use super::support::{fails, get, get_req, head};
use super::{Fixture, Outcome};
use crate::client::{S3Api, S3ErrorKind};

/// A missing bucket is [`S3ErrorKind::NotFound`] on HeadObject and GetObject, and not
/// retryable. Writes into a missing bucket are not checked (s3s-fs creates the bucket),
/// nor is a Complete naming a part never uploaded (S3's 400 InvalidPart; s3s-fs answers
/// 500, which a backend rightly classifies as transient).
pub fn errors_are_classified(s3: &dyn S3Api, fixture: &Fixture) -> Outcome {
    let absent = &fixture.absent_bucket;
    let key = fixture.key("errors", "object");
    let errors = [
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
    ];
    for err in &errors {
        assert_eq!(err.status, Some(404), "{err}: status");
        assert!(!err.is_retryable(), "{err} must not be retried");
    }
    Outcome::Passed
}
