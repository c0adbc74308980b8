//! Request arguments: every allowed argument reaches exactly the requests the routing
//! matrix gives it (on the recording fake), bad names are refused before any request,
//! Content-Type is guessed for files, and checksum arguments reach a real store
//! through the rusoto backend.

#[path = "common/mod.rs"]
mod common;

use std::collections::BTreeSet;
use std::io::Cursor;
use std::sync::Arc;

use s3transfer::checksum::checksum;
use s3transfer::client::{HeadObjectRequest, PutObjectRequest, RequestBody};
use s3transfer::testing::{FakeS3, InjectedError, Operation, RecordedCall};
use s3transfer::{ChecksumAlgorithm, Directive, S3Api};
use s3transfer::{
    CopyArgs, CopySource, DeleteArgs, DownloadArgs, DownloadTarget, RusotoS3, SseCustomerKey,
    TransferConfig, TransferError, TransferManager, UploadArgs, UploadSource, Validation,
};

use common::random_bytes;
use common::s3s_server::LocalS3;

const MIB: usize = 1024 * 1024;
/// Above the 5 MiB threshold of `config()`: three parts.
const LARGE: usize = 11 * MIB;
const SMALL: usize = 1000;
const BUCKET: &str = "bucket";
/// Base64 SSE-C keys and MD5s: the fake compares them, it does not decrypt.
const DEST_KEY: &str = "ZGVzdC1rZXktMzItYnl0ZXMtbG9uZy0tLS0tLS0tLS0=";
const DEST_MD5: &str = "ZGVzdC1tZDU=";
const SRC_KEY: &str = "c291cmNlLWtleS0zMi1ieXRlcy1sb25nLS0tLS0tLS0=";
const SRC_MD5: &str = "c291cmNlLW1kNQ==";

fn config() -> TransferConfig {
    TransferConfig::builder()
        .multipart_threshold(5 * MIB as u64)
        .multipart_chunksize(5 * MIB as u64)
        .max_request_concurrency(3)
        .build()
        .unwrap()
}

fn setup() -> (FakeS3, TransferManager) {
    let fake = FakeS3::new();
    fake.create_versioned_bucket(BUCKET);
    let manager = TransferManager::new(Arc::new(fake.clone()), config());
    (fake, manager)
}

/// Store `data` through the client (so SSE-C applies), then forget the call.
fn seed(fake: &FakeS3, key: &str, size: usize, sse: Option<SseCustomerKey>) -> (String, String) {
    let mut request = PutObjectRequest::default();
    request.bucket = BUCKET.into();
    request.key = key.into();
    request.sse_customer = sse;
    let out = fake
        .put_object(&request, &mut RequestBody::new(random_bytes(size, 5)))
        .unwrap();
    fake.clear_calls();
    (out.etag.unwrap(), out.version_id.unwrap())
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Op {
    Upload,
    Download,
    Copy,
    Delete,
}

/// The value of argument `name` as `call` carries it, rendered as the argument's
/// string form; `None` when the call does not carry it (or cannot).
fn carried(call: &RecordedCall, name: &str) -> Option<String> {
    use RecordedCall as C;
    let attrs = match call {
        C::PutObject { request, .. } => Some(&request.attributes),
        C::CreateMultipartUpload(r) => Some(&r.attributes),
        C::CopyObject(r) => Some(&r.attributes),
        _ => None,
    };
    let context = match call {
        C::HeadObject(r) => Some(&r.context),
        C::GetObject(r) => Some(&r.context),
        C::PutObject { request, .. } => Some(&request.context),
        C::CreateMultipartUpload(r) => Some(&r.context),
        C::UploadPart { request, .. } => Some(&request.context),
        C::CompleteMultipartUpload(r) => Some(&r.context),
        C::AbortMultipartUpload(r) => Some(&r.context),
        C::CopyObject(r) => Some(&r.context),
        C::UploadPartCopy(r) => Some(&r.context),
        C::DeleteObject(r) => Some(&r.context),
        _ => None,
    };
    let sse = match call {
        C::GetObject(r) => r.sse_customer.as_ref(),
        C::PutObject { request, .. } => request.sse_customer.as_ref(),
        C::CreateMultipartUpload(r) => r.sse_customer.as_ref(),
        C::UploadPart { request, .. } => request.sse_customer.as_ref(),
        C::CompleteMultipartUpload(r) => r.sse_customer.as_ref(),
        C::CopyObject(r) => r.sse_customer.as_ref(),
        C::UploadPartCopy(r) => r.sse_customer.as_ref(),
        // A HeadObject's key is the object's own: in a download it is the SSE-C key,
        // in a copy the source's. Both rows below read it under their own name.
        C::HeadObject(r) => r.sse_customer.as_ref(),
        _ => None,
    };
    let source_sse = match call {
        C::HeadObject(r) => r.sse_customer.as_ref(),
        C::CopyObject(r) => r.copy_source_sse_customer.as_ref(),
        C::UploadPartCopy(r) => r.copy_source_sse_customer.as_ref(),
        _ => None,
    };
    let conditions = match call {
        C::CopyObject(r) => Some(&r.conditions),
        C::UploadPartCopy(r) => Some(&r.conditions),
        _ => None,
    };
    // A part's own checksum is the engine's (the store requires one of the announced
    // algorithm on every part), not the caller's full-object value: not probed here.
    let checksums = match call {
        C::PutObject { request, .. } => Some(&request.checksums),
        C::CompleteMultipartUpload(r) => Some(&r.checksums),
        _ => None,
    };
    let algorithm = match call {
        C::PutObject { request, .. } => request.checksum_algorithm,
        C::CreateMultipartUpload(r) => r.checksum_algorithm,
        C::UploadPart { request, .. } => request.checksum_algorithm,
        C::CopyObject(r) => r.checksum_algorithm,
        _ => None,
    };
    let a =
        |f: fn(&s3transfer::ObjectAttributes) -> &Option<String>| attrs.and_then(|a| f(a).clone());
    match name {
        "ACL" => a(|a| &a.acl),
        "CacheControl" => a(|a| &a.cache_control),
        "ContentDisposition" => a(|a| &a.content_disposition),
        "ContentEncoding" => a(|a| &a.content_encoding),
        "ContentLanguage" => a(|a| &a.content_language),
        "ContentType" => a(|a| &a.content_type),
        "Expires" => a(|a| &a.expires),
        "GrantFullControl" => a(|a| &a.grant_full_control),
        "GrantRead" => a(|a| &a.grant_read),
        "GrantReadACP" => a(|a| &a.grant_read_acp),
        "GrantWriteACP" => a(|a| &a.grant_write_acp),
        "ObjectLockLegalHoldStatus" => a(|a| &a.object_lock_legal_hold_status),
        "ObjectLockMode" => a(|a| &a.object_lock_mode),
        "ObjectLockRetainUntilDate" => a(|a| &a.object_lock_retain_until_date),
        "ServerSideEncryption" => a(|a| &a.server_side_encryption),
        "StorageClass" => a(|a| &a.storage_class),
        "SSEKMSKeyId" => a(|a| &a.sse_kms_key_id),
        "SSEKMSEncryptionContext" => a(|a| &a.sse_kms_encryption_context),
        "Tagging" => a(|a| &a.tagging),
        "WebsiteRedirectLocation" => a(|a| &a.website_redirect_location),
        "Metadata" => attrs.filter(|a| !a.metadata.is_empty()).map(|a| {
            let pairs: Vec<String> = a.metadata.iter().map(|(k, v)| format!("{k}={v}")).collect();
            pairs.join(",")
        }),
        "RequestPayer" => context.and_then(|c| c.request_payer.clone()),
        "ExpectedBucketOwner" => context.and_then(|c| c.expected_bucket_owner.clone()),
        "SSECustomerKey" => sse.map(|k| k.key.clone()),
        "CopySourceSSECustomerKey" => source_sse.map(|k| k.key.clone()),
        "ChecksumAlgorithm" => algorithm.map(|a| a.as_str().to_owned()),
        "ChecksumCRC32" => checksums.and_then(|c| c.crc32.clone()),
        "ChecksumSHA256" => checksums.and_then(|c| c.sha256.clone()),
        "ChecksumType" => match call {
            C::CreateMultipartUpload(r) => r.checksum_type.as_ref().map(|t| t.to_string()),
            _ => checksums.and_then(|c| c.checksum_type.as_ref().map(|t| t.to_string())),
        },
        "MpuObjectSize" => match call {
            C::CompleteMultipartUpload(r) => r.mpu_object_size.map(|n| n.to_string()),
            _ => None,
        },
        "ChecksumMode" => match call {
            C::HeadObject(r) if r.checksum_mode => Some("ENABLED".into()),
            C::GetObject(r) if r.checksum_mode => Some("ENABLED".into()),
            _ => None,
        },
        "VersionId" => match call {
            C::HeadObject(r) => r.version_id.clone(),
            C::GetObject(r) => r.version_id.clone(),
            C::DeleteObject(r) => r.version_id.clone(),
            _ => None,
        },
        "MFA" => match call {
            C::DeleteObject(r) => r.mfa.clone(),
            _ => None,
        },
        "MetadataDirective" => match call {
            C::CopyObject(r) => r.metadata_directive.as_ref().map(|d| d.to_string()),
            _ => None,
        },
        "TaggingDirective" => match call {
            C::CopyObject(r) => r.tagging_directive.as_ref().map(|d| d.to_string()),
            _ => None,
        },
        // Only If-Match has a HeadObject counterpart in this crate's HeadObjectRequest.
        "CopySourceIfMatch" => match call {
            C::HeadObject(r) => r.if_match.clone(),
            _ => conditions.and_then(|c| c.if_match.clone()),
        },
        "CopySourceIfNoneMatch" => conditions.and_then(|c| c.if_none_match.clone()),
        "CopySourceIfModifiedSince" => conditions.and_then(|c| c.if_modified_since.clone()),
        "CopySourceIfUnmodifiedSince" => conditions.and_then(|c| c.if_unmodified_since.clone()),
        other => panic!("no probe for {other}"),
    }
}

use Operation::{
    AbortMultipartUpload as Abort, CompleteMultipartUpload as Complete, CopyObject as CopyObj,
    CreateMultipartUpload as Create, DeleteObject as Del, GetObject as Get, HeadObject as Head,
    PutObject as Put, UploadPart as Part, UploadPartCopy as PartCopy,
};

/// One row of the section 6 matrix: an argument of an operation, and the requests it
/// must reach below the threshold (`single`) and above it (`multi`). Every other
/// request of the transfer must not carry it.
struct Row {
    op: Op,
    name: &'static str,
    value: &'static str,
    single: &'static [Operation],
    multi: &'static [Operation],
}

const fn row(
    op: Op,
    name: &'static str,
    value: &'static str,
    single: &'static [Operation],
    multi: &'static [Operation],
) -> Row {
    Row {
        op,
        name,
        value,
        single,
        multi,
    }
}

/// Object attributes: on the request that creates the object, nothing else.
const ATTRIBUTES: &[(&str, &str)] = &[
    ("ACL", "private"),
    ("CacheControl", "max-age=1"),
    ("ContentDisposition", "inline"),
    ("ContentEncoding", "identity"),
    ("ContentLanguage", "en"),
    ("ContentType", "text/x-test"),
    ("Expires", "Thu, 01 Jan 2037 00:00:00 GMT"),
    ("GrantFullControl", "id=1"),
    ("GrantRead", "id=2"),
    ("GrantReadACP", "id=3"),
    ("GrantWriteACP", "id=4"),
    ("Metadata", "a=1"),
    ("ObjectLockLegalHoldStatus", "OFF"),
    ("ObjectLockMode", "GOVERNANCE"),
    ("ObjectLockRetainUntilDate", "2037-01-01T00:00:00Z"),
    ("ServerSideEncryption", "AES256"),
    ("StorageClass", "STANDARD_IA"),
    ("SSEKMSKeyId", "kms-1"),
    ("SSEKMSEncryptionContext", "e30="),
    ("Tagging", "t=1"),
    ("WebsiteRedirectLocation", "/x"),
];

fn rows() -> Vec<Row> {
    use Op::*;
    let mut rows = Vec::new();
    for (name, value) in ATTRIBUTES {
        rows.push(row(Upload, name, value, &[Put], &[Create]));
        rows.push(row(Copy, name, value, &[CopyObj], &[Create]));
    }
    rows.extend([
        // Uploads.
        row(
            Upload,
            "SSECustomerKey",
            DEST_KEY,
            &[Put],
            &[Create, Part, Complete],
        ),
        row(
            Upload,
            "RequestPayer",
            "requester",
            &[Put],
            &[Create, Part, Complete],
        ),
        row(
            Upload,
            "ExpectedBucketOwner",
            "111122223333",
            &[Put],
            &[Create, Part, Complete],
        ),
        row(
            Upload,
            "ChecksumAlgorithm",
            "SHA256",
            &[Put],
            &[Create, Part],
        ),
        // The store verifies the value: it is the uploaded data's CRC32.
        row(Upload, "ChecksumCRC32", "$CRC32", &[Put], &[Complete]),
        row(
            Upload,
            "ChecksumType",
            "COMPOSITE",
            &[],
            &[Create, Complete],
        ),
        row(Upload, "MpuObjectSize", "11534336", &[], &[Complete]),
        // Downloads: every GET, ranged or not; no HeadObject is made.
        row(Download, "SSECustomerKey", DEST_KEY, &[Get], &[Get]),
        row(Download, "RequestPayer", "requester", &[Get], &[Get]),
        row(
            Download,
            "ExpectedBucketOwner",
            "111122223333",
            &[Get],
            &[Get],
        ),
        // Asking for checksums validates them: one HeadObject fetches the stored value.
        row(
            Download,
            "ChecksumMode",
            "ENABLED",
            &[Head, Get],
            &[Head, Get],
        ),
        row(Download, "VersionId", "$VERSION", &[Get], &[Get]),
        // Copies.
        row(
            Copy,
            "SSECustomerKey",
            DEST_KEY,
            &[CopyObj],
            &[Create, PartCopy, Complete],
        ),
        row(
            Copy,
            "CopySourceSSECustomerKey",
            SRC_KEY,
            &[Head, CopyObj],
            &[Head, PartCopy],
        ),
        row(
            Copy,
            "RequestPayer",
            "requester",
            &[Head, CopyObj],
            &[Head, Create, PartCopy, Complete],
        ),
        row(
            Copy,
            "ExpectedBucketOwner",
            "111122223333",
            &[Head, CopyObj],
            &[Head, Create, PartCopy, Complete],
        ),
        row(Copy, "ChecksumAlgorithm", "SHA256", &[CopyObj], &[Create]),
        row(Copy, "MetadataDirective", "REPLACE", &[CopyObj], &[]),
        row(Copy, "TaggingDirective", "REPLACE", &[CopyObj], &[]),
        row(
            Copy,
            "CopySourceIfMatch",
            "$ETAG",
            &[Head, CopyObj],
            &[Head, PartCopy],
        ),
        row(
            Copy,
            "CopySourceIfNoneMatch",
            "\"other\"",
            &[CopyObj],
            &[PartCopy],
        ),
        row(
            Copy,
            "CopySourceIfModifiedSince",
            "Mon, 01 Jan 2001 00:00:00 GMT",
            &[CopyObj],
            &[PartCopy],
        ),
        row(
            Copy,
            "CopySourceIfUnmodifiedSince",
            "Fri, 01 Jan 2100 00:00:00 GMT",
            &[CopyObj],
            &[PartCopy],
        ),
        // Deletes.
        row(Delete, "VersionId", "$VERSION", &[Del], &[Del]),
        row(Delete, "MFA", "serial 123456", &[Del], &[Del]),
        row(Delete, "RequestPayer", "requester", &[Del], &[Del]),
        row(
            Delete,
            "ExpectedBucketOwner",
            "111122223333",
            &[Del],
            &[Del],
        ),
    ]);
    rows
}

/// The pairs a row stands for: SSE-C keys come with their MD5.
fn pairs_of(row: &Row, etag: &str, version: &str, size: usize) -> Vec<(&'static str, String)> {
    let value = match row.value {
        "$CRC32" => s3transfer::checksum::checksum(
            s3transfer::ChecksumAlgorithm::Crc32,
            &random_bytes(size, 6),
        )
        .to_base64(),
        "$ETAG" => etag.to_owned(),
        "$VERSION" => version.to_owned(),
        v => v.to_owned(),
    };
    let mut pairs = vec![(row.name, value)];
    match row.name {
        "SSECustomerKey" => pairs.push(("SSECustomerKeyMD5", DEST_MD5.into())),
        "CopySourceSSECustomerKey" => pairs.push(("CopySourceSSECustomerKeyMD5", SRC_MD5.into())),
        _ => {}
    }
    pairs
}

/// Run one row's operation at `size` and return the calls it made, with the value the
/// argument should have shown up as.
fn run(row: &Row, size: usize) -> (Vec<RecordedCall>, String) {
    // Only what the caller asked for: the checksums the engine adds on its own (with
    // the default WhenSupported) are tested in tests/checksums.rs.
    let fake = FakeS3::new();
    fake.create_versioned_bucket(BUCKET);
    let manager = TransferManager::new(
        Arc::new(fake.clone()),
        TransferConfig::builder()
            .multipart_threshold(5 * MIB as u64)
            .multipart_chunksize(5 * MIB as u64)
            .max_request_concurrency(3)
            .request_checksum_calculation(s3transfer::ChecksumWhen::WhenRequired)
            .response_checksum_validation(s3transfer::ChecksumWhen::WhenRequired)
            .build()
            .unwrap(),
    );
    let source_sse = (row.name == "CopySourceSSECustomerKey")
        .then(|| SseCustomerKey::new("AES256", SRC_KEY, SRC_MD5));
    let object_sse = (row.op == Op::Download && row.name == "SSECustomerKey")
        .then(|| SseCustomerKey::new("AES256", DEST_KEY, DEST_MD5));
    let (etag, version) = seed(&fake, "src", size, source_sse.or(object_sse));
    let pairs = pairs_of(row, &etag, &version, size);
    let borrowed = pairs.iter().map(|(k, v)| (*k, v.as_str()));
    let future = match row.op {
        Op::Upload => {
            let mut args = UploadArgs::from_pairs(borrowed).unwrap();
            if row.name == "MpuObjectSize" && size != LARGE {
                args.mpu_object_size = Some(size as u64);
            }
            let source = UploadSource::seekable(Cursor::new(random_bytes(size, 6)));
            manager.upload(source, BUCKET, "dst", args, &[])
        }
        Op::Download => {
            let args = DownloadArgs::from_pairs(borrowed).unwrap();
            let sink = DownloadTarget::seekable(Cursor::new(Vec::new()));
            manager.download(BUCKET, "src", sink, args, &[])
        }
        Op::Copy => {
            let args = CopyArgs::from_pairs(borrowed).unwrap();
            manager.copy(CopySource::new(BUCKET, "src"), BUCKET, "dst", args, &[])
        }
        Op::Delete => {
            let args = DeleteArgs::from_pairs(borrowed).unwrap();
            manager.delete(BUCKET, "src", args, &[])
        }
    };
    future
        .unwrap()
        .result()
        .unwrap_or_else(|e| panic!("{:?} {} at {size}: {e}", row.op, row.name));
    manager.shutdown(false, "");
    let expect = match row.name {
        "Metadata" => "a=1".to_owned(),
        _ => pairs[0].1.clone(),
    };
    (fake.calls(), expect)
}

#[test]
fn every_argument_reaches_exactly_its_requests() {
    let mut failures = Vec::new();
    let rows = rows();
    for row in &rows {
        for (size, expected) in [(SMALL, row.single), (LARGE, row.multi)] {
            if row.op == Op::Delete && size == LARGE {
                continue;
            }
            let (calls, value) = run(row, size);
            let mut reached = BTreeSet::new();
            for call in &calls {
                let got = carried(call, row.name);
                let should = expected.contains(&call.operation());
                if should && got.as_deref() != Some(value.as_str()) {
                    failures.push(format!(
                        "{:?} {} ({size} B): {} lacks it (got {got:?})",
                        row.op,
                        row.name,
                        call.operation()
                    ));
                }
                if !should && got.is_some() {
                    failures.push(format!(
                        "{:?} {} ({size} B): {} carries it ({got:?})",
                        row.op,
                        row.name,
                        call.operation()
                    ));
                }
                reached.insert(call.operation().as_str());
            }
            for op in expected {
                if !reached.contains(op.as_str()) {
                    failures.push(format!(
                        "{:?} {} ({size} B): no {op} call was made",
                        row.op, row.name
                    ));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // Every allowed name of every operation has a row (SSE-C's three names are one).
    let covered = |op: Op, name: &str| {
        // SSE-C's algorithm, key and MD5 travel together: the key's row covers them.
        let base = match name {
            n if n.starts_with("CopySourceSSECustomer") => "CopySourceSSECustomerKey",
            n if n.starts_with("SSECustomer") => "SSECustomerKey",
            n => n,
        };
        let full_object = name.starts_with("Checksum")
            && !matches!(name, "ChecksumAlgorithm" | "ChecksumType" | "ChecksumMode");
        // Full-object values share one route; CRC32 stands for all ten (SHA256 too).
        full_object || rows.iter().any(|r| r.op == op && r.name == base)
    };
    for (op, names) in [
        (Op::Upload, UploadArgs::allowed_names()),
        (Op::Download, DownloadArgs::allowed_names()),
        (Op::Copy, CopyArgs::allowed_names()),
        (Op::Delete, DeleteArgs::allowed_names()),
    ] {
        for name in names {
            assert!(covered(op, name), "{op:?} {name} has no row");
        }
    }
}

#[test]
fn context_reaches_abort_but_sse_c_does_not_exist_there() {
    // s3transfer drops RequestPayer and ExpectedBucketOwner on Abort; a requester-pays
    // bucket then refuses the abort and the parts stay billed. We send them.
    let (fake, manager) = setup();
    fake.fail_always(Operation::UploadPart, InjectedError::access_denied());
    let args = UploadArgs::from_pairs([
        ("RequestPayer", "requester"),
        ("ExpectedBucketOwner", "111122223333"),
        ("SSECustomerKey", DEST_KEY),
        ("SSECustomerKeyMD5", DEST_MD5),
    ])
    .unwrap();
    let source = UploadSource::seekable(Cursor::new(random_bytes(LARGE, 1)));
    let err = manager
        .upload(source, BUCKET, "k", args, &[])
        .unwrap()
        .result()
        .unwrap_err();
    assert!(matches!(err, TransferError::S3UploadFailed { .. }), "{err}");
    let aborts = fake.calls_of(Abort);
    assert_eq!(aborts.len(), 1);
    assert_eq!(
        carried(&aborts[0], "RequestPayer").as_deref(),
        Some("requester")
    );
    assert_eq!(
        carried(&aborts[0], "ExpectedBucketOwner").as_deref(),
        Some("111122223333")
    );
    assert!(fake.list_multipart_uploads(BUCKET).is_empty());

    // The same for a multipart copy whose part copy fails.
    fake.clear_faults();
    seed(&fake, "src", LARGE, None);
    fake.fail_nth(Operation::UploadPartCopy, 2, InjectedError::access_denied());
    let args = CopyArgs::default().request_payer("requester");
    let err = manager
        .copy(CopySource::new(BUCKET, "src"), BUCKET, "dst", args, &[])
        .unwrap()
        .result()
        .unwrap_err();
    assert!(matches!(err, TransferError::S3CopyFailed { .. }), "{err}");
    let aborts = fake.calls_of(Abort);
    assert_eq!(aborts.len(), 1);
    assert_eq!(
        carried(&aborts[0], "RequestPayer").as_deref(),
        Some("requester")
    );
    assert!(fake.list_multipart_uploads(BUCKET).is_empty());
    assert!(fake.object(BUCKET, "dst").is_none());
    manager.shutdown(false, "");
}

#[test]
fn unknown_or_misplaced_arguments_are_refused_before_any_request() {
    let (fake, manager) = setup();
    let upload =
        UploadArgs::from_pairs([("ContentType", "a/b"), ("VersionId", "v1")]).and_then(|args| {
            manager.upload(
                UploadSource::stream(Cursor::new(vec![1u8; 10])),
                BUCKET,
                "k",
                args,
                &[],
            )
        });
    match upload {
        Err(TransferError::InvalidArgument(message)) => {
            assert!(message.contains("VersionId"), "{message}");
            assert!(
                message.contains("ContentType, ContentDisposition")
                    || message.contains("ContentType")
            );
            assert!(message.contains("must be one of"), "{message}");
        }
        Err(other) => panic!("expected InvalidArgument, got {other}"),
        Ok(_) => panic!("VersionId was accepted on an upload"),
    }
    for bad in [
        DownloadArgs::from_pairs([("ACL", "private")]).err(),
        DownloadArgs::from_pairs([("Bogus", "1")]).err(),
        CopyArgs::from_pairs([("VersionId", "v")]).err(),
        CopyArgs::from_pairs([("MFA", "x")]).err(),
        DeleteArgs::from_pairs([("ContentType", "x")]).err(),
        UploadArgs::from_pairs([("MetadataDirective", "COPY")]).err(),
        UploadArgs::from_pairs([("ChecksumMode", "ENABLED")]).err(),
    ] {
        assert!(
            matches!(bad, Some(TransferError::InvalidArgument(_))),
            "{bad:?}"
        );
    }
    // A typed value that cannot be right is refused at submission too.
    let err = manager
        .download(
            BUCKET,
            "k",
            DownloadTarget::seekable(Cursor::new(Vec::new())),
            DownloadArgs::default().sse_customer(SseCustomerKey::new("AES256", "", "")),
            &[],
        )
        .unwrap_err();
    assert!(matches!(err, TransferError::InvalidArgument(_)), "{err}");
    assert_eq!(fake.total_calls(), 0, "{:?}", fake.calls());
    manager.shutdown(false, "");
}

fn put_content_type(fake: &FakeS3, op: Operation) -> Option<String> {
    let calls = fake.calls_of(op);
    assert_eq!(calls.len(), 1, "{op}");
    carried(&calls[0], "ContentType")
}

#[test]
fn content_type_is_guessed_from_a_file_name_only() {
    let (fake, manager) = setup();
    let dir = tempfile::tempdir().unwrap();
    let upload = |name: &str, size: usize, args: UploadArgs| {
        let path = dir.path().join(name);
        std::fs::write(&path, random_bytes(size, 2)).unwrap();
        fake.clear_calls();
        manager
            .upload(path.as_path(), BUCKET, name, args, &[])
            .unwrap()
            .result()
            .unwrap();
    };
    upload("page.html", 10, UploadArgs::default());
    assert_eq!(put_content_type(&fake, Put).as_deref(), Some("text/html"));
    assert_eq!(
        fake.object(BUCKET, "page.html")
            .unwrap()
            .attributes
            .content_type
            .as_deref(),
        Some("text/html")
    );
    upload("archive.tar.gz", 10, UploadArgs::default());
    assert_eq!(
        put_content_type(&fake, Put).as_deref(),
        Some("application/x-tar")
    );
    upload("IMAGE.JPG", LARGE, UploadArgs::default());
    assert_eq!(
        put_content_type(&fake, Create).as_deref(),
        Some("image/jpeg")
    );
    // Given wins; no guess when switched off or unknown.
    upload(
        "data.json",
        10,
        UploadArgs::default().content_type("text/x-mine"),
    );
    assert_eq!(put_content_type(&fake, Put).as_deref(), Some("text/x-mine"));
    upload(
        "data2.json",
        10,
        UploadArgs::default().guess_content_type(false),
    );
    assert_eq!(put_content_type(&fake, Put), None);
    upload("README", 10, UploadArgs::default());
    assert_eq!(put_content_type(&fake, Put), None);
    // A stream has no name, even if it came from a .json file.
    fake.clear_calls();
    manager
        .upload(
            UploadSource::stream(Cursor::new(b"{}".to_vec())),
            BUCKET,
            "stream.json",
            UploadArgs::default(),
            &[],
        )
        .unwrap()
        .result()
        .unwrap();
    assert_eq!(put_content_type(&fake, Put), None);
    manager.shutdown(false, "");
}

#[test]
fn copy_head_gets_source_version_sse_c_and_context() {
    let (fake, manager) = setup();
    let key = SseCustomerKey::new("AES256", SRC_KEY, SRC_MD5);
    let (_, old_version) = seed(&fake, "src", SMALL, Some(key.clone()));
    seed(&fake, "src", SMALL + 1, Some(key.clone()));
    let mut source = CopySource::new(BUCKET, "src");
    source.version_id = Some(old_version.clone());
    let args = CopyArgs::default()
        .copy_source_sse_customer(key.clone())
        .request_payer("requester")
        .expected_bucket_owner("111122223333");
    let out = manager
        .copy(source, BUCKET, "dst", args, &[])
        .unwrap()
        .result()
        .unwrap();
    assert_eq!(out.bytes, SMALL as u64, "the old version was copied");
    let heads = fake.calls_of(Head);
    let RecordedCall::HeadObject(head) = &heads[0] else {
        unreachable!()
    };
    assert_eq!(head.version_id.as_deref(), Some(old_version.as_str()));
    assert_eq!(head.sse_customer.as_ref(), Some(&key));
    assert_eq!(head.context.request_payer.as_deref(), Some("requester"));
    assert_eq!(
        head.context.expected_bucket_owner.as_deref(),
        Some("111122223333")
    );
    let RecordedCall::CopyObject(copy) = &fake.calls_of(CopyObj)[0] else {
        unreachable!()
    };
    assert_eq!(
        copy.source.version_id.as_deref(),
        Some(old_version.as_str())
    );
    manager.shutdown(false, "");
}

#[test]
fn multipart_copy_keeps_what_copy_object_keeps_unless_replaced() {
    let (fake, manager) = setup();
    let mut attributes = s3transfer::ObjectAttributes::default();
    attributes.content_type = Some("image/png".into());
    attributes.cache_control = Some("max-age=9".into());
    attributes.content_disposition = Some("attachment".into());
    attributes.content_encoding = Some("identity".into());
    attributes.content_language = Some("de".into());
    attributes.expires = Some("Thu, 01 Jan 2037 00:00:00 GMT".into());
    attributes.metadata.insert("owner".into(), "me".into());
    attributes.storage_class = Some("GLACIER".into());
    fake.put_object_with(BUCKET, "src", random_bytes(LARGE, 3), attributes.clone());
    manager
        .copy(
            CopySource::new(BUCKET, "src"),
            BUCKET,
            "dst",
            CopyArgs::default(),
            &[],
        )
        .unwrap()
        .result()
        .unwrap();
    let got = fake.object(BUCKET, "dst").unwrap();
    assert!(got.is_multipart());
    let mut expected = attributes.clone();
    // Storage class is not a property CopyObject keeps either.
    expected.storage_class = None;
    assert_eq!(got.attributes, expected);
    // A caller's value wins over the source's; REPLACE keeps nothing.
    manager
        .copy(
            CopySource::new(BUCKET, "src"),
            BUCKET,
            "dst2",
            CopyArgs::default().content_type("text/plain"),
            &[],
        )
        .unwrap()
        .result()
        .unwrap();
    let got = fake.object(BUCKET, "dst2").unwrap();
    assert_eq!(got.attributes.content_type.as_deref(), Some("text/plain"));
    assert_eq!(got.attributes.cache_control.as_deref(), Some("max-age=9"));
    manager
        .copy(
            CopySource::new(BUCKET, "src"),
            BUCKET,
            "dst3",
            CopyArgs::default()
                .metadata_directive(Directive::Replace)
                .metadata("k", "v"),
            &[],
        )
        .unwrap()
        .result()
        .unwrap();
    let got = fake.object(BUCKET, "dst3").unwrap();
    assert_eq!(got.attributes.content_type, None);
    assert_eq!(
        got.attributes.metadata.get("k").map(String::as_str),
        Some("v")
    );
    assert!(!got.attributes.metadata.contains_key("owner"));
    manager.shutdown(false, "");
}

#[test]
fn delete_with_version_id_removes_only_that_version() {
    let (fake, manager) = setup();
    let (_, v1) = seed(&fake, "k", 10, None);
    let (_, v2) = seed(&fake, "k", 20, None);
    let out = manager
        .delete(
            BUCKET,
            "k",
            DeleteArgs::from_pairs([("VersionId", v1.as_str()), ("MFA", "serial 123456")]).unwrap(),
            &[],
        )
        .unwrap()
        .result()
        .unwrap();
    assert_eq!(out.version_id.as_deref(), Some(v1.as_str()));
    let left: Vec<_> = fake
        .object_versions(BUCKET, "k")
        .into_iter()
        .filter_map(|o| o.version_id)
        .collect();
    assert_eq!(left, vec![v2]);
    manager.shutdown(false, "");
}

/// The checksum arguments go through the rusoto backend to the store: s3s-fs checks a
/// PutObject's value (rejecting a wrong one) and keeps it; the multipart ones, which it
/// ignores, must at least not break the upload.
#[test]
fn checksum_arguments_reach_the_store_through_the_rusoto_backend() {
    let server = LocalS3::shared();
    let bucket = common::unique_bucket("args");
    server.create_bucket(&bucket);
    let client: Arc<RusotoS3> = server.client();
    let manager = TransferManager::new(client.clone(), config());
    let upload = |key: &str, size: usize, pairs: &[(&str, &str)]| {
        let data = random_bytes(size, 2);
        let args = UploadArgs::from_pairs(pairs.iter().copied()).unwrap();
        let source = UploadSource::seekable(Cursor::new(data.clone()));
        let result = manager
            .upload(source, &bucket, key, args, &[])
            .unwrap()
            .result();
        (data, result)
    };
    let sha256 = ChecksumAlgorithm::Sha256;
    let (data, out) = upload("sha", SMALL, &[("ChecksumAlgorithm", "SHA256")]);
    assert_eq!(out.unwrap().validated, Validation::WholeObject(sha256));
    let mut head = HeadObjectRequest::default();
    head.bucket = bucket.clone();
    head.key = "sha".into();
    head.checksum_mode = true;
    let stored = client.head_object(&head).unwrap().checksums;
    assert_eq!(stored.sha256, Some(checksum(sha256, &data).to_base64()));

    let (_, out) = upload("wrong", SMALL, &[("ChecksumCRC32", "AAAAAA==")]);
    let err = out.unwrap_err();
    assert!(matches!(err, TransferError::S3UploadFailed { .. }), "{err}");
    assert_eq!(
        err.s3_error().and_then(|e| e.code.as_deref()),
        Some("BadDigest")
    );

    let size = LARGE.to_string();
    let pairs = [
        ("ChecksumAlgorithm", "CRC32"),
        ("ChecksumType", "COMPOSITE"),
        ("MpuObjectSize", size.as_str()),
    ];
    let (_, out) = upload("composite", LARGE, &pairs);
    assert_eq!(
        out.unwrap().validated,
        Validation::PerPart(ChecksumAlgorithm::Crc32)
    );

    let down = manager
        .download(
            &bucket,
            "sha",
            DownloadTarget::seekable(Cursor::new(Vec::new())),
            DownloadArgs::from_pairs([("ChecksumMode", "ENABLED")]).unwrap(),
            &[],
        )
        .unwrap()
        .result()
        .unwrap();
    assert_eq!(down.validated, Validation::WholeObject(sha256));
    manager
        .copy(
            CopySource::new(&bucket, "sha"),
            &bucket,
            "copy",
            CopyArgs::from_pairs([("ChecksumAlgorithm", "SHA256")]).unwrap(),
            &[],
        )
        .unwrap()
        .result()
        .unwrap();
    manager.shutdown(false, "");
}

#[test]
fn a_choice_s3_adds_later_is_sent_as_given() {
    let (fake, manager) = setup();
    fake.put_object_bytes(BUCKET, "src", random_bytes(1024, 3));
    fake.clear_calls();
    // The typed escape for a value this library does not know: not refused here, sent
    // as spelled; the store decides (the fake, like S3, refuses an unknown directive).
    let err = manager
        .copy(
            CopySource::new(BUCKET, "src"),
            BUCKET,
            "dst",
            CopyArgs::default().metadata_directive(Directive::from_name("MERGE")),
            &[],
        )
        .unwrap()
        .result()
        .unwrap_err();
    assert_eq!(
        err.s3_error().and_then(|e| e.code.as_deref()),
        Some("InvalidArgument"),
        "{err}"
    );
    let copies = fake.calls_of(Operation::CopyObject);
    assert_eq!(copies.len(), 1);
    assert_eq!(
        carried(&copies[0], "MetadataDirective").as_deref(),
        Some("MERGE")
    );
    manager.shutdown(false, "");
}
