//! The fake's own unit tests: how it models S3 beyond the backend contract (exact error
//! codes, multipart and copy rules, SSE-C, versions), its call log and its faults. The
//! behaviour every backend shares is checked by `client::contract`, which runs on the
//! fake too.

mod copies;
mod faults;
mod multipart;
mod store;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use super::dates::{http_date, parse_http_date};
use super::{FakeObject, FakeS3, InjectedError, Operation, RecordedCall};
use crate::client::{
    AbortMultipartUploadRequest, BodyObserver, ByteRange, ChecksumAlgorithm,
    CompleteMultipartUploadRequest, CompletedPart, CopyObjectRequest, CopySource,
    CreateMultipartUploadRequest, DeleteObjectRequest, GetObjectOutput, GetObjectRequest,
    HeadObjectRequest, ObjectAttributes, PutObjectOutput, PutObjectRequest, RequestBody, S3Api,
    S3Error, S3ErrorKind, SseCustomerKey, UploadPartCopyRequest, UploadPartRequest,
};

const B: &str = "bucket";

fn fake() -> FakeS3 {
    let s3 = FakeS3::new().with_min_part_size(4);
    s3.create_bucket(B);
    s3
}

fn get_req(key: &str) -> GetObjectRequest {
    GetObjectRequest {
        bucket: B.into(),
        key: key.into(),
        ..Default::default()
    }
}

fn head_req(key: &str) -> HeadObjectRequest {
    HeadObjectRequest {
        bucket: B.into(),
        key: key.into(),
        ..Default::default()
    }
}

fn put_req(key: &str) -> PutObjectRequest {
    PutObjectRequest {
        bucket: B.into(),
        key: key.into(),
        ..Default::default()
    }
}

fn get(s3: &FakeS3, req: &GetObjectRequest) -> Result<(Vec<u8>, GetObjectOutput), S3Error> {
    let mut sink = Vec::new();
    let out = s3.get_object(req, &mut sink)?;
    Ok((sink, out))
}

fn put(s3: &FakeS3, key: &str, data: &[u8]) -> PutObjectOutput {
    s3.put_object(&put_req(key), &mut RequestBody::new(data.to_vec()))
        .unwrap()
}

fn create(s3: &FakeS3, key: &str) -> String {
    s3.create_multipart_upload(&CreateMultipartUploadRequest {
        bucket: B.into(),
        key: key.into(),
        ..Default::default()
    })
    .unwrap()
    .upload_id
}

fn part_req(key: &str, upload_id: &str, n: u32) -> UploadPartRequest {
    UploadPartRequest {
        bucket: B.into(),
        key: key.into(),
        upload_id: upload_id.into(),
        part_number: n,
        ..Default::default()
    }
}

fn upload(s3: &FakeS3, key: &str, upload_id: &str, n: u32, data: &[u8]) -> CompletedPart {
    let out = s3
        .upload_part(
            &part_req(key, upload_id, n),
            &mut RequestBody::new(data.to_vec()),
        )
        .unwrap();
    CompletedPart::new(n, out.etag.unwrap())
}

fn complete_req(
    key: &str,
    upload_id: &str,
    parts: Vec<CompletedPart>,
) -> CompleteMultipartUploadRequest {
    CompleteMultipartUploadRequest {
        bucket: B.into(),
        key: key.into(),
        upload_id: upload_id.into(),
        parts,
        ..Default::default()
    }
}

fn code(err: &S3Error) -> &str {
    err.code.as_deref().unwrap_or("")
}

#[derive(Default)]
struct Progress(AtomicUsize);
impl BodyObserver for Progress {
    fn on_chunk(&self, len: usize) -> Result<(), S3Error> {
        self.0.fetch_add(len, Ordering::SeqCst);
        Ok(())
    }
    fn on_rewind(&self, _: usize) {}
}

fn copy_req(src: &str, dst: &str) -> CopyObjectRequest {
    CopyObjectRequest {
        bucket: B.into(),
        key: dst.into(),
        source: CopySource::new(B, src),
        ..Default::default()
    }
}

fn seed_with_metadata(s3: &FakeS3, key: &str) -> FakeObject {
    let attributes = ObjectAttributes {
        content_type: Some("image/png".into()),
        metadata: BTreeMap::from([("from".into(), "source".into())]),
        tagging: Some("t=1".into()),
        ..Default::default()
    };
    s3.put_object_with(B, key, b"payload".to_vec(), attributes)
}

fn part_copy_req(upload_id: &str, n: u32, src: &str) -> UploadPartCopyRequest {
    UploadPartCopyRequest {
        bucket: B.into(),
        key: "dst".into(),
        upload_id: upload_id.into(),
        part_number: n,
        source: CopySource::new(B, src),
        ..Default::default()
    }
}

fn delete_req(key: &str) -> DeleteObjectRequest {
    DeleteObjectRequest {
        bucket: B.into(),
        key: key.into(),
        ..Default::default()
    }
}
