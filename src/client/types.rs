//! The crate's own request and response types for the S3 calls a transfer makes.
//!
//! Every type is `Default` and `#[non_exhaustive]`: build one with `default()` and set
//! the fields you need. ETags are kept exactly as S3 returns them (quoted).

use super::model::*;

/// An inclusive byte range for a GET: `bytes=start-end`, or `bytes=start-` when open.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ByteRange {
    /// First byte.
    pub start: u64,
    /// Last byte (inclusive), or `None` for "to the end".
    pub end: Option<u64>,
}

impl ByteRange {
    /// `bytes=start-end` (inclusive).
    pub fn inclusive(start: u64, end: u64) -> Self {
        ByteRange {
            start,
            end: Some(end),
        }
    }

    /// `bytes=start-`.
    pub fn from(start: u64) -> Self {
        ByteRange { start, end: None }
    }

    /// The `Range` header value.
    pub fn header_value(&self) -> String {
        match self.end {
            Some(end) => format!("bytes={}-{}", self.start, end),
            None => format!("bytes={}-", self.start),
        }
    }
}

/// A parsed `Content-Range: bytes start-end/total` response header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ContentRange {
    /// First byte sent.
    pub start: u64,
    /// Last byte sent (inclusive).
    pub end: u64,
    /// Size of the whole object.
    pub total: u64,
}

impl ContentRange {
    /// Parse `bytes 0-99/1000`. `bytes */1000` (a 416's form) and malformed values
    /// give `None`.
    pub fn parse(value: &str) -> Option<ContentRange> {
        let rest = value.trim().strip_prefix("bytes")?.trim_start();
        let (range, total) = rest.split_once('/')?;
        let (start, end) = range.split_once('-')?;
        let cr = ContentRange {
            start: start.trim().parse().ok()?,
            end: end.trim().parse().ok()?,
            total: total.trim().parse().ok()?,
        };
        (cr.start <= cr.end && cr.end < cr.total).then_some(cr)
    }

    /// Number of bytes in the range.
    pub fn len(&self) -> u64 {
        self.end - self.start + 1
    }

    /// Always false: a content range holds at least one byte.
    pub fn is_empty(&self) -> bool {
        false
    }
}

/// HeadObject.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct HeadObjectRequest {
    /// Bucket.
    pub bucket: String,
    /// Key.
    pub key: String,
    /// Version to describe.
    pub version_id: Option<String>,
    /// `If-Match`.
    pub if_match: Option<String>,
    /// `partNumber`: describe only that part.
    pub part_number: Option<u32>,
    /// SSE-C key of the object.
    pub sse_customer: Option<SseCustomerKey>,
    /// Request payer and expected owner.
    pub context: RequestContext,
    /// `x-amz-checksum-mode: ENABLED`.
    pub checksum_mode: bool,
}

/// HeadObject's answer.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct HeadObjectOutput {
    /// Object size (or the part's size with `part_number`).
    pub content_length: u64,
    /// ETag, quoted as S3 returns it.
    pub etag: Option<String>,
    /// `Last-Modified`, as sent.
    pub last_modified: Option<String>,
    /// Version id.
    pub version_id: Option<String>,
    /// `x-amz-mp-parts-count`.
    pub parts_count: Option<u32>,
    /// Stored checksums (with `checksum_mode`).
    pub checksums: Checksums,
    /// The object's user-facing properties (content type, metadata, ...).
    pub attributes: ObjectAttributes,
}

/// GetObject. The body streams into a [`crate::client::ResponseSink`].
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct GetObjectRequest {
    /// Bucket.
    pub bucket: String,
    /// Key.
    pub key: String,
    /// `Range`.
    pub range: Option<ByteRange>,
    /// `If-Match`: fail with 412 if the object's ETag differs.
    pub if_match: Option<String>,
    /// `partNumber`: fetch only that part.
    pub part_number: Option<u32>,
    /// Version to fetch.
    pub version_id: Option<String>,
    /// SSE-C key of the object.
    pub sse_customer: Option<SseCustomerKey>,
    /// Request payer and expected owner.
    pub context: RequestContext,
    /// `x-amz-checksum-mode: ENABLED`.
    pub checksum_mode: bool,
}

/// GetObject's answer, once the whole body went to the sink.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct GetObjectOutput {
    /// `Content-Length` of this response.
    pub content_length: u64,
    /// `Content-Range` of a 206 response.
    pub content_range: Option<ContentRange>,
    /// ETag, quoted as S3 returns it.
    pub etag: Option<String>,
    /// Version id.
    pub version_id: Option<String>,
    /// `Last-Modified`, as sent.
    pub last_modified: Option<String>,
    /// `x-amz-mp-parts-count`.
    pub parts_count: Option<u32>,
    /// Checksums of what was returned (with `checksum_mode`).
    pub checksums: Checksums,
    /// Bytes that reached the sink: always `content_length` on success.
    pub bytes_received: u64,
}

/// PutObject. The body is passed beside it.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct PutObjectRequest {
    /// Bucket.
    pub bucket: String,
    /// Key.
    pub key: String,
    /// Properties of the new object.
    pub attributes: ObjectAttributes,
    /// SSE-C key.
    pub sse_customer: Option<SseCustomerKey>,
    /// Request payer and expected owner.
    pub context: RequestContext,
    /// `x-amz-sdk-checksum-algorithm`.
    pub checksum_algorithm: Option<ChecksumAlgorithm>,
    /// Checksum values of the body.
    pub checksums: Checksums,
    /// `Content-MD5` (base64).
    pub content_md5: Option<String>,
}

/// PutObject's answer.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct PutObjectOutput {
    /// ETag, quoted.
    pub etag: Option<String>,
    /// Version id.
    pub version_id: Option<String>,
    /// Checksums the store computed or verified.
    pub checksums: Checksums,
}

/// CreateMultipartUpload.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct CreateMultipartUploadRequest {
    /// Bucket.
    pub bucket: String,
    /// Key.
    pub key: String,
    /// Properties of the new object.
    pub attributes: ObjectAttributes,
    /// SSE-C key.
    pub sse_customer: Option<SseCustomerKey>,
    /// Request payer and expected owner.
    pub context: RequestContext,
    /// Checksum algorithm of the parts.
    pub checksum_algorithm: Option<ChecksumAlgorithm>,
    /// `FULL_OBJECT` or `COMPOSITE`.
    pub checksum_type: Option<ChecksumType>,
}

/// CreateMultipartUpload's answer.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct CreateMultipartUploadOutput {
    /// The upload id every later call names.
    pub upload_id: String,
}

/// UploadPart. The body is passed beside it.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct UploadPartRequest {
    /// Bucket.
    pub bucket: String,
    /// Key.
    pub key: String,
    /// Upload id.
    pub upload_id: String,
    /// 1-based part number.
    pub part_number: u32,
    /// SSE-C key.
    pub sse_customer: Option<SseCustomerKey>,
    /// Request payer and expected owner.
    pub context: RequestContext,
    /// `x-amz-sdk-checksum-algorithm`.
    pub checksum_algorithm: Option<ChecksumAlgorithm>,
    /// Checksum values of the part.
    pub checksums: Checksums,
    /// `Content-MD5` (base64).
    pub content_md5: Option<String>,
}

/// UploadPart's answer.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct UploadPartOutput {
    /// The part's ETag, quoted.
    pub etag: Option<String>,
    /// Checksums the store computed or verified.
    pub checksums: Checksums,
}

/// One part named in CompleteMultipartUpload.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CompletedPart {
    /// 1-based part number.
    pub part_number: u32,
    /// The ETag UploadPart returned.
    pub etag: String,
    /// The part's checksums.
    pub checksums: Checksums,
}

impl CompletedPart {
    /// Part `part_number` with `etag`.
    pub fn new(part_number: u32, etag: impl Into<String>) -> Self {
        CompletedPart {
            part_number,
            etag: etag.into(),
            checksums: Checksums::default(),
        }
    }
}

/// CompleteMultipartUpload.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct CompleteMultipartUploadRequest {
    /// Bucket.
    pub bucket: String,
    /// Key.
    pub key: String,
    /// Upload id.
    pub upload_id: String,
    /// Every part, in part-number order.
    pub parts: Vec<CompletedPart>,
    /// SSE-C key.
    pub sse_customer: Option<SseCustomerKey>,
    /// Request payer and expected owner.
    pub context: RequestContext,
    /// Whole-object checksum values and type.
    pub checksums: Checksums,
    /// `x-amz-mp-object-size`.
    pub mpu_object_size: Option<u64>,
}

/// CompleteMultipartUpload's answer.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct CompleteMultipartUploadOutput {
    /// ETag of the new object (`"<md5-of-md5s>-N"` on S3).
    pub etag: Option<String>,
    /// Version id.
    pub version_id: Option<String>,
    /// Whole-object checksums.
    pub checksums: Checksums,
}

/// AbortMultipartUpload.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct AbortMultipartUploadRequest {
    /// Bucket.
    pub bucket: String,
    /// Key.
    pub key: String,
    /// Upload id.
    pub upload_id: String,
    /// Request payer and expected owner (s3transfer drops these; we do not).
    pub context: RequestContext,
}

/// CopyObject.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct CopyObjectRequest {
    /// Destination bucket.
    pub bucket: String,
    /// Destination key.
    pub key: String,
    /// Source object.
    pub source: CopySource,
    /// Properties of the new object.
    pub attributes: ObjectAttributes,
    /// `COPY` or `REPLACE`.
    pub metadata_directive: Option<Directive>,
    /// `COPY` or `REPLACE`.
    pub tagging_directive: Option<Directive>,
    /// Preconditions on the source.
    pub conditions: CopySourceConditions,
    /// SSE-C key of the source.
    pub copy_source_sse_customer: Option<SseCustomerKey>,
    /// SSE-C key of the destination.
    pub sse_customer: Option<SseCustomerKey>,
    /// Request payer and expected owner.
    pub context: RequestContext,
    /// Checksum algorithm for the new object.
    pub checksum_algorithm: Option<ChecksumAlgorithm>,
}

/// CopyObject's answer.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct CopyObjectOutput {
    /// ETag of the new object.
    pub etag: Option<String>,
    /// Version id of the new object.
    pub version_id: Option<String>,
    /// Checksums of the new object.
    pub checksums: Checksums,
}

/// UploadPartCopy.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct UploadPartCopyRequest {
    /// Destination bucket.
    pub bucket: String,
    /// Destination key.
    pub key: String,
    /// Upload id.
    pub upload_id: String,
    /// 1-based part number.
    pub part_number: u32,
    /// Source object.
    pub source: CopySource,
    /// Inclusive byte range of the source (`bytes=a-b`).
    pub source_range: Option<(u64, u64)>,
    /// Preconditions on the source.
    pub conditions: CopySourceConditions,
    /// SSE-C key of the source.
    pub copy_source_sse_customer: Option<SseCustomerKey>,
    /// SSE-C key of the destination.
    pub sse_customer: Option<SseCustomerKey>,
    /// Request payer and expected owner.
    pub context: RequestContext,
}

/// UploadPartCopy's answer.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct UploadPartCopyOutput {
    /// The part's ETag.
    pub etag: Option<String>,
    /// The part's checksums.
    pub checksums: Checksums,
}

/// DeleteObject.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct DeleteObjectRequest {
    /// Bucket.
    pub bucket: String,
    /// Key.
    pub key: String,
    /// Version to delete.
    pub version_id: Option<String>,
    /// `x-amz-mfa`.
    pub mfa: Option<String>,
    /// Request payer and expected owner.
    pub context: RequestContext,
}

/// DeleteObject's answer.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct DeleteObjectOutput {
    /// Whether a delete marker was created or removed.
    pub delete_marker: Option<bool>,
    /// Version id of the delete marker or deleted version.
    pub version_id: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_range_parses_s3_form_and_rejects_the_rest() {
        assert_eq!(
            ContentRange::parse("bytes 0-99/1000"),
            Some(ContentRange {
                start: 0,
                end: 99,
                total: 1000
            })
        );
        assert_eq!(ContentRange::parse("bytes */1000"), None);
        assert_eq!(ContentRange::parse("bytes 5-3/10"), None);
        assert_eq!(ContentRange::parse("bytes 0-10/10"), None);
        assert_eq!(ContentRange::parse("items 0-1/2"), None);
    }

    #[test]
    fn range_header_values() {
        assert_eq!(ByteRange::inclusive(0, 3).header_value(), "bytes=0-3");
        assert_eq!(ByteRange::from(8).header_value(), "bytes=8-");
    }

    #[test]
    fn sse_customer_key_is_never_printed() {
        let k = SseCustomerKey::new("AES256", "c2VjcmV0", "md5");
        assert!(!format!("{k:?}").contains("c2VjcmV0"));
    }
}

/// ListObjectsV2: one page of the keys of a bucket, in key order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ListObjectsV2Request {
    /// Bucket.
    pub bucket: String,
    /// Only keys that start with this.
    pub prefix: Option<String>,
    /// Group keys that contain this after the prefix into common prefixes (`/` lists
    /// one "directory" level).
    pub delimiter: Option<String>,
    /// Where the previous page ended ([`ListObjectsV2Output::next_continuation_token`]).
    pub continuation_token: Option<String>,
    /// Only keys after this one.
    pub start_after: Option<String>,
    /// Objects and common prefixes per page, at most (S3's default and maximum: 1,000).
    pub max_keys: Option<u32>,
    /// Request payer and expected owner.
    pub context: RequestContext,
}

/// One object of a listing.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ListedObject {
    /// Its key.
    pub key: String,
    /// Its size in bytes.
    pub size: u64,
    /// When it was last written (to the second, as S3 lists it).
    pub last_modified: Option<std::time::SystemTime>,
    /// ETag, quoted as S3 returns it.
    pub etag: Option<String>,
    /// Storage class (`STANDARD`, ...).
    pub storage_class: Option<String>,
}

/// ListObjectsV2's answer: one page.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ListObjectsV2Output {
    /// The objects of this page, in key order.
    pub objects: Vec<ListedObject>,
    /// With a delimiter: the common prefixes of this page, in order (each ends with
    /// the delimiter).
    pub common_prefixes: Vec<String>,
    /// Where the next page starts; `None` on the last page.
    pub next_continuation_token: Option<String>,
}

/// ListMultipartUploads: one page of the multipart uploads open in a bucket, by key
/// and then by when they began.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ListMultipartUploadsRequest {
    /// Bucket.
    pub bucket: String,
    /// Only uploads of keys that start with this.
    pub prefix: Option<String>,
    /// Where the previous page ended ([`ListMultipartUploadsOutput::next_key_marker`]).
    pub key_marker: Option<String>,
    /// With `key_marker`: the upload of that key the previous page ended at.
    pub upload_id_marker: Option<String>,
    /// Uploads per page, at most (S3's default and maximum: 1,000).
    pub max_uploads: Option<u32>,
    /// Request payer and expected owner.
    pub context: RequestContext,
}

/// One open multipart upload, as ListMultipartUploads describes it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ListedUpload {
    /// The key it will create.
    pub key: String,
    /// Its upload id.
    pub upload_id: String,
    /// When it was created (to the second), where the store says.
    pub initiated: Option<std::time::SystemTime>,
}

/// ListMultipartUploads' answer: one page.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ListMultipartUploadsOutput {
    /// The uploads of this page.
    pub uploads: Vec<ListedUpload>,
    /// Where the next page starts (with [`ListMultipartUploadsOutput::next_upload_id_marker`]);
    /// `None` on the last page.
    pub next_key_marker: Option<String>,
    /// Where the next page starts within `next_key_marker`'s uploads.
    pub next_upload_id_marker: Option<String>,
}

/// ListParts: one page of the parts an open multipart upload holds, by part number.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ListPartsRequest {
    /// Bucket.
    pub bucket: String,
    /// Key.
    pub key: String,
    /// Upload id.
    pub upload_id: String,
    /// Only parts after this number ([`ListPartsOutput::next_part_number_marker`]).
    pub part_number_marker: Option<u32>,
    /// Parts per page, at most (S3's default and maximum: 1,000).
    pub max_parts: Option<u32>,
    /// SSE-C key of the upload (S3 wants it to list an SSE-C upload's parts).
    pub sse_customer: Option<SseCustomerKey>,
    /// Request payer and expected owner.
    pub context: RequestContext,
}

/// One part of an open multipart upload, as ListParts describes it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ListedPart {
    /// 1-based part number.
    pub part_number: u32,
    /// Size in bytes.
    pub size: u64,
    /// ETag, quoted as S3 returns it; `None` from a store that leaves it out (s3s-fs
    /// 0.14).
    pub etag: Option<String>,
    /// The part's checksums, where the store and the backend report them.
    pub checksums: Checksums,
}

/// ListParts' answer: one page.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ListPartsOutput {
    /// The parts of this page, by part number.
    pub parts: Vec<ListedPart>,
    /// Where the next page starts; `None` on the last page.
    pub next_part_number_marker: Option<u32>,
}
