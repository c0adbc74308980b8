//! `max_bandwidth` end to end against the in-memory fake: uploads and downloads take
//! at least as long as the limit implies, and a cancel wakes a throttled transfer at
//! once. Only lower bounds on time are asserted (a slow machine must not fail them);
//! the one upper bound is a generous guard against a hang.

use std::io::Cursor;
use std::sync::Arc;
use std::time::{Duration, Instant};

use s3transfer::testing::FakeS3;
use s3transfer::{
    DownloadArgs, DownloadTarget, TransferConfig, TransferError, TransferManager, UploadArgs,
    UploadSource,
};

const KIB: u64 = 1024;
const MIB: u64 = 1024 * KIB;

fn limited(bytes_per_second: u64) -> TransferConfig {
    TransferConfig::builder()
        .max_bandwidth(bytes_per_second)
        .build()
        .unwrap()
}

/// Says once, on its channel, that the transfer moved its first bytes.
struct FirstBytes(parking_lot::Mutex<Option<std::sync::mpsc::Sender<()>>>);

impl s3transfer::Subscriber for FirstBytes {
    fn on_progress(&self, _: &s3transfer::TransferFuture, bytes: i64) {
        if bytes > 0
            && let Some(tx) = self.0.lock().take()
        {
            let _ = tx.send(());
        }
    }
}

/// A subscriber that reports the first bytes, and the receiver that hears it.
fn first_bytes() -> (
    Arc<dyn s3transfer::Subscriber>,
    std::sync::mpsc::Receiver<()>,
) {
    let (tx, rx) = std::sync::mpsc::channel();
    (Arc::new(FirstBytes(parking_lot::Mutex::new(Some(tx)))), rx)
}

fn fake() -> FakeS3 {
    let s3 = FakeS3::new();
    s3.create_bucket("b");
    s3
}

#[test]
fn a_1_mib_upload_at_512_kib_per_second_takes_at_least_a_second() {
    let s3 = fake();
    let manager = TransferManager::new(Arc::new(s3.clone()), limited(512 * KIB));
    let data = vec![3u8; MIB as usize];
    let start = Instant::now();
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
    let elapsed = start.elapsed();
    // The first 256 KiB go at once; the other 768 KiB take 1.5 s at 512 KiB/s.
    assert!(elapsed >= Duration::from_millis(950), "{elapsed:?}");
    assert_eq!(s3.object("b", "k").unwrap().bytes(), &data[..]);
    manager.shutdown(false, "");
}

#[test]
fn a_1_mib_download_at_512_kib_per_second_takes_at_least_a_second() {
    let s3 = fake();
    let data: Vec<u8> = (0..MIB).map(|i| (i % 251) as u8).collect();
    s3.put_object_bytes("b", "k", data.clone());
    let manager = TransferManager::new(Arc::new(s3.clone()), limited(512 * KIB));
    let out = Arc::new(parking_lot::Mutex::new(Vec::new()));
    struct Shared(Arc<parking_lot::Mutex<Vec<u8>>>);
    impl std::io::Write for Shared {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let start = Instant::now();
    manager
        .download(
            "b",
            "k",
            DownloadTarget::stream(Shared(out.clone())),
            DownloadArgs::default(),
            &[],
        )
        .unwrap()
        .result()
        .unwrap();
    let elapsed = start.elapsed();
    assert!(elapsed >= Duration::from_millis(950), "{elapsed:?}");
    assert_eq!(*out.lock(), data);
    manager.shutdown(false, "");
}

#[test]
fn copies_are_not_limited() {
    let s3 = fake();
    s3.put_object_bytes("b", "src", vec![1u8; 4 * MIB as usize]);
    // 1 KiB/s: a throttled 4 MiB would take over an hour.
    let manager = TransferManager::new(Arc::new(s3.clone()), limited(KIB));
    let copy = manager
        .copy(
            s3transfer::CopySource::new("b", "src"),
            "b",
            "dst",
            s3transfer::CopyArgs::default(),
            &[],
        )
        .unwrap();
    copy.result_timeout(Duration::from_secs(60)).unwrap();
    assert_eq!(
        s3.object("b", "dst").unwrap().bytes().len(),
        4 * MIB as usize
    );
    manager.shutdown(false, "");
}

#[test]
fn cancel_wakes_a_throttled_upload_at_once() {
    let s3 = fake();
    // 64 KiB/s: 8 MiB would take two minutes.
    let config = TransferConfig::builder()
        .max_bandwidth(64 * KIB)
        .multipart_threshold(5 * MIB)
        .multipart_chunksize(5 * MIB)
        .build()
        .unwrap();
    let manager = TransferManager::new(Arc::new(s3.clone()), config);
    let (started, first) = first_bytes();
    let future = manager
        .upload(
            UploadSource::stream(Cursor::new(vec![9u8; 8 * MIB as usize])),
            "b",
            "k",
            UploadArgs::default(),
            &[started],
        )
        .unwrap();
    // Under way, so from now on in throttled waits (the rest takes two minutes).
    first.recv_timeout(Duration::from_secs(60)).unwrap();
    assert!(!future.done());
    future.cancel();
    // Only a hang fails this: the wait is sliced in 10 ms naps.
    let err = future.result_timeout(Duration::from_secs(5)).unwrap_err();
    assert!(
        matches!(err, TransferError::Cancelled { fatal: false, .. }),
        "{err}"
    );
    assert!(s3.object("b", "k").is_none());
    assert!(s3.list_multipart_uploads("b").is_empty());
    manager.shutdown(false, "");
}

#[test]
fn cancel_wakes_a_throttled_download_at_once() {
    let s3 = fake();
    s3.put_object_bytes("b", "k", vec![5u8; 8 * MIB as usize]);
    let manager = TransferManager::new(Arc::new(s3.clone()), limited(64 * KIB));
    let (started, first) = first_bytes();
    let future = manager
        .download(
            "b",
            "k",
            DownloadTarget::stream(std::io::sink()),
            DownloadArgs::default(),
            &[started],
        )
        .unwrap();
    // Under way: the rest of the 8 MiB takes two minutes at 64 KiB/s.
    first.recv_timeout(Duration::from_secs(60)).unwrap();
    assert!(!future.done());
    future.cancel();
    let err = future.result_timeout(Duration::from_secs(5)).unwrap_err();
    assert!(
        matches!(err, TransferError::Cancelled { fatal: false, .. }),
        "{err}"
    );
    manager.shutdown(false, "");
}
