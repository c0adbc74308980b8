//! The optional arguments of each operation, as typed structs.

use crate::client::{CopySourceConditions, ObjectAttributes, RequestContext, SseCustomerKey};

/// Optional arguments of an upload (s3transfer's `ALLOWED_UPLOAD_ARGS`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct UploadArgs {
    /// Properties of the new object (content type, metadata, ACL, encryption, ...).
    pub attributes: ObjectAttributes,
    /// SSE-C key: sent with PutObject, CreateMultipartUpload, every UploadPart and
    /// CompleteMultipartUpload.
    pub sse_customer: Option<SseCustomerKey>,
    /// Request payer and expected bucket owner, sent with every request.
    pub context: RequestContext,
}

impl UploadArgs {
    /// Set `Content-Type`.
    pub fn content_type(mut self, value: impl Into<String>) -> Self {
        self.attributes.content_type = Some(value.into());
        self
    }

    /// Add one user metadata entry (`x-amz-meta-<name>`).
    pub fn metadata(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.attributes.metadata.insert(name.into(), value.into());
        self
    }

    /// Encrypt with a customer-provided key.
    pub fn sse_customer(mut self, key: SseCustomerKey) -> Self {
        self.sse_customer = Some(key);
        self
    }
}

/// Optional arguments of a download (s3transfer's `ALLOWED_DOWNLOAD_ARGS`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct DownloadArgs {
    /// Download this version.
    pub version_id: Option<String>,
    /// SSE-C key of the object, sent with every GET.
    pub sse_customer: Option<SseCustomerKey>,
    /// Request payer and expected bucket owner.
    pub context: RequestContext,
    /// Ask for stored checksums (`x-amz-checksum-mode: ENABLED`).
    pub checksum_mode: bool,
}

impl DownloadArgs {
    /// Download a specific version.
    pub fn version_id(mut self, version_id: impl Into<String>) -> Self {
        self.version_id = Some(version_id.into());
        self
    }

    /// Decrypt with a customer-provided key.
    pub fn sse_customer(mut self, key: SseCustomerKey) -> Self {
        self.sse_customer = Some(key);
        self
    }
}

/// Optional arguments of a copy (s3transfer's `ALLOWED_COPY_ARGS`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CopyArgs {
    /// Properties of the new object.
    pub attributes: ObjectAttributes,
    /// `COPY` (keep the source's metadata) or `REPLACE` (use `attributes`).
    pub metadata_directive: Option<String>,
    /// `COPY` or `REPLACE` for tags.
    pub tagging_directive: Option<String>,
    /// Preconditions on the source.
    pub conditions: CopySourceConditions,
    /// SSE-C key of the source.
    pub copy_source_sse_customer: Option<SseCustomerKey>,
    /// SSE-C key for the destination.
    pub sse_customer: Option<SseCustomerKey>,
    /// Request payer and expected bucket owner.
    pub context: RequestContext,
}

/// Optional arguments of a delete (s3transfer's `ALLOWED_DELETE_ARGS`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct DeleteArgs {
    /// Delete this version.
    pub version_id: Option<String>,
    /// `x-amz-mfa`: serial number and token.
    pub mfa: Option<String>,
    /// Request payer and expected bucket owner.
    pub context: RequestContext,
}
