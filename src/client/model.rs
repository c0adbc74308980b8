//! The vocabulary of S3 requests that transfer users meet too (re-exported at the crate
//! root): SSE-C keys, checksum algorithms and values, object attributes, the request
//! context, and copy sources with their preconditions.

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
    pub checksum_type: Option<ChecksumType>,
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

/// What a copy does with the source's metadata or tags (`x-amz-metadata-directive`,
/// `x-amz-tagging-directive`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Directive {
    /// `COPY`: keep the source's.
    Copy,
    /// `REPLACE`: use the ones given with the copy.
    Replace,
    /// A value this library does not know (one S3 adds later), sent as it is.
    Other(String),
}

impl Directive {
    /// The value as S3 spells it.
    pub fn as_str(&self) -> &str {
        match self {
            Directive::Copy => "COPY",
            Directive::Replace => "REPLACE",
            Directive::Other(value) => value,
        }
    }

    /// The directive S3 spells `value`; [`Directive::Other`] for one not known here.
    pub fn from_name(value: &str) -> Directive {
        match value {
            "COPY" => Directive::Copy,
            "REPLACE" => Directive::Replace,
            other => Directive::Other(other.to_owned()),
        }
    }
}

impl fmt::Display for Directive {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How a multipart object's checksum covers it (`x-amz-checksum-type`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ChecksumType {
    /// `FULL_OBJECT`: a checksum of the whole object's bytes (CRCs only).
    FullObject,
    /// `COMPOSITE`: a checksum of the part checksums, suffixed `-<parts>`.
    Composite,
    /// A value this library does not know (one S3 adds later), sent as it is.
    Other(String),
}

impl ChecksumType {
    /// The value as S3 spells it.
    pub fn as_str(&self) -> &str {
        match self {
            ChecksumType::FullObject => "FULL_OBJECT",
            ChecksumType::Composite => "COMPOSITE",
            ChecksumType::Other(value) => value,
        }
    }

    /// The type S3 spells `value`; [`ChecksumType::Other`] for one not known here.
    pub fn from_name(value: &str) -> ChecksumType {
        match value {
            "FULL_OBJECT" => ChecksumType::FullObject,
            "COMPOSITE" => ChecksumType::Composite,
            other => ChecksumType::Other(other.to_owned()),
        }
    }
}

impl fmt::Display for ChecksumType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod choice_tests {
    use super::*;

    #[test]
    fn choices_round_trip_through_their_s3_names_and_keep_unknown_ones() {
        for d in [Directive::Copy, Directive::Replace] {
            assert_eq!(Directive::from_name(d.as_str()), d);
        }
        for t in [ChecksumType::FullObject, ChecksumType::Composite] {
            assert_eq!(ChecksumType::from_name(t.as_str()), t);
        }
        let later = ChecksumType::from_name("FULL_OBJECT_V2");
        assert_eq!(later, ChecksumType::Other("FULL_OBJECT_V2".into()));
        assert_eq!(later.to_string(), "FULL_OBJECT_V2");
        assert_eq!(
            Directive::from_name("copy"),
            Directive::Other("copy".into())
        );
    }
}
