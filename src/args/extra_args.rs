//! boto3's `ExtraArgs` form: s3transfer's allow-lists per operation, and the parser
//! that checks a call's name/value pairs against them and hands out typed values.

use std::collections::BTreeMap;

use crate::client::{
    ChecksumAlgorithm, Checksums, ObjectAttributes, RequestContext, SseCustomerKey,
};
use crate::error::TransferError;

/// s3transfer's `_ALLOWED_SHARED_ARGS`: the arguments uploads and copies both take.
pub(super) const SHARED: &[&str] = &[
    "ACL",
    "CacheControl",
    "ChecksumAlgorithm",
    "ContentDisposition",
    "ContentEncoding",
    "ContentLanguage",
    "ContentType",
    "ExpectedBucketOwner",
    "Expires",
    "GrantFullControl",
    "GrantRead",
    "GrantReadACP",
    "GrantWriteACP",
    "Metadata",
    "ObjectLockLegalHoldStatus",
    "ObjectLockMode",
    "ObjectLockRetainUntilDate",
    "RequestPayer",
    "ServerSideEncryption",
    "StorageClass",
    "SSECustomerAlgorithm",
    "SSECustomerKey",
    "SSECustomerKeyMD5",
    "SSEKMSKeyId",
    "SSEKMSEncryptionContext",
    "Tagging",
    "WebsiteRedirectLocation",
];

/// The [`Checksums`] field an argument fills.
pub(super) type ChecksumField = fn(&mut Checksums) -> &mut Option<String>;

/// s3transfer's `FULL_OBJECT_CHECKSUM_ARGS`, with the [`Checksums`] field each fills.
pub(super) const FULL_OBJECT_CHECKSUMS: &[(&str, ChecksumField)] = &[
    ("ChecksumCRC32", |c| &mut c.crc32),
    ("ChecksumCRC32C", |c| &mut c.crc32c),
    ("ChecksumCRC64NVME", |c| &mut c.crc64nvme),
    ("ChecksumMD5", |c| &mut c.md5),
    ("ChecksumSHA1", |c| &mut c.sha1),
    ("ChecksumSHA256", |c| &mut c.sha256),
    ("ChecksumSHA512", |c| &mut c.sha512),
    ("ChecksumXXHASH3", |c| &mut c.xxhash3),
    ("ChecksumXXHASH64", |c| &mut c.xxhash64),
    ("ChecksumXXHASH128", |c| &mut c.xxhash128),
];

pub(super) const UPLOAD_ONLY: &[&str] = &["ChecksumType", "MpuObjectSize"];

pub(super) const COPY_ONLY: &[&str] = &[
    "CopySourceIfMatch",
    "CopySourceIfModifiedSince",
    "CopySourceIfNoneMatch",
    "CopySourceIfUnmodifiedSince",
    "CopySourceSSECustomerAlgorithm",
    "CopySourceSSECustomerKey",
    "CopySourceSSECustomerKeyMD5",
    "MetadataDirective",
    "TaggingDirective",
];

pub(super) const DOWNLOAD_ALLOWED: &[&str] = &[
    "ChecksumMode",
    "VersionId",
    "SSECustomerAlgorithm",
    "SSECustomerKey",
    "SSECustomerKeyMD5",
    "RequestPayer",
    "ExpectedBucketOwner",
];

pub(super) const DELETE_ALLOWED: &[&str] =
    &["MFA", "VersionId", "RequestPayer", "ExpectedBucketOwner"];

pub(super) fn upload_allowed() -> Vec<&'static str> {
    let mut names = SHARED.to_vec();
    names.extend_from_slice(UPLOAD_ONLY);
    names.extend(FULL_OBJECT_CHECKSUMS.iter().map(|(n, _)| *n));
    names
}

pub(super) fn copy_allowed() -> Vec<&'static str> {
    let mut names = SHARED.to_vec();
    names.extend_from_slice(COPY_ONLY);
    names
}

/// The pairs of one call, checked against the operation's allowed names.
pub(super) struct Pairs {
    values: BTreeMap<&'static str, String>,
    /// `Metadata` and `Metadata.<name>` entries, merged.
    metadata: BTreeMap<String, String>,
}

impl Pairs {
    pub(super) fn collect<'a>(
        operation: &str,
        allowed: &[&'static str],
        pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<Pairs, TransferError> {
        let mut out = Pairs {
            values: BTreeMap::new(),
            metadata: BTreeMap::new(),
        };
        let takes_metadata = allowed.contains(&"Metadata");
        for (name, value) in pairs {
            if let Some(meta_key) = name.strip_prefix("Metadata.")
                && takes_metadata
            {
                out.add_metadata(meta_key, value)?;
                continue;
            }
            let Some(known) = allowed.iter().find(|a| **a == name) else {
                let mut sorted = allowed.to_vec();
                sorted.sort_unstable();
                return Err(TransferError::InvalidArgument(format!(
                    "extra argument {name:?} is not allowed for {operation}, must be one of: {}",
                    sorted.join(", ")
                )));
            };
            if *known == "Metadata" {
                for entry in value.split(',').filter(|e| !e.trim().is_empty()) {
                    let (k, v) = entry.split_once('=').ok_or_else(|| {
                        TransferError::InvalidArgument(format!(
                            "Metadata entry {entry:?} is not name=value"
                        ))
                    })?;
                    out.add_metadata(k.trim(), v)?;
                }
                // Remembered so that a second `Metadata` is refused like any repeat.
            }
            if out.values.insert(known, value.to_owned()).is_some() {
                return Err(TransferError::InvalidArgument(format!(
                    "extra argument {name:?} given twice"
                )));
            }
        }
        Ok(out)
    }

    pub(super) fn add_metadata(&mut self, name: &str, value: &str) -> Result<(), TransferError> {
        if name.is_empty() {
            return Err(TransferError::InvalidArgument(
                "a Metadata entry has an empty name".into(),
            ));
        }
        if self
            .metadata
            .insert(name.to_owned(), value.to_owned())
            .is_some()
        {
            return Err(TransferError::InvalidArgument(format!(
                "Metadata name {name:?} given twice"
            )));
        }
        Ok(())
    }

    pub(super) fn take(&mut self, name: &str) -> Option<String> {
        self.values.remove(name)
    }

    pub(super) fn attributes(&mut self) -> ObjectAttributes {
        self.take("Metadata");
        ObjectAttributes {
            acl: self.take("ACL"),
            cache_control: self.take("CacheControl"),
            content_disposition: self.take("ContentDisposition"),
            content_encoding: self.take("ContentEncoding"),
            content_language: self.take("ContentLanguage"),
            content_type: self.take("ContentType"),
            expires: self.take("Expires"),
            metadata: std::mem::take(&mut self.metadata),
            storage_class: self.take("StorageClass"),
            tagging: self.take("Tagging"),
            website_redirect_location: self.take("WebsiteRedirectLocation"),
            server_side_encryption: self.take("ServerSideEncryption"),
            sse_kms_key_id: self.take("SSEKMSKeyId"),
            sse_kms_encryption_context: self.take("SSEKMSEncryptionContext"),
            object_lock_mode: self.take("ObjectLockMode"),
            object_lock_retain_until_date: self.take("ObjectLockRetainUntilDate"),
            object_lock_legal_hold_status: self.take("ObjectLockLegalHoldStatus"),
            grant_full_control: self.take("GrantFullControl"),
            grant_read: self.take("GrantRead"),
            grant_read_acp: self.take("GrantReadACP"),
            grant_write_acp: self.take("GrantWriteACP"),
            ..Default::default()
        }
    }

    pub(super) fn context(&mut self) -> RequestContext {
        RequestContext {
            request_payer: self.take("RequestPayer"),
            expected_bucket_owner: self.take("ExpectedBucketOwner"),
        }
    }

    /// `<prefix>Algorithm`, `<prefix>Key`, `<prefix>KeyMD5` as one key, or none.
    pub(super) fn sse(&mut self, prefix: &str) -> Result<Option<SseCustomerKey>, TransferError> {
        let algorithm = self.take(&format!("{prefix}Algorithm"));
        let key = self.take(&format!("{prefix}Key"));
        let md5 = self.take(&format!("{prefix}KeyMD5"));
        match (algorithm, key, md5) {
            (None, None, None) => Ok(None),
            (algorithm, Some(key), Some(md5)) => Ok(Some(SseCustomerKey::new(
                algorithm.unwrap_or_else(|| "AES256".into()),
                key,
                md5,
            ))),
            _ => Err(TransferError::InvalidArgument(format!(
                "{prefix}Key and {prefix}KeyMD5 (both base64) must be given together"
            ))),
        }
    }

    pub(super) fn checksum_algorithm(
        &mut self,
    ) -> Result<Option<ChecksumAlgorithm>, TransferError> {
        self.take("ChecksumAlgorithm")
            .map(|v| {
                ChecksumAlgorithm::parse(&v).ok_or_else(|| {
                    TransferError::InvalidArgument(format!(
                        "ChecksumAlgorithm {v:?} is not one of CRC32, CRC32C, CRC64NVME, SHA1, SHA256"
                    ))
                })
            })
            .transpose()
    }

    pub(super) fn one_of(
        &mut self,
        name: &str,
        choices: &[&str],
    ) -> Result<Option<String>, TransferError> {
        match self.take(name) {
            Some(v) if choices.contains(&v.as_str()) => Ok(Some(v)),
            Some(v) => Err(TransferError::InvalidArgument(format!(
                "{name} {v:?} must be one of: {}",
                choices.join(", ")
            ))),
            None => Ok(None),
        }
    }

    /// Every value was consumed: a name allowed but not read here is a bug, not a
    /// silent drop.
    pub(super) fn finish(self) -> Result<(), TransferError> {
        match self.values.keys().next() {
            None => Ok(()),
            Some(name) => Err(TransferError::Internal(format!(
                "extra argument {name} was accepted but not used"
            ))),
        }
    }
}
