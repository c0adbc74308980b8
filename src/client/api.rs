//! [`S3Api`]: the blocking, object-safe trait every backend implements and the engine
//! calls.

use super::types::*;
use super::{RequestBody, ResponseSink, S3Error};

/// The S3 calls a transfer makes, blocking and object-safe.
///
/// Implementations must be usable from many threads at once. Calls are made only from
/// the library's own worker threads. Bodies go out through [`RequestBody::next_chunk`]
/// and come back through a [`ResponseSink`], chunk by chunk; a backend must check that
/// it received as many bytes as the server announced (`Content-Length` /
/// `Content-Range`) and report a short body as [`S3ErrorKind::TruncatedBody`](crate::S3ErrorKind::TruncatedBody).
pub trait S3Api: Send + Sync {
    /// HeadObject.
    fn head_object(&self, request: &HeadObjectRequest) -> Result<HeadObjectOutput, S3Error>;

    /// GetObject: stream the body into `sink` and return the response headers with
    /// the number of bytes delivered.
    fn get_object(
        &self,
        request: &GetObjectRequest,
        sink: &mut dyn ResponseSink,
    ) -> Result<GetObjectOutput, S3Error>;

    /// PutObject with `body`.
    fn put_object(
        &self,
        request: &PutObjectRequest,
        body: &mut RequestBody,
    ) -> Result<PutObjectOutput, S3Error>;

    /// CreateMultipartUpload.
    fn create_multipart_upload(
        &self,
        request: &CreateMultipartUploadRequest,
    ) -> Result<CreateMultipartUploadOutput, S3Error>;

    /// UploadPart with `body`.
    fn upload_part(
        &self,
        request: &UploadPartRequest,
        body: &mut RequestBody,
    ) -> Result<UploadPartOutput, S3Error>;

    /// CompleteMultipartUpload. A 200 response whose body is an error must be returned
    /// as that error.
    fn complete_multipart_upload(
        &self,
        request: &CompleteMultipartUploadRequest,
    ) -> Result<CompleteMultipartUploadOutput, S3Error>;

    /// AbortMultipartUpload.
    fn abort_multipart_upload(&self, request: &AbortMultipartUploadRequest) -> Result<(), S3Error>;

    /// CopyObject. A 200 response whose body is an error must be returned as that error.
    fn copy_object(&self, request: &CopyObjectRequest) -> Result<CopyObjectOutput, S3Error>;

    /// UploadPartCopy. A 200 response whose body is an error must be returned as that
    /// error.
    fn upload_part_copy(
        &self,
        request: &UploadPartCopyRequest,
    ) -> Result<UploadPartCopyOutput, S3Error>;

    /// DeleteObject.
    fn delete_object(&self, request: &DeleteObjectRequest) -> Result<DeleteObjectOutput, S3Error>;

    /// ListParts: one page of the parts an open multipart upload holds. An upload
    /// that was completed or aborted is [`S3ErrorKind::NotFound`](crate::S3ErrorKind::NotFound).
    fn list_parts(&self, request: &ListPartsRequest) -> Result<ListPartsOutput, S3Error>;

    /// ListMultipartUploads: one page of the multipart uploads open in a bucket (what
    /// `s3transfer uploads ls` shows, so a paused upload is not forgotten). A caller
    /// asks for the next page with the returned markers until there are none. The
    /// default refuses, for a backend written before this call existed: transfers never
    /// make it.
    fn list_multipart_uploads(
        &self,
        request: &ListMultipartUploadsRequest,
    ) -> Result<ListMultipartUploadsOutput, S3Error> {
        let _ = request;
        Err(S3Error::new(
            crate::S3ErrorKind::Other,
            "ListMultipartUploads",
            "this backend cannot list multipart uploads",
        ))
    }

    /// ListObjectsV2: one page of keys. A caller asks for the next page with the
    /// returned continuation token until there is none, so memory holds one page.
    fn list_objects_v2(
        &self,
        request: &ListObjectsV2Request,
    ) -> Result<ListObjectsV2Output, S3Error>;

    /// Whether this backend sends flexible checksums (`x-amz-checksum-*`,
    /// `x-amz-sdk-checksum-algorithm`, `x-amz-checksum-type`) and returns stored ones
    /// with `checksum_mode`. Only then does the engine compute and validate checksums
    /// on its own; otherwise transfers run without them and report
    /// [`crate::Validation::Nothing`]. Default `false`, so a backend that would drop
    /// or refuse the fields keeps working.
    fn supports_checksums(&self) -> bool {
        false
    }
}
