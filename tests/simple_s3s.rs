//! `S3Transfer`, the one-call API, against a real S3 implementation (in-process
//! s3s-fs over the rusoto backend): each method, the progress totals, typed errors.
#![cfg(feature = "rusoto")]

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use common::s3s_server::LocalS3;
use common::{random_bytes, unique_bucket};
use s3transfer::{
    CopyArgs, CopySource, DeleteArgs, DownloadArgs, ErrorKind, NO_CALLBACK, RusotoS3, S3ErrorKind,
    S3Transfer, TransferConfig, UploadArgs,
};

const MIB: usize = 1024 * 1024;

fn setup() -> (S3Transfer, String, tempfile::TempDir) {
    let server = LocalS3::shared();
    let bucket = unique_bucket("simple");
    server.create_bucket(&bucket);
    let transfer = S3Transfer::new(server.client(), TransferConfig::default());
    (transfer, bucket, tempfile::tempdir().unwrap())
}

/// A progress callback summing the deltas it is given, and the sum.
fn summing() -> (Arc<AtomicI64>, impl Fn(i64) + Send + Sync + 'static) {
    let total = Arc::new(AtomicI64::new(0));
    let t = total.clone();
    (total, move |delta| {
        t.fetch_add(delta, Ordering::Relaxed);
    })
}

#[test]
fn upload_copy_download_delete_round_trip_with_progress_totals() {
    let (transfer, bucket, dir) = setup();
    // Above the 8 MiB threshold: multipart upload, multipart copy, ranged download.
    let body = random_bytes(9 * MIB + 123, 7);
    let source = dir.path().join("source.bin");
    std::fs::write(&source, &body).unwrap();

    let (up, callback) = summing();
    let out = transfer
        .upload_file(
            &source,
            &bucket,
            "a.bin",
            UploadArgs::default(),
            Some(callback),
        )
        .unwrap();
    assert_eq!(out.bytes, body.len() as u64);
    assert_eq!(out.parts, 2);
    assert_eq!(up.load(Ordering::Relaxed), body.len() as i64);

    let (copied, callback) = summing();
    let out = transfer
        .copy(
            CopySource::new(&bucket, "a.bin"),
            &bucket,
            "b.bin",
            CopyArgs::default(),
            Some(callback),
        )
        .unwrap();
    assert_eq!(out.bytes, body.len() as u64);
    assert_eq!(copied.load(Ordering::Relaxed), body.len() as i64);

    let (down, callback) = summing();
    let target = dir.path().join("b.bin");
    let out = transfer
        .download_file(
            &bucket,
            "b.bin",
            &target,
            DownloadArgs::default(),
            Some(callback),
        )
        .unwrap();
    assert_eq!(out.bytes, body.len() as u64);
    assert_eq!(down.load(Ordering::Relaxed), body.len() as i64);
    assert!(std::fs::read(&target).unwrap() == body);

    for key in ["a.bin", "b.bin"] {
        transfer
            .delete(&bucket, key, DeleteArgs::default())
            .unwrap();
    }
    let err = transfer
        .download_file(
            &bucket,
            "a.bin",
            dir.path().join("gone"),
            DownloadArgs::default(),
            NO_CALLBACK,
        )
        .unwrap_err();
    assert!(err.is_not_found(), "{err:?}");
}

#[test]
fn upload_rejected_by_the_server_is_s3_upload_failed() {
    // s3s-fs creates a missing bucket on PutObject, so a rejection it does make: a
    // storage class it does not offer.
    let (transfer, bucket, dir) = setup();
    let source = dir.path().join("small.txt");
    std::fs::write(&source, b"hello").unwrap();
    let mut args = UploadArgs::default();
    args.attributes.storage_class = Some("GLACIER".into());
    let err = transfer
        .upload_file(&source, &bucket, "k", args, NO_CALLBACK)
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::S3UploadFailed, "{err:?}");
    assert_eq!(
        err.s3_error().unwrap().code.as_deref(),
        Some("InvalidStorageClass")
    );
}

#[test]
fn upload_with_a_wrong_secret_is_s3_upload_failed_access_denied() {
    let server = LocalS3::shared();
    let (_transfer, bucket, dir) = setup();
    let client = RusotoS3::builder()
        .endpoint(server.endpoint())
        .region("us-east-1")
        .static_credentials(server.access_key(), "not-the-secret")
        .build()
        .unwrap();
    let transfer = S3Transfer::new(Arc::new(client), TransferConfig::default());
    let source = dir.path().join("small.txt");
    std::fs::write(&source, b"hello").unwrap();
    let err = transfer
        .upload_file(&source, &bucket, "k", UploadArgs::default(), NO_CALLBACK)
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::S3UploadFailed, "{err:?}");
    assert_eq!(err.s3_error().unwrap().kind(), S3ErrorKind::AccessDenied);
}

#[test]
fn download_of_a_missing_key_is_s3_download_failed_and_leaves_nothing() {
    let (transfer, bucket, dir) = setup();
    let target = dir.path().join("out.bin");
    let err = transfer
        .download_file(
            &bucket,
            "absent",
            &target,
            DownloadArgs::default(),
            NO_CALLBACK,
        )
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::S3DownloadFailed);
    assert!(err.is_not_found());
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn copy_from_a_missing_key_is_typed_not_found() {
    let (transfer, bucket, _dir) = setup();
    let err = transfer
        .copy(
            CopySource::new(&bucket, "absent"),
            &bucket,
            "dst",
            CopyArgs::default(),
            NO_CALLBACK,
        )
        .unwrap_err();
    assert!(err.is_not_found(), "{err:?}");
}
