//! The engine under the in-memory fake: failure semantics, cleanup, resumption,
//! cancellation, back-pressure and memory bounds, with faults injected where real
//! stores cannot be made to fail on cue.

use std::io::Cursor;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use s3transfer::client::*;
use s3transfer::testing::{FakeS3, InjectedError, Operation, RecordedCall};
use s3transfer::{CopySource, S3Api, S3Error, S3ErrorKind, SseCustomerKey};
use s3transfer::{
    DownloadArgs, DownloadTarget, ErrorKind, Subscriber, TransferConfig, TransferError,
    TransferFuture, TransferManager, TransferStatus, UploadArgs, UploadSource,
};

#[macro_use]
#[path = "common/mod.rs"]
mod common;
use common::misanswer::{Misanswer, MisanswerFn};

#[path = "resume/mod.rs"]
mod resume;
use common::random_bytes;

#[path = "tree/mod.rs"]
mod tree;

const MIB: usize = 1024 * 1024;

fn config() -> s3transfer::TransferConfigBuilder {
    TransferConfig::builder()
        .multipart_threshold(5 * MIB as u64)
        .multipart_chunksize(5 * MIB as u64)
        .max_request_concurrency(4)
        .io_chunksize(64 * 1024)
}

fn setup() -> (FakeS3, TransferManager) {
    let fake = FakeS3::new();
    fake.create_bucket("b");
    let manager = TransferManager::new(Arc::new(fake.clone()), config().build().unwrap());
    (fake, manager)
}

fn upload_bytes(
    manager: &TransferManager,
    key: &str,
    data: Vec<u8>,
) -> Result<s3transfer::TransferOutput, TransferError> {
    manager
        .upload(
            UploadSource::stream(Cursor::new(data)),
            "b",
            key,
            UploadArgs::default(),
            &[],
        )
        .unwrap()
        .result()
}

#[derive(Default)]
struct Progress(std::sync::atomic::AtomicI64, AtomicUsize);
impl Subscriber for Progress {
    fn on_progress(&self, _: &TransferFuture, bytes: i64) {
        self.0.fetch_add(bytes, Ordering::SeqCst);
        if bytes < 0 {
            self.1.fetch_add(1, Ordering::SeqCst);
        }
    }
}

#[test]
fn a_failed_part_aborts_the_upload_and_reports_upload_failed_with_context() {
    let (fake, manager) = setup();
    fake.fail_nth(Operation::UploadPart, 2, InjectedError::access_denied());
    let err = upload_bytes(&manager, "k", random_bytes(11 * MIB, 1)).unwrap_err();
    match &err {
        TransferError::S3UploadFailed {
            bucket,
            key,
            upload_id,
            source,
        } => {
            assert_eq!((bucket.as_str(), key.as_str()), ("b", "k"));
            assert!(
                upload_id.is_some(),
                "a multipart failure names its upload id"
            );
            assert_eq!(source.kind(), S3ErrorKind::AccessDenied);
        }
        other => panic!("expected S3UploadFailed, got {other}"),
    }
    assert_eq!(fake.count(Operation::AbortMultipartUpload), 1);
    assert_eq!(fake.count(Operation::CompleteMultipartUpload), 0);
    assert!(fake.list_multipart_uploads("b").is_empty());
    assert!(fake.object("b", "k").is_none());
}

#[test]
fn a_failed_complete_aborts_the_upload() {
    let (fake, manager) = setup();
    fake.fail_always(
        Operation::CompleteMultipartUpload,
        InjectedError::new(400, "InvalidPart"),
    );
    let err = upload_bytes(&manager, "k", random_bytes(11 * MIB, 2)).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::S3UploadFailed);
    assert_eq!(fake.count(Operation::AbortMultipartUpload), 1);
    assert!(fake.list_multipart_uploads("b").is_empty());
}

#[test]
fn a_failed_create_reports_without_an_upload_id_and_aborts_nothing() {
    let (fake, manager) = setup();
    fake.fail_always(
        Operation::CreateMultipartUpload,
        InjectedError::access_denied(),
    );
    let err = upload_bytes(&manager, "k", random_bytes(6 * MIB, 3)).unwrap_err();
    assert!(
        matches!(
            err,
            TransferError::S3UploadFailed {
                upload_id: None,
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(fake.count(Operation::AbortMultipartUpload), 0);
    assert_eq!(fake.count(Operation::UploadPart), 0);
}

#[test]
fn every_request_of_an_upload_carries_its_arguments() {
    let (fake, manager) = setup();
    let key = SseCustomerKey::new("AES256", "a2V5", "bWQ1");
    let args = UploadArgs::default()
        .content_type("text/plain")
        .metadata("owner", "me")
        .sse_customer(key.clone());
    manager
        .upload(
            UploadSource::stream(Cursor::new(random_bytes(11 * MIB, 4))),
            "b",
            "k",
            args,
            &[],
        )
        .unwrap()
        .result()
        .unwrap();
    for call in fake.calls() {
        match call {
            RecordedCall::CreateMultipartUpload(r) => {
                assert_eq!(r.attributes.content_type.as_deref(), Some("text/plain"));
                assert_eq!(
                    r.attributes.metadata.get("owner").map(String::as_str),
                    Some("me")
                );
                assert_eq!(r.sse_customer.as_ref(), Some(&key));
            }
            RecordedCall::UploadPart { request, .. } => {
                assert_eq!(request.sse_customer.as_ref(), Some(&key))
            }
            RecordedCall::CompleteMultipartUpload(r) => {
                assert_eq!(r.sse_customer.as_ref(), Some(&key));
                assert_eq!(
                    r.parts.iter().map(|p| p.part_number).collect::<Vec<_>>(),
                    vec![1, 2, 3]
                );
            }
            other => panic!("unexpected call {other:?}"),
        }
    }
}

#[test]
fn a_broken_body_resumes_from_the_missing_byte_with_the_same_if_match() {
    let (fake, manager) = setup();
    let data = random_bytes(11 * MIB, 5);
    fake.put_object_bytes("b", "k", data.clone());
    // The first GET (bytes 0..5 MiB) breaks after 100,000 bytes.
    fake.truncate_body(100_000, 1);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("out");
    let progress = Arc::new(Progress::default());
    let out = manager
        .download(
            "b",
            "k",
            path.as_path(),
            DownloadArgs::default(),
            &[progress.clone()],
        )
        .unwrap()
        .result()
        .unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), data);
    assert_eq!(
        progress.0.load(Ordering::SeqCst),
        data.len() as i64,
        "no byte counted twice"
    );
    assert_eq!(out.retries, 1, "the resumed body is reported as one retry");
    let gets: Vec<GetObjectRequest> = fake
        .calls_of(Operation::GetObject)
        .into_iter()
        .filter_map(|c| match c {
            RecordedCall::GetObject(r) => Some(r),
            _ => None,
        })
        .collect();
    let resumed = gets
        .iter()
        .find(|r| r.range.map(|r| r.start) == Some(100_000))
        .expect("a GET resumed at byte 100,000");
    assert_eq!(
        resumed.range.unwrap().end,
        Some(5 * MIB as u64 - 1),
        "same end, narrowed start"
    );
    assert!(
        resumed.if_match.is_some(),
        "the resumed GET is pinned to the ETag"
    );
}

#[test]
fn a_resumed_download_to_a_stream_never_duplicates_bytes() {
    let (fake, manager) = setup();
    let data = random_bytes(12 * MIB, 6);
    fake.put_object_bytes("b", "k", data.clone());
    fake.truncate_body(777_777, 3);
    let sink = Arc::new(parking_lot::Mutex::new(Vec::new()));
    struct W(Arc<parking_lot::Mutex<Vec<u8>>>);
    impl std::io::Write for W {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    manager
        .download(
            "b",
            "k",
            DownloadTarget::stream(W(sink.clone())),
            DownloadArgs::default(),
            &[],
        )
        .unwrap()
        .result()
        .unwrap();
    assert!(*sink.lock() == data);
}

#[test]
fn retries_exceeded_carries_the_last_error_and_leaves_no_file() {
    let fake = FakeS3::new();
    fake.create_bucket("b");
    fake.put_object_bytes("b", "k", random_bytes(MIB, 7));
    fake.truncate_body(10, 100);
    let manager = TransferManager::new(
        Arc::new(fake.clone()),
        config().num_download_attempts(3).build().unwrap(),
    );
    let dir = tempfile::tempdir().unwrap();
    let err = manager
        .download(
            "b",
            "k",
            dir.path().join("out").as_path(),
            DownloadArgs::default(),
            &[],
        )
        .unwrap()
        .result()
        .unwrap_err();
    match &err {
        TransferError::RetriesExceeded {
            attempts,
            last_error,
        } => {
            assert_eq!(*attempts, 3);
            assert_eq!(last_error.kind(), S3ErrorKind::TruncatedBody);
        }
        other => panic!("expected RetriesExceeded, got {other}"),
    }
    assert_eq!(fake.count(Operation::GetObject), 3);
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

/// A manager over `fake` whose requests follow `retry`.
fn manager_with_retry(fake: &FakeS3, retry: s3transfer::RetryConfig) -> TransferManager {
    TransferManager::new(
        Arc::new(fake.clone()),
        config().retry(retry).build().unwrap(),
    )
}

fn download_to_dir(
    manager: &TransferManager,
    dir: &std::path::Path,
) -> Result<s3transfer::TransferOutput, TransferError> {
    manager
        .download(
            "b",
            "k",
            dir.join("out").as_path(),
            DownloadArgs::default(),
            &[],
        )
        .unwrap()
        .result()
}

#[test]
fn download_gets_follow_the_configured_retry_attempts() {
    let fake = FakeS3::new();
    fake.create_bucket("b");
    let data = random_bytes(MIB, 8);
    fake.put_object_bytes("b", "k", data.clone());
    let fast = || {
        s3transfer::RetryConfig::builder()
            .transient_backoff(Duration::ZERO)
            .throttle_backoff(Duration::ZERO)
    };
    // Four failures before any byte: the default three attempts would give up, a
    // policy of five rides them out.
    fake.fail_nth(Operation::GetObject, 1, InjectedError::internal_error());
    fake.throttle(Operation::GetObject, 3);
    let manager = manager_with_retry(&fake, fast().max_attempts(5).build().unwrap());
    let dir = tempfile::tempdir().unwrap();
    let out = download_to_dir(&manager, dir.path()).unwrap();
    assert_eq!(std::fs::read(dir.path().join("out")).unwrap(), data);
    assert_eq!(out.retries, 4);
    assert_eq!(fake.count(Operation::GetObject), 5);

    // A policy of two attempts gives up after the second, whatever
    // num_download_attempts says (it counts resumptions of bodies that broke off).
    fake.clear_faults();
    fake.fail_always(Operation::GetObject, InjectedError::internal_error());
    let before = fake.count(Operation::GetObject);
    let manager = manager_with_retry(&fake, fast().max_attempts(2).build().unwrap());
    let dir = tempfile::tempdir().unwrap();
    match download_to_dir(&manager, dir.path()).unwrap_err() {
        TransferError::RetriesExceeded { attempts, .. } => assert_eq!(attempts, 2),
        other => panic!("expected RetriesExceeded, got {other}"),
    }
    assert_eq!(fake.count(Operation::GetObject) - before, 2);
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn download_gets_spend_the_managers_retry_quota() {
    let fake = FakeS3::new();
    fake.create_bucket("b");
    fake.put_object_bytes("b", "k", random_bytes(MIB, 9));
    fake.fail_always(Operation::GetObject, InjectedError::internal_error());
    // Ten attempts allowed, but the quota pays for one retry only: the GET stops after
    // its second attempt, as every other request of the manager would.
    let retry = s3transfer::RetryConfig::builder()
        .max_attempts(10)
        .transient_backoff(Duration::ZERO)
        .retry_quota(5)
        .retry_cost(5)
        .build()
        .unwrap();
    let manager = manager_with_retry(&fake, retry);
    let dir = tempfile::tempdir().unwrap();
    match download_to_dir(&manager, dir.path()).unwrap_err() {
        TransferError::RetriesExceeded { attempts, .. } => assert_eq!(attempts, 2),
        other => panic!("expected RetriesExceeded, got {other}"),
    }
    assert_eq!(fake.count(Operation::GetObject), 2);
}

#[test]
fn a_precondition_failure_is_not_retried() {
    let (fake, manager) = setup();
    fake.put_object_bytes("b", "k", random_bytes(11 * MIB, 8));
    fake.fail_nth(
        Operation::GetObject,
        2,
        InjectedError::precondition_failed(),
    );
    let dir = tempfile::tempdir().unwrap();
    let err = manager
        .download(
            "b",
            "k",
            dir.path().join("out").as_path(),
            DownloadArgs::default(),
            &[],
        )
        .unwrap()
        .result()
        .unwrap_err();
    assert!(err.is_precondition_failed(), "{err}");
    assert!(matches!(err, TransferError::S3DownloadFailed { .. }));
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn a_panicking_on_queued_fails_the_transfer_but_not_the_manager() {
    struct Panics;
    impl Subscriber for Panics {
        fn on_queued(&self, _: &TransferFuture) {
            panic!("subscriber bug");
        }
    }
    let (fake, manager) = setup();
    let err = manager
        .upload(
            UploadSource::stream(Cursor::new(vec![1u8; 10])),
            "b",
            "k",
            UploadArgs::default(),
            &[Arc::new(Panics)],
        )
        .unwrap()
        .result()
        .unwrap_err();
    assert!(
        matches!(
            err,
            TransferError::InvalidSubscriberMethod {
                method: "on_queued",
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(fake.total_calls(), 0, "no request after a failed on_queued");
    // The worker that ran it is still serving.
    upload_bytes(&manager, "k2", vec![2u8; 10]).unwrap();
}

#[test]
fn a_panicking_on_done_is_contained() {
    struct Panics;
    impl Subscriber for Panics {
        fn on_done(&self, _: &TransferFuture) {
            panic!("subscriber bug");
        }
    }
    let (_fake, manager) = setup();
    let out = manager
        .upload(
            UploadSource::stream(Cursor::new(vec![1u8; 10])),
            "b",
            "k",
            UploadArgs::default(),
            &[Arc::new(Panics)],
        )
        .unwrap()
        .result()
        .unwrap();
    assert_eq!(out.bytes, 10);
}

#[test]
fn shutdown_with_cancel_ends_running_transfers_as_fatal_and_aborts_them() {
    let (fake, manager) = setup();
    // Long enough that no upload can finish before the shutdown below, however slowly
    // this (debug) test builds its transfers.
    fake.delay(Operation::UploadPart, Duration::from_millis(500));
    // The shutdown waits until all three uploads exist, so that "every started
    // upload was aborted" is about three uploads, not possibly none.
    let (created_tx, created) = std::sync::mpsc::channel();
    let created_tx = parking_lot::Mutex::new(created_tx);
    fake.on_call(move |call| {
        if let RecordedCall::CreateMultipartUpload(_) = call {
            let _ = created_tx.lock().send(());
        }
        None
    });
    let blobs: Vec<Vec<u8>> = (0..3).map(|i| random_bytes(30 * MIB, i)).collect();
    let futures: Vec<_> = blobs
        .into_iter()
        .enumerate()
        .map(|(i, blob)| {
            manager
                .upload(
                    UploadSource::stream(Cursor::new(blob)),
                    "b",
                    &format!("k{i}"),
                    UploadArgs::default(),
                    &[],
                )
                .unwrap()
        })
        .collect();
    for _ in 0..3 {
        created.recv_timeout(Duration::from_secs(60)).unwrap();
    }
    manager.shutdown(true, "going away");
    for f in &futures {
        assert!(f.done());
        match f.result().unwrap_err() {
            TransferError::Cancelled { message, fatal } => {
                assert_eq!(message, "going away");
                assert!(fatal);
            }
            other => panic!("expected a fatal cancel, got {other}"),
        }
        assert_eq!(f.status(), TransferStatus::Cancelled);
    }
    assert_eq!(fake.count(Operation::CreateMultipartUpload), 3);
    assert_eq!(fake.count(Operation::AbortMultipartUpload), 3);
    assert!(
        fake.list_multipart_uploads("b").is_empty(),
        "every started upload was aborted"
    );
    assert!(matches!(
        manager.upload("x", "b", "k", UploadArgs::default(), &[]),
        Err(TransferError::QueueShutdown)
    ));
}

#[test]
fn result_timeout_reports_not_done_while_running() {
    let (fake, manager) = setup();
    fake.delay(Operation::PutObject, Duration::from_millis(300));
    let f = manager
        .upload(
            UploadSource::stream(Cursor::new(vec![0u8; 10])),
            "b",
            "k",
            UploadArgs::default(),
            &[],
        )
        .unwrap();
    assert!(matches!(
        f.result_timeout(Duration::from_millis(1)),
        Err(TransferError::TransferNotDone)
    ));
    assert!(f.result().is_ok());
}

/// Wraps the fake to measure how many UploadPart bodies are in flight at once. No part
/// goes on until `want` are in flight together (then all go on), so a test sees overlap
/// when the engine allows it, without sleeping; if it never comes, the parts go on
/// alone after a generous wait and the peak tells.
struct Concurrency {
    inner: FakeS3,
    now: AtomicUsize,
    peak: AtomicUsize,
    want: usize,
    open: parking_lot::Mutex<bool>,
    opened: parking_lot::Condvar,
}

impl Concurrency {
    fn new(inner: FakeS3, want: usize) -> Concurrency {
        Concurrency {
            inner,
            now: AtomicUsize::new(0),
            peak: AtomicUsize::new(0),
            want,
            open: parking_lot::Mutex::new(false),
            opened: parking_lot::Condvar::new(),
        }
    }
}

impl S3Api for Concurrency {
    fn upload_part(
        &self,
        r: &UploadPartRequest,
        b: &mut RequestBody,
    ) -> Result<UploadPartOutput, S3Error> {
        let now = self.now.fetch_add(1, Ordering::SeqCst) + 1;
        self.peak.fetch_max(now, Ordering::SeqCst);
        {
            let mut open = self.open.lock();
            if now >= self.want {
                *open = true;
                self.opened.notify_all();
            }
            while !*open {
                if self
                    .opened
                    .wait_for(&mut open, Duration::from_secs(30))
                    .timed_out()
                {
                    *open = true;
                }
            }
        }
        let out = self.inner.upload_part(r, b);
        self.now.fetch_sub(1, Ordering::SeqCst);
        out
    }
    delegate_to_inner!(
        head_object,
        get_object,
        put_object,
        create_multipart_upload,
        complete_multipart_upload,
        abort_multipart_upload,
        copy_object,
        upload_part_copy,
        delete_object,
        list_objects_v2,
        list_parts,
        list_multipart_uploads,
    );
}

#[test]
fn stream_uploads_hold_at_most_max_in_memory_upload_chunks_parts() {
    let fake = FakeS3::new();
    fake.create_bucket("b");
    let client = Arc::new(Concurrency::new(fake.clone(), 2));
    let manager = TransferManager::new(
        client.clone(),
        config()
            .max_request_concurrency(8)
            .max_in_memory_upload_chunks(2)
            .build()
            .unwrap(),
    );
    let data = random_bytes(31 * MIB, 9);
    manager
        .upload(
            UploadSource::stream(Cursor::new(data.clone())),
            "b",
            "k",
            UploadArgs::default(),
            &[],
        )
        .unwrap()
        .result()
        .unwrap();
    // The gate held the parts until two were in flight: the bound was reached, and
    // never passed.
    let peak = client.peak.load(Ordering::SeqCst);
    assert_eq!(peak, 2, "2 parts in flight at most, and at once");
    assert_eq!(fake.object("b", "k").unwrap().bytes(), &data[..]);
}

#[test]
fn file_parts_are_uploaded_in_parallel() {
    let fake = FakeS3::new();
    fake.create_bucket("b");
    let client = Arc::new(Concurrency::new(fake.clone(), 2));
    let manager = TransferManager::new(
        client.clone(),
        config().max_request_concurrency(4).build().unwrap(),
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("src");
    let data = random_bytes(31 * MIB, 10);
    std::fs::write(&path, &data).unwrap();
    manager
        .upload(path.as_path(), "b", "k", UploadArgs::default(), &[])
        .unwrap()
        .result()
        .unwrap();
    assert!(client.peak.load(Ordering::SeqCst) > 1, "parts overlapped");
    assert_eq!(fake.object("b", "k").unwrap().bytes(), &data[..]);
}

#[test]
fn transfer_ids_and_call_args_are_recorded() {
    let (_fake, manager) = setup();
    let a = manager
        .upload(
            UploadSource::stream(std::io::empty()),
            "b",
            "one",
            UploadArgs::default(),
            &[],
        )
        .unwrap();
    // The download reads what the upload wrote: let it land first.
    a.result().unwrap();
    let b = manager
        .download(
            "b",
            "one",
            DownloadTarget::stream(std::io::sink()),
            DownloadArgs::default(),
            &[],
        )
        .unwrap();
    assert_eq!(a.meta().transfer_id() + 1, b.meta().transfer_id());
    assert_eq!(a.meta().call_args().operation, "upload");
    assert_eq!(b.meta().call_args().key, "one");
    b.result().unwrap();
}

#[test]
fn invalid_arguments_are_rejected_before_any_request() {
    let (fake, manager) = setup();
    for (bucket, key) in [
        ("", "k"),
        ("b", ""),
        (
            "arn:aws:s3-object-lambda:us-east-1:123456789012:accesspoint/x",
            "k",
        ),
    ] {
        let err = manager
            .upload(
                UploadSource::stream(std::io::empty()),
                bucket,
                key,
                UploadArgs::default(),
                &[],
            )
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidArgument, "{bucket:?}/{key:?}");
    }
    assert_eq!(fake.total_calls(), 0);
}

#[test]
fn cancel_before_start_finishes_without_requests() {
    let (fake, manager) = setup();
    // Occupy the submission threads so the next transfer waits in the queue.
    fake.delay(Operation::CreateMultipartUpload, Duration::from_millis(200));
    let blockers: Vec<_> = (0..5)
        .map(|i| {
            manager
                .upload(
                    UploadSource::stream(Cursor::new(random_bytes(6 * MIB, i))),
                    "b",
                    &format!("blk{i}"),
                    UploadArgs::default(),
                    &[],
                )
                .unwrap()
        })
        .collect();
    let started = Arc::new(AtomicBool::new(false));
    struct Mark(Arc<AtomicBool>);
    impl Subscriber for Mark {
        fn on_queued(&self, _: &TransferFuture) {
            self.0.store(true, Ordering::SeqCst);
        }
    }
    let f = manager
        .upload(
            UploadSource::stream(Cursor::new(vec![1u8; 10])),
            "b",
            "late",
            UploadArgs::default(),
            &[Arc::new(Mark(started.clone()))],
        )
        .unwrap();
    f.cancel();
    assert!(f.result().unwrap_err().is_cancelled());
    assert!(
        !started.load(Ordering::SeqCst),
        "a transfer cancelled while queued never starts"
    );
    for b in blockers {
        b.result().unwrap();
    }
    assert!(fake.object("b", "late").is_none());
}

#[test]
fn an_empty_object_whose_whole_get_fails_once_is_retried_whole() {
    let (fake, manager) = setup();
    fake.put_object_bytes("b", "empty", Vec::<u8>::new());
    // GET 1 is the ranged probe (416); GET 2, the whole-object GET, fails once.
    fake.fail_nth(Operation::GetObject, 2, InjectedError::internal_error());
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("empty");
    manager
        .download("b", "empty", path.as_path(), DownloadArgs::default(), &[])
        .unwrap()
        .result()
        .unwrap();
    assert_eq!(std::fs::metadata(&path).unwrap().len(), 0);
    assert_eq!(fake.count(Operation::GetObject), 3);
}

#[test]
fn shutdown_from_subscribers_does_not_deadlock() {
    // on_done of every download shuts the manager down; on_done runs on the one io
    // thread, which the other download still needs.
    struct ShutdownOnDone(parking_lot::Mutex<std::sync::Weak<TransferManager>>);
    impl Subscriber for ShutdownOnDone {
        fn on_done(&self, _: &TransferFuture) {
            if let Some(m) = self.0.lock().upgrade() {
                m.shutdown(false, "");
            }
        }
    }
    struct ShutdownOnProgress(
        parking_lot::Mutex<std::sync::Weak<TransferManager>>,
        AtomicBool,
    );
    impl Subscriber for ShutdownOnProgress {
        fn on_progress(&self, _: &TransferFuture, _: i64) {
            if !self.1.swap(true, Ordering::SeqCst)
                && let Some(m) = self.0.lock().upgrade()
            {
                m.shutdown(true, "from on_progress");
            }
        }
    }
    let fake = FakeS3::new();
    fake.create_bucket("b");
    let data = random_bytes(11 * MIB, 20);
    fake.put_object_bytes("b", "k", data.clone());
    let manager = Arc::new(TransferManager::new(
        Arc::new(fake.clone()),
        config().build().unwrap(),
    ));
    let on_done = Arc::new(ShutdownOnDone(parking_lot::Mutex::new(Arc::downgrade(
        &manager,
    ))));
    let dir = tempfile::tempdir().unwrap();
    let futures: Vec<_> = (0..2)
        .map(|i| {
            manager
                .download(
                    "b",
                    "k",
                    dir.path().join(format!("out{i}")).as_path(),
                    DownloadArgs::default(),
                    &[on_done.clone()],
                )
                .unwrap()
        })
        .collect();
    for (i, f) in futures.iter().enumerate() {
        f.result().unwrap();
        assert_eq!(
            std::fs::read(dir.path().join(format!("out{i}"))).unwrap(),
            data
        );
    }

    let manager = Arc::new(TransferManager::new(
        Arc::new(fake.clone()),
        config().build().unwrap(),
    ));
    let on_progress = Arc::new(ShutdownOnProgress(
        parking_lot::Mutex::new(Arc::downgrade(&manager)),
        AtomicBool::new(false),
    ));
    let err = manager
        .download(
            "b",
            "k",
            dir.path().join("cancelled").as_path(),
            DownloadArgs::default(),
            &[on_progress],
        )
        .unwrap()
        .result()
        .unwrap_err();
    assert!(err.is_fatal(), "{err}");
    assert!(!dir.path().join("cancelled").exists());
}

#[cfg(unix)]
#[test]
fn a_download_to_a_fifo_by_path_arrives_in_order() {
    let (fake, manager) = setup();
    let data = random_bytes(16 * MIB + 3, 21);
    fake.put_object_bytes("b", "k", data.clone());
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("pipe");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || std::fs::read(fifo).unwrap())
    };
    manager
        .download("b", "k", fifo.as_path(), DownloadArgs::default(), &[])
        .unwrap()
        .result()
        .unwrap();
    manager.shutdown(false, "");
    // The writer side is closed once the manager is gone, so the reader sees the end.
    drop(manager);
    assert!(reader.join().unwrap() == data);
}

/// Complete the first CompleteMultipartUpload at the store, then fail its answer, as
/// when the connection drops after the store acted: the retry finds no upload.
fn lose_the_first_complete_answer(fake: &FakeS3) -> Arc<AtomicUsize> {
    lose_the_first_complete_answer_then(fake, |_| {})
}

/// As [`lose_the_first_complete_answer`], running `then` on the store after it
/// completed the upload and before the lost answer: what happens to the object while
/// the client waits to retry.
fn lose_the_first_complete_answer_then(
    fake: &FakeS3,
    then: impl Fn(&FakeS3) + Send + Sync + 'static,
) -> Arc<AtomicUsize> {
    let seen = Arc::new(AtomicUsize::new(0));
    let (store, counter) = (fake.clone(), seen.clone());
    fake.on_call(move |call| match call {
        RecordedCall::CompleteMultipartUpload(request) => {
            // The nested call below is the second one the hook sees.
            if counter.fetch_add(1, Ordering::SeqCst) == 0 {
                store
                    .complete_multipart_upload(request)
                    .expect("the store completes");
                then(&store);
                Some(S3Error::new(
                    S3ErrorKind::Transient,
                    "CompleteMultipartUpload",
                    "connection reset after the store completed the upload",
                ))
            } else {
                None
            }
        }
        _ => None,
    });
    seen
}

/// Another writer's object at `b`/`key`, multipart with `len` bytes in 5 MiB parts and a
/// full-object CRC, as our uploads make: the same size and part count, other bytes.
/// Run from a hook, so on a thread of its own: a manager's worker may not wait on a
/// transfer.
fn another_writers_object(store: &FakeS3, key: &str, len: usize) -> Vec<u8> {
    let (store, key) = (store.clone(), key.to_owned());
    std::thread::spawn(move || {
        let other = random_bytes(len, 99);
        let writer = TransferManager::new(Arc::new(store), config().build().unwrap());
        let out = upload_bytes(&writer, &key, other.clone()).expect("the other writer's upload");
        assert_eq!(
            out.validated,
            s3transfer::Validation::WholeObject(s3transfer::ChecksumAlgorithm::Crc32)
        );
        writer.shutdown(false, "");
        other
    })
    .join()
    .expect("the other writer")
}

#[test]
fn a_multipart_copy_whose_complete_answer_is_lost_is_recognised_by_its_etag() {
    // A copy sends no checksum of its own: the multipart ETag S3 computes from our
    // parts' MD5 ETags (the fake's are S3's) is what proves the object ours.
    let (fake, manager) = setup();
    let data = random_bytes(12 * MIB, 21);
    fake.put_object_bytes("b", "src", data.clone());
    let seen = lose_the_first_complete_answer(&fake);
    let source = CopySource::new("b", "src");
    let out = manager
        .copy(source, "b", "dst", s3transfer::CopyArgs::default(), &[])
        .unwrap()
        .result()
        .expect("the copy the store completed is reported as done");
    // The first Complete (answer lost), the hook's own call, the retry (NoSuchUpload).
    assert_eq!(seen.load(Ordering::SeqCst), 3);
    assert_eq!(out.parts, 3);
    assert_eq!(fake.object("b", "dst").unwrap().bytes(), &data[..]);
    assert!(fake.list_multipart_uploads("b").is_empty());
}

#[test]
fn a_lost_copy_complete_answer_with_another_writers_object_fails_typed() {
    let (fake, manager) = setup();
    fake.put_object_bytes("b", "src", random_bytes(12 * MIB, 26));
    let seen = lose_the_first_complete_answer_then(&fake, |store| {
        another_writers_object(store, "dst", 12 * MIB);
    });
    let err = manager
        .copy(
            CopySource::new("b", "src"),
            "b",
            "dst",
            s3transfer::CopyArgs::default(),
            &[],
        )
        .unwrap()
        .result()
        .unwrap_err();
    assert_eq!(seen.load(Ordering::SeqCst), 4);
    let TransferError::S3CopyFailed { source, .. } = &err else {
        panic!("{err}")
    };
    assert_eq!(source.kind(), S3ErrorKind::NotFound, "{err}");
    assert!(fake.list_multipart_uploads("b").is_empty());
}

#[test]
fn a_multipart_upload_whose_complete_answer_is_lost_succeeds() {
    let (fake, manager) = setup();
    let data = random_bytes(12 * MIB, 22);
    let seen = lose_the_first_complete_answer(&fake);
    let out = upload_bytes(&manager, "up", data.clone()).expect("reported as done");
    assert_eq!(seen.load(Ordering::SeqCst), 3);
    assert_eq!(out.parts, 3);
    assert_eq!(fake.object("b", "up").unwrap().bytes(), &data[..]);
    assert!(fake.list_multipart_uploads("b").is_empty());
}

/// The typed failure of an upload whose retried Complete found no upload, and the
/// NoSuchUpload under it.
fn assert_lost_complete_failed(err: &TransferError) {
    let TransferError::S3UploadFailed { key, source, .. } = err else {
        panic!("{err}")
    };
    assert_eq!(key, "up");
    assert_eq!(source.kind(), S3ErrorKind::NotFound, "{err}");
    assert_eq!(source.operation, "CompleteMultipartUpload", "{err}");
}

#[test]
fn a_lost_complete_answer_with_the_object_gone_fails_typed() {
    // The store completed the upload, then the object was deleted before the retry: no
    // upload and no object, so nothing says the upload is done.
    let (fake, manager) = setup();
    let seen = lose_the_first_complete_answer_then(&fake, |store| {
        let mut delete = DeleteObjectRequest::default();
        delete.bucket = "b".into();
        delete.key = "up".into();
        store.delete_object(&delete).expect("deleted");
    });
    let err = upload_bytes(&manager, "up", random_bytes(12 * MIB, 23)).unwrap_err();
    assert_eq!(seen.load(Ordering::SeqCst), 3);
    assert_lost_complete_failed(&err);
    assert!(fake.object("b", "up").is_none());
    assert!(fake.list_multipart_uploads("b").is_empty());
}

#[test]
fn a_lost_complete_answer_with_another_writers_object_fails_typed() {
    // Another writer's object of the same size and part count replaced ours before the
    // retry: its full-object checksum is not the one we sent, so it is not ours.
    let (fake, manager) = setup();
    let seen = lose_the_first_complete_answer_then(&fake, |store| {
        another_writers_object(store, "up", 12 * MIB);
    });
    let err = upload_bytes(&manager, "up", random_bytes(12 * MIB, 24)).unwrap_err();
    // Ours lost, the hook's own, the other writer's, our retry.
    assert_eq!(seen.load(Ordering::SeqCst), 4);
    assert_lost_complete_failed(&err);
    assert!(fake.object("b", "up").unwrap().bytes() == &random_bytes(12 * MIB, 99)[..]);
    assert!(fake.list_multipart_uploads("b").is_empty());
}

#[test]
fn a_lost_complete_answer_without_a_checksum_is_decided_by_the_part_etags() {
    // No full-object checksum sent (checksums only when required): the multipart ETag
    // computed from our part ETags is all that proves the object ours.
    let without_checksums = || {
        let fake = FakeS3::new();
        fake.create_bucket("b");
        let manager = TransferManager::new(
            Arc::new(fake.clone()),
            config()
                .request_checksum_calculation(s3transfer::ChecksumWhen::WhenRequired)
                .build()
                .unwrap(),
        );
        (fake, manager)
    };
    let (fake, manager) = without_checksums();
    let data = random_bytes(12 * MIB, 25);
    let seen = lose_the_first_complete_answer(&fake);
    let out = upload_bytes(&manager, "up", data.clone()).expect("recognised by its ETag");
    assert_eq!(seen.load(Ordering::SeqCst), 3);
    assert_eq!(out.parts, 3);
    assert_eq!(fake.object("b", "up").unwrap().bytes(), &data[..]);

    // Another writer's object of the same size and part count: another ETag.
    let (fake, manager) = without_checksums();
    let seen = lose_the_first_complete_answer_then(&fake, |store| {
        another_writers_object(store, "up", 12 * MIB);
    });
    let err = upload_bytes(&manager, "up", random_bytes(12 * MIB, 27)).unwrap_err();
    assert_eq!(seen.load(Ordering::SeqCst), 4);
    assert_lost_complete_failed(&err);
    assert!(fake.list_multipart_uploads("b").is_empty());
}

/// A stream that never ends: zeros, counted. It says once (on `reached`) that `signal_at`
/// bytes were read, so a test can act at that point without sleeping. Past `give_up_at`
/// it ends by itself, so a planner that does not stop cannot hang the test.
struct Endless {
    read: Arc<std::sync::atomic::AtomicU64>,
    signal_at: u64,
    give_up_at: u64,
    reached: Option<std::sync::mpsc::Sender<()>>,
}

impl std::io::Read for Endless {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let before = self.read.load(Ordering::SeqCst);
        if before >= self.give_up_at {
            return Ok(0);
        }
        let n = buf.len().min(64 * 1024);
        buf[..n].fill(0);
        let after = self.read.fetch_add(n as u64, Ordering::SeqCst) + n as u64;
        if after >= self.signal_at
            && let Some(tx) = self.reached.take()
        {
            let _ = tx.send(());
        }
        Ok(n)
    }
}

/// An endless stream upload on `manager`, with its byte counter and the receiver that
/// hears when `signal_at` bytes were read.
fn start_endless_upload(
    manager: &TransferManager,
    signal_at: u64,
) -> (
    TransferFuture,
    Arc<std::sync::atomic::AtomicU64>,
    std::sync::mpsc::Receiver<()>,
) {
    let read = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let (tx, rx) = std::sync::mpsc::channel();
    let reader = Endless {
        read: read.clone(),
        signal_at,
        give_up_at: signal_at + 40 * 5 * MIB as u64,
        reached: Some(tx),
    };
    let f = manager
        .upload(
            UploadSource::stream(reader),
            "b",
            "endless",
            UploadArgs::default(),
            &[],
        )
        .unwrap();
    (f, read, rx)
}

/// Bytes a stopped stream upload may still read: the part being read when it stopped,
/// and one more at most.
const READ_AFTER_STOP: u64 = 2 * 5 * MIB as u64;

#[test]
fn a_cancelled_stream_upload_stops_reading_and_ends() {
    let (fake, manager) = setup();
    let (f, read, reached) = start_endless_upload(&manager, 12 * MIB as u64);
    reached
        .recv_timeout(Duration::from_secs(30))
        .expect("the stream was read");
    f.cancel();
    let at_cancel = read.load(Ordering::SeqCst);
    let err = f
        .result_timeout(Duration::from_secs(30))
        .expect_err("a cancelled upload fails");
    assert!(
        matches!(err, TransferError::Cancelled { fatal: false, .. }),
        "{err}"
    );
    let after = read.load(Ordering::SeqCst) - at_cancel;
    assert!(
        after <= READ_AFTER_STOP,
        "{after} bytes were read after the cancel"
    );
    assert!(fake.list_multipart_uploads("b").is_empty());
    assert!(fake.object("b", "endless").is_none());
}

#[test]
fn dropping_the_manager_stops_a_stream_upload_reading() {
    let (fake, manager) = setup();
    let (f, read, reached) = start_endless_upload(&manager, 12 * MIB as u64);
    reached
        .recv_timeout(Duration::from_secs(30))
        .expect("the stream was read");
    let at_drop = read.load(Ordering::SeqCst);
    drop(manager);
    let err = f
        .result_timeout(Duration::from_secs(30))
        .expect_err("an upload cut by the manager's drop fails");
    assert!(
        matches!(err, TransferError::Cancelled { fatal: true, .. }),
        "{err}"
    );
    let after = read.load(Ordering::SeqCst) - at_drop;
    assert!(
        after <= READ_AFTER_STOP,
        "{after} bytes were read after the drop"
    );
    assert!(fake.list_multipart_uploads("b").is_empty());
}

/// A stream that gives `good` bytes, then misbehaves: panics, or claims to have read
/// more than the buffer it was given.
struct Misbehaving {
    good: usize,
    read: usize,
    overreport: bool,
}

impl std::io::Read for Misbehaving {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.read >= self.good {
            if self.overreport {
                return Ok(buf.len() + 1);
            }
            panic!("the reader broke after {} bytes", self.read);
        }
        let n = buf.len().min(self.good - self.read);
        buf[..n].fill(7);
        self.read += n;
        Ok(n)
    }
}

#[test]
fn a_panicking_stream_fails_with_its_message_and_frees_its_memory_permits() {
    let fake = FakeS3::new();
    fake.create_bucket("b");
    let manager = TransferManager::new(
        Arc::new(fake.clone()),
        config().max_in_memory_upload_chunks(2).build().unwrap(),
    );
    let upload = |key: &str, reader: Misbehaving| {
        manager
            .upload(
                UploadSource::stream(reader),
                "b",
                key,
                UploadArgs::default(),
                &[],
            )
            .unwrap()
            .result_timeout(Duration::from_secs(30))
    };
    // Each breaks while reading its second part, holding a permit.
    let panicked = upload(
        "panics",
        Misbehaving {
            good: 7 * MIB,
            read: 0,
            overreport: false,
        },
    )
    .unwrap_err();
    assert_eq!(panicked.kind(), ErrorKind::Io, "{panicked}");
    assert!(
        panicked
            .to_string()
            .contains("the upload source panicked: the reader broke after 7340032 bytes"),
        "{panicked}"
    );
    let overreported = upload(
        "overreports",
        Misbehaving {
            good: 7 * MIB,
            read: 0,
            overreport: true,
        },
    )
    .unwrap_err();
    assert_eq!(overreported.kind(), ErrorKind::Io, "{overreported}");
    assert!(
        overreported
            .to_string()
            .contains("the upload source panicked"),
        "{overreported}"
    );
    assert!(fake.list_multipart_uploads("b").is_empty());

    // Both permits are free again: a multipart upload needing them runs to the end.
    let data = random_bytes(16 * MIB, 23);
    manager
        .upload(
            UploadSource::stream(Cursor::new(data.clone())),
            "b",
            "after",
            UploadArgs::default(),
            &[],
        )
        .unwrap()
        .result_timeout(Duration::from_secs(30))
        .expect("the permits of the broken uploads were given back");
    assert_eq!(fake.object("b", "after").unwrap().bytes(), &data[..]);
}

#[test]
fn an_abort_is_retried_even_when_an_outage_emptied_the_retry_quota() {
    let fake = FakeS3::new();
    fake.create_bucket("b");
    let retry = s3transfer::RetryConfig::builder()
        .transient_backoff(Duration::ZERO)
        .retry_quota(5)
        .retry_cost(5)
        .build()
        .unwrap();
    let manager = manager_with_retry(&fake, retry);
    fake.fail_always(Operation::UploadPart, InjectedError::internal_error());
    // The outage: the first upload's failing parts spend the whole quota.
    let drained = upload_bytes(&manager, "first", random_bytes(6 * MIB, 24)).unwrap_err();
    assert_eq!(drained.kind(), ErrorKind::RetriesExceeded, "{drained}");
    assert!(fake.list_multipart_uploads("b").is_empty());

    // The quota is empty now: the next upload's parts get no retry, and its abort
    // meets one 503 of its own.
    fake.fail_nth(
        Operation::AbortMultipartUpload,
        1,
        InjectedError::internal_error(),
    );
    let aborts_before = fake.count(Operation::AbortMultipartUpload);
    match upload_bytes(&manager, "second", random_bytes(6 * MIB, 25)).unwrap_err() {
        TransferError::RetriesExceeded { attempts, .. } => {
            assert_eq!(attempts, 1, "the quota is empty: the part was not retried")
        }
        other => panic!("expected RetriesExceeded, got {other}"),
    }
    assert_eq!(
        fake.count(Operation::AbortMultipartUpload) - aborts_before,
        2,
        "the abort was retried after its 503"
    );
    assert!(
        fake.list_multipart_uploads("b").is_empty(),
        "the upload was aborted, not left open"
    );
}

#[test]
fn a_destination_of_80_cjk_characters_is_downloaded() {
    let (fake, manager) = setup();
    let data = random_bytes(6 * MIB, 26);
    fake.put_object_bytes("b", "k", data.clone());
    let dir = tempfile::tempdir().unwrap();
    // 240 bytes: a legal name (the limit is 255 bytes), 3 bytes a character.
    let dest = dir.path().join("字".repeat(80));
    manager
        .download("b", "k", dest.as_path(), DownloadArgs::default(), &[])
        .unwrap()
        .result_timeout(Duration::from_secs(30))
        .expect("the temporary name fits beside a 240-byte name");
    assert_eq!(std::fs::read(&dest).unwrap(), data);
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
}

#[test]
fn a_destination_that_names_a_directory_is_refused_before_any_request() {
    let (fake, manager) = setup();
    fake.put_object_bytes("b", "k", random_bytes(MIB, 27));
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("sub")).unwrap();
    let in_dir = |tail: &str| format!("{}/{tail}", dir.path().display());
    for dest in [
        String::new(),
        ".".into(),
        "..".into(),
        in_dir("sub"),
        in_dir("sub/"),
        in_dir("sub/."),
        in_dir("missing/"),
    ] {
        let err = manager
            .download("b", "k", dest.as_str(), DownloadArgs::default(), &[])
            .and_then(|f| f.result_timeout(Duration::from_secs(30)))
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidArgument, "{dest:?}: {err}");
        assert!(err.to_string().contains(&dest), "{dest:?}: {err}");
    }
    assert_eq!(fake.count(Operation::GetObject), 0);
    assert_eq!(fake.count(Operation::HeadObject), 0);
    // Nothing was created, not even a temporary file.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    assert!(
        std::fs::read_dir(dir.path().join("sub"))
            .unwrap()
            .next()
            .is_none()
    );
}

/// The default retry policy with throttling backoff shortened to a millisecond, so the
/// tests measure attempts, not time.
fn default_retry_fast_throttle() -> s3transfer::RetryConfig {
    s3transfer::RetryConfig::builder()
        .throttle_backoff(Duration::from_millis(1))
        .build()
        .unwrap()
}

#[test]
fn a_burst_of_four_throttles_on_one_request_is_ridden_out_by_default() {
    let fake = FakeS3::new();
    fake.create_bucket("b");
    let manager = manager_with_retry(&fake, default_retry_fast_throttle());
    fake.throttle(Operation::CreateMultipartUpload, 4);
    let data = random_bytes(6 * MIB, 28);
    let out = upload_bytes(&manager, "k", data.clone()).expect("five attempts by default");
    assert_eq!(out.retries, 4);
    assert_eq!(fake.count(Operation::CreateMultipartUpload), 5);
    assert_eq!(fake.object("b", "k").unwrap().bytes(), &data[..]);
}

#[test]
fn an_outage_still_ends_and_the_retry_quota_bounds_the_requests_sent() {
    let fake = FakeS3::new();
    fake.create_bucket("b");
    let manager = manager_with_retry(&fake, default_retry_fast_throttle());
    fake.fail_always(Operation::PutObject, InjectedError::slow_down());
    const UPLOADS: usize = 200;
    let futures: Vec<_> = (0..UPLOADS)
        .map(|i| {
            manager
                .upload(
                    UploadSource::stream(Cursor::new(vec![1u8; 10])),
                    "b",
                    &format!("k{i}"),
                    UploadArgs::default(),
                    &[],
                )
                .unwrap()
        })
        .collect();
    for f in futures {
        match f.result_timeout(Duration::from_secs(30)).unwrap_err() {
            TransferError::RetriesExceeded {
                attempts,
                last_error,
            } => {
                assert!((1..=5).contains(&attempts), "{attempts}");
                assert_eq!(last_error.kind(), S3ErrorKind::Throttled);
            }
            other => panic!("expected RetriesExceeded, got {other}"),
        }
    }
    // No request succeeds, so nothing refills the quota: its 500 tokens pay for
    // 500 / 5 = 100 retries across the manager, and every other request is sent once.
    // Five attempts each would have been 1,000 requests.
    let retries_paid = 500 / 5;
    assert_eq!(fake.count(Operation::PutObject), UPLOADS + retries_paid);
}

#[test]
fn an_sse_c_key_never_shows_in_debug_output_or_errors() {
    let (fake, manager) = setup();
    let secret = "c2VjcmV0LWtleS1zZWNyZXQta2V5LXNlY3JldC1rZXk=";
    let key = SseCustomerKey::new("AES256", secret, "bWQ1LW9mLXRoZS1rZXk=");
    let future = manager
        .download(
            "b",
            "missing",
            DownloadTarget::stream(std::io::sink()),
            DownloadArgs::default().sse_customer(key.clone()),
            &[],
        )
        .unwrap();
    let err = future.result().unwrap_err();
    for shown in [
        format!("{future:?}"),
        format!("{:?}", future.meta()),
        format!("{err:?}"),
        err.to_string(),
        format!("{key:?}"),
        format!("{:?}", fake.calls()),
    ] {
        assert!(!shown.contains(secret), "the SSE-C key shows in: {shown}");
    }
}

#[test]
fn a_shutdown_racing_a_stream_of_deletes_returns_and_every_future_ends() {
    use std::sync::mpsc;
    let fake = FakeS3::new();
    fake.create_bucket("b");
    for round in 0..200 {
        let manager = Arc::new(TransferManager::new(
            Arc::new(fake.clone()),
            config()
                .max_submission_concurrency(1)
                .max_submission_queue_size(1)
                .max_request_queue_size(4)
                .build()
                .unwrap(),
        ));
        let (started_tx, started_rx) = mpsc::channel();
        let (futures_tx, futures_rx) = mpsc::channel();
        let m = manager.clone();
        std::thread::spawn(move || {
            let mut futures = Vec::new();
            // A panic here drops `futures_tx` unsent: the receive below reports it.
            loop {
                match m.delete("b", "k", s3transfer::DeleteArgs::default(), &[]) {
                    Ok(f) => futures.push(f),
                    Err(e) => {
                        assert!(matches!(e, TransferError::QueueShutdown), "{e}");
                        break;
                    }
                }
                if futures.len() == 5 {
                    let _ = started_tx.send(());
                }
            }
            let _ = futures_tx.send(futures);
        });
        started_rx
            .recv_timeout(Duration::from_secs(30))
            .expect("deletes are being submitted");
        assert!(
            shutdown_returns(&manager, "racing the deletes"),
            "round {round}: shutdown did not return"
        );
        let futures = futures_rx
            .recv_timeout(Duration::from_secs(30))
            .unwrap_or_else(|e| panic!("round {round}: the deleting thread failed: {e}"));
        for f in futures {
            match f.result_timeout(Duration::from_secs(30)) {
                Ok(_) => {}
                Err(e) => assert!(e.is_fatal(), "round {round}: {e}"),
            }
        }
    }
}

/// Starts one more upload from `on_done` and keeps the futures of the uploads it
/// started. When `endless`, it is attached to those uploads too, so the chain runs until
/// the manager refuses.
struct UploadAnotherOnDone {
    manager: parking_lot::Mutex<std::sync::Weak<TransferManager>>,
    started: parking_lot::Mutex<Vec<Result<TransferFuture, TransferError>>>,
    endless: bool,
    me: std::sync::Weak<UploadAnotherOnDone>,
}

impl UploadAnotherOnDone {
    fn new(manager: &Arc<TransferManager>, endless: bool) -> Arc<Self> {
        Arc::new_cyclic(|me| UploadAnotherOnDone {
            manager: parking_lot::Mutex::new(Arc::downgrade(manager)),
            started: Default::default(),
            endless,
            me: me.clone(),
        })
    }
}

impl Subscriber for UploadAnotherOnDone {
    fn on_done(&self, future: &TransferFuture) {
        let Some(manager) = self.manager.lock().upgrade() else {
            return;
        };
        let key = format!("child-{}", future.meta().call_args().key);
        let subscribers: Vec<Arc<dyn Subscriber>> = match (self.endless, self.me.upgrade()) {
            (true, Some(me)) => vec![me],
            _ => vec![],
        };
        let started = manager.upload(
            UploadSource::stream(Cursor::new(vec![2u8; 10])),
            "b",
            &key,
            UploadArgs::default(),
            &subscribers,
        );
        self.started.lock().push(started);
    }
}

fn small_queues() -> TransferConfig {
    config()
        .max_submission_concurrency(2)
        .max_submission_queue_size(2)
        .max_request_concurrency(2)
        .max_request_queue_size(2)
        .build()
        .unwrap()
}

#[test]
fn uploads_started_from_on_done_all_run_under_full_queues() {
    use std::sync::mpsc;
    let fake = FakeS3::new();
    fake.create_bucket("b");
    let manager = Arc::new(TransferManager::new(Arc::new(fake.clone()), small_queues()));
    let chain = UploadAnotherOnDone::new(&manager, false);
    const PARENTS: usize = 1000;
    let (m, c) = (manager.clone(), chain.clone());
    let (parents_tx, parents_rx) = mpsc::channel();
    // Submitting blocks on the full submission queue: on a thread of its own, so that a
    // deadlock fails the test instead of hanging it.
    std::thread::spawn(move || {
        let futures: Vec<_> = (0..PARENTS)
            .map(|i| {
                let sub: Arc<dyn Subscriber> = c.clone();
                m.upload(
                    UploadSource::stream(Cursor::new(vec![1u8; 10])),
                    "b",
                    &format!("k{i}"),
                    UploadArgs::default(),
                    &[sub],
                )
                .unwrap()
            })
            .collect();
        let _ = parents_tx.send(futures);
    });
    let parents = parents_rx
        .recv_timeout(Duration::from_secs(30))
        .unwrap_or_else(|_| {
            panic!(
                "submitting stalled after {} PutObjects",
                fake.count(Operation::PutObject)
            )
        });
    for f in parents {
        f.result_timeout(Duration::from_secs(30)).unwrap();
    }
    let children = std::mem::take(&mut *chain.started.lock());
    assert_eq!(children.len(), PARENTS);
    for child in children {
        child
            .expect("a callback may start a transfer")
            .result_timeout(Duration::from_secs(30))
            .unwrap();
    }
    assert_eq!(fake.count(Operation::PutObject), 2 * PARENTS);
    assert_eq!(
        fake.object("b", "child-k7").unwrap().bytes(),
        &[2u8; 10][..]
    );
}

#[test]
fn shutdown_returns_while_on_done_keeps_starting_uploads() {
    use std::sync::mpsc;
    let fake = FakeS3::new();
    fake.create_bucket("b");
    let manager = Arc::new(TransferManager::new(Arc::new(fake.clone()), small_queues()));
    let chain = UploadAnotherOnDone::new(&manager, true);
    let (m, c) = (manager.clone(), chain.clone());
    let (parents_tx, parents_rx) = mpsc::channel();
    let (going_tx, going_rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut futures = Vec::new();
        for i in 0.. {
            let sub: Arc<dyn Subscriber> = c.clone();
            match m.upload(
                UploadSource::stream(Cursor::new(vec![1u8; 10])),
                "b",
                &format!("k{i}"),
                UploadArgs::default(),
                &[sub],
            ) {
                Ok(f) => futures.push(f),
                Err(_) => break,
            }
            if i == 200 {
                let _ = going_tx.send(());
            }
        }
        let _ = parents_tx.send(futures);
    });
    // Before callbacks had a lane of their own, the chain deadlocked the pools within a
    // few transfers, and this wait already failed.
    going_rx
        .recv_timeout(Duration::from_secs(30))
        .expect("uploads are still being submitted");
    assert!(
        shutdown_returns(&manager, "enough"),
        "shutdown did not return ({} PutObjects)",
        fake.count(Operation::PutObject)
    );
    let parents = parents_rx
        .recv_timeout(Duration::from_secs(30))
        .expect("the submitting thread is refused once the manager shuts down");
    let children = std::mem::take(&mut *chain.started.lock());
    for f in parents
        .into_iter()
        .chain(children.into_iter().filter_map(Result::ok))
    {
        match f.result_timeout(Duration::from_secs(30)) {
            Ok(_) => {}
            Err(e) => assert!(e.is_fatal(), "{e}"),
        }
    }
}

/// Calls `result()` on its own transfer from `on_queued` and `on_progress`, and keeps
/// what the calls returned.
#[derive(Default)]
struct WaitOnItself(parking_lot::Mutex<Vec<(&'static str, Result<(), ErrorKind>)>>);

impl WaitOnItself {
    fn wait(&self, callback: &'static str, future: &TransferFuture) {
        let outcome = future.result().map(|_| ()).map_err(|e| e.kind());
        self.0.lock().push((callback, outcome));
    }
}

impl Subscriber for WaitOnItself {
    fn on_queued(&self, future: &TransferFuture) {
        self.wait("on_queued", future);
    }
    fn on_progress(&self, future: &TransferFuture, _: i64) {
        self.wait("on_progress", future);
    }
}

/// Holds a manager whose transfer may be stuck in a callback: on a failing assertion it
/// is leaked, since dropping it would wait for that transfer and hang the test.
struct LeakOnPanic(Option<Arc<TransferManager>>);

impl Drop for LeakOnPanic {
    fn drop(&mut self) {
        if std::thread::panicking() {
            std::mem::forget(self.0.take());
        }
    }
}

impl std::ops::Deref for LeakOnPanic {
    type Target = Arc<TransferManager>;
    fn deref(&self) -> &Self::Target {
        self.0.as_ref().unwrap()
    }
}

#[test]
fn result_inside_on_queued_or_on_progress_fails_at_once_and_the_transfer_goes_on() {
    let (fake, manager) = setup();
    let manager = LeakOnPanic(Some(Arc::new(manager)));
    let waiter = Arc::new(WaitOnItself::default());
    let future = manager
        .upload(
            UploadSource::stream(Cursor::new(vec![3u8; 1000])),
            "b",
            "k",
            UploadArgs::default(),
            &[waiter.clone()],
        )
        .unwrap();
    // Bounded: before the fix the callback waited forever on its own transfer.
    future.result_timeout(Duration::from_secs(30)).unwrap();
    let calls = waiter.0.lock().clone();
    assert!(calls.iter().any(|(cb, _)| *cb == "on_queued"), "{calls:?}");
    assert!(
        calls.iter().any(|(cb, _)| *cb == "on_progress"),
        "{calls:?}"
    );
    for (callback, outcome) in calls {
        assert_eq!(outcome, Err(ErrorKind::WaitInCallback), "{callback}");
    }
    assert_eq!(fake.object("b", "k").unwrap().bytes(), &[3u8; 1000][..]);
}

#[test]
fn on_done_waiting_on_a_download_that_needs_its_thread_fails_at_once() {
    struct DownloadAndWait {
        manager: parking_lot::Mutex<std::sync::Weak<TransferManager>>,
        seen: parking_lot::Mutex<Option<(TransferFuture, TransferError)>>,
    }
    impl Subscriber for DownloadAndWait {
        fn on_done(&self, _: &TransferFuture) {
            let Some(manager) = self.manager.lock().upgrade() else {
                return;
            };
            let sink = DownloadTarget::stream(std::io::sink());
            let download = manager
                .download("b", "src", sink, DownloadArgs::default(), &[])
                .unwrap();
            // This is the only request thread, and the download's GET needs it.
            let err = download.result().unwrap_err();
            *self.seen.lock() = Some((download, err));
        }
    }
    let fake = FakeS3::new();
    fake.create_bucket("b");
    fake.put_object_bytes("b", "src", vec![4u8; 100]);
    // The download cannot finish before the test lets it, whichever thread on_done
    // runs on.
    let (release, gate) = std::sync::mpsc::channel::<()>();
    let gate = parking_lot::Mutex::new(gate);
    fake.on_call(move |call| {
        if call.operation() == Operation::GetObject {
            let _ = gate.lock().recv_timeout(Duration::from_secs(30));
        }
        None
    });
    let manager = LeakOnPanic(Some(Arc::new(TransferManager::new(
        Arc::new(fake.clone()),
        config().max_request_concurrency(1).build().unwrap(),
    ))));
    let sub = Arc::new(DownloadAndWait {
        manager: parking_lot::Mutex::new(Arc::downgrade(&manager)),
        seen: Default::default(),
    });
    let upload = manager
        .upload(
            UploadSource::stream(Cursor::new(vec![5u8; 10])),
            "b",
            "k",
            UploadArgs::default(),
            &[sub.clone()],
        )
        .unwrap();
    upload.result_timeout(Duration::from_secs(30)).unwrap();
    let (download, err) = sub.seen.lock().take().expect("on_done ran");
    assert!(
        matches!(err, TransferError::WaitInCallback { transfer_id } if transfer_id == download.meta().transfer_id()),
        "{err}"
    );
    // The download itself runs once the callback has returned.
    drop(release);
    assert_eq!(
        download
            .result_timeout(Duration::from_secs(30))
            .unwrap()
            .bytes,
        100
    );
}

/// Whether `r` asks for the second range of a download in 5 MiB ranges.
fn second_range(r: &GetObjectRequest) -> bool {
    r.range.is_some_and(|range| range.start == 5 * MIB as u64)
}

#[test]
fn a_download_refuses_answers_that_are_not_what_it_asked_for() {
    const SIZE: usize = 12 * MIB;
    let five = 5 * MIB as u64;
    let cases: [(Box<MisanswerFn>, String); 5] = [
        (
            // A range answered with other bytes.
            Box::new(|r, head| {
                if second_range(r)
                    && let Some(cr) = head.content_range.as_mut()
                {
                    cr.start += 1;
                    cr.end += 1;
                }
                None
            }),
            format!(
                "asked for bytes={five}-{} but the response holds bytes {}-{}/{SIZE}",
                2 * five - 1,
                five + 1,
                2 * five
            ),
        ),
        (
            // A ranged GET answered as a 200 with no Content-Range.
            Box::new(|r, head| {
                if second_range(r) {
                    head.content_range = None;
                }
                None
            }),
            "a ranged GET came back without Content-Range".into(),
        ),
        (
            // The object grew between two GETs.
            Box::new(|r, head| {
                if second_range(r)
                    && let Some(cr) = head.content_range.as_mut()
                {
                    cr.total += 1;
                }
                None
            }),
            format!("the object is {} bytes, not the {SIZE} expected", SIZE + 1),
        ),
        (
            // A backend that builds an impossible Content-Range (an empty object's).
            Box::new(|r, head| {
                if second_range(r)
                    && let Some(cr) = head.content_range.as_mut()
                {
                    cr.total = 0;
                }
                None
            }),
            format!(
                "the response's Content-Range bytes {five}-{}/0 is impossible",
                2 * five - 1
            ),
        ),
        (
            // A body that ends early without an error: one byte short.
            Box::new(|r, head| second_range(r).then(|| head.content_length - 1)),
            format!(
                "received {} bytes of {five} for the range starting at {five}",
                five - 1
            ),
        ),
    ];
    let fake = FakeS3::new();
    fake.create_bucket("b");
    fake.put_object_bytes("b", "k", random_bytes(SIZE, 31));
    for (rewrite, reason) in cases {
        let client = Arc::new(Misanswer::new(Arc::new(fake.clone()), rewrite));
        let manager = TransferManager::new(client, config().build().unwrap());
        let dir = tempfile::tempdir().unwrap();
        let err = manager
            .download(
                "b",
                "k",
                dir.path().join("out").as_path(),
                DownloadArgs::default(),
                &[],
            )
            .unwrap()
            .result()
            .unwrap_err();
        let TransferError::S3DownloadFailed { reason: got, .. } = &err else {
            panic!("{err}")
        };
        assert_eq!(got, &reason);
        manager.shutdown(false, "");
        let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert!(left.is_empty(), "no file or temporary file left: {left:?}");
    }
}

#[test]
fn a_file_that_shrinks_during_its_upload_fails_naming_it_and_aborts() {
    let (fake, manager) = setup();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shrinks.bin");
    std::fs::write(&path, random_bytes(12 * MIB, 41)).unwrap();
    // Stat'ed at 12 MiB (three parts); cut to 6 MiB once the upload exists, before
    // parts 2 and 3 are read.
    let cut = path.clone();
    fake.on_call(move |call| {
        if let RecordedCall::CreateMultipartUpload(_) = call {
            std::fs::OpenOptions::new()
                .write(true)
                .open(&cut)
                .and_then(|f| f.set_len(6 * MIB as u64))
                .expect("truncated");
        }
        None
    });
    let err = manager
        .upload(
            UploadSource::Path(path.clone()),
            "b",
            "shrinks",
            UploadArgs::default(),
            &[],
        )
        .unwrap()
        .result()
        .unwrap_err();
    let TransferError::Io {
        path: Some(named),
        source,
        ..
    } = &err
    else {
        panic!("{err}")
    };
    assert_eq!(named, &path);
    assert_eq!(source.kind(), std::io::ErrorKind::UnexpectedEof, "{err}");
    // An upload was started, and it was aborted: nothing is left.
    assert_eq!(fake.count(Operation::CreateMultipartUpload), 1);
    assert_eq!(fake.count(Operation::AbortMultipartUpload), 1);
    assert_eq!(fake.count(Operation::CompleteMultipartUpload), 0);
    assert!(fake.list_multipart_uploads("b").is_empty());
    assert!(fake.object("b", "shrinks").is_none());
}

/// Stores nothing of UploadPart's body (the part limit test sends 50 GB of zeros); every
/// other call goes to the fake.
struct DiscardParts {
    inner: Arc<dyn S3Api>,
    parts: AtomicUsize,
}

impl S3Api for DiscardParts {
    fn upload_part(
        &self,
        r: &UploadPartRequest,
        _: &mut RequestBody,
    ) -> Result<UploadPartOutput, S3Error> {
        self.parts.fetch_add(1, Ordering::SeqCst);
        let mut out = UploadPartOutput::default();
        out.etag = Some(format!("\"part-{}\"", r.part_number));
        Ok(out)
    }
    fn supports_checksums(&self) -> bool {
        // No part checksum: 50 GB need not be hashed.
        false
    }
    delegate_to_inner!(
        head_object,
        get_object,
        put_object,
        create_multipart_upload,
        complete_multipart_upload,
        abort_multipart_upload,
        copy_object,
        upload_part_copy,
        delete_object,
        list_objects_v2,
        list_parts,
        list_multipart_uploads,
    );
}

#[test]
fn a_stream_longer_than_the_part_limit_fails_and_aborts() {
    // Parts are at least 5 MiB whatever multipart_chunksize says, so the stream must
    // pass 10,000 × 5 MiB: zeros, whose parts are dropped on arrival.
    let fake = FakeS3::new();
    fake.create_bucket("b");
    let client = Arc::new(DiscardParts {
        inner: Arc::new(fake.clone()),
        parts: AtomicUsize::new(0),
    });
    let manager = TransferManager::new(
        client.clone(),
        config().multipart_chunksize(1).build().unwrap(),
    );
    let limit = 10_000 * 5 * MIB as u64;
    let read = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let reader = Endless {
        read: read.clone(),
        signal_at: u64::MAX,
        give_up_at: limit + 5 * MIB as u64,
        reached: None,
    };
    let err = manager
        .upload(
            UploadSource::stream(reader),
            "b",
            "long",
            UploadArgs::default(),
            &[],
        )
        .unwrap()
        .result()
        .unwrap_err();
    let TransferError::InvalidArgument(message) = &err else {
        panic!("{err}")
    };
    assert!(message.contains("longer than 10000 parts"), "{err}");
    // The part past the limit was refused, never sent. Parts up to it that were still
    // waiting for a request thread when the refusal failed the upload are skipped, as
    // after any failure: at most the parts held in memory (10 by default).
    let sent = client.parts.load(Ordering::SeqCst);
    assert!((10_000 - 10..=10_000).contains(&sent), "{sent} parts sent");
    assert!(read.load(Ordering::SeqCst) > limit);
    assert_eq!(fake.count(Operation::AbortMultipartUpload), 1);
    assert_eq!(fake.count(Operation::CompleteMultipartUpload), 0);
    assert!(fake.list_multipart_uploads("b").is_empty());
}

/// Counts GetObject calls running at once (and the most ever), and says on `started`
/// when the `signal_at`-th has begun.
struct CountGets {
    inner: Arc<dyn S3Api>,
    running: AtomicUsize,
    peak: AtomicUsize,
    begun: AtomicUsize,
    signal_at: usize,
    started: parking_lot::Mutex<Option<std::sync::mpsc::Sender<()>>>,
}

impl S3Api for CountGets {
    fn get_object(
        &self,
        r: &GetObjectRequest,
        s: &mut dyn ResponseSink,
    ) -> Result<GetObjectOutput, S3Error> {
        let now = self.running.fetch_add(1, Ordering::SeqCst) + 1;
        self.peak.fetch_max(now, Ordering::SeqCst);
        if self.begun.fetch_add(1, Ordering::SeqCst) + 1 == self.signal_at
            && let Some(tx) = self.started.lock().take()
        {
            let _ = tx.send(());
        }
        let out = self.inner.get_object(r, s);
        self.running.fetch_sub(1, Ordering::SeqCst);
        out
    }
    delegate_to_inner!(
        head_object,
        put_object,
        upload_part,
        create_multipart_upload,
        complete_multipart_upload,
        abort_multipart_upload,
        copy_object,
        upload_part_copy,
        delete_object,
        list_objects_v2,
        list_parts,
        list_multipart_uploads,
        supports_checksums,
    );
}

/// A stream output that takes the first `free` bytes, then blocks until `go` says so.
struct GatedWriter {
    out: Arc<parking_lot::Mutex<Vec<u8>>>,
    free: usize,
    go: Option<std::sync::mpsc::Receiver<()>>,
}

impl std::io::Write for GatedWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let mut out = self.out.lock();
        if out.len() >= self.free
            && let Some(go) = self.go.take()
        {
            drop(out);
            // Bounded, so a broken download cannot hang the test.
            go.recv_timeout(Duration::from_secs(120))
                .expect("the window filled while the writer was blocked");
            out = self.out.lock();
        }
        out.extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn a_stream_download_never_runs_more_gets_than_its_window() {
    // The first range is fetched alone; then the writer blocks at the second range's
    // first byte. Its GET and the next one stall on the full io queue, and a third may
    // not start until the writer moves: the window is 2. The writer is released when
    // 1 + 2 GETs have begun, so a download that ignored the window would have had 3
    // running at once (its ranges 1 and 2 cannot finish while the writer is blocked).
    const WINDOW: usize = 2;
    let fake = FakeS3::new();
    fake.create_bucket("b");
    let data = random_bytes(8 * 5 * MIB, 42);
    fake.put_object_bytes("b", "k", data.clone());
    let (tx, rx) = std::sync::mpsc::channel();
    let client = Arc::new(CountGets {
        inner: Arc::new(fake.clone()),
        running: AtomicUsize::new(0),
        peak: AtomicUsize::new(0),
        begun: AtomicUsize::new(0),
        signal_at: 1 + WINDOW,
        started: parking_lot::Mutex::new(Some(tx)),
    });
    let manager = TransferManager::new(
        client.clone(),
        config()
            .max_in_memory_download_chunks(WINDOW)
            .max_io_queue_size(2)
            .build()
            .unwrap(),
    );
    let out = Arc::new(parking_lot::Mutex::new(Vec::new()));
    let writer = GatedWriter {
        out: out.clone(),
        free: 5 * MIB,
        go: Some(rx),
    };
    manager
        .download(
            "b",
            "k",
            DownloadTarget::Stream(Box::new(writer)),
            DownloadArgs::default(),
            &[],
        )
        .unwrap()
        .result()
        .unwrap();
    assert!(*out.lock() == data);
    assert_eq!(client.begun.load(Ordering::SeqCst), 8);
    // The window was filled (the test had teeth) and never exceeded.
    assert_eq!(client.peak.load(Ordering::SeqCst), WINDOW);
}

/// `manager.shutdown(true, message)` on a thread of its own: whether it returned within
/// 30 s (a broken queue must fail a test, not hang it).
fn shutdown_returns(manager: &Arc<TransferManager>, message: &'static str) -> bool {
    let (tx, rx) = std::sync::mpsc::channel();
    let m = manager.clone();
    std::thread::spawn(move || {
        m.shutdown(true, message);
        let _ = tx.send(());
    });
    rx.recv_timeout(Duration::from_secs(30)).is_ok()
}
