//! Manager lifecycle: dropping a manager neither hangs nor leaves threads behind, and
//! a manager may be dropped from inside a callback. Its own test binary, so that no
//! other test's threads are counted.

use std::io::Cursor;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use s3transfer::testing::{FakeS3, Operation};
use s3transfer::{
    Subscriber, TransferConfig, TransferError, TransferFuture, TransferManager, UploadArgs,
    UploadSource,
};

/// Threads of this process whose name starts with `s3transfer-` (the library's pools).
fn library_threads() -> usize {
    std::fs::read_dir("/proc/self/task")
        .unwrap()
        .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("comm")).ok())
        .filter(|name| name.starts_with("s3transfer-"))
        .count()
}

fn config() -> TransferConfig {
    TransferConfig::builder()
        .multipart_threshold(5 * 1024 * 1024)
        .multipart_chunksize(5 * 1024 * 1024)
        .build()
        .unwrap()
}

#[test]
fn drop_cancels_in_flight_transfers_and_joins_every_thread() {
    let fake = FakeS3::new();
    fake.create_bucket("b");
    fake.delay(Operation::UploadPart, Duration::from_millis(50));
    // The manager is dropped once the upload exists, so that the check below is about
    // an upload that was started.
    let (created_tx, created) = std::sync::mpsc::channel();
    let created_tx = Mutex::new(created_tx);
    fake.on_call(move |call| {
        if call.operation() == Operation::CreateMultipartUpload {
            let _ = created_tx.lock().send(());
        }
        None
    });
    let manager = TransferManager::new(Arc::new(fake.clone()), config());
    let future = manager
        .upload(
            UploadSource::stream(Cursor::new(vec![7u8; 40 * 1024 * 1024])),
            "b",
            "k",
            UploadArgs::default(),
            &[],
        )
        .unwrap();
    created.recv_timeout(Duration::from_secs(60)).unwrap();
    drop(manager);
    assert_eq!(library_threads(), 0, "no thread outlives the manager");
    match future.result().unwrap_err() {
        TransferError::Cancelled { fatal, .. } => assert!(fatal),
        other => panic!("expected a fatal cancel, got {other}"),
    }
    assert_eq!(fake.count(Operation::AbortMultipartUpload), 1);
    assert!(fake.list_multipart_uploads("b").is_empty());
    assert!(fake.object("b", "k").is_none());
    fake.clear_faults();

    // A manager dropped from inside its own callback must not deadlock.
    struct DropOnDone(Arc<Mutex<Option<TransferManager>>>);
    impl Subscriber for DropOnDone {
        fn on_done(&self, _: &TransferFuture) {
            let manager = self.0.lock().take();
            drop(manager);
        }
    }
    let slot = Arc::new(Mutex::new(None));
    let manager = TransferManager::new(Arc::new(fake.clone()), config());
    let future = manager
        .upload(
            UploadSource::stream(Cursor::new(vec![1u8; 100])),
            "b",
            "small",
            UploadArgs::default(),
            &[Arc::new(DropOnDone(slot.clone()))],
        )
        .unwrap();
    *slot.lock() = Some(manager);
    // Either on_done ran before the manager was stored (then we drop it here) or it
    // dropped it on a worker thread; both must finish.
    future.result().unwrap();
    drop(slot.lock().take());
    assert_eq!(fake.object("b", "small").unwrap().bytes(), &[1u8; 100][..]);
}
