//! [`CopyArgs`]: what a copy sends with its HeadObject, CopyObject or multipart requests.

use crate::client::{
    ChecksumAlgorithm, CopySourceConditions, Directive, ObjectAttributes, RequestContext,
    SseCustomerKey,
};
use crate::error::TransferError;

use super::extra_args::*;
use super::validate_sse;

/// Optional arguments of a copy (s3transfer's `ALLOWED_COPY_ARGS`).
///
/// Where each goes: HeadObject on the source gets the source's SSE-C key,
/// `conditions.if_match`, the context (and the source's version); CopyObject gets
/// everything; a multipart copy's CreateMultipartUpload gets `attributes`,
/// `sse_customer`, `checksum_algorithm` and the context (never the directives or the
/// source conditions); each UploadPartCopy gets the source conditions (with `if_match`
/// pinned to the source's ETag), both SSE-C keys and the context; Complete gets
/// `sse_customer` and the context; Abort the context.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CopyArgs {
    /// Properties of the new object.
    pub attributes: ObjectAttributes,
    /// Keep the source's metadata (`COPY`, the default) or use `attributes` (`REPLACE`).
    pub metadata_directive: Option<Directive>,
    /// Keep the source's tags (`COPY`, the default) or use `attributes.tagging`.
    pub tagging_directive: Option<Directive>,
    /// Preconditions on the source.
    pub conditions: CopySourceConditions,
    /// SSE-C key of the source.
    pub copy_source_sse_customer: Option<SseCustomerKey>,
    /// SSE-C key for the destination.
    pub sse_customer: Option<SseCustomerKey>,
    /// Request payer and expected bucket owner.
    pub context: RequestContext,
    /// Flexible checksum algorithm of the new object (CopyObject and Create only).
    pub checksum_algorithm: Option<ChecksumAlgorithm>,
}

impl CopyArgs {
    /// The names [`CopyArgs::from_pairs`] accepts (`ALLOWED_COPY_ARGS`).
    pub fn allowed_names() -> Vec<&'static str> {
        copy_allowed()
    }

    /// Build from boto3 `ExtraArgs` names and string values; see [`UploadArgs::from_pairs`](crate::UploadArgs::from_pairs).
    /// The source's version is part of [`crate::CopySource`], not an argument.
    pub fn from_pairs<'a>(
        pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<CopyArgs, TransferError> {
        let mut p = Pairs::collect("copy", &copy_allowed(), pairs)?;
        let directives = ["COPY", "REPLACE"];
        let args = CopyArgs {
            attributes: p.attributes(),
            metadata_directive: p
                .one_of("MetadataDirective", &directives)?
                .map(|v| Directive::from_name(&v)),
            tagging_directive: p
                .one_of("TaggingDirective", &directives)?
                .map(|v| Directive::from_name(&v)),
            conditions: CopySourceConditions {
                if_match: p.take("CopySourceIfMatch"),
                if_none_match: p.take("CopySourceIfNoneMatch"),
                if_modified_since: p.take("CopySourceIfModifiedSince"),
                if_unmodified_since: p.take("CopySourceIfUnmodifiedSince"),
            },
            copy_source_sse_customer: p.sse("CopySourceSSECustomer")?,
            sse_customer: p.sse("SSECustomer")?,
            context: p.context(),
            checksum_algorithm: p.checksum_algorithm()?,
        };
        p.finish()?;
        Ok(args)
    }

    attribute_setters! {
        /// `Content-Type` (applies with `MetadataDirective: REPLACE`, and to a
        /// multipart copy's new object in place of the source's).
        content_type;
        /// `Cache-Control` (as `content_type`).
        cache_control;
        /// `Content-Disposition` (as `content_type`).
        content_disposition;
        /// `Content-Encoding` (as `content_type`).
        content_encoding;
        /// `Content-Language` (as `content_type`).
        content_language;
        /// `Expires` (as `content_type`).
        expires;
        /// Canned ACL.
        acl;
        /// Storage class.
        storage_class;
        /// Tags, URL-encoded (with `TaggingDirective: REPLACE` on CopyObject).
        tagging;
        /// Server-side encryption of the new object.
        server_side_encryption;
        /// KMS key id for `aws:kms`.
        sse_kms_key_id;
    }

    context_setters!();

    /// Keep ([`Directive::Copy`]) or replace the source's metadata.
    pub fn metadata_directive(mut self, value: Directive) -> Self {
        self.metadata_directive = Some(value);
        self
    }

    /// Keep ([`Directive::Copy`]) or replace the source's tags.
    pub fn tagging_directive(mut self, value: Directive) -> Self {
        self.tagging_directive = Some(value);
        self
    }

    /// Copy only if the source's ETag is `etag`.
    pub fn copy_source_if_match(mut self, etag: impl Into<String>) -> Self {
        self.conditions.if_match = Some(etag.into());
        self
    }

    /// The source is encrypted with this customer-provided key.
    pub fn copy_source_sse_customer(mut self, key: SseCustomerKey) -> Self {
        self.copy_source_sse_customer = Some(key);
        self
    }

    /// Encrypt the new object with a customer-provided key.
    pub fn sse_customer(mut self, key: SseCustomerKey) -> Self {
        self.sse_customer = Some(key);
        self
    }

    /// Ask for a flexible checksum on the new object.
    pub fn checksum_algorithm(mut self, algorithm: ChecksumAlgorithm) -> Self {
        self.checksum_algorithm = Some(algorithm);
        self
    }

    pub(crate) fn validate(&self) -> Result<(), TransferError> {
        validate_sse("sse_customer", self.sse_customer.as_ref())?;
        validate_sse(
            "copy_source_sse_customer",
            self.copy_source_sse_customer.as_ref(),
        )
    }
}
