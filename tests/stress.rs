//! Stress: 200 concurrent small transfers on a manager with small pools, under random
//! faults and random cancels. Every future completes (no hang, no deadlock), every
//! success is byte-exact, every failure is typed, no multipart upload stays open, and no
//! library thread survives the shutdown. Its own binary, so the thread count is ours.

use std::io::Cursor;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use s3transfer::testing::{FakeS3, InjectedError, Operation};
use s3transfer::{
    DownloadArgs, DownloadTarget, ErrorKind, RetryConfig, TransferConfig, TransferError,
    TransferManager, UploadArgs, UploadSource,
};

#[path = "common/mod.rs"]
mod common;
use common::random_bytes;

/// A seeded xorshift, shared by the threads that need random choices.
struct Rng(AtomicU64);

impl Rng {
    fn below(&self, n: u64) -> u64 {
        let mut x = self.0.load(Ordering::Relaxed);
        loop {
            let mut next = x;
            next ^= next << 13;
            next ^= next >> 7;
            next ^= next << 17;
            match self
                .0
                .compare_exchange_weak(x, next, Ordering::Relaxed, Ordering::Relaxed)
            {
                Ok(_) => return next % n,
                Err(seen) => x = seen,
            }
        }
    }
}

fn library_threads() -> usize {
    std::fs::read_dir("/proc/self/task")
        .unwrap()
        .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("comm")).ok())
        .filter(|name| name.starts_with("s3transfer-"))
        .count()
}

struct Collect(Arc<parking_lot::Mutex<Vec<u8>>>);

impl std::io::Write for Collect {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

enum Check {
    Uploaded {
        key: String,
        data: Vec<u8>,
    },
    Streamed {
        sink: Arc<parking_lot::Mutex<Vec<u8>>>,
        data: Vec<u8>,
    },
    File {
        path: std::path::PathBuf,
        data: Vec<u8>,
    },
}

#[test]
fn two_hundred_transfers_under_random_faults_and_cancels_all_complete_correctly() {
    let seed = std::env::var("STRESS_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5eed_1234_u64);
    println!("STRESS_SEED={seed}");
    let rng = Arc::new(Rng(AtomicU64::new(seed | 1)));
    let fake = FakeS3::new();
    fake.create_bucket("b");
    let sources: Vec<Vec<u8>> = (0..20)
        .map(|i| random_bytes(1000 + i * 20_011, 1000 + i as u64))
        .collect();
    for (i, data) in sources.iter().enumerate() {
        fake.put_object_bytes("b", &format!("src/{i}"), data.clone());
    }
    let big = random_bytes(6 * 1024 * 1024 + 17, 7);
    fake.put_object_bytes("b", "src/big", big.clone());

    // About one call in six fails with a retryable error; aborts are spared, so that
    // "no upload left open" tests the engine rather than the dice.
    {
        let rng = rng.clone();
        fake.on_call(move |call| {
            let op = call.operation();
            if op == Operation::AbortMultipartUpload {
                return None;
            }
            let fault = match rng.below(12) {
                0 => InjectedError::slow_down(),
                1 => InjectedError::internal_error(),
                _ => return None,
            };
            Some(fault.to_s3_error(op, call.bucket(), call.key()))
        });
    }
    fake.truncate_body(3_000, 25);

    let retry = RetryConfig::builder()
        .transient_backoff(Duration::from_millis(1))
        .throttle_backoff(Duration::from_millis(2))
        .build()
        .unwrap();
    let config = TransferConfig::builder()
        .multipart_threshold(5 * 1024 * 1024)
        .multipart_chunksize(5 * 1024 * 1024)
        .max_request_concurrency(3)
        .max_request_queue_size(4)
        .max_submission_concurrency(2)
        .max_submission_queue_size(4)
        .max_io_queue_size(4)
        .io_chunksize(4096)
        .max_in_memory_upload_chunks(2)
        .max_in_memory_download_chunks(2)
        .retry(retry)
        .build()
        .unwrap();
    let manager = TransferManager::new(Arc::new(fake.clone()), config);
    let dir = tempfile::tempdir().unwrap();

    let mut futures = Vec::new();
    let mut checks = Vec::new();
    for i in 0..200usize {
        let (future, check) = match i % 4 {
            0 | 1 => {
                let data = if i % 40 == 0 {
                    big.clone()
                } else {
                    random_bytes(rng.below(50_000) as usize, i as u64)
                };
                let key = format!("up/{i}");
                let f = manager
                    .upload(
                        UploadSource::stream(Cursor::new(data.clone())),
                        "b",
                        &key,
                        UploadArgs::default(),
                        &[],
                    )
                    .unwrap();
                (f, Check::Uploaded { key, data })
            }
            2 => {
                let (key, data) = if i % 40 == 2 {
                    ("src/big".to_owned(), big.clone())
                } else {
                    (format!("src/{}", i % 20), sources[i % 20].clone())
                };
                let sink = Arc::new(parking_lot::Mutex::new(Vec::new()));
                let f = manager
                    .download(
                        "b",
                        &key,
                        DownloadTarget::stream(Collect(sink.clone())),
                        DownloadArgs::default(),
                        &[],
                    )
                    .unwrap();
                (f, Check::Streamed { sink, data })
            }
            _ => {
                let key = format!("src/{}", i % 20);
                let path = dir.path().join(format!("dl-{i}"));
                let f = manager
                    .download("b", &key, path.as_path(), DownloadArgs::default(), &[])
                    .unwrap();
                (
                    f,
                    Check::File {
                        path,
                        data: sources[i % 20].clone(),
                    },
                )
            }
        };
        if rng.below(10) == 0 {
            future.cancel_with_message("random cancel");
        }
        futures.push(future);
        checks.push(check);
    }
    // A second wave of cancels lands while transfers run.
    for f in &futures {
        if rng.below(12) == 0 {
            f.cancel();
        }
    }

    let (mut ok, mut cancelled, mut failed) = (0, 0, 0);
    for (f, check) in futures.iter().zip(&checks) {
        match f.result_timeout(Duration::from_secs(120)) {
            Err(TransferError::TransferNotDone) => {
                panic!("transfer {} hung", f.meta().transfer_id())
            }
            Ok(_) => {
                ok += 1;
                match check {
                    Check::Uploaded { key, data } => {
                        assert!(fake.object("b", key).unwrap().bytes() == &data[..], "{key}")
                    }
                    Check::Streamed { sink, data } => assert!(*sink.lock() == *data),
                    Check::File { path, data } => assert!(std::fs::read(path).unwrap() == *data),
                }
            }
            Err(e) => {
                match e.kind() {
                    ErrorKind::Cancelled => cancelled += 1,
                    ErrorKind::RetriesExceeded
                    | ErrorKind::S3UploadFailed
                    | ErrorKind::S3DownloadFailed => failed += 1,
                    other => panic!("untyped or unexpected failure {other:?}: {e}"),
                }
                if let Check::File { path, .. } = check {
                    assert!(!path.exists(), "a failed download left {}", path.display());
                }
            }
        }
    }
    println!("ok {ok}, cancelled {cancelled}, failed {failed}");
    assert_eq!(ok + cancelled + failed, 200);
    assert!(
        ok > 100,
        "most transfers succeed under a one-in-six fault rate"
    );
    manager.shutdown(false, "");
    assert!(
        fake.list_multipart_uploads("b").is_empty(),
        "no multipart upload left open"
    );
    let temps: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().ends_with(".s3tmp"))
        .collect();
    assert!(temps.is_empty(), "temporary files left: {temps:?}");
    drop(manager);
    assert_eq!(
        library_threads(),
        0,
        "no library thread left after shutdown"
    );
}
