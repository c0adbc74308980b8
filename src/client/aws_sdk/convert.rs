//! This crate's S3 vocabulary in the SDK's types and back: checksums (values, algorithm,
//! type), object attributes, SSE-C keys and the request context, dates.
//!
//! Written as macros where the SDK has the same setters on many generated builders
//! (PutObject, UploadPart, CompleteMultipartUpload, CompletedPart ... each its own type
//! with no trait in common).

use aws_sdk_s3::primitives::{DateTime, DateTimeFormat};

use crate::client::{ChecksumAlgorithm, ChecksumType};

/// The SDK's name for an algorithm (S3's spelling either way).
pub(super) fn algorithm(a: ChecksumAlgorithm) -> aws_sdk_s3::types::ChecksumAlgorithm {
    aws_sdk_s3::types::ChecksumAlgorithm::from(a.as_str())
}

/// The SDK's checksum type (S3's spelling either way).
pub(super) fn checksum_type(t: &ChecksumType) -> aws_sdk_s3::types::ChecksumType {
    aws_sdk_s3::types::ChecksumType::from(t.as_str())
}

/// A checksum type the SDK read, in this crate's vocabulary.
pub(super) fn our_checksum_type(t: &aws_sdk_s3::types::ChecksumType) -> ChecksumType {
    ChecksumType::from_name(t.as_str())
}

/// A date as HTTP sends it (`Last-Modified`), which is how this crate keeps it.
pub(super) fn http_date(date: &DateTime) -> Option<String> {
    date.fmt(DateTimeFormat::HttpDate).ok()
}

/// A date of a listing.
pub(super) fn system_time(date: &DateTime) -> Option<std::time::SystemTime> {
    std::time::SystemTime::try_from(*date).ok()
}

/// An attribute date given as text: ISO 8601 (`object_lock_retain_until_date`) or an
/// HTTP date (`expires`); what parses as neither is refused before any request.
pub(super) fn parse_date(
    op: &'static str,
    what: &str,
    value: &str,
) -> Result<DateTime, crate::client::S3Error> {
    DateTime::from_str(value, DateTimeFormat::DateTime)
        .or_else(|_| DateTime::from_str(value, DateTimeFormat::HttpDate))
        .map_err(|e| {
            crate::client::S3Error::new(
                crate::client::S3ErrorKind::Other,
                op,
                format!("{what} {value:?} is neither an ISO 8601 nor an HTTP date: {e}"),
            )
        })
}

/// Set every checksum value of a [`Checksums`](crate::client::Checksums) on an SDK
/// builder (`$b`), as given: the SDK sends them as they are and computes none of its
/// own when one is set.
macro_rules! set_checksums {
    ($b:expr, $c:expr) => {{
        let c = $c;
        $b.set_checksum_crc32(c.crc32.clone())
            .set_checksum_crc32_c(c.crc32c.clone())
            .set_checksum_crc64_nvme(c.crc64nvme.clone())
            .set_checksum_sha1(c.sha1.clone())
            .set_checksum_sha256(c.sha256.clone())
            .set_checksum_md5(c.md5.clone())
            .set_checksum_sha512(c.sha512.clone())
            .set_checksum_xxhash3(c.xxhash3.clone())
            .set_checksum_xxhash64(c.xxhash64.clone())
            .set_checksum_xxhash128(c.xxhash128.clone())
    }};
}

/// The checksum values an SDK output (`$o`) carries; the type is set by the caller
/// where the output has one.
macro_rules! read_checksums {
    ($o:expr) => {{
        let o = $o;
        crate::client::Checksums {
            crc32: o.checksum_crc32().map(str::to_owned),
            crc32c: o.checksum_crc32_c().map(str::to_owned),
            crc64nvme: o.checksum_crc64_nvme().map(str::to_owned),
            sha1: o.checksum_sha1().map(str::to_owned),
            sha256: o.checksum_sha256().map(str::to_owned),
            md5: o.checksum_md5().map(str::to_owned),
            sha512: o.checksum_sha512().map(str::to_owned),
            xxhash3: o.checksum_xxhash3().map(str::to_owned),
            xxhash64: o.checksum_xxhash64().map(str::to_owned),
            xxhash128: o.checksum_xxhash128().map(str::to_owned),
            checksum_type: None,
        }
    }};
}

/// [`read_checksums`] with the output's `checksum_type`.
macro_rules! read_typed_checksums {
    ($o:expr) => {{
        let o = $o;
        crate::client::Checksums {
            checksum_type: o
                .checksum_type()
                .map(crate::client::aws_sdk::convert::our_checksum_type),
            ..crate::client::aws_sdk::convert::read_checksums!(o)
        }
    }};
}

/// The SSE-C key (`$k`: `Option<&SseCustomerKey>`) on a builder, with the given setter
/// prefix (`sse_customer` or `copy_source_sse_customer`).
macro_rules! set_sse_customer {
    ($b:expr, $k:expr) => {{
        let k = $k;
        $b.set_sse_customer_algorithm(k.map(|k| k.algorithm.clone()))
            .set_sse_customer_key(k.map(|k| k.key.clone()))
            .set_sse_customer_key_md5(k.map(|k| k.key_md5.clone()))
    }};
    (copy_source: $b:expr, $k:expr) => {{
        let k = $k;
        $b.set_copy_source_sse_customer_algorithm(k.map(|k| k.algorithm.clone()))
            .set_copy_source_sse_customer_key(k.map(|k| k.key.clone()))
            .set_copy_source_sse_customer_key_md5(k.map(|k| k.key_md5.clone()))
    }};
}

/// The request payer and the expected bucket owner.
macro_rules! set_context {
    ($b:expr, $ctx:expr) => {{
        let ctx = $ctx;
        $b.set_request_payer(
            ctx.request_payer
                .as_deref()
                .map(aws_sdk_s3::types::RequestPayer::from),
        )
        .set_expected_bucket_owner(ctx.expected_bucket_owner.clone())
    }};
}

/// The properties of a new object (PutObject, CreateMultipartUpload, CopyObject);
/// evaluates to `Result<builder, S3Error>` (a date that does not parse is refused).
macro_rules! set_attributes {
    ($op:expr, $b:expr, $a:expr) => {{
        use aws_sdk_s3::types as t;
        let a = $a;
        let retain_until = match &a.object_lock_retain_until_date {
            Some(d) => Some(crate::client::aws_sdk::convert::parse_date(
                $op,
                "object_lock_retain_until_date",
                d,
            )?),
            None => None,
        };
        let expires = match &a.expires {
            Some(d) => Some(crate::client::aws_sdk::convert::parse_date(
                $op, "expires", d,
            )?),
            None => None,
        };
        let metadata = (!a.metadata.is_empty()).then(|| {
            a.metadata
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect::<std::collections::HashMap<_, _>>()
        });
        $b.set_acl(a.acl.as_deref().map(t::ObjectCannedAcl::from))
            .set_cache_control(a.cache_control.clone())
            .set_content_disposition(a.content_disposition.clone())
            .set_content_encoding(a.content_encoding.clone())
            .set_content_language(a.content_language.clone())
            .set_content_type(a.content_type.clone())
            .set_expires(expires)
            .set_metadata(metadata)
            .set_storage_class(a.storage_class.as_deref().map(t::StorageClass::from))
            .set_tagging(a.tagging.clone())
            .set_website_redirect_location(a.website_redirect_location.clone())
            .set_server_side_encryption(
                a.server_side_encryption
                    .as_deref()
                    .map(t::ServerSideEncryption::from),
            )
            .set_ssekms_key_id(a.sse_kms_key_id.clone())
            .set_ssekms_encryption_context(a.sse_kms_encryption_context.clone())
            .set_bucket_key_enabled(a.bucket_key_enabled)
            .set_object_lock_mode(a.object_lock_mode.as_deref().map(t::ObjectLockMode::from))
            .set_object_lock_retain_until_date(retain_until)
            .set_object_lock_legal_hold_status(
                a.object_lock_legal_hold_status
                    .as_deref()
                    .map(t::ObjectLockLegalHoldStatus::from),
            )
            .set_grant_full_control(a.grant_full_control.clone())
            .set_grant_read(a.grant_read.clone())
            .set_grant_read_acp(a.grant_read_acp.clone())
            .set_grant_write_acp(a.grant_write_acp.clone())
    }};
}

pub(super) use {
    read_checksums, read_typed_checksums, set_attributes, set_checksums, set_context,
    set_sse_customer,
};
