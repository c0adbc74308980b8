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
//! What it does not model: ETags are MD5s even under SSE-C or SSE-KMS (S3's are not
//! there); `Content-MD5` is
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

pub mod contract {
    //! A contract suite for [`S3Api`](crate::S3Api) backends: one check per behaviour
    //! the transfer engine relies on (round trips, ranges, not-found and precondition
    //! errors, multipart uploads and aborts, `partNumber` reads, copies, deletes,
    //! checksums, bodies that break, awkward keys, versions), run against your backend
    //! and a store it talks to.
    //!
    //! Each check is a function taking the backend and a [`Fixture`]: the bucket to
    //! write in, and which optional behaviours ([`Capability`]) the store has. It panics
    //! with a message naming what broke, or returns an [`Outcome`]: passed, or skipped
    //! because the store lacks a capability. [`run_all`] runs every check in
    //! [`CHECKS`] and returns a [`Report`] that lists the skipped ones, so a test can
    //! assert that nothing it expects to run was skipped.
    //!
    //! # Running it on your own backend
    //!
    //! Create a bucket on the store (the checks write keys under
    //! `s3transfer-contract/`), describe what the store cannot do, and run the suite
    //! from a test. With the in-memory fake, which models everything:
    //!
    //! ```
    //! use s3transfer::testing::FakeS3;
    //! use s3transfer::testing::contract::{self, Capability, Fixture};
    //!
    //! let s3 = FakeS3::new().with_min_part_size(1024);
    //! s3.create_bucket("contract");
    //! s3.create_versioned_bucket("contract-versions");
    //! let fixture = Fixture::new("contract")
    //!     // The first part of each multipart upload; 5 MiB (S3's minimum) by default.
    //!     .with_min_part_size(1024)
    //!     .with_versioned_bucket("contract-versions");
    //! let report = contract::run_all(&s3, &fixture);
    //! assert!(report.skipped.is_empty(), "{report}");
    //!
    //! // A store that ignores If-Match: the checks that need it are skipped, by name.
    //! let report = contract::run_all(&s3, &fixture.without(Capability::IfMatch));
    //! assert_eq!(report.skipped_checks(), ["if_match_is_enforced"]);
    //! ```
    //!
    //! A backend for a real store runs the same way, against a bucket made for the test;
    //! to get one `#[test]` per check instead, loop over [`CHECKS`] or call the check
    //! functions one by one.
    pub use crate::client::contract::*;
}
