//! The in-memory fake S3 (`FakeS3`): its one shared state, construction, seeding and
//! inspection. Each S3 concept it models lives in a sibling file; the user-facing
//! documentation is on `s3transfer::testing`.

mod api;
mod calls;
mod checksums;
mod copies;
mod dates;
mod etag;
mod faults;
mod listing;
mod multipart;
mod objects;
mod reads;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use bytes::Bytes;
use parking_lot::Mutex;

use crate::client::ObjectAttributes;

pub use calls::{Operation, RecordedCall};
pub use faults::InjectedError;
pub use objects::{FakeObject, FakePart};

use faults::{Fault, Hook};
use multipart::Upload;
use objects::Bucket;

/// S3's minimum size of every part but the last.
const DEFAULT_MIN_PART_SIZE: u64 = 5 * 1024 * 1024;
/// Chunk size GetObject bodies are delivered in unless configured.
const DEFAULT_GET_CHUNK: usize = 64 * 1024;

struct State {
    buckets: BTreeMap<String, Bucket>,
    uploads: BTreeMap<String, Upload>,
    calls: Vec<RecordedCall>,
    faults: Vec<Fault>,
    hooks: Vec<Hook>,
    /// Seconds since [`dates::CLOCK_BASE_SECS`]; advanced by every write.
    clock: u64,
    /// Source of upload and version ids.
    next_id: u64,
    min_part_size: u64,
    get_chunk_size: usize,
}

/// An in-memory S3 implementing [`S3Api`](crate::S3Api), with call recording and fault injection.
///
/// Cloning gives another handle to the same store, so a test can keep one handle while
/// the code under test owns another (as an `Arc<dyn S3Api>`, say). All methods may be
/// called from any thread.
///
/// ETags are S3's: the quoted MD5 of the content for PutObject, UploadPart and copies
/// (as S3 for objects stored without a KMS or customer key), and for
/// CompleteMultipartUpload the MD5 of the parts' binary MD5s followed by `-N`, N being
/// the number of parts.
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
}
