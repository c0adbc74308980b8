//! An in-memory fake S3 ([`FakeS3`]) to put under code built on s3transfer in unit tests,
//! with call recording and fault injection.
//!
//! [`FakeS3`] implements [`S3Api`](crate::S3Api) and follows AWS S3 wherever a transfer
//! engine depends on it: inclusive and open-ended ranges, `If-Match` and copy-source
//! preconditions, `partNumber` reads, multipart rules (ascending parts, matching ETags,
//! a minimum part size), SSE-C keys, stored checksums, versioned buckets and S3's error
//! codes and statuses, all classified through
//! [`S3Error::from_response`](crate::S3Error::from_response) as a real backend would.
//!
//! Faults are injected per [`Operation`]: fail the n-th call, fail every call, throttle,
//! cut a GetObject body short, delay, or decide per call with a hook. Every call is
//! recorded as a [`RecordedCall`] so a test can assert what was sent.
//!
//! Flexible checksums are verified like S3 does: a PutObject or UploadPart value that
//! does not match the body, or a FULL_OBJECT value on CompleteMultipartUpload that does
//! not match the assembled object, is refused with 400 `BadDigest`; an algorithm sent
//! without a value gets the value computed. They come back on HeadObject and whole
//! GETs with `checksum_mode` (a ranged GET gets none, as on S3); a `partNumber` GET or
//! HEAD of a multipart object gets that part's own checksum. A composite upload (an
//! algorithm announced on Create, not FULL_OBJECT) gets its `<checksum of the part
//! checksums>-N` value computed on Complete, as S3 does.
//!
//! What it does not model: ETags are not MD5s (see [`FakeS3`]); `Content-MD5` is
//! stored but never verified, nor are composite (`-N`) values; the request context
//! (request payer, expected bucket owner) is recorded but not checked; and there are
//! no object or part size limits besides the minimum part size.
//!
//! # Example
//!
//! ```
//! use s3transfer::testing::{FakeS3, InjectedError, Operation, RecordedCall};
//! use s3transfer::client::GetObjectRequest;
//! use s3transfer::{S3Api, S3ErrorKind};
//!
//! let s3 = FakeS3::new();
//! s3.put_object_bytes("bucket", "photos/cat.jpg", b"meow".to_vec());
//!
//! // The first GET fails as if S3 had an internal error; the second succeeds.
//! s3.fail_nth(Operation::GetObject, 1, InjectedError::internal_error());
//!
//! let mut request = GetObjectRequest::default();
//! request.bucket = "bucket".into();
//! request.key = "photos/cat.jpg".into();
//! let mut body = Vec::new();
//! let err = s3.get_object(&request, &mut body).unwrap_err();
//! assert_eq!(err.kind(), S3ErrorKind::Transient);
//! assert!(err.is_retryable());
//!
//! let out = s3.get_object(&request, &mut body).unwrap();
//! assert_eq!(body, b"meow");
//! assert_eq!(out.bytes_received, 4);
//!
//! // Both attempts were recorded, with the request as sent.
//! assert_eq!(s3.count(Operation::GetObject), 2);
//! match &s3.calls()[1] {
//!     RecordedCall::GetObject(req) => assert!(req.range.is_none()),
//!     other => panic!("unexpected call {other:?}"),
//! }
//! ```

pub use crate::client::fake::{
    FakeObject, FakePart, FakeS3, InjectedError, Operation, RecordedCall,
};
