//! The crate's own request and response types for the S3 calls a transfer makes.
//!
//! Every type is `Default` and `#[non_exhaustive]`: build one with `default()` and set
//! the fields you need. ETags are kept exactly as S3 returns them (quoted).

use std::collections::BTreeMap;
use std::fmt;

/// SSE-C: a customer-provided encryption key, sent with every request that touches the
/// object's data (HeadObject, each GET, PutObject, each UploadPart, Complete).
#[derive(Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct SseCustomerKey {
    /// `x-amz-server-side-encryption-customer-algorithm`, normally `AES256`.
    pub algorithm: String,
    /// The base64 key.
    pub key: String,
    /// The base64 MD5 of the key.
    pub key_md5: String,
}

impl SseCustomerKey {
    /// A key with its algorithm and MD5, all as S3 wants them (base64 where binary).
    pub fn new(
        algorithm: impl Into<String>,
        key: impl Into<String>,
        key_md5: impl Into<String>,
    ) -> Self {
        SseCustomerKey {
            algorithm: algorithm.into(),
            key: key.into(),
            key_md5: key_md5.into(),
        }
    }
}

impl fmt::Debug for SseCustomerKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The key is a secret: never print it.
        f.debug_struct("SseCustomerKey")
            .field("algorithm", &self.algorithm)
            .field("key", &"<redacted>")
            .field("key_md5", &self.key_md5)
            .finish()
    }
}

/// A flexible-checksum algorithm S3 understands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ChecksumAlgorithm {
    /// CRC-32 (IEEE).
    Crc32,
    /// CRC-32C (Castagnoli).
    Crc32c,
    /// CRC-64/NVME.
    Crc64Nvme,
    /// SHA-1.
    Sha1,
    /// SHA-256.
    Sha256,
}

impl ChecksumAlgorithm {
    /// The name S3 uses in headers and XML (`CRC32`).
    pub fn as_str(self) -> &'static str {
        match self {
            ChecksumAlgorithm::Crc32 => "CRC32",
            ChecksumAlgorithm::Crc32c => "CRC32C",
            ChecksumAlgorithm::Crc64Nvme => "CRC64NVME",
            ChecksumAlgorithm::Sha1 => "SHA1",
            ChecksumAlgorithm::Sha256 => "SHA256",
        }
    }

    /// The algorithm named `name` (S3's spelling, any case), if S3 has it.
    pub fn parse(name: &str) -> Option<ChecksumAlgorithm> {
        [
            ChecksumAlgorithm::Crc32,
            ChecksumAlgorithm::Crc32c,
            ChecksumAlgorithm::Crc64Nvme,
            ChecksumAlgorithm::Sha1,
            ChecksumAlgorithm::Sha256,
        ]
        .into_iter()
        .find(|a| a.as_str().eq_ignore_ascii_case(name.trim()))
    }
}

/// Checksum values (base64, as S3 sends them) for the algorithms S3 supports.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Checksums {
    /// `x-amz-checksum-crc32`.
    pub crc32: Option<String>,
    /// `x-amz-checksum-crc32c`.
    pub crc32c: Option<String>,
    /// `x-amz-checksum-crc64nvme`.
    pub crc64nvme: Option<String>,
    /// `x-amz-checksum-sha1`.
    pub sha1: Option<String>,
    /// `x-amz-checksum-sha256`.
    pub sha256: Option<String>,
    /// `x-amz-checksum-md5` (s3transfer 0.16.1's full-object list; no backend sends it).
    pub md5: Option<String>,
    /// `x-amz-checksum-sha512` (as `md5`).
    pub sha512: Option<String>,
    /// `x-amz-checksum-xxhash3` (as `md5`).
    pub xxhash3: Option<String>,
    /// `x-amz-checksum-xxhash64` (as `md5`).
    pub xxhash64: Option<String>,
    /// `x-amz-checksum-xxhash128` (as `md5`).
    pub xxhash128: Option<String>,
    /// `x-amz-checksum-type`: `FULL_OBJECT` or `COMPOSITE`.
    pub checksum_type: Option<String>,
}

impl Checksums {
    /// Whether no value is set.
    pub fn is_empty(&self) -> bool {
        self.crc32.is_none()
            && self.crc32c.is_none()
            && self.crc64nvme.is_none()
            && self.sha1.is_none()
            && self.sha256.is_none()
            && self.md5.is_none()
            && self.sha512.is_none()
            && self.xxhash3.is_none()
            && self.xxhash64.is_none()
            && self.xxhash128.is_none()
    }

    /// The algorithm of the first value set, among those [`ChecksumAlgorithm`] names:
    /// what CreateMultipartUpload must announce for a full-object checksum.
    pub fn algorithm(&self) -> Option<ChecksumAlgorithm> {
        [
            (&self.crc32, ChecksumAlgorithm::Crc32),
            (&self.crc32c, ChecksumAlgorithm::Crc32c),
            (&self.crc64nvme, ChecksumAlgorithm::Crc64Nvme),
            (&self.sha1, ChecksumAlgorithm::Sha1),
            (&self.sha256, ChecksumAlgorithm::Sha256),
        ]
        .into_iter()
        .find_map(|(v, a)| v.is_some().then_some(a))
    }
}

/// The user-facing properties of a new object, set by PutObject, CreateMultipartUpload
/// and CopyObject (and by nothing else).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ObjectAttributes {
    /// Canned ACL (`private`, `public-read`, ...).
    pub acl: Option<String>,
    /// `Cache-Control`.
    pub cache_control: Option<String>,
    /// `Content-Disposition`.
    pub content_disposition: Option<String>,
    /// `Content-Encoding`.
    pub content_encoding: Option<String>,
    /// `Content-Language`.
    pub content_language: Option<String>,
    /// `Content-Type`.
    pub content_type: Option<String>,
    /// `Expires`, as an HTTP date.
    pub expires: Option<String>,
    /// User metadata (`x-amz-meta-*`), without the prefix.
    pub metadata: BTreeMap<String, String>,
    /// Storage class (`STANDARD`, `STANDARD_IA`, ...).
    pub storage_class: Option<String>,
    /// Tag set, URL-encoded (`a=1&b=2`).
    pub tagging: Option<String>,
    /// `x-amz-website-redirect-location`.
    pub website_redirect_location: Option<String>,
    /// Server-side encryption (`AES256`, `aws:kms`, `aws:kms:dsse`).
    pub server_side_encryption: Option<String>,
    /// KMS key id for `aws:kms`.
    pub sse_kms_key_id: Option<String>,
    /// KMS encryption context (base64 JSON).
    pub sse_kms_encryption_context: Option<String>,
    /// S3 Bucket Key for SSE-KMS.
    pub bucket_key_enabled: Option<bool>,
    /// Object Lock mode (`GOVERNANCE`, `COMPLIANCE`).
    pub object_lock_mode: Option<String>,
    /// Object Lock retain-until date (ISO 8601).
    pub object_lock_retain_until_date: Option<String>,
    /// Object Lock legal hold (`ON`, `OFF`).
    pub object_lock_legal_hold_status: Option<String>,
    /// `x-amz-grant-full-control`.
    pub grant_full_control: Option<String>,
    /// `x-amz-grant-read`.
    pub grant_read: Option<String>,
    /// `x-amz-grant-read-acp`.
    pub grant_read_acp: Option<String>,
    /// `x-amz-grant-write-acp`.
    pub grant_write_acp: Option<String>,
}

/// Who pays, and whose bucket it must be: sent with every request of a transfer.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RequestContext {
    /// `x-amz-request-payer` (`requester`).
    pub request_payer: Option<String>,
    /// `x-amz-expected-bucket-owner` (account id).
    pub expected_bucket_owner: Option<String>,
}

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

/// The source of a copy.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CopySource {
    /// Source bucket.
    pub bucket: String,
    /// Source key.
    pub key: String,
    /// A specific version of the source.
    pub version_id: Option<String>,
}

impl CopySource {
    /// The latest version of `bucket/key`.
    pub fn new(bucket: impl Into<String>, key: impl Into<String>) -> Self {
        CopySource {
            bucket: bucket.into(),
            key: key.into(),
            version_id: None,
        }
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
    pub checksum_type: Option<String>,
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

/// Preconditions on a copy's source object.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CopySourceConditions {
    /// `x-amz-copy-source-if-match`.
    pub if_match: Option<String>,
    /// `x-amz-copy-source-if-none-match`.
    pub if_none_match: Option<String>,
    /// `x-amz-copy-source-if-modified-since` (HTTP date).
    pub if_modified_since: Option<String>,
    /// `x-amz-copy-source-if-unmodified-since` (HTTP date).
    pub if_unmodified_since: Option<String>,
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
    pub metadata_directive: Option<String>,
    /// `COPY` or `REPLACE`.
    pub tagging_directive: Option<String>,
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
