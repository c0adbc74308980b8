//! What the fake records: the [`Operation`] each call was and the [`RecordedCall`] with
//! a copy of its request, kept in arrival order so tests can assert what was sent.

use std::fmt;

use super::FakeS3;
use crate::client::{
    AbortMultipartUploadRequest, CompleteMultipartUploadRequest, CopyObjectRequest,
    CreateMultipartUploadRequest, DeleteObjectRequest, GetObjectRequest, HeadObjectRequest,
    ListMultipartUploadsRequest, ListObjectsV2Request, ListPartsRequest, PutObjectRequest,
    UploadPartCopyRequest, UploadPartRequest,
};

/// One of the S3 operations of [`S3Api`](crate::S3Api), to target faults and filter
/// recorded calls.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Operation {
    /// [`S3Api::head_object`](crate::S3Api::head_object).
    HeadObject,
    /// [`S3Api::get_object`](crate::S3Api::get_object).
    GetObject,
    /// [`S3Api::put_object`](crate::S3Api::put_object).
    PutObject,
    /// [`S3Api::create_multipart_upload`](crate::S3Api::create_multipart_upload).
    CreateMultipartUpload,
    /// [`S3Api::upload_part`](crate::S3Api::upload_part).
    UploadPart,
    /// [`S3Api::complete_multipart_upload`](crate::S3Api::complete_multipart_upload).
    CompleteMultipartUpload,
    /// [`S3Api::abort_multipart_upload`](crate::S3Api::abort_multipart_upload).
    AbortMultipartUpload,
    /// [`S3Api::copy_object`](crate::S3Api::copy_object).
    CopyObject,
    /// [`S3Api::upload_part_copy`](crate::S3Api::upload_part_copy).
    UploadPartCopy,
    /// [`S3Api::delete_object`](crate::S3Api::delete_object).
    DeleteObject,
    /// [`S3Api::list_objects_v2`](crate::S3Api::list_objects_v2).
    ListObjectsV2,
    /// [`S3Api::list_parts`](crate::S3Api::list_parts).
    ListParts,
    /// [`S3Api::list_multipart_uploads`](crate::S3Api::list_multipart_uploads).
    ListMultipartUploads,
}

impl Operation {
    /// Every operation.
    pub const ALL: [Operation; 13] = [
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
        Operation::ListObjectsV2,
        Operation::ListParts,
        Operation::ListMultipartUploads,
    ];

    /// The name as in the S3 API reference and [`S3Error::operation`](crate::S3Error::operation)
    /// (`"UploadPart"`).
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
            Operation::ListObjectsV2 => "ListObjectsV2",
            Operation::ListParts => "ListParts",
            Operation::ListMultipartUploads => "ListMultipartUploads",
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
        /// The body's length ([`RequestBody::len`](crate::client::RequestBody::len)).
        body_len: u64,
    },
    /// A CreateMultipartUpload call.
    CreateMultipartUpload(CreateMultipartUploadRequest),
    /// An UploadPart call.
    UploadPart {
        /// The request.
        request: UploadPartRequest,
        /// The body's length ([`RequestBody::len`](crate::client::RequestBody::len)).
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
    /// A ListObjectsV2 call.
    ListObjectsV2(ListObjectsV2Request),
    /// A ListParts call.
    ListParts(ListPartsRequest),
    /// A ListMultipartUploads call.
    ListMultipartUploads(ListMultipartUploadsRequest),
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
            RecordedCall::ListObjectsV2(_) => Operation::ListObjectsV2,
            RecordedCall::ListParts(_) => Operation::ListParts,
            RecordedCall::ListMultipartUploads(_) => Operation::ListMultipartUploads,
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
            RecordedCall::ListObjectsV2(r) => &r.bucket,
            RecordedCall::ListParts(r) => &r.bucket,
            RecordedCall::ListMultipartUploads(r) => &r.bucket,
        }
    }

    /// The key the request named (the destination for copies; a listing's prefix).
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
            RecordedCall::ListObjectsV2(r) => r.prefix.as_deref().unwrap_or(""),
            RecordedCall::ListParts(r) => &r.key,
            RecordedCall::ListMultipartUploads(_) => "",
        }
    }
}

/// The call log, as a test reads it.
impl FakeS3 {
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
}
