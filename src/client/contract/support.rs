//! What the checks share: request builders, test data, an observer that counts what a
//! backend pulled, and assertions that name what was being done when they fail.

use std::fmt::Debug;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use crate::client::{
    AbortMultipartUploadRequest, BodyObserver, CompleteMultipartUploadOutput,
    CompleteMultipartUploadRequest, CompletedPart, CreateMultipartUploadRequest, GetObjectOutput,
    GetObjectRequest, HeadObjectOutput, HeadObjectRequest, PutObjectOutput, PutObjectRequest,
    RequestBody, S3Api, S3Error, S3ErrorKind, UploadPartRequest,
};

/// `len` reproducible, incompressible-enough bytes from `seed` (xorshift64*).
pub(super) fn data(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        out.extend_from_slice(&state.wrapping_mul(0x2545_F491_4F6C_DD1D).to_le_bytes());
    }
    out.truncate(len);
    out
}

/// The value of `result`, or a panic naming `what` and the error.
pub(super) fn ok<T>(result: Result<T, S3Error>, what: &str) -> T {
    result.unwrap_or_else(|e| panic!("{what}: {e}"))
}

/// The error of `result`, which must be of `kind` and name `operation`; else a panic
/// naming `what`.
pub(super) fn fails<T: Debug>(
    result: Result<T, S3Error>,
    kind: S3ErrorKind,
    operation: &str,
    what: &str,
) -> S3Error {
    let err = match result {
        Ok(value) => panic!("{what}: expected a {kind:?} error, got success: {value:?}"),
        Err(err) => err,
    };
    assert_eq!(
        err.kind(),
        kind,
        "{what}: expected a {kind:?} error, got {err}"
    );
    assert_eq!(
        err.operation, operation,
        "{what}: the error names the wrong operation: {err}"
    );
    err
}

/// The error of `result`, which must name `operation` and not be retryable; else a
/// panic naming `what`.
pub(super) fn fails_for_good<T: Debug>(
    result: Result<T, S3Error>,
    operation: &str,
    what: &str,
) -> S3Error {
    let err = match result {
        Ok(value) => panic!("{what}: expected an error, got success: {value:?}"),
        Err(err) => err,
    };
    assert!(
        !err.is_retryable(),
        "{what}: expected an error that is not retryable, got {err}"
    );
    assert_eq!(
        err.operation, operation,
        "{what}: the error names the wrong operation: {err}"
    );
    err
}

/// Bytes of a GET and its answer.
pub(super) type Got = (Vec<u8>, GetObjectOutput);

pub(super) fn get_req(bucket: &str, key: &str) -> GetObjectRequest {
    GetObjectRequest {
        bucket: bucket.to_owned(),
        key: key.to_owned(),
        ..Default::default()
    }
}

pub(super) fn head_req(bucket: &str, key: &str) -> HeadObjectRequest {
    HeadObjectRequest {
        bucket: bucket.to_owned(),
        key: key.to_owned(),
        ..Default::default()
    }
}

pub(super) fn put_req(bucket: &str, key: &str) -> PutObjectRequest {
    PutObjectRequest {
        bucket: bucket.to_owned(),
        key: key.to_owned(),
        ..Default::default()
    }
}

pub(super) fn get(s3: &dyn S3Api, request: &GetObjectRequest) -> Result<Got, S3Error> {
    let mut body = Vec::new();
    let out = s3.get_object(request, &mut body)?;
    Ok((body, out))
}

pub(super) fn head(s3: &dyn S3Api, bucket: &str, key: &str) -> Result<HeadObjectOutput, S3Error> {
    s3.head_object(&head_req(bucket, key))
}

/// PutObject `data` at `bucket`/`key`, which must succeed.
pub(super) fn put(s3: &dyn S3Api, bucket: &str, key: &str, data: &[u8]) -> PutObjectOutput {
    ok(
        s3.put_object(&put_req(bucket, key), &mut RequestBody::new(data.to_vec())),
        &format!("PutObject {key}"),
    )
}

pub(super) fn create_req(bucket: &str, key: &str) -> CreateMultipartUploadRequest {
    CreateMultipartUploadRequest {
        bucket: bucket.to_owned(),
        key: key.to_owned(),
        ..Default::default()
    }
}

/// A new multipart upload of `bucket`/`key`: its upload id.
pub(super) fn create(s3: &dyn S3Api, bucket: &str, key: &str) -> String {
    let out = ok(
        s3.create_multipart_upload(&create_req(bucket, key)),
        &format!("CreateMultipartUpload {key}"),
    );
    assert!(
        !out.upload_id.is_empty(),
        "CreateMultipartUpload {key}: empty upload id"
    );
    out.upload_id
}

pub(super) fn part_req(bucket: &str, key: &str, upload_id: &str, n: u32) -> UploadPartRequest {
    UploadPartRequest {
        bucket: bucket.to_owned(),
        key: key.to_owned(),
        upload_id: upload_id.to_owned(),
        part_number: n,
        ..Default::default()
    }
}

/// UploadPart `data` as part `n`, which must succeed and return an ETag.
pub(super) fn upload_part(
    s3: &dyn S3Api,
    bucket: &str,
    key: &str,
    upload_id: &str,
    n: u32,
    data: &[u8],
) -> CompletedPart {
    let out = ok(
        s3.upload_part(
            &part_req(bucket, key, upload_id, n),
            &mut RequestBody::new(data.to_vec()),
        ),
        &format!("UploadPart {n} of {key}"),
    );
    let etag = out
        .etag
        .unwrap_or_else(|| panic!("UploadPart {n} of {key}: no ETag"));
    CompletedPart::new(n, etag)
}

/// AbortMultipartUpload of `upload_id`, which must succeed.
pub(super) fn abort(s3: &dyn S3Api, bucket: &str, key: &str, upload_id: &str) {
    ok(
        s3.abort_multipart_upload(&AbortMultipartUploadRequest {
            bucket: bucket.to_owned(),
            key: key.to_owned(),
            upload_id: upload_id.to_owned(),
            ..Default::default()
        }),
        "AbortMultipartUpload",
    );
}

pub(super) fn complete_req(
    bucket: &str,
    key: &str,
    upload_id: &str,
    parts: Vec<CompletedPart>,
) -> CompleteMultipartUploadRequest {
    CompleteMultipartUploadRequest {
        bucket: bucket.to_owned(),
        key: key.to_owned(),
        upload_id: upload_id.to_owned(),
        parts,
        ..Default::default()
    }
}

pub(super) fn complete(
    s3: &dyn S3Api,
    bucket: &str,
    key: &str,
    upload_id: &str,
    parts: Vec<CompletedPart>,
) -> CompleteMultipartUploadOutput {
    ok(
        s3.complete_multipart_upload(&complete_req(bucket, key, upload_id, parts)),
        &format!("CompleteMultipartUpload {key}"),
    )
}

/// A two-part object at `bucket`/`key`: `first` bytes, then `second`. Returns the data
/// and the completed object's ETag.
pub(super) fn multipart_object(
    s3: &dyn S3Api,
    bucket: &str,
    key: &str,
    first: usize,
    second: usize,
) -> (Vec<u8>, String) {
    let bytes = data(first + second, 0xC0FFEE);
    let id = create(s3, bucket, key);
    let parts = vec![
        upload_part(s3, bucket, key, &id, 1, &bytes[..first]),
        upload_part(s3, bucket, key, &id, 2, &bytes[first..]),
    ];
    let etag = complete(s3, bucket, key, &id, parts)
        .etag
        .unwrap_or_else(|| panic!("CompleteMultipartUpload {key}: no ETag"));
    (bytes, etag)
}

/// Whether `etag` is quoted, as S3 sends ETags and as the types keep them.
pub(super) fn assert_quoted(etag: &str, what: &str) {
    assert!(
        etag.len() >= 2 && etag.starts_with('"') && etag.ends_with('"'),
        "{what}: the ETag {etag} is not quoted as S3 sends it"
    );
}

/// Counts the bytes a backend pulled from a body, net of rewinds (a backend may replay a
/// body), and refuses the chunk after the first `allow` chunks if given.
#[derive(Default)]
pub(super) struct Pulled {
    pub(super) bytes: AtomicI64,
    pub(super) chunks: AtomicI64,
    pub(super) allow: Option<i64>,
}

impl Pulled {
    pub(super) fn refusing_after(chunks: i64) -> Arc<Pulled> {
        Arc::new(Pulled {
            allow: Some(chunks),
            ..Default::default()
        })
    }

    pub(super) fn bytes(&self) -> i64 {
        self.bytes.load(Ordering::SeqCst)
    }

    pub(super) fn chunks(&self) -> i64 {
        self.chunks.load(Ordering::SeqCst)
    }
}

/// The message a refusing observer or sink stops a request with.
pub(super) const REFUSED: &str = "the contract suite refused this chunk";

impl BodyObserver for Pulled {
    fn on_chunk(&self, len: usize) -> Result<(), S3Error> {
        let seen = self.chunks.fetch_add(1, Ordering::SeqCst);
        if self.allow.is_some_and(|allow| seen >= allow) {
            return Err(S3Error::new(S3ErrorKind::Cancelled, "contract", REFUSED));
        }
        self.bytes.fetch_add(len as i64, Ordering::SeqCst);
        Ok(())
    }

    fn on_rewind(&self, len: usize) {
        self.bytes.fetch_sub(len as i64, Ordering::SeqCst);
    }
}
