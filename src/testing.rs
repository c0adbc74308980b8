//! An in-memory fake S3 ([`FakeS3`]) to put under code built on s3transfer in unit tests,
//! with call recording and fault injection.
//!
//! [`FakeS3`] implements [`S3Api`] and follows AWS S3 wherever a transfer engine depends
//! on it: inclusive and open-ended ranges, `If-Match` and copy-source preconditions,
//! `partNumber` reads, multipart rules (ascending parts, matching ETags, a minimum part
//! size), SSE-C keys, stored checksums, versioned buckets and S3's error codes and
//! statuses, all classified through [`S3Error::from_response`] as a real backend would.
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
//! use s3transfer::client::{GetObjectRequest, S3Api, S3ErrorKind};
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

// S3Error is the error type of the S3Api seam, so its size is not this module's to
// change; every helper here returns it to pass it straight through.
#![allow(clippy::result_large_err)]

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use parking_lot::Mutex;

use crate::client::{
    AbortMultipartUploadRequest, ByteRange, ChecksumAlgorithm, Checksums,
    CompleteMultipartUploadOutput, CompleteMultipartUploadRequest, ContentRange, CopyObjectOutput,
    CopyObjectRequest, CopySourceConditions, CreateMultipartUploadOutput,
    CreateMultipartUploadRequest, DeleteObjectOutput, DeleteObjectRequest, GetObjectOutput,
    GetObjectRequest, HeadObjectOutput, HeadObjectRequest, ObjectAttributes, PutObjectOutput,
    PutObjectRequest, RequestBody, ResponseSink, S3Api, S3Error, S3ErrorKind, SseCustomerKey,
    UploadPartCopyOutput, UploadPartCopyRequest, UploadPartOutput, UploadPartRequest,
};

/// S3's minimum size of every part but the last.
const DEFAULT_MIN_PART_SIZE: u64 = 5 * 1024 * 1024;
/// S3's highest part number.
const MAX_PART_NUMBER: u32 = 10_000;
/// Chunk size GetObject bodies are delivered in unless configured.
const DEFAULT_GET_CHUNK: usize = 64 * 1024;
/// 2024-01-01T00:00:00Z: the fake clock starts here and ticks one second per write, so
/// Last-Modified dates are valid, distinct and ordered.
const CLOCK_BASE_SECS: u64 = 1_704_067_200;

// ---------------------------------------------------------------------------------------
// Operations and recorded calls
// ---------------------------------------------------------------------------------------

/// One of the S3 operations of [`S3Api`], to target faults and filter recorded calls.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Operation {
    /// [`S3Api::head_object`].
    HeadObject,
    /// [`S3Api::get_object`].
    GetObject,
    /// [`S3Api::put_object`].
    PutObject,
    /// [`S3Api::create_multipart_upload`].
    CreateMultipartUpload,
    /// [`S3Api::upload_part`].
    UploadPart,
    /// [`S3Api::complete_multipart_upload`].
    CompleteMultipartUpload,
    /// [`S3Api::abort_multipart_upload`].
    AbortMultipartUpload,
    /// [`S3Api::copy_object`].
    CopyObject,
    /// [`S3Api::upload_part_copy`].
    UploadPartCopy,
    /// [`S3Api::delete_object`].
    DeleteObject,
}

impl Operation {
    /// Every operation.
    pub const ALL: [Operation; 10] = [
        Operation::HeadObject,
        Operation::GetObject,
        Operation::PutObject,
        Operation::CreateMultipartUpload,
        Operation::UploadPart,
        Operation::CompleteMultipartUpload,
        Operation::AbortMultipartUpload,
        Operation::CopyObject,
        Operation::UploadPartCopy,
        Operation::DeleteObject,
    ];

    /// The name as in the S3 API reference and [`S3Error::operation`] (`"UploadPart"`).
    pub fn as_str(self) -> &'static str {
        match self {
            Operation::HeadObject => "HeadObject",
            Operation::GetObject => "GetObject",
            Operation::PutObject => "PutObject",
            Operation::CreateMultipartUpload => "CreateMultipartUpload",
            Operation::UploadPart => "UploadPart",
            Operation::CompleteMultipartUpload => "CompleteMultipartUpload",
            Operation::AbortMultipartUpload => "AbortMultipartUpload",
            Operation::CopyObject => "CopyObject",
            Operation::UploadPartCopy => "UploadPartCopy",
            Operation::DeleteObject => "DeleteObject",
        }
    }
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One call made to the fake, with a copy of its request, in the order calls arrived.
///
/// Calls are recorded on arrival, before any fault applies, so failed attempts and
/// retries all show up.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum RecordedCall {
    /// A HeadObject call.
    HeadObject(HeadObjectRequest),
    /// A GetObject call.
    GetObject(GetObjectRequest),
    /// A PutObject call.
    PutObject {
        /// The request.
        request: PutObjectRequest,
        /// The body's length ([`RequestBody::len`]).
        body_len: u64,
    },
    /// A CreateMultipartUpload call.
    CreateMultipartUpload(CreateMultipartUploadRequest),
    /// An UploadPart call.
    UploadPart {
        /// The request.
        request: UploadPartRequest,
        /// The body's length ([`RequestBody::len`]).
        body_len: u64,
    },
    /// A CompleteMultipartUpload call.
    CompleteMultipartUpload(CompleteMultipartUploadRequest),
    /// An AbortMultipartUpload call.
    AbortMultipartUpload(AbortMultipartUploadRequest),
    /// A CopyObject call.
    CopyObject(CopyObjectRequest),
    /// An UploadPartCopy call.
    UploadPartCopy(UploadPartCopyRequest),
    /// A DeleteObject call.
    DeleteObject(DeleteObjectRequest),
}

impl RecordedCall {
    /// Which operation this call was.
    pub fn operation(&self) -> Operation {
        match self {
            RecordedCall::HeadObject(_) => Operation::HeadObject,
            RecordedCall::GetObject(_) => Operation::GetObject,
            RecordedCall::PutObject { .. } => Operation::PutObject,
            RecordedCall::CreateMultipartUpload(_) => Operation::CreateMultipartUpload,
            RecordedCall::UploadPart { .. } => Operation::UploadPart,
            RecordedCall::CompleteMultipartUpload(_) => Operation::CompleteMultipartUpload,
            RecordedCall::AbortMultipartUpload(_) => Operation::AbortMultipartUpload,
            RecordedCall::CopyObject(_) => Operation::CopyObject,
            RecordedCall::UploadPartCopy(_) => Operation::UploadPartCopy,
            RecordedCall::DeleteObject(_) => Operation::DeleteObject,
        }
    }

    /// The bucket the request named (the destination for copies).
    pub fn bucket(&self) -> &str {
        match self {
            RecordedCall::HeadObject(r) => &r.bucket,
            RecordedCall::GetObject(r) => &r.bucket,
            RecordedCall::PutObject { request, .. } => &request.bucket,
            RecordedCall::CreateMultipartUpload(r) => &r.bucket,
            RecordedCall::UploadPart { request, .. } => &request.bucket,
            RecordedCall::CompleteMultipartUpload(r) => &r.bucket,
            RecordedCall::AbortMultipartUpload(r) => &r.bucket,
            RecordedCall::CopyObject(r) => &r.bucket,
            RecordedCall::UploadPartCopy(r) => &r.bucket,
            RecordedCall::DeleteObject(r) => &r.bucket,
        }
    }

    /// The key the request named (the destination for copies).
    pub fn key(&self) -> &str {
        match self {
            RecordedCall::HeadObject(r) => &r.key,
            RecordedCall::GetObject(r) => &r.key,
            RecordedCall::PutObject { request, .. } => &request.key,
            RecordedCall::CreateMultipartUpload(r) => &r.key,
            RecordedCall::UploadPart { request, .. } => &request.key,
            RecordedCall::CompleteMultipartUpload(r) => &r.key,
            RecordedCall::AbortMultipartUpload(r) => &r.key,
            RecordedCall::CopyObject(r) => &r.key,
            RecordedCall::UploadPartCopy(r) => &r.key,
            RecordedCall::DeleteObject(r) => &r.key,
        }
    }
}

// ---------------------------------------------------------------------------------------
// Injected errors
// ---------------------------------------------------------------------------------------

/// The error an injected fault answers with: an HTTP status and S3 code (classified like
/// a real response), or a transport failure of a given kind with no response at all.
///
/// It is a description rather than an [`S3Error`] because one fault can fire many
/// times and each call needs its own error naming its own operation and object.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InjectedError {
    status: Option<u16>,
    code: Option<String>,
    message: String,
    kind: Option<S3ErrorKind>,
}

impl InjectedError {
    /// An S3 error response: `status` with `<Code>code</Code>`, classified by
    /// [`S3ErrorKind::classify`] (`InjectedError::new(200, "InternalError")` is the
    /// "error inside a 200" S3 sends for Complete and copies).
    pub fn new(status: u16, code: impl Into<String>) -> Self {
        InjectedError {
            status: Some(status),
            code: Some(code.into()),
            message: "injected fault".to_owned(),
            kind: None,
        }
    }

    /// A failure with no response (a reset connection, a client timeout), of `kind`.
    pub fn transport(kind: S3ErrorKind, message: impl Into<String>) -> Self {
        InjectedError {
            status: None,
            code: None,
            message: message.into(),
            kind: Some(kind),
        }
    }

    /// Replace the error message.
    pub fn with_message(mut self, message: impl Into<String>) -> Self {
        self.message = message.into();
        self
    }

    /// 500 InternalError (transient).
    pub fn internal_error() -> Self {
        InjectedError::new(500, "InternalError")
    }

    /// 503 SlowDown (throttled).
    pub fn slow_down() -> Self {
        InjectedError::new(503, "SlowDown").with_message("Please reduce your request rate.")
    }

    /// 403 AccessDenied.
    pub fn access_denied() -> Self {
        InjectedError::new(403, "AccessDenied").with_message("Access Denied")
    }

    /// 404 NoSuchKey.
    pub fn no_such_key() -> Self {
        InjectedError::new(404, "NoSuchKey").with_message("The specified key does not exist.")
    }

    /// 412 PreconditionFailed, as when the object changed under the transfer.
    pub fn precondition_failed() -> Self {
        InjectedError::new(412, "PreconditionFailed")
            .with_message("At least one of the pre-conditions you specified did not hold")
    }

    /// A client-side timeout ([`S3ErrorKind::Timeout`]).
    pub fn timeout() -> Self {
        InjectedError::transport(S3ErrorKind::Timeout, "injected timeout")
    }

    /// A connection reset ([`S3ErrorKind::Transient`]).
    pub fn connection_reset() -> Self {
        InjectedError::transport(S3ErrorKind::Transient, "connection reset by peer")
    }

    /// The [`S3Error`] this fault produces for a call of `operation` on `bucket`/`key`;
    /// also handy inside an [`FakeS3::on_call`] hook.
    pub fn to_s3_error(&self, operation: Operation, bucket: &str, key: &str) -> S3Error {
        let mut err = S3Error::from_response(
            operation.as_str(),
            self.status,
            self.code.clone(),
            self.message.clone(),
        )
        .with_object(bucket, key);
        if let Some(kind) = self.kind {
            err.kind = kind;
        }
        err
    }
}

// ---------------------------------------------------------------------------------------
// Stored objects
// ---------------------------------------------------------------------------------------

/// One part of an object made by CompleteMultipartUpload.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct FakePart {
    /// Size in bytes.
    pub size: u64,
    /// The part's ETag, quoted.
    pub etag: String,
    /// Checksums the UploadPart request carried.
    pub checksums: Checksums,
}

/// A stored object (one version of it), as [`FakeS3::object`] returns it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct FakeObject {
    /// The content.
    pub data: Bytes,
    /// ETag, quoted; multipart objects' end in `-N`.
    pub etag: String,
    /// `Last-Modified`, an HTTP date from the fake clock.
    pub last_modified: String,
    /// Version id, in versioned buckets only.
    pub version_id: Option<String>,
    /// Properties set by PutObject, CreateMultipartUpload or CopyObject.
    pub attributes: ObjectAttributes,
    /// Checksums the creating request carried, returned with `checksum_mode`.
    pub checksums: Checksums,
    /// The SSE-C key the object was written with: reads must present the same key.
    pub sse_customer: Option<SseCustomerKey>,
    /// The parts of a multipart object, in order; empty otherwise.
    pub parts: Vec<FakePart>,
}

impl FakeObject {
    /// The content as a slice.
    pub fn bytes(&self) -> &[u8] {
        &self.data
    }

    /// User metadata (`x-amz-meta-*`, without the prefix).
    pub fn metadata(&self) -> &BTreeMap<String, String> {
        &self.attributes.metadata
    }

    /// Whether CompleteMultipartUpload made this object.
    pub fn is_multipart(&self) -> bool {
        !self.parts.is_empty()
    }

    /// `x-amz-mp-parts-count` for a multipart object.
    pub fn parts_count(&self) -> Option<u32> {
        self.is_multipart().then_some(self.parts.len() as u32)
    }

    fn new(data: Bytes) -> Self {
        FakeObject {
            etag: content_etag(&data),
            data,
            last_modified: String::new(),
            version_id: None,
            attributes: ObjectAttributes::default(),
            checksums: Checksums::default(),
            sse_customer: None,
            parts: Vec::new(),
        }
    }
}

/// One entry in a key's history; `object: None` is a delete marker.
#[derive(Clone, Debug)]
struct Entry {
    version_id: Option<String>,
    object: Option<FakeObject>,
}

#[derive(Debug, Default)]
struct Bucket {
    versioned: bool,
    /// Oldest entry first. Unversioned buckets keep at most one entry per key.
    keys: BTreeMap<String, Vec<Entry>>,
}

#[derive(Clone, Debug)]
struct StoredPart {
    data: Bytes,
    etag: String,
    checksums: Checksums,
}

#[derive(Debug)]
struct Upload {
    bucket: String,
    key: String,
    attributes: ObjectAttributes,
    sse_customer: Option<SseCustomerKey>,
    checksum_algorithm: Option<ChecksumAlgorithm>,
    checksum_type: Option<String>,
    parts: BTreeMap<u32, StoredPart>,
}

// ---------------------------------------------------------------------------------------
// Faults
// ---------------------------------------------------------------------------------------

#[derive(Debug)]
enum Fault {
    Nth {
        op: Operation,
        n: u64,
        seen: u64,
        error: InjectedError,
    },
    Always {
        op: Operation,
        error: InjectedError,
    },
    Throttle {
        op: Operation,
        remaining: usize,
    },
    Truncate {
        after: u64,
        remaining: usize,
    },
    Delay {
        op: Operation,
        duration: Duration,
    },
}

impl Fault {
    fn spent(&self) -> bool {
        match self {
            Fault::Nth { n, seen, .. } => seen >= n,
            Fault::Throttle { remaining, .. } | Fault::Truncate { remaining, .. } => {
                *remaining == 0
            }
            Fault::Always { .. } | Fault::Delay { .. } => false,
        }
    }
}

type Hook = Arc<dyn Fn(&RecordedCall) -> Option<S3Error> + Send + Sync>;

/// What faults decided for one call, computed under the lock and acted on outside it.
struct Admission {
    error: Option<InjectedError>,
    delay: Duration,
    truncate_after: Option<u64>,
    hooks: Vec<Hook>,
}

// ---------------------------------------------------------------------------------------
// The fake
// ---------------------------------------------------------------------------------------

struct State {
    buckets: BTreeMap<String, Bucket>,
    uploads: BTreeMap<String, Upload>,
    calls: Vec<RecordedCall>,
    faults: Vec<Fault>,
    hooks: Vec<Hook>,
    /// Seconds since [`CLOCK_BASE_SECS`]; advanced by every write.
    clock: u64,
    /// Source of upload and version ids.
    next_id: u64,
    min_part_size: u64,
    get_chunk_size: usize,
}

/// An in-memory S3 implementing [`S3Api`], with call recording and fault injection.
///
/// Cloning gives another handle to the same store, so a test can keep one handle while
/// the code under test owns another (as an `Arc<dyn S3Api>`, say). All methods may be
/// called from any thread.
///
/// ETags are opaque, as S3 says they are: a quoted 128-bit FNV-1a hash of the content
/// for PutObject, UploadPart and copies (unique per content, so identical bytes give
/// identical ETags as with S3's MD5), and for CompleteMultipartUpload the hash of the
/// parts' ETags followed by `-N`, N being the number of parts, like S3's. They are not
/// MD5s: do not compare them against a locally computed MD5.
#[derive(Clone)]
pub struct FakeS3 {
    /// The one lock guards everything: buckets and objects, open uploads, the call log,
    /// faults, hooks, the clock and the configuration. It is held only for bookkeeping
    /// and never while calling a hook, pulling a request body (its observer may block
    /// or cancel), writing to a response sink, or sleeping for a delay fault — those run
    /// user code that may block or call back into this fake.
    state: Arc<Mutex<State>>,
}

impl Default for FakeS3 {
    fn default() -> Self {
        FakeS3::new()
    }
}

impl fmt::Debug for FakeS3 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let st = self.state.lock();
        f.debug_struct("FakeS3")
            .field("buckets", &st.buckets.keys().collect::<Vec<_>>())
            .field("open_uploads", &st.uploads.len())
            .field("calls", &st.calls.len())
            .field("faults", &st.faults.len())
            .finish()
    }
}

impl FakeS3 {
    /// An empty store: no buckets, no faults, S3's 5 MiB minimum part size.
    pub fn new() -> Self {
        FakeS3 {
            state: Arc::new(Mutex::new(State {
                buckets: BTreeMap::new(),
                uploads: BTreeMap::new(),
                calls: Vec::new(),
                faults: Vec::new(),
                hooks: Vec::new(),
                clock: 0,
                next_id: 0,
                min_part_size: DEFAULT_MIN_PART_SIZE,
                get_chunk_size: DEFAULT_GET_CHUNK,
            })),
        }
    }

    /// Require every part but the last to be at least `bytes` long at
    /// CompleteMultipartUpload (S3: 5 MiB), so tests can upload tiny parts.
    pub fn with_min_part_size(self, bytes: u64) -> Self {
        self.state.lock().min_part_size = bytes;
        self
    }

    /// Deliver GetObject bodies to the sink in chunks of `bytes` (at least 1; default
    /// 64 KiB), to exercise sinks and cancellation on small objects.
    pub fn with_get_chunk_size(self, bytes: usize) -> Self {
        self.state.lock().get_chunk_size = bytes.max(1);
        self
    }

    /// Create an unversioned bucket. Creating an existing bucket changes nothing.
    pub fn create_bucket(&self, bucket: &str) {
        self.state
            .lock()
            .buckets
            .entry(bucket.to_owned())
            .or_default();
    }

    /// Create a bucket with versioning enabled: every write gets a version id, older
    /// versions stay readable by id, and deletes without a version id leave a marker.
    /// Turns versioning on if the bucket exists.
    pub fn create_versioned_bucket(&self, bucket: &str) {
        self.state
            .lock()
            .buckets
            .entry(bucket.to_owned())
            .or_default()
            .versioned = true;
    }

    /// Store `data` at `bucket`/`key` without recording a call, creating the bucket if
    /// needed. Returns the stored object (its ETag, version id, ...).
    pub fn put_object_bytes(&self, bucket: &str, key: &str, data: impl Into<Bytes>) -> FakeObject {
        self.put_object_with(bucket, key, data, ObjectAttributes::default())
    }

    /// Like [`FakeS3::put_object_bytes`], with content type, metadata and the rest.
    pub fn put_object_with(
        &self,
        bucket: &str,
        key: &str,
        data: impl Into<Bytes>,
        attributes: ObjectAttributes,
    ) -> FakeObject {
        let mut object = FakeObject::new(data.into());
        object.attributes = attributes;
        let mut st = self.state.lock();
        st.buckets.entry(bucket.to_owned()).or_default();
        st.store(bucket, key, object)
    }

    /// Overwrite an existing object with `data`, as a concurrent writer would: a new
    /// ETag (if the content differs), Last-Modified and version id. Attributes and the
    /// SSE-C key are kept so that only the content changes under the code being tested.
    ///
    /// # Panics
    ///
    /// If there is no current object at `bucket`/`key`: that is a mistake in the test.
    pub fn replace_object(&self, bucket: &str, key: &str, data: impl Into<Bytes>) -> FakeObject {
        let mut st = self.state.lock();
        let Some(current) = st.current(bucket, key).cloned() else {
            panic!("replace_object: no object at s3://{bucket}/{key}");
        };
        let mut object = FakeObject::new(data.into());
        object.attributes = current.attributes;
        object.sse_customer = current.sse_customer;
        st.store(bucket, key, object)
    }

    /// The current version of an object, or `None` if there is none (or it is deleted).
    pub fn object(&self, bucket: &str, key: &str) -> Option<FakeObject> {
        self.state.lock().current(bucket, key).cloned()
    }

    /// Every stored version of an object, oldest first, delete markers left out.
    pub fn object_versions(&self, bucket: &str, key: &str) -> Vec<FakeObject> {
        let st = self.state.lock();
        st.buckets
            .get(bucket)
            .and_then(|b| b.keys.get(key))
            .map(|entries| entries.iter().filter_map(|e| e.object.clone()).collect())
            .unwrap_or_default()
    }

    /// Keys with a current object in `bucket`, sorted.
    pub fn keys(&self, bucket: &str) -> Vec<String> {
        let st = self.state.lock();
        st.buckets
            .get(bucket)
            .map(|b| {
                b.keys
                    .iter()
                    .filter(|(_, entries)| entries.last().is_some_and(|e| e.object.is_some()))
                    .map(|(k, _)| k.clone())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Multipart uploads still open in `bucket`, as `(key, upload_id)` sorted by key:
    /// a finished transfer should leave none.
    pub fn list_multipart_uploads(&self, bucket: &str) -> Vec<(String, String)> {
        let st = self.state.lock();
        let mut open: Vec<(String, String)> = st
            .uploads
            .iter()
            .filter(|(_, u)| u.bucket == bucket)
            .map(|(id, u)| (u.key.clone(), id.clone()))
            .collect();
        open.sort();
        open
    }

    // --- recorded calls ---------------------------------------------------------------

    /// Every call so far, in arrival order.
    pub fn calls(&self) -> Vec<RecordedCall> {
        self.state.lock().calls.clone()
    }

    /// The calls of one operation, in arrival order.
    pub fn calls_of(&self, operation: Operation) -> Vec<RecordedCall> {
        let st = self.state.lock();
        st.calls
            .iter()
            .filter(|c| c.operation() == operation)
            .cloned()
            .collect()
    }

    /// How many calls of `operation` arrived.
    pub fn count(&self, operation: Operation) -> usize {
        let st = self.state.lock();
        st.calls
            .iter()
            .filter(|c| c.operation() == operation)
            .count()
    }

    /// How many calls arrived, of any operation.
    pub fn total_calls(&self) -> usize {
        self.state.lock().calls.len()
    }

    /// Forget the recorded calls (faults keep their own counts).
    pub fn clear_calls(&self) {
        self.state.lock().calls.clear();
    }

    // --- faults -----------------------------------------------------------------------

    /// Fail the `n`-th call (1-based) of `operation` made from now on with `error`.
    /// Faults apply in the order injected; the first that fails a call wins.
    ///
    /// # Panics
    ///
    /// If `n` is 0.
    pub fn fail_nth(&self, operation: Operation, n: u64, error: InjectedError) {
        assert!(n >= 1, "fail_nth counts calls from 1");
        self.add_fault(Fault::Nth {
            op: operation,
            n,
            seen: 0,
            error,
        });
    }

    /// Fail every call of `operation` with `error` until [`FakeS3::clear_faults`].
    pub fn fail_always(&self, operation: Operation, error: InjectedError) {
        self.add_fault(Fault::Always {
            op: operation,
            error,
        });
    }

    /// Answer the next `times` calls of `operation` with 503 SlowDown.
    pub fn throttle(&self, operation: Operation, times: usize) {
        self.add_fault(Fault::Throttle {
            op: operation,
            remaining: times,
        });
    }

    /// Cut the next `times` GetObject calls short: deliver only the first
    /// `after_bytes` bytes of the response to the sink, then fail with
    /// [`S3ErrorKind::TruncatedBody`], as when a connection drops mid-body. Every
    /// GetObject uses up one time, including one that fails before its body and one
    /// whose body is no longer than `after_bytes` (which then arrives whole).
    pub fn truncate_body(&self, after_bytes: u64, times: usize) {
        self.add_fault(Fault::Truncate {
            after: after_bytes,
            remaining: times,
        });
    }

    /// Sleep `duration` at the start of every call of `operation` (before answering),
    /// until [`FakeS3::clear_faults`]; delays for the same operation add up.
    pub fn delay(&self, operation: Operation, duration: Duration) {
        self.add_fault(Fault::Delay {
            op: operation,
            duration,
        });
    }

    /// Run `hook` on every call after it is recorded; returning `Some(error)` fails the
    /// call with it unless an injected fault already did. The hook runs without the
    /// fake's lock held, so it may block or call the fake.
    pub fn on_call(&self, hook: impl Fn(&RecordedCall) -> Option<S3Error> + Send + Sync + 'static) {
        self.state.lock().hooks.push(Arc::new(hook));
    }

    /// Remove every fault and hook.
    pub fn clear_faults(&self) {
        let mut st = self.state.lock();
        st.faults.clear();
        // Dropped outside the lock: a hook's captures may run Drop code that calls the fake.
        let hooks = std::mem::take(&mut st.hooks);
        drop(st);
        drop(hooks);
    }

    fn add_fault(&self, fault: Fault) {
        self.state.lock().faults.push(fault);
    }

    /// Record `call` and decide which faults hit it.
    fn admit(&self, call: &RecordedCall) -> Admission {
        let op = call.operation();
        let mut st = self.state.lock();
        st.calls.push(call.clone());
        let mut error = None;
        let mut delay = Duration::ZERO;
        let mut truncate_after = None;
        for fault in st.faults.iter_mut() {
            match fault {
                Fault::Nth {
                    op: o,
                    n,
                    seen,
                    error: e,
                } if *o == op => {
                    *seen += 1;
                    if *seen == *n && error.is_none() {
                        error = Some(e.clone());
                    }
                }
                Fault::Always { op: o, error: e } if *o == op && error.is_none() => {
                    error = Some(e.clone());
                }
                // A call another fault already failed does not use up a throttle.
                Fault::Throttle { op: o, remaining }
                    if *o == op && *remaining > 0 && error.is_none() =>
                {
                    *remaining -= 1;
                    error = Some(InjectedError::slow_down());
                }
                Fault::Truncate { after, remaining }
                    if op == Operation::GetObject && *remaining > 0 && truncate_after.is_none() =>
                {
                    *remaining -= 1;
                    truncate_after = Some(*after);
                }
                Fault::Delay { op: o, duration } if *o == op => delay += *duration,
                _ => {}
            }
        }
        st.faults.retain(|f| !f.spent());
        let hooks = st.hooks.clone();
        Admission {
            error,
            delay,
            truncate_after,
            hooks,
        }
    }

    /// Record the call, apply delays and hooks, and return the injected failure if any,
    /// else how many bytes a GetObject may deliver before it is cut.
    fn enter(&self, call: RecordedCall) -> Result<Option<u64>, S3Error> {
        let admission = self.admit(&call);
        if !admission.delay.is_zero() {
            std::thread::sleep(admission.delay);
        }
        let mut hook_error = None;
        for hook in &admission.hooks {
            if let Some(err) = hook(&call) {
                hook_error = Some(err);
                break;
            }
        }
        if let Some(injected) = admission.error {
            return Err(injected.to_s3_error(call.operation(), call.bucket(), call.key()));
        }
        if let Some(err) = hook_error {
            return Err(err);
        }
        Ok(admission.truncate_after)
    }
}

// ---------------------------------------------------------------------------------------
// Store logic (under the lock)
// ---------------------------------------------------------------------------------------

/// The operation and object an error is about.
#[derive(Clone, Copy)]
struct Ctx<'a> {
    op: Operation,
    bucket: &'a str,
    key: &'a str,
}

impl<'a> Ctx<'a> {
    fn new(op: Operation, bucket: &'a str, key: &'a str) -> Self {
        Ctx { op, bucket, key }
    }

    fn error(&self, status: u16, code: &str, message: impl Into<String>) -> S3Error {
        S3Error::from_response(
            self.op.as_str(),
            Some(status),
            Some(code.to_owned()),
            message,
        )
        .with_object(self.bucket, self.key)
    }

    fn no_such_upload(&self) -> S3Error {
        self.error(
            404,
            "NoSuchUpload",
            "The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.",
        )
    }

    fn precondition_failed(&self) -> S3Error {
        self.error(
            412,
            "PreconditionFailed",
            "At least one of the pre-conditions you specified did not hold",
        )
    }
}

impl State {
    fn bucket(&self, cx: Ctx<'_>, name: &str) -> Result<&Bucket, S3Error> {
        self.buckets
            .get(name)
            .ok_or_else(|| cx.error(404, "NoSuchBucket", "The specified bucket does not exist"))
    }

    fn current(&self, bucket: &str, key: &str) -> Option<&FakeObject> {
        self.buckets
            .get(bucket)?
            .keys
            .get(key)?
            .last()?
            .object
            .as_ref()
    }

    /// The object a read names: latest, or a given version. HEAD answers a missing key
    /// with `NotFound` (it has no body to carry `NoSuchKey`).
    fn lookup(
        &self,
        cx: Ctx<'_>,
        bucket: &str,
        key: &str,
        version_id: Option<&str>,
    ) -> Result<&FakeObject, S3Error> {
        let b = self.bucket(cx, bucket)?;
        let entries = b.keys.get(key).map(Vec::as_slice).unwrap_or_default();
        let missing = || {
            if cx.op == Operation::HeadObject {
                cx.error(404, "NotFound", "Not Found")
            } else {
                cx.error(404, "NoSuchKey", "The specified key does not exist.")
            }
        };
        match version_id {
            None => entries
                .last()
                .and_then(|e| e.object.as_ref())
                .ok_or_else(missing),
            Some("null") if !b.versioned => entries
                .last()
                .and_then(|e| e.object.as_ref())
                .ok_or_else(missing),
            Some(_) if !b.versioned => {
                Err(cx.error(400, "InvalidArgument", "Invalid version id specified"))
            }
            Some(v) => {
                let entry = entries
                    .iter()
                    .find(|e| e.version_id.as_deref() == Some(v))
                    .ok_or_else(|| {
                        cx.error(
                            404,
                            "NoSuchVersion",
                            "The specified version does not exist.",
                        )
                    })?;
                entry.object.as_ref().ok_or_else(|| {
                    cx.error(
                        405,
                        "MethodNotAllowed",
                        "The specified method is not allowed against this resource.",
                    )
                })
            }
        }
    }

    fn upload(&self, cx: Ctx<'_>, upload_id: &str) -> Result<&Upload, S3Error> {
        self.uploads
            .get(upload_id)
            .filter(|u| u.bucket == cx.bucket && u.key == cx.key)
            .ok_or_else(|| cx.no_such_upload())
    }

    fn tick(&mut self) -> String {
        self.clock += 1;
        http_date(CLOCK_BASE_SECS + self.clock)
    }

    fn next_id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    /// Make `object` the current version of `bucket`/`key` (the bucket must exist),
    /// stamping its Last-Modified and version id.
    fn store(&mut self, bucket: &str, key: &str, mut object: FakeObject) -> FakeObject {
        object.last_modified = self.tick();
        let versioned = self.buckets.get(bucket).is_some_and(|b| b.versioned);
        object.version_id = if versioned {
            Some(format!("v{:08}", self.next_id()))
        } else {
            None
        };
        let entry = Entry {
            version_id: object.version_id.clone(),
            object: Some(object.clone()),
        };
        let entries = self
            .buckets
            .get_mut(bucket)
            .expect("store: bucket checked by the caller")
            .keys
            .entry(key.to_owned())
            .or_default();
        if !versioned {
            entries.clear();
        }
        entries.push(entry);
        object
    }
}

fn check_sse(
    cx: Ctx<'_>,
    stored: Option<&SseCustomerKey>,
    given: Option<&SseCustomerKey>,
) -> Result<(), S3Error> {
    match (stored, given) {
        (None, None) => Ok(()),
        (Some(s), Some(g)) if s == g => Ok(()),
        (Some(_), None) => Err(cx.error(
            400,
            "InvalidRequest",
            "The object was stored using a form of Server Side Encryption. The correct parameters must be provided to retrieve the object.",
        )),
        (Some(_), Some(_)) => Err(cx.error(
            400,
            "InvalidRequest",
            "The SSE-C key provided does not match the key the object was stored with.",
        )),
        (None, Some(_)) => Err(cx.error(
            400,
            "InvalidRequest",
            "The encryption parameters are not applicable to this object.",
        )),
    }
}

fn unquote(etag: &str) -> &str {
    let etag = etag.trim();
    let etag = etag.strip_prefix("W/").unwrap_or(etag);
    etag.trim_matches('"')
}

/// `If-Match` semantics: `*` or any listed ETag, quoted or not.
fn etag_matches(condition: &str, etag: &str) -> bool {
    condition
        .split(',')
        .any(|c| c.trim() == "*" || unquote(c) == unquote(etag))
}

/// Copy-source preconditions as S3 evaluates them: if-match wins over
/// if-unmodified-since, if-none-match over if-modified-since; unparseable dates are
/// ignored.
fn check_copy_conditions(
    cx: Ctx<'_>,
    source: &FakeObject,
    conditions: &CopySourceConditions,
) -> Result<(), S3Error> {
    let modified = parse_http_date(&source.last_modified);
    if let Some(m) = &conditions.if_match {
        if !etag_matches(m, &source.etag) {
            return Err(cx.precondition_failed());
        }
    } else if let (Some(since), Some(modified)) = (
        conditions
            .if_unmodified_since
            .as_deref()
            .and_then(parse_http_date),
        modified,
    ) && modified > since
    {
        return Err(cx.precondition_failed());
    }
    if let Some(m) = &conditions.if_none_match {
        if etag_matches(m, &source.etag) {
            return Err(cx.precondition_failed());
        }
    } else if let (Some(since), Some(modified)) = (
        conditions
            .if_modified_since
            .as_deref()
            .and_then(parse_http_date),
        modified,
    ) && modified <= since
    {
        return Err(cx.precondition_failed());
    }
    Ok(())
}

/// Which bytes of an object a GET or HEAD answers with.
struct Selection {
    start: u64,
    len: u64,
    content_range: Option<ContentRange>,
    parts_count: Option<u32>,
    checksums: Checksums,
}

fn select(
    cx: Ctx<'_>,
    object: &FakeObject,
    range: Option<ByteRange>,
    part_number: Option<u32>,
    checksum_mode: bool,
) -> Result<Selection, S3Error> {
    let total = object.data.len() as u64;
    let content_range = |start: u64, len: u64| {
        (len > 0).then(|| ContentRange {
            start,
            end: start + len - 1,
            total,
        })
    };
    let checksums_if = |c: &Checksums| {
        if checksum_mode {
            c.clone()
        } else {
            Checksums::default()
        }
    };
    if range.is_some() && part_number.is_some() {
        return Err(cx.error(
            400,
            "InvalidRequest",
            "Cannot specify both Range header and partNumber query parameter",
        ));
    }
    if let Some(p) = part_number {
        if p == 0 || p > MAX_PART_NUMBER {
            return Err(cx.error(
                400,
                "InvalidArgument",
                "Part number must be an integer between 1 and 10000, inclusive",
            ));
        }
        let out_of_range = || {
            cx.error(
                416,
                "InvalidPartNumber",
                "The requested partnumber is not satisfiable",
            )
        };
        if !object.is_multipart() {
            if p != 1 {
                return Err(out_of_range());
            }
            return Ok(Selection {
                start: 0,
                len: total,
                content_range: content_range(0, total),
                parts_count: None,
                checksums: checksums_if(&object.checksums),
            });
        }
        let index = p as usize - 1;
        let part = object.parts.get(index).ok_or_else(out_of_range)?;
        let start: u64 = object.parts[..index].iter().map(|p| p.size).sum();
        return Ok(Selection {
            start,
            len: part.size,
            content_range: content_range(start, part.size),
            parts_count: object.parts_count(),
            checksums: checksums_if(&part.checksums),
        });
    }
    match range {
        // S3 ignores a syntactically invalid range and sends the whole object.
        Some(r) if r.end.is_none_or(|end| end >= r.start) => {
            if r.start >= total {
                return Err(cx.error(
                    416,
                    "InvalidRange",
                    "The requested range is not satisfiable",
                ));
            }
            let end = r.end.map_or(total - 1, |e| e.min(total - 1));
            let len = end - r.start + 1;
            Ok(Selection {
                start: r.start,
                len,
                content_range: content_range(r.start, len),
                parts_count: None,
                // A ranged GET has no checksum of its own bytes to return.
                checksums: Checksums::default(),
            })
        }
        _ => Ok(Selection {
            start: 0,
            len: total,
            content_range: None,
            parts_count: None,
            checksums: checksums_if(&object.checksums),
        }),
    }
}

/// The attributes of a copy: the content headers and metadata from the source under
/// `COPY`, from the request under `REPLACE`; tags likewise by the tagging directive;
/// everything else (ACL, storage class, encryption, lock) always from the request.
fn copy_attributes(
    cx: Ctx<'_>,
    source: &ObjectAttributes,
    request: &CopyObjectRequest,
) -> Result<ObjectAttributes, S3Error> {
    let replace = |directive: &Option<String>, name: &str| match directive.as_deref() {
        None | Some("COPY") => Ok(false),
        Some("REPLACE") => Ok(true),
        Some(other) => Err(cx.error(
            400,
            "InvalidArgument",
            format!("Unknown {name} directive: {other}"),
        )),
    };
    let mut attrs = request.attributes.clone();
    if !replace(&request.metadata_directive, "metadata")? {
        attrs.cache_control = source.cache_control.clone();
        attrs.content_disposition = source.content_disposition.clone();
        attrs.content_encoding = source.content_encoding.clone();
        attrs.content_language = source.content_language.clone();
        attrs.content_type = source.content_type.clone();
        attrs.expires = source.expires.clone();
        attrs.metadata = source.metadata.clone();
    }
    if !replace(&request.tagging_directive, "tagging")? {
        attrs.tagging = source.tagging.clone();
    }
    Ok(attrs)
}

/// Check every checksum value `given` against `data` (a composite `-N` value is not a
/// checksum of the bytes and is kept as is); with `algorithm` and no value, compute it.
/// Returns what to store.
fn verify_checksums(
    cx: Ctx<'_>,
    algorithm: Option<ChecksumAlgorithm>,
    given: &Checksums,
    data: &[u8],
) -> Result<Checksums, S3Error> {
    let mut stored = given.clone();
    for (a, value) in given.values() {
        if value.contains('-') {
            continue;
        }
        let actual = crate::checksum::checksum(a, data).to_base64();
        if actual != value {
            return Err(cx.error(
                400,
                "BadDigest",
                format!(
                    "The {} you specified did not match the calculated checksum.",
                    a.as_str()
                ),
            ));
        }
    }
    if let Some(a) = algorithm
        && given.get(a).is_none()
    {
        stored.set(a, crate::checksum::checksum(a, data).to_base64());
    }
    Ok(stored)
}

fn checksums_conflict(stored: &Checksums, given: &Checksums) -> bool {
    let differ =
        |a: &Option<String>, b: &Option<String>| matches!((a, b), (Some(a), Some(b)) if a != b);
    differ(&stored.crc32, &given.crc32)
        || differ(&stored.crc32c, &given.crc32c)
        || differ(&stored.crc64nvme, &given.crc64nvme)
        || differ(&stored.sha1, &given.sha1)
        || differ(&stored.sha256, &given.sha256)
}

// ---------------------------------------------------------------------------------------
// The S3Api implementation
// ---------------------------------------------------------------------------------------

impl S3Api for FakeS3 {
    fn head_object(&self, request: &HeadObjectRequest) -> Result<HeadObjectOutput, S3Error> {
        let cx = Ctx::new(Operation::HeadObject, &request.bucket, &request.key);
        self.enter(RecordedCall::HeadObject(request.clone()))?;
        let st = self.state.lock();
        let object = st.lookup(
            cx,
            &request.bucket,
            &request.key,
            request.version_id.as_deref(),
        )?;
        check_sse(
            cx,
            object.sse_customer.as_ref(),
            request.sse_customer.as_ref(),
        )?;
        if let Some(m) = &request.if_match
            && !etag_matches(m, &object.etag)
        {
            return Err(cx.precondition_failed());
        }
        let sel = select(cx, object, None, request.part_number, request.checksum_mode)?;
        Ok(HeadObjectOutput {
            content_length: sel.len,
            etag: Some(object.etag.clone()),
            last_modified: Some(object.last_modified.clone()),
            version_id: object.version_id.clone(),
            parts_count: sel.parts_count,
            checksums: sel.checksums,
            attributes: object.attributes.clone(),
        })
    }

    fn get_object(
        &self,
        request: &GetObjectRequest,
        sink: &mut dyn ResponseSink,
    ) -> Result<GetObjectOutput, S3Error> {
        let cx = Ctx::new(Operation::GetObject, &request.bucket, &request.key);
        let truncate_after = self.enter(RecordedCall::GetObject(request.clone()))?;
        let (body, mut out, chunk_size) = {
            let st = self.state.lock();
            let object = st.lookup(
                cx,
                &request.bucket,
                &request.key,
                request.version_id.as_deref(),
            )?;
            check_sse(
                cx,
                object.sse_customer.as_ref(),
                request.sse_customer.as_ref(),
            )?;
            if let Some(m) = &request.if_match
                && !etag_matches(m, &object.etag)
            {
                return Err(cx.precondition_failed());
            }
            let sel = select(
                cx,
                object,
                request.range,
                request.part_number,
                request.checksum_mode,
            )?;
            let body = object
                .data
                .slice(sel.start as usize..(sel.start + sel.len) as usize);
            let out = GetObjectOutput {
                content_length: sel.len,
                content_range: sel.content_range,
                etag: Some(object.etag.clone()),
                version_id: object.version_id.clone(),
                last_modified: Some(object.last_modified.clone()),
                parts_count: sel.parts_count,
                checksums: sel.checksums,
                bytes_received: 0,
            };
            (body, out, st.get_chunk_size)
        };
        // Streamed with the lock released: the sink may block on a full queue.
        sink.on_response(&out)?;
        let deliver = truncate_after.map_or(body.len(), |a| body.len().min(a as usize));
        for chunk in body[..deliver].chunks(chunk_size) {
            sink.write_chunk(chunk)?;
            out.bytes_received += chunk.len() as u64;
        }
        if deliver < body.len() {
            let mut err = S3Error::new(
                S3ErrorKind::TruncatedBody,
                Operation::GetObject.as_str(),
                format!(
                    "injected: connection closed after {deliver} of {} bytes",
                    body.len()
                ),
            )
            .with_object(&request.bucket, &request.key);
            err.status = Some(if out.content_range.is_some() {
                206
            } else {
                200
            });
            return Err(err);
        }
        Ok(out)
    }

    fn put_object(
        &self,
        request: &PutObjectRequest,
        body: &mut RequestBody,
    ) -> Result<PutObjectOutput, S3Error> {
        let cx = Ctx::new(Operation::PutObject, &request.bucket, &request.key);
        let verdict = self.enter(RecordedCall::PutObject {
            request: request.clone(),
            body_len: body.len(),
        });
        // The whole body goes out before any answer, as over HTTP without
        // Expect: 100-continue; so progress is reported even for rejected requests.
        let data = body.collect()?;
        verdict?;
        let mut st = self.state.lock();
        st.bucket(cx, &request.bucket)?;
        let checksums =
            verify_checksums(cx, request.checksum_algorithm, &request.checksums, &data)?;
        let mut object = FakeObject::new(Bytes::from(data));
        object.attributes = request.attributes.clone();
        object.checksums = checksums;
        if !object.checksums.is_empty() {
            // A single PUT's checksum is of the whole object.
            object.checksums.checksum_type = Some("FULL_OBJECT".to_owned());
        }
        object.sse_customer = request.sse_customer.clone();
        let stored = st.store(&request.bucket, &request.key, object);
        Ok(PutObjectOutput {
            etag: Some(stored.etag),
            version_id: stored.version_id,
            checksums: stored.checksums,
        })
    }

    fn create_multipart_upload(
        &self,
        request: &CreateMultipartUploadRequest,
    ) -> Result<CreateMultipartUploadOutput, S3Error> {
        let cx = Ctx::new(
            Operation::CreateMultipartUpload,
            &request.bucket,
            &request.key,
        );
        self.enter(RecordedCall::CreateMultipartUpload(request.clone()))?;
        let mut st = self.state.lock();
        st.bucket(cx, &request.bucket)?;
        let upload_id = format!("fake-upload-{:08}", st.next_id());
        st.uploads.insert(
            upload_id.clone(),
            Upload {
                bucket: request.bucket.clone(),
                key: request.key.clone(),
                attributes: request.attributes.clone(),
                sse_customer: request.sse_customer.clone(),
                checksum_algorithm: request.checksum_algorithm,
                checksum_type: request.checksum_type.clone(),
                parts: BTreeMap::new(),
            },
        );
        Ok(CreateMultipartUploadOutput { upload_id })
    }

    fn upload_part(
        &self,
        request: &UploadPartRequest,
        body: &mut RequestBody,
    ) -> Result<UploadPartOutput, S3Error> {
        let cx = Ctx::new(Operation::UploadPart, &request.bucket, &request.key);
        let verdict = self.enter(RecordedCall::UploadPart {
            request: request.clone(),
            body_len: body.len(),
        });
        let data = body.collect()?;
        verdict?;
        let mut st = self.state.lock();
        st.bucket(cx, &request.bucket)?;
        let upload = st.upload(cx, &request.upload_id)?;
        check_sse(
            cx,
            upload.sse_customer.as_ref(),
            request.sse_customer.as_ref(),
        )?;
        check_part_number(cx, request.part_number)?;
        let checksums =
            verify_checksums(cx, request.checksum_algorithm, &request.checksums, &data)?;
        let data = Bytes::from(data);
        let part = StoredPart {
            etag: content_etag(&data),
            data,
            checksums,
        };
        let out = UploadPartOutput {
            etag: Some(part.etag.clone()),
            checksums: part.checksums.clone(),
        };
        st.uploads
            .get_mut(&request.upload_id)
            .expect("upload checked above")
            .parts
            .insert(request.part_number, part);
        Ok(out)
    }

    fn complete_multipart_upload(
        &self,
        request: &CompleteMultipartUploadRequest,
    ) -> Result<CompleteMultipartUploadOutput, S3Error> {
        let cx = Ctx::new(
            Operation::CompleteMultipartUpload,
            &request.bucket,
            &request.key,
        );
        self.enter(RecordedCall::CompleteMultipartUpload(request.clone()))?;
        let mut st = self.state.lock();
        st.bucket(cx, &request.bucket)?;
        let upload = st.upload(cx, &request.upload_id)?;
        check_sse(
            cx,
            upload.sse_customer.as_ref(),
            request.sse_customer.as_ref(),
        )?;
        if request.parts.is_empty() {
            return Err(cx.error(
                400,
                "MalformedXML",
                "The XML you provided was not well-formed or did not validate against our published schema",
            ));
        }
        if request
            .parts
            .windows(2)
            .any(|w| w[0].part_number >= w[1].part_number)
        {
            return Err(cx.error(
                400,
                "InvalidPartOrder",
                "The list of parts was not in ascending order. The parts list must be specified in order by part number.",
            ));
        }
        let mut chosen = Vec::with_capacity(request.parts.len());
        for given in &request.parts {
            match upload.parts.get(&given.part_number) {
                Some(stored)
                    if unquote(&stored.etag) == unquote(&given.etag)
                        && !checksums_conflict(&stored.checksums, &given.checksums) =>
                {
                    chosen.push(stored.clone());
                }
                _ => {
                    return Err(cx.error(
                        400,
                        "InvalidPart",
                        format!(
                            "One or more of the specified parts could not be found. The part may not have been uploaded, or the specified entity tag may not match the part's entity tag. (part {})",
                            given.part_number
                        ),
                    ));
                }
            }
        }
        let min = st.min_part_size;
        if let Some(small) = chosen[..chosen.len() - 1]
            .iter()
            .position(|p| (p.data.len() as u64) < min)
        {
            return Err(cx.error(
                400,
                "EntityTooSmall",
                format!(
                    "Your proposed upload is smaller than the minimum allowed object size. (part {} is {} bytes, minimum {min})",
                    request.parts[small].part_number,
                    chosen[small].data.len()
                ),
            ));
        }
        let total: u64 = chosen.iter().map(|p| p.data.len() as u64).sum();
        if let Some(expected) = request.mpu_object_size
            && expected != total
        {
            return Err(cx.error(
                400,
                "InvalidRequest",
                format!("x-amz-mp-object-size {expected} does not match the parts' total {total}"),
            ));
        }
        let mut data = Vec::with_capacity(total as usize);
        for p in &chosen {
            data.extend_from_slice(&p.data);
        }
        let full_object = request.checksums.checksum_type.as_deref() == Some("FULL_OBJECT")
            || upload.checksum_type.as_deref() == Some("FULL_OBJECT");
        let mut checksums = request.checksums.clone();
        if full_object {
            // Checked against the assembled object, as S3 does, before the upload is
            // consumed (a refused Complete can be retried); computed when the upload
            // announced FULL_OBJECT and Complete carries no value.
            let algorithm = upload
                .checksum_algorithm
                .filter(|_| checksums.values().is_empty());
            checksums = verify_checksums(cx, algorithm, &checksums, &data)?;
        } else if let Some(algorithm) = upload.checksum_algorithm
            && checksums.get(algorithm).is_none()
        {
            // As S3 does for a composite upload: the object's value is the checksum of
            // its parts' checksums, `-N`, computed on Complete.
            let values: Option<Vec<&str>> =
                chosen.iter().map(|p| p.checksums.get(algorithm)).collect();
            if let Some(value) =
                values.and_then(|v| crate::checksum::composite_checksum(algorithm, &v))
            {
                checksums.set(algorithm, value);
                checksums.checksum_type = Some("COMPOSITE".to_owned());
            }
        }
        let upload = st
            .uploads
            .remove(&request.upload_id)
            .expect("upload checked above");
        let mut object = FakeObject::new(Bytes::from(data));
        object.etag = multipart_etag(chosen.iter().map(|p| p.etag.as_str()), chosen.len());
        object.attributes = upload.attributes;
        object.sse_customer = upload.sse_customer;
        object.checksums = checksums;
        if !object.checksums.is_empty() && object.checksums.checksum_type.is_none() {
            object.checksums.checksum_type = upload.checksum_type;
        }
        object.parts = chosen
            .into_iter()
            .map(|p| FakePart {
                size: p.data.len() as u64,
                etag: p.etag,
                checksums: p.checksums,
            })
            .collect();
        let stored = st.store(&request.bucket, &request.key, object);
        Ok(CompleteMultipartUploadOutput {
            etag: Some(stored.etag),
            version_id: stored.version_id,
            checksums: stored.checksums,
        })
    }

    fn abort_multipart_upload(&self, request: &AbortMultipartUploadRequest) -> Result<(), S3Error> {
        let cx = Ctx::new(
            Operation::AbortMultipartUpload,
            &request.bucket,
            &request.key,
        );
        self.enter(RecordedCall::AbortMultipartUpload(request.clone()))?;
        let mut st = self.state.lock();
        st.bucket(cx, &request.bucket)?;
        st.upload(cx, &request.upload_id)?;
        st.uploads.remove(&request.upload_id);
        Ok(())
    }

    fn copy_object(&self, request: &CopyObjectRequest) -> Result<CopyObjectOutput, S3Error> {
        let cx = Ctx::new(Operation::CopyObject, &request.bucket, &request.key);
        self.enter(RecordedCall::CopyObject(request.clone()))?;
        let mut st = self.state.lock();
        let source = st
            .lookup(
                cx,
                &request.source.bucket,
                &request.source.key,
                request.source.version_id.as_deref(),
            )?
            .clone();
        check_sse(
            cx,
            source.sse_customer.as_ref(),
            request.copy_source_sse_customer.as_ref(),
        )?;
        check_copy_conditions(cx, &source, &request.conditions)?;
        st.bucket(cx, &request.bucket)?;
        let attributes = copy_attributes(cx, &source.attributes, request)?;
        let onto_itself = request.source.bucket == request.bucket
            && request.source.key == request.key
            && request.source.version_id.is_none();
        let changes_something = request.metadata_directive.as_deref() == Some("REPLACE")
            || request.attributes.storage_class.is_some()
            || request.attributes.website_redirect_location.is_some()
            || request.attributes.server_side_encryption.is_some()
            || request.sse_customer.is_some();
        if onto_itself && !changes_something {
            return Err(cx.error(
                400,
                "InvalidRequest",
                "This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes.",
            ));
        }
        let mut object = FakeObject::new(source.data.clone());
        object.attributes = attributes;
        object.sse_customer = request.sse_customer.clone();
        // A copy is a single-part object: a multipart source's composite checksum would
        // be wrong for it, and a newly requested algorithm is not computed here.
        if !source.is_multipart() && request.checksum_algorithm.is_none() {
            object.checksums = source.checksums.clone();
        }
        let stored = st.store(&request.bucket, &request.key, object);
        Ok(CopyObjectOutput {
            etag: Some(stored.etag),
            version_id: stored.version_id,
            checksums: stored.checksums,
        })
    }

    fn upload_part_copy(
        &self,
        request: &UploadPartCopyRequest,
    ) -> Result<UploadPartCopyOutput, S3Error> {
        let cx = Ctx::new(Operation::UploadPartCopy, &request.bucket, &request.key);
        self.enter(RecordedCall::UploadPartCopy(request.clone()))?;
        let mut st = self.state.lock();
        let source = st
            .lookup(
                cx,
                &request.source.bucket,
                &request.source.key,
                request.source.version_id.as_deref(),
            )?
            .clone();
        check_sse(
            cx,
            source.sse_customer.as_ref(),
            request.copy_source_sse_customer.as_ref(),
        )?;
        check_copy_conditions(cx, &source, &request.conditions)?;
        st.bucket(cx, &request.bucket)?;
        let upload = st.upload(cx, &request.upload_id)?;
        check_sse(
            cx,
            upload.sse_customer.as_ref(),
            request.sse_customer.as_ref(),
        )?;
        check_part_number(cx, request.part_number)?;
        let size = source.data.len() as u64;
        let data = match request.source_range {
            None => source.data.clone(),
            Some((first, last)) if first <= last && last < size => {
                source.data.slice(first as usize..=last as usize)
            }
            Some(_) => {
                return Err(cx.error(
                    400,
                    "InvalidArgument",
                    format!("Range specified is not valid for source object of size: {size}"),
                ));
            }
        };
        let part = StoredPart {
            etag: content_etag(&data),
            data,
            checksums: Checksums::default(),
        };
        let etag = part.etag.clone();
        st.uploads
            .get_mut(&request.upload_id)
            .expect("upload checked above")
            .parts
            .insert(request.part_number, part);
        Ok(UploadPartCopyOutput {
            etag: Some(etag),
            checksums: Checksums::default(),
        })
    }

    fn supports_checksums(&self) -> bool {
        true
    }

    fn delete_object(&self, request: &DeleteObjectRequest) -> Result<DeleteObjectOutput, S3Error> {
        let cx = Ctx::new(Operation::DeleteObject, &request.bucket, &request.key);
        self.enter(RecordedCall::DeleteObject(request.clone()))?;
        let mut st = self.state.lock();
        let versioned = st.bucket(cx, &request.bucket)?.versioned;
        if !versioned {
            if request.version_id.as_deref().is_some_and(|v| v != "null") {
                return Err(cx.error(400, "InvalidArgument", "Invalid version id specified"));
            }
            if let Some(b) = st.buckets.get_mut(&request.bucket) {
                b.keys.remove(&request.key);
            }
            return Ok(DeleteObjectOutput::default());
        }
        match &request.version_id {
            Some(v) => {
                let entries = st
                    .buckets
                    .get_mut(&request.bucket)
                    .and_then(|b| b.keys.get_mut(&request.key));
                let mut was_marker = false;
                if let Some(entries) = entries
                    && let Some(i) = entries
                        .iter()
                        .position(|e| e.version_id.as_deref() == Some(v))
                {
                    was_marker = entries.remove(i).object.is_none();
                }
                Ok(DeleteObjectOutput {
                    delete_marker: was_marker.then_some(true),
                    version_id: Some(v.clone()),
                })
            }
            None => {
                st.tick();
                let marker_id = format!("v{:08}", st.next_id());
                st.buckets
                    .get_mut(&request.bucket)
                    .expect("bucket checked above")
                    .keys
                    .entry(request.key.clone())
                    .or_default()
                    .push(Entry {
                        version_id: Some(marker_id.clone()),
                        object: None,
                    });
                Ok(DeleteObjectOutput {
                    delete_marker: Some(true),
                    version_id: Some(marker_id),
                })
            }
        }
    }
}

fn check_part_number(cx: Ctx<'_>, part_number: u32) -> Result<(), S3Error> {
    if (1..=MAX_PART_NUMBER).contains(&part_number) {
        Ok(())
    } else {
        Err(cx.error(
            400,
            "InvalidArgument",
            "Part number must be an integer between 1 and 10000, inclusive",
        ))
    }
}

// ---------------------------------------------------------------------------------------
// ETags and dates
// ---------------------------------------------------------------------------------------

/// 128-bit FNV-1a: not cryptographic, but deterministic, dependency-free and as wide as
/// an MD5, which is all an opaque ETag needs.
fn fnv1a_128(data: &[u8]) -> u128 {
    const OFFSET: u128 = 0x6c62_272e_07bb_0142_62b8_2175_6295_c58d;
    const PRIME: u128 = 0x0000_0000_0100_0000_0000_0000_0000_013b;
    data.iter()
        .fold(OFFSET, |h, &b| (h ^ u128::from(b)).wrapping_mul(PRIME))
}

fn content_etag(data: &[u8]) -> String {
    format!("\"{:032x}\"", fnv1a_128(data))
}

fn multipart_etag<'a>(part_etags: impl Iterator<Item = &'a str>, count: usize) -> String {
    let mut joined = Vec::new();
    for etag in part_etags {
        joined.extend_from_slice(unquote(etag).as_bytes());
    }
    format!("\"{:032x}-{count}\"", fnv1a_128(&joined))
}

const WEEKDAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// Seconds since the Unix epoch as an IMF-fixdate (`Mon, 01 Jan 2024 00:00:01 GMT`).
fn http_date(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Civil-from-days (H. Hinnant), proleptic Gregorian.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{}, {:02} {} {} {:02}:{:02}:{:02} GMT",
        WEEKDAYS[(days % 7) as usize],
        day,
        MONTHS[(month - 1) as usize],
        year,
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// The inverse of [`http_date`]; `None` for anything else.
fn parse_http_date(value: &str) -> Option<u64> {
    let mut it = value.split_whitespace();
    let _weekday = it.next()?;
    let day: i64 = it.next()?.parse().ok()?;
    let month_name = it.next()?;
    let month = MONTHS.iter().position(|m| *m == month_name)? as i64 + 1;
    let year: i64 = it.next()?.parse().ok()?;
    let mut hms = it.next()?.split(':').map(|p| p.parse::<u64>().ok());
    let (h, m, s) = (hms.next()??, hms.next()??, hms.next()??);
    if it.next()? != "GMT" {
        return None;
    }
    // Days-from-civil (H. Hinnant).
    let y = year - i64::from(month <= 2);
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = if month > 2 { month - 3 } else { month + 9 };
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = u64::try_from(era * 146_097 + doe - 719_468).ok()?;
    Some(days * 86_400 + h * 3600 + m * 60 + s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::{BodyObserver, ChecksumAlgorithm, CompletedPart, CopySource};
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Instant;

    const B: &str = "bucket";

    fn fake() -> FakeS3 {
        let s3 = FakeS3::new().with_min_part_size(4);
        s3.create_bucket(B);
        s3
    }

    fn get_req(key: &str) -> GetObjectRequest {
        GetObjectRequest {
            bucket: B.into(),
            key: key.into(),
            ..Default::default()
        }
    }

    fn head_req(key: &str) -> HeadObjectRequest {
        HeadObjectRequest {
            bucket: B.into(),
            key: key.into(),
            ..Default::default()
        }
    }

    fn put_req(key: &str) -> PutObjectRequest {
        PutObjectRequest {
            bucket: B.into(),
            key: key.into(),
            ..Default::default()
        }
    }

    fn get(s3: &FakeS3, req: &GetObjectRequest) -> Result<(Vec<u8>, GetObjectOutput), S3Error> {
        let mut sink = Vec::new();
        let out = s3.get_object(req, &mut sink)?;
        Ok((sink, out))
    }

    fn put(s3: &FakeS3, key: &str, data: &[u8]) -> PutObjectOutput {
        s3.put_object(&put_req(key), &mut RequestBody::new(data.to_vec()))
            .unwrap()
    }

    fn create(s3: &FakeS3, key: &str) -> String {
        s3.create_multipart_upload(&CreateMultipartUploadRequest {
            bucket: B.into(),
            key: key.into(),
            ..Default::default()
        })
        .unwrap()
        .upload_id
    }

    fn part_req(key: &str, upload_id: &str, n: u32) -> UploadPartRequest {
        UploadPartRequest {
            bucket: B.into(),
            key: key.into(),
            upload_id: upload_id.into(),
            part_number: n,
            ..Default::default()
        }
    }

    fn upload(s3: &FakeS3, key: &str, upload_id: &str, n: u32, data: &[u8]) -> CompletedPart {
        let out = s3
            .upload_part(
                &part_req(key, upload_id, n),
                &mut RequestBody::new(data.to_vec()),
            )
            .unwrap();
        CompletedPart::new(n, out.etag.unwrap())
    }

    fn complete_req(
        key: &str,
        upload_id: &str,
        parts: Vec<CompletedPart>,
    ) -> CompleteMultipartUploadRequest {
        CompleteMultipartUploadRequest {
            bucket: B.into(),
            key: key.into(),
            upload_id: upload_id.into(),
            parts,
            ..Default::default()
        }
    }

    /// A three-part object "aaaa" "bbbb" "cc".
    fn multipart_object(s3: &FakeS3, key: &str) -> CompleteMultipartUploadOutput {
        let id = create(s3, key);
        let parts = vec![
            upload(s3, key, &id, 1, b"aaaa"),
            upload(s3, key, &id, 2, b"bbbb"),
            upload(s3, key, &id, 3, b"cc"),
        ];
        s3.complete_multipart_upload(&complete_req(key, &id, parts))
            .unwrap()
    }

    fn code(err: &S3Error) -> &str {
        err.code.as_deref().unwrap_or("")
    }

    #[derive(Default)]
    struct Progress(AtomicUsize);
    impl BodyObserver for Progress {
        fn on_chunk(&self, len: usize) -> Result<(), S3Error> {
            self.0.fetch_add(len, Ordering::SeqCst);
            Ok(())
        }
        fn on_rewind(&self, _: usize) {}
    }

    struct FailAfter(usize);
    impl BodyObserver for FailAfter {
        fn on_chunk(&self, len: usize) -> Result<(), S3Error> {
            if len > 0 && self.0 == 0 {
                return Err(S3Error::new(S3ErrorKind::Cancelled, "PutObject", "stop"));
            }
            Ok(())
        }
        fn on_rewind(&self, _: usize) {}
    }

    // --- objects, ETags, attributes -------------------------------------------------

    #[test]
    fn put_then_get_round_trips_bytes_and_etag() {
        let s3 = fake();
        let put = put(&s3, "k", b"hello");
        let (body, out) = get(&s3, &get_req("k")).unwrap();
        assert_eq!(body, b"hello");
        assert_eq!(out.etag, put.etag);
        assert_eq!(out.content_length, 5);
        assert_eq!(out.bytes_received, 5);
        assert_eq!(out.content_range, None);
        assert_eq!(out.parts_count, None);
    }

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
    fn http_dates_are_valid_and_parse_back() {
        assert_eq!(http_date(CLOCK_BASE_SECS), "Mon, 01 Jan 2024 00:00:00 GMT");
        assert_eq!(http_date(951_782_400), "Tue, 29 Feb 2000 00:00:00 GMT");
        for secs in [0, 951_782_400, CLOCK_BASE_SECS + 86_399, 4_102_444_800] {
            assert_eq!(parse_http_date(&http_date(secs)), Some(secs));
        }
        assert_eq!(parse_http_date("yesterday"), None);
    }

    #[test]
    fn head_of_missing_key_is_404_not_found() {
        let s3 = fake();
        let err = s3.head_object(&head_req("nope")).unwrap_err();
        assert_eq!(err.kind(), S3ErrorKind::NotFound);
        assert_eq!(err.status, Some(404));
        assert_eq!(code(&err), "NotFound");
        assert_eq!((err.bucket.as_str(), err.key.as_str()), (B, "nope"));
        assert_eq!(err.operation, "HeadObject");
    }

    #[test]
    fn get_of_missing_key_is_no_such_key() {
        let s3 = fake();
        let err = get(&s3, &get_req("nope")).unwrap_err();
        assert_eq!(err.kind(), S3ErrorKind::NotFound);
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

    // --- ranges, preconditions, parts -------------------------------------------------

    #[test]
    fn range_is_inclusive_and_reports_content_range() {
        let s3 = fake();
        put(&s3, "k", b"0123456789");
        let mut req = get_req("k");
        req.range = Some(ByteRange::inclusive(2, 5));
        let (body, out) = get(&s3, &req).unwrap();
        assert_eq!(body, b"2345");
        assert_eq!(out.content_length, 4);
        assert_eq!(
            out.content_range,
            Some(ContentRange {
                start: 2,
                end: 5,
                total: 10
            })
        );
    }

    #[test]
    fn open_ended_range_runs_to_the_end() {
        let s3 = fake();
        put(&s3, "k", b"0123456789");
        let mut req = get_req("k");
        req.range = Some(ByteRange::from(7));
        let (body, out) = get(&s3, &req).unwrap();
        assert_eq!(body, b"789");
        assert_eq!(out.content_range.unwrap().end, 9);
    }

    #[test]
    fn range_past_the_end_is_clamped_to_the_object() {
        let s3 = fake();
        put(&s3, "k", b"0123456789");
        let mut req = get_req("k");
        req.range = Some(ByteRange::inclusive(8, 100));
        let (body, out) = get(&s3, &req).unwrap();
        assert_eq!(body, b"89");
        assert_eq!(out.content_range.unwrap().total, 10);
    }

    #[test]
    fn range_starting_beyond_the_end_is_416_invalid_range() {
        let s3 = fake();
        put(&s3, "k", b"0123456789");
        let mut req = get_req("k");
        req.range = Some(ByteRange::from(10));
        let err = get(&s3, &req).unwrap_err();
        assert_eq!(err.kind(), S3ErrorKind::InvalidRange);
        assert_eq!(err.status, Some(416));
        assert_eq!(code(&err), "InvalidRange");
    }

    #[test]
    fn any_range_on_an_empty_object_is_416() {
        let s3 = fake();
        put(&s3, "empty", b"");
        let mut req = get_req("empty");
        req.range = Some(ByteRange::inclusive(0, 0));
        assert_eq!(
            get(&s3, &req).unwrap_err().kind(),
            S3ErrorKind::InvalidRange
        );
        // Without a range the empty object reads fine.
        let (body, out) = get(&s3, &get_req("empty")).unwrap();
        assert!(body.is_empty());
        assert_eq!(out.content_length, 0);
    }

    #[test]
    fn if_match_mismatch_is_412_and_a_match_passes() {
        let s3 = fake();
        let etag = put(&s3, "k", b"v1").etag.unwrap();
        let mut req = get_req("k");
        req.if_match = Some("\"0000\"".into());
        let err = get(&s3, &req).unwrap_err();
        assert_eq!(err.kind(), S3ErrorKind::PreconditionFailed);
        assert_eq!(err.status, Some(412));
        req.if_match = Some(etag.clone());
        assert!(get(&s3, &req).is_ok());
        let mut head = head_req("k");
        head.if_match = Some("\"0000\"".into());
        assert_eq!(
            s3.head_object(&head).unwrap_err().kind(),
            S3ErrorKind::PreconditionFailed
        );
        head.if_match = Some(etag);
        assert!(s3.head_object(&head).is_ok());
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
    fn part_number_returns_that_part_with_content_range_and_parts_count() {
        let s3 = fake();
        let done = multipart_object(&s3, "mp");
        let mut req = get_req("mp");
        req.part_number = Some(2);
        let (body, out) = get(&s3, &req).unwrap();
        assert_eq!(body, b"bbbb");
        assert_eq!(out.parts_count, Some(3));
        assert_eq!(out.etag, done.etag);
        assert_eq!(
            out.content_range,
            Some(ContentRange {
                start: 4,
                end: 7,
                total: 10
            })
        );
        let mut head = head_req("mp");
        head.part_number = Some(3);
        let head = s3.head_object(&head).unwrap();
        assert_eq!((head.content_length, head.parts_count), (2, Some(3)));
    }

    #[test]
    fn part_number_beyond_the_count_is_416() {
        let s3 = fake();
        multipart_object(&s3, "mp");
        let mut req = get_req("mp");
        req.part_number = Some(4);
        let err = get(&s3, &req).unwrap_err();
        assert_eq!(err.kind(), S3ErrorKind::InvalidRange);
        assert_eq!(err.status, Some(416));
    }

    #[test]
    fn part_one_of_a_single_put_object_is_the_whole_object() {
        let s3 = fake();
        put(&s3, "k", b"whole");
        let mut req = get_req("k");
        req.part_number = Some(1);
        let (body, out) = get(&s3, &req).unwrap();
        assert_eq!(body, b"whole");
        assert_eq!(out.parts_count, None);
        req.part_number = Some(2);
        assert_eq!(
            get(&s3, &req).unwrap_err().kind(),
            S3ErrorKind::InvalidRange
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

    // --- streaming into sinks -------------------------------------------------------

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
    fn a_failing_sink_stops_the_download_and_its_error_is_returned() {
        let s3 = fake().with_get_chunk_size(2);
        put(&s3, "k", b"0123456789");
        let mut seen = 0;
        let mut sink = |data: &[u8]| -> Result<(), S3Error> {
            seen += data.len();
            if seen >= 4 {
                return Err(S3Error::new(S3ErrorKind::Cancelled, "GetObject", "full"));
            }
            Ok(())
        };
        let err = s3.get_object(&get_req("k"), &mut sink).unwrap_err();
        assert_eq!(err.kind(), S3ErrorKind::Cancelled);
        assert_eq!(err.message, "full");
        assert_eq!(seen, 4);
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

    // --- request bodies ---------------------------------------------------------------

    #[test]
    fn put_pulls_the_body_through_its_observer() {
        let s3 = fake();
        let progress = Arc::new(Progress::default());
        let mut body = RequestBody::new(vec![1u8; 10])
            .with_chunk_size(3)
            .with_observer(progress.clone());
        s3.put_object(&put_req("k"), &mut body).unwrap();
        assert_eq!(progress.0.load(Ordering::SeqCst), 10);
    }

    #[test]
    fn a_failing_body_returns_its_error_and_stores_nothing() {
        let s3 = fake();
        let mut body = RequestBody::new(vec![1u8; 10]).with_observer(Arc::new(FailAfter(0)));
        let err = s3.put_object(&put_req("k"), &mut body).unwrap_err();
        assert_eq!(err.kind(), S3ErrorKind::Cancelled);
        assert!(s3.object(B, "k").is_none());

        let id = create(&s3, "mp");
        let mut body = RequestBody::new(vec![1u8; 10]).with_observer(Arc::new(FailAfter(0)));
        let err = s3
            .upload_part(&part_req("mp", &id, 1), &mut body)
            .unwrap_err();
        assert_eq!(err.kind(), S3ErrorKind::Cancelled);
        let err = s3
            .complete_multipart_upload(&complete_req(
                "mp",
                &id,
                vec![CompletedPart::new(1, "\"x\"")],
            ))
            .unwrap_err();
        assert_eq!(code(&err), "InvalidPart");
    }

    // --- SSE-C and checksums ----------------------------------------------------------

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
        complete.checksums.checksum_type = Some("FULL_OBJECT".into());
        assert_eq!(
            code(&s3.complete_multipart_upload(&complete).unwrap_err()),
            "BadDigest"
        );
        complete.checksums.crc32c = Some("d2hvbGU=-1".into());
        complete.checksums.checksum_type = Some("COMPOSITE".into());
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
        assert_eq!(stored.checksum_type.as_deref(), Some("COMPOSITE"));
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

    // --- multipart ----------------------------------------------------------------------

    #[test]
    fn complete_joins_the_parts_and_the_etag_ends_in_part_count() {
        let s3 = fake();
        let done = multipart_object(&s3, "mp");
        let etag = done.etag.unwrap();
        assert!(etag.starts_with('"') && etag.ends_with("-3\""), "{etag}");
        let object = s3.object(B, "mp").unwrap();
        assert_eq!(object.bytes(), b"aaaabbbbcc");
        assert_eq!(object.parts_count(), Some(3));
        assert_eq!(
            object.parts.iter().map(|p| p.size).collect::<Vec<_>>(),
            [4, 4, 2]
        );
        assert!(s3.list_multipart_uploads(B).is_empty());
    }

    #[test]
    fn reuploading_a_part_replaces_it() {
        let s3 = fake();
        let id = create(&s3, "mp");
        upload(&s3, "mp", &id, 1, b"old!");
        let p1 = upload(&s3, "mp", &id, 1, b"new!");
        s3.complete_multipart_upload(&complete_req("mp", &id, vec![p1]))
            .unwrap();
        assert_eq!(s3.object(B, "mp").unwrap().bytes(), b"new!");
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
    fn attributes_from_create_end_up_on_the_completed_object() {
        let s3 = fake();
        let attributes = ObjectAttributes {
            content_type: Some("video/mp4".into()),
            metadata: BTreeMap::from([("m".into(), "1".into())]),
            ..Default::default()
        };
        let id = s3
            .create_multipart_upload(&CreateMultipartUploadRequest {
                bucket: B.into(),
                key: "mp".into(),
                attributes: attributes.clone(),
                ..Default::default()
            })
            .unwrap()
            .upload_id;
        let p1 = upload(&s3, "mp", &id, 1, b"data");
        s3.complete_multipart_upload(&complete_req("mp", &id, vec![p1]))
            .unwrap();
        assert_eq!(
            s3.head_object(&head_req("mp")).unwrap().attributes,
            attributes
        );
    }

    // --- copies -------------------------------------------------------------------------

    fn copy_req(src: &str, dst: &str) -> CopyObjectRequest {
        CopyObjectRequest {
            bucket: B.into(),
            key: dst.into(),
            source: CopySource::new(B, src),
            ..Default::default()
        }
    }

    fn seed_with_metadata(s3: &FakeS3, key: &str) -> FakeObject {
        let attributes = ObjectAttributes {
            content_type: Some("image/png".into()),
            metadata: BTreeMap::from([("from".into(), "source".into())]),
            tagging: Some("t=1".into()),
            ..Default::default()
        };
        s3.put_object_with(B, key, b"payload".to_vec(), attributes)
    }

    #[test]
    fn copy_with_copy_directive_keeps_the_source_metadata() {
        let s3 = fake();
        let source = seed_with_metadata(&s3, "src");
        let mut req = copy_req("src", "dst");
        req.attributes.content_type = Some("ignored/type".into());
        req.attributes.storage_class = Some("GLACIER".into());
        let out = s3.copy_object(&req).unwrap();
        let dst = s3.object(B, "dst").unwrap();
        assert_eq!(dst.bytes(), b"payload");
        assert_eq!(out.etag.as_deref(), Some(source.etag.as_str()));
        assert_eq!(dst.attributes.content_type.as_deref(), Some("image/png"));
        assert_eq!(dst.metadata()["from"], "source");
        assert_eq!(dst.attributes.tagging.as_deref(), Some("t=1"));
        // Storage class is never copied: it comes from the request.
        assert_eq!(dst.attributes.storage_class.as_deref(), Some("GLACIER"));
    }

    #[test]
    fn copy_with_replace_directive_takes_the_request_metadata() {
        let s3 = fake();
        seed_with_metadata(&s3, "src");
        let mut req = copy_req("src", "dst");
        req.metadata_directive = Some("REPLACE".into());
        req.attributes.content_type = Some("text/plain".into());
        req.attributes.metadata.insert("new".into(), "yes".into());
        s3.copy_object(&req).unwrap();
        let dst = s3.object(B, "dst").unwrap();
        assert_eq!(dst.attributes.content_type.as_deref(), Some("text/plain"));
        assert_eq!(dst.metadata().len(), 1);
        assert_eq!(dst.metadata()["new"], "yes");
        // Tags follow their own directive (COPY by default).
        assert_eq!(dst.attributes.tagging.as_deref(), Some("t=1"));
    }

    #[test]
    fn copy_rejects_an_unknown_directive() {
        let s3 = fake();
        seed_with_metadata(&s3, "src");
        let mut req = copy_req("src", "dst");
        req.metadata_directive = Some("MERGE".into());
        assert_eq!(code(&s3.copy_object(&req).unwrap_err()), "InvalidArgument");
    }

    #[test]
    fn copy_source_if_match_mismatch_is_412() {
        let s3 = fake();
        let source = seed_with_metadata(&s3, "src");
        let mut req = copy_req("src", "dst");
        req.conditions.if_match = Some("\"stale\"".into());
        let err = s3.copy_object(&req).unwrap_err();
        assert_eq!(err.kind(), S3ErrorKind::PreconditionFailed);
        assert_eq!(err.status, Some(412));
        assert!(s3.object(B, "dst").is_none());
        req.conditions.if_match = Some(source.etag);
        s3.copy_object(&req).unwrap();
    }

    #[test]
    fn copy_source_date_and_none_match_conditions_follow_s3() {
        let s3 = fake();
        let source = seed_with_metadata(&s3, "src");
        let modified = parse_http_date(&source.last_modified).unwrap();
        let mut req = copy_req("src", "dst");
        req.conditions.if_unmodified_since = Some(http_date(modified - 1));
        assert_eq!(
            s3.copy_object(&req).unwrap_err().kind(),
            S3ErrorKind::PreconditionFailed
        );
        // If-Match wins over If-Unmodified-Since.
        req.conditions.if_match = Some(source.etag.clone());
        s3.copy_object(&req).unwrap();

        let mut req = copy_req("src", "dst");
        req.conditions.if_modified_since = Some(http_date(modified));
        assert_eq!(
            s3.copy_object(&req).unwrap_err().kind(),
            S3ErrorKind::PreconditionFailed
        );
        req.conditions.if_modified_since = Some(http_date(modified - 1));
        s3.copy_object(&req).unwrap();

        let mut req = copy_req("src", "dst");
        req.conditions.if_none_match = Some(source.etag);
        assert_eq!(
            s3.copy_object(&req).unwrap_err().kind(),
            S3ErrorKind::PreconditionFailed
        );
    }

    #[test]
    fn copying_an_object_onto_itself_unchanged_is_rejected() {
        let s3 = fake();
        seed_with_metadata(&s3, "k");
        let mut req = copy_req("k", "k");
        let err = s3.copy_object(&req).unwrap_err();
        assert_eq!((err.status, code(&err)), (Some(400), "InvalidRequest"));
        req.metadata_directive = Some("REPLACE".into());
        s3.copy_object(&req).unwrap();
    }

    #[test]
    fn copy_of_a_missing_source_is_no_such_key() {
        let s3 = fake();
        let err = s3.copy_object(&copy_req("nope", "dst")).unwrap_err();
        assert_eq!(code(&err), "NoSuchKey");
    }

    #[test]
    fn copy_of_an_sse_c_source_needs_its_key() {
        let s3 = fake();
        let key = SseCustomerKey::new("AES256", "a2V5", "bWQ1");
        let mut put = put_req("src");
        put.sse_customer = Some(key.clone());
        s3.put_object(&put, &mut RequestBody::new(b"x".to_vec()))
            .unwrap();
        let mut req = copy_req("src", "dst");
        assert_eq!(code(&s3.copy_object(&req).unwrap_err()), "InvalidRequest");
        req.copy_source_sse_customer = Some(key);
        s3.copy_object(&req).unwrap();
        assert_eq!(s3.object(B, "dst").unwrap().sse_customer, None);
    }

    fn part_copy_req(upload_id: &str, n: u32, src: &str) -> UploadPartCopyRequest {
        UploadPartCopyRequest {
            bucket: B.into(),
            key: "dst".into(),
            upload_id: upload_id.into(),
            part_number: n,
            source: CopySource::new(B, src),
            ..Default::default()
        }
    }

    #[test]
    fn upload_part_copy_copies_the_source_range() {
        let s3 = fake();
        put(&s3, "src", b"0123456789");
        let id = create(&s3, "dst");
        let mut first = part_copy_req(&id, 1, "src");
        first.source_range = Some((0, 5));
        let mut second = part_copy_req(&id, 2, "src");
        second.source_range = Some((6, 9));
        let e1 = s3.upload_part_copy(&first).unwrap().etag.unwrap();
        let e2 = s3.upload_part_copy(&second).unwrap().etag.unwrap();
        s3.complete_multipart_upload(&complete_req(
            "dst",
            &id,
            vec![CompletedPart::new(1, e1), CompletedPart::new(2, e2)],
        ))
        .unwrap();
        let dst = s3.object(B, "dst").unwrap();
        assert_eq!(dst.bytes(), b"0123456789");
        assert_eq!(dst.parts_count(), Some(2));
    }

    #[test]
    fn upload_part_copy_without_range_copies_the_whole_source() {
        let s3 = fake();
        put(&s3, "src", b"whole");
        let id = create(&s3, "dst");
        let etag = s3
            .upload_part_copy(&part_copy_req(&id, 1, "src"))
            .unwrap()
            .etag
            .unwrap();
        s3.complete_multipart_upload(&complete_req("dst", &id, vec![CompletedPart::new(1, etag)]))
            .unwrap();
        assert_eq!(s3.object(B, "dst").unwrap().bytes(), b"whole");
    }

    #[test]
    fn upload_part_copy_rejects_a_range_outside_the_source() {
        let s3 = fake();
        put(&s3, "src", b"0123456789");
        let id = create(&s3, "dst");
        let mut req = part_copy_req(&id, 1, "src");
        req.source_range = Some((5, 10));
        let err = s3.upload_part_copy(&req).unwrap_err();
        assert_eq!((err.status, code(&err)), (Some(400), "InvalidArgument"));
    }

    #[test]
    fn upload_part_copy_checks_source_conditions_and_the_upload() {
        let s3 = fake();
        put(&s3, "src", b"0123456789");
        let id = create(&s3, "dst");
        let mut req = part_copy_req(&id, 1, "src");
        req.conditions.if_match = Some("\"stale\"".into());
        assert_eq!(
            s3.upload_part_copy(&req).unwrap_err().kind(),
            S3ErrorKind::PreconditionFailed
        );
        let req = part_copy_req("no-such-upload", 1, "src");
        assert_eq!(
            code(&s3.upload_part_copy(&req).unwrap_err()),
            "NoSuchUpload"
        );
    }

    // --- deletes and versions -----------------------------------------------------------

    fn delete_req(key: &str) -> DeleteObjectRequest {
        DeleteObjectRequest {
            bucket: B.into(),
            key: key.into(),
            ..Default::default()
        }
    }

    #[test]
    fn delete_is_idempotent() {
        let s3 = fake();
        put(&s3, "k", b"x");
        s3.delete_object(&delete_req("k")).unwrap();
        assert!(s3.object(B, "k").is_none());
        s3.delete_object(&delete_req("k")).unwrap();
        s3.delete_object(&delete_req("never-existed")).unwrap();
        assert!(s3.keys(B).is_empty());
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

    // --- recording ----------------------------------------------------------------------

    #[test]
    fn every_call_is_recorded_in_order_with_body_lengths() {
        let s3 = fake();
        put(&s3, "k", b"12345");
        s3.head_object(&head_req("k")).unwrap();
        let _ = get(&s3, &get_req("missing"));
        let id = create(&s3, "mp");
        upload(&s3, "mp", &id, 1, b"abc");
        let ops: Vec<Operation> = s3.calls().iter().map(RecordedCall::operation).collect();
        assert_eq!(
            ops,
            [
                Operation::PutObject,
                Operation::HeadObject,
                Operation::GetObject,
                Operation::CreateMultipartUpload,
                Operation::UploadPart
            ]
        );
        match &s3.calls_of(Operation::PutObject)[0] {
            RecordedCall::PutObject { request, body_len } => {
                assert_eq!((request.key.as_str(), *body_len), ("k", 5));
            }
            other => panic!("{other:?}"),
        }
        match &s3.calls_of(Operation::UploadPart)[0] {
            RecordedCall::UploadPart { request, body_len } => {
                assert_eq!((request.part_number, *body_len), (1, 3));
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(s3.count(Operation::GetObject), 1);
        assert_eq!(s3.total_calls(), 5);
        assert_eq!(s3.calls()[2].key(), "missing");
        assert_eq!(s3.calls()[2].bucket(), B);
        s3.clear_calls();
        assert_eq!(s3.total_calls(), 0);
    }

    #[test]
    fn seeding_helpers_are_not_recorded() {
        let s3 = FakeS3::new();
        s3.put_object_bytes("auto-created", "k", b"x".to_vec());
        s3.replace_object("auto-created", "k", b"y".to_vec());
        assert_eq!(s3.total_calls(), 0);
        assert_eq!(s3.object("auto-created", "k").unwrap().bytes(), b"y");
    }

    #[test]
    #[should_panic(expected = "no object")]
    fn replace_object_panics_without_an_object() {
        fake().replace_object(B, "nope", b"x".to_vec());
    }

    #[test]
    fn operation_names_match_the_s3_api() {
        assert_eq!(Operation::UploadPartCopy.as_str(), "UploadPartCopy");
        assert_eq!(Operation::ALL.len(), 10);
        for op in Operation::ALL {
            assert_eq!(op.to_string(), op.as_str());
        }
    }

    // --- faults -------------------------------------------------------------------------

    #[test]
    fn fail_nth_fails_only_that_call() {
        let s3 = fake();
        put(&s3, "k", b"x");
        s3.fail_nth(Operation::HeadObject, 2, InjectedError::internal_error());
        assert!(s3.head_object(&head_req("k")).is_ok());
        let err = s3.head_object(&head_req("k")).unwrap_err();
        assert_eq!((err.status, code(&err)), (Some(500), "InternalError"));
        assert_eq!(err.kind(), S3ErrorKind::Transient);
        assert_eq!((err.operation, err.key.as_str()), ("HeadObject", "k"));
        assert!(s3.head_object(&head_req("k")).is_ok());
        // Other operations do not count.
        assert!(get(&s3, &get_req("k")).is_ok());
    }

    #[test]
    fn fail_nth_counts_from_when_it_was_injected() {
        let s3 = fake();
        put(&s3, "k", b"x");
        s3.head_object(&head_req("k")).unwrap();
        s3.fail_nth(Operation::HeadObject, 1, InjectedError::access_denied());
        assert_eq!(
            s3.head_object(&head_req("k")).unwrap_err().kind(),
            S3ErrorKind::AccessDenied
        );
    }

    #[test]
    fn fail_always_fails_until_cleared() {
        let s3 = fake();
        s3.fail_always(
            Operation::CreateMultipartUpload,
            InjectedError::access_denied(),
        );
        let req = CreateMultipartUploadRequest {
            bucket: B.into(),
            key: "mp".into(),
            ..Default::default()
        };
        for _ in 0..3 {
            assert_eq!(
                s3.create_multipart_upload(&req).unwrap_err().kind(),
                S3ErrorKind::AccessDenied
            );
        }
        assert!(s3.list_multipart_uploads(B).is_empty());
        s3.clear_faults();
        s3.create_multipart_upload(&req).unwrap();
    }

    #[test]
    fn throttle_answers_slow_down_that_many_times() {
        let s3 = fake();
        put(&s3, "k", b"x");
        s3.throttle(Operation::GetObject, 2);
        for _ in 0..2 {
            let err = get(&s3, &get_req("k")).unwrap_err();
            assert_eq!((err.status, code(&err)), (Some(503), "SlowDown"));
            assert_eq!(err.kind(), S3ErrorKind::Throttled);
        }
        assert!(get(&s3, &get_req("k")).is_ok());
        assert_eq!(s3.count(Operation::GetObject), 3);
    }

    #[test]
    fn truncate_body_delivers_only_the_first_bytes_then_fails() {
        let s3 = fake().with_get_chunk_size(3);
        put(&s3, "k", b"0123456789");
        s3.truncate_body(4, 1);
        let mut sink = Vec::new();
        let err = s3.get_object(&get_req("k"), &mut sink).unwrap_err();
        assert_eq!(err.kind(), S3ErrorKind::TruncatedBody);
        assert!(err.is_retryable());
        assert_eq!(sink, b"0123");
        // Only once: the retry reads the whole body.
        assert_eq!(get(&s3, &get_req("k")).unwrap().0, b"0123456789");
    }

    #[test]
    fn truncate_body_applies_to_ranged_reads_too() {
        let s3 = fake();
        put(&s3, "k", b"0123456789");
        s3.truncate_body(1, 1);
        let mut req = get_req("k");
        req.range = Some(ByteRange::inclusive(5, 9));
        let mut sink = Vec::new();
        let err = s3.get_object(&req, &mut sink).unwrap_err();
        assert_eq!(
            (err.kind(), err.status),
            (S3ErrorKind::TruncatedBody, Some(206))
        );
        assert_eq!(sink, b"5");
    }

    #[test]
    fn delay_holds_the_call_back() {
        let s3 = fake();
        put(&s3, "k", b"x");
        s3.delay(Operation::HeadObject, Duration::from_millis(50));
        let started = Instant::now();
        s3.head_object(&head_req("k")).unwrap();
        assert!(started.elapsed() >= Duration::from_millis(50));
    }

    #[test]
    fn a_delayed_call_does_not_hold_up_other_calls() {
        let s3 = fake();
        put(&s3, "k", b"x");
        s3.delay(Operation::HeadObject, Duration::from_secs(2));
        let other = s3.clone();
        let sleeper = std::thread::spawn(move || other.head_object(&head_req("k")));
        // Once the HEAD is recorded it is asleep (or about to be), outside the lock.
        while s3.count(Operation::HeadObject) == 0 {
            std::thread::yield_now();
        }
        let started = Instant::now();
        get(&s3, &get_req("k")).unwrap();
        assert!(started.elapsed() < Duration::from_secs(1));
        assert!(!sleeper.is_finished());
        sleeper.join().unwrap().unwrap();
    }

    #[test]
    fn on_call_hook_sees_every_call_and_can_fail_one() {
        let s3 = fake();
        put(&s3, "k", b"x");
        let seen = Arc::new(AtomicUsize::new(0));
        let counter = seen.clone();
        s3.on_call(move |call| {
            counter.fetch_add(1, Ordering::SeqCst);
            match call {
                RecordedCall::GetObject(req) if req.range.is_some() => {
                    Some(InjectedError::no_such_key().to_s3_error(
                        call.operation(),
                        call.bucket(),
                        call.key(),
                    ))
                }
                _ => None,
            }
        });
        assert!(get(&s3, &get_req("k")).is_ok());
        let mut ranged = get_req("k");
        ranged.range = Some(ByteRange::from(0));
        let err = get(&s3, &ranged).unwrap_err();
        assert_eq!(
            (err.kind(), err.operation),
            (S3ErrorKind::NotFound, "GetObject")
        );
        s3.head_object(&head_req("k")).unwrap();
        assert_eq!(seen.load(Ordering::SeqCst), 3);
    }

    #[test]
    fn a_hook_may_call_back_into_the_fake() {
        let s3 = fake();
        put(&s3, "k", b"x");
        let inner = s3.clone();
        s3.on_call(move |_| {
            // Simulate a concurrent writer racing the read.
            inner.replace_object(B, "k", b"raced".to_vec());
            None
        });
        assert_eq!(get(&s3, &get_req("k")).unwrap().0, b"raced");
        s3.clear_faults();
    }

    #[test]
    fn clear_faults_removes_faults_and_hooks() {
        let s3 = fake();
        put(&s3, "k", b"x");
        s3.fail_always(Operation::GetObject, InjectedError::internal_error());
        s3.throttle(Operation::HeadObject, 5);
        s3.truncate_body(0, 5);
        s3.on_call(|call| {
            Some(InjectedError::access_denied().to_s3_error(call.operation(), "", ""))
        });
        s3.clear_faults();
        assert!(get(&s3, &get_req("k")).is_ok());
        assert!(s3.head_object(&head_req("k")).is_ok());
    }

    #[test]
    fn an_injected_upload_failure_still_pulls_the_body_and_stores_nothing() {
        let s3 = fake();
        s3.fail_nth(Operation::PutObject, 1, InjectedError::internal_error());
        let progress = Arc::new(Progress::default());
        let mut body = RequestBody::new(vec![1u8; 10]).with_observer(progress.clone());
        assert!(s3.put_object(&put_req("k"), &mut body).is_err());
        assert_eq!(progress.0.load(Ordering::SeqCst), 10);
        assert!(s3.object(B, "k").is_none());
        body.rewind();
        s3.put_object(&put_req("k"), &mut body).unwrap();
        assert_eq!(s3.object(B, "k").unwrap().bytes().len(), 10);
    }

    #[test]
    fn transport_errors_carry_their_kind_without_a_status() {
        let s3 = fake();
        put(&s3, "k", b"x");
        s3.fail_nth(Operation::GetObject, 1, InjectedError::timeout());
        s3.fail_nth(Operation::GetObject, 2, InjectedError::connection_reset());
        let err = get(&s3, &get_req("k")).unwrap_err();
        assert_eq!((err.kind(), err.status), (S3ErrorKind::Timeout, None));
        let err = get(&s3, &get_req("k")).unwrap_err();
        assert_eq!(err.kind(), S3ErrorKind::Transient);
    }

    #[test]
    fn an_error_inside_a_200_is_classified_by_its_code() {
        let s3 = fake();
        put(&s3, "src", b"x");
        s3.fail_nth(
            Operation::CopyObject,
            1,
            InjectedError::new(200, "InternalError"),
        );
        let err = s3.copy_object(&copy_req("src", "dst")).unwrap_err();
        assert_eq!(
            (err.status, err.kind()),
            (Some(200), S3ErrorKind::Transient)
        );
    }

    #[test]
    fn faults_apply_in_order_and_the_first_wins() {
        let s3 = fake();
        put(&s3, "k", b"x");
        s3.fail_nth(Operation::GetObject, 1, InjectedError::access_denied());
        s3.throttle(Operation::GetObject, 1);
        assert_eq!(
            get(&s3, &get_req("k")).unwrap_err().kind(),
            S3ErrorKind::AccessDenied
        );
        // The throttle was not used up by the call the first fault failed.
        assert_eq!(
            get(&s3, &get_req("k")).unwrap_err().kind(),
            S3ErrorKind::Throttled
        );
        assert!(get(&s3, &get_req("k")).is_ok());
    }

    #[test]
    fn the_fake_is_shared_across_threads() {
        let s3 = fake();
        let id = create(&s3, "mp");
        s3.throttle(Operation::UploadPart, 3);
        let handles: Vec<_> = (1..=8u32)
            .map(|n| {
                let s3 = s3.clone();
                let id = id.clone();
                std::thread::spawn(move || {
                    loop {
                        let mut body = RequestBody::new(vec![n as u8; 4]);
                        match s3.upload_part(&part_req("mp", &id, n), &mut body) {
                            Ok(out) => return CompletedPart::new(n, out.etag.unwrap()),
                            Err(e) if e.is_retryable() => continue,
                            Err(e) => panic!("{e}"),
                        }
                    }
                })
            })
            .collect();
        let parts: Vec<CompletedPart> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        s3.complete_multipart_upload(&complete_req("mp", &id, parts))
            .unwrap();
        assert_eq!(s3.count(Operation::UploadPart), 8 + 3);
        assert_eq!(s3.object(B, "mp").unwrap().data.len(), 32);
    }

    #[test]
    fn the_fake_works_as_a_shared_trait_object() {
        let s3 = fake();
        let api: Arc<dyn S3Api> = Arc::new(s3.clone());
        api.put_object(&put_req("k"), &mut RequestBody::new(b"dyn".to_vec()))
            .unwrap();
        assert_eq!(s3.object(B, "k").unwrap().bytes(), b"dyn");
    }
}
