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
