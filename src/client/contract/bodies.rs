//! Checks on bodies that break: a response sink or a request body observer that fails
//! must stop the call with its own error (that is how a transfer is cancelled), and
//! leave the backend usable.

use std::sync::Arc;

use super::support::Pulled;
use super::support::{
    REFUSED, abort, create, data, fails, get_req, head, ok, part_req, put, put_req,
};
use super::{Fixture, Outcome};
use crate::client::{RequestBody, S3Api, S3Error, S3ErrorKind};

/// A sink that fails on its first chunk stops the GetObject: the call returns the
/// sink's own error, the sink is not called again, and the backend still answers.
pub fn a_failing_sink_stops_the_get(s3: &dyn S3Api, fixture: &Fixture) -> Outcome {
    let bucket = &fixture.bucket;
    let key = fixture.key("failing-sink", "object");
    let size = 1024 * 1024;
    put(s3, bucket, &key, &data(size, 11));
    let mut calls = 0;
    let mut sink = |_: &[u8]| -> Result<(), S3Error> {
        calls += 1;
        Err(S3Error::new(S3ErrorKind::Cancelled, "GetObject", REFUSED))
    };
    let result = s3.get_object(&get_req(bucket, &key), &mut sink);
    let err = fails(
        result,
        S3ErrorKind::Cancelled,
        "GetObject",
        "GetObject into a failing sink",
    );
    assert_eq!(
        err.message, REFUSED,
        "GetObject must return the sink's own error, got {err}"
    );
    assert_eq!(calls, 1, "the sink was called again after it failed");
    let h = ok(head(s3, bucket, &key), "HeadObject after a failed sink");
    assert_eq!(h.content_length, size as u64);
    Outcome::Passed
}

/// A body observer that refuses the third chunk stops PutObject and UploadPart: each
/// returns the observer's own error, pulls no chunk after it, and stores nothing.
pub fn a_failing_body_observer_stops_the_upload(s3: &dyn S3Api, fixture: &Fixture) -> Outcome {
    let bucket = &fixture.bucket;
    let key = fixture.key("failing-body", "object");
    let body = |observer: &Arc<Pulled>| {
        RequestBody::new(data(1024 * 1024, 12))
            .with_chunk_size(64 * 1024)
            .with_observer(observer.clone())
    };

    let observer = Pulled::refusing_after(2);
    let result = s3.put_object(&put_req(bucket, &key), &mut body(&observer));
    let err = fails(
        result,
        S3ErrorKind::Cancelled,
        "contract",
        "PutObject of a body whose observer refuses",
    );
    assert_eq!(
        err.message, REFUSED,
        "PutObject returns the observer's error"
    );
    assert_eq!(
        observer.chunks(),
        3,
        "PutObject went on pulling the body after its observer refused"
    );
    fails(
        head(s3, bucket, &key),
        S3ErrorKind::NotFound,
        "HeadObject",
        "HeadObject after a refused PutObject",
    );

    let id = create(s3, bucket, &key);
    let observer = Pulled::refusing_after(2);
    let result = s3.upload_part(&part_req(bucket, &key, &id, 1), &mut body(&observer));
    let err = fails(
        result,
        S3ErrorKind::Cancelled,
        "contract",
        "UploadPart of a body whose observer refuses",
    );
    assert_eq!(
        err.message, REFUSED,
        "UploadPart returns the observer's error"
    );
    assert_eq!(
        observer.chunks(),
        3,
        "UploadPart went on pulling the body after its observer refused"
    );
    abort(s3, bucket, &key, &id);
    Outcome::Passed
}
