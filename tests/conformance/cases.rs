//! The cases of the conformance suite, each a function of a [`Target`].

use std::io::{Cursor, Seek, SeekFrom};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use s3transfer::{
    CopyArgs, CopySource, DeleteArgs, DownloadArgs, DownloadTarget, Subscriber, TransferError,
    TransferFuture, UploadArgs, UploadSource,
};

use crate::common::random_bytes;
use crate::support::*;

fn upload_file(t: &Target, key: &str, data: &[u8]) -> s3transfer::TransferOutput {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("src.bin");
    std::fs::write(&path, data).unwrap();
    let manager = t.manager();
    let out = manager
        .upload(path.as_path(), &t.bucket, key, UploadArgs::default(), &[])
        .unwrap()
        .result()
        .unwrap_or_else(|e| panic!("{}: upload {key}: {e}", t.name));
    manager.shutdown(false, "");
    out
}

fn download_to_path(t: &Target, key: &str) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("out.bin");
    let manager = t.manager();
    manager
        .download(&t.bucket, key, path.as_path(), DownloadArgs::default(), &[])
        .unwrap()
        .result()
        .unwrap_or_else(|e| panic!("{}: download {key}: {e}", t.name));
    assert_eq!(
        entries(dir.path()),
        vec!["out.bin"],
        "only the final file remains"
    );
    std::fs::read(&path).unwrap()
}

pub fn upload_small_file_is_one_put(t: &Target) {
    let data = random_bytes(100 * 1024 + 7, 1);
    let out = upload_file(t, "small.bin", &data);
    assert_eq!(out.parts, 1);
    assert_eq!(
        etag_parts(out.etag.as_deref().unwrap()),
        None,
        "a single PUT ETag"
    );
    assert_eq!(t.get("small.bin"), data);
    assert_eq!(download_to_path(t, "small.bin"), data);
}

pub fn upload_file_multipart_has_expected_part_count(t: &Target) {
    let data = random_bytes(11 * MIB + 123, 2);
    let out = upload_file(t, "multi.bin", &data);
    assert_eq!(out.parts, 3);
    assert_eq!(out.bytes, data.len() as u64);
    assert_eq!(etag_parts(out.etag.as_deref().unwrap()), Some(3));
    assert_eq!(download_to_path(t, "multi.bin"), data);
}

pub fn upload_seekable_reader_starts_at_its_position(t: &Target) {
    let data = random_bytes(11 * MIB, 3);
    let mut cursor = Cursor::new(data.clone());
    cursor.seek(SeekFrom::Start(1000)).unwrap();
    let manager = t.manager();
    let out = manager
        .upload(
            UploadSource::seekable(cursor),
            &t.bucket,
            "seek.bin",
            UploadArgs::default(),
            &[],
        )
        .unwrap()
        .result()
        .unwrap();
    assert_eq!(out.bytes, (data.len() - 1000) as u64);
    assert_eq!(etag_parts(out.etag.as_deref().unwrap()), Some(3));
    assert_eq!(t.get("seek.bin"), &data[1000..]);
}

pub fn upload_stream_with_short_reads_goes_multipart(t: &Target) {
    let data = random_bytes(10 * MIB + 5, 4);
    let reader = Trickle {
        data: data.clone(),
        pos: 0,
        step: 4093,
    };
    let recorder = Arc::new(Recorder::default());
    let manager = t.manager();
    let out = manager
        .upload(
            UploadSource::stream(reader),
            &t.bucket,
            "stream.bin",
            UploadArgs::default(),
            &[recorder.clone()],
        )
        .unwrap()
        .result()
        .unwrap();
    // Short reads must not shrink parts: 5 + 5 + 5 bytes' worth of MiB parts.
    assert_eq!(out.parts, 3);
    assert_eq!(etag_parts(out.etag.as_deref().unwrap()), Some(3));
    recorder.assert_complete(data.len() as u64);
    assert_eq!(t.get("stream.bin"), data);
}

pub fn upload_small_stream_is_one_put(t: &Target) {
    let data = random_bytes(3 * MIB, 5);
    let manager = t.manager();
    let out = manager
        .upload(
            UploadSource::stream(Trickle {
                data: data.clone(),
                pos: 0,
                step: 3 * 1024,
            }),
            &t.bucket,
            "small-stream.bin",
            UploadArgs::default(),
            &[],
        )
        .unwrap()
        .result()
        .unwrap();
    assert_eq!(out.parts, 1);
    assert_eq!(t.get("small-stream.bin"), data);
}

pub fn zero_byte_objects_round_trip(t: &Target) {
    let out = upload_file(t, "empty-file", &[]);
    assert_eq!(out.bytes, 0);
    let manager = t.manager();
    manager
        .upload(
            UploadSource::stream(std::io::empty()),
            &t.bucket,
            "empty-stream",
            UploadArgs::default(),
            &[],
        )
        .unwrap()
        .result()
        .unwrap();
    for key in ["empty-file", "empty-stream"] {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("empty");
        let recorder = Arc::new(Recorder::default());
        let out = manager
            .download(
                &t.bucket,
                key,
                path.as_path(),
                DownloadArgs::default(),
                &[recorder.clone()],
            )
            .unwrap()
            .result()
            .unwrap_or_else(|e| panic!("{}: download {key}: {e}", t.name));
        assert_eq!(out.bytes, 0);
        assert_eq!(
            std::fs::metadata(&path).unwrap().len(),
            0,
            "an empty file is created"
        );
        recorder.assert_complete(0);
    }
}

pub fn download_to_seekable_writer(t: &Target) {
    let data = random_bytes(12 * MIB + 17, 6);
    t.put("dl-seek.bin", &data);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("seek-out");
    let mut file = std::fs::File::create(&path).unwrap();
    std::io::Write::write_all(&mut file, b"HEADER").unwrap();
    let manager = t.manager();
    manager
        .download(
            &t.bucket,
            "dl-seek.bin",
            DownloadTarget::seekable(file),
            DownloadArgs::default(),
            &[],
        )
        .unwrap()
        .result()
        .unwrap();
    let got = std::fs::read(&path).unwrap();
    assert_eq!(&got[..6], b"HEADER", "bytes go after the writer's position");
    assert_eq!(&got[6..], &data[..]);
}

pub fn download_to_stream_keeps_order(t: &Target) {
    let data = random_bytes(16 * MIB + 1, 7);
    t.put("dl-stream.bin", &data);
    let sink = Arc::new(parking_lot::Mutex::new(Vec::new()));
    let manager = t.manager();
    let recorder = Arc::new(Recorder::default());
    let out = manager
        .download(
            &t.bucket,
            "dl-stream.bin",
            DownloadTarget::stream(NonSeekable(sink.clone())),
            DownloadArgs::default(),
            &[recorder.clone()],
        )
        .unwrap()
        .result()
        .unwrap();
    assert_eq!(out.parts, 4, "one first range and three more");
    recorder.assert_complete(data.len() as u64);
    assert!(*sink.lock() == data, "stream output equals the object");
}

pub fn download_with_size_provided_skips_nothing(t: &Target) {
    struct ProvideSize(u64);
    impl Subscriber for ProvideSize {
        fn on_queued(&self, future: &TransferFuture) {
            future.meta().provide_transfer_size(self.0);
        }
    }
    let data = random_bytes(11 * MIB, 8);
    t.put("sized.bin", &data);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sized");
    let manager = t.manager();
    let future = manager
        .download(
            &t.bucket,
            "sized.bin",
            path.as_path(),
            DownloadArgs::default(),
            &[Arc::new(ProvideSize(data.len() as u64))],
        )
        .unwrap();
    let out = future.result().unwrap();
    assert_eq!(out.parts, 3);
    assert!(
        future.meta().etag().is_some(),
        "the ETag is learned from the responses"
    );
    assert_eq!(std::fs::read(&path).unwrap(), data);
}

pub fn awkward_keys_round_trip(t: &Target) {
    let data = random_bytes(2000, 9);
    for key in [
        "with space.txt",
        "ünïcødé/ключ.bin",
        "plus+sign",
        "per%25cent%",
        "a/b/c d+e%f",
    ] {
        let out = upload_file(t, key, &data);
        assert_eq!(out.bytes, 2000, "{key}");
        assert_eq!(download_to_path(t, key), data, "{key}");
    }
}

pub fn missing_key_gives_typed_error_and_no_file(t: &Target) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("never");
    let manager = t.manager();
    let err = manager
        .download(
            &t.bucket,
            "no-such-key",
            path.as_path(),
            DownloadArgs::default(),
            &[],
        )
        .unwrap()
        .result()
        .unwrap_err();
    assert!(
        matches!(err, TransferError::S3DownloadFailed { .. }),
        "{err}"
    );
    assert!(err.is_not_found(), "{err}");
    assert!(
        entries(dir.path()).is_empty(),
        "no file, temporary or final: {:?}",
        entries(dir.path())
    );
}

pub fn missing_destination_directory_gives_clear_error(t: &Target) {
    t.put("exists.bin", b"abc");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("no/such/dir/out");
    let manager = t.manager();
    let err = manager
        .download(
            &t.bucket,
            "exists.bin",
            path.as_path(),
            DownloadArgs::default(),
            &[],
        )
        .unwrap()
        .result()
        .unwrap_err();
    match &err {
        TransferError::Io {
            source,
            path: Some(p),
            ..
        } => {
            assert_eq!(source.kind(), std::io::ErrorKind::NotFound);
            assert!(
                p.starts_with(dir.path().join("no/such/dir")),
                "{}",
                p.display()
            );
        }
        other => panic!("expected an Io error, got {other}"),
    }
}

pub fn object_replaced_during_download_fails_typed(t: &Target) {
    // Replace the object as soon as the first range starts arriving: every later range
    // must then be refused (If-Match on stores that honour it, our ETag check on all).
    struct Replacer {
        client: Arc<dyn s3transfer::S3Api>,
        bucket: String,
        done: AtomicBool,
    }
    impl Subscriber for Replacer {
        fn on_progress(&self, _: &TransferFuture, _: i64) {
            if !self.done.swap(true, Ordering::SeqCst) {
                let mut request = s3transfer::client::PutObjectRequest::default();
                request.bucket = self.bucket.clone();
                request.key = "changing.bin".into();
                let mut body = s3transfer::client::RequestBody::new(random_bytes(11 * MIB, 99));
                self.client.put_object(&request, &mut body).unwrap();
            }
        }
    }
    t.put("changing.bin", &random_bytes(11 * MIB, 10));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("changing");
    let manager = t.manager();
    let replacer = Arc::new(Replacer {
        client: t.client.clone(),
        bucket: t.bucket.clone(),
        done: AtomicBool::new(false),
    });
    let err = manager
        .download(
            &t.bucket,
            "changing.bin",
            path.as_path(),
            DownloadArgs::default(),
            &[replacer],
        )
        .unwrap()
        .result()
        .unwrap_err();
    assert!(
        matches!(err, TransferError::S3DownloadFailed { .. }),
        "{err}"
    );
    assert!(err.to_string().contains("changed"), "{err}");
    assert!(
        entries(dir.path()).is_empty(),
        "no file left: {:?}",
        entries(dir.path())
    );
}

pub fn progress_and_callbacks_are_exact(t: &Target) {
    let data = random_bytes(11 * MIB + 1, 11);
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    std::fs::write(&src, &data).unwrap();
    let manager = t.manager();
    let up = Arc::new(Recorder::default());
    manager
        .upload(
            src.as_path(),
            &t.bucket,
            "progress.bin",
            UploadArgs::default(),
            &[up.clone()],
        )
        .unwrap()
        .result()
        .unwrap();
    up.assert_complete(data.len() as u64);
    let down = Arc::new(Recorder::default());
    let out = dir.path().join("out");
    manager
        .download(
            &t.bucket,
            "progress.bin",
            out.as_path(),
            DownloadArgs::default(),
            &[down.clone()],
        )
        .unwrap()
        .result()
        .unwrap();
    down.assert_complete(data.len() as u64);
    assert!(
        down.progress_calls.load(Ordering::SeqCst) > 3,
        "progress is reported per chunk"
    );
}

pub fn many_concurrent_transfers_complete(t: &Target) {
    let manager = t.manager();
    let blobs: Vec<Vec<u8>> = (0..40)
        .map(|i| random_bytes(1000 + i * 37, 100 + i as u64))
        .collect();
    let futures: Vec<_> = blobs
        .iter()
        .enumerate()
        .map(|(i, b)| {
            manager
                .upload(
                    UploadSource::stream(Cursor::new(b.clone())),
                    &t.bucket,
                    &format!("many/{i}"),
                    UploadArgs::default(),
                    &[],
                )
                .unwrap()
        })
        .collect();
    for f in &futures {
        f.result().unwrap();
    }
    let sinks: Vec<_> = (0..blobs.len())
        .map(|_| Arc::new(parking_lot::Mutex::new(Vec::new())))
        .collect();
    let futures: Vec<_> = sinks
        .iter()
        .enumerate()
        .map(|(i, s)| {
            manager
                .download(
                    &t.bucket,
                    &format!("many/{i}"),
                    DownloadTarget::stream(NonSeekable(s.clone())),
                    DownloadArgs::default(),
                    &[],
                )
                .unwrap()
        })
        .collect();
    for (i, f) in futures.iter().enumerate() {
        f.result().unwrap();
        assert!(*sinks[i].lock() == blobs[i], "object {i}");
    }
    manager.shutdown(false, "");
}

pub fn copy_and_delete_round_trip(t: &Target) {
    let small = random_bytes(1234, 12);
    let large = random_bytes(11 * MIB, 13);
    t.put("copy-src-small", &small);
    t.put("copy-src-large", &large);
    let manager = t.manager();
    let out = manager
        .copy(
            CopySource::new(&t.bucket, "copy-src-small"),
            &t.bucket,
            "copy-dst-small",
            CopyArgs::default(),
            &[],
        )
        .unwrap()
        .result()
        .unwrap();
    assert_eq!(out.parts, 1);
    let out = manager
        .copy(
            CopySource::new(&t.bucket, "copy-src-large"),
            &t.bucket,
            "copy-dst-large",
            CopyArgs::default(),
            &[],
        )
        .unwrap()
        .result()
        .unwrap();
    assert_eq!(out.parts, 3);
    assert_eq!(t.get("copy-dst-small"), small);
    assert_eq!(t.get("copy-dst-large"), large);
    manager
        .delete(&t.bucket, "copy-dst-small", DeleteArgs::default(), &[])
        .unwrap()
        .result()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let err = manager
        .download(
            &t.bucket,
            "copy-dst-small",
            dir.path().join("x").as_path(),
            DownloadArgs::default(),
            &[],
        )
        .unwrap()
        .result()
        .unwrap_err();
    assert!(err.is_not_found(), "{err}");
}

/// On stores that honour If-Match, a range fetched after the object was replaced is
/// refused by the store itself (412), not only by our ETag comparison.
pub fn if_match_pins_every_range(t: &Target) {
    struct ReplaceOnce {
        client: Arc<dyn s3transfer::S3Api>,
        bucket: String,
        done: AtomicBool,
    }
    impl Subscriber for ReplaceOnce {
        fn on_progress(&self, _: &TransferFuture, _: i64) {
            if !self.done.swap(true, Ordering::SeqCst) {
                let mut request = s3transfer::client::PutObjectRequest::default();
                request.bucket = self.bucket.clone();
                request.key = "pinned.bin".into();
                // Same size, other bytes: only the ETag tells them apart.
                let mut body = s3transfer::client::RequestBody::new(random_bytes(11 * MIB, 77));
                self.client.put_object(&request, &mut body).unwrap();
            }
        }
    }
    t.put("pinned.bin", &random_bytes(11 * MIB, 76));
    let sink = Arc::new(parking_lot::Mutex::new(Vec::new()));
    let manager = t.manager();
    let err = manager
        .download(
            &t.bucket,
            "pinned.bin",
            DownloadTarget::stream(NonSeekable(sink.clone())),
            DownloadArgs::default(),
            &[Arc::new(ReplaceOnce {
                client: t.client.clone(),
                bucket: t.bucket.clone(),
                done: AtomicBool::new(false),
            })],
        )
        .unwrap()
        .result()
        .unwrap_err();
    assert!(
        err.is_precondition_failed(),
        "{}: expected a 412, got {err}",
        t.name
    );
    assert!(matches!(err, TransferError::S3DownloadFailed { .. }));
}

/// Cancel a multipart upload once its first bytes are sent: it must end Cancelled, and
/// the store must hold no open multipart upload and no object.
pub fn cancelled_multipart_upload_is_aborted(t: &Target) {
    struct CancelEarly(AtomicBool);
    impl Subscriber for CancelEarly {
        fn on_progress(&self, future: &TransferFuture, _: i64) {
            if !self.0.swap(true, Ordering::SeqCst) {
                future.cancel_with_message("stop right there");
            }
        }
    }
    let data = random_bytes(16 * MIB, 78);
    let manager = t.manager();
    let err = manager
        .upload(
            UploadSource::stream(Cursor::new(data)),
            &t.bucket,
            "cancelled.bin",
            UploadArgs::default(),
            &[Arc::new(CancelEarly(AtomicBool::new(false)))],
        )
        .unwrap()
        .result()
        .unwrap_err();
    match &err {
        TransferError::Cancelled { message, fatal } => {
            assert_eq!(message, "stop right there");
            assert!(!fatal);
        }
        other => panic!("{}: expected Cancelled, got {other}", t.name),
    }
    let list = t
        .list_uploads
        .as_ref()
        .expect("this store lists multipart uploads");
    let open: Vec<_> = list(&t.bucket)
        .into_iter()
        .filter(|(k, _)| k == "cancelled.bin")
        .collect();
    assert!(open.is_empty(), "{}: uploads left open: {open:?}", t.name);
    let mut head = s3transfer::client::HeadObjectRequest::default();
    head.bucket = t.bucket.clone();
    head.key = "cancelled.bin".into();
    assert_eq!(
        t.client.head_object(&head).unwrap_err().kind(),
        s3transfer::S3ErrorKind::NotFound
    );
}

/// Real 256-bit SSE-C keys (base64) with the base64 MD5 of the raw key, as S3 checks.
fn sse_key(n: u8) -> s3transfer::SseCustomerKey {
    match n {
        1 => s3transfer::SseCustomerKey::new(
            "AES256",
            "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
            "hRasmdxgYDKV3nvbahU1MA==",
        ),
        _ => s3transfer::SseCustomerKey::new(
            "AES256",
            "ZmVkY2JhOTg3NjU0MzIxMGZlZGNiYTk4NzY1NDMyMTA=",
            "dT1y7SEiqn6YCJ3QeqwoIw==",
        ),
    }
}

fn source_attributes() -> s3transfer::ObjectAttributes {
    let mut a = s3transfer::ObjectAttributes::default();
    a.content_type = Some("image/png".into());
    a.cache_control = Some("max-age=60".into());
    a.content_disposition = Some("attachment; filename=\"a.png\"".into());
    a.content_language = Some("de".into());
    a.metadata.insert("owner".into(), "me".into());
    a
}

/// Copy with default arguments; the new object has the source's content type, cache
/// control, disposition, language and user metadata, whether one CopyObject or a
/// multipart copy made it.
fn copy_keeps_properties(t: &Target, size: usize, parts: u32) {
    let data = random_bytes(size, 40);
    let (src, dst) = (format!("props-src-{size}"), format!("props-dst-{size}"));
    t.put_with(&t.bucket, &src, &data, source_attributes(), None);
    let manager = t.manager();
    let out = manager
        .copy(
            CopySource::new(&t.bucket, &src),
            &t.bucket,
            &dst,
            CopyArgs::default(),
            &[],
        )
        .unwrap()
        .result()
        .unwrap();
    assert_eq!(out.parts, parts);
    let got = t.head(&t.bucket, &dst, None).attributes;
    let want = source_attributes();
    assert_eq!(got.content_type, want.content_type, "{}", t.name);
    assert_eq!(got.cache_control, want.cache_control, "{}", t.name);
    assert_eq!(
        got.content_disposition, want.content_disposition,
        "{}",
        t.name
    );
    assert_eq!(got.content_language, want.content_language, "{}", t.name);
    assert_eq!(got.metadata, want.metadata, "{}", t.name);
    assert!(t.get(&dst) == data);
    manager.shutdown(false, "");
}

pub fn copy_single_keeps_metadata_and_content_type(t: &Target) {
    copy_keeps_properties(t, 2000, 1);
}

pub fn copy_multipart_keeps_metadata_and_content_type(t: &Target) {
    copy_keeps_properties(t, 11 * MIB, 3);
}

pub fn copy_across_buckets(t: &Target) {
    let other = (t.make_bucket)(false);
    let manager = t.manager();
    for (size, parts) in [(3000, 1), (11 * MIB, 3)] {
        let data = random_bytes(size, 41);
        let key = format!("cross-{size}");
        t.put(&key, &data);
        let out = manager
            .copy(
                CopySource::new(&t.bucket, &key),
                &other,
                &key,
                CopyArgs::default(),
                &[],
            )
            .unwrap()
            .result()
            .unwrap();
        assert_eq!(out.parts, parts);
        assert!(t.get_from(&other, &key, None) == data, "{}: {size}", t.name);
    }
    manager.shutdown(false, "");
}

/// Deleting one version by id leaves the other, and the current object readable.
pub fn delete_with_version_id(t: &Target) {
    let bucket = (t.make_bucket)(true);
    let attrs = s3transfer::ObjectAttributes::default;
    let v1 = t.put_with(&bucket, "v", b"first", attrs(), None).version_id;
    let v2 = t
        .put_with(&bucket, "v", b"second", attrs(), None)
        .version_id;
    let (v1, v2) = (v1.expect("a version id"), v2.expect("a version id"));
    assert_ne!(v1, v2);
    let manager = t.manager();
    let out = manager
        .delete(
            &bucket,
            "v",
            DeleteArgs::default().version_id(v1.clone()),
            &[],
        )
        .unwrap()
        .result()
        .unwrap();
    assert_eq!(out.version_id.as_deref(), Some(v1.as_str()), "{}", t.name);
    assert_eq!(t.get_from(&bucket, "v", None), b"second");
    let sink = Arc::new(parking_lot::Mutex::new(Vec::new()));
    manager
        .download(
            &bucket,
            "v",
            DownloadTarget::stream(NonSeekable(sink.clone())),
            DownloadArgs::default().version_id(v2),
            &[],
        )
        .unwrap()
        .result()
        .unwrap();
    assert_eq!(&*sink.lock(), b"second");
    let err = manager
        .download(
            &bucket,
            "v",
            DownloadTarget::stream(NonSeekable(Arc::default())),
            DownloadArgs::default().version_id(v1),
            &[],
        )
        .unwrap()
        .result()
        .unwrap_err();
    assert!(
        matches!(err, TransferError::S3DownloadFailed { .. }),
        "{err}"
    );
    manager.shutdown(false, "");
}

pub fn copy_from_sse_c_source_single(t: &Target) {
    copy_from_sse_c_source(t, 4000, 1);
}

pub fn copy_from_sse_c_source_multipart(t: &Target) {
    copy_from_sse_c_source(t, 11 * MIB, 3);
}

/// Copy an SSE-C object: the source key goes to the source's
/// HeadObject and every copy request, the destination gets its own key.
fn copy_from_sse_c_source(t: &Target, size: usize, parts: u32) {
    let manager = t.manager();
    {
        let data = random_bytes(size, 42);
        let (src, dst) = (format!("ssec-src-{size}"), format!("ssec-dst-{size}"));
        t.put_with(
            &t.bucket,
            &src,
            &data,
            source_attributes(),
            Some(sse_key(1)),
        );
        let out = manager
            .copy(
                CopySource::new(&t.bucket, &src),
                &t.bucket,
                &dst,
                CopyArgs::default()
                    .copy_source_sse_customer(sse_key(1))
                    .sse_customer(sse_key(2)),
                &[],
            )
            .unwrap()
            .result()
            .unwrap();
        assert_eq!(out.parts, parts);
        assert!(
            t.get_from(&t.bucket, &dst, Some(sse_key(2))) == data,
            "{}: {size}",
            t.name
        );
        let head = t.head(&t.bucket, &dst, Some(sse_key(2)));
        assert_eq!(head.attributes.content_type.as_deref(), Some("image/png"));
        // Without the source key the copy cannot read the source.
        let err = manager
            .copy(
                CopySource::new(&t.bucket, &src),
                &t.bucket,
                &format!("{dst}-nokey"),
                CopyArgs::default(),
                &[],
            )
            .unwrap()
            .result()
            .unwrap_err();
        assert!(matches!(err, TransferError::S3CopyFailed { .. }), "{err}");
    }
    manager.shutdown(false, "");
}

/// The source is replaced while a multipart copy runs: the parts copied after that are
/// refused by CopySourceIfMatch (412), the copy fails as a typed precondition failure,
/// the upload is aborted and no destination object appears.
pub fn copy_source_changed_mid_multipart_fails_precondition(t: &Target) {
    t.put("moving-src", &random_bytes(11 * MIB, 43));
    let replacement = random_bytes(11 * MIB, 44);
    let config = s3transfer::TransferConfig::builder()
        .multipart_threshold(5 * MIB as u64)
        .multipart_chunksize(5 * MIB as u64)
        // One part at a time, so that "after the first part" is well defined.
        .max_request_concurrency(1)
        .build()
        .unwrap();
    let manager = s3transfer::TransferManager::new(t.client.clone(), config);
    let mut subscribers: Vec<Arc<dyn Subscriber>> = Vec::new();
    if let Some(fake) = &t.fake {
        // The fake: swap the source just as the first UploadPartCopy arrives.
        let (fake2, bucket, done) = (fake.clone(), t.bucket.clone(), AtomicBool::new(false));
        fake.on_call(move |call| {
            if call.operation() == s3transfer::testing::Operation::UploadPartCopy
                && !done.swap(true, Ordering::SeqCst)
            {
                fake2.replace_object(&bucket, "moving-src", replacement.clone());
            }
            None
        });
    } else {
        // A real store: swap it once the first part has been copied.
        struct ReplaceAfterFirstPart {
            client: Arc<dyn s3transfer::S3Api>,
            bucket: String,
            data: Vec<u8>,
            done: AtomicBool,
        }
        impl Subscriber for ReplaceAfterFirstPart {
            fn on_progress(&self, _: &TransferFuture, _: i64) {
                if !self.done.swap(true, Ordering::SeqCst) {
                    let mut request = s3transfer::client::PutObjectRequest::default();
                    request.bucket = self.bucket.clone();
                    request.key = "moving-src".into();
                    let mut body = s3transfer::client::RequestBody::new(self.data.clone());
                    self.client.put_object(&request, &mut body).unwrap();
                }
            }
        }
        subscribers.push(Arc::new(ReplaceAfterFirstPart {
            client: t.client.clone(),
            bucket: t.bucket.clone(),
            data: replacement,
            done: AtomicBool::new(false),
        }));
    }
    let err = manager
        .copy(
            CopySource::new(&t.bucket, "moving-src"),
            &t.bucket,
            "moving-dst",
            CopyArgs::default(),
            &subscribers,
        )
        .unwrap()
        .result()
        .unwrap_err();
    assert!(matches!(err, TransferError::S3CopyFailed { .. }), "{err}");
    assert!(err.is_precondition_failed(), "{}: {err}", t.name);
    manager.shutdown(false, "");
    if let Some(list) = &t.list_uploads {
        let open: Vec<_> = list(&t.bucket)
            .into_iter()
            .filter(|(k, _)| k == "moving-dst")
            .collect();
        assert!(open.is_empty(), "{}: uploads left open: {open:?}", t.name);
    }
    let mut head = s3transfer::client::HeadObjectRequest::default();
    head.bucket = t.bucket.clone();
    head.key = "moving-dst".into();
    assert_eq!(
        t.client.head_object(&head).unwrap_err().kind(),
        s3transfer::S3ErrorKind::NotFound
    );
}
